/* Multi-memory: modules with several memories, written in the text format under
 * tests/wasm/multimem/ and assembled by wabt's wat2wasm at build time (mk/multimem.mk).
 *
 * Loads and stores of every width (scalar and SIMD, lanes included) on each memory and in
 * each of the compiler's addressing modes, the fusions that exist for memory 0 only, sizes
 * and growth, fill/copy/init within and across memories, data segments, imported and
 * exported memories (one memory imported twice included), out-of-bounds traps per memory,
 * templates and snapshot groups, the validator's errors with their offsets, and component
 * canon options that name memory 1 of a core instance. */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/cm.h"
#include "zerohop/engine.h"
#include "zerohop/val.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static zh_engine *engine;

/* $ZH_BUILD/wat/multimem/NAME.wasm's bytes; NULL (with the reason) when missing. */
static uint8_t *read_wasm(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/wat/multimem/%s.wasm", zh_test_build_dir(), name);
  uint8_t *bytes = NULL;
  if (!zh_test_read_file(path, &bytes, len))
    fprintf(stderr, "cannot read %s (make builds it from tests/wasm/multimem/%s.wat)\n", path,
            name);
  return bytes;
}

/* Loads NAME into `e`; the error (or NULL) goes to *err when err is given. */
static zh_module *load_in(zh_engine *e, const char *name, zh_error **err) {
  size_t len = 0;
  uint8_t *bytes = read_wasm(name, &len);
  zh_module *m = NULL;
  zh_error *e2 =
      bytes ? zh_module_new(e, bytes, len, name, &m) : zh_error_new(ZH_ERR_IO, "no file");
  free(bytes);
  if (err)
    *err = e2;
  else if (e2) {
    fprintf(stderr, "%s: %s\n", name, zh_error_message(e2));
    zh_error_free(e2);
  }
  return m;
}

static zh_module *load(const char *name) { return load_in(engine, name, NULL); }

/* Calls export `fn`; returns the error (NULL on success), results in res. */
static zh_error *call(zh_store *s, zh_instance *inst, const char *fn, const zh_value *args,
                      size_t nargs, zh_value *res, size_t nres) {
  zh_func *f = zh_instance_func(inst, fn);
  if (!f)
    return zh_error_new(ZH_ERR_USAGE, "no export %s", fn);
  return zh_func_call(s, f, args, nargs, res, nres);
}

/* The call must succeed; its one i32/i64 result, or a sentinel that fails the check. */
static int64_t call_int(zh_store *s, zh_instance *inst, const char *fn, const zh_value *args,
                        size_t nargs) {
  zh_value r = zh_i64(0);
  zh_error *err = call(s, inst, fn, args, nargs, &r, 1);
  if (err) {
    fprintf(stderr, "%s: %s\n", fn, zh_error_message(err));
    zh_error_free(err);
    return INT64_MIN;
  }
  return r.type == ZH_I32 ? r.of.i32 : r.of.i64;
}

static bool call_ok(zh_store *s, zh_instance *inst, const char *fn, const zh_value *args,
                    size_t nargs) {
  zh_error *err = call(s, inst, fn, args, nargs, NULL, 0);
  if (err)
    fprintf(stderr, "%s: %s\n", fn, zh_error_message(err));
  zh_error_free(err);
  return err == NULL;
}

/* The call must trap with an out-of-bounds memory access. */
static bool call_oob(zh_store *s, zh_instance *inst, const char *fn, const zh_value *args,
                     size_t nargs) {
  zh_value r[1];
  zh_func *f = zh_instance_func(inst, fn);
  zh_functype ft = {0, 0, NULL, NULL};
  if (f)
    zh_func_type(f, &ft);
  zh_error *err = call(s, inst, fn, args, nargs, r, ft.nresults);
  bool oob = err && zh_error_status(err) == ZH_ERR_TRAP && zh_error_trap(err) == ZH_TRAP_MEMORY_OOB;
  if (!oob)
    fprintf(stderr, "%s: expected an out-of-bounds trap, got %s\n", fn,
            err ? zh_error_message(err) : "success");
  zh_error_free(err);
  return oob;
}

#define A(...) ((const zh_value[]){__VA_ARGS__})
#define N(...) (sizeof((const zh_value[]){__VA_ARGS__}) / sizeof(zh_value))
#define INT(s, i, fn, ...) call_int(s, i, fn, A(__VA_ARGS__), N(__VA_ARGS__))
#define INT0(s, i, fn) call_int(s, i, fn, NULL, 0)
#define OK(s, i, fn, ...) call_ok(s, i, fn, A(__VA_ARGS__), N(__VA_ARGS__))
#define OOB(s, i, fn, ...) call_oob(s, i, fn, A(__VA_ARGS__), N(__VA_ARGS__))

static double call_f64(zh_store *s, zh_instance *inst, const char *fn, const zh_value *args,
                       size_t nargs) {
  zh_value r = zh_f64(0);
  zh_error *err = call(s, inst, fn, args, nargs, &r, 1);
  if (err) {
    fprintf(stderr, "%s: %s\n", fn, zh_error_message(err));
    zh_error_free(err);
    return -1e300;
  }
  return zh_value_f64(&r);
}
#define F64(s, i, fn, ...) call_f64(s, i, fn, A(__VA_ARGS__), N(__VA_ARGS__))

