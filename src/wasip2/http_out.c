/* wasi:http/outgoing-handler through libcurl's multi interface, with the outgoing-request
 * and request-options resources and future-incoming-response.
 *
 * `handle` checks the request's origin against the context's allow-list (a denied request
 * answers HTTP-request-denied and is logged) and hands it to curl. Nothing runs in the
 * background: transfers progress while the guest waits (poll, pollable.block, blocking
 * reads), which keeps every callback on the guest's thread. The request body is read from
 * what the guest wrote to its outgoing-body (curl pauses while that is empty and the body is
 * not finished); the response body is kept as curl delivers it and read from there, and
 * curl is paused while more than a megabyte waits unread. The future is ready once the
 * final response head (status >= 200) is in, or the transfer failed.
 *
 * An embedder's dispatch hook (zh_wasip2_config.dispatch) may claim a request instead: then
 * no curl handle exists, the body is buffered until the guest finishes it, and the hook's
 * `run` serves it on the guest's thread, writing the response into the future (a
 * zh_wasip2_sink), which is ready when `run` returns. */
#include "wasip2/http_internal.h"

#include "wasip2/curl_dl.h"
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define UNREAD_MAX (1u << 20)

struct wp2_curl {
  CURLM *multi;
  size_t running; /* transfers not done */
};

typedef struct wp2_future {
  wp2_obj base;
  zh_wasip2_ctx *cx;
  CURL *easy;
  struct curl_slist *hdrs;
  char *url;
  wp2_out_request *req; /* taken from the table by handle */
  uint64_t body;        /* the request's outgoing-body rep, 0 without one */
  bool started, done, failed, heads_done, taken, dropped, send_paused, recv_paused;
  bool local, too_large; /* served by the dispatch hook; its request body passed max_body */
  bool reported;         /* http_done was called */
  uint64_t start_ns;     /* when handle took the request, for http_done */
  uint32_t code;         /* error-code case when failed */
  char errbuf[CURL_ERROR_SIZE];
  uint16_t status;
  wp2_fields *resp_headers;
  wp2_buf resp_body;
  size_t resp_pos;
} wp2_future;

static void plain_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  free(o);
}

/* ---- outgoing-request and request-options ---- */

static void out_request_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  wp2_out_request *r = (wp2_out_request *)o;
  free(r->method);
  free(r->path);
  free(r->scheme);
  free(r->authority);
  wp2_fields_destroy(r->headers);
  free(r);
}

static zh_error *out_req_new(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_fields *h = (wp2_fields *)wp2_take(cx, args[0].of.res.rep, WP2_FIELDS);
  if (!h)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: outgoing-request: fields handle is gone");
  h->immutable = true;
  wp2_out_request *r = calloc(1, sizeof *r);
  if (!r || !(r->method = strdup("GET"))) {
    free(r);
    wp2_fields_destroy(h);
    return wp2_oom();
  }
  r->base = (wp2_obj){WP2_OUT_REQUEST, out_request_free};
  r->headers = h;
  uint64_t rep = 0;
  zh_error *err = wp2_insert(cx, &r->base, &rep);
  if (!err)
    *result = zh_val_own(rep);
  return err;
}

static zh_error *out_req_arg(zh_wasip2_ctx *cx, zh_val *v, wp2_out_request **out) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, v, WP2_OUT_REQUEST, "outgoing-request", &o);
  *out = (wp2_out_request *)o;
  return err;
}

static zh_error *out_req_body(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  if (err)
    return err;
  if (r->body)
    return zh_val_err(result, NULL);
  if ((err = wp2_out_body_new(cx, true, args[0].of.res.rep, &r->body)))
    return err;
  zh_val own = zh_val_own(r->body);
  return zh_val_ok(result, &own);
}

static const char *const method_names[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                           "CONNECT", "OPTIONS", "TRACE", "PATCH"};

static zh_error *out_req_method(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  if (err)
    return err;
  for (uint32_t i = 0; i < 9; i++)
    if (strcmp(r->method, method_names[i]) == 0)
      return zh_val_variant(result, i, NULL);
  zh_val s;
  return (err = zh_val_string_cstr(&s, r->method)) ? err : zh_val_variant(result, 9, &s);
}

static bool is_token(const char *s, size_t len) {
  if (!len)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(c > 32 && c < 127 && !strchr("\"(),/:;<=>?@[\\]{}", c)))
      return false;
  }
  return true;
}

/* Replaces *slot with a copy of the string payload (NULL for none). */
static bool set_opt(char **slot, const zh_val *opt_or_str, bool is_opt) {
  const zh_val *s =
      is_opt ? (zh_val_case(opt_or_str) ? opt_or_str->of.var.payload : NULL) : opt_or_str;
  char *d = NULL;
  if (s && !(d = strndup(s->of.str.data, s->of.str.len)))
    return false;
  free(*slot);
  *slot = d;
  return true;
}

