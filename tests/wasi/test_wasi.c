/* WASI: the library (guests from tests/guests run with captured stdio, link errors,
 * config checks, host calls without memory) and the `zerohop` CLI binary.
 * Needs `make guests`; the build directory comes from $ZH_BUILD (default "build"). */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/engine.h"
#include "zerohop/wasi.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *build_dir;

/* ---- helpers ---- */

static bool write_all(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    return false;
  bool ok = fwrite(data, 1, len, f) == len;
  return fclose(f) == 0 && ok;
}

static void guest_path(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/guests/%s.wasm", build_dir, name);
}

/* The outcome of running a guest's _start through the library. */
typedef struct run_result {
  zh_status status; /* ZH_OK when _start returned */
  int exit_code;    /* ZH_ERR_EXIT */
  char message[512];
  char *out, *err; /* captured stdout / stderr (malloc'd copies) */
  size_t out_len;
} run_result;

static void run_result_free(run_result *r) {
  free(r->out);
  free(r->err);
  r->out = r->err = NULL;
}

static char *dup_bytes(const char *s, size_t len) {
  char *p = malloc(len + 1);
  if (p) {
    memcpy(p, s, len);
    p[len] = 0;
  }
  return p;
}

static void set_error(run_result *r, zh_error *err) {
  r->status = zh_error_status(err);
  if (r->status == ZH_ERR_EXIT)
    r->exit_code = zh_error_exit_code(err);
  snprintf(r->message, sizeof r->message, "%s", zh_error_message(err));
  zh_error_free(err);
}

/* Loads build/guests/NAME.wasm, links WASI from `cfg` (null stdout/stderr become captured), runs
 * _start. Returns false (after a CHECK failure) when setup itself fails. */
static bool run_guest(const char *name, zh_wasi_config cfg, run_result *r) {
  memset(r, 0, sizeof *r);
  char path[512];
  guest_path(path, sizeof path, name);
  uint8_t *bytes = NULL;
  size_t len = 0;
  if (!zh_test_read_file(path, &bytes, &len)) {
    fprintf(stderr, "cannot read %s (run `make guests`)\n", path);
    CHECK(!"guest missing");
    return false;
  }
  for (int i = 1; i < 3; i++)
    if (cfg.stdio[i].kind == ZH_WASI_STDIO_NULL)
      cfg.stdio[i].kind = ZH_WASI_STDIO_CAPTURE;
  zh_engine *engine = NULL;
  zh_module *module = NULL;
  zh_store *store = NULL;
  zh_wasi_ctx *ctx = NULL;
  zh_extern *imports = NULL;
  zh_instance *inst = NULL;
  zh_error *err = zh_engine_new(NULL, &engine);
  if (err == NULL)
    err = zh_module_new(engine, bytes, len, path, &module);
  if (err == NULL)
    ctx = zh_wasi_new(&cfg, &err);
  if (err == NULL)
    err = zh_store_new(engine, &store);
  if (err == NULL) {
    imports = calloc(zh_module_import_count(module) + 1, sizeof *imports);
    err = zh_wasi_link(ctx, store, module, imports);
  }
  if (err == NULL)
    err = zh_instance_new(store, module, imports, zh_module_import_count(module), &inst);
  bool ok = err == NULL;
  if (err == NULL) {
    zh_func *start = zh_instance_func(inst, "_start");
    CHECK(start != NULL);
    if (start != NULL)
      err = zh_func_call(store, start, NULL, 0, NULL, 0);
  } else {
    fprintf(stderr, "%s: setup failed: %s\n", name, zh_error_message(err));
    CHECK(!"guest setup");
  }
  if (err != NULL)
    set_error(r, err);
  if (ctx != NULL) {
    size_t n;
    const char *s = zh_wasi_stdout_captured(ctx, &n);
    r->out = dup_bytes(s, n);
    r->out_len = n;
    s = zh_wasi_stderr_captured(ctx, &n);
    r->err = dup_bytes(s, n);
  }
  if (store)
    zh_store_free(store);
  zh_wasi_free(ctx);
  if (module)
    zh_module_free(module);
  if (engine)
    zh_engine_free(engine);
  free(imports);
  free(bytes);
  if (!ok) /* callers only look at (and free) the result of a run that happened */
    run_result_free(r);
  return ok;
}

