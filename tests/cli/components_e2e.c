/* `zerohop run` and `zerohop component wit` on real component binaries, end to end: the
 * built CLI ($ZH_BUILD/zerohop) runs as a child process on the command components that
 * `make components` builds with jco (build/components/c-NAME.wasm from tests/components/c/NAME.c)
 * and on the bad ones assembled by `jco parse` from tests/components/bad/NAME.wat. Checks exact
 * output and exit statuses: argv, environ (--env, --inherit-env), preopened directories (--dir,
 * --dir-ro), clocks, random, piped stdin, exit-with-code, a trap (134 with a backtrace naming
 * the core instance and function), --timeout (124), and one-line load errors (exit 1). Then
 * `component wit` against the `jco wit` text of every component (identical bytes).
 *
 * Not a unit test (it needs `make components`): `make cli-components` runs it. */
#include "testlib.h"
#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>

#define COMP "build/components"
#define LIMIT_MS 20000L

static char cli[512];
static char tmp[64]; /* scratch directory */

/* Runs `zerohop ARGS...` with `envp` (NULL: ours) and `in` on stdin (NULL: /dev/null). */
static bool run(const char *const *args, const char *const *envp, const char *in, size_t inlen,
                zh_test_proc *p) {
  const char *argv[40];
  size_t n = 0;
  argv[n++] = cli;
  for (size_t i = 0; args[i] && n < 39; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  bool ok = zh_test_spawn(argv, envp, in, inlen, LIMIT_MS, p);
  CHECK(ok);
  return ok;
}

/* Exit status and exact stdout (when `out` is not NULL); prints what differs. */
static void expect(const char *what, const zh_test_proc *p, int status, const char *out) {
  bool good = p->ran && p->exited && p->status == status && (!out || strcmp(p->out, out) == 0);
  if (!good)
    fprintf(stderr,
            "  %s: status %d (expected %d)\n    stdout: [%s]\n    expected: [%s]\n"
            "    stderr: [%s]\n",
            what, p->status, status, p->out ? p->out : "", out ? out : "(any)",
            p->err ? p->err : "");
  CHECK(p->ran && p->exited);
  CHECK_EQ_INT(p->status, status);
  if (out)
    CHECK(p->out && strcmp(p->out, out) == 0);
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; s && *s; s++)
    n += *s == '\n';
  return n;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

/* ---- argv, environ ---- */

static void test_args(void) {
  const char *a[] = {"run", COMP "/c-args.wasm", "a", "b c", "", "--env", NULL};
  zh_test_proc p;
  if (!run(a, NULL, NULL, 0, &p))
    return;
  expect("args", &p, 0,
         "argc=5\nargv[0]=c-args.wasm\nargv[1]=a\nargv[2]=b c\nargv[3]=\nargv[4]=--env\n");
  zh_test_proc_free(&p);
}

static void test_env(void) {
  const char *const envp[] = {"ZH_PARENT=from-parent", "PATH=/usr/bin", NULL};
  const char *a[] = {"run", "--env", "A=1", "--env", "B=two words", COMP "/c-env.wasm", "B", NULL};
  zh_test_proc p;
  if (run(a, envp, NULL, 0, &p)) { /* only what --env gives: nothing inherited */
    expect("env", &p, 0, "env A=1\nenv B=two words\nB=two words\n");
    zh_test_proc_free(&p);
  }
  const char *b[] = {"run", "--inherit-env", COMP "/c-env.wasm", "ZH_PARENT", NULL};
  if (run(b, envp, NULL, 0, &p)) {
    expect("inherit-env", &p, 0,
           "env ZH_PARENT=from-parent\nenv PATH=/usr/bin\nZH_PARENT=from-parent\n");
    zh_test_proc_free(&p);
  }
  const char *c[] = {"run", COMP "/c-env.wasm", "ZH_PARENT", NULL};
  if (run(c, envp, NULL, 0, &p)) {
    expect("no inherit", &p, 0, "ZH_PARENT=(unset)\n");
    zh_test_proc_free(&p);
  }
}

/* ---- preopened directories ---- */

static void test_files(void) {
  char d[128], in[160], outf[160], spec[200];
  snprintf(d, sizeof d, "%s/data", tmp);
  snprintf(in, sizeof in, "%s/input.txt", d);
  snprintf(outf, sizeof outf, "%s/output.txt", d);
  CHECK(mkdir(d, 0700) == 0);
  write_file(in, "hello from the host");
  snprintf(spec, sizeof spec, "%s::/data", d);

  /* read-only: the input reads, creating the output fails, nothing appears on the host */
  const char *ro[] = {"run", "--dir-ro", spec, COMP "/c-files.wasm", NULL};
  zh_test_proc p;
  if (run(ro, NULL, NULL, 0, &p)) {
    expect("dir-ro", &p, 1, NULL);
    const char *want = "input: hello from the host\nerror: create output: ";
    CHECK(strncmp(p.out, want, strlen(want)) == 0);
    zh_test_proc_free(&p);
  }
  CHECK(access(outf, F_OK) != 0);

  /* writable: read, write, read back, list */
  const char *rw[] = {"run", "--dir", spec, COMP "/c-files.wasm", "/data", "new text", NULL};
  if (run(rw, NULL, NULL, 0, &p)) {
    expect("dir", &p, 0,
           "input: hello from the host\noutput: new text\nentry input.txt\nentry output.txt\n");
    zh_test_proc_free(&p);
  }
  uint8_t *back = NULL;
  size_t len = 0;
  CHECK(zh_test_read_file(outf, &back, &len));
  CHECK(back && len == 8 && memcmp(back, "new text", 8) == 0);
  free(back);

  /* no preopen: the path does not exist for the guest */
  const char *none[] = {"run", COMP "/c-files.wasm", NULL};
  if (run(none, NULL, NULL, 0, &p)) {
    expect("no dir", &p, 1, NULL);
    CHECK(strncmp(p.out, "error: input: ", 14) == 0);
    zh_test_proc_free(&p);
  }
  unlink(outf);
  unlink(in);
  rmdir(d);
}

/* ---- clocks and random ---- */

static void test_clocks(void) {
  const char *a[] = {"run", COMP "/c-clocks.wasm", "30", NULL};
  zh_test_proc p;
  if (!run(a, NULL, NULL, 0, &p))
    return;
  expect("clocks", &p, 0, NULL);
  long long wall = 0, slept = 0;
  CHECK(sscanf(p.out, "wall %lld\nmonotonic ok slept_ms=%lld\n", &wall, &slept) == 2);
  long long now = (long long)time(NULL);
  CHECK(wall > now - 60 && wall <= now);
  CHECK(slept >= 30 && slept < 10000);
  zh_test_proc_free(&p);
}

static bool is_hex64(const char *s) {
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return s[64] == '\n';
}

static void test_random(void) {
  const char *a[] = {"run", COMP "/c-random.wasm", NULL};
  zh_test_proc p, q;
  if (!run(a, NULL, NULL, 0, &p))
    return;
  if (!run(a, NULL, NULL, 0, &q)) {
    zh_test_proc_free(&p);
    return;
  }
  expect("random", &p, 0, NULL);
  expect("random again", &q, 0, NULL);
  CHECK(p.nout == 2 * 72 && q.nout == 2 * 72);
  if (p.nout == 144 && q.nout == 144) {
    CHECK(strncmp(p.out, "random ", 7) == 0 && is_hex64(p.out + 7));
    CHECK(strncmp(p.out + 72, "random ", 7) == 0 && is_hex64(p.out + 79));
    CHECK(strcmp(p.out, q.out) != 0); /* two processes draw different bytes */
  }
  zh_test_proc_free(&p);
  zh_test_proc_free(&q);
}

/* ---- stdin ---- */

static void test_stdin(void) {
  size_t len = 3u << 20; /* more than a pipe holds: the host must stream it */
  char *data = malloc(len);
  CHECK(data != NULL);
  if (!data)
    return;
  uint64_t x = 0x9e3779b97f4a7c15ULL, h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    data[i] = (char)(x >> 24);
    h = (h ^ (uint8_t)data[i]) * 0x100000001b3ULL;
  }
  char want[128];
  snprintf(want, sizeof want, "stdin bytes=%zu fnv1a=%016llx\n", len, (unsigned long long)h);
  const char *a[] = {"run", COMP "/c-stdin.wasm", NULL};
  zh_test_proc p;
  if (run(a, NULL, data, len, &p)) {
    expect("stdin 3 MiB", &p, 0, want);
    zh_test_proc_free(&p);
  }
  if (run(a, NULL, "", 0, &p)) {
    expect("stdin empty", &p, 0, "stdin bytes=0 fnv1a=cbf29ce484222325\n");
    zh_test_proc_free(&p);
  }
  free(data);
}

