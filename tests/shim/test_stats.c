/* The shim's Stats figures (src/shim/stats.c): the packed message decodes as containerd's
 * cgroups v2 Metrics, the memory figure tracks this process's resident set (it grows by what
 * the test touches), CPU time grows with work, and the thread count follows the threads. */
#include "shim/shim.h"

#include "github.com/containerd/cgroups/v2/stats/metrics.pb-c.h"

#include "testlib.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static Io__Containerd__Cgroups__V2__Metrics *measure(void) {
  uint8_t *buf = NULL;
  size_t len = 0;
  zh_error *err = zh_shim_stats_metrics(&buf, &len);
  CHECK(err == NULL && buf && len > 0);
  zh_error_free(err);
  Io__Containerd__Cgroups__V2__Metrics *m =
      io__containerd__cgroups__v2__metrics__unpack(NULL, len, buf);
  free(buf);
  CHECK(m && m->memory && m->cpu && m->pids);
  return m;
}

static void *park(void *arg) {
  int *fds = arg;
  char c;
  return (void *)(intptr_t)read(fds[0], &c, 1); /* until the test writes */
}

int main(void) {
  Io__Containerd__Cgroups__V2__Metrics *a = measure();
  if (!a)
    TEST_SUMMARY();
  CHECK(a->memory->usage > 0 && a->memory->anon > 0 && a->memory->anon <= a->memory->usage);
  CHECK(a->pids->current >= 1);

  /* 64 MiB touched: the resident set, and so memory.usage, grows by about that much. */
  size_t big = (size_t)64 << 20;
  volatile uint8_t *p = malloc(big);
  CHECK(p != NULL);
  for (size_t i = 0; p && i < big; i += 4096)
    p[i] = (uint8_t)i;
  /* Some CPU time: getrusage counts it to the microsecond. */
  volatile uint64_t x = 1;
  for (uint64_t i = 0; i < 50000000u; i++)
    x = x * 6364136223846793005u + 1442695040888963407u;
  int fds[2];
  CHECK(pipe(fds) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, park, fds) == 0);

  Io__Containerd__Cgroups__V2__Metrics *b = measure();
  if (b) {
    CHECK(b->memory->usage >= a->memory->usage + (big / 2));
    CHECK(b->memory->anon >= a->memory->anon + (big / 2));
    CHECK(b->cpu->usage_usec > a->cpu->usage_usec);
    CHECK_EQ_INT((long long)b->cpu->usage_usec,
                 (long long)(b->cpu->user_usec + b->cpu->system_usec));
    CHECK_EQ_INT((long long)b->pids->current, (long long)a->pids->current + 1);
    CHECK(b->memory->pgfault > a->memory->pgfault); /* fewer than pages with huge pages */
  }
  CHECK(write(fds[1], "x", 1) == 1);
  pthread_join(t, NULL);
  close(fds[0]);
  close(fds[1]);
  free((void *)p);
  io__containerd__cgroups__v2__metrics__free_unpacked(a, NULL);
  if (b)
    io__containerd__cgroups__v2__metrics__free_unpacked(b, NULL);
  TEST_SUMMARY();
}
