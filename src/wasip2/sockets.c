/* wasi:sockets: every interface links, and by default every operation answers
 * access-denied, since a guest has no network unless the embedder grants it.
 *
 * The grant is the context's allow-list (zh_wasip2_config.net_allow): name lookup of an
 * allowed host, and TCP client connections to an allowed address and port (matched on the
 * numeric address: "127.0.0.1:8080", "127.0.0.1:*", "*:443", "*"). Binding, listening and UDP
 * are not implemented (docs/WASIP2.md) and answer not-supported / access-denied. A connected
 * socket's streams are ordinary descriptor streams on duplicates of its descriptor. */
#include "wasip2/wasip2_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* wasi:sockets/network error-code cases used here. */
enum {
  NET_UNKNOWN = 0,
  NET_ACCESS_DENIED = 1,
  NET_NOT_SUPPORTED = 2,
  NET_INVALID_ARGUMENT = 3,
  NET_NOT_IN_PROGRESS = 7,
  NET_WOULD_BLOCK = 8,
  NET_INVALID_STATE = 9,
  NET_REMOTE_UNREACHABLE = 13,
  NET_CONNECTION_REFUSED = 14,
  NET_CONNECTION_RESET = 15,
  NET_NAME_UNRESOLVABLE = 18,
  NET_TEMPORARY_RESOLVER_FAILURE = 19,
  NET_PERMANENT_RESOLVER_FAILURE = 20
};

typedef struct wp2_resolve {
  wp2_obj base;
  struct sockaddr_storage *addrs;
  size_t n, next;
} wp2_resolve;

static void plain_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  free(o);
}

static void resolve_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  free(((wp2_resolve *)o)->addrs);
  free(o);
}

static zh_error *instance_network(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  wp2_obj *o = calloc(1, sizeof *o);
  if (!o)
    return wp2_oom();
  *o = (wp2_obj){WP2_NETWORK, plain_free};
  uint64_t rep = 0;
  zh_error *err = wp2_insert(cx, o, &rep);
  if (!err)
    *result = zh_val_own(rep);
  return err;
}

static zh_error *network_error_code(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_ERROR, "network-error-code", &o);
  if (!err)
    *result = zh_val_none();
  return err;
}

/* True when `host` (and `port`, 0 for any) matches an allow-list entry. */
static bool net_allowed(const zh_wasip2_ctx *cx, const char *host, unsigned port) {
  for (size_t i = 0; i < cx->nnet_allow; i++) {
    const char *e = cx->net_allow[i];
    if (strcmp(e, "*") == 0)
      return true;
    const char *colon = strrchr(e, ':');
    size_t hlen = colon ? (size_t)(colon - e) : strlen(e);
    bool host_ok = (hlen == 1 && e[0] == '*') || (strlen(host) == hlen && !strncmp(e, host, hlen));
    bool port_ok = !colon || strcmp(colon + 1, "*") == 0 || port == 0 ||
                   (unsigned)strtoul(colon + 1, NULL, 10) == port;
    if (host_ok && port_ok)
      return true;
  }
  return false;
}

static zh_error *resolve_addresses(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_NETWORK, "resolve-addresses", &o);
  if (err)
    return err;
  const char *name = args[1].of.str.data;
  if (!net_allowed(cx, name, 0))
    return wp2_err_enum(result, NET_ACCESS_DENIED);
  if (args[1].of.str.len == 0 || strlen(name) != args[1].of.str.len)
    return wp2_err_enum(result, NET_INVALID_ARGUMENT);
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(name, NULL, &hints, &res);
  if (rc != 0)
    return wp2_err_enum(result, rc == EAI_AGAIN    ? NET_TEMPORARY_RESOLVER_FAILURE
                                : rc == EAI_NONAME ? NET_NAME_UNRESOLVABLE
                                                   : NET_PERMANENT_RESOLVER_FAILURE);
  wp2_resolve *r = calloc(1, sizeof *r);
  size_t count = 0;
  for (struct addrinfo *a = res; a; a = a->ai_next)
    count++;
  if (r)
    r->addrs = calloc(count ? count : 1, sizeof *r->addrs);
  if (!r || !r->addrs) {
    freeaddrinfo(res);
    free(r);
    return wp2_oom();
  }
  r->base = (wp2_obj){WP2_RESOLVE, resolve_free};
  for (struct addrinfo *a = res; a; a = a->ai_next)
    if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
        a->ai_addrlen <= sizeof r->addrs[0])
      memcpy(&r->addrs[r->n++], a->ai_addr, a->ai_addrlen);
  freeaddrinfo(res);
  uint64_t rep = 0;
  if ((err = wp2_insert(cx, &r->base, &rep)))
    return err;
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

