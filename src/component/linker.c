/* Host implementations of a component's imports (zerohop/cm.h, zh_cm_linker).
 *
 * The linker keeps host functions by (interface, ABI name) and host resource types by
 * (interface, name). At instantiation each top-level import of the component is matched:
 * a function import by its plain name, an instance import by its interface name, where a
 * definition of `ns:pkg/iface@V` satisfies an import of `ns:pkg/iface@W` when V and W are
 * semver-compatible (same major, or for 0.x the same minor; the highest such V wins).
 * Interfaces of compatible versions share one runtime type per resource name, so a handle
 * made through `wasi:io/streams@0.2.12` is the same type for an import of @0.2.10.
 *
 * Host function types come from a WIT model (zh_wit_func); they are compared structurally
 * with the component's types, resources by name (the host's are named by WIT). A mismatch
 * or a missing definition is ZH_ERR_UNLINKABLE naming the import and both types.
 */
#include "component/cb_internal.h"
#include "component/cm_runtime.h"

#include "wasm/error.h"
#include "wit/abi.h"
#include "zerohop/link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct host_func {
  char *iface; /* NULL: a top-level function import */
  char *name;
  const zh_wit_func *type;
  zh_cm_host_fn fn;
  zh_cm_core_fn core; /* preferred for UTF-8 callers, or NULL */
  void *env;
  bool reads_args; /* zh_cm_linker_define_func_reading */
} host_func;

typedef struct host_res {
  char *iface_base; /* "ns:pkg/iface" plus the compatible part of the version ("@0.2", "@1") */
  char *name;
  zh_wit_type *rt; /* the runtime resource type, shared by compatible versions */
  zh_cm_resource_dtor dtor;
  void *env;
} host_res;

struct zh_cm_linker {
  host_func *funcs;
  size_t nfuncs, funcs_cap;
  host_res *res;
  size_t nres, res_cap;
};

zh_error *zh_cm_linker_new(zh_cm_linker **out) {
  *out = calloc(1, sizeof **out);
  return *out ? NULL : zh_error_oom();
}

void zh_cm_linker_free(zh_cm_linker *l) {
  if (!l)
    return;
  for (size_t i = 0; i < l->nfuncs; i++) {
    free(l->funcs[i].iface);
    free(l->funcs[i].name);
  }
  for (size_t i = 0; i < l->nres; i++) {
    free(l->res[i].iface_base);
    free(l->res[i].name);
    free(l->res[i].rt);
  }
  free(l->funcs);
  free(l->res);
  free(l);
}

/* ---- versions ---- */

typedef struct semver {
  unsigned long major, minor, patch;
  bool pre; /* a pre-release: only compatible with itself */
} semver;

static bool parse_semver(const char *v, semver *out) {
  char *end;
  memset(out, 0, sizeof *out);
  out->major = strtoul(v, &end, 10);
  if (*end != '.')
    return false;
  out->minor = strtoul(end + 1, &end, 10);
  if (*end != '.')
    return false;
  out->patch = strtoul(end + 1, &end, 10);
  out->pre = *end == '-';
  return true;
}

/* Splits "ns:pkg/iface@1.2.3" at the '@': *base_len is the length before it. */
static const char *split_version(const char *name, size_t *base_len) {
  const char *at = strchr(name, '@');
  *base_len = at ? (size_t)(at - name) : strlen(name);
  return at ? at + 1 : NULL;
}

bool cm_versions_compatible(const char *a, const char *b) {
  if (!a || !b)
    return a == b;
  semver x, y;
  if (!parse_semver(a, &x) || !parse_semver(b, &y) || x.pre || y.pre)
    return strcmp(a, b) == 0;
  if (x.major != y.major)
    return false;
  return x.major != 0 || x.minor == y.minor;
}

bool cm_version_less(const char *a, const char *b) {
  semver x, y;
  if (!a || !b || !parse_semver(a, &x) || !parse_semver(b, &y))
    return false;
  if (x.major != y.major)
    return x.major < y.major;
  if (x.minor != y.minor)
    return x.minor < y.minor;
  return x.patch < y.patch;
}

