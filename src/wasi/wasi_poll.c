/* WASI waiting and sockets: poll_oneoff (clock subscriptions, relative or absolute, and
 * fd readiness through ppoll(2)), and sock_accept / recv / send / shutdown on the sockets
 * the host configured. */
#include "wasi/wasi_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOST_IOV 64

static bool clock_of(uint32_t id, clockid_t *out) {
  switch (id) {
  case ZH_WASI_CLOCK_REALTIME:
    *out = CLOCK_REALTIME;
    return true;
  case ZH_WASI_CLOCK_MONOTONIC:
    *out = CLOCK_MONOTONIC;
    return true;
  case ZH_WASI_CLOCK_PROCESS_CPUTIME:
    *out = CLOCK_PROCESS_CPUTIME_ID;
    return true;
  case ZH_WASI_CLOCK_THREAD_CPUTIME:
    *out = CLOCK_THREAD_CPUTIME_ID;
    return true;
  default:
    return false;
  }
}

static uint64_t now_ns(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts) != 0 || ts.tv_sec < 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One subscription, decoded. */
typedef struct sub {
  uint64_t userdata;
  uint8_t tag;
  uint16_t error;    /* set: reported at once */
  bool ready;        /* in-memory stdio is always ready */
  clockid_t clock;   /* clock */
  uint64_t deadline; /* clock: absolute time on `clock` */
  int pfd;           /* fd_*: index into the pollfd array, or -1 */
  uint64_t nbytes;
} sub;

static void put_event(uint8_t *p, const sub *s, uint16_t error, uint64_t nbytes, uint16_t flags) {
  memset(p, 0, ZH_WASI_EVENT_SIZE);
  zh_wasi_st64(p, s->userdata);
  zh_wasi_st16(p + 8, error);
  p[10] = s->tag;
  zh_wasi_st64(p + 16, nbytes);
  zh_wasi_st16(p + 24, flags);
}

/* Bytes readable now, where the host can say; 0 otherwise (the event still fires). */
static uint64_t readable(int fd) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t pos = lseek(fd, 0, SEEK_CUR);
    return pos >= 0 && st.st_size > pos ? (uint64_t)(st.st_size - pos) : 0;
  }
  int n = 0;
  return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (uint64_t)n : 0;
}

#define ZH_WASI_WAIT_SLICE_NS ((uint64_t)10 * 1000 * 1000)

