/* Decoder tests: the byte reader (LEB128, names) and zh_module_new on hand-built binaries,
 * each asserting the exact zh_status, plus the public import/export/custom accessors. */
#include "testlib.h"
#include "wasm/module.h"
#include "wasm/reader.h"
#include "zerohop/engine.h"

#include <stdint.h>

#define HDR 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00
#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static zh_engine *engine;

/* Loads through the public API and returns the status; the message must name the place. */
static zh_status load(const uint8_t *bytes, size_t len) {
  zh_module *m = NULL;
  zh_error *err = zh_module_new(engine, bytes, len, "t.wasm", &m);
  zh_status st = zh_error_status(err);
  if (err) {
    CHECK(m == NULL);
    CHECK(strncmp(zh_error_message(err), "t.wasm: ", 8) == 0);
  } else {
    CHECK(m != NULL);
  }
  zh_error_free(err);
  zh_module_free(m);
  return st;
}

#define STATUS(...) load(BYTES(__VA_ARGS__))

/* The message of a failed load, for checks on its wording. */
static void load_message(const uint8_t *bytes, size_t len, char *out, size_t cap) {
  zh_module *m = NULL;
  zh_error *err = zh_module_new(engine, bytes, len, NULL, &m);
  snprintf(out, cap, "%s", err ? zh_error_message(err) : "");
  zh_error_free(err);
  zh_module_free(m);
}

/* ---- reader ---- */

static bool u32_of(const uint8_t *b, size_t n, uint32_t *v, const char **err) {
  zh_reader r;
  zh_reader_init(&r, b, n);
  bool ok = zh_read_u32(&r, v);
  *err = r.err;
  if (ok)
    CHECK(zh_reader_eof(&r));
  else
    CHECK(zh_reader_offset(&r) == 0); /* a failed read consumes nothing */
  return ok;
}

static void test_leb_u32(void) {
  uint32_t v = 0;
  const char *err;
  CHECK(u32_of(BYTES(0x00), &v, &err) && v == 0);
  CHECK(u32_of(BYTES(0x7f), &v, &err) && v == 127);
  CHECK(u32_of(BYTES(0x80, 0x01), &v, &err) && v == 128);
  CHECK(u32_of(BYTES(0x80, 0x00), &v, &err) && v == 0);                   /* padded */
  CHECK(u32_of(BYTES(0x80, 0x80, 0x80, 0x80, 0x00), &v, &err) && v == 0); /* 5 bytes */
  CHECK(u32_of(BYTES(0xff, 0xff, 0xff, 0xff, 0x0f), &v, &err) && v == UINT32_MAX);
  CHECK(!u32_of(BYTES(0x80, 0x80, 0x80, 0x80, 0x80, 0x00), &v, &err));
  CHECK(err && strcmp(err, "integer representation too long") == 0);
  CHECK(!u32_of(BYTES(0x80, 0x80, 0x80, 0x80, 0x10), &v, &err));
  CHECK(err && strcmp(err, "integer too large") == 0);
  CHECK(!u32_of(BYTES(0xff, 0xff, 0xff, 0xff, 0x7f), &v, &err));
  CHECK(err && strcmp(err, "integer too large") == 0);
  CHECK(!u32_of(BYTES(0x80, 0x80), &v, &err));
  CHECK(err && strcmp(err, "unexpected end") == 0);
  CHECK(!u32_of(NULL, 0, &v, &err));
}

static bool sleb_of(unsigned bits, const uint8_t *b, size_t n, int64_t *v, const char **err) {
  zh_reader r;
  zh_reader_init(&r, b, n);
  bool ok = zh_read_sleb(&r, bits, v);
  *err = r.err;
  if (ok)
    CHECK(zh_reader_eof(&r));
  return ok;
}

