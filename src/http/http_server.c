/* The server: the listening socket, the listener thread, the workers and the stop.
 *
 * Connections wait in an epoll set while idle, each registered once, edge-triggered, so a
 * connection that becomes readable wakes one worker and parking it again costs no system
 * call (http_internal.h has the slot states). Workers, one per core to begin with, wait on
 * that set; a worker takes the connection, serves the requests whose bytes are there and
 * parks it again (or closes it). So a busy server runs about as many threads as cores, and
 * a request costs no thread switch when others are ready.
 *
 * A handler may block (a long guest computation, a slow client's body, an outbound call):
 * the listener thread checks every few milliseconds, and when no worker is waiting and one
 * has been in the same request for longer than ZH_HTTP_SPAWN_AFTER_MS it starts another
 * worker, up to max_connections of them, so a slow handler never stalls the other
 * connections. It does so at once when that worker is running (a long computation), or when
 * it is blocked and the process is not keeping half the cores busy. A blocked worker in a
 * busy process (a publisher held by the bus's backpressure, say), or one that is runnable
 * but kept off the CPU by other work on the machine, gets a replacement only after
 * ZH_HTTP_SPAWN_BLOCKED_AFTER_MS: the cores have work already, and more runnable threads
 * than cores only add task switches. Workers never end before the stop. The listener also
 * accepts (beyond max_connections open connections, new ones get a 503 and are closed) and closes
 * parked connections whose idle timeout has passed.
 *
 * Stop: the stop pipe becomes readable, which ends the listener (it closes the parked
 * connections) and every worker's wait. In-flight requests finish (their responses say
 * `Connection: close`) until the grace period ends; then the remaining sockets are shut
 * down, which fails their reads and writes, and the workers are joined. Sockets are closed
 * under `mu`, so the shutdown never reaches an fd number that was closed and reused. */
#include "http/http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void apply_defaults(zh_http_config *c) {
  if (!c->max_header_bytes)
    c->max_header_bytes = ZH_HTTP_MAX_HEADER_BYTES;
  if (!c->max_headers)
    c->max_headers = ZH_HTTP_MAX_HEADERS;
  if (!c->max_url_bytes)
    c->max_url_bytes = ZH_HTTP_MAX_URL_BYTES;
  if (!c->max_body_bytes)
    c->max_body_bytes = ZH_HTTP_MAX_BODY_BYTES;
  if (!c->header_timeout_ms)
    c->header_timeout_ms = ZH_HTTP_HEADER_TIMEOUT_MS;
  if (!c->idle_timeout_ms)
    c->idle_timeout_ms = ZH_HTTP_IDLE_TIMEOUT_MS;
  if (!c->request_timeout_ms)
    c->request_timeout_ms = ZH_HTTP_REQUEST_TIMEOUT_MS;
  if (!c->max_connections)
    c->max_connections = ZH_HTTP_MAX_CONNECTIONS;
}

/* "host:port" or "[v6]:port" -> host and port strings in the caller's buffers. */
static zh_error *split_addr(const char *addr, char *host, size_t host_cap, char *port,
                            size_t port_cap) {
  const char *colon = strrchr(addr, ':');
  const char *h = addr;
  size_t hlen;
  if (addr[0] == '[') {
    const char *close = strchr(addr, ']');
    if (!close || close[1] != ':')
      return zh_error_new(ZH_ERR_USAGE, "http: bad address '%s': expected [IPv6]:PORT", addr);
    h = addr + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    if (!colon || strchr(addr, ':') != colon)
      return zh_error_new(ZH_ERR_USAGE, "http: bad address '%s': expected HOST:PORT", addr);
    hlen = (size_t)(colon - addr);
  }
  const char *p = colon + 1;
  size_t plen = strlen(p);
  bool digits = plen > 0 && plen <= 5;
  for (size_t i = 0; i < plen && digits; i++)
    digits = p[i] >= '0' && p[i] <= '9';
  if (!digits || atoi(p) > 65535)
    return zh_error_new(ZH_ERR_USAGE, "http: bad address '%s': port must be 0..65535", addr);
  if (hlen == 0 || hlen >= host_cap || plen >= port_cap)
    return zh_error_new(ZH_ERR_USAGE, "http: bad address '%s': expected HOST:PORT", addr);
  memcpy(host, h, hlen);
  host[hlen] = 0;
  memcpy(port, p, plen + 1);
  return NULL;
}

