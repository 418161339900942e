/* Component dependencies: load-time linking and per-request instances (app_deps.h).
 *
 * A dependency's import is defined on the caller's own linker twice over, with a dep_fn
 * (which unit, which export, the zh_link_plan made at load) as the environment. The core
 * form, dep_core, is what a UTF-8 caller gets: X's flat arguments go through the plan's
 * adapter (zerohop/link.h), one type-directed copy from X's memory into the unit's instance
 * of this request (made on first use, after the arguments are validated) and back. The value
 * form, dep_call, lifts X's arguments into component values and calls the instance with
 * them: the fallback for strings that are not UTF-8 on either side. Either way the two
 * memories never meet. The unit's instance is a full app_call, so its host interfaces
 * (key-value, SQLite, outbound HTTP, variables) see exactly the capabilities
 * the unit was given at load: an empty manifest view (deny-all) or the caller's. */
#include "host/app_internal.h"
#include "wit/abi.h"

#include "zerohop/link.h"
#include "zerohop/val.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPS_MAX_DEPTH 16 /* a chain of dependencies deeper than this is refused at load */

/* One dependency as one caller sees it: its binary and the capabilities it runs with. */
typedef struct dep_unit {
  app_component c;          /* what app_call_begin instantiates; c.m is &mc */
  zh_manifest_component mc; /* the dependency's manifest view: capabilities granted, deps */
  zh_cm_component *owned;   /* a path or url dependency's binary (else the app's component) */
  char *id;                 /* the callee's name in hops and logs */
  size_t slot;              /* its index in a request's app_call.deps */
} dep_unit;

/* One linked function: the host function's environment. */
typedef struct dep_fn {
  zh_app *app;
  dep_unit *u;
  const char *iface;  /* the export's name in the dependency (its world's, lives with it) */
  const char *func;   /* the function's ABI name there */
  zh_link_plan *plan; /* the one-copy adapter's types and layouts, made once at load */
  size_t k;           /* its index in app_deps.fns, and in dep_inst.found */
} dep_fn;

/* A dependency's instance for one request: the app_call, and each function's export
 * once found by name (zh_cm_instance_func compares names: once per request, not per call). */
typedef struct dep_inst {
  app_call call; /* first: request-side code sees an app_call */
  zh_cm_func *found[];
} dep_inst;

struct app_deps {
  dep_unit **units;
  size_t nunits, ucap;
  dep_fn **fns;
  size_t nfns, fcap;
  uint64_t made; /* instances made so far, all requests (atomic): what tests observe */
};

static bool grow(void **p, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return true;
  size_t c = *cap ? *cap * 2 : 8;
  void *q = realloc(*p, c * size);
  if (!q)
    return false;
  *p = q;
  *cap = c;
  return true;
}

void app_deps_free(struct app_deps *deps) {
  if (!deps)
    return;
  for (size_t i = 0; i < deps->nunits; i++) {
    dep_unit *u = deps->units[i];
    zh_cm_template_free(u->c.tpl);
    zh_cm_linker_free(u->c.linker);
    zh_cm_component_free(u->owned);
    free(u->id);
    free(u);
  }
  for (size_t i = 0; i < deps->nfns; i++) {
    zh_link_plan_free(deps->fns[i]->plan);
    free(deps->fns[i]);
  }
  free(deps->units);
  free(deps->fns);
  free(deps);
}

/* ---- per request ---- */

/* The payload a value carries across, for the hop's byte count: string and list contents
 * plus the scalars, as the canonical ABI would lay them out (without padding). */
static uint64_t val_bytes(const zh_val *v) {
  uint64_t n = 0;
  switch (v->kind) {
  case ZH_WIT_STRING:
    return v->of.str.len;
  case ZH_WIT_LIST:
    if (!v->of.list.items)
      return v->of.list.len * zh_val_raw_size(v->of.list.raw_elem);
    for (size_t i = 0; i < v->of.list.len; i++)
      n += val_bytes(&v->of.list.items[i]);
    return n;
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    for (size_t i = 0; i < v->of.agg.n; i++)
      n += val_bytes(&v->of.agg.fields[i]);
    return n;
  case ZH_WIT_VARIANT:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT:
    return 4 + (v->of.var.payload ? val_bytes(v->of.var.payload) : 0);
  case ZH_WIT_FLAGS:
    return (v->of.flags.nbits + 7) / 8;
  default: /* a scalar; enums and handles count as their 4 bytes */
    n = zh_val_scalar_size(v->kind);
    return n ? n : 4;
  }
}

