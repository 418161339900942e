/* The plumbing every handler of the example needs: answering, reading a header, and a
 * counter in the `default` key-value store (Spin's key-value interface to read it,
 * wasi:keyvalue's atomic increment to count). */
#include "respond.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void respond(c_handler_types_own_response_outparam_t out, int status, const char *content_type,
             const char *body, size_t len) {
  c_handler_types_own_fields_t headers = c_handler_types_constructor_fields();
  c_handler_types_field_name_t name;
  c_handler_string_set(&name, "content-type");
  c_handler_types_field_value_t value = {(uint8_t *)content_type, strlen(content_type)};
  c_handler_result_void_types_header_error_t appended;
  c_handler_types_method_fields_append(c_handler_types_borrow_fields(headers), &name, &value,
                                       &appended);

  c_handler_types_own_outgoing_response_t response =
      c_handler_types_constructor_outgoing_response(headers);
  c_handler_result_void_void_t set_status;
  c_handler_types_method_outgoing_response_set_status_code(
      c_handler_types_borrow_outgoing_response(response), (uint16_t)status, &set_status);
  c_handler_result_own_types_outgoing_body_void_t outgoing;
  c_handler_types_method_outgoing_response_body(c_handler_types_borrow_outgoing_response(response),
                                                &outgoing);

  c_handler_result_own_types_outgoing_response_types_error_code_t result = {.is_err = false};
  result.val.ok = response;
  c_handler_types_static_response_outparam_set(out, &result);
  if (outgoing.is_err)
    return;

  c_handler_result_own_streams_output_stream_void_t stream;
  c_handler_types_method_outgoing_body_write(c_handler_types_borrow_outgoing_body(outgoing.val.ok),
                                             &stream);
  if (!stream.is_err) {
    /* blocking-write-and-flush takes at most 4096 bytes per call */
    for (size_t off = 0; off < len;) {
      size_t n = len - off < 4096 ? len - off : 4096;
      c_handler_list_u8_t bytes = {(uint8_t *)body + off, n};
      c_handler_result_void_streams_stream_error_t written;
      c_handler_streams_method_output_stream_blocking_write_and_flush(
          c_handler_streams_borrow_output_stream(stream.val.ok), &bytes, &written);
      if (written.is_err) {
        if (written.val.err.tag == C_HANDLER_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
          c_handler_error_error_drop_own(written.val.err.val.last_operation_failed);
        break; /* the client went away */
      }
      off += n;
    }
    c_handler_streams_output_stream_drop_own(stream.val.ok);
  }
  c_handler_option_own_types_fields_t no_trailers = {.is_some = false};
  c_handler_result_void_types_error_code_t finished;
  c_handler_types_static_outgoing_body_finish(outgoing.val.ok, &no_trailers, &finished);
  c_handler_result_void_types_error_code_free(&finished);
}

const char *request_header(c_handler_types_borrow_incoming_request_t req, const char *name,
                           char *buf, size_t size) {
  buf[0] = '\0';
  c_handler_types_own_fields_t headers = c_handler_types_method_incoming_request_headers(req);
  c_handler_types_field_name_t key;
  c_handler_string_set(&key, name);
  c_handler_list_types_field_value_t values;
  c_handler_types_method_fields_get(c_handler_types_borrow_fields(headers), &key, &values);
  if (values.len > 0) {
    size_t n = values.ptr[0].len < size - 1 ? values.ptr[0].len : size - 1;
    memcpy(buf, values.ptr[0].ptr, n);
    buf[n] = '\0';
  }
  c_handler_list_types_field_value_free(&values);
  c_handler_types_fields_drop_own(headers);
  return buf;
}

static void kv_error(const c_handler_key_value_error_t *e, char *err, size_t errsize) {
  static const char *const names[] = {"store-table-full", "no-such-store", "access-denied"};
  if (e->tag < 3)
    snprintf(err, errsize, "%s", names[e->tag]);
  else
    snprintf(err, errsize, "other: %.*s", (int)e->val.other.len, (const char *)e->val.other.ptr);
}

static void bucket_error(const c_handler_store_error_t *e, char *err, size_t errsize) {
  static const char *const names[] = {"no-such-store", "access-denied"};
  if (e->tag < 2)
    snprintf(err, errsize, "%s", names[e->tag]);
  else
    snprintf(err, errsize, "other: %.*s", (int)e->val.other.len, (const char *)e->val.other.ptr);
}

/* Adds `add` atomically through wasi:keyvalue (the same `default` store Spin's interface
 * sees): concurrent requests each count. */
static long long increment(const char *key, long long add, char *err, size_t errsize) {
  c_handler_string_t label, k;
  c_handler_string_set(&label, "default");
  c_handler_string_set(&k, key);
  c_handler_result_own_store_bucket_store_error_t opened;
  c_handler_store_open(&label, &opened);
  if (opened.is_err) {
    bucket_error(&opened.val.err, err, errsize);
    c_handler_result_own_store_bucket_store_error_free(&opened);
    return -1;
  }
  c_handler_result_s64_store_error_t r;
  c_handler_atomics_increment(c_handler_store_borrow_bucket(opened.val.ok), &k, add, &r);
  long long n = -1;
  if (r.is_err)
    bucket_error(&r.val.err, err, errsize);
  else
    n = r.val.ok;
  c_handler_result_s64_store_error_free(&r);
  c_handler_store_bucket_drop_own(opened.val.ok);
  return n;
}

long long counter(const char *key, long long add, char *err, size_t errsize) {
  if (add != 0)
    return increment(key, add, err, errsize);
  c_handler_string_t label, k;
  c_handler_string_set(&label, "default");
  c_handler_string_set(&k, key);
  c_handler_result_own_key_value_store_key_value_error_t opened;
  c_handler_key_value_static_store_open(&label, &opened);
  if (opened.is_err) {
    kv_error(&opened.val.err, err, errsize);
    c_handler_result_own_key_value_store_key_value_error_free(&opened);
    return -1;
  }
  long long n = -1;
  c_handler_result_option_list_u8_key_value_error_t got;
  c_handler_key_value_method_store_get(c_handler_key_value_borrow_store(opened.val.ok), &k, &got);
  if (got.is_err) {
    kv_error(&got.val.err, err, errsize);
  } else {
    char digits[32] = "0";
    if (got.val.ok.is_some && got.val.ok.val.len < sizeof digits) {
      memcpy(digits, got.val.ok.val.ptr, got.val.ok.val.len);
      digits[got.val.ok.val.len] = '\0';
    }
    n = strtoll(digits, NULL, 10);
  }
  c_handler_result_option_list_u8_key_value_error_free(&got);
  c_handler_key_value_store_drop_own(opened.val.ok);
  return n;
}
