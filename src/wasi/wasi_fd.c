/* WASI file descriptors: the fd table and the stream-level fd_* operations on it.
 *
 * Fds 0-2 are stdio: a host descriptor, a capture buffer, an input buffer, or null. Then
 * come the preopened directories, then the configured sockets; path_open and sock_accept
 * add more. Every host descriptor the table owns is O_CLOEXEC, and the guest only ever
 * sees its own numbers. Every operation follows the same order as preview1 hosts do:
 * look up the fd (BADF), check its rights (NOTCAPABLE), validate every guest pointer
 * (FAULT) before any side effect, then act. */
#include "wasi/wasi_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Rights of the stdio descriptors. No SEEK/TELL: wasi-libc's isatty() relies on that, and
 * seeking a stream fails with SPIPE anyway. */
#define STDIO_RIGHTS                                                                               \
  (ZH_WASI_RIGHT_FD_FDSTAT_SET_FLAGS | ZH_WASI_RIGHT_FD_FILESTAT_GET |                             \
   ZH_WASI_RIGHT_POLL_FD_READWRITE)
#define STDIN_RIGHTS (STDIO_RIGHTS | ZH_WASI_RIGHT_FD_READ)
#define STDOUT_RIGHTS (STDIO_RIGHTS | ZH_WASI_RIGHT_FD_WRITE)

/* Host iovecs handed to one readv(): well under any IOV_MAX. */
#define MAX_HOST_IOV 64

/* ---- setup ---- */

uint8_t zh_wasi_host_filetype(unsigned mode) {
  if (S_ISCHR(mode))
    return ZH_WASI_FILETYPE_CHARACTER_DEVICE;
  if (S_ISREG(mode))
    return ZH_WASI_FILETYPE_REGULAR_FILE;
  if (S_ISDIR(mode))
    return ZH_WASI_FILETYPE_DIRECTORY;
  if (S_ISBLK(mode))
    return ZH_WASI_FILETYPE_BLOCK_DEVICE;
  if (S_ISSOCK(mode))
    return ZH_WASI_FILETYPE_SOCKET_STREAM;
  if (S_ISLNK(mode))
    return ZH_WASI_FILETYPE_SYMBOLIC_LINK;
  return ZH_WASI_FILETYPE_UNKNOWN; /* pipes: preview1 has no file type for them */
}

/* Fills a HOST entry from the host descriptor; false when it is not open. */
static bool init_host(zh_wasi_fd *e, int host_fd) {
  struct stat st;
  if (host_fd < 0 || fstat(host_fd, &st) != 0)
    return false;
  e->kind = ZH_WASI_FD_HOST;
  e->host_fd = host_fd;
  e->filetype = zh_wasi_host_filetype(st.st_mode);
  e->may_sigpipe = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
  int fl = fcntl(host_fd, F_GETFL);
  if (fl != -1) {
    if (fl & O_APPEND)
      e->fdflags |= ZH_WASI_FDFLAG_APPEND;
    if (fl & O_NONBLOCK)
      e->fdflags |= ZH_WASI_FDFLAG_NONBLOCK;
    if ((fl & O_SYNC) == O_SYNC)
      e->fdflags |= ZH_WASI_FDFLAG_SYNC;
    else if (fl & O_DSYNC)
      e->fdflags |= ZH_WASI_FDFLAG_DSYNC;
  }
  return true;
}

/* Most descriptors one guest may hold; past it path_open reports MFILE. */
#define MAX_FDS (1u << 16)

