/* Validation of hand-built modules: exact statuses for representative valid, invalid and
 * malformed function bodies and module components. */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/engine.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Optional module parts around one function; raw section contents, empty when unused. */
typedef struct parts {
  const char *params, *results; /* the function's type as value-type bytes */
  const uint8_t *body;          /* instructions including the final end */
  size_t body_len;
  const char *memory; /* memory section content, e.g. "\x01\x00\x01" */
  size_t memory_len;
  const char *global; /* global section content */
  size_t global_len;
  const char *exports; /* export section content */
  size_t exports_len;
  bool start; /* start section naming function 0 */
} parts;

/* The engine modules load into: `multi` (the default configuration, multi-memory) or
 * `wasm2` (single_memory, WebAssembly 2.0's rules). */
static zh_engine *engine, *multi, *wasm2;

static zh_status load(const uint8_t *bytes, size_t len, char *msg, size_t msg_size) {
  zh_module *m = NULL;
  zh_error *err = zh_module_new(engine, bytes, len, "test", &m);
  zh_status st = err ? zh_error_status(err) : ZH_OK;
  if (msg && msg_size) {
    snprintf(msg, msg_size, "%s", err ? zh_error_message(err) : "");
  }
  zh_error_free(err);
  zh_module_free(m);
  return st;
}

static zh_status build(const parts *p, char *msg, size_t msg_size) {
  zh_test_buf o = {0}, s = {0};
  zh_test_put(&o, "\0asm\1\0\0\0", 8);
  /* type section: one type */
  size_t np = strlen(p->params), nr = strlen(p->results);
  zh_test_put_byte(&s, 1);
  zh_test_put_byte(&s, 0x60);
  zh_test_put_u32(&s, (uint32_t)np);
  zh_test_put(&s, p->params, np);
  zh_test_put_u32(&s, (uint32_t)nr);
  zh_test_put(&s, p->results, nr);
  zh_test_section(&o, 1, &s);
  s.n = 0;
  zh_test_put(&s, "\x01\x00", 2); /* function section: one function of type 0 */
  zh_test_section(&o, 3, &s);
  if (p->memory_len) {
    s.n = 0;
    zh_test_put(&s, p->memory, p->memory_len);
    zh_test_section(&o, 5, &s);
  }
  if (p->global_len) {
    s.n = 0;
    zh_test_put(&s, p->global, p->global_len);
    zh_test_section(&o, 6, &s);
  }
  if (p->exports_len) {
    s.n = 0;
    zh_test_put(&s, p->exports, p->exports_len);
    zh_test_section(&o, 7, &s);
  }
  if (p->start) {
    s.n = 0;
    zh_test_put_byte(&s, 0);
    zh_test_section(&o, 8, &s);
  }
  s.n = 0; /* code section: no locals, then the body */
  zh_test_buf f = {0};
  zh_test_put_byte(&f, 0);
  zh_test_put(&f, p->body, p->body_len);
  zh_test_put_byte(&s, 1);
  zh_test_put_u32(&s, (uint32_t)f.n);
  zh_test_put(&s, f.b, f.n);
  zh_test_section(&o, 10, &s);
  zh_status st = load(o.b, o.n, msg, msg_size);
  free(o.b);
  free(s.b);
  free(f.b);
  return st;
}

/* One function of type params -> results with `body`; `mem` adds a one-page memory. */
static zh_status func(const char *params, const char *results, bool mem, const char *body,
                      size_t len) {
  parts p = {params, results, (const uint8_t *)body, len, NULL, 0, NULL, 0, NULL, 0, false};
  if (mem) {
    p.memory = "\x01\x00\x01";
    p.memory_len = 3;
  }
  return build(&p, NULL, 0);
}

#define BODY(s) s, sizeof(s) - 1
#define I32 "\x7f"
#define I64 "\x7e"

