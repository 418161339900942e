/* The HTTP server over real loopback sockets, with the shared client (tests/httpclient.h):
 * status and headers, 404, HEAD, bodies echoed from 0 B to 10 MiB both chunked and with
 * Content-Length (and the server's peak memory not growing with them), 64 concurrent
 * clients beside a slow handler, keep-alive and pipelining, every limit and malformed
 * request with its status and the server still serving afterwards, handlers that do not
 * respond or do not finish, 100-continue, and graceful stop. */
#include "httpclient.h"
#include "testlib.h"
#include "zerohop/http_server.h"

#include <poll.h>
#include <stdatomic.h>
#include <time.h>

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static bool path_is(const zh_http_request_info *in, const char *p) {
  size_t n = strlen(p);
  return in->target_len >= n && memcmp(in->target, p, n) == 0 &&
         (in->target_len == n || in->target[n] == '?');
}

static void respond(zh_http_request *req, int status, const char *body) {
  zh_error *err = zh_http_response_start(req, status, NULL, 0);
  if (!err)
    err = zh_http_response_write(req, body, strlen(body));
  if (!err)
    err = zh_http_response_finish(req, NULL, 0);
  zh_error_free(err);
}

static atomic_int slow_running;
static atomic_int big_write_status = -1; /* zh_status of the failed write in /big, or -1 */

/* Streams the request body back as it arrives, 16 KiB at a time. */
static void echo(zh_http_request *req, bool with_length) {
  const zh_http_request_info *in = zh_http_request_get_info(req);
  zh_http_header h[1];
  size_t nh = 0;
  for (size_t i = 0; with_length && i < in->nheaders; i++) {
    if (in->headers[i].name_len == 14 &&
        strncasecmp(in->headers[i].name, "content-length", 14) == 0)
      h[nh++] =
          (zh_http_header){"Content-Length", 14, in->headers[i].value, in->headers[i].value_len};
  }
  zh_error *err = zh_http_response_start(req, 200, h, nh);
  char buf[16384];
  bool eof = false;
  while (!err && !eof) {
    size_t got;
    err = zh_http_request_read(req, buf, sizeof buf, &got, &eof);
    if (!err && got)
      err = zh_http_response_write(req, buf, got);
  }
  if (!err)
    err = zh_http_response_finish(req, NULL, 0);
  zh_error_free(err);
}

