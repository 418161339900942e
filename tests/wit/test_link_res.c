/* Guest-defined resources across a link (zerohop/link.h, zh_link_callee): B
 * (tests/guests/linkres_b.c) implements resource `counter` of t:res/api@1.0.0, A
 * (tests/guests/linkres_a.c) creates, borrows, moves and drops counters through the link.
 * B counts constructions and destructions, so the test can tell that each counter died
 * exactly once. A's misuse of handles traps naming the function and leaves B usable by a
 * fresh A. Needs `make guests`; the build directory comes from $ZH_BUILD (default "build"). */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/link.h"

#include "../guests/linkres_long.h"

#include <stdint.h>

static const char res_wit[] = "package t:res@1.0.0;\n"
                              "interface api {\n"
                              "  resource counter {\n"
                              "    constructor(start: u32);\n"
                              "    add: func(n: u32);\n"
                              "    get: func() -> u32;\n"
                              "  }\n"
                              "  total: func(c: borrow<counter>) -> u32;\n"
                              "  consume: func(c: counter) -> u32;\n"
                              "}\n"
                              "world callee { export api; }\n"
                              "world caller { import api; }\n";

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
  zh_store *store;
  zh_instance *b;
  zh_link_callee *cal;
} env;

static zh_instance *inst(zh_store *s, const zh_module *m, zh_extern *ext) {
  zh_instance *i = NULL;
  zh_error *err = zh_instance_new(s, m, ext, zh_module_import_count(m), &i);
  if (err)
    fprintf(stderr, "instantiate: %s\n", zh_error_message(err));
  zh_error_free(err);
  return i;
}

static bool ok(zh_error *err, const char *what) {
  if (err)
    fprintf(stderr, "%s: %s\n", what, zh_error_message(err));
  zh_error_free(err);
  return err == NULL;
}

/* B in a fresh store, with its resource built-ins from a zh_link_callee. */
static bool make_b(env *e) {
  if (!ok(zh_store_new(e->engine, &e->store), "store"))
    return false;
  zh_extern eb[16];
  memset(eb, 0, sizeof eb);
  size_t n = zh_module_import_count(e->mb);
  CHECK(n <= 16);
  stub_wasi(e->store, e->mb, eb);
  if (!ok(zh_link_callee_new(e->store, e->mb, e->callee, eb, n, &e->cal), "callee"))
    return false;
  for (size_t i = 0; i < n; i++)
    CHECK(eb[i].of.func != NULL); /* built-ins and WASI: every import is set */
  e->b = inst(e->store, e->mb, eb);
  return e->b && ok(zh_link_callee_bind(e->cal, e->b), "bind");
}

/* A fresh A instance linked to B. */
static zh_instance *make_a(env *e) {
  zh_extern ea[16];
  memset(ea, 0, sizeof ea);
  size_t n = zh_module_import_count(e->ma), linked = 0;
  CHECK(n <= 16);
  stub_wasi(e->store, e->ma, ea);
  if (!ok(zh_link_imports_callee(e->store, e->ma, e->caller, e->cal, e->callee, ea, n, &linked),
          "link"))
    return NULL;
  CHECK_EQ_INT(linked, 6); /* five functions and [resource-drop]counter */
  return inst(e->store, e->ma, ea);
}

static zh_error *call(env *e, zh_instance *i, const char *name, int32_t *r) {
  zh_func *f = zh_instance_func(i, name);
  if (!f)
    return zh_error_new(ZH_ERR_USAGE, "no export %s", name);
  zh_value res = zh_i32(-1);
  zh_error *err = zh_func_call(e->store, f, NULL, 0, &res, 1);
  if (r)
    *r = res.of.i32;
  return err;
}

static int32_t call_ok(env *e, zh_instance *i, const char *name) {
  int32_t r = -1;
  if (!ok(call(e, i, name, &r), name))
    return -1;
  return r;
}

