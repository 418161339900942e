/* Lowering: zh_val -> guest memory or flat core values (CanonicalABI.md "Storing", "Flat
 * Lowering"). Strings and lists are allocated through the guest's cabi_realloc, whose result
 * is checked for range and alignment. A host value that does not match its type is
 * ZH_ERR_USAGE (the host's mistake); a misbehaving guest is ZH_ERR_TRAP. */
#include "wit/abi.h"

#include <stdlib.h>
#include <string.h>

static zh_error *mismatch(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v) {
  return zh_abi_usage(cx, "value of kind %s where a %s is expected", zh_wit_type_kind_name(v->kind),
                      zh_wit_type_kind_name(t->kind));
}

/* Host values must be valid before they reach a guest: returns false for bad UTF-8. */
static bool host_utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || n - i < len)
      return false;
    uint32_t cp = c & (0x7f >> len);
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

static zh_error *check_variant(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v) {
  size_t nc = zh_abi_case_count(t);
  if (v->of.var.disc >= nc)
    return zh_abi_usage(cx, "case %u of a %s with %zu cases", v->of.var.disc,
                        zh_wit_type_kind_name(t->kind), nc);
  bool has = zh_abi_case_type(t, v->of.var.disc) != NULL;
  if (t->kind != ZH_WIT_ENUM && has != (v->of.var.payload != NULL))
    return zh_abi_usage(cx, "case %u of a %s %s a payload", v->of.var.disc,
                        zh_wit_type_kind_name(t->kind), has ? "needs" : "takes no");
  return NULL;
}

static zh_error *lower_handle(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v, uint32_t *h) {
  if (t->kind == ZH_WIT_BORROW) {
    const zh_wit_type *rt = zh_abi_unalias(t->elem);
    for (size_t i = 0; i < cx->nself_types; i++)
      if (cx->self_types[i] == rt) {
        *h = (uint32_t)v->of.res.rep; /* the implementation gets its own rep */
        return NULL;
      }
  }
  zh_error *err =
      zh_abi_handle_new(cx, zh_abi_unalias(t->elem), v->of.res.rep, t->kind == ZH_WIT_OWN, h);
  if (err || t->kind == ZH_WIT_OWN)
    return err;
  /* A borrow lives for this call only: remembered so the adapter can end it. */
  if (cx->nborrows == cx->borrows_cap) {
    uint32_t cap = cx->borrows_cap ? cx->borrows_cap * 2 : 8;
    uint32_t *b = realloc(cx->borrows, cap * sizeof *b);
    if (!b)
      return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
    cx->borrows = b;
    cx->borrows_cap = cap;
  }
  cx->borrows[cx->nborrows++] = *h;
  return NULL;
}

/* Copies a string or list body into fresh guest memory; *ptr is its address. */
static zh_error *store_bytes(zh_abi_cx *cx, const void *src, size_t len, uint32_t align,
                             uint32_t *ptr) {
  if (len == 0 && !cx->realloc) {
    /* Nothing to allocate and no allocator: any aligned in-bounds pointer will do. */
    *ptr = align;
    return NULL;
  }
  /* With an allocator the canonical ABI calls it even for zero bytes, and checks what it
   * returns (alignment and bounds) all the same. */
  zh_error *err = zh_abi_alloc(cx, align, (uint32_t)len, ptr);
  if (err)
    return err;
  if (src && len)
    memcpy(zh_memory_data(cx->mem) + *ptr, src, len);
  return NULL;
}

static zh_error *store_at(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v, uint32_t ptr);

