/* Command component: prints argc, then each argv entry on its own line as "argv[i]=VALUE".
 * Exercises wasi:cli/environment get-arguments through the preview1 adapter. */
#include <stdio.h>

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++)
    printf("argv[%d]=%s\n", i, argv[i]);
  return 0;
}
