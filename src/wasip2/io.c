/* wasi:io/error and wasi:io/streams.
 *
 * Output streams write synchronously: when `write` returns, the bytes are with the host
 * descriptor, the capture buffer or the HTTP sink, so `flush` has nothing left to do and
 * `subscribe` is always ready. The check-write contract is still enforced: `write` may not
 * exceed what the last check-write permitted (the guest traps otherwise), and the blocking
 * write-and-flush calls take at most 4096 bytes, as the interface says.
 *
 * An operation that fails answers last-operation-failed(error) once; the stream is closed
 * from then on and answers `closed`. */
#include "wasi/wasi_internal.h"
#include "wasip2/wasip2_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_BUDGET 65536u /* what check-write offers at a time */
#define BLOCKING_MAX 4096u  /* blocking-write-and-flush and friends */
#define READ_MAX (1u << 20) /* most bytes one read returns */

/* ---- wasi:io/error ---- */

typedef struct wp2_error {
  wp2_obj base;
  char *msg;
  int fs_code; /* the filesystem error-code behind it, or -1 */
} wp2_error;

static void error_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  free(((wp2_error *)o)->msg);
  free(o);
}

static zh_error *error_new(zh_wasip2_ctx *cx, const char *msg, int fs_code, uint64_t *rep) {
  wp2_error *e = wp2_zalloc(sizeof *e);
  if (!e || !(e->msg = strdup(msg))) {
    free(e);
    return wp2_oom();
  }
  e->base = (wp2_obj){WP2_ERROR, error_free};
  e->fs_code = fs_code;
  return wp2_insert(cx, &e->base, rep);
}

zh_error *wp2_error_new(zh_wasip2_ctx *cx, const char *msg, uint64_t *rep) {
  return error_new(cx, msg, -1, rep);
}

int wp2_error_fs_code(const zh_wasip2_ctx *cx, uint64_t rep) {
  const wp2_error *e = (const wp2_error *)wp2_get(cx, rep, WP2_ERROR);
  return e ? e->fs_code : -1;
}

static zh_error *error_to_debug_string(zh_wasip2_ctx *cx, zh_val *args, size_t nargs,
                                       zh_val *result) {
  (void)nargs;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_ERROR, "error.to-debug-string", &o);
  return err ? err : zh_val_string_cstr(result, ((wp2_error *)o)->msg);
}

/* stream-error: case 0 last-operation-failed(own<error>), case 1 closed. */
zh_error *wp2_stream_failed(zh_wasip2_ctx *cx, zh_val *result, const char *msg, int fs_code) {
  uint64_t rep = 0;
  zh_error *err = error_new(cx, msg, fs_code, &rep);
  if (err)
    return err;
  zh_val own = zh_val_own(rep), se;
  if ((err = zh_val_variant(&se, 0, &own))) {
    wp2_remove(cx, rep);
    return err;
  }
  return zh_val_err(result, &se);
}

zh_error *wp2_stream_closed(zh_val *result) {
  zh_val se;
  zh_error *err = zh_val_variant(&se, 1, NULL);
  return err ? err : zh_val_err(result, &se);
}

/* ---- stream objects ---- */

static void stream_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  wp2_stream *s = (wp2_stream *)o;
  if (s->hooks && s->hooks->dropped)
    s->hooks->dropped(cx, s);
  if (s->owns_fd && s->fd >= 0)
    close(s->fd);
  free(s->fail_msg);
  wp2_obj_free(cx, s);
}

static zh_error *stream_new(zh_wasip2_ctx *cx, wp2_kind k, wp2_stream_kind kind, int fd, bool owns,
                            uint64_t *rep, wp2_stream **out) {
  wp2_stream *s = wp2_obj_zalloc(cx, sizeof *s);
  if (!s) {
    if (owns && fd >= 0)
      close(fd);
    return wp2_oom();
  }
  s->base = (wp2_obj){k, stream_free};
  s->kind = kind;
  s->fd = fd;
  s->owns_fd = owns;
  if (fd >= 0) {
    struct stat st;
    if (fstat(fd, &st) == 0) {
      s->positioned = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
      s->may_sigpipe = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
    }
  }
  if (out)
    *out = s;
  return wp2_insert(cx, &s->base, rep);
}

