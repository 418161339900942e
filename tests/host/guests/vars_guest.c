/* A C guest of fermyon:spin/variables@2.0.0 and wasi:config/store (world vars_guest.wit;
 * bindings from `zerohop bindgen c`): each export passes the host's answer through, so
 * tests/host/test_variables.c sees what a guest sees, lifted and lowered by the real ABI. */
#include "vars_guest.h"

void vars_guest_spin_vars_get(vars_guest_string_t *name,
                              vars_guest_result_string_variables_error_t *ret) {
  vars_guest_variables_get(name, ret);
  vars_guest_string_free(name);
}

void vars_guest_config_get(vars_guest_string_t *key,
                           vars_guest_result_option_string_store_error_t *ret) {
  vars_guest_store_get(key, ret);
  vars_guest_string_free(key);
}

void vars_guest_config_get_all(vars_guest_result_list_tuple2_string_string_store_error_t *ret) {
  vars_guest_store_get_all(ret);
}
