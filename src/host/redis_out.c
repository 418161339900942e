/* fermyon:spin/redis@2.0.0 over hiredis's blocking API. A connection handle's rep is its
 * slot in the instance's table plus one; the canonical ABI has already checked that a
 * borrowed handle is live, so a rep with no connection behind it means the host closed it
 * (never happens) and is answered as an error, not a trap. Every command is sent with
 * redisCommandArgv, so keys and values are binary-safe. */
#include "host/redis_out.h"

#include "host/bus.h"
#include "host/hops.h"
#include "host/host_instance.h"
#include "host/spin_wit.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REDIS_IFACE "fermyon:spin/redis@2.0.0"

/* the cases of the interface's `error` variant */
enum { E_INVALID_ADDRESS, E_TOO_MANY, E_TYPE, E_OTHER };
/* the cases of redis-parameter and redis-result */
enum { P_INT64, P_BINARY };
enum { R_NIL, R_STATUS, R_INT64, R_BINARY };

/* A slot is in use when it has a context, the address of a connect still to make, or the
 * message of a connect that failed. The last two only happen when the app has channels on
 * the bus (`local`, `both`): a handle that only ever publishes to local channels never
 * connects, so `zerohop up` needs no Redis for them and pays no connection per request; it
 * connects on the first command that does need Redis, and a failure then answers that
 * command and every later one. */
typedef struct conn_slot {
  redisContext *c;
  zh_host_redis_address *pending; /* connect on first use (owned) */
  char *failed;
  char *host; /* where it (tried to) connect, for the bus's echoes */
  unsigned port;
} conn_slot;

static bool slot_in_use(const conn_slot *s) { return s->c || s->pending || s->failed; }

static void slot_clear(conn_slot *s) {
  if (s->c)
    redisFree(s->c);
  free(s->pending);
  free(s->failed);
  free(s->host);
  *s = (conn_slot){0};
}

struct zh_host_redis_inst {
  const zh_host_redis_config *config;
  const zh_host_outbound *rules;
  char *component;
  uint64_t deadline_ns;
  unsigned cap;
  conn_slot *conns; /* owned, made at the first open (most instances never open one); slots
                     * not in use are free */
  const zh_host_instance *owner; /* its hop table and trace, or NULL */
};

static const zh_host_redis_config default_config = {0};

zh_error *zh_host_redis_inst_new(const zh_host_redis_config *config, const zh_host_outbound *rules,
                                 const char *component, zh_host_redis_inst **out) {
  *out = NULL;
  zh_host_redis_inst *r = calloc(1, sizeof *r);
  if (!r)
    return zh_error_new(ZH_ERR_RESOURCE, "redis: out of memory");
  r->config = config ? config : &default_config;
  r->rules = rules;
  r->cap = r->config->max_connections ? r->config->max_connections : 16;
  r->component = strdup(component ? component : "?");
  if (!r->component) {
    zh_host_redis_inst_free(r);
    return zh_error_new(ZH_ERR_RESOURCE, "redis: out of memory");
  }
  *out = r;
  return NULL;
}

void zh_host_redis_inst_free(zh_host_redis_inst *inst) {
  if (!inst)
    return;
  for (unsigned i = 0; inst->conns && i < inst->cap; i++)
    slot_clear(&inst->conns[i]);
  free(inst->conns);
  free(inst->component);
  free(inst);
}

void zh_host_redis_inst_set_deadline(zh_host_redis_inst *inst, uint64_t deadline_ns) {
  inst->deadline_ns = deadline_ns;
}

void zh_host_redis_inst_set_owner(zh_host_redis_inst *inst, const zh_host_instance *owner) {
  inst->owner = owner;
}

static void log_line(const zh_host_redis_inst *r, const char *line) {
  if (r->config->log)
    r->config->log(r->config->log_env, line);
  else
    fprintf(stderr, "%s\n", line);
}

/* What a connect or command may wait: the timeout, cut to the deadline. False if the
 * deadline has passed. */
static bool wait_budget(const zh_host_redis_inst *r, struct timeval *tv) {
  uint64_t ms = r->config->timeout_ms ? r->config->timeout_ms : 5000;
  if (r->deadline_ns) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t t = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    if (t >= r->deadline_ns)
      return false;
    uint64_t left = (r->deadline_ns - t + 999999) / 1000000;
    if (left < ms)
      ms = left;
  }
  tv->tv_sec = (time_t)(ms / 1000);
  tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
  return true;
}

