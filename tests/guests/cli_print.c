/* Guest: the everyday things a C program does at start-up, each selected by argv[1].
 *
 *   floats          printf of doubles and floats in several formats (exact text asserted)
 *   args A B ...    each argument as [A], one per line, byte for byte
 *   env NAME ...    NAME=value or "NAME unset" for each name
 *   exit N          exit(N) after printing a line
 *   trap            traps three calls below main, in functions that keep their names
 *   stdin           reads stdin to its end and prints the byte count
 *   cat PATH        prints the file PATH; first checks that fd 3 is a preopened directory
 *                   (exit 4 with "no preopen" when not: the host gave no --dir) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

static void floats(void) {
  volatile double third = 1.0 / 3.0, tenth = 0.1, big = 1e300, tiny = 1e-5;
  volatile float f = 0.1f;
  printf("%.2f %f %e %g\n", 3.14159, third, 2.5, tiny);
  printf("%.17g %.9g %g %.3e\n", tenth, (double)f, big * 10, 123456789.0);
  printf("%g %f %f %.0f %.1f\n", -0.0, (double)INFINITY, (double)NAN, 2.5, 0.05);
  printf("%.16g %g %a\n", sqrt(2.0), 100000.0, 1.0);
}

/* noinline and a use of each result keep all three frames on the stack when it traps. */
__attribute__((noinline)) static int third_level(int x) {
  if (x > 0)
    __builtin_trap();
  return x;
}
__attribute__((noinline)) static int second_level(int x) { return third_level(x + 1) * 3; }
__attribute__((noinline)) static int first_level(int x) { return second_level(x + 1) + 5; }

static int cat(const char *path) {
  __wasi_prestat_t ps;
  __wasi_errno_t e = __wasi_fd_prestat_get(3, &ps);
  if (e != 0) {
    printf("no preopen (errno %d)\n", (int)e);
    return 4;
  }
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    perror(path);
    return 5;
  }
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    fwrite(buf, 1, n, stdout);
  fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "floats") == 0) {
    floats();
  } else if (strcmp(mode, "args") == 0) {
    for (int i = 2; i < argc; i++)
      printf("[%s]\n", argv[i]);
  } else if (strcmp(mode, "env") == 0) {
    for (int i = 2; i < argc; i++) {
      const char *v = getenv(argv[i]);
      if (v)
        printf("%s=%s\n", argv[i], v);
      else
        printf("%s unset\n", argv[i]);
    }
  } else if (strcmp(mode, "exit") == 0 && argc > 2) {
    printf("exiting with %s\n", argv[2]);
    exit(atoi(argv[2]));
  } else if (strcmp(mode, "trap") == 0) {
    printf("%d\n", first_level(argc));
  } else if (strcmp(mode, "stdin") == 0) {
    size_t total = 0, n;
    char buf[512];
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
      total += n;
    printf("read %zu bytes\n", total);
  } else if (strcmp(mode, "sleep") == 0 && argc > 2) {
    sleep((unsigned)atoi(argv[2])); /* poll_oneoff with a clock subscription */
    printf("slept\n");
  } else if (strcmp(mode, "cat") == 0 && argc > 2) {
    return cat(argv[2]);
  } else {
    fprintf(stderr, "cli_print: unknown mode '%s'\n", mode);
    return 2;
  }
  return 0;
}
