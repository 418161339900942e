/* WASI file operations on open descriptors: positioned I/O, metadata, sizes, times,
 * directory listings, sync, advice and renumbering. Each follows the order of wasi_fd.c:
 * fd (BADF), rights (NOTCAPABLE), guest pointers (FAULT), then the host call. */
#include "wasi/wasi_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOST_IOV 64

/* Host descriptor of a looked-up entry; in-memory stdio has none. */
static uint16_t need_host(const zh_wasi_fd *e) {
  return e->kind == ZH_WASI_FD_HOST ? ZH_WASI_ESUCCESS : ZH_WASI_EBADF;
}

static uint64_t ts_ns(const struct timespec *ts) {
  if (ts->tv_sec < 0)
    return 0;
  return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

void zh_wasi_put_filestat(uint8_t *p, const struct stat *st) {
  memset(p, 0, ZH_WASI_FILESTAT_SIZE);
  zh_wasi_st64(p, (uint64_t)st->st_dev);
  zh_wasi_st64(p + 8, (uint64_t)st->st_ino);
  p[16] = zh_wasi_host_filetype(st->st_mode);
  zh_wasi_st64(p + 24, (uint64_t)st->st_nlink);
  zh_wasi_st64(p + 32, (uint64_t)st->st_size);
  zh_wasi_st64(p + 40, ts_ns(&st->st_atim));
  zh_wasi_st64(p + 48, ts_ns(&st->st_mtim));
  zh_wasi_st64(p + 56, ts_ns(&st->st_ctim));
}

uint16_t zh_wasi_times(uint64_t atim, uint64_t mtim, uint32_t fl, struct timespec ts[2]) {
  if ((fl & ~0xfu) != 0 || ((fl & ZH_WASI_FSTFLAG_ATIM) && (fl & ZH_WASI_FSTFLAG_ATIM_NOW)) ||
      ((fl & ZH_WASI_FSTFLAG_MTIM) && (fl & ZH_WASI_FSTFLAG_MTIM_NOW)))
    return ZH_WASI_EINVAL;
  const uint64_t t[2] = {atim, mtim};
  const uint32_t set[2] = {ZH_WASI_FSTFLAG_ATIM, ZH_WASI_FSTFLAG_MTIM};
  const uint32_t now[2] = {ZH_WASI_FSTFLAG_ATIM_NOW, ZH_WASI_FSTFLAG_MTIM_NOW};
  for (int i = 0; i < 2; i++) {
    ts[i].tv_sec = 0;
    if (fl & set[i]) {
      ts[i].tv_sec = (time_t)(t[i] / 1000000000u);
      ts[i].tv_nsec = (long)(t[i] % 1000000000u);
    } else {
      ts[i].tv_nsec = (fl & now[i]) ? UTIME_NOW : UTIME_OMIT;
    }
  }
  return ZH_WASI_ESUCCESS;
}

/* ---- advice, allocation, sync ---- */

uint16_t zh_wasi_fd_advise(zh_wasi_ctx *ctx, uint32_t fd, uint64_t off, uint64_t len,
                           uint32_t advice) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_ADVISE, &e);
  if (r != ZH_WASI_ESUCCESS || (r = need_host(e)) != ZH_WASI_ESUCCESS)
    return r;
  static const int host_advice[6] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL,
                                     POSIX_FADV_RANDOM,   POSIX_FADV_WILLNEED,
                                     POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
  if (advice > 5 || off > INT64_MAX || len > INT64_MAX)
    return ZH_WASI_EINVAL;
  if (e->filetype == ZH_WASI_FILETYPE_DIRECTORY)
    return ZH_WASI_EBADF;
  /* Advice is only a hint: the host may ignore it. */
  return zh_wasi_errno_from_host(
      posix_fadvise(e->host_fd, (off_t)off, (off_t)len, host_advice[advice]));
}

uint16_t zh_wasi_fd_allocate(zh_wasi_ctx *ctx, uint32_t fd, uint64_t off, uint64_t len) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_ALLOCATE, &e);
  if (r != ZH_WASI_ESUCCESS || (r = need_host(e)) != ZH_WASI_ESUCCESS)
    return r;
  if (off > INT64_MAX || len > INT64_MAX - off)
    return ZH_WASI_EFBIG;
  if (len == 0)
    return ZH_WASI_EINVAL;
  int err = posix_fallocate(e->host_fd, (off_t)off, (off_t)len);
  if (err == EOPNOTSUPP || err == ENOTSUP) {
    /* Filesystems without fallocate: growing the size is what the guest can observe. */
    struct stat st;
    err = 0;
    if (fstat(e->host_fd, &st) != 0 ||
        ((uint64_t)st.st_size < off + len && ftruncate(e->host_fd, (off_t)(off + len)) != 0))
      err = errno;
  }
  return zh_wasi_errno_from_host(err);
}

