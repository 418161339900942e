/* WAGI's command line and environment for one request (wagi.h), as Spin's WAGI executor
 * builds them: its build_headers, then compute_default_headers' X_* values on top.
 *
 * Spin keeps the environment in a hash map, so a later value replaces an earlier one of the
 * same name and the order means nothing; set_var does the same on a list.
 */
#include "host/wagi.h"

#include "wasm/error.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zh_wagi_argv_free(zh_wagi_argv *a) {
  if (!a || !a->argv)
    return;
  for (size_t i = 0; i < a->argc; i++)
    free(a->argv[i]);
  free(a->argv);
  *a = (zh_wagi_argv){0};
}

/* Appends s[0..n) to the growing string *p (length *len); false when memory runs out. */
static bool append(char **p, size_t *len, const char *s, size_t n) {
  char *grown = realloc(*p, *len + n + 1);
  if (!grown)
    return false;
  memcpy(grown + *len, s, n);
  *len += n;
  grown[*len] = '\0';
  *p = grown;
  return true;
}

/* s with every occurrence of what replaced by with (Rust's str::replace). */
static char *replace_all(const char *s, const char *what, const char *with, size_t with_len) {
  size_t wlen = strlen(what), len = 0;
  char *out = NULL;
  if (!append(&out, &len, "", 0))
    return NULL;
  for (;;) {
    const char *hit = strstr(s, what);
    size_t keep = hit ? (size_t)(hit - s) : strlen(s);
    if (!append(&out, &len, s, keep) || (hit && !append(&out, &len, with, with_len))) {
      free(out);
      return NULL;
    }
    if (!hit)
      return out;
    s = hit + wlen;
  }
}

zh_error *zh_wagi_make_argv(const char *tmpl, const char *path, size_t path_len, const char *query,
                            size_t query_len, zh_wagi_argv *out) {
  *out = (zh_wagi_argv){0};
  char *p = malloc(path_len + 1), *args = malloc(query_len + 1);
  if (!p || !args) {
    free(p);
    free(args);
    return zh_error_oom();
  }
  memcpy(p, path, path_len);
  p[path_len] = '\0';
  if (query_len > 0)
    memcpy(args, query, query_len);
  for (size_t i = 0; i < query_len; i++) {
    if (args[i] == '&')
      args[i] = ' ';
  }
  args[query_len] = '\0';
  char *step = replace_all(tmpl ? tmpl : ZH_WAGI_DEFAULT_ARGV, "${SCRIPT_NAME}", p, path_len);
  char *line = step ? replace_all(step, "${ARGS}", args, query_len) : NULL;
  free(step);
  free(p);
  free(args);
  if (!line)
    return zh_error_oom();
  size_t n = 1;
  for (const char *c = line; *c; c++)
    n += *c == ' ';
  char **argv = calloc(n + 1, sizeof *argv);
  if (!argv) {
    free(line);
    return zh_error_oom();
  }
  const char *start = line;
  for (size_t i = 0; i < n; i++) {
    const char *sp = strchr(start, ' ');
    size_t len = sp ? (size_t)(sp - start) : strlen(start);
    if (!(argv[i] = strndup(start, len))) {
      out->argv = argv;
      out->argc = i;
      zh_wagi_argv_free(out);
      free(line);
      return zh_error_oom();
    }
    start += len + 1;
  }
  free(line);
  out->argv = argv;
  out->argc = n;
  return NULL;
}

/* HashMap::insert on a list: replaces the value of an existing name in place. */
static zh_error *set_var(zh_spin_headers *env, const char *name, const char *value,
                         size_t value_len) {
  size_t nlen = strlen(name);
  for (size_t i = 0; i < env->count; i++) {
    const zh_http_header *h = &env->items[i];
    if (h->name_len != nlen || memcmp(h->name, name, nlen) != 0)
      continue;
    return zh_spin_headers_set_value(env, i, value, value_len);
  }
  return zh_spin_headers_add(env, name, nlen, value, value_len, false);
}

