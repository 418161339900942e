/* The orders example (examples/orders) in both of its variants, end to end, with the same
 * wasm components: once with every hop on the network (spin-networked.toml: checkout's
 * pricing dependency is pricing-client, which POSTs to pricing over loopback HTTP; the
 * `orders` events go through a real redis-server) and once with zero hops (spin.toml:
 * pricing itself is the dependency, a typed in-process call; the in-process bus). The same
 * orders must give byte-identical answers and the same ledger in both, and those must be the
 * right ones: the test prices every order itself. The zero-hop run must not publish to Redis,
 * and only the networked one may reach pricing's HTTP route. */
#include "httpclient.h"
#include "testlib.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORDERS 40
#define ORDER_BYTES 1024 /* each order is padded to 1 KiB, the benchmark's payload */

typedef struct answer {
  int status;
  char body[128];
} answer;

/* Order i: an id, two items and a note padding it to ORDER_BYTES. Its price (pricing.c's rule,
 * computed here independently) goes to *total. */
static size_t make_order(int i, char *buf, long long *total) {
  int qty1 = 1 + i % 5, cents1 = 100 + 37 * i, qty2 = 1 + i % 3;
  int n = snprintf(buf, ORDER_BYTES + 1, "order O%03d\nitem sku%d %d %d\nitem extra %d 999\nnote ",
                   i, i % 7, qty1, cents1, qty2);
  memset(buf + n, 'a' + i % 26, (size_t)(ORDER_BYTES - n - 1));
  buf[ORDER_BYTES - 1] = '\n';
  buf[ORDER_BYTES] = '\0';
  long long t = (long long)qty1 * cents1 + (long long)qty2 * 999;
  *total = t > 10000 ? t - t / 20 : t;
  return ORDER_BYTES;
}

static bool post(uint16_t port, const char *path, const char *body, size_t len, answer *a) {
  zh_hc *c = zh_hc_open(port);
  if (!c)
    return false;
  char *raw = malloc(len + 256);
  int n =
      snprintf(raw, 256, "POST %s HTTP/1.1\r\nHost: orders.example\r\nContent-Length: %zu\r\n\r\n",
               path, len);
  memcpy(raw + n, body, len);
  raw[n + len] = '\0';
  zh_hc_response r;
  memset(&r, 0, sizeof r);
  bool ok = zh_hc_request(c, raw, &r, 4096);
  if (ok) {
    a->status = r.status;
    snprintf(a->body, sizeof a->body, "%s", r.body ? r.body : "");
  }
  zh_hc_response_free(&r);
  zh_hc_close(c);
  free(raw);
  return ok;
}

/* GET /report until it shows `orders` events (the ledger runs behind the responses), or 10 s. */
static bool report(uint16_t port, int orders, char *out, size_t size) {
  char want[32];
  snprintf(want, sizeof want, "orders=%d ", orders);
  for (double t0 = zh_test_now_ms(); zh_test_now_ms() - t0 < 10000;) {
    zh_hc_response r;
    if (zh_hc_get(port, "/report", &r) && r.status == 200 && r.body) {
      snprintf(out, size, "%s", r.body);
      zh_hc_response_free(&r);
      if (strncmp(out, want, strlen(want)) == 0)
        return true;
    } else {
      zh_hc_response_free(&r);
    }
    struct timespec nap = {0, 20000000};
    nanosleep(&nap, NULL);
  }
  return false;
}

/* A counter of Redis's INFO (`field` with its "=" or ":"), 0 when absent. */
static long redis_info(uint16_t redis_port, const char *section, const char *field) {
  char p[8];
  snprintf(p, sizeof p, "%u", (unsigned)redis_port);
  const char *argv[] = {"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", p, "INFO", section, NULL};
  zh_test_proc proc;
  if (!zh_test_spawn(argv, NULL, NULL, 0, 5000, &proc))
    return -1;
  const char *s = proc.out ? strstr(proc.out, field) : NULL;
  long n = s ? atol(s + strlen(field)) : 0;
  zh_test_proc_free(&proc);
  return n;
}

