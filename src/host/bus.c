/* The in-process event bus (bus.h): per-subscriber bounded rings of shared, reference-counted
 * events, one worker thread per subscriber, and one lock for the whole bus.
 *
 * One lock is enough: it is held only to move pointers in and out of rings, never while a
 * guest runs or Redis is asked. Publishing is all or nothing: the publisher waits until every
 * subscriber of the channel has room, reserves it (`reserved`, so a second publisher cannot
 * take it while the first mirrors to Redis unlocked), then queues the event everywhere at
 * once. Workers take the head of their own ring, up to BATCH events per lock hold, and handle
 * them in that order, so a subscriber's events keep publish order even across retries (the
 * next event waits for the current one's last attempt).
 *
 * Waking: under load every publisher may be waiting for room. Waiters queue in arrival order,
 * each on its own condition, and only the head may take room; a publisher that finds others
 * waiting queues behind them even when there is room. So room goes first come, first served:
 * when latecomers could take a slot that a woken waiter had not reached yet, a few requests
 * lost round after round until their deadline (p99 about 300 ms under wrk -c64 on the
 * orders example; about 10 ms in order). One freed slot wakes one thread. A worker that
 * frees slots of a full ring wakes the head; a head that leaves, with its slot or at its
 * deadline, wakes the next when there is room beyond its own. On a channel with several
 * subscribers the head may be blocked by another ring; it is woken again when that ring
 * frees a slot. */
#include "host/bus.h"

#include "host/hops.h"
#include "wasm/error.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ECHO_TTL_NS 5000000000ull /* an echo that never came back is forgotten after this */
#define BATCH 32u                 /* events a worker takes off its ring per lock hold */
#define REDIS_TIMEOUT_MS 1000     /* the bus's own PUBLISH of a dead letter */

typedef struct bus_event {
  atomic_uint refs;
  bool dead; /* a dead letter: never dead-lettered again */
  uint64_t t0;
  const char *publisher; /* inside the allocation, after the payload */
  size_t len;
  uint8_t data[];
} bus_event;

typedef struct echo {
  uint64_t hash, expires;
  size_t len;
} echo;

struct bus_channel;

/* A ring slot (a struct, so that arrays of it are not arrays of bare pointers). */
typedef struct ring_slot {
  bus_event *ev;
} ring_slot;

typedef struct bus_sub {
  struct zh_host_bus *bus;
  struct bus_channel *ch;
  char *component;
  zh_host_redis_address addr; /* its trigger's Redis, for echoes */
  bool has_addr;
  ring_slot *ring; /* ch->queue slots */
  uint32_t head, count;
  bool busy; /* handling events it took off the ring */
  /* Taken off the ring and not handled yet: held[next..nheld). Only the worker touches them
   * while it runs; drain reports and frees what is left after joining it. */
  bus_event *held[BATCH];
  uint32_t next, nheld;
  pthread_cond_t work;
  pthread_t thread;
  bool started;
  echo *echoes;
  size_t nechoes, echo_cap;
} bus_sub;

typedef struct bus_channel {
  char *name, *dead_letter;
  zh_runtime_transport transport;
  uint32_t queue, publish_timeout_ms, retries;
  uint32_t reserved; /* slots promised to publishers mirroring to Redis */
  size_t *subs;      /* indices into the bus's subs */
  size_t nsubs;
  struct room_waiter *wait_head, *wait_tail; /* publishers waiting for room, oldest first */
} bus_channel;

/* A thread waiting for room on a channel (on its stack, linked while it waits). */
typedef struct room_waiter {
  pthread_cond_t cond;
  const struct bus_sub *only; /* the one ring it waits for, or NULL: all of the channel's */
  struct room_waiter *next;
} room_waiter;

