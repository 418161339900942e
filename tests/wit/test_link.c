/* Guest-to-guest links (zerohop/link.h): caller A (tests/guests/link_a.c) calls callee B
 * (tests/guests/link_b.c) through the adapter for every kind of value, and A checks the round
 * trips. Hostile callers and callees must trap with a message naming the function while the
 * other instance and the host stay usable; a type mismatch is refused at link time.
 * Needs `make guests`; the build directory comes from $ZH_BUILD (default "build"). */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/link.h"

#include <stdint.h>

#define API "t:link/api@1.0.0"

#define FLAGS "t:link/flags@1.0.0"

static char api_wit[4096];

/* echo-flags: func(x: many) -> many with 40 flags, built by hand: the WIT parser caps flags
 * at 32 like the current spec, the canonical ABI layout (abi.c) still has the legacy one. */
static char flag_names[40][16];
static zh_wit_field flag_fields[40];
static zh_wit_type many = {
    .kind = ZH_WIT_FLAGS, .name = "many", .nfields = 40, .fields = flag_fields};
static zh_wit_field flags_param = {"x", &many};
static zh_wit_func echo_flags = {.name = "echo-flags",
                                 .abi_name = "echo-flags",
                                 .nparams = 1,
                                 .params = &flags_param,
                                 .result = &many};

static void make_flags(void) {
  for (int i = 0; i < 40; i++) {
    snprintf(flag_names[i], sizeof flag_names[i], "flag%d", i);
    flag_fields[i].name = flag_names[i];
  }
}

/* The interface of both guests; `variant` != 0 gives a callee side that differs from it. */
static void make_wit(int variant) {
  snprintf(api_wit, sizeof api_wit,
           "package t:link@1.0.0;\n"
           "interface api {\n"
           "  record item { name: string, tags: list<string>, note: option<string>, %s: f64 }\n"
           "  variant shape { empty, circle(f32), label(string), big(u64), "
           "pair(tuple<string, u32>) }\n"
           "  type deep = option<option<result<option<shape>, list<string>>>>;\n"
           "  add: func(a: u32, b: s8, c: bool, d: char, e: f64) -> u64;\n"
           "  nop: func() -> u32;\n"
           "  echo-string: func(s: %s) -> string;\n"
           "  echo-bytes: func(b: list<u8>) -> list<u8>;\n"
           "  echo-items: func(x: list<item>) -> list<item>;\n"
           "  echo-res: func(x: result<shape, string>) -> result<shape, string>;\n"
           "  echo-deep: func(x: list<deep>) -> list<deep>;\n"
           "  total: func(a: item, b: item, c: item) -> f64;\n"
           "}\n"
           "world callee { export api; }\n"
           "world caller { import api; }\n",
           variant == 2 ? "mass" : "weight", variant == 1 ? "list<u8>" : "string");
}

static zh_wit *parse(int variant) {
  make_wit(variant);
  zh_wit *w = NULL;
  zh_error *err = zh_wit_parse_string("link.wit", api_wit, &w);
  if (err) {
    fprintf(stderr, "wit: %s\n", zh_error_message(err));
    zh_error_free(err);
  }
  return w;
}

/* WASI imports of the guests (proc_exit from the dummy main) must never be called. */
static zh_error *no_wasi(zh_caller *c, void *env, const zh_value *a, zh_value *r) {
  (void)c, (void)env, (void)a, (void)r;
  return zh_error_new(ZH_ERR_TRAP, "unexpected WASI call");
}

static void stub_wasi(zh_store *s, const zh_module *m, zh_extern *ext) {
  for (size_t i = 0; i < zh_module_import_count(m); i++) {
    zh_import_info imp;
    zh_module_import(m, i, &imp);
    if (strcmp(imp.module, "wasi_snapshot_preview1") == 0) {
      ext[i].kind = ZH_EXTERN_FUNC;
      ext[i].of.func = zh_func_new_host(s, &imp.func, no_wasi, NULL);
    }
  }
}

typedef struct env {
  zh_engine *engine;
  zh_module *ma, *mb;
  zh_wit *wit;
  const zh_wit_world *caller, *callee;
} env;

typedef struct pair {
  zh_store *store;
  zh_instance *a, *b;
} pair;

