/* Guest for `zerohop run --invoke`: exported functions of each value type, and one that
 * traps. main() only exists so the module is a regular WASI command. */
#include <stdint.h>
#include <stdio.h>

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("add") int32_t add(int32_t a, int32_t b) { return a + b; }
EXPORT("mul64") int64_t mul64(int64_t a, int64_t b) { return a * b; }
EXPORT("half") double half(double x) { return x / 2; }
EXPORT("fsum") float fsum(float a, float b) { return a + b; }
EXPORT("answer") int32_t answer(void) { return 42; }

EXPORT("boom") void boom(void) { __builtin_trap(); }

int main(void) {
  printf("invoke guest: use --invoke\n");
  return 0;
}
