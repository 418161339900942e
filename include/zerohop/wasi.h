/* zerohop WASI: the `wasi_snapshot_preview1` host interface as a library.
 *
 * A zh_wasi_ctx is one guest "process": its arguments, environment, file descriptor
 * table and the buffers that capture its output. zh_wasi_link() resolves a module's
 * imports against it by creating host functions in a store; the ctx must outlive every
 * call into instances linked to it. One thread uses a ctx at a time (like a store).
 *
 * All of preview1 is implemented with its witx errno semantics: arguments, environment,
 * clocks, random, stdio (fd 0-2 as host descriptors or in-memory buffers), the fd_* and
 * path_* families on preopened directories, poll_oneoff, proc_exit, sched_yield and
 * sock_* on host-provided sockets; proc_raise answers ENOSYS (52) as modern runtimes do.
 * Guest pointers are bounds-checked: a bad pointer yields errno FAULT (21) to the guest,
 * never a host crash.
 *
 * Capabilities: the guest reaches the host filesystem only beneath its preopens. Paths
 * are resolved component by component from the directory fd the guest names; "..",
 * absolute paths and symlinks (absolute, or chains) that would leave it give NOTCAPABLE
 * (76), more than 40 symlinks give LOOP (32), and rename/link between two different
 * preopens give XDEV (75). A read-only preopen withholds every mutating right from itself
 * and from what is opened beneath it (NOTCAPABLE). Rights are tracked per fd and only
 * shrink. Host descriptors are close-on-exec and never visible to the guest.
 */
#ifndef ZEROHOP_WASI_H
#define ZEROHOP_WASI_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The import module name that zh_wasi_link() provides. */
#define ZH_WASI_MODULE "wasi_snapshot_preview1"

typedef struct zh_wasi_ctx zh_wasi_ctx;

/* Where one of the guest's fds 0, 1, 2 goes. The zero value is ZH_WASI_STDIO_NULL, so a
 * zero-initialised config gives the guest no access to host descriptors. */
typedef enum zh_wasi_stdio_kind {
  ZH_WASI_STDIO_NULL = 0, /* reads see end-of-file, writes are discarded */
  ZH_WASI_STDIO_INHERIT,  /* the host's own descriptor 0, 1 or 2 */
  ZH_WASI_STDIO_HOST_FD,  /* `host_fd`; borrowed: the caller keeps it open and closes it */
  ZH_WASI_STDIO_CAPTURE,  /* output kept in memory: zh_wasi_stdout_captured() etc. */
  ZH_WASI_STDIO_BUFFER,   /* input served from `data`/`len` (copied by zh_wasi_new) */
} zh_wasi_stdio_kind;

typedef struct zh_wasi_stdio {
  zh_wasi_stdio_kind kind;
  int host_fd;         /* ZH_WASI_STDIO_HOST_FD */
  const uint8_t *data; /* ZH_WASI_STDIO_BUFFER */
  size_t len;          /* ZH_WASI_STDIO_BUFFER */
} zh_wasi_stdio;

/* A directory the guest may use, and nothing outside it. */
typedef struct zh_wasi_preopen {
  const char *host_path;  /* directory on the host, opened by zh_wasi_new; or NULL and: */
  int host_fd;            /* a directory descriptor the caller keeps (used when host_path
                           * is NULL; zh_wasi_new duplicates it) */
  const char *guest_path; /* the name the guest sees, e.g. "/data" or "." */
  bool read_only;         /* no creating, writing, renaming or removing beneath it */
} zh_wasi_preopen;

typedef struct zh_wasi_config {
  const char *const *argv; /* argc strings; argv[0] is the program name the guest sees */
  size_t argc;
  const char *const *env; /* envc "KEY=VALUE" strings; nothing is inherited from the host */
  size_t envc;
  zh_wasi_stdio stdio[3]; /* guest fds 0 (stdin), 1 (stdout), 2 (stderr) */
  /* Most bytes kept per capture buffer; past it fd_write reports NOSPC. 0: no limit. */
  size_t capture_limit;
  const zh_wasi_preopen *preopens; /* guest fds 3, 4, ... in this order */
  size_t npreopens;
  const int *sockets; /* listening or connected sockets the host opened, after the
                       * preopens; borrowed (duplicated by zh_wasi_new) */
  size_t nsockets;
} zh_wasi_config;

/* Creates a context; all strings and buffers in `config` are copied. `config` may be NULL
 * (no arguments, no environment, null stdio). On failure returns NULL and sets *err
 * (ZH_ERR_USAGE for a bad config, ZH_ERR_RESOURCE when out of memory). */
zh_wasi_ctx *zh_wasi_new(const zh_wasi_config *config, zh_error **err);
void zh_wasi_free(zh_wasi_ctx *ctx); /* accepts NULL */

/* Bytes captured so far for ZH_WASI_STDIO_CAPTURE stdout / stderr. The data is followed
 * by a NUL (not counted in *len) so text can be used as a C string; it stays valid until
 * the next guest write or zh_wasi_free. A stream that is not captured gives "" and 0. */
const char *zh_wasi_stdout_captured(const zh_wasi_ctx *ctx, size_t *len);
const char *zh_wasi_stderr_captured(const zh_wasi_ctx *ctx, size_t *len);

/* Resolves every import of `m`: each `wasi_snapshot_preview1` function becomes a host
 * function in `store` (env = ctx); `imports` must have room for zh_module_import_count(m)
 * entries and is then ready for zh_instance_new. Any other import, an unknown WASI name
 * or a mismatched signature gives ZH_ERR_UNLINKABLE naming "module.name". */
zh_error *zh_wasi_link(zh_wasi_ctx *ctx, zh_store *store, const zh_module *m, zh_extern *imports);

/* Resolves one import, for embedders that mix WASI with their own imports. Returns
 * ZH_ERR_UNLINKABLE unless `imp` is a WASI function import this library knows. */
zh_error *zh_wasi_link_import(zh_wasi_ctx *ctx, zh_store *store, const zh_import_info *imp,
                              zh_extern *out);

#ifdef __cplusplus
}
#endif
#endif
