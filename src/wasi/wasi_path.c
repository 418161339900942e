/* WASI paths: capability-safe resolution beneath a directory descriptor, and the path_*
 * operations built on it.
 *
 * Resolution never hands the host a guest path. It walks the path one component at a
 * time from the directory fd the guest named, opening each intermediate directory with
 * openat(O_PATH | O_DIRECTORY | O_NOFOLLOW) relative to the previous one, and keeps the
 * chain of those descriptors on a stack: ".." pops the stack (popping the starting
 * directory is NOTCAPABLE), so the host's own ".." is never consulted. Symlinks are read
 * with readlinkat and spliced into the remaining path, at most 40 of them (LOOP); an
 * absolute target is NOTCAPABLE, as is an absolute guest path. What comes out is a
 * directory descriptor and one final name without any '/', and every final operation
 * uses the *at() call with "no follow" semantics, so a symlink swapped in after the
 * check cannot redirect it outside either.
 *
 * A trailing '/' follows Linux (tests/wasi/test_wasi_edge.c checks each case against the
 * kernel): a lookup (stat, open, readlink) follows a final symlink and wants a directory,
 * while an operation on the entry itself (mkdir, rmdir, unlink, link, symlink, rename)
 * neither follows nor checks, and decides what the slash means on its own. */
#include "wasi/wasi_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SYMLINKS 40
#define MAX_PATH_BYTES 32768u
#define LINK_BUF 4096

void zh_wasi_resolved_fini(zh_wasi_resolved *r) {
  if (r->owned)
    close(r->dirfd);
  free(r->name);
  memset(r, 0, sizeof *r);
  r->dirfd = -1;
}

/* The chain of directories walked so far; fds[0] is the caller's (borrowed). */
typedef struct fdstack {
  int *fds;
  size_t n, cap;
} fdstack;

static bool stack_push(fdstack *s, int fd) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    int *fds = realloc(s->fds, cap * sizeof *fds);
    if (fds == NULL)
      return false;
    s->fds = fds;
    s->cap = cap;
  }
  s->fds[s->n++] = fd;
  return true;
}

static void stack_fini(fdstack *s, size_t keep_top) {
  /* Closes every opened fd except the top one when keep_top; fds[0] is borrowed. */
  for (size_t i = 1; i < s->n; i++)
    if (!(keep_top && i == s->n - 1))
      close(s->fds[i]);
  free(s->fds);
}

