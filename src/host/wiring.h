/* An app's wiring, derived statically from its manifest and runtime config: which parts
 * talk to which, and whether each edge stays in the process or crosses the network. Used by
 * `zerohop up` (printed at start) and `zerohop graph` (drawn).
 *
 * Nodes are named the way hop tracing names the two ends of a hop (host/hops.h), so a
 * measured edge finds its static one: a component by its id, a Redis channel "redis:NAME",
 * an outside service or Redis server "host:port", a key-value store "kv:NAME", a SQLite
 * database "sqlite:NAME", an HTTP route "route:/path".
 *
 * Edges:
 *   route -> component                 inbound HTTP (network)
 *   component -> component             [component.X.dependencies] = { component = "Y" }: call,
 *                                      in-process; a dependency from a file or URL is a
 *                                      node "dep:NAME" of kind component
 *   component -> component             allowed_outbound_hosts http://Y.spin.internal (or
 *                                      *.spin.internal: every other component): chain,
 *                                      in-process
 *   component -> redis:CHANNEL         a component allowed to reach the Redis address of a
 *                                      [[trigger.redis]] channel may publish to it (unless
                                      it subscribes to a channel there itself): bus
 *                                      (in-process) when the channel's transport is local or
 *                                      both, redis (network) when it is redis (the default)
 *   redis:CHANNEL -> component         the trigger's subscriber, the same way
 *   redis:CHANNEL -> host:port         transport redis or both: the channel on the Redis
 *                                      server (network)
 *   component -> host:port             other outbound hosts: http(s), redis, databases
 *                                      (network)
 *   component -> kv:NAME, sqlite:NAME  stores: in-process for SQLite files, network for a
 *                                      key-value store on Redis
 * Ownership: the wiring owns its strings; free it with zh_wiring_free. */
#ifndef ZH_HOST_WIRING_H
#define ZH_HOST_WIRING_H

#include "host/manifest.h"
#include "host/runtime_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum zh_wiring_node_kind {
  ZH_WIRING_ROUTE,
  ZH_WIRING_COMPONENT,
  ZH_WIRING_CHANNEL,
  ZH_WIRING_STORE, /* key-value store or SQLite database */
  ZH_WIRING_SERVICE,
} zh_wiring_node_kind;

typedef enum zh_wiring_edge_kind {
  ZH_WIRING_INBOUND, /* an HTTP route to its component */
  ZH_WIRING_CALL,
  ZH_WIRING_CHAIN,
  ZH_WIRING_BUS,
  ZH_WIRING_REDIS,
  ZH_WIRING_HTTP,
  ZH_WIRING_OUTBOUND, /* another protocol to an outside service (mysql, postgres, ...) */
  ZH_WIRING_KV,
  ZH_WIRING_SQLITE,
} zh_wiring_edge_kind;

typedef struct zh_wiring_node {
  char *name;  /* unique; as hop tracing names it */
  char *label; /* what to show (may differ: "orders" for "redis:orders") */
  zh_wiring_node_kind kind;
} zh_wiring_node;

typedef struct zh_wiring_edge {
  size_t from, to; /* node indices */
  zh_wiring_edge_kind kind;
  bool network; /* crosses the network, else stays in the process */
  char *note;   /* a few words: the dependency's name, the channel's transport, ... */
} zh_wiring_edge;

typedef struct zh_wiring {
  zh_wiring_node *nodes;
  size_t nnodes, cap_nodes;
  zh_wiring_edge *edges;
  size_t nedges, cap_edges;
} zh_wiring;

/* Builds the wiring of `m` with `rc` (NULL: no runtime config). Only out of memory fails. */
zh_error *zh_wiring_build(const zh_manifest *m, const zh_runtime_config *rc, zh_wiring *out);
void zh_wiring_free(zh_wiring *w);

/* Adds a node (or finds the one of that name) and an edge (or finds the same from, to and
 * kind); for measured edges that the static wiring did not foresee. -1 / false: no memory. */
long zh_wiring_node_add(zh_wiring *w, const char *name, const char *label,
                        zh_wiring_node_kind kind);
bool zh_wiring_edge_add(zh_wiring *w, size_t from, size_t to, zh_wiring_edge_kind kind,
                        bool network, const char *note);
/* The node of that name, or -1. */
long zh_wiring_node_find(const zh_wiring *w, const char *name);

const char *zh_wiring_edge_kind_name(zh_wiring_edge_kind kind);

/* Prints "Wiring:" and one line per edge ("  a -> b  in-process  call (note)"), then a
 * count of in-process and network edges. */
void zh_wiring_print(const zh_wiring *w, FILE *out);

#endif
