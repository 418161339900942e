/* Components on the host side (include/zerohop/component.h): canon lift for calls into a
 * guest's exports, canon lower for the guest's imports implemented in C, and the resource
 * handle table of the instance. */
#include "zerohop/component.h"

#include "wasm/module.h"
#include "wit/abi.h"
#include "zerohop/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One core import provided by the component: a WIT function or a resource drop. */
typedef struct adapter {
  zh_component *comp;
  const zh_wit_func *func; /* NULL for [resource-drop] */
  const zh_wit_type *rt;   /* the resource of [resource-drop] */
  zh_abi_sig sig;
  zh_component_fn fn;
  void *env;
  char *what; /* "import ns:pkg/iface@1.0.0#func", for messages; stored after the struct */
} adapter;

typedef struct import_def {
  const zh_wit_func *func;
  zh_component_fn fn;
  void *env;
} import_def;

typedef struct resource_def {
  const zh_wit_type *rt;
  zh_resource_dtor dtor;
  void *env;
} resource_def;

struct zh_component {
  zh_store *store;
  const zh_module *module;
  const zh_wit_world *world;
  zh_instance *inst;
  zh_memory *mem;
  zh_func *realloc;
  zh_abi_table table;
  import_def *defs;
  size_t ndefs;
  resource_def *rdefs;
  size_t nrdefs;
  adapter **adapters;
  size_t nadapters;
  bool trapped, in_call;
  /* may_leave cleared (CanonicalABI.md): the host is running the guest's cabi_realloc or
   * post-return, which must not call imports. Inverted, so zeroed is right. */
  bool no_leave;
  zh_cm_component *own_world; /* holds the world read from the module (zh_cm_core_world) */
};

static zh_error *oom(void) { return zh_error_new(ZH_ERR_RESOURCE, "out of memory"); }

/* ---- lookups in the world ---- */

static const zh_wit_world_item *find_item(const zh_wit_world_item *items, size_t n,
                                          const char *iface, const char *func) {
  for (size_t i = 0; i < n; i++) {
    const zh_wit_world_item *it = &items[i];
    if (iface && it->kind == ZH_WIT_ITEM_INTERFACE && strcmp(it->name, iface) == 0)
      return it;
    if (!iface && it->kind == ZH_WIT_ITEM_FUNC && it->func &&
        (strcmp(it->name, func) == 0 ||
         (it->func->abi_name && strcmp(it->func->abi_name, func) == 0)))
      return it;
  }
  return NULL;
}

static const zh_wit_func *iface_func(const zh_wit_interface *in, const char *name) {
  for (size_t i = 0; i < in->nfuncs; i++) {
    const zh_wit_func *f = in->funcs[i];
    if ((f->abi_name && strcmp(f->abi_name, name) == 0) || strcmp(f->name, name) == 0)
      return f;
  }
  return NULL;
}

static const zh_wit_type *iface_resource(const zh_wit_interface *in, const char *name) {
  for (size_t i = 0; i < in->ntypes; i++) {
    const zh_wit_type *t = in->types[i];
    if (t->name && strcmp(t->name, name) == 0) {
      t = zh_abi_unalias(t);
      return t && t->kind == ZH_WIT_RESOURCE ? t : NULL;
    }
  }
  return NULL;
}

/* The WIT function named by (iface, func) among the world's imports or exports. */
static const zh_wit_func *world_func(const zh_wit_world_item *items, size_t n, const char *iface,
                                     const char *func) {
  const zh_wit_world_item *it = find_item(items, n, iface, func);
  if (!it)
    return NULL;
  return iface ? (it->iface ? iface_func(it->iface, func) : NULL) : it->func;
}

/* ---- lifecycle ---- */

