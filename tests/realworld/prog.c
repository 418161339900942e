/* Compiled by Clang and linked by wasm-ld, both running as wasm under zerohop; the
 * program they produce then runs under zerohop too. Its output is known by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv) {
  int v[] = {42, 7, 19, 3, 88, 1};
  qsort(v, 6, sizeof v[0], cmp);
  printf("fib(30)=%llu\n", fib(30));
  printf("sorted=%d %d %d %d %d %d\n", v[0], v[1], v[2], v[3], v[4], v[5]);
  printf("strlen=%zu pi=%.5f\n", strlen("zerohop"), 3.14159265);
  printf("argc=%d last=%s\n", argc, argv[argc - 1]);
  return 3;
}
