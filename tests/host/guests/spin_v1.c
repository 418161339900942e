/* An older-SDK Spin HTTP handler (fermyon:spin/inbound-http) for the app host's tests. It
 * answers what it was given, so a test can check the conversion both ways:
 *   status   418 if the request has a header `x-teapot`, 200 otherwise; a header `x-status`
 *            (decimal) overrides it, so a test can make it answer a malformed status
 *   headers  x-method (the enum case index), x-uri, x-params (count), x-headers (count), and
 *            each request header `x-echo-*` echoed back
 *   body     "echo:" + the request body, or none at all if the request has `x-no-body` */
#include "spin_v1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_is(const spin_v1_string_t *s, const char *name) {
  return s->len == strlen(name) && memcmp(s->ptr, name, s->len) == 0;
}

static void add(spin_v1_http_types_headers_t *h, const char *name, const uint8_t *value,
                size_t len) {
  spin_v1_tuple2_string_string_t *t = &h->ptr[h->len++];
  spin_v1_string_dup(&t->f0, name);
  t->f1.ptr = malloc(len ? len : 1);
  memcpy(t->f1.ptr, value, len);
  t->f1.len = len;
}

static void add_num(spin_v1_http_types_headers_t *h, const char *name, unsigned long n) {
  char buf[32];
  int len = snprintf(buf, sizeof buf, "%lu", n);
  add(h, name, (const uint8_t *)buf, (size_t)len);
}

void spin_v1_inbound_http_handle_request(spin_v1_http_types_request_t *req,
                                         spin_v1_http_types_response_t *ret) {
  memset(ret, 0, sizeof *ret);
  ret->status = 200;
  bool body = true;
  spin_v1_http_types_headers_t *h = &ret->headers.val;
  ret->headers.is_some = true;
  h->ptr = calloc(req->headers.len + 4, sizeof *h->ptr);
  add_num(h, "x-method", req->method);
  add(h, "x-uri", req->uri.ptr, req->uri.len);
  add_num(h, "x-params", req->params.len);
  add_num(h, "x-headers", req->headers.len);
  for (size_t i = 0; i < req->headers.len; i++) {
    const spin_v1_tuple2_string_string_t *t = &req->headers.ptr[i];
    if (name_is(&t->f0, "x-teapot"))
      ret->status = 418;
    if (name_is(&t->f0, "x-no-body"))
      body = false;
    if (name_is(&t->f0, "x-status")) {
      char digits[16] = {0};
      memcpy(digits, t->f1.ptr, t->f1.len < 15 ? t->f1.len : 15);
      ret->status = (uint16_t)atoi(digits);
    }
    if (t->f0.len > 7 && memcmp(t->f0.ptr, "x-echo-", 7) == 0) {
      char name[128] = {0};
      memcpy(name, t->f0.ptr, t->f0.len < 127 ? t->f0.len : 127);
      add(h, name, t->f1.ptr, t->f1.len);
    }
  }
  if (body) {
    size_t n = req->body.is_some ? req->body.val.len : 0;
    ret->body.is_some = true;
    ret->body.val.ptr = malloc(5 + n);
    memcpy(ret->body.val.ptr, "echo:", 5);
    if (n)
      memcpy(ret->body.val.ptr + 5, req->body.val.ptr, n);
    ret->body.val.len = 5 + n;
  }
  spin_v1_http_types_request_free(req);
}
