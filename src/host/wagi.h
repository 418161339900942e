/* WAGI: the HTTP trigger's CGI executor (`executor = { type = "wagi" }`), for wasi:cli/run
 * components and preview1 core modules, with Spin's semantics.
 *
 * The request becomes a command run: the body on stdin, the argv and the environment
 * below; the guest's stdout is the CGI response, parsed by zh_wagi_parse_response. This
 * module is pure: it builds strings and parses bytes, the caller runs the guest.
 *
 * Ownership: argv, environments and responses own their strings and are freed with their
 * _free function; a response's body is a slice of the stdout it was parsed from (or a
 * static message), so stdout must outlive it. Inputs are borrowed for the call.
 */
#ifndef ZH_HOST_WAGI_H
#define ZH_HOST_WAGI_H

#include "host/router.h"
#include "host/spin_headers.h"
#include "zerohop/engine.h"

#include <stddef.h>
#include <stdint.h>

/* The executor's default argv template. */
#define ZH_WAGI_DEFAULT_ARGV "${SCRIPT_NAME} ${ARGS}"

typedef struct zh_wagi_argv {
  char **argv; /* argc strings and a NULL */
  size_t argc;
} zh_wagi_argv;

/* argv from the executor's template (NULL: the default): ${SCRIPT_NAME} becomes the request
 * path, then ${ARGS} the query with every '&' turned into a space, then the result is split
 * at every single space. So "/hello?a=1&b" gives {"/hello", "a=1", "b"}, and a request
 * without a query {"/hello", ""}: the empty last argument is Spin's too. Nothing is
 * percent-decoded. */
zh_error *zh_wagi_make_argv(const char *tmpl, const char *path, size_t path_len, const char *query,
                            size_t query_len, zh_wagi_argv *out);
void zh_wagi_argv_free(zh_wagi_argv *a); /* accepts NULL */

/* The environment: RFC 3875's variables as Spin's WAGI sets them (AUTH_TYPE, CONTENT_LENGTH,
 * CONTENT_TYPE, GATEWAY_INTERFACE=CGI/1.1, QUERY_STRING, REMOTE_ADDR, REMOTE_HOST,
 * REMOTE_USER, REQUEST_METHOD, SCRIPT_NAME, PATH_INFO, X_RAW_PATH_INFO, PATH_TRANSLATED,
 * SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL, SERVER_SOFTWARE=WAGI/1), HTTP_<NAME> for each
 * request header but Authorization and Connection, and Spin's X_* values over them
 * (zh_spin_default_values). Name/value pairs, one per name; the order means nothing. */
zh_error *zh_wagi_make_env(const zh_router_result *match, const zh_spin_request *req,
                           const char *method, size_t method_len, int version_minor,
                           uint64_t body_len, zh_spin_headers *out);

typedef struct zh_wagi_response {
  int status;
  zh_spin_headers headers; /* names lowercase, one value each, in the order written */
  const char *body;        /* a slice of stdout, or a static message */
  size_t body_len;
} zh_wagi_response;

/* Log lines for what Spin logs and goes on from: a header line without a colon, a header
 * name that is not a token, a Status that is not a 3-digit code (the response is 502), no
 * Content-Type, Location or Status (the response is 500 with Spin's message). */
typedef void (*zh_wagi_log_fn)(void *env, const char *line);

/* Parses a CGI response: headers up to the first empty line (LF or CRLF, CRs ignored in the
 * head), the body after it as is. Content-Type, Location and Status make a response;
 * Location without Status is a 302, a Status of "404 Not Found" is 404. Errors, after which
 * the caller answers 500 with an empty body and logs the message (as Spin does):
 * ZH_ERR_MALFORMED for an empty stdout, a head that is not UTF-8, and a header value that
 * HTTP does not allow; each names the component and where. */
zh_error *zh_wagi_parse_response(const char *component, const uint8_t *stdout_bytes, size_t len,
                                 zh_wagi_log_fn log, void *log_env, zh_wagi_response *out);
void zh_wagi_response_free(zh_wagi_response *r); /* accepts NULL */

#endif
