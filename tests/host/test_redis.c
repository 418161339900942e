/* Outbound Redis (src/host/redis_out.c) and the Redis trigger (src/host/redis_trigger.c)
 * against a real redis-server that this test starts on a loopback port it picks and stops
 * by PID, with real components: build/components/redis-c.wasm (C, `zerohop bindgen c` and
 * `jco new`) and redis-js.wasm (componentize-js against Spin's WIT), both made by
 * mk/redis.mk from tests/host/guests/.
 *
 * Each guest call is a fresh instance stamped from the component's template, with WASI 0.2
 * and the Redis module on one linker and a zh_host_instance as the instance's user data,
 * as `zerohop up` will make them. What the guests did is checked from outside with hiredis:
 * the keys they wrote, the message they published, the connections they left open (closed
 * when the instance ends), the lists the trigger's handlers appended to. */
#include "host/host_instance.h"
#include "host/outbound_hosts.h"
#include "host/redis_out.h"
#include "host/redis_trigger.h"
#include "testlib.h"
#include "testutil.h"
#include "zerohop/cm.h"
#include "zerohop/wasip2.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static zh_engine *engine;
static zh_test_redis redis;
static char address[64]; /* redis://127.0.0.1:PORT */

/* ---- log lines, kept for assertions (several threads log) ---- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[16384];

static void log_fn(void *env, const char *line) {
  (void)env;
  pthread_mutex_lock(&log_mu);
  size_t n = strlen(logbuf);
  if (n + strlen(line) + 2 < sizeof logbuf)
    snprintf(logbuf + n, sizeof logbuf - n, "%s\n", line);
  pthread_mutex_unlock(&log_mu);
  if (getenv("ZH_TEST_VERBOSE"))
    fprintf(stderr, "log: %s\n", line);
}

static bool logged(const char *needle) {
  pthread_mutex_lock(&log_mu);
  bool found = strstr(logbuf, needle) != NULL;
  pthread_mutex_unlock(&log_mu);
  return found;
}

static void log_clear(void) {
  pthread_mutex_lock(&log_mu);
  logbuf[0] = 0;
  pthread_mutex_unlock(&log_mu);
}

/* ---- a component: its template, its id and its allowed_outbound_hosts ---- */

typedef struct component {
  const char *id;
  zh_cm_component *comp;
  zh_cm_template *tpl;
  zh_host_outbound *rules;
  zh_host_redis_config config;
} component;

static bool component_load(component *c, const char *id, const char *file,
                           const char *const *allowed, size_t nallowed) {
  memset(c, 0, sizeof *c);
  c->id = id;
  c->config.log = log_fn;
  c->config.timeout_ms = 2000;
  char path[256];
  snprintf(path, sizeof path, "build/components/%s", file);
  uint8_t *bytes = NULL;
  size_t len = 0;
  if (!zh_test_read_file(path, &bytes, &len)) {
    fprintf(stderr, "%s: cannot read (make components builds it)\n", path);
    return false;
  }
  zh_cm_linker *linker = NULL;
  zh_error *err = zh_cm_component_new(engine, bytes, len, file, &c->comp);
  free(bytes);
  if (!err)
    err = zh_cm_linker_new(&linker);
  if (!err)
    err = zh_wasip2_define_linker(linker);
  if (!err)
    err = zh_host_redis_define_linker(linker);
  if (!err)
    err = zh_cm_template_new(linker, c->comp, &c->tpl);
  if (!err)
    err = zh_host_outbound_parse(id, allowed, nallowed, 0, log_fn, NULL, &c->rules);
  zh_cm_linker_free(linker);
  if (err)
    fprintf(stderr, "%s: %s\n", file, zh_error_message(err));
  bool ok = err == NULL;
  zh_error_free(err);
  return ok;
}

static void component_free(component *c) {
  zh_cm_template_free(c->tpl);
  zh_cm_component_free(c->comp);
  zh_host_outbound_free(c->rules);
}

/* One fresh instance of a component, as the host makes one per request or message. */
typedef struct instance {
  zh_host_instance host;
  zh_store *store;
  zh_cm_instance *inst;
} instance;

static zh_error *instance_new(instance *in, const component *c, const char *const *env,
                              size_t envc) {
  memset(in, 0, sizeof *in);
  zh_wasip2_config cfg = {.env = env, .envc = envc, .log = log_fn};
  zh_error *err = NULL;
  in->host.p2 = zh_wasip2_new(&cfg, &err);
  in->host.component_id = c->id;
  if (!err)
    err = zh_host_redis_inst_new(&c->config, c->rules, c->id, &in->host.redis);
  if (!err) {
    zh_wasip2_set_user(in->host.p2, &in->host);
    err = zh_store_new(engine, &in->store);
  }
  if (!err)
    err = zh_cm_template_instantiate(c->tpl, in->store, in->host.p2, &in->inst);
  if (!err)
    zh_wasip2_set_store(in->host.p2, in->store);
  return err;
}

