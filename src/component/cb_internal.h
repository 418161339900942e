/* Component binaries (layer 1, version 0x0d): the decoded and validated form.
 *
 *   parse.c     bytes -> definitions, validated as they are read (index spaces grow one
 *               definition at a time, as the spec defines them)
 *   types.c     value, function, instance and component types; equality, subtyping and
 *               resource substitution
 *   names.c     import/export and label name grammar (kebab-case, interfaces, semver)
 *   component.c the public entry points of zerohop/cm.h
 *
 * One type model: component-level value types are zh_wit_type objects and function types
 * zh_wit_func (zerohop/wit.h), allocated in the component's arena, so the canonical ABI code
 * of src/wit serves binaries and WIT text alike. A resource type is a zh_wit_type of kind
 * ZH_WIT_RESOURCE and is identified by its address: two resource types are equal iff they
 * are the same object. Every other type compares structurally.
 *
 * Trust: nothing in the binary is trusted; every index is checked against its index space
 * before use, every count against the bytes left, and nesting against CB_MAX_DEPTH.
 */
#ifndef ZH_CB_INTERNAL_H
#define ZH_CB_INTERNAL_H

#include "wasm/reader.h"
#include "wit/wit_internal.h"
#include "zerohop/cm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nested components, component/instance types and value types recurse in the parser and in
 * type comparison. Real components nest 3-4 levels (a wasi adapter inside a component inside
 * a composition); 100 is far beyond that and keeps the C stack use to a few hundred KiB even
 * with the parser's frames, well inside a thread's default 8 MiB. */
#define CB_MAX_DEPTH 100
/* The spec's 32-flag limit. */
#define CB_MAX_FLAGS 32
/* Component and core instances one instantiation may create. A component that instantiates
 * its nested component twice, which does the same, doubles per level: without a cap a small
 * binary could ask for 2^100 instances. Real compositions create a few dozen. */
#define CB_MAX_INSTANCES 10000
/* Effective size (nodes, counting shared subtypes each time they are used) of one value
 * type. Types may share subtypes, so a few hundred bytes can describe a type of 2^100 nodes
 * that every walk over it (comparison, substitution, flattening) would take forever on. Real
 * interface types have tens to hundreds of nodes. */
#define CB_MAX_TYPE_SIZE 100000

typedef enum cb_sort {
  CB_CORE_FUNC = 0,
  CB_CORE_TABLE,
  CB_CORE_MEMORY,
  CB_CORE_GLOBAL,
  CB_CORE_TYPE,
  CB_CORE_MODULE,
  CB_CORE_INSTANCE,
  CB_FUNC,
  CB_VALUE,
  CB_TYPE,
  CB_COMPONENT,
  CB_INSTANCE,
  CB_NSORTS
} cb_sort;

const char *cb_sort_name(cb_sort s);

/* ---- core types ---- */

typedef struct cb_corefunc {
  uint32_t nparams, nresults;
  zh_valtype *params, *results;
} cb_corefunc;

/* A core extern type: what a core import wants or a core export is. */
typedef struct cb_coreext {
  zh_extern_kind kind;
  const cb_corefunc *func; /* FUNC */
  zh_valtype type;         /* TABLE: element type; GLOBAL: value type */
  zh_limits limits;        /* TABLE, MEMORY */
  bool mut;                /* GLOBAL */
} cb_coreext;

typedef struct cb_corenamed {
  const char *module; /* imports only */
  const char *name;
  cb_coreext ext;
} cb_corenamed;

/* A core module type (or the type of a decoded module), or a core instance type (exports). */
typedef struct cb_coremod {
  size_t nimports;
  cb_corenamed *imports;
  size_t nexports;
  cb_corenamed *exports;
} cb_coremod;

/* An entry of the core type index space. */
typedef struct cb_coretype {
  bool is_module;
  cb_corefunc func;
  cb_coremod mod;
} cb_coretype;

/* ---- component types ---- */

typedef enum cb_tkind {
  CB_T_VAL = 0,  /* val */
  CB_T_RESOURCE, /* val: a ZH_WIT_RESOURCE type */
  CB_T_FUNC,     /* func */
  CB_T_COMPONENT,
  CB_T_INSTANCE,
} cb_tkind;

typedef struct cb_type cb_type;

