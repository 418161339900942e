#include "wasip2/wasip2_internal.h"
void wp2_curl_free(zh_wasip2_ctx *cx) { (void)cx; }
void wp2_curl_step(zh_wasip2_ctx *cx, int ms) { (void)cx, (void)ms; }
bool wp2_curl_active(const zh_wasip2_ctx *cx) {
  (void)cx;
  return false;
}
const wp2_table wp2_http_table = {NULL, 0, NULL, 0};
bool zh_wasip2_response_status(const zh_wasip2_ctx *cx, int *status) {
  (void)cx;
  *status = 0;
  return false;
}
zh_error *zh_wasip2_incoming(zh_wasip2_ctx *cx, const zh_wasip2_request *req,
                             const zh_wasip2_http_io *io, void *io_req, uint64_t *request,
                             uint64_t *outparam) {
  (void)cx, (void)req, (void)io, (void)io_req, (void)request, (void)outparam;
  return NULL;
}
