/* The decoded form of a module, shared by the decoder, the validator, the compiler and
 * instantiation. Everything points into `bytes`, the module's own copy of the binary. */
#ifndef ZH_WASM_MODULE_H
#define ZH_WASM_MODULE_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zh_code; /* compiled function body, see compile.h */

typedef struct zh_name {
  const uint8_t *ptr; /* not NUL-terminated, UTF-8 validated by the decoder */
  uint32_t len;
} zh_name;

typedef struct zh_type {
  uint32_t nparams;
  uint32_t nresults;
  uint8_t *types; /* nparams + nresults zh_valtype codes, params first */
  uint32_t id;    /* engine-wide canonical id: equal ids <=> equal types */
  /* The same codes widened to zh_valtype, for zh_functype in the public API. */
  zh_valtype *valtypes;
} zh_type;

/* A constant expression as WebAssembly 2.0 allows: one instruction then `end`. */
typedef enum zh_const_kind {
  ZH_CONST_VALUE,      /* i32/i64/f32/f64.const: bits */
  ZH_CONST_GLOBAL_GET, /* index */
  ZH_CONST_REF_NULL,   /* type in `type` */
  ZH_CONST_REF_FUNC,   /* index */
} zh_const_kind;

typedef struct zh_const_expr {
  zh_const_kind kind;
  uint8_t type; /* zh_valtype the expression yields (for VALUE/REF_NULL; set by decoder) */
  uint64_t bits;
  uint32_t index;
  uint64_t bits_hi; /* v128.const: the high 64 bits (`bits` holds the low ones) */
} zh_const_expr;

typedef struct zh_tabletype {
  uint8_t elem; /* ZH_FUNCREF or ZH_EXTERNREF */
  zh_limits limits;
} zh_tabletype;

typedef struct zh_globaltype {
  uint8_t type;
  bool mutable_;
} zh_globaltype;

typedef struct zh_import {
  zh_name module;
  zh_name name;
  char *module_cstr; /* NUL-terminated copies for the public API */
  char *name_cstr;
  zh_extern_kind kind;
  union {
    uint32_t type_index; /* func */
    zh_tabletype table;
    zh_limits memory;
    zh_globaltype global;
  } desc;
} zh_import;

typedef struct zh_export {
  zh_name name;
  char *name_cstr;
  zh_extern_kind kind;
  uint32_t index;
} zh_export;

typedef struct zh_global_def {
  zh_globaltype type;
  zh_const_expr init;
} zh_global_def;

typedef enum zh_segment_mode {
  ZH_SEG_ACTIVE,
  ZH_SEG_PASSIVE,
  ZH_SEG_DECLARATIVE,
} zh_segment_mode;

typedef struct zh_elem_segment {
  zh_segment_mode mode;
  uint8_t type; /* ZH_FUNCREF or ZH_EXTERNREF */
  uint32_t table;
  zh_const_expr offset;
  uint32_t count;
  zh_const_expr *items; /* REF_FUNC, REF_NULL or GLOBAL_GET */
} zh_elem_segment;

typedef struct zh_data_segment {
  zh_segment_mode mode; /* ACTIVE or PASSIVE */
  uint32_t memory;
  zh_const_expr offset;
  const uint8_t *bytes;
  uint32_t len;
} zh_data_segment;

typedef struct zh_func_body {
  const uint8_t *code; /* first instruction, after the locals declarations */
  const uint8_t *end;  /* one past the final `end` opcode */
  uint32_t offset;     /* file offset of `code`, for error messages */
  uint32_t nlocals;    /* declared locals, excluding params */
  uint8_t *local_types;
} zh_func_body;

typedef struct zh_custom {
  zh_name name;
  char *name_cstr;
  const uint8_t *data;
  uint32_t len;
} zh_custom;

struct zh_module {
  zh_engine *engine;
  char *name;     /* for messages; may be NULL */
  uint8_t *bytes; /* the module's copy, or the caller's bytes (bytes_borrowed): read only */
  size_t len;
  bool bytes_borrowed; /* zh_module_new_view: not freed with the module */

  uint32_t ntypes;
  zh_type *types;

  uint32_t nimports;
  zh_import *imports;

  /* Index spaces: imported entries first, then the module's own definitions. */
  uint32_t nfuncs, nfunc_imports;
  uint32_t *func_types; /* type index of every function, imported ones first */
  uint32_t ntables, ntable_imports;
  zh_tabletype *tables;
  uint32_t nmems, nmem_imports;
  zh_limits *mems;
  uint32_t nglobals, nglobal_imports;
  zh_globaltype *global_types; /* all globals, imported first */
  zh_global_def *globals;      /* only defined ones: globals[i - nglobal_imports] */

  uint32_t nexports;
  zh_export *exports;

  bool has_start;
  uint32_t start;

  uint32_t nelems;
  zh_elem_segment *elems;

  bool has_data_count;
  uint32_t data_count;
  uint32_t ndatas;
  zh_data_segment *datas;

  uint32_t nbodies; /* == nfuncs - nfunc_imports */
  zh_func_body *bodies;

  uint32_t ncustoms;
  zh_custom *customs;

  /* From the "name" custom section when present: function names by index (NULL if absent). */
  char **func_names;

  /* Functions referenced by ref.func outside function bodies (exports, elems, globals):
   * validation only allows ref.func on these. One bit per function. */
  uint8_t *declared_funcs;

  struct zh_code **code;            /* code objects of the bodies, nbodies entries (compile.h) */
  struct zh_code *code_block;       /* their storage, one allocation */
  struct zh_code_locks *code_locks; /* compile.c: serialise first calls of one body */
};

/* decode.c: parses the binary into `m` (which must be zeroed, with bytes/len set).
 * On failure returns a ZH_ERR_MALFORMED error naming section and offset. Checks
 * everything the binary format requires, including section order, sizes, LEB128
 * encodings, UTF-8 names, function/code count agreement and data count agreement. */
zh_error *zh_decode(zh_module *m);

/* validate.c: validates a decoded module per the WebAssembly 2.0 rules (ZH_ERR_INVALID),
 * including every function body. */
zh_error *zh_validate(const zh_module *m);

/* module.c: frees everything zh_decode allocated (and compiled code). */
void zh_module_release(zh_module *m);

static inline const zh_type *zh_func_type_of(const zh_module *m, uint32_t func_index) {
  return &m->types[m->func_types[func_index]];
}

#endif