static void test_leb_signed(void) {
  int64_t v = 0;
  const char *err;
  CHECK(sleb_of(32, BYTES(0x7f), &v, &err) && v == -1);
  CHECK(sleb_of(32, BYTES(0x3f), &v, &err) && v == 63);
  CHECK(sleb_of(32, BYTES(0x40), &v, &err) && v == -64);
  CHECK(sleb_of(32, BYTES(0xff, 0x7f), &v, &err) && v == -1); /* padded */
  CHECK(sleb_of(32, BYTES(0xff, 0xff, 0xff, 0xff, 0x7f), &v, &err) && v == -1);
  CHECK(sleb_of(32, BYTES(0x80, 0x80, 0x80, 0x80, 0x78), &v, &err) && v == INT32_MIN);
  CHECK(sleb_of(32, BYTES(0xff, 0xff, 0xff, 0xff, 0x07), &v, &err) && v == INT32_MAX);
  CHECK(!sleb_of(32, BYTES(0x80, 0x80, 0x80, 0x80, 0x70), &v, &err));
  CHECK(err && strcmp(err, "integer too large") == 0);
  CHECK(!sleb_of(32, BYTES(0xff, 0xff, 0xff, 0xff, 0x0f), &v, &err));
  CHECK(err && strcmp(err, "integer too large") == 0);
  CHECK(!sleb_of(32, BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), &v, &err));
  CHECK(err && strcmp(err, "integer representation too long") == 0);

  /* s33, as block types use it: the full u32 range of type indices is representable. */
  CHECK(sleb_of(33, BYTES(0xff, 0xff, 0xff, 0xff, 0x0f), &v, &err) && v == UINT32_MAX);
  CHECK(sleb_of(33, BYTES(0x40), &v, &err) && v == -64);
  CHECK(!sleb_of(33, BYTES(0x80, 0x80, 0x80, 0x80, 0x40), &v, &err));
  CHECK(err && strcmp(err, "integer too large") == 0);

  CHECK(sleb_of(64, BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), &v, &err) &&
        v == -1);
  CHECK(sleb_of(64, BYTES(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f), &v, &err) &&
        v == INT64_MIN);
  CHECK(sleb_of(64, BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00), &v, &err) &&
        v == INT64_MAX);
  CHECK(!sleb_of(64, BYTES(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), &v, &err));
  CHECK(err && strcmp(err, "integer too large") == 0);
  CHECK(!sleb_of(64, BYTES(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), &v,
                 &err));
  CHECK(err && strcmp(err, "integer representation too long") == 0);

  zh_reader r;
  uint64_t u = 0;
  zh_reader_init(&r, BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
  CHECK(zh_read_u64(&r, &u) && u == UINT64_MAX);
  zh_reader_init(&r, BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02));
  CHECK(!zh_read_u64(&r, &u) && strcmp(r.err, "integer too large") == 0);
}

static void test_names_and_counts(void) {
  zh_reader r;
  const uint8_t *p;
  uint32_t n;
  zh_reader_init(&r, BYTES(0x03, 'a', 0xc3, 0xa9));
  CHECK(zh_read_name(&r, &p, &n) && n == 3 && p[0] == 'a');
  zh_reader_init(&r, BYTES(0x04, 0xf0, 0x9f, 0x98, 0x80)); /* U+1F600 */
  CHECK(zh_read_name(&r, &p, &n) && n == 4);
  zh_reader_init(&r, BYTES(0x05, 'a'));
  CHECK(!zh_read_name(&r, &p, &n) && strcmp(r.err, "length out of bounds") == 0);

  // clang-format off
  static const uint8_t bad[][5] = {
      {2, 0xc0, 0x80},             /* overlong NUL */
      {3, 0xe0, 0x80, 0x80},       /* overlong */
      {3, 0xed, 0xa0, 0x80},       /* surrogate U+D800 */
      {4, 0xf4, 0x90, 0x80, 0x80}, /* above U+10FFFF */
      {2, 0xe2, 0x82},             /* truncated sequence */
      {1, 0x80},                   /* lone continuation byte */
      {1, 0xf8},                   /* no such lead byte */
      {2, 0xc3, 0x41},             /* continuation missing */
  };
  // clang-format on
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    zh_reader_init(&r, bad[i], (size_t)bad[i][0] + 1);
    CHECK(!zh_read_name(&r, &p, &n));
    CHECK(r.err && strcmp(r.err, "malformed UTF-8 encoding") == 0);
  }

  zh_reader_init(&r, BYTES(0x03, 0x7f, 0x7f));
  CHECK(!zh_read_count(&r, &n) && strcmp(r.err, "length out of bounds") == 0);
  zh_reader_init(&r, BYTES(0x02, 0x7f, 0x7f));
  CHECK(zh_read_count(&r, &n) && n == 2);

  uint8_t t;
  zh_reader_init(&r, BYTES(0x7b, 0x40, 0xe0));
  CHECK(zh_read_valtype(&r, &t) && t == ZH_V128);
  CHECK(!zh_read_valtype(&r, &t) && strcmp(r.err, "malformed value type") == 0);
  r.p++;
  CHECK(!zh_read_valtype(&r, &t) && strcmp(r.err, "integer representation too long") == 0);
}