struct zh_host_bus {
  pthread_mutex_t lock;
  pthread_cond_t idle; /* a worker went idle */
  bus_channel *chans;
  size_t nchans;
  bus_sub *subs;
  size_t nsubs;
  zh_host_bus_trigger *triggers; /* copied, for the addresses of dead-letter channels */
  size_t ntriggers;
  zh_host_bus_handle_fn handle;
  void *handle_env;
  zh_host_redis_log_fn log;
  void *log_env;
  struct zh_hops *hops;
  uint32_t drain_timeout_ms;
  bool closed, drained;
  atomic_bool stopping; /* read by workers between the events of a batch, without the lock */
};

static void blog(const zh_host_bus *bus, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void blog(const zh_host_bus *bus, const char *fmt, ...) {
  char line[800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (bus->log)
    bus->log(bus->log_env, line);
  else
    fprintf(stderr, "%s\n", line);
}

static uint64_t now_ns(void) { return zh_hops_now_ns(); }

/* pthread_cond_timedwait takes CLOCK_REALTIME by default; the conds use CLOCK_MONOTONIC. */
static struct timespec abs_time(uint64_t ns) {
  return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
                           .tv_nsec = (long)(ns % 1000000000u)};
}

static void cond_init(pthread_cond_t *c) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static void event_unref(bus_event *ev) {
  if (ev && atomic_fetch_sub(&ev->refs, 1) == 1)
    free(ev);
}

static bus_event *event_new(const char *publisher, const uint8_t *payload, size_t len, bool dead) {
  size_t plen = strlen(publisher) + 1;
  if (len > SIZE_MAX - sizeof(bus_event) - plen)
    return NULL;
  bus_event *ev = malloc(sizeof *ev + len + plen);
  if (!ev)
    return NULL;
  atomic_init(&ev->refs, 1);
  ev->dead = dead;
  ev->t0 = now_ns();
  ev->len = len;
  if (len)
    memcpy(ev->data, payload, len);
  memcpy(ev->data + len, publisher, plen);
  ev->publisher = (const char *)ev->data + len;
  return ev;
}

static bus_channel *find_channel(const zh_host_bus *bus, const char *name, size_t len) {
  for (size_t i = 0; bus && i < bus->nchans; i++)
    if (strlen(bus->chans[i].name) == len && memcmp(bus->chans[i].name, name, len) == 0)
      return &bus->chans[i];
  return NULL;
}

/* The Redis address of the first trigger on `channel`, or NULL. */
static const char *trigger_address(const zh_host_bus *bus, const char *channel) {
  for (size_t i = 0; i < bus->ntriggers; i++)
    if (strcmp(bus->triggers[i].channel, channel) == 0 && bus->triggers[i].address)
      return bus->triggers[i].address;
  return NULL;
}

/* The i-th subscriber of channel `ch`. */
static bus_sub *sub_at(const zh_host_bus *bus, const bus_channel *ch, size_t i) {
  return &bus->subs[ch->subs[i]];
}

/* ---- queues (under the lock) ---- */

static bool has_room(const zh_host_bus *bus, const bus_channel *ch, const bus_sub *only) {
  for (size_t i = 0; i < ch->nsubs; i++) {
    const bus_sub *s = sub_at(bus, ch, i);
    if ((!only || s == only) && s->count + ch->reserved >= ch->queue)
      return false;
  }
  return true;
}

/* Wakes the oldest waiter of `ch` if the rings have room for it. Under the lock (a waiter's
 * condition lives on its stack only while it waits). */
static void wake_head(const zh_host_bus *bus, bus_channel *ch) {
  if (ch->wait_head && has_room(bus, ch, ch->wait_head->only))
    pthread_cond_signal(&ch->wait_head->cond);
}

static void link_waiter(bus_channel *ch, room_waiter *w) {
  if (ch->wait_tail)
    ch->wait_tail->next = w;
  else
    ch->wait_head = w;
  ch->wait_tail = w;
}

static void unlink_waiter(bus_channel *ch, room_waiter *w) {
  room_waiter **p = &ch->wait_head, *prev = NULL;
  while (*p && *p != w) {
    prev = *p;
    p = &(*p)->next;
  }
  if (!*p)
    return;
  *p = w->next;
  if (ch->wait_tail == w)
    ch->wait_tail = prev;
}

/* Waits for room until `until_ns` (0: not at all), first come first served (see the top of
 * the file). False when the bus closes or time is up. */
static bool wait_room(zh_host_bus *bus, bus_channel *ch, bus_sub *only, uint64_t until_ns) {
  if (bus->closed)
    return false;
  if (!ch->wait_head && has_room(bus, ch, only))
    return true;
  if (!until_ns || now_ns() >= until_ns)
    return false;
  room_waiter w = {.only = only, .next = NULL};
  cond_init(&w.cond);
  link_waiter(ch, &w); /* unlinked below, before w goes out of scope */
  struct timespec ts = abs_time(until_ns);
  bool ok;
  for (;;) {
    if (bus->closed) {
      ok = false;
      break;
    }
    if (ch->wait_head == &w && has_room(bus, ch, only)) {
      ok = true;
      break;
    }
    if (now_ns() >= until_ns) {
      ok = false;
      break;
    }
    pthread_cond_timedwait(&w.cond, &bus->lock, &ts);
  }
  unlink_waiter(ch, &w);
  pthread_cond_destroy(&w.cond);
  /* Pass the turn on if the rings hold more than the slot this thread is about to fill. */
  ch->reserved += ok;
  wake_head(bus, ch);
  ch->reserved -= ok;
  return ok;
}

static void push(bus_sub *s, bus_event *ev) {
  atomic_fetch_add(&ev->refs, 1);
  s->ring[(s->head + s->count) % s->ch->queue].ev = ev;
  s->count++;
  pthread_cond_signal(&s->work);
}

static uint64_t publish_deadline(const bus_channel *ch, uint64_t deadline_ns) {
  if (!ch->publish_timeout_ms)
    return 0;
  uint64_t until = now_ns() + (uint64_t)ch->publish_timeout_ms * 1000000u;
  return deadline_ns && deadline_ns < until ? deadline_ns : until;
}

/* ---- Redis, for dead letters the bus sends itself ---- */

static bool redis_publish(zh_host_bus *bus, const char *caller, const char *address,
                          const char *channel, const uint8_t *payload, size_t len) {
  zh_host_redis_address a;
  if (!zh_host_redis_parse_address(address, strlen(address), &a) ||
      strcmp(a.scheme, "redis") != 0) {
    blog(bus, "bus: channel `%s`: cannot publish to %s: not a redis:// address", channel, address);
    return false;
  }
  struct timeval tv = {.tv_sec = REDIS_TIMEOUT_MS / 1000,
                       .tv_usec = (suseconds_t)(REDIS_TIMEOUT_MS % 1000) * 1000};
  uint64_t t0 = now_ns();
  bool expected =
      zh_host_bus_expect_echo(bus, channel, strlen(channel), a.host, a.port, payload, len);
  redisContext *c = redisConnectWithTimeout(a.host, (int)a.port, tv);
  redisReply *reply = NULL;
  if (c && !c->err && a.has_pass) {
    const char *argv[3] = {"AUTH", a.user[0] ? a.user : a.pass, a.pass};
    size_t lens[3] = {4, strlen(argv[1]), strlen(a.pass)};
    freeReplyObject(zh_host_redis_command_argv(c, a.user[0] ? 3 : 2, argv, lens));
  }
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    const char *argv[3] = {"PUBLISH", channel, len ? (const char *)payload : ""};
    size_t lens[3] = {7, strlen(channel), len};
    reply = zh_host_redis_command_argv(c, 3, argv, lens);
  }
  bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
  if (expected && (!ok || reply->integer == 0))
    zh_host_bus_cancel_echo(bus, channel, strlen(channel), a.host, a.port, payload, len);
  if (!ok)
    blog(bus, "bus: channel `%s`: PUBLISH to %s failed: %s", channel, address,
         reply && reply->type == REDIS_REPLY_ERROR ? reply->str
         : c && c->err                             ? c->errstr
                                                   : "no reply");
  char callee[300]; /* named as the graph names it: redis:CHANNEL */
  snprintf(callee, sizeof callee, "redis:%s", channel);
  zh_hops_record(bus->hops, caller, callee, ZH_HOP_REDIS, now_ns() - t0, len, !ok);
  freeReplyObject(reply);
  if (c)
    redisFree(c);
  return ok;
}

