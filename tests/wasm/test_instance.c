/* Instantiation, import matching, segments, exports, the object API and templates,
 * on hand-assembled modules. */
#include "testlib.h"
#include "wasm/objects.h"
#include "wasm/runtime.h"
#include "zerohop/engine.h"

#include <math.h>
#include <stdint.h>
#include <time.h>

/* ---- a tiny wasm byte builder ---- */

typedef struct bytes {
  uint8_t *p;
  size_t len, cap;
} bytes;

static void b_raw(bytes *b, const void *src, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n)
      cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      fprintf(stderr, "out of memory\n");
      exit(2);
    }
    b->p = p;
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void b_byte(bytes *b, uint8_t x) { b_raw(b, &x, 1); }

static void b_u32(bytes *b, uint64_t v) {
  do {
    uint8_t x = v & 0x7f;
    v >>= 7;
    b_byte(b, (uint8_t)(x | (v ? 0x80 : 0)));
  } while (v);
}

static void b_s64(bytes *b, int64_t v) {
  for (;;) {
    uint8_t x = (uint8_t)(v & 0x7f);
    v >>= 7; /* arithmetic shift on every compiler we support */
    bool done = (v == 0 && !(x & 0x40)) || (v == -1 && (x & 0x40));
    b_byte(b, (uint8_t)(x | (done ? 0 : 0x80)));
    if (done)
      break;
  }
}

static void b_name(bytes *b, const char *s) {
  b_u32(b, strlen(s));
  b_raw(b, s, strlen(s));
}

static void b_free(bytes *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static bytes mod_begin(void) {
  bytes m = {0};
  b_raw(&m, "\0asm\1\0\0\0", 8);
  return m;
}

/* Appends section `id` with `c` as its content, and frees `c`. */
static void b_section(bytes *m, uint8_t id, bytes *c) {
  b_byte(m, id);
  b_u32(m, c->len);
  b_raw(m, c->p, c->len);
  b_free(c);
}

static uint8_t vt(char c) {
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
  case 'e':
    return ZH_EXTERNREF;
  }
  return 0;
}

/* A function type from "params:results", e.g. "ii:i". */
static void b_sig(bytes *c, const char *sig) {
  const char *colon = strchr(sig, ':');
  b_byte(c, 0x60);
  b_u32(c, (size_t)(colon - sig));
  for (const char *p = sig; p < colon; p++)
    b_byte(c, vt(*p));
  b_u32(c, strlen(colon + 1));
  for (const char *p = colon + 1; *p; p++)
    b_byte(c, vt(*p));
}

static void type_section(bytes *m, int n, const char *const *sigs) {
  bytes c = {0};
  b_u32(&c, (uint64_t)n);
  for (int i = 0; i < n; i++)
    b_sig(&c, sigs[i]);
  b_section(m, 1, &c);
}

static void b_limits(bytes *c, uint32_t min, bool has_max, uint32_t max) {
  b_byte(c, has_max ? 1 : 0);
  b_u32(c, min);
  if (has_max)
    b_u32(c, max);
}

static void imp_head(bytes *c, const char *mod, const char *name, uint8_t kind) {
  b_name(c, mod);
  b_name(c, name);
  b_byte(c, kind);
}

static void expr_i32(bytes *c, int32_t v) {
  b_byte(c, 0x41);
  b_s64(c, v);
  b_byte(c, 0x0b);
}

static void expr_global(bytes *c, uint32_t idx) {
  b_byte(c, 0x23);
  b_u32(c, idx);
  b_byte(c, 0x0b);
}

static void export_entry(bytes *c, const char *name, uint8_t kind, uint32_t idx) {
  b_name(c, name);
  b_byte(c, kind);
  b_u32(c, idx);
}

/* A code-section body without locals; `code` ends with 0x0b. */
static void b_body(bytes *c, const uint8_t *code, size_t n) {
  b_u32(c, n + 1);
  b_byte(c, 0);
  b_raw(c, code, n);
}

static const uint8_t BODY_EMPTY[] = {0x0b};

/* ---- helpers ---- */

static zh_engine *engine;