static bool visible_ascii(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c != '\t' && (c < 0x20 || c > 0x7e))
      return false;
  }
  return true;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = (char)tolower((unsigned char)c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Length of the valid UTF-8 sequence at s, or of its maximal invalid prefix as a negative
 * number: Rust's from_utf8_lossy puts one U+FFFD for each such prefix. */
static long utf8_step(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t need = c < 0x80                 ? 1
                : c >= 0xc2 && c <= 0xdf ? 2
                : c >= 0xe0 && c <= 0xef ? 3
                : c >= 0xf0 && c <= 0xf4 ? 4
                                         : 0;
  if (need == 0)
    return -1;
  for (size_t k = 1; k < need; k++) {
    unsigned char lo = 0x80, hi = 0xbf;
    if (k == 1 && c == 0xe0)
      lo = 0xa0;
    else if (k == 1 && c == 0xed)
      hi = 0x9f;
    else if (k == 1 && c == 0xf0)
      lo = 0x90;
    else if (k == 1 && c == 0xf4)
      hi = 0x8f;
    if (k >= n || s[k] < lo || s[k] > hi)
      return -(long)k;
  }
  return (long)need;
}

/* percent_decode_str(s).decode_utf8_lossy(): %XX with two hex digits decoded, any other
 * '%' kept, then invalid UTF-8 replaced. */
static char *decode_lossy(const char *s, size_t n, size_t *out_len) {
  unsigned char *raw = malloc(n + 1);
  if (!raw)
    return NULL;
  size_t r = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n) {
      int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
      if (a >= 0 && b >= 0) {
        raw[r++] = (unsigned char)(a * 16 + b);
        i += 2;
        continue;
      }
    }
    raw[r++] = (unsigned char)s[i];
  }
  char *out = NULL;
  size_t len = 0;
  bool ok = append(&out, &len, "", 0);
  for (size_t i = 0; ok && i < r;) {
    long step = utf8_step(raw + i, r - i);
    if (step > 0) {
      ok = append(&out, &len, (const char *)raw + i, (size_t)step);
      i += (size_t)step;
    } else {
      ok = append(&out, &len, "\xef\xbf\xbd", 3);
      i += (size_t)-step;
    }
  }
  free(raw);
  if (!ok) {
    free(out);
    return NULL;
  }
  *out_len = len;
  return out;
}

/* SocketAddr::ip() as a string: "1.2.3.4:5" gives "1.2.3.4", "[::1]:5" gives "::1". */
static void client_ip(const char *addr, const char **ip, size_t *len) {
  if (addr[0] == '[') {
    const char *close = strchr(addr, ']');
    *ip = addr + 1;
    *len = close ? (size_t)(close - addr - 1) : strlen(addr + 1);
    return;
  }
  const char *colon = strrchr(addr, ':');
  *ip = addr;
  *len = colon ? (size_t)(colon - addr) : strlen(addr);
}