static zh_error *out_req_set_method(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  if (err)
    return err;
  uint32_t c = zh_val_case(&args[1]);
  if (c < 9) {
    char *m = strdup(method_names[c]);
    if (!m)
      return wp2_oom();
    free(r->method);
    r->method = m;
  } else {
    const zh_val *s = args[1].of.var.payload;
    if (!is_token(s->of.str.data, s->of.str.len))
      return zh_val_err(result, NULL);
    if (!set_opt(&r->method, s, false))
      return wp2_oom();
  }
  return zh_val_ok(result, NULL);
}

static zh_error *out_req_path(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  return err ? err : wp2_string_opt(result, r->path);
}

static bool valid_text(const zh_val *opt, const char *bad) {
  if (!zh_val_case(opt))
    return true;
  const zh_val *s = opt->of.var.payload;
  size_t nbad = strlen(bad);
  for (size_t i = 0; i < s->of.str.len; i++) {
    unsigned char c = (unsigned char)s->of.str.data[i];
    if (c <= 32 || c == 127)
      return false;
    for (size_t k = 0; k < nbad; k++) /* a few bytes: no library call per character */
      if (c == (unsigned char)bad[k])
        return false;
  }
  return true;
}

static zh_error *out_req_set_path(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  if (err)
    return err;
  if (!valid_text(&args[1], "#"))
    return zh_val_err(result, NULL);
  return set_opt(&r->path, &args[1], true) ? zh_val_ok(result, NULL) : wp2_oom();
}

static zh_error *out_req_scheme(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  if (err)
    return err;
  if (!r->scheme) {
    *result = zh_val_none();
    return NULL;
  }
  zh_val v, s;
  if (strcmp(r->scheme, "http") == 0)
    err = zh_val_variant(&v, 0, NULL);
  else if (strcmp(r->scheme, "https") == 0)
    err = zh_val_variant(&v, 1, NULL);
  else
    err = (err = zh_val_string_cstr(&s, r->scheme)) ? err : zh_val_variant(&v, 2, &s);
  return err ? err : zh_val_some(result, &v);
}

static zh_error *out_req_set_scheme(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  if (err)
    return err;
  char *s = NULL;
  if (zh_val_case(&args[1])) {
    const zh_val *sc = args[1].of.var.payload;
    uint32_t c = zh_val_case(sc);
    if (c == 2 && !is_token(sc->of.var.payload->of.str.data, sc->of.var.payload->of.str.len))
      return zh_val_err(result, NULL);
    s = c == 0   ? strdup("http")
        : c == 1 ? strdup("https")
                 : strndup(sc->of.var.payload->of.str.data, sc->of.var.payload->of.str.len);
    if (!s)
      return wp2_oom();
  }
  free(r->scheme);
  r->scheme = s;
  return zh_val_ok(result, NULL);
}

static zh_error *out_req_authority(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  return err ? err : wp2_string_opt(result, r->authority);
}

static zh_error *out_req_set_authority(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  if (err)
    return err;
  if (!valid_text(&args[1], "/?#@"))
    return zh_val_err(result, NULL);
  return set_opt(&r->authority, &args[1], true) ? zh_val_ok(result, NULL) : wp2_oom();
}

static zh_error *out_req_headers(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r;
  zh_error *err = out_req_arg(cx, &args[0], &r);
  return err ? err : wp2_fields_copy(cx, r->headers, true, result);
}

typedef struct wp2_options {
  wp2_obj base;
  bool has[3];
  uint64_t ns[3]; /* connect, first-byte, between-bytes */
} wp2_options;

static zh_error *opts_new(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  wp2_options *o = calloc(1, sizeof *o);
  if (!o)
    return wp2_oom();
  o->base = (wp2_obj){WP2_REQ_OPTIONS, plain_free};
  uint64_t rep = 0;
  zh_error *err = wp2_insert(cx, &o->base, &rep);
  if (!err)
    *result = zh_val_own(rep);
  return err;
}

static zh_error *opt_get(zh_wasip2_ctx *cx, zh_val *args, zh_val *result, int which) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_REQ_OPTIONS, "request-options", &o);
  if (err)
    return err;
  wp2_options *op = (wp2_options *)o;
  if (!op->has[which]) {
    *result = zh_val_none();
    return NULL;
  }
  zh_val v = zh_val_u64(op->ns[which]);
  return zh_val_some(result, &v);
}

static zh_error *opt_set(zh_wasip2_ctx *cx, zh_val *args, zh_val *result, int which) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_REQ_OPTIONS, "request-options", &o);
  if (err)
    return err;
  wp2_options *op = (wp2_options *)o;
  op->has[which] = zh_val_case(&args[1]) == 1;
  op->ns[which] = op->has[which] ? args[1].of.var.payload->of.u : 0;
  return zh_val_ok(result, NULL);
}