/* ip-address: ipv4(tuple<u8 x4>) or ipv6(tuple<u16 x8>). */
static zh_error *ip_address(const struct sockaddr_storage *ss, zh_val *out) {
  bool v4 = ss->ss_family == AF_INET;
  zh_val t;
  zh_error *err = zh_val_tuple(&t, v4 ? 4 : 8);
  if (err)
    return err;
  if (v4) {
    const uint8_t *b = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
    for (int i = 0; i < 4; i++)
      zh_val_fields(&t)[i] = zh_val_u8(b[i]);
  } else {
    const uint8_t *b = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
    for (size_t i = 0; i < 8; i++)
      zh_val_fields(&t)[i] = zh_val_u16((uint16_t)(b[2 * i] << 8 | b[2 * i + 1]));
  }
  return zh_val_variant(out, v4 ? 0 : 1, &t);
}

static zh_error *resolve_next(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_RESOLVE, "resolve-next-address", &o);
  if (err)
    return err;
  wp2_resolve *r = (wp2_resolve *)o;
  zh_val opt = zh_val_none();
  if (r->next < r->n) {
    zh_val addr;
    if ((err = ip_address(&r->addrs[r->next++], &addr)) || (err = zh_val_some(&opt, &addr)))
      return err;
  }
  return zh_val_ok(result, &opt);
}

static zh_error *resolve_subscribe(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_RESOLVE, "resolve-address-stream.subscribe", &o);
  return err ? err : wp2_pollable_new(cx, WP2_P_READY, 0, 0, result);
}

/* ---- TCP client sockets ---- */

typedef enum { TCP_UNBOUND, TCP_CONNECTING, TCP_CONNECTED, TCP_CLOSED } tcp_state;

typedef struct wp2_tcp {
  wp2_obj base;
  int fd;
  int family; /* AF_INET or AF_INET6 */
  tcp_state state;
} wp2_tcp;

static void tcp_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  close(((wp2_tcp *)o)->fd);
  free(o);
}

static uint32_t code_of_errno(int e) {
  switch (e) {
  case ECONNREFUSED:
    return NET_CONNECTION_REFUSED;
  case ENETUNREACH:
  case EHOSTUNREACH:
    return NET_REMOTE_UNREACHABLE;
  case ECONNRESET:
    return NET_CONNECTION_RESET;
  case EACCES:
  case EPERM:
    return NET_ACCESS_DENIED;
  default:
    return NET_UNKNOWN;
  }
}

static zh_error *create_tcp(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  if (!cx->nnet_allow)
    return wp2_err_enum(result, NET_ACCESS_DENIED);
  int family = args[0].of.u == 0 ? AF_INET : AF_INET6;
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return wp2_err_enum(result, code_of_errno(errno));
  wp2_tcp *t = calloc(1, sizeof *t);
  if (!t) {
    close(fd);
    return wp2_oom();
  }
  *t = (wp2_tcp){{WP2_TCP, tcp_free}, fd, family, TCP_UNBOUND};
  uint64_t rep = 0;
  zh_error *err = wp2_insert(cx, &t->base, &rep);
  if (err)
    return err;
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

static zh_error *tcp_arg(zh_wasip2_ctx *cx, zh_val *v, wp2_tcp **out) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, v, WP2_TCP, "tcp-socket", &o);
  *out = (wp2_tcp *)o;
  return err;
}

