/* A small blocking HTTP/1.1 client for tests: connect to a loopback port, send raw bytes,
 * read responses (Content-Length, chunked with trailers, or up to the close; interim 1xx
 * responses are counted and skipped), and stream a patterned POST body from a second
 * thread while the response is read, so an echo of any size never deadlocks.
 * Header-only, like testlib.h. Every socket has a 10 s receive and send timeout, so a test
 * that waits for something that never comes fails instead of hanging.
 *
 * Body bytes are hashed (FNV-1a, 64 bits) as they arrive and only the first `keep` of them
 * are stored, so a 10 MiB echo costs the client no memory. */
#ifndef ZH_HTTPCLIENT_H
#define ZH_HTTPCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define ZH_HC_BUF 65536
#define ZH_HC_TIMEOUT_S 10

typedef struct zh_hc {
  int fd;
  size_t start, end; /* unread bytes: buf[start..end) */
  char buf[ZH_HC_BUF];
} zh_hc;

typedef struct zh_hc_response {
  int status;
  int interim;      /* 1xx responses seen before this one */
  char head[16384]; /* status line and fields as received, NUL-terminated */
  size_t head_len;
  char trailers[4096]; /* trailer section of a chunked body, NUL-terminated */
  char *body;          /* the first `keep` body bytes, NUL-terminated (malloc'd) */
  size_t body_len;
  uint64_t body_total; /* all body bytes */
  uint64_t body_hash;  /* FNV-1a over all body bytes */
  bool chunked;
  bool complete; /* the body ended as its framing said (not cut off by a close) */
} zh_hc_response;

static inline uint64_t zh_hc_hash(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
#define ZH_HC_HASH_INIT 0xcbf29ce484222325ull

/* The test pattern: byte i of a body. Not periodic at any power of two below 2^20, so a
 * dropped, repeated or reordered piece changes the hash. */
static inline unsigned char zh_hc_pattern_byte(uint64_t i) {
  return (unsigned char)((i * 131u) ^ (i >> 8) ^ (i >> 20));
}
static inline void zh_hc_pattern(uint64_t offset, unsigned char *buf, size_t n) {
  for (size_t i = 0; i < n; i++)
    buf[i] = zh_hc_pattern_byte(offset + i);
}
static inline uint64_t zh_hc_pattern_hash(uint64_t size) {
  unsigned char piece[4096];
  uint64_t h = ZH_HC_HASH_INIT;
  for (uint64_t off = 0; off < size; off += sizeof piece) {
    size_t n = size - off < sizeof piece ? (size_t)(size - off) : sizeof piece;
    zh_hc_pattern(off, piece, n);
    h = zh_hc_hash(h, piece, n);
  }
  return h;
}

/* Connects to 127.0.0.1:port; NULL on failure. */
static inline zh_hc *zh_hc_open(uint16_t port) {
  zh_hc *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {.tv_sec = ZH_HC_TIMEOUT_S};
  int one = 1;
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    if (c->fd >= 0)
      close(c->fd);
    free(c);
    return NULL;
  }
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return c;
}

static inline void zh_hc_close(zh_hc *c) {
  if (c) {
    close(c->fd);
    free(c);
  }
}

static inline bool zh_hc_send(zh_hc *c, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}
static inline bool zh_hc_send_str(zh_hc *c, const char *s) { return zh_hc_send(c, s, strlen(s)); }

/* Reads more: > 0 bytes, 0 the server closed, -1 timeout or error. */
static inline ssize_t zh_hc_fill(zh_hc *c) {
  if (c->start == c->end)
    c->start = c->end = 0;
  if (c->end == sizeof c->buf) {
    memmove(c->buf, c->buf + c->start, c->end - c->start);
    c->end -= c->start;
    c->start = 0;
  }
  for (;;) {
    ssize_t n = recv(c->fd, c->buf + c->end, sizeof c->buf - c->end, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n > 0)
      c->end += (size_t)n;
    return n < 0 ? -1 : n;
  }
}

/* True when the server closed the connection (EOF) within the receive timeout, with no
 * more bytes to read. */
static inline bool zh_hc_closed(zh_hc *c) {
  while (c->start == c->end) {
    ssize_t n = zh_hc_fill(c);
    if (n == 0)
      return true;
    if (n < 0)
      return errno == ECONNRESET;
  }
  return false;
}

