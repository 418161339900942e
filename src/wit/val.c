/* Dynamic component values (include/zerohop/val.h). */
#include "zerohop/val.h"
#include "wit/abi.h"

#include <stdlib.h>
#include <string.h>

static zh_error *oom(void) { return zh_error_new(ZH_ERR_RESOURCE, "out of memory"); }

static zh_val empty(void) {
  zh_val v;
  memset(&v, 0, sizeof v);
  v.kind = ZH_WIT_BOOL;
  return v;
}

/* Bytes of one element of a raw (number) list; 0 for kinds that are not numbers. */
size_t zh_val_raw_size(zh_wit_type_kind k) {
  switch (k) {
  case ZH_WIT_S8:
  case ZH_WIT_U8:
    return 1;
  case ZH_WIT_S16:
  case ZH_WIT_U16:
    return 2;
  case ZH_WIT_S32:
  case ZH_WIT_U32:
  case ZH_WIT_F32:
    return 4;
  case ZH_WIT_S64:
  case ZH_WIT_U64:
  case ZH_WIT_F64:
    return 8;
  default:
    return 0;
  }
}

size_t zh_val_scalar_size(zh_wit_type_kind k) {
  return k == ZH_WIT_BOOL ? 1 : k == ZH_WIT_CHAR ? 4 : zh_val_raw_size(k);
}

void zh_val_drop(zh_val *v) {
  if (!v)
    return;
  switch (v->kind) {
  case ZH_WIT_STRING:
    free(v->of.str.data);
    break;
  case ZH_WIT_LIST:
    if (v->of.list.items)
      for (size_t i = 0; i < v->of.list.len; i++)
        zh_val_drop(&v->of.list.items[i]);
    free(v->of.list.items);
    free(v->of.list.raw);
    break;
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    for (size_t i = 0; i < v->of.agg.n; i++)
      zh_val_drop(&v->of.agg.fields[i]);
    free(v->of.agg.fields);
    break;
  case ZH_WIT_VARIANT:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT:
    if (v->of.var.payload) {
      zh_val_drop(v->of.var.payload);
      free(v->of.var.payload);
    }
    break;
  case ZH_WIT_FLAGS:
    free(v->of.flags.words);
    break;
  default:
    break;
  }
  *v = empty();
}

#define SCALAR(fn, k, ctype, field)                                                                \
  zh_val fn(ctype x) {                                                                             \
    zh_val v = empty();                                                                            \
    v.kind = k;                                                                                    \
    v.of.field = x;                                                                                \
    return v;                                                                                      \
  }
SCALAR(zh_val_bool, ZH_WIT_BOOL, bool, b)
SCALAR(zh_val_s16, ZH_WIT_S16, int16_t, s)
SCALAR(zh_val_s32, ZH_WIT_S32, int32_t, s)
SCALAR(zh_val_s64, ZH_WIT_S64, int64_t, s)
SCALAR(zh_val_u8, ZH_WIT_U8, uint8_t, u)
SCALAR(zh_val_u16, ZH_WIT_U16, uint16_t, u)
SCALAR(zh_val_u32, ZH_WIT_U32, uint32_t, u)
SCALAR(zh_val_u64, ZH_WIT_U64, uint64_t, u)
SCALAR(zh_val_f32, ZH_WIT_F32, float, f32)
SCALAR(zh_val_f64, ZH_WIT_F64, double, f64)
SCALAR(zh_val_char, ZH_WIT_CHAR, uint32_t, ch)
SCALAR(zh_val_own, ZH_WIT_OWN, uint64_t, res.rep)
SCALAR(zh_val_borrow, ZH_WIT_BORROW, uint64_t, res.rep)
#undef SCALAR

zh_val zh_val_s8(int8_t x) {
  zh_val v = empty();
  v.kind = ZH_WIT_S8;
  v.of.s = (int64_t)x; /* sign-extends, as s8 means */
  return v;
}

zh_val zh_val_enum(uint32_t index) {
  zh_val v = empty();
  v.kind = ZH_WIT_ENUM;
  v.of.var.disc = index;
  return v;
}

