/* A bounds-checked reader over a byte range of a WebAssembly binary, shared by the decoder,
 * the validator and the compiler.
 *
 * Every zh_read_* function returns true on success and advances `p`. On failure it returns
 * false, leaves `p` at the start of the item it could not read (so zh_reader_offset() names
 * the culprit) and sets `err` to the reason, worded as the spec tests word it:
 *   "unexpected end"                   the range ends inside the item
 *   "integer representation too long"  a LEB128 with more bytes than its width allows
 *   "integer too large"                a LEB128 whose last byte sets bits beyond its width
 *   "length out of bounds"             a vector or name longer than the remaining bytes
 *   "malformed UTF-8 encoding"         a name that is not well-formed UTF-8
 *   "malformed value type", "malformed reference type"
 * Nothing here allocates, and no read ever touches a byte outside [p, end).
 *
 *   zh_reader r;
 *   zh_reader_init(&r, bytes, len);
 *   uint32_t n;
 *   if (!zh_read_u32(&r, &n)) report(zh_reader_offset(&r), r.err);
 */
#ifndef ZH_WASM_READER_H
#define ZH_WASM_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zh_reader {
  const uint8_t *p;     /* next byte to read */
  const uint8_t *end;   /* one past the last readable byte */
  const uint8_t *start; /* origin for offsets: the module's first byte */
  const char *err;      /* reason of the last failed read; NULL until one fails */
} zh_reader;

#define ZH_READ_EOF_TEXT "unexpected end"

static inline void zh_reader_init(zh_reader *r, const uint8_t *bytes, size_t len) {
  static const uint8_t none[1];
  if (!bytes)
    bytes = none, len = 0; /* pointer arithmetic on NULL is undefined, even +0 */
  r->p = bytes;
  r->end = bytes + len;
  r->start = bytes;
  r->err = NULL;
}

/* Offset of the next byte from `start`, i.e. a file offset. */
static inline size_t zh_reader_offset(const zh_reader *r) { return (size_t)(r->p - r->start); }
static inline size_t zh_reader_remaining(const zh_reader *r) { return (size_t)(r->end - r->p); }
static inline bool zh_reader_eof(const zh_reader *r) { return r->p >= r->end; }

static inline bool zh_reader_fail(zh_reader *r, const char *reason) {
  r->err = reason;
  return false;
}

/* Splits off the next `len` bytes as `sub` (same origin, so offsets stay file offsets) and
 * skips them in `r`: used for sections and function bodies. */
static inline bool zh_reader_sub(zh_reader *r, size_t len, zh_reader *sub) {
  if (len > zh_reader_remaining(r))
    return zh_reader_fail(r, "length out of bounds");
  sub->p = r->p;
  sub->end = r->p + len;
  sub->start = r->start;
  sub->err = NULL;
  r->p += len;
  return true;
}

static inline bool zh_read_u8(zh_reader *r, uint8_t *out) {
  if (r->p >= r->end)
    return zh_reader_fail(r, ZH_READ_EOF_TEXT);
  *out = *r->p++;
  return true;
}

/* The next byte without consuming it. */
static inline bool zh_peek_u8(zh_reader *r, uint8_t *out) {
  if (r->p >= r->end)
    return zh_reader_fail(r, ZH_READ_EOF_TEXT);
  *out = *r->p;
  return true;
}

static inline bool zh_read_bytes(zh_reader *r, size_t n, const uint8_t **out) {
  if (n > zh_reader_remaining(r))
    return zh_reader_fail(r, ZH_READ_EOF_TEXT);
  *out = r->p;
  r->p += n;
  return true;
}

/* Unsigned LEB128 of at most `bits` (1..64) significant bits, in at most ceil(bits/7) bytes;
 * padding with 0x80 bytes is allowed within that length. */
static inline bool zh_read_uleb(zh_reader *r, unsigned bits, uint64_t *out) {
  const uint8_t *p = r->p;
  unsigned maxbytes = (bits + 6) / 7, shift = 0;
  uint64_t v = 0;
  for (unsigned i = 0;; i++) {
    if (p >= r->end)
      return zh_reader_fail(r, ZH_READ_EOF_TEXT);
    uint8_t b = *p++;
    if (i + 1 == maxbytes) {
      if (b & 0x80)
        return zh_reader_fail(r, "integer representation too long");
      unsigned room = bits - shift; /* value bits the last byte may still carry, 1..7 */
      if (room < 7 && (b >> room) != 0)
        return zh_reader_fail(r, "integer too large");
      v |= (uint64_t)b << shift;
      break;
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80))
      break;
  }
  r->p = p;
  *out = v;
  return true;
}

/* Signed LEB128 of `bits` (1..64) bits: the unused high bits of the last allowed byte must
 * repeat the sign bit. */
