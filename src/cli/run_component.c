/* `zerohop run` for component binaries: a wasi:cli command (a component exporting
 * wasi:cli/run, any 0.2.x) runs with the WASI 0.2 host. Decoding, validation and linking
 * errors exit 1 with one line; `run` returning err exits 1, exit/exit-with-code give their
 * code, a trap 134 with its backtrace, --timeout 124, as for core modules. */
#include "cli.h"
#include "run.h"

#include "zerohop/cm.h"
#include "zerohop/wasip2.h"

#include <stdlib.h>
#include <string.h>

/* The version that wasi:cli/run is looked up with: any semver-compatible export matches. */
#define CLI_RUN_IFACE "wasi:cli/run@0.2.0"

/* What the process exit reclaims (see run.c's `kept`): reachable, so not leaks. */
static struct {
  zh_store *volatile store;
  zh_cm_component *volatile comp;
} kept;

static int run_export(const run_opts *o, zh_cm_instance *inst) {
  zh_cm_func *run = zh_cm_instance_func(inst, CLI_RUN_IFACE, "run");
  if (!run) {
    zh_cli_run_disarm_timeout(o);
    zh_cli_error("%s: the component does not export wasi:cli/run (0.2.x); it is not a command",
                 o->path);
    return ZH_CLI_FAIL;
  }
  zh_val result;
  zh_error *err = zh_cm_func_call(inst, run, NULL, 0, &result);
  if (err)
    return zh_cli_run_status(o, err);
  zh_cli_run_disarm_timeout(o);
  /* run: func() -> result: ok is success, err a failure without a code. */
  int status = result.kind == ZH_WIT_RESULT && zh_val_case(&result) != 0 ? ZH_CLI_FAIL : ZH_CLI_OK;
  zh_val_drop(&result);
  return status;
}

int zh_cli_run_component(const run_opts *o, zh_engine *engine, const uint8_t *bytes, size_t len,
                         const char **argv, size_t argc, const char **env, size_t envc,
                         const zh_wasi_preopen *preopens, size_t npreopens) {
  int status = ZH_CLI_FAIL;
  zh_cm_component *comp = NULL;
  zh_cm_linker *linker = NULL;
  zh_wasip2_ctx *cx = NULL;
  zh_store *store = NULL;
  zh_cm_instance *inst = NULL;
  zh_error *err;
  if ((err = zh_cm_component_new(engine, bytes, len, o->path, &comp)) != NULL ||
      (err = zh_cm_linker_new(&linker)) != NULL ||
      (err = zh_wasip2_define_linker(linker)) != NULL) {
    status = zh_cli_run_load_error(o->path, err);
    goto done;
  }
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
  if ((cx = zh_wasip2_new(&cfg, &err)) == NULL || (err = zh_store_new(engine, &store)) != NULL) {
    status = zh_cli_run_load_error(o->path, err);
    goto done;
  }
  zh_wasip2_set_store(cx, store);
  if (o->timeout_ns)
    zh_cli_run_arm_timeout(store, o); /* start functions may loop too */
  if ((err = zh_cm_linker_instantiate(linker, comp, store, cx, &inst)) != NULL) {
    zh_status st = zh_error_status(err);
    /* A start function's trap or exit is the guest's outcome; the rest is a load error. */
    status = st == ZH_ERR_TRAP || st == ZH_ERR_EXIT || st == ZH_ERR_INTERRUPTED ||
                     st == ZH_ERR_EXHAUSTION
                 ? zh_cli_run_status(o, err)
                 : zh_cli_run_load_error(o->path, err);
    goto done;
  }
  status = run_export(o, inst);
done:
  zh_cli_run_disarm_timeout(o);
  zh_cm_instance_free(inst);
  zh_wasip2_free(cx); /* flushes and closes what the guest still holds */
  zh_cm_linker_free(linker);
  kept.store = store; /* the process exits next: see run.c */
  kept.comp = comp;
  return status;
}