zh_error *wp2_input_new(zh_wasip2_ctx *cx, wp2_stream_kind kind, int fd, bool owns, uint64_t *rep,
                        wp2_stream **out) {
  return stream_new(cx, WP2_INPUT, kind, fd, owns, rep, out);
}

zh_error *wp2_output_new(zh_wasip2_ctx *cx, wp2_stream_kind kind, int fd, bool owns, uint64_t *rep,
                         wp2_stream **out) {
  return stream_new(cx, WP2_OUTPUT, kind, fd, owns, rep, out);
}

/* ---- input ---- */

bool wp2_stream_ready(zh_wasip2_ctx *cx, wp2_stream *s) {
  if (s->closed)
    return true;
  switch (s->kind) {
  case WP2_S_FD: {
    if (s->positioned)
      return true;
    struct pollfd p = {s->fd, POLLIN, 0};
    return poll(&p, 1, 0) != 0;
  }
  case WP2_S_HOOK:
    return s->hooks->ready ? s->hooks->ready(cx, s) : true;
  default:
    return true;
  }
}

static bool ready_cb(zh_wasip2_ctx *cx, void *arg) { return wp2_stream_ready(cx, arg); }

/* Reads up to cap bytes without waiting; *eof at the end of the stream. */
static zh_error *stream_read(zh_wasip2_ctx *cx, wp2_stream *s, uint8_t *buf, size_t cap,
                             size_t *got, bool *eof, int *fail_errno) {
  *got = 0;
  *eof = false;
  *fail_errno = 0;
  switch (s->kind) {
  case WP2_S_NULL:
  case WP2_S_CAPTURE:
    *eof = true;
    return NULL;
  case WP2_S_MEM: {
    size_t left = s->mem_len - *s->mem_pos;
    size_t n = left < cap ? left : cap;
    if (n) /* an empty buffer may have no memory at all */
      memcpy(buf, s->mem + *s->mem_pos, n);
    *s->mem_pos += n;
    *got = n;
    *eof = n == 0;
    return NULL;
  }
  case WP2_S_FD: {
    if (!wp2_stream_ready(cx, s))
      return NULL;
    ssize_t r;
    do
      r = s->positioned ? pread(s->fd, buf, cap, (off_t)s->offset) : read(s->fd, buf, cap);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        *fail_errno = errno;
      return NULL;
    }
    s->offset += (uint64_t)r;
    *got = (size_t)r;
    *eof = r == 0;
    return NULL;
  }
  case WP2_S_HOOK:
    return s->hooks->read(cx, s, buf, cap, got, eof, false);
  }
  return NULL;
}

/* The context's read buffer, grown to cap (it only grows: SDKs ask for the same size each
 * time), or a block of its own while it is in use. read_release gives back either. */
static uint8_t *read_buffer(zh_wasip2_ctx *cx, size_t cap) {
  if (cx->read_busy)
    return malloc(cap ? cap : 1);
  if (cap > cx->read_cap || !cx->read_buf) {
    uint8_t *b = malloc(cap ? cap : 1);
    if (!b)
      return NULL;
    free(cx->read_buf);
    cx->read_buf = b;
    cx->read_cap = cap;
  }
  cx->read_busy = true;
  return cx->read_buf;
}

static void read_release(zh_wasip2_ctx *cx, uint8_t *buf) {
  if (buf == cx->read_buf)
    cx->read_busy = false;
  else
    free(buf);
}

