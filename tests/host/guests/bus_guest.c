/* The event bus's test component, one binary for every role (tests/host/test_bus.c):
 *
 *   HTTP (fermyon:spin/inbound-http)  GET /pub?channel=C&n=N&tag=T&size=S opens the Redis at
 *     $REDIS_ADDRESS and publishes N events "T:1" ... "T:N" on C, each padded with '.' to S
 *     bytes if S is larger. 200 "published N of N", or 503 "published K of N" and the error
 *     of the publish that failed (the bus's backpressure reaches the client this way).
 *   Redis (fermyon:spin/inbound-redis)  waits $SLEEP_MS, then: a payload starting with
 *     $FAIL_ON prints "attempt PAYLOAD" and answers error; one starting with $TRAP_ON prints
 *     the same and traps; anything else prints "got PAYLOAD". The host logs the component's
 *     stdout as "[ID] ..." lines, which the test reads.
 *
 * Output goes through write(1) so that nothing waits in a stdio buffer when the call ends. */
#include "bus_guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool env_get(const char *name, char *out, size_t cap) {
  bus_guest_list_tuple2_string_string_t env;
  bus_guest_environment_get_environment(&env);
  bool found = false;
  for (size_t i = 0; i < env.len && !found; i++)
    if (env.ptr[i].f0.len == strlen(name) &&
        memcmp(env.ptr[i].f0.ptr, name, env.ptr[i].f0.len) == 0) {
      size_t n = env.ptr[i].f1.len < cap - 1 ? env.ptr[i].f1.len : cap - 1;
      memcpy(out, env.ptr[i].f1.ptr, n);
      out[n] = 0;
      found = true;
    }
  bus_guest_list_tuple2_string_string_free(&env);
  return found;
}

static void say(const char *what, const uint8_t *p, size_t n) {
  size_t wl = strlen(what);
  char *line = malloc(wl + n + 2);
  memcpy(line, what, wl);
  memcpy(line + wl, p, n);
  line[wl + n] = '\n';
  ssize_t w = write(1, line, wl + n + 1);
  (void)w;
  free(line);
}

static bool starts_with_env(const char *name, const uint8_t *p, size_t n) {
  char prefix[64];
  size_t k;
  return env_get(name, prefix, sizeof prefix) && (k = strlen(prefix)) > 0 && n >= k &&
         memcmp(p, prefix, k) == 0;
}

void bus_guest_inbound_redis_handle_message(bus_guest_redis_types_payload_t *message,
                                            bus_guest_result_void_redis_types_error_t *ret) {
  char ms[16];
  if (env_get("SLEEP_MS", ms, sizeof ms)) {
    long v = atol(ms);
    struct timespec ts = {v / 1000, (v % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  ret->is_err = false;
  if (starts_with_env("FAIL_ON", message->ptr, message->len)) {
    say("attempt ", message->ptr, message->len);
    ret->is_err = true;
    ret->val.err = BUS_GUEST_REDIS_TYPES_ERROR_ERROR;
  } else if (starts_with_env("TRAP_ON", message->ptr, message->len)) {
    say("attempt ", message->ptr, message->len);
    __builtin_trap();
  } else {
    say("got ", message->ptr, message->len);
  }
  bus_guest_redis_types_payload_free(message);
}

/* The value of query parameter `name` in `uri`, or `dflt`. */
static void param(const bus_guest_string_t *uri, const char *name, char *out, size_t cap,
                  const char *dflt) {
  snprintf(out, cap, "%s", dflt);
  const char *s = (const char *)uri->ptr, *end = s + uri->len;
  const char *q = memchr(s, '?', uri->len);
  size_t nl = strlen(name);
  for (const char *p = q ? q + 1 : end; p < end;) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    if ((size_t)(stop - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
      size_t n = (size_t)(stop - p) - nl - 1;
      if (n > cap - 1)
        n = cap - 1;
      memcpy(out, p + nl + 1, n);
      out[n] = 0;
    }
    p = stop + 1;
  }
}

static void respond(bus_guest_http_types_response_t *ret, uint16_t status, const char *text) {
  memset(ret, 0, sizeof *ret);
  ret->status = status;
  ret->body.is_some = true;
  ret->body.val.len = strlen(text);
  ret->body.val.ptr = (uint8_t *)strdup(text);
}

static void error_text(const bus_guest_redis_error_t *e, char *out, size_t cap) {
  if (e->tag == BUS_GUEST_REDIS_ERROR_OTHER)
    snprintf(out, cap, "%.*s", (int)e->val.other.len, (const char *)e->val.other.ptr);
  else
    snprintf(out, cap, "error %d", (int)e->tag);
}

void bus_guest_inbound_http_handle_request(bus_guest_http_types_request_t *req,
                                           bus_guest_http_types_response_t *ret) {
  char channel[128], tag[64], num[16], size[16], address[256], text[1024];
  param(&req->uri, "channel", channel, sizeof channel, "events");
  param(&req->uri, "tag", tag, sizeof tag, "e");
  param(&req->uri, "n", num, sizeof num, "1");
  param(&req->uri, "size", size, sizeof size, "0");
  bus_guest_http_types_request_free(req);
  long n = atol(num), pad = atol(size);
  if (!env_get("REDIS_ADDRESS", address, sizeof address)) {
    respond(ret, 500, "no REDIS_ADDRESS\n");
    return;
  }
  bus_guest_string_t addr = {(uint8_t *)address, strlen(address)};
  bus_guest_result_own_redis_connection_redis_error_t opened;
  bus_guest_redis_static_connection_open(&addr, &opened);
  if (opened.is_err) {
    char why[512];
    error_text(&opened.val.err, why, sizeof why);
    snprintf(text, sizeof text, "open failed: %s\n", why);
    bus_guest_result_own_redis_connection_redis_error_free(&opened);
    respond(ret, 500, text);
    return;
  }
  bus_guest_redis_borrow_connection_t c = bus_guest_redis_borrow_connection(opened.val.ok);
  bus_guest_string_t ch = {(uint8_t *)channel, strlen(channel)};
  size_t cap = (size_t)(pad > 64 ? pad : 64);
  uint8_t *payload = malloc(cap);
  long done = 0;
  char why[512] = "";
  for (long i = 1; i <= n; i++) {
    int len = snprintf((char *)payload, cap, "%s:%ld", tag, i);
    size_t plen = (size_t)len;
    if ((size_t)pad > plen) {
      memset(payload + plen, '.', (size_t)pad - plen);
      plen = (size_t)pad;
    }
    bus_guest_redis_payload_t p = {payload, plen};
    bus_guest_result_void_redis_error_t rv;
    bus_guest_redis_method_connection_publish(c, &ch, &p, &rv);
    if (rv.is_err) {
      error_text(&rv.val.err, why, sizeof why);
      bus_guest_result_void_redis_error_free(&rv);
      break;
    }
    done++;
  }
  free(payload);
  bus_guest_redis_connection_drop_own(opened.val.ok);
  snprintf(text, sizeof text, "published %ld of %ld\n%s%s", done, n, why[0] ? "error: " : "", why);
  respond(ret, done == n ? 200 : 503, text);
}