/* Fd 3 + i: the i-th preopen, a directory opened (or duplicated) here, close-on-exec. */
static zh_error *init_preopen(zh_wasi_fd *e, const zh_wasi_preopen *p, uint32_t index) {
  if (p->guest_path == NULL)
    return zh_error_new(ZH_ERR_USAGE, "wasi: preopen %u has no guest path", index);
  int fd = p->host_path != NULL
               ? open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
               : (p->host_fd >= 0 ? fcntl(p->host_fd, F_DUPFD_CLOEXEC, 0) : (errno = EBADF, -1));
  if (fd < 0)
    return zh_error_new(ZH_ERR_IO, "wasi: preopen \"%s\": %s", p->host_path ? p->host_path : "fd",
                        strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    close(fd);
    return zh_error_new(ZH_ERR_USAGE, "wasi: preopen \"%s\" is not a directory",
                        p->host_path ? p->host_path : p->guest_path);
  }
  e->kind = ZH_WASI_FD_HOST;
  e->host_fd = fd;
  e->owns_host_fd = true;
  e->filetype = ZH_WASI_FILETYPE_DIRECTORY;
  e->rights_base = ZH_WASI_RIGHTS_DIR;
  e->rights_inheriting = ZH_WASI_RIGHTS_DIR | ZH_WASI_RIGHTS_FILE;
  if (p->read_only) {
    e->rights_base &= ~ZH_WASI_RIGHTS_MUTATING;
    e->rights_inheriting &= ~ZH_WASI_RIGHTS_MUTATING;
  }
  e->root = index + 1;
  e->preopen = strdup(p->guest_path);
  if (e->preopen == NULL)
    return zh_error_new(ZH_ERR_RESOURCE, "wasi: out of memory");
  return NULL;
}

/* A socket the host set up: duplicated, so the caller keeps its own descriptor. */
static zh_error *init_socket(zh_wasi_fd *e, int sock) {
  int fd = sock >= 0 ? fcntl(sock, F_DUPFD_CLOEXEC, 0) : -1;
  if (fd < 0)
    return zh_error_new(ZH_ERR_USAGE, "wasi: socket %d is not open", sock);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    close(fd);
    return zh_error_new(ZH_ERR_USAGE, "wasi: descriptor %d is not a socket", sock);
  }
  e->kind = ZH_WASI_FD_HOST;
  e->host_fd = fd;
  e->owns_host_fd = true;
  e->stream = true;
  e->may_sigpipe = true;
  int type = 0;
  socklen_t len = sizeof type;
  e->filetype = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM
                    ? ZH_WASI_FILETYPE_SOCKET_DGRAM
                    : ZH_WASI_FILETYPE_SOCKET_STREAM;
  e->rights_base = ZH_WASI_SOCKET_RIGHTS;
  e->rights_inheriting = ZH_WASI_SOCKET_RIGHTS & ~ZH_WASI_RIGHT_SOCK_ACCEPT;
  int fl = fcntl(fd, F_GETFL);
  if (fl != -1 && (fl & O_NONBLOCK))
    e->fdflags |= ZH_WASI_FDFLAG_NONBLOCK;
  return NULL;
}

