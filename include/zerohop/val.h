/* zerohop component values: the dynamic form of a WIT value (zh_val).
 *
 * A zh_val is a small struct passed by value or pointer; it is tagged with the WIT kind it
 * was built as (never ZH_WIT_ALIAS). Scalars live inline; strings, lists, records, tuples,
 * payloads and large flags own heap memory.
 *
 * Ownership
 *   - Whoever holds a zh_val owns what it points to and releases it with zh_val_drop(),
 *     which frees the contents (recursively) but not the zh_val struct itself.
 *   - Constructors that take data (strings, raw lists) copy it; the caller keeps its buffer.
 *   - Constructors that take a zh_val payload (variant, option, result) move it: the payload
 *     belongs to the new value and the caller's copy must not be dropped or used again.
 *     On failure the payload is dropped, so the caller never leaks.
 *   - Pointers returned by accessors borrow from the value and live until it is dropped.
 *   - own/borrow values hold a resource representation (rep), not memory: dropping the
 *     zh_val does not destroy the resource (see component.h).
 *
 * Allocating constructors return a zh_error (ZH_ERR_RESOURCE) and leave *out a valid empty
 * value (zh_val_drop is safe on it). Scalar constructors cannot fail.
 */
#ifndef ZEROHOP_VAL_H
#define ZEROHOP_VAL_H

#include "zerohop/engine.h"
#include "zerohop/wit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zh_val zh_val;

struct zh_val {
  zh_wit_type_kind kind;
  union {
    bool b;
    int64_t s;  /* s8..s64, sign-extended */
    uint64_t u; /* u8..u64 */
    float f32;  /* floats keep their bit patterns (NaN payloads pass through) */
    double f64;
    uint32_t ch; /* a Unicode scalar value */
    struct {
      char *data; /* NUL-terminated for convenience; may contain U+0000 */
      size_t len; /* bytes of UTF-8 */
    } str;
    struct {
      zh_val *items;             /* general lists, or NULL */
      void *raw;                 /* scalar lists (numbers): packed little-endian elements */
      size_t len;                /* elements */
      zh_wit_type_kind raw_elem; /* element kind of `raw` */
    } list;
    struct {
      zh_val *fields; /* record fields in declaration order, tuple elements */
      size_t n;
    } agg;
    struct {
      uint32_t disc;   /* case index; option: 0 none, 1 some; result: 0 ok, 1 err */
      zh_val *payload; /* NULL for a case without payload */
    } var;
    struct {
      size_t nbits;    /* number of flags of the type */
      uint64_t small;  /* nbits <= 64 */
      uint32_t *words; /* nbits > 64: ceil(nbits / 32) words, bit i of word i/32 */
    } flags;
    struct {
      uint64_t rep; /* the resource's representation, see component.h */
    } res;
  } of;
};

/* Frees what the value owns, recursively, and resets it to an empty bool. Accepts NULL. */
void zh_val_drop(zh_val *v);
/* A deep copy. */
zh_error *zh_val_clone(const zh_val *v, zh_val *out);
/* Structural equality (floats compare by bits; raw and item lists of numbers compare equal). */
bool zh_val_equal(const zh_val *a, const zh_val *b);

/* ---- scalars (cannot fail) ---- */
zh_val zh_val_bool(bool b);
zh_val zh_val_s8(int8_t v);
zh_val zh_val_s16(int16_t v);
zh_val zh_val_s32(int32_t v);
zh_val zh_val_s64(int64_t v);
zh_val zh_val_u8(uint8_t v);
zh_val zh_val_u16(uint16_t v);
zh_val zh_val_u32(uint32_t v);
zh_val zh_val_u64(uint64_t v);
zh_val zh_val_f32(float v);
zh_val zh_val_f64(double v);
zh_val zh_val_char(uint32_t scalar); /* checked when lowered */
zh_val zh_val_enum(uint32_t index);  /* case index */
zh_val zh_val_own(uint64_t rep);     /* own<R> */
zh_val zh_val_borrow(uint64_t rep);  /* borrow<R> */

/* ---- strings ---- */
/* Copies `len` bytes (UTF-8 is checked when lowered into a guest, not here). */
zh_error *zh_val_string(zh_val *out, const char *data, size_t len);
zh_error *zh_val_string_cstr(zh_val *out, const char *cstr);

/* ---- lists ---- */
/* A list of `len` items, each an empty bool to be replaced through zh_val_list_items(). */
zh_error *zh_val_list(zh_val *out, size_t len);
/* A list of numbers (elem one of S8..U64, F32, F64) copied from packed host-order data. */
zh_error *zh_val_list_raw(zh_val *out, zh_wit_type_kind elem, const void *data, size_t len);
size_t zh_val_list_len(const zh_val *v);
zh_val *zh_val_list_items(zh_val *v);              /* NULL for a raw list */
const void *zh_val_list_raw_data(const zh_val *v); /* NULL for an item list */

/* ---- records and tuples: `n` fields, each an empty bool to be replaced ---- */
zh_error *zh_val_record(zh_val *out, size_t n);
zh_error *zh_val_tuple(zh_val *out, size_t n);
zh_val *zh_val_fields(zh_val *v);
size_t zh_val_field_count(const zh_val *v);

/* ---- variants, options, results: `payload` (may be NULL) is moved ---- */
zh_error *zh_val_variant(zh_val *out, uint32_t case_index, zh_val *payload);
zh_error *zh_val_some(zh_val *out, zh_val *payload);
zh_val zh_val_none(void);
zh_error *zh_val_ok(zh_val *out, zh_val *payload);
zh_error *zh_val_err(zh_val *out, zh_val *payload);
uint32_t zh_val_case(const zh_val *v); /* variant/option/result/enum discriminant */
zh_val *zh_val_payload(zh_val *v);     /* or NULL */

/* ---- flags: all clear; any number of members ---- */
zh_error *zh_val_flags(zh_val *out, size_t nbits);
bool zh_val_flag(const zh_val *v, size_t i);        /* false past nbits */
void zh_val_flag_set(zh_val *v, size_t i, bool on); /* ignored past nbits */

#ifdef __cplusplus
}
#endif
#endif
