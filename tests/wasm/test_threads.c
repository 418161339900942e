/* Stores are independent: several threads each run their own instance of one shared
 * module at the same time, with guard-page traps (per-thread signal handling) mixed in.
 * Each thread's results must equal the single-threaded ones.
 * Needs `make guests`; the build directory comes from $ZH_BUILD (default "build"). */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/engine.h"
#include "zerohop/wasi.h"

#include <pthread.h>
#include <stdint.h>

#define THREADS 4
#define ROUNDS 40

typedef struct job {
  const zh_module *module;
  zh_engine *engine;
  uint32_t seed;
  uint32_t result;
  int traps;    /* guard-page traps observed, each as MEMORY_OOB */
  int failures; /* anything else unexpected */
} job;

static uint32_t call_u32(zh_store *store, zh_func *f, uint32_t a, uint32_t b, int nargs,
                         zh_error **err) {
  zh_value args[2] = {zh_i32((int32_t)a), zh_i32((int32_t)b)}, res = zh_i32(0);
  *err = zh_func_call(store, f, args, (size_t)nargs, &res, 1);
  return (uint32_t)res.of.i32;
}

static void *worker(void *arg) {
  job *j = arg;
  zh_store *store = NULL;
  zh_instance *inst = NULL;
  /* The guest is a WASI command: its imports come from a WASI context of its own. */
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  zh_extern imports[16];
  zh_wasi_ctx *wasi = NULL;
  zh_error *err = zh_store_new(j->engine, &store);
  if (!err && zh_module_import_count(j->module) > 16)
    err = zh_error_new(ZH_ERR_USAGE, "too many imports");
  if (!err)
    wasi = zh_wasi_new(&cfg, &err);
  if (!err)
    err = zh_wasi_link(wasi, store, j->module, imports);
  if (!err)
    err = zh_instance_new(store, j->module, imports, zh_module_import_count(j->module), &inst);
  if (err) {
    fprintf(stderr, "worker: %s\n", zh_error_message(err));
    j->failures++;
    zh_error_free(err);
    zh_store_free(store);
    zh_wasi_free(wasi);
    return NULL;
  }
  zh_func *churn = zh_instance_func(inst, "churn"), *oob = zh_instance_func(inst, "oob");
  for (int k = 0; k < 3 && churn && oob; k++) {
    j->result = call_u32(store, churn, j->seed, ROUNDS, 2, &err);
    if (err) {
      j->failures++;
      zh_error_free(err);
    }
    call_u32(store, oob, (uint32_t)k * 4, 0, 1, &err);
    if (err && zh_error_status(err) == ZH_ERR_TRAP && zh_error_trap(err) == ZH_TRAP_MEMORY_OOB)
      j->traps++;
    else
      j->failures++;
    zh_error_free(err);
  }
  zh_store_free(store);
  zh_wasi_free(wasi);
  return NULL;
}

int main(void) {
  const char *build = zh_test_build_dir();
  char path[512];
  snprintf(path, sizeof path, "%s/guests/threads_work.wasm", build);
  size_t len = 0;
  uint8_t *bytes = NULL;
  CHECK(zh_test_read_file(path, &bytes, &len));
  if (!bytes)
    TEST_SUMMARY();

  zh_engine *engine = NULL;
  zh_module *module = NULL;
  CHECK(zh_engine_new(NULL, &engine) == NULL);
  zh_error *err = zh_module_new(engine, bytes, len, path, &module);
  CHECK(err == NULL);
  zh_error_free(err);
  free(bytes);
  if (!module)
    TEST_SUMMARY();

  /* The reference: every seed, one thread. */
  job ref[THREADS], par[THREADS];
  for (int i = 0; i < THREADS; i++) {
    ref[i] = (job){module, engine, 1000u + (uint32_t)i, 0, 0, 0};
    worker(&ref[i]);
    CHECK_EQ_INT(ref[i].failures, 0);
    CHECK_EQ_INT(ref[i].traps, 3);
  }
  /* Different seeds must give different answers, or the comparison proves nothing. */
  CHECK(ref[0].result != ref[1].result);

  pthread_t tid[THREADS];
  for (int i = 0; i < THREADS; i++) {
    par[i] = (job){module, engine, 1000u + (uint32_t)i, 0, 0, 0};
    CHECK(pthread_create(&tid[i], NULL, worker, &par[i]) == 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(tid[i], NULL);
    CHECK_EQ_INT(par[i].failures, 0);
    CHECK_EQ_INT(par[i].traps, 3);
    CHECK_EQ_INT(par[i].result, ref[i].result);
  }
  zh_module_free(module);
  zh_engine_free(engine);
  TEST_SUMMARY();
}