/* Does a definition for `def` (an interface name) satisfy an import of `imp`? */
static bool iface_matches(const char *def, const char *imp) {
  size_t dl, il;
  const char *dv = split_version(def, &dl), *iv = split_version(imp, &il);
  return dl == il && strncmp(def, imp, dl) == 0 && cm_versions_compatible(dv, iv);
}

/* The key that compatible versions share: "ns:pkg/iface@MAJOR" or "@0.MINOR". */
static char *compat_key(const char *iface) {
  size_t bl;
  const char *v = split_version(iface, &bl);
  semver s;
  char *key = NULL;
  int n;
  if (v && parse_semver(v, &s) && !s.pre)
    n = s.major ? asprintf(&key, "%.*s@%lu", (int)bl, iface, s.major)
                : asprintf(&key, "%.*s@0.%lu", (int)bl, iface, s.minor);
  else
    n = asprintf(&key, "%s", iface);
  return n < 0 ? NULL : key;
}

/* ---- definitions ---- */

zh_error *zh_cm_linker_define_func(zh_cm_linker *l, const char *iface, const char *func,
                                   const zh_wit_func *type, zh_cm_host_fn fn, void *env) {
  if (!func || !type || !fn)
    return zh_error_new(ZH_ERR_USAGE, "zh_cm_linker_define_func: missing name, type or function");
  for (size_t i = 0; i < l->nfuncs; i++)
    if (strcmp(l->funcs[i].name, func) == 0 &&
        (iface ? l->funcs[i].iface && strcmp(l->funcs[i].iface, iface) == 0 : !l->funcs[i].iface))
      return zh_error_new(ZH_ERR_USAGE, "%s%s%s is defined twice", iface ? iface : "",
                          iface ? "#" : "", func);
  if (l->nfuncs == l->funcs_cap) {
    size_t cap = l->funcs_cap ? l->funcs_cap * 2 : 16;
    host_func *n = realloc(l->funcs, cap * sizeof *n);
    if (!n)
      return zh_error_oom();
    l->funcs = n;
    l->funcs_cap = cap;
  }
  host_func *h = &l->funcs[l->nfuncs];
  h->iface = iface ? strdup(iface) : NULL;
  h->name = strdup(func);
  if ((iface && !h->iface) || !h->name) {
    free(h->iface);
    free(h->name);
    return zh_error_oom();
  }
  h->type = type;
  h->fn = fn;
  h->core = NULL;
  h->env = env;
  h->reads_args = false;
  l->nfuncs++;
  return NULL;
}

zh_error *zh_cm_linker_define_func_core(zh_cm_linker *l, const char *iface, const char *func,
                                        const zh_wit_func *type, zh_cm_host_fn fn,
                                        zh_cm_core_fn core, void *env) {
  zh_error *err = zh_cm_linker_define_func(l, iface, func, type, fn, env);
  if (!err)
    l->funcs[l->nfuncs - 1].core = core;
  return err;
}

zh_error *zh_cm_linker_define_func_reading(zh_cm_linker *l, const char *iface, const char *func,
                                           const zh_wit_func *type, zh_cm_host_fn fn, void *env) {
  zh_error *err = zh_cm_linker_define_func(l, iface, func, type, fn, env);
  if (!err)
    l->funcs[l->nfuncs - 1].reads_args = true;
  return err;
}

