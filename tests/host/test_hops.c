/* Hop tracing's edge table (src/host/hops.h): edges keyed by caller, callee and kind, totals
 * summed exactly under concurrent recording, first-seen order, and a NULL table ignored. */
#include "host/hops.h"
#include "testlib.h"

#include <pthread.h>
#include <string.h>

#define THREADS 4
#define PER_THREAD 5000

static void *record_many(void *hops) {
  for (int i = 0; i < PER_THREAD; i++) {
    zh_hops_record(hops, "front", "back", ZH_HOP_CALL, 10, 3, i % 100 == 0);
    zh_hops_record(hops, "front", "orders", ZH_HOP_BUS, 1, 1024, false);
  }
  return NULL;
}

typedef struct seen {
  zh_hop_edge e[8];
  int n;
} seen;

static void collect(void *env, const zh_hop_edge *edge) {
  seen *s = env;
  if (s->n < 8)
    s->e[s->n++] = *edge;
}

int main(void) {
  zh_hops *hops;
  CHECK(zh_hops_new(&hops) == NULL);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    pthread_create(&t[i], NULL, record_many, hops);
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  /* same names, another kind: its own edge */
  zh_hops_record(hops, "front", "back", ZH_HOP_CHAIN, 7, 0, false);
  seen s = {0};
  zh_hops_each(hops, collect, &s);
  CHECK_EQ_INT(s.n, 3);
  CHECK(strcmp(s.e[0].caller, "front") == 0 && strcmp(s.e[0].callee, "back") == 0);
  CHECK_EQ_INT(s.e[0].kind, ZH_HOP_CALL);
  CHECK_EQ_INT(s.e[0].count, THREADS * PER_THREAD);
  CHECK_EQ_INT(s.e[0].errors, THREADS * PER_THREAD / 100);
  CHECK_EQ_INT(s.e[0].total_ns, 10 * THREADS * PER_THREAD);
  CHECK_EQ_INT(s.e[1].bytes, 1024ull * THREADS * PER_THREAD);
  CHECK_EQ_INT(s.e[2].kind, ZH_HOP_CHAIN);
  CHECK_EQ_INT(s.e[2].total_ns, 7);
  CHECK(strcmp(zh_hop_kind_name(ZH_HOP_BUS), "bus") == 0);
  CHECK(strcmp(zh_hop_kind_name(ZH_HOP_HTTP_OUT), "http") == 0);
  zh_hops_free(hops);
  zh_hops_record(NULL, "a", "b", ZH_HOP_CALL, 1, 1, false); /* no table: nothing happens */
  zh_hops_free(NULL);
  TEST_SUMMARY();
}
