/* The headers a Spin HTTP component gets (src/host/spin_headers.h), byte for byte and in
 * order: the client's (lowercased, grouped by name, service-chaining Host and Connection
 * removed the way a HeaderMap removes), then spin-path-info, spin-full-url,
 * spin-matched-route, spin-base-path, spin-raw-component-route, spin-component-route,
 * spin-client-addr and spin-path-match-<name>. Expected values follow Spin's headers.rs
 * tests (fermyon.dev, 127.0.0.1:8777, /foo/... and /foo/:userid/...). */
#include "host/router.h"
#include "host/spin_headers.h"
#include "testlib.h"

#include <stdbool.h>
#include <string.h>

#define H(n, v)                                                                                    \
  { n, sizeof n - 1, v, sizeof v - 1 }

static zh_router *one_route(const char *base, const char *route) {
  zh_router *r;
  zh_error *err = zh_router_new(base, NULL, NULL, &r);
  if (!err)
    err = zh_router_add(r, route, 0);
  if (!err)
    err = zh_router_build(r);
  CHECK(err == NULL);
  zh_error_free(err);
  return r;
}

/* Checks h against want[] ("name: value" strings, in order); prints the difference. */
static void expect(const zh_spin_headers *h, const char *const *want, size_t n) {
  CHECK_EQ_INT(h->count, n);
  for (size_t i = 0; i < n && i < h->count; i++) {
    char got[512];
    snprintf(got, sizeof got, "%.*s: %.*s", (int)h->items[i].name_len, h->items[i].name,
             (int)h->items[i].value_len, h->items[i].value);
    CHECK(strcmp(got, want[i]) == 0);
    if (strcmp(got, want[i]) != 0)
      fprintf(stderr, "  header %zu: got \"%s\", want \"%s\"\n", i, got, want[i]);
  }
}

/* `head`, then Spin's own headers as wasi:http lists them for the route "/..." matched at "/",
 * Host h, client 127.0.0.1:2, from the `first`th on (1: spin-path-info is in `head`, grouped
 * with a client's). */
static void expect_root(const zh_spin_headers *h, const char *const *head, size_t nhead,
                        size_t first) {
  static const char *const spin[] = {"spin-path-info: /",
                                     "spin-full-url: http://h/",
                                     "spin-matched-route: /...",
                                     "spin-base-path: /",
                                     "spin-raw-component-route: /...",
                                     "spin-component-route: ",
                                     "spin-client-addr: 127.0.0.1:2"};
  size_t nspin = sizeof spin / sizeof *spin - first;
  const char *want[32];
  CHECK(nhead + nspin <= sizeof want / sizeof *want);
  if (nhead + nspin > sizeof want / sizeof *want)
    return;
  memcpy(want, head, nhead * sizeof *head);
  memcpy(want + nhead, spin + first, nspin * sizeof *spin);
  expect(h, want, nhead + nspin);
}

static zh_spin_headers build(zh_router *r, const char *path, const zh_spin_request *req,
                             zh_spin_handler_kind kind) {
  zh_router_result m;
  zh_spin_headers h = {0};
  CHECK(zh_router_match(r, path, strlen(path), &m));
  zh_error *err = zh_spin_headers_build(&m, req, kind, &h);
  CHECK(err == NULL);
  if (err)
    fprintf(stderr, "  build: %s\n", zh_error_message(err));
  zh_error_free(err);
  return h;
}

