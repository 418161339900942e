/* Hop tracing: every interaction between components, and between a component and the
 * network, recorded as an edge (caller, callee, kind) with its count, time and bytes.
 *
 * The app owns one zh_hops; each instance finds it through zh_host_instance.hops. Recording
 * is thread-safe and never fails: an edge that cannot be stored (out of memory) is counted
 * in `dropped` instead, so tracing never changes what a request does. Names are copied. */
#ifndef ZH_HOST_HOPS_H
#define ZH_HOST_HOPS_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum zh_hop_kind {
  ZH_HOP_CALL,     /* an in-process component call (a dependency's export) */
  ZH_HOP_CHAIN,    /* local service chaining: http://<id>.spin.internal */
  ZH_HOP_BUS,      /* the in-process event bus: publish -> a subscriber handled it */
  ZH_HOP_REDIS,    /* Redis: publish, a trigger's message, or a command */
  ZH_HOP_HTTP_OUT, /* outbound HTTP over the network */
  ZH_HOP_KIND_COUNT
} zh_hop_kind;

typedef struct zh_hops zh_hops;

/* One edge's totals, as zh_hops_each gives them. */
typedef struct zh_hop_edge {
  const char *caller; /* a component id, or a trigger ("redis:CHANNEL", "http") */
  const char *callee; /* a component id, a channel, or a host:port */
  zh_hop_kind kind;
  uint64_t count, errors;
  uint64_t total_ns, bytes;
} zh_hop_edge;

zh_error *zh_hops_new(zh_hops **out);
void zh_hops_free(zh_hops *hops); /* accepts NULL */

/* Records one hop of `ns` nanoseconds moving `bytes`; `failed` counts it as an error too.
 * `hops` may be NULL (nothing is recorded). */
void zh_hops_record(zh_hops *hops, const char *caller, const char *callee, zh_hop_kind kind,
                    uint64_t ns, uint64_t bytes, bool failed);

/* Calls `fn` for every edge, under the lock, in the order they were first seen. */
void zh_hops_each(zh_hops *hops, void (*fn)(void *env, const zh_hop_edge *edge), void *env);

/* The kind's name as logs, metrics and graphs spell it ("call", "chain", "bus", "redis",
 * "http"). */
const char *zh_hop_kind_name(zh_hop_kind kind);

/* CLOCK_MONOTONIC in nanoseconds, for timing a hop. */
uint64_t zh_hops_now_ns(void);

#endif