/* ---- dead letters ---- */

/* Queues a dead letter on a bus channel, waiting for room up to its publish timeout. */
static bool queue_dead(zh_host_bus *bus, bus_channel *dl, const bus_event *ev) {
  bus_event *copy = event_new(ev->publisher, ev->data, ev->len, true);
  if (!copy)
    return false;
  pthread_mutex_lock(&bus->lock);
  bool ok = wait_room(bus, dl, NULL, publish_deadline(dl, 0));
  for (size_t i = 0; ok && i < dl->nsubs; i++)
    push(sub_at(bus, dl, i), copy);
  pthread_mutex_unlock(&bus->lock);
  event_unref(copy);
  return ok;
}

static void dead_letter(zh_host_bus *bus, bus_channel *ch, const char *component,
                        const bus_event *ev, const char *why) {
  if (ev->dead) {
    blog(bus,
         "bus: dead letter on `%s` (%zu bytes from `%s`) failed in `%s` too (%s); dropped: a "
         "dead letter is not dead-lettered again",
         ch->name, ev->len, ev->publisher, component, why);
    return;
  }
  blog(bus,
       "bus: channel `%s`: event of %zu bytes from `%s` failed in `%s` %u time%s (%s); "
       "dead-lettered to `%s`",
       ch->name, ev->len, ev->publisher, component, ch->retries + 1, ch->retries ? "s" : "", why,
       ch->dead_letter);
  bus_channel *dl = find_channel(bus, ch->dead_letter, strlen(ch->dead_letter));
  const char *address = trigger_address(bus, ch->dead_letter);
  if (!address)
    address = trigger_address(bus, ch->name);
  if (dl && dl->transport != ZH_RUNTIME_TRANSPORT_REDIS) {
    if (!queue_dead(bus, dl, ev))
      blog(bus, "bus: dead-letter channel `%s`: not queued (full or shutting down)", dl->name);
    if (dl->transport == ZH_RUNTIME_TRANSPORT_BOTH && address)
      redis_publish(bus, ev->publisher, address, dl->name, ev->data, ev->len);
  } else if ((dl || trigger_address(bus, ch->dead_letter)) && address) {
    redis_publish(bus, ev->publisher, address, ch->dead_letter, ev->data, ev->len);
  }
}

