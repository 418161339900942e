/* Hop tracing end to end: `zerohop up` with --admin and --trace on a real app (a Spin HTTP
 * component that publishes to Redis, a Redis trigger subscriber that writes back to Redis, a
 * JS component making outbound HTTP) against a real redis-server and a loopback HTTP server,
 * both on ports chosen here. The /metrics scrape is read by prometheus_client's parser, the
 * SVG of `zerohop graph` by python3's xml.etree (tests/host/hops_check.py, run with
 * /usr/bin/python3, where Debian's python3-prometheus-client lives); the trace and wiring
 * lines are read from zerohop up's own output. Then the commands' bad input: missing
 * manifest, unwritable output, broken trace file, bad options. */
#include "httpclient.h"
#include "testlib.h"
#include "testutil.h"

#include "zerohop/http_server.h"

#include <limits.h>
#include <sys/stat.h>

#define START_LIMIT_MS 90000 /* the JS component under ASan takes a while */
#define SERVING "Serving http://127.0.0.1:"

static char tmpdir[64];
static char comp_dir[PATH_MAX];
static char app_dir[PATH_MAX];

static bool write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f)
    return false;
  fputs(text, f);
  return fclose(f) == 0;
}

/* True if some line of `text` holds `a` and, after it, `b`. */
static bool line_has(const char *text, const char *a, const char *b) {
  for (const char *p = text; p && (p = strstr(p, a)) != NULL; p++) {
    const char *eol = strchr(p, '\n');
    const char *q = strstr(p + strlen(a), b);
    if (q && (!eol || q < eol))
      return true;
  }
  fprintf(stderr, "  no line with `%s` ... `%s`\n", a, b);
  return false;
}

static int count_of(const char *text, const char *what) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
    n++;
  return n;
}

