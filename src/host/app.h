/* The Spin application host behind `zerohop up`: a spin.toml app loaded, linked and ready
 * to serve its HTTP routes and Redis channels.
 *
 * Loading does everything that can fail before the first request: the manifest and the
 * runtime config are parsed, variables resolved (a required one without a value stops
 * here), stores and databases opened, every component read, decoded, validated, compiled,
 * recognised (which handler it exports) and pre-initialised as a template. Afterwards the app
 * is read-only: requests on any number of threads stamp a fresh instance of a component from
 * its template into a store the app lends them, call it, and give the store back rolled
 * back, so no guest state outlives its request (key-value and SQLite are the only memory).
 *
 * Ownership: the app owns everything it loaded; the engine must outlive it. */
#ifndef ZH_HOST_APP_H
#define ZH_HOST_APP_H

#include "zerohop/engine.h"
#include "zerohop/http_server.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct zh_app zh_app;

/* One line for the host's log (already prefixed "zerohop up: " by the caller's function
 * if it wants); NULL logs to stderr. */
typedef void (*zh_app_log_fn)(void *env, const char *line);

/* Per-request hop traces in the log: none, every request and message, or only the HTTP
 * requests that carry `zerohop-trace: 1` (the operator opts in to clients asking). */
typedef enum zh_app_trace {
  ZH_APP_TRACE_OFF,
  ZH_APP_TRACE_ALL,
  ZH_APP_TRACE_HEADER,
} zh_app_trace;

typedef struct zh_app_options {
  const char *manifest;       /* spin.toml, or a directory holding one */
  const char *state_dir;      /* NULL: .zerohop/ beside the manifest */
  const char *runtime_config; /* a runtime config file, or NULL */
  const char *const *env;     /* -e KEY=VALUE for every component, after the manifest's */
  size_t nenv;
  const char *const *variables; /* --variable NAME=VALUE (or NAME=@FILE) */
  size_t nvariables;
  const char *const *key_values; /* --key-value KEY=VALUE, set in the `default` store */
  size_t nkey_values;
  const char *const *sqlite; /* --sqlite SQL or @FILE, run on the `default` database */
  size_t nsqlite;
  const char *log_dir; /* components' stdout/stderr go to files there; NULL: the host's */
  uint64_t timeout_ns; /* each request's deadline; 0: 30 s */
  uint64_t max_body;   /* request bodies the host reads whole (inbound-http, WAGI); 0: 16 MiB */
  zh_app_log_fn log;
  void *log_env;
  zh_app_trace trace; /* which requests log their hops (src/host/app_hops.c) */
} zh_app_options;

/* Loads the app. An error is one line naming the file (FILE:LINE:COL for the manifest and
 * the runtime config), the component or the variable. */
zh_error *zh_app_load(zh_engine *engine, const zh_app_options *options, zh_app **out);
/* Stops the triggers if running and frees everything. Accepts NULL. */
void zh_app_free(zh_app *app);

/* The HTTP trigger: a handler for zh_http_config (env: the app). */
void zh_app_handle_http(zh_http_request *request, void *app);
/* True if the app has HTTP routes (or reserved paths only: always serve them). */
bool zh_app_has_http(const zh_app *app);

/* Starts the Redis trigger's subscribers, if the app has [[trigger.redis]]. */
zh_error *zh_app_start_triggers(zh_app *app);
/* Stops them: subscribers first, then waits for the messages being handled. */
void zh_app_stop_triggers(zh_app *app);

/* Prints the routes and the components behind them, Spin's way, for `base_url`
 * ("http://127.0.0.1:3000"), and the Redis channels. */
void zh_app_print_routes(const zh_app *app, FILE *out, const char *base_url);

/* Prints the app's wiring (host/wiring.h): each edge, in-process or network. */
void zh_app_print_wiring(const zh_app *app, FILE *out);

/* The app's hop table: every edge's counts and latencies, and requests per route. */
struct zh_hops *zh_app_hops(const zh_app *app);

/* The app's name and version, from [application]. */
const char *zh_app_name(const zh_app *app);

#endif
