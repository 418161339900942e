/* Local service chaining and self requests (issue 10, scope 2) end to end: `zerohop up`
 * ($ZH_BUILD/zerohop) on an app written into a scratch directory, listening on 127.0.0.1
 * with a port it picks, driven over real sockets (tests/httpclient.h) and stopped by PID.
 *
 * chain_caller (tests/host/guests/chain_caller.c) forwards its request to the URL in
 * x-chain-url through wasi:http/outgoing-handler and answers what came back, marked with
 * `x-chain-caller: forwarded`, or 502 "chain error: NAME" for an error-code; echo_http
 * echoes what it was handed, byte for byte; c-http-hostile traps on /trap. The callers
 * differ only in allowed_outbound_hosts. */
#include "httpclient.h"
#include "testlib.h"
#include "testutil.h"

#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>

#define START_LIMIT_MS 90000
#define SERVING "Serving http://127.0.0.1:"
#define MIB (1u << 20)

static char tmpdir[64];
static char comp_dir[PATH_MAX];

static const char app_toml[] =
    "spin_manifest_version = 2\n"
    "[application]\nname = \"chain\"\n"
    "[[trigger.http]]\nroute = \"/caller/...\"\ncomponent = \"caller\"\n"
    "[[trigger.http]]\nroute = \"/wild/...\"\ncomponent = \"wild\"\n"
    "[[trigger.http]]\nroute = \"/nobody/...\"\ncomponent = \"nobody\"\n"
    "[[trigger.http]]\nroute = \"/selfish/...\"\ncomponent = \"selfish\"\n"
    "[[trigger.http]]\nroute = \"/echo/...\"\ncomponent = \"echo\"\n"
    "[[trigger.http]]\nroute = { private = true }\ncomponent = \"secret\"\n"
    "[[trigger.http]]\nroute = { private = true }\ncomponent = \"hostile\"\n"
    "[[trigger.http]]\nroute = { private = true }\ncomponent = \"v1\"\n"
    "[[trigger.http]]\nroute = \"/static\"\n"
    "static_response = { status_code = 203, body = \"static body\" }\n"
    /* names each host it may reach; `self` does not grant chaining */
    "[component.caller]\nsource = \"@C@/host/chain_caller.wasm\"\n"
    "allowed_outbound_hosts = [\"http://echo.spin.internal\", \"http://secret.spin.internal\", "
    "\"http://hostile.spin.internal\", \"http://wild.spin.internal\", \"http://self\"]\n"
    "[component.wild]\nsource = \"@C@/host/chain_caller.wasm\"\n"
    "allowed_outbound_hosts = [\"http://*.spin.internal\"]\n"
    "[component.nobody]\nsource = \"@C@/host/chain_caller.wasm\"\n"
    "[component.selfish]\nsource = \"@C@/host/chain_caller.wasm\"\n"
    "allowed_outbound_hosts = [\"http://self\"]\n"
    "[component.echo]\nsource = \"@C@/host/echo_http.wasm\"\n"
    "[component.secret]\nsource = \"@C@/host/echo_http.wasm\"\n"
    "[component.hostile]\nsource = \"@C@/c-http-hostile.wasm\"\n"
    "[component.v1]\nsource = \"@C@/host/spin_v1.wasm\"\n"
    "[[trigger.http]]\nroute = \"/js/...\"\ncomponent = \"js\"\n"
    "[component.js]\nsource = \"@C@/js-outbound.wasm\"\n"
    "allowed_outbound_hosts = [\"http://*.spin.internal\", \"http://self\"]\n";

static void write_app(const char *text, char *out, size_t cap) {
  zh_test_write_app(tmpdir, "app", text, comp_dir, out, cap);
}

/* Sends a whole request on a new connection and reads one response (keeping `keep` bytes). */
static bool send_req(uint16_t port, const void *req, size_t len, size_t keep, zh_hc_response *r) {
  memset(r, 0, sizeof *r);
  zh_hc *c = zh_hc_open(port);
  if (!c)
    return false;
  bool ok = zh_hc_send(c, req, len) && zh_hc_read(c, r, false, keep);
  zh_hc_close(c);
  return ok;
}

/* GET `path` with the chain URL (and extra header lines, "" for none). */
static bool chain_get(uint16_t port, const char *path, const char *url, const char *extra,
                      zh_hc_response *r) {
  char req[2048];
  int n =
      snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\nx-chain-url: %s\r\n%s\r\n",
               path, url, extra);
  return send_req(port, req, (size_t)n, 1 << 16, r);
}

