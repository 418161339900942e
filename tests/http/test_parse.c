/* The head and chunked parsers alone (src/http/http_parse.c). Every input is placed so that
 * it ends right before a PROT_NONE page, so a read past its end faults even without ASan,
 * and is fed whole and then one byte at a time: every prefix of a good head is incomplete,
 * every prefix of a bad one is incomplete or the same error, and the chunked decoder gives
 * the same bytes and the same end however its input is split. */
#include "http/http_parse.h"
#include "testlib.h"

#include <sys/mman.h>
#include <unistd.h>

static char *guard_base;
static size_t page;

/* Copies s[0..n) so that it ends where the guard page starts. */
static const char *at_guard(const char *s, size_t n) {
  char *p = guard_base + page - n;
  memcpy(p, s, n);
  return p;
}

static zh_http_limits limits = {10, 64};

static long parse(const char *s, size_t n, zh_http_head *h, zh_http_header *hdrs,
                  zh_http_parse_error *err) {
  h->headers = hdrs;
  return zh_http_parse_head(at_guard(s, n), n, &limits, h, err);
}

static void good_head(const char *s, size_t head_len, const char *method, const char *target,
                      int minor, size_t nheaders) {
  size_t n = strlen(s);
  zh_http_header hdrs[10];
  zh_http_head h;
  zh_http_parse_error err = {0};
  long r = parse(s, n, &h, hdrs, &err);
  if (r != (long)head_len)
    fprintf(stderr, "head %.40s: got %ld (%s)\n", s, r, r == ZH_HTTP_BAD ? err.reason : "");
  CHECK_EQ_INT(r, head_len);
  if (r > 0) {
    CHECK(h.method_len == strlen(method) && memcmp(h.method, method, h.method_len) == 0);
    CHECK(h.target_len == strlen(target) && memcmp(h.target, target, h.target_len) == 0);
    CHECK_EQ_INT(h.version_minor, minor);
    CHECK_EQ_INT(h.nheaders, nheaders);
  }
  /* Byte at a time: each shorter prefix is incomplete. */
  bool all_incomplete = true;
  for (size_t k = 0; k < head_len; k++)
    all_incomplete &= parse(s, k, &h, hdrs, &err) == ZH_HTTP_INCOMPLETE;
  CHECK(all_incomplete);
}

static void bad_head(const char *s, int status, size_t offset, const char *reason) {
  size_t n = strlen(s);
  zh_http_header hdrs[10];
  zh_http_head h;
  zh_http_parse_error err = {0};
  long r = parse(s, n, &h, hdrs, &err);
  CHECK_EQ_INT(r, ZH_HTTP_BAD);
  if (r == ZH_HTTP_BAD &&
      (err.status != status || err.offset != offset || strcmp(err.reason, reason) != 0))
    fprintf(stderr, "bad head %.30s: got %d at %zu '%s'\n", s, err.status, err.offset, err.reason);
  CHECK_EQ_INT(err.status, status);
  CHECK_EQ_INT(err.offset, offset);
  CHECK(strcmp(err.reason, reason) == 0);
  /* Prefixes: incomplete, or already the same error. */
  bool consistent = true;
  for (size_t k = 0; k < n; k++) {
    zh_http_parse_error e2 = {0};
    long r2 = parse(s, k, &h, hdrs, &e2);
    consistent &= r2 == ZH_HTTP_INCOMPLETE || (r2 == ZH_HTTP_BAD && e2.status == status);
  }
  CHECK(consistent);
}

