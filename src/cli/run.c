/* `zerohop run`: load a module, link WASI, instantiate, call _start (or --invoke FUNC). */
#include "cli.h"

#include "zerohop/wasi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RUN_USAGE "zerohop run [--invoke FUNC] [--env KEY=VALUE]... MODULE.wasm [ARGS...]"

void zh_cli_run_help(FILE *out) {
  fprintf(out, "Usage: " RUN_USAGE "\n"
               "\n"
               "Runs a WebAssembly module with WASI (wasi_snapshot_preview1). The guest sees\n"
               "the module's file name as argv[0] followed by ARGS, an environment holding\n"
               "only the --env variables, and the host's stdin, stdout and stderr.\n"
               "\n"
               "Options:\n"
               "  --invoke FUNC      call the exported function FUNC instead of _start (after\n"
               "                     _initialize, if the module exports one). ARGS are its\n"
               "                     parameters: i32/i64 as decimal integers, f32/f64 as\n"
               "                     decimal numbers, nan or inf. Each result is printed on\n"
               "                     its own line.\n"
               "  --env KEY=VALUE    add a variable to the guest's environment (repeatable)\n"
               "  -h, --help         show this help\n"
               "  --                 end of options\n"
               "\n"
               "Exit status:\n"
               "  0     _start (or FUNC) returned\n"
               "  N     the guest called proc_exit(N), e.g. exit(N) or returning N from main\n"
               "  1     the module could not be read, decoded, validated, linked or\n"
               "        instantiated; one line \"zerohop: MESSAGE\" names the file and, for\n"
               "        malformed or invalid modules, the section and offset\n"
               "  2     usage error: unknown option, missing MODULE, bad --invoke arguments\n"
               "  134   the guest trapped; \"zerohop: FILE: trap: MESSAGE\" is printed,\n"
               "        followed by a backtrace of the wasm frames when there is one\n"
               "        (134 = 128 + SIGABRT, as a native program that aborts)\n"
               "A guest may itself exit with 1, 2 or 134; the message on stderr tells them\n"
               "apart.\n");
}

typedef struct run_opts {
  const char *invoke; /* NULL: _start */
  const char **env;   /* --env values */
  size_t nenv;
  const char *path; /* MODULE.wasm */
  char **args;      /* after the module */
  int nargs;
} run_opts;

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a usage error about the run command line. */
static void usage_error(const char *fmt, ...) {
  char msg[512] = "";
  va_list ap;
  va_start(ap, fmt);
  /* clang-tidy 14 flags every va_list use after the first file of a multi-file run. */
  /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  zh_cli_usage_error("run", RUN_USAGE, msg);
}

/* True when the module should run; otherwise *status is the exit status (after --help, or
 * a usage error). */
static bool parse_options(int argc, char **argv, run_opts *o, int *status) {
  *status = ZH_CLI_USAGE;
  int i = 0;
  while (i < argc) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0)
      break; /* the module: everything after it belongs to the guest */
    i++;
    if (strcmp(a, "--") == 0)
      break;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      zh_cli_run_help(stdout);
      *status = ZH_CLI_OK;
      return false;
    }
    const char *value = NULL;
    bool is_invoke = strcmp(a, "--invoke") == 0 || strncmp(a, "--invoke=", 9) == 0;
    bool is_env = strcmp(a, "--env") == 0 || strncmp(a, "--env=", 6) == 0;
    if (!is_invoke && !is_env) {
      usage_error("unknown option '%s'", a);
      return false;
    }
    const char *eq = strchr(a, '=');
    if (eq != NULL) {
      value = eq + 1;
    } else {
      if (i >= argc) {
        usage_error("option '%s' needs a value", a);
        return false;
      }
      value = argv[i++];
    }
    if (is_invoke) {
      if (*value == 0) {
        usage_error("option '--invoke' needs a function name");
        return false;
      }
      o->invoke = value;
    } else {
      if (strchr(value, '=') == NULL || value[0] == '=') {
        usage_error("--env expects KEY=VALUE, got '%s'", value);
        return false;
      }
      o->env[o->nenv++] = value;
    }
  }
  if (i >= argc) {
    usage_error("missing MODULE.wasm");
    return false;
  }
  o->path = argv[i];
  o->args = argv + i + 1;
  o->nargs = argc - i - 1;
  return true;
}

/* The guest's argv[0]: the file name alone, so the host's directory layout stays private. */
static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

/* Prints a load/link error as one line that names the file. */
static int load_error(const char *path, zh_error *err) {
  const char *msg = zh_error_message(err);
  if (strstr(msg, path) != NULL)
    zh_cli_error("%s", msg);
  else
    zh_cli_error("%s: %s", path, msg);
  zh_error_free(err);
  return ZH_CLI_FAIL;
}

/* Maps the outcome of running guest code to the exit status; consumes err. */
static int call_status(const char *path, zh_error *err) {
  if (err == NULL)
    return ZH_CLI_OK;
  int status;
  switch (zh_error_status(err)) {
  case ZH_ERR_EXIT:
    status = zh_error_exit_code(err);
    break;
  case ZH_ERR_TRAP:
  case ZH_ERR_EXHAUSTION:
  case ZH_ERR_INTERRUPTED:
    /* First line "zerohop: FILE: trap: TEXT", then the engine's backtrace, if any. */
    zh_cli_error_lines("%s: trap: %s", path, zh_error_message(err));
    status = ZH_CLI_TRAP;
    break;
  default:
    return load_error(path, err);
  }
  zh_error_free(err);
  return status;
}

