/* Dense f64 matrix multiply, C = A * B, in i-k-j order: loads, stores and multiply-adds.
 * Usage: matmul [REPS] (default 140), on N x N matrices with N = 200. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 200

static double a[N][N], b[N][N], c[N][N];

static void multiply(void) {
  memset(c, 0, sizeof c);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < N; k++) {
      double aik = a[i][k];
      for (int j = 0; j < N; j++)
        c[i][j] += aik * b[k][j];
    }
}

int main(int argc, char **argv) {
  unsigned reps = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 140;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      a[i][j] = (double)((i * 7 + j * 3) % 17) / 16.0 - 0.5;
      b[i][j] = (double)((i * 5 + j * 11) % 13) / 12.0 - 0.25;
    }
  double sum = 0;
  for (unsigned r = 0; r < reps; r++) {
    multiply();
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++)
        sum += c[i][j] * (double)((i + j) % 5 + 1);
    a[r % N][(r * 3) % N] += 0.125; /* each rep computes a different product */
  }
  union {
    double d;
    unsigned long long u;
  } bits = {sum};
  printf("matmul n=%d reps=%u sum=%.6f bits=%016llx\n", N, reps, sum, bits.u);
  return 0;
}
