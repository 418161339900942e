/* The canonical ABI (component-model design/mvp/CanonicalABI.md) for the wasm32 build target:
 * layout, flattening, core signatures and names, and lifting/lowering between zh_val and a
 * guest's linear memory or flat core values. Internal to the library. */
#ifndef ZH_WIT_ABI_H
#define ZH_WIT_ABI_H

#include "zerohop/engine.h"
#include "zerohop/val.h"
#include "zerohop/wit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZH_ABI_MAX_FLAT_PARAMS 16
#define ZH_ABI_MAX_FLAT_RESULTS 1
/* Spec limits: a string's bytes and a list's bytes must stay below these. */
#define ZH_ABI_MAX_STRING_BYTES 0x7fffffffu

/* Follows aliases to the defining type. Inline: the lift and lower of every value call it
 * at each level, and most types are no alias. */
const zh_wit_type *zh_abi_unalias_chain(const zh_wit_type *t);
static inline const zh_wit_type *zh_abi_unalias(const zh_wit_type *t) {
  return t && t->kind == ZH_WIT_ALIAS ? zh_abi_unalias_chain(t) : t;
}
/* The kind after despecialization: tuple -> record, enum/option/result -> variant. Inline:
 * layouts and copies ask it at every level of every value. */
static inline zh_wit_type_kind zh_abi_despecialize(const zh_wit_type *t) {
  switch (t->kind) {
  case ZH_WIT_TUPLE:
    return ZH_WIT_RECORD;
  case ZH_WIT_ENUM:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT:
    return ZH_WIT_VARIANT;
  default:
    return t->kind;
  }
}
/* Number of cases of a variant-like type (variant, enum, option 2, result 2). */
size_t zh_abi_case_count(const zh_wit_type *t);
/* The payload type of case i, or NULL. */
const zh_wit_type *zh_abi_case_type(const zh_wit_type *t, size_t i);
/* Bytes of the discriminant for n cases: 1, 2 or 4. */
uint32_t zh_abi_disc_size(size_t ncases);
/* Number of i32 words of a flags type (legacy layout, any number of flags). */
uint32_t zh_abi_flags_words(size_t nflags);

uint32_t zh_abi_align(const zh_wit_type *t);
uint32_t zh_abi_size(const zh_wit_type *t);
/* Offset of the payload of a variant-like type. */
uint32_t zh_abi_payload_offset(const zh_wit_type *t);

/* Flattens t into out[*n..]: returns false once more than `cap` values would be needed
 * (then *n is unspecified). */
bool zh_abi_flatten(const zh_wit_type *t, zh_valtype *out, size_t cap, size_t *n);
/* How many flat values t takes, SIZE_MAX beyond ZH_ABI_MAX_FLAT_PARAMS (kept with the
 * layout for records and variant-like types). */
size_t zh_abi_flat_count(const zh_wit_type *t);

/* The core signature of a WIT function. `lower` is the import side (canon lower: results
 * past the limit go through an extra pointer parameter); otherwise the export side (canon
 * lift: returned through a pointer). params_indirect/results_indirect say which happened. */
typedef struct zh_abi_sig {
  zh_valtype params[ZH_ABI_MAX_FLAT_PARAMS + 1];
  zh_valtype results[ZH_ABI_MAX_FLAT_RESULTS];
  uint32_t nparams, nresults;
  bool params_indirect, results_indirect;
  uint32_t nflat_params; /* params when flat (nparams without the return pointer) */
} zh_abi_sig;
void zh_abi_signature(const zh_wit_func *f, bool lower, zh_abi_sig *sig);

/* Core export name of a function: "iface#func" (iface qualified, or NULL for world-level
 * functions: just the function's ABI name). Writes at most `cap` bytes; returns false if
 * truncated. The post-return function is "cabi_post_" + that name. */
bool zh_abi_export_name(const char *iface, const zh_wit_func *f, char *buf, size_t cap);
/* Bytes of that name, without the NUL: callers size their buffer with it, so no name is ever
 * cut short. */
