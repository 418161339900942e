/* v128 across the public API: zh_func_call with v128 arguments and results, a host
 * function with a v128 in its signature called from wasm, and a mutable v128 global.
 * The SIMD instructions themselves are covered by the spec suite's simd_* scripts. */
#include "testlib.h"
#include "zerohop/engine.h"

#include <stdint.h>
#include <string.h>

/* (module
 *   (import "env" "h" (func $h (param v128 i32) (result v128 i32)))
 *   (global (export "g") (mut v128) (v128.const i32x4 5 6 7 8))
 *   (func (export "f") (param v128 i32) (result v128 i32)
 *     local.get 0  local.get 0  i32x4.add  local.get 1  call $h)) */
static const uint8_t kModule[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                                  /* type: (v128 i32) -> (v128 i32) */
                                  0x01, 0x08, 0x01, 0x60, 0x02, 0x7b, 0x7f, 0x02, 0x7b, 0x7f,
                                  /* import env.h */
                                  0x02, 0x09, 0x01, 0x03, 'e', 'n', 'v', 0x01, 'h', 0x00, 0x00,
                                  /* function */
                                  0x03, 0x02, 0x01, 0x00,
                                  /* global */
                                  0x06, 0x16, 0x01, 0x7b, 0x01, 0xfd, 0x0c, 5, 0, 0, 0, 6, 0, 0, 0,
                                  7, 0, 0, 0, 8, 0, 0, 0, 0x0b,
                                  /* export f, g */
                                  0x07, 0x09, 0x02, 0x01, 'f', 0x00, 0x01, 0x01, 'g', 0x03, 0x00,
                                  /* code */
                                  0x0a, 0x0f, 0x01, 0x0d, 0x00, 0x20, 0x00, 0x20, 0x00, 0xfd, 0xae,
                                  0x01, 0x20, 0x01, 0x10, 0x00, 0x0b};

/* call_indirect through a table of v128 functions, a block with two v128 results and an
 * untyped select of v128s (bytes from wat2wasm):
 * (module
 *   (type $vv (func (param v128 v128) (result v128)))
 *   (table 2 funcref)
 *   (elem (i32.const 0) $add $sub)
 *   (func $add (type $vv) (i32x4.add (local.get 0) (local.get 1)))
 *   (func $sub (type $vv) (i32x4.sub (local.get 0) (local.get 1)))
 *   (func (export "pick") (param $a v128) (param $b v128) (param $i i32) (result v128)
 *     (local $t v128)
 *     (local.set $t (call_indirect (type $vv) (local.get $a) (local.get $b) (local.get $i)))
 *     (block (result v128 v128) (local.get $t) (v128.const i32x4 7 7 7 7))
 *     (local.get $i)
 *     (select))) */
static const uint8_t kIndirect[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x13, 0x03, 0x60, 0x02, 0x7b, 0x7b, 0x01,
    0x7b, 0x60, 0x03, 0x7b, 0x7b, 0x7f, 0x01, 0x7b, 0x60, 0x00, 0x02, 0x7b, 0x7b, 0x03, 0x04, 0x03,
    0x00, 0x00, 0x01, 0x04, 0x04, 0x01, 0x70, 0x00, 0x02, 0x07, 0x08, 0x01, 0x04, 0x70, 0x69, 0x63,
    0x6b, 0x00, 0x02, 0x09, 0x08, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x02, 0x00, 0x01, 0x0a, 0x3f, 0x03,
    0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfd, 0xae, 0x01, 0x0b, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01,
    0xfd, 0xb1, 0x01, 0x0b, 0x29, 0x01, 0x01, 0x7b, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0x11, 0x00,
    0x00, 0x21, 0x03, 0x02, 0x02, 0x20, 0x03, 0xfd, 0x0c, 0x07, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00,
    0x00, 0x07, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x0b, 0x20, 0x02, 0x1b, 0x0b};

static uint32_t lane(const zh_value *v, int i) {
  uint32_t x;
  memcpy(&x, v->of.v128 + 4 * i, 4);
  return x;
}

static zh_value v128_of(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  zh_value v;
  memset(&v, 0, sizeof v);
  v.type = ZH_V128;
  uint32_t l[4] = {a, b, c, d};
  memcpy(v.of.v128, l, 16);
  return v;
}

/* h(v, x) = (v with lane 0 + x, x * 3); records what it was given. */
static zh_error *host_h(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller;
  zh_value *seen = env;
  seen[0] = args[0];
  seen[1] = args[1];
  results[0] = args[0];
  uint32_t l0 = lane(&args[0], 0) + (uint32_t)args[1].of.i32;
  memcpy(results[0].of.v128, &l0, 4);
  results[1] = zh_i32(args[1].of.i32 * 3);
  return NULL;
}