static void test_default_headers(void) {
  zh_router *r = one_route("/", "/foo/...");
  const char target[] = "/foo/bar?key1=value1&key2=value2";
  zh_http_header in[] = {H("Host", "fermyon.dev"), H("Accept", "*/*"), H("User-Agent", "t/1")};
  zh_spin_request req = {"https", target, strlen(target), in, 3, "127.0.0.1:8777"};
  zh_spin_headers h = build(r, "/foo/bar", &req, ZH_SPIN_WASI_HTTP);
  const char *want[] = {"host: fermyon.dev",
                        "accept: */*",
                        "user-agent: t/1",
                        "spin-path-info: /bar",
                        "spin-full-url: https://fermyon.dev/foo/bar?key1=value1&key2=value2",
                        "spin-matched-route: /foo/...",
                        "spin-base-path: /",
                        "spin-raw-component-route: /foo/...",
                        "spin-component-route: /foo",
                        "spin-client-addr: 127.0.0.1:8777"};
  expect(&h, want, 10);
  zh_spin_headers_free(&h);
  /* The same list for the older inbound-http interface. */
  h = build(r, "/foo/bar", &req, ZH_SPIN_INBOUND_HTTP);
  expect(&h, want, 10);
  zh_spin_headers_free(&h);
  zh_router_free(r);
}

static void test_named_wildcards(void) {
  zh_router *r = one_route("/", "/foo/:userid/...");
  const char target[] = "/foo/42/bar?key1=value1&key2=value2";
  zh_http_header in[] = {H("host", "fermyon.dev")};
  zh_spin_request req = {"https", target, strlen(target), in, 1, "127.0.0.1:8777"};
  zh_spin_headers h = build(r, "/foo/42/bar", &req, ZH_SPIN_WASI_HTTP);
  const char *want[] = {"host: fermyon.dev",
                        "spin-path-info: /bar",
                        "spin-full-url: https://fermyon.dev/foo/42/bar?key1=value1&key2=value2",
                        "spin-matched-route: /foo/:userid/...",
                        "spin-base-path: /",
                        "spin-raw-component-route: /foo/:userid/...",
                        "spin-component-route: /foo/:userid",
                        "spin-client-addr: 127.0.0.1:8777",
                        "spin-path-match-userid: 42"};
  expect(&h, want, 9);
  zh_spin_headers_free(&h);
  zh_router_free(r);

  /* Names are lowercased and '_' becomes '-'; a repeated name keeps its last value. */
  r = one_route("/", "/:User_Id/:x/:x");
  const char t2[] = "/7/a/b";
  zh_spin_request r2 = {"http", t2, strlen(t2), in, 1, "[::1]:9"};
  h = build(r, t2, &r2, ZH_SPIN_WASI_HTTP);
  const char *want2[] = {"host: fermyon.dev",
                         "spin-path-info: ",
                         "spin-full-url: http://fermyon.dev/7/a/b",
                         "spin-matched-route: /:User_Id/:x/:x",
                         "spin-base-path: /",
                         "spin-raw-component-route: /:User_Id/:x/:x",
                         "spin-component-route: /:User_Id/:x/:x",
                         "spin-client-addr: [::1]:9",
                         "spin-path-match-user-id: 7",
                         "spin-path-match-x: b"};
  expect(&h, want2, 10);
  zh_spin_headers_free(&h);
  zh_router_free(r);

  /* A capture name that is no header name: wasi:http drops it, inbound-http keeps it. */
  r = one_route("/", "/:a@b");
  const char t3[] = "/v";
  zh_spin_request r3 = {"http", t3, 2, in, 1, "1.2.3.4:5"};
  h = build(r, t3, &r3, ZH_SPIN_WASI_HTTP);
  CHECK_EQ_INT(h.count, 8);
  CHECK(zh_spin_headers_get(&h, "spin-path-match-a@b") == NULL);
  zh_spin_headers_free(&h);
  h = build(r, t3, &r3, ZH_SPIN_INBOUND_HTTP);
  CHECK_EQ_INT(h.count, 9);
  const zh_http_header *pm = zh_spin_headers_get(&h, "spin-path-match-a@b");
  CHECK(pm && strcmp(pm->value, "v") == 0);
  zh_spin_headers_free(&h);
  zh_router_free(r);
}

