/* Component dependencies ([component.X.dependencies], src/host/app_deps.c) end to end: apps
 * whose spin.toml the test writes run under `zerohop up` ($ZH_BUILD/zerohop, a port it picks,
 * stopped by PID), driven with real sockets. The components are C guests built by Debian's
 * clang with `zerohop bindgen` bindings and wrapped by `jco new` (mk/deps.mk):
 * deps_caller (an HTTP handler importing zerohop:deps/text), deps_callee (exporting it,
 * reaching key-value and outbound HTTP), deps_relay (exporting it by calling a dependency of
 * its own), deps_wrong (exporting a mismatched one), deps_hostile (breaking the canonical
 * ABI in its results; deps_hostile_latin1 the same, lifting strings as latin1+utf16) and deps_js
 * (deps_callee's interface in JavaScript, by componentize-js). One part loads the app in-process
 * instead, to count the dependency instances a request makes. */
#include "httpclient.h"
#include "testlib.h"
#include "testutil.h"

#include "host/app_internal.h"
#include "zerohop/http_server.h"

#include <limits.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#define START_LIMIT_MS 90000 /* a 12 MB JS component under ASan takes a while */
#define SERVING "Serving http://127.0.0.1:"

static char tmpdir[64];
static char comp_dir[PATH_MAX]; /* absolute build/components/host */

static void write_app(const char *name, const char *text, char *out, size_t cap) {
  zh_test_write_app(tmpdir, name, text, comp_dir, out, cap);
}

