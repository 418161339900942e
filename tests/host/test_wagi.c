/* WAGI (src/host/wagi.h): argv from the executor's template, the CGI environment as Spin's
 * WAGI executor sets it, and the CGI response parser on every edge Spin's compose_response
 * has: LF and CRLF heads, Status, Location's 302, missing fields, corrupt lines, bad names,
 * bad values, a head that is not UTF-8, and an empty stdout. */
#include "host/router.h"
#include "host/spin_headers.h"
#include "host/wagi.h"
#include "testlib.h"

#include <stdbool.h>
#include <string.h>

#define H(n, v)                                                                                    \
  { n, sizeof n - 1, v, sizeof v - 1 }

/* ---- argv --------------------------------------------------------------------------- */

static void expect_argv(const char *tmpl, const char *path, const char *query,
                        const char *const *want, size_t n) {
  zh_wagi_argv a;
  zh_error *err = zh_wagi_make_argv(tmpl, path, strlen(path), query, query ? strlen(query) : 0, &a);
  CHECK(err == NULL);
  zh_error_free(err);
  if (err)
    return;
  CHECK_EQ_INT(a.argc, n);
  for (size_t i = 0; i < n && i < a.argc; i++) {
    CHECK(strcmp(a.argv[i], want[i]) == 0);
    if (strcmp(a.argv[i], want[i]) != 0)
      fprintf(stderr, "  argv[%zu]: got \"%s\", want \"%s\"\n", i, a.argv[i], want[i]);
  }
  CHECK(a.argv[a.argc] == NULL);
  zh_wagi_argv_free(&a);
}

static void test_argv(void) {
  const char *a1[] = {"/hello", "a=1", "b"};
  expect_argv(NULL, "/hello", "a=1&b", a1, 3);
  const char *a2[] = {"/hello", ""}; /* no query: the empty last argument, as in Spin */
  expect_argv(NULL, "/hello", NULL, a2, 2);
  expect_argv(NULL, "/hello", "", a2, 2);
  const char *a3[] = {"/p", "a=1", "", "b%20c"}; /* nothing decoded, "&&" an empty arg */
  expect_argv(ZH_WAGI_DEFAULT_ARGV, "/p", "a=1&&b%20c", a3, 4);
  const char *a4[] = {"prog", "--path", "/x/y", "--", "k=v"};
  expect_argv("prog --path ${SCRIPT_NAME} -- ${ARGS}", "/x/y", "k=v", a4, 5);
  const char *a5[] = {"fixed"};
  expect_argv("fixed", "/x", "q", a5, 1);
  const char *a6[] = {"/x", "/x"}; /* every occurrence is replaced */
  expect_argv("${SCRIPT_NAME} ${SCRIPT_NAME}", "/x", NULL, a6, 2);
  const char *a7[] = {"/q", "q"}; /* ${ARGS} is replaced after ${SCRIPT_NAME}, as Spin does */
  expect_argv(NULL, "/${ARGS}", "q", a7, 2);
  zh_wagi_argv_free(NULL);
}

/* ---- environment -------------------------------------------------------------------- */

static const char *env_get(const zh_spin_headers *env, const char *name) {
  const zh_http_header *h = zh_spin_headers_get(env, name);
  return h ? h->value : NULL;
}

static bool env_is(const zh_spin_headers *env, const char *name, const char *want) {
  const char *got = env_get(env, name);
  if (got && strcmp(got, want) == 0)
    return true;
  fprintf(stderr, "  %s: got %s%s%s, want \"%s\"\n", name, got ? "\"" : "", got ? got : "NULL",
          got ? "\"" : "", want);
  return false;
}

static zh_router *one_route(const char *route) {
  zh_router *r;
  zh_error *err = zh_router_new("/", NULL, NULL, &r);
  if (!err)
    err = zh_router_add(r, route, 0);
  if (!err)
    err = zh_router_build(r);
  CHECK(err == NULL);
  zh_error_free(err);
  return r;
}

