/* WASI 0.2 internals: the context, its object table, streams and pollables, shared by the
 * src/wasip2 sources. Each interface's file defines its functions and lists them in an
 * entry array that table.c gathers. */
#ifndef ZH_WASIP2_INTERNAL_H
#define ZH_WASIP2_INTERNAL_H

#include "zerohop/wasip2.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Kinds of resources in the object table. */
typedef enum wp2_kind {
  WP2_FREE = 0,
  WP2_ERROR,
  WP2_POLLABLE,
  WP2_INPUT,
  WP2_OUTPUT,
  WP2_DESCRIPTOR,
  WP2_DIRSTREAM,
  WP2_NETWORK,
  WP2_TCP,
  WP2_UDP,
  WP2_RESOLVE,
  WP2_FIELDS,
  WP2_IN_REQUEST,
  WP2_OUT_REQUEST,
  WP2_REQ_OPTIONS,
  WP2_OUTPARAM,
  WP2_IN_RESPONSE,
  WP2_OUT_RESPONSE,
  WP2_IN_BODY,
  WP2_OUT_BODY,
  WP2_FUT_TRAILERS,
  WP2_FUT_RESPONSE,
  WP2_NKINDS
} wp2_kind;

/* Every object starts with this header; `free_fn` releases what the object owns and the
 * object itself. */
typedef struct wp2_obj wp2_obj;
struct wp2_obj {
  wp2_kind kind;
  void (*free_fn)(zh_wasip2_ctx *cx, wp2_obj *o);
};

typedef struct wp2_slot {
  wp2_obj *obj;
  uint32_t gen;
  uint32_t next_free;
} wp2_slot;

typedef struct wp2_buf {
  uint8_t *data;
  size_t len, cap;
} wp2_buf;

bool wp2_buf_append(wp2_buf *b, const void *data, size_t len);
void wp2_buf_free(wp2_buf *b);

/* The response side of an incoming request (one per ctx). */
typedef struct wp2_incoming {
  const zh_wasip2_http_io *io;
  void *req;
  bool set, ok, started, finished, failed;
  int status;
} wp2_incoming;

typedef struct wp2_curl wp2_curl; /* http_out.c */

#define WP2_ARENA 288 /* bytes of zh_wasip2_ctx.arena */

struct zh_wasip2_ctx {
  zh_store *store;
  zh_val *ret_slot;   /* during a call: the adapter's room for the result's payload, or NULL */
  char **argv, **env; /* env as "K=V" */
  char **strings;     /* the block argv, env and the allow lists live in (ctx.c) */
  size_t argc, envc;
  char *cwd;
  zh_wasi_stdio stdio[3];
  uint8_t *stdin_data;
  size_t stdin_len, stdin_pos; /* every stdin stream shares the position */
  wp2_buf captured[3];
  size_t capture_limit;
  zh_wasi_preopen *preopens; /* host_fd opened (or duplicated) by zh_wasip2_new */
  size_t npreopens;
  char **net_allow, **http_allow;
  size_t nnet_allow, nhttp_allow;
  bool (*http_allowed)(void *env, const char *scheme, const char *host, uint16_t port);
  void *http_allowed_env;
  const zh_wasip2_dispatch *dispatch; /* borrowed from the config */
  zh_wasip2_log_fn log;
  void *log_env;
  void (*http_done)(zh_wasip2_ctx *cx, const char *scheme, const char *authority, uint64_t ns,
                    uint64_t bytes, bool failed); /* hop tracing, or NULL */
  uint64_t seed[2]; /* insecure-seed: drawn at its first call (random.c), then the same */
  bool seeded;
  wp2_slot *slots; /* NULL, few_slots, or malloc'd once a call holds more objects */
  uint32_t nslots, cap, free_head;
  wp2_slot few_slots[16]; /* an HTTP request's objects: no table to malloc */
  uint64_t stdin_rep;     /* the one stdin stream: its read position is the process's */
  wp2_incoming in;
  wp2_curl *curl;
  struct wp2_block *bindings; /* adapters handed to zh_component (table.c) */
  void *user;                 /* the embedder's (zh_wasip2_set_user) */
  /* input-stream reads land here before they become a list (io.c): kept for the context's
   * life, since a fresh 64 KiB block per read costs glibc a consolidation of its bins */
  uint8_t *read_buf;
  size_t read_cap;
  bool read_busy; /* a read is using it (a hook that re-enters gets a block of its own) */
  /* The first small objects of a request (its response, body, stream, outparam) come from
   * here (wp2_obj_zalloc), a malloc and a free each fewer; not cleared with the context,
   * and sized so that the context stays within glibc's per-thread cache (1032 bytes). */
  uint32_t arena_used;
  _Alignas(16) uint8_t arena[WP2_ARENA];
};

