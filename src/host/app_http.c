/* The HTTP trigger: one request, from the wire to a component and back, with Spin's rules.
 *
 *   1. /.well-known/spin/... is answered by the host (health, info, else 404);
 *   2. the router picks the [[trigger.http]] (no route: an empty 404);
 *   3. a static_response is answered as written;
 *   4. Spin's headers are computed for the route (spin-full-url, spin-path-info, ...);
 *   5. the component runs in a fresh instance, the way its exports say:
 *      wasi:http/incoming-handler  streamed both ways through WASI 0.2's http types,
 *      fermyon:spin/inbound-http   the body read whole, one call, the response written whole,
 *      WAGI                        the body on stdin, CGI variables, stdout parsed as CGI.
 * A trap, a cut at the deadline or a broken response answers 500 when nothing was sent yet
 * (the connection closes when a response had started), with one log line; the host goes on. */
#include "host/app_internal.h"
#include "host/inbound_http.h"
#include "host/spin_headers.h"
#include "host/wagi.h"
#include "wasip2/server_io.h"
#include "wasm/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_CHUNK 65536u
#define WAGI_STDOUT_LIMIT (64u << 20)

typedef struct http_call {
  zh_app *app;
  zh_http_request *http;
  const zh_http_request_info *info;
  const char *path; /* the target up to '?', not NUL-terminated */
  size_t path_len;
  zh_router_result match;
  const app_route *route;
  zh_spin_request sreq;
  zh_spin_headers headers; /* for the guest */
  bool started;            /* a response went out (no 500 then) */
  app_http_outcome *out;   /* the status and route, for the hop accounting */
} http_call;

static void respond(http_call *hc, int status, const zh_http_header *h, size_t n, const void *body,
                    size_t len) {
  zh_wasip2_server_respond(hc->http, status, h, n, body, len);
  hc->started = true;
  hc->out->status = status;
}

static void respond_text(http_call *hc, int status, const char *ct, const char *body, size_t len) {
  zh_http_header h = {"content-type", 12, ct, ct ? strlen(ct) : 0};
  respond(hc, status, ct ? &h : NULL, ct ? 1 : 0, body, len);
}

/* Logs a failed call and answers 500 (or 413/400 for a body the server refused) if nothing
 * was sent yet. */
static void fail(http_call *hc, zh_error *err) {
  const app_route *r = hc->route;
  app_log(hc->app, "%.*s %.*s: component `%s` %s: %s", (int)hc->info->method_len, hc->info->method,
          (int)hc->info->target_len, hc->info->target, r && r->comp ? r->comp->id : "?",
          zh_error_outcome(err), zh_error_message(err));
  zh_error_free(err);
  if (!hc->started)
    respond(hc, 500, NULL, 0, NULL, 0);
}

/* The guest's headers in the WASI host's shape (names are NUL-terminated in zh_spin_headers),
 * followed by room for `extra` more bytes, in one block: `small` when they fit (the caller
 * frees the result only when it is not), else malloc'd. */
static zh_wasip2_header *p2_headers(const zh_spin_headers *h, size_t extra, zh_wasip2_header *small,
                                    size_t small_size) {
  size_t n = h->count * sizeof(zh_wasip2_header);
  zh_wasip2_header *out = extra > SIZE_MAX - n - 1      ? NULL
                          : n + extra + 1 <= small_size ? small
                                                        : malloc(n + extra + 1);
  for (size_t i = 0; out && i < h->count; i++)
    out[i] = (zh_wasip2_header){h->items[i].name, (const uint8_t *)h->items[i].value,
                                h->items[i].value_len};
  return out;
}

/* A NUL-terminated copy of p[0..n) at *at, which moves past it. */
static char *put_n(char **at, const char *p, size_t n) {
  char *s = *at;
  if (n) /* an empty authority may be NULL */
    memcpy(s, p, n);
  s[n] = '\0';
  *at += n + 1;
  return s;
}

