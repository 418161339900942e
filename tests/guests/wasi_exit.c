/* Guest: prints a line, then exit(7); stdio must be flushed before proc_exit(7). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  printf("before exit\n");
  exit(7);
}
