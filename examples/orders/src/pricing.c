/* pricing: `POST /pricing` with an order answers "total=CENTS": the sum of QTY * CENTS over its
 * "item SKU QTY CENTS" lines, with 5% off above 100.00. Other lines are ignored. */
#include "orders.h"

#include <string.h>

void serve_http(service_types_borrow_incoming_request_t request, const uint8_t *body, size_t len,
                service_types_own_response_outparam_t out) {
  (void)request;
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
  if (total > 10000)
    total -= total / 20;
  char answer[64], *end = put_int(put_text(answer, "total="), total);
  *end++ = '\n';
  respond(out, 200, "text/plain", answer, (size_t)(end - answer));
}

bool on_message(const uint8_t *payload, size_t len) {
  (void)payload;
  (void)len;
  return false; /* not wired to a channel */
}