/* ---- the object table ---- */
zh_error *wp2_insert(zh_wasip2_ctx *cx, wp2_obj *o, uint64_t *rep);
wp2_obj *wp2_get(const zh_wasip2_ctx *cx, uint64_t rep, wp2_kind kind);
void wp2_remove(zh_wasip2_ctx *cx, uint64_t rep); /* frees the object */
/* Detaches the object from the table without freeing it. */
wp2_obj *wp2_take(zh_wasip2_ctx *cx, uint64_t rep, wp2_kind kind);
/* The object of a resource argument (own or borrow) of the right kind, or a trap. */
zh_error *wp2_arg(zh_wasip2_ctx *cx, const zh_val *v, wp2_kind kind, const char *what,
                  wp2_obj **out);
zh_error *wp2_oom(void) __attribute__((returns_nonnull));
/* n zeroed bytes from the context's arena when they fit, else wp2_zalloc; released with
 * wp2_obj_free (what is in the arena stays until the context goes). */
void *wp2_obj_zalloc(zh_wasip2_ctx *cx, size_t n);
void wp2_obj_free(zh_wasip2_ctx *cx, void *p);
/* calloc(1, n) for the objects of every request: glibc's calloc skips its per-thread cache
 * (and its blocks then overflow that cache when freed), malloc takes from it. */
static inline void *wp2_zalloc(size_t n) {
  void *p = malloc(n);
  /* GCC folds a malloc followed by a memset of zero into the calloc this avoids: the memset
   * goes through a copy of the pointer the empty asm hides (the size stays known, so small
   * blocks are still cleared inline). */
  void *z = p;
  __asm__("" : "+r"(z));
  if (z)
    memset(z, 0, n);
  return p;
}

/* ---- values ---- */
zh_error *wp2_ok(zh_val *out, zh_val *payload); /* payload may be NULL */
/* ok(own rep), its payload in the adapter's slot when the call has one (cx->ret_slot). */
zh_error *wp2_ok_own(zh_wasip2_ctx *cx, zh_val *out, uint64_t rep);
zh_error *wp2_err(zh_val *out, zh_val *payload); /* payload may be NULL */
zh_error *wp2_err_enum(zh_val *out, uint32_t e); /* err(enum case) */
zh_error *wp2_bytes(zh_val *out, const void *data, size_t len);
zh_error *wp2_some(zh_val *out, zh_val *payload);
zh_error *wp2_string_opt(zh_val *out, const char *s); /* option<string> */
zh_error *wp2_tuple2(zh_val *out, zh_val *a, zh_val *b);
uint64_t wp2_now_ns(int clock);

/* ---- errors (wasi:io/error) ---- */
zh_error *wp2_error_new(zh_wasip2_ctx *cx, const char *msg, uint64_t *rep);
/* The filesystem error-code a wasi:io error carries, or -1 (filesystem-error-code). */
int wp2_error_fs_code(const zh_wasip2_ctx *cx, uint64_t rep);
/* err(stream-error::last-operation-failed(error)) / err(stream-error::closed). */
zh_error *wp2_stream_failed(zh_wasip2_ctx *cx, zh_val *result, const char *msg, int fs_code);
zh_error *wp2_stream_closed(zh_val *result);

/* ---- streams ---- */
typedef enum wp2_stream_kind {
  WP2_S_NULL,    /* input: at end; output: discards */
  WP2_S_FD,      /* host descriptor, positioned (files) or not (pipes, ttys) */
  WP2_S_MEM,     /* input from a private buffer (stdin buffer) */
  WP2_S_CAPTURE, /* output appended to ctx->captured[slot] */
  WP2_S_HOOK,    /* an HTTP body: the hooks below */
} wp2_stream_kind;

