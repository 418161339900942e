/* The HTTP trigger's router (src/host/router.h) against Spin's routing: every route form,
 * precedence whatever the manifest order, duplicates, bases, captures, path-info with and
 * without trailing slashes, invalid patterns, and the reserved /.well-known/spin/ paths.
 * The expected values are Spin's (its routes.rs tests and routefinder 0.5's matching). */
#include "host/router.h"
#include "testlib.h"

#include <stdbool.h>
#include <string.h>

typedef struct dup_log {
  char route[64];
  size_t replaced, effective;
  int count;
} dup_log;

static void on_dup(void *env, const char *route, size_t replaced, size_t effective) {
  dup_log *d = env;
  snprintf(d->route, sizeof d->route, "%s", route);
  d->replaced = replaced;
  d->effective = effective;
  d->count++;
}

/* A router over routes[i] -> target i with base, built; NULL if any step failed. */
static zh_router *make(const char *base, const char *const *routes, size_t n, dup_log *dups) {
  zh_router *r;
  zh_error *err = zh_router_new(base, dups ? on_dup : NULL, dups, &r);
  for (size_t i = 0; !err && i < n; i++)
    err = zh_router_add(r, routes[i], i);
  if (!err)
    err = zh_router_build(r);
  if (err) {
    fprintf(stderr, "router: %s\n", zh_error_message(err));
    zh_error_free(err);
    zh_router_free(err ? NULL : r);
    return NULL;
  }
  return r;
}

/* The target path goes to, or -1 for no match. */
static long route_of(const zh_router *r, const char *path, zh_router_result *m) {
  zh_router_result local;
  if (!m)
    m = &local;
  return zh_router_match(r, path, strlen(path), m) ? (long)m->target : -1;
}

static bool slice_is(const char *p, size_t n, const char *want) {
  return n == strlen(want) && memcmp(p, want, n) == 0;
}

static bool info_is(const zh_router *r, const char *path, const char *want) {
  zh_router_result m;
  return zh_router_match(r, path, strlen(path), &m) && slice_is(m.path_info, m.path_info_len, want);
}

static void test_exact(void) {
  const char *routes[] = {"/foo", "/foo/bar", "/"};
  zh_router *r = make("/", routes, 3, NULL);
  CHECK(r != NULL);
  CHECK_EQ_INT(route_of(r, "/foo", NULL), 0);
  CHECK_EQ_INT(route_of(r, "/foo/", NULL), 0); /* a trailing slash is ignored */
  CHECK_EQ_INT(route_of(r, "/foo/bar", NULL), 1);
  CHECK_EQ_INT(route_of(r, "/foo/bar/baz", NULL), -1);
  CHECK_EQ_INT(route_of(r, "/foobar", NULL), -1);
  CHECK_EQ_INT(route_of(r, "/fo", NULL), -1);
  CHECK_EQ_INT(route_of(r, "/", NULL), 2);
  CHECK_EQ_INT(route_of(r, "/bar", NULL), -1);
  CHECK_EQ_INT(route_of(r, "/FOO", NULL), -1); /* case matters */
  zh_router_result m;
  CHECK(route_of(r, "/foo/bar", &m) == 1);
  CHECK(strcmp(m.route, "/foo/bar") == 0);
  CHECK(strcmp(m.component_route, "/foo/bar") == 0);
  CHECK(strcmp(m.raw_component_route, "/foo/bar") == 0);
  CHECK(strcmp(m.base, "/") == 0);
  CHECK_EQ_INT(m.path_info_len, 0);
  CHECK_EQ_INT(m.ncaptures, 0);
  /* Spin's based route for "/" at base "/" is the empty string. */
  CHECK(route_of(r, "/", &m) == 2);
  CHECK(strcmp(m.route, "") == 0);
  CHECK(strcmp(m.raw_component_route, "/") == 0);
  zh_router_free(r);
}

