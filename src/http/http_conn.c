/* One connection, served by a worker thread while it has work: read a head, check it, run
 * the handler, let the handler pull the body (zh_http_request_read), finish or repair the
 * response, and go round again while keep-alive holds and the next request's bytes are
 * there. A connection with nothing buffered and nothing to read goes back to the server,
 * which parks it (http_server.c) until it is readable or its idle timeout passes.
 *
 * Every wait a worker makes has a deadline: the header timeout from a request's first byte
 * to the end of its head (408), and the request's deadline for body reads and response
 * writes. The socket is non-blocking; waits are poll() on it and on the server's stop pipe.
 * What the handler is told about a broken request never depends on how the bytes were
 * split into reads. */
#include "http/http_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

bool zh_http_conn_init(zh_http_conn *c, zh_http_server *server) {
  memset(c, 0, sizeof *c);
  c->server = server;
  c->fd = -1;
  c->in_cap = server->config.max_header_bytes + ZH_HTTP_BODY_BUFFER;
  c->in = malloc(c->in_cap);
  c->headers = calloc(server->config.max_headers, sizeof *c->headers);
  c->out_cap = 1024;
  c->out = malloc(c->out_cap);
  c->body = malloc(ZH_HTTP_BODY_BUFFER);
  if (!c->in || !c->headers || !c->out || !c->body) {
    zh_http_conn_release(c);
    return false;
  }
  return true;
}

void zh_http_conn_release(zh_http_conn *c) {
  free(c->in);
  free(c->headers);
  free(c->out);
  free(c->body);
  c->in = c->out = c->body = NULL;
  c->headers = NULL;
}

/* Waits until fd is readable: 1 readable, 0 deadline passed, -1 the server is stopping
 * (only when watch_stop), -2 poll failed. */
static int wait_readable(zh_http_conn *c, uint64_t deadline_ns, bool watch_stop) {
  for (;;) {
    uint64_t now = zh_http_now_ns();
    if (now >= deadline_ns)
      return 0;
    uint64_t ms = (deadline_ns - now + 999999) / 1000000;
    struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
                          {.fd = c->server->stop_pipe[0], .events = POLLIN}};
    int r = poll(p, watch_stop ? 2 : 1, ms > 60000 ? 60000 : (int)ms);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -2;
    }
    if (r == 0)
      continue;
    if (p[0].revents)
      return 1;
    if (watch_stop && p[1].revents)
      return -1;
  }
}

/* Reads what is there into buf[0..cap): > 0 bytes, 0 the peer closed, -1 error or stop,
 * -2 the deadline passed, -3 nothing there (only with deadline_ns 0: do not wait). */