/* "ip:port" of a socket address, brackets around IPv6. */
static void format_addr(const struct sockaddr *sa, char *out, size_t cap, uint16_t *port) {
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned p = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    p = ntohs(in->sin_port);
    snprintf(out, cap, "%s:%u", ip, p);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    p = ntohs(in6->sin6_port);
    snprintf(out, cap, "[%s]:%u", ip, p);
  } else {
    snprintf(out, cap, "unknown");
  }
  if (port)
    *port = (uint16_t)p;
}

/* Numeric addresses only (and "localhost"): no resolver, so the static CLI needs no NSS
 * libraries at run time. */
static zh_error *parse_sockaddr(const char *addr, struct sockaddr_storage *ss, socklen_t *len) {
  char host[256], port[8];
  zh_error *err = split_addr(addr, host, sizeof host, port, sizeof port);
  if (err)
    return err;
  uint16_t p = (uint16_t)atoi(port);
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
  if (strcmp(host, "localhost") == 0)
    snprintf(host, sizeof host, "127.0.0.1");
  if (addr[0] != '[' && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(p);
    *len = sizeof *in;
    return NULL;
  }
  if (addr[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(p);
    *len = sizeof *in6;
    return NULL;
  }
  return zh_error_new(ZH_ERR_USAGE,
                      "http: bad address '%s': expected IPv4:PORT, [IPv6]:PORT or localhost:PORT",
                      addr);
}

static zh_error *open_listener(zh_http_server *s, const char *addr) {
  struct sockaddr_storage sa;
  socklen_t sa_len = 0;
  zh_error *err = parse_sockaddr(addr, &sa, &sa_len);
  if (err)
    return err;
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return zh_error_new(ZH_ERR_IO, "http: socket for %s: %s", addr, strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sa.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  const char *step = "bind";
  if (bind(fd, (struct sockaddr *)&sa, sa_len) != 0 || (step = "listen", listen(fd, 1024)) != 0) {
    int saved = errno;
    close(fd);
    return zh_error_new(ZH_ERR_IO, "http: %s on %s: %s", step, addr, strerror(saved));
  }
  struct sockaddr_storage ss = {0};
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  format_addr((struct sockaddr *)&ss, s->address, sizeof s->address, &s->port);
  s->listen_fd = fd;
  return NULL;
}

/* How often the listener looks at the workers and the idle connections, and how long a
 * worker may hold a connection, with no other worker waiting, before another one starts. */
#define TICK_MS 5
#define ZH_HTTP_SPAWN_AFTER_MS 10u
/* A held worker that neither computes nor is blocked in an idle process gets a replacement
 * after this long all the same: the busy CPU may be other work (bus subscribers, say), and
 * the wait may be long (a slow outbound service), so this bounds how long the other
 * connections can wait for a worker. */
#define ZH_HTTP_SPAWN_BLOCKED_AFTER_MS 100u
#define STOP_TAG UINT64_MAX /* the stop pipe's epoll event */
#define NO_SLOT UINT32_MAX

static uint64_t sg_make(uint64_t gen, enum zh_http_slot_state st) { return gen << 32 | st; }
static enum zh_http_slot_state sg_state(uint64_t sg) {
  return (enum zh_http_slot_state)(sg & 0xffffffffu);
}

static uint64_t slot_tag(const zh_http_server *s, zh_http_slot *slot) {
  return (uint64_t)(slot - s->slots) |
         (atomic_load_explicit(&slot->sg, memory_order_relaxed) & ~(uint64_t)0xffffffffu);
}

static enum zh_http_slot_state slot_state(zh_http_slot *slot) {
  return sg_state(atomic_load_explicit(&slot->sg, memory_order_acquire));
}

/* Takes the slot of an epoll event (tag) or, from the listener, a parked one (tag's
 * generation the current one): PARKED becomes OWNED, if the generation is still the tag's.
 * False when the connection was closed meanwhile (idle timeout, stop) or someone else
 * holds it; for an event (`event`), an OWNED slot becomes PENDING, so its owner learns
 * that bytes came after its last read. */
static bool slot_claim(zh_http_slot *slot, uint64_t tag, bool event) {
  uint64_t cur = atomic_load_explicit(&slot->sg, memory_order_acquire);
  for (;;) {
    enum zh_http_slot_state st = sg_state(cur);
    if (cur >> 32 != tag >> 32)
      return false;
    enum zh_http_slot_state to = st == ZH_HTTP_SLOT_PARKED           ? ZH_HTTP_SLOT_OWNED
                                 : event && st == ZH_HTTP_SLOT_OWNED ? ZH_HTTP_SLOT_PENDING
                                                                     : st;
    if (to == st)
      return false;
    if (atomic_compare_exchange_weak_explicit(&slot->sg, &cur, sg_make(cur >> 32, to),
                                              memory_order_acq_rel, memory_order_acquire))
      return to == ZH_HTTP_SLOT_OWNED;
  }
}

/* With mu held, the slot owned by the caller: closes its connection and frees the slot. */
static void slot_close(zh_http_server *s, zh_http_slot *slot) {
  epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, slot->fd, NULL);
  close(slot->fd);
  slot->fd = -1;
  uint64_t gen = atomic_load_explicit(&slot->sg, memory_order_relaxed) >> 32;
  atomic_store_explicit(&slot->sg, sg_make((gen + 1) & 0xffffffffu, ZH_HTTP_SLOT_FREE),
                        memory_order_release);
  slot->next_free = s->free_head;
  s->free_head = (uint32_t)(slot - s->slots);
  s->nopen--;
  pthread_cond_broadcast(&s->idle);
}

/* With mu held: closes a parked connection unless a worker takes it first. */
static void slot_close_parked(zh_http_server *s, zh_http_slot *slot) {
  uint64_t cur = atomic_load_explicit(&slot->sg, memory_order_acquire);
  if (sg_state(cur) == ZH_HTTP_SLOT_PARKED && slot_claim(slot, cur, false))
    slot_close(s, slot);
}

static void set_idle_deadline(zh_http_server *s, zh_http_slot *slot) {
  atomic_store_explicit(&slot->idle_deadline_ns,
                        zh_http_now_ns() + (uint64_t)s->config.idle_timeout_ms * 1000000u,
                        memory_order_relaxed);
}

/* With mu held, a new connection: registered once, edge-triggered, for as long as it is
 * open (the kernel reports it at once if bytes are already there); false if the kernel
 * refuses. */
static bool slot_admit_park(zh_http_server *s, zh_http_slot *slot) {
  set_idle_deadline(s, slot);
  uint64_t gen = atomic_load_explicit(&slot->sg, memory_order_relaxed) >> 32;
  atomic_store_explicit(&slot->sg, sg_make(gen, ZH_HTTP_SLOT_PARKED), memory_order_release);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = slot_tag(s, slot)};
  return epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, slot->fd, &ev) == 0;
}

