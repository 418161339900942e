/* zerohop WASI 0.2: the host side of the wasi:cli/command and wasi:http/proxy worlds.
 *
 * A zh_wasip2_ctx is one guest instance's view of the host: arguments, environment, stdio,
 * preopened directories, the network and outbound-HTTP allow-lists, and every resource the
 * guest holds (streams, pollables, descriptors, HTTP fields, requests, responses, bodies,
 * futures...). Resources are 64-bit reps into the ctx's object table; a rep is never reused
 * for another object (a generation count lives in its upper half).
 *
 * Every function of the hosted interfaces is a zh_wasip2_fn over zh_val values, found by
 * interface (without version, "wasi:io/streams") and ABI name ("[method]output-stream.write")
 * in the table zh_wasip2_lookup() searches. zh_wasip2_define_component() registers all those a
 * component's world imports, for any 0.2.x version: the patch version is ignored, so every
 * 0.2.x interface is served by one implementation and its resources are one type.
 *
 * The hosted WIT (wit/ in the source tree, WASI 0.2.12) is built into the library;
 * zh_wasip2_wit() parses it once per process. define_component checks each imported
 * function's type against it, so a world whose types differ fails with both types named.
 *
 * One thread uses a ctx at a time, the thread that runs its guest. */
#ifndef ZEROHOP_WASIP2_H
#define ZEROHOP_WASIP2_H

#include "zerohop/cm.h"
#include "zerohop/component.h"
#include "zerohop/engine.h"
#include "zerohop/val.h"
#include "zerohop/wasi.h"
#include "zerohop/wit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zh_wasip2_ctx zh_wasip2_ctx;

/* An HTTP header or trailer as the server side exchanges them. */
typedef struct zh_wasip2_header {
  const char *name; /* NUL-terminated */
  const uint8_t *value;
  size_t value_len;
} zh_wasip2_header;

/* The server's side of one incoming request (wasi:http/incoming-handler): the request's
 * body is read from it and the response written to it, from the thread that runs the
 * guest. `req` is the server's opaque request. Any error ends the body stream
 * (last-operation-failed for the guest). */
typedef struct zh_wasip2_http_io {
  /* Up to `cap` body bytes; *eof once the body has ended (with or without bytes). May
   * block until at least one byte or the end is there. */
  zh_error *(*read)(void *req, void *buf, size_t cap, size_t *got, bool *eof);
  zh_error *(*response_start)(void *req, int status, const zh_wasip2_header *headers, size_t n);
  zh_error *(*response_write)(void *req, const void *data, size_t len);
  zh_error *(*response_finish)(void *req, const zh_wasip2_header *trailers, size_t n);
} zh_wasip2_http_io;

/* The head of an incoming request. */
typedef struct zh_wasip2_request {
  const char *method; /* "GET", ... (other methods are passed as method::other) */
  const char *path_with_query;
  const char *scheme;    /* "http", "https", or NULL */
  const char *authority; /* or NULL */
  const zh_wasip2_header *headers;
  size_t nheaders;
} zh_wasip2_request;

/* Called for events the host logs (a denied outbound request); NULL logs to stderr. */
typedef void (*zh_wasip2_log_fn)(void *env, const char *line);

/* ---- outgoing requests the embedder serves in memory (the app host's service chaining) */

/* Where an outgoing request goes, as the embedder's `route` decides when the guest calls
 * wasi:http/outgoing-handler.handle. */
typedef enum zh_wasip2_route {
  ZH_WASIP2_ROUTE_NETWORK, /* the allow-list (http_allow / http_allowed) and libcurl */
  ZH_WASIP2_ROUTE_LOCAL,   /* the embedder's `run`, once the request body is complete */
  ZH_WASIP2_ROUTE_DENIED,  /* HTTP-request-denied, logged as a disallowed origin is */
} zh_wasip2_route;

/* One request for `run`: borrowed for the call. */
typedef struct zh_wasip2_outgoing {
  const char *method;
  const char *scheme;          /* "http" or "https" */
  const char *authority;       /* NULL for a relative request (no authority) */
  const char *path_with_query; /* "/" when the guest set none */
  const zh_wasip2_header *headers;
  size_t nheaders;
  const uint8_t *body;
  size_t body_len;
} zh_wasip2_outgoing;

/* The response of one locally served request: `run` writes it, the guest reads it from its
 * future-incoming-response. */
typedef struct zh_wasip2_sink zh_wasip2_sink;

typedef struct zh_wasip2_dispatch {
  /* NULL authority: a relative request. An error traps the guest. */
  zh_error *(*route)(void *env, zh_wasip2_ctx *cx, const char *scheme, const char *authority,
                     zh_wasip2_route *out);
  /* Serves the request on the guest's thread: zh_wasip2_sink_start, then _write. Returning
   * an error before start fails the future (internal-error, with the message); after start,
   * the body ends where it is. */
  zh_error *(*run)(void *env, zh_wasip2_ctx *cx, const zh_wasip2_outgoing *req,
                   zh_wasip2_sink *sink);
  void *env;
  /* Request bodies past this answer 413 without `run`; response bodies past it are cut
   * (the write fails with ZH_ERR_RESOURCE). 0: no limit. */
  uint64_t max_body;
} zh_wasip2_dispatch;