static zh_module *load(bytes *m) {
  zh_module *mod = NULL;
  zh_error *err = zh_module_new(engine, m->p, m->len, "test", &mod);
  if (err)
    fprintf(stderr, "module error: %s\n", zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  b_free(m);
  return mod;
}

/* Checks the status (and that the message contains `text` when non-NULL); frees err. */
static bool expect(zh_error *err, zh_status status, const char *text) {
  bool ok = zh_error_status(err) == status;
  if (ok && text)
    ok = strstr(zh_error_message(err), text) != NULL;
  if (!ok)
    fprintf(stderr, "  expected %s%s%s, got %s: %s\n", zh_status_text(status), text ? " / " : "",
            text ? text : "", zh_status_text(zh_error_status(err)), zh_error_message(err));
  zh_error_free(err);
  return ok;
}

static zh_error *count_calls(zh_caller *caller, void *env, const zh_value *args,
                             zh_value *results) {
  (void)caller, (void)args, (void)results;
  int *n = env;
  (*n)++;
  return NULL;
}

static zh_error *fail_call(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller, (void)env, (void)args, (void)results;
  return zh_error_new(ZH_ERR_TRAP, "start refused");
}

static zh_error *add_one(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller, (void)env;
  results[0] = zh_i32(args[0].of.i32 + 1);
  return NULL;
}

static zh_func *host(zh_store *s, const char *sig, zh_host_fn fn, void *env) {
  zh_valtype ty[16];
  const char *colon = strchr(sig, ':');
  uint32_t np = (uint32_t)(colon - sig), nr = (uint32_t)strlen(colon + 1);
  for (uint32_t i = 0; i < np; i++)
    ty[i] = (zh_valtype)vt(sig[i]);
  for (uint32_t i = 0; i < nr; i++)
    ty[np + i] = (zh_valtype)vt(colon[1 + i]);
  zh_functype t = {np, nr, ty, ty + np};
  zh_func *f = zh_func_new_host(s, &t, fn, env);
  CHECK(f != NULL);
  return f;
}

static zh_extern ext_func(zh_func *f) {
  zh_extern x = {ZH_EXTERN_FUNC, {.func = f}};
  return x;
}
static zh_extern ext_table(zh_table *t) {
  zh_extern x = {ZH_EXTERN_TABLE, {.table = t}};
  return x;
}
static zh_extern ext_memory(zh_memory *m) {
  zh_extern x = {ZH_EXTERN_MEMORY, {.memory = m}};
  return x;
}
static zh_extern ext_global(zh_global *g) {
  zh_extern x = {ZH_EXTERN_GLOBAL, {.global = g}};
  return x;
}

static zh_table *new_table(zh_store *s, zh_valtype elem, uint32_t min, bool has_max, uint32_t max) {
  zh_limits lim = {min, max, has_max};
  zh_table *t = NULL;
  CHECK(expect(zh_table_new(s, elem, &lim, &t), ZH_OK, NULL));
  return t;
}

static zh_memory *new_memory(zh_store *s, uint32_t min, bool has_max, uint32_t max) {
  zh_limits lim = {min, max, has_max};
  zh_memory *m = NULL;
  CHECK(expect(zh_memory_new(s, &lim, &m), ZH_OK, NULL));
  return m;
}

static zh_global *new_global(zh_store *s, zh_value v, bool mut) {
  zh_global *g = NULL;
  CHECK(expect(zh_global_new(s, &v, mut, &g), ZH_OK, NULL));
  return g;
}

/* Instantiates and returns the status, freeing any error. */
static zh_status inst_status(zh_store *s, zh_module *m, const zh_extern *imp, size_t n,
                             const char *text) {
  zh_instance *inst = NULL;
  zh_error *err = zh_instance_new(s, m, imp, n, &inst);
  zh_status st = zh_error_status(err);
  if (text && err && !strstr(zh_error_message(err), text)) {
    fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", zh_error_message(err), text);
    st = (zh_status)-1;
  }
  CHECK((inst != NULL) == (err == NULL));
  zh_error_free(err);
  return st;
}

/* ---- unlinkable imports ---- */

static void test_import_func(void) {
  bytes m = mod_begin();
  const char *sigs[] = {"i:i"};
  type_section(&m, 1, sigs);
  bytes c = {0};
  b_u32(&c, 1);
  imp_head(&c, "env", "f", 0);
  b_u32(&c, 0);
  b_section(&m, 2, &c);
  zh_module *mod = load(&m);
  if (!mod)
    return;

  zh_store *s;
  CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
  zh_extern ok = ext_func(host(s, "i:i", add_one, NULL));
  CHECK_EQ_INT(inst_status(s, mod, &ok, 1, NULL), ZH_OK);
  zh_extern wrong = ext_func(host(s, ":", count_calls, NULL));
  CHECK_EQ_INT(inst_status(s, mod, &wrong, 1, "incompatible import type"), ZH_ERR_UNLINKABLE);
  zh_extern wrong2 = ext_func(host(s, "i:I", add_one, NULL));
  CHECK_EQ_INT(inst_status(s, mod, &wrong2, 1, "\"env\".\"f\""), ZH_ERR_UNLINKABLE);
  zh_extern kind = ext_memory(new_memory(s, 1, false, 0));
  CHECK_EQ_INT(inst_status(s, mod, &kind, 1, "incompatible import type"), ZH_ERR_UNLINKABLE);
  zh_extern null = ext_func(NULL);
  CHECK_EQ_INT(inst_status(s, mod, &null, 1, "unknown import"), ZH_ERR_UNLINKABLE);
  CHECK_EQ_INT(inst_status(s, mod, NULL, 0, "unknown import"), ZH_ERR_UNLINKABLE);
  zh_extern two[2] = {ok, ok};
  CHECK_EQ_INT(inst_status(s, mod, two, 2, NULL), ZH_ERR_USAGE);

  /* The message names both types. */
  zh_instance *inst;
  zh_error *err = zh_instance_new(s, mod, &wrong, 1, &inst);
  CHECK(err && strstr(zh_error_message(err), "func [i32] -> [i32]"));
  CHECK(err && strstr(zh_error_message(err), "func [] -> []"));
  zh_error_free(err);
  zh_store_free(s);
  zh_module_free(mod);
}

static void test_import_table(void) {
  bytes m = mod_begin();
  bytes c = {0};
  b_u32(&c, 1);
  imp_head(&c, "env", "t", 1);
  b_byte(&c, ZH_FUNCREF);
  b_limits(&c, 2, true, 5);
  b_section(&m, 2, &c);
  zh_module *mod = load(&m);
  if (!mod)
    return;

  zh_store *s;
  CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
  zh_extern x = ext_table(new_table(s, ZH_FUNCREF, 2, true, 5));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, NULL), ZH_OK);
  x = ext_table(new_table(s, ZH_FUNCREF, 3, true, 4));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, NULL), ZH_OK);
  x = ext_table(new_table(s, ZH_FUNCREF, 2, false, 0));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, "incompatible import type"), ZH_ERR_UNLINKABLE);
  x = ext_table(new_table(s, ZH_FUNCREF, 2, true, 6));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, "incompatible import type"), ZH_ERR_UNLINKABLE);
  x = ext_table(new_table(s, ZH_EXTERNREF, 2, true, 5));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, "incompatible import type"), ZH_ERR_UNLINKABLE);
  zh_table *small = new_table(s, ZH_FUNCREF, 1, true, 5);
  x = ext_table(small);
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, "table funcref min 1 max 5"), ZH_ERR_UNLINKABLE);
  /* Matching uses the current size, not the declared minimum. */
  CHECK_EQ_INT(zh_table_grow(small, 1, NULL), 1);
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, NULL), ZH_OK);
  x = ext_global(new_global(s, zh_i32(0), false));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, "incompatible import type"), ZH_ERR_UNLINKABLE);
  zh_store_free(s);
  zh_module_free(mod);
}

static void test_import_memory(void) {
  bytes m = mod_begin();
  bytes c = {0};
  b_u32(&c, 1);
  imp_head(&c, "env", "m", 2);
  b_limits(&c, 1, true, 2);
  b_section(&m, 2, &c);
  zh_module *mod = load(&m);
  if (!mod)
    return;

  zh_store *s;
  CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
  zh_extern x = ext_memory(new_memory(s, 1, true, 2));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, NULL), ZH_OK);
  x = ext_memory(new_memory(s, 2, true, 2));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, NULL), ZH_OK);
  x = ext_memory(new_memory(s, 1, false, 0));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, "incompatible import type"), ZH_ERR_UNLINKABLE);
  x = ext_memory(new_memory(s, 1, true, 3));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, "memory min 1 max 3"), ZH_ERR_UNLINKABLE);
  zh_memory *small = new_memory(s, 0, true, 2);
  x = ext_memory(small);
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, "incompatible import type"), ZH_ERR_UNLINKABLE);
  uint32_t old = 99;
  CHECK(expect(zh_memory_grow(small, 1, &old), ZH_OK, NULL));
  CHECK_EQ_INT(old, 0);
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, NULL), ZH_OK);
  x = ext_table(new_table(s, ZH_FUNCREF, 1, true, 2));
  CHECK_EQ_INT(inst_status(s, mod, &x, 1, "incompatible import type"), ZH_ERR_UNLINKABLE);
  zh_store_free(s);
  zh_module_free(mod);
}