#define OPT_FNS(name, i)                                                                           \
  static zh_error *name##_get(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {                 \
    (void)n;                                                                                       \
    return opt_get(cx, a, r, i);                                                                   \
  }                                                                                                \
  static zh_error *name##_set(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {                 \
    (void)n;                                                                                       \
    return opt_set(cx, a, r, i);                                                                   \
  }
OPT_FNS(connect, 0)
OPT_FNS(first_byte, 1)
OPT_FNS(between, 2)

/* ---- transfers ---- */

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Tells the embedder's http_done, once, that the transfer ended. A request the dispatch hook
 * served never left the process: the hook accounts for it (a chaining hop, not HTTP). */
static void report(zh_wasip2_ctx *cx, wp2_future *f, bool failed) {
  if (f->reported || f->local || !cx->http_done || !f->req)
    return;
  f->reported = true;
  curl_off_t up = 0, down = 0;
  if (f->easy) {
    curl_easy_getinfo(f->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(f->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
  }
  uint64_t bytes = (uint64_t)(up > 0 ? up : 0) + (uint64_t)(down > 0 ? down : 0);
  cx->http_done(cx, f->req->scheme ? f->req->scheme : "https", f->req->authority,
                now_ns() - f->start_ns, bytes, failed || f->status >= 500);
}

static void future_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  wp2_future *f = (wp2_future *)o;
  if (f->started)
    report(cx, f, !f->done || f->failed); /* not done: the guest gave up on it */
  if (f->easy) {
    if (cx->curl && f->started)
      curl_multi_remove_handle(cx->curl->multi, f->easy);
    curl_easy_cleanup(f->easy);
    if (f->started && !f->done && cx->curl)
      cx->curl->running--;
  }
  if (f->hdrs) /* libcurl is loaded on first use: a local future never touched it */
    curl_slist_free_all(f->hdrs);
  free(f->url);
  if (f->req)
    out_request_free(cx, &f->req->base);
  wp2_fields_destroy(f->resp_headers);
  wp2_buf_free(&f->resp_body);
  free(f);
}

/* The guest dropped its future: the transfer lives on while a response it took reads from it. */
static void future_dtor(zh_wasip2_ctx *cx, uint64_t rep) {
  wp2_future *f = (wp2_future *)wp2_get(cx, rep, WP2_FUT_RESPONSE);
  if (f && f->taken && !f->failed)
    f->dropped = true;
  else
    wp2_remove(cx, rep);
}

static size_t on_header(char *line, size_t size, size_t n, void *arg) {
  wp2_future *f = arg;
  size_t len = size * n, l = len;
  while (l && (line[l - 1] == '\r' || line[l - 1] == '\n'))
    l--;
  if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
    const char *sp = memchr(line, ' ', l);
    f->status = sp ? (uint16_t)strtoul(sp + 1, NULL, 10) : 0;
    for (size_t i = 0; f->resp_headers && i < f->resp_headers->n; i++) {
      wp2_field_free(&f->resp_headers->f[i]);
    }
    if (f->resp_headers)
      f->resp_headers->n = 0;
  } else if (l == 0) {
    if (f->status >= 200)
      f->heads_done = true;
  } else {
    const char *colon = memchr(line, ':', l);
    if (colon && f->resp_headers) {
      const char *v = colon + 1, *end = line + l;
      while (v < end && (*v == ' ' || *v == '\t'))
        v++;
      if (!wp2_fields_add(f->resp_headers, line, (size_t)(colon - line), (const uint8_t *)v,
                          (size_t)(end - v)))
        return 0;
    }
  }
  return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
  wp2_future *f = arg;
  if (f->resp_body.len - f->resp_pos > UNREAD_MAX) {
    f->recv_paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  f->heads_done = true;
  return wp2_buf_append(&f->resp_body, data, size * n) ? size * n : 0;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg) {
  wp2_future *f = arg;
  wp2_out_body *b = (wp2_out_body *)wp2_get(f->cx, f->body, WP2_OUT_BODY);
  if (!b)
    return CURL_READFUNC_ABORT; /* dropped without finish: the request is incomplete */
  size_t cap = size * n, k = b->pending.len < cap ? b->pending.len : cap;
  if (k == 0) {
    if (b->finished)
      return 0;
    f->send_paused = true;
    return CURL_READFUNC_PAUSE;
  }
  memcpy(buf, b->pending.data, k);
  memmove(b->pending.data, b->pending.data + k, b->pending.len - k);
  b->pending.len -= k;
  return k;
}

static zh_error *start(zh_wasip2_ctx *cx, wp2_future *f) {
  if (!cx->curl) {
    if (!(cx->curl = calloc(1, sizeof *cx->curl)) || !(cx->curl->multi = curl_multi_init()))
      return wp2_oom();
  }
  if (curl_multi_add_handle(cx->curl->multi, f->easy) != CURLM_OK)
    return zh_error_new(ZH_ERR_RESOURCE, "wasip2: curl_multi_add_handle failed");
  f->started = true;
  cx->curl->running++;
  curl_multi_perform(cx->curl->multi, &(int){0});
  return NULL;
}

/* ---- requests served by the embedder (zh_wasip2_dispatch) ---- */

struct zh_wasip2_sink {
  wp2_future *f;
  uint64_t max;
  bool started;
};

zh_error *zh_wasip2_sink_start(zh_wasip2_sink *sink, int status, const zh_wasip2_header *headers,
                               size_t n) {
  if (sink->started)
    return zh_error_new(ZH_ERR_USAGE, "wasip2: a local response was started twice");
  sink->started = true;
  wp2_future *f = sink->f;
  f->status = (uint16_t)(status >= 100 && status <= 599 ? status : 500);
  for (size_t i = 0; i < n; i++)
    if (!wp2_fields_add(f->resp_headers, headers[i].name, strlen(headers[i].name), headers[i].value,
                        headers[i].value_len))
      return wp2_oom();
  f->heads_done = true;
  return NULL;
}

zh_error *zh_wasip2_sink_write(zh_wasip2_sink *sink, const void *data, size_t len) {
  if (!sink->started)
    return zh_error_new(ZH_ERR_USAGE, "wasip2: a local response body before its head");
  wp2_future *f = sink->f;
  if (sink->max && len > sink->max - f->resp_body.len)
    return zh_error_new(ZH_ERR_RESOURCE, "response body over %llu bytes",
                        (unsigned long long)sink->max);
  return wp2_buf_append(&f->resp_body, data, len) ? NULL : wp2_oom();
}

bool zh_wasip2_sink_started(const zh_wasip2_sink *sink) { return sink->started; }

/* Serves a claimed request with the embedder's `run`, its body complete. */
static void run_local(zh_wasip2_ctx *cx, wp2_future *f) {
  if (f->started)
    return;
  f->started = true;
  const zh_wasip2_dispatch *d = cx->dispatch;
  wp2_out_request *r = f->req;
  wp2_out_body *b = r->body ? (wp2_out_body *)wp2_get(cx, r->body, WP2_OUT_BODY) : NULL;
  zh_wasip2_sink sink = {f, d->max_body, false};
  zh_error *err = NULL;
  size_t n = r->headers->n;
  zh_wasip2_header *h = NULL;
  zh_wasip2_outgoing o; /* at this scope, so no analyser thinks err may point into it */
  if (f->too_large || (d->max_body && b && b->pending.len > d->max_body)) {
    err = zh_wasip2_sink_start(&sink, 413, NULL, 0); /* what the server answers inbound */
  } else if (!(h = calloc(n ? n : 1, sizeof *h))) {
    err = wp2_oom();
  } else {
    for (size_t i = 0; i < n; i++)
      h[i] =
          (zh_wasip2_header){r->headers->f[i].name, r->headers->f[i].value, r->headers->f[i].len};
    const char *scheme = r->scheme ? r->scheme : r->authority ? "https" : "http";
    o = (zh_wasip2_outgoing){r->method,
                             scheme,
                             r->authority,
                             r->path ? r->path : "/",
                             h,
                             n,
                             b ? b->pending.data : NULL,
                             b ? b->pending.len : 0};
    err = d->run(d->env, cx, &o, &sink);
  }
  free(h);
  if (b)
    wp2_buf_free(&b->pending);
  if (err && !sink.started) {
    f->failed = true;
    f->code = HE_INTERNAL_ERROR;
    snprintf(f->errbuf, sizeof f->errbuf, "%s", zh_error_message(err));
  }
  zh_error_free(err);
  f->done = true;
}

/* A claimed request whose body the guest dropped without finishing it never runs. */
static void local_check(zh_wasip2_ctx *cx, wp2_future *f) {
  if (f->local && !f->started && f->body && !wp2_get(cx, f->body, WP2_OUT_BODY)) {
    f->started = f->done = f->failed = true;
    f->code = HE_INTERNAL_ERROR;
    snprintf(f->errbuf, sizeof f->errbuf, "the request body was dropped unfinished");
  }
}

void wp2_http_body_finished(zh_wasip2_ctx *cx, wp2_out_body *b) {
  wp2_future *f = (wp2_future *)wp2_get(cx, b->owner, WP2_FUT_RESPONSE);
  if (!f)
    return;
  if (f->local) {
    run_local(cx, f);
    return;
  }
  if (!f->started) {
    zh_error *err = start(cx, f);
    if (err) {
      f->failed = f->done = true;
      f->code = HE_INTERNAL_ERROR;
      zh_error_free(err);
    }
  } else if (f->send_paused) {
    f->send_paused = false;
    curl_easy_pause(f->easy, f->recv_paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
  }
}

/* Called by http.c after the guest wrote to a request body. */
void wp2_http_body_written(zh_wasip2_ctx *cx, wp2_out_body *b) {
  wp2_future *f = (wp2_future *)wp2_get(cx, b->owner, WP2_FUT_RESPONSE);
  if (f && f->local) {
    uint64_t max = cx->dispatch->max_body;
    if (max && b->pending.len > max) { /* it will answer 413: keep no more of it */
      f->too_large = true;
      b->pending.len = 0;
    }
    return;
  }
  if (f && f->started && f->send_paused) {
    f->send_paused = false;
    curl_easy_pause(f->easy, f->recv_paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
  }
}

static uint32_t code_of_curl(CURLcode c) {
  switch (c) {
  case CURLE_COULDNT_RESOLVE_HOST:
    return HE_DESTINATION_NOT_FOUND;
  case CURLE_COULDNT_CONNECT:
    return HE_CONNECTION_REFUSED;
  case CURLE_OPERATION_TIMEDOUT:
    return 8; /* connection-timeout */
  case CURLE_GOT_NOTHING:
  case CURLE_WEIRD_SERVER_REPLY:
    return HE_HTTP_PROTOCOL_ERROR;
  default:
    return HE_INTERNAL_ERROR;
  }
}

void wp2_curl_step(zh_wasip2_ctx *cx, int ms) {
  if (!cx->curl)
    return;
  int running = 0;
  curl_multi_perform(cx->curl->multi, &running);
  curl_multi_poll(cx->curl->multi, NULL, 0, ms, NULL);
  curl_multi_perform(cx->curl->multi, &running);
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(cx->curl->multi, &left))) {
    if (m->msg != CURLMSG_DONE)
      continue;
    wp2_future *f = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&f);
    if (!f || f->done)
      continue;
    f->done = true;
    cx->curl->running--;
    if (m->data.result != CURLE_OK) {
      f->failed = true;
      f->code = code_of_curl(m->data.result);
      if (!f->errbuf[0])
        snprintf(f->errbuf, sizeof f->errbuf, "%s", curl_easy_strerror(m->data.result));
    }
    report(cx, f, f->failed);
  }
}

