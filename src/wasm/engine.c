/* The engine: configuration, the canonical function-type registry, the memory-region
 * pool and the deadline watchdog. Shared by all threads; `lock` guards the registry's
 * mutable parts and the watchdog list, the pool has its own lock. */
#include "wasm/error.h"
#include "wasm/runtime.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- engine lifetime ---- */

static void stop_watchdog(zh_engine *engine);

zh_error *zh_engine_new(const zh_engine_config *config, zh_engine **out) {
  if (!out)
    return zh_error_new(ZH_ERR_USAGE, "zh_engine_new: out is NULL");
  *out = NULL;
  zh_engine *e = calloc(1, sizeof *e);
  if (!e)
    return zh_error_oom();
  if (config)
    e->config = *config;
  if (e->config.max_memory_pages == 0 || e->config.max_memory_pages > ZH_MAX_PAGES) {
    e->config.max_memory_pages = ZH_MAX_PAGES;
  }
  if (e->config.max_call_depth == 0)
    e->config.max_call_depth = 20000;
  if (e->config.stack_slots == 0)
    e->config.stack_slots = 1u << 20;
  /* The old behaviour for every program at once: benchmarks and tests compare the two. */
  const char *eager = getenv("ZH_EAGER");
  if (eager && strcmp(eager, "1") == 0)
    e->config.eager_compile = true;

  int rc = pthread_mutex_init(&e->lock, NULL);
  if (rc != 0) {
    free(e);
    return zh_error_new(ZH_ERR_RESOURCE, "cannot create engine mutex: %s", strerror(rc));
  }
  /* Deadlines are CLOCK_MONOTONIC, so the watchdog's timed waits must be too. */
  pthread_condattr_t attr;
  rc = pthread_condattr_init(&attr);
  if (rc == 0) {
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
      rc = pthread_cond_init(&e->watchdog_cond, &attr);
    pthread_condattr_destroy(&attr);
  }
  if (rc != 0) {
    pthread_mutex_destroy(&e->lock);
    free(e);
    return zh_error_new(ZH_ERR_RESOURCE, "cannot create engine condition variable: %s",
                        strerror(rc));
  }
  zh_mem_pool_init(&e->pool);
  *out = e;
  return NULL;
}

void zh_engine_free(zh_engine *engine) {
  if (!engine)
    return;
  stop_watchdog(engine);
  for (int k = 0; k < ZH_TYPE_NCHUNKS; k++) {
    zh_type_entry *chunk = engine->type_chunks[k];
    if (!chunk)
      break;
    for (uint32_t i = 0; i < (ZH_TYPE_CHUNK0 << k); i++)
      free(chunk[i].types);
    free(chunk);
  }
  free(engine->type_hash);
  zh_mem_pool_destroy(&engine->pool);
  pthread_cond_destroy(&engine->watchdog_cond);
  pthread_mutex_destroy(&engine->lock);
  free(engine);
}

/* ---- type registry ---- */

/* Chunk k starts at id ZH_TYPE_CHUNK0 * (2^k - 1). */
static void locate(uint32_t id, uint32_t *chunk, uint32_t *slot) {
  uint32_t q = id / ZH_TYPE_CHUNK0 + 1;
  uint32_t k = 31u - (uint32_t)__builtin_clz(q);
  *chunk = k;
  *slot = id - ZH_TYPE_CHUNK0 * ((1u << k) - 1u);
}

static uint32_t hash_type(const uint8_t *types, uint32_t nparams, uint32_t nresults) {
  uint32_t h = 2166136261u; /* FNV-1a over the counts and the value types */
  h = (h ^ nparams) * 16777619u;
  h = (h ^ nresults) * 16777619u;
  size_t n = (size_t)nparams + nresults;
  for (size_t i = 0; i < n; i++)
    h = (h ^ types[i]) * 16777619u;
  return h;
}

static zh_type_entry *entry_at(zh_engine *engine, uint32_t id) {
  uint32_t k, slot;
  locate(id, &k, &slot);
  return &engine->type_chunks[k][slot];
}

static bool same_type(const zh_type_entry *e, const uint8_t *types, uint32_t nparams,
                      uint32_t nresults) {
  size_t n = (size_t)nparams + nresults;
  return e->nparams == nparams && e->nresults == nresults &&
         (n == 0 || memcmp(e->types, types, n) == 0);
}

/* Rebuilds the hash at twice the size; false if out of memory (old table kept). */
static bool grow_hash(zh_engine *engine) {
  uint32_t cap = engine->type_hash_cap ? engine->type_hash_cap * 2 : 256;
  if (cap < engine->type_hash_cap)
    return false;
  uint32_t *tab = malloc((size_t)cap * sizeof *tab);
  if (!tab)
    return false;
  memset(tab, 0xff, (size_t)cap * sizeof *tab);
  for (uint32_t id = 0; id < engine->ntypes; id++) {
    const zh_type_entry *e = entry_at(engine, id);
    uint32_t i = hash_type(e->types, e->nparams, e->nresults) & (cap - 1);
    while (tab[i] != UINT32_MAX)
      i = (i + 1) & (cap - 1);
    tab[i] = id;
  }
  free(engine->type_hash);
  engine->type_hash = tab;
  engine->type_hash_cap = cap;
  return true;
}

