/* Resolution of packages and interfaces.
 *
 * Packages are resolved depth-first along their references to other packages, interfaces
 * along their `use`s, worlds along their `include`s (world.c); meeting an item that is being
 * resolved is a cycle, reported with the chain that closes it. Every chain is bounded by
 * WIT_MAX_CHAIN, which bounds the recursion. */
#include "wit/resolve.h"

#include <stdio.h>
#include <string.h>

void rreport(resolver *r, wit_pos pos, const char *fmt, ...) {
  if (r->err)
    return;
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->err = wit_error(pos, "%s", msg);
}

void rreport_oom(resolver *r) {
  if (!r->err)
    r->err = wit_oom();
}

bool rdepth_enter(resolver *r, wit_pos pos) {
  if (r->depth >= WIT_MAX_CHAIN)
    return rfail(r, pos, "definitions nest too deeply (more than %d levels)", WIT_MAX_CHAIN);
  r->depth++;
  return true;
}

void rdepth_leave(resolver *r) { r->depth--; }

/* "a -> b -> a": the chain on r->stack from `from` (a name on it) back to that name. */
static bool cycle(resolver *r, const wit_vec *stack, wit_pos pos, const char *what,
                  const char *from) {
  size_t start = 0;
  for (size_t i = 0; i < stack->len; i++)
    if (strcmp(stack->items[i], from) == 0)
      start = i;
  char buf[320];
  size_t n = 0;
  buf[0] = 0;
  for (size_t i = start; i < stack->len && n < sizeof buf - 64; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s -> ", (const char *)stack->items[i]);
  return rfail(r, pos, "%s cycle: %s%s", what, buf, from);
}

bool rcycle(resolver *r, wit_pos pos, const char *what, const char *from) {
  return cycle(r, &r->stack, pos, what, from);
}

bool rpush(resolver *r, const char *name) {
  return wit_vec_push(r->ast, &r->stack, (void *)name) || room(r);
}
void rpop(resolver *r) { r->stack.len--; }

static const char *pkg_key(resolver *r, const char *ns, const char *pkg, const char *version) {
  return version ? wit_format(r->ast, "%s:%s@%s", ns, pkg, version)
                 : wit_format(r->ast, "%s:%s", ns, pkg);
}

static const wit_map_entry *package_item(const rpkg *p, const char *name) {
  return wit_map_get(&p->items, name);
}

/* The package named by a path, or NULL (error set). */
static rpkg *path_package(resolver *r, const ast_path *path) {
  const char *key = pkg_key(r, path->ns, path->pkg, path->version);
  if (!key) {
    rreport_oom(r);
    return NULL;
  }
  const wit_map_entry *e = wit_map_get(&r->pkg_map, key);
  if (!e) {
    rreport(r, path->pos, "package `%s` is not defined", key);
    return NULL;
  }
  return e->value;
}

static bool build_use_map(resolver *r, rpkg *pkg, ast_body *body) {
  if (body->use_map_built)
    return true;
  body->use_map_built = true;
  for (size_t i = 0; i < body->uses.len; i++) {
    ast_top_use *u = body->uses.items[i];
    const wit_map_entry *old;
    if (package_item(pkg, u->as))
      return rfail(r, u->as_pos, "`%s` is already defined in this package", u->as);
    if (!wit_map_add(r->ast, &body->use_map, u->as, u, 0, &old))
      return old ? rfail(r, u->as_pos, "`%s` is already defined in this file", u->as) : room(r);
  }
  return true;
}

/* The package-level item `name` of pkg, through the body's top-level `use`s first. For a
 * top-level `use`, its target. Exactly one of *iface, *world is set. */
static bool lookup_local(resolver *r, rpkg *pkg, ast_body *body, const char *name, wit_pos pos,
                         zh_wit_interface **iface, ast_world **world) {
  *iface = NULL;
  *world = NULL;
  if (body) {
    TRY(build_use_map(r, pkg, body));
    const wit_map_entry *e = wit_map_get(&body->use_map, name);
    if (e) {
      const ast_top_use *u = e->value;
      /* The target of a top-level use is looked up among package items only. */
      return u->path.ns ? resolve_path_iface(r, pkg, NULL, &u->path, iface)
                        : lookup_local(r, pkg, NULL, u->path.name, u->path.pos, iface, world);
    }
  }
  const wit_map_entry *e = package_item(pkg, name);
  if (!e)
    return rfail(r, pos, "interface or world `%s` is not defined", name);
  if (e->tag == ITEM_WORLD) {
    *world = e->value;
    return true;
  }
  return resolve_iface(r, pkg, e->value, pos, iface);
}

bool resolve_path_iface(resolver *r, rpkg *pkg, ast_body *body, const ast_path *path,
                        zh_wit_interface **out) {
  ast_world *w = NULL;
  if (!path->ns) {
    TRY(lookup_local(r, pkg, body, path->name, path->pos, out, &w));
  } else {
    rpkg *target = path_package(r, path);
    if (!target)
      return false;
    const wit_map_entry *e = package_item(target, path->name);
    if (!e)
      return rfail(r, path->pos, "interface `%s` is not defined in package `%s`", path->name,
                   target->model->name);
    if (e->tag == ITEM_WORLD)
      w = e->value;
    else
      TRY(resolve_iface(r, target, e->value, path->pos, out));
  }
  if (w)
    return rfail(r, path->pos, "`%s` is a world, not an interface", path->name);
  return true;
}

bool resolve_path_world(resolver *r, rpkg *pkg, ast_body *body, const ast_path *path,
                        ast_world **out) {
  zh_wit_interface *iface = NULL;
  *out = NULL;
  if (!path->ns) {
    TRY(lookup_local(r, pkg, body, path->name, path->pos, &iface, out));
  } else {
    rpkg *target = path_package(r, path);
    if (!target)
      return false;
    const wit_map_entry *e = package_item(target, path->name);
    if (!e)
      return rfail(r, path->pos, "world `%s` is not defined in package `%s`", path->name,
                   target->model->name);
    if (e->tag == ITEM_IFACE)
      return rfail(r, path->pos, "`%s` is an interface, not a world", path->name);
    *out = e->value;
  }
  if (iface || !*out)
    return rfail(r, path->pos, "`%s` is an interface, not a world", path->name);
  return resolve_world(r, (*out)->pkg, *out, path->pos);
}

bool resolve_iface(resolver *r, rpkg *pkg, ast_iface *ai, wit_pos ref, zh_wit_interface **out) {
  *out = NULL;
  if (ai->state == AS_DONE) {
    *out = ai->model;
    return true;
  }
  if (ai->state == AS_BUSY)
    return rcycle(r, ref, "interface", ai->name);
  TRY(rdepth_enter(r, ref));
  ai->state = AS_BUSY;
  ai->pkg = pkg;
  zh_wit_interface *m = wit_alloc(r->m, sizeof *m);
  if (!m)
    return room(r);
  m->package = pkg->model;
  if (ai->name) {
    m->name = wit_strdup(r->m, ai->name);
    const zh_wit_package *p = pkg->model;
    m->qualified = p->version ? wit_format(r->m, "%s:%s/%s@%s", p->ns, p->pkg, ai->name, p->version)
                              : wit_format(r->m, "%s:%s/%s", p->ns, p->pkg, ai->name);
    if (!m->name || !m->qualified)
      return room(r);
  }
  ai->model = m;
  TRY(rpush(r, ai->name ? ai->name : "(inline)"));
  scope s;
  memset(&s, 0, sizeof s);
  s.pkg = pkg;
  s.body = ai->body;
  s.iface = m;
  TRY(scope_declare(r, &s, ai->items, ai->nitems));
  /* Publish the types before defining them: nothing outside can see this interface until it
   * is done, and `use` resolution inside only needs the names. */
  m->types = (const zh_wit_type *const *)s.types.items;
  m->ntypes = s.types.len;
  TRY(scope_define(r, &s, ai->items, ai->nitems));
  TRY(scope_funcs(r, &s, ai->items, ai->nitems));
  m->funcs = (const zh_wit_func *const *)s.funcs.items;
  m->nfuncs = s.funcs.len;
  m->deps = (const zh_wit_interface *const *)s.deps.items;
  m->ndeps = s.deps.len;
  rpop(r);
  rdepth_leave(r);
  ai->state = AS_DONE;
  *out = m;
  return true;
}

/* ---- packages ---- */

static bool scan_path(resolver *r, rpkg *pkg, const ast_path *path);

static bool scan_items(resolver *r, rpkg *pkg, const ast_item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const ast_item *it = &items[i];
    if (it->kind == AI_USE)
      TRY(scan_path(r, pkg, &it->u.use.path));
    else if (it->kind == AI_INCLUDE)
      TRY(scan_path(r, pkg, &it->u.inc.path));
    else if ((it->kind == AI_IMPORT || it->kind == AI_EXPORT) && it->u.ext.kind == AE_PATH)
      TRY(scan_path(r, pkg, &it->u.ext.path));
    else if ((it->kind == AI_IMPORT || it->kind == AI_EXPORT) && it->u.ext.kind == AE_IFACE)
      TRY(scan_items(r, pkg, it->u.ext.iface->items, it->u.ext.iface->nitems));
  }
  return true;
}

