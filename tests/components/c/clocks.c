/* Command component: reads the wall clock (prints "wall SECONDS"), then checks that the
 * monotonic clock never goes back and that a sleep of argv[1] milliseconds (default 20) takes
 * at least that long on it ("monotonic ok slept_ms=N"). Exits 1 when a check fails. Exercises
 * wasi:clocks/wall-clock now and monotonic-clock now + subscribe-duration (via poll_oneoff). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ns(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0)
    return -1;
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  long ms = argc > 1 ? atol(argv[1]) : 20;
  long long wall = ns(CLOCK_REALTIME);
  if (wall <= 0) {
    printf("error: wall clock\n");
    return 1;
  }
  printf("wall %lld\n", wall / 1000000000LL);
  long long t0 = ns(CLOCK_MONOTONIC), prev = t0;
  for (int i = 0; i < 1000; i++) {
    long long t = ns(CLOCK_MONOTONIC);
    if (t < prev) {
      printf("error: monotonic clock went back\n");
      return 1;
    }
    prev = t;
  }
  struct timespec req = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&req, NULL);
  long long slept = (ns(CLOCK_MONOTONIC) - t0) / 1000000LL;
  if (slept < ms) {
    printf("error: slept %lld ms of %ld\n", slept, ms);
    return 1;
  }
  printf("monotonic ok slept_ms=%lld\n", slept);
  return 0;
}
