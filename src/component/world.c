/* A component's imports and exports as a WIT world (zh_cm_component_world): what
 * `zerohop component wit` prints. Also the world a core module carries in its
 * `component-type[:...]` custom section (zh_cm_core_world), built the same way from the
 * component type that the section exports. Built once when the component loads, in its arena, from
 * the root component type: function imports/exports become world functions, instance ones
 * interfaces (named like `ns:pkg/iface@version` when the name is an interface name), type
 * ones world types. Functions named `[method]r.f`, `[static]r.f` and `[constructor]r` keep
 * their ABI name and get their WIT name and kind. */
#include "component/cb_internal.h"
#include "wasm/error.h"
#include "wit/abi.h"

#include <stdio.h>
#include <stdlib.h>
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

/* ---- the world of a core module (wit-bindgen, `wit-component embed`) ---- */

const cb_named *cb_encoded_world(const zh_cm_component *comp) {
  const cb_type *t = comp->root->type;
  for (size_t i = 0; i < t->nexports; i++) {
    const cb_ext *e = &t->exports[i].ext;
    if (e->sort != CB_TYPE || !e->type || e->type->kind != CB_T_COMPONENT || e->type->nexports != 1)
      continue;
    const cb_named *w = &e->type->exports[0];
    if (w->ext.sort == CB_COMPONENT && w->ext.type && strchr(w->name, '/'))
      return w;
  }
  return NULL;
}

bool cb_is_component_type_section(const char *name) {
  return strcmp(name, "component-type") == 0 || strncmp(name, "component-type:", 15) == 0;
}

zh_error *cb_decode_world_section(zh_engine *engine, const uint8_t *payload, size_t len,
                                  const char *module_name, const char *section,
                                  zh_cm_component **out, const cb_named **world) {
  *out = NULL;
  *world = NULL;
  /* The payload's name in messages, at its full length. */
  const char *base = module_name ? module_name : "module";
  size_t llen = strlen(base) + strlen(section) + sizeof ": custom section ";
  char *label = malloc(llen);
  if (!label)
    return zh_error_oom();
  snprintf(label, llen, "%s: custom section %s", base, section);
  for (char *c = label; *c; c++) /* the section's name is the binary's: keep it one line */
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
  zh_cm_component *comp = NULL;
  zh_error *err = zh_cm_component_new(engine, payload, len, label, &comp);
  const cb_named *w = err ? NULL : cb_encoded_world(comp);
  if (!err && !w)
    err = zh_error_new(ZH_ERR_INVALID, "%s: no world encoded in it", label);
  free(label);
  if (err) {
    zh_cm_component_free(comp);
    return err;
  }
  *out = comp;
  *world = w;
  return NULL;
}

zh_error *zh_cm_core_world(zh_engine *engine, const zh_module *module, const char *name,
                           zh_cm_component **out) {
  *out = NULL;
  if (!engine || !module)
    return zh_error_new(ZH_ERR_USAGE, "zh_cm_core_world: NULL argument");
  /* The first such section: wit-component merges several, which a module linked from
   * several bindings may carry; zerohop reads one. */
  const char *sec = NULL;
  const uint8_t *data = NULL;
  size_t len = 0;
  for (size_t i = 0, n = zh_module_custom_count(module); i < n && !sec; i++) {
    const char *cname;
    zh_module_custom(module, i, &cname, &data, &len);
    if (cname && cb_is_component_type_section(cname))
      sec = cname;
  }
  if (!sec)
    return zh_error_new(ZH_ERR_INVALID,
                        "%s: a core module without a component-type custom section (no world)",
                        name ? name : "module");
  zh_cm_component *comp;
  const cb_named *w;
  zh_error *err = cb_decode_world_section(engine, data, len, name, sec, &comp, &w);
  if (err)
    return err;
  /* The world keeps its qualified name ("ns:pkg/world@v"); its items are the world's. */
  const cb_type *ct = w ? w->ext.type : NULL; /* set on success: cb_encoded_world checks it */
  zh_wit_world *world = ct ? wit_alloc(&comp->arena, sizeof *world) : NULL;
  if (!world ||
      !make_items(&comp->arena, ct->imports, ct->nimports, &world->imports, &world->nimports) ||
      !make_items(&comp->arena, ct->exports, ct->nexports, &world->exports, &world->nexports)) {
    zh_cm_component_free(comp);
    return zh_error_oom();
  }
  world->name = w->name;
  /* A decoded resource type knows no interface; WIT's identity of a resource (links compare
   * interface and name) needs the one that defines it. wit-component lists interfaces in
   * dependency order, so the first that exports a resource defines it; later ones use it.
   * The types are this decoding's own, so setting the field touches nobody else's. */
  const zh_wit_world_item *lists[2] = {world->imports, world->exports};
  size_t counts[2] = {world->nimports, world->nexports};
  for (int l = 0; l < 2; l++)
    for (size_t i = 0; i < counts[l]; i++) {
      const zh_wit_interface *in = lists[l][i].iface;
      for (size_t k = 0; in && lists[l][i].kind == ZH_WIT_ITEM_INTERFACE && k < in->ntypes; k++) {
        zh_wit_type *rt = (zh_wit_type *)zh_abi_unalias(in->types[k]);
        if (rt && rt->kind == ZH_WIT_RESOURCE && !rt->interface)
          rt->interface = in;
      }
    }
  comp->world = world;
  *out = comp;
  return NULL;
}