static zh_error *lower_string(zh_abi_cx *cx, const zh_val *v, uint32_t *ptr, uint32_t *len) {
  *ptr = 0;
  *len = 0;
  if (v->of.str.len > ZH_ABI_MAX_STRING_BYTES)
    return zh_abi_usage(cx, "string of %zu bytes is too long", v->of.str.len);
  if (!host_utf8_ok((const uint8_t *)v->of.str.data, v->of.str.len))
    return zh_abi_usage(cx, "string is not valid UTF-8");
  if (cx->enc == ZH_ABI_UTF8) {
    *len = (uint32_t)v->of.str.len;
    return store_bytes(cx, v->of.str.data, v->of.str.len, 1, ptr);
  }
  /* Decode once into code points; Latin-1 when every one fits and the encoding allows. */
  const uint8_t *s = (const uint8_t *)v->of.str.data;
  size_t n = v->of.str.len, units = 0;
  bool latin1 = cx->enc == ZH_ABI_LATIN1_UTF16;
  uint16_t *u16 = malloc(n * 2 + 2);
  if (!u16)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  for (size_t i = 0; i < n;) {
    uint32_t c = s[i];
    size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (k > 1)
      c &= 0x3fu >> (k - 1);
    for (size_t j = 1; j < k; j++)
      c = c << 6 | (s[i + j] & 0x3fu);
    i += k;
    if (c > 0xff)
      latin1 = false;
    if (c >= 0x10000) {
      c -= 0x10000;
      u16[units++] = (uint16_t)(0xd800 + (c >> 10));
      u16[units++] = (uint16_t)(0xdc00 + (c & 0x3ff));
    } else {
      u16[units++] = (uint16_t)c;
    }
  }
  zh_error *err;
  if (latin1) {
    uint8_t *b = (uint8_t *)u16; /* narrowing in place: byte i is written after unit i is read */
    for (size_t i = 0; i < units; i++)
      b[i] = (uint8_t)u16[i];
    *len = (uint32_t)units;
    err = store_bytes(cx, b, units, 2, ptr);
  } else if (units * 2 > ZH_ABI_MAX_STRING_BYTES) {
    err = zh_abi_usage(cx, "string of %zu UTF-16 code units is too long", units);
  } else {
    uint8_t *b = malloc(units * 2 + 1);
    err = b ? NULL : zh_error_new(ZH_ERR_RESOURCE, "out of memory");
    for (size_t i = 0; b && i < units; i++) {
      b[2 * i] = (uint8_t)(u16[i] & 0xff);
      b[2 * i + 1] = (uint8_t)(u16[i] >> 8);
    }
    *len = (uint32_t)units | (cx->enc == ZH_ABI_LATIN1_UTF16 ? ZH_ABI_UTF16_TAG : 0);
    if (!err)
      err = store_bytes(cx, b, units * 2, 2, ptr);
    free(b);
  }
  free(u16);
  return err;
}

static zh_error *lower_list(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v, uint32_t *ptr,
                            uint32_t *len) {
  const zh_wit_type *et = zh_abi_unalias(t->elem);
  uint64_t es = zh_abi_size(et), bytes = (uint64_t)v->of.list.len * es;
  if (bytes >= ((uint64_t)1 << 32) || v->of.list.len > UINT32_MAX)
    return zh_abi_usage(cx, "list of %zu elements is too long", v->of.list.len);
  *len = (uint32_t)v->of.list.len;
  if (v->of.list.raw) {
    if (v->of.list.raw_elem != et->kind)
      return zh_abi_usage(cx, "list of %s where list<%s> is expected",
                          zh_wit_type_kind_name(v->of.list.raw_elem),
                          zh_wit_type_kind_name(et->kind));
    return store_bytes(cx, v->of.list.raw, bytes, zh_abi_align(et), ptr);
  }
  zh_error *err = store_bytes(cx, NULL, bytes, zh_abi_align(et), ptr);
  for (size_t i = 0; !err && i < v->of.list.len; i++)
    err = store_at(cx, et, &v->of.list.items[i], *ptr + (uint32_t)(i * es));
  return err;
}

/* Writes n bytes at ptr; the range was checked, and memory only grows, so it still holds. */
static void put(zh_abi_cx *cx, uint32_t ptr, const void *src, size_t n) {
  memcpy(zh_memory_data(cx->mem) + ptr, src, n);
}

