/* Caller A of tests/wit/test_link_res_bindgen.c, written against the bindings `zerohop bindgen
 * c` generates for world t:res/caller (tests/wit/linkres/wit/): uses B's resource `counter`
 * through the link. t-flow returns 0 when every check passed, otherwise the number of the
 * first failed check; the bad-* exports misuse handles and must trap. */
#include "caller.h"

typedef caller_api_own_counter_t own_t;

static caller_api_borrow_counter_t B(own_t h) { return caller_api_borrow_counter(h); }

/* Two counters: methods and total borrow, consume moves one back to B, the other is dropped
 * here. */
uint32_t caller_t_flow(void) {
  own_t a = caller_api_constructor_counter(10), b = caller_api_constructor_counter(20);
  if (a.__handle == 0 || b.__handle == 0 || a.__handle == b.__handle)
    return 1;
  caller_api_method_counter_add(B(a), 5);
  caller_api_method_counter_add(B(b), 1);
  if (caller_api_method_counter_get(B(a)) != 15)
    return 2;
  if (caller_api_method_counter_get(B(b)) != 21)
    return 3;
  if (caller_api_total(B(a)) != 1015)
    return 4;
  if (caller_api_consume(b) != 2021)
    return 5;
  if (caller_api_method_counter_get(B(a)) != 15) /* still A's after the borrow */
    return 6;
  caller_api_counter_drop_own(a);
  return 0;
}

/* Uses a handle after dropping it: traps in [method]counter.get. */
uint32_t caller_bad_use_dropped(void) {
  own_t c = caller_api_constructor_counter(1);
  caller_api_counter_drop_own(c);
  return caller_api_method_counter_get(B(c));
}

/* Drops a handle twice: traps in [resource-drop]counter. */
uint32_t caller_bad_double_drop(void) {
  own_t c = caller_api_constructor_counter(1);
  caller_api_counter_drop_own(c);
  caller_api_counter_drop_own(c);
  return 0;
}

/* Uses a handle moved to B by consume: traps in [method]counter.add. */
uint32_t caller_bad_use_moved(void) {
  own_t c = caller_api_constructor_counter(1);
  caller_api_consume(c);
  caller_api_method_counter_add(B(c), 1);
  return 0;
}

/* A handle that never existed, passed by borrow: traps in total. */
uint32_t caller_bad_forged(void) { return caller_api_total((caller_api_borrow_counter_t){0x1234}); }