zh_error *zh_component_new(zh_store *store, const zh_module *module, const zh_wit_world *world,
                           zh_component **out) {
  *out = NULL;
  if (!store || !module)
    return zh_error_new(ZH_ERR_USAGE, "zh_component_new: NULL argument");
  zh_cm_component *own_world = NULL;
  if (!world) { /* the world wit-bindgen or `wit-component embed` left in the module */
    zh_error *err = zh_cm_core_world(module->engine, module, module->name, &own_world);
    if (err)
      return err;
    world = zh_cm_component_world(own_world);
  }
  zh_component *c = calloc(1, sizeof *c);
  if (!c) {
    zh_cm_component_free(own_world);
    return oom();
  }
  c->own_world = own_world;
  c->store = store;
  c->module = module;
  c->world = world;
  *out = c;
  return NULL;
}

void zh_component_free(zh_component *c) {
  if (!c)
    return;
  /* The instance's own handles die with it: their resources are destroyed. */
  for (uint32_t i = 1; i < c->table.len; i++) {
    zh_abi_handle *h = &c->table.h[i];
    if (!h->rt || !h->own)
      continue;
    for (size_t r = 0; r < c->nrdefs; r++)
      if (c->rdefs[r].rt == h->rt && c->rdefs[r].dtor)
        c->rdefs[r].dtor(c->rdefs[r].env, h->rep);
  }
  zh_abi_table_free(&c->table);
  for (size_t i = 0; i < c->nadapters; i++)
    free(c->adapters[i]);
  free(c->adapters);
  free(c->defs);
  free(c->rdefs);
  zh_cm_component_free(c->own_world);
  free(c);
}

zh_instance *zh_component_instance(const zh_component *c) { return c->inst; }
const zh_wit_world *zh_component_world(const zh_component *c) { return c->world; }
zh_store *zh_component_store(const zh_component *c) { return c->store; }
bool zh_component_trapped(const zh_component *c) { return c->trapped; }

size_t zh_component_handle_count(const zh_component *c) {
  size_t n = 0;
  for (uint32_t i = 1; i < c->table.len; i++)
    n += c->table.h[i].rt != NULL;
  return n;
}

zh_error *zh_component_define_import(zh_component *c, const char *iface, const char *func,
                                     zh_component_fn fn, void *env) {
  const zh_wit_func *f = world_func(c->world->imports, c->world->nimports, iface, func);
  if (!f)
    return zh_error_new(ZH_ERR_USAGE, "world %s imports no function %s%s%s", c->world->name,
                        iface ? iface : "", iface ? "#" : "", func);
  for (size_t i = 0; i < c->ndefs; i++)
    if (c->defs[i].func == f) {
      c->defs[i].fn = fn;
      c->defs[i].env = env;
      return NULL;
    }
  import_def *d = realloc(c->defs, (c->ndefs + 1) * sizeof *d);
  if (!d)
    return oom();
  c->defs = d;
  c->defs[c->ndefs++] = (import_def){f, fn, env};
  return NULL;
}

zh_error *zh_component_define_resource(zh_component *c, const char *iface, const char *resource,
                                       zh_resource_dtor dtor, void *env) {
  const zh_wit_world_item *it =
      iface ? find_item(c->world->imports, c->world->nimports, iface, "") : NULL;
  const zh_wit_type *rt = it && it->iface ? iface_resource(it->iface, resource) : NULL;
  if (!rt)
    return zh_error_new(ZH_ERR_USAGE, "world %s imports no resource %s in %s", c->world->name,
                        resource, iface ? iface : "(null)");
  resource_def *d = realloc(c->rdefs, (c->nrdefs + 1) * sizeof *d);
  if (!d)
    return oom();
  c->rdefs = d;
  c->rdefs[c->nrdefs++] = (resource_def){rt, dtor, env};
  return NULL;
}

/* ---- canon lower: the guest calls the host ---- */

static void cx_init(zh_abi_cx *cx, zh_component *c, const char *what) {
  memset(cx, 0, sizeof *cx);
  cx->store = c->store;
  cx->mem = c->mem;
  cx->realloc = c->realloc;
  cx->table = &c->table;
  cx->what = what;
}