/* ---- header and sections ---- */

static void test_header(void) {
  CHECK_EQ_INT(STATUS(HDR), ZH_OK);
  CHECK_EQ_INT(load(NULL, 0), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(0x00, 0x61, 0x73), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(0x00, 0x61, 0x73, 0x6d, 0x01), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(0x00, 0x41, 0x53, 0x4d, 0x01, 0x00, 0x00, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(0xef, 0xbb, 0xbf, 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00),
               ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(0x00, 0x61, 0x73, 0x6d, 0x00, 0x00, 0x00, 0x01), ZH_ERR_MALFORMED);

  char msg[256];
  load_message(BYTES(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x00, 0x00), msg, sizeof msg);
  CHECK(strcmp(msg, "module: header at offset 0x4: unknown binary version") == 0);
  load_message(BYTES(0x01, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00), msg, sizeof msg);
  CHECK(strcmp(msg, "module: header at offset 0x0: magic header not detected") == 0);

  zh_module *m = (zh_module *)1;
  zh_error *err = zh_module_new(NULL, BYTES(HDR), "x", &m);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_USAGE);
  CHECK(m == NULL);
  zh_error_free(err);
}

static void test_section_leb(void) {
  /* An empty type section whose size is padded to the full five bytes. */
  CHECK_EQ_INT(STATUS(HDR, 0x01, 0x81, 0x80, 0x80, 0x80, 0x00, 0x00), ZH_OK);
  /* Six bytes: too long. */
  CHECK_EQ_INT(STATUS(HDR, 0x01, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00), ZH_ERR_MALFORMED);
  /* Fifth byte with bits beyond 32. */
  CHECK_EQ_INT(STATUS(HDR, 0x01, 0x81, 0x80, 0x80, 0x80, 0x10, 0x00), ZH_ERR_MALFORMED);
  /* A padded vector count inside a section. */
  CHECK_EQ_INT(STATUS(HDR, 0x01, 0x05, 0x81, 0x00, 0x60, 0x00, 0x00), ZH_OK);
  /* Padded i32.const and i64.const immediates in a global initializer. */
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x0a, 0x01, 0x7f, 0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x0b),
               ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x0a, 0x01, 0x7f, 0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, 0x0b),
               ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x0f, 0x01, 0x7e, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                      0x80, 0x80, 0x80, 0x7f, 0x0b),
               ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x0f, 0x01, 0x7e, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                      0x80, 0x80, 0x80, 0x02, 0x0b),
               ZH_ERR_MALFORMED);
  /* Memory limits with a padded minimum; limits flags are a single byte. */
  CHECK_EQ_INT(STATUS(HDR, 0x05, 0x04, 0x01, 0x00, 0x81, 0x00), ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, 0x05, 0x05, 0x01, 0x81, 0x00, 0x00, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x05, 0x03, 0x01, 0x02, 0x00), ZH_ERR_MALFORMED);
}

#define TYPE_SEC 0x01, 0x04, 0x01, 0x60, 0x00, 0x00 /* one type: [] -> [] */
#define FUNC_SEC 0x03, 0x02, 0x01, 0x00             /* one function of type 0 */
#define CODE_SEC 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b /* its body: no locals, end */

static void test_section_order(void) {
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, CODE_SEC), ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, FUNC_SEC, TYPE_SEC, CODE_SEC), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, TYPE_SEC), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, CODE_SEC, CODE_SEC), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x08, 0x01, 0x00, 0x08, 0x01, 0x00), ZH_ERR_MALFORMED);
  /* Data count goes between element and code, not after code. */
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x0c, 0x01, 0x00, CODE_SEC), ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, CODE_SEC, 0x0c, 0x01, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x0b, 0x01, 0x00, 0x0c, 0x01, 0x00), ZH_ERR_MALFORMED);
  /* Custom sections go anywhere, any number of times. */
  CHECK_EQ_INT(STATUS(HDR, 0x00, 0x02, 0x01, 'a', TYPE_SEC, 0x00, 0x01, 0x00, FUNC_SEC, 0x00, 0x02,
                      0x01, 'a', CODE_SEC, 0x00, 0x01, 0x00),
               ZH_OK);
  /* Unknown section ids. */
  CHECK_EQ_INT(STATUS(HDR, 0x0d, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x7f, 0x00), ZH_ERR_MALFORMED);

  char msg[256];
  load_message(BYTES(HDR, TYPE_SEC, TYPE_SEC), msg, sizeof msg);
  CHECK(strcmp(msg, "module: section type at offset 0xe: unexpected content after last section") ==
        0);
}