/* The response head: status 100..599 (anything else is 500) and headers (copied). Once. */
zh_error *zh_wasip2_sink_start(zh_wasip2_sink *sink, int status, const zh_wasip2_header *headers,
                               size_t n);
/* Appends body bytes (copied); ZH_ERR_RESOURCE past max_body, ZH_ERR_USAGE before start. */
zh_error *zh_wasip2_sink_write(zh_wasip2_sink *sink, const void *data, size_t len);
/* True once zh_wasip2_sink_start was called. */
bool zh_wasip2_sink_started(const zh_wasip2_sink *sink);

typedef struct zh_wasip2_config {
  const char *const *argv; /* get-arguments; argv[0] is the program name */
  size_t argc;
  const char *const *env; /* "KEY=VALUE" strings; nothing is inherited */
  size_t envc;
  const char *initial_cwd; /* or NULL */
  zh_wasi_stdio stdio[3];  /* as in preview1: null, inherit, host fd, capture, buffer */
  size_t capture_limit;    /* most bytes kept per capture buffer; 0: no limit */
  const zh_wasi_preopen *preopens;
  size_t npreopens;
  /* TCP client connections and name lookup: "host:port", "host:*", "*:port" or "*".
   * Empty: no network (every socket operation answers access-denied). */
  const char *const *net_allow;
  size_t nnet_allow;
  /* Outbound HTTP: "scheme://host[:port]" origins or "*"; empty: every request is denied. */
  const char *const *http_allow;
  size_t nhttp_allow;
  /* Outbound HTTP policy: when set, it decides instead of http_allow. It gets the request's
   * scheme ("http" or "https"), host (an IPv6 address without brackets) and port (the
   * scheme's default when the URL has none), from the thread that runs the guest; false
   * denies the request as http_allow does (HTTP-request-denied, one log line). */
  bool (*http_allowed)(void *env, const char *scheme, const char *host, uint16_t port);
  void *http_allowed_env; /* borrowed: must outlive the context */
  /* Outbound HTTP the embedder may serve itself, asked before the policy above (NULL:
   * none). Borrowed: must outlive the context. */
  const zh_wasip2_dispatch *dispatch;
  zh_wasip2_log_fn log;
  void *log_env;
  /* Called once per outbound HTTP request when it ends (response complete, transfer failed,
   * denied, or dropped by the guest), on the guest's thread, for hop tracing: the request's
   * scheme and authority, its duration from `handle`, request plus response body bytes, and
   * whether it failed (denied, a transport error, or a 5xx status). NULL: not called. */
  void (*http_done)(zh_wasip2_ctx *cx, const char *scheme, const char *authority, uint64_t ns,
                    uint64_t bytes, bool failed);
} zh_wasip2_config;

/* Creates a context; strings and buffers are copied. `config` may be NULL. */
zh_wasip2_ctx *zh_wasip2_new(const zh_wasip2_config *config, zh_error **err);
/* Frees the context and every resource still in its table. Accepts NULL. */
void zh_wasip2_free(zh_wasip2_ctx *cx);

/* Blocking waits (poll, blocking reads, writes and flushes) give up with ZH_ERR_INTERRUPTED
 * when this store has an interrupt or expired deadline pending. define_component sets it. */
void zh_wasip2_set_store(zh_wasip2_ctx *cx, zh_store *store);

/* An embedder's own per-instance state (the app host keeps its key-value, SQLite and Redis
 * handles there). Host functions that the embedder adds to the same linker find it through
 * the instance's data: zh_wasip2_user(zh_cm_call_data(call)). NULL until set. */
void zh_wasip2_set_user(zh_wasip2_ctx *cx, void *user);
void *zh_wasip2_user(const zh_wasip2_ctx *cx);

/* Captured stdout / stderr, as zh_wasi_stdout_captured. */
const char *zh_wasip2_stdout_captured(const zh_wasip2_ctx *cx, size_t *len);
const char *zh_wasip2_stderr_captured(const zh_wasip2_ctx *cx, size_t *len);

/* ---- the function table ---- */

/* One host function: `args` as the canonical ABI lifts them (borrowed; an own argument's rep
 * now belongs to the host), *result set when the function has one. An error traps the guest
 * (or is ZH_ERR_EXIT / ZH_ERR_INTERRUPTED). */
typedef zh_error *(*zh_wasip2_fn)(zh_wasip2_ctx *cx, zh_val *args, size_t nargs, zh_val *result);
/* Destroys a resource the guest dropped. */
typedef void (*zh_wasip2_dtor)(zh_wasip2_ctx *cx, uint64_t rep);