/* The unit's instance for this request, made on its first call. */
static zh_error *dep_instance(zh_app *app, app_call *call, dep_unit *u, app_call **out) {
  if (!call->deps && !(call->deps = calloc(app->deps->nunits, sizeof(app_call *))))
    return zh_error_oom();
  if (call->deps[u->slot]) {
    *out = call->deps[u->slot];
    return NULL;
  }
  dep_inst *d = calloc(1, sizeof *d + app->deps->nfns * sizeof(zh_cm_func *));
  if (!d)
    return zh_error_oom();
  app_call *dc = &d->call;
  /* the dependency runs within its caller's deadline, and its hops join the caller's trace */
  uint64_t now = zh_hops_now_ns();
  zh_error *err = now >= call->deadline_ns
                      ? zh_error_new(ZH_ERR_INTERRUPTED, "the caller's deadline has passed")
                      : app_call_begin(app, &u->c, NULL, call->deadline_ns - now, dc);
  if (!err)
    dc->hi.trace = call->hi.trace;
  if (err) {
    app_call_end(app, dc);
    free(dc);
    return err;
  }
  call->deps[u->slot] = *out = dc;
  __atomic_fetch_add(&app->deps->made, 1, __ATOMIC_RELAXED);
  return NULL;
}

uint64_t app_deps_instances(const zh_app *app) {
  return app->deps ? __atomic_load_n(&app->deps->made, __ATOMIC_RELAXED) : 0;
}

/* fn's export in the dependency's instance dc (made by dep_instance, so inside a dep_inst). */
static zh_cm_func *dep_func(const dep_fn *fn, app_call *dc) {
  dep_inst *d = (dep_inst *)(void *)dc;
  if (!d->found[fn->k])
    d->found[fn->k] = zh_cm_instance_func(dc->inst, fn->iface, fn->func);
  return d->found[fn->k];
}

static zh_error *dep_call(zh_cm_call *cc, void *env, zh_val *args, size_t nargs, zh_val *result) {
  dep_fn *fn = env;
  zh_host_instance *hi = zh_host_instance_of(cc);
  if (!hi) /* a template's initialisation: there is no request to make the instance in */
    return zh_error_new(ZH_ERR_TRAP, "dependency `%s`: %s#%s called during initialisation",
                        fn->u->id, fn->iface, fn->func);
  /* every component instance the app makes has its zh_host_instance inside an app_call */
  app_call *call = (app_call *)(void *)((char *)hi - offsetof(app_call, hi));
  uint64_t t0 = zh_hops_now_ns();
  app_call *dc = NULL;
  zh_error *err = dep_instance(fn->app, call, fn->u, &dc);
  zh_cm_func *f = err || !dc ? NULL : dep_func(fn, dc);
  if (!err && !f)
    err = zh_error_new(ZH_ERR_UNLINKABLE, "no export %s#%s", fn->iface, fn->func);
  else if (!err && dc)
    err = zh_cm_func_call(dc->inst, f, args, nargs, result);
  uint64_t bytes = 0;
  for (size_t i = 0; i < nargs; i++)
    bytes += val_bytes(&args[i]);
  if (!err)
    bytes += val_bytes(result);
  zh_hops_record_traced(fn->app->hops, call->hi.trace, call->c->id, fn->u->id, ZH_HOP_CALL,
                        zh_hops_now_ns() - t0, bytes, err != NULL);
  return err ? zh_error_prefix(err, "component `%s` calling dependency `%s`", call->c->id,
                               fn->u->id)
             : NULL;
}

/* ---- the one-copy path: X's core import is the adapter itself ---- */

/* One call's callee, found after X's arguments are validated. */
typedef struct dep_resolve {
  dep_fn *fn;
  app_call *call;
  zh_cm_func *f; /* entered (zh_cm_func_enter) when set: must be left */
  bool declined; /* the dependency lifts with another string encoding: the value path */
} dep_resolve;

