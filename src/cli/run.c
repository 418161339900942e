/* `zerohop run`: load a module, link WASI, instantiate, call _start (or --invoke FUNC). */
#include "run.h"
#include "cli.h"

#include "zerohop/cm.h"
#include "zerohop/wasi.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

extern char **environ;

#define RUN_USAGE "zerohop run [OPTIONS] MODULE.wasm [ARGS...]"

void zh_cli_run_help(FILE *out) {
  fprintf(out, "Usage: " RUN_USAGE "\n"
               "\n"
               "Runs a WebAssembly module with WASI (wasi_snapshot_preview1). The guest sees\n"
               "the module's file name as argv[0] followed by ARGS, an environment holding\n"
               "only the --env variables (and the host's with --inherit-env), the host's\n"
               "stdin, stdout and stderr, and no files except the --dir directories.\n"
               "A component binary exporting wasi:cli/run (0.2.x) runs with WASI 0.2, and so\n"
               "does a core module that imports WIT interfaces and carries its world in a\n"
               "component-type custom section (wit-bindgen, `jco embed`): its entry is the\n"
               "world's wasi:cli/run, or _start; exit-with-code gives the exit status.\n"
               "\n"
               "Options (each may also be written --OPTION=VALUE):\n"
               "  --dir HOST[::GUEST]   give the guest the host directory HOST under the name\n"
               "                        GUEST (default: HOST as written), read-write;\n"
               "                        repeatable. HOST must exist and be a directory.\n"
               "  --dir-ro HOST[::GUEST]\n"
               "                        the same, read-only: nothing beneath it can be\n"
               "                        created, written, renamed or removed\n"
               "  --env KEY=VALUE       add a variable to the guest's environment (repeatable;\n"
               "                        a later one replaces an earlier one of the same KEY)\n"
               "  --inherit-env         pass the host's environment too; --env overrides it\n"
               "  --timeout DURATION    interrupt the guest after DURATION of running: a number\n"
               "                        with ns, us, ms, s, m or h (100ms, 1.5s, 500us, 1m);\n"
               "                        a bare number is seconds. Counted from instantiation;\n"
               "                        a guest blocked in a host call (e.g. reading stdin) is\n"
               "                        ended 100 ms after the deadline.\n"
               "  --max-memory SIZE     cap each linear memory at SIZE: bytes, or a number with\n"
               "                        K/KiB, M/MiB or G/GiB (64KiB, 10MiB, 1GiB), rounded down\n"
               "                        to 64 KiB pages (at least one; above 4GiB means 4GiB).\n"
               "                        Past it memory.grow fails, so malloc returns NULL.\n"
               "  --invoke FUNC         call the exported function FUNC instead of _start (after\n"
               "                        _initialize, if the module exports one). ARGS are its\n"
               "                        parameters: i32/i64 as decimal integers, f32/f64 as\n"
               "                        decimal numbers, nan or inf. Each result is printed on\n"
               "                        its own line.\n"
               "  -h, --help            show this help\n"
               "  --                    end of options\n"
               "\n"
               "Exit status:\n"
               "  0     _start (or FUNC) returned\n"
               "  N     the guest called proc_exit(N), e.g. exit(N) or returning N from main\n"
               "  1     the module could not be read, decoded, validated, linked or\n"
               "        instantiated (e.g. its memory is larger than --max-memory); one line\n"
               "        \"zerohop: MESSAGE\" names the file and, for malformed or invalid\n"
               "        modules, the section and offset\n"
               "  2     usage error, reported on one line: unknown option, missing or bad\n"
               "        option value, a --dir that is missing or not a directory, missing\n"
               "        MODULE, bad --invoke arguments\n"
               "  124   the guest ran past --timeout; \"zerohop: FILE: interrupted: ...\" is\n"
               "        printed with the wasm backtrace (124 as timeout(1) uses it)\n"
               "  134   the guest trapped or exhausted the call stack; \"zerohop: FILE: trap:\n"
               "        MESSAGE\" is printed, followed by the wasm backtrace with function names\n"
               "        when the module has a name section (134 = 128 + SIGABRT, as a native\n"
               "        program that aborts)\n"
               "A guest may itself exit with 1, 2, 124 or 134; the message on stderr tells them\n"
               "apart.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a usage error about the run command line; returns 2. */
static int usage_error(const char *fmt, ...) {
  char msg[512] = "";
  va_list ap;
  va_start(ap, fmt);
  /* clang-tidy 14 flags every va_list use after the first file of a multi-file run. */
  /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return zh_cli_usage_error("run", RUN_USAGE, msg);
}

enum { OPT_INVOKE, OPT_ENV, OPT_INHERIT_ENV, OPT_DIR, OPT_DIR_RO, OPT_TIMEOUT, OPT_MAX_MEMORY };

static const struct {
  const char *name;
  int id;
  bool has_value;
} options[] = {
    {"--invoke", OPT_INVOKE, true},
    {"--env", OPT_ENV, true},
    {"--inherit-env", OPT_INHERIT_ENV, false},
    {"--dir", OPT_DIR, true},
    {"--dir-ro", OPT_DIR_RO, true},
    {"--timeout", OPT_TIMEOUT, true},
    {"--max-memory", OPT_MAX_MEMORY, true},
};

/* Applies one option with its value ("" for flags); returns false after a usage error. */
static bool apply_option(int id, const char *name, const char *value, run_opts *o) {
  switch (id) {
  case OPT_INVOKE:
    if (*value == 0) {
      usage_error("option '--invoke' needs a function name");
      return false;
    }
    o->invoke = value;
    return true;
  case OPT_ENV:
    if (strchr(value, '=') == NULL || value[0] == '=') {
      usage_error("--env expects KEY=VALUE, got '%s'", value);
      return false;
    }
    o->env[o->nenv++] = value;
    return true;
  case OPT_INHERIT_ENV:
    o->inherit_env = true;
    return true;
  case OPT_DIR:
  case OPT_DIR_RO: {
    const char *sep = strstr(value, "::");
    size_t host_len = sep ? (size_t)(sep - value) : strlen(value);
    if (host_len == 0 || (sep && sep[2] == 0)) {
      usage_error("%s expects HOST[::GUEST] with neither part empty, got '%s'", name, value);
      return false;
    }
    run_dir *d = &o->dirs[o->ndirs];
    d->host = strndup(value, host_len);
    if (d->host == NULL) {
      zh_cli_error("out of memory");
      return false;
    }
    o->ndirs++;
    d->spec = value;
    d->guest = sep ? sep + 2 : value;
    d->read_only = id == OPT_DIR_RO;
    return true;
  }
  case OPT_TIMEOUT:
    if (!zh_cli_parse_duration(value, &o->timeout_ns) || o->timeout_ns == 0) {
      usage_error("--timeout: bad duration '%s' (a positive number with ns, us, ms, s, m or h, "
                  "e.g. 100ms, 1.5s)",
                  value);
      return false;
    }
    o->timeout_text = value;
    return true;
  case OPT_MAX_MEMORY: {
    uint64_t bytes;
    if (!zh_cli_parse_size(value, &bytes)) {
      usage_error("--max-memory: bad size '%s' (bytes, or a number with KiB, MiB or GiB, "
                  "e.g. 64KiB, 10MiB)",
                  value);
      return false;
    }
    uint64_t pages = bytes / 65536;
    if (pages == 0) {
      usage_error("--max-memory: '%s' is less than one 64 KiB page", value);
      return false;
    }
    o->max_pages = pages > 65536 ? 65536 : (uint32_t)pages; /* wasm32 cannot address more */
    return true;
  }
  default:
    return false;
  }
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
    const char *eq = strchr(a, '=');
    size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
    size_t k = 0, n = sizeof options / sizeof options[0];
    while (k < n &&
           !(strlen(options[k].name) == name_len && strncmp(options[k].name, a, name_len) == 0))
      k++;
    if (k == n) {
      usage_error("unknown option '%.*s'", (int)name_len, a);
      return false;
    }
    const char *value = "";
    if (!options[k].has_value) {
      if (eq) {
        usage_error("option '%s' takes no value", options[k].name);
        return false;
      }
    } else if (eq) {
      value = eq + 1;
    } else if (i < argc) {
      value = argv[i++];
    } else {
      usage_error("option '%s' needs a value", a);
      return false;
    }
    if (!apply_option(options[k].id, options[k].name, value, o))
      return false;
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
const char *zh_cli_run_base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

/* Prints a load/link error as one line that names the file. */
int zh_cli_run_load_error(const char *path, zh_error *err) {
  const char *msg = zh_error_message(err);
  if (strstr(msg, path) != NULL)
    zh_cli_error("%s", msg);
  else
    zh_cli_error("%s: %s", path, msg);
  zh_error_free(err);
  return ZH_CLI_FAIL;
}

/* ---- --timeout ---- */

/* The deadline itself is the engine's (zh_store_set_timeout): the interpreter stops at the
 * next loop back-edge or call. A guest blocked inside a host call (a read from a terminal,
 * a long sleep) never gets there, so a SIGALRM a little later ends the process instead. */
#define BACKSTOP_GRACE_NS 100000000u /* 100 ms past the deadline */

static char backstop_msg[1024];
static size_t backstop_len;

static void backstop(int sig) {
  (void)sig;
  /* Only async-signal-safe calls: the message was formatted beforehand. */
  ssize_t w = write(2, backstop_msg, backstop_len);
  (void)w;
  _exit(ZH_CLI_TIMEOUT);
}

void zh_cli_run_arm_timeout(zh_store *store, const run_opts *o) {
  zh_store_set_timeout(store, o->timeout_ns);
  int n = snprintf(backstop_msg, sizeof backstop_msg,
                   "zerohop: %s: interrupted: time limit of %s reached while the guest was "
                   "blocked in a host call\n",
                   o->path, o->timeout_text);
  backstop_len = n < 0 ? 0 : (size_t)n < sizeof backstop_msg ? (size_t)n : sizeof backstop_msg;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = backstop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  uint64_t at = o->timeout_ns > UINT64_MAX - BACKSTOP_GRACE_NS ? UINT64_MAX
                                                               : o->timeout_ns + BACKSTOP_GRACE_NS;
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_sec = (time_t)(at / 1000000000u);
  it.it_value.tv_usec = (suseconds_t)(at % 1000000000u / 1000u);
  setitimer(ITIMER_REAL, &it, NULL);
}

void zh_cli_run_disarm_timeout(const run_opts *o) {
  if (o->timeout_ns == 0)
    return;
  struct itimerval it;
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, NULL);
}

/* Maps the outcome of running guest code to the exit status; consumes err. */
int zh_cli_run_status(const run_opts *o, zh_error *err) {
  if (err == NULL)
    return ZH_CLI_OK;
  zh_cli_run_disarm_timeout(o); /* the outcome is known: the backstop must not race the message */
  int status;
  const char *msg = zh_error_message(err);
  switch (zh_error_status(err)) {
  case ZH_ERR_EXIT:
    status = zh_error_exit_code(err);
    break;
  case ZH_ERR_INTERRUPTED: {
    /* The engine says "interrupted: wasm backtrace: ..."; say why first. */
    const char *rest = strncmp(msg, "interrupted: ", 13) == 0 ? msg + 13 : msg;
    if (o->timeout_text)
      zh_cli_error_lines("%s: interrupted: time limit of %s reached; %s", o->path, o->timeout_text,
                         rest);
    else
      zh_cli_error_lines("%s: interrupted: %s", o->path, rest);
    status = ZH_CLI_TIMEOUT;
    break;
  }
  case ZH_ERR_TRAP:
  case ZH_ERR_EXHAUSTION:
    /* First line "zerohop: FILE: trap: TEXT", then the engine's backtrace, if any. */
    zh_cli_error_lines("%s: trap: %s", o->path, msg);
    status = ZH_CLI_TRAP;
    break;
  default:
    return zh_cli_run_load_error(o->path, err);
  }
  zh_error_free(err);
  return status;
}

/* Parses ARGS by FUNC's parameter types, calls it and prints the results. */
static int invoke(zh_store *store, zh_func *fn, const run_opts *o) {
  zh_functype ft;
  zh_func_type(fn, &ft);
  if ((uint32_t)o->nargs != ft.nparams) {
    return usage_error("function '%s' takes %u argument%s, got %d", o->invoke, ft.nparams,
                       ft.nparams == 1 ? "" : "s", o->nargs);
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
      status = usage_error("argument %u of '%s': '%s' is not a%s %s", i + 1, o->invoke, o->args[i],
                           ft.params[i] == ZH_I32 || ft.params[i] == ZH_I64 ? "n" : "",
                           zh_valtype_name(ft.params[i]));
      goto done;
    }
  }
  for (uint32_t i = 0; i < ft.nresults; i++)
    results[i].type = ft.results[i];
  status = zh_cli_run_status(o, zh_func_call(store, fn, args, ft.nparams, results, ft.nresults));
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

/* The guest's environment: the host's with --inherit-env, then each --env, a later KEY=
 * replacing an earlier one. Returns a malloc'd array of borrowed strings, or NULL. */
static const char **build_env(const run_opts *o, size_t *count) {
  size_t nhost = 0;
  if (o->inherit_env)
    while (environ && environ[nhost])
      nhost++;
  const char **env = calloc(nhost + o->nenv + 1, sizeof *env);
  if (env == NULL)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < nhost; i++)
    if (strchr(environ[i], '=') != NULL && environ[i][0] != '=')
      env[n++] = environ[i];
  for (size_t i = 0; i < o->nenv; i++) {
    size_t key_len = (size_t)(strchr(o->env[i], '=') - o->env[i]) + 1; /* with the '=' */
    size_t k = 0;
    while (k < n && strncmp(env[k], o->env[i], key_len) != 0)
      k++;
    env[k] = o->env[i];
    if (k == n)
      n++;
  }
  *count = n;
  return env;
}

/* Opens each --dir; on failure prints one line and returns false. fds[] gets -1 first. */
static bool open_dirs(const run_opts *o, int *fds) {
  for (size_t i = 0; i < o->ndirs; i++)
    fds[i] = -1;
  for (size_t i = 0; i < o->ndirs; i++) {
    const run_dir *d = &o->dirs[i];
    fds[i] = open(d->host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fds[i] < 0) {
      const char *why = errno == ENOTDIR ? "not a directory" : strerror(errno);
      zh_cli_error("%s '%s': %s", d->read_only ? "--dir-ro" : "--dir", d->host, why);
      return false;
    }
  }
  return true;
}

/* What run_module leaves to the process exit (see there). Volatile: stores to a static that
 * is never read would otherwise be dropped, and LeakSanitizer would see nothing holding the
 * objects. */
static struct {
  zh_store *volatile store;
  zh_module *volatile module;
  zh_engine *volatile engine;
} kept;

/* Everything after parsing; the caller exits with the returned status. */
static int run_module(const run_opts *o) {
  int status = ZH_CLI_FAIL;
  zh_cli_file file = {NULL, 0, false};
  zh_engine *engine = NULL;
  zh_module *module = NULL;
  zh_store *store = NULL;
  zh_wasi_ctx *wasi = NULL;
  zh_extern *imports = NULL;
  const char **argv = NULL, **env = NULL;
  zh_wasi_preopen *preopens = NULL;
  int *dir_fds = NULL;
  zh_error *err;

  /* Directories first: a bad --dir is a usage error, reported before any real work. */
  if (o->ndirs > 0) {
    dir_fds = calloc(o->ndirs, sizeof *dir_fds);
    preopens = calloc(o->ndirs, sizeof *preopens);
    if (dir_fds == NULL || preopens == NULL) {
      zh_cli_error("out of memory");
      goto done;
    }
    if (!open_dirs(o, dir_fds)) {
      status = ZH_CLI_USAGE;
      goto done;
    }
    for (size_t i = 0; i < o->ndirs; i++) {
      preopens[i].host_fd = dir_fds[i];
      preopens[i].guest_path = o->dirs[i].guest;
      preopens[i].read_only = o->dirs[i].read_only;
    }
  }

  if (!zh_cli_map_file(o->path, &file)) {
    zh_cli_error("%s: cannot read: %s", o->path, strerror(errno));
    goto done;
  }
  zh_engine_config ecfg;
  memset(&ecfg, 0, sizeof ecfg);
  ecfg.max_memory_pages = o->max_pages;
  if ((err = zh_engine_new(&ecfg, &engine)) != NULL) {
    status = zh_cli_run_load_error(o->path, err);
    goto done;
  }

  argv = calloc((size_t)o->nargs + 1, sizeof *argv);
  size_t envc = 0;
  env = build_env(o, &envc);
  if (argv == NULL || env == NULL) {
    zh_cli_error("out of memory");
    goto done;
  }
  argv[0] = zh_cli_run_base_name(o->path);
  for (int i = 0; i < o->nargs; i++)
    argv[i + 1] = o->args[i];

  /* A component binary (layer 1) runs with WASI 0.2; a core module with preview1. */
  if (zh_cm_is_component(file.data, file.len)) {
    if (o->invoke) {
      status = usage_error("--invoke is for core modules; %s is a component", o->path);
      goto done;
    }
    status = zh_cli_run_component(o, engine, file.data, file.len, argv, (size_t)o->nargs + 1, env,
                                  envc, preopens, o->ndirs);
    goto done;
  }
  /* The module reads the mapped file in place (bodies compile from it on first call), so
   * the mapping lives as long as the module: until exit. */
  if ((err = zh_module_new_view(engine, file.data, file.len, o->path, &module)) != NULL) {
    status = zh_cli_run_load_error(o->path, err);
    goto done;
  }
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.argv = argv;
  cfg.argc = (size_t)o->nargs + 1;
  cfg.env = env;
  cfg.envc = envc;
  cfg.preopens = preopens;
  cfg.npreopens = o->ndirs;
  for (int i = 0; i < 3; i++)
    cfg.stdio[i].kind = ZH_WASI_STDIO_INHERIT;
  if ((wasi = zh_wasi_new(&cfg, &err)) == NULL) {
    status = zh_cli_run_load_error(o->path, err);
    goto done;
  }

  size_t nimports = zh_module_import_count(module);
  imports = calloc(nimports + 1, sizeof *imports);
  if (imports == NULL) {
    zh_cli_error("out of memory");
    goto done;
  }
  zh_instance *inst = NULL;
  /* A module whose imports are WIT interfaces links through the world it carries. */
  bool with_world = o->invoke == NULL && zh_cli_run_core_has_world(module);
  if ((err = zh_store_new(engine, &store)) != NULL ||
      (!with_world && (err = zh_wasi_link(wasi, store, module, imports)) != NULL)) {
    status = zh_cli_run_load_error(o->path, err);
    goto done;
  }
  zh_store_set_data(store, wasi);
  if (with_world) {
    status = zh_cli_run_core_world(o, store, module, wasi, imports, argv, (size_t)o->nargs + 1, env,
                                   envc, preopens, o->ndirs);
    goto done;
  }
  if (o->timeout_ns)
    zh_cli_run_arm_timeout(store, o); /* before instantiation: the start function may loop too */
  if ((err = zh_instance_new(store, module, imports, nimports, &inst)) != NULL) {
    /* The start function may trap or exit: those are guest outcomes, not link errors. */
    status = zh_cli_run_status(o, err);
    goto done;
  }

  const char *name = o->invoke ? o->invoke : "_start";
  zh_func *fn = zh_instance_func(inst, name);
  if (fn == NULL) {
    zh_cli_run_disarm_timeout(o);
    if (o->invoke)
      zh_cli_error("%s: no exported function '%s'", o->path, name);
    else
      zh_cli_error("%s: no exported function '_start' (try --invoke FUNC)", o->path);
    goto done;
  }
  if (o->invoke == NULL) {
    status = zh_cli_run_status(o, zh_func_call(store, fn, NULL, 0, NULL, 0));
    goto done;
  }
  /* A WASI reactor sets itself up in _initialize before any other export is used. */
  zh_func *init = zh_instance_func(inst, "_initialize");
  if (init != NULL && init != fn) {
    status = zh_cli_run_status(o, zh_func_call(store, init, NULL, 0, NULL, 0));
    if (status != ZH_CLI_OK)
      goto done; /* one deadline covers _initialize and FUNC together */
  }
  status = invoke(store, fn, o);

done:
  zh_cli_run_disarm_timeout(o);
  zh_wasi_free(wasi); /* whatever it holds for the guest's descriptors is released */
  /* The process exits right after this. Freeing the store, module and engine one object
   * at a time (frees, munmaps of the stacks and the memory reservation) took about 50 us of
   * a 1.5 ms run; the kernel reclaims all of it at exit anyway. `kept` leaves the objects
   * reachable, so LeakSanitizer does not count them as leaks. */
  kept.store = store;
  kept.module = module;
  kept.engine = engine;
  for (size_t i = 0; dir_fds && i < o->ndirs; i++)
    if (dir_fds[i] >= 0)
      close(dir_fds[i]); /* zh_wasi_new keeps duplicates of its own */
  free(dir_fds);
  free(preopens);
  free(imports);
  free(argv);
  free(env);
  if (module == NULL)
    zh_cli_unmap_file(&file);
  return status;
}

int zh_cli_run_main(int argc, char **argv) {
  run_opts o;
  memset(&o, 0, sizeof o);
  /* Each option takes at least one argument, so argc bounds both lists. */
  o.env = calloc((size_t)argc + 1, sizeof *o.env);
  o.dirs = calloc((size_t)argc + 1, sizeof *o.dirs);
  if (o.env == NULL || o.dirs == NULL) {
    free(o.env);
    free(o.dirs);
    zh_cli_error("out of memory");
    return ZH_CLI_FAIL;
  }
  int status;
  if (parse_options(argc, argv, &o, &status))
    status = run_module(&o);
  for (size_t i = 0; i < o.ndirs; i++)
    free(o.dirs[i].host);
  free(o.env);
  free(o.dirs);
  return status;
}
