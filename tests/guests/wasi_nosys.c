/* Guest: imports every preview1 function that zerohop does not implement yet; each must
 * link (signatures per wasi/api.h) and return ENOSYS (52). */
#include <stdio.h>
#include <wasi/api.h>

#define SHOW(call) printf("%s=%d\n", #call, (int)(call))

int main(void) {
  __wasi_size_t n;
  __wasi_fd_t fd;
  __wasi_filestat_t fst;
  __wasi_event_t ev;
  __wasi_subscription_t sub = {0};
  __wasi_roflags_t rof;
  __wasi_iovec_t iov = {0, 0};
  __wasi_ciovec_t ciov = {0, 0};
  uint8_t buf[8];
  SHOW(__wasi_fd_advise(1, 0, 0, 0));
  SHOW(__wasi_fd_allocate(1, 0, 0));
  SHOW(__wasi_fd_datasync(1));
  SHOW(__wasi_fd_fdstat_set_flags(1, 0));
  SHOW(__wasi_fd_fdstat_set_rights(1, 0, 0));
  SHOW(__wasi_fd_filestat_get(1, &fst));
  SHOW(__wasi_fd_filestat_set_size(1, 0));
  SHOW(__wasi_fd_filestat_set_times(1, 0, 0, 0));
  SHOW(__wasi_fd_pread(0, &iov, 1, 0, &n));
  SHOW(__wasi_fd_pwrite(1, &ciov, 1, 0, &n));
  SHOW(__wasi_fd_readdir(3, buf, sizeof buf, 0, &n));
  SHOW(__wasi_fd_renumber(1, 2));
  SHOW(__wasi_fd_sync(1));
  SHOW(__wasi_path_create_directory(3, "d"));
  SHOW(__wasi_path_filestat_get(3, 0, "f", &fst));
  SHOW(__wasi_path_filestat_set_times(3, 0, "f", 0, 0, 0));
  SHOW(__wasi_path_link(3, 0, "a", 3, "b"));
  SHOW(__wasi_path_open(3, 0, "f", 0, 0, 0, 0, &fd));
  SHOW(__wasi_path_readlink(3, "l", buf, sizeof buf, &n));
  SHOW(__wasi_path_remove_directory(3, "d"));
  SHOW(__wasi_path_rename(3, "a", 3, "b"));
  SHOW(__wasi_path_symlink("a", 3, "b"));
  SHOW(__wasi_path_unlink_file(3, "f"));
  SHOW(__wasi_poll_oneoff(&sub, &ev, 1, &n));
  SHOW(__wasi_sock_accept(3, 0, &fd));
  SHOW(__wasi_sock_recv(3, &iov, 1, 0, &n, &rof));
  SHOW(__wasi_sock_send(3, &ciov, 1, 0, &n));
  SHOW(__wasi_sock_shutdown(3, 0));
  return 0;
}
