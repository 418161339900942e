/* Hop tracing: append-only tables of edges and request series.
 *
 * Edges are found through an open-addressed index (a hash of caller, callee and kind; a
 * quarter full at most) and kept in first-seen order in an array beside it, the order the
 * wiring print and the metrics use. An edge is published by storing its pointer with release
 * order (in the index slot, and in the array before the length), so readers, which are
 * every hop, search without a lock and bump the counters with relaxed atomic adds. Only the
 * first hop of a new edge takes the mutex, which serialises inserts; records are never moved
 * or freed before the table, so a pointer read once stays valid. Request series are few and
 * counted once per request: a linear search does. */
#include "host/hops.h"

#include "wasm/error.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct edge_rec {
  uint64_t hash;
  char *caller, *callee;
  zh_hop_kind kind;
  _Atomic uint64_t count, errors, total_ns, bytes;
  _Atomic uint64_t buckets[ZH_HOP_BUCKETS];
} edge_rec;

typedef struct req_rec {
  char *route, *component;
  int status;
  _Atomic uint64_t count;
} req_rec;

#define INDEX_SLOTS (4 * ZH_HOPS_MAX_EDGES) /* a power of two */

struct zh_hops {
  pthread_mutex_t lock; /* inserts only */
  _Atomic size_t nedges, nreqs;
  _Atomic(edge_rec *) index[INDEX_SLOTS];
  edge_rec *edges[ZH_HOPS_MAX_EDGES];
  req_rec *reqs[ZH_HOPS_MAX_REQUESTS];
  _Atomic uint64_t dropped, next_trace;
};

zh_error *zh_hops_new(zh_hops **out) {
  zh_hops *h = calloc(1, sizeof *h);
  if (!h)
    return zh_error_oom();
  pthread_mutex_init(&h->lock, NULL);
  *out = h;
  return NULL;
}

void zh_hops_free(zh_hops *hops) {
  if (!hops)
    return;
  for (size_t i = 0; i < atomic_load(&hops->nedges); i++) {
    free(hops->edges[i]->caller);
    free(hops->edges[i]->callee);
    free(hops->edges[i]);
  }
  for (size_t i = 0; i < atomic_load(&hops->nreqs); i++) {
    free(hops->reqs[i]->route);
    free(hops->reqs[i]->component);
    free(hops->reqs[i]);
  }
  pthread_mutex_destroy(&hops->lock);
  free(hops);
}

static bool edge_is(const edge_rec *e, const char *caller, const char *callee, zh_hop_kind kind) {
  return e->kind == kind && strcmp(e->caller, caller) == 0 && strcmp(e->callee, callee) == 0;
}