static ssize_t recv_some(zh_http_conn *c, void *buf, size_t cap, uint64_t deadline_ns,
                         bool watch_stop) {
  for (;;) {
    ssize_t n = recv(c->fd, buf, cap, 0);
    if (n >= 0) {
      c->drained = (size_t)n < cap;
      return n;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return -1;
    c->drained = true;
    if (deadline_ns == 0)
      return -3;
    int w = wait_readable(c, deadline_ns, watch_stop);
    if (w == 0)
      return -2;
    if (w < 0)
      return -1;
  }
}

/* Whether buf[from..len) completes a head: a line feed followed by an empty line. */
static bool head_complete(const char *buf, size_t len, size_t from) {
  for (size_t i = from; i < len; i++) {
    if (buf[i] != '\n')
      continue;
    if (i + 1 < len && buf[i + 1] == '\n')
      return true;
    if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
      return true;
  }
  return false;
}

/* HEAD_ANSWERED: an error response went out and the client may still be sending.
 * HEAD_IDLE: nothing buffered and nothing to read: the connection can be parked. */
enum head_result { HEAD_OK, HEAD_CLOSE, HEAD_ANSWERED, HEAD_IDLE };

/* Reads and parses the next head into c->in[0..head_len). Answers errors itself. */
static enum head_result read_head(zh_http_conn *c, zh_http_head *head) {
  const zh_http_config *cfg = &c->server->config;
  zh_http_limits limits = {cfg->max_headers, cfg->max_url_bytes};
  size_t max = cfg->max_header_bytes;
  uint64_t head_deadline = 0;
  size_t scanned = 0;
  head->headers = c->headers;
  for (;;) {
    size_t avail = c->in_end < max ? c->in_end : max;
    if (avail > 0 && head_deadline == 0)
      head_deadline = zh_http_now_ns() + (uint64_t)cfg->header_timeout_ms * 1000000u;
    if (avail > 0 && (head_complete(c->in, avail, scanned) || avail == max)) {
      zh_http_parse_error perr;
      long r = zh_http_parse_head(c->in, avail, &limits, head, &perr);
      if (r > 0) {
        c->head_len = (size_t)r;
        return HEAD_OK;
      }
      if (r == ZH_HTTP_BAD) {
        size_t line, col;
        zh_http_line_col(c->in, perr.offset, &line, &col);
        char detail[160];
        snprintf(detail, sizeof detail, "%zu:%zu: %s", line, col, perr.reason);
        zh_http_send_simple(c, perr.status, detail, false);
        return HEAD_ANSWERED;
      }
      if (avail == max) {
        char detail[96];
        snprintf(detail, sizeof detail, "request head larger than %zu bytes", max);
        zh_http_send_simple(c, 431, detail, false);
        return HEAD_ANSWERED;
      }
    }
    scanned = avail > 2 ? avail - 2 : 0;
    bool idle = avail == 0;
    /* Between requests nothing is waited for: the server parks the connection. */
    ssize_t n = recv_some(c, c->in + c->in_end, max - c->in_end, idle ? 0 : head_deadline, false);
    if (n == -3)
      return HEAD_IDLE;
    if (n == -2 && !idle) {
      zh_http_send_simple(c, 408, "request head not received in time", false);
      return HEAD_ANSWERED;
    }
    if (n <= 0)
      return HEAD_CLOSE;
    c->in_end += (size_t)n;
  }
}

static bool name_is(const zh_http_header *h, const char *name) {
  size_t n = strlen(name);
  return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

static bool has_token(const char *v, size_t len, const char *token) {
  size_t tn = strlen(token);
  const char *p = v, *end = v + len;
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
      p++;
    const char *s = p;
    while (p < end && *p != ',')
      p++;
    const char *e = p;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    if ((size_t)(e - s) == tn && strncasecmp(s, token, tn) == 0)
      return true;
  }
  return false;
}

static bool method_known(const char *m, size_t n) {
  static const char *const known[] = {"GET",    "HEAD",  "POST",    "PUT",
                                      "DELETE", "PATCH", "OPTIONS", "TRACE"};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
    if (strlen(known[i]) == n && memcmp(known[i], m, n) == 0)
      return true;
  }
  return false;
}

/* Checks the head's semantics and fills in req; 0 or the status to answer with, and a
 * detail in *why. */
