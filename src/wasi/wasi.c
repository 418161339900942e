/* WASI contexts and linking: the table of preview1 functions, their signatures, and the
 * host-function wrappers that unpack wasm values for the operations in wasi_fd.c and
 * wasi_proc.c. */
#include "wasi/wasi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- contexts ---- */

zh_wasi_ctx *zh_wasi_new(const zh_wasi_config *config, zh_error **err) {
  zh_error *e = NULL;
  zh_wasi_ctx *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL) {
    e = zh_error_new(ZH_ERR_RESOURCE, "wasi: out of memory");
    goto fail;
  }
  static const zh_wasi_config none;
  const zh_wasi_config *c = config ? config : &none;
  if ((e = zh_wasi_strings_init(&ctx->args, c->argv, c->argc, "args", false)) != NULL ||
      (e = zh_wasi_strings_init(&ctx->env, c->env, c->envc, "environ", true)) != NULL ||
      (e = zh_wasi_fd_init(ctx, c)) != NULL)
    goto fail;
  if (err)
    *err = NULL;
  return ctx;
fail:
  zh_wasi_free(ctx);
  if (err)
    *err = e;
  else
    zh_error_free(e);
  return NULL;
}

void zh_wasi_free(zh_wasi_ctx *ctx) {
  if (ctx == NULL)
    return;
  zh_wasi_strings_fini(&ctx->args);
  zh_wasi_strings_fini(&ctx->env);
  zh_wasi_fd_fini(ctx);
  free(ctx);
}

static const char *captured(const zh_wasi_ctx *ctx, int slot, size_t *len) {
  const zh_wasi_buf *b = &ctx->captured[slot];
  if (len)
    *len = b->data ? b->len : 0;
  return b->data ? (const char *)b->data : "";
}

const char *zh_wasi_stdout_captured(const zh_wasi_ctx *ctx, size_t *len) {
  return captured(ctx, 1, len);
}

const char *zh_wasi_stderr_captured(const zh_wasi_ctx *ctx, size_t *len) {
  return captured(ctx, 2, len);
}

/* ---- host-function wrappers ---- */

/* The caller's memory, read once per call: it cannot grow while the host runs. */
static zh_wasi_mem caller_mem(zh_caller *caller) {
  zh_wasi_mem m = {NULL, 0};
  zh_memory *mem = zh_caller_memory(caller);
  if (mem != NULL) {
    m.data = zh_memory_data(mem);
    m.size = m.data ? zh_memory_size(mem) : 0;
  }
  return m;
}

/* Arguments arrive as signed wasm values; preview1 treats them as unsigned. */
#define U32(i) ((uint32_t)args[i].of.i32)
#define U64(i) ((uint64_t)args[i].of.i64)

/* Defines host_NAME, which stores the errno of EXPR (ctx, m and args in scope). */
#define WASI_HOST(name, expr)                                                                      \
  static zh_error *host_##name(zh_caller *caller, void *env, const zh_value *args,                 \
                               zh_value *results) {                                                \
    zh_wasi_ctx *ctx = env;                                                                        \
    zh_wasi_mem m = caller_mem(caller);                                                            \
    (void)ctx;                                                                                     \
    (void)args;                                                                                    \
    (void)m;                                                                                       \
    results[0] = zh_i32((int32_t)(expr));                                                          \
    return NULL;                                                                                   \
  }

