/* Guest: runs the path operations named in argv against the preopen at fd 3 with raw
 * preview1 calls and prints one WASI errno per operation. tests/wasi/test_wasi_edge.c
 * runs the same list natively with libc calls on a twin directory and compares.
 *
 * Each argument is "OP A [B]": link, symlink (A is the target text), mkdir, rmdir,
 * unlink, rename, stat, lstat, utimes, lutimes, readlink, or open:FLAGS with FLAGS
 * letters r (fd_read right), w (fd_write right), d (O_DIRECTORY), c (O_CREAT),
 * x (O_EXCL), t (O_TRUNC), n (do not follow a final symlink). Raw calls rather than
 * wasi-libc's POSIX layer, so the rights and flags are exactly what the test names. */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define DIR_FD 3

static __wasi_errno_t do_open(const char *flags, const char *path) {
  __wasi_rights_t rights = __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FILESTAT_GET;
  __wasi_oflags_t of = 0;
  __wasi_lookupflags_t lf = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
  for (const char *f = flags; *f; f++) {
    switch (*f) {
    case 'r':
      rights |= __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_READDIR;
      break;
    case 'w':
      rights |= __WASI_RIGHTS_FD_WRITE;
      break;
    case 'd':
      of |= __WASI_OFLAGS_DIRECTORY;
      break;
    case 'c':
      of |= __WASI_OFLAGS_CREAT;
      break;
    case 'x':
      of |= __WASI_OFLAGS_EXCL;
      break;
    case 't':
      of |= __WASI_OFLAGS_TRUNC;
      break;
    case 'n':
      lf = 0;
      break;
    default:
      return 0xffff;
    }
  }
  __wasi_fd_t fd = 0;
  __wasi_errno_t r = __wasi_path_open(DIR_FD, lf, path, of, rights, 0, 0, &fd);
  if (r == 0)
    r = __wasi_fd_close(fd);
  return r;
}

static __wasi_errno_t run_op(const char *op, const char *a, const char *b) {
  /* fixed times, so a set_times that succeeds is visible in the tree comparison */
  const __wasi_timestamp_t when = 1000000000ull * 1234567890ull;
  const __wasi_fstflags_t both = __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM;
  __wasi_filestat_t st;
  uint8_t buf[256];
  __wasi_size_t used = 0;
  if (strcmp(op, "link") == 0)
    return __wasi_path_link(DIR_FD, 0, a, DIR_FD, b);
  if (strcmp(op, "symlink") == 0)
    return __wasi_path_symlink(a, DIR_FD, b);
  if (strcmp(op, "mkdir") == 0)
    return __wasi_path_create_directory(DIR_FD, a);
  if (strcmp(op, "rmdir") == 0)
    return __wasi_path_remove_directory(DIR_FD, a);
  if (strcmp(op, "unlink") == 0)
    return __wasi_path_unlink_file(DIR_FD, a);
  if (strcmp(op, "rename") == 0)
    return __wasi_path_rename(DIR_FD, a, DIR_FD, b);
  if (strcmp(op, "stat") == 0)
    return __wasi_path_filestat_get(DIR_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, a, &st);
  if (strcmp(op, "lstat") == 0)
    return __wasi_path_filestat_get(DIR_FD, 0, a, &st);
  if (strcmp(op, "utimes") == 0)
    return __wasi_path_filestat_set_times(DIR_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, a, when, when,
                                          both);
  if (strcmp(op, "lutimes") == 0)
    return __wasi_path_filestat_set_times(DIR_FD, 0, a, when, when, both);
  if (strcmp(op, "readlink") == 0)
    return __wasi_path_readlink(DIR_FD, a, buf, sizeof buf, &used);
  if (strncmp(op, "open:", 5) == 0)
    return do_open(op + 5, a);
  return 0xffff;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char op[32] = "", a[256] = "", b[256] = "";
    if (sscanf(argv[i], "%31s %255s %255s", op, a, b) < 2) {
      printf("bad op: %s\n", argv[i]);
      return 2;
    }
    printf("%s = %d\n", argv[i], run_op(op, a, b));
  }
  return 0;
}
