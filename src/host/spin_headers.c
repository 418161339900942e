/* The request headers Spin gives an HTTP component (spin_headers.h).
 *
 * A zh_spin_headers doubles as Spin's http::HeaderMap: kept grouped (every value of a name
 * right after the name's first one), it iterates as a HeaderMap does; appending joins a
 * name's group; removing a name moves the last group into its place, as HeaderMap's
 * swap_remove does. That is all it takes to give the guest its headers in Spin's order.
 *
 * The strings live in a few chunks the list owns (bump-allocated, freed together): a request
 * builds about fifty of them, and a malloc and a free each cost more than the copy.
 * zh_spin_headers_build adds Spin's entries to the client's list itself, so nothing is
 * copied twice.
 */
#include "host/spin_headers.h"

#include "http/http_parse.h"
#include "wasm/error.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_is(const zh_http_header *h, const char *name, size_t len) {
  return h->name_len == len && memcmp(h->name, name, len) == 0;
}

static bool make_room(zh_spin_headers *h) {
  if (h->items && h->count < h->cap)
    return true;
  size_t cap = h->cap ? h->cap * 2 : 16;
  zh_http_header *grown = realloc(h->items, cap * sizeof *grown);
  if (!grown)
    return false;
  h->items = grown;
  h->cap = cap;
  return true;
}

/* A chunk of the list's strings; the newest is first and the only one with room left. */
struct zh_spin_chunk {
  struct zh_spin_chunk *next;
  size_t used, cap;
  char data[];
};

/* A first chunk that glibc serves from its per-thread cache (up to 1032 bytes): a larger one
 * takes its slower path, which cost more than the copies it saves. */
enum { CHUNK_MIN = 1024 - sizeof(struct zh_spin_chunk) };

static char *chunk_alloc(zh_spin_headers *h, size_t n) {
  struct zh_spin_chunk *c = h->chunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
    if (cap > SIZE_MAX - sizeof *c)
      return NULL;
    c = malloc(sizeof *c + cap);
    if (!c)
      return NULL;
    c->next = h->chunks;
    c->used = 0;
    c->cap = cap;
    h->chunks = c;
  }
  char *p = c->data + c->used;
  c->used += n;
  return p;
}