static zh_error *store_at(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v, uint32_t ptr) {
  t = zh_abi_unalias(t);
  if (v->kind != t->kind)
    return mismatch(cx, t, v);
  zh_error *err;
  switch (t->kind) {
  case ZH_WIT_BOOL: {
    uint8_t b = v->of.b ? 1 : 0;
    put(cx, ptr, &b, 1);
    return NULL;
  }
  case ZH_WIT_S8:
  case ZH_WIT_U8:
  case ZH_WIT_S16:
  case ZH_WIT_U16:
  case ZH_WIT_S32:
  case ZH_WIT_U32:
  case ZH_WIT_S64:
  case ZH_WIT_U64:
    /* Little-endian: the low bytes of the 64-bit field are the narrower value. */
    put(cx, ptr, &v->of.u, zh_abi_size(t));
    return NULL;
  case ZH_WIT_F32:
    put(cx, ptr, &v->of.f32, 4);
    return NULL;
  case ZH_WIT_F64:
    put(cx, ptr, &v->of.f64, 8);
    return NULL;
  case ZH_WIT_CHAR:
    if (v->of.ch >= 0x110000 || (v->of.ch >= 0xd800 && v->of.ch <= 0xdfff))
      return zh_abi_usage(cx, "char U+%X is not a Unicode scalar value", v->of.ch);
    put(cx, ptr, &v->of.ch, 4);
    return NULL;
  case ZH_WIT_STRING:
  case ZH_WIT_LIST: {
    uint32_t pl[2];
    if ((err = t->kind == ZH_WIT_STRING ? lower_string(cx, v, &pl[0], &pl[1])
                                        : lower_list(cx, t, v, &pl[0], &pl[1])))
      return err;
    put(cx, ptr, pl, 8);
    return NULL;
  }
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE: {
    if (v->of.agg.n != t->nfields)
      return zh_abi_usage(cx, "%s of %zu fields where %zu are expected",
                          zh_wit_type_kind_name(t->kind), v->of.agg.n, t->nfields);
    uint32_t off = 0;
    for (size_t i = 0; i < t->nfields; i++) {
      const zh_wit_type *ft = t->fields[i].type;
      uint32_t a = zh_abi_align(ft);
      off = (off + a - 1) & ~(a - 1);
      if ((err = store_at(cx, ft, &v->of.agg.fields[i], ptr + off)))
        return err;
      off += zh_abi_size(ft);
    }
    return NULL;
  }
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT: {
    if ((err = check_variant(cx, t, v)))
      return err;
    put(cx, ptr, &v->of.var.disc, zh_abi_disc_size(zh_abi_case_count(t)));
    const zh_wit_type *ct = zh_abi_case_type(t, v->of.var.disc);
    return ct ? store_at(cx, ct, v->of.var.payload, ptr + zh_abi_payload_offset(t)) : NULL;
  }
  case ZH_WIT_FLAGS: {
    if (v->of.flags.nbits != t->nfields)
      return zh_abi_usage(cx, "%zu flags where %zu are expected", v->of.flags.nbits, t->nfields);
    uint32_t words = zh_abi_flags_words(t->nfields), size = zh_abi_size(t);
    for (uint32_t w = 0; w < words; w++) {
      uint32_t x = 0;
      for (size_t b = 0; b < 32 && (size_t)w * 32 + b < t->nfields; b++)
        x |= (uint32_t)zh_val_flag(v, (size_t)w * 32 + b) << b;
      put(cx, ptr + 4 * w, &x, size < 4 ? size : 4);
    }
    return NULL;
  }
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW: {
    uint32_t h;
    if ((err = lower_handle(cx, t, v, &h)))
      return err;
    put(cx, ptr, &h, 4);
    return NULL;
  }
  default:
    return zh_abi_usage(cx, "cannot lower a %s", zh_wit_type_kind_name(t->kind));
  }
}

zh_error *zh_abi_store(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v, uint32_t ptr) {
  zh_error *err = zh_abi_check_range(cx, "value", ptr, zh_abi_size(t), zh_abi_align(t));
  return err ? err : store_at(cx, t, v, ptr);
}

