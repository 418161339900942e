/* `zerohop serve` end to end: the CLI ($ZH_BUILD/zerohop) is started on 127.0.0.1 with a port
 * it picks (--addr 127.0.0.1:0, the address read from its first stdout line), driven with
 * real sockets (tests/httpclient.h) and curl, and stopped by PID with SIGTERM. The components
 * are those of `make components` (build/components) and c-http-hostile.wasm (mk/serve.mk). */
#include "httpclient.h"
#include "testlib.h"
#include "testutil.h"

#include "zerohop/http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define COMP "build/components/"
#define START_LIMIT_MS 60000 /* loading a 13 MB JS component under ASan takes a while */

static char tmpdir[64];

static bool header_is(const zh_hc_response *r, const char *name, const char *want) {
  char v[256];
  return zh_hc_header(r, name, v, sizeof v) && strcmp(v, want) == 0;
}

static bool body_is(const zh_hc_response *r, const char *want) {
  return r->body && r->complete && strcmp(r->body, want) == 0;
}

static long rss_kib(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kib = atol(line + 6);
  if (f)
    fclose(f);
  return kib;
}

/* ---- bad input: one line, exit 1 ---- */

static int lines_in(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void expect_load_failure(const char *name, const char *comp, const char *needle) {
  const char *args[] = {"--addr", "127.0.0.1:0", comp, NULL};
  char err_path[256];
  snprintf(err_path, sizeof err_path, "%s/%s.err", tmpdir, name);
  int fd;
  pid_t pid = zh_test_serve_spawn(args, &fd, err_path);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  char out[256];
  ssize_t got = read(fd, out, sizeof out); /* nothing: it never serves */
  close(fd);
  CHECK_EQ_INT(got, 0);
  CHECK_EQ_INT(zh_test_wait_exit(pid, START_LIMIT_MS), 1);
  zh_test_server s;
  snprintf(s.err_path, sizeof s.err_path, "%s", err_path);
  char *e = zh_test_serve_err(&s);
  CHECK_EQ_INT(lines_in(e), 1);
  CHECK(strstr(e, comp) != NULL);
  CHECK(strstr(e, needle) != NULL);
  if (!strstr(e, needle))
    fprintf(stderr, "  %s: stderr was: %s", name, e);
  free(e);
}

static void test_bad_input(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/missing.wasm", tmpdir);
  expect_load_failure("missing", path, "No such file");

  /* The smallest core module: magic and version. */
  snprintf(path, sizeof path, "%s/core.wasm", tmpdir);
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    fwrite("\0asm\1\0\0\0", 1, 8, f);
    fclose(f);
  }
  expect_load_failure("core", path, "not a component");

  /* A command component: no wasi:http/incoming-handler. */
  expect_load_failure("command", COMP "c-args.wasm", "not an HTTP handler");

  /* A real component cut short: the decoder names a section and an offset. */
  uint8_t *bytes;
  size_t len;
  CHECK(zh_test_read_file(COMP "c-http-hello.wasm", &bytes, &len));
  snprintf(path, sizeof path, "%s/truncated.wasm", tmpdir);
  f = fopen(path, "wb");
  if (f && bytes) {
    fwrite(bytes, 1, len / 2, f);
    fclose(f);
  }
  free(bytes);
  expect_load_failure("truncated", path, "offset");
}

/* ---- well-behaved handlers ---- */

