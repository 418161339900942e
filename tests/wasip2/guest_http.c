/* A guest of world zh:wp2test/http (tests/wasip2/wit): an incoming-handler that streams the
 * request body back, and `run(which)` cases for wasi:http fields rules and outgoing requests.
 * Reports go to stdout through wasi:cli/stdout. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

typedef http_string_t str_t;

static http_streams_own_output_stream_t out;

static void put_bytes(http_streams_own_output_stream_t o, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    size_t k = n < 4096 ? n : 4096;
    http_list_u8_t l = {(uint8_t *)b, k};
    http_result_void_streams_stream_error_t r;
    http_streams_method_output_stream_blocking_write_and_flush(http_streams_borrow_output_stream(o),
                                                               &l, &r);
    if (r.is_err)
      return;
    b += k;
    n -= k;
  }
}

static void put(const char *s) { put_bytes(out, s, strlen(s)); }

static void put_u64(uint64_t v) {
  char buf[24];
  int i = 23;
  buf[i] = 0;
  do
    buf[--i] = (char)('0' + v % 10);
  while (v /= 10);
  put(buf + i);
}

static str_t str(const char *s) { return (str_t){(uint8_t *)s, strlen(s)}; }

/* ---- the incoming handler ---- */

static http_http_types_own_fields_t headers_of(const char *name, const char *value) {
  http_http_types_own_fields_t h = http_http_types_constructor_fields();
  str_t n = str(name);
  http_http_types_field_value_t v = {(uint8_t *)value, strlen(value)};
  http_result_void_http_types_header_error_t r;
  http_http_types_method_fields_append(http_http_types_borrow_fields(h), &n, &v, &r);
  return h;
}

static const char *const method_names[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                           "CONNECT", "OPTIONS", "TRACE", "PATCH"};

