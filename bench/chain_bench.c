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
#include <string.h>
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

/* One request; false when it did not come back 200 with the echo's body. *hop_us (when not
 * NULL) gets the hop as the caller timed it (its x-chain-hop-ns header). */
static bool one(zh_hc *c, const char *req, size_t len, double *hop_us) {
  zh_hc_response r;
  bool ok = zh_hc_send(c, req, len) && zh_hc_read(c, &r, false, 4096) && r.status == 200 &&
            r.body_total > BODY;
  char ns[32];
  if (ok && hop_us) {
    ok = zh_hc_header(&r, "x-chain-hop-ns", ns, sizeof ns) != NULL;
    *hop_us = ok ? strtod(ns, NULL) / 1000.0 : 0;
  }
  zh_hc_response_free(&r);
  return ok;
}

/* The whole request's figures, then the hop's as the caller timed it. */
static void report(const char *label, const char *what, double *total, double *hop, size_t n) {
  double tm = pct(total, n, 0.5), t99 = pct(total, n, 0.99);
  printf("%-28s median %.0f us p99 %.0f us\n", what, tm, t99);
  printf("%s: median %.1f us p99 %.1f us\n", label, pct(hop, n, 0.5), pct(hop, n, 0.99));
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: chain_bench PORT REQUESTS [LOOPBACK-URL]\n");
    return 2;
  }
  uint16_t port = (uint16_t)atoi(argv[1]);
  size_t n = (size_t)atol(argv[2]);
  const char *loopback = argc > 3 ? argv[3] : NULL;
  char body[BODY];
  zh_hc_pattern(0, (unsigned char *)body, BODY);
  char direct[2048], chain[2048], http[2048];
  int dl = snprintf(direct, sizeof direct,
                    "POST /echo/x HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n\r\n", BODY);
  int cl = snprintf(
      chain, sizeof chain,
      "POST /caller/x HTTP/1.1\r\nHost: bench\r\n"
      "x-chain-time: 1\r\nx-chain-url: http://echo.spin.internal/x\r\nContent-Length: %d\r\n\r\n",
      BODY);
  int hl = snprintf(http, sizeof http,
                    "POST /caller/x HTTP/1.1\r\nHost: bench\r\n"
                    "x-chain-time: 1\r\nx-chain-url: %s\r\nContent-Length: %d\r\n\r\n",
                    loopback ? loopback : "", BODY);
  memcpy(direct + dl, body, BODY);
  memcpy(chain + cl, body, BODY);
  memcpy(http + hl, body, BODY);
  zh_hc *c = zh_hc_open(port);
  double *td = malloc(n * sizeof *td), *tc = malloc(n * sizeof *tc), *th = malloc(n * sizeof *th);
  double *hc = malloc(n * sizeof *hc), *hh = malloc(n * sizeof *hh);
  if (!c || !td || !tc || !th || !hc || !hh)
    return 1;
  for (size_t i = 0; i < n / 10 + 10; i++) /* warm-up: pools, page tables, caches */
    if (!one(c, direct, (size_t)dl + BODY, NULL) || !one(c, chain, (size_t)cl + BODY, &hc[0]) ||
        (loopback && !one(c, http, (size_t)hl + BODY, &hh[0]))) {
      fprintf(stderr, "chain_bench: a warm-up request failed\n");
      return 1;
    }
  for (size_t i = 0; i < n; i++) {
    double t0 = now_us();
    bool ok = one(c, direct, (size_t)dl + BODY, NULL);
    double t1 = now_us();
    ok = ok && one(c, chain, (size_t)cl + BODY, &hc[i]);
    double t2 = now_us();
    ok = ok && (!loopback || one(c, http, (size_t)hl + BODY, &hh[i]));
    double t3 = now_us();
    if (!ok) {
      fprintf(stderr, "chain_bench: request %zu failed\n", i);
      return 1;
    }
    td[i] = t1 - t0;
    tc[i] = t2 - t1;
    th[i] = t3 - t2;
  }
  zh_hc_close(c);
  printf("requests: %zu of each, 1 KiB body, one keep-alive connection; a hop's figure is the\n"
         "caller's own timing of it, from handing the request over to holding the response\n",
         n);
  /* the reference's own figures, before pct sorts the array */
  double *copy = malloc(n * sizeof *copy);
  if (!copy)
    return 1;
  memcpy(copy, td, n * sizeof *td);
  printf("%-28s median %.0f us p99 %.0f us\n", "direct (echo alone):", pct(copy, n, 0.5),
         pct(copy, n, 0.99));
  free(copy);
  report("chain", "chained (caller -> echo):", tc, hc, n);
  if (loopback)
    report("http", "over loopback HTTP:", th, hh, n);
  free(hc);
  free(hh);
  free(td);
  free(tc);
  free(th);
  return 0;
}