static int setup_request(zh_http_conn *c, const zh_http_head *head, zh_http_request *req,
                         const char **why) {
  const zh_http_config *cfg = &c->server->config;
  memset(req, 0, sizeof *req);
  req->conn = c;
  req->info.method = head->method;
  req->info.method_len = head->method_len;
  req->info.target = head->target;
  req->info.target_len = head->target_len;
  req->info.scheme = "http";
  req->info.authority = "";
  req->info.headers = head->headers;
  req->info.nheaders = head->nheaders;
  req->info.client = c->client;
  req->info.version_minor = head->version_minor > 0 ? 1 : 0; /* 1.2 and on read as 1.1 */
  req->keep_alive = req->info.version_minor == 1;
  req->is_head = head->method_len == 4 && memcmp(head->method, "HEAD", 4) == 0;
  if (!method_known(head->method, head->method_len))
    return *why = "method not implemented", 501;

  size_t hosts = 0;
  bool has_length = false, has_te = false;
  uint64_t length = 0;
  for (size_t i = 0; i < head->nheaders; i++) {
    const zh_http_header *h = &head->headers[i];
    if (name_is(h, "host")) {
      hosts++;
      req->info.authority = h->value;
      req->info.authority_len = h->value_len;
    } else if (name_is(h, "content-length")) {
      uint64_t v = 0;
      if (h->value_len == 0 || h->value_len > 19)
        return *why = "bad Content-Length", 400;
      for (size_t k = 0; k < h->value_len; k++) {
        if (h->value[k] < '0' || h->value[k] > '9')
          return *why = "bad Content-Length", 400;
        v = v * 10 + (uint64_t)(h->value[k] - '0');
      }
      if (has_length && v != length)
        return *why = "conflicting Content-Length fields", 400;
      has_length = true;
      length = v;
    } else if (name_is(h, "transfer-encoding")) {
      /* Only chunked alone: any other coding would have to be undone here (RFC 9112 6.1). */
      if (has_te || !(h->value_len == 7 && strncasecmp(h->value, "chunked", 7) == 0))
        return *why = "transfer coding not implemented", 501;
      has_te = true;
    } else if (name_is(h, "connection")) {
      if (has_token(h->value, h->value_len, "close"))
        req->keep_alive = false;
      else if (has_token(h->value, h->value_len, "keep-alive"))
        req->keep_alive = true;
    } else if (name_is(h, "expect")) {
      if (!(h->value_len == 12 && strncasecmp(h->value, "100-continue", 12) == 0))
        return *why = "only 100-continue is supported", 417;
      req->expect_continue = true;
    }
  }
  if (req->info.version_minor == 1 && hosts != 1)
    return *why = hosts ? "more than one Host field" : "missing Host field", 400;
  if (has_te && has_length)
    return *why = "both Content-Length and Transfer-Encoding", 400;
  if (has_te && req->info.version_minor == 0)
    return *why = "Transfer-Encoding in an HTTP/1.0 request", 400;
  if (has_length && length > cfg->max_body_bytes)
    return *why = "request body too large", 413;
  if (has_te) {
    req->body_kind = ZH_HTTP_BODY_CHUNKED;
    req->chunked.max_trailer = cfg->max_header_bytes;
  } else if (has_length && length > 0) {
    req->body_kind = ZH_HTTP_BODY_LENGTH;
    req->body_left = length;
  } else {
    req->body_eof = true;
  }
  uint64_t now = zh_http_now_ns();
  req->info.deadline_ns = now + (uint64_t)cfg->request_timeout_ms * 1000000u;
  /* A worker counts as held from its current request on, not from when it took the
   * connection: one busy keep-alive connection is not a slow handler. */
  if (c->busy_since)
    atomic_store_explicit(c->busy_since, now, memory_order_relaxed);
  return 0;
}

const zh_http_request_info *zh_http_request_get_info(const zh_http_request *req) {
  return &req->info;
}

uint64_t zh_http_request_time_left_ns(const zh_http_request *req) {
  uint64_t now = zh_http_now_ns();
  return now >= req->info.deadline_ns ? 0 : req->info.deadline_ns - now;
}

int zh_http_request_failed_status(const zh_http_request *req) { return req->failed_status; }

static zh_error *body_failed(zh_http_request *req, int status, zh_status code, const char *why) {
  req->failed_status = status;
  req->close_after = true;
  if (code == ZH_ERR_MALFORMED)
    return zh_error_new(code,
                        "http request body from %s: chunked framing at body byte %" PRIu64 ": %s",
                        req->conn->client, req->chunked.consumed, why);
  return zh_error_new(code, "http request body from %s: %s", req->conn->client, why);
}

static zh_error *recv_failed(zh_http_request *req, ssize_t r) {
  if (r == -2)
    return body_failed(req, 408, ZH_ERR_INTERRUPTED, "the request deadline passed");
  return body_failed(req, 400, ZH_ERR_IO,
                     r == 0 ? "the client closed the connection before the body ended"
                            : "the connection failed");
}