void http_incoming_handler_handle(http_http_types_own_incoming_request_t request,
                                  http_http_types_own_response_outparam_t response_out) {
  http_http_types_borrow_incoming_request_t req = http_http_types_borrow_incoming_request(request);
  http_option_string_t path;
  http_http_types_method_incoming_request_path_with_query(req, &path);
  bool is404 = path.is_some && path.val.len == 4 && memcmp(path.val.ptr, "/404", 4) == 0;
  bool fail = path.is_some && path.val.len == 5 && memcmp(path.val.ptr, "/fail", 5) == 0;
  bool nobody = path.is_some && path.val.len == 7 && memcmp(path.val.ptr, "/nobody", 7) == 0;
  if (nobody) { /* a response whose body is never asked for: empty */
    http_http_types_own_outgoing_response_t r =
        http_http_types_constructor_outgoing_response(http_http_types_constructor_fields());
    http_result_void_void_t sr;
    http_http_types_method_outgoing_response_set_status_code(
        http_http_types_borrow_outgoing_response(r), 204, &sr);
    http_result_own_http_types_outgoing_response_http_types_error_code_t res = {.is_err = false};
    res.val.ok = r;
    http_http_types_static_response_outparam_set(response_out, &res);
    http_option_string_free(&path);
    http_http_types_incoming_request_drop_own(request);
    return;
  }
  if (fail) {
    http_result_own_http_types_outgoing_response_http_types_error_code_t res = {.is_err = true};
    res.val.err.tag = HTTP_HTTP_TYPES_ERROR_CODE_HTTP_PROTOCOL_ERROR;
    http_http_types_static_response_outparam_set(response_out, &res);
    http_option_string_free(&path);
    http_http_types_incoming_request_drop_own(request);
    return;
  }
  http_http_types_method_t m;
  http_http_types_method_incoming_request_method(req, &m);
  /* the request header x-test, echoed as x-echo */
  http_http_types_own_fields_t rh = http_http_types_method_incoming_request_headers(req);
  str_t xt = str("x-test");
  http_list_http_types_field_value_t vals;
  http_http_types_method_fields_get(http_http_types_borrow_fields(rh), &xt, &vals);
  char echo[64] = "none";
  if (vals.len && vals.ptr[0].len < sizeof echo) {
    memcpy(echo, vals.ptr[0].ptr, vals.ptr[0].len);
    echo[vals.ptr[0].len] = 0;
  }
  http_list_http_types_field_value_free(&vals);
  http_http_types_fields_drop_own(rh);

  http_http_types_own_fields_t h = headers_of("x-echo", echo);
  str_t ct = str("x-method");
  http_http_types_field_value_t mv = {(uint8_t *)(m.tag < 9 ? method_names[m.tag] : "other"),
                                      strlen(m.tag < 9 ? method_names[m.tag] : "other")};
  http_result_void_http_types_header_error_t hr;
  http_http_types_method_fields_append(http_http_types_borrow_fields(h), &ct, &mv, &hr);
  http_http_types_method_free(&m);
  http_http_types_own_outgoing_response_t resp = http_http_types_constructor_outgoing_response(h);
  http_result_void_void_t sr;
  http_http_types_method_outgoing_response_set_status_code(
      http_http_types_borrow_outgoing_response(resp), is404 ? 404 : 201, &sr);
  http_result_own_http_types_outgoing_body_void_t ob;
  http_http_types_method_outgoing_response_body(http_http_types_borrow_outgoing_response(resp),
                                                &ob);
  http_http_types_own_outgoing_body_t body = ob.val.ok;
  http_result_own_streams_output_stream_void_t os;
  http_http_types_method_outgoing_body_write(http_http_types_borrow_outgoing_body(body), &os);
  http_streams_own_output_stream_t bout = os.val.ok;
  /* the response head goes out first, then the body is streamed through */
  http_result_own_http_types_outgoing_response_http_types_error_code_t res = {.is_err = false};
  res.val.ok = resp;
  http_http_types_static_response_outparam_set(response_out, &res);
  if (!is404) {
    put_bytes(bout, "path=", 5);
    if (path.is_some)
      put_bytes(bout, path.val.ptr, path.val.len);
    put_bytes(bout, ";body=", 6);
    http_result_own_http_types_incoming_body_void_t ib;
    http_http_types_method_incoming_request_consume(req, &ib);
    http_result_own_streams_input_stream_void_t is;
    http_http_types_method_incoming_body_stream(http_http_types_borrow_incoming_body(ib.val.ok),
                                                &is);
    for (;;) {
      http_result_list_u8_streams_stream_error_t rd;
      http_streams_method_input_stream_blocking_read(http_streams_borrow_input_stream(is.val.ok),
                                                     65536, &rd);
      if (rd.is_err) {
        if (rd.val.err.tag == HTTP_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) {
          http_string_t msg;
          http_error_method_error_to_debug_string(
              http_error_borrow_error(rd.val.err.val.last_operation_failed), &msg);
          put_bytes(bout, ";error=", 7);
          put_bytes(bout, msg.ptr, msg.len);
          http_string_free(&msg);
          http_error_error_drop_own(rd.val.err.val.last_operation_failed);
        }
        break;
      }
      put_bytes(bout, rd.val.ok.ptr, rd.val.ok.len);
      http_result_list_u8_streams_stream_error_free(&rd);
    }
    http_streams_input_stream_drop_own(is.val.ok);
    http_http_types_own_future_trailers_t ft =
        http_http_types_static_incoming_body_finish(ib.val.ok);
    http_http_types_future_trailers_drop_own(ft);
  }
  http_streams_output_stream_drop_own(bout);
  http_option_own_http_types_fields_t no_trailers = {false, {0}};
  http_result_void_http_types_error_code_t fr;
  http_http_types_static_outgoing_body_finish(body, &no_trailers, &fr);
  http_option_string_free(&path);
  http_http_types_incoming_request_drop_own(request);
}

/* ---- fields rules ---- */

static void report(const char *what, const http_result_void_http_types_header_error_t *r) {
  put(what);
  put("=");
  if (r->is_err)
    put_u64(r->val.err.tag);
  else
    put("ok");
  put(" ");
}