static void test_section_sizes(void) {
  /* Size too small: the type's result vector runs past the section. */
  CHECK_EQ_INT(STATUS(HDR, 0x01, 0x03, 0x01, 0x60, 0x00, 0x00), ZH_ERR_MALFORMED);
  /* Size too large: a stray byte left in the section. */
  CHECK_EQ_INT(STATUS(HDR, 0x01, 0x05, 0x01, 0x60, 0x00, 0x00, 0x00), ZH_ERR_MALFORMED);
  /* Size beyond the end of the file. */
  CHECK_EQ_INT(STATUS(HDR, 0x01, 0x07, 0x01, 0x60, 0x00, 0x00), ZH_ERR_MALFORMED);
  /* One global declared, two given. */
  CHECK_EQ_INT(
      STATUS(HDR, 0x06, 0x0b, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x0b, 0x7f, 0x00, 0x41, 0x00, 0x0b),
      ZH_ERR_MALFORMED);
  /* A body size past its section. */
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x0a, 0x04, 0x01, 0x03, 0x00, 0x0b),
               ZH_ERR_MALFORMED);
  /* A vector count larger than the bytes left. */
  CHECK_EQ_INT(STATUS(HDR, 0x01, 0x02, 0x7f, 0x60), ZH_ERR_MALFORMED);

  char msg[256];
  load_message(BYTES(HDR, 0x01, 0x05, 0x01, 0x60, 0x00, 0x00, 0x00), msg, sizeof msg);
  CHECK(strcmp(msg, "module: section type at offset 0xe: section size mismatch") == 0);
}

static void test_counts_agree(void) {
  /* Function without body, body without function, two functions with one body. */
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, CODE_SEC), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, 0x03, 0x03, 0x02, 0x00, 0x00, CODE_SEC), ZH_ERR_MALFORMED);
  /* Data count 1 with no data section, with two segments, with one segment. */
  CHECK_EQ_INT(STATUS(HDR, 0x05, 0x03, 0x01, 0x00, 0x01, 0x0c, 0x01, 0x01), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x05, 0x03, 0x01, 0x00, 0x01, 0x0c, 0x01, 0x01, 0x0b, 0x05, 0x02, 0x01,
                      0x00, 0x01, 0x00),
               ZH_ERR_MALFORMED);
  CHECK_EQ_INT(
      STATUS(HDR, 0x05, 0x03, 0x01, 0x00, 0x01, 0x0c, 0x01, 0x01, 0x0b, 0x03, 0x01, 0x01, 0x00),
      ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, 0x0c, 0x01, 0x00), ZH_OK);
}

static void test_bodies(void) {
  /* Locals: two groups; a count overflowing u32; more than the per-function cap. */
  CHECK_EQ_INT(
      STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x0a, 0x08, 0x01, 0x06, 0x02, 0x01, 0x7f, 0x02, 0x7e, 0x0b),
      ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x0a, 0x0c, 0x01, 0x0a, 0x02, 0xff, 0xff, 0xff, 0xff,
                      0x0f, 0x7f, 0x02, 0x7e, 0x0b),
               ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x0a, 0x08, 0x01, 0x06, 0x01, 0x80, 0x80, 0x04, 0x7f,
                      0x0b), /* 65536 locals */
               ZH_ERR_MALFORMED);
  /* A malformed local type. */
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x0a, 0x06, 0x01, 0x04, 0x01, 0x01, 0x40, 0x0b),
               ZH_ERR_MALFORMED);
  /* A body that does not end with `end`, and an empty one. */
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x0a, 0x05, 0x01, 0x03, 0x00, 0x01, 0x01),
               ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x0a, 0x03, 0x01, 0x01, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x0a, 0x02, 0x01, 0x00), ZH_ERR_MALFORMED);
}

