/* Command component: reads stdin to its end and prints "stdin bytes=N fnv1a=H" (64-bit FNV-1a
 * of the bytes) so a test can feed megabytes and compare without echoing them. Exercises
 * wasi:cli/stdin and input-stream blocking-read. */
#include <stdint.h>
#include <stdio.h>

/* Static: the default wasm32 stack is 64 KiB, too small for the buffer. */
static unsigned char buf[65536];

int main(void) {
  uint64_t h = 0xcbf29ce484222325ULL, total = 0;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
    for (size_t i = 0; i < n; i++)
      h = (h ^ buf[i]) * 0x100000001b3ULL;
    total += n;
  }
  if (ferror(stdin)) {
    printf("error: reading stdin\n");
    return 1;
  }
  printf("stdin bytes=%llu fnv1a=%016llx\n", (unsigned long long)total, (unsigned long long)h);
  return 0;
}
