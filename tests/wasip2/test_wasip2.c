/* The WASI 0.2 host through a real guest: tests/wasip2/guest_cli.c is built at test time
 * from `zerohop bindgen c` bindings of world zh:wp2test/cli (tests/wasip2/wit, with the hosted
 * WIT of wit/deps as its dependencies), bound with zh_component and zh_wasip2_define_component,
 * and each case runs its `run(which)` export in a fresh store and context. Covers
 * wasi:cli (arguments, environment, stdio, exit codes), wasi:io (streams semantics, poll
 * with several timers, the store deadline ending a poll), clocks, random and the sockets
 * defaults. Needs clang with the wasm32-wasi sysroot. */
#include "testlib.h"
#include "testutil.h"
#include "wasip2/wasip2_internal.h"
#include "wit/guest_build.h"
#include "zerohop/wasip2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static zh_engine *engine;

static uint64_t wp2_test_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
static zh_module *cli_module;
static zh_wit *cli_wit;

/* Copies the test world and the hosted WIT into tmp/wit (deps/ next to the world). */
static bool stage_wit(void) {
  return run("mkdir -p %s/wit/deps && cp tests/wasip2/wit/*.wit %s/wit/ && cp wit/deps/*.wit "
             "%s/wit/deps/",
             tmp, tmp, tmp) == 0;
}

typedef struct outcome {
  zh_error *err;
  int32_t rc;
  zh_wasip2_ctx *cx;
  size_t handles;
} outcome;

static void outcome_free(outcome *o) {
  zh_error_free(o->err);
  zh_wasip2_free(o->cx);
}

/* Runs `which` in a fresh store with `config` (NULL: stdout and stderr captured, nothing
 * else). `timeout_ms` arms the store's deadline. */
static outcome run_case(const zh_wasip2_config *config, const char *which, uint64_t timeout_ms) {
  outcome o = {0};
  zh_wasip2_config def = {0};
  def.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  def.stdio[2].kind = ZH_WASI_STDIO_CAPTURE;
  zh_store *store = NULL;
  zh_component *comp = NULL;
  const zh_wit_world *world = zh_wit_find_world(zh_wit_root(cli_wit), "cli");
  o.cx = zh_wasip2_new(config ? config : &def, &o.err);
  if (!o.err)
    o.err = zh_store_new(engine, &store);
  if (!o.err)
    o.err = zh_component_new(store, cli_module, world, &comp);
  if (!o.err)
    o.err = zh_wasip2_define_component(comp, o.cx);
  if (!o.err)
    o.err = zh_component_instantiate(comp, NULL, 0);
  if (!o.err) {
    zh_val arg, res;
    zh_val_string_cstr(&arg, which);
    if (timeout_ms)
      zh_store_set_timeout(store, timeout_ms * 1000000u);
    o.err = zh_component_call(comp, NULL, "run", &arg, 1, &res);
    zh_val_drop(&arg);
    if (!o.err)
      o.rc = (int32_t)res.of.s;
    zh_val_drop(&res);
    o.handles = zh_component_handle_count(comp);
  }
  zh_component_free(comp);
  zh_store_free(store);
  return o;
}

static const char *out_of(const outcome *o) {
  size_t n;
  return o->cx ? zh_wasip2_stdout_captured(o->cx, &n) : "";
}

static void check_ok(const outcome *o, const char *which) {
  if (o->err)
    fprintf(stderr, "%s: %s\n", which, zh_error_message(o->err));
  CHECK(o->err == NULL);
}

static void check_out(const outcome *o, const char *want) {
  const char *got = out_of(o);
  if (strcmp(got, want) != 0)
    fprintf(stderr, "stdout: got \"%s\", want \"%s\"\n", got, want);
  CHECK(strcmp(got, want) == 0);
}

