/* Stores: the value stack, the frame array, the list of owned objects, and the hooks
 * for interruption and deadlines. */
#include "wasm/error.h"
#include "wasm/objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The stack mapping: the frame array and the value slots, each rounded up to whole pages,
 * then one inaccessible guard page so an interpreter bug that overruns stack_end faults
 * instead of corrupting. One mapping for both: a store costs one mmap, one mprotect and
 * one munmap, and only the pages a call touches become memory. */
static size_t stack_map_bytes(const zh_engine *engine, size_t *slots_at, size_t *guard_at) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t frames = (size_t)engine->config.max_call_depth * sizeof(zh_frame);
  frames = (frames + page - 1) / page * page;
  size_t bytes = (size_t)engine->config.stack_slots * sizeof(uint64_t);
  bytes = (bytes + page - 1) / page * page;
  *slots_at = frames;
  *guard_at = frames + bytes;
  return frames + bytes + page;
}

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "zh_store_interrupt must be async-signal-safe");

zh_error *zh_store_new(zh_engine *engine, zh_store **out) {
  if (!out)
    return zh_error_new(ZH_ERR_USAGE, "zh_store_new: out is NULL");
  *out = NULL;
  if (!engine)
    return zh_error_new(ZH_ERR_USAGE, "zh_store_new: engine is NULL");
  zh_store *s = calloc(1, sizeof *s);
  if (!s)
    return zh_error_oom();
  s->engine = engine;
  atomic_init(&s->interrupt, 0);

  size_t slots_at, guard_at, total = stack_map_bytes(engine, &slots_at, &guard_at);
  /* MAP_NORESERVE: the full stack is address space; only the used part becomes memory. */
  void *stack =
      mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED) {
    int e = errno;
    free(s);
    return zh_error_new(ZH_ERR_RESOURCE, "cannot map a %zu-byte stack: %s", total, strerror(e));
  }
  if (mprotect((uint8_t *)stack + guard_at, total - guard_at, PROT_NONE) != 0) {
    int e = errno;
    munmap(stack, total);
    free(s);
    return zh_error_new(ZH_ERR_RESOURCE, "cannot protect the value stack guard: %s", strerror(e));
  }
  s->frames = stack; /* fresh anonymous pages: zeroed */
  s->stack = (uint64_t *)(void *)((uint8_t *)stack + slots_at);
  s->stack_end = s->stack + engine->config.stack_slots;
  s->max_depth = engine->config.max_call_depth;
  *out = s;
  return NULL;
}

void zh_store_truncate(zh_store *store, uint64_t keep) {
  while (store->nowned > keep) {
    zh_owned *o = store->owned;
    store->owned = o->next;
    store->nowned--;
    o->release(o->obj);
    o->next = store->spare_owned;
    store->spare_owned = o;
  }
}

void zh_store_free(zh_store *store) {
  if (!store)
    return;
  /* Unlink first, so the watchdog never touches a store being torn down. */
  zh_engine_set_deadline(store->engine, store, 0);
  /* The list is newest-first: objects go in reverse order of registration, so an
   * object is released before anything it was built on (an instance before its memory
   * imports, etc.). */
  zh_store_truncate(store, 0);
  while (store->spare_owned) {
    zh_owned *next = store->spare_owned->next;
    free(store->spare_owned);
    store->spare_owned = next;
  }
  while (store->block_cache) {
    struct zh_inst_block *next = store->block_cache->cache_next;
    zh_inst_release(store->block_cache); /* and the memory it kept mapped */
    store->block_cache = next;
  }
  size_t slots_at, guard_at, total = stack_map_bytes(store->engine, &slots_at, &guard_at);
  munmap(store->frames, total);
  free(store);
}

bool zh_store_own(zh_store *store, void *obj, void (*release)(void *)) {
  zh_owned *o = store->spare_owned;
  if (o)
    store->spare_owned = o->next;
  else
    o = malloc(sizeof *o);
  if (!o) {
    release(obj);
    return false;
  }
  o->next = store->owned;
  o->release = release;
  o->obj = obj;
  store->owned = o;
  store->nowned++;
  return true;
}

zh_mark zh_store_mark(const zh_store *store) { return store ? store->nowned : 0; }

zh_error *zh_store_release_to(zh_store *store, zh_mark mark) {
  if (!store)
    return zh_error_new(ZH_ERR_USAGE, "zh_store_release_to: store is NULL");
  /* A running call may hold frames in, or references to, what would be released. */
  if (store->depth || store->host_depth)
    return zh_error_new(ZH_ERR_USAGE, "zh_store_release_to: a call is running in the store");
  if (mark > store->nowned)
    return zh_error_new(ZH_ERR_USAGE,
                        "zh_store_release_to: mark %llu is newer than the store (%llu objects): "
                        "it was already released",
                        (unsigned long long)mark, (unsigned long long)store->nowned);
  zh_store_truncate(store, mark);
  return NULL;
}

void zh_store_set_data(zh_store *store, void *data) { store->data = data; }

void *zh_store_data(const zh_store *store) { return store->data; }

void zh_store_interrupt(zh_store *store) {
  /* A lock-free atomic store: safe from signal handlers and any thread. */
  if (store)
    atomic_fetch_or_explicit(&store->interrupt, ZH_INTERRUPT_REQUEST, memory_order_release);
}

bool zh_store_interrupt_pending(const zh_store *store) {
  return store && atomic_load_explicit(&((zh_store *)store)->interrupt, memory_order_acquire) != 0;
}

void zh_store_set_timeout(zh_store *store, uint64_t nanoseconds) {
  if (!store)
    return;
  uint64_t deadline = 0;
  if (nanoseconds != 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    deadline = nanoseconds > UINT64_MAX - now ? UINT64_MAX : now + nanoseconds;
  }
  atomic_fetch_and_explicit(&store->interrupt, ~ZH_INTERRUPT_DEADLINE, memory_order_relaxed);
  zh_engine_set_deadline(store->engine, store, deadline);
}