static void test_import_global(void) {
  bytes m = mod_begin();
  bytes c = {0};
  b_u32(&c, 2);
  imp_head(&c, "env", "g", 3);
  b_byte(&c, ZH_I32);
  b_byte(&c, 0);
  imp_head(&c, "env", "mg", 3);
  b_byte(&c, ZH_F64);
  b_byte(&c, 1);
  b_section(&m, 2, &c);
  zh_module *mod = load(&m);
  if (!mod)
    return;

  zh_store *s;
  CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
  zh_extern x[2] = {ext_global(new_global(s, zh_i32(1), false)),
                    ext_global(new_global(s, zh_f64(1.5), true))};
  CHECK_EQ_INT(inst_status(s, mod, x, 2, NULL), ZH_OK);
  zh_extern y[2] = {ext_global(new_global(s, zh_i32(1), true)), x[1]};
  CHECK_EQ_INT(inst_status(s, mod, y, 2, "expected global i32, got global mut i32"),
               ZH_ERR_UNLINKABLE);
  zh_extern z[2] = {ext_global(new_global(s, zh_i64(1), false)), x[1]};
  CHECK_EQ_INT(inst_status(s, mod, z, 2, "incompatible import type"), ZH_ERR_UNLINKABLE);
  zh_extern w[2] = {x[0], ext_global(new_global(s, zh_f64(1.5), false))};
  CHECK_EQ_INT(inst_status(s, mod, w, 2, "\"env\".\"mg\""), ZH_ERR_UNLINKABLE);
  CHECK_EQ_INT(inst_status(s, mod, x, 1, "unknown import \"env\".\"mg\""), ZH_ERR_UNLINKABLE);
  zh_store_free(s);
  zh_module_free(mod);
}

/* ---- globals ---- */

static void test_globals(void) {
  bytes m = mod_begin();
  const char *sigs[] = {":"};
  type_section(&m, 1, sigs);
  bytes c = {0};
  b_u32(&c, 1);
  imp_head(&c, "env", "g", 3);
  b_byte(&c, ZH_I32);
  b_byte(&c, 0);
  b_section(&m, 2, &c);
  b_u32(&c, 1); /* function section: one function of type 0 */
  b_u32(&c, 0);
  b_section(&m, 3, &c);
  b_u32(&c, 4); /* globals 1..4 */
  b_byte(&c, ZH_I32);
  b_byte(&c, 0);
  expr_global(&c, 0);
  b_byte(&c, ZH_I64);
  b_byte(&c, 1);
  b_byte(&c, 0x42);
  b_s64(&c, -5);
  b_byte(&c, 0x0b);
  b_byte(&c, ZH_F64);
  b_byte(&c, 0);
  b_byte(&c, 0x44);
  double d = -2.25;
  b_raw(&c, &d, 8); /* little-endian host */
  b_byte(&c, 0x0b);
  b_byte(&c, ZH_FUNCREF);
  b_byte(&c, 0);
  b_byte(&c, 0xd2);
  b_u32(&c, 0);
  b_byte(&c, 0x0b);
  b_section(&m, 6, &c);
  b_u32(&c, 5);
  export_entry(&c, "g1", 3, 1);
  export_entry(&c, "g2", 3, 2);
  export_entry(&c, "g3", 3, 3);
  export_entry(&c, "g4", 3, 4);
  export_entry(&c, "f", 0, 0);
  b_section(&m, 7, &c);
  b_u32(&c, 1);
  b_body(&c, BODY_EMPTY, sizeof BODY_EMPTY);
  b_section(&m, 10, &c);
  zh_module *mod = load(&m);
  if (!mod)
    return;

  zh_store *s;
  CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
  zh_extern imp = ext_global(new_global(s, zh_i32(1234), false));
  zh_instance *inst = NULL;
  CHECK(expect(zh_instance_new(s, mod, &imp, 1, &inst), ZH_OK, NULL));
  if (inst) {
    zh_extern x;
    CHECK(zh_instance_export(inst, "g1", &x) && x.kind == ZH_EXTERN_GLOBAL);
    zh_value v = zh_global_get(x.of.global);
    CHECK_EQ_INT(v.type, ZH_I32);
    CHECK_EQ_INT(v.of.i32, 1234);
    CHECK(expect(zh_global_set(x.of.global, &v), ZH_ERR_USAGE, "immutable"));
    CHECK(zh_instance_export(inst, "g2", &x));
    v = zh_global_get(x.of.global);
    CHECK_EQ_INT(v.type, ZH_I64);
    CHECK_EQ_INT(v.of.i64, -5);
    zh_value nv = zh_i64(77);
    CHECK(expect(zh_global_set(x.of.global, &nv), ZH_OK, NULL));
    CHECK_EQ_INT(zh_global_get(x.of.global).of.i64, 77);
    nv = zh_i32(1);
    CHECK(expect(zh_global_set(x.of.global, &nv), ZH_ERR_USAGE, NULL));
    CHECK(zh_instance_export(inst, "g3", &x));
    v = zh_global_get(x.of.global);
    CHECK_EQ_INT(v.type, ZH_F64);
    CHECK(zh_value_f64(&v) == -2.25);
    CHECK(zh_instance_export(inst, "g4", &x));
    v = zh_global_get(x.of.global);
    CHECK_EQ_INT(v.type, ZH_FUNCREF);
    CHECK(v.of.funcref != NULL && v.of.funcref == zh_instance_func(inst, "f"));
  }
  zh_store_free(s);
  zh_module_free(mod);
}

/* ---- segments ---- */

/* Imports global i32 "env"."base"; defines memory 1, table 4, functions f0, f1; active
 * elem at 1: [f1, f0]; passive elem [f0]; declarative elem [f1]; active data "hello" at
 * 16 and "xy" at base; passive data "zz". */