/* One line, without its CRLF or LF, into out (cut to cap - 1). False on EOF or timeout. */
static inline bool zh_hc_line(zh_hc *c, char *out, size_t cap, size_t *len) {
  size_t n = 0;
  for (;;) {
    while (c->start < c->end) {
      char ch = c->buf[c->start++];
      if (ch == '\n') {
        if (n > 0 && out[n - 1] == '\r')
          n--;
        out[n] = 0;
        if (len)
          *len = n;
        return true;
      }
      if (n + 1 < cap)
        out[n++] = ch;
    }
    if (zh_hc_fill(c) <= 0)
      return false;
  }
}

static inline void zh_hc_take(zh_hc_response *r, const char *p, size_t n, size_t keep) {
  r->body_hash = zh_hc_hash(r->body_hash, p, n);
  r->body_total += n;
  if (r->body_len < keep) {
    size_t k = keep - r->body_len < n ? keep - r->body_len : n;
    memcpy(r->body + r->body_len, p, k);
    r->body_len += k;
    r->body[r->body_len] = 0;
  }
}

/* Reads exactly n body bytes (or up to the close when n is UINT64_MAX). */
static inline bool zh_hc_body_bytes(zh_hc *c, zh_hc_response *r, uint64_t n, size_t keep) {
  while (n > 0) {
    if (c->start == c->end) {
      ssize_t got = zh_hc_fill(c);
      if (got == 0 && n == UINT64_MAX)
        return true;
      if (got <= 0)
        return false;
    }
    size_t avail = c->end - c->start;
    size_t k = n < avail ? (size_t)n : avail;
    zh_hc_take(r, c->buf + c->start, k, keep);
    c->start += k;
    if (n != UINT64_MAX)
      n -= k;
  }
  return true;
}

/* A header's value from a response head (first match, case-insensitive name), into out;
 * NULL if absent. */
static inline const char *zh_hc_header(const zh_hc_response *r, const char *name, char *out,
                                       size_t cap) {
  size_t nl = strlen(name);
  const char *p = strchr(r->head, '\n');
  while (p && *++p) {
    const char *eol = strchr(p, '\n');
    size_t ll = eol ? (size_t)(eol - p) : strlen(p);
    if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1;
      while (*v == ' ')
        v++;
      size_t vl = (size_t)(p + ll - v);
      while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
        vl--;
      if (vl >= cap)
        vl = cap - 1;
      memcpy(out, v, vl);
      out[vl] = 0;
      return out;
    }
    p = eol;
  }
  return NULL;
}

static inline void zh_hc_response_free(zh_hc_response *r) {
  free(r->body);
  r->body = NULL;
}

/* Reads one response (skipping 1xx ones). `head_request`: the request was HEAD, so there is
 * no body whatever the fields say. Keeps the first `keep` body bytes. False when no whole
 * status line and head arrived; r->complete says whether the body did. */
static inline bool zh_hc_read(zh_hc *c, zh_hc_response *r, bool head_request, size_t keep) {
  memset(r, 0, sizeof *r);
  r->body = malloc(keep + 1);
  if (!r->body)
    return false;
  r->body[0] = 0;
  r->body_hash = ZH_HC_HASH_INIT;
  char line[8192];
  size_t len;
  for (;;) {
    r->head_len = 0;
    if (!zh_hc_line(c, line, sizeof line, &len))
      return false;
    if (sscanf(line, "HTTP/1.%*d %d", &r->status) != 1)
      return false;
    len = (size_t)snprintf(r->head, sizeof r->head, "%s\n", line);
    r->head_len = len < sizeof r->head ? len : sizeof r->head - 1;
    for (;;) {
      if (!zh_hc_line(c, line, sizeof line, &len))
        return false;
      if (len == 0)
        break;
      int w = snprintf(r->head + r->head_len, sizeof r->head - r->head_len, "%s\n", line);
      if (w > 0)
        r->head_len += (size_t)w < sizeof r->head - r->head_len ? (size_t)w : 0;
    }
    if (r->status >= 200)
      break;
    r->interim++;
  }
  char v[64];
  if (head_request || r->status == 204 || r->status == 304) {
    r->complete = true;
    return true;
  }
  if (zh_hc_header(r, "Transfer-Encoding", v, sizeof v) && strcasecmp(v, "chunked") == 0) {
    r->chunked = true;
    for (;;) {
      if (!zh_hc_line(c, line, sizeof line, &len))
        return true;
      unsigned long long size = strtoull(line, NULL, 16);
      if (size == 0)
        break;
      if (!zh_hc_body_bytes(c, r, size, keep) || !zh_hc_line(c, line, sizeof line, &len) ||
          len != 0)
        return true;
    }
    size_t tl = 0;
    for (;;) {
      if (!zh_hc_line(c, line, sizeof line, &len))
        return true;
      if (len == 0)
        break;
      int w = snprintf(r->trailers + tl, sizeof r->trailers - tl, "%s\n", line);
      if (w > 0 && (size_t)w < sizeof r->trailers - tl)
        tl += (size_t)w;
    }
    r->complete = true;
  } else if (zh_hc_header(r, "Content-Length", v, sizeof v)) {
    r->complete = zh_hc_body_bytes(c, r, strtoull(v, NULL, 10), keep);
  } else {
    r->complete = zh_hc_body_bytes(c, r, UINT64_MAX, keep);
  }
  return true;
}

