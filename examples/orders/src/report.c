/* report: `GET /report` answers "orders=N revenue=CENTS", the ledger's counters. */
#include "orders.h"

#include <stdio.h>

void serve_http(guest_types_borrow_incoming_request_t request, const uint8_t *body, size_t len,
                guest_types_own_response_outparam_t out) {
  (void)request;
  (void)body;
  (void)len;
  char err[256], answer[128];
  long long orders = counter_add("orders", 0, err, sizeof err);
  long long revenue = orders < 0 ? -1 : counter_add("revenue", 0, err, sizeof err);
  int n = revenue < 0
              ? snprintf(answer, sizeof answer, "key-value store: %s\n", err)
              : snprintf(answer, sizeof answer, "orders=%lld revenue=%lld\n", orders, revenue);
  respond(out, revenue < 0 ? 500 : 200, "text/plain", answer,
          n < (int)sizeof answer ? (size_t)n : sizeof answer - 1);
}

bool on_message(const uint8_t *payload, size_t len) {
  (void)payload;
  (void)len;
  return false; /* not wired to a channel */
}