static zh_module *segments_module(void) {
  bytes m = mod_begin();
  const char *sigs[] = {":"};
  type_section(&m, 1, sigs);
  bytes c = {0};
  b_u32(&c, 1);
  imp_head(&c, "env", "base", 3);
  b_byte(&c, ZH_I32);
  b_byte(&c, 0);
  b_section(&m, 2, &c);
  b_u32(&c, 2);
  b_u32(&c, 0);
  b_u32(&c, 0);
  b_section(&m, 3, &c);
  b_u32(&c, 1);
  b_byte(&c, ZH_FUNCREF);
  b_limits(&c, 4, false, 0);
  b_section(&m, 4, &c);
  b_u32(&c, 1);
  b_limits(&c, 1, false, 0);
  b_section(&m, 5, &c);
  b_u32(&c, 4);
  export_entry(&c, "f0", 0, 0);
  export_entry(&c, "f1", 0, 1);
  export_entry(&c, "tab", 1, 0);
  export_entry(&c, "mem", 2, 0);
  b_section(&m, 7, &c);
  b_u32(&c, 3);
  b_u32(&c, 0); /* active, table 0, funcref indices */
  expr_i32(&c, 1);
  b_u32(&c, 2);
  b_u32(&c, 1);
  b_u32(&c, 0);
  b_u32(&c, 1); /* passive */
  b_byte(&c, 0);
  b_u32(&c, 1);
  b_u32(&c, 0);
  b_u32(&c, 3); /* declarative */
  b_byte(&c, 0);
  b_u32(&c, 1);
  b_u32(&c, 1);
  b_section(&m, 9, &c);
  b_u32(&c, 3);
  b_section(&m, 12, &c);
  b_u32(&c, 2);
  b_body(&c, BODY_EMPTY, sizeof BODY_EMPTY);
  b_body(&c, BODY_EMPTY, sizeof BODY_EMPTY);
  b_section(&m, 10, &c);
  b_u32(&c, 3);
  b_u32(&c, 0);
  expr_i32(&c, 16);
  b_name(&c, "hello");
  b_u32(&c, 0);
  expr_global(&c, 0);
  b_name(&c, "xy");
  b_u32(&c, 1);
  b_name(&c, "zz");
  b_section(&m, 11, &c);
  return load(&m);
}

static void test_segments(void) {
  zh_module *mod = segments_module();
  if (!mod)
    return;
  zh_store *s;
  CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
  zh_extern imp = ext_global(new_global(s, zh_i32(100), false));
  zh_instance *inst = NULL;
  CHECK(expect(zh_instance_new(s, mod, &imp, 1, &inst), ZH_OK, NULL));
  if (inst) {
    zh_func *f0 = zh_instance_func(inst, "f0"), *f1 = zh_instance_func(inst, "f1");
    CHECK(f0 && f1 && f0 != f1);
    zh_extern x;
    CHECK(zh_instance_export(inst, "tab", &x) && x.kind == ZH_EXTERN_TABLE);
    zh_table *t = x.of.table;
    CHECK_EQ_INT(zh_table_size(t), 4);
    zh_func *want[4] = {NULL, f1, f0, NULL};
    for (uint32_t i = 0; i < 4; i++) {
      zh_value v;
      CHECK(expect(zh_table_get(t, i, &v), ZH_OK, NULL));
      CHECK_EQ_INT(v.type, ZH_FUNCREF);
      CHECK(v.of.funcref == want[i]);
    }
    zh_value v;
    CHECK(expect(zh_table_get(t, 4, &v), ZH_ERR_TRAP, "out of bounds table access"));
    zh_memory *mem = zh_instance_memory(inst, "mem");
    CHECK(mem != NULL && mem == inst->memory);
    CHECK_EQ_INT(zh_memory_size(mem), 65536);
    CHECK(memcmp(zh_memory_data(mem) + 16, "hello", 5) == 0);
    CHECK(memcmp(zh_memory_data(mem) + 100, "xy", 2) == 0);
    CHECK_EQ_INT(zh_memory_data(mem)[15], 0);
    /* Active and declarative segments are dropped; passive ones stay. */
    CHECK_EQ_INT(inst->elem_len[0], 0);
    CHECK_EQ_INT(inst->elem_len[1], 1);
    CHECK(inst->elem_items[1][0] == f0);
    CHECK_EQ_INT(inst->elem_len[2], 0);
    CHECK_EQ_INT(inst->data_len[0], 0);
    CHECK_EQ_INT(inst->data_len[1], 0);
    CHECK_EQ_INT(inst->data_len[2], 2);
  }
  zh_store_free(s);
  zh_module_free(mod);
}

/* Imports memory "env"."m" (min 1) and table "env"."t" (min 1); one function; elem
 * segments at elem0 and elem1; data segments "ok" at 0 and "x" at data1. */
static zh_module *partial_module(int32_t elem1, int32_t data1) {
  bytes m = mod_begin();
  const char *sigs[] = {":"};
  type_section(&m, 1, sigs);
  bytes c = {0};
  b_u32(&c, 2);
  imp_head(&c, "env", "m", 2);
  b_limits(&c, 1, false, 0);
  imp_head(&c, "env", "t", 1);
  b_byte(&c, ZH_FUNCREF);
  b_limits(&c, 1, false, 0);
  b_section(&m, 2, &c);
  b_u32(&c, 1);
  b_u32(&c, 0);
  b_section(&m, 3, &c);
  b_u32(&c, 2);
  b_u32(&c, 0);
  expr_i32(&c, 0);
  b_u32(&c, 1);
  b_u32(&c, 0);
  b_u32(&c, 0);
  expr_i32(&c, elem1);
  b_u32(&c, 1);
  b_u32(&c, 0);
  b_section(&m, 9, &c);
  b_u32(&c, 1);
  b_body(&c, BODY_EMPTY, sizeof BODY_EMPTY);
  b_section(&m, 10, &c);
  b_u32(&c, 2);
  b_u32(&c, 0);
  expr_i32(&c, 0);
  b_name(&c, "ok");
  b_u32(&c, 0);
  expr_i32(&c, data1);
  b_name(&c, "x");
  b_section(&m, 11, &c);
  return load(&m);
}

