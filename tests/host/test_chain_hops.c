/* Service chaining's hop records (src/host/app_chain.c into src/host/hops.h), in process: the
 * app loaded with zh_app_load and served by zh_http_server on a loopback port it picks,
 * driven over real sockets; then the app's edge table must hold one ZH_HOP_CHAIN edge per
 * caller and callee, with the requests counted, the failures counted as errors and the body
 * bytes summed. The components are mk/service-chain.mk's. */
#include "host/app_internal.h"
#include "httpclient.h"
#include "testlib.h"
#include "testutil.h"

#include <limits.h>
#include <sys/stat.h>

typedef struct edges {
  zh_hop_edge e[16];
  char names[16][2][64];
  int n;
} edges;

static void collect(void *env, const zh_hop_edge *edge) {
  edges *s = env;
  if (s->n >= 16)
    return;
  s->e[s->n] = *edge;
  snprintf(s->names[s->n][0], 64, "%s", edge->caller);
  snprintf(s->names[s->n][1], 64, "%s", edge->callee);
  s->e[s->n].caller = s->names[s->n][0];
  s->e[s->n].callee = s->names[s->n][1];
  s->n++;
}

static const zh_hop_edge *find(const edges *s, const char *caller, const char *callee) {
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->e[i].caller, caller) == 0 && strcmp(s->e[i].callee, callee) == 0)
      return &s->e[i];
  return NULL;
}

static int post(uint16_t port, const char *url, size_t body_len) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "POST /caller/x HTTP/1.1\r\nHost: t\r\nx-chain-url: %s\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   url, body_len);
  char *req = malloc((size_t)n + body_len);
  if (!req)
    return -1;
  memcpy(req, head, (size_t)n);
  memset(req + n, 'b', body_len);
  zh_hc_response r;
  memset(&r, 0, sizeof r);
  zh_hc *c = zh_hc_open(port);
  int status = -1;
  if (c && zh_hc_send(c, req, (size_t)n + body_len) && zh_hc_read(c, &r, false, 1 << 16))
    status = r.status;
  zh_hc_response_free(&r);
  zh_hc_close(c);
  free(req);
  return status;
}

static void quiet(void *env, const char *line) { (void)env, (void)line; }

int main(void) {
  char root[PATH_MAX - 64], dir[] = "/tmp/zh-test-chain-hops-XXXXXX";
  if (!getcwd(root, sizeof root) || !mkdtemp(dir))
    return 1;
  signal(SIGPIPE, SIG_IGN);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/spin.toml", dir);
  FILE *f = fopen(path, "w");
  if (!f)
    return 1;
  fprintf(f,
          "spin_manifest_version = 2\n[application]\nname = \"hops\"\n"
          "[[trigger.http]]\nroute = \"/caller/...\"\ncomponent = \"caller\"\n"
          "[[trigger.http]]\nroute = { private = true }\ncomponent = \"echo\"\n"
          "[[trigger.http]]\nroute = { private = true }\ncomponent = \"hostile\"\n"
          "[component.caller]\nsource = \"%s/build/components/host/chain_caller.wasm\"\n"
          "allowed_outbound_hosts = [\"http://*.spin.internal\"]\n"
          "[component.echo]\nsource = \"%s/build/components/host/echo_http.wasm\"\n"
          "[component.hostile]\nsource = \"%s/build/components/c-http-hostile.wasm\"\n",
          root, root, root);
  fclose(f);

  zh_engine *engine = NULL;
  zh_app *app = NULL;
  zh_http_server *server = NULL;
  zh_app_options o;
  memset(&o, 0, sizeof o);
  o.manifest = dir;
  o.log = quiet;
  zh_error *err = zh_engine_new(NULL, &engine);
  if (!err)
    err = zh_app_load(engine, &o, &app);
  zh_http_config hc;
  memset(&hc, 0, sizeof hc);
  hc.addr = "127.0.0.1:0";
  hc.handler = zh_app_handle_http;
  hc.env = app;
  if (!err)
    err = zh_http_server_start(&hc, &server);
  if (err) {
    fprintf(stderr, "%s\n", zh_error_message(err));
    zh_error_free(err);
    CHECK(false);
  } else {
    uint16_t port = zh_http_server_port(server);
    CHECK_EQ_INT(post(port, "http://echo.spin.internal/a", 1000), 200);
    CHECK_EQ_INT(post(port, "http://echo.spin.internal/b", 24), 200);
    CHECK_EQ_INT(post(port, "http://hostile.spin.internal/trap", 0), 500);
    CHECK_EQ_INT(post(port, "http://other.example/", 0), 502); /* denied: an HTTP error */
    zh_http_server_stop(server, 1000);
    edges s = {.n = 0};
    zh_hops_each(app->hops, collect, &s);
    const zh_hop_edge *e = find(&s, "caller", "echo");
    CHECK(e != NULL);
    if (e) {
      CHECK_EQ_INT(e->kind, ZH_HOP_CHAIN);
      CHECK_EQ_INT(e->count, 2);
      CHECK_EQ_INT(e->errors, 0);
      /* request bodies (1000 + 24) and the echoes: each echo is its text head plus the body */
      CHECK(e->bytes > 2 * 1024 && e->bytes < 2 * 1024 + 2 * 400);
      CHECK(e->total_ns > 0);
    }
    const zh_hop_edge *h = find(&s, "caller", "hostile");
    CHECK(h != NULL);
    if (h) {
      CHECK_EQ_INT(h->kind, ZH_HOP_CHAIN);
      CHECK_EQ_INT(h->count, 1);
      CHECK_EQ_INT(h->errors, 1);
    }
    /* the denied request never left: no chaining hop, one failed outbound-HTTP attempt */
    const zh_hop_edge *d = find(&s, "caller", "other.example:80");
    CHECK(d != NULL && d->kind == ZH_HOP_HTTP_OUT && d->count == 1 && d->errors == 1);
    CHECK_EQ_INT(s.n, 3);
  }
  zh_http_server_free(server);
  zh_app_free(app);
  zh_engine_free(engine);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  TEST_SUMMARY();
}