uint16_t zh_wasi_fd_datasync(zh_wasi_ctx *ctx, uint32_t fd) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_DATASYNC, &e);
  if (r != ZH_WASI_ESUCCESS || (r = need_host(e)) != ZH_WASI_ESUCCESS)
    return r;
  return fdatasync(e->host_fd) == 0 ? ZH_WASI_ESUCCESS : zh_wasi_errno_from_host(errno);
}

uint16_t zh_wasi_fd_sync(zh_wasi_ctx *ctx, uint32_t fd) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_SYNC, &e);
  if (r != ZH_WASI_ESUCCESS || (r = need_host(e)) != ZH_WASI_ESUCCESS)
    return r;
  return fsync(e->host_fd) == 0 ? ZH_WASI_ESUCCESS : zh_wasi_errno_from_host(errno);
}

/* ---- fdstat ---- */

uint16_t zh_wasi_fd_fdstat_set_flags(zh_wasi_ctx *ctx, uint32_t fd, uint32_t flags) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  const uint32_t settable = ZH_WASI_FDFLAG_APPEND | ZH_WASI_FDFLAG_NONBLOCK;
  if (flags > 0x1f)
    return ZH_WASI_EINVAL;
  /* Linux cannot change the sync flags of an open descriptor. */
  if ((flags & ~settable) != (e->fdflags & ~settable))
    return ZH_WASI_ENOTSUP;
  if (e->kind == ZH_WASI_FD_HOST && e->owns_host_fd) {
    int fl = fcntl(e->host_fd, F_GETFL);
    if (fl == -1)
      return zh_wasi_errno_from_host(errno);
    fl &= ~(O_APPEND | O_NONBLOCK);
    fl |= (flags & ZH_WASI_FDFLAG_APPEND ? O_APPEND : 0) |
          (flags & ZH_WASI_FDFLAG_NONBLOCK ? O_NONBLOCK : 0);
    if (fcntl(e->host_fd, F_SETFL, fl) == -1)
      return zh_wasi_errno_from_host(errno);
  }
  /* Borrowed stdio descriptors belong to the host: their status flags are shared with
   * it, so only the guest's view changes. */
  e->fdflags = (uint16_t)flags;
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_fd_fdstat_set_rights(zh_wasi_ctx *ctx, uint32_t fd, uint64_t base,
                                      uint64_t inheriting) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, 0, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  /* Rights only ever shrink. */
  if ((base & ~e->rights_base) != 0 || (inheriting & ~e->rights_inheriting) != 0)
    return ZH_WASI_ENOTCAPABLE;
  e->rights_base = base;
  e->rights_inheriting = inheriting;
  return ZH_WASI_ESUCCESS;
}

/* ---- filestat ---- */

uint16_t zh_wasi_fd_filestat_get(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                 uint32_t buf) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_FILESTAT_GET, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, buf, ZH_WASI_FILESTAT_SIZE))
    return ZH_WASI_EFAULT;
  struct stat st;
  memset(&st, 0, sizeof st);
  if (e->kind == ZH_WASI_FD_HOST) {
    if (fstat(e->host_fd, &st) != 0)
      return zh_wasi_errno_from_host(errno);
  } else {
    st.st_mode = S_IFCHR; /* in-memory stdio looks like a character device */
  }
  zh_wasi_put_filestat(m->data + buf, &st);
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_fd_filestat_set_size(zh_wasi_ctx *ctx, uint32_t fd, uint64_t size) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_FILESTAT_SET_SIZE, &e);
  if (r != ZH_WASI_ESUCCESS || (r = need_host(e)) != ZH_WASI_ESUCCESS)
    return r;
  if (size > INT64_MAX)
    return ZH_WASI_EFBIG;
  return ftruncate(e->host_fd, (off_t)size) == 0 ? ZH_WASI_ESUCCESS
                                                 : zh_wasi_errno_from_host(errno);
}

