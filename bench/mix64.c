/* 64-bit integer mixing: the hash and PRNG finalisers that hash tables, checksums and
 * random generators run (splitmix64, a murmur-style finaliser, an xxhash-style round over a
 * buffer), 64-bit rotates, multiplies, population counts, and division by a variable.
 * Usage: mix64 [ROUNDS] (default 240). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define WORDS (1u << 15)

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  return k ^ (k >> 33);
}

static uint64_t rotl(uint64_t x, unsigned r) { return (x << r) | (x >> ((64 - r) & 63)); }

/* Four lanes of multiply-rotate-multiply over the buffer, then merged. */
static uint64_t xxround(const uint64_t *w, size_t n, uint64_t seed) {
  const uint64_t p1 = 0x9e3779b185ebca87ull, p2 = 0xc2b2ae3d27d4eb4full;
  uint64_t v[4] = {seed + p1 + p2, seed + p2, seed, seed - p1};
  for (size_t i = 0; i + 4 <= n; i += 4)
    for (int l = 0; l < 4; l++)
      v[l] = rotl(v[l] + w[i + (size_t)l] * p2, 31) * p1;
  uint64_t h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
  return fmix(h);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 240;
  uint64_t *w = malloc(WORDS * sizeof *w);
  if (!w)
    return 1;
  uint64_t s = 42, acc = 0;
  for (int r = 0; r < rounds; r++) {
    for (uint32_t i = 0; i < WORDS; i++)
      w[i] = splitmix(&s);
    for (int pass = 0; pass < 16; pass++)
      acc ^= xxround(w, WORDS, acc + (uint64_t)pass);
    uint64_t bits = 0, q = 0;
    for (uint32_t i = 0; i < WORDS; i++) {
      uint64_t x = fmix(w[i] ^ acc);
      bits += (uint64_t)__builtin_popcountll(x);
      q += x / ((w[i] >> 40) | 3u) + x % 1000003u;
      acc = rotl(acc ^ x, (unsigned)(x & 63)) + (x >> 1) * 3;
    }
    acc += bits * 0x100000001b3ull + q;
  }
  printf("mix64: %llu\n", (unsigned long long)acc);
  free(w);
  return 0;
}
