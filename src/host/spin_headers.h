/* The request headers Spin gives an HTTP component, and the values behind them.
 *
 * Spin's server takes the client's headers (names lowercased, values of a repeated name
 * kept together at the name's first place, as an http::HeaderMap holds them), removes a
 * Host that names a service-chaining host (`<component>.spin.internal`, with or without a
 * port: exactly one label before spin.internal), and appends its own, in this order:
 *   spin-path-info            what the trailing "/..." matched ("" when nothing)
 *   spin-full-url             scheme://Host + the request target ("localhost" without Host)
 *   spin-matched-route        the based route as written ("/api/users/...")
 *   spin-base-path            the application base ("/" by default)
 *   spin-raw-component-route  the route as written
 *   spin-component-route      the route as written, without "/..."
 *   spin-client-addr          the peer as ip:port ("[v6]:port")
 *   spin-path-match-<name>    one per `:name` capture: the name lowercased, '_' as '-'
 * A client header with one of these names is not replaced: both values reach the guest.
 * zerohop also removes Connection (issue 9); the other hop-by-hop headers reach the guest,
 * as they do in Spin.
 *
 * For a wasi:http/incoming-handler component the list is then a header map again: Spin's
 * own values join a client header of the same name, and a name or value that is not a valid
 * HTTP field is dropped. For fermyon:spin/inbound-http it is passed as the list it is.
 * docs/HTTP_TRIGGER.md has the details and where they come from.
 *
 * Ownership: every string in a zh_spin_headers is owned by it (NUL-terminated, length
 * given), in chunks it frees at once in zh_spin_headers_free: a string is never freed alone,
 * so a value is replaced with zh_spin_headers_set_value. The request is borrowed for the call
 * only.
 */
#ifndef ZH_HOST_SPIN_HEADERS_H
#define ZH_HOST_SPIN_HEADERS_H

#include "host/router.h"
#include "zerohop/engine.h"
#include "zerohop/http_server.h"

#include <stdbool.h>
#include <stddef.h>

/* The request as the HTTP server has it (zh_http_request_info gives all of it). */
typedef struct zh_spin_request {
  const char *scheme; /* "http" or "https" */
  const char *target; /* path and query as sent: "/a/b?c=1" */
  size_t target_len;
  const zh_http_header *headers; /* in the order received, names in any case */
  size_t nheaders;
  const char *client_addr; /* the peer, "ip:port" or "[v6]:port" */
} zh_spin_request;

typedef struct zh_spin_headers {
  zh_http_header *items; /* owned; names lowercase */
  size_t count;
  size_t cap;
  struct zh_spin_chunk *chunks; /* where the strings live, freed together */
} zh_spin_headers;

typedef enum zh_spin_handler_kind {
  ZH_SPIN_WASI_HTTP,    /* wasi:http/incoming-handler: a header map */
  ZH_SPIN_INBOUND_HTTP, /* fermyon:spin/inbound-http: a list */
} zh_spin_handler_kind;

/* The headers for the guest: the client's (as above) and Spin's. A header value that is not
 * UTF-8 is ZH_ERR_MALFORMED naming the header (Spin fails the request: answer 500). */
zh_error *zh_spin_headers_build(const zh_router_result *match, const zh_spin_request *req,
                                zh_spin_handler_kind kind, zh_spin_headers *out);

/* True when every header value of the request is UTF-8: zh_spin_headers_build can then fail
 * only for want of memory, so a caller may build the headers later, when they are needed. */
bool zh_spin_request_values_utf8(const zh_spin_request *req);

/* The same for a chained request (app_chain.c): its `<id>.spin.internal` Host is the host's
 * own and stays (from the network such a Host never gets this far: it is refused). */
zh_error *zh_spin_headers_build_chained(const zh_router_result *match, const zh_spin_request *req,
                                        zh_spin_handler_kind kind, zh_spin_headers *out);

/* The client's headers as Spin's server holds them before any executor: lowercased,
 * grouped by name, a service-chaining Host and (zerohop's rule) Connection removed, the
 * way an http::HeaderMap removes (the last name takes the removed one's place). */
zh_error *zh_spin_inbound_headers(const zh_spin_request *req, zh_spin_headers *out);

/* Spin's own entries, named for headers ("spin-full-url") or, when wagi, as the WAGI
 * variables they become (X_FULL_URL, PATH_INFO, X_MATCHED_ROUTE, X_BASE_PATH,
 * X_RAW_COMPONENT_ROUTE, X_COMPONENT_ROUTE, X_CLIENT_ADDR, X_PATH_MATCH_<NAME> with the
 * name uppercased). A non-UTF-8 Host is ZH_ERR_MALFORMED. */
zh_error *zh_spin_default_values(const zh_router_result *match, const zh_spin_request *req,
                                 bool wagi, zh_spin_headers *out);

/* Spin's test for a service-chaining host: what is left after the last ':' is cut off
 * must be one label, a dot and "spin.internal" ("a.spin.internal:80" yes, "a.b.spin.internal"
 * no). */
bool zh_spin_is_chaining_host(const char *host, size_t len);

/* The first value of a header by its lowercase name, or NULL. */
const zh_http_header *zh_spin_headers_get(const zh_spin_headers *h, const char *name);
/* Appends copies of name (lowercased when lower) and value. ZH_ERR_RESOURCE on OOM. */
zh_error *zh_spin_headers_add(zh_spin_headers *h, const char *name, size_t name_len,
                              const char *value, size_t value_len, bool lower);
/* Replaces the value of items[i] with a copy of value. ZH_ERR_RESOURCE on OOM. */
zh_error *zh_spin_headers_set_value(zh_spin_headers *h, size_t i, const char *value,
                                    size_t value_len);
void zh_spin_headers_free(zh_spin_headers *h); /* accepts NULL; leaves it empty */

#endif
