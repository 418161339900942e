/* Branchy, irregular code: a tiny register bytecode interpreter (switch dispatch), a recursive
 * quicksort and an open-addressing hash table. Usage: mixed [ROUNDS] (default 6). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- bytecode interpreter ---- */

enum {
  OP_LI,
  OP_ADD,
  OP_XOR,
  OP_ANDI,
  OP_SHRI,
  OP_MULI,
  OP_ADDI,
  OP_BLTI,
  OP_JMP,
  OP_JNZ,
  OP_HALT
};

typedef struct {
  uint8_t op, a, b;
  int32_t imm;
} insn;

/* Branch offsets (imm) are relative to the next instruction. */
static uint32_t vm_run(const insn *code, uint32_t *r) {
  for (const insn *pc = code;; pc++) {
    switch (pc->op) {
    case OP_LI:
      r[pc->a] = (uint32_t)pc->imm;
      break;
    case OP_ADD:
      r[pc->a] += r[pc->b];
      break;
    case OP_XOR:
      r[pc->a] ^= r[pc->b];
      break;
    case OP_ANDI:
      r[pc->a] = r[pc->b] & (uint32_t)pc->imm;
      break;
    case OP_SHRI:
      r[pc->a] = r[pc->b] >> pc->imm;
      break;
    case OP_MULI:
      r[pc->a] = r[pc->b] * (uint32_t)pc->imm;
      break;
    case OP_ADDI:
      r[pc->a] = r[pc->b] + (uint32_t)pc->imm;
      break;
    case OP_BLTI: /* b is an unsigned 8-bit immediate here */
      if (r[pc->a] < (uint32_t)pc->b)
        pc += pc->imm;
      break;
    case OP_JMP:
      pc += pc->imm;
      break;
    case OP_JNZ:
      if (r[pc->a])
        pc += pc->imm;
      break;
    case OP_HALT:
      return r[1];
    default:
      return 0;
    }
  }
}

static uint32_t vm_bench(uint32_t n) {
  /* r0 = n; r1 = 0; r2 = 1;
   * loop: r2 = r2 * 1103515245 + 12345; r3 = (r2 >> 16) & 255;
   *       if r3 < 128: r1 ^= r3 else r1 += r3;  r0 -= 1; if r0 goto loop */
  const insn code[] = {
      {OP_LI, 0, 0, (int32_t)n},   /* 0 */
      {OP_LI, 1, 0, 0},            /* 1 */
      {OP_LI, 2, 0, 1},            /* 2 */
      {OP_MULI, 2, 2, 1103515245}, /* 3: loop */
      {OP_ADDI, 2, 2, 12345},      /* 4 */
      {OP_SHRI, 3, 2, 16},         /* 5 */
      {OP_ANDI, 3, 3, 255},        /* 6 */
      {OP_BLTI, 3, 128, 2},        /* 7: -> 10 */
      {OP_ADD, 1, 3, 0},           /* 8 */
      {OP_JMP, 0, 0, 1},           /* 9: -> 11 */
      {OP_XOR, 1, 3, 0},           /* 10 */
      {OP_ADDI, 0, 0, -1},         /* 11 */
      {OP_JNZ, 0, 0, -10},         /* 12: -> 3 */
      {OP_HALT, 0, 0, 0},          /* 13 */
  };
  uint32_t regs[8] = {0};
  return vm_run(code, regs);
}

/* ---- quicksort ---- */

static void quicksort(uint32_t *v, long lo, long hi) {
  while (lo < hi) {
    uint32_t pivot = v[lo + (hi - lo) / 2];
    long i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot)
        i++;
      while (v[j] > pivot)
        j--;
      if (i <= j) {
        uint32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        j--;
      }
    }
    /* recurse on the smaller side, loop on the larger */
    if (j - lo < hi - i) {
      quicksort(v, lo, j);
      lo = i;
    } else {
      quicksort(v, i, hi);
      hi = j;
    }
  }
}

#define SORT_N 100000
static uint32_t sort_buf[SORT_N];

static uint32_t sort_bench(uint32_t seed) {
  uint32_t x = seed | 1;
  for (long i = 0; i < SORT_N; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    sort_buf[i] = x % 1000000u;
  }
  quicksort(sort_buf, 0, SORT_N - 1);
  uint32_t sum = 0;
  for (long i = 0; i < SORT_N; i++) {
    if (i > 0 && sort_buf[i - 1] > sort_buf[i])
      return 0xdeadbeefu; /* not sorted */
    sum = sum * 31u + sort_buf[i];
  }
  return sum;
}

/* ---- hash table ---- */

#define HT_BITS 17
#define HT_SIZE (1u << HT_BITS)
static uint32_t ht_keys[HT_SIZE], ht_vals[HT_SIZE];

static uint32_t hash32(uint32_t k) {
  k ^= k >> 16;
  k *= 0x7feb352du;
  k ^= k >> 15;
  k *= 0x846ca68bu;
  k ^= k >> 16;
  return k;
}

static void ht_put(uint32_t key, uint32_t val) { /* key 0 marks an empty slot */
  uint32_t i = hash32(key) & (HT_SIZE - 1);
  while (ht_keys[i] != 0 && ht_keys[i] != key)
    i = (i + 1) & (HT_SIZE - 1);
  ht_keys[i] = key;
  ht_vals[i] += val;
}

static int ht_get(uint32_t key, uint32_t *val) {
  uint32_t i = hash32(key) & (HT_SIZE - 1);
  while (ht_keys[i] != 0) {
    if (ht_keys[i] == key) {
      *val = ht_vals[i];
      return 1;
    }
    i = (i + 1) & (HT_SIZE - 1);
  }
  return 0;
}

static uint32_t hash_bench(uint32_t seed) {
  for (uint32_t i = 0; i < HT_SIZE; i++)
    ht_keys[i] = ht_vals[i] = 0;
  uint32_t x = seed | 1;
  for (int i = 0; i < 80000; i++) {
    x = x * 1664525u + 1013904223u;
    ht_put((x >> 12) % 90000u + 1, (uint32_t)i);
  }
  uint32_t hits = 0, sum = 0, v;
  for (uint32_t k = 1; k <= 180000; k++)
    if (ht_get(k, &v)) {
      hits++;
      sum = sum * 17u + v;
    }
  return hits ^ sum;
}

int main(int argc, char **argv) {
  unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 6;
  uint32_t check = 0;
  for (unsigned r = 0; r < rounds; r++) {
    check = check * 3u + vm_bench(1000000u + r);
    check = check * 3u + sort_bench(r * 2654435761u);
    check = check * 3u + hash_bench(r * 40503u + 7u);
  }
  printf("mixed rounds=%u checksum=%08x\n", rounds, (unsigned)check);
  return 0;
}
