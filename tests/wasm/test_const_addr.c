/* 32-bit loads and stores at a constant address (compile.c const_ea: l32_k, s32_k), the
 * shape of a C program's globals in linear memory (`i32.const A; i32.load offset=O`, as
 * wasi-libc's dlmalloc reads and writes its state). Each form (i32, f32, i64.load32_u,
 * i64.store32; a stored constant) is run against the same operation on memory
 * read from C; each function's compiled code must hold the fused handler, so the test fails
 * if the fusion stops happening; an address whose sum with the offset passes 32 bits stays
 * unfused and traps; and a constant address past the end of memory traps with the plain
 * access's message, leaving the instance usable. Memory 1's form (inside mem_select's
 * brackets) comes from tests/wasm/multimem/const_addr.wat, assembled with multi-memory. */
#include "testlib.h"
#include "testutil.h"
#include "wasm/compile.h"
#include "wasm/compiled_ops.h"
#include "wasm/ops.h"
#include "wasm/runtime.h"
#include "zerohop/engine.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
static const char WAT[] =
  "(module (memory (export \"mem\") 1)\n"
  /* A counter at 1024 + 4 bumped by x: the old value back. */
  " (func (export \"bump\") (param i32) (result i32) (local i32)\n"
  "  i32.const 1024 i32.load offset=4 local.set 1\n"
  "  i32.const 1024 local.get 1 local.get 0 i32.add i32.store offset=4\n"
  "  local.get 1)\n"
  /* A constant stored at a constant address, read back through a parameter. */
  " (func (export \"put_const\") (param i32) (result i32)\n"
  "  i32.const 96 i32.const 0x5a5a1234 i32.store local.get 0 i32.load)\n"
  /* f32 through the same forms: the bits move unchanged. */
  " (func (export \"f32_move\") (result i32)\n"
  "  i32.const 200 i32.const 300 f32.load f32.store\n"
  "  i32.const 200 i32.load)\n"
  /* i64.load32_u zero-extends; i64.store32 keeps the low half. */
  " (func (export \"wide\") (param i64) (result i64)\n"
  "  i32.const 400 local.get 0 i64.store32\n"
  "  i32.const 400 i64.load32_u)\n"
  /* Address + offset past 32 bits: never fused, always out of bounds. */
  " (func (export \"wrap_load\") (result i32) i32.const -16 i32.load offset=32)\n"
  " (func (export \"wrap_store\") i32.const -16 i32.const 1 i32.store offset=32)\n"
  /* In 32 bits but past the end of the one-page memory, and the plain forms of the same. */
  " (func (export \"end_load\") (result i32) i32.const 65534 i32.load)\n"
  " (func (export \"end_store\") i32.const 65533 i32.const 7 i32.store)\n"
  " (func (export \"load\") (param i32) (result i32) local.get 0 i32.load)\n"
  " (func (export \"store\") (param i32) local.get 0 i32.const 7 i32.store))\n";
/* clang-format on */

/* Calls export `name` with one argument of type `t` (or none); its one result, or *err. */
static uint64_t call(fixture *fx, const char *name, zh_valtype t, uint64_t arg, bool has_arg,
                     zh_valtype rt, bool has_res, zh_error **err) {
  zh_func *f = zh_instance_func(fx->inst, name);
  zh_value av = {.type = t}, r = {.type = rt};
  if (t == ZH_I64)
    av.of.i64 = (int64_t)arg;
  else
    av.of.i32 = (int32_t)(uint32_t)arg;
  *err = f ? zh_func_call(fx->store, f, &av, has_arg, &r, has_res)
           : zh_error_new(ZH_ERR_USAGE, "no export %s", name);
  return rt == ZH_I64 ? (uint64_t)r.of.i64 : (uint32_t)r.of.i32;
}

static uint64_t call_ok(fixture *fx, const char *name, zh_valtype t, uint64_t arg, bool has_arg,
                        zh_valtype rt, bool has_res) {
  zh_error *err = NULL;
  uint64_t v = call(fx, name, t, arg, has_arg, rt, has_res, &err);
  CHECK(ok(err));
  return v;
}

static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void test_values(fixture *fx) {
  uint32_t model = 0x10000000u;
  wr32(fx->mem + 1028, model);
  uint32_t steps[] = {1, 0xffffffffu, 77, 0x80000000u, 12345};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    CHECK_EQ_INT(call_ok(fx, "bump", ZH_I32, steps[i], true, ZH_I32, true), model);
    model += steps[i];
    CHECK_EQ_INT(rd32(fx->mem + 1028), model);
  }
  CHECK(rd32(fx->mem + 1024) == 0 && rd32(fx->mem + 1032) == 0); /* neighbours untouched */
  CHECK(zh_test_has_op(fx->inst, "bump", ZH_OP_l32_k) &&
        zh_test_has_op(fx->inst, "bump", ZH_OP_s32_k));

  CHECK_EQ_INT(call_ok(fx, "put_const", ZH_I32, 96, true, ZH_I32, true), 0x5a5a1234u);
  CHECK(zh_test_has_op(fx->inst, "put_const", ZH_OP_s32_k));

  wr32(fx->mem + 300, 0x7fc00001u); /* a NaN's payload must survive the move */
  CHECK_EQ_INT(call_ok(fx, "f32_move", ZH_I32, 0, false, ZH_I32, true), 0x7fc00001u);
  CHECK(zh_test_has_op(fx->inst, "f32_move", ZH_OP_l32_k) &&
        zh_test_has_op(fx->inst, "f32_move", ZH_OP_s32_k));

  uint64_t w = call_ok(fx, "wide", ZH_I64, 0xdeadbeef87654321ull, true, ZH_I64, true);
  CHECK(w == 0x87654321ull);
  CHECK(zh_test_has_op(fx->inst, "wide", ZH_OP_l32_k) &&
        zh_test_has_op(fx->inst, "wide", ZH_OP_s32_k));
}