static void check_text(const char *what, const char *got, const char *want) {
  bool same = got != NULL && strcmp(got, want) == 0;
  if (!same)
    fprintf(stderr, "%s: output differs\n--- got:\n%s\n--- want:\n%s\n---\n", what,
            got ? got : "(null)", want);
  CHECK(same);
}

/* ---- library: guests ---- */

static void test_env_guest(void) {
  const char *argv[] = {"wasi_env.wasm", "one", "two words", ""};
  const char *env[] = {"A=1", "B=hello world", "EMPTY="};
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.argv = argv;
  cfg.argc = 4;
  cfg.env = env;
  cfg.envc = 3;
  run_result r;
  if (!run_guest("wasi_env", cfg, &r))
    return;
  CHECK_EQ_INT(r.status, ZH_OK);
  check_text("wasi_env", r.out,
             "argc=4\n"
             "argv[0]=wasi_env.wasm\n"
             "argv[1]=one\n"
             "argv[2]=two words\n"
             "argv[3]=\n"
             "env A=1\n"
             "env B=hello world\n"
             "env EMPTY=\n"
             "getenv(B)=hello world\n"
             "clock 0: res_get=0 res>0=1 time_get=0\n"
             "clock 1: res_get=0 res>0=1 time_get=0\n"
             "clock 2: res_get=0 res>0=1 time_get=0\n"
             "clock 3: res_get=0 res>0=1 time_get=0\n"
             "realtime after 2020: 1\n"
             "monotonic ordered: 1\n"
             "bad clock: 28 28\n"
             "random: 0 0 nonzero=1 differ=1 empty=0\n");
  check_text("wasi_env stderr", r.err, "");
  run_result_free(&r);

  /* No args and no environment at all. */
  memset(&cfg, 0, sizeof cfg);
  if (!run_guest("wasi_env", cfg, &r))
    return;
  CHECK(r.out != NULL && strncmp(r.out, "argc=0\ngetenv(B)=(null)\n", 24) == 0);
  run_result_free(&r);
}

static void test_exit_guest(void) {
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  run_result r;
  if (!run_guest("wasi_exit", cfg, &r))
    return;
  CHECK_EQ_INT(r.status, ZH_ERR_EXIT);
  CHECK_EQ_INT(r.exit_code, 7);
  check_text("wasi_exit", r.out, "before exit\n");
  run_result_free(&r);
}

static void test_fault_guest(void) {
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  run_result r;
  if (!run_guest("wasi_fault", cfg, &r))
    return;
  CHECK_EQ_INT(r.status, ZH_OK);
  check_text("wasi_fault", r.out,
             "ok\n"
             "good=0\n"
             "good_n=3\n"
             "iovs_oob=21\n"
             "buf_oob=21\n"
             "buf_wrap=21\n"
             "iovs_len_huge=21\n"
             "nwritten_oob=21\n"
             "second_iov_oob=21\n"
             "random_at_end=0\n"
             "random_past_end=21\n"
             "random_zero_at_end=0\n"
             "args_sizes_oob=21\n"
             "args_get_oob=21\n"
             "environ_sizes_oob=21\n"
             "clock_oob=21\n"
             "clock_res_oob=21\n"
             "fdstat_oob=21\n"
             "read_oob=21\n"
             "write_badfd=8\n"
             "write_stdin=76\n"
             "read_stdout=76\n"
             "seek_stdout=70\n"
             "tell_stdout=70\n"
             "seek_badfd=8\n"
             "prestat_3=8\n"
             "prestat_name_3=8\n"
             "fdstat_stdout=0\n"
             "stdout_type=2\n"
             "stdout_can_write=1\n"
             "stdout_can_seek=0\n"
             "fdstat_badfd=8\n"
             "close_stderr=0\n"
             "close_again=8\n"
             "write_closed=8\n"
             "yield=0\n");
  check_text("wasi_fault stderr", r.err, "");
  run_result_free(&r);
}

