/* A ttrpc server on a listening unix socket: one reader thread per connection, one thread
 * per request (Wait blocks until the task exits while Kill must still get through), and a
 * mutex per connection so each response frame is written whole.
 *
 * Ownership: the server owns the connections and their threads; the listening fd stays the
 * caller's. A connection lives until its reader has seen the end and its last request has
 * answered (a reference count). */
#ifndef ZH_SHIM_TTRPC_SERVER_H
#define ZH_SHIM_TTRPC_SERVER_H

#include "shim/log.h"
#include "shim/ttrpc.h"

#include <stdbool.h>

/* Answers one request: returns a gRPC code; on success *payload (malloc'd, may be NULL with
 * *payload_len 0) is the response message, otherwise message holds the reason. */
typedef int32_t (*zh_ttrpc_method_fn)(void *env, const zh_ttrpc_request *req, uint8_t **payload,
                                      size_t *payload_len, char *message, size_t message_cap);

/* Log line callback for protocol errors (a bad frame): one line, no newline. */
typedef zh_shim_log_fn zh_ttrpc_log_fn;

typedef struct zh_ttrpc_server zh_ttrpc_server;

zh_error *zh_ttrpc_server_new(int listen_fd, zh_ttrpc_method_fn method, void *env,
                              zh_ttrpc_log_fn log, zh_ttrpc_server **out);
/* Accepts and serves until zh_ttrpc_server_stop; then returns (requests in flight keep their
 * threads and connections until they answer). */
void zh_ttrpc_server_run(zh_ttrpc_server *server);
/* Makes run return once the response being written (if called from a method) is out: safe
 * from any thread. */
void zh_ttrpc_server_stop(zh_ttrpc_server *server);
void zh_ttrpc_server_free(zh_ttrpc_server *server);

#endif