/* ---- flat lowering ---- */

/* Re-types a flat value to the joined type of its variant slot (lower_flat_variant). */
static zh_value coerce(zh_value v, zh_valtype want) {
  if (v.type == want)
    return v;
  uint64_t bits;
  switch (v.type) {
  case ZH_I32:
    bits = (uint32_t)v.of.i32;
    break;
  case ZH_F32:
    bits = v.of.f32_bits;
    break;
  case ZH_F64:
    bits = v.of.f64_bits;
    break;
  default:
    bits = (uint64_t)v.of.i64;
    break;
  }
  /* Joins only ever widen to i32 (from f32) or i64 (from anything). */
  return want == ZH_I32 ? zh_i32((int32_t)(uint32_t)bits) : zh_i64((int64_t)bits);
}

static zh_value zero_of(zh_valtype t) {
  zh_value z;
  memset(&z, 0, sizeof z);
  z.type = t;
  return z;
}

zh_error *zh_abi_lower_flat(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v, zh_value *out,
                            size_t *i) {
  t = zh_abi_unalias(t);
  if (v->kind != t->kind)
    return mismatch(cx, t, v);
  zh_error *err;
  switch (t->kind) {
  case ZH_WIT_BOOL:
    out[(*i)++] = zh_i32(v->of.b ? 1 : 0);
    return NULL;
  case ZH_WIT_S8:
  case ZH_WIT_S16:
  case ZH_WIT_S32:
    out[(*i)++] = zh_i32((int32_t)v->of.s);
    return NULL;
  case ZH_WIT_U8:
  case ZH_WIT_U16:
  case ZH_WIT_U32:
    out[(*i)++] = zh_i32((int32_t)(uint32_t)v->of.u);
    return NULL;
  case ZH_WIT_S64:
  case ZH_WIT_U64:
    out[(*i)++] = zh_i64((int64_t)v->of.u);
    return NULL;
  case ZH_WIT_F32:
    out[*i] = zero_of(ZH_F32);
    memcpy(&out[(*i)++].of.f32_bits, &v->of.f32, 4);
    return NULL;
  case ZH_WIT_F64:
    out[*i] = zero_of(ZH_F64);
    memcpy(&out[(*i)++].of.f64_bits, &v->of.f64, 8);
    return NULL;
  case ZH_WIT_CHAR:
    if (v->of.ch >= 0x110000 || (v->of.ch >= 0xd800 && v->of.ch <= 0xdfff))
      return zh_abi_usage(cx, "char U+%X is not a Unicode scalar value", v->of.ch);
    out[(*i)++] = zh_i32((int32_t)v->of.ch);
    return NULL;
  case ZH_WIT_STRING:
  case ZH_WIT_LIST: {
    uint32_t p, n;
    if ((err =
             t->kind == ZH_WIT_STRING ? lower_string(cx, v, &p, &n) : lower_list(cx, t, v, &p, &n)))
      return err;
    out[(*i)++] = zh_i32((int32_t)p);
    out[(*i)++] = zh_i32((int32_t)n);
    return NULL;
  }
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    if (v->of.agg.n != t->nfields)
      return zh_abi_usage(cx, "%s of %zu fields where %zu are expected",
                          zh_wit_type_kind_name(t->kind), v->of.agg.n, t->nfields);
    for (size_t f = 0; f < t->nfields; f++)
      if ((err = zh_abi_lower_flat(cx, t->fields[f].type, &v->of.agg.fields[f], out, i)))
        return err;
    return NULL;
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT: {
    if ((err = check_variant(cx, t, v)))
      return err;
    zh_valtype flat[ZH_ABI_MAX_FLAT_PARAMS + 1];
    size_t nflat = 0;
    if (!zh_abi_flatten(t, flat, ZH_ABI_MAX_FLAT_PARAMS, &nflat))
      return zh_abi_usage(cx, "variant too wide to be flat");
    size_t base = *i;
    out[(*i)++] = zh_i32((int32_t)v->of.var.disc);
    const zh_wit_type *ct = zh_abi_case_type(t, v->of.var.disc);
    if (ct && (err = zh_abi_lower_flat(cx, ct, v->of.var.payload, out, i)))
      return err;
    for (size_t k = base + 1; k < *i; k++)
      out[k] = coerce(out[k], flat[k - base]);
    for (; *i < base + nflat; (*i)++)
      out[*i] = zero_of(flat[*i - base]);
    return NULL;
  }
  case ZH_WIT_FLAGS:
    if (v->of.flags.nbits != t->nfields)
      return zh_abi_usage(cx, "%zu flags where %zu are expected", v->of.flags.nbits, t->nfields);
    for (uint32_t w = 0; w < zh_abi_flags_words(t->nfields); w++) {
      uint32_t x = 0;
      for (size_t b = 0; b < 32 && (size_t)w * 32 + b < t->nfields; b++)
        x |= (uint32_t)zh_val_flag(v, (size_t)w * 32 + b) << b;
      out[(*i)++] = zh_i32((int32_t)x);
    }
    return NULL;
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW: {
    uint32_t h;
    if ((err = lower_handle(cx, t, v, &h)))
      return err;
    out[(*i)++] = zh_i32((int32_t)h);
    return NULL;
  }
  default:
    return zh_abi_usage(cx, "cannot lower a %s", zh_wit_type_kind_name(t->kind));
  }
}