size_t zh_abi_export_name_len(const char *iface, const zh_wit_func *f);
/* Core import module of an interface: its qualified name, or "$root" for world-level. */
const char *zh_abi_import_module(const char *iface);

/* ---- lifting and lowering ---- */

/* Resource handles of one guest instance. The adapter owns it (component.c). */
typedef struct zh_abi_handle {
  const zh_wit_type *rt; /* the resource type; NULL for a free slot */
  uint64_t rep;
  bool own;
  uint32_t lends; /* borrows of this handle outstanding in a call */
  uint32_t next_free;
} zh_abi_handle;

typedef struct zh_abi_table {
  zh_abi_handle *h; /* index 0 is never used: handle 0 is invalid */
  uint32_t len, cap, free_head;
} zh_abi_table;

/* String encodings of the canonical ABI's `string-encoding` option. */
typedef enum zh_abi_string_encoding {
  ZH_ABI_UTF8 = 0,
  ZH_ABI_UTF16,        /* UTF-16LE, length in code units, 2-aligned */
  ZH_ABI_LATIN1_UTF16, /* Latin-1, or UTF-16 when the length has bit 31 set; 2-aligned */
} zh_abi_string_encoding;
#define ZH_ABI_UTF16_TAG 0x80000000u

/* A borrow handed to a guest for the duration of one call (dropped at call end). */
typedef struct zh_abi_cx {
  zh_store *store;
  zh_memory *mem;      /* NULL if the guest exports no memory */
  zh_func *realloc;    /* NULL if the guest exports no cabi_realloc */
  zh_abi_table *table; /* the guest's handles */
  const char *what;    /* the function, for messages */
  uint32_t *borrows;   /* handles created for borrows during this call, released at end */
  uint32_t nborrows, borrows_cap;
  zh_abi_string_encoding enc; /* how the guest's strings are encoded (zeroed: UTF-8) */
  /* Component binaries (src/component) only; zeroed, they change nothing:
   * - a borrow of a resource type the guest itself implements arrives as its rep, not as a
   *   handle (CanonicalABI.md, lower_borrow);
   * - lifting a borrow lends the caller's handle for the call (`lent`, undone by the caller),
   *   so the caller cannot move or drop it meanwhile. */
  const zh_wit_type *const *self_types;
  size_t nself_types;
  bool track_lends;
  uint32_t *lent; /* NULL, lent_few, or malloc'd once more are lent */
  uint32_t nlent, lent_cap;
  uint32_t lent_few[4]; /* a call lends one or two: no malloc for them */
  /* When set, lifting puts strings, lists of numbers and case payloads here while they fit
   * (the heap otherwise); such values are released with zh_abi_lent_drop, never
   * zh_val_drop, and must not outlive the buffer. */
  uint8_t *lend_buf;
  uint32_t lend_len, lend_cap;
} zh_abi_cx;