/* Offsets of parameters stored as a tuple (indirect parameters). */
static uint32_t param_offset(const zh_wit_func *f, size_t upto) {
  uint32_t off = 0;
  for (size_t i = 0; i <= upto; i++) {
    uint32_t a = zh_abi_align(f->params[i].type);
    off = (off + a - 1) & ~(a - 1);
    if (i < upto)
      off += zh_abi_size(f->params[i].type);
  }
  return off;
}

static void params_layout(const zh_wit_func *f, uint32_t *size, uint32_t *align) {
  uint32_t a = 1, s = 0;
  for (size_t i = 0; i < f->nparams; i++) {
    uint32_t pa = zh_abi_align(f->params[i].type);
    a = pa > a ? pa : a;
  }
  if (f->nparams)
    s = param_offset(f, f->nparams - 1) + zh_abi_size(f->params[f->nparams - 1].type);
  *size = (s + a - 1) & ~(a - 1);
  *align = a;
}

static void drop_vals(zh_val *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    zh_val_drop(&v[i]);
}

static zh_error *resource_drop(adapter *ad, const zh_value *args) {
  zh_component *c = ad->comp;
  zh_abi_cx cx;
  cx_init(&cx, c, ad->what);
  uint32_t i = (uint32_t)args[0].of.i32;
  zh_abi_table *t = &c->table;
  if (i == 0 || i >= t->len || !t->h[i].rt)
    return zh_abi_trap(&cx, "unknown resource handle %u (dangling or never created)", i);
  if (t->h[i].rt != ad->rt)
    return zh_abi_trap(&cx, "resource handle %u is not a %s", i, ad->rt->name);
  if (t->h[i].lends)
    return zh_abi_trap(&cx, "handle %u is dropped while it is lent out", i);
  zh_abi_handle h = t->h[i];
  t->h[i].rt = NULL;
  t->h[i].next_free = t->free_head;
  t->free_head = i;
  if (h.own)
    for (size_t r = 0; r < c->nrdefs; r++)
      if (c->rdefs[r].rt == h.rt && c->rdefs[r].dtor)
        c->rdefs[r].dtor(c->rdefs[r].env, h.rep);
  return NULL;
}

static zh_error *import_trampoline(zh_caller *caller, void *env, const zh_value *args,
                                   zh_value *results) {
  (void)caller;
  adapter *ad = env;
  zh_component *c = ad->comp;
  if (!c->inst)
    return zh_error_new(ZH_ERR_TRAP, "%s: called before instantiation finished (start function)",
                        ad->what);
  if (c->no_leave)
    return zh_error_new(ZH_ERR_TRAP,
                        "%s: called from the guest's cabi_realloc or post-return (may_leave)",
                        ad->what);
  if (!ad->func)
    return resource_drop(ad, args);
  const zh_wit_func *f = ad->func;
  zh_abi_cx cx;
  cx_init(&cx, c, ad->what);
  /* Parameters on the C stack for the usual small counts: no allocation on the fast path. */
  zh_val small[8], *vals = small;
  if (f->nparams > 8 && !(vals = calloc(f->nparams, sizeof *vals)))
    return oom();
  size_t nlifted = 0; /* parameters lifted so far: what must be dropped */
  zh_error *err = NULL;
  if (!ad->sig.params_indirect) {
    size_t k = 0;
    while (nlifted < f->nparams &&
           !(err = zh_abi_lift_flat(&cx, f->params[nlifted].type, args, ad->sig.nflat_params, &k,
                                    &vals[nlifted])))
      nlifted++;
  } else {
    uint32_t size, align, ptr = (uint32_t)args[0].of.i32;
    params_layout(f, &size, &align);
    err = zh_abi_check_range(&cx, "parameters", ptr, size, align);
    while (!err && nlifted < f->nparams &&
           !(err = zh_abi_load(&cx, f->params[nlifted].type, ptr + param_offset(f, nlifted),
                               &vals[nlifted])))
      nlifted++;
  }
  zh_val result = zh_val_bool(false);
  if (!err)
    err = ad->fn ? ad->fn(c, ad->env, vals, f->nparams, &result)
                 : zh_error_new(ZH_ERR_TRAP, "%s: no host implementation", ad->what);
  if (!err && f->result) {
    c->no_leave = true; /* storing the result may run its cabi_realloc */
    if (!ad->sig.results_indirect) {
      size_t k = 0;
      err = zh_abi_lower_flat(&cx, f->result, &result, results, &k);
    } else {
      err = zh_abi_store(&cx, f->result, &result, (uint32_t)args[ad->sig.nparams - 1].of.i32);
    }
    c->no_leave = false;
  }
  zh_val_drop(&result);
  drop_vals(vals, nlifted);
  if (vals != small)
    free(vals);
  free(cx.borrows);
  return err;
}

