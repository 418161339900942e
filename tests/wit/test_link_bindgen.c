/* Guest-to-guest links between C guests built with our own bindgen: generates bindings for
 * worlds caller and callee of tests/wit/linkbg/wit with the built CLI ($ZH_BUILD/zerohop,
 * default build/), compiles tests/wit/linkbg/caller.c and callee.c to wasm32-wasi reactors,
 * instantiates callee B and caller A in one store, links A's imports to B (zh_link_imports)
 * and calls A's `run`, which makes round trips through the generated imports and returns one
 * bit per case it found right. Memory of both guests must not grow over repeated runs. A
 * callee built against a WIT whose record field is renamed must be refused at link time,
 * before any code runs. Needs clang. */
#include "guest_build.h"
#include "testlib.h"
#include "zerohop/link.h"
#include "zerohop/wasi.h"

#include <stdint.h>
#include <stdlib.h>

static const char *build_dir = "build";
static const char *LB = "tests/wit/linkbg";
static const char *STORE = "zh:lb/store@1.0.0";

enum { RUN_ALL = 0x1ff }; /* caller.c: nine cases */

static zh_wit *load_wit(const char *dir) {
  zh_wit *w = NULL;
  zh_error *err = zh_wit_load_dir(dir, &w);
  if (err)
    fprintf(stderr, "%s: %s\n", dir, zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  return w;
}

static bool ok(zh_error *err, const char *what) {
  if (err)
    fprintf(stderr, "%s: %s\n", what, zh_error_message(err));
  zh_error_free(err);
  return err == NULL;
}

/* WASI imports, if the guests have any (reactors of plain C need none today). */
static bool link_wasi(zh_wasi_ctx *wasi, zh_store *s, const zh_module *m, zh_extern *ext) {
  for (size_t i = 0; i < zh_module_import_count(m); i++) {
    zh_import_info imp;
    zh_module_import(m, i, &imp);
    if (strcmp(imp.module, ZH_WASI_MODULE) == 0 &&
        !ok(zh_wasi_link_import(wasi, s, &imp, &ext[i]), "wasi"))
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

/* Calls a () -> i32 core export; UINT32_MAX on error. */
static uint32_t call_u32(zh_store *s, zh_instance *inst, const char *name) {
  zh_func *f = zh_instance_func(inst, name);
  zh_value r = zh_i32(-1);
  if (!f || !ok(zh_func_call(s, f, NULL, 0, &r, 1), name))
    return UINT32_MAX;
  return (uint32_t)r.of.i32;
}

static size_t mem_size(zh_instance *inst) {
  zh_memory *m = zh_instance_memory(inst, "memory");
  return m ? zh_memory_size(m) : 0;
}

typedef struct env {
  zh_engine *engine;
  zh_wasi_ctx *wasi;
  zh_module *ma, *mb, *mbr; /* caller, callee, callee with the renamed field */
  const zh_wit_world *caller, *callee, *callee_renamed;
} env;

static void test_round_trips(env *e) {
  zh_store *s = NULL;
  CHECK(ok(zh_store_new(e->engine, &s), "store"));
  size_t na = zh_module_import_count(e->ma), nb = zh_module_import_count(e->mb);
  zh_extern *ea = calloc(na + 1, sizeof *ea), *eb = calloc(nb + 1, sizeof *eb);
  zh_instance *a = NULL, *b = NULL;
  if (link_wasi(e->wasi, s, e->mb, eb))
    b = instantiate(s, e->mb, eb);
  CHECK(b != NULL);
  size_t nlinked = 0;
  if (b && link_wasi(e->wasi, s, e->ma, ea) &&
      ok(zh_link_imports(s, e->ma, e->caller, b, e->callee, ea, na, &nlinked), "link"))
    a = instantiate(s, e->ma, ea);
  CHECK(a != NULL);
  CHECK_EQ_INT(nlinked, 9); /* every function of `store` */
  if (a) {
    uint32_t bits = call_u32(s, a, "run");
    if (bits != RUN_ALL)
      fprintf(stderr, "run: 0x%x, missing cases 0x%x\n", bits, ~bits & RUN_ALL);
    CHECK_EQ_INT(bits, RUN_ALL);
    char calls[64];
    snprintf(calls, sizeof calls, "%s#calls", STORE);
    uint32_t per_run = call_u32(s, b, calls);
    CHECK(per_run > 40 && per_run != UINT32_MAX);
    /* Both allocators settle: later runs (each copies 64 KiB and back) do not grow memory. */
    CHECK_EQ_INT(call_u32(s, a, "run"), RUN_ALL);
    size_t ma = mem_size(a), mb = mem_size(b);
    CHECK(ma > 0 && mb > 0);
    bool all = true;
    for (int i = 0; i < 30; i++)
      all &= call_u32(s, a, "run") == RUN_ALL;
    CHECK(all);
    CHECK_EQ_INT(call_u32(s, b, calls), 32 * per_run);
    if (mem_size(a) != ma || mem_size(b) != mb)
      fprintf(stderr, "memory grew: caller %zu -> %zu, callee %zu -> %zu\n", ma, mem_size(a), mb,
              mem_size(b));
    CHECK_EQ_INT(mem_size(a), ma);
    CHECK_EQ_INT(mem_size(b), mb);
  }
  free(ea);
  free(eb);
  zh_store_free(s);
}

/* B exports `store` with entry.note renamed to entry.comment: refused before anything runs. */
static void test_renamed_field(env *e) {
  zh_store *s = NULL;
  CHECK(ok(zh_store_new(e->engine, &s), "store"));
  size_t na = zh_module_import_count(e->ma), nb = zh_module_import_count(e->mbr);
  zh_extern *ea = calloc(na + 1, sizeof *ea), *eb = calloc(nb + 1, sizeof *eb);
  zh_instance *b = NULL;
  if (link_wasi(e->wasi, s, e->mbr, eb))
    b = instantiate(s, e->mbr, eb);
  CHECK(b != NULL);
  if (b && link_wasi(e->wasi, s, e->ma, ea)) {
    zh_memory *mem = zh_instance_memory(b, "memory");
    size_t len = mem ? zh_memory_size(mem) : 0;
    uint8_t *before = malloc(len + 1);
    if (mem)
      memcpy(before, zh_memory_data(mem), len);
    size_t nlinked = 99;
    zh_error *err = zh_link_imports(s, e->ma, e->caller, b, e->callee_renamed, ea, na, &nlinked);
    const char *m = err ? zh_error_message(err) : "(linked)";
    if (getenv("ZH_VERBOSE"))
      fprintf(stderr, "renamed: %s\n", m);
    char put[64];
    snprintf(put, sizeof put, "%s#put", STORE);
    bool named =
        strstr(m, put) && strstr(m, "note") && strstr(m, "comment") && strstr(m, "does not match");
    if (!named)
      fprintf(stderr, "unexpected message: %s\n", m);
    CHECK(err && zh_error_status(err) == ZH_ERR_UNLINKABLE);
    CHECK(named);
    zh_error_free(err);
    /* Nothing was created for A, and B's memory is untouched (no cabi_realloc, no call). */
    bool untouched = true;
    for (size_t i = 0; i < na; i++) {
      zh_import_info imp;
      zh_module_import(e->ma, i, &imp);
      if (strcmp(imp.module, STORE) == 0)
        untouched &= ea[i].of.func == NULL;
    }
    CHECK(untouched);
    CHECK(nlinked == 0 || nlinked == 99);
    CHECK(mem && zh_memory_size(mem) == len && memcmp(before, zh_memory_data(mem), len) == 0);
    free(before);
    char calls[64];
    snprintf(calls, sizeof calls, "%s#calls", STORE);
    CHECK_EQ_INT(call_u32(s, b, calls), 0);
  }
  free(ea);
  free(eb);
  zh_store_free(s);
}

int main(void) {
  const char *bd = getenv("ZH_BUILD");
  if (bd && *bd)
    build_dir = bd;
  snprintf(tmp, sizeof tmp, "/tmp/zh_linkbg_XXXXXX");
  if (!mkdtemp(tmp)) {
    CHECK(!"mkdtemp");
    TEST_SUMMARY();
  }
  char cli[512], wit[128], renamed[128];
  snprintf(cli, sizeof cli, "%s/zerohop", build_dir);
  snprintf(wit, sizeof wit, "%s/wit", LB);
  snprintf(renamed, sizeof renamed, "%s/renamed", tmp);
  /* The same package, entry.note renamed to entry.comment. */
  int st = run("mkdir %s && sed 's/note: option<string>/comment: option<string>/' "
               "%s/linkbg.wit >%s/linkbg.wit && grep -q 'comment: option' %s/linkbg.wit",
               renamed, wit, renamed, renamed);
  CHECK_EQ_INT(st, 0);

  bool built = build_guest(cli, wit, "caller", "caller", LB, "caller", "");
  built &= build_guest(cli, wit, "callee", "callee", LB, "callee", "");
  built &= build_guest(cli, renamed, "callee", "callee_r", LB, "callee", "-DLINKBG_RENAMED");

  env e = {0};
  zh_wit *w = load_wit(wit), *wr = load_wit(renamed);
  zh_error *err = NULL;
  zh_wasi_config cfg = {0};
  e.wasi = zh_wasi_new(&cfg, &err);
  CHECK(ok(err, "wasi"));
  CHECK(ok(zh_engine_new(NULL, &e.engine), "engine"));
  if (built && w && wr && e.wasi && e.engine) {
    e.ma = load_module(e.engine, "caller");
    e.mb = load_module(e.engine, "callee");
    e.mbr = load_module(e.engine, "callee_r");
    e.caller = zh_wit_find_world(zh_wit_root(w), "caller");
    e.callee = zh_wit_find_world(zh_wit_root(w), "callee");
    e.callee_renamed = zh_wit_find_world(zh_wit_root(wr), "callee");
    CHECK(e.caller && e.callee && e.callee_renamed);
    if (e.ma && e.mb && e.mbr && e.caller && e.callee && e.callee_renamed) {
      test_round_trips(&e);
      test_renamed_field(&e);
    }
  }
  zh_module_free(e.ma);
  zh_module_free(e.mb);
  zh_module_free(e.mbr);
  zh_engine_free(e.engine);
  zh_wasi_free(e.wasi);
  zh_wit_free(w);
  zh_wit_free(wr);
  run("rm -rf %s", tmp);
  TEST_SUMMARY();
}
