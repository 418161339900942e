/* A wasi:http handler that misbehaves on request, for `zerohop serve`'s tests (tests/serve):
 *   /trap       traps (unreachable) before setting a response
 *   /loop       loops forever before setting a response: cut at --timeout
 *   /endless    sets a 200 response, then writes its body forever: cut at --timeout after
 *               the response has started
 *   /error      sets an error-code response (internal-error)
 *   anything else: 200 "still serving\n"
 * Built from the same bindings as hello.c (world http-hello). */
#include "http_hello.h"

#include <string.h>

static const char ok_text[] = "still serving\n";

/* An observable side effect in the loop, so the compiler cannot remove it. */
static volatile unsigned spin;

static bool path_is(const http_hello_option_string_t *p, const char *want) {
  size_t n = strlen(want);
  return p->is_some && p->val.len == n && memcmp(p->val.ptr, want, n) == 0;
}

static void respond(http_hello_types_own_response_outparam_t out, bool forever) {
  http_hello_types_own_fields_t headers = http_hello_types_constructor_fields();
  http_hello_types_own_outgoing_response_t response =
      http_hello_types_constructor_outgoing_response(headers);
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
  static uint8_t chunk[4096];
  memset(chunk, 'x', sizeof chunk);
  http_hello_list_u8_t bytes = {(uint8_t *)ok_text, sizeof ok_text - 1};
  if (forever)
    bytes = (http_hello_list_u8_t){chunk, sizeof chunk};
  do {
    http_hello_result_void_streams_stream_error_t written;
    http_hello_streams_method_output_stream_blocking_write_and_flush(
        http_hello_streams_borrow_output_stream(stream.val.ok), &bytes, &written);
    if (written.is_err)
      for (;;) /* the host refused: keep running until the deadline cuts us */
        spin++;
  } while (forever);
  http_hello_streams_output_stream_drop_own(stream.val.ok);
  http_hello_option_own_types_fields_t no_trailers = {.is_some = false};
  http_hello_result_void_types_error_code_t finished;
  http_hello_types_static_outgoing_body_finish(body.val.ok, &no_trailers, &finished);
  http_hello_result_void_types_error_code_free(&finished);
}

void http_hello_incoming_handler_handle(http_hello_types_own_incoming_request_t request,
                                        http_hello_types_own_response_outparam_t response_out) {
  http_hello_option_string_t path;
  http_hello_types_method_incoming_request_path_with_query(
      http_hello_types_borrow_incoming_request(request), &path);
  http_hello_types_incoming_request_drop_own(request);
  if (path_is(&path, "/trap"))
    __builtin_trap();
  if (path_is(&path, "/loop"))
    for (;;)
      spin++;
  if (path_is(&path, "/error")) {
    http_hello_result_own_types_outgoing_response_types_error_code_t result = {.is_err = true};
    result.val.err.tag = HTTP_HELLO_TYPES_ERROR_CODE_INTERNAL_ERROR;
    result.val.err.val.internal_error.is_some = false;
    http_hello_types_static_response_outparam_set(response_out, &result);
    return;
  }
  respond(response_out, path_is(&path, "/endless"));
}