/* POSTs `body` to `path` on a new connection and reads the response (keeps 1 MiB). */
static bool post(uint16_t port, const char *path, const void *body, size_t len, zh_hc_response *r) {
  memset(r, 0, sizeof *r);
  char head[512];
  int n = snprintf(head, sizeof head,
                   "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   path, len);
  zh_hc *c = zh_hc_open(port);
  if (!c)
    return false;
  bool ok = zh_hc_send(c, head, (size_t)n) && (len == 0 || zh_hc_send(c, body, len)) &&
            zh_hc_read(c, r, false, 1u << 20);
  zh_hc_close(c);
  return ok;
}

/* The response to POST path with a text body is 200 and exactly `want`. */
static void says(uint16_t port, const char *path, const char *body, const char *want) {
  zh_hc_response r;
  CHECK(post(port, path, body, strlen(body), &r));
  CHECK_EQ_INT(r.status, 200);
  bool same = r.body && r.body_len == strlen(want) && memcmp(r.body, want, r.body_len) == 0;
  if (!same)
    fprintf(stderr, "  %s: want `%s`, got `%s`\n", path, want, r.body ? r.body : "(none)");
  CHECK(same);
  zh_hc_response_free(&r);
}

static bool start_app(zh_test_cli_server *s, const char *name, const char *dir) {
  const char *argv[] = {"up", "-f", dir, "--listen", "127.0.0.1:0", NULL};
  int st = -1;
  bool ok = zh_test_cli_start(s, tmpdir, name, argv, NULL, SERVING, START_LIMIT_MS, &st);
  if (!ok) {
    char *e = zh_test_cli_err(s);
    fprintf(stderr, "  %s: zerohop up did not start (exit %d): %s\n", name, st, e);
    free(e);
  }
  return ok;
}

/* ---- a loopback HTTP server the dependency tries to reach ---- */

static int upstream_hits;

static void upstream_handler(zh_http_request *req, void *env) {
  (void)env;
  __atomic_fetch_add(&upstream_hits, 1, __ATOMIC_RELAXED);
  zh_error *e = zh_http_response_start(req, 200, NULL, 0);
  if (!e)
    e = zh_http_response_finish(req, NULL, 0);
  zh_error_free(e);
}

static zh_http_server *upstream_start(void) {
  zh_http_config cfg = {0};
  cfg.addr = "127.0.0.1:0";
  cfg.handler = upstream_handler;
  zh_http_server *up = NULL;
  zh_error *e = zh_http_server_start(&cfg, &up);
  CHECK(e == NULL);
  zh_error_free(e);
  return up;
}

static void upstream_stop(zh_http_server *up) {
  if (!up)
    return;
  zh_http_server_stop(up, 1000);
  zh_http_server_free(up);
}

/* ---- linking, values both ways, deny-all, a trap ---- */

static const char app_toml[] = "spin_manifest_version = 2\n"
                               "[application]\nname = \"deps\"\n"
                               "[[trigger.http]]\nroute = \"/x/...\"\ncomponent = \"x\"\n"
                               "[component.x]\nsource = \"@C@/deps_caller.wasm\"\n"
                               "key_value_stores = [\"default\"]\n"
                               "allowed_outbound_hosts = [\"http://%s\"]\n"
                               "%s"
                               "[component.x.dependencies]\n"
                               "\"zerohop:deps/text@1.0.0\" = { component = \"y\" }\n"
                               "[component.y]\nsource = \"@C@/deps_callee.wasm\"\n";

static void test_values(uint16_t port) {
  says(port, "/x/shout", "hello w\xc3\xb6rld", "HELLO W\xc3\xb6RLD!");
  says(port, "/x/shout", "", "!");
  /* a large string: copied whole into the dependency and back */
  size_t big = 300000;
  char *in = malloc(big + 1), *want = malloc(big + 2);
  for (size_t i = 0; i < big; i++) {
    in[i] = (char)('a' + i % 26);
    want[i] = (char)('A' + i % 26);
  }
  in[big] = '\0';
  want[big] = '!';
  want[big + 1] = '\0';
  says(port, "/x/shout", in, want);
  free(in);
  free(want);
  /* bytes, zeros and all, reversed */
  uint8_t bytes[512];
  for (size_t i = 0; i < sizeof bytes; i++)
    bytes[i] = (uint8_t)(i * 7);
  zh_hc_response r;
  CHECK(post(port, "/x/reverse", bytes, sizeof bytes, &r));
  CHECK_EQ_INT(r.status, 200);
  bool reversed = r.body_len == sizeof bytes;
  for (size_t i = 0; reversed && i < sizeof bytes; i++)
    reversed = (uint8_t)r.body[i] == bytes[sizeof bytes - 1 - i];
  CHECK(reversed);
  zh_hc_response_free(&r);
  /* every byte value, 4 KiB across: byte-exact both ways */
  uint8_t all[4096];
  for (size_t i = 0; i < sizeof all; i++)
    all[i] = (uint8_t)(i ^ (i >> 8));
  CHECK(post(port, "/x/reverse", all, sizeof all, &r));
  CHECK_EQ_INT(r.status, 200);
  reversed = r.body_len == sizeof all;
  for (size_t i = 0; reversed && i < sizeof all; i++)
    reversed = (uint8_t)r.body[i] == all[sizeof all - 1 - i];
  CHECK(reversed);
  zh_hc_response_free(&r);
  /* records with strings and lists of strings, both ways */
  says(port, "/x/merge", "left", "left+b 42 x,y,z");
  says(port, "/x/merge", "\xc3\xa9t\xc3\xa9 \xf0\x9f\x8d\x8a",
       "\xc3\xa9t\xc3\xa9 \xf0\x9f\x8d\x8a+b 42 x,y,z");
  says(port, "/x/none", "", "none");
  /* the benchmark's loop: echo three times, one duration per line */
  CHECK(post(port, "/x/loop?n=3", "0123456789", 10, &r));
  CHECK_EQ_INT(r.status, 200);
  size_t lines = 0;
  for (size_t i = 0; r.body && i < r.body_len; i++)
    lines += r.body[i] == '\n';
  CHECK_EQ_INT((int)lines, 3);
  CHECK(r.body && strspn(r.body, "0123456789\n") == r.body_len);
  zh_hc_response_free(&r);
}

static void test_linked(void) {
  zh_http_server *up = upstream_start();
  if (!up)
    return;
  const char *addr = zh_http_server_address(up);
  char toml[4096], dir[PATH_MAX];
  snprintf(toml, sizeof toml, app_toml, addr, "");
  write_app("linked", toml, dir, sizeof dir);
  zh_test_cli_server s;
  if (!start_app(&s, "linked", dir)) {
    CHECK(false);
    upstream_stop(up);
    return;
  }
  test_values(s.port);
  /* per request: a fresh instance each time, reused within the request */
  says(s.port, "/x/count", "", "1,2");
  says(s.port, "/x/count", "", "1,2");
  /* deny-all: x may use `default` and reach the upstream, y may not */
  says(s.port, "/x/kv", "default", "access-denied");
  char fetched[64];
  snprintf(fetched, sizeof fetched, "error %d", 15); /* wasi:http error-code HTTP-request-denied */
  says(s.port, "/x/fetch", addr, fetched);
  CHECK_EQ_INT(__atomic_load_n(&upstream_hits, __ATOMIC_RELAXED), 0);
  /* a trap in y: 500, and the host serves on */
  zh_hc_response r;
  CHECK(post(s.port, "/x/boom", "", 0, &r));
  CHECK_EQ_INT(r.status, 500);
  zh_hc_response_free(&r);
  says(s.port, "/x/count", "", "1,2");
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  char *err = zh_test_cli_err(&s);
  CHECK(strstr(err, "component `x`: dependency `zerohop:deps/text@1.0.0` linked in-process") !=
        NULL);
  CHECK(strstr(err, "component `x` calling dependency `y`: zerohop:deps/text@1.0.0#boom: in the "
                    "callee: unreachable") != NULL);
  CHECK(strstr(err, "denied") != NULL);
  free(err);
  upstream_stop(up);
}

/* ---- dependencies_inherit_configuration = true: exactly x's capabilities ---- */

static void test_inherit(void) {
  zh_http_server *up = upstream_start();
  if (!up)
    return;
  const char *addr = zh_http_server_address(up);
  char toml[4096], dir[PATH_MAX];
  snprintf(toml, sizeof toml, app_toml, addr, "dependencies_inherit_configuration = true\n");
  write_app("inherit", toml, dir, sizeof dir);
  zh_test_cli_server s;
  if (!start_app(&s, "inherit", dir)) {
    CHECK(false);
    upstream_stop(up);
    return;
  }
  int before = __atomic_load_n(&upstream_hits, __ATOMIC_RELAXED);
  says(s.port, "/x/kv", "default", "ok");
  says(s.port, "/x/kv", "other", "access-denied"); /* x was not given `other` either */
  says(s.port, "/x/fetch", addr, "status 200");
  CHECK_EQ_INT(__atomic_load_n(&upstream_hits, __ATOMIC_RELAXED), before + 1);
  says(s.port, "/x/fetch", "127.0.0.1:1", "error 15"); /* not in x's allowed hosts */
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  upstream_stop(up);
}

/* ---- path and url dependencies, a package-wide key, `export` ---- */

static void sha256_hex(const char *path, char *out) {
  uint8_t *data = NULL;
  size_t len = 0;
  unsigned char md[32];
  unsigned int mdlen = 0;
  out[0] = '\0';
  if (!zh_test_read_file(path, &data, &len))
    return;
  EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
  for (unsigned i = 0; i < mdlen; i++)
    snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
  free(data);
}

static void test_files(void) {
  static const char *const deps[] = {
      "\"zerohop:deps\" = { path = \"@C@/deps_callee.wasm\" }\n",
      "\"zerohop:deps/text@1.0.0\" = { path = \"@C@/deps_callee.wasm\", "
      "export = \"zerohop:deps/text@1.0.0\" }\n",
      "\"zerohop:deps/text\" = { url = \"file://@C@/deps_callee.wasm\", digest = "
      "\"sha256:%s\" }\n",
  };
  char path[PATH_MAX + 32], hex[65];
  snprintf(path, sizeof path, "%s/deps_callee.wasm", comp_dir);
  sha256_hex(path, hex);
  for (size_t i = 0; i < sizeof deps / sizeof *deps; i++) {
    char dep[512], toml[4096], dir[PATH_MAX], name[32];
    snprintf(dep, sizeof dep, deps[i], hex);
    snprintf(toml, sizeof toml,
             "spin_manifest_version = 2\n[application]\nname = \"files\"\n"
             "[[trigger.http]]\nroute = \"/x/...\"\ncomponent = \"x\"\n"
             "[component.x]\nsource = \"@C@/deps_caller.wasm\"\n"
             "[component.x.dependencies]\n%s",
             dep);
    snprintf(name, sizeof name, "files%zu", i);
    write_app(name, toml, dir, sizeof dir);
    zh_test_cli_server s;
    if (!start_app(&s, name, dir)) {
      CHECK(false);
      continue;
    }
    says(s.port, "/x/shout", "abc", "ABC!");
    says(s.port, "/x/merge", "m", "m+b 42 x,y,z");
    says(s.port, "/x/kv", "default", "access-denied");
    CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  }
}

/* ---- a dependency with a dependency: x -> r (deps_relay) -> y, with `export` naming y's
 * interface by its short name ---- */

static void test_nested(void) {
  char toml[4096], dir[PATH_MAX];
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"nested\"\n"
           "[[trigger.http]]\nroute = \"/x/...\"\ncomponent = \"x\"\n"
           "[component.x]\nsource = \"@C@/deps_caller.wasm\"\n"
           "key_value_stores = [\"default\"]\n"
           "dependencies_inherit_configuration = true\n"
           "[component.x.dependencies]\n"
           "\"zerohop:deps/text@1.0.0\" = { component = \"r\" }\n"
           "[component.r]\nsource = \"@C@/deps_relay.wasm\"\n"
           "[component.r.dependencies]\n"
           "\"zerohop:deps/inner@1.0.0\" = { component = \"y\", export = \"text\" }\n"
           "[component.y]\nsource = \"@C@/deps_callee.wasm\"\n");
  write_app("nested", toml, dir, sizeof dir);
  zh_test_cli_server s;
  if (!start_app(&s, "nested", dir)) {
    CHECK(false);
    return;
  }
  says(s.port, "/x/shout", "deep", "relay DEEP!");
  says(s.port, "/x/merge", "m", "m+b 42 x,y,z");
  /* both levels fresh per request: y counts 1, 2 and r 100, 200 */
  says(s.port, "/x/count", "", "101,202");
  says(s.port, "/x/count", "", "101,202");
  /* r got x's configuration, but r does not let its own dependency inherit it */
  says(s.port, "/x/kv", "default", "access-denied");
  zh_hc_response r;
  CHECK(post(s.port, "/x/boom", "", 0, &r));
  CHECK_EQ_INT(r.status, 500);
  zh_hc_response_free(&r);
  says(s.port, "/x/shout", "on", "relay ON!");
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  char *err = zh_test_cli_err(&s);
  CHECK(strstr(err, "component `r` calling dependency `y`: zerohop:deps/text@1.0.0#boom: in the "
                    "callee: unreachable") != NULL);
  free(err);
}