static void test_stdin_guest(void) {
  static const char input[] = "hello\nwasi";
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.stdio[0].kind = ZH_WASI_STDIO_BUFFER;
  cfg.stdio[0].data = (const uint8_t *)input;
  cfg.stdio[0].len = strlen(input);
  run_result r;
  if (!run_guest("wasi_stdin", cfg, &r))
    return;
  CHECK_EQ_INT(r.status, ZH_OK);
  check_text("wasi_stdin", r.out, "HELLO\nWASI\nbytes=10 again=0\n");
  run_result_free(&r);

  /* Null stdin: immediate end of file. */
  memset(&cfg, 0, sizeof cfg);
  if (!run_guest("wasi_stdin", cfg, &r))
    return;
  check_text("wasi_stdin null", r.out, "\nbytes=0 again=0\n");
  run_result_free(&r);
}

static void test_nosys_guest(void) {
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  run_result r;
  if (!run_guest("wasi_nosys", cfg, &r))
    return;
  CHECK_EQ_INT(r.status, ZH_OK);
  /* These functions are implemented now (tests/wasi/test_wasi_fs.c checks their errnos);
   * none may answer ENOSYS. The guest's fd_renumber(1, 2) closes its own stdout, so only
   * what was flushed before it is captured. */
  int lines = 0, nosys = 0;
  for (const char *p = r.out; p && *p;) {
    const char *nl = strchr(p, '\n');
    if (nl == NULL)
      break;
    lines++;
    if (nl - p >= 3 && strncmp(nl - 3, "=52", 3) == 0) {
      nosys++;
      fprintf(stderr, "wasi_nosys: %.*s\n", (int)(nl - p), p);
    }
    p = nl + 1;
  }
  CHECK(lines <= 28);
  CHECK_EQ_INT(nosys, 0);
  run_result_free(&r);
}

static void test_capture_limit(void) {
  const char *argv[] = {"wasi_env.wasm"};
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.argv = argv;
  cfg.argc = 1;
  cfg.capture_limit = 10;
  run_result r;
  if (!run_guest("wasi_env", cfg, &r))
    return;
  CHECK_EQ_INT(r.status, ZH_OK); /* the guest's printf just sees NOSPC */
  CHECK_EQ_INT(r.out_len, 10);
  check_text("capture limit", r.out, "argc=1\narg");
  run_result_free(&r);
}

/* Host descriptors: stdin from a pipe (readv path), stdout into a pipe nobody reads
 * (EPIPE must reach the guest as an errno, and SIGPIPE must not kill this process). */
static void test_host_fds(void) {
  int in[2], out[2];
  bool piped = pipe(in) == 0 && pipe(out) == 0;
  CHECK(piped);
  if (!piped)
    return;
  CHECK(write(in[1], "abc", 3) == 3);
  close(in[1]);
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.stdio[0].kind = ZH_WASI_STDIO_HOST_FD;
  cfg.stdio[0].host_fd = in[0];
  run_result r;
  if (run_guest("wasi_stdin", cfg, &r)) {
    CHECK_EQ_INT(r.status, ZH_OK);
    check_text("host stdin", r.out, "ABC\nbytes=3 again=0\n");
    run_result_free(&r);
  }
  close(in[0]);

  close(out[0]);
  memset(&cfg, 0, sizeof cfg);
  cfg.stdio[1].kind = ZH_WASI_STDIO_HOST_FD;
  cfg.stdio[1].host_fd = out[1];
  if (run_guest("wasi_exit", cfg, &r)) {
    CHECK_EQ_INT(r.status, ZH_ERR_EXIT);
    CHECK_EQ_INT(r.exit_code, 7);
    run_result_free(&r);
  }
  sigset_t pending;
  CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 0);
  close(out[1]);
}

/* ---- library: linking ---- */