static bool resolve_package(resolver *r, rpkg *pkg, wit_pos ref);

/* A reference to another package: that package is resolved first. */
static bool scan_path(resolver *r, rpkg *pkg, const ast_path *path) {
  if (!path->ns)
    return true;
  rpkg *target = path_package(r, path);
  if (!target)
    return false;
  return target == pkg || resolve_package(r, target, path->pos);
}

static bool resolve_package(resolver *r, rpkg *pkg, wit_pos ref) {
  if (pkg->state == AS_DONE)
    return true;
  if (pkg->state == AS_BUSY)
    return cycle(r, &r->pstack, ref, "deps", pkg->model->name);
  TRY(rdepth_enter(r, ref));
  pkg->state = AS_BUSY;
  /* Packages have a chain of their own: a package's dependencies are all resolved (in this
   * scan) before any of its interfaces, so the two chains never interleave. */
  if (!wit_vec_push(r->ast, &r->pstack, (void *)pkg->model->name))
    return room(r);
  wit_src_pkg *src = pkg->src;
  for (size_t b = 0; b < src->bodies.len; b++) {
    ast_body *body = src->bodies.items[b];
    for (size_t i = 0; i < body->uses.len; i++)
      TRY(scan_path(r, pkg, &((ast_top_use *)body->uses.items[i])->path));
    for (size_t i = 0; i < body->ifaces.len; i++) {
      ast_iface *ai = body->ifaces.items[i];
      TRY(scan_items(r, pkg, ai->items, ai->nitems));
    }
    for (size_t i = 0; i < body->worlds.len; i++) {
      ast_world *aw = body->worlds.items[i];
      TRY(scan_items(r, pkg, aw->items, aw->nitems));
    }
  }
  r->pstack.len--;
  wit_vec ifaces = {0}, worlds = {0};
  for (size_t b = 0; b < src->bodies.len; b++) {
    ast_body *body = src->bodies.items[b];
    TRY(build_use_map(r, pkg, body));
    for (size_t i = 0; i < body->ifaces.len; i++) {
      ast_iface *ai = body->ifaces.items[i];
      zh_wit_interface *m;
      TRY(resolve_iface(r, pkg, ai, ai->pos, &m));
      if (!wit_vec_push(r->m, &ifaces, m))
        return room(r);
    }
  }
  for (size_t b = 0; b < src->bodies.len; b++) {
    ast_body *body = src->bodies.items[b];
    for (size_t i = 0; i < body->worlds.len; i++) {
      ast_world *aw = body->worlds.items[i];
      TRY(resolve_world(r, pkg, aw, aw->pos));
      if (!wit_vec_push(r->m, &worlds, aw->model))
        return room(r);
    }
  }
  pkg->model->interfaces = (const zh_wit_interface *const *)ifaces.items;
  pkg->model->ninterfaces = ifaces.len;
  pkg->model->worlds = (const zh_wit_world *const *)worlds.items;
  pkg->model->nworlds = worlds.len;
  pkg->state = AS_DONE;
  rdepth_leave(r);
  r->wit->packages[r->wit->npackages++] = pkg->model;
  return true;
}