/* Without mu, by the worker that owns the slot and has read until the socket was empty
 * (zh_http_conn_serve): parks the connection. True when it is parked: the caller no
 * longer owns it. False when an event came since that read (PENDING): the caller still
 * owns it and serves it again, since that event's worker did not take it. */
static bool slot_repark(zh_http_server *s, zh_http_slot *slot) {
  set_idle_deadline(s, slot);
  uint64_t gen = atomic_load_explicit(&slot->sg, memory_order_relaxed) >> 32;
  uint64_t expect = sg_make(gen, ZH_HTTP_SLOT_OWNED);
  if (atomic_compare_exchange_strong_explicit(&slot->sg, &expect, sg_make(gen, ZH_HTTP_SLOT_PARKED),
                                              memory_order_acq_rel, memory_order_acquire))
    return true;
  /* Only events move an owned slot, and only to PENDING: take the mark back. */
  atomic_store_explicit(&slot->sg, sg_make(gen, ZH_HTTP_SLOT_OWNED), memory_order_release);
  return false;
}

typedef struct worker_arg {
  zh_http_server *server;
  size_t index;
} worker_arg;

/* The common path takes no lock: a worker waits, claims the slot of its event, serves,
 * and parks it again. Only closing a connection takes mu. */
static void *worker_main(void *arg) {
  worker_arg wa = *(worker_arg *)arg;
  free(arg);
  zh_http_server *s = wa.server;
  atomic_store_explicit(&s->tids[wa.index], (int)gettid(), memory_order_relaxed);
  zh_http_conn conn;
  bool ok = zh_http_conn_init(&conn, s);
  conn.busy_since = &s->busy_since[wa.index];
  for (;;) {
    atomic_fetch_add_explicit(&s->nwaiting, 1, memory_order_relaxed);
    atomic_store_explicit(&s->busy_since[wa.index], 0, memory_order_relaxed);
    struct epoll_event ev;
    int n = epoll_wait(s->epoll_fd, &ev, 1, -1);
    atomic_fetch_sub_explicit(&s->nwaiting, 1, memory_order_relaxed);
    if (n <= 0 || ev.data.u64 == STOP_TAG) {
      if (n < 0 && errno == EINTR)
        continue;
      break;
    }
    /* Counted busy before the claim: a stop that sees no busy worker after the listener has
     * swept the parked connections finds none being taken either. */
    atomic_fetch_add_explicit(&s->nbusy, 1, memory_order_seq_cst);
    zh_http_slot *slot = &s->slots[(uint32_t)ev.data.u64];
    /* Else closed meanwhile (idle timeout, stop), or held by another worker, which now
     * knows to read again. */
    if (slot_claim(slot, ev.data.u64, true)) {
      atomic_store_explicit(&s->busy_since[wa.index], zh_http_now_ns(), memory_order_relaxed);
      memcpy(conn.client, slot->client, sizeof conn.client);
      bool park;
      do
        park = ok && zh_http_conn_serve(&conn, slot->fd) &&
               !__atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST);
      while (park && !slot_repark(s, slot));
      if (!park) {
        pthread_mutex_lock(&s->mu);
        slot_close(s, slot);
        pthread_mutex_unlock(&s->mu);
      }
    }
    /* A stop waits under mu for nbusy to reach 0: seq_cst against its store of stopping,
     * so either it sees the decrement or this sees stopping and wakes it. */
    atomic_fetch_sub_explicit(&s->nbusy, 1, memory_order_seq_cst);
    if (__atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST)) {
      pthread_mutex_lock(&s->mu);
      pthread_cond_broadcast(&s->idle);
      pthread_mutex_unlock(&s->mu);
    }
  }
  if (ok)
    zh_http_conn_release(&conn);
  return NULL;
}

