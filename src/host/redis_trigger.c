/* The Redis trigger's subscribers: one thread per address, each a loop of connect,
 * SUBSCRIBE, read and deliver; every wait (for data, or for the next reconnect) is a poll()
 * that also watches the trigger's stop pipe, so a thread is idle while it waits and leaves
 * as soon as stop writes to the pipe. hiredis parses the replies (redisBufferRead and
 * redisGetReplyFromReader); the thread does its own polling so that no read ever blocks. */
#include "host/redis_trigger.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 1

typedef struct sub_trigger {
  char *component, *channel;
} sub_trigger;

/* One address and its subscriber thread. */
typedef struct subscriber {
  struct zh_host_redis_trigger *owner;
  char *address; /* as written */
  zh_host_redis_address addr;
  sub_trigger *triggers;
  size_t ntriggers;
  char **channels; /* distinct, borrowed from triggers */
  size_t nchannels;
  pthread_t thread;
  bool started;
  atomic_uint_fast64_t subscriptions;
  atomic_bool subscribed;
} subscriber;

struct zh_host_redis_trigger {
  zh_host_redis_deliver_fn deliver;
  void *deliver_env;
  zh_host_redis_log_fn log;
  void *log_env;
  unsigned backoff_min_ms, backoff_max_ms;
  int stop_pipe[2]; /* written once by stop; never drained, so every poll sees it */
  subscriber *subs;
  size_t nsubs;
};

