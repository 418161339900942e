/* Guest-defined resources across a link, both guests built from `zerohop bindgen c` output:
 * generates bindings for worlds callee and caller of tests/wit/linkres/wit with the built CLI
 * ($ZH_BUILD/zerohop, default build/), compiles tests/wit/linkres/callee.c (B, implements
 * the exported resource `counter`) and caller.c (A, uses it) to wasm32-wasi reactors, gives B
 * its resource built-ins from a zh_link_callee and links A to it (zh_link_imports_callee).
 * The scenario is tests/wit/test_link_res.c's: counters are created, added to, read and
 * passed by borrow, moved back to B by own and dropped; B counts constructions and
 * destructor calls, so each counter must die exactly once. A's misuse of handles (dangling,
 * double-dropped, moved, forged) traps naming the function and leaves B usable. Needs clang. */
#include "guest_build.h"
#include "testlib.h"
#include "zerohop/link.h"
#include "zerohop/wasi.h"

#include <stdint.h>
#include <stdlib.h>

static const char *build_dir = "build";
static const char *LR = "tests/wit/linkres";

static bool ok(zh_error *err, const char *what) {
  if (err)
    fprintf(stderr, "%s: %s\n", what, zh_error_message(err));
  zh_error_free(err);
  return err == NULL;
}

typedef struct env {
  zh_engine *engine;
  zh_wasi_ctx *wasi;
  zh_module *ma, *mb;
  const zh_wit_world *caller, *callee;
  zh_store *store;
  zh_instance *b;
  zh_link_callee *cal;
} env;

/* WASI imports of a guest, if any. */
static bool link_wasi(env *e, const zh_module *m, zh_extern *ext) {
  for (size_t i = 0; i < zh_module_import_count(m); i++) {
    zh_import_info imp;
    zh_module_import(m, i, &imp);
    if (strcmp(imp.module, ZH_WASI_MODULE) == 0 &&
        !ok(zh_wasi_link_import(e->wasi, e->store, &imp, &ext[i]), "wasi"))
      return false;
  }
  return true;
}

/* Instantiates `m` with `ext` and runs its reactor initialisation. */
static zh_instance *instantiate(zh_store *s, const zh_module *m, const zh_extern *ext) {
  zh_instance *inst = NULL;
  if (!ok(zh_instance_new(s, m, ext, zh_module_import_count(m), &inst), "instantiate"))
    return NULL;
  zh_func *init = zh_instance_func(inst, "_initialize");
  if (init && !ok(zh_func_call(s, init, NULL, 0, NULL, 0), "_initialize"))
    return NULL;
  return inst;
}

/* B with its resource built-ins from a zh_link_callee. */
static bool make_b(env *e) {
  zh_extern eb[32];
  memset(eb, 0, sizeof eb);
  size_t n = zh_module_import_count(e->mb);
  CHECK(n <= 32);
  if (n > 32 || !link_wasi(e, e->mb, eb))
    return false;
  if (!ok(zh_link_callee_new(e->store, e->mb, e->callee, eb, n, &e->cal), "callee"))
    return false;
  size_t builtins = 0;
  for (size_t i = 0; i < n; i++) {
    zh_import_info imp;
    zh_module_import(e->mb, i, &imp);
    builtins += strcmp(imp.module, "[export]t:res/api@1.0.0") == 0;
    CHECK(eb[i].of.func != NULL); /* built-ins and WASI: every import is set */
  }
  CHECK_EQ_INT(builtins, 3); /* [resource-new], [resource-rep], [resource-drop] */
  e->b = instantiate(e->store, e->mb, eb);
  return e->b && ok(zh_link_callee_bind(e->cal, e->b), "bind");
}

/* A fresh A instance linked to B. */
static zh_instance *make_a(env *e) {
  zh_extern ea[32];
  memset(ea, 0, sizeof ea);
  size_t n = zh_module_import_count(e->ma), linked = 0;
  CHECK(n <= 32);
  if (n > 32 || !link_wasi(e, e->ma, ea))
    return NULL;
  if (!ok(zh_link_imports_callee(e->store, e->ma, e->caller, e->cal, e->callee, ea, n, &linked),
          "link"))
    return NULL;
  CHECK_EQ_INT(linked, 6); /* five functions and [resource-drop]counter */
  return instantiate(e->store, e->ma, ea);
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
  CHECK_EQ_INT(call_ok(e, e->b, "bad-reps"), 0);
  CHECK_EQ_INT(zh_link_callee_handles(e->cal), 0); /* B holds no handles between calls */
  CHECK(!zh_link_callee_broken(e->cal));
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
  CHECK_EQ_INT(call_ok(e, a, "t-flow"), 0);
  expect_b(e, 2, 0, 2);
  CHECK_EQ_INT(call_ok(e, a, "t-flow"), 0); /* handle slots are reused */
  expect_b(e, 4, 0, 4);
  bool all = true;
  for (int i = 0; i < 50; i++)
    all &= call_ok(e, a, "t-flow") == 0;
  CHECK(all);
  expect_b(e, 104, 0, 104);
}

