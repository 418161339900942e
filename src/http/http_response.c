/* The response side of a request: the head a handler starts, the body it streams, and the
 * framing the server chooses.
 *
 * The head is built in conn->out but not sent until the body outgrows conn->body (one
 * ZH_HTTP_BODY_BUFFER) or the handler finishes. A response that finishes first, which is
 * most of them, goes out in one send with a Content-Length. A longer one is sent as it
 * comes, chunked (or raw after a Content-Length the handler named, or close-delimited to
 * an HTTP/1.0 client), one send per buffer's worth. */
#include "http/http_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

uint64_t zh_http_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int zh_http_send_all(int fd, struct iovec *iov, int n, uint64_t deadline_ns) {
  while (n > 0) {
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t sent = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
      uint64_t now = zh_http_now_ns();
      if (now >= deadline_ns)
        return -2;
      uint64_t ms = (deadline_ns - now + 999999) / 1000000;
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      int r = poll(&p, 1, ms > 60000 ? 60000 : (int)ms);
      if (r < 0 && errno != EINTR)
        return -1;
      continue;
    }
    size_t left = (size_t)sent;
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + left;
      iov->iov_len -= left;
    }
  }
  return 0;
}

const char *zh_http_reason(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 411:
    return "Length Required";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 417:
    return "Expectation Failed";
  case 422:
    return "Unprocessable Content";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

const char *zh_http_date(zh_http_conn *c) {
  time_t now = time(NULL);
  if (now != c->date_sec) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(c->date, sizeof c->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    c->date_sec = now;
  }
  return c->date;
}

void zh_http_send_simple(zh_http_conn *c, int status, const char *detail, bool keep) {
  char head[512], body[256];
  int blen = snprintf(body, sizeof body, "%d %s%s%s\n", status, zh_http_reason(status),
                      detail ? ": " : "", detail ? detail : "");
  if (blen < 0)
    return;
  if ((size_t)blen >= sizeof body)
    blen = (int)sizeof body - 1;
  int hlen = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: %d\r\n%s\r\n",
                      status, zh_http_reason(status), zh_http_date(c), blen,
                      keep ? "" : "Connection: close\r\n");
  if (hlen < 0 || (size_t)hlen >= sizeof head)
    return;
  struct iovec iov[2] = {{head, (size_t)hlen}, {body, (size_t)blen}};
  /* Error answers get a short, fixed time: the client may not be reading at all. */
  (void)zh_http_send_all(c->fd, iov, 2, zh_http_now_ns() + 1000000000u);
}

/* ---- building the head ----------------------------------------------------------------- */

static bool out_append(zh_http_conn *c, const char *s, size_t n) {
  if (n > ZH_HTTP_MAX_RESPONSE_HEADER_BYTES || c->out_len + n > ZH_HTTP_MAX_RESPONSE_HEADER_BYTES)
    return false;
  if (c->out_len + n > c->out_cap) {
    size_t cap = c->out_cap * 2;
    while (cap < c->out_len + n)
      cap *= 2;
    char *p = realloc(c->out, cap); /* the old c->out is dead once this succeeds */
    if (!p)
      return false;
    c->out = p;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, s, n);
  c->out_len += n;
  return true;
}

/* Decimal digits of v at the end of buf[24]; returns the index of the first. */
static size_t u64_digits(uint64_t v, char *buf) {
  size_t i = 24;
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return i;
}

/* The status line and Date, without printf: every response starts with them. */
static bool out_status_line(zh_http_conn *c, int status) {
  char line[16] = "HTTP/1.1 ";
  line[9] = (char)('0' + status / 100);
  line[10] = (char)('0' + status / 10 % 10);
  line[11] = (char)('0' + status % 10);
  line[12] = ' ';
  const char *reason = zh_http_reason(status), *date = zh_http_date(c);
  return out_append(c, line, 13) && out_append(c, reason, strlen(reason)) &&
         out_append(c, "\r\nDate: ", 8) && out_append(c, date, strlen(date)) &&
         out_append(c, "\r\n", 2);
}

