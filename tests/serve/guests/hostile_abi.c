/* A wasi:http handler that breaks the canonical ABI on request, for
 * tests/serve/test_serve_hostile.c. Built from the bindings of tests/components/c-http (world
 * http-hello), with its own cabi_realloc, which overrides the bindings' weak one and lies
 * when told to:
 *   /forged           calls [method]incoming-request.path-with-query on a handle it never got
 *   /forged-drop      drops an own<fields> handle it never got
 *   /dropped          drops its headers handle, then calls fields.entries on it
 *   /realloc-oob      cabi_realloc answers a pointer past the end of memory
 *   /realloc-misaligned cabi_realloc answers a pointer one byte off the alignment asked for
 *   /realloc-overlap  cabi_realloc answers the address of live data (the canary): the host
 *                     writes the path over it and the guest answers 200 with what it sees
 *   /reenter          cabi_realloc calls an import (wasi:clocks/monotonic-clock.now) while
 *                     the host lowers a string into the guest
 *   /loop             loops forever
 *   /drain            reads the request body to its end, then answers 200 "read N bytes"
 *   anything else     200 "canary=C requests=N\n": a fresh instance shows the canary intact
 *                     and one request seen */
#include "http_hello.h"

#include <stdlib.h>
#include <string.h>

enum realloc_mode { HONEST, OUT_OF_BOUNDS, MISALIGNED, OVERLAP, REENTER };

static enum realloc_mode mode = HONEST;
static char canary[32] = "intact";
static unsigned requests;
static volatile unsigned spin; /* the loop's side effect, so it is not optimised away */

