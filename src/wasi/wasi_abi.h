/* The wasi_snapshot_preview1 ABI as the guest sees it: errno values, rights, file types,
 * struct layouts, and little-endian, bounds-checked access to guest memory.
 * Internal to src/wasi. Numbers follow the witx definitions of preview1. */
#ifndef ZH_WASI_ABI_H
#define ZH_WASI_ABI_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- errno ---- */
enum {
  ZH_WASI_ESUCCESS = 0,
  ZH_WASI_E2BIG = 1,
  ZH_WASI_EACCES = 2,
  ZH_WASI_EADDRINUSE = 3,
  ZH_WASI_EADDRNOTAVAIL = 4,
  ZH_WASI_EAFNOSUPPORT = 5,
  ZH_WASI_EAGAIN = 6,
  ZH_WASI_EALREADY = 7,
  ZH_WASI_EBADF = 8,
  ZH_WASI_EBADMSG = 9,
  ZH_WASI_EBUSY = 10,
  ZH_WASI_ECANCELED = 11,
  ZH_WASI_ECHILD = 12,
  ZH_WASI_ECONNABORTED = 13,
  ZH_WASI_ECONNREFUSED = 14,
  ZH_WASI_ECONNRESET = 15,
  ZH_WASI_EDEADLK = 16,
  ZH_WASI_EDESTADDRREQ = 17,
  ZH_WASI_EDOM = 18,
  ZH_WASI_EDQUOT = 19,
  ZH_WASI_EEXIST = 20,
  ZH_WASI_EFAULT = 21,
  ZH_WASI_EFBIG = 22,
  ZH_WASI_EHOSTUNREACH = 23,
  ZH_WASI_EIDRM = 24,
  ZH_WASI_EILSEQ = 25,
  ZH_WASI_EINPROGRESS = 26,
  ZH_WASI_EINTR = 27,
  ZH_WASI_EINVAL = 28,
  ZH_WASI_EIO = 29,
  ZH_WASI_EISCONN = 30,
  ZH_WASI_EISDIR = 31,
  ZH_WASI_ELOOP = 32,
  ZH_WASI_EMFILE = 33,
  ZH_WASI_EMLINK = 34,
  ZH_WASI_EMSGSIZE = 35,
  ZH_WASI_EMULTIHOP = 36,
  ZH_WASI_ENAMETOOLONG = 37,
  ZH_WASI_ENETDOWN = 38,
  ZH_WASI_ENETRESET = 39,
  ZH_WASI_ENETUNREACH = 40,
  ZH_WASI_ENFILE = 41,
  ZH_WASI_ENOBUFS = 42,
  ZH_WASI_ENODEV = 43,
  ZH_WASI_ENOENT = 44,
  ZH_WASI_ENOEXEC = 45,
  ZH_WASI_ENOLCK = 46,
  ZH_WASI_ENOLINK = 47,
  ZH_WASI_ENOMEM = 48,
  ZH_WASI_ENOMSG = 49,
  ZH_WASI_ENOPROTOOPT = 50,
  ZH_WASI_ENOSPC = 51,
  ZH_WASI_ENOSYS = 52,
  ZH_WASI_ENOTCONN = 53,
  ZH_WASI_ENOTDIR = 54,
  ZH_WASI_ENOTEMPTY = 55,
  ZH_WASI_ENOTRECOVERABLE = 56,
  ZH_WASI_ENOTSOCK = 57,
  ZH_WASI_ENOTSUP = 58,
  ZH_WASI_ENOTTY = 59,
  ZH_WASI_ENXIO = 60,
  ZH_WASI_EOVERFLOW = 61,
  ZH_WASI_EOWNERDEAD = 62,
  ZH_WASI_EPERM = 63,
  ZH_WASI_EPIPE = 64,
  ZH_WASI_EPROTO = 65,
  ZH_WASI_EPROTONOSUPPORT = 66,
  ZH_WASI_EPROTOTYPE = 67,
  ZH_WASI_ERANGE = 68,
  ZH_WASI_EROFS = 69,
  ZH_WASI_ESPIPE = 70,
  ZH_WASI_ESRCH = 71,
  ZH_WASI_ESTALE = 72,
  ZH_WASI_ETIMEDOUT = 73,
  ZH_WASI_ETXTBSY = 74,
  ZH_WASI_EXDEV = 75,
  ZH_WASI_ENOTCAPABLE = 76,
};

