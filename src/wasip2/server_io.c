/* The guest's incoming request and outgoing response, mapped onto zh_http_request calls. The
 * header lists convert between the WASI host's shape (names NUL-terminated, values as bytes)
 * and the server's (both with lengths). */
#include "wasip2/server_io.h"

#include <stdlib.h>
#include <string.h>

static zh_error *io_read(void *req, void *buf, size_t cap, size_t *got, bool *eof) {
  zh_wasip2_server_req *r = req;
  return zh_http_request_read(r->http, buf, cap, got, eof);
}

/* In `few` when they fit (almost every response), else in an array the caller frees. */
enum { FEW_HEADERS = 16 };
static zh_http_header *http_headers(const zh_wasip2_header *h, size_t n, zh_http_header *few) {
  zh_http_header *out = n <= FEW_HEADERS ? few : malloc(n * sizeof *out);
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    out[i].name = h[i].name;
    out[i].name_len = strlen(h[i].name);
    out[i].value = (const char *)h[i].value;
    out[i].value_len = h[i].value_len;
  }
  return out;
}

static zh_error *io_start(void *req, int status, const zh_wasip2_header *h, size_t n) {
  zh_wasip2_server_req *r = req;
  zh_http_header few[FEW_HEADERS];
  zh_http_header *hh = http_headers(h, n, few);
  if (!hh)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory for response headers");
  zh_error *err = zh_http_response_start(r->http, status, hh, n);
  if (hh != few)
    free(hh);
  if (!err)
    r->started = true;
  return err;
}

static zh_error *io_write(void *req, const void *data, size_t len) {
  zh_wasip2_server_req *r = req;
  return zh_http_response_write(r->http, data, len);
}

static zh_error *io_finish(void *req, const zh_wasip2_header *t, size_t n) {
  zh_wasip2_server_req *r = req;
  zh_http_header few[FEW_HEADERS];
  zh_http_header *hh = http_headers(t, n, few);
  if (!hh)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory for response trailers");
  zh_error *err = zh_http_response_finish(r->http, hh, n);
  if (hh != few)
    free(hh);
  if (!err)
    r->finished = true;
  return err;
}

const zh_wasip2_http_io zh_wasip2_server_io = {io_read, io_start, io_write, io_finish};

void zh_wasip2_server_respond(zh_http_request *http, int status, const zh_http_header *headers,
                              size_t nheaders, const void *body, size_t len) {
  zh_error *e = zh_http_response_start(http, status, headers, nheaders);
  if (!e && len)
    e = zh_http_response_write(http, body, len);
  if (!e)
    e = zh_http_response_finish(http, NULL, 0);
  zh_error_free(e); /* the client went away: nothing more to do */
}