static void test_segment_traps(void) {
  /* Data out of bounds: earlier segments stay written in the shared memory. */
  zh_module *mod = partial_module(0, 65536);
  if (mod) {
    zh_store *s;
    CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
    zh_memory *mem = new_memory(s, 1, false, 0);
    zh_table *tab = new_table(s, ZH_FUNCREF, 1, false, 0);
    zh_extern imp[2] = {ext_memory(mem), ext_table(tab)};
    zh_instance *inst = (zh_instance *)1;
    zh_error *err = zh_instance_new(s, mod, imp, 2, &inst);
    CHECK(inst == NULL);
    CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_MEMORY_OOB);
    CHECK(expect(err, ZH_ERR_TRAP, "out of bounds memory access"));
    CHECK(memcmp(zh_memory_data(mem), "ok", 2) == 0);
    /* The failed instance's function stays in the imported table and stays valid. */
    zh_value v;
    CHECK(expect(zh_table_get(tab, 0, &v), ZH_OK, NULL));
    CHECK(v.of.funcref != NULL);
    if (v.of.funcref) {
      zh_functype ft;
      zh_func_type(v.of.funcref, &ft);
      CHECK_EQ_INT(ft.nparams + ft.nresults, 0);
    }
    zh_store_free(s);
    zh_module_free(mod);
  }
  /* Element segment out of bounds: the first one is applied, data is not. */
  mod = partial_module(1, 0);
  if (mod) {
    zh_store *s;
    CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
    zh_memory *mem = new_memory(s, 1, false, 0);
    zh_table *tab = new_table(s, ZH_FUNCREF, 1, false, 0);
    zh_extern imp[2] = {ext_memory(mem), ext_table(tab)};
    zh_instance *inst = NULL;
    zh_error *err = zh_instance_new(s, mod, imp, 2, &inst);
    CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_TABLE_OOB);
    CHECK(expect(err, ZH_ERR_TRAP, "out of bounds table access"));
    zh_value v;
    CHECK(expect(zh_table_get(tab, 0, &v), ZH_OK, NULL));
    CHECK(v.of.funcref != NULL);
    CHECK_EQ_INT(zh_memory_data(mem)[0], 0);
    /* Offset == size with one item traps; with table grown it links. */
    CHECK_EQ_INT(zh_table_grow(tab, 1, NULL), 1);
    CHECK_EQ_INT(inst_status(s, mod, imp, 2, NULL), ZH_OK);
    /* Segments apply in order: "ok" at 0, then "x" over its first byte. */
    CHECK(memcmp(zh_memory_data(mem), "xk", 3) == 0);
    zh_store_free(s);
    zh_module_free(mod);
  }
  /* A defined memory, data past its end. */
  bytes m = mod_begin();
  bytes c = {0};
  b_u32(&c, 1);
  b_limits(&c, 1, false, 0);
  b_section(&m, 5, &c);
  b_u32(&c, 1);
  b_u32(&c, 0);
  expr_i32(&c, 65534);
  b_name(&c, "abc");
  b_section(&m, 11, &c);
  mod = load(&m);
  if (mod) {
    zh_store *s;
    CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
    zh_instance *inst;
    zh_error *err = zh_instance_new(s, mod, NULL, 0, &inst);
    CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_MEMORY_OOB);
    CHECK(expect(err, ZH_ERR_TRAP, NULL));
    zh_store_free(s);
    zh_module_free(mod);
  }
}

/* ---- exports ---- */

static void test_exports(void) {
  zh_module *mod = segments_module();
  if (!mod)
    return;
  zh_store *s;
  CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
  zh_extern imp = ext_global(new_global(s, zh_i32(0), false));
  zh_instance *inst = NULL;
  CHECK(expect(zh_instance_new(s, mod, &imp, 1, &inst), ZH_OK, NULL));
  if (inst) {
    zh_extern x;
    CHECK(zh_instance_export(inst, "f0", &x) && x.kind == ZH_EXTERN_FUNC);
    CHECK(x.of.func == inst->funcs[0] && x.of.func->inst == inst);
    CHECK(zh_instance_export(inst, "mem", &x) && x.kind == ZH_EXTERN_MEMORY);
    CHECK(zh_instance_export(inst, "tab", &x) && x.kind == ZH_EXTERN_TABLE);
    CHECK(!zh_instance_export(inst, "nope", &x));
    CHECK(!zh_instance_export(inst, "f", &x));
    CHECK(!zh_instance_export(inst, "f00", &x));
    CHECK(zh_instance_func(inst, "mem") == NULL);
    CHECK(zh_instance_memory(inst, "f0") == NULL);
    CHECK(zh_instance_memory(inst, "missing") == NULL);
    CHECK(zh_instance_module(inst) == mod);
    zh_functype ft;
    zh_func_type(zh_instance_func(inst, "f1"), &ft);
    CHECK_EQ_INT(ft.nparams, 0);
    CHECK_EQ_INT(ft.nresults, 0);
  }
  zh_store_free(s);
  zh_module_free(mod);
}

/* ---- the object API ---- */

