/* `zerohop up` end to end: the CLI ($ZH_BUILD/zerohop) runs apps whose spin.toml files the
 * test writes into a scratch directory (component paths absolute), on 127.0.0.1 with a port
 * it picks (--listen 127.0.0.1:0, the address read from its "Serving http://..." line); it
 * is driven with real sockets (tests/httpclient.h) and stopped by PID with SIGTERM. The
 * components are built by the real toolchains (mk/host.mk, mk/components.mk,
 * mk/example-app.mk). */
#include "httpclient.h"
#include "testlib.h"
#include "testutil.h"

#include "zerohop/http_server.h"

#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/stat.h>

#define START_LIMIT_MS 90000 /* a 13 MB JS component under ASan takes a while */
#define SERVING "Serving http://127.0.0.1:"

static char tmpdir[64];
static char comp_dir[PATH_MAX];  /* absolute build/components */
static char root[PATH_MAX - 64]; /* the repository (the working directory) */

static void write_app(const char *name, const char *text, char *out, size_t cap) {
  zh_test_write_app(tmpdir, name, text, comp_dir, out, cap);
}

/* Sends `req` (a whole request) on a new connection and reads one response (keep 1 MiB). */
static bool send_req(uint16_t port, const char *req, size_t len, zh_hc_response *r) {
  memset(r, 0, sizeof *r);
  zh_hc *c = zh_hc_open(port);
  if (!c)
    return false;
  bool ok = zh_hc_send(c, req, len) && zh_hc_read(c, r, false, 1u << 20);
  zh_hc_close(c);
  return ok;
}

static bool get(uint16_t port, const char *path, zh_hc_response *r) {
  char req[1024];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost:%u\r\n\r\n", path,
                   (unsigned)port);
  return send_req(port, req, (size_t)n, r);
}

static bool body_has(const zh_hc_response *r, const char *want) {
  bool ok = r->body && strstr(r->body, want) != NULL;
  if (!ok)
    fprintf(stderr, "  body lacks `%s`:\n%s\n", want, r->body ? r->body : "(none)");
  return ok;
}

static bool header_is(const zh_hc_response *r, const char *name, const char *want) {
  char v[512];
  return zh_hc_header(r, name, v, sizeof v) && strcmp(v, want) == 0;
}

static bool start_app(zh_test_cli_server *s, const char *name, const char *app_dir,
                      const char *const *extra, const char *const *env) {
  const char *argv[32] = {"up", "-f", app_dir, "--listen", "127.0.0.1:0"};
  size_t n = 5;
  for (size_t i = 0; extra && extra[i] && n < 31; i++)
    argv[n++] = extra[i];
  argv[n] = NULL;
  int st = -1;
  bool ok = zh_test_cli_start(s, tmpdir, name, argv, env, SERVING, START_LIMIT_MS, &st);
  if (!ok) {
    char *e = zh_test_cli_err(s);
    fprintf(stderr, "  %s: zerohop up did not start (exit %d): %s\n", name, st, e);
    free(e);
  }
  return ok;
}

/* ---- routes, Spin's headers, the three handler kinds ---- */

static const char routes_toml[] =
    "spin_manifest_version = 2\n"
    "[application]\nname = \"routes\"\nversion = \"1.2.3\"\n"
    "[[trigger.http]]\nroute = \"/api/...\"\ncomponent = \"wild\"\n"
    "[[trigger.http]]\nroute = \"/api/special\"\ncomponent = \"exact\"\n"
    "[[trigger.http]]\nroute = \"/api/longer/...\"\ncomponent = \"longer\"\n"
    "[[trigger.http]]\nroute = \"/users/:user_id/edit\"\ncomponent = \"capture\"\n"
    "[[trigger.http]]\nroute = { private = true }\ncomponent = \"hidden\"\n"
    "[[trigger.http]]\nroute = \"/static\"\n"
    "static_response = { status_code = 201, headers = { x-static = \"yes\" }, body = \"static "
    "body\" }\n"
    "[[trigger.http]]\nroute = \"/v1/...\"\ncomponent = \"v1\"\n"
    "[[trigger.http]]\nroute = \"/v1core/...\"\ncomponent = \"v1core\"\n"
    "[[trigger.http]]\nroute = \"/wagi/...\"\ncomponent = \"wagi\"\n"
    "executor = { type = \"wagi\" }\n"
    "[[trigger.http]]\nroute = \"/wagicmd/...\"\ncomponent = \"wagicmd\"\n"
    "executor = { type = \"wagi\" }\n"
    "[[trigger.http]]\nroute = \"/trap\"\ncomponent = \"hostile\"\n"
    "[[trigger.http]]\nroute = \"/loop\"\ncomponent = \"hostile\"\n"
    "[[trigger.http]]\nroute = \"/hello\"\ncomponent = \"hello\"\n"
    "[component.wild]\nsource = \"@C@/host/echo_http.wasm\"\n"
    "[component.exact]\nsource = \"@C@/host/echo_http.wasm\"\n"
    "[component.longer]\nsource = \"@C@/host/echo_http.wasm\"\n"
    "[component.capture]\nsource = \"@C@/host/echo_http.wasm\"\n"
    "[component.hidden]\nsource = \"@C@/host/echo_http.wasm\"\n"
    "[component.v1]\nsource = \"@C@/host/spin_v1.wasm\"\n"
    "[component.v1core]\nsource = \"@C@/host/spin_v1-core.wasm\"\n"
    "[component.wagi]\nsource = \"@C@/host/wagi.wasm\"\n"
    "[component.wagicmd]\nsource = \"@C@/host/wagi-cmd.wasm\"\n"
    "[component.hostile]\nsource = \"@C@/c-http-hostile.wasm\"\n"
    "[component.hello]\nsource = \"@C@/c-http-hello.wasm\"\n";

