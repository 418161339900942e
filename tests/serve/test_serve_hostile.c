/* Hostile components under `zerohop serve` (issue 7, "Bad input"): each misbehaviour traps in
 * its own instance, is answered 500 and logged in one line, and the next request, on a fresh
 * connection, gets a fresh instance that answers 200. The guest is
 * tests/serve/guests/hostile_abi.c (c-http-hostile-abi.wasm, mk/hostile.mk); the server is
 * $ZH_BUILD/zerohop, started on a port it picks and stopped by PID (tests/testutil.h).
 *
 * What each case must give, decided here and documented in docs/COMPONENT_MODEL.md:
 *   forged handle, dropped handle, realloc out of bounds or misaligned, an import called from
 *   cabi_realloc (may_leave), an infinite loop: 500, "METHOD PATH: trapped: <why>" or
 *   "...: cut at the deadline" in the log;
 *   realloc answering live data: nothing the host can see (the range is inside the guest's
 *   memory), so the guest's own memory is overwritten and it answers as it likes; the next
 *   instance is clean;
 *   a request body that never ends: the handler reading it is cut at --timeout, the client
 *   gets 500 and the connection closes (the rest of the body cannot be skipped), and other
 *   clients are served meanwhile. */
#include "httpclient.h"
#include "testlib.h"
#include "testutil.h"

#include <pthread.h>

#define HOSTILE "build/components/c-http-hostile-abi.wasm"
#define START_LIMIT_MS 60000
/* --timeout: long enough that a loaded machine (the CI box runs several builds at once)
 * does not cut honest requests, short enough to wait for twice. */
#define TIMEOUT_OPT "3s"
#define TIMEOUT_MS 3000

static char tmpdir[64];

static bool body_is(const zh_hc_response *r, const char *want) {
  return r->body && r->complete && strcmp(r->body, want) == 0;
}

/* A fresh instance: its canary intact, this its first request. */
static void expect_clean(uint16_t port, const char *after) {
  zh_hc_response r;
  CHECK(zh_hc_get(port, "/", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, "canary=intact requests=1\n"));
  if (!body_is(&r, "canary=intact requests=1\n"))
    fprintf(stderr, "  after %s: status %d, body '%s'\n", after, r.status, r.body ? r.body : "");
  zh_hc_response_free(&r);
}

/* The log line that starts with "zerohop serve: <what>: " holds `needle`. */
static bool logged(const char *log, const char *what, const char *needle) {
  char prefix[128];
  snprintf(prefix, sizeof prefix, "zerohop serve: %s: ", what);
  for (const char *p = strstr(log, prefix); p; p = strstr(p + 1, prefix)) {
    if (p != log && p[-1] != '\n')
      continue;
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char *line = strndup(p, len);
    bool ok = line && strstr(line, needle) != NULL;
    free(line);
    if (ok)
      return true;
  }
  fprintf(stderr, "  no log line '%s...%s' in:\n%s", prefix, needle, log);
  return false;
}

typedef struct hostile_case {
  const char *path;
  const char *log; /* in its log line, after "GET PATH: " */
} hostile_case;

static const hostile_case cases[] = {
    {"/forged", "trapped: [method]incoming-request.path-with-query: unknown resource handle 32752 "
                "(dangling or never created)"},
    {"/forged-drop",
     "trapped: host function failed: [resource-drop]fields: unknown handle index 4242"},
    {"/dropped", "trapped: [method]fields.entries: unknown resource handle"},
    {"/realloc-oob", "trapped: [method]incoming-request.path-with-query: cabi_realloc result at "
                     "0xfffffff0"},
    {"/realloc-misaligned", "is not aligned to 4"},
    {"/reenter", "trapped: host function failed: now: cannot leave component instance from its "
                 "cabi_realloc or post-return (may_leave)"},
    {"/loop", "cut at the deadline"},
};