zh_error *zh_cm_linker_define_resource(zh_cm_linker *l, const char *iface, const char *resource,
                                       zh_cm_resource_dtor dtor, void *env) {
  if (!iface || !resource)
    return zh_error_new(ZH_ERR_USAGE, "zh_cm_linker_define_resource: missing name");
  char *key = compat_key(iface);
  if (!key)
    return zh_error_oom();
  for (size_t i = 0; i < l->nres; i++)
    if (strcmp(l->res[i].iface_base, key) == 0 && strcmp(l->res[i].name, resource) == 0) {
      l->res[i].dtor = dtor; /* compatible versions share the type: the last dtor wins */
      l->res[i].env = env;
      free(key);
      return NULL;
    }
  if (l->nres == l->res_cap) {
    size_t cap = l->res_cap ? l->res_cap * 2 : 8;
    host_res *n = realloc(l->res, cap * sizeof *n);
    if (!n) {
      free(key);
      return zh_error_oom();
    }
    l->res = n;
    l->res_cap = cap;
  }
  host_res *r = &l->res[l->nres];
  r->iface_base = key;
  r->name = strdup(resource);
  r->rt = calloc(1, sizeof *r->rt);
  if (!r->name || !r->rt) {
    free(r->name);
    free(r->rt);
    free(key);
    return zh_error_oom();
  }
  r->rt->kind = ZH_WIT_RESOURCE;
  r->rt->name = r->name;
  r->dtor = dtor;
  r->env = env;
  l->nres++;
  return NULL;
}

static host_res *find_res(zh_cm_linker *l, const char *iface, const char *name) {
  char *key = compat_key(iface);
  host_res *found = NULL;
  for (size_t i = 0; key && i < l->nres && !found; i++)
    if (strcmp(l->res[i].iface_base, key) == 0 && strcmp(l->res[i].name, name) == 0)
      found = &l->res[i];
  free(key);
  return found;
}

/* The best definition of `func` for an import from `iface` (NULL: top level). */
static const host_func *find_func(const zh_cm_linker *l, const char *iface, const char *func) {
  const host_func *best = NULL;
  for (size_t i = 0; i < l->nfuncs; i++) {
    const host_func *h = &l->funcs[i];
    if (strcmp(h->name, func) != 0)
      continue;
    if (!iface ? h->iface != NULL : !h->iface || !iface_matches(h->iface, iface))
      continue;
    size_t bl;
    if (!best ||
        (iface && cm_version_less(split_version(best->iface, &bl), split_version(h->iface, &bl))))
      best = h;
  }
  return best;
}

/* ---- type matching: structural, resources by name ---- */

/* The host's resource types are the linker's, the guest's its own: they match by name (the
 * interface was matched already). */
static bool same_resource_name(const zh_wit_type *a, const zh_wit_type *b, void *env) {
  (void)env;
  return a->name && b->name && strcmp(a->name, b->name) == 0;
}

static bool host_val_eq(const zh_wit_type *a, const zh_wit_type *b) {
  return zh_wit_type_equal(a, b, same_resource_name, NULL);
}

static bool host_func_eq(const zh_wit_func *a, const zh_wit_func *b) {
  if (a->nparams != b->nparams || (a->result == NULL) != (b->result == NULL))
    return false;
  for (size_t i = 0; i < a->nparams; i++)
    if (strcmp(a->params[i].name, b->params[i].name) != 0 ||
        !host_val_eq(a->params[i].type, b->params[i].type))
      return false;
  return host_val_eq(a->result, b->result);
}

static void func_text(const zh_wit_func *f, wit_arena *a, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "func(");
  for (size_t i = 0; i < f->nparams && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s: %s", i ? ", " : "", f->params[i].name,
                          cb_val_text(a, f->params[i].type));
  if (n < cap)
    n += (size_t)snprintf(buf + n, cap - n, ")");
  if (f->result && n < cap)
    snprintf(buf + n, cap - n, " -> %s", cb_val_text(a, f->result));
}

static zh_error *mismatch(wit_arena *a, const char *import, const char *func,
                          const zh_wit_func *want, const zh_wit_func *have) {
  char w[600], h[600];
  func_text(want, a, w, sizeof w);
  func_text(have, a, h, sizeof h);
  return zh_error_new(ZH_ERR_UNLINKABLE,
                      "import `%s%s%s` has the wrong type: the component imports %s, the host "
                      "defines %s",
                      import, func ? "#" : "", func ? func : "", w, h);
}

/* ---- building the import arguments ---- */

