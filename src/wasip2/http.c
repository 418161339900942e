/* wasi:http/types and the incoming side (incoming-handler): fields, requests, responses,
 * bodies, trailers and futures.
 *
 * Fields check every name (an RFC 9110 token) and value (no CR, LF or NUL), refuse the
 * hop-by-hop headers a guest may not set (forbidden) and refuse changes to fields that came
 * from a request or response (immutable). `headers()` of a request or response hands out an
 * immutable copy.
 *
 * The server's request and response go through the embedder's zh_wasip2_http_io: the request
 * body is read from it as the guest reads its stream; the response starts when the guest sets
 * the response-outparam, body bytes written before that are held until then, and the
 * response ends when the guest finishes the outgoing-body. */
#include "wasip2/http_internal.h"

#include "http/http_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { HDR_INVALID_SYNTAX = 0, HDR_FORBIDDEN = 1, HDR_IMMUTABLE = 2 };

/* The hop-by-hop headers a guest may not set, with their lengths. */
#define NAME(s)                                                                                    \
  { (s), sizeof(s) - 1 }
static const struct {
  const char *name;
  size_t len;
} forbidden[] = {NAME("connection"),
                 NAME("keep-alive"),
                 NAME("proxy-authenticate"),
                 NAME("proxy-authorization"),
                 NAME("proxy-connection"),
                 NAME("transfer-encoding"),
                 NAME("upgrade"),
                 NAME("host"),
                 NAME("http2-settings")};
#undef NAME

static void plain_free(zh_wasip2_ctx *cx, wp2_obj *o) { wp2_obj_free(cx, o); }

/* ---- fields ---- */

struct wp2_fields_chunk {
  struct wp2_fields_chunk *next;
  size_t used, cap;
  char data[];
};

void wp2_fields_destroy(wp2_fields *f) {
  if (!f)
    return;
  for (size_t i = 0; i < f->n; i++)
    wp2_field_free(&f->f[i]);
  while (f->chunks) {
    struct wp2_fields_chunk *next = f->chunks->next;
    free(f->chunks);
    f->chunks = next;
  }
  if (f->f != f->few)
    free(f->f);
  free(f);
}

void wp2_field_free(wp2_field *f) {
  if (!f->in_chunk) /* a chunk's bytes go with the fields */
    free(f->name);
  f->name = NULL;
  f->value = NULL;
}

/* Within glibc's per-thread cache (blocks up to 1032 bytes), like the fields array. */
enum { FIELDS_CHUNK = 1024 - sizeof(struct wp2_fields_chunk) };

static char *chunk_alloc(wp2_fields *f, size_t n) {
  struct wp2_fields_chunk *c = f->chunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > FIELDS_CHUNK ? n : FIELDS_CHUNK;
    if (cap > SIZE_MAX - sizeof *c || !(c = malloc(sizeof *c + cap)))
      return NULL;
    c->next = f->chunks;
    c->used = 0;
    c->cap = cap;
    f->chunks = c;
  }
  char *p = c->data + c->used;
  c->used += n;
  return p;
}

static void fields_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  wp2_fields_destroy((wp2_fields *)o);
}

zh_error *wp2_fields_new(zh_wasip2_ctx *cx, bool immutable, wp2_fields **out, uint64_t *rep) {
  wp2_fields *f = wp2_zalloc(sizeof *f);
  *out = f;
  if (!f)
    return wp2_oom();
  f->base = (wp2_obj){WP2_FIELDS, fields_free};
  f->immutable = immutable;
  *out = f;
  return rep ? wp2_insert(cx, &f->base, rep) : NULL;
}

bool wp2_fields_reserve(wp2_fields *f, size_t n) {
  size_t nfew = sizeof f->few / sizeof f->few[0];
  if (!f->f && n <= nfew) {
    f->f = f->few;
    f->cap = nfew;
  }
  if (n <= f->cap)
    return true;
  /* the first array from malloc (realloc of NULL costs more), or out of `few` */
  bool moving = !f->f || f->f == f->few;
  wp2_field *nf = n > SIZE_MAX / sizeof *nf ? NULL
                  : moving                  ? malloc(n * sizeof *nf)
                                            : realloc(f->f, n * sizeof *nf);
  if (!nf)
    return false;
  if (f->f && moving)
    memcpy(nf, f->f, f->n * sizeof *nf);
  f->f = nf;
  f->cap = n;
  return true;
}

bool wp2_fields_add(wp2_fields *f, const char *name, size_t nlen, const uint8_t *v, size_t vlen) {
  size_t want = f->cap == 0 ? 1 : f->cap < 4 ? 8 : f->cap * 2; /* `few`, then 8, 16, ... */
  if (f->n == f->cap && !wp2_fields_reserve(f, want))
    return false;
  if (nlen > SIZE_MAX / 2 || vlen > SIZE_MAX / 2) /* lengths of guest lists: cannot wrap */
    return false;
  char *nm = f->immutable ? chunk_alloc(f, nlen + 1 + vlen) : malloc(nlen + 1 + vlen);
  if (!nm)
    return false;
  zh_http_lower_copy(nm, name, nlen);
  nm[nlen] = 0;
  uint8_t *val = (uint8_t *)nm + nlen + 1;
  if (vlen)
    memcpy(val, v, vlen);
  f->f[f->n++] = (wp2_field){nm, val, vlen, f->immutable};
  return true;
}