/* ---- exit codes, traps, time limits ---- */

static void test_exit(void) {
  static const int codes[] = {0, 1, 3, 42, 200, 255};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    char arg[16], want[64];
    snprintf(arg, sizeof arg, "%d", codes[i]);
    snprintf(want, sizeof want, "exit-with-code %d\n", codes[i]);
    const char *a[] = {"run", COMP "/c-exit.wasm", arg, NULL};
    zh_test_proc p;
    if (run(a, NULL, NULL, 0, &p)) {
      expect(want, &p, codes[i], want);
      CHECK(p.nerr == 0);
      zh_test_proc_free(&p);
    }
  }
}

static void test_trap(void) {
  const char *a[] = {"run", COMP "/c-trap.wasm", NULL};
  zh_test_proc p;
  if (!run(a, NULL, NULL, 0, &p))
    return;
  expect("trap", &p, 134, "mode trap\n");
  CHECK(strncmp(p.err, "zerohop: " COMP "/c-trap.wasm: trap: unreachable", 48) == 0);
  CHECK(strstr(p.err, "#0 wasm function") != NULL);
  CHECK(strstr(p.err, "'crash_here' in core instance 'main'\n") != NULL);
  CHECK(strstr(p.err, "'wasi:cli/run@0.2.12#run' in core instance 'wasi_snapshot_preview1'") !=
        NULL);
  if (!strstr(p.err, "'crash_here' in core instance 'main'"))
    fprintf(stderr, "  trap stderr: [%s]\n", p.err);
  zh_test_proc_free(&p);
}

