/* Command component over a preopened directory DIR (argv[1], default "/data"): prints
 * DIR/input.txt, writes argv[2] (default "written by files.wasm") to DIR/output.txt and reads
 * it back, then lists DIR sorted by name, one "entry NAME" line each. Any failure prints
 * "error: STEP: strerror" and exits 1. Exercises wasi:filesystem/types and preopens: open-at,
 * read-via-stream, write-via-stream, read-directory. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *step) {
  printf("error: %s: %s\n", step, strerror(errno));
  return 1;
}

static int print_file(const char *path, const char *label) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(label);
  char buf[4096];
  size_t n;
  printf("%s: ", label);
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    fwrite(buf, 1, n, stdout);
  int bad = ferror(f);
  fclose(f);
  printf("\n");
  return bad ? fail(label) : 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return fail("opendir");
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while (n < 256 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], by_name);
  for (size_t i = 0; i < n; i++) {
    printf("entry %s\n", names[i]);
    free(names[i]);
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  const char *text = argc > 2 ? argv[2] : "written by files.wasm";
  char in[512], out[512];
  snprintf(in, sizeof in, "%s/input.txt", dir);
  snprintf(out, sizeof out, "%s/output.txt", dir);
  if (print_file(in, "input"))
    return 1;
  FILE *f = fopen(out, "wb");
  if (!f)
    return fail("create output");
  if (fputs(text, f) < 0 || fclose(f) != 0)
    return fail("write output");
  if (print_file(out, "output"))
    return 1;
  return list_dir(dir);
}
