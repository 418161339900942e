/* The hop table in the Prometheus text exposition format (version 0.0.4), for the admin
 * endpoint (`zerohop up --admin ADDR`, GET /metrics) and for `zerohop graph --trace`, which
 * reads a saved scrape back.
 *
 * Families (labels caller, callee, kind on the hop ones):
 *   zerohop_hops_total               counter    hops made
 *   zerohop_hop_errors_total         counter    hops that failed
 *   zerohop_hop_bytes_total          counter    bytes moved (request plus response)
 *   zerohop_hop_duration_seconds     histogram  latency, buckets 1us * 4^i up to ~16.8 s
 *   zerohop_http_requests_total      counter    inbound requests (route, component, status)
 *   zerohop_hops_dropped_total       counter    hops not stored (table full, out of memory)
 * Label values are escaped as the format says (backslash, double quote, newline). */
#ifndef ZH_HOST_HOPS_METRICS_H
#define ZH_HOST_HOPS_METRICS_H

#include "host/hops.h"

#include <stddef.h>

#define ZH_HOPS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The whole scrape in *text (malloc'd, NUL-terminated; the caller frees it). */
zh_error *zh_hops_prometheus(zh_hops *hops, char **text, size_t *len);

/* One edge as read back from a scrape. */
typedef struct zh_hops_scraped {
  char *caller, *callee;
  zh_hop_kind kind;
  double count, errors, bytes, sum_seconds;
  double buckets[ZH_HOP_BUCKETS]; /* cumulative, as the scrape gives them; -1: absent */
} zh_hops_scraped;

/* Parses a scrape (what zh_hops_prometheus writes, or Prometheus's text format in general;
 * families other than zerohop_hop* are skipped). `filename` is used in messages: a line
 * that is not the format is ZH_ERR_MALFORMED naming FILE:LINE:COL. *out is malloc'd, free
 * it with zh_hops_scraped_free. */
zh_error *zh_hops_parse_scrape(const char *text, size_t len, const char *filename,
                               zh_hops_scraped **out, size_t *n);
void zh_hops_scraped_free(zh_hops_scraped *s, size_t n);

/* A quantile (0..1) estimated from the scraped buckets by linear interpolation, in seconds;
 * negative when the edge has no buckets. */
double zh_hops_scraped_quantile(const zh_hops_scraped *s, double q);

#endif