zh_error *zh_wasi_fd_init(zh_wasi_ctx *ctx, const zh_wasi_config *config) {
  static const char *const names[3] = {"stdin", "stdout", "stderr"};
  size_t npre = config ? config->npreopens : 0, nsock = config ? config->nsockets : 0;
  if ((npre > 0 && config->preopens == NULL) || (nsock > 0 && config->sockets == NULL))
    return zh_error_new(ZH_ERR_USAGE, "wasi: preopens or sockets counted but not given");
  if (npre + nsock > MAX_FDS / 2)
    return zh_error_new(ZH_ERR_USAGE, "wasi: too many preopens and sockets");
  ctx->fds = calloc(3 + npre + nsock, sizeof *ctx->fds);
  if (ctx->fds == NULL)
    return zh_error_new(ZH_ERR_RESOURCE, "wasi: out of memory for the fd table");
  ctx->nfds = (uint32_t)(3 + npre + nsock);
  ctx->capture_limit = config ? config->capture_limit : 0;
  for (uint8_t slot = 0; slot < 3; slot++) {
    zh_wasi_stdio io = {ZH_WASI_STDIO_NULL, -1, NULL, 0};
    if (config)
      io = config->stdio[slot];
    zh_wasi_fd *e = &ctx->fds[slot];
    e->host_fd = -1;
    e->slot = slot;
    e->rights_base = slot == 0 ? STDIN_RIGHTS : STDOUT_RIGHTS;
    e->filetype = ZH_WASI_FILETYPE_CHARACTER_DEVICE;
    e->stream = true;
    switch (io.kind) {
    case ZH_WASI_STDIO_NULL:
      e->kind = ZH_WASI_FD_NULL;
      break;
    case ZH_WASI_STDIO_INHERIT:
      /* A host stdio descriptor that is closed stays closed for the guest too. */
      if (!init_host(e, slot))
        memset(e, 0, sizeof *e);
      break;
    case ZH_WASI_STDIO_HOST_FD:
      if (!init_host(e, io.host_fd))
        return zh_error_new(ZH_ERR_USAGE, "wasi: %s: host fd %d is not open", names[slot],
                            io.host_fd);
      break;
    case ZH_WASI_STDIO_CAPTURE:
      if (slot == 0)
        return zh_error_new(ZH_ERR_USAGE, "wasi: stdin cannot be a capture buffer");
      e->kind = ZH_WASI_FD_CAPTURE;
      break;
    case ZH_WASI_STDIO_BUFFER:
      if (slot != 0)
        return zh_error_new(ZH_ERR_USAGE, "wasi: %s cannot be an input buffer", names[slot]);
      if (io.len > 0 && io.data == NULL)
        return zh_error_new(ZH_ERR_USAGE, "wasi: stdin buffer of %zu bytes has no data", io.len);
      ctx->input = malloc(io.len ? io.len : 1);
      if (ctx->input == NULL)
        return zh_error_new(ZH_ERR_RESOURCE, "wasi: out of memory copying stdin");
      if (io.len > 0)
        memcpy(ctx->input, io.data, io.len);
      ctx->input_len = io.len;
      e->kind = ZH_WASI_FD_INPUT;
      break;
    default:
      return zh_error_new(ZH_ERR_USAGE, "wasi: %s: unknown stdio kind %d", names[slot],
                          (int)io.kind);
    }
    if (e->kind == ZH_WASI_FD_HOST) /* stdin/stdout stay streams even when redirected */
      e->stream = true;
  }
  zh_error *err;
  for (size_t i = 0; i < npre; i++)
    if ((err = init_preopen(&ctx->fds[3 + i], &config->preopens[i], (uint32_t)i)) != NULL)
      return err;
  for (size_t i = 0; i < nsock; i++)
    if ((err = init_socket(&ctx->fds[3 + npre + i], config->sockets[i])) != NULL)
      return err;
  return NULL;
}

void zh_wasi_fd_release(zh_wasi_fd *e) {
  if (e->kind == ZH_WASI_FD_HOST && e->owns_host_fd)
    close(e->host_fd);
  free(e->preopen);
  if (e->dir != NULL) {
    for (uint32_t i = 0; i < e->dir->count; i++)
      free(e->dir->ents[i].name);
    free(e->dir->ents);
    free(e->dir);
  }
  memset(e, 0, sizeof *e);
}

void zh_wasi_fd_fini(zh_wasi_ctx *ctx) {
  for (uint32_t i = 0; i < ctx->nfds; i++)
    zh_wasi_fd_release(&ctx->fds[i]);
  free(ctx->fds);
  ctx->fds = NULL;
  ctx->nfds = 0;
  for (int i = 0; i < 3; i++)
    free(ctx->captured[i].data);
  memset(ctx->captured, 0, sizeof ctx->captured);
  free(ctx->input);
  ctx->input = NULL;
}

static zh_wasi_fd *fd_get(zh_wasi_ctx *ctx, uint32_t fd) {
  if (fd >= ctx->nfds || ctx->fds[fd].kind == ZH_WASI_FD_CLOSED)
    return NULL;
  return &ctx->fds[fd];
}