static void test_wildcard(void) {
  const char *routes[] = {"/test/..."};
  zh_router *r = make("/", routes, 1, NULL);
  zh_router_result m;
  CHECK(route_of(r, "/test", &m) == 0);
  CHECK(strcmp(m.route, "/test/...") == 0);
  CHECK(strcmp(m.component_route, "/test") == 0);
  CHECK(strcmp(m.raw_component_route, "/test/...") == 0);
  /* Spin's trailing-slash rules (routes.rs, trailing_wildcard_respects_trailing_slash). */
  CHECK(info_is(r, "/test", ""));
  CHECK(info_is(r, "/test/", "/"));
  CHECK(info_is(r, "/test/hello", "/hello"));
  CHECK(info_is(r, "/test/hello/", "/hello/"));
  CHECK(info_is(r, "/test/a/b/c", "/a/b/c"));
  CHECK(info_is(r, "/test/a%20b", "/a%20b")); /* nothing decoded */
  CHECK_EQ_INT(route_of(r, "/testing", NULL), -1);
  CHECK_EQ_INT(route_of(r, "/tes", NULL), -1);
  CHECK_EQ_INT(route_of(r, "/", NULL), -1);
  zh_router_free(r);

  const char *all[] = {"/..."};
  r = make("/", all, 1, NULL);
  CHECK_EQ_INT(route_of(r, "/foo/bar", NULL), 0);
  CHECK_EQ_INT(route_of(r, "/abc/", NULL), 0);
  CHECK_EQ_INT(route_of(r, "/", NULL), 0);
  CHECK(info_is(r, "/1/2/3", "/1/2/3"));
  CHECK(info_is(r, "/", "/"));
  CHECK(info_is(r, "/x", "/x"));
  CHECK(route_of(r, "/x", &m) == 0 && strcmp(m.route, "/...") == 0 &&
        strcmp(m.component_route, "") == 0);
  zh_router_free(r);

  /* routefinder's own trailing "*" is a wildcard too. */
  const char *star[] = {"/s/*"};
  r = make("/", star, 1, NULL);
  CHECK(info_is(r, "/s/q", "/q"));
  CHECK(info_is(r, "/s", ""));
  CHECK(route_of(r, "/s/q", &m) == 0 && strcmp(m.component_route, "/s/*") == 0);
  zh_router_free(r);
}

static void test_captures(void) {
  const char *routes[] = {"/users/:userid/edit", "/1/:two/...", "/files/:name.json", "/a/:x/:y"};
  zh_router *r = make("/", routes, 4, NULL);
  zh_router_result m;
  CHECK(route_of(r, "/users/42/edit", &m) == 0);
  CHECK_EQ_INT(m.ncaptures, 1);
  CHECK(strcmp(m.captures[0].name, "userid") == 0);
  CHECK(slice_is(m.captures[0].value, m.captures[0].value_len, "42"));
  CHECK_EQ_INT(route_of(r, "/users", NULL), -1);
  CHECK_EQ_INT(route_of(r, "/users/1", NULL), -1);
  CHECK_EQ_INT(route_of(r, "/users/1/edit/cart", NULL), -1);
  CHECK(route_of(r, "/1/2/3", &m) == 1);
  CHECK(slice_is(m.captures[0].value, m.captures[0].value_len, "2"));
  CHECK(slice_is(m.path_info, m.path_info_len, "/3"));
  CHECK(strcmp(m.component_route, "/1/:two") == 0);
  CHECK(route_of(r, "/1/2", &m) == 1 && m.path_info_len == 0);
  CHECK(route_of(r, "/files/report.json", &m) == 2);
  CHECK(strcmp(m.captures[0].name, "name") == 0);
  CHECK(slice_is(m.captures[0].value, m.captures[0].value_len, "report"));
  CHECK_EQ_INT(route_of(r, "/files/report.txt", NULL), -1);
  CHECK_EQ_INT(route_of(r, "/files/report", NULL), -1);
  CHECK(route_of(r, "/a/b/c", &m) == 3 && m.ncaptures == 2);
  CHECK(strcmp(m.captures[1].name, "y") == 0);
  CHECK(slice_is(m.captures[1].value, m.captures[1].value_len, "c"));
  zh_router_free(r);
}

