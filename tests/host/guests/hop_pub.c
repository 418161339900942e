/* Publishes the request body to the channel CHANNEL of the Redis at REDIS_ADDRESS (both from
 * the environment) and answers 200 "published", or 502 "publish failed" when Redis said no.
 * The hop tracing tests use it for a publish made inside a traced request. */
#include "hop_pub.h"

#include <stdlib.h>
#include <string.h>

static bool env_get(const hop_pub_list_tuple2_string_string_t *env, const char *name,
                    hop_pub_string_t *out) {
  for (size_t i = 0; i < env->len; i++)
    if (env->ptr[i].f0.len == strlen(name) &&
        memcmp(env->ptr[i].f0.ptr, name, env->ptr[i].f0.len) == 0) {
      *out = env->ptr[i].f1;
      return true;
    }
  return false;
}

static bool publish(const hop_pub_string_t *address, hop_pub_string_t *channel,
                    hop_pub_redis_payload_t *payload) {
  hop_pub_result_own_redis_connection_redis_error_t opened;
  hop_pub_redis_static_connection_open((hop_pub_string_t *)address, &opened);
  if (opened.is_err) {
    hop_pub_result_own_redis_connection_redis_error_free(&opened);
    return false;
  }
  hop_pub_result_void_redis_error_t rv;
  hop_pub_redis_method_connection_publish(hop_pub_redis_borrow_connection(opened.val.ok), channel,
                                          payload, &rv);
  bool ok = !rv.is_err;
  hop_pub_result_void_redis_error_free(&rv);
  hop_pub_redis_connection_drop_own(opened.val.ok);
  return ok;
}

static void set_body(hop_pub_http_types_response_t *ret, const char *text) {
  size_t n = strlen(text);
  ret->body.is_some = true;
  ret->body.val.ptr = malloc(n);
  memcpy(ret->body.val.ptr, text, n);
  ret->body.val.len = n;
}

void hop_pub_inbound_http_handle_request(hop_pub_http_types_request_t *req,
                                         hop_pub_http_types_response_t *ret) {
  memset(ret, 0, sizeof *ret);
  hop_pub_list_tuple2_string_string_t env;
  hop_pub_environment_get_environment(&env);
  hop_pub_string_t address, channel;
  hop_pub_redis_payload_t payload = {NULL, 0};
  if (req->body.is_some)
    payload = (hop_pub_redis_payload_t){req->body.val.ptr, req->body.val.len};
  bool ok = env_get(&env, "REDIS_ADDRESS", &address) && env_get(&env, "CHANNEL", &channel) &&
            publish(&address, &channel, &payload);
  ret->status = ok ? 200 : 502;
  set_body(ret, ok ? "published" : "publish failed");
  hop_pub_list_tuple2_string_string_free(&env);
  hop_pub_http_types_request_free(req);
}