/* ---- SIGPIPE ---- */

/* hiredis sends with write(): to a peer that has reset the connection that raises SIGPIPE,
 * whose default action would kill the whole host. The signal is blocked on this thread for
 * the command, and one it raised is consumed (unless one was already pending), so the
 * command just fails with EPIPE. */
redisReply *zh_host_redis_command_argv(redisContext *c, int argc, const char **argv,
                                       const size_t *lens) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  bool blocked = pthread_sigmask(SIG_BLOCK, &pipe_set, &old) == 0;
  redisReply *reply = redisCommandArgv(c, argc, argv, lens);
  if (blocked) {
    int saved = errno;
    const struct timespec zero = {0, 0};
    if (!was_pending)
      while (sigtimedwait(&pipe_set, NULL, &zero) == -1 && errno == EINTR) {
      }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
  }
  return reply;
}

/* ---- answers ---- */

static zh_error *answer_error(zh_val *result, uint32_t code, const char *msg) {
  zh_val e, text;
  zh_error *err;
  if (code == E_OTHER) {
    if ((err = zh_val_string_cstr(&text, msg)))
      return err;
    err = zh_val_variant(&e, E_OTHER, &text);
  } else {
    err = zh_val_variant(&e, code, NULL);
  }
  return err ? err : zh_val_err(result, &e);
}

static zh_error *answer_ok(zh_val *result, zh_val *payload) { return zh_val_ok(result, payload); }

static bool utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || i + len > n || (len == 2 && c < 0xc2))
      return false;
    uint32_t cp = len == 1 ? c : (uint32_t)(c & (0x7f >> len));
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return false;
    i += len;
  }
  return true;
}

/* ---- the instance and the connection behind a call ---- */

static zh_host_redis_inst *inst_of(zh_cm_call *call) {
  zh_host_instance *hi = zh_host_instance_state(zh_host_instance_of(call));
  return hi ? hi->redis : NULL;
}

static void slot_connect(zh_host_redis_inst *r, conn_slot *s);

static redisContext *conn_of(zh_host_redis_inst *r, const zh_val *self) {
  uint64_t rep = self->of.res.rep;
  if (!r || !r->conns || rep < 1 || rep > r->cap)
    return NULL;
  if (r->conns[rep - 1].pending)
    slot_connect(r, &r->conns[rep - 1]);
  return r->conns[rep - 1].c;
}

/* Sends one command and gives its reply, or answers the guest the failure (and returns
 * NULL with *err set only for a host failure). */
/* One Redis hop: to `callee` ("redis:CHANNEL" for a publish), else to the connection's
 * host:port. */
static void record_hop(const zh_host_redis_inst *r, const redisContext *c, const char *callee,
                       uint64_t t0, int argc, const size_t *lens, const redisReply *reply) {
  const zh_host_instance *hi = r->owner;
  if (!hi || !hi->hops)
    return;
  char addr[300];
  if (!callee) {
    if (c->connection_type == REDIS_CONN_TCP && c->tcp.host)
      snprintf(addr, sizeof addr, "%s:%d", c->tcp.host, c->tcp.port);
    else
      snprintf(addr, sizeof addr, "%s", c->unix_sock.path ? c->unix_sock.path : "redis");
    callee = addr;
  }
  uint64_t bytes = reply && reply->type != REDIS_REPLY_ERROR ? reply->len : 0;
  for (int i = 0; i < argc; i++)
    bytes += lens[i];
  bool failed = !reply || reply->type == REDIS_REPLY_ERROR;
  zh_hops_record_traced(hi->hops, hi->trace, r->component, callee, ZH_HOP_REDIS,
                        zh_hops_now_ns() - t0, bytes, failed);
}

static redisReply *command(zh_host_redis_inst *r, redisContext *c, const char *hop_callee, int argc,
                           const char **argv, const size_t *lens, zh_val *result, zh_error **err) {
  *err = NULL;
  struct timeval tv;
  if (!wait_budget(r, &tv)) {
    *err = answer_error(result, E_OTHER, "redis: the request's deadline has passed");
    return NULL;
  }
  if (c->err) { /* broken by an earlier failure (a timeout leaves the stream unusable) */
    char msg[200];
    snprintf(msg, sizeof msg, "redis: the connection failed earlier: %s", c->errstr);
    *err = answer_error(result, E_OTHER, msg);
    return NULL;
  }
  redisSetTimeout(c, tv);
  uint64_t t0 = zh_hops_now_ns();
  redisReply *reply = zh_host_redis_command_argv(c, argc, argv, lens);
  record_hop(r, c, hop_callee, t0, argc, lens, reply);
  if (!reply) {
    char msg[200];
    snprintf(msg, sizeof msg, "redis: %s", c->errstr[0] ? c->errstr : "connection lost");
    *err = answer_error(result, E_OTHER, msg);
    return NULL;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    bool wrongtype = strncmp(reply->str, "WRONGTYPE", 9) == 0;
    *err = answer_error(result, wrongtype ? E_TYPE : E_OTHER, reply->str);
    freeReplyObject(reply);
    return NULL;
  }
  return reply;
}