/* B's counters: constructed, live, destroyed, and reps that were not live counters. */
static void expect_b(env *e, int created, int live, int dtors) {
  CHECK_EQ_INT(call_ok(e, e->b, "created"), created);
  CHECK_EQ_INT(call_ok(e, e->b, "live"), live);
  CHECK_EQ_INT(call_ok(e, e->b, "dtors"), dtors);
  CHECK_EQ_INT(call_ok(e, e->b, "bad_reps"), 0);
  CHECK_EQ_INT(zh_link_callee_handles(e->cal), 0); /* B holds no handles between calls */
}

/* A's export `name` must trap with a message containing `fn` and `why`. */
static void expect_trap(env *e, zh_instance *a, const char *name, const char *fn, const char *why) {
  zh_error *err = call(e, a, name, NULL);
  CHECK(err != NULL);
  if (!err)
    return;
  const char *msg = zh_error_message(err);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_TRAP);
  CHECK(strstr(msg, fn) != NULL);
  CHECK(strstr(msg, why) != NULL);
  if (!strstr(msg, fn) || !strstr(msg, why))
    fprintf(stderr, "%s: unexpected message: %s\n", name, msg);
  zh_error_free(err);
  CHECK(!zh_link_callee_broken(e->cal)); /* A's fault: B is not fenced */
}

static void test_flow(env *e) {
  zh_instance *a = make_a(e);
  CHECK(a != NULL);
  if (!a)
    return;
  CHECK_EQ_INT(call_ok(e, a, "t_flow"), 0);
  expect_b(e, 2, 0, 2);
  CHECK_EQ_INT(call_ok(e, a, "t_flow"), 0); /* handle slots are reused */
  expect_b(e, 4, 0, 4);
}

static void test_hostile(env *e) {
  zh_instance *a = make_a(e);
  CHECK(a != NULL);
  if (!a)
    return;
  expect_trap(e, a, "bad_use_dropped", "t:res/api@1.0.0#[method]counter.get", "unknown counter");
  expect_b(e, 5, 0, 5);
  zh_instance *a2 = make_a(e); /* after the trap a fresh A works with the same B */
  CHECK(a2 != NULL);
  if (!a2)
    return;
  expect_trap(e, a2, "bad_double_drop", "t:res/api@1.0.0#[resource-drop]counter",
              "unknown resource handle");
  expect_b(e, 6, 0, 6);
  a = make_a(e);
  CHECK(a != NULL);
  if (!a)
    return;
  expect_trap(e, a, "bad_use_moved", "t:res/api@1.0.0#[method]counter.add", "unknown counter");
  expect_b(e, 7, 0, 7);
  expect_trap(e, a, "bad_forged", "t:res/api@1.0.0#total", "unknown counter handle 4660");
  a = make_a(e);
  CHECK(a != NULL);
  if (a)
    CHECK_EQ_INT(call_ok(e, a, "t_flow"), 0);
  expect_b(e, 9, 0, 9);
}

/* B returns an own handle it never made: the callee is at fault, B is fenced for every
 * link, new ones included. Runs last: B stays fenced. */
static void test_hostile_callee(env *e) {
  zh_instance *a = make_a(e);
  CHECK(a != NULL);
  if (!a)
    return;
  zh_value m = zh_i32(1);
  CHECK(ok(zh_func_call(e->store, zh_instance_func(e->b, "set_mode"), &m, 1, NULL, 0), "mode"));
  zh_error *err = call(e, a, "t_flow", NULL);
  CHECK(err != NULL);
  CHECK(err && strstr(zh_error_message(err), "#[constructor]counter: unknown counter handle") &&
        strstr(zh_error_message(err), "from the callee"));
  zh_error_free(err);
  CHECK(zh_link_callee_broken(e->cal));
  m = zh_i32(0);
  CHECK(ok(zh_func_call(e->store, zh_instance_func(e->b, "set_mode"), &m, 1, NULL, 0), "mode"));
  a = make_a(e);
  CHECK(a != NULL);
  if (!a)
    return;
  err = call(e, a, "t_flow", NULL);
  CHECK(err && strstr(zh_error_message(err), "trapped earlier and cannot be entered"));
  zh_error_free(err);
}