static void test_const_exprs(void) {
  /* (global i32 <expr>) for various expressions. */
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x04, 0x01, 0x7f, 0x00, 0x0b), ZH_ERR_INVALID); /* empty */
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x08, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x41, 0x01, 0x0b),
               ZH_ERR_INVALID); /* two values */
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x07, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x6a, 0x0b),
               ZH_ERR_INVALID); /* i32.add: not constant in 2.0 */
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x05, 0x01, 0x7f, 0x00, 0x01, 0x0b), ZH_ERR_INVALID); /* nop */
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x05, 0x01, 0x7f, 0x00, 0xf3, 0x0b), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x07, 0x01, 0x7f, 0x00, 0xfc, 0x7f, 0x00, 0x0b), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x06, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x0b), ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x05, 0x01, 0x7f, 0x00, 0x41, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x06, 0x01, 0x6f, 0x00, 0xd0, 0x6f, 0x0b), ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x06, 0x01, 0x6f, 0x00, 0xd0, 0x7f, 0x0b), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x0d, 0x01, 0x7c, 0x01, 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x0b),
               ZH_OK);
  /* Mutability must be 0 or 1. */
  CHECK_EQ_INT(STATUS(HDR, 0x06, 0x06, 0x01, 0x7f, 0x02, 0x41, 0x00, 0x0b), ZH_ERR_MALFORMED);
}

/* Every element segment encoding: flags 0..7, with funcref items as indices or as
 * expressions, into a table of two functions. */
static void test_elem_segments(void) {
  // clang-format off
  static const uint8_t mod[] = {
      HDR,
      TYPE_SEC,
      0x03, 0x03, 0x02, 0x00, 0x00,             /* two functions */
      0x04, 0x04, 0x01, 0x70, 0x00, 0x04,       /* table funcref min 4 */
      0x09, 0x38, 0x08,                         /* element section: 8 segments */
      0x00, 0x41, 0x00, 0x0b, 0x01, 0x00,       /* 0: active, offset 0, [0] */
      0x01, 0x00, 0x01, 0x01,                   /* 1: passive funcs [1] */
      0x02, 0x00, 0x41, 0x01, 0x0b, 0x00, 0x01, 0x00, /* 2: table 0, offset 1, funcs [0] */
      0x03, 0x00, 0x01, 0x01,                   /* 3: declarative funcs [1] */
      0x04, 0x41, 0x02, 0x0b, 0x02, 0xd2, 0x00, 0x0b, 0xd0, 0x70, 0x0b, /* 4: exprs */
      0x05, 0x70, 0x01, 0xd2, 0x01, 0x0b,       /* 5: passive exprs */
      0x06, 0x00, 0x41, 0x00, 0x0b, 0x70, 0x01, 0xd0, 0x70, 0x0b, /* 6: table 0, exprs */
      0x07, 0x70, 0x01, 0xd2, 0x00, 0x0b,       /* 7: declarative exprs */
      0x0a, 0x07, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b,
  };
  // clang-format on
  CHECK_EQ_INT(load(mod, sizeof mod), ZH_OK);

  /* The same through the decoder alone, to see what it recorded. */
  zh_module m;
  memset(&m, 0, sizeof m);
  m.engine = engine;
  m.bytes = (uint8_t *)mod;
  m.len = sizeof mod;
  zh_error *err = zh_decode(&m);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!err) {
    CHECK_EQ_INT(m.nelems, 8);
    static const zh_segment_mode modes[8] = {
        ZH_SEG_ACTIVE, ZH_SEG_PASSIVE, ZH_SEG_ACTIVE, ZH_SEG_DECLARATIVE,
        ZH_SEG_ACTIVE, ZH_SEG_PASSIVE, ZH_SEG_ACTIVE, ZH_SEG_DECLARATIVE,
    };
    for (int i = 0; i < 8; i++) {
      CHECK_EQ_INT(m.elems[i].mode, modes[i]);
      CHECK_EQ_INT(m.elems[i].type, ZH_FUNCREF);
    }
    CHECK_EQ_INT(m.elems[2].offset.bits, 1);
    CHECK_EQ_INT(m.elems[4].count, 2);
    CHECK_EQ_INT(m.elems[4].items[0].kind, ZH_CONST_REF_FUNC);
    CHECK_EQ_INT(m.elems[4].items[1].kind, ZH_CONST_REF_NULL);
    CHECK_EQ_INT(m.elems[1].items[0].index, 1);
    CHECK_EQ_INT(m.declared_funcs[0], 3); /* both functions are referenced */
  }
  zh_module_release(&m);

  /* Flags 8, an element kind other than 0x00, a non-reference element type. */
  CHECK_EQ_INT(STATUS(HDR, 0x09, 0x03, 0x01, 0x08, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x09, 0x04, 0x01, 0x01, 0x01, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x09, 0x04, 0x01, 0x05, 0x7f, 0x00), ZH_ERR_MALFORMED);
}

