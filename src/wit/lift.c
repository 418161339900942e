/* Lifting: guest memory or flat core values -> zh_val (CanonicalABI.md "Loading", "Flat
 * Lifting"), and the per-instance resource handle table. Every pointer and length the guest
 * supplies is checked before use; a bad one traps with the function's name in the message. */
#include "wit/abi.h"

#include <stdlib.h>
#include <string.h>

/* Guest memory is little-endian; numbers are copied with memcpy, so the host must be too. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "zerohop needs a little-endian host");

/* ---- handle table ---- */

zh_error *zh_abi_handle_new(zh_abi_cx *cx, const zh_wit_type *rt, uint64_t rep, bool own,
                            uint32_t *out) {
  zh_abi_table *t = cx->table;
  uint32_t i = t->free_head;
  if (i) {
    t->free_head = t->h[i].next_free;
  } else {
    if (t->len == 0)
      t->len = 1; /* handle 0 stays invalid */
    if (t->len >= t->cap) {
      uint32_t cap = t->cap ? t->cap * 2 : 16;
      if (cap > (1u << 28))
        return zh_abi_trap(cx, "too many resource handles");
      zh_abi_handle *h = realloc(t->h, cap * sizeof *h);
      if (!h)
        return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
      t->h = h;
      t->cap = cap;
    }
    i = t->len++;
  }
  t->h[i] = (zh_abi_handle){rt, rep, own, 0, 0};
  *out = i;
  return NULL;
}

/* The live handle `i` of resource type `rt` (any type when rt is NULL); NULL with *err set
 * to a trap otherwise. */
static zh_abi_handle *handle_get(zh_abi_cx *cx, uint32_t i, const zh_wit_type *rt, zh_error **err) {
  *err = NULL;
  zh_abi_table *t = cx->table;
  if (!t || i == 0 || i >= t->len || !t->h[i].rt) {
    *err = zh_abi_trap(cx, "unknown resource handle %u (dangling or never created)", i);
    return NULL;
  }
  if (rt && t->h[i].rt != rt) {
    *err = zh_abi_trap(cx, "resource handle %u is a %s, not a %s", i,
                       t->h[i].rt->name ? t->h[i].rt->name : "resource",
                       rt->name ? rt->name : "resource");
    return NULL;
  }
  return &t->h[i];
}

static void handle_free(zh_abi_table *t, uint32_t i) {
  t->h[i].rt = NULL;
  t->h[i].next_free = t->free_head;
  t->free_head = i;
}

void zh_abi_table_free(zh_abi_table *t) {
  free(t->h);
  memset(t, 0, sizeof *t);
}

/* own<R> leaves the guest: the handle goes away and the host gets the representation. */
static zh_error *lift_own(zh_abi_cx *cx, const zh_wit_type *rt, uint32_t i, zh_val *out) {
  zh_error *err = NULL;
  zh_abi_handle *h = handle_get(cx, i, rt, &err);
  if (!h)
    return err;
  if (!h->own)
    return zh_abi_trap(cx, "handle %u is borrowed, but own<%s> was expected", i,
                       h->rt->name ? h->rt->name : "resource");
  if (h->lends)
    return zh_abi_trap(cx, "handle %u is moved while it is lent out", i);
  *out = zh_val_own(h->rep);
  handle_free(cx->table, i);
  return NULL;
}

static zh_error *lift_borrow(zh_abi_cx *cx, const zh_wit_type *rt, uint32_t i, zh_val *out) {
  zh_error *err = NULL;
  zh_abi_handle *h = handle_get(cx, i, rt, &err);
  if (!h)
    return err;
  if (cx->track_lends) {
    if (!cx->lent) {
      cx->lent = cx->lent_few;
      cx->lent_cap = sizeof cx->lent_few / sizeof cx->lent_few[0];
    } else if (cx->nlent == cx->lent_cap) {
      uint32_t cap = cx->lent_cap * 2;
      uint32_t *l =
          cx->lent == cx->lent_few ? malloc(cap * sizeof *l) : realloc(cx->lent, cap * sizeof *l);
      if (!l)
        return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
      if (cx->lent == cx->lent_few)
        memcpy(l, cx->lent_few, sizeof cx->lent_few);
      cx->lent = l;
      cx->lent_cap = cap;
    }
    cx->lent[cx->nlent++] = i;
    h->lends++;
  }
  *out = zh_val_borrow(h->rep);
  return NULL;
}