/* ---- a componentize-js dependency of the C caller ---- */

static void test_js(void) {
  char toml[4096], dir[PATH_MAX];
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"js\"\n"
           "[[trigger.http]]\nroute = \"/x/...\"\ncomponent = \"x\"\n"
           "[component.x]\nsource = \"@C@/deps_caller.wasm\"\n"
           "[component.x.dependencies]\n"
           "\"zerohop:deps\" = { path = \"@C@/deps_js.wasm\" }\n");
  write_app("js", toml, dir, sizeof dir);
  zh_test_cli_server s;
  if (!start_app(&s, "js", dir)) {
    CHECK(false);
    return;
  }
  says(s.port, "/x/shout", "hello w\xc3\xb6rld", "HELLO W\xc3\xb6RLD!");
  uint8_t bytes[300];
  for (size_t i = 0; i < sizeof bytes; i++)
    bytes[i] = (uint8_t)(i * 13);
  zh_hc_response r;
  CHECK(post(s.port, "/x/reverse", bytes, sizeof bytes, &r));
  bool reversed = r.status == 200 && r.body_len == sizeof bytes;
  for (size_t i = 0; reversed && i < sizeof bytes; i++)
    reversed = (uint8_t)r.body[i] == bytes[sizeof bytes - 1 - i];
  CHECK(reversed);
  zh_hc_response_free(&r);
  says(s.port, "/x/merge", "js", "js+b 42 x,y,z");
  says(s.port, "/x/count", "", "1,2");
  says(s.port, "/x/count", "", "1,2");
  CHECK(post(s.port, "/x/boom", "", 0, &r)); /* a JS exception traps */
  CHECK_EQ_INT(r.status, 500);
  zh_hc_response_free(&r);
  says(s.port, "/x/shout", "on", "ON!");
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  char *err = zh_test_cli_err(&s);
  CHECK(strstr(err, "component `x` calling dependency `deps_js`") != NULL);
  free(err);
}