static void test_args_env(void) {
  const char *argv[] = {"prog", "one", "two words"};
  const char *env[] = {"A=1", "B=x=y", "EMPTY="};
  zh_wasip2_config c = {0};
  c.argv = argv;
  c.argc = 3;
  c.env = env;
  c.envc = 3;
  c.initial_cwd = "/work";
  c.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  outcome o = run_case(&c, "args", 0);
  check_ok(&o, "args");
  CHECK_EQ_INT(o.rc, 0);
  check_out(&o, "prog|one|two words|\nA=1|B=x=y|EMPTY=|\n/work\n");
  outcome_free(&o);
  o = run_case(NULL, "args", 0); /* nothing configured: nothing seen */
  check_ok(&o, "args (empty)");
  check_out(&o, "\n\n(none)\n");
  outcome_free(&o);
}

static void test_stdio(void) {
  outcome o = run_case(NULL, "stderr", 0);
  check_ok(&o, "stderr");
  size_t n;
  const char *e = o.cx ? zh_wasip2_stderr_captured(o.cx, &n) : "";
  CHECK(strcmp(e, "to stderr\n") == 0);
  check_out(&o, "");
  outcome_free(&o);

  /* stdin from a buffer, read 7 bytes at a time */
  const char *text = "line one\nline two\nthree";
  zh_wasip2_config c = {0};
  c.stdio[0] = (zh_wasi_stdio){ZH_WASI_STDIO_BUFFER, -1, (const uint8_t *)text, strlen(text)};
  c.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  o = run_case(&c, "stdin", 0);
  check_ok(&o, "stdin");
  CHECK_EQ_INT(o.rc, (int)strlen(text));
  check_out(&o, text);
  outcome_free(&o);

  /* stdin from a host pipe, written by the test */
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "piped bytes", 11) == 11);
  close(p[1]);
  c.stdio[0] = (zh_wasi_stdio){ZH_WASI_STDIO_HOST_FD, p[0], NULL, 0};
  o = run_case(&c, "stdin", 0);
  check_ok(&o, "stdin pipe");
  CHECK_EQ_INT(o.rc, 11);
  check_out(&o, "piped bytes");
  outcome_free(&o);
  close(p[0]);

  /* null stdin is closed at once */
  o = run_case(NULL, "stdin", 0);
  CHECK_EQ_INT(o.rc, 0);
  outcome_free(&o);
}

static void test_exit(void) {
  outcome o = run_case(NULL, "exit", 0);
  CHECK(o.err && zh_error_status(o.err) == ZH_ERR_EXIT);
  CHECK_EQ_INT(o.err ? zh_error_exit_code(o.err) : -1, 42);
  outcome_free(&o);
  o = run_case(NULL, "exit-err", 0);
  CHECK(o.err && zh_error_status(o.err) == ZH_ERR_EXIT);
  CHECK_EQ_INT(o.err ? zh_error_exit_code(o.err) : -1, 1);
  outcome_free(&o);
}

static void test_streams(void) {
  zh_wasip2_config c = {0};
  c.stdio[0] = (zh_wasi_stdio){ZH_WASI_STDIO_BUFFER, -1, (const uint8_t *)"0123456789", 10};
  c.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  outcome o = run_case(&c, "streams", 0);
  check_ok(&o, "streams");
  CHECK_EQ_INT(o.rc, 0);
  size_t n = 0;
  const char *s = o.cx ? zh_wasip2_stdout_captured(o.cx, &n) : "";
  const char want[] = "budget=65536\nhello\0\0"
                      "0123456789\nspliced=10\n";
  CHECK_EQ_INT(n, sizeof want - 1);
  CHECK(n == sizeof want - 1 && memcmp(s, want, n) == 0);
  outcome_free(&o);

  o = run_case(NULL, "overwrite", 0);
  CHECK(o.err && zh_error_status(o.err) == ZH_ERR_TRAP);
  CHECK(o.err && strstr(zh_error_message(o.err), "exceeds the 65536 bytes check-write permitted"));
  check_out(&o, ""); /* nothing of the refused write went out */
  outcome_free(&o);

  o = run_case(NULL, "big-blocking-write", 0);
  CHECK(o.err && zh_error_status(o.err) == ZH_ERR_TRAP);
  CHECK(o.err && strstr(zh_error_message(o.err), "at most 4096"));
  outcome_free(&o);

  c.stdio[0] = (zh_wasi_stdio){ZH_WASI_STDIO_BUFFER, -1, (const uint8_t *)"0123456789", 10};
  o = run_case(&c, "skip", 0);
  check_out(&o, "skip=3 blocking_skip=7 then=closed\n");
  outcome_free(&o);

  /* a capture limit makes the write fail: last-operation-failed, then closed */
  c.capture_limit = 8;
  o = run_case(&c, "streams", 0);
  CHECK_EQ_INT(o.rc, 2); /* "budget=65536" failed; the stream is closed for "hello" */
  outcome_free(&o);
}

