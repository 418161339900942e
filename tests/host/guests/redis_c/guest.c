/* The C Redis guest: Spin's fermyon:spin/redis@2.0.0 from C, through `zerohop bindgen c`.
 *
 * `run(address, prefix)` opens a connection and runs one script of commands on keys that
 * start with `prefix`, returning one line per command ("get=v1", "incr=err:type-error"...),
 * so the test compares the whole transcript. `open-many(address, n)` opens n connections
 * and leaves them open (the host closes them when the instance ends); `set-big(address, n)`
 * sets "big" to n zero bytes. The inbound-redis handler appends each message to the list
 * "got:<COMPONENT>" of the Redis at REDIS_ADDRESS (both from the environment), and answers
 * `error` for the message "fail".
 *
 * No libc I/O, so the core module needs no preview1 adapter: the text is built by hand. */
#include "redis_c.h"

#include <stdlib.h>
#include <string.h>

typedef struct text {
  char *data;
  size_t len, cap;
} text;

static void put_n(text *t, const char *s, size_t n) {
  if (t->len + n + 1 > t->cap) {
    size_t cap = (t->len + n + 1) * 2;
    char *d = realloc(t->data, cap);
    if (!d)
      abort();
    t->data = d;
    t->cap = cap;
  }
  memcpy(t->data + t->len, s, n);
  t->len += n;
  t->data[t->len] = 0;
}

static void put(text *t, const char *s) { put_n(t, s, strlen(s)); }

static void put_int(text *t, int64_t v) {
  char digits[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    put(t, "-");
  while (n)
    put_n(t, &digits[--n], 1);
}

static void put_hex(text *t, const uint8_t *p, size_t n) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    put_n(t, &hex[p[i] >> 4], 1);
    put_n(t, &hex[p[i] & 15], 1);
  }
}

static void put_error(text *t, const redis_c_redis_error_t *e) {
  switch (e->tag) {
  case REDIS_C_REDIS_ERROR_INVALID_ADDRESS:
    put(t, "err:invalid-address");
    break;
  case REDIS_C_REDIS_ERROR_TOO_MANY_CONNECTIONS:
    put(t, "err:too-many-connections");
    break;
  case REDIS_C_REDIS_ERROR_TYPE_ERROR:
    put(t, "err:type-error");
    break;
  default:
    put(t, "err:other:");
    /* the first word of the message: Redis versions word the rest differently */
    for (size_t i = 0; i < e->val.other.len && e->val.other.ptr[i] != ' '; i++)
      put_n(t, (const char *)&e->val.other.ptr[i], 1);
  }
}

/* a key: prefix + name, in `buf` */
static redis_c_string_t key(char *buf, const redis_c_string_t *prefix, const char *name) {
  memcpy(buf, prefix->ptr, prefix->len);
  strcpy(buf + prefix->len, name);
  return (redis_c_string_t){(uint8_t *)buf, prefix->len + strlen(name)};
}

static redis_c_redis_payload_t bytes(const char *s) {
  return (redis_c_redis_payload_t){(uint8_t *)s, strlen(s)};
}

static void line_void(text *t, const char *name, redis_c_result_void_redis_error_t *r) {
  put(t, name);
  put(t, "=");
  if (r->is_err)
    put_error(t, &r->val.err);
  else
    put(t, "ok");
  put(t, "\n");
  redis_c_result_void_redis_error_free(r);
}

static void line_u32(text *t, const char *name, redis_c_result_u32_redis_error_t *r) {
  put(t, name);
  put(t, "=");
  if (r->is_err)
    put_error(t, &r->val.err);
  else
    put_int(t, r->val.ok);
  put(t, "\n");
  redis_c_result_u32_redis_error_free(r);
}

static void line_get(text *t, const char *name,
                     redis_c_result_option_redis_payload_redis_error_t *r, bool hex) {
  put(t, name);
  put(t, "=");
  if (r->is_err)
    put_error(t, &r->val.err);
  else if (!r->val.ok.is_some)
    put(t, "none");
  else if (hex)
    put_hex(t, r->val.ok.val.ptr, r->val.ok.val.len);
  else
    put_n(t, (const char *)r->val.ok.val.ptr, r->val.ok.val.len);
  put(t, "\n");
  redis_c_result_option_redis_payload_redis_error_free(r);
}

