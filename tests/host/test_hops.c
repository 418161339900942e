/* Hop tracing's edge table (src/host/hops.h): edges keyed by caller, callee and kind, totals
 * and histograms summed exactly under concurrent recording, first-seen order, a NULL table
 * ignored; the latency buckets' bounds; a request's trace in start order; the Prometheus text
 * written and read back (hops_metrics.h), and a broken scrape named by line and column. */
#include "host/hops.h"
#include "host/hops_metrics.h"
#include "testlib.h"

#include <pthread.h>
#include <stdlib.h>
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

/* Past ZH_HOPS_MAX_EDGES distinct edges, hops are counted as dropped; the kept ones are
 * still found (the index stays consistent when full). */
static void test_full(void) {
  zh_hops *h;
  CHECK(zh_hops_new(&h) == NULL);
  char name[32];
  for (unsigned i = 0; i < ZH_HOPS_MAX_EDGES + 5; i++) {
    snprintf(name, sizeof name, "c%u", i);
    zh_hops_record(h, "front", name, ZH_HOP_CALL, 1, 1, false);
  }
  zh_hops_record(h, "front", "c7", ZH_HOP_CALL, 1, 1, false);
  CHECK_EQ_INT(zh_hops_dropped(h), 5);
  seen s = {0};
  zh_hops_each(h, collect, &s);
  CHECK_EQ_INT(s.n, 8); /* collect keeps 8 */
  CHECK_EQ_INT(s.e[7].count, 2);
  zh_hops_free(h);
}

/* Bucket i holds (1us * 4^(i-1), 1us * 4^i]; the last everything beyond ~16.8 s. */
static void test_buckets(void) {
  CHECK_EQ_INT(zh_hop_bucket(0), 0);
  CHECK_EQ_INT(zh_hop_bucket(1000), 0);
  CHECK_EQ_INT(zh_hop_bucket(1001), 1);
  CHECK_EQ_INT(zh_hop_bucket(4000), 1);
  CHECK_EQ_INT(zh_hop_bucket(4001), 2);
  CHECK_EQ_INT(zh_hop_bucket(1024000), 5);
  CHECK_EQ_INT(zh_hop_bucket(1024001), 6);
  CHECK_EQ_INT(zh_hop_bucket(UINT64_MAX), ZH_HOP_BUCKETS - 1);
  CHECK(zh_hop_bucket_bound_ns(5) == 1024000);
  CHECK(zh_hop_bucket_bound_ns(ZH_HOP_BUCKETS - 1) == UINT64_MAX);
  for (unsigned i = 0; i + 1 < ZH_HOP_BUCKETS; i++) { /* each bound is its own bucket's */
    CHECK_EQ_INT(zh_hop_bucket(zh_hop_bucket_bound_ns(i)), i);
    CHECK_EQ_INT(zh_hop_bucket(zh_hop_bucket_bound_ns(i) + 1), i + 1);
  }
}

/* Steps come out in the order they started, whatever order they ended in. */
static void test_trace(void) {
  zh_hop_trace *t = zh_hop_trace_new();
  CHECK(t != NULL);
  struct timespec nap = {0, 2000000};
  nanosleep(&nap, NULL);
  zh_hop_trace_add(t, "inner", "db:6379", ZH_HOP_REDIS, 1000, 10, false);
  /* the enclosing hop ends last but began about 2 ms ago, before the inner one */
  zh_hop_trace_add(t, "redis:orders", "inner", ZH_HOP_REDIS,
                   zh_hops_now_ns() - zh_hop_trace_started_ns(t), 5, true);
  size_t n;
  const zh_hop_step *st = zh_hop_trace_steps(t, &n);
  CHECK_EQ_INT(n, 2);
  CHECK(strcmp(st[0].caller, "redis:orders") == 0);
  CHECK(strcmp(st[1].callee, "db:6379") == 0);
  CHECK(st[0].start_ns <= st[1].start_ns);
  char line[200];
  zh_hop_step_format(&st[1], line, sizeof line);
  CHECK(strcmp(line, "inner -> db:6379 redis 0.001ms 10B") == 0);
  zh_hop_step_format(&st[0], line, sizeof line);
  CHECK(strstr(line, " error") != NULL);
  zh_hop_trace_free(t);
  t = zh_hop_trace_new(); /* a trace is bounded */
  for (unsigned i = 0; i < ZH_HOP_TRACE_MAX_STEPS + 3; i++)
    zh_hop_trace_add(t, "loop", "db:6379", ZH_HOP_REDIS, 1, 1, false);
  zh_hop_trace_steps(t, &n);
  CHECK_EQ_INT(n, ZH_HOP_TRACE_MAX_STEPS);
  CHECK_EQ_INT(zh_hop_trace_left_out(t), 3);
  zh_hop_trace_free(t);
  zh_hop_trace_add(NULL, "a", "b", ZH_HOP_CALL, 1, 1, false); /* untraced: nothing */
  zh_hops_record_traced(NULL, NULL, "a", "b", ZH_HOP_CALL, 1, 1, false);
}

