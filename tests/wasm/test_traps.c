/* Traps, end to end through the public API: every zh_trap_code with its exact status,
 * code and spec text; memory bounds through the guard pages (plain and fused addressing)
 * and through the explicit checks of the bulk instructions; tables and call_indirect;
 * stack exhaustion by frame count and by value slots; interruption by a deadline and
 * from another thread; host errors and exits; nested wasm -> host -> wasm traps; and the
 * backtrace in the message. After every trap the same store and instance must still run
 * a normal export correctly. */
#include "testlib.h"
#include "zerohop/engine.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

/* ---- byte buffers ---- */

typedef struct buf {
  uint8_t *p;
  size_t len, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 128;
    while (cap < b->len + n)
      cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      fprintf(stderr, "test_traps: out of memory\n");
      exit(2);
    }
    b->p = p;
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void put8(buf *b, uint8_t x) { put(b, &x, 1); }

static void uleb(buf *b, uint64_t v) {
  do {
    uint8_t x = v & 0x7f;
    v >>= 7;
    put8(b, (uint8_t)(x | (v ? 0x80 : 0)));
  } while (v);
}

static void sleb(buf *b, int64_t v) {
  for (;;) {
    uint8_t x = (uint8_t)(v & 0x7f);
    bool sign = (x & 0x40) != 0;
    v = (v - (v & 0x7f)) / 128; /* exact: no reliance on the shift of a negative value */
    bool last = (v == 0 && !sign) || (v == -1 && sign);
    put8(b, (uint8_t)(x | (last ? 0 : 0x80)));
    if (last)
      return;
  }
}

static void put_name(buf *b, const char *s) {
  uleb(b, strlen(s));
  put(b, s, strlen(s));
}

