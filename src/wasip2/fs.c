/* wasi:filesystem types and preopens.
 *
 * Every path is resolved by the walk preview1 uses (zh_wasi_resolve in src/wasi/wasi_path.c):
 * one component at a time beneath the descriptor's directory, ".." never above it, symlinks
 * spliced in by hand and absolute ones refused, so the same escapes fail the same way; a
 * refused escape is not-permitted here. Descriptors beneath a read-only preopen refuse every
 * change with read-only. Errors go through preview1's errno table, then to error-code. */
#include "wasi/wasi_internal.h"
#include "wasip2/wasip2_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* error-code cases */
enum {
  FS_ACCESS = 0,
  FS_BAD_DESCRIPTOR = 3,
  FS_EXIST = 7,
  FS_INVALID = 12,
  FS_IO = 13,
  FS_IS_DIRECTORY = 14,
  FS_LOOP = 15,
  FS_NAME_TOO_LONG = 18,
  FS_NO_ENTRY = 20,
  FS_INSUFFICIENT_MEMORY = 22,
  FS_NOT_DIRECTORY = 24,
  FS_NOT_EMPTY = 25,
  FS_UNSUPPORTED = 27,
  FS_NOT_PERMITTED = 31,
  FS_READ_ONLY = 33,
  FS_CROSS_DEVICE = 36
};

/* preview1 errno -> error-code; 255 where there is no better answer than io. */
static const uint8_t p1_to_p2[77] = {
    [1] = 8,   [2] = 0,   [6] = 1,   [7] = 2,   [8] = 3,   [10] = 4,  [16] = 5,  [19] = 6,
    [20] = 7,  [22] = 8,  [25] = 9,  [26] = 10, [27] = 11, [28] = 12, [29] = 13, [31] = 14,
    [32] = 15, [34] = 16, [35] = 17, [37] = 18, [43] = 19, [44] = 20, [46] = 21, [48] = 22,
    [51] = 23, [54] = 24, [55] = 25, [56] = 26, [58] = 27, [52] = 27, [59] = 28, [60] = 29,
    [61] = 30, [63] = 31, [64] = 32, [69] = 33, [70] = 34, [74] = 35, [75] = 36, [76] = 31,
};

static uint32_t code_of_p1(uint16_t e) {
  if (e < sizeof p1_to_p2 && (p1_to_p2[e] || e == 2))
    return p1_to_p2[e];
  return FS_IO;
}

static uint32_t code_of_errno(int e) { return code_of_p1(zh_wasi_errno_from_host(e)); }

typedef struct wp2_desc {
  wp2_obj base;
  int fd;
  bool dir, read_only;
  uint32_t flags; /* descriptor-flags bits */
  uint32_t root;  /* 1 + the preopen it lies beneath: renames and links stay within one */
} wp2_desc;

enum { DF_READ = 1, DF_WRITE = 2, DF_MUTATE_DIR = 32 };
enum { OF_CREATE = 1, OF_DIRECTORY = 2, OF_EXCLUSIVE = 4, OF_TRUNCATE = 8 };

static void desc_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  close(((wp2_desc *)o)->fd);
  free(o);
}

static zh_error *desc_new(zh_wasip2_ctx *cx, int fd, bool dir, bool ro, uint32_t flags,
                          uint32_t root, zh_val *out) {
  wp2_desc *d = calloc(1, sizeof *d);
  if (!d) {
    close(fd);
    return wp2_oom();
  }
  *d = (wp2_desc){{WP2_DESCRIPTOR, desc_free}, fd, dir, ro, flags, root};
  uint64_t rep = 0;
  zh_error *err = wp2_insert(cx, &d->base, &rep);
  if (!err)
    *out = zh_val_own(rep);
  return err;
}

static zh_error *desc_arg(zh_wasip2_ctx *cx, zh_val *v, wp2_desc **out) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, v, WP2_DESCRIPTOR, "descriptor", &o);
  *out = (wp2_desc *)o;
  return err;
}

static zh_error *fail(zh_val *result, uint32_t code) { return wp2_err_enum(result, code); }
static zh_error *ok_unit(zh_val *result) { return zh_val_ok(result, NULL); }

/* A NUL-free copy of a string argument, or NULL (invalid). */
static const char *path_of(const zh_val *v) {
  return strlen(v->of.str.data) == v->of.str.len ? v->of.str.data : NULL;
}

