/* Guest: never returns on its own; `zerohop run --timeout` must stop it. The volatile
 * counter is a side effect, so the compiler may not assume the loop terminates. */
#include <stdio.h>

static volatile unsigned long spins;

int main(void) {
  printf("looping\n");
  fflush(stdout);
  for (;;)
    spins++;
}