static void test_precedence(void) {
  /* Longest prefix wins, whatever the order (routes.rs, test_router_respects_longest_match). */
  const char *a[] = {"/one/...", "/one/two/...", "/one/two/three/..."};
  const char *b[] = {"/one/two/three/...", "/one/two/...", "/one/..."};
  zh_router *r = make("/", a, 3, NULL);
  CHECK_EQ_INT(route_of(r, "/one/two/three/four", NULL), 2);
  CHECK_EQ_INT(route_of(r, "/one/two/x", NULL), 1);
  CHECK_EQ_INT(route_of(r, "/one/x", NULL), 0);
  CHECK_EQ_INT(route_of(r, "/one", NULL), 0);
  CHECK(info_is(r, "/one/two", "")); /* /one/two/... itself, with empty path-info */
  CHECK_EQ_INT(route_of(r, "/one/two", NULL), 1);
  zh_router_free(r);
  r = make("/", b, 3, NULL);
  CHECK_EQ_INT(route_of(r, "/one/two/three/four", NULL), 0);
  CHECK_EQ_INT(route_of(r, "/one/x", NULL), 2);
  zh_router_free(r);

  /* Exact beats wildcard, in either order. */
  const char *c[] = {"/...", "/one"};
  const char *d[] = {"/one", "/..."};
  r = make("/", c, 2, NULL);
  CHECK_EQ_INT(route_of(r, "/one", NULL), 1);
  CHECK_EQ_INT(route_of(r, "/one/", NULL), 1);
  CHECK_EQ_INT(route_of(r, "/two", NULL), 0);
  zh_router_free(r);
  r = make("/", d, 2, NULL);
  CHECK_EQ_INT(route_of(r, "/one", NULL), 0);
  CHECK_EQ_INT(route_of(r, "/one/more", NULL), 1);
  zh_router_free(r);

  /* Exact segment > capture > wildcard at the first place they differ. */
  const char *e[] = {"/users/...", "/users/:id", "/users/me", "/:any/me"};
  r = make("/", e, 4, NULL);
  CHECK_EQ_INT(route_of(r, "/users/me", NULL), 2);
  CHECK_EQ_INT(route_of(r, "/users/42", NULL), 1);
  CHECK_EQ_INT(route_of(r, "/users/42/x", NULL), 0);
  CHECK_EQ_INT(route_of(r, "/users", NULL), 0);
  CHECK_EQ_INT(route_of(r, "/other/me", NULL), 3);
  zh_router_free(r);

  /* A capture route beats a deeper wildcard that diverges later; ties keep manifest order. */
  const char *f[] = {"/:a", "/:b", "/x/..."};
  r = make("/", f, 3, NULL);
  zh_router_result m;
  CHECK(route_of(r, "/q", &m) == 0 && strcmp(m.captures[0].name, "a") == 0);
  CHECK_EQ_INT(route_of(r, "/x", NULL), 2); /* exact "x" beats ":a" */
  zh_router_free(r);
  const char *g[] = {"/:b", "/:a"};
  r = make("/", g, 2, NULL);
  CHECK(route_of(r, "/q", &m) == 0 && strcmp(m.captures[0].name, "b") == 0);
  zh_router_free(r);

  /* The order zerohop up prints: exact first, then the wildcards, longest first. */
  const char *h[] = {"/...", "/a/...", "/a", "/b"};
  r = make("/", h, 4, NULL);
  size_t t;
  CHECK_EQ_INT(zh_router_count(r), 4);
  CHECK(strcmp(zh_router_route_at(r, 0, &t), "/a") == 0 && t == 2);
  CHECK(strcmp(zh_router_route_at(r, 1, &t), "/b") == 0 && t == 3);
  CHECK(strcmp(zh_router_route_at(r, 2, &t), "/a/...") == 0 && t == 1);
  CHECK(strcmp(zh_router_route_at(r, 3, &t), "/...") == 0 && t == 0);
  CHECK(zh_router_route_at(r, 4, &t) == NULL);
  /* ... and the way Spin prints them (routes.rs, wildcard_routes_use_custom_display). */
  CHECK(strcmp(zh_router_route_display(r, 0), "/a") == 0);
  CHECK(strcmp(zh_router_route_display(r, 2), "/a (wildcard)") == 0);
  CHECK(strcmp(zh_router_route_display(r, 3), " (wildcard)") == 0);
  CHECK(zh_router_route_display(r, 4) == NULL);
  zh_router_free(r);
}

static void test_duplicates(void) {
  dup_log d = {0};
  const char *routes[] = {"/", "/foo", "/foo", "/whee/..."};
  zh_router *r = make("/", routes, 4, &d);
  CHECK_EQ_INT(d.count, 1);
  CHECK(strcmp(d.route, "/foo") == 0);
  CHECK_EQ_INT(d.replaced, 1);
  CHECK_EQ_INT(d.effective, 2);
  CHECK_EQ_INT(zh_router_count(r), 3);
  CHECK_EQ_INT(route_of(r, "/foo", NULL), 2); /* the later one wins */
  zh_router_free(r);

  /* Spin reports the empty based route as "/" (routes.rs, duplicate_routes_reporting). */
  dup_log e = {0};
  const char *roots[] = {"/", "/", "/...", "/..."};
  r = make("/", roots, 4, &e);
  CHECK_EQ_INT(e.count, 2);
  CHECK(strcmp(e.route, "/...") == 0 && e.replaced == 2 && e.effective == 3);
  CHECK_EQ_INT(route_of(r, "/", NULL), 1);
  CHECK_EQ_INT(route_of(r, "/x", NULL), 3);
  zh_router_free(r);

  /* Duplicates are by the text as written: "/foo" and "/foo/" are two routes, the first wins. */
  dup_log f = {0};
  const char *spelled[] = {"/foo", "/foo/"};
  r = make("/", spelled, 2, &f);
  CHECK_EQ_INT(f.count, 0);
  CHECK_EQ_INT(zh_router_count(r), 2);
  CHECK_EQ_INT(route_of(r, "/foo", NULL), 0);
  zh_router_free(r);
}