/* A reply of an unexpected type: type-error. */
static zh_error *type_error(redisReply *reply, zh_val *result) {
  freeReplyObject(reply);
  return answer_error(result, E_TYPE, NULL);
}

/* ---- connection.open ---- */

static bool copy_part(char *dst, size_t cap, const char *s, size_t n) {
  if (n >= cap)
    return false;
  memcpy(dst, s, n);
  dst[n] = 0;
  return true;
}

bool zh_host_redis_parse_address(const char *s, size_t n, zh_host_redis_address *a) {
  memset(a, 0, sizeof *a);
  if (memchr(s, 0, n))
    return false;
  const char *end = s + n, *p;
  if (n > 8 && strncmp(s, "redis://", 8) == 0)
    strcpy(a->scheme, "redis"), p = s + 8;
  else if (n > 9 && strncmp(s, "rediss://", 9) == 0)
    strcpy(a->scheme, "rediss"), p = s + 9;
  else
    return false;
  const char *slash = memchr(p, '/', (size_t)(end - p));
  const char *auth_end = slash ? slash : end;
  const char *at = NULL;
  for (const char *q = p; q < auth_end; q++)
    if (*q == '@')
      at = q;
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (!copy_part(a->user, sizeof a->user, p, (size_t)((colon ? colon : at) - p)))
      return false;
    if (colon && !copy_part(a->pass, sizeof a->pass, colon + 1, (size_t)(at - colon - 1)))
      return false;
    a->has_pass = colon != NULL;
    p = at + 1;
  }
  uint16_t port;
  if (p == auth_end ||
      !zh_host_outbound_split_authority(p, (size_t)(auth_end - p), a->host, sizeof a->host, &port))
    return false;
  if (!a->host[0])
    return false;
  a->port = port ? port : 6379;
  if (slash && slash + 1 < end) {
    char *num_end;
    char buf[16];
    if (!copy_part(buf, sizeof buf, slash + 1, (size_t)(end - slash - 1)))
      return false;
    unsigned long db = strtoul(buf, &num_end, 10);
    if (*num_end || buf[0] < '0' || buf[0] > '9' || db > 1000000)
      return false;
    a->db = (unsigned)db;
    a->has_db = true;
  }
  return true;
}

/* AUTH and SELECT after connecting, when the address asks for them. */
static zh_error *prepare(zh_host_redis_inst *r, redisContext *c, const zh_host_redis_address *a,
                         zh_val *result, bool *ok) {
  zh_error *err = NULL;
  *ok = true;
  if (a->has_pass) {
    const char *argv[3] = {"AUTH", a->user, a->pass};
    size_t lens[3] = {4, strlen(a->user), strlen(a->pass)};
    int skip = a->user[0] ? 0 : 1; /* no user: AUTH password */
    if (skip) {
      argv[1] = a->pass;
      lens[1] = lens[2];
    }
    redisReply *reply = command(r, c, NULL, 3 - skip, argv, lens, result, &err);
    if (!reply) {
      *ok = false;
      return err;
    }
    freeReplyObject(reply);
  }
  if (a->has_db) {
    char num[16];
    snprintf(num, sizeof num, "%u", a->db);
    const char *argv[2] = {"SELECT", num};
    size_t lens[2] = {6, strlen(num)};
    redisReply *reply = command(r, c, NULL, 2, argv, lens, result, &err);
    if (!reply) {
      *ok = false;
      return err;
    }
    freeReplyObject(reply);
  }
  return NULL;
}

/* Makes a pending slot's connection: afterwards it has a context, or the failure that every
 * command on it answers (logged once). */
