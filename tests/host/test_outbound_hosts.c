/* allowed_outbound_hosts (src/host/outbound_hosts.c): the parser on every form and every
 * error Spin's syntax has, the matcher on schemes, host wildcards, IP networks, ports, port
 * ranges, default ports and relative (`self`) requests, and the rules as WASI 0.2's outbound
 * HTTP policy: tests/wasip2/guest_http.c (the wasi:http test guest) sends real requests to a
 * loopback HTTP server run here; an allowed one arrives, a denied one answers
 * HTTP-request-denied, is logged, and never reaches the server. */
#include "host/outbound_hosts.h"
#include "testlib.h"
#include "testutil.h"
#include "wit/guest_build.h"
#include "zerohop/wasip2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char warned[1024];
static int nwarned;

static void warn_fn(void *env, const char *line) {
  (void)env;
  snprintf(warned, sizeof warned, "%s", line);
  nwarned++;
}

static zh_host_outbound *parse1(const char *entry) {
  zh_host_outbound *r = NULL;
  zh_error *err = zh_host_outbound_parse("comp", &entry, 1, 0, warn_fn, NULL, &r);
  if (err)
    fprintf(stderr, "parse \"%s\": %s\n", entry, zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  return r;
}

typedef struct probe {
  const char *scheme, *host;
  uint16_t port;
  bool want;
} probe;

static void check_probes(const char *entry, const probe *ps, size_t n) {
  zh_host_outbound *r = parse1(entry);
  for (size_t i = 0; r && i < n; i++) {
    bool got = zh_host_outbound_allows(r, ps[i].scheme, ps[i].host, ps[i].port);
    if (got != ps[i].want)
      fprintf(stderr, "\"%s\" on %s://%s:%u: got %d, want %d\n", entry, ps[i].scheme,
              ps[i].host ? ps[i].host : "(relative)", ps[i].port, got, ps[i].want);
    CHECK(got == ps[i].want);
  }
  zh_host_outbound_free(r);
}

#define PROBES(entry, ...)                                                                         \
  do {                                                                                             \
    const probe ps_[] = {__VA_ARGS__};                                                             \
    check_probes(entry, ps_, sizeof ps_ / sizeof ps_[0]);                                          \
  } while (0)

static void test_matching(void) {
  /* exact host, default port of the scheme */
  PROBES("https://example.com", {"https", "example.com", 443, true},
         {"https", "example.com", 0, true}, {"https", "EXAMPLE.com", 443, true},
         {"https", "example.com", 8443, false}, {"http", "example.com", 80, false},
         {"https", "www.example.com", 443, false}, {"https", "example.co", 443, false});
  PROBES("http://example.com", {"http", "example.com", 80, true},
         {"http", "example.com", 8080, false});
  PROBES("redis://cache", {"redis", "cache", 6379, true}, {"redis", "cache", 0, true},
         {"redis", "cache", 6380, false}, {"rediss", "cache", 6379, false});
  PROBES("mysql://db", {"mysql", "db", 3306, true}, {"mysql", "db", 3307, false});
  PROBES("postgres://db", {"postgres", "db", 5432, true}, {"postgres", "db", 5433, false});
  PROBES("mqtt://broker", {"mqtt", "broker", 1883, true});
  /* explicit, any and ranged ports */
  PROBES("http://localhost:3000", {"http", "localhost", 3000, true},
         {"http", "localhost", 80, false}, {"http", "localhost", 0, false});
  PROBES("https://example.com:*", {"https", "example.com", 1, true},
         {"https", "example.com", 65535, true}, {"https", "example.com", 0, true});
  PROBES("http://localhost:8000..8010", {"http", "localhost", 7999, false},
         {"http", "localhost", 8000, true}, {"http", "localhost", 8009, true},
         {"http", "localhost", 8010, false});
  PROBES("rediss://cache:6380", {"rediss", "cache", 6380, true}, {"redis", "cache", 6380, false});
  /* wildcards: any scheme, any host, subdomains (not the domain itself) */
  PROBES("*://example.com:443", {"https", "example.com", 443, true},
         {"http", "example.com", 443, true}, {"redis", "example.com", 443, true},
         {"http", "example.com", 80, false});
  PROBES("https://*:443", {"https", "anything.test", 443, true}, {"https", "10.1.2.3", 443, true},
         {"http", "anything.test", 443, false});
  PROBES("*://*:*", {"http", "a", 1, true}, {"redis", "b", 6379, true}, {"x", "c", 9, true},
         {"http", NULL, 0, true});
  PROBES("https://*.example.com", {"https", "api.example.com", 443, true},
         {"https", "a.b.example.com", 443, true}, {"https", "example.com", 443, false},
         {"https", "badexample.com", 443, false}, {"https", "api.example.com.evil", 443, false});
  PROBES("http://*.spin.internal", {"http", "backend.spin.internal", 80, true},
         {"http", "spin.internal", 80, false}, {"https", "backend.spin.internal", 443, false});
  PROBES("http://backend.spin.internal", {"http", "backend.spin.internal", 80, true},
         {"http", "other.spin.internal", 80, false});
  /* self: relative requests only */
  PROBES("http://self", {"http", NULL, 0, true}, {"http", "", 0, true}, {"https", NULL, 0, false},
         {"http", "self", 80, false}, {"http", "localhost", 80, false});
  PROBES("*://self.alt:*", {"https", NULL, 0, true});
  PROBES("https://example.com", {"https", NULL, 0, false});
  /* IP addresses and networks */
  PROBES("redis://127.0.0.1:6379", {"redis", "127.0.0.1", 6379, true},
         {"redis", "127.0.0.2", 6379, false}, {"redis", "localhost", 6379, false});
  PROBES("http://10.0.0.0/8:*", {"http", "10.200.3.4", 80, true}, {"http", "11.0.0.1", 80, false},
         {"http", "ten.example", 80, false});
  PROBES("http://192.168.1.77/24", {"http", "192.168.1.1", 80, true},
         {"http", "192.168.2.1", 80, false});
  PROBES("http://[::1]:8080", {"http", "::1", 8080, true}, {"http", "[::1]", 8080, true},
         {"http", "::2", 8080, false}, {"http", "127.0.0.1", 8080, false});
  PROBES("http://[::1]", {"http", "::1", 80, true}, {"http", "0:0::1", 80, true});
  PROBES("https://[fd00::]/8:*", {"https", "fd12::1", 1234, true},
         {"https", "fe80::1", 1234, false});
  /* surrounding space and a trailing slash are allowed */
  PROBES("  https://example.com/  ", {"https", "example.com", 443, true});
  PROBES("https://example.com:8443/", {"https", "example.com", 8443, true});

  /* several entries: any one may allow */
  const char *many[] = {"https://a.test", "redis://127.0.0.1:7000"};
  zh_host_outbound *r = NULL;
  zh_error *err = zh_host_outbound_parse("comp", many, 2, 0, NULL, NULL, &r);
  CHECK(err == NULL);
  CHECK(zh_host_outbound_allows(r, "https", "a.test", 443));
  CHECK(zh_host_outbound_allows(r, "redis", "127.0.0.1", 7000));
  CHECK(!zh_host_outbound_allows(r, "redis", "127.0.0.1", 6379));
  CHECK(zh_host_outbound_allows_url(r, "redis://127.0.0.1:7000"));
  CHECK(zh_host_outbound_allows_url(r, "redis://user:secret@127.0.0.1:7000/2"));
  CHECK(zh_host_outbound_allows_url(r, "https://a.test/path?q=1"));
  CHECK(!zh_host_outbound_allows_url(r, "redis://127.0.0.1"));
  CHECK(!zh_host_outbound_allows_url(r, "127.0.0.1:7000"));
  CHECK(!zh_host_outbound_allows_url(r, "redis://127.0.0.1:99999"));
  CHECK(!zh_host_outbound_allows_url(r, "redis://:7000"));
  CHECK(!zh_host_outbound_allows_url(r, NULL));
  zh_host_outbound_free(r);

  /* no entries: nothing is allowed; NULL rules neither */
  err = zh_host_outbound_parse("comp", NULL, 0, 0, NULL, NULL, &r);
  CHECK(err == NULL);
  CHECK(!zh_host_outbound_allows(r, "https", "example.com", 443));
  CHECK(!zh_host_outbound_allows(r, "http", NULL, 0));
  zh_host_outbound_free(r);
  CHECK(!zh_host_outbound_allows(NULL, "http", "a", 80));
}

/* Each bad entry: ZH_ERR_INVALID, naming the component, the index, the entry and why. */
static void check_bad(const char *entry, const char *why) {
  const char *entries[] = {"https://fine.test", entry};
  zh_host_outbound *r = NULL;
  zh_error *err = zh_host_outbound_parse("api", entries, 2, 0, NULL, NULL, &r);
  CHECK(err != NULL && r == NULL);
  if (!err)
    return;
  char want[300];
  snprintf(want, sizeof want, "component \"api\": allowed_outbound_hosts[1] \"%s\": ", entry);
  const char *msg = zh_error_message(err);
  bool ok = zh_error_status(err) == ZH_ERR_INVALID && strncmp(msg, want, strlen(want)) == 0 &&
            strstr(msg + strlen(want), why) != NULL;
  if (!ok)
    fprintf(stderr, "bad \"%s\": got \"%s\", want \"%s...%s...\"\n", entry, msg, want, why);
  CHECK(ok);
  zh_error_free(err);
}

static void test_errors(void) {
  check_bad("example.com", "has no scheme");
  check_bad("insecure:allow-all", "'*://*:*'");
  check_bad("*", "SCHEME://HOST[:PORT]");
  check_bad("", "SCHEME://HOST[:PORT]");
  check_bad("://example.com", "the scheme is empty");
  check_bad("ht1p://example.com:80", "not a letter");
  check_bad("{http,https}://example.com", "scheme lists");
  check_bad("*://example.com", "no well-known port");
  check_bad("rediss://cache", "no well-known port");
  check_bad("ftp://files.test", "no well-known port");
  check_bad("https://", "the host is empty");
  check_bad("https://:443", "the host is empty");
  check_bad("https://{a,b}.test", "host lists");
  check_bad("https://*example.com", "wildcards are allowed only");
  check_bad("https://api.*.example.com", "wildcards are allowed only");
  check_bad("https://*.", "a wildcard host");
  check_bad("https://*.a.*.b", "a wildcard host");
  check_bad("https://example.com/path", "has a path");
  check_bad("https://example.com:443/path", "has a path");
  check_bad("https://example.com:https", "is not a number");
  check_bad("https://example.com:65536", "is not a number");
  check_bad("https://example.com:-1", "is not a number");
  check_bad("https://example.com:{80,443}", "port lists");
  check_bad("https://example.com:90..80", "is empty");
  check_bad("https://example.com:80..", "LO..HI");
  check_bad("https://example.com:a..b", "LO..HI");
  check_bad("http://::1:80", "IPv6 addresses go in brackets");
  check_bad("http://[::1:80", "not closed");
  check_bad("http://[nope]:80", "not an IPv6 address");
  check_bad("http://[::1]x", "unexpected text");
  check_bad("http://[fd00::]/200:*", "not an IPv6 network");

  /* without a component name the message starts at the entry */
  const char *e = "nope";
  zh_host_outbound *r = NULL;
  zh_error *err = zh_host_outbound_parse(NULL, &e, 1, 0, NULL, NULL, &r);
  CHECK(err && strncmp(zh_error_message(err), "allowed_outbound_hosts[0] \"nope\": ", 34) == 0);
  zh_error_free(err);
}

/* Spin 1's allowed_http_hosts: accepted with one warning each, in their Spin 2 meaning. */
static void test_legacy(void) {
  const char *old[] = {"example.com", "self", "api.test:8080", "https://kept.test"};
  zh_host_outbound *r = NULL;
  nwarned = 0;
  zh_error *err =
      zh_host_outbound_parse("web", old, 4, ZH_HOST_OUTBOUND_LEGACY_HTTP, warn_fn, NULL, &r);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK_EQ_INT(nwarned, 3);
  CHECK(strstr(warned, "component \"web\"") && strstr(warned, "\"api.test:8080\"") &&
        strstr(warned, "\"https://api.test:8080\"") && strstr(warned, "deprecated"));
  CHECK(zh_host_outbound_allows(r, "https", "example.com", 443));
  CHECK(!zh_host_outbound_allows(r, "http", "example.com", 80));
  CHECK(zh_host_outbound_allows(r, "http", NULL, 0));
  CHECK(zh_host_outbound_allows(r, "https", "api.test", 8080));
  CHECK(zh_host_outbound_allows(r, "https", "kept.test", 443));
  zh_host_outbound_free(r);

  const char *all = "insecure:allow-all";
  nwarned = 0;
  err = zh_host_outbound_parse("web", &all, 1, ZH_HOST_OUTBOUND_LEGACY_HTTP, warn_fn, NULL, &r);
  CHECK(err == NULL && nwarned == 1 && strstr(warned, "\"*://*:*\""));
  CHECK(zh_host_outbound_allows(r, "redis", "anywhere", 1));
  zh_host_outbound_free(r);
}

static void test_split(void) {
  char h[64];
  uint16_t p;
  CHECK(zh_host_outbound_split_authority("a.test:81", 9, h, sizeof h, &p) && !strcmp(h, "a.test") &&
        p == 81);
  CHECK(zh_host_outbound_split_authority("a.test", 6, h, sizeof h, &p) && p == 0);
  CHECK(zh_host_outbound_split_authority("[::1]:9", 7, h, sizeof h, &p) && !strcmp(h, "::1") &&
        p == 9);
  CHECK(zh_host_outbound_split_authority("[::1]", 5, h, sizeof h, &p) && p == 0);
  CHECK(!zh_host_outbound_split_authority("::1", 3, h, sizeof h, &p));
  CHECK(!zh_host_outbound_split_authority("[::1", 4, h, sizeof h, &p));
  CHECK(!zh_host_outbound_split_authority("a:b", 3, h, sizeof h, &p));
  CHECK(!zh_host_outbound_split_authority("a:70000", 7, h, sizeof h, &p));
  CHECK(!zh_host_outbound_split_authority("a.test:1", 8, h, 4, &p));
  CHECK_EQ_INT(zh_host_outbound_default_port("HTTPS"), 443);
  CHECK_EQ_INT(zh_host_outbound_default_port("rediss"), 0);
}

/* ---- the rules as WASI 0.2's outbound HTTP policy ---- */

static zh_engine *engine;
static zh_module *module;
static zh_wit *wit;
static zh_wasip2_plan *plan;
static char logged[512];
static int nlogged;

static void log_fn(void *env, const char *line) {
  (void)env;
  snprintf(logged, sizeof logged, "%s", line);
  nlogged++;
}

typedef struct policy_seen {
  const zh_host_outbound *rules;
  char scheme[16], host[64];
  unsigned port;
  int calls;
} policy_seen;

/* The policy as the app host installs it, recording what it was asked. */
static bool recording_policy(void *env, const char *scheme, const char *host, uint16_t port) {
  policy_seen *s = env;
  snprintf(s->scheme, sizeof s->scheme, "%s", scheme);
  snprintf(s->host, sizeof s->host, "%s", host);
  s->port = port;
  s->calls++;
  return zh_host_outbound_policy((void *)s->rules, scheme, host, port);
}

/* Runs the guest's `run(which)` and returns what it printed (static buffer). */
static const char *run_guest(zh_wasip2_config *c, const char *which) {
  static char out[2048];
  out[0] = 0;
  c->stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  c->log = log_fn;
  zh_error *err = NULL;
  zh_wasip2_ctx *cx = zh_wasip2_new(c, &err);
  zh_store *store = NULL;
  zh_component *comp = NULL;
  zh_val arg = zh_val_bool(false), res = zh_val_bool(false);
  if (!err)
    err = zh_store_new(engine, &store);
  if (!err)
    err = zh_component_new(store, module, zh_wit_find_world(zh_wit_root(wit), "http"), &comp);
  if (!err)
    err = zh_wasip2_define_plan(comp, cx, plan);
  if (!err)
    err = zh_component_instantiate(comp, NULL, 0);
  if (!err)
    err = zh_val_string_cstr(&arg, which);
  if (!err)
    err = zh_component_call(comp, NULL, "run", &arg, 1, &res);
  if (err)
    fprintf(stderr, "%s: %s\n", which, zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  size_t n;
  const char *printed = cx ? zh_wasip2_stdout_captured(cx, &n) : NULL;
  snprintf(out, sizeof out, "%s", printed ? printed : "");
  zh_val_drop(&arg);
  zh_val_drop(&res);
  zh_component_free(comp);
  zh_store_free(store);
  zh_wasip2_free(cx);
  return out;
}

typedef struct server {
  int fd, served;
  uint16_t port;
  pthread_t thread;
} server;

/* Answers every request with 200 and the body "hi" (the guest prints status and body). */
static void *server_main(void *arg) {
  server *s = arg;
  for (;;) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      break;
    char buf[4096];
    size_t n = 0;
    while (n < sizeof buf - 1) {
      ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
      if (r <= 0)
        break;
      n += (size_t)r;
      buf[n] = 0;
      if (strstr(buf, "\r\n\r\n"))
        break;
    }
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Server: zh\r\n"
                               "Connection: close\r\n\r\nhi";
    ssize_t w = write(c, resp, sizeof resp - 1);
    (void)w;
    close(c);
    s->served++;
  }
  return NULL;
}

static bool server_start(server *s) {
  memset(s, 0, sizeof *s);
  if ((s->fd = zh_test_listen_loopback(&s->port)) < 0)
    return false;
  return pthread_create(&s->thread, NULL, server_main, s) == 0;
}

static void server_stop(server *s) {
  shutdown(s->fd, SHUT_RDWR);
  close(s->fd);
  pthread_join(s->thread, NULL);
}

static void test_http_policy(void) {
  server srv;
  if (!server_start(&srv)) {
    CHECK(!"loopback server");
    return;
  }
  char rule_port[64], rule_range[64], get[64], get_localhost[64];
  snprintf(rule_port, sizeof rule_port, "http://127.0.0.1:%d", srv.port);
  snprintf(rule_range, sizeof rule_range, "http://127.0.0.0/8:%d..%d", srv.port, srv.port + 1);
  snprintf(get, sizeof get, "get 127.0.0.1:%d", srv.port);
  snprintf(get_localhost, sizeof get_localhost, "get localhost:%d", srv.port);

  /* allowed by an exact rule: the request arrives; the policy saw scheme, host, port */
  const char *exact[] = {rule_port};
  zh_host_outbound *rules = NULL;
  zh_error *err = zh_host_outbound_parse("web", exact, 1, 0, NULL, NULL, &rules);
  CHECK(err == NULL);
  policy_seen seen = {.rules = rules};
  zh_wasip2_config c = {.http_allowed = recording_policy, .http_allowed_env = &seen};
  const char *out = run_guest(&c, get);
  CHECK(strncmp(out, "status=200 x-server=zh body=hi", 30) == 0);
  CHECK_EQ_INT(srv.served, 1);
  CHECK_EQ_INT(seen.calls, 1);
  CHECK(strcmp(seen.scheme, "http") == 0 && strcmp(seen.host, "127.0.0.1") == 0 &&
        seen.port == (unsigned)srv.port);

  /* the policy wins over http_allow: "*" there does not let a denied request through */
  const char *star[] = {"*"};
  c.http_allow = star;
  c.nhttp_allow = 1;
  nlogged = 0;
  out = run_guest(&c, get_localhost);
  if (strcmp(out, "error=15\n") != 0)
    fprintf(stderr, "denied: got \"%s\"\n", out);
  CHECK(strcmp(out, "error=15\n") == 0); /* HTTP-request-denied */
  CHECK_EQ_INT(srv.served, 1);
  CHECK_EQ_INT(nlogged, 1);
  char want[128];
  snprintf(want, sizeof want, "wasip2: outbound HTTP GET http://localhost:%d/hello denied",
           srv.port);
  CHECK(strncmp(logged, want, strlen(want)) == 0);
  CHECK(strcmp(seen.host, "localhost") == 0);
  zh_host_outbound_free(rules);

  /* a port range and a network */
  const char *ranged[] = {rule_range};
  err = zh_host_outbound_parse("web", ranged, 1, 0, NULL, NULL, &rules);
  CHECK(err == NULL);
  seen.rules = rules;
  out = run_guest(&c, get);
  CHECK(strncmp(out, "status=200", 10) == 0);
  CHECK_EQ_INT(srv.served, 2);
  zh_host_outbound_free(rules);

  /* a rule for another port or scheme denies */
  char other[64];
  snprintf(other, sizeof other, "https://127.0.0.1:%d", srv.port);
  const char *wrong[] = {other, "http://127.0.0.1"};
  err = zh_host_outbound_parse("web", wrong, 2, 0, NULL, NULL, &rules);
  CHECK(err == NULL);
  seen.rules = rules;
  CHECK(strcmp(run_guest(&c, get), "error=15\n") == 0);
  CHECK_EQ_INT(srv.served, 2);
  zh_host_outbound_free(rules);
  server_stop(&srv);
}

int main(void) {
  test_matching();
  test_errors();
  test_legacy();
  test_split();

  const char *build = zh_test_build_dir();
  char cli[256], witdir[128];
  snprintf(cli, sizeof cli, "%s/zerohop", build);
  strcpy(tmp, "/tmp/zh_outbound_XXXXXX");
  if (!mkdtemp(tmp))
    return 1;
  CHECK(run("mkdir -p %s/wit/deps && cp tests/wasip2/wit/*.wit %s/wit/ && cp wit/deps/*.wit "
            "%s/wit/deps/",
            tmp, tmp, tmp) == 0);
  snprintf(witdir, sizeof witdir, "%s/wit", tmp);
  zh_error *err = zh_engine_new(NULL, &engine);
  CHECK(err == NULL);
  if (build_guest(cli, witdir, "http", "http", "tests/wasip2", "guest_http", "") &&
      (module = load_module(engine, "http")) != NULL) {
    err = zh_wit_load_dir(witdir, &wit);
    CHECK(err == NULL);
    zh_error_free(err);
    if (wit) {
      err = zh_wasip2_plan_new(zh_wit_find_world(zh_wit_root(wit), "http"), &plan);
      CHECK(err == NULL);
      zh_error_free(err);
    }
    if (plan)
      test_http_policy();
  } else {
    CHECK(!"the wasi:http test guest builds");
  }
  zh_wasip2_plan_free(plan);
  zh_wit_free(wit);
  zh_module_free(module);
  zh_engine_free(engine);
  run("rm -rf %s", tmp);
  TEST_SUMMARY();
}