static void test_objects(void) {
  /* Floats keep their bits, NaN payloads included. */
  zh_value v = zh_f32(1.5f);
  CHECK_EQ_INT(v.of.f32_bits, 0x3fc00000);
  CHECK(zh_value_f32(&v) == 1.5f);
  v.of.f32_bits = 0x7fa00001;
  float f = zh_value_f32(&v);
  CHECK(isnan(f));
  CHECK_EQ_INT(zh_f32(f).of.f32_bits, 0x7fa00001);
  v = zh_f64(-0.0);
  CHECK(v.of.f64_bits == 0x8000000000000000ull);
  CHECK_EQ_INT(zh_value_to_slot(&(zh_value){ZH_I32, {.i32 = -1}}), 0xffffffffll);
  CHECK_EQ_INT(zh_slot_to_value(ZH_I32, 0xffffffffull).of.i32, -1);
  CHECK_EQ_INT(zh_slot_to_value(ZH_I64, 0xffffffffffffffffull).of.i64, -1);

  zh_store *s;
  CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
  zh_func *inc = host(s, "i:i", add_one, NULL);
  zh_functype ft;
  zh_func_type(inc, &ft);
  CHECK_EQ_INT(ft.nparams, 1);
  CHECK_EQ_INT(ft.nresults, 1);
  CHECK_EQ_INT(ft.params[0], ZH_I32);
  CHECK_EQ_INT(ft.results[0], ZH_I32);
  zh_value arg = zh_i32(41), res;
  CHECK(expect(zh_func_call(s, inc, &arg, 1, &res, 1), ZH_OK, NULL));
  CHECK_EQ_INT(res.type, ZH_I32);
  CHECK_EQ_INT(res.of.i32, 42);
  CHECK(expect(zh_func_call(s, inc, &arg, 0, &res, 1), ZH_ERR_USAGE, "arguments"));
  CHECK(expect(zh_func_call(s, inc, &arg, 1, &res, 0), ZH_ERR_USAGE, "results"));
  zh_value bad = zh_i64(41);
  CHECK(expect(zh_func_call(s, inc, &bad, 1, &res, 1), ZH_ERR_USAGE, "expected i32"));
  /* Same type, same canonical id. */
  zh_func *inc2 = host(s, "i:i", add_one, NULL);
  zh_func *other = host(s, "I:i", add_one, NULL);
  CHECK(inc2->type_id == inc->type_id && other->type_id != inc->type_id);

  zh_memory *mem = new_memory(s, 1, true, 2);
  uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8] = {0};
  CHECK(expect(zh_memory_write(mem, 65532, buf, 4), ZH_OK, NULL));
  CHECK(expect(zh_memory_read(mem, 65532, back, 4), ZH_OK, NULL));
  CHECK(memcmp(buf, back, 4) == 0);
  zh_error *err = zh_memory_write(mem, 65533, buf, 4);
  CHECK_EQ_INT(zh_error_trap(err), ZH_TRAP_MEMORY_OOB);
  CHECK(expect(err, ZH_ERR_TRAP, "out of bounds memory access"));
  CHECK(expect(zh_memory_read(mem, UINT64_MAX - 1, back, 4), ZH_ERR_TRAP, NULL));
  CHECK(expect(zh_memory_read(mem, 65536, back, 0), ZH_OK, NULL));
  uint32_t old = 0;
  CHECK(expect(zh_memory_grow(mem, 1, &old), ZH_OK, NULL));
  CHECK_EQ_INT(old, 1);
  CHECK(expect(zh_memory_grow(mem, 1, &old), ZH_ERR_RESOURCE, NULL));
  CHECK_EQ_INT(zh_memory_size(mem), 2 * 65536);
  zh_limits lim = {3, 2, true};
  zh_memory *m2 = NULL;
  CHECK(expect(zh_memory_new(s, &lim, &m2), ZH_ERR_USAGE, NULL));

  zh_table *t = new_table(s, ZH_FUNCREF, 2, true, 3);
  zh_value fv = {ZH_FUNCREF, {.funcref = inc}};
  CHECK(expect(zh_table_set(t, 1, &fv), ZH_OK, NULL));
  CHECK(expect(zh_table_get(t, 1, &res), ZH_OK, NULL));
  CHECK(res.type == ZH_FUNCREF && res.of.funcref == inc);
  CHECK(expect(zh_table_set(t, 2, &fv), ZH_ERR_TRAP, "out of bounds table access"));
  CHECK(expect(zh_table_set(t, 0, &arg), ZH_ERR_USAGE, NULL));
  CHECK_EQ_INT(zh_table_grow(t, 1, inc), 2);
  CHECK_EQ_INT(zh_table_grow(t, 1, NULL), -1);
  CHECK_EQ_INT(zh_table_grow(t, 0, NULL), 3);
  CHECK(expect(zh_table_get(t, 2, &res), ZH_OK, NULL));
  CHECK(res.of.funcref == inc);
  zh_table *et = new_table(s, ZH_EXTERNREF, 0, false, 0);
  CHECK_EQ_INT(zh_table_grow(et, 0xffffffffu, NULL), -1);
  CHECK_EQ_INT(zh_table_grow(et, 2, (void *)(uintptr_t)7), 0);
  CHECK(expect(zh_table_get(et, 1, &res), ZH_OK, NULL));
  CHECK(res.type == ZH_EXTERNREF && res.of.externref == (void *)(uintptr_t)7);

  zh_global *g = new_global(s, zh_f32(2.5f), true);
  zh_value gv = zh_global_get(g);
  CHECK(gv.type == ZH_F32 && zh_value_f32(&gv) == 2.5f);
  zh_value nv = zh_f32(-1.0f);
  CHECK(expect(zh_global_set(g, &nv), ZH_OK, NULL));
  CHECK(zh_global_get(g).of.f32_bits == nv.of.f32_bits);
  zh_store_free(s);
}

/* ---- callers ---- */

typedef struct seen {
  zh_store *store;
  zh_instance *inst;
  zh_memory *mem;
  int calls;
} seen;

static zh_error *record_caller(zh_caller *caller, void *env, const zh_value *args,
                               zh_value *results) {
  (void)args, (void)results;
  seen *w = env;
  w->store = zh_caller_store(caller);
  w->inst = zh_caller_instance(caller);
  w->mem = zh_caller_memory(caller);
  w->calls++;
  return NULL;
}

static void test_caller(void) {
  bytes m = mod_begin();
  const char *sigs[] = {":"};
  type_section(&m, 1, sigs);
  bytes c = {0};
  b_u32(&c, 1);
  imp_head(&c, "env", "h", 0);
  b_u32(&c, 0);
  b_section(&m, 2, &c);
  b_u32(&c, 1);
  b_u32(&c, 0);
  b_section(&m, 3, &c);
  b_u32(&c, 1);
  b_limits(&c, 1, false, 0);
  b_section(&m, 5, &c);
  b_u32(&c, 1);
  export_entry(&c, "run", 0, 1);
  b_section(&m, 7, &c);
  b_u32(&c, 1);
  static const uint8_t run[] = {0x10, 0x00, 0x0b};
  b_body(&c, run, sizeof run);
  b_section(&m, 10, &c);
  zh_module *mod = load(&m);
  if (!mod)
    return;
  zh_store *s, *other;
  CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
  CHECK(expect(zh_store_new(engine, &other), ZH_OK, NULL));
  seen w = {0};
  zh_func *h = host(s, ":", record_caller, &w);
  zh_extern imp = ext_func(h);
  zh_instance *inst = NULL;
  CHECK(expect(zh_instance_new(s, mod, &imp, 1, &inst), ZH_OK, NULL));
  if (inst) {
    CHECK(expect(zh_func_call(s, zh_instance_func(inst, "run"), NULL, 0, NULL, 0), ZH_OK, NULL));
    CHECK_EQ_INT(w.calls, 1);
    CHECK(w.store == s && w.inst == inst && w.mem == inst->memory && w.mem != NULL);
    CHECK(expect(zh_func_call(s, h, NULL, 0, NULL, 0), ZH_OK, NULL));
    CHECK_EQ_INT(w.calls, 2);
    CHECK(w.store == s && w.inst == NULL && w.mem == NULL);
    CHECK(expect(zh_func_call(other, zh_instance_func(inst, "run"), NULL, 0, NULL, 0), ZH_ERR_USAGE,
                 "another store"));
  }
  zh_store_free(other);
  zh_store_free(s);
  zh_module_free(mod);
}

