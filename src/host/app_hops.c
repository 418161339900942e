/* The app host's side of hop tracing: the edges it sees itself (outbound HTTP through the
 * WASI 0.2 hook, Redis trigger messages), the inbound requests per route, and the
 * per-request trace, made when asked for and logged after the response.
 *
 * Tracing by header is off unless the operator says so (--trace-header): a client that could
 * switch it on at will could fill the log, and the trace names internal hosts and timings. */
#include "host/app_internal.h"
#include "host/wiring.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct zh_hops *zh_app_hops(const zh_app *app) {
  return app->hops;
}

void zh_app_print_wiring(const zh_app *app, FILE *out) {
  zh_wiring w;
  zh_error *err = zh_wiring_build(app->m, app->rc, &w);
  if (err) {
    zh_error_free(err); /* out of memory: the app runs without the print */
    return;
  }
  zh_wiring_print(&w, out);
  zh_wiring_free(&w);
  fflush(out);
}

void app_hops_http_done(zh_wasip2_ctx *cx, const char *scheme, const char *authority, uint64_t ns,
                        uint64_t bytes, bool failed) {
  zh_host_instance *hi = zh_wasip2_user(cx);
  if (!hi || !hi->hops)
    return;
  if (!authority || !authority[0]) { /* a relative URL: a (denied) self request */
    zh_hops_record_traced(hi->hops, hi->trace, hi->component_id, "self", ZH_HOP_HTTP_OUT, ns, bytes,
                          failed);
    return;
  }
  /* host:port always, so one origin is one edge however the guest spelled it */
  const char *close = authority[0] == '[' ? strchr(authority, ']') : NULL;
  const char *colon = strrchr(close ? close : authority, ':');
  bool has_port = close ? colon != NULL : colon != NULL && strchr(authority, ':') == colon;
  char callee[320];
  if (has_port)
    snprintf(callee, sizeof callee, "%s", authority);
  else
    snprintf(callee, sizeof callee, "%s:%s", authority, strcmp(scheme, "http") == 0 ? "80" : "443");
  zh_hops_record_traced(hi->hops, hi->trace, hi->component_id, callee, ZH_HOP_HTTP_OUT, ns, bytes,
                        failed);
}

/* Logs a trace: a head line, then one line per hop, each "trace ID: ...". */
static void log_trace(zh_app *app, zh_hop_trace *trace, uint64_t id, const char *head) {
  size_t n;
  const zh_hop_step *steps = zh_hop_trace_steps(trace, &n);
  uint64_t ns = zh_hops_now_ns() - zh_hop_trace_started_ns(trace);
  app_log(app, "trace %" PRIu64 ": %s %" PRIu64 ".%03" PRIu64 "ms, %zu hop%s", id, head,
          ns / 1000000u, ns / 1000u % 1000u, n, n == 1 ? "" : "s");
  for (size_t i = 0; i < n; i++) {
    char line[800];
    zh_hop_step_format(&steps[i], line, sizeof line);
    app_log(app, "trace %" PRIu64 ":   +%" PRIu64 ".%03" PRIu64 "ms %s", id,
            steps[i].start_ns / 1000000u, steps[i].start_ns / 1000u % 1000u, line);
  }
  if (zh_hop_trace_left_out(trace))
    app_log(app, "trace %" PRIu64 ":   (%" PRIu64 " more hops not kept)", id,
            zh_hop_trace_left_out(trace));
}

static bool asks_for_trace(const zh_http_request_info *info) {
  for (size_t i = 0; i < info->nheaders; i++) {
    const zh_http_header *h = &info->headers[i];
    if (h->name_len == 13 && strncasecmp(h->name, "zerohop-trace", 13) == 0)
      return (h->value_len == 1 && h->value[0] == '1') ||
             (h->value_len == 4 && strncasecmp(h->value, "true", 4) == 0);
  }
  return false;
}

void zh_app_handle_http(zh_http_request *http, void *env) {
  zh_app *app = env;
  const zh_http_request_info *info = zh_http_request_get_info(http);
  app_http_outcome out = {NULL, 0, NULL};
  if (app->opt.trace == ZH_APP_TRACE_ALL ||
      (app->opt.trace == ZH_APP_TRACE_HEADER && asks_for_trace(info)))
    out.trace = zh_hop_trace_new();
  app_http_serve(app, http, &out);
  const app_route *r = out.route;
  const char *route = r ? (r->t->route ? r->t->route : "(private)") : "";
  const char *component = r && r->comp ? r->comp->id : "";
  zh_hops_count_request(app->hops, route, component, out.status);
  if (out.trace) {
    char head[600];
    snprintf(head, sizeof head, "%.*s %.*s -> %s %d in", (int)info->method_len, info->method,
             (int)(info->target_len > 300 ? 300 : info->target_len), info->target,
             component[0] ? component : "(host)", out.status);
    log_trace(app, out.trace, zh_hops_next_trace_id(app->hops), head);
    zh_hop_trace_free(out.trace);
  }
}

zh_hop_trace *app_hops_message_begin(zh_app *app) {
  return app->opt.trace == ZH_APP_TRACE_ALL ? zh_hop_trace_new() : NULL;
}

void app_hops_message_end(zh_app *app, zh_hop_trace *trace, const char *channel,
                          const char *component, uint64_t start_ns, size_t len, bool failed) {
  char caller[300];
  snprintf(caller, sizeof caller, "redis:%s", channel);
  uint64_t ns = zh_hops_now_ns() - start_ns;
  zh_hops_record(app->hops, caller, component, ZH_HOP_REDIS, ns, len, failed);
  if (!trace)
    return;
  /* the delivery itself first: it is the hop the others happened inside */
  zh_hop_trace_add(trace, caller, component, ZH_HOP_REDIS, ns, len, failed);
  char head[600];
  snprintf(head, sizeof head, "message on `%s` -> %s%s in", channel, component,
           failed ? " failed" : "");
  log_trace(app, trace, zh_hops_next_trace_id(app->hops), head);
  zh_hop_trace_free(trace);
}