uint32_t zh_engine_intern_type(zh_engine *engine, const uint8_t *types, uint32_t nparams,
                               uint32_t nresults) {
  size_t n = (size_t)nparams + nresults;
  uint32_t h = hash_type(types, nparams, nresults);
  uint32_t result = UINT32_MAX;
  pthread_mutex_lock(&engine->lock);

  uint32_t id = engine->ntypes, mask = engine->type_hash_cap - 1, i = 0;
  if (engine->type_hash) {
    for (i = h & mask; engine->type_hash[i] != UINT32_MAX; i = (i + 1) & mask) {
      uint32_t cand = engine->type_hash[i];
      if (same_type(entry_at(engine, cand), types, nparams, nresults)) {
        result = cand;
        goto done;
      }
    }
  }
  /* New type. Keep the load factor at most 1/2 so probes stay short and end at a hole. */
  if (!engine->type_hash || (uint64_t)(id + 1) * 2 > engine->type_hash_cap) {
    if (!grow_hash(engine))
      goto done;
    mask = engine->type_hash_cap - 1;
    for (i = h & mask; engine->type_hash[i] != UINT32_MAX;)
      i = (i + 1) & mask;
  }

  uint32_t k, slot;
  if (id >= ZH_TYPE_CHUNK0 * ((1u << (ZH_TYPE_NCHUNKS - 1)) * 2u - 1u))
    goto done;
  locate(id, &k, &slot);
  if (!engine->type_chunks[k]) {
    engine->type_chunks[k] = calloc((size_t)ZH_TYPE_CHUNK0 << k, sizeof(zh_type_entry));
    if (!engine->type_chunks[k])
      goto done;
    engine->cap_types += ZH_TYPE_CHUNK0 << k;
  }
  uint8_t *copy = malloc(n ? n : 1);
  if (!copy)
    goto done;
  if (n)
    memcpy(copy, types, n);
  zh_type_entry *e = &engine->type_chunks[k][slot];
  e->nparams = nparams;
  e->nresults = nresults;
  e->types = copy;
  engine->type_hash[i] = id;
  /* Release: a reader that sees the new count also sees the entry's contents. */
  __atomic_store_n(&engine->ntypes, id + 1, __ATOMIC_RELEASE);
  result = id;

done:
  pthread_mutex_unlock(&engine->lock);
  return result;
}

const zh_type_entry *zh_engine_type(zh_engine *engine, uint32_t id) {
  if (id >= __atomic_load_n(&engine->ntypes, __ATOMIC_ACQUIRE))
    return NULL;
  return entry_at(engine, id);
}

/* ---- deadline watchdog ---- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Interrupts and unlinks expired stores; returns the nearest remaining deadline or 0.
 * Called with engine->lock held. */
static uint64_t fire_expired(zh_engine *engine) {
  uint64_t now = now_ns(), next = 0;
  zh_store **link = &engine->deadlines;
  while (*link) {
    zh_store *s = *link;
    if (s->deadline_ns <= now) {
      atomic_fetch_or_explicit(&s->interrupt, ZH_INTERRUPT_DEADLINE, memory_order_release);
      s->deadline_ns = 0;
      *link = s->next_deadline;
      s->next_deadline = NULL;
    } else {
      if (next == 0 || s->deadline_ns < next)
        next = s->deadline_ns;
      link = &s->next_deadline;
    }
  }
  return next;
}

static void *watchdog_main(void *arg) {
  zh_engine *engine = arg;
  pthread_mutex_lock(&engine->lock);
  while (!engine->watchdog_stop) {
    uint64_t next = fire_expired(engine);
    engine->watchdog_wake_ns = next ? next : UINT64_MAX;
    if (next == 0) {
      pthread_cond_wait(&engine->watchdog_cond, &engine->lock);
    } else {
      struct timespec ts = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
      pthread_cond_timedwait(&engine->watchdog_cond, &engine->lock, &ts);
    }
  }
  pthread_mutex_unlock(&engine->lock);
  return NULL;
}

/* Called with engine->lock held. The thread starts with every signal blocked so that it
 * never runs the embedder's (or trap.c's) handlers. */
static void start_watchdog(zh_engine *engine) {
  if (engine->watchdog_running || engine->watchdog_stop)
    return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&engine->watchdog, NULL, watchdog_main, engine);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  /* On failure the store stays linked and the next zh_store_set_timeout retries; the
   * public API has no way to report it. */
  if (rc == 0)
    engine->watchdog_running = true;
}

static void stop_watchdog(zh_engine *engine) {
  pthread_mutex_lock(&engine->lock);
  engine->watchdog_stop = true;
  bool running = engine->watchdog_running;
  pthread_cond_signal(&engine->watchdog_cond);
  pthread_mutex_unlock(&engine->lock);
  if (running)
    pthread_join(engine->watchdog, NULL);
  engine->watchdog_running = false;
}

void zh_engine_set_deadline(zh_engine *engine, zh_store *store, uint64_t deadline_ns) {
  pthread_mutex_lock(&engine->lock);
  for (zh_store **link = &engine->deadlines; *link; link = &(*link)->next_deadline) {
    if (*link == store) {
      *link = store->next_deadline;
      break;
    }
  }
  store->next_deadline = NULL;
  store->deadline_ns = deadline_ns;
  if (deadline_ns != 0) {
    store->next_deadline = engine->deadlines;
    engine->deadlines = store;
    start_watchdog(engine);
  }
  /* Wake the watchdog only when it would sleep past the new deadline: a disarmed or later
   * deadline waits for its next wake-up, so a server that arms one per request does not
   * switch to the watchdog thread twice per request. */
  if (engine->watchdog_running && deadline_ns != 0 && deadline_ns < engine->watchdog_wake_ns)
    pthread_cond_signal(&engine->watchdog_cond);
  pthread_mutex_unlock(&engine->lock);
}