static void test_timeout(void) {
  const char *a[] = {"run", "--timeout", "300ms", COMP "/c-trap.wasm", "loop", NULL};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  zh_test_proc p;
  if (!run(a, NULL, NULL, 0, &p))
    return;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  expect("timeout", &p, 124, "mode loop\n");
  CHECK(!p.killed);
  CHECK(ms >= 300 && ms < 10000);
  CHECK(strstr(p.err, "time limit of 300ms") != NULL);
  CHECK(strstr(p.err, "'spin' in core instance 'main'") != NULL);
  zh_test_proc_free(&p);
}

/* ---- bad input: one line, exit 1 ---- */

static void expect_load_error(const char *path, const char *const *needles) {
  const char *a[] = {"run", path, NULL};
  zh_test_proc p;
  if (!run(a, NULL, NULL, 0, &p))
    return;
  char head[600];
  snprintf(head, sizeof head, "zerohop: %s: ", path);
  bool good = p.exited && p.status == 1 && p.nout == 0 && count_lines(p.err) == 1 &&
              strncmp(p.err, head, strlen(head)) == 0;
  for (size_t i = 0; needles[i]; i++)
    good = good && strstr(p.err, needles[i]) != NULL;
  if (!good)
    fprintf(stderr, "  %s: status %d, stderr [%s]\n", path, p.status, p.err);
  CHECK(good);
  zh_test_proc_free(&p);
}

/* Writes `len` bytes of `data` to TMP/NAME; returns the path (static buffer per call site). */
static const char *scratch_file(char *path, size_t cap, const char *name, const uint8_t *data,
                                size_t len) {
  snprintf(path, cap, "%s/%s", tmp, name);
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
  }
  return path;
}

static void test_bad_input(void) {
  uint8_t *good = NULL;
  size_t len = 0;
  CHECK(zh_test_read_file(COMP "/c-args.wasm", &good, &len));
  if (!good || len < 4096) {
    free(good);
    return;
  }
  char p1[128], p2[128];
  /* cut inside the first core module section */
  const char *t = scratch_file(p1, sizeof p1, "truncated.wasm", good, 3000);
  expect_load_error(t, (const char *[]){"section", "offset 0x", NULL});
  good[4] = 0x0e; /* the version after 0x0d */
  const char *v = scratch_file(p2, sizeof p2, "version.wasm", good, len);
  expect_load_error(v, (const char *[]){"version", "offset 0x4", NULL});
  free(good);
  unlink(p1);
  unlink(p2);

  expect_load_error(COMP "/bad/bad-index.wasm",
                    (const char *[]){"section 2 (core instance)", "offset 0x",
                                     "core module index 5 out of bounds", NULL});
  expect_load_error(COMP "/bad/bad-type.wasm",
                    (const char *[]){"section 8 (canon)", "offset 0x", "type mismatch", NULL});
  expect_load_error(
      COMP "/bad/async-builtin.wasm",
      (const char *[]){"section 8 (canon)", "offset 0x", "task.return", "async built-in", NULL});
  expect_load_error(COMP "/bad/missing-import.wasm",
                    (const char *[]){"section 10 (import) at offset 0x",
                                     "missing import `wasi:zerohop/absent@0.2.0`", NULL});
  expect_load_error(COMP "/bad/wrong-import-type.wasm",
                    (const char *[]){"section 10 (import) at offset 0x",
                                     "wasi:cli/environment@0.2.0#get-arguments", "wrong type",
                                     "func() -> u32", "func() -> list<string>", NULL});
}

/* ---- component wit ---- */

/* `zerohop component wit` against `jco wit` (NAME.wit beside NAME.wasm, written by
 * `make components`): the texts must be identical, byte for byte. */
