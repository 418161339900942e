/* The admin endpoint: GET /metrics on its own listener (see admin.h). A scrape is built
 * whole (a few KiB for a few dozen edges) and sent with its length. */
#include "host/admin.h"

#include "host/hops_metrics.h"

#include <stdlib.h>
#include <string.h>

static void answer(zh_http_request *req, int status, const char *ct, const char *body, size_t len,
                   bool allow_get) {
  zh_http_header h[2] = {{"content-type", 12, ct, strlen(ct)}, {"allow", 5, "GET, HEAD", 9}};
  zh_error *err = zh_http_response_start(req, status, h, allow_get ? 2 : 1);
  if (!err)
    err = zh_http_response_write(req, body, len);
  if (!err)
    err = zh_http_response_finish(req, NULL, 0);
  zh_error_free(err); /* the client went away: nothing to tell it */
}

static void handle(zh_http_request *req, void *env) {
  const zh_http_request_info *info = zh_http_request_get_info(req);
  const char *q = memchr(info->target, '?', info->target_len);
  size_t plen = q ? (size_t)(q - info->target) : info->target_len;
  if (plen != 8 || memcmp(info->target, "/metrics", 8) != 0) {
    static const char msg[] = "not found: the admin endpoint serves /metrics\n";
    answer(req, 404, "text/plain", msg, sizeof msg - 1, false);
    return;
  }
  bool get = info->method_len == 3 && memcmp(info->method, "GET", 3) == 0;
  bool head = info->method_len == 4 && memcmp(info->method, "HEAD", 4) == 0;
  if (!get && !head) {
    static const char msg[] = "method not allowed\n";
    answer(req, 405, "text/plain", msg, sizeof msg - 1, true);
    return;
  }
  char *text;
  size_t len;
  zh_error *err = zh_hops_prometheus(env, &text, &len);
  if (err) {
    zh_error_free(err);
    static const char msg[] = "out of memory\n";
    answer(req, 500, "text/plain", msg, sizeof msg - 1, false);
    return;
  }
  answer(req, 200, ZH_HOPS_METRICS_CONTENT_TYPE, text, len, false);
  free(text);
}

zh_error *zh_host_admin_start(const char *addr, zh_hops *hops, zh_http_server **out) {
  zh_http_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.addr = addr;
  cfg.handler = handle;
  cfg.env = hops;
  cfg.max_connections = 64; /* a scraper or two, not the app's load */
  return zh_http_server_start(&cfg, out);
}