typedef struct wp2_stream wp2_stream;
/* Body streams (HTTP) are served by their owner through these. */
typedef struct wp2_stream_hooks {
  /* input: up to cap bytes; *got 0 and !*eof means nothing yet (non-blocking). */
  zh_error *(*read)(zh_wasip2_ctx *cx, wp2_stream *s, void *buf, size_t cap, size_t *got, bool *eof,
                    bool blocking);
  bool (*ready)(zh_wasip2_ctx *cx, wp2_stream *s);
  /* output */
  zh_error *(*write)(zh_wasip2_ctx *cx, wp2_stream *s, const void *data, size_t len);
  void (*dropped)(zh_wasip2_ctx *cx, wp2_stream *s);
} wp2_stream_hooks;

struct wp2_stream {
  wp2_obj base; /* WP2_INPUT or WP2_OUTPUT */
  wp2_stream_kind kind;
  int fd;
  bool owns_fd, positioned, append, closed, may_sigpipe;
  uint64_t offset;
  uint64_t permit; /* output: what the last check-write allowed and is not yet written */
  int slot;        /* WP2_S_CAPTURE */
  const uint8_t *mem;
  size_t mem_len, *mem_pos; /* WP2_S_MEM: shared position (stdin) */
  const wp2_stream_hooks *hooks;
  uint64_t owner; /* rep of the object behind a hooked stream */
  char *fail_msg; /* a hooked source failed: reported once as last-operation-failed */
};

zh_error *wp2_input_new(zh_wasip2_ctx *cx, wp2_stream_kind kind, int fd, bool owns, uint64_t *rep,
                        wp2_stream **out);
zh_error *wp2_output_new(zh_wasip2_ctx *cx, wp2_stream_kind kind, int fd, bool owns, uint64_t *rep,
                         wp2_stream **out);
bool wp2_stream_ready(zh_wasip2_ctx *cx, wp2_stream *s);

/* ---- pollables ---- */
typedef enum wp2_poll_kind {
  WP2_P_READY,
  WP2_P_TIMER, /* monotonic deadline */
  WP2_P_INPUT, /* an input stream has bytes or has ended */
  WP2_P_FUTURE /* an HTTP future is resolved: `ready` asks its owner */
} wp2_poll_kind;

typedef struct wp2_pollable {
  wp2_obj base;
  wp2_poll_kind kind;
  uint64_t deadline;
  uint64_t target; /* rep of the stream or future */
  bool (*ready)(zh_wasip2_ctx *cx, uint64_t target);
} wp2_pollable;

zh_error *wp2_pollable_new(zh_wasip2_ctx *cx, wp2_poll_kind kind, uint64_t target,
                           uint64_t deadline, zh_val *result);
/* Waits until one of the pollables is ready (or the store's deadline); `which` gets their
 * readiness. Steps outbound HTTP transfers while it waits. */
zh_error *wp2_wait(zh_wasip2_ctx *cx, wp2_pollable **ps, size_t n, bool *which);
/* Waits for one condition: used by the blocking-* functions. */
zh_error *wp2_block_until(zh_wasip2_ctx *cx, bool (*ready)(zh_wasip2_ctx *, void *), void *arg);

/* ---- outbound HTTP (http_out.c) ---- */
void wp2_curl_free(zh_wasip2_ctx *cx);
/* Makes progress on transfers; waits up to `ms` for network activity. */
void wp2_curl_step(zh_wasip2_ctx *cx, int ms);
bool wp2_curl_active(const zh_wasip2_ctx *cx);

/* ---- the tables of each interface file ---- */
typedef struct wp2_table {
  const zh_wasip2_entry *entries;
  size_t n;
  const zh_wasip2_resource *resources;
  size_t nres;
} wp2_table;

extern const wp2_table wp2_cli_table, wp2_io_table, wp2_clocks_table, wp2_random_table,
    wp2_fs_table, wp2_sockets_table, wp2_http_table, wp2_http_out_table;

/* The generated C file (mk/wasip2.mk) holding the hosted WIT text. */
extern const char zh_wasip2_wit_text[];

void wp2_bindings_free(zh_wasip2_ctx *cx);

/* Generic destructor: removes the object of `rep`, whatever its kind. */
void wp2_dtor(zh_wasip2_ctx *cx, uint64_t rep);

#endif