/* The scrape is written, then read back to the same numbers. */
static void test_prometheus(void) {
  zh_hops *h;
  CHECK(zh_hops_new(&h) == NULL);
  zh_hops_record(h, "front", "api.example:443", ZH_HOP_HTTP_OUT, 3000000, 700, false);
  zh_hops_record(h, "front", "api.example:443", ZH_HOP_HTTP_OUT, 5000, 300, true);
  zh_hops_record(h, "we\"ird", "x\ny", ZH_HOP_CALL, 1, 0, false);
  zh_hops_count_request(h, "/cart/...", "front", 200);
  zh_hops_count_request(h, "/cart/...", "front", 200);
  zh_hops_count_request(h, "", "", 404);
  char *text;
  size_t len;
  CHECK(zh_hops_prometheus(h, &text, &len) == NULL);
  CHECK(strstr(text, "zerohop_hops_total{caller=\"front\",callee=\"api.example:443\","
                     "kind=\"http\"} 2\n") != NULL);
  CHECK(strstr(text, "zerohop_hop_errors_total{caller=\"front\",callee=\"api.example:443\","
                     "kind=\"http\"} 1\n") != NULL);
  CHECK(strstr(text, "caller=\"we\\\"ird\",callee=\"x\\ny\"") != NULL); /* escaped */
  CHECK(strstr(text, "zerohop_http_requests_total{route=\"/cart/...\",component=\"front\","
                     "status=\"200\"} 2\n") != NULL);
  CHECK(strstr(text, "le=\"0.004096\"} 2\n") != NULL);
  CHECK(strstr(text, "le=\"0.001024\"} 1\n") != NULL);
  zh_hops_scraped *sc;
  size_t n;
  zh_error *err = zh_hops_parse_scrape(text, len, "scrape.txt", &sc, &n);
  CHECK(err == NULL);
  if (!err) {
    CHECK_EQ_INT(n, 2);
    CHECK(strcmp(sc[0].callee, "api.example:443") == 0 && sc[0].kind == ZH_HOP_HTTP_OUT);
    CHECK(sc[0].count == 2 && sc[0].errors == 1 && sc[0].bytes == 1000);
    CHECK(sc[0].sum_seconds > 0.0030049 && sc[0].sum_seconds < 0.0030051);
    CHECK(strcmp(sc[1].caller, "we\"ird") == 0 && strcmp(sc[1].callee, "x\ny") == 0);
    double p50 = zh_hops_scraped_quantile(&sc[0], 0.5);
    CHECK(p50 > 0.000004 && p50 <= 0.000016); /* the 5 us hop's bucket */
    zh_hops_scraped_free(sc, n);
  }
  zh_error_free(err);
  free(text);
  zh_hops_free(h);
}

static void scrape_fails(const char *text, const char *want) {
  zh_hops_scraped *sc = NULL;
  size_t n = 0;
  zh_error *err = zh_hops_parse_scrape(text, strlen(text), "t.prom", &sc, &n);
  CHECK(err != NULL);
  if (err && !strstr(zh_error_message(err), want)) {
    fprintf(stderr, "  want `%s` in: %s\n", want, zh_error_message(err));
    CHECK(false);
  }
  zh_error_free(err);
}

static void test_scrape_errors(void) {
  scrape_fails("# nothing\n", "t.prom: no zerohop_hop samples");
  scrape_fails("zerohop_hops_total{caller=\"a\",callee=\"b\",kind=\"call\"} 1\n"
               "zerohop_hops_total{caller=\"a\" 1\n",
               "t.prom:2:31: expected ',' or '}'");
  scrape_fails("zerohop_hops_total{caller=\"a\",callee=\"b\",kind=\"teleport\"} 1\n", "t.prom:1:");
  scrape_fails("zerohop_hops_total{caller=\"a\",callee=\"b\",kind=\"call\"} one\n",
               "t.prom:1:55: expected a number");
  scrape_fails("<svg>\n", "t.prom:1:1: expected a metric or label name");
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
  /* every hop of 10 ns falls in the first bucket (<= 1 us), and the buckets sum to count */
  CHECK_EQ_INT(s.e[0].buckets[0], THREADS * PER_THREAD);
  uint64_t sum = 0;
  for (int b = 0; b < ZH_HOP_BUCKETS; b++)
    sum += s.e[1].buckets[b];
  CHECK_EQ_INT(sum, s.e[1].count);
  zh_hops_free(hops);
  zh_hops_record(NULL, "a", "b", ZH_HOP_CALL, 1, 1, false); /* no table: nothing happens */
  zh_hops_free(NULL);
  test_full();
  test_buckets();
  test_trace();
  test_prometheus();
  test_scrape_errors();
  TEST_SUMMARY();
}