/* Expects export `name` (no argument) to trap out of bounds with the message of the plain
 * access `plain`(arg); the instance keeps working afterwards. */
static void check_oob(fixture *fx, const char *name, bool res, const char *plain, uint32_t arg) {
  zh_error *e1 = NULL, *e2 = NULL;
  call(fx, name, ZH_I32, 0, false, ZH_I32, res, &e1);
  call(fx, plain, ZH_I32, arg, true, ZH_I32, res, &e2);
  CHECK(e1 && e2);
  if (e1 && e2) {
    const char *m1 = zh_error_message(e1), *m2 = zh_error_message(e2);
    CHECK(strncmp(m1, "out of bounds memory access", 27) == 0);
    size_t n1 = strcspn(m1, "\n"), n2 = strcspn(m2, "\n");
    CHECK(n1 == n2 && strncmp(m1, m2, n1) == 0);
    CHECK_EQ_INT(zh_error_status(e1), zh_error_status(e2));
  }
  zh_error_free(e1);
  zh_error_free(e2);
}

static void test_bounds(fixture *fx) {
  check_oob(fx, "wrap_load", true, "load", 0xfffffff0u);
  check_oob(fx, "wrap_store", false, "store", 0xfffffff0u);
  CHECK(!zh_test_has_op(fx->inst, "wrap_load", ZH_OP_l32_k) &&
        !zh_test_has_op(fx->inst, "wrap_store", ZH_OP_s32_k));
  memset(fx->mem + 65528, 0xab, 8);
  check_oob(fx, "end_load", true, "load", 65534);
  check_oob(fx, "end_store", false, "store", 65533);
  CHECK(zh_test_has_op(fx->inst, "end_load", ZH_OP_l32_k) &&
        zh_test_has_op(fx->inst, "end_store", ZH_OP_s32_k));
  CHECK_EQ_INT(rd32(fx->mem + 65532), 0xababababu); /* the trapped store wrote nothing */
  CHECK_EQ_INT(call_ok(fx, "load", ZH_I32, 65532, true, ZH_I32, true), 0xababababu);
}

/* Memory 1's form (tests/wasm/multimem/const_addr.wat, assembled with multi-memory). */
static void test_memory1(zh_engine *engine) {
  char path[512];
  snprintf(path, sizeof path, "%s/wat/multimem/const_addr.wasm", zh_test_build_dir());
  uint8_t *bytes = NULL;
  size_t len = 0;
  CHECK(zh_test_read_file(path, &bytes, &len));
  zh_module *m = NULL;
  fixture fx = {0};
  if (bytes && ok(zh_module_new(engine, bytes, len, path, &m)) &&
      ok(zh_store_new(engine, &fx.store)) && ok(zh_instance_new(fx.store, m, NULL, 0, &fx.inst))) {
    uint8_t *m0 = zh_memory_data(zh_instance_memory(fx.inst, "mem0"));
    uint8_t *m1 = zh_memory_data(zh_instance_memory(fx.inst, "mem1"));
    wr32(m0 + 16, 0x11111111u);
    wr32(m1 + 16, 0x22222222u);
    CHECK_EQ_INT(call_ok(&fx, "swap1", ZH_I32, 0x33333333u, true, ZH_I32, true), 0x22222222u);
    CHECK_EQ_INT(rd32(m1 + 16), 0x33333333u);
    CHECK_EQ_INT(rd32(m0 + 16), 0x11111111u);
    CHECK_EQ_INT(call_ok(&fx, "read0", ZH_I32, 0, false, ZH_I32, true), 0x11111111u);
    CHECK(zh_test_has_op(fx.inst, "swap1", ZH_OP_l32_k) &&
          zh_test_has_op(fx.inst, "swap1", ZH_OP_s32_k));
  }
  free(bytes);
  zh_store_free(fx.store);
  zh_module_free(m);
}

int main(void) {
  zh_engine *engine = NULL;
  if (!ok(zh_engine_new(NULL, &engine)))
    return 1;
  fixture fx;
  CHECK(fixture_new(engine, WAT, "const_addr.wat", &fx) && fx.mem != NULL);
  if (fx.inst && fx.mem) {
    test_values(&fx);
    test_bounds(&fx);
  }
  fixture_free(&fx);
  test_memory1(engine);
  zh_engine_free(engine);
  TEST_SUMMARY();
}
