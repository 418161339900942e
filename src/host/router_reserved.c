/* The paths Spin keeps for itself under /.well-known/spin/ (router.h), answered before
 * routing: health, info, and 404 for the rest of the prefix.
 *
 * The info body is what Spin's serde_json::to_vec_pretty makes of its AppInfo: an object
 * with two-space indentation, no trailing newline, "name" always ("" when the manifest has
 * none), "version" only when there is one, strings escaped as serde_json escapes them
 * (\" \\ \b \f \n \r \t, other control characters as \u00xx, everything else as is).
 */
#include "host/router.h"

#include "wasm/error.h"

#include <stdlib.h>
#include <string.h>

typedef struct buf {
  char *p;
  size_t len, cap;
  bool oom;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *grown = realloc(b->p, cap);
    if (!grown) {
      b->oom = true;
      return;
    }
    b->p = grown;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void put_json_string(buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  put(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    const char *esc = NULL;
    switch (*c) {
    case '"':
      esc = "\\\"";
      break;
    case '\\':
      esc = "\\\\";
      break;
    case '\b':
      esc = "\\b";
      break;
    case '\f':
      esc = "\\f";
      break;
    case '\n':
      esc = "\\n";
      break;
    case '\r':
      esc = "\\r";
      break;
    case '\t':
      esc = "\\t";
      break;
    default:
      break;
    }
    if (esc) {
      put(b, esc, 2);
    } else if (*c < 0x20) {
      char u[6] = {'\\', 'u', '0', '0', hex[*c >> 4], hex[*c & 15]};
      put(b, u, sizeof u);
    } else {
      put(b, (const char *)c, 1);
    }
  }
  put(b, "\"", 1);
}

zh_error *zh_router_reserved_answer(const char *path, size_t path_len, const char *app_name,
                                    const char *app_version, bool *handled,
                                    zh_router_reserved *out) {
  size_t plen = strlen(ZH_ROUTER_WELL_KNOWN);
  *handled = false;
  if (path_len < plen || memcmp(path, ZH_ROUTER_WELL_KNOWN, plen) != 0)
    return NULL;
  const char *rest = path + plen;
  size_t rlen = path_len - plen;
  buf b = {0};
  zh_router_reserved r = {.status = 404};
  if (rlen == 6 && memcmp(rest, "health", 6) == 0) {
    r.status = 200;
    put(&b, "OK", 2);
  } else if (rlen == 4 && memcmp(rest, "info", 4) == 0) {
    r.status = 200;
    r.content_type = "application/json";
    put(&b, "{\n  \"name\": ", 12);
    put_json_string(&b, app_name ? app_name : "");
    if (app_version) {
      put(&b, ",\n  \"version\": ", 15);
      put_json_string(&b, app_version);
    }
    put(&b, "\n}", 2);
  } else {
    put(&b, "", 0);
  }
  if (b.oom) {
    free(b.p);
    return zh_error_oom();
  }
  r.body = b.p;
  r.body_len = b.len;
  *out = r;
  *handled = true;
  return NULL;
}

void zh_router_reserved_free(zh_router_reserved *r) {
  if (r) {
    free(r->body);
    r->body = NULL;
  }
}