static void test_host_rules(void) {
  CHECK(zh_spin_is_chaining_host("test.spin.internal", 18));
  CHECK(zh_spin_is_chaining_host("test.spin.internal:1234", 23));
  CHECK(zh_spin_is_chaining_host(".spin.internal", 14));
  CHECK(!zh_spin_is_chaining_host("a.b.spin.internal", 17));
  CHECK(!zh_spin_is_chaining_host("spin.internal", 13));
  CHECK(!zh_spin_is_chaining_host("test.spin.internal.com", 22));
  CHECK(!zh_spin_is_chaining_host("test.SPIN.internal", 18));
  CHECK(!zh_spin_is_chaining_host("test.example.org", 16));
  CHECK(!zh_spin_is_chaining_host("[::1]:80", 8));
  CHECK(!zh_spin_is_chaining_host("", 0));
  CHECK(!zh_spin_is_chaining_host("t\x80.spin.internal", 17));

  /* A service-chaining Host is removed, and the full URL falls back to localhost. */
  zh_router *r = one_route("/", "/...");
  zh_http_header in[] = {H("Host", "test.spin.internal:1234"), H("accept", "text/plain")};
  zh_spin_request req = {"http", "/x", 2, in, 2, "127.0.0.1:1"};
  zh_spin_headers h = build(r, "/x", &req, ZH_SPIN_WASI_HTTP);
  CHECK_EQ_INT(h.count, 8);
  CHECK(strcmp(h.items[0].name, "accept") == 0);
  CHECK(zh_spin_headers_get(&h, "host") == NULL);
  const zh_http_header *url = zh_spin_headers_get(&h, "spin-full-url");
  CHECK(url && strcmp(url->value, "http://localhost/x") == 0);
  zh_spin_headers_free(&h);

  /* Any other Host stays, and the URL keeps its port. */
  zh_http_header kept[] = {H("Host", "test.example.org:3000"), H("accept", "text/plain")};
  req.headers = kept;
  h = build(r, "/x", &req, ZH_SPIN_WASI_HTTP);
  CHECK_EQ_INT(h.count, 9);
  CHECK(strcmp(h.items[0].value, "test.example.org:3000") == 0);
  url = zh_spin_headers_get(&h, "spin-full-url");
  CHECK(url && strcmp(url->value, "http://test.example.org:3000/x") == 0);
  zh_spin_headers_free(&h);

  /* No Host at all: localhost. */
  req.nheaders = 0;
  h = build(r, "/x", &req, ZH_SPIN_WASI_HTTP);
  url = zh_spin_headers_get(&h, "spin-full-url");
  CHECK(url && strcmp(url->value, "http://localhost/x") == 0);
  zh_spin_headers_free(&h);
  zh_router_free(r);
}

static void test_order_and_groups(void) {
  zh_router *r = one_route("/", "/...");
  /* Connection goes, and the last name takes its place (http::HeaderMap's swap_remove). */
  zh_http_header in[] = {H("Host", "h"), H("Connection", "keep-alive"), H("A", "1"), H("B", "2"),
                         H("a", "3")};
  zh_spin_request req = {"http", "/", 1, in, 5, "127.0.0.1:2"};
  zh_spin_headers h = build(r, "/", &req, ZH_SPIN_WASI_HTTP);
  const char *want[] = {"host: h", "b: 2", "a: 1", "a: 3"};
  expect_root(&h, want, 4, 0);
  zh_spin_headers_free(&h);

  /* A client's spin-* header is not replaced: wasi:http groups both values at the client's
   * place, inbound-http lists the client's where it was and Spin's at the end. */
  zh_http_header spoof[] = {H("spin-path-info", "/evil"), H("host", "h")};
  req.headers = spoof;
  req.nheaders = 2;
  h = build(r, "/", &req, ZH_SPIN_WASI_HTTP);
  const char *want_wasi[] = {"spin-path-info: /evil", "spin-path-info: /", "host: h"};
  expect_root(&h, want_wasi, 3, 1);
  zh_spin_headers_free(&h);
  h = build(r, "/", &req, ZH_SPIN_INBOUND_HTTP);
  CHECK_EQ_INT(h.count, 9);
  CHECK(strcmp(h.items[0].value, "/evil") == 0 && strcmp(h.items[1].name, "host") == 0);
  CHECK(strcmp(h.items[2].name, "spin-path-info") == 0 && strcmp(h.items[2].value, "/") == 0);
  zh_spin_headers_free(&h);

  /* Removing the last name leaves the others in order. */
  zh_http_header tail[] = {H("x", "1"), H("y", "2"), H("connection", "close")};
  req.headers = tail;
  req.nheaders = 3;
  zh_spin_headers in_only;
  CHECK(!zh_spin_inbound_headers(&req, &in_only));
  const char *want_in[] = {"x: 1", "y: 2"};
  expect(&in_only, want_in, 2);
  zh_spin_headers_free(&in_only);
  zh_router_free(r);
}

