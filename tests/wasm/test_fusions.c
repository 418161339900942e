/* The fused instructions for libc's string loops (compile.c: fuse_zero_byte_test,
 * fuse_word_load, fuse_byte_pair and the branch fusions of emit_cond_branch), executed in the
 * shapes clang -O2 emits for wasm32: wasi-libc's word-at-a-time strlen and memchr (the word
 * load, the xor with the byte pattern, the zero-byte test and the branch in one instruction),
 * the test's mask used as a value, an and with a constant tested by br_if and if, count-down
 * loops closed by `local.tee; br_if` with a pointer stepping along (br_inc2), and memcmp's two
 * byte loads compared by one branch (br_l8u2). Results are checked against the same
 * computation in C over many inputs; each function's compiled code must hold the fused
 * handler (so the test fails if the fusion stops happening); near misses (two locals, another
 * mask or constant) must stay correct and unfused; and fused loads past the end of memory
 * trap with the plain load's message. */
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
  /* strlen: bytes until aligned, then words until one has a zero byte, then bytes. */
  " (func (export \"strlen\") (param i32) (result i32) (local i32 i32)\n"
  "  local.get 0 local.set 1\n"
  "  block block\n"
  "   loop local.get 1 i32.const 3 i32.and i32.eqz br_if 1\n"
  "    local.get 1 i32.load8_u i32.eqz br_if 2\n"
  "    local.get 1 i32.const 1 i32.add local.set 1 br 0 end end\n"
  "   loop local.get 1 i32.load local.tee 2\n"
  "    i32.const -1 i32.xor local.get 2 i32.const -16843009 i32.add i32.and i32.const -2139062144 i32.and\n"
  "    br_if 1\n"
  "    local.get 1 i32.const 4 i32.add local.set 1 br 0 end end\n"
  "  block loop local.get 1 i32.load8_u i32.eqz br_if 1\n"
  "   local.get 1 i32.const 1 i32.add local.set 1 br 0 end end\n"
  "  local.get 1 local.get 0 i32.sub)\n"
  /* The word loop in wasi-libc strlen's own form: eqz + br_if continues the loop. */
  " (func (export \"strlen2\") (param i32) (result i32) (local i32 i32)\n"
  "  local.get 0 i32.const -4 i32.add local.set 1\n"
  "  loop local.get 1 i32.const 4 i32.add local.tee 1 i32.load local.tee 2\n"
  "   i32.const -1 i32.xor local.get 2 i32.const -16843009 i32.add i32.and i32.const -2139062144 i32.and\n"
  "   i32.eqz br_if 0 end\n"
  "  block local.get 2 i32.const 255 i32.and i32.eqz br_if 0\n"
  "   loop local.get 1 i32.const 1 i32.add local.tee 1 i32.load8_u br_if 0 end end\n"
  "  local.get 1 local.get 0 i32.sub)\n"
  /* memchr's word loop with the mask first, the add before the not, and if on the mask
   * itself: the address of the first of n words holding byte c, or 0. */
  " (func (export \"wordchr\") (param i32 i32 i32) (result i32) (local i32)\n"
  "  local.get 1 i32.const 255 i32.and i32.const 16843009 i32.mul local.set 1\n"
  "  block loop local.get 2 i32.eqz br_if 1\n"
  "   i32.const -2139062144\n"
  "   local.get 0 i32.load local.get 1 i32.xor local.tee 3 i32.const -16843009 i32.add\n"
  "   local.get 3 i32.const -1 i32.xor i32.and i32.and\n"
  "   if local.get 0 return end\n"
  "   local.get 0 i32.const 4 i32.add local.set 0\n"
  "   local.get 2 i32.const -1 i32.add local.set 2 br 0 end end\n"
  "  i32.const 0)\n"
  /* The mask and its first half as values. */
  " (func (export \"zbytes\") (param i32) (result i32)\n"
  "  local.get 0 i32.const -1 i32.xor local.get 0 i32.const -16843009 i32.add i32.and i32.const -2139062144 i32.and)\n"
  " (func (export \"andn_add\") (param i32 i32) (result i32)\n"
  "  local.get 0 i32.const -1 i32.xor local.get 0 i32.const 5 i32.add i32.and)\n"
  /* Near misses: the terms from two locals; another mask; another constant. */
  " (func (export \"miss_locals\") (param i32 i32) (result i32)\n"
  "  local.get 0 i32.const -1 i32.xor local.get 1 i32.const -16843009 i32.add i32.and\n"
  "  i32.const -2139062144 i32.and)\n"
  " (func (export \"miss_mask\") (param i32) (result i32)\n"
  "  local.get 0 i32.const -1 i32.xor local.get 0 i32.const -16843009 i32.add i32.and\n"
  "  i32.const 0x7f7f7f7f i32.and)\n"
  " (func (export \"miss_k\") (param i32) (result i32) (local i32)\n"
  "  block local.get 0 i32.const -1 i32.xor local.get 0 i32.const 7 i32.add i32.and\n"
  "   i32.const -2139062144 i32.and i32.eqz br_if 0 i32.const 1 local.set 1 end\n"
  "  local.get 1)\n"
  /* An and with a constant tested by br_if (with and without eqz) and by if. */
  " (func (export \"flags\") (param i32 i32) (result i32) (local i32)\n"
  "  block local.get 0 local.get 1 i32.and i32.eqz br_if 0\n"
  "   local.get 2 i32.const 1 i32.or local.set 2 end\n"
  "  block local.get 0 i32.const 0x80000001 i32.and br_if 0\n"
  "   local.get 2 i32.const 2 i32.or local.set 2 end\n"
  "  local.get 0 i32.const 0x100 i32.and if local.get 2 i32.const 4 i32.or local.set 2 end\n"
  "  local.get 0 i32.const 3 i32.and i32.eqz if local.get 2 i32.const 8 i32.or local.set 2 end\n"
  "  local.get 2)\n"
  /* Count-down loops, `x = x + k; br_if x`, and the same tested by if. */
  " (func (export \"countdown\") (param i32) (result i32) (local i32)\n"
  "  loop local.get 1 i32.const 3 i32.add local.set 1\n"
  "   local.get 0 i32.const -7 i32.add local.tee 0 br_if 0 end\n"
  "  local.get 1)\n"
  /* memchr's loop end: the pointer steps with the count, `n > 3` continues. */
  " (func (export \"step2\") (param i32 i32) (result i32)\n"
  "  loop local.get 0 i32.const 4 i32.add local.set 0\n"
  "   local.get 1 i32.const -4 i32.add local.tee 1 i32.const 3 i32.gt_u br_if 0 end\n"
  "  local.get 0)\n"
  " (func (export \"dec_if\") (param i32) (result i32)\n"
  "  local.get 0 i32.const -1 i32.add if (result i32) i32.const 10 else i32.const 20 end)\n"
  /* memcmp's byte loop, and a byte equality tested by br_if. */
  " (func (export \"memcmp\") (param i32 i32 i32) (result i32) (local i32 i32)\n"
  "  block local.get 2 i32.eqz br_if 0\n"
  "   loop local.get 0 i32.load8_u local.tee 3 local.get 1 i32.load8_u local.tee 4\n"
  "    i32.ne br_if 1\n"
  "    local.get 1 i32.const 1 i32.add local.set 1\n"
  "    local.get 0 i32.const 1 i32.add local.set 0\n"
  "    local.get 2 i32.const -1 i32.add local.tee 2 br_if 0 end\n"
  "   i32.const 0 return end\n"
  "  local.get 3 local.get 4 i32.sub)\n"
  " (func (export \"same_byte\") (param i32 i32) (result i32)\n"
  "  block local.get 1 i32.load8_u local.get 0 i32.load8_u i32.eq br_if 0 i32.const 0 return end\n"
  "  i32.const 1)\n"
  /* A plain word load, for the trap message. */
  " (func (export \"load\") (param i32) (result i32) local.get 0 i32.load))\n";
