/* `zerohop serve`: serves a wasi:http/incoming-handler component (any 0.2.x) over HTTP/1.1.
 *
 * The component is decoded, validated and compiled once, and instantiated once at start, as
 * the template requests are stamped from, so that a missing export or import fails before
 * the first request (one line, exit 1). Each request then gets a fresh component instance
 * with its own WASI 0.2 context, in a store that a worker keeps across requests and rolls
 * back (zh_store_release_to) after each one: no guest state outlives its request (memories
 * are reset to the template's image in place). The request's deadline (--timeout) is the store's,
 * so a runaway handler is cut there. A trap, an error-code response or a cut handler gets
 * 500 when no response has started (the connection closes when one has), one log line on
 * stderr, and the server keeps serving. SIGINT/SIGTERM stop it gracefully (exit 0). */
#include "cli.h"
#include "run.h"

#include "wasip2/server_io.h"
#include "wasm/error.h"
#include "wasm/store_pool.h"
#include "zerohop/cm.h"
#include "zerohop/http_server.h"
#include "zerohop/wasip2.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Found under any semver-compatible 0.2.x version (zh_cm_instance_func). */
#define HANDLER_IFACE "wasi:http/incoming-handler@0.2.0"
#define MAX_LIST 64          /* --env, --dir and --allow-outbound values each */
#define STOP_GRACE_MS 10000u /* in-flight requests get this long to finish at a stop */
#define SAMPLES 65536u       /* instantiation times kept for the median */
#define NAME_BYTES 16384u    /* header names of one request, NUL-terminated copies */
#define LOG_BYTES 1024u

typedef struct serve {
  const char *path;
  zh_engine *engine;
  zh_cm_component *comp;
  zh_cm_linker *linker;
  zh_cm_template *tpl;   /* per-request instances are stamped from it; NULL: full instantiation */
  zh_wasip2_config cfg;  /* every request's context is made from it */
  uint64_t timeout_ns;   /* 0: the server's default deadline */
  zh_store_pool *stores; /* a store per request, lent and rolled back */
  uint32_t *samples;     /* instantiation times in ns, a ring */
  _Atomic uint64_t nsamples;
} serve;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One line on stderr; a single write, so lines of concurrent requests do not interleave. */
static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...) {
  char line[LOG_BYTES];
  int n = snprintf(line, sizeof line, "zerohop serve: ");
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof line - 2)
    len = sizeof line - 2;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)line[i] < 0x20)
      line[i] = ' ';
  line[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, len);
  (void)w; /* nowhere to report a failed log write */
}

/* ---- stores and figures ---- */

static zh_pooled_store *take_store(serve *s, zh_error **err) {
  zh_pooled_store *ps = NULL;
  *err = zh_store_pool_take(s->stores, &ps);
  return ps;
}

static void give_store(serve *s, zh_pooled_store *ps) {
  zh_error *err = zh_store_pool_give(s->stores, ps);
  if (err) {
    log_line("dropping a worker store: %s", zh_error_message(err));
    zh_error_free(err);
  }
}

/* Lock-free: each request gets its own place in the ring; the median is read after the
 * workers have stopped. */
static void add_sample(serve *s, uint64_t ns) {
  uint64_t i = atomic_fetch_add_explicit(&s->nsamples, 1, memory_order_relaxed);
  s->samples[i % SAMPLES] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* The median of the kept instantiation times (the last SAMPLES requests). */
static void print_figures(serve *s) {
  size_t n = s->nsamples < SAMPLES ? (size_t)s->nsamples : SAMPLES;
  if (n == 0)
    return;
  qsort(s->samples, n, sizeof *s->samples, cmp_u32);
  size_t mid = n / 2;
  double med = n % 2 ? (double)s->samples[mid]
                     : ((double)s->samples[mid - 1] + (double)s->samples[mid]) / 2.0;
  log_line("instantiate median %.1f us over %zu requests (%llu served)", med / 1000.0, n,
           (unsigned long long)s->nsamples);
}

/* ---- one request ---- */

/* A NUL-terminated copy of a byte string; NULL if out of memory. */
static char *dup_n(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, p, n);
    s[n] = 0;
  }
  return s;
}

