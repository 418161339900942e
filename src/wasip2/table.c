/* The function table of the WASI 0.2 host, the hosted WIT, and the binding of both to a
 * zh_component.
 *
 * Interfaces are matched by package and name with the patch version ignored: a world that
 * imports wasi:io/streams@0.2.3 gets the same functions as one importing @0.2.12. Before a
 * function is registered its type in the component's world is compared with the hosted
 * WIT's, so a guest that was built against different types is refused at link time instead
 * of being handed values of the wrong shape. */
#include "wasip2/wasip2_internal.h"
#include "wit/builtin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const wp2_table *const tables[] = {&wp2_cli_table,    &wp2_io_table,      &wp2_clocks_table,
                                          &wp2_random_table, &wp2_fs_table,      &wp2_sockets_table,
                                          &wp2_http_table,   &wp2_http_out_table};
#define NTABLES (sizeof tables / sizeof tables[0])

/* "wasi:io/streams@0.2.3" -> length of "wasi:io/streams" when the version is 0.2.x (or
 * absent); 0 when it names another major/minor version. */
static size_t base_len(const char *iface) {
  const char *at = strchr(iface, '@');
  if (!at)
    return strlen(iface);
  return strncmp(at + 1, "0.2.", 4) == 0 ? (size_t)(at - iface) : 0;
}

static bool same_iface(const char *mine, const char *theirs) {
  size_t n = base_len(theirs);
  return n && strlen(mine) == n && strncmp(mine, theirs, n) == 0;
}

const zh_wasip2_entry *zh_wasip2_lookup(const char *iface, const char *name) {
  for (size_t t = 0; t < NTABLES; t++)
    for (size_t i = 0; i < tables[t]->n; i++) {
      const zh_wasip2_entry *e = &tables[t]->entries[i];
      if (same_iface(e->iface, iface) && strcmp(e->name, name) == 0)
        return e;
    }
  return NULL;
}

const zh_wasip2_resource *zh_wasip2_lookup_resource(const char *iface, const char *name) {
  for (size_t t = 0; t < NTABLES; t++)
    for (size_t i = 0; i < tables[t]->nres; i++) {
      const zh_wasip2_resource *r = &tables[t]->resources[i];
      if (same_iface(r->iface, iface) && strcmp(r->name, name) == 0)
        return r;
    }
  return NULL;
}

/* One flat copy of every entry, built once per process and never changed after. */
static zh_wasip2_entry *all_entries;
static size_t all_count;
static pthread_once_t all_once = PTHREAD_ONCE_INIT;

static void build_all(void) {
  size_t total = 0;
  for (size_t t = 0; t < NTABLES; t++)
    total += tables[t]->n;
  zh_wasip2_entry *a = malloc(total * sizeof *a);
  if (!a)
    return;
  size_t k = 0;
  for (size_t t = 0; t < NTABLES; t++)
    for (size_t i = 0; i < tables[t]->n; i++)
      a[k++] = tables[t]->entries[i];
  all_entries = a;
  all_count = total;
}

const zh_wasip2_entry *zh_wasip2_entries(size_t *n) {
  pthread_once(&all_once, build_all);
  *n = all_count;
  return all_entries;
}

/* ---- the hosted WIT ---- */

static zh_wit_builtin hosted = ZH_WIT_BUILTIN_INIT("wasip2 (built-in WIT)", zh_wasip2_wit_text);

zh_error *zh_wasip2_wit(const zh_wit **out) { return zh_wit_builtin_get(&hosted, out); }

const zh_wit_interface *zh_wasip2_hosted_interface(const char *iface) {
  const zh_wit *wit;
  zh_error *err = zh_wasip2_wit(&wit);
  if (err) {
    zh_error_free(err);
    return NULL;
  }
  for (size_t p = 0; p < zh_wit_package_count(wit); p++) {
    const zh_wit_package *pkg = zh_wit_package_at(wit, p);
    for (size_t i = 0; i < pkg->ninterfaces; i++)
      if (pkg->interfaces[i]->qualified && base_len(pkg->interfaces[i]->qualified) &&
          base_len(iface) == base_len(pkg->interfaces[i]->qualified) &&
          strncmp(iface, pkg->interfaces[i]->qualified, base_len(iface)) == 0)
        return pkg->interfaces[i];
  }
  return NULL;
}