/* Runs build/zerohop with `args` (NULL-terminated); its result in *p. */
static bool run_cli(const char *const *args, zh_test_proc *p) {
  char cli[PATH_MAX];
  snprintf(cli, sizeof cli, "%s/zerohop", zh_test_build_dir());
  const char *argv[32] = {cli};
  size_t n = 1;
  for (size_t i = 0; args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  return zh_test_spawn(argv, NULL, NULL, 0, 60000, p);
}

/* hops_check.py MODE FILE: its stdout (malloc'd), or NULL. */
static char *check_py(const char *mode, const char *file) {
  const char *argv[] = {"/usr/bin/python3", "tests/host/hops_check.py", mode, file, NULL};
  zh_test_proc p;
  if (!zh_test_spawn(argv, NULL, NULL, 0, 60000, &p))
    return NULL;
  if (!p.exited || p.status != 0) {
    fprintf(stderr, "  hops_check.py %s %s failed: %s\n", mode, file, p.err ? p.err : "");
    zh_test_proc_free(&p);
    return NULL;
  }
  char *out = p.out;
  p.out = NULL;
  zh_test_proc_free(&p);
  return out;
}

static void upstream(zh_http_request *req, void *env) {
  (void)env;
  const zh_http_header h = {"content-type", 12, "text/plain", 10};
  zh_error *e = zh_http_response_start(req, 200, &h, 1);
  if (!e)
    e = zh_http_response_write(req, "from upstream\n", 14);
  if (!e)
    e = zh_http_response_finish(req, NULL, 0);
  zh_error_free(e);
}

static bool request(uint16_t port, const char *raw, zh_hc_response *r) {
  memset(r, 0, sizeof *r);
  zh_hc *c = zh_hc_open(port);
  if (!c)
    return false;
  bool ok = zh_hc_request(c, raw, r, 1 << 20);
  zh_hc_close(c);
  return ok;
}

static int status_of(uint16_t port, const char *raw) {
  zh_hc_response r;
  int st = request(port, raw, &r) ? r.status : -1;
  zh_hc_response_free(&r);
  return st;
}

/* The admin port from zerohop up's "Metrics: http://127.0.0.1:PORT/metrics" line. */
static uint16_t admin_port(const zh_test_cli_server *s) {
  const char *m = strstr(s->out, "Metrics: http://127.0.0.1:");
  return m ? (uint16_t)atoi(m + strlen("Metrics: http://127.0.0.1:")) : 0;
}

/* Scrapes /metrics into `path` until it holds `want` (a hop recorded after the response, as
 * a trigger's is, may lag a moment). */
static bool scrape_until(uint16_t port, const char *want, const char *path) {
  for (int i = 0; i < 100; i++) {
    zh_hc_response r;
    bool ok = zh_hc_get(port, "/metrics", &r) && r.status == 200 && r.body;
    bool has = ok && strstr(r.body, want) != NULL;
    if (has) {
      CHECK(strstr(r.head, "text/plain; version=0.0.4") != NULL);
      ok = write_file(path, r.body);
    }
    zh_hc_response_free(&r);
    if (has)
      return ok;
    struct timespec nap = {0, 50000000};
    nanosleep(&nap, NULL);
  }
  fprintf(stderr, "  /metrics never showed `%s`\n", want);
  return false;
}

static void write_app(uint16_t redis, const char *up_addr) {
  char toml[16384], path[PATH_MAX + 32];
  snprintf(toml, sizeof toml,
           "spin_manifest_version = 2\n[application]\nname = \"hops\"\n"
           "[application.trigger.redis]\naddress = \"redis://127.0.0.1:%u\"\n"
           "[[trigger.http]]\nroute = \"/pub\"\ncomponent = \"publisher\"\n"
           "[[trigger.http]]\nroute = \"/out\"\ncomponent = \"fetcher\"\n"
           "[[trigger.redis]]\nchannel = \"orders\"\ncomponent = \"notifier\"\n"
           "[component.publisher]\nsource = \"%s/host/hop_pub.wasm\"\n"
           "allowed_outbound_hosts = [\"redis://127.0.0.1:%u\", \"http://*.spin.internal\"]\n"
           "environment = { REDIS_ADDRESS = \"redis://127.0.0.1:%u\", CHANNEL = \"orders\" }\n"
           "key_value_stores = [\"default\"]\nsqlite_databases = [\"default\"]\n"
           "[component.notifier]\nsource = \"%s/redis-c.wasm\"\n"
           "allowed_outbound_hosts = [\"redis://127.0.0.1:%u\"]\n"
           "environment = { REDIS_ADDRESS = \"redis://127.0.0.1:%u\", COMPONENT = \"notifier\" }\n"
           "[component.fetcher]\nsource = \"%s/js-outbound.wasm\"\n"
           "allowed_outbound_hosts = [\"http://%s\"]\n",
           redis, comp_dir, redis, redis, comp_dir, redis, redis, comp_dir, up_addr);
  snprintf(app_dir, sizeof app_dir, "%s/app", tmpdir);
  mkdir(app_dir, 0755);
  snprintf(path, sizeof path, "%s/spin.toml", app_dir);
  CHECK(write_file(path, toml));
  snprintf(path, sizeof path, "%s/rc.toml", app_dir);
  CHECK(write_file(path, "[zerohop.channels.\"orders\"]\ntransport = \"redis\"\n"));
}

static bool start(zh_test_cli_server *s, const char *name, const char *trace_flag) {
  char rc[PATH_MAX + 16];
  snprintf(rc, sizeof rc, "%s/rc.toml", app_dir);
  const char *argv[] = {"up",
                        "-f",
                        app_dir,
                        "--listen",
                        "127.0.0.1:0",
                        "--admin",
                        "127.0.0.1:0",
                        "--runtime-config-file",
                        rc,
                        trace_flag,
                        NULL};
  int st = -1;
  bool ok = zh_test_cli_start(s, tmpdir, name, argv, NULL, SERVING, START_LIMIT_MS, &st);
  if (!ok) {
    char *e = zh_test_cli_err(s);
    fprintf(stderr, "  zerohop up did not start (exit %d): %s\n", st, e);
    free(e);
  }
  return ok;
}

/* The wiring print: every edge of this app, in-process or network. */
static void check_wiring(const char *out, uint16_t redis, const char *up_addr) {
  char r[64];
  snprintf(r, sizeof r, "127.0.0.1:%u", redis);
  CHECK(strstr(out, "Wiring:\n") != NULL);
  CHECK(line_has(out, "route:/pub -> publisher", "network     inbound"));
  CHECK(line_has(out, "publisher -> redis:orders", "network     redis (transport redis)"));
  CHECK(line_has(out, "publisher -> fetcher", "in-process  chain (*.spin.internal)"));
  CHECK(line_has(out, "publisher -> kv:default", "in-process  key-value (sqlite file)"));
  CHECK(line_has(out, "publisher -> sqlite:default", "in-process  sqlite"));
  CHECK(line_has(out, "notifier -> ", r));
  CHECK(line_has(out, "fetcher -> ", up_addr));
  CHECK(line_has(out, "redis:orders -> notifier", "network     redis (transport redis)"));
  CHECK(line_has(out, "redis:orders -> ", "subscribed"));
  CHECK(strstr(out, "10 edges: 3 in-process, 7 network") != NULL);
}

static void check_metrics(const char *scrape, uint16_t redis, const char *up_addr) {
  char *m = check_py("metrics", scrape);
  CHECK(m != NULL);
  if (!m)
    return;
  char want[512];
  CHECK(strstr(m, "zerohop_hops_total{callee=redis:orders,caller=publisher,kind=redis} 1\n"));
  CHECK(strstr(m, "zerohop_hop_bytes_total{callee=redis:orders,caller=publisher,kind=redis} "
                  "20\n")); /* PUBLISH orders order-1 */
  CHECK(strstr(m, "zerohop_hops_total{callee=notifier,caller=redis:orders,kind=redis} 1\n"));
  snprintf(want, sizeof want,
           "zerohop_hops_total{callee=127.0.0.1:%u,caller=notifier,kind=redis} 1\n", redis);
  CHECK(strstr(m, want) != NULL);
  snprintf(want, sizeof want, "zerohop_hops_total{callee=%s,caller=fetcher,kind=http} 2\n",
           up_addr);
  CHECK(strstr(m, want) != NULL);
  snprintf(want, sizeof want, "zerohop_hop_bytes_total{callee=%s,caller=fetcher,kind=http} 28\n",
           up_addr); /* two bodies of "from upstream\n" */
  CHECK(strstr(m, want) != NULL);
  snprintf(want, sizeof want,
           "zerohop_hop_duration_seconds_count{callee=%s,caller=fetcher,kind=http} 2\n", up_addr);
  CHECK(strstr(m, want) != NULL);
  /* the denied request: an error on its own edge */
  CHECK(strstr(m, "zerohop_hop_errors_total{callee=127.0.0.1:1,caller=fetcher,kind=http} 1\n"));
  CHECK(strstr(m, "zerohop_http_requests_total{component=fetcher,route=/out,status=200} 2\n"));
  CHECK(strstr(m, "zerohop_http_requests_total{component=fetcher,route=/out,status=502} 1\n"));
  CHECK(strstr(m, "zerohop_http_requests_total{component=publisher,route=/pub,status=200} 1\n"));
  CHECK(strstr(m, "zerohop_http_requests_total{component=,route=,status=404} 1\n"));
  CHECK(strstr(m, "zerohop_hops_dropped_total{} 0\n"));
  CHECK(strstr(m, "histograms ok\n"));
  free(m);
}

static void check_graph(const char *scrape, uint16_t redis, const char *up_addr) {
  char svg[PATH_MAX + 16], rc[PATH_MAX + 16];
  snprintf(svg, sizeof svg, "%s/app.svg", tmpdir);
  snprintf(rc, sizeof rc, "%s/rc.toml", app_dir);
  const char *args[] = {"graph",   "-f",   app_dir, "--runtime-config-file", rc, "-o", svg,
                        "--trace", scrape, NULL};
  zh_test_proc p;
  CHECK(run_cli(args, &p));
  CHECK(p.exited && p.status == 0);
  zh_test_proc_free(&p);
  char *g = check_py("svg", svg);
  CHECK(g != NULL);
  if (!g)
    return;
  CHECK(strstr(g, "svg ok\n") != NULL);
  const char *nodes[] = {"publisher",  "notifier",   "fetcher",    "redis:orders",
                         "route:/pub", "route:/out", "kv:default", "sqlite:default"};
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
    char want[128];
    snprintf(want, sizeof want, "node %s\n", nodes[i]);
    CHECK(strstr(g, want) != NULL);
  }
  char edges[12][160];
  int n = 0;
  snprintf(edges[n++], 160, "edge route:/pub->publisher\n");
  snprintf(edges[n++], 160, "edge route:/out->fetcher\n");
  snprintf(edges[n++], 160, "edge publisher->redis:orders\n");
  snprintf(edges[n++], 160, "edge publisher->fetcher\n");
  snprintf(edges[n++], 160, "edge publisher->kv:default\n");
  snprintf(edges[n++], 160, "edge publisher->sqlite:default\n");
  snprintf(edges[n++], 160, "edge notifier->127.0.0.1:%u\n", redis);
  snprintf(edges[n++], 160, "edge fetcher->%s\n", up_addr);
  snprintf(edges[n++], 160, "edge redis:orders->notifier\n");
  snprintf(edges[n++], 160, "edge redis:orders->127.0.0.1:%u\n", redis);
  snprintf(edges[n++], 160, "edge fetcher->127.0.0.1:1\n"); /* measured only: denied */
  for (int i = 0; i < n; i++)
    if (!strstr(g, edges[i])) {
      fprintf(stderr, "  svg lacks %s", edges[i]);
      CHECK(false);
    }
  CHECK_EQ_INT(count_of(g, "edge "), n);
  if (count_of(g, "edge ") != n)
    fprintf(stderr, "  the svg's edges:\n%s", g);
  free(g);
  uint8_t *text;
  size_t len;
  CHECK(zh_test_read_file(svg, &text, &len));
  CHECK(strstr((char *)text, "2 hops, mean") != NULL); /* the fetcher's measured edge */
  free(text);
}

