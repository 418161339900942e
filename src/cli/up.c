/* `zerohop up`: runs a Spin app from its spin.toml, as `spin up` does.
 *
 * Parse the options, optionally build, load the app (src/host/app.c: every error before the
 * first request, one line, exit 1), serve its HTTP routes and Redis channels until SIGINT or
 * SIGTERM, then stop accepting, let the requests in flight finish within the grace period,
 * stop the Redis subscribers and close the stores. */
#include "cli.h"

#include "host/admin.h"
#include "host/app.h"
#include "wasm/error.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STOP_GRACE_MS 10000u

static const char usage_line[] =
    "zerohop up [-f MANIFEST|DIR] [--listen ADDR] [-e K=V] [--variable K=V] [--key-value K=V] "
    "[--sqlite SQL] [--runtime-config-file F] [--state-dir D] [--log-dir D] [--build] "
    "[--trace | --trace-header] [--admin ADDR] [--from-registry REF] [--insecure]";

void zh_cli_up_help(FILE *out) {
  fprintf(out,
          "Usage: %s\n"
          "\n"
          "Runs the Spin application of a spin.toml (version 2): its HTTP routes, Redis\n"
          "channels, key-value stores, SQLite databases, variables and outbound rules. Every\n"
          "request and message gets a fresh instance of its component.\n"
          "\n"
          "Options:\n"
          "  -f, --from PATH|REF         the manifest, or a directory holding spin.toml\n"
          "                              (default: .); a registry reference that is not a\n"
          "                              path (HOST[:PORT]/REPO[:TAG]) is pulled first\n"
          "  --from-registry REF         run the app pushed to REF (`zerohop registry`),\n"
          "                              through the content cache ($XDG_CACHE_HOME/zerohop)\n"
          "  --insecure                  plain HTTP to the registry\n"
          "  --listen ADDR               serve HTTP there (default $SPIN_HTTP_LISTEN_ADDR,\n"
          "                              else 127.0.0.1:3000; port 0 picks one)\n"
          "  -e, --env KEY=VALUE         an environment variable for every component\n"
          "  --variable NAME=VALUE       set an application variable (NAME=@FILE reads it\n"
          "                              from FILE); beats SPIN_VARIABLE_NAME and\n"
          "                              ZEROHOP_VARIABLE_NAME, which beat the defaults\n"
          "  --key-value KEY=VALUE       set a key in the `default` store before starting\n"
          "  --sqlite SQL | @FILE        run statements on the `default` database first\n"
          "  --runtime-config-file FILE  key-value stores, databases and providers (TOML)\n"
          "  --state-dir DIR             where default stores live (default: .zerohop/\n"
          "                              beside the manifest)\n"
          "  --log-dir DIR               write each component's stdout and stderr to\n"
          "                              DIR/ID_stdout.txt and DIR/ID_stderr.txt instead of\n"
          "                              the host's output (lines prefixed [ID])\n"
          "  --timeout DURATION          each request's deadline (default 30s)\n"
          "  --build                     run `zerohop build` first\n"
          "  --trace                     log every request's and message's hops after it\n"
          "                              (caller, callee, kind, duration, bytes)\n"
          "  --trace-header              log them only for requests that send the header\n"
          "                              `zerohop-trace: 1` (off unless given: clients\n"
          "                              cannot switch tracing on by themselves)\n"
          "  --admin ADDR                serve GET /metrics (Prometheus text format: hop\n"
          "                              counts, errors, bytes, latency histograms, requests\n"
          "                              per route) on ADDR; off by default\n"
          "  -h, --help                  show this help\n"
          "\n"
          "Exit status: 0 after SIGINT or SIGTERM, 1 when the app does not load (the message\n"
          "names FILE:LINE:COL, the component or the variable), 2 for a usage error.\n",
          usage_line);
}

typedef struct list {
  const char **items;
  size_t n;
} list;

typedef struct up_opts {
  const char *from, *listen, *runtime_config, *state_dir, *log_dir, *admin;
  const char *registry; /* --from-registry, or --from naming a reference (src/cli/registry.c) */
  list env, variables, key_values, sqlite;
  uint64_t timeout_ns;
  bool build, insecure;
  zh_app_trace trace;
} up_opts;

