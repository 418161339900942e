/* Worlds: imports and exports, `include`, and elaboration.
 *
 * Imports and exports are separate namespaces (a name may be both imported and exported,
 * never twice in one). Interfaces whose types a listed interface `use`s are imported
 * implicitly, before it; an exported interface's dependencies are taken from the exports
 * when exported there, otherwise imported. `include` copies another world's items:
 * interface-named ones are de-duplicated, plain names must not clash (`with` renames). */
#include "wit/resolve.h"

#include <stdint.h>
#include <string.h>

enum origin { FROM_IMPLICIT = 0, FROM_INCLUDE = 1, FROM_TEXT = 2 };

typedef struct item_list {
  zh_wit_world_item *items;
  unsigned char *origin;
  size_t len, cap;
  wit_map names; /* name -> index + 1 */
} item_list;

typedef struct welab {
  zh_wit_world *w;
  item_list imports, exports;
} welab;

/* items and origin grow together in append, before a name can be found: a hit always has
 * both (the origin check makes that explicit). */
static zh_wit_world_item *find(item_list *l, const char *name) {
  const wit_map_entry *e = wit_map_get(&l->names, name);
  return e && l->items && l->origin ? &l->items[(uintptr_t)e->value - 1] : NULL;
}

static size_t index_of(item_list *l, const zh_wit_world_item *it) {
  return (size_t)(it - l->items);
}

/* Appends; false with *clash set when the name is there already (case-insensitively). */
static bool append(resolver *r, item_list *l, const zh_wit_world_item *it, enum origin origin,
                   bool *clash) {
  *clash = false;
  const wit_map_entry *old;
  if (!wit_map_add(r->ast, &l->names, it->name, (void *)(uintptr_t)(l->len + 1), 0, &old)) {
    *clash = old != NULL;
    return old ? false : room(r);
  }
  void *items = l->items, *orig = l->origin;
  size_t ocap = l->cap;
  if (!wit_grow(r->m, &items, &l->cap, l->len, sizeof *l->items) ||
      !wit_grow(r->ast, &orig, &ocap, l->len, 1))
    return room(r);
  l->items = items;
  l->origin = orig;
  l->items[l->len] = *it;
  l->origin[l->len] = (unsigned char)origin;
  l->len++;
  return true;
}

static bool import_iface(resolver *r, welab *e, const zh_wit_interface *iface, enum origin origin,
                         wit_pos pos);

/* Imports, implicitly, what the interface's types come from. */
static bool import_deps(resolver *r, welab *e, const zh_wit_interface *iface, wit_pos pos) {
  for (size_t i = 0; i < iface->ndeps; i++)
    TRY(import_iface(r, e, iface->deps[i], FROM_IMPLICIT, pos));
  return true;
}

/* `import ns:pkg/iface;` (or an implicit or included one). */
static bool import_iface(resolver *r, welab *e, const zh_wit_interface *iface, enum origin origin,
                         wit_pos pos) {
  zh_wit_world_item *old = find(&e->imports, iface->qualified);
  if (old) {
    size_t k = index_of(&e->imports, old);
    if (origin == FROM_TEXT && e->imports.origin[k] == FROM_TEXT)
      return rfail(r, pos, "interface `%s` is imported more than once", iface->qualified);
    if (origin > e->imports.origin[k])
      e->imports.origin[k] = (unsigned char)origin;
    if (origin != FROM_IMPLICIT)
      old->implicit = false;
    return true;
  }
  TRY(rdepth_enter(r, pos));
  TRY(import_deps(r, e, iface, pos));
  rdepth_leave(r);
  zh_wit_world_item it = {
      iface->qualified, true, origin == FROM_IMPLICIT, ZH_WIT_ITEM_INTERFACE, iface, NULL, NULL};
  bool clash;
  return append(r, &e->imports, &it, origin, &clash);
}

static bool export_iface(resolver *r, welab *e, const zh_wit_interface *iface, enum origin origin,
                         wit_pos pos) {
  zh_wit_world_item *old = find(&e->exports, iface->qualified);
  if (old) {
    size_t k = index_of(&e->exports, old);
    if (origin == FROM_TEXT && e->exports.origin[k] == FROM_TEXT)
      return rfail(r, pos, "interface `%s` is exported more than once", iface->qualified);
    return true;
  }
  zh_wit_world_item it = {iface->qualified, true, false, ZH_WIT_ITEM_INTERFACE, iface, NULL, NULL};
  bool clash;
  return append(r, &e->exports, &it, origin, &clash);
}