/* ---- rights (u64 bit set) ---- */
#define ZH_WASI_RIGHT_FD_DATASYNC (UINT64_C(1) << 0)
#define ZH_WASI_RIGHT_FD_READ (UINT64_C(1) << 1)
#define ZH_WASI_RIGHT_FD_SEEK (UINT64_C(1) << 2)
#define ZH_WASI_RIGHT_FD_FDSTAT_SET_FLAGS (UINT64_C(1) << 3)
#define ZH_WASI_RIGHT_FD_SYNC (UINT64_C(1) << 4)
#define ZH_WASI_RIGHT_FD_TELL (UINT64_C(1) << 5)
#define ZH_WASI_RIGHT_FD_WRITE (UINT64_C(1) << 6)
#define ZH_WASI_RIGHT_FD_ADVISE (UINT64_C(1) << 7)
#define ZH_WASI_RIGHT_FD_ALLOCATE (UINT64_C(1) << 8)
#define ZH_WASI_RIGHT_PATH_CREATE_DIRECTORY (UINT64_C(1) << 9)
#define ZH_WASI_RIGHT_PATH_CREATE_FILE (UINT64_C(1) << 10)
#define ZH_WASI_RIGHT_PATH_LINK_SOURCE (UINT64_C(1) << 11)
#define ZH_WASI_RIGHT_PATH_LINK_TARGET (UINT64_C(1) << 12)
#define ZH_WASI_RIGHT_PATH_OPEN (UINT64_C(1) << 13)
#define ZH_WASI_RIGHT_FD_READDIR (UINT64_C(1) << 14)
#define ZH_WASI_RIGHT_PATH_READLINK (UINT64_C(1) << 15)
#define ZH_WASI_RIGHT_PATH_RENAME_SOURCE (UINT64_C(1) << 16)
#define ZH_WASI_RIGHT_PATH_RENAME_TARGET (UINT64_C(1) << 17)
#define ZH_WASI_RIGHT_PATH_FILESTAT_GET (UINT64_C(1) << 18)
#define ZH_WASI_RIGHT_PATH_FILESTAT_SET_SIZE (UINT64_C(1) << 19)
#define ZH_WASI_RIGHT_PATH_FILESTAT_SET_TIMES (UINT64_C(1) << 20)
#define ZH_WASI_RIGHT_FD_FILESTAT_GET (UINT64_C(1) << 21)
#define ZH_WASI_RIGHT_FD_FILESTAT_SET_SIZE (UINT64_C(1) << 22)
#define ZH_WASI_RIGHT_FD_FILESTAT_SET_TIMES (UINT64_C(1) << 23)
#define ZH_WASI_RIGHT_PATH_SYMLINK (UINT64_C(1) << 24)
#define ZH_WASI_RIGHT_PATH_REMOVE_DIRECTORY (UINT64_C(1) << 25)
#define ZH_WASI_RIGHT_PATH_UNLINK_FILE (UINT64_C(1) << 26)
#define ZH_WASI_RIGHT_POLL_FD_READWRITE (UINT64_C(1) << 27)
#define ZH_WASI_RIGHT_SOCK_SHUTDOWN (UINT64_C(1) << 28)
#define ZH_WASI_RIGHT_SOCK_ACCEPT (UINT64_C(1) << 29)

/* Every right a file may hold, every right a directory may hold. */
#define ZH_WASI_RIGHTS_FILE                                                                        \
  (ZH_WASI_RIGHT_FD_DATASYNC | ZH_WASI_RIGHT_FD_READ | ZH_WASI_RIGHT_FD_SEEK |                     \
   ZH_WASI_RIGHT_FD_FDSTAT_SET_FLAGS | ZH_WASI_RIGHT_FD_SYNC | ZH_WASI_RIGHT_FD_TELL |             \
   ZH_WASI_RIGHT_FD_WRITE | ZH_WASI_RIGHT_FD_ADVISE | ZH_WASI_RIGHT_FD_ALLOCATE |                  \
   ZH_WASI_RIGHT_FD_FILESTAT_GET | ZH_WASI_RIGHT_FD_FILESTAT_SET_SIZE |                            \
   ZH_WASI_RIGHT_FD_FILESTAT_SET_TIMES | ZH_WASI_RIGHT_POLL_FD_READWRITE)