WASI_HOST(args_get, zh_wasi_strings_get(&ctx->args, &m, U32(0), U32(1)))
WASI_HOST(args_sizes_get, zh_wasi_strings_sizes_get(&ctx->args, &m, U32(0), U32(1)))
WASI_HOST(environ_get, zh_wasi_strings_get(&ctx->env, &m, U32(0), U32(1)))
WASI_HOST(environ_sizes_get, zh_wasi_strings_sizes_get(&ctx->env, &m, U32(0), U32(1)))
WASI_HOST(clock_res_get, zh_wasi_clock_res_get(&m, U32(0), U32(1)))
WASI_HOST(clock_time_get, zh_wasi_clock_time_get(&m, U32(0), U64(1), U32(2)))
WASI_HOST(fd_write, zh_wasi_fd_write(ctx, &m, U32(0), U32(1), U32(2), U32(3)))
/* Reads can wait on a pipe: an interrupt of the caller's store ends the call. */
static zh_error *host_fd_read(zh_caller *caller, void *env, const zh_value *args,
                              zh_value *results) {
  zh_wasi_mem m = caller_mem(caller);
  uint16_t r = zh_wasi_fd_read(env, &m, zh_caller_store(caller), U32(0), U32(1), U32(2), U32(3));
  if (r == ZH_WASI_INTERRUPTED)
    return zh_error_new(ZH_ERR_INTERRUPTED, "interrupted while waiting in fd_read");
  results[0] = zh_i32((int32_t)r);
  return NULL;
}
WASI_HOST(fd_close, zh_wasi_fd_close(ctx, U32(0)))
WASI_HOST(fd_seek, zh_wasi_fd_seek(ctx, &m, U32(0), args[1].of.i64, U32(2), U32(3)))
WASI_HOST(fd_tell, zh_wasi_fd_tell(ctx, &m, U32(0), U32(1)))
WASI_HOST(fd_fdstat_get, zh_wasi_fd_fdstat_get(ctx, &m, U32(0), U32(1)))
WASI_HOST(fd_prestat_get, zh_wasi_fd_prestat_get(ctx, &m, U32(0), U32(1)))
WASI_HOST(fd_prestat_dir_name, zh_wasi_fd_prestat_dir_name(ctx, &m, U32(0), U32(1), U32(2)))
WASI_HOST(random_get, zh_wasi_random_get(&m, U32(0), U32(1)))
WASI_HOST(fd_advise, zh_wasi_fd_advise(ctx, U32(0), U64(1), U64(2), U32(3)))
WASI_HOST(fd_allocate, zh_wasi_fd_allocate(ctx, U32(0), U64(1), U64(2)))
WASI_HOST(fd_datasync, zh_wasi_fd_datasync(ctx, U32(0)))
WASI_HOST(fd_sync, zh_wasi_fd_sync(ctx, U32(0)))
WASI_HOST(fd_fdstat_set_flags, zh_wasi_fd_fdstat_set_flags(ctx, U32(0), U32(1)))
WASI_HOST(fd_fdstat_set_rights, zh_wasi_fd_fdstat_set_rights(ctx, U32(0), U64(1), U64(2)))
WASI_HOST(fd_filestat_get, zh_wasi_fd_filestat_get(ctx, &m, U32(0), U32(1)))
WASI_HOST(fd_filestat_set_size, zh_wasi_fd_filestat_set_size(ctx, U32(0), U64(1)))
WASI_HOST(fd_filestat_set_times, zh_wasi_fd_filestat_set_times(ctx, U32(0), U64(1), U64(2), U32(3)))
WASI_HOST(fd_pread, zh_wasi_fd_pread(ctx, &m, U32(0), U32(1), U32(2), U64(3), U32(4)))
WASI_HOST(fd_pwrite, zh_wasi_fd_pwrite(ctx, &m, U32(0), U32(1), U32(2), U64(3), U32(4)))
WASI_HOST(fd_readdir, zh_wasi_fd_readdir(ctx, &m, U32(0), U32(1), U32(2), U64(3), U32(4)))
WASI_HOST(fd_renumber, zh_wasi_fd_renumber(ctx, U32(0), U32(1)))
WASI_HOST(path_create_directory, zh_wasi_path_create_directory(ctx, &m, U32(0), U32(1), U32(2)))
WASI_HOST(path_filestat_get,
          zh_wasi_path_filestat_get(ctx, &m, U32(0), U32(1), U32(2), U32(3), U32(4)))
WASI_HOST(path_filestat_set_times, zh_wasi_path_filestat_set_times(ctx, &m, U32(0), U32(1), U32(2),
                                                                   U32(3), U64(4), U64(5), U32(6)))
WASI_HOST(path_link,
          zh_wasi_path_link(ctx, &m, U32(0), U32(1), U32(2), U32(3), U32(4), U32(5), U32(6)))
WASI_HOST(path_open, zh_wasi_path_open(ctx, &m, U32(0), U32(1), U32(2), U32(3), U32(4), U64(5),
                                       U64(6), U32(7), U32(8)))
WASI_HOST(path_readlink,
          zh_wasi_path_readlink(ctx, &m, U32(0), U32(1), U32(2), U32(3), U32(4), U32(5)))
