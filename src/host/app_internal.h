/* What the app host's files share: the loaded app, its components, and one call's state.
 *
 * app_load.c builds a zh_app from the manifest; app_call.c lends a store and stamps an
 * instance for one request or message; app_http.c is the HTTP trigger (routing, Spin's
 * headers, the three handler kinds); app_redis.c the Redis trigger's glue; app_files.c
 * mounts a component's `files`. */
#ifndef ZH_HOST_APP_INTERNAL_H
#define ZH_HOST_APP_INTERNAL_H

#include "host/app.h"
#include "host/app_deps.h"
#include "host/handler_kind.h"
#include "host/hops.h"
#include "host/host_instance.h"
#include "host/kv.h"
#include "host/manifest.h"
#include "host/outbound_hosts.h"
#include "host/redis_out.h"
#include "host/redis_trigger.h"
#include "host/router.h"
#include "host/runtime_config.h"
#include "host/sqlite.h"
#include "host/variables.h"
#include "host/wasi_config.h"
#include "wasm/error.h"
#include "wasm/store_pool.h"
#include "zerohop/cm.h"
#include "zerohop/component.h"
#include "zerohop/wasi.h"
#include "zerohop/wasip2.h"

#include <pthread.h>

#define APP_CAPTURE_LIMIT (1u << 20) /* guest stdout/stderr kept per call for the log */

typedef struct app_component {
  const zh_manifest_component *m;
  const char *id;
  zh_cm_component *comp; /* NULL: a core module */
  zh_module *module;
  /* A core module that carries its world (a component-type section, as older Spin SDKs
   * built them): the decoded world, and the plan of its WASI 0.2 imports. */
  zh_cm_component *core_world;
  zh_wasip2_plan *core_plan;
  zh_cm_template *tpl;  /* NULL: every call instantiates in full */
  zh_cm_linker *linker; /* its own, with its dependencies (app_deps.c); NULL: the app's */
  zh_wasip2_config cfg;
  char **env; /* "KEY=VALUE", the manifest's then -e's */
  size_t nenv;
  zh_wasi_preopen *pre;
  size_t npre;
  char *files_dir; /* the staging directory of its `files`, or NULL */
  zh_host_outbound *rules;
  struct zh_host_vars_inst *vars;
  int log_fd[2]; /* --log-dir files for stdout and stderr, or -1 */
} app_component;

/* One [[trigger.http]]: a component or a static response. */
typedef struct app_route {
  const zh_manifest_http_trigger *t;
  app_component *comp; /* NULL for a static response */
  zh_host_handler handler;
} app_route;

struct zh_app {
  zh_engine *engine;
  zh_app_options opt;
  zh_manifest *m;
  zh_runtime_config *rc;
  char *state_dir;
  zh_host_vars *vars;
  zh_host_kv_stores *kv;
  zh_host_sqlite_dbs *sql;
  zh_host_redis_config redis;
  zh_cm_linker *linker;
  app_component *comps;
  size_t ncomps;
  app_route *routes;
  size_t nroutes;
  zh_router *router;
  zh_host_redis_trigger *trigger;
  /* The [[trigger.redis]] channels and addresses with their variables rendered (Spin
   * expands them), index for index with the manifest's; an address may be NULL. */
  char **redis_channels, **redis_addresses;
  char *redis_default_address;
  struct zh_host_bus *bus;  /* the event bus (bus.h), or NULL without local/both channels */
  zh_hops *hops;            /* every hop between components and to the network */
  struct app_deps *deps;    /* component dependencies (app_deps.c) */
  zh_wasip2_dispatch chain; /* service chaining and self requests, in memory (app_chain.c) */
  zh_store_pool *stores;    /* the calls' stores, lent and rolled back (store_pool.h) */
  pthread_mutex_t log_lock; /* --log-dir writes */
};

/* The component with this id, or NULL. */
app_component *app_find_component(zh_app *app, const char *id);