static void test_data_segments(void) {
  CHECK_EQ_INT(STATUS(HDR, 0x05, 0x03, 0x01, 0x00, 0x01,        /* memory min 1 */
                      0x0b, 0x12, 0x03,                         /* three segments */
                      0x00, 0x41, 0x00, 0x0b, 0x02, 'h', 'i',   /* active */
                      0x01, 0x01, '!',                          /* passive */
                      0x02, 0x00, 0x41, 0x08, 0x0b, 0x01, '?'), /* memory 0 */
               ZH_OK);
  CHECK_EQ_INT(STATUS(HDR, 0x05, 0x03, 0x01, 0x00, 0x01, 0x0b, 0x03, 0x01, 0x03, 0x00),
               ZH_ERR_MALFORMED);
  /* Seven bytes declared, six given. */
  CHECK_EQ_INT(STATUS(HDR, 0x05, 0x03, 0x01, 0x00, 0x01, 0x0b, 0x0c, 0x01, 0x00, 0x41, 0x03, 0x0b,
                      0x07, 'a', 'b', 'c', 'd', 'e', 'f'),
               ZH_ERR_MALFORMED);
}

static void test_imports_exports(void) {
  // clang-format off
  static const uint8_t mod[] = {
      HDR,
      0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7e, 0x01, 0x7d, /* (i32 i64) -> f32 */
      0x02, 0x20, 0x04,                                     /* four imports */
      0x01, 'm', 0x01, 'f', 0x00, 0x00,                     /* func type 0 */
      0x01, 'm', 0x01, 't', 0x01, 0x6f, 0x01, 0x02, 0x05,   /* table externref 2..5 */
      0x01, 'm', 0x03, 'm', 'e', 'm', 0x02, 0x00, 0x01,     /* memory 1.. */
      0x01, 'm', 0x01, 'g', 0x03, 0x7e, 0x01,               /* global (mut i64) */
      0x07, 0x09, 0x02, 0x01, 'a', 0x00, 0x00, 0x01, 'b', 0x03, 0x00,
  };
  // clang-format on
  zh_module *m = NULL;
  zh_error *err = zh_module_new(engine, mod, sizeof mod, "imports", &m);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!m)
    return;
  CHECK_EQ_INT(zh_module_import_count(m), 4);
  zh_import_info ii;
  zh_module_import(m, 0, &ii);
  CHECK(strcmp(ii.module, "m") == 0 && strcmp(ii.name, "f") == 0);
  CHECK_EQ_INT(ii.kind, ZH_EXTERN_FUNC);
  CHECK_EQ_INT(ii.func.nparams, 2);
  CHECK_EQ_INT(ii.func.nresults, 1);
  CHECK_EQ_INT(ii.func.params[0], ZH_I32);
  CHECK_EQ_INT(ii.func.params[1], ZH_I64);
  CHECK_EQ_INT(ii.func.results[0], ZH_F32);
  zh_module_import(m, 1, &ii);
  CHECK_EQ_INT(ii.kind, ZH_EXTERN_TABLE);
  CHECK_EQ_INT(ii.elem, ZH_EXTERNREF);
  CHECK(ii.limits.min == 2 && ii.limits.has_max && ii.limits.max == 5);
  zh_module_import(m, 2, &ii);
  CHECK(ii.kind == ZH_EXTERN_MEMORY && strcmp(ii.name, "mem") == 0);
  CHECK(ii.limits.min == 1 && !ii.limits.has_max);
  zh_module_import(m, 3, &ii);
  CHECK(ii.kind == ZH_EXTERN_GLOBAL && ii.global == ZH_I64 && ii.global_mutable);
  zh_module_import(m, 4, &ii); /* out of range: zeroed */
  CHECK(ii.module == NULL && ii.name == NULL);

  CHECK_EQ_INT(zh_module_export_count(m), 2);
  zh_export_info ei;
  zh_module_export(m, 0, &ei);
  CHECK(strcmp(ei.name, "a") == 0 && ei.kind == ZH_EXTERN_FUNC && ei.index == 0);
  zh_module_export(m, 1, &ei);
  CHECK(strcmp(ei.name, "b") == 0 && ei.kind == ZH_EXTERN_GLOBAL && ei.index == 0);
  zh_module_free(m);

  /* Import kind 4 and 0x80, export kind 4. */
  CHECK_EQ_INT(STATUS(HDR, 0x02, 0x05, 0x01, 0x00, 0x00, 0x04, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x02, 0x05, 0x01, 0x00, 0x00, 0x80, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x07, 0x04, 0x01, 0x00, 0x04, 0x00), ZH_ERR_MALFORMED);
}