/* ---- templates ---- */

/* Imports "env"."start" : [] -> [] (the start function). Defines getg : [] -> [i32]
 * (global.get 0), load : [] -> [i32] (i32.load 0), f : [] -> []; a table [f, start];
 * a passive elem [f]; memory of `pages` pages holding `data` at 0; a mutable i32
 * global = 7; an immutable funcref global = ref.func f. */
static zh_module *template_module(uint32_t pages, const uint8_t *data, size_t len) {
  bytes m = mod_begin();
  const char *sigs[] = {":", ":i"};
  type_section(&m, 2, sigs);
  bytes c = {0};
  b_u32(&c, 1);
  imp_head(&c, "env", "start", 0);
  b_u32(&c, 0);
  b_section(&m, 2, &c);
  b_u32(&c, 3);
  b_u32(&c, 1);
  b_u32(&c, 1);
  b_u32(&c, 0);
  b_section(&m, 3, &c);
  b_u32(&c, 1);
  b_byte(&c, ZH_FUNCREF);
  b_limits(&c, 2, false, 0);
  b_section(&m, 4, &c);
  b_u32(&c, 1);
  b_limits(&c, pages, false, 0);
  b_section(&m, 5, &c);
  b_u32(&c, 2);
  b_byte(&c, ZH_I32);
  b_byte(&c, 1);
  expr_i32(&c, 7);
  b_byte(&c, ZH_FUNCREF);
  b_byte(&c, 0);
  b_byte(&c, 0xd2);
  b_u32(&c, 3);
  b_byte(&c, 0x0b);
  b_section(&m, 6, &c);
  b_u32(&c, 7);
  export_entry(&c, "getg", 0, 1);
  export_entry(&c, "load", 0, 2);
  export_entry(&c, "f", 0, 3);
  export_entry(&c, "mem", 2, 0);
  export_entry(&c, "g", 3, 0);
  export_entry(&c, "ref", 3, 1);
  export_entry(&c, "tab", 1, 0);
  b_section(&m, 7, &c);
  b_u32(&c, 0);
  b_section(&m, 8, &c);
  b_u32(&c, 2);
  b_u32(&c, 0);
  expr_i32(&c, 0);
  b_u32(&c, 2);
  b_u32(&c, 3);
  b_u32(&c, 0);
  b_u32(&c, 1);
  b_byte(&c, 0);
  b_u32(&c, 1);
  b_u32(&c, 3);
  b_section(&m, 9, &c);
  b_u32(&c, 3);
  static const uint8_t getg[] = {0x23, 0x00, 0x0b};
  static const uint8_t loadb[] = {0x41, 0x00, 0x28, 0x02, 0x00, 0x0b};
  b_body(&c, getg, sizeof getg);
  b_body(&c, loadb, sizeof loadb);
  b_body(&c, BODY_EMPTY, sizeof BODY_EMPTY);
  b_section(&m, 10, &c);
  b_u32(&c, 1);
  b_u32(&c, 0);
  expr_i32(&c, 0);
  b_u32(&c, len);
  b_raw(&c, data, len);
  b_section(&m, 11, &c);
  return load(&m);
}

static int32_t call_i32(zh_store *s, zh_instance *inst, const char *name) {
  zh_value r = zh_i32(-12345);
  zh_func *f = zh_instance_func(inst, name);
  CHECK(f != NULL);
  if (!f)
    return r.of.i32;
  CHECK(expect(zh_func_call(s, f, NULL, 0, &r, 1), ZH_OK, NULL));
  return r.of.i32;
}

static void check_template_instance(zh_store *s, zh_instance *inst, zh_func *start) {
  zh_func *f = zh_instance_func(inst, "f");
  CHECK(f != NULL && f->inst == inst);
  zh_extern x;
  CHECK(zh_instance_export(inst, "tab", &x) && x.kind == ZH_EXTERN_TABLE);
  zh_value v;
  CHECK(expect(zh_table_get(x.of.table, 0, &v), ZH_OK, NULL));
  CHECK(v.of.funcref == f);
  CHECK(expect(zh_table_get(x.of.table, 1, &v), ZH_OK, NULL));
  CHECK(v.of.funcref == start);
  CHECK(zh_instance_export(inst, "ref", &x));
  CHECK(zh_global_get(x.of.global).of.funcref == f);
  CHECK_EQ_INT(inst->elem_len[0], 0);
  CHECK_EQ_INT(inst->elem_len[1], 1);
  CHECK(inst->elem_items[1][0] == f);
  zh_functype ft;
  zh_func_type(zh_instance_func(inst, "getg"), &ft);
  CHECK(ft.nparams == 0 && ft.nresults == 1 && ft.results[0] == ZH_I32);
  CHECK(zh_instance_module(inst) != NULL);
  (void)s;
}

