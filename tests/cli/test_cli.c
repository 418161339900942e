/* `zerohop run` for real programs: runs the built CLI ($ZH_BUILD/zerohop, default "build")
 * with posix_spawn on the guests in tests/guests/cli_*.c and checks what a user sees: exit
 * statuses, exact output, one-line messages, and how fast --timeout stops an endless loop
 * (CLOCK_MONOTONIC around the whole process). */
#include "testlib.h"

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

static const char *build = "build";
static char cli[512];  /* the zerohop binary */
static char dir[64];   /* a temporary directory for output files and --dir */
static char loop[512]; /* the guests */
static char memory[512];
static char print[512];

/* ---- running the CLI ---- */

typedef struct outcome {
  bool ran;       /* spawned and reaped */
  bool exited;    /* WIFEXITED */
  bool killed;    /* killed by us after the time limit */
  int status;     /* the exit status, or the signal number */
  double ms;      /* wall time from spawn to reap */
  char out[8192]; /* stdout, truncated */
  char err[8192]; /* stderr, truncated */
  size_t nout, nerr;
} outcome;

typedef struct spawn_opts {
  const char *const *extra_env; /* added to this process's environment; NULL-terminated */
  bool stdin_pipe;              /* stdin a pipe that stays open until the child ends */
  long limit_ms;                /* killed after this; 0 means 10 s */
} spawn_opts;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t slurp(const char *path, char *buf, size_t cap) {
  size_t n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    for (;;) {
      ssize_t got = read(fd, buf + n, cap - 1 - n);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0 || (n += (size_t)got) + 1 >= cap)
        break;
    }
    close(fd);
  }
  buf[n] = 0;
  return n;
}

