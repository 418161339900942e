/* Command component: prints every environment entry as "env KEY=VALUE" in the order the host
 * gives them, then the value of the variable named by argv[1] (or "(unset)"). Exercises
 * wasi:cli/environment get-environment. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv) {
  for (char **e = environ; *e; e++)
    printf("env %s\n", *e);
  if (argc > 1) {
    const char *v = getenv(argv[1]);
    printf("%s=%s\n", argv[1], v ? v : "(unset)");
  }
  return 0;
}