/* Builds target + "/" + tail (or target alone, keeping a trailing '/') into `*out`. */
static uint16_t splice_link(char **out, const char *target, size_t tlen, const char *tail,
                            bool trailing) {
  *out = NULL;
  if (tlen == 0)
    return ZH_WASI_ENOENT;
  if (target[0] == '/')
    return ZH_WASI_ENOTCAPABLE; /* absolute symlinks would leave the sandbox */
  size_t taillen = strlen(tail);
  if (tlen + taillen + 2 > MAX_PATH_BYTES)
    return ZH_WASI_ENAMETOOLONG;
  char *p = malloc(tlen + taillen + 2);
  if (p == NULL)
    return ZH_WASI_ENOMEM;
  memcpy(p, target, tlen);
  size_t n = tlen;
  if (taillen > 0 || trailing)
    p[n++] = '/';
  memcpy(p + n, tail, taillen + 1);
  *out = p;
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_resolve(int base, const char *path, unsigned mode, zh_wasi_resolved *out) {
  memset(out, 0, sizeof *out);
  out->dirfd = -1;
  if (path[0] == 0)
    return ZH_WASI_ENOENT;
  if (path[0] == '/')
    return ZH_WASI_ENOTCAPABLE;
  char *rest = strdup(path);
  fdstack st = {NULL, 0, 0};
  if (rest == NULL || !stack_push(&st, base)) {
    free(rest);
    stack_fini(&st, false);
    return ZH_WASI_ENOMEM;
  }
  char link[LINK_BUF];
  int links = 0;
  size_t pos = 0;
  uint16_t r = ZH_WASI_ESUCCESS;
  for (;;) {
    while (rest[pos] == '/')
      pos++;
    size_t end = pos;
    while (rest[end] != 0 && rest[end] != '/')
      end++;
    size_t next = end;
    while (rest[next] == '/')
      next++;
    bool trailing = end != next, final = rest[next] == 0;
    size_t clen = end - pos;
    char saved = rest[end];
    rest[end] = 0;
    const char *comp = rest + pos;
    int top = st.fds[st.n - 1];

    if (clen == 0 || (clen == 1 && comp[0] == '.')) {
      /* "", "." : stay here */
    } else if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
      if (st.n == 1) {
        r = ZH_WASI_ENOTCAPABLE; /* above the directory the guest was given */
        break;
      }
      close(st.fds[--st.n]);
      out->dotdot = final;
    } else {
      bool is_link = false;
      int fd = -1, err = 0;
      if (!final) {
        fd = openat(top, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        err = errno;
        if (fd < 0 && err != ENOTDIR && err != ELOOP) {
          r = zh_wasi_errno_failed(err);
          break;
        }
      }
      ssize_t n = -1;
      bool follow = (mode & ZH_WASI_RES_FOLLOW) || (trailing && !(mode & ZH_WASI_RES_ENTRY));
      if (fd < 0 && (!final || follow)) {
        n = readlinkat(top, comp, link, sizeof link);
        is_link = n >= 0;
        if (n >= (ssize_t)sizeof link) {
          r = ZH_WASI_ENAMETOOLONG;
          break;
        }
      }
      if (is_link) {
        if (++links > MAX_SYMLINKS) {
          r = ZH_WASI_ELOOP;
          break;
        }
        rest[end] = saved;
        char *spliced = NULL;
        if ((r = splice_link(&spliced, link, (size_t)n, rest + next, trailing)) != ZH_WASI_ESUCCESS)
          break;
        free(rest);
        rest = spliced;
        pos = 0;
        continue;
      }
      if (!final) {
        if (fd < 0) {
          r = zh_wasi_errno_failed(err);
          break;
        }
        if (!stack_push(&st, fd)) {
          close(fd);
          r = ZH_WASI_ENOMEM;
          break;
        }
      } else {
        out->name = strdup(comp);
        if (out->name == NULL) {
          r = ZH_WASI_ENOMEM;
          break;
        }
        if (trailing) {
          struct stat sb;
          out->must_dir = true;
          if (!(mode & (ZH_WASI_RES_ENTRY | ZH_WASI_RES_NOCHECK)) &&
              fstatat(top, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode)) {
            r = ZH_WASI_ENOTDIR;
            break;
          }
        }
        break;
      }
    }
    rest[end] = saved;
    pos = next;
    if (final) {
      out->name = strdup(".");
      if (out->name == NULL)
        r = ZH_WASI_ENOMEM;
      break;
    }
  }
  free(rest);
  if (r != ZH_WASI_ESUCCESS) {
    free(out->name);
    out->name = NULL;
    stack_fini(&st, false);
    return r;
  }
  out->dirfd = st.fds[st.n - 1];
  out->owned = st.n > 1;
  stack_fini(&st, true);
  return ZH_WASI_ESUCCESS;
}

/* ---- guest arguments ---- */

/* A directory entry with `rights`: NOTDIR for anything else. */
static uint16_t dir_lookup(zh_wasi_ctx *ctx, uint32_t fd, uint64_t rights, zh_wasi_fd **out) {
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, rights, out);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if ((*out)->kind != ZH_WASI_FD_HOST || (*out)->filetype != ZH_WASI_FILETYPE_DIRECTORY)
    return ZH_WASI_ENOTDIR;
  return ZH_WASI_ESUCCESS;
}

/* A NUL-terminated copy of the guest string (already bounds-checked). */
static uint16_t copy_path(const zh_wasi_mem *m, uint32_t ptr, uint32_t len, char **out) {
  if (len > MAX_PATH_BYTES)
    return ZH_WASI_ENAMETOOLONG;
  const uint8_t *p = m->data + ptr;
  if (memchr(p, 0, len) != NULL)
    return ZH_WASI_EINVAL; /* the host cannot name it */
  char *s = malloc((size_t)len + 1);
  if (s == NULL)
    return ZH_WASI_ENOMEM;
  memcpy(s, p, len);
  s[len] = 0;
  *out = s;
  return ZH_WASI_ESUCCESS;
}

static uint16_t resolve_guest(const zh_wasi_mem *m, int base, uint32_t ptr, uint32_t len,
                              unsigned mode, zh_wasi_resolved *out) {
  char *path = NULL;
  out->dirfd = -1;
  out->owned = false;
  out->name = NULL;
  uint16_t r = copy_path(m, ptr, len, &path);
  if (r == ZH_WASI_ESUCCESS)
    r = zh_wasi_resolve(base, path, mode, out);
  free(path);
  return r;
}

