/* The HTTP trigger's router (router.h): Spin's route semantics, which are routefinder 0.5's.
 *
 * A route becomes a list of segments the way routefinder parses a route spec: the based
 * route, stripped of its leading and trailing slashes, is cut at every '/' and '.'; a piece
 * is exact text, a `:capture` or the `*` wildcard, and the cuts become SLASH and DOT
 * segments (a dot right after exact text joins that text instead, so "/a.b" is exact).
 * Matching walks the segments over the path stripped the same way. Precedence is a sort
 * done once at build with routefinder's comparison, and matching takes the first route in
 * that order that fits, as routefinder's ordered set does. Everything is borrowed from the
 * router or the path, so matching allocates nothing.
 */
#include "host/router.h"

#include "wasm/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SEG_SLASH, SEG_DOT, SEG_EXACT, SEG_PARAM, SEG_WILD } seg_kind;

typedef struct segment {
  seg_kind kind;
  char *text; /* EXACT: the text; PARAM: the name; else NULL */
  size_t len;
} segment;

typedef struct route {
  char *raw;       /* as written in the manifest */
  char *based;     /* base + raw, Spin's sanitize_with_base */
  char *component; /* raw without a trailing "/..." */
  char *display;   /* how Spin prints it: based, or "<prefix> (wildcard)" */
  size_t target;
  size_t order; /* position among the deduplicated routes, the tie-break */
  segment *segs;
  size_t nsegs;
  size_t dots;
  size_t nparams;
} route;

struct zh_router {
  char *base;
  zh_router_warn_fn warn;
  void *warn_env;
  route *routes;
  size_t nroutes, cap;
  bool built;
};

