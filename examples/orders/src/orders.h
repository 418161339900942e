/* What every component of the orders example shares, over the bindings that `zerohop bindgen
 * c` generates for its world (wit/orders.wit; every world includes `service`, and the
 * bindings of each are named `guest_`, mk/example-orders.mk): reading a request, answering
 * it, an outbound POST, a Redis publish, a variable and a key-value counter.
 *
 * orders.c implements both exports of `service` and hands them to the two functions below,
 * which each component defines: its HTTP handler and its Redis-trigger handler. */
#ifndef ORDERS_ORDERS_H
#define ORDERS_ORDERS_H

#include "guest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The component's HTTP handler: `body` is the whole request body. */
void serve_http(guest_types_borrow_incoming_request_t request, const uint8_t *body, size_t len,
                guest_types_own_response_outparam_t out);
/* The component's handler for one Redis-trigger message; false answers an error (the host
 * logs it, and may retry it). */
bool on_message(const uint8_t *payload, size_t len);

/* A growable byte buffer; `data` is always NUL-terminated. */
typedef struct buffer {
  uint8_t *data;
  size_t len, cap;
} buffer;

bool buffer_put(buffer *b, const void *data, size_t len);
void buffer_free(buffer *b);

/* Answers with status, content-type and body. */
void respond(guest_types_own_response_outparam_t out, int status, const char *content_type,
             const char *body, size_t len);

/* The request's method as its name ("GET", "POST", ...). */
const char *request_method(guest_types_borrow_incoming_request_t request);

/* POSTs `body` to `url` ("http://host[:port]/path") and reads the whole response into
 * `response`. Returns the status, or -1 with the reason in err. */
int http_post(const char *url, const void *body, size_t len, buffer *response, char *err,
              size_t errsize);

/* Publishes `payload` on `channel` of the Redis at `address`; false with the reason in err. */
bool redis_publish(const char *address, const char *channel, const void *payload, size_t len,
                   char *err, size_t errsize);

/* The component variable `name` in buf; false when it has none. */
bool variable(const char *name, char *buf, size_t size);

/* Adds `delta` to the counter `key` of the `default` key-value store, atomically, and
 * returns its new value (delta 0 reads it); -1 with the reason in err. */
long long counter_add(const char *key, long long delta, char *err, size_t errsize);

/* Small text helpers for the hot path, cheaper in wasm than stdio's scanf and printf. */
/* Skips spaces, then copies one word (up to a space or newline) into out (at most cap-1
 * bytes); returns the text after it, or NULL if there is no word or it does not fit. */
const char *scan_word(const char *s, char *out, size_t cap);
/* Skips spaces, then reads a decimal integer (an optional '-'); NULL if there is none. */
const char *scan_int(const char *s, long long *value);
/* Appends s, or v in decimal, at dst and returns the new end (no NUL). */
char *put_text(char *dst, const char *s);
char *put_int(char *dst, long long v);

#endif