zh_error *wp2_fields_copy(zh_wasip2_ctx *cx, const wp2_fields *src, bool immutable, zh_val *out) {
  wp2_fields *f = NULL;
  uint64_t rep = 0;
  zh_error *err = wp2_fields_new(cx, immutable, &f, &rep);
  if (!err && src && !wp2_fields_reserve(f, src->n))
    err = wp2_oom();
  for (size_t i = 0; f && src && i < src->n && !err; i++)
    if (!wp2_fields_add(f, src->f[i].name, strlen(src->f[i].name), src->f[i].value, src->f[i].len))
      err = wp2_oom();
  if (!err)
    *out = zh_val_own(rep);
  return err;
}

static bool valid_name(const zh_val *v) {
  if (v->of.str.len == 0)
    return false;
  for (size_t i = 0; i < v->of.str.len; i++)
    if (!zh_http_is_token_char((unsigned char)v->of.str.data[i]))
      return false;
  return true;
}

static bool valid_value(const zh_val *v) {
  const uint8_t *p = zh_val_list_raw_data(v);
  size_t n = zh_val_list_len(v);
  for (size_t i = 0; i < n; i++)
    if (p[i] == '\r' || p[i] == '\n' || p[i] == 0)
      return false;
  return true;
}

static bool is_forbidden(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
    if (forbidden[i].len == len && strncasecmp(name, forbidden[i].name, len) == 0)
      return true;
  return false;
}

static zh_error *header_error(zh_val *result, uint32_t code) {
  zh_val v;
  zh_error *err = zh_val_variant(&v, code, NULL);
  return err ? err : zh_val_err(result, &v);
}

static zh_error *fields_arg(zh_wasip2_ctx *cx, zh_val *v, wp2_fields **out) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, v, WP2_FIELDS, "fields", &o);
  *out = (wp2_fields *)o;
  return err;
}

static zh_error *fields_new(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  wp2_fields *f = NULL;
  uint64_t rep = 0;
  zh_error *err = wp2_fields_new(cx, false, &f, &rep);
  if (!err)
    *result = zh_val_own(rep);
  return err;
}

/* 0 if the name/value pair may be set, else the header-error case. */
static int check_pair(const zh_val *name, const zh_val *value) {
  if (!name || !valid_name(name) || (value && !valid_value(value)))
    return HDR_INVALID_SYNTAX;
  return is_forbidden(name->of.str.data, name->of.str.len) ? HDR_FORBIDDEN : -1;
}