static zh_error *read_chunked(zh_http_request *req, char *buf, size_t cap, size_t *got, bool *eof,
                              uint64_t deadline) {
  zh_http_conn *c = req->conn;
  const zh_http_config *cfg = &c->server->config;
  for (;;) {
    if (c->in_start == c->in_end) {
      c->in_start = c->in_end = c->head_len;
      ssize_t n = recv_some(c, c->in + c->in_end, c->in_cap - c->in_end, deadline, false);
      if (n == -3)
        return NULL; /* nothing yet, and not waiting */
      if (n <= 0)
        return recv_failed(req, n);
      c->in_end += (size_t)n;
    }
    size_t used, len;
    const char *data, *why = NULL;
    int r = zh_http_chunked_next(&req->chunked, c->in + c->in_start, c->in_end - c->in_start, cap,
                                 &used, &data, &len, &why);
    c->in_start += used;
    if (r == ZH_HTTP_CHUNK_BAD)
      return body_failed(req, 400, ZH_ERR_MALFORMED, why);
    if (r == ZH_HTTP_CHUNK_END) {
      req->body_eof = true;
      *eof = true;
      return NULL;
    }
    if (r == ZH_HTTP_CHUNK_DATA) {
      req->body_read += len;
      if (req->body_read > cfg->max_body_bytes) {
        char why_big[80];
        snprintf(why_big, sizeof why_big, "body larger than %" PRIu64 " bytes",
                 cfg->max_body_bytes);
        return body_failed(req, 413, ZH_ERR_RESOURCE, why_big);
      }
      memcpy(buf, data, len);
      *got = len;
      return NULL;
    }
  }
}

/* Body bytes as in zh_http_request_read; `wait` false returns at once with what is there. */
static zh_error *body_read(zh_http_request *req, void *buf, size_t cap, size_t *got, bool *eof,
                           bool wait) {
  *got = 0;
  *eof = false;
  if (req->failed_status)
    return zh_error_new(ZH_ERR_USAGE, "http request body: already failed (status %d)",
                        req->failed_status);
  if (req->body_eof) {
    *eof = true;
    return NULL;
  }
  if (cap == 0)
    return NULL;
  if (!buf)
    return zh_error_new(ZH_ERR_USAGE, "http request body: no buffer");
  zh_http_conn *c = req->conn;
  if (req->expect_continue && !req->continue_sent && req->state == ZH_HTTP_RESP_NONE) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct iovec iov = {(void *)cont, sizeof cont - 1};
    int r = zh_http_send_all(c->fd, &iov, 1, req->info.deadline_ns);
    if (r)
      return recv_failed(req, r == -2 ? -2 : -1);
    req->continue_sent = true;
  }
  uint64_t deadline = wait ? req->info.deadline_ns : 0;
  if (req->body_kind == ZH_HTTP_BODY_CHUNKED)
    return read_chunked(req, buf, cap, got, eof, deadline);

  size_t want = cap < req->body_left ? cap : (size_t)req->body_left;
  size_t buffered = c->in_end - c->in_start;
  if (buffered > 0) {
    size_t n = want < buffered ? want : buffered;
    memcpy(buf, c->in + c->in_start, n);
    c->in_start += n;
    *got = n;
  } else {
    /* Straight into the caller's buffer, never past this body. */
    ssize_t n = recv_some(c, buf, want, deadline, false);
    if (n == -3)
      return NULL;
    if (n <= 0)
      return recv_failed(req, n);
    *got = (size_t)n;
  }
  req->body_left -= *got;
  req->body_read += *got;
  if (req->body_left == 0) {
    req->body_eof = true;
    *eof = true;
  }
  return NULL;
}

zh_error *zh_http_request_read(zh_http_request *req, void *buf, size_t cap, size_t *got,
                               bool *eof) {
  return body_read(req, buf, cap, got, eof, true);
}

