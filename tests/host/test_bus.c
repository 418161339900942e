/* The in-process event bus end to end (src/host/bus.c): `zerohop up` ($ZH_BUILD/zerohop) runs
 * apps of tests/host/guests/bus_guest.c (one binary: an HTTP route that publishes with
 * Spin's outbound Redis, and Redis trigger handlers that log what they handle) with a runtime
 * config that puts channels on the bus. A real redis-server, started on a free loopback port
 * and stopped by PID, where a test needs one; none at all for `local`. What subscribers
 * handled is read back from the host's log ("[ID] got PAYLOAD"), which the test counts. */
#include "host/bus.h"
#include "host/hops.h"
#include "httpclient.h"
#include "testlib.h"
#include "testutil.h"

#include <hiredis/hiredis.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>

#define START_LIMIT_MS 60000
#define WAIT_MS 15000 /* for an event to be handled; generous for ASan */
#define SERVING "Serving http://127.0.0.1:"

static char tmpdir[64];
static char guest[PATH_MAX]; /* absolute build/components/host/bus_guest.wasm */

/* Writes DIR/NAME/FILE with printf-style text; returns the app's directory in `dir`. */
static void write_file(const char *name, const char *file, char *dir, size_t cap, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));
static void write_file(const char *name, const char *file, char *dir, size_t cap, const char *fmt,
                       ...) {
  snprintf(dir, cap, "%s/%s", tmpdir, name);
  mkdir(dir, 0755);
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "w");
  if (!f)
    return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fclose(f);
}

/* The manifest's head: the app, its Redis address and the publishing route. */
static int app_head(char *out, size_t cap, unsigned port) {
  return snprintf(out, cap,
                  "spin_manifest_version = 2\n[application]\nname = \"bus\"\n"
                  "[application.trigger.redis]\naddress = \"redis://127.0.0.1:%u\"\n"
                  "[[trigger.http]]\nroute = \"/pub\"\ncomponent = \"pub\"\n"
                  "[component.pub]\nsource = \"%s\"\n"
                  "allowed_outbound_hosts = [\"redis://127.0.0.1:%u\"]\n"
                  "environment = { REDIS_ADDRESS = \"redis://127.0.0.1:%u\" }\n",
                  port, guest, port, port);
}

/* A subscriber component `id` on `channel` with extra environment (`env`: "K = \"V\", ..."). */
static int app_sub(char *out, size_t cap, const char *id, const char *channel, const char *env) {
  return snprintf(out, cap,
                  "[[trigger.redis]]\nchannel = \"%s\"\ncomponent = \"%s\"\n"
                  "[component.%s]\nsource = \"%s\"\nenvironment = { %s }\n",
                  channel, id, id, guest, env ? env : "");
}

static bool start(zh_test_cli_server *s, const char *name, const char *dir) {
  char rc[PATH_MAX + 32];
  snprintf(rc, sizeof rc, "%s/rc.toml", dir);
  const char *argv[] = {"up", "-f", dir, "--listen", "127.0.0.1:0", "--runtime-config-file",
                        rc,   NULL};
  int st = -1;
  bool ok = zh_test_cli_start(s, tmpdir, name, argv, NULL, SERVING, START_LIMIT_MS, &st);
  if (!ok) {
    char *e = zh_test_cli_err(s);
    fprintf(stderr, "  %s: zerohop up did not start (exit %d): %s\n", name, st, e);
    free(e);
  }
  return ok;
}

/* GET /pub?QUERY: the status, and the body in `body`. */
static int publish(uint16_t port, const char *query, char *body, size_t cap) {
  char path[256];
  snprintf(path, sizeof path, "/pub?%.200s", query);
  zh_hc_response r;
  int status = zh_hc_get(port, path, &r) ? r.status : -1;
  snprintf(body, cap, "%s", r.body ? r.body : "");
  zh_hc_response_free(&r);
  return status;
}