/* An extern descriptor: the type of an import, an export or an instantiation argument. */
typedef struct cb_ext {
  cb_sort sort;        /* CB_CORE_MODULE, CB_FUNC, CB_VALUE, CB_TYPE, CB_COMPONENT, CB_INSTANCE */
  const cb_type *type; /* FUNC, TYPE, COMPONENT, INSTANCE */
  const zh_wit_type *val;   /* VALUE */
  const cb_coremod *module; /* CORE_MODULE */
} cb_ext;

typedef struct cb_named {
  const char *name;
  cb_ext ext;
} cb_named;

/* Resources a component or instance type introduces (imports with `sub resource`, exports
 * with `sub resource`): the abstract types that instantiation replaces. */
typedef struct cb_reslist {
  size_t n;
  const zh_wit_type **items;
} cb_reslist;

struct cb_type {
  cb_tkind kind;
  const zh_wit_type *val;  /* VAL, RESOURCE */
  const zh_wit_func *func; /* FUNC */
  size_t nimports;         /* COMPONENT */
  cb_named *imports;
  size_t nexports; /* COMPONENT, INSTANCE */
  cb_named *exports;
  cb_reslist imported_res; /* COMPONENT: resources its imports introduce */
  cb_reslist exported_res; /* COMPONENT, INSTANCE: fresh resources its exports introduce */
  cb_reslist named;        /* COMPONENT, INSTANCE: types its declarations name */
};

/* ---- definitions, in order, for instantiation ---- */

typedef enum cb_canon_kind {
  CB_CANON_LIFT,
  CB_CANON_LOWER,
  CB_CANON_RESOURCE_NEW,
  CB_CANON_RESOURCE_DROP,
  CB_CANON_RESOURCE_REP,
} cb_canon_kind;

typedef enum cb_strenc { CB_UTF8 = 0, CB_UTF16, CB_LATIN1_UTF16 } cb_strenc;

typedef struct cb_opts {
  cb_strenc enc;
  bool has_memory, has_realloc, has_post_return;
  uint32_t memory, realloc, post_return; /* core indices */
} cb_opts;

typedef struct cb_sortidx {
  cb_sort sort;
  uint32_t idx;
} cb_sortidx;

typedef struct cb_arg {
  const char *name;
  cb_sortidx item;
  const cb_type *type; /* sort type: the type passed (resources get their runtime identity) */
} cb_arg;

typedef enum cb_def_kind {
  CB_DEF_CORE_MODULE,      /* index: the module (component->modules[]) */
  CB_DEF_CORE_INSTANTIATE, /* index: core module; args: instances */
  CB_DEF_CORE_INLINE,      /* args: core sortidx exports */
  CB_DEF_CORE_TYPE,        /* no runtime effect */
  CB_DEF_COMPONENT,        /* index: nested component (component->children[]) */
  CB_DEF_INSTANTIATE,      /* index: component; args */
  CB_DEF_INLINE_INSTANCE,  /* args: exports */
  CB_DEF_ALIAS_EXPORT,     /* sort, index: instance, name */
  CB_DEF_ALIAS_CORE_EXPORT,
  CB_DEF_ALIAS_OUTER, /* sort, count, index */
  CB_DEF_TYPE,        /* a resource type: type; index: destructor core func + 1, or 0 */
  CB_DEF_CANON,
  CB_DEF_START,
  CB_DEF_IMPORT,
  CB_DEF_EXPORT,
} cb_def_kind;

typedef struct cb_def {
  cb_def_kind kind;
  cb_sort sort;   /* aliases, exports, imports: the sort defined */
  uint32_t index; /* see kinds */
  uint32_t count; /* outer alias */
  const char *name;
  size_t nargs;
  cb_arg *args;
  cb_canon_kind canon;
  cb_opts opts;
  /* lift/lower: the func type; resource.*, TYPE: the resource; import, export, export alias:
   * the item's type (types and instances); instantiate: the instance's type */
  const cb_type *type;
  uint32_t nstart_args;
  uint32_t *start_args;
  uint32_t nstart_results;
  size_t offset; /* import: where it is in the binary, for link errors */
} cb_def;

typedef struct cb_component cb_component;

