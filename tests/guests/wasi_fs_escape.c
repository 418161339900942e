/* Guest: tries to leave its preopens and prints "what=errno" for each attempt (raw
 * preview1 calls, so the errno is exactly what the host returned). Preopens, in order:
 * fd 3 "/sandbox" (writable), fd 4 "/other" (writable), fd 5 "/ro" (read-only). The host
 * put in /sandbox: file f, dirs a/ and sub/, symlinks abs -> /etc/passwd,
 * chain1 -> sub/chain2, sub/chain2 -> ../../outside, loop -> loop, inner -> sub. */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define SB 3
#define OTHER 4
#define RO 5
#define ALL ((__wasi_rights_t)-1)

/* Every right, except fd_write for a directory (which Linux, and so WASI, refuses: ISDIR). */
static int open_at(int dir, const char *path, int follow, int oflags, __wasi_fd_t *fd) {
  __wasi_rights_t base = oflags & __WASI_OFLAGS_DIRECTORY ? ALL & ~__WASI_RIGHTS_FD_WRITE : ALL;
  return __wasi_path_open(dir, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path, oflags, base,
                          ALL, 0, fd);
}

static int try_open(int dir, const char *path, int follow, int oflags) {
  __wasi_fd_t fd;
  int r = open_at(dir, path, follow, oflags, &fd);
  if (r == 0)
    (void)!__wasi_fd_close(fd);
  return r;
}

#define SHOW(what, expr) printf("%s=%d\n", what, (int)(expr))

int main(void) {
  __wasi_filestat_t st;
  /* ".." and absolute paths */
  SHOW("dotdot_create", try_open(SB, "../x", 0, __WASI_OFLAGS_CREAT));
  SHOW("nested_dotdot", try_open(SB, "a/../../x", 0, __WASI_OFLAGS_CREAT));
  SHOW("dotdot_sentinel", try_open(SB, "../sentinel", 0, 0));
  SHOW("absolute", try_open(SB, "/etc/passwd", 1, 0));
  SHOW("proc_self_cwd", try_open(SB, "/proc/self/cwd/sentinel", 1, 0));
  SHOW("proc_relative", try_open(SB, "proc/self/cwd/sentinel", 1, 0));
  SHOW("stat_dotdot", __wasi_path_filestat_get(SB, 0, "..", &st));
  SHOW("mkdir_dotdot", __wasi_path_create_directory(SB, "../d"));
  SHOW("unlink_dotdot", __wasi_path_unlink_file(SB, "../sentinel"));
  SHOW("rmdir_up", __wasi_path_remove_directory(SB, "a/../.."));
  /* symlinks */
  SHOW("abs_symlink", try_open(SB, "abs", 1, 0));
  SHOW("abs_symlink_dir", try_open(SB, "abs/x", 0, 0));
  SHOW("chain_out", try_open(SB, "chain1", 1, 0));
  SHOW("chain_out_create", try_open(SB, "chain1", 1, __WASI_OFLAGS_CREAT));
  SHOW("loop", try_open(SB, "loop", 1, 0));
  SHOW("nofollow_link", try_open(SB, "abs", 0, 0));
  SHOW("make_abs_symlink", __wasi_path_symlink("/etc", SB, "newlink"));
  SHOW("make_up_symlink", __wasi_path_symlink("../..", SB, "uplink"));
  SHOW("follow_up_symlink", try_open(SB, "uplink/sentinel", 1, 0));
  SHOW("remove_up_symlink", __wasi_path_unlink_file(SB, "uplink"));
  /* rename and link out of, into and across preopens */
  SHOW("rename_out", __wasi_path_rename(SB, "f", SB, "../f"));
  SHOW("rename_in", __wasi_path_rename(SB, "../sentinel", SB, "stolen"));
  SHOW("rename_across", __wasi_path_rename(SB, "f", OTHER, "f"));
  SHOW("rename_via_link", __wasi_path_rename(SB, "f", SB, "chain1/f"));
  SHOW("link_out", __wasi_path_link(SB, 0, "f", SB, "../lnk"));
  SHOW("link_in", __wasi_path_link(SB, 0, "../sentinel", SB, "lnk"));
  SHOW("link_across", __wasi_path_link(SB, 0, "f", OTHER, "lnk"));
  SHOW("link_follow_abs",
       __wasi_path_link(SB, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "abs", SB, "lnk"));
  /* what stays allowed */
  SHOW("inside_dotdot", try_open(SB, "a/../f", 0, 0));
  SHOW("inside_link", try_open(SB, "inner/../f", 1, 0));
  SHOW("dot", try_open(SB, ".", 0, __WASI_OFLAGS_DIRECTORY));
  char buf[64];
  __wasi_size_t n = 0;
  int r = __wasi_path_readlink(SB, "abs", (uint8_t *)buf, sizeof buf - 1, &n);
  buf[r == 0 ? n : 0] = 0;
  printf("readlink_abs=%d %s\n", r, buf);
  /* a directory fd below the preopen cannot climb out of itself either */
  __wasi_fd_t a;
  SHOW("open_a", open_at(SB, "a", 0, __WASI_OFLAGS_DIRECTORY, &a));
  SHOW("a_dotdot", try_open(a, "../f", 0, 0));
  SHOW("a_close", __wasi_fd_close(a));
  /* the read-only preopen */
  SHOW("ro_create", try_open(RO, "new", 0, __WASI_OFLAGS_CREAT));
  SHOW("ro_trunc", try_open(RO, "file", 0, __WASI_OFLAGS_TRUNC));
  SHOW("ro_mkdir", __wasi_path_create_directory(RO, "d"));
  SHOW("ro_unlink", __wasi_path_unlink_file(RO, "file"));
  SHOW("ro_rename", __wasi_path_rename(RO, "file", RO, "file2"));
  SHOW("ro_symlink", __wasi_path_symlink("file", RO, "l"));
  __wasi_fd_t f;
  SHOW("ro_open_read", open_at(RO, "file", 0, 0, &f));
  __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
  SHOW("ro_write", __wasi_fd_write(f, &iov, 1, &n));
  SHOW("ro_set_size", __wasi_fd_filestat_set_size(f, 0));
  SHOW("ro_rights_up", __wasi_fd_fdstat_set_rights(f, ALL, ALL));
  (void)!__wasi_fd_close(f);
  /* host descriptors are not guessable: the next numbers are simply not open */
  SHOW("fd_6", __wasi_fd_close(6));
  SHOW("fd_big", __wasi_fd_close(1000));
  return 0;
}
