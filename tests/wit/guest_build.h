/* Building wasm guests from `zerohop bindgen c` output inside a test: the generated glue
 * must compile warning-free on its own, then it is compiled with the guest's C source into
 * a wasm32-wasi reactor in the test's scratch directory `tmp`. */
#ifndef ZH_TEST_GUEST_BUILD_H
#define ZH_TEST_GUEST_BUILD_H

#include "testlib.h"
#include "testutil.h"

#include <stdarg.h>
#include <sys/wait.h>

#define WASM_CC "clang --target=wasm32-wasi --sysroot=/usr -O2 -std=c11"
#define STRICT "-Wall -Wextra -Werror"

static char tmp[64]; /* the scratch directory (mkdtemp) */

/* Runs a shell command; returns its exit status; stderr goes to tmp/err.txt. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  char full[2200];
  snprintf(full, sizeof full, "%s 2>%s/err.txt", cmd, tmp);
  int st = system(full);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Prints the stderr of the last run(). */
static void show_err(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/err.txt", tmp);
  uint8_t *s = NULL;
  size_t n = 0;
  if (zh_test_read_file(path, &s, &n))
    fprintf(stderr, "%.*s", (int)(n < 4000 ? n : 4000), (const char *)s);
  free(s);
}

/* Generates bindings for `world` of the WIT package in `wit` into tmp/gen_NAME and compiles
 * them with SRC_DIR/SRC.c (and `defs`) into tmp/NAME.wasm; true if all went well. */
static bool build_guest(const char *cli, const char *wit, const char *world, const char *name,
                        const char *src_dir, const char *src, const char *defs) {
  int st = run("%s bindgen c --wit %s --world %s --out %s/gen_%s", cli, wit, world, tmp, name);
  if (st != 0)
    show_err();
  CHECK_EQ_INT(st, 0);
  /* The glue alone must compile warning-free (docs/BINDGEN.md). */
  st = run(WASM_CC " " STRICT " -c -o /dev/null %s/gen_%s/%s.c", tmp, name, world);
  if (st != 0) {
    fprintf(stderr, "generated %s.c is not warning-free:\n", world);
    show_err();
  }
  CHECK_EQ_INT(st, 0);
  st = run(WASM_CC " -mexec-model=reactor " STRICT " %s -I%s/gen_%s -o %s/%s.wasm "
                   "%s/gen_%s/%s.c %s/%s.c",
           defs, tmp, name, tmp, name, tmp, name, world, src_dir, src);
  if (st != 0)
    show_err();
  CHECK_EQ_INT(st, 0);
  return st == 0;
}

/* Loads tmp/NAME.wasm. */
static zh_module *load_module(zh_engine *engine, const char *name) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s.wasm", tmp, name);
  uint8_t *bytes = NULL;
  size_t len = 0;
  bool read = zh_test_read_file(path, &bytes, &len);
  zh_module *m = NULL;
  zh_error *err = read ? zh_module_new(engine, bytes, len, path, &m) : NULL;
  if (err)
    fprintf(stderr, "%s: %s\n", path, zh_error_message(err));
  CHECK(read && !err);
  zh_error_free(err);
  free(bytes);
  return m;
}

#endif