static bool same_type(const zh_functype *ft, const zh_valtype *p, uint32_t np, const zh_valtype *r,
                      uint32_t nr) {
  if (ft->nparams != np || ft->nresults != nr)
    return false;
  for (uint32_t i = 0; i < np; i++)
    if (ft->params[i] != p[i])
      return false;
  for (uint32_t i = 0; i < nr; i++)
    if (ft->results[i] != r[i])
      return false;
  return true;
}

/* The adapter for import `imp` if its module is WIT-derived; *mine says whether it is. */
static zh_error *make_adapter(zh_component *c, const zh_import_info *imp, bool *mine,
                              adapter **out) {
  *mine = false;
  *out = NULL;
  bool root = strcmp(imp->module, "$root") == 0;
  const zh_wit_world_item *it = NULL;
  if (!root) {
    it = find_item(c->world->imports, c->world->nimports, imp->module, "");
    if (!it || !it->iface)
      return NULL;
  }
  *mine = true;
  if (imp->kind != ZH_EXTERN_FUNC)
    return zh_error_new(ZH_ERR_UNLINKABLE, "import %s.%s: not a function", imp->module, imp->name);
  size_t wl = strlen("import #") + strlen(imp->module) + strlen(imp->name);
  adapter *ad = calloc(1, sizeof *ad + wl + 1);
  if (!ad)
    return oom();
  ad->comp = c;
  ad->what = (char *)(ad + 1);
  snprintf(ad->what, wl + 1, "import %s#%s", imp->module, imp->name);
  static const char drop_prefix[] = "[resource-drop]";
  zh_error *err = NULL;
  if (!root && strncmp(imp->name, drop_prefix, sizeof drop_prefix - 1) == 0) {
    ad->rt = iface_resource(it->iface, imp->name + sizeof drop_prefix - 1);
    static const zh_valtype i32 = ZH_I32;
    if (!ad->rt)
      err = zh_error_new(ZH_ERR_UNLINKABLE, "%s: no such resource", ad->what);
    else if (!same_type(&imp->func, &i32, 1, NULL, 0))
      err = zh_error_new(ZH_ERR_UNLINKABLE, "%s: wrong core type (expected (param i32))", ad->what);
  } else {
    ad->func = root ? world_func(c->world->imports, c->world->nimports, NULL, imp->name)
                    : iface_func(it->iface, imp->name);
    if (!ad->func) {
      err = zh_error_new(ZH_ERR_UNLINKABLE, "%s: the world declares no such function", ad->what);
    } else {
      zh_abi_signature(ad->func, true, &ad->sig);
      if (!same_type(&imp->func, ad->sig.params, ad->sig.nparams, ad->sig.results,
                     ad->sig.nresults))
        err = zh_error_new(ZH_ERR_UNLINKABLE, "%s: core type does not match the canonical ABI",
                           ad->what);
      for (size_t i = 0; i < c->ndefs && !err; i++)
        if (c->defs[i].func == ad->func) {
          ad->fn = c->defs[i].fn;
          ad->env = c->defs[i].env;
        }
      if (!err && !ad->fn)
        err = zh_error_new(ZH_ERR_UNLINKABLE, "%s: no host implementation defined", ad->what);
    }
  }
  if (err) {
    free(ad);
    return err;
  }
  *out = ad;
  return NULL;
}