static bool setup_package(resolver *r, rpkg *pkg, wit_src_pkg *src) {
  pkg->src = src;
  zh_wit_package *m = wit_alloc(r->m, sizeof *m);
  if (!m)
    return room(r);
  pkg->model = m;
  m->ns = wit_strdup(r->m, src->name.ns);
  m->pkg = wit_strdup(r->m, src->name.pkg);
  m->version = src->name.version ? wit_strdup(r->m, src->name.version) : NULL;
  m->name = m->version ? wit_format(r->m, "%s:%s@%s", m->ns, m->pkg, m->version)
                       : wit_format(r->m, "%s:%s", m->ns, m->pkg);
  if (!m->ns || !m->pkg || !m->name || (src->name.version && !m->version))
    return room(r);
  const wit_map_entry *old;
  if (!wit_map_add(r->ast, &r->pkg_map, m->name, pkg, 0, &old))
    return old ? rfail(r, src->name.pos, "package `%s` is defined more than once", m->name)
               : room(r);
  for (size_t b = 0; b < src->bodies.len; b++) {
    ast_body *body = src->bodies.items[b];
    for (size_t i = 0; i < body->ifaces.len; i++) {
      ast_iface *ai = body->ifaces.items[i];
      if (!wit_map_add(r->ast, &pkg->items, ai->name, ai, ITEM_IFACE, &old))
        return old ? rfail(r, ai->pos, "`%s` is already defined in this package", ai->name)
                   : room(r);
    }
    for (size_t i = 0; i < body->worlds.len; i++) {
      ast_world *aw = body->worlds.items[i];
      aw->pkg = pkg;
      if (!wit_map_add(r->ast, &pkg->items, aw->name, aw, ITEM_WORLD, &old))
        return old ? rfail(r, aw->pos, "`%s` is already defined in this package", aw->name)
                   : room(r);
    }
  }
  return true;
}