static void test_c_hello(void) {
  zh_test_server s;
  CHECK(zh_test_serve_start(&s, tmpdir, "c-hello", COMP "c-http-hello.wasm", NULL, START_LIMIT_MS));
  if (!s.port)
    return;
  /* Two requests on one keep-alive connection, each a fresh instance. */
  zh_hc *c = zh_hc_open(s.port);
  CHECK(c != NULL);
  for (int i = 0; c && i < 2; i++) {
    zh_hc_response r = {0};
    CHECK(zh_hc_request(c, "GET / HTTP/1.1\r\nHost: test\r\n\r\n", &r, 4096));
    CHECK_EQ_INT(r.status, 200);
    CHECK(header_is(&r, "content-type", "text/plain"));
    CHECK(body_is(&r, "hello from C\n"));
    zh_hc_response_free(&r);
  }
  zh_hc_close(c);

  /* And with curl, as a user would. */
  char cmd[256];
  snprintf(cmd, sizeof cmd, "curl -s -i --max-time 10 http://127.0.0.1:%u/curl 2>&1", s.port);
  FILE *p = popen(cmd, "r");
  char out[4096] = {0};
  size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
  CHECK(p && pclose(p) == 0);
  out[n] = 0;
  CHECK(strstr(out, "HTTP/1.1 200") == out);
  CHECK(strstr(out, "content-type: text/plain\r\n") != NULL);
  CHECK(strstr(out, "\r\n\r\nhello from C\n") != NULL);
  CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
  char *e = zh_test_serve_err(&s);
  CHECK(strstr(e, "instantiate median") != NULL); /* the figure bench-serve reads */
  free(e);
}