/* read / blocking-read / skip / blocking-skip share this: `keep` returns the bytes. */
static zh_error *input_op(zh_wasip2_ctx *cx, zh_val *args, zh_val *result, bool blocking, bool keep,
                          const char *what) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_INPUT, what, &o);
  if (err)
    return err;
  wp2_stream *s = (wp2_stream *)o;
  if (s->closed)
    return wp2_stream_closed(result);
  uint64_t want = args[1].of.u;
  size_t cap = want < READ_MAX ? (size_t)want : READ_MAX;
  uint8_t *buf = read_buffer(cx, cap);
  if (!buf)
    return wp2_oom();
  size_t got = 0;
  bool eof = false;
  int fail = 0;
  if (cap) {
    for (;;) {
      if (s->kind == WP2_S_HOOK && blocking)
        err = s->hooks->read(cx, s, buf, cap, &got, &eof, true);
      else
        err = stream_read(cx, s, buf, cap, &got, &eof, &fail);
      if (err || got || eof || fail || s->fail_msg || !blocking)
        break;
      if ((err = wp2_block_until(cx, ready_cb, s)))
        break;
    }
  }
  if (err) {
    read_release(cx, buf);
    return err;
  }
  if (fail || s->fail_msg) {
    read_release(cx, buf);
    s->closed = true;
    return wp2_stream_failed(cx, result, s->fail_msg ? s->fail_msg : strerror(fail), -1);
  }
  if (eof && got == 0) {
    read_release(cx, buf);
    s->closed = true;
    return wp2_stream_closed(result);
  }
  zh_val v;
  if (keep)
    err = wp2_bytes(&v, buf, got);
  else
    v = zh_val_u64(got);
  read_release(cx, buf);
  return err ? err : zh_val_ok(result, &v);
}

static zh_error *in_read(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return input_op(cx, a, r, false, true, "input-stream.read");
}
static zh_error *in_blocking_read(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return input_op(cx, a, r, true, true, "input-stream.blocking-read");
}
static zh_error *in_skip(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return input_op(cx, a, r, false, false, "input-stream.skip");
}
static zh_error *in_blocking_skip(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return input_op(cx, a, r, true, false, "input-stream.blocking-skip");
}

static zh_error *in_subscribe(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_INPUT, "input-stream.subscribe", &o);
  return err ? err : wp2_pollable_new(cx, WP2_P_INPUT, args[0].of.res.rep, 0, result);
}

/* ---- output ---- */

/* Writes all of data; *fail_errno / *fail_msg say why not. */
static zh_error *stream_write(zh_wasip2_ctx *cx, wp2_stream *s, const uint8_t *data, size_t len,
                              int *fail_errno, const char **fail_msg) {
  *fail_errno = 0;
  *fail_msg = NULL;
  switch (s->kind) {
  case WP2_S_NULL:
  case WP2_S_MEM:
    return NULL;
  case WP2_S_CAPTURE: {
    wp2_buf *b = &cx->captured[s->slot];
    if (cx->capture_limit && b->len + len > cx->capture_limit)
      *fail_msg = "capture limit reached";
    else if (!wp2_buf_append(b, data, len))
      return wp2_oom();
    return NULL;
  }
  case WP2_S_FD: {
    zh_wasi_sigpipe_guard guard;
    memset(&guard, 0, sizeof guard);
    if (s->may_sigpipe)
      zh_wasi_sigpipe_block(&guard);
    size_t off = 0;
    int e = 0;
    while (off < len) {
      ssize_t w = s->positioned && !s->append
                      ? pwrite(s->fd, data + off, len - off, (off_t)(s->offset + off))
                      : write(s->fd, data + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        struct pollfd p = {s->fd, POLLOUT, 0};
        poll(&p, 1, 10);
        continue;
      }
      if (w <= 0) {
        e = w < 0 ? errno : EIO;
        break;
      }
      off += (size_t)w;
    }
    if (s->may_sigpipe)
      zh_wasi_sigpipe_unblock(&guard, e == EPIPE);
    s->offset += off;
    *fail_errno = e;
    return NULL;
  }
  case WP2_S_HOOK:
    return s->hooks->write(cx, s, data, len);
  }
  return NULL;
}

static zh_error *output_arg(zh_wasip2_ctx *cx, zh_val *args, const char *what, wp2_stream **s) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, &args[0], WP2_OUTPUT, what, &o);
  *s = (wp2_stream *)o;
  return err;
}