zh_error *zh_val_string(zh_val *out, const char *data, size_t len) {
  *out = empty();
  char *p = malloc(len + 1);
  if (!p)
    return oom();
  if (len)
    memcpy(p, data, len);
  p[len] = 0;
  out->kind = ZH_WIT_STRING;
  out->of.str.data = p;
  out->of.str.len = len;
  return NULL;
}

zh_error *zh_val_string_cstr(zh_val *out, const char *cstr) {
  return zh_val_string(out, cstr, strlen(cstr));
}

zh_error *zh_val_list(zh_val *out, size_t len) {
  *out = empty();
  zh_val *items = NULL;
  if (len) {
    items = malloc(len * sizeof *items);
    if (!items)
      return oom();
    for (size_t i = 0; i < len; i++)
      items[i] = empty();
  }
  out->kind = ZH_WIT_LIST;
  out->of.list.items = items;
  out->of.list.len = len;
  return NULL;
}

zh_error *zh_val_list_raw(zh_val *out, zh_wit_type_kind elem, const void *data, size_t len) {
  *out = empty();
  size_t es = zh_val_raw_size(elem);
  if (!es)
    return zh_error_new(ZH_ERR_USAGE, "zh_val_list_raw: %s is not a number type",
                        zh_wit_type_kind_name(elem));
  if (len > SIZE_MAX / es)
    return oom();
  /* One byte at least, so a raw empty list is still recognisable as raw. */
  void *raw = malloc(len ? len * es : 1);
  if (!raw)
    return oom();
  if (len)
    memcpy(raw, data, len * es);
  out->kind = ZH_WIT_LIST;
  out->of.list.raw = raw;
  out->of.list.len = len;
  out->of.list.raw_elem = elem;
  return NULL;
}

size_t zh_val_list_len(const zh_val *v) { return v->kind == ZH_WIT_LIST ? v->of.list.len : 0; }
zh_val *zh_val_list_items(zh_val *v) { return v->kind == ZH_WIT_LIST ? v->of.list.items : NULL; }
const void *zh_val_list_raw_data(const zh_val *v) {
  return v->kind == ZH_WIT_LIST ? v->of.list.raw : NULL;
}

static zh_error *aggregate(zh_val *out, zh_wit_type_kind kind, size_t n) {
  *out = empty();
  zh_val *f = NULL;
  if (n) {
    f = malloc(n * sizeof *f);
    if (!f)
      return oom();
    for (size_t i = 0; i < n; i++)
      f[i] = empty();
  }
  out->kind = kind;
  out->of.agg.fields = f;
  out->of.agg.n = n;
  return NULL;
}

zh_error *zh_val_record(zh_val *out, size_t n) { return aggregate(out, ZH_WIT_RECORD, n); }
zh_error *zh_val_tuple(zh_val *out, size_t n) { return aggregate(out, ZH_WIT_TUPLE, n); }
zh_val *zh_val_fields(zh_val *v) {
  return v->kind == ZH_WIT_RECORD || v->kind == ZH_WIT_TUPLE ? v->of.agg.fields : NULL;
}
size_t zh_val_field_count(const zh_val *v) {
  return v->kind == ZH_WIT_RECORD || v->kind == ZH_WIT_TUPLE ? v->of.agg.n : 0;
}

static zh_error *with_payload(zh_val *out, zh_wit_type_kind kind, uint32_t disc, zh_val *payload) {
  *out = empty();
  zh_val *box = NULL;
  if (payload) {
    box = malloc(sizeof *box);
    if (!box) {
      zh_val_drop(payload);
      return oom();
    }
    *box = *payload;
    *payload = empty(); /* moved */
  }
  out->kind = kind;
  out->of.var.disc = disc;
  out->of.var.payload = box;
  return NULL;
}

zh_error *zh_val_variant(zh_val *out, uint32_t case_index, zh_val *payload) {
  return with_payload(out, ZH_WIT_VARIANT, case_index, payload);
}
zh_error *zh_val_some(zh_val *out, zh_val *payload) {
  return with_payload(out, ZH_WIT_OPTION, 1, payload);
}
zh_val zh_val_none(void) {
  zh_val v = empty();
  v.kind = ZH_WIT_OPTION;
  return v;
}
zh_error *zh_val_ok(zh_val *out, zh_val *payload) {
  return with_payload(out, ZH_WIT_RESULT, 0, payload);
}
zh_error *zh_val_err(zh_val *out, zh_val *payload) {
  return with_payload(out, ZH_WIT_RESULT, 1, payload);
}
uint32_t zh_val_case(const zh_val *v) { return v->of.var.disc; }
zh_val *zh_val_payload(zh_val *v) {
  switch (v->kind) {
  case ZH_WIT_VARIANT:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT:
    return v->of.var.payload;
  default:
    return NULL;
  }
}

