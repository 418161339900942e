/* Command component that goes wrong on purpose: `trap` (the default) reaches an unreachable
 * instruction inside crash_here(), `loop` spins forever (for --timeout). Prints its mode first
 * so a test sees that it ran. */
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) static void crash_here(void) { __builtin_trap(); }

__attribute__((noinline)) static void spin(void) {
  for (volatile unsigned long i = 0;; i++) {
  }
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "trap";
  printf("mode %s\n", mode);
  fflush(stdout);
  if (strcmp(mode, "loop") == 0)
    spin();
  crash_here();
  return 0;
}