#define ZH_WASI_RIGHTS_DIR                                                                         \
  (ZH_WASI_RIGHT_FD_FDSTAT_SET_FLAGS | ZH_WASI_RIGHT_FD_SYNC | ZH_WASI_RIGHT_FD_ADVISE |           \
   ZH_WASI_RIGHT_PATH_CREATE_DIRECTORY | ZH_WASI_RIGHT_PATH_CREATE_FILE |                          \
   ZH_WASI_RIGHT_PATH_LINK_SOURCE | ZH_WASI_RIGHT_PATH_LINK_TARGET | ZH_WASI_RIGHT_PATH_OPEN |     \
   ZH_WASI_RIGHT_FD_READDIR | ZH_WASI_RIGHT_PATH_READLINK | ZH_WASI_RIGHT_PATH_RENAME_SOURCE |     \
   ZH_WASI_RIGHT_PATH_RENAME_TARGET | ZH_WASI_RIGHT_PATH_FILESTAT_GET |                            \
   ZH_WASI_RIGHT_PATH_FILESTAT_SET_SIZE | ZH_WASI_RIGHT_PATH_FILESTAT_SET_TIMES |                  \
   ZH_WASI_RIGHT_FD_FILESTAT_GET | ZH_WASI_RIGHT_FD_FILESTAT_SET_TIMES |                           \
   ZH_WASI_RIGHT_PATH_SYMLINK | ZH_WASI_RIGHT_PATH_REMOVE_DIRECTORY |                              \
   ZH_WASI_RIGHT_PATH_UNLINK_FILE)
/* What a read-only preopen withholds, from itself and from everything opened beneath it. */
#define ZH_WASI_RIGHTS_MUTATING                                                                    \
  (ZH_WASI_RIGHT_FD_DATASYNC | ZH_WASI_RIGHT_FD_WRITE | ZH_WASI_RIGHT_FD_ALLOCATE |                \
   ZH_WASI_RIGHT_PATH_CREATE_DIRECTORY | ZH_WASI_RIGHT_PATH_CREATE_FILE |                          \
   ZH_WASI_RIGHT_PATH_LINK_SOURCE | ZH_WASI_RIGHT_PATH_LINK_TARGET |                               \
   ZH_WASI_RIGHT_PATH_RENAME_SOURCE | ZH_WASI_RIGHT_PATH_RENAME_TARGET |                           \
   ZH_WASI_RIGHT_PATH_FILESTAT_SET_SIZE | ZH_WASI_RIGHT_PATH_FILESTAT_SET_TIMES |                  \
   ZH_WASI_RIGHT_FD_FILESTAT_SET_SIZE | ZH_WASI_RIGHT_FD_FILESTAT_SET_TIMES |                      \
   ZH_WASI_RIGHT_PATH_SYMLINK | ZH_WASI_RIGHT_PATH_REMOVE_DIRECTORY |                              \
   ZH_WASI_RIGHT_PATH_UNLINK_FILE)

