/* Local service chaining and self requests: outbound HTTP that never leaves the process.
 *
 * Every component's WASI 0.2 config points at app->chain, a zh_wasip2_dispatch. When a guest
 * calls wasi:http/outgoing-handler.handle, `route` looks at the authority:
 *   `<id>.spin.internal[:port]`  chained to component <id>, bypassing routing (private
 *                                components included), if the caller's allowed_outbound_hosts
 *                                allow that host (`<id>.spin.internal`, `*.spin.internal`
 *                                or `*` as the host of an http entry, as Spin matches them);
 *                                otherwise denied like any undeclared host; an id that names
 *                                no HTTP component traps the caller, as Spin's does;
 *   none (a relative URL), or `self.alt`
 *                                a self request: through the app's own router, if a `self`
 *                                (or `*`) host is allowed;
 *   anything else                the network, as before.
 * `run` then serves the request on the caller's thread, nested in its host call: a store
 * from the app's pool and a fresh instance, as for an inbound request, so a chained call
 * never waits for an HTTP worker (every worker can be chaining at once). The callee's
 * deadline is what is left of the caller's; chains deeper than APP_CHAIN_MAX_DEPTH answer
 * 508. Bodies are buffered: the request's (max_body, else 413) before the callee runs, the
 * response's as the callee writes it. A callee that traps, fails or sets no response gives
 * the caller a 500 response, never a trap. Each call is one ZH_HOP_CHAIN hop.
 *
 * What the callee sees (Spin's synthetic route for chaining): Host `<id>.spin.internal` first,
 * then the caller's headers (a Host of its own is replaced), then Spin's: spin-path-info the
 * whole path, spin-matched-route and spin-raw-component-route "/...", spin-component-route
 * "", spin-base-path "/", spin-full-url `http://<id>.spin.internal/path?query`,
 * spin-client-addr `0.0.0.0:0`. A self request sees its route's values instead, with the
 * same client address, and Host `self.alt` when it was addressed so (none for a relative
 * URL: spin-full-url then says localhost). Those lists come from spin_headers.c's header map;
 * a chained wasi:http request whose headers need none of its rules (the common case: no
 * repeated names, printable ASCII) gets the same list built directly (plain_headers). */
#include "host/app_internal.h"
#include "host/inbound_http.h"
#include "host/spin_headers.h"
#include "http/http_parse.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define APP_CHAIN_MAX_DEPTH 8u
#define CHAINED_CLIENT_ADDR "0.0.0.0:0"

/* The call whose instance made the request (its host state is inside the app_call). */
static app_call *caller_of(zh_wasip2_ctx *cx) {
  zh_host_instance *hi = (zh_host_instance *)zh_wasip2_user(cx);
  return hi ? (app_call *)(void *)((char *)hi - offsetof(app_call, hi)) : NULL;
}

/* The [[trigger.http]] of component `id` (private ones too), or NULL. */
static const app_route *route_of(const zh_app *app, const char *id, size_t len) {
  for (size_t i = 0; i < app->nroutes; i++) {
    const app_component *c = app->routes[i].comp;
    if (c && strlen(c->id) == len && memcmp(c->id, id, len) == 0)
      return &app->routes[i];
  }
  return NULL;
}

static bool is_self(const char *authority, const char *host) {
  return !authority || strcasecmp(host, "self.alt") == 0;
}

static zh_error *chain_route(void *env, zh_wasip2_ctx *cx, const char *scheme,
                             const char *authority, zh_wasip2_route *out) {
  zh_app *app = env;
  app_call *caller = caller_of(cx);
  *out = ZH_WASIP2_ROUTE_NETWORK;
  char host[256] = "";
  uint16_t port = 0;
  if (!caller || (authority && !zh_host_outbound_split_authority(authority, strlen(authority), host,
                                                                 sizeof host, &port)))
    return NULL; /* the network path denies what does not parse */
  if (is_self(authority, host)) {
    bool ok = zh_host_outbound_allows(caller->c->rules, scheme, NULL, 0);
    *out = ok ? ZH_WASIP2_ROUTE_LOCAL : ZH_WASIP2_ROUTE_DENIED;
    return NULL;
  }
  if (!zh_spin_is_chaining_host(host, strlen(host)))
    return NULL;
  if (!zh_host_outbound_allows(caller->c->rules, scheme, host, port)) {
    *out = ZH_WASIP2_ROUTE_DENIED;
    return NULL;
  }
  size_t id_len = (size_t)(strchr(host, '.') - host);
  if (!route_of(app, host, id_len))
    return zh_error_new(ZH_ERR_TRAP, "service chaining to %s: unknown component ID \"%.*s\"",
                        authority, (int)id_len, host);
  *out = ZH_WASIP2_ROUTE_LOCAL;
  return NULL;
}