/* Bytes of exported memory `mem` at `at`, compared with `want`. */
static bool mem_is(zh_instance *inst, const char *mem, uint64_t at, const void *want, size_t n) {
  zh_memory *m = zh_instance_memory(inst, mem);
  uint8_t got[64];
  if (!m || n > sizeof got)
    return false;
  zh_error *err = zh_memory_read(m, at, got, n);
  bool same = !err && memcmp(got, want, n) == 0;
  zh_error_free(err);
  return same;
}

static uint32_t pages(zh_instance *inst, const char *mem) {
  zh_memory *m = zh_instance_memory(inst, mem);
  return m ? (uint32_t)(zh_memory_size(m) / 65536) : 0;
}

/* ---- access.wat: three memories, memory 0 imported ---- */

static void test_access(void) {
  zh_module *m = load("access");
  CHECK(m != NULL);
  if (!m)
    return;
  zh_store *s = NULL;
  zh_memory *mem0 = NULL;
  CHECK(zh_store_new(engine, &s) == NULL);
  zh_limits lim = {.min = 2, .max = 2, .has_max = true};
  CHECK(zh_memory_new(s, &lim, &mem0) == NULL);
  zh_extern imp = {.kind = ZH_EXTERN_MEMORY, .of.memory = mem0};
  zh_instance *in = NULL;
  zh_error *err = zh_instance_new(s, m, &imp, 1, &in);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!in) {
    zh_store_free(s);
    zh_module_free(m);
    return;
  }

  /* Exports name the right memories; data segments landed in theirs. */
  CHECK(zh_instance_memory(in, "a") == mem0);
  CHECK(zh_instance_memory(in, "b") != mem0 && zh_instance_memory(in, "c") != mem0);
  CHECK(zh_instance_memory(in, "b") != zh_instance_memory(in, "c"));
  CHECK(mem_is(in, "b", 16, "in b", 4));
  CHECK(mem_is(in, "c", 16, "in c", 4));
  CHECK(mem_is(in, "a", 16, "\0\0\0\0", 4));
  CHECK_EQ_INT(pages(in, "a"), 2);
  CHECK_EQ_INT(pages(in, "b"), 1);
  CHECK_EQ_INT(pages(in, "c"), 2);

  /* The same address in three memories holds three values. */
  CHECK(OK(s, in, "store_a", zh_i32(100), zh_i32(1)));
  CHECK(OK(s, in, "store_b", zh_i32(100), zh_i32(2)));
  CHECK(OK(s, in, "store_c", zh_i32(100), zh_i32(3)));
  CHECK_EQ_INT(INT(s, in, "load_a", zh_i32(100)), 1);
  CHECK_EQ_INT(INT(s, in, "load_b", zh_i32(100)), 2);
  CHECK_EQ_INT(INT(s, in, "load_c", zh_i32(100)), 3);
  CHECK(mem_is(in, "b", 100, "\2\0\0\0", 4));

  /* Addressing modes on memory 1 and 2. */
  CHECK(OK(s, in, "store_b", zh_i32(208), zh_i32(0x1234)));
  CHECK_EQ_INT(INT(s, in, "load_b_off", zh_i32(200)), 0x1234);
  CHECK_EQ_INT(INT(s, in, "load_b_ri", zh_i32(200)), 0x1234);
  CHECK_EQ_INT(INT(s, in, "load_b_rr", zh_i32(200), zh_i32(8)), 0x1234);
  CHECK_EQ_INT(INT(s, in, "load_b_rs", zh_i32(200), zh_i32(2)), 0x1234);
  CHECK_EQ_INT(INT(s, in, "load_a", zh_i32(208)), 0); /* not memory 0 */
  CHECK(OK(s, in, "store_c_ri", zh_i32(300), zh_i32(77)));
  CHECK_EQ_INT(INT(s, in, "load_c", zh_i32(308)), 77);
  CHECK(OK(s, in, "store_c_rs", zh_i32(300), zh_i32(3), zh_i32(88)));
  CHECK_EQ_INT(INT(s, in, "load_c", zh_i32(312)), 88);
  CHECK_EQ_INT(INT(s, in, "load_b", zh_i32(312)), 0);

  /* Widths and signs. */
  CHECK(OK(s, in, "store64_b", zh_i32(400), zh_i64((int64_t)0x8877665544332211)));
  CHECK_EQ_INT(INT(s, in, "load64_b", zh_i32(400)), (int64_t)0x8877665544332211);
  CHECK_EQ_INT(INT(s, in, "load8_s_b", zh_i32(407)), (int8_t)0x88);
  CHECK_EQ_INT(INT(s, in, "load8_u_b", zh_i32(407)), 0x88);
  CHECK(OK(s, in, "store16_b", zh_i32(410), zh_i64(0xabcdef)));
  CHECK_EQ_INT(INT(s, in, "load8_u_b", zh_i32(410)), 0xef);
  CHECK_EQ_INT(INT(s, in, "load8_u_b", zh_i32(411)), 0xcd);
  CHECK_EQ_INT(INT(s, in, "load8_u_b", zh_i32(412)), 0);
  CHECK(OK(s, in, "store32_b", zh_i32(420), zh_i64(0x1122334455)));
  CHECK(mem_is(in, "b", 420, "\x55\x44\x33\x22\0", 5));
  CHECK(OK(s, in, "store_c", zh_i32(500), zh_i32((int32_t)0xfffe8001)));
  CHECK_EQ_INT(INT(s, in, "load16_s_c", zh_i32(500)), -32767);
  CHECK_EQ_INT(INT(s, in, "load16_u_c", zh_i32(502)), 0xfffe);
  CHECK_EQ_INT(INT(s, in, "load32_s64_c", zh_i32(500)), (int32_t)0xfffe8001);
  CHECK_EQ_INT(INT(s, in, "load8_s64_c", zh_i32(501)), (int8_t)0x80);
  CHECK(OK(s, in, "store8_c", zh_i32(503), zh_i32(0x7f)));
  CHECK_EQ_INT(INT(s, in, "load_c", zh_i32(500)), 0x7ffe8001);
  zh_value fr = zh_f32(0);
  err = call(s, in, "f32_b", A(zh_i32(600), zh_f32(2.5f)), 2, &fr, 1);
  CHECK(err == NULL && zh_value_f32(&fr) == 2.5f);
  zh_error_free(err);
  CHECK(mem_is(in, "b", 600, "\0\0\x20\x40", 4));

  /* f64 operands from memory 1, and the in-place update across memories. */
  CHECK(OK(s, in, "f64_store_a", zh_i32(640), zh_f64(1.5)));
  CHECK(OK(s, in, "f64_store_b", zh_i32(640), zh_f64(10.0)));
  CHECK(F64(s, in, "f64_add_b", zh_i32(640), zh_f64(0.25)) == 10.25);
  CHECK(F64(s, in, "f64_sub_b", zh_i32(640), zh_f64(0.5)) == 9.5);
  CHECK(OK(s, in, "b_gets_x_plus_a", zh_i32(640), zh_f64(2.0)));
  CHECK(F64(s, in, "f64_load_b", zh_i32(640)) == 3.5); /* 2 + a[640] */
  CHECK(F64(s, in, "f64_load_a", zh_i32(640)) == 1.5); /* a unchanged */
  CHECK(OK(s, in, "a_gets_x_plus_b", zh_i32(640), zh_f64(4.0)));
  CHECK(F64(s, in, "f64_load_a", zh_i32(640)) == 7.5); /* 4 + b[640] */
  CHECK(F64(s, in, "f64_load_b", zh_i32(640)) == 3.5);

  /* Bounds are each memory's own: memory 1 has one page, memory 0 two. */
  CHECK_EQ_INT(INT(s, in, "load_b", zh_i32(65532)), 0);
  CHECK(OOB(s, in, "load_b", zh_i32(65533)));
  CHECK(OOB(s, in, "store_b", zh_i32(65536), zh_i32(1)));
  CHECK(OOB(s, in, "load_b_off", zh_i32(65528)));
  CHECK(OOB(s, in, "load_b_rs", zh_i32(65532), zh_i32(1)));
  CHECK(OOB(s, in, "load64_b", zh_i32(-1)));
  CHECK_EQ_INT(INT(s, in, "load_a", zh_i32(65536)), 0); /* memory 0 has two pages */
  CHECK(OOB(s, in, "load_a", zh_i32(131069)));
  CHECK_EQ_INT(INT(s, in, "load_c", zh_i32(131068)), 0);
  CHECK(OOB(s, in, "store_c", zh_i32(131069), zh_i32(1)));
  CHECK(OOB(s, in, "v_splat_b", zh_i32(65533)));
  CHECK(OOB(s, in, "v_copy_b_to_c", zh_i32(65521), zh_i32(0)));
  /* ... and memory 0 still works after each trap (the interpreter's base is memory 0's) */
  CHECK_EQ_INT(INT(s, in, "load_a", zh_i32(100)), 1);

  /* Size and growth: memory 1 up to its max of 3, memory 2 without a max. */
  CHECK_EQ_INT(INT0(s, in, "size_a"), 2);
  CHECK_EQ_INT(INT0(s, in, "size_b"), 1);
  CHECK_EQ_INT(INT0(s, in, "size_c"), 2);
  CHECK_EQ_INT(INT(s, in, "grow_b", zh_i32(1)), 1);
  CHECK_EQ_INT(INT0(s, in, "size_b"), 2);
  CHECK_EQ_INT(INT(s, in, "load_b", zh_i32(65533)), 0); /* in bounds now */
  CHECK(OK(s, in, "store_b", zh_i32(131068), zh_i32(9)));
  CHECK_EQ_INT(INT(s, in, "grow_b", zh_i32(2)), -1); /* past the max */
  CHECK_EQ_INT(INT(s, in, "grow_b", zh_i32(1)), 2);
  CHECK_EQ_INT(INT0(s, in, "size_b"), 3);
  CHECK_EQ_INT(INT(s, in, "grow_c", zh_i32(3)), 2);
  CHECK_EQ_INT(INT0(s, in, "size_c"), 5);
  CHECK_EQ_INT(INT0(s, in, "size_a"), 2);
  CHECK_EQ_INT(pages(in, "c"), 5);
  CHECK(OOB(s, in, "load_b", zh_i32(196605)));

  /* Bulk operations. */
  CHECK(OK(s, in, "fill_c", zh_i32(1000), zh_i32(0x5a), zh_i32(4)));
  CHECK(mem_is(in, "c", 999, "\0ZZZZ\0", 6));
  CHECK(OOB(s, in, "fill_c", zh_i32(5 * 65536 - 2), zh_i32(1), zh_i32(3)));
  CHECK(mem_is(in, "c", 5 * 65536 - 2, "\0\0", 2)); /* nothing written */
  CHECK(OK(s, in, "copy_b_to_c", zh_i32(2000), zh_i32(16), zh_i32(4)));
  CHECK(mem_is(in, "c", 2000, "in b", 4));
  CHECK(OK(s, in, "copy_c_to_c", zh_i32(2002), zh_i32(2000), zh_i32(4))); /* overlapping */
  CHECK(mem_is(in, "c", 2000, "inin b", 6));
  CHECK(OK(s, in, "copy_b_to_a", zh_i32(3000), zh_i32(16), zh_i32(4)));
  CHECK(mem_is(in, "a", 3000, "in b", 4));
  CHECK(OK(s, in, "copy_a_to_b", zh_i32(3000), zh_i32(3000), zh_i32(2)));
  CHECK(mem_is(in, "b", 3000, "in\0", 3));
  CHECK(OOB(s, in, "copy_b_to_c", zh_i32(0), zh_i32(3 * 65536 - 1), zh_i32(2)));
  CHECK(OOB(s, in, "copy_b_to_a", zh_i32(2 * 65536 - 1), zh_i32(0), zh_i32(2)));
  CHECK(OK(s, in, "copy_b_to_c", zh_i32(5 * 65536), zh_i32(3 * 65536), zh_i32(0)));
  CHECK(OK(s, in, "init_c", zh_i32(4000), zh_i32(8), zh_i32(5)));
  CHECK(mem_is(in, "c", 4000, "bytes", 5));
  CHECK(mem_is(in, "a", 4000, "\0\0\0\0\0", 5));
  CHECK(OOB(s, in, "init_c", zh_i32(4000), zh_i32(10), zh_i32(4)));
  CHECK(OOB(s, in, "init_c", zh_i32(5 * 65536 - 1), zh_i32(0), zh_i32(2)));
  CHECK(OK(s, in, "drop_seg"));
  CHECK(OOB(s, in, "init_c", zh_i32(4000), zh_i32(0), zh_i32(1)));
  CHECK(OK(s, in, "init_c", zh_i32(4000), zh_i32(0), zh_i32(0)));

  /* SIMD. */
  uint8_t v[32];
  for (int i = 0; i < 32; i++)
    v[i] = (uint8_t)(i + 1);
  zh_memory *mb = zh_instance_memory(in, "b"), *mc = zh_instance_memory(in, "c");
  CHECK(zh_memory_write(mb, 5000, v, 32) == NULL);
  CHECK(OK(s, in, "v_copy_b_to_c", zh_i32(5000), zh_i32(6000)));
  CHECK(mem_is(in, "c", 6000, v, 16));
  CHECK(mem_is(in, "a", 6000, "\0\0\0\0", 4));
  CHECK(OK(s, in, "v_copy_b_to_c_ri", zh_i32(4984)));
  CHECK(mem_is(in, "c", 5016, v, 16)); /* b[5000..] to c[5016..] */
  /* b[addr] goes to byte lane 3, which is the high byte of 16-bit lane 1 */
  CHECK(OK(s, in, "v_lane", zh_i32(5000), zh_i32(7000)));
  CHECK(mem_is(in, "c", 7000, "\0\1\0", 3));
  CHECK(OK(s, in, "v_lane", zh_i32(5004), zh_i32(7000)));
  CHECK(mem_is(in, "c", 7000, "\0\5\0", 3));
  CHECK(mem_is(in, "b", 7000, "\0\0\0", 3));
  CHECK_EQ_INT(INT(s, in, "v_splat_b", zh_i32(5000)), 0x04030201);
  CHECK(zh_memory_write(mc, 8000, v, 16) == NULL);
  CHECK_EQ_INT(INT(s, in, "v_zero_c", zh_i32(8000)), 0); /* the high lane of a zero-extended load */
  CHECK_EQ_INT(INT(s, in, "v_ext_c", zh_i32(8000)), 2);
  CHECK(OK(s, in, "v_store_lane_b", zh_i32(9000), zh_i64(0x0102030405060708)));
  CHECK(mem_is(in, "b", 9000, "\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  CHECK(mem_is(in, "a", 9000, "\0\0\0\0", 4));
  CHECK(zh_memory_write(mem0, 5000, "\x10\0\0\0", 4) == NULL);
  CHECK_EQ_INT(INT(s, in, "v_add_a_b", zh_i32(5000)), 0x04030201 + 0x10);

  zh_store_free(s);
  zh_module_free(m);
}

/* Two imported memories, then one memory imported under both names. */
static void test_imports(void) {
  zh_module *m = load("imports");
  CHECK(m != NULL);
  if (!m)
    return;
  zh_store *s = NULL;
  CHECK(zh_store_new(engine, &s) == NULL);
  zh_limits one = {.min = 1, .max = 4, .has_max = true};
  zh_memory *p1 = NULL, *p2 = NULL;
  CHECK(zh_memory_new(s, &one, &p1) == NULL);
  CHECK(zh_memory_new(s, &one, &p2) == NULL);
  zh_extern two[2] = {{.kind = ZH_EXTERN_MEMORY, .of.memory = p1},
                      {.kind = ZH_EXTERN_MEMORY, .of.memory = p2}};
  zh_instance *in = NULL;
  CHECK(zh_instance_new(s, m, two, 2, &in) == NULL);
  if (in) {
    CHECK(OK(s, in, "poke_x", zh_i32(5), zh_i32(11)));
    CHECK(OK(s, in, "poke_y", zh_i32(5), zh_i32(22)));
    CHECK_EQ_INT(INT(s, in, "peek_x", zh_i32(5)), 11);
    CHECK_EQ_INT(INT(s, in, "peek_y", zh_i32(5)), 22);
    CHECK(zh_memory_data(p1)[5] == 11 && zh_memory_data(p2)[5] == 22);
    CHECK_EQ_INT(INT(s, in, "grow_y", zh_i32(1)), 1);
    CHECK_EQ_INT(INT0(s, in, "size_x"), 1);
    CHECK(zh_memory_size(p2) == 2 * 65536);
  }

  /* One memory under both names: a write through memory 0 is read through memory 1, and
   * growing memory 1 grows memory 0 (the interpreter's cached bounds included). */
  zh_memory *shared = NULL;
  CHECK(zh_memory_new(s, &one, &shared) == NULL);
  zh_extern same[2] = {{.kind = ZH_EXTERN_MEMORY, .of.memory = shared},
                       {.kind = ZH_EXTERN_MEMORY, .of.memory = shared}};
  zh_instance *in2 = NULL;
  CHECK(zh_instance_new(s, m, same, 2, &in2) == NULL);
  if (in2) {
    CHECK(OK(s, in2, "poke_x", zh_i32(9), zh_i32(33)));
    CHECK_EQ_INT(INT(s, in2, "peek_y", zh_i32(9)), 33);
    CHECK(OOB(s, in2, "peek_x", zh_i32(65536)));
    CHECK_EQ_INT(INT(s, in2, "grow_y", zh_i32(1)), 1);
    CHECK_EQ_INT(INT0(s, in2, "size_x"), 2);
    CHECK(OK(s, in2, "poke_x", zh_i32(65536), zh_i32(44)));
    CHECK_EQ_INT(INT(s, in2, "peek_y", zh_i32(65536)), 44);
  }

  /* Each import is matched on its own: memory 1 too small for its declared minimum. */
  zh_limits small = {.min = 0, .max = 1, .has_max = true};
  zh_memory *tiny = NULL;
  CHECK(zh_memory_new(s, &small, &tiny) == NULL);
  zh_extern bad[2] = {{.kind = ZH_EXTERN_MEMORY, .of.memory = p1},
                      {.kind = ZH_EXTERN_MEMORY, .of.memory = tiny}};
  zh_instance *in3 = NULL;
  zh_error *err = zh_instance_new(s, m, bad, 2, &in3);
  CHECK(err && zh_error_status(err) == ZH_ERR_UNLINKABLE);
  CHECK(err && strstr(zh_error_message(err), "\"p2\".\"mem\""));
  zh_error_free(err);
  CHECK(in3 == NULL);

  /* The module describes both imports. */
  CHECK_EQ_INT(zh_module_import_count(m), 2);
  zh_import_info ii;
  zh_module_import(m, 1, &ii);
  CHECK(ii.kind == ZH_EXTERN_MEMORY && strcmp(ii.module, "p2") == 0 && ii.limits.min == 1);

  zh_store_free(s);
  zh_module_free(m);
}

/* Templates copy every memory a module defines, with its data, copy-on-write. */
static void test_template(void) {
  zh_module *m = load("pair");
  CHECK(m != NULL);
  if (!m)
    return;
  zh_template *tpl = NULL;
  CHECK(zh_template_new(engine, m, NULL, 0, &tpl) == NULL);
  zh_store *s = NULL;
  CHECK(zh_store_new(engine, &s) == NULL);
  zh_instance *c1 = NULL, *c2 = NULL;
  if (tpl) {
    CHECK(zh_template_instantiate(tpl, s, &c1) == NULL);
    CHECK(zh_template_instantiate(tpl, s, &c2) == NULL);
  }
  if (c1 && c2) {
    CHECK(mem_is(c1, "a", 0, "first", 5) && mem_is(c1, "b", 0, "second", 6));
    CHECK(mem_is(c2, "a", 0, "first", 5) && mem_is(c2, "b", 0, "second", 6));
    CHECK(zh_instance_memory(c1, "b") != zh_instance_memory(c2, "b"));
    CHECK(OK(s, c1, "poke_b", zh_i32(0), zh_i32('S')));
    CHECK_EQ_INT(INT(s, c1, "peek_b", zh_i32(0)), 'S');
    CHECK_EQ_INT(INT(s, c2, "peek_b", zh_i32(0)), 's');
    CHECK(mem_is(c1, "a", 0, "first", 5));
    CHECK_EQ_INT(INT(s, c1, "grow_b", zh_i32(2)), 1);
    CHECK_EQ_INT(INT0(s, c1, "size_b"), 3);
    CHECK_EQ_INT(INT0(s, c2, "size_b"), 1);
    CHECK_EQ_INT(INT(s, c1, "grow_b", zh_i32(2)), -1); /* the declared max survives the copy */
    CHECK(OOB(s, c2, "peek_b", zh_i32(65536)));
    CHECK_EQ_INT(INT(s, c1, "peek_b", zh_i32(65536)), 0);
  }
  /* Released and stamped again (the block cache): fresh memories, original data. */
  zh_mark mark = zh_store_mark(s);
  for (int i = 0; i < 3 && tpl; i++) {
    zh_instance *c = NULL;
    CHECK(zh_template_instantiate(tpl, s, &c) == NULL);
    if (!c)
      break;
    CHECK_EQ_INT(INT(s, c, "peek_b", zh_i32(0)), 's');
    CHECK(OK(s, c, "poke_b", zh_i32(0), zh_i32('X')));
    CHECK_EQ_INT(INT0(s, c, "size_b"), 1);
    CHECK(zh_store_release_to(s, mark) == NULL);
  }
  zh_store_free(s);
  zh_template_free(tpl);
  zh_module_free(m);
}

/* A snapshot group: two providers and a consumer that imports both memories (indices 0
 * and 1) and defines a third. Copies link to each other's copies. */
static void test_snapshot(void) {
  zh_module *pm = load("provider"), *cm = load("consumer");
  CHECK(pm && cm);
  if (!pm || !cm) {
    zh_module_free(pm);
    zh_module_free(cm);
    return;
  }
  zh_store *orig = NULL, *s = NULL;
  CHECK(zh_store_new(engine, &orig) == NULL);
  CHECK(zh_store_new(engine, &s) == NULL);
  zh_instance *g[3] = {NULL, NULL, NULL};
  CHECK(zh_instance_new(orig, pm, NULL, 0, &g[0]) == NULL);
  CHECK(zh_instance_new(orig, pm, NULL, 0, &g[1]) == NULL);
  zh_extern im[2] = {{.kind = ZH_EXTERN_MEMORY}, {.kind = ZH_EXTERN_MEMORY}};
  im[0].of.memory = g[0] ? zh_instance_memory(g[0], "mem") : NULL;
  im[1].of.memory = g[1] ? zh_instance_memory(g[1], "mem") : NULL;
  CHECK(im[0].of.memory && im[1].of.memory && zh_instance_new(orig, cm, im, 2, &g[2]) == NULL);
  zh_snapshot *snap = NULL;
  if (g[2]) {
    CHECK(OK(orig, g[2], "poke_q", zh_i32(0), zh_i32('Q'))); /* before the snapshot */
    CHECK(zh_snapshot_new(orig, g, 3, &snap) == NULL);
  }
  if (!snap)
    zh_store_free(orig);
  zh_instance *c[3] = {NULL, NULL, NULL}, *d[3] = {NULL, NULL, NULL};
  if (snap) {
    CHECK(zh_snapshot_instantiate(snap, s, c) == NULL);
    CHECK(zh_snapshot_instantiate(snap, s, d) == NULL);
  }
  if (c[2] && d[2]) {
    CHECK_EQ_INT(INT(s, c[2], "peek_p", zh_i32(0)), 'p');
    CHECK_EQ_INT(INT(s, c[2], "peek_q", zh_i32(0)), 'Q');
    CHECK_EQ_INT(INT(s, c[2], "peek_own", zh_i32(0)), 'o');
    /* memory 1 of consumer copy c is provider copy c[1]'s memory, not d's or the original */
    CHECK(OK(s, c[2], "poke_q", zh_i32(1), zh_i32('!')));
    CHECK_EQ_INT(INT(s, c[1], "peek", zh_i32(1)), '!');
    CHECK_EQ_INT(INT(s, d[1], "peek", zh_i32(1)), 'r');
    CHECK_EQ_INT(INT(s, d[2], "peek_q", zh_i32(1)), 'r');
    CHECK_EQ_INT(INT(s, c[0], "peek", zh_i32(1)), 'r');
    CHECK(OK(s, c[2], "poke_own", zh_i32(0), zh_i32('O')));
    CHECK_EQ_INT(INT(s, d[2], "peek_own", zh_i32(0)), 'o');
    CHECK_EQ_INT(INT(s, c[2], "peek_own", zh_i32(0)), 'O');
  }
  zh_store_free(s);
  zh_snapshot_free(snap);
  zh_module_free(pm);
  zh_module_free(cm);
}

/* get() -> "multi" and first("zebra") -> 'z', both through memory 1 (memory 0 holds
 * "wrong" and zeros): checks one component instance. */
static void check_canon(zh_cm_instance *ci) {
  zh_cm_func *get = zh_cm_instance_func(ci, NULL, "get");
  zh_cm_func *first = zh_cm_instance_func(ci, NULL, "first");
  CHECK(get && first);
  if (!get || !first)
    return;
  zh_val r = zh_val_bool(false);
  zh_error *err = zh_cm_func_call(ci, get, NULL, 0, &r);
  CHECK(err == NULL && r.of.str.len == 5 && memcmp(r.of.str.data, "multi", 5) == 0);
  zh_error_free(err);
  zh_val_drop(&r);
  zh_val arg = zh_val_bool(false);
  CHECK(zh_val_string_cstr(&arg, "zebra") == NULL);
  err = zh_cm_func_call(ci, first, &arg, 1, &r);
  CHECK(err == NULL && r.of.u == 'z');
  zh_error_free(err);
  zh_val_drop(&r);
  zh_val_drop(&arg);
}

/* A component whose canon lift options name memory 1 of its core instance, instantiated
 * and through a template (its memories snapshotted and copied). */
static void test_canon(void) {
  size_t len = 0;
  uint8_t *bytes = read_wasm("components/canon", &len);
  CHECK(bytes != NULL);
  if (!bytes)
    return;
  zh_cm_component *comp = NULL;
  zh_error *err = zh_cm_component_new(engine, bytes, len, "canon.wasm", &comp);
  CHECK(err == NULL);
  zh_error_free(err);
  free(bytes);
  if (!comp)
    return;
  zh_store *s = NULL;
  CHECK(zh_store_new(engine, &s) == NULL);
  zh_cm_instance *ci = NULL;
  CHECK(zh_cm_instantiate(comp, s, &ci) == NULL);
  if (ci)
    check_canon(ci);
  zh_cm_instance_free(ci);
  zh_cm_template *tpl = NULL;
  CHECK(zh_cm_template_new(NULL, comp, &tpl) == NULL);
  for (int i = 0; i < 2 && tpl; i++) {
    zh_cm_instance *copy = NULL;
    CHECK(zh_cm_template_instantiate(tpl, s, NULL, &copy) == NULL);
    if (copy)
      check_canon(copy);
    zh_cm_instance_free(copy);
  }
  zh_store_free(s);
  zh_cm_template_free(tpl);
  zh_cm_component_free(comp);
}

/* The position of `pat` (n bytes) in `hay`, or -1. */
static long find(const uint8_t *hay, size_t len, const uint8_t *pat, size_t n) {
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(hay + i, pat, n) == 0)
      return (long)i;
  return -1;
}