static void slot_connect(zh_host_redis_inst *r, conn_slot *s) {
  zh_host_redis_address *a = s->pending;
  s->pending = NULL;
  struct timeval tv;
  char msg[512];
  redisContext *c = NULL;
  if (!wait_budget(r, &tv)) {
    snprintf(msg, sizeof msg, "redis: the request's deadline has passed");
  } else if (!(c = redisConnectWithTimeout(a->host, (int)a->port, tv)) || c->err) {
    snprintf(msg, sizeof msg, "redis: connect to %s:%u: %s", a->host, a->port,
             c ? c->errstr : "out of memory");
    if (c)
      redisFree(c);
    c = NULL;
  } else {
    zh_val scratch; /* prepare answers a guest result: here only its outcome counts */
    memset(&scratch, 0, sizeof scratch);
    bool ok;
    zh_error *err = prepare(r, c, a, &scratch, &ok);
    zh_error_free(err);
    zh_val_drop(&scratch);
    if (ok) {
      s->c = c;
      free(a);
      return;
    }
    snprintf(msg, sizeof msg, "redis: connect to %s:%u: AUTH or SELECT refused", a->host, a->port);
    redisFree(c);
  }
  char line[700];
  snprintf(line, sizeof line, "redis: component \"%s\": %s", r->component, msg);
  log_line(r, line);
  s->failed = strdup(msg);
  free(a);
}

static zh_error *fn_open(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  zh_host_redis_inst *r = inst_of(call);
  if (!r)
    return answer_error(result, E_OTHER, "redis: no instance (component initialisation)");
  const char *text = args[0].of.str.data;
  size_t n = args[0].of.str.len;
  zh_host_redis_address a;
  char line[1024];
  if (!zh_host_redis_parse_address(text, n, &a)) {
    snprintf(line, sizeof line, "redis: component \"%s\": invalid address \"%.*s\"", r->component,
             (int)(n > 300 ? 300 : n), text);
    log_line(r, line);
    return answer_error(result, E_INVALID_ADDRESS, NULL);
  }
  if (!zh_host_outbound_allows(r->rules, a.scheme, a.host, (uint16_t)a.port)) {
    snprintf(line, sizeof line,
             "redis: component \"%s\": connection to %s://%s:%u denied: not in "
             "allowed_outbound_hosts",
             r->component, a.scheme, a.host, a.port);
    log_line(r, line);
    return answer_error(result, E_INVALID_ADDRESS, NULL);
  }
  if (strcmp(a.scheme, "rediss") == 0)
    return answer_error(result, E_OTHER, "redis: rediss:// (TLS) is not supported");
  if (!r->conns && !(r->conns = calloc(r->cap, sizeof *r->conns)))
    return answer_error(result, E_OTHER, "redis: out of memory");
  unsigned slot = 0;
  while (slot < r->cap && slot_in_use(&r->conns[slot]))
    slot++;
  if (slot == r->cap)
    return answer_error(result, E_TOO_MANY, NULL);
  if (zh_host_bus_has_local(r->config->bus)) { /* connect when a command needs Redis */
    conn_slot *s = &r->conns[slot];
    s->pending = malloc(sizeof *s->pending);
    s->host = strdup(a.host);
    s->port = a.port;
    if (!s->pending || !s->host) {
      slot_clear(s);
      return zh_error_new(ZH_ERR_RESOURCE, "redis: out of memory");
    }
    *s->pending = a;
    zh_val own = zh_val_own(slot + 1);
    return answer_ok(result, &own);
  }
  struct timeval tv;
  if (!wait_budget(r, &tv))
    return answer_error(result, E_OTHER, "redis: the request's deadline has passed");
  redisContext *c = redisConnectWithTimeout(a.host, (int)a.port, tv);
  if (!c || c->err) {
    char msg[512];
    snprintf(msg, sizeof msg, "redis: connect to %s:%u: %s", a.host, a.port,
             c ? c->errstr : "out of memory");
    if (c)
      redisFree(c);
    bool keep = zh_host_bus_has_local(r->config->bus);
    snprintf(line, sizeof line, "redis: component \"%s\": %s%s", r->component, msg,
             keep ? " (the handle still publishes to local channels)" : "");
    log_line(r, line);
    if (!keep)
      return answer_error(result, E_OTHER, msg);
    /* local channels need no Redis: keep the handle, with the failure for other commands */
    r->conns[slot].failed = strdup(msg);
    r->conns[slot].host = strdup(a.host);
    r->conns[slot].port = a.port;
    if (!r->conns[slot].failed || !r->conns[slot].host) {
      slot_clear(&r->conns[slot]);
      return zh_error_new(ZH_ERR_RESOURCE, "redis: out of memory");
    }
    zh_val own = zh_val_own(slot + 1);
    return answer_ok(result, &own);
  }
  bool ok;
  zh_error *err = prepare(r, c, &a, result, &ok);
  if (!ok) {
    redisFree(c);
    return err;
  }
  r->conns[slot].c = c;
  r->conns[slot].port = a.port;
  if (r->config->bus && !(r->conns[slot].host = strdup(a.host))) {
    slot_clear(&r->conns[slot]);
    return zh_error_new(ZH_ERR_RESOURCE, "redis: out of memory");
  }
  zh_val own = zh_val_own(slot + 1);
  return answer_ok(result, &own);
}