bool wp2_curl_active(const zh_wasip2_ctx *cx) { return cx->curl && cx->curl->running > 0; }

void wp2_curl_free(zh_wasip2_ctx *cx) {
  if (!cx->curl)
    return;
  curl_multi_cleanup(cx->curl->multi);
  free(cx->curl);
  cx->curl = NULL;
}

static bool future_ready(zh_wasip2_ctx *cx, uint64_t rep) {
  wp2_future *f = (wp2_future *)wp2_get(cx, rep, WP2_FUT_RESPONSE);
  if (f)
    local_check(cx, f);
  return !f || f->done || f->heads_done;
}

bool wp2_curl_body_ready(zh_wasip2_ctx *cx, uint64_t future) {
  wp2_future *f = (wp2_future *)wp2_get(cx, future, WP2_FUT_RESPONSE);
  return !f || f->done || f->resp_body.len > f->resp_pos;
}

static bool body_ready_cb(zh_wasip2_ctx *cx, void *arg) {
  return wp2_curl_body_ready(cx, (uint64_t)(uintptr_t)arg);
}

zh_error *wp2_curl_body_read(zh_wasip2_ctx *cx, uint64_t future, void *buf, size_t cap, size_t *got,
                             bool *eof, bool blocking) {
  *got = 0;
  *eof = false;
  wp2_future *f = (wp2_future *)wp2_get(cx, future, WP2_FUT_RESPONSE);
  if (!f) {
    *eof = true;
    return NULL;
  }
  if (blocking && !wp2_curl_body_ready(cx, future)) {
    zh_error *err = wp2_block_until(cx, body_ready_cb, (void *)(uintptr_t)future);
    if (err)
      return err;
  } else if (!blocking && cx->curl) {
    wp2_curl_step(cx, 0);
  }
  size_t avail = f->resp_body.len - f->resp_pos, k = avail < cap ? avail : cap;
  if (k) /* an empty body may have no buffer at all */
    memcpy(buf, f->resp_body.data + f->resp_pos, k);
  f->resp_pos += k;
  *got = k;
  if (f->resp_pos == f->resp_body.len) {
    f->resp_pos = f->resp_body.len = 0; /* everything read: reuse the buffer */
    if (f->recv_paused) {
      f->recv_paused = false;
      curl_easy_pause(f->easy, f->send_paused ? CURLPAUSE_SEND : CURLPAUSE_CONT);
    }
  }
  *eof = k == 0 && f->done;
  return NULL;
}

