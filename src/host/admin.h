/* The admin endpoint of `zerohop up --admin ADDR`: a second HTTP server, off by default,
 * that answers GET (and HEAD) /metrics with the hop table in Prometheus's text format
 * (host/hops_metrics.h); any other path is 404, any other method 405. It serves nothing of
 * the app, so it can listen where the app's clients cannot reach. */
#ifndef ZH_HOST_ADMIN_H
#define ZH_HOST_ADMIN_H

#include "host/hops.h"
#include "zerohop/http_server.h"

/* Starts serving `hops` (borrowed: it must outlive the server) on `addr`. Errors as
 * zh_http_server_start's. Stop and free with zh_http_server_stop/zh_http_server_free. */
zh_error *zh_host_admin_start(const char *addr, zh_hops *hops, zh_http_server **out);

#endif