/* clang-format on */

/* Calls export `name` with i32 arguments; returns its i32 result, or sets *err. */
static uint32_t call(fixture *fx, const char *name, const uint32_t *args, size_t n,
                     zh_error **err) {
  zh_func *f = zh_instance_func(fx->inst, name);
  zh_value av[4], r = {.type = ZH_I32};
  for (size_t i = 0; i < n; i++)
    av[i] = (zh_value){.type = ZH_I32, .of.i32 = (int32_t)args[i]};
  *err = f ? zh_func_call(fx->store, f, av, n, &r, 1) : NULL;
  return (uint32_t)r.of.i32;
}

static uint32_t call_ok(fixture *fx, const char *name, const uint32_t *args, size_t n) {
  zh_error *err = NULL;
  uint32_t v = call(fx, name, args, n, &err);
  CHECK(ok(err));
  return v;
}

static uint32_t c_zbytes(uint32_t x) { return ~x & (x - 0x01010101u) & 0x80808080u; }

static uint32_t rng = 2463534242u;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* Word values whose bytes are zero, 0x01, 0x80 or 0xff in every combination, then random
 * ones with random bytes cleared. */
static uint32_t edge_word(unsigned i) {
  static const uint8_t bytes[] = {0x00, 0x01, 0x80, 0xff, 0x7f, 0x20};
  if (i < 6u * 6u * 6u * 6u) {
    uint32_t w = 0;
    for (unsigned k = 0; k < 4; k++, i /= 6)
      w |= (uint32_t)bytes[i % 6] << (8 * k);
    return w;
  }
  uint32_t w = next();
  if (next() & 1)
    w &= ~(0xffu << (8 * (next() % 4)));
  return w;
}