/* Ends the instance: the guest's handles go first, then the Redis connections it left. */
static void instance_free(instance *in) {
  zh_cm_instance_free(in->inst);
  zh_store_free(in->store);
  zh_host_redis_inst_free(in->host.redis);
  zh_wasip2_free(in->host.p2);
}

/* Calls a top-level export (string, string-or-u32) -> string; the result in `out`. */
static bool call_export(const component *c, const char *func, const char *a, const char *b,
                        uint32_t n, char *out, size_t cap) {
  instance in;
  zh_error *err = instance_new(&in, c, NULL, 0);
  zh_cm_func *f = err ? NULL : zh_cm_instance_func(in.inst, NULL, func);
  zh_val args[2] = {zh_val_bool(false), zh_val_bool(false)}, res = zh_val_bool(false);
  out[0] = 0;
  if (!err && !f)
    err = zh_error_new(ZH_ERR_UNLINKABLE, "no export %s", func);
  if (!err)
    err = zh_val_string_cstr(&args[0], a);
  if (!err)
    err = b ? zh_val_string_cstr(&args[1], b) : (args[1] = zh_val_u32(n), NULL);
  if (!err)
    err = zh_cm_func_call(in.inst, f, args, 2, &res);
  if (!err)
    snprintf(out, cap, "%.*s", (int)res.of.str.len, res.of.str.data);
  else
    fprintf(stderr, "%s.%s: %s\n", c->id, func, zh_error_message(err));
  bool ok = err == NULL;
  zh_error_free(err);
  zh_val_drop(&args[0]);
  zh_val_drop(&args[1]);
  zh_val_drop(&res);
  instance_free(&in);
  return ok;
}

/* ---- the test's own view of Redis (hiredis, not through any guest) ---- */

static redisContext *probe_connect(void) {
  struct timeval tv = {2, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", redis.port, tv);
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    return c;
  }
  if (c)
    redisFree(c);
  return NULL;
}

/* A command's reply as text: strings and status as is, integers in decimal, nil "(nil)",
 * arrays joined with ','. */
static void reply_text(const redisReply *r, char *out, size_t cap) {
  size_t n = strlen(out);
  switch (r->type) {
  case REDIS_REPLY_STRING:
  case REDIS_REPLY_STATUS:
  case REDIS_REPLY_ERROR:
    snprintf(out + n, cap - n, "%.*s", (int)r->len, r->str);
    break;
  case REDIS_REPLY_INTEGER:
    snprintf(out + n, cap - n, "%lld", r->integer);
    break;
  case REDIS_REPLY_NIL:
    snprintf(out + n, cap - n, "(nil)");
    break;
  case REDIS_REPLY_ARRAY:
    for (size_t i = 0; i < r->elements; i++) {
      if (i)
        snprintf(out + strlen(out), cap - strlen(out), ",");
      reply_text(r->element[i], out, cap);
    }
    break;
  }
}

static const char *ask(const char *fmt, const char *arg) {
  static char out[2048];
  out[0] = 0;
  redisContext *c = probe_connect();
  redisReply *r = c ? redisCommand(c, fmt, arg) : NULL;
  if (r)
    reply_text(r, out, sizeof out);
  else
    snprintf(out, sizeof out, "(no reply)");
  freeReplyObject(r);
  if (c)
    redisFree(c);
  return out;
}

static long long connected_clients(void) {
  const char *info = ask("INFO %s", "clients");
  const char *p = strstr(info, "connected_clients:");
  return p ? atoll(p + 18) : -1;
}

static void check_eq(const char *what, const char *got, const char *want) {
  if (strcmp(got, want) != 0)
    fprintf(stderr, "%s:\n--- got\n%s\n--- want\n%s\n", what, got, want);
  CHECK(strcmp(got, want) == 0);
}

/* ---- outbound Redis ---- */