/* With mu held: starts one more worker. False if it cannot. */
static bool spawn_worker(zh_http_server *s) {
  if (s->nthreads >= s->config.max_connections)
    return false;
  worker_arg *wa = malloc(sizeof *wa);
  if (!wa)
    return false;
  wa->server = s;
  wa->index = s->nthreads;
  atomic_store_explicit(&s->busy_since[wa->index], 0, memory_order_relaxed);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (s->config.thread_stack_bytes)
    pthread_attr_setstacksize(&attr, s->config.thread_stack_bytes);
  int r = pthread_create(&s->threads[s->nthreads], &attr, worker_main, wa);
  pthread_attr_destroy(&attr);
  if (r) {
    free(wa);
    return false;
  }
  s->nthreads++;
  return true;
}

static void reject(int fd) {
  static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 24\r\nConnection: close\r\n\r\n"
                             "503 Service Unavailable\n";
  (void)send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  close(fd);
}

/* Registers an accepted connection, parked until its first bytes; false when there is no
 * room (the caller turns it away). */
static bool admit(zh_http_server *s, int fd, const struct sockaddr *peer) {
  pthread_mutex_lock(&s->mu);
  bool admitted = false;
  if (s->free_head != NO_SLOT) {
    zh_http_slot *slot = &s->slots[s->free_head];
    s->free_head = slot->next_free;
    slot->fd = fd;
    format_addr(peer, slot->client, sizeof slot->client, NULL);
    s->nopen++;
    admitted = slot_admit_park(s, slot);
    if (!admitted) { /* give the slot back; the caller closes fd */
      slot->fd = -1;
      uint64_t gen = atomic_load_explicit(&slot->sg, memory_order_relaxed) >> 32;
      atomic_store_explicit(&slot->sg, sg_make(gen, ZH_HTTP_SLOT_FREE), memory_order_release);
      slot->next_free = s->free_head;
      s->free_head = (uint32_t)(slot - s->slots);
      s->nopen--;
    }
  }
  pthread_mutex_unlock(&s->mu);
  return admitted;
}

/* Whether thread `tid` of this process is waiting for a CPU or on one (state R), as
 * opposed to blocked; false when it cannot be told. */
static bool thread_runnable(int tid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return false;
  buf[n] = 0;
  const char *close_paren = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
  return close_paren && close_paren[1] == ' ' && close_paren[2] == 'R';
}

