/* Building small wasm modules byte by byte for the benchmarks (bench/instantiate.c,
 * bench/snapshot.c): a growable buffer, LEB128, sections, names, and the xorshift noise that
 * fills data segments so that no page of an image is zero. Header-only; running out of memory
 * ends the benchmark with a message. */
#ifndef ZH_BENCH_WASM_BYTES_H
#define ZH_BENCH_WASM_BYTES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint8_t *p;
  size_t len, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
      cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      fprintf(stderr, "bench: out of memory building a module\n");
      exit(1);
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void byte(buf *b, uint8_t v) { put(b, &v, 1); }

static void uleb(buf *b, uint64_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    byte(b, (uint8_t)(v ? c | 0x80 : c));
  } while (v);
}

static inline void sleb(buf *b, int64_t v) {
  for (;;) {
    uint8_t c = v & 0x7f;
    v >>= 7; /* arithmetic shift on every compiler this builds with */
    if ((v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40))) {
      byte(b, c);
      return;
    }
    byte(b, c | 0x80);
  }
}

/* Appends section `id` with `content` to `out` and empties `content` for the next one. */
static void section(buf *out, uint8_t id, buf *content) {
  byte(out, id);
  uleb(out, content->len);
  put(out, content->p, content->len);
  content->len = 0;
}

static inline void name(buf *b, const char *s) {
  uleb(b, strlen(s));
  put(b, s, strlen(s));
}

/* Byte i of a data segment: xorshift noise, so that no page is zero. */
static inline uint8_t noise(uint32_t i) {
  uint32_t x = i * 2654435761u + 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return (uint8_t)(x >> 7);
}

#endif