static void test_poll(void) {
  outcome o = run_case(NULL, "poll", 0);
  check_ok(&o, "poll");
  check_out(&o, "first=1 second=0 ready2=no first_ms_ok=yes second_ms_ok=yes\n");
  CHECK_EQ_INT(o.handles, 0); /* the guest dropped every pollable and stream */
  outcome_free(&o);

  o = run_case(NULL, "poll-empty", 0);
  CHECK(o.err && zh_error_status(o.err) == ZH_ERR_TRAP);
  CHECK(o.err && strstr(zh_error_message(o.err), "poll on an empty list"));
  outcome_free(&o);

  uint64_t t0 = wp2_test_now_ms();
  o = run_case(NULL, "poll-forever", 100);
  uint64_t took = wp2_test_now_ms() - t0;
  CHECK(o.err && zh_error_status(o.err) == ZH_ERR_INTERRUPTED);
  if (took > 2000)
    fprintf(stderr, "poll-forever took %llu ms\n", (unsigned long long)took);
  CHECK(took < 2000);
  outcome_free(&o);
}

static void test_clocks_random(void) {
  outcome o = run_case(NULL, "clocks", 0);
  check_ok(&o, "clocks");
  const char *s = out_of(&o);
  CHECK(strncmp(s, "mono_ok=yes wall_s=", 19) == 0);
  long long secs = atoll(s + 19);
  CHECK(secs > 1700000000LL && llabs(secs - (long long)time(NULL)) < 5);
  CHECK(strstr(s, " wall_ns_ok=yes instant_ok=yes\n") != NULL);
  outcome_free(&o);

  o = run_case(NULL, "random", 0);
  check_ok(&o, "random");
  check_out(&o, "len=32 ilen=16 nonzero_ok=yes u64_differ=yes seed_same=yes\n");
  outcome_free(&o);
}

static void test_sockets(void) {
  outcome o = run_case(NULL, "sockets", 0);
  check_ok(&o, "sockets");
  check_out(&o, "tcp=1 udp=1 lookup=1\n"); /* access-denied everywhere */
  outcome_free(&o);

  const char *allow[] = {"localhost:*"};
  zh_wasip2_config c = {0};
  c.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  c.net_allow = allow;
  c.nnet_allow = 1;
  o = run_case(&c, "sockets", 0);
  check_ok(&o, "sockets allowed");
  const char *s = out_of(&o);
  /* the lookup is allowed now (loopback, v4 or v6) and a TCP socket is created (99); UDP
   * stays denied */
  CHECK(strcmp(s, "tcp=99 udp=1 lookup=127.1\n") == 0 ||
        strcmp(s, "tcp=99 udp=1 lookup=v6\n") == 0);
  outcome_free(&o);
}

/* The tree tests/wasi/test_wasi_fs.c builds for the preview1 escape tests: TOP/sentinel and
 * TOP/outside beside the preopens sandbox (file f, dirs a and sub, symlinks abs ->
 * /etc/passwd, chain1 -> sub/chain2 -> ../../outside, loop -> loop, inner -> sub), other and
 * ro (file). */
static void make_tree(const char *top) {
  CHECK(run("rm -rf %s && mkdir -p %s/sandbox/a %s/sandbox/sub %s/other %s/ro && "
            "echo 'keep me' > %s/sentinel && echo outside > %s/outside && echo f > %s/sandbox/f "
            "&& echo ro > %s/ro/file && ln -s /etc/passwd %s/sandbox/abs && "
            "ln -s sub/chain2 %s/sandbox/chain1 && ln -s ../../outside %s/sandbox/sub/chain2 && "
            "ln -s loop %s/sandbox/loop && ln -s sub %s/sandbox/inner",
            top, top, top, top, top, top, top, top, top, top, top, top, top, top) == 0);
}

