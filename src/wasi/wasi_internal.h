/* WASI internals: the context, its fd table, and the preview1 operations shared between
 * the src/wasi sources. Each operation takes already-unpacked guest arguments and returns a
 * preview1 errno; the host-function wrappers in wasi.c do the unpacking. */
#ifndef ZH_WASI_INTERNAL_H
#define ZH_WASI_INTERNAL_H

#include "wasi/wasi_abi.h"
#include "zerohop/wasi.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

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

/* A directory listing snapshot for fd_readdir: taken at cookie 0, so later cookies
 * index a stable list even while the guest adds and removes entries. */
typedef struct zh_wasi_dirent {
  uint64_t ino;
  uint8_t type; /* ZH_WASI_FILETYPE_* */
  uint32_t namelen;
  char *name;
} zh_wasi_dirent;

typedef struct zh_wasi_dirlist {
  zh_wasi_dirent *ents;
  uint32_t count;
} zh_wasi_dirlist;

/* One guest descriptor. Rights gate every operation (NOTCAPABLE when missing); the
 * table grows when path_open and sock_accept add entries. */
typedef struct zh_wasi_fd {
  zh_wasi_fd_kind kind;
  uint8_t filetype; /* ZH_WASI_FILETYPE_* reported by fd_fdstat_get */
  uint16_t fdflags; /* ZH_WASI_FDFLAG_* */
  uint64_t rights_base, rights_inheriting;
  int host_fd;          /* ZH_WASI_FD_HOST */
  bool owns_host_fd;    /* close host_fd with the entry; stdio descriptors are borrowed */
  bool may_sigpipe;     /* host_fd is a pipe or socket: writes must not raise SIGPIPE */
  bool stream;          /* stdio, sockets: never seekable (SPIPE) */
  uint8_t slot;         /* ZH_WASI_FD_CAPTURE: index into ctx->captured */
  uint32_t root;        /* 1 + index of the preopen this directory or file lies beneath; 0: none */
  char *preopen;        /* a preopen's guest name (fd_prestat_*), NULL otherwise */
  zh_wasi_dirlist *dir; /* fd_readdir snapshot, NULL until the first readdir */
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

/* Writing to a closed pipe raises SIGPIPE, which would kill the embedding process: the
 * writer blocks the signal for its thread around the write and consumes the one it raised
 * (wasi_fd.c). Shared with the WASI 0.2 streams. */
typedef struct zh_wasi_sigpipe_guard {
  bool active, was_pending;
  sigset_t old;
} zh_wasi_sigpipe_guard;
void zh_wasi_sigpipe_block(zh_wasi_sigpipe_guard *g);
void zh_wasi_sigpipe_unblock(zh_wasi_sigpipe_guard *g, bool got_epipe);

/* A guest path resolved beneath a directory descriptor (wasi_path.c): the capability-safe
 * walk that preview1 and WASI 0.2 (src/wasip2) share. */
typedef struct zh_wasi_resolved {
  int dirfd;     /* the directory holding `name` */
  bool owned;    /* dirfd was opened by the resolver */
  bool must_dir; /* the path (or the last link spliced in) ended in '/' */
  bool dotdot;   /* the last component was "..": `name` is then "." of the directory above */
  char *name;    /* one component, never containing '/'; "." is the directory itself */
} zh_wasi_resolved;
/* How zh_wasi_resolve treats the final component (bits). */
enum {
  ZH_WASI_RES_FOLLOW = 1, /* follow a final symlink */
  ZH_WASI_RES_ENTRY = 2,  /* the operation acts on the entry: a trailing '/' neither follows a
                           * final symlink nor checks for a directory */
  ZH_WASI_RES_NOCHECK = 4 /* follow on a trailing '/' but leave the directory check to the caller */
};
/* Resolves `path` beneath `base` (borrowed) one component at a time, as `mode` says.
 * Returns a preview1 errno (NOTCAPABLE for anything leaving `base`). */
uint16_t zh_wasi_resolve(int base, const char *path, unsigned mode, zh_wasi_resolved *out);
void zh_wasi_resolved_fini(zh_wasi_resolved *r);

/* Maps a host errno value to its preview1 counterpart (EIO when there is none). */
uint16_t zh_wasi_errno_from_host(int host_errno);

/* The error of a host call that failed: never ESUCCESS, so a caller that returns early never
 * reports success with its outputs unset (a failure that left errno at 0 becomes EIO). */
static inline uint16_t zh_wasi_errno_failed(int host_errno) {
  uint16_t r = zh_wasi_errno_from_host(host_errno);
  return r != ZH_WASI_ESUCCESS ? r : ZH_WASI_EIO;
}

/* ---- wasi_fd.c ---- */

/* Sets up fds 0-2 from the config; NULL on success. */
zh_error *zh_wasi_fd_init(zh_wasi_ctx *ctx, const zh_wasi_config *config);
void zh_wasi_fd_fini(zh_wasi_ctx *ctx);

uint16_t zh_wasi_fd_write(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                          uint32_t iovs_len, uint32_t nwritten_ptr);
/* Reads from a host descriptor wait in slices that watch `store` (may be NULL). */
uint16_t zh_wasi_fd_read(zh_wasi_ctx *ctx, const zh_wasi_mem *m, const zh_store *store, uint32_t fd,
                         uint32_t iovs, uint32_t iovs_len, uint32_t nread_ptr);
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

/* Looks up `fd` and checks it holds `rights`; *out is set on success. */
uint16_t zh_wasi_fd_lookup(zh_wasi_ctx *ctx, uint32_t fd, uint64_t rights, zh_wasi_fd **out);
/* A free guest fd number (the table may move: refetch entries afterwards). */
uint16_t zh_wasi_fd_alloc(zh_wasi_ctx *ctx, uint32_t *out);
/* Releases what an entry owns (host fd, names, listing) and marks it closed. */
void zh_wasi_fd_release(zh_wasi_fd *e);
/* Checks an iovec array and every buffer it names; *total gets the summed length. */
uint16_t zh_wasi_check_iovs(const zh_wasi_mem *m, uint32_t iovs, uint32_t n, uint64_t *total);
/* Up to `max` host iovecs for the guest's (validated) iovecs; returns the count. */
int zh_wasi_host_iovs(const zh_wasi_mem *m, uint32_t iovs, uint32_t n, struct iovec *out, int max);
uint8_t zh_wasi_host_filetype(unsigned mode);
struct stat;
struct timespec;
/* Writes a preview1 filestat (ZH_WASI_FILESTAT_SIZE bytes, already bounds-checked). */
void zh_wasi_put_filestat(uint8_t *p, const struct stat *st);
/* The utimensat() times for preview1 fstflags; INVAL for contradicting flags. */
uint16_t zh_wasi_times(uint64_t atim, uint64_t mtim, uint32_t fst_flags, struct timespec ts[2]);

uint16_t zh_wasi_fd_advise(zh_wasi_ctx *ctx, uint32_t fd, uint64_t off, uint64_t len,
                           uint32_t advice);
uint16_t zh_wasi_fd_allocate(zh_wasi_ctx *ctx, uint32_t fd, uint64_t off, uint64_t len);
uint16_t zh_wasi_fd_datasync(zh_wasi_ctx *ctx, uint32_t fd);
uint16_t zh_wasi_fd_sync(zh_wasi_ctx *ctx, uint32_t fd);
uint16_t zh_wasi_fd_fdstat_set_flags(zh_wasi_ctx *ctx, uint32_t fd, uint32_t flags);
uint16_t zh_wasi_fd_fdstat_set_rights(zh_wasi_ctx *ctx, uint32_t fd, uint64_t base,
                                      uint64_t inheriting);
uint16_t zh_wasi_fd_filestat_get(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t buf);
uint16_t zh_wasi_fd_filestat_set_size(zh_wasi_ctx *ctx, uint32_t fd, uint64_t size);
uint16_t zh_wasi_fd_filestat_set_times(zh_wasi_ctx *ctx, uint32_t fd, uint64_t atim, uint64_t mtim,
                                       uint32_t fst_flags);
uint16_t zh_wasi_fd_pread(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                          uint32_t iovs_len, uint64_t offset, uint32_t nread_ptr);
uint16_t zh_wasi_fd_pwrite(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                           uint32_t iovs_len, uint64_t offset, uint32_t nwritten_ptr);
uint16_t zh_wasi_fd_readdir(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t buf,
                            uint32_t buf_len, uint64_t cookie, uint32_t bufused_ptr);
uint16_t zh_wasi_fd_renumber(zh_wasi_ctx *ctx, uint32_t from, uint32_t to);

/* ---- wasi_path.c ---- */

uint16_t zh_wasi_path_create_directory(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                       uint32_t path, uint32_t path_len);
uint16_t zh_wasi_path_filestat_get(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                   uint32_t flags, uint32_t path, uint32_t path_len, uint32_t buf);
uint16_t zh_wasi_path_filestat_set_times(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                         uint32_t flags, uint32_t path, uint32_t path_len,
                                         uint64_t atim, uint64_t mtim, uint32_t fst_flags);
uint16_t zh_wasi_path_link(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t old_fd,
                           uint32_t old_flags, uint32_t old_path, uint32_t old_len, uint32_t new_fd,
                           uint32_t new_path, uint32_t new_len);
uint16_t zh_wasi_path_open(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t dirflags,
                           uint32_t path, uint32_t path_len, uint32_t oflags, uint64_t base,
                           uint64_t inheriting, uint32_t fdflags, uint32_t fd_ptr);
uint16_t zh_wasi_path_readlink(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t path,
                               uint32_t path_len, uint32_t buf, uint32_t buf_len,
                               uint32_t bufused_ptr);
uint16_t zh_wasi_path_remove_directory(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                       uint32_t path, uint32_t path_len);
uint16_t zh_wasi_path_rename(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t old_path,
                             uint32_t old_len, uint32_t new_fd, uint32_t new_path,
                             uint32_t new_len);
uint16_t zh_wasi_path_symlink(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t old_path,
                              uint32_t old_len, uint32_t fd, uint32_t new_path, uint32_t new_len);
uint16_t zh_wasi_path_unlink_file(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                  uint32_t path, uint32_t path_len);

/* ---- wasi_poll.c ---- */

/* A wait gave up because its store has an interrupt pending (not a WASI errno): the host
 * wrapper turns it into ZH_ERR_INTERRUPTED. */
#define ZH_WASI_INTERRUPTED 0xffffu
/* Waits are cut into slices so that an interrupt of `store` (may be NULL) is seen. */
uint16_t zh_wasi_poll_oneoff(zh_wasi_ctx *ctx, const zh_wasi_mem *m, const zh_store *store,
                             uint32_t in, uint32_t out, uint32_t nsubs, uint32_t nevents_ptr);
uint16_t zh_wasi_sock_accept(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t flags,
                             uint32_t fd_ptr);
uint16_t zh_wasi_sock_recv(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                           uint32_t iovs_len, uint32_t flags, uint32_t len_ptr,
                           uint32_t oflags_ptr);
uint16_t zh_wasi_sock_send(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                           uint32_t iovs_len, uint32_t flags, uint32_t len_ptr);
uint16_t zh_wasi_sock_shutdown(zh_wasi_ctx *ctx, uint32_t fd, uint32_t how);
/* Rights of a socket descriptor (configured or accepted). */
#define ZH_WASI_SOCKET_RIGHTS                                                                      \
  (ZH_WASI_RIGHT_FD_READ | ZH_WASI_RIGHT_FD_WRITE | ZH_WASI_RIGHT_FD_FDSTAT_SET_FLAGS |            \
   ZH_WASI_RIGHT_FD_FILESTAT_GET | ZH_WASI_RIGHT_POLL_FD_READWRITE | ZH_WASI_RIGHT_SOCK_SHUTDOWN | \
   ZH_WASI_RIGHT_SOCK_ACCEPT)

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