static void test_values(fixture *fx) {
  for (unsigned i = 0; i < 3000; i++) {
    uint32_t x = edge_word(i), y = next();
    CHECK_EQ_INT(call_ok(fx, "zbytes", &x, 1), c_zbytes(x));
    uint32_t xy[2] = {x, y};
    CHECK_EQ_INT(call_ok(fx, "andn_add", xy, 2), ~x & (x + 5u));
    CHECK_EQ_INT(call_ok(fx, "miss_locals", xy, 2), ~x & (y - 0x01010101u) & 0x80808080u);
    CHECK_EQ_INT(call_ok(fx, "miss_mask", &x, 1), ~x & (x - 0x01010101u) & 0x7f7f7f7fu);
    CHECK_EQ_INT(call_ok(fx, "miss_k", &x, 1), (~x & (x + 7u) & 0x80808080u) != 0);
  }
  CHECK(zh_test_has_op(fx->inst, "zbytes", ZH_OP_i32_zbytes));
  CHECK(zh_test_has_op(fx->inst, "andn_add", ZH_OP_i32_andn_add));
  CHECK(!zh_test_has_op(fx->inst, "miss_locals", ZH_OP_i32_andn_add));
  CHECK(zh_test_has_op(fx->inst, "miss_mask", ZH_OP_i32_andn_add) &&
        !zh_test_has_op(fx->inst, "miss_mask", ZH_OP_i32_zbytes));
  CHECK(!zh_test_has_op(fx->inst, "miss_k", ZH_OP_br_zbyte) &&
        !zh_test_has_op(fx->inst, "miss_k", ZH_OP_br_nozbyte));
}

/* Strings of every length up to 40 at every alignment, with bytes that look like the
 * test's edge cases (0x01, 0x80, 0xff) before the NUL. */
static void test_strlen(fixture *fx) {
  static const uint8_t fill[] = {'a', 0x01, 0x80, 0xff, 0x7f, ' '};
  for (uint32_t align = 0; align < 4; align++)
    for (uint32_t len = 0; len <= 40; len++) {
      uint32_t at = 1024 + align;
      memset(fx->mem + 1000, 0xee, 100);
      for (uint32_t i = 0; i < len; i++)
        fx->mem[at + i] = fill[(i + len) % sizeof fill];
      fx->mem[at + len] = 0;
      CHECK_EQ_INT(call_ok(fx, "strlen", &at, 1), len);
      if (align == 0)
        CHECK_EQ_INT(call_ok(fx, "strlen2", &at, 1), len);
    }
  CHECK(zh_test_has_op(fx->inst, "strlen", ZH_OP_l32_br_zbyte));
  CHECK(zh_test_has_op(fx->inst, "strlen2", ZH_OP_l32_br_nozbyte));
  CHECK(zh_test_has_op(fx->inst, "strlen", ZH_OP_br_and_nz) ||
        zh_test_has_op(fx->inst, "strlen", ZH_OP_br_and_z));
}

static void test_wordchr(fixture *fx) {
  uint8_t *m = fx->mem + 4096;
  for (unsigned round = 0; round < 200; round++) {
    uint32_t n = 1 + next() % 16, c = next() & 0xff;
    for (uint32_t i = 0; i < 4 * n; i++) {
      uint8_t b = (uint8_t)next();
      m[i] = b == c ? (uint8_t)(b ^ 1) : b;
    }
    uint32_t want = 0;
    if (round % 3) { /* put c in some word */
      uint32_t pos = (uint32_t)(((uint64_t)next() * ((uint64_t)n * 4)) >> 32); /* below 4n */
      m[pos] = (uint8_t)c;
      want = 4096 + pos / 4 * 4;
    }
    uint32_t args[3] = {4096, c | (next() & 0xffffff00u), n};
    CHECK_EQ_INT(call_ok(fx, "wordchr", args, 3), want);
  }
  CHECK(zh_test_has_op(fx->inst, "wordchr", ZH_OP_l32x_br_nozbyte));
}

static uint32_t c_flags(uint32_t x, uint32_t y) {
  return ((x & y) ? 1u : 0u) | (!(x & 0x80000001u) ? 2u : 0u) | ((x & 0x100u) ? 4u : 0u) |
         (!(x & 3u) ? 8u : 0u);
}