/* Builds the WASI host's request head; the strings are malloc'd into *names. */
static bool request_head(const zh_http_request_info *info, zh_wasip2_request *out,
                         zh_wasip2_header **headers, char **names) {
  size_t need = info->method_len + info->target_len + info->authority_len + 3;
  for (size_t i = 0; i < info->nheaders; i++)
    need += info->headers[i].name_len + 1;
  char *buf = malloc(need);
  zh_wasip2_header *h = calloc(info->nheaders ? info->nheaders : 1, sizeof *h);
  if (!buf || !h) {
    free(buf);
    free(h);
    return false;
  }
  char *p = buf;
  out->method = p;
  memcpy(p, info->method, info->method_len);
  p += info->method_len;
  *p++ = 0;
  out->path_with_query = p;
  memcpy(p, info->target, info->target_len);
  p += info->target_len;
  *p++ = 0;
  out->authority = p;
  memcpy(p, info->authority, info->authority_len);
  p += info->authority_len;
  *p++ = 0;
  out->scheme = info->scheme;
  for (size_t i = 0; i < info->nheaders; i++) {
    h[i].name = p;
    memcpy(p, info->headers[i].name, info->headers[i].name_len);
    p += info->headers[i].name_len;
    *p++ = 0;
    h[i].value = (const uint8_t *)info->headers[i].value;
    h[i].value_len = info->headers[i].value_len;
  }
  out->headers = h;
  out->nheaders = info->nheaders;
  *headers = h;
  *names = buf;
  return true;
}

/* Runs the guest's handle; returns what went wrong (NULL: a response was set). */
static zh_error *run_guest(serve *s, zh_pooled_store *slot, zh_wasip2_ctx *cx,
                           zh_wasip2_server_req *r, const zh_wasip2_request *head) {
  zh_cm_instance *inst = NULL;
  zh_error *err;
  uint64_t t0 = now_ns();
  err = s->tpl ? zh_cm_template_instantiate(s->tpl, slot->store, cx, &inst)
               : zh_cm_linker_instantiate(s->linker, s->comp, slot->store, cx, &inst);
  if (err)
    return err;
  add_sample(s, now_ns() - t0);
  zh_cm_func *handle = zh_cm_instance_func(inst, HANDLER_IFACE, "handle");
  uint64_t request, outparam;
  if (!handle)
    err = zh_error_new(ZH_ERR_UNLINKABLE, "no wasi:http/incoming-handler#handle export");
  else if ((err = zh_wasip2_incoming(cx, head, &zh_wasip2_server_io, r, &request, &outparam)) ==
           NULL) {
    zh_val args[2] = {zh_val_own(request), zh_val_own(outparam)};
    zh_val result;
    err = zh_cm_func_call(inst, handle, args, 2, &result);
    if (!err)
      zh_val_drop(&result);
  }
  int status;
  if (!err && !zh_wasip2_response_status(cx, &status))
    err = zh_error_new(ZH_ERR_INVALID, "the handler set no response, or an error-code response");
  zh_cm_instance_free(inst);
  return err;
}

static void handle_request(zh_http_request *http, void *env) {
  serve *s = env;
  const zh_http_request_info *info = zh_http_request_get_info(http);
  zh_wasip2_server_req r = {http, false, false};
  zh_wasip2_request head;
  zh_wasip2_header *headers = NULL;
  char *names = NULL;
  zh_wasip2_ctx *cx = NULL;
  zh_pooled_store *slot = NULL;
  zh_error *err = NULL;
  if (!request_head(info, &head, &headers, &names))
    err = zh_error_new(ZH_ERR_RESOURCE, "out of memory for the request head");
  else if ((cx = zh_wasip2_new(&s->cfg, &err)) != NULL && (slot = take_store(s, &err)) != NULL) {
    zh_wasip2_set_store(cx, slot->store);
    uint64_t left = zh_http_request_time_left_ns(http);
    zh_store_set_timeout(slot->store, left ? left : 1);
    err = run_guest(s, slot, cx, &r, &head);
  }
  if (err) {
    char *target = dup_n(info->target, info->target_len);
    log_line("%.*s %s: %s: %s", (int)info->method_len, info->method, target ? target : "?",
             zh_error_outcome(err), zh_error_message(err));
    free(target);
    zh_error_free(err);
    if (!r.started) {
      static const char msg[] = "internal server error\n";
      const zh_http_header ct = {"content-type", 12, "text/plain; charset=utf-8", 25};
      zh_wasip2_server_respond(http, 500, &ct, 1, msg, sizeof msg - 1);
    }
    /* A started response is left unfinished: the server closes the connection. */
  }
  zh_wasip2_free(cx); /* before the store's objects go: it may flush guest streams */
  if (slot)
    give_store(s, slot);
  free(headers);
  free(names);
}

/* ---- the command ---- */

