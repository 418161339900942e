/* Callee guest (B) of tests/wit/test_link_res.c, written by hand against the canonical ABI:
 * exports interface t:res/api@1.0.0 and implements its resource `counter`. A counter's rep
 * is the address of its struct in B's memory; B gets handles for it from the link's
 * [resource-new] and is told to destroy it through its [dtor] export. `created`, `live` and
 * `dtors` let the test check that every counter died exactly once. */
#include <stdint.h>
#include <stdlib.h>

#define EXPORT(name) __attribute__((export_name(name)))
#ifndef RES_IFACE /* linkres_long_b.c names another interface */
#define RES_IFACE "t:res/api@1.0.0"
#endif
#define API RES_IFACE "#"
#define BUILTIN(name) __attribute__((import_module("[export]" RES_IFACE), import_name(name)))

BUILTIN("[resource-new]counter") int32_t counter_new(int32_t rep);
BUILTIN("[resource-rep]counter") int32_t counter_rep(int32_t handle);
BUILTIN("[resource-drop]counter") void counter_drop(int32_t handle);

typedef struct {
  uint32_t magic; /* a rep that is not a live counter shows up as a wrong magic */
  uint32_t value;
} counter_t;

#define MAGIC 0xc0c0c0c0u

static int created, live, dtors, bad_reps;
static int mode; /* 1: the constructor returns a handle it never made (hostile callee) */

EXPORT("set_mode") void set_mode(int m) { mode = m; }

EXPORT("created") int get_created(void) { return created; }
EXPORT("live") int get_live(void) { return live; }
EXPORT("dtors") int get_dtors(void) { return dtors; }
EXPORT("bad_reps") int get_bad_reps(void) { return bad_reps; }

static counter_t *check(counter_t *c) {
  if (!c || c->magic != MAGIC)
    bad_reps++;
  return c;
}

/* constructor(start: u32) -> own<counter> */
EXPORT(API "[constructor]counter") int32_t ctor(uint32_t start) {
  counter_t *c = malloc(sizeof *c);
  c->magic = MAGIC;
  c->value = start;
  created++;
  live++;
  int32_t h = counter_new((int32_t)(uintptr_t)c);
  return mode == 1 ? h + 100 : h;
}

/* Methods get `self: borrow<counter>` as the rep: B implements the resource. */
EXPORT(API "[method]counter.add") void add(counter_t *self, uint32_t n) { check(self)->value += n; }
EXPORT(API "[method]counter.get") uint32_t get(counter_t *self) { return check(self)->value; }

/* total: func(c: borrow<counter>) -> u32 */
EXPORT(API "total") uint32_t total(counter_t *c) { return check(c)->value + 1000; }

/* consume: func(c: counter) -> u32: an own handle in B's table; B reads it and drops it,
 * which runs the destructor below. */
EXPORT(API "consume") uint32_t consume(int32_t h) {
  counter_t *c = check((counter_t *)(uintptr_t)counter_rep(h));
  uint32_t v = c->value + 2000;
  counter_drop(h);
  return v;
}

EXPORT(API "[dtor]counter") void dtor(counter_t *c) {
  check(c)->magic = 0; /* a second destruction of the same rep counts as a bad rep */
  dtors++;
  live--;
  free(c);
}

int main(void) { return 0; }