/* Reads the whole body, at most max bytes: ZH_ERR_RESOURCE beyond that. */
static zh_error *read_body(http_call *hc, uint8_t **out, size_t *len) {
  size_t cap = BODY_CHUNK, n = 0;
  uint8_t *buf = malloc(cap);
  bool eof = false;
  zh_error *err = buf ? NULL : zh_error_oom();
  while (!err && !eof) {
    if (n == cap) {
      if (cap >= hc->app->opt.max_body) {
        err = zh_error_new(ZH_ERR_RESOURCE, "request body over %llu bytes",
                           (unsigned long long)hc->app->opt.max_body);
        break;
      }
      uint8_t *more = realloc(buf, cap * 2);
      if (!more) {
        err = zh_error_oom();
        break;
      }
      buf = more;
      cap *= 2;
    }
    size_t got = 0;
    err = zh_http_request_read(hc->http, buf + n, cap - n, &got, &eof);
    n += got;
  }
  if (err) {
    free(buf);
    return err;
  }
  *out = buf;
  *len = n;
  return NULL;
}

/* A body the server refused answers what the server says it is (413 too large, 400). */
static void body_failed(http_call *hc, zh_error *err) {
  int status = zh_error_status(err) == ZH_ERR_RESOURCE ? 413 : 400;
  app_log(hc->app, "%.*s %.*s: %s", (int)hc->info->method_len, hc->info->method,
          (int)hc->info->target_len, hc->info->target, zh_error_message(err));
  zh_error_free(err);
  respond(hc, status, NULL, 0, NULL, 0);
}

static char *dup_n(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, p, n);
    s[n] = '\0';
  }
  return s;
}

/* ---- wasi:http/incoming-handler ---- */

/* The guest's headers, made when it first asks for them (a handler that never reads them
 * costs none): Spin's list, then the WASI host's shape of it, in `small` when it fits. */
typedef struct lazy_headers {
  http_call *hc;
  zh_wasip2_header *small, *made;
  size_t small_size;
} lazy_headers;

static zh_error *make_headers(void *arg, const zh_wasip2_header **out, size_t *n) {
  lazy_headers *lh = arg;
  http_call *hc = lh->hc;
  zh_error *err = zh_spin_headers_build(&hc->match, &hc->sreq, ZH_SPIN_WASI_HTTP, &hc->headers);
  if (err)
    return err;
  if (!(lh->made = p2_headers(&hc->headers, 0, lh->small, lh->small_size)))
    return zh_error_oom();
  *out = lh->made;
  *n = hc->headers.count;
  return NULL;
}

/* `small` when n bytes fit in it, else a malloc'd block (NULL if none). */
static char *room_for(char *small, size_t small_size, size_t n) {
  return n <= small_size ? small : malloc(n);
}

static void run_wasi_http(http_call *hc) {
  app_component *c = hc->route->comp;
  zh_wasip2_header small[64];
  lazy_headers lh = {hc, small, NULL, sizeof small};
  const zh_wasip2_header *h = NULL;
  size_t nh = 0;
  zh_error *err = NULL;
  /* A value that is not UTF-8 fails the request before the guest runs, as in Spin: the
   * headers are built now, and the build says which. */
  if (!zh_spin_request_values_utf8(&hc->sreq) && (err = make_headers(&lh, &h, &nh)) != NULL) {
    fail(hc, err);
    if (lh.made != small)
      free(lh.made);
    return;
  }
  /* The head's three strings, NUL-terminated, in one block, on the stack for most requests.
   * The request lends them (and the headers) to the WASI context, which is freed before
   * they are. */
  const zh_http_request_info *in = hc->info;
  char strs_small[512];
  char *strs = room_for(strs_small, sizeof strs_small,
                        in->method_len + 1 + in->target_len + 1 + in->authority_len + 1);
  if (!strs) {
    fail(hc, zh_error_oom());
  } else {
    char *at = strs;
    char *method = put_n(&at, in->method, in->method_len);
    char *target = put_n(&at, in->target, in->target_len);
    char *authority = put_n(&at, in->authority, in->authority_len);
    zh_wasip2_request head = {method, target, hc->info->scheme, authority, h, nh};
    zh_wasip2_server_req sr = {hc->http, false, false};
    app_call call;
    err = app_call_begin(hc->app, c, NULL, zh_http_request_time_left_ns(hc->http), &call);
    call.hi.trace = hc->out->trace;
    uint64_t request, outparam;
    zh_cm_func *fn =
        err ? NULL : zh_cm_instance_func(call.inst, hc->route->handler.iface, "handle");
    if (!err && !fn)
      err = zh_error_new(ZH_ERR_UNLINKABLE, "no %s#handle export", hc->route->handler.iface);
    if (!err &&
        (err = zh_wasip2_incoming_lazy(call.cx, &head, h ? NULL : make_headers, &lh,
                                       &zh_wasip2_server_io, &sr, &request, &outparam)) == NULL) {
      zh_val args[2] = {zh_val_own(request), zh_val_own(outparam)}, result;
      err = zh_cm_func_call(call.inst, fn, args, 2, &result);
      if (!err)
        zh_val_drop(&result);
    }
    int status;
    if (!err && !zh_wasip2_response_status(call.cx, &status))
      err = zh_error_new(ZH_ERR_INVALID, "the handler set no response, or an error-code response");
    else if (!err)
      hc->out->status = status;
    hc->started = sr.started;
    app_call_end(hc->app, &call);
    if (err)
      fail(hc, err); /* a started response is left unfinished: the server closes the connection */
  }
  if (strs != strs_small)
    free(strs);
  if (lh.made != small)
    free(lh.made);
}