static void compare_wit(const char *wasm) {
  char witp[600];
  snprintf(witp, sizeof witp, "%.*s.wit", (int)(strlen(wasm) - 5), wasm);
  uint8_t *want = NULL;
  size_t wlen;
  CHECK(zh_test_read_file(witp, &want, &wlen));
  const char *a[] = {"component", "wit", wasm, NULL};
  zh_test_proc p;
  if (!want || !run(a, NULL, NULL, 0, &p)) {
    free(want);
    return;
  }
  expect(wasm, &p, 0, NULL);
  bool same = p.nout == wlen && memcmp(p.out, want, wlen) == 0;
  if (!same)
    fprintf(stderr, "  component wit %s differs from %s:\n[%s]\n  jco wit:\n[%s]\n", wasm, witp,
            p.out, (char *)want);
  CHECK(same);
  zh_test_proc_free(&p);
  free(want);
}

static void test_wit(void) {
  DIR *d = opendir(COMP);
  CHECK(d != NULL);
  if (!d)
    return;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l > 5 && strcmp(e->d_name + l - 5, ".wasm") == 0) {
      char path[600];
      snprintf(path, sizeof path, COMP "/%s", e->d_name);
      compare_wit(path);
      n++;
    }
  }
  closedir(d);
  CHECK(n >= 13); /* every component of `make components` */
  printf("components_e2e: component wit compared on %zu components\n", n);

  /* a bad file: one line, exit 1 */
  const char *a[] = {"component", "wit", COMP "/bad/bad-index.wasm", NULL};
  zh_test_proc p;
  if (run(a, NULL, NULL, 0, &p)) {
    expect("wit bad", &p, 1, "");
    CHECK(count_lines(p.err) == 1 && strstr(p.err, "out of bounds") != NULL);
    zh_test_proc_free(&p);
  }
  const char *core[] = {"component", "wit", "../shared/testsuites/wasi/c/lseek.wasm", NULL};
  if (run(core, NULL, NULL, 0, &p)) { /* a core module without a world */
    expect("wit core module", &p, 1, "");
    CHECK(count_lines(p.err) == 1 &&
          strstr(p.err, "a core module without a component-type custom section") != NULL);
    zh_test_proc_free(&p);
  }
  /* Core modules that carry their world (tests/components/embed.mjs put it there): exit.wit's
   * world exactly; http-hello's with the interfaces its imports use added, as wit-component
   * elaborates a world before encoding it. */
  const char *exit_core[] = {"component", "wit", COMP "/obj/c/exit.embedded.wasm", NULL};
  if (run(exit_core, NULL, NULL, 0, &p)) {
    expect(
        "wit exit core", &p, 0,
        "package zerohop:test-exit;\n\nworld exit-code {\n  import wasi:cli/exit@0.2.12;\n}\n\n");
    zh_test_proc_free(&p);
  }
  const char *http_core[] = {"component", "wit", COMP "/obj/c-http/hello.embedded.wasm", NULL};
  if (run(http_core, NULL, NULL, 0, &p)) {
    expect("wit http core", &p, 0, NULL);
    static const char *const lines[] = {"package zerohop:test-http;\n\nworld http-hello {\n",
                                        "\n  import wasi:http/types@0.2.12;\n",
                                        "\n  import wasi:io/streams@0.2.12;\n",
                                        "\n\n  export wasi:http/incoming-handler@0.2.12;\n}\n\n"};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
      CHECK(strstr(p.out, lines[i]) != NULL);
    CHECK(strncmp(p.out, lines[0], strlen(lines[0])) == 0);
    zh_test_proc_free(&p);
  }
  const char *u[] = {"component", "print", COMP "/c-args.wasm", NULL};
  if (run(u, NULL, NULL, 0, &p)) {
    expect("component print", &p, 2, "");
    zh_test_proc_free(&p);
  }
}

int main(void) {
  const char *b = getenv("ZH_BUILD");
  snprintf(cli, sizeof cli, "%s/zerohop", b && *b ? b : "build");
  const char *need[] = {cli, COMP "/c-args.wasm", COMP "/c-trap.wasm", COMP "/bad/bad-index.wasm"};
  for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
    if (access(need[i], R_OK) != 0) {
      fprintf(stderr, "components_e2e: %s is missing (make components cli-components)\n", need[i]);
      CHECK(false);
      TEST_SUMMARY();
    }
  }
  snprintf(tmp, sizeof tmp, "/tmp/zh-comp-e2e-XXXXXX");
  if (!mkdtemp(tmp)) {
    CHECK(false);
    TEST_SUMMARY();
  }
  test_args();
  test_env();
  test_files();
  test_clocks();
  test_random();
  test_stdin();
  test_exit();
  test_trap();
  test_timeout();
  test_bad_input();
  test_wit();
  CHECK(rmdir(tmp) == 0);
  TEST_SUMMARY();
}