/* Writes and turns a failure into last-operation-failed. */
static zh_error *write_answer(zh_wasip2_ctx *cx, wp2_stream *s, const uint8_t *data, size_t len,
                              zh_val *result) {
  int fail;
  const char *msg;
  zh_error *err = stream_write(cx, s, data, len, &fail, &msg);
  if (err)
    return err;
  if (s->closed)
    return wp2_stream_closed(result); /* the sink went away during the write */
  if (fail || msg) {
    s->closed = true;
    return wp2_stream_failed(cx, result, msg ? msg : strerror(fail), -1);
  }
  return zh_val_ok(result, NULL);
}

static zh_error *out_check_write(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_stream *s;
  zh_error *err = output_arg(cx, args, "output-stream.check-write", &s);
  if (err)
    return err;
  if (s->closed)
    return wp2_stream_closed(result);
  s->permit = WRITE_BUDGET;
  zh_val v = zh_val_u64(s->permit);
  return zh_val_ok(result, &v);
}

static const uint8_t *list_bytes(const zh_val *v, size_t *len) {
  *len = zh_val_list_len(v);
  const void *raw = zh_val_list_raw_data(v);
  return raw ? raw : (const uint8_t *)"";
}

static zh_error *out_write(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_stream *s;
  zh_error *err = output_arg(cx, args, "output-stream.write", &s);
  if (err)
    return err;
  size_t len;
  const uint8_t *data = list_bytes(&args[1], &len);
  if (s->closed)
    return wp2_stream_closed(result);
  if (len > s->permit)
    return zh_error_new(ZH_ERR_TRAP,
                        "wasip2: output-stream.write of %zu bytes exceeds the %llu bytes "
                        "check-write permitted",
                        len, (unsigned long long)s->permit);
  s->permit -= len;
  return write_answer(cx, s, data, len, result);
}

static zh_error *out_blocking_write_and_flush(zh_wasip2_ctx *cx, zh_val *args, size_t n,
                                              zh_val *result) {
  (void)n;
  wp2_stream *s;
  zh_error *err = output_arg(cx, args, "output-stream.blocking-write-and-flush", &s);
  if (err)
    return err;
  size_t len;
  const uint8_t *data = list_bytes(&args[1], &len);
  if (len > BLOCKING_MAX)
    return zh_error_new(ZH_ERR_TRAP,
                        "wasip2: output-stream.blocking-write-and-flush of %zu bytes (at most "
                        "4096 allowed)",
                        len);
  if (s->closed)
    return wp2_stream_closed(result);
  return write_answer(cx, s, data, len, result);
}

static zh_error *out_flush(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_stream *s;
  zh_error *err = output_arg(cx, args, "output-stream.flush", &s);
  if (err)
    return err;
  return s->closed ? wp2_stream_closed(result) : zh_val_ok(result, NULL);
}

static zh_error *out_subscribe(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_stream *s;
  zh_error *err = output_arg(cx, args, "output-stream.subscribe", &s);
  return err ? err : wp2_pollable_new(cx, WP2_P_READY, 0, 0, result);
}

static zh_error *zeroes(zh_wasip2_ctx *cx, zh_val *args, zh_val *result, bool blocking) {
  wp2_stream *s;
  zh_error *err = output_arg(cx, args, "output-stream.write-zeroes", &s);
  if (err)
    return err;
  uint64_t len = args[1].of.u;
  if (blocking && len > BLOCKING_MAX)
    return zh_error_new(ZH_ERR_TRAP,
                        "wasip2: blocking-write-zeroes-and-flush of %llu bytes "
                        "(at most 4096 allowed)",
                        (unsigned long long)len);
  if (s->closed)
    return wp2_stream_closed(result);
  if (!blocking) {
    if (len > s->permit)
      return zh_error_new(ZH_ERR_TRAP,
                          "wasip2: output-stream.write-zeroes of %llu bytes exceeds the %llu "
                          "bytes check-write permitted",
                          (unsigned long long)len, (unsigned long long)s->permit);
    s->permit -= len;
  }
  uint8_t *z = calloc(1, len ? (size_t)len : 1);
  if (!z)
    return wp2_oom();
  err = write_answer(cx, s, z, (size_t)len, result);
  free(z);
  return err;
}