static void buf_free(buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Appends code written as space-separated tokens: two lower-case hex digits are a byte;
 * %u and %s take the next argument as an unsigned long long (ULEB128) or a long long
 * (SLEB128); %f and %d take a double and append it as f32 or f64 bits. */
static void vemit(buf *b, const char *fmt, va_list ap) {
  for (const char *p = fmt; *p;) {
    if (*p == ' ') {
      p++;
      continue;
    }
    if (*p == '%') {
      if (p[1] == 'u') {
        uleb(b, va_arg(ap, unsigned long long));
      } else if (p[1] == 's') {
        sleb(b, va_arg(ap, long long));
      } else if (p[1] == 'f') {
        float f = (float)va_arg(ap, double);
        put(b, &f, 4);
      } else if (p[1] == 'd') {
        double d = va_arg(ap, double);
        put(b, &d, 8);
      } else {
        fprintf(stderr, "test_traps: bad code token in \"%s\"\n", fmt);
        exit(2);
      }
      p += 2;
      continue;
    }
    int hi = hex_digit(p[0]), lo = hi < 0 ? -1 : hex_digit(p[1]);
    if (hi < 0 || lo < 0) {
      fprintf(stderr, "test_traps: bad code token in \"%s\"\n", fmt);
      exit(2);
    }
    put8(b, (uint8_t)(hi * 16 + lo));
    p += 2;
  }
}

static void emit(buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vemit(b, fmt, ap);
  va_end(ap);
}

#define U(x) ((unsigned long long)(x))
#define S(x) ((long long)(x))

/* ---- a module builder: one buffer per section, assembled in order at the end ---- */

enum {
  SEC_TYPE = 1,
  SEC_IMPORT = 2,
  SEC_FUNC = 3,
  SEC_TABLE = 4,
  SEC_MEM = 5,
  SEC_GLOBAL = 6,
  SEC_EXPORT = 7,
  SEC_START = 8,
  SEC_ELEM = 9,
  SEC_CODE = 10,
  SEC_DATA = 11,
  SEC_DATACOUNT = 12,
};

typedef struct wmod {
  buf sec[13];
  uint32_t count[13];
  char sigs[64][16]; /* the type section, as "params:results" strings */
  uint32_t nsigs;
  uint32_t nfuncs; /* imported and defined: the next function index */
  int64_t start;   /* start function, or -1 */
  buf names;       /* function name map entries */
  uint32_t nnames;
} wmod;

static void wm_init(wmod *m) {
  memset(m, 0, sizeof *m);
  m->start = -1;
}

static uint8_t valtype(char c) {
  switch (c) {
  case 'i':
    return ZH_I32;
  case 'I':
    return ZH_I64;
  case 'f':
    return ZH_F32;
  case 'F':
    return ZH_F64;
  case 'r':
    return ZH_FUNCREF;
  }
  fprintf(stderr, "test_traps: bad value type '%c'\n", c);
  exit(2);
}

/* The index of the function type "params:results" (e.g. "ii:i"), added on first use. */
static uint32_t wm_type(wmod *m, const char *sig) {
  for (uint32_t i = 0; i < m->nsigs; i++)
    if (strcmp(m->sigs[i], sig) == 0)
      return i;
  const char *colon = strchr(sig, ':');
  if (!colon || strlen(sig) >= sizeof m->sigs[0] || m->nsigs == 64) {
    fprintf(stderr, "test_traps: bad signature \"%s\"\n", sig);
    exit(2);
  }
  buf *b = &m->sec[SEC_TYPE];
  put8(b, 0x60);
  uleb(b, (uint64_t)(colon - sig));
  for (const char *p = sig; p < colon; p++)
    put8(b, valtype(*p));
  uleb(b, strlen(colon + 1));
  for (const char *p = colon + 1; *p; p++)
    put8(b, valtype(*p));
  m->count[SEC_TYPE]++;
  strcpy(m->sigs[m->nsigs], sig);
  return m->nsigs++;
}

static void wm_export(wmod *m, const char *name, uint8_t kind, uint32_t index) {
  put_name(&m->sec[SEC_EXPORT], name);
  put8(&m->sec[SEC_EXPORT], kind);
  uleb(&m->sec[SEC_EXPORT], index);
  m->count[SEC_EXPORT]++;
}

static uint32_t wm_import_func(wmod *m, const char *module, const char *name, const char *sig) {
  if (m->count[SEC_FUNC]) {
    fprintf(stderr, "test_traps: imports must come before defined functions\n");
    exit(2);
  }
  uint32_t type = wm_type(m, sig);
  buf *b = &m->sec[SEC_IMPORT];
  put_name(b, module);
  put_name(b, name);
  put8(b, 0);
  uleb(b, type);
  m->count[SEC_IMPORT]++;
  return m->nfuncs++;
}

/* Defines a function whose body is `code` (ending in 0x0b), which it consumes. `locals`
 * has one type letter per local; `export` may be NULL. Returns the function index. */
static uint32_t wm_func_buf(wmod *m, const char *sig, const char *locals, const char *export,
                            buf *code) {
  uleb(&m->sec[SEC_FUNC], wm_type(m, sig));
  m->count[SEC_FUNC]++;
  buf body = {0};
  uint32_t groups = 0;
  for (size_t i = 0; locals[i]; i++)
    if (i == 0 || locals[i] != locals[i - 1])
      groups++;
  uleb(&body, groups);
  for (size_t i = 0; locals[i];) {
    size_t j = i;
    while (locals[j] == locals[i])
      j++;
    uleb(&body, j - i);
    put8(&body, valtype(locals[i]));
    i = j;
  }
  put(&body, code->p, code->len);
  uleb(&m->sec[SEC_CODE], body.len);
  put(&m->sec[SEC_CODE], body.p, body.len);
  m->count[SEC_CODE]++;
  buf_free(&body);
  buf_free(code);
  if (export)
    wm_export(m, export, 0, m->nfuncs);
  return m->nfuncs++;
}

static uint32_t wm_func(wmod *m, const char *sig, const char *locals, const char *export,
                        const char *fmt, ...) {
  buf code = {0};
  va_list ap;
  va_start(ap, fmt);
  vemit(&code, fmt, ap);
  va_end(ap);
  return wm_func_buf(m, sig, locals, export, &code);
}

static void wm_memory(wmod *m, uint32_t min, uint32_t max) {
  buf *b = &m->sec[SEC_MEM];
  put8(b, 1);
  uleb(b, min);
  uleb(b, max);
  m->count[SEC_MEM]++;
}

static void wm_table(wmod *m, uint32_t min, uint32_t max) {
  buf *b = &m->sec[SEC_TABLE];
  put8(b, ZH_FUNCREF);
  put8(b, 1);
  uleb(b, min);
  uleb(b, max);
  m->count[SEC_TABLE]++;
}

static uint32_t wm_global_i32(wmod *m, bool mutable_, int32_t init) {
  emit(&m->sec[SEC_GLOBAL], "7f %u 41 %s 0b", U(mutable_), S(init));
  return m->count[SEC_GLOBAL]++;
}

/* An active element segment of table 0 at `offset`. */
static void wm_elem(wmod *m, int32_t offset, uint32_t n, const uint32_t *funcs) {
  buf *b = &m->sec[SEC_ELEM];
  emit(b, "00 41 %s 0b %u", S(offset), U(n));
  for (uint32_t i = 0; i < n; i++)
    uleb(b, funcs[i]);
  m->count[SEC_ELEM]++;
}

/* A data segment: active at `offset` of memory 0, or passive. Returns its index. */
static uint32_t wm_data(wmod *m, bool passive, int32_t offset, const void *bytes, uint32_t n) {
  buf *b = &m->sec[SEC_DATA];
  if (passive)
    put8(b, 1);
  else
    emit(b, "00 41 %s 0b", S(offset));
  uleb(b, n);
  put(b, bytes, n);
  return m->count[SEC_DATA]++;
}

static void wm_name(wmod *m, uint32_t func, const char *name) {
  uleb(&m->names, func);
  put_name(&m->names, name);
  m->nnames++;
}

static void wm_section(buf *out, uint8_t id, const buf *content) {
  put8(out, id);
  uleb(out, content->len);
  put(out, content->p, content->len);
}

/* The module's bytes; frees the builder. */
static buf wm_finish(wmod *m) {
  static const uint8_t order[] = {SEC_TYPE, SEC_IMPORT,    SEC_FUNC,   SEC_TABLE,
                                  SEC_MEM,  SEC_GLOBAL,    SEC_EXPORT, SEC_START,
                                  SEC_ELEM, SEC_DATACOUNT, SEC_CODE,   SEC_DATA};
  buf out = {0};
  put(&out, "\0asm\1\0\0\0", 8);
  for (size_t k = 0; k < sizeof order; k++) {
    uint8_t id = order[k];
    buf c = {0};
    if (id == SEC_START) {
      if (m->start < 0)
        continue;
      uleb(&c, (uint64_t)m->start);
    } else if (id == SEC_DATACOUNT) {
      if (!m->count[SEC_DATA])
        continue;
      uleb(&c, m->count[SEC_DATA]);
    } else {
      if (!m->count[id])
        continue;
      uleb(&c, m->count[id]);
      put(&c, m->sec[id].p, m->sec[id].len);
    }
    wm_section(&out, id, &c);
    buf_free(&c);
  }
  if (m->nnames) {
    buf sub = {0}, c = {0};
    uleb(&sub, m->nnames);
    put(&sub, m->names.p, m->names.len);
    put_name(&c, "name");
    put8(&c, 1); /* subsection 1: function names */
    uleb(&c, sub.len);
    put(&c, sub.p, sub.len);
    wm_section(&out, 0, &c);
    buf_free(&sub);
    buf_free(&c);
  }
  for (int i = 0; i < 13; i++)
    buf_free(&m->sec[i]);
  buf_free(&m->names);
  return out;
}

static zh_module *load(zh_engine *engine, buf *bytes, const char *name) {
  zh_module *mod = NULL;
  zh_error *err = zh_module_new(engine, bytes->p, bytes->len, name, &mod);
  if (err)
    fprintf(stderr, "  module %s: %s\n", name, zh_error_message(err));
  CHECK(err == NULL && mod != NULL);
  zh_error_free(err);
  return mod;
}

/* ---- the spec's trap texts, spelled out here so a wrong zh_trap_text() shows ---- */

static const char *spec_text(zh_trap_code code) {
  switch (code) {
  case ZH_TRAP_UNREACHABLE:
    return "unreachable";
  case ZH_TRAP_MEMORY_OOB:
    return "out of bounds memory access";
  case ZH_TRAP_TABLE_OOB:
    return "out of bounds table access";
  case ZH_TRAP_INT_DIV_ZERO:
    return "integer divide by zero";
  case ZH_TRAP_INT_OVERFLOW:
    return "integer overflow";
  case ZH_TRAP_INVALID_CONVERSION:
    return "invalid conversion to integer";
  case ZH_TRAP_INDIRECT_NULL:
    return "uninitialized element";
  case ZH_TRAP_SIGNATURE_MISMATCH:
    return "indirect call type mismatch";
  case ZH_TRAP_UNDEFINED_ELEMENT:
    return "undefined element";
  case ZH_TRAP_STACK_OVERFLOW:
    return "call stack exhausted";
  case ZH_TRAP_INTERRUPTED:
    return "interrupted";
  default:
    return NULL;
  }
}

static void test_trap_texts(void) {
  for (int c = ZH_TRAP_UNREACHABLE; c <= ZH_TRAP_INTERRUPTED; c++) {
    const char *want = spec_text((zh_trap_code)c);
    const char *got = zh_trap_text((zh_trap_code)c);
    if (!want || !got || strcmp(want, got) != 0)
      fprintf(stderr, "  zh_trap_text(%d) = \"%s\", expected \"%s\"\n", c, got ? got : "(null)",
              want ? want : "(null)");
    CHECK(want && got && strcmp(want, got) == 0);
  }
}

/* ---- the main module and its fixture ---- */

/* Imports of the main module, in order. */
enum { IMP_FAIL, IMP_EXIT, IMP_TRAP, IMP_REENTER, IMP_NOTIFY, NIMPORTS };

#define MEM_MARKER 0x5a5a1234 /* i32 at address 16, from an active data segment */

static const char PASSIVE[] = "passive!"; /* 8 bytes, without the NUL */

/* Function indices the tests look for in backtraces. */
static uint32_t fn_deep1, fn_deep2, fn_deep3, fn_deepo3;

static const uint8_t DIV_OPS32[] = {0x6d, 0x6e, 0x6f, 0x70};
static const uint8_t DIV_OPS64[] = {0x7f, 0x80, 0x81, 0x82};
static const uint8_t TRUNC_OPS[] = {0xa8, 0xa9, 0xaa, 0xab, 0xae, 0xaf, 0xb0, 0xb1};

static const char *trunc_sig(uint8_t op) {
  switch (op) {
  case 0xa8:
  case 0xa9:
    return "f:i";
  case 0xaa:
  case 0xab:
    return "F:i";
  case 0xae:
  case 0xaf:
    return "f:I";
  default:
    return "F:I";
  }
}

/* Defines the export PREFIX_OP (OP in hex) : sig with the body `head` (given `imm` for a
 * %s in it), the opcode, end. */
static void op_func(wmod *m, const char *sig, const char *prefix, uint8_t op, const char *head,
                    long long imm) {
  char name[32];
  snprintf(name, sizeof name, "%s_%02x", prefix, op);
  buf c = {0};
  emit(&c, head, imm);
  put8(&c, op);
  emit(&c, "0b");
  wm_func_buf(m, sig, "", name, &c);
}

static buf build_main(void) {
  wmod m;
  wm_init(&m);
  wm_import_func(&m, "env", "fail", ":");
  wm_import_func(&m, "env", "exit", ":");
  wm_import_func(&m, "env", "trap", ":");
  wm_import_func(&m, "env", "reenter", "i:i");
  wm_import_func(&m, "env", "notify", ":");
  wm_memory(&m, 1, 4);
  wm_export(&m, "mem", 2, 0);
  wm_table(&m, 3, 3);
  uint32_t g = wm_global_i32(&m, true, 0);
  wm_export(&m, "depth", 3, g);
  uint32_t iii = wm_type(&m, "ii:i");

  /* The "still works" probes. */
  uint32_t ok = wm_func(&m, "ii:i", "", "ok", "20 00 20 01 6a 0b");
  wm_func(&m, ":i", "", "peek", "41 10 28 02 00 0b");
  uint32_t unreach = wm_func(&m, ":", "", "unreachable", "00 0b");
  /* call_indirect through table 0 = [ok, null, unreachable] with type ii:i. */
  wm_func(&m, "i:i", "", "cind", "41 01 41 02 20 00 11 %u 00 0b", U(iii));
  uint32_t nop = wm_func(&m, ":", "", "nop", "0b");

  /* Memory: loads and stores through the guard pages, in each addressing form. */
  wm_func(&m, "i:i", "", "load", "20 00 28 02 00 0b");
  wm_func(&m, "i:i", "", "load8", "20 00 2d 00 00 0b");
  wm_func(&m, "i:i", "", "load_off", "20 00 28 02 %u 0b", U(0xffffffffu));
  wm_func(&m, ":i", "", "load_max", "41 7f 28 02 %u 0b", U(0xffffffffu));
  wm_func(&m, "iI:", "", "store64", "20 00 20 01 37 03 00 0b");
  wm_func(&m, "iI:", "", "store64_off", "20 00 20 01 37 03 %u 0b", U(0xffffffffu));
  wm_func(&m, "ii:i", "", "load_add", "20 00 20 01 6a 28 02 00 0b");
  wm_func(&m, "i:i", "", "load_addk", "20 00 41 04 6a 28 02 00 0b");
  wm_func(&m, "ii:i", "", "load_shl", "20 00 20 01 41 02 74 6a 28 02 00 0b");
  wm_func(&m, "iii:", "", "fill", "20 00 20 01 20 02 fc 0b 00 0b");
  wm_func(&m, "iii:", "", "copy", "20 00 20 01 20 02 fc 0a 00 00 0b");

  /* Tables. */
  wm_func(&m, "i:i", "", "tget", "20 00 25 00 d1 0b");
  wm_func(&m, "i:", "", "tset", "20 00 d0 70 26 00 0b");
  wm_func(&m, "ii:", "", "tfill", "20 00 d0 70 20 01 fc 11 00 0b");

  /* Division: operands from locals (d_), a constant divisor 0 (dk_) or -1 (dm_), and two
   * constants (dc_: 7 / 0, dcm_: MIN / -1). */
  for (int k = 0; k < 4; k++) {
    uint8_t op = DIV_OPS32[k];
    op_func(&m, "ii:i", "d", op, "20 00 20 01", 0);
    op_func(&m, "i:i", "dk", op, "20 00 41 00", 0);
    op_func(&m, "i:i", "dm", op, "20 00 41 7f", 0);
    op_func(&m, ":i", "dc", op, "41 07 41 00", 0);
    op_func(&m, ":i", "dcm", op, "41 %s 41 7f", INT32_MIN);
    op = DIV_OPS64[k];
    op_func(&m, "II:I", "d", op, "20 00 20 01", 0);
    op_func(&m, "I:I", "dk", op, "20 00 42 00", 0);
    op_func(&m, "I:I", "dm", op, "20 00 42 7f", 0);
    op_func(&m, ":I", "dc", op, "42 07 42 00", 0);
    op_func(&m, ":I", "dcm", op, "42 %s 42 7f", INT64_MIN);
  }

  /* Float to integer, from a local and from a constant NaN. */
  for (size_t k = 0; k < sizeof TRUNC_OPS; k++)
    op_func(&m, trunc_sig(TRUNC_OPS[k]), "t", TRUNC_OPS[k], "20 00", 0);
  wm_func(&m, ":i", "", "t_const_nan", "43 %f a8 0b", (double)NAN);
  wm_func(&m, ":I", "", "t_const_nan64", "44 %d b1 0b", (double)NAN);

  /* Recursion without end: few slots per frame, and 400 i64 locals per frame. */
  uint32_t self = m.nfuncs;
  wm_func(&m, ":", "", "rec", "23 %u 41 01 6a 24 %u 10 %u 0b", U(g), U(g), U(self));
  char big[401];
  memset(big, 'I', 400);
  big[400] = 0;
  self = m.nfuncs;
  wm_func(&m, ":", big, "rec_big", "23 %u 41 01 6a 24 %u 10 %u 0b", U(g), U(g), U(self));

  /* Loops without end: notify the host, then spin on a back-edge, or on a call. */
  wm_func(&m, ":", "", "spin", "03 40 0c 00 0b 0b");
  wm_func(&m, ":", "", "spin_n", "10 %u 03 40 0c 00 0b 0b", U(IMP_NOTIFY));
  wm_func(&m, ":", "", "spin_call_n", "10 %u 03 40 10 %u 0c 00 0b 0b", U(IMP_NOTIFY), U(nop));

  /* Host calls. */
  wm_func(&m, ":", "", "call_fail", "10 %u 0b", U(IMP_FAIL));
  wm_func(&m, ":", "", "call_exit", "10 %u 0b", U(IMP_EXIT));
  wm_func(&m, ":", "", "call_trap", "10 %u 0b", U(IMP_TRAP));
  wm_func(&m, "i:i", "", "outer", "20 00 10 %u 41 01 6a 0b", U(IMP_REENTER));
  wm_func(&m, "i:i", "", "inner_div", "20 00 41 00 6d 0b");
  wm_func(&m, "i:i", "", "inner_oob", "20 00 28 02 00 0b");

  /* Three calls deep, then unreachable or an out-of-bounds load. */
  fn_deep1 = m.nfuncs;
  fn_deep2 = fn_deep1 + 1;
  fn_deep3 = fn_deep1 + 2;
  wm_func(&m, ":", "", "deep", "10 %u 0b", U(fn_deep2));
  wm_func(&m, ":", "", NULL, "10 %u 0b", U(fn_deep3));
  wm_func(&m, ":", "", NULL, "00 0b");
  uint32_t deepo1 = m.nfuncs;
  fn_deepo3 = deepo1 + 2;
  wm_func(&m, ":", "", "deep_oob", "10 %u 0b", U(deepo1 + 1));
  wm_func(&m, ":", "", NULL, "10 %u 0b", U(fn_deepo3));
  wm_func(&m, ":", "", NULL, "41 7f 28 02 00 1a 0b");

  uint32_t e0[] = {ok}, e2[] = {unreach};
  wm_elem(&m, 0, 1, e0);
  wm_elem(&m, 2, 1, e2);
  static const uint8_t marker[4] = {0x34, 0x12, 0x5a, 0x5a};
  wm_data(&m, false, 16, marker, 4);
  uint32_t passive = wm_data(&m, true, 0, PASSIVE, 8);
  wm_func(&m, "iii:", "", "init", "20 00 20 01 20 02 fc 08 %u 00 0b", U(passive));
  return wm_finish(&m);
}

typedef struct fixture {
  zh_store *s;
  zh_instance *inst;
  zh_memory *mem;
  zh_global *depth;
  sem_t started; /* posted by env.notify */
  int notified;  /* env.notify calls */
  int reentered; /* env.reenter calls */
  zh_status inner_status;
  zh_trap_code inner_trap;
} fixture;

static zh_error *h_fail(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller, (void)env, (void)args, (void)results;
  return zh_error_new(ZH_ERR_IO, "disk on fire (errno %d)", 5);
}

static zh_error *h_exit(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller, (void)env, (void)args, (void)results;
  return zh_error_exit(42);
}

static zh_error *h_trap(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller, (void)env, (void)args, (void)results;
  return zh_error_new(ZH_ERR_TRAP, "host said no");
}

static zh_error *h_notify(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller, (void)args, (void)results;
  fixture *fx = env;
  fx->notified++;
  sem_post(&fx->started);
  return NULL;
}

/* Calls back into the calling instance: mode 0 runs inner_div(5), which divides by zero;
 * mode 1 inner_oob(-1), which faults on a guard page; both return the inner error. Mode 2
 * runs inner_div(5) too but swallows the trap and returns 7. */
static zh_error *h_reenter(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  fixture *fx = env;
  fx->reentered++;
  int mode = args[0].of.i32;
  zh_instance *inst = zh_caller_instance(caller);
  zh_func *f = inst ? zh_instance_func(inst, mode == 1 ? "inner_oob" : "inner_div") : NULL;
  if (!f)
    return zh_error_new(ZH_ERR_USAGE, "reenter: no caller instance");
  zh_value arg = zh_i32(mode == 1 ? -1 : 5), res = zh_i32(0);
  zh_error *err = zh_func_call(zh_caller_store(caller), f, &arg, 1, &res, 1);
  fx->inner_status = zh_error_status(err);
  fx->inner_trap = zh_error_trap(err);
  if (mode == 2) {
    zh_error_free(err);
    results[0] = zh_i32(7);
    return NULL;
  }
  if (!err)
    results[0] = res;
  return err;
}

static zh_func *host_func(zh_store *s, const char *sig, zh_host_fn fn, void *env) {
  zh_valtype ty[8];
  const char *colon = strchr(sig, ':');
  uint32_t np = (uint32_t)(colon - sig), nr = (uint32_t)strlen(colon + 1);
  for (uint32_t i = 0; i < np; i++)
    ty[i] = (zh_valtype)valtype(sig[i]);
  for (uint32_t i = 0; i < nr; i++)
    ty[np + i] = (zh_valtype)valtype(colon[1 + i]);
  zh_functype t = {np, nr, ty, ty + np};
  zh_func *f = zh_func_new_host(s, &t, fn, env);
  CHECK(f != NULL);
  return f;
}

static bool fixture_open(fixture *fx, zh_engine *engine, zh_module *mod) {
  memset(fx, 0, sizeof *fx);
  sem_init(&fx->started, 0, 0);
  zh_error *err = zh_store_new(engine, &fx->s);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!fx->s || !mod)
    return false;
  zh_extern imp[NIMPORTS];
  static const struct {
    const char *sig;
    zh_host_fn fn;
  } hosts[NIMPORTS] = {
      {":", h_fail}, {":", h_exit}, {":", h_trap}, {"i:i", h_reenter}, {":", h_notify},
  };
  for (int i = 0; i < NIMPORTS; i++) {
    imp[i].kind = ZH_EXTERN_FUNC;
    imp[i].of.func = host_func(fx->s, hosts[i].sig, hosts[i].fn, fx);
  }
  err = zh_instance_new(fx->s, mod, imp, NIMPORTS, &fx->inst);
  if (err)
    fprintf(stderr, "  instantiate: %s\n", zh_error_message(err));
  CHECK(err == NULL && fx->inst != NULL);
  zh_error_free(err);
  if (!fx->inst)
    return false;
  fx->mem = zh_instance_memory(fx->inst, "mem");
  zh_extern x;
  CHECK(zh_instance_export(fx->inst, "depth", &x) && x.kind == ZH_EXTERN_GLOBAL);
  fx->depth = x.of.global;
  return fx->mem != NULL && fx->depth != NULL;
}