static zh_error *dep_target(void *env, zh_link_target *out) {
  dep_resolve *r = env;
  dep_fn *fn = r->fn;
  app_call *dc = NULL;
  zh_error *err = dep_instance(fn->app, r->call, fn->u, &dc);
  if (err || !dc)
    return err ? err : zh_error_oom();
  zh_cm_func *f = dep_func(fn, dc);
  if (!f)
    return zh_error_new(ZH_ERR_UNLINKABLE, "no export %s#%s", fn->iface, fn->func);
  zh_cm_core_side side;
  zh_func *core = NULL, *post = NULL;
  bool utf8 = true;
  if ((err = zh_cm_func_enter(dc->inst, f, &side, &core, &post, &utf8)))
    return err;
  r->f = f;
  if (!utf8) { /* nothing is copied yet: the value path can take the call over */
    r->declined = true;
    return zh_error_new(ZH_ERR_UNLINKABLE, "not UTF-8");
  }
  *out = (zh_link_target){side.store, side.memory, side.realloc, side.no_leave, core, post};
  return NULL;
}

static zh_error *dep_core(zh_cm_call *cc, void *env, const zh_cm_core_side *caller,
                          const zh_value *args, zh_value *results, bool *declined) {
  dep_fn *fn = env;
  zh_host_instance *hi = zh_host_instance_of(cc);
  if (!hi) {
    *declined = true; /* the value path says why it cannot run */
    return NULL;
  }
  app_call *call = (app_call *)(void *)((char *)hi - offsetof(app_call, hi));
  uint64_t t0 = zh_hops_now_ns();
  dep_resolve r = {fn, call, NULL, false};
  zh_link_caller a = {caller->store, caller->memory, caller->realloc, caller->no_leave};
  zh_link_stats st = {0, false};
  zh_error *err = zh_link_plan_call(fn->plan, &a, dep_target, &r, args, results, &st);
  if (r.f)
    zh_cm_func_leave(r.f, st.callee_fault);
  if (r.declined) {
    zh_error_free(err);
    *declined = true;
    return NULL;
  }
  zh_hops_record_traced(fn->app->hops, call->hi.trace, call->c->id, fn->u->id, ZH_HOP_CALL,
                        zh_hops_now_ns() - t0, st.bytes, err != NULL);
  return err ? zh_error_prefix(err, "component `%s` calling dependency `%s`", call->c->id,
                               fn->u->id)
             : NULL;
}

void app_deps_call_end(zh_app *app, app_call *call) {
  if (!call->deps)
    return;
  for (size_t i = 0; i < app->deps->nunits; i++) {
    if (call->deps[i]) {
      app_call_end(app, call->deps[i]);
      free(call->deps[i]);
    }
  }
  free(call->deps);
  call->deps = NULL;
}

/* ---- load ---- */

/* Does the dependency key name this import? "ns:pkg/iface[@v]" names one interface,
 * "ns:pkg[@v]" every interface of the package; a version, when given, must be the import's. */
static bool key_matches(const char *key, const char *imp) {
  const char *kat = strchr(key, '@'), *iat = strchr(imp, '@');
  size_t kb = kat ? (size_t)(kat - key) : strlen(key);
  size_t ib = iat ? (size_t)(iat - imp) : strlen(imp);
  if (memchr(key, '/', kb)) {
    if (kb != ib || memcmp(key, imp, kb) != 0)
      return false;
  } else if (ib <= kb || memcmp(key, imp, kb) != 0 || imp[kb] != '/') {
    return false;
  }
  return !kat || (iat && strcmp(kat, iat) == 0);
}

/* The dependency's exported interface called `want`: the same name, else the same name
 * without the version, else (a plain `export = "name"`) the interface of that short name
 * ("ns:pkg/name@v"). The functions' type check decides whether it fits. */
