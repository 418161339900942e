/* Request heads and chunked bodies, parsed in place (contracts in http_parse.h).
 *
 * Both parsers walk the input once with an index that is checked against the length
 * before every read, so nothing is read outside buf[0..len). The head parser is not
 * resumable: the connection calls it only once a blank line has arrived (or to find out,
 * at the size limit, which limit was hit), so each head is parsed about once. */
#include "http/http_parse.h"

#include <string.h>

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" /
 *         "|" / "~" / DIGIT / ALPHA (RFC 9110 section 5.6.2) */
#define D10 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
#define A26 D10, D10, 1, 1, 1, 1, 1, 1
const unsigned char zh_http_token_chars[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1,   ['&'] = 1,   ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,   ['0'] = D10, ['A'] = A26,
    ['^'] = 1, ['_'] = 1, ['`'] = 1, ['a'] = A26, ['|'] = 1,   ['~'] = 1};
#undef A26
#undef D10

static uint64_t word_at(const char *p) {
  uint64_t w;
  memcpy(&w, p, sizeof w);
  return w;
}

/* Eight bytes with A-Z lowercased: per byte, without a carry between bytes (each sum stays
 * below 0x100), the high bit of low7 + 0x3f is set from 'A' up and that of low7 + 0x25 from
 * '[' up; a byte with its own high bit set is left alone. */
static uint64_t lower8(uint64_t w) {
  const uint64_t seven = 0x7f7f7f7f7f7f7f7fu, highs = 0x8080808080808080u;
  uint64_t low7 = w & seven;
  uint64_t upper = (low7 + 0x3f3f3f3f3f3f3f3fu) & ~(low7 + 0x2525252525252525u) & ~w & highs;
  return w | upper >> 2; /* 0x80 >> 2 is the 0x20 between 'A' and 'a' */
}

void zh_http_lower_copy(char *dst, const char *src, size_t n) {
  if (n < 8) {
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)src[i];
      dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    return;
  }
  for (size_t i = 0; i < n - 8; i += 8) {
    uint64_t w = lower8(word_at(src + i));
    memcpy(dst + i, &w, 8);
  }
  uint64_t last = lower8(word_at(src + n - 8)); /* overlaps the word before: no byte tail */
  memcpy(dst + n - 8, &last, 8);
}

static long bad(zh_http_parse_error *err, int status, size_t offset, const char *reason) {
  err->status = status;
  err->offset = offset;
  err->reason = reason;
  return ZH_HTTP_BAD;
}

/* At buf[*i], expects a line end (CRLF or bare LF) and steps over it: 1 done, 0 incomplete,
 * -1 something else is there. */
static int eat_eol(const char *buf, size_t len, size_t *i) {
  if (*i >= len)
    return 0;
  if (buf[*i] == '\n') {
    *i += 1;
    return 1;
  }
  if (buf[*i] != '\r')
    return -1;
  if (*i + 1 >= len)
    return 0;
  if (buf[*i + 1] != '\n')
    return -1;
  *i += 2;
  return 1;
}

