/* SIMD benchmark: three kernels that a compiler targeting wasm SIMD speeds up.
 *
 *   saxpy    y = a*x + y over float arrays: a plain loop that clang -msimd128 vectorises
 *   blend    8-bit image blend with 16-bit intermediates: a plain loop, vectorised too
 *   matmul4  4x4 float matrix products, and count of a byte in a buffer: written with
 *            wasm_simd128.h intrinsics when built with -msimd128, as scalar C otherwise
 *
 * The same file builds three ways (bench/simd.sh): wasm with -msimd128, wasm without it
 * (scalar) and native with gcc -O2. All print the same checksum: every float operation
 * happens in the same order in each build, and the integer ones are exact.
 *
 *   simd [ROUNDS]   (default 400: about 0.2 s natively) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#define N 16384
#define NMAT 2048
#define NBYTES (256 * 1024)

static float xs[N], ys[N];
static uint8_t img_a[N], img_b[N], img_out[N];
static float mats[NMAT][16], out4[16];
static uint8_t text[NBYTES];

static void saxpy(float a, const float *x, float *y, int n) {
  for (int i = 0; i < n; i++)
    y[i] = a * x[i] + y[i];
}

static void blend(const uint8_t *a, const uint8_t *b, uint8_t *out, int n, unsigned alpha) {
  for (int i = 0; i < n; i++)
    out[i] = (uint8_t)(((unsigned)a[i] * alpha + (unsigned)b[i] * (255u - alpha)) >> 8);
}

/* c = a * b for row-major 4x4 matrices; each row of c sums a[i][k] * row k of b, k = 0..3. */
static void matmul4(const float *a, const float *b, float *c) {
#if defined(__wasm_simd128__)
  v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4), b2 = wasm_v128_load(b + 8),
         b3 = wasm_v128_load(b + 12);
  for (int i = 0; i < 4; i++) {
    v128_t r = wasm_f32x4_mul(wasm_f32x4_splat(a[4 * i]), b0);
    r = wasm_f32x4_add(r, wasm_f32x4_mul(wasm_f32x4_splat(a[4 * i + 1]), b1));
    r = wasm_f32x4_add(r, wasm_f32x4_mul(wasm_f32x4_splat(a[4 * i + 2]), b2));
    r = wasm_f32x4_add(r, wasm_f32x4_mul(wasm_f32x4_splat(a[4 * i + 3]), b3));
    wasm_v128_store(c + 4 * i, r);
  }
#else
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      float r = a[4 * i] * b[j];
      r = r + a[4 * i + 1] * b[4 + j];
      r = r + a[4 * i + 2] * b[8 + j];
      r = r + a[4 * i + 3] * b[12 + j];
      c[4 * i + j] = r;
    }
#endif
}

static uint32_t count_byte(const uint8_t *p, int n, uint8_t want) {
#if defined(__wasm_simd128__)
  v128_t needle = wasm_i8x16_splat((int8_t)want), acc = wasm_i8x16_splat(0);
  uint32_t total = 0;
  for (int i = 0; i < n; i += 16) {
    /* eq gives -1 per match: subtracting it counts matches per lane */
    acc = wasm_i8x16_sub(acc, wasm_i8x16_eq(wasm_v128_load(p + i), needle));
    if ((i & 0x7ff) == 0x7f0) { /* every 128 vectors: at most 128 per lane */
      v128_t w = wasm_u16x8_extadd_pairwise_u8x16(acc);
      w = wasm_u32x4_extadd_pairwise_u16x8(w);
      total += wasm_i32x4_extract_lane(w, 0) + wasm_i32x4_extract_lane(w, 1) +
               wasm_i32x4_extract_lane(w, 2) + wasm_i32x4_extract_lane(w, 3);
      acc = wasm_i8x16_splat(0);
    }
  }
  return total;
#else
  uint32_t total = 0;
  for (int i = 0; i < n; i++)
    total += p[i] == want;
  return total;
#endif
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 400;
  uint32_t seed = 12345;
  for (int i = 0; i < N; i++) {
    seed = seed * 1103515245u + 12345u;
    xs[i] = (float)(seed >> 16) / 65536.0f;
    ys[i] = (float)(i & 255) / 256.0f;
    img_a[i] = (uint8_t)(seed >> 8);
    img_b[i] = (uint8_t)(seed >> 20);
  }
  for (int m = 0; m < NMAT; m++)
    for (int k = 0; k < 16; k++) {
      seed = seed * 1103515245u + 12345u;
      mats[m][k] = (float)((seed >> 16) & 1023) / 1024.0f - 0.5f;
    }
  for (int i = 0; i < NBYTES; i++) {
    seed = seed * 1103515245u + 12345u;
    text[i] = (uint8_t) "etaoin shrdlu\n."[(seed >> 16) % 15];
  }

  uint64_t check = 0;
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < 40; k++)
      saxpy(0.999f, xs, ys, N);
    for (int k = 0; k < 40; k++)
      blend(img_a, img_b, img_out, N, (unsigned)(r + k) & 255u);
    float acc[16];
    memcpy(acc, mats[0], sizeof acc);
    for (int k = 0; k < 8; k++)
      for (int m = 1; m < NMAT; m++) {
        matmul4(acc, mats[m], out4);
        /* keep the product bounded: scale back into [-1, 1) */
        for (int j = 0; j < 16; j++)
          acc[j] = out4[j] - (float)(int)out4[j];
      }
    uint32_t bits;
    for (int j = 0; j < 16; j++) {
      memcpy(&bits, &acc[j], 4);
      check = check * 31 + bits;
    }
    for (int k = 0; k < 4; k++)
      check = check * 31 + count_byte(text, NBYTES, (uint8_t) "etaoin"[(r + k) % 6]);
    for (int i = 0; i < N; i += 97) {
      memcpy(&bits, &ys[i], 4);
      check = check * 31 + bits + img_out[i];
    }
  }
  printf("simd: checksum %016llx\n", (unsigned long long)check);
  return 0;
}
