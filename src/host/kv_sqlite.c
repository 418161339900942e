/* The SQLite key-value backend (kv_store.h): one file, one table in Spin's shape, one
 * connection guarded by a mutex. Statements are prepared once; every operation is one
 * statement or one IMMEDIATE transaction, under the mutex, so the atomic operations stay
 * atomic across threads.
 *
 * The connection owns the file: locking_mode EXCLUSIVE takes SQLite's locks once, when the
 * file is opened, and keeps them until it is closed. A transaction then costs no fcntl()
 * lock calls and no shared-memory index (the WAL index lives in the process's heap), which
 * were most of an increment's cost (docs/PERFORMANCE.md 9b). The price is one process per
 * file: a second `zerohop up` on the same state directory fails at start with a message
 * that says so, instead of sharing the file. Reading the file from outside (the sqlite3
 * shell, Spin) works once zerohop has stopped. */
#include "host/kv_store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ST_GET, ST_SET, ST_DEL, ST_KEYS, ST_INCR, ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_COUNT };

static const char *const sql_text[ST_COUNT] = {
    [ST_GET] = "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
    [ST_SET] = "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3) "
               "ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
    [ST_DEL] = "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2",
    [ST_KEYS] = "SELECT key FROM spin_key_value WHERE store = ?1 AND (?2 IS NULL OR key > ?2) "
                "ORDER BY key LIMIT ?3",
    /* One statement, so one implicit transaction and one commit: the row is read, checked
     * and rewritten by zh_counter_add (counter_add below), which raises an error that undoes
     * the statement. ?3 is the delta, ?4 its text for a key not there yet. */
    [ST_INCR] = "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?4) "
                "ON CONFLICT (store, key) DO UPDATE SET value = zh_counter_add(value, ?3)",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

typedef struct sqlite_backend {
  zh_host_kv_backend base;
  pthread_mutex_t lock; /* guards db and the statements */
  sqlite3 *db;          /* owned */
  sqlite3_stmt *st[ST_COUNT];
  char *path;
  /* What zh_counter_add saw in the increment that runs (under the lock): the new value, or
   * why the stored one cannot be incremented. */
  int64_t incr_value;
  enum { INCR_OK, INCR_NOT_INTEGER, INCR_OVERFLOW } incr_status;
} sqlite_backend;

static zh_error *db_error(sqlite_backend *s, const char *what) {
  return zh_error_new(ZH_ERR_IO, "key-value store %s: %s: %s", s->path, what,
                      sqlite3_errmsg(s->db));
}

/* Resets a statement for its next use and binds store and key (the first two parameters of
 * every keyed statement). */
static sqlite3_stmt *bind_keyed(sqlite_backend *s, int which, const char *store, const char *key,
                                size_t klen) {
  sqlite3_stmt *st = s->st[which];
  if (klen > INT32_MAX)
    return NULL; /* SQLite takes lengths as int: reported as a failed statement */
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (sqlite3_bind_text(st, 1, store, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text(st, 2, key, (int)klen, SQLITE_STATIC) != SQLITE_OK)
    return NULL;
  return st;
}

/* Runs a statement that returns no rows. */
static zh_error *run(sqlite_backend *s, sqlite3_stmt *st, const char *what) {
  int rc = st ? sqlite3_step(st) : SQLITE_MISUSE;
  zh_error *err = rc == SQLITE_DONE ? NULL : db_error(s, what);
  if (st)
    sqlite3_reset(st);
  return err;
}

/* Looks a key up with the lock held. */
static zh_error *get_locked(sqlite_backend *s, const char *store, const char *key, size_t klen,
                            uint8_t **value, size_t *vlen, bool *found) {
  *value = NULL;
  *vlen = 0;
  *found = false;
  sqlite3_stmt *st = bind_keyed(s, ST_GET, store, key, klen);
  int rc = st ? sqlite3_step(st) : SQLITE_MISUSE;
  zh_error *err = NULL;
  if (rc == SQLITE_ROW) {
    int n = sqlite3_column_bytes(st, 0);
    const void *data = sqlite3_column_blob(st, 0);
    *value = malloc(n > 0 ? (size_t)n : 1);
    if (!*value) {
      err = zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: out of memory", s->path);
    } else {
      if (n > 0)
        memcpy(*value, data, (size_t)n);
      *vlen = (size_t)n;
      *found = true;
    }
  } else if (rc != SQLITE_DONE) {
    err = db_error(s, "get");
  }
  if (st)
    sqlite3_reset(st);
  return err;
}

static zh_error *set_locked(sqlite_backend *s, const char *store, const char *key, size_t klen,
                            const uint8_t *value, size_t vlen) {
  if (vlen > INT32_MAX)
    return zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: a value of %zu bytes is too large",
                        s->path, vlen);
  sqlite3_stmt *st = bind_keyed(s, ST_SET, store, key, klen);
  if (st && sqlite3_bind_blob(st, 3, vlen ? (const void *)value : "", (int)vlen, SQLITE_STATIC) !=
                SQLITE_OK)
    st = NULL;
  return run(s, st, "set");
}

static zh_error *kv_get(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                        uint8_t **value, size_t *vlen, bool *found) {
  sqlite_backend *s = (sqlite_backend *)b;
  pthread_mutex_lock(&s->lock);
  zh_error *err = get_locked(s, store, key, klen, value, vlen, found);
  pthread_mutex_unlock(&s->lock);
  return err;
}

static zh_error *kv_set(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                        const uint8_t *value, size_t vlen) {
  sqlite_backend *s = (sqlite_backend *)b;
  pthread_mutex_lock(&s->lock);
  zh_error *err = set_locked(s, store, key, klen, value, vlen);
  pthread_mutex_unlock(&s->lock);
  return err;
}

static zh_error *kv_del(zh_host_kv_backend *b, const char *store, const char *key, size_t klen) {
  sqlite_backend *s = (sqlite_backend *)b;
  pthread_mutex_lock(&s->lock);
  zh_error *err = run(s, bind_keyed(s, ST_DEL, store, key, klen), "delete");
  pthread_mutex_unlock(&s->lock);
  return err;
}

static zh_error *kv_exists(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                           bool *found) {
  uint8_t *value;
  size_t vlen;
  zh_error *err = kv_get(b, store, key, klen, &value, &vlen, found);
  free(value);
  return err;
}

static zh_error *kv_keys(zh_host_kv_backend *b, const char *store, const char *after, size_t max,
                         zh_host_kv_keys *out) {
  sqlite_backend *s = (sqlite_backend *)b;
  out->keys = NULL;
  out->n = 0;
  size_t cap = 0;
  zh_error *err = NULL;
  pthread_mutex_lock(&s->lock);
  sqlite3_stmt *st = bind_keyed(s, ST_KEYS, store, after, after ? strlen(after) : 0);
  if (st && sqlite3_bind_int64(st, 3, max ? (sqlite3_int64)max : -1) != SQLITE_OK)
    st = NULL;
  int rc = st ? SQLITE_ROW : SQLITE_MISUSE;
  while (st && !err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (out->n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      char **grown = realloc(out->keys, ncap * sizeof *grown);
      if (!grown) {
        err = zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: out of memory", s->path);
        break;
      }
      out->keys = grown;
      cap = ncap;
    }
    const char *k = (const char *)sqlite3_column_text(st, 0);
    if (!(out->keys[out->n] = strdup(k ? k : "")))
      err = zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: out of memory", s->path);
    else
      out->n++;
  }
  if (!err && rc != SQLITE_DONE)
    err = db_error(s, "list keys");
  if (st)
    sqlite3_reset(st);
  pthread_mutex_unlock(&s->lock);
  if (err)
    zh_host_kv_keys_free(out);
  return err;
}

/* Parses a stored counter: an optional '-' and decimal digits that fit an int64. */
static bool parse_counter(const uint8_t *v, size_t n, int64_t *out) {
  char buf[24];
  if (n == 0 || n >= sizeof buf)
    return false;
  memcpy(buf, v, n);
  buf[n] = 0;
  char *end;
  errno = 0;
  long long x = strtoll(buf, &end, 10);
  if (errno || *end || !(buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9')))
    return false;
  *out = x;
  return true;
}

/* Runs body-like steps inside BEGIN IMMEDIATE ... COMMIT, rolling back on an error. */
static zh_error *end_txn(sqlite_backend *s, zh_error *err) {
  if (err) {
    zh_error_free(run(s, s->st[ST_ROLLBACK], "rollback"));
    return err;
  }
  err = run(s, s->st[ST_COMMIT], "commit");
  if (err)
    zh_error_free(run(s, s->st[ST_ROLLBACK], "rollback"));
  return err;
}

/* zh_counter_add(old, delta), the SQL function of ST_INCR: the stored counter plus delta as
 * decimal text (a blob, as set stores it), or an error if the stored value is no integer or
 * the sum leaves s64. Registered on our connection only. */
static void counter_add(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  sqlite_backend *s = sqlite3_user_data(ctx);
  int64_t cur, delta = sqlite3_value_int64(argv[1]);
  const void *old = sqlite3_value_blob(argv[0]);
  int n = sqlite3_value_bytes(argv[0]);
  if (!old || !parse_counter(old, (size_t)n, &cur)) {
    s->incr_status = INCR_NOT_INTEGER;
    sqlite3_result_error(ctx, "the value is not an integer", -1);
    return;
  }
  if ((delta > 0 && cur > INT64_MAX - delta) || (delta < 0 && cur < INT64_MIN - delta)) {
    s->incr_status = INCR_OVERFLOW;
    sqlite3_result_error(ctx, "the result overflows s64", -1);
    return;
  }
  char text[24];
  int len = snprintf(text, sizeof text, "%" PRId64, cur + delta);
  s->incr_value = cur + delta;
  sqlite3_result_blob(ctx, text, len, SQLITE_TRANSIENT);
}

static zh_error *kv_increment(zh_host_kv_backend *b, const char *store, const char *key,
                              size_t klen, int64_t delta, int64_t *out) {
  sqlite_backend *s = (sqlite_backend *)b;
  char text[24];
  int len = snprintf(text, sizeof text, "%" PRId64, delta);
  pthread_mutex_lock(&s->lock);
  s->incr_value = delta; /* a new key: the counter starts at 0 */
  s->incr_status = INCR_OK;
  sqlite3_stmt *st = bind_keyed(s, ST_INCR, store, key, klen);
  if (st && (sqlite3_bind_int64(st, 3, delta) != SQLITE_OK ||
             sqlite3_bind_blob(st, 4, text, len, SQLITE_STATIC) != SQLITE_OK))
    st = NULL;
  zh_error *err = run(s, st, "increment");
  if (err && s->incr_status != INCR_OK) {
    zh_error_free(err);
    err = zh_error_new(ZH_ERR_USAGE, "key-value store %s: increment: %s", s->path,
                       s->incr_status == INCR_NOT_INTEGER ? "the value is not an integer"
                                                          : "the result overflows s64");
  }
  if (!err)
    *out = s->incr_value;
  pthread_mutex_unlock(&s->lock);
  return err;
}

static zh_error *kv_swap(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                         bool has_expected, const uint8_t *expected, size_t elen,
                         const uint8_t *value, size_t vlen, bool *swapped) {
  sqlite_backend *s = (sqlite_backend *)b;
  *swapped = false;
  pthread_mutex_lock(&s->lock);
  zh_error *err = run(s, s->st[ST_BEGIN], "begin");
  if (err) {
    pthread_mutex_unlock(&s->lock);
    return err;
  }
  uint8_t *cur;
  size_t clen;
  bool found;
  err = get_locked(s, store, key, klen, &cur, &clen, &found);
  if (!err && found == has_expected &&
      (!found || (clen == elen && (elen == 0 || memcmp(cur, expected, elen) == 0)))) {
    err = set_locked(s, store, key, klen, value, vlen);
    *swapped = !err;
  }
  free(cur);
  err = end_txn(s, err);
  if (err)
    *swapped = false;
  pthread_mutex_unlock(&s->lock);
  return err;
}

static void kv_close(zh_host_kv_backend *b) {
  sqlite_backend *s = (sqlite_backend *)b;
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  sqlite3_close(s->db);
  pthread_mutex_destroy(&s->lock);
  free(s->path);
  free(s);
}

static const zh_host_kv_ops sqlite_ops = {
    .get = kv_get,
    .set = kv_set,
    .del = kv_del,
    .exists = kv_exists,
    .keys = kv_keys,
    .increment = kv_increment,
    .swap = kv_swap,
    .close = kv_close,
};

/* WAL with synchronous=NORMAL: a committed set survives the process dying (the log is
 * written before set returns); only an operating-system crash may lose the last commits,
 * which is SQLite's documented trade for not syncing on every request. Exclusive locking is
 * set before the first access, so that the WAL index is kept in memory; the busy timeout
 * gives a zerohop that is still stopping a second to release the file; the empty IMMEDIATE
 * transaction takes the write lock now, so that a second process fails here and not on its
 * first write. Once the file is ours, nobody else can hold a lock on it. */
static const char setup_sql[] = "PRAGMA busy_timeout = 1000;"
                                "PRAGMA locking_mode = EXCLUSIVE;"
                                "PRAGMA journal_mode = WAL;"
                                "PRAGMA synchronous = NORMAL;"
                                "CREATE TABLE IF NOT EXISTS spin_key_value ("
                                " store TEXT NOT NULL,"
                                " key TEXT NOT NULL,"
                                " value BLOB NOT NULL,"
                                " PRIMARY KEY (store, key));"
                                "BEGIN IMMEDIATE;"
                                "COMMIT";

zh_error *zh_host_kv_sqlite_open(const char *path, zh_host_kv_backend **out) {
  *out = NULL;
  sqlite_backend *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(path))) {
    free(s);
    return zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: out of memory", path);
  }
  s->base.ops = &sqlite_ops;
  pthread_mutex_init(&s->lock, NULL);
  zh_error *err = NULL;
  /* NOMUTEX: the backend's own lock serialises every use of the connection. */
  int rc = sqlite3_open_v2(path, &s->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    err = s->db ? db_error(s, "open")
                : zh_error_new(ZH_ERR_IO, "key-value store %s: open: out of memory", path);
  } else {
    char *msg = NULL;
    rc = sqlite3_exec(s->db, setup_sql, NULL, NULL, &msg);
    if ((rc & 0xff) == SQLITE_BUSY)
      err = zh_error_new(ZH_ERR_IO,
                         "key-value store %s: the file is in use by another process (is another "
                         "`zerohop up` running with the same state directory? give each its "
                         "own --state-dir)",
                         path);
    else if (rc != SQLITE_OK)
      err = zh_error_new(ZH_ERR_IO, "key-value store %s: set up: %s", path,
                         msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
  }
  if (!err && sqlite3_create_function(s->db, "zh_counter_add", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                      s, counter_add, NULL, NULL) != SQLITE_OK)
    err = db_error(s, "register zh_counter_add");
  for (int i = 0; i < ST_COUNT && !err; i++)
    if (sqlite3_prepare_v2(s->db, sql_text[i], -1, &s->st[i], NULL) != SQLITE_OK)
      err = db_error(s, "prepare");
  if (err) {
    kv_close(&s->base);
    return err;
  }
  *out = &s->base;
  return NULL;
}
