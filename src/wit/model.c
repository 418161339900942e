/* Lookups over a finished WIT model, and its release. Lookups scan linearly: they serve
 * bindings and tests, not hot paths, and keep the model free of hidden indexes. */
#include "wit/wit_internal.h"

#include <stdlib.h>
#include <string.h>

void zh_wit_free(zh_wit *wit) {
  if (!wit)
    return;
  wit_arena_free(&wit->arena);
  free(wit);
}

const zh_wit_package *zh_wit_root(const zh_wit *wit) { return wit ? wit->root : NULL; }

size_t zh_wit_package_count(const zh_wit *wit) { return wit ? wit->npackages : 0; }

const zh_wit_package *zh_wit_package_at(const zh_wit *wit, size_t i) {
  return wit && i < wit->npackages ? wit->packages[i] : NULL;
}

const zh_wit_package *zh_wit_find_package(const zh_wit *wit, const char *name) {
  if (!wit || !name)
    return NULL;
  const zh_wit_package *only = NULL;
  size_t matches = 0;
  for (size_t i = 0; i < wit->npackages; i++) {
    const zh_wit_package *p = wit->packages[i];
    if (strcmp(p->name, name) == 0)
      return p;
    size_t nl = strlen(p->ns);
    if (strncmp(name, p->ns, nl) == 0 && name[nl] == ':' && strcmp(name + nl + 1, p->pkg) == 0) {
      only = p;
      matches++;
    }
  }
  return matches == 1 ? only : NULL;
}

const zh_wit_interface *zh_wit_find_interface(const zh_wit_package *pkg, const char *name) {
  for (size_t i = 0; pkg && name && i < pkg->ninterfaces; i++)
    if (strcmp(pkg->interfaces[i]->name, name) == 0)
      return pkg->interfaces[i];
  return NULL;
}

const zh_wit_world *zh_wit_find_world(const zh_wit_package *pkg, const char *name) {
  for (size_t i = 0; pkg && name && i < pkg->nworlds; i++)
    if (strcmp(pkg->worlds[i]->name, name) == 0)
      return pkg->worlds[i];
  return NULL;
}

const zh_wit_func *zh_wit_interface_func(const zh_wit_interface *iface, const char *name) {
  for (size_t i = 0; iface && name && i < iface->nfuncs; i++)
    if (strcmp(iface->funcs[i]->abi_name, name) == 0)
      return iface->funcs[i];
  return NULL;
}

const zh_wit_type *zh_wit_interface_type(const zh_wit_interface *iface, const char *name) {
  for (size_t i = 0; iface && name && i < iface->ntypes; i++)
    if (strcmp(iface->types[i]->name, name) == 0)
      return iface->types[i];
  return NULL;
}

static const zh_wit_world_item *find_item(const zh_wit_world_item *items, size_t n,
                                          const char *name) {
  for (size_t i = 0; name && i < n; i++)
    if (strcmp(items[i].name, name) == 0)
      return &items[i];
  return NULL;
}

const zh_wit_world_item *zh_wit_world_import(const zh_wit_world *world, const char *name) {
  return world ? find_item(world->imports, world->nimports, name) : NULL;
}

const zh_wit_world_item *zh_wit_world_export(const zh_wit_world *world, const char *name) {
  return world ? find_item(world->exports, world->nexports, name) : NULL;
}

const zh_wit_field *zh_wit_type_field(const zh_wit_type *type, const char *name) {
  if (!type || !name || type->kind == ZH_WIT_TUPLE)
    return NULL;
  for (size_t i = 0; i < type->nfields; i++)
    if (type->fields[i].name && strcmp(type->fields[i].name, name) == 0)
      return &type->fields[i];
  return NULL;
}

const zh_wit_type *zh_wit_type_unalias(const zh_wit_type *type) {
  /* Alias chains are acyclic and bounded by the resolver; the bound here is a backstop. */
  for (int i = 0; type && type->kind == ZH_WIT_ALIAS && i <= WIT_MAX_CHAIN * 2; i++)
    type = type->elem;
  return type;
}

static bool type_equal(const zh_wit_type *a, const zh_wit_type *b, zh_wit_resource_eq same_res,
                       void *env, int depth) {
  a = zh_wit_type_unalias(a);
  b = zh_wit_type_unalias(b);
  if (a == b)
    return true;
  if (!a || !b || a->kind != b->kind || depth > WIT_MAX_TYPE_DEPTH)
    return false;
  switch (a->kind) {
  case ZH_WIT_RESOURCE:
    return same_res && same_res(a, b, env);
  case ZH_WIT_LIST:
  case ZH_WIT_OPTION:
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW:
  case ZH_WIT_FUTURE:
  case ZH_WIT_STREAM:
    return type_equal(a->elem, b->elem, same_res, env, depth + 1);
  case ZH_WIT_RESULT:
    return type_equal(a->elem, b->elem, same_res, env, depth + 1) &&
           type_equal(a->err, b->err, same_res, env, depth + 1);
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_FLAGS:
    if (a->nfields != b->nfields)
      return false;
    for (size_t i = 0; i < a->nfields; i++) {
      const zh_wit_field *fa = &a->fields[i], *fb = &b->fields[i];
      if ((fa->name == NULL) != (fb->name == NULL) || (fa->name && strcmp(fa->name, fb->name) != 0))
        return false;
      if (!type_equal(fa->type, fb->type, same_res, env, depth + 1))
        return false;
    }
    return true;
  default:
    return true; /* primitives of the same kind */
  }
}

bool zh_wit_type_equal(const zh_wit_type *a, const zh_wit_type *b, zh_wit_resource_eq same_res,
                       void *env) {
  return type_equal(a, b, same_res, env, 0);
}

const char *zh_wit_type_kind_name(zh_wit_type_kind kind) {
  static const char *const names[] = {
      [ZH_WIT_BOOL] = "bool",         [ZH_WIT_S8] = "s8",         [ZH_WIT_S16] = "s16",
      [ZH_WIT_S32] = "s32",           [ZH_WIT_S64] = "s64",       [ZH_WIT_U8] = "u8",
      [ZH_WIT_U16] = "u16",           [ZH_WIT_U32] = "u32",       [ZH_WIT_U64] = "u64",
      [ZH_WIT_F32] = "f32",           [ZH_WIT_F64] = "f64",       [ZH_WIT_CHAR] = "char",
      [ZH_WIT_STRING] = "string",     [ZH_WIT_LIST] = "list",     [ZH_WIT_OPTION] = "option",
      [ZH_WIT_RESULT] = "result",     [ZH_WIT_TUPLE] = "tuple",   [ZH_WIT_RECORD] = "record",
      [ZH_WIT_VARIANT] = "variant",   [ZH_WIT_ENUM] = "enum",     [ZH_WIT_FLAGS] = "flags",
      [ZH_WIT_RESOURCE] = "resource", [ZH_WIT_OWN] = "own",       [ZH_WIT_BORROW] = "borrow",
      [ZH_WIT_FUTURE] = "future",     [ZH_WIT_STREAM] = "stream", [ZH_WIT_ALIAS] = "alias",
  };
  return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}
