/* zerohop HTTP/1.1 server: the server that `zerohop serve` and the app host run on.
 *
 * One listener thread accepts; idle connections wait in an epoll set, and worker threads,
 * one per core to begin with, take each connection when its request arrives and serve it.
 * The handler is called on that worker thread, once per request, and may block as long as
 * it likes up to the request's deadline (running a guest, waiting for a body): when every
 * worker has been held for a while the server starts another one (up to max_connections),
 * so a slow handler never stalls the other connections. Requests on one connection
 * (keep-alive, pipelining) are handled one after the other, and their responses go out in
 * order.
 *
 * The handler sees the request head and pulls the body with zh_http_request_read as the
 * client sends it; it answers with zh_http_response_start, any number of
 * zh_http_response_write and zh_http_response_finish. Bodies stream both ways and are never
 * buffered whole. Framing is the server's: a response gets Content-Length when the handler
 * names one or when the whole body fits in the connection's output buffer at finish,
 * chunked encoding otherwise (close-delimited for HTTP/1.0 clients).
 *
 * A handler that returns without starting a response gets 500 (or the status of the body
 * error it hit: 400, 408, 413). One that started but did not finish gets its connection
 * closed after what was already written: the client sees a truncated response, never a
 * hang.
 *
 * In short (bench/http_hello.c and tests/http/test_server.c have whole programs):
 *
 *   static void echo(zh_http_request *req, void *env) {
 *     char buf[16384]; size_t got; bool eof = false;
 *     zh_error *err = zh_http_response_start(req, 200, NULL, 0);
 *     while (!err && !eof && !(err = zh_http_request_read(req, buf, sizeof buf, &got, &eof)))
 *       err = zh_http_response_write(req, buf, got);
 *     if (!err) err = zh_http_response_finish(req, NULL, 0);
 *     zh_error_free(err);   // unfinished: the server closes the connection
 *   }
 *   zh_http_config cfg = {.addr = "127.0.0.1:0", .handler = echo};
 *   zh_http_server *server;
 *   zh_error *err = zh_http_server_start(&cfg, &server);  // then zh_http_server_port(server)
 *   ...
 *   zh_http_server_stop(server, 5000);  zh_http_server_free(server);
 *
 * Ownership
 *   - zh_http_server_start copies the configuration (and the address string); env is
 *     borrowed and must outlive the server.
 *   - The zh_http_request, its info and every pointer in it are the server's; they are
 *     valid on the handler's thread until the handler returns. The header arrays passed to
 *     zh_http_response_start/finish are copied before the call returns.
 *   - Errors are the caller's, freed with zh_error_free.
 *
 * Threads: the request functions are for the handler's thread only (the WASI host calls
 * them from the thread that runs the guest, which is the handler's). The server functions
 * may be called from any thread, but not from a handler.
 */
#ifndef ZEROHOP_HTTP_SERVER_H
#define ZEROHOP_HTTP_SERVER_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default limits; each has a field in zh_http_config where 0 means the default. */
#define ZH_HTTP_MAX_HEADER_BYTES 16384u    /* request line + headers: 431 beyond */
#define ZH_HTTP_MAX_HEADERS 100u           /* header fields: 431 beyond */
#define ZH_HTTP_MAX_URL_BYTES 8192u        /* request target: 414 beyond */
#define ZH_HTTP_MAX_BODY_BYTES (64u << 20) /* request body: 413 beyond */
#define ZH_HTTP_HEADER_TIMEOUT_MS 10000u   /* first byte to end of head: 408 beyond */
#define ZH_HTTP_IDLE_TIMEOUT_MS 5000u      /* keep-alive wait for the next request: close */
#define ZH_HTTP_REQUEST_TIMEOUT_MS 30000u  /* the handler's deadline, from the end of head */
#define ZH_HTTP_MAX_CONNECTIONS 1024u      /* open connections (and workers): 503 beyond */
#define ZH_HTTP_MAX_RESPONSE_HEADER_BYTES (1u << 20) /* what a handler may start with */

typedef struct zh_http_server zh_http_server;
typedef struct zh_http_request zh_http_request;

/* A header field. Names and values are byte strings, not NUL-terminated. */
typedef struct zh_http_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} zh_http_header;

typedef void (*zh_http_handler)(zh_http_request *req, void *env);

typedef struct zh_http_config {
  /* "127.0.0.1:8080", "[::1]:0", "0.0.0.0:80", "localhost:8080": numeric (no resolver);
   * port 0 picks one */
  const char *addr;
  zh_http_handler handler;
  void *env; /* passed to every call of handler */
  uint32_t max_header_bytes;
  uint32_t max_headers;
  uint32_t max_url_bytes;
  uint64_t max_body_bytes;
  uint32_t header_timeout_ms;
  uint32_t idle_timeout_ms;
  uint32_t request_timeout_ms;
  uint32_t max_connections;
  size_t thread_stack_bytes; /* worker threads' stacks; 0 means the system default */
} zh_http_config;

/* Binds, listens and starts serving. ZH_ERR_USAGE for a bad address or missing handler,
 * ZH_ERR_IO (naming the address and the system call) when the socket cannot be had. */