/* ---- load errors: each one line naming what is wrong ---- */

static void refused(const char *name, const char *deps_toml, const char *extra_toml,
                    const char *const *want) {
  char toml[4096], dir[PATH_MAX];
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"bad\"\n"
           "[[trigger.http]]\nroute = \"/x/...\"\ncomponent = \"x\"\n"
           "[component.x]\nsource = \"@C@/deps_caller.wasm\"\n"
           "[component.x.dependencies]\n%s%s",
           deps_toml, extra_toml);
  write_app(name, toml, dir, sizeof dir);
  zh_test_cli_server s;
  const char *argv[] = {"up", "-f", dir, "--listen", "127.0.0.1:0", NULL};
  int st = -1;
  bool started = zh_test_cli_start(&s, tmpdir, name, argv, NULL, SERVING, START_LIMIT_MS, &st);
  CHECK(!started);
  if (started)
    zh_test_cli_stop(&s);
  CHECK(st != 0);
  char *err = zh_test_cli_err(&s);
  size_t lines = 0;
  for (const char *p = err; *p; p++)
    lines += *p == '\n';
  CHECK_EQ_INT((int)lines, 1);
  for (size_t i = 0; want[i]; i++) {
    bool has = strstr(err, want[i]) != NULL;
    if (!has)
      fprintf(stderr, "  %s: the error lacks `%s`: %s\n", name, want[i], err);
    CHECK(has);
  }
  free(err);
}