static char *dup_range(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Spin's sanitize_with_base: the base and the route (made absolute) each lose one trailing
 * slash, then are joined ("/" and "/" make "", "/api" and "/x/" make "/api/x"). */
static char *sanitize_with_base(const char *base, const char *raw) {
  size_t blen = strlen(base), rlen = strlen(raw);
  bool slash = raw[0] != '/';
  if (blen > 0 && base[blen - 1] == '/')
    blen--;
  size_t total = blen + (slash ? 1 : 0) + rlen;
  char *out = malloc(total + 1);
  if (!out)
    return NULL;
  memcpy(out, base, blen);
  size_t n = blen;
  if (slash)
    out[n++] = '/';
  memcpy(out + n, raw, rlen);
  n += rlen;
  if (n > blen && out[n - 1] == '/')
    n--;
  out[n] = '\0';
  return out;
}

static void free_segments(segment *segs, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(segs[i].text);
  free(segs);
}

static void free_route(route *r) {
  free(r->raw);
  free(r->based);
  free(r->component);
  free(r->display);
  free_segments(r->segs, r->nsegs);
}

static bool push_seg(segment **segs, size_t *n, seg_kind kind, const char *text, size_t len) {
  segment *grown = realloc(*segs, (*n + 1) * sizeof **segs);
  if (!grown)
    return false;
  *segs = grown;
  grown[*n] = (segment){kind, NULL, len};
  if (text && !(grown[*n].text = dup_range(text, len)))
    return false;
  (*n)++;
  return true;
}

/* Why a spec failed: a message and a status, or oom. */
typedef struct spec_error {
  const char *why;
  zh_status status;
  bool oom;
} spec_error;

static bool spec_fail(spec_error *e, zh_status status, const char *why) {
  e->status = status;
  e->why = why;
  return false;
}

static bool spec_oom(spec_error *e) {
  e->oom = true;
  return false;
}

/* A dot cut: it joins exact text before it, else it is a DOT segment of its own. */
static bool add_dot(route *r, spec_error *e) {
  segment *prev = r->nsegs ? &r->segs[r->nsegs - 1] : NULL;
  if (prev && prev->kind == SEG_EXACT) {
    char *grown = realloc(prev->text, prev->len + 2);
    if (!grown)
      return spec_oom(e);
    grown[prev->len++] = '.';
    grown[prev->len] = '\0';
    prev->text = grown;
    return true;
  }
  if (!push_seg(&r->segs, &r->nsegs, SEG_DOT, NULL, 0))
    return spec_oom(e);
  r->dots++;
  return true;
}

/* One piece between cuts; `first` is the cut before it ('\0' at the start). */
static bool add_piece(route *r, char first, const char *sec, size_t slen, spec_error *e) {
  seg_kind kind = SEG_EXACT;
  if (slen > 0 && sec[0] == '*') {
    if (slen > 1)
      return spec_fail(e, ZH_ERR_INVALID, "there can only be one wildcard, so it has no name");
    kind = SEG_WILD;
  } else if (slen > 0 && sec[0] == ':') {
    if (slen == 1)
      return spec_fail(e, ZH_ERR_INVALID, "params must be named");
    kind = SEG_PARAM;
  }
  if (first == '.' && !add_dot(r, e))
    return false;
  if (slen == 0) /* an empty piece adds nothing, not even its slash */
    return true;
  if (first == '/' && !push_seg(&r->segs, &r->nsegs, SEG_SLASH, NULL, 0))
    return spec_oom(e);
  bool ok = kind == SEG_WILD    ? push_seg(&r->segs, &r->nsegs, SEG_WILD, NULL, 0)
            : kind == SEG_PARAM ? push_seg(&r->segs, &r->nsegs, SEG_PARAM, sec + 1, slen - 1)
                                : push_seg(&r->segs, &r->nsegs, SEG_EXACT, sec, slen);
  if (!ok)
    return spec_oom(e);
  if (kind == SEG_PARAM && ++r->nparams > ZH_ROUTER_MAX_CAPTURES)
    return spec_fail(e, ZH_ERR_RESOURCE, "more than 16 captures");
  return true;
}

/* routefinder's RouteSpec::from_str on spec, into r's segments. */
static bool parse_spec(const char *spec, route *r, spec_error *e) {
  size_t len = strlen(spec), start = 0;
  while (start < len && spec[start] == '/')
    start++;
  while (len > start && spec[len - 1] == '/')
    len--;
  const char *t = spec + start;
  size_t tlen = len - start, last = 0;
  for (size_t i = 0; i <= tlen; i++) {
    if (i < tlen && t[i] != '/' && t[i] != '.')
      continue;
    char first = 0;
    if (last > 0)
      first = t[last - 1];
    if (!add_piece(r, first, t + last, i - last, e))
      return false;
    last = i + 1;
  }
  /* routefinder only supports `*` as the last segment (it panics while matching otherwise);
   * zerohop also wants it after a slash, so that path-info is a slice of the path. */
  for (size_t i = 0; i < r->nsegs; i++) {
    if (r->segs[i].kind != SEG_WILD)
      continue;
    if (i + 1 != r->nsegs)
      return spec_fail(e, ZH_ERR_INVALID, "the wildcard must be the last segment");
    if (i > 0 && r->segs[i - 1].kind != SEG_SLASH)
      return spec_fail(e, ZH_ERR_INVALID, "the wildcard must be a whole segment");
  }
  return true;
}

zh_error *zh_router_new(const char *base, zh_router_warn_fn warn, void *warn_env, zh_router **out) {
  *out = NULL;
  zh_router *r = calloc(1, sizeof *r);
  if (!r || !(r->base = strdup(base ? base : "/"))) {
    free(r);
    return zh_error_oom();
  }
  r->warn = warn;
  r->warn_env = warn_env;
  *out = r;
  return NULL;
}

zh_error *zh_router_add(zh_router *router, const char *raw, size_t target) {
  if (router->built)
    return zh_error_new(ZH_ERR_USAGE, "route \"%s\": the router is already built", raw);
  route r = {.target = target};
  if (!(r.raw = strdup(raw)) || !(r.based = sanitize_with_base(router->base, raw)))
    goto nomem;
  size_t clen = strlen(raw);
  if (ends_with(raw, "/..."))
    clen -= 4;
  if (!(r.component = dup_range(raw, clen)))
    goto nomem;
  size_t blen = strlen(r.based);
  bool wild = ends_with(r.based, "/...") || ends_with(r.based, "/*");
  size_t plen = ends_with(r.based, "/...") ? blen - 4 : ends_with(r.based, "/*") ? blen - 2 : blen;
  if (!(r.display = malloc(plen + sizeof " (wildcard)")))
    goto nomem;
  memcpy(r.display, r.based, plen);
  strcpy(r.display + plen, wild ? " (wildcard)" : "");
  /* Spin's parse_route: a trailing "/..." is routefinder's trailing "*". */
  size_t slen = strlen(r.based);
  bool dots = ends_with(r.based, "/...");
  char *spec = dup_range(r.based, dots ? slen - 2 : slen);
  if (!spec)
    goto nomem;
  if (dots)
    spec[slen - 3] = '*';
  spec_error e = {0};
  bool parsed = parse_spec(spec, &r, &e);
  free(spec);
  if (e.oom)
    goto nomem;
  if (!parsed) {
    zh_error *err = zh_error_new(e.status, "route \"%s\": %s", raw, e.why);
    free_route(&r);
    return err;
  }
  /* A route written the same way as an earlier one takes its place (Spin keys its routes
   * by the text as written, in an insertion-ordered map). */
  for (size_t i = 0; i < router->nroutes; i++) {
    route *old = &router->routes[i];
    if (strcmp(old->raw, raw) != 0)
      continue;
    if (router->warn)
      router->warn(router->warn_env, old->based[0] ? old->based : "/", old->target, target);
    r.order = old->order;
    free_route(old);
    *old = r;
    return NULL;
  }
  if (router->nroutes == router->cap) {
    size_t cap = router->cap ? router->cap * 2 : 8;
    route *grown = realloc(router->routes, cap * sizeof *grown);
    if (!grown)
      goto nomem;
    router->routes = grown;
    router->cap = cap;
  }
  r.order = router->nroutes;
  router->routes[router->nroutes++] = r;
  return NULL;
nomem:
  free_route(&r);
  return zh_error_oom();
}

static int rank(seg_kind k) {
  switch (k) {
  case SEG_EXACT:
    return 3;
  case SEG_PARAM:
    return 2;
  case SEG_WILD:
    return 1;
  default:
    return 0; /* slashes and dots rank alike */
  }
}

/* routefinder's RouteSpec ordering, reversed so that the most specific comes first: the
 * first segment position whose kinds rank differently decides, then the count of dots
 * (more first), then the count of segments (fewer first), then manifest order. */
static int compare_routes(const void *pa, const void *pb) {
  const route *a = pa, *b = pb;
  size_t n = a->nsegs < b->nsegs ? a->nsegs : b->nsegs;
  for (size_t i = 0; i < n; i++) {
    int ra = rank(a->segs[i].kind), rb = rank(b->segs[i].kind);
    if (ra != rb)
      return rb - ra;
  }
  if (a->dots != b->dots)
    return a->dots > b->dots ? -1 : 1;
  if (a->nsegs != b->nsegs)
    return a->nsegs < b->nsegs ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

zh_error *zh_router_build(zh_router *router) {
  if (router->built)
    return zh_error_new(ZH_ERR_USAGE, "the router is already built");
  if (router->nroutes > 1)
    qsort(router->routes, router->nroutes, sizeof *router->routes, compare_routes);
  router->built = true;
  return NULL;
}

/* routefinder's inner match of one route over the trimmed path t. */
static bool match_route(const route *r, const char *t, size_t tlen, zh_router_result *m) {
  size_t pos = 0;
  m->ncaptures = 0;
  m->path_info = NULL;
  for (size_t i = 0; i < r->nsegs; i++) {
    const segment *s = &r->segs[i];
    const segment *next = i + 1 < r->nsegs ? &r->segs[i + 1] : NULL;
    size_t left = tlen - pos;
    switch (s->kind) {
    case SEG_EXACT:
      if (left < s->len || memcmp(t + pos, s->text, s->len) != 0)
        return false;
      pos += s->len;
      break;
    case SEG_PARAM: {
      if (left == 0)
        return false;
      size_t end = pos;
      if (!next || next->kind == SEG_SLASH) {
        while (end < tlen && t[end] != '/')
          end++;
      } else { /* a DOT follows: the capture ends at the next '.', and a '/' first fails */
        while (end < tlen && t[end] != '.' && t[end] != '/')
          end++;
        if (end == tlen || t[end] != '.')
          return false;
      }
      m->captures[m->ncaptures++] = (zh_router_capture){s->text, t + pos, end - pos};
      pos = end;
      break;
    }
    case SEG_WILD:
      m->path_info = t + pos; /* the wildcard's capture; finished by the caller */
      m->path_info_len = left;
      pos = tlen;
      break;
    case SEG_SLASH:
      if (left > 0 && t[pos] == '/' && next)
        pos++;
      else if (!(left == 0 && (!next || next->kind == SEG_WILD)))
        return false;
      break;
    case SEG_DOT:
      if (left == 0 || t[pos] != '.')
        return false;
      pos++;
      break;
    }
  }
  return pos == tlen || (tlen - pos == 1 && t[pos] == '/');
}

bool zh_router_match(const zh_router *router, const char *path, size_t path_len,
                     zh_router_result *m) {
  if (!router->built || path_len == 0 || path[0] != '/')
    return false;
  size_t start = 0, end = path_len;
  while (start < end && path[start] == '/')
    start++;
  while (end > start && path[end - 1] == '/')
    end--;
  for (size_t i = 0; i < router->nroutes; i++) {
    const route *r = &router->routes[i];
    if (!match_route(r, path + start, end - start, m))
      continue;
    m->target = r->target;
    m->route = r->based;
    m->component_route = r->component;
    m->raw_component_route = r->raw;
    m->base = router->base;
    /* Spin keeps the slashes routefinder drops: "/x" and "/x/" for a capture "x", "" and
     * "/" for an empty one, as the path did or did not end in '/'. The wildcard always
     * follows a '/' of the path, so "/" + capture (+ "/") is a slice of it. */
    bool trailing = path[path_len - 1] == '/';
    if (!m->path_info) {
      m->path_info = "";
      m->path_info_len = 0;
    } else if (m->path_info_len == 0) {
      m->path_info = trailing ? "/" : "";
      m->path_info_len = trailing ? 1 : 0;
    } else {
      m->path_info--;
      m->path_info_len += trailing ? 2 : 1;
    }
    return true;
  }
  return false;
}

size_t zh_router_count(const zh_router *router) { return router->nroutes; }

const char *zh_router_route_at(const zh_router *router, size_t i, size_t *target) {
  if (i >= router->nroutes)
    return NULL;
  if (target)
    *target = router->routes[i].target;
  return router->routes[i].based;
}

const char *zh_router_route_display(const zh_router *router, size_t i) {
  return i < router->nroutes ? router->routes[i].display : NULL;
}

bool zh_router_has_reserved(const zh_router *router) {
  size_t n = strlen(ZH_ROUTER_WELL_KNOWN);
  for (size_t i = 0; i < router->nroutes; i++) {
    if (strncmp(router->routes[i].based, ZH_ROUTER_WELL_KNOWN, n) == 0)
      return true;
  }
  return false;
}

void zh_router_free(zh_router *router) {
  if (!router)
    return;
  for (size_t i = 0; i < router->nroutes; i++)
    free_route(&router->routes[i]);
  free(router->routes);
  free(router->base);
  free(router);
}
