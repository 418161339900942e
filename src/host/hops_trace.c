/* One request's trace: the hops it made, appended under a mutex (a nested call or a bus
 * subscriber may run on another thread) and logged by the host after the response. A trace
 * is rare (on demand), so it favours simplicity over speed: one allocation per step. */
#include "host/hops.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zh_hop_trace {
  pthread_mutex_t lock;
  uint64_t started_ns;
  zh_hop_step *steps;
  size_t n, cap;
  uint64_t left_out; /* past ZH_HOP_TRACE_MAX_STEPS, or out of memory */
};

zh_hop_trace *zh_hop_trace_new(void) {
  zh_hop_trace *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  pthread_mutex_init(&t->lock, NULL);
  t->started_ns = zh_hops_now_ns();
  return t;
}

void zh_hop_trace_free(zh_hop_trace *t) {
  if (!t)
    return;
  for (size_t i = 0; i < t->n; i++) {
    free(t->steps[i].caller);
    free(t->steps[i].callee);
  }
  free(t->steps);
  pthread_mutex_destroy(&t->lock);
  free(t);
}

void zh_hop_trace_add(zh_hop_trace *t, const char *caller, const char *callee, zh_hop_kind kind,
                      uint64_t ns, uint64_t bytes, bool failed) {
  if (!t)
    return;
  uint64_t now = zh_hops_now_ns();
  pthread_mutex_lock(&t->lock);
  if (t->n >= ZH_HOP_TRACE_MAX_STEPS) { /* a guest looping on hops cannot grow it forever */
    t->left_out++;
    pthread_mutex_unlock(&t->lock);
    return;
  }
  pthread_mutex_unlock(&t->lock);
  char *a = strdup(caller ? caller : ""), *b = strdup(callee ? callee : "");
  pthread_mutex_lock(&t->lock);
  if (a && b && t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    zh_hop_step *steps = realloc(t->steps, cap * sizeof *steps);
    if (steps) {
      t->steps = steps;
      t->cap = cap;
    }
  }
  if (a && b && t->n < t->cap && t->n < ZH_HOP_TRACE_MAX_STEPS) {
    uint64_t since = now - t->started_ns, start = since > ns ? since - ns : 0;
    size_t at = t->n++; /* kept in order of start: an enclosing hop ends after its inner ones */
    while (at > 0 && t->steps[at - 1].start_ns > start) {
      t->steps[at] = t->steps[at - 1];
      at--;
    }
    t->steps[at] = (zh_hop_step){a, b, kind, start, ns, bytes, failed};
    a = b = NULL;
  } else {
    t->left_out++;
  }
  pthread_mutex_unlock(&t->lock);
  free(a); /* not stored: out of memory, the step is left out */
  free(b);
}

const zh_hop_step *zh_hop_trace_steps(const zh_hop_trace *t, size_t *n) {
  *n = t ? t->n : 0;
  return t ? t->steps : NULL;
}

uint64_t zh_hop_trace_started_ns(const zh_hop_trace *t) { return t ? t->started_ns : 0; }

uint64_t zh_hop_trace_left_out(const zh_hop_trace *t) { return t ? t->left_out : 0; }

void zh_hop_step_format(const zh_hop_step *s, char *buf, size_t cap) {
  snprintf(buf, cap, "%s -> %s %s %" PRIu64 ".%03" PRIu64 "ms %" PRIu64 "B%s", s->caller, s->callee,
           zh_hop_kind_name(s->kind), s->ns / 1000000u, s->ns / 1000u % 1000u, s->bytes,
           s->failed ? " error" : "");
}
