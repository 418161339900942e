/* Caller guest (A) of tests/wit/test_link_res.c: imports interface t:res/api@1.0.0 by hand
 * against the canonical ABI and uses B's resource `counter` through the link. t_flow returns
 * 0 when every check passed, otherwise the number of the first failed check; the bad_*
 * exports misuse handles and must trap. */
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))
#ifndef RES_IFACE /* linkres_long_a.c names another interface */
#define RES_IFACE "t:res/api@1.0.0"
#endif
#define IMPORT(name) __attribute__((import_module(RES_IFACE), import_name(name)))

IMPORT("[constructor]counter") int32_t counter_new(uint32_t start);
IMPORT("[method]counter.add") void counter_add(int32_t self, uint32_t n);
IMPORT("[method]counter.get") uint32_t counter_get(int32_t self);
IMPORT("total") uint32_t total(int32_t c);
IMPORT("consume") uint32_t consume(int32_t c);
IMPORT("[resource-drop]counter") void counter_drop(int32_t c);

/* Two counters: methods and total borrow, consume moves one back to B, the other is dropped
 * here. */
EXPORT("t_flow") int t_flow(void) {
  int32_t a = counter_new(10), b = counter_new(20);
  if (a == 0 || b == 0 || a == b)
    return 1;
  counter_add(a, 5);
  counter_add(b, 1);
  if (counter_get(a) != 15)
    return 2;
  if (counter_get(b) != 21)
    return 3;
  if (total(a) != 1015)
    return 4;
  if (consume(b) != 2021)
    return 5;
  if (counter_get(a) != 15) /* still A's after the borrow */
    return 6;
  counter_drop(a);
  return 0;
}

/* Uses a handle after dropping it: traps in [method]counter.get. */
EXPORT("bad_use_dropped") int bad_use_dropped(void) {
  int32_t c = counter_new(1);
  counter_drop(c);
  return (int)counter_get(c);
}

/* Drops a handle twice: traps in [resource-drop]counter. */
EXPORT("bad_double_drop") int bad_double_drop(void) {
  int32_t c = counter_new(1);
  counter_drop(c);
  counter_drop(c);
  return 0;
}

/* Uses a handle moved to B by consume: traps in [method]counter.add. */
EXPORT("bad_use_moved") int bad_use_moved(void) {
  int32_t c = counter_new(1);
  consume(c);
  counter_add(c, 1);
  return 0;
}

/* A handle that never existed, passed by borrow: traps in total. */
EXPORT("bad_forged") int bad_forged(void) { return (int)total(0x1234); }

int main(void) { return 0; }