static void test_heads(void) {
  good_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, "GET", "/", 1, 1);
  good_head("GET /x?y=1 HTTP/1.0\nA: b\n\n", 26, "GET", "/x?y=1", 0, 1);
  good_head("\r\n\nPOST * HTTP/1.1\r\n\r\nBODY", 22, "POST", "*", 1, 0);
  good_head("PUT /p HTTP/1.9\r\nA:\r\nB:  v  v \t\r\nC: \x80\xff\r\n\r\n", 42, "PUT", "/p", 9, 3);
  good_head("GET / HTTP/1.1\r\nA: 0123456789\tabcdef\x80\xff tail\r\n\r\n", 47, "GET", "/", 1, 1);
  good_head("GET http://h/p HTTP/1.1\r\nX-Y-Z: 1\r\n\r\n", 37, "GET", "http://h/p", 1, 1);

  /* Values are trimmed; names are as sent. */
  zh_http_header hdrs[10];
  zh_http_head h;
  zh_http_parse_error err;
  const char *s = "GET / HTTP/1.1\r\nX-Case: \t a b \t\r\nempty:\r\n\r\n";
  CHECK(parse(s, strlen(s), &h, hdrs, &err) > 0);
  CHECK(hdrs[0].name_len == 6 && memcmp(hdrs[0].name, "X-Case", 6) == 0);
  CHECK(hdrs[0].value_len == 3 && memcmp(hdrs[0].value, "a b", 3) == 0);
  CHECK(hdrs[1].value_len == 0);

  bad_head("GET  / HTTP/1.1\r\n\r\n", 400, 4, "empty request target");
  bad_head(" GET / HTTP/1.1\r\n\r\n", 400, 0, "empty method");
  bad_head("GE(T / HTTP/1.1\r\n\r\n", 400, 2, "bad character in method");
  bad_head("GET /\x7f HTTP/1.1\r\n\r\n", 400, 5, "bad character in request target");
  bad_head("GET / HTTP/1.1 \r\n\r\n", 400, 14, "expected end of request line");
  bad_head("GET / HTTP/11\r\n\r\n", 400, 12, "malformed HTTP version");
  bad_head("GET / HTTP/2.0\r\n\r\n", 505, 11, "HTTP version not supported");
  bad_head("GET / HTTP/1.1\rX\n\r\n", 400, 14, "expected end of request line");
  bad_head("GET / HTTP/1.1\r\nA : b\r\n\r\n", 400, 17, "whitespace before colon in header field");
  bad_head("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400, 22, "obsolete line folding");
  bad_head("GET / HTTP/1.1\r\n: b\r\n\r\n", 400, 16, "empty header name");
  bad_head("GET / HTTP/1.1\r\nA\"B: b\r\n\r\n", 400, 17, "bad character in header name");
  bad_head("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400, 20, "control character in header value");
  /* past the first eight bytes of a value, and a DEL, at their exact offsets */
  bad_head("GET / HTTP/1.1\r\nA: 0123456789abc\x01\r\n\r\n", 400, 32,
           "control character in header value");
  bad_head("GET / HTTP/1.1\r\nA: 0123456789abcdef\x7f\r\n\r\n", 400, 35,
           "control character in header value");
  bad_head("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400, 20, "bare CR");
  bad_head("GET / HTTP/1.1\r\n\rX", 400, 16, "bare CR");
  bad_head("GET /0123456789012345678901234567890123456789012345678901234567890123456789"
           " HTTP/1.1\r\n\r\n",
           414, 69, "request target too long");
  bad_head("GET / HTTP/1.1\r\nA:1\r\nA:2\r\nA:3\r\nA:4\r\nA:5\r\nA:6\r\nA:7\r\nA:8\r\nA:9\r\n"
           "A:10\r\nA:11\r\n\r\n",
           431, 67, "too many header fields");
  /* 414 is known before the request line ends. */
  const char *longurl =
      "GET /0123456789012345678901234567890123456789012345678901234567890123456789";
  CHECK_EQ_INT(parse(longurl, strlen(longurl), &h, hdrs, &err), ZH_HTTP_BAD);
  CHECK_EQ_INT(err.status, 414);

  size_t line, col;
  zh_http_line_col("ab\ncd\nef", 7, &line, &col);
  CHECK(line == 3 && col == 2);
}

/* Decodes s with pieces of `step` input bytes and at most max_data data bytes per call.
 * Returns the status it ended with; the data goes to out. */
static int decode(const char *s, size_t n, size_t step, size_t max_data, char *out, size_t *out_len,
                  size_t *used_total, const char **reason) {
  zh_http_chunked dec = {0};
  dec.max_trailer = 64;
  *out_len = 0;
  size_t pos = 0;
  for (;;) {
    size_t avail = n - pos < step ? n - pos : step;
    const char *in = at_guard(s + pos, avail);
    size_t used, dlen;
    const char *data;
    int r = zh_http_chunked_next(&dec, in, avail, max_data, &used, &data, &dlen, reason);
    if (used > avail)
      return -100; /* never */
    if (r == ZH_HTTP_CHUNK_DATA) {
      if (dlen == 0 || dlen > max_data || data < in || data + dlen > in + avail)
        return -101;
      memcpy(out + *out_len, data, dlen);
      *out_len += dlen;
    }
    pos += used;
    if (r == ZH_HTTP_CHUNK_END || r == ZH_HTTP_CHUNK_BAD) {
      *used_total = pos;
      return r;
    }
    if (r == ZH_HTTP_CHUNK_MORE && pos == n) {
      *used_total = pos;
      return r;
    }
  }
}

static void chunked_case(const char *s, int want, const char *data, size_t body_len,
                         const char *why) {
  size_t n = strlen(s);
  static const size_t steps[] = {1, 2, 3, 7, 4096};
  static const size_t maxes[] = {1, 3, 4096};
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
    for (size_t j = 0; j < sizeof maxes / sizeof *maxes; j++) {
      char out[256];
      size_t out_len = 0, used = 0;
      const char *reason = NULL;
      int r = decode(s, n, steps[i], maxes[j], out, &out_len, &used, &reason);
      bool ok = r == want;
      if (want == ZH_HTTP_CHUNK_END)
        ok = ok && out_len == strlen(data) && memcmp(out, data, out_len) == 0 && used == body_len;
      if (want == ZH_HTTP_CHUNK_BAD)
        ok = ok && reason && strcmp(reason, why) == 0;
      if (!ok)
        fprintf(stderr, "chunked %.20s step %zu max %zu: got %d '%.*s' used %zu (%s)\n", s,
                steps[i], maxes[j], r, (int)out_len, out, used, reason ? reason : "");
      CHECK(ok);
    }
  }
}

static void test_chunked(void) {
  chunked_case("5\r\nhello\r\n0\r\n\r\n", ZH_HTTP_CHUNK_END, "hello", 15, NULL);
  chunked_case("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1", ZH_HTTP_CHUNK_END, "hello", 15, NULL);
  chunked_case("3;a=1;b=\"x\"\r\nabc\r\n2 ; c\r\nde\r\n0\r\nT: x\r\nU: y\r\n\r\n",
               ZH_HTTP_CHUNK_END, "abcde", 46, NULL);
  chunked_case("A\nabcdefghij\n0\n\n", ZH_HTTP_CHUNK_END, "abcdefghij", 16, NULL);
  chunked_case("1D\r\n0123456789abcdefghijklmnopqrs\r\n0\r\n\r\n", ZH_HTTP_CHUNK_END,
               "0123456789abcdefghijklmnopqrs", 40, NULL);
  chunked_case("0\r\n\r\n", ZH_HTTP_CHUNK_END, "", 5, NULL);
  chunked_case("5\r\nhel", ZH_HTTP_CHUNK_MORE, "hel", 0, NULL);
  chunked_case("x\r\n", ZH_HTTP_CHUNK_BAD, NULL, 0, "expected a chunk size");
  chunked_case("\r\n", ZH_HTTP_CHUNK_BAD, NULL, 0, "expected a chunk size");
  chunked_case("3x\r\n", ZH_HTTP_CHUNK_BAD, NULL, 0, "bad character in chunk size");
  chunked_case("3\rx", ZH_HTTP_CHUNK_BAD, NULL, 0, "bare CR in chunk size line");
  chunked_case("3\r\nabcX", ZH_HTTP_CHUNK_BAD, NULL, 0, "missing CRLF after chunk data");
  chunked_case("3\r\nabc\rX", ZH_HTTP_CHUNK_BAD, NULL, 0, "missing CRLF after chunk data");
  chunked_case("1000000000000000\r\n", ZH_HTTP_CHUNK_BAD, NULL, 0, "chunk size too large");
  chunked_case("3;\x01\r\n", ZH_HTTP_CHUNK_BAD, NULL, 0, "control character in chunk extension");
  chunked_case("0\r\n:x\r\n\r\n", ZH_HTTP_CHUNK_BAD, NULL, 0, "bad trailer field");
  chunked_case("0\r\nA: \x02\r\n\r\n", ZH_HTTP_CHUNK_BAD, NULL, 0,
               "control character in trailer field");
  chunked_case("0\r\nA: b\rc", ZH_HTTP_CHUNK_BAD, NULL, 0, "bare CR in trailer section");
  chunked_case("0\r\nA: 0123456789012345678901234567890123456789012345678901234567890123\r\n\r\n",
               ZH_HTTP_CHUNK_BAD, NULL, 0, "trailer section too large");
}

/* The token table and the lowercasing copy against their definitions, for every byte at
 * every position of copies of 0 to 24 bytes that end at the guard page. */
static void test_token_and_lower(void) {
  static const char tchar[] = "!#$%&'*+-.^_`|~";
  for (int c = 0; c < 256; c++) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    CHECK(zh_http_is_token_char((unsigned char)c) == (alnum || (c && strchr(tchar, c))));
  }
  int bad = 0;
  for (size_t n = 0; n <= 24; n++) {
    for (int c = 0; c < 256; c++) {
      char src[24], got[24];
      for (size_t i = 0; i < n; i++)
        src[i] = (char)(i % 3 == 0 ? c : (c + (int)i * 37) & 0xff);
      zh_http_lower_copy(got, at_guard(src, n), n);
      for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)src[i];
        bad += got[i] != (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
      }
    }
  }
  CHECK_EQ_INT(bad, 0);
}

int main(void) {
  page = (size_t)sysconf(_SC_PAGESIZE);
  guard_base = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(guard_base != MAP_FAILED);
  if (guard_base == MAP_FAILED)
    TEST_SUMMARY();
  CHECK(mprotect(guard_base + page, page, PROT_NONE) == 0);
  test_heads();
  test_chunked();
  test_token_and_lower();
  munmap(guard_base, 2 * page);
  TEST_SUMMARY();
}