static void test_refused(void) {
  const char *const mismatch[] = {"component `x`: dependency `zerohop:deps/text@1.0.0` on `y`",
                                  "zerohop:deps/text@1.0.0#shout",
                                  "export func(s: list<u8>) -> string does not match import "
                                  "func(s: string) -> string",
                                  NULL};
  refused("mismatch", "\"zerohop:deps/text@1.0.0\" = { component = \"y\" }\n",
          "[component.y]\nsource = \"@C@/deps_wrong.wasm\"\n", mismatch);
  const char *const missing[] = {"component `x`: dependency `zerohop:deps/text@1.0.0`",
                                 "echo_http.wasm does not export zerohop:deps/text@1.0.0", NULL};
  refused("missing", "\"zerohop:deps/text@1.0.0\" = { path = \"@C@/echo_http.wasm\" }\n", "",
          missing);
  const char *const unknown[] = {"component `x`: dependency `zerohop:deps/text@1.0.0`",
                                 "the app has no component `nobody`", NULL};
  refused("unknown", "\"zerohop:deps/text@1.0.0\" = { component = \"nobody\" }\n", "", unknown);
  const char *const cycle[] = {"a dependency cycle: x -> y -> x", NULL};
  refused("cycle", "\"zerohop:deps/text@1.0.0\" = { component = \"y\" }\n",
          "[component.y]\nsource = \"@C@/deps_callee.wasm\"\n"
          "[component.y.dependencies]\n\"zerohop:deps/text@1.0.0\" = { component = \"x\" }\n",
          cycle);
  const char *const unmatched[] = {"dependency `zerohop:other/text@1.0.0`",
                                   "imports no interface of that name", NULL};
  refused("unmatched", "\"zerohop:other/text@1.0.0\" = { component = \"y\" }\n",
          "[component.y]\nsource = \"@C@/deps_callee.wasm\"\n", unmatched);
  const char *const digest[] = {"dependency `zerohop:deps/text@1.0.0`", "does not match its digest",
                                NULL};
  refused("digest",
          "\"zerohop:deps/text@1.0.0\" = { url = \"file://@C@/deps_callee.wasm\", digest = "
          "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\" }\n",
          "", digest);
  const char *const registry[] = {"registry dependencies are not supported", NULL};
  refused("registry", "\"zerohop:deps/text@1.0.0\" = \"1.0.0\"\n", "", registry);
}

