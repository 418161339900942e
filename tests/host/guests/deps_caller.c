/* The caller of the component-dependency tests (tests/host/test_deps.c): an inbound-http
 * handler that calls zerohop:deps/text, linked by the app host to whatever its
 * [component.X.dependencies] names. The last path segment picks the call, the request body
 * is its input, the response body its output:
 *   /shout     shout(body)                 /reverse  reverse(body) (bytes)
 *   /merge     merge({body, 2, [x, y]}, {b, 40, [z]}) as "name qty tag,tag,..."
 *   /count     count() twice, "N,M"        /none     calls nothing, "none"
 *   /kv        kv-open(body)               /fetch    fetch(body), body an authority
 *   /boom      boom() (the dependency traps)
 *   /loop?n=N  echo(body) N times, each timed in the guest: the N durations in ns, one per
 *              line (bench/hops_call.sh); /loop-local?n=N copies the body in the caller
 *              instead (malloc and memcpy, what the callee's side amounts to), the reference;
 *              /loop-timer?n=N times nothing: what the two clock reads of a sample cost */
#include "deps_caller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool ends_with(const deps_caller_string_t *uri, const char *tail) {
  size_t n = strlen(tail), len = uri->len;
  const uint8_t *q = memchr(uri->ptr, '?', len);
  if (q)
    len = (size_t)(q - uri->ptr);
  return len >= n && memcmp(uri->ptr + len - n, tail, n) == 0;
}

static void answer(deps_caller_http_types_response_t *ret, uint16_t status, const uint8_t *data,
                   size_t len) {
  ret->status = status;
  ret->body.is_some = true;
  ret->body.val.ptr = malloc(len ? len : 1);
  if (len)
    memcpy(ret->body.val.ptr, data, len);
  ret->body.val.len = len;
}

static void answer_str(deps_caller_http_types_response_t *ret, const char *s) {
  answer(ret, 200, (const uint8_t *)s, strlen(s));
}

static void put_item(char *out, size_t cap, const deps_caller_text_item_t *it) {
  int n = snprintf(out, cap, "%.*s %u ", (int)it->name.len, (const char *)it->name.ptr, it->qty);
  for (size_t i = 0; n > 0 && (size_t)n < cap && i < it->tags.len; i++)
    n += snprintf(out + n, cap - (size_t)n, "%s%.*s", i ? "," : "", (int)it->tags.ptr[i].len,
                  (const char *)it->tags.ptr[i].ptr);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A copy in the caller's own memory: the reference for the call's cost. */
static void echo_local(const deps_caller_list_u8_t *b, deps_caller_list_u8_t *ret) {
  ret->ptr = malloc(b->len ? b->len : 1);
  memcpy(ret->ptr, b->ptr, b->len);
  ret->len = b->len;
}

enum { LOOP_CALL, LOOP_LOCAL, LOOP_TIMER };

static void loop(deps_caller_http_types_response_t *ret, const deps_caller_string_t *uri,
                 const deps_caller_string_t *in, int mode) {
  const uint8_t *q = memchr(uri->ptr, '=', uri->len);
  char digits[16] = {0};
  if (q)
    memcpy(digits, q + 1,
           (size_t)(uri->ptr + uri->len - q - 1) < 15 ? (size_t)(uri->ptr + uri->len - q - 1) : 15);
  size_t n = (size_t)atoi(digits), cap = n * 21 + 1, len = 0;
  char *text = malloc(cap);
  text[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    deps_caller_list_u8_t b = {in->ptr, in->len}, out = {NULL, 0};
    uint64_t t0 = now_ns();
    if (mode == LOOP_LOCAL)
      echo_local(&b, &out);
    else if (mode == LOOP_CALL)
      deps_caller_text_echo(&b, &out);
    uint64_t t1 = now_ns();
    deps_caller_list_u8_free(&out);
    len += (size_t)snprintf(text + len, cap - len, "%llu\n", (unsigned long long)(t1 - t0));
  }
  answer(ret, 200, (const uint8_t *)text, len);
  free(text);
}

void deps_caller_inbound_http_handle_request(deps_caller_http_types_request_t *req,
                                             deps_caller_http_types_response_t *ret) {
  memset(ret, 0, sizeof *ret);
  deps_caller_string_t in = {NULL, 0};
  if (req->body.is_some) {
    in.ptr = req->body.val.ptr;
    in.len = req->body.val.len;
  }
  const deps_caller_string_t *uri = &req->uri;
  if (ends_with(uri, "/shout") || ends_with(uri, "/kv") || ends_with(uri, "/fetch")) {
    deps_caller_string_t out;
    if (ends_with(uri, "/shout"))
      deps_caller_text_shout(&in, &out);
    else if (ends_with(uri, "/kv"))
      deps_caller_text_kv_open(&in, &out);
    else
      deps_caller_text_fetch(&in, &out);
    answer(ret, 200, out.ptr, out.len);
    deps_caller_string_free(&out);
  } else if (ends_with(uri, "/reverse")) {
    deps_caller_list_u8_t b = {in.ptr, in.len}, out;
    deps_caller_text_reverse(&b, &out);
    answer(ret, 200, out.ptr, out.len);
    deps_caller_list_u8_free(&out);
  } else if (ends_with(uri, "/merge")) {
    deps_caller_string_t t[3] = {{(uint8_t *)"x", 1}, {(uint8_t *)"y", 1}, {(uint8_t *)"z", 1}};
    deps_caller_text_item_t a = {in, 2, {t, 2}}, b = {{(uint8_t *)"b", 1}, 40, {t + 2, 1}}, out;
    deps_caller_text_merge(&a, &b, &out);
    char text[4096];
    put_item(text, sizeof text, &out);
    answer_str(ret, text);
    deps_caller_text_item_free(&out);
  } else if (ends_with(uri, "/count")) {
    uint32_t first = deps_caller_text_count();
    uint32_t second = deps_caller_text_count();
    char text[64];
    snprintf(text, sizeof text, "%u,%u", first, second);
    answer_str(ret, text);
  } else if (ends_with(uri, "/boom")) {
    char text[64];
    snprintf(text, sizeof text, "boom returned %u", deps_caller_text_boom());
    answer_str(ret, text);
  } else if (ends_with(uri, "/loop") || ends_with(uri, "/loop-local") ||
             ends_with(uri, "/loop-timer")) {
    loop(ret, uri, &in,
         ends_with(uri, "/loop-local")   ? LOOP_LOCAL
         : ends_with(uri, "/loop-timer") ? LOOP_TIMER
                                         : LOOP_CALL);
  } else if (ends_with(uri, "/none")) {
    answer_str(ret, "none");
  } else {
    answer(ret, 404, (const uint8_t *)"?", 1);
  }
  deps_caller_http_types_request_free(req);
}
