/* libFuzzer harness for component binaries (zerohop/cm.h): one input is one component.
 * It is decoded and validated; a valid one is instantiated with a linker that defines
 * nothing (so components with imports must fail cleanly) in a fresh store, and each
 * top-level function export that takes no parameters is called under a 20 ms deadline.
 * Seeds: ../shared/testsuites/component-model/json (every .wasm there).
 *
 * Build and run: `make fuzz-build`, then
 *   build-fuzz/fuzz_component -max_total_time=600 build-fuzz/corpus/fuzz_component \
 *     ../shared/testsuites/component-model/json
 * (docs/FUZZING.md). */
#include "zerohop/cm.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static zh_engine *engine;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!engine) {
    zh_engine_config cfg = {.max_memory_pages = 256, .stack_slots = 1 << 16};
    if (zh_engine_new(&cfg, &engine))
      abort();
  }
  zh_cm_component *comp = NULL;
  zh_error *err = zh_cm_component_new(engine, data, size, "fuzz.wasm", &comp);
  if (err) {
    /* Every failure is one line naming the file. */
    const char *msg = zh_error_message(err);
    for (const char *p = msg; *p; p++)
      if (*p == '\n')
        abort();
    zh_error_free(err);
    return 0;
  }
  zh_store *store = NULL;
  zh_cm_linker *linker = NULL;
  zh_cm_instance *inst = NULL;
  if (zh_store_new(engine, &store) || zh_cm_linker_new(&linker))
    abort();
  zh_store_set_timeout(store, 20000000); /* start functions that never end */
  err = zh_cm_linker_instantiate(linker, comp, store, NULL, &inst);
  zh_error_free(err);
  for (size_t i = 0; inst && i < zh_cm_instance_func_count(inst); i++) {
    zh_cm_func *f = zh_cm_instance_func_at(inst, i, NULL);
    if (!f || zh_cm_func_type(f)->nparams != 0)
      continue;
    zh_val result;
    zh_store_set_timeout(store, 20000000);
    err = zh_cm_func_call(inst, f, NULL, 0, &result);
    if (!err)
      zh_val_drop(&result);
    zh_error_free(err);
  }
  zh_cm_instance_free(inst);
  zh_cm_linker_free(linker);
  zh_store_free(store);
  zh_cm_component_free(comp);
  return 0;
}