/* ---- in-process: instances made lazily, per request; hops recorded ---- */

typedef struct edge_seen {
  uint64_t count, errors, bytes;
} edge_seen;

static void find_edge(void *env, const zh_hop_edge *e) {
  edge_seen *s = env;
  if (e->kind == ZH_HOP_CALL && strcmp(e->caller, "x") == 0 && strcmp(e->callee, "y") == 0) {
    s->count = e->count;
    s->errors = e->errors;
    s->bytes = e->bytes;
  }
}

static void test_lazy(void) {
  char toml[4096], dir[PATH_MAX], manifest[PATH_MAX + 16], state[PATH_MAX + 16];
  snprintf(toml, sizeof toml, app_toml, "127.0.0.1:1", "");
  write_app("lazy", toml, dir, sizeof dir);
  snprintf(manifest, sizeof manifest, "%s/spin.toml", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  zh_engine *engine = NULL;
  zh_error *e = zh_engine_new(NULL, &engine);
  CHECK(e == NULL);
  if (e) {
    zh_error_free(e);
    return;
  }
  zh_app_options opt = {0};
  opt.manifest = manifest;
  opt.state_dir = state;
  zh_app *app = NULL;
  e = zh_app_load(engine, &opt, &app);
  CHECK(e == NULL);
  if (e) {
    fprintf(stderr, "  %s\n", zh_error_message(e));
    zh_error_free(e);
    zh_engine_free(engine);
    return;
  }
  zh_http_config cfg = {0};
  cfg.addr = "127.0.0.1:0";
  cfg.handler = zh_app_handle_http;
  cfg.env = app;
  zh_http_server *srv = NULL;
  e = zh_http_server_start(&cfg, &srv);
  CHECK(e == NULL);
  zh_error_free(e);
  if (srv) {
    uint16_t port = zh_http_server_port(srv);
    CHECK_EQ_INT((int)app_deps_instances(app), 0);
    says(port, "/x/none", "", "none"); /* x does not call y: y is not instantiated */
    CHECK_EQ_INT((int)app_deps_instances(app), 0);
    says(port, "/x/count", "", "1,2"); /* two calls, one instance */
    CHECK_EQ_INT((int)app_deps_instances(app), 1);
    says(port, "/x/count", "", "1,2"); /* the next request gets its own */
    CHECK_EQ_INT((int)app_deps_instances(app), 2);
    says(port, "/x/shout", "abc", "ABC!");
    edge_seen seen = {0};
    zh_hops_each(app->hops, find_edge, &seen);
    CHECK_EQ_INT((int)seen.count, 5);
    CHECK_EQ_INT((int)seen.errors, 0);
    /* four u32 results, then "abc" in and "ABC!" out */
    CHECK_EQ_INT((int)seen.bytes, 4 * 4 + 3 + 4);
    zh_http_server_stop(srv, 1000);
    zh_http_server_free(srv);
  }
  zh_app_free(app);
  zh_engine_free(engine);
}

/* ---- the value path: a dependency lifting its strings as latin1+utf16, which the one-copy
 * adapter does not take, is called through component values instead. deps_hostile's shout
 * returns bytes that are no UTF-8 (the adapter traps on them, test_hostile) but are Latin-1,
 * so here they arrive converted; reverse has no strings, so it still takes the adapter ---- */

static void test_fallback(void) {
  char toml[4096], dir[PATH_MAX];
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"fallback\"\n"
           "[[trigger.http]]\nroute = \"/x/...\"\ncomponent = \"x\"\n"
           "[component.x]\nsource = \"@C@/deps_caller.wasm\"\n"
           "[component.x.dependencies]\n"
           "\"zerohop:deps/text\" = { path = \"@C@/deps_hostile_latin1.wasm\" }\n");
  write_app("fallback", toml, dir, sizeof dir);
  zh_test_cli_server s;
  if (!start_app(&s, "fallback", dir)) {
    CHECK(false);
    return;
  }
  says(s.port, "/x/shout", "abc", "ok\xc3\xbf\xc3\xbe"); /* Latin-1 "ok\xff\xfe" as UTF-8 */
  says(s.port, "/x/count", "", "1,2");
  zh_hc_response r;
  CHECK(post(s.port, "/x/reverse", "abc", 3, &r));
  CHECK_EQ_INT(r.status, 500);
  zh_hc_response_free(&r);
  says(s.port, "/x/shout", "abc", "ok\xc3\xbf\xc3\xbe");
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  char *err = zh_test_cli_err(&s);
  CHECK(strstr(err, "calling dependency `deps_hostile_latin1`: zerohop:deps/text@1.0.0#reverse: "
                    "list from the callee at 0xffffff00") != NULL);
  free(err);
}