static void test_bad_utf8_names(void) {
  /* Custom section name, import module, import field, export name: all must be UTF-8. */
  CHECK_EQ_INT(STATUS(HDR, 0x00, 0x03, 0x02, 0xc0, 0x80), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, 0x02, 0x07, 0x01, 0x02, 0xed, 0xa0, 0x00, 0x00, 0x00),
               ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, 0x02, 0x07, 0x01, 0x00, 0x02, 0xc3, 0x41, 0x00, 0x00),
               ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x07, 0x05, 0x01, 0x01, 0xff, 0x00, 0x00, CODE_SEC),
               ZH_ERR_MALFORMED);
  /* The same shapes with valid UTF-8 load. */
  CHECK_EQ_INT(
      STATUS(HDR, TYPE_SEC, FUNC_SEC, 0x07, 0x06, 0x01, 0x02, 0xc3, 0xa9, 0x00, 0x00, CODE_SEC),
      ZH_OK);
}

static void test_customs(void) {
  // clang-format off
  static const uint8_t mod[] = {
      HDR,
      0x00, 0x08, 0x04, 'm', 'e', 't', 'a', 1, 2, 3, /* "meta": 01 02 03 */
      TYPE_SEC,
      0x00, 0x05, 0x04, 'e', 'm', 'p', 't',          /* "empt": empty payload */
      0x00, 0x06, 0x03, 'a', 0x00, 'b', 0xaa, 0xbb,  /* "a\0b": NUL inside the name */
      0x00, 0x06, 0x04, 'm', 'e', 't', 'a', 9,       /* a second "meta" */
  };
  // clang-format on
  zh_module *m = NULL;
  zh_error *err = zh_module_new(engine, mod, sizeof mod, NULL, &m);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!m)
    return;
  CHECK_EQ_INT(zh_module_custom_count(m), 4);
  const char *name;
  const uint8_t *data;
  size_t len;
  zh_module_custom(m, 0, &name, &data, &len);
  CHECK(strcmp(name, "meta") == 0 && len == 3 && data[0] == 1 && data[2] == 3);
  zh_module_custom(m, 1, &name, &data, &len);
  CHECK(strcmp(name, "empt") == 0 && len == 0);
  zh_module_custom(m, 3, &name, &data, &len);
  CHECK(strcmp(name, "meta") == 0 && len == 1 && data[0] == 9);
  zh_module_custom(m, 4, &name, &data, &len);
  CHECK(name == NULL && data == NULL && len == 0);
  CHECK(zh_module_custom_find(m, "meta", &data, &len) && len == 3 && data[1] == 2); /* first */
  CHECK(zh_module_custom_find(m, "empt", &data, &len) && len == 0);
  CHECK(!zh_module_custom_find(m, "a", &data, &len)); /* "a\0b" is not "a" */
  CHECK(!zh_module_custom_find(m, "nope", &data, &len));
  zh_module_free(m);

  /* Custom sections whose name does not fit. */
  CHECK_EQ_INT(STATUS(HDR, 0x00, 0x00), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x00, 0x02, 0x05, 'a'), ZH_ERR_MALFORMED);
  CHECK_EQ_INT(STATUS(HDR, 0x00), ZH_ERR_MALFORMED);
}

static void test_name_section(void) {
  // clang-format off
  static const uint8_t mod[] = {
      HDR,
      TYPE_SEC,
      0x03, 0x03, 0x02, 0x00, 0x00,
      0x0a, 0x07, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b,
      0x00, 0x16, 0x04, 'n', 'a', 'm', 'e',
      0x00, 0x02, 0x01, 'M',               /* module name: ignored */
      0x01, 0x0b, 0x03,                    /* three function names */
      0x01, 0x02, 'f', '1',                /* 1: "f1" */
      0x07, 0x01, 'x',                     /* 7: out of range, ignored */
      0x00, 0x01, 0xff,                    /* 0: bad UTF-8 ends the parse, quietly */
  };
  // clang-format on
  CHECK_EQ_INT(load(mod, sizeof mod), ZH_OK);
  zh_module m;
  memset(&m, 0, sizeof m);
  m.engine = engine;
  m.bytes = (uint8_t *)mod;
  m.len = sizeof mod;
  zh_error *err = zh_decode(&m);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK(m.func_names != NULL);
  if (m.func_names) {
    CHECK(m.func_names[0] == NULL);
    CHECK(m.func_names[1] && strcmp(m.func_names[1], "f1") == 0);
  }
  CHECK_EQ_INT(m.nbodies, 2);
  CHECK(m.types[0].id != UINT32_MAX); /* interned */
  zh_module_release(&m);
  CHECK(m.types == NULL && m.bytes == mod);

  /* A truncated name section never fails the module. */
  static const uint8_t trunc[] = {HDR, 0x00, 0x08, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x7f, 0x05};
  CHECK_EQ_INT(load(trunc, sizeof trunc), ZH_OK);
}