static zh_error *fields_from_list(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  size_t count = zh_val_list_len(&args[0]);
  zh_val *items = zh_val_list_items(&args[0]);
  for (size_t i = 0; i < count; i++) {
    int bad = check_pair(&zh_val_fields(&items[i])[0], &zh_val_fields(&items[i])[1]);
    if (bad >= 0)
      return header_error(result, (uint32_t)bad);
  }
  wp2_fields *f = NULL;
  uint64_t rep = 0;
  zh_error *err = wp2_fields_new(cx, false, &f, &rep);
  for (size_t i = 0; f && i < count && !err; i++) {
    zh_val *t = zh_val_fields(&items[i]);
    if (!wp2_fields_add(f, t[0].of.str.data, t[0].of.str.len, zh_val_list_raw_data(&t[1]),
                        zh_val_list_len(&t[1])))
      err = wp2_oom();
  }
  if (err)
    return err;
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

static bool name_is(const wp2_field *f, const zh_val *name) {
  return strlen(f->name) == name->of.str.len &&
         strncasecmp(f->name, name->of.str.data, name->of.str.len) == 0;
}

static zh_error *fields_get(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_fields *f = NULL;
  zh_error *err = fields_arg(cx, &args[0], &f);
  if (err)
    return err;
  size_t count = 0;
  for (size_t i = 0; i < f->n; i++)
    count += name_is(&f->f[i], &args[1]);
  if ((err = zh_val_list(result, count)))
    return err;
  size_t k = 0;
  for (size_t i = 0; i < f->n && !err; i++)
    if (name_is(&f->f[i], &args[1]))
      err = wp2_bytes(&zh_val_list_items(result)[k++], f->f[i].value, f->f[i].len);
  return err;
}

static zh_error *fields_has(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_fields *f = NULL;
  zh_error *err = fields_arg(cx, &args[0], &f);
  if (err)
    return err;
  bool has = false;
  for (size_t i = 0; i < f->n; i++)
    has |= name_is(&f->f[i], &args[1]);
  *result = zh_val_bool(has);
  return NULL;
}

static void remove_name(wp2_fields *f, const zh_val *name) {
  size_t k = 0;
  for (size_t i = 0; i < f->n; i++) {
    if (name_is(&f->f[i], name)) {
      wp2_field_free(&f->f[i]);
    } else {
      f->f[k++] = f->f[i];
    }
  }
  f->n = k;
}

/* set, delete and append: op 0 set(list of values), 1 delete, 2 append(value). */
static zh_error *fields_change(zh_wasip2_ctx *cx, zh_val *args, zh_val *result, int op) {
  wp2_fields *f = NULL;
  zh_error *err = fields_arg(cx, &args[0], &f);
  if (err)
    return err;
  if (f->immutable)
    return header_error(result, HDR_IMMUTABLE);
  int bad = check_pair(&args[1], op == 2 ? &args[2] : NULL);
  if (op == 0)
    for (size_t i = 0; bad < 0 && i < zh_val_list_len(&args[2]); i++)
      bad = check_pair(&args[1], &zh_val_list_items(&args[2])[i]);
  if (bad >= 0)
    return header_error(result, (uint32_t)bad);
  if (op != 2)
    remove_name(f, &args[1]);
  if (op == 0)
    for (size_t i = 0; i < zh_val_list_len(&args[2]); i++) {
      zh_val *v = &zh_val_list_items(&args[2])[i];
      if (!wp2_fields_add(f, args[1].of.str.data, args[1].of.str.len, zh_val_list_raw_data(v),
                          zh_val_list_len(v)))
        return wp2_oom();
    }
  if (op == 2 && !wp2_fields_add(f, args[1].of.str.data, args[1].of.str.len,
                                 zh_val_list_raw_data(&args[2]), zh_val_list_len(&args[2])))
    return wp2_oom();
  return zh_val_ok(result, NULL);
}

static zh_error *fields_set(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return fields_change(cx, a, r, 0);
}
static zh_error *fields_delete(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return fields_change(cx, a, r, 1);
}
static zh_error *fields_append(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return fields_change(cx, a, r, 2);
}

static zh_error *fields_entries(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_fields *f = NULL;
  zh_error *err = fields_arg(cx, &args[0], &f);
  if (!err)
    err = zh_val_list(result, f->n);
  for (size_t i = 0; i < f->n && !err; i++) {
    zh_val k, v;
    if ((err = zh_val_string_cstr(&k, f->f[i].name)))
      break;
    if ((err = wp2_bytes(&v, f->f[i].value, f->f[i].len))) {
      zh_val_drop(&k);
      break;
    }
    err = wp2_tuple2(&zh_val_list_items(result)[i], &k, &v);
  }
  return err;
}

static zh_error *fields_clone(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_fields *f = NULL;
  zh_error *err = fields_arg(cx, &args[0], &f);
  return err ? err : wp2_fields_copy(cx, f, false, result);
}

/* Takes an own<fields> argument out of the table: the caller now holds it. */
static zh_error *take_fields(zh_wasip2_ctx *cx, zh_val *v, wp2_fields **out) {
  *out = (wp2_fields *)wp2_take(cx, v->of.res.rep, WP2_FIELDS);
  return *out ? NULL
              : zh_error_new(ZH_ERR_TRAP, "wasip2: fields handle is gone or of another type");
}

zh_error *wp2_error_code(zh_val *out, uint32_t code, const char *msg) {
  if (code != HE_INTERNAL_ERROR)
    return zh_val_variant(out, code, NULL);
  zh_val opt;
  zh_error *err = wp2_string_opt(&opt, msg);
  return err ? err : zh_val_variant(out, code, &opt);
}

static zh_error *http_error_code(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_ERROR, "http-error-code", &o);
  if (!err)
    *result = zh_val_none();
  return err;
}

/* ---- incoming request (from the server) ---- */

/* One block: the request, its headers (`fields`, their array and their strings) and its
 * four strings. The headers are immutable and never leave the request (headers() hands out
 * a copy), so nothing in them is allocated on its own. A borrowed request
 * (zh_wasip2_incoming_borrowed) points at the embedder's strings, and makes its headers
 * (`headers`, one block from `src`) only when the guest first asks for them. */
typedef struct wp2_in_request {
  wp2_obj base;
  const char *method, *path, *scheme, *authority;
  wp2_fields *headers; /* &fields; a borrowed request's own block, or NULL before */
  wp2_fields fields;
  bool consumed, borrowed;
  const zh_wasip2_header *src; /* a borrowed request's headers */
  size_t nsrc;
  /* or what makes them at the first call (zh_wasip2_request.make_headers) */
  zh_wasip2_make_headers_fn make_src;
  void *make_arg;
} wp2_in_request;

static void in_request_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  wp2_in_request *r = (wp2_in_request *)o;
  if (r->borrowed && r->headers) /* most guests never ask for them: no free(NULL) */
    free(r->headers);
  free(o);
}

/* n headers into fa, their strings (names lowercased, each NUL-terminated, values after
 * them) from `at` on. The first `known` names' lengths are in name_lens. */
static void copy_fields(wp2_field *fa, const zh_wasip2_header *hs, size_t n,
                        const size_t *name_lens, size_t known, char *at) {
  for (size_t i = 0; i < n; i++) {
    const zh_wasip2_header *h = &hs[i];
    size_t nlen = i < known ? name_lens[i] : strlen(h->name);
    char *name = at;
    zh_http_lower_copy(name, h->name, nlen);
    name[nlen] = '\0';
    uint8_t *value = (uint8_t *)name + nlen + 1;
    if (h->value_len)
      memcpy(value, h->value, h->value_len);
    at = (char *)value + h->value_len;
    fa[i] = (wp2_field){name, value, h->value_len, true};
  }
}