static bool header_is(const zh_hc_response *r, const char *name, const char *want) {
  char v[512];
  bool ok = zh_hc_header(r, name, v, sizeof v) && strcmp(v, want) == 0;
  if (!ok)
    fprintf(stderr, "  header %s is not `%s`:\n%s\n", name, want, r->head);
  return ok;
}

static bool body_is(const zh_hc_response *r, const char *want) {
  bool ok = r->body && strcmp(r->body, want) == 0;
  if (!ok)
    fprintf(stderr, "  body is not:\n%s\n  but:\n%s\n", want, r->body ? r->body : "(none)");
  return ok;
}

static bool body_has(const zh_hc_response *r, const char *want) {
  bool ok = r->body && strstr(r->body, want) != NULL;
  if (!ok)
    fprintf(stderr, "  body lacks `%s`:\n%s\n", want, r->body ? r->body : "(none)");
  return ok;
}

static bool log_has(const zh_test_cli_server *s, const char *want) {
  char *e = zh_test_cli_err(s);
  bool ok = strstr(e, want) != NULL;
  if (!ok)
    fprintf(stderr, "  the log lacks `%s`:\n%s\n", want, e);
  free(e);
  return ok;
}

/* ---- chaining to a private and to a public component: what the callee sees ---- */

static void test_headers(uint16_t port) {
  zh_hc_response r;
  /* private: no route, reachable only by chaining; Spin's synthetic "/..." route */
  CHECK(chain_get(port, "/caller/x", "http://secret.spin.internal/a/b?c=1", "x-one: 1\r\n", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(header_is(&r, "x-chain-caller", "forwarded"));
  CHECK(header_is(&r, "content-type", "text/plain"));
  CHECK(body_is(&r, "GET /a/b?c=1\n"
                    "host: secret.spin.internal\n"
                    "x-one: 1\n"
                    "spin-path-info: /a/b\n"
                    "spin-full-url: http://secret.spin.internal/a/b?c=1\n"
                    "spin-matched-route: /...\n"
                    "spin-base-path: /\n"
                    "spin-raw-component-route: /...\n"
                    "spin-component-route: \n"
                    "spin-client-addr: 0.0.0.0:0\n"
                    "\n"));
  zh_hc_response_free(&r);

  /* public: its route is bypassed (path-info is the whole path), and a guest's own Host is
   * replaced by the chaining host */
  CHECK(chain_get(port, "/caller/x", "http://echo.spin.internal/echo/deep", "x-host: h\r\n", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, "GET /echo/deep\n"
                    "host: echo.spin.internal\n"
                    "x-host: h\n"
                    "spin-path-info: /echo/deep\n"
                    "spin-full-url: http://echo.spin.internal/echo/deep\n"
                    "spin-matched-route: /...\n"
                    "spin-base-path: /\n"
                    "spin-raw-component-route: /...\n"
                    "spin-component-route: \n"
                    "spin-client-addr: 0.0.0.0:0\n"
                    "\n"));
  zh_hc_response_free(&r);

  /* the callee's status and headers come back as it set them */
  CHECK(chain_get(port, "/caller/x", "http://echo.spin.internal/", "x-status: 418\r\n", &r));
  CHECK_EQ_INT(r.status, 418);
  CHECK(header_is(&r, "x-chain-caller", "forwarded"));
  zh_hc_response_free(&r);

  /* two hops: caller -> wild (another chain_caller) -> secret */
  CHECK(chain_get(port, "/caller/x", "http://wild.spin.internal/",
                  "x-chain-then: http://secret.spin.internal/two\r\n", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_has(&r, "GET /two\nhost: secret.spin.internal\n"));
  zh_hc_response_free(&r);
}

/* ---- the callee's headers when the caller's need the header map's rules ---- */

static const char spin_tail[] = "spin-path-info: /m\n"
                                "spin-full-url: http://secret.spin.internal/m?k=v\n"
                                "spin-matched-route: /...\n"
                                "spin-base-path: /\n"
                                "spin-raw-component-route: /...\n"
                                "spin-component-route: \n"
                                "spin-client-addr: 0.0.0.0:0\n"
                                "\n";

/* chain_get to secret.spin.internal/m?k=v: the body must be the request line, `mid` (the
 * caller's headers as the callee sees them, after Host) and Spin's. */
static void chained_headers_are(uint16_t port, const char *extra, const char *mid) {
  zh_hc_response r;
  char want[2048];
  snprintf(want, sizeof want, "GET /m?k=v\nhost: secret.spin.internal\n%s%s", mid, spin_tail);
  CHECK(chain_get(port, "/caller/x", "http://secret.spin.internal/m?k=v", extra, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, want));
  zh_hc_response_free(&r);
}

static void test_header_map(uint16_t port) {
  /* plain headers keep their order (the list is built without the map) */
  chained_headers_are(port, "x-b: 2\r\nX-A: one two\r\nx-c:\r\n", "x-b: 2\nx-a: one two\nx-c: \n");
  /* a repeated name is grouped at its first place, as http::HeaderMap holds it */
  chained_headers_are(port, "x-dup: 1\r\nx-mid: m\r\nx-dup: 2\r\n",
                      "x-dup: 1\nx-dup: 2\nx-mid: m\n");
  /* UTF-8 beyond ASCII reaches the callee as it is */
  chained_headers_are(port, "x-utf: caf\xc3\xa9\r\n", "x-utf: caf\xc3\xa9\n");
}

/* ---- an older SDK's handler (fermyon:spin/inbound-http), and a chain that never ends ---- */

static void test_v1_and_loop(zh_test_cli_server *s) {
  uint16_t port = s->port;
  char req[512];
  int n = snprintf(req, sizeof req,
                   "POST /wild/x HTTP/1.1\r\nHost: localhost\r\nx-chain-url: "
                   "http://v1.spin.internal/v/a?q=1\r\nx-echo-a: one\r\nContent-Length: 4\r\n\r\n"
                   "data");
  zh_hc_response r;
  CHECK(send_req(port, req, (size_t)n, 4096, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(header_is(&r, "x-uri", "/v/a?q=1"));
  CHECK(header_is(&r, "x-echo-a", "one"));
  CHECK(header_is(&r, "x-chain-caller", "forwarded"));
  CHECK(body_is(&r, "echo:data"));
  zh_hc_response_free(&r);

  /* wild -> wild -> ... : cut at the 8th level with 508, which every level forwards */
  CHECK(chain_get(port, "/wild/x", "http://wild.spin.internal/", "x-chain-loop: 1\r\n", &r));
  CHECK_EQ_INT(r.status, 508);
  CHECK(header_is(&r, "x-chain-caller", "forwarded"));
  zh_hc_response_free(&r);
  CHECK(log_has(s, "chained requests nested more than 8 deep"));
}

/* ---- a JavaScript caller: componentize-js's fetch ---- */

static void test_js(uint16_t port) {
  const char req[] = "GET /js/x HTTP/1.1\r\nHost: localhost\r\n"
                     "x-zerohop-outbound-url: http://secret.spin.internal/from-js?x=1\r\n\r\n";
  zh_hc_response r;
  CHECK(send_req(port, req, sizeof req - 1, 4096, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(header_is(&r, "x-upstream-status", "200"));
  CHECK(body_has(&r, "GET /from-js?x=1\nhost: secret.spin.internal\n"));
  CHECK(body_has(&r, "spin-client-addr: 0.0.0.0:0\n"));
  zh_hc_response_free(&r);
  /* fetch cannot send a relative URL: self.alt is the JS way to a self request */
  const char self[] = "GET /js/x HTTP/1.1\r\nHost: localhost\r\n"
                      "x-zerohop-outbound-url: http://self.alt/static\r\n\r\n";
  CHECK(send_req(port, self, sizeof self - 1, 4096, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(header_is(&r, "x-upstream-status", "203"));
  CHECK(body_is(&r, "static body"));
  zh_hc_response_free(&r);
}

/* ---- permissions ---- */

static void test_permissions(zh_test_cli_server *s) {
  uint16_t port = s->port;
  zh_hc_response r;
  /* a host the caller did not declare: the denial any undeclared host gets */
  CHECK(chain_get(port, "/wild/x", "http://example.com/", "", &r));
  CHECK_EQ_INT(r.status, 502);
  CHECK(body_is(&r, "chain error: HTTP-request-denied\n"));
  zh_hc_response_free(&r);
  CHECK(chain_get(port, "/nobody/x", "http://echo.spin.internal/", "", &r));
  CHECK_EQ_INT(r.status, 502);
  CHECK(body_is(&r, "chain error: HTTP-request-denied\n"));
  zh_hc_response_free(&r);
  CHECK(log_has(s, "outbound HTTP GET http://echo.spin.internal/ denied: origin not allowed"));
  /* `self` allows self requests, not chaining */
  CHECK(chain_get(port, "/selfish/x", "http://echo.spin.internal/", "", &r));
  CHECK_EQ_INT(r.status, 502);
  CHECK(body_is(&r, "chain error: HTTP-request-denied\n"));
  zh_hc_response_free(&r);
  /* the port is part of the host: http://secret.spin.internal allows port 80 only */
  CHECK(chain_get(port, "/caller/x", "http://secret.spin.internal:8080/", "", &r));
  CHECK_EQ_INT(r.status, 502);
  CHECK(body_is(&r, "chain error: HTTP-request-denied\n"));
  zh_hc_response_free(&r);

  /* an http entry with the host *.spin.internal allows every component, private ones too */
  CHECK(chain_get(port, "/wild/x", "http://secret.spin.internal/w", "", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_has(&r, "GET /w\nhost: secret.spin.internal\n"));
  zh_hc_response_free(&r);
  CHECK(chain_get(port, "/wild/x", "http://echo.spin.internal/w", "", &r));
  CHECK_EQ_INT(r.status, 200);
  zh_hc_response_free(&r);
  /* ... but no self requests */
  CHECK(chain_get(port, "/wild/x", "/echo/w", "", &r));
  CHECK_EQ_INT(r.status, 502);
  CHECK(body_is(&r, "chain error: HTTP-request-denied\n"));
  zh_hc_response_free(&r);

  /* an allowed but unknown component id: Spin's handler fails, so the caller traps (500,
   * not forwarded) and the log names the id */
  CHECK(chain_get(port, "/wild/x", "http://nope.spin.internal/", "", &r));
  CHECK_EQ_INT(r.status, 500);
  char v[64];
  CHECK(zh_hc_header(&r, "x-chain-caller", v, sizeof v) == NULL);
  zh_hc_response_free(&r);
  CHECK(log_has(s, "unknown component ID \"nope\""));
}

/* ---- a spoofed service-chaining Host from outside ---- */

static void test_spoofed(zh_test_cli_server *s) {
  static const char *const hosts[] = {"echo.spin.internal", "secret.spin.internal:3000",
                                      "ECHO.Spin.Internal", "echo.spin.internal.",
                                      "a.b.spin.internal"};
  zh_hc_response r;
  for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
    char req[256];
    int n = snprintf(req, sizeof req, "GET /echo/x HTTP/1.1\r\nHost: %s\r\n\r\n", hosts[i]);
    CHECK(send_req(s->port, req, (size_t)n, 4096, &r));
    CHECK_EQ_INT(r.status, 400);
    CHECK_EQ_INT(r.body_total, 0);
    zh_hc_response_free(&r);
  }
  CHECK(log_has(s, "GET /echo/x: refused (400): Host echo.spin.internal is under .spin.internal"));
  /* the domain itself, and names that only contain it, are served */
  static const char *const fine[] = {"spin.internal", "echo.spin.internal.example.com"};
  for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
    char req[256];
    int n = snprintf(req, sizeof req, "GET /echo/x HTTP/1.1\r\nHost: %s\r\n\r\n", fine[i]);
    CHECK(send_req(s->port, req, (size_t)n, 4096, &r));
    CHECK_EQ_INT(r.status, 200);
    zh_hc_response_free(&r);
  }
}

/* ---- a callee that traps ---- */

static void test_trap(zh_test_cli_server *s) {
  zh_hc_response r;
  CHECK(chain_get(s->port, "/caller/x", "http://hostile.spin.internal/trap", "", &r));
  CHECK_EQ_INT(r.status, 500); /* the callee's 500, forwarded: the caller did not trap */
  CHECK(header_is(&r, "x-chain-caller", "forwarded"));
  zh_hc_response_free(&r);
  CHECK(log_has(s, "chained from `caller` to `hostile`: trapped"));
  /* and both still serve */
  CHECK(chain_get(s->port, "/caller/x", "http://hostile.spin.internal/ok", "", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, "still serving\n"));
  zh_hc_response_free(&r);
}

/* ---- self requests: through the app's router ---- */

static void test_self(uint16_t port) {
  zh_hc_response r;
  CHECK(chain_get(port, "/selfish/x", "/echo/s?q=1", "", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, "GET /echo/s?q=1\n"
                    "spin-path-info: /s\n"
                    "spin-full-url: http://localhost/echo/s?q=1\n"
                    "spin-matched-route: /echo/...\n"
                    "spin-base-path: /\n"
                    "spin-raw-component-route: /echo/...\n"
                    "spin-component-route: /echo\n"
                    "spin-client-addr: 0.0.0.0:0\n"
                    "\n"));
  zh_hc_response_free(&r);
  CHECK(chain_get(port, "/selfish/x", "http://self.alt/echo/t", "", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_has(&r, "GET /echo/t\nhost: self.alt\nspin-path-info: /t\n"));
  zh_hc_response_free(&r);
  /* static responses, unrouted paths (private components are not routed), reserved paths */
  CHECK(chain_get(port, "/selfish/x", "/static", "", &r));
  CHECK_EQ_INT(r.status, 203);
  CHECK(body_is(&r, "static body"));
  zh_hc_response_free(&r);
  CHECK(chain_get(port, "/selfish/x", "/nowhere", "", &r));
  CHECK_EQ_INT(r.status, 404);
  CHECK(header_is(&r, "x-chain-caller", "forwarded"));
  zh_hc_response_free(&r);
  CHECK(chain_get(port, "/selfish/x", "/.well-known/spin/health", "", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, "OK"));
  zh_hc_response_free(&r);
  /* without `self`, denied */
  CHECK(chain_get(port, "/nobody/x", "/echo/s", "", &r));
  CHECK_EQ_INT(r.status, 502);
  CHECK(body_is(&r, "chain error: HTTP-request-denied\n"));
  zh_hc_response_free(&r);
}

/* ---- bodies of 1 MiB both ways, and the size limit ---- */

static void test_bodies(uint16_t port) {
  const char head[] = "POST /caller/x HTTP/1.1\r\nHost: localhost\r\n"
                      "x-chain-url: http://secret.spin.internal/up\r\n"
                      "Content-Length: 1048576\r\n\r\n";
  size_t hl = sizeof head - 1;
  char *req = malloc(hl + MIB);
  if (!req)
    return;
  memcpy(req, head, hl);
  zh_hc_pattern(0, (unsigned char *)req + hl, MIB);
  zh_hc_response r;
  CHECK(send_req(port, req, hl + MIB, 2 * MIB, &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.complete);
  /* the echo: its text head, then the body as sent, whole */
  const char *sep = r.body ? strstr(r.body, "\n\n") : NULL;
  CHECK(sep != NULL);
  if (sep) {
    size_t at = (size_t)(sep + 2 - r.body);
    CHECK_EQ_INT(r.body_len - at, MIB);
    CHECK(r.body_len - at == MIB && memcmp(r.body + at, req + hl, MIB) == 0);
    CHECK(strncmp(r.body, "POST /up\nhost: secret.spin.internal\n", 36) == 0);
  }
  zh_hc_response_free(&r);
  free(req);

  /* a request body over the inbound limit (16 MiB) answers 413 without running the callee */
  char big[256];
  int n = snprintf(big, sizeof big,
                   "GET /caller/x HTTP/1.1\r\nHost: localhost\r\n"
                   "x-chain-url: http://secret.spin.internal/big\r\nx-chain-gen: %u\r\n\r\n",
                   16 * MIB + 1);
  CHECK(send_req(port, big, (size_t)n, 4096, &r));
  CHECK_EQ_INT(r.status, 413);
  CHECK(header_is(&r, "x-chain-caller", "forwarded"));
  zh_hc_response_free(&r);
}

/* ---- every HTTP worker chaining at once ---- */

#define LOAD_THREADS 24
#define LOAD_EACH 15

typedef struct load_arg {
  uint16_t port;
  int ok;
} load_arg;

static void *load_main(void *p) {
  load_arg *a = p;
  for (int i = 0; i < LOAD_EACH; i++) {
    zh_hc_response r;
    /* two nested chained calls per request: caller -> wild -> secret */
    if (chain_get(a->port, "/caller/x", "http://wild.spin.internal/",
                  "x-chain-then: http://secret.spin.internal/load\r\n", &r) &&
        r.status == 200 && r.body && strstr(r.body, "GET /load\n"))
      a->ok++;
    zh_hc_response_free(&r);
  }
  return NULL;
}

static void test_load(uint16_t port) {
  pthread_t t[LOAD_THREADS];
  load_arg a[LOAD_THREADS];
  double t0 = zh_test_now_ms();
  for (int i = 0; i < LOAD_THREADS; i++) {
    a[i] = (load_arg){port, 0};
    pthread_create(&t[i], NULL, load_main, &a[i]);
  }
  int ok = 0;
  for (int i = 0; i < LOAD_THREADS; i++) {
    pthread_join(t[i], NULL);
    ok += a[i].ok;
  }
  printf("test_chain: %d of %d doubly chained requests from %d clients in %.0f ms\n", ok,
         LOAD_THREADS * LOAD_EACH, LOAD_THREADS, zh_test_now_ms() - t0);
  CHECK_EQ_INT(ok, LOAD_THREADS * LOAD_EACH);
}

/* ---- the callee's deadline is what is left of the caller's ---- */

static void test_deadline(const char *app) {
  const char *argv[] = {"up", "-f", app, "--listen", "127.0.0.1:0", "--timeout", "2s", NULL};
  zh_test_cli_server s;
  if (!zh_test_cli_start(&s, tmpdir, "deadline", argv, NULL, SERVING, START_LIMIT_MS, NULL)) {
    CHECK(false);
    return;
  }
  /* The caller waits 1.5 s for its request body, then chains to hostile /loop, which never
   * answers. With the caller's remaining half second the callee is cut about 2 s after the
   * request; with 2 s of its own it would run to about 3.5 s. */
  const char head[] = "POST /caller/x HTTP/1.1\r\nHost: localhost\r\n"
                      "x-chain-url: http://hostile.spin.internal/loop\r\nContent-Length: 4\r\n\r\n";
  zh_hc_response r;
  memset(&r, 0, sizeof r);
  double t0 = zh_test_now_ms();
  zh_hc *c = zh_hc_open(s.port);
  CHECK(c && zh_hc_send(c, head, sizeof head - 1));
  usleep(1500 * 1000);
  CHECK(c && zh_hc_send(c, "data", 4) && zh_hc_read(c, &r, false, 4096));
  double ms = zh_test_now_ms() - t0;
  zh_hc_close(c);
  CHECK_EQ_INT(r.status, 500);
  if (ms < 1900 || ms >= 3000)
    fprintf(stderr, "  the chained call ended after %.0f ms\n", ms);
  CHECK(ms >= 1900 && ms < 3000);
  zh_hc_response_free(&r);
  CHECK(log_has(&s, "chained from `caller` to `hostile`: cut at the deadline"));
  CHECK(chain_get(s.port, "/caller/x", "http://echo.spin.internal/after", "", &r));
  CHECK_EQ_INT(r.status, 200);
  zh_hc_response_free(&r);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

int main(void) {
  char root[PATH_MAX - 64];
  if (!getcwd(root, sizeof root))
    return 1;
  snprintf(comp_dir, sizeof comp_dir, "%s/build/components", root);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/zh-test-chain-XXXXXX");
  if (!mkdtemp(tmpdir))
    return 1;
  signal(SIGPIPE, SIG_IGN);
  char app[PATH_MAX];
  write_app(app_toml, app, sizeof app);
  const char *argv[] = {"up", "-f", app, "--listen", "127.0.0.1:0", NULL};
  zh_test_cli_server s;
  int st = -1;
  if (!zh_test_cli_start(&s, tmpdir, "chain", argv, NULL, SERVING, START_LIMIT_MS, &st)) {
    char *e = zh_test_cli_err(&s);
    fprintf(stderr, "zerohop up did not start (exit %d): %s\n%s\n", st, s.out, e);
    free(e);
    CHECK(false);
    TEST_SUMMARY();
  }
  test_headers(s.port);
  test_header_map(s.port);
  test_v1_and_loop(&s);
  test_js(s.port);
  test_permissions(&s);
  test_spoofed(&s);
  test_trap(&s);
  test_self(s.port);
  test_bodies(s.port);
  test_load(s.port);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  test_deadline(app);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (zh_test_failed == 0 && system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  TEST_SUMMARY();
}