zh_error *zh_val_flags(zh_val *out, size_t nbits) {
  *out = empty();
  out->kind = ZH_WIT_FLAGS;
  out->of.flags.nbits = nbits;
  if (nbits > 64) {
    out->of.flags.words = calloc((nbits + 31) / 32, sizeof(uint32_t));
    if (!out->of.flags.words) {
      *out = empty();
      return oom();
    }
  }
  return NULL;
}

bool zh_val_flag(const zh_val *v, size_t i) {
  if (v->kind != ZH_WIT_FLAGS || i >= v->of.flags.nbits)
    return false;
  if (v->of.flags.words)
    return (v->of.flags.words[i / 32] >> (i % 32)) & 1u;
  return (v->of.flags.small >> i) & 1u;
}

void zh_val_flag_set(zh_val *v, size_t i, bool on) {
  if (v->kind != ZH_WIT_FLAGS || i >= v->of.flags.nbits)
    return;
  if (v->of.flags.words) {
    uint32_t m = 1u << (i % 32);
    v->of.flags.words[i / 32] = on ? v->of.flags.words[i / 32] | m : v->of.flags.words[i / 32] & ~m;
  } else {
    uint64_t m = (uint64_t)1 << i;
    v->of.flags.small = on ? v->of.flags.small | m : v->of.flags.small & ~m;
  }
}

