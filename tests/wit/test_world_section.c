/* The core-module link API with the world a module carries (issue 7, scope 6):
 * zh_component_new with no world reads it from the module's component-type section
 * (zh_cm_core_world), and the WASI 0.2 host links to it. The modules are real toolchain
 * outputs that mk/hostile.mk builds: core-world.wasm (tests/cli/guests/core_world.c, bindings
 * from `zerohop bindgen c`, world embedded by jco's componentEmbed), the same module without
 * its world (core-world.core.wasm), and core-greeter.wasm, whose world imports an interface
 * that the WASI host does not implement. */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/cm.h"
#include "zerohop/component.h"
#include "zerohop/wasip2.h"

#define OBJ "build/components/obj/core-world/"

static zh_engine *engine;

static zh_module *load(const char *path) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  zh_module *m = NULL;
  CHECK(zh_test_read_file(path, &bytes, &len));
  if (!bytes)
    return NULL;
  zh_error *err = zh_module_new(engine, bytes, len, path, &m);
  free(bytes);
  if (err)
    fprintf(stderr, "  %s\n", zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  return m;
}

/* The world as wit-bindgen declared it, in the model WIT text resolves to. */
static void test_world(void) {
  zh_module *m = load(OBJ "core-world.wasm");
  if (!m)
    return;
  zh_cm_component *holder = NULL;
  zh_error *err = zh_cm_core_world(engine, m, "core-world.wasm", &holder);
  CHECK(err == NULL);
  zh_error_free(err);
  const zh_wit_world *w = holder ? zh_cm_component_world(holder) : NULL;
  CHECK(w != NULL);
  if (w) {
    CHECK(strcmp(w->name, "zerohop:test-core/core-command") == 0);
    CHECK_EQ_INT(w->nexports, 1);
    CHECK(w->nexports == 1 && strcmp(w->exports[0].name, "wasi:cli/run@0.2.12") == 0);
    const zh_wit_interface *stdout_iface = NULL;
    for (size_t i = 0; i < w->nimports; i++)
      if (strcmp(w->imports[i].name, "wasi:cli/stdout@0.2.12") == 0)
        stdout_iface = w->imports[i].iface;
    CHECK(stdout_iface && stdout_iface->nfuncs == 1 &&
          strcmp(stdout_iface->funcs[0]->name, "get-stdout") == 0);
    CHECK_EQ_INT(w->nimports, 27); /* the interfaces wasi:cli/imports includes */
  }
  zh_cm_component_free(holder);
  zh_module_free(m);
}

/* zh_component_new(world NULL), the WASI 0.2 host, and a call of wasi:cli/run#run. */
static void test_link_and_run(void) {
  zh_module *m = load(OBJ "core-world.wasm");
  if (!m)
    return;
  const char *argv[] = {"prog", "x"};
  zh_wasip2_config cfg = {0};
  cfg.argv = argv;
  cfg.argc = 2;
  cfg.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  cfg.stdio[2].kind = ZH_WASI_STDIO_CAPTURE;
  zh_error *err = NULL;
  zh_store *store = NULL;
  zh_component *comp = NULL;
  zh_wasip2_ctx *cx = zh_wasip2_new(&cfg, &err);
  if (!err)
    err = zh_store_new(engine, &store);
  if (!err) {
    zh_wasip2_set_store(cx, store);
    err = zh_component_new(store, m, NULL, &comp);
  }
  if (!err)
    err = zh_wasip2_define_component(comp, cx);
  if (!err)
    err = zh_component_instantiate(comp, NULL, 0);
  zh_val res = zh_val_bool(false);
  if (!err)
    err = zh_component_call(comp, "wasi:cli/run@0.2.12", "run", NULL, 0, &res);
  if (err)
    fprintf(stderr, "  %s\n", zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK(res.kind == ZH_WIT_RESULT && zh_val_case(&res) == 0);
  zh_val_drop(&res);
  size_t n;
  const char *out = cx ? zh_wasip2_stdout_captured(cx, &n) : "";
  CHECK(strncmp(out, "argv: prog x\nCORE_WORLD=\nwall seconds ", 38) == 0);
  const char *errs = cx ? zh_wasip2_stderr_captured(cx, &n) : "";
  CHECK(strcmp(errs, "to stderr\n") == 0);
  CHECK_EQ_INT(zh_component_handle_count(comp), 0);
  zh_component_free(comp);
  zh_wasip2_free(cx);
  zh_store_free(store);
  zh_module_free(m);
}

static void test_errors(void) {
  zh_store *store = NULL;
  zh_error *err = zh_store_new(engine, &store);
  CHECK(err == NULL);
  zh_error_free(err);

  /* No section: named, one line. */
  zh_module *bare = load(OBJ "core-world.core.wasm");
  zh_component *comp = NULL;
  err = bare ? zh_component_new(store, bare, NULL, &comp) : NULL;
  CHECK(err != NULL && comp == NULL);
  CHECK(err && strcmp(zh_error_message(err),
                      OBJ "core-world.core.wasm: a core module without a component-type custom "
                          "section (no world)") == 0);
  zh_error_free(err);
  zh_module_free(bare);

  /* A world the host cannot satisfy: the import is named at instantiation. */
  zh_module *m = load(OBJ "core-greeter.wasm");
  zh_wasip2_config cfg = {0};
  zh_wasip2_ctx *cx = zh_wasip2_new(&cfg, &err);
  CHECK(err == NULL);
  zh_error_free(err);
  err = m ? zh_component_new(store, m, NULL, &comp) : NULL;
  CHECK(err == NULL);
  zh_error_free(err);
  if (comp) {
    err = zh_wasip2_define_component(comp, cx);
    CHECK(err == NULL);
    zh_error_free(err);
    err = zh_component_instantiate(comp, NULL, 0);
    CHECK(err && zh_error_status(err) == ZH_ERR_UNLINKABLE);
    CHECK(err && strcmp(zh_error_message(err), "import zerohop:test-core/greeter#hello: no host "
                                               "implementation defined") == 0);
    zh_error_free(err);
  }
  zh_component_free(comp);
  zh_wasip2_free(cx);
  zh_module_free(m);
  zh_store_free(store);
}

int main(void) {
  zh_error *err = zh_engine_new(NULL, &engine);
  CHECK(err == NULL);
  if (err)
    TEST_SUMMARY();
  test_world();
  test_link_and_run();
  test_errors();
  zh_engine_free(engine);
  TEST_SUMMARY();
}
