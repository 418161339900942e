/* A CGI program (WAGI) in plain C for WASI preview1: it prints a CGI response whose body
 * lists its argv, the environment it was given (one `env K=V` line each) and its stdin.
 *   GET with ?status=NNN   answers "Status: NNN"
 *   path ending in /redirect  answers only "Location: /elsewhere" (a 302)
 *   path ending in /empty   prints nothing (the host must answer 500)
 *   query file=PATH       answers the content of the file at PATH as the guest sees it, or
 *                         "no file PATH" (what the manifest's `files` mount)
 * It also writes one line on stderr, "wagi: handled URL", which the host logs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv) {
  const char *path = getenv("PATH_INFO");
  const char *script = getenv("SCRIPT_NAME");
  const char *full = getenv("X_FULL_URL");
  (void)path;
  (void)script;
  fprintf(stderr, "wagi: handled %s\n", full ? full : "?");
  if (full && strstr(full, "/empty"))
    return 0;
  if (full && strstr(full, "/redirect")) {
    printf("Location: /elsewhere\n\n");
    return 0;
  }
  const char *q = getenv("QUERY_STRING");
  if (q && strncmp(q, "file=", 5) == 0) {
    printf("Content-Type: text/plain\n\n");
    FILE *f = fopen(q + 5, "rb");
    if (!f) {
      printf("no file %s\n", q + 5);
      return 0;
    }
    int ch;
    while ((ch = fgetc(f)) != EOF)
      putchar(ch);
    fclose(f);
    return 0;
  }
  if (q && strncmp(q, "status=", 7) == 0)
    printf("Status: %.3s\n", q + 7);
  printf("Content-Type: text/plain\nX-Wagi: yes\n\n");
  for (int i = 0; i < argc; i++)
    printf("argv[%d]=%s\n", i, argv[i]);
  for (char **e = environ; *e; e++)
    printf("env %s\n", *e);
  printf("stdin:");
  int c;
  while ((c = getchar()) != EOF)
    putchar(c);
  printf("\n");
  return 0;
}