zh_error *zh_val_clone(const zh_val *v, zh_val *out) {
  zh_error *err = NULL;
  if (!v || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_val_clone: value and out are required");
  switch (v->kind) {
  case ZH_WIT_STRING:
    return zh_val_string(out, v->of.str.data, v->of.str.len);
  case ZH_WIT_LIST:
    if (v->of.list.raw)
      return zh_val_list_raw(out, v->of.list.raw_elem, v->of.list.raw, v->of.list.len);
    if ((err = zh_val_list(out, v->of.list.len)))
      return err;
    if (v->of.list.len && !out->of.list.items)
      return zh_error_new(ZH_ERR_RESOURCE, "out of memory cloning a list");
    for (size_t i = 0; i < v->of.list.len; i++)
      if ((err = zh_val_clone(&v->of.list.items[i], &out->of.list.items[i])))
        break;
    break;
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    if ((err = aggregate(out, v->kind, v->of.agg.n)))
      return err;
    if (v->of.agg.n && !out->of.agg.fields)
      return zh_error_new(ZH_ERR_RESOURCE, "out of memory cloning a record");
    for (size_t i = 0; i < v->of.agg.n; i++)
      if ((err = zh_val_clone(&v->of.agg.fields[i], &out->of.agg.fields[i])))
        break;
    break;
  case ZH_WIT_VARIANT:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT: {
    zh_val p, *pp = NULL;
    if (v->of.var.payload) {
      if ((err = zh_val_clone(v->of.var.payload, &p))) {
        *out = empty();
        return err;
      }
      pp = &p;
    }
    return with_payload(out, v->kind, v->of.var.disc, pp);
  }
  case ZH_WIT_FLAGS:
    if ((err = zh_val_flags(out, v->of.flags.nbits)))
      return err;
    out->of.flags.small = v->of.flags.small;
    if (v->of.flags.words && out->of.flags.words)
      memcpy(out->of.flags.words, v->of.flags.words, (v->of.flags.nbits + 31) / 32 * 4);
    break;
  default:
    *out = *v;
    break;
  }
  if (err)
    zh_val_drop(out);
  return err;
}

/* Element i of a list as a value (raw lists are widened on the fly). */
static zh_val list_at(const zh_val *l, size_t i) {
  if (l->of.list.items)
    return l->of.list.items[i];
  if (!l->of.list.raw)
    return empty(); /* a list without storage has no elements */
  const uint8_t *p = (const uint8_t *)l->of.list.raw + i * zh_val_raw_size(l->of.list.raw_elem);
  zh_val v = empty();
  v.kind = l->of.list.raw_elem;
  switch (v.kind) {
  case ZH_WIT_S8: {
    int8_t x;
    memcpy(&x, p, 1);
    v.of.s = (int64_t)x; /* sign-extends, as s8 means */
  } break;
  case ZH_WIT_S16: {
    int16_t x;
    memcpy(&x, p, 2);
    v.of.s = x;
  } break;
  case ZH_WIT_S32: {
    int32_t x;
    memcpy(&x, p, 4);
    v.of.s = x;
  } break;
  case ZH_WIT_S64:
    memcpy(&v.of.s, p, 8);
    break;
  case ZH_WIT_U8:
    v.of.u = p[0];
    break;
  case ZH_WIT_U16: {
    uint16_t x;
    memcpy(&x, p, 2);
    v.of.u = x;
  } break;
  case ZH_WIT_U32: {
    uint32_t x;
    memcpy(&x, p, 4);
    v.of.u = x;
  } break;
  case ZH_WIT_U64:
    memcpy(&v.of.u, p, 8);
    break;
  case ZH_WIT_F32:
    memcpy(&v.of.f32, p, 4);
    break;
  default:
    memcpy(&v.of.f64, p, 8);
    break;
  }
  return v;
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static uint64_t f64_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

bool zh_val_equal(const zh_val *a, const zh_val *b) {
  if (a->kind != b->kind)
    return false;
  switch (a->kind) {
  case ZH_WIT_BOOL:
    return a->of.b == b->of.b;
  case ZH_WIT_S8:
  case ZH_WIT_S16:
  case ZH_WIT_S32:
  case ZH_WIT_S64:
    return a->of.s == b->of.s;
  case ZH_WIT_U8:
  case ZH_WIT_U16:
  case ZH_WIT_U32:
  case ZH_WIT_U64:
    return a->of.u == b->of.u;
  case ZH_WIT_F32: /* bit patterns: NaN equals itself, -0 differs from +0 */
    return f32_bits(a->of.f32) == f32_bits(b->of.f32);
  case ZH_WIT_F64:
    return f64_bits(a->of.f64) == f64_bits(b->of.f64);
  case ZH_WIT_CHAR:
    return a->of.ch == b->of.ch;
  case ZH_WIT_STRING:
    return a->of.str.len == b->of.str.len &&
           (a->of.str.len == 0 || memcmp(a->of.str.data, b->of.str.data, a->of.str.len) == 0);
  case ZH_WIT_LIST:
    if (a->of.list.len != b->of.list.len)
      return false;
    if (a->of.list.raw && b->of.list.raw && a->of.list.raw_elem == b->of.list.raw_elem)
      return a->of.list.len == 0 ||
             memcmp(a->of.list.raw, b->of.list.raw,
                    a->of.list.len * zh_val_raw_size(a->of.list.raw_elem)) == 0;
    for (size_t i = 0; i < a->of.list.len; i++) {
      zh_val x = list_at(a, i), y = list_at(b, i);
      if (!zh_val_equal(&x, &y))
        return false;
    }
    return true;
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    if (a->of.agg.n != b->of.agg.n)
      return false;
    for (size_t i = 0; i < a->of.agg.n; i++)
      if (!zh_val_equal(&a->of.agg.fields[i], &b->of.agg.fields[i]))
        return false;
    return true;
  case ZH_WIT_VARIANT:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT:
    if (a->of.var.disc != b->of.var.disc || !a->of.var.payload != !b->of.var.payload)
      return false;
    return !a->of.var.payload || zh_val_equal(a->of.var.payload, b->of.var.payload);
  case ZH_WIT_ENUM:
    return a->of.var.disc == b->of.var.disc;
  case ZH_WIT_FLAGS:
    if (a->of.flags.nbits != b->of.flags.nbits)
      return false;
    for (size_t i = 0; i < a->of.flags.nbits; i++)
      if (zh_val_flag(a, i) != zh_val_flag(b, i))
        return false;
    return true;
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW:
    return a->of.res.rep == b->of.res.rep;
  default:
    return false;
  }
}