typedef struct serve_opts {
  const char *addr;
  const char *env[MAX_LIST];
  size_t nenv;
  const char *allow[MAX_LIST];
  size_t nallow;
  const char *dirs[MAX_LIST];
  size_t ndirs;
  uint64_t timeout_ns;
  uint32_t max_pages;
  const char *path;
} serve_opts;

static const char usage_line[] = "zerohop serve [OPTIONS] COMPONENT.wasm";

void zh_cli_serve_help(FILE *out) {
  fprintf(out,
          "Usage: %s\n"
          "\n"
          "Serves a component that exports wasi:http/incoming-handler (0.2.x) over HTTP/1.1,\n"
          "with a fresh component instance for every request.\n"
          "\n"
          "Options:\n"
          "  --addr HOST:PORT        listen there (default 127.0.0.1:8080; port 0 picks one)\n"
          "  --allow-outbound URL    let the guest send HTTP requests to this origin\n"
          "                          (scheme://host[:port], or * for any); repeatable. Without\n"
          "                          it every outbound request is denied and logged\n"
          "  --dir HOST[::GUEST]     give every instance the host directory HOST as GUEST\n"
          "  --env KEY=VALUE         an environment variable for the guest; repeatable\n"
          "  --timeout DURATION      each request's deadline (default 30s): a handler still\n"
          "                          running then is stopped and answered 500\n"
          "  --max-memory SIZE       cap each linear memory at SIZE (e.g. 64MiB)\n"
          "  -h, --help              show this help\n"
          "\n"
          "Prints the bound address on stdout as one line, 'serving http://ADDR/'. A request\n"
          "whose handler traps, sets an error response or runs past --timeout gets 500 (its\n"
          "connection closes if the response had started) and one line on stderr. SIGINT and\n"
          "SIGTERM stop the server after the requests in flight (exit 0); it then prints the\n"
          "median instance creation time on stderr.\n"
          "\n"
          "Exit status: 0 after a stop, 1 when the component cannot be loaded or is not an\n"
          "HTTP handler, 2 for a usage error.\n",
          usage_line);
}

#define usage(...) zh_cli_usagef("serve", usage_line, __VA_ARGS__)

static bool add_value(const char **list, size_t *n, const char *name, const char *v, int *st) {
  if (*n == MAX_LIST) {
    *st = usage("too many %s options (at most %d)", name, MAX_LIST);
    return false;
  }
  list[(*n)++] = v;
  return true;
}

/* Returns -1 when the options are fine, else the exit status. */
static int parse(int argc, char **argv, serve_opts *o) {
  int st = -1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      zh_cli_serve_help(stdout);
      return ZH_CLI_OK;
    }
    if (a[0] != '-' || strcmp(a, "-") == 0) {
      if (o->path)
        return usage("unexpected argument '%s'", a);
      o->path = a;
      continue;
    }
    const char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    const char *v = eq ? eq + 1 : NULL;
    static const char *const known[] = {"--addr", "--allow-outbound", "--dir",
                                        "--env",  "--timeout",        "--max-memory"};
    const char *name = NULL;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
      if (strlen(known[k]) == nlen && strncmp(a, known[k], nlen) == 0)
        name = known[k];
    if (!name)
      return usage("unknown option '%s'", a);
    if (!v) {
      if (i + 1 >= argc)
        return usage("option '%s' needs a value", name);
      v = argv[++i];
    }
    if (strcmp(name, "--addr") == 0)
      o->addr = v;
    else if (strcmp(name, "--allow-outbound") == 0) {
      if (!add_value(o->allow, &o->nallow, name, v, &st))
        return st;
    } else if (strcmp(name, "--dir") == 0) {
      if (!add_value(o->dirs, &o->ndirs, name, v, &st))
        return st;
    } else if (strcmp(name, "--env") == 0) {
      if (!strchr(v, '=') || v[0] == '=')
        return usage("--env expects KEY=VALUE, got '%s'", v);
      if (!add_value(o->env, &o->nenv, name, v, &st))
        return st;
    } else if (strcmp(name, "--timeout") == 0) {
      if (!zh_cli_parse_duration(v, &o->timeout_ns) || o->timeout_ns == 0)
        return usage("--timeout: bad duration '%s' (e.g. 100ms, 1.5s)", v);
    } else {
      uint64_t bytes;
      if (!zh_cli_parse_size(v, &bytes) || bytes < 65536)
        return usage("--max-memory: bad size '%s' (at least 64KiB, e.g. 64MiB)", v);
      o->max_pages = bytes / 65536 > 65536 ? 65536 : (uint32_t)(bytes / 65536);
    }
  }
  if (!o->path)
    return usage("missing COMPONENT.wasm");
  return st;
}