static zh_error *host_item_func(zh_cm_instance *top, const host_func *h, const zh_wit_func *want,
                                rt_item *out) {
  zh_cm_func *f = cm_host_func(top, h->type, h->fn, h->core, h->env, h->name);
  if (!f)
    return zh_error_oom();
  f->reads_args = h->reads_args;
  (void)want;
  out->sort = CB_FUNC;
  out->u.func = f;
  return NULL;
}

/* Resource types the imports bound so far: the type an import's type declares (static) and
 * the host's runtime type. An instance type that re-exports another import's resource
 * (`(export "error" (type (eq ...)))`, as a WIT `use` becomes) finds it here. */
typedef struct bound_pair {
  const zh_wit_type *from, *to;
} bound_pair;

typedef struct bound_res {
  bound_pair *p;
  size_t n, cap;
} bound_res;

static bool bound_add(bound_res *b, const zh_wit_type *from, const zh_wit_type *to) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 16;
    bound_pair *p = realloc(b->p, cap * sizeof *p);
    if (!p)
      return false;
    b->p = p;
    b->cap = cap;
  }
  b->p[b->n++] = (bound_pair){from, to};
  return true;
}

static const zh_wit_type *bound_find(const bound_res *b, const zh_wit_type *from) {
  from = zh_wit_type_unalias(from);
  for (size_t i = 0; i < b->n; i++)
    if (b->p[i].from == from)
      return b->p[i].to;
  return NULL;
}

static zh_error *import_instance(zh_cm_linker *l, zh_cm_instance *top, const char *iface,
                                 const cb_type *it, bound_res *bound, rt_item *out) {
  wit_arena *a = cm_arena(top);
  rt_inst *in = wit_alloc(a, sizeof *in);
  rt_named *ex = wit_alloc(a, (it->nexports + 1) * sizeof *ex);
  if (!in || !ex)
    return zh_error_oom();
  /* An instance that exports only plain types (`fermyon:spin/redis-types`, which
   * inbound-redis uses) needs nothing from the host: any host satisfies it. */
  bool any = true;
  for (size_t i = 0; i < it->nexports && any; i++)
    any = it->exports[i].ext.sort == CB_TYPE &&
          !(it->exports[i].ext.type && it->exports[i].ext.type->kind == CB_T_RESOURCE);
  for (size_t i = 0; i < l->nfuncs && !any; i++)
    any = l->funcs[i].iface && iface_matches(l->funcs[i].iface, iface);
  for (size_t i = 0; i < l->nres && !any; i++) {
    char *key = compat_key(iface);
    any = key && strcmp(l->res[i].iface_base, key) == 0;
    free(key);
  }
  /* An interface of value types only (Spin's http-types, say) needs nothing from the host:
   * its types are structural, so an instance with just the type names satisfies it. */
  bool types_only = true;
  for (size_t i = 0; i < it->nexports && types_only; i++)
    types_only = it->exports[i].ext.sort == CB_TYPE && it->exports[i].ext.type &&
                 it->exports[i].ext.type->kind != CB_T_RESOURCE;
  if (!any && !types_only)
    return zh_error_new(ZH_ERR_UNLINKABLE,
                        "missing import `%s`: the host defines no instance of "
                        "a compatible version",
                        iface);
  size_t n = 0;
  for (size_t i = 0; i < it->nexports; i++) {
    const cb_named *x = &it->exports[i];
    zh_error *err = NULL;
    if (x->ext.sort == CB_TYPE && x->ext.type && x->ext.type->kind == CB_T_RESOURCE) {
      const zh_wit_type *same = bound_find(bound, x->ext.type->val);
      if (same) { /* another import's resource, re-exported */
        ex[n].name = x->name;
        ex[n].item = (rt_item){.sort = CB_TYPE, .u.res = same};
        n++;
        continue;
      }
      host_res *r = find_res(l, iface, x->name);
      if (!r)
        return zh_error_new(ZH_ERR_UNLINKABLE, "missing import `%s`: no resource `%s`", iface,
                            x->name);
      const zh_wit_type *rt = cm_host_resource(top, r->rt, r->dtor, r->env);
      if (!rt || !bound_add(bound, zh_wit_type_unalias(x->ext.type->val), rt))
        return zh_error_oom();
      ex[n].name = x->name;
      ex[n].item = (rt_item){.sort = CB_TYPE, .u.res = rt};
      n++;
    } else if (x->ext.sort == CB_FUNC && x->ext.type) {
      const host_func *h = find_func(l, iface, x->name);
      if (!h)
        return zh_error_new(ZH_ERR_UNLINKABLE,
                            "missing import `%s#%s`: the host defines no such function", iface,
                            x->name);
      if (!host_func_eq(x->ext.type->func, h->type))
        return mismatch(a, iface, x->name, x->ext.type->func, h->type);
      ex[n].name = x->name;
      if ((err = host_item_func(top, h, x->ext.type->func, &ex[n].item)))
        return err;
      n++;
    } else if (x->ext.sort == CB_TYPE) {
      /* A value type (record, enum, ...): structural, nothing to bind, but the component
       * may alias it from the instance. */
      ex[n].name = x->name;
      ex[n].item = (rt_item){.sort = CB_TYPE, .u.res = NULL};
      n++;
    } else {
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "import `%s`: export `%s` is a %s, which a host cannot provide", iface,
                          x->name, cb_sort_name(x->ext.sort));
    }
  }
  in->n = n;
  in->exports = ex;
  out->sort = CB_INSTANCE;
  out->u.inst = in;
  return NULL;
}

