/* `zerohop run` on core modules that carry their world (issue 7, scope 6): the module's
 * canonical-ABI imports link to the WASI 0.2 host through the world in its component-type
 * section. The modules are real toolchain outputs (mk/hostile.mk): core-world.wasm is
 * tests/cli/guests/core_world.c built by Debian's clang on `zerohop bindgen c` bindings of a
 * world including wasi:cli/imports, its world embedded by jco's componentEmbed; exit.embedded
 * is tests/components/c/exit.c, a preview1 command that also imports wasi:cli/exit. The CLI
 * ($ZH_BUILD/zerohop) runs as a child process. */
#include "testlib.h"
#include "testutil.h"

#define OBJ "build/components/obj/"
#define CORE_WORLD OBJ "core-world/core-world.wasm"
#define CORE_COMPONENT OBJ "core-world/core-world.component.wasm"
#define LIMIT_MS 20000L

static char cli[512];
static char tmp[64];

static bool run(const char *const *args, const char *const *envp, zh_test_proc *p) {
  const char *argv[16];
  size_t n = 0;
  argv[n++] = cli;
  argv[n++] = "run";
  for (size_t i = 0; args[i] && n < 15; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  bool ok = zh_test_spawn(argv, envp, NULL, 0, LIMIT_MS, p);
  CHECK(ok);
  return ok;
}

static size_t lines(const char *s) {
  size_t n = 0;
  for (; s && *s; s++)
    n += *s == '\n';
  return n;
}

static void expect(const char *what, const zh_test_proc *p, int status) {
  CHECK(p->ran && p->exited);
  CHECK_EQ_INT(p->status, status);
  if (!p->exited || p->status != status)
    fprintf(stderr, "  %s: status %d (expected %d)\n    stdout: [%s]\n    stderr: [%s]\n", what,
            p->status, status, p->out ? p->out : "", p->err ? p->err : "");
}

/* Its argv, an --env variable, the clocks, random, stdout and stderr, all through WASI 0.2. */
static void test_command(void) {
  zh_test_proc p;
  const char *a[] = {"--env", "CORE_WORLD=carried", CORE_WORLD, "one", "two", NULL};
  if (!run(a, NULL, &p))
    return;
  expect("command", &p, 0);
  static const char head[] = "argv: core-world.wasm one two\nCORE_WORLD=carried\nwall seconds ";
  CHECK(strncmp(p.out, head, sizeof head - 1) == 0);
  const char *secs = strstr(p.out, "wall seconds ");
  CHECK(secs && atol(secs + 13) > 1700000000L); /* after 2023: a real wall clock */
  CHECK(strstr(p.out, "\nrandom differs\n") != NULL);
  CHECK(strcmp(p.err, "to stderr\n") == 0);
  zh_test_proc_free(&p);
}

static void test_outcomes(void) {
  zh_test_proc p;
  const char *ex[] = {CORE_WORLD, "exit", "7", NULL}; /* exit-with-code keeps the code */
  if (run(ex, NULL, &p)) {
    expect("exit 7", &p, 7);
    zh_test_proc_free(&p);
  }
  const char *fail[] = {CORE_WORLD, "fail", NULL}; /* run returns err */
  if (run(fail, NULL, &p)) {
    expect("fail", &p, 1);
    CHECK(strcmp(p.err, "to stderr\n") == 0);
    zh_test_proc_free(&p);
  }
  const char *trap[] = {CORE_WORLD, "trap", NULL};
  if (run(trap, NULL, &p)) {
    expect("trap", &p, 134);
    CHECK(strstr(p.err, "trap: unreachable") != NULL);
    CHECK(strstr(p.err, "'core_command_run_run'") != NULL);
    zh_test_proc_free(&p);
  }
  /* A preview1 command whose world adds wasi:cli/exit: both hosts at once. */
  const char *mixed[] = {OBJ "c/exit.embedded.wasm", "9", NULL};
  if (run(mixed, NULL, &p)) {
    expect("preview1 + exit-with-code", &p, 9);
    CHECK(strcmp(p.out, "exit-with-code 9\n") == 0);
    zh_test_proc_free(&p);
  }
}

/* An import called from cabi_realloc while the host lowers a result into it, and one called
 * from run's post-return: may_leave traps both, in the core module run through its world
 * (zh_component) and in the same module made a component by `jco new`. */
static void test_may_leave(void) {
  static const struct {
    const char *path, *why;
  } ways[] = {
      {CORE_WORLD, "trap: import wasi:clocks/wall-clock@0.2.12#now: called from the guest's "
                   "cabi_realloc or post-return (may_leave)"},
      {CORE_COMPONENT, "trap: host function failed: now: cannot leave component instance from "
                       "its cabi_realloc or post-return (may_leave)"},
  };
  static const char *const modes[] = {"reenter", "post-reenter"};
  static const char *const drop_why[] = {
      "trap: import wasi:io/streams@0.2.12#[resource-drop]output-stream: called from the "
      "guest's cabi_realloc or post-return (may_leave)",
      "trap: host function failed: resource.drop: cannot leave component instance from its "
      "cabi_realloc or post-return (may_leave)"};
  for (size_t w = 0; w < 2; w++) {
    zh_test_proc p;
    const char *a[] = {ways[w].path, "post-drop", NULL};
    if (run(a, NULL, &p)) {
      expect("post-drop", &p, 134);
      CHECK(strstr(p.err, drop_why[w]) != NULL);
      zh_test_proc_free(&p);
    }
  }
  for (size_t w = 0; w < 2; w++)
    for (size_t m = 0; m < 2; m++) {
      zh_test_proc p;
      const char *a[] = {ways[w].path, modes[m], NULL};
      if (!run(a, NULL, &p))
        continue;
      expect(modes[m], &p, 134);
      CHECK(strstr(p.err, ways[w].why) != NULL);
      CHECK(strstr(p.out, "not reached") == NULL);
      zh_test_proc_free(&p);
    }
  /* The component runs as the core module does. */
  zh_test_proc p;
  const char *ok[] = {CORE_COMPONENT, "one", NULL};
  if (run(ok, NULL, &p)) {
    expect("component", &p, 0);
    static const char head[] = "argv: core-world.component.wasm one\nCORE_WORLD=\n";
    CHECK(strncmp(p.out, head, sizeof head - 1) == 0);
    zh_test_proc_free(&p);
  }
}

/* Appends a custom section NAME with PAYLOAD to the module at `from`, written to `to`. */
static bool with_section(const char *from, const char *to, const char *name, const uint8_t *payload,
                         size_t plen) {
  uint8_t *bytes;
  size_t len;
  if (!zh_test_read_file(from, &bytes, &len))
    return false;
  FILE *f = fopen(to, "wb");
  if (!f) {
    free(bytes);
    return false;
  }
  size_t nlen = strlen(name), size = 1 + nlen + plen; /* names here are < 128 bytes */
  uint8_t head[8] = {0, (uint8_t)(size | 0x80), (uint8_t)(size >> 7), (uint8_t)nlen};
  bool ok = size < (1u << 14) && fwrite(bytes, 1, len, f) == len && fwrite(head, 1, 4, f) == 4 &&
            fwrite(name, 1, nlen, f) == nlen && fwrite(payload, 1, plen, f) == plen;
  ok = fclose(f) == 0 && ok;
  free(bytes);
  return ok;
}

static void test_errors(void) {
  zh_test_proc p;
  /* The world does not decode: a component preamble, then a type section cut short. */
  static const uint8_t broken[] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01,
                                   0x00, 0x07, 0x05, 0x01, 0x42, 0x02};
  char path[128];
  snprintf(path, sizeof path, "%s/broken.wasm", tmp);
  CHECK(with_section(OBJ "core-world/core-world.core.wasm", path, "component-type:broken", broken,
                     sizeof broken));
  const char *a[] = {path, NULL};
  if (run(a, NULL, &p)) {
    expect("broken section", &p, 1);
    CHECK_EQ_INT(lines(p.err), 1);
    CHECK(strstr(p.err, path) != NULL);
    CHECK(strstr(p.err, "custom section component-type:broken") != NULL);
    CHECK(strstr(p.err, "offset") != NULL);
    if (!strstr(p.err, "offset"))
      fprintf(stderr, "  broken section: stderr [%s]\n", p.err);
    CHECK(strcmp(p.out, "") == 0);
    zh_test_proc_free(&p);
  }
  unlink(path);

  /* WIT imports and no world at all: the import is named. */
  const char *none[] = {OBJ "core-world/core-world.core.wasm", NULL};
  if (run(none, NULL, &p)) {
    expect("no world", &p, 1);
    CHECK_EQ_INT(lines(p.err), 1);
    CHECK(strstr(p.err, "unknown import wasi:") != NULL);
    zh_test_proc_free(&p);
  }

  /* A world the host cannot satisfy: the import is named, nothing runs. */
  const char *greet[] = {OBJ "core-world/core-greeter.wasm", "greet", NULL};
  if (run(greet, NULL, &p)) {
    expect("unsatisfiable world", &p, 1);
    CHECK_EQ_INT(lines(p.err), 1);
    CHECK(strstr(p.err, "import zerohop:test-core/greeter#hello: no host implementation") != NULL);
    CHECK(strcmp(p.out, "") == 0);
    zh_test_proc_free(&p);
  }
}

int main(void) {
  snprintf(cli, sizeof cli, "%s/zerohop", zh_test_build_dir());
  snprintf(tmp, sizeof tmp, "/tmp/zh-core-world-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  test_command();
  test_outcomes();
  test_may_leave();
  test_errors();
  CHECK(rmdir(tmp) == 0);
  TEST_SUMMARY();
}
