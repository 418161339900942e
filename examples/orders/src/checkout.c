/* checkout: `POST /checkout` with an order ("order ID" on the first line, then "item SKU QTY
 * CENTS" lines). It asks for the total through its dependency zerohop:orders/pricing (a
 * typed call), publishes "ID TOTAL" and the order on the Redis channel `orders` at
 * `redis_address`, and answers {"order":"ID","total":N}. Whether those two hops cross the
 * network is the configuration's business, not this code's: the manifest links pricing
 * itself or pricing-client (which asks pricing over HTTP), the runtime config says where
 * `orders` goes. */
#include "orders.h"

#include <stdio.h>
#include <string.h>

static void fail(guest_types_own_response_outparam_t out, int status, const char *what,
                 const char *why) {
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s: %s\n", what, why);
  respond(out, status, "text/plain", msg, n < (int)sizeof msg ? (size_t)n : sizeof msg - 1);
}

void serve_http(guest_types_borrow_incoming_request_t request, const uint8_t *body, size_t len,
                guest_types_own_response_outparam_t out) {
  if (strcmp(request_method(request), "POST") != 0) {
    fail(out, 405, "checkout", "POST an order");
    return;
  }
  char id[65];
  char first[80];
  size_t flen = len < sizeof first - 1 ? len : sizeof first - 1;
  memcpy(first, body, flen);
  first[flen] = '\0';
  if (strncmp(first, "order ", 6) != 0 || !scan_word(first + 6, id, sizeof id)) {
    fail(out, 400, "checkout", "the order must start with `order ID`");
    return;
  }
  char redis_address[512], err[256];
  if (!variable("redis_address", redis_address, sizeof redis_address)) {
    fail(out, 500, "checkout", "the variable redis_address must be set");
    return;
  }

  /* The order is only read: the bindings pass it in place, the callee gets its own copy. */
  guest_list_u8_t order = {(uint8_t *)body, len};
  guest_result_s64_string_t priced;
  guest_pricing_price(&order, &priced);
  long long total = priced.is_err ? -1 : priced.val.ok;
  if (total < 0) {
    char why[300];
    if (priced.is_err)
      snprintf(why, sizeof why, "%.*s", (int)priced.val.err.len, (const char *)priced.val.err.ptr);
    else
      snprintf(why, sizeof why, "a negative total");
    guest_result_s64_string_free(&priced);
    fail(out, 502, "pricing", why);
    return;
  }

  buffer event = {0};
  char head[128], *end = put_int(put_text(put_text(head, id), " "), total);
  *end++ = '\n';
  if (!buffer_put(&event, head, (size_t)(end - head)) || !buffer_put(&event, body, len)) {
    buffer_free(&event);
    fail(out, 500, "checkout", "out of memory");
    return;
  }
  bool published = redis_publish(redis_address, "orders", event.data, event.len, err, sizeof err);
  buffer_free(&event);
  if (!published) {
    fail(out, 503, "publish", err);
    return;
  }
  char answer[160];
  end = put_int(put_text(put_text(put_text(answer, "{\"order\":\""), id), "\",\"total\":"), total);
  end = put_text(end, "}\n");
  respond(out, 200, "application/json", answer, (size_t)(end - answer));
}

bool on_message(const uint8_t *payload, size_t len) {
  (void)payload;
  (void)len;
  return false; /* not wired to a channel */
}
