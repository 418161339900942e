/* wasi:cli: environment, exit, stdin/stdout/stderr and the terminal interfaces (the guest
 * never has a terminal: the getters answer none). */
#include "wasip2/wasip2_internal.h"

#include <stdlib.h>
#include <string.h>

static zh_error *get_environment(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  zh_error *err = zh_val_list(result, cx->envc);
  for (size_t i = 0; i < cx->envc && !err; i++) {
    const char *kv = cx->env[i], *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    zh_val k, v;
    if ((err = zh_val_string(&k, kv, klen)))
      break;
    if ((err = zh_val_string_cstr(&v, eq ? eq + 1 : ""))) {
      zh_val_drop(&k);
      break;
    }
    err = wp2_tuple2(&zh_val_list_items(result)[i], &k, &v);
  }
  return err;
}

static zh_error *get_arguments(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  zh_error *err = zh_val_list(result, cx->argc);
  for (size_t i = 0; i < cx->argc && !err; i++)
    err = zh_val_string_cstr(&zh_val_list_items(result)[i], cx->argv[i]);
  return err;
}

static zh_error *initial_cwd(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  return wp2_string_opt(result, cx->cwd);
}

/* exit(result): ok is status 0, err status 1. */
static zh_error *do_exit(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)n, (void)result;
  return zh_error_exit(zh_val_case(&args[0]) == 0 ? 0 : 1);
}

static zh_error *exit_with_code(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)n, (void)result;
  return zh_error_exit((int)args[0].of.u);
}

/* The stream for stdio slot i, as configured. */
static zh_error *stdio_stream(zh_wasip2_ctx *cx, int slot, zh_val *result) {
  const zh_wasi_stdio *io = &cx->stdio[slot];
  wp2_stream_kind kind = WP2_S_NULL;
  int fd = -1;
  switch (io->kind) {
  case ZH_WASI_STDIO_INHERIT:
    kind = WP2_S_FD;
    fd = slot;
    break;
  case ZH_WASI_STDIO_HOST_FD:
    kind = WP2_S_FD;
    fd = io->host_fd;
    break;
  case ZH_WASI_STDIO_CAPTURE:
    kind = slot ? WP2_S_CAPTURE : WP2_S_NULL;
    break;
  case ZH_WASI_STDIO_BUFFER:
    kind = slot ? WP2_S_NULL : WP2_S_MEM;
    break;
  default:
    break;
  }
  uint64_t rep = 0;
  wp2_stream *s;
  zh_error *err = slot ? wp2_output_new(cx, kind, fd, false, &rep, &s)
                       : wp2_input_new(cx, kind, fd, false, &rep, &s);
  if (err)
    return err;
  s->slot = slot;
  s->positioned = false; /* stdio is a stream even when it is a file: no offsets */
  s->append = true;
  s->mem = cx->stdin_data;
  s->mem_len = cx->stdin_len;
  s->mem_pos = &cx->stdin_pos;
  *result = zh_val_own(rep);
  return NULL;
}

static zh_error *get_stdin(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  return stdio_stream(cx, 0, result);
}
static zh_error *get_stdout(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  return stdio_stream(cx, 1, result);
}
static zh_error *get_stderr(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  return stdio_stream(cx, 2, result);
}

static zh_error *no_terminal(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  *result = zh_val_none();
  return NULL;
}

static const zh_wasip2_entry entries[] = {
    {"wasi:cli/environment", "get-environment", get_environment},
    {"wasi:cli/environment", "get-arguments", get_arguments},
    {"wasi:cli/environment", "initial-cwd", initial_cwd},
    {"wasi:cli/exit", "exit", do_exit},
    {"wasi:cli/exit", "exit-with-code", exit_with_code},
    {"wasi:cli/stdin", "get-stdin", get_stdin},
    {"wasi:cli/stdout", "get-stdout", get_stdout},
    {"wasi:cli/stderr", "get-stderr", get_stderr},
    {"wasi:cli/terminal-stdin", "get-terminal-stdin", no_terminal},
    {"wasi:cli/terminal-stdout", "get-terminal-stdout", no_terminal},
    {"wasi:cli/terminal-stderr", "get-terminal-stderr", no_terminal},
};

const wp2_table wp2_cli_table = {entries, sizeof entries / sizeof entries[0], NULL, 0};