static void conn_dtor(void *env, void *data, uint64_t rep) {
  (void)env;
  zh_host_instance *hi = data ? (zh_host_instance *)zh_wasip2_user((zh_wasip2_ctx *)data) : NULL;
  zh_host_redis_inst *r = hi ? hi->redis : NULL;
  if (!r || !r->conns || rep < 1 || rep > r->cap)
    return;
  slot_clear(&r->conns[rep - 1]);
}

/* ---- commands ---- */

/* The instance and connection of a method call (args[0] is the borrowed handle); NULL when
 * there is none, which the caller answers with closed(). */
static redisContext *conn_for(zh_cm_call *call, const zh_val *args, zh_host_redis_inst **r) {
  *r = inst_of(call);
  return conn_of(*r, &args[0]);
}

static zh_error *closed(const zh_host_redis_inst *r, const zh_val *args, zh_val *result) {
  uint64_t rep = args[0].of.res.rep;
  if (r && r->conns && rep >= 1 && rep <= r->cap && r->conns[rep - 1].failed)
    return answer_error(result, E_OTHER, r->conns[rep - 1].failed);
  return answer_error(result, E_OTHER, "redis: the connection is closed");
}

/* A lifted list<u8> is a raw list; an empty one may have no buffer (hiredis copies with
 * memcpy, which must not see NULL). */
static const char *payload_data(const zh_val *v, size_t *len) {
  const char *data = zh_val_list_raw_data(v);
  *len = data ? zh_val_list_len(v) : 0;
  return data ? data : "";
}

/* `CMD key payload` answering ok(()): publish and set. */
static zh_error *key_and_payload(zh_cm_call *call, zh_val *args, zh_val *result, const char *cmd) {
  zh_host_redis_inst *r;
  redisContext *c = conn_for(call, args, &r);
  if (!c)
    return closed(r, args, result);
  size_t plen;
  const char *argv[3] = {cmd, args[1].of.str.data, payload_data(&args[2], &plen)};
  size_t lens[3] = {strlen(cmd), args[1].of.str.len, plen};
  zh_error *err;
  char channel[300]; /* a publish is a hop to its channel, as the trigger's side names it */
  snprintf(channel, sizeof channel, "redis:%.*s", (int)(lens[1] > 280 ? 280 : lens[1]), argv[1]);
  redisReply *reply =
      command(r, c, strcmp(cmd, "PUBLISH") == 0 ? channel : NULL, 3, argv, lens, result, &err);
  if (!reply)
    return err;
  freeReplyObject(reply);
  return answer_ok(result, NULL);
}

/* ---- publish: Redis, or the event bus (bus.h) by the channel's transport ---- */

/* A `both` channel's mirrored PUBLISH: a ZH_HOP_REDIS hop from the component to the channel. */
static void record_publish(const zh_host_redis_inst *r, const zh_val *args, uint64_t t0,
                           size_t bytes, bool failed) {
  char channel[262]; /* named as the graph names it: redis:CHANNEL */
  snprintf(channel, sizeof channel, "redis:%.*s",
           (int)(args[1].of.str.len < 255 ? args[1].of.str.len : 255), args[1].of.str.data);
  zh_hops_record_traced(r->config->hops, r->owner ? r->owner->trace : NULL, r->component, channel,
                        ZH_HOP_REDIS, zh_hops_now_ns() - t0, bytes, failed);
}

typedef struct mirror_ctx {
  zh_host_redis_inst *r;
  conn_slot *slot;
  const zh_val *args;
  const char *data;
  size_t len;
} mirror_ctx;