/* ---- planned results ---- */

void zh_abi_result_plan_of(const zh_wit_type *t, zh_abi_result_plan *out) {
  memset(out, 0, sizeof *out);
  t = zh_abi_unalias(t);
  out->t = t;
  if (!t)
    return;
  if (t->kind == ZH_WIT_OWN) {
    out->rt[0] = zh_abi_unalias(t->elem);
    out->planned = true;
    return;
  }
  if (t->kind != ZH_WIT_RESULT && t->kind != ZH_WIT_OPTION)
    return;
  for (size_t c = 0; c < 2; c++) {
    const zh_wit_type *ct = zh_abi_unalias(zh_abi_case_type(t, c));
    out->ct[c] = ct;
    out->rt[c] = ct && ct->kind == ZH_WIT_OWN ? zh_abi_unalias(ct->elem) : NULL;
  }
  out->payload_offset = zh_abi_payload_offset(t);
  out->planned = true;
}

zh_error *zh_abi_store_planned(zh_abi_cx *cx, const zh_abi_result_plan *p, const zh_val *v,
                               uint32_t ptr) {
  if (!p->planned || p->t->kind == ZH_WIT_OWN || v->kind != p->t->kind || v->of.var.disc > 1 ||
      !p->ct[v->of.var.disc] != !v->of.var.payload)
    return store_at(cx, p->t, v, ptr);
  uint8_t disc = (uint8_t)v->of.var.disc;
  put(cx, ptr, &disc, 1);
  const zh_val *pl = v->of.var.payload;
  if (!pl)
    return NULL;
  if (!p->rt[disc] || pl->kind != ZH_WIT_OWN)
    return store_at(cx, p->ct[disc], pl, ptr + p->payload_offset);
  uint32_t h;
  zh_error *err = zh_abi_handle_new(cx, p->rt[disc], pl->of.res.rep, true, &h);
  if (!err)
    put(cx, ptr + p->payload_offset, &h, 4);
  return err;
}

zh_error *zh_abi_lower_flat_planned(zh_abi_cx *cx, const zh_abi_result_plan *p, const zh_val *v,
                                    zh_value *out, size_t *i) {
  if (!p->planned || p->t->kind != ZH_WIT_OWN || v->kind != ZH_WIT_OWN)
    return zh_abi_lower_flat(cx, p->t, v, out, i);
  uint32_t h;
  zh_error *err = zh_abi_handle_new(cx, p->rt[0], v->of.res.rep, true, &h);
  if (!err)
    out[(*i)++] = zh_i32((int32_t)h);
  return err;
}