static const char script_want[] = "open=ok\n"
                                  "set=ok\n"
                                  "get=v1\n"
                                  "get-missing=none\n"
                                  "set-bin=ok\n"
                                  "get-bin=00ff6100\n"
                                  "incr=1\n"
                                  "incr=2\n"
                                  "incr=err:type-error\n"
                                  "sadd=3\n"
                                  "sadd-again=1\n"
                                  "srem=1\n"
                                  "smembers=a,c,d\n"
                                  "get-set=err:type-error\n"
                                  "del=1\n"
                                  "execute=int:1\n"
                                  "execute=bin:f,bin:-42\n"
                                  "execute=status:PONG\n"
                                  "execute=nil\n"
                                  "execute=err:other:ERR\n"
                                  "publish=ok\n";

/* The whole script from one guest, then its effects as Redis itself reports them. */
static void check_script(const component *c, const char *prefix) {
  char key[128], chan[128];
  snprintf(chan, sizeof chan, "%schan", prefix);
  /* a subscriber of our own, to see the guest's publish arrive */
  redisContext *sub = probe_connect();
  redisReply *r = sub ? redisCommand(sub, "SUBSCRIBE %s", chan) : NULL;
  CHECK(r != NULL);
  freeReplyObject(r);

  char out[4096];
  CHECK(call_export(c, "run", address, prefix, 0, out, sizeof out));
  check_eq(c->id, out, script_want);

  snprintf(key, sizeof key, "%sn", prefix);
  check_eq("GET n", ask("GET %s", key), "2");
  snprintf(key, sizeof key, "%sk", prefix);
  check_eq("EXISTS k (deleted)", ask("EXISTS %s", key), "0");
  snprintf(key, sizeof key, "%ss", prefix);
  check_eq("SCARD s", ask("SCARD %s", key), "3");
  snprintf(key, sizeof key, "%sh", prefix);
  check_eq("HGET h f", ask("HGET %s f", key), "-42");
  snprintf(key, sizeof key, "%sbin", prefix);
  check_eq("STRLEN bin", ask("STRLEN %s", key), "4");

  void *msg = NULL;
  bool got = sub && redisGetReply(sub, &msg) == REDIS_OK && msg;
  CHECK(got);
  if (got) {
    char text[256] = "";
    reply_text(msg, text, sizeof text);
    char want[256];
    snprintf(want, sizeof want, "message,%s,hello subscriber", chan);
    check_eq("published", text, want);
  }
  freeReplyObject(msg);
  if (sub)
    redisFree(sub);
}

static void test_outbound(const component *allowed, const component *denied,
                          const component *capped, const char *prefix) {
  check_script(allowed, prefix);

  /* denied by allowed_outbound_hosts: invalid-address, a log line, no connection made */
  log_clear();
  long long before = connected_clients();
  char out[1024], want[256];
  CHECK(call_export(denied, "run", address, prefix, 0, out, sizeof out));
  check_eq("denied", out, "open=err:invalid-address\n");
  snprintf(want, sizeof want,
           "redis: component \"%s\": connection to redis://127.0.0.1:%u denied: not in "
           "allowed_outbound_hosts",
           denied->id, (unsigned)redis.port);
  CHECK(logged(want));
  CHECK_EQ_INT(connected_clients(), before);

  /* malformed addresses: invalid-address too */
  CHECK(call_export(allowed, "run", "127.0.0.1:6379", prefix, 0, out, sizeof out));
  check_eq("no scheme", out, "open=err:invalid-address\n");
  CHECK(call_export(allowed, "run", "redis://", prefix, 0, out, sizeof out));
  check_eq("no host", out, "open=err:invalid-address\n");

  /* allowed, but nothing listens there: other(...) with the reason */
  uint16_t dead = zh_test_free_port();
  char dead_addr[64];
  snprintf(dead_addr, sizeof dead_addr, "redis://127.0.0.1:%u", (unsigned)dead);
  CHECK(call_export(allowed, "run", dead_addr, prefix, 0, out, sizeof out));
  check_eq("refused", out, "open=err:other:redis:\n");

  /* connections the guest leaves open close with the instance; the cap is per instance */
  before = connected_clients();
  CHECK(call_export(capped, "open-many", address, NULL, 3, out, sizeof out));
  check_eq("capped", out, "ok ok err:too-many-connections");
  CHECK_EQ_INT(connected_clients(), before);
}