/* ip-socket-address -> sockaddr; false for a malformed one. */
static bool sockaddr_of(const zh_val *v, struct sockaddr_storage *ss, socklen_t *len, char *host,
                        size_t hostlen, unsigned *port) {
  memset(ss, 0, sizeof *ss);
  const zh_val *rec = v->of.var.payload;
  const zh_val *f = rec->of.agg.fields;
  *port = (unsigned)f[0].of.u;
  if (zh_val_case(v) == 0) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)*port);
    uint8_t *b = (uint8_t *)&a->sin_addr;
    for (int i = 0; i < 4; i++)
      b[i] = (uint8_t)f[1].of.agg.fields[i].of.u;
    *len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)*port);
    a->sin6_flowinfo = htonl((uint32_t)f[1].of.u);
    for (size_t i = 0; i < 8; i++) {
      uint16_t w = (uint16_t)f[2].of.agg.fields[i].of.u;
      a->sin6_addr.s6_addr[2 * i] = (uint8_t)(w >> 8);
      a->sin6_addr.s6_addr[2 * i + 1] = (uint8_t)w;
    }
    a->sin6_scope_id = (uint32_t)f[3].of.u;
    *len = sizeof *a;
  }
  const void *addr = ss->ss_family == AF_INET
                         ? (const void *)&((struct sockaddr_in *)ss)->sin_addr
                         : (const void *)&((struct sockaddr_in6 *)ss)->sin6_addr;
  return inet_ntop(ss->ss_family, addr, host, (socklen_t)hostlen) != NULL;
}

static zh_error *tcp_start_connect(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_tcp *t;
  wp2_obj *net;
  zh_error *err = tcp_arg(cx, &args[0], &t);
  if (!err)
    err = wp2_arg(cx, &args[1], WP2_NETWORK, "start-connect", &net);
  if (err)
    return err;
  if (t->state != TCP_UNBOUND)
    return wp2_err_enum(result, NET_INVALID_STATE);
  struct sockaddr_storage ss;
  socklen_t len;
  char host[INET6_ADDRSTRLEN];
  unsigned port;
  if (!sockaddr_of(&args[2], &ss, &len, host, sizeof host, &port) || ss.ss_family != t->family ||
      port == 0)
    return wp2_err_enum(result, NET_INVALID_ARGUMENT);
  if (!net_allowed(cx, host, port))
    return wp2_err_enum(result, NET_ACCESS_DENIED);
  if (connect(t->fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
    t->state = TCP_CLOSED;
    return wp2_err_enum(result, code_of_errno(errno));
  }
  t->state = TCP_CONNECTING;
  return zh_val_ok(result, NULL);
}

static bool tcp_ready(zh_wasip2_ctx *cx, uint64_t rep) {
  wp2_tcp *t = (wp2_tcp *)wp2_get(cx, rep, WP2_TCP);
  if (!t || t->state != TCP_CONNECTING)
    return true;
  struct pollfd p = {t->fd, POLLOUT, 0};
  return poll(&p, 1, 0) != 0;
}

static zh_error *tcp_finish_connect(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_tcp *t;
  zh_error *err = tcp_arg(cx, &args[0], &t);
  if (err)
    return err;
  if (t->state != TCP_CONNECTING)
    return wp2_err_enum(result, NET_NOT_IN_PROGRESS);
  if (!tcp_ready(cx, args[0].of.res.rep))
    return wp2_err_enum(result, NET_WOULD_BLOCK);
  int e = 0;
  socklen_t el = sizeof e;
  if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
    e = errno;
  if (e) {
    t->state = TCP_CLOSED;
    return wp2_err_enum(result, code_of_errno(e));
  }
  t->state = TCP_CONNECTED;
  int in_fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 3), out_fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 3);
  uint64_t in_rep = 0, out_rep = 0;
  wp2_stream *s;
  if (in_fd < 0 || out_fd < 0) {
    if (in_fd >= 0)
      close(in_fd);
    if (out_fd >= 0)
      close(out_fd);
    return wp2_err_enum(result, NET_UNKNOWN);
  }
  if ((err = wp2_input_new(cx, WP2_S_FD, in_fd, true, &in_rep, &s))) {
    close(out_fd);
    return err;
  }
  if ((err = wp2_output_new(cx, WP2_S_FD, out_fd, true, &out_rep, &s))) {
    wp2_remove(cx, in_rep);
    return err;
  }
  zh_val a = zh_val_own(in_rep), b = zh_val_own(out_rep), tup;
  if ((err = wp2_tuple2(&tup, &a, &b)))
    return err;
  return zh_val_ok(result, &tup);
}

