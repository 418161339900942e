/* Hop tracing: every interaction between components, and between a component and the
 * network, recorded as an edge (caller, callee, kind) with its count, errors, time, bytes and
 * a latency histogram; plus the app's inbound requests per route and status.
 *
 * The app owns one zh_hops; each instance finds it through zh_host_instance.hops. Recording
 * is thread-safe and never fails: an edge that cannot be stored (out of memory, or past
 * ZH_HOPS_MAX_EDGES distinct edges) is counted in zh_hops_dropped instead, so tracing never
 * changes what a request does. Names are copied.
 *
 * A per-request trace (zh_hop_trace) is a second, optional sink: a request that is traced
 * carries one in zh_host_instance.trace, every hop of it is appended there as well, and the
 * host logs it after the response. Code that makes a hop for an instance calls
 * zh_hops_record_traced(hi->hops, hi->trace, ...); an instance made for a nested call
 * (a dependency, a chained component, a bus subscriber run for this request) copies its
 * caller's `trace` pointer so that its hops join the same request's trace. */
#ifndef ZH_HOST_HOPS_H
#define ZH_HOST_HOPS_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum zh_hop_kind {
  ZH_HOP_CALL,     /* an in-process component call (a dependency's export) */
  ZH_HOP_CHAIN,    /* local service chaining: http://<id>.spin.internal */
  ZH_HOP_BUS,      /* the in-process event bus: publish -> a subscriber handled it */
  ZH_HOP_REDIS,    /* Redis: publish, a trigger's message, or a command */
  ZH_HOP_HTTP_OUT, /* outbound HTTP over the network */
  ZH_HOP_KIND_COUNT
} zh_hop_kind;

/* Latency buckets: upper bounds 1 us * 4^i for i = 0..ZH_HOP_BUCKETS-2 (1 us .. ~16.8 s),
 * the last one unbounded (+Inf). Fixed, so recording is one index computation. */
#define ZH_HOP_BUCKETS 14
#define ZH_HOPS_MAX_EDGES 1024u    /* distinct (caller, callee, kind) edges kept */
#define ZH_HOPS_MAX_REQUESTS 1024u /* distinct (route, component, status) request series */

typedef struct zh_hops zh_hops;

/* One edge's totals, as zh_hops_each gives them (a snapshot). */
typedef struct zh_hop_edge {
  const char *caller; /* a component id, or a trigger ("redis:CHANNEL", "http") */
  const char *callee; /* a component id, a channel ("redis:CHANNEL"), or a host:port */
  zh_hop_kind kind;
  uint64_t count, errors;
  uint64_t total_ns, bytes;
  uint64_t buckets[ZH_HOP_BUCKETS]; /* hops per latency bucket, not cumulative */
} zh_hop_edge;

/* One series of inbound requests, as zh_hops_each_request gives it. */
typedef struct zh_hop_requests {
  const char *route;     /* the route as the manifest writes it ("/cart/..."), or "" */
  const char *component; /* the component or "" (a static response, no route) */
  int status;
  uint64_t count;
} zh_hop_requests;

zh_error *zh_hops_new(zh_hops **out);
void zh_hops_free(zh_hops *hops); /* accepts NULL */

/* Records one hop of `ns` nanoseconds moving `bytes`; `failed` counts it as an error too.
 * `hops` may be NULL (nothing is recorded). Lock-free once the edge exists. */
void zh_hops_record(zh_hops *hops, const char *caller, const char *callee, zh_hop_kind kind,
                    uint64_t ns, uint64_t bytes, bool failed);

/* Calls `fn` for every edge in the order they were first seen. Safe while others record;
 * each snapshot is consistent enough for metrics (fields are read one by one). */
void zh_hops_each(zh_hops *hops, void (*fn)(void *env, const zh_hop_edge *edge), void *env);

/* Hops that could not be stored (see above). */
uint64_t zh_hops_dropped(const zh_hops *hops);

/* The bucket a hop of `ns` falls in, and bucket i's upper bound in nanoseconds (UINT64_MAX
 * for the last). */
unsigned zh_hop_bucket(uint64_t ns);
uint64_t zh_hop_bucket_bound_ns(unsigned i);

/* Counts one inbound request answered with `status`. */
void zh_hops_count_request(zh_hops *hops, const char *route, const char *component, int status);
void zh_hops_each_request(zh_hops *hops, void (*fn)(void *env, const zh_hop_requests *r),
                          void *env);

/* A number for the next traced request or message, from 1. */
uint64_t zh_hops_next_trace_id(zh_hops *hops);

/* The kind's name as logs, metrics and graphs spell it ("call", "chain", "bus", "redis",
 * "http"); zh_hop_kind_parse is the inverse (false for an unknown name). */
const char *zh_hop_kind_name(zh_hop_kind kind);
bool zh_hop_kind_parse(const char *name, zh_hop_kind *out);

/* CLOCK_MONOTONIC in nanoseconds, for timing a hop. */
uint64_t zh_hops_now_ns(void);

/* ---- one request's trace ---- */

typedef struct zh_hop_trace zh_hop_trace;

/* One hop of a trace: `start_ns` is from the trace's creation. */
typedef struct zh_hop_step {
  char *caller, *callee;
  zh_hop_kind kind;
  uint64_t start_ns, ns, bytes;
  bool failed;
} zh_hop_step;

/* A new, empty trace; NULL when out of memory (the request then goes untraced). */
zh_hop_trace *zh_hop_trace_new(void);
void zh_hop_trace_free(zh_hop_trace *t); /* accepts NULL */
/* Appends one hop (thread-safe: a nested call may run on another thread). NULL: nothing. */
void zh_hop_trace_add(zh_hop_trace *t, const char *caller, const char *callee, zh_hop_kind kind,
                      uint64_t ns, uint64_t bytes, bool failed);
/* The hops so far, in the order they started; valid until the next add or free. */
const zh_hop_step *zh_hop_trace_steps(const zh_hop_trace *t, size_t *n);
/* When the trace was made (CLOCK_MONOTONIC ns). */
uint64_t zh_hop_trace_started_ns(const zh_hop_trace *t);
/* Hops not kept: past ZH_HOP_TRACE_MAX_STEPS, or out of memory. */
#define ZH_HOP_TRACE_MAX_STEPS 1024u
uint64_t zh_hop_trace_left_out(const zh_hop_trace *t);

/* zh_hops_record and, when `trace` is not NULL, zh_hop_trace_add: what code that makes a hop
 * for an instance calls. */
void zh_hops_record_traced(zh_hops *hops, zh_hop_trace *trace, const char *caller,
                           const char *callee, zh_hop_kind kind, uint64_t ns, uint64_t bytes,
                           bool failed);

/* Formats a step as a trace log line's tail: "CALLER -> CALLEE KIND 1.234ms 512B[ error]". */
void zh_hop_step_format(const zh_hop_step *s, char *buf, size_t cap);

#endif