static zh_instance *inst(zh_store *s, const zh_module *m, zh_extern *ext) {
  zh_instance *i = NULL;
  zh_error *err = zh_instance_new(s, m, ext, zh_module_import_count(m), &i);
  if (err) {
    fprintf(stderr, "instantiate: %s\n", zh_error_message(err));
    zh_error_free(err);
  }
  return i;
}

/* A fresh store with B, and A linked to it. */
static bool make_pair(env *e, pair *p) {
  memset(p, 0, sizeof *p);
  if (zh_store_new(e->engine, &p->store))
    return false;
  zh_extern eb[8], ea[32];
  memset(eb, 0, sizeof eb);
  memset(ea, 0, sizeof ea);
  stub_wasi(p->store, e->mb, eb);
  p->b = inst(p->store, e->mb, eb);
  if (!p->b)
    return false;
  stub_wasi(p->store, e->ma, ea);
  size_t n = 0;
  zh_error *err = zh_link_imports(p->store, e->ma, e->caller, p->b, e->callee, ea,
                                  zh_module_import_count(e->ma), &n);
  if (err) {
    fprintf(stderr, "link: %s\n", zh_error_message(err));
    zh_error_free(err);
    return false;
  }
  CHECK_EQ_INT(n, 7);
  for (size_t i = 0; i < zh_module_import_count(e->ma); i++) {
    zh_import_info imp;
    zh_module_import(e->ma, i, &imp);
    if (strcmp(imp.module, FLAGS) == 0) {
      ea[i].kind = ZH_EXTERN_FUNC;
      err = zh_link_func(p->store, p->b, FLAGS, &echo_flags, &echo_flags, &ea[i].of.func);
      CHECK(err == NULL);
      zh_error_free(err);
    }
  }
  p->a = inst(p->store, e->ma, ea);
  return p->a != NULL;
}

/* Calls a () -> i32 or () -> () export; returns the error, or NULL and *r. */
static zh_error *call(pair *p, zh_instance *i, const char *name, int32_t *r) {
  zh_func *f = zh_instance_func(i, name);
  if (!f)
    return zh_error_new(ZH_ERR_USAGE, "no export %s", name);
  zh_functype ft;
  zh_func_type(f, &ft);
  zh_value res = zh_i32(-1);
  zh_error *err = zh_func_call(p->store, f, NULL, 0, &res, ft.nresults);
  if (r)
    *r = res.of.i32;
  return err;
}

static int32_t call_ok(pair *p, zh_instance *i, const char *name) {
  int32_t r = -1;
  zh_error *err = call(p, i, name, &r);
  if (err) {
    fprintf(stderr, "%s: %s\n", name, zh_error_message(err));
    zh_error_free(err);
    return -1;
  }
  return r;
}

static void set_mode(pair *p, zh_instance *i, int mode) {
  zh_value a = zh_i32(mode);
  zh_error *err = zh_func_call(p->store, zh_instance_func(i, "set_mode"), &a, 1, NULL, 0);
  CHECK(err == NULL);
  zh_error_free(err);
}

/* ---- round trips ---- */

static void test_round_trips(env *e) {
  pair p;
  CHECK(make_pair(e, &p));
  if (!p.a)
    return;
  const char *tests[] = {"t_scalars", "t_strings", "t_bytes", "t_items",
                         "t_result",  "t_flags",   "t_deep"};
  for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
    int32_t r = call_ok(&p, p.a, tests[i]);
    if (r != 0)
      fprintf(stderr, "%s returned %d\n", tests[i], r);
    CHECK_EQ_INT(r, 0);
  }
  /* Again: the allocators on both sides keep working after many copies. */
  for (int k = 0; k < 20; k++)
    CHECK_EQ_INT(call_ok(&p, p.a, "t_items") | call_ok(&p, p.a, "t_strings"), 0);
  zh_store_free(p.store);
}

/* ---- hostile callers ---- */

static void expect_trap(zh_error *err, const char *name, const char *what) {
  CHECK(err != NULL);
  if (!err)
    return;
  const char *m = zh_error_message(err);
  if (getenv("ZH_VERBOSE"))
    fprintf(stderr, "trap: %s\n", m);
  bool ok = zh_error_status(err) == ZH_ERR_TRAP && strstr(m, name) && strstr(m, what);
  if (!ok)
    fprintf(stderr, "unexpected error (want %s, %s): %s\n", name, what, m);
  CHECK(ok);
  zh_error_free(err);
}