static const zh_wit_world_item *find_export(const zh_wit_world *w, const char *want) {
  const zh_wit_world_item *base = NULL, *plain = NULL;
  const char *at = strchr(want, '@');
  size_t wb = at ? (size_t)(at - want) : strlen(want);
  for (size_t i = 0; i < w->nexports; i++) {
    const zh_wit_world_item *e = &w->exports[i];
    if (e->kind != ZH_WIT_ITEM_INTERFACE || !e->iface)
      continue;
    if (strcmp(e->name, want) == 0)
      return e;
    const char *eat = strchr(e->name, '@');
    size_t eb = eat ? (size_t)(eat - e->name) : strlen(e->name);
    if (!base && eb == wb && memcmp(e->name, want, wb) == 0)
      base = e;
    if (!plain && !strchr(want, ':') && e->iface->name && strcmp(e->iface->name, want) == 0)
      plain = e;
  }
  return base ? base : plain;
}

static const zh_wit_func *find_func(const zh_wit_interface *in, const char *abi_name) {
  for (size_t i = 0; i < in->nfuncs; i++)
    if (strcmp(in->funcs[i]->abi_name, abi_name) == 0)
      return in->funcs[i];
  return NULL;
}

/* Links every function of the import `imp` of `c` to the unit's export `want`. */
static zh_error *link_iface(zh_app *app, app_component *c, dep_unit *u, const char *what,
                            const zh_wit_world_item *imp, const char *want) {
  const zh_wit_world_item *e = find_export(zh_cm_component_world(u->c.comp), want);
  if (!e)
    return zh_error_new(ZH_ERR_UNLINKABLE, "%s: %s does not export %s", what,
                        u->mc.source ? u->mc.source : u->id, want);
  for (size_t i = 0; i < imp->iface->nfuncs; i++) {
    const zh_wit_func *f = imp->iface->funcs[i];
    const zh_wit_func *g = find_func(e->iface, f->abi_name);
    if (!g)
      return zh_error_new(ZH_ERR_UNLINKABLE, "%s: `%s`'s %s has no function `%s` that %s imports",
                          what, u->id, e->name, f->abi_name, c->id);
    zh_error *err = zh_link_check(imp->name, f, g);
    if (err)
      return zh_error_prefix(err, "%s on `%s`", what, u->id);
    struct app_deps *d = app->deps;
    dep_fn *fn = calloc(1, sizeof *fn);
    if (!fn || !grow((void **)&d->fns, &d->fcap, d->nfns, sizeof(dep_fn *))) {
      free(fn);
      return zh_error_oom();
    }
    d->fns[d->nfns++] = fn;
    *fn = (dep_fn){app, u, e->name, g->abi_name, NULL, d->nfns - 1};
    if ((err = zh_link_plan_new(e->name, f, g, &fn->plan)))
      return zh_error_prefix(err, "%s on `%s`", what, u->id);
    if ((err = zh_cm_linker_define_func_core(c->linker, imp->name, f->abi_name, f, dep_call,
                                             dep_core, fn)))
      return err;
  }
  return NULL;
}

/* A `url` dependency's file: file:///abs or file:rel (against the manifest's directory). */
static char *url_path(const zh_app *app, const char *url) {
  if (strncmp(url, "file:", 5) != 0)
    return NULL;
  const char *p = url + 5;
  if (strncmp(p, "//", 2) == 0)
    p += 2;
  if (*p == '/')
    return strdup(p);
  size_t n = strlen(app->m->base_dir) + strlen(p) + 2;
  char *out = malloc(n);
  if (out)
    snprintf(out, n, "%s/%s", app->m->base_dir, p);
  return out;
}

static zh_error *load_file(zh_app *app, const zh_manifest_dependency *d, const char *what,
                           dep_unit *u) {
  char *path = d->path ? strdup(d->path) : url_path(app, d->url);
  if (!path)
    return d->path ? zh_error_oom()
                   : zh_error_new(ZH_ERR_INVALID, "%s: url `%s` is not a file: URL", what, d->url);
  uint8_t *bytes = NULL;
  size_t len = 0;
  zh_error *err = app_read_file(path, &bytes, &len);
  if (!err && d->url)
    err = app_check_digest(what, path, d->digest, bytes, len);
  if (!err && !zh_cm_is_component(bytes, len))
    err = zh_error_new(ZH_ERR_INVALID, "%s: %s is a core module, not a component", what, path);
  if (!err)
    err = zh_cm_component_new(app->engine, bytes, len, path, &u->owned);
  free(bytes);
  free(path);
  return err ? zh_error_prefix(err, "%s", what) : NULL;
}