/* Immutable fields from n headers (name i of name_lens[i] bytes), names lowercased, in one
 * block: a wp2_fields, the array, then the strings. */
static wp2_fields *fields_block(const zh_wasip2_header *hs, size_t n, const size_t *name_lens) {
  size_t bytes = 0, head = sizeof(wp2_fields);
  for (size_t i = 0; i < n; i++) {
    size_t len = name_lens[i] + 1 + hs[i].value_len;
    if (len > SIZE_MAX / 4 - bytes)
      return NULL;
    bytes += len;
  }
  if (n > (SIZE_MAX / 4 - bytes - head) / sizeof(wp2_field))
    return NULL;
  wp2_fields *f = malloc(head + n * sizeof(wp2_field) + bytes);
  if (!f)
    return NULL;
  wp2_field *fa = (wp2_field *)(f + 1);
  *f = (wp2_fields){{WP2_FIELDS, NULL}, true, fa, n, n, NULL, {{0}}};
  copy_fields(fa, hs, n, name_lens, n, (char *)(fa + n));
  return f;
}

/* A borrowed request's headers, made at the first call (and their source too, when the
 * embedder makes that lazily). */
static zh_error *in_request_headers(wp2_in_request *r, wp2_fields **out) {
  *out = r->headers;
  if (r->headers)
    return NULL;
  if (!r->src && r->make_src) {
    zh_error *err = r->make_src(r->make_arg, &r->src, &r->nsrc);
    if (err)
      return err;
    r->make_src = NULL;
  }
  if (!r->src) /* no headers given, and none made */
    r->nsrc = 0;
  size_t few[32], *lens = r->nsrc <= 32 ? few : malloc(r->nsrc * sizeof *lens);
  if (!lens)
    return wp2_oom();
  for (size_t i = 0; i < r->nsrc; i++)
    lens[i] = strlen(r->src[i].name);
  r->headers = fields_block(r->src, r->nsrc, lens);
  if (lens != few)
    free(lens);
  *out = r->headers;
  return r->headers ? NULL : wp2_oom();
}

static zh_error *incoming_objects(zh_wasip2_ctx *cx, wp2_in_request *r, const zh_wasip2_http_io *io,
                                  void *io_req, uint64_t *request, uint64_t *outparam);

/* A copy of s (or NULL for NULL) at *at, which moves past it. */
static char *put_str(const char *s, char **at) {
  if (!s)
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = memcpy(*at, s, n);
  *at += n;
  return d;
}

zh_error *zh_wasip2_incoming(zh_wasip2_ctx *cx, const zh_wasip2_request *req,
                             const zh_wasip2_http_io *io, void *io_req, uint64_t *request,
                             uint64_t *outparam) {
  if (cx->in.io)
    return zh_error_new(ZH_ERR_USAGE, "wasip2: one incoming request per context");
  const char *method = req->method ? req->method : "GET";
  const char *strs[3] = {req->path_with_query, req->scheme, req->authority};
  size_t n = req->nheaders, bytes = strlen(method) + 1;
  for (int i = 0; i < 3; i++)
    bytes += strs[i] ? strlen(strs[i]) + 1 : 0;
  size_t name_lens[32]; /* the first names' lengths, for the copy below */
  for (size_t i = 0; i < n; i++) {
    size_t nlen = strlen(req->headers[i].name), len = nlen + 1 + req->headers[i].value_len;
    if (i < sizeof name_lens / sizeof name_lens[0])
      name_lens[i] = nlen;
    if (len > SIZE_MAX / 4 - bytes)
      return wp2_oom();
    bytes += len;
  }
  if (n > (SIZE_MAX / 4 - bytes) / sizeof(wp2_field))
    return wp2_oom();
  wp2_in_request *r = malloc(sizeof *r + n * sizeof(wp2_field) + bytes);
  if (!r)
    return wp2_oom();
  memset(r, 0, sizeof *r); /* the rest is all written below */
  r->base = (wp2_obj){WP2_IN_REQUEST, in_request_free};
  r->headers = &r->fields;
  r->fields = (wp2_fields){{WP2_FIELDS, NULL}, true, (wp2_field *)(r + 1), n, n, NULL, {{0}}};
  char *at = (char *)(r->fields.f + n);
  r->method = put_str(method, &at);
  r->path = put_str(strs[0], &at);
  r->scheme = put_str(strs[1], &at);
  r->authority = put_str(strs[2], &at);
  copy_fields(r->fields.f, req->headers, n, name_lens, sizeof name_lens / sizeof name_lens[0], at);
  return incoming_objects(cx, r, io, io_req, request, outparam);
}

/* The request's and the outparam's handles, and the context's incoming state. */
static zh_error *incoming_objects(zh_wasip2_ctx *cx, wp2_in_request *r, const zh_wasip2_http_io *io,
                                  void *io_req, uint64_t *request, uint64_t *outparam) {
  zh_error *err;
  if ((err = wp2_insert(cx, &r->base, request)))
    return err;
  wp2_obj *op = wp2_obj_zalloc(cx, sizeof *op);
  if (!op)
    return wp2_oom();
  *op = (wp2_obj){WP2_OUTPARAM, plain_free};
  if ((err = wp2_insert(cx, op, outparam)))
    return err;
  cx->in = (wp2_incoming){.io = io, .req = io_req};
  return NULL;
}