/* tests/wasm/multimem/invalid_*.wat: each starts with ";; expect: TEXT" and, for errors in
 * code, ";; at: HEX BYTES" of the instruction whose file offset the message must give. */
static void test_invalid_one(const char *name) {
  char src[512];
  snprintf(src, sizeof src, "tests/wasm/multimem/%s.wat", name);
  uint8_t *text = NULL;
  size_t tlen = 0;
  CHECK(zh_test_read_file(src, &text, &tlen));
  if (!text)
    return;
  char expect[256] = "", at[128] = "";
  const char *e = strstr((const char *)text, ";; expect: ");
  const char *a = strstr((const char *)text, ";; at: ");
  if (e)
    sscanf(e + 11, "%255[^\n]", expect);
  if (a)
    sscanf(a + 7, "%127[^\n]", at);
  free(text);
  CHECK(expect[0] != 0);

  size_t len = 0;
  uint8_t *bytes = read_wasm(name, &len);
  CHECK(bytes != NULL);
  if (!bytes)
    return;
  zh_module *m = NULL;
  zh_error *err = zh_module_new(engine, bytes, len, name, &m);
  CHECK(err && zh_error_status(err) == ZH_ERR_INVALID);
  const char *msg = err ? zh_error_message(err) : "";
  if (!strstr(msg, expect)) {
    fprintf(stderr, "%s: expected \"%s\", got \"%s\"\n", name, expect, msg);
    CHECK(false);
  }
  if (at[0]) {
    uint8_t pat[32];
    size_t n = 0;
    for (char *p = at; *p && n < sizeof pat;) {
      char *end;
      unsigned long b = strtoul(p, &end, 16);
      if (end == p)
        break;
      pat[n++] = (uint8_t)b;
      p = end;
    }
    long off = find(bytes, len, pat, n);
    char want[64];
    snprintf(want, sizeof want, "at offset 0x%lx:", off);
    CHECK(off > 0);
    if (!strstr(msg, want)) {
      fprintf(stderr, "%s: expected \"%s\" in \"%s\"\n", name, want, msg);
      CHECK(false);
    }
  }
  zh_error_free(err);
  zh_module_free(m);
  free(bytes);
}