static void test_base(void) {
  const char *routes[] = {"/foo", "/foo/bar", "/api/..."};
  zh_router *r = make("/base", routes, 3, NULL);
  zh_router_result m;
  CHECK_EQ_INT(route_of(r, "/base/foo", NULL), 0);
  CHECK_EQ_INT(route_of(r, "/base/foo/bar", NULL), 1);
  CHECK_EQ_INT(route_of(r, "/foo", NULL), -1);
  CHECK(route_of(r, "/base/api/v1/x", &m) == 2);
  CHECK(strcmp(m.route, "/base/api/...") == 0);
  CHECK(strcmp(m.component_route, "/api") == 0);
  CHECK(strcmp(m.raw_component_route, "/api/...") == 0);
  CHECK(strcmp(m.base, "/base") == 0);
  CHECK(slice_is(m.path_info, m.path_info_len, "/v1/x"));
  zh_router_free(r);

  /* One trailing slash of the base and of the route goes; a relative route gets its '/'. */
  const char *rel[] = {"foo/", "/..."};
  r = make("/base/", rel, 2, NULL);
  CHECK(route_of(r, "/base/foo", &m) == 0 && strcmp(m.route, "/base/foo") == 0);
  CHECK(strcmp(m.raw_component_route, "foo/") == 0);
  CHECK(route_of(r, "/base", &m) == 1 && strcmp(m.route, "/base/...") == 0);
  CHECK(route_of(r, "/other", NULL) == -1);
  zh_router_free(r);

  /* NULL base is "/". */
  const char *one[] = {"/x"};
  r = make(NULL, one, 1, NULL);
  CHECK(route_of(r, "/x", &m) == 0 && strcmp(m.base, "/") == 0);
  zh_router_free(r);
}

static void test_odd_paths(void) {
  const char *routes[] = {"/a/:x/b", "/dots/a.b", "/w/..."};
  zh_router *r = make("/", routes, 3, NULL);
  zh_router_result m;
  CHECK_EQ_INT(route_of(r, "/a/1/b", NULL), 0);
  CHECK_EQ_INT(route_of(r, "//a/1/b//", NULL), 0); /* leading and trailing slashes trimmed */
  CHECK(route_of(r, "/a//b", &m) == 0 && m.captures[0].value_len == 0); /* an empty capture */
  CHECK_EQ_INT(route_of(r, "/dots/a.b", NULL), 1);
  CHECK_EQ_INT(route_of(r, "/dots/axb", NULL), -1);
  CHECK(info_is(r, "/w//x", "//x")); /* only one slash is the route's */
  CHECK_EQ_INT(route_of(r, "", NULL), -1);
  CHECK_EQ_INT(route_of(r, "*", NULL), -1);
  CHECK_EQ_INT(route_of(r, "a/1/b", NULL), -1);
  /* The match borrows the path: a path that is not NUL-terminated works. */
  const char buf[] = {'/', 'w', '/', 'z', 'Z'};
  CHECK(zh_router_match(r, buf, 4, &m) && slice_is(m.path_info, m.path_info_len, "/z"));
  zh_router_free(r);
}

static void expect_invalid(const char *route, const char *want) {
  zh_router *r;
  zh_error *err = zh_router_new("/", NULL, NULL, &r);
  CHECK(err == NULL);
  err = zh_router_add(r, route, 0);
  CHECK(err != NULL);
  if (err) {
    CHECK(strstr(zh_error_message(err), want) != NULL);
    CHECK(strstr(zh_error_message(err), route) != NULL);
    if (!strstr(zh_error_message(err), want))
      fprintf(stderr, "  got: %s\n", zh_error_message(err));
  }
  zh_error_free(err);
  CHECK_EQ_INT(zh_router_count(r), 0); /* the router is unchanged */
  zh_router_free(r);
}