/* ---- the callee's side of the request: memory in, the caller's future out ---- */

typedef struct chain_io {
  const uint8_t *body;
  size_t len, pos;
  zh_wasip2_sink *sink;
  uint64_t out_bytes;
} chain_io;

static zh_error *io_read(void *req, void *buf, size_t cap, size_t *got, bool *eof) {
  chain_io *io = req;
  size_t n = io->len - io->pos < cap ? io->len - io->pos : cap;
  if (n)
    memcpy(buf, io->body + io->pos, n);
  io->pos += n;
  *got = n;
  *eof = io->pos == io->len;
  return NULL;
}

static zh_error *io_start(void *req, int status, const zh_wasip2_header *h, size_t n) {
  return zh_wasip2_sink_start(((chain_io *)req)->sink, status, h, n);
}

static zh_error *io_write(void *req, const void *data, size_t len) {
  chain_io *io = req;
  io->out_bytes += len;
  return zh_wasip2_sink_write(io->sink, data, len);
}

static zh_error *io_finish(void *req, const zh_wasip2_header *trailers, size_t n) {
  (void)req, (void)trailers, (void)n; /* trailers do not cross a buffered body */
  return NULL;
}

static const zh_wasip2_http_io chain_io_fns = {io_read, io_start, io_write, io_finish};

/* One chained or self request on its way to a component. */
typedef struct chain_req {
  zh_app *app;
  app_call *caller;
  const zh_wasip2_outgoing *out;
  const app_route *route;
  zh_router_result match;
  zh_spin_request sreq;
  zh_http_header *in_headers; /* Host, then the caller's: what Spin's server would hold */
  bool chained;               /* to <id>.spin.internal (Spin's synthetic route), not self */
  chain_io io;
} chain_req;

static zh_error *answer(chain_req *cr, int status, const char *body) {
  zh_error *err = zh_wasip2_sink_start(cr->io.sink, status, NULL, 0);
  if (!err && body && *body)
    err = io_write(&cr->io, body, strlen(body));
  return err;
}

static zh_wasip2_header *p2_headers(const zh_spin_headers *h) {
  zh_wasip2_header *out = calloc(h->count ? h->count : 1, sizeof *out);
  for (size_t i = 0; out && i < h->count; i++)
    out[i] = (zh_wasip2_header){h->items[i].name, (const uint8_t *)h->items[i].value,
                                h->items[i].value_len};
  return out;
}

/* Spin's headers for a chained wasi:http request in the common case, straight into the
 * callee's list: Host, the caller's, Spin's seven. That is what the header map
 * (zh_spin_headers_build_chained) gives when it has nothing to do: every caller header a
 * lowercase token name with a printable ASCII value (so UTF-8 and a valid field), none
 * repeated, none named host, connection or spin-*, and the authority and path printable
 * ASCII, the path in origin form. Anything else returns false and takes the map. `h` has
 * room for CHAIN_FAST_MAX + 8 headers; `url` (CHAIN_URL_MAX bytes) holds spin-full-url. */
#define CHAIN_FAST_MAX 32u
#define CHAIN_URL_MAX 1024u

static bool printable(const char *s, size_t n, bool tab) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 || c > 0x7e) && !(tab && c == '\t'))
      return false;
  }
  return true;
}

static bool plain_name(const char *name, size_t len) {
  if (len == 0 || (len == 4 && memcmp(name, "host", 4) == 0) ||
      (len == 10 && memcmp(name, "connection", 10) == 0) ||
      (len >= 5 && memcmp(name, "spin-", 5) == 0))
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if ((c >= 'A' && c <= 'Z') || !zh_http_is_token_char(c))
      return false;
  }
  return true;
}

