/* The server's internal objects: the server (listener and worker pool, http_server.c), a
 * connection as one worker serves it (reading heads and bodies, http_conn.c), and the
 * request the handler sees, whose response side is http_response.c. */
#ifndef ZH_HTTP_INTERNAL_H
#define ZH_HTTP_INTERNAL_H

#include "http/http_parse.h"
#include "zerohop/http_server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

/* Bytes of body that a connection reads ahead (chunked framing, leftovers) and that a
 * response collects before it goes out: one buffer each, per connection. */
#define ZH_HTTP_BODY_BUFFER 16384u
/* Unread request body a finished request may leave: the server reads and drops up to this
 * much to keep the connection; more, and it closes instead. */
#define ZH_HTTP_DRAIN_BYTES (256u << 10)
/* After the last response on a connection the server closes, it reads and drops what the
 * client still sends, for up to this long and this much, so that the close does not turn
 * into a reset that destroys the response (http_conn.c, linger). */
#define ZH_HTTP_LINGER_MS 2000u
#define ZH_HTTP_LINGER_BYTES (1u << 20)

/* A connection the server holds: parked in the epoll set while it waits for a request,
 * owned by a worker while one is served. Slots are made once (max_connections of them) and
 * live as long as the server, and an epoll event carries its slot's generation, so an event
 * that arrives after its connection was closed (and the slot reused) is recognised.
 *
 * State and generation change together, in one atomic word, so a worker takes a parked
 * connection with one compare-and-swap and no lock. The registration is edge-triggered and
 * made once, so parking costs no system call; an event that comes while a worker owns the
 * connection (bytes that arrived after its last read) makes the slot PENDING, and the owner
 * serves again instead of parking. Closing, and the free list, stay under the server's
 * mutex. */
enum zh_http_slot_state {
  ZH_HTTP_SLOT_FREE,
  ZH_HTTP_SLOT_PARKED,
  ZH_HTTP_SLOT_PENDING, /* owned, and readable again since the owner's last read */
  ZH_HTTP_SLOT_OWNED
};

typedef struct zh_http_slot {
  int fd;              /* -1 when free */
  _Atomic uint64_t sg; /* generation << 32 | zh_http_slot_state */
  uint32_t next_free;
  _Atomic uint64_t idle_deadline_ns; /* parked: closed when it passes */
  char client[80];                   /* "ip:port" of the peer */
} zh_http_slot;

struct zh_http_server {
  zh_http_config config; /* defaults applied; addr points at address[] */
  int listen_fd;         /* owned; closed by the listener thread when it ends */
  int epoll_fd;          /* connections (edge-triggered) and the stop pipe */
  int stop_pipe[2];      /* written once at stop; stays readable so every wait sees it */
  char address[80];      /* "ip:port" as bound */
  uint16_t port;
  pthread_t listener;
  bool listener_running;

  pthread_mutex_t mu;  /* guards what is below, but for the atomics (read anywhere) */
  pthread_cond_t idle; /* a connection was closed or parked (stop waits on it) */
  bool stopping;       /* read with __atomic loads outside mu */
  bool stopped;
  zh_http_slot *slots;          /* max_connections */
  uint32_t free_head;           /* first free slot, UINT32_MAX when none */
  size_t nopen;                 /* open connections */
  _Atomic size_t nbusy;         /* connections a worker holds */
  pthread_t *threads;           /* max_connections entries, nthreads started */
  _Atomic uint64_t *busy_since; /* per worker: when its current request (before the first,
                                   its connection) began; 0 while it waits */
  size_t nthreads;
  _Atomic size_t nwaiting; /* workers waiting for a connection */
  size_t base_workers;     /* started at once: one per core */
  /* The listener's own, for telling a blocked held worker from a running one: the CPU time
   * of the process and of each held worker at the last tick, and when that was. */
  uint64_t tick_ns, tick_process_cpu_ns;
  uint64_t *tick_worker_cpu_ns; /* 0 when the worker was not held then */
  _Atomic int *tids;            /* per worker: its thread id, 0 until it has started */
};