/* ---- per-call storage (cx->lend_buf) ---- */

/* n bytes of the call's buffer, 8-aligned, or NULL (no buffer, or full): the heap then. */
static void *lend(zh_abi_cx *cx, size_t n) {
  if (!cx->lend_buf)
    return NULL;
  size_t at = ((size_t)cx->lend_len + 7) & ~(size_t)7;
  if (at > cx->lend_cap || n > cx->lend_cap - at)
    return NULL;
  cx->lend_len = (uint32_t)(at + n);
  return cx->lend_buf + at;
}

static bool is_lent(const zh_abi_cx *cx, const void *p) {
  uintptr_t a = (uintptr_t)p, lo = (uintptr_t)cx->lend_buf;
  return cx->lend_buf && a >= lo && a < lo + cx->lend_cap;
}

void zh_abi_lent_drop(const zh_abi_cx *cx, zh_val *v) {
  switch (v->kind) {
  case ZH_WIT_STRING:
    if (!is_lent(cx, v->of.str.data))
      free(v->of.str.data);
    break;
  case ZH_WIT_LIST:
    if (v->of.list.items) /* item arrays come from the heap; what they hold may not */
      for (size_t i = 0; i < v->of.list.len; i++)
        zh_abi_lent_drop(cx, &v->of.list.items[i]);
    free(v->of.list.items);
    if (!is_lent(cx, v->of.list.raw))
      free(v->of.list.raw);
    break;
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    for (size_t i = 0; i < v->of.agg.n; i++)
      zh_abi_lent_drop(cx, &v->of.agg.fields[i]);
    free(v->of.agg.fields);
    break;
  case ZH_WIT_VARIANT:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT:
    if (v->of.var.payload) {
      zh_abi_lent_drop(cx, v->of.var.payload);
      if (!is_lent(cx, v->of.var.payload))
        free(v->of.var.payload);
    }
    break;
  default:
    zh_val_drop(v); /* flags and scalars: never in the buffer */
    return;
  }
  memset(v, 0, sizeof *v);
  v->kind = ZH_WIT_BOOL;
}

/* zh_val_string, in the call's buffer when it fits. */
static zh_error *lift_string(zh_abi_cx *cx, const char *data, size_t len, zh_val *out) {
  char *d = lend(cx, len + 1);
  if (!d)
    return zh_val_string(out, data, len);
  memcpy(d, data, len);
  d[len] = '\0';
  memset(out, 0, sizeof *out);
  out->kind = ZH_WIT_STRING;
  out->of.str.data = d;
  out->of.str.len = len;
  return NULL;
}

/* zh_val_list_raw of `len` numbers of `es` bytes, in the call's buffer when it fits. */
static zh_error *lift_raw(zh_abi_cx *cx, zh_wit_type_kind elem, uint32_t es, const void *data,
                          uint32_t len, zh_val *out) {
  size_t bytes = (size_t)len * es;
  void *d = lend(cx, bytes ? bytes : 1); /* one byte at least, as zh_val_list_raw */
  if (!d)
    return zh_val_list_raw(out, elem, data, len);
  memcpy(d, data, bytes);
  memset(out, 0, sizeof *out);
  out->kind = ZH_WIT_LIST;
  out->of.list.raw = d;
  out->of.list.len = len;
  out->of.list.raw_elem = elem;
  return NULL;
}

/* ---- scalars ---- */