static int32_t fields(void) {
  http_http_types_own_fields_t f = http_http_types_constructor_fields();
  http_http_types_borrow_fields_t b = http_http_types_borrow_fields(f);
  http_result_void_http_types_header_error_t r;
  str_t n = str("X-A");
  http_http_types_field_value_t v = {(uint8_t *)"1", 1};
  http_http_types_method_fields_append(b, &n, &v, &r);
  report("append", &r);
  /* three more: the host's fields outgrow their first, inline array */
  const char *more[] = {"x-d", "x-e", "x-f"};
  for (int i = 0; i < 3; i++) {
    n = str(more[i]);
    http_http_types_method_fields_append(b, &n, &v, &r);
  }
  report("append_more", &r);
  n = str("Connection");
  http_http_types_method_fields_append(b, &n, &v, &r);
  report("forbidden", &r);
  n = str("bad name");
  http_http_types_method_fields_append(b, &n, &v, &r);
  report("badname", &r);
  n = str("x-b");
  http_http_types_field_value_t bad = {(uint8_t *)"a\nb", 3};
  http_http_types_method_fields_append(b, &n, &bad, &r);
  report("badvalue", &r);
  str_t xa = str("x-a");
  http_list_http_types_field_value_t got;
  http_http_types_method_fields_get(b, &xa, &got);
  put("get=");
  put_u64(got.len);
  put(got.len == 1 && got.ptr[0].len == 1 && got.ptr[0].ptr[0] == '1' ? ":1 " : ":? ");
  http_list_http_types_field_value_free(&got);
  /* from-list with a forbidden header */
  http_tuple2_http_types_field_name_http_types_field_value_t e = {str("host"), v};
  http_list_tuple2_http_types_field_name_http_types_field_value_t list = {&e, 1};
  http_result_own_http_types_fields_http_types_header_error_t fl;
  http_http_types_static_fields_from_list(&list, &fl);
  put("fromlist=");
  if (fl.is_err)
    put_u64(fl.val.err.tag);
  else
    put("ok");
  put(" ");
  /* headers of a response are immutable */
  http_http_types_own_outgoing_response_t resp = http_http_types_constructor_outgoing_response(f);
  http_http_types_own_fields_t rh = http_http_types_method_outgoing_response_headers(
      http_http_types_borrow_outgoing_response(resp));
  n = str("x-c");
  http_http_types_method_fields_append(http_http_types_borrow_fields(rh), &n, &v, &r);
  report("immutable_append", &r);
  http_http_types_method_fields_delete(http_http_types_borrow_fields(rh), &xa, &r);
  report("immutable_delete", &r);
  put("has=");
  put(http_http_types_method_fields_has(http_http_types_borrow_fields(rh), &xa) ? "yes " : "no ");
  http_http_types_own_fields_t c =
      http_http_types_method_fields_clone(http_http_types_borrow_fields(rh));
  http_http_types_method_fields_append(http_http_types_borrow_fields(c), &n, &v, &r);
  report("clone_append", &r);
  http_list_tuple2_http_types_field_name_http_types_field_value_t ents;
  http_http_types_method_fields_entries(http_http_types_borrow_fields(c), &ents);
  put("entries=");
  put_u64(ents.len);
  put("\n");
  http_list_tuple2_http_types_field_name_http_types_field_value_free(&ents);
  http_http_types_fields_drop_own(c);
  http_http_types_fields_drop_own(rh);
  http_http_types_outgoing_response_drop_own(resp);
  return 0;
}

/* ---- outgoing requests: "get AUTHORITY" / "post AUTHORITY" ---- */

