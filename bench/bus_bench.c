/* make bench-hops-bus: how long an event takes from publish to handled, on the in-process
 * bus (src/host/bus.c: a `local` channel, one subscriber) and through a real Redis pub/sub
 * round trip (PUBLISH on one loopback connection, read by a SUBSCRIBEd one), with the same
 * 1 KiB payload, one event in flight at a time.
 *
 * Both sides time the transport alone: the subscriber is a host callback that reads the
 * payload and signals the publisher through the same mutex and condition variable, so the
 * guest call that a real subscriber adds (the same for both) is left out. Rounds alternate
 * between the two so that the shared machine's noise falls on both alike. Prints
 * `bus: median N us p99 N us`, the same for redis, and the ratio of the medians. */
#include "host/bus.h"
#include "testutil.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYLOAD 1024
#define ROUNDS 10
#define PER_ROUND 500
#define WARMUP 200

typedef struct signal_box {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  uint64_t handled; /* events the subscriber has seen */
  uint64_t sum;     /* a byte of each payload, so the read is not optimised away */
} signal_box;

static signal_box box = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void seen(const uint8_t *payload, size_t len) {
  pthread_mutex_lock(&box.lock);
  box.sum += len ? payload[len - 1] : 0;
  box.handled++;
  pthread_cond_signal(&box.cond);
  pthread_mutex_unlock(&box.lock);
}

static void wait_handled(uint64_t want) {
  pthread_mutex_lock(&box.lock);
  while (box.handled < want)
    pthread_cond_wait(&box.cond, &box.lock);
  pthread_mutex_unlock(&box.lock);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* ---- the bus ---- */

static bool bus_handle(void *env, const char *component, const char *channel,
                       const uint8_t *payload, size_t len, char *why, size_t whylen) {
  (void)env, (void)component, (void)channel, (void)why, (void)whylen;
  seen(payload, len);
  return true;
}

static uint64_t bus_once(zh_host_bus *bus, const uint8_t *payload) {
  uint64_t want = box.handled + 1, t0 = now_ns();
  char why[256];
  if (!zh_host_bus_publish(bus, "pub", "bench", 5, payload, PAYLOAD, 0, NULL, NULL, why,
                           sizeof why)) {
    fprintf(stderr, "bench-hops-bus: %s\n", why);
    exit(1);
  }
  wait_handled(want);
  return now_ns() - t0;
}

/* ---- Redis ---- */

static void *redis_sub_main(void *arg) {
  redisContext *c = arg;
  void *reply;
  while (redisGetReply(c, &reply) == REDIS_OK) {
    redisReply *r = reply;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[2]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "message") == 0) {
      bool stop = r->element[2]->len == 4 && memcmp(r->element[2]->str, "stop", 4) == 0;
      if (!stop)
        seen((const uint8_t *)r->element[2]->str, r->element[2]->len);
      freeReplyObject(r);
      if (stop)
        break;
      continue;
    }
    freeReplyObject(r);
  }
  return NULL;
}

static uint64_t redis_once(redisContext *pub, const uint8_t *payload) {
  uint64_t want = box.handled + 1, t0 = now_ns();
  redisReply *r = redisCommand(pub, "PUBLISH bench %b", payload, (size_t)PAYLOAD);
  if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
    fprintf(stderr, "bench-hops-bus: PUBLISH failed\n");
    exit(1);
  }
  freeReplyObject(r);
  wait_handled(want);
  return now_ns() - t0;
}

static void report(const char *name, uint64_t *ns, size_t n, double *median) {
  qsort(ns, n, sizeof *ns, cmp_u64);
  *median = ns[n / 2] / 1000.0;
  printf("%s: median %.1f us p99 %.1f us\n", name, *median, ns[n * 99 / 100] / 1000.0);
}

int main(void) {
  static uint8_t payload[PAYLOAD];
  for (size_t i = 0; i < PAYLOAD; i++)
    payload[i] = (uint8_t)('a' + i % 26);
  static const char rc_text[] = "[zerohop.channels.bench]\ntransport = \"local\"\n";
  zh_runtime_config *rc = NULL;
  zh_host_bus *bus = NULL;
  zh_host_bus_trigger trig = {"sub", "bench", NULL};
  zh_error *err = zh_runtime_config_parse(rc_text, strlen(rc_text), "bench.toml", "/", &rc);
  zh_host_bus_config cfg = {.rc = rc, .triggers = &trig, .ntriggers = 1, .handle = bus_handle};
  if (!err)
    err = zh_host_bus_new(&cfg, &bus);
  if (!err)
    err = zh_host_bus_start(bus);
  if (err) {
    fprintf(stderr, "bench-hops-bus: %s\n", zh_error_message(err));
    return 1;
  }
  zh_test_redis redis = {0};
  if (!zh_test_redis_start(&redis)) {
    fprintf(stderr, "bench-hops-bus: redis-server did not start\n");
    return 1;
  }
  redisContext *pub = redisConnect("127.0.0.1", redis.port);
  redisContext *sub = redisConnect("127.0.0.1", redis.port);
  redisReply *r = sub && !sub->err ? redisCommand(sub, "SUBSCRIBE bench") : NULL;
  if (!pub || pub->err || !r) {
    fprintf(stderr, "bench-hops-bus: cannot connect to redis-server\n");
    zh_test_redis_stop(&redis);
    return 1;
  }
  freeReplyObject(r);
  pthread_t t;
  pthread_create(&t, NULL, redis_sub_main, sub);

  for (int i = 0; i < WARMUP; i++) {
    bus_once(bus, payload);
    redis_once(pub, payload);
  }
  static uint64_t bus_ns[ROUNDS * PER_ROUND], redis_ns[ROUNDS * PER_ROUND];
  size_t n = 0;
  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < PER_ROUND; i++)
      bus_ns[n + (size_t)i] = bus_once(bus, payload);
    for (int i = 0; i < PER_ROUND; i++)
      redis_ns[n + (size_t)i] = redis_once(pub, payload);
    n += PER_ROUND;
  }
  freeReplyObject(redisCommand(pub, "PUBLISH bench stop"));
  pthread_join(t, NULL);
  double bm, rm;
  printf("bench-hops-bus: %zu events of %d bytes each way, one in flight, rounds alternating\n", n,
         PAYLOAD);
  report("bus", bus_ns, n, &bm);
  report("redis", redis_ns, n, &rm);
  printf("bench-hops-bus: the local bus is %.1fx faster than a Redis round trip (medians)\n",
         rm / bm);
  redisFree(pub);
  redisFree(sub);
  zh_test_redis_stop(&redis);
  zh_host_bus_free(bus);
  zh_runtime_config_free(rc);
  return box.sum == 0; /* never: every payload ends in a letter */
}