static zh_error *check_char(zh_abi_cx *cx, uint32_t c) {
  if (c >= 0x110000 || (c >= 0xd800 && c <= 0xdfff))
    return zh_abi_trap(cx, "invalid char U+%X (not a Unicode scalar value)", c);
  return NULL;
}

/* Validates UTF-8; on failure *bad is the offset of the first bad byte. */
static bool utf8_valid(const uint8_t *s, size_t n, size_t *bad) {
  size_t i = 0;
  while (i < n) {
    /* ASCII runs eight bytes at a time. */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull)
        break;
      i += 8;
    }
    if (i >= n)
      break;
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      *bad = i;
      return false;
    }
    if (n - i < len) {
      *bad = i;
      return false;
    }
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) {
        *bad = i;
        return false;
      }
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      *bad = i;
      return false;
    }
    i += len;
  }
  return true;
}

/* UTF-16LE code units -> UTF-8 (unpaired surrogates trap). */
static zh_error *load_utf16(zh_abi_cx *cx, uint32_t ptr, uint32_t units, zh_val *out) {
  zh_error *err = zh_abi_check_range(cx, "string", ptr, (uint64_t)units * 2, 2);
  if (err)
    return err;
  const uint8_t *p = zh_memory_data(cx->mem) + ptr;
  char *buf = malloc((size_t)units * 3 + 1);
  if (!buf)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < units; i++) {
    uint32_t c = (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
      uint32_t d = (uint32_t)p[2 * i + 2] | (uint32_t)p[2 * i + 3] << 8;
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      free(buf);
      return zh_abi_trap(cx, "invalid UTF-16 in string at 0x%x: unpaired surrogate", ptr);
    }
    if (c < 0x80) {
      buf[n++] = (char)c;
    } else if (c < 0x800) {
      buf[n++] = (char)(0xc0 | c >> 6);
      buf[n++] = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      buf[n++] = (char)(0xe0 | c >> 12);
      buf[n++] = (char)(0x80 | (c >> 6 & 0x3f));
      buf[n++] = (char)(0x80 | (c & 0x3f));
    } else {
      buf[n++] = (char)(0xf0 | c >> 18);
      buf[n++] = (char)(0x80 | (c >> 12 & 0x3f));
      buf[n++] = (char)(0x80 | (c >> 6 & 0x3f));
      buf[n++] = (char)(0x80 | (c & 0x3f));
    }
  }
  err = zh_val_string(out, buf, n);
  free(buf);
  return err;
}

/* Latin-1 bytes -> UTF-8. */
static zh_error *load_latin1(zh_abi_cx *cx, uint32_t ptr, uint32_t len, zh_val *out) {
  zh_error *err = zh_abi_check_range(cx, "string", ptr, len, 2);
  if (err)
    return err;
  const uint8_t *p = zh_memory_data(cx->mem) + ptr;
  char *buf = malloc((size_t)len * 2 + 1);
  if (!buf)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  size_t n = 0;
  for (uint32_t i = 0; i < len; i++) {
    if (p[i] < 0x80) {
      buf[n++] = (char)p[i];
    } else {
      buf[n++] = (char)(0xc0 | p[i] >> 6);
      buf[n++] = (char)(0x80 | (p[i] & 0x3f));
    }
  }
  err = zh_val_string(out, buf, n);
  free(buf);
  return err;
}

static zh_error *load_string_range(zh_abi_cx *cx, uint32_t ptr, uint32_t len, zh_val *out) {
  if (cx->enc == ZH_ABI_UTF16)
    return load_utf16(cx, ptr, len, out);
  if (cx->enc == ZH_ABI_LATIN1_UTF16)
    return len & ZH_ABI_UTF16_TAG ? load_utf16(cx, ptr, len & ~ZH_ABI_UTF16_TAG, out)
                                  : load_latin1(cx, ptr, len, out);
  zh_error *err = zh_abi_check_range(cx, "string", ptr, len, 1);
  if (err)
    return err;
  const uint8_t *p = zh_memory_data(cx->mem) + ptr;
  size_t bad;
  if (!utf8_valid(p, len, &bad))
    return zh_abi_trap(cx, "invalid UTF-8 in string at 0x%x, byte %zu", ptr, bad);
  return lift_string(cx, (const char *)p, len, out);
}