static bool add_plain(resolver *r, welab *e, bool is_export, const zh_wit_world_item *it,
                      enum origin origin, wit_pos pos, const char *from_world) {
  bool clash;
  if (append(r, is_export ? &e->exports : &e->imports, it, origin, &clash))
    return true;
  if (!clash)
    return false;
  if (from_world)
    return rfail(r, pos,
                 "%s `%s` of world `%s` clashes with one of the same name (rename it "
                 "with `with { %s as ... }`)",
                 is_export ? "export" : "import", it->name, from_world, it->name);
  return rfail(r, pos, "`%s` is already %s by this world", it->name,
               is_export ? "exported" : "imported");
}

/* import/export items written in the world. */
static bool add_extern(resolver *r, welab *e, scope *s, ast_world *aw, const ast_extern *x,
                       bool is_export) {
  zh_wit_world_item it;
  memset(&it, 0, sizeof it);
  switch (x->kind) {
  case AE_PATH: {
    zh_wit_interface *iface;
    TRY(resolve_path_iface(r, s->pkg, aw->body, &x->path, &iface));
    if (!x->name) {
      return is_export ? export_iface(r, e, iface, FROM_TEXT, x->path.pos)
                       : import_iface(r, e, iface, FROM_TEXT, x->path.pos);
    }
    it.kind = ZH_WIT_ITEM_INTERFACE;
    it.iface = iface;
    break;
  }
  case AE_IFACE: {
    zh_wit_interface *iface;
    TRY(resolve_iface(r, s->pkg, x->iface, x->pos, &iface));
    iface->world = e->w;
    it.kind = ZH_WIT_ITEM_INTERFACE;
    it.iface = iface;
    break;
  }
  case AE_FUNC: {
    zh_wit_func *fn;
    TRY(scope_func(r, s, &x->func, NULL, &fn));
    it.kind = ZH_WIT_ITEM_FUNC;
    it.func = fn;
    break;
  }
  }
  it.name = wit_strdup(r->m, x->name);
  if (!it.name)
    return room(r);
  if (!is_export && it.iface)
    TRY(import_deps(r, e, it.iface, x->pos));
  return add_plain(r, e, is_export, &it, FROM_TEXT, x->pos, NULL);
}

static const char *rename_of(const ast_include *inc, const char *name, bool *used) {
  for (size_t i = 0; i < inc->nwith; i++) {
    if (strcmp(inc->with[i].from, name) == 0) {
      used[i] = true;
      return inc->with[i].to;
    }
  }
  return name;
}

static bool include(resolver *r, welab *e, scope *s, ast_world *aw, const ast_include *inc) {
  ast_world *src;
  TRY(resolve_path_world(r, s->pkg, aw->body, &inc->path, &src));
  const zh_wit_world *v = src->model;
  bool *used = wit_alloc(r->ast, inc->nwith + 1);
  if (!used)
    return room(r);
  for (int pass = 0; pass < 2; pass++) {
    bool is_export = pass == 1;
    size_t n = is_export ? v->nexports : v->nimports;
    const zh_wit_world_item *items = is_export ? v->exports : v->imports;
    for (size_t i = 0; i < n; i++) {
      zh_wit_world_item it = items[i];
      if (it.interface_name) {
        if (is_export)
          TRY(export_iface(r, e, it.iface, FROM_INCLUDE, inc->path.pos));
        else
          TRY(import_iface(r, e, it.iface, it.implicit ? FROM_IMPLICIT : FROM_INCLUDE,
                           inc->path.pos));
        continue;
      }
      const char *to = rename_of(inc, it.name, used);
      if (to != it.name && !(it.name = wit_strdup(r->m, to)))
        return room(r);
      TRY(add_plain(r, e, is_export, &it, FROM_INCLUDE, inc->path.pos, v->name));
    }
  }
  for (size_t i = 0; i < inc->nwith; i++)
    if (!used[i])
      return rfail(r, inc->with[i].pos, "`%s` is not a plain-named import or export of world `%s`",
                   inc->with[i].from, v->name);
  return true;
}

