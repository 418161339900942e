/* libFuzzer harness for the HTTP trigger's request path (src/host/router.h, spin_headers.h,
 * wagi.h): one input is a route table, a request and a CGI response, split at NUL bytes:
 *
 *   base\nroute\nroute...  \0  target  \0  Name: value\n...  \0  CGI stdout
 *
 * The first byte of the input picks the handler kind and the WAGI argv template. Each
 * route is added (bad patterns must fail cleanly), the router is built and the target's
 * path matched; a match must lie inside the path, and the path with a '/' appended must go
 * to the same target (Spin trims trailing slashes). Then the reserved paths, the headers
 * for both handler kinds, WAGI's argv and environment, and the CGI response parser run on
 * the rest, each result checked for lengths that agree with its strings.
 * Build and run: `make fuzz-run FUZZ_BIN=build-fuzz/fuzz_route` (tests/fuzz/README.md). */
#include "host/router.h"
#include "host/spin_headers.h"
#include "host/wagi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROUTES 32
#define MAX_HEADERS 32

static void check(int ok) {
  if (!ok)
    abort();
}

/* The next NUL-separated part of [*p, end), NUL-terminated in place. */
static char *part(char **p, char *end, size_t *len) {
  char *s = *p;
  char *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
  char *stop = nul ? nul : end;
  *len = (size_t)(stop - s);
  *p = nul ? nul + 1 : end;
  return s;
}

static void check_list(const zh_spin_headers *h) {
  for (size_t i = 0; i < h->count; i++) {
    check(h->items[i].name[h->items[i].name_len] == '\0');
    check(h->items[i].value[h->items[i].value_len] == '\0');
  }
}

static void no_log(void *env, const char *line) {
  (void)env;
  check(strchr(line, '\0') != NULL);
}