/* PUBLISH for a `both` channel; the bus is told first, as the copy may come back at once. */
static bool mirror(void *env, char *why, size_t whylen) {
  mirror_ctx *m = env;
  zh_host_bus *bus = m->r->config->bus;
  const char *ch = m->args[1].of.str.data;
  size_t chlen = m->args[1].of.str.len;
  struct timeval tv;
  if (m->slot->pending)
    slot_connect(m->r, m->slot);
  if (!m->slot->c) {
    snprintf(why, whylen, "%s", m->slot->failed ? m->slot->failed : "redis: not connected");
    return false;
  }
  if (!wait_budget(m->r, &tv)) {
    snprintf(why, whylen, "redis: the request's deadline has passed");
    return false;
  }
  uint64_t t0 = zh_hops_now_ns();
  bool expected = zh_host_bus_expect_echo(bus, ch, chlen, m->slot->host, m->slot->port,
                                          (const uint8_t *)m->data, m->len);
  redisSetTimeout(m->slot->c, tv);
  const char *argv[3] = {"PUBLISH", ch, m->data};
  size_t lens[3] = {7, chlen, m->len};
  redisReply *reply = zh_host_redis_command_argv(m->slot->c, 3, argv, lens);
  bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
  if (expected && (!ok || reply->integer == 0))
    zh_host_bus_cancel_echo(bus, ch, chlen, m->slot->host, m->slot->port, (const uint8_t *)m->data,
                            m->len);
  if (!ok)
    snprintf(why, whylen, "redis: %s",
             reply && reply->type == REDIS_REPLY_ERROR ? reply->str
             : m->slot->c->errstr[0]                   ? m->slot->c->errstr
                                                       : "connection lost");
  record_publish(m->r, m->args, t0, m->len, !ok);
  freeReplyObject(reply);
  return ok;
}

static zh_error *fn_publish(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                            zh_val *result) {
  (void)env, (void)nargs;
  zh_host_redis_inst *r = inst_of(call);
  zh_host_bus *bus = r ? r->config->bus : NULL;
  zh_host_bus_route route = zh_host_bus_route_of(bus, args[1].of.str.data, args[1].of.str.len);
  uint64_t rep = args[0].of.res.rep;
  conn_slot *slot = r && r->conns && rep >= 1 && rep <= r->cap ? &r->conns[rep - 1] : NULL;
  if (route == ZH_HOST_BUS_REDIS || !slot || !slot_in_use(slot)) {
    return key_and_payload(call, args, result, "PUBLISH"); /* command() records the hop */
  }
  mirror_ctx m = {r, slot, args, NULL, 0};
  m.data = payload_data(&args[2], &m.len);
  char why[512];
  if (!zh_host_bus_publish(bus, r->component, args[1].of.str.data, args[1].of.str.len,
                           (const uint8_t *)m.data, m.len, r->deadline_ns,
                           route == ZH_HOST_BUS_BOTH ? mirror : NULL, &m, why, sizeof why))
    return answer_error(result, E_OTHER, why);
  return answer_ok(result, NULL);
}

/* `CMD key` on the call's connection (args[0] the handle, args[1] the key): the reply, or NULL
 * with the guest's answer already in `result` (and *err set only for a host failure). */
static redisReply *key_command(zh_cm_call *call, zh_val *args, zh_val *result, const char *cmd,
                               zh_error **err) {
  zh_host_redis_inst *r;
  redisContext *c = conn_for(call, args, &r);
  if (!c) {
    *err = closed(r, args, result);
    return NULL;
  }
  const char *argv[2] = {cmd, args[1].of.str.data};
  size_t lens[2] = {strlen(cmd), args[1].of.str.len};
  return command(r, c, NULL, 2, argv, lens, result, err);
}

static zh_error *fn_get(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  zh_error *err;
  redisReply *reply = key_command(call, args, result, "GET", &err);
  if (!reply)
    return err;
  zh_val opt = zh_val_none(), bytes;
  if (reply->type == REDIS_REPLY_STRING) {
    if ((err = zh_val_list_raw(&bytes, ZH_WIT_U8, reply->str, reply->len)) ||
        (err = zh_val_some(&opt, &bytes))) {
      freeReplyObject(reply);
      return err;
    }
  } else if (reply->type != REDIS_REPLY_NIL) {
    return type_error(reply, result);
  }
  freeReplyObject(reply);
  return answer_ok(result, &opt);
}

static zh_error *fn_set(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  return key_and_payload(call, args, result, "SET");
}

