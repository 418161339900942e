/* wasi:http through a real guest: tests/wasip2/guest_http.c, built at test time from
 * `zerohop bindgen c` bindings of world zh:wp2test/http, bound with zh_component and
 * zh_wasip2_define_component. Covers the fields rules (forbidden and invalid headers,
 * immutable headers), the incoming handler through a zh_wasip2_http_io implemented here
 * (the request body streamed in and the response streamed out, a 404, an error response),
 * and outgoing requests through libcurl to a loopback HTTP server this test runs on a port
 * the kernel picks: allowed GET and POST, a denied origin (logged), a refused connection. */
#include "testlib.h"
#include "testutil.h"
#include "wit/guest_build.h"
#include "zerohop/wasip2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static zh_engine *engine;
static zh_module *module;
static zh_wit *wit;
static zh_wasip2_plan *plan; /* the world's WASI imports, checked once for every instance */

typedef struct instance {
  zh_store *store;
  zh_component *comp;
  zh_wasip2_ctx *cx;
} instance;

static char logged[512];

static void log_fn(void *env, const char *line) {
  (void)env;
  snprintf(logged, sizeof logged, "%s", line);
}

static bool instance_new(instance *in, const zh_wasip2_config *config) {
  memset(in, 0, sizeof *in);
  zh_error *err = NULL;
  in->cx = zh_wasip2_new(config, &err);
  const zh_wit_world *world = zh_wit_find_world(zh_wit_root(wit), "http");
  if (!err)
    err = zh_store_new(engine, &in->store);
  if (!err)
    err = zh_component_new(in->store, module, world, &in->comp);
  if (!err)
    err = zh_wasip2_define_plan(in->comp, in->cx, plan);
  if (!err)
    err = zh_component_instantiate(in->comp, NULL, 0);
  if (err)
    fprintf(stderr, "instance: %s\n", zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  return err == NULL;
}

static void instance_free(instance *in) {
  zh_component_free(in->comp);
  zh_store_free(in->store);
  zh_wasip2_free(in->cx);
}

/* Runs `which` and returns what the guest printed (static buffer). */
static const char *run_case(const zh_wasip2_config *extra, const char *which) {
  static char out[4096];
  zh_wasip2_config c = extra ? *extra : (zh_wasip2_config){0};
  c.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  c.log = log_fn;
  instance in;
  out[0] = 0;
  if (!instance_new(&in, &c))
    return out;
  zh_val arg, res;
  zh_val_string_cstr(&arg, which);
  zh_error *err = zh_component_call(in.comp, NULL, "run", &arg, 1, &res);
  if (err)
    fprintf(stderr, "%s: %s\n", which, zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  zh_val_drop(&arg);
  zh_val_drop(&res);
  size_t n;
  snprintf(out, sizeof out, "%s", zh_wasip2_stdout_captured(in.cx, &n));
  instance_free(&in);
  return out;
}

static void check_str(const char *got, const char *want) {
  if (strcmp(got, want) != 0)
    fprintf(stderr, "got  \"%s\"\nwant \"%s\"\n", got, want);
  CHECK(strcmp(got, want) == 0);
}

static void test_fields(void) {
  check_str(run_case(NULL, "fields"),
            "append=ok append_more=ok forbidden=1 badname=0 badvalue=0 get=1:1 fromlist=1 "
            "immutable_append=2 immutable_delete=2 has=yes clone_append=ok entries=5\n");
}

/* ---- the incoming side through our own http_io ---- */

typedef struct server_side {
  const uint8_t *body;
  size_t len, pos;
  int status, starts, finishes;
  char headers[512];
  uint8_t *resp;
  size_t resp_len;
  size_t resp_at_last_read; /* response bytes already out when the last body read happened */
  int reads;
  size_t fail_at; /* nonzero: reading past this many body bytes fails */
} server_side;

static zh_error *io_read(void *req, void *buf, size_t cap, size_t *got, bool *eof) {
  server_side *s = req;
  if (s->fail_at && s->pos >= s->fail_at)
    return zh_error_new(ZH_ERR_IO, "the client went away");
  size_t k = s->len - s->pos < 1000 ? s->len - s->pos : 1000; /* small pieces */
  if (k > cap)
    k = cap;
  memcpy(buf, s->body + s->pos, k);
  s->pos += k;
  *got = k;
  *eof = s->pos == s->len;
  s->reads++;
  s->resp_at_last_read = s->resp_len;
  return NULL;
}

static zh_error *io_start(void *req, int status, const zh_wasip2_header *h, size_t n) {
  server_side *s = req;
  s->status = status;
  s->starts++;
  for (size_t i = 0; i < n; i++) {
    size_t used = strlen(s->headers);
    snprintf(s->headers + used, sizeof s->headers - used, "%s=%.*s;", h[i].name,
             (int)h[i].value_len, (const char *)h[i].value);
  }
  return NULL;
}

static zh_error *io_write(void *req, const void *data, size_t len) {
  server_side *s = req;
  uint8_t *r = realloc(s->resp, s->resp_len + len + 1);
  if (!r)
    return zh_error_new(ZH_ERR_RESOURCE, "oom");
  memcpy(r + s->resp_len, data, len);
  s->resp = r;
  s->resp_len += len;
  s->resp[s->resp_len] = 0;
  return NULL;
}

static zh_error *io_finish(void *req, const zh_wasip2_header *t, size_t n) {
  (void)t, (void)n;
  ((server_side *)req)->finishes++;
  return NULL;
}

static const zh_wasip2_http_io io = {io_read, io_start, io_write, io_finish};

/* zh_wasip2_incoming_lazy's maker: hands out the one header it is given, and counts. */
typedef struct lazy_maker {
  const zh_wasip2_header *h;
  int calls;
} lazy_maker;

static zh_error *make_one(void *arg, const zh_wasip2_header **h, size_t *n) {
  lazy_maker *lm = arg;
  lm->calls++;
  *h = lm->h;
  *n = 1;
  return NULL;
}

typedef enum { COPIED, BORROWED, LAZY } pass_mode;

/* borrowed: the request goes in through zh_wasip2_incoming_borrowed, its strings and header
 * on the heap until the context is freed (so the ASan build sees any use after that); lazy:
 * the same through zh_wasip2_incoming_lazy, the header made when the guest asks for it
 * (`*makes` counts the calls). */
static void serve_mode(server_side *s, const char *method, const char *path, bool *ok, int *status,
                       pass_mode mode, int *makes) {
  instance in;
  if (!instance_new(&in, NULL))
    return;
  char *name = strdup("X-Test"), *value = strdup("hello"), *m = strdup(method), *p = strdup(path);
  zh_wasip2_header *hdr = malloc(sizeof *hdr);
  CHECK(name && value && m && p && hdr);
  *hdr = (zh_wasip2_header){name, (const uint8_t *)value, 5};
  zh_wasip2_request rq = {
      m, p, "http", "localhost", mode == LAZY ? NULL : hdr, mode == LAZY ? 0u : 1u};
  lazy_maker lm = {hdr, 0};
  uint64_t req, outp;
  zh_error *err = mode == LAZY
                      ? zh_wasip2_incoming_lazy(in.cx, &rq, make_one, &lm, &io, s, &req, &outp)
                  : mode == BORROWED ? zh_wasip2_incoming_borrowed(in.cx, &rq, &io, s, &req, &outp)
                                     : zh_wasip2_incoming(in.cx, &rq, &io, s, &req, &outp);
  if (mode == COPIED) { /* copied: the caller's strings may go at once */
    free(name), free(value), free(m), free(p), free(hdr);
    name = value = m = p = NULL;
    hdr = NULL;
  }
  CHECK(err == NULL);
  zh_val args[2] = {zh_val_own(req), zh_val_own(outp)}, res;
  if (!err)
    err = zh_component_call(in.comp, "wasi:http/incoming-handler@0.2.12", "handle", args, 2, &res);
  if (err)
    fprintf(stderr, "handle: %s\n", zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  *ok = zh_wasip2_response_status(in.cx, status);
  instance_free(&in);
  free(name), free(value), free(m), free(p), free(hdr);
  if (makes)
    *makes = lm.calls;
}

static void serve_as(server_side *s, const char *method, const char *path, bool *ok, int *status,
                     bool borrowed) {
  serve_mode(s, method, path, ok, status, borrowed ? BORROWED : COPIED, NULL);
}

static void serve(server_side *s, const char *method, const char *path, bool *ok, int *status) {
  serve_as(s, method, path, ok, status, false);
}

static void test_incoming(void) {
  size_t len = 100000;
  uint8_t *body = malloc(len);
  for (size_t i = 0; i < len; i++)
    body[i] = (uint8_t)('a' + i % 26);
  server_side s = {.body = body, .len = len};
  bool ok = false;
  int status = 0;
  serve(&s, "POST", "/echo", &ok, &status);
  CHECK(ok);
  CHECK_EQ_INT(status, 201);
  CHECK_EQ_INT(s.status, 201);
  CHECK_EQ_INT(s.starts, 1);
  CHECK_EQ_INT(s.finishes, 1);
  check_str(s.headers, "x-echo=hello;x-method=POST;");
  const char prefix[] = "path=/echo;body=";
  CHECK_EQ_INT(s.resp_len, sizeof prefix - 1 + len);
  CHECK(s.resp && memcmp(s.resp, prefix, sizeof prefix - 1) == 0 &&
        memcmp(s.resp + sizeof prefix - 1, body, len) == 0);
  /* streamed: body bytes went out while the request body was still being read */
  CHECK(s.reads >= 100);
  CHECK(s.resp_at_last_read > sizeof prefix - 1);
  free(s.resp);

  /* the same request lent rather than copied: the guest sees the same head and headers */
  server_side sl = {.body = body, .len = len};
  serve_as(&sl, "POST", "/echo", &ok, &status, true);
  CHECK(ok);
  CHECK_EQ_INT(status, 201);
  check_str(sl.headers, "x-echo=hello;x-method=POST;");
  CHECK_EQ_INT(sl.resp_len, sizeof prefix - 1 + len);
  CHECK(sl.resp && memcmp(sl.resp, prefix, sizeof prefix - 1) == 0 &&
        memcmp(sl.resp + sizeof prefix - 1, body, len) == 0);
  free(sl.resp);

  /* and with the headers made when the guest first asks: once, the same answer */
  server_side sz = {.body = body, .len = len};
  int makes = -1;
  serve_mode(&sz, "POST", "/echo", &ok, &status, LAZY, &makes);
  CHECK(ok);
  CHECK_EQ_INT(status, 201);
  CHECK_EQ_INT(makes, 1);
  check_str(sz.headers, "x-echo=hello;x-method=POST;");
  CHECK_EQ_INT(sz.resp_len, sizeof prefix - 1 + len);
  free(sz.resp);

  server_side s404 = {.body = (const uint8_t *)"", .len = 0};
  serve(&s404, "GET", "/404", &ok, &status);
  CHECK(ok);
  CHECK_EQ_INT(s404.status, 404);
  CHECK_EQ_INT(s404.resp_len, 0);
  CHECK_EQ_INT(s404.finishes, 1);
  free(s404.resp);

  /* the request body breaks off: the guest sees last-operation-failed with the reason */
  server_side sb = {.body = body, .len = len, .fail_at = 3000};
  serve(&sb, "POST", "/echo", &ok, &status);
  const char tail[] = ";error=the client went away";
  CHECK_EQ_INT(sb.resp_len, sizeof prefix - 1 + 3000 + sizeof tail - 1);
  CHECK(sb.resp && sb.resp_len >= sizeof tail - 1 &&
        memcmp(sb.resp + sb.resp_len - (sizeof tail - 1), tail, sizeof tail - 1) == 0);
  free(sb.resp);

  server_side snb = {.body = (const uint8_t *)"", .len = 0};
  serve(&snb, "GET", "/nobody", &ok, &status);
  CHECK(ok);
  CHECK_EQ_INT(snb.status, 204);
  CHECK_EQ_INT(snb.resp_len, 0);
  CHECK_EQ_INT(snb.finishes, 1); /* ended at once: the body can never come */
  free(snb.resp);

  server_side sf = {.body = (const uint8_t *)"", .len = 0};
  serve(&sf, "GET", "/fail", &ok, &status);
  CHECK(!ok); /* an error-code response: the server answers 500 */
  CHECK_EQ_INT(sf.starts, 0);
  free(body);
}

/* ---- outgoing: a loopback HTTP/1.1 server on a thread ---- */

typedef struct http_server {
  int fd;
  uint16_t port;
  pthread_t thread;
  /* Requests answered: counted before the answer is written, so a client that has its
   * response sees its request counted. */
  atomic_int served;
} http_server;

static void serve_one(http_server *s, int c) {
  char buf[8192] = "";
  size_t n = 0;
  char *end = NULL;
  while (n < sizeof buf - 1 && !(end = strstr(buf, "\r\n\r\n"))) {
    ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
    if (r <= 0)
      return;
    n += (size_t)r;
    buf[n] = 0;
  }
  if (!end)
    return;
  char method[16] = "", path[256] = "", xreq[64] = "";
  if (getenv("WP2_DEBUG"))
    fprintf(stderr, "server got: %s\n", buf);
  sscanf(buf, "%15s %255s", method, path);
  const char *x = strcasestr(buf, "\r\nx-req: ");
  if (x)
    sscanf(x + 9, "%63[^\r]", xreq);
  size_t clen = 0;
  const char *cl = strcasestr(buf, "\r\ncontent-length: ");
  if (cl)
    clen = strtoul(cl + 18, NULL, 10);
  size_t have = n - (size_t)(end + 4 - buf);
  char body[256] = "";
  memcpy(body, end + 4, have < sizeof body - 1 ? have : sizeof body - 1);
  while (have < clen && have < sizeof body - 1) {
    ssize_t r = read(c, body + have, sizeof body - 1 - have);
    if (r <= 0)
      break;
    have += (size_t)r;
  }
  body[have < sizeof body ? have : sizeof body - 1] = 0;
  char content[1024], resp[1400];
  snprintf(content, sizeof content, "%s %s x-req=%s%s%s", method, path, xreq, have ? " " : "",
           body);
  int k = snprintf(resp, sizeof resp,
                   "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nX-Server: zh\r\n"
                   "Connection: close\r\n\r\n%s",
                   strlen(content), content);
  atomic_fetch_add(&s->served, 1);
  ssize_t w = write(c, resp, (size_t)k);
  (void)w;
}

static void *server_main(void *arg) {
  http_server *s = arg;
  for (;;) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      break;
    serve_one(s, c);
    close(c);
  }
  return NULL;
}

static bool server_start(http_server *s) {
  memset(s, 0, sizeof *s);
  if ((s->fd = zh_test_listen_loopback(&s->port)) < 0)
    return false;
  return pthread_create(&s->thread, NULL, server_main, s) == 0;
}

static void server_stop(http_server *s) {
  shutdown(s->fd, SHUT_RDWR);
  close(s->fd);
  pthread_join(s->thread, NULL);
}

static void test_outgoing(void) {
  http_server srv;
  CHECK(server_start(&srv));
  char origin[64], get[64], post[64], want[256];
  snprintf(origin, sizeof origin, "http://127.0.0.1:%d", srv.port);
  snprintf(get, sizeof get, "get 127.0.0.1:%d", srv.port);
  snprintf(post, sizeof post, "post 127.0.0.1:%d", srv.port);
  const char *allow[] = {origin};
  zh_wasip2_config c = {0};
  c.http_allow = allow;
  c.nhttp_allow = 1;
  check_str(run_case(&c, get), "status=200 x-server=zh body=GET /hello x-req=from-guest\n");
  check_str(run_case(&c, post),
            "status=200 x-server=zh body=POST /post?x=1 x-req=from-guest ping\n");
  CHECK_EQ_INT(atomic_load(&srv.served), 2);

  /* not on the allow-list: HTTP-request-denied (15), logged, nothing reaches the server */
  logged[0] = 0;
  check_str(run_case(NULL, get), "error=15\n");
  snprintf(want, sizeof want, "wasip2: outbound HTTP GET http://127.0.0.1:%d/hello denied",
           srv.port);
  CHECK(strncmp(logged, want, strlen(want)) == 0);
  CHECK_EQ_INT(atomic_load(&srv.served), 2);
  server_stop(&srv);

  /* allowed but refused: connection-refused (6) from the future */
  const char *any[] = {"*"};
  c.http_allow = any;
  snprintf(get, sizeof get, "get 127.0.0.1:%d", zh_test_free_port());
  check_str(run_case(&c, get), "failed=6\n");
}

int main(void) {
  const char *build = zh_test_build_dir();
  char cli[256], witdir[128];
  snprintf(cli, sizeof cli, "%s/zerohop", build);
  strcpy(tmp, "/tmp/zh_wasip2h_XXXXXX");
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
    if (plan) {
      test_fields();
      test_incoming();
      test_outgoing();
    }
  }
  zh_wasip2_plan_free(plan);
  zh_wit_free(wit);
  zh_module_free(module);
  zh_engine_free(engine);
  run("rm -rf %s", tmp);
  TEST_SUMMARY();
}