static void test_env(void) {
  zh_router *r = one_route("/cgi/...");
  const char target[] = "/cgi/bin/x%20y?q=1&r";
  zh_http_header in[] = {H("Host", "example.com:8080"),
                         H("User-Agent", "curl/8"),
                         H("Authorization", "Basic eA=="),
                         H("Content-Type", "text/plain"),
                         H("X-Dup", "1"),
                         H("Connection", "close"),
                         H("x-dup", "2")};
  zh_spin_request req = {"http", target, strlen(target), in, 7, "127.0.0.1:4567"};
  zh_router_result m;
  CHECK(zh_router_match(r, "/cgi/bin/x%20y", 14, &m));
  zh_spin_headers env;
  zh_error *err = zh_wagi_make_env(&m, &req, "GET", 3, 1, 5, &env);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK(env_is(&env, "AUTH_TYPE", ""));
  CHECK(env_is(&env, "CONTENT_LENGTH", "5"));
  /* Spin looks CONTENT_TYPE up as a header named content_type: empty for Content-Type. */
  CHECK(env_is(&env, "CONTENT_TYPE", ""));
  CHECK(env_is(&env, "GATEWAY_INTERFACE", "CGI/1.1"));
  CHECK(env_is(&env, "QUERY_STRING", "q=1&r"));
  CHECK(env_is(&env, "REMOTE_ADDR", "127.0.0.1"));
  CHECK(env_is(&env, "REMOTE_HOST", "127.0.0.1"));
  CHECK(env_is(&env, "REMOTE_USER", ""));
  CHECK(env_is(&env, "REQUEST_METHOD", "GET"));
  CHECK(env_is(&env, "SCRIPT_NAME", "/cgi"));
  CHECK(env_is(&env, "X_RAW_PATH_INFO", "/bin/x%20y"));
  CHECK(env_is(&env, "PATH_INFO", "/bin/x%20y")); /* Spin's raw value wins over the decoded */
  CHECK(env_is(&env, "PATH_TRANSLATED", "/bin/x y"));
  CHECK(env_is(&env, "SERVER_NAME", "example.com"));
  CHECK(env_is(&env, "SERVER_PORT", "8080"));
  CHECK(env_is(&env, "SERVER_PROTOCOL", "HTTP/1.1"));
  CHECK(env_is(&env, "SERVER_SOFTWARE", "WAGI/1"));
  CHECK(env_is(&env, "HTTP_HOST", "example.com:8080"));
  CHECK(env_is(&env, "HTTP_USER_AGENT", "curl/8"));
  CHECK(env_is(&env, "HTTP_CONTENT_TYPE", "text/plain"));
  CHECK(env_is(&env, "HTTP_X_DUP", "2"));
  CHECK(env_get(&env, "HTTP_AUTHORIZATION") == NULL);
  CHECK(env_get(&env, "HTTP_CONNECTION") == NULL);
  CHECK(env_is(&env, "X_FULL_URL", "http://example.com:8080/cgi/bin/x%20y?q=1&r"));
  CHECK(env_is(&env, "X_MATCHED_ROUTE", "/cgi/..."));
  CHECK(env_is(&env, "X_BASE_PATH", "/"));
  CHECK(env_is(&env, "X_RAW_COMPONENT_ROUTE", "/cgi/..."));
  CHECK(env_is(&env, "X_COMPONENT_ROUTE", "/cgi"));
  CHECK(env_is(&env, "X_CLIENT_ADDR", "127.0.0.1:4567"));
  CHECK_EQ_INT(env.count, 27); /* one entry per name, nothing else */
  zh_spin_headers_free(&env);
  zh_router_free(r);
}

static void test_env_edges(void) {
  zh_router *r = one_route("/u/:user_id");
  zh_router_result m;
  CHECK(zh_router_match(r, "/u/%ff%zz", 9, &m));
  zh_http_header in[] = {H("content_type", "a/b"), H("X-Name", "caf\xc3\xa9")};
  zh_spin_request req = {"https", "/u/%ff%zz", 9, in, 2, "[::1]:80"};
  zh_spin_headers env;
  zh_error *err = zh_wagi_make_env(&m, &req, "POST", 4, 0, 0, &env);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK(env_is(&env, "CONTENT_TYPE", "a/b"));
  CHECK(env_is(&env, "CONTENT_LENGTH", "0"));
  CHECK(env_is(&env, "HTTP_X_NAME", "CORRUPT VALUE")); /* not visible ASCII */
  CHECK(env_is(&env, "REMOTE_ADDR", "::1"));
  CHECK(env_is(&env, "X_CLIENT_ADDR", "[::1]:80"));
  CHECK(env_is(&env, "SERVER_PROTOCOL", "HTTP/1.0"));
  CHECK(env_is(&env, "SERVER_NAME", "default_host")); /* no Host: Spin's fixed default */
  CHECK(env_is(&env, "SERVER_PORT", "80"));
  CHECK(env_is(&env, "X_FULL_URL", "https://localhost/u/%ff%zz"));
  CHECK(env_is(&env, "X_PATH_MATCH_USER_ID", "%ff%zz"));
  CHECK(env_is(&env, "SCRIPT_NAME", "/u/:user_id"));
  CHECK(env_is(&env, "PATH_INFO", ""));
  CHECK(env_is(&env, "QUERY_STRING", ""));
  CHECK(env_is(&env, "REQUEST_METHOD", "POST"));
  zh_spin_headers_free(&env);
  zh_router_free(r);

  /* PATH_TRANSLATED decodes %XX and replaces what is not UTF-8; SERVER_* cut Host at its
   * first ':' (so an IPv6 Host comes out as Spin makes it). */
  r = one_route("/p/...");
  CHECK(zh_router_match(r, "/p/%ff%zz%41", 12, &m));
  zh_http_header v6[] = {H("host", "[::1]:3000")};
  zh_spin_request r2 = {"http", "/p/%ff%zz%41", 12, v6, 1, "127.0.0.1:1"};
  err = zh_wagi_make_env(&m, &r2, "GET", 3, 1, 0, &env);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK(env_is(&env, "PATH_TRANSLATED", "/\xef\xbf\xbd%zzA"));
  CHECK(env_is(&env, "PATH_INFO", "/%ff%zz%41"));
  CHECK(env_is(&env, "SERVER_NAME", "["));
  CHECK(env_is(&env, "SERVER_PORT", ":1]:3000"));
  zh_spin_headers_free(&env);
  zh_http_header plain[] = {H("host", "h")};
  r2.headers = plain;
  err = zh_wagi_make_env(&m, &r2, "GET", 3, 1, 0, &env);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK(env_is(&env, "SERVER_NAME", "h"));
  CHECK(env_is(&env, "SERVER_PORT", "80"));
  zh_spin_headers_free(&env);
  zh_router_free(r);
}