/* Every strict prefix of a module either fails as malformed or, cut exactly at a section
 * boundary that leaves a complete module, loads. Nothing may crash or over-read (run
 * under AddressSanitizer to see the latter). */
static void test_truncation(void) {
  // clang-format off
  static const uint8_t mod[] = {
      HDR,
      0x00, 0x05, 0x04, 'm', 'e', 't', 'a',                        /* custom, ends at 15 */
      0x01, 0x08, 0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x00,  /* type, ends at 25 */
      0x02, 0x07, 0x01, 0x01, 'h', 0x01, 'p', 0x00, 0x00,          /* import, ends at 34 */
      0x03, 0x02, 0x01, 0x01,                                      /* function */
      0x05, 0x03, 0x01, 0x00, 0x01,                                /* memory */
      0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x2a, 0x0b,              /* global */
      0x07, 0x09, 0x02, 0x01, 'r', 0x00, 0x01, 0x01, 'm', 0x02, 0x00, /* export */
      0x0c, 0x01, 0x01,                                            /* data count */
      0x0a, 0x0a, 0x01, 0x08, 0x01, 0x01, 0x7f, 0x41, 0x00, 0x10, 0x00, 0x0b, /* code */
      0x0b, 0x08, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x02, 'o', 'k',    /* data, ends at 87 */
      0x00, 0x03, 0x02, 'z', 'z',                                  /* custom, ends at 92 */
  };
  // clang-format on
  CHECK_EQ_INT(sizeof mod, 92);
  CHECK_EQ_INT(load(mod, sizeof mod), ZH_OK);
  for (size_t cut = 0; cut < sizeof mod; cut++) {
    /* Copied to an exact-size buffer so that ASan catches any read past the cut. */
    uint8_t *copy = malloc(cut ? cut : 1);
    memcpy(copy, mod, cut);
    bool whole = cut == 8 || cut == 15 || cut == 25 || cut == 34 || cut == 87;
    zh_status st = load(copy, cut);
    if (st != (whole ? ZH_OK : ZH_ERR_MALFORMED)) {
      fprintf(stderr, "prefix of %zu bytes: status %d\n", cut, (int)st);
      CHECK(false);
    } else {
      CHECK(true);
    }
    free(copy);
  }
}

static void test_v128_type(void) {
  /* v128 decodes as a value type: (v128) -> (v128), and a v128.const global. */
  // clang-format off
  static const uint8_t mod[] = {
      HDR,
      0x01, 0x06, 0x01, 0x60, 0x01, 0x7b, 0x01, 0x7b,
      0x06, 0x16, 0x01, 0x7b, 0x00, 0xfd, 0x0c,
      1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x0b,
  };
  // clang-format on
  zh_module m;
  memset(&m, 0, sizeof m);
  m.engine = engine;
  m.bytes = (uint8_t *)mod;
  m.len = sizeof mod;
  zh_error *err = zh_decode(&m);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!err) {
    CHECK_EQ_INT(m.types[0].types[0], ZH_V128);
    CHECK_EQ_INT(m.globals[0].init.type, ZH_V128);
    CHECK_EQ_INT(m.globals[0].init.bits, 1);
    CHECK_EQ_INT(m.globals[0].init.bits_hi, 2);
  }
  zh_module_release(&m);
}

int main(void) {
  zh_error *err = zh_engine_new(NULL, &engine);
  CHECK(err == NULL);
  if (err) {
    zh_error_free(err);
    TEST_SUMMARY();
  }
  test_leb_u32();
  test_leb_signed();
  test_names_and_counts();
  test_header();
  test_section_leb();
  test_section_order();
  test_section_sizes();
  test_counts_agree();
  test_bodies();
  test_const_exprs();
  test_elem_segments();
  test_data_segments();
  test_imports_exports();
  test_bad_utf8_names();
  test_customs();
  test_name_section();
  test_truncation();
  test_v128_type();
  zh_engine_free(engine);
  TEST_SUMMARY();
}