static void check_route(uint16_t port, const char *path, const char *matched, const char *info) {
  zh_hc_response r;
  CHECK(get(port, path, &r));
  CHECK_EQ_INT(r.status, 200);
  char want[256];
  snprintf(want, sizeof want, "spin-matched-route: %s\n", matched);
  CHECK(body_has(&r, want));
  snprintf(want, sizeof want, "spin-path-info: %s\n", info);
  CHECK(body_has(&r, want));
  zh_hc_response_free(&r);
}

static void test_spin_headers(uint16_t port) {
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET /users/42/edit?x=1 HTTP/1.1\r\nHost: localhost:%u\r\nX-Custom: a b\r\n"
                   "Connection: keep-alive\r\n\r\n",
                   (unsigned)port);
  zh_hc_response r;
  CHECK(send_req(port, req, (size_t)n, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_has(&r, "GET /users/42/edit?x=1\n"));
  char want[256];
  snprintf(want, sizeof want, "host: localhost:%u\n", (unsigned)port);
  CHECK(body_has(&r, want));
  CHECK(body_has(&r, "x-custom: a b\n"));
  snprintf(want, sizeof want, "spin-full-url: http://localhost:%u/users/42/edit?x=1\n",
           (unsigned)port);
  CHECK(body_has(&r, want));
  CHECK(body_has(&r, "spin-path-info: \n"));
  CHECK(body_has(&r, "spin-matched-route: /users/:user_id/edit\n"));
  CHECK(body_has(&r, "spin-base-path: /\n"));
  CHECK(body_has(&r, "spin-raw-component-route: /users/:user_id/edit\n"));
  CHECK(body_has(&r, "spin-component-route: /users/:user_id/edit\n"));
  CHECK(body_has(&r, "spin-client-addr: 127.0.0.1:"));
  CHECK(body_has(&r, "spin-path-match-user-id: 42\n"));
  CHECK(r.body && strstr(r.body, "connection:") == NULL);
  /* the response carries the component's headers and framing and date, nothing of ours */
  char v[128];
  CHECK(zh_hc_header(&r, "server", v, sizeof v) == NULL);
  CHECK(zh_hc_header(&r, "date", v, sizeof v) != NULL);
  CHECK(header_is(&r, "content-type", "text/plain"));
  zh_hc_response_free(&r);

  /* A header value that is not UTF-8 fails the request with 500, as in Spin, also for a
   * handler that never reads its headers (the C hello: zerohop builds them only when a
   * guest asks); the host goes on serving. A bad Connection value is removed before the
   * check, as Spin removes it. */
  static const char *const bad_paths[] = {"/users/7/edit", "/hello"};
  for (size_t i = 0; i < 2; i++) {
    n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\nX-Bin: a\xff\xfe\r\n\r\n",
                 bad_paths[i]);
    CHECK(send_req(port, req, (size_t)n, &r));
    CHECK_EQ_INT(r.status, 500);
    zh_hc_response_free(&r);
    n = snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: localhost\r\nX-Ok: fine\r\nConnection: \xff\r\n\r\n",
                 bad_paths[i]);
    CHECK(send_req(port, req, (size_t)n, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK(body_has(&r, i == 0 ? "x-ok: fine\n" : "hello from C"));
    zh_hc_response_free(&r);
  }

  /* a service-chaining Host from outside is refused (issue 10; tests/host/test_chain.c) */
  n = snprintf(req, sizeof req, "GET /api/x HTTP/1.1\r\nHost: hidden.spin.internal\r\n\r\n");
  CHECK(send_req(port, req, (size_t)n, &r));
  CHECK_EQ_INT(r.status, 400);
  zh_hc_response_free(&r);
}

