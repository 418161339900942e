/* Guest: calls preview1 functions directly with bad pointers, bad descriptors and other
 * misuse, printing each errno. A host that trusts guest pointers would crash here or
 * write "ok" more than once; the expected output is asserted in tests/wasi/test_wasi.c. */
#include <stdint.h>
#include <stdio.h>
#include <wasi/api.h>

#define BAD(p) ((void *)(uintptr_t)(p))

static void show(const char *what, int e) { printf("%s=%d\n", what, e); }

int main(void) {
  static const char msg[] = "ok\n";
  __wasi_ciovec_t iov = {(const uint8_t *)msg, 3};
  __wasi_size_t n = 0;
  fflush(stdout);
  show("good", __wasi_fd_write(1, &iov, 1, &n));
  show("good_n", (int)n);

  /* fd_write: the iovec array, a buffer, a wrapping buffer, a huge count, the result. */
  show("iovs_oob", __wasi_fd_write(1, BAD(0xfffffff8u), 1, &n));
  __wasi_ciovec_t far = {BAD(0xfffffff0u), 64};
  show("buf_oob", __wasi_fd_write(1, &far, 1, &n));
  __wasi_ciovec_t wrap = {BAD(0xffffffffu), 2};
  show("buf_wrap", __wasi_fd_write(1, &wrap, 1, &n));
  show("iovs_len_huge", __wasi_fd_write(1, &iov, 0x7fffffff, &n));
  show("nwritten_oob", __wasi_fd_write(1, &iov, 1, BAD(0xfffffffeu)));
  __wasi_ciovec_t two[2] = {{(const uint8_t *)msg, 3}, {BAD(0xfffffff0u), 64}};
  show("second_iov_oob", __wasi_fd_write(1, two, 2, &n));

  /* Exactly at the end of memory is fine; one byte further is not. */
  uintptr_t end = __builtin_wasm_memory_size(0) * 65536;
  show("random_at_end", __wasi_random_get(BAD(end - 4), 4));
  show("random_past_end", __wasi_random_get(BAD(end - 3), 4));
  show("random_zero_at_end", __wasi_random_get(BAD(end), 0));

  /* Other pointer results. */
  show("args_sizes_oob", __wasi_args_sizes_get(BAD(0xfffffffcu), &n));
  show("args_get_oob", __wasi_args_get(BAD(0xfffffff0u), BAD(0xfffffff0u)));
  show("environ_sizes_oob", __wasi_environ_sizes_get(&n, BAD(end - 2)));
  show("clock_oob", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, BAD(end - 7)));
  show("clock_res_oob", __wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, BAD(end)));
  show("fdstat_oob", __wasi_fd_fdstat_get(1, BAD(end - 23)));
  show("read_oob", __wasi_fd_read(0, BAD(end - 4), 1, &n));

  /* Descriptors: unknown, wrong direction, not seekable, no preopens. */
  show("write_badfd", __wasi_fd_write(9, &iov, 1, &n));
  show("write_stdin", __wasi_fd_write(0, &iov, 1, &n));
  char buf[4];
  __wasi_iovec_t riov = {(uint8_t *)buf, sizeof buf};
  show("read_stdout", __wasi_fd_read(1, &riov, 1, &n));
  __wasi_filesize_t pos;
  show("seek_stdout", __wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos));
  show("tell_stdout", __wasi_fd_tell(1, &pos));
  show("seek_badfd", __wasi_fd_seek(5, 0, __WASI_WHENCE_SET, &pos));
  __wasi_prestat_t ps;
  show("prestat_3", __wasi_fd_prestat_get(3, &ps));
  show("prestat_name_3", __wasi_fd_prestat_dir_name(3, (uint8_t *)buf, sizeof buf));
  __wasi_fdstat_t st;
  show("fdstat_stdout", __wasi_fd_fdstat_get(1, &st));
  show("stdout_type", st.fs_filetype);
  show("stdout_can_write", (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0);
  show("stdout_can_seek", (st.fs_rights_base & __WASI_RIGHTS_FD_SEEK) != 0);
  show("fdstat_badfd", __wasi_fd_fdstat_get(7, &st));

  /* Closing stderr takes it away from the guest only. */
  show("close_stderr", __wasi_fd_close(2));
  show("close_again", __wasi_fd_close(2));
  show("write_closed", __wasi_fd_write(2, &iov, 1, &n));
  show("yield", __wasi_sched_yield());
  return 0;
}