zh_error *zh_wasip2_incoming_borrowed(zh_wasip2_ctx *cx, const zh_wasip2_request *req,
                                      const zh_wasip2_http_io *io, void *io_req, uint64_t *request,
                                      uint64_t *outparam) {
  return zh_wasip2_incoming_lazy(cx, req, NULL, NULL, io, io_req, request, outparam);
}

zh_error *zh_wasip2_incoming_lazy(zh_wasip2_ctx *cx, const zh_wasip2_request *req,
                                  zh_wasip2_make_headers_fn make, void *make_arg,
                                  const zh_wasip2_http_io *io, void *io_req, uint64_t *request,
                                  uint64_t *outparam) {
  if (cx->in.io)
    return zh_error_new(ZH_ERR_USAGE, "wasip2: one incoming request per context");
  wp2_in_request *r = malloc(sizeof *r);
  if (!r)
    return wp2_oom();
  *r = (wp2_in_request){.base = {WP2_IN_REQUEST, in_request_free},
                        .method = req->method ? req->method : "GET",
                        .path = req->path_with_query,
                        .scheme = req->scheme,
                        .authority = req->authority,
                        .borrowed = true,
                        .src = req->headers,
                        .nsrc = req->nheaders,
                        .make_src = make,
                        .make_arg = make_arg};
  return incoming_objects(cx, r, io, io_req, request, outparam);
}

bool zh_wasip2_response_status(const zh_wasip2_ctx *cx, int *status) {
  *status = cx->in.status;
  return cx->in.set && cx->in.ok && !cx->in.failed;
}

static zh_error *in_request_arg(zh_wasip2_ctx *cx, zh_val *v, wp2_in_request **out) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, v, WP2_IN_REQUEST, "incoming-request", &o);
  *out = (wp2_in_request *)o;
  return err;
}

static const char *const methods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                      "CONNECT", "OPTIONS", "TRACE", "PATCH"};

/* method: the nine named cases, then other(string). */
static zh_error *method_val(const char *m, zh_val *out) {
  for (uint32_t i = 0; i < 9; i++)
    if (strcmp(m, methods[i]) == 0)
      return zh_val_variant(out, i, NULL);
  zh_val s;
  zh_error *err = zh_val_string_cstr(&s, m);
  return err ? err : zh_val_variant(out, 9, &s);
}

static zh_error *in_req_method(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_in_request *r;
  zh_error *err = in_request_arg(cx, &args[0], &r);
  return err ? err : method_val(r->method, result);
}

static zh_error *in_req_path(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_in_request *r;
  zh_error *err = in_request_arg(cx, &args[0], &r);
  return err ? err : wp2_string_opt(result, r->path);
}

/* option<scheme>: HTTP, HTTPS, other(string) */
static zh_error *scheme_opt(const char *s, zh_val *result) {
  if (!s) {
    *result = zh_val_none();
    return NULL;
  }
  zh_val v, str;
  zh_error *err;
  if (strcasecmp(s, "http") == 0)
    err = zh_val_variant(&v, 0, NULL);
  else if (strcasecmp(s, "https") == 0)
    err = zh_val_variant(&v, 1, NULL);
  else
    err = (err = zh_val_string_cstr(&str, s)) ? err : zh_val_variant(&v, 2, &str);
  return err ? err : zh_val_some(result, &v);
}

static zh_error *in_req_scheme(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_in_request *r;
  zh_error *err = in_request_arg(cx, &args[0], &r);
  return err ? err : scheme_opt(r->scheme, result);
}

static zh_error *in_req_authority(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_in_request *r;
  zh_error *err = in_request_arg(cx, &args[0], &r);
  return err ? err : wp2_string_opt(result, r->authority);
}

static zh_error *in_req_headers(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_in_request *r;
  zh_error *err = in_request_arg(cx, &args[0], &r);
  if (err)
    return err;
  wp2_fields *f;
  err = in_request_headers(r, &f);
  return err ? err : wp2_fields_copy(cx, f, true, result);
}

/* ---- incoming bodies ---- */

static zh_error *server_read(zh_wasip2_ctx *cx, wp2_stream *s, void *buf, size_t cap, size_t *got,
                             bool *eof, bool blocking) {
  (void)blocking;
  *got = 0;
  *eof = false;
  if (!cx->in.io) {
    *eof = true;
    return NULL;
  }
  zh_error *err = cx->in.io->read(cx->in.req, buf, cap, got, eof);
  if (err && zh_error_status(err) == ZH_ERR_INTERRUPTED)
    return err; /* the request's deadline cuts the handler, as the store's would: a guest that
                   took the failed read for the body's end could still answer 200 after it */
  if (err) {
    /* the guest learns of it as last-operation-failed, with the server's reason */
    free(s->fail_msg);
    s->fail_msg = strdup(zh_error_message(err));
    zh_error_free(err);
    *got = 0;
    *eof = !s->fail_msg; /* out of memory for the message: just end the stream */
  }
  return NULL;
}