/* Occurrences of `needle` in the server's log. */
static int log_count(const zh_test_cli_server *s, const char *needle) {
  char *log = zh_test_cli_err(s);
  int n = 0;
  for (const char *p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  free(log);
  return n;
}

/* Waits until the log holds `needle` at least `want` times; then the count. */
static int wait_count(const zh_test_cli_server *s, const char *needle, int want) {
  double t0 = zh_test_now_ms();
  int n;
  while ((n = log_count(s, needle)) < want && zh_test_now_ms() - t0 < WAIT_MS) {
    struct timespec nap = {0, 20000000};
    nanosleep(&nap, NULL);
  }
  return n;
}

static void pause_ms(long ms) {
  struct timespec nap = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&nap, NULL);
}

/* Checks that `id` handled TAG:1 .. TAG:n exactly once each, in that order. */
static void check_sequence(const zh_test_cli_server *s, const char *id, const char *tag, int n) {
  char *log = zh_test_cli_err(s);
  char prefix[128];
  int len = snprintf(prefix, sizeof prefix, "[%s] got %s:", id, tag);
  int next = 1;
  bool ordered = true;
  for (const char *p = log; (p = strstr(p, prefix)) != NULL; p += len) {
    int seq = atoi(p + len);
    if (seq != next) {
      fprintf(stderr, "  %s: got %s:%d where %s:%d was due\n", id, tag, seq, tag, next);
      ordered = false;
      break;
    }
    next++;
  }
  CHECK(ordered);
  CHECK_EQ_INT(next - 1, n);
  free(log);
}

/* ---- local: no Redis anywhere ---- */

static void test_local_without_redis(void) {
  unsigned port = zh_test_free_port(); /* nothing listens there */
  char toml[8192], dir[PATH_MAX];
  int n = app_head(toml, sizeof toml, port);
  n += app_sub(toml + n, sizeof toml - (size_t)n, "a", "orders", NULL);
  app_sub(toml + n, sizeof toml - (size_t)n, "b", "orders", NULL);
  write_file("local", "spin.toml", dir, sizeof dir, "%s", toml);
  write_file("local", "rc.toml", dir, sizeof dir,
             "[zerohop.channels.orders]\ntransport = \"local\"\n");
  zh_test_cli_server s;
  if (!start(&s, "local", dir)) {
    CHECK(false);
    return;
  }
  CHECK(strstr(s.out, "a: redis channel `orders` on the local bus\n") != NULL);
  char body[2048];
  CHECK_EQ_INT(publish(s.port, "channel=orders&n=5&tag=loc", body, sizeof body), 200);
  CHECK(strstr(body, "published 5 of 5") != NULL);
  CHECK_EQ_INT(wait_count(&s, "[a] got loc:", 5), 5);
  CHECK_EQ_INT(wait_count(&s, "[b] got loc:", 5), 5);
  check_sequence(&s, "a", "loc", 5);
  check_sequence(&s, "b", "loc", 5);
  /* never subscribed to Redis for the local channel (the trigger would log its attempts) */
  CHECK_EQ_INT(log_count(&s, "redis trigger:"), 0);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

/* ---- redis and both, with a real redis-server and an external subscriber ---- */

typedef struct cli_sub {
  uint16_t port;
  zh_test_proc proc;
} cli_sub;

/* `redis-cli SUBSCRIBE mirrored plain` for a few seconds; what it printed is in proc.out. */
static void *cli_sub_main(void *arg) {
  cli_sub *c = arg;
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)c->port);
  const char *argv[] = {"/usr/bin/redis-cli", "-p", port, "SUBSCRIBE", "mirrored", "plain", NULL};
  zh_test_spawn(argv, NULL, NULL, 0, 6000, &c->proc);
  return NULL;
}