static int32_t outgoing(const str_t *which) {
  bool post = which->ptr[0] == 'p';
  const char *sp = memchr(which->ptr, ' ', which->len);
  str_t auth = {(uint8_t *)sp + 1, which->len - (size_t)((const uint8_t *)sp + 1 - which->ptr)};
  http_http_types_own_fields_t h = headers_of("x-req", "from-guest");
  if (post) {
    str_t cl = str("content-length");
    http_http_types_field_value_t four = {(uint8_t *)"4", 1};
    http_result_void_http_types_header_error_t r;
    http_http_types_method_fields_append(http_http_types_borrow_fields(h), &cl, &four, &r);
  }
  http_http_types_own_outgoing_request_t req = http_http_types_constructor_outgoing_request(h);
  http_http_types_borrow_outgoing_request_t rb = http_http_types_borrow_outgoing_request(req);
  http_result_void_void_t ok;
  http_http_types_method_t m = {.tag = post ? HTTP_HTTP_TYPES_METHOD_POST
                                            : HTTP_HTTP_TYPES_METHOD_GET};
  http_http_types_method_outgoing_request_set_method(rb, &m, &ok);
  http_option_http_types_scheme_t sch = {true, {.tag = HTTP_HTTP_TYPES_SCHEME_HTTP}};
  http_http_types_method_outgoing_request_set_scheme(rb, &sch, &ok);
  http_option_string_t a = {true, auth};
  http_http_types_method_outgoing_request_set_authority(rb, &a, &ok);
  http_option_string_t p = {true, str(post ? "/post?x=1" : "/hello")};
  http_http_types_method_outgoing_request_set_path_with_query(rb, &p, &ok);
  http_http_types_own_outgoing_body_t body = {0};
  if (post) {
    http_result_own_http_types_outgoing_body_void_t ob;
    http_http_types_method_outgoing_request_body(rb, &ob);
    body = ob.val.ok;
  }
  http_result_own_http_types_future_incoming_response_http_types_error_code_t fr;
  http_outgoing_handler_handle(req, &(http_option_own_http_types_request_options_t){0}, &fr);
  if (fr.is_err) {
    put("error=");
    put_u64(fr.val.err.tag);
    put("\n");
    if (post)
      http_http_types_outgoing_body_drop_own(body);
    return 0;
  }
  if (post) { /* the body is written after handle: it streams into the running request */
    http_result_own_streams_output_stream_void_t os;
    http_http_types_method_outgoing_body_write(http_http_types_borrow_outgoing_body(body), &os);
    put_bytes(os.val.ok, "ping", 4);
    http_streams_output_stream_drop_own(os.val.ok);
    http_option_own_http_types_fields_t none = {false, {0}};
    http_result_void_http_types_error_code_t fin;
    http_http_types_static_outgoing_body_finish(body, &none, &fin);
  }
  http_http_types_borrow_future_incoming_response_t fb =
      http_http_types_borrow_future_incoming_response(fr.val.ok);
  http_poll_own_pollable_t pl = http_http_types_method_future_incoming_response_subscribe(fb);
  http_poll_method_pollable_block(http_poll_borrow_pollable(pl));
  http_poll_pollable_drop_own(pl);
  http_option_result_result_own_http_types_incoming_response_http_types_error_code_void_t got;
  http_http_types_method_future_incoming_response_get(fb, &got);
  http_http_types_future_incoming_response_drop_own(fr.val.ok);
  if (!got.is_some || got.val.is_err || got.val.val.ok.is_err) {
    put("failed");
    if (got.is_some && !got.val.is_err) {
      put("=");
      put_u64(got.val.val.ok.val.err.tag);
    }
    put("\n");
    return 0;
  }
  http_http_types_own_incoming_response_t resp = got.val.val.ok.val.ok;
  http_http_types_borrow_incoming_response_t rsb = http_http_types_borrow_incoming_response(resp);
  put("status=");
  put_u64(http_http_types_method_incoming_response_status(rsb));
  http_http_types_own_fields_t rh = http_http_types_method_incoming_response_headers(rsb);
  str_t xs = str("x-server");
  http_list_http_types_field_value_t vals;
  http_http_types_method_fields_get(http_http_types_borrow_fields(rh), &xs, &vals);
  put(" x-server=");
  if (vals.len)
    put_bytes(out, vals.ptr[0].ptr, vals.ptr[0].len);
  http_list_http_types_field_value_free(&vals);
  http_http_types_fields_drop_own(rh);
  http_result_own_http_types_incoming_body_void_t ib;
  http_http_types_method_incoming_response_consume(rsb, &ib);
  http_result_own_streams_input_stream_void_t is;
  http_http_types_method_incoming_body_stream(http_http_types_borrow_incoming_body(ib.val.ok), &is);
  put(" body=");
  for (;;) {
    http_result_list_u8_streams_stream_error_t rd;
    http_streams_method_input_stream_blocking_read(http_streams_borrow_input_stream(is.val.ok),
                                                   4096, &rd);
    if (rd.is_err)
      break;
    put_bytes(out, rd.val.ok.ptr, rd.val.ok.len);
    http_result_list_u8_streams_stream_error_free(&rd);
  }
  put("\n");
  http_streams_input_stream_drop_own(is.val.ok);
  http_http_types_incoming_body_drop_own(ib.val.ok);
  http_http_types_incoming_response_drop_own(resp);
  return 0;
}

int32_t http_run(str_t *which) {
  out = http_stdout_get_stdout();
  int32_t rc = -100;
  if (which->len == 6 && memcmp(which->ptr, "fields", 6) == 0)
    rc = fields();
  else if (which->len > 4 &&
           (memcmp(which->ptr, "get ", 4) == 0 || memcmp(which->ptr, "post ", 5) == 0))
    rc = outgoing(which);
  http_streams_output_stream_drop_own(out);
  http_string_free(which);
  return rc;
}
