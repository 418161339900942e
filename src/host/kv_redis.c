/* The Redis key-value backend (kv_store.h), over hiredis' blocking API.
 *
 * A hiredis context serves one thread at a time, so the backend keeps a small pool of idle
 * connections behind a mutex: an operation takes one (or connects), runs its command with a
 * deadline, and gives it back, or frees it when the connection broke, so the next operation
 * reconnects: a Redis restart costs the requests that were in flight, nothing more.
 * increment is INCRBY and swap a server-side script, so both are atomic in Redis itself. */
#include "host/kv_store.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_POOL_IDLE 16 /* idle connections kept; more threads connect and close */

typedef struct redis_backend {
  zh_host_kv_backend base;
  char *url;      /* for messages (the password is not kept in it) */
  char *host;     /* host name or address, brackets of an IPv6 literal removed */
  int port;       /* 6379 unless the URL says */
  char *password; /* NULL: no AUTH */
  char *user;     /* NULL: AUTH with the password alone */
  long db;        /* SELECT, when not 0 */
  struct timeval timeout;
  pthread_mutex_t lock; /* guards idle */
  redisContext *idle[REDIS_POOL_IDLE];
  size_t nidle;
} redis_backend;

/* ---- the connection pool ---- */

static zh_error *run_cmd(redis_backend *r, redisContext *c, int argc, const char **argv,
                         const size_t *lens, redisReply **out);

static zh_error *connect_one(redis_backend *r, redisContext **out) {
  redisContext *c = redisConnectWithTimeout(r->host, r->port, r->timeout);
  if (!c)
    return zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: out of memory", r->url);
  if (c->err) {
    zh_error *err = zh_error_new(ZH_ERR_IO, "key-value store %s: connect: %s", r->url, c->errstr);
    redisFree(c);
    return err;
  }
  redisSetTimeout(c, r->timeout);
  zh_error *err = NULL;
  redisReply *reply = NULL;
  if (r->password) {
    const char *argv[3] = {"AUTH", r->user ? r->user : r->password, r->password};
    size_t lens[3] = {4, strlen(argv[1]), strlen(r->password)};
    err = run_cmd(r, c, r->user ? 3 : 2, argv, lens, &reply);
    freeReplyObject(reply);
    reply = NULL;
  }
  if (!err && r->db) {
    char db[24];
    snprintf(db, sizeof db, "%ld", r->db);
    const char *argv[2] = {"SELECT", db};
    size_t lens[2] = {6, strlen(db)};
    err = run_cmd(r, c, 2, argv, lens, &reply);
    freeReplyObject(reply);
  }
  if (err) {
    redisFree(c);
    return err;
  }
  *out = c;
  return NULL;
}

static zh_error *take(redis_backend *r, redisContext **out) {
  pthread_mutex_lock(&r->lock);
  redisContext *c = r->nidle ? r->idle[--r->nidle] : NULL;
  pthread_mutex_unlock(&r->lock);
  if (c) {
    *out = c;
    return NULL;
  }
  return connect_one(r, out);
}