static void fixture_close(fixture *fx) {
  zh_store_free(fx->s);
  sem_destroy(&fx->started);
}

/* Calls export `name`; the first result, if any, goes to *out. */
static zh_error *invoke(fixture *fx, const char *name, const zh_value *args, size_t nargs,
                        zh_value *out) {
  zh_func *f = zh_instance_func(fx->inst, name);
  if (!f)
    return zh_error_new(ZH_ERR_USAGE, "test: no export '%s'", name);
  zh_functype ft;
  zh_func_type(f, &ft);
  zh_value res[4];
  memset(res, 0, sizeof res);
  for (uint32_t i = 0; i < ft.nresults && i < 4; i++)
    res[i].type = ft.results[i];
  zh_error *err = zh_func_call(fx->s, f, args, nargs, res, ft.nresults);
  if (!err && out && ft.nresults)
    *out = res[0];
  return err;
}

#define ARGS(...)                                                                                  \
  (const zh_value[]){__VA_ARGS__}, sizeof((const zh_value[]){__VA_ARGS__}) / sizeof(zh_value)
#define NOARGS NULL, 0

/* Calls `name`, expecting success and an integer result `want` (i32 or i64). */
static void returns(fixture *fx, const char *name, const zh_value *args, size_t nargs,
                    int64_t want) {
  zh_value r;
  memset(&r, 0, sizeof r);
  zh_error *err = invoke(fx, name, args, nargs, &r);
  int64_t got = r.type == ZH_I64 ? r.of.i64 : (int64_t)r.of.i32;
  if (err || got != want)
    fprintf(stderr, "  %s: expected %lld, got %s%lld\n", name, (long long)want,
            err ? zh_error_message(err) : "", (long long)got);
  CHECK(err == NULL);
  CHECK(got == want);
  zh_error_free(err);
}