/* ---- outgoing-handler.handle ---- */

/* The embedder's policy sees the host and port apart: "[::1]:8080" is "::1" and 8080, and an
 * authority without a port has the scheme's. A malformed authority is denied. */
static bool policy_allows(const zh_wasip2_ctx *cx, const char *scheme, const char *authority) {
  char host[256];
  const char *h = authority, *hend, *port = NULL;
  if (authority[0] == '[') {
    h = authority + 1;
    if (!(hend = strchr(h, ']')) || (hend[1] && hend[1] != ':'))
      return false;
    port = hend[1] ? hend + 2 : NULL;
  } else {
    hend = strchr(authority, ':');
    port = hend ? hend + 1 : NULL;
    hend = hend ? hend : authority + strlen(authority);
  }
  if ((size_t)(hend - h) >= sizeof host || hend == h)
    return false;
  memcpy(host, h, (size_t)(hend - h));
  host[hend - h] = 0;
  unsigned long p = strcmp(scheme, "https") == 0 ? 443 : 80;
  if (port) {
    char *end;
    p = strtoul(port, &end, 10);
    if (!*port || *end || p == 0 || p > 65535 || !isdigit((unsigned char)*port))
      return false;
  }
  return cx->http_allowed(cx->http_allowed_env, scheme, host, (uint16_t)p);
}