static void line_incr(text *t, redis_c_result_s64_redis_error_t *r) {
  put(t, "incr=");
  if (r->is_err)
    put_error(t, &r->val.err);
  else
    put_int(t, r->val.ok);
  put(t, "\n");
  redis_c_result_s64_redis_error_free(r);
}

static int cmp_str(const void *a, const void *b) {
  const redis_c_string_t *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->ptr, y->ptr, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void line_execute(text *t, redis_c_result_list_redis_redis_result_redis_error_t *r) {
  put(t, "execute=");
  if (r->is_err) {
    put_error(t, &r->val.err);
  } else {
    for (size_t i = 0; i < r->val.ok.len; i++) {
      const redis_c_redis_redis_result_t *x = &r->val.ok.ptr[i];
      if (i)
        put(t, ",");
      switch (x->tag) {
      case REDIS_C_REDIS_REDIS_RESULT_NIL:
        put(t, "nil");
        break;
      case REDIS_C_REDIS_REDIS_RESULT_STATUS:
        put(t, "status:");
        put_n(t, (const char *)x->val.status.ptr, x->val.status.len);
        break;
      case REDIS_C_REDIS_REDIS_RESULT_INT64:
        put(t, "int:");
        put_int(t, x->val.int64);
        break;
      default:
        put(t, "bin:");
        put_n(t, (const char *)x->val.binary.ptr, x->val.binary.len);
      }
    }
  }
  put(t, "\n");
  redis_c_result_list_redis_redis_result_redis_error_free(r);
}

static void script(text *t, redis_c_redis_borrow_connection_t c, const redis_c_string_t *prefix) {
  char k1[300], k2[300];
  redis_c_result_void_redis_error_t rv;
  redis_c_result_option_redis_payload_redis_error_t rg;
  redis_c_result_s64_redis_error_t ri;
  redis_c_result_u32_redis_error_t ru;
  redis_c_result_list_redis_redis_result_redis_error_t rx;

  redis_c_string_t k = key(k1, prefix, "k");
  redis_c_redis_payload_t v1 = bytes("v1");
  redis_c_redis_method_connection_set(c, &k, &v1, &rv);
  line_void(t, "set", &rv);
  redis_c_redis_method_connection_get(c, &k, &rg);
  line_get(t, "get", &rg, false);
  k = key(k1, prefix, "missing");
  redis_c_redis_method_connection_get(c, &k, &rg);
  line_get(t, "get-missing", &rg, false);

  /* binary values round-trip */
  k = key(k1, prefix, "bin");
  uint8_t raw[] = {0, 0xff, 'a', 0};
  redis_c_redis_payload_t vb = {raw, sizeof raw};
  redis_c_redis_method_connection_set(c, &k, &vb, &rv);
  line_void(t, "set-bin", &rv);
  redis_c_redis_method_connection_get(c, &k, &rg);
  line_get(t, "get-bin", &rg, true);

  k = key(k1, prefix, "n");
  redis_c_redis_method_connection_incr(c, &k, &ri);
  line_incr(t, &ri);
  redis_c_redis_method_connection_incr(c, &k, &ri);
  line_incr(t, &ri);
  k = key(k1, prefix, "k");
  redis_c_redis_method_connection_incr(c, &k, &ri); /* "v1" is not an integer */
  line_incr(t, &ri);

  k = key(k1, prefix, "s");
  redis_c_string_t abc[] = {{(uint8_t *)"a", 1}, {(uint8_t *)"b", 1}, {(uint8_t *)"c", 1}};
  redis_c_list_string_t l = {abc, 3};
  redis_c_redis_method_connection_sadd(c, &k, &l, &ru);
  line_u32(t, "sadd", &ru);
  redis_c_string_t ad[] = {{(uint8_t *)"a", 1}, {(uint8_t *)"d", 1}};
  l = (redis_c_list_string_t){ad, 2};
  redis_c_redis_method_connection_sadd(c, &k, &l, &ru);
  line_u32(t, "sadd-again", &ru);
  redis_c_string_t bz[] = {{(uint8_t *)"b", 1}, {(uint8_t *)"zz", 2}};
  l = (redis_c_list_string_t){bz, 2};
  redis_c_redis_method_connection_srem(c, &k, &l, &ru);
  line_u32(t, "srem", &ru);
  redis_c_result_list_string_redis_error_t rs;
  redis_c_redis_method_connection_smembers(c, &k, &rs);
  put(t, "smembers=");
  if (rs.is_err) {
    put_error(t, &rs.val.err);
  } else {
    qsort(rs.val.ok.ptr, rs.val.ok.len, sizeof *rs.val.ok.ptr, cmp_str);
    for (size_t i = 0; i < rs.val.ok.len; i++) {
      if (i)
        put(t, ",");
      put_n(t, (const char *)rs.val.ok.ptr[i].ptr, rs.val.ok.ptr[i].len);
    }
  }
  put(t, "\n");
  redis_c_result_list_string_redis_error_free(&rs);
  redis_c_redis_method_connection_get(c, &k, &rg); /* a set is not a string */
  line_get(t, "get-set", &rg, false);

  redis_c_string_t dk[] = {key(k1, prefix, "k"), key(k2, prefix, "nothing")};
  l = (redis_c_list_string_t){dk, 2};
  redis_c_redis_method_connection_del(c, &l, &ru);
  line_u32(t, "del", &ru);

  /* execute: parameters of both kinds, results of every kind, an array flattened */
  char hk[300];
  redis_c_string_t h = key(hk, prefix, "h");
  redis_c_redis_redis_parameter_t hp[] = {
      {.tag = REDIS_C_REDIS_REDIS_PARAMETER_BINARY, .val.binary = {h.ptr, h.len}},
      {.tag = REDIS_C_REDIS_REDIS_PARAMETER_BINARY, .val.binary = bytes("f")},
      {.tag = REDIS_C_REDIS_REDIS_PARAMETER_INT64, .val.int64 = -42},
  };
  redis_c_list_redis_redis_parameter_t params = {hp, 3};
  redis_c_string_t cmd;
  redis_c_string_set(&cmd, "HSET");
  redis_c_redis_method_connection_execute(c, &cmd, &params, &rx);
  line_execute(t, &rx);
  params.len = 1;
  redis_c_string_set(&cmd, "HGETALL");
  redis_c_redis_method_connection_execute(c, &cmd, &params, &rx);
  line_execute(t, &rx);
  params.len = 0;
  redis_c_string_set(&cmd, "PING");
  redis_c_redis_method_connection_execute(c, &cmd, &params, &rx);
  line_execute(t, &rx);
  redis_c_string_t mk = key(k1, prefix, "missing");
  redis_c_redis_redis_parameter_t gp = {.tag = REDIS_C_REDIS_REDIS_PARAMETER_BINARY,
                                        .val.binary = {mk.ptr, mk.len}};
  params = (redis_c_list_redis_redis_parameter_t){&gp, 1};
  redis_c_string_set(&cmd, "GET");
  redis_c_redis_method_connection_execute(c, &cmd, &params, &rx);
  line_execute(t, &rx);
  params.len = 0;
  redis_c_string_set(&cmd, "NOSUCHCOMMAND");
  redis_c_redis_method_connection_execute(c, &cmd, &params, &rx);
  line_execute(t, &rx);

  redis_c_string_t ch = key(k1, prefix, "chan");
  redis_c_redis_payload_t msg = bytes("hello subscriber");
  redis_c_redis_method_connection_publish(c, &ch, &msg, &rv);
  line_void(t, "publish", &rv);
}

void redis_c_run(redis_c_string_t *address, redis_c_string_t *prefix, redis_c_string_t *ret) {
  text t = {0};
  put(&t, "");
  redis_c_result_own_redis_connection_redis_error_t opened;
  redis_c_redis_static_connection_open(address, &opened);
  if (opened.is_err) {
    put(&t, "open=");
    put_error(&t, &opened.val.err);
    put(&t, "\n");
    redis_c_result_own_redis_connection_redis_error_free(&opened);
  } else {
    put(&t, "open=ok\n");
    script(&t, redis_c_redis_borrow_connection(opened.val.ok), prefix);
    redis_c_redis_connection_drop_own(opened.val.ok);
  }
  redis_c_string_free(address);
  redis_c_string_free(prefix);
  ret->ptr = (uint8_t *)t.data;
  ret->len = t.len;
}

void redis_c_open_many(redis_c_string_t *address, uint32_t n, redis_c_string_t *ret) {
  text t = {0};
  put(&t, "");
  for (uint32_t i = 0; i < n; i++) {
    redis_c_result_own_redis_connection_redis_error_t opened;
    redis_c_redis_static_connection_open(address, &opened);
    if (i)
      put(&t, " ");
    if (opened.is_err) {
      put_error(&t, &opened.val.err);
      redis_c_result_own_redis_connection_redis_error_free(&opened);
    } else {
      put(&t, "ok"); /* left open on purpose */
    }
  }
  redis_c_string_free(address);
  ret->ptr = (uint8_t *)t.data;
  ret->len = t.len;
}

void redis_c_set_big(redis_c_string_t *address, uint32_t n, redis_c_string_t *ret) {
  text t = {0};
  redis_c_result_own_redis_connection_redis_error_t opened;
  redis_c_redis_static_connection_open(address, &opened);
  if (opened.is_err) {
    put(&t, "open=");
    put_error(&t, &opened.val.err);
    redis_c_result_own_redis_connection_redis_error_free(&opened);
  } else {
    redis_c_redis_payload_t value = {calloc(n ? n : 1, 1), n};
    redis_c_string_t k;
    redis_c_string_set(&k, "big");
    redis_c_result_void_redis_error_t rv;
    redis_c_redis_method_connection_set(redis_c_redis_borrow_connection(opened.val.ok), &k, &value,
                                        &rv);
    put(&t, "set=");
    if (rv.is_err)
      put_error(&t, &rv.val.err);
    else
      put(&t, "ok");
    redis_c_result_void_redis_error_free(&rv);
    free(value.ptr);
    redis_c_redis_connection_drop_own(opened.val.ok);
  }
  redis_c_string_free(address);
  ret->ptr = (uint8_t *)t.data;
  ret->len = t.len;
}

/* ---- the Redis trigger's handler ---- */

static bool env_get(const redis_c_list_tuple2_string_string_t *env, const char *name,
                    redis_c_string_t *out) {
  for (size_t i = 0; i < env->len; i++)
    if (env->ptr[i].f0.len == strlen(name) &&
        memcmp(env->ptr[i].f0.ptr, name, env->ptr[i].f0.len) == 0) {
      *out = env->ptr[i].f1;
      return true;
    }
  return false;
}

void redis_c_inbound_redis_handle_message(redis_c_redis_types_payload_t *message,
                                          redis_c_result_void_redis_types_error_t *ret) {
  ret->is_err = true;
  ret->val.err = REDIS_C_REDIS_TYPES_ERROR_ERROR;
  redis_c_list_tuple2_string_string_t env;
  redis_c_environment_get_environment(&env);
  redis_c_string_t address, component;
  bool fail = message->len == 4 && memcmp(message->ptr, "fail", 4) == 0;
  if (!fail && env_get(&env, "REDIS_ADDRESS", &address) && env_get(&env, "COMPONENT", &component)) {
    redis_c_result_own_redis_connection_redis_error_t opened;
    redis_c_redis_static_connection_open(&address, &opened);
    if (!opened.is_err) {
      char list[300] = "got:";
      memcpy(list + 4, component.ptr, component.len < 290 ? component.len : 290);
      redis_c_redis_redis_parameter_t p[] = {
          {.tag = REDIS_C_REDIS_REDIS_PARAMETER_BINARY,
           .val.binary = {(uint8_t *)list, 4 + (component.len < 290 ? component.len : 290)}},
          {.tag = REDIS_C_REDIS_REDIS_PARAMETER_BINARY, .val.binary = *message},
      };
      redis_c_list_redis_redis_parameter_t params = {p, 2};
      redis_c_string_t cmd;
      redis_c_string_set(&cmd, "RPUSH");
      redis_c_result_list_redis_redis_result_redis_error_t rx;
      redis_c_redis_method_connection_execute(redis_c_redis_borrow_connection(opened.val.ok), &cmd,
                                              &params, &rx);
      ret->is_err = rx.is_err;
      redis_c_result_list_redis_redis_result_redis_error_free(&rx);
      redis_c_redis_connection_drop_own(opened.val.ok);
    } else {
      redis_c_result_own_redis_connection_redis_error_free(&opened);
    }
  }
  redis_c_list_tuple2_string_string_free(&env);
  redis_c_redis_types_payload_free(message);
}
