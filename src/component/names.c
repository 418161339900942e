/* Import and export names of components (Explainer.md, "Import and Export Definitions"):
 * kebab-case labels, `[constructor]r`, `[method]r.f`, `[static]r.f`, interface names
 * `ns:pkg/iface@semver` and the dependency forms (`url=<...>`, `integrity=<...>`, ...). */
#include "component/cb_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A fragment is a lowercase word, an uppercase acronym, or (after the first) one led by a
 * digit; `lower_only` is the namespace/package rule, where acronyms are not allowed. */
static bool label_n(const char *s, size_t n, bool lower_only) {
  if (n == 0)
    return false;
  size_t i = 0;
  bool first = true;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] != '-')
      j++;
    if (j == i)
      return false; /* empty fragment: leading, trailing or double '-' */
    char c = s[i];
    int upper = -1; /* -1: not decided (digit-led) */
    if (c >= 'a' && c <= 'z')
      upper = 0;
    else if (c >= 'A' && c <= 'Z')
      upper = 1;
    else if (!(c >= '0' && c <= '9') || first)
      return false;
    for (size_t k = i + 1; k < j; k++) {
      char d = s[k];
      if (d >= '0' && d <= '9')
        continue;
      int u = d >= 'A' && d <= 'Z' ? 1 : d >= 'a' && d <= 'z' ? 0 : -2;
      if (u == -2)
        return false;
      if (upper == -1)
        upper = u;
      else if (upper != u)
        return false;
    }
    if (lower_only && upper == 1)
      return false;
    first = false;
    i = j == n ? j : j + 1;
    if (j < n && j + 1 == n)
      return false; /* trailing '-' */
  }
  return true;
}

bool cb_label_valid(const char *s) { return label_n(s, strlen(s), false); }

static bool semver_ok(const char *s) { return wit_semver_valid(s, strlen(s)); }

/* ns:pkg/iface[/iface...]@version? */
static bool interface_name(const char *s) {
  const char *colon = strchr(s, ':');
  if (!colon || !label_n(s, (size_t)(colon - s), true))
    return false;
  const char *p = colon + 1;
  const char *at = strchr(p, '@');
  size_t len = at ? (size_t)(at - p) : strlen(p);
  const char *slash = memchr(p, '/', len);
  if (!slash || !label_n(p, (size_t)(slash - p), true))
    return false;
  /* One interface name: nested namespaces and projections are a gated feature. */
  const char *q = slash + 1;
  const char *end = p + len;
  if (memchr(q, '/', (size_t)(end - q)) || !label_n(q, (size_t)(end - q), false))
    return false;
  return !at || semver_ok(at + 1);
}

static bool copy_label(char *dst, const char *s, size_t n) {
  if (n >= 256)
    return false;
  memcpy(dst, s, n);
  dst[n] = 0;
  return label_n(s, n, false);
}

/* `prefix=<...>` with no '<' or '>' inside the brackets. */
static bool bracketed(const char *s, const char *prefix) {
  size_t pl = strlen(prefix);
  if (strncmp(s, prefix, pl) != 0 || s[pl] != '<')
    return false;
  const char *body = s + pl + 1;
  const char *close = strchr(body, '>');
  return close && close[1] == 0 && !memchr(body, '<', (size_t)(close - body));
}

const char *cb_name_check(const char *name, bool import, cb_name_info *info) {
  memset(info, 0, sizeof *info);
  if (strncmp(name, "[constructor]", 13) == 0) {
    info->kind = CB_NAME_CONSTRUCTOR;
    return copy_label(info->resource, name + 13, strlen(name + 13)) ? NULL
                                                                    : "is not a valid extern name";
  }
  if (strncmp(name, "[method]", 8) == 0 || strncmp(name, "[static]", 8) == 0) {
    info->kind = name[1] == 'm' ? CB_NAME_METHOD : CB_NAME_STATIC;
    const char *r = name + 8;
    const char *dot = strchr(r, '.');
    if (!dot || !copy_label(info->resource, r, (size_t)(dot - r)) ||
        !copy_label(info->func, dot + 1, strlen(dot + 1)))
      return "is not a valid extern name";
    return NULL;
  }
  if (name[0] == '[') {
    if (strncmp(name, "[async", 6) == 0) {
      info->kind = CB_NAME_ASYNC;
      return "is an async function name (not supported)";
    }
    return "is not a valid extern name";
  }
  if (strchr(name, '=')) {
    info->kind = CB_NAME_DEP;
    if (!import)
      return "is not a valid export name";
    if (bracketed(name, "url") || bracketed(name, "relative-url") || bracketed(name, "integrity") ||
        bracketed(name, "locked-dep") || bracketed(name, "unlocked-dep"))
      return NULL;
    return "is not a valid extern name";
  }
  if (strchr(name, ':') || strchr(name, '/') || strchr(name, '@')) {
    info->kind = CB_NAME_INTERFACE;
    return interface_name(name) ? NULL : "is not a valid extern name";
  }
  info->kind = CB_NAME_PLAIN;
  return cb_label_valid(name) ? NULL : "is not a valid extern name";
}

/* Strong uniqueness (Explainer.md, "Name uniqueness"): names are compared ignoring ASCII
 * case. A `[method]r.f` or `[static]r.f` conflicts with a plain `f` when it is a method of
 * the resource `f` itself (`[method]a.a` and `a`), and with another method or static function
 * of the same `r.f`; methods of different
 * resources do not conflict (wasi:io/streams has `[method]input-stream.subscribe` and
 * `[method]output-stream.subscribe`). `[constructor]r` keeps its annotation and does not
 * conflict with `r`. */
static bool annotated(const char *s) {
  return strncmp(s, "[method]", 8) == 0 || strncmp(s, "[static]", 8) == 0;
}

/* Where the compared part of `s` starts: for a method or static function "r.f" (whole), or
 * "f" alone when `label_only`. */
static const char *strong_key(const char *s, bool label_only) {
  if (!annotated(s))
    return s;
  const char *dot = strchr(s + 8, '.');
  return label_only && dot ? dot + 1 : s + 8;
}

bool cb_names_conflict(const char *a, const char *b) {
  if (strcmp(a, b) == 0)
    return true;
  /* Interface and dependency names compare as raw strings. */
  if (strchr(a, ':') || strchr(b, ':') || strchr(a, '=') || strchr(b, '='))
    return false;
  /* Both annotated: the whole "r.f". One of them: "r.f" against a plain "r" with r == f
   * ("[method]a.a" against "a"), so that a plain name equal to a method's label of another
   * resource stays unique: wasi:http/types has the type `method` beside
   * `[method]incoming-request.method`, and every wasi:http component exports or imports both. */
  if (annotated(a) == annotated(b))
    return strcasecmp(strong_key(a, false), strong_key(b, false)) == 0;
  const char *m = annotated(a) ? a : b, *plain = annotated(a) ? b : a;
  const char *label = strong_key(m, true);
  size_t rlen = (size_t)(label - 1 - (m + 8));
  return label != m + 8 && strcasecmp(label, plain) == 0 && strlen(plain) == rlen &&
         strncasecmp(m + 8, plain, rlen) == 0;
}