/* Returns a connection to the pool, or frees it when it broke or the pool is full. */
static void give_back(redis_backend *r, redisContext *c) {
  if (!c)
    return;
  if (c->err) {
    redisFree(c);
    return;
  }
  pthread_mutex_lock(&r->lock);
  if (r->nidle < REDIS_POOL_IDLE) {
    r->idle[r->nidle++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&r->lock);
  if (c)
    redisFree(c);
}

/* One command on one connection; an error reply is an error value naming the command. */
static zh_error *run_cmd(redis_backend *r, redisContext *c, int argc, const char **argv,
                         const size_t *lens, redisReply **out) {
  *out = redisCommandArgv(c, argc, argv, lens);
  if (!*out)
    return zh_error_new(ZH_ERR_IO, "key-value store %s: %s: %s", r->url, argv[0],
                        c->err ? c->errstr : "no reply");
  if ((*out)->type == REDIS_REPLY_ERROR) {
    zh_error *err = zh_error_new(ZH_ERR_IO, "key-value store %s: %s: %s", r->url, argv[0],
                                 (*out)->str ? (*out)->str : "error");
    freeReplyObject(*out);
    *out = NULL;
    return err;
  }
  return NULL;
}

/* A command on a pooled connection: its reply, or NULL and *err. */
static redisReply *command(redis_backend *r, int argc, const char **argv, const size_t *lens,
                           zh_error **err) {
  redisContext *c = NULL;
  redisReply *reply = NULL;
  *err = take(r, &c);
  if (*err || !c) {
    if (!*err)
      *err = zh_error_new(ZH_ERR_IO, "key-value store %s: no connection", r->url);
    return NULL;
  }
  *err = run_cmd(r, c, argc, argv, lens, &reply);
  give_back(r, c);
  if (*err) {
    freeReplyObject(reply);
    return NULL;
  }
  if (!reply)
    *err = zh_error_new(ZH_ERR_IO, "key-value store %s: %s: no reply", r->url, argv[0]);
  return reply;
}

static zh_error *unexpected(redis_backend *r, const char *cmd, redisReply *reply) {
  zh_error *err = zh_error_new(ZH_ERR_IO, "key-value store %s: %s: unexpected reply type %d",
                               r->url, cmd, reply->type);
  freeReplyObject(reply);
  return err;
}

/* ---- operations ---- */

static zh_error *kv_get(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                        uint8_t **value, size_t *vlen, bool *found) {
  redis_backend *r = (redis_backend *)b;
  (void)store;
  *value = NULL;
  *vlen = 0;
  *found = false;
  const char *argv[2] = {"GET", key};
  size_t lens[2] = {3, klen};
  zh_error *err = NULL;
  redisReply *reply = command(r, 2, argv, lens, &err);
  if (!reply)
    return err;
  if (reply->type == REDIS_REPLY_NIL) {
    freeReplyObject(reply);
    return NULL;
  }
  if (reply->type != REDIS_REPLY_STRING)
    return unexpected(r, "GET", reply);
  *value = malloc(reply->len ? reply->len : 1);
  if (!*value) {
    freeReplyObject(reply);
    return zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: out of memory", r->url);
  }
  memcpy(*value, reply->str, reply->len);
  *vlen = reply->len;
  *found = true;
  freeReplyObject(reply);
  return NULL;
}

static zh_error *simple(redis_backend *r, int argc, const char **argv, const size_t *lens) {
  zh_error *err = NULL;
  freeReplyObject(command(r, argc, argv, lens, &err));
  return err;
}

static zh_error *kv_set(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                        const uint8_t *value, size_t vlen) {
  (void)store;
  const char *argv[3] = {"SET", key, vlen ? (const char *)value : ""};
  size_t lens[3] = {3, klen, vlen};
  return simple((redis_backend *)b, 3, argv, lens);
}

static zh_error *kv_del(zh_host_kv_backend *b, const char *store, const char *key, size_t klen) {
  (void)store;
  const char *argv[2] = {"DEL", key};
  size_t lens[2] = {3, klen};
  return simple((redis_backend *)b, 2, argv, lens);
}

static zh_error *kv_exists(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                           bool *found) {
  redis_backend *r = (redis_backend *)b;
  (void)store;
  const char *argv[2] = {"EXISTS", key};
  size_t lens[2] = {6, klen};
  zh_error *err = NULL;
  redisReply *reply = command(r, 2, argv, lens, &err);
  if (!reply)
    return err;
  if (reply->type != REDIS_REPLY_INTEGER)
    return unexpected(r, "EXISTS", reply);
  *found = reply->integer > 0;
  freeReplyObject(reply);
  return NULL;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* KEYS * then sorted, so pages follow byte order as SQLite's do and a cursor (the last key
 * of a page) stays meaningful across calls. */
static zh_error *kv_keys(zh_host_kv_backend *b, const char *store, const char *after, size_t max,
                         zh_host_kv_keys *out) {
  redis_backend *r = (redis_backend *)b;
  (void)store;
  out->keys = NULL;
  out->n = 0;
  const char *argv[2] = {"KEYS", "*"};
  size_t lens[2] = {4, 1};
  zh_error *err = NULL;
  redisReply *reply = command(r, 2, argv, lens, &err);
  if (!reply)
    return err;
  if (reply->type != REDIS_REPLY_ARRAY)
    return unexpected(r, "KEYS", reply);
  char **all = calloc(reply->elements ? reply->elements : 1, sizeof *all);
  size_t n = 0;
  for (size_t i = 0; all && i < reply->elements; i++) {
    const redisReply *e = reply->element[i];
    if (e->type != REDIS_REPLY_STRING || memchr(e->str, 0, e->len))
      continue; /* a key with a NUL cannot be a guest's string key */
    if (!(all[n] = strndup(e->str, e->len)))
      break;
    n++;
  }
  bool oom = !all || n < reply->elements;
  freeReplyObject(reply);
  if (all)
    qsort(all, n, sizeof *all, cmp_str);
  size_t kept = 0;
  for (size_t i = 0; all && i < n; i++) {
    if ((after && strcmp(all[i], after) <= 0) || (max && kept == max))
      free(all[i]);
    else
      all[kept++] = all[i];
  }
  out->keys = all;
  out->n = kept;
  (void)oom; /* non-string elements are skipped; a failed copy only shortens the page */
  if (!all)
    return zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: out of memory", r->url);
  return NULL;
}

static zh_error *kv_increment(zh_host_kv_backend *b, const char *store, const char *key,
                              size_t klen, int64_t delta, int64_t *out) {
  redis_backend *r = (redis_backend *)b;
  (void)store;
  char d[24];
  snprintf(d, sizeof d, "%" PRId64, delta);
  const char *argv[3] = {"INCRBY", key, d};
  size_t lens[3] = {6, klen, strlen(d)};
  zh_error *err = NULL;
  redisReply *reply = command(r, 3, argv, lens, &err);
  if (!reply)
    return err;
  if (reply->type != REDIS_REPLY_INTEGER)
    return unexpected(r, "INCRBY", reply);
  *out = reply->integer;
  freeReplyObject(reply);
  return NULL;
}

/* Compare-and-set in one script: ARGV[1] "1" when a current value is expected (ARGV[2]),
 * "0" when the key must be absent; ARGV[3] the new value. */
static const char swap_script[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if (ARGV[1] == '0' and v == false) or (ARGV[1] == '1' and v == ARGV[2]) then "
    "redis.call('SET', KEYS[1], ARGV[3]) return 1 end return 0";

static zh_error *kv_swap(zh_host_kv_backend *b, const char *store, const char *key, size_t klen,
                         bool has_expected, const uint8_t *expected, size_t elen,
                         const uint8_t *value, size_t vlen, bool *swapped) {
  redis_backend *r = (redis_backend *)b;
  (void)store;
  *swapped = false;
  const char *argv[7] = {"EVAL",
                         swap_script,
                         "1",
                         key,
                         has_expected ? "1" : "0",
                         elen ? (const char *)expected : "",
                         vlen ? (const char *)value : ""};
  size_t lens[7] = {4, strlen(swap_script), 1, klen, 1, elen, vlen};
  zh_error *err = NULL;
  redisReply *reply = command(r, 7, argv, lens, &err);
  if (!reply)
    return err;
  if (reply->type != REDIS_REPLY_INTEGER)
    return unexpected(r, "EVAL", reply);
  *swapped = reply->integer == 1;
  freeReplyObject(reply);
  return NULL;
}

static void kv_close(zh_host_kv_backend *b) {
  redis_backend *r = (redis_backend *)b;
  for (size_t i = 0; i < r->nidle; i++)
    redisFree(r->idle[i]);
  pthread_mutex_destroy(&r->lock);
  free(r->url);
  free(r->host);
  free(r->password);
  free(r->user);
  free(r);
}

static const zh_host_kv_ops redis_ops = {
    .get = kv_get,
    .set = kv_set,
    .del = kv_del,
    .exists = kv_exists,
    .keys = kv_keys,
    .increment = kv_increment,
    .swap = kv_swap,
    .close = kv_close,
};

/* ---- the URL ---- */

/* redis://[[user]:password@]host[:port][/db]; the host may be a bracketed IPv6 literal. */
static zh_error *parse_url(redis_backend *r, const char *url) {
  static const char scheme[] = "redis://";
  if (strncmp(url, scheme, sizeof scheme - 1) != 0)
    return zh_error_new(ZH_ERR_USAGE, "key-value store %s: the url must start with redis://", url);
  const char *p = url + sizeof scheme - 1;
  const char *end = p + strcspn(p, "/?#");
  const char *at = memchr(p, '@', (size_t)(end - p));
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (colon) {
      r->password = strndup(colon + 1, (size_t)(at - colon - 1));
      if (colon > p)
        r->user = strndup(p, (size_t)(colon - p));
    } else {
      r->password = strndup(p, (size_t)(at - p)); /* redis://password@host */
    }
    p = at + 1;
  }
  const char *host_end, *port_at = NULL;
  if (*p == '[') {
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (!close)
      return zh_error_new(ZH_ERR_USAGE, "key-value store %s: unclosed [ in the host", url);
    r->host = strndup(p + 1, (size_t)(close - p - 1));
    host_end = close + 1;
    if (host_end < end && *host_end == ':')
      port_at = host_end + 1;
  } else {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    host_end = colon ? colon : end;
    r->host = strndup(p, (size_t)(host_end - p));
    port_at = colon ? colon + 1 : NULL;
  }
  if (!r->host || !*r->host)
    return zh_error_new(ZH_ERR_USAGE, "key-value store %s: no host", url);
  r->port = 6379;
  if (port_at) {
    char *stop;
    long port = strtol(port_at, &stop, 10);
    if (stop != end || port < 1 || port > 65535)
      return zh_error_new(ZH_ERR_USAGE, "key-value store %s: bad port", url);
    r->port = (int)port;
  }
  if (*end == '/' && end[1]) {
    char *stop;
    r->db = strtol(end + 1, &stop, 10);
    if (*stop || r->db < 0)
      return zh_error_new(ZH_ERR_USAGE, "key-value store %s: bad database number", url);
  }
  /* For messages: the URL without its credentials. */
  size_t cap = strlen(url) + 8;
  if ((r->url = malloc(cap)))
    snprintf(r->url, cap, "redis://%s%s", at ? "***@" : "", at ? at + 1 : url + sizeof scheme - 1);
  return r->url ? NULL : zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: out of memory", url);
}

zh_error *zh_host_kv_redis_open(const char *url, unsigned timeout_ms, zh_host_kv_backend **out) {
  *out = NULL;
  redis_backend *r = calloc(1, sizeof *r);
  if (!r)
    return zh_error_new(ZH_ERR_RESOURCE, "key-value store %s: out of memory", url);
  r->base.ops = &redis_ops;
  pthread_mutex_init(&r->lock, NULL);
  unsigned ms = timeout_ms ? timeout_ms : 5000;
  r->timeout.tv_sec = ms / 1000;
  r->timeout.tv_usec = (suseconds_t)(ms % 1000) * 1000;
  zh_error *err = parse_url(r, url);
  if (err) {
    kv_close(&r->base);
    return err;
  }
  *out = &r->base;
  return NULL;
}
