/* `zerohop run` internals shared by the core-module path (run.c) and the component path
 * (run_component.c): the parsed options and the helpers that turn outcomes into exit
 * statuses. */
#ifndef ZH_CLI_RUN_H
#define ZH_CLI_RUN_H

#include "zerohop/engine.h"
#include "zerohop/wasi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A --dir or --dir-ro directory as given on the command line. */
typedef struct run_dir {
  const char *spec;  /* the option's value, for messages */
  char *host;        /* HOST, a copy (the value is split at "::") */
  const char *guest; /* GUEST, or HOST when absent; points into `spec` */
  bool read_only;
} run_dir;

typedef struct run_opts {
  const char *invoke; /* NULL: _start */
  const char **env;   /* --env values */
  size_t nenv;
  bool inherit_env;
  run_dir *dirs;
  size_t ndirs;
  uint64_t timeout_ns; /* 0: none */
  const char *timeout_text;
  uint32_t max_pages; /* 0: the engine's default */
  const char *path;   /* MODULE.wasm */
  char **args;        /* after the module */
  int nargs;
} run_opts;

/* The guest's argv[0]: the file name alone, so the host's directory layout stays private. */
const char *zh_cli_run_base_name(const char *path);
/* Prints a load/link error as one line that names the file; consumes err; returns 1. */
int zh_cli_run_load_error(const char *path, zh_error *err);
/* --timeout: the store's deadline, and a SIGALRM backstop for a guest blocked in the host. */
void zh_cli_run_arm_timeout(zh_store *store, const run_opts *o);
void zh_cli_run_disarm_timeout(const run_opts *o);
/* Maps the outcome of running guest code (NULL, exit, interrupt, trap) to the exit status,
 * printing what happened; consumes err. */
int zh_cli_run_status(const run_opts *o, zh_error *err);

/* run_component.c: runs a component binary that exports wasi:cli/run (any 0.2.x) with WASI
 * 0.2; `argv`/`env` as the guest sees them, `preopens` from --dir. Returns the exit status. */
int zh_cli_run_component(const run_opts *o, zh_engine *engine, const uint8_t *bytes, size_t len,
                         const char **argv, size_t argc, const char **env, size_t envc,
                         const zh_wasi_preopen *preopens, size_t npreopens);

/* run_core_world.c: a core module that carries its world (a component-type custom section)
 * and imports WIT interfaces runs through that world with the WASI 0.2 host; its preview1
 * imports, if any, come from `wasi`. `imports` has room for every import of the module, and
 * `store` is the module's. Returns the exit status. */
bool zh_cli_run_core_has_world(const zh_module *module);
int zh_cli_run_core_world(const run_opts *o, zh_store *store, const zh_module *module,
                          zh_wasi_ctx *wasi, zh_extern *imports, const char **argv, size_t argc,
                          const char **env, size_t envc, const zh_wasi_preopen *preopens,
                          size_t npreopens);

#endif
