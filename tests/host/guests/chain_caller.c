/* Forwards its request through wasi:http/outgoing-handler, for the service chaining tests
 * (tests/host/test_chain.c):
 *   the URL        the header x-chain-url: "http://ID.spin.internal/p?q", "/relative/path"
 *                  (no scheme, no authority: a self request), or any absolute URL;
 *   the method     the incoming one;
 *   the headers    the incoming ones whose names start with "x-", but x-chain-url, and
 *                  x-chain-then renamed x-chain-url (so the callee, another chain_caller,
 *                  forwards once more); with `x-chain-loop`, x-chain-url itself is
 *                  forwarded too (a chain to itself that never ends, but for the host);
 *   the body       the incoming one, read whole, for methods other than GET and HEAD; with
 *                  `x-chain-gen: N`, N bytes ('a' to 'z' repeated) made up instead.
 * It answers with what came back: the status, every header plus `x-chain-caller: forwarded`
 * (so a test can tell a forwarded 500 from the caller's own), with `x-chain-time` in the
 * request also `x-chain-hop-ns`: the nanoseconds from handing the request over to holding
 * the whole response, as the caller sees the hop (bench/chain_bench.c), and the body. When handle
 * or the future gives an error-code it answers 502 with "chain error: NAME\n". */
#include "chain_caller.h"

#include <stdio.h>
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