/* ---- fermyon:spin/inbound-http ---- */

static void run_spin_http(http_call *hc) {
  app_component *c = hc->route->comp;
  uint8_t *body = NULL;
  size_t body_len = 0;
  zh_error *err = read_body(hc, &body, &body_len);
  if (err) {
    body_failed(hc, err);
    return;
  }
  char *method = dup_n(hc->info->method, hc->info->method_len);
  char *target = dup_n(hc->info->target, hc->info->target_len);
  zh_wasip2_header *h = NULL;
  zh_val req = zh_val_bool(false), resp = zh_val_bool(false);
  bool method_ok = true;
  err = zh_spin_headers_build(&hc->match, &hc->sreq, ZH_SPIN_INBOUND_HTTP, &hc->headers);
  if (!err && (!method || !target || !(h = p2_headers(&hc->headers, 0, NULL, 0))))
    err = zh_error_oom();
  if (!err)
    err = zh_host_spin_http_request(method, target, h, hc->headers.count, body, body_len, &req,
                                    &method_ok);
  if (!err && !method_ok) {
    respond(hc, 405, NULL, 0, NULL, 0);
  } else if (!err) {
    app_call call;
    err = app_call_begin(hc->app, c, NULL, zh_http_request_time_left_ns(hc->http), &call);
    call.hi.trace = hc->out->trace;
    if (!err && call.bound) { /* an older SDK's core module */
      err =
          zh_component_call(call.bound, hc->route->handler.iface, "handle-request", &req, 1, &resp);
    } else if (!err) {
      zh_cm_func *fn = zh_cm_instance_func(call.inst, hc->route->handler.iface, "handle-request");
      err = fn ? zh_cm_func_call(call.inst, fn, &req, 1, &resp)
               : zh_error_new(ZH_ERR_UNLINKABLE,
                              "no fermyon:spin/inbound-http#handle-request export");
    }
    zh_host_spin_response r;
    if (!err && (err = zh_host_spin_http_response(&resp, &r)) == NULL) {
      zh_http_header *rh = calloc(r.nheaders ? r.nheaders : 1, sizeof *rh);
      if (!rh) {
        err = zh_error_oom();
      } else {
        for (size_t i = 0; i < r.nheaders; i++) {
          zh_val *t = zh_val_fields((zh_val *)&r.headers[i]);
          rh[i] = (zh_http_header){t[0].of.str.data, t[0].of.str.len, t[1].of.str.data,
                                   t[1].of.str.len};
        }
        respond(hc, r.status, rh, r.nheaders, r.body, r.body_len);
        free(rh);
      }
    }
    app_call_end(hc->app, &call);
  }
  if (err)
    fail(hc, err);
  zh_val_drop(&req);
  zh_val_drop(&resp);
  free(h);
  free(method);
  free(target);
  free(body);
}

/* ---- WAGI ---- */

static zh_error *wagi_env(http_call *hc, uint64_t body_len, char ***env, size_t *nenv) {
  zh_spin_headers vars = {0};
  const zh_http_request_info *in = hc->info;
  zh_error *err = zh_wagi_make_env(&hc->match, &hc->sreq, in->method, in->method_len,
                                   in->version_minor, body_len, &vars);
  app_component *c = hc->route->comp;
  *env = NULL;
  *nenv = 0;
  char **e = err ? NULL : calloc(c->nenv + vars.count + 1, sizeof *e);
  if (!e) {
    zh_spin_headers_free(&vars);
    return err ? err : zh_error_oom();
  }
  size_t k = 0;
  for (size_t i = 0; !err && i < c->nenv; i++)
    if (!(e[k++] = strdup(c->env[i])))
      err = zh_error_oom();
  for (size_t i = 0; !err && i < vars.count; i++) {
    size_t len = vars.items[i].name_len + vars.items[i].value_len + 2;
    if (!(e[k] = malloc(len))) {
      err = zh_error_oom();
      break;
    }
    snprintf(e[k++], len, "%.*s=%.*s", (int)vars.items[i].name_len, vars.items[i].name,
             (int)vars.items[i].value_len, vars.items[i].value);
  }
  zh_spin_headers_free(&vars);
  *env = e;
  *nenv = k;
  return err;
}