static zh_error *curl_read(zh_wasip2_ctx *cx, wp2_stream *s, void *buf, size_t cap, size_t *got,
                           bool *eof, bool blocking) {
  return wp2_curl_body_read(cx, s->owner, buf, cap, got, eof, blocking);
}

static bool curl_ready(zh_wasip2_ctx *cx, wp2_stream *s) {
  return wp2_curl_body_ready(cx, s->owner);
}

static const wp2_stream_hooks server_in_hooks = {server_read, NULL, NULL, NULL};
static const wp2_stream_hooks curl_in_hooks = {curl_read, curl_ready, NULL, NULL};

zh_error *wp2_in_body_new(zh_wasip2_ctx *cx, bool from_server, uint64_t source, uint64_t *rep) {
  wp2_in_body *b = wp2_zalloc(sizeof *b);
  if (!b)
    return wp2_oom();
  b->base = (wp2_obj){WP2_IN_BODY, plain_free};
  b->from_server = from_server;
  b->source = source;
  return wp2_insert(cx, &b->base, rep);
}

static zh_error *in_req_consume(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_in_request *r;
  zh_error *err = in_request_arg(cx, &args[0], &r);
  if (err)
    return err;
  if (r->consumed)
    return zh_val_err(result, NULL);
  r->consumed = true;
  uint64_t rep = 0;
  if ((err = wp2_in_body_new(cx, true, 0, &rep)))
    return err;
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

static zh_error *in_body_stream(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_IN_BODY, "incoming-body.stream", &o);
  if (err)
    return err;
  wp2_in_body *b = (wp2_in_body *)o;
  if (b->stream_taken)
    return zh_val_err(result, NULL);
  b->stream_taken = true;
  uint64_t rep = 0;
  wp2_stream *s;
  if ((err = wp2_input_new(cx, WP2_S_HOOK, -1, false, &rep, &s)))
    return err;
  s->hooks = b->from_server ? &server_in_hooks : &curl_in_hooks;
  s->owner = b->source;
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

/* future-trailers: this host never receives trailers, so the future is ready at once. */
typedef struct wp2_fut_trailers {
  wp2_obj base;
  bool taken;
} wp2_fut_trailers;

static zh_error *in_body_finish(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o = wp2_take(cx, args[0].of.res.rep, WP2_IN_BODY);
  if (!o)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: incoming-body.finish: body handle is gone");
  o->free_fn(cx, o);
  wp2_fut_trailers *f = wp2_zalloc(sizeof *f);
  if (!f)
    return wp2_oom();
  f->base = (wp2_obj){WP2_FUT_TRAILERS, plain_free};
  uint64_t rep = 0;
  zh_error *err = wp2_insert(cx, &f->base, &rep);
  if (!err)
    *result = zh_val_own(rep);
  return err;
}

static zh_error *fut_trailers_subscribe(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_FUT_TRAILERS, "future-trailers.subscribe", &o);
  return err ? err : wp2_pollable_new(cx, WP2_P_READY, 0, 0, result);
}

/* option<result<result<option<trailers>, error-code>>>: some(ok(ok(none))) once, then
 * some(err) as the interface asks of a second get. */
static zh_error *fut_trailers_get(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_FUT_TRAILERS, "future-trailers.get", &o);
  if (err)
    return err;
  wp2_fut_trailers *f = (wp2_fut_trailers *)o;
  zh_val outer;
  if (f->taken) {
    if ((err = zh_val_err(&outer, NULL)))
      return err;
  } else {
    f->taken = true;
    zh_val none = zh_val_none(), inner;
    if ((err = zh_val_ok(&inner, &none)) || (err = zh_val_ok(&outer, &inner)))
      return err;
  }
  return zh_val_some(result, &outer);
}

/* ---- outgoing responses and bodies ---- */

typedef struct wp2_out_response {
  wp2_obj base;
  uint16_t status;
  wp2_fields *headers;
  uint64_t body;
  bool sent;
} wp2_out_response;

static void out_response_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  wp2_fields_destroy(((wp2_out_response *)o)->headers);
  wp2_obj_free(cx, o);
}

static zh_error *out_resp_new(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_fields *h = NULL;
  zh_error *err = take_fields(cx, &args[0], &h);
  if (err || !h)
    return err;
  wp2_out_response *r = wp2_obj_zalloc(cx, sizeof *r);
  if (!r) {
    wp2_fields_destroy(h);
    return wp2_oom();
  }
  *r = (wp2_out_response){{WP2_OUT_RESPONSE, out_response_free}, 200, h, 0, false};
  h->immutable = true;
  uint64_t rep = 0;
  if (!(err = wp2_insert(cx, &r->base, &rep)))
    *result = zh_val_own(rep);
  return err;
}

static zh_error *out_resp_arg(zh_wasip2_ctx *cx, zh_val *v, wp2_out_response **out) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, v, WP2_OUT_RESPONSE, "outgoing-response", &o);
  *out = (wp2_out_response *)o;
  return err;
}