/* Opens the --dir directories into preopens (fds kept open for the server's life). */
static int open_dirs(const serve_opts *o, zh_wasi_preopen *pre, char **hosts) {
  for (size_t i = 0; i < o->ndirs; i++) {
    const char *spec = o->dirs[i];
    const char *sep = strstr(spec, "::");
    size_t hl = sep ? (size_t)(sep - spec) : strlen(spec);
    if (hl == 0 || (sep && sep[2] == 0))
      return usage("--dir expects HOST[::GUEST] with neither part empty, got '%s'", spec);
    hosts[i] = dup_n(spec, hl);
    if (!hosts[i]) {
      zh_cli_error("out of memory");
      return ZH_CLI_FAIL;
    }
    int fd = open(hosts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      zh_cli_error("--dir '%s': %s", hosts[i], strerror(errno));
      return ZH_CLI_USAGE;
    }
    pre[i].host_fd = fd;
    pre[i].guest_path = sep ? sep + 2 : spec;
  }
  return -1;
}

/* Instantiates the component fully once, to report why it cannot be served: a link or start
 * failure, or no handler export. -1 when it can be served after all (full instantiation per
 * request), else the exit status. */
static int check_full(serve *s) {
  zh_error *err = NULL;
  zh_store *store = NULL;
  zh_wasip2_ctx *cx = zh_wasip2_new(&s->cfg, &err);
  zh_cm_instance *inst = NULL;
  int st = -1;
  if (cx && (err = zh_store_new(s->engine, &store)) == NULL) {
    zh_wasip2_set_store(cx, store);
    zh_store_set_timeout(store, s->timeout_ns ? s->timeout_ns : 30000000000u);
    err = zh_cm_linker_instantiate(s->linker, s->comp, store, cx, &inst);
  }
  if (err)
    st = zh_cli_run_load_error(s->path, err);
  else if (!zh_cm_instance_func(inst, HANDLER_IFACE, "handle"))
    st = -2;
  zh_cm_instance_free(inst);
  zh_wasip2_free(cx);
  zh_store_free(store);
  return st;
}

/* Whether a copy of the template exports the handler. The copy's store, warm, becomes the
 * first of the workers' pool. */
static bool template_has_handler(serve *s, zh_error **err) {
  zh_pooled_store *slot = take_store(s, err);
  if (!slot)
    return false;
  zh_cm_instance *inst = NULL;
  *err = zh_cm_template_instantiate(s->tpl, slot->store, NULL, &inst);
  bool has = !*err && zh_cm_instance_func(inst, HANDLER_IFACE, "handle") != NULL;
  zh_cm_instance_free(inst);
  give_store(s, slot);
  return has;
}

/* Loads the component, links it and instantiates it once, as the template that every
 * request is stamped from: every load, link and export problem shows before the server
 * starts. A component the template cannot capture is instantiated once to check it, then
 * in full for each request. */
static int load(serve *s, const zh_cli_file *f) {
  zh_error *err;
  uint64_t t0 = now_ns();
  if ((err = zh_cm_component_new(s->engine, f->data, f->len, s->path, &s->comp)) != NULL) {
    if (!zh_cm_is_component(f->data, f->len) && f->len >= 8 && memcmp(f->data, "\0asm", 4) == 0) {
      zh_error_free(err);
      zh_cli_error("%s: a core module, not a component; serve needs a component that exports "
                   "wasi:http/incoming-handler",
                   s->path);
      return ZH_CLI_FAIL;
    }
    return zh_cli_run_load_error(s->path, err);
  }
  uint64_t t1 = now_ns();
  if ((err = zh_cm_linker_new(&s->linker)) != NULL ||
      (err = zh_wasip2_define_linker(s->linker)) != NULL)
    return zh_cli_run_load_error(s->path, err);
  uint64_t t2 = now_ns();
  zh_error *tpl_err = zh_cm_template_new(s->linker, s->comp, &s->tpl);
  int st = -1;
  if (!tpl_err) {
    st = template_has_handler(s, &err) ? -1 : -2;
    if (err)
      st = zh_cli_run_load_error(s->path, err);
  } else {
    s->tpl = NULL;
    st = check_full(s); /* the real reason, in the words of a full instantiation */
  }
  if (st == -2) {
    zh_cli_error("%s: the component does not export wasi:http/incoming-handler (0.2.x); it "
                 "is not an HTTP handler",
                 s->path);
    st = ZH_CLI_FAIL;
  }
  if (st >= 0) { /* a failed load stays one line */
    zh_error_free(tpl_err);
    return st;
  }
  log_line("loaded %s in %.1f ms (decode, validate, compile)", s->path, (double)(t1 - t0) / 1e6);
  if (tpl_err) {
    log_line("no template (%s): every request instantiates the component in full",
             zh_error_message(tpl_err));
    zh_error_free(tpl_err);
  } else {
    log_line("template ready in %.1f ms", (double)(now_ns() - t2) / 1e6);
  }
  return -1;
}