static bool origin_allowed(const zh_wasip2_ctx *cx, const char *scheme, const char *authority) {
  if (cx->http_allowed)
    return policy_allows(cx, scheme, authority);
  char origin[1024];
  snprintf(origin, sizeof origin, "%s://%s", scheme, authority);
  for (size_t i = 0; i < cx->nhttp_allow; i++) {
    const char *e = cx->http_allow[i];
    size_t el = strlen(e);
    while (el && e[el - 1] == '/')
      el--;
    if ((el == 1 && e[0] == '*') || (strlen(origin) == el && strncasecmp(origin, e, el) == 0))
      return true;
  }
  return false;
}

static void log_line(zh_wasip2_ctx *cx, const char *line) {
  if (cx->log)
    cx->log(cx->log_env, line);
  else
    fprintf(stderr, "%s\n", line);
}

static zh_error *answer_error(zh_val *result, uint32_t code, const char *msg) {
  zh_val ec;
  zh_error *err = wp2_error_code(&ec, code, msg);
  return err ? err : zh_val_err(result, &ec);
}

zh_error *wp2_http_handle(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_request *r = (wp2_out_request *)wp2_take(cx, args[0].of.res.rep, WP2_OUT_REQUEST);
  if (!r)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: outgoing-handler.handle: request handle is gone");
  wp2_options opts = {0};
  if (zh_val_case(&args[1]) == 1) {
    wp2_obj *o = wp2_take(cx, args[1].of.var.payload->of.res.rep, WP2_REQ_OPTIONS);
    if (o) {
      opts = *(wp2_options *)o;
      o->free_fn(cx, o);
    }
  }
  const char *scheme = r->scheme ? r->scheme : r->authority ? "https" : "http";
  zh_wasip2_route route = ZH_WASIP2_ROUTE_NETWORK;
  zh_error *err = NULL;
  if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) {
    if (cx->dispatch && cx->dispatch->route &&
        (err = cx->dispatch->route(cx->dispatch->env, cx, scheme, r->authority, &route))) {
      out_request_free(cx, &r->base);
      return err;
    }
  } else {
    out_request_free(cx, &r->base);
    return answer_error(result, HE_HTTP_REQUEST_URI_INVALID, NULL);
  }
  if (!r->authority && route == ZH_WASIP2_ROUTE_NETWORK) {
    out_request_free(cx, &r->base);
    return answer_error(result, HE_HTTP_REQUEST_URI_INVALID, NULL);
  }
  /* the URL is for curl and the log: a request served in the process needs none */
  const char *authority = r->authority ? r->authority : "";
  size_t ulen = strlen(scheme) + strlen(authority) + (r->path ? strlen(r->path) : 1) + 8;
  wp2_future *f = calloc(1, sizeof *f);
  char *url = route == ZH_WASIP2_ROUTE_LOCAL ? NULL : malloc(ulen);
  if (!f || (!url && route != ZH_WASIP2_ROUTE_LOCAL)) {
    free(f);
    free(url);
    out_request_free(cx, &r->base);
    return wp2_oom();
  }
  if (url)
    snprintf(url, ulen, "%s://%s%s%s", scheme, authority, r->path && r->path[0] != '/' ? "/" : "",
             r->path ? r->path : "/");
  if (route == ZH_WASIP2_ROUTE_DENIED ||
      (route == ZH_WASIP2_ROUTE_NETWORK && !origin_allowed(cx, scheme, r->authority))) {
    char line[1200];
    snprintf(line, sizeof line, "wasip2: outbound HTTP %s %s denied: origin not allowed", r->method,
             url);
    log_line(cx, line);
    if (cx->http_done)
      cx->http_done(cx, scheme, r->authority, 0, 0, true);
    free(url);
    free(f);
    out_request_free(cx, &r->base);
    return answer_error(result, HE_HTTP_REQUEST_DENIED, NULL);
  }
  f->base = (wp2_obj){WP2_FUT_RESPONSE, future_free};
  f->start_ns = now_ns();
  f->cx = cx;
  f->req = r;
  f->url = url;
  f->body = r->body;
  err = wp2_fields_new(cx, true, &f->resp_headers, NULL);
  uint64_t rep = 0;
  if (err || (err = wp2_insert(cx, &f->base, &rep)))
    return err;
  if (route == ZH_WASIP2_ROUTE_LOCAL) {
    f->local = true;
    wp2_out_body *lb = (wp2_out_body *)wp2_get(cx, r->body, WP2_OUT_BODY);
    if (lb)
      lb->owner = rep; /* its writes and finish now reach this future */
    if (!lb || lb->finished)
      run_local(cx, f);
    zh_val own = zh_val_own(rep);
    return zh_val_ok(result, &own);
  }
  const char *why = NULL;
  if (!wp2_curl_load(&why)) {
    char line[600];
    snprintf(line, sizeof line, "wasip2: outbound HTTP %s %s failed: %s", r->method, url, why);
    log_line(cx, line);
    wp2_remove(cx, rep);
    return answer_error(result, HE_INTERNAL_ERROR, why);
  }
  if (!(f->easy = curl_easy_init())) {
    wp2_remove(cx, rep);
    return wp2_oom();
  }
  CURL *e = f->easy;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)f);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
  if (opts.has[0])
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(opts.ns[0] / 1000000u));
  if (strcmp(r->method, "HEAD") == 0)
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else if (strcmp(r->method, "GET") != 0)
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
  if (r->body) {
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, f);
    if (strcmp(r->method, "PUT") != 0)
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
  }
  bool ok = true;
  /* curl adds its own Accept and Expect: the guest's headers are the only ones sent */
  struct curl_slist *h = curl_slist_append(NULL, "Accept:");
  ok &= (h = curl_slist_append(h, "Expect:")) != NULL;
  for (size_t i = 0; ok && i < r->headers->n; i++) {
    wp2_field *fl = &r->headers->f[i];
    if (r->body && strcmp(fl->name, "content-length") == 0) {
      /* curl sends the length itself, and without one it sends the body chunked */
      char num[32];
      snprintf(num, sizeof num, "%.*s", (int)(fl->len < 31 ? fl->len : 31),
               (const char *)fl->value);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)strtoull(num, NULL, 10));
      continue;
    }
    size_t ll = strlen(fl->name) + fl->len + 3;
    char *line = malloc(ll);
    if (!line) {
      ok = false;
      break;
    }
    snprintf(line, ll, "%s: %.*s", fl->name, (int)fl->len, (const char *)fl->value);
    struct curl_slist *nh = curl_slist_append(h, line);
    free(line);
    ok = nh != NULL;
    h = nh ? nh : h;
  }
  f->hdrs = h;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  if (!ok) {
    wp2_remove(cx, rep);
    return wp2_oom();
  }
  wp2_out_body *b = (wp2_out_body *)wp2_get(cx, r->body, WP2_OUT_BODY);
  if (b)
    b->owner = rep; /* the body now feeds this transfer */
  if ((!b || b->finished || b->pending.len) && (err = start(cx, f))) {
    wp2_remove(cx, rep);
    return err;
  }
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