static outcome run_fs(const char *top, const char *which) {
  char sb[128], other[128], ro[128];
  snprintf(sb, sizeof sb, "%s/sandbox", top);
  snprintf(other, sizeof other, "%s/other", top);
  snprintf(ro, sizeof ro, "%s/ro", top);
  zh_wasi_preopen pre[3] = {
      {sb, -1, "/sandbox", false}, {other, -1, "/other", false}, {ro, -1, "/ro", true}};
  zh_wasip2_config c = {0};
  c.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  c.preopens = pre;
  c.npreopens = 3;
  return run_case(&c, which, 0);
}

static void test_fs(void) {
  char top[128];
  snprintf(top, sizeof top, "%s/fs", tmp);
  make_tree(top);
  outcome o = run_fs(top, "fs");
  check_ok(&o, "fs");
  check_out(&o, "preopens=/sandbox,/other,/ro,\n"
                "size=8 type=6 mtime=some read@6=fs eof stream=hello fs!!\n"
                "mkdir=ok\nmkdir_again=7\nrename=ok\nstat_at_size=10\nmissing=20\n"
                "readdir=a,abs,chain1,d,f,inner,loop,sub,\nunlink=ok\nrmdir=ok\n");
  outcome_free(&o);

  make_tree(top);
  o = run_fs(top, "fs-escape");
  check_ok(&o, "fs-escape");
  /* not-permitted 31, loop 15, cross-device 36, read-only 33, bad-descriptor 3 */
  check_out(&o, "dotdot_create=31\nnested_dotdot=31\ndotdot_sentinel=31\nabsolute=31\n"
                "proc_self_cwd=31\nstat_dotdot=31\nmkdir_dotdot=31\nunlink_dotdot=31\n"
                "abs_symlink=31\nabs_symlink_dir=31\nchain_out=31\nchain_out_create=31\n"
                "loop=15\nmake_abs_symlink=31\nmake_up_symlink=ok\nfollow_up_symlink=31\n"
                "rename_out=31\nrename_in=31\nrename_across=36\nlink_out=31\n"
                "inside_dotdot=ok\ninside_link=ok\na_dotdot=31\nro_create=33\nro_write=33\n"
                "ro_write_stream=3\nro_mkdir=33\nro_unlink=33\n");
  outcome_free(&o);
  /* nothing outside the preopens changed */
  CHECK(run("test \"$(cat %s/sentinel)\" = 'keep me' && test \"$(cat %s/outside)\" = outside && "
            "test ! -e %s/x && test ! -e %s/d && test ! -e %s/f && test ! -e %s/lnk && "
            "test \"$(ls %s/ro)\" = file && test \"$(ls %s/other)\" = ''",
            top, top, top, top, top, top, top, top) == 0);
}

/* The same guest built against the released 0.2.3 and 0.2.6 WIT (../shared/reference): the
 * host serves every 0.2.x interface with the same functions. */
