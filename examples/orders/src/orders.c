/* The plumbing of the orders example's components (orders.h): both exports of the world, and
 * the few host calls the components make, each reduced to one C function. */
#include "orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_LIMIT (1u << 20) /* the largest request or response body a component reads */

bool buffer_put(buffer *b, const void *data, size_t len) {
  if (b->len + len + 1 > b->cap) {
    size_t cap = (b->len + len + 1) * 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d)
      return false;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = 0;
  return true;
}

void buffer_free(buffer *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

const char *scan_word(const char *s, char *out, size_t cap) {
  while (*s == ' ')
    s++;
  size_t n = 0;
  while (s[n] && s[n] != ' ' && s[n] != '\n')
    n++;
  if (n == 0 || n >= cap)
    return NULL;
  memcpy(out, s, n);
  out[n] = '\0';
  return s + n;
}

const char *scan_int(const char *s, long long *value) {
  while (*s == ' ')
    s++;
  bool negative = *s == '-';
  s += negative;
  if (*s < '0' || *s > '9')
    return NULL;
  long long v = 0;
  for (; *s >= '0' && *s <= '9'; s++)
    if (v < 100000000000000000LL)
      v = v * 10 + (*s - '0');
  *value = negative ? -v : v;
  return s;
}

char *put_text(char *dst, const char *s) {
  size_t n = strlen(s);
  memcpy(dst, s, n);
  return dst + n;
}

char *put_int(char *dst, long long v) {
  char digits[24];
  int n = 0;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    *dst++ = '-';
  while (n)
    *dst++ = digits[--n];
  return dst;
}

static guest_string_t text(const char *s) { return (guest_string_t){(uint8_t *)s, strlen(s)}; }

/* Writes all of data to the stream, 4096 bytes at a time (blocking-write-and-flush's limit). */
static bool write_all(guest_streams_borrow_output_stream_t stream, const uint8_t *data,
                      size_t len) {
  for (size_t off = 0; off < len;) {
    size_t n = len - off < 4096 ? len - off : 4096;
    guest_list_u8_t bytes = {(uint8_t *)data + off, n};
    guest_result_void_streams_stream_error_t written;
    guest_streams_method_output_stream_blocking_write_and_flush(stream, &bytes, &written);
    if (written.is_err) {
      if (written.val.err.tag == GUEST_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
        guest_error_error_drop_own(written.val.err.val.last_operation_failed);
      return false;
    }
    off += n;
  }
  return true;
}

/* Reads an incoming body to its end (at most BODY_LIMIT bytes) and finishes it. */
static bool read_all(guest_types_own_incoming_body_t body, buffer *into) {
  guest_result_own_streams_input_stream_void_t stream;
  guest_types_method_incoming_body_stream(guest_types_borrow_incoming_body(body), &stream);
  bool ok = !stream.is_err;
  while (ok) {
    guest_result_list_u8_streams_stream_error_t got;
    guest_streams_method_input_stream_blocking_read(
        guest_streams_borrow_input_stream(stream.val.ok), 65536, &got);
    if (got.is_err) {
      if (got.val.err.tag == GUEST_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) {
        guest_error_error_drop_own(got.val.err.val.last_operation_failed);
        ok = false;
      }
      break; /* closed: the end of the body */
    }
    ok = into->len + got.val.ok.len <= BODY_LIMIT &&
         buffer_put(into, got.val.ok.ptr, got.val.ok.len);
    guest_result_list_u8_streams_stream_error_free(&got);
  }
  if (!stream.is_err)
    guest_streams_input_stream_drop_own(stream.val.ok);
  guest_types_future_trailers_drop_own(guest_types_static_incoming_body_finish(body));
  return ok;
}

void guest_incoming_handler_handle(guest_types_own_incoming_request_t request,
                                   guest_types_own_response_outparam_t out) {
  guest_types_borrow_incoming_request_t req = guest_types_borrow_incoming_request(request);
  buffer body = {0};
  guest_result_own_types_incoming_body_void_t consumed;
  guest_types_method_incoming_request_consume(req, &consumed);
  if (consumed.is_err || !read_all(consumed.val.ok, &body)) {
    static const char msg[] = "could not read the request body\n";
    respond(out, 400, "text/plain", msg, sizeof msg - 1);
  } else {
    serve_http(req, body.data ? body.data : (const uint8_t *)"", body.len, out);
  }
  buffer_free(&body);
  guest_types_incoming_request_drop_own(request);
}

void guest_inbound_redis_handle_message(guest_redis_types_payload_t *message,
                                        guest_result_void_redis_types_error_t *ret) {
  bool ok = on_message(message->ptr, message->len);
  ret->is_err = !ok;
  if (!ok)
    ret->val.err = GUEST_REDIS_TYPES_ERROR_ERROR;
  guest_redis_types_payload_free(message);
}

void respond(guest_types_own_response_outparam_t out, int status, const char *content_type,
             const char *body, size_t len) {
  guest_types_own_fields_t headers = guest_types_constructor_fields();
  guest_types_field_name_t name = text("content-type");
  guest_types_field_value_t value = {(uint8_t *)content_type, strlen(content_type)};
  guest_result_void_types_header_error_t appended;
  guest_types_method_fields_append(guest_types_borrow_fields(headers), &name, &value, &appended);
  guest_types_own_outgoing_response_t response = guest_types_constructor_outgoing_response(headers);
  guest_types_borrow_outgoing_response_t r = guest_types_borrow_outgoing_response(response);
  guest_result_void_void_t set;
  guest_types_method_outgoing_response_set_status_code(r, (uint16_t)status, &set);
  guest_result_own_types_outgoing_body_void_t outgoing;
  guest_types_method_outgoing_response_body(r, &outgoing);
  guest_result_own_types_outgoing_response_types_error_code_t result = {.is_err = false};
  result.val.ok = response;
  guest_types_static_response_outparam_set(out, &result);
  if (outgoing.is_err)
    return;
  guest_result_own_streams_output_stream_void_t stream;
  guest_types_method_outgoing_body_write(guest_types_borrow_outgoing_body(outgoing.val.ok),
                                         &stream);
  if (!stream.is_err) {
    write_all(guest_streams_borrow_output_stream(stream.val.ok), (const uint8_t *)body, len);
    guest_streams_output_stream_drop_own(stream.val.ok);
  }
  guest_option_own_types_fields_t no_trailers = {.is_some = false};
  guest_result_void_types_error_code_t finished;
  guest_types_static_outgoing_body_finish(outgoing.val.ok, &no_trailers, &finished);
  guest_result_void_types_error_code_free(&finished);
}

const char *request_method(guest_types_borrow_incoming_request_t request) {
  static const char *const names[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                      "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  guest_types_method_t m;
  guest_types_method_incoming_request_method(request, &m);
  const char *name = m.tag < sizeof names / sizeof names[0] ? names[m.tag] : "OTHER";
  guest_types_method_free(&m);
  return name;
}

/* Sends the built request, writes its body, and waits for the response. */
static int exchange(guest_types_own_outgoing_request_t request,
                    guest_types_own_outgoing_body_t body, const void *data, size_t len,
                    buffer *response, char *err, size_t errsize) {
  guest_option_own_types_request_options_t no_options = {.is_some = false};
  guest_result_own_types_future_incoming_response_types_error_code_t sent;
  guest_outgoing_handler_handle(request, &no_options, &sent);
  if (sent.is_err) {
    snprintf(err, errsize, "request refused (error-code %u)", (unsigned)sent.val.err.tag);
    guest_types_outgoing_body_drop_own(body);
    guest_result_own_types_future_incoming_response_types_error_code_free(&sent);
    return -1;
  }
  /* The body streams into the request that is already on its way. */
  guest_result_own_streams_output_stream_void_t stream;
  guest_types_method_outgoing_body_write(guest_types_borrow_outgoing_body(body), &stream);
  if (!stream.is_err) {
    write_all(guest_streams_borrow_output_stream(stream.val.ok), data, len);
    guest_streams_output_stream_drop_own(stream.val.ok);
  }
  guest_option_own_types_fields_t no_trailers = {.is_some = false};
  guest_result_void_types_error_code_t finished;
  guest_types_static_outgoing_body_finish(body, &no_trailers, &finished);
  guest_result_void_types_error_code_free(&finished);

  guest_types_borrow_future_incoming_response_t future =
      guest_types_borrow_future_incoming_response(sent.val.ok);
  guest_poll_own_pollable_t ready = guest_types_method_future_incoming_response_subscribe(future);
  guest_poll_method_pollable_block(guest_poll_borrow_pollable(ready));
  guest_poll_pollable_drop_own(ready);
  guest_option_result_result_own_types_incoming_response_types_error_code_void_t got;
  guest_types_method_future_incoming_response_get(future, &got);
  guest_types_future_incoming_response_drop_own(sent.val.ok);
  if (!got.is_some || got.val.is_err || got.val.val.ok.is_err) {
    unsigned code = got.is_some && !got.val.is_err ? got.val.val.ok.val.err.tag : 0;
    snprintf(err, errsize, "no response (error-code %u)", code);
    guest_option_result_result_own_types_incoming_response_types_error_code_void_free(&got);
    return -1;
  }
  guest_types_own_incoming_response_t resp = got.val.val.ok.val.ok;
  guest_types_borrow_incoming_response_t r = guest_types_borrow_incoming_response(resp);
  int status = guest_types_method_incoming_response_status(r);
  guest_result_own_types_incoming_body_void_t incoming;
  guest_types_method_incoming_response_consume(r, &incoming);
  if (incoming.is_err || !read_all(incoming.val.ok, response)) {
    snprintf(err, errsize, "could not read the response body");
    status = -1;
  }
  guest_types_incoming_response_drop_own(resp);
  return status;
}

int http_post(const char *url, const void *data, size_t len, buffer *response, char *err,
              size_t errsize) {
  if (strncmp(url, "http://", 7) != 0) {
    snprintf(err, errsize, "not an http:// URL: %s", url);
    return -1;
  }
  const char *host = url + 7, *slash = strchr(host, '/');
  const char *path = slash ? slash : "/";
  char authority[256];
  size_t alen = slash ? (size_t)(slash - host) : strlen(host);
  if (alen >= sizeof authority) {
    snprintf(err, errsize, "host too long in %s", url);
    return -1;
  }
  memcpy(authority, host, alen);
  authority[alen] = '\0';

  char length[24];
  *put_int(length, (long long)len) = '\0';
  guest_types_own_fields_t headers = guest_types_constructor_fields();
  guest_types_field_name_t cl = text("content-length"), ct = text("content-type");
  guest_types_field_value_t clv = {(uint8_t *)length, strlen(length)};
  guest_types_field_value_t ctv = {(uint8_t *)"text/plain", 10};
  guest_result_void_types_header_error_t appended;
  guest_types_method_fields_append(guest_types_borrow_fields(headers), &cl, &clv, &appended);
  guest_types_method_fields_append(guest_types_borrow_fields(headers), &ct, &ctv, &appended);

  guest_types_own_outgoing_request_t request = guest_types_constructor_outgoing_request(headers);
  guest_types_borrow_outgoing_request_t r = guest_types_borrow_outgoing_request(request);
  guest_result_void_void_t set;
  guest_types_method_t post = {.tag = GUEST_TYPES_METHOD_POST};
  guest_types_method_outgoing_request_set_method(r, &post, &set);
  guest_option_types_scheme_t scheme = {.is_some = true, .val = {.tag = GUEST_TYPES_SCHEME_HTTP}};
  guest_types_method_outgoing_request_set_scheme(r, &scheme, &set);
  guest_option_string_t a = {.is_some = true, .val = text(authority)};
  guest_types_method_outgoing_request_set_authority(r, &a, &set);
  guest_option_string_t p = {.is_some = true, .val = text(path)};
  guest_types_method_outgoing_request_set_path_with_query(r, &p, &set);
  guest_result_own_types_outgoing_body_void_t body;
  guest_types_method_outgoing_request_body(r, &body);
  if (body.is_err) {
    snprintf(err, errsize, "no request body");
    guest_types_outgoing_request_drop_own(request);
    return -1;
  }
  return exchange(request, body.val.ok, data, len, response, err, errsize);
}

static void redis_error(const guest_redis_error_t *e, char *err, size_t errsize) {
  static const char *const names[] = {"invalid-address", "too-many-connections", "type-error"};
  if (e->tag < 3)
    snprintf(err, errsize, "%s", names[e->tag]);
  else
    snprintf(err, errsize, "%.*s", (int)e->val.other.len, (const char *)e->val.other.ptr);
}

bool redis_publish(const char *address, const char *channel, const void *payload, size_t len,
                   char *err, size_t errsize) {
  guest_string_t addr = text(address);
  guest_result_own_redis_connection_redis_error_t opened;
  guest_redis_static_connection_open(&addr, &opened);
  if (opened.is_err) {
    redis_error(&opened.val.err, err, errsize);
    guest_result_own_redis_connection_redis_error_free(&opened);
    return false;
  }
  guest_string_t ch = text(channel);
  guest_redis_payload_t bytes = {(uint8_t *)payload, len};
  guest_result_void_redis_error_t published;
  guest_redis_method_connection_publish(guest_redis_borrow_connection(opened.val.ok), &ch, &bytes,
                                        &published);
  bool ok = !published.is_err;
  if (!ok)
    redis_error(&published.val.err, err, errsize);
  guest_result_void_redis_error_free(&published);
  guest_redis_connection_drop_own(opened.val.ok);
  return ok;
}

bool variable(const char *name, char *buf, size_t size) {
  guest_string_t n = text(name);
  guest_result_string_variables_error_t got;
  guest_variables_get(&n, &got);
  bool ok = !got.is_err && got.val.ok.len < size;
  if (ok) {
    memcpy(buf, got.val.ok.ptr, got.val.ok.len);
    buf[got.val.ok.len] = '\0';
  }
  guest_result_string_variables_error_free(&got);
  return ok;
}

static void store_error(const guest_store_error_t *e, char *err, size_t errsize) {
  static const char *const names[] = {"no-such-store", "access-denied"};
  if (e->tag < 2)
    snprintf(err, errsize, "%s", names[e->tag]);
  else
    snprintf(err, errsize, "%.*s", (int)e->val.other.len, (const char *)e->val.other.ptr);
}

long long counter_add(const char *key, long long delta, char *err, size_t errsize) {
  guest_string_t label = text("default"), k = text(key);
  guest_result_own_store_bucket_store_error_t opened;
  guest_store_open(&label, &opened);
  if (opened.is_err) {
    store_error(&opened.val.err, err, errsize);
    guest_result_own_store_bucket_store_error_free(&opened);
    return -1;
  }
  guest_result_s64_store_error_t r;
  guest_atomics_increment(guest_store_borrow_bucket(opened.val.ok), &k, delta, &r);
  long long n = -1;
  if (r.is_err)
    store_error(&r.val.err, err, errsize);
  else
    n = r.val.ok;
  guest_result_s64_store_error_free(&r);
  guest_store_bucket_drop_own(opened.val.ok);
  return n;
}