/* ---- future-incoming-response and incoming-response ---- */

typedef struct wp2_in_response {
  wp2_obj base;
  uint16_t status;
  wp2_fields *headers;
  uint64_t future;
  bool consumed;
} wp2_in_response;

static void in_response_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  wp2_in_response *r = (wp2_in_response *)o;
  wp2_fields_destroy(r->headers);
  wp2_future *f = (wp2_future *)wp2_get(cx, r->future, WP2_FUT_RESPONSE);
  if (f && f->dropped && !r->consumed)
    wp2_remove(cx, r->future);
  free(r);
}

static zh_error *fut_subscribe(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_FUT_RESPONSE, "future-incoming-response", &o);
  if (err)
    return err;
  if ((err = wp2_pollable_new(cx, WP2_P_FUTURE, args[0].of.res.rep, 0, result)))
    return err;
  wp2_pollable *p = (wp2_pollable *)wp2_get(cx, result->of.res.rep, WP2_POLLABLE);
  p->ready = future_ready;
  return NULL;
}

/* option<result<result<incoming-response, error-code>>> */
static zh_error *fut_get(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_FUT_RESPONSE, "future-incoming-response.get", &o);
  if (err)
    return err;
  wp2_future *f = (wp2_future *)o;
  local_check(cx, f);
  if (!f->done && !f->heads_done) {
    wp2_curl_step(cx, 0);
    if (!f->done && !f->heads_done) {
      *result = zh_val_none();
      return NULL;
    }
  }
  zh_val outer, inner;
  if (f->taken) {
    if ((err = zh_val_err(&outer, NULL)))
      return err;
    return zh_val_some(result, &outer);
  }
  f->taken = true;
  if (f->failed) {
    zh_val ec;
    if ((err = wp2_error_code(&ec, f->code, f->errbuf)) || (err = zh_val_err(&inner, &ec)))
      return err;
  } else {
    wp2_in_response *r = calloc(1, sizeof *r);
    if (!r)
      return wp2_oom();
    r->base = (wp2_obj){WP2_IN_RESPONSE, in_response_free};
    r->status = f->status;
    r->future = args[0].of.res.rep;
    /* taken once: the response gets the future's headers themselves (a trailer curl still
     * delivers finds none to change) */
    r->headers = f->resp_headers;
    r->headers->immutable = true;
    f->resp_headers = NULL;
    uint64_t rep = 0;
    if ((err = wp2_insert(cx, &r->base, &rep))) {
      in_response_free(cx, &r->base); /* and the headers it holds now */
      return err;
    }
    zh_val own = zh_val_own(rep);
    if ((err = zh_val_ok(&inner, &own)))
      return err;
  }
  return (err = zh_val_ok(&outer, &inner)) ? err : zh_val_some(result, &outer);
}