static zh_error *fn_incr(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  zh_error *err;
  redisReply *reply = key_command(call, args, result, "INCR", &err);
  if (!reply) {
    /* "ERR value is not an integer or out of range": the WIT calls this a type-error */
    zh_val *e = zh_val_case(result) == 1 ? zh_val_payload(result) : NULL;
    if (!err && e && zh_val_case(e) == E_OTHER &&
        strstr(zh_val_payload(e)->of.str.data, "not an integer")) {
      zh_val_drop(result);
      return answer_error(result, E_TYPE, NULL);
    }
    return err;
  }
  if (reply->type != REDIS_REPLY_INTEGER)
    return type_error(reply, result);
  zh_val v = zh_val_s64(reply->integer);
  freeReplyObject(reply);
  return answer_ok(result, &v);
}

/* COMMAND key? member... -> an integer reply as u32 (del, sadd, srem). */
static zh_error *count_command(zh_cm_call *call, zh_val *args, zh_val *result, const char *name,
                               const zh_val *key, const zh_val *list) {
  zh_host_redis_inst *r;
  redisContext *c = conn_for(call, args, &r);
  if (!c)
    return closed(r, args, result);
  size_t n = zh_val_list_len(list), k = key ? 1 : 0;
  const zh_val *items = zh_val_list_items((zh_val *)list);
  const char **argv = calloc(n + 2, sizeof *argv);
  size_t *lens = calloc(n + 2, sizeof *lens);
  if (!argv || !lens) {
    free(argv);
    free(lens);
    return zh_error_new(ZH_ERR_RESOURCE, "redis: out of memory");
  }
  argv[0] = name;
  lens[0] = strlen(name);
  if (key) {
    argv[1] = key->of.str.data;
    lens[1] = key->of.str.len;
  }
  for (size_t i = 0; i < n; i++) {
    argv[1 + k + i] = items[i].of.str.data;
    lens[1 + k + i] = items[i].of.str.len;
  }
  zh_error *err = NULL;
  redisReply *reply = command(r, c, NULL, (int)(1 + k + n), argv, lens, result, &err);
  free(argv);
  free(lens);
  if (!reply)
    return err;
  if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0 || reply->integer > UINT32_MAX)
    return type_error(reply, result);
  zh_val v = zh_val_u32((uint32_t)reply->integer);
  freeReplyObject(reply);
  return answer_ok(result, &v);
}

static zh_error *fn_del(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  return count_command(call, args, result, "DEL", NULL, &args[1]);
}

static zh_error *fn_sadd(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  return count_command(call, args, result, "SADD", &args[1], &args[2]);
}

static zh_error *fn_srem(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  return count_command(call, args, result, "SREM", &args[1], &args[2]);
}

static zh_error *fn_smembers(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                             zh_val *result) {
  (void)env, (void)nargs;
  zh_error *err;
  redisReply *reply = key_command(call, args, result, "SMEMBERS", &err);
  if (!reply)
    return err;
  if (reply->type != REDIS_REPLY_ARRAY)
    return type_error(reply, result);
  for (size_t i = 0; i < reply->elements; i++) {
    const redisReply *e = reply->element[i];
    if (e->type != REDIS_REPLY_STRING || !utf8_valid((const unsigned char *)e->str, e->len))
      return type_error(reply, result);
  }
  zh_val list;
  if ((err = zh_val_list(&list, reply->elements))) {
    freeReplyObject(reply);
    return err;
  }
  zh_val *items = zh_val_list_items(&list);
  for (size_t i = 0; i < reply->elements && !err; i++)
    err = zh_val_string(&items[i], reply->element[i]->str, reply->element[i]->len);
  freeReplyObject(reply);
  if (err) {
    zh_val_drop(&list);
    return err;
  }
  return answer_ok(result, &list);
}

/* ---- execute ---- */

/* Appends the reply's results to `out` (flattening arrays), or false for a status that is
 * not UTF-8. `*n` counts what was appended; `cap` was sized by count_results. */
static size_t count_results(const redisReply *reply) {
  if (reply->type != REDIS_REPLY_ARRAY)
    return 1;
  size_t n = 0;
  for (size_t i = 0; i < reply->elements; i++)
    n += count_results(reply->element[i]);
  return n;
}