uint16_t zh_wasi_fd_filestat_set_times(zh_wasi_ctx *ctx, uint32_t fd, uint64_t atim, uint64_t mtim,
                                       uint32_t fst_flags) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_FILESTAT_SET_TIMES, &e);
  if (r != ZH_WASI_ESUCCESS || (r = need_host(e)) != ZH_WASI_ESUCCESS)
    return r;
  struct timespec ts[2];
  if ((r = zh_wasi_times(atim, mtim, fst_flags, ts)) != ZH_WASI_ESUCCESS)
    return r;
  return futimens(e->host_fd, ts) == 0 ? ZH_WASI_ESUCCESS : zh_wasi_errno_from_host(errno);
}

/* ---- pread / pwrite ---- */

uint16_t zh_wasi_fd_pread(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                          uint32_t iovs_len, uint64_t offset, uint32_t nread_ptr) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_READ | ZH_WASI_RIGHT_FD_SEEK, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  uint64_t total;
  if ((r = zh_wasi_check_iovs(m, iovs, iovs_len, &total)) != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, nread_ptr, 4))
    return ZH_WASI_EFAULT;
  if (e->kind != ZH_WASI_FD_HOST || e->stream)
    return ZH_WASI_ESPIPE;
  if (e->filetype == ZH_WASI_FILETYPE_DIRECTORY)
    return ZH_WASI_EISDIR;
  if (offset > INT64_MAX)
    return ZH_WASI_EINVAL;
  struct iovec hv[MAX_HOST_IOV];
  int cnt = zh_wasi_host_iovs(m, iovs, iovs_len, hv, MAX_HOST_IOV);
  ssize_t got = 0;
  if (cnt > 0) {
    do
      got = preadv(e->host_fd, hv, cnt, (off_t)offset);
    while (got < 0 && errno == EINTR);
  }
  if (got < 0)
    return zh_wasi_errno_from_host(errno);
  zh_wasi_st32(m->data + nread_ptr, (uint32_t)got);
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_fd_pwrite(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                           uint32_t iovs_len, uint64_t offset, uint32_t nwritten_ptr) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_WRITE | ZH_WASI_RIGHT_FD_SEEK, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  uint64_t total;
  if ((r = zh_wasi_check_iovs(m, iovs, iovs_len, &total)) != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, nwritten_ptr, 4))
    return ZH_WASI_EFAULT;
  if (e->kind != ZH_WASI_FD_HOST || e->stream)
    return ZH_WASI_ESPIPE;
  if (offset > INT64_MAX)
    return ZH_WASI_EINVAL;
  struct iovec hv[MAX_HOST_IOV];
  int cnt = zh_wasi_host_iovs(m, iovs, iovs_len, hv, MAX_HOST_IOV);
  ssize_t put = 0;
  if (cnt > 0) {
    do
      put = pwritev(e->host_fd, hv, cnt, (off_t)offset);
    while (put < 0 && errno == EINTR);
  }
  if (put < 0)
    return zh_wasi_errno_from_host(errno);
  zh_wasi_st32(m->data + nwritten_ptr, (uint32_t)put);
  return ZH_WASI_ESUCCESS;
}

/* ---- readdir ---- */

static uint8_t dirent_type(unsigned char t) {
  switch (t) {
  case DT_REG:
    return ZH_WASI_FILETYPE_REGULAR_FILE;
  case DT_DIR:
    return ZH_WASI_FILETYPE_DIRECTORY;
  case DT_LNK:
    return ZH_WASI_FILETYPE_SYMBOLIC_LINK;
  case DT_CHR:
    return ZH_WASI_FILETYPE_CHARACTER_DEVICE;
  case DT_BLK:
    return ZH_WASI_FILETYPE_BLOCK_DEVICE;
  case DT_SOCK:
    return ZH_WASI_FILETYPE_SOCKET_STREAM;
  default:
    return ZH_WASI_FILETYPE_UNKNOWN;
  }
}

static void dirlist_free(zh_wasi_dirlist *l) {
  if (l == NULL)
    return;
  for (uint32_t i = 0; i < l->count; i++)
    free(l->ents[i].name);
  free(l->ents);
  free(l);
}

/* Reads the whole directory through a fresh descriptor, so the guest's fd offset and any
 * earlier stream do not matter. */