static void wagi_log(void *env, const char *line) { app_log(env, "%s", line); }

/* Runs the guest with `cfg`; its stdout into *out (malloc'd). An exit with code 0 is a
 * normal end, as a CGI program's is. */
static zh_error *wagi_run(http_call *hc, const zh_wasip2_config *cfg, char **out, size_t *len) {
  app_component *c = hc->route->comp;
  app_call call;
  zh_error *err = app_call_begin(hc->app, c, cfg, zh_http_request_time_left_ns(hc->http), &call);
  call.hi.trace = hc->out->trace;
  if (!err && c->module) {
    const char *entry = hc->route->t->wagi_entrypoint ? hc->route->t->wagi_entrypoint : "_start";
    zh_func *fn = zh_instance_func(call.core, entry);
    err = fn ? zh_func_call(call.slot->store, fn, NULL, 0, NULL, 0)
             : zh_error_new(ZH_ERR_UNLINKABLE, "no `%s` export", entry);
  } else if (!err) {
    zh_cm_func *fn = zh_cm_instance_func(call.inst, hc->route->handler.iface, "run");
    zh_val result = zh_val_bool(false);
    err = fn ? zh_cm_func_call(call.inst, fn, NULL, 0, &result)
             : zh_error_new(ZH_ERR_UNLINKABLE, "no wasi:cli/run#run export");
    if (!err && zh_val_case(&result) != 0)
      err = zh_error_new(ZH_ERR_TRAP, "wasi:cli/run#run returned an error");
    zh_val_drop(&result);
  }
  if (err && zh_error_status(err) == ZH_ERR_EXIT && zh_error_exit_code(err) == 0) {
    zh_error_free(err);
    err = NULL;
  }
  if (!err) {
    size_t n = 0;
    const char *data =
        call.cx ? zh_wasip2_stdout_captured(call.cx, &n) : zh_wasi_stdout_captured(call.wasi, &n);
    *out = malloc(n ? n : 1);
    if (*out) {
      memcpy(*out, data, n);
      *len = n;
    } else {
      err = zh_error_oom();
    }
  }
  app_call_end(hc->app, &call);
  return err;
}

static void run_wagi(http_call *hc) {
  app_component *c = hc->route->comp;
  uint8_t *body = NULL;
  size_t body_len = 0;
  zh_error *err = read_body(hc, &body, &body_len);
  if (err) {
    body_failed(hc, err);
    return;
  }
  const char *q = memchr(hc->info->target, '?', hc->info->target_len);
  size_t qlen = q ? hc->info->target_len - (size_t)(q - hc->info->target) - 1 : 0;
  zh_wagi_argv argv = {0};
  char **env = NULL, *out = NULL;
  size_t nenv = 0, out_len = 0;
  err = zh_wagi_make_argv(hc->route->t->wagi_argv, hc->path, hc->path_len, q ? q + 1 : "", qlen,
                          &argv);
  if (!err)
    err = wagi_env(hc, body_len, &env, &nenv);
  if (!err) {
    zh_wasip2_config cfg = c->cfg;
    cfg.argv = (const char *const *)argv.argv;
    cfg.argc = argv.argc;
    cfg.env = (const char *const *)env;
    cfg.envc = nenv;
    cfg.stdio[0] = (zh_wasi_stdio){ZH_WASI_STDIO_BUFFER, -1, body, body_len};
    cfg.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
    cfg.capture_limit = WAGI_STDOUT_LIMIT;
    err = wagi_run(hc, &cfg, &out, &out_len);
  }
  zh_wagi_response resp;
  memset(&resp, 0, sizeof resp);
  if (!err && (err = zh_wagi_parse_response(c->id, (const uint8_t *)out, out_len, wagi_log, hc->app,
                                            &resp)) == NULL) {
    respond(hc, resp.status, resp.headers.items, resp.headers.count, resp.body, resp.body_len);
    zh_wagi_response_free(&resp);
  }
  if (err)
    fail(hc, err);
  for (size_t i = 0; i < nenv; i++)
    free(env[i]);
  free(env);
  free(out);
  zh_wagi_argv_free(&argv);
  free(body);
}