/* Sends raw request bytes and reads one response. */
static inline bool zh_hc_request(zh_hc *c, const char *raw, zh_hc_response *r, size_t keep) {
  bool head = strncmp(raw, "HEAD ", 5) == 0;
  return zh_hc_send_str(c, raw) && zh_hc_read(c, r, head, keep);
}

/* One GET of `path` on a fresh connection (Host: test), keeping 64 KiB of the body. */
static inline bool zh_hc_get(uint16_t port, const char *path, zh_hc_response *r) {
  memset(r, 0, sizeof *r);
  zh_hc *c = zh_hc_open(port);
  if (!c)
    return false;
  char req[512];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path);
  bool ok = zh_hc_request(c, req, r, 1 << 16);
  zh_hc_close(c);
  return ok;
}

/* ---- streaming POST ------------------------------------------------------------------- */

typedef struct zh_hc_upload {
  zh_hc *c;
  const char *path;
  uint64_t size;
  bool chunked;
  size_t piece; /* bytes per send (and per chunk) */
  bool ok;
} zh_hc_upload;

static inline void *zh_hc_upload_main(void *arg) {
  zh_hc_upload *u = arg;
  char head[512];
  if (u->chunked)
    snprintf(head, sizeof head,
             "POST %s HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n", u->path);
  else
    snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: test\r\nContent-Length: %llu\r\n\r\n",
             u->path, (unsigned long long)u->size);
  u->ok = zh_hc_send_str(u->c, head);
  unsigned char *piece = malloc(u->piece);
  if (!piece)
    u->ok = false;
  for (uint64_t off = 0; u->ok && off < u->size; off += u->piece) {
    size_t n = u->size - off < u->piece ? (size_t)(u->size - off) : u->piece;
    zh_hc_pattern(off, piece, n);
    char sz[32];
    if (u->chunked) {
      snprintf(sz, sizeof sz, "%zx\r\n", n);
      u->ok = zh_hc_send_str(u->c, sz);
    }
    u->ok = u->ok && zh_hc_send(u->c, piece, n);
    if (u->chunked)
      u->ok = u->ok && zh_hc_send(u->c, "\r\n", 2);
  }
  if (u->ok && u->chunked)
    u->ok = zh_hc_send_str(u->c, "0\r\n\r\n");
  free(piece);
  return NULL;
}

/* POSTs `size` pattern bytes to path (chunked, or with Content-Length), sent in pieces of
 * `piece` bytes by a second thread while this one reads the response. */
static inline bool zh_hc_post_pattern(zh_hc *c, const char *path, uint64_t size, bool chunked,
                                      size_t piece, zh_hc_response *r, size_t keep) {
  zh_hc_upload u = {c, path, size, chunked, piece ? piece : 65536, false};
  pthread_t t;
  if (pthread_create(&t, NULL, zh_hc_upload_main, &u) != 0)
    return false;
  bool ok = zh_hc_read(c, r, false, keep);
  pthread_join(t, NULL);
  return ok && u.ok;
}

#endif