static char *copy(zh_spin_headers *h, const char *s, size_t n, bool lower) {
  char *p = n < SIZE_MAX ? chunk_alloc(h, n + 1) : NULL;
  if (!p)
    return NULL;
  if (lower)
    zh_http_lower_copy(p, s, n);
  else
    memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* How insert_at takes the strings: copied (name lowercased or not), or as they are, when they
 * already belong to the list (or are static). */
typedef enum { COPY, COPY_LOWER, TAKE } take_mode;

/* A header inserted at index at. */
static zh_error *insert_at(zh_spin_headers *h, size_t at, const char *name, size_t name_len,
                           const char *value, size_t value_len, take_mode mode) {
  if (!make_room(h))
    return zh_error_oom();
  const char *n = name, *v = value;
  if (mode != TAKE) {
    n = copy(h, name, name_len, mode == COPY_LOWER);
    v = n ? copy(h, value, value_len, false) : NULL;
    if (!v)
      return zh_error_oom();
  }
  if (at < h->count)
    memmove(h->items + at + 1, h->items + at, (h->count - at) * sizeof *h->items);
  h->items[at] = (zh_http_header){n, name_len, v, value_len};
  h->count++;
  return NULL;
}

zh_error *zh_spin_headers_set_value(zh_spin_headers *h, size_t i, const char *value,
                                    size_t value_len) {
  char *v = copy(h, value, value_len, false);
  if (!v)
    return zh_error_oom();
  h->items[i].value = v; /* the old value stays in its chunk until the list is freed */
  h->items[i].value_len = value_len;
  return NULL;
}

zh_error *zh_spin_headers_add(zh_spin_headers *h, const char *name, size_t name_len,
                              const char *value, size_t value_len, bool lower) {
  return insert_at(h, h->count, name, name_len, value, value_len, lower ? COPY_LOWER : COPY);
}

/* HeaderMap::append: after the last value of the same name, else at the end. Every name in
 * the list is lowercase, this one too once copied, so a byte compare finds its group. */
static zh_error *map_append(zh_spin_headers *h, const char *name, size_t name_len,
                            const char *value, size_t value_len, take_mode mode) {
  if (mode != TAKE) {
    if (!make_room(h))
      return zh_error_oom();
    name = copy(h, name, name_len, mode == COPY_LOWER);
    value = name ? copy(h, value, value_len, false) : NULL;
    if (!value)
      return zh_error_oom();
  }
  size_t at = h->count;
  for (size_t i = 0; i < h->count; i++) {
    if (!name_is(&h->items[i], name, name_len))
      continue;
    at = i + 1;
    while (at < h->count && name_is(&h->items[at], name, name_len))
      at++;
    break;
  }
  return insert_at(h, at, name, name_len, value, value_len, TAKE);
}

/* HeaderMap::remove: the name's group goes, and the last group takes its place. */
static void map_remove(zh_spin_headers *h, const char *name) {
  size_t len = strlen(name), a = 0;
  while (a < h->count && !name_is(&h->items[a], name, len))
    a++;
  if (a == h->count)
    return;
  size_t b = a;
  while (b < h->count && name_is(&h->items[b], name, len))
    b++;
  size_t c = h->count; /* the last group is [c, count) */
  while (c > b &&
         name_is(&h->items[c - 1], h->items[h->count - 1].name, h->items[h->count - 1].name_len))
    c--;
  size_t removed = b - a, last = h->count - c;
  if (b < h->count) {
    /* [a, b) removed, [b, c) stays in order, [c, count) moves to a. */
    zh_http_header *tmp = last ? malloc(last * sizeof *tmp) : NULL;
    if (tmp) {
      memcpy(tmp, h->items + c, last * sizeof *tmp);
      memmove(h->items + a + last, h->items + b, (c - b) * sizeof *tmp);
      memcpy(h->items + a, tmp, last * sizeof *tmp);
      free(tmp);
    } else { /* no memory for the shuffle: keep the order, lose only HeaderMap's quirk */
      memmove(h->items + a, h->items + b, (h->count - b) * sizeof *h->items);
    }
  }
  h->count -= removed;
}

const zh_http_header *zh_spin_headers_get(const zh_spin_headers *h, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < h->count; i++) {
    if (name_is(&h->items[i], name, len))
      return &h->items[i];
  }
  return NULL;
}

void zh_spin_headers_free(zh_spin_headers *h) {
  if (!h)
    return;
  while (h->chunks) {
    struct zh_spin_chunk *next = h->chunks->next;
    free(h->chunks);
    h->chunks = next;
  }
  free(h->items);
  *h = (zh_spin_headers){0};
}

/* Eight bytes at once, unaligned. */
static uint64_t word_at(const char *p) {
  uint64_t w;
  memcpy(&w, p, sizeof w);
  return w;
}

#define HIGHS 0x8080808080808080u

static bool visible_ascii(const char *s, size_t n) {
  size_t i = 0; /* eight bytes a step while none is a control byte or above 0x7e */
  while (i + 8 <= n && !zh_http_word_has_ctl(word_at(s + i)) && !(word_at(s + i) & HIGHS))
    i += 8;
  for (; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c != '\t' && (c < 0x20 || c > 0x7e))
      return false;
  }
  return true;
}

bool zh_spin_is_chaining_host(const char *host, size_t len) {
  if (!visible_ascii(host, len)) /* Spin only looks at a Host that is visible ASCII */
    return false;
  size_t end = len;
  while (end > 0 && host[end - 1] != ':')
    end--;
  end = end > 0 ? end - 1 : len; /* cut at the last ':' if there is one */
  const char *dot = memchr(host, '.', end);
  static const char domain[] = "spin.internal";
  size_t rest = dot ? end - (size_t)(dot + 1 - host) : 0;
  return dot && rest == sizeof domain - 1 && memcmp(dot + 1, domain, rest) == 0;
}

/* Strict UTF-8 (what Rust's str::from_utf8 accepts): no overlongs, surrogates or > U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n) {
  if (n >= 8) { /* all ASCII, the usual case: words, the last overlapping the one before */
    size_t k = 0;
    while (k < n - 8 && (word_at((const char *)s + k) & HIGHS) == 0)
      k += 8;
    if (k >= n - 8 && (word_at((const char *)s + n - 8) & HIGHS) == 0)
      return true;
  }
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && (word_at((const char *)s + i) & HIGHS) == 0) {
      i += 8; /* eight ASCII bytes */
      continue;
    }
    unsigned char c = s[i];
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (len == 0 || i + len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
      return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
    }
    if (len == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0)))
      return false;
    if (len == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90)))
      return false;
    i += len;
  }
  return true;
}