struct cb_component {
  cb_component *parent; /* lexically enclosing component, NULL at the top */
  size_t ndefs, defs_cap;
  cb_def *defs;
  size_t nmodules, modules_cap;
  zh_module **modules; /* compiled core modules (freed with the top component) */
  size_t nchildren, children_cap;
  cb_component **children;
  cb_type *type;    /* COMPONENT: its imports and exports */
  const char *name; /* from the component-name section, or NULL */
  /* Core instance names from the component-name section (for backtraces), by index; an
   * entry, or the whole array, may be NULL. */
  size_t ncore_inst_names;
  const char **core_inst_names;
};

struct zh_cm_component {
  zh_engine *engine;
  wit_arena arena;
  char *file;
  cb_component *root;
  size_t nmodules_all;
  zh_module **modules_all; /* every compiled module, for freeing */
  size_t modules_cap;
  const zh_wit_world *world; /* the imports and exports as WIT (world.c) */
};

/* world.c: builds c->world from the root component's type. */
bool cb_make_world(zh_cm_component *c);
/* world.c: a core module's world. The section names it is in ("component-type" or
 * "component-type:..."); the world inside a decoded section (the one type export whose
 * component type exports one component under an interface-style name), NULL if none; and
 * the decoding of a section's payload into *out with *world that world (errors name the
 * module and the section). */
bool cb_is_component_type_section(const char *name);
const cb_named *cb_encoded_world(const zh_cm_component *comp);
zh_error *cb_decode_world_section(zh_engine *engine, const uint8_t *payload, size_t len,
                                  const char *module_name, const char *section,
                                  zh_cm_component **out, const cb_named **world);

/* parse.c */
zh_error *cb_parse(zh_cm_component *c, const uint8_t *bytes, size_t len);

/* types.c */
extern const zh_wit_type cb_error_type; /* placeholder that never compares equal */
bool cb_val_eq(const zh_wit_type *a, const zh_wit_type *b);
bool cb_func_eq(const zh_wit_func *a, const zh_wit_func *b);
/* A mapping from abstract resources to the ones that replace them. */
typedef struct cb_subst {
  size_t n, cap;
  const zh_wit_type **from, **to;
} cb_subst;
bool cb_subst_add(wit_arena *a, cb_subst *s, const zh_wit_type *from, const zh_wit_type *to);
const zh_wit_type *cb_subst_val(wit_arena *a, const cb_subst *s, const zh_wit_type *t, int depth);
const zh_wit_func *cb_subst_func(wit_arena *a, const cb_subst *s, const zh_wit_func *f);
const cb_type *cb_subst_type(wit_arena *a, const cb_subst *s, const cb_type *t, int depth);
cb_ext cb_subst_ext(wit_arena *a, const cb_subst *s, cb_ext e, int depth);
/* Is `a` a subtype of `b` (a may be used where b is expected)? On false, *why says what
 * differs (static text or arena text). */
bool cb_ext_sub(wit_arena *ar, const cb_ext *a, const cb_ext *b, const char **why, int depth);
bool cb_coremod_sub(const cb_coremod *a, const cb_coremod *b, const char **why);
bool cb_coreext_sub(const cb_coreext *a, const cb_coreext *b);
bool cb_val_has_borrow(const zh_wit_type *t, int depth);
/* Writes a type in WIT-like syntax into an arena string (for messages). */
const char *cb_val_text(wit_arena *a, const zh_wit_type *t);

/* names.c */
bool cb_label_valid(const char *s);
/* Kinds of import/export names. */
typedef enum cb_name_kind {
  CB_NAME_PLAIN,
  CB_NAME_CONSTRUCTOR,
  CB_NAME_METHOD,
  CB_NAME_STATIC,
  CB_NAME_INTERFACE,
  CB_NAME_DEP, /* url=, integrity=, locked-dep=, unlocked-dep=, relative-url= */
  CB_NAME_ASYNC,
} cb_name_kind;
typedef struct cb_name_info {
  cb_name_kind kind;
  char resource[256]; /* the resource label of annotated names */
  char func[256];     /* method/static function label */
} cb_name_info;
/* Checks an import (import=true) or export name; fills *info. Returns NULL or a reason. */
const char *cb_name_check(const char *name, bool import, cb_name_info *info);
/* Strong uniqueness of names in one scope: equal ignoring case and, for annotated names,
 * the annotation ("[method]a.b" vs "a.b"? no: "[constructor]a" vs "a"). Returns true when
 * `a` and `b` conflict. */
bool cb_names_conflict(const char *a, const char *b);

#endif
