/* Answers 200 with a text/plain body that echoes the request, line by line:
 *   METHOD PATH-WITH-QUERY
 *   name: value          (every header, in the order the guest sees them)
 *   (an empty line, then the request body as received)
 * With the header `x-status: NNN` it answers that status instead. So a test can check, byte
 * for byte, what the app host hands a wasi:http component. */
#include "echo_http.h"

#include <stdlib.h>
#include <string.h>

typedef struct buf {
  uint8_t *p;
  size_t len, cap;
} buf;

static void put(buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n)
      cap *= 2;
    b->p = realloc(b->p, cap);
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static const char *const methods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                      "CONNECT", "OPTIONS", "TRACE", "PATCH"};

void echo_http_incoming_handler_handle(echo_http_types_own_incoming_request_t request,
                                       echo_http_types_own_response_outparam_t out) {
  echo_http_types_borrow_incoming_request_t req = echo_http_types_borrow_incoming_request(request);
  buf b = {0};
  echo_http_types_method_t m;
  echo_http_types_method_incoming_request_method(req, &m);
  if (m.tag == ECHO_HTTP_TYPES_METHOD_OTHER)
    put(&b, m.val.other.ptr, m.val.other.len);
  else
    puts_(&b, methods[m.tag]);
  echo_http_types_method_free(&m);
  puts_(&b, " ");
  echo_http_option_string_t pq;
  echo_http_types_method_incoming_request_path_with_query(req, &pq);
  if (pq.is_some)
    put(&b, pq.val.ptr, pq.val.len);
  echo_http_option_string_free(&pq);
  puts_(&b, "\n");

  int status = 200;
  echo_http_types_own_fields_t headers = echo_http_types_method_incoming_request_headers(req);
  echo_http_list_tuple2_types_field_name_types_field_value_t entries;
  echo_http_types_method_fields_entries(echo_http_types_borrow_fields(headers), &entries);
  for (size_t i = 0; i < entries.len; i++) {
    put(&b, entries.ptr[i].f0.ptr, entries.ptr[i].f0.len);
    puts_(&b, ": ");
    put(&b, entries.ptr[i].f1.ptr, entries.ptr[i].f1.len);
    puts_(&b, "\n");
    if (entries.ptr[i].f0.len == 8 && memcmp(entries.ptr[i].f0.ptr, "x-status", 8) == 0) {
      char digits[4] = {0};
      memcpy(digits, entries.ptr[i].f1.ptr, entries.ptr[i].f1.len < 3 ? entries.ptr[i].f1.len : 3);
      status = atoi(digits);
    }
  }
  echo_http_list_tuple2_types_field_name_types_field_value_free(&entries);
  echo_http_types_fields_drop_own(headers);
  puts_(&b, "\n");

  echo_http_result_own_types_incoming_body_void_t body;
  echo_http_types_method_incoming_request_consume(req, &body);
  if (!body.is_err) {
    echo_http_result_own_streams_input_stream_void_t in;
    echo_http_types_method_incoming_body_stream(echo_http_types_borrow_incoming_body(body.val.ok),
                                                &in);
    if (!in.is_err) {
      for (;;) {
        echo_http_result_list_u8_streams_stream_error_t chunk;
        echo_http_streams_method_input_stream_blocking_read(
            echo_http_streams_borrow_input_stream(in.val.ok), 65536, &chunk);
        if (chunk.is_err) {
          if (chunk.val.err.tag == ECHO_HTTP_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
            echo_http_error_error_drop_own(chunk.val.err.val.last_operation_failed);
          break;
        }
        put(&b, chunk.val.ok.ptr, chunk.val.ok.len);
        echo_http_list_u8_free(&chunk.val.ok);
      }
      echo_http_streams_input_stream_drop_own(in.val.ok);
    }
    echo_http_types_incoming_body_drop_own(body.val.ok);
  }
  echo_http_types_incoming_request_drop_own(request);

  echo_http_types_own_fields_t rh = echo_http_types_constructor_fields();
  echo_http_types_field_name_t name;
  echo_http_string_set(&name, "content-type");
  echo_http_types_field_value_t value = {(uint8_t *)"text/plain", 10};
  echo_http_result_void_types_header_error_t appended;
  echo_http_types_method_fields_append(echo_http_types_borrow_fields(rh), &name, &value, &appended);
  echo_http_types_own_outgoing_response_t resp = echo_http_types_constructor_outgoing_response(rh);
  echo_http_result_void_void_t set;
  echo_http_types_method_outgoing_response_set_status_code(
      echo_http_types_borrow_outgoing_response(resp), (uint16_t)status, &set);
  echo_http_result_own_types_outgoing_body_void_t ob;
  echo_http_types_method_outgoing_response_body(echo_http_types_borrow_outgoing_response(resp), &ob);
  echo_http_result_own_types_outgoing_response_types_error_code_t result = {.is_err = false};
  result.val.ok = resp;
  echo_http_types_static_response_outparam_set(out, &result);
  if (ob.is_err) {
    free(b.p);
    return;
  }
  echo_http_result_own_streams_output_stream_void_t os;
  echo_http_types_method_outgoing_body_write(echo_http_types_borrow_outgoing_body(ob.val.ok), &os);
  if (!os.is_err) {
    for (size_t off = 0; off < b.len;) {
      size_t n = b.len - off < 4096 ? b.len - off : 4096;
      echo_http_list_u8_t bytes = {b.p + off, n};
      echo_http_result_void_streams_stream_error_t w;
      echo_http_streams_method_output_stream_blocking_write_and_flush(
          echo_http_streams_borrow_output_stream(os.val.ok), &bytes, &w);
      if (w.is_err) {
        if (w.val.err.tag == ECHO_HTTP_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
          echo_http_error_error_drop_own(w.val.err.val.last_operation_failed);
        break;
      }
      off += n;
    }
    echo_http_streams_output_stream_drop_own(os.val.ok);
  }
  echo_http_option_own_types_fields_t none = {.is_some = false};
  echo_http_result_void_types_error_code_t fin;
  echo_http_types_static_outgoing_body_finish(ob.val.ok, &none, &fin);
  echo_http_result_void_types_error_code_free(&fin);
  free(b.p);
}
