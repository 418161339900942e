/* The server: the listening socket, the listener thread, the worker pool and the stop.
 *
 * The listener accepts and queues each connection for a worker; an idle worker takes it,
 * or a new worker is started while fewer than max_connections exist. Workers never end
 * before the stop, so after warm-up a connection costs no thread creation. Beyond
 * max_connections open connections, new ones get a 503 and are closed.
 *
 * Stop: the stop pipe becomes readable, which ends the listener and every idle wait.
 * In-flight requests finish (their responses say `Connection: close`) until the grace
 * period ends; then the remaining sockets are shut down, which fails their reads and
 * writes, and the workers are joined. Workers close their fds under `mu`, so the shutdown
 * never reaches an fd number that was closed and reused. */
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

typedef struct worker_arg {
  zh_http_server *server;
  size_t index;
} worker_arg;

static void *worker_main(void *arg) {
  worker_arg wa = *(worker_arg *)arg;
  free(arg);
  zh_http_server *s = wa.server;
  zh_http_conn conn;
  bool ok = zh_http_conn_init(&conn, s);
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (s->q_len == 0 && !s->stopping) {
      s->nidle++;
      pthread_cond_wait(&s->work, &s->mu);
      s->nidle--;
    }
    if (s->q_len == 0)
      break; /* stopping and nothing queued */
    int fd = s->queue[s->q_head];
    s->q_head = (s->q_head + 1) % s->config.max_connections;
    s->q_len--;
    s->conn_fd[wa.index] = fd;
    pthread_mutex_unlock(&s->mu);
    if (ok) {
      struct sockaddr_storage ss = {0};
      socklen_t sl = sizeof ss;
      if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        format_addr((struct sockaddr *)&ss, conn.client, sizeof conn.client, NULL);
      else
        snprintf(conn.client, sizeof conn.client, "unknown");
      zh_http_conn_serve(&conn, fd);
    }
    pthread_mutex_lock(&s->mu);
    close(fd);
    s->conn_fd[wa.index] = -1;
    s->nbusy--;
    pthread_cond_broadcast(&s->idle);
  }
  pthread_mutex_unlock(&s->mu);
  if (ok)
    zh_http_conn_release(&conn);
  return NULL;
}

/* With mu held: starts one more worker. False if it cannot. */
static bool spawn_worker(zh_http_server *s) {
  worker_arg *wa = malloc(sizeof *wa);
  if (!wa)
    return false;
  wa->server = s;
  wa->index = s->nthreads;
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

static void *listener_main(void *arg) {
  zh_http_server *s = arg;
  for (;;) {
    struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
                          {.fd = s->stop_pipe[0], .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[1].revents)
      break;
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        poll(NULL, 0, 10); /* out of descriptors: back off instead of spinning */
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_mutex_lock(&s->mu);
    bool queued = false;
    if (s->nbusy < s->config.max_connections &&
        (s->nidle > s->q_len || s->nthreads < s->config.max_connections)) {
      if (s->nidle <= s->q_len && !spawn_worker(s)) {
        queued = false;
      } else {
        s->queue[(s->q_head + s->q_len) % s->config.max_connections] = fd;
        s->q_len++;
        s->nbusy++;
        queued = true;
        pthread_cond_signal(&s->work);
      }
    }
    pthread_mutex_unlock(&s->mu);
    if (!queued)
      reject(fd);
  }
  close(s->listen_fd);
  s->listen_fd = -1;
  return NULL;
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
  s->listen_fd = -1;
  s->stop_pipe[0] = s->stop_pipe[1] = -1;
  size_t n = s->config.max_connections;
  s->queue = calloc(n, sizeof *s->queue);
  s->threads = calloc(n, sizeof *s->threads);
  s->conn_fd = malloc(n * sizeof *s->conn_fd);
  zh_error *err = NULL;
  if (!s->queue || !s->threads || !s->conn_fd) {
    err = zh_error_new(ZH_ERR_RESOURCE, "http: out of memory");
    goto fail;
  }
  for (size_t i = 0; i < n; i++)
    s->conn_fd[i] = -1;
  err = open_listener(s, config->addr);
  if (err)
    goto fail;
  s->config.addr = s->address;
  if (pipe2(s->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    err = zh_error_new(ZH_ERR_IO, "http: pipe: %s", strerror(errno));
    goto fail;
  }
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->work, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->idle, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&s->listener, NULL, listener_main, s) != 0) {
    err = zh_error_new(ZH_ERR_RESOURCE, "http: cannot start the listener thread");
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->idle);
    goto fail;
  }
  s->listener_running = true;
  *out = s;
  return NULL;
fail:
  if (s->listen_fd >= 0)
    close(s->listen_fd);
  if (s->stop_pipe[0] >= 0) {
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
  }
  free(s->queue);
  free(s->threads);
  free(s->conn_fd);
  free(s);
  return err;
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
  __atomic_store_n(&s->stopping, true, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&s->work);
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
  while (s->nbusy > 0) {
    if (pthread_cond_timedwait(&s->idle, &s->mu, &until) == ETIMEDOUT)
      break;
  }
  /* Grace is over: cut what is left. Queued connections were never started: close them. */
  for (size_t i = 0; i < s->nthreads; i++) {
    if (s->conn_fd[i] >= 0)
      shutdown(s->conn_fd[i], SHUT_RDWR);
  }
  while (s->q_len > 0) {
    close(s->queue[s->q_head]);
    s->q_head = (s->q_head + 1) % s->config.max_connections;
    s->q_len--;
    s->nbusy--;
  }
  pthread_cond_broadcast(&s->work);
  size_t nthreads = s->nthreads;
  pthread_mutex_unlock(&s->mu);
  for (size_t i = 0; i < nthreads; i++)
    pthread_join(s->threads[i], NULL);
}

void zh_http_server_free(zh_http_server *s) {
  if (!s)
    return;
  zh_http_server_stop(s, 0);
  close(s->stop_pipe[0]);
  close(s->stop_pipe[1]);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->work);
  pthread_cond_destroy(&s->idle);
  free(s->queue);
  free(s->threads);
  free(s->conn_fd);
  free(s);
}