/* ---- a hostile dependency: the one-copy adapter traps naming the function and the callee,
 * the caller's request fails, and the next request gets a fresh instance ---- */

static void test_hostile(void) {
  char toml[4096], dir[PATH_MAX];
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"hostile\"\n"
           "[[trigger.http]]\nroute = \"/x/...\"\ncomponent = \"x\"\n"
           "[component.x]\nsource = \"@C@/deps_caller.wasm\"\n"
           "[component.x.dependencies]\n"
           "\"zerohop:deps/text\" = { component = \"h\" }\n"
           "[component.h]\nsource = \"@C@/deps_hostile.wasm\"\n");
  write_app("hostile", toml, dir, sizeof dir);
  zh_test_cli_server s;
  if (!start_app(&s, "hostile", dir)) {
    CHECK(false);
    return;
  }
  static const char *const bad[] = {"/x/reverse", "/x/shout", "/x/merge"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    zh_hc_response r;
    CHECK(post(s.port, bad[i], "abc", 3, &r));
    CHECK_EQ_INT(r.status, 500);
    zh_hc_response_free(&r);
    /* the faulty instance died with its request: the next one is fresh and works */
    says(s.port, "/x/count", "", "1,2");
  }
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  char *err = zh_test_cli_err(&s);
  CHECK(strstr(err, "component `x` calling dependency `h`: zerohop:deps/text@1.0.0#reverse: "
                    "list from the callee at 0xffffff00, 1024 bytes, is out of bounds") != NULL);
  CHECK(strstr(err, "component `x` calling dependency `h`: zerohop:deps/text@1.0.0#shout: "
                    "invalid UTF-8 in string from the callee") != NULL);
  CHECK(strstr(err, "component `x` calling dependency `h`: zerohop:deps/text@1.0.0#merge: "
                    "list from the callee at 0xffffff00, 16 bytes, is out of bounds") != NULL);
  free(err);
}

int main(void) {
  char cwd[PATH_MAX - 64];
  if (!getcwd(cwd, sizeof cwd))
    return 1;
  snprintf(comp_dir, sizeof comp_dir, "%s/build/components/host", cwd);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/zh-test-deps-XXXXXX");
  if (!mkdtemp(tmpdir))
    return 1;
  signal(SIGPIPE, SIG_IGN);
  test_linked();
  test_inherit();
  test_files();
  test_nested();
  test_js();
  test_hostile();
  test_fallback();
  test_refused();
  test_lazy();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (zh_test_failed == 0 && system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  TEST_SUMMARY();
}