uint16_t zh_wasi_poll_oneoff(zh_wasi_ctx *ctx, const zh_wasi_mem *m, const zh_store *store,
                             uint32_t in, uint32_t out, uint32_t nsubs, uint32_t nevents_ptr) {
  if (nsubs == 0)
    return ZH_WASI_EINVAL; /* would wait forever */
  if (!zh_wasi_span_ok(m, in, (uint64_t)nsubs * ZH_WASI_SUBSCRIPTION_SIZE) ||
      !zh_wasi_span_ok(m, out, (uint64_t)nsubs * ZH_WASI_EVENT_SIZE) ||
      !zh_wasi_span_ok(m, nevents_ptr, 4))
    return ZH_WASI_EFAULT;
  sub *subs = calloc(nsubs, sizeof *subs);
  struct pollfd *pfds = calloc(nsubs, sizeof *pfds);
  if (subs == NULL || pfds == NULL) {
    free(subs);
    free(pfds);
    return ZH_WASI_ENOMEM;
  }
  nfds_t npfd = 0;
  bool immediate = false, have_clock = false;
  for (uint32_t i = 0; i < nsubs; i++) {
    const uint8_t *p = m->data + in + (uint64_t)i * ZH_WASI_SUBSCRIPTION_SIZE;
    sub *s = &subs[i];
    s->userdata = zh_wasi_ld64(p);
    s->tag = p[8];
    s->pfd = -1;
    if (s->tag == ZH_WASI_EVENTTYPE_CLOCK) {
      uint64_t timeout = zh_wasi_ld64(p + 24);
      uint16_t flags = zh_wasi_ld16(p + 40);
      if (!clock_of(zh_wasi_ld32(p + 16), &s->clock) || (flags & ~ZH_WASI_SUBCLOCK_ABSTIME)) {
        s->error = ZH_WASI_EINVAL;
      } else if (flags & ZH_WASI_SUBCLOCK_ABSTIME) {
        s->deadline = timeout;
        have_clock = true;
      } else {
        uint64_t now = now_ns(s->clock);
        s->deadline = timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout;
        have_clock = true;
      }
    } else if (s->tag == ZH_WASI_EVENTTYPE_FD_READ || s->tag == ZH_WASI_EVENTTYPE_FD_WRITE) {
      zh_wasi_fd *e;
      uint16_t r =
          zh_wasi_fd_lookup(ctx, zh_wasi_ld32(p + 16), ZH_WASI_RIGHT_POLL_FD_READWRITE, &e);
      bool rd = s->tag == ZH_WASI_EVENTTYPE_FD_READ;
      if (r != ZH_WASI_ESUCCESS) {
        s->error = r;
      } else if (e->kind == ZH_WASI_FD_HOST) {
        s->pfd = (int)npfd;
        pfds[npfd].fd = e->host_fd;
        pfds[npfd].events = rd ? POLLIN : POLLOUT;
        npfd++;
      } else {
        s->ready = true;
        if (rd && e->kind == ZH_WASI_FD_INPUT)
          s->nbytes = ctx->input_len - ctx->input_pos;
      }
    } else {
      s->error = ZH_WASI_EINVAL;
    }
    if (s->error != 0 || s->ready)
      immediate = true;
  }

  uint16_t result = ZH_WASI_ESUCCESS;
  uint32_t nev = 0;
  for (;;) {
    /* The nearest clock deadline decides how long to wait. */
    bool clock_fired = false;
    uint64_t wait = UINT64_MAX;
    for (uint32_t i = 0; i < nsubs; i++) {
      if (subs[i].tag != ZH_WASI_EVENTTYPE_CLOCK || subs[i].error != 0)
        continue;
      uint64_t now = now_ns(subs[i].clock);
      if (now >= subs[i].deadline)
        clock_fired = true;
      else if (subs[i].deadline - now < wait)
        wait = subs[i].deadline - now;
    }
    if (zh_store_interrupt_pending(store)) {
      result = ZH_WASI_INTERRUPTED;
      break;
    }
    /* With a store to answer to, wait at most a slice at a time: its deadline or an
     * interrupt must be able to end a long sleep or a wait for input. */
    if (store && wait > ZH_WASI_WAIT_SLICE_NS)
      wait = ZH_WASI_WAIT_SLICE_NS;
    struct timespec ts = {0, 0}, *tsp = &ts;
    if (!immediate && !clock_fired) {
      if (wait == UINT64_MAX)
        tsp = NULL;
      else {
        ts.tv_sec = (time_t)(wait / 1000000000u);
        ts.tv_nsec = (long)(wait % 1000000000u);
      }
    }
    if (!have_clock && npfd == 0 && !immediate)
      break; /* cannot happen: every sub is an error or ready */
    int n = ppoll(npfd ? pfds : NULL, npfd, tsp, NULL);
    if (n < 0 && errno != EINTR) {
      result = zh_wasi_errno_from_host(errno);
      break;
    }
    bool any_fd = n > 0;
    for (uint32_t i = 0; i < nsubs; i++) {
      sub *s = &subs[i];
      uint8_t *ev = m->data + out + (uint64_t)nev * ZH_WASI_EVENT_SIZE;
      if (s->error != 0) {
        put_event(ev, s, s->error, 0, 0);
        nev++;
      } else if (s->tag == ZH_WASI_EVENTTYPE_CLOCK) {
        if (now_ns(s->clock) >= s->deadline) {
          put_event(ev, s, 0, 0, 0);
          nev++;
        }
      } else if (s->ready) {
        put_event(ev, s, 0, s->nbytes, 0);
        nev++;
      } else if (s->pfd >= 0 && any_fd && pfds[s->pfd].revents != 0) {
        short re = pfds[s->pfd].revents;
        uint16_t err = re & POLLNVAL ? ZH_WASI_EBADF : 0;
        uint16_t fl = re & POLLHUP ? ZH_WASI_EVENT_FD_HANGUP : 0;
        uint64_t nb = s->tag == ZH_WASI_EVENTTYPE_FD_READ && !err ? readable(pfds[s->pfd].fd) : 0;
        put_event(ev, s, err, nb, fl);
        nev++;
      }
    }
    if (nev > 0)
      break;
    /* Woken early (a signal, a coarse timer): wait for the rest. */
  }
  free(subs);
  free(pfds);
  if (result == ZH_WASI_ESUCCESS)
    zh_wasi_st32(m->data + nevents_ptr, nev);
  return result;
}

/* ---- sockets ---- */

/* A socket entry: NOTSOCK for any other descriptor, checked before the rights so that
 * shutdown(stdout) says what is wrong. */
static uint16_t sock_lookup(zh_wasi_ctx *ctx, uint32_t fd, uint64_t rights, zh_wasi_fd **out) {
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, 0, out);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  zh_wasi_fd *e = *out;
  if (e->kind != ZH_WASI_FD_HOST || (e->filetype != ZH_WASI_FILETYPE_SOCKET_STREAM &&
                                     e->filetype != ZH_WASI_FILETYPE_SOCKET_DGRAM))
    return ZH_WASI_ENOTSOCK;
  return (e->rights_base & rights) == rights ? ZH_WASI_ESUCCESS : ZH_WASI_ENOTCAPABLE;
}