static void test_versions(const char *cli) {
  static const char *const versions[] = {"0.2.3", "0.2.6"};
  for (size_t v = 0; v < 2; v++) {
    const char *ver = versions[v];
    char dir[128], name[32];
    snprintf(dir, sizeof dir, "%s/wit-%s", tmp, ver);
    snprintf(name, sizeof name, "cli-%s", ver);
    bool staged =
        run("mkdir -p %s/deps && sed 's/@0\\.2\\.12/@%s/g' tests/wasip2/wit/test.wit > %s/test.wit "
            "&& for p in cli clocks filesystem http io random sockets; do "
            "cp -r ../shared/reference/spin-wit/deps/$p@%s %s/deps/; done",
            dir, ver, dir, ver, dir) == 0;
    CHECK(staged);
    zh_module *m = NULL;
    zh_wit *w = NULL;
    if (!staged || !build_guest(cli, dir, "cli", name, "tests/wasip2", "guest_cli", "") ||
        !(m = load_module(engine, name)))
      continue;
    zh_error *err = zh_wit_load_dir(dir, &w);
    CHECK(err == NULL);
    zh_error_free(err);
    zh_module *saved_m = cli_module;
    zh_wit *saved_w = cli_wit;
    cli_module = m;
    cli_wit = w;
    if (w) {
      outcome o = run_case(NULL, "random", 0);
      check_ok(&o, ver);
      check_out(&o, "len=32 ilen=16 nonzero_ok=yes u64_differ=yes seed_same=yes\n");
      outcome_free(&o);
      o = run_case(NULL, "poll", 0);
      check_ok(&o, ver);
      check_out(&o, "first=1 second=0 ready2=no first_ms_ok=yes second_ms_ok=yes\n");
      outcome_free(&o);
      o = run_case(NULL, "exit", 0);
      CHECK_EQ_INT(o.err ? zh_error_exit_code(o.err) : -1, 42);
      outcome_free(&o);
    }
    cli_module = saved_m;
    cli_wit = saved_w;
    zh_wit_free(w);
    zh_module_free(m);
  }
}

/* A world whose wasi:random differs from the hosted WIT is refused at definition, with the
 * import and both types named. */
static void test_mismatch(void) {
  const char *text = "package zh:bad;\n"
                     "world w { import wasi:random/random@0.2.9; }\n"
                     "package wasi:random@0.2.9 {\n"
                     "  interface random { get-random-u64: func() -> u32; }\n"
                     "}\n";
  zh_wit *w = NULL;
  zh_error *err = zh_wit_parse_string("bad.wit", text, &w);
  CHECK(err == NULL);
  zh_error_free(err);
  zh_store *store = NULL;
  zh_component *comp = NULL;
  zh_wasip2_ctx *cx = zh_wasip2_new(NULL, &err);
  if (w && !zh_store_new(engine, &store) &&
      !zh_component_new(store, cli_module, zh_wit_find_world(zh_wit_find_package(w, "zh:bad"), "w"),
                        &comp)) {
    err = zh_wasip2_define_component(comp, cx);
    CHECK(err && zh_error_status(err) == ZH_ERR_UNLINKABLE);
    const char *want = "import wasi:random/random@0.2.9#get-random-u64: result is u32, the "
                       "host's WASI 0.2 returns u64";
    if (err && strcmp(zh_error_message(err), want) != 0)
      fprintf(stderr, "got: %s\n", zh_error_message(err));
    CHECK(err && strcmp(zh_error_message(err), want) == 0);
    zh_error_free(err);
  }
  zh_component_free(comp);
  zh_store_free(store);
  zh_wasip2_free(cx);
  zh_wit_free(w);
}

/* ---- TCP: an echo server on a loopback port the kernel picks, one connection ---- */

typedef struct echo_server {
  int fd, port;
  pthread_t thread;
} echo_server;

static void *echo_main(void *arg) {
  echo_server *e = arg;
  int c = accept(e->fd, NULL, NULL);
  if (c < 0)
    return NULL;
  char buf[256];
  size_t n = 0;
  while (n < sizeof buf && (n == 0 || buf[n - 1] != '\n')) {
    ssize_t r = read(c, buf + n, sizeof buf - n);
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  char reply[300];
  int k = snprintf(reply, sizeof reply, "echo:%.*s", (int)n, buf);
  ssize_t w = write(c, reply, (size_t)k);
  (void)w;
  close(c);
  return NULL;
}

static int listen_loopback(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &al) != 0)
    return -1;
  *port = ntohs(a.sin_port);
  return fd;
}