/* Each misuse traps in A's instance, which is then replaced by a fresh one. */
static void test_hostile(env *e) {
  zh_instance *a = make_a(e);
  CHECK(a != NULL);
  if (!a)
    return;
  expect_trap(e, a, "bad-use-dropped", "t:res/api@1.0.0#[method]counter.get", "unknown counter");
  expect_b(e, 105, 0, 105);
  a = make_a(e);
  CHECK(a != NULL);
  if (!a)
    return;
  expect_trap(e, a, "bad-double-drop", "t:res/api@1.0.0#[resource-drop]counter",
              "unknown resource handle");
  expect_b(e, 106, 0, 106);
  a = make_a(e);
  CHECK(a != NULL);
  if (!a)
    return;
  expect_trap(e, a, "bad-use-moved", "t:res/api@1.0.0#[method]counter.add", "unknown counter");
  expect_b(e, 107, 0, 107);
  expect_trap(e, a, "bad-forged", "t:res/api@1.0.0#total", "unknown counter handle 4660");
  a = make_a(e); /* B still works for a fresh A */
  CHECK(a != NULL);
  if (a)
    CHECK_EQ_INT(call_ok(e, a, "t-flow"), 0);
  expect_b(e, 109, 0, 109);
}

int main(void) {
  const char *bd = getenv("ZH_BUILD");
  if (bd && *bd)
    build_dir = bd;
  snprintf(tmp, sizeof tmp, "/tmp/zh_linkres_XXXXXX");
  if (!mkdtemp(tmp)) {
    CHECK(!"mkdtemp");
    TEST_SUMMARY();
  }
  char cli[512], wit[128];
  snprintf(cli, sizeof cli, "%s/zerohop", build_dir);
  snprintf(wit, sizeof wit, "%s/wit", LR);
  char wit_dir[128];
  snprintf(wit_dir, sizeof wit_dir, "%s/wit", LR);
  bool built = build_guest(cli, wit_dir, "callee", "callee", LR, "callee", "");
  built &= build_guest(cli, wit_dir, "caller", "caller", LR, "caller", "");
  /* The same modules with their worlds embedded as `jco embed` does (jco's componentEmbed
   * through tests/components/embed.mjs), for the links that read them (NULL worlds). */
  bool embedded = built;
  for (int i = 0; i < 2 && embedded; i++) {
    const char *wn = i ? "callee" : "caller";
    embedded = run("node tests/components/embed.mjs %s/%s.wasm %s/res.wit %s %s/%s_w.wasm", tmp, wn,
                   wit, wn, tmp, wn) == 0;
  }
  CHECK(embedded);

  env e;
  memset(&e, 0, sizeof e);
  zh_wit *w = NULL;
  CHECK(ok(zh_wit_load_dir(wit, &w), "wit"));
  zh_error *err = NULL;
  zh_wasi_config cfg = {0};
  e.wasi = zh_wasi_new(&cfg, &err);
  CHECK(ok(err, "wasi"));
  CHECK(ok(zh_engine_new(NULL, &e.engine), "engine"));
  if (built && w && e.wasi && e.engine) {
    e.ma = load_module(e.engine, "caller");
    e.mb = load_module(e.engine, "callee");
    e.caller = zh_wit_find_world(zh_wit_root(w), "caller");
    e.callee = zh_wit_find_world(zh_wit_root(w), "callee");
    CHECK(e.caller && e.callee);
    if (e.ma && e.mb && e.caller && e.callee && ok(zh_store_new(e.engine, &e.store), "store")) {
      CHECK(make_b(&e));
      if (e.b) {
        test_flow(&e);
        test_hostile(&e);
      }
      zh_store_free(e.store);
    }
    /* Again with the worlds the modules carry: zh_link_callee_new and zh_link_imports_callee
     * given NULL read them from the component-type sections. */
    env c = e;
    c.ma = embedded ? load_module(e.engine, "caller_w") : NULL;
    c.mb = embedded ? load_module(e.engine, "callee_w") : NULL;
    c.caller = c.callee = NULL;
    c.cal = NULL;
    c.b = NULL;
    c.store = NULL;
    CHECK(c.ma && c.mb);
    if (c.ma && c.mb && ok(zh_store_new(c.engine, &c.store), "store")) {
      CHECK(make_b(&c));
      if (c.b)
        test_flow(&c);
      zh_store_free(c.store);
    }
    zh_module_free(c.ma);
    zh_module_free(c.mb);
    /* A module that carries no world, and none given: named, nothing set. */
    zh_store *s = NULL;
    zh_extern eb[32];
    memset(eb, 0, sizeof eb);
    zh_link_callee *cal = NULL;
    size_t nb = zh_module_import_count(e.mb);
    err = ok(zh_store_new(e.engine, &s), "store") && nb <= 32
              ? zh_link_callee_new(s, e.mb, NULL, eb, nb, &cal)
              : NULL;
    CHECK(err && cal == NULL &&
          strstr(zh_error_message(err),
                 "callee.wasm: a core module without a component-type custom section") != NULL);
    zh_error_free(err);
    zh_store_free(s);
  }
  zh_module_free(e.ma);
  zh_module_free(e.mb);
  zh_engine_free(e.engine);
  zh_wasi_free(e.wasi);
  zh_wit_free(w);
  run("rm -rf %s", tmp);
  TEST_SUMMARY();
}
