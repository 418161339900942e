/* Component call cost (docs/PERFORMANCE.md, "Component calls"): guest A calls guest B's
 * `echo-bytes: func(b: list<u8>) -> list<u8>` through the link adapter (zerohop/link.h) with
 * 0 B, 1 KiB and 64 KiB payloads, and the host calls a trivial export of B. A runs N calls in a
 * loop inside wasm (tests/guests/link_a.c, bench_bytes); a batch's time over N is one sample,
 * and median and p99 are taken over many batches. As a reference, the round trip of a Redis
 * PING over loopback TCP, if redis-server is installed (started on a free port, stopped by
 * PID). Usage: call [BUILD_DIR] (default "build"; needs `make guests`). */
#include "zerohop/link.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define API "t:link/api@1.0.0"
#define BATCHES 301

static const char *wit_text =
    "package t:link@1.0.0;\n"
    "interface api {\n"
    "  record item { name: string, tags: list<string>, note: option<string>, weight: f64 }\n"
    "  variant shape { empty, circle(f32), label(string), big(u64), pair(tuple<string, u32>) }\n"
    "  type deep = option<option<result<option<shape>, list<string>>>>;\n"
    "  add: func(a: u32, b: s8, c: bool, d: char, e: f64) -> u64;\n"
    "  nop: func() -> u32;\n"
    "  echo-string: func(s: string) -> string;\n"
    "  echo-bytes: func(b: list<u8>) -> list<u8>;\n"
    "  echo-items: func(x: list<item>) -> list<item>;\n"
    "  echo-res: func(x: result<shape, string>) -> result<shape, string>;\n"
    "  echo-deep: func(x: list<deep>) -> list<deep>;\n"
    "  total: func(a: item, b: item, c: item) -> f64;\n"
    "}\n"
    "world callee { export api; }\n"
    "world caller { import api; }\n";

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Sorts the samples; median and p99 (nearest rank). */
static void stats(double *s, size_t n, double *med, double *p99) {
  qsort(s, n, sizeof *s, cmp_double);
  *med = s[n / 2];
  size_t k = (size_t)(0.99 * (double)n + 0.5);
  *p99 = s[k >= n ? n - 1 : k];
}

static void die(zh_error *err, const char *what) {
  if (!err)
    return;
  fprintf(stderr, "bench-call: %s: %s\n", what, zh_error_message(err));
  exit(1);
}

static zh_module *load(zh_engine *engine, const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/guests/%s.wasm", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "bench-call: cannot read %s (run `make guests`)\n", path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
    exit(1);
  fclose(f);
  zh_module *m = NULL;
  die(zh_module_new(engine, buf, (size_t)n, path, &m), path);
  free(buf);
  return m;
}

static zh_error *no_wasi(zh_caller *c, void *env, const zh_value *a, zh_value *r) {
  (void)c, (void)env, (void)a, (void)r;
  return zh_error_new(ZH_ERR_TRAP, "unexpected WASI call");
}

static zh_extern *imports_of(zh_store *s, const zh_module *m) {
  size_t n = zh_module_import_count(m);
  zh_extern *ext = calloc(n + 1, sizeof *ext);
  for (size_t i = 0; i < n; i++) {
    zh_import_info imp;
    zh_module_import(m, i, &imp);
    if (strcmp(imp.module, "wasi_snapshot_preview1") == 0) {
      ext[i].kind = ZH_EXTERN_FUNC;
      ext[i].of.func = zh_func_new_host(s, &imp.func, no_wasi, NULL);
    }
  }
  return ext;
}

/* ---- Redis PING over loopback, the reference ---- */

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

static bool have(const char *prog) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
  return system(cmd) == 0;
}