zh_error *zh_component_instantiate(zh_component *c, const zh_extern *imports, size_t nimports) {
  if (c->inst)
    return zh_error_new(ZH_ERR_USAGE, "component already instantiated");
  size_t n = zh_module_import_count(c->module);
  if (imports && nimports != n)
    return zh_error_new(ZH_ERR_USAGE, "%zu imports given, the module has %zu", nimports, n);
  zh_extern *ext = calloc(n ? n : 1, sizeof *ext);
  adapter **ads = realloc(c->adapters, (n ? n : 1) * sizeof(adapter *));
  if (!ext || !ads) {
    free(ext);
    free(ads);
    return oom();
  }
  c->adapters = ads;
  zh_error *err = NULL;
  for (size_t i = 0; i < n && !err; i++) {
    zh_import_info imp;
    zh_module_import(c->module, i, &imp);
    bool mine;
    adapter *ad;
    if ((err = make_adapter(c, &imp, &mine, &ad)))
      break;
    if (!mine) {
      if (!imports)
        err = zh_error_new(ZH_ERR_UNLINKABLE, "import %s.%s is not part of world %s", imp.module,
                           imp.name, c->world->name);
      else
        ext[i] = imports[i];
      continue;
    }
    c->adapters[c->nadapters++] = ad;
    ext[i].kind = ZH_EXTERN_FUNC;
    ext[i].of.func = zh_func_new_host(c->store, &imp.func, import_trampoline, ad);
    if (!ext[i].of.func)
      err = oom();
  }
  if (!err) {
    zh_instance *inst;
    if (!(err = zh_instance_new(c->store, c->module, ext, n, &inst))) {
      c->mem = zh_instance_memory(inst, "memory");
      c->realloc = zh_instance_func(inst, "cabi_realloc");
      if (c->realloc) {
        zh_functype ft;
        zh_func_type(c->realloc, &ft);
        static const zh_valtype p[4] = {ZH_I32, ZH_I32, ZH_I32, ZH_I32}, r[1] = {ZH_I32};
        if (!same_type(&ft, p, 4, r, 1))
          err = zh_error_new(ZH_ERR_UNLINKABLE, "cabi_realloc has the wrong type");
      }
      if (!err)
        c->inst = inst;
    }
  }
  free(ext);
  return err;
}

/* ---- canon lift: the host calls the guest ---- */

/* Ends the borrows lent to the guest for one call (the guest may have dropped some). */
static void end_borrows(zh_component *c, zh_abi_cx *cx) {
  for (uint32_t k = 0; k < cx->nborrows; k++) {
    uint32_t i = cx->borrows[k];
    if (i < c->table.len && c->table.h[i].rt && !c->table.h[i].own) {
      c->table.h[i].rt = NULL;
      c->table.h[i].next_free = c->table.free_head;
      c->table.free_head = i;
    }
  }
  free(cx->borrows);
}