static long long redis_int(redisContext *rc, const char *fmt, const char *arg) {
  redisReply *r = redisCommand(rc, fmt, arg);
  long long v = -1;
  if (r && r->type == REDIS_REPLY_INTEGER)
    v = r->integer;
  else if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
           r->element[1]->type == REDIS_REPLY_INTEGER)
    v = r->element[1]->integer; /* PUBSUB NUMSUB channel */
  freeReplyObject(r);
  return v;
}

static void test_redis_and_both(void) {
  zh_test_redis redis = {0};
  if (!zh_test_redis_start(&redis)) {
    CHECK(false);
    return;
  }
  char toml[8192], dir[PATH_MAX];
  int n = app_head(toml, sizeof toml, redis.port);
  n += app_sub(toml + n, sizeof toml - (size_t)n, "a", "plain", NULL);
  n += app_sub(toml + n, sizeof toml - (size_t)n, "b", "mirrored", NULL);
  app_sub(toml + n, sizeof toml - (size_t)n, "c", "mirrored", NULL);
  write_file("both", "spin.toml", dir, sizeof dir, "%s", toml);
  write_file("both", "rc.toml", dir, sizeof dir,
             "[zerohop.channels.mirrored]\ntransport = \"both\"\n"
             "[zerohop.channels.plain]\ntransport = \"redis\"\n");
  zh_test_cli_server s;
  redisContext *rc = redisConnect("127.0.0.1", redis.port);
  if (!rc || rc->err || !start(&s, "both", dir)) {
    CHECK(false);
    if (rc)
      redisFree(rc);
    zh_test_redis_stop(&redis);
    return;
  }
  char line[200];
  snprintf(line, sizeof line,
           "b: redis channel `mirrored` on the local bus, mirrored at "
           "redis://127.0.0.1:%u\n",
           (unsigned)redis.port);
  CHECK(strstr(s.out, line) != NULL);
  snprintf(line, sizeof line, "a: redis channel `plain` at redis://127.0.0.1:%u\n",
           (unsigned)redis.port);
  CHECK(strstr(s.out, line) != NULL);
  cli_sub sub = {.port = redis.port};
  pthread_t t;
  pthread_create(&t, NULL, cli_sub_main, &sub);
  /* the app's trigger and redis-cli both subscribed */
  double t0 = zh_test_now_ms();
  while ((redis_int(rc, "PUBSUB NUMSUB %s", "mirrored") < 2 ||
          redis_int(rc, "PUBSUB NUMSUB %s", "plain") < 2) &&
         zh_test_now_ms() - t0 < WAIT_MS)
    pause_ms(20);
  CHECK_EQ_INT(redis_int(rc, "PUBSUB NUMSUB %s", "mirrored"), 2);

  char body[2048];
  /* redis: through the server, as under Spin */
  CHECK_EQ_INT(publish(s.port, "channel=plain&n=3&tag=p", body, sizeof body), 200);
  CHECK_EQ_INT(wait_count(&s, "[a] got p:", 3), 3);
  /* both: handled locally once by each subscriber, and seen outside */
  CHECK_EQ_INT(publish(s.port, "channel=mirrored&n=3&tag=m", body, sizeof body), 200);
  CHECK_EQ_INT(wait_count(&s, "[b] got m:", 3), 3);
  CHECK_EQ_INT(wait_count(&s, "[c] got m:", 3), 3);
  /* an external publisher on the both channel reaches the app's subscribers too, once */
  CHECK_EQ_INT(redis_int(rc, "PUBLISH mirrored %s", "ext:1"), 2);
  CHECK_EQ_INT(wait_count(&s, "[b] got ext:1", 1), 1);
  CHECK_EQ_INT(wait_count(&s, "[c] got ext:1", 1), 1);
  pause_ms(500); /* the mirrored copies came back from Redis by now: none was handled again */
  check_sequence(&s, "b", "m", 3);
  check_sequence(&s, "c", "m", 3);
  check_sequence(&s, "a", "p", 3);
  CHECK_EQ_INT(log_count(&s, "[b] got ext:1"), 1);
  pthread_join(t, NULL);
  const char *out = sub.proc.out ? sub.proc.out : "";
  CHECK(strstr(out, "m:1") && strstr(out, "m:2") && strstr(out, "m:3"));
  CHECK(strstr(out, "p:1") && strstr(out, "p:3"));
  if (!strstr(out, "m:3"))
    fprintf(stderr, "  redis-cli saw:\n%s\n", out);
  zh_test_proc_free(&sub.proc);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  redisFree(rc);
  zh_test_redis_stop(&redis);
}

