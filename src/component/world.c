/* A component's imports and exports as a WIT world (zh_cm_component_world): what
 * `zerohop component wit` prints. Built once when the component loads, in its arena, from the
 * root component type: function imports/exports become world functions, instance ones
 * interfaces (named like `ns:pkg/iface@version` when the name is an interface name), type
 * ones world types. Functions named `[method]r.f`, `[static]r.f` and `[constructor]r` keep
 * their ABI name and get their WIT name and kind. */
#include "component/cb_internal.h"

#include <string.h>

static zh_wit_func *named_func(wit_arena *a, const zh_wit_func *t, const char *abi_name) {
  zh_wit_func *f = wit_alloc(a, sizeof *f);
  if (!f)
    return NULL;
  *f = *t;
  f->abi_name = abi_name;
  f->name = abi_name;
  cb_name_info info;
  if (cb_name_check(abi_name, true, &info) == NULL) {
    switch (info.kind) {
    case CB_NAME_CONSTRUCTOR:
      f->kind = ZH_WIT_FUNC_CONSTRUCTOR;
      f->name = "constructor";
      break;
    case CB_NAME_METHOD:
    case CB_NAME_STATIC:
      f->kind = info.kind == CB_NAME_METHOD ? ZH_WIT_FUNC_METHOD : ZH_WIT_FUNC_STATIC;
      f->name = wit_strdup(a, info.func);
      break;
    default:
      break;
    }
  }
  return f->name ? f : NULL;
}

/* A type under its export/import name: alias nodes already carry the name. */
static const zh_wit_type *named_type(wit_arena *a, const cb_type *t, const char *name) {
  if (!t || (t->kind != CB_T_VAL && t->kind != CB_T_RESOURCE))
    return NULL;
  if (t->val->kind == ZH_WIT_ALIAS && t->val->name && strcmp(t->val->name, name) == 0)
    return t->val;
  zh_wit_type *al = wit_alloc(a, sizeof *al);
  if (!al)
    return NULL;
  al->kind = ZH_WIT_ALIAS;
  al->name = name;
  al->elem = t->val;
  return al;
}

static const zh_wit_interface *make_iface(wit_arena *a, const char *name, const cb_type *t) {
  zh_wit_interface *in = wit_alloc(a, sizeof *in);
  const zh_wit_type **types = wit_alloc(a, (t->nexports + 1) * sizeof(const zh_wit_type *));
  const zh_wit_func **funcs = wit_alloc(a, (t->nexports + 1) * sizeof(const zh_wit_func *));
  if (!in || !types || !funcs)
    return NULL;
  cb_name_info info;
  bool qualified = cb_name_check(name, true, &info) == NULL && info.kind == CB_NAME_INTERFACE;
  if (qualified) {
    const char *slash = strrchr(name, '/'), *at = strchr(name, '@');
    size_t n = at && at > slash ? (size_t)(at - slash - 1) : strlen(slash + 1);
    in->name = wit_strndup(a, slash + 1, n);
    in->qualified = name;
  } else {
    in->name = name;
  }
  for (size_t i = 0; i < t->nexports; i++) {
    const cb_named *x = &t->exports[i];
    if (x->ext.sort == CB_TYPE) {
      const zh_wit_type *nt = named_type(a, x->ext.type, x->name);
      if (nt)
        types[in->ntypes++] = nt;
    } else if (x->ext.sort == CB_FUNC && x->ext.type) {
      const zh_wit_func *f = named_func(a, x->ext.type->func, x->name);
      if (!f)
        return NULL;
      funcs[in->nfuncs++] = f;
    }
  }
  in->types = types;
  in->funcs = funcs;
  return in->name ? in : NULL;
}

static bool make_items(wit_arena *a, const cb_named *v, size_t n, const zh_wit_world_item **out,
                       size_t *nout) {
  zh_wit_world_item *items = wit_alloc(a, (n + 1) * sizeof *items);
  if (!items)
    return false;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    zh_wit_world_item *it = &items[k];
    it->name = v[i].name;
    const cb_ext *e = &v[i].ext;
    if (e->sort == CB_FUNC && e->type) {
      it->kind = ZH_WIT_ITEM_FUNC;
      if (!(it->func = named_func(a, e->type->func, v[i].name)))
        return false;
    } else if (e->sort == CB_INSTANCE && e->type) {
      it->kind = ZH_WIT_ITEM_INTERFACE;
      if (!(it->iface = make_iface(a, v[i].name, e->type)))
        return false;
      it->interface_name = it->iface->qualified != NULL;
    } else if (e->sort == CB_TYPE) {
      it->kind = ZH_WIT_ITEM_TYPE;
      if (!(it->type = named_type(a, e->type, v[i].name)))
        continue;
    } else {
      continue; /* core modules, components, values: nothing WIT can say */
    }
    k++;
  }
  *out = items;
  *nout = k;
  return true;
}

bool cb_make_world(zh_cm_component *c) {
  zh_wit_world *w = wit_alloc(&c->arena, sizeof *w);
  if (!w)
    return false;
  const cb_type *t = c->root->type;
  w->name = c->root->name ? c->root->name : "root";
  if (!make_items(&c->arena, t->imports, t->nimports, &w->imports, &w->nimports) ||
      !make_items(&c->arena, t->exports, t->nexports, &w->exports, &w->nexports))
    return false;
  c->world = w;
  return true;
}

const zh_wit_world *zh_cm_component_world(const zh_cm_component *c) { return c->world; }
