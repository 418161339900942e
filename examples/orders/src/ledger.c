/* ledger: the Redis trigger's handler for `orders`. Each event ("ID TOTAL" then the order)
 * adds one to the counter `orders` and TOTAL to `revenue` in the key-value store. A malformed
 * event is answered with an error, which the host logs (and may retry or dead-letter). */
#include "orders.h"

#include <string.h>

void serve_http(guest_types_borrow_incoming_request_t request, const uint8_t *body, size_t len,
                guest_types_own_response_outparam_t out) {
  (void)request;
  (void)body;
  (void)len;
  static const char msg[] = "ledger has no HTTP route\n";
  respond(out, 404, "text/plain", msg, sizeof msg - 1);
}

bool on_message(const uint8_t *payload, size_t len) {
  char head[160], id[65], err[256];
  const uint8_t *nl = memchr(payload, '\n', len);
  size_t n = nl ? (size_t)(nl - payload) : len;
  if (n >= sizeof head)
    return false;
  memcpy(head, payload, n);
  head[n] = '\0';
  long long total;
  const char *s = scan_word(head, id, sizeof id);
  if (!s || !scan_int(s, &total) || total < 0)
    return false;
  return counter_add("orders", 1, err, sizeof err) >= 0 &&
         counter_add("revenue", total, err, sizeof err) >= 0;
}