static void bench_redis(void) {
  if (!have("redis-server")) {
    printf("redis PING round trip: skipped (redis-server not installed)\n");
    return;
  }
  int port = free_port();
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    execlp("redis-server", "redis-server", "--port", ps, "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", (char *)NULL);
    _exit(127);
  }
  int fd = -1;
  for (int tries = 0; tries < 200 && fd < 0; tries++) {
    usleep(10000);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      close(fd);
      fd = -1;
    }
  }
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    enum { N = 20000 };
    static double s[N];
    char buf[64];
    size_t n = 0;
    for (int i = 0; i < N + 1000; i++) {
      double t0 = now_us();
      if (write(fd, "PING\r\n", 6) != 6 || read(fd, buf, sizeof buf) != 7)
        break;
      if (i >= 1000) /* warm-up */
        s[n++] = now_us() - t0;
    }
    close(fd);
    double med, p99;
    if (n) {
      stats(s, n, &med, &p99);
      printf("redis PING round trip (loopback TCP, port %d): median %.2f us  p99 %.2f us\n", port,
             med, p99);
    }
  } else {
    printf("redis PING round trip: redis-server did not come up\n");
  }
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "build";
  zh_engine *engine;
  zh_store *store;
  zh_wit *wit;
  die(zh_engine_new(NULL, &engine), "engine");
  die(zh_wit_parse_string("call.wit", wit_text, &wit), "wit");
  zh_module *ma = load(engine, dir, "link_a"), *mb = load(engine, dir, "link_b");
  die(zh_store_new(engine, &store), "store");
  zh_instance *a, *b;
  zh_extern *eb = imports_of(store, mb), *ea = imports_of(store, ma);
  die(zh_instance_new(store, mb, eb, zh_module_import_count(mb), &b), "instantiate B");
  const zh_wit_package *pkg = zh_wit_root(wit);
  die(zh_link_imports(store, ma, zh_wit_find_world(pkg, "caller"), b,
                      zh_wit_find_world(pkg, "callee"), ea, zh_module_import_count(ma), NULL),
      "link");
  /* echo-flags (40 flags) is outside the parsed WIT; the benchmark never calls it. */
  for (size_t i = 0; i < zh_module_import_count(ma); i++)
    if (!ea[i].of.func) {
      zh_import_info imp;
      zh_module_import(ma, i, &imp);
      ea[i].kind = ZH_EXTERN_FUNC;
      ea[i].of.func = zh_func_new_host(store, &imp.func, no_wasi, NULL);
    }
  die(zh_instance_new(store, ma, ea, zh_module_import_count(ma), &a), "instantiate A");

  printf("component calls: guest A -> guest B, echo-bytes: func(b: list<u8>) -> list<u8>\n");
  zh_func *bench = zh_instance_func(a, "bench_bytes");
  static const struct {
    const char *label;
    uint32_t size, n;
  } cases[] = {{"0B", 0, 2000}, {"1KiB", 1024, 2000}, {"64KiB", 65536, 100}};
  double med1k = 0;
  static double s[BATCHES];
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    zh_value args[2] = {zh_i32((int32_t)cases[c].n), zh_i32((int32_t)cases[c].size)}, r;
    die(zh_func_call(store, bench, args, 2, &r, 1), "warm-up");
    if ((uint32_t)r.of.i32 != cases[c].n * cases[c].size) {
      fprintf(stderr, "bench-call: echo-bytes returned the wrong length\n");
      return 1;
    }
    for (int k = 0; k < BATCHES; k++) {
      double t0 = now_us();
      die(zh_func_call(store, bench, args, 2, &r, 1), "bench_bytes");
      s[k] = (now_us() - t0) / cases[c].n;
    }
    double med, p99;
    stats(s, BATCHES, &med, &p99);
    printf("  guest->guest %-6s median %8.2f us  p99 %8.2f us  (%u calls x %d batches)\n",
           cases[c].label, med, p99, cases[c].n, BATCHES);
    if (cases[c].size == 1024)
      med1k = med;
  }

  zh_func *nop = zh_instance_func(b, API "#nop");
  enum { HN = 5000 };
  for (int k = 0; k < BATCHES; k++) {
    zh_value r;
    double t0 = now_us();
    for (int i = 0; i < HN; i++)
      die(zh_func_call(store, nop, NULL, 0, &r, 1), "nop");
    s[k] = (now_us() - t0) / HN;
  }
  double med, p99;
  stats(s, BATCHES, &med, &p99);
  printf("  host->guest  nop    median %8.2f us  p99 %8.2f us  (%d calls x %d batches)\n", med, p99,
         HN, BATCHES);

  fflush(stdout); /* the child of fork() must not inherit buffered output */
  bench_redis();
  zh_store_free(store);
  free(ea);
  free(eb);
  zh_module_free(ma);
  zh_module_free(mb);
  zh_wit_free(wit);
  zh_engine_free(engine);
  printf("bench-call: 1KiB median %.2f us\n", med1k);
  return 0;
}