static bool add_type_item(resolver *r, welab *e, scope *s, const char *name, wit_pos pos) {
  const zh_wit_type *t = NULL;
  for (size_t i = 0; i < s->types.len && !t; i++) {
    const zh_wit_type *c = s->types.items[i];
    if (strcmp(c->name, name) == 0)
      t = c;
  }
  zh_wit_world_item it = {t ? t->name : name, false, false, ZH_WIT_ITEM_TYPE, NULL, NULL, t};
  return add_plain(r, e, false, &it, FROM_TEXT, pos, NULL);
}

static bool is_exported(welab *e, const zh_wit_interface *iface) {
  zh_wit_world_item *it = find(&e->exports, iface->qualified);
  return it && it->interface_name;
}

static bool elaborate(resolver *r, welab *e, scope *s, ast_world *aw) {
  const ast_item *items = aw->items;
  for (size_t i = 0; i < aw->nitems; i++) {
    const ast_item *it = &items[i];
    switch (it->kind) {
    case AI_USE:
      for (size_t k = 0; k < it->u.use.nnames; k++) {
        const ast_use_name *n = &it->u.use.names[k];
        TRY(add_type_item(r, e, s, n->as ? n->as : n->name, n->pos));
      }
      break;
    case AI_TYPE:
      TRY(add_type_item(r, e, s, it->u.def.name, it->u.def.pos));
      break;
    case AI_IMPORT:
      TRY(add_extern(r, e, s, aw, &it->u.ext, false));
      break;
    case AI_INCLUDE:
      TRY(include(r, e, s, aw, &it->u.inc));
      break;
    default:
      break;
    }
  }
  for (size_t i = 0; i < aw->nitems; i++)
    if (items[i].kind == AI_EXPORT)
      TRY(add_extern(r, e, s, aw, &items[i].u.ext, true));
  /* What exported interfaces use comes from the exports when exported there. */
  for (size_t i = 0; i < e->exports.len; i++) {
    const zh_wit_interface *iface = e->exports.items[i].iface;
    for (size_t k = 0; iface && k < iface->ndeps; k++)
      if (!is_exported(e, iface->deps[k]))
        TRY(import_iface(r, e, iface->deps[k], FROM_IMPLICIT, aw->pos));
  }
  /* World-level `use`: of the export when exported, ambiguous when also imported. */
  for (size_t i = 0; i < aw->nitems; i++) {
    if (items[i].kind != AI_USE)
      continue;
    const ast_path *path = &items[i].u.use.path;
    zh_wit_interface *iface;
    TRY(resolve_path_iface(r, s->pkg, aw->body, path, &iface));
    if (!is_exported(e, iface))
      TRY(import_iface(r, e, iface, FROM_IMPLICIT, path->pos));
    else if (find(&e->imports, iface->qualified))
      return rfail(r, path->pos,
                   "`use` of interface `%s` is ambiguous: the world both imports and exports it",
                   path->name);
  }
  return true;
}

bool resolve_world(resolver *r, rpkg *pkg, ast_world *aw, wit_pos ref) {
  if (aw->state == AS_DONE)
    return true;
  if (aw->state == AS_BUSY)
    return rcycle(r, ref, "world", aw->name);
  TRY(rdepth_enter(r, ref));
  aw->state = AS_BUSY;
  TRY(rpush(r, aw->name));
  zh_wit_world *w = wit_alloc(r->m, sizeof *w);
  if (!w)
    return room(r);
  const zh_wit_package *p = pkg->model;
  w->package = p;
  w->name = wit_strdup(r->m, aw->name);
  w->qualified = p->version ? wit_format(r->m, "%s:%s/%s@%s", p->ns, p->pkg, aw->name, p->version)
                            : wit_format(r->m, "%s:%s/%s", p->ns, p->pkg, aw->name);
  if (!w->name || !w->qualified)
    return room(r);
  aw->model = w;
  scope s;
  memset(&s, 0, sizeof s);
  s.pkg = pkg;
  s.body = aw->body;
  s.world = w;
  welab e;
  memset(&e, 0, sizeof e);
  e.w = w;
  TRY(scope_declare(r, &s, aw->items, aw->nitems));
  TRY(scope_define(r, &s, aw->items, aw->nitems));
  TRY(scope_funcs(r, &s, aw->items, aw->nitems));
  TRY(elaborate(r, &e, &s, aw));
  w->imports = e.imports.items;
  w->nimports = e.imports.len;
  w->exports = e.exports.items;
  w->nexports = e.exports.len;
  rpop(r);
  rdepth_leave(r);
  aw->state = AS_DONE;
  return true;
}
