/* wasi:http's incoming side over zerohop's own HTTP server (src/http): the
 * zh_wasip2_http_io that `zerohop serve` and the app host hand to zh_wasip2_incoming, so a
 * guest's body reads and response writes go straight to the connection, streamed. */
#ifndef ZH_WASIP2_SERVER_IO_H
#define ZH_WASIP2_SERVER_IO_H

#include "zerohop/http_server.h"
#include "zerohop/wasip2.h"

#include <stdbool.h>

/* One request; pass it as zh_wasip2_incoming's io_req. `started` tells the caller whether
 * it may still answer 500 itself after a failure. */
typedef struct zh_wasip2_server_req {
  zh_http_request *http;
  bool started;
  bool finished;
} zh_wasip2_server_req;

extern const zh_wasip2_http_io zh_wasip2_server_io;

/* Answers a whole response (status, headers, body) on `http`; the client going away is not
 * an error worth reporting, so nothing is returned. */
void zh_wasip2_server_respond(zh_http_request *http, int status, const zh_http_header *headers,
                              size_t nheaders, const void *body, size_t len);

#endif