static zh_error *tcp_subscribe(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_tcp *t;
  zh_error *err = tcp_arg(cx, &args[0], &t);
  if (!err)
    err = wp2_pollable_new(cx, WP2_P_FUTURE, args[0].of.res.rep, 0, result);
  if (!err)
    ((wp2_pollable *)wp2_get(cx, result->of.res.rep, WP2_POLLABLE))->ready = tcp_ready;
  return err;
}

/* ip-socket-address from a sockaddr */
static zh_error *socket_address(const struct sockaddr_storage *ss, zh_val *out) {
  zh_val rec, addr;
  bool v4 = ss->ss_family == AF_INET;
  zh_error *err = zh_val_record(&rec, v4 ? 2 : 4);
  if (err)
    return err;
  zh_val *f = zh_val_fields(&rec);
  if ((err = ip_address(ss, &addr))) {
    zh_val_drop(&rec);
    return err;
  }
  zh_val tuple = *addr.of.var.payload; /* the variant's payload is the address tuple */
  *addr.of.var.payload = zh_val_bool(false);
  zh_val_drop(&addr);
  if (v4) {
    f[0] = zh_val_u16(ntohs(((const struct sockaddr_in *)ss)->sin_port));
    f[1] = tuple;
  } else {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    f[0] = zh_val_u16(ntohs(a->sin6_port));
    f[1] = zh_val_u32(ntohl(a->sin6_flowinfo));
    f[2] = tuple;
    f[3] = zh_val_u32(a->sin6_scope_id);
  }
  return zh_val_variant(out, v4 ? 0 : 1, &rec);
}

static zh_error *tcp_address(zh_wasip2_ctx *cx, zh_val *args, zh_val *result, bool remote) {
  wp2_tcp *t;
  zh_error *err = tcp_arg(cx, &args[0], &t);
  if (err)
    return err;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len = sizeof ss;
  if (t->state != TCP_CONNECTED)
    return wp2_err_enum(result, NET_INVALID_STATE);
  int rc = remote ? getpeername(t->fd, (struct sockaddr *)&ss, &len)
                  : getsockname(t->fd, (struct sockaddr *)&ss, &len);
  if (rc != 0)
    return wp2_err_enum(result, code_of_errno(errno));
  zh_val a;
  return (err = socket_address(&ss, &a)) ? err : zh_val_ok(result, &a);
}

static zh_error *tcp_local_address(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return tcp_address(cx, a, r, false);
}
static zh_error *tcp_remote_address(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return tcp_address(cx, a, r, true);
}

static zh_error *tcp_is_listening(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_tcp *t;
  zh_error *err = tcp_arg(cx, &args[0], &t);
  if (!err)
    *result = zh_val_bool(false);
  return err;
}

static zh_error *tcp_address_family(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_tcp *t;
  zh_error *err = tcp_arg(cx, &args[0], &t);
  if (!err)
    *result = zh_val_enum(t->family == AF_INET ? 0 : 1);
  return err;
}

static zh_error *tcp_shutdown(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_tcp *t;
  zh_error *err = tcp_arg(cx, &args[0], &t);
  if (err)
    return err;
  if (t->state != TCP_CONNECTED)
    return wp2_err_enum(result, NET_INVALID_STATE);
  static const int how[3] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  uint64_t k = args[1].of.u < 3 ? args[1].of.u : 2;
  return shutdown(t->fd, how[k]) == 0 ? zh_val_ok(result, NULL)
                                      : wp2_err_enum(result, code_of_errno(errno));
}

/* Binding, listening and the socket options: not implemented (docs/WASIP2.md). */
static zh_error *tcp_not_supported(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_tcp *t;
  zh_error *err = tcp_arg(cx, &args[0], &t);
  return err ? err : wp2_err_enum(result, NET_NOT_SUPPORTED);
}