uint16_t zh_wasi_fd_alloc(zh_wasi_ctx *ctx, uint32_t *out) {
  for (uint32_t i = 0; i < ctx->nfds; i++)
    if (ctx->fds[i].kind == ZH_WASI_FD_CLOSED) {
      *out = i;
      return ZH_WASI_ESUCCESS;
    }
  if (ctx->nfds >= MAX_FDS)
    return ZH_WASI_EMFILE;
  uint32_t n = ctx->nfds < 8 ? 16 : ctx->nfds * 2;
  if (n > MAX_FDS)
    n = MAX_FDS;
  zh_wasi_fd *fds = realloc(ctx->fds, (size_t)n * sizeof *fds);
  if (fds == NULL)
    return ZH_WASI_ENOMEM;
  memset(fds + ctx->nfds, 0, (size_t)(n - ctx->nfds) * sizeof *fds);
  ctx->fds = fds;
  *out = ctx->nfds;
  ctx->nfds = n;
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_fd_lookup(zh_wasi_ctx *ctx, uint32_t fd, uint64_t rights, zh_wasi_fd **out) {
  zh_wasi_fd *e = fd_get(ctx, fd);
  if (e == NULL)
    return ZH_WASI_EBADF;
  if ((e->rights_base & rights) != rights)
    return ZH_WASI_ENOTCAPABLE;
  *out = e;
  return ZH_WASI_ESUCCESS;
}

/* Checks an iovec array and every buffer it names; *total gets the summed length.
 * The sum must fit the u32 result, as readv/writev refuse sums past SSIZE_MAX. */
uint16_t zh_wasi_check_iovs(const zh_wasi_mem *m, uint32_t iovs, uint32_t n, uint64_t *total) {
  if (!zh_wasi_span_ok(m, iovs, (uint64_t)n * ZH_WASI_IOVEC_SIZE))
    return ZH_WASI_EFAULT;
  uint64_t sum = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *iov = m->data + iovs + (uint64_t)i * ZH_WASI_IOVEC_SIZE;
    uint32_t buf = zh_wasi_ld32(iov), len = zh_wasi_ld32(iov + 4);
    if (!zh_wasi_span_ok(m, buf, len))
      return ZH_WASI_EFAULT;
    sum += len;
    if (sum > UINT32_MAX)
      return ZH_WASI_EINVAL;
  }
  *total = sum;
  return ZH_WASI_ESUCCESS;
}

/* The i-th iovec, already validated by check_iovs. */
static void iov_at(const zh_wasi_mem *m, uint32_t iovs, uint32_t i, uint32_t *buf, uint32_t *len) {
  const uint8_t *iov = m->data + iovs + (uint64_t)i * ZH_WASI_IOVEC_SIZE;
  *buf = zh_wasi_ld32(iov);
  *len = zh_wasi_ld32(iov + 4);
}

/* ---- fd_write ---- */

/* Writing to a closed pipe raises SIGPIPE, which would kill the embedding process. The
 * signal is blocked for this thread during the write, and the one our write raised is
 * consumed, so the guest just sees errno PIPE. Only pipes and sockets need this. */
void zh_wasi_sigpipe_block(zh_wasi_sigpipe_guard *g) {
  sigset_t set, pending;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  g->active = pthread_sigmask(SIG_BLOCK, &set, &g->old) == 0;
}

void zh_wasi_sigpipe_unblock(zh_wasi_sigpipe_guard *g, bool got_epipe) {
  if (!g->active)
    return;
  int saved = errno;
  if (got_epipe && !g->was_pending) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    const struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) == -1 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &g->old, NULL);
  errno = saved;
}

/* Writes every byte, retrying short writes and EINTR. A failure after some bytes went
 * out reports success with the count, as POSIX write does; the next call sees the error. */
static uint16_t host_write(zh_wasi_fd *e, const zh_wasi_mem *m, uint32_t iovs, uint32_t n,
                           uint64_t *written) {
  zh_wasi_sigpipe_guard guard;
  memset(&guard, 0, sizeof guard);
  if (e->may_sigpipe)
    zh_wasi_sigpipe_block(&guard);
  uint64_t done = 0;
  int err = 0;
  for (uint32_t i = 0; i < n && err == 0; i++) {
    uint32_t buf, len;
    iov_at(m, iovs, i, &buf, &len);
    size_t off = 0;
    while (off < len) {
      ssize_t w = write(e->host_fd, m->data + buf + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        err = w < 0 ? errno : EIO;
        break;
      }
      off += (size_t)w;
      done += (uint64_t)w;
    }
  }
  if (e->may_sigpipe)
    zh_wasi_sigpipe_unblock(&guard, err == EPIPE);
  *written = done;
  return done > 0 ? ZH_WASI_ESUCCESS : zh_wasi_errno_from_host(err);
}