/* ---- file types, fd flags, whence, clocks ---- */
enum {
  ZH_WASI_FILETYPE_UNKNOWN = 0,
  ZH_WASI_FILETYPE_BLOCK_DEVICE = 1,
  ZH_WASI_FILETYPE_CHARACTER_DEVICE = 2,
  ZH_WASI_FILETYPE_DIRECTORY = 3,
  ZH_WASI_FILETYPE_REGULAR_FILE = 4,
  ZH_WASI_FILETYPE_SOCKET_DGRAM = 5,
  ZH_WASI_FILETYPE_SOCKET_STREAM = 6,
  ZH_WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

#define ZH_WASI_FDFLAG_APPEND 0x1u
#define ZH_WASI_FDFLAG_DSYNC 0x2u
#define ZH_WASI_FDFLAG_NONBLOCK 0x4u
#define ZH_WASI_FDFLAG_RSYNC 0x8u
#define ZH_WASI_FDFLAG_SYNC 0x10u

enum { ZH_WASI_WHENCE_SET = 0, ZH_WASI_WHENCE_CUR = 1, ZH_WASI_WHENCE_END = 2 };

enum {
  ZH_WASI_CLOCK_REALTIME = 0,
  ZH_WASI_CLOCK_MONOTONIC = 1,
  ZH_WASI_CLOCK_PROCESS_CPUTIME = 2,
  ZH_WASI_CLOCK_THREAD_CPUTIME = 3,
};

#define ZH_WASI_OFLAG_CREAT 0x1u
#define ZH_WASI_OFLAG_DIRECTORY 0x2u
#define ZH_WASI_OFLAG_EXCL 0x4u
#define ZH_WASI_OFLAG_TRUNC 0x8u

#define ZH_WASI_LOOKUP_SYMLINK_FOLLOW 0x1u

#define ZH_WASI_FSTFLAG_ATIM 0x1u
#define ZH_WASI_FSTFLAG_ATIM_NOW 0x2u
#define ZH_WASI_FSTFLAG_MTIM 0x4u
#define ZH_WASI_FSTFLAG_MTIM_NOW 0x8u

enum {
  ZH_WASI_EVENTTYPE_CLOCK = 0,
  ZH_WASI_EVENTTYPE_FD_READ = 1,
  ZH_WASI_EVENTTYPE_FD_WRITE = 2,
};
#define ZH_WASI_SUBCLOCK_ABSTIME 0x1u
#define ZH_WASI_EVENT_FD_HANGUP 0x1u

#define ZH_WASI_RIFLAG_PEEK 0x1u
#define ZH_WASI_RIFLAG_WAITALL 0x2u
#define ZH_WASI_ROFLAG_DATA_TRUNCATED 0x1u
#define ZH_WASI_SDFLAG_RD 0x1u
#define ZH_WASI_SDFLAG_WR 0x2u

/* ---- struct layouts (sizes and field offsets in guest memory) ---- */
#define ZH_WASI_IOVEC_SIZE 8u   /* buf: u32 @0, buf_len: u32 @4 (iovec and ciovec) */
#define ZH_WASI_FDSTAT_SIZE 24u /* filetype u8 @0, flags u16 @2, base u64 @8, inh. u64 @16 */
#define ZH_WASI_PRESTAT_SIZE 8u /* tag u8 @0, pr_name_len u32 @4 */
/* dev u64 @0, ino @8, filetype u8 @16, nlink u64 @24, size @32, atim @40, mtim @48, ctim @56 */
#define ZH_WASI_FILESTAT_SIZE 64u
/* d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20; the name follows */
#define ZH_WASI_DIRENT_SIZE 24u
/* userdata u64 @0, tag u8 @8; clock: id u32 @16, timeout u64 @24, precision u64 @32,
 * flags u16 @40; fd_read / fd_write: fd u32 @16 */
#define ZH_WASI_SUBSCRIPTION_SIZE 48u
/* userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24 */
#define ZH_WASI_EVENT_SIZE 32u

/* ---- guest memory ---- */

/* A view of the calling instance's linear memory, taken at the start of a host call. The
 * guest cannot run (so cannot grow or move memory) until the host function returns. */
typedef struct zh_wasi_mem {
  uint8_t *data; /* NULL when the caller has no memory: every access then faults */
  uint64_t size;
} zh_wasi_mem;

/* True when [ptr, ptr + len) lies inside memory. 64-bit arithmetic: ptr < 2^32 and the
 * callers' len < 2^36, so the sum cannot wrap. */
static inline bool zh_wasi_span_ok(const zh_wasi_mem *m, uint32_t ptr, uint64_t len) {
  return m->data != NULL && len <= m->size && (uint64_t)ptr <= m->size - len;
}

static inline uint32_t zh_wasi_ld32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t zh_wasi_ld64(const uint8_t *p) {
  return (uint64_t)zh_wasi_ld32(p) | (uint64_t)zh_wasi_ld32(p + 4) << 32;
}

static inline uint16_t zh_wasi_ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static inline void zh_wasi_st16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static inline void zh_wasi_st32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static inline void zh_wasi_st64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

#endif
