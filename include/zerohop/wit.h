/* zerohop WIT: parse and resolve WebAssembly Interface Type (WIT) packages.
 *
 * Model
 *   zh_wit            everything loaded: the root package and its dependencies, resolved.
 *   zh_wit_package    `ns:name@version`: interfaces and worlds.
 *   zh_wit_interface  named types and functions (resource functions included).
 *   zh_wit_world      imports and exports (interfaces, functions, types), `include`s and
 *                     implicit imports already elaborated.
 *   zh_wit_func       parameters and an optional result.
 *   zh_wit_type       one type; named types are shared by pointer.
 *
 * The model is immutable once built and owned by the zh_wit: every pointer it hands out
 * lives until zh_wit_free(). Errors are values (status ZH_ERR_INVALID for a bad document,
 * ZH_ERR_IO for the file system, ZH_ERR_RESOURCE for memory); messages of invalid documents
 * read "file:line:col: what is wrong". docs/WIT.md lists what is supported.
 */
#ifndef ZEROHOP_WIT_H
#define ZEROHOP_WIT_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zh_wit zh_wit;
typedef struct zh_wit_package zh_wit_package;
typedef struct zh_wit_interface zh_wit_interface;
typedef struct zh_wit_world zh_wit_world;
typedef struct zh_wit_func zh_wit_func;
typedef struct zh_wit_type zh_wit_type;

typedef enum zh_wit_type_kind {
  ZH_WIT_BOOL = 0,
  ZH_WIT_S8,
  ZH_WIT_S16,
  ZH_WIT_S32,
  ZH_WIT_S64,
  ZH_WIT_U8,
  ZH_WIT_U16,
  ZH_WIT_U32,
  ZH_WIT_U64,
  ZH_WIT_F32,
  ZH_WIT_F64,
  ZH_WIT_CHAR,
  ZH_WIT_STRING,
  ZH_WIT_LIST,     /* elem */
  ZH_WIT_OPTION,   /* elem */
  ZH_WIT_RESULT,   /* elem = ok type, err = error type; either may be NULL */
  ZH_WIT_TUPLE,    /* fields, unnamed */
  ZH_WIT_RECORD,   /* fields */
  ZH_WIT_VARIANT,  /* fields are the cases; a case without payload has type NULL */
  ZH_WIT_ENUM,     /* fields are the cases, all without type */
  ZH_WIT_FLAGS,    /* fields are the flags, all without type */
  ZH_WIT_RESOURCE, /* funcs: constructor, methods and static functions in source order */
  ZH_WIT_OWN,      /* elem: the resource (possibly through aliases) */
  ZH_WIT_BORROW,   /* elem: the resource (possibly through aliases) */
  ZH_WIT_FUTURE,   /* elem, may be NULL */
  ZH_WIT_STREAM,   /* elem, may be NULL */
  ZH_WIT_ALIAS,    /* `type a = T;` or a name brought in by `use`: elem is the target */
} zh_wit_type_kind;

/* A record field, variant/enum case, flag, tuple element (name NULL) or parameter. */
typedef struct zh_wit_field {
  const char *name;
  const zh_wit_type *type; /* NULL for enum cases, flags and payload-less variant cases */
} zh_wit_field;

struct zh_wit_type {
  zh_wit_type_kind kind;
  const char *name;                  /* named types; NULL for anonymous and primitive ones */
  const zh_wit_interface *interface; /* where a named type is defined, or NULL ... */
  const zh_wit_world *world;         /* ... in a world (world-level `type` or `use`) */
  const zh_wit_type *elem;           /* see the kinds */
  const zh_wit_type *err;            /* result only */
  size_t nfields;
  const zh_wit_field *fields;
  size_t nfuncs; /* resource only */
  const zh_wit_func *const *funcs;
  bool from_use; /* an ALIAS made by `use iface.{name}` */
  /* The library's own: the canonical ABI layout of a record or variant-like type, computed
   * on first use and kept (src/wit/abi.c); zero-initialise it with the rest. */
  uint64_t abi_layout;
};

typedef enum zh_wit_func_kind {
  ZH_WIT_FUNC_FREESTANDING = 0,
  ZH_WIT_FUNC_METHOD, /* first parameter is `self: borrow<R>` */
  ZH_WIT_FUNC_STATIC,
  ZH_WIT_FUNC_CONSTRUCTOR, /* result is own<R>, or the declared result<R, E> */
} zh_wit_func_kind;

struct zh_wit_func {
  const char *name;     /* as written; "constructor" for constructors */
  const char *abi_name; /* name, or "[method]r.name", "[static]r.name", "[constructor]r" */
  zh_wit_func_kind kind;
  const zh_wit_type *resource; /* the resource of a non-freestanding function */
  bool is_async;
  size_t nparams;
  const zh_wit_field *params;
  const zh_wit_type *result; /* NULL: no result */
};