/* Resolves a path argument beneath a directory descriptor; *code on failure. */
static bool resolve_at(wp2_desc *d, const zh_val *path, bool follow, zh_wasi_resolved *r,
                       uint32_t *code) {
  memset(r, 0, sizeof *r);
  r->dirfd = -1;
  const char *p = path_of(path);
  if (!d->dir) {
    *code = FS_NOT_DIRECTORY;
    return false;
  }
  if (!p) {
    *code = FS_INVALID;
    return false;
  }
  uint16_t e = zh_wasi_resolve(d->fd, p, follow ? ZH_WASI_RES_FOLLOW : 0, r);
  if (e != 0) {
    *code = code_of_p1(e);
    return false;
  }
  return true;
}

/* ---- preopens ---- */

static zh_error *get_directories(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  zh_error *err = zh_val_list(result, cx->npreopens);
  for (size_t i = 0; i < cx->npreopens && !err; i++) {
    int fd = fcntl(cx->preopens[i].host_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
      return zh_error_new(ZH_ERR_IO, "wasip2: preopen: %s", strerror(errno));
    bool ro = cx->preopens[i].read_only;
    zh_val d = zh_val_bool(false), name;
    if ((err = desc_new(cx, fd, true, ro, DF_READ | (ro ? 0 : DF_WRITE | DF_MUTATE_DIR),
                        (uint32_t)i + 1, &d)))
      break;
    if ((err = zh_val_string_cstr(&name, cx->preopens[i].guest_path))) {
      wp2_remove(cx, d.of.res.rep);
      break;
    }
    err = wp2_tuple2(&zh_val_list_items(result)[i], &d, &name);
  }
  return err;
}

/* ---- descriptors: streams and whole-file operations ---- */

static zh_error *via_stream(zh_wasip2_ctx *cx, zh_val *args, zh_val *result, int mode) {
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  if (d->dir)
    return fail(result, FS_IS_DIRECTORY);
  if (mode == 0 && !(d->flags & DF_READ))
    return fail(result, FS_BAD_DESCRIPTOR);
  if (mode != 0 && !(d->flags & DF_WRITE))
    return fail(result, FS_BAD_DESCRIPTOR);
  int fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    return fail(result, code_of_errno(errno));
  uint64_t rep = 0;
  wp2_stream *s;
  err = mode == 0 ? wp2_input_new(cx, WP2_S_FD, fd, true, &rep, &s)
                  : wp2_output_new(cx, WP2_S_FD, fd, true, &rep, &s);
  if (err)
    return err;
  s->positioned = true;
  s->offset = mode == 2 ? 0 : args[1].of.u;
  if (mode == 2) {
    s->append = true;
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1)
      fcntl(fd, F_SETFL, fl | O_APPEND);
  }
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

static zh_error *read_via_stream(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return via_stream(cx, a, r, 0);
}
static zh_error *write_via_stream(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return via_stream(cx, a, r, 1);
}
static zh_error *append_via_stream(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return via_stream(cx, a, r, 2);
}

static zh_error *d_read(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  if (d->dir)
    return fail(result, FS_IS_DIRECTORY);
  if (!(d->flags & DF_READ))
    return fail(result, FS_BAD_DESCRIPTOR);
  uint64_t len = args[1].of.u, off = args[2].of.u;
  size_t cap = len < (1u << 20) ? (size_t)len : (1u << 20);
  uint8_t *buf = malloc(cap ? cap : 1);
  if (!buf)
    return wp2_oom();
  ssize_t got = cap ? pread(d->fd, buf, cap, (off_t)off) : 0;
  if (got < 0) {
    free(buf);
    return fail(result, code_of_errno(errno));
  }
  zh_val bytes, eof = zh_val_bool((uint64_t)got < len), t; /* a short read is the end */
  err = wp2_bytes(&bytes, buf, (size_t)got);
  free(buf);
  if (!err)
    err = wp2_tuple2(&t, &bytes, &eof);
  return err ? err : zh_val_ok(result, &t);
}

static zh_error *d_write(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  if (d->dir)
    return fail(result, FS_IS_DIRECTORY);
  if (!(d->flags & DF_WRITE))
    return fail(result, FS_BAD_DESCRIPTOR);
  ssize_t put = pwrite(d->fd, zh_val_list_raw_data(&args[1]) ? zh_val_list_raw_data(&args[1]) : "",
                       zh_val_list_len(&args[1]), (off_t)args[2].of.u);
  if (put < 0)
    return fail(result, code_of_errno(errno));
  zh_val v = zh_val_u64((uint64_t)put);
  return zh_val_ok(result, &v);
}

static uint32_t type_of_mode(mode_t m) {
  /* descriptor-type: unknown, block-device, character-device, directory, fifo,
   * symbolic-link, regular-file, socket */
  return S_ISBLK(m)    ? 1
         : S_ISCHR(m)  ? 2
         : S_ISDIR(m)  ? 3
         : S_ISFIFO(m) ? 4
         : S_ISLNK(m)  ? 5
         : S_ISREG(m)  ? 6
         : S_ISSOCK(m) ? 7
                       : 0;
}

static zh_error *datetime_opt(const struct timespec *ts, zh_val *out) {
  zh_val rec;
  zh_error *err = zh_val_record(&rec, 2);
  if (err)
    return err;
  zh_val *f = zh_val_fields(&rec);
  f[0] = zh_val_u64((uint64_t)ts->tv_sec);
  f[1] = zh_val_u32((uint32_t)ts->tv_nsec);
  return zh_val_some(out, &rec);
}

static zh_error *stat_answer(const struct stat *st, zh_val *result) {
  zh_val rec;
  zh_error *err = zh_val_record(&rec, 6);
  if (err)
    return err;
  zh_val *f = zh_val_fields(&rec);
  f[0] = zh_val_enum(type_of_mode(st->st_mode));
  f[1] = zh_val_u64((uint64_t)st->st_nlink);
  f[2] = zh_val_u64((uint64_t)st->st_size);
  if ((err = datetime_opt(&st->st_atim, &f[3])) || (err = datetime_opt(&st->st_mtim, &f[4])) ||
      (err = datetime_opt(&st->st_ctim, &f[5]))) {
    zh_val_drop(&rec);
    return err;
  }
  return zh_val_ok(result, &rec);
}

static zh_error *d_stat(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  struct stat st;
  if (fstat(d->fd, &st) != 0)
    return fail(result, code_of_errno(errno));
  return stat_answer(&st, result);
}

static zh_error *d_stat_at(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  zh_wasi_resolved r;
  uint32_t code;
  if (!resolve_at(d, &args[2], args[1].of.flags.small & 1, &r, &code))
    return fail(result, code);
  struct stat st;
  int rc = fstatat(r.dirfd, r.name, &st, AT_SYMLINK_NOFOLLOW);
  int e = errno;
  zh_wasi_resolved_fini(&r);
  return rc != 0 ? fail(result, code_of_errno(e)) : stat_answer(&st, result);
}

static zh_error *d_get_type(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  struct stat st;
  if (fstat(d->fd, &st) != 0)
    return fail(result, code_of_errno(errno));
  zh_val v = zh_val_enum(type_of_mode(st.st_mode));
  return zh_val_ok(result, &v);
}

static zh_error *d_get_flags(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  zh_val v;
  if ((err = zh_val_flags(&v, 6)))
    return err;
  for (int i = 0; i < 6; i++)
    zh_val_flag_set(&v, (size_t)i, d->flags & (1u << i));
  return zh_val_ok(result, &v);
}

static zh_error *d_set_size(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  if (d->dir)
    return fail(result, FS_IS_DIRECTORY);
  if (!(d->flags & DF_WRITE))
    return fail(result, d->read_only ? FS_READ_ONLY : FS_BAD_DESCRIPTOR);
  return ftruncate(d->fd, (off_t)args[1].of.u) == 0 ? ok_unit(result)
                                                    : fail(result, code_of_errno(errno));
}

static zh_error *d_sync(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  return fsync(d->fd) == 0 || errno == EINVAL || errno == EBADF
             ? ok_unit(result)
             : fail(result, code_of_errno(errno));
}

static zh_error *d_advise(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  return err ? err : d->dir ? fail(result, FS_IS_DIRECTORY) : ok_unit(result);
}

/* new-timestamp: no-change, now, timestamp(datetime) */
static void timespec_of(const zh_val *v, struct timespec *ts) {
  switch (zh_val_case(v)) {
  case 0:
    ts->tv_nsec = UTIME_OMIT;
    break;
  case 1:
    ts->tv_nsec = UTIME_NOW;
    break;
  default: {
    const zh_val *dt = v->of.var.payload;
    ts->tv_sec = (time_t)dt->of.agg.fields[0].of.u;
    ts->tv_nsec = (long)dt->of.agg.fields[1].of.u;
  }
  }
}

static zh_error *d_set_times(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  if (d->read_only)
    return fail(result, FS_READ_ONLY);
  struct timespec ts[2] = {{0, 0}, {0, 0}};
  timespec_of(&args[1], &ts[0]);
  timespec_of(&args[2], &ts[1]);
  return futimens(d->fd, ts) == 0 ? ok_unit(result) : fail(result, code_of_errno(errno));
}

static zh_error *d_set_times_at(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  if (d->read_only)
    return fail(result, FS_READ_ONLY);
  zh_wasi_resolved r;
  uint32_t code;
  if (!resolve_at(d, &args[2], args[1].of.flags.small & 1, &r, &code))
    return fail(result, code);
  struct timespec ts[2] = {{0, 0}, {0, 0}};
  timespec_of(&args[3], &ts[0]);
  timespec_of(&args[4], &ts[1]);
  int rc = utimensat(r.dirfd, r.name, ts, AT_SYMLINK_NOFOLLOW);
  int e = errno;
  zh_wasi_resolved_fini(&r);
  return rc == 0 ? ok_unit(result) : fail(result, code_of_errno(e));
}

/* ---- open-at ---- */

static zh_error *d_open_at(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  uint32_t pflags = (uint32_t)args[1].of.flags.small, oflags = (uint32_t)args[3].of.flags.small,
           dflags = (uint32_t)args[4].of.flags.small;
  bool wants_change = (dflags & (DF_WRITE | DF_MUTATE_DIR)) || (oflags & (OF_CREATE | OF_TRUNCATE));
  if (d->read_only && wants_change)
    return fail(result, FS_READ_ONLY);
  if ((oflags & OF_DIRECTORY) && (dflags & DF_WRITE))
    return fail(result, FS_IS_DIRECTORY);
  zh_wasi_resolved r;
  uint32_t code;
  if (!resolve_at(d, &args[2], pflags & 1, &r, &code))
    return fail(result, code);
  int fl = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
  fl |= (dflags & DF_WRITE) ? ((dflags & DF_READ) ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (oflags & OF_CREATE)
    fl |= O_CREAT;
  if (oflags & OF_EXCLUSIVE)
    fl |= O_EXCL;
  if (oflags & OF_TRUNCATE)
    fl |= O_TRUNC;
  if ((oflags & OF_DIRECTORY) || r.must_dir)
    fl |= O_DIRECTORY;
  int fd = openat(r.dirfd, r.name, fl, 0666);
  int e = errno;
  zh_wasi_resolved_fini(&r);
  if (fd < 0)
    return fail(result, e == ELOOP ? FS_LOOP : code_of_errno(e));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    e = errno;
    close(fd);
    return fail(result, code_of_errno(e));
  }
  zh_val dv;
  uint32_t keep = dflags & (DF_READ | DF_WRITE | DF_MUTATE_DIR);
  if (S_ISDIR(st.st_mode))
    keep |= DF_READ;
  if (d->read_only)
    keep &= ~(uint32_t)(DF_WRITE | DF_MUTATE_DIR);
  if ((err = desc_new(cx, fd, S_ISDIR(st.st_mode), d->read_only, keep, d->root, &dv)))
    return err;
  return zh_val_ok(result, &dv);
}

/* ---- directory entries ---- */

typedef struct wp2_dirstream {
  wp2_obj base;
  DIR *dir;
} wp2_dirstream;

static void dirstream_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  closedir(((wp2_dirstream *)o)->dir);
  free(o);
}