/* Appends up to the capture limit; a write that fits nothing reports NOSPC. */
static uint16_t capture_write(zh_wasi_ctx *ctx, zh_wasi_fd *e, const zh_wasi_mem *m, uint32_t iovs,
                              uint32_t n, uint64_t total, uint64_t *written) {
  zh_wasi_buf *b = &ctx->captured[e->slot];
  uint64_t take = total;
  if (ctx->capture_limit != 0) {
    uint64_t room = b->len < ctx->capture_limit ? ctx->capture_limit - b->len : 0;
    if (take > room)
      take = room;
    if (take == 0 && total > 0)
      return ZH_WASI_ENOSPC;
  }
  /* take <= 4 GiB and len is an existing allocation: len + take + 1 cannot wrap 64 bits. */
  uint64_t need = (uint64_t)b->len + take + 1;
  if (need > SIZE_MAX)
    return ZH_WASI_ENOMEM;
  if (need > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
      cap = cap > SIZE_MAX / 2 ? (size_t)need : cap * 2;
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL)
      return ZH_WASI_ENOMEM;
    b->data = data;
    b->cap = cap;
  }
  uint64_t left = take;
  for (uint32_t i = 0; i < n && left > 0; i++) {
    uint32_t buf, len;
    iov_at(m, iovs, i, &buf, &len);
    size_t chunk = len < left ? len : (size_t)left;
    memcpy(b->data + b->len, m->data + buf, chunk);
    b->len += chunk;
    left -= chunk;
  }
  b->data[b->len] = 0;
  *written = take;
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_fd_write(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t iovs,
                          uint32_t iovs_len, uint32_t nwritten_ptr) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_WRITE, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  uint64_t total;
  if ((r = zh_wasi_check_iovs(m, iovs, iovs_len, &total)) != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, nwritten_ptr, 4))
    return ZH_WASI_EFAULT;
  uint64_t written = 0;
  switch (e->kind) {
  case ZH_WASI_FD_NULL:
    written = total;
    break;
  case ZH_WASI_FD_CAPTURE:
    r = capture_write(ctx, e, m, iovs, iovs_len, total, &written);
    break;
  case ZH_WASI_FD_HOST:
    r = host_write(e, m, iovs, iovs_len, &written);
    break;
  default:
    r = ZH_WASI_EBADF;
    break;
  }
  if (r == ZH_WASI_ESUCCESS)
    zh_wasi_st32(m->data + nwritten_ptr, (uint32_t)written);
  return r;
}

/* ---- fd_read ---- */

int zh_wasi_host_iovs(const zh_wasi_mem *m, uint32_t iovs, uint32_t n, struct iovec *out, int max) {
  int cnt = 0;
  for (uint32_t i = 0; i < n && cnt < max; i++) {
    uint32_t buf, len;
    iov_at(m, iovs, i, &buf, &len);
    if (len == 0)
      continue;
    out[cnt].iov_base = m->data + buf;
    out[cnt].iov_len = len;
    cnt++;
  }
  return cnt;
}

/* One readv() over the first iovecs: a single host read, so a terminal or pipe that has
 * some data returns it at once instead of blocking to fill every buffer. */
static uint16_t host_read(zh_wasi_fd *e, const zh_wasi_mem *m, const zh_store *store, uint32_t iovs,
                          uint32_t n, uint64_t *nread) {
  struct iovec hv[MAX_HOST_IOV];
  int cnt = zh_wasi_host_iovs(m, iovs, n, hv, MAX_HOST_IOV);
  *nread = 0;
  if (cnt == 0)
    return ZH_WASI_ESUCCESS;
  /* Wait for data in 10 ms slices, so that the store's deadline or an interrupt can end a
   * read from a pipe or socket that nobody writes to. Regular files are always ready; a
   * non-blocking descriptor must not wait at all. */
  while (store && !(e->fdflags & ZH_WASI_FDFLAG_NONBLOCK)) {
    struct pollfd p = {.fd = e->host_fd, .events = POLLIN};
    int ready = poll(&p, 1, 10);
    if (ready > 0 || (ready < 0 && errno != EINTR))
      break; /* data, end of file, or an error that readv will report */
    if (zh_store_interrupt_pending(store))
      return ZH_WASI_INTERRUPTED;
  }
  for (;;) {
    ssize_t got = readv(e->host_fd, hv, cnt);
    if (got >= 0) {
      *nread = (uint64_t)got;
      return ZH_WASI_ESUCCESS;
    }
    if (errno != EINTR)
      return zh_wasi_errno_from_host(errno);
  }
}