/* Looks up a directory fd with `rights`, checks the path span and resolves it. */
static uint16_t path_at(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint64_t rights,
                        uint32_t path, uint32_t len, unsigned mode, zh_wasi_resolved *out) {
  zh_wasi_fd *e;
  out->dirfd = -1;
  out->owned = false;
  out->name = NULL;
  uint16_t r = dir_lookup(ctx, fd, rights, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, path, len))
    return ZH_WASI_EFAULT;
  return resolve_guest(m, e->host_fd, path, len, mode, out);
}

static uint16_t host_result(int rc) {
  return rc == 0 ? ZH_WASI_ESUCCESS : zh_wasi_errno_from_host(errno);
}

static unsigned follow_mode(uint32_t lookupflags) {
  return (lookupflags & ZH_WASI_LOOKUP_SYMLINK_FOLLOW) ? ZH_WASI_RES_FOLLOW : 0;
}

/* A new name for link or symlink ending in '/': Linux creates nothing but a directory
 * that way, so the name is EXIST when taken (whatever it is) and NOENT otherwise. */
static uint16_t new_name_slash(const zh_wasi_resolved *rp) {
  struct stat sb;
  return fstatat(rp->dirfd, rp->name, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? ZH_WASI_EEXIST
                                                                     : ZH_WASI_ENOENT;
}

/* ---- operations ---- */

uint16_t zh_wasi_path_create_directory(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                       uint32_t path, uint32_t path_len) {
  zh_wasi_resolved rp;
  uint16_t r = path_at(ctx, m, fd, ZH_WASI_RIGHT_PATH_CREATE_DIRECTORY, path, path_len,
                       ZH_WASI_RES_ENTRY, &rp);
  if (r == ZH_WASI_ESUCCESS)
    r = host_result(mkdirat(rp.dirfd, rp.name, 0777));
  zh_wasi_resolved_fini(&rp);
  return r;
}

uint16_t zh_wasi_path_filestat_get(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                   uint32_t flags, uint32_t path, uint32_t path_len, uint32_t buf) {
  zh_wasi_resolved rp;
  uint16_t r =
      path_at(ctx, m, fd, ZH_WASI_RIGHT_PATH_FILESTAT_GET, path, path_len, follow_mode(flags), &rp);
  if (r == ZH_WASI_ESUCCESS && !zh_wasi_span_ok(m, buf, ZH_WASI_FILESTAT_SIZE))
    r = ZH_WASI_EFAULT;
  struct stat st;
  if (r == ZH_WASI_ESUCCESS &&
      (r = host_result(fstatat(rp.dirfd, rp.name, &st, AT_SYMLINK_NOFOLLOW))) == ZH_WASI_ESUCCESS)
    zh_wasi_put_filestat(m->data + buf, &st);
  zh_wasi_resolved_fini(&rp);
  return r;
}

uint16_t zh_wasi_path_filestat_set_times(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                         uint32_t flags, uint32_t path, uint32_t path_len,
                                         uint64_t atim, uint64_t mtim, uint32_t fst_flags) {
  struct timespec ts[2];
  zh_wasi_resolved rp;
  uint16_t r = path_at(ctx, m, fd, ZH_WASI_RIGHT_PATH_FILESTAT_SET_TIMES, path, path_len,
                       follow_mode(flags), &rp);
  if (r == ZH_WASI_ESUCCESS)
    r = zh_wasi_times(atim, mtim, fst_flags, ts);
  if (r == ZH_WASI_ESUCCESS)
    r = host_result(utimensat(rp.dirfd, rp.name, ts, AT_SYMLINK_NOFOLLOW));
  zh_wasi_resolved_fini(&rp);
  return r;
}

/* Two directory fds for link and rename. Different preopens are different trees: moving
 * between them is refused with XDEV, like a move across host filesystems. */
static uint16_t two_dirs(zh_wasi_ctx *ctx, uint32_t fd1, uint64_t rights1, uint32_t fd2,
                         uint64_t rights2, int *host1, int *host2) {
  zh_wasi_fd *a, *b;
  uint16_t r = dir_lookup(ctx, fd1, rights1, &a);
  if (r != ZH_WASI_ESUCCESS || (r = dir_lookup(ctx, fd2, rights2, &b)) != ZH_WASI_ESUCCESS)
    return r;
  if (a->root != b->root)
    return ZH_WASI_EXDEV;
  *host1 = a->host_fd;
  *host2 = b->host_fd;
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_path_link(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t old_fd,
                           uint32_t old_flags, uint32_t old_path, uint32_t old_len, uint32_t new_fd,
                           uint32_t new_path, uint32_t new_len) {
  int h1, h2;
  uint16_t r = two_dirs(ctx, old_fd, ZH_WASI_RIGHT_PATH_LINK_SOURCE, new_fd,
                        ZH_WASI_RIGHT_PATH_LINK_TARGET, &h1, &h2);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, old_path, old_len) || !zh_wasi_span_ok(m, new_path, new_len))
    return ZH_WASI_EFAULT;
  zh_wasi_resolved a = {.dirfd = -1}, b = {.dirfd = -1}; /* b stays empty when resolving a fails */
  r = resolve_guest(m, h1, old_path, old_len, follow_mode(old_flags), &a);
  if (r == ZH_WASI_ESUCCESS)
    r = resolve_guest(m, h2, new_path, new_len, ZH_WASI_RES_ENTRY, &b);
  if (r == ZH_WASI_ESUCCESS)
    r = b.must_dir ? new_name_slash(&b) : host_result(linkat(a.dirfd, a.name, b.dirfd, b.name, 0));
  zh_wasi_resolved_fini(&a);
  zh_wasi_resolved_fini(&b);
  return r;
}