static zh_error *load_at(zh_abi_cx *cx, const zh_wit_type *t, const uint8_t *base, uint32_t ptr,
                         zh_val *out);

static zh_error *load_list_range(zh_abi_cx *cx, const zh_wit_type *lt, uint32_t ptr, uint32_t len,
                                 zh_val *out) {
  const zh_wit_type *et = zh_abi_unalias(lt->elem);
  uint32_t es = zh_abi_size(et), ea = zh_abi_align(et);
  zh_error *err = zh_abi_check_range(cx, "list", ptr, (uint64_t)len * es, ea);
  if (err)
    return err;
  const uint8_t *base = zh_memory_data(cx->mem);
  /* Numbers have the same layout on both sides: one copy for the whole list. */
  if (zh_val_raw_size(et->kind) == es && es)
    return lift_raw(cx, et->kind, es, base + ptr, len, out);
  if ((err = zh_val_list(out, len)))
    return err;
  for (uint32_t i = 0; i < len; i++)
    if ((err = load_at(cx, et, base, ptr + i * es, &out->of.list.items[i]))) {
      zh_abi_lent_drop(cx, out);
      return err;
    }
  return NULL;
}

static uint32_t rd32(const uint8_t *p) {
  uint32_t x;
  memcpy(&x, p, 4);
  return x;
}

static zh_val make_variant_kind(const zh_wit_type *t, uint32_t disc) {
  zh_val v;
  memset(&v, 0, sizeof v);
  v.kind = t->kind;
  v.of.var.disc = disc;
  return v;
}

static zh_error *attach_payload(zh_abi_cx *cx, zh_val *out, zh_val *payload) {
  out->of.var.payload = lend(cx, sizeof(zh_val));
  if (!out->of.var.payload)
    out->of.var.payload = malloc(sizeof(zh_val));
  if (!out->of.var.payload) {
    zh_abi_lent_drop(cx, payload);
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  }
  *out->of.var.payload = *payload;
  return NULL;
}