/* Runs `zerohop ARGS...` (`args` NULL-terminated) and fills `o`. */
static void run_opts_cli(const char *const *args, const spawn_opts *so, outcome *o) {
  memset(o, 0, sizeof *o);
  const char *argv[32];
  size_t n = 0;
  argv[n++] = cli;
  for (size_t i = 0; args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;

  /* The environment: ours, plus the extra variables. */
  const char *envp[512];
  size_t ne = 0;
  for (size_t i = 0; environ[i] && ne < 400; i++)
    envp[ne++] = environ[i];
  for (size_t i = 0; so && so->extra_env && so->extra_env[i] && ne < 510; i++)
    envp[ne++] = so->extra_env[i];
  envp[ne] = NULL;

  char out[128], err[128];
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(err, sizeof err, "%s/err", dir);
  int pipefd[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (so && so->stdin_pipe && pipe2(pipefd, O_CLOEXEC) == 0)
    posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0);
  else
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  double start = now_ms();
  int rc = posix_spawn(&pid, cli, &fa, NULL, (char *const *)argv, (char *const *)envp);
  posix_spawn_file_actions_destroy(&fa);
  if (pipefd[0] >= 0)
    close(pipefd[0]); /* the write end stays open: the guest's read blocks */
  if (rc != 0) {
    fprintf(stderr, "  cannot run %s: %s\n", cli, strerror(rc));
    if (pipefd[1] >= 0)
      close(pipefd[1]);
    return;
  }
  long limit = so && so->limit_ms ? so->limit_ms : 10000;
  int wstatus = 0;
  for (;;) {
    pid_t got = waitpid(pid, &wstatus, WNOHANG);
    if (got == pid)
      break;
    if (got < 0 && errno != EINTR) {
      fprintf(stderr, "  waitpid: %s\n", strerror(errno));
      return;
    }
    if (now_ms() - start > (double)limit) {
      o->killed = true;
      kill(pid, SIGKILL);
      while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    /* Short naps keep the measured time within about 0.2 ms of the real exit. */
    struct timespec nap = {0, 200000};
    nanosleep(&nap, NULL);
  }
  o->ms = now_ms() - start;
  if (pipefd[1] >= 0)
    close(pipefd[1]);
  o->ran = true;
  o->exited = WIFEXITED(wstatus);
  o->status = o->exited ? WEXITSTATUS(wstatus) : WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : -1;
  o->nout = slurp(out, o->out, sizeof o->out);
  o->nerr = slurp(err, o->err, sizeof o->err);
  unlink(out);
  unlink(err);
}

static void run_cli(const char *const *args, outcome *o) { run_opts_cli(args, NULL, o); }

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* Joins args for messages. */
static const char *show_args(const char *const *args) {
  static char buf[1024];
  size_t n = 0;
  buf[0] = 0;
  for (size_t i = 0; args[i] && n < sizeof buf - 1; i++) {
    int w = snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", args[i]);
    if (w < 0)
      break;
    n += (size_t)w;
  }
  return buf;
}

/* Exit status `status` through exit(), and stdout exactly `out` (when not NULL). */
static void expect_run(const char *const *args, const outcome *o, int status, const char *out) {
  bool good = o->ran && o->exited && o->status == status && (!out || strcmp(o->out, out) == 0);
  if (!good)
    fprintf(stderr,
            "  zerohop %s:\n    %s %d (expected %d)\n    stdout: [%s]\n    expected: [%s]\n"
            "    stderr: [%s]\n",
            show_args(args), o->exited ? "exit status" : "signal", o->status, status, o->out,
            out ? out : "(any)", o->err);
  CHECK(o->ran && o->exited);
  CHECK_EQ_INT(o->status, status);
  if (out)
    CHECK(strcmp(o->out, out) == 0);
}

/* ---- --timeout ---- */

static void test_timeout(void) {
  /* The machine is shared: take the fastest of up to three runs. */
  const char *args[] = {"run", "--timeout", "100ms", loop, NULL};
  outcome o;
  double best = 1e9;
  bool good = false;
  for (int attempt = 0; attempt < 3 && !good; attempt++) {
    run_opts_cli(args, &(spawn_opts){.limit_ms = 5000}, &o);
    if (o.ms < best)
      best = o.ms;
    good = o.exited && o.status == 124 && o.ms < 1000.0;
    printf("test_cli: --timeout 100ms on an endless loop: exit %d after %.1f ms\n", o.status, o.ms);
  }
  expect_run(args, &o, 124, "looping\n");
  CHECK(!o.killed);
  CHECK(best >= 100.0 && best < 1000.0); /* ended by the deadline, not the 5 s limit */
  /* "zerohop: FILE: interrupted: ...", then the backtrace naming the loop's function. */
  char prefix[600];
  snprintf(prefix, sizeof prefix, "zerohop: %s: interrupted: ", loop);
  CHECK(strncmp(o.err, prefix, strlen(prefix)) == 0);
  CHECK(strstr(o.err, "100ms") != NULL);
  CHECK(strstr(o.err, "main") != NULL);

  /* The --opt=value form and a fractional duration. */
  const char *frac[] = {"run", "--timeout=0.15s", loop, NULL};
  run_opts_cli(frac, &(spawn_opts){.limit_ms = 5000}, &o);
  expect_run(frac, &o, 124, "looping\n");
  CHECK(o.ms >= 150.0);

  /* A guest blocked reading a pipe nobody writes: fd_read waits in slices that watch the
   * deadline, so it ends well before the CLI's backstop (deadline + 100 ms) would. */
  const char *blocked[] = {"run", "--timeout", "100ms", print, "stdin", NULL};
  best = 1e9;
  for (int attempt = 0; attempt < 3 && best >= 1000.0; attempt++) {
    run_opts_cli(blocked, &(spawn_opts){.stdin_pipe = true, .limit_ms = 5000}, &o);
    if (o.ms < best)
      best = o.ms;
  }
  printf("test_cli: --timeout 100ms on a guest blocked reading stdin: exit %d after %.1f ms\n",
         o.status, best);
  expect_run(blocked, &o, 124, "");
  /* Which path ended it shows in the message (the backstop names no host function); the time
   * only has to show it did not wait out the 10 s, however loaded the machine (ASan, CI). */
  CHECK(best >= 100.0 && best < 1000.0);
  CHECK(strstr(o.err, "interrupted") != NULL && strstr(o.err, "fd_read") != NULL);
  CHECK(count_lines(o.err) == 1);

  /* A guest asleep in poll_oneoff: the wait is cut into slices that watch the store's
   * deadline, so it ends well before the CLI's backstop (deadline + 100 ms) would. */
  const char *asleep[] = {"run", "--timeout", "100ms", print, "sleep", "10", NULL};
  best = 1e9;
  for (int attempt = 0; attempt < 3 && best >= 1000.0; attempt++) {
    run_opts_cli(asleep, &(spawn_opts){.limit_ms = 5000}, &o);
    if (o.ms < best)
      best = o.ms;
  }
  printf("test_cli: --timeout 100ms on a guest sleeping 10 s: exit %d after %.1f ms\n", o.status,
         best);
  expect_run(asleep, &o, 124, "");
  CHECK(best >= 100.0 && best < 1000.0);
  CHECK(strstr(o.err, "poll_oneoff") != NULL);

  /* A deadline that is not reached changes nothing, and costs no waiting at exit. */
  const char *quick[] = {"run", "--timeout", "1m", print, "exit", "0", NULL};
  run_cli(quick, &o);
  expect_run(quick, &o, 0, "exiting with 0\n");
  CHECK(o.ms < 2000.0);
}

/* ---- --max-memory ---- */

/* Parses "malloc: N KiB in B blocks, then WHAT" or "realloc: N bytes intact, then WHAT". */
static bool memory_result(const char *out, unsigned long *amount, char *what, size_t cap) {
  char w[32];
  unsigned long blocks;
  if (sscanf(out, "malloc: %lu KiB in %lu blocks, then %31[a-zA-Z ]", amount, &blocks, w) == 3 ||
      sscanf(out, "realloc: %lu bytes intact, then %31[a-zA-Z ]", amount, w) == 2) {
    snprintf(what, cap, "%s", w);
    return true;
  }
  return false;
}

static void test_max_memory(void) {
  outcome o;
  unsigned long capped = 0, free_run = 0;
  char what[32] = "";

  /* Within 1 MiB the guest's malloc fails cleanly; it says how far it got and exits 0. */
  const char *small[] = {"run", "--max-memory", "1MiB", memory, "malloc", "8192", NULL};
  run_cli(small, &o);
  expect_run(small, &o, 0, NULL);
  CHECK(memory_result(o.out, &capped, what, sizeof what));
  CHECK(strcmp(what, "NULL") == 0);
  CHECK(capped > 0 && capped < 1024);
  CHECK(o.nerr == 0);

  /* Without the flag the same guest reaches its own cap of 8 MiB. */
  const char *big[] = {"run", memory, "malloc", "8192", NULL};
  run_cli(big, &o);
  expect_run(big, &o, 0, "malloc: 8192 KiB in 128 blocks, then cap reached\n");
  CHECK(memory_result(o.out, &free_run, what, sizeof what) && free_run > capped);

  /* A bigger limit gets further than a smaller one; fractions and bare bytes parse. */
  unsigned long mid = 0;
  const char *two[] = {"run", "--max-memory=2097152", memory, "malloc", "8192", NULL};
  run_cli(two, &o);
  expect_run(two, &o, 0, NULL);
  CHECK(memory_result(o.out, &mid, what, sizeof what) && strcmp(what, "NULL") == 0);
  CHECK(mid > capped && mid < 2048);
  const char *half[] = {"run", "--max-memory", "1.5MiB", memory, "malloc", "8192", NULL};
  run_cli(half, &o);
  unsigned long between = 0;
  CHECK(memory_result(o.out, &between, what, sizeof what) && between > capped && between < mid);

  /* realloc growth: contents survive every move, and the failing realloc leaves the old
   * block intact. */
  const char *grow[] = {"run", "--max-memory", "2MiB", memory, "realloc", "8192", NULL};
  run_cli(grow, &o);
  expect_run(grow, &o, 0, NULL);
  unsigned long grown = 0;
  CHECK(memory_result(o.out, &grown, what, sizeof what));
  CHECK(strcmp(what, "NULL") == 0 && grown > 65536 && grown < 2u << 20);
  const char *grow_free[] = {"run", memory, "realloc", "8192", NULL};
  run_cli(grow_free, &o);
  expect_run(grow_free, &o, 0, "realloc: 7661292 bytes intact, then cap reached\n");

  /* A limit below what the module itself declares: it cannot be instantiated (exit 1). */
  const char *tiny[] = {"run", "--max-memory", "64KiB", memory, "malloc", "64", NULL};
  run_cli(tiny, &o);
  expect_run(tiny, &o, 1, "");
  CHECK(strncmp(o.err, "zerohop: ", 9) == 0 && count_lines(o.err) == 1);
  CHECK(strstr(o.err, "exceeds the limit") != NULL);

  /* Above 4 GiB means 4 GiB: wasm32 cannot address more. */
  const char *huge[] = {"run", "--max-memory", "64GiB", memory, "malloc", "64", NULL};
  run_cli(huge, &o);
  expect_run(huge, &o, 0, "malloc: 64 KiB in 1 blocks, then cap reached\n");
}

/* ---- ordinary programs ---- */

static void test_floats(void) {
  const char *args[] = {"run", print, "floats", NULL};
  outcome o;
  run_cli(args, &o);
  expect_run(args, &o, 0,
             "3.14 0.333333 2.500000e+00 1e-05\n"
             "0.10000000000000001 0.100000001 1e+301 1.235e+08\n"
             "-0 inf nan 2 0.1\n"
             "1.414213562373095 100000 0x1p+0\n");
  CHECK(o.nerr == 0);
}

static void test_env(void) {
  static const char *const host_env[] = {"ZH_CLI_HOST_VAR=from the host", NULL};
  const spawn_opts so = {.extra_env = host_env};
  outcome o;

  const char *own[] = {"run", "--env", "A=1", "--env=B=two words", print,
                       "env", "A",     "B",   "ZH_CLI_HOST_VAR",   NULL};
  run_opts_cli(own, &so, &o);
  expect_run(own, &o, 0, "A=1\nB=two words\nZH_CLI_HOST_VAR unset\n");

  const char *inherit[] = {"run", "--inherit-env", print, "env", "ZH_CLI_HOST_VAR", "A", NULL};
  run_opts_cli(inherit, &so, &o);
  expect_run(inherit, &o, 0, "ZH_CLI_HOST_VAR=from the host\nA unset\n");

  /* --env overrides the host's value (before or after --inherit-env) and an earlier --env. */
  const char *over[] = {"run",
                        "--env",
                        "ZH_CLI_HOST_VAR=mine",
                        "--inherit-env",
                        "--env",
                        "A=1",
                        "--env",
                        "A=2",
                        print,
                        "env",
                        "ZH_CLI_HOST_VAR",
                        "A",
                        NULL};
  run_opts_cli(over, &so, &o);
  expect_run(over, &o, 0, "ZH_CLI_HOST_VAR=mine\nA=2\n");

  /* Values may hold '=' and UTF-8. */
  const char *odd[] = {"run", "--env", "EQ=a=b=c", "--env", "U=\xc3\xa9t\xc3\xa9",
                       print, "env",   "EQ",       "U",     NULL};
  run_cli(odd, &o);
  expect_run(odd, &o, 0, "EQ=a=b=c\nU=\xc3\xa9t\xc3\xa9\n");
}

static void test_args(void) {
  /* UTF-8 in two, three and four bytes, spaces, an empty argument, option-like text. */
  const char *args[] = {"run",
                        print,
                        "args",
                        "h\xc3\xa9llo w\xc3\xb6rld",
                        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                        "\xf0\x9f\x8e\x89",
                        "",
                        "--timeout",
                        "-x",
                        NULL};
  outcome o;
  run_cli(args, &o);
  expect_run(args, &o, 0,
             "[h\xc3\xa9llo w\xc3\xb6rld]\n[\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e]\n"
             "[\xf0\x9f\x8e\x89]\n[]\n[--timeout]\n[-x]\n");
  /* After "--" even a name starting with '-' is the module... and a missing one fails. */
  const char *dashdash[] = {"run", "--", print, "args", "--help", NULL};
  run_cli(dashdash, &o);
  expect_run(dashdash, &o, 0, "[--help]\n");
}

static void test_exit(void) {
  static const struct {
    const char *code;
    int status;
  } cases[] = {{"3", 3}, {"0", 0}, {"1", 1}, {"125", 125}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *args[] = {"run", print, "exit", cases[i].code, NULL};
    char out[64];
    snprintf(out, sizeof out, "exiting with %s\n", cases[i].code);
    outcome o;
    run_cli(args, &o);
    expect_run(args, &o, cases[i].status, out);
    CHECK(o.nerr == 0); /* a guest's own exit is not an error of zerohop's */
  }
}

static void test_trap(void) {
  const char *args[] = {"run", print, "trap", NULL};
  outcome o;
  run_cli(args, &o);
  expect_run(args, &o, 134, "");
  char prefix[600];
  snprintf(prefix, sizeof prefix, "zerohop: %s: trap: unreachable", print);
  CHECK(strncmp(o.err, prefix, strlen(prefix)) == 0);
  /* The backtrace names the three functions, innermost first, then main. */
  const char *third = strstr(o.err, "'third_level'");
  const char *second = strstr(o.err, "'second_level'");
  const char *first = strstr(o.err, "'first_level'");
  const char *main_ = strstr(o.err, "'main'");
  if (!(third && second && first && main_ && third < second && second < first && first < main_))
    fprintf(stderr, "  trap backtrace:\n%s", o.err);
  CHECK(third && second && first && main_);
  CHECK(third < second && second < first && first < main_);
}

/* ---- misuse ---- */

static void test_misuse(void) {
  char file[128], missing[128];
  snprintf(file, sizeof file, "%s/a-file", dir);
  snprintf(missing, sizeof missing, "%s/no-such-dir", dir);
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  CHECK(fd >= 0);
  if (fd >= 0)
    close(fd);
  static char dir_guest_empty[160];
  snprintf(dir_guest_empty, sizeof dir_guest_empty, "%s::", dir);
  const struct {
    const char *args[8];
    const char *needle;
  } cases[] = {
      {{"run", "--frobnicate", print, NULL}, "unknown option '--frobnicate'"},
      {{"run", "--frobnicate=1", print, NULL}, "unknown option '--frobnicate'"},
      {{"run", "-x", print, NULL}, "unknown option '-x'"},
      {{"run", NULL}, "missing MODULE"},
      {{"run", "--env", "A=1", NULL}, "missing MODULE"},
      {{"run", "--timeout", NULL}, "'--timeout' needs a value"},
      {{"run", "--max-memory", NULL}, "'--max-memory' needs a value"},
      {{"run", "--env", NULL}, "'--env' needs a value"},
      {{"run", "--dir", NULL}, "'--dir' needs a value"},
      {{"run", "--timeout", "fast", print, NULL}, "bad duration 'fast'"},
      {{"run", "--timeout", "0", print, NULL}, "bad duration '0'"},
      {{"run", "--timeout", "0ms", print, NULL}, "bad duration '0ms'"},
      {{"run", "--timeout", "-5ms", print, NULL}, "bad duration '-5ms'"},
      {{"run", "--timeout", "1.s", print, NULL}, "bad duration '1.s'"},
      {{"run", "--timeout", "10 ms", print, NULL}, "bad duration '10 ms'"},
      {{"run", "--timeout", "5d", print, NULL}, "bad duration '5d'"},
      {{"run", "--timeout", "99999999999999999999s", print, NULL}, "bad duration"},
      {{"run", "--max-memory", "lots", print, NULL}, "bad size 'lots'"},
      {{"run", "--max-memory", "10MB", print, NULL}, "bad size '10MB'"},
      {{"run", "--max-memory", "-1", print, NULL}, "bad size '-1'"},
      {{"run", "--max-memory", "12KiB", print, NULL}, "less than one 64 KiB page"},
      {{"run", "--max-memory=0", print, NULL}, "less than one 64 KiB page"},
      {{"run", "--env", "NOEQUALS", print, NULL}, "KEY=VALUE"},
      {{"run", "--env", "=x", print, NULL}, "KEY=VALUE"},
      {{"run", "--inherit-env=yes", print, NULL}, "takes no value"},
      {{"run", "--invoke", "", print, NULL}, "needs a function name"},
      {{"run", "--dir", missing, print, NULL}, "No such file or directory"},
      {{"run", "--dir-ro", missing, print, NULL}, "No such file or directory"},
      {{"run", "--dir", file, print, NULL}, "not a directory"},
      {{"run", "--dir", "::/guest", print, NULL}, "neither part empty"},
      {{"run", "--dir-ro", dir_guest_empty, print, NULL}, "neither part empty"},
      {{"frobnicate", NULL}, "unknown command 'frobnicate'"},
      {{"help", "frobnicate", NULL}, "unknown command 'frobnicate'"},
      {{"--frobnicate", NULL}, "unknown option '--frobnicate'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    outcome o;
    run_cli(cases[i].args, &o);
    bool one_line = o.nerr > 9 && strncmp(o.err, "zerohop: ", 9) == 0 && count_lines(o.err) == 1 &&
                    o.err[o.nerr - 1] == '\n';
    bool has = strstr(o.err, cases[i].needle) != NULL;
    bool good = o.exited && o.status == 2 && o.nout == 0 && one_line && has;
    if (!good)
      fprintf(stderr, "  zerohop %s: %s %d, stdout %zu bytes, stderr:\n%s  (wanted \"%s\")\n",
              show_args(cases[i].args), o.exited ? "exit status" : "signal", o.status, o.nout,
              o.err, cases[i].needle);
    CHECK(good);
  }
}

static void test_help(void) {
  const char *help[] = {"help", "run", NULL};
  const char *dash[] = {"run", "--help", NULL};
  outcome a, b;
  run_cli(help, &a);
  run_cli(dash, &b);
  expect_run(help, &a, 0, NULL);
  expect_run(dash, &b, 0, a.out); /* the same text both ways */
  static const char *const needles[] = {
      "--dir HOST[::GUEST]",
      "--dir-ro",
      "--env KEY=VALUE",
      "--inherit-env",
      "--timeout DURATION",
      "--max-memory SIZE",
      "--invoke",
      "  0 ",
      "  1 ",
      "  2 ",
      "  124 ",
      "  134 ",
      "proc_exit",
  };
  for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
    if (!strstr(a.out, needles[i]))
      fprintf(stderr, "  zerohop help run does not mention \"%s\"\n", needles[i]);
    CHECK(strstr(a.out, needles[i]) != NULL);
  }
}

/* One --dir smoke test; the filesystem itself is tested with the WASI library. */
static void test_dir(void) {
  char file[128], spec[160];
  snprintf(file, sizeof file, "%s/greeting.txt", dir);
  FILE *f = fopen(file, "w");
  CHECK(f != NULL);
  if (f == NULL)
    return;
  fputs("hello from the host\n", f);
  fclose(f);
  snprintf(spec, sizeof spec, "%s::/data", dir);
  const char *args[] = {"run", "--dir-ro", spec, print, "cat", "/data/greeting.txt", NULL};
  outcome o;
  run_cli(args, &o);
  unlink(file);
  if (o.exited && o.status == 4 && strncmp(o.out, "no preopen", 10) == 0) {
    printf("test_cli: the WASI library has no preopened directories yet (%.*s); the --dir "
           "smoke test is skipped\n",
           (int)strcspn(o.out, "\n"), o.out);
    return;
  }
  expect_run(args, &o, 0, "hello from the host\n");
}

int main(void) {
  const char *b = getenv("ZH_BUILD");
  if (b && *b)
    build = b;
  snprintf(cli, sizeof cli, "%s/zerohop", build);
  snprintf(loop, sizeof loop, "%s/guests/cli_loop.wasm", build);
  snprintf(memory, sizeof memory, "%s/guests/cli_memory.wasm", build);
  snprintf(print, sizeof print, "%s/guests/cli_print.wasm", build);
  const char *need[] = {cli, loop, memory, print};
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
    if (access(need[i], R_OK) != 0) {
      fprintf(stderr, "test_cli: %s is not built (make all guests)\n", need[i]);
      CHECK(false);
      TEST_SUMMARY();
    }
  }
  snprintf(dir, sizeof dir, "/tmp/zh-cli-XXXXXX");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "test_cli: mkdtemp: %s\n", strerror(errno));
    CHECK(false);
    TEST_SUMMARY();
  }
  test_timeout();
  test_max_memory();
  test_floats();
  test_env();
  test_args();
  test_exit();
  test_trap();
  test_misuse();
  test_help();
  test_dir();
  char file[128];
  snprintf(file, sizeof file, "%s/a-file", dir);
  unlink(file);
  if (rmdir(dir) != 0)
    fprintf(stderr, "test_cli: cannot remove %s: %s\n", dir, strerror(errno));
  TEST_SUMMARY();
}