/* A module whose only import is mod.name: a function () -> () or a memory (min 1). */
static size_t import_module(uint8_t *out, const char *mod, const char *name, bool memory) {
  static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0};
  static const uint8_t func_desc[] = {0, 0}, mem_desc[] = {2, 0, 1};
  const uint8_t *desc = memory ? mem_desc : func_desc;
  size_t dlen = memory ? sizeof mem_desc : sizeof func_desc;
  size_t n = sizeof head, ml = strlen(mod), nl = strlen(name);
  memcpy(out, head, n);
  out[n++] = 2;                                     /* import section */
  out[n++] = (uint8_t)(1 + 1 + ml + 1 + nl + dlen); /* its size: every length < 128 */
  out[n++] = 1;
  out[n++] = (uint8_t)ml;
  for (size_t i = 0; i < ml; i++)
    out[n++] = (uint8_t)mod[i];
  out[n++] = (uint8_t)nl;
  for (size_t i = 0; i < nl; i++)
    out[n++] = (uint8_t)name[i];
  for (size_t i = 0; i < dlen; i++)
    out[n++] = desc[i];
  return n;
}

/* Links the module; returns the error (caller frees). */
static zh_error *link_bytes(const uint8_t *bytes, size_t len) {
  zh_engine *engine = NULL;
  zh_module *module = NULL;
  zh_store *store = NULL;
  zh_wasi_ctx *ctx = NULL;
  zh_extern imports[4];
  zh_error *err = zh_engine_new(NULL, &engine);
  if (err == NULL)
    err = zh_module_new(engine, bytes, len, "test", &module);
  if (err == NULL)
    ctx = zh_wasi_new(NULL, &err);
  if (err == NULL)
    err = zh_store_new(engine, &store);
  if (err == NULL)
    err = zh_wasi_link(ctx, store, module, imports);
  if (store)
    zh_store_free(store);
  zh_wasi_free(ctx);
  if (module)
    zh_module_free(module);
  if (engine)
    zh_engine_free(engine);
  return err;
}

static void check_link_error(const char *mod, const char *name, bool memory, const char *want) {
  uint8_t buf[256];
  size_t len = import_module(buf, mod, name, memory);
  zh_error *err = link_bytes(buf, len);
  CHECK(err != NULL);
  if (err == NULL)
    return;
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_UNLINKABLE);
  bool has = strstr(zh_error_message(err), want) != NULL;
  if (!has)
    fprintf(stderr, "link %s.%s: message \"%s\" lacks \"%s\"\n", mod, name, zh_error_message(err),
            want);
  CHECK(has);
  zh_error_free(err);
}

static void test_link_errors(void) {
  check_link_error("env", "foo", false, "unknown import env.foo");
  check_link_error(ZH_WASI_MODULE, "no_such_fn", false,
                   "unknown import wasi_snapshot_preview1.no_such_fn");
  check_link_error(ZH_WASI_MODULE, "memory", true, "unknown import wasi_snapshot_preview1.memory");
  check_link_error(ZH_WASI_MODULE, "fd_write", false,
                   "incompatible import type for wasi_snapshot_preview1.fd_write: "
                   "expected (i32, i32, i32, i32) -> i32");
  check_link_error(ZH_WASI_MODULE, "proc_exit", false, "expected (i32)");
}

/* ---- library: config ---- */

static void check_bad_config(const zh_wasi_config *cfg, zh_status want, const char *text) {
  zh_error *err = NULL;
  zh_wasi_ctx *ctx = zh_wasi_new(cfg, &err);
  CHECK(ctx == NULL);
  CHECK(err != NULL);
  if (err != NULL) {
    CHECK_EQ_INT(zh_error_status(err), want);
    bool has = strstr(zh_error_message(err), text) != NULL;
    if (!has)
      fprintf(stderr, "config: \"%s\" lacks \"%s\"\n", zh_error_message(err), text);
    CHECK(has);
  }
  zh_error_free(err);
  zh_wasi_free(ctx);
}

