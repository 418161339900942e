/* Exports zerohop:test-no-handler/greeter and nothing else (no_handler.wit). */
#include "no_handler.h"

#include <stdlib.h>
#include <string.h>

void no_handler_greeter_greet(no_handler_string_t *name, no_handler_string_t *ret) {
  ret->len = 6 + name->len;
  ret->ptr = malloc(ret->len);
  memcpy(ret->ptr, "hello ", 6);
  memcpy(ret->ptr + 6, name->ptr, name->len);
  no_handler_string_free(name);
}