static void run_app(uint16_t redis, const char *up_addr) {
  zh_test_cli_server s;
  if (!start(&s, "header", "--trace-header")) {
    CHECK(false);
    return;
  }
  uint16_t admin = admin_port(&s);
  CHECK(admin != 0);
  check_wiring(s.out, redis, up_addr);
  char req[1024];
  CHECK_EQ_INT(status_of(s.port, "POST /pub HTTP/1.1\r\nHost: h\r\nzerohop-trace: 1\r\n"
                                 "Content-Length: 7\r\n\r\norder-1"),
               200);
  snprintf(req, sizeof req,
           "GET /out HTTP/1.1\r\nHost: h\r\nzerohop-trace: 1\r\n"
           "x-zerohop-outbound-url: http://%s/data\r\n\r\n",
           up_addr);
  CHECK_EQ_INT(status_of(s.port, req), 200);
  snprintf(req, sizeof req,
           "GET /out HTTP/1.1\r\nHost: h\r\nx-zerohop-outbound-url: http://%s/data\r\n\r\n",
           up_addr);
  CHECK_EQ_INT(status_of(s.port, req), 200); /* no header: not traced */
  CHECK_EQ_INT(status_of(s.port, "GET /out HTTP/1.1\r\nHost: h\r\n"
                                 "x-zerohop-outbound-url: http://127.0.0.1:1/x\r\n\r\n"),
               502);
  CHECK_EQ_INT(status_of(s.port, "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n"), 404);
  /* the admin endpoint serves /metrics only */
  CHECK_EQ_INT(status_of(admin, "GET /other HTTP/1.1\r\nHost: h\r\n\r\n"), 404);
  CHECK_EQ_INT(status_of(admin, "POST /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
               405);
  char scrape[PATH_MAX + 16];
  snprintf(scrape, sizeof scrape, "%s/scrape.prom", tmpdir);
  /* a request is counted after its response went out, a message after its handler */
  static const char *const settled[] = {"route=\"/out\",component=\"fetcher\",status=\"200\"} 2",
                                        "route=\"/out\",component=\"fetcher\",status=\"502\"} 1",
                                        "status=\"404\"} 1", "callee=\"notifier\""};
  for (size_t i = 0; i < sizeof settled / sizeof *settled; i++)
    CHECK(scrape_until(admin, settled[i], scrape));
  check_metrics(scrape, redis, up_addr);

  char *err = zh_test_cli_err(&s);
  CHECK(line_has(err, "zerohop up: trace ", ": POST /pub -> publisher 200 in "));
  CHECK(line_has(err, ":   +", "publisher -> redis:orders redis "));
  CHECK_EQ_INT(count_of(err, ": GET /out -> fetcher 200 in "), 1);
  char want[300];
  snprintf(want, sizeof want, "fetcher -> %s http ", up_addr);
  CHECK(line_has(err, ":   +", want));
  CHECK(line_has(err, want, "ms 14B"));
  CHECK(strstr(err, "message on") == NULL); /* by header: requests only */
  free(err);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  check_graph(scrape, redis, up_addr);

  /* --trace: every request and every message */
  if (!start(&s, "all", "--trace")) {
    CHECK(false);
    return;
  }
  CHECK_EQ_INT(status_of(s.port, "POST /pub HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n"
                                 "order-2"),
               200);
  CHECK(scrape_until(admin_port(&s), "callee=\"notifier\"", scrape));
  err = zh_test_cli_err(&s);
  CHECK(line_has(err, "zerohop up: trace ", ": POST /pub -> publisher 200 in "));
  CHECK(line_has(err, "zerohop up: trace ", ": message on `orders` -> notifier in "));
  snprintf(want, sizeof want, "notifier -> 127.0.0.1:%u redis ", redis);
  CHECK(line_has(err, ":   +", want));
  CHECK(line_has(err, ":   +", "redis:orders -> notifier redis "));
  free(err);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

/* Runs `zerohop ARGS`, expecting exit `status` and `want` in its stderr. */
static void fails(const char *const *args, int status, const char *want) {
  zh_test_proc p;
  CHECK(run_cli(args, &p));
  CHECK(p.exited);
  CHECK_EQ_INT(p.status, status);
  if (!p.err || !strstr(p.err, want)) {
    fprintf(stderr, "  `zerohop %s %s`: want `%s` in: %s\n", args[0], args[1], want,
            p.err ? p.err : "");
    CHECK(false);
  }
  zh_test_proc_free(&p);
}

static void test_bad_input(void) {
  char out[PATH_MAX + 16], broken[PATH_MAX + 16], bad_app[PATH_MAX + 16], path[PATH_MAX + 32];
  snprintf(out, sizeof out, "%s/x.svg", tmpdir);
  const char *missing[] = {"graph", "-f", "/nonexistent/app", "-o", out, NULL};
  fails(missing, 1, "/nonexistent/app");
  const char *unwritable[] = {"graph", "-f", app_dir, "-o", "/nonexistent-dir/app.svg", NULL};
  fails(unwritable, 1, "cannot write /nonexistent-dir/app.svg");
  snprintf(broken, sizeof broken, "%s/broken.prom", tmpdir);
  CHECK(write_file(broken, "# a scrape cut short\nzerohop_hops_total{caller=\"a\" 1\n"));
  const char *bad_trace[] = {"graph", "-f", app_dir, "-o", out, "--trace", broken, NULL};
  char want[PATH_MAX + 64];
  snprintf(want, sizeof want, "%s:2:31: expected ',' or '}'", broken);
  fails(bad_trace, 1, want);
  struct stat st;
  CHECK(stat(out, &st) != 0); /* nothing written for a failed graph */
  const char *no_trace[] = {"graph", "-f", app_dir, "-o", out, "--trace", "/nonexistent.prom",
                            NULL};
  fails(no_trace, 1, "--trace /nonexistent.prom: No such file");
  const char *no_out[] = {"graph", "-f", app_dir, NULL};
  fails(no_out, 2, "-o OUT is required");
  const char *bad_ext[] = {"graph", "-f", app_dir, "-o", "app.txt", NULL};
  fails(bad_ext, 2, "extension must be");
  snprintf(bad_app, sizeof bad_app, "%s/bad", tmpdir);
  mkdir(bad_app, 0755);
  snprintf(path, sizeof path, "%s/spin.toml", bad_app);
  CHECK(write_file(path, "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
                         "[component.a]\nsoruce = \"a.wasm\"\n"));
  const char *bad_manifest[] = {"graph", "-f", bad_app, "-o", out, NULL};
  fails(bad_manifest, 1, "spin.toml:5:1");
  const char *bad_admin[] = {"up",          "-f",      app_dir,           "--listen",
                             "127.0.0.1:0", "--admin", "127.0.0.1:99999", NULL};
  fails(bad_admin, 1, "--admin");
  /* DOT text needs no Graphviz and names every node too */
  snprintf(out, sizeof out, "%s/app.dot", tmpdir);
  const char *dot[] = {"graph", "-f", app_dir, "-o", out, NULL};
  zh_test_proc p;
  CHECK(run_cli(dot, &p));
  CHECK(p.exited && p.status == 0);
  zh_test_proc_free(&p);
  uint8_t *text;
  size_t len;
  CHECK(zh_test_read_file(out, &text, &len));
  CHECK(strstr((char *)text, "digraph \"hops\" {") != NULL);
  CHECK(strstr((char *)text, "\"redis:orders\" -> \"notifier\" [style=dashed") != NULL);
  free(text);
}

int main(void) {
  char root[PATH_MAX - 64];
  if (!getcwd(root, sizeof root))
    return 1;
  snprintf(comp_dir, sizeof comp_dir, "%s/build/components", root);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/zh-test-hops-XXXXXX");
  if (!mkdtemp(tmpdir))
    return 1;
  signal(SIGPIPE, SIG_IGN);
  zh_test_redis redis = {0};
  zh_http_config cfg = {0};
  cfg.addr = "127.0.0.1:0";
  cfg.handler = upstream;
  zh_http_server *up = NULL;
  zh_error *e = zh_http_server_start(&cfg, &up);
  CHECK(e == NULL);
  zh_error_free(e);
  bool redis_ok = zh_test_redis_start(&redis);
  CHECK(redis_ok);
  if (up && redis_ok) {
    write_app(redis.port, zh_http_server_address(up));
    run_app(redis.port, zh_http_server_address(up));
    test_bad_input();
  }
  zh_test_redis_stop(&redis);
  if (up) {
    zh_http_server_stop(up, 1000);
    zh_http_server_free(up);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (zh_test_failed == 0 && system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  TEST_SUMMARY();
}