static zh_error *out_resp_status(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_response *r;
  zh_error *err = out_resp_arg(cx, &args[0], &r);
  if (!err)
    *result = zh_val_u16(r->status);
  return err;
}

static zh_error *out_resp_set_status(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_response *r;
  zh_error *err = out_resp_arg(cx, &args[0], &r);
  if (err)
    return err;
  uint64_t s = args[1].of.u;
  if (s < 100 || s > 599)
    return zh_val_err(result, NULL);
  r->status = (uint16_t)s;
  return zh_val_ok(result, NULL);
}

static zh_error *out_resp_headers(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_response *r;
  zh_error *err = out_resp_arg(cx, &args[0], &r);
  return err ? err : wp2_fields_copy(cx, r->headers, true, result);
}

static void out_body_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  wp2_out_body *b = (wp2_out_body *)o;
  if (!b->finished && !b->for_request) {
    wp2_out_response *r = (wp2_out_response *)wp2_get(cx, b->owner, WP2_OUT_RESPONSE);
    if (r && r->sent)
      cx->in.failed = true; /* dropped without finish: the response is incomplete */
  }
  wp2_buf_free(&b->pending);
  wp2_fields_destroy(b->trailers);
  wp2_obj_free(cx, b);
}

/* Headers or trailers in the embedder's shape, in `few` when they fit (almost every response),
 * else in an array the caller frees; NULL only when that malloc fails. */
enum { IO_FEW_HEADERS = 16 };
static zh_wasip2_header *io_headers(const wp2_fields *f, zh_wasip2_header *few) {
  size_t n = f ? f->n : 0;
  zh_wasip2_header *h = n <= IO_FEW_HEADERS ? few : malloc(n * sizeof *h);
  for (size_t i = 0; h && i < n; i++)
    h[i] = (zh_wasip2_header){f->f[i].name, f->f[i].value, f->f[i].len};
  return h;
}

/* Sends the response body's held bytes, and its end when the body was finished. */
static zh_error *response_flush(zh_wasip2_ctx *cx, wp2_out_body *b) {
  zh_error *err = NULL;
  if (b->pending.len)
    err = cx->in.io->response_write(cx->in.req, b->pending.data, b->pending.len);
  b->pending.len = 0;
  if (!err && b->finished && !cx->in.finished) {
    cx->in.finished = true;
    zh_wasip2_header few[IO_FEW_HEADERS];
    zh_wasip2_header *t = io_headers(b->trailers, few);
    if (!t)
      return wp2_oom();
    err = cx->in.io->response_finish(cx->in.req, t, b->trailers ? b->trailers->n : 0);
    if (t != few)
      free(t);
  }
  if (err)
    cx->in.failed = true;
  return err;
}

static zh_error *body_write(zh_wasip2_ctx *cx, wp2_stream *s, const void *data, size_t len) {
  wp2_out_body *b = (wp2_out_body *)wp2_get(cx, s->owner, WP2_OUT_BODY);
  if (!b || b->finished) {
    s->closed = true;
    return NULL;
  }
  if (!b->for_request) {
    wp2_out_response *r = (wp2_out_response *)wp2_get(cx, b->owner, WP2_OUT_RESPONSE);
    if (r && r->sent && cx->in.io) {
      zh_error *err = cx->in.io->response_write(cx->in.req, data, len);
      if (err) {
        zh_error_free(err);
        cx->in.failed = true;
        s->closed = true;
      }
      return NULL;
    }
  }
  if (!wp2_buf_append(&b->pending, data, len))
    return wp2_oom();
  if (b->for_request)
    wp2_http_body_written(cx, b);
  return NULL;
}

static const wp2_stream_hooks body_out_hooks = {NULL, NULL, body_write, NULL};

zh_error *wp2_out_body_new(zh_wasip2_ctx *cx, bool for_request, uint64_t owner, uint64_t *rep) {
  wp2_out_body *b = wp2_obj_zalloc(cx, sizeof *b);
  if (!b)
    return wp2_oom();
  b->base = (wp2_obj){WP2_OUT_BODY, out_body_free};
  b->for_request = for_request;
  b->owner = owner;
  return wp2_insert(cx, &b->base, rep);
}

static zh_error *out_resp_body(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_out_response *r;
  zh_error *err = out_resp_arg(cx, &args[0], &r);
  if (err)
    return err;
  if (r->body)
    return zh_val_err(result, NULL);
  if ((err = wp2_out_body_new(cx, false, args[0].of.res.rep, &r->body)))
    return err;
  return wp2_ok_own(cx, result, r->body);
}

static zh_error *out_body_write(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_OUT_BODY, "outgoing-body.write", &o);
  if (err)
    return err;
  wp2_out_body *b = (wp2_out_body *)o;
  if (b->stream_taken)
    return zh_val_err(result, NULL);
  b->stream_taken = true;
  uint64_t rep = 0;
  wp2_stream *s;
  if ((err = wp2_output_new(cx, WP2_S_HOOK, -1, false, &rep, &s)))
    return err;
  s->hooks = &body_out_hooks;
  s->owner = args[0].of.res.rep;
  return wp2_ok_own(cx, result, rep);
}