/* wasi:http drops a field that is not valid (a name that is not a token, a value with a
 * control byte other than tab), wherever the bad byte is in a long value; inbound-http keeps
 * it. The client's groups stay in order around what is dropped. */
static void test_invalid_fields(void) {
  zh_router *r = one_route("/", "/...");
  zh_http_header in[] = {H("Host", "h"),
                         H("X-Tab", "a long value\twith a tab in it"),
                         H("X-Ctl", "a long value with a \x01 in the middle"),
                         H("X-Del", "0123456789abcdef\x7f"),
                         H("Bad Name", "v"),
                         H("X-Tab", "second"),
                         H("X-Late", "0123456789abcdef0123456789abcdef\x1f"),
                         H("X-Ok", "0123456789abcdef0123456789abcdef~")};
  zh_spin_request req = {"http", "/", 1, in, 8, "127.0.0.1:2"};
  zh_spin_headers h = build(r, "/", &req, ZH_SPIN_WASI_HTTP);
  const char *want[] = {"host: h", "x-tab: a long value\twith a tab in it", "x-tab: second",
                        "x-ok: 0123456789abcdef0123456789abcdef~"};
  expect_root(&h, want, 4, 0);
  zh_spin_headers_free(&h);
  h = build(r, "/", &req, ZH_SPIN_INBOUND_HTTP);
  CHECK_EQ_INT(h.count, 15);
  CHECK(h.count > 4 && strcmp(h.items[3].name, "x-ctl") == 0);
  zh_spin_headers_free(&h);

  /* A Host with a control byte: dropped, and so is the spin-full-url made from it. */
  zh_http_header badhost[] = {H("Host", "a\x01b"), H("X-A", "1")};
  zh_spin_request req2 = {"http", "/", 1, badhost, 2, "127.0.0.1:2"};
  h = build(r, "/", &req2, ZH_SPIN_WASI_HTTP);
  const char *want2[] = {"x-a: 1",
                         "spin-path-info: /",
                         "spin-matched-route: /...",
                         "spin-base-path: /",
                         "spin-raw-component-route: /...",
                         "spin-component-route: ",
                         "spin-client-addr: 127.0.0.1:2"};
  expect(&h, want2, 7);
  zh_spin_headers_free(&h);
  zh_router_free(r);
}

static void test_base_and_targets(void) {
  zh_router *r = one_route("/api", "/x/...");
  zh_http_header in[] = {H("host", "example.com")};
  const char abs[] = "http://example.com/api/x/y?q=1";
  zh_spin_request req = {"http", abs, strlen(abs), in, 1, "10.0.0.1:80"};
  zh_spin_headers h = build(r, "/api/x/y", &req, ZH_SPIN_WASI_HTTP);
  const char *want[] = {"host: example.com",
                        "spin-path-info: /y",
                        "spin-full-url: http://example.com/api/x/y?q=1",
                        "spin-matched-route: /api/x/...",
                        "spin-base-path: /api",
                        "spin-raw-component-route: /x/...",
                        "spin-component-route: /x",
                        "spin-client-addr: 10.0.0.1:80"};
  expect(&h, want, 8);
  zh_spin_headers_free(&h);
  zh_router_free(r);

  /* The route "/": Spin's matched route is the empty based route. */
  r = one_route("/", "/");
  req.target = "/";
  req.target_len = 1;
  h = build(r, "/", &req, ZH_SPIN_WASI_HTTP);
  const zh_http_header *mr = zh_spin_headers_get(&h, "spin-matched-route");
  const zh_http_header *cr = zh_spin_headers_get(&h, "spin-component-route");
  CHECK(mr && mr->value_len == 0 && cr && strcmp(cr->value, "/") == 0);
  zh_spin_headers_free(&h);
  zh_router_free(r);
}