static uint64_t input_read(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t iovs, uint32_t n) {
  uint64_t done = 0;
  for (uint32_t i = 0; i < n && ctx->input_pos < ctx->input_len; i++) {
    uint32_t buf, len;
    iov_at(m, iovs, i, &buf, &len);
    size_t avail = ctx->input_len - ctx->input_pos;
    size_t chunk = len < avail ? len : avail;
    memcpy(m->data + buf, ctx->input + ctx->input_pos, chunk);
    ctx->input_pos += chunk;
    done += chunk;
  }
  return done;
}

uint16_t zh_wasi_fd_read(zh_wasi_ctx *ctx, const zh_wasi_mem *m, const zh_store *store, uint32_t fd,
                         uint32_t iovs, uint32_t iovs_len, uint32_t nread_ptr) {
  zh_wasi_fd *e;
  uint16_t r = zh_wasi_fd_lookup(ctx, fd, ZH_WASI_RIGHT_FD_READ, &e);
  if (r != ZH_WASI_ESUCCESS)
    return r;
  uint64_t total;
  if ((r = zh_wasi_check_iovs(m, iovs, iovs_len, &total)) != ZH_WASI_ESUCCESS)
    return r;
  if (!zh_wasi_span_ok(m, nread_ptr, 4))
    return ZH_WASI_EFAULT;
  uint64_t nread = 0;
  switch (e->kind) {
  case ZH_WASI_FD_NULL:
    break; /* end of file */
  case ZH_WASI_FD_INPUT:
    nread = input_read(ctx, m, iovs, iovs_len);
    break;
  case ZH_WASI_FD_HOST:
    r = host_read(e, m, store, iovs, iovs_len, &nread);
    break;
  default:
    r = ZH_WASI_EBADF;
    break;
  }
  if (r == ZH_WASI_ESUCCESS)
    zh_wasi_st32(m->data + nread_ptr, (uint32_t)nread);
  return r;
}

/* ---- close, seek, tell, fdstat, prestat ---- */

uint16_t zh_wasi_fd_close(zh_wasi_ctx *ctx, uint32_t fd) {
  zh_wasi_fd *e = fd_get(ctx, fd);
  if (e == NULL)
    return ZH_WASI_EBADF;
  /* Borrowed host descriptors (stdio) stay open for the host; only the guest loses them.
   * Captured output stays readable through the ctx. A failing close(2) still frees the
   * descriptor on Linux, so the entry goes either way. */
  int err = 0;
  if (e->kind == ZH_WASI_FD_HOST && e->owns_host_fd) {
    if (close(e->host_fd) != 0 && errno != EINTR)
      err = errno;
    e->owns_host_fd = false;
  }
  zh_wasi_fd_release(e);
  return zh_wasi_errno_from_host(err);
}

/* Stdio and sockets are streams, never seekable, even when the host's stdout happens to
 * be redirected to a file; files and directories from path_open are not. */