static bool plain_headers(const zh_wasip2_outgoing *o, zh_wasip2_header *h, size_t *count,
                          char *url) {
  const char *auth = o->authority, *pq = o->path_with_query;
  size_t alen = auth ? strlen(auth) : 0, pqlen = strlen(pq);
  if (!auth || o->nheaders > CHAIN_FAST_MAX || pq[0] != '/' || !printable(auth, alen, false) ||
      !printable(pq, pqlen, false) || alen + pqlen + 8 > CHAIN_URL_MAX)
    return false;
  size_t n = 0;
  h[n++] = (zh_wasip2_header){"host", (const uint8_t *)auth, alen};
  for (size_t i = 0; i < o->nheaders; i++) {
    const zh_wasip2_header *c = &o->headers[i];
    size_t len = strlen(c->name);
    if (!plain_name(c->name, len) || !printable((const char *)c->value, c->value_len, true))
      return false;
    for (size_t k = 1; k < n; k++)
      if (strcmp(h[k].name, c->name) == 0)
        return false; /* a repeated name: the map groups it */
    h[n++] = *c;
  }
  stpcpy(stpcpy(stpcpy(url, "http://"), auth), pq); /* fits: checked above */
  const zh_wasip2_header spin[7] = {
      {"spin-path-info", (const uint8_t *)pq, strcspn(pq, "?")},
      {"spin-full-url", (const uint8_t *)url, 7 + alen + pqlen},
      {"spin-matched-route", (const uint8_t *)"/...", 4},
      {"spin-base-path", (const uint8_t *)"/", 1},
      {"spin-raw-component-route", (const uint8_t *)"/...", 4},
      {"spin-component-route", (const uint8_t *)"", 0},
      {"spin-client-addr", (const uint8_t *)CHAINED_CLIENT_ADDR, strlen(CHAINED_CLIENT_ADDR)}};
  memcpy(h + n, spin, sizeof spin);
  *count = n + 7;
  return true;
}

static zh_error *run_wasi_http(chain_req *cr, app_call *call) {
  zh_spin_headers hs = {0};
  zh_wasip2_header fast[CHAIN_FAST_MAX + 8];
  char url[CHAIN_URL_MAX];
  size_t nh = 0;
  zh_error *err = NULL;
  zh_wasip2_header *h = NULL;
  if (cr->chained && plain_headers(cr->out, fast, &nh, url)) {
    h = fast;
  } else if (!(err =
                   zh_spin_headers_build_chained(&cr->match, &cr->sreq, ZH_SPIN_WASI_HTTP, &hs))) {
    nh = hs.count;
    if (!(h = p2_headers(&hs)))
      err = zh_error_oom();
  }
  zh_cm_func *fn = err ? NULL : zh_cm_instance_func(call->inst, cr->route->handler.iface, "handle");
  if (!err && !fn)
    err = zh_error_new(ZH_ERR_UNLINKABLE, "no %s#handle export", cr->route->handler.iface);
  uint64_t request, outparam;
  zh_wasip2_request head = {
      cr->out->method, cr->out->path_with_query, "http", cr->out->authority, h, nh};
  if (!err && (err = zh_wasip2_incoming(call->cx, &head, &chain_io_fns, &cr->io, &request,
                                        &outparam)) == NULL) {
    zh_val args[2] = {zh_val_own(request), zh_val_own(outparam)}, result;
    if ((err = zh_cm_func_call(call->inst, fn, args, 2, &result)) == NULL)
      zh_val_drop(&result);
  }
  int status;
  if (!err && !zh_wasip2_response_status(call->cx, &status))
    err = zh_error_new(ZH_ERR_INVALID, "the handler set no response, or an error-code response");
  if (h != fast)
    free(h);
  zh_spin_headers_free(&hs);
  return err;
}