static void test_invalid(void) {
  static const char *const names[] = {"invalid_load", "invalid_store", "invalid_simd_lane",
                                      "invalid_size", "invalid_grow",  "invalid_copy",
                                      "invalid_fill", "invalid_init",  "invalid_align",
                                      "invalid_data", "invalid_export"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    test_invalid_one(names[i]);
}

/* Hand-made bytes: memarg flags past bit 6, and the 2.0 rules of an engine configured for a
 * single memory. */
static void test_encoding(void) {
  /* (memory 1) (func (result i32) (i32.load MEMARG (i32.const 0))): MEMARG is three bytes,
   * flags then memory index then offset, or flags then offset then `unreachable` (0x00) */
  uint8_t mod[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60,
                   0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01,
                   0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0x28, 0x40, 0x00, 0x00, 0x0b};
  const size_t memarg_at = 32;
  zh_engine *wasm2 = NULL;
  zh_engine_config cfg = {.single_memory = true};
  CHECK(zh_engine_new(&cfg, &wasm2) == NULL);
  struct {
    uint8_t memarg[3];
    zh_engine *e;
    zh_status want;
    const char *text;
  } cases[] = {
      {{0x40, 0x00, 0x00}, engine, ZH_OK, NULL}, /* memory index 0, spelled out */
      {{0x42, 0x00, 0x10}, engine, ZH_OK, NULL},
      {{0x02, 0x10, 0x00}, engine, ZH_OK, NULL},
      {{0x40, 0x01, 0x00}, engine, ZH_ERR_INVALID, "unknown memory 1 (in i32.load)"},
      {{0x43, 0x00, 0x00}, engine, ZH_ERR_INVALID, "alignment must not be larger than natural"},
      {{0x80, 0x01, 0x00}, engine, ZH_ERR_MALFORMED, "malformed memop flags 0x80"},
      {{0x40, 0x80, 0x80}, engine, ZH_ERR_MALFORMED, NULL}, /* the index runs past the end */
      {{0x40, 0x00, 0x00}, wasm2, ZH_ERR_MALFORMED, "malformed memop flags 0x40"},
      {{0x20, 0x00, 0x00}, wasm2, ZH_ERR_MALFORMED, "malformed memop flags 0x20"},
      {{0x02, 0x10, 0x00}, wasm2, ZH_OK, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0] && wasm2; i++) {
    memcpy(mod + memarg_at, cases[i].memarg, 3);
    zh_module *m = NULL;
    zh_error *err = zh_module_new(cases[i].e, mod, sizeof mod, "flags", &m);
    CHECK_EQ_INT(err ? zh_error_status(err) : ZH_OK, cases[i].want);
    CHECK(!cases[i].text || (err && strstr(zh_error_message(err), cases[i].text)));
    zh_error_free(err);
    zh_module_free(m);
  }
  /* A 2.0 engine refuses a second memory (the first error in pair.wasm is its code's memop
   * flags 0x40); the default engine takes both. */
  zh_error *err = NULL;
  zh_module *m = load_in(wasm2, "pair", &err);
  CHECK(m == NULL && err && strstr(zh_error_message(err), "malformed memop flags 0x40"));
  zh_error_free(err);
  m = load_in(engine, "pair", &err);
  CHECK(m != NULL && err == NULL);
  zh_module_free(m);
  static const uint8_t two[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                                0x05, 0x05, 0x02, 0x00, 0x01, 0x00, 0x01};
  err = zh_module_new(wasm2, two, sizeof two, "two", &m);
  CHECK(err && strstr(zh_error_message(err), "two: memory 1: multiple memories"));
  zh_error_free(err);
  err = zh_module_new(engine, two, sizeof two, "two", &m);
  CHECK(err == NULL);
  zh_error_free(err);
  zh_module_free(m);
  zh_engine_free(wasm2);

  /* At most 64 memories per module (each reserves 8 GiB of address space). */
  for (uint32_t n = 64; n <= 65; n++) {
    uint8_t many[12 + 2 * 65] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05};
    uint32_t size = 1 + 2 * n;                 /* the count, then n limits {0x00, 0x00} */
    many[9] = (uint8_t)(0x80 | (size & 0x7f)); /* two-byte LEB128 */
    many[10] = (uint8_t)(size >> 7);
    many[11] = (uint8_t)n;
    size_t len = 11 + size;
    m = NULL;
    err = zh_module_new(engine, many, len, "many", &m);
    if (n == 64) {
      CHECK(err == NULL && m != NULL);
    } else {
      CHECK(err && zh_error_status(err) == ZH_ERR_RESOURCE);
      CHECK(err && strstr(zh_error_message(err), "many: 65 memories: at most 64"));
    }
    zh_error_free(err);
    zh_module_free(m);
  }
}

int main(void) {
  zh_error *err = zh_engine_new(NULL, &engine);
  CHECK(err == NULL);
  if (err) {
    zh_error_free(err);
    TEST_SUMMARY();
  }
  test_access();
  test_imports();
  test_template();
  test_snapshot();
  test_invalid();
  test_encoding();
  test_canon();
  zh_engine_free(engine);
  TEST_SUMMARY();
}