/* ---- workers ---- */

static void handle_event(bus_sub *s, bus_event *ev) {
  zh_host_bus *bus = s->bus;
  bus_channel *ch = s->ch;
  char why[512] = "";
  bool ok = false;
  for (uint32_t attempt = 0; !ok && attempt <= ch->retries; attempt++) {
    why[0] = 0;
    ok = bus->handle(bus->handle_env, s->component, ch->name, ev->data, ev->len, why, sizeof why);
    if (!ok)
      blog(bus, "bus: channel `%s`: `%s` failed (attempt %u of %u): %s", ch->name, s->component,
           attempt + 1, ch->retries + 1, why[0] ? why : "error");
  }
  zh_hops_record(bus->hops, ev->publisher, s->component, ZH_HOP_BUS, now_ns() - ev->t0, ev->len,
                 !ok);
  if (!ok)
    dead_letter(bus, ch, s->component, ev, why[0] ? why : "error");
}

static void *worker_main(void *arg) {
  bus_sub *s = arg;
  zh_host_bus *bus = s->bus;
  /* Named so that per-thread CPU (/proc/PID/task/TID/comm) can tell the subscribers apart. */
  char name[16];
  snprintf(name, sizeof name, "zh-bus:%.8s", s->component);
  pthread_setname_np(pthread_self(), name);
  bus_channel *ch = s->ch;
  pthread_mutex_lock(&bus->lock);
  for (;;) {
    while (!s->count && !atomic_load(&bus->stopping))
      pthread_cond_wait(&s->work, &bus->lock);
    if (atomic_load(&bus->stopping))
      break; /* drain has waited for the queues already; what is left is reported there */
    bool was_full = s->count + ch->reserved >= ch->queue;
    uint32_t n = s->count < BATCH ? s->count : BATCH;
    for (uint32_t i = 0; i < n; i++) {
      s->held[i] = s->ring[s->head].ev;
      s->head = (s->head + 1) % ch->queue;
    }
    s->count -= n;
    s->next = 0;
    s->nheld = n;
    s->busy = true;
    if (was_full)
      wake_head(bus, ch);
    pthread_mutex_unlock(&bus->lock);
    /* A drain that timed out stops the batch between events; drain reports the rest. */
    while (s->next < s->nheld && !atomic_load(&bus->stopping)) {
      bus_event *ev = s->held[s->next];
      handle_event(s, ev);
      event_unref(ev);
      s->held[s->next++] = NULL;
    }
    pthread_mutex_lock(&bus->lock);
    s->busy = false;
    if (!s->count)
      pthread_cond_broadcast(&bus->idle);
  }
  pthread_mutex_unlock(&bus->lock);
  return NULL;
}