WASI_HOST(path_remove_directory, zh_wasi_path_remove_directory(ctx, &m, U32(0), U32(1), U32(2)))
WASI_HOST(path_rename, zh_wasi_path_rename(ctx, &m, U32(0), U32(1), U32(2), U32(3), U32(4), U32(5)))
WASI_HOST(path_symlink, zh_wasi_path_symlink(ctx, &m, U32(0), U32(1), U32(2), U32(3), U32(4)))
WASI_HOST(path_unlink_file, zh_wasi_path_unlink_file(ctx, &m, U32(0), U32(1), U32(2)))
/* poll_oneoff can wait for a long time: an interrupt of the caller's store ends the call. */
static zh_error *host_poll_oneoff(zh_caller *caller, void *env, const zh_value *args,
                                  zh_value *results) {
  zh_wasi_ctx *ctx = env;
  zh_wasi_mem m = caller_mem(caller);
  uint16_t r =
      zh_wasi_poll_oneoff(ctx, &m, zh_caller_store(caller), U32(0), U32(1), U32(2), U32(3));
  if (r == ZH_WASI_INTERRUPTED)
    return zh_error_new(ZH_ERR_INTERRUPTED, "interrupted while waiting in poll_oneoff");
  results[0] = zh_i32((int32_t)r);
  return NULL;
}
WASI_HOST(sock_accept, zh_wasi_sock_accept(ctx, &m, U32(0), U32(1), U32(2)))
WASI_HOST(sock_recv, zh_wasi_sock_recv(ctx, &m, U32(0), U32(1), U32(2), U32(3), U32(4), U32(5)))
WASI_HOST(sock_send, zh_wasi_sock_send(ctx, &m, U32(0), U32(1), U32(2), U32(3), U32(4)))
WASI_HOST(sock_shutdown, zh_wasi_sock_shutdown(ctx, U32(0), U32(1)))
WASI_HOST(sched_yield, zh_wasi_sched_yield())

/* proc_exit has no result: it unwinds the whole call with ZH_ERR_EXIT. */
static zh_error *host_proc_exit(zh_caller *caller, void *env, const zh_value *args,
                                zh_value *results) {
  (void)caller;
  (void)env;
  (void)results;
  return zh_error_exit((int)U32(0));
}

/* proc_raise: preview1 hosts do not deliver signals (modern runtimes answer ENOSYS too);
 * the guest's libc turns 52 into ENOSYS. */
static zh_error *host_nosys(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller;
  (void)env;
  (void)args;
  results[0] = zh_i32(ZH_WASI_ENOSYS);
  return NULL;
}

/* ---- the preview1 function table ---- */

typedef struct wasi_fn {
  const char *name;
  const zh_valtype *params;
  uint32_t nparams;
  uint32_t nresults; /* 1 (the errno) except for proc_exit */
  zh_host_fn fn;
} wasi_fn;

#define I ZH_I32
#define L ZH_I64
/* A parameter list: a static array (file-scope compound literal) and its length. */
#define P(...)                                                                                     \
  (const zh_valtype[]){__VA_ARGS__},                                                               \
      (uint32_t)(sizeof((const zh_valtype[]){__VA_ARGS__}) / sizeof(zh_valtype))

/* Signatures per the preview1 witx: pointers, sizes and fds are i32; timestamps, file
 * sizes, offsets and rights are i64; strings are (pointer, length) pairs. */
static const wasi_fn wasi_fns[] = {
    {"args_get", P(I, I), 1, host_args_get},
    {"args_sizes_get", P(I, I), 1, host_args_sizes_get},
    {"environ_get", P(I, I), 1, host_environ_get},
    {"environ_sizes_get", P(I, I), 1, host_environ_sizes_get},
    {"clock_res_get", P(I, I), 1, host_clock_res_get},
    {"clock_time_get", P(I, L, I), 1, host_clock_time_get},
    {"fd_advise", P(I, L, L, I), 1, host_fd_advise},
    {"fd_allocate", P(I, L, L), 1, host_fd_allocate},
    {"fd_close", P(I), 1, host_fd_close},
    {"fd_datasync", P(I), 1, host_fd_datasync},
    {"fd_fdstat_get", P(I, I), 1, host_fd_fdstat_get},
    {"fd_fdstat_set_flags", P(I, I), 1, host_fd_fdstat_set_flags},
    {"fd_fdstat_set_rights", P(I, L, L), 1, host_fd_fdstat_set_rights},
    {"fd_filestat_get", P(I, I), 1, host_fd_filestat_get},
    {"fd_filestat_set_size", P(I, L), 1, host_fd_filestat_set_size},
    {"fd_filestat_set_times", P(I, L, L, I), 1, host_fd_filestat_set_times},
    {"fd_pread", P(I, I, I, L, I), 1, host_fd_pread},
    {"fd_prestat_get", P(I, I), 1, host_fd_prestat_get},
    {"fd_prestat_dir_name", P(I, I, I), 1, host_fd_prestat_dir_name},
    {"fd_pwrite", P(I, I, I, L, I), 1, host_fd_pwrite},
    {"fd_read", P(I, I, I, I), 1, host_fd_read},
    {"fd_readdir", P(I, I, I, L, I), 1, host_fd_readdir},
    {"fd_renumber", P(I, I), 1, host_fd_renumber},
    {"fd_seek", P(I, L, I, I), 1, host_fd_seek},
    {"fd_sync", P(I), 1, host_fd_sync},
    {"fd_tell", P(I, I), 1, host_fd_tell},
    {"fd_write", P(I, I, I, I), 1, host_fd_write},
    {"path_create_directory", P(I, I, I), 1, host_path_create_directory},
    {"path_filestat_get", P(I, I, I, I, I), 1, host_path_filestat_get},
    {"path_filestat_set_times", P(I, I, I, I, L, L, I), 1, host_path_filestat_set_times},
    {"path_link", P(I, I, I, I, I, I, I), 1, host_path_link},
    {"path_open", P(I, I, I, I, I, L, L, I, I), 1, host_path_open},
    {"path_readlink", P(I, I, I, I, I, I), 1, host_path_readlink},
    {"path_remove_directory", P(I, I, I), 1, host_path_remove_directory},
    {"path_rename", P(I, I, I, I, I, I), 1, host_path_rename},
    {"path_symlink", P(I, I, I, I, I), 1, host_path_symlink},
    {"path_unlink_file", P(I, I, I), 1, host_path_unlink_file},
    {"poll_oneoff", P(I, I, I, I), 1, host_poll_oneoff},
    {"proc_exit", P(I), 0, host_proc_exit},
    {"proc_raise", P(I), 1, host_nosys},
    {"sched_yield", NULL, 0, 1, host_sched_yield},
    {"random_get", P(I, I), 1, host_random_get},
    {"sock_accept", P(I, I, I), 1, host_sock_accept},
    {"sock_recv", P(I, I, I, I, I, I), 1, host_sock_recv},
    {"sock_send", P(I, I, I, I, I), 1, host_sock_send},
    {"sock_shutdown", P(I, I), 1, host_sock_shutdown},
};