/* FNV-1a over caller, a separator, callee and the kind. */
static uint64_t edge_hash(const char *caller, const char *callee, zh_hop_kind kind) {
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char *p = (const unsigned char *)caller; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  h = (h ^ 0xffu) * 1099511628211ull;
  for (const unsigned char *p = (const unsigned char *)callee; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  return (h ^ (unsigned)kind) * 1099511628211ull;
}

/* The edge, or NULL with *slot the empty slot where it would go. */
static edge_rec *find_edge(zh_hops *h, uint64_t hash, const char *caller, const char *callee,
                           zh_hop_kind kind, size_t *slot) {
  for (size_t i = hash & (INDEX_SLOTS - 1);; i = (i + 1) & (INDEX_SLOTS - 1)) {
    edge_rec *e = atomic_load_explicit(&h->index[i], memory_order_acquire);
    if (!e) {
      *slot = i;
      return NULL;
    }
    if (e->hash == hash && edge_is(e, caller, callee, kind))
      return e;
  }
}

static edge_rec *add_edge(zh_hops *h, uint64_t hash, const char *caller, const char *callee,
                          zh_hop_kind kind) {
  pthread_mutex_lock(&h->lock);
  size_t n = atomic_load_explicit(&h->nedges, memory_order_relaxed), slot;
  edge_rec *e = find_edge(h, hash, caller, callee, kind, &slot); /* added meanwhile? */
  if (!e && n < ZH_HOPS_MAX_EDGES && (e = calloc(1, sizeof *e)) != NULL) {
    e->hash = hash;
    e->caller = strdup(caller);
    e->callee = strdup(callee);
    e->kind = kind;
    if (e->caller && e->callee) {
      h->edges[n] = e;
      atomic_store_explicit(&h->nedges, n + 1, memory_order_release);
      atomic_store_explicit(&h->index[slot], e, memory_order_release);
    } else {
      free(e->caller);
      free(e->callee);
      free(e);
      e = NULL;
    }
  }
  pthread_mutex_unlock(&h->lock);
  return e;
}

unsigned zh_hop_bucket(uint64_t ns) {
  /* the first i with ns <= 1000 * 4^i, i.e. ceil(us) <= 4^i */
  uint64_t q = ns / 1000 + (ns % 1000 != 0);
  unsigned bits = q > 1 ? 64u - (unsigned)__builtin_clzll(q - 1) : 0;
  unsigned i = (bits + 1) / 2;
  return i < ZH_HOP_BUCKETS - 1 ? i : ZH_HOP_BUCKETS - 1;
}

uint64_t zh_hop_bucket_bound_ns(unsigned i) {
  if (i >= ZH_HOP_BUCKETS - 1)
    return UINT64_MAX;
  return 1000ull << (2 * i);
}

void zh_hops_record(zh_hops *hops, const char *caller, const char *callee, zh_hop_kind kind,
                    uint64_t ns, uint64_t bytes, bool failed) {
  if (!hops)
    return;
  caller = caller ? caller : "";
  callee = callee ? callee : "";
  uint64_t hash = edge_hash(caller, callee, kind);
  size_t slot;
  edge_rec *e = find_edge(hops, hash, caller, callee, kind, &slot);
  if (!e)
    e = add_edge(hops, hash, caller, callee, kind);
  if (!e) {
    atomic_fetch_add_explicit(&hops->dropped, 1, memory_order_relaxed);
    return;
  }
  atomic_fetch_add_explicit(&e->count, 1, memory_order_relaxed);
  if (failed)
    atomic_fetch_add_explicit(&e->errors, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&e->total_ns, ns, memory_order_relaxed);
  atomic_fetch_add_explicit(&e->bytes, bytes, memory_order_relaxed);
  atomic_fetch_add_explicit(&e->buckets[zh_hop_bucket(ns)], 1, memory_order_relaxed);
}

void zh_hops_each(zh_hops *hops, void (*fn)(void *env, const zh_hop_edge *edge), void *env) {
  if (!hops)
    return;
  size_t n = atomic_load_explicit(&hops->nedges, memory_order_acquire);
  for (size_t i = 0; i < n; i++) {
    const edge_rec *r = hops->edges[i];
    zh_hop_edge e = {r->caller, r->callee, r->kind, 0, 0, 0, 0, {0}};
    for (unsigned b = 0; b < ZH_HOP_BUCKETS; b++)
      e.buckets[b] = atomic_load_explicit(&r->buckets[b], memory_order_relaxed);
    e.errors = atomic_load_explicit(&r->errors, memory_order_relaxed);
    e.total_ns = atomic_load_explicit(&r->total_ns, memory_order_relaxed);
    e.bytes = atomic_load_explicit(&r->bytes, memory_order_relaxed);
    uint64_t in_buckets = 0;
    for (unsigned b = 0; b < ZH_HOP_BUCKETS; b++)
      in_buckets += e.buckets[b];
    e.count = in_buckets; /* a hop in flight between its adds: the histogram stays whole */
    fn(env, &e);
  }
}

uint64_t zh_hops_dropped(const zh_hops *hops) {
  return hops ? atomic_load_explicit(&hops->dropped, memory_order_relaxed) : 0;
}

void zh_hops_count_request(zh_hops *hops, const char *route, const char *component, int status) {
  if (!hops)
    return;
  route = route ? route : "";
  component = component ? component : "";
  size_t n = atomic_load_explicit(&hops->nreqs, memory_order_acquire);
  req_rec *r = NULL;
  for (size_t i = 0; i < n && !r; i++) {
    req_rec *q = hops->reqs[i];
    if (q->status == status && strcmp(q->route, route) == 0 && strcmp(q->component, component) == 0)
      r = q;
  }
  if (!r) {
    pthread_mutex_lock(&hops->lock);
    size_t m = atomic_load_explicit(&hops->nreqs, memory_order_relaxed);
    for (size_t i = n; i < m && !r; i++) {
      req_rec *q = hops->reqs[i];
      if (q->status == status && strcmp(q->route, route) == 0 &&
          strcmp(q->component, component) == 0)
        r = q;
    }
    if (!r && m < ZH_HOPS_MAX_REQUESTS && (r = calloc(1, sizeof *r)) != NULL) {
      r->route = strdup(route);
      r->component = strdup(component);
      r->status = status;
      if (r->route && r->component) {
        hops->reqs[m] = r;
        atomic_store_explicit(&hops->nreqs, m + 1, memory_order_release);
      } else {
        free(r->route);
        free(r->component);
        free(r);
        r = NULL;
      }
    }
    pthread_mutex_unlock(&hops->lock);
  }
  if (r)
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
  else
    atomic_fetch_add_explicit(&hops->dropped, 1, memory_order_relaxed);
}

void zh_hops_each_request(zh_hops *hops, void (*fn)(void *env, const zh_hop_requests *r),
                          void *env) {
  if (!hops)
    return;
  size_t n = atomic_load_explicit(&hops->nreqs, memory_order_acquire);
  for (size_t i = 0; i < n; i++) {
    const req_rec *q = hops->reqs[i];
    zh_hop_requests r = {q->route, q->component, q->status,
                         atomic_load_explicit(&q->count, memory_order_relaxed)};
    fn(env, &r);
  }
}

uint64_t zh_hops_next_trace_id(zh_hops *hops) {
  return hops ? atomic_fetch_add_explicit(&hops->next_trace, 1, memory_order_relaxed) + 1 : 0;
}

static const char *const kind_names[ZH_HOP_KIND_COUNT] = {"call", "chain", "bus", "redis", "http"};

const char *zh_hop_kind_name(zh_hop_kind kind) {
  return kind < ZH_HOP_KIND_COUNT ? kind_names[kind] : "?";
}

bool zh_hop_kind_parse(const char *name, zh_hop_kind *out) {
  for (int k = 0; k < ZH_HOP_KIND_COUNT; k++)
    if (strcmp(name, kind_names[k]) == 0) {
      *out = (zh_hop_kind)k;
      return true;
    }
  return false;
}

uint64_t zh_hops_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void zh_hops_record_traced(zh_hops *hops, zh_hop_trace *trace, const char *caller,
                           const char *callee, zh_hop_kind kind, uint64_t ns, uint64_t bytes,
                           bool failed) {
  zh_hops_record(hops, caller, callee, kind, ns, bytes, failed);
  zh_hop_trace_add(trace, caller, callee, kind, ns, bytes, failed);
}
