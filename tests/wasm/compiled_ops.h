/* For the interpreter's fusion tests (test_fusions, test_const_addr, test_sp_fusion): which
 * instructions an export was compiled to. */
#ifndef ZH_TESTS_WASM_COMPILED_OPS_H
#define ZH_TESTS_WASM_COMPILED_OPS_H

#include "wasm/compile.h"
#include "wasm/ops.h"
#include "wasm/runtime.h"
#include "zerohop/engine.h"

#include <stdbool.h>
#include <string.h>

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