static zh_error *in_resp_arg(zh_wasip2_ctx *cx, zh_val *v, wp2_in_response **out) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, v, WP2_IN_RESPONSE, "incoming-response", &o);
  *out = (wp2_in_response *)o;
  return err;
}

static zh_error *in_resp_status(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_in_response *r;
  zh_error *err = in_resp_arg(cx, &args[0], &r);
  if (!err)
    *result = zh_val_u16(r->status);
  return err;
}

static zh_error *in_resp_headers(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_in_response *r;
  zh_error *err = in_resp_arg(cx, &args[0], &r);
  return err ? err : wp2_fields_copy(cx, r->headers, true, result);
}

static zh_error *in_resp_consume(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_in_response *r;
  zh_error *err = in_resp_arg(cx, &args[0], &r);
  if (err)
    return err;
  if (r->consumed)
    return zh_val_err(result, NULL);
  r->consumed = true;
  uint64_t rep = 0;
  if ((err = wp2_in_body_new(cx, false, r->future, &rep)))
    return err;
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

#define T "wasi:http/types"
static const zh_wasip2_entry entries[] = {
    {"wasi:http/outgoing-handler", "handle", wp2_http_handle},
    {T, "[constructor]outgoing-request", out_req_new},
    {T, "[method]outgoing-request.body", out_req_body},
    {T, "[method]outgoing-request.method", out_req_method},
    {T, "[method]outgoing-request.set-method", out_req_set_method},
    {T, "[method]outgoing-request.path-with-query", out_req_path},
    {T, "[method]outgoing-request.set-path-with-query", out_req_set_path},
    {T, "[method]outgoing-request.scheme", out_req_scheme},
    {T, "[method]outgoing-request.set-scheme", out_req_set_scheme},
    {T, "[method]outgoing-request.authority", out_req_authority},
    {T, "[method]outgoing-request.set-authority", out_req_set_authority},
    {T, "[method]outgoing-request.headers", out_req_headers},
    {T, "[constructor]request-options", opts_new},
    {T, "[method]request-options.connect-timeout", connect_get},
    {T, "[method]request-options.set-connect-timeout", connect_set},
    {T, "[method]request-options.first-byte-timeout", first_byte_get},
    {T, "[method]request-options.set-first-byte-timeout", first_byte_set},
    {T, "[method]request-options.between-bytes-timeout", between_get},
    {T, "[method]request-options.set-between-bytes-timeout", between_set},
    {T, "[method]future-incoming-response.subscribe", fut_subscribe},
    {T, "[method]future-incoming-response.get", fut_get},
    {T, "[method]incoming-response.status", in_resp_status},
    {T, "[method]incoming-response.headers", in_resp_headers},
    {T, "[method]incoming-response.consume", in_resp_consume},
};

static const zh_wasip2_resource resources[] = {
    {T, "future-incoming-response", future_dtor},
};

const wp2_table wp2_http_out_table = {entries, sizeof entries / sizeof entries[0], resources, 1};