zh_error *zh_cm_linker_instantiate(zh_cm_linker *l, const zh_cm_component *comp, zh_store *store,
                                   void *data, zh_cm_instance **out) {
  *out = NULL;
  zh_cm_instance *top;
  zh_error *err = cm_instance_begin(comp, store, data, &top);
  if (err)
    return err;
  const cb_component *root = comp->root;
  size_t nimports = 0;
  for (size_t i = 0; i < root->ndefs; i++)
    nimports += root->defs[i].kind == CB_DEF_IMPORT;
  rt_named *args = wit_alloc(cm_arena(top), (nimports + 1) * sizeof *args);
  bound_res bound = {NULL, 0, 0};
  if (!args) {
    zh_cm_instance_free(top);
    return zh_error_oom();
  }
  size_t n = 0;
  for (size_t i = 0; i < root->ndefs && !err; i++) {
    const cb_def *d = &root->defs[i];
    if (d->kind != CB_DEF_IMPORT)
      continue;
    args[n].name = d->name;
    if (d->sort == CB_FUNC) {
      const host_func *h = l ? find_func(l, NULL, d->name) : NULL;
      if (!h)
        err = zh_error_new(ZH_ERR_UNLINKABLE,
                           "missing import `%s`: the host defines no such "
                           "function",
                           d->name);
      else if (!host_func_eq(d->type->func, h->type))
        err = mismatch(cm_arena(top), d->name, NULL, d->type->func, h->type);
      else
        err = host_item_func(top, h, d->type->func, &args[n].item);
    } else if (d->sort == CB_INSTANCE) {
      err = l ? import_instance(l, top, d->name, d->type, &bound, &args[n].item)
              : zh_error_new(ZH_ERR_UNLINKABLE, "missing import `%s`", d->name);
    } else if (d->sort == CB_TYPE) {
      err = zh_error_new(ZH_ERR_UNLINKABLE,
                         "import `%s`: top-level type imports cannot come from the host", d->name);
    } else {
      err = zh_error_new(ZH_ERR_UNLINKABLE, "import `%s`: a %s cannot come from the host", d->name,
                         cb_sort_name(d->sort));
    }
    if (err) /* one line naming where the import is, as decoding errors do */
      err = zh_error_prefix(err, "component section 10 (import) at offset 0x%zx", d->offset);
    n++;
  }
  free(bound.p);
  if (!err)
    err = cm_instance_finish(top, args, n);
  if (err) {
    zh_cm_instance_free(top);
    return zh_error_prefix(err, "%s: instantiation", comp->file);
  }
  *out = top;
  return NULL;
}