/* A CPU-time clock in ns; 0 if it cannot be read. */
static uint64_t cpu_clock_ns(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* With mu held: closes parked connections past their idle timeout, and starts a worker
 * when every worker is held and one has been for a while (a slow handler). */
static void tick(zh_http_server *s) {
  uint64_t now = zh_http_now_ns();
  for (size_t i = 0; i < s->config.max_connections; i++) {
    zh_http_slot *slot = &s->slots[i];
    if (slot_state(slot) == ZH_HTTP_SLOT_PARKED &&
        atomic_load_explicit(&slot->idle_deadline_ns, memory_order_relaxed) <= now)
      slot_close_parked(s, slot);
  }
  uint64_t process_cpu = cpu_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  uint64_t wall = now - s->tick_ns, used = process_cpu - s->tick_process_cpu_ns;
  bool first = s->tick_ns == 0;
  s->tick_ns = now;
  s->tick_process_cpu_ns = process_cpu;
  /* At least half the cores' worth of CPU since the last tick. */
  bool process_busy = !first && process_cpu && used * 2 >= wall * s->base_workers;
  bool spawn = false;
  for (size_t i = 0; i < s->nthreads; i++) {
    uint64_t since = atomic_load_explicit(&s->busy_since[i], memory_order_relaxed);
    /* `since` after `now`: the worker took its request after now was read */
    uint64_t held_ns = since && now > since ? now - since : 0;
    bool held = held_ns >= ZH_HTTP_SPAWN_AFTER_MS * 1000000ull;
    uint64_t cpu = 0;
    if (held) {
      clockid_t id;
      if (pthread_getcpuclockid(s->threads[i], &id) == 0)
        cpu = cpu_clock_ns(id);
      /* Running: a quarter of the interval on a CPU since the last tick. Unknown (no clock,
       * or not held at the last tick): counted as blocked. */
      bool running =
          cpu && s->tick_worker_cpu_ns[i] && (cpu - s->tick_worker_cpu_ns[i]) * 4 >= wall;
      if (running || held_ns >= ZH_HTTP_SPAWN_BLOCKED_AFTER_MS * 1000000ull) {
        spawn = true;
      } else if (!process_busy) {
        /* Blocked, or only kept off the CPU by other work on the machine (state R), which
         * one more thread would not get done sooner. */
        int tid = atomic_load_explicit(&s->tids[i], memory_order_relaxed);
        if (!tid || !thread_runnable(tid))
          spawn = true;
      }
    }
    s->tick_worker_cpu_ns[i] = cpu;
  }
  if (spawn && atomic_load_explicit(&s->nwaiting, memory_order_relaxed) == 0 && !s->stopping)
    spawn_worker(s);
}

static void *listener_main(void *arg) {
  zh_http_server *s = arg;
  uint64_t last_tick = 0;
  for (;;) {
    struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
                          {.fd = s->stop_pipe[0], .events = POLLIN}};
    int r = poll(p, 2, TICK_MS);
    if (r < 0 && errno != EINTR)
      break;
    if (r > 0 && p[1].revents)
      break;
    if (r > 0 && p[0].revents) {
      for (int k = 0; k < 64; k++) { /* a burst of connections, then the tick */
        struct sockaddr_storage ss = {0};
        socklen_t sl = sizeof ss;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            poll(NULL, 0, 10); /* out of descriptors: back off instead of spinning */
          break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!admit(s, fd, (struct sockaddr *)&ss))
          reject(fd);
      }
    }
    /* At its pace, not once per accept: a burst of new connections scans no slots. */
    uint64_t now = zh_http_now_ns();
    if (now - last_tick >= (uint64_t)TICK_MS * 1000000u) {
      last_tick = now;
      pthread_mutex_lock(&s->mu);
      tick(s);
      pthread_mutex_unlock(&s->mu);
    }
  }
  /* Stopping: idle connections close at once; held ones close after their response. */
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->config.max_connections; i++)
    slot_close_parked(s, &s->slots[i]);
  pthread_mutex_unlock(&s->mu);
  close(s->listen_fd);
  s->listen_fd = -1;
  return NULL;
}

static void free_parts(zh_http_server *s) {
  if (s->listen_fd >= 0)
    close(s->listen_fd);
  if (s->epoll_fd >= 0)
    close(s->epoll_fd);
  if (s->stop_pipe[0] >= 0) {
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
  }
  free(s->slots);
  free(s->threads);
  free(s->busy_since);
  free(s->tick_worker_cpu_ns);
  free((void *)s->tids);
  free(s);
}