static void test_config(void) {
  zh_error *err = (zh_error *)1;
  zh_wasi_ctx *ctx = zh_wasi_new(NULL, &err);
  CHECK(ctx != NULL);
  CHECK(err == NULL);
  size_t n = 99;
  CHECK(strcmp(zh_wasi_stdout_captured(ctx, &n), "") == 0);
  CHECK_EQ_INT(n, 0);
  zh_wasi_free(ctx);
  zh_wasi_free(NULL);

  const char *bad_env[] = {"NOEQUALS"};
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.env = bad_env;
  cfg.envc = 1;
  check_bad_config(&cfg, ZH_ERR_USAGE, "NOEQUALS");

  memset(&cfg, 0, sizeof cfg);
  cfg.argc = 2; /* no array */
  check_bad_config(&cfg, ZH_ERR_USAGE, "args");

  memset(&cfg, 0, sizeof cfg);
  cfg.stdio[0].kind = ZH_WASI_STDIO_CAPTURE;
  check_bad_config(&cfg, ZH_ERR_USAGE, "stdin");

  memset(&cfg, 0, sizeof cfg);
  cfg.stdio[2].kind = ZH_WASI_STDIO_BUFFER;
  check_bad_config(&cfg, ZH_ERR_USAGE, "stderr");

  memset(&cfg, 0, sizeof cfg);
  cfg.stdio[1].kind = ZH_WASI_STDIO_HOST_FD;
  cfg.stdio[1].host_fd = -1;
  check_bad_config(&cfg, ZH_ERR_USAGE, "host fd -1");

  /* A host fd that is open works, and is not closed by zh_wasi_free. */
  int fds[2];
  CHECK(pipe(fds) == 0);
  memset(&cfg, 0, sizeof cfg);
  cfg.stdio[1].kind = ZH_WASI_STDIO_HOST_FD;
  cfg.stdio[1].host_fd = fds[1];
  ctx = zh_wasi_new(&cfg, &err);
  CHECK(ctx != NULL);
  zh_error_free(err);
  zh_wasi_free(ctx);
  CHECK(write(fds[1], "x", 1) == 1);
  close(fds[0]);
  close(fds[1]);
}

/* ---- library: host functions called from the host (no caller memory) ---- */

static zh_func *wasi_func(zh_wasi_ctx *ctx, zh_store *store, const char *name,
                          const zh_valtype *params, uint32_t np, uint32_t nr) {
  static const zh_valtype res[1] = {ZH_I32};
  zh_import_info info;
  memset(&info, 0, sizeof info);
  info.module = ZH_WASI_MODULE;
  info.name = name;
  info.kind = ZH_EXTERN_FUNC;
  info.func.nparams = np;
  info.func.nresults = nr;
  info.func.params = params;
  info.func.results = res;
  zh_extern ext;
  memset(&ext, 0, sizeof ext);
  zh_error *err = zh_wasi_link_import(ctx, store, &info, &ext);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK_EQ_INT(ext.kind, ZH_EXTERN_FUNC);
  return err ? NULL : ext.of.func;
}

