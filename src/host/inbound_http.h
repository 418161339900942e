/* fermyon:spin/inbound-http: the HTTP handler of older Spin SDKs, one call with the whole
 * request as a record and the whole response as another (no streaming), as Spin's own host
 * does it: the method is one of seven (any other answers 405 with an empty body), `uri` is
 * the path and query, `params` is always empty, the body is always present (possibly
 * empty), and a status outside 100..600 answers 500. */
#ifndef ZH_HOST_INBOUND_HTTP_H
#define ZH_HOST_INBOUND_HTTP_H

#include "zerohop/engine.h"
#include "zerohop/val.h"
#include "zerohop/wasip2.h"

#include <stdbool.h>

/* Builds handle-request's argument (a `request` record) in *out. *method_ok is false, and
 * nothing is built, for a method the interface cannot express: answer 405. */
zh_error *zh_host_spin_http_request(const char *method, const char *path_with_query,
                                    const zh_wasip2_header *headers, size_t nheaders,
                                    const uint8_t *body, size_t body_len, zh_val *out,
                                    bool *method_ok);

/* What the guest answered, pointing into the `response` value it returned (which must
 * outlive this). */
typedef struct zh_host_spin_response {
  uint16_t status;
  size_t nheaders;
  const zh_val *headers; /* tuples of two strings */
  const uint8_t *body;   /* NULL when the guest gave none */
  size_t body_len;
} zh_host_spin_response;

/* Reads a `response`. A status outside 100..600 is an error (ZH_ERR_INVALID) naming the
 * status: the caller answers 500 with an empty body and logs it. */
zh_error *zh_host_spin_http_response(const zh_val *response, zh_host_spin_response *out);

#endif
