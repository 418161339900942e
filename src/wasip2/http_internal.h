/* wasi:http objects shared by http.c (types, incoming side) and http_out.c (outgoing-handler
 * through libcurl). */
#ifndef ZH_WASIP2_HTTP_INTERNAL_H
#define ZH_WASIP2_HTTP_INTERNAL_H

#include "wasip2/wasip2_internal.h"

/* name and value share one allocation (the value right after the name's NUL): a request
 * copies its fields a few times, and one malloc per field instead of two shows. Immutable
 * fields (a request's, a response's, their copies) are never changed one by one, so theirs
 * come from chunks the fields own and free together (the server's incoming request keeps
 * its headers in its own block instead, see zh_wasip2_incoming). */
typedef struct wp2_field {
  char *name; /* lower case; owns the block unless in_chunk; freed with wp2_field_free */
  uint8_t *value;
  size_t len;
  bool in_chunk;
} wp2_field;

struct wp2_fields_chunk;

typedef struct wp2_fields {
  wp2_obj base;
  bool immutable;
  wp2_field *f; /* NULL, few, or malloc'd once more are added */
  size_t n, cap;
  struct wp2_fields_chunk *chunks; /* newest first */
  wp2_field few[2];                /* a response's one or two headers: no array to malloc */
} wp2_fields;

void wp2_field_free(wp2_field *f);

/* error-code cases used by the host */
enum {
  HE_DESTINATION_NOT_FOUND = 2,
  HE_CONNECTION_REFUSED = 6,
  HE_HTTP_REQUEST_DENIED = 15,
  HE_HTTP_REQUEST_URI_INVALID = 19,
  HE_HTTP_PROTOCOL_ERROR = 35,
  HE_INTERNAL_ERROR = 38
};

typedef struct wp2_out_request {
  wp2_obj base;
  char *method;                    /* "GET", ... */
  char *path, *scheme, *authority; /* NULL: none */
  wp2_fields *headers;
  uint64_t body; /* rep of the outgoing-body, 0 until body() */
} wp2_out_request;

/* An outgoing body: of a response the guest answers with, or of a request it sends. */
typedef struct wp2_out_body {
  wp2_obj base;
  bool for_request, stream_taken, finished, dropped_unfinished;
  uint64_t owner;  /* rep of the outgoing-response (response bodies) or of the future */
  wp2_buf pending; /* bytes written before the response went out, or the request body */
  wp2_fields *trailers;
} wp2_out_body;

/* An incoming body: of the server's request, or of a response curl received. */
typedef struct wp2_in_body {
  wp2_obj base;
  bool from_server, stream_taken;
  uint64_t source; /* rep of the curl future (responses) */
} wp2_in_body;

zh_error *wp2_fields_new(zh_wasip2_ctx *cx, bool immutable, wp2_fields **out, uint64_t *rep);
zh_error *wp2_fields_copy(zh_wasip2_ctx *cx, const wp2_fields *src, bool immutable, zh_val *out);
void wp2_fields_destroy(wp2_fields *f);
bool wp2_fields_add(wp2_fields *f, const char *name, size_t nlen, const uint8_t *v, size_t vlen);
/* Room for n fields in all, when the count is known up front (one allocation, no regrowth). */
bool wp2_fields_reserve(wp2_fields *f, size_t n);
zh_error *wp2_in_body_new(zh_wasip2_ctx *cx, bool from_server, uint64_t source, uint64_t *rep);
zh_error *wp2_error_code(zh_val *out, uint32_t code, const char *msg);

/* http_out.c */
zh_error *wp2_http_handle(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result);
/* A request body was finished: its transfer may start. */
void wp2_http_body_finished(zh_wasip2_ctx *cx, wp2_out_body *b);
void wp2_http_body_written(zh_wasip2_ctx *cx, wp2_out_body *b);
zh_error *wp2_curl_body_read(zh_wasip2_ctx *cx, uint64_t future, void *buf, size_t cap, size_t *got,
                             bool *eof, bool blocking);
bool wp2_curl_body_ready(zh_wasip2_ctx *cx, uint64_t future);
zh_error *wp2_out_body_new(zh_wasip2_ctx *cx, bool for_request, uint64_t owner, uint64_t *rep);

#endif