zh_error *wit_resolve(zh_wit *wit, wit_arena *ast, wit_src_pkg **pkgs, size_t npkgs,
                      wit_src_pkg *root) {
  resolver r;
  memset(&r, 0, sizeof r);
  r.wit = wit;
  r.m = &wit->arena;
  r.ast = ast;
  r.pkgs = wit_alloc(ast, (npkgs ? npkgs : 1) * sizeof *r.pkgs);
  wit->packages = wit_alloc(r.m, (npkgs ? npkgs : 1) * sizeof(const zh_wit_package *));
  if (!r.pkgs || !wit->packages)
    return wit_oom();
  r.npkgs = npkgs;
  rpkg *root_pkg = NULL;
  for (size_t i = 0; i < npkgs; i++) {
    if (!setup_package(&r, &r.pkgs[i], pkgs[i]))
      return r.err;
    if (pkgs[i] == root)
      root_pkg = &r.pkgs[i];
  }
  /* Dependencies first, in the order found; the root last. */
  for (size_t i = 0; i < npkgs; i++) {
    if (&r.pkgs[i] != root_pkg && !resolve_package(&r, &r.pkgs[i], pkgs[i]->name.pos))
      return r.err;
  }
  if (root_pkg && !resolve_package(&r, root_pkg, root->name.pos))
    return r.err;
  wit->root = root_pkg ? root_pkg->model : NULL;
  return NULL;
}
