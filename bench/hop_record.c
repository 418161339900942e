/* What recording one hop costs (make bench-hop-record, docs/PERFORMANCE.md): zh_hops_record
 * sits on every hop between components, so its price is measured against the two things a
 * hop pays anyway or would pay without this design, in the same run:
 *   clock        the two zh_hops_now_ns reads that time a hop;
 *   mutex        the first edge table's way: lock, linear search, four adds, unlock;
 *   record       zh_hops_record on an app-sized table (24 edges, the hot one last);
 *   record x2    the same from two threads at once on one edge (contended atomics);
 *   traced       zh_hops_record_traced with a per-request trace (allocates a step).
 * Each figure is the median over ROUNDS of the mean ns per operation over N operations. */
#include "host/hops.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROUNDS = 11, N = 2000000, EDGES = 24 };

static char names[EDGES][32];

static double median(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[n / 2];
}

typedef struct mutex_table {
  pthread_mutex_t lock;
  struct {
    const char *a, *b;
    int kind;
    uint64_t count, errors, ns, bytes;
  } e[EDGES];
} mutex_table;

static void mutex_record(mutex_table *t, const char *a, const char *b, int kind, uint64_t ns,
                         uint64_t bytes, bool failed) {
  pthread_mutex_lock(&t->lock);
  for (int i = 0; i < EDGES; i++)
    if (t->e[i].kind == kind && strcmp(t->e[i].a, a) == 0 && strcmp(t->e[i].b, b) == 0) {
      t->e[i].count++;
      t->e[i].errors += failed;
      t->e[i].ns += ns;
      t->e[i].bytes += bytes;
      break;
    }
  pthread_mutex_unlock(&t->lock);
}

static const char *hot = NULL;
static volatile uint64_t sink;

static void *record_loop(void *hops) {
  for (int i = 0; i < N; i++)
    zh_hops_record(hops, "front", hot, ZH_HOP_CALL, (uint64_t)i & 4095u, 1024, false);
  return NULL;
}

int main(void) {
  zh_hops *hops;
  if (zh_hops_new(&hops))
    return 1;
  mutex_table mt;
  pthread_mutex_init(&mt.lock, NULL);
  for (int i = 0; i < EDGES; i++) {
    snprintf(names[i], sizeof names[i], "component-%02d", i);
    zh_hops_record(hops, "front", names[i], ZH_HOP_CALL, 1, 1, false);
    mt.e[i].a = "front";
    mt.e[i].b = names[i];
    mt.e[i].kind = ZH_HOP_CALL;
    mt.e[i].count = mt.e[i].errors = mt.e[i].ns = mt.e[i].bytes = 0;
  }
  hot = names[EDGES - 1]; /* the worst case for the linear search */
  double r_clock[ROUNDS], r_mutex[ROUNDS], r_rec[ROUNDS], r_two[ROUNDS], r_traced[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    uint64_t t0 = zh_hops_now_ns(), acc = 0;
    for (int i = 0; i < N; i++)
      acc += zh_hops_now_ns() - zh_hops_now_ns();
    sink = acc;
    uint64_t t1 = zh_hops_now_ns();
    for (int i = 0; i < N; i++)
      mutex_record(&mt, "front", hot, ZH_HOP_CALL, (uint64_t)i & 4095u, 1024, false);
    uint64_t t2 = zh_hops_now_ns();
    record_loop(hops);
    uint64_t t3 = zh_hops_now_ns();
    pthread_t th;
    pthread_create(&th, NULL, record_loop, hops);
    record_loop(hops);
    pthread_join(th, NULL);
    uint64_t t4 = zh_hops_now_ns();
    zh_hop_trace *trace = zh_hop_trace_new();
    for (int i = 0; i < N / 20; i++) { /* a trace holds a request's hops, not millions */
      if (i % 16 == 0) {
        zh_hop_trace_free(trace);
        trace = zh_hop_trace_new();
      }
      zh_hops_record_traced(hops, trace, "front", hot, ZH_HOP_CALL, 100, 1024, false);
    }
    zh_hop_trace_free(trace);
    uint64_t t5 = zh_hops_now_ns();
    r_clock[r] = (double)(t1 - t0) / N;
    r_mutex[r] = (double)(t2 - t1) / N;
    r_rec[r] = (double)(t3 - t2) / N;
    r_two[r] = (double)(t4 - t3) / (2.0 * N);
    r_traced[r] = (double)(t5 - t4) / (N / 20);
  }
  double c = median(r_clock, ROUNDS), m = median(r_mutex, ROUNDS), rec = median(r_rec, ROUNDS);
  double two = median(r_two, ROUNDS), tr = median(r_traced, ROUNDS);
  printf("bench-hop-record: median of %d rounds x %d operations, ns per operation\n", ROUNDS, N);
  printf("  %-34s %8.1f\n", "clock (two now_ns, per hop)", c);
  printf("  %-34s %8.1f\n", "mutex table (first version)", m);
  printf("  %-34s %8.1f  %.2fx mutex\n", "zh_hops_record, 24 edges", rec, rec / m);
  printf("  %-34s %8.1f  %.2fx mutex\n", "zh_hops_record, 2 threads, 1 edge", two, two / m);
  printf("  %-34s %8.1f\n", "zh_hops_record_traced", tr);
  printf("bench-hop-record: one record %.1f ns, %.2fx the two clock reads that time a hop\n", rec,
         rec / c);
  zh_hops_free(hops);
  pthread_mutex_destroy(&mt.lock);
  return 0;
}
