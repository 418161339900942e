/* String handling: building records with memcpy and snprintf-free formatting, clearing
 * buffers with memset, moving overlapping text with memmove, and a hash table of strings
 * compared with strcmp. Built with bulk memory (-mbulk-memory), so clang turns the copies
 * and fills whose size is only known at run time into memory.copy and memory.fill.
 * Usage: strings [ROUNDS] (default 800). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORDS 4096u
#define BUF_BYTES (1u << 16)
#define SLOTS 8192u

static const char *const words[] = {"alpha",   "bravo", "charlie", "delta",   "echo",
                                    "foxtrot", "golf",  "hotel",   "india",   "juliett",
                                    "kilo",    "lima",  "mike",    "november"};

static uint32_t rng = 7u;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* Writes "word-word-NNNN" into out; returns its length. */
static size_t make_name(char *out, uint32_t a, uint32_t b, uint32_t n) {
  size_t la = strlen(words[a]), lb = strlen(words[b]);
  memcpy(out, words[a], la);
  out[la] = '-';
  memcpy(out + la + 1, words[b], lb);
  size_t p = la + 1 + lb;
  out[p++] = '-';
  for (int d = 3; d >= 0; d--) {
    out[p + (size_t)d] = (char)('0' + n % 10);
    n /= 10;
  }
  p += 4;
  out[p] = '\0';
  return p;
}

static uint32_t hash(const char *s) {
  uint32_t h = 2166136261u;
  while (*s)
    h = (h ^ (uint8_t)*s++) * 16777619u;
  return h;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 800;
  char *buf = calloc(1, BUF_BYTES);
  char(*names)[40] = malloc(RECORDS * sizeof *names);
  const char **slots = malloc(SLOTS * sizeof *slots);
  if (!buf || !names || !slots)
    return 1;
  uint32_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    memset(slots, 0, SLOTS * sizeof *slots);
    size_t used = 0;
    for (uint32_t i = 0; i < RECORDS; i++) {
      uint32_t a = next() % 14, b = next() % 14; /* sequenced: argument order is unspecified */
      size_t len = make_name(names[i], a, b, next() % 10000);
      if (used + len + 1 > BUF_BYTES) { /* compact: keep the last half */
        memmove(buf, buf + used / 2, used - used / 2);
        used -= used / 2;
      }
      memcpy(buf + used, names[i], len + 1);
      used += len + 1;
      uint32_t h = hash(names[i]) & (SLOTS - 1);
      while (slots[h] && strcmp(slots[h], names[i]) != 0)
        h = (h + 1) & (SLOTS - 1);
      if (!slots[h])
        slots[h] = names[i];
      else
        sum++;
    }
    for (int k = 0; k < 24; k++) {
      size_t n = 1024u + (next() % (BUF_BYTES / 2));
      memset(buf + (next() % (BUF_BYTES - n)), k, n);
      size_t from = next() % (BUF_BYTES - n), to = next() % (BUF_BYTES - n);
      memmove(buf + to, buf + from, n);
    }
    for (uint32_t i = 0; i < BUF_BYTES; i += 64)
      sum = sum * 31u + (uint8_t)buf[i];
  }
  printf("strings: %u\n", sum);
  free(buf);
  free(names);
  free(slots);
  return 0;
}