static void handler(zh_http_request *req, void *env) {
  (void)env;
  const zh_http_request_info *in = zh_http_request_get_info(req);
  char method[16], authority[128];
  snprintf(method, sizeof method, "%.*s", (int)in->method_len, in->method);
  snprintf(authority, sizeof authority, "%.*s", (int)in->authority_len, in->authority);
  if (path_is(in, "/hello")) {
    zh_http_header h[] = {{"Content-Type", 12, "text/plain", 10},
                          {"X-Method", 8, method, strlen(method)},
                          {"X-Target", 8, in->target, in->target_len},
                          {"X-Authority", 11, authority, strlen(authority)},
                          {"X-Client", 8, in->client, strlen(in->client)},
                          {"X-Scheme", 8, in->scheme, strlen(in->scheme)}};
    zh_error *err = zh_http_response_start(req, 200, h, sizeof h / sizeof *h);
    if (!err)
      err = zh_http_response_write(req, "hello", 5);
    if (!err)
      err = zh_http_response_finish(req, NULL, 0);
    zh_error_free(err);
  } else if (path_is(in, "/echo")) {
    echo(req, false);
  } else if (path_is(in, "/echo-length")) {
    echo(req, true);
  } else if (path_is(in, "/count")) {
    /* Reads the whole body; answers with its size, or the body error's status. */
    char buf[4096], text[256];
    uint64_t total = 0;
    bool eof = false;
    zh_error *err = NULL;
    while (!err && !eof) {
      size_t got;
      err = zh_http_request_read(req, buf, sizeof buf, &got, &eof);
      total += got;
    }
    if (err) {
      snprintf(text, sizeof text, "%s", zh_error_message(err));
      respond(req, zh_http_request_failed_status(req), text);
      zh_error_free(err);
      return;
    }
    snprintf(text, sizeof text, "%llu", (unsigned long long)total);
    respond(req, 200, text);
  } else if (path_is(in, "/headers")) {
    char out[4096];
    size_t n = 0;
    for (size_t i = 0; i < in->nheaders && n < sizeof out; i++)
      n += (size_t)snprintf(out + n, sizeof out - n, "%.*s=%.*s;", (int)in->headers[i].name_len,
                            in->headers[i].name, (int)in->headers[i].value_len,
                            in->headers[i].value);
    respond(req, 200, out);
  } else if (path_is(in, "/slow")) {
    atomic_fetch_add(&slow_running, 1);
    sleep_ms(2000);
    atomic_fetch_sub(&slow_running, 1);
    respond(req, 200, "slow");
  } else if (path_is(in, "/spin")) {
    /* A long computation: on a CPU the whole time, never blocked. */
    atomic_fetch_add(&slow_running, 1);
    uint64_t until = now_ms() + 1000;
    volatile uint64_t n = 0;
    while (now_ms() < until)
      n++;
    atomic_fetch_sub(&slow_running, 1);
    respond(req, 200, "spun");
  } else if (path_is(in, "/hold")) {
    sleep_ms(500);
    respond(req, 200, "held");
  } else if (path_is(in, "/nofinish")) {
    zh_error *err = zh_http_response_start(req, 200, NULL, 0);
    if (!err)
      err = zh_http_response_write(req, "partial", 7);
    zh_error_free(err);
  } else if (path_is(in, "/noresponse")) {
    /* returns without a word */
  } else if (path_is(in, "/wait-body")) {
    /* The body never comes: the read ends at the request deadline. */
    char buf[64];
    size_t got;
    bool eof;
    zh_error *err = zh_http_request_read(req, buf, sizeof buf, &got, &eof);
    if (err && zh_error_status(err) != ZH_ERR_INTERRUPTED)
      respond(req, 500, "expected ZH_ERR_INTERRUPTED");
    zh_error_free(err);
  } else if (path_is(in, "/trailers")) {
    zh_error *err = zh_http_response_start(req, 200, NULL, 0);
    char big[40000];
    memset(big, 'x', sizeof big);
    if (!err)
      err = zh_http_response_write(req, big, sizeof big);
    zh_http_header t[] = {{"X-Checksum", 10, "abc", 3}};
    if (!err)
      err = zh_http_response_finish(req, t, 1);
    zh_error_free(err);
  } else if (path_is(in, "/trickle")) {
    /* Non-blocking reads, waiting on the socket in between, as a wasi:io pollable would. */
    char body[256] = "", buf[64];
    size_t len = 0;
    int empty = 0;
    bool eof = false;
    zh_error *err = NULL;
    while (!err && !eof && len + sizeof buf < sizeof body) {
      size_t got;
      err = zh_http_request_try_read(req, buf, sizeof buf, &got, &eof);
      memcpy(body + len, buf, got);
      len += got;
      if (err || eof || got > 0)
        continue;
      empty++; /* nothing there: wait for the socket, unless bytes are buffered already */
      if (!zh_http_request_body_ready(req)) {
        struct pollfd p = {.fd = zh_http_request_fd(req), .events = POLLIN};
        poll(&p, 1, (int)(zh_http_request_time_left_ns(req) / 1000000u));
      }
    }
    char text[320];
    snprintf(text, sizeof text, "%.*s|%s|%s", (int)len, body, empty > 0 ? "waited" : "never-empty",
             err ? zh_error_message(err) : "ok");
    zh_error_free(err);
    respond(req, 200, text);
  } else if (path_is(in, "/big")) {
    /* 64 MiB to a client that does not read: the write gives up at the deadline. */
    static char piece[65536];
    zh_error *err = zh_http_response_start(req, 200, NULL, 0);
    for (int i = 0; i < 1024 && !err; i++)
      err = zh_http_response_write(req, piece, sizeof piece);
    if (err)
      atomic_store(&big_write_status, (int)zh_error_status(err));
    zh_error_free(err);
  } else if (path_is(in, "/misuse")) {
    /* API misuse is reported, not crashed on; the response still goes out. */
    char buf[8];
    zh_error *e1 = zh_http_response_write(req, "x", 1);
    zh_http_header bad = {"Bad Name", 8, "v", 1};
    zh_error *e2 = zh_http_response_start(req, 200, &bad, 1);
    zh_http_header crlf = {"X-A", 3, "a\r\nb", 4};
    zh_error *e3 = zh_http_response_start(req, 200, &crlf, 1);
    zh_error *e4 = zh_http_response_start(req, 99, NULL, 0);
    zh_http_header len = {"Content-Length", 14, "3", 1};
    zh_error *e5 = zh_http_response_start(req, 200, &len, 1);
    zh_error *e6 = zh_http_response_write(req, "abcd", 4);    /* past the length */
    zh_error *e7 = zh_http_response_start(req, 200, NULL, 0); /* twice */
    zh_error *e8 = zh_http_response_write(req, "abc", 3);
    zh_error *e9 = zh_http_response_finish(req, NULL, 0);
    zh_error *e10 = zh_http_response_finish(req, NULL, 0);
    size_t got;
    bool eof;
    zh_error *e11 = zh_http_request_read(req, buf, sizeof buf, &got, &eof);
    bool ok = e1 && zh_error_status(e1) == ZH_ERR_USAGE && e2 &&
              zh_error_status(e2) == ZH_ERR_USAGE && e3 && e4 && !e5 && e6 && e7 && !e8 && !e9 &&
              e10 && !e11 && eof && got == 0;
    fprintf(stderr, "misuse: %s\n", ok ? "as expected" : "UNEXPECTED");
    if (!ok)
      fprintf(stderr, "  %p %p %p %p %p %p %p %p %p %p %p\n", (void *)e1, (void *)e2, (void *)e3,
              (void *)e4, (void *)e5, (void *)e6, (void *)e7, (void *)e8, (void *)e9, (void *)e10,
              (void *)e11);
    zh_error *all[] = {e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
      zh_error_free(all[i]);
  } else {
    respond(req, 404, "not found");
  }
}

static zh_http_server *start(const zh_http_config *extra) {
  zh_http_config cfg = extra ? *extra : (zh_http_config){0};
  if (!cfg.addr)
    cfg.addr = "127.0.0.1:0";
  cfg.handler = handler;
  zh_http_server *s = NULL;
  zh_error *err = zh_http_server_start(&cfg, &s);
  if (err) {
    fprintf(stderr, "server: %s\n", zh_error_message(err));
    zh_error_free(err);
  }
  return s;
}

/* One request on a fresh connection; the status, or -1. */
static int one(uint16_t port, const char *raw, zh_hc_response *r) {
  memset(r, 0, sizeof *r);
  zh_hc *c = zh_hc_open(port);
  if (!c)
    return -1;
  bool ok = zh_hc_request(c, raw, r, 1 << 16);
  zh_hc_close(c);
  return ok ? r->status : -1;
}

static bool still_serving(uint16_t port) {
  zh_hc_response r = {0};
  int st = one(port, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n", &r);
  bool ok = st == 200 && strcmp(r.body, "hello") == 0;
  zh_hc_response_free(&r);
  return ok;
}

static void test_basics(uint16_t port) {
  zh_hc_response r = {0};
  char v[128], client[64];
  zh_hc *c = zh_hc_open(port);
  CHECK(c != NULL);
  if (!c)
    return;
  CHECK(zh_hc_request(c, "GET /hello?x=1 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n", &r, 4096));
  CHECK_EQ_INT(r.status, 200);
  CHECK(strcmp(r.body, "hello") == 0);
  CHECK(zh_hc_header(&r, "Content-Length", v, sizeof v) && strcmp(v, "5") == 0);
  CHECK(zh_hc_header(&r, "Content-Type", v, sizeof v) && strcmp(v, "text/plain") == 0);
  CHECK(zh_hc_header(&r, "X-Method", v, sizeof v) && strcmp(v, "GET") == 0);
  CHECK(zh_hc_header(&r, "X-Target", v, sizeof v) && strcmp(v, "/hello?x=1") == 0);
  CHECK(zh_hc_header(&r, "X-Authority", v, sizeof v) && strcmp(v, "example.test:8080") == 0);
  CHECK(zh_hc_header(&r, "X-Scheme", v, sizeof v) && strcmp(v, "http") == 0);
  CHECK(zh_hc_header(&r, "Date", v, sizeof v) && strstr(v, " GMT") != NULL);
  CHECK(zh_hc_header(&r, "Connection", v, sizeof v) == NULL); /* keep-alive is the default */
  CHECK(zh_hc_header(&r, "X-Client", client, sizeof client) &&
        strncmp(client, "127.0.0.1:", 10) == 0);
  zh_hc_response_free(&r);

  /* Keep-alive: the same connection (same client port) serves the next requests. */
  for (int i = 0; i < 3; i++) {
    CHECK(zh_hc_request(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r, 4096));
    CHECK_EQ_INT(r.status, 200);
    CHECK(zh_hc_header(&r, "X-Client", v, sizeof v) && strcmp(v, client) == 0);
    zh_hc_response_free(&r);
  }
  /* A 404 from the handler, on the same connection. */
  CHECK(zh_hc_request(c, "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", &r, 4096));
  CHECK_EQ_INT(r.status, 404);
  CHECK(strcmp(r.body, "not found") == 0);
  zh_hc_response_free(&r);
  /* HEAD: the length of the GET body, and no body. */
  CHECK(zh_hc_request(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r, 4096));
  CHECK_EQ_INT(r.status, 200);
  CHECK(zh_hc_header(&r, "Content-Length", v, sizeof v) && strcmp(v, "5") == 0);
  zh_hc_response_free(&r);
  /* Names as sent, values trimmed, order kept. */
  CHECK(zh_hc_request(
      c, "GET /headers HTTP/1.1\r\nHost: t\r\nX-Mixed-Case:  a b \r\nx-two:\r\n\r\n", &r, 4096));
  CHECK(strcmp(r.body, "Host=t;X-Mixed-Case=a b;x-two=;") == 0);
  zh_hc_response_free(&r);
  /* A bigger body goes out chunked, with the handler's trailer. */
  CHECK(zh_hc_request(c, "GET /trailers HTTP/1.1\r\nHost: t\r\n\r\n", &r, 4096));
  CHECK(r.chunked && r.complete);
  CHECK_EQ_INT(r.body_total, 40000);
  CHECK(strcmp(r.trailers, "X-Checksum: abc\n") == 0);
  zh_hc_response_free(&r);
  /* Misuse of the response API gives errors, and what was right still goes out. */
  CHECK(zh_hc_request(c, "GET /misuse HTTP/1.1\r\nHost: t\r\n\r\n", &r, 4096));
  CHECK_EQ_INT(r.status, 200);
  CHECK(strcmp(r.body, "abc") == 0);
  zh_hc_response_free(&r);
  /* HTTP/1.0: closes after the response unless asked to keep alive. */
  CHECK(zh_hc_request(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r, 4096));
  CHECK_EQ_INT(r.status, 200);
  CHECK(zh_hc_header(&r, "Connection", v, sizeof v) && strcasecmp(v, "keep-alive") == 0);
  zh_hc_response_free(&r);
  /* A long body to an HTTP/1.0 client: no chunks, it ends with the connection. */
  CHECK(zh_hc_request(c, "GET /trailers HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r, 16));
  CHECK(!r.chunked && r.complete);
  CHECK_EQ_INT(r.body_total, 40000);
  CHECK(zh_hc_header(&r, "Content-Length", v, sizeof v) == NULL);
  CHECK(zh_hc_header(&r, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0);
  zh_hc_response_free(&r);
  zh_hc_close(c);
  c = zh_hc_open(port);
  CHECK(zh_hc_request(c, "GET /hello HTTP/1.0\r\n\r\n", &r, 4096));
  CHECK_EQ_INT(r.status, 200);
  CHECK(zh_hc_header(&r, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0);
  CHECK(zh_hc_closed(c));
  zh_hc_response_free(&r);
  zh_hc_close(c);

  /* Connection: close from the client. */
  c = zh_hc_open(port);
  CHECK(zh_hc_request(c, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r, 64));
  CHECK(zh_hc_header(&r, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0);
  CHECK(zh_hc_closed(c));
  zh_hc_response_free(&r);
  zh_hc_close(c);
}

static void test_pipelining(uint16_t port) {
  zh_hc *c = zh_hc_open(port);
  CHECK(c != NULL);
  if (!c)
    return;
  /* Three requests in one send, one with a body; answers come in order. */
  CHECK(zh_hc_send_str(c, "GET /hello?n=1 HTTP/1.1\r\nHost: t\r\n\r\n"
                          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                          "\r\n" /* a stray line end between requests is allowed */
                          "GET /hello?n=3 HTTP/1.1\r\nHost: t\r\n\r\n"));
  zh_hc_response r = {0};
  char v[64];
  CHECK(zh_hc_read(c, &r, false, 4096));
  CHECK(zh_hc_header(&r, "X-Target", v, sizeof v) && strcmp(v, "/hello?n=1") == 0);
  zh_hc_response_free(&r);
  CHECK(zh_hc_read(c, &r, false, 4096));
  CHECK(strcmp(r.body, "abc") == 0);
  zh_hc_response_free(&r);
  CHECK(zh_hc_read(c, &r, false, 4096));
  CHECK(zh_hc_header(&r, "X-Target", v, sizeof v) && strcmp(v, "/hello?n=3") == 0);
  zh_hc_response_free(&r);
  zh_hc_close(c);
}

/* Connections are registered edge-triggered: a worker may park one only after a read
 * that found the socket empty, or bytes already there would never raise an event. Here
 * every read of the first request fills its buffer (a 16 KiB head read, then the body read
 * to its exact end) while the next request is already in the socket; it must be answered.
 * Then a head that comes in two parts, the second while a worker holds the connection:
 * the connection keeps serving afterwards. */
static void test_edge_triggered(uint16_t port) {
  zh_hc *c = zh_hc_open(port);
  CHECK(c != NULL);
  if (!c)
    return;
  enum { N = 50000 };
  static char req[N + 256];
  int n = snprintf(req, sizeof req,
                   "POST /echo-length HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", N);
  for (int i = 0; i < N; i++)
    req[n + i] = (char)('a' + i % 26);
  n += N;
  n += snprintf(req + n, sizeof req - (size_t)n, "GET /hello?n=2 HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(zh_hc_send(c, req, (size_t)n));
  zh_hc_response r = {0};
  char v[64];
  CHECK(zh_hc_read(c, &r, false, 1 << 17) && r.status == 200 && r.body_len == N);
  bool same = r.body_len == N;
  for (size_t i = 0; same && i < N; i++)
    same = r.body[i] == (char)('a' + i % 26);
  CHECK(same);
  zh_hc_response_free(&r);
  CHECK(zh_hc_read(c, &r, false, 4096) && r.status == 200);
  CHECK(zh_hc_header(&r, "X-Target", v, sizeof v) && strcmp(v, "/hello?n=2") == 0);
  zh_hc_response_free(&r);

  for (int round = 0; round < 3; round++) {
    CHECK(zh_hc_send_str(c, "GET /hello?n=3 HTTP/1.1\r\nHo"));
    sleep_ms(30);
    CHECK(zh_hc_send_str(c, "st: t\r\n\r\n"));
    CHECK(zh_hc_read(c, &r, false, 4096) && r.status == 200);
    CHECK(zh_hc_header(&r, "X-Target", v, sizeof v) && strcmp(v, "/hello?n=3") == 0);
    zh_hc_response_free(&r);
    sleep_ms(10); /* parked now: the next request wakes it */
    CHECK(zh_hc_request(c, "GET /hello?n=4 HTTP/1.1\r\nHost: t\r\n\r\n", &r, 4096) &&
          r.status == 200);
    CHECK(zh_hc_header(&r, "X-Target", v, sizeof v) && strcmp(v, "/hello?n=4") == 0);
    zh_hc_response_free(&r);
  }
  zh_hc_close(c);
}

/* Peak resident memory of this process (server and client) in KiB, and its reset. */
static long peak_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (f && fgets(line, sizeof line, f)) {
    if (sscanf(line, "VmHWM: %ld", &v) == 1)
      break;
  }
  if (f)
    fclose(f);
  return v;
}
static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (f && fgets(line, sizeof line, f)) {
    if (sscanf(line, "VmRSS: %ld", &v) == 1)
      break;
  }
  if (f)
    fclose(f);
  return v;
}
static bool reset_peak_rss(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (!f)
    return false;
  bool ok = fputs("5", f) >= 0;
  return fclose(f) == 0 && ok;
}

static void test_echo(uint16_t port) {
  static const uint64_t sizes[] = {0, 1, 65536, 1 << 20, 10 << 20};
  /* The measure itself: 8 MiB touched after a reset shows in the peak. */
  if (reset_peak_rss()) {
    long before = rss_kib();
    size_t n = 8u << 20;
    volatile char *p = malloc(n);
    for (size_t i = 0; p && i < n; i += 4096)
      p[i] = 1;
    CHECK(peak_rss_kib() - before >= 7 * 1024);
    free((void *)p);
  } else {
    printf("no /proc/self/clear_refs: peak memory not checked\n");
  }
  for (int chunked = 0; chunked <= 1; chunked++) {
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
      for (int with_length = 0; with_length <= 1; with_length++) {
        uint64_t size = sizes[i];
        bool big = size == 10 << 20;
        bool peak_ok = big && reset_peak_rss();
        long before = rss_kib();
        zh_hc *c = zh_hc_open(port);
        zh_hc_response r = {0};
        const char *path = with_length && !chunked ? "/echo-length" : "/echo";
        bool ok = c && zh_hc_post_pattern(c, path, size, chunked, 60000, &r, 16);
        CHECK(ok);
        CHECK_EQ_INT(r.status, 200);
        CHECK(r.complete);
        CHECK_EQ_INT(r.body_total, size);
        CHECK(r.body_hash == zh_hc_pattern_hash(size));
        /* Small echoes fit the output buffer and get a length; /echo-length streams one. */
        CHECK(r.chunked == (size > 16384 && !(with_length && !chunked)));
        if (peak_ok) {
          long grew = peak_rss_kib() - before;
          printf("echo of %llu bytes (%s%s): peak RSS %+ld KiB\n", (unsigned long long)size,
                 chunked ? "chunked" : "Content-Length", with_length ? ", length out" : "", grew);
          CHECK(grew < 4096); /* streamed: nowhere near the 10 MiB body */
        }
        zh_hc_response_free(&r);
        /* The connection carries on. */
        CHECK(c && zh_hc_request(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r, 64) &&
              r.status == 200);
        zh_hc_response_free(&r);
        zh_hc_close(c);
      }
    }
  }
}

typedef struct client_arg {
  uint16_t port;
  const char *raw;
  int status;
  uint64_t done_ms;
} client_arg;

static void *client_main(void *arg) {
  client_arg *a = arg;
  zh_hc_response r = {0};
  a->status = one(a->port, a->raw, &r);
  a->done_ms = now_ms();
  zh_hc_response_free(&r);
  return NULL;
}

static void test_concurrency(uint16_t port, const char *slow_raw, const char *what) {
  enum { N = 64 };
  pthread_t t[N];
  client_arg a[N];
  /* More slow requests than the server starts workers (one per core): it must start more,
   * and the other clients must not wait for any of them. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int nslow = (int)(cores < 1 ? 1 : cores > 8 ? 8 : cores) + 2;
  uint64_t t0 = now_ms();
  for (int i = 0; i < nslow; i++) {
    a[i] = (client_arg){port, slow_raw, 0, 0};
    CHECK(pthread_create(&t[i], NULL, client_main, &a[i]) == 0);
  }
  while (atomic_load(&slow_running) < nslow && now_ms() - t0 < 2000)
    sleep_ms(1);
  CHECK_EQ_INT(atomic_load(&slow_running), nslow);
  uint64_t t1 = now_ms();
  for (int i = nslow; i < N; i++) {
    a[i] = (client_arg){port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 0,
                        0};
    CHECK(pthread_create(&t[i], NULL, client_main, &a[i]) == 0);
  }
  uint64_t last_fast = 0;
  for (int i = nslow; i < N; i++) {
    pthread_join(t[i], NULL);
    CHECK_EQ_INT(a[i].status, 200);
    if (a[i].done_ms > last_fast)
      last_fast = a[i].done_ms;
  }
  /* all the fast ones done while every slow one still runs */
  CHECK_EQ_INT(atomic_load(&slow_running), nslow);
  for (int i = 0; i < nslow; i++) {
    pthread_join(t[i], NULL);
    CHECK_EQ_INT(a[i].status, 200);
    CHECK(a[i].done_ms >= last_fast);
  }
  printf("concurrency: %d clients done in %llu ms beside %d %s\n", N - nslow,
         (unsigned long long)(last_fast - t1), nslow, what);
}

static atomic_bool spinners_stop;

/* Keeps a core busy until spinners_stop: other work of the process, as bus subscribers. */
static void *spinner(void *arg) {
  (void)arg;
  volatile uint64_t n = 0;
  while (!atomic_load(&spinners_stop))
    n++;
  return NULL;
}

/* The threads of this process, which runs the server. */
static int thread_count(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1)
      break;
  if (f)
    fclose(f);
  return n;
}

typedef struct busy_arg {
  uint16_t port;
  uint64_t until_ms;
  int requests, failures;
} busy_arg;

static void *busy_client(void *arg) {
  busy_arg *a = arg;
  zh_hc *c = zh_hc_open(a->port);
  while (c && now_ms() < a->until_ms) {
    zh_hc_response r = {0};
    if (zh_hc_request(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r, 1 << 16) && r.status == 200)
      a->requests++;
    else
      a->failures++;
    zh_hc_response_free(&r);
  }
  if (c)
    zh_hc_close(c);
  else
    a->failures++;
  return NULL;
}

/* Many fast requests on keep-alive connections, more connections than workers: no handler
 * holds its worker, so the server starts no worker beyond its first (one per core). */
static void test_no_extra_workers(void) {
  zh_http_server *s = start(NULL);
  CHECK(s != NULL);
  if (!s)
    return;
  uint16_t port = zh_http_server_port(s);
  CHECK(still_serving(port));
  int before = thread_count();
  enum { C = 8 };
  pthread_t t[C];
  busy_arg a[C];
  uint64_t until = now_ms() + 1500;
  for (int i = 0; i < C; i++) {
    a[i] = (busy_arg){port, until, 0, 0};
    CHECK(pthread_create(&t[i], NULL, busy_client, &a[i]) == 0);
  }
  int requests = 0, failures = 0;
  for (int i = 0; i < C; i++) {
    pthread_join(t[i], NULL);
    requests += a[i].requests;
    failures += a[i].failures;
  }
  CHECK_EQ_INT(failures, 0);
  CHECK(requests > 1000);
  CHECK_EQ_INT(thread_count(), before);
  printf("fast load: %d requests on %d connections, %d threads before and %d after\n", requests, C,
         before, thread_count());
  zh_http_server_free(s);
}

static void test_unfinished(uint16_t port) {
  zh_hc_response r = {0};
  char v[64];
  /* Started, never finished: what was written, then the close; never a hang. */
  zh_hc *c = zh_hc_open(port);
  CHECK(zh_hc_request(c, "GET /nofinish HTTP/1.1\r\nHost: t\r\n\r\n", &r, 64));
  CHECK_EQ_INT(r.status, 200);
  CHECK(!r.complete);
  CHECK(strcmp(r.body, "partial") == 0);
  CHECK(zh_hc_closed(c));
  zh_hc_response_free(&r);
  zh_hc_close(c);
  /* Returned without responding: 500, and the connection stays. */
  c = zh_hc_open(port);
  CHECK(zh_hc_request(c, "GET /noresponse HTTP/1.1\r\nHost: t\r\n\r\n", &r, 64));
  CHECK_EQ_INT(r.status, 500);
  CHECK(zh_hc_header(&r, "Connection", v, sizeof v) == NULL);
  zh_hc_response_free(&r);
  CHECK(zh_hc_request(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r, 64) && r.status == 200);
  zh_hc_response_free(&r);
  zh_hc_close(c);
  CHECK(still_serving(port));
}

static void test_try_read(uint16_t port) {
  static const char *const heads[] = {
      "POST /trickle HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\n",
      "POST /trickle HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"};
  static const char *const first[] = {"abc", "3\r\nabc\r\n"};
  static const char *const second[] = {"def", "3\r\ndef\r\n0\r\n\r\n"};
  for (int k = 0; k < 2; k++) {
    zh_hc *c = zh_hc_open(port);
    zh_hc_response r = {0};
    CHECK(zh_hc_send_str(c, heads[k]) && zh_hc_send_str(c, first[k]));
    sleep_ms(200); /* the handler finds the body paused: a try_read gives 0 bytes */
    CHECK(zh_hc_send_str(c, second[k]));
    CHECK(zh_hc_read(c, &r, false, 256));
    CHECK_EQ_INT(r.status, 200);
    if (strcmp(r.body, "abcdef|waited|ok") != 0)
      fprintf(stderr, "trickle %d: '%s'\n", k, r.body);
    CHECK(strcmp(r.body, "abcdef|waited|ok") == 0);
    zh_hc_response_free(&r);
    zh_hc_close(c);
  }
}

static void test_expect(uint16_t port) {
  zh_hc *c = zh_hc_open(port);
  zh_hc_response r = {0};
  CHECK(zh_hc_send_str(c, "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                          "Expect: 100-continue\r\n\r\n"));
  /* The interim answer comes before any body byte is sent. */
  char line[128];
  CHECK(zh_hc_line(c, line, sizeof line, NULL) && strcmp(line, "HTTP/1.1 100 Continue") == 0);
  CHECK(zh_hc_line(c, line, sizeof line, NULL) && line[0] == 0);
  CHECK(zh_hc_send_str(c, "abcd"));
  CHECK(zh_hc_read(c, &r, false, 64));
  CHECK_EQ_INT(r.status, 200);
  CHECK(strcmp(r.body, "4") == 0);
  zh_hc_response_free(&r);
  /* A handler that answers without reading: no 100, and the connection closes. */
  CHECK(zh_hc_request(c,
                      "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                      "Expect: 100-continue\r\n\r\n",
                      &r, 64));
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_INT(r.interim, 0);
  CHECK(zh_hc_closed(c));
  zh_hc_response_free(&r);
  zh_hc_close(c);
}

typedef struct bad_case {
  const char *name;
  const char *raw;
  int status;
  const char *detail; /* a piece of the error text, or NULL */
} bad_case;

static void test_limits(void) {
  zh_http_config cfg = {.max_header_bytes = 2048,
                        .max_headers = 10,
                        .max_url_bytes = 256,
                        .max_body_bytes = 100000,
                        .header_timeout_ms = 300,
                        .idle_timeout_ms = 300,
                        .request_timeout_ms = 500};
  zh_http_server *s = start(&cfg);
  CHECK(s != NULL);
  if (!s)
    return;
  uint16_t port = zh_http_server_port(s);
  static char long_url[600], long_header[3000], many[1024], big_chunked[256];
  snprintf(long_url, sizeof long_url, "GET /%0300d HTTP/1.1\r\nHost: t\r\n\r\n", 0);
  snprintf(long_header, sizeof long_header, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: %02500d\r\n\r\n",
           0);
  size_t n = (size_t)snprintf(many, sizeof many, "GET /hello HTTP/1.1\r\nHost: t\r\n");
  for (int i = 0; i < 10; i++)
    n += (size_t)snprintf(many + n, sizeof many - n, "X-H%d: %d\r\n", i, i);
  snprintf(many + n, sizeof many - n, "\r\n");
  snprintf(big_chunked, sizeof big_chunked,
           "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
           "%x\r\n",
           150000);
  bad_case cases[] = {
      {"url too long", long_url, 414, "request target too long"},
      {"head too large", long_header, 431, "larger than 2048"},
      {"too many headers", many, 431, "too many header fields"},
      {"body too large (length)",
       "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 100001\r\n\r\n", 413, NULL},
      {"bad request line", "GET/ HTTP/1.1\r\nHost: t\r\n\r\n", 400, "1:4: bad character in method"},
      {"bad version", "GET / HTTQ/1.1\r\nHost: t\r\n\r\n", 400, "malformed HTTP version"},
      {"space before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400, "2:5: whitespace before"},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400, "obsolete line folding"},
      {"bare CR", "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400, NULL},
      {"control char", "GET / HTTP/1.1\r\nHost: t\x01\r\n\r\n", 400, "control character"},
      {"missing host", "GET / HTTP/1.1\r\n\r\n", 400, "missing Host"},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host"},
      {"length and chunked",
       "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       400, "both"},
      {"bad length", "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n", 400, NULL},
      {"two lengths",
       "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
       "conflicting"},
      {"gzip coding", "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
       NULL},
      {"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 501, NULL},
      {"unknown method", "BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", 501, NULL},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505, NULL},
      {"HTTP/3.1", "GET / HTTP/3.1\r\nHost: t\r\n\r\n", 505, NULL},
      {"expect other",
       "POST /count HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417,
       NULL},
      {"bad chunk size",
       "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
       "chunked framing at body byte 0: expected a chunk size"},
      {"chunk without CRLF",
       "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", 400,
       "missing CRLF after chunk data"},
      {"chunked body too large", big_chunked, 413, "body larger than 100000 bytes"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    bad_case *bc = &cases[i];
    zh_hc *c = zh_hc_open(port);
    zh_hc_response r = {0};
    bool ok = c && zh_hc_send_str(c, bc->raw);
    if (ok && bc->status == 413 && strstr(bc->raw, "chunked")) {
      /* Stream the chunk's data until the server gives up reading. */
      unsigned char piece[8192];
      memset(piece, 'z', sizeof piece);
      for (int k = 0; k < 19 && ok; k++)
        ok = zh_hc_send(c, piece, sizeof piece);
    }
    ok = ok && zh_hc_read(c, &r, false, 512);
    bool status_ok = ok && r.status == bc->status;
    bool detail_ok = !ok || !bc->detail || strstr(r.body, bc->detail);
    if (!status_ok || !detail_ok)
      fprintf(stderr, "case '%s': got %d '%s'\n", bc->name, ok ? r.status : -1,
              ok ? r.body : "(no response)");
    CHECK(status_ok);
    CHECK(detail_ok);
    /* Each of these closes the connection, and the server serves the next client. */
    CHECK(ok && zh_hc_closed(c));
    if (ok)
      zh_hc_response_free(&r);
    zh_hc_close(c);
    CHECK(still_serving(port));
  }

  /* A head that stops coming: 408 after the header timeout. */
  zh_hc *c = zh_hc_open(port);
  zh_hc_response r = {0};
  uint64_t t0 = now_ms();
  CHECK(zh_hc_send_str(c, "GET /hello HTTP/1.1\r\nHo"));
  CHECK(zh_hc_read(c, &r, false, 256) && r.status == 408);
  uint64_t took = now_ms() - t0;
  CHECK(took >= 250 && took < 3000);
  CHECK(zh_hc_closed(c));
  zh_hc_response_free(&r);
  zh_hc_close(c);
  /* An idle keep-alive connection: closed without a word after the idle timeout. */
  c = zh_hc_open(port);
  CHECK(zh_hc_request(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r, 64) && r.status == 200);
  zh_hc_response_free(&r);
  t0 = now_ms();
  CHECK(zh_hc_closed(c));
  took = now_ms() - t0;
  CHECK(took >= 250 && took < 3000);
  zh_hc_close(c);
  /* A body that never comes: the handler's read ends at the request deadline, and the
   * server answers 408 for it. */
  c = zh_hc_open(port);
  t0 = now_ms();
  CHECK(zh_hc_request(c, "POST /wait-body HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n", &r,
                      256));
  took = now_ms() - t0;
  CHECK_EQ_INT(r.status, 408);
  CHECK(took >= 450 && took < 3000);
  CHECK(zh_hc_closed(c));
  zh_hc_response_free(&r);
  zh_hc_close(c);
  /* A client that goes away mid-body. */
  c = zh_hc_open(port);
  CHECK(zh_hc_send_str(c, "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc"));
  zh_hc_close(c);
  /* A client that does not read a large response: the handler's write ends at the request
   * deadline, the connection closes, and the server goes on. */
  c = zh_hc_open(port);
  t0 = now_ms();
  CHECK(zh_hc_send_str(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n"));
  while (atomic_load(&big_write_status) < 0 && now_ms() - t0 < 5000)
    sleep_ms(10);
  took = now_ms() - t0;
  CHECK_EQ_INT(atomic_load(&big_write_status), ZH_ERR_INTERRUPTED);
  CHECK(took >= 450 && took < 3000);
  zh_hc_close(c);
  CHECK(still_serving(port));
  /* Limits at exactly their values pass: a 256-byte target, 10 headers, 100000 bytes. */
  char url_ok[400];
  snprintf(url_ok, sizeof url_ok, "GET /hello?%0244d HTTP/1.1\r\nHost: t\r\n\r\n", 0);
  CHECK(one(port, url_ok, &r) == 200);
  zh_hc_response_free(&r);
  c = zh_hc_open(port);
  CHECK(c && zh_hc_post_pattern(c, "/count", 100000, true, 7000, &r, 64));
  CHECK_EQ_INT(r.status, 200);
  CHECK(strcmp(r.body, "100000") == 0);
  zh_hc_response_free(&r);
  zh_hc_close(c);
  CHECK(still_serving(port));
  zh_http_server_free(s);
}

typedef struct stop_arg {
  zh_http_server *s;
  uint32_t grace;
  uint64_t took;
} stop_arg;

static void *stop_main(void *arg) {
  stop_arg *a = arg;
  uint64_t t0 = now_ms();
  zh_http_server_stop(a->s, a->grace);
  a->took = now_ms() - t0;
  return NULL;
}

static void test_stop(void) {
  zh_http_server *s = start(NULL);
  CHECK(s != NULL);
  if (!s)
    return;
  uint16_t port = zh_http_server_port(s);
  /* An idle keep-alive connection, and a request in flight (500 ms). */
  zh_hc *idle = zh_hc_open(port);
  zh_hc_response r = {0};
  CHECK(zh_hc_request(idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r, 64) && r.status == 200);
  zh_hc_response_free(&r);
  zh_hc *busy = zh_hc_open(port);
  CHECK(zh_hc_send_str(busy, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n"));
  sleep_ms(100);
  stop_arg a = {s, 5000, 0};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, stop_main, &a) == 0);
  /* The idle one is closed at once; the busy one gets its whole answer, then the close. */
  CHECK(zh_hc_closed(idle));
  CHECK(zh_hc_read(busy, &r, false, 64));
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.complete && strcmp(r.body, "held") == 0);
  char v[32];
  CHECK(zh_hc_header(&r, "Connection", v, sizeof v) && strcmp(v, "close") == 0);
  CHECK(zh_hc_closed(busy));
  zh_hc_response_free(&r);
  pthread_join(t, NULL);
  CHECK(a.took >= 300 && a.took < 4000); /* waited for the request, not for the grace */
  /* No longer listening. */
  zh_hc *late = zh_hc_open(port);
  CHECK(late == NULL);
  zh_hc_close(late);
  zh_hc_close(idle);
  zh_hc_close(busy);
  zh_http_server_free(s);

  /* Past the grace period a request still in flight is cut: here a body that never comes. */
  s = start(NULL);
  port = zh_http_server_port(s);
  busy = zh_hc_open(port);
  CHECK(zh_hc_send_str(busy, "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n"));
  sleep_ms(100);
  a = (stop_arg){s, 200, 0};
  stop_main(&a);
  CHECK(a.took >= 150 && a.took < 3000);
  CHECK(zh_hc_closed(busy) || !zh_hc_read(busy, &r, false, 64) || r.status >= 400);
  zh_hc_close(busy);
  zh_http_server_free(s);
}

static void test_max_connections(void) {
  zh_http_config cfg = {.max_connections = 2};
  zh_http_server *s = start(&cfg);
  CHECK(s != NULL);
  if (!s)
    return;
  uint16_t port = zh_http_server_port(s);
  zh_hc *a = zh_hc_open(port), *b = zh_hc_open(port);
  zh_hc_response r = {0};
  /* Two open connections (kept alive), so a third is turned away. */
  CHECK(zh_hc_request(a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r, 64) && r.status == 200);
  zh_hc_response_free(&r);
  CHECK(zh_hc_request(b, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r, 64) && r.status == 200);
  zh_hc_response_free(&r);
  /* The 503 comes without a request (one sent first could race the close into a reset). */
  zh_hc *third = zh_hc_open(port);
  CHECK(third && zh_hc_read(third, &r, false, 64) && r.status == 503);
  CHECK(third && zh_hc_closed(third));
  zh_hc_response_free(&r);
  zh_hc_close(third);
  /* One goes away: there is room again. */
  zh_hc_close(a);
  int status = 0;
  for (int i = 0; i < 100 && status != 200; i++) {
    sleep_ms(10);
    status = one(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    zh_hc_response_free(&r);
  }
  CHECK_EQ_INT(status, 200);
  zh_hc_close(b);
  zh_http_server_free(s);
}

static void test_addresses(void) {
  zh_http_config cfg = {.addr = "[::1]:0", .handler = handler};
  zh_http_server *s = NULL;
  zh_error *err = zh_http_server_start(&cfg, &s);
  if (err) { /* a machine without IPv6 loopback */
    printf("IPv6 loopback unavailable: %s\n", zh_error_message(err));
    zh_error_free(err);
  } else {
    char want[32];
    snprintf(want, sizeof want, "[::1]:%u", zh_http_server_port(s));
    CHECK(strcmp(zh_http_server_address(s), want) == 0);
    CHECK(zh_http_server_port(s) != 0);
    zh_http_server_free(s);
  }
  const char *bad[] = {"127.0.0.1", "127.0.0.1:99999", "::1:80",         "[::1]80", ":80",
                       "1.2.3.4:x", "example.com:80",  "[127.0.0.1]:80", "1.2.3:80"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cfg.addr = bad[i];
    err = zh_http_server_start(&cfg, &s);
    CHECK(err && zh_error_status(err) == ZH_ERR_USAGE && s == NULL);
    zh_error_free(err);
  }
  /* A port in use: an I/O error naming the address. */
  zh_http_server *first = start(NULL);
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%u", zh_http_server_port(first));
  cfg.addr = addr;
  err = zh_http_server_start(&cfg, &s);
  CHECK(err && zh_error_status(err) == ZH_ERR_IO && strstr(zh_error_message(err), addr));
  zh_error_free(err);
  zh_http_server_free(first);
  cfg.handler = NULL;
  cfg.addr = "127.0.0.1:0";
  err = zh_http_server_start(&cfg, &s);
  CHECK(err && zh_error_status(err) == ZH_ERR_USAGE);
  zh_error_free(err);
}

int main(void) {
  zh_http_server *s = start(NULL);
  CHECK(s != NULL);
  if (!s)
    TEST_SUMMARY();
  uint16_t port = zh_http_server_port(s);
  char want[32];
  snprintf(want, sizeof want, "127.0.0.1:%u", port);
  CHECK(strcmp(zh_http_server_address(s), want) == 0);
  test_basics(port);
  test_pipelining(port);
  test_edge_triggered(port);
  test_echo(port);
  test_concurrency(port, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n", "blocked handlers of 2000 ms");
  test_unfinished(port);
  test_expect(port);
  test_try_read(port);
  CHECK(still_serving(port));
  zh_http_server_free(s);
  test_limits();
  test_stop();
  test_max_connections();
  test_no_extra_workers();
  /* A fresh server, without the workers the blocked handlers above made it start. */
  zh_http_server *spin = start(NULL);
  CHECK(spin != NULL);
  if (spin) {
    test_concurrency(zh_http_server_port(spin), "GET /spin HTTP/1.1\r\nHost: t\r\n\r\n",
                     "handlers computing for 1000 ms");
    zh_http_server_free(spin);
  }
  /* Blocked handlers while other threads keep every core busy: the server waits longer
   * before it adds workers, but it does add them. */
  zh_http_server *busy = start(NULL);
  CHECK(busy != NULL);
  if (busy) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nspin = (int)(cores < 1 ? 1 : cores > 8 ? 8 : cores);
    pthread_t sp[8];
    atomic_store(&spinners_stop, false);
    for (int i = 0; i < nspin; i++)
      CHECK(pthread_create(&sp[i], NULL, spinner, NULL) == 0);
    test_concurrency(zh_http_server_port(busy), "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n",
                     "blocked handlers of 2000 ms, every core busy");
    atomic_store(&spinners_stop, true);
    for (int i = 0; i < nspin; i++)
      pthread_join(sp[i], NULL);
    zh_http_server_free(busy);
  }
  test_addresses();
  TEST_SUMMARY();
}