zh_error *zh_http_server_start(const zh_http_config *config, zh_http_server **out);
/* The bound port (the chosen one when the address said 0). */
uint16_t zh_http_server_port(const zh_http_server *server);
/* "ip:port" as bound, e.g. "127.0.0.1:41234" or "[::1]:41234"; lives as long as server. */
const char *zh_http_server_address(const zh_http_server *server);
/* Graceful stop: closes the listening socket at once, closes idle keep-alive connections,
 * and lets requests in flight finish for up to grace_ms (their connections close after the
 * response). Past that, the remaining connections are shut down, so their handlers' reads
 * and writes fail, and the call waits for those handlers to return. Idempotent. */
void zh_http_server_stop(zh_http_server *server, uint32_t grace_ms);
/* Stops (grace 0) if still running, then frees. Accepts NULL. */
void zh_http_server_free(zh_http_server *server);

/* ---- on the handler's thread -------------------------------------------------------- */

typedef struct zh_http_request_info {
  const char *method; /* as sent: "GET", "POST", ... (an extension method gets 501) */
  size_t method_len;
  const char *target; /* path and query as sent ("/a?b=1"), or absolute-form, or "*" */
  size_t target_len;
  const char *scheme;    /* "http", NUL-terminated */
  const char *authority; /* the Host header's value; empty (length 0) for HTTP/1.0 without */
  size_t authority_len;
  const zh_http_header *headers; /* in the order sent, names as sent, values trimmed */
  size_t nheaders;
  const char *client; /* "ip:port" of the peer, NUL-terminated */
  int version_minor;  /* HTTP/1.x: 0 or 1 */
  /* The handler's deadline on CLOCK_MONOTONIC, in nanoseconds. Body reads and response
   * writes give up at it; the embedder interrupts its guest at it. */
  uint64_t deadline_ns;
} zh_http_request_info;

const zh_http_request_info *zh_http_request_get_info(const zh_http_request *req);
/* Nanoseconds left until the deadline, 0 if it has passed (for zh_store_set_timeout). */
uint64_t zh_http_request_time_left_ns(const zh_http_request *req);

/* Reads up to cap body bytes into buf as they arrive, blocking up to the deadline. *got is
 * the count (0 only at the end of the body); *eof becomes true once the body has ended
 * (possibly with the last bytes). A request without a body is at its end at once.
 * The first read of a request that sent `Expect: 100-continue` sends the interim 100.
 * Errors, after which the connection closes: ZH_ERR_RESOURCE when the body passes
 * max_body_bytes (status 413), ZH_ERR_MALFORMED for broken chunk framing (400),
 * ZH_ERR_INTERRUPTED at the deadline (408), ZH_ERR_IO when the client goes away (400). */
zh_error *zh_http_request_read(zh_http_request *req, void *buf, size_t cap, size_t *got, bool *eof);
/* As zh_http_request_read, but never waits for the client: *got is 0 (and *eof false) when
 * no body bytes are there yet. For non-blocking stream reads (wasi:io `read`). */
zh_error *zh_http_request_try_read(zh_http_request *req, void *buf, size_t cap, size_t *got,
                                   bool *eof);
/* True when a read would not wait: bytes or the end are there, or the body has failed. It
 * may be true for buffered framing alone, so a try_read after it can still give 0 bytes. */
bool zh_http_request_body_ready(const zh_http_request *req);
/* The connection's socket, to poll for POLLIN together with other sources (a pollable for
 * the body). Borrowed: never read, write or close it; readiness is a hint, read with
 * zh_http_request_try_read, and check zh_http_request_body_ready first, since bytes may
 * already be buffered. */
int zh_http_request_fd(const zh_http_request *req);
/* The status a body error above stands for, or 0 if there was none: a handler that hit
 * one and has not started a response may answer with it (the server does, if the handler
 * returns without responding). */
int zh_http_request_failed_status(const zh_http_request *req);

/* Starts the response: status 200..599 and the header fields. Content-Length, if given,
 * fixes the body's length; Transfer-Encoding, Connection, Keep-Alive, Upgrade and
 * Proxy-Connection fields are the server's and are dropped (`Connection: close` is noted:
 * the connection closes after this response). ZH_ERR_USAGE when called twice, for a status
 * out of range, a name that is not a token or a value with CR, LF or NUL. The head is sent
 * with the first body bytes that do not fit the output buffer, or at finish. */
zh_error *zh_http_response_start(zh_http_request *req, int status, const zh_http_header *headers,
                                 size_t nheaders);
/* Streams body bytes out, blocking while the client is slow, up to the deadline.
 * ZH_ERR_USAGE before start or after finish, or past a Content-Length the handler named;
 * ZH_ERR_IO when the client has gone; ZH_ERR_INTERRUPTED at the deadline. Bytes written
 * for HEAD requests and for 204 and 304 responses are counted and dropped. */
zh_error *zh_http_response_write(zh_http_request *req, const void *data, size_t len);
/* Ends the response, with trailer fields if the body went out chunked (otherwise the
 * trailers are dropped). ZH_ERR_USAGE when fewer bytes were written than a Content-Length
 * the handler named (the connection is then closed: the client sees a short body). */
zh_error *zh_http_response_finish(zh_http_request *req, const zh_http_header *trailers,
                                  size_t ntrailers);

#ifdef __cplusplus
}
#endif

#endif