/* Loads with the whole value's range already checked. */
static zh_error *load_at(zh_abi_cx *cx, const zh_wit_type *t, const uint8_t *base, uint32_t ptr,
                         zh_val *out) {
  t = zh_abi_unalias(t);
  const uint8_t *p = base + ptr;
  zh_error *err;
  switch (t->kind) {
  case ZH_WIT_BOOL:
    *out = zh_val_bool(p[0] != 0); /* the spec lifts any nonzero byte as true */
    return NULL;
  case ZH_WIT_S8:
    *out = zh_val_s8((int8_t)p[0]);
    return NULL;
  case ZH_WIT_U8:
    *out = zh_val_u8(p[0]);
    return NULL;
  case ZH_WIT_S16: {
    int16_t x;
    memcpy(&x, p, 2);
    *out = zh_val_s16(x);
    return NULL;
  }
  case ZH_WIT_U16: {
    uint16_t x;
    memcpy(&x, p, 2);
    *out = zh_val_u16(x);
    return NULL;
  }
  case ZH_WIT_S32:
    *out = zh_val_s32((int32_t)rd32(p));
    return NULL;
  case ZH_WIT_U32:
    *out = zh_val_u32(rd32(p));
    return NULL;
  case ZH_WIT_S64:
  case ZH_WIT_U64:
  case ZH_WIT_F64:
    *out = zh_val_u64(0);
    out->kind = t->kind;
    memcpy(&out->of.u, p, 8);
    return NULL;
  case ZH_WIT_F32:
    *out = zh_val_f32(0);
    memcpy(&out->of.f32, p, 4);
    return NULL;
  case ZH_WIT_CHAR:
    if ((err = check_char(cx, rd32(p))))
      return err;
    *out = zh_val_char(rd32(p));
    return NULL;
  case ZH_WIT_STRING:
    return load_string_range(cx, rd32(p), rd32(p + 4), out);
  case ZH_WIT_LIST:
    return load_list_range(cx, t, rd32(p), rd32(p + 4), out);
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE: {
    if ((err = t->kind == ZH_WIT_RECORD ? zh_val_record(out, t->nfields)
                                        : zh_val_tuple(out, t->nfields)))
      return err;
    uint32_t off = 0;
    for (size_t i = 0; i < t->nfields; i++) {
      const zh_wit_type *ft = t->fields[i].type;
      uint32_t a = zh_abi_align(ft);
      off = (off + a - 1) & ~(a - 1);
      if ((err = load_at(cx, ft, base, ptr + off, &out->of.agg.fields[i]))) {
        zh_abi_lent_drop(cx, out);
        return err;
      }
      off += zh_abi_size(ft);
    }
    return NULL;
  }
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT: {
    size_t nc = zh_abi_case_count(t);
    uint32_t ds = zh_abi_disc_size(nc), disc = 0;
    memcpy(&disc, p, ds);
    if (disc >= nc)
      return zh_abi_trap(cx, "%s discriminant %u out of range (%zu cases)",
                         zh_wit_type_kind_name(t->kind), disc, nc);
    *out = make_variant_kind(t, disc);
    const zh_wit_type *ct = zh_abi_case_type(t, disc);
    if (!ct)
      return NULL;
    zh_val payload;
    if ((err = load_at(cx, ct, base, ptr + zh_abi_payload_offset(t), &payload)))
      return err;
    return attach_payload(cx, out, &payload);
  }
  case ZH_WIT_FLAGS: {
    if ((err = zh_val_flags(out, t->nfields)))
      return err;
    /* Bits past the last flag are ignored, as unpack_flags_from_int does. */
    if (t->nfields <= 32) {
      uint32_t x = 0;
      memcpy(&x, p, zh_abi_size(t));
      for (size_t i = 0; i < t->nfields; i++)
        zh_val_flag_set(out, i, (x >> i) & 1u);
    } else {
      for (size_t i = 0; i < t->nfields; i++)
        zh_val_flag_set(out, i, (rd32(p + 4 * (i / 32)) >> (i % 32)) & 1u);
    }
    return NULL;
  }
  case ZH_WIT_OWN:
    return lift_own(cx, zh_abi_unalias(t->elem), rd32(p), out);
  case ZH_WIT_BORROW:
    return lift_borrow(cx, zh_abi_unalias(t->elem), rd32(p), out);
  default:
    return zh_abi_usage(cx, "cannot lift a %s", zh_wit_type_kind_name(t->kind));
  }
}

zh_error *zh_abi_load(zh_abi_cx *cx, const zh_wit_type *t, uint32_t ptr, zh_val *out) {
  zh_error *err = zh_abi_check_range(cx, "value", ptr, zh_abi_size(t), zh_abi_align(t));
  if (err)
    return err;
  return load_at(cx, t, zh_memory_data(cx->mem), ptr, out);
}

/* ---- flat lifting ---- */

/* The next flat value as `want`, coerced from the joined type the value actually has
 * (CoerceValueIter of lift_flat_variant). */