#define usage(...) zh_cli_usagef("up", usage_line, __VA_ARGS__)

static bool push(list *l, const char *v) {
  const char **items = realloc(l->items, (l->n + 1) * sizeof *items);
  if (!items)
    return false;
  items[l->n++] = v;
  l->items = items;
  return true;
}

/* -1 when the options are fine, else the exit status. */
static int parse(int argc, char **argv, up_opts *o) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      zh_cli_up_help(stdout);
      return ZH_CLI_OK;
    }
    if (strcmp(a, "--build") == 0 || strcmp(a, "--insecure") == 0) {
      *(a[2] == 'b' ? &o->build : &o->insecure) = true;
      continue;
    }
    if (strcmp(a, "--trace") == 0 || strcmp(a, "--trace-header") == 0) {
      o->trace = a[7] ? ZH_APP_TRACE_HEADER : ZH_APP_TRACE_ALL;
      continue;
    }
    const char *eq = a[0] == '-' && a[1] == '-' ? strchr(a, '=') : NULL;
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    const char *v = eq ? eq + 1 : NULL;
    static const char *const known[] = {
        "-f",          "--from",     "--file",      "--listen", "-e",
        "--env",       "--variable", "--key-value", "--sqlite", "--runtime-config-file",
        "--state-dir", "--log-dir",  "--timeout",   "--admin",  "--from-registry"};
    const char *name = NULL;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
      if (strlen(known[k]) == nlen && strncmp(a, known[k], nlen) == 0)
        name = known[k];
    if (!name)
      return a[0] == '-' ? usage("unknown option '%s'", a) : usage("unexpected argument '%s'", a);
    if (!v) {
      if (i + 1 >= argc)
        return usage("option '%s' needs a value", name);
      v = argv[++i];
    }
    bool ok = true;
    if (!strcmp(name, "-f") || !strcmp(name, "--from") || !strcmp(name, "--file"))
      o->from = v;
    else if (!strcmp(name, "--from-registry"))
      o->registry = v;
    else if (!strcmp(name, "--listen"))
      o->listen = v;
    else if (!strcmp(name, "-e") || !strcmp(name, "--env")) {
      if (!strchr(v, '=') || v[0] == '=')
        return usage("%s expects KEY=VALUE, got '%s'", name, v);
      ok = push(&o->env, v);
    } else if (!strcmp(name, "--variable")) {
      if (!strchr(v, '=') || v[0] == '=')
        return usage("--variable expects NAME=VALUE, got '%s'", v);
      ok = push(&o->variables, v);
    } else if (!strcmp(name, "--key-value")) {
      if (!strchr(v, '=') || v[0] == '=')
        return usage("--key-value expects KEY=VALUE, got '%s'", v);
      ok = push(&o->key_values, v);
    } else if (!strcmp(name, "--sqlite"))
      ok = push(&o->sqlite, v);
    else if (!strcmp(name, "--runtime-config-file"))
      o->runtime_config = v;
    else if (!strcmp(name, "--state-dir"))
      o->state_dir = v;
    else if (!strcmp(name, "--log-dir"))
      o->log_dir = v;
    else if (!strcmp(name, "--admin"))
      o->admin = v;
    else if (!zh_cli_parse_duration(v, &o->timeout_ns) || o->timeout_ns == 0)
      return usage("--timeout: bad duration '%s' (e.g. 100ms, 1.5s)", v);
    if (!ok) {
      zh_cli_error("out of memory");
      return ZH_CLI_FAIL;
    }
  }
  return -1;
}

static void log_line(void *env, const char *line) {
  (void)env;
  char buf[2200];
  int n = snprintf(buf, sizeof buf, "zerohop up: %s\n", line);
  if (n > (int)sizeof buf - 1)
    n = (int)sizeof buf - 1, buf[n - 1] = '\n';
  ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
  (void)w; /* nowhere to report a failed log write */
}

