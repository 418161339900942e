/* What a key-value read and write costs a request (make bench-kv, docs/PERFORMANCE.md).
 *
 * Each "request" stamps an instance of build/components/kv-c.wasm from its template (as
 * `zerohop up` will), makes its key-value state, calls the guest's `run` twice and frees it
 * all. The reference, measured in the same run, is the same request with two calls that touch
 * no store (`init`); the others do `spin-set` then `spin-get` on the SQLite default store and,
 * when redis-server is installed, on a Redis store on a loopback port, and two
 * `wasi:keyvalue/atomics.increment` on the SQLite store (what the orders example's ledger
 * does per event). Rounds alternate between them; the figure is the median over rounds of
 * the mean time per request. */
#include "host/kv.h"
#include "host/host_instance.h"
#include "testutil.h"
#include "zerohop/cm.h"
#include "zerohop/wasip2.h"

#include <time.h>

enum { ROUNDS = 7, REQUESTS = 500 };

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Calls run; true if it answered `want` (NULL: any string). */
static bool call(zh_cm_instance *in, zh_cm_func *run, const char *const *words, size_t n,
                 const char *want) {
  zh_val arg, res = zh_val_bool(false);
  zh_error *err = zh_val_list(&arg, n);
  for (size_t i = 0; !err && i < n; i++)
    err = zh_val_string_cstr(&zh_val_list_items(&arg)[i], words[i]);
  if (!err)
    err = zh_cm_func_call(in, run, &arg, 1, &res);
  bool ok = !err && res.kind == ZH_WIT_STRING && (!want || strcmp(res.of.str.data, want) == 0);
  if (err)
    fprintf(stderr, "bench-kv: %s\n", zh_error_message(err));
  else if (!ok)
    fprintf(stderr, "bench-kv: `%s` answered `%s`\n", words[0],
            res.kind == ZH_WIT_STRING ? res.of.str.data : "?");
  zh_error_free(err);
  zh_val_drop(&arg);
  zh_val_drop(&res);
  return ok;
}

/* One request: two commands of two to four words each, and their answers (NULL: any). */
static bool request(zh_engine *engine, const zh_cm_template *tpl, zh_host_kv_stores *stores,
                    const char *const *first, size_t n1, const char *want1,
                    const char *const *second, size_t n2, const char *want2) {
  static const char *const labels[] = {"default", "cache"};
  zh_store *store = NULL;
  zh_host_instance host = {0};
  zh_cm_instance *in = NULL;
  zh_error *err = zh_store_new(engine, &store);
  if (!err)
    host.p2 = zh_wasip2_new(NULL, &err);
  if (!err)
    err = zh_host_kv_inst_new(stores, labels, 2, &host.kv);
  if (!err) {
    zh_wasip2_set_user(host.p2, &host);
    zh_wasip2_set_store(host.p2, store);
    err = zh_cm_template_instantiate(tpl, store, host.p2, &in);
  }
  zh_cm_func *run = in ? zh_cm_instance_func(in, NULL, "run") : NULL;
  bool ok = !err && run && call(in, run, first, n1, want1) && call(in, run, second, n2, want2);
  if (err)
    fprintf(stderr, "bench-kv: %s\n", zh_error_message(err));
  zh_error_free(err);
  zh_cm_instance_free(in);
  zh_host_kv_inst_free(host.kv);
  zh_wasip2_free(host.p2);
  zh_store_free(store);
  return ok;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(void) {
  zh_engine *engine = NULL;
  zh_cm_component *comp = NULL;
  zh_cm_linker *linker = NULL;
  zh_cm_template *tpl = NULL;
  uint8_t *bytes = NULL;
  size_t len = 0;
  if (!zh_test_read_file("build/components/kv-c.wasm", &bytes, &len)) {
    fprintf(stderr, "bench-kv: build/components/kv-c.wasm missing (make bench-kv builds it)\n");
    return 1;
  }
  zh_error *err = zh_engine_new(NULL, &engine);
  if (!err)
    err = zh_cm_component_new(engine, bytes, len, "kv-c", &comp);
  free(bytes);
  if (!err)
    err = zh_cm_linker_new(&linker);
  if (!err)
    err = zh_wasip2_define_linker(linker);
  if (!err)
    err = zh_host_kv_define_linker(linker);
  if (!err)
    err = zh_cm_template_new(linker, comp, &tpl);
  zh_cm_linker_free(linker);

  zh_test_redis redis = {0};
  bool have_redis = !err && zh_test_redis_start(&redis);
  char dir[] = "/tmp/zh-bench-kv-XXXXXX", url[64];
  if (!err && !mkdtemp(dir))
    err = zh_error_new(ZH_ERR_IO, "mkdtemp failed");
  snprintf(url, sizeof url, "redis://127.0.0.1:%u/0", (unsigned)redis.port);
  zh_host_kv_store_config cfg[] = {{.label = "cache", .type = ZH_HOST_KV_REDIS, .url = url}};
  zh_host_kv_config config = {.state_dir = dir, .stores = cfg, .nstores = have_redis ? 1 : 0};
  zh_host_kv_stores *stores = NULL;
  if (!err)
    err = zh_host_kv_stores_new(&config, &stores);
  if (err) {
    fprintf(stderr, "bench-kv: %s\n", zh_error_message(err));
    zh_error_free(err);
    return 1;
  }

  static const char *const bare[] = {"init"};
  static const char *const sset[] = {"spin-set", "default", "counter", "some bytes"};
  static const char *const sget[] = {"spin-get", "default", "counter"};
  static const char *const rset[] = {"spin-set", "cache", "counter", "some bytes"};
  static const char *const rget[] = {"spin-get", "cache", "counter"};
  static const char *const incr1[] = {"wasi-incr", "default", "orders", "1"};
  static const char *const incr2[] = {"wasi-incr", "default", "revenue", "12113"};
  const char *names[] = {"bare request (reference)", "SQLite set+get", "SQLite increment x2",
                         "Redis set+get"};
  double t[4][ROUNDS];
  int kinds = have_redis ? 4 : 3;
  bool ok = true;
  for (int r = 0; r < ROUNDS && ok; r++)
    for (int k = 0; k < kinds && ok; k++) {
      double t0 = now_us();
      for (int i = 0; i < REQUESTS && ok; i++)
        ok = k == 0   ? request(engine, tpl, stores, bare, 1, NULL, bare, 1, NULL)
             : k == 1 ? request(engine, tpl, stores, sset, 4, "ok", sget, 3, "some:some bytes")
             : k == 2 ? request(engine, tpl, stores, incr1, 4, NULL, incr2, 4, NULL)
                      : request(engine, tpl, stores, rset, 4, "ok", rget, 3, "some:some bytes");
      t[k][r] = (now_us() - t0) / REQUESTS;
    }
  double med[4] = {0};
  for (int k = 0; ok && k < kinds; k++) {
    qsort(t[k], ROUNDS, sizeof t[k][0], cmp_double);
    med[k] = t[k][ROUNDS / 2];
    printf("bench-kv: %-26s %8.1f us/request", names[k], med[k]);
    if (k)
      printf("  (+%.1f us, %.2fx the reference)", med[k] - med[0], med[k] / med[0]);
    printf("\n");
  }
  if (!have_redis)
    printf("bench-kv: Redis skipped: redis-server did not start\n");
  zh_host_kv_stores_free(stores);
  zh_test_redis_stop(&redis);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "bench-kv: could not remove %s\n", dir);
  zh_cm_template_free(tpl);
  zh_cm_component_free(comp);
  zh_engine_free(engine);
  return ok ? 0 : 1;
}