zh_error *zh_http_request_try_read(zh_http_request *req, void *buf, size_t cap, size_t *got,
                                   bool *eof) {
  return body_read(req, buf, cap, got, eof, false);
}

bool zh_http_request_body_ready(const zh_http_request *req) {
  const zh_http_conn *c = req->conn;
  if (req->body_eof || req->failed_status || c->in_end > c->in_start)
    return true;
  struct pollfd p = {.fd = c->fd, .events = POLLIN};
  return poll(&p, 1, 0) > 0;
}

int zh_http_request_fd(const zh_http_request *req) { return req->conn->fd; }

/* After a finished response, reads and drops what is left of the body so the connection
 * can carry on; false if that is too much, or cannot be done. */
static bool drain_body(zh_http_request *req) {
  if (req->body_eof)
    return true;
  if (req->failed_status || (req->expect_continue && !req->continue_sent))
    return false;
  char scratch[4096];
  uint64_t start = req->body_read;
  while (!req->body_eof) {
    if (req->body_read - start > ZH_HTTP_DRAIN_BYTES)
      return false;
    size_t got;
    bool eof;
    zh_error *err = zh_http_request_read(req, scratch, sizeof scratch, &got, &eof);
    if (err) {
      zh_error_free(err);
      return false;
    }
  }
  return true;
}

/* Closing a socket with unread input makes the kernel send a reset, which can destroy
 * the response still in flight to the client (an error answer to a request whose body
 * was not read). So the write side is shut first and the input read and dropped until
 * the client closes, for a bounded time and amount. */
static void linger(zh_http_conn *c) {
  shutdown(c->fd, SHUT_WR);
  uint64_t deadline = zh_http_now_ns() + (uint64_t)ZH_HTTP_LINGER_MS * 1000000u;
  size_t dropped = 0;
  while (dropped < ZH_HTTP_LINGER_BYTES) {
    ssize_t n = recv_some(c, c->in, c->in_cap, deadline, true); /* a stop ends it */
    if (n <= 0)
      return;
    dropped += (size_t)n;
  }
}

/* One request on the connection: false when the connection is done or idle (*idle). */
static bool serve_one(zh_http_conn *c, bool *answered, bool *idle) {
  zh_http_server *s = c->server;
  zh_http_head head;
  enum head_result hr = read_head(c, &head);
  if (hr != HEAD_OK) {
    *answered = hr == HEAD_ANSWERED;
    *idle = hr == HEAD_IDLE;
    return false;
  }
  c->in_start = c->head_len;
  zh_http_request req;
  const char *why = NULL;
  int status = setup_request(c, &head, &req, &why);
  *answered = true;
  if (status) {
    zh_http_send_simple(c, status, why, false);
    return false;
  }
  s->config.handler(&req, s->config.env);
  bool keep = zh_http_response_after_handler(&req);
  if (keep && req.state == ZH_HTTP_RESP_FINISHED)
    keep = drain_body(&req);
  if (!keep)
    return false;
  /* Pipelined bytes move to the front for the next head. */
  size_t rest = c->in_end - c->in_start;
  memmove(c->in, c->in + c->in_start, rest);
  c->in_start = 0;
  c->in_end = rest;
  c->head_len = 0;
  return true;
}

bool zh_http_conn_serve(zh_http_conn *c, int fd) {
  c->fd = fd;
  c->in_start = c->in_end = c->head_len = 0;
  c->drained = false;
  bool answered = false, idle = false;
  while (serve_one(c, &answered, &idle)) {
    /* Nothing buffered after a response and the socket empty at the last read: the next
     * request is rarely there yet, so park at once rather than spend a recv to learn it
     * (bytes that came since raise an event). A read that filled its buffer proves
     * nothing: then the next head's read finds out. */
    if (c->in_end == 0 && c->drained)
      return true;
  }
  if (idle)
    return true;
  if (answered)
    linger(c);
  return false;
}