/* Parses ARGS by FUNC's parameter types, calls it and prints the results. */
static int invoke(zh_store *store, zh_func *fn, const run_opts *o) {
  zh_functype ft;
  zh_func_type(fn, &ft);
  if ((uint32_t)o->nargs != ft.nparams) {
    char msg[256];
    snprintf(msg, sizeof msg, "function '%s' takes %u argument%s, got %d", o->invoke, ft.nparams,
             ft.nparams == 1 ? "" : "s", o->nargs);
    return zh_cli_usage_error("run", RUN_USAGE, msg);
  }
  zh_value *args = calloc(ft.nparams + 1, sizeof *args);
  zh_value *results = calloc(ft.nresults + 1, sizeof *results);
  int status = ZH_CLI_OK;
  if (args == NULL || results == NULL) {
    zh_cli_error("out of memory");
    status = ZH_CLI_FAIL;
    goto done;
  }
  for (uint32_t i = 0; i < ft.nparams; i++) {
    if (!zh_cli_parse_value(ft.params[i], o->args[i], &args[i])) {
      char msg[512];
      snprintf(msg, sizeof msg, "argument %u of '%s': '%s' is not a%s %s", i + 1, o->invoke,
               o->args[i], ft.params[i] == ZH_I32 || ft.params[i] == ZH_I64 ? "n" : "",
               zh_cli_valtype_name(ft.params[i]));
      status = zh_cli_usage_error("run", RUN_USAGE, msg);
      goto done;
    }
  }
  for (uint32_t i = 0; i < ft.nresults; i++)
    results[i].type = ft.results[i];
  status = call_status(o->path, zh_func_call(store, fn, args, ft.nparams, results, ft.nresults));
  if (status == ZH_CLI_OK) {
    for (uint32_t i = 0; i < ft.nresults; i++)
      zh_cli_print_value(stdout, &results[i]);
    fflush(stdout);
  }
done:
  free(args);
  free(results);
  return status;
}

/* Everything after parsing: each step's objects are freed at the end, in reverse. */
static int run_module(const run_opts *o) {
  int status = ZH_CLI_FAIL;
  unsigned char *bytes = NULL;
  size_t len = 0;
  zh_engine *engine = NULL;
  zh_module *module = NULL;
  zh_store *store = NULL;
  zh_wasi_ctx *wasi = NULL;
  zh_extern *imports = NULL;
  const char **argv = NULL;
  zh_error *err;

  if (!zh_cli_read_file(o->path, &bytes, &len)) {
    zh_cli_error("%s: cannot read: %s", o->path, strerror(errno));
    goto done;
  }
  if ((err = zh_engine_new(NULL, &engine)) != NULL ||
      (err = zh_module_new(engine, bytes, len, o->path, &module)) != NULL) {
    status = load_error(o->path, err);
    goto done;
  }
  free(bytes);
  bytes = NULL;

  argv = calloc((size_t)o->nargs + 1, sizeof *argv);
  if (argv == NULL) {
    zh_cli_error("out of memory");
    goto done;
  }
  argv[0] = base_name(o->path);
  for (int i = 0; i < o->nargs; i++)
    argv[i + 1] = o->args[i];
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.argv = argv;
  cfg.argc = (size_t)o->nargs + 1;
  cfg.env = o->env;
  cfg.envc = o->nenv;
  for (int i = 0; i < 3; i++)
    cfg.stdio[i].kind = ZH_WASI_STDIO_INHERIT;
  if ((wasi = zh_wasi_new(&cfg, &err)) == NULL) {
    status = load_error(o->path, err);
    goto done;
  }

  size_t nimports = zh_module_import_count(module);
  imports = calloc(nimports + 1, sizeof *imports);
  if (imports == NULL) {
    zh_cli_error("out of memory");
    goto done;
  }
  zh_instance *inst = NULL;
  if ((err = zh_store_new(engine, &store)) != NULL ||
      (err = zh_wasi_link(wasi, store, module, imports)) != NULL) {
    status = load_error(o->path, err);
    goto done;
  }
  zh_store_set_data(store, wasi);
  if ((err = zh_instance_new(store, module, imports, nimports, &inst)) != NULL) {
    /* The start function may trap or exit: those are guest outcomes, not link errors. */
    status = call_status(o->path, err);
    goto done;
  }

  const char *name = o->invoke ? o->invoke : "_start";
  zh_func *fn = zh_instance_func(inst, name);
  if (fn == NULL) {
    if (o->invoke)
      zh_cli_error("%s: no exported function '%s'", o->path, name);
    else
      zh_cli_error("%s: no exported function '_start' (try --invoke FUNC)", o->path);
    goto done;
  }
  if (o->invoke == NULL) {
    status = call_status(o->path, zh_func_call(store, fn, NULL, 0, NULL, 0));
    goto done;
  }
  /* A WASI reactor sets itself up in _initialize before any other export is used. */
  zh_func *init = zh_instance_func(inst, "_initialize");
  if (init != NULL && init != fn) {
    status = call_status(o->path, zh_func_call(store, init, NULL, 0, NULL, 0));
    if (status != ZH_CLI_OK)
      goto done;
  }
  status = invoke(store, fn, o);

done:
  if (store)
    zh_store_free(store); /* before the WASI ctx: its host functions point at it */
  zh_wasi_free(wasi);
  if (module)
    zh_module_free(module);
  if (engine)
    zh_engine_free(engine);
  free(imports);
  free(argv);
  free(bytes);
  return status;
}

int zh_cli_run_main(int argc, char **argv) {
  run_opts o;
  memset(&o, 0, sizeof o);
  o.env = calloc((size_t)argc + 1, sizeof *o.env);
  if (o.env == NULL) {
    zh_cli_error("out of memory");
    return ZH_CLI_FAIL;
  }
  int status;
  if (parse_options(argc, argv, &o, &status))
    status = run_module(&o);
  free(o.env);
  return status;
}