/* ---- the CGI response --------------------------------------------------------------- */

typedef struct logs {
  char text[2048];
  int count;
} logs;

static void on_log(void *env, const char *line) {
  logs *l = env;
  size_t used = strlen(l->text);
  snprintf(l->text + used, sizeof l->text - used, "%s\n", line);
  l->count++;
}

typedef struct parsed {
  zh_wagi_response r;
  zh_error *err;
  logs log;
} parsed;

static parsed parse(const char *out, size_t len) {
  parsed p = {0};
  p.err = zh_wagi_parse_response("cgi", (const uint8_t *)out, len, on_log, &p.log, &p.r);
  return p;
}

#define PARSE(lit) parse(lit, sizeof lit - 1)

static bool body_is(const parsed *p, const char *want, size_t n) {
  return p->r.body_len == n && memcmp(p->r.body, want, n) == 0;
}

static bool header_is(const parsed *p, size_t i, const char *name, const char *value) {
  return i < p->r.headers.count && strcmp(p->r.headers.items[i].name, name) == 0 &&
         strcmp(p->r.headers.items[i].value, value) == 0;
}

static void done(parsed *p) {
  zh_error_free(p->err);
  zh_wagi_response_free(&p->r);
}

static void test_response_basics(void) {
  parsed p = PARSE("Content-Type: text/plain\n\nhello");
  CHECK(!p.err && p.r.status == 200 && p.r.headers.count == 1);
  CHECK(header_is(&p, 0, "content-type", "text/plain"));
  CHECK(body_is(&p, "hello", 5));
  CHECK_EQ_INT(p.log.count, 0);
  done(&p);

  /* CRLF: the carriage returns of the head go, the body keeps its own. */
  p = PARSE("Content-Type: text/html\r\nX-A: 1\r\n\r\nbody\r\n");
  CHECK(!p.err && p.r.status == 200 && p.r.headers.count == 2);
  CHECK(header_is(&p, 0, "content-type", "text/html") && header_is(&p, 1, "x-a", "1"));
  CHECK(body_is(&p, "body\r\n", 6));
  done(&p);
  p = PARSE("Content-Type: t\r\n\nB");
  CHECK(!p.err && body_is(&p, "B", 1));
  done(&p);

  /* The body is every byte after the empty line, NULs and all. */
  p = parse("Content-Type: a\n\n\0x\n\n", 21);
  CHECK(!p.err && body_is(&p, "\0x\n\n", 4));
  done(&p);

  /* Names and values are trimmed (Unicode spaces too), names match in any case. */
  p = PARSE("  CONTENT-TYPE :  text/plain\xc2\xa0 \nX-Up: v\n\n");
  CHECK(!p.err && header_is(&p, 0, "content-type", "text/plain"));
  CHECK(header_is(&p, 1, "x-up", "v"));
  CHECK(body_is(&p, "", 0));
  done(&p);

  /* A repeated name keeps its last value, at its first place. */
  p = PARSE("X-A: 1\nContent-Type: t\nX-A: 2\n\n");
  CHECK(!p.err && p.r.headers.count == 2 && header_is(&p, 0, "x-a", "2"));
  done(&p);
}

