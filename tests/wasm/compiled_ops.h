/* For the interpreter's fusion tests (test_fusions, test_const_addr, test_sp_fusion): a
 * module from WAT in a store of its own, and which instructions an export was compiled to. */
#ifndef ZH_TESTS_WASM_COMPILED_OPS_H
#define ZH_TESTS_WASM_COMPILED_OPS_H

#include "wasm/compile.h"
#include "wasm/ops.h"
#include "wasm/runtime.h"
#include "zerohop/engine.h"

#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The module's instance, its store and its memory "mem" (NULL when it has none). */
typedef struct fixture {
  zh_module *module;
  zh_store *store;
  zh_instance *inst;
  uint8_t *mem;
  size_t mem_len;
} fixture;

/* True for no error; otherwise prints and frees it. */
static inline bool ok(zh_error *err) {
  if (!err)
    return true;
  fprintf(stderr, "error: %s\n", zh_error_message(err));
  zh_error_free(err);
  return false;
}

/* Builds `wat` (named `name` in messages) and instantiates it into *fx; false if any step
 * fails. fixture_free releases what was made either way. */
static inline bool fixture_new(zh_engine *engine, const char *wat, const char *name, fixture *fx) {
  *fx = (fixture){0};
  fx->module = zh_test_wat_module(engine, wat, name);
  if (!fx->module || !ok(zh_store_new(engine, &fx->store)) ||
      !ok(zh_instance_new(fx->store, fx->module, NULL, 0, &fx->inst)))
    return false;
  zh_memory *mem = zh_instance_memory(fx->inst, "mem");
  fx->mem = mem ? zh_memory_data(mem) : NULL;
  fx->mem_len = mem ? zh_memory_size(mem) : 0;
  return true;
}

static inline void fixture_free(fixture *fx) {
  zh_store_free(fx->store);
  zh_module_free(fx->module);
  *fx = (fixture){0};
}

/* True when the compiled body of export `name` (compiled by a call first) holds an
 * instruction of op `op`: its handler's address at an instruction start. */
static inline bool zh_test_has_op(zh_instance *inst, const char *name, zh_op op) {
  const zh_func *f = zh_instance_func(inst, name);
  if (!f || !f->code)
    return false;
  const uint8_t *code = atomic_load(&f->code->ops);
  const void *h = zh_interp_handlers()[op];
  for (size_t i = 0; i + sizeof h <= f->code->len; i++)
    if (memcmp(code + i, &h, sizeof h) == 0)
      return true;
  return false;
}

#endif
