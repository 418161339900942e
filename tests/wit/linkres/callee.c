/* Callee B of tests/wit/test_link_res_bindgen.c, written against the bindings `zerohop bindgen
 * c` generates for world t:res/callee (tests/wit/linkres/wit/): implements the exported
 * resource `counter`. A counter's rep is its struct; the generated glue turns it into handles
 * ([resource-new]) and calls callee_api_counter_destructor when the last handle is dropped.
 * The world-level exports count counters so that the test can tell each died exactly once. */
#include "callee.h"

#include <stdlib.h>

struct callee_api_counter {
  uint32_t magic; /* a rep that is not a live counter shows up as a wrong magic */
  uint32_t value;
};

#define MAGIC 0xc0c0c0c0u

static uint32_t created, live, dtors, bad_reps;

static callee_api_counter_t *check(callee_api_counter_t *c) {
  if (!c || c->magic != MAGIC)
    bad_reps++;
  return c;
}

uint32_t callee_created(void) { return created; }
uint32_t callee_live(void) { return live; }
uint32_t callee_dtors(void) { return dtors; }
uint32_t callee_bad_reps(void) { return bad_reps; }

callee_api_counter_t *callee_api_constructor_counter(uint32_t start) {
  callee_api_counter_t *c = malloc(sizeof *c);
  if (!c)
    abort();
  c->magic = MAGIC;
  c->value = start;
  created++;
  live++;
  return c;
}

void callee_api_method_counter_add(callee_api_counter_t *self, uint32_t n) {
  check(self)->value += n;
}

uint32_t callee_api_method_counter_get(callee_api_counter_t *self) { return check(self)->value; }

uint32_t callee_api_total(callee_api_counter_t *c) { return check(c)->value + 1000; }

/* An own handle in B's table: read it through its rep, then drop it (runs the destructor). */
uint32_t callee_api_consume(callee_api_own_counter_t c) {
  uint32_t v = check(callee_api_counter_rep(c))->value + 2000;
  callee_api_counter_drop_own(c);
  return v;
}

void callee_api_counter_destructor(callee_api_counter_t *rep) {
  check(rep)->magic = 0; /* a second destruction of the same rep counts as a bad rep */
  dtors++;
  live--;
  free(rep);
}