static void test_invalid(void) {
  expect_invalid("/a/:", "params must be named");
  expect_invalid("/a/:/b", "params must be named");
  expect_invalid("/a/*name", "only be one wildcard");
  expect_invalid("/a/*/b", "must be the last segment");
  expect_invalid("/a/*.json", "must be the last segment");
  expect_invalid("/a.*", "whole segment");
  zh_router *r;
  zh_error *err = zh_router_new("/", NULL, NULL, &r);
  CHECK(!err);
  err = zh_router_add(r, "/:a/:b/:c/:d/:e/:f/:g/:h/:i/:j/:k/:l/:m/:n/:o/:p/:q", 0);
  CHECK(err && zh_error_status(err) == ZH_ERR_RESOURCE);
  zh_error_free(err);
  err = zh_router_add(r, "/ok", 0);
  CHECK(!err);
  CHECK(!zh_router_build(r));
  err = zh_router_add(r, "/late", 1);
  CHECK(err && zh_error_status(err) == ZH_ERR_USAGE);
  zh_error_free(err);
  err = zh_router_build(r);
  CHECK(err && zh_error_status(err) == ZH_ERR_USAGE);
  zh_error_free(err);
  zh_router_free(r);

  /* A router that is not built matches nothing. */
  err = zh_router_new("/", NULL, NULL, &r);
  CHECK(!err && !zh_router_add(r, "/...", 0));
  CHECK_EQ_INT(route_of(r, "/x", NULL), -1);
  zh_router_free(r);
  zh_router_free(NULL);
}

static void test_reserved(void) {
  const char *routes[] = {"/.well-known/spin/..."};
  zh_router *r = make("/", routes, 1, NULL);
  CHECK(zh_router_has_reserved(r));
  zh_router_free(r);
  const char *fie[] = {"/.well-known/spin/fie"};
  r = make("/", fie, 1, NULL);
  CHECK(zh_router_has_reserved(r));
  zh_router_free(r);
  const char * not [] = {"/.well-known/spindle/...", "/.well-known/spi/...", "/.well-known/spin"};
  r = make("/", not, 3, NULL);
  CHECK(!zh_router_has_reserved(r));
  CHECK_EQ_INT(route_of(r, "/.well-known/spin", NULL), 2);
  zh_router_free(r);

  bool handled;
  zh_router_reserved out;
  const char *p = "/.well-known/spin/health";
  CHECK(!zh_router_reserved_answer(p, strlen(p), "app", "1.0", &handled, &out));
  CHECK(handled && out.status == 200 && out.content_type == NULL);
  CHECK(slice_is(out.body, out.body_len, "OK"));
  zh_router_reserved_free(&out);

  p = "/.well-known/spin/info";
  CHECK(!zh_router_reserved_answer(p, strlen(p), "hello-app", "0.1.0", &handled, &out));
  CHECK(handled && out.status == 200 && strcmp(out.content_type, "application/json") == 0);
  CHECK(slice_is(out.body, out.body_len,
                 "{\n  \"name\": \"hello-app\",\n  \"version\": \"0.1.0\"\n}"));
  zh_router_reserved_free(&out);

  /* No version: the field is left out; no name: "" ; strings escaped as serde_json does. */
  CHECK(!zh_router_reserved_answer(p, strlen(p), NULL, NULL, &handled, &out));
  CHECK(slice_is(out.body, out.body_len, "{\n  \"name\": \"\"\n}"));
  zh_router_reserved_free(&out);
  CHECK(!zh_router_reserved_answer(p, strlen(p), "a\"b\\c\n\x01/\xc3\xa9", NULL, &handled, &out));
  CHECK(slice_is(out.body, out.body_len, "{\n  \"name\": \"a\\\"b\\\\c\\n\\u0001/\xc3\xa9\"\n}"));
  zh_router_reserved_free(&out);

  const char *others[] = {"/.well-known/spin/", "/.well-known/spin/healthz",
                          "/.well-known/spin/health/", "/.well-known/spin/info/x"};
  for (size_t i = 0; i < 4; i++) {
    CHECK(!zh_router_reserved_answer(others[i], strlen(others[i]), "a", "1", &handled, &out));
    CHECK(handled && out.status == 404 && out.body_len == 0 && out.content_type == NULL);
    zh_router_reserved_free(&out);
  }
  const char *pass[] = {"/.well-known/spin", "/.well-known/spinx/health", "/health", "/"};
  for (size_t i = 0; i < 4; i++) {
    CHECK(!zh_router_reserved_answer(pass[i], strlen(pass[i]), "a", "1", &handled, &out));
    CHECK(!handled);
  }
}

int main(void) {
  test_exact();
  test_wildcard();
  test_captures();
  test_precedence();
  test_duplicates();
  test_base();
  test_odd_paths();
  test_invalid();
  test_reserved();
  TEST_SUMMARY();
}