/* ---- the request ---- */

static void static_response(http_call *hc) {
  const zh_manifest_http_trigger *t = hc->route->t;
  zh_http_header *h = calloc(t->nstatic_headers + 1, sizeof *h);
  if (!h) {
    respond(hc, 500, NULL, 0, NULL, 0);
    return;
  }
  for (size_t i = 0; i < t->nstatic_headers; i++)
    h[i] = (zh_http_header){t->static_headers[i].key, strlen(t->static_headers[i].key),
                            t->static_headers[i].value, strlen(t->static_headers[i].value)};
  respond(hc, t->static_status, h, t->nstatic_headers, t->static_body,
          t->static_body ? strlen(t->static_body) : 0);
  free(h);
}

/* True for a Host under .spin.internal, port and a final dot aside, in any case: the names
 * of service chaining (`<id>.spin.internal`) and everything else under that domain. */
static bool internal_host(const char *v, size_t n) {
  const char *colon = memrchr(v, ':', n);
  if (colon)
    n = (size_t)(colon - v);
  while (n > 0 && v[n - 1] == '.')
    n--;
  static const char suffix[] = ".spin.internal";
  size_t k = sizeof suffix - 1;
  return n > k && strncasecmp(v + n - k, suffix, k) == 0;
}

/* Such a Host only ever comes from the host itself (app_chain.c), never from the network:
 * a request from outside that carries one is refused with 400 (Spin strips a chaining Host
 * instead; issue 10 asks for a refusal, and Spin has no status for it). */
static bool spoofed_chaining_host(http_call *hc) {
  for (size_t i = 0; i < hc->info->nheaders; i++) {
    const zh_http_header *h = &hc->info->headers[i];
    if (h->name_len == 4 && strncasecmp(h->name, "host", 4) == 0 &&
        internal_host(h->value, h->value_len)) {
      app_log(hc->app, "%.*s %.*s: refused (400): Host %.*s is under .spin.internal",
              (int)hc->info->method_len, hc->info->method, (int)hc->info->target_len,
              hc->info->target, (int)h->value_len, h->value);
      respond(hc, 400, NULL, 0, NULL, 0);
      return true;
    }
  }
  return false;
}

void app_http_serve(zh_app *app, zh_http_request *http, app_http_outcome *out) {
  http_call hc;
  memset(&hc, 0, sizeof hc);
  hc.app = app;
  hc.http = http;
  hc.out = out;
  hc.info = zh_http_request_get_info(http);
  const char *q = memchr(hc.info->target, '?', hc.info->target_len);
  hc.path = hc.info->target;
  hc.path_len = q ? (size_t)(q - hc.info->target) : hc.info->target_len;
  if (spoofed_chaining_host(&hc))
    return;

  bool handled = false;
  zh_router_reserved res;
  zh_error *err = zh_router_reserved_answer(hc.path, hc.path_len, hc.app->m->name,
                                            hc.app->m->version, &handled, &res);
  if (err) {
    fail(&hc, err);
    return;
  }
  if (handled) {
    respond_text(&hc, res.status, res.content_type, res.body, res.body_len);
    zh_router_reserved_free(&res);
    return;
  }
  if (!zh_router_match(hc.app->router, hc.path, hc.path_len, &hc.match)) {
    respond(&hc, 404, NULL, 0, NULL, 0);
    return;
  }
  hc.route = &hc.app->routes[hc.match.target];
  out->route = hc.route;
  if (!hc.route->comp) {
    static_response(&hc);
    return;
  }
  hc.sreq = (zh_spin_request){hc.info->scheme,  hc.info->target,   hc.info->target_len,
                              hc.info->headers, hc.info->nheaders, hc.info->client};
  switch (hc.route->handler.kind) {
  case ZH_HOST_HANDLER_WASI_HTTP:
    run_wasi_http(&hc);
    break;
  case ZH_HOST_HANDLER_SPIN_HTTP:
    run_spin_http(&hc);
    break;
  case ZH_HOST_HANDLER_WAGI_COMPONENT:
  case ZH_HOST_HANDLER_WAGI_MODULE:
    run_wagi(&hc);
    break;
  }
  zh_spin_headers_free(&hc.headers);
}