/* ---- guarantees, on local channels ---- */

static void test_backpressure(void) {
  unsigned port = zh_test_free_port();
  char toml[8192], dir[PATH_MAX];
  int n = app_head(toml, sizeof toml, port);
  app_sub(toml + n, sizeof toml - (size_t)n, "slow", "slow", "SLEEP_MS = \"300\"");
  write_file("backpressure", "spin.toml", dir, sizeof dir, "%s", toml);
  write_file("backpressure", "rc.toml", dir, sizeof dir,
             "[zerohop.channels.slow]\ntransport = \"local\"\nqueue = 2\n"
             "publish_timeout_ms = 100\n");
  zh_test_cli_server s;
  if (!start(&s, "backpressure", dir)) {
    CHECK(false);
    return;
  }
  char body[2048];
  CHECK_EQ_INT(publish(s.port, "channel=slow&n=10&tag=bp", body, sizeof body), 503);
  CHECK(strstr(body, "bus: channel `slow`: a subscriber's queue is full (2 events) for 100 ms"));
  int accepted = -1;
  sscanf(body, "published %d of 10", &accepted);
  /* two queued, one being handled, maybe one more taken while the publisher waited */
  CHECK(accepted >= 2 && accepted <= 4);
  /* every accepted event is handled: nothing was dropped */
  CHECK_EQ_INT(wait_count(&s, "[slow] got bp:", accepted), accepted);
  pause_ms(400);
  CHECK_EQ_INT(log_count(&s, "[slow] got bp:"), accepted);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

static void test_ordering(void) {
  unsigned port = zh_test_free_port();
  char toml[8192], dir[PATH_MAX];
  int n = app_head(toml, sizeof toml, port);
  n += app_sub(toml + n, sizeof toml - (size_t)n, "x", "seq", NULL);
  app_sub(toml + n, sizeof toml - (size_t)n, "y", "seq", "SLEEP_MS = \"1\"");
  write_file("ordering", "spin.toml", dir, sizeof dir, "%s", toml);
  write_file("ordering", "rc.toml", dir, sizeof dir,
             "[zerohop.channels.seq]\ntransport = \"local\"\nqueue = 16\n"
             "publish_timeout_ms = 20000\n");
  zh_test_cli_server s;
  if (!start(&s, "ordering", dir)) {
    CHECK(false);
    return;
  }
  char body[2048];
  /* two requests one after the other: 2 x 100 events through a 16-event queue */
  CHECK_EQ_INT(publish(s.port, "channel=seq&n=100&tag=s", body, sizeof body), 200);
  CHECK_EQ_INT(wait_count(&s, "[x] got s:", 100), 100);
  CHECK_EQ_INT(wait_count(&s, "[y] got s:", 100), 100);
  check_sequence(&s, "x", "s", 100);
  check_sequence(&s, "y", "s", 100);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

static void test_dead_letter(void) {
  unsigned port = zh_test_free_port();
  char toml[8192], dir[PATH_MAX];
  int n = app_head(toml, sizeof toml, port);
  n += app_sub(toml + n, sizeof toml - (size_t)n, "worker", "jobs", "FAIL_ON = \"bad\"");
  n += app_sub(toml + n, sizeof toml - (size_t)n, "dlq", "jobs.dlq", NULL);
  app_sub(toml + n, sizeof toml - (size_t)n, "trapper", "traps", "TRAP_ON = \"boom\"");
  write_file("deadletter", "spin.toml", dir, sizeof dir, "%s", toml);
  write_file("deadletter", "rc.toml", dir, sizeof dir,
             "[zerohop.channels.jobs]\ntransport = \"local\"\nretries = 2\n"
             "dead_letter = \"jobs.dlq\"\n"
             "[zerohop.channels.\"jobs.dlq\"]\ntransport = \"local\"\n"
             "[zerohop.channels.traps]\ntransport = \"local\"\nretries = 0\n");
  zh_test_cli_server s;
  if (!start(&s, "deadletter", dir)) {
    CHECK(false);
    return;
  }
  char body[2048];
  CHECK_EQ_INT(publish(s.port, "channel=jobs&n=1&tag=bad", body, sizeof body), 200);
  CHECK_EQ_INT(wait_count(&s, "[dlq] got bad:1", 1), 1);
  /* the first attempt and exactly two retries, then the log line, then the delivery */
  CHECK_EQ_INT(log_count(&s, "[worker] attempt bad:1"), 3);
  CHECK_EQ_INT(log_count(&s, "`worker` failed (attempt 3 of 3)"), 1);
  CHECK_EQ_INT(log_count(&s, "bus: channel `jobs`: event of 5 bytes from `pub` failed in "
                             "`worker` 3 times (it answered an error); dead-lettered to "
                             "`jobs.dlq`"),
               1);
  /* a good event is handled and not dead-lettered */
  CHECK_EQ_INT(publish(s.port, "channel=jobs&n=1&tag=good", body, sizeof body), 200);
  CHECK_EQ_INT(wait_count(&s, "[worker] got good:1", 1), 1);
  /* a trap with no retries: one attempt, the default dead-letter channel, logged only */
  CHECK_EQ_INT(publish(s.port, "channel=traps&n=1&tag=boom", body, sizeof body), 200);
  CHECK_EQ_INT(wait_count(&s, "dead-lettered to `traps.dead-letter`", 1), 1);
  CHECK_EQ_INT(log_count(&s, "[trapper] attempt boom:1"), 1);
  CHECK_EQ_INT(log_count(&s, "[dlq] got"), 1);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

static void test_drain(void) {
  unsigned port = zh_test_free_port();
  char toml[8192], dir[PATH_MAX];
  int n = app_head(toml, sizeof toml, port);
  app_sub(toml + n, sizeof toml - (size_t)n, "s", "drain", "SLEEP_MS = \"20\"");
  write_file("drain", "spin.toml", dir, sizeof dir, "%s", toml);
  write_file("drain", "rc.toml", dir, sizeof dir,
             "[zerohop]\ndrain_timeout_ms = 30000\n"
             "[zerohop.channels.drain]\ntransport = \"local\"\n");
  zh_test_cli_server s;
  if (!start(&s, "drain", dir)) {
    CHECK(false);
    return;
  }
  char body[2048];
  CHECK_EQ_INT(publish(s.port, "channel=drain&n=60&tag=d", body, sizeof body), 200);
  /* SIGTERM at once: 60 x 20 ms are still queued */
  int handled_before = log_count(&s, "[s] got d:");
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  CHECK(handled_before < 60);
  CHECK_EQ_INT(log_count(&s, "[s] got d:"), 60);
  check_sequence(&s, "s", "d", 60);
  CHECK_EQ_INT(log_count(&s, "bus: drained"), 1);
}

/* ---- runtime config errors stop `zerohop up` with FILE:LINE:COL ---- */

static void test_config_error(void) {
  char toml[8192], dir[PATH_MAX];
  int n = app_head(toml, sizeof toml, 6379);
  app_sub(toml + n, sizeof toml - (size_t)n, "a", "orders", NULL);
  write_file("badrc", "spin.toml", dir, sizeof dir, "%s", toml);
  write_file("badrc", "rc.toml", dir, sizeof dir,
             "[zerohop.channels.orders]\ntransport = \"local\"\nqueue = 0\n");
  char rc[PATH_MAX + 32];
  snprintf(rc, sizeof rc, "%s/rc.toml", dir);
  zh_test_cli_server s;
  const char *argv[] = {"up", "-f", dir, "--listen", "127.0.0.1:0", "--runtime-config-file",
                        rc,   NULL};
  int st = -1;
  CHECK(!zh_test_cli_start(&s, tmpdir, "badrc", argv, NULL, SERVING, START_LIMIT_MS, &st));
  CHECK_EQ_INT(st, 1);
  char want[PATH_MAX + 128];
  snprintf(want, sizeof want,
           "%s:3:9: `queue` in [zerohop.channels.orders] must be from 1 to "
           "1000000",
           rc);
  CHECK_EQ_INT(log_count(&s, want), 1);
}

/* ---- the bus's hops and its closing, through its own interface ---- */

static bool count_handle(void *env, const char *component, const char *channel,
                         const uint8_t *payload, size_t len, char *why, size_t whylen) {
  (void)component, (void)channel, (void)payload, (void)why, (void)whylen;
  *(size_t *)env += len; /* one worker: no race */
  return true;
}

static void find_edge(void *env, const zh_hop_edge *e) {
  if (e->kind == ZH_HOP_BUS && strcmp(e->caller, "pub") == 0 && strcmp(e->callee, "sub") == 0)
    *(zh_hop_edge *)env = *e;
}

static void test_hops_and_close(void) {
  static const char text[] = "[zerohop.channels.c]\ntransport = \"local\"\n";
  zh_runtime_config *rc = NULL;
  zh_hops *hops = NULL;
  zh_host_bus *bus = NULL;
  size_t bytes = 0;
  zh_host_bus_trigger trig = {"sub", "c", NULL};
  zh_host_bus_config cfg = {
      .triggers = &trig, .ntriggers = 1, .handle = count_handle, .handle_env = &bytes};
  zh_error *err = zh_runtime_config_parse(text, strlen(text), "rc.toml", "/", &rc);
  cfg.rc = rc;
  if (!err)
    err = zh_hops_new(&hops);
  cfg.hops = hops;
  if (!err)
    err = zh_host_bus_new(&cfg, &bus);
  if (!err)
    err = zh_host_bus_start(bus);
  CHECK(!err && bus);
  uint8_t payload[100] = {0};
  char why[256];
  for (int i = 0; bus && i < 3; i++)
    CHECK(zh_host_bus_publish(bus, "pub", "c", 1, payload, sizeof payload, 0, NULL, NULL, why,
                              sizeof why));
  zh_host_bus_drain(bus); /* returns once the three are handled */
  CHECK_EQ_INT(bytes, 300);
  zh_hop_edge e = {0};
  zh_hops_each(hops, find_edge, &e);
  CHECK_EQ_INT(e.count, 3);
  CHECK_EQ_INT(e.bytes, 300);
  CHECK_EQ_INT(e.errors, 0);
  /* closed: publishing is refused with a reason */
  CHECK(bus &&
        !zh_host_bus_publish(bus, "pub", "c", 1, payload, 1, 0, NULL, NULL, why, sizeof why));
  CHECK(strstr(why, "closed") != NULL);
  /* a channel of transport redis, or none, is not the bus's */
  CHECK(zh_host_bus_route_of(bus, "c", 1) == ZH_HOST_BUS_LOCAL);
  CHECK(zh_host_bus_route_of(bus, "other", 5) == ZH_HOST_BUS_REDIS);
  zh_error_free(err);
  zh_host_bus_free(bus);
  zh_hops_free(hops);
  zh_runtime_config_free(rc);
}

/* ---- many publishers on full queues: each freed slot wakes a waiter ---- */

#define PUBLISHERS 8
#define PER_PUBLISHER 100

/* What one subscriber saw: per publisher, the next sequence number due. Each subscriber is
 * one worker, so its counts need no lock. */
typedef struct seen {
  int next[PUBLISHERS];
  int handled, out_of_order;
} seen;

typedef struct seen_all {
  seen s1, s2;
} seen_all;

static bool seq_handle(void *env, const char *component, const char *channel,
                       const uint8_t *payload, size_t len, char *why, size_t whylen) {
  (void)channel, (void)why, (void)whylen;
  seen_all *all = env;
  seen *s = strcmp(component, "s2") == 0 ? &all->s2 : &all->s1;
  char text[32];
  snprintf(text, sizeof text, "%.*s", (int)len, (const char *)payload);
  int p = -1, seq = -1;
  if (sscanf(text, "%d:%d", &p, &seq) != 2 || p < 0 || p >= PUBLISHERS || seq != s->next[p])
    s->out_of_order++;
  else
    s->next[p]++;
  s->handled++;
  return true;
}

typedef struct publisher {
  zh_host_bus *bus;
  const char *channel;
  int id, ok;
} publisher;

static void *publisher_main(void *arg) {
  publisher *p = arg;
  for (int i = 0; i < PER_PUBLISHER; i++) {
    char payload[32], why[256];
    int n = snprintf(payload, sizeof payload, "%d:%d", p->id, i);
    p->ok +=
        zh_host_bus_publish(p->bus, "pub", p->channel, strlen(p->channel), (const uint8_t *)payload,
                            (size_t)n, 0, NULL, NULL, why, sizeof why);
  }
  return NULL;
}

/* 8 publishers x 100 events through a one-event queue (one subscriber) and a two-event
 * queue (two subscribers): every publish succeeds, each subscriber sees each publisher's
 * events once and in order, and no publisher sleeps to its 30 s timeout (a wake-up lost
 * when a slot frees would leave one waiting there). */
static void test_many_publishers(void) {
  static const char text[] = "[zerohop.channels.one]\ntransport = \"local\"\nqueue = 1\n"
                             "publish_timeout_ms = 30000\n"
                             "[zerohop.channels.two]\ntransport = \"local\"\nqueue = 2\n"
                             "publish_timeout_ms = 30000\n";
  const char *channels[] = {"one", "two"};
  for (int c = 0; c < 2; c++) {
    zh_runtime_config *rc = NULL;
    zh_host_bus *bus = NULL;
    seen_all all;
    memset(&all, 0, sizeof all);
    zh_host_bus_trigger trig[] = {{"s1", channels[c], NULL}, {"s2", channels[c], NULL}};
    zh_host_bus_config cfg = {
        .triggers = trig, .ntriggers = (size_t)c + 1, .handle = seq_handle, .handle_env = &all};
    zh_error *err = zh_runtime_config_parse(text, strlen(text), "rc.toml", "/", &rc);
    cfg.rc = rc;
    if (!err)
      err = zh_host_bus_new(&cfg, &bus);
    if (!err)
      err = zh_host_bus_start(bus);
    CHECK(!err && bus);
    zh_error_free(err);
    double t0 = zh_test_now_ms();
    publisher pubs[PUBLISHERS];
    pthread_t threads[PUBLISHERS];
    for (int i = 0; bus && i < PUBLISHERS; i++) {
      pubs[i] = (publisher){.bus = bus, .channel = channels[c], .id = i};
      pthread_create(&threads[i], NULL, publisher_main, &pubs[i]);
    }
    for (int i = 0; bus && i < PUBLISHERS; i++) {
      pthread_join(threads[i], NULL);
      CHECK_EQ_INT(pubs[i].ok, PER_PUBLISHER);
    }
    zh_host_bus_drain(bus);
    CHECK(zh_test_now_ms() - t0 < 15000);
    for (int k = 0; k <= c; k++) {
      const seen *s = k ? &all.s2 : &all.s1;
      CHECK_EQ_INT(s->handled, PUBLISHERS * PER_PUBLISHER);
      CHECK_EQ_INT(s->out_of_order, 0);
    }
    zh_host_bus_free(bus);
    zh_runtime_config_free(rc);
  }
}

/* ---- a drain that times out in the middle of a batch ---- */

typedef struct slow_log {
  int handled;
  char lines[4][300];
  int nlines;
} slow_log;

static bool slow_handle(void *env, const char *component, const char *channel,
                        const uint8_t *payload, size_t len, char *why, size_t whylen) {
  (void)component, (void)channel, (void)payload, (void)len, (void)why, (void)whylen;
  pause_ms(20);
  ((slow_log *)env)->handled++; /* one worker */
  return true;
}

static void keep_log(void *env, const char *line) {
  slow_log *l = env;
  if (l->nlines < 4)
    snprintf(l->lines[l->nlines++], sizeof l->lines[0], "%s", line);
}

/* 30 events queued before the worker starts, so it takes them as one batch; 20 ms each and
 * a 150 ms drain timeout: the drain stops the batch between two events and reports (and
 * frees) exactly the events not handled. */
static void test_drain_mid_batch(void) {
  static const char text[] = "[zerohop]\ndrain_timeout_ms = 150\n"
                             "[zerohop.channels.c]\ntransport = \"local\"\nqueue = 64\n";
  zh_runtime_config *rc = NULL;
  zh_host_bus *bus = NULL;
  slow_log log;
  memset(&log, 0, sizeof log);
  zh_host_bus_trigger trig = {"sub", "c", NULL};
  zh_host_bus_config cfg = {.triggers = &trig,
                            .ntriggers = 1,
                            .handle = slow_handle,
                            .handle_env = &log,
                            .log = keep_log,
                            .log_env = &log};
  zh_error *err = zh_runtime_config_parse(text, strlen(text), "rc.toml", "/", &rc);
  cfg.rc = rc;
  if (!err)
    err = zh_host_bus_new(&cfg, &bus);
  CHECK(!err && bus);
  zh_error_free(err);
  char why[256];
  for (int i = 0; bus && i < 30; i++)
    CHECK(zh_host_bus_publish(bus, "pub", "c", 1, (const uint8_t *)"x", 1, 0, NULL, NULL, why,
                              sizeof why));
  if (bus)
    CHECK((err = zh_host_bus_start(bus)) == NULL);
  zh_error_free(err);
  zh_host_bus_drain(bus);
  CHECK(log.handled > 0 && log.handled < 30); /* not the whole batch */
  char want[200];
  snprintf(want, sizeof want,
           "bus: channel `c`: %d event%s for `sub` not handled (the drain timeout passed)",
           30 - log.handled, 30 - log.handled == 1 ? "" : "s");
  CHECK_EQ_INT(log.nlines, 1);
  CHECK(log.nlines == 1 && strcmp(log.lines[0], want) == 0);
  if (log.nlines != 1 || strcmp(log.lines[0], want) != 0)
    fprintf(stderr, "  want: %s\n  got:  %s\n", want, log.nlines ? log.lines[0] : "(nothing)");
  zh_host_bus_free(bus);
  zh_runtime_config_free(rc);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/zh-bus-XXXXXX");
  if (!mkdtemp(tmpdir) || !realpath("build/components/host/bus_guest.wasm", guest)) {
    fprintf(stderr, "no build/components/host/bus_guest.wasm (run `make components`)\n");
    CHECK(false);
    TEST_SUMMARY();
  }
  signal(SIGPIPE, SIG_IGN);
  test_hops_and_close();
  test_many_publishers();
  test_drain_mid_batch();
  test_config_error();
  test_local_without_redis();
  test_backpressure();
  test_ordering();
  test_dead_letter();
  test_drain();
  test_redis_and_both();
  TEST_SUMMARY();
}