/* One line on the app's log. */
void app_log(const zh_app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- one call: a store, a fresh instance and its host state (app_call.c) ---- */

typedef struct app_call {
  zh_app *app;
  app_component *c;
  zh_pooled_store *slot;
  zh_wasip2_ctx *cx;
  zh_host_instance hi;
  zh_cm_instance *inst;
  zh_instance *core;      /* WAGI core module */
  zh_wasi_ctx *wasi;      /* its preview1 context */
  zh_component *bound;    /* a core module bound to its own world */
  bool own_stdout;        /* the caller reads stdout (WAGI's response): not logged */
  uint64_t deadline_ns;   /* CLOCK_MONOTONIC; a chained callee inherits it */
  unsigned chain_depth;   /* 0 for a trigger's call, 1 for its chained callee, ... */
  struct app_call **deps; /* its dependencies' instances, made on first call (app_deps.c) */
} app_call;

/* Makes the instance: `cfg` overrides the component's WASI 0.2 config when not NULL (WAGI
 * gives argv, env and stdin per request); `deadline_ns` bounds the call (0: the app's). */
zh_error *app_call_begin(zh_app *app, app_component *c, const zh_wasip2_config *cfg,
                         uint64_t timeout_ns, app_call *call);
/* Frees the instance, logs the guest's output and gives the store back. */
void app_call_end(zh_app *app, app_call *call);
/* Writes captured guest output (stdout is fd 1, stderr 2) to the log, each line prefixed by
 * the component id, or to the component's --log-dir file. */
void app_call_log_output(zh_app *app, app_component *c, int fd, const char *data, size_t len);

/* ---- service chaining and self requests (app_chain.c) ---- */

/* Fills app->chain, the outbound-HTTP dispatch hook every component's config points at. */
void app_chain_init(zh_app *app);

/* ---- the Redis trigger and the event bus (app_redis.c) ---- */

/* Renders the triggers' channels and addresses, then builds app->bus from the runtime
 * config's channels and the Redis triggers. */
zh_error *app_bus_new(zh_app *app);
/* Frees what app_bus_new rendered (the bus itself is freed by zh_host_bus_free). */
void app_redis_free(zh_app *app);

/* app_load.c, for app_deps.c: a linker with every host interface; a whole file; a
 * `{ url, digest }` check (sha256, as Spin's); `what` names the object in messages. */
zh_error *app_linker_new(zh_cm_linker **out);
zh_error *app_read_file(const char *path, uint8_t **data, size_t *len);
zh_error *app_check_digest(const char *what, const char *path, const char *want,
                           const uint8_t *bytes, size_t len);

/* ---- the HTTP trigger (app_http.c) and its hop accounting (app_hops.c) ---- */

/* What one request came to, for the request counters and the trace. */
typedef struct app_http_outcome {
  const app_route *route; /* NULL: no route (404) or a reserved path */
  int status;             /* the status sent, 0 when none was */
  zh_hop_trace *trace;    /* this request's trace, or NULL */
} app_http_outcome;

/* Serves one request (zh_app_handle_http is this plus the accounting). */
void app_http_serve(zh_app *app, zh_http_request *http, app_http_outcome *out);
/* zh_wasip2_config.http_done for every component: a ZH_HOP_HTTP_OUT hop to host:port. */
void app_hops_http_done(zh_wasip2_ctx *cx, const char *scheme, const char *authority, uint64_t ns,
                        uint64_t bytes, bool failed);
/* A Redis trigger message: a trace when every message is traced (else NULL), and after the
 * handler the ZH_HOP_REDIS hop "redis:CHANNEL" -> component plus the trace's log lines. */
zh_hop_trace *app_hops_message_begin(zh_app *app);
void app_hops_message_end(zh_app *app, zh_hop_trace *trace, const char *channel,
                          const char *component, uint64_t start_ns, size_t len, bool failed);

/* ---- the component's files (app_files.c) ---- */
zh_error *app_files_mount(zh_app *app, app_component *c);
void app_files_free(app_component *c);

#endif
