/* Key-value storage backends behind the app host's key-value interfaces (kv.c).
 *
 * A backend is one place where a labelled store's pairs live, behind a small vtable:
 *   - SQLite (kv_sqlite.c): a file holding one table in Spin's shape,
 *       spin_key_value(store TEXT, key TEXT, value BLOB, PRIMARY KEY (store, key)),
 *     where `store` is the label, so one file can hold many stores and a file Spin wrote
 *     reads the same here. One connection per file behind a mutex, holding the file's lock
 *     (one process per file); WAL journal, so a value survives a crash or restart of the
 *     process once set returns.
 *   - Redis (kv_redis.c): hiredis connections to `redis://[:password@]host[:port][/db]`,
 *     pooled behind a mutex (a hiredis context serves one thread at a time), made on demand
 *     so the app starts while Redis is down; keys are the store's keys as they are.
 *
 * Every function is thread-safe: requests on all cores share a backend. Errors are values
 * whose message names the backend (file or URL), the operation and the cause; kv.c hands
 * them to the guest as the interface's `other(...)` error. Counters (atomics.increment) are
 * kept as decimal ASCII, as Redis keeps them, so a guest's `get` reads the same on both. */
#ifndef ZH_HOST_KV_STORE_H
#define ZH_HOST_KV_STORE_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zh_host_kv_backend zh_host_kv_backend;

/* A list of keys (from keys()): `n` NUL-terminated strings, each malloc'd, in an array. */
typedef struct zh_host_kv_keys {
  char **keys;
  size_t n;
} zh_host_kv_keys;
void zh_host_kv_keys_free(zh_host_kv_keys *keys);

/* `store` is the label the pairs belong to (SQLite's `store` column; Redis ignores it: the
 * URL picks the database). Keys are UTF-8 strings from the guest, with their length. */
typedef struct zh_host_kv_ops {
  /* *found false and *value NULL when there is no such key; else *value malloc'd. */
  zh_error *(*get)(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                   uint8_t **value, size_t *vlen, bool *found);
  zh_error *(*set)(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                   const uint8_t *value, size_t vlen);
  zh_error *(*del)(zh_host_kv_backend *b, const char *store, const char *key, size_t klen);
  zh_error *(*exists)(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                      bool *found);
  /* Keys after `after` (NULL: from the first) in byte order, at most `max` (0: all). */
  zh_error *(*keys)(zh_host_kv_backend *b, const char *store, const char *after, size_t max,
                    zh_host_kv_keys *out);
  /* Adds delta to the decimal integer at key (absent: 0) atomically; *out the new value. */
  zh_error *(*increment)(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                         int64_t delta, int64_t *out);
  /* Sets key to value only if its current value is `expected` (has_expected false: only if
   * the key is absent), atomically. *swapped says whether it did. */
  zh_error *(*swap)(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                    bool has_expected, const uint8_t *expected, size_t elen, const uint8_t *value,
                    size_t vlen, bool *swapped);
  void (*close)(zh_host_kv_backend *b);
} zh_host_kv_ops;

struct zh_host_kv_backend {
  const zh_host_kv_ops *ops;
};

/* Opens (creating it and its table if needed) the SQLite file at `path`. */
zh_error *zh_host_kv_sqlite_open(const char *path, zh_host_kv_backend **out);
/* Checks `url` and prepares a pool for it; no connection is made yet. Each command waits
 * at most timeout_ms (0: 5000) for Redis. */
zh_error *zh_host_kv_redis_open(const char *url, unsigned timeout_ms, zh_host_kv_backend **out);
void zh_host_kv_backend_close(zh_host_kv_backend *b); /* accepts NULL */

#endif