static void test_branches(fixture *fx) {
  for (unsigned i = 0; i < 2000; i++) {
    uint32_t xy[2] = {edge_word(i) ^ (i & 0x80000103u), next()};
    CHECK_EQ_INT(call_ok(fx, "flags", xy, 2), c_flags(xy[0], xy[1]));
  }
  CHECK(zh_test_has_op(fx->inst, "flags", ZH_OP_br_and_z) &&
        zh_test_has_op(fx->inst, "flags", ZH_OP_br_and_nz));
  /* x = x - 7 until zero: n iterations from 7n. */
  for (uint32_t n = 1; n < 50; n++) {
    uint32_t x = n * 7u;
    CHECK_EQ_INT(call_ok(fx, "countdown", &x, 1), 3 * n);
  }
  CHECK(zh_test_has_op(fx->inst, "countdown", ZH_OP_br_inc2_i32_ne));
  for (uint32_t n = 4; n < 40; n++) { /* below 4 the count wraps: 2^30 steps */
    uint32_t args[2] = {1000, n}, steps = n > 7 ? (n - 4) / 4 + 1 : 1;
    CHECK_EQ_INT(call_ok(fx, "step2", args, 2), 1000 + 4 * steps);
  }
  CHECK(zh_test_has_op(fx->inst, "step2", ZH_OP_br_inc2_i32_gt_u));
  uint32_t one = 1, two = 2, zero = 0;
  CHECK_EQ_INT(call_ok(fx, "dec_if", &one, 1), 20);
  CHECK_EQ_INT(call_ok(fx, "dec_if", &two, 1), 10);
  CHECK_EQ_INT(call_ok(fx, "dec_if", &zero, 1), 10);
  CHECK(zh_test_has_op(fx->inst, "dec_if", ZH_OP_br_inc_i32_eq));
}

static void test_bytes(fixture *fx) {
  uint8_t *a = fx->mem + 8192, *b = fx->mem + 9000;
  for (unsigned round = 0; round < 400; round++) {
    uint32_t n = next() % 24;
    for (uint32_t i = 0; i < 24; i++)
      a[i] = b[i] = (uint8_t)next();
    if (n && round % 4)
      b[next() % n] ^= (uint8_t)(1 + next() % 255);
    int want = 0;
    for (uint32_t i = 0; i < n && !want; i++)
      want = a[i] - b[i];
    uint32_t args[3] = {8192, 9000, n};
    CHECK_EQ_INT((int32_t)call_ok(fx, "memcmp", args, 3), want);
    uint32_t k = next() % 24, pair[2] = {8192 + k, 9000 + k};
    CHECK_EQ_INT(call_ok(fx, "same_byte", pair, 2), a[k] == b[k]);
  }
  CHECK(zh_test_has_op(fx->inst, "memcmp", ZH_OP_br_l8u2_ne) &&
        zh_test_has_op(fx->inst, "memcmp", ZH_OP_br_inc2_i32_ne));
  CHECK(zh_test_has_op(fx->inst, "same_byte", ZH_OP_br_l8u2_eq));
}

/* A string that runs into the end of memory: the fused word loop faults on the last page's
 * end just as a plain load does, with the same message, and the instance still runs. */
static void test_edge_trap(fixture *fx) {
  uint32_t end = (uint32_t)fx->mem_len;
  memset(fx->mem + end - 64, 'x', 64);
  uint32_t at = end - 64, past = end - 2;
  zh_error *e1 = NULL, *e2 = NULL;
  call(fx, "strlen2", &at, 1, &e1);
  call(fx, "load", &past, 1, &e2);
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
  fx->mem[end - 1] = 0;
  CHECK_EQ_INT(call_ok(fx, "strlen2", &at, 1), 63);
  /* memchr's form: the last word is in bounds, the one after it is not. */
  uint32_t found[3] = {end - 8, 0, 2}, off_end[3] = {end - 8, 'q', 3};
  CHECK_EQ_INT(call_ok(fx, "wordchr", found, 3), end - 4);
  zh_error *e3 = NULL;
  call(fx, "wordchr", off_end, 3, &e3);
  CHECK(e3 && strncmp(zh_error_message(e3), "out of bounds memory access", 27) == 0);
  zh_error_free(e3);
  /* memcmp's second load past the end, after two equal bytes. */
  memcpy(fx->mem + 100, fx->mem + end - 2, 2);
  uint32_t cmp_end[3] = {100, end - 2, 5};
  zh_error *e4 = NULL;
  call(fx, "memcmp", cmp_end, 3, &e4);
  CHECK(e4 && strncmp(zh_error_message(e4), "out of bounds memory access", 27) == 0);
  zh_error_free(e4);
}

int main(void) {
  zh_engine *engine = NULL;
  if (!ok(zh_engine_new(NULL, &engine)))
    return 1;
  fixture fx;
  CHECK(fixture_new(engine, WAT, "fusions.wat", &fx) && fx.mem != NULL);
  if (fx.inst && fx.mem) {
    test_values(&fx);
    test_strlen(&fx);
    test_wordchr(&fx);
    test_branches(&fx);
    test_bytes(&fx);
    test_edge_trap(&fx);
  }
  fixture_free(&fx);
  zh_engine_free(engine);
  TEST_SUMMARY();
}