struct zh_wit_interface {
  const char *name;      /* NULL for an inline `import x: interface { ... }` */
  const char *qualified; /* "ns:pkg/name@version" (no "@..." without version); NULL inline */
  const zh_wit_package *package;
  const zh_wit_world *world; /* the world of an inline interface */
  size_t ntypes;             /* named types, `use`d names included, in source order */
  const zh_wit_type *const *types;
  size_t nfuncs; /* every function, resource functions included, in source order */
  const zh_wit_func *const *funcs;
  size_t ndeps; /* interfaces whose types this one `use`s, each once */
  const zh_wit_interface *const *deps;
};

typedef enum zh_wit_item_kind {
  ZH_WIT_ITEM_INTERFACE = 0,
  ZH_WIT_ITEM_FUNC,
  ZH_WIT_ITEM_TYPE, /* imports only: world-level `use` and type definitions */
} zh_wit_item_kind;

typedef struct zh_wit_world_item {
  const char *name;    /* a plain name ("run") or an interface's qualified name */
  bool interface_name; /* name is iface->qualified: `import ns:pkg/iface;` */
  bool implicit;       /* imported only because a listed interface uses its types */
  zh_wit_item_kind kind;
  const zh_wit_interface *iface;
  const zh_wit_func *func;
  const zh_wit_type *type;
} zh_wit_world_item;

struct zh_wit_world {
  const char *name;
  const char *qualified;
  const zh_wit_package *package;
  size_t nimports;
  const zh_wit_world_item *imports;
  size_t nexports;
  const zh_wit_world_item *exports;
};

struct zh_wit_package {
  const char *name;    /* "ns:pkg@version", or "ns:pkg" */
  const char *ns;      /* "ns" */
  const char *pkg;     /* "pkg" */
  const char *version; /* "1.2.3-rc.1+build", or NULL */
  size_t ninterfaces;  /* named interfaces in source order (files sorted by name) */
  const zh_wit_interface *const *interfaces;
  size_t nworlds;
  const zh_wit_world *const *worlds;
};

/* Loads the package in `dir` (every *.wit file in it) and its dependencies in dir/deps/
 * (each *.wit file or subdirectory of *.wit files there is one package). */
zh_error *zh_wit_load_dir(const char *dir, zh_wit **out);

/* Parses one document; `name` is used in messages. The package of its `package ns:name;`
 * declaration is the root (without one, the last `package ns:name { ... }` block);
 * dependencies can be given inline as `package ns:dep { ... }` blocks. */
zh_error *zh_wit_parse_string(const char *name, const char *text, zh_wit **out);

void zh_wit_free(zh_wit *wit); /* accepts NULL */

const zh_wit_package *zh_wit_root(const zh_wit *wit);
/* Packages in dependency order: a package comes after those it uses; the root is last. */
size_t zh_wit_package_count(const zh_wit *wit);
const zh_wit_package *zh_wit_package_at(const zh_wit *wit, size_t i);
/* "ns:pkg@version", or "ns:pkg" (then the only package of that name, whatever its version). */
const zh_wit_package *zh_wit_find_package(const zh_wit *wit, const char *name);

const zh_wit_interface *zh_wit_find_interface(const zh_wit_package *pkg, const char *name);
const zh_wit_world *zh_wit_find_world(const zh_wit_package *pkg, const char *name);
/* By ABI name: the name of a freestanding function, "[method]r.get" and so on for
 * resource functions. */
const zh_wit_func *zh_wit_interface_func(const zh_wit_interface *iface, const char *name);
const zh_wit_type *zh_wit_interface_type(const zh_wit_interface *iface, const char *name);
const zh_wit_world_item *zh_wit_world_import(const zh_wit_world *world, const char *name);
const zh_wit_world_item *zh_wit_world_export(const zh_wit_world *world, const char *name);
/* A record field, variant case, enum case or flag by name; NULL if none. */
const zh_wit_field *zh_wit_type_field(const zh_wit_type *type, const char *name);

/* Follows ALIAS links to the defining type. */
const zh_wit_type *zh_wit_type_unalias(const zh_wit_type *type);

/* Decides whether two resource types are the same one. */
typedef bool (*zh_wit_resource_eq)(const zh_wit_type *a, const zh_wit_type *b, void *env);
/* Structural equality after aliases, as the component model compares value types: kinds,
 * element types and the names of fields, cases and flags count; the names of the types
 * themselves do not. Two NULLs (no type) are equal. Resources are equal when they are the
 * same object, or when `same_resource` (may be NULL) says so. Nesting past 100 levels is
 * unequal. */
bool zh_wit_type_equal(const zh_wit_type *a, const zh_wit_type *b, zh_wit_resource_eq same_resource,
                       void *env);
/* "u32", "record", ... */
const char *zh_wit_type_kind_name(zh_wit_type_kind kind);

#ifdef __cplusplus
}
#endif

#endif