static void test_js_hello_and_spin(void) {
  zh_test_server s;
  CHECK(zh_test_serve_start(&s, tmpdir, "js-hello", COMP "js-hello.wasm", NULL, START_LIMIT_MS));
  if (s.port) {
    zh_hc_response r;
    CHECK(zh_hc_get(s.port, "/", &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK(header_is(&r, "content-type", "text/plain; charset=utf-8"));
    CHECK(header_is(&r, "x-zerohop-test", "hello"));
    CHECK(body_is(&r, "hello from componentize-js\n"));
    zh_hc_response_free(&r);
    CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
  }
  CHECK(
      zh_test_serve_start(&s, tmpdir, "spin-hello", COMP "spin-hello.wasm", NULL, START_LIMIT_MS));
  if (s.port) {
    zh_hc_response r;
    CHECK(zh_hc_get(s.port, "/", &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK(header_is(&r, "x-zerohop-test", "spin-hello"));
    CHECK(body_is(&r, "hello from a Spin JS app\n"));
    zh_hc_response_free(&r);
    CHECK(zh_hc_get(s.port, "/nowhere", &r));
    CHECK_EQ_INT(r.status, 404);
    CHECK(body_is(&r, "not found: /nowhere\n"));
    zh_hc_response_free(&r);
    CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
  }
}

static void test_js_routes(void) {
  zh_test_server s;
  CHECK(zh_test_serve_start(&s, tmpdir, "js-routes", COMP "js-routes.wasm", NULL, START_LIMIT_MS));
  if (!s.port)
    return;
  zh_hc_response r;
  CHECK(zh_hc_get(s.port, "/", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, "home\n"));
  zh_hc_response_free(&r);
  CHECK(zh_hc_get(s.port, "/hello/zerohop", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, "hello zerohop\n"));
  zh_hc_response_free(&r);
  CHECK(zh_hc_get(s.port, "/status/418", &r));
  CHECK_EQ_INT(r.status, 418);
  zh_hc_response_free(&r);
  CHECK(zh_hc_get(s.port, "/no/such/route", &r));
  CHECK_EQ_INT(r.status, 404);
  CHECK(body_is(&r, "not found: /no/such/route\n"));
  zh_hc_response_free(&r);
  CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
}

static void echo(uint16_t port, uint64_t size, bool chunked) {
  zh_hc *c = zh_hc_open(port);
  CHECK(c != NULL);
  if (!c)
    return;
  zh_hc_response r = {0};
  CHECK(zh_hc_post_pattern(c, "/echo", size, chunked, 65536, &r, 64));
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.complete);
  CHECK_EQ_INT(r.body_total, size);
  CHECK(r.body_hash == zh_hc_pattern_hash(size));
  if (!chunked) {
    char len[32];
    snprintf(len, sizeof len, "%llu", (unsigned long long)size);
    CHECK(header_is(&r, "x-echo-content-length", len));
  }
  CHECK(header_is(&r, "x-echo-method", "POST"));
  zh_hc_response_free(&r);
  zh_hc_close(c);
}

/* A request body that never ends: the guest's read gives up at --timeout, the client gets a
 * 500 or a cut-off response, and the server goes on. */
static void endless_request_body(uint16_t port) {
  zh_hc *c = zh_hc_open(port);
  CHECK(c != NULL);
  if (!c)
    return;
  CHECK(zh_hc_send_str(c, "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n"
                          "only the first bytes"));
  zh_hc_response r = {0};
  bool got = zh_hc_read(c, &r, false, 64);
  CHECK(!got || r.status == 500 || (r.status == 200 && !r.complete));
  if (got && r.status != 500)
    fprintf(stderr, "  endless request body: status %d, %llu body bytes, complete %d\n", r.status,
            (unsigned long long)r.body_total, r.complete);
  zh_hc_response_free(&r);
  zh_hc_close(c);
  echo(port, 1024, false);
}

static void test_js_echo(void) {
  zh_test_server s;
  const char *opts[] = {"--timeout", "2s", NULL};
  CHECK(zh_test_serve_start(&s, tmpdir, "js-echo-timeout", COMP "js-echo.wasm", opts,
                            START_LIMIT_MS));
  if (s.port) {
    endless_request_body(s.port);
    CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
    char *e = zh_test_serve_err(&s);
    CHECK(strstr(e, "POST /echo") != NULL); /* the cut request was logged */
    free(e);
  }
  CHECK(zh_test_serve_start(&s, tmpdir, "js-echo", COMP "js-echo.wasm", NULL, START_LIMIT_MS));
  if (!s.port)
    return;
  echo(s.port, 0, false);
  echo(s.port, 1024, false);
  echo(s.port, 1 << 20, false);
  echo(s.port, 1 << 20, true);
  /* Streamed both ways: 10 MiB through the guest leaves the server's RSS far below that. */
  long before = rss_kib(s.pid);
  echo(s.port, 10u << 20, false);
  long after = rss_kib(s.pid);
  fprintf(stderr, "  js-echo: RSS %ld KiB before a 10 MiB echo, %ld KiB after\n", before, after);
#ifndef __SANITIZE_ADDRESS__ /* ASan's quarantine keeps freed buffers resident on purpose */
  CHECK(before > 0 && after > 0 && after - before < 5 * 1024);
#endif

  /* In flight at SIGTERM: the request still completes, then the server exits 0. */
  zh_hc *c = zh_hc_open(s.port);
  CHECK(c != NULL);
  if (c) {
    CHECK(
        zh_hc_send_str(c, "POST /late HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n01234"));
    struct timespec nap = {0, 200000000};
    nanosleep(&nap, NULL);
    kill(s.pid, SIGTERM);
    nanosleep(&nap, NULL);
    CHECK(zh_hc_send_str(c, "56789"));
    zh_hc_response r = {0};
    CHECK(zh_hc_read(c, &r, false, 64));
    CHECK_EQ_INT(r.status, 200);
    CHECK(body_is(&r, "0123456789"));
    zh_hc_response_free(&r);
    zh_hc_close(c);
  }
  CHECK_EQ_INT(zh_test_wait_exit(s.pid, 20000), 0);
}

/* ---- 64 concurrent clients ---- */

typedef struct client {
  uint16_t port;
  int ok;
} client;

static void *client_main(void *arg) {
  client *cl = arg;
  zh_hc *c = zh_hc_open(cl->port);
  for (int i = 0; c && i < 3; i++) {
    zh_hc_response r = {0};
    if (zh_hc_request(c, "GET / HTTP/1.1\r\nHost: test\r\n\r\n", &r, 4096) && r.status == 200 &&
        body_is(&r, "hello from componentize-js\n"))
      cl->ok++;
    zh_hc_response_free(&r);
  }
  zh_hc_close(c);
  return NULL;
}

static void test_concurrent(void) {
  zh_test_server s;
  CHECK(zh_test_serve_start(&s, tmpdir, "js-hello-64", COMP "js-hello.wasm", NULL, START_LIMIT_MS));
  if (!s.port)
    return;
  enum { N = 64 };
  pthread_t t[N];
  client cl[N];
  bool started[N];
  for (int i = 0; i < N; i++) {
    cl[i] = (client){s.port, 0};
    started[i] = pthread_create(&t[i], NULL, client_main, &cl[i]) == 0;
  }
  int ok = 0;
  for (int i = 0; i < N; i++)
    if (started[i]) {
      pthread_join(t[i], NULL);
      ok += cl[i].ok;
    }
  CHECK_EQ_INT(ok, N * 3);
  CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
}

/* ---- outbound HTTP to a loopback upstream ---- */

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
  zh_error *err = zh_http_server_start(&cfg, &up);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!up)
    return;
  char origin[64], url_hdr[200];
  snprintf(origin, sizeof origin, "http://127.0.0.1:%u", zh_http_server_port(up));
  snprintf(url_hdr, sizeof url_hdr,
           "GET / HTTP/1.1\r\nHost: test\r\nx-zerohop-outbound-url: %s/data\r\n\r\n", origin);

  zh_test_server s;
  const char *allow[] = {"--allow-outbound", origin, NULL};
  CHECK(zh_test_serve_start(&s, tmpdir, "js-outbound-allowed", COMP "js-outbound.wasm", allow,
                            START_LIMIT_MS));
  if (s.port) {
    zh_hc *c = zh_hc_open(s.port);
    zh_hc_response r = {0};
    CHECK(c && zh_hc_request(c, url_hdr, &r, 4096));
    CHECK_EQ_INT(r.status, 200);
    CHECK(header_is(&r, "x-upstream-status", "200"));
    CHECK(body_is(&r, "from upstream\n"));
    zh_hc_response_free(&r);
    zh_hc_close(c);
    CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
  }

  CHECK(zh_test_serve_start(&s, tmpdir, "js-outbound-denied", COMP "js-outbound.wasm", NULL,
                            START_LIMIT_MS));
  if (s.port) {
    zh_hc *c = zh_hc_open(s.port);
    zh_hc_response r = {0};
    CHECK(c && zh_hc_request(c, url_hdr, &r, 4096));
    CHECK_EQ_INT(r.status, 502); /* the guest saw the request fail */
    CHECK(r.body && strstr(r.body, "outbound request failed") != NULL);
    zh_hc_response_free(&r);
    zh_hc_close(c);
    CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
    char *e = zh_test_serve_err(&s);
    CHECK(strstr(e, "denied") != NULL && strstr(e, origin) != NULL);
    if (!strstr(e, "denied"))
      fprintf(stderr, "  outbound denied: stderr was: %s", e);
    free(e);
  }
  zh_http_server_free(up);
}

/* ---- hostile handlers: 500, and the server keeps serving ---- */

typedef struct slow {
  uint16_t port;
  volatile bool done;
  int status;
} slow;

static void *slow_main(void *arg) {
  slow *sl = arg;
  zh_hc_response r;
  if (zh_hc_get(sl->port, "/loop", &r))
    sl->status = r.status;
  zh_hc_response_free(&r);
  sl->done = true;
  return NULL;
}

static void test_hostile(void) {
  zh_test_server s;
  const char *opts[] = {"--timeout", "1s", NULL};
  CHECK(
      zh_test_serve_start(&s, tmpdir, "hostile", COMP "c-http-hostile.wasm", opts, START_LIMIT_MS));
  if (!s.port)
    return;
  static const char *const bad[] = {"/trap", "/loop", "/error"};
  for (size_t i = 0; i < 3; i++) {
    zh_hc_response r;
    CHECK(zh_hc_get(s.port, bad[i], &r));
    CHECK_EQ_INT(r.status, 500);
    zh_hc_response_free(&r);
    CHECK(zh_hc_get(s.port, "/", &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK(body_is(&r, "still serving\n"));
    zh_hc_response_free(&r);
  }
  /* A body that never ends: the response started, so the deadline closes the connection. */
  zh_hc_response r;
  memset(&r, 0, sizeof r);
  zh_hc *c = zh_hc_open(s.port);
  CHECK(c && zh_hc_send_str(c, "GET /endless HTTP/1.1\r\nHost: test\r\n\r\n"));
  CHECK(c && zh_hc_read(c, &r, false, 16));
  CHECK_EQ_INT(r.status, 200);
  CHECK(!r.complete);
  CHECK(r.body_total > 0);
  zh_hc_response_free(&r);
  zh_hc_close(c);

  /* A runaway handler stalls nobody else. */
  slow sl = {s.port, false, 0};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, slow_main, &sl) == 0);
  struct timespec nap = {0, 100000000};
  nanosleep(&nap, NULL);
  CHECK(zh_hc_get(s.port, "/", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(!sl.done);
  zh_hc_response_free(&r);
  pthread_join(t, NULL);
  CHECK_EQ_INT(sl.status, 500);

  CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
  char *e = zh_test_serve_err(&s);
  CHECK(strstr(e, "GET /trap: trapped") != NULL);
  CHECK(strstr(e, "GET /loop: cut at the deadline") != NULL);
  CHECK(strstr(e, "GET /endless: cut at the deadline") != NULL);
  CHECK(strstr(e, "GET /error: failed") != NULL);
  free(e);
}

/* More runaway handlers than the server has workers to begin with (one per core): the
 * server starts more, so requests on other connections are still answered at once, and
 * every runaway is cut at --timeout. */
static void test_runaways(void) {
  zh_test_server s;
  const char *opts[] = {"--timeout", "3s", NULL};
  CHECK(zh_test_serve_start(&s, tmpdir, "runaways", COMP "c-http-hostile.wasm", opts,
                            START_LIMIT_MS));
  if (!s.port)
    return;
  enum { N = 6 };
  slow sl[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    sl[i] = (slow){s.port, false, 0};
    CHECK(pthread_create(&t[i], NULL, slow_main, &sl[i]) == 0);
  }
  struct timespec nap = {0, 200000000};
  nanosleep(&nap, NULL);
  double t0 = zh_test_now_ms();
  int ok200 = 0;
  for (int i = 0; i < 20; i++) {
    zh_hc_response r;
    if (zh_hc_get(s.port, "/", &r) && r.status == 200 && body_is(&r, "still serving\n"))
      ok200++;
    zh_hc_response_free(&r);
  }
  double took = zh_test_now_ms() - t0;
  CHECK_EQ_INT(ok200, 20);
  int running = 0;
  for (int i = 0; i < N; i++)
    running += !sl[i].done;
  CHECK_EQ_INT(running, N); /* all answered while every runaway still ran */
  printf("runaways: 20 requests in %.0f ms beside %d handlers in endless loops\n", took, N);
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    CHECK_EQ_INT(sl[i].status, 500);
  }
  zh_hc_response r;
  CHECK(zh_hc_get(s.port, "/", &r) && r.status == 200);
  zh_hc_response_free(&r);
  CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/zh-serve-XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  test_bad_input();
  test_c_hello();
  test_hostile();
  test_runaways();
  test_js_hello_and_spin();
  test_js_routes();
  test_js_echo();
  test_concurrent();
  test_outbound();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  CHECK(system(cmd) == 0);
  TEST_SUMMARY();
}
