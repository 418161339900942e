/* A key-value test guest in C (world kv_world.wit, bindings from `zerohop bindgen c`).
 *
 * `run` takes a command as a list of strings, does it through the imported interfaces and
 * answers the outcome as text, which tests/host/test_kv.c compares with what it expects:
 *   spin-open L              ok | error:CASE[:message]   (opens and drops the store)
 *   spin-leak L              ok                          (opens and keeps the handle)
 *   spin-set L K V | spin-get L K | spin-delete L K | spin-exists L K | spin-keys L
 *   wasi-open L | wasi-set L K V | wasi-get L K | wasi-delete L K | wasi-exists L K
 *   wasi-list L              pages=N keys=K1,K2,...      (follows every cursor)
 *   wasi-incr L K DELTA      the new value
 *   wasi-cas L K NEW         current=...; swap=ok
 *   wasi-cas-race L K NEW OTHER   a write between cas.new and swap: first=cas-failed ...
 *   wasi-get-many L K... | wasi-set-many L K V K V... | wasi-delete-many L K...
 *   init                     what opening `default` answered at initialisation
 * Values print as some:BYTES or none; keys come back sorted by the guest, since neither
 * interface promises an order. No libc I/O: the component needs no WASI. */
#include "kv_guest.h"

#include <stdlib.h>
#include <string.h>

/* ---- text ---- */

typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static void put_n(buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (!p)
      return;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void put(buf *b, const char *s) { put_n(b, s, strlen(s)); }

static void put_int(buf *b, int64_t v) {
  char d[24];
  int i = (int)sizeof d;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do
    d[--i] = (char)('0' + u % 10);
  while ((u /= 10) != 0);
  if (v < 0)
    d[--i] = '-';
  put_n(b, d + i, sizeof d - (size_t)i);
}

static void put_opt(buf *b, const kv_guest_option_list_u8_t *o) {
  if (!o->is_some) {
    put(b, "none");
    return;
  }
  put(b, "some:");
  put_n(b, (const char *)o->val.ptr, o->val.len);
}

static void spin_error(buf *b, const kv_guest_key_value_error_t *e) {
  static const char *const cases[] = {"store-table-full", "no-such-store", "access-denied",
                                      "other"};
  put(b, "error:");
  put(b, e->tag < 4 ? cases[e->tag] : "?");
  if (e->tag == KV_GUEST_KEY_VALUE_ERROR_OTHER) {
    put(b, ":");
    put_n(b, (const char *)e->val.other.ptr, e->val.other.len);
  }
}

static void wasi_error(buf *b, const kv_guest_store_error_t *e) {
  static const char *const cases[] = {"no-such-store", "access-denied", "other"};
  put(b, "error:");
  put(b, e->tag < 3 ? cases[e->tag] : "?");
  if (e->tag == KV_GUEST_STORE_ERROR_OTHER) {
    put(b, ":");
    put_n(b, (const char *)e->val.other.ptr, e->val.other.len);
  }
}

static int cmp_key(const void *a, const void *b) {
  const kv_guest_string_t *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->ptr, y->ptr, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void put_keys(buf *b, kv_guest_list_string_t *keys) {
  qsort(keys->ptr, keys->len, sizeof keys->ptr[0], cmp_key);
  for (size_t i = 0; i < keys->len; i++) {
    if (i)
      put(b, ",");
    put_n(b, (const char *)keys->ptr[i].ptr, keys->ptr[i].len);
  }
}

static kv_guest_list_u8_t bytes_of(const kv_guest_string_t *s) {
  return (kv_guest_list_u8_t){s->ptr, s->len};
}

static bool is(const kv_guest_string_t *s, const char *lit) {
  return s->len == strlen(lit) && memcmp(s->ptr, lit, s->len) == 0;
}

/* ---- at initialisation ---- */

/* What opening `default` answered while the component initialised (a template is made then,
 * before any instance exists): `init` returns it. */
static buf init_answer;

__attribute__((constructor)) static void open_at_init(void) {
  kv_guest_string_t label;
  kv_guest_string_set(&label, "default");
  kv_guest_result_own_key_value_store_key_value_error_t opened;
  kv_guest_key_value_static_store_open(&label, &opened);
  put(&init_answer, "");
  if (opened.is_err) {
    spin_error(&init_answer, &opened.val.err);
    kv_guest_result_own_key_value_store_key_value_error_free(&opened);
  } else {
    put(&init_answer, "ok");
    kv_guest_key_value_store_drop_own(opened.val.ok);
  }
}

/* ---- Spin's key-value ---- */

static void spin_cmd(buf *b, const kv_guest_string_t *a, size_t n) {
  kv_guest_result_own_key_value_store_key_value_error_t opened;
  kv_guest_key_value_static_store_open(&a[1], &opened);
  if (opened.is_err) {
    spin_error(b, &opened.val.err);
    kv_guest_result_own_key_value_store_key_value_error_free(&opened);
    return;
  }
  kv_guest_key_value_own_store_t store = opened.val.ok;
  kv_guest_key_value_borrow_store_t self = kv_guest_key_value_borrow_store(store);
  if (is(&a[0], "spin-leak")) {
    put(b, "ok");
    return; /* the host frees it with the instance */
  }
  if (is(&a[0], "spin-open")) {
    put(b, "ok");
  } else if (is(&a[0], "spin-set") && n == 4) {
    kv_guest_list_u8_t v = bytes_of(&a[3]);
    kv_guest_result_void_key_value_error_t r;
    kv_guest_key_value_method_store_set(self, &a[2], &v, &r);
    if (r.is_err)
      spin_error(b, &r.val.err);
    else
      put(b, "ok");
    kv_guest_result_void_key_value_error_free(&r);
  } else if (is(&a[0], "spin-get") && n == 3) {
    kv_guest_result_option_list_u8_key_value_error_t r;
    kv_guest_key_value_method_store_get(self, &a[2], &r);
    if (r.is_err)
      spin_error(b, &r.val.err);
    else
      put_opt(b, &r.val.ok);
    kv_guest_result_option_list_u8_key_value_error_free(&r);
  } else if (is(&a[0], "spin-delete") && n == 3) {
    kv_guest_result_void_key_value_error_t r;
    kv_guest_key_value_method_store_delete(self, &a[2], &r);
    if (r.is_err)
      spin_error(b, &r.val.err);
    else
      put(b, "ok");
    kv_guest_result_void_key_value_error_free(&r);
  } else if (is(&a[0], "spin-exists") && n == 3) {
    kv_guest_result_bool_key_value_error_t r;
    kv_guest_key_value_method_store_exists(self, &a[2], &r);
    if (r.is_err)
      spin_error(b, &r.val.err);
    else
      put(b, r.val.ok ? "true" : "false");
    kv_guest_result_bool_key_value_error_free(&r);
  } else if (is(&a[0], "spin-keys")) {
    kv_guest_result_list_string_key_value_error_t r;
    kv_guest_key_value_method_store_get_keys(self, &r);
    if (r.is_err)
      spin_error(b, &r.val.err);
    else
      put_keys(b, &r.val.ok);
    kv_guest_result_list_string_key_value_error_free(&r);
  } else {
    put(b, "bad command");
  }
  kv_guest_key_value_store_drop_own(store);
}

/* ---- wasi:keyvalue ---- */

static void cas_cmd(buf *b, kv_guest_store_borrow_bucket_t bucket, const kv_guest_string_t *a,
                    size_t n) {
  bool race = is(&a[0], "wasi-cas-race") && n == 5;
  kv_guest_result_own_atomics_cas_store_error_t made;
  kv_guest_atomics_static_cas_new(bucket, &a[2], &made);
  if (made.is_err) {
    wasi_error(b, &made.val.err);
    kv_guest_result_own_atomics_cas_store_error_free(&made);
    return;
  }
  kv_guest_atomics_own_cas_t cas = made.val.ok;
  kv_guest_result_option_list_u8_store_error_t cur;
  kv_guest_atomics_method_cas_current(kv_guest_atomics_borrow_cas(cas), &cur);
  put(b, "current=");
  if (cur.is_err)
    wasi_error(b, &cur.val.err);
  else
    put_opt(b, &cur.val.ok);
  kv_guest_result_option_list_u8_store_error_free(&cur);
  if (race) { /* another writer gets in first */
    kv_guest_list_u8_t other = bytes_of(&a[4]);
    kv_guest_result_void_store_error_t w;
    kv_guest_store_method_bucket_set(bucket, &a[2], &other, &w);
    kv_guest_result_void_store_error_free(&w);
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    kv_guest_list_u8_t v = bytes_of(&a[3]);
    kv_guest_result_void_atomics_cas_error_t r;
    kv_guest_atomics_swap(cas, &v, &r); /* gives the handle away */
    put(b, attempt ? " second=" : " swap=");
    if (!r.is_err) {
      put(b, "ok");
      return;
    }
    if (r.val.err.tag != KV_GUEST_ATOMICS_CAS_ERROR_CAS_FAILED) {
      wasi_error(b, &r.val.err.val.store_error);
      kv_guest_result_void_atomics_cas_error_free(&r);
      return;
    }
    put(b, "cas-failed current=");
    cas = r.val.err.val.cas_failed;
    kv_guest_atomics_method_cas_current(kv_guest_atomics_borrow_cas(cas), &cur);
    if (cur.is_err)
      wasi_error(b, &cur.val.err);
    else
      put_opt(b, &cur.val.ok);
    kv_guest_result_option_list_u8_store_error_free(&cur);
  }
  kv_guest_atomics_cas_drop_own(cas);
}

static void list_cmd(buf *b, kv_guest_store_borrow_bucket_t bucket) {
  kv_guest_list_string_t all = {NULL, 0};
  kv_guest_option_string_t cursor = {.is_some = false};
  int64_t pages = 0;
  for (;;) {
    kv_guest_result_store_key_response_store_error_t r;
    kv_guest_store_method_bucket_list_keys(bucket, &cursor, &r);
    kv_guest_option_string_free(&cursor);
    if (r.is_err) {
      wasi_error(b, &r.val.err);
      kv_guest_result_store_key_response_store_error_free(&r);
      break;
    }
    pages++;
    kv_guest_list_string_t *keys = &r.val.ok.keys;
    kv_guest_string_t *grown = realloc(all.ptr, (all.len + keys->len + 1) * sizeof *grown);
    if (!grown)
      break;
    all.ptr = grown;
    memcpy(all.ptr + all.len, keys->ptr, keys->len * sizeof *grown);
    all.len += keys->len;
    free(keys->ptr); /* the strings moved into `all` */
    keys->ptr = NULL;
    keys->len = 0;
    cursor = r.val.ok.cursor; /* moved */
    if (!cursor.is_some) {
      put(b, "pages=");
      put_int(b, pages);
      put(b, " keys=");
      put_keys(b, &all);
      break;
    }
  }
  kv_guest_list_string_free(&all);
}

static void wasi_cmd(buf *b, const kv_guest_string_t *a, size_t n) {
  kv_guest_result_own_store_bucket_store_error_t opened;
  kv_guest_store_open(&a[1], &opened);
  if (opened.is_err) {
    wasi_error(b, &opened.val.err);
    kv_guest_result_own_store_bucket_store_error_free(&opened);
    return;
  }
  kv_guest_store_own_bucket_t own = opened.val.ok;
  kv_guest_store_borrow_bucket_t bucket = kv_guest_store_borrow_bucket(own);
  if (is(&a[0], "wasi-open")) {
    put(b, "ok");
  } else if ((is(&a[0], "wasi-set") && n == 4) || (is(&a[0], "wasi-delete") && n == 3)) {
    kv_guest_result_void_store_error_t r;
    if (n == 4) {
      kv_guest_list_u8_t v = bytes_of(&a[3]);
      kv_guest_store_method_bucket_set(bucket, &a[2], &v, &r);
    } else {
      kv_guest_store_method_bucket_delete(bucket, &a[2], &r);
    }
    if (r.is_err)
      wasi_error(b, &r.val.err);
    else
      put(b, "ok");
    kv_guest_result_void_store_error_free(&r);
  } else if (is(&a[0], "wasi-get") && n == 3) {
    kv_guest_result_option_list_u8_store_error_t r;
    kv_guest_store_method_bucket_get(bucket, &a[2], &r);
    if (r.is_err)
      wasi_error(b, &r.val.err);
    else
      put_opt(b, &r.val.ok);
    kv_guest_result_option_list_u8_store_error_free(&r);
  } else if (is(&a[0], "wasi-exists") && n == 3) {
    kv_guest_result_bool_store_error_t r;
    kv_guest_store_method_bucket_exists(bucket, &a[2], &r);
    if (r.is_err)
      wasi_error(b, &r.val.err);
    else
      put(b, r.val.ok ? "true" : "false");
    kv_guest_result_bool_store_error_free(&r);
  } else if (is(&a[0], "wasi-list")) {
    list_cmd(b, bucket);
  } else if (is(&a[0], "wasi-incr") && n == 4) {
    int64_t delta = 0, sign = 1;
    for (size_t i = 0; i < a[3].len; i++) {
      if (i == 0 && a[3].ptr[0] == '-')
        sign = -1;
      else
        delta = delta * 10 + (a[3].ptr[i] - '0');
    }
    kv_guest_result_s64_store_error_t r;
    kv_guest_atomics_increment(bucket, &a[2], sign * delta, &r);
    if (r.is_err)
      wasi_error(b, &r.val.err);
    else
      put_int(b, r.val.ok);
    kv_guest_result_s64_store_error_free(&r);
  } else if ((is(&a[0], "wasi-cas") && n == 4) || (is(&a[0], "wasi-cas-race") && n == 5)) {
    cas_cmd(b, bucket, a, n);
  } else if (is(&a[0], "wasi-get-many")) {
    kv_guest_list_string_t keys = {(kv_guest_string_t *)&a[2], n - 2};
    kv_guest_result_list_tuple2_string_option_list_u8_store_error_t r;
    kv_guest_batch_get_many(bucket, &keys, &r);
    if (r.is_err)
      wasi_error(b, &r.val.err);
    for (size_t i = 0; !r.is_err && i < r.val.ok.len; i++) {
      if (i)
        put(b, ";");
      put_n(b, (const char *)r.val.ok.ptr[i].f0.ptr, r.val.ok.ptr[i].f0.len);
      put(b, "=");
      put_opt(b, &r.val.ok.ptr[i].f1);
    }
    kv_guest_result_list_tuple2_string_option_list_u8_store_error_free(&r);
  } else if (is(&a[0], "wasi-set-many") || is(&a[0], "wasi-delete-many")) {
    kv_guest_result_void_store_error_t r;
    if (is(&a[0], "wasi-delete-many")) {
      kv_guest_list_string_t keys = {(kv_guest_string_t *)&a[2], n - 2};
      kv_guest_batch_delete_many(bucket, &keys, &r);
    } else {
      size_t np = (n - 2) / 2;
      kv_guest_tuple2_string_list_u8_t *pairs = malloc((np + 1) * sizeof *pairs);
      for (size_t i = 0; pairs && i < np; i++) {
        pairs[i].f0 = a[2 + 2 * i];
        pairs[i].f1 = bytes_of(&a[3 + 2 * i]);
      }
      kv_guest_list_tuple2_string_list_u8_t list = {pairs, pairs ? np : 0};
      kv_guest_batch_set_many(bucket, &list, &r);
      free(pairs);
    }
    if (r.is_err)
      wasi_error(b, &r.val.err);
    else
      put(b, "ok");
    kv_guest_result_void_store_error_free(&r);
  } else {
    put(b, "bad command");
  }
  kv_guest_store_bucket_drop_own(own);
}

void kv_guest_run(kv_guest_list_string_t *cmd, kv_guest_string_t *ret) {
  buf b = {NULL, 0, 0};
  put(&b, "");
  if (cmd->len == 1 && is(&cmd->ptr[0], "init"))
    put(&b, init_answer.p ? init_answer.p : "not run");
  else if (cmd->len >= 2 && cmd->ptr[0].len > 5 && memcmp(cmd->ptr[0].ptr, "spin-", 5) == 0)
    spin_cmd(&b, cmd->ptr, cmd->len);
  else if (cmd->len >= 2 && cmd->ptr[0].len > 5 && memcmp(cmd->ptr[0].ptr, "wasi-", 5) == 0)
    wasi_cmd(&b, cmd->ptr, cmd->len);
  else
    put(&b, "bad command");
  kv_guest_list_string_free(cmd);
  ret->ptr = (uint8_t *)b.p;
  ret->len = b.n;
}