/* The request's CGI variables (Spin's build_headers, before its X_* overrides). */
static zh_error *cgi_vars(const zh_router_result *m, const zh_spin_request *req,
                          const zh_spin_headers *in, const char *method, size_t method_len,
                          int version_minor, uint64_t body_len, zh_spin_headers *env) {
  char num[32];
  snprintf(num, sizeof num, "%" PRIu64, body_len);
  /* Spin looks up "CONTENT_TYPE" in the header map, which means a header named
   * content_type: a Content-Type header shows only as HTTP_CONTENT_TYPE. */
  const zh_http_header *ct = zh_spin_headers_get(in, "content_type");
  bool ct_ok = ct && visible_ascii(ct->value, ct->value_len);
  const char *q = memchr(req->target, '?', req->target_len);
  size_t path_end = q ? (size_t)(q - req->target) : req->target_len;
  const char *ip;
  size_t ip_len;
  client_ip(req->client_addr, &ip, &ip_len);
  size_t rlen = strlen(m->route);
  size_t script_len = rlen >= 4 && strcmp(m->route + rlen - 4, "/...") == 0 ? rlen - 4 : rlen;
  /* SERVER_NAME and SERVER_PORT: Spin's parse_host_header_uri with its fixed default host,
   * the Host header cut at its first ':'. */
  const char *server = "default_host", *port = "80";
  size_t server_len = strlen(server), port_len = 2;
  const zh_http_header *host = zh_spin_headers_get(in, "host");
  if (host && visible_ascii(host->value, host->value_len)) {
    const char *colon = memchr(host->value, ':', host->value_len);
    size_t hlen = colon ? (size_t)(colon - host->value) : host->value_len;
    if (hlen > 0) {
      server = host->value;
      server_len = hlen;
    }
    if (colon && host->value_len - hlen - 1 > 0) {
      port = colon + 1;
      port_len = host->value_len - hlen - 1;
    }
  }
  size_t pt_len = 0;
  char *translated = decode_lossy(m->path_info, m->path_info_len, &pt_len);
  if (!translated)
    return zh_error_oom();
  struct {
    const char *name, *value;
    size_t len;
  } vars[] = {
      {"AUTH_TYPE", "", 0},
      {"CONTENT_LENGTH", num, strlen(num)},
      {"CONTENT_TYPE", ct_ok ? ct->value : "", ct_ok ? ct->value_len : 0},
      {"GATEWAY_INTERFACE", "CGI/1.1", 7},
      {"QUERY_STRING", q ? q + 1 : "", q ? req->target_len - path_end - 1 : 0},
      {"REMOTE_ADDR", ip, ip_len},
      {"REMOTE_HOST", ip, ip_len},
      {"REMOTE_USER", "", 0},
      {"REQUEST_METHOD", method, method_len},
      {"SCRIPT_NAME", m->route, script_len},
      {"X_RAW_PATH_INFO", m->path_info, m->path_info_len},
      {"PATH_INFO", translated, pt_len},
      {"PATH_TRANSLATED", translated, pt_len},
      {"SERVER_NAME", server, server_len},
      {"SERVER_PORT", port, port_len},
      {"SERVER_PROTOCOL", version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1", 8},
      {"SERVER_SOFTWARE", "WAGI/1", 6},
  };
  zh_error *err = NULL;
  for (size_t i = 0; !err && i < sizeof vars / sizeof vars[0]; i++)
    err = set_var(env, vars[i].name, vars[i].value, vars[i].len);
  free(translated);
  return err;
}

/* HTTP_<NAME> for every header value (a later value of a name wins), but Authorization and
 * Connection (RFC 3875, 4.1.18); a value that is not visible ASCII is "CORRUPT VALUE". */
static zh_error *http_vars(const zh_spin_headers *in, zh_spin_headers *env) {
  for (size_t i = 0; i < in->count; i++) {
    const zh_http_header *h = &in->items[i];
    char *name = malloc(h->name_len + 6);
    if (!name)
      return zh_error_oom();
    memcpy(name, "HTTP_", 5);
    for (size_t k = 0; k < h->name_len; k++) {
      name[5 + k] = (char)toupper((unsigned char)h->name[k]);
      if (name[5 + k] == '-')
        name[5 + k] = '_';
    }
    name[5 + h->name_len] = '\0';
    zh_error *err = NULL;
    if (strcmp(name, "HTTP_AUTHORIZATION") != 0 && strcmp(name, "HTTP_CONNECTION") != 0) {
      bool ok = visible_ascii(h->value, h->value_len);
      err = set_var(env, name, ok ? h->value : "CORRUPT VALUE",
                    ok ? h->value_len : strlen("CORRUPT VALUE"));
    }
    free(name);
    if (err)
      return err;
  }
  return NULL;
}

zh_error *zh_wagi_make_env(const zh_router_result *m, const zh_spin_request *req,
                           const char *method, size_t method_len, int version_minor,
                           uint64_t body_len, zh_spin_headers *out) {
  *out = (zh_spin_headers){0};
  zh_spin_headers in, spin = {0};
  zh_error *err = zh_spin_inbound_headers(req, &in);
  if (err)
    return err;
  err = zh_spin_default_values(m, req, true, &spin);
  if (!err)
    err = cgi_vars(m, req, &in, method, method_len, version_minor, body_len, out);
  if (!err)
    err = http_vars(&in, out);
  for (size_t i = 0; !err && i < spin.count; i++)
    err = set_var(out, spin.items[i].name, spin.items[i].value, spin.items[i].value_len);
  zh_spin_headers_free(&in);
  zh_spin_headers_free(&spin);
  if (err)
    zh_spin_headers_free(out);
  return err;
}
