/* Text parsing through wasi-libc's string functions: the work a request handler does on a
 * small text body. Builds a few KiB of "key value" lines, then per round splits them with
 * memchr, measures fields with strlen, matches keys with strcmp/strncmp, converts numbers
 * with strtol and copies fields with memcpy; prints a checksum. The loops that run are
 * libc's word-at-a-time ones, as clang -O2 compiles them for wasm32.
 * Usage: textscan [ROUNDS] (default 3000). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_BYTES 8192u

static const char *const keys[] = {"item", "quantity", "price", "customer", "note", "discount"};
#define NKEYS (sizeof keys / sizeof keys[0])

static uint32_t rng = 12345u;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* Fills text with lines "KEY VALUE\n" (numbers for most keys, words for the others) and a
 * terminating NUL; returns its length. */
static size_t build_text(char *text, size_t cap) {
  size_t n = 0;
  while (n + 64 < cap) {
    const char *k = keys[next() % NKEYS];
    int w;
    if (k[0] == 'c' || k[0] == 'n')
      w = snprintf(text + n, cap - n, "%s %s-%u-%s\n", k, "word", next() % 1000u, "tail");
    else
      w = snprintf(text + n, cap - n, "%s %ld\n", k, (long)(next() % 100000u) - 50000);
    n += (size_t)w;
  }
  text[n] = 0;
  return n;
}

/* One pass over the text: returns a checksum of what it found. */
static uint64_t scan(const char *text, size_t len, char *field) {
  uint64_t sum = 0;
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
      break;
    const char *sp = memchr(p, ' ', (size_t)(nl - p));
    if (sp) {
      size_t klen = (size_t)(sp - p), vlen = (size_t)(nl - sp - 1);
      memcpy(field, p, klen);
      field[klen] = 0;
      for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(field, keys[i]) == 0) {
          sum += i * 7u;
          break;
        }
      if (strncmp(field, "cust", 4) == 0) {
        memcpy(field, sp + 1, vlen);
        field[vlen] = 0;
        sum += strlen(field);
        const char *dash = strchr(field, '-');
        if (dash)
          sum += (uint64_t)strtol(dash + 1, NULL, 10);
      } else {
        sum += (uint64_t)strtol(sp + 1, NULL, 10);
      }
    }
    p = nl + 1;
  }
  return sum + strlen(text);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 3000;
  static char text[TEXT_BYTES], field[256];
  size_t len = build_text(text, sizeof text);
  uint64_t sum = 0;
  for (int r = 0; r < rounds; r++)
    sum = sum * 31u + scan(text, len, field);
  printf("textscan: %d rounds over %zu bytes, checksum %llu\n", rounds, len,
         (unsigned long long)sum);
  return 0;
}