static void test_wagi(uint16_t port, const char *prefix) {
  char req[512];
  int n = snprintf(req, sizeof req,
                   "POST %s/p?a=1&b=2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n"
                   "X-Thing: t\r\n\r\nxyz",
                   prefix);
  zh_hc_response r;
  CHECK(send_req(port, req, (size_t)n, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(header_is(&r, "x-wagi", "yes"));
  char want[256];
  snprintf(want, sizeof want, "argv[0]=%s/p\n", prefix);
  CHECK(body_has(&r, want));
  CHECK(body_has(&r, "argv[1]=a=1\n"));
  CHECK(body_has(&r, "argv[2]=b=2\n"));
  CHECK(body_has(&r, "env REQUEST_METHOD=POST\n"));
  CHECK(body_has(&r, "env QUERY_STRING=a=1&b=2\n"));
  CHECK(body_has(&r, "env HTTP_X_THING=t\n"));
  snprintf(want, sizeof want, "env X_MATCHED_ROUTE=%s/...\n", prefix);
  CHECK(body_has(&r, want));
  CHECK(body_has(&r, "stdin:xyz\n"));
  zh_hc_response_free(&r);

  char path[128];
  snprintf(path, sizeof path, "%s/s?status=418", prefix);
  CHECK(get(port, path, &r));
  CHECK_EQ_INT(r.status, 418);
  zh_hc_response_free(&r);
  snprintf(path, sizeof path, "%s/redirect", prefix);
  CHECK(get(port, path, &r));
  CHECK_EQ_INT(r.status, 302);
  CHECK(header_is(&r, "location", "/elsewhere"));
  zh_hc_response_free(&r);
  snprintf(path, sizeof path, "%s/empty", prefix);
  CHECK(get(port, path, &r));
  CHECK_EQ_INT(r.status, 500);
  zh_hc_response_free(&r);
}

static void test_routes(void) {
  char dir[PATH_MAX];
  write_app("routes", routes_toml, dir, sizeof dir);
  zh_test_cli_server s;
  const char *extra[] = {"--timeout", "2s", NULL};
  if (!start_app(&s, "routes", dir, extra, NULL)) {
    CHECK(false);
    return;
  }
  uint16_t port = s.port;
  /* No component here uses key-value, so nothing opens (and locks) the default store: a
   * second process of the same app, with the same state directory, serves too. */
  zh_test_cli_server twin;
  if (start_app(&twin, "routes-twin", dir, extra, NULL)) {
    zh_hc_response tr;
    CHECK(get(twin.port, "/.well-known/spin/health", &tr));
    CHECK_EQ_INT(tr.status, 200);
    zh_hc_response_free(&tr);
    CHECK_EQ_INT(zh_test_cli_stop(&twin), 0);
  } else {
    CHECK(false);
  }
  /* the listing names routes and components */
  char want[256];
  snprintf(want, sizeof want, "wild: http://127.0.0.1:%u/api/...", (unsigned)port);
  CHECK(strstr(s.out, want) != NULL);
  CHECK(strstr(s.out, "hidden: private") != NULL);

  check_route(port, "/api/special", "/api/special", "");
  check_route(port, "/api/special/more", "/api/...", "/special/more");
  check_route(port, "/api", "/api/...", "");
  check_route(port, "/api/x/y", "/api/...", "/x/y");
  check_route(port, "/api/longer/z", "/api/longer/...", "/z");
  test_spin_headers(port);

  zh_hc_response r;
  static const char *const not_found[] = {"/nothing", "/hidden", "/.well-known/spin/other",
                                          "/users/42"};
  for (size_t i = 0; i < sizeof not_found / sizeof *not_found; i++) {
    CHECK(get(port, not_found[i], &r));
    CHECK_EQ_INT(r.status, 404);
    CHECK_EQ_INT(r.body_total, 0);
    zh_hc_response_free(&r);
  }
  CHECK(get(port, "/.well-known/spin/health", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.body && strcmp(r.body, "OK") == 0);
  zh_hc_response_free(&r);
  CHECK(get(port, "/.well-known/spin/info", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_has(&r, "\"name\": \"routes\""));
  CHECK(body_has(&r, "\"version\": \"1.2.3\""));
  zh_hc_response_free(&r);
  CHECK(get(port, "/static", &r));
  CHECK_EQ_INT(r.status, 201);
  CHECK(header_is(&r, "x-static", "yes"));
  CHECK(r.body && strcmp(r.body, "static body") == 0);
  zh_hc_response_free(&r);

  /* fermyon:spin/inbound-http (older SDKs) */
  static const char v1[] = "POST /v1/a?q=1 HTTP/1.1\r\nHost: h\r\nX-Echo-A: one\r\n"
                           "Content-Length: 4\r\n\r\nbody";
  CHECK(send_req(port, v1, sizeof v1 - 1, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(header_is(&r, "x-uri", "/v1/a?q=1"));
  CHECK(header_is(&r, "x-method", "1"));
  CHECK(header_is(&r, "x-echo-a", "one"));
  CHECK(r.body && strcmp(r.body, "echo:body") == 0);
  zh_hc_response_free(&r);
  /* the same handler as the core module older SDKs shipped (its world in a custom section) */
  static const char v1core[] = "POST /v1core/b HTTP/1.1\r\nHost: h\r\nX-Echo-B: two\r\n"
                               "Content-Length: 2\r\n\r\nhi";
  CHECK(send_req(port, v1core, sizeof v1core - 1, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(header_is(&r, "x-uri", "/v1core/b"));
  CHECK(header_is(&r, "x-echo-b", "two"));
  CHECK(r.body && strcmp(r.body, "echo:hi") == 0);
  zh_hc_response_free(&r);
  static const char trace[] = "TRACE /v1/a HTTP/1.1\r\nHost: h\r\n\r\n";
  CHECK(send_req(port, trace, sizeof trace - 1, &r));
  CHECK_EQ_INT(r.status, 405);
  zh_hc_response_free(&r);

  test_wagi(port, "/wagi");
  test_wagi(port, "/wagicmd");

  /* hostile handlers: 500, and the host keeps serving */
  static const char *const bad[] = {"/trap", "/loop"};
  for (size_t i = 0; i < 2; i++) {
    CHECK(get(port, bad[i], &r));
    CHECK_EQ_INT(r.status, 500);
    zh_hc_response_free(&r);
    check_route(port, "/api/special", "/api/special", "");
  }
  /* a malformed request is 400, an oversized body 413 */
  static const char garbage[] = "NOT A REQUEST\r\n\r\n";
  CHECK(send_req(port, garbage, sizeof garbage - 1, &r));
  CHECK_EQ_INT(r.status, 400);
  zh_hc_response_free(&r);
  size_t big = (17u << 20);
  char *huge = malloc(big + 256);
  if (huge) {
    int n =
        snprintf(huge, 256, "POST /v1/big HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n", big);
    memset(huge + n, 'a', big);
    CHECK(send_req(port, huge, (size_t)n + big, &r));
    CHECK_EQ_INT(r.status, 413);
    zh_hc_response_free(&r);
    free(huge);
  }
  check_route(port, "/api/special", "/api/special", "");

  char *err = zh_test_cli_err(&s);
  /* a component's stderr reaches the host's, each line prefixed by its id */
  CHECK(strstr(err, "[wagi] wagi: handled http://localhost/wagi/p?a=1&b=2\n") != NULL);
  CHECK(strstr(err, "component `hostile` trapped") != NULL);
  CHECK(strstr(err, "cut at the deadline") != NULL);
  free(err);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

/* ---- apps that must not start ---- */

static void check_refused(const char *name, const char *toml, const char *const *extra,
                          const char *const *want) {
  char dir[PATH_MAX];
  write_app(name, toml, dir, sizeof dir);
  const char *argv[16] = {"up", "-f", dir, "--listen", "127.0.0.1:0"};
  size_t n = 5;
  for (size_t i = 0; extra && extra[i]; i++)
    argv[n++] = extra[i];
  argv[n] = NULL;
  zh_test_cli_server s;
  int st = -1;
  CHECK(!zh_test_cli_start(&s, tmpdir, name, argv, NULL, SERVING, START_LIMIT_MS, &st));
  CHECK_EQ_INT(st, 1);
  char *err = zh_test_cli_err(&s);
  for (size_t i = 0; want[i]; i++) {
    bool has = strstr(err, want[i]) != NULL;
    CHECK(has);
    if (!has)
      fprintf(stderr, "  %s: `%s` not in: %s\n", name, want[i], err);
  }
  CHECK(strchr(err, '\n') == err + strlen(err) - 1); /* one line */
  free(err);
}

static void test_refused(void) {
  static const char *const syntax[] = {"spin.toml:3:", NULL};
  check_refused("bad-syntax", "spin_manifest_version = 2\n[application]\nname = \"x\n", NULL,
                syntax);
  static const char *const unknown[] = {"spin.toml:6:1", "soruce", NULL};
  check_refused("unknown-field",
                "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
                "[component.api]\nsource = \"@C@/host/echo_http.wasm\"\nsoruce = \"y\"\n"
                "[[trigger.http]]\nroute = \"/\"\ncomponent = \"api\"\n",
                NULL, unknown);
  static const char *const missing[] = {"component `api`", "nope.wasm", NULL};
  check_refused("missing-file",
                "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
                "[[trigger.http]]\nroute = \"/\"\ncomponent = \"api\"\n"
                "[component.api]\nsource = \"nope.wasm\"\n",
                NULL, missing);
  static const char *const nohandler[] = {"component `api`", "exports no HTTP handler",
                                          "zerohop:test-no-handler/greeter", NULL};
  check_refused("no-handler",
                "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
                "[[trigger.http]]\nroute = \"/\"\ncomponent = \"api\"\n"
                "[component.api]\nsource = \"@C@/host/no_handler.wasm\"\n",
                NULL, nohandler);
  static const char *const required[] = {"token", NULL};
  check_refused("required-variable",
                "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
                "[variables]\ntoken = { required = true }\n"
                "[[trigger.http]]\nroute = \"/\"\ncomponent = \"api\"\n"
                "[component.api]\nsource = \"@C@/host/echo_http.wasm\"\n",
                NULL, required);
  static const char *const v1[] = {"version", NULL};
  check_refused("manifest-v1", "spin_manifest_version = \"1\"\nname = \"x\"\n", NULL, v1);
}

/* ---- source = { url, digest }: the bytes must be the digest's ---- */

static void test_digest(void) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/host/echo_http.wasm", comp_dir);
  uint8_t *bytes = NULL;
  size_t len = 0;
  CHECK(zh_test_read_file(path, &bytes, &len));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  CHECK(bytes && EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32);
  free(bytes);
  char hex[65] = {0};
  for (unsigned i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  char toml[1024], dir[PATH_MAX];
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"d\"\n"
           "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"api\"\n"
           "[component.api]\nsource = { url = \"file://@C@/host/echo_http.wasm\", digest = "
           "\"sha256:%s\" }\n",
           hex);
  write_app("digest-ok", toml, dir, sizeof dir);
  zh_test_cli_server s;
  if (start_app(&s, "digest-ok", dir, NULL, NULL)) {
    zh_hc_response r;
    CHECK(get(s.port, "/x", &r));
    CHECK_EQ_INT(r.status, 200);
    zh_hc_response_free(&r);
    CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  } else {
    CHECK(false);
  }
  hex[0] = hex[0] == '0' ? '1' : '0'; /* one nibble off */
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"d\"\n"
           "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"api\"\n"
           "[component.api]\nsource = { url = \"file://@C@/host/echo_http.wasm\", digest = "
           "\"sha256:%s\" }\n",
           hex);
  static const char *const want[] = {"component `api`", "does not match its digest", NULL};
  check_refused("digest-bad", toml, NULL, want);
}

/* ---- the example app: key-value that survives a restart, variables from each provider ---- */

static void hello_says(const char *name, const char *app, const char *const *extra,
                       const char *const *env, const char *want) {
  zh_test_cli_server s;
  if (!start_app(&s, name, app, extra, env)) {
    CHECK(false);
    return;
  }
  zh_hc_response r;
  CHECK(get(s.port, "/hello/ada", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.body && strcmp(r.body, want) == 0);
  if (r.body && strcmp(r.body, want) != 0)
    fprintf(stderr, "  %s: got `%s`, want `%s`\n", name, r.body, want);
  zh_hc_response_free(&r);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

static void test_example(void) {
  char app[PATH_MAX + 32], state[PATH_MAX];
  snprintf(app, sizeof app, "%s/examples/app", root);
  snprintf(state, sizeof state, "%s/example-state", tmpdir);
  const char *base[] = {"--state-dir", state, NULL};
  hello_says("example-1", app, base, NULL, "Hello, ada! (visit 1)\n");
  hello_says("example-restart", app, base, NULL, "Hello, ada! (visit 2)\n");
  const char *seed[] = {"--state-dir", state, "--key-value", "visits=41", NULL};
  hello_says("example-seeded", app, seed, NULL, "Hello, ada! (visit 42)\n");

  extern char **environ;
  size_t n = 0;
  while (environ[n])
    n++;
  const char **env = calloc(n + 3, sizeof *env);
  if (!env)
    return;
  memcpy(env, environ, n * sizeof *env);
  env[n] = "SPIN_VARIABLE_GREETING=Hi";
  hello_says("example-spin-env", app, base, env, "Hi, ada! (visit 43)\n");
  env[n + 1] = "ZEROHOP_VARIABLE_GREETING=Howdy";
  hello_says("example-zerohop-env", app, base, env, "Howdy, ada! (visit 44)\n");
  const char *cli[] = {"--state-dir", state, "--variable", "greeting=Hey", NULL};
  hello_says("example-cli", app, cli, env, "Hey, ada! (visit 45)\n");
  free(env);

  /* the JS notes service over the same store */
  zh_test_cli_server s;
  if (!start_app(&s, "example-notes", app, base, NULL)) {
    CHECK(false);
    return;
  }
  static const char put[] = "PUT /notes/todo HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n"
                            "buy milk\n";
  zh_hc_response r;
  CHECK(send_req(s.port, put, sizeof put - 1, &r));
  CHECK_EQ_INT(r.status, 201);
  zh_hc_response_free(&r);
  CHECK(get(s.port, "/notes/todo", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.body && strcmp(r.body, "buy milk\n") == 0);
  zh_hc_response_free(&r);
  CHECK(get(s.port, "/notes/", &r));
  CHECK(r.body && strcmp(r.body, "todo\n") == 0);
  zh_hc_response_free(&r);
  CHECK(get(s.port, "/notes/missing", &r));
  CHECK_EQ_INT(r.status, 404);
  zh_hc_response_free(&r);
  CHECK(get(s.port, "/stats", &r)); /* private */
  CHECK_EQ_INT(r.status, 404);
  zh_hc_response_free(&r);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

/* ---- a Spin JS SDK app, served unchanged from its own spin.toml ---- */

static void test_spin_js_app(void) {
  char app[PATH_MAX + 32];
  snprintf(app, sizeof app, "%s/obj/spin-js", comp_dir);
  zh_test_cli_server s;
  if (!start_app(&s, "spin-js", app, NULL, NULL)) {
    CHECK(false);
    return;
  }
  zh_hc_response r;
  CHECK(get(s.port, "/", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.body && strcmp(r.body, "hello from a Spin JS app\n") == 0);
  CHECK(header_is(&r, "x-zerohop-test", "spin-hello"));
  zh_hc_response_free(&r);
  CHECK(get(s.port, "/elsewhere", &r));
  CHECK_EQ_INT(r.status, 404);
  zh_hc_response_free(&r);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

/* ---- outbound HTTP, allowed and denied by allowed_outbound_hosts ---- */

static void upstream_handler(zh_http_request *req, void *env) {
  (void)env;
  const zh_http_header h = {"content-type", 12, "text/plain", 10};
  zh_error *e = zh_http_response_start(req, 200, &h, 1);
  if (!e)
    e = zh_http_response_write(req, "from upstream\n", 14);
  if (!e)
    e = zh_http_response_finish(req, NULL, 0);
  zh_error_free(e);
}

static void test_outbound(void) {
  zh_http_config cfg = {0};
  cfg.addr = "127.0.0.1:0";
  cfg.handler = upstream_handler;
  zh_http_server *up = NULL;
  zh_error *e = zh_http_server_start(&cfg, &up);
  CHECK(e == NULL);
  if (e) {
    zh_error_free(e);
    return;
  }
  const char *addr = zh_http_server_address(up);
  char toml[2048], dir[PATH_MAX];
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"out\"\n"
           "[variables]\nupstream = { default = \"%s\" }\n"
           "[[trigger.http]]\nroute = \"/allowed\"\ncomponent = \"allowed\"\n"
           "[[trigger.http]]\nroute = \"/denied\"\ncomponent = \"denied\"\n"
           "[component.allowed]\nsource = \"@C@/js-outbound.wasm\"\n"
           "allowed_outbound_hosts = [\"http://{{ upstream }}\"]\n"
           "[component.denied]\nsource = \"@C@/js-outbound.wasm\"\n"
           "allowed_outbound_hosts = [\"http://example.invalid:81\"]\n",
           addr);
  write_app("outbound", toml, dir, sizeof dir);
  zh_test_cli_server s;
  if (start_app(&s, "outbound", dir, NULL, NULL)) {
    static const char *const which[] = {"/allowed", "/denied"};
    for (int i = 0; i < 2; i++) {
      char req[512];
      int n =
          snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: h\r\nx-zerohop-outbound-url: http://%s/data\r\n\r\n",
                   which[i], addr);
      zh_hc_response r;
      CHECK(send_req(s.port, req, (size_t)n, &r));
      CHECK_EQ_INT(r.status, i == 0 ? 200 : 502);
      if (i == 0)
        CHECK(r.body && strcmp(r.body, "from upstream\n") == 0);
      zh_hc_response_free(&r);
    }
    char *err = zh_test_cli_err(&s);
    CHECK(strstr(err, "denied") != NULL);
    free(err);
    CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  } else {
    CHECK(false);
  }
  zh_http_server_stop(up, 1000);
  zh_http_server_free(up);
}

/* ---- --log-dir: a component's output in files of its own ---- */

static void test_log_dir(void) {
  char dir[PATH_MAX], logs[PATH_MAX + 8];
  write_app("logdir", routes_toml, dir, sizeof dir);
  snprintf(logs, sizeof logs, "%s/logs", tmpdir);
  mkdir(logs, 0755);
  zh_test_cli_server s;
  const char *extra[] = {"--log-dir", logs, NULL};
  if (!start_app(&s, "logdir", dir, extra, NULL)) {
    CHECK(false);
    return;
  }
  zh_hc_response r;
  uint16_t port = s.port;
  CHECK(get(port, "/wagi/x", &r));
  CHECK_EQ_INT(r.status, 200);
  zh_hc_response_free(&r);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/wagi_stderr.txt", logs);
  uint8_t *data = NULL;
  size_t len = 0;
  CHECK(zh_test_read_file(path, &data, &len));
  char want[128];
  snprintf(want, sizeof want, "wagi: handled http://localhost:%u/wagi/x\n", (unsigned)port);
  CHECK(data && strstr((char *)data, want) != NULL);
  free(data);
  char *err = zh_test_cli_err(&s);
  CHECK(strstr(err, "wagi: handled") == NULL); /* not on the host's stderr then */
  free(err);
}

/* ---- a component's `files`: globs, exclusions, a mapped directory, nothing else ---- */

static bool write_text(const char *dir, const char *name, const char *text) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f)
    return false;
  fputs(text, f);
  return fclose(f) == 0;
}

static void file_says(uint16_t port, const char *path, const char *want) {
  char target[256];
  snprintf(target, sizeof target, "/wagi/x?file=%s", path);
  zh_hc_response r;
  CHECK(get(port, target, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.body && strcmp(r.body, want) == 0);
  if (r.body && strcmp(r.body, want) != 0)
    fprintf(stderr, "  %s: got `%s`, want `%s`\n", path, r.body, want);
  zh_hc_response_free(&r);
}

static void test_files(void) {
  char dir[PATH_MAX], sub[PATH_MAX + 16];
  write_app("files",
            "spin_manifest_version = 2\n[application]\nname = \"f\"\n"
            "[[trigger.http]]\nroute = \"/wagi/...\"\ncomponent = \"wagi\"\n"
            "executor = { type = \"wagi\" }\n"
            "[component.wagi]\nsource = \"@C@/host/wagi.wasm\"\n"
            "files = [\"notes/*.txt\", { source = \"static\", destination = \"/assets\" }]\n"
            "exclude_files = [\"notes/secret.txt\"]\n",
            dir, sizeof dir);
  snprintf(sub, sizeof sub, "%s/notes", dir);
  mkdir(sub, 0755);
  CHECK(write_text(sub, "a.txt", "note a\n"));
  CHECK(write_text(sub, "secret.txt", "secret\n"));
  CHECK(write_text(sub, "b.md", "not a txt\n"));
  snprintf(sub, sizeof sub, "%s/static", dir);
  mkdir(sub, 0755);
  CHECK(write_text(sub, "logo.txt", "logo\n"));
  CHECK(write_text(dir, "outside.txt", "outside\n"));
  zh_test_cli_server s;
  if (!start_app(&s, "files", dir, NULL, NULL)) {
    CHECK(false);
    return;
  }
  file_says(s.port, "/notes/a.txt", "note a\n");
  file_says(s.port, "/assets/logo.txt", "logo\n");
  file_says(s.port, "/notes/secret.txt", "no file /notes/secret.txt\n");
  file_says(s.port, "/notes/b.md", "no file /notes/b.md\n");
  file_says(s.port, "/outside.txt", "no file /outside.txt\n");
  file_says(s.port, "/../outside.txt", "no file /../outside.txt\n");
  file_says(s.port, "/etc/passwd", "no file /etc/passwd\n");
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

/* ---- the Redis trigger and outbound Redis, against a real redis-server ---- */

/* Sends one command (RESP array of bulk strings) and returns the raw reply (malloc'd). */
static char *redis_cmd(uint16_t port, const char *const *args) {
  zh_hc *c = zh_hc_open(port);
  if (!c)
    return NULL;
  char req[1024];
  size_t n = 0, argc = 0;
  while (args[argc])
    argc++;
  n += (size_t)snprintf(req + n, sizeof req - n, "*%zu\r\n", argc);
  for (size_t i = 0; i < argc; i++)
    n += (size_t)snprintf(req + n, sizeof req - n, "$%zu\r\n%s\r\n", strlen(args[i]), args[i]);
  char *out = NULL;
  if (zh_hc_send(c, req, n)) {
    struct timespec nap = {0, 20000000};
    nanosleep(&nap, NULL); /* small replies arrive in one read */
    ssize_t got = zh_hc_fill(c);
    if (got > 0) {
      out = malloc(c->end - c->start + 1);
      if (out) {
        memcpy(out, c->buf + c->start, c->end - c->start);
        out[c->end - c->start] = '\0';
      }
    }
  }
  zh_hc_close(c);
  return out;
}

/* Waits up to limit_ms for the list `key` to hold `want` (the LRANGE reply contains it). */
static bool list_has(uint16_t port, const char *key, const char *want, double limit_ms) {
  double t0 = zh_test_now_ms();
  while (zh_test_now_ms() - t0 < limit_ms) {
    const char *args[] = {"LRANGE", key, "0", "-1", NULL};
    char *reply = redis_cmd(port, args);
    bool has = reply && strstr(reply, want) != NULL;
    free(reply);
    if (has)
      return true;
    struct timespec nap = {0, 50000000};
    nanosleep(&nap, NULL);
  }
  return false;
}

static void publish(uint16_t port, const char *channel, const char *msg) {
  const char *args[] = {"PUBLISH", channel, msg, NULL};
  free(redis_cmd(port, args));
}

static void test_redis(void) {
  zh_test_redis redis = {0};
  if (!zh_test_redis_start(&redis)) {
    CHECK(false);
    return;
  }
  char toml[4096], dir[PATH_MAX];
  unsigned p = redis.port;
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"events\"\n"
           "[application.trigger.redis]\naddress = \"redis://127.0.0.1:%u\"\n"
           "[[trigger.redis]]\nchannel = \"events\"\ncomponent = \"first\"\n"
           "[[trigger.redis]]\nchannel = \"events\"\ncomponent = \"second\"\n"
           "[[trigger.redis]]\nchannel = \"events\"\ncomponent = \"denied\"\n"
           "[component.first]\nsource = \"@C@/redis-c.wasm\"\n"
           "allowed_outbound_hosts = [\"redis://127.0.0.1:%u\"]\n"
           "environment = { REDIS_ADDRESS = \"redis://127.0.0.1:%u\", COMPONENT = \"first\" }\n"
           "[component.second]\nsource = \"@C@/redis-c.wasm\"\n"
           "allowed_outbound_hosts = [\"redis://127.0.0.1:%u\"]\n"
           "environment = { REDIS_ADDRESS = \"redis://127.0.0.1:%u\", COMPONENT = \"second\" }\n"
           "[component.denied]\nsource = \"@C@/redis-c.wasm\"\n"
           "allowed_outbound_hosts = [\"redis://127.0.0.1:1\"]\n"
           "environment = { REDIS_ADDRESS = \"redis://127.0.0.1:%u\", COMPONENT = \"denied\" }\n",
           p, p, p, p, p, p);
  write_app("redis", toml, dir, sizeof dir);
  /* no HTTP route: zerohop up still listens (reserved paths) and prints its address */
  zh_test_cli_server s;
  if (!start_app(&s, "redis", dir, NULL, NULL)) {
    CHECK(false);
    zh_test_redis_stop(&redis);
    return;
  }
  /* the subscribers connect on their own: publish until both components saw a message */
  bool first = false, second = false;
  for (int i = 0; i < 100 && !(first && second); i++) {
    publish(redis.port, "events", "hello");
    first = list_has(redis.port, "got:first", "hello", 100);
    second = first && list_has(redis.port, "got:second", "hello", 100);
  }
  CHECK(first);
  CHECK(second);
  /* outbound Redis outside allowed_outbound_hosts is denied, and logged */
  CHECK(!list_has(redis.port, "got:denied", "hello", 300));

  /* Redis goes away and comes back: the trigger reconnects, nothing crashes */
  zh_test_redis_stop(&redis);
  struct timespec gone = {0, 700000000};
  nanosleep(&gone, NULL);
  CHECK(kill(s.pid, 0) == 0); /* still running */
  CHECK(zh_test_redis_start(&redis));
  bool again = false;
  for (int i = 0; i < 200 && !again; i++) {
    publish(redis.port, "events", "after-restart");
    again = list_has(redis.port, "got:first", "after-restart", 100);
  }
  CHECK(again);
  char *err = zh_test_cli_err(&s);
  CHECK(strstr(err, "component \"denied\"") != NULL);
  CHECK(strstr(err, "not in allowed_outbound_hosts") != NULL);
  CHECK(strstr(err, "reconnected") != NULL);
  free(err);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  zh_test_redis_stop(&redis);
}

/* ---- zerohop build, and up --build ---- */

static void test_build(void) {
  char dir[PATH_MAX];
  write_app("build",
            "spin_manifest_version = 2\n[application]\nname = \"b\"\n"
            "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"api\"\n"
            "[component.api]\nsource = \"@C@/host/echo_http.wasm\"\n"
            "[component.api.build]\ncommand = \"echo built >> out.txt\"\nworkdir = \"sub\"\n"
            "[[trigger.http]]\nroute = \"/broken\"\ncomponent = \"broken\"\n"
            "[component.broken]\nsource = \"@C@/host/echo_http.wasm\"\n",
            dir, sizeof dir);
  char sub[PATH_MAX + 8], out[PATH_MAX + 16];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  mkdir(sub, 0755);
  snprintf(out, sizeof out, "%s/out.txt", sub);
  char cli[PATH_MAX];
  snprintf(cli, sizeof cli, "%s/zerohop", zh_test_build_dir());
  const char *argv[] = {cli, "build", "-f", dir, NULL};
  zh_test_proc p;
  CHECK(zh_test_spawn(argv, NULL, NULL, 0, 60000, &p));
  CHECK(p.exited && p.status == 0);
  CHECK(p.out && strstr(p.out, "Building component api with `echo built >> out.txt`") != NULL);
  zh_test_proc_free(&p);
  uint8_t *data = NULL;
  size_t len = 0;
  CHECK(zh_test_read_file(out, &data, &len) && len == 6 && memcmp(data, "built\n", 6) == 0);
  free(data);

  /* up --build builds, then serves */
  zh_test_cli_server s;
  const char *extra[] = {"--build", NULL};
  if (start_app(&s, "up-build", dir, extra, NULL)) {
    CHECK(zh_test_read_file(out, &data, &len) && len == 12);
    free(data);
    CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  } else {
    CHECK(false);
  }

  /* a failing build command: exit 1, naming the component and the command */
  char dir2[PATH_MAX];
  write_app("build-fails",
            "spin_manifest_version = 2\n[application]\nname = \"b\"\n"
            "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"api\"\n"
            "[component.api]\nsource = \"@C@/host/echo_http.wasm\"\n"
            "[component.api.build]\ncommand = \"exit 3\"\n",
            dir2, sizeof dir2);
  const char *argv2[] = {cli, "build", "-f", dir2, NULL};
  CHECK(zh_test_spawn(argv2, NULL, NULL, 0, 60000, &p));
  CHECK(p.exited && p.status == 1);
  CHECK(p.err && strstr(p.err, "component `api`: build command `exit 3` exited with 3") != NULL);
  zh_test_proc_free(&p);
}

/* ---- SIGTERM under load: every accepted request is answered ---- */

typedef struct loader {
  uint16_t port;
  volatile bool stop;
  int answered, cut, refused;
} loader;

static void *load_main(void *arg) {
  loader *l = arg;
  while (!l->stop) {
    zh_hc *c = zh_hc_open(l->port);
    if (!c) {
      l->refused++;
      struct timespec nap = {0, 5000000};
      nanosleep(&nap, NULL);
      continue;
    }
    zh_hc_response r;
    memset(&r, 0, sizeof r);
    if (zh_hc_send_str(c, "GET /api/x HTTP/1.1\r\nHost: h\r\n\r\n") &&
        zh_hc_read(c, &r, false, 4096)) {
      if (r.status == 200 && r.complete)
        l->answered++;
      else
        l->cut++;
    } else if (!zh_hc_closed(c)) {
      l->cut++;
    } else {
      l->refused++; /* closed before reading the request: never accepted for handling */
    }
    zh_hc_response_free(&r);
    zh_hc_close(c);
  }
  return NULL;
}

static void test_sigterm_under_load(void) {
  char dir[PATH_MAX];
  write_app("drain", routes_toml, dir, sizeof dir);
  zh_test_cli_server s;
  if (!start_app(&s, "drain", dir, NULL, NULL)) {
    CHECK(false);
    return;
  }
  loader l[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    memset(&l[i], 0, sizeof l[i]);
    l[i].port = s.port;
    pthread_create(&th[i], NULL, load_main, &l[i]);
  }
  struct timespec t = {0, 500000000};
  nanosleep(&t, NULL);
  kill(s.pid, SIGTERM);
  int st = zh_test_wait_exit(s.pid, 30000);
  s.pid = 0;
  for (int i = 0; i < 4; i++)
    l[i].stop = true;
  int answered = 0, cut = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    answered += l[i].answered;
    cut += l[i].cut;
  }
  CHECK_EQ_INT(st, 0);
  CHECK(answered > 0);
  CHECK_EQ_INT(cut, 0);
  printf("test_up: SIGTERM under load: %d answered, %d cut\n", answered, cut);
}

int main(void) {
  if (!getcwd(root, sizeof root))
    return 1;
  snprintf(comp_dir, sizeof comp_dir, "%s/build/components", root);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/zh-test-up-XXXXXX");
  if (!mkdtemp(tmpdir))
    return 1;
  signal(SIGPIPE, SIG_IGN);
  test_routes();
  test_refused();
  test_digest();
  test_example();
  test_spin_js_app();
  test_outbound();
  test_log_dir();
  test_files();
  test_build();
  test_redis();
  test_sigterm_under_load();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (zh_test_failed == 0 && system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  TEST_SUMMARY();
}
