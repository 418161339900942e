/* An add of a constant whose result sets a global (compile.c, global.set: i32_add_gset),
 * the stack-pointer moves at a C function's entry and exit as clang emits them
 * (`global.get 0; i32.const N; i32.sub; local.tee L; global.set 0` and `local.get L;
 * i32.const N; i32.add; global.set 0`), and i32.sub of a constant compiled as an add of its
 * negation, which the add's other fusions then take (an address, a count-down loop). Each
 * result is checked against C arithmetic on edge values; the fused handler must be in the
 * compiled code where it should be and absent from the near misses (another value set, a
 * label between the add and the set); an address that wraps below zero still traps. */
#include "testlib.h"
#include "testutil.h"
#include "wasm/compile.h"
#include "wasm/compiled_ops.h"
#include "wasm/ops.h"
#include "wasm/runtime.h"
#include "zerohop/engine.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* clang-format off */
static const char WAT[] =
  "(module (memory (export \"mem\") 1)\n"
  " (global $sp (mut i32) (i32.const 4096))\n"
  " (global $other (mut i32) (i32.const 0))\n"
  " (func (export \"sp\") (result i32) global.get $sp)\n"
  " (func (export \"other\") (result i32) global.get $other)\n"
  /* A framed function: a word stored in its frame, read back, the frame popped. */
  " (func (export \"framed\") (param i32) (result i32) (local i32 i32)\n"
  "  global.get $sp i32.const 32 i32.sub local.tee 1 global.set $sp\n"
  "  local.get 1 local.get 0 i32.store offset=12\n"
  "  local.get 1 i32.load offset=12 local.set 2\n"
  "  local.get 1 i32.const 32 i32.add global.set $sp\n"
  "  local.get 2)\n"
  /* The sum set from its home slot (no tee), then returned too. */
  " (func (export \"bump\") (param i32) (result i32)\n"
  "  global.get $other local.get 0 i32.add global.set $other\n"
  "  global.get $other i32.const 7 i32.add global.set $other global.get $other)\n"
  /* Near misses: the global gets another value than the sum; a label in between. */
  " (func (export \"miss_value\") (param i32 i32) (result i32) (local i32)\n"
  "  local.get 0 i32.const 5 i32.add local.set 2 local.get 1 global.set $other local.get 2)\n"
  " (func (export \"miss_label\") (param i32)\n"
  "  local.get 0 i32.const 9 i32.add block end global.set $other)\n"
  /* i32.sub of a constant, as a value, as an address, and closing a count-down loop. */
  " (func (export \"sub7\") (param i32) (result i32) local.get 0 i32.const 7 i32.sub)\n"
  " (func (export \"submin\") (param i32) (result i32) local.get 0 i32.const 0x80000000 i32.sub)\n"
  " (func (export \"load_before\") (param i32) (result i32) local.get 0 i32.const 4 i32.sub i32.load)\n"
  " (func (export \"countdown\") (param i32) (result i32) (local i32)\n"
  "  loop local.get 1 i32.const 2 i32.add local.set 1\n"
  "   local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end\n"
  "  local.get 1))\n";
/* clang-format on */

/* Calls export `name` with n i32 arguments; returns its i32 result (0 without), or *err. */
static uint32_t call(fixture *fx, const char *name, const uint32_t *args, size_t n, bool res,
                     zh_error **err) {
  zh_func *f = zh_instance_func(fx->inst, name);
  zh_value av[2], r = {.type = ZH_I32};
  for (size_t i = 0; i < n; i++)
    av[i] = (zh_value){.type = ZH_I32, .of.i32 = (int32_t)args[i]};
  *err = f ? zh_func_call(fx->store, f, av, n, &r, res)
           : zh_error_new(ZH_ERR_USAGE, "no export %s", name);
  return res ? (uint32_t)r.of.i32 : 0;
}

static uint32_t call_ok(fixture *fx, const char *name, const uint32_t *args, size_t n, bool res) {
  zh_error *err = NULL;
  uint32_t v = call(fx, name, args, n, res, &err);
  CHECK(ok(err));
  return v;
}

static const uint32_t edges[] = {0,           1,           4,           7,           31,
                                 0x7fffffffu, 0x80000000u, 0x80000006u, 0xfffffff9u, 0xffffffffu};