__attribute__((__export_name__("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size,
                                                                    size_t align, size_t new_size) {
  enum realloc_mode m = mode;
  mode = HONEST; /* one lie per request */
  switch (m) {
  case OUT_OF_BOUNDS:
    return (void *)(uintptr_t)0xfffffff0u;
  case OVERLAP:
    return canary;
  case REENTER:
    (void)http_hello_monotonic_clock_now();
    break;
  default:
    break;
  }
  (void)old_size;
  size_t a = align < 8 ? 8 : align;
  char *r = aligned_alloc(a, (new_size + 2 * a - 1) / a * a + a);
  if (r == NULL)
    __builtin_trap();
  if (m == MISALIGNED)
    return r + 1;
  if (ptr != NULL) {
    memcpy(r, ptr, old_size < new_size ? old_size : new_size);
    free(ptr);
  }
  return r;
}

/* Appends `s`, then the decimal `n` unless s ends the text; no stdio (it would import WASI
 * preview1, which this world does not have). */
static char *put(char *at, const char *s, unsigned long long n, bool number) {
  size_t len = strlen(s);
  memcpy(at, s, len);
  at += len;
  if (!number)
    return at;
  char digits[24];
  int k = 0;
  do
    digits[k++] = (char)('0' + n % 10);
  while ((n /= 10) != 0);
  while (k > 0)
    *at++ = digits[--k];
  return at;
}

static bool path_is(const http_hello_option_string_t *p, const char *want) {
  size_t n = strlen(want);
  return p->is_some && p->val.len == n && memcmp(p->val.ptr, want, n) == 0;
}

static void respond(http_hello_types_own_response_outparam_t out, const char *text) {
  http_hello_types_own_outgoing_response_t response =
      http_hello_types_constructor_outgoing_response(http_hello_types_constructor_fields());
  http_hello_result_own_types_outgoing_body_void_t body;
  http_hello_types_method_outgoing_response_body(
      http_hello_types_borrow_outgoing_response(response), &body);
  http_hello_result_own_types_outgoing_response_types_error_code_t result = {.is_err = false};
  result.val.ok = response;
  http_hello_types_static_response_outparam_set(out, &result);
  if (body.is_err)
    return;
  http_hello_result_own_streams_output_stream_void_t stream;
  http_hello_types_method_outgoing_body_write(http_hello_types_borrow_outgoing_body(body.val.ok),
                                              &stream);
  if (stream.is_err)
    return;
  http_hello_list_u8_t bytes = {(uint8_t *)text, strlen(text)};
  http_hello_result_void_streams_stream_error_t written;
  http_hello_streams_method_output_stream_blocking_write_and_flush(
      http_hello_streams_borrow_output_stream(stream.val.ok), &bytes, &written);
  http_hello_streams_output_stream_drop_own(stream.val.ok);
  http_hello_option_own_types_fields_t no_trailers = {.is_some = false};
  http_hello_result_void_types_error_code_t finished;
  http_hello_types_static_outgoing_body_finish(body.val.ok, &no_trailers, &finished);
}

/* Reads the request body to its end; how many bytes it had. */
static unsigned long long drain(http_hello_types_borrow_incoming_request_t req) {
  http_hello_result_own_types_incoming_body_void_t body;
  http_hello_types_method_incoming_request_consume(req, &body);
  if (body.is_err)
    return 0;
  http_hello_result_own_streams_input_stream_void_t stream;
  http_hello_types_method_incoming_body_stream(http_hello_types_borrow_incoming_body(body.val.ok),
                                               &stream);
  unsigned long long total = 0;
  for (bool more = !stream.is_err; more;) {
    http_hello_result_list_u8_streams_stream_error_t got;
    http_hello_streams_method_input_stream_blocking_read(
        http_hello_streams_borrow_input_stream(stream.val.ok), 65536, &got);
    more = !got.is_err;
    if (more) {
      total += got.val.ok.len;
      http_hello_list_u8_free(&got.val.ok);
    }
  }
  return total;
}

void http_hello_incoming_handler_handle(http_hello_types_own_incoming_request_t request,
                                        http_hello_types_own_response_outparam_t response_out) {
  requests++;
  http_hello_types_borrow_incoming_request_t req =
      http_hello_types_borrow_incoming_request(request);
  http_hello_option_string_t path;
  http_hello_types_method_incoming_request_path_with_query(req, &path);
  char text[128];
  if (path_is(&path, "/forged")) {
    http_hello_types_borrow_incoming_request_t forged = {0x7ff0};
    http_hello_types_method_incoming_request_path_with_query(forged, &path);
  } else if (path_is(&path, "/forged-drop")) {
    http_hello_types_fields_drop_own((http_hello_types_own_fields_t){4242});
  } else if (path_is(&path, "/dropped")) {
    http_hello_types_own_fields_t headers = http_hello_types_method_incoming_request_headers(req);
    http_hello_types_fields_drop_own(headers);
    http_hello_list_tuple2_types_field_name_types_field_value_t entries;
    http_hello_types_method_fields_entries(http_hello_types_borrow_fields(headers), &entries);
  } else if (path_is(&path, "/realloc-oob") || path_is(&path, "/realloc-overlap") ||
             path_is(&path, "/reenter")) {
    mode = path_is(&path, "/realloc-oob")       ? OUT_OF_BOUNDS
           : path_is(&path, "/realloc-overlap") ? OVERLAP
                                                : REENTER;
    http_hello_types_method_incoming_request_path_with_query(req, &path);
  } else if (path_is(&path, "/realloc-misaligned")) {
    /* list<tuple<string, list<u8>>>: the host asks for 4-byte alignment */
    http_hello_types_own_fields_t headers = http_hello_types_method_incoming_request_headers(req);
    mode = MISALIGNED;
    http_hello_list_tuple2_types_field_name_types_field_value_t entries;
    http_hello_types_method_fields_entries(http_hello_types_borrow_fields(headers), &entries);
  } else if (path_is(&path, "/loop")) {
    for (;;)
      spin++;
  } else if (path_is(&path, "/drain")) {
    *put(put(text, "read ", drain(req), true), " bytes\n", 0, false) = 0;
    http_hello_types_incoming_request_drop_own(request);
    respond(response_out, text);
    return;
  }
  /* Whatever survived: the canary as this instance sees it (it may hold the path the host
   * wrote over it, never more than its 32 bytes). */
  char seen[33];
  memcpy(seen, canary, 32);
  seen[32] = 0;
  *put(put(put(text, "canary=", 0, false), seen, 0, false), " requests=", requests, true) = 0;
  strcat(text, "\n");
  http_hello_types_incoming_request_drop_own(request);
  respond(response_out, text);
}