static zh_error *next_flat(zh_abi_cx *cx, const zh_value *vals, size_t n, size_t *i,
                           zh_valtype want, uint64_t *bits) {
  if (*i >= n)
    return zh_abi_usage(cx, "too few core values");
  const zh_value *v = &vals[(*i)++];
  uint64_t x;
  switch (v->type) {
  case ZH_I32:
    x = (uint32_t)v->of.i32;
    break;
  case ZH_I64:
    x = (uint64_t)v->of.i64;
    break;
  case ZH_F32:
    x = v->of.f32_bits;
    break;
  case ZH_F64:
    x = v->of.f64_bits;
    break;
  default:
    return zh_abi_usage(cx, "core value of type %s", zh_valtype_name(v->type));
  }
  /* i32 from i64, f32 from i32 or i64: the low 32 bits; f64 from i64: the bits. */
  if (want == ZH_I32 || want == ZH_F32)
    x = (uint32_t)x;
  *bits = x;
  return NULL;
}

zh_error *zh_abi_lift_flat(zh_abi_cx *cx, const zh_wit_type *t, const zh_value *vals, size_t n,
                           size_t *i, zh_val *out) {
  t = zh_abi_unalias(t);
  uint64_t x = 0, y = 0;
  zh_error *err;
  switch (t->kind) {
  case ZH_WIT_S64:
  case ZH_WIT_U64:
    if ((err = next_flat(cx, vals, n, i, ZH_I64, &x)))
      return err;
    *out = zh_val_u64(x);
    out->kind = t->kind;
    return NULL;
  case ZH_WIT_F32: {
    if ((err = next_flat(cx, vals, n, i, ZH_F32, &x)))
      return err;
    uint32_t b = (uint32_t)x;
    *out = zh_val_f32(0);
    memcpy(&out->of.f32, &b, 4);
    return NULL;
  }
  case ZH_WIT_F64:
    if ((err = next_flat(cx, vals, n, i, ZH_F64, &x)))
      return err;
    *out = zh_val_f64(0);
    memcpy(&out->of.f64, &x, 8);
    return NULL;
  case ZH_WIT_STRING:
  case ZH_WIT_LIST:
    if ((err = next_flat(cx, vals, n, i, ZH_I32, &x)) ||
        (err = next_flat(cx, vals, n, i, ZH_I32, &y)))
      return err;
    return t->kind == ZH_WIT_STRING ? load_string_range(cx, (uint32_t)x, (uint32_t)y, out)
                                    : load_list_range(cx, t, (uint32_t)x, (uint32_t)y, out);
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    if ((err = t->kind == ZH_WIT_RECORD ? zh_val_record(out, t->nfields)
                                        : zh_val_tuple(out, t->nfields)))
      return err;
    for (size_t f = 0; f < t->nfields; f++)
      if ((err = zh_abi_lift_flat(cx, t->fields[f].type, vals, n, i, &out->of.agg.fields[f]))) {
        zh_abi_lent_drop(cx, out);
        return err;
      }
    return NULL;
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT: {
    size_t nflat = zh_abi_flat_count(t);
    if (nflat == SIZE_MAX)
      return zh_abi_usage(cx, "variant too wide to be flat");
    if ((err = next_flat(cx, vals, n, i, ZH_I32, &x)))
      return err;
    size_t nc = zh_abi_case_count(t), end = *i + nflat - 1;
    if (x >= nc)
      return zh_abi_trap(cx, "%s discriminant %llu out of range (%zu cases)",
                         zh_wit_type_kind_name(t->kind), (unsigned long long)x, nc);
    *out = make_variant_kind(t, (uint32_t)x);
    const zh_wit_type *ct = zh_abi_case_type(t, (size_t)x);
    if (ct) {
      zh_val payload;
      if ((err = zh_abi_lift_flat(cx, ct, vals, n, i, &payload)))
        return err;
      if ((err = attach_payload(cx, out, &payload)))
        return err;
    }
    *i = end; /* skip the padding of shorter cases */
    return NULL;
  }
  case ZH_WIT_FLAGS:
    if ((err = zh_val_flags(out, t->nfields)))
      return err;
    for (uint32_t w = 0; w < zh_abi_flags_words(t->nfields); w++) {
      if ((err = next_flat(cx, vals, n, i, ZH_I32, &x))) {
        zh_abi_lent_drop(cx, out);
        return err;
      }
      for (size_t b = 0; b < 32 && (size_t)w * 32 + b < t->nfields; b++)
        zh_val_flag_set(out, (size_t)w * 32 + b, (x >> b) & 1u);
    }
    return NULL;
  default:
    break;
  }
  /* The remaining kinds are one i32. */
  if ((err = next_flat(cx, vals, n, i, ZH_I32, &x)))
    return err;
  uint32_t w = (uint32_t)x;
  switch (t->kind) {
  case ZH_WIT_BOOL:
    *out = zh_val_bool(w != 0);
    return NULL;
  /* Narrow integers keep their low bits (lift_flat_signed / lift_flat_unsigned). */
  case ZH_WIT_S8:
    *out = zh_val_s8((int8_t)(uint8_t)w);
    return NULL;
  case ZH_WIT_U8:
    *out = zh_val_u8((uint8_t)w);
    return NULL;
  case ZH_WIT_S16:
    *out = zh_val_s16((int16_t)(uint16_t)w);
    return NULL;
  case ZH_WIT_U16:
    *out = zh_val_u16((uint16_t)w);
    return NULL;
  case ZH_WIT_S32:
    *out = zh_val_s32((int32_t)w);
    return NULL;
  case ZH_WIT_U32:
    *out = zh_val_u32(w);
    return NULL;
  case ZH_WIT_CHAR:
    if ((err = check_char(cx, w)))
      return err;
    *out = zh_val_char(w);
    return NULL;
  case ZH_WIT_OWN:
    return lift_own(cx, zh_abi_unalias(t->elem), w, out);
  case ZH_WIT_BORROW:
    return lift_borrow(cx, zh_abi_unalias(t->elem), w, out);
  default:
    return zh_abi_usage(cx, "cannot lift a %s", zh_wit_type_kind_name(t->kind));
  }
}