static bool name_is(const zh_http_header *h, const char *name) {
  size_t n = strlen(name);
  return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

/* Checks a handler's field; NULL if it may go on the wire. */
static zh_error *check_field(const zh_http_header *h, const char *what) {
  if (h->name_len == 0 || (h->name_len && !h->name))
    return zh_error_new(ZH_ERR_USAGE, "http response: empty %s name", what);
  for (size_t i = 0; i < h->name_len; i++) {
    if (!zh_http_is_token_char((unsigned char)h->name[i]))
      return zh_error_new(ZH_ERR_USAGE, "http response: %s name '%.*s' is not a token", what,
                          (int)(h->name_len > 64 ? 64 : h->name_len), h->name);
  }
  if (h->value_len && !h->value)
    return zh_error_new(ZH_ERR_USAGE, "http response: %s '%.*s' has no value", what,
                        (int)h->name_len, h->name);
  for (size_t i = 0; i < h->value_len; i++) {
    char ch = h->value[i];
    if (ch == '\r' || ch == '\n' || ch == 0)
      return zh_error_new(ZH_ERR_USAGE, "http response: %s '%.*s' has CR, LF or NUL in its value",
                          what, (int)h->name_len, h->name);
  }
  return NULL;
}

static bool parse_length(const char *s, size_t n, uint64_t *out) {
  if (n == 0 || n > 19)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return true;
}

static bool value_has_token(const zh_http_header *h, const char *token) {
  size_t tn = strlen(token);
  const char *p = h->value, *end = h->value + h->value_len;
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

zh_error *zh_http_response_start(zh_http_request *req, int status, const zh_http_header *headers,
                                 size_t nheaders) {
  if (req->state != ZH_HTTP_RESP_NONE)
    return zh_error_new(ZH_ERR_USAGE, "http response: already started");
  if (status < 200 || status > 599)
    return zh_error_new(ZH_ERR_USAGE, "http response: status %d out of range 200..599", status);
  if (nheaders && !headers)
    return zh_error_new(ZH_ERR_USAGE, "http response: no header array");
  for (size_t i = 0; i < nheaders; i++) {
    zh_error *err = check_field(&headers[i], "header");
    if (err)
      return err;
  }
  zh_http_conn *c = req->conn;
  c->out_len = 0;
  c->body_len = 0;
  bool ok = out_status_line(c, status);
  req->has_length = false;
  for (size_t i = 0; i < nheaders && ok; i++) {
    const zh_http_header *h = &headers[i];
    if (name_is(h, "content-length")) {
      uint64_t len;
      if (!parse_length(h->value, h->value_len, &len) || (req->has_length && len != req->length))
        return zh_error_new(ZH_ERR_USAGE, "http response: bad Content-Length '%.*s'",
                            (int)(h->value_len > 32 ? 32 : h->value_len), h->value);
      req->has_length = true;
      req->length = len;
      continue;
    }
    if (name_is(h, "connection")) {
      if (value_has_token(h, "close"))
        req->close_after = true;
      continue;
    }
    if (name_is(h, "transfer-encoding") || name_is(h, "keep-alive") || name_is(h, "upgrade") ||
        name_is(h, "proxy-connection"))
      continue;
    ok = out_append(c, h->name, h->name_len) && out_append(c, ": ", 2) &&
         out_append(c, h->value, h->value_len) && out_append(c, "\r\n", 2);
  }
  if (!ok)
    return zh_error_new(ZH_ERR_RESOURCE, "http response: head larger than %u bytes",
                        (unsigned)ZH_HTTP_MAX_RESPONSE_HEADER_BYTES);
  req->status = status;
  req->no_body = req->is_head || status == 204 || status == 304;
  req->written = 0;
  req->head_fields_end = c->out_len;
  req->state = ZH_HTTP_RESP_STARTED;
  return NULL;
}

/* Ends the head with the framing and connection fields; `total` is the body's length when
 * known (the handler's Content-Length, or everything at finish), UINT64_MAX otherwise. */
static bool end_head(zh_http_request *req, uint64_t total) {
  zh_http_conn *c = req->conn;
  bool ok = true;
  if (req->has_length)
    total = req->length;
  if (req->status == 204 || req->status == 304) {
    /* no framing at all: these have no body */
  } else if (total != UINT64_MAX) {
    char digits[24];
    size_t at = u64_digits(total, digits);
    ok = out_append(c, "Content-Length: ", 16) && out_append(c, digits + at, 24 - at) &&
         out_append(c, "\r\n", 2);
  } else if (req->info.version_minor >= 1) {
    req->chunked_out = true;
    ok = out_append(c, "Transfer-Encoding: chunked\r\n", 28);
  } else {
    req->close_after = true; /* HTTP/1.0: the body ends when the connection does */
  }
  /* A client still waiting to be told to send its body is not going to be read from. */
  if (req->expect_continue && !req->continue_sent && !req->body_eof)
    req->close_after = true;
  bool stopping = __atomic_load_n(&c->server->stopping, __ATOMIC_ACQUIRE);
  if (!req->keep_alive || stopping)
    req->close_after = true;
  if (req->close_after)
    ok = ok && out_append(c, "Connection: close\r\n", 19);
  else if (req->info.version_minor == 0)
    ok = ok && out_append(c, "Connection: keep-alive\r\n", 24);
  return ok && out_append(c, "\r\n", 2);
}

static zh_error *send_failed(zh_http_request *req, int r) {
  req->state = ZH_HTTP_RESP_BROKEN;
  if (r == -2)
    return zh_error_new(ZH_ERR_INTERRUPTED,
                        "http response to %s: the request deadline passed while sending",
                        req->conn->client);
  return zh_error_new(ZH_ERR_IO, "http response to %s: the client has gone", req->conn->client);
}

/* Sends what is pending: the head (when `with_head`), then body[0..body_len) and data as one
 * chunk (or raw), then `tail` (the last chunk and trailers). */
static zh_error *flush(zh_http_request *req, bool with_head, const void *data, size_t len,
                       const char *tail, size_t tail_len) {
  zh_http_conn *c = req->conn;
  struct iovec iov[6];
  int n = 0;
  char size_line[24];
  if (with_head)
    iov[n++] = (struct iovec){c->out, c->out_len};
  size_t body = c->body_len + len;
  if (body > 0 && req->chunked_out) {
    int sl = snprintf(size_line, sizeof size_line, "%zx\r\n", body);
    iov[n++] = (struct iovec){size_line, (size_t)sl};
  }
  if (c->body_len)
    iov[n++] = (struct iovec){c->body, c->body_len};
  if (len)
    iov[n++] = (struct iovec){(void *)data, len};
  if (body > 0 && req->chunked_out)
    iov[n++] = (struct iovec){"\r\n", 2};
  if (tail_len)
    iov[n++] = (struct iovec){(void *)tail, tail_len};
  c->body_len = 0;
  int r = zh_http_send_all(c->fd, iov, n, req->info.deadline_ns);
  return r ? send_failed(req, r) : NULL;
}

zh_error *zh_http_response_write(zh_http_request *req, const void *data, size_t len) {
  if (req->state != ZH_HTTP_RESP_STARTED && req->state != ZH_HTTP_RESP_STREAMING)
    return zh_error_new(ZH_ERR_USAGE, req->state == ZH_HTTP_RESP_NONE
                                          ? "http response: write before start"
                                          : "http response: write after finish or failure");
  if (len && !data)
    return zh_error_new(ZH_ERR_USAGE, "http response: no data");
  if (req->has_length && len > req->length - req->written)
    return zh_error_new(ZH_ERR_USAGE,
                        "http response: %zu bytes more would pass the Content-Length %" PRIu64, len,
                        req->length);
  req->written += len;
  if (req->no_body || len == 0)
    return NULL;
  zh_http_conn *c = req->conn;
  if (c->body_len + len <= ZH_HTTP_BODY_BUFFER) {
    memcpy(c->body + c->body_len, data, len);
    c->body_len += len;
    return NULL;
  }
  bool with_head = req->state == ZH_HTTP_RESP_STARTED;
  if (with_head) {
    if (!end_head(req, UINT64_MAX)) {
      req->state = ZH_HTTP_RESP_BROKEN;
      return zh_error_new(ZH_ERR_RESOURCE, "http response: head too large");
    }
    req->state = ZH_HTTP_RESP_STREAMING;
  }
  return flush(req, with_head, data, len, NULL, 0);
}

zh_error *zh_http_response_finish(zh_http_request *req, const zh_http_header *trailers,
                                  size_t ntrailers) {
  if (req->state != ZH_HTTP_RESP_STARTED && req->state != ZH_HTTP_RESP_STREAMING)
    return zh_error_new(ZH_ERR_USAGE, req->state == ZH_HTTP_RESP_NONE
                                          ? "http response: finish before start"
                                          : "http response: finish after finish or failure");
  if (ntrailers && !trailers)
    return zh_error_new(ZH_ERR_USAGE, "http response: no trailer array");
  for (size_t i = 0; i < ntrailers; i++) {
    zh_error *err = check_field(&trailers[i], "trailer");
    if (err)
      return err;
  }
  if (req->has_length && req->written < req->length && !req->no_body) {
    req->close_after = true;
    return zh_error_new(ZH_ERR_USAGE,
                        "http response: finished after %" PRIu64 " of %" PRIu64 " body bytes",
                        req->written, req->length);
  }
  zh_http_conn *c = req->conn;
  bool with_head = req->state == ZH_HTTP_RESP_STARTED;
  if (with_head && !end_head(req, req->written)) {
    req->state = ZH_HTTP_RESP_BROKEN;
    return zh_error_new(ZH_ERR_RESOURCE, "http response: head too large");
  }
  /* The last chunk and the trailers are built after the head in c->out. */
  size_t tail_at = c->out_len;
  bool ok = true;
  if (req->chunked_out) {
    ok = out_append(c, "0\r\n", 3);
    for (size_t i = 0; i < ntrailers && ok; i++) {
      const zh_http_header *h = &trailers[i];
      ok = out_append(c, h->name, h->name_len) && out_append(c, ": ", 2) &&
           out_append(c, h->value, h->value_len) && out_append(c, "\r\n", 2);
    }
    ok = ok && out_append(c, "\r\n", 2);
  }
  if (!ok) {
    req->state = ZH_HTTP_RESP_BROKEN;
    return zh_error_new(ZH_ERR_RESOURCE, "http response: trailers too large");
  }
  size_t head_len = tail_at;
  zh_error *err;
  if (with_head) {
    /* Head, body and nothing else: one iovec for the head alone is enough. */
    c->out_len = head_len;
    err = flush(req, true, NULL, 0, NULL, 0);
  } else {
    err = flush(req, false, NULL, 0, c->out + tail_at, c->out_len - tail_at);
  }
  if (err)
    return err;
  req->state = ZH_HTTP_RESP_FINISHED;
  return NULL;
}

bool zh_http_response_after_handler(zh_http_request *req) {
  switch (req->state) {
  case ZH_HTTP_RESP_NONE: {
    int status = req->failed_status ? req->failed_status : 500;
    bool keep = !req->failed_status && req->keep_alive && req->body_eof &&
                !__atomic_load_n(&req->conn->server->stopping, __ATOMIC_ACQUIRE);
    zh_http_send_simple(req->conn, status, NULL, keep);
    return keep;
  }
  case ZH_HTTP_RESP_STARTED:
  case ZH_HTTP_RESP_STREAMING: {
    /* Started, never finished: send what there is, then close, so the client sees a
     * response cut short (no last chunk, or fewer bytes than the length said). */
    bool with_head = req->state == ZH_HTTP_RESP_STARTED;
    if (with_head && !end_head(req, req->has_length ? req->length : UINT64_MAX))
      return false;
    zh_error_free(flush(req, with_head, NULL, 0, NULL, 0));
    return false;
  }
  case ZH_HTTP_RESP_FINISHED:
    return !req->close_after;
  case ZH_HTTP_RESP_BROKEN:
  default:
    return false;
  }
}