uint16_t zh_wasi_path_rename(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t old_path,
                             uint32_t old_len, uint32_t new_fd, uint32_t new_path,
                             uint32_t new_len) {
  int h1, h2;
  uint16_t r = two_dirs(ctx, fd, ZH_WASI_RIGHT_PATH_RENAME_SOURCE, new_fd,
                        ZH_WASI_RIGHT_PATH_RENAME_TARGET, &h1, &h2);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, old_path, old_len) || !zh_wasi_span_ok(m, new_path, new_len))
    return ZH_WASI_EFAULT;
  zh_wasi_resolved a = {.dirfd = -1}, b = {.dirfd = -1}; /* b stays empty when resolving a fails */
  r = resolve_guest(m, h1, old_path, old_len, ZH_WASI_RES_ENTRY, &a);
  if (r == ZH_WASI_ESUCCESS)
    r = resolve_guest(m, h2, new_path, new_len, ZH_WASI_RES_ENTRY, &b);
  /* A '/' after either name moves only a directory (a symlink to one is not one). */
  struct stat sb;
  if (r == ZH_WASI_ESUCCESS && (a.must_dir || b.must_dir))
    r = fstatat(a.dirfd, a.name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ? zh_wasi_errno_from_host(errno)
        : S_ISDIR(sb.st_mode)                                   ? ZH_WASI_ESUCCESS
                                                                : ZH_WASI_ENOTDIR;
  if (r == ZH_WASI_ESUCCESS)
    r = host_result(renameat(a.dirfd, a.name, b.dirfd, b.name));
  zh_wasi_resolved_fini(&a);
  zh_wasi_resolved_fini(&b);
  return r;
}

uint16_t zh_wasi_path_symlink(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t old_path,
                              uint32_t old_len, uint32_t fd, uint32_t new_path, uint32_t new_len) {
  zh_wasi_fd *e;
  uint16_t r = dir_lookup(ctx, fd, ZH_WASI_RIGHT_PATH_SYMLINK, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, old_path, old_len) || !zh_wasi_span_ok(m, new_path, new_len))
    return ZH_WASI_EFAULT;
  char *target = NULL;
  if ((r = copy_path(m, old_path, old_len, &target)) != ZH_WASI_ESUCCESS)
    return r;
  /* The guest could never follow an absolute link; refusing it also keeps host tools
   * that do follow links from being pointed outside. */
  if (target[0] == '/') {
    free(target);
    return ZH_WASI_ENOTCAPABLE;
  }
  zh_wasi_resolved rp;
  r = resolve_guest(m, e->host_fd, new_path, new_len, ZH_WASI_RES_ENTRY, &rp);
  if (r == ZH_WASI_ESUCCESS)
    r = rp.must_dir ? new_name_slash(&rp) : host_result(symlinkat(target, rp.dirfd, rp.name));
  zh_wasi_resolved_fini(&rp);
  free(target);
  return r;
}