typedef struct zh_wasip2_entry {
  const char *iface; /* "wasi:io/streams" (no version) */
  const char *name;  /* ABI name */
  zh_wasip2_fn fn;
} zh_wasip2_entry;

typedef struct zh_wasip2_resource {
  const char *iface;
  const char *name; /* "output-stream" */
  zh_wasip2_dtor dtor;
} zh_wasip2_resource;

/* Destroys the resource behind `rep`, whatever its type: the destructor of every hosted
 * resource that zh_wasip2_lookup_resource has no entry for. */
void zh_wasip2_drop(zh_wasip2_ctx *cx, uint64_t rep);

/* `iface` may carry a version ("wasi:io/streams@0.2.3"): any 0.2.x matches. NULL if the
 * host does not implement it (functions) or the resource needs only zh_wasip2_drop. */
const zh_wasip2_entry *zh_wasip2_lookup(const char *iface, const char *name);
const zh_wasip2_resource *zh_wasip2_lookup_resource(const char *iface, const char *name);
/* The whole table, for linkers that walk it. */
const zh_wasip2_entry *zh_wasip2_entries(size_t *n);

/* The hosted WIT (every WASI 0.2.12 package), parsed on first use and kept for the process. */
zh_error *zh_wasip2_wit(const zh_wit **out);
/* "wasi:io/streams@0.2.12" for a hosted interface of the same package and name, any 0.2.x. */
const zh_wit_interface *zh_wasip2_hosted_interface(const char *iface);

/* Defines every import of the component's world that is a WASI 0.2.x interface, and the
 * destructors of their resources. A function the host does not implement, or whose type
 * differs from the hosted WIT, is ZH_ERR_UNLINKABLE naming interface, function and types.
 * Interfaces of other packages are left for the caller. The adapters point into `cx`: free
 * the component before the context. */
zh_error *zh_wasip2_define_component(zh_component *comp, zh_wasip2_ctx *cx);

/* The same in two steps, for hosts that make many instances of one world: a plan resolves
 * and type-checks the world's WASI imports once (it keeps pointers into `world`, which must
 * outlive it); define_plan then only registers them (no lookups, no type comparisons). */
typedef struct zh_wasip2_plan zh_wasip2_plan;
zh_error *zh_wasip2_plan_new(const zh_wit_world *world, zh_wasip2_plan **out);
void zh_wasip2_plan_free(zh_wasip2_plan *plan); /* accepts NULL */
zh_error *zh_wasip2_define_plan(zh_component *comp, zh_wasip2_ctx *cx, const zh_wasip2_plan *plan);

/* Defines every hosted WASI 0.2 function and resource on a component linker (zerohop/cm.h),
 * with the hosted versions (0.2.12): imports of any 0.2.x link to them. Each instance made
 * with the linker must get its own zh_wasip2_ctx as its data (zh_cm_linker_instantiate's
 * `data`), with zh_wasip2_set_store naming the instance's store. */
zh_error *zh_wasip2_define_linker(zh_cm_linker *linker);

/* ---- wasi:http/incoming-handler ---- */

/* Creates the two resources the guest's `handle` takes: an incoming-request from `req`
 * (copied) whose body is read through `io`/`io_req`, and a response-outparam whose response
 * is written through the same. Pass them as zh_val_own(*request) and zh_val_own(*outparam). */
zh_error *zh_wasip2_incoming(zh_wasip2_ctx *cx, const zh_wasip2_request *req,
                             const zh_wasip2_http_io *io, void *io_req, uint64_t *request,
                             uint64_t *outparam);
/* The same, with what `req` points to (its strings, its header array and the headers' names
 * and values, not `req` itself) kept by reference: it must stay valid and unchanged until
 * `cx` is freed. A guest that never reads the headers costs no copy of them. */
zh_error *zh_wasip2_incoming_borrowed(zh_wasip2_ctx *cx, const zh_wasip2_request *req,
                                      const zh_wasip2_http_io *io, void *io_req, uint64_t *request,
                                      uint64_t *outparam);
/* Makes an incoming request's headers (zh_wasip2_incoming_lazy). */
typedef zh_error *(*zh_wasip2_make_headers_fn)(void *arg, const zh_wasip2_header **headers,
                                               size_t *nheaders);
/* The same as zh_wasip2_incoming_borrowed, but req's headers are left out: `make` makes them
 * the first time the guest asks for them (many guests never do), in storage that stays valid
 * and unchanged until `cx` is freed. An error from it fails that call of the guest's. */
zh_error *zh_wasip2_incoming_lazy(zh_wasip2_ctx *cx, const zh_wasip2_request *req,
                                  zh_wasip2_make_headers_fn make, void *make_arg,
                                  const zh_wasip2_http_io *io, void *io_req, uint64_t *request,
                                  uint64_t *outparam);
/* After `handle` returned: true once a response was set (ok), with its status; an error
 * response (set with err(error-code)) gives false. The server answers 500 then. */
bool zh_wasip2_response_status(const zh_wasip2_ctx *cx, int *status);

#ifdef __cplusplus
}
#endif
#endif