static void test_template(void) {
  static const uint8_t text[] = "template!";
  zh_module *mod = template_module(1, text, 9);
  if (!mod)
    return;
  zh_store *hs;
  CHECK(expect(zh_store_new(engine, &hs), ZH_OK, NULL));
  int starts = 0;
  zh_func *start = host(hs, ":", count_calls, &starts);
  zh_extern imp = ext_func(start);
  zh_template *tpl = NULL;
  CHECK(expect(zh_template_new(engine, mod, &imp, 1, &tpl), ZH_OK, NULL));
  CHECK_EQ_INT(starts, 1);
  if (tpl) {
    int32_t temp;
    memcpy(&temp, "temp", 4);
    zh_store *s;
    CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
    zh_instance *a = NULL, *b = NULL, *c = NULL;
    CHECK(expect(zh_template_instantiate(tpl, s, &a), ZH_OK, NULL));
    CHECK(expect(zh_template_instantiate(tpl, s, &b), ZH_OK, NULL));
    CHECK_EQ_INT(starts, 1); /* no start function re-run */
    if (a && b) {
      CHECK(a != b);
      check_template_instance(s, a, start);
      check_template_instance(s, b, start);
      zh_memory *ma = zh_instance_memory(a, "mem"), *mb = zh_instance_memory(b, "mem");
      CHECK(ma && mb && ma != mb);
      CHECK_EQ_INT(zh_memory_size(ma), 65536);
      CHECK(memcmp(zh_memory_data(ma), "template!", 9) == 0);
      CHECK(expect(zh_memory_write(ma, 0, "XYZW", 4), ZH_OK, NULL));
      CHECK(memcmp(zh_memory_data(mb), "template!", 9) == 0);
      zh_extern ga = {0}, gb = {0};
      CHECK(zh_instance_export(a, "g", &ga) && zh_instance_export(b, "g", &gb));
      if (ga.of.global && gb.of.global) {
        zh_value nv = zh_i32(99);
        CHECK(expect(zh_global_set(ga.of.global, &nv), ZH_OK, NULL));
        CHECK_EQ_INT(zh_global_get(gb.of.global).of.i32, 7);
      }
      /* Code runs against its own instance's state. */
      CHECK_EQ_INT(call_i32(s, a, "getg"), 99);
      CHECK_EQ_INT(call_i32(s, b, "getg"), 7);
      int32_t xyzw;
      memcpy(&xyzw, "XYZW", 4);
      CHECK_EQ_INT(call_i32(s, a, "load"), xyzw);
      CHECK_EQ_INT(call_i32(s, b, "load"), temp);
      CHECK(expect(zh_memory_grow(ma, 1, NULL), ZH_OK, NULL));
      CHECK_EQ_INT(zh_memory_size(mb), 65536);
    }
    /* A later instance, in another store, still sees the snapshot. */
    zh_store *s2;
    CHECK(expect(zh_store_new(engine, &s2), ZH_OK, NULL));
    CHECK(expect(zh_template_instantiate(tpl, s2, &c), ZH_OK, NULL));
    if (c) {
      CHECK(memcmp(zh_memory_data(zh_instance_memory(c, "mem")), "template!", 9) == 0);
      zh_extern gc;
      CHECK(zh_instance_export(c, "g", &gc));
      CHECK_EQ_INT(zh_global_get(gc.of.global).of.i32, 7);
      check_template_instance(s2, c, start);
    }
    zh_store_free(s);
    /* Instances outlive their template. */
    zh_template_free(tpl);
    if (c)
      CHECK_EQ_INT(call_i32(s2, c, "load"), temp);
    zh_store_free(s2);
  }
  /* A failing start function fails the template cleanly. */
  zh_extern bad = ext_func(host(hs, ":", fail_call, NULL));
  tpl = (zh_template *)1;
  CHECK(expect(zh_template_new(engine, mod, &bad, 1, &tpl), ZH_ERR_TRAP, "start refused"));
  CHECK(tpl == NULL);
  zh_store_free(hs);
  zh_module_free(mod);

  /* Templates accept only function imports. */
  bytes m = mod_begin();
  bytes c = {0};
  b_u32(&c, 1);
  imp_head(&c, "env", "m", 2);
  b_limits(&c, 1, false, 0);
  b_section(&m, 2, &c);
  mod = load(&m);
  if (mod) {
    zh_store *s;
    CHECK(expect(zh_store_new(engine, &s), ZH_OK, NULL));
    zh_extern mi = ext_memory(new_memory(s, 1, false, 0));
    tpl = NULL;
    CHECK(expect(zh_template_new(engine, mod, &mi, 1, &tpl), ZH_ERR_UNLINKABLE,
                 "\"env\".\"m\" is a memory"));
    CHECK(tpl == NULL);
    zh_store_free(s);
    zh_module_free(mod);
  }
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median zh_template_instantiate time for 1 MiB of initialised data (printed only). */
static void test_template_timing(void) {
  enum { MIB = 1 << 20, ROUNDS = 40, PER_STORE = 25 };
  uint8_t *data = malloc(MIB);
  if (!data)
    return;
  for (size_t i = 0; i < MIB; i++)
    data[i] = (uint8_t)(i * 31 + 7);
  zh_module *mod = template_module(17, data, MIB);
  if (!mod) {
    free(data);
    return;
  }
  zh_store *hs;
  CHECK(expect(zh_store_new(engine, &hs), ZH_OK, NULL));
  int starts = 0;
  zh_extern imp = ext_func(host(hs, ":", count_calls, &starts));
  zh_template *tpl = NULL;
  CHECK(expect(zh_template_new(engine, mod, &imp, 1, &tpl), ZH_OK, NULL));
  double samples[ROUNDS * PER_STORE];
  int n = 0;
  for (int r = 0; tpl && r < ROUNDS; r++) {
    zh_store *s;
    if (zh_error_status(zh_store_new(engine, &s)) != ZH_OK)
      break;
    for (int k = 0; k < PER_STORE; k++) {
      zh_instance *inst = NULL;
      double t0 = now_ns();
      zh_error *err = zh_template_instantiate(tpl, s, &inst);
      double t1 = now_ns();
      CHECK(err == NULL);
      zh_error_free(err);
      if (!inst)
        continue;
      samples[n++] = t1 - t0;
      if (k == 0 && r == 0) {
        zh_memory *mem = zh_instance_memory(inst, "mem");
        CHECK(mem && zh_memory_size(mem) == (size_t)17 * 65536);
        CHECK(mem && memcmp(zh_memory_data(mem), data, MIB) == 0);
        CHECK(mem && zh_memory_data(mem)[MIB] == 0);
      }
    }
    zh_store_free(s);
  }
  if (n > 0) {
    qsort(samples, (size_t)n, sizeof samples[0], cmp_double);
    printf("zh_template_instantiate, 1 MiB data image: median %.2f us, min %.2f us "
           "(%d samples)\n",
           samples[n / 2] / 1000.0, samples[0] / 1000.0, n);
  }
  zh_template_free(tpl);
  zh_store_free(hs);
  zh_module_free(mod);
  free(data);
}

int main(void) {
  zh_engine_config cfg = {0};
  zh_error *err = zh_engine_new(&cfg, &engine);
  if (err) {
    fprintf(stderr, "engine: %s\n", zh_error_message(err));
    zh_error_free(err);
    return 1;
  }
  test_import_func();
  test_import_table();
  test_import_memory();
  test_import_global();
  test_globals();
  test_segments();
  test_segment_traps();
  test_exports();
  test_objects();
  test_caller();
  test_template();
  test_template_timing();
  zh_engine_free(engine);
  TEST_SUMMARY();
}