static void test_host_calls(void) {
  static const zh_valtype ii[2] = {ZH_I32, ZH_I32}, ili[3] = {ZH_I32, ZH_I64, ZH_I32};
  zh_engine *engine = NULL;
  zh_store *store = NULL;
  zh_wasi_ctx *ctx = NULL;
  zh_error *err = zh_engine_new(NULL, &engine);
  if (err == NULL)
    err = zh_store_new(engine, &store);
  if (err == NULL)
    ctx = zh_wasi_new(NULL, &err);
  CHECK(err == NULL);
  if (err != NULL) {
    zh_error_free(err);
    goto done;
  }
  zh_value res[1] = {zh_i32(-1)};

  /* No memory: any pointer faults, but the clock id is checked first. */
  zh_func *f = wasi_func(ctx, store, "args_sizes_get", ii, 2, 1);
  zh_value a2[2] = {zh_i32(0), zh_i32(4)};
  if (f) {
    err = zh_func_call(store, f, a2, 2, res, 1);
    CHECK(err == NULL);
    zh_error_free(err);
    CHECK_EQ_INT(res[0].of.i32, 21);
  }
  f = wasi_func(ctx, store, "clock_time_get", ili, 3, 1);
  zh_value a3[3] = {zh_i32(42), zh_i64(0), zh_i32(0)};
  if (f) {
    err = zh_func_call(store, f, a3, 3, res, 1);
    CHECK(err == NULL);
    zh_error_free(err);
    CHECK_EQ_INT(res[0].of.i32, 28);
    a3[0] = zh_i32(1);
    err = zh_func_call(store, f, a3, 3, res, 1);
    zh_error_free(err);
    CHECK_EQ_INT(res[0].of.i32, 21);
  }
  f = wasi_func(ctx, store, "sched_yield", NULL, 0, 1);
  if (f) {
    err = zh_func_call(store, f, NULL, 0, res, 1);
    CHECK(err == NULL);
    zh_error_free(err);
    CHECK_EQ_INT(res[0].of.i32, 0);
  }
  f = wasi_func(ctx, store, "fd_close", ii, 1, 1);
  zh_value a1[1] = {zh_i32(1)};
  if (f) {
    err = zh_func_call(store, f, a1, 1, res, 1);
    zh_error_free(err);
    CHECK_EQ_INT(res[0].of.i32, 0);
    err = zh_func_call(store, f, a1, 1, res, 1);
    zh_error_free(err);
    CHECK_EQ_INT(res[0].of.i32, 8);
  }
  f = wasi_func(ctx, store, "proc_exit", ii, 1, 0);
  a1[0] = zh_i32(3);
  if (f) {
    err = zh_func_call(store, f, a1, 1, NULL, 0);
    CHECK(err != NULL);
    CHECK_EQ_INT(zh_error_status(err), ZH_ERR_EXIT);
    CHECK_EQ_INT(zh_error_exit_code(err), 3);
    zh_error_free(err);
  }
  f = wasi_func(ctx, store, "poll_oneoff", (const zh_valtype[]){ZH_I32, ZH_I32, ZH_I32, ZH_I32}, 4,
                1);
  zh_value a4[4] = {zh_i32(0), zh_i32(0), zh_i32(0), zh_i32(0)};
  if (f) {
    err = zh_func_call(store, f, a4, 4, res, 1);
    zh_error_free(err);
    CHECK_EQ_INT(res[0].of.i32, 28); /* no subscriptions: INVAL before touching memory */
  }
done:
  if (store)
    zh_store_free(store);
  zh_wasi_free(ctx);
  if (engine)
    zh_engine_free(engine);
}

/* ---- the CLI ---- */

typedef struct cli_result {
  int status; /* exit status, or -1 when it did not exit normally */
  char *out, *err;
} cli_result;

/* Runs `build/zerohop ARGS` through the shell with stdin from /dev/null. */
static void cli(const char *args, cli_result *r) {
  char out_path[512], err_path[512], cmd[2048];
  snprintf(out_path, sizeof out_path, "%s/tests/wasi/cli.%d.out", build_dir, (int)getpid());
  snprintf(err_path, sizeof err_path, "%s/tests/wasi/cli.%d.err", build_dir, (int)getpid());
  snprintf(cmd, sizeof cmd, "%s/zerohop %s >%s 2>%s </dev/null", build_dir, args, out_path,
           err_path);
  int st = system(cmd);
  r->status = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  size_t len;
  uint8_t *data;
  r->out = zh_test_read_file(out_path, &data, &len) ? (char *)data : NULL;
  r->err = zh_test_read_file(err_path, &data, &len) ? (char *)data : NULL;
  remove(out_path);
  remove(err_path);
}

static void cli_free(cli_result *r) {
  free(r->out);
  free(r->err);
}

static int count_lines(const char *s) {
  int n = 0;
  for (; s && *s; s++)
    n += *s == '\n';
  return n;
}