static long parse_request_line(const char *buf, size_t len, const zh_http_limits *limits,
                               zh_http_head *out, zh_http_parse_error *err, size_t *pos) {
  size_t i = *pos;
  size_t start = i;
  while (i < len && zh_http_is_token_char((unsigned char)buf[i]))
    i++;
  if (i == len)
    return ZH_HTTP_INCOMPLETE;
  if (buf[i] != ' ')
    return bad(err, 400, i, i == start ? "empty method" : "bad character in method");
  if (i == start)
    return bad(err, 400, i, "empty method");
  out->method = buf + start;
  out->method_len = i - start;
  i++;

  start = i;
  /* Targets are visible ASCII (RFC 3986 plus what clients send unescaped). */
  while (i < len && (unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f) {
    i++;
    if (i - start > limits->max_url_bytes)
      return bad(err, 414, i, "request target too long");
  }
  if (i == len)
    return ZH_HTTP_INCOMPLETE;
  if (buf[i] != ' ')
    return bad(err, 400, i, "bad character in request target");
  if (i == start)
    return bad(err, 400, i, "empty request target");
  out->target = buf + start;
  out->target_len = i - start;
  i++;

  static const char proto[] = "HTTP/";
  for (size_t k = 0; k < 8; k++) {
    if (i + k >= len)
      return ZH_HTTP_INCOMPLETE;
    char c = buf[i + k];
    bool ok = k < 5 ? c == proto[k] : k == 6 ? c == '.' : (c >= '0' && c <= '9');
    if (!ok)
      return bad(err, 400, i + k, "malformed HTTP version");
  }
  int major = buf[i + 5] - '0';
  out->version_minor = buf[i + 7] - '0';
  if (major != 1)
    return bad(err, 505, i + 5, "HTTP version not supported");
  i += 8;
  int e = eat_eol(buf, len, &i);
  if (e == 0)
    return ZH_HTTP_INCOMPLETE;
  if (e < 0)
    return bad(err, 400, i, "expected end of request line");
  *pos = i;
  return 0;
}

long zh_http_parse_head(const char *buf, size_t len, const zh_http_limits *limits,
                        zh_http_head *out, zh_http_parse_error *err) {
  size_t i = 0;
  out->nheaders = 0;
  /* RFC 9112 section 2.2: ignore empty lines before the request line (clients that end
   * a body with an extra CRLF). */
  for (;;) {
    size_t before = i;
    int e = eat_eol(buf, len, &i);
    if (e == 0 && i < len)
      return ZH_HTTP_INCOMPLETE; /* a lone CR at the end */
    if (e <= 0 || i == before)
      break;
  }
  if (i < len && buf[i] == '\r')
    return bad(err, 400, i, "bare CR");
  long r = parse_request_line(buf, len, limits, out, err, &i);
  if (r != 0)
    return r;

  for (;;) {
    if (i >= len)
      return ZH_HTTP_INCOMPLETE;
    int e = eat_eol(buf, len, &i);
    if (e == 1)
      return (long)i; /* the blank line */
    if (e == 0)
      return ZH_HTTP_INCOMPLETE;
    if (buf[i] == '\r')
      return bad(err, 400, i, "bare CR");
    if (buf[i] == ' ' || buf[i] == '\t')
      return bad(err, 400, i, "obsolete line folding");

    size_t name = i;
    while (i < len && zh_http_is_token_char((unsigned char)buf[i]))
      i++;
    if (i == len)
      return ZH_HTTP_INCOMPLETE;
    if (buf[i] != ':') {
      if (buf[i] == ' ' || buf[i] == '\t')
        return bad(err, 400, i, "whitespace before colon in header field");
      return bad(err, 400, i, "bad character in header name");
    }
    if (i == name)
      return bad(err, 400, i, "empty header name");
    size_t name_len = i - name;
    i++;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
      i++;
    size_t value = i;
    while (i + 8 <= len && !zh_http_word_has_ctl(word_at(buf + i)))
      i += 8; /* no control byte among these eight: CR and LF are ones */
    while (i < len && buf[i] != '\r' && buf[i] != '\n') {
      unsigned char c = (unsigned char)buf[i];
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return bad(err, 400, i, "control character in header value");
      i++;
    }
    if (i == len)
      return ZH_HTTP_INCOMPLETE;
    size_t value_end = i;
    while (value_end > value && (buf[value_end - 1] == ' ' || buf[value_end - 1] == '\t'))
      value_end--;
    e = eat_eol(buf, len, &i);
    if (e == 0)
      return ZH_HTTP_INCOMPLETE;
    if (e < 0)
      return bad(err, 400, i, "bare CR");
    if (out->nheaders == limits->max_headers)
      return bad(err, 431, name, "too many header fields");
    zh_http_header *h = &out->headers[out->nheaders++];
    h->name = buf + name;
    h->name_len = name_len;
    h->value = buf + value;
    h->value_len = value_end - value;
  }
}

void zh_http_line_col(const char *buf, size_t offset, size_t *line, size_t *col) {
  size_t l = 1, c = 1;
  for (size_t i = 0; i < offset; i++) {
    if (buf[i] == '\n') {
      l++;
      c = 1;
    } else {
      c++;
    }
  }
  *line = l;
  *col = c;
}

/* ---- chunked bodies ----------------------------------------------------------------- */

enum {
  CH_SIZE_START, /* first hex digit of a size line */
  CH_SIZE,       /* more hex digits */
  CH_EXT,        /* after the size: extensions up to the line end */
  CH_SIZE_LF,    /* CR seen at the end of a size line */
  CH_DATA,       /* chunk_left data bytes */
  CH_DATA_CR,    /* the CRLF after the data */
  CH_DATA_LF,
  CH_TRAILER,      /* start of a trailer line (or the final blank line) */
  CH_TRAILER_LINE, /* inside a trailer field */
  CH_TRAILER_LF,   /* CR seen at the end of a trailer field */
  CH_END_LF,       /* CR of the final blank line */
  CH_DONE
};

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* One framing byte; returns ZH_HTTP_CHUNK_BAD (with *reason) or ZH_HTTP_CHUNK_MORE. */
static int chunk_byte(zh_http_chunked *d, unsigned char c, const char **reason) {
  size_t max_line = d->max_line ? d->max_line : 4096;
  size_t max_trailer = d->max_trailer ? d->max_trailer : 16384;
  switch (d->state) {
  case CH_SIZE_START:
  case CH_SIZE: {
    int v = hex_value(c);
    if (v >= 0) {
      /* 15 hex digits is 2^60: far past any body limit, and no shift can overflow. */
      if (d->line_bytes >= 15)
        return *reason = "chunk size too large", ZH_HTTP_CHUNK_BAD;
      d->chunk_left = (d->chunk_left << 4) | (uint64_t)v;
      d->line_bytes++;
      d->state = CH_SIZE;
      return ZH_HTTP_CHUNK_MORE;
    }
    if (d->state == CH_SIZE_START)
      return *reason = "expected a chunk size", ZH_HTTP_CHUNK_BAD;
    if (c == ';' || c == ' ' || c == '\t') {
      d->state = CH_EXT;
      return ZH_HTTP_CHUNK_MORE;
    }
    break; /* a line end, handled below */
  }
  case CH_EXT:
    if (++d->line_bytes > max_line)
      return *reason = "chunk size line too long", ZH_HTTP_CHUNK_BAD;
    if (c == '\r' || c == '\n')
      break;
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return *reason = "control character in chunk extension", ZH_HTTP_CHUNK_BAD;
    return ZH_HTTP_CHUNK_MORE;
  case CH_SIZE_LF:
    if (c != '\n')
      return *reason = "bare CR in chunk size line", ZH_HTTP_CHUNK_BAD;
    d->state = d->chunk_left ? CH_DATA : CH_TRAILER;
    d->line_bytes = 0;
    return ZH_HTTP_CHUNK_MORE;
  case CH_DATA_CR:
    if (c == '\r') {
      d->state = CH_DATA_LF;
      return ZH_HTTP_CHUNK_MORE;
    }
    if (c == '\n') {
      d->state = CH_SIZE_START;
      return ZH_HTTP_CHUNK_MORE;
    }
    return *reason = "missing CRLF after chunk data", ZH_HTTP_CHUNK_BAD;
  case CH_DATA_LF:
    if (c != '\n')
      return *reason = "missing CRLF after chunk data", ZH_HTTP_CHUNK_BAD;
    d->state = CH_SIZE_START;
    return ZH_HTTP_CHUNK_MORE;
  case CH_TRAILER:
  case CH_TRAILER_LINE:
  case CH_TRAILER_LF:
  case CH_END_LF:
    if (++d->trailer_bytes > max_trailer)
      return *reason = "trailer section too large", ZH_HTTP_CHUNK_BAD;
    if (d->state == CH_TRAILER_LF || d->state == CH_END_LF) {
      if (c != '\n')
        return *reason = "bare CR in trailer section", ZH_HTTP_CHUNK_BAD;
      d->state = d->state == CH_END_LF ? CH_DONE : CH_TRAILER;
      return ZH_HTTP_CHUNK_MORE;
    }
    if (d->state == CH_TRAILER) {
      if (c == '\r') {
        d->state = CH_END_LF;
        return ZH_HTTP_CHUNK_MORE;
      }
      if (c == '\n') {
        d->state = CH_DONE;
        return ZH_HTTP_CHUNK_MORE;
      }
      if (!zh_http_is_token_char(c))
        return *reason = "bad trailer field", ZH_HTTP_CHUNK_BAD;
      d->state = CH_TRAILER_LINE;
      return ZH_HTTP_CHUNK_MORE;
    }
    if (c == '\r') {
      d->state = CH_TRAILER_LF;
    } else if (c == '\n') {
      d->state = CH_TRAILER;
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return *reason = "control character in trailer field", ZH_HTTP_CHUNK_BAD;
    }
    return ZH_HTTP_CHUNK_MORE;
  default:
    return *reason = "chunked decoder misused", ZH_HTTP_CHUNK_BAD;
  }
  /* End of a size line (from CH_SIZE or CH_EXT). */
  if (c == '\r') {
    d->state = CH_SIZE_LF;
    return ZH_HTTP_CHUNK_MORE;
  }
  if (c == '\n') {
    d->state = d->chunk_left ? CH_DATA : CH_TRAILER;
    d->line_bytes = 0;
    return ZH_HTTP_CHUNK_MORE;
  }
  return *reason = "bad character in chunk size", ZH_HTTP_CHUNK_BAD;
}

int zh_http_chunked_next(zh_http_chunked *dec, const char *in, size_t len, size_t max_data,
                         size_t *used, const char **data, size_t *data_len, const char **reason) {
  size_t i = 0;
  *data = NULL;
  *data_len = 0;
  for (;;) {
    if (dec->state == CH_DONE) {
      *used = i;
      return ZH_HTTP_CHUNK_END;
    }
    if (dec->state == CH_DATA) {
      if (dec->chunk_left == 0) {
        dec->state = CH_DATA_CR;
        continue;
      }
      size_t n = len - i;
      if (n > dec->chunk_left)
        n = (size_t)dec->chunk_left;
      if (n > max_data)
        n = max_data;
      if (n == 0) {
        *used = i;
        return ZH_HTTP_CHUNK_MORE;
      }
      *data = in + i;
      *data_len = n;
      dec->chunk_left -= n;
      dec->consumed += n;
      *used = i + n;
      return ZH_HTTP_CHUNK_DATA;
    }
    if (i == len) {
      *used = i;
      return ZH_HTTP_CHUNK_MORE;
    }
    if (dec->state == CH_SIZE_START && dec->line_bytes == 0)
      dec->chunk_left = 0;
    if (chunk_byte(dec, (unsigned char)in[i], reason) == ZH_HTTP_CHUNK_BAD) {
      *used = i;
      return ZH_HTTP_CHUNK_BAD;
    }
    i++;
    dec->consumed++;
  }
}