static zh_error *create_udp(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  return wp2_err_enum(result, NET_ACCESS_DENIED);
}

/* Every UDP method: no UDP socket can exist, so the handle is forged or stale. */
static zh_error *udp_method(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n, (void)result;
  wp2_obj *o;
  return wp2_arg(cx, &args[0], WP2_UDP, "udp-socket method", &o);
}

#define TCP(m, f)                                                                                  \
  { "wasi:sockets/tcp", "[method]tcp-socket." m, f }
#define UDP(r, m)                                                                                  \
  { "wasi:sockets/udp", "[method]" r "." m, udp_method }
static const zh_wasip2_entry entries[] = {
    {"wasi:sockets/instance-network", "instance-network", instance_network},
    {"wasi:sockets/network", "network-error-code", network_error_code},
    {"wasi:sockets/ip-name-lookup", "resolve-addresses", resolve_addresses},
    {"wasi:sockets/ip-name-lookup", "[method]resolve-address-stream.resolve-next-address",
     resolve_next},
    {"wasi:sockets/ip-name-lookup", "[method]resolve-address-stream.subscribe", resolve_subscribe},
    {"wasi:sockets/tcp-create-socket", "create-tcp-socket", create_tcp},
    {"wasi:sockets/udp-create-socket", "create-udp-socket", create_udp},
    TCP("start-bind", tcp_not_supported),
    TCP("finish-bind", tcp_not_supported),
    TCP("start-connect", tcp_start_connect),
    TCP("finish-connect", tcp_finish_connect),
    TCP("start-listen", tcp_not_supported),
    TCP("finish-listen", tcp_not_supported),
    TCP("accept", tcp_not_supported),
    TCP("local-address", tcp_local_address),
    TCP("remote-address", tcp_remote_address),
    TCP("is-listening", tcp_is_listening),
    TCP("address-family", tcp_address_family),
    TCP("set-listen-backlog-size", tcp_not_supported),
    TCP("keep-alive-enabled", tcp_not_supported),
    TCP("set-keep-alive-enabled", tcp_not_supported),
    TCP("keep-alive-idle-time", tcp_not_supported),
    TCP("set-keep-alive-idle-time", tcp_not_supported),
    TCP("keep-alive-interval", tcp_not_supported),
    TCP("set-keep-alive-interval", tcp_not_supported),
    TCP("keep-alive-count", tcp_not_supported),
    TCP("set-keep-alive-count", tcp_not_supported),
    TCP("hop-limit", tcp_not_supported),
    TCP("set-hop-limit", tcp_not_supported),
    TCP("receive-buffer-size", tcp_not_supported),
    TCP("set-receive-buffer-size", tcp_not_supported),
    TCP("send-buffer-size", tcp_not_supported),
    TCP("set-send-buffer-size", tcp_not_supported),
    TCP("subscribe", tcp_subscribe),
    TCP("shutdown", tcp_shutdown),
    UDP("udp-socket", "start-bind"),
    UDP("udp-socket", "finish-bind"),
    UDP("udp-socket", "stream"),
    UDP("udp-socket", "local-address"),
    UDP("udp-socket", "remote-address"),
    UDP("udp-socket", "address-family"),
    UDP("udp-socket", "unicast-hop-limit"),
    UDP("udp-socket", "set-unicast-hop-limit"),
    UDP("udp-socket", "receive-buffer-size"),
    UDP("udp-socket", "set-receive-buffer-size"),
    UDP("udp-socket", "send-buffer-size"),
    UDP("udp-socket", "set-send-buffer-size"),
    UDP("udp-socket", "subscribe"),
    UDP("incoming-datagram-stream", "receive"),
    UDP("incoming-datagram-stream", "subscribe"),
    UDP("outgoing-datagram-stream", "check-send"),
    UDP("outgoing-datagram-stream", "send"),
    UDP("outgoing-datagram-stream", "subscribe"),
};

const wp2_table wp2_sockets_table = {entries, sizeof entries / sizeof entries[0], NULL, 0};