/* One connection, as a worker serves it; the buffers are the worker's and are reused
 * for the next connection (a connection is parked only with nothing buffered). */
typedef struct zh_http_conn {
  zh_http_server *server;
  int fd;
  char client[80];
  /* Input: the current head at in[0..head_len) stays put while its handler runs; unread
   * bytes (body, pipelined requests) are in[in_start..in_end). */
  char *in;
  size_t in_cap, head_len, in_start, in_end;
  /* The last read came back short (or found nothing): the socket was empty then, so any
   * byte since raises a new edge-triggered event, and the connection may be parked. */
  bool drained;
  zh_http_header *headers; /* max_headers entries */
  /* Output: the response head being built, then the body bytes not yet sent. */
  char *out;
  size_t out_len, out_cap;
  char *body;
  size_t body_len;
  char date[40]; /* the Date field's value, recomputed once a second */
  time_t date_sec;
  _Atomic uint64_t *busy_since; /* the worker's: set as each request begins */
} zh_http_conn;

enum zh_http_resp_state {
  ZH_HTTP_RESP_NONE,      /* nothing yet */
  ZH_HTTP_RESP_STARTED,   /* head built, nothing sent */
  ZH_HTTP_RESP_STREAMING, /* head sent, body going out */
  ZH_HTTP_RESP_FINISHED,
  ZH_HTTP_RESP_BROKEN /* a send failed: the connection closes after the handler */
};

enum zh_http_body_kind { ZH_HTTP_BODY_NONE, ZH_HTTP_BODY_LENGTH, ZH_HTTP_BODY_CHUNKED };

struct zh_http_request {
  zh_http_conn *conn;
  zh_http_request_info info;
  bool keep_alive; /* what the client asked for and the version allows */
  bool is_head;
  /* request body */
  enum zh_http_body_kind body_kind;
  uint64_t body_left; /* ZH_HTTP_BODY_LENGTH: bytes still to come */
  uint64_t body_read;
  zh_http_chunked chunked;
  bool body_eof;
  bool expect_continue, continue_sent;
  int failed_status;
  /* response */
  enum zh_http_resp_state state;
  int status;
  bool has_length; /* the handler named a Content-Length */
  uint64_t length, written;
  bool no_body;           /* HEAD, 204, 304 */
  bool chunked_out;       /* body framed as chunks */
  bool close_after;       /* the connection closes after this response */
  size_t head_fields_end; /* out[0..this) holds status line and fields, no blank line */
};

uint64_t zh_http_now_ns(void);
/* Sends every byte of iov[0..n) (it may modify iov), waiting while the socket is full, up
 * to deadline_ns: 0 sent, -1 the peer is gone or an error, -2 the deadline passed. */
int zh_http_send_all(int fd, struct iovec *iov, int n, uint64_t deadline_ns);
/* Status text for a code ("Not Found"), "Unknown" for codes it does not list. */
const char *zh_http_reason(int status);
/* Sends a short plain-text error response, best effort, with `Connection: close` unless
 * keep is set. */
void zh_http_send_simple(zh_http_conn *c, int status, const char *detail, bool keep);
/* The Date field's value, for now. */
const char *zh_http_date(zh_http_conn *c);

/* Serves requests on a connection whose socket is readable, for as long as their bytes
 * come without a wait between requests (keep-alive, pipelining). True when the connection
 * is idle and may be parked until it is readable again; false when it is done (the caller
 * closes fd). */
bool zh_http_conn_serve(zh_http_conn *c, int fd);
bool zh_http_conn_init(zh_http_conn *c, zh_http_server *server);
void zh_http_conn_release(zh_http_conn *c);

/* Called by the connection after its handler returns: pushes out or ends what the handler
 * left unfinished. True when the connection can serve another request. */
bool zh_http_response_after_handler(zh_http_request *req);

#endif
