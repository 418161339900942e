/* A wasi:http/incoming-handler in C: every request gets 200, "content-type: text/plain" and
 * the body "hello from C\n". The reference handler of `zerohop serve` and bench-serve: it does
 * the least a handler can do through the WASI 0.2 http interfaces.
 *
 * The bindings (http_hello.h/.c) come from `zerohop bindgen c` over world.wit; the handler
 * does no libc I/O, so the core module needs no preview1 adapter. */
#include "http_hello.h"

#include <string.h>

static const char body_text[] = "hello from C\n";

/* Sets the response before writing its body, as the interface allows: the host may start
 * sending the status and headers while the body is written. */
void http_hello_incoming_handler_handle(http_hello_types_own_incoming_request_t request,
                                        http_hello_types_own_response_outparam_t response_out) {
  http_hello_types_incoming_request_drop_own(request);

  http_hello_types_own_fields_t headers = http_hello_types_constructor_fields();
  http_hello_types_field_name_t name;
  http_hello_string_set(&name, "content-type");
  http_hello_types_field_value_t value = {(uint8_t *)"text/plain", strlen("text/plain")};
  http_hello_result_void_types_header_error_t appended;
  http_hello_types_method_fields_append(http_hello_types_borrow_fields(headers), &name, &value,
                                        &appended);

  http_hello_types_own_outgoing_response_t response =
      http_hello_types_constructor_outgoing_response(headers);
  http_hello_result_own_types_outgoing_body_void_t body;
  http_hello_types_method_outgoing_response_body(
      http_hello_types_borrow_outgoing_response(response), &body);

  http_hello_result_own_types_outgoing_response_types_error_code_t result = {.is_err = false};
  result.val.ok = response;
  http_hello_types_static_response_outparam_set(response_out, &result);
  if (body.is_err)
    return;

  http_hello_result_own_streams_output_stream_void_t stream;
  http_hello_types_method_outgoing_body_write(http_hello_types_borrow_outgoing_body(body.val.ok),
                                              &stream);
  if (!stream.is_err) {
    http_hello_list_u8_t bytes = {(uint8_t *)body_text, sizeof body_text - 1};
    http_hello_result_void_streams_stream_error_t written;
    http_hello_streams_method_output_stream_blocking_write_and_flush(
        http_hello_streams_borrow_output_stream(stream.val.ok), &bytes, &written);
    http_hello_streams_output_stream_drop_own(stream.val.ok);
  }
  http_hello_option_own_types_fields_t no_trailers = {.is_some = false};
  http_hello_result_void_types_error_code_t finished;
  http_hello_types_static_outgoing_body_finish(body.val.ok, &no_trailers, &finished);
  http_hello_result_void_types_error_code_free(&finished);
}