/* ---- type comparison ---- */

static bool same_name(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Resources are the same when their names and interfaces (any 0.2.x) are. */
static bool same_resource(const zh_wit_type *a, const zh_wit_type *b, void *env) {
  (void)env;
  if (!same_name(a->name, b->name))
    return false;
  if (a->interface && b->interface && a->interface->qualified && b->interface->qualified)
    return base_len(a->interface->qualified) == base_len(b->interface->qualified) &&
           strncmp(a->interface->qualified, b->interface->qualified,
                   base_len(a->interface->qualified)) == 0;
  return true;
}

static bool same_type(const zh_wit_type *a, const zh_wit_type *b) {
  return zh_wit_type_equal(a, b, same_resource, NULL);
}

static const char *type_name(const zh_wit_type *t) {
  if (!t)
    return "nothing";
  if (t->name)
    return t->name;
  return zh_wit_type_kind_name(zh_wit_type_unalias(t)->kind);
}

static zh_error *check_func(const char *iface, const zh_wit_func *theirs, const zh_wit_func *mine) {
  if (theirs->nparams != mine->nparams)
    return zh_error_new(ZH_ERR_UNLINKABLE,
                        "import %s#%s: %zu parameters, the host's WASI 0.2 has %zu", iface,
                        theirs->abi_name, theirs->nparams, mine->nparams);
  for (size_t i = 0; i < mine->nparams; i++)
    if (!same_type(theirs->params[i].type, mine->params[i].type))
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "import %s#%s: parameter %s is %s, the host's WASI 0.2 expects %s", iface,
                          theirs->abi_name, theirs->params[i].name,
                          type_name(theirs->params[i].type), type_name(mine->params[i].type));
  if (!same_type(theirs->result, mine->result))
    return zh_error_new(ZH_ERR_UNLINKABLE,
                        "import %s#%s: result is %s, the host's WASI 0.2 returns %s", iface,
                        theirs->abi_name, type_name(theirs->result), type_name(mine->result));
  return NULL;
}

/* ---- binding to a component ---- */

typedef struct wp2_binding {
  zh_wasip2_ctx *cx;
  zh_wasip2_fn fn;
  zh_wasip2_dtor dtor;
} wp2_binding;

typedef struct wp2_block {
  struct wp2_block *next;
  size_t n;
  wp2_binding b[];
} wp2_block;

void wp2_bindings_free(zh_wasip2_ctx *cx) {
  wp2_block *k = cx->bindings;
  while (k) {
    wp2_block *next = k->next;
    free(k);
    k = next;
  }
  cx->bindings = NULL;
}

static zh_error *call_fn(zh_component *comp, void *env, zh_val *args, size_t nargs,
                         zh_val *result) {
  (void)comp;
  wp2_binding *b = env;
  return b->fn(b->cx, args, nargs, result);
}

static void call_dtor(void *env, uint64_t rep) {
  wp2_binding *b = env;
  b->dtor(b->cx, rep);
}

static bool is_wasi_02(const char *qualified) {
  return qualified && strncmp(qualified, "wasi:", 5) == 0 && strchr(qualified, '@') &&
         base_len(qualified) != 0;
}

/* What a world imports from WASI 0.2, resolved and checked once: one item per function and
 * per resource destructor. Names point into the world, which outlives the plan. */
typedef struct plan_item {
  const char *iface, *name;
  zh_wasip2_fn fn;     /* NULL for a resource */
  zh_wasip2_dtor dtor; /* resources */
} plan_item;

struct zh_wasip2_plan {
  plan_item *items;
  size_t n, cap;
};