/* Redis's count of PUBLISH commands so far. */
static long publishes(uint16_t redis_port) {
  return redis_info(redis_port, "commandstats", "cmdstat_publish:calls=");
}

/* Connections Redis accepted so far (redis-cli's own included). */
static long connections(uint16_t redis_port) {
  return redis_info(redis_port, "stats", "total_connections_received:");
}

/* Whether `zerohop up`'s wiring (its stdout at start) has the edge `edge` as an in-process
 * call of zerohop:orders/pricing: a line "  EDGE  in-process  call (...)", columns padded. */
static bool wired_call(const char *out, const char *edge) {
  static const char want[] = "in-process  call (zerohop:orders/pricing)\n";
  size_t n = strlen(edge);
  for (const char *l = out; *l;) {
    const char *nl = strchr(l, '\n');
    if (strncmp(l, "  ", 2) == 0 && strncmp(l + 2, edge, n) == 0 && l[2 + n] == ' ') {
      const char *rest = l + 2 + n + strspn(l + 2 + n, " ");
      if (strncmp(rest, want, sizeof want - 1) == 0)
        return true;
    }
    if (!nl)
      break;
    l = nl + 1;
  }
  return false;
}

/* Runs one variant: starts `zerohop up` with its manifest and runtime config, sends every
 * order, waits for the ledger, stops it. */
static void run_variant(const char *dir, const char *name, uint16_t redis_port, bool networked,
                        answer *answers, char *final, size_t final_size) {
  uint16_t port = zh_test_free_port();
  char listen[64], state[300], rc[128], redis_var[96], pricing_var[128];
  snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)port);
  snprintf(state, sizeof state, "%s/%s-state", dir, name);
  snprintf(rc, sizeof rc, "examples/orders/runtime-config/%s.toml", name);
  snprintf(redis_var, sizeof redis_var, "redis_address=redis://127.0.0.1:%u", (unsigned)redis_port);
  snprintf(pricing_var, sizeof pricing_var, "pricing_url=http://127.0.0.1:%u/pricing",
           (unsigned)port);
  const char *argv[] = {"up",
                        "-f",
                        networked ? "examples/orders/spin-networked.toml" : "examples/orders",
                        "--listen",
                        listen,
                        "--state-dir",
                        state,
                        "--runtime-config-file",
                        rc,
                        "--variable",
                        redis_var,
                        networked ? "--variable" : NULL,
                        pricing_var,
                        NULL};
  zh_test_cli_server s;
  bool started =
      zh_test_cli_start(&s, dir, name, argv, NULL, "Serving http://127.0.0.1:", 20000, NULL);
  CHECK(started);
  if (!started) {
    char *err = zh_test_cli_err(&s);
    fprintf(stderr, "%s: %s\n", name, err);
    free(err);
    return;
  }
  /* checkout's pricing is a typed call in both; networked, it is pricing-client's, and
   * pricing answers on the network as well */
  CHECK(wired_call(s.out, networked ? "checkout -> pricing-client" : "checkout -> pricing"));
  answer direct;
  CHECK(post(s.port, "/pricing", "item a 2 300\n", 13, &direct));
  CHECK_EQ_INT(direct.status, networked ? 200 : 404);
  if (networked)
    CHECK(strcmp(direct.body, "total=600\n") == 0);
  char order[ORDER_BYTES + 1];
  for (int i = 0; i < ORDERS; i++) {
    long long total;
    size_t len = make_order(i, order, &total);
    CHECK(post(s.port, "/checkout", order, len, &answers[i]));
  }
  CHECK(report(s.port, ORDERS, final, final_size));
  /* a malformed order: refused by checkout, nothing published */
  answer bad;
  CHECK(post(s.port, "/checkout", "hello", 5, &bad) && bad.status == 400);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  char *err = zh_test_cli_err(&s);
  CHECK(strstr(err, "failed") == NULL);
  free(err);
}

