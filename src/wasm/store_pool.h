/* A pool of stores for servers that run one guest call per request (zerohop serve, the app
 * host): a store is taken for a request, rolled back to empty and given back, so the next
 * request on any thread starts clean and no store is made per request.
 *
 * The pool is an array of slots, one cache line each, filled and emptied with atomic
 * exchanges; a thread starts looking at the slot of the CPU it runs on. So the workers of a
 * server, about one per core, take and give their stores without a lock or a wake-up, and
 * each tends to get back the store it used last, still in its CPU's cache. A store given
 * when every slot is full is freed (a burst of extra workers); one taken when the pool is
 * empty is made.
 *
 * Ownership: the pool owns the stores in its slots; a taken store is the caller's until it
 * is given back. zh_store_pool_free frees the pooled stores: every taken one must have been
 * given back first. Take and give may be called from any thread, but a store is used and
 * given back by the thread that took it: the pool counts that thread's page faults over
 * the loan, and a loan without one lets the next resets of its memories skip reading
 * pagemap (zh_mem_reset_to_image). A store given back by another thread is not counted.
 */
#ifndef ZH_WASM_STORE_POOL_H
#define ZH_WASM_STORE_POOL_H

#include "zerohop/engine.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct zh_store_pool zh_store_pool;

/* A store lent by the pool; `mark` is its empty state. */
typedef struct zh_pooled_store {
  zh_store *store;
  zh_mark mark;
  uint64_t loans;  /* loans so far, numbering them */
  pthread_t taker; /* the thread of the current loan */
  uint64_t faults; /* its page faults at the take */
  bool counted;    /* `faults` is known */
} zh_pooled_store;

zh_error *zh_store_pool_new(zh_engine *engine, zh_store_pool **out);
/* A store from the pool, or a new one (ZH_ERR_RESOURCE when it cannot be made). */
zh_error *zh_store_pool_take(zh_store_pool *pool, zh_pooled_store **out);
/* Disarms the store's deadline, rolls it back to its mark and keeps it for the next take.
 * A store that cannot roll back is freed, and the error says why (for the caller's log). */
zh_error *zh_store_pool_give(zh_store_pool *pool, zh_pooled_store *ps);
void zh_store_pool_free(zh_store_pool *pool); /* accepts NULL */

#endif
