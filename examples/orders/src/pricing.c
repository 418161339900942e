/* pricing: the price of an order, the sum of QTY * CENTS over its "item SKU QTY CENTS" lines,
 * with 5% off above 100.00 (other lines are ignored). Two ways in, one rule: the export
 * zerohop:orders/pricing#price, which checkout calls as a component dependency, and
 * `POST /pricing`, which answers "total=CENTS" (what pricing-client asks over HTTP). */
#include "orders.h"

#include <string.h>

static long long price_of(const uint8_t *body, size_t len) {
  long long total = 0;
  for (size_t i = 0; i < len;) {
    const uint8_t *nl = memchr(body + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - body) : len;
    char line[256], sku[64];
    size_t n = end - i < sizeof line - 1 ? end - i : sizeof line - 1;
    memcpy(line, body + i, n);
    line[n] = '\0';
    long long qty, cents;
    const char *s = strncmp(line, "item ", 5) == 0 ? scan_word(line + 5, sku, sizeof sku) : NULL;
    if (s && (s = scan_int(s, &qty)) && scan_int(s, &cents) && qty > 0 && cents >= 0 &&
        qty < 1000000 && cents < 100000000)
      total += qty * cents;
    i = end + 1;
  }
  return total > 10000 ? total - total / 20 : total;
}

void guest_pricing_price(guest_list_u8_t *order, guest_result_s64_string_t *ret) {
  ret->is_err = false;
  ret->val.ok = price_of(order->ptr, order->len);
  guest_list_u8_free(order);
}

void serve_http(guest_types_borrow_incoming_request_t request, const uint8_t *body, size_t len,
                guest_types_own_response_outparam_t out) {
  (void)request;
  char answer[64], *end = put_int(put_text(answer, "total="), price_of(body, len));
  *end++ = '\n';
  respond(out, 200, "text/plain", answer, (size_t)(end - answer));
}

bool on_message(const uint8_t *payload, size_t len) {
  (void)payload;
  (void)len;
  return false; /* not wired to a channel */
}
