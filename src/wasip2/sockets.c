/* wasi:sockets: every interface links, and by default every operation answers
 * access-denied, since a guest has no network unless the embedder grants it.
 *
 * The grant is the context's allow-list (zh_wasip2_config.net_allow): name lookup of an
 * allowed host. TCP and UDP sockets are not implemented yet (docs/WASIP2.md): creating one
 * answers access-denied without a grant and not-supported with one, so no socket resource
 * ever exists, and a method called on a forged socket handle traps like any bad handle. */
#include "wasip2/wasip2_internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* wasi:sockets/network error-code cases used here. */
enum {
  NET_UNKNOWN = 0,
  NET_ACCESS_DENIED = 1,
  NET_NOT_SUPPORTED = 2,
  NET_INVALID_ARGUMENT = 3,
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
  uint64_t rep;
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
  uint64_t rep;
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
    for (int i = 0; i < 8; i++)
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

static zh_error *create_tcp(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  return wp2_err_enum(result, cx->nnet_allow ? NET_NOT_SUPPORTED : NET_ACCESS_DENIED);
}

static zh_error *create_udp(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  return wp2_err_enum(result, NET_ACCESS_DENIED);
}

/* Every socket method: no socket can exist, so the handle is forged or stale. */
static zh_error *tcp_method(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n, (void)result;
  wp2_obj *o;
  return wp2_arg(cx, &args[0], WP2_TCP, "tcp-socket method", &o);
}

static zh_error *udp_method(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n, (void)result;
  wp2_obj *o;
  return wp2_arg(cx, &args[0], WP2_UDP, "udp-socket method", &o);
}

#define TCP(m)                                                                                     \
  { "wasi:sockets/tcp", "[method]tcp-socket." m, tcp_method }
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
    TCP("start-bind"),
    TCP("finish-bind"),
    TCP("start-connect"),
    TCP("finish-connect"),
    TCP("start-listen"),
    TCP("finish-listen"),
    TCP("accept"),
    TCP("local-address"),
    TCP("remote-address"),
    TCP("is-listening"),
    TCP("address-family"),
    TCP("set-listen-backlog-size"),
    TCP("keep-alive-enabled"),
    TCP("set-keep-alive-enabled"),
    TCP("keep-alive-idle-time"),
    TCP("set-keep-alive-idle-time"),
    TCP("keep-alive-interval"),
    TCP("set-keep-alive-interval"),
    TCP("keep-alive-count"),
    TCP("set-keep-alive-count"),
    TCP("hop-limit"),
    TCP("set-hop-limit"),
    TCP("receive-buffer-size"),
    TCP("set-receive-buffer-size"),
    TCP("send-buffer-size"),
    TCP("set-send-buffer-size"),
    TCP("subscribe"),
    TCP("shutdown"),
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