/* ---- building ---- */

static zh_error *add_channel(zh_host_bus *bus, const zh_runtime_channel *rc) {
  bus_channel *ch = &bus->chans[bus->nchans++];
  ch->transport = rc->transport;
  ch->queue = rc->queue ? rc->queue : ZH_RUNTIME_CHANNEL_QUEUE;
  ch->publish_timeout_ms = rc->publish_timeout_ms;
  ch->retries = rc->retries;
  ch->name = strdup(rc->name);
  ch->dead_letter = rc->dead_letter ? strdup(rc->dead_letter) : NULL;
  if (!ch->dead_letter) {
    size_t n = strlen(rc->name) + sizeof ".dead-letter";
    if ((ch->dead_letter = malloc(n)))
      snprintf(ch->dead_letter, n, "%s.dead-letter", rc->name);
  }
  return ch->name && ch->dead_letter ? NULL : zh_error_oom();
}

static zh_error *add_sub(zh_host_bus *bus, bus_channel *ch, const zh_host_bus_trigger *t) {
  for (size_t i = 0; i < ch->nsubs; i++)
    if (strcmp(sub_at(bus, ch, i)->component, t->component) == 0)
      return NULL; /* two triggers of one component on one channel: Spin runs it once */
  bus_sub *s = &bus->subs[bus->nsubs];
  size_t *grown = realloc(ch->subs, (ch->nsubs + 1) * sizeof *grown);
  if (!grown)
    return zh_error_oom();
  ch->subs = grown;
  s->bus = bus;
  s->ch = ch;
  s->component = strdup(t->component);
  s->ring = calloc(ch->queue, sizeof *s->ring);
  cond_init(&s->work);
  bus->nsubs++;
  if (!s->component || !s->ring)
    return zh_error_oom();
  s->has_addr = t->address && zh_host_redis_parse_address(t->address, strlen(t->address), &s->addr);
  ch->subs[ch->nsubs++] = (size_t)(s - bus->subs);
  return NULL;
}