static void test_tcp(void) {
  echo_server e;
  e.fd = listen_loopback(&e.port);
  CHECK(e.fd >= 0 && pthread_create(&e.thread, NULL, echo_main, &e) == 0);
  char which[32], exact[32], other[32];
  snprintf(which, sizeof which, "tcp %d", e.port);
  snprintf(exact, sizeof exact, "127.0.0.1:%d", e.port);
  snprintf(other, sizeof other, "127.0.0.1:%d", e.port == 1 ? 2 : 1);
  zh_wasip2_config c = {0};
  c.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;

  outcome o = run_case(&c, which, 0); /* no grant: access-denied at creation */
  check_out(&o, "create=1\n");
  outcome_free(&o);
  const char *wrong[] = {other}; /* a grant for another port: access-denied at connect */
  c.net_allow = wrong;
  c.nnet_allow = 1;
  o = run_case(&c, which, 0);
  check_out(&o, "connect=1\n");
  outcome_free(&o);
  const char *right[] = {exact};
  c.net_allow = right;
  o = run_case(&c, which, 5000);
  check_ok(&o, "tcp");
  check_out(&o, "connect=ok remote_port_ok=yes echo=echo:hello\n\n");
  outcome_free(&o);
  pthread_join(e.thread, NULL);
  close(e.fd);

  /* allowed, but nothing listens: connection-refused (14) from finish-connect */
  int port;
  int fd = listen_loopback(&port);
  close(fd);
  snprintf(which, sizeof which, "tcp %d", port);
  const char *any[] = {"*"};
  c.net_allow = any;
  o = run_case(&c, which, 5000);
  check_out(&o, "finish=14\n");
  outcome_free(&o);
}

/* A context's first small objects come from its arena, zeroed, and the rest from the heap
 * once it is full; wp2_obj_free frees only the latter (the ASan build checks both). */
static void test_obj_arena(void) {
  zh_error *err = NULL;
  zh_wasip2_ctx *cx = zh_wasip2_new(NULL, &err);
  CHECK(cx && !err);
  zh_error_free(err);
  if (!cx)
    return;
  uint8_t *objs[40];
  size_t in_arena = 0;
  for (size_t i = 0; i < 40; i++) {
    objs[i] = wp2_obj_zalloc(cx, 24);
    CHECK(objs[i] != NULL);
    bool zero = true;
    for (size_t k = 0; objs[i] && k < 24; k++)
      zero = zero && objs[i][k] == 0;
    CHECK(zero);
    if (objs[i])
      memset(objs[i], 0xab, 24); /* the next ones must not overlap: checked below */
    uintptr_t a = (uintptr_t)objs[i], lo = (uintptr_t)cx->arena;
    in_arena += a >= lo && a < lo + sizeof cx->arena;
  }
  CHECK_EQ_INT(in_arena, WP2_ARENA / 32); /* 24 bytes take 32 of the arena */
  for (size_t i = 0; i < 40; i++) {
    bool intact = true;
    for (size_t k = 0; objs[i] && k < 24; k++)
      intact = intact && objs[i][k] == 0xab;
    CHECK(intact);
    wp2_obj_free(cx, objs[i]);
  }
  zh_wasip2_free(cx);
}

int main(void) {
  const char *build = zh_test_build_dir();
  char cli[256];
  snprintf(cli, sizeof cli, "%s/zerohop", build);
  strcpy(tmp, "/tmp/zh_wasip2_XXXXXX");
  if (!mkdtemp(tmp))
    return 1;
  CHECK(stage_wit());
  test_obj_arena();
  char wit[128];
  snprintf(wit, sizeof wit, "%s/wit", tmp);
  zh_error *err = zh_engine_new(NULL, &engine);
  CHECK(err == NULL);
  if (build_guest(cli, wit, "cli", "cli", "tests/wasip2", "guest_cli", "") &&
      (cli_module = load_module(engine, "cli")) != NULL) {
    err = zh_wit_load_dir(wit, &cli_wit);
    if (err)
      fprintf(stderr, "%s\n", zh_error_message(err));
    CHECK(err == NULL);
    zh_error_free(err);
    if (cli_wit) {
      test_args_env();
      test_stdio();
      test_exit();
      test_streams();
      test_poll();
      test_clocks_random();
      test_sockets();
      test_fs();
      test_tcp();
      test_mismatch();
      test_versions(cli);
    }
  }
  zh_wit_free(cli_wit);
  zh_module_free(cli_module);
  zh_engine_free(engine);
  run("rm -rf %s", tmp);
  TEST_SUMMARY();
}