static void tlog(const zh_host_redis_trigger *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tlog(const zh_host_redis_trigger *t, const char *fmt, ...) {
  char line[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (t->log)
    t->log(t->log_env, line);
  else
    fprintf(stderr, "%s\n", line);
}

/* Waits up to `ms` (-1: for ever) for `fd` to be readable or the trigger to stop. Returns
 * false once stopped. */
static bool wait_fd(const zh_host_redis_trigger *t, int fd, int ms, bool *readable) {
  struct pollfd p[2] = {{.fd = t->stop_pipe[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
  for (;;) {
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (n < 0 && errno == EINTR)
      continue; /* a signal: the wait is shortened, never turned into a busy loop */
    if (p[0].revents)
      return false;
    if (readable)
      *readable = n > 0 && fd >= 0 && p[1].revents;
    return true;
  }
}

/* ---- one subscriber ---- */

static void deliver(subscriber *s, const redisReply *r) {
  /* ["message", channel, payload] */
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
      r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0 ||
      r->element[1]->type != REDIS_REPLY_STRING || r->element[2]->type != REDIS_REPLY_STRING)
    return; /* subscribe confirmations and anything else */
  const redisReply *ch = r->element[1], *payload = r->element[2];
  for (size_t i = 0; i < s->ntriggers; i++)
    if (strlen(s->triggers[i].channel) == ch->len &&
        memcmp(s->triggers[i].channel, ch->str, ch->len) == 0)
      s->owner->deliver(s->owner->deliver_env, s->triggers[i].component, s->triggers[i].channel,
                        (const uint8_t *)payload->str, payload->len);
}

/* Connects and subscribes; NULL (logged) on failure. */
static redisContext *subscribe(subscriber *s, bool quiet) {
  const zh_host_redis_trigger *t = s->owner;
  struct timeval tv = {.tv_sec = CONNECT_TIMEOUT_S};
  redisContext *c = redisConnectWithTimeout(s->addr.host, (int)s->addr.port, tv);
  const char *step = "connect";
  redisReply *reply = NULL;
  if (c && !c->err && s->addr.has_pass) {
    step = "AUTH";
    const char *argv[3] = {"AUTH", s->addr.user, s->addr.pass};
    size_t lens[3] = {4, strlen(s->addr.user), strlen(s->addr.pass)};
    int skip = s->addr.user[0] ? 0 : 1;
    if (skip) {
      argv[1] = argv[2];
      lens[1] = lens[2];
    }
    reply = zh_host_redis_command_argv(c, 3 - skip, argv, lens);
    if (reply && reply->type == REDIS_REPLY_ERROR)
      goto fail;
    freeReplyObject(reply);
    reply = NULL;
  }
  if (c && !c->err) {
    step = "SUBSCRIBE";
    const char **argv = calloc(s->nchannels + 1, sizeof *argv);
    size_t *lens = calloc(s->nchannels + 1, sizeof *lens);
    if (argv && lens) {
      argv[0] = "SUBSCRIBE";
      lens[0] = 9;
      for (size_t i = 0; i < s->nchannels; i++) {
        argv[i + 1] = s->channels[i];
        lens[i + 1] = strlen(s->channels[i]);
      }
      /* the reply is the first channel's confirmation; the others follow as replies */
      reply = zh_host_redis_command_argv(c, (int)s->nchannels + 1, argv, lens);
    }
    free(argv);
    free(lens);
    if (reply && reply->type != REDIS_REPLY_ERROR) {
      freeReplyObject(reply);
      return c;
    }
  }
fail:
  if (!quiet)
    tlog(t, "redis trigger: %s: %s failed: %s", s->address, step,
         reply && reply->type == REDIS_REPLY_ERROR ? reply->str
         : c && c->err                             ? c->errstr
                                                   : "out of memory");
  freeReplyObject(reply);
  if (c)
    redisFree(c);
  return NULL;
}

/* Reads and delivers until the connection breaks (true) or the trigger stops (false). */
static bool pump(subscriber *s, redisContext *c) {
  for (;;) {
    void *reply = NULL;
    while (redisGetReplyFromReader(c, &reply) == REDIS_OK && reply) {
      deliver(s, reply);
      freeReplyObject(reply);
      reply = NULL;
    }
    if (c->err)
      return true;
    bool readable = false;
    if (!wait_fd(s->owner, c->fd, -1, &readable))
      return false;
    if (readable && redisBufferRead(c) != REDIS_OK)
      return true;
  }
}

static void *subscriber_main(void *arg) {
  subscriber *s = arg;
  const zh_host_redis_trigger *t = s->owner;
  unsigned backoff = t->backoff_min_ms;
  bool failing = false; /* log the first failure of a run, then only the recovery */
  for (;;) {
    redisContext *c = subscribe(s, failing);
    if (!c) {
      if (!failing)
        tlog(t, "redis trigger: %s: unavailable; retrying with backoff up to %u ms", s->address,
             t->backoff_max_ms);
      failing = true;
      if (!wait_fd(t, -1, (int)backoff, NULL))
        return NULL;
      backoff = backoff * 2 > t->backoff_max_ms ? t->backoff_max_ms : backoff * 2;
      continue;
    }
    atomic_fetch_add(&s->subscriptions, 1);
    atomic_store(&s->subscribed, true);
    tlog(t, "redis trigger: %s: subscribed to %zu channel%s%s", s->address, s->nchannels,
         s->nchannels == 1 ? "" : "s", failing ? " (reconnected)" : "");
    failing = false;
    backoff = t->backoff_min_ms;
    bool broken = pump(s, c);
    atomic_store(&s->subscribed, false);
    if (broken)
      tlog(t, "redis trigger: %s: connection lost (%s); reconnecting", s->address,
           c->errstr[0] ? c->errstr : "closed");
    redisFree(c);
    if (!broken)
      return NULL;
    /* wait a little even after a clean break, so a server that accepts and drops every
     * connection cannot make this loop spin */
    if (!wait_fd(t, -1, (int)backoff, NULL))
      return NULL;
  }
}

/* ---- start and stop ---- */

static void subscriber_free(subscriber *s) {
  for (size_t i = 0; i < s->ntriggers; i++) {
    free(s->triggers[i].component);
    free(s->triggers[i].channel);
  }
  free(s->triggers);
  free(s->channels);
  free(s->address);
}

void zh_host_redis_trigger_stop(zh_host_redis_trigger *t) {
  if (!t)
    return;
  if (t->stop_pipe[1] >= 0) {
    ssize_t w = write(t->stop_pipe[1], "x", 1);
    (void)w;
  }
  for (size_t i = 0; i < t->nsubs; i++)
    if (t->subs[i].started)
      pthread_join(t->subs[i].thread, NULL);
  for (size_t i = 0; i < t->nsubs; i++)
    subscriber_free(&t->subs[i]);
  free(t->subs);
  for (int i = 0; i < 2; i++)
    if (t->stop_pipe[i] >= 0)
      close(t->stop_pipe[i]);
  free(t);
}

static subscriber *find_or_add(zh_host_redis_trigger *t, const char *address) {
  for (size_t i = 0; i < t->nsubs; i++)
    if (strcmp(t->subs[i].address, address) == 0)
      return &t->subs[i];
  subscriber *s = &t->subs[t->nsubs];
  memset(s, 0, sizeof *s);
  if (!(s->address = strdup(address)))
    return NULL;
  t->nsubs++;
  s->owner = t;
  return s;
}

/* Adds trigger `i` to its address's subscriber. */
static zh_error *add_trigger(zh_host_redis_trigger *t, const zh_host_redis_trigger_config *cfg,
                             size_t i) {
  const zh_host_redis_trigger_entry *e = &cfg->triggers[i];
  const char *comp = e->component ? e->component : "";
  const char *address = e->address && e->address[0] ? e->address : cfg->default_address;
  if (!e->component || !e->component[0])
    return zh_error_new(ZH_ERR_INVALID, "trigger.redis[%zu]: no component", i);
  if (!e->channel || !e->channel[0])
    return zh_error_new(ZH_ERR_INVALID, "trigger.redis[%zu] (component \"%s\"): no channel", i,
                        comp);
  if (!address || !address[0])
    return zh_error_new(ZH_ERR_INVALID,
                        "trigger.redis[%zu] (component \"%s\"): no address, and no "
                        "[application.trigger.redis] address",
                        i, comp);
  zh_host_redis_address a;
  if (!zh_host_redis_parse_address(address, strlen(address), &a))
    return zh_error_new(ZH_ERR_INVALID,
                        "trigger.redis[%zu] (component \"%s\"): address \"%s\" is not "
                        "redis://HOST[:PORT]",
                        i, comp, address);
  if (strcmp(a.scheme, "redis") != 0)
    return zh_error_new(ZH_ERR_INVALID,
                        "trigger.redis[%zu] (component \"%s\"): address \"%s\": rediss:// (TLS) "
                        "is not supported",
                        i, comp, address);
  subscriber *s = find_or_add(t, address);
  sub_trigger *grown = s ? realloc(s->triggers, (s->ntriggers + 1) * sizeof *grown) : NULL;
  if (!grown)
    return zh_error_new(ZH_ERR_RESOURCE, "redis trigger: out of memory");
  s->triggers = grown;
  s->addr = a;
  sub_trigger *st = &s->triggers[s->ntriggers];
  st->component = strdup(e->component);
  st->channel = strdup(e->channel);
  s->ntriggers++;
  if (!st->component || !st->channel)
    return zh_error_new(ZH_ERR_RESOURCE, "redis trigger: out of memory");
  for (size_t k = 0; k < s->nchannels; k++)
    if (strcmp(s->channels[k], st->channel) == 0)
      return NULL;
  char **ch = realloc(s->channels, (s->nchannels + 1) * sizeof *ch);
  if (!ch)
    return zh_error_new(ZH_ERR_RESOURCE, "redis trigger: out of memory");
  s->channels = ch;
  s->channels[s->nchannels++] = st->channel;
  return NULL;
}

zh_error *zh_host_redis_trigger_start(const zh_host_redis_trigger_config *cfg,
                                      zh_host_redis_trigger **out) {
  *out = NULL;
  if (!cfg->deliver)
    return zh_error_new(ZH_ERR_USAGE, "redis trigger: no deliver callback");
  zh_host_redis_trigger *t = calloc(1, sizeof *t);
  if (!t)
    return zh_error_new(ZH_ERR_RESOURCE, "redis trigger: out of memory");
  t->stop_pipe[0] = t->stop_pipe[1] = -1;
  t->deliver = cfg->deliver;
  t->deliver_env = cfg->deliver_env;
  t->log = cfg->log;
  t->log_env = cfg->log_env;
  t->backoff_min_ms = cfg->backoff_min_ms ? cfg->backoff_min_ms : 100;
  t->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : 5000;
  if (t->backoff_max_ms < t->backoff_min_ms)
    t->backoff_max_ms = t->backoff_min_ms;
  zh_error *err = NULL;
  if (cfg->ntriggers && !(t->subs = calloc(cfg->ntriggers, sizeof *t->subs)))
    err = zh_error_new(ZH_ERR_RESOURCE, "redis trigger: out of memory");
  for (size_t i = 0; !err && i < cfg->ntriggers; i++)
    err = add_trigger(t, cfg, i);
  if (!err && pipe2(t->stop_pipe, O_CLOEXEC) != 0)
    err = zh_error_new(ZH_ERR_IO, "redis trigger: pipe: %s", strerror(errno));
  for (size_t i = 0; !err && i < t->nsubs; i++) {
    int rc = pthread_create(&t->subs[i].thread, NULL, subscriber_main, &t->subs[i]);
    if (rc != 0)
      err = zh_error_new(ZH_ERR_RESOURCE, "redis trigger: thread for %s: %s", t->subs[i].address,
                         strerror(rc));
    else
      t->subs[i].started = true;
  }
  if (err) {
    zh_host_redis_trigger_stop(t);
    return err;
  }
  *out = t;
  return NULL;
}

size_t zh_host_redis_trigger_address_count(const zh_host_redis_trigger *t) {
  return t ? t->nsubs : 0;
}

const char *zh_host_redis_trigger_address(const zh_host_redis_trigger *t, size_t i) {
  return t && i < t->nsubs ? t->subs[i].address : NULL;
}

uint64_t zh_host_redis_trigger_subscriptions(const zh_host_redis_trigger *t, size_t i,
                                             bool *subscribed) {
  if (!t || i >= t->nsubs) {
    if (subscribed)
      *subscribed = false;
    return 0;
  }
  subscriber *s = &((zh_host_redis_trigger *)t)->subs[i];
  if (subscribed)
    *subscribed = atomic_load(&s->subscribed);
  return atomic_load(&s->subscriptions);
}

uint64_t zh_host_redis_trigger_cpu_ns(const zh_host_redis_trigger *t, size_t i) {
  clockid_t cid;
  struct timespec ts;
  if (!t || i >= t->nsubs || !t->subs[i].started ||
      pthread_getcpuclockid(t->subs[i].thread, &cid) != 0 || clock_gettime(cid, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the handler ---- */

zh_error *zh_host_inbound_redis_call(zh_cm_instance *inst, const uint8_t *payload, size_t len,
                                     bool *guest_ok) {
  *guest_ok = false;
  zh_cm_func *f = zh_cm_instance_func(inst, "fermyon:spin/inbound-redis", "handle-message");
  if (!f)
    return zh_error_new(ZH_ERR_UNLINKABLE,
                        "the component does not export fermyon:spin/inbound-redis "
                        "(handle-message)");
  zh_val arg, result = zh_val_bool(false);
  zh_error *err = zh_val_list_raw(&arg, ZH_WIT_U8, payload, len);
  if (!err)
    err = zh_cm_func_call(inst, f, &arg, 1, &result);
  if (!err)
    *guest_ok = zh_val_case(&result) == 0;
  zh_val_drop(&arg);
  zh_val_drop(&result);
  return err;
}
