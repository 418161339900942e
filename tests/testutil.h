/* Helpers shared by the test programs: reading files and loading the wasm guests that
 * `make guests` builds into $ZH_BUILD/guests. Header-only, like testlib.h. */
#ifndef ZH_TESTUTIL_H
#define ZH_TESTUTIL_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads a whole file (regular file or pipe) into *data, NUL-terminated for text use; the
 * caller frees it. False if the file cannot be read. */
static inline bool zh_test_read_file(const char *path, uint8_t **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return false;
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) { /* grow first, so the NUL always fits */
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0)
      break;
  }
  bool ok = buf && !ferror(f);
  fclose(f);
  if (!ok) {
    free(buf);
    return false;
  }
  buf[n] = 0;
  *data = buf;
  *len = n;
  return true;
}

/* The build directory: $ZH_BUILD, or "build". */
static inline const char *zh_test_build_dir(void) {
  const char *b = getenv("ZH_BUILD");
  return b && *b ? b : "build";
}

/* Loads $ZH_BUILD/guests/NAME.wasm; NULL (with the reason on stderr) if it fails. */
static inline zh_module *zh_test_load_guest(zh_engine *engine, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/guests/%s.wasm", zh_test_build_dir(), name);
  uint8_t *bytes;
  size_t len;
  if (!zh_test_read_file(path, &bytes, &len)) {
    fprintf(stderr, "cannot read %s (run `make guests`)\n", path);
    return NULL;
  }
  zh_module *m = NULL;
  zh_error *err = zh_module_new(engine, bytes, len, path, &m);
  free(bytes);
  if (err) {
    fprintf(stderr, "%s\n", zh_error_message(err));
    zh_error_free(err);
  }
  return m;
}

#endif