static void test_hostile_caller(env *e) {
  static const struct {
    const char *fn, *func, *what;
  } cases[] = {
      {"bad_oob", API "#echo-string", "string from the caller at 0xffffff00, 4096 bytes, is out"},
      {"bad_utf8", API "#echo-string", "invalid UTF-8 in string from the caller"},
      {"bad_disc_flat", API "#echo-res", "invalid discriminant 7 of shape from the caller"},
      {"bad_disc_mem", API "#echo-items", "invalid discriminant 2 of option from the caller"},
      {"bad_char", API "#add", "invalid char 0xd800 from the caller"},
      {"bad_align", API "#echo-items", "is not aligned to 8"},
      {"bad_nested_oob", API "#echo-items", "string from the caller at 0x7ffffff0"},
  };
  pair p;
  CHECK(make_pair(e, &p));
  if (!p.a)
    return;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int32_t calls0 = call_ok(&p, p.b, "calls"), re0 = call_ok(&p, p.b, "reallocs");
    expect_trap(call(&p, p.a, cases[i].fn, NULL), cases[i].func, cases[i].what);
    /* Validation came before any allocation in B, and B never ran. */
    CHECK_EQ_INT(call_ok(&p, p.b, "calls"), calls0);
    CHECK_EQ_INT(call_ok(&p, p.b, "reallocs"), re0);
    /* B and the link still work. */
    CHECK_EQ_INT(call_ok(&p, p.a, "t_items"), 0);
  }
  /* A bad return pointer is found after B ran; B's post-return still frees its side. */
  expect_trap(call(&p, p.a, "bad_retptr", NULL), API "#echo-string",
              "return area from the caller at 0xfffffff8");
  CHECK_EQ_INT(call_ok(&p, p.a, "t_strings"), 0);
  /* A's cabi_realloc hands out garbage while receiving results. */
  set_mode(&p, p.a, 1);
  expect_trap(call(&p, p.a, "t_strings", NULL), API "#echo-string",
              "cabi_realloc result from the caller at 0xfffffff0");
  set_mode(&p, p.a, 0);
  CHECK_EQ_INT(call_ok(&p, p.a, "t_bytes"), 0);
  zh_store_free(p.store);
}

/* ---- hostile callees ---- */

static void test_hostile_callee(env *e) {
  static const struct {
    int mode;
    const char *fn, *func, *what;
  } cases[] = {
      {1, "t_strings", API "#echo-string", "cabi_realloc result from the callee at 0xfffffff0"},
      {2, "t_strings", API "#echo-string", "invalid UTF-8 in string from the callee"},
      {3, "t_strings", API "#echo-string", "string from the callee at"},
      {4, "t_result", API "#echo-res", "invalid discriminant 9 of shape from the callee"},
      {5, "t_strings", API "#echo-string", "in the callee"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    pair p;
    CHECK(make_pair(e, &p));
    if (!p.a)
      return;
    CHECK_EQ_INT(call_ok(&p, p.a, "t_bytes"), 0);
    set_mode(&p, p.b, cases[i].mode);
    expect_trap(call(&p, p.a, cases[i].fn, NULL), cases[i].func, cases[i].what);
    /* The callee must not run again through the link; the caller and the host are fine. */
    expect_trap(call(&p, p.a, cases[i].fn, NULL), cases[i].func, "cannot be entered");
    CHECK_EQ_INT(call_ok(&p, p.a, "ping"), 42);
    zh_store_free(p.store);
  }
}

/* ---- link-time type checks ---- */

static void expect_unlinkable(zh_error *err, const char *const *parts, size_t n) {
  CHECK(err != NULL);
  if (!err)
    return;
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_UNLINKABLE);
  const char *m = zh_error_message(err);
  if (getenv("ZH_VERBOSE"))
    fprintf(stderr, "unlinkable: %s\n", m);
  for (size_t i = 0; i < n; i++) {
    if (!strstr(m, parts[i]))
      fprintf(stderr, "message lacks \"%s\": %s\n", parts[i], m);
    CHECK(strstr(m, parts[i]) != NULL);
  }
  zh_error_free(err);
}

