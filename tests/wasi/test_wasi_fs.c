/* WASI filesystem capabilities and the rest of preview1, end to end: guests from
 * tests/guests/wasi_fs_*.c run against host directories set up here. Escape attempts
 * must each fail with the exact errno and leave everything outside the preopens alone.
 * Needs `make guests`; the build directory comes from $ZH_BUILD (default "build"). */
#include "testlib.h"
#include "zerohop/engine.h"
#include "zerohop/wasi.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *build_dir;

typedef struct outcome {
  zh_status status;
  int exit_code;
  char *out, *err;
} outcome;

static void outcome_free(outcome *o) {
  free(o->out);
  free(o->err);
}

static char *copy_text(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p != NULL) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

static uint8_t *load(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
  if (b != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* Runs build/guests/NAME.wasm with `cfg` (stdout/stderr captured); false when the guest
 * could not even be set up. */
static bool run(const char *name, zh_wasi_config cfg, outcome *o) {
  memset(o, 0, sizeof *o);
  char path[512];
  snprintf(path, sizeof path, "%s/guests/%s.wasm", build_dir, name);
  size_t len = 0;
  uint8_t *bytes = load(path, &len);
  if (bytes == NULL) {
    fprintf(stderr, "cannot read %s (run `make guests`)\n", path);
    CHECK(!"guest missing");
    return false;
  }
  cfg.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  cfg.stdio[2].kind = ZH_WASI_STDIO_CAPTURE;
  zh_engine *engine = NULL;
  zh_module *module = NULL;
  zh_store *store = NULL;
  zh_wasi_ctx *ctx = NULL;
  zh_extern *imports = NULL;
  zh_instance *inst = NULL;
  zh_error *err = zh_engine_new(NULL, &engine);
  if (err == NULL)
    err = zh_module_new(engine, bytes, len, path, &module);
  if (err == NULL)
    ctx = zh_wasi_new(&cfg, &err);
  if (err == NULL)
    err = zh_store_new(engine, &store);
  if (err == NULL) {
    imports = calloc(zh_module_import_count(module) + 1, sizeof *imports);
    err = zh_wasi_link(ctx, store, module, imports);
  }
  if (err == NULL)
    err = zh_instance_new(store, module, imports, zh_module_import_count(module), &inst);
  bool ok = err == NULL;
  if (ok) {
    zh_store_set_timeout(store, 20ull * 1000000000ull);
    err = zh_func_call(store, zh_instance_func(inst, "_start"), NULL, 0, NULL, 0);
  } else {
    fprintf(stderr, "%s: setup failed: %s\n", name, zh_error_message(err));
    CHECK(!"guest setup");
  }
  o->status = err ? zh_error_status(err) : ZH_OK;
  o->exit_code = err && o->status == ZH_ERR_EXIT ? zh_error_exit_code(err) : 0;
  if (err != NULL && o->status != ZH_ERR_EXIT)
    fprintf(stderr, "%s: %s\n", name, zh_error_message(err));
  zh_error_free(err);
  if (ctx != NULL) {
    size_t n;
    const char *s = zh_wasi_stdout_captured(ctx, &n);
    o->out = copy_text(s, n);
    s = zh_wasi_stderr_captured(ctx, &n);
    o->err = copy_text(s, n);
  }
  if (store)
    zh_store_free(store);
  zh_wasi_free(ctx);
  if (module)
    zh_module_free(module);
  if (engine)
    zh_engine_free(engine);
  free(imports);
  free(bytes);
  return ok;
}

static void check_text(const char *what, const char *got, const char *want) {
  bool same = got != NULL && strcmp(got, want) == 0;
  if (!same)
    fprintf(stderr, "%s: output differs\n--- got:\n%s--- want:\n%s---\n", what,
            got ? got : "(null)\n", want);
  CHECK(same);
}

/* ---- host fixtures ---- */

static void put(const char *dir, const char *name, const char *text) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  CHECK(f != NULL);
  if (f != NULL) {
    fputs(text, f);
    fclose(f);
  }
}

static void sub(char *out, size_t size, const char *dir, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_tree(const char *p) { nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* "name,name,..." of a directory, sorted, without "." and "..". */
static void listing(const char *dir, char *out, size_t size) {
  struct dirent **ents;
  int n = scandir(dir, &ents, NULL, alphasort);
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(ents[i]->d_name, ".") != 0 && strcmp(ents[i]->d_name, "..") != 0) {
      strncat(out, ents[i]->d_name, size - strlen(out) - 2);
      strcat(out, ",");
    }
    free(ents[i]);
  }
  if (n >= 0)
    free(ents);
}

static char *slurp(const char *path) {
  size_t n = 0;
  uint8_t *b = load(path, &n);
  char *s = b ? copy_text((const char *)b, n) : NULL;
  free(b);
  return s;
}

/* ---- escapes ---- */

static void test_escapes(void) {
  char top[] = "/tmp/zh-wasi-fs-XXXXXX";
  CHECK(mkdtemp(top) != NULL);
  char sb[600], other[600], ro[600], p[700], q[700];
  sub(sb, sizeof sb, top, "sandbox");
  sub(other, sizeof other, top, "other");
  sub(ro, sizeof ro, top, "ro");
  CHECK(mkdir(sb, 0755) == 0 && mkdir(other, 0755) == 0 && mkdir(ro, 0755) == 0);
  put(top, "sentinel", "keep me\n");
  put(top, "outside", "outside\n");
  put(sb, "f", "inside\n");
  put(ro, "file", "read only\n");
  sub(p, sizeof p, sb, "a");
  CHECK(mkdir(p, 0755) == 0);
  sub(p, sizeof p, sb, "sub");
  CHECK(mkdir(p, 0755) == 0);
  sub(p, sizeof p, sb, "abs");
  CHECK(symlink("/etc/passwd", p) == 0);
  sub(p, sizeof p, sb, "chain1");
  CHECK(symlink("sub/chain2", p) == 0);
  sub(p, sizeof p, sb, "sub/chain2");
  CHECK(symlink("../../outside", p) == 0);
  sub(p, sizeof p, sb, "loop");
  CHECK(symlink("loop", p) == 0);
  sub(p, sizeof p, sb, "inner");
  CHECK(symlink("sub", p) == 0);
  char before[1024], ro_before[1024], other_before[1024];
  listing(top, before, sizeof before);
  listing(ro, ro_before, sizeof ro_before);
  listing(other, other_before, sizeof other_before);

  zh_wasi_preopen pre[3] = {
      {sb, -1, "/sandbox", false}, {NULL, -1, "/other", false}, {ro, -1, "/ro", true}};
  int ofd = open(other, O_RDONLY | O_DIRECTORY); /* a caller-kept descriptor, duplicated */
  pre[1].host_fd = ofd;
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.preopens = pre;
  cfg.npreopens = 3;
  outcome o;
  if (run("wasi_fs_escape", cfg, &o)) {
    CHECK_EQ_INT(o.status, ZH_OK);
    /* NOTCAPABLE (76) for every way out; XDEV (75) between two preopens; LOOP (32) for a
     * self-referencing link and for a final symlink opened without SYMLINK_FOLLOW. */
    check_text("wasi_fs_escape", o.out,
               "dotdot_create=76\n"
               "nested_dotdot=76\n"
               "dotdot_sentinel=76\n"
               "absolute=76\n"
               "proc_self_cwd=76\n"
               "proc_relative=44\n"
               "stat_dotdot=76\n"
               "mkdir_dotdot=76\n"
               "unlink_dotdot=76\n"
               "rmdir_up=76\n"
               "abs_symlink=76\n"
               "abs_symlink_dir=76\n"
               "chain_out=76\n"
               "chain_out_create=76\n"
               "loop=32\n"
               "nofollow_link=32\n"
               "make_abs_symlink=76\n"
               "make_up_symlink=0\n"
               "follow_up_symlink=76\n"
               "remove_up_symlink=0\n"
               "rename_out=76\n"
               "rename_in=76\n"
               "rename_across=75\n"
               "rename_via_link=76\n"
               "link_out=76\n"
               "link_in=76\n"
               "link_across=75\n"
               "link_follow_abs=76\n"
               "inside_dotdot=0\n"
               "inside_link=0\n"
               "dot=0\n"
               "readlink_abs=0 /etc/passwd\n"
               "open_a=0\n"
               "a_dotdot=76\n"
               "a_close=0\n"
               "ro_create=76\n"
               "ro_trunc=76\n"
               "ro_mkdir=76\n"
               "ro_unlink=76\n"
               "ro_rename=76\n"
               "ro_symlink=76\n"
               "ro_open_read=0\n"
               "ro_write=76\n"
               "ro_set_size=76\n"
               "ro_rights_up=76\n"
               "fd_6=8\n"
               "fd_big=8\n");
    outcome_free(&o);
  }
  close(ofd);

  /* Nothing outside the sandbox changed: same names, same sentinel, same read-only tree. */
  char after[1024];
  listing(top, after, sizeof after);
  check_text("outside listing", after, before);
  char *s = slurp((sub(q, sizeof q, top, "sentinel"), q));
  check_text("sentinel", s ? s : "", "keep me\n");
  free(s);
  listing(ro, after, sizeof after);
  check_text("read-only listing", after, ro_before);
  listing(other, after, sizeof after);
  check_text("other listing", after, other_before);
  s = slurp((sub(q, sizeof q, ro, "file"), q));
  check_text("read-only file", s ? s : "", "read only\n");
  free(s);
  rm_tree(top);
}

/* ---- trees, files, large files ---- */

#define TREE_HEAD                                                                                  \
  "mkdir=0\n"                                                                                      \
  "mkdir_nested=0\n"                                                                               \
  "mkdir_again=-1 errno=1\n"                                                                       \
  "entries=6\n"                                                                                    \
  "tiny_readdir=8 partial>0=1\n"                                                                   \
  "rename_file=0\n"                                                                                \
  "rename_dir=0\n"                                                                                 \
  "moved_content=content 0\n"                                                                      \
  "rmdir_nonempty=-1 notempty=1\n"                                                                 \
  "unlink_dir=1\n"                                                                                 \
  "symlink=0\n"                                                                                    \
  "readlink=sub2/moved\n"                                                                          \
  "stat_follow=0 size=10\n"                                                                        \
  "lstat_link=0 islnk=1\n"                                                                         \
  "unlink_link=0\n"                                                                                \
  "removed_tree=0\n"                                                                               \
  "gone=1\n"                                                                                       \
  "write=10\n"                                                                                     \
  "tell=10\n"                                                                                      \
  "seek_set=2\n"                                                                                   \
  "read=3 234\n"                                                                                   \
  "pread=2 89\n"                                                                                   \
  "pwrite=2\n"                                                                                     \
  "tell_after=5\n"                                                                                 \
  "ftruncate=0\n"                                                                                  \
  "size=4\n"                                                                                       \
  "futimens=0\n"                                                                                   \
  "mtime=1200000000.7\n"                                                                           \
  "seek_neg=-1 einval=1\n"
#define TREE_TAIL                                                                                  \
  "unlink_file=0\n"                                                                                \
  "unlink_missing=-1 enoent=1\n"                                                                   \
  "open_missing_dir=-1 enoent=1\n"                                                                 \
  "file_slash=-1 enotdir=1\n"                                                                      \
  "file_as_dir=-1 enotdir=1\n"                                                                     \
  "dir_via_dotdot=1\n"

static void test_tree(void) {
  char top[] = "/tmp/zh-wasi-fs-XXXXXX";
  CHECK(mkdtemp(top) != NULL);
  zh_wasi_preopen pre[1] = {{top, -1, "/data", false}};
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.preopens = pre;
  cfg.npreopens = 1;
  outcome o;
  if (run("wasi_fs_tree", cfg, &o)) {
    CHECK_EQ_INT(o.status, ZH_OK);
    /* A filesystem that refuses a 5 GiB sparse file is a note, not a failure. */
    const char *sparse = "sparse=ok size_ok=1 read=3 END end_ok=1\n";
    char *skip = o.out ? strstr(o.out, "sparse=skipped") : NULL;
    if (skip != NULL) {
      char *eol = strchr(skip, '\n');
      printf("note: %.*s\n", eol ? (int)(eol - skip) : 0, skip);
      sparse = "";
      if (eol != NULL)
        memmove(skip, eol + 1, strlen(eol + 1) + 1);
    }
    char want[2048];
    snprintf(want, sizeof want, "%s%s%s", TREE_HEAD, sparse, TREE_TAIL);
    check_text("wasi_fs_tree", o.out, want);
    check_text("wasi_fs_tree stderr", o.err, "");
    outcome_free(&o);
  }
  char after[256];
  listing(top, after, sizeof after);
  check_text("tree leftovers", after, "");
  rm_tree(top);
}

/* ---- poll, stdin pipe, floats, env, UTF-8 argv ---- */

static void test_misc(void) {
  int in[2];
  CHECK(pipe(in) == 0);
  CHECK(write(in[1], "piped input", 11) == 11);
  close(in[1]);
  const char *argv[] = {"wasi_fs_misc.wasm", "h\xc3\xa9llo", "\xe6\x97\xa5\xe6\x9c\xac",
                        "\xf0\x9f\x98\x80 x"};
  const char *env[] = {"HOME_DIR=/home/gu\xc3\xa9st", "OTHER=1"};
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.argv = argv;
  cfg.argc = 4;
  cfg.env = env;
  cfg.envc = 2;
  cfg.stdio[0].kind = ZH_WASI_STDIO_HOST_FD;
  cfg.stdio[0].host_fd = in[0];
  outcome o;
  if (run("wasi_fs_misc", cfg, &o)) {
    CHECK_EQ_INT(o.status, ZH_OK);
    /* poll_oneoff: a relative and an absolute clock, stdin readable (event type 1), a bad
     * fd as an event error (BADF 8), no subscriptions INVAL (28); proc_raise is ENOSYS. */
    check_text("wasi_fs_misc", o.out,
               "sleep_rel=1 waited>=50ms=1 userdata=42 type=0 err=0\n"
               "sleep_abs=1 waited>=20ms=1\n"
               "nanosleep>=30ms=1\n"
               "poll_stdin=0 events=1 userdata=1 type=1 nbytes>0=1\n"
               "poll_badfd=0 events=1 err=8\n"
               "poll_none=28\n"
               "stdin=11 [piped input]\n"
               "floats=3.142 0.5 1.234568e+04 -2.2\n"
               "getenv=/home/gu\xc3\xa9st missing=(null)\n"
               "argc=4\n"
               "argv[1]=h\xc3\xa9llo len=6\n"
               "argv[2]=\xe6\x97\xa5\xe6\x9c\xac len=6\n"
               "argv[3]=\xf0\x9f\x98\x80 x len=6\n"
               "raise=52\n"
               "yield=0\n");
    outcome_free(&o);
  }
  close(in[0]);
}

/* ---- sockets ---- */

static void test_sockets(void) {
  int lis = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  bool ok = lis >= 0 && bind(lis, (struct sockaddr *)&a, sizeof a) == 0 && listen(lis, 4) == 0 &&
            getsockname(lis, (struct sockaddr *)&a, &alen) == 0;
  int cli = ok ? socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
  ok = ok && cli >= 0 && connect(cli, (struct sockaddr *)&a, sizeof a) == 0 &&
       write(cli, "ping", 4) == 4;
  CHECK(ok);
  if (ok) {
    zh_wasi_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sockets = &lis;
    cfg.nsockets = 1;
    outcome o;
    if (run("wasi_fs_sock", cfg, &o)) {
      CHECK_EQ_INT(o.status, ZH_OK);
      /* NOTSOCK (57) for stdout, INVAL (28) for bad flags, SPIPE (70) for seeking */
      check_text("wasi_fs_sock", o.out,
                 "accept_stdout=57\n"
                 "accept_badflags=28\n"
                 "accept=0\n"
                 "accepted_fd=4\n"
                 "poll=0\n"
                 "poll_events=1 nbytes=4\n"
                 "recv_peek=0\n"
                 "recv=0\n"
                 "got=ping roflags=0\n"
                 "send=0\n"
                 "sent=4\n"
                 "shutdown_bad=28\n"
                 "shutdown_wr=0\n"
                 "shutdown_file=57\n"
                 "seek_sock=70\n"
                 "close=0\n");
      outcome_free(&o);
    }
    char reply[8] = "";
    ssize_t n = read(cli, reply, sizeof reply);
    CHECK(n == 4 && memcmp(reply, "pong", 4) == 0);
    CHECK(read(cli, reply, sizeof reply) == 0); /* the guest shut down its side */
  }
  if (cli >= 0)
    close(cli);
  if (lis >= 0)
    close(lis);
}

int main(void) {
  build_dir = getenv("ZH_BUILD");
  if (build_dir == NULL || *build_dir == 0)
    build_dir = "build";
  test_escapes();
  test_tree();
  test_misc();
  test_sockets();
  TEST_SUMMARY();
}
