/* make bench-hops-chain's client (bench/chain.sh starts `zerohop up` and passes its port):
 * one keep-alive connection, POSTs with a 1 KiB body, one at a time, alternating between
 *   direct   /echo/x       echo_http alone, the reference measured in the same run;
 *   chain    /caller/x     chain_caller, which forwards the request and its body to
 *                          http://echo.spin.internal/x (local service chaining) and answers
 *                          what came back.
 * Prints the median and p99 of each, in microseconds, and the median difference (what the
 * caller plus the chained hop add), then `chain: median N us p99 N us`. */
#include "httpclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BODY 1024

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i];
}

/* One request; false when it did not come back 200 with the echo's body. */
static bool one(zh_hc *c, const char *req, size_t len) {
  zh_hc_response r;
  bool ok = zh_hc_send(c, req, len) && zh_hc_read(c, &r, false, 4096) && r.status == 200 &&
            r.body_total > BODY;
  zh_hc_response_free(&r);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: chain_bench PORT REQUESTS\n");
    return 2;
  }
  uint16_t port = (uint16_t)atoi(argv[1]);
  size_t n = (size_t)atol(argv[2]);
  char body[BODY];
  zh_hc_pattern(0, (unsigned char *)body, BODY);
  char direct[2048], chain[2048];
  int dl = snprintf(direct, sizeof direct,
                    "POST /echo/x HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n\r\n", BODY);
  int cl = snprintf(chain, sizeof chain,
                    "POST /caller/x HTTP/1.1\r\nHost: bench\r\n"
                    "x-chain-url: http://echo.spin.internal/x\r\nContent-Length: %d\r\n\r\n",
                    BODY);
  memcpy(direct + dl, body, BODY);
  memcpy(chain + cl, body, BODY);
  zh_hc *c = zh_hc_open(port);
  double *td = malloc(n * sizeof *td), *tc = malloc(n * sizeof *tc);
  if (!c || !td || !tc)
    return 1;
  for (size_t i = 0; i < n / 10 + 10; i++) /* warm-up: pools, page tables, caches */
    if (!one(c, direct, (size_t)dl + BODY) || !one(c, chain, (size_t)cl + BODY)) {
      fprintf(stderr, "chain_bench: a warm-up request failed\n");
      return 1;
    }
  for (size_t i = 0; i < n; i++) {
    double t0 = now_us();
    bool ok = one(c, direct, (size_t)dl + BODY);
    double t1 = now_us();
    ok = ok && one(c, chain, (size_t)cl + BODY);
    double t2 = now_us();
    if (!ok) {
      fprintf(stderr, "chain_bench: request %zu failed\n", i);
      return 1;
    }
    td[i] = t1 - t0;
    tc[i] = t2 - t1;
  }
  zh_hc_close(c);
  double dm = pct(td, n, 0.5), d99 = pct(td, n, 0.99);
  double cm = pct(tc, n, 0.5), c99 = pct(tc, n, 0.99);
  printf("requests: %zu of each, 1 KiB body, one keep-alive connection\n", n);
  printf("direct (echo alone):        median %.0f us p99 %.0f us\n", dm, d99);
  printf("chained (caller -> echo):   median %.0f us p99 %.0f us\n", cm, c99);
  printf("added by caller + hop:      median %.0f us (%.2fx the direct request)\n", cm - dm,
         cm / dm);
  printf("chain: median %.0f us p99 %.0f us\n", cm, c99);
  free(td);
  free(tc);
  return 0;
}