static zh_error *out_write_zeroes(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return zeroes(cx, a, r, false);
}
static zh_error *out_blocking_write_zeroes(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return zeroes(cx, a, r, true);
}

static zh_error *splice(zh_wasip2_ctx *cx, zh_val *args, zh_val *result, bool blocking) {
  wp2_stream *out;
  wp2_obj *o;
  zh_error *err = output_arg(cx, args, "output-stream.splice", &out);
  if (!err)
    err = wp2_arg(cx, &args[1], WP2_INPUT, "output-stream.splice", &o);
  if (err)
    return err;
  wp2_stream *in = (wp2_stream *)o;
  if (out->closed || in->closed)
    return wp2_stream_closed(result);
  uint64_t want = args[2].of.u;
  size_t cap = want < WRITE_BUDGET ? (size_t)want : WRITE_BUDGET;
  uint8_t *buf = malloc(cap ? cap : 1);
  if (!buf)
    return wp2_oom();
  size_t got = 0;
  bool eof = false;
  int fail = 0;
  while (cap) {
    if (in->kind == WP2_S_HOOK && blocking)
      err = in->hooks->read(cx, in, buf, cap, &got, &eof, true);
    else
      err = stream_read(cx, in, buf, cap, &got, &eof, &fail);
    if (err || got || eof || fail || in->fail_msg || !blocking)
      break;
    if ((err = wp2_block_until(cx, ready_cb, in)))
      break;
  }
  if (!err && (fail || in->fail_msg)) {
    in->closed = true;
    err = wp2_stream_failed(cx, result, in->fail_msg ? in->fail_msg : strerror(fail), -1);
  } else if (!err && eof && got == 0) {
    in->closed = true;
    err = wp2_stream_closed(result);
  } else if (!err) {
    zh_val unit;
    err = write_answer(cx, out, buf, got, &unit);
    if (!err && zh_val_case(&unit) == 0) {
      zh_val_drop(&unit);
      zh_val v = zh_val_u64(got);
      err = zh_val_ok(result, &v);
    } else if (!err) {
      *result = unit; /* the write's error */
    }
  }
  free(buf);
  return err;
}

static zh_error *out_splice(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return splice(cx, a, r, false);
}
static zh_error *out_blocking_splice(zh_wasip2_ctx *cx, zh_val *a, size_t n, zh_val *r) {
  (void)n;
  return splice(cx, a, r, true);
}

#define ST "wasi:io/streams"
static const zh_wasip2_entry entries[] = {
    {"wasi:io/error", "[method]error.to-debug-string", error_to_debug_string},
    {ST, "[method]input-stream.read", in_read},
    {ST, "[method]input-stream.blocking-read", in_blocking_read},
    {ST, "[method]input-stream.skip", in_skip},
    {ST, "[method]input-stream.blocking-skip", in_blocking_skip},
    {ST, "[method]input-stream.subscribe", in_subscribe},
    {ST, "[method]output-stream.check-write", out_check_write},
    {ST, "[method]output-stream.write", out_write},
    {ST, "[method]output-stream.blocking-write-and-flush", out_blocking_write_and_flush},
    {ST, "[method]output-stream.flush", out_flush},
    {ST, "[method]output-stream.blocking-flush", out_flush},
    {ST, "[method]output-stream.subscribe", out_subscribe},
    {ST, "[method]output-stream.write-zeroes", out_write_zeroes},
    {ST, "[method]output-stream.blocking-write-zeroes-and-flush", out_blocking_write_zeroes},
    {ST, "[method]output-stream.splice", out_splice},
    {ST, "[method]output-stream.blocking-splice", out_blocking_splice},
};

const wp2_table wp2_io_table = {entries, sizeof entries / sizeof entries[0], NULL, 0};