zh_error *zh_host_bus_new(const zh_host_bus_config *cfg, zh_host_bus **out) {
  *out = NULL;
  const zh_runtime_config *rc = cfg->rc;
  size_t nbus = 0;
  for (size_t i = 0; rc && i < rc->nchannels; i++)
    nbus += rc->channels[i].transport != ZH_RUNTIME_TRANSPORT_REDIS;
  if (!nbus)
    return NULL;
  if (!cfg->handle)
    return zh_error_new(ZH_ERR_USAGE, "bus: no handle callback");
  zh_host_bus *bus = calloc(1, sizeof *bus);
  if (!bus)
    return zh_error_oom();
  pthread_mutex_init(&bus->lock, NULL);
  cond_init(&bus->idle);
  atomic_init(&bus->stopping, false);
  bus->handle = cfg->handle;
  bus->handle_env = cfg->handle_env;
  bus->log = cfg->log;
  bus->log_env = cfg->log_env;
  bus->hops = cfg->hops;
  bus->drain_timeout_ms = rc->drain_timeout_ms;
  zh_error *err = NULL;
  bus->chans = calloc(rc->nchannels, sizeof *bus->chans);
  bus->subs = calloc(cfg->ntriggers + 1, sizeof *bus->subs);
  bus->triggers = calloc(cfg->ntriggers + 1, sizeof *bus->triggers);
  if (!bus->chans || !bus->subs || !bus->triggers) {
    bus->drained = true;
    zh_host_bus_free(bus);
    return zh_error_oom();
  }
  for (size_t i = 0; !err && i < rc->nchannels; i++)
    err = add_channel(bus, &rc->channels[i]);
  for (size_t i = 0; !err && i < cfg->ntriggers; i++) {
    const zh_host_bus_trigger *t = &cfg->triggers[i];
    zh_host_bus_trigger *copy = &bus->triggers[bus->ntriggers++];
    copy->component = strdup(t->component);
    copy->channel = strdup(t->channel);
    copy->address = t->address ? strdup(t->address) : NULL;
    if (!copy->component || !copy->channel || (t->address && !copy->address)) {
      err = zh_error_oom();
      break;
    }
    bus_channel *ch = find_channel(bus, t->channel, strlen(t->channel));
    if (ch && ch->transport != ZH_RUNTIME_TRANSPORT_REDIS)
      err = add_sub(bus, ch, t);
  }
  if (err) {
    bus->drained = true;
    zh_host_bus_free(bus);
    return err;
  }
  *out = bus;
  return NULL;
}

zh_error *zh_host_bus_start(zh_host_bus *bus) {
  for (size_t i = 0; bus && i < bus->nsubs; i++) {
    bus_sub *s = &bus->subs[i];
    if (s->started)
      continue;
    int rc = pthread_create(&s->thread, NULL, worker_main, s);
    if (rc != 0)
      return zh_error_new(ZH_ERR_RESOURCE, "bus: a worker for `%s` on `%s`: %s", s->component,
                          s->ch->name, strerror(rc));
    s->started = true;
  }
  return NULL;
}

static bool all_idle(const zh_host_bus *bus) {
  for (size_t i = 0; i < bus->nsubs; i++)
    if ((bus->subs[i].started && bus->subs[i].count) || bus->subs[i].busy)
      return false;
  return true;
}

void zh_host_bus_drain(zh_host_bus *bus) {
  if (!bus || bus->drained)
    return;
  pthread_mutex_lock(&bus->lock);
  uint64_t until = now_ns() + (uint64_t)bus->drain_timeout_ms * 1000000u;
  while (!all_idle(bus) && now_ns() < until) {
    struct timespec ts = abs_time(until);
    pthread_cond_timedwait(&bus->idle, &bus->lock, &ts);
  }
  bus->closed = true;
  atomic_store(&bus->stopping, true);
  for (size_t i = 0; i < bus->nchans; i++)
    for (room_waiter *w = bus->chans[i].wait_head; w; w = w->next)
      pthread_cond_signal(&w->cond);
  for (size_t i = 0; i < bus->nsubs; i++)
    pthread_cond_signal(&bus->subs[i].work);
  pthread_mutex_unlock(&bus->lock);
  for (size_t i = 0; i < bus->nsubs; i++)
    if (bus->subs[i].started)
      pthread_join(bus->subs[i].thread, NULL);
  size_t left = 0;
  for (size_t i = 0; i < bus->nsubs; i++) {
    bus_sub *s = &bus->subs[i];
    uint32_t n = s->count + (s->nheld - s->next);
    left += n;
    if (n)
      blog(bus, "bus: channel `%s`: %u event%s for `%s` not handled (%s)", s->ch->name, n,
           n == 1 ? "" : "s", s->component,
           s->started ? "the drain timeout passed" : "the bus never started");
  }
  if (left == 0 && bus->nsubs)
    blog(bus, "bus: drained");
  bus->drained = true;
}