/* Returns the module, which must outlive the store's instance of it. */
static zh_module *test_indirect(zh_engine *e, zh_store *s) {
  zh_module *m = NULL;
  zh_instance *inst = NULL;
  zh_extern fx;
  CHECK(zh_module_new(e, kIndirect, sizeof kIndirect, "indirect", &m) == NULL);
  CHECK(m && zh_instance_new(s, m, NULL, 0, &inst) == NULL);
  CHECK(inst && zh_instance_export(inst, "pick", &fx) && fx.kind == ZH_EXTERN_FUNC);
  if (!inst)
    return m;
  zh_value args[3] = {v128_of(10, 20, 30, 40), v128_of(1, 2, 3, 4), zh_i32(1)};
  zh_value res;
  /* i = 1: $sub through the table, and select keeps it */
  CHECK(zh_func_call(s, fx.of.func, args, 3, &res, 1) == NULL);
  CHECK_EQ_INT(lane(&res, 0), 9);
  CHECK_EQ_INT(lane(&res, 3), 36);
  /* i = 0: $add is called, but select takes the constant */
  args[2] = zh_i32(0);
  CHECK(zh_func_call(s, fx.of.func, args, 3, &res, 1) == NULL);
  CHECK_EQ_INT(lane(&res, 0), 7);
  CHECK_EQ_INT(lane(&res, 2), 7);
  /* i = 2: past the table, a trap */
  args[2] = zh_i32(2);
  zh_error *err = zh_func_call(s, fx.of.func, args, 3, &res, 1);
  CHECK(err && zh_error_status(err) == ZH_ERR_TRAP);
  zh_error_free(err);
  return m;
}

int main(void) {
  zh_engine *e = NULL;
  zh_store *s = NULL;
  zh_module *m = NULL;
  zh_instance *inst = NULL;
  CHECK(zh_engine_new(NULL, &e) == NULL);
  CHECK(zh_store_new(e, &s) == NULL);
  CHECK(zh_module_new(e, kModule, sizeof kModule, "simd", &m) == NULL);
  if (!m)
    TEST_SUMMARY();

  zh_valtype ty[4] = {ZH_V128, ZH_I32, ZH_V128, ZH_I32};
  zh_functype ft = {2, 2, ty, ty + 2};
  zh_value seen[2];
  memset(seen, 0, sizeof seen);
  zh_func *h = zh_func_new_host(s, &ft, host_h, seen);
  zh_extern imp = {ZH_EXTERN_FUNC, {.func = h}};
  CHECK(zh_instance_new(s, m, &imp, 1, &inst) == NULL);
  zh_extern fx, gx;
  CHECK(inst && zh_instance_export(inst, "f", &fx) && fx.kind == ZH_EXTERN_FUNC);
  CHECK(inst && zh_instance_export(inst, "g", &gx) && gx.kind == ZH_EXTERN_GLOBAL);
  if (!inst)
    TEST_SUMMARY();

  /* wasm doubles the vector and passes both values on to the host, whose results come
   * back through wasm to the caller. */
  zh_value args[2] = {v128_of(1, 2, 3, 0xffffffffu), zh_i32(10)};
  zh_value res[2];
  CHECK(zh_func_call(s, fx.of.func, args, 2, res, 2) == NULL);
  CHECK_EQ_INT(seen[0].type, ZH_V128);
  CHECK_EQ_INT(lane(&seen[0], 0), 2);
  CHECK_EQ_INT(lane(&seen[0], 3), 0xfffffffeu);
  CHECK_EQ_INT(seen[1].of.i32, 10);
  CHECK_EQ_INT(res[0].type, ZH_V128);
  CHECK_EQ_INT(lane(&res[0], 0), 12);
  CHECK_EQ_INT(lane(&res[0], 1), 4);
  CHECK_EQ_INT(lane(&res[0], 2), 6);
  CHECK_EQ_INT(lane(&res[0], 3), 0xfffffffeu);
  CHECK_EQ_INT(res[1].type, ZH_I32);
  CHECK_EQ_INT(res[1].of.i32, 30);

  /* A wrong argument type is a usage error, not a crash. */
  zh_value bad[2] = {zh_i32(1), zh_i32(10)};
  zh_error *err = zh_func_call(s, fx.of.func, bad, 2, res, 2);
  CHECK(err && zh_error_status(err) == ZH_ERR_USAGE);
  zh_error_free(err);

  /* The global holds all 16 bytes, through get and set. */
  zh_value g = zh_global_get(gx.of.global);
  CHECK_EQ_INT(g.type, ZH_V128);
  CHECK_EQ_INT(lane(&g, 0), 5);
  CHECK_EQ_INT(lane(&g, 3), 8);
  zh_value ng = v128_of(9, 10, 11, 0x80000000u);
  CHECK(zh_global_set(gx.of.global, &ng) == NULL);
  g = zh_global_get(gx.of.global);
  CHECK_EQ_INT(lane(&g, 2), 11);
  CHECK_EQ_INT(lane(&g, 3), 0x80000000u);

  zh_module *m2 = test_indirect(e, s);

  zh_store_free(s);
  zh_module_free(m2);
  zh_module_free(m);
  zh_engine_free(e);
  TEST_SUMMARY();
}