/* `chained`: keep a service-chaining Host (the host set it itself). */
static zh_error *inbound_headers(const zh_spin_request *req, bool chained, zh_spin_headers *out) {
  *out = (zh_spin_headers){0};
  for (size_t i = 0; i < req->nheaders; i++) {
    const zh_http_header *h = &req->headers[i];
    zh_error *err = map_append(out, h->name, h->name_len, h->value, h->value_len, COPY_LOWER);
    if (err) {
      zh_spin_headers_free(out);
      return err;
    }
  }
  const zh_http_header *host = zh_spin_headers_get(out, "host");
  if (host && !chained && zh_spin_is_chaining_host(host->value, host->value_len))
    map_remove(out, "host");
  map_remove(out, "connection");
  return NULL;
}

zh_error *zh_spin_inbound_headers(const zh_spin_request *req, zh_spin_headers *out) {
  return inbound_headers(req, false, out);
}

/* The path and query of the target: itself in origin-form, the part after the authority
 * in absolute-form ("http://h/p?q" gives "/p?q", "http://h" gives "/"). */
static void path_and_query(const zh_spin_request *req, const char **p, size_t *n) {
  const char *t = req->target;
  size_t len = req->target_len;
  const char *sep = len > 0 && t[0] != '/' ? memmem(t, len, "://", 3) : NULL;
  if (!sep) {
    *p = t;
    *n = len;
    return;
  }
  const char *auth = sep + 3;
  const char *slash = memchr(auth, '/', len - (size_t)(auth - t));
  const char *query = memchr(auth, '?', len - (size_t)(auth - t));
  if (slash && (!query || slash < query)) {
    *p = slash;
    *n = len - (size_t)(slash - t);
  } else {
    *p = "/";
    *n = 1;
  }
}

/* What http::HeaderName accepts: a token. */
static bool valid_name(const zh_http_header *h) {
  if (h->name_len == 0)
    return false;
  for (size_t i = 0; i < h->name_len; i++) {
    if (!zh_http_is_token_char((unsigned char)h->name[i]))
      return false;
  }
  return true;
}

/* What http::HeaderValue accepts: no control bytes but tab. Eight bytes a step when no byte
 * is below 0x20 or DEL (the usual case); a value with one (a tab, say) byte by byte. */
static bool valid_value(const zh_http_header *h) {
  const char *v = h->value;
  size_t n = h->value_len;
  if (n >= 8) { /* the last word overlaps the one before: no byte-by-byte tail */
    size_t i = 0;
    while (i < n - 8 && !zh_http_word_has_ctl(word_at(v + i)))
      i += 8;
    if (i >= n - 8 && !zh_http_word_has_ctl(word_at(v + n - 8)))
      return true;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return false;
  }
  return true;
}

static bool valid_field(const zh_http_header *h) { return valid_name(h) && valid_value(h); }

/* How Spin's entries join a list: at its end (inbound-http, WAGI), or into a header map,
 * dropped when not a valid field (wasi:http). */
typedef enum {
  SPIN_APPEND,
  SPIN_JOIN_MAP,
  SPIN_APPEND_VALID, /* a map in which the name has no group: at the end, if valid */
} spin_join;

/* One of Spin's entries, its strings in h's chunks (or static). `token`: the name is known
 * to be one (Spin's own names as written). */
static zh_error *spin_add(zh_spin_headers *h, spin_join how, bool token, const char *name,
                          size_t name_len, const char *value, size_t value_len) {
  if (how == SPIN_APPEND)
    return insert_at(h, h->count, name, name_len, value, value_len, TAKE);
  zh_http_header f = {name, name_len, value, value_len};
  if ((!token && !valid_name(&f)) || !valid_value(&f))
    return NULL;
  return how == SPIN_APPEND_VALID ? insert_at(h, h->count, name, name_len, value, value_len, TAKE)
                                  : map_append(h, name, name_len, value, value_len, TAKE);
}

