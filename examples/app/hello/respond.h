/* Small helpers shared by the example's C handlers, over the bindings that `zerohop bindgen c`
 * generates for wit/c.wit (c_handler.h). */
#ifndef EXAMPLE_RESPOND_H
#define EXAMPLE_RESPOND_H

#include "c_handler.h"

#include <stddef.h>

/* Sets the response (status, content-type, body) on `out`, writes the body and finishes it. */
void respond(c_handler_types_own_response_outparam_t out, int status, const char *content_type,
             const char *body, size_t len);

/* The first value of request header `name` as a NUL-terminated string in buf (at most
 * size-1 bytes), or "" when absent. */
const char *request_header(c_handler_types_borrow_incoming_request_t req, const char *name,
                           char *buf, size_t size);

/* The counter `key` of the `default` key-value store (a decimal string; 0 when absent), after
 * adding `add` atomically when it is not zero. -1 (with why in err) when the store answers
 * an error. */
long long counter(const char *key, long long add, char *err, size_t errsize);

#endif