static void test_bodies(void) {
  /* (i32, i32) -> i32: local.get 0, local.get 1, i32.add */
  CHECK_EQ_INT(func(I32 I32, I32, false, BODY("\x20\x00\x20\x01\x6a\x0b")), ZH_OK);
  /* () -> i32 returning an i64 */
  CHECK_EQ_INT(func("", I32, false, BODY("\x42\x00\x0b")), ZH_ERR_INVALID);
  /* () -> i32 with nothing on the stack */
  CHECK_EQ_INT(func("", I32, false, BODY("\x0b")), ZH_ERR_INVALID);
  /* unreachable makes the stack polymorphic: unreachable, i32.add is fine */
  CHECK_EQ_INT(func("", I32, false, BODY("\x00\x6a\x0b")), ZH_OK);
  /* ... but a known operand still has to fit: unreachable, i64.const 0, i32.add */
  CHECK_EQ_INT(func("", I32, false, BODY("\x00\x42\x00\x6a\x0b")), ZH_ERR_INVALID);
  /* unknown local */
  CHECK_EQ_INT(func(I32, "", false, BODY("\x20\x05\x1a\x0b")), ZH_ERR_INVALID);
  /* memory instructions need a memory; alignment at most natural */
  CHECK_EQ_INT(func("", I32, false, BODY("\x41\x00\x28\x02\x00\x0b")), ZH_ERR_INVALID);
  CHECK_EQ_INT(func("", I32, true, BODY("\x41\x00\x28\x02\x00\x0b")), ZH_OK);
  CHECK_EQ_INT(func("", I32, true, BODY("\x41\x00\x28\x03\x00\x0b")), ZH_ERR_INVALID);
  /* memory.size's immediate: with multi-memory a memory index (memory 1 is unknown here);
   * in 2.0 a reserved byte that must be zero: malformed, not invalid */
  CHECK_EQ_INT(func("", I32, true, BODY("\x3f\x00\x0b")), ZH_OK);
  CHECK_EQ_INT(func("", I32, true, BODY("\x3f\x01\x0b")), ZH_ERR_INVALID);
  engine = wasm2;
  CHECK_EQ_INT(func("", I32, true, BODY("\x3f\x00\x0b")), ZH_OK);
  CHECK_EQ_INT(func("", I32, true, BODY("\x3f\x01\x0b")), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(func("", I32, true, BODY("\x3f\x80\x00\x0b")), ZH_ERR_MALFORMED);
  engine = multi;
  CHECK_EQ_INT(func("", I32, true, BODY("\x3f\x80\x00\x0b")), ZH_OK); /* a long LEB128 0 */
  /* illegal opcodes, single-byte and 0xfc-prefixed */
  CHECK_EQ_INT(func("", "", false, BODY("\x06\x0b")), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(func("", "", false, BODY("\xfc\x12\x0b")), ZH_ERR_MALFORMED);
  /* SIMD: v128.const, a truncated immediate, an illegal 0xfd opcode, lane indices */
#define V128_ZERO "\xfd\x0c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
  CHECK_EQ_INT(func("", "", false, BODY(V128_ZERO "\x1a\x0b")), ZH_OK);
  CHECK_EQ_INT(func("", "", false, BODY("\xfd\x0c\x0b")), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(func("", "", false, BODY("\x41\x00\xfd\x9a\x01\x1a\x0b")), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(func("", I32, false, BODY(V128_ZERO "\xfd\x1b\x03\x0b")), ZH_OK);
  CHECK_EQ_INT(func("", I32, false, BODY(V128_ZERO "\xfd\x1b\x04\x0b")), ZH_ERR_INVALID);
  /* v128 operands are typed: i32x4.add of an i32 and a v128 */
  CHECK_EQ_INT(func("", "", false, BODY("\x41\x00" V128_ZERO "\xfd\xae\x01\x1a\x0b")),
               ZH_ERR_INVALID);
  /* v128.load: alignment up to 16 bytes (2**4), and a memory */
  CHECK_EQ_INT(func("", "", true, BODY("\x41\x00\xfd\x00\x04\x00\x1a\x0b")), ZH_OK);
  CHECK_EQ_INT(func("", "", true, BODY("\x41\x00\xfd\x00\x05\x00\x1a\x0b")), ZH_ERR_INVALID);
  CHECK_EQ_INT(func("", "", false, BODY("\x41\x00\xfd\x00\x04\x00\x1a\x0b")), ZH_ERR_INVALID);
#undef V128_ZERO
  /* br_table: targets must agree in arity */
  CHECK_EQ_INT(func("", I32, false, BODY("\x02\x7f\x41\x01\x41\x00\x0e\x01\x00\x01\x0b\x0b")),
               ZH_OK);
  CHECK_EQ_INT(
      func("", I32, false, BODY("\x02\x40\x41\x01\x41\x00\x0e\x01\x00\x01\x0b\x41\x00\x0b")),
      ZH_ERR_INVALID);
  /* if without else must leave its type unchanged: if (result i32) i32.const 2 end */
  CHECK_EQ_INT(func("", I32, false, BODY("\x41\x01\x04\x7f\x41\x02\x0b\x0b")), ZH_ERR_INVALID);
  CHECK_EQ_INT(func("", I32, false, BODY("\x41\x01\x04\x7f\x41\x02\x05\x41\x03\x0b\x0b")), ZH_OK);
  /* untyped select rejects references; typed select needs exactly one type */
  CHECK_EQ_INT(func("", "", false, BODY("\xd0\x70\xd0\x70\x41\x00\x1b\x1a\x0b")), ZH_ERR_INVALID);
  CHECK_EQ_INT(func("", "", false, BODY("\xd0\x70\xd0\x70\x41\x00\x1c\x01\x70\x1a\x0b")), ZH_OK);
  CHECK_EQ_INT(func("", "", false, BODY("\x41\x00\x41\x00\x41\x00\x1c\x02\x7f\x7f\x1a\x0b")),
               ZH_ERR_INVALID);
  /* ref.func needs a declared function */
  CHECK_EQ_INT(func("", "", false, BODY("\xd2\x00\x1a\x0b")), ZH_ERR_INVALID);
  /* structure: a missing inner end, else outside if, code after the final end */
  CHECK_EQ_INT(func("", "", false, BODY("\x02\x40\x0b")), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(func("", "", false, BODY("\x05\x0b")), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(func("", "", false, BODY("\x0b\x01\x0b")), ZH_ERR_MALFORMED);
  /* a malformed instruction after an invalid one still makes the module malformed */
  CHECK_EQ_INT(func("", "", false, BODY("\x20\x05\x1a\x06\x0b")), ZH_ERR_MALFORMED);
  /* LEB128 immediates: too long, and too large */
  CHECK_EQ_INT(func("", "", false, BODY("\x41\x80\x80\x80\x80\x80\x00\x1a\x0b")), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(func("", "", false, BODY("\x41\x80\x80\x80\x80\x70\x1a\x0b")), ZH_ERR_MALFORMED);
}

static void test_message(void) {
  char msg[256];
  parts p = {"", I32, (const uint8_t *)"\x42\x00\x0b", 3, NULL, 0, NULL, 0, NULL, 0, false};
  CHECK_EQ_INT(build(&p, msg, sizeof msg), ZH_ERR_INVALID);
  CHECK(strstr(msg, "test: function 0 at offset 0x") == msg);
  CHECK(strstr(msg, "type mismatch") != NULL);
  CHECK(strstr(msg, "(in end)") != NULL);
}

/* Hostile nesting must neither recurse nor take quadratic time. */
static void test_deep_nesting(void) {
  enum { DEPTH = 200000 };
  zh_test_buf b = {0};
  for (int i = 0; i < DEPTH; i++)
    zh_test_put(&b, "\x02\x40", 2);
  for (int i = 0; i < DEPTH; i++)
    zh_test_put_byte(&b, 0x0b);
  zh_test_put_byte(&b, 0x0b);
  parts p = {"", "", b.b, b.n, NULL, 0, NULL, 0, NULL, 0, false};
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_OK);
  /* and a br_table over all of them */
  b.n = 0;
  for (int i = 0; i < DEPTH; i++)
    zh_test_put(&b, "\x02\x40", 2);
  zh_test_put(&b, "\x41\x00\x0e", 3);
  zh_test_put_u32(&b, DEPTH);
  for (uint32_t i = 0; i <= DEPTH; i++)
    zh_test_put_u32(&b, i);
  for (int i = 0; i <= DEPTH; i++)
    zh_test_put_byte(&b, 0x0b);
  p.body = b.b;
  p.body_len = b.n;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_OK);
  free(b.b);
}

static void test_module_level(void) {
  const uint8_t *end = (const uint8_t *)"\x0b";
  parts p = {"", "", end, 1, NULL, 0, NULL, 0, NULL, 0, false};
  /* memories: two of them (valid with multi-memory, not in 2.0), min > max, above 65536
   * pages */
  p.memory = "\x02\x00\x01\x00\x01";
  p.memory_len = 5;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_OK);
  engine = wasm2;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_ERR_INVALID);
  /* ... which does not hide a malformed body */
  p.body = (const uint8_t *)"\x06\x0b";
  p.body_len = 2;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_ERR_MALFORMED);
  engine = multi;
  p.body = end;
  p.body_len = 1;
  p.memory = "\x01\x01\x02\x01";
  p.memory_len = 4;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_ERR_INVALID);
  p.memory = "\x01\x00\x81\x80\x04";
  p.memory_len = 5;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_ERR_INVALID);
  p.memory_len = 0;
  /* duplicate export names */
  p.exports = "\x02\x01"
              "a\x00\x00\x01"
              "a\x00\x00";
  p.exports_len = 9;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_ERR_INVALID);
  p.exports = "\x02\x01"
              "a\x00\x00\x01"
              "b\x00\x00";
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_OK);
  /* exporting a function declares it for ref.func */
  p.body = (const uint8_t *)"\xd2\x00\x1a\x0b";
  p.body_len = 4;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_OK);
  p.exports_len = 0;
  p.body = end;
  p.body_len = 1;
  /* globals: initializer type, and global.set needs a mutable global */
  p.global = "\x01\x7f\x00\x42\x00\x0b"; /* (global i32 (i64.const 0)) */
  p.global_len = 6;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_ERR_INVALID);
  p.global = "\x01\x7f\x00\x41\x00\x0b"; /* (global i32 (i32.const 0)) */
  p.body = (const uint8_t *)"\x41\x01\x24\x00\x0b";
  p.body_len = 5;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_ERR_INVALID);
  p.global = "\x01\x7f\x01\x41\x00\x0b"; /* (global (mut i32) (i32.const 0)) */
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_OK);
  p.global_len = 0;
  p.body = end;
  p.body_len = 1;
  /* the start function must be [] -> [] */
  p.start = true;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_OK);
  p.params = I32;
  CHECK_EQ_INT(build(&p, NULL, 0), ZH_ERR_INVALID);
}

int main(void) {
  zh_engine_config cfg = {.single_memory = true};
  zh_error *err = zh_engine_new(NULL, &multi);
  if (!err)
    err = zh_engine_new(&cfg, &wasm2);
  CHECK(err == NULL);
  if (err) {
    zh_error_free(err);
    zh_engine_free(multi);
    TEST_SUMMARY();
  }
  engine = multi;
  test_bodies();
  test_message();
  test_deep_nesting();
  test_module_level();
  zh_engine_free(multi);
  zh_engine_free(wasm2);
  TEST_SUMMARY();
}
