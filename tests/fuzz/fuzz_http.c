/* libFuzzer harness for the HTTP parsers (src/http/http_parse.c): one input is a request
 * head followed by a chunked body. The head parser runs on the whole input and on a prefix
 * (a prefix must never succeed with a longer head than the whole); the chunked decoder
 * runs on what follows the head, in pieces whose sizes come from the input's first byte,
 * and must give the same bytes and the same end as when it gets everything at once.
 * Build and run: `make fuzz-run` (tests/fuzz/README.md). */
#include "http/http_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t decode(const char *in, size_t len, size_t step, size_t max_data, char *out,
                     int *end) {
  zh_http_chunked dec = {0};
  size_t pos = 0, out_len = 0;
  for (;;) {
    size_t avail = len - pos < step ? len - pos : step;
    size_t used, dlen;
    const char *d, *why;
    int r = zh_http_chunked_next(&dec, in + pos, avail, max_data, &used, &d, &dlen, &why);
    if (used > avail)
      abort();
    if (r == ZH_HTTP_CHUNK_DATA) {
      if (dlen == 0 || dlen > max_data || d < in + pos || d + dlen > in + pos + avail)
        abort();
      memcpy(out + out_len, d, dlen);
      out_len += dlen;
    }
    pos += used;
    if (r == ZH_HTTP_CHUNK_END || r == ZH_HTTP_CHUNK_BAD ||
        (r == ZH_HTTP_CHUNK_MORE && pos == len)) {
      *end = r == ZH_HTTP_CHUNK_MORE ? 10 + (int)pos : r;
      return out_len;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t step = 1 + data[0] % 17;
  const char *in = (const char *)data + 1;
  size_t len = size - 1;
  zh_http_header headers[16];
  zh_http_head head = {.headers = headers};
  zh_http_limits limits = {16, 512};
  zh_http_parse_error err;
  long r = zh_http_parse_head(in, len, &limits, &head, &err);
  if (r > (long)len)
    abort();
  if (r > 0) {
    /* Every field is inside the input. */
    for (size_t i = 0; i < head.nheaders; i++) {
      if (headers[i].name < in || headers[i].value + headers[i].value_len > in + r)
        abort();
    }
    zh_http_head again = {.headers = headers};
    if (zh_http_parse_head(in, (size_t)r - 1, &limits, &again, &err) > 0)
      abort(); /* a shorter input cannot hold the whole head */
  } else {
    r = 0;
  }
  const char *body = in + r;
  size_t blen = len - (size_t)r;
  char *a = malloc(blen + 1), *b = malloc(blen + 1);
  if (a && b) {
    int end_a, end_b;
    size_t na = decode(body, blen, blen + 1, blen + 1, a, &end_a);
    size_t nb = decode(body, blen, step, step, b, &end_b);
    if (na != nb || memcmp(a, b, na) != 0 || (end_a != end_b && !(end_a >= 10 && end_b >= 10)))
      abort();
  }
  free(a);
  free(b);
  return 0;
}