void zh_host_bus_free(zh_host_bus *bus) {
  if (!bus)
    return;
  zh_host_bus_drain(bus);
  for (size_t i = 0; bus->subs && i < bus->nsubs; i++) {
    bus_sub *s = &bus->subs[i];
    for (uint32_t k = 0; k < s->count; k++)
      event_unref(s->ring[(s->head + k) % s->ch->queue].ev);
    for (uint32_t k = s->next; k < s->nheld; k++)
      event_unref(s->held[k]);
    free(s->ring);
    free(s->component);
    free(s->echoes);
    pthread_cond_destroy(&s->work);
  }
  for (size_t i = 0; bus->chans && i < bus->nchans; i++) {
    free(bus->chans[i].name);
    free(bus->chans[i].dead_letter);
    free(bus->chans[i].subs);
  }
  for (size_t i = 0; bus->triggers && i < bus->ntriggers; i++) {
    free((char *)bus->triggers[i].component);
    free((char *)bus->triggers[i].channel);
    free((char *)bus->triggers[i].address);
  }
  free(bus->triggers);
  free(bus->chans);
  free(bus->subs);
  pthread_cond_destroy(&bus->idle);
  pthread_mutex_destroy(&bus->lock);
  free(bus);
}

/* ---- routes and publishing ---- */

zh_host_bus_route zh_host_bus_route_of(const zh_host_bus *bus, const char *channel, size_t len) {
  const bus_channel *ch = find_channel(bus, channel, len);
  if (!ch || ch->transport == ZH_RUNTIME_TRANSPORT_REDIS)
    return ZH_HOST_BUS_REDIS;
  return ch->transport == ZH_RUNTIME_TRANSPORT_LOCAL ? ZH_HOST_BUS_LOCAL : ZH_HOST_BUS_BOTH;
}

bool zh_host_bus_has_local(const zh_host_bus *bus) {
  for (size_t i = 0; bus && i < bus->nchans; i++)
    if (bus->chans[i].transport == ZH_RUNTIME_TRANSPORT_LOCAL)
      return true;
  return false;
}

bool zh_host_bus_publish(zh_host_bus *bus, const char *publisher, const char *channel, size_t chlen,
                         const uint8_t *payload, size_t len, uint64_t deadline_ns,
                         zh_host_bus_mirror_fn mirror, void *mirror_env, char *why, size_t whylen) {
  bus_channel *ch = find_channel(bus, channel, chlen);
  if (!ch) {
    snprintf(why, whylen, "bus: channel `%.*s` is not on the bus", (int)chlen, channel);
    return false;
  }
  bus_event *ev = event_new(publisher, payload, len, false);
  if (!ev) {
    snprintf(why, whylen, "bus: out of memory");
    return false;
  }
  pthread_mutex_lock(&bus->lock);
  bool ok = wait_room(bus, ch, NULL, publish_deadline(ch, deadline_ns));
  if (!ok) {
    if (bus->closed)
      snprintf(why, whylen, "bus: channel `%s` is closed: the app is shutting down", ch->name);
    else if (deadline_ns && now_ns() >= deadline_ns)
      snprintf(why, whylen,
               "bus: channel `%s`: a subscriber's queue is full (%u events) and the request's "
               "deadline has passed",
               ch->name, ch->queue);
    else
      snprintf(why, whylen, "bus: channel `%s`: a subscriber's queue is full (%u events) for %u ms",
               ch->name, ch->queue, ch->publish_timeout_ms);
  } else if (mirror) {
    ch->reserved++;
    pthread_mutex_unlock(&bus->lock);
    ok = mirror(mirror_env, why, whylen);
    pthread_mutex_lock(&bus->lock);
    ch->reserved--;
    if (!ok)
      wake_head(bus, ch); /* the reservation is free again */
  }
  for (size_t i = 0; ok && i < ch->nsubs; i++)
    push(sub_at(bus, ch, i), ev);
  pthread_mutex_unlock(&bus->lock);
  event_unref(ev);
  return ok;
}