#define NEDGES (sizeof edges / sizeof edges[0])

static void test_stack_pointer(fixture *fx) {
  for (size_t i = 0; i < NEDGES; i++) {
    CHECK_EQ_INT(call_ok(fx, "framed", &edges[i], 1, true), edges[i]);
    CHECK_EQ_INT(call_ok(fx, "sp", NULL, 0, true), 4096);
  }
  uint32_t frame_word;
  memcpy(&frame_word, fx->mem + 4096 - 32 + 12, 4);
  CHECK_EQ_INT(frame_word, edges[NEDGES - 1]); /* the store went to the frame */
  CHECK(zh_test_has_op(fx->inst, "framed", ZH_OP_i32_add_gset));
  CHECK(!zh_test_has_op(fx->inst, "framed", ZH_OP_global_set));

  uint32_t model = 0;
  for (size_t i = 0; i < NEDGES; i++) {
    model += edges[i] + 7;
    CHECK_EQ_INT(call_ok(fx, "bump", &edges[i], 1, true), model);
    CHECK_EQ_INT(call_ok(fx, "other", NULL, 0, true), model);
  }
  CHECK(zh_test_has_op(fx->inst, "bump", ZH_OP_i32_add_gset));
}

static void test_near_misses(fixture *fx) {
  uint32_t args[2] = {10, 0xabcdef01u};
  CHECK_EQ_INT(call_ok(fx, "miss_value", args, 2, true), 15);
  CHECK_EQ_INT(call_ok(fx, "other", NULL, 0, true), 0xabcdef01u);
  CHECK(!zh_test_has_op(fx->inst, "miss_value", ZH_OP_i32_add_gset));
  call_ok(fx, "miss_label", args, 1, false);
  CHECK_EQ_INT(call_ok(fx, "other", NULL, 0, true), 19);
  CHECK(!zh_test_has_op(fx->inst, "miss_label", ZH_OP_i32_add_gset));
}

static void test_sub_const(fixture *fx) {
  for (size_t i = 0; i < NEDGES; i++) {
    CHECK_EQ_INT(call_ok(fx, "sub7", &edges[i], 1, true), edges[i] - 7u);
    CHECK_EQ_INT(call_ok(fx, "submin", &edges[i], 1, true), edges[i] - 0x80000000u);
  }
  CHECK(zh_test_has_op(fx->inst, "sub7", ZH_OP_i32_add_ri) &&
        !zh_test_has_op(fx->inst, "sub7", ZH_OP_i32_sub_ri));
  uint32_t v = 0x12345678u, at = 104;
  memcpy(fx->mem + 100, &v, 4);
  CHECK_EQ_INT(call_ok(fx, "load_before", &at, 1, true), v);
  CHECK(zh_test_has_op(fx->inst, "load_before",
                       ZH_OP_l32_ri)); /* the subtraction moved into the load */
  /* 2 - 4 wraps to 0xfffffffe: out of bounds, as the unfused form would be. */
  uint32_t two = 2;
  zh_error *err = NULL;
  call(fx, "load_before", &two, 1, true, &err);
  CHECK(err && strncmp(zh_error_message(err), "out of bounds memory access", 27) == 0);
  zh_error_free(err);
  uint32_t n[] = {1, 5, 1000};
  for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
    CHECK_EQ_INT(call_ok(fx, "countdown", &n[i], 1, true), 2 * n[i]);
  /* the loop's other add joins it: both increments and the branch, one instruction */
  CHECK(zh_test_has_op(fx->inst, "countdown", ZH_OP_br_inc2_i32_ne));
}

int main(void) {
  zh_engine *engine = NULL;
  if (!ok(zh_engine_new(NULL, &engine)))
    return 1;
  fixture fx;
  CHECK(fixture_new(engine, WAT, "sp_fusion.wat", &fx) && fx.mem != NULL);
  if (fx.inst && fx.mem) {
    test_stack_pointer(&fx);
    test_near_misses(&fx);
    test_sub_const(&fx);
  }
  fixture_free(&fx);
  zh_engine_free(engine);
  TEST_SUMMARY();
}
