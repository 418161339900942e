/* `zerohop run` for core modules that carry their world: wit-bindgen and `wit-component
 * embed` leave the world in a `component-type[:...]` custom section, and a module whose
 * imports are WIT interfaces in the canonical ABI (core module "wasi:cli/stdout@0.2.12" and
 * the like) links through it to the WASI 0.2 host (zh_component with no world given reads
 * it; zh_wasip2_define_component defines its WASI imports). Preview1 imports, which a C
 * program's libc may add, come from the preview1 host as for any core module. The entry is
 * the world's wasi:cli/run export (any 0.2.x), or else `_start`. Exit statuses as for
 * components: a world that does not decode or that the host cannot satisfy is a load error
 * (one line naming the import, exit 1). */
#include "cli.h"
#include "run.h"

#include "zerohop/component.h"
#include "zerohop/wasip2.h"

#include <stdlib.h>
#include <string.h>

bool zh_cli_run_core_has_world(const zh_module *module) {
  bool section = false, wit_import = false;
  for (size_t i = 0, n = zh_module_custom_count(module); i < n && !section; i++) {
    const char *name;
    zh_module_custom(module, i, &name, NULL, NULL);
    section =
        name && (strcmp(name, "component-type") == 0 || strncmp(name, "component-type:", 15) == 0);
  }
  for (size_t i = 0, n = zh_module_import_count(module); i < n && !wit_import; i++) {
    zh_import_info imp;
    zh_module_import(module, i, &imp);
    wit_import = strcmp(imp.module, ZH_WASI_MODULE) != 0;
  }
  return section && wit_import;
}

/* The world's export of wasi:cli/run, any 0.2.x; NULL if it has none. */
static const char *run_export(const zh_wit_world *w) {
  static const char prefix[] = "wasi:cli/run@0.2.";
  for (size_t i = 0; i < w->nexports; i++)
    if (w->exports[i].kind == ZH_WIT_ITEM_INTERFACE &&
        strncmp(w->exports[i].name, prefix, sizeof prefix - 1) == 0)
      return w->exports[i].name;
  return NULL;
}

/* Whether the import belongs to the world: "$root" or one of its imported interfaces. */
static bool in_world(const zh_wit_world *w, const char *module) {
  if (strcmp(module, "$root") == 0)
    return true;
  for (size_t i = 0; i < w->nimports; i++)
    if (w->imports[i].kind == ZH_WIT_ITEM_INTERFACE && strcmp(w->imports[i].name, module) == 0)
      return true;
  return false;
}

/* Sets the preview1 imports; any other import must be the world's. */
static zh_error *link_rest(const zh_component *comp, zh_wasi_ctx *wasi, zh_store *store,
                           const zh_module *module, zh_extern *imports) {
  const zh_wit_world *w = zh_component_world(comp);
  for (size_t i = 0, n = zh_module_import_count(module); i < n; i++) {
    zh_import_info imp;
    zh_module_import(module, i, &imp);
    if (strcmp(imp.module, ZH_WASI_MODULE) == 0) {
      zh_error *err = zh_wasi_link_import(wasi, store, &imp, &imports[i]);
      if (err)
        return err;
    } else if (!in_world(w, imp.module)) {
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "import %s#%s is neither WASI preview 1 nor in the module's world %s",
                          imp.module, imp.name, w->name);
    }
  }
  return NULL;
}

static int load_error(const run_opts *o, zh_error *err) {
  zh_cli_run_disarm_timeout(o);
  return zh_cli_run_load_error(o->path, err);
}

int zh_cli_run_core_world(const run_opts *o, zh_store *store, const zh_module *module,
                          zh_wasi_ctx *wasi, zh_extern *imports, const char **argv, size_t argc,
                          const char **env, size_t envc, const zh_wasi_preopen *preopens,
                          size_t npreopens) {
  zh_component *comp = NULL;
  zh_wasip2_ctx *cx = NULL;
  zh_error *err = NULL;
  int status;
  zh_wasip2_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.argv = argv;
  cfg.argc = argc;
  cfg.env = env;
  cfg.envc = envc;
  cfg.preopens = preopens;
  cfg.npreopens = npreopens;
  for (int i = 0; i < 3; i++)
    cfg.stdio[i].kind = ZH_WASI_STDIO_INHERIT;
  if ((err = zh_component_new(store, module, NULL, &comp)) != NULL ||
      (cx = zh_wasip2_new(&cfg, &err)) == NULL) {
    status = load_error(o, err);
    goto done;
  }
  zh_wasip2_set_store(cx, store);
  if ((err = zh_wasip2_define_component(comp, cx)) != NULL ||
      (err = link_rest(comp, wasi, store, module, imports)) != NULL) {
    status = load_error(o, err);
    goto done;
  }
  if (o->timeout_ns)
    zh_cli_run_arm_timeout(store, o); /* the start function may loop too */
  if ((err = zh_component_instantiate(comp, imports, zh_module_import_count(module))) != NULL) {
    zh_status st = zh_error_status(err);
    status = st == ZH_ERR_TRAP || st == ZH_ERR_EXIT || st == ZH_ERR_INTERRUPTED ||
                     st == ZH_ERR_EXHAUSTION
                 ? zh_cli_run_status(o, err)
                 : load_error(o, err);
    goto done;
  }
  zh_instance *inst = zh_component_instance(comp);
  const char *run = run_export(zh_component_world(comp));
  zh_func *start = run ? NULL : zh_instance_func(inst, "_start");
  if (!run && !start) {
    zh_cli_run_disarm_timeout(o);
    zh_cli_error("%s: its world exports no wasi:cli/run (0.2.x) and it has no '_start'", o->path);
    status = ZH_CLI_FAIL;
    goto done;
  }
  if (start) {
    status = zh_cli_run_status(o, zh_func_call(store, start, NULL, 0, NULL, 0));
    goto done;
  }
  /* A reactor sets itself up in _initialize before its exports are used. */
  zh_func *init = zh_instance_func(inst, "_initialize");
  if (init &&
      (status = zh_cli_run_status(o, zh_func_call(store, init, NULL, 0, NULL, 0))) != ZH_CLI_OK)
    goto done;
  zh_val result;
  if ((err = zh_component_call(comp, run, "run", NULL, 0, &result)) != NULL) {
    status = zh_cli_run_status(o, err);
    goto done;
  }
  zh_cli_run_disarm_timeout(o);
  /* run: func() -> result: ok is success, err a failure without a code. */
  status = result.kind == ZH_WIT_RESULT && zh_val_case(&result) != 0 ? ZH_CLI_FAIL : ZH_CLI_OK;
  zh_val_drop(&result);
done:
  zh_cli_run_disarm_timeout(o);
  zh_component_free(comp); /* before the context its adapters point into */
  zh_wasip2_free(cx);      /* flushes and closes what the guest still holds */
  return status;
}
