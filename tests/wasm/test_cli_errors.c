/* `zerohop run` on bad input: each case runs the built CLI ($ZH_BUILD/zerohop, default
 * "build") on a file written to a fresh temporary directory and checks that it exits
 * with status 1 through exit() (never a signal), prints nothing on stdout and exactly one
 * line on stderr, "zerohop: ...", naming the file; decode errors name the section and the
 * offset, validation errors the function. A trapping _start exits with 134. */
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char cli[1024]; /* the zerohop binary */
static char dir[64];   /* the temporary directory */

/* ---- running the CLI ---- */

typedef struct outcome {
  bool ran;       /* spawned and reaped */
  bool exited;    /* WIFEXITED */
  bool timed_out; /* killed by us after the time limit */
  int status;     /* the exit status, or the signal number */
  char out[4096]; /* stdout, truncated */
  char err[8192]; /* stderr, truncated */
  size_t nout, nerr;
} outcome;

static void file_path(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", dir, name);
}

static size_t slurp(const char *path, char *buf, size_t cap) {
  size_t n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    for (;;) {
      ssize_t got = read(fd, buf + n, cap - 1 - n);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        break;
      n += (size_t)got;
      if (n + 1 >= cap)
        break;
    }
    close(fd);
  }
  buf[n] = 0;
  return n;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Starts the CLI with `args` (NULL-terminated, after the program name), stdin from
 * /dev/null, stdout and stderr to the files `tag`.out and `tag`.err; returns its pid or
 * -1. */
static pid_t spawn_cli(const char *const *args, const char *tag) {
  const char *argv[16];
  size_t n = 0;
  argv[n++] = cli;
  for (size_t i = 0; args[i] && n < 15; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  char out[192], err[192];
  snprintf(out, sizeof out, "%s/%s.out", dir, tag);
  snprintf(err, sizeof err, "%s/%s.err", dir, tag);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawn(&pid, cli, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "  cannot run %s: %s\n", cli, strerror(rc));
    return -1;
  }
  return pid;
}