static void test_response_status(void) {
  parsed p = PARSE("Status: 404 Not Found\nContent-Type: text/plain\n\nnope");
  CHECK(!p.err && p.r.status == 404 && p.r.headers.count == 1 && body_is(&p, "nope", 4));
  done(&p);
  p = PARSE("Status: 204\n\n"); /* Status alone makes a response */
  CHECK(!p.err && p.r.status == 204 && p.r.headers.count == 0);
  done(&p);
  p = PARSE("Location: /elsewhere\n\n");
  CHECK(!p.err && p.r.status == 302 && header_is(&p, 0, "location", "/elsewhere"));
  done(&p);
  p = PARSE("Location: /x\nStatus: 301\n\n"); /* an explicit Status wins, in either order */
  CHECK(!p.err && p.r.status == 301);
  done(&p);
  p = PARSE("Status: 307\nLocation: /x\n\n");
  CHECK(!p.err && p.r.status == 307);
  done(&p);
  const char *bad[] = {"Status: abc\n\n", "Status: 1000\n\n",           "Status: 099\n\n",
                       "Status: 20\n\n",  "Status: 404\tNot Found\n\n", "Status:\n\n"};
  for (size_t i = 0; i < 6; i++) {
    p = parse(bad[i], strlen(bad[i]));
    CHECK(!p.err && p.r.status == 502);
    CHECK(p.log.count == 1 && strstr(p.log.text, "Status") != NULL);
    done(&p);
  }
  p = PARSE("Status: 999 Custom\n\n");
  CHECK(!p.err && p.r.status == 999);
  done(&p);
}

static void test_response_not_a_response(void) {
  const char msg[] = "Exactly one of 'location' or 'content-type' must be specified";
  /* No empty line: no head at all. */
  parsed p = PARSE("Content-Type: text/plain\nhello");
  CHECK(!p.err && p.r.status == 500 && body_is(&p, msg, sizeof msg - 1));
  CHECK(p.r.headers.count == 0 && strstr(p.log.text, msg) != NULL);
  done(&p);
  /* A head without Content-Type, Location or Status. */
  p = PARSE("X-Foo: bar\n\nbody");
  CHECK(!p.err && p.r.status == 500 && body_is(&p, msg, sizeof msg - 1));
  CHECK(p.r.headers.count == 0);
  done(&p);
  p = PARSE("\n\nbody");
  CHECK(!p.err && p.r.status == 500);
  done(&p);
  p = PARSE("just text, no head\n");
  CHECK(!p.err && p.r.status == 500);
  done(&p);
}

static void test_response_errors(void) {
  /* An empty stdout is an error, with Spin's words. */
  parsed p = parse("", 0);
  CHECK(p.err && zh_error_status(p.err) == ZH_ERR_MALFORMED);
  CHECK(p.err && strcmp(zh_error_message(p.err),
                        "The \"cgi\" component is configured to use the WAGI executor but did "
                        "not write to stdout. Check the `executor` in spin.toml.") == 0);
  done(&p);
  /* A line without a colon is logged and skipped. */
  p = PARSE("garbage\nContent-Type: a\n\n");
  CHECK(!p.err && p.r.status == 200 && p.log.count == 1);
  CHECK(strstr(p.log.text, "corrupt header line 1: garbage") != NULL);
  done(&p);
  /* A name that is not a token is logged and skipped. */
  p = PARSE("Bad Name: x\nContent-Type: a\n: empty\n\n");
  CHECK(!p.err && p.r.status == 200 && p.r.headers.count == 1 && p.log.count == 2);
  CHECK(strstr(p.log.text, "line 1: invalid header name \"Bad Name\"") != NULL);
  done(&p);
  /* A value HTTP does not allow fails the response: 500, and the message says where. */
  p = PARSE("Content-Type: a\nX-A: a\x01z\n\n");
  CHECK(p.err && zh_error_status(p.err) == ZH_ERR_MALFORMED);
  CHECK(p.err && strstr(zh_error_message(p.err), "line 2") != NULL &&
        strstr(zh_error_message(p.err), "\"x-a\"") != NULL);
  done(&p);
  p = PARSE("Content-Type: a\x7f\n\n");
  CHECK(p.err != NULL);
  done(&p);
  /* A head that is not UTF-8 fails too, naming the byte. */
  p = PARSE("Content-Type: a\nX-A: \xff\n\n");
  CHECK(p.err && strstr(zh_error_message(p.err), "not UTF-8 (byte 21)") != NULL);
  done(&p);
  /* ... but the body may hold anything. */
  p = PARSE("Content-Type: a\n\n\xff\xfe");
  CHECK(!p.err && body_is(&p, "\xff\xfe", 2));
  done(&p);
  zh_wagi_response_free(NULL);
}

int main(void) {
  test_argv();
  test_env();
  test_env_edges();
  test_response_basics();
  test_response_status();
  test_response_not_a_response();
  test_response_errors();
  TEST_SUMMARY();
}