static zh_error *out_body_finish(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  /* The body handle left the guest; the object stays in the table until the response or
   * request it belongs to is done with it. */
  wp2_out_body *b = (wp2_out_body *)wp2_get(cx, args[0].of.res.rep, WP2_OUT_BODY);
  if (!b)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: outgoing-body.finish: body handle is gone");
  zh_error *err = NULL;
  if (zh_val_case(&args[1]) == 1 && (err = take_fields(cx, args[1].of.var.payload, &b->trailers)))
    return err;
  b->finished = true;
  if (b->for_request) {
    wp2_http_body_finished(cx, b);
  } else {
    wp2_out_response *r = (wp2_out_response *)wp2_get(cx, b->owner, WP2_OUT_RESPONSE);
    if (r && r->sent && cx->in.io && (err = response_flush(cx, b))) {
      zh_error_free(err);
      zh_val ec;
      return (err = wp2_error_code(&ec, HE_INTERNAL_ERROR, "the client went away"))
                 ? err
                 : zh_val_err(result, &ec);
    }
  }
  return zh_val_ok(result, NULL);
}

/* response-outparam.set(param, result<outgoing-response, error-code>) */
static zh_error *outparam_set(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n, (void)result;
  wp2_obj *op = wp2_take(cx, args[0].of.res.rep, WP2_OUTPARAM);
  if (!op)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: response-outparam.set: handle is gone");
  op->free_fn(cx, op);
  if (cx->in.set)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: response-outparam.set called twice");
  cx->in.set = true;
  if (zh_val_case(&args[1]) == 1 || !cx->in.io) {
    cx->in.ok = false;
    return NULL;
  }
  wp2_out_response *r =
      (wp2_out_response *)wp2_get(cx, args[1].of.var.payload->of.res.rep, WP2_OUT_RESPONSE);
  if (!r)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: response-outparam.set: response is gone");
  cx->in.ok = true;
  cx->in.status = r->status;
  r->sent = true;
  zh_wasip2_header few[IO_FEW_HEADERS];
  zh_wasip2_header *h = io_headers(r->headers, few);
  if (!h)
    return wp2_oom();
  zh_error *err = cx->in.io->response_start(cx->in.req, r->status, h, r->headers->n);
  if (h != few)
    free(h);
  cx->in.started = !err;
  wp2_out_body *b = (wp2_out_body *)wp2_get(cx, r->body, WP2_OUT_BODY);
  if (!err && b) {
    err = response_flush(cx, b);
  } else if (!err && !r->body) {
    /* the guest never asked for the body, and cannot any more: it is empty */
    cx->in.finished = true;
    err = cx->in.io->response_finish(cx->in.req, NULL, 0);
  }
  if (err) {
    /* The client went away: the guest carries on, its writes answer closed. */
    zh_error_free(err);
    cx->in.failed = true;
  }
  return NULL;
}

/* Informational (1xx) responses are not sent by this host. */
static zh_error *outparam_send_informational(zh_wasip2_ctx *cx, zh_val *args, size_t n,
                                             zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_OUTPARAM, "send-informational", &o);
  zh_val ec;
  if (!err)
    err = wp2_error_code(&ec, HE_INTERNAL_ERROR, "informational responses are not supported");
  return err ? err : zh_val_err(result, &ec);
}

#define T "wasi:http/types"
static const zh_wasip2_entry entries[] = {
    {T, "[constructor]fields", fields_new},
    {T, "[static]fields.from-list", fields_from_list},
    {T, "[method]fields.get", fields_get},
    {T, "[method]fields.has", fields_has},
    {T, "[method]fields.set", fields_set},
    {T, "[method]fields.delete", fields_delete},
    {T, "[method]fields.append", fields_append},
    {T, "[method]fields.entries", fields_entries},
    {T, "[method]fields.clone", fields_clone},
    {T, "http-error-code", http_error_code},
    {T, "[method]incoming-request.method", in_req_method},
    {T, "[method]incoming-request.path-with-query", in_req_path},
    {T, "[method]incoming-request.scheme", in_req_scheme},
    {T, "[method]incoming-request.authority", in_req_authority},
    {T, "[method]incoming-request.headers", in_req_headers},
    {T, "[method]incoming-request.consume", in_req_consume},
    {T, "[method]incoming-body.stream", in_body_stream},
    {T, "[static]incoming-body.finish", in_body_finish},
    {T, "[method]future-trailers.subscribe", fut_trailers_subscribe},
    {T, "[method]future-trailers.get", fut_trailers_get},
    {T, "[constructor]outgoing-response", out_resp_new},
    {T, "[method]outgoing-response.status-code", out_resp_status},
    {T, "[method]outgoing-response.set-status-code", out_resp_set_status},
    {T, "[method]outgoing-response.headers", out_resp_headers},
    {T, "[method]outgoing-response.body", out_resp_body},
    {T, "[method]outgoing-body.write", out_body_write},
    {T, "[static]outgoing-body.finish", out_body_finish},
    {T, "[static]response-outparam.set", outparam_set},
    {T, "[method]response-outparam.send-informational", outparam_send_informational},
};

const wp2_table wp2_http_table = {entries, sizeof entries / sizeof entries[0], NULL, 0};