/* An address with a password and a database: AUTH and SELECT before the script. */
static void test_auth(const component *c) {
  check_eq("requirepass", ask("CONFIG SET requirepass %s", "s3cret"), "OK");
  char addr[96], out[4096];
  snprintf(addr, sizeof addr, "redis://:s3cret@127.0.0.1:%u/3", (unsigned)redis.port);
  CHECK(call_export(c, "run", addr, "auth:", 0, out, sizeof out));
  check_eq("with password and db", out, script_want);
  snprintf(addr, sizeof addr, "redis://default:s3cret@127.0.0.1:%u", (unsigned)redis.port);
  CHECK(call_export(c, "open-many", addr, NULL, 1, out, sizeof out));
  check_eq("with user and password", out, "ok");
  snprintf(addr, sizeof addr, "redis://:wrong@127.0.0.1:%u", (unsigned)redis.port);
  CHECK(call_export(c, "open-many", addr, NULL, 1, out, sizeof out));
  CHECK(strncmp(out, "err:other:", 10) == 0);

  /* the keys are in database 3, behind the password */
  redisContext *rc = probe_connect();
  redisReply *r = rc ? redisCommand(rc, "AUTH s3cret") : NULL;
  freeReplyObject(r);
  r = rc ? redisCommand(rc, "SELECT 3") : NULL;
  freeReplyObject(r);
  r = rc ? redisCommand(rc, "GET auth:n") : NULL;
  CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "2") == 0);
  freeReplyObject(r);
  r = rc ? redisCommand(rc, "CONFIG SET requirepass %s", "") : NULL;
  CHECK(r && r->type == REDIS_REPLY_STATUS);
  freeReplyObject(r);
  if (rc)
    redisFree(rc);
  check_eq("GET auth:n in db 0", ask("GET %s", "auth:n"), "(nil)");
}

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* ---- a Redis that accepts and never answers ---- */

typedef struct silent_server {
  int fd;
  uint16_t port;
  pthread_t thread;
  int held[16];
  int nheld;
} silent_server;

static void *silent_main(void *arg) {
  silent_server *s = arg;
  for (;;) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      break;
    if (s->nheld < 16)
      s->held[s->nheld++] = c; /* read nothing, answer nothing */
    else
      close(c);
  }
  return NULL;
}

static bool silent_start(silent_server *s) {
  memset(s, 0, sizeof *s);
  if ((s->fd = zh_test_listen_loopback(&s->port)) < 0)
    return false;
  return pthread_create(&s->thread, NULL, silent_main, s) == 0;
}

static void silent_stop(silent_server *s) {
  shutdown(s->fd, SHUT_RDWR);
  close(s->fd);
  pthread_join(s->thread, NULL);
  for (int i = 0; i < s->nheld; i++)
    close(s->held[i]);
}

static double ms_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A Redis that never answers costs a guest one timeout (or less, up to the deadline): the
 * first command fails with other(...), and the broken connection fails the rest at once. */
static void test_silent(component *c) {
  silent_server s;
  if (!silent_start(&s)) {
    CHECK(!"silent server");
    return;
  }
  char addr[64], out[4096];
  snprintf(addr, sizeof addr, "redis://127.0.0.1:%d", s.port);
  const char *allow[] = {"redis://127.0.0.1:*"};
  zh_host_outbound *rules = NULL, *saved = c->rules;
  zh_error *err = zh_host_outbound_parse(c->id, allow, 1, 0, NULL, NULL, &rules);
  CHECK(err == NULL);
  zh_error_free(err);
  c->rules = rules;

  unsigned saved_timeout = c->config.timeout_ms;
  c->config.timeout_ms = 300;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(call_export(c, "run", addr, "silent:", 0, out, sizeof out));
  double took = ms_since(&t0);
  printf("silent Redis, 300 ms timeout: the guest's script took %.0f ms\n", took);
  CHECK(strncmp(out, "open=ok\nset=err:other:redis:\nget=err:other:redis:\n", 50) == 0);
  CHECK(took >= 250 && took < 2000);

  /* the instance's deadline cuts a longer timeout short */
  c->config.timeout_ms = 20000;
  instance in;
  err = instance_new(&in, c, NULL, 0);
  CHECK(err == NULL);
  zh_error_free(err);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  zh_host_redis_inst_set_deadline(in.host.redis, (uint64_t)now.tv_sec * 1000000000u +
                                                     (uint64_t)now.tv_nsec + 400000000u);
  zh_cm_func *f = in.inst ? zh_cm_instance_func(in.inst, NULL, "run") : NULL;
  zh_val args[2], res = zh_val_bool(false);
  zh_val_string_cstr(&args[0], addr);
  zh_val_string_cstr(&args[1], "silent:");
  clock_gettime(CLOCK_MONOTONIC, &t0);
  err = f ? zh_cm_func_call(in.inst, f, args, 2, &res) : NULL;
  took = ms_since(&t0);
  printf("silent Redis, 400 ms deadline: the guest's script took %.0f ms\n", took);
  CHECK(f && err == NULL);
  CHECK(res.kind == ZH_WIT_STRING && strncmp(res.of.str.data, "open=ok\nset=err:other:", 22) == 0);
  CHECK(took >= 300 && took < 2000);
  zh_error_free(err);
  zh_val_drop(&args[0]);
  zh_val_drop(&args[1]);
  zh_val_drop(&res);
  instance_free(&in);

  c->config.timeout_ms = saved_timeout;
  c->rules = saved;
  zh_host_outbound_free(rules);
  silent_stop(&s);
}