/* Waits for `pid` (killing it after `limit_ms`), reads its output and removes the files. */
static void reap_cli(pid_t pid, const char *tag, long limit_ms, outcome *o) {
  memset(o, 0, sizeof *o);
  if (pid < 0)
    return;
  int wstatus = 0;
  for (long waited = 0;; waited++) {
    pid_t got = waitpid(pid, &wstatus, WNOHANG);
    if (got == pid)
      break;
    if (got < 0 && errno != EINTR) {
      fprintf(stderr, "  waitpid: %s\n", strerror(errno));
      return;
    }
    if (waited >= limit_ms) {
      o->timed_out = true;
      kill(pid, SIGKILL);
      while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    sleep_ms(1);
  }
  o->ran = true;
  o->exited = WIFEXITED(wstatus);
  o->status = o->exited ? WEXITSTATUS(wstatus) : WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : -1;
  char path[192];
  snprintf(path, sizeof path, "%s/%s.out", dir, tag);
  o->nout = slurp(path, o->out, sizeof o->out);
  unlink(path);
  snprintf(path, sizeof path, "%s/%s.err", dir, tag);
  o->nerr = slurp(path, o->err, sizeof o->err);
  unlink(path);
}

static void run_cli(const char *const *args, long limit_ms, outcome *o) {
  reap_cli(spawn_cli(args, "single"), "single", limit_ms, o);
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* Load failures are queued and run a few at a time: each run costs mostly start-up. */
typedef struct failure_case {
  char label[64];
  char path[128];
  const char *const *needles; /* NULL-terminated, or NULL */
} failure_case;

static failure_case cases[128];
static size_t ncases;

/* `zerohop run PATH` must fail to load: exit(1), no output, and one stderr line
 * "zerohop: ..." that contains the path and each string of `needles`. */
static void expect_failure(const char *label, const char *path, const char *const *needles) {
  if (ncases == sizeof cases / sizeof cases[0]) {
    fprintf(stderr, "test_cli_errors: too many cases\n");
    exit(2);
  }
  failure_case *c = &cases[ncases++];
  snprintf(c->label, sizeof c->label, "%s", label);
  snprintf(c->path, sizeof c->path, "%s", path);
  c->needles = needles;
}

static void check_failure(const failure_case *c, const outcome *o) {
  const char *const *needles = c->needles;
  bool line_ok = o->nerr > 9 && strncmp(o->err, "zerohop: ", 9) == 0 && count_lines(o->err) == 1 &&
                 o->err[o->nerr - 1] == '\n';
  bool has_path = strstr(o->err, c->path) != NULL;
  bool has_all = true;
  for (size_t i = 0; needles && needles[i]; i++)
    has_all = has_all && strstr(o->err, needles[i]) != NULL;
  bool good =
      o->ran && o->exited && o->status == 1 && o->nout == 0 && line_ok && has_path && has_all;
  if (!good) {
    fprintf(stderr, "  %s: %s %d%s, stdout %zu bytes, stderr:\n%s", c->label,
            o->exited ? "exit status" : "signal", o->status, o->timed_out ? " (timed out)" : "",
            o->nout, o->err);
    for (size_t i = 0; needles && needles[i]; i++)
      if (!strstr(o->err, needles[i]))
        fprintf(stderr, "  (missing \"%s\")\n", needles[i]);
  }
  CHECK(o->ran);
  CHECK(o->exited);
  CHECK_EQ_INT(o->status, 1);
  CHECK_EQ_INT(o->nout, 0);
  CHECK(line_ok);
  CHECK(has_path);
  CHECK(has_all);
}

/* Runs the queued cases, BATCH at a time, and checks each. */
static void run_failures(void) {
  enum { BATCH = 8 };
  static outcome o;
  for (size_t first = 0; first < ncases; first += BATCH) {
    pid_t pids[BATCH];
    char tags[BATCH][16];
    size_t n = ncases - first < BATCH ? ncases - first : BATCH;
    for (size_t i = 0; i < n; i++) {
      const char *args[] = {"run", cases[first + i].path, NULL};
      snprintf(tags[i], sizeof tags[i], "job%zu", i);
      pids[i] = spawn_cli(args, tags[i]);
    }
    for (size_t i = 0; i < n; i++) {
      reap_cli(pids[i], tags[i], 10000, &o);
      check_failure(&cases[first + i], &o);
    }
  }
  ncases = 0;
}

/* ---- files ---- */

static bool write_file(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return false;
  bool ok = len == 0 || write(fd, data, len) == (ssize_t)len;
  close(fd);
  CHECK(ok);
  return ok;
}

/* ---- modules, by hand: each is small enough to read byte by byte ---- */

#define HEADER 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00
/* Type section: one type, [] -> []. */
#define TYPE_VOID 0x01, 0x04, 0x01, 0x60, 0x00, 0x00
/* Function section: one function of type 0. */
#define FUNC_ONE 0x03, 0x02, 0x01, 0x00
/* Export section: "_start" is function 0. */
#define EXPORT_START 0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x00

// clang-format off
/* A valid module whose _start, with one i32 local, runs i32.const 1, drop. */
static const uint8_t VALID[] = {
    HEADER, TYPE_VOID, FUNC_ONE, EXPORT_START,
    0x0a, 0x09, 0x01, 0x07, 0x01, 0x01, 0x7f, /* code: one body of 7 bytes, one i32 local */
    0x41, 0x01, 0x1a, 0x0b,                   /* i32.const 1, drop, end */
};

/* _start is unreachable. */
static const uint8_t TRAPPING[] = {
    HEADER, TYPE_VOID, FUNC_ONE, EXPORT_START,
    0x0a, 0x05, 0x01, 0x03, 0x00, /* code: one body of 3 bytes, no locals */
    0x00, 0x0b,                   /* unreachable, end */
};

/* _start loops forever. */
static const uint8_t LOOPING[] = {
    HEADER, TYPE_VOID, FUNC_ONE, EXPORT_START,
    0x0a, 0x09, 0x01, 0x07, 0x00,       /* code: one body of 7 bytes, no locals */
    0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, /* loop, br 0, end, end */
};
// clang-format on

/* Offsets just past each section of a well-formed module (and just past the header). */
static size_t section_ends(const uint8_t *m, size_t len, size_t *ends, size_t cap) {
  size_t n = 0, p = 8;
  ends[n++] = 8;
  while (p < len && n < cap) {
    p++; /* id */
    uint64_t size = 0;
    for (int shift = 0; p < len; shift += 7) {
      uint8_t b = m[p++];
      size |= (uint64_t)(b & 0x7f) << shift;
      if (!(b & 0x80))
        break;
    }
    p += size;
    ends[n++] = p;
  }
  return n;
}

static void test_valid_and_trap(void) {
  char path[128];
  const char *args[] = {"run", path, NULL};
  outcome o;

  /* The base of every cut below runs cleanly. */
  file_path(path, sizeof path, "valid.wasm");
  if (write_file(path, VALID, sizeof VALID)) {
    run_cli(args, 10000, &o);
    if (!o.exited || o.status != 0)
      fprintf(stderr, "  valid.wasm: status %d, stderr:\n%s", o.status, o.err);
    CHECK(o.exited && o.status == 0 && o.nerr == 0);
  }

  file_path(path, sizeof path, "trap.wasm");
  if (write_file(path, TRAPPING, sizeof TRAPPING)) {
    run_cli(args, 10000, &o);
    bool first_ok = strncmp(o.err, "zerohop: ", 9) == 0 && strstr(o.err, path) != NULL;
    char *nl = strchr(o.err, '\n');
    if (nl)
      *nl = 0; /* the backtrace may follow on further lines */
    bool says_trap = strstr(o.err, "trap") != NULL && strstr(o.err, "unreachable") != NULL;
    if (!o.exited || o.status != 134 || !first_ok || !says_trap)
      fprintf(stderr, "  trap.wasm: %s %d, first stderr line: %s\n",
              o.exited ? "exit status" : "signal", o.status, o.err);
    CHECK(o.exited);
    CHECK_EQ_INT(o.status, 134);
    CHECK(first_ok);
    CHECK(says_trap);
    CHECK(nl != NULL);
  }
}

static void test_truncated(void) {
  size_t ends[16];
  size_t nends = section_ends(VALID, sizeof VALID, ends, 16);
  CHECK_EQ_INT(ends[nends - 1], sizeof VALID);
  static const char *const header_needles[] = {"offset 0x", "header", NULL};
  static const char *const section_needles[] = {"offset 0x", "section", NULL};
  for (size_t cut = 0; cut < sizeof VALID; cut++) {
    char path[128], name[32], label[64];
    snprintf(name, sizeof name, "cut %02zu.wasm", cut);
    file_path(path, sizeof path, name);
    snprintf(label, sizeof label, "module cut at %zu of %zu", cut, sizeof VALID);
    if (!write_file(path, VALID, cut))
      continue;
    bool at_boundary = false;
    for (size_t i = 0; i < nends; i++)
      at_boundary = at_boundary || ends[i] == cut;
    /* A cut between sections leaves a well-formed but incomplete module: it fails to
     * load or to link (no _start); anything else is a decode error. */
    expect_failure(label, path, at_boundary ? NULL : cut < 8 ? header_needles : section_needles);
  }
}

static void test_malformed(void) {
  static const char *const decode[] = {"section", "offset 0x", NULL};
  char path[128];

  /* The empty file and a bad magic number fail in the header, which is not a section:
   * the message names "header" and the offset. */
  static const char *const header[] = {"header", "offset 0x", NULL};
  file_path(path, sizeof path, "empty.wasm");
  if (write_file(path, "", 0))
    expect_failure("empty file", path, header);
  static const uint8_t magic[] = {0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00};
  file_path(path, sizeof path, "bad magic.wasm");
  if (write_file(path, magic, sizeof magic))
    expect_failure("bad magic", path, header);
  static const uint8_t version[] = {0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00};
  file_path(path, sizeof path, "version.wasm");
  if (write_file(path, version, sizeof version))
    expect_failure("bad version", path, header);

  /* The type section claims one byte more than its entries use. */
  static const uint8_t mismatch[] = {HEADER, 0x01, 0x05, 0x01, 0x60, 0x00, 0x00, 0x00};
  static const char *const size_needles[] = {"section", "offset 0x", "size mismatch", NULL};
  file_path(path, sizeof path, "size-mismatch.wasm");
  if (write_file(path, mismatch, sizeof mismatch))
    expect_failure("section size mismatch", path, size_needles);

  /* The type section claims more bytes than the file has. */
  static const uint8_t overlong[] = {HEADER, 0x01, 0x7f, 0x01, 0x60, 0x00, 0x00};
  file_path(path, sizeof path, "overlong.wasm");
  if (write_file(path, overlong, sizeof overlong))
    expect_failure("section past the end", path, decode);

  /* Section id 14 does not exist. */
  static const uint8_t bad_id[] = {HEADER, 0x0e, 0x01, 0x00};
  file_path(path, sizeof path, "bad-id.wasm");
  if (write_file(path, bad_id, sizeof bad_id))
    expect_failure("unknown section id", path, decode);

  /* A function body that runs off the end of the code section. */
  static const uint8_t body[] = {HEADER, TYPE_VOID, FUNC_ONE, 0x0a, 0x04, 0x01, 0x05, 0x00, 0x0b};
  file_path(path, sizeof path, "body.wasm");
  if (write_file(path, body, sizeof body))
    expect_failure("body past its section", path, decode);
}

static void test_invalid(void) {
  static const char *const needles[] = {"function", NULL};
  char path[128];
  // clang-format off
  /* _start : [] -> [] leaves an i64 on the stack. */
  static const uint8_t extra[] = {
      HEADER, TYPE_VOID, FUNC_ONE, EXPORT_START,
      0x0a, 0x06, 0x01, 0x04, 0x00, /* code: one body of 4 bytes, no locals */
      0x42, 0x00, 0x0b,             /* i64.const 0, end */
  };
  /* i32.add of an i32 and an i64. */
  static const uint8_t operands[] = {
      HEADER, TYPE_VOID, FUNC_ONE, EXPORT_START,
      0x0a, 0x0a, 0x01, 0x08, 0x00, /* code: one body of 8 bytes, no locals */
      0x41, 0x01, 0x42, 0x02,       /* i32.const 1, i64.const 2 */
      0x6a, 0x1a, 0x0b,             /* i32.add, drop, end */
  };
  /* local.get of a local that does not exist. */
  static const uint8_t local[] = {
      HEADER, TYPE_VOID, FUNC_ONE, EXPORT_START,
      0x0a, 0x07, 0x01, 0x05, 0x00, /* code: one body of 5 bytes, no locals */
      0x20, 0x03, 0x1a, 0x0b,       /* local.get 3, drop, end */
  };
  // clang-format on
  file_path(path, sizeof path, "invalid-result.wasm");
  if (write_file(path, extra, sizeof extra))
    expect_failure("type mismatch (extra value)", path, needles);
  file_path(path, sizeof path, "invalid-operands.wasm");
  if (write_file(path, operands, sizeof operands))
    expect_failure("type mismatch (operands)", path, needles);
  file_path(path, sizeof path, "invalid-local.wasm");
  if (write_file(path, local, sizeof local))
    expect_failure("unknown local", path, needles);
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint8_t random_byte(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint8_t)(rng >> 24);
}

static void test_random(void) {
  uint8_t bytes[256];
  char path[128], name[32];
  for (int i = 0; i < 12; i++) {
    /* Half are noise from the first byte; half have a valid header, then noise. */
    size_t start = i % 2 ? 8 : 0, len = start + 1 + random_byte() % 120;
    memcpy(bytes, VALID, 8);
    for (size_t k = start; k < len; k++)
      bytes[k] = random_byte();
    snprintf(name, sizeof name, "random-%02d.wasm", i);
    file_path(path, sizeof path, name);
    if (write_file(path, bytes, len))
      expect_failure(name, path, NULL);
  }
}

static void test_not_a_file(void) {
  char path[128];
  file_path(path, sizeof path, "a-directory.wasm");
  CHECK(mkdir(path, 0700) == 0);
  expect_failure("a directory", path, NULL);
  file_path(path, sizeof path, "missing.wasm");
  expect_failure("a missing file", path, NULL);
}

/* --timeout, when `zerohop help run` lists it. */
static void test_timeout(void) {
  const char *help[] = {"help", "run", NULL};
  outcome o;
  run_cli(help, 10000, &o);
  CHECK(o.exited && o.status == 0 && o.nout > 0);
  if (!strstr(o.out, "--timeout")) {
    printf("test_cli_errors: `zerohop run` has no --timeout option; the endless-loop check "
           "is skipped\n");
    return;
  }
  char path[128];
  file_path(path, sizeof path, "loop.wasm");
  if (!write_file(path, LOOPING, sizeof LOOPING))
    return;
  const char *args[] = {"run", "--timeout", "100ms", path, NULL};
  run_cli(args, 5000, &o);
  char *nl = strchr(o.err, '\n');
  if (nl)
    *nl = 0;
  /* Interrupted guests exit 124, like timeout(1) (`zerohop help run`). */
  if (o.timed_out || !o.exited || o.status != 124 || strncmp(o.err, "zerohop: ", 9) != 0)
    fprintf(stderr, "  loop.wasm --timeout 100ms: %s %d%s: %s\n",
            o.exited ? "exit status" : "signal", o.status, o.timed_out ? " (killed)" : "", o.err);
  CHECK(!o.timed_out);
  CHECK(o.exited && o.status == 124);
  CHECK(strncmp(o.err, "zerohop: ", 9) == 0 && strstr(o.err, path) != NULL);
  CHECK(strstr(o.err, "interrupted") != NULL);
}

/* Removes what the tests left in the temporary directory, then the directory. */
static void remove_dir(void) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[384];
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      if (unlink(path) != 0)
        rmdir(path);
    }
    closedir(d);
  }
  if (rmdir(dir) != 0)
    fprintf(stderr, "  cannot remove %s: %s\n", dir, strerror(errno));
}

int main(void) {
  const char *build = getenv("ZH_BUILD");
  snprintf(cli, sizeof cli, "%s/zerohop", build && *build ? build : "build");
  if (access(cli, X_OK) != 0) {
    fprintf(stderr, "test_cli_errors: %s is not built\n", cli);
    CHECK(access(cli, X_OK) == 0);
    TEST_SUMMARY();
  }
  snprintf(dir, sizeof dir, "/tmp/zh-cli-errors-XXXXXX");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "test_cli_errors: mkdtemp: %s\n", strerror(errno));
    CHECK(false);
    TEST_SUMMARY();
  }
  test_valid_and_trap();
  test_truncated();
  test_malformed();
  test_invalid();
  test_random();
  test_not_a_file();
  run_failures();
  test_timeout();
  remove_dir();
  TEST_SUMMARY();
}