/* True when a name in h starts with "spin-": only then can one of Spin's own names join a
 * group (they differ from each other). */
static bool has_spin_name(const zh_spin_headers *h) {
  for (size_t i = 0; i < h->count; i++) {
    if (h->items[i].name_len >= 5 && memcmp(h->items[i].name, "spin-", 5) == 0)
      return true;
  }
  return false;
}

/* A static name with a copy of the value. */
static zh_error *add_str(zh_spin_headers *h, spin_join how, const char *name, const char *value,
                         size_t len) {
  char *v = copy(h, value, len, false);
  return v ? spin_add(h, how, true, name, strlen(name), v, len) : zh_error_oom();
}

static zh_error *add_captures(zh_spin_headers *out, const zh_router_result *m, bool wagi,
                              spin_join how) {
  for (size_t i = 0; i < m->ncaptures; i++) {
    const zh_router_capture *c = &m->captures[i];
    bool seen = false; /* Spin collects them in a map: one entry per name, the last value */
    for (size_t k = 0; k < i; k++)
      seen = seen || strcmp(m->captures[k].name, c->name) == 0;
    if (seen)
      continue;
    const zh_router_capture *last = c;
    for (size_t k = i + 1; k < m->ncaptures; k++) {
      if (strcmp(m->captures[k].name, c->name) == 0)
        last = &m->captures[k];
    }
    const char *prefix = wagi ? "X_PATH_MATCH_" : "spin-path-match-";
    size_t plen = strlen(prefix), nlen = strlen(c->name);
    char *name = chunk_alloc(out, plen + nlen + 1);
    char *value = name ? copy(out, last->value, last->value_len, false) : NULL;
    if (!value)
      return zh_error_oom();
    memcpy(name, prefix, plen);
    for (size_t k = 0; k < nlen; k++) {
      unsigned char ch = (unsigned char)c->name[k];
      if (wagi)
        ch = (unsigned char)toupper(ch);
      else
        ch = ch == '_' ? '-' : (unsigned char)tolower(ch);
      name[plen + k] = (char)ch;
    }
    name[plen + nlen] = '\0';
    zh_error *err = spin_add(out, how, false, name, plen + nlen, value, last->value_len);
    if (err)
      return err;
  }
  return NULL;
}

/* scheme://Host + path and query, in out's chunks. */
static char *full_url(zh_spin_headers *out, const zh_spin_request *req, const char *host,
                      size_t host_len, size_t *len) {
  const char *pq;
  size_t pq_len, scheme_len = strlen(req->scheme);
  path_and_query(req, &pq, &pq_len);
  *len = scheme_len + 3 + host_len + pq_len; /* each bounded by the request's size */
  char *url = chunk_alloc(out, *len + 1);
  if (!url)
    return NULL;
  memcpy(url, req->scheme, scheme_len);
  memcpy(url + scheme_len, "://", 3);
  memcpy(url + scheme_len + 3, host, host_len);
  memcpy(url + scheme_len + 3 + host_len, pq, pq_len);
  url[*len] = '\0';
  return url;
}

/* Spin's own entries before the captures' (spin-path-info to spin-client-addr). */
enum { SPIN_NAMES = 7 };

/* Spin's entries added to out, the way `how` says, for the client's Host value (NULL: none).
 * On an error, out is the caller's to free. */