static zh_error *d_read_directory(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  if (!d->dir)
    return fail(result, FS_NOT_DIRECTORY);
  int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
  if (!dir) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return fail(result, code_of_errno(e));
  }
  wp2_dirstream *s = calloc(1, sizeof *s);
  if (!s) {
    closedir(dir);
    return wp2_oom();
  }
  *s = (wp2_dirstream){{WP2_DIRSTREAM, dirstream_free}, dir};
  uint64_t rep = 0;
  if ((err = wp2_insert(cx, &s->base, &rep)))
    return err;
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

static zh_error *read_directory_entry(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_DIRSTREAM, "read-directory-entry", &o);
  if (err)
    return err;
  wp2_dirstream *s = (wp2_dirstream *)o;
  struct dirent *de;
  errno = 0;
  do
    de = readdir(s->dir);
  while (de && (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0));
  if (!de) {
    if (errno)
      return fail(result, code_of_errno(errno));
    zh_val none = zh_val_none();
    return zh_val_ok(result, &none);
  }
  uint32_t type = 0;
  struct stat st;
  if (fstatat(dirfd(s->dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    type = type_of_mode(st.st_mode);
  zh_val rec, opt;
  if ((err = zh_val_record(&rec, 2)))
    return err;
  zh_val *f = zh_val_fields(&rec);
  f[0] = zh_val_enum(type);
  if ((err = zh_val_string_cstr(&f[1], de->d_name))) {
    zh_val_drop(&rec);
    return err;
  }
  if ((err = zh_val_some(&opt, &rec)))
    return err;
  return zh_val_ok(result, &opt);
}

/* ---- path operations ---- */

/* Resolves args[pi] beneath args[0] (a writable directory when `mutates`) and runs op. */
typedef int (*path_op)(int dirfd, const char *name, const void *arg);

static zh_error *at_path(zh_wasip2_ctx *cx, zh_val *args, size_t pi, bool follow, bool mutates,
                         path_op op, const void *arg, zh_val *result) {
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  if (mutates && d->read_only)
    return fail(result, FS_READ_ONLY);
  zh_wasi_resolved r;
  uint32_t code;
  if (!resolve_at(d, &args[pi], follow, &r, &code))
    return fail(result, code);
  int rc = op(r.dirfd, r.name, arg);
  int e = errno;
  zh_wasi_resolved_fini(&r);
  return rc == 0 ? ok_unit(result) : fail(result, code_of_errno(e));
}

static int op_mkdir(int dfd, const char *name, const void *arg) {
  (void)arg;
  return mkdirat(dfd, name, 0777);
}
static int op_rmdir(int dfd, const char *name, const void *arg) {
  (void)arg;
  if (strcmp(name, ".") == 0) {
    errno = EINVAL;
    return -1;
  }
  return unlinkat(dfd, name, AT_REMOVEDIR);
}
static int op_unlink(int dfd, const char *name, const void *arg) {
  (void)arg;
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return -1;
  }
  return unlinkat(dfd, name, 0);
}
static int op_symlink(int dfd, const char *name, const void *arg) {
  const char *target = arg;
  if (target[0] == '/') {
    errno = EPERM; /* an absolute link would point outside the preopen */
    return -1;
  }
  return symlinkat(target, dfd, name);
}

static zh_error *d_create_directory_at(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return at_path(cx, a, 1, false, true, op_mkdir, NULL, r);
}
static zh_error *d_remove_directory_at(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return at_path(cx, a, 1, false, true, op_rmdir, NULL, r);
}
static zh_error *d_unlink_file_at(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return at_path(cx, a, 1, false, true, op_unlink, NULL, r);
}
static zh_error *d_symlink_at(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  const char *target = path_of(&a[1]);
  if (!target)
    return fail(r, FS_INVALID);
  return at_path(cx, a, 2, false, true, op_symlink, target, r);
}

static zh_error *d_readlink_at(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  zh_wasi_resolved r;
  uint32_t code;
  if (!resolve_at(d, &args[1], false, &r, &code))
    return fail(result, code);
  char buf[4096];
  ssize_t len = readlinkat(r.dirfd, r.name, buf, sizeof buf);
  int e = errno;
  zh_wasi_resolved_fini(&r);
  if (len < 0)
    return fail(result, code_of_errno(e));
  if (len >= (ssize_t)sizeof buf)
    return fail(result, FS_NAME_TOO_LONG);
  zh_val s;
  if ((err = zh_val_string(&s, buf, (size_t)len)))
    return err;
  return zh_val_ok(result, &s);
}

/* rename-at and link-at: two paths beneath two descriptors. */
static zh_error *two_paths(zh_wasip2_ctx *cx, zh_val *args, size_t oi, size_t ndi, size_t npi,
                           bool follow, bool is_link, zh_val *result) {
  wp2_desc *a, *b;
  zh_error *err = desc_arg(cx, &args[0], &a);
  if (!err)
    err = desc_arg(cx, &args[ndi], &b);
  if (err)
    return err;
  if (a->read_only || b->read_only)
    return fail(result, FS_READ_ONLY);
  if (a->root != b->root)
    return fail(result, FS_CROSS_DEVICE);
  zh_wasi_resolved ra, rb;
  uint32_t code;
  if (!resolve_at(a, &args[oi], follow, &ra, &code))
    return fail(result, code);
  if (!resolve_at(b, &args[npi], false, &rb, &code)) {
    zh_wasi_resolved_fini(&ra);
    return fail(result, code);
  }
  int rc = is_link ? linkat(ra.dirfd, ra.name, rb.dirfd, rb.name, 0)
                   : renameat(ra.dirfd, ra.name, rb.dirfd, rb.name);
  int e = errno;
  zh_wasi_resolved_fini(&ra);
  zh_wasi_resolved_fini(&rb);
  return rc == 0 ? ok_unit(result) : fail(result, code_of_errno(e));
}

static zh_error *d_rename_at(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return two_paths(cx, a, 1, 2, 3, false, false, r);
}
static zh_error *d_link_at(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return two_paths(cx, a, 2, 3, 4, a[1].of.flags.small & 1, true, r);
}

static zh_error *d_is_same_object(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *a, *b;
  zh_error *err = desc_arg(cx, &args[0], &a);
  if (!err)
    err = desc_arg(cx, &args[1], &b);
  if (err)
    return err;
  struct stat sa, sb;
  *result = zh_val_bool(fstat(a->fd, &sa) == 0 && fstat(b->fd, &sb) == 0 &&
                        sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
  return NULL;
}

static zh_error *hash_answer(const struct stat *st, zh_val *result) {
  zh_val rec;
  zh_error *err = zh_val_record(&rec, 2);
  if (err)
    return err;
  zh_val *f = zh_val_fields(&rec);
  f[0] = zh_val_u64((uint64_t)st->st_ino);
  f[1] = zh_val_u64((uint64_t)st->st_dev);
  return zh_val_ok(result, &rec);
}

static zh_error *d_metadata_hash(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  struct stat st;
  return fstat(d->fd, &st) == 0 ? hash_answer(&st, result) : fail(result, code_of_errno(errno));
}

static zh_error *d_metadata_hash_at(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_desc *d;
  zh_error *err = desc_arg(cx, &args[0], &d);
  if (err)
    return err;
  zh_wasi_resolved r;
  uint32_t code;
  if (!resolve_at(d, &args[2], args[1].of.flags.small & 1, &r, &code))
    return fail(result, code);
  struct stat st;
  int rc = fstatat(r.dirfd, r.name, &st, AT_SYMLINK_NOFOLLOW);
  int e = errno;
  zh_wasi_resolved_fini(&r);
  return rc == 0 ? hash_answer(&st, result) : fail(result, code_of_errno(e));
}

static zh_error *filesystem_error_code(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_ERROR, "filesystem-error-code", &o);
  if (err)
    return err;
  int code = wp2_error_fs_code(cx, args[0].of.res.rep);
  if (code < 0) {
    *result = zh_val_none();
    return NULL;
  }
  zh_val e = zh_val_enum((uint32_t)code);
  return zh_val_some(result, &e);
}

#define FT "wasi:filesystem/types"
#define M(name) "[method]descriptor." name
static const zh_wasip2_entry entries[] = {
    {"wasi:filesystem/preopens", "get-directories", get_directories},
    {FT, M("read-via-stream"), read_via_stream},
    {FT, M("write-via-stream"), write_via_stream},
    {FT, M("append-via-stream"), append_via_stream},
    {FT, M("advise"), d_advise},
    {FT, M("sync-data"), d_sync},
    {FT, M("get-flags"), d_get_flags},
    {FT, M("get-type"), d_get_type},
    {FT, M("set-size"), d_set_size},
    {FT, M("set-times"), d_set_times},
    {FT, M("read"), d_read},
    {FT, M("write"), d_write},
    {FT, M("read-directory"), d_read_directory},
    {FT, M("sync"), d_sync},
    {FT, M("create-directory-at"), d_create_directory_at},
    {FT, M("stat"), d_stat},
    {FT, M("stat-at"), d_stat_at},
    {FT, M("set-times-at"), d_set_times_at},
    {FT, M("link-at"), d_link_at},
    {FT, M("open-at"), d_open_at},
    {FT, M("readlink-at"), d_readlink_at},
    {FT, M("remove-directory-at"), d_remove_directory_at},
    {FT, M("rename-at"), d_rename_at},
    {FT, M("symlink-at"), d_symlink_at},
    {FT, M("unlink-file-at"), d_unlink_file_at},
    {FT, M("is-same-object"), d_is_same_object},
    {FT, M("metadata-hash"), d_metadata_hash},
    {FT, M("metadata-hash-at"), d_metadata_hash_at},
    {FT, "[method]directory-entry-stream.read-directory-entry", read_directory_entry},
    {FT, "filesystem-error-code", filesystem_error_code},
};

const wp2_table wp2_fs_table = {entries, sizeof entries / sizeof entries[0], NULL, 0};