static int serve_until_signal(serve *s, const char *addr) {
  sigset_t set;
  zh_cli_stop_signals(&set);
  zh_http_config hc;
  memset(&hc, 0, sizeof hc);
  hc.addr = addr;
  hc.handler = handle_request;
  hc.env = s;
  if (s->timeout_ns)
    hc.request_timeout_ms = s->timeout_ns / 1000000u ? (uint32_t)(s->timeout_ns / 1000000u) : 1;
  zh_http_server *server = NULL;
  zh_error *err = zh_http_server_start(&hc, &server);
  if (err) {
    zh_cli_error("%s", zh_error_message(err));
    zh_error_free(err);
    return ZH_CLI_FAIL;
  }
  printf("serving http://%s/\n", zh_http_server_address(server));
  fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  log_line("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  zh_http_server_stop(server, STOP_GRACE_MS);
  zh_http_server_free(server);
  print_figures(s);
  return ZH_CLI_OK;
}

int zh_cli_serve_main(int argc, char **argv) {
  serve_opts o;
  memset(&o, 0, sizeof o);
  o.addr = "127.0.0.1:8080";
  int st = parse(argc, argv, &o);
  if (st >= 0)
    return st;
  /* Before any thread starts (the engine's watchdog starts while loading), so that every
   * thread inherits the mask: a stop signal must reach sigwait, never a worker. */
  sigset_t set;
  zh_cli_stop_signals(&set);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  serve s;
  memset(&s, 0, sizeof s);
  s.path = o.path;
  s.timeout_ns = o.timeout_ns;
  zh_wasi_preopen pre[MAX_LIST];
  char *hosts[MAX_LIST] = {0};
  memset(pre, 0, sizeof pre);
  for (size_t i = 0; i < MAX_LIST; i++)
    pre[i].host_fd = -1;
  zh_cli_file f = {0};
  const char *argv0[1] = {zh_cli_run_base_name(o.path)};
  st = open_dirs(&o, pre, hosts);
  if (st >= 0)
    goto done;
  s.cfg.argv = argv0;
  s.cfg.argc = 1;
  s.cfg.env = o.env;
  s.cfg.envc = o.nenv;
  s.cfg.preopens = pre;
  s.cfg.npreopens = o.ndirs;
  s.cfg.http_allow = o.allow;
  s.cfg.nhttp_allow = o.nallow;
  s.cfg.stdio[0].kind = ZH_WASI_STDIO_NULL;
  s.cfg.stdio[1].kind = ZH_WASI_STDIO_INHERIT;
  s.cfg.stdio[2].kind = ZH_WASI_STDIO_INHERIT;
  s.samples = calloc(SAMPLES, sizeof *s.samples);
  zh_engine_config ecfg;
  memset(&ecfg, 0, sizeof ecfg);
  ecfg.max_memory_pages = o.max_pages;
  zh_error *err;
  if (!s.samples) {
    zh_cli_error("out of memory");
    st = ZH_CLI_FAIL;
  } else if (!zh_cli_map_file(o.path, &f)) {
    zh_cli_error("%s: %s", o.path, strerror(errno));
    st = ZH_CLI_FAIL;
  } else if ((err = zh_engine_new(&ecfg, &s.engine)) != NULL ||
             (err = zh_store_pool_new(s.engine, &s.stores)) != NULL) {
    st = zh_cli_run_load_error(o.path, err);
  } else if ((st = load(&s, &f)) < 0) {
    zh_cli_unmap_file(&f);
    st = serve_until_signal(&s, o.addr);
  }
done:
  zh_cli_unmap_file(&f);
  zh_store_pool_free(s.stores);
  zh_cm_template_free(s.tpl); /* after its copies: the workers' stores are gone */
  zh_cm_linker_free(s.linker);
  zh_cm_component_free(s.comp);
  zh_engine_free(s.engine);
  free(s.samples);
  for (size_t i = 0; i < o.ndirs; i++) {
    free(hosts[i]);
    if (pre[i].host_fd >= 0)
      close(pre[i].host_fd);
  }
  return st;
}