/* stderr is exactly one line that starts with `prefix` and contains `part`. */
static void check_one_line(const cli_result *r, const char *prefix, const char *part) {
  bool ok = r->err != NULL && count_lines(r->err) == 1 &&
            strncmp(r->err, prefix, strlen(prefix)) == 0 && strstr(r->err, part) != NULL;
  if (!ok)
    fprintf(stderr, "stderr \"%s\": want one line starting \"%s\" containing \"%s\"\n",
            r->err ? r->err : "(null)", prefix, part);
  CHECK(ok);
}

static void test_cli(void) {
  char args[1024], hello[512], env_wasm[512], exit_wasm[512], invoke_wasm[512];
  snprintf(hello, sizeof hello, "%s/examples/hello.wasm", build_dir);
  guest_path(env_wasm, sizeof env_wasm, "wasi_env");
  guest_path(exit_wasm, sizeof exit_wasm, "wasi_exit");
  guest_path(invoke_wasm, sizeof invoke_wasm, "invoke");
  cli_result r;

  snprintf(args, sizeof args, "run %s a b", hello);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 0);
  check_text("cli hello", r.out,
             "Hello from zerohop! (2 arguments)\n  argv[1] = a\n  argv[2] = b\n");
  check_text("cli hello stderr", r.err, "");
  cli_free(&r);

  /* argv[0] is the file name; --env in both spellings; options end at the module. */
  snprintf(args, sizeof args, "run --env A=1 --env=B=x%%20y %s --env C=2", env_wasm);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 0);
  static const char env_want[] = "argc=3\nargv[0]=wasi_env.wasm\nargv[1]=--env\nargv[2]=C=2\n"
                                 "env A=1\nenv B=x%20y\ngetenv(B)=x%20y\n";
  CHECK(r.out && strncmp(r.out, env_want, strlen(env_want)) == 0);
  cli_free(&r);

  snprintf(args, sizeof args, "run %s", exit_wasm);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 7);
  check_text("cli exit", r.out, "before exit\n");
  cli_free(&r);

  /* Malformed and missing files: exit 1, one line naming the file. */
  char bad[512];
  snprintf(bad, sizeof bad, "%s/tests/wasi/malformed.%d.wasm", build_dir, (int)getpid());
  static const uint8_t junk[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 0x7f, 0x60};
  CHECK(write_all(bad, junk, sizeof junk));
  snprintf(args, sizeof args, "run %s", bad);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 1);
  check_one_line(&r, "zerohop: ", bad);
  cli_free(&r);
  CHECK(write_all(bad, "not wasm at all", 15));
  cli(args, &r);
  CHECK_EQ_INT(r.status, 1);
  check_one_line(&r, "zerohop: ", bad);
  cli_free(&r);

  /* A module with a non-WASI import. */
  uint8_t mod[256];
  size_t mlen = import_module(mod, "env", "foo", false);
  CHECK(write_all(bad, mod, mlen));
  cli(args, &r);
  CHECK_EQ_INT(r.status, 1);
  check_one_line(&r, "zerohop: ", "unknown import env.foo");
  cli_free(&r);
  remove(bad);

  cli("run /nonexistent/zh-missing.wasm", &r);
  CHECK_EQ_INT(r.status, 1);
  check_one_line(&r, "zerohop: /nonexistent/zh-missing.wasm", "No such file");
  cli_free(&r);

  /* --invoke: arguments parsed by parameter type, one result per line. */
  snprintf(args, sizeof args, "run --invoke add %s 2 40", invoke_wasm);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 0);
  check_text("invoke add", r.out, "42\n");
  cli_free(&r);
  snprintf(args, sizeof args, "run --invoke add %s -1 4294967295", invoke_wasm);
  cli(args, &r);
  check_text("invoke add wrap", r.out, "-2\n");
  cli_free(&r);
  snprintf(args, sizeof args, "run --invoke=mul64 %s 4294967296 -3", invoke_wasm);
  cli(args, &r);
  check_text("invoke mul64", r.out, "-12884901888\n");
  cli_free(&r);
  snprintf(args, sizeof args, "run --invoke half %s 0.3", invoke_wasm);
  cli(args, &r);
  check_text("invoke half", r.out, "0.15\n");
  cli_free(&r);
  snprintf(args, sizeof args, "run --invoke fsum %s 0.1 0.2", invoke_wasm);
  cli(args, &r);
  check_text("invoke fsum", r.out, "0.3\n");
  cli_free(&r);
  snprintf(args, sizeof args, "run --invoke half %s -inf", invoke_wasm);
  cli(args, &r);
  check_text("invoke half inf", r.out, "-inf\n");
  cli_free(&r);
  snprintf(args, sizeof args, "run --invoke answer %s", invoke_wasm);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 0);
  check_text("invoke answer", r.out, "42\n");
  cli_free(&r);

  /* Bad --invoke use: usage errors (2), a missing export (1). */
  snprintf(args, sizeof args, "run --invoke add %s 1", invoke_wasm);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 2);
  CHECK(r.err && strstr(r.err, "takes 2 arguments, got 1") != NULL);
  cli_free(&r);
  snprintf(args, sizeof args, "run --invoke add %s 1 x", invoke_wasm);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 2);
  CHECK(r.err && strstr(r.err, "'x' is not an i32") != NULL);
  cli_free(&r);
  snprintf(args, sizeof args, "run --invoke add %s 1 4294967296", invoke_wasm);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 2);
  cli_free(&r);
  snprintf(args, sizeof args, "run --invoke nope %s", invoke_wasm);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 1);
  check_one_line(&r, "zerohop: ", "no exported function 'nope'");
  cli_free(&r);

  /* A trap: exit 134 and "zerohop: FILE: trap: ...". */
  snprintf(args, sizeof args, "run --invoke boom %s", invoke_wasm);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 134);
  char prefix[600];
  snprintf(prefix, sizeof prefix, "zerohop: %s: trap: unreachable", invoke_wasm);
  CHECK(r.err && strncmp(r.err, prefix, strlen(prefix)) == 0);
  CHECK(r.out && r.out[0] == 0);
  cli_free(&r);

  /* Help, version and usage errors. */
  cli("--version", &r);
  CHECK_EQ_INT(r.status, 0);
  CHECK(r.out && strncmp(r.out, "zerohop ", 8) == 0 && count_lines(r.out) == 1);
  cli_free(&r);
  cli("--help", &r);
  CHECK_EQ_INT(r.status, 0);
  CHECK(r.out && strstr(r.out, "run") != NULL);
  cli_free(&r);
  cli("help run", &r);
  CHECK_EQ_INT(r.status, 0);
  CHECK(r.out && strstr(r.out, "--invoke") && strstr(r.out, "134"));
  cli_free(&r);
  cli("run --help", &r);
  CHECK_EQ_INT(r.status, 0);
  cli_free(&r);
  cli("", &r);
  CHECK_EQ_INT(r.status, 2);
  cli_free(&r);
  cli("run", &r);
  CHECK_EQ_INT(r.status, 2);
  CHECK(r.err && strstr(r.err, "missing MODULE") && strstr(r.err, "Usage:"));
  cli_free(&r);
  snprintf(args, sizeof args, "run --frobnicate %s", hello);
  cli(args, &r);
  CHECK_EQ_INT(r.status, 2);
  CHECK(r.err && strstr(r.err, "unknown option '--frobnicate'"));
  cli_free(&r);
  cli("run --env NOEQUALS x.wasm", &r);
  CHECK_EQ_INT(r.status, 2);
  cli_free(&r);
  cli("frobnicate", &r);
  CHECK_EQ_INT(r.status, 2);
  cli_free(&r);
  cli("help frobnicate", &r);
  CHECK_EQ_INT(r.status, 2);
  cli_free(&r);
}

int main(void) {
  build_dir = getenv("ZH_BUILD");
  if (build_dir == NULL || *build_dir == 0)
    build_dir = "build";
  test_config();
  test_host_calls();
  test_link_errors();
  test_env_guest();
  test_exit_guest();
  test_fault_guest();
  test_stdin_guest();
  test_nosys_guest();
  test_host_fds();
  test_capture_limit();
  test_cli();
  TEST_SUMMARY();
}