/* Calls `name`, expecting success and no result. */
static void succeeds(fixture *fx, const char *name, const zh_value *args, size_t nargs) {
  zh_error *err = invoke(fx, name, args, nargs, NULL);
  if (err)
    fprintf(stderr, "  %s: expected success, got %s\n", name, zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
}

/* The store and the instance keep working: plain code, memory and the table. */
static void still_works(fixture *fx, const char *after) {
  zh_value r = zh_i32(0);
  zh_error *err = invoke(fx, "ok", ARGS(zh_i32(40), zh_i32(2)), &r);
  bool good = err == NULL && r.of.i32 == 42;
  zh_error_free(err);
  r = zh_i32(0);
  err = invoke(fx, "peek", NOARGS, &r);
  good = good && err == NULL && r.of.i32 == MEM_MARKER;
  zh_error_free(err);
  r = zh_i32(0);
  err = invoke(fx, "cind", ARGS(zh_i32(0)), &r);
  good = good && err == NULL && r.of.i32 == 3;
  zh_error_free(err);
  if (!good)
    fprintf(stderr, "  the instance no longer works after %s\n", after);
  CHECK(good);
}

/* Checks an error's status, trap code and spec text; frees it. */
static void check_trap(zh_error *err, const char *what, zh_status status, zh_trap_code code) {
  const char *text = spec_text(code);
  const char *msg = zh_error_message(err);
  bool good = err && zh_error_status(err) == status && zh_error_trap(err) == code && text &&
              strstr(msg, text);
  if (!good)
    fprintf(stderr, "  %s: expected %s / %s, got %s / trap %d: \"%s\"\n", what,
            zh_status_text(status), text ? text : "?", zh_status_text(zh_error_status(err)),
            (int)zh_error_trap(err), msg);
  CHECK(err != NULL);
  CHECK_EQ_INT(zh_error_status(err), status);
  CHECK_EQ_INT(zh_error_trap(err), code);
  CHECK(text && strstr(msg, text));
  zh_error_free(err);
}

/* Calls `name`, expects that trap, then checks that everything still works. */
static void traps(fixture *fx, const char *name, const zh_value *args, size_t nargs,
                  zh_status status, zh_trap_code code) {
  check_trap(invoke(fx, name, args, nargs, NULL), name, status, code);
  still_works(fx, name);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- the tests ---- */

static void test_unreachable(fixture *fx) {
  traps(fx, "unreachable", NOARGS, ZH_ERR_TRAP, ZH_TRAP_UNREACHABLE);
  traps(fx, "deep", NOARGS, ZH_ERR_TRAP, ZH_TRAP_UNREACHABLE);
  /* Twice in a row: the first trap left nothing behind. */
  traps(fx, "unreachable", NOARGS, ZH_ERR_TRAP, ZH_TRAP_UNREACHABLE);
}

static void test_memory_oob(fixture *fx) {
  const int32_t size = 65536;
  uint8_t *data = zh_memory_data(fx->mem);
  CHECK_EQ_INT(zh_memory_size(fx->mem), size);
  for (int i = 1; i <= 8; i++)
    data[size - i] = (uint8_t)(0xa0 + i);

  /* Loads: the last whole word is fine, one byte further faults on the guard page. */
  returns(fx, "load", ARGS(zh_i32(size - 4)), (int32_t)0xa1a2a3a4);
  traps(fx, "load", ARGS(zh_i32(size - 3)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "load", ARGS(zh_i32(size)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "load", ARGS(zh_i32(-1)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  returns(fx, "load8", ARGS(zh_i32(size - 1)), 0xa1);
  traps(fx, "load8", ARGS(zh_i32(size)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  /* The offset immediate 0xffffffff: address + offset is not wrapped to 32 bits. */
  traps(fx, "load_off", ARGS(zh_i32(0)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "load_off", ARGS(zh_i32(-1)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "load_max", NOARGS, ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);

  /* Stores: at size-7 the 8-byte store faults and writes nothing. */
  traps(fx, "store64", ARGS(zh_i32(size - 7), zh_i64(0)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  bool intact = true;
  for (int i = 1; i <= 7; i++)
    intact = intact && data[size - i] == (uint8_t)(0xa0 + i);
  if (!intact)
    fprintf(stderr, "  a trapping i64.store at size-7 wrote part of its value\n");
  CHECK(intact);
  traps(fx, "store64", ARGS(zh_i32(-1), zh_i64(0)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "store64_off", ARGS(zh_i32(0), zh_i64(0)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "store64_off", ARGS(zh_i32(-1), zh_i64(0)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  succeeds(fx, "store64", ARGS(zh_i32(size - 8), zh_i64(0x0102030405060708)));
  CHECK(data[size - 8] == 8 && data[size - 1] == 1);

  /* Fused address arithmetic: i32.add wraps before the access, the offset does not. */
  traps(fx, "load_add", ARGS(zh_i32(0x8000), zh_i32(0x8000)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  returns(fx, "load_add", ARGS(zh_i32(-1), zh_i32(17)), MEM_MARKER);
  traps(fx, "load_addk", ARGS(zh_i32(size - 6)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  returns(fx, "load_addk", ARGS(zh_i32(12)), MEM_MARKER);
  returns(fx, "load_addk", ARGS(zh_i32(-4)), 0);
  traps(fx, "load_shl", ARGS(zh_i32(0), zh_i32(16384)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  returns(fx, "load_shl", ARGS(zh_i32(0), zh_i32(4)), MEM_MARKER);

  /* Bulk memory: explicit checks, and nothing is written when they fail. */
  traps(fx, "fill", ARGS(zh_i32(size - 10), zh_i32(0xee), zh_i32(11)), ZH_ERR_TRAP,
        ZH_TRAP_MEMORY_OOB);
  CHECK(data[size - 10] == 0 && data[size - 9] == 0);
  traps(fx, "fill", ARGS(zh_i32(size + 1), zh_i32(0), zh_i32(0)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "fill", ARGS(zh_i32(-1), zh_i32(0), zh_i32(2)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  succeeds(fx, "fill", ARGS(zh_i32(size), zh_i32(0), zh_i32(0)));
  traps(fx, "copy", ARGS(zh_i32(size - 6), zh_i32(0), zh_i32(7)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "copy", ARGS(zh_i32(0), zh_i32(size - 6), zh_i32(7)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "copy", ARGS(zh_i32(0), zh_i32(0), zh_i32(-1)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  CHECK(data[0] == 0 && data[6] == 0);
  traps(fx, "init", ARGS(zh_i32(size - 7), zh_i32(0), zh_i32(8)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "init", ARGS(zh_i32(0), zh_i32(4), zh_i32(5)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  CHECK(data[0] == 0 && data[size - 7] == 7);
  succeeds(fx, "init", ARGS(zh_i32(32), zh_i32(0), zh_i32(8)));
  CHECK(memcmp(data + 32, PASSIVE, 8) == 0);

  /* After memory.grow from the host the bound moves, for the same instance. */
  uint32_t old = 0;
  zh_error *err = zh_memory_grow(fx->mem, 1, &old);
  CHECK(err == NULL && old == 1);
  zh_error_free(err);
  returns(fx, "load", ARGS(zh_i32(size - 3)), 0x00010203);
  returns(fx, "load", ARGS(zh_i32(2 * size - 4)), 0);
  traps(fx, "load", ARGS(zh_i32(2 * size - 3)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  traps(fx, "fill", ARGS(zh_i32(2 * size - 1), zh_i32(1), zh_i32(2)), ZH_ERR_TRAP,
        ZH_TRAP_MEMORY_OOB);
}

static void test_table_oob(fixture *fx) {
  returns(fx, "tget", ARGS(zh_i32(1)), 1);
  returns(fx, "tget", ARGS(zh_i32(2)), 0);
  traps(fx, "tget", ARGS(zh_i32(3)), ZH_ERR_TRAP, ZH_TRAP_TABLE_OOB);
  traps(fx, "tget", ARGS(zh_i32(-1)), ZH_ERR_TRAP, ZH_TRAP_TABLE_OOB);
  traps(fx, "tset", ARGS(zh_i32(3)), ZH_ERR_TRAP, ZH_TRAP_TABLE_OOB);
  traps(fx, "tset", ARGS(zh_i32(-1)), ZH_ERR_TRAP, ZH_TRAP_TABLE_OOB);
  succeeds(fx, "tset", ARGS(zh_i32(1)));
  /* table.fill past the end writes nothing: element 2 is still set. */
  traps(fx, "tfill", ARGS(zh_i32(2), zh_i32(2)), ZH_ERR_TRAP, ZH_TRAP_TABLE_OOB);
  returns(fx, "tget", ARGS(zh_i32(2)), 0);
  succeeds(fx, "tfill", ARGS(zh_i32(3), zh_i32(0)));
}

static void test_call_indirect(fixture *fx) {
  returns(fx, "cind", ARGS(zh_i32(0)), 3);
  traps(fx, "cind", ARGS(zh_i32(1)), ZH_ERR_TRAP, ZH_TRAP_INDIRECT_NULL);
  traps(fx, "cind", ARGS(zh_i32(2)), ZH_ERR_TRAP, ZH_TRAP_SIGNATURE_MISMATCH);
  traps(fx, "cind", ARGS(zh_i32(3)), ZH_ERR_TRAP, ZH_TRAP_UNDEFINED_ELEMENT);
  traps(fx, "cind", ARGS(zh_i32(-1)), ZH_ERR_TRAP, ZH_TRAP_UNDEFINED_ELEMENT);
}

/* Division: by zero always traps; INT_MIN / -1 traps for div_s only. Results per op, in
 * the order div_s, div_u, rem_s, rem_u. */
static void test_division(fixture *fx) {
  static const int64_t m7_by_2[4] = {-3, 2147483644, -1, 1};   /* i32: -7 op 2 */
  static const int64_t min_by_m1_32[4] = {0, 0, 0, INT32_MIN}; /* INT32_MIN op -1 */
  static const int64_t min_by_m1_64[4] = {0, 0, 0, INT64_MIN}; /* INT64_MIN op -1 */
  static const int64_t p33_by_p32[4] = {2, 2, 0, 0};           /* i64: 2^33 op 2^32 */
  char name[16], name2[16];
  for (int k = 0; k < 4; k++) {
    uint8_t op = DIV_OPS32[k];
    snprintf(name, sizeof name, "d_%02x", op);
    traps(fx, name, ARGS(zh_i32(7), zh_i32(0)), ZH_ERR_TRAP, ZH_TRAP_INT_DIV_ZERO);
    traps(fx, name, ARGS(zh_i32(INT32_MIN), zh_i32(0)), ZH_ERR_TRAP, ZH_TRAP_INT_DIV_ZERO);
    returns(fx, name, ARGS(zh_i32(-7), zh_i32(2)), m7_by_2[k]);
    if (k == 0)
      traps(fx, name, ARGS(zh_i32(INT32_MIN), zh_i32(-1)), ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
    else
      returns(fx, name, ARGS(zh_i32(INT32_MIN), zh_i32(-1)), min_by_m1_32[k]);
    /* The same with a constant divisor (an immediate operand), and with two constants. */
    snprintf(name, sizeof name, "dk_%02x", op);
    traps(fx, name, ARGS(zh_i32(7)), ZH_ERR_TRAP, ZH_TRAP_INT_DIV_ZERO);
    snprintf(name, sizeof name, "dc_%02x", op);
    traps(fx, name, NOARGS, ZH_ERR_TRAP, ZH_TRAP_INT_DIV_ZERO);
    snprintf(name, sizeof name, "dm_%02x", op);
    snprintf(name2, sizeof name2, "dcm_%02x", op);
    if (k == 0) {
      traps(fx, name, ARGS(zh_i32(INT32_MIN)), ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
      traps(fx, name2, NOARGS, ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
      returns(fx, name, ARGS(zh_i32(5)), -5);
    } else {
      returns(fx, name, ARGS(zh_i32(INT32_MIN)), min_by_m1_32[k]);
      returns(fx, name2, NOARGS, min_by_m1_32[k]);
    }
  }
  for (int k = 0; k < 4; k++) {
    uint8_t op = DIV_OPS64[k];
    snprintf(name, sizeof name, "d_%02x", op);
    traps(fx, name, ARGS(zh_i64(7), zh_i64(0)), ZH_ERR_TRAP, ZH_TRAP_INT_DIV_ZERO);
    traps(fx, name, ARGS(zh_i64(INT64_MIN), zh_i64(0)), ZH_ERR_TRAP, ZH_TRAP_INT_DIV_ZERO);
    /* A divisor whose low 32 bits are zero is not zero. */
    returns(fx, name, ARGS(zh_i64(INT64_C(1) << 33), zh_i64(INT64_C(1) << 32)), p33_by_p32[k]);
    if (k == 0)
      traps(fx, name, ARGS(zh_i64(INT64_MIN), zh_i64(-1)), ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
    else
      returns(fx, name, ARGS(zh_i64(INT64_MIN), zh_i64(-1)), min_by_m1_64[k]);
    snprintf(name, sizeof name, "dk_%02x", op);
    traps(fx, name, ARGS(zh_i64(7)), ZH_ERR_TRAP, ZH_TRAP_INT_DIV_ZERO);
    snprintf(name, sizeof name, "dc_%02x", op);
    traps(fx, name, NOARGS, ZH_ERR_TRAP, ZH_TRAP_INT_DIV_ZERO);
    snprintf(name, sizeof name, "dm_%02x", op);
    snprintf(name2, sizeof name2, "dcm_%02x", op);
    if (k == 0) {
      traps(fx, name, ARGS(zh_i64(INT64_MIN)), ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
      traps(fx, name2, NOARGS, ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
    } else {
      returns(fx, name, ARGS(zh_i64(INT64_MIN)), min_by_m1_64[k]);
      returns(fx, name2, NOARGS, min_by_m1_64[k]);
    }
  }
}

static zh_value float_arg(const char *sig, double v) {
  return sig[0] == 'f' ? zh_f32((float)v) : zh_f64(v);
}

static void test_conversion(fixture *fx) {
  char name[32];
  for (size_t k = 0; k < sizeof TRUNC_OPS; k++) {
    uint8_t op = TRUNC_OPS[k];
    const char *sig = trunc_sig(op);
    bool is64 = sig[2] == 'I', is_unsigned = op == 0xa9 || op == 0xab || op == 0xaf || op == 0xb1;
    snprintf(name, sizeof name, "t_%02x", op);
    traps(fx, name, ARGS(float_arg(sig, NAN)), ZH_ERR_TRAP, ZH_TRAP_INVALID_CONVERSION);
    traps(fx, name, ARGS(float_arg(sig, -NAN)), ZH_ERR_TRAP, ZH_TRAP_INVALID_CONVERSION);
    traps(fx, name, ARGS(float_arg(sig, INFINITY)), ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
    traps(fx, name, ARGS(float_arg(sig, -INFINITY)), ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
    double high = is64 ? (is_unsigned ? 2e19 : 1e19) : (is_unsigned ? 5e9 : 3e9);
    double low = is_unsigned ? -1.0 : is64 ? -1e19 : -3e9;
    traps(fx, name, ARGS(float_arg(sig, high)), ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
    traps(fx, name, ARGS(float_arg(sig, low)), ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
    /* In range, near the edges: no trap. */
    returns(fx, name, ARGS(float_arg(sig, -0.75)), 0);
    returns(fx, name, ARGS(float_arg(sig, 1024.5)), 1024);
    if (!is_unsigned && !is64)
      returns(fx, name, ARGS(float_arg(sig, -2147483648.0)), INT32_MIN);
  }
  traps(fx, "t_aa", ARGS(zh_f64(2147483648.0)), ZH_ERR_TRAP, ZH_TRAP_INT_OVERFLOW);
  returns(fx, "t_aa", ARGS(zh_f64(2147483647.9)), INT32_MAX);
  traps(fx, "t_const_nan", NOARGS, ZH_ERR_TRAP, ZH_TRAP_INVALID_CONVERSION);
  traps(fx, "t_const_nan64", NOARGS, ZH_ERR_TRAP, ZH_TRAP_INVALID_CONVERSION);
}

/* Runs `name` (endless recursion) from depth 0 and returns how deep it got. */
static int32_t recurse(fixture *fx, const char *name) {
  zh_value zero = zh_i32(0);
  zh_error *err = zh_global_set(fx->depth, &zero);
  CHECK(err == NULL);
  zh_error_free(err);
  check_trap(invoke(fx, name, NOARGS, NULL), name, ZH_ERR_EXHAUSTION, ZH_TRAP_STACK_OVERFLOW);
  still_works(fx, name);
  return zh_global_get(fx->depth).of.i32;
}

static void test_stack_overflow(fixture *fx, uint32_t max_depth, fixture *small,
                                uint32_t small_slots) {
  /* Plenty of value slots: the frame count runs out, at the configured depth. */
  int32_t d1 = recurse(fx, "rec");
  int32_t d2 = recurse(fx, "rec");
  if (d1 < (int32_t)max_depth - 8 || d1 > (int32_t)max_depth)
    fprintf(stderr, "  rec reached depth %d with max_call_depth %u\n", d1, max_depth);
  CHECK(d1 >= (int32_t)max_depth - 8 && d1 <= (int32_t)max_depth);
  CHECK_EQ_INT(d2, d1);

  /* A small value stack: 400 locals a frame run it out long before the frame limit
   * (20000). Plain "rec" needs no slots of its own across its call (the callee's frame
   * may overlap the caller's dead temporaries), so it only has to get deeper. */
  if (!small)
    return;
  int32_t b1 = recurse(small, "rec_big");
  int32_t b2 = recurse(small, "rec_big");
  if (b1 < 2 || b1 > (int32_t)(small_slots / 400))
    fprintf(stderr, "  rec_big reached depth %d with %u slots\n", b1, small_slots);
  CHECK(b1 >= 2 && b1 <= (int32_t)(small_slots / 400));
  CHECK_EQ_INT(b2, b1);
  int32_t r1 = recurse(small, "rec");
  if (r1 <= b1 || r1 > 20000)
    fprintf(stderr, "  rec reached depth %d with %u slots\n", r1, small_slots);
  CHECK(r1 > b1 && r1 <= 20000);
  /* Exhaustion under a host frame that re-entered: nothing leaks into the outer call. */
  returns(small, "outer", ARGS(zh_i32(2)), 8);
  CHECK_EQ_INT(recurse(small, "rec_big"), b1);
}

typedef struct interrupter {
  fixture *fx;
  long delay_ms;
  bool saw_start;
} interrupter;

static void *interrupter_main(void *arg) {
  interrupter *it = arg;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 5;
  int rc;
  while ((rc = sem_timedwait(&it->fx->started, &ts)) != 0 && errno == EINTR) {
  }
  it->saw_start = rc == 0;
  sleep_ms(it->delay_ms);
  zh_store_interrupt(it->fx->s);
  return NULL;
}

static void drain(fixture *fx) {
  while (sem_trywait(&fx->started) == 0) {
  }
}

static void test_interrupt(fixture *fx) {
  static const char *const loops[] = {"spin_n", "spin_call_n"};
  for (int k = 0; k < 2; k++) {
    /* A deadline, 50 ms after it is armed. */
    drain(fx);
    int before = fx->notified;
    double t0 = now_ms();
    zh_store_set_timeout(fx->s, 50u * 1000 * 1000);
    zh_error *err = invoke(fx, loops[k], NOARGS, NULL);
    double ms = now_ms() - t0;
    check_trap(err, loops[k], ZH_ERR_INTERRUPTED, ZH_TRAP_INTERRUPTED);
    CHECK_EQ_INT(fx->notified, before + 1);
    if (ms < 45 || ms > 1500)
      fprintf(stderr, "  %s with a 50 ms timeout stopped after %.1f ms\n", loops[k], ms);
    CHECK(ms >= 45 && ms <= 1500);
    still_works(fx, loops[k]);

    /* zh_store_interrupt from another thread, once the loop is running. */
    drain(fx);
    interrupter it = {fx, 10, false};
    pthread_t th;
    bool started = pthread_create(&th, NULL, interrupter_main, &it) == 0;
    CHECK(started);
    if (!started)
      continue;
    err = invoke(fx, loops[k], NOARGS, NULL);
    pthread_join(th, NULL);
    CHECK(it.saw_start);
    check_trap(err, loops[k], ZH_ERR_INTERRUPTED, ZH_TRAP_INTERRUPTED);
    still_works(fx, loops[k]);
  }
  /* An interrupt raised before the call stops the next call. */
  zh_store_interrupt(fx->s);
  traps(fx, "spin", NOARGS, ZH_ERR_INTERRUPTED, ZH_TRAP_INTERRUPTED);
  /* A disarmed deadline does not fire (call_indirect checks for interrupts). */
  zh_store_set_timeout(fx->s, 20u * 1000 * 1000);
  zh_store_set_timeout(fx->s, 0);
  sleep_ms(40);
  returns(fx, "cind", ARGS(zh_i32(0)), 3);
  /* A deadline that expired between calls is not charged to the next one once a new
   * deadline is armed. */
  zh_store_set_timeout(fx->s, 10u * 1000 * 1000);
  sleep_ms(40);
  zh_store_set_timeout(fx->s, 1000u * 1000 * 1000);
  returns(fx, "cind", ARGS(zh_i32(0)), 3);
  zh_store_set_timeout(fx->s, 0);
}

/* zh_template_new runs the start function in a private store; the engine's
 * template_start_timeout_ns is what stops one that never returns. */
static void test_template_start_timeout(void) {
  zh_engine_config cfg = {.template_start_timeout_ns = 50u * 1000 * 1000};
  zh_engine *engine = NULL;
  zh_error *err = zh_engine_new(&cfg, &engine);
  CHECK(err == NULL);
  if (err) {
    zh_error_free(err);
    return;
  }
  wmod m;
  wm_init(&m);
  m.start = wm_func(&m, ":", "", NULL, "03 40 0c 00 0b 0b"); /* loop br 0 end */
  buf bytes = wm_finish(&m);
  zh_module *mod = load(engine, &bytes, "start-loop");
  buf_free(&bytes);
  if (mod) {
    zh_template *tpl = NULL;
    double t0 = now_ms();
    err = zh_template_new(engine, mod, NULL, 0, &tpl);
    double ms = now_ms() - t0;
    CHECK(tpl == NULL);
    CHECK(err != NULL && zh_error_status(err) == ZH_ERR_INTERRUPTED);
    CHECK(ms >= 45 && ms <= 1500);
    zh_error_free(err);
    zh_template_free(tpl);
    zh_module_free(mod);
  }
  zh_engine_free(engine);
}

static void test_host_errors(fixture *fx) {
  /* Any error status from a host function comes out unchanged. */
  zh_error *err = invoke(fx, "call_fail", NOARGS, NULL);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_IO);
  CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_NONE);
  CHECK(strstr(zh_error_message(err), "disk on fire (errno 5)") != NULL);
  zh_error_free(err);
  still_works(fx, "call_fail");

  err = invoke(fx, "call_trap", NOARGS, NULL);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_TRAP);
  CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_HOST);
  CHECK(strstr(zh_error_message(err), "host said no") != NULL);
  zh_error_free(err);
  still_works(fx, "call_trap");

  err = invoke(fx, "call_exit", NOARGS, NULL);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_EXIT);
  CHECK_EQ_INT(zh_error_exit_code(err), 42);
  CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_NONE);
  zh_error_free(err);
  still_works(fx, "call_exit");
}

static void test_nested(fixture *fx) {
  /* wasm -> host -> wasm -> trap: the trap unwinds the inner call, the host passes it
   * on, and it unwinds the outer call. */
  int calls = fx->reentered;
  fx->inner_status = ZH_OK;
  traps(fx, "outer", ARGS(zh_i32(0)), ZH_ERR_TRAP, ZH_TRAP_INT_DIV_ZERO);
  CHECK_EQ_INT(fx->reentered, calls + 1);
  CHECK_EQ_INT(fx->inner_status, ZH_ERR_TRAP);
  CHECK_EQ_INT(fx->inner_trap, ZH_TRAP_INT_DIV_ZERO);
  /* The same through the guard-page fault path. */
  fx->inner_status = ZH_OK;
  traps(fx, "outer", ARGS(zh_i32(1)), ZH_ERR_TRAP, ZH_TRAP_MEMORY_OOB);
  CHECK_EQ_INT(fx->inner_status, ZH_ERR_TRAP);
  CHECK_EQ_INT(fx->inner_trap, ZH_TRAP_MEMORY_OOB);
  /* The host swallows the inner trap: the outer call carries on normally. */
  fx->inner_status = ZH_OK;
  returns(fx, "outer", ARGS(zh_i32(2)), 8);
  CHECK_EQ_INT(fx->inner_status, ZH_ERR_TRAP);
  CHECK_EQ_INT(fx->inner_trap, ZH_TRAP_INT_DIV_ZERO);
  still_works(fx, "outer");
}

/* Offset of "wasm function N" (not followed by another digit) in msg, or -1. */
static long frame_at(const char *msg, uint32_t index) {
  char pat[40];
  snprintf(pat, sizeof pat, "wasm function %u", index);
  size_t n = strlen(pat);
  for (const char *p = strstr(msg, pat); p; p = strstr(p + 1, pat))
    if (!isdigit((unsigned char)p[n]))
      return p - msg;
  return -1;
}

static void test_backtrace(fixture *fx, zh_engine *engine) {
  zh_error *err = invoke(fx, "deep", NOARGS, NULL);
  const char *msg = zh_error_message(err);
  long f3 = frame_at(msg, fn_deep3), f2 = frame_at(msg, fn_deep2), f1 = frame_at(msg, fn_deep1);
  if (f3 < 0 || f2 < f3 || f1 < f2)
    fprintf(stderr, "  backtrace of deep -> %u -> %u: \"%s\"\n", fn_deep2, fn_deep3, msg);
  CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_UNREACHABLE);
  CHECK(f3 >= 0);
  CHECK(f2 > f3 && f1 > f2); /* innermost first */
  zh_error_free(err);

  /* The same depth, but the trap comes from the guard-page fault handler. */
  err = invoke(fx, "deep_oob", NOARGS, NULL);
  msg = zh_error_message(err);
  CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_MEMORY_OOB);
  if (frame_at(msg, fn_deepo3) < 0)
    fprintf(stderr, "  no backtrace in a guard-page trap three calls deep: \"%s\"\n", msg);
  CHECK(frame_at(msg, fn_deepo3) >= 0);
  zh_error_free(err);
  still_works(fx, "deep_oob");

  /* With a name section, the names appear; indices count the import first. */
  wmod m;
  wm_init(&m);
  wm_import_func(&m, "env", "host", ":");
  wm_func(&m, ":", "", "alpha", "10 02 0b");
  wm_func(&m, ":", "", NULL, "10 03 0b");
  wm_func(&m, ":", "", NULL, "00 0b");
  wm_name(&m, 0, "imported");
  wm_name(&m, 1, "alpha");
  wm_name(&m, 2, "beta");
  wm_name(&m, 3, "gamma");
  buf bytes = wm_finish(&m);
  zh_module *mod = load(engine, &bytes, "named");
  buf_free(&bytes);
  if (!mod)
    return;
  zh_extern imp = {ZH_EXTERN_FUNC, {.func = host_func(fx->s, ":", h_notify, fx)}};
  zh_instance *inst = NULL;
  err = zh_instance_new(fx->s, mod, &imp, 1, &inst);
  CHECK(err == NULL);
  zh_error_free(err);
  if (inst) {
    err = zh_func_call(fx->s, zh_instance_func(inst, "alpha"), NULL, 0, NULL, 0);
    msg = zh_error_message(err);
    const char *g = strstr(msg, "gamma"), *b = strstr(msg, "beta"), *a = strstr(msg, "alpha");
    if (frame_at(msg, 3) < 0 || !g || !b || !a || !(g < b && b < a))
      fprintf(stderr, "  backtrace with names: \"%s\"\n", msg);
    CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_UNREACHABLE);
    CHECK(frame_at(msg, 3) >= 0 && frame_at(msg, 3) < frame_at(msg, 2));
    CHECK(g && b && a && g < b && b < a);
    zh_error_free(err);
  }
  still_works(fx, "a trap in another instance");
  zh_module_free(mod);
}

/* A start function that traps fails instantiation; the store stays usable. */
static void test_start_trap(fixture *fx, zh_engine *engine) {
  wmod m;
  wm_init(&m);
  m.start = wm_func(&m, ":", "", NULL, "00 0b");
  buf bytes = wm_finish(&m);
  zh_module *mod = load(engine, &bytes, "start");
  buf_free(&bytes);
  if (!mod)
    return;
  zh_instance *inst = NULL;
  zh_error *err = zh_instance_new(fx->s, mod, NULL, 0, &inst);
  CHECK(inst == NULL);
  check_trap(err, "start", ZH_ERR_TRAP, ZH_TRAP_UNREACHABLE);
  still_works(fx, "a trapping start function");
  zh_module_free(mod);
}

int main(void) {
  alarm(60); /* a loop that is never interrupted must not hang the suite */
  test_trap_texts();
  test_template_start_timeout();

  const uint32_t max_depth = 5000, small_slots = 8192;
  zh_engine_config cfg = {.max_call_depth = max_depth};
  zh_engine_config small_cfg = {.max_call_depth = 20000, .stack_slots = small_slots};
  zh_engine *engine = NULL, *small_engine = NULL;
  zh_error *err = zh_engine_new(&cfg, &engine);
  if (!err)
    err = zh_engine_new(&small_cfg, &small_engine);
  if (err) {
    fprintf(stderr, "engine: %s\n", zh_error_message(err));
    zh_error_free(err);
    return 1;
  }
  buf bytes = build_main();
  zh_module *mod = load(engine, &bytes, "traps");
  zh_module *small_mod = load(small_engine, &bytes, "traps");
  buf_free(&bytes);

  fixture fx, small;
  bool have_fx = fixture_open(&fx, engine, mod);
  bool have_small = fixture_open(&small, small_engine, small_mod);
  if (have_fx) {
    still_works(&fx, "instantiation");
    test_unreachable(&fx);
    test_memory_oob(&fx);
    test_table_oob(&fx);
    test_call_indirect(&fx);
    test_division(&fx);
    test_conversion(&fx);
    test_stack_overflow(&fx, max_depth, have_small ? &small : NULL, small_slots);
    test_interrupt(&fx);
    test_host_errors(&fx);
    test_nested(&fx);
    test_backtrace(&fx, engine);
    test_start_trap(&fx, engine);
  }
  fixture_close(&fx);
  fixture_close(&small);
  zh_module_free(mod);
  zh_module_free(small_mod);
  zh_engine_free(engine);
  zh_engine_free(small_engine);
  TEST_SUMMARY();
}