/* Traps with "WHAT: message". */
zh_error *zh_abi_trap(const zh_abi_cx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
zh_error *zh_abi_usage(const zh_abi_cx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Loads a value of type t at ptr in guest memory (lift). */
zh_error *zh_abi_load(zh_abi_cx *cx, const zh_wit_type *t, uint32_t ptr, zh_val *out);
/* zh_val_drop for a value lifted with cx->lend_buf: what lies in the buffer is not freed. */
void zh_abi_lent_drop(const zh_abi_cx *cx, zh_val *v);
/* Lifts from flat core values vals[*i..] (types as the values carry them). */
zh_error *zh_abi_lift_flat(zh_abi_cx *cx, const zh_wit_type *t, const zh_value *vals, size_t n,
                           size_t *i, zh_val *out);
/* A flat parameter's lift, planned once per function type: handles, strings and lists of
 * numbers (the common parameters of host calls) skip the walk over the type at each call;
 * any other type takes zh_abi_lift_flat. */
typedef enum {
  ZH_ABI_LIFT_ANY = 0,
  ZH_ABI_LIFT_OWN,
  ZH_ABI_LIFT_BORROW,
  ZH_ABI_LIFT_STRING,
  ZH_ABI_LIFT_LIST_RAW,
  ZH_ABI_LIFT_CASE, /* an option or result */
} zh_abi_lift_op;
typedef struct zh_abi_lift_plan {
  zh_abi_lift_op op;
  zh_wit_type_kind elem; /* LIST_RAW: the number kind */
  uint32_t es, ea;       /* LIST_RAW: its size and alignment */
  const zh_wit_type *t;  /* the parameter's type */
  const zh_wit_type *rt; /* OWN, BORROW: the resource type, unaliased */
  /* CASE: the flat values it takes, and case i's payload: its type (NULL: none) and, for a
   * handle, its resource type and whether it is an own */
  uint32_t nflat;
  const zh_wit_type *case_t[2];
  const zh_wit_type *case_rt[2];
  bool case_own[2];
} zh_abi_lift_plan;
void zh_abi_lift_plan_of(const zh_wit_type *t, zh_abi_lift_plan *out);
/* zh_abi_lift_flat by a plan. */
zh_error *zh_abi_lift_planned(zh_abi_cx *cx, const zh_abi_lift_plan *p, const zh_value *vals,
                              size_t n, size_t *i, zh_val *out);
/* A host call's result, planned once per function type for its store or flat lowering: an
 * own handle, or the case of a result or option, is written without the walk over the type
 * (a payload other than an own handle is stored the general way); anything else, or a value
 * of another shape (which the general path reports), takes zh_abi_store / zh_abi_lower_flat. */
typedef struct zh_abi_result_plan {
  bool planned;
  const zh_wit_type *t;     /* unaliased */
  uint32_t payload_offset;  /* result, option */
  const zh_wit_type *ct[2]; /* result, option: case i's payload type (unaliased), or NULL */
  const zh_wit_type *rt[2]; /* own: [0] its resource; result/option: case i's own's, or NULL */
} zh_abi_result_plan;
void zh_abi_result_plan_of(const zh_wit_type *t, zh_abi_result_plan *out);
/* zh_abi_store (with ptr checked by the caller) and zh_abi_lower_flat by a plan. */
zh_error *zh_abi_store_planned(zh_abi_cx *cx, const zh_abi_result_plan *p, const zh_val *v,
                               uint32_t ptr);
zh_error *zh_abi_lower_flat_planned(zh_abi_cx *cx, const zh_abi_result_plan *p, const zh_val *v,
                                    zh_value *out, size_t *i);
/* Stores v at ptr in guest memory (lower); allocates through cabi_realloc as needed. */
zh_error *zh_abi_store(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v, uint32_t ptr);
/* Lowers v to flat core values at out[*i..] (room for the flattened count is the caller's). */
zh_error *zh_abi_lower_flat(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v, zh_value *out,
                            size_t *i);
/* Calls the guest's cabi_realloc(0, 0, align, size) and checks the result. */
zh_error *zh_abi_alloc(zh_abi_cx *cx, uint32_t align, uint32_t size, uint32_t *ptr);
/* Checks [ptr, ptr + len) against the guest memory and ptr against `align`. */
zh_error *zh_abi_check_range(zh_abi_cx *cx, const char *what, uint64_t ptr, uint64_t len,
                             uint32_t align);

/* Handle table operations (lift.c). */
zh_error *zh_abi_handle_new(zh_abi_cx *cx, const zh_wit_type *rt, uint64_t rep, bool own,
                            uint32_t *out);
void zh_abi_table_free(zh_abi_table *t);

/* Bytes of one element of a raw number list (val.c); 0 for other kinds. */
size_t zh_val_raw_size(zh_wit_type_kind k);
/* Bytes of a scalar in linear memory: bool, char and the numbers (val.c); 0 for other kinds. */
size_t zh_val_scalar_size(zh_wit_type_kind k);

#endif
