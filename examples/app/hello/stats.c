/* The example's private component: no route reaches it from outside (its trigger has
 * `route = { private = true }`); other components of the app will call it in process.
 * It answers the visit count that hello.c keeps, as JSON. */
#include "respond.h"

#include <stdio.h>

void c_handler_incoming_handler_handle(c_handler_types_own_incoming_request_t request,
                                       c_handler_types_own_response_outparam_t out) {
  c_handler_types_incoming_request_drop_own(request);
  char body[256], err[200];
  long long visits = counter("visits", 0, err, sizeof err);
  int n = visits < 0 ? snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", err)
                     : snprintf(body, sizeof body, "{\"visits\":%lld}\n", visits);
  respond(out, visits < 0 ? 500 : 200, "application/json", body,
          n < (int)sizeof body ? (size_t)n : sizeof body - 1);
}
