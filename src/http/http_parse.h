/* HTTP/1.1 request heads and chunked bodies (RFC 9112), parsed in place.
 *
 * Neither parser allocates or does I/O. Results are slices of the caller's buffer, and
 * every pointer returned stays inside it. Each input byte is looked at a bounded number of
 * times per call; the caller decides when to call again (after more bytes arrive).
 *
 *   zh_http_parse_head: > 0 the head's length in bytes (through the blank line),
 *                       ZH_HTTP_INCOMPLETE when the bytes end before the head does,
 *                       ZH_HTTP_BAD with err filled (status, byte offset, reason).
 *   zh_http_chunked_next: see below.
 *
 * Strictness, and why: bare CR, whitespace before a header's colon and obs-fold
 * continuation lines are refused (400), since proxies that read them differently are how
 * request smuggling works (RFC 9112 sections 5.1, 5.2, 11.2); so are Content-Length with
 * Transfer-Encoding, and conflicting Content-Lengths, in the connection code. A bare LF
 * ends a line, as RFC 9112 section 2.2 allows.
 */
#ifndef ZH_HTTP_PARSE_H
#define ZH_HTTP_PARSE_H

#include "zerohop/http_server.h"

#include <stddef.h>
#include <stdint.h>

#define ZH_HTTP_INCOMPLETE (-2)
#define ZH_HTTP_BAD (-1)

typedef struct zh_http_parse_error {
  int status;         /* 400, 414, 431, 501 or 505 */
  size_t offset;      /* byte offset in the head where it went wrong */
  const char *reason; /* static text */
} zh_http_parse_error;

typedef struct zh_http_limits {
  size_t max_headers;   /* header fields */
  size_t max_url_bytes; /* request target */
} zh_http_limits;

typedef struct zh_http_head {
  const char *method;
  size_t method_len;
  const char *target;
  size_t target_len;
  int version_minor;
  zh_http_header *headers; /* caller's array of at least limits.max_headers entries */
  size_t nheaders;
} zh_http_head;

/* Parses a request head from buf[0..len). out->headers must point at the caller's array. */
long zh_http_parse_head(const char *buf, size_t len, const zh_http_limits *limits,
                        zh_http_head *out, zh_http_parse_error *err);

/* Line and column (1-based) of a byte offset in a head, for messages. */
void zh_http_line_col(const char *buf, size_t offset, size_t *line, size_t *col);

/* Chunked transfer coding decoder; starts zeroed. Chunk extensions are skipped and
 * trailer fields are checked for shape and dropped. */
typedef struct zh_http_chunked {
  int state;
  uint64_t chunk_left;  /* data bytes left in the current chunk */
  uint64_t consumed;    /* bytes of framing and data eaten so far (for messages) */
  size_t line_bytes;    /* bytes of the current size or trailer line */
  size_t trailer_bytes; /* bytes of the trailer section */
  size_t max_line;      /* cap on a size line (with extensions); 0 means 4096 */
  size_t max_trailer;   /* cap on the trailer section; 0 means 16384 */
} zh_http_chunked;

enum {
  ZH_HTTP_CHUNK_MORE = 0, /* all input eaten, body not ended: call again with more */
  ZH_HTTP_CHUNK_DATA = 1, /* *data, *data_len: body bytes inside the input */
  ZH_HTTP_CHUNK_END = 2,  /* the body (with its trailers) ended */
  ZH_HTTP_CHUNK_BAD = -1  /* broken framing: *reason says how, at dec->consumed */
};

/* Eats framing from in[0..len) up to the next data, at most max_data bytes of it, which it
 * returns as a slice of `in` (never empty). *used is what was eaten, data included. */
int zh_http_chunked_next(zh_http_chunked *dec, const char *in, size_t len, size_t max_data,
                         size_t *used, const char **data, size_t *data_len, const char **reason);

/* True for a byte of an RFC 9110 token (method, header name): a table, inline, since every
 * byte of every header name comes here. */
/* True when one of the eight bytes of w is below 0x20 or is DEL: a word of a field value
 * without it (the usual case) is checked at once, one with it byte by byte (a tab is
 * allowed, CR and LF end a line). */
static inline bool zh_http_word_has_ctl(uint64_t w) {
  const uint64_t ones = 0x0101010101010101u, del = w ^ (0x7f * ones);
  return (((w - 0x20 * ones) & ~w) | ((del - ones) & ~del)) & (0x80 * ones);
}

/* Copies n bytes from src to dst with ASCII A-Z lowercased (tolower in the "C" locale; other
 * bytes as they are), eight bytes a step: header names go through it on every request. */
void zh_http_lower_copy(char *dst, const char *src, size_t n);

extern const unsigned char zh_http_token_chars[256];
static inline bool zh_http_is_token_char(unsigned char c) { return zh_http_token_chars[c]; }

#endif
