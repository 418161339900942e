/* Command component: draws two 32-byte blocks from getentropy (wasi:random/random
 * get-random-bytes through the adapter), prints them in hex, and exits 1 if they are equal or
 * all zero, which a working source makes vanishingly unlikely. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void hex(const unsigned char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    printf("%02x", b[i]);
  printf("\n");
}

int main(void) {
  unsigned char a[32], b[32], zero[32] = {0};
  if (getentropy(a, sizeof a) != 0 || getentropy(b, sizeof b) != 0) {
    printf("error: getentropy\n");
    return 1;
  }
  printf("random ");
  hex(a, sizeof a);
  printf("random ");
  hex(b, sizeof b);
  if (memcmp(a, b, sizeof a) == 0 || memcmp(a, zero, sizeof a) == 0) {
    printf("error: not random\n");
    return 1;
  }
  return 0;
}