uint16_t zh_wasi_path_readlink(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t path,
                               uint32_t path_len, uint32_t buf, uint32_t buf_len,
                               uint32_t bufused_ptr) {
  zh_wasi_resolved rp;
  uint16_t r = path_at(ctx, m, fd, ZH_WASI_RIGHT_PATH_READLINK, path, path_len, 0, &rp);
  if (r == ZH_WASI_ESUCCESS &&
      (!zh_wasi_span_ok(m, buf, buf_len) || !zh_wasi_span_ok(m, bufused_ptr, 4)))
    r = ZH_WASI_EFAULT;
  if (r == ZH_WASI_ESUCCESS) {
    char link[LINK_BUF];
    ssize_t n = readlinkat(rp.dirfd, rp.name, link, sizeof link);
    if (n < 0) {
      r = zh_wasi_errno_from_host(errno);
    } else {
      /* A buffer too small gets the leading bytes, as readlink(2) does. */
      uint32_t k = (uint64_t)n < buf_len ? (uint32_t)n : buf_len;
      memcpy(m->data + buf, link, k);
      zh_wasi_st32(m->data + bufused_ptr, k);
    }
  }
  zh_wasi_resolved_fini(&rp);
  return r;
}

uint16_t zh_wasi_path_remove_directory(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                       uint32_t path, uint32_t path_len) {
  zh_wasi_resolved rp;
  /* rmdir(2) of the bare name answers a trailing '/' as Linux does: NOTDIR for a file or
   * a symlink (which is not followed), NOENT when missing. */
  uint16_t r = path_at(ctx, m, fd, ZH_WASI_RIGHT_PATH_REMOVE_DIRECTORY, path, path_len,
                       ZH_WASI_RES_ENTRY, &rp);
  /* Linux refuses "x/.." as NOTEMPTY (and "x/." as INVAL, which rmdir(".") answers). */
  if (r == ZH_WASI_ESUCCESS)
    r = rp.dotdot ? ZH_WASI_ENOTEMPTY : host_result(unlinkat(rp.dirfd, rp.name, AT_REMOVEDIR));
  zh_wasi_resolved_fini(&rp);
  return r;
}