static void test_mismatch(env *e) {
  for (int variant = 1; variant <= 2; variant++) {
    zh_wit *bad = parse(variant);
    CHECK(bad != NULL);
    if (!bad)
      return;
    const zh_wit_world *bw = zh_wit_find_world(zh_wit_root(bad), "callee");
    zh_store *s = NULL;
    CHECK(zh_store_new(e->engine, &s) == NULL);
    zh_extern eb[8], ea[32];
    memset(eb, 0, sizeof eb);
    memset(ea, 0, sizeof ea);
    stub_wasi(s, e->mb, eb);
    zh_instance *b = inst(s, e->mb, eb);
    size_t n = 99;
    zh_error *err =
        zh_link_imports(s, e->ma, e->caller, b, bw, ea, zh_module_import_count(e->ma), &n);
    if (variant == 1) {
      const char *parts[] = {"cannot link " API "#echo-string",
                             "export func(s: list<u8>) -> string",
                             "import func(s: string) -> string", "list<u8> vs string"};
      expect_unlinkable(err, parts, 4);
    } else {
      const char *parts[] = {
          "cannot link " API "#echo-items", "export func(x: list<item>) -> list<item>",
          "import func(x: list<item>) -> list<item>", "mass: f64", "weight: f64"};
      expect_unlinkable(err, parts, 5);
    }
    /* Refused before anything was created or run. */
    CHECK_EQ_INT(n, 0);
    for (size_t i = 0; i < zh_module_import_count(e->ma); i++) {
      zh_import_info imp;
      zh_module_import(e->ma, i, &imp);
      if (strcmp(imp.module, API) == 0)
        CHECK(ea[i].of.func == NULL);
    }
    CHECK_EQ_INT(call_ok(&(pair){s, NULL, b}, b, "calls"), 0);
    zh_store_free(s);
    zh_wit_free(bad);
  }
  /* The single-function API says the same. */
  const zh_wit_interface *api = zh_wit_find_interface(zh_wit_root(e->wit), "api");
  const zh_wit_func *add = zh_wit_interface_func(api, "add");
  const zh_wit_func *echo = zh_wit_interface_func(api, "echo-string");
  const char *parts[] = {"cannot link " API "#add", "export func(s: string) -> string",
                         "import func(a: u32, b: s8, c: bool, d: char, e: f64) -> u64"};
  expect_unlinkable(zh_link_check(API, add, echo), parts, 3);
  CHECK(zh_link_check(API, add, add) == NULL);
}

/* Host -> B directly, and the link function called from the host (no calling instance). */
static void test_direct(env *e) {
  pair p;
  CHECK(make_pair(e, &p));
  if (!p.a)
    return;
  const zh_wit_interface *api = zh_wit_find_interface(zh_wit_root(e->wit), "api");
  const zh_wit_func *add = zh_wit_interface_func(api, "add");
  zh_func *f = NULL;
  CHECK(zh_link_func(p.store, p.b, API, add, add, &f) == NULL);
  zh_value args[5] = {zh_i32(1), zh_i32(-2), zh_i32(1), zh_i32('a'), zh_f64(0.5)}, r;
  zh_error *err = zh_func_call(p.store, f, args, 5, &r, 1);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK_EQ_INT(r.of.i64, 1 - 200 + 10000 + 97 * 1000000 + 1);
  zh_store_free(p.store);
}

int main(void) {
  env e;
  memset(&e, 0, sizeof e);
  CHECK(zh_engine_new(NULL, &e.engine) == NULL);
  e.ma = zh_test_load_guest(e.engine, "link_a");
  e.mb = zh_test_load_guest(e.engine, "link_b");
  e.wit = parse(0);
  make_flags();
  CHECK(e.ma && e.mb && e.wit);
  if (e.ma && e.mb && e.wit) {
    e.caller = zh_wit_find_world(zh_wit_root(e.wit), "caller");
    e.callee = zh_wit_find_world(zh_wit_root(e.wit), "callee");
    test_round_trips(&e);
    test_hostile_caller(&e);
    test_hostile_callee(&e);
    test_mismatch(&e);
    test_direct(&e);
  }
  zh_wit_free(e.wit);
  zh_module_free(e.ma);
  zh_module_free(e.mb);
  zh_engine_free(e.engine);
  TEST_SUMMARY();
}