#undef I
#undef L
#undef P

static const zh_valtype errno_result[1] = {ZH_I32};

static const wasi_fn *find_fn(const char *name) {
  for (size_t i = 0; i < sizeof wasi_fns / sizeof wasi_fns[0]; i++)
    if (strcmp(wasi_fns[i].name, name) == 0)
      return &wasi_fns[i];
  return NULL;
}

static bool type_matches(const wasi_fn *f, const zh_functype *t) {
  if (t->nparams != f->nparams || t->nresults != f->nresults)
    return false;
  for (uint32_t i = 0; i < f->nparams; i++)
    if (t->params[i] != f->params[i])
      return false;
  return f->nresults == 0 || t->results[0] == ZH_I32;
}

/* "(i32, i64) -> i32": the expected signature, for the mismatch message. */
static void describe(const wasi_fn *f, char *out, size_t size) {
  size_t n = (size_t)snprintf(out, size, "(");
  for (uint32_t i = 0; i < f->nparams && n < size; i++)
    n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "",
                          f->params[i] == ZH_I64 ? "i64" : "i32");
  if (n < size)
    snprintf(out + n, size - n, ")%s", f->nresults ? " -> i32" : "");
}

zh_error *zh_wasi_link_import(zh_wasi_ctx *ctx, zh_store *store, const zh_import_info *imp,
                              zh_extern *out) {
  if (ctx == NULL || store == NULL || imp == NULL || out == NULL)
    return zh_error_new(ZH_ERR_USAGE, "zh_wasi_link_import: NULL argument");
  const char *mod = imp->module ? imp->module : "", *name = imp->name ? imp->name : "";
  const wasi_fn *f = NULL;
  if (strcmp(mod, ZH_WASI_MODULE) == 0 && imp->kind == ZH_EXTERN_FUNC)
    f = find_fn(name);
  if (f == NULL)
    return zh_error_new(ZH_ERR_UNLINKABLE, "unknown import %s.%s", mod, name);
  if (!type_matches(f, &imp->func)) {
    char sig[128];
    describe(f, sig, sizeof sig);
    return zh_error_new(ZH_ERR_UNLINKABLE, "incompatible import type for %s.%s: expected %s", mod,
                        name, sig);
  }
  zh_functype type = {f->nparams, f->nresults, f->params, errno_result};
  zh_func *fn = zh_func_new_host(store, &type, f->fn, ctx);
  if (fn == NULL)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory creating %s.%s", mod, name);
  out->kind = ZH_EXTERN_FUNC;
  out->of.func = fn;
  return NULL;
}

zh_error *zh_wasi_link(zh_wasi_ctx *ctx, zh_store *store, const zh_module *m, zh_extern *imports) {
  if (ctx == NULL || store == NULL || m == NULL)
    return zh_error_new(ZH_ERR_USAGE, "zh_wasi_link: NULL argument");
  size_t n = zh_module_import_count(m);
  if (n > 0 && imports == NULL)
    return zh_error_new(ZH_ERR_USAGE, "zh_wasi_link: no array for %zu imports", n);
  for (size_t i = 0; i < n; i++) {
    zh_import_info info;
    zh_module_import(m, i, &info);
    zh_error *err = zh_wasi_link_import(ctx, store, &info, &imports[i]);
    if (err != NULL)
      return err;
  }
  return NULL;
}