static zh_error *run_spin_http(chain_req *cr, app_call *call) {
  zh_spin_headers hs = {0};
  zh_val req = zh_val_bool(false), resp = zh_val_bool(false);
  bool method_ok = true;
  zh_error *err = zh_spin_headers_build_chained(&cr->match, &cr->sreq, ZH_SPIN_INBOUND_HTTP, &hs);
  zh_wasip2_header *h = err ? NULL : p2_headers(&hs);
  if (!err && !h)
    err = zh_error_oom();
  if (!err)
    err = zh_host_spin_http_request(cr->out->method, cr->out->path_with_query, h, hs.count,
                                    cr->out->body, cr->out->body_len, &req, &method_ok);
  if (!err && !method_ok) {
    err = answer(cr, 405, NULL);
  } else if (!err) {
    const char *iface = cr->route->handler.iface;
    if (call->bound) { /* an older SDK's core module */
      err = zh_component_call(call->bound, iface, "handle-request", &req, 1, &resp);
    } else {
      zh_cm_func *fn = zh_cm_instance_func(call->inst, iface, "handle-request");
      err = fn ? zh_cm_func_call(call->inst, fn, &req, 1, &resp)
               : zh_error_new(ZH_ERR_UNLINKABLE,
                              "no fermyon:spin/inbound-http#handle-request export");
    }
    zh_host_spin_response r;
    if (!err && (err = zh_host_spin_http_response(&resp, &r)) == NULL) {
      zh_wasip2_header *rh = calloc(r.nheaders ? r.nheaders : 1, sizeof *rh);
      char **names = calloc(r.nheaders ? r.nheaders : 1, sizeof *names);
      if (!rh || !names)
        err = zh_error_oom();
      for (size_t i = 0; rh && names && !err && i < r.nheaders; i++) {
        zh_val *t = zh_val_fields((zh_val *)&r.headers[i]);
        if (!(names[i] = strndup(t[0].of.str.data, t[0].of.str.len)))
          err = zh_error_oom();
        rh[i] = (zh_wasip2_header){names[i], (const uint8_t *)t[1].of.str.data, t[1].of.str.len};
      }
      if (!err)
        err = zh_wasip2_sink_start(cr->io.sink, r.status, rh, r.nheaders);
      if (!err && r.body_len)
        err = io_write(&cr->io, r.body, r.body_len);
      for (size_t i = 0; names && i < r.nheaders; i++)
        free(names[i]);
      free(names);
      free(rh);
    }
  }
  zh_val_drop(&req);
  zh_val_drop(&resp);
  free(h);
  zh_spin_headers_free(&hs);
  return err;
}

/* Runs the route's component in a call of its own, nested in the caller's. */
static zh_error *run_component(chain_req *cr) {
  uint64_t now = zh_hops_now_ns();
  if (now >= cr->caller->deadline_ns)
    return zh_error_new(ZH_ERR_INTERRUPTED, "the caller's deadline has passed");
  app_call call;
  zh_error *err =
      app_call_begin(cr->app, cr->route->comp, NULL, cr->caller->deadline_ns - now, &call);
  call.chain_depth = cr->caller->chain_depth + 1;
  call.hi.trace = cr->caller->hi.trace; /* the callee's hops join the request's trace */
  if (!err) {
    switch (cr->route->handler.kind) {
    case ZH_HOST_HANDLER_WASI_HTTP:
      err = run_wasi_http(cr, &call);
      break;
    case ZH_HOST_HANDLER_SPIN_HTTP:
      err = run_spin_http(cr, &call);
      break;
    default:
      err = zh_error_new(ZH_ERR_UNLINKABLE, "a WAGI component cannot be chained to");
      break;
    }
  }
  app_call_end(cr->app, &call);
  return err;
}

/* The caller's headers as the callee's server would hold them: `host` first (NULL: none),
 * then the caller's own but theirs. */
static zh_error *request_headers(chain_req *cr, const char *host) {
  const zh_wasip2_outgoing *o = cr->out;
  zh_http_header *h = calloc(o->nheaders + 1, sizeof *h);
  if (!h)
    return zh_error_oom();
  size_t n = 0;
  if (host)
    h[n++] = (zh_http_header){"host", 4, host, strlen(host)};
  for (size_t i = 0; i < o->nheaders; i++) {
    if (strcasecmp(o->headers[i].name, "host") != 0)
      h[n++] = (zh_http_header){o->headers[i].name, strlen(o->headers[i].name),
                                (const char *)o->headers[i].value, o->headers[i].value_len};
  }
  cr->in_headers = h;
  cr->sreq = (zh_spin_request){"http", o->path_with_query, strlen(o->path_with_query), h,
                               n,      CHAINED_CLIENT_ADDR};
  return NULL;
}