/* A Redis that resets every connection 50 ms after accepting it, in the middle of a large
 * SET: the command fails with other(...), the host carries on. (Linux reports the reset to
 * the first write as ECONNRESET, without SIGPIPE, and hiredis stops there; the SIGPIPE guard
 * of zh_host_redis_command_argv covers a later write, which this cannot provoke.) */
static void *resetting_main(void *arg) {
  silent_server *s = arg;
  for (;;) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      break;
    nap_ms(50);                /* after the client's connect has completed */
    struct linger lg = {1, 0}; /* close with RST */
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c);
  }
  return NULL;
}

static void test_reset(component *c) {
  silent_server s;
  if (!silent_start(&s)) {
    CHECK(!"resetting server");
    return;
  }
  /* the same listening socket, served by a thread that resets instead of holding */
  shutdown(s.fd, SHUT_RDWR);
  pthread_join(s.thread, NULL);
  close(s.fd);
  memset(&s, 0, sizeof s);
  s.fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  CHECK(s.fd >= 0 && bind(s.fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(s.fd, 8) == 0 &&
        getsockname(s.fd, (struct sockaddr *)&a, &al) == 0);
  s.port = ntohs(a.sin_port);
  CHECK(pthread_create(&s.thread, NULL, resetting_main, &s) == 0);

  const char *allow[] = {"redis://127.0.0.1:*"};
  zh_host_outbound *rules = NULL, *saved = c->rules;
  zh_error *err = zh_host_outbound_parse(c->id, allow, 1, 0, NULL, NULL, &rules);
  CHECK(err == NULL);
  zh_error_free(err);
  c->rules = rules;
  char addr[64], out[256];
  snprintf(addr, sizeof addr, "redis://127.0.0.1:%d", s.port);
  for (int i = 0; i < 3; i++) {
    CHECK(call_export(c, "set-big", addr, NULL, 8u << 20, out, sizeof out));
    if (strncmp(out, "set=err:other:redis:", 20) != 0)
      fprintf(stderr, "reset: got \"%s\"\n", out);
    CHECK(strncmp(out, "set=err:other:redis:", 20) == 0);
  }
  c->rules = saved;
  zh_host_outbound_free(rules);
  shutdown(s.fd, SHUT_RDWR);
  close(s.fd);
  pthread_join(s.thread, NULL);
}

/* A component without inbound-redis: the host gets an error, not a crash. */
static void test_no_handler(component *c) {
  instance in;
  zh_error *err = instance_new(&in, c, NULL, 0);
  CHECK(err == NULL);
  zh_error_free(err);
  bool ok = true;
  err = in.inst ? zh_host_inbound_redis_call(in.inst, (const uint8_t *)"x", 1, &ok) : NULL;
  CHECK(err && zh_error_status(err) == ZH_ERR_UNLINKABLE && !ok);
  CHECK(err && strstr(zh_error_message(err), "does not export fermyon:spin/inbound-redis"));
  zh_error_free(err);
  instance_free(&in);
}

/* ---- the trigger ---- */

typedef struct delivery_env {
  const component *comps;
  size_t ncomps;
  atomic_int handled, guest_errors, failures;
} delivery_env;

/* What `zerohop up` will do per message: a fresh instance of the component, its handler. */
static void deliver(void *env, const char *component_id, const char *channel,
                    const uint8_t *payload, size_t len) {
  (void)channel;
  delivery_env *d = env;
  const component *c = NULL;
  for (size_t i = 0; i < d->ncomps; i++)
    if (strcmp(d->comps[i].id, component_id) == 0)
      c = &d->comps[i];
  if (!c) {
    atomic_fetch_add(&d->failures, 1);
    return;
  }
  char a[96], comp[96];
  snprintf(a, sizeof a, "REDIS_ADDRESS=%s", address);
  snprintf(comp, sizeof comp, "COMPONENT=%s", component_id);
  const char *envv[] = {a, comp};
  instance in;
  bool guest_ok = false;
  zh_error *err = instance_new(&in, c, envv, 2);
  if (!err)
    err = zh_host_inbound_redis_call(in.inst, payload, len, &guest_ok);
  if (err) {
    fprintf(stderr, "deliver to %s: %s\n", component_id, zh_error_message(err));
    atomic_fetch_add(&d->failures, 1);
  } else if (!guest_ok) {
    atomic_fetch_add(&d->guest_errors, 1);
  } else {
    atomic_fetch_add(&d->handled, 1);
  }
  zh_error_free(err);
  instance_free(&in);
}

/* Waits up to `ms` for the trigger's first address to be subscribed `n` times over. */
static bool wait_subscribed(const zh_host_redis_trigger *t, uint64_t n, long ms) {
  for (long waited = 0; waited < ms; waited += 10) {
    bool now = false;
    if (zh_host_redis_trigger_subscriptions(t, 0, &now) >= n && now)
      return true;
    nap_ms(10);
  }
  return false;
}

static long long publish(const char *channel, const char *msg) {
  redisContext *c = probe_connect();
  redisReply *r = c ? redisCommand(c, "PUBLISH %s %s", channel, msg) : NULL;
  long long receivers = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  freeReplyObject(r);
  if (c)
    redisFree(c);
  return receivers;
}

static bool wait_count(atomic_int *v, int n, long ms) {
  for (long waited = 0; waited < ms; waited += 10) {
    if (atomic_load(v) >= n)
      return true;
    nap_ms(10);
  }
  return atomic_load(v) >= n;
}

static void test_trigger_config(void) {
  zh_host_redis_trigger *t = NULL;
  zh_host_redis_trigger_entry bad[] = {{"a", "ch", NULL}};
  zh_host_redis_trigger_config cfg = {.triggers = bad, .ntriggers = 1, .deliver = deliver};
  zh_error *err = zh_host_redis_trigger_start(&cfg, &t);
  CHECK(err && t == NULL);
  CHECK(err && strstr(zh_error_message(err), "trigger.redis[0] (component \"a\"): no address"));
  zh_error_free(err);
  bad[0].address = "localhost:6379";
  err = zh_host_redis_trigger_start(&cfg, &t);
  CHECK(err && strstr(zh_error_message(err), "is not redis://HOST[:PORT]"));
  zh_error_free(err);
  bad[0].address = NULL;
  bad[0].channel = "";
  cfg.default_address = "redis://127.0.0.1:1";
  err = zh_host_redis_trigger_start(&cfg, &t);
  CHECK(err && strstr(zh_error_message(err), "no channel"));
  zh_error_free(err);

  /* grouping: the default address, a per-trigger one equal to it, and another */
  zh_host_redis_trigger_entry three[] = {
      {"a", "x", NULL}, {"b", "y", "redis://127.0.0.1:1"}, {"c", "x", "redis://127.0.0.1:2"}};
  cfg.triggers = three;
  cfg.ntriggers = 3;
  cfg.log = log_fn;
  err = zh_host_redis_trigger_start(&cfg, &t);
  CHECK(err == NULL);
  CHECK_EQ_INT(zh_host_redis_trigger_address_count(t), 2);
  CHECK(t && strcmp(zh_host_redis_trigger_address(t, 0), "redis://127.0.0.1:1") == 0);
  CHECK(t && strcmp(zh_host_redis_trigger_address(t, 1), "redis://127.0.0.1:2") == 0);
  zh_host_redis_trigger_stop(t); /* prompt even though neither address answers */
  zh_error_free(err);
}

static void test_trigger(component *comps, size_t ncomps) {
  char chan[] = "zh-events";
  zh_host_redis_trigger_entry entries[4];
  for (size_t i = 0; i < ncomps; i++)
    entries[i] = (zh_host_redis_trigger_entry){comps[i].id, chan, NULL};
  entries[ncomps] = (zh_host_redis_trigger_entry){comps[0].id, "other-channel", address};
  delivery_env d = {.comps = comps, .ncomps = ncomps};
  zh_host_redis_trigger_config cfg = {.default_address = address,
                                      .triggers = entries,
                                      .ntriggers = ncomps + 1,
                                      .deliver = deliver,
                                      .deliver_env = &d,
                                      .log = log_fn,
                                      .backoff_min_ms = 50,
                                      .backoff_max_ms = 400};
  zh_host_redis_trigger *t = NULL;
  log_clear();
  zh_error *err = zh_host_redis_trigger_start(&cfg, &t);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!t)
    return;
  CHECK_EQ_INT(zh_host_redis_trigger_address_count(t), 1); /* both spellings: one address */
  CHECK(wait_subscribed(t, 1, 5000));

  /* one message, every component on the channel handles it once */
  CHECK_EQ_INT(publish(chan, "first"), 1); /* one subscriber connection */
  CHECK(wait_count(&d.handled, (int)ncomps, 10000));
  for (size_t i = 0; i < ncomps; i++) {
    char key[64];
    snprintf(key, sizeof key, "got:%s", comps[i].id);
    check_eq(key, ask("LRANGE %s 0 -1", key), "first");
  }
  /* the guest's error result is counted, not a crash */
  CHECK_EQ_INT(publish(chan, "fail"), 1);
  CHECK(wait_count(&d.guest_errors, (int)ncomps, 10000));
  CHECK_EQ_INT(publish("other-channel", "elsewhere"), 1);
  CHECK(wait_count(&d.handled, (int)ncomps + 1, 10000));
  check_eq("got:c after other-channel", ask("LRANGE %s 0 -1", "got:c-sub"), "first,elsewhere");

  /* Redis killed: the trigger logs, backs off without using the CPU, and resubscribes when
   * Redis is back on the same port */
  zh_test_redis_stop(&redis);
  nap_ms(200);
  bool subscribed = true;
  zh_host_redis_trigger_subscriptions(t, 0, &subscribed);
  CHECK(!subscribed);
  CHECK(logged("connection lost"));
  uint64_t cpu0 = zh_host_redis_trigger_cpu_ns(t, 0);
  struct timespec w0, w1;
  clock_gettime(CLOCK_MONOTONIC, &w0);
  nap_ms(1500);
  clock_gettime(CLOCK_MONOTONIC, &w1);
  uint64_t cpu1 = zh_host_redis_trigger_cpu_ns(t, 0);
  double wall_ms = (double)(w1.tv_sec - w0.tv_sec) * 1e3 + (double)(w1.tv_nsec - w0.tv_nsec) / 1e6;
  double cpu_ms = (double)(cpu1 - cpu0) / 1e6;
  printf("trigger while Redis is down: %.2f ms CPU in %.0f ms (%.3f%%)\n", cpu_ms, wall_ms,
         100.0 * cpu_ms / wall_ms);
  CHECK(cpu1 > 0);
  CHECK(cpu_ms < 0.05 * wall_ms); /* idle: a spinning loop would use ~100% */
  CHECK(logged("unavailable; retrying with backoff"));

  CHECK(zh_test_redis_start(&redis));
  CHECK(wait_subscribed(t, 2, 5000));
  CHECK(logged("(reconnected)"));
  int before = atomic_load(&d.handled);
  CHECK_EQ_INT(publish(chan, "after-restart"), 1);
  CHECK(wait_count(&d.handled, before + (int)ncomps, 10000));
  for (size_t i = 0; i < ncomps; i++) {
    char key[64];
    snprintf(key, sizeof key, "got:%s", comps[i].id);
    check_eq(key, ask("LRANGE %s 0 -1", key), "after-restart"); /* a fresh server */
  }

  /* killed and restarted while messages flow: no crash, and delivery resumes */
  atomic_int published;
  atomic_store(&published, 0);
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 20; i++)
      if (publish(chan, "flow") == 1)
        atomic_fetch_add(&published, 1);
    zh_test_redis_stop(&redis);
    nap_ms(100);
    CHECK(zh_test_redis_start(&redis));
    CHECK(wait_subscribed(t, (uint64_t)(3 + round), 5000));
  }
  before = atomic_load(&d.handled);
  CHECK_EQ_INT(publish(chan, "last"), 1);
  CHECK(wait_count(&d.handled, before + (int)ncomps, 10000));
  CHECK_EQ_INT(atomic_load(&d.failures), 0);

  struct timespec s0, s1;
  clock_gettime(CLOCK_MONOTONIC, &s0);
  zh_host_redis_trigger_stop(t);
  clock_gettime(CLOCK_MONOTONIC, &s1);
  CHECK(s1.tv_sec - s0.tv_sec < 2); /* joined promptly */
}