static void test_traps(void) {
  zh_test_server s;
  const char *opts[] = {"--timeout", TIMEOUT_OPT, NULL};
  CHECK(zh_test_serve_start(&s, tmpdir, "hostile-abi", HOSTILE, opts, START_LIMIT_MS));
  if (!s.port)
    return;
  expect_clean(s.port, "start");
  size_t n = sizeof cases / sizeof cases[0];
  for (size_t i = 0; i < n; i++) {
    zh_hc_response r;
    CHECK(zh_hc_get(s.port, cases[i].path, &r));
    CHECK_EQ_INT(r.status, 500);
    if (r.status != 500)
      fprintf(stderr, "  %s: status %d\n", cases[i].path, r.status);
    zh_hc_response_free(&r);
    expect_clean(s.port, cases[i].path);
  }

  /* A realloc that answers live data: the host writes the path over the guest's canary. That
   * is the guest's own memory, so it shows only in its own answer, never in the next one. */
  zh_hc_response r;
  CHECK(zh_hc_get(s.port, "/realloc-overlap", &r));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, "canary=/realloc-overlap requests=1\n"));
  zh_hc_response_free(&r);
  expect_clean(s.port, "/realloc-overlap");

  /* Keep-alive after all that: two requests on one connection, each a fresh instance. */
  zh_hc *c = zh_hc_open(s.port);
  CHECK(c != NULL);
  for (int i = 0; c && i < 2; i++) {
    CHECK(zh_hc_request(c, "GET / HTTP/1.1\r\nHost: test\r\n\r\n", &r, 4096));
    CHECK_EQ_INT(r.status, 200);
    CHECK(body_is(&r, "canary=intact requests=1\n"));
    zh_hc_response_free(&r);
  }
  zh_hc_close(c);

  CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
  char *log = zh_test_serve_err(&s);
  for (size_t i = 0; i < n; i++) {
    char what[64];
    snprintf(what, sizeof what, "GET %s", cases[i].path);
    CHECK(logged(log, what, cases[i].log));
  }
  CHECK(strstr(log, "GET /realloc-overlap:") == NULL); /* it did not fail */
  free(log);
}

/* ---- a request body that never ends ---- */

typedef struct endless {
  zh_hc *c;
  volatile bool stop;
  bool closed;      /* a send failed: the server closed the connection */
  double closed_ms; /* when, since the start */
  uint64_t sent;
} endless;

/* Sends 1 KiB chunks, one every 5 ms, until told to stop, a send fails or 20 s pass. */
static void *endless_main(void *arg) {
  endless *e = arg;
  char chunk[1024 + 16];
  memcpy(chunk, "400\r\n", 5);
  memset(chunk + 5, 'b', 1024);
  memcpy(chunk + 5 + 1024, "\r\n", 2);
  double t0 = zh_test_now_ms();
  while (!e->stop && zh_test_now_ms() - t0 < 20000) {
    if (!zh_hc_send(e->c, chunk, 5 + 1024 + 2)) {
      e->closed = true;
      e->closed_ms = zh_test_now_ms() - t0;
      break;
    }
    e->sent += 1024;
    struct timespec nap = {0, 5000000};
    nanosleep(&nap, NULL);
  }
  return NULL;
}

static void test_endless_body(void) {
  zh_test_server s;
  const char *opts[] = {"--timeout", TIMEOUT_OPT, NULL};
  CHECK(zh_test_serve_start(&s, tmpdir, "hostile-endless", HOSTILE, opts, START_LIMIT_MS));
  if (!s.port)
    return;

  /* The handler does read bodies that end. */
  zh_hc *c = zh_hc_open(s.port);
  zh_hc_response r = {0};
  CHECK(c && zh_hc_post_pattern(c, "/drain", 100000, true, 4096, &r, 64));
  CHECK_EQ_INT(r.status, 200);
  CHECK(body_is(&r, "read 100000 bytes\n"));
  zh_hc_response_free(&r);
  zh_hc_close(c);

  endless e = {0};
  e.c = zh_hc_open(s.port);
  CHECK(e.c != NULL);
  if (!e.c) {
    zh_test_serve_stop(&s);
    return;
  }
  double t0 = zh_test_now_ms();
  CHECK(zh_hc_send_str(e.c, "POST /drain HTTP/1.1\r\nHost: test\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n"));
  pthread_t t;
  bool started = pthread_create(&t, NULL, endless_main, &e) == 0;
  CHECK(started);

  /* Meanwhile other clients are served. */
  struct timespec nap = {0, 300000000};
  nanosleep(&nap, NULL);
  expect_clean(s.port, "the endless body started");
  fprintf(stderr, "  served meanwhile at %.0f ms\n", zh_test_now_ms() - t0);

  /* The reader is cut at the deadline: 500, and the connection closes. */
  CHECK(zh_hc_read(e.c, &r, false, 64));
  double answered = zh_test_now_ms() - t0;
  CHECK_EQ_INT(r.status, 500);
  fprintf(stderr, "  endless body: %d after %.0f ms\n", r.status, answered);
  CHECK(answered >= TIMEOUT_MS - 100 && answered < TIMEOUT_MS + 10000);
  zh_hc_response_free(&r);
  if (started)
    pthread_join(t, NULL);
  CHECK(e.closed);
  CHECK(e.sent > 0);
  fprintf(stderr, "  endless body: %llu bytes sent, connection closed after %.0f ms\n",
          (unsigned long long)e.sent, e.closed_ms);
  zh_hc_close(e.c);

  expect_clean(s.port, "the endless body");
  CHECK_EQ_INT(zh_test_serve_stop(&s), 0);
  char *log = zh_test_serve_err(&s);
  CHECK(logged(log, "POST /drain", "cut at the deadline"));
  free(log);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/zh-hostile-XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  test_traps();
  test_endless_body();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  CHECK(system(cmd) == 0);
  TEST_SUMMARY();
}