static int serve(zh_app *app, const up_opts *o) {
  zh_http_config hc;
  memset(&hc, 0, sizeof hc);
  /* SPIN_HTTP_LISTEN_ADDR as Spin's container images and shims set it (the plain image). */
  const char *env_addr = getenv("SPIN_HTTP_LISTEN_ADDR");
  hc.addr = o->listen ? o->listen : env_addr && *env_addr ? env_addr : "127.0.0.1:3000";
  hc.handler = zh_app_handle_http;
  hc.env = app;
  if (o->timeout_ns)
    hc.request_timeout_ms = o->timeout_ns / 1000000u ? (uint32_t)(o->timeout_ns / 1000000u) : 1;
  zh_http_server *server = NULL, *admin = NULL;
  zh_error *err = zh_http_server_start(&hc, &server);
  if (!err && o->admin && (err = zh_host_admin_start(o->admin, zh_app_hops(app), &admin)))
    err = zh_error_prefix(err, "--admin");
  if (!err)
    err = zh_app_start_triggers(app);
  if (err) {
    zh_cli_error("%s", zh_error_message(err));
    zh_error_free(err);
    zh_http_server_free(admin);
    if (server) {
      zh_http_server_stop(server, 0);
      zh_http_server_free(server);
    }
    return ZH_CLI_FAIL;
  }
  char base[300];
  snprintf(base, sizeof base, "http://%s", zh_http_server_address(server));
  zh_app_print_routes(app, stdout, base);
  zh_app_print_wiring(app, stdout);
  if (admin)
    printf("Metrics: http://%s/metrics\n", zh_http_server_address(admin));
  fflush(stdout);
  sigset_t set;
  zh_cli_stop_signals(&set);
  int sig = 0;
  sigwait(&set, &sig);
  log_line(NULL, sig == SIGINT ? "SIGINT: stopping" : "SIGTERM: stopping");
  zh_http_server_stop(server, STOP_GRACE_MS); /* in-flight requests finish first */
  zh_http_server_free(server);
  zh_app_stop_triggers(app);
  zh_http_server_free(admin); /* last: a final scrape sees every request */
  return ZH_CLI_OK;
}

int zh_cli_up_main(int argc, char **argv) {
  up_opts o;
  memset(&o, 0, sizeof o);
  o.from = ".";
  char *pulled = NULL;
  int st = parse(argc, argv, &o);
  if (st < 0 && !o.registry && zh_cli_registry_is_ref(o.from))
    o.registry = o.from;
  if (st < 0 && o.registry) {
    st = zh_cli_registry_pull(o.registry, o.insecure, NULL, NULL, &pulled) == ZH_CLI_OK
             ? -1
             : ZH_CLI_FAIL;
    o.from = pulled;
  }
  if (st < 0 && o.build)
    st = zh_cli_build_app(o.from) == ZH_CLI_OK ? -1 : ZH_CLI_FAIL;
  if (st >= 0)
    goto done;
  /* Before any thread starts, so every thread inherits the mask: a stop signal must reach
   * sigwait, never a worker. */
  sigset_t set;
  zh_cli_stop_signals(&set);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  zh_engine *engine = NULL;
  zh_app *app = NULL;
  zh_app_options ao;
  memset(&ao, 0, sizeof ao);
  ao.manifest = o.from;
  ao.state_dir = o.state_dir;
  ao.runtime_config = o.runtime_config;
  ao.env = o.env.items;
  ao.nenv = o.env.n;
  ao.variables = o.variables.items;
  ao.nvariables = o.variables.n;
  ao.key_values = o.key_values.items;
  ao.nkey_values = o.key_values.n;
  ao.sqlite = o.sqlite.items;
  ao.nsqlite = o.sqlite.n;
  ao.log_dir = o.log_dir;
  ao.timeout_ns = o.timeout_ns;
  ao.log = log_line;
  ao.trace = o.trace;
  zh_error *err = zh_engine_new(NULL, &engine);
  if (!err)
    err = zh_app_load(engine, &ao, &app);
  if (err) {
    zh_cli_error("%s", zh_error_message(err));
    zh_error_free(err);
    st = ZH_CLI_FAIL;
  } else {
    st = serve(app, &o);
  }
  zh_app_free(app);
  zh_engine_free(engine);
done:
  free(pulled);
  free(o.env.items);
  free(o.variables.items);
  free(o.key_values.items);
  free(o.sqlite.items);
  return st;
}