/* A self request: the app's reserved paths and router, as an inbound request. */
static zh_error *run_self(chain_req *cr, bool *ran) {
  const char *pq = cr->out->path_with_query, *q = strchr(pq, '?');
  size_t path_len = q ? (size_t)(q - pq) : strlen(pq);
  bool handled = false;
  zh_router_reserved res;
  zh_error *err = zh_router_reserved_answer(pq, path_len, cr->app->m->name, cr->app->m->version,
                                            &handled, &res);
  if (err || handled) {
    if (!err) {
      zh_wasip2_header ct = {"content-type", (const uint8_t *)res.content_type,
                             res.content_type ? strlen(res.content_type) : 0};
      err = zh_wasip2_sink_start(cr->io.sink, res.status, &ct, res.content_type ? 1 : 0);
      if (!err && res.body_len)
        err = io_write(&cr->io, res.body, res.body_len);
      zh_router_reserved_free(&res);
    }
    return err;
  }
  if (!zh_router_match(cr->app->router, pq, path_len, &cr->match))
    return answer(cr, 404, NULL);
  cr->route = &cr->app->routes[cr->match.target];
  if (!cr->route->comp) {
    const zh_manifest_http_trigger *t = cr->route->t;
    zh_wasip2_header *h = calloc(t->nstatic_headers + 1, sizeof *h);
    if (!h)
      return zh_error_oom();
    for (size_t i = 0; i < t->nstatic_headers; i++)
      h[i] =
          (zh_wasip2_header){t->static_headers[i].key, (const uint8_t *)t->static_headers[i].value,
                             strlen(t->static_headers[i].value)};
    err = zh_wasip2_sink_start(cr->io.sink, t->static_status, h, t->nstatic_headers);
    free(h);
    if (!err && t->static_body && *t->static_body)
      err = io_write(&cr->io, t->static_body, strlen(t->static_body));
    return err;
  }
  *ran = true;
  return run_component(cr);
}

static zh_error *chain_run(void *env, zh_wasip2_ctx *cx, const zh_wasip2_outgoing *out,
                           zh_wasip2_sink *sink) {
  zh_app *app = env;
  chain_req cr;
  memset(&cr, 0, sizeof cr);
  cr.app = app;
  cr.caller = caller_of(cx);
  cr.out = out;
  cr.io = (chain_io){out->body, out->body_len, 0, sink, 0};
  uint64_t t0 = zh_hops_now_ns();
  char host[256] = "";
  uint16_t port = 0;
  if (out->authority)
    zh_host_outbound_split_authority(out->authority, strlen(out->authority), host, sizeof host,
                                     &port);
  bool self = is_self(out->authority, host), ran = false;
  char *dot = self ? NULL : strchr(host, '.');
  if (dot) /* the hop's callee: the component id (for a self request, its route's) */
    *dot = '\0';
  const char *callee = self ? "self" : host;
  zh_error *err = NULL;
  if (!cr.caller) {
    return zh_error_new(ZH_ERR_USAGE, "service chaining outside a component call");
  } else if (cr.caller->chain_depth >= APP_CHAIN_MAX_DEPTH) {
    err = zh_error_new(ZH_ERR_EXHAUSTION, "chained requests nested more than %u deep",
                       APP_CHAIN_MAX_DEPTH);
  } else if ((err = request_headers(&cr, out->authority)) == NULL && self) {
    err = run_self(&cr, &ran);
  } else if (!err) {
    cr.route = route_of(app, host, strlen(host));
    cr.chained = true;
    cr.match = (zh_router_result){.route = "/...",
                                  .component_route = "",
                                  .raw_component_route = "/...",
                                  .base = "/",
                                  .path_info = out->path_with_query,
                                  .path_info_len = strcspn(out->path_with_query, "?")};
    ran = true;
    err =
        cr.route ? run_component(&cr) : zh_error_new(ZH_ERR_UNLINKABLE, "no component `%s`", host);
  }
  if (ran && cr.route)
    callee = cr.route->comp->id;
  bool failed = err != NULL;
  if (err) {
    app_log(app, "%s %s://%s%s: chained from `%s` to `%s`: %s: %s", out->method, out->scheme,
            out->authority ? out->authority : "", out->path_with_query, cr.caller->c->id, callee,
            zh_error_outcome(err), zh_error_message(err));
    if (!zh_wasip2_sink_started(sink))
      answer(&cr, zh_error_status(err) == ZH_ERR_EXHAUSTION ? 508 : 500, NULL);
    zh_error_free(err);
  }
  zh_hops_record_traced(app->hops, cr.caller ? cr.caller->hi.trace : NULL,
                        cr.caller ? cr.caller->c->id : "?", callee, ZH_HOP_CHAIN,
                        zh_hops_now_ns() - t0, out->body_len + cr.io.out_bytes, failed);
  free(cr.in_headers);
  return NULL;
}

void app_chain_init(zh_app *app) {
  app->chain = (zh_wasip2_dispatch){chain_route, chain_run, app, app->opt.max_body};
}
