/* The Prometheus text format for the hop table: writing a scrape. Reading one back is in
 * hops_scrape.c. A sticky out-of-memory flag keeps the writer one call per line. */
#include "host/hops_metrics.h"

#include "wasm/error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct text {
  char *p;
  size_t len, cap;
  bool oom;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
  if (t->oom)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->oom = true;
      return;
    }
    if ((size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = t->cap * 2 + (size_t)n + 1;
    char *p = realloc(t->p, cap);
    if (!p) {
      t->oom = true;
      return;
    }
    t->p = p;
    t->cap = cap;
  }
}

/* A label value, escaped: backslash, double quote and newline. */
static void put_value(text *t, const char *s) {
  for (; *s; s++) {
    if (*s == '\\')
      put(t, "\\\\");
    else if (*s == '"')
      put(t, "\\\"");
    else if (*s == '\n')
      put(t, "\\n");
    else
      put(t, "%c", *s);
  }
}

static void put_labels(text *t, const zh_hop_edge *e) {
  put(t, "{caller=\"");
  put_value(t, e->caller);
  put(t, "\",callee=\"");
  put_value(t, e->callee);
  put(t, "\",kind=\"%s\"", zh_hop_kind_name(e->kind));
}

typedef struct pass {
  text *t;
  int which; /* 0 count, 1 errors, 2 bytes, 3 histogram */
} pass;

static void put_edge(void *env, const zh_hop_edge *e) {
  pass *ps = env;
  text *t = ps->t;
  static const char *const names[3] = {"zerohop_hops_total", "zerohop_hop_errors_total",
                                       "zerohop_hop_bytes_total"};
  if (ps->which < 3) {
    uint64_t v = ps->which == 0 ? e->count : ps->which == 1 ? e->errors : e->bytes;
    put(t, "%s", names[ps->which]);
    put_labels(t, e);
    put(t, "} %" PRIu64 "\n", v);
    return;
  }
  uint64_t cum = 0;
  for (unsigned b = 0; b < ZH_HOP_BUCKETS; b++) {
    cum += e->buckets[b];
    put(t, "zerohop_hop_duration_seconds_bucket");
    put_labels(t, e);
    if (b + 1 < ZH_HOP_BUCKETS)
      put(t, ",le=\"%.9g\"} %" PRIu64 "\n", (double)zh_hop_bucket_bound_ns(b) / 1e9, cum);
    else
      put(t, ",le=\"+Inf\"} %" PRIu64 "\n", cum);
  }
  put(t, "zerohop_hop_duration_seconds_sum");
  put_labels(t, e);
  put(t, "} %.9f\n", (double)e->total_ns / 1e9);
  put(t, "zerohop_hop_duration_seconds_count");
  put_labels(t, e);
  put(t, "} %" PRIu64 "\n", cum);
}

static void put_requests(void *env, const zh_hop_requests *r) {
  text *t = env;
  put(t, "zerohop_http_requests_total{route=\"");
  put_value(t, r->route);
  put(t, "\",component=\"");
  put_value(t, r->component);
  put(t, "\",status=\"%d\"} %" PRIu64 "\n", r->status, r->count);
}

zh_error *zh_hops_prometheus(zh_hops *hops, char **out, size_t *len) {
  text t = {NULL, 0, 0, false};
  if (!(t.p = malloc(t.cap = 4096)))
    return zh_error_oom();
  t.p[0] = 0;
  static const char *const heads[4][3] = {
      {"zerohop_hops_total", "counter", "Hops between components and to the network."},
      {"zerohop_hop_errors_total", "counter", "Hops that failed."},
      {"zerohop_hop_bytes_total", "counter", "Bytes moved by hops, request plus response."},
      {"zerohop_hop_duration_seconds", "histogram", "How long hops took."}};
  for (int w = 0; w < 4; w++) {
    put(&t, "# HELP %s %s\n# TYPE %s %s\n", heads[w][0], heads[w][2], heads[w][0], heads[w][1]);
    pass ps = {&t, w};
    zh_hops_each(hops, put_edge, &ps);
  }
  put(&t, "# HELP zerohop_http_requests_total Inbound HTTP requests by route and status.\n"
          "# TYPE zerohop_http_requests_total counter\n");
  zh_hops_each_request(hops, put_requests, &t);
  put(&t,
      "# HELP zerohop_hops_dropped_total Hops not recorded (edge table full, out of memory).\n"
      "# TYPE zerohop_hops_dropped_total counter\nzerohop_hops_dropped_total %" PRIu64 "\n",
      zh_hops_dropped(hops));
  if (t.oom) {
    free(t.p);
    return zh_error_oom();
  }
  *out = t.p;
  *len = t.len;
  return NULL;
}