/* ---- echoes of `both` channels ---- */

static bool same_redis(const bus_sub *s, const char *host, unsigned port) {
  return s->has_addr && s->addr.port == port && strcmp(s->addr.host, host) == 0;
}

static void expire_echoes(bus_sub *s, uint64_t now) {
  size_t k = 0;
  for (size_t i = 0; i < s->nechoes; i++)
    if (s->echoes[i].expires > now)
      s->echoes[k++] = s->echoes[i];
  s->nechoes = k;
}

bool zh_host_bus_expect_echo(zh_host_bus *bus, const char *channel, size_t chlen, const char *host,
                             unsigned port, const uint8_t *payload, size_t len) {
  bus_channel *ch = find_channel(bus, channel, chlen);
  if (!ch || ch->transport != ZH_RUNTIME_TRANSPORT_BOTH)
    return false;
  echo e = {fnv1a(payload, len), now_ns() + ECHO_TTL_NS, len};
  bool any = false;
  pthread_mutex_lock(&bus->lock);
  for (size_t i = 0; i < ch->nsubs; i++) {
    bus_sub *s = sub_at(bus, ch, i);
    if (!same_redis(s, host, port))
      continue;
    expire_echoes(s, now_ns());
    if (s->nechoes == s->echo_cap) {
      size_t cap = s->echo_cap ? s->echo_cap * 2 : 8;
      echo *grown = realloc(s->echoes, cap * sizeof *grown);
      if (!grown)
        continue; /* then the echo is handled twice rather than lost */
      s->echoes = grown;
      s->echo_cap = cap;
    }
    s->echoes[s->nechoes++] = e;
    any = true;
  }
  pthread_mutex_unlock(&bus->lock);
  return any;
}

/* Removes one matching echo of `s`; true if there was one. Under the lock. */
static bool take_echo(bus_sub *s, uint64_t hash, size_t len) {
  expire_echoes(s, now_ns());
  for (size_t i = 0; i < s->nechoes; i++)
    if (s->echoes[i].hash == hash && s->echoes[i].len == len) {
      s->echoes[i] = s->echoes[--s->nechoes];
      return true;
    }
  return false;
}

void zh_host_bus_cancel_echo(zh_host_bus *bus, const char *channel, size_t chlen, const char *host,
                             unsigned port, const uint8_t *payload, size_t len) {
  bus_channel *ch = find_channel(bus, channel, chlen);
  if (!ch)
    return;
  uint64_t h = fnv1a(payload, len);
  pthread_mutex_lock(&bus->lock);
  for (size_t i = 0; i < ch->nsubs; i++)
    if (same_redis(sub_at(bus, ch, i), host, port))
      take_echo(sub_at(bus, ch, i), h, len);
  pthread_mutex_unlock(&bus->lock);
}

void zh_host_bus_from_redis(zh_host_bus *bus, const char *component, const char *channel,
                            const uint8_t *payload, size_t len) {
  bus_channel *ch = find_channel(bus, channel, strlen(channel));
  bus_sub *s = NULL;
  for (size_t i = 0; ch && i < ch->nsubs; i++)
    if (strcmp(sub_at(bus, ch, i)->component, component) == 0)
      s = sub_at(bus, ch, i);
  if (!s)
    return;
  char from[300];
  snprintf(from, sizeof from, "redis:%s", channel);
  bus_event *ev = event_new(from, payload, len, false);
  if (!ev) {
    blog(bus, "bus: channel `%s`: out of memory for a message from Redis", channel);
    return;
  }
  pthread_mutex_lock(&bus->lock);
  bool echo = take_echo(s, fnv1a(payload, len), len);
  bool ok = echo || wait_room(bus, ch, s, publish_deadline(ch, 0));
  if (ok && !echo)
    push(s, ev);
  pthread_mutex_unlock(&bus->lock);
  if (!ok)
    dead_letter(bus, ch, component, ev, bus->closed ? "the bus is closed" : "its queue is full");
  event_unref(ev);
}