static bool plan_add(zh_wasip2_plan *p, plan_item it) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    plan_item *items = realloc(p->items, cap * sizeof *items);
    if (!items)
      return false;
    p->items = items;
    p->cap = cap;
  }
  p->items[p->n++] = it;
  return true;
}

static zh_error *plan_iface(zh_wasip2_plan *p, const zh_wit_interface *in) {
  const zh_wit_interface *mine = zh_wasip2_hosted_interface(in->qualified);
  if (!mine)
    return zh_error_new(ZH_ERR_UNLINKABLE, "import %s: not an interface of WASI 0.2",
                        in->qualified);
  zh_error *err = NULL;
  for (size_t f = 0; f < in->nfuncs && !err; f++) {
    const zh_wit_func *fn = in->funcs[f];
    const zh_wasip2_entry *e = zh_wasip2_lookup(in->qualified, fn->abi_name);
    const zh_wit_func *hf = zh_wit_interface_func(mine, fn->abi_name);
    if (!e || !hf)
      return zh_error_new(ZH_ERR_UNLINKABLE, "import %s#%s: the host does not implement it",
                          in->qualified, fn->abi_name);
    if ((err = check_func(in->qualified, fn, hf)))
      return err;
    if (!plan_add(p, (plan_item){in->qualified, fn->abi_name, e->fn, NULL}))
      return wp2_oom();
  }
  for (size_t t = 0; t < in->ntypes; t++) {
    const zh_wit_type *ty = in->types[t];
    if (ty->kind != ZH_WIT_RESOURCE)
      continue; /* `use`d resources are defined by their own interface */
    const zh_wasip2_resource *r = zh_wasip2_lookup_resource(in->qualified, ty->name);
    if (!plan_add(p, (plan_item){in->qualified, ty->name, NULL, r ? r->dtor : wp2_dtor}))
      return wp2_oom();
  }
  return NULL;
}

zh_error *zh_wasip2_plan_new(const zh_wit_world *w, zh_wasip2_plan **out) {
  *out = NULL;
  const zh_wit *wit;
  zh_error *err = zh_wasip2_wit(&wit);
  if (err)
    return err;
  zh_wasip2_plan *p = calloc(1, sizeof *p);
  if (!p)
    return wp2_oom();
  for (size_t i = 0; i < w->nimports && !err; i++) {
    const zh_wit_interface *in = w->imports[i].iface;
    if (w->imports[i].kind == ZH_WIT_ITEM_INTERFACE && in && is_wasi_02(in->qualified))
      err = plan_iface(p, in);
  }
  if (err) {
    zh_wasip2_plan_free(p);
    return err;
  }
  *out = p;
  return NULL;
}

void zh_wasip2_plan_free(zh_wasip2_plan *p) {
  if (!p)
    return;
  free(p->items);
  free(p);
}

zh_error *zh_wasip2_define_plan(zh_component *comp, zh_wasip2_ctx *cx, const zh_wasip2_plan *p) {
  zh_wasip2_set_store(cx, zh_component_store(comp));
  wp2_block *blk = calloc(1, sizeof *blk + (p->n ? p->n : 1) * sizeof(wp2_binding));
  if (!blk)
    return wp2_oom();
  blk->next = cx->bindings;
  cx->bindings = blk;
  zh_error *err = NULL;
  for (size_t i = 0; i < p->n && !err; i++) {
    const plan_item *it = &p->items[i];
    wp2_binding *b = &blk->b[blk->n++];
    *b = (wp2_binding){cx, it->fn, it->dtor};
    err = it->fn ? zh_component_define_import(comp, it->iface, it->name, call_fn, b)
                 : zh_component_define_resource(comp, it->iface, it->name, call_dtor, b);
  }
  return err;
}

zh_error *zh_wasip2_define_component(zh_component *comp, zh_wasip2_ctx *cx) {
  zh_wasip2_plan *p = NULL;
  zh_error *err = zh_wasip2_plan_new(zh_component_world(comp), &p);
  if (!err && p)
    err = zh_wasip2_define_plan(comp, cx, p);
  zh_wasip2_plan_free(p);
  return err;
}
