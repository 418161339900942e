/* The store pool (store_pool.h): slots taken and filled with atomic exchanges, looked at
 * from the current CPU's slot on. */
#include "wasm/store_pool.h"

#include "wasm/error.h"
#include "wasm/runtime.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>

/* More slots than a server has workers in the steady state; only a burst of extra workers
 * (handlers that hold theirs) can overflow them. */
#define POOL_SLOTS 64u

typedef struct pool_slot {
  _Alignas(64) _Atomic(zh_pooled_store *) ps; /* one cache line each: no false sharing */
} pool_slot;

struct zh_store_pool {
  zh_engine *engine;
  pool_slot slots[POOL_SLOTS];
};

zh_error *zh_store_pool_new(zh_engine *engine, zh_store_pool **out) {
  *out = NULL;
  zh_store_pool *p = aligned_alloc(_Alignof(pool_slot), sizeof *p);
  if (!p)
    return zh_error_oom();
  p->engine = engine;
  for (unsigned i = 0; i < POOL_SLOTS; i++)
    atomic_init(&p->slots[i].ps, NULL);
  *out = p;
  return NULL;
}

static unsigned home_slot(void) {
  int cpu = sched_getcpu(); /* a hint only: the thread may move at once */
  return cpu < 0 ? 0 : (unsigned)cpu % POOL_SLOTS;
}

/* The calling thread's page faults so far; false if the kernel does not say. */
static bool thread_faults(uint64_t *out) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0)
    return false;
  *out = (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
  return true;
}

/* The calling thread's fault count when it last gave a store back. A take uses it instead of
 * asking the kernel again: the count only grows, so faults between that give and this take
 * can only make the loan look dirty (one more pagemap read), never clean. Per thread because
 * the kernel counts per thread; it describes nothing but the thread itself. */
static _Thread_local struct {
  bool known;
  uint64_t faults;
} tl_last_give;

/* A loan begins: numbered in the store (resets in it record the number), and the taking
 * thread's faults counted. */
static zh_pooled_store *lend(zh_pooled_store *ps) {
  ps->store->loan = ++ps->loans;
  ps->taker = pthread_self();
  if (tl_last_give.known) {
    ps->faults = tl_last_give.faults;
    ps->counted = true;
  } else {
    ps->counted = thread_faults(&ps->faults);
  }
  return ps;
}

zh_error *zh_store_pool_take(zh_store_pool *p, zh_pooled_store **out) {
  *out = NULL;
  unsigned home = home_slot();
  for (unsigned i = 0; i < POOL_SLOTS; i++) {
    pool_slot *s = &p->slots[(home + i) % POOL_SLOTS];
    /* a plain load first: an empty slot is not written, so the scan does not bounce
     * other CPUs' lines */
    if (atomic_load_explicit(&s->ps, memory_order_relaxed) == NULL)
      continue;
    zh_pooled_store *ps = atomic_exchange_explicit(&s->ps, NULL, memory_order_acquire);
    if (ps) {
      *out = lend(ps);
      return NULL;
    }
  }
  zh_pooled_store *ps = calloc(1, sizeof *ps);
  if (!ps)
    return zh_error_oom();
  zh_error *err = zh_store_new(p->engine, &ps->store);
  if (err) {
    free(ps);
    return err;
  }
  ps->mark = zh_store_mark(ps->store);
  *out = lend(ps);
  return NULL;
}

static void drop(zh_pooled_store *ps) {
  zh_store_free(ps->store);
  free(ps);
}

zh_error *zh_store_pool_give(zh_store_pool *p, zh_pooled_store *ps) {
  zh_store_set_timeout(ps->store, 0);
  zh_error *err = zh_store_release_to(ps->store, ps->mark);
  if (err) {
    drop(ps);
    return err;
  }
  /* A fault in the loan (or one that may have gone uncounted): a page of its memories may
   * have become a private copy that their last reset did not see. */
  uint64_t now = 0;
  tl_last_give.known = thread_faults(&now);
  tl_last_give.faults = now;
  if (!(ps->counted && pthread_equal(ps->taker, pthread_self()) && tl_last_give.known &&
        now == ps->faults))
    ps->store->dirty_loan = ps->store->loan;
  ps->store->loan = 0;
  unsigned home = home_slot();
  for (unsigned i = 0; i < POOL_SLOTS; i++) {
    pool_slot *s = &p->slots[(home + i) % POOL_SLOTS];
    zh_pooled_store *empty = NULL;
    if (atomic_load_explicit(&s->ps, memory_order_relaxed) == NULL &&
        atomic_compare_exchange_strong_explicit(&s->ps, &empty, ps, memory_order_release,
                                                memory_order_relaxed))
      return NULL;
  }
  drop(ps); /* every slot full */
  return NULL;
}

void zh_store_pool_free(zh_store_pool *p) {
  if (!p)
    return;
  for (unsigned i = 0; i < POOL_SLOTS; i++) {
    zh_pooled_store *ps = atomic_load_explicit(&p->slots[i].ps, memory_order_acquire);
    if (ps)
      drop(ps);
  }
  free(p);
}