uint16_t zh_wasi_path_unlink_file(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                  uint32_t path, uint32_t path_len) {
  zh_wasi_resolved rp;
  uint16_t r =
      path_at(ctx, m, fd, ZH_WASI_RIGHT_PATH_UNLINK_FILE, path, path_len, ZH_WASI_RES_ENTRY, &rp);
  /* With a trailing '/' nothing is removed: ISDIR for a directory, NOTDIR for anything
   * else (a symlink is not followed), NOENT when missing. */
  struct stat sb;
  if (r == ZH_WASI_ESUCCESS && rp.must_dir)
    r = fstatat(rp.dirfd, rp.name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ? zh_wasi_errno_from_host(errno)
        : S_ISDIR(sb.st_mode)                                     ? ZH_WASI_EISDIR
                                                                  : ZH_WASI_ENOTDIR;
  else if (r == ZH_WASI_ESUCCESS)
    r = host_result(unlinkat(rp.dirfd, rp.name, 0));
  zh_wasi_resolved_fini(&rp);
  return r;
}

/* ---- path_open ---- */

/* Rights that need the host descriptor opened for reading, or for writing. */
#define READ_RIGHTS (ZH_WASI_RIGHT_FD_READ | ZH_WASI_RIGHT_FD_READDIR)
#define WRITE_RIGHTS                                                                               \
  (ZH_WASI_RIGHT_FD_WRITE | ZH_WASI_RIGHT_FD_ALLOCATE | ZH_WASI_RIGHT_FD_FILESTAT_SET_SIZE |       \
   ZH_WASI_RIGHT_FD_DATASYNC)

uint16_t zh_wasi_path_open(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t dirflags,
                           uint32_t path, uint32_t path_len, uint32_t oflags, uint64_t base,
                           uint64_t inheriting, uint32_t fdflags, uint32_t fd_ptr) {
  uint64_t need = ZH_WASI_RIGHT_PATH_OPEN;
  if (oflags & ZH_WASI_OFLAG_CREAT)
    need |= ZH_WASI_RIGHT_PATH_CREATE_FILE;
  if (oflags & ZH_WASI_OFLAG_TRUNC)
    need |= ZH_WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
  zh_wasi_fd *dir;
  uint16_t r = dir_lookup(ctx, fd, need, &dir);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if ((oflags & ~0xfu) != 0 || (fdflags & ~0x1fu) != 0)
    return ZH_WASI_EINVAL;
  if (!zh_wasi_span_ok(m, path, path_len) || !zh_wasi_span_ok(m, fd_ptr, 4))
    return ZH_WASI_EFAULT;
  /* A new descriptor holds at most what its directory passes on. */
  uint64_t nbase = base & dir->rights_inheriting, ninh = inheriting & dir->rights_inheriting;
  uint32_t root = dir->root;
  int dirhost = dir->host_fd;

  int flags = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
  bool rd = (nbase & READ_RIGHTS) != 0, wr = (nbase & WRITE_RIGHTS) != 0;
  /* O_DIRECTORY keeps fd_write (only): the host then answers ISDIR, as Linux does for
   * a directory opened for writing, and NOTDIR for a file. */
  if (oflags & ZH_WASI_OFLAG_DIRECTORY) {
    flags |= O_DIRECTORY;
    wr = (nbase & ZH_WASI_RIGHT_FD_WRITE) != 0;
  }
  flags |= rd && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY;
  if (oflags & ZH_WASI_OFLAG_CREAT)
    flags |= O_CREAT;
  if (oflags & ZH_WASI_OFLAG_EXCL)
    flags |= O_EXCL;
  if (oflags & ZH_WASI_OFLAG_TRUNC)
    flags |= O_TRUNC;
  if (fdflags & ZH_WASI_FDFLAG_APPEND)
    flags |= O_APPEND;
  if (fdflags & ZH_WASI_FDFLAG_NONBLOCK)
    flags |= O_NONBLOCK;
  if (fdflags & ZH_WASI_FDFLAG_SYNC)
    flags |= O_SYNC;
  else if (fdflags & (ZH_WASI_FDFLAG_DSYNC | ZH_WASI_FDFLAG_RSYNC))
    flags |= O_DSYNC;

  zh_wasi_resolved rp;
  /* O_CREAT|O_EXCL never follows a final symlink: a dangling one is EXIST, as in Linux. */
  bool creat = (oflags & ZH_WASI_OFLAG_CREAT) != 0;
  unsigned mode = creat ? ZH_WASI_RES_NOCHECK : 0;
  if (!(creat && (oflags & ZH_WASI_OFLAG_EXCL)))
    mode |= follow_mode(dirflags);
  r = resolve_guest(m, dirhost, path, path_len, mode, &rp);
  /* Creating through a trailing '/' is ISDIR before anything else, as in Linux. */
  if (r == ZH_WASI_ESUCCESS && creat && rp.must_dir)
    r = ZH_WASI_EISDIR;
  if (r != ZH_WASI_ESUCCESS) {
    zh_wasi_resolved_fini(&rp);
    return r;
  }
  if (rp.must_dir)
    flags |= O_DIRECTORY;
  int hfd = openat(rp.dirfd, rp.name, flags, 0666);
  int err = errno;
  zh_wasi_resolved_fini(&rp);
  if (hfd < 0)
    return zh_wasi_errno_from_host(err);
  struct stat st;
  uint32_t slot = 0;
  if (fstat(hfd, &st) != 0) {
    err = errno;
    close(hfd);
    return zh_wasi_errno_from_host(err);
  }
  if ((r = zh_wasi_fd_alloc(ctx, &slot)) != ZH_WASI_ESUCCESS) {
    close(hfd);
    return r;
  }
  zh_wasi_fd *e = &ctx->fds[slot]; /* the table may have moved: no `dir` from here on */
  memset(e, 0, sizeof *e);
  e->kind = ZH_WASI_FD_HOST;
  e->host_fd = hfd;
  e->owns_host_fd = true;
  e->filetype = zh_wasi_host_filetype(st.st_mode);
  e->fdflags = (uint16_t)fdflags;
  e->root = root;
  e->stream = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
  e->may_sigpipe = e->stream;
  e->rights_base = nbase & (S_ISDIR(st.st_mode) ? ZH_WASI_RIGHTS_DIR : ZH_WASI_RIGHTS_FILE);
  e->rights_inheriting = ninh;
  if (!rd)
    e->rights_base &= ~(uint64_t)ZH_WASI_RIGHT_FD_READ;
  if (!wr)
    e->rights_base &= ~(uint64_t)WRITE_RIGHTS;
  zh_wasi_st32(m->data + fd_ptr, slot);
  return ZH_WASI_ESUCCESS;
}