/* ---- planned flat lifting ---- */

void zh_abi_lift_plan_of(const zh_wit_type *t, zh_abi_lift_plan *out) {
  memset(out, 0, sizeof *out);
  out->t = t;
  t = zh_abi_unalias(t);
  if (!t)
    return;
  switch (t->kind) {
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW:
    out->op = t->kind == ZH_WIT_OWN ? ZH_ABI_LIFT_OWN : ZH_ABI_LIFT_BORROW;
    out->rt = zh_abi_unalias(t->elem);
    return;
  case ZH_WIT_STRING:
    out->op = ZH_ABI_LIFT_STRING;
    return;
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT: {
    size_t nflat = zh_abi_flat_count(t);
    if (nflat == SIZE_MAX)
      return;
    for (size_t c = 0; c < 2; c++) {
      const zh_wit_type *ct = zh_abi_unalias(zh_abi_case_type(t, c));
      bool handle = ct && (ct->kind == ZH_WIT_OWN || ct->kind == ZH_WIT_BORROW);
      out->case_t[c] = ct;
      out->case_rt[c] = handle ? zh_abi_unalias(ct->elem) : NULL;
      out->case_own[c] = handle && ct->kind == ZH_WIT_OWN;
    }
    out->nflat = (uint32_t)nflat;
    out->op = ZH_ABI_LIFT_CASE;
    return;
  }
  case ZH_WIT_LIST: {
    const zh_wit_type *et = zh_abi_unalias(t->elem);
    uint32_t es = et ? zh_abi_size(et) : 0;
    if (et && es && zh_val_raw_size(et->kind) == es) {
      out->op = ZH_ABI_LIFT_LIST_RAW;
      out->elem = et->kind;
      out->es = es;
      out->ea = zh_abi_align(et);
    }
    return;
  }
  default:
    return;
  }
}

/* The next flat value when it is the i32 the plan expects; false sends the caller to the
 * general path (which coerces or reports). */