/* Networked, with pricing_url at a loopback port where nothing listens: pricing-client's
 * error comes back through the typed call as result's err, and checkout answers 502 with it;
 * nothing is published. */
static void pricing_unreachable(const char *dir, uint16_t redis_port) {
  uint16_t dead = zh_test_free_port(); /* bound and closed again: nothing listens there */
  char listen[64], state[300], redis_var[96], pricing_var[128];
  snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)zh_test_free_port());
  snprintf(state, sizeof state, "%s/unreachable-state", dir);
  snprintf(redis_var, sizeof redis_var, "redis_address=redis://127.0.0.1:%u", (unsigned)redis_port);
  snprintf(pricing_var, sizeof pricing_var, "pricing_url=http://127.0.0.1:%u/pricing",
           (unsigned)dead);
  const char *argv[] = {"up",
                        "-f",
                        "examples/orders/spin-networked.toml",
                        "--listen",
                        listen,
                        "--state-dir",
                        state,
                        "--runtime-config-file",
                        "examples/orders/runtime-config/networked.toml",
                        "--variable",
                        redis_var,
                        "--variable",
                        pricing_var,
                        NULL};
  zh_test_cli_server s;
  bool started = zh_test_cli_start(&s, dir, "unreachable", argv, NULL,
                                   "Serving http://127.0.0.1:", 20000, NULL);
  CHECK(started);
  if (!started)
    return;
  long before = publishes(redis_port);
  char order[ORDER_BYTES + 1];
  long long total;
  size_t len = make_order(1, order, &total);
  answer a;
  CHECK(post(s.port, "/checkout", order, len, &a));
  CHECK_EQ_INT(a.status, 502);
  CHECK(strncmp(a.body, "pricing: ", 9) == 0 && strlen(a.body) > 10);
  CHECK_EQ_INT(publishes(redis_port) - before, 0);
  CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
}

int main(void) {
  char dir[] = "/tmp/zh-orders-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  zh_test_redis redis = {0};
  CHECK(zh_test_redis_start(&redis));
  static answer net[ORDERS], local[ORDERS];
  char net_final[128] = "", local_final[128] = "";

  long before = publishes(redis.port);
  run_variant(dir, "networked", redis.port, true, net, net_final, sizeof net_final);
  long after_net = publishes(redis.port);
  CHECK_EQ_INT(after_net - before, ORDERS); /* every event went through Redis */
  long conns = connections(redis.port);
  run_variant(dir, "zero-hop", redis.port, false, local, local_final, sizeof local_final);
  CHECK_EQ_INT(publishes(redis.port) - after_net, 0); /* and none of these */
  /* nor any connection: checkout's handle only ever publishes to a local channel (the two
   * counted are the redis-cli calls of publishes() and of this line) */
  CHECK_EQ_INT(connections(redis.port) - conns, 2);

  pricing_unreachable(dir, redis.port);

  long long revenue = 0;
  char order[ORDER_BYTES + 1], want[128];
  for (int i = 0; i < ORDERS; i++) {
    long long total;
    make_order(i, order, &total);
    revenue += total;
    snprintf(want, sizeof want, "{\"order\":\"O%03d\",\"total\":%lld}\n", i, total);
    CHECK_EQ_INT(net[i].status, 200);
    CHECK(strcmp(net[i].body, want) == 0);
    CHECK_EQ_INT(local[i].status, net[i].status);
    CHECK(strcmp(local[i].body, net[i].body) == 0);
  }
  snprintf(want, sizeof want, "orders=%d revenue=%lld\n", ORDERS, revenue);
  CHECK(strcmp(net_final, want) == 0);
  CHECK(strcmp(local_final, net_final) == 0);

  zh_test_redis_stop(&redis);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
  TEST_SUMMARY();
}
