/* Guest: prints its arguments, environment, and checks on clocks and random_get, in a
 * form that is the same on every run (tests/wasi/test_wasi.c asserts the exact text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

extern char **environ;

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++)
    printf("argv[%d]=%s\n", i, argv[i]);
  for (char **e = environ; *e; e++)
    printf("env %s\n", *e);
  const char *b = getenv("B");
  printf("getenv(B)=%s\n", b ? b : "(null)");

  /* Every clock has a positive resolution and a readable time. */
  for (__wasi_clockid_t id = 0; id < 4; id++) {
    __wasi_timestamp_t res = 0, t = 0;
    int r1 = __wasi_clock_res_get(id, &res);
    int r2 = __wasi_clock_time_get(id, 1, &t);
    printf("clock %u: res_get=%d res>0=%d time_get=%d\n", (unsigned)id, r1, res > 0, r2);
  }
  __wasi_timestamp_t now = 0, m0 = 0, m1 = 0, dummy;
  (void)__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &now);
  printf("realtime after 2020: %d\n", now > 1577836800ull * 1000000000ull);
  (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &m0);
  (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &m1);
  printf("monotonic ordered: %d\n", m1 >= m0);
  printf("bad clock: %d %d\n", __wasi_clock_time_get(99, 1, &dummy),
         __wasi_clock_res_get(4, &dummy));

  unsigned char x[64], y[64];
  memset(x, 0, sizeof x);
  memset(y, 0, sizeof y);
  int r1 = __wasi_random_get(x, sizeof x), r2 = __wasi_random_get(y, sizeof y);
  int nonzero = 0;
  for (size_t i = 0; i < sizeof x; i++)
    nonzero |= x[i];
  printf("random: %d %d nonzero=%d differ=%d empty=%d\n", r1, r2, nonzero != 0,
         memcmp(x, y, sizeof x) != 0, __wasi_random_get(x, 0));
  return 0;
}
