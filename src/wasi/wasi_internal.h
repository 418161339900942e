/* WASI internals: the context, its fd table, and the preview1 operations shared between
 * the src/wasi sources. Each operation takes already-unpacked guest arguments and returns a
 * preview1 errno; the host-function wrappers in wasi.c do the unpacking. */
#ifndef ZH_WASI_INTERNAL_H
#define ZH_WASI_INTERNAL_H

#include "wasi/wasi_abi.h"
#include "zerohop/wasi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* NUL-terminated strings laid out as args_get / environ_get hand them to the guest. */
typedef struct zh_wasi_strings {
  uint32_t count;
  uint32_t bytes;    /* total size of buf, each string's NUL included */
  uint32_t *offsets; /* count offsets into buf */
  char *buf;
} zh_wasi_strings;

/* A growable byte buffer; data is kept NUL-terminated past len for the accessors. */
typedef struct zh_wasi_buf {
  uint8_t *data;
  size_t len, cap;
} zh_wasi_buf;

typedef enum zh_wasi_fd_kind {
  ZH_WASI_FD_CLOSED = 0, /* free slot */
  ZH_WASI_FD_NULL,       /* reads see EOF, writes vanish */
  ZH_WASI_FD_HOST,       /* a host descriptor */
  ZH_WASI_FD_CAPTURE,    /* writes append to ctx->captured[slot] */
  ZH_WASI_FD_INPUT,      /* reads consume ctx->input */
} zh_wasi_fd_kind;

/* One guest descriptor. Rights gate every operation (NOTCAPABLE when missing); the
 * table grows when path_open and preopens arrive. */
typedef struct zh_wasi_fd {
  zh_wasi_fd_kind kind;
  uint8_t filetype; /* ZH_WASI_FILETYPE_* reported by fd_fdstat_get */
  uint16_t fdflags; /* ZH_WASI_FDFLAG_* */
  uint64_t rights_base, rights_inheriting;
  int host_fd;       /* ZH_WASI_FD_HOST */
  bool owns_host_fd; /* close host_fd with the entry; stdio descriptors are borrowed */
  bool may_sigpipe;  /* host_fd is a pipe or socket: writes must not raise SIGPIPE */
  uint8_t slot;      /* ZH_WASI_FD_CAPTURE: index into ctx->captured */
} zh_wasi_fd;

struct zh_wasi_ctx {
  zh_wasi_strings args, env;
  zh_wasi_fd *fds;
  uint32_t nfds;
  zh_wasi_buf captured[3]; /* per stdio slot; outlives fd_close so the host can read it */
  size_t capture_limit;    /* 0: unlimited */
  uint8_t *input;          /* ZH_WASI_STDIO_BUFFER stdin, a private copy */
  size_t input_len, input_pos;
};

/* Maps a host errno value to its preview1 counterpart (EIO when there is none). */
uint16_t zh_wasi_errno_from_host(int host_errno);

/* ---- wasi_fd.c ---- */

/* Sets up fds 0-2 from the config; NULL on success. */
zh_error *zh_wasi_fd_init(zh_wasi_ctx *ctx, const zh_wasi_config *config);
void zh_wasi_fd_fini(zh_wasi_ctx *ctx);

uint16_t zh_wasi_fd_write(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                          uint32_t iovs_len, uint32_t nwritten_ptr);
uint16_t zh_wasi_fd_read(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                         uint32_t iovs_len, uint32_t nread_ptr);
uint16_t zh_wasi_fd_close(zh_wasi_ctx *ctx, uint32_t fd);
uint16_t zh_wasi_fd_seek(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, int64_t offset,
                         uint32_t whence, uint32_t newoffset_ptr);
uint16_t zh_wasi_fd_tell(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t offset_ptr);
uint16_t zh_wasi_fd_fdstat_get(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                               uint32_t stat_ptr);
uint16_t zh_wasi_fd_prestat_get(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                uint32_t prestat_ptr);
uint16_t zh_wasi_fd_prestat_dir_name(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                     uint32_t path, uint32_t path_len);

/* ---- wasi_proc.c ---- */

/* Copies `n` strings into `out`; env strings must contain '='. NULL on success. */
zh_error *zh_wasi_strings_init(zh_wasi_strings *out, const char *const *strs, size_t n,
                               const char *what, bool need_eq);
void zh_wasi_strings_fini(zh_wasi_strings *s);

uint16_t zh_wasi_strings_sizes_get(const zh_wasi_strings *s, const zh_wasi_mem *m,
                                   uint32_t count_ptr, uint32_t bytes_ptr);
uint16_t zh_wasi_strings_get(const zh_wasi_strings *s, const zh_wasi_mem *m, uint32_t ptrs,
                             uint32_t buf);
uint16_t zh_wasi_clock_res_get(const zh_wasi_mem *m, uint32_t id, uint32_t res_ptr);
uint16_t zh_wasi_clock_time_get(const zh_wasi_mem *m, uint32_t id, uint64_t precision,
                                uint32_t time_ptr);
uint16_t zh_wasi_random_get(const zh_wasi_mem *m, uint32_t buf, uint32_t len);
uint16_t zh_wasi_sched_yield(void);

#endif