uint16_t zh_wasi_sock_accept(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t flags,
                             uint32_t fd_ptr) {
  zh_wasi_fd *e;
  uint16_t r = sock_lookup(ctx, fd, ZH_WASI_RIGHT_SOCK_ACCEPT, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if (flags & ~ZH_WASI_FDFLAG_NONBLOCK)
    return ZH_WASI_EINVAL;
  if (!zh_wasi_span_ok(m, fd_ptr, 4))
    return ZH_WASI_EFAULT;
  uint64_t inh = e->rights_inheriting;
  int s;
  do
    s = accept4(e->host_fd, NULL, NULL,
                SOCK_CLOEXEC | (flags & ZH_WASI_FDFLAG_NONBLOCK ? SOCK_NONBLOCK : 0));
  while (s < 0 && errno == EINTR);
  if (s < 0)
    return zh_wasi_errno_from_host(errno);
  uint32_t slot;
  if ((r = zh_wasi_fd_alloc(ctx, &slot)) != ZH_WASI_ESUCCESS) {
    close(s);
    return r;
  }
  zh_wasi_fd *n = &ctx->fds[slot];
  memset(n, 0, sizeof *n);
  n->kind = ZH_WASI_FD_HOST;
  n->host_fd = s;
  n->owns_host_fd = true;
  n->stream = true;
  n->may_sigpipe = true;
  n->filetype = ZH_WASI_FILETYPE_SOCKET_STREAM;
  n->fdflags = (uint16_t)flags;
  n->rights_base = inh & ZH_WASI_SOCKET_RIGHTS;
  n->rights_inheriting = inh;
  zh_wasi_st32(m->data + fd_ptr, slot);
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_sock_recv(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                           uint32_t iovs_len, uint32_t flags, uint32_t len_ptr,
                           uint32_t oflags_ptr) {
  zh_wasi_fd *e;
  uint16_t r = sock_lookup(ctx, fd, ZH_WASI_RIGHT_FD_READ, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if (flags & ~(ZH_WASI_RIFLAG_PEEK | ZH_WASI_RIFLAG_WAITALL))
    return ZH_WASI_EINVAL;
  uint64_t total;
  if ((r = zh_wasi_check_iovs(m, iovs, iovs_len, &total)) != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, len_ptr, 4) || !zh_wasi_span_ok(m, oflags_ptr, 2))
    return ZH_WASI_EFAULT;
  struct iovec hv[MAX_HOST_IOV];
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = hv;
  msg.msg_iovlen = (size_t)zh_wasi_host_iovs(m, iovs, iovs_len, hv, MAX_HOST_IOV);
  int hf = (flags & ZH_WASI_RIFLAG_PEEK ? MSG_PEEK : 0) |
           (flags & ZH_WASI_RIFLAG_WAITALL ? MSG_WAITALL : 0);
  ssize_t got;
  do
    got = recvmsg(e->host_fd, &msg, hf);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    return zh_wasi_errno_from_host(errno);
  zh_wasi_st32(m->data + len_ptr, (uint32_t)got);
  zh_wasi_st16(m->data + oflags_ptr, msg.msg_flags & MSG_TRUNC ? ZH_WASI_ROFLAG_DATA_TRUNCATED : 0);
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_sock_send(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                           uint32_t iovs_len, uint32_t flags, uint32_t len_ptr) {
  zh_wasi_fd *e;
  uint16_t r = sock_lookup(ctx, fd, ZH_WASI_RIGHT_FD_WRITE, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  if (flags != 0)
    return ZH_WASI_EINVAL; /* preview1 defines no send flags */
  uint64_t total;
  if ((r = zh_wasi_check_iovs(m, iovs, iovs_len, &total)) != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, len_ptr, 4))
    return ZH_WASI_EFAULT;
  struct iovec hv[MAX_HOST_IOV];
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = hv;
  msg.msg_iovlen = (size_t)zh_wasi_host_iovs(m, iovs, iovs_len, hv, MAX_HOST_IOV);
  ssize_t put;
  do /* MSG_NOSIGNAL: a closed peer is errno PIPE, not a signal to the host */
    put = sendmsg(e->host_fd, &msg, MSG_NOSIGNAL);
  while (put < 0 && errno == EINTR);
  if (put < 0)
    return zh_wasi_errno_from_host(errno);
  zh_wasi_st32(m->data + len_ptr, (uint32_t)put);
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_sock_shutdown(zh_wasi_ctx *ctx, uint32_t fd, uint32_t how) {
  zh_wasi_fd *e;
  uint16_t r = sock_lookup(ctx, fd, ZH_WASI_RIGHT_SOCK_SHUTDOWN, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  int h;
  switch (how) {
  case ZH_WASI_SDFLAG_RD:
    h = SHUT_RD;
    break;
  case ZH_WASI_SDFLAG_WR:
    h = SHUT_WR;
    break;
  case ZH_WASI_SDFLAG_RD | ZH_WASI_SDFLAG_WR:
    h = SHUT_RDWR;
    break;
  default:
    return ZH_WASI_EINVAL;
  }
  return shutdown(e->host_fd, h) == 0 ? ZH_WASI_ESUCCESS : zh_wasi_errno_from_host(errno);
}
