/* pricing-client: zerohop:orders/pricing#price for a checkout whose pricing is a service of
 * its own on the network. It POSTs the order to the URL in the variable `pricing_url` and
 * reads the "total=CENTS" that pricing answers there (POST /pricing). As a dependency it has
 * no capabilities of its own: its manifest entry must inherit the caller's configuration
 * (the variable, and the outbound host of that URL). */
#include "orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An export's error result: a malloc'd copy of `why`, which the bindings free after the
 * host has read it. */
static void refuse(guest_result_s64_string_t *ret, const char *why) {
  ret->is_err = true;
  guest_string_dup(&ret->val.err, why);
}

void guest_pricing_price(guest_list_u8_t *order, guest_result_s64_string_t *ret) {
  char url[512], err[256];
  if (!variable("pricing_url", url, sizeof url)) {
    refuse(ret, "the variable pricing_url must be set");
    guest_list_u8_free(order);
    return;
  }
  buffer priced = {0};
  int status = http_post(url, order->ptr, order->len, &priced, err, sizeof err);
  guest_list_u8_free(order);
  long long total = -1;
  if (status == 200 && priced.data && strncmp((const char *)priced.data, "total=", 6) == 0 &&
      !scan_int((const char *)priced.data + 6, &total))
    total = -1;
  buffer_free(&priced);
  if (status < 0) {
    refuse(ret, err);
  } else if (status != 200 || total < 0) {
    char why[600];
    snprintf(why, sizeof why, "%s answered status %d without a total", url, status);
    refuse(ret, why);
  } else {
    ret->is_err = false;
    ret->val.ok = total;
  }
}

void serve_http(guest_types_borrow_incoming_request_t request, const uint8_t *body, size_t len,
                guest_types_own_response_outparam_t out) {
  (void)request;
  (void)body;
  (void)len;
  static const char msg[] = "pricing-client has no HTTP route\n";
  respond(out, 404, "text/plain", msg, sizeof msg - 1);
}

bool on_message(const uint8_t *payload, size_t len) {
  (void)payload;
  (void)len;
  return false; /* not wired to a channel */
}
