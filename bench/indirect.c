/* Many small calls through call_indirect: a table of tiny operations picked by data (an
 * "opcode" stream, as plug-in pipelines and virtual dispatch do), and libc's qsort, which
 * calls its comparator through a pointer for every comparison.
 * Usage: indirect [ROUNDS] (default 40). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define OPS (1u << 16)
#define SORT_N (1u << 13)

typedef uint32_t (*op_fn)(uint32_t acc, uint32_t x);

/* noinline keeps each a real function in the table, as separately compiled code would be */
__attribute__((noinline)) static uint32_t op_add(uint32_t a, uint32_t x) { return a + x; }
__attribute__((noinline)) static uint32_t op_xor(uint32_t a, uint32_t x) { return a ^ x; }
__attribute__((noinline)) static uint32_t op_mul(uint32_t a, uint32_t x) { return a * (x | 1); }
__attribute__((noinline)) static uint32_t op_rot(uint32_t a, uint32_t x) {
  return (a << (x & 31)) | (a >> ((32 - (x & 31)) & 31));
}
__attribute__((noinline)) static uint32_t op_sub(uint32_t a, uint32_t x) { return a - x; }
__attribute__((noinline)) static uint32_t op_min(uint32_t a, uint32_t x) { return a < x ? a : x; }
__attribute__((noinline)) static uint32_t op_avg(uint32_t a, uint32_t x) {
  return (a >> 1) + (x >> 1);
}
__attribute__((noinline)) static uint32_t op_neg(uint32_t a, uint32_t x) { return ~a + (x & 7); }

static op_fn const table[8] = {op_add, op_xor, op_mul, op_rot, op_sub, op_min, op_avg, op_neg};

typedef struct item {
  uint32_t key;
  uint32_t payload;
} item;

static int by_key(const void *a, const void *b) {
  uint32_t x = ((const item *)a)->key, y = ((const item *)b)->key;
  return x < y ? -1 : x > y;
}

static uint32_t rng = 1u;
static uint32_t next(void) {
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 40;
  uint8_t *code = malloc(OPS);
  uint32_t *args = malloc(OPS * sizeof *args);
  item *items = malloc(SORT_N * sizeof *items);
  if (!code || !args || !items)
    return 1;
  for (uint32_t i = 0; i < OPS; i++) {
    code[i] = (uint8_t)(next() & 7);
    args[i] = next();
  }
  uint32_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    uint32_t acc = (uint32_t)r;
    for (int pass = 0; pass < 8; pass++)
      for (uint32_t i = 0; i < OPS; i++)
        acc = table[code[i]](acc, args[i]);
    for (uint32_t i = 0; i < SORT_N; i++) {
      items[i].key = next();
      items[i].payload = i;
    }
    qsort(items, SORT_N, sizeof *items, by_key);
    sum = sum * 31u + acc + items[0].payload + items[SORT_N / 2].key;
  }
  printf("indirect: %u\n", sum);
  free(code);
  free(args);
  free(items);
  return 0;
}