/* The capabilities a unit runs with: the caller's when it lets its dependencies inherit
 * them, none at all otherwise. */
static void grant(app_component *caller, dep_unit *u) {
  const zh_manifest_component *from = caller->m;
  bool inherit = from->dependencies_inherit_configuration;
  zh_manifest_component *mc = &u->mc;
  static const zh_manifest_strs none = {0};
  mc->key_value_stores = inherit ? from->key_value_stores : none;
  mc->sqlite_databases = inherit ? from->sqlite_databases : none;
  mc->allowed_outbound_hosts = inherit ? from->allowed_outbound_hosts : none;
  mc->allowed_http_hosts = inherit ? from->allowed_http_hosts : none;
  mc->ai_models = inherit ? from->ai_models : none;
  mc->environment = inherit ? from->environment : NULL;
  mc->nenvironment = inherit ? from->nenvironment : 0;
  mc->variables = inherit ? from->variables : NULL;
  mc->nvariables = inherit ? from->nvariables : 0;
  mc->files = inherit ? from->files : NULL;
  mc->nfiles = inherit ? from->nfiles : 0;
  app_component *c = &u->c;
  c->m = mc;
  c->id = u->id;
  c->log_fd[0] = c->log_fd[1] = -1;
  c->cfg = caller->cfg; /* stdio capture and the log; what it may reach is set below */
  c->rules = inherit ? caller->rules : NULL;
  c->vars = inherit ? caller->vars : NULL;
  c->cfg.http_allowed_env = c->rules; /* NULL rules allow nothing */
  if (!inherit) {
    c->cfg.env = NULL;
    c->cfg.envc = 0;
    c->cfg.preopens = NULL;
    c->cfg.npreopens = 0;
  }
}

static zh_error *make_template(zh_app *app, app_component *c) {
  zh_error *err = zh_cm_template_new(c->linker ? c->linker : app->linker, c->comp, &c->tpl);
  if (!err || zh_error_status(err) != ZH_ERR_USAGE)
    return err ? zh_error_prefix(err, "component `%s`", c->id) : NULL;
  app_log(app, "component `%s`: no template (%s): each call instantiates it in full", c->id,
          zh_error_message(err));
  zh_error_free(err);
  c->tpl = NULL;
  return NULL;
}

static zh_error *link_component(zh_app *app, app_component *c, const char **stack, size_t depth);

static zh_error *cycle(const char *what, const char **stack, size_t depth, const char *id) {
  char path[1024];
  size_t n = 0;
  for (size_t i = 0; i < depth && n < sizeof path; i++)
    n += (size_t)snprintf(path + n, sizeof path - n, "%s -> ", stack[i]);
  return zh_error_new(ZH_ERR_INVALID, "%s: a dependency cycle: %s%s", what,
                      n < sizeof path ? path : "", id);
}

/* A file dependency's name in hops and logs: the file's name without directory and ".wasm". */
static char *file_id(const char *path) {
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  size_t n = strlen(base);
  if (n > 5 && strcmp(base + n - 5, ".wasm") == 0)
    n -= 5;
  return strndup(base, n);
}