static uint16_t dirlist_read(int dirfd, zh_wasi_dirlist **out) {
  *out = NULL;
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return zh_wasi_errno_failed(errno);
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    int err = errno;
    close(fd);
    return zh_wasi_errno_failed(err);
  }
  zh_wasi_dirlist *l = calloc(1, sizeof *l);
  uint32_t cap = 0;
  uint16_t r = l ? ZH_WASI_ESUCCESS : ZH_WASI_ENOMEM;
  while (r == ZH_WASI_ESUCCESS) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (de == NULL) {
      if (errno != 0)
        r = zh_wasi_errno_from_host(errno);
      break;
    }
    if (l->count == cap) {
      uint32_t ncap = cap ? cap * 2 : 32;
      zh_wasi_dirent *ne = ncap <= (1u << 26) ? realloc(l->ents, (size_t)ncap * sizeof *ne) : NULL;
      if (ne == NULL) {
        r = ZH_WASI_ENOMEM;
        break;
      }
      memset(ne + cap, 0, (size_t)(ncap - cap) * sizeof *ne); /* unused slots stay empty */
      l->ents = ne;
      cap = ncap;
    }
    zh_wasi_dirent *ent = &l->ents[l->count];
    ent->name = strdup(de->d_name);
    if (ent->name == NULL) {
      r = ZH_WASI_ENOMEM;
      break;
    }
    ent->namelen = (uint32_t)strlen(de->d_name);
    ent->ino = (uint64_t)de->d_ino;
    ent->type = dirent_type(de->d_type);
    if (de->d_type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        ent->type = zh_wasi_host_filetype(st.st_mode);
    }
    l->count++;
  }
  closedir(d);
  if (r != ZH_WASI_ESUCCESS) {
    dirlist_free(l);
    return r;
  }
  *out = l;
  return ZH_WASI_ESUCCESS;
}

/* Cookies are entry indices: entry i carries d_next = i + 1. Entries are packed until the
 * buffer is full; the last one may be cut short, and bufused == buf_len tells the guest
 * to ask again from that entry's cookie. */
uint16_t zh_wasi_fd_readdir(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t buf,
                            uint32_t buf_len, uint64_t cookie, uint32_t bufused_ptr) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_READDIR, &e);
  if (r != ZH_WASI_ESUCCESS || (r = need_host(e)) != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, buf, buf_len) || !zh_wasi_span_ok(m, bufused_ptr, 4))
    return ZH_WASI_EFAULT;
  if (e->filetype != ZH_WASI_FILETYPE_DIRECTORY)
    return ZH_WASI_ENOTDIR;
  if (cookie == 0 || e->dir == NULL) {
    zh_wasi_dirlist *l = NULL;
    if ((r = dirlist_read(e->host_fd, &l)) != ZH_WASI_ESUCCESS)
      return r;
    dirlist_free(e->dir);
    e->dir = l;
  }
  uint8_t *out = m->data + buf;
  uint32_t used = 0;
  for (uint64_t i = cookie; i < e->dir->count && used < buf_len; i++) {
    const zh_wasi_dirent *ent = &e->dir->ents[i];
    uint8_t head[ZH_WASI_DIRENT_SIZE];
    memset(head, 0, sizeof head);
    zh_wasi_st64(head, i + 1);
    zh_wasi_st64(head + 8, ent->ino);
    zh_wasi_st32(head + 16, ent->namelen);
    head[20] = ent->type;
    uint32_t room = buf_len - used;
    uint32_t n = room < ZH_WASI_DIRENT_SIZE ? room : ZH_WASI_DIRENT_SIZE;
    memcpy(out + used, head, n);
    used += n;
    room = buf_len - used;
    n = room < ent->namelen ? room : ent->namelen;
    if (n > 0) /* an empty slot (name NULL) or a full buffer copies nothing */
      memcpy(out + used, ent->name, n);
    used += n;
  }
  zh_wasi_st32(m->data + bufused_ptr, used);
  return ZH_WASI_ESUCCESS;
}

/* ---- renumber ---- */

uint16_t zh_wasi_fd_renumber(zh_wasi_ctx *ctx, uint32_t from, uint32_t to) {
  zh_wasi_fd *a, *b;
  uint16_t r = zh_wasi_fd_lookup(ctx, from, 0, &a);
  if (r != ZH_WASI_ESUCCESS || (r = zh_wasi_fd_lookup(ctx, to, 0, &b)) != ZH_WASI_ESUCCESS)
    return r;
  if (from == to)
    return ZH_WASI_ESUCCESS;
  zh_wasi_fd_release(b);
  *b = *a;
  memset(a, 0, sizeof *a); /* ownership moved: nothing to release */
  return ZH_WASI_ESUCCESS;
}