static void test_wagi_names_and_errors(void) {
  zh_router *r = one_route("/", "/w/:id/...");
  zh_http_header in[] = {H("host", "h:1")};
  zh_spin_request req = {"http", "/w/5/z?a", 8, in, 1, "127.0.0.1:3"};
  zh_router_result m;
  CHECK(zh_router_match(r, "/w/5/z", 6, &m));
  zh_spin_headers v;
  CHECK(!zh_spin_default_values(&m, &req, true, &v));
  const char *want[] = {"PATH_INFO: /z",
                        "X_FULL_URL: http://h:1/w/5/z?a",
                        "X_MATCHED_ROUTE: /w/:id/...",
                        "X_BASE_PATH: /",
                        "X_RAW_COMPONENT_ROUTE: /w/:id/...",
                        "X_COMPONENT_ROUTE: /w/:id",
                        "X_CLIENT_ADDR: 127.0.0.1:3",
                        "X_PATH_MATCH_ID: 5"};
  expect(&v, want, 8);
  zh_spin_headers_free(&v);

  /* A header value that is not UTF-8 fails the request (Spin answers 500). */
  zh_http_header bad[] = {H("host", "h"), H("x-bin", "a\xff")};
  req.headers = bad;
  req.nheaders = 2;
  zh_spin_headers h = {0};
  zh_error *err = zh_spin_headers_build(&m, &req, ZH_SPIN_WASI_HTTP, &h);
  CHECK(err && zh_error_status(err) == ZH_ERR_MALFORMED);
  CHECK(err && strstr(zh_error_message(err), "x-bin") != NULL);
  CHECK(h.count == 0 && h.items == NULL);
  zh_error_free(err);
  /* ... and so does a Host that is not, even for WAGI. */
  zh_http_header badhost[] = {H("host", "\xc3\x28")};
  req.headers = badhost;
  req.nheaders = 1;
  err = zh_spin_default_values(&m, &req, true, &v);
  CHECK(err && strstr(zh_error_message(err), "host") != NULL);
  zh_error_free(err);
  /* Obs-text that is valid UTF-8 passes. */
  zh_http_header utf[] = {H("host", "h"), H("x-name", "caf\xc3\xa9")};
  req.headers = utf;
  req.nheaders = 2;
  err = zh_spin_headers_build(&m, &req, ZH_SPIN_WASI_HTTP, &h);
  CHECK(!err);
  zh_error_free(err);
  zh_spin_headers_free(&h);
  /* Long values (checked a word at a time): a bad byte in the last, partial word fails, and
   * a multi-byte character across two words passes. */
  zh_http_header longbad[] = {H("host", "h"), H("x-long", "0123456789abcdef01234\xff")};
  req.headers = longbad;
  err = zh_spin_headers_build(&m, &req, ZH_SPIN_WASI_HTTP, &h);
  CHECK(err && strstr(zh_error_message(err), "x-long") != NULL);
  zh_error_free(err);
  zh_http_header longutf[] = {H("host", "h"), H("x-long", "0123456\xc3\xa9"
                                                          "789abcdef")};
  req.headers = longutf;
  err = zh_spin_headers_build(&m, &req, ZH_SPIN_WASI_HTTP, &h);
  CHECK(!err && h.count > 1 &&
        strcmp(h.items[1].value, "0123456\xc3\xa9"
                                 "789abcdef") == 0);
  zh_error_free(err);
  zh_spin_headers_free(&h);
  zh_spin_headers_free(NULL);
  zh_router_free(r);
}

int main(void) {
  test_default_headers();
  test_named_wildcards();
  test_host_rules();
  test_order_and_groups();
  test_invalid_fields();
  test_base_and_targets();
  test_wagi_names_and_errors();
  TEST_SUMMARY();
}
