/* The example's public C handler: `GET /hello/NAME` answers "<greeting>, NAME! (visit N)",
 * where the greeting is the component variable `greeting` (rendered by the host from the
 * application variable of the same name) and N counts every visit in the `default`
 * key-value store, so it survives restarts. */
#include "respond.h"

#include <stdio.h>
#include <string.h>

void c_handler_incoming_handler_handle(c_handler_types_own_incoming_request_t request,
                                       c_handler_types_own_response_outparam_t out) {
  char path_info[256], body[512], err[256];
  request_header(c_handler_types_borrow_incoming_request(request), "spin-path-info", path_info,
                 sizeof path_info);
  c_handler_types_incoming_request_drop_own(request);
  const char *name = path_info[0] == '/' ? path_info + 1 : path_info;
  if (name[0] == '\0')
    name = "world";

  c_handler_string_t var;
  c_handler_string_set(&var, "greeting");
  c_handler_result_string_variables_error_t greeting;
  c_handler_variables_get(&var, &greeting);
  if (greeting.is_err) {
    c_handler_result_string_variables_error_free(&greeting);
    static const char msg[] = "variable `greeting` is not set\n";
    respond(out, 500, "text/plain", msg, sizeof msg - 1);
    return;
  }

  long long visits = counter("visits", 1, err, sizeof err);
  int n;
  if (visits < 0)
    n = snprintf(body, sizeof body, "key-value store: %s\n", err);
  else
    n = snprintf(body, sizeof body, "%.*s, %s! (visit %lld)\n", (int)greeting.val.ok.len,
                 (const char *)greeting.val.ok.ptr, name, visits);
  c_handler_result_string_variables_error_free(&greeting);
  respond(out, visits < 0 ? 500 : 200, "text/plain; charset=utf-8", body,
          n < (int)sizeof body ? (size_t)n : sizeof body - 1);
}