static void read_all(chain_caller_streams_borrow_input_stream_t in, buf *b) {
  for (;;) {
    chain_caller_result_list_u8_streams_stream_error_t chunk;
    chain_caller_streams_method_input_stream_blocking_read(in, 65536, &chunk);
    if (chunk.is_err) {
      if (chunk.val.err.tag == CHAIN_CALLER_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
        chain_caller_error_error_drop_own(chunk.val.err.val.last_operation_failed);
      return;
    }
    put(b, chunk.val.ok.ptr, chunk.val.ok.len);
    chain_caller_list_u8_free(&chunk.val.ok);
  }
}

static void write_all(chain_caller_streams_borrow_output_stream_t out, const buf *b) {
  for (size_t off = 0; off < b->len;) {
    size_t n = b->len - off < 4096 ? b->len - off : 4096;
    chain_caller_list_u8_t bytes = {b->p + off, n};
    chain_caller_result_void_streams_stream_error_t w;
    chain_caller_streams_method_output_stream_blocking_write_and_flush(out, &bytes, &w);
    if (w.is_err) {
      if (w.val.err.tag == CHAIN_CALLER_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
        chain_caller_error_error_drop_own(w.val.err.val.last_operation_failed);
      return;
    }
    off += n;
  }
}

/* Answers status with headers (consumed) and the body. */
static void respond(chain_caller_types_own_response_outparam_t out, uint16_t status,
                    chain_caller_types_own_fields_t headers, const buf *body) {
  chain_caller_types_own_outgoing_response_t resp =
      chain_caller_types_constructor_outgoing_response(headers);
  chain_caller_result_void_void_t set;
  chain_caller_types_method_outgoing_response_set_status_code(
      chain_caller_types_borrow_outgoing_response(resp), status, &set);
  chain_caller_result_own_types_outgoing_body_void_t ob;
  chain_caller_types_method_outgoing_response_body(
      chain_caller_types_borrow_outgoing_response(resp), &ob);
  chain_caller_result_own_types_outgoing_response_types_error_code_t result = {.is_err = false};
  result.val.ok = resp;
  chain_caller_types_static_response_outparam_set(out, &result);
  if (ob.is_err)
    return;
  chain_caller_result_own_streams_output_stream_void_t os;
  chain_caller_types_method_outgoing_body_write(chain_caller_types_borrow_outgoing_body(ob.val.ok),
                                                &os);
  if (!os.is_err) {
    write_all(chain_caller_streams_borrow_output_stream(os.val.ok), body);
    chain_caller_streams_output_stream_drop_own(os.val.ok);
  }
  chain_caller_option_own_types_fields_t none = {.is_some = false};
  chain_caller_result_void_types_error_code_t fin;
  chain_caller_types_static_outgoing_body_finish(ob.val.ok, &none, &fin);
  chain_caller_result_void_types_error_code_free(&fin);
}

static void respond_error(chain_caller_types_own_response_outparam_t out, uint8_t tag) {
  static const char *const names[] = {
      [15] = "HTTP-request-denied",    [19] = "HTTP-request-URI-invalid",
      [22] = "HTTP-request-body-size", [28] = "HTTP-response-body-size",
      [36] = "loop-detected",          [38] = "internal-error"};
  char text[64];
  const char *name = tag < sizeof names / sizeof names[0] ? names[tag] : NULL;
  if (name)
    snprintf(text, sizeof text, "chain error: %s\n", name);
  else
    snprintf(text, sizeof text, "chain error: %u\n", tag);
  buf b = {(uint8_t *)text, strlen(text), 0};
  respond(out, 502, chain_caller_types_constructor_fields(), &b);
}

static bool name_is(const chain_caller_string_t *s, const char *want) {
  return s->len == strlen(want) && memcmp(s->ptr, want, s->len) == 0;
}

/* Splits "scheme://authority/path?q" (or "/path?q") onto the request. */
static void set_url(chain_caller_types_borrow_outgoing_request_t r, const uint8_t *url, size_t n) {
  chain_caller_result_void_void_t ok;
  const uint8_t *sep = NULL;
  for (size_t i = 0; i + 2 < n && !sep; i++)
    if (url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/')
      sep = url + i;
  const uint8_t *path = url;
  if (sep) {
    chain_caller_option_types_scheme_t scheme = {.is_some = true};
    size_t sl = (size_t)(sep - url);
    if (sl == 4 && memcmp(url, "http", 4) == 0) {
      scheme.val.tag = CHAIN_CALLER_TYPES_SCHEME_HTTP;
    } else if (sl == 5 && memcmp(url, "https", 5) == 0) {
      scheme.val.tag = CHAIN_CALLER_TYPES_SCHEME_HTTPS;
    } else {
      scheme.val.tag = CHAIN_CALLER_TYPES_SCHEME_OTHER;
      scheme.val.val.other = (chain_caller_string_t){(uint8_t *)url, sl};
    }
    chain_caller_types_method_outgoing_request_set_scheme(r, &scheme, &ok);
    const uint8_t *auth = sep + 3;
    path = auth;
    while (path < url + n && *path != '/' && *path != '?')
      path++;
    chain_caller_option_string_t a = {true, {(uint8_t *)auth, (size_t)(path - auth)}};
    chain_caller_types_method_outgoing_request_set_authority(r, &a, &ok);
  }
  chain_caller_option_string_t pq = {true, {(uint8_t *)path, (size_t)(url + n - path)}};
  if (pq.val.len == 0)
    pq.val = (chain_caller_string_t){(uint8_t *)"/", 1};
  chain_caller_types_method_outgoing_request_set_path_with_query(r, &pq, &ok);
}

void chain_caller_incoming_handler_handle(chain_caller_types_own_incoming_request_t request,
                                          chain_caller_types_own_response_outparam_t out) {
  chain_caller_types_borrow_incoming_request_t req =
      chain_caller_types_borrow_incoming_request(request);
  chain_caller_types_method_t method;
  chain_caller_types_method_incoming_request_method(req, &method);
  bool with_body =
      method.tag != CHAIN_CALLER_TYPES_METHOD_GET && method.tag != CHAIN_CALLER_TYPES_METHOD_HEAD;

  /* the headers to forward, and the URL */
  chain_caller_types_own_fields_t in_h = chain_caller_types_method_incoming_request_headers(req);
  chain_caller_list_tuple2_types_field_name_types_field_value_t entries;
  chain_caller_types_method_fields_entries(chain_caller_types_borrow_fields(in_h), &entries);
  chain_caller_types_own_fields_t fwd = chain_caller_types_constructor_fields();
  buf url = {0};
  size_t gen = 0;
  bool loop = false, timed = false;
  for (size_t i = 0; i < entries.len; i++) {
    chain_caller_string_t *name = &entries.ptr[i].f0;
    chain_caller_result_void_types_header_error_t appended;
    if (name_is(name, "x-chain-url")) {
      put(&url, entries.ptr[i].f1.ptr, entries.ptr[i].f1.len);
    } else if (name_is(name, "x-chain-loop")) {
      loop = true;
      chain_caller_types_method_fields_append(chain_caller_types_borrow_fields(fwd), name,
                                              &entries.ptr[i].f1, &appended);
    } else if (name_is(name, "x-chain-time")) {
      timed = true; /* not forwarded */
    } else if (name_is(name, "x-chain-gen")) {
      char digits[24] = {0};
      memcpy(digits, entries.ptr[i].f1.ptr,
             entries.ptr[i].f1.len < 23 ? entries.ptr[i].f1.len : 23);
      gen = (size_t)strtoull(digits, NULL, 10);
    } else if (name_is(name, "x-chain-then")) {
      chain_caller_types_field_name_t renamed;
      chain_caller_string_set(&renamed, "x-chain-url");
      chain_caller_types_method_fields_append(chain_caller_types_borrow_fields(fwd), &renamed,
                                              &entries.ptr[i].f1, &appended);
    } else if (name->len > 2 && memcmp(name->ptr, "x-", 2) == 0) {
      chain_caller_types_method_fields_append(chain_caller_types_borrow_fields(fwd), name,
                                              &entries.ptr[i].f1, &appended);
    }
  }
  chain_caller_list_tuple2_types_field_name_types_field_value_free(&entries);
  chain_caller_types_fields_drop_own(in_h);
  if (loop) {
    chain_caller_types_field_name_t again;
    chain_caller_string_set(&again, "x-chain-url");
    chain_caller_types_field_value_t v = {url.p, url.len};
    chain_caller_result_void_types_header_error_t appended;
    chain_caller_types_method_fields_append(chain_caller_types_borrow_fields(fwd), &again, &v,
                                            &appended);
  }

  buf body = {0};
  if (gen) {
    body.p = malloc(gen);
    body.len = body.cap = gen;
    for (size_t i = 0; i < gen; i++)
      body.p[i] = (uint8_t)('a' + i % 26);
  } else if (with_body) {
    chain_caller_result_own_types_incoming_body_void_t ib;
    chain_caller_types_method_incoming_request_consume(req, &ib);
    if (!ib.is_err) {
      chain_caller_result_own_streams_input_stream_void_t in;
      chain_caller_types_method_incoming_body_stream(
          chain_caller_types_borrow_incoming_body(ib.val.ok), &in);
      if (!in.is_err) {
        read_all(chain_caller_streams_borrow_input_stream(in.val.ok), &body);
        chain_caller_streams_input_stream_drop_own(in.val.ok);
      }
      chain_caller_types_incoming_body_drop_own(ib.val.ok);
    }
  }
  chain_caller_types_incoming_request_drop_own(request);

  chain_caller_types_own_outgoing_request_t oreq =
      chain_caller_types_constructor_outgoing_request(fwd);
  chain_caller_types_borrow_outgoing_request_t oborrow =
      chain_caller_types_borrow_outgoing_request(oreq);
  chain_caller_result_void_void_t ok;
  chain_caller_types_method_outgoing_request_set_method(oborrow, &method, &ok);
  chain_caller_types_method_free(&method);
  set_url(oborrow, url.p, url.len);
  free(url.p);
  chain_caller_result_own_types_outgoing_body_void_t ob = {.is_err = true};
  if (with_body || gen)
    chain_caller_types_method_outgoing_request_body(oborrow, &ob);

  chain_caller_option_own_types_request_options_t no_opts = {.is_some = false};
  chain_caller_result_own_types_future_incoming_response_types_error_code_t fut;
  uint64_t hop_start = chain_caller_monotonic_clock_now();
  chain_caller_outgoing_handler_handle(oreq, &no_opts, &fut);
  if (!ob.is_err) { /* the body after handle, as SDKs stream it */
    chain_caller_result_own_streams_output_stream_void_t os;
    chain_caller_types_method_outgoing_body_write(
        chain_caller_types_borrow_outgoing_body(ob.val.ok), &os);
    if (!os.is_err) {
      write_all(chain_caller_streams_borrow_output_stream(os.val.ok), &body);
      chain_caller_streams_output_stream_drop_own(os.val.ok);
    }
    chain_caller_option_own_types_fields_t none = {.is_some = false};
    chain_caller_result_void_types_error_code_t fin;
    chain_caller_types_static_outgoing_body_finish(ob.val.ok, &none, &fin);
    chain_caller_result_void_types_error_code_free(&fin);
  }
  free(body.p);
  if (fut.is_err) {
    respond_error(out, fut.val.err.tag);
    chain_caller_types_error_code_free(&fut.val.err);
    return;
  }
  chain_caller_types_borrow_future_incoming_response_t f =
      chain_caller_types_borrow_future_incoming_response(fut.val.ok);
  chain_caller_poll_own_pollable_t p =
      chain_caller_types_method_future_incoming_response_subscribe(f);
  chain_caller_poll_method_pollable_block(chain_caller_poll_borrow_pollable(p));
  chain_caller_poll_pollable_drop_own(p);
  chain_caller_option_result_result_own_types_incoming_response_types_error_code_void_t got;
  chain_caller_types_method_future_incoming_response_get(f, &got);
  if (!got.is_some || got.val.is_err || got.val.val.ok.is_err) {
    uint8_t tag = got.is_some && !got.val.is_err ? got.val.val.ok.val.err.tag
                                                 : CHAIN_CALLER_TYPES_ERROR_CODE_INTERNAL_ERROR;
    chain_caller_option_result_result_own_types_incoming_response_types_error_code_void_free(&got);
    chain_caller_types_future_incoming_response_drop_own(fut.val.ok);
    respond_error(out, tag);
    return;
  }
  chain_caller_types_own_incoming_response_t resp = got.val.val.ok.val.ok;
  chain_caller_types_borrow_incoming_response_t rb =
      chain_caller_types_borrow_incoming_response(resp);
  uint16_t status = chain_caller_types_method_incoming_response_status(rb);
  chain_caller_types_own_fields_t rh = chain_caller_types_method_incoming_response_headers(rb);
  buf rbody = {0};
  chain_caller_result_own_types_incoming_body_void_t ib;
  chain_caller_types_method_incoming_response_consume(rb, &ib);
  if (!ib.is_err) {
    chain_caller_result_own_streams_input_stream_void_t in;
    chain_caller_types_method_incoming_body_stream(
        chain_caller_types_borrow_incoming_body(ib.val.ok), &in);
    if (!in.is_err) {
      read_all(chain_caller_streams_borrow_input_stream(in.val.ok), &rbody);
      chain_caller_streams_input_stream_drop_own(in.val.ok);
    }
    chain_caller_types_incoming_body_drop_own(ib.val.ok);
  }
  chain_caller_types_incoming_response_drop_own(resp);
  chain_caller_types_future_incoming_response_drop_own(fut.val.ok);
  uint64_t hop_ns = chain_caller_monotonic_clock_now() - hop_start;
  /* the response's headers are immutable: copy them into fields of our own */
  chain_caller_list_tuple2_types_field_name_types_field_value_t re;
  chain_caller_types_method_fields_entries(chain_caller_types_borrow_fields(rh), &re);
  chain_caller_types_own_fields_t oh = chain_caller_types_constructor_fields();
  for (size_t i = 0; i < re.len; i++) {
    chain_caller_result_void_types_header_error_t appended;
    chain_caller_types_method_fields_append(chain_caller_types_borrow_fields(oh), &re.ptr[i].f0,
                                            &re.ptr[i].f1, &appended);
  }
  chain_caller_list_tuple2_types_field_name_types_field_value_free(&re);
  chain_caller_types_fields_drop_own(rh);
  chain_caller_types_field_name_t mark_name;
  chain_caller_string_set(&mark_name, "x-chain-caller");
  chain_caller_types_field_value_t mark = {(uint8_t *)"forwarded", 9};
  chain_caller_result_void_types_header_error_t marked;
  chain_caller_types_method_fields_append(chain_caller_types_borrow_fields(oh), &mark_name, &mark,
                                          &marked);
  if (timed) {
    char ns_text[24];
    int ns_len = snprintf(ns_text, sizeof ns_text, "%llu", (unsigned long long)hop_ns);
    chain_caller_string_set(&mark_name, "x-chain-hop-ns");
    chain_caller_types_field_value_t ns_value = {(uint8_t *)ns_text, (size_t)ns_len};
    chain_caller_types_method_fields_append(chain_caller_types_borrow_fields(oh), &mark_name,
                                            &ns_value, &marked);
  }
  respond(out, status, oh, &rbody);
  free(rbody.p);
}