static zh_error *call_export(zh_component *c, zh_abi_cx *cx, const zh_wit_func *f, zh_func *core,
                             const char *name, const zh_val *args, zh_val *result) {
  zh_abi_sig sig;
  zh_abi_signature(f, false, &sig);
  zh_functype ft;
  zh_func_type(core, &ft);
  if (!same_type(&ft, sig.params, sig.nparams, sig.results, sig.nresults))
    return zh_abi_usage(cx, "core export does not have the canonical ABI type");
  zh_value core_args[ZH_ABI_MAX_FLAT_PARAMS], core_res[ZH_ABI_MAX_FLAT_RESULTS];
  zh_error *err = NULL;
  c->no_leave = true; /* lowering the arguments may run its cabi_realloc */
  if (!sig.params_indirect) {
    size_t k = 0;
    for (size_t i = 0; i < f->nparams && !err; i++)
      err = zh_abi_lower_flat(cx, f->params[i].type, &args[i], core_args, &k);
  } else {
    uint32_t size, align, ptr;
    params_layout(f, &size, &align);
    err = zh_abi_alloc(cx, align, size, &ptr);
    for (size_t i = 0; i < f->nparams && !err; i++)
      err = zh_abi_store(cx, f->params[i].type, &args[i], ptr + param_offset(f, i));
    core_args[0] = zh_i32((int32_t)ptr);
  }
  c->no_leave = false;
  if (err)
    return err;
  if ((err = zh_func_call(c->store, core, core_args, sig.nparams, core_res, sig.nresults))) {
    c->trapped = true; /* whatever ended the call, the guest stopped midway */
    return err;
  }
  if (f->result) {
    if (!sig.results_indirect) {
      size_t k = 0;
      err = zh_abi_lift_flat(cx, f->result, core_res, sig.nresults, &k, result);
    } else {
      err = zh_abi_load(cx, f->result, (uint32_t)core_res[0].of.i32, result);
    }
    if (err)
      return err;
  }
  /* Post-return lets the guest free what it returned; it sees the core results. */
  char *post = NULL;
  if (asprintf(&post, "cabi_post_%s", name) < 0) {
    zh_val_drop(result);
    return oom();
  }
  zh_func *pr = zh_instance_func(c->inst, post);
  if (pr) {
    zh_func_type(pr, &ft);
    if (!same_type(&ft, sig.results, sig.nresults, NULL, 0))
      err = zh_abi_usage(cx, "%s has the wrong type", post);
    else {
      c->no_leave = true;
      err = zh_func_call(c->store, pr, core_res, sig.nresults, NULL, 0);
      c->no_leave = false;
    }
  }
  free(post);
  if (err)
    zh_val_drop(result);
  return err;
}

static zh_error *call_named(zh_component *c, const zh_wit_func *f, const char *name,
                            const zh_val *args, size_t nargs, zh_val *result);

zh_error *zh_component_call(zh_component *c, const char *iface, const char *func,
                            const zh_val *args, size_t nargs, zh_val *result) {
  *result = zh_val_bool(false);
  if (!c->inst)
    return zh_error_new(ZH_ERR_USAGE, "component not instantiated");
  const zh_wit_func *f = world_func(c->world->exports, c->world->nexports, iface, func);
  if (!f)
    return zh_error_new(ZH_ERR_USAGE, "world %s exports no function %s%s%s", c->world->name,
                        iface ? iface : "", iface ? "#" : "", func);
  size_t nl = zh_abi_export_name_len(iface, f);
  char *name = malloc(nl + 1);
  if (!name)
    return oom();
  zh_abi_export_name(iface, f, name, nl + 1);
  zh_error *err = call_named(c, f, name, args, nargs, result);
  free(name);
  return err;
}

static zh_error *call_named(zh_component *c, const zh_wit_func *f, const char *name,
                            const zh_val *args, size_t nargs, zh_val *result) {
  if (c->trapped)
    return zh_error_new(ZH_ERR_TRAP, "%s: the instance has trapped before and cannot run", name);
  if (c->in_call)
    return zh_error_new(ZH_ERR_USAGE, "%s: the instance is already running (no reentrance)", name);
  if (nargs != f->nparams)
    return zh_error_new(ZH_ERR_USAGE, "%s: %zu arguments given, %zu expected", name, nargs,
                        f->nparams);
  zh_func *core = zh_instance_func(c->inst, name);
  if (!core)
    return zh_error_new(ZH_ERR_USAGE, "%s: the module does not export it", name);
  zh_abi_cx cx;
  cx_init(&cx, c, name);
  c->in_call = true;
  zh_error *err = call_export(c, &cx, f, core, name, args, result);
  c->in_call = false;
  end_borrows(c, &cx);
  /* A trap leaves the guest in an unknown state: it must not run again. */
  if (err && zh_error_status(err) == ZH_ERR_TRAP)
    c->trapped = true;
  return err;
}