static void run_request(const zh_router *r, const zh_router_result *m, const char *target,
                        size_t target_len, const zh_http_header *hs, size_t nh, uint8_t flags) {
  zh_spin_request req = {flags & 1 ? "https" : "http",
                         target,
                         target_len,
                         hs,
                         nh,
                         flags & 2 ? "[::1]:8080" : "127.0.0.1:3000"};
  (void)r;
  zh_spin_headers h;
  zh_spin_handler_kind kind = flags & 4 ? ZH_SPIN_INBOUND_HTTP : ZH_SPIN_WASI_HTTP;
  zh_error *err = zh_spin_headers_build(m, &req, kind, &h);
  if (!err) {
    check_list(&h);
    check(zh_spin_headers_get(&h, "spin-full-url") != NULL || kind == ZH_SPIN_WASI_HTTP);
    zh_spin_headers_free(&h);
  }
  zh_error_free(err);

  const char *q = memchr(target, '?', target_len);
  size_t path_len = q ? (size_t)(q - target) : target_len;
  static const char *const templates[] = {NULL, "${SCRIPT_NAME}", "a ${ARGS} b ${SCRIPT_NAME}",
                                          "x"};
  zh_wagi_argv argv;
  err = zh_wagi_make_argv(templates[(flags >> 3) & 3], target, path_len, q ? q + 1 : "",
                          q ? target_len - path_len - 1 : 0, &argv);
  if (!err) {
    check(argv.argc >= 1 && argv.argv[argv.argc] == NULL);
    zh_wagi_argv_free(&argv);
  }
  zh_error_free(err);

  zh_spin_headers env;
  err = zh_wagi_make_env(m, &req, "GET", 3, flags & 32 ? 0 : 1, target_len, &env);
  if (!err) {
    check_list(&env);
    check(zh_spin_headers_get(&env, "X_FULL_URL") != NULL);
    zh_spin_headers_free(&env);
  }
  zh_error_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t flags = data[0];
  char *buf = malloc(size); /* room for the parts' NULs: they replace the separators */
  if (!buf)
    return 0;
  memcpy(buf, data + 1, size - 1);
  char *p = buf, *end = buf + size - 1;
  size_t routes_len, target_len, head_len, cgi_len;
  char *routes = part(&p, end, &routes_len);
  char *target = part(&p, end, &target_len);
  char *head = part(&p, end, &head_len);
  char *cgi = part(&p, end, &cgi_len);
  routes[routes_len] = target[target_len] = head[head_len] = '\0';
  if (cgi + cgi_len < end)
    cgi[cgi_len] = '\0';

  /* The route table: the first line is the base. */
  char *line = routes, *nl = strchr(line, '\n');
  if (nl)
    *nl = '\0';
  zh_router *r;
  zh_error *err = zh_router_new(line[0] ? line : NULL, NULL, NULL, &r);
  check(err == NULL);
  size_t added = 0;
  for (line = nl ? nl + 1 : NULL; line && added < MAX_ROUTES; line = nl ? nl + 1 : NULL) {
    nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    err = zh_router_add(r, line, added);
    if (err) {
      check(strstr(zh_error_message(err), "route \"") != NULL);
      zh_error_free(err);
    } else {
      added++;
    }
  }
  check(zh_router_build(r) == NULL);
  check(zh_router_count(r) <= added);
  zh_router_has_reserved(r);

  /* The client's headers. */
  zh_http_header hs[MAX_HEADERS];
  size_t nh = 0;
  for (char *h = head; *h && nh < MAX_HEADERS;) {
    char *eol = strchr(h, '\n');
    size_t len = eol ? (size_t)(eol - h) : strlen(h);
    char *colon = memchr(h, ':', len);
    if (colon)
      hs[nh++] = (zh_http_header){h, (size_t)(colon - h), colon + 1, len - (size_t)(colon - h) - 1};
    h = eol ? eol + 1 : h + len;
  }

  /* Reserved paths, then routing. */
  const char *q = memchr(target, '?', target_len);
  size_t path_len = q ? (size_t)(q - target) : target_len;
  bool handled;
  zh_router_reserved res;
  err = zh_router_reserved_answer(target, path_len, routes, flags & 64 ? "1.0" : NULL, &handled,
                                  &res);
  if (!err && handled) {
    check(res.status == 200 || res.status == 404);
    check(res.body[res.body_len] == '\0');
    zh_router_reserved_free(&res);
  }
  zh_error_free(err);

  zh_router_result m;
  if (zh_router_match(r, target, path_len, &m)) {
    check(m.target < added);
    /* path-info is a slice of the path, or the static "" or "/" of an empty capture. */
    check(m.path_info_len == 0 || (m.path_info_len == 1 && m.path_info[0] == '/') ||
          (m.path_info >= target && m.path_info + m.path_info_len <= target + path_len));
    for (size_t i = 0; i < m.ncaptures; i++)
      check(m.captures[i].value >= target &&
            m.captures[i].value + m.captures[i].value_len <= target + path_len);
    /* Trailing slashes do not change the route. */
    char *slashed = malloc(path_len + 2);
    if (slashed) {
      memcpy(slashed, target, path_len);
      slashed[path_len] = '/';
      zh_router_result m2;
      check(zh_router_match(r, slashed, path_len + 1, &m2) && m2.target == m.target);
      free(slashed);
    }
    run_request(r, &m, target, target_len, hs, nh, flags);
  }

  zh_wagi_response resp;
  err = zh_wagi_parse_response("fuzz", (const uint8_t *)cgi, cgi_len, no_log, NULL, &resp);
  if (!err) {
    check(resp.status >= 100 && resp.status <= 999);
    check(resp.status == 500 || (resp.body >= cgi && resp.body + resp.body_len <= cgi + cgi_len));
    check_list(&resp.headers);
    zh_wagi_response_free(&resp);
  } else {
    check(cgi_len == 0 || zh_error_status(err) == ZH_ERR_MALFORMED);
  }
  zh_error_free(err);
  zh_router_free(r);
  free(buf);
  return 0;
}