static zh_error *put_results(const redisReply *reply, zh_val *items, size_t *n, bool *bad) {
  zh_val payload;
  zh_error *err = NULL;
  switch (reply->type) {
  case REDIS_REPLY_ARRAY:
    for (size_t i = 0; i < reply->elements && !err && !*bad; i++)
      err = put_results(reply->element[i], items, n, bad);
    return err;
  case REDIS_REPLY_NIL:
    return zh_val_variant(&items[(*n)++], R_NIL, NULL);
  case REDIS_REPLY_INTEGER:
    payload = zh_val_s64(reply->integer);
    return zh_val_variant(&items[(*n)++], R_INT64, &payload);
  case REDIS_REPLY_STATUS:
    if (!utf8_valid((const unsigned char *)reply->str, reply->len)) {
      *bad = true;
      return NULL;
    }
    if ((err = zh_val_string(&payload, reply->str, reply->len)))
      return err;
    return zh_val_variant(&items[(*n)++], R_STATUS, &payload);
  case REDIS_REPLY_STRING:
    if ((err = zh_val_list_raw(&payload, ZH_WIT_U8, reply->str, reply->len)))
      return err;
    return zh_val_variant(&items[(*n)++], R_BINARY, &payload);
  default: /* an error nested in an array (EXEC): report it as the command's */
    *bad = true;
    return NULL;
  }
}

static zh_error *fn_execute(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                            zh_val *result) {
  (void)env, (void)nargs;
  zh_host_redis_inst *r;
  redisContext *c = conn_for(call, args, &r);
  if (!c)
    return closed(r, args, result);
  size_t n = zh_val_list_len(&args[2]);
  zh_val *params = zh_val_list_items(&args[2]);
  const char **argv = calloc(n + 1, sizeof *argv);
  size_t *lens = calloc(n + 1, sizeof *lens);
  char(*nums)[24] = calloc(n + 1, sizeof *nums);
  if (!argv || !lens || !nums) {
    free(argv);
    free(lens);
    free(nums);
    return zh_error_new(ZH_ERR_RESOURCE, "redis: out of memory");
  }
  argv[0] = args[1].of.str.data;
  lens[0] = args[1].of.str.len;
  for (size_t i = 0; i < n; i++) {
    zh_val *p = zh_val_payload(&params[i]);
    if (zh_val_case(&params[i]) == P_INT64) {
      lens[i + 1] = (size_t)snprintf(nums[i], sizeof nums[i], "%lld", (long long)p->of.s);
      argv[i + 1] = nums[i];
    } else {
      argv[i + 1] = payload_data(p, &lens[i + 1]);
    }
  }
  zh_error *err = NULL;
  redisReply *reply = command(r, c, NULL, (int)(n + 1), argv, lens, result, &err);
  free(argv);
  free(lens);
  free(nums);
  if (!reply)
    return err;
  zh_val list;
  bool bad = false;
  size_t got = 0;
  if ((err = zh_val_list(&list, count_results(reply)))) {
    freeReplyObject(reply);
    return err;
  }
  err = put_results(reply, zh_val_list_items(&list), &got, &bad);
  freeReplyObject(reply);
  if (err || bad) {
    zh_val_drop(&list);
    return err ? err : answer_error(result, E_TYPE, NULL);
  }
  return answer_ok(result, &list);
}

/* ---- the linker ---- */

zh_error *zh_host_redis_define_linker(zh_cm_linker *linker) {
  static const struct {
    const char *name;
    zh_cm_host_fn fn;
  } funcs[] = {
      {"[static]connection.open", fn_open}, {"[method]connection.publish", fn_publish},
      {"[method]connection.get", fn_get},   {"[method]connection.set", fn_set},
      {"[method]connection.incr", fn_incr}, {"[method]connection.del", fn_del},
      {"[method]connection.sadd", fn_sadd}, {"[method]connection.smembers", fn_smembers},
      {"[method]connection.srem", fn_srem}, {"[method]connection.execute", fn_execute},
  };
  zh_error *err = zh_cm_linker_define_resource(linker, REDIS_IFACE, "connection", conn_dtor, NULL);
  for (size_t i = 0; !err && i < sizeof funcs / sizeof funcs[0]; i++) {
    const zh_wit_func *type = zh_host_func(REDIS_IFACE, funcs[i].name);
    if (!type)
      return zh_error_new(ZH_ERR_USAGE, "redis: the built-in WIT has no %s#%s", REDIS_IFACE,
                          funcs[i].name);
    err = zh_cm_linker_define_func(linker, REDIS_IFACE, funcs[i].name, type, funcs[i].fn, NULL);
  }
  return err;
}