/* Two addresses: two subscribers, each delivering only its own server's messages. */
static void test_two_addresses(component *comps) {
  zh_test_redis second = {0};
  if (!zh_test_redis_start(&second)) {
    CHECK(!"a second redis-server starts");
    return;
  }
  char addr2[64];
  snprintf(addr2, sizeof addr2, "redis://127.0.0.1:%u", (unsigned)second.port);
  zh_host_redis_trigger_entry entries[] = {{comps[0].id, "both", NULL},
                                           {comps[1].id, "both", addr2}};
  delivery_env d = {.comps = comps, .ncomps = 2};
  zh_host_redis_trigger_config cfg = {.default_address = address,
                                      .triggers = entries,
                                      .ntriggers = 2,
                                      .deliver = deliver,
                                      .deliver_env = &d,
                                      .log = log_fn};
  zh_host_redis_trigger *t = NULL;
  zh_error *err = zh_host_redis_trigger_start(&cfg, &t);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK_EQ_INT(zh_host_redis_trigger_address_count(t), 2);
  bool up = false;
  for (int i = 0; i < 500 && !up; i++) {
    bool a = false, b = false;
    zh_host_redis_trigger_subscriptions(t, 0, &a);
    zh_host_redis_trigger_subscriptions(t, 1, &b);
    up = a && b;
    nap_ms(10);
  }
  CHECK(up);
  ask("DEL %s", "got:c-sub");
  ask("DEL %s", "got:js-sub");
  CHECK_EQ_INT(publish("both", "to-first"), 1);
  redisContext *c2 = redisConnect("127.0.0.1", second.port);
  redisReply *r = c2 && !c2->err ? redisCommand(c2, "PUBLISH both to-second") : NULL;
  CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
  freeReplyObject(r);
  if (c2)
    redisFree(c2);
  CHECK(wait_count(&d.handled, 2, 10000));
  nap_ms(100); /* nothing more arrives */
  CHECK_EQ_INT(atomic_load(&d.handled), 2);
  check_eq("first address", ask("LRANGE %s 0 -1", "got:c-sub"), "to-first");
  check_eq("second address", ask("LRANGE %s 0 -1", "got:js-sub"), "to-second");
  zh_host_redis_trigger_stop(t);
  zh_test_redis_stop(&second);
}