static uint16_t host_lseek(zh_wasi_fd *e, int64_t offset, int whence, uint64_t *pos) {
  if (e->stream || e->kind != ZH_WASI_FD_HOST)
    return ZH_WASI_ESPIPE;
  off_t r = lseek(e->host_fd, (off_t)offset, whence);
  if (r < 0)
    return zh_wasi_errno_from_host(errno);
  *pos = (uint64_t)r;
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_fd_seek(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, int64_t offset,
                         uint32_t whence, uint32_t newoffset_ptr) {
  zh_wasi_fd *e = fd_get(ctx, fd);
  if (e == NULL)
    return ZH_WASI_EBADF;
  if (e->stream || e->kind != ZH_WASI_FD_HOST)
    return ZH_WASI_ESPIPE;
  /* Asking for the position alone needs only FD_TELL (witx). */
  uint64_t need =
      whence == ZH_WASI_WHENCE_CUR && offset == 0
          ? (e->rights_base & ZH_WASI_RIGHT_FD_SEEK ? ZH_WASI_RIGHT_FD_SEEK : ZH_WASI_RIGHT_FD_TELL)
          : ZH_WASI_RIGHT_FD_SEEK;
  if ((e->rights_base & need) != need)
    return ZH_WASI_ENOTCAPABLE;
  if (whence > ZH_WASI_WHENCE_END)
    return ZH_WASI_EINVAL;
  if (!zh_wasi_span_ok(m, newoffset_ptr, 8))
    return ZH_WASI_EFAULT;
  static const int host_whence[3] = {SEEK_SET, SEEK_CUR, SEEK_END};
  uint64_t pos = 0;
  uint16_t r = host_lseek(e, offset, host_whence[whence], &pos);
  if (r == ZH_WASI_ESUCCESS)
    zh_wasi_st64(m->data + newoffset_ptr, pos);
  return r;
}

uint16_t zh_wasi_fd_tell(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd, uint32_t offset_ptr) {
  zh_wasi_fd *e = fd_get(ctx, fd);
  if (e == NULL)
    return ZH_WASI_EBADF;
  if (e->stream || e->kind != ZH_WASI_FD_HOST)
    return ZH_WASI_ESPIPE;
  if (!(e->rights_base & ZH_WASI_RIGHT_FD_TELL))
    return ZH_WASI_ENOTCAPABLE;
  if (!zh_wasi_span_ok(m, offset_ptr, 8))
    return ZH_WASI_EFAULT;
  uint64_t pos = 0;
  uint16_t r = host_lseek(e, 0, SEEK_CUR, &pos);
  if (r == ZH_WASI_ESUCCESS)
    zh_wasi_st64(m->data + offset_ptr, pos);
  return r;
}

uint16_t zh_wasi_fd_fdstat_get(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                               uint32_t stat_ptr) {
  zh_wasi_fd *e = fd_get(ctx, fd);
  if (e == NULL)
    return ZH_WASI_EBADF;
  if (!zh_wasi_span_ok(m, stat_ptr, ZH_WASI_FDSTAT_SIZE))
    return ZH_WASI_EFAULT;
  uint8_t *p = m->data + stat_ptr;
  memset(p, 0, ZH_WASI_FDSTAT_SIZE); /* padding bytes too: no stale guest data */
  p[0] = e->filetype;
  zh_wasi_st16(p + 2, e->fdflags);
  zh_wasi_st64(p + 8, e->rights_base);
  zh_wasi_st64(p + 16, e->rights_inheriting);
  return ZH_WASI_ESUCCESS;
}

/* Any fd that is not a preopen answers BADF: that is how the guest's libc learns where
 * its scan of preopens ends. */
uint16_t zh_wasi_fd_prestat_get(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                uint32_t prestat_ptr) {
  zh_wasi_fd *e = fd_get(ctx, fd);
  if (e == NULL || e->preopen == NULL)
    return ZH_WASI_EBADF;
  if (!zh_wasi_span_ok(m, prestat_ptr, ZH_WASI_PRESTAT_SIZE))
    return ZH_WASI_EFAULT;
  uint8_t *p = m->data + prestat_ptr;
  memset(p, 0, ZH_WASI_PRESTAT_SIZE);
  p[0] = 0; /* preopentype dir */
  zh_wasi_st32(p + 4, (uint32_t)strlen(e->preopen));
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_fd_prestat_dir_name(zh_wasi_ctx *ctx, const zh_wasi_mem *m, uint32_t fd,
                                     uint32_t path, uint32_t path_len) {
  zh_wasi_fd *e = fd_get(ctx, fd);
  if (e == NULL || e->preopen == NULL)
    return ZH_WASI_EBADF;
  size_t len = strlen(e->preopen);
  if (path_len < len)
    return ZH_WASI_ENAMETOOLONG;
  if (!zh_wasi_span_ok(m, path, len))
    return ZH_WASI_EFAULT;
  memcpy(m->data + path, e->preopen, len); /* no NUL: the guest asked for exactly len */
  return ZH_WASI_ESUCCESS;
}
