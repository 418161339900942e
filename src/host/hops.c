/* Hop tracing: an append-only table of edges under one mutex. An app has a few dozen edges
 * at most, so a linear search is cheaper than hashing and keeps the first-seen order that
 * the wiring print and the metrics use. */
#include "host/hops.h"

#include "wasm/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct zh_hops {
  pthread_mutex_t lock;
  zh_hop_edge *edges;
  size_t len, cap;
  uint64_t dropped;
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
  for (size_t i = 0; i < hops->len; i++) {
    free((char *)hops->edges[i].caller);
    free((char *)hops->edges[i].callee);
  }
  free(hops->edges);
  pthread_mutex_destroy(&hops->lock);
  free(hops);
}

static zh_hop_edge *find_or_add(zh_hops *h, const char *caller, const char *callee,
                                zh_hop_kind kind) {
  for (size_t i = 0; i < h->len; i++) {
    zh_hop_edge *e = &h->edges[i];
    if (e->kind == kind && strcmp(e->caller, caller) == 0 && strcmp(e->callee, callee) == 0)
      return e;
  }
  if (h->len == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    zh_hop_edge *edges = realloc(h->edges, cap * sizeof *edges);
    if (!edges)
      return NULL;
    h->edges = edges;
    h->cap = cap;
  }
  char *a = strdup(caller), *b = strdup(callee);
  if (!a || !b) {
    free(a);
    free(b);
    return NULL;
  }
  zh_hop_edge *e = &h->edges[h->len++];
  memset(e, 0, sizeof *e);
  e->caller = a;
  e->callee = b;
  e->kind = kind;
  return e;
}

void zh_hops_record(zh_hops *hops, const char *caller, const char *callee, zh_hop_kind kind,
                    uint64_t ns, uint64_t bytes, bool failed) {
  if (!hops)
    return;
  pthread_mutex_lock(&hops->lock);
  zh_hop_edge *e = find_or_add(hops, caller ? caller : "", callee ? callee : "", kind);
  if (e) {
    e->count++;
    e->errors += failed;
    e->total_ns += ns;
    e->bytes += bytes;
  } else {
    hops->dropped++;
  }
  pthread_mutex_unlock(&hops->lock);
}

void zh_hops_each(zh_hops *hops, void (*fn)(void *env, const zh_hop_edge *edge), void *env) {
  if (!hops)
    return;
  pthread_mutex_lock(&hops->lock);
  for (size_t i = 0; i < hops->len; i++)
    fn(env, &hops->edges[i]);
  pthread_mutex_unlock(&hops->lock);
}

const char *zh_hop_kind_name(zh_hop_kind kind) {
  static const char *const names[ZH_HOP_KIND_COUNT] = {"call", "chain", "bus", "redis", "http"};
  return kind < ZH_HOP_KIND_COUNT ? names[kind] : "?";
}

uint64_t zh_hops_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