int main(void) {
  zh_error *err = zh_engine_new(NULL, &engine);
  CHECK(err == NULL);
  zh_error_free(err);
  test_trigger_config();
  if (!zh_test_redis_start(&redis)) {
    CHECK(!"redis-server starts");
    TEST_SUMMARY();
  }
  snprintf(address, sizeof address, "redis://127.0.0.1:%u", (unsigned)redis.port);
  char allow[64];
  snprintf(allow, sizeof allow, "redis://127.0.0.1:%u", (unsigned)redis.port);
  const char *allowed[] = {allow, "redis://127.0.0.1:*"};
  const char *other_port[] = {"redis://127.0.0.1:1", "redis://localhost:*", "https://*:*"};

  component c_ok, c_denied, c_capped, js_ok, js_denied;
  bool c_loaded = component_load(&c_ok, "c-sub", "redis-c.wasm", allowed, 2) &&
                  component_load(&c_denied, "c-denied", "redis-c.wasm", other_port, 3) &&
                  component_load(&c_capped, "c-capped", "redis-c.wasm", allowed, 1);
  CHECK(c_loaded);
  bool js_loaded = component_load(&js_ok, "js-sub", "redis-js.wasm", allowed, 1) &&
                   component_load(&js_denied, "js-denied", "redis-js.wasm", other_port, 3);
  CHECK(js_loaded);
  if (c_loaded) {
    c_capped.config.max_connections = 2;
    test_outbound(&c_ok, &c_denied, &c_capped, "c:");
    test_silent(&c_ok);
    test_reset(&c_ok);
    test_auth(&c_ok);
  }
  if (js_loaded) {
    check_script(&js_ok, "js:");
    char out[512];
    log_clear();
    CHECK(call_export(&js_denied, "run", address, "js:", 0, out, sizeof out));
    check_eq("js denied", out, "open=err:invalid-address\n");
    CHECK(logged("redis: component \"js-denied\": connection to redis://127.0.0.1:"));
  }
  component http;
  if (component_load(&http, "http-only", "c-http-hello.wasm", NULL, 0))
    test_no_handler(&http);
  else
    CHECK(!"c-http-hello.wasm loads");
  component_free(&http);
  if (c_loaded && js_loaded) {
    component comps[] = {c_ok, js_ok}; /* two components on one channel */
    test_trigger(comps, 2);
    test_two_addresses(comps);
  }
  if (c_loaded) {
    component_free(&c_capped);
    component_free(&c_denied);
    component_free(&c_ok);
  }
  if (js_loaded) {
    component_free(&js_denied);
    component_free(&js_ok);
  }
  zh_test_redis_stop(&redis);
  zh_engine_free(engine);
  TEST_SUMMARY();
}