zh_error *zh_http_server_start(const zh_http_config *config, zh_http_server **out) {
  *out = NULL;
  if (!config || !config->handler || !config->addr)
    return zh_error_new(ZH_ERR_USAGE, "http: the configuration needs an address and a handler");
  zh_http_server *s = calloc(1, sizeof *s);
  if (!s)
    return zh_error_new(ZH_ERR_RESOURCE, "http: out of memory");
  s->config = *config;
  apply_defaults(&s->config);
  s->listen_fd = s->epoll_fd = -1;
  s->stop_pipe[0] = s->stop_pipe[1] = -1;
  size_t n = s->config.max_connections;
  s->slots = calloc(n, sizeof *s->slots);
  s->threads = calloc(n, sizeof *s->threads);
  s->busy_since = calloc(n, sizeof *s->busy_since);
  s->tick_worker_cpu_ns = calloc(n, sizeof *s->tick_worker_cpu_ns);
  s->tids = calloc(n, sizeof *s->tids);
  if (!s->slots || !s->threads || !s->busy_since || !s->tick_worker_cpu_ns || !s->tids) {
    free_parts(s);
    return zh_error_new(ZH_ERR_RESOURCE, "http: out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    s->slots[i].fd = -1;
    s->slots[i].next_free = i + 1 < n ? (uint32_t)(i + 1) : NO_SLOT;
  }
  s->free_head = 0;
  zh_error *err = open_listener(s, config->addr);
  if (err) {
    free_parts(s);
    return err;
  }
  s->config.addr = s->address;
  const char *step = "pipe";
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = STOP_TAG}; /* level: wakes all */
  if (pipe2(s->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
      (step = "epoll_create1", s->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
      (step = "epoll_ctl", epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->stop_pipe[0], &ev)) != 0) {
    err = zh_error_new(ZH_ERR_IO, "http: %s: %s", step, strerror(errno));
    free_parts(s);
    return err;
  }
  pthread_mutex_init(&s->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->idle, &ca);
  pthread_condattr_destroy(&ca);
  /* One worker per core; more start only for handlers that hold theirs. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  size_t want = cores < 1 ? 1 : (size_t)cores;
  pthread_mutex_lock(&s->mu);
  s->base_workers = want;
  while (s->nthreads < want && spawn_worker(s)) {
  }
  bool have_workers = s->nthreads > 0;
  pthread_mutex_unlock(&s->mu);
  if (!have_workers || pthread_create(&s->listener, NULL, listener_main, s) != 0) {
    zh_http_server_stop(s, 0); /* ends the workers that did start */
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->idle);
    free_parts(s);
    return zh_error_new(ZH_ERR_RESOURCE, "http: cannot start the server's threads");
  }
  s->listener_running = true;
  *out = s;
  return NULL;
}

uint16_t zh_http_server_port(const zh_http_server *server) { return server->port; }

const char *zh_http_server_address(const zh_http_server *server) { return server->address; }

void zh_http_server_stop(zh_http_server *s, uint32_t grace_ms) {
  pthread_mutex_lock(&s->mu);
  if (s->stopped) {
    pthread_mutex_unlock(&s->mu);
    return;
  }
  s->stopped = true;
  __atomic_store_n(&s->stopping, true, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&s->mu);
  ssize_t w;
  do {
    w = write(s->stop_pipe[1], "x", 1);
  } while (w < 0 && errno == EINTR);
  if (s->listener_running) {
    pthread_join(s->listener, NULL);
    s->listener_running = false;
  }

  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += grace_ms / 1000;
  until.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&s->mu);
  while (atomic_load_explicit(&s->nbusy, memory_order_seq_cst) > 0) {
    if (pthread_cond_timedwait(&s->idle, &s->mu, &until) == ETIMEDOUT)
      break;
  }
  /* Grace is over: cut what is left. */
  for (size_t i = 0; i < s->config.max_connections; i++) {
    if (slot_state(&s->slots[i]) == ZH_HTTP_SLOT_OWNED)
      shutdown(s->slots[i].fd, SHUT_RDWR);
  }
  size_t nthreads = s->nthreads;
  pthread_mutex_unlock(&s->mu);
  for (size_t i = 0; i < nthreads; i++)
    pthread_join(s->threads[i], NULL);
  /* Connections a worker had parked before it saw the stop (the listener closed the
   * others). */
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->config.max_connections; i++)
    if (slot_state(&s->slots[i]) != ZH_HTTP_SLOT_FREE)
      slot_close(s, &s->slots[i]);
  pthread_mutex_unlock(&s->mu);
}

void zh_http_server_free(zh_http_server *s) {
  if (!s)
    return;
  zh_http_server_stop(s, 0);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->idle);
  free_parts(s);
}