/* Without a zh_link_callee resources are still refused at link time. */
static void test_unlinkable(env *e) {
  zh_extern ea[16];
  memset(ea, 0, sizeof ea);
  size_t n = zh_module_import_count(e->ma);
  zh_error *err = zh_link_imports(e->store, e->ma, e->caller, e->b, e->callee, ea, n, NULL);
  CHECK(err != NULL && zh_error_status(err) == ZH_ERR_UNLINKABLE);
  CHECK(err && strstr(zh_error_message(err), "cannot be linked") != NULL);
  zh_error_free(err);
}

/* The same flow through an interface whose qualified names are longer than 300 bytes: the
 * destructor export is found by its full name and runs for every counter (issue 7: no name
 * is cut short). */
static void test_long_names(zh_engine *engine) {
  static const char fmt[] = "package t:res@1.0.0;\n"
                            "interface %s {\n"
                            "  resource counter {\n"
                            "    constructor(start: u32);\n"
                            "    add: func(n: u32);\n"
                            "    get: func() -> u32;\n"
                            "  }\n"
                            "  total: func(c: borrow<counter>) -> u32;\n"
                            "  consume: func(c: counter) -> u32;\n"
                            "}\n"
                            "world callee { export %s; }\n"
                            "world caller { import %s; }\n";
  char text[2048];
  snprintf(text, sizeof text, fmt, RES_LONG_LABEL, RES_LONG_LABEL, RES_LONG_LABEL);
  CHECK(strlen(RES_IFACE "#[dtor]counter") > 300);
  env e;
  memset(&e, 0, sizeof e);
  e.engine = engine;
  e.ma = zh_test_load_guest(engine, "linkres_long_a");
  e.mb = zh_test_load_guest(engine, "linkres_long_b");
  CHECK(ok(zh_wit_parse_string("long.wit", text, &e.wit), "wit"));
  CHECK(e.ma && e.mb && e.wit);
  if (e.ma && e.mb && e.wit) {
    e.caller = zh_wit_find_world(zh_wit_root(e.wit), "caller");
    e.callee = zh_wit_find_world(zh_wit_root(e.wit), "callee");
    CHECK(make_b(&e));
    if (e.b)
      test_flow(&e); /* expect_b checks that each counter's destructor ran once */
    zh_store_free(e.store);
  }
  zh_wit_free(e.wit);
  zh_module_free(e.ma);
  zh_module_free(e.mb);
}

int main(void) {
  env e;
  memset(&e, 0, sizeof e);
  CHECK(zh_engine_new(NULL, &e.engine) == NULL);
  e.ma = zh_test_load_guest(e.engine, "linkres_a");
  e.mb = zh_test_load_guest(e.engine, "linkres_b");
  CHECK(ok(zh_wit_parse_string("res.wit", res_wit, &e.wit), "wit"));
  CHECK(e.ma && e.mb && e.wit);
  if (e.ma && e.mb && e.wit) {
    e.caller = zh_wit_find_world(zh_wit_root(e.wit), "caller");
    e.callee = zh_wit_find_world(zh_wit_root(e.wit), "callee");
    CHECK(make_b(&e));
    if (e.b) {
      test_flow(&e);
      test_hostile(&e);
      test_unlinkable(&e);
      test_hostile_callee(&e);
    }
    zh_store_free(e.store);
  }
  zh_wit_free(e.wit);
  zh_module_free(e.ma);
  zh_module_free(e.mb);
  test_long_names(e.engine);
  zh_engine_free(e.engine);
  TEST_SUMMARY();
}