static zh_error *default_values(const zh_router_result *m, const zh_spin_request *req, bool wagi,
                                const char *host, size_t host_len, spin_join how,
                                zh_spin_headers *out) {
  if (!host) {
    host = "localhost";
    host_len = strlen(host);
  }
  if (!utf8_valid((const unsigned char *)host, host_len))
    return zh_error_new(ZH_ERR_MALFORMED, "header \"host\": the value is not UTF-8");
  size_t url_len;
  char *url = full_url(out, req, host, host_len, &url_len);
  if (!url)
    return zh_error_oom();
  const char *v[SPIN_NAMES] = {
      m->path_info,    url, m->route, m->base, m->raw_component_route, m->component_route,
      req->client_addr};
  size_t vlen[SPIN_NAMES] = {m->path_info_len,
                             url_len,
                             strlen(m->route),
                             strlen(m->base),
                             strlen(m->raw_component_route),
                             strlen(m->component_route),
                             strlen(req->client_addr)};
  static const char *const header_names[SPIN_NAMES] = {
      "spin-path-info",           "spin-full-url",        "spin-matched-route", "spin-base-path",
      "spin-raw-component-route", "spin-component-route", "spin-client-addr"};
  static const char *const wagi_names[SPIN_NAMES] = {"PATH_INFO",
                                                     "X_FULL_URL",
                                                     "X_MATCHED_ROUTE",
                                                     "X_BASE_PATH",
                                                     "X_RAW_COMPONENT_ROUTE",
                                                     "X_COMPONENT_ROUTE",
                                                     "X_CLIENT_ADDR"};
  zh_error *err = NULL;
  spin_join fixed = how == SPIN_JOIN_MAP && !has_spin_name(out) ? SPIN_APPEND_VALID : how;
  for (int i = 0; i < SPIN_NAMES && !err; i++) {
    const char *name = wagi ? wagi_names[i] : header_names[i];
    err = i == 1 ? spin_add(out, fixed, true, name, strlen(name), url, url_len)
                 : add_str(out, fixed, name, v[i], vlen[i]);
  }
  return err ? err : add_captures(out, m, wagi, how);
}

zh_error *zh_spin_default_values(const zh_router_result *m, const zh_spin_request *req, bool wagi,
                                 zh_spin_headers *out) {
  *out = (zh_spin_headers){0};
  zh_spin_headers in;
  zh_error *err = zh_spin_inbound_headers(req, &in);
  if (!err) {
    const zh_http_header *host = zh_spin_headers_get(&in, "host");
    err = default_values(m, req, wagi, host ? host->value : NULL, host ? host->value_len : 0,
                         SPIN_APPEND, out);
  }
  zh_spin_headers_free(&in);
  if (err)
    zh_spin_headers_free(out);
  return err;
}

static zh_error *headers_build(const zh_router_result *m, const zh_spin_request *req,
                               zh_spin_handler_kind kind, bool chained, zh_spin_headers *out) {
  *out = (zh_spin_headers){0};
  zh_spin_headers in;
  zh_error *err = inbound_headers(req, chained, &in);
  for (size_t i = 0; !err && i < in.count; i++) {
    const zh_http_header *h = &in.items[i];
    if (!utf8_valid((const unsigned char *)h->value, h->value_len))
      err = zh_error_new(ZH_ERR_MALFORMED, "header \"%s\": the value is not UTF-8", h->name);
  }
  if (!err) {
    /* The Host as the client sent it, valid field or not (its string stays in the chunks). */
    const zh_http_header *hosth = zh_spin_headers_get(&in, "host");
    const char *host = hosth ? hosth->value : NULL;
    size_t host_len = hosth ? hosth->value_len : 0;
    if (kind == ZH_SPIN_WASI_HTTP) {
      /* A header map again, built from the list; what is not a valid field is dropped. The
       * client's part is a grouped map already, and stays one with entries taken out; only
       * Spin's entries look for a group to join. */
      size_t kept = 0;
      for (size_t i = 0; i < in.count; i++) {
        if (valid_field(&in.items[i]))
          in.items[kept++] = in.items[i];
      }
      in.count = kept;
    }
    /* inbound-http: the list as Spin builds it, the map's headers, then Spin's. */
    *out = in;
    in = (zh_spin_headers){0};
    err = default_values(m, req, false, host, host_len,
                         kind == ZH_SPIN_WASI_HTTP ? SPIN_JOIN_MAP : SPIN_APPEND, out);
  }
  zh_spin_headers_free(&in);
  if (err)
    zh_spin_headers_free(out);
  return err;
}

bool zh_spin_request_values_utf8(const zh_spin_request *req) {
  for (size_t i = 0; i < req->nheaders; i++) {
    const zh_http_header *h = &req->headers[i];
    if (!utf8_valid((const unsigned char *)h->value, h->value_len))
      return false;
  }
  return true;
}

zh_error *zh_spin_headers_build(const zh_router_result *m, const zh_spin_request *req,
                                zh_spin_handler_kind kind, zh_spin_headers *out) {
  return headers_build(m, req, kind, false, out);
}

zh_error *zh_spin_headers_build_chained(const zh_router_result *m, const zh_spin_request *req,
                                        zh_spin_handler_kind kind, zh_spin_headers *out) {
  return headers_build(m, req, kind, true, out);
}
