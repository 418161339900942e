/* Guest: copies stdin to stdout upper-cased, then reports the byte count and that a read
 * after end-of-file returns nothing. */
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  long n = 0;
  int c;
  while ((c = getchar()) != EOF) {
    putchar(toupper(c));
    n++;
  }
  char buf[8];
  printf("\nbytes=%ld again=%ld\n", n, (long)read(0, buf, sizeof buf));
  return 0;
}