static zh_error *link_dep(zh_app *app, app_component *c, const zh_manifest_dependency *d,
                          const char **stack, size_t depth) {
  char what[512];
  snprintf(what, sizeof what, "component `%s`: dependency `%s`", c->id, d->name);
  if (!d->component && !d->path && !d->url)
    return zh_error_new(ZH_ERR_INVALID,
                        "%s: registry dependencies are not supported by zerohop (give "
                        "`component`, `path` or `url`)",
                        what);
  app_component *y = d->component ? app_find_component(app, d->component) : NULL;
  if (d->component && !y)
    return zh_error_new(ZH_ERR_INVALID, "%s: the app has no component `%s`", what, d->component);
  if (y && !y->comp)
    return zh_error_new(ZH_ERR_INVALID, "%s: `%s` (%s) is a core module, not a component", what,
                        y->id, y->m->source);
  for (size_t i = 0; y && i < depth; i++)
    if (strcmp(stack[i], y->id) == 0)
      return cycle(what, stack, depth, y->id);
  if (depth >= DEPS_MAX_DEPTH)
    return zh_error_new(ZH_ERR_INVALID, "%s: dependencies nest deeper than %d", what,
                        DEPS_MAX_DEPTH);
  struct app_deps *deps = app->deps;
  dep_unit *u = calloc(1, sizeof *u);
  if (!u || !grow((void **)&deps->units, &deps->ucap, deps->nunits, sizeof(dep_unit *))) {
    free(u);
    return zh_error_oom();
  }
  u->slot = deps->nunits;
  deps->units[deps->nunits++] = u;
  if (y)
    u->mc = *y->m; /* its own dependencies and flags; the capabilities are replaced */
  else
    u->mc.source = d->path ? d->path : d->url;
  if (!(u->id = y ? strdup(y->id) : file_id(d->path ? d->path : d->url)))
    return zh_error_oom();
  u->mc.id = u->id;
  zh_error *err = y ? NULL : load_file(app, d, what, u);
  if (err)
    return err;
  u->c.comp = y ? y->comp : u->owned;
  grant(c, u);

  const zh_wit_world *xw = zh_cm_component_world(c->comp);
  size_t matched = 0;
  for (size_t i = 0; i < xw->nimports; i++) {
    const zh_wit_world_item *imp = &xw->imports[i];
    matched += imp->kind == ZH_WIT_ITEM_INTERFACE && imp->iface && key_matches(d->name, imp->name);
  }
  if (!matched)
    return zh_error_new(ZH_ERR_UNLINKABLE, "%s: `%s` (%s) imports no interface of that name", what,
                        c->id, c->m->source ? c->m->source : "?");
  if (d->export_ && matched > 1) /* one export cannot stand for several interfaces */
    return zh_error_new(ZH_ERR_INVALID,
                        "%s: `export` names one export, but the key matches %zu "
                        "imports of `%s`",
                        what, matched, c->id);
  for (size_t i = 0; !err && i < xw->nimports; i++) {
    const zh_wit_world_item *imp = &xw->imports[i];
    if (imp->kind == ZH_WIT_ITEM_INTERFACE && imp->iface && key_matches(d->name, imp->name))
      err = link_iface(app, c, u, what, imp, d->export_ ? d->export_ : imp->name);
  }
  if (err)
    return err;
  if (u->mc.ndependencies) {
    stack[depth] = u->id;
    return link_component(app, &u->c, stack, depth + 1);
  }
  return make_template(app, &u->c);
}

/* Gives `c` a linker of its own with its dependencies defined, then its template. */
static zh_error *link_component(zh_app *app, app_component *c, const char **stack, size_t depth) {
  if (!c->comp)
    return zh_error_new(ZH_ERR_INVALID,
                        "component `%s` (%s) has dependencies but is a core module, not a "
                        "component",
                        c->id, c->m->source);
  zh_error *err = app_linker_new(&c->linker);
  for (size_t i = 0; !err && i < c->m->ndependencies; i++) {
    err = link_dep(app, c, &c->m->dependencies[i], stack, depth);
    if (!err)
      app_log(app, "component `%s`: dependency `%s` linked in-process%s", c->id,
              c->m->dependencies[i].name,
              c->m->dependencies_inherit_configuration ? " (inherits its configuration)" : "");
  }
  return err ? err : make_template(app, c);
}

zh_error *app_deps_load(zh_app *app) {
  bool any = false;
  for (size_t i = 0; i < app->ncomps; i++)
    any = any || app->comps[i].m->ndependencies > 0;
  if (!any)
    return NULL;
  if (!(app->deps = calloc(1, sizeof *app->deps)))
    return zh_error_oom();
  zh_error *err = NULL;
  const char *stack[DEPS_MAX_DEPTH + 1];
  for (size_t i = 0; !err && i < app->ncomps; i++) {
    app_component *c = &app->comps[i];
    if (!c->m->ndependencies)
      continue;
    stack[0] = c->id;
    err = link_component(app, c, stack, 1);
  }
  return err;
}