static bool next_i32(const zh_value *vals, size_t n, size_t *i, uint32_t *x) {
  if (*i >= n || vals[*i].type != ZH_I32)
    return false;
  *x = (uint32_t)vals[(*i)++].of.i32;
  return true;
}

/* The next flat value's low 32 bits, as a variant's joined slot carries an i32 (next_flat
 * with ZH_I32); false for a value of no core number type. */
static bool next_bits32(const zh_value *vals, size_t n, size_t *i, uint32_t *x) {
  if (*i >= n)
    return false;
  const zh_value *v = &vals[*i];
  switch (v->type) {
  case ZH_I32:
    *x = (uint32_t)v->of.i32;
    break;
  case ZH_I64:
    *x = (uint32_t)v->of.i64;
    break;
  case ZH_F32:
    *x = v->of.f32_bits;
    break;
  case ZH_F64:
    *x = (uint32_t)v->of.f64_bits;
    break;
  default:
    return false;
  }
  (*i)++;
  return true;
}

/* An option or result of handles (ZH_ABI_LIFT_CASE); NULL with *fallback set when the
 * values are not what the plan reads, for the general path to report. */
static zh_error *lift_case(zh_abi_cx *cx, const zh_abi_lift_plan *p, const zh_value *vals, size_t n,
                           size_t *i, zh_val *out, bool *fallback) {
  size_t start = *i;
  uint32_t disc, h = 0;
  if (start > n || n - start < p->nflat || !next_bits32(vals, n, i, &disc) || disc > 1 ||
      (p->case_rt[disc] && !next_bits32(vals, n, i, &h))) {
    *fallback = true;
    return NULL;
  }
  memset(out, 0, sizeof *out);
  out->kind = zh_abi_unalias(p->t)->kind;
  out->of.var.disc = disc;
  if (!p->case_t[disc]) {
    *i = start + p->nflat; /* past the padding of the shorter case */
    return NULL;
  }
  zh_val payload;
  zh_error *err;
  if (p->case_rt[disc])
    err = p->case_own[disc] ? lift_own(cx, p->case_rt[disc], h, &payload)
                            : lift_borrow(cx, p->case_rt[disc], h, &payload);
  else /* another payload: lifted from the joined slots the general way */
    err = zh_abi_lift_flat(cx, p->case_t[disc], vals, n, i, &payload);
  *i = start + p->nflat;
  return err ? err : attach_payload(cx, out, &payload);
}

zh_error *zh_abi_lift_planned(zh_abi_cx *cx, const zh_abi_lift_plan *p, const zh_value *vals,
                              size_t n, size_t *i, zh_val *out) {
  size_t at = *i;
  uint32_t x, y;
  switch (p->op) {
  case ZH_ABI_LIFT_OWN:
    if (next_i32(vals, n, i, &x))
      return lift_own(cx, p->rt, x, out);
    break;
  case ZH_ABI_LIFT_BORROW:
    if (next_i32(vals, n, i, &x))
      return lift_borrow(cx, p->rt, x, out);
    break;
  case ZH_ABI_LIFT_STRING:
    if (next_i32(vals, n, i, &x) && next_i32(vals, n, i, &y))
      return load_string_range(cx, x, y, out);
    break;
  case ZH_ABI_LIFT_CASE: {
    bool fallback = false;
    zh_error *err = lift_case(cx, p, vals, n, i, out, &fallback);
    if (!fallback)
      return err;
    break;
  }
  case ZH_ABI_LIFT_LIST_RAW:
    if (next_i32(vals, n, i, &x) && next_i32(vals, n, i, &y)) {
      zh_error *err = zh_abi_check_range(cx, "list", x, (uint64_t)y * p->es, p->ea);
      return err ? err : lift_raw(cx, p->elem, p->es, zh_memory_data(cx->mem) + x, y, out);
    }
    break;
  default:
    break;
  }
  *i = at;
  return zh_abi_lift_flat(cx, p->t, vals, n, i, out);
}
