/* Guest: the configured socket is fd 3, listening; the host has already connected to it
 * and sent "ping". Accepts, polls, receives, answers "pong", shuts down writing. */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define SHOW(what, expr) printf("%s=%d\n", what, (int)(expr))

int main(void) {
  __wasi_fd_t c = 0;
  SHOW("accept_stdout", __wasi_sock_accept(1, 0, &c));
  SHOW("accept_badflags", __wasi_sock_accept(3, 1, &c));
  SHOW("accept", __wasi_sock_accept(3, 0, &c));
  printf("accepted_fd=%u\n", (unsigned)c);
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.u.tag = __WASI_EVENTTYPE_FD_READ;
  s.u.u.fd_read.file_descriptor = c;
  __wasi_event_t ev;
  __wasi_size_t n = 0;
  SHOW("poll", __wasi_poll_oneoff(&s, &ev, 1, &n));
  printf("poll_events=%u nbytes=%llu\n", (unsigned)n, (unsigned long long)ev.fd_readwrite.nbytes);
  char buf[16] = "";
  __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
  __wasi_roflags_t rof = 0;
  SHOW("recv_peek", __wasi_sock_recv(c, &iov, 1, __WASI_RIFLAGS_RECV_PEEK, &n, &rof));
  SHOW("recv", __wasi_sock_recv(c, &iov, 1, 0, &n, &rof));
  printf("got=%.*s roflags=%d\n", (int)n, buf, rof);
  __wasi_ciovec_t out = {(const uint8_t *)"pong", 4};
  SHOW("send", __wasi_sock_send(c, &out, 1, 0, &n));
  printf("sent=%u\n", (unsigned)n);
  SHOW("shutdown_bad", __wasi_sock_shutdown(c, 0));
  SHOW("shutdown_wr", __wasi_sock_shutdown(c, __WASI_SDFLAGS_WR));
  SHOW("shutdown_file", __wasi_sock_shutdown(1, __WASI_SDFLAGS_WR));
  SHOW("seek_sock", __wasi_fd_seek(c, 0, __WASI_WHENCE_SET, &(__wasi_filesize_t){0}));
  SHOW("close", __wasi_fd_close(c));
  return 0;
}