static inline bool zh_read_sleb(zh_reader *r, unsigned bits, int64_t *out) {
  const uint8_t *p = r->p;
  unsigned maxbytes = (bits + 6) / 7, shift = 0;
  uint64_t v = 0;
  uint8_t b = 0;
  for (unsigned i = 0;; i++) {
    if (p >= r->end)
      return zh_reader_fail(r, ZH_READ_EOF_TEXT);
    b = *p++;
    if (i + 1 == maxbytes) {
      if (b & 0x80)
        return zh_reader_fail(r, "integer representation too long");
      unsigned room = bits - shift; /* 1..7, the last of them is the sign bit */
      if (room < 7) {
        uint8_t mask = (uint8_t)(0x7f & ~((1u << (room - 1)) - 1)); /* sign bit and above */
        uint8_t top = b & mask;
        if (top != 0 && top != mask)
          return zh_reader_fail(r, "integer too large");
      }
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80))
      break;
  }
  if (shift < 64 && (b & 0x40))
    v |= ~(uint64_t)0 << shift;
  r->p = p;
  /* Two's complement reinterpretation without an implementation-defined conversion. */
  *out = v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
  return true;
}

static inline bool zh_read_u32(zh_reader *r, uint32_t *out) {
  uint64_t v;
  if (!zh_read_uleb(r, 32, &v))
    return false;
  *out = (uint32_t)v;
  return true;
}

static inline bool zh_read_u64(zh_reader *r, uint64_t *out) { return zh_read_uleb(r, 64, out); }

static inline bool zh_read_s32(zh_reader *r, int32_t *out) {
  int64_t v;
  if (!zh_read_sleb(r, 32, &v))
    return false;
  *out = (int32_t)v; /* in range: zh_read_sleb checked the width */
  return true;
}

/* Block types: a value type, 0x40, or a non-negative type index. */
static inline bool zh_read_s33(zh_reader *r, int64_t *out) { return zh_read_sleb(r, 33, out); }

static inline bool zh_read_s64(zh_reader *r, int64_t *out) { return zh_read_sleb(r, 64, out); }

/* Little-endian fixed-width values: f32/f64 immediates as bit patterns. */
static inline bool zh_read_fixed32(zh_reader *r, uint32_t *out) {
  const uint8_t *b;
  if (!zh_read_bytes(r, 4, &b))
    return false;
  *out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  return true;
}

static inline bool zh_read_fixed64(zh_reader *r, uint64_t *out) {
  const uint8_t *b;
  if (!zh_read_bytes(r, 8, &b))
    return false;
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | b[i];
  *out = v;
  return true;
}

/* A vector length. Every vector element in the binary format takes at least one byte, so
 * a count beyond the remaining bytes is rejected before anyone allocates for it. */
static inline bool zh_read_count(zh_reader *r, uint32_t *out) {
  const uint8_t *p = r->p;
  uint32_t n;
  if (!zh_read_u32(r, &n))
    return false;
  if (n > zh_reader_remaining(r)) {
    r->p = p;
    return zh_reader_fail(r, "length out of bounds");
  }
  *out = n;
  return true;
}

/* Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static inline bool zh_utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0fu, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len)
      return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = cp << 6 | (s[i + k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

/* A name: u32 byte length then UTF-8 bytes (not NUL-terminated). */
static inline bool zh_read_name(zh_reader *r, const uint8_t **ptr, uint32_t *len) {
  const uint8_t *p = r->p;
  uint32_t n;
  if (!zh_read_u32(r, &n))
    return false;
  if (n > zh_reader_remaining(r)) {
    r->p = p;
    return zh_reader_fail(r, "length out of bounds");
  }
  if (!zh_utf8_valid(r->p, n)) {
    r->p = p;
    return zh_reader_fail(r, "malformed UTF-8 encoding");
  }
  *ptr = r->p;
  *len = n;
  r->p += n;
  return true;
}

/* Type bytes are one-byte signed LEB128s in the spec grammar, hence "too long" for 0x80. */
static inline bool zh_read_type_byte(zh_reader *r, uint8_t *out) {
  uint8_t b;
  if (!zh_peek_u8(r, &b))
    return false;
  if (b & 0x80)
    return zh_reader_fail(r, "integer representation too long");
  *out = b;
  return true;
}

static inline bool zh_is_valtype(uint8_t b) {
  return (b >= 0x7b && b <= 0x7f) || b == 0x70 || b == 0x6f; /* num, v128, funcref, externref */
}

static inline bool zh_is_reftype(uint8_t b) { return b == 0x70 || b == 0x6f; }

/* A value type: i32 i64 f32 f64 v128 funcref externref, as its binary code. */
static inline bool zh_read_valtype(zh_reader *r, uint8_t *out) {
  uint8_t b;
  if (!zh_read_type_byte(r, &b))
    return false;
  if (!zh_is_valtype(b))
    return zh_reader_fail(r, "malformed value type");
  r->p++;
  *out = b;
  return true;
}

static inline bool zh_read_reftype(zh_reader *r, uint8_t *out) {
  uint8_t b;
  if (!zh_read_type_byte(r, &b))
    return false;
  if (!zh_is_reftype(b))
    return zh_reader_fail(r, "malformed reference type");
  r->p++;
  *out = b;
  return true;
}

#endif
