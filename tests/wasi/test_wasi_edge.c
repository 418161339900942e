/* Preview1 path edge cases against Linux: trailing slashes, directories opened for
 * writing, dangling symlinks, symlinks to directories named with a trailing slash.
 *
 * Each case is one line of `cases` with the errno Linux gives. The test builds two
 * identical scratch trees, runs every case natively with the libc call on one (checking
 * that Linux really answers the listed errno on this kernel) and in the guest
 * tests/guests/wasi_fs_edge.c with the preview1 call on the other (checking that the
 * guest sees the same errno, as its WASI number). The cases run in order and some change
 * the tree, so at the end both trees must also hold the same entries. */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/engine.h"
#include "zerohop/wasi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* WASI errno numbers (the preview1 `errno` enum) for the Linux errnos these cases meet;
 * written out here rather than taken from the library, so the mapping is checked too. */
static int wasi_errno(int e) {
  switch (e) {
  case 0:
    return 0;
  case EACCES:
    return 2;
  case EBADF:
    return 8;
  case EEXIST:
    return 20;
  case EINVAL:
    return 28;
  case EISDIR:
    return 31;
  case ELOOP:
    return 32;
  case ENOENT:
    return 44;
  case ENOTDIR:
    return 54;
  case ENOTEMPTY:
    return 55;
  case EPERM:
    return 63;
  case EXDEV:
    return 75;
  default:
    return 1000 + e; /* not expected by any case: shows up as a mismatch */
  }
}

typedef struct edge_case {
  const char *op; /* "OP A [B]", as tests/guests/wasi_fs_edge.c reads it */
  int linux_errno;
} edge_case;

/* The starting tree (make_tree): f (file), d/ with d/inner, e/ (empty), lf -> f, ld -> d,
 * le -> e, dangling -> missing, dslash -> nothere/. */
static const edge_case cases[] = {
    /* the three of issue 8 */
    {"link f new1/", ENOENT},
    {"symlink f new2/", ENOENT},
    {"symlink f e/", EEXIST},
    {"open:wd d", EISDIR},
    {"open:rwd e", EISDIR},
    {"open:w d", EISDIR},
    {"open:rw ld/", EISDIR},
    {"open:wd ld", EISDIR},
    {"open:wd f", ENOTDIR},
    {"open:wd dangling", ENOENT},
    {"open:wdn ld", ENOTDIR},
    /* link and symlink, other shapes */
    {"link f/ new3", ENOTDIR},
    {"link lf/ new3", ENOTDIR},
    {"link d new3", EPERM},
    {"link dangling new3", 0},
    {"link f e/", EEXIST},
    {"link f dangling/", EEXIST},
    {"symlink f f/", EEXIST},
    {"symlink f dangling/", EEXIST},
    {"symlink f ld/", EEXIST},
    {"symlink e new4/", ENOENT},
    /* create_directory */
    {"mkdir new5/", 0},
    {"mkdir f/", EEXIST},
    {"mkdir dangling", EEXIST},
    {"mkdir dangling/", EEXIST},
    {"mkdir ld/", EEXIST},
    {"mkdir lf/", EEXIST},
    /* remove_directory */
    {"rmdir f/", ENOTDIR},
    {"rmdir lf/", ENOTDIR},
    {"rmdir le/", ENOTDIR},
    {"rmdir le", ENOTDIR},
    {"rmdir dangling/", ENOTDIR},
    {"rmdir missing/", ENOENT},
    {"rmdir d/", ENOTEMPTY},
    /* unlink_file */
    {"unlink f/", ENOTDIR},
    {"unlink d", EISDIR},
    {"unlink d/", EISDIR},
    {"unlink lf/", ENOTDIR},
    {"unlink le/", ENOTDIR},
    {"unlink dangling/", ENOTDIR},
    {"unlink missing/", ENOENT},
    /* rename */
    {"rename f new6/", ENOTDIR},
    {"rename f/ new6", ENOTDIR},
    {"rename lf/ new6", ENOTDIR},
    {"rename le/ new6", ENOTDIR},
    {"rename dangling/ new6", ENOTDIR},
    {"rename e f", ENOTDIR},
    {"rename f e", EISDIR},
    {"rename f e/", ENOTDIR},
    {"rename new5/ new7/", 0},
    {"rename new7 dangling/", ENOTDIR},
    /* filestat_get and set_times */
    {"stat f/", ENOTDIR},
    {"lstat f/", ENOTDIR},
    {"lstat lf/", ENOTDIR},
    {"lstat ld/", 0},
    {"stat dangling", ENOENT},
    {"lstat dangling", 0},
    {"stat dangling/", ENOENT},
    {"lstat dangling/", ENOENT},
    {"utimes f/", ENOTDIR},
    {"lutimes lf/", ENOTDIR},
    {"utimes dangling", ENOENT},
    {"lutimes dangling/", ENOENT},
    {"lutimes ld/", 0},
    {"lutimes dangling", 0},
    /* readlink */
    {"readlink f", EINVAL},
    {"readlink lf/", ENOTDIR},
    {"readlink ld/", EINVAL},
    {"readlink dangling/", ENOENT},
    {"readlink missing", ENOENT},
    /* open with O_CREAT, O_TRUNC, O_EXCL, O_DIRECTORY */
    {"open:wc new8/", EISDIR},
    {"open:wc f/", EISDIR},
    {"open:wc dangling/", EISDIR},
    {"open:wcx dangling", EEXIST},
    {"open:wcn dangling", ELOOP},
    {"open:wcx f", EEXIST},
    {"open:wcx d", EEXIST},
    {"open:wc d", EISDIR},
    {"open:wc e/", EISDIR},
    {"open:wt d", EISDIR},
    {"open:wt f/", ENOTDIR},
    {"open:rd f", ENOTDIR},
    {"open:rdn ld", ENOTDIR},
    {"open:rn lf", ELOOP},
    {"open:rn lf/", ENOTDIR},
    {"open:rn ld/", 0},
    {"open:r dangling", ENOENT},
    {"open:r dslash", ENOENT},
    {"open:wc dslash", EISDIR},
    {"open:wc dangling", 0},
    /* dots, nested names, and a few more shapes of the same families */
    {"open:t d", EISDIR},
    {"open:wc ld/", EISDIR},
    {"open:rdn dangling", ENOTDIR},
    {"open:r ld/.", 0},
    {"open:w ld/.", EISDIR},
    {"stat lf/.", ENOTDIR},
    {"stat ld/.", 0},
    {"readlink dslash", 0},
    {"readlink dslash/", ENOENT},
    {"utimes dslash", ENOENT},
    {"mkdir d/inner/", EEXIST},
    {"mkdir nope/x", ENOENT},
    {"mkdir f/x", ENOTDIR},
    {"mkdir lf/x", ENOTDIR},
    {"mkdir ld/sub/", 0},
    {"rmdir ld/sub/", 0},
    {"rmdir e/.", EINVAL},
    {"rmdir d/..", ENOTEMPTY},
    {"unlink .", EISDIR},
    {"unlink d/.", EISDIR},
    {"unlink ld/inner/", ENOTDIR},
    {"link lf new9", 0},
    {"link ld/inner e/inner2", 0},
    {"rename e/ d/", ENOTEMPTY},
    {"symlink nowhere d/inner/", EEXIST},
    {"symlink nowhere nope/x", ENOENT},
    {"rename ld/inner e/inner2", 0},
    {"unlink e/inner2", 0},
    {"rename e new7/", 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* ---- the scratch trees ---- */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static bool make_tree(const char *root) {
  char p[600];
  bool ok = mkdir(root, 0755) == 0;
  snprintf(p, sizeof p, "%s/f", root);
  FILE *f = fopen(p, "w");
  ok = ok && f != NULL && fputs("data\n", f) >= 0;
  if (f != NULL)
    fclose(f);
  snprintf(p, sizeof p, "%s/d", root);
  ok = ok && mkdir(p, 0755) == 0;
  snprintf(p, sizeof p, "%s/d/inner", root);
  f = fopen(p, "w");
  ok = ok && f != NULL;
  if (f != NULL)
    fclose(f);
  snprintf(p, sizeof p, "%s/e", root);
  ok = ok && mkdir(p, 0755) == 0;
  static const char *const links[][2] = {
      {"f", "lf"}, {"d", "ld"}, {"e", "le"}, {"missing", "dangling"}, {"nothere/", "dslash"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", root, links[i][1]);
    ok = ok && symlink(links[i][0], p) == 0;
  }
  return ok;
}

/* Appends "name:type[->target]," for each entry beneath `dir` (recursively, sorted). */
static void listing(const char *dir, const char *prefix, char *out, size_t size) {
  struct dirent **ents;
  int n = scandir(dir, &ents, NULL, alphasort);
  for (int i = 0; i < n; i++) {
    const char *nm = ents[i]->d_name;
    if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0) {
      char p[1024], rel[1024], line[2200], target[512] = "";
      snprintf(p, sizeof p, "%s/%s", dir, nm);
      snprintf(rel, sizeof rel, "%s%s", prefix, nm);
      struct stat st;
      char type = lstat(p, &st) != 0    ? '?'
                  : S_ISDIR(st.st_mode) ? 'd'
                  : S_ISLNK(st.st_mode) ? 'l'
                                        : 'f';
      if (type == 'l') {
        ssize_t k = readlink(p, target, sizeof target - 1);
        target[k > 0 ? k : 0] = 0;
      }
      snprintf(line, sizeof line, "%s:%c%s%s,", rel, type, type == 'l' ? "->" : "", target);
      strncat(out, line, size - strlen(out) - 1);
      if (type == 'd') {
        char pre[1030];
        snprintf(pre, sizeof pre, "%s/", rel);
        listing(p, pre, out, size);
      }
    }
    free(ents[i]);
  }
  if (n >= 0)
    free(ents);
}

/* ---- the native side ---- */

static int native_open(int dfd, const char *flags, const char *path) {
  bool rd = false, wr = false;
  int fl = O_CLOEXEC | O_NOCTTY;
  for (const char *c = flags; *c; c++) {
    rd |= *c == 'r';
    wr |= *c == 'w';
    fl |= *c == 'd' ? O_DIRECTORY : *c == 'c' ? O_CREAT : *c == 'x' ? O_EXCL : 0;
    fl |= *c == 't' ? O_TRUNC : *c == 'n' ? O_NOFOLLOW : 0;
  }
  fl |= rd && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY;
  int fd = openat(dfd, path, fl, 0666);
  if (fd < 0)
    return errno;
  close(fd);
  return 0;
}

/* Runs one case with libc; returns 0 or the errno. */
static int native_op(int dfd, const char *spec) {
  char op[32] = "", a[256] = "", b[256] = "";
  if (sscanf(spec, "%31s %255s %255s", op, a, b) < 2)
    return -1;
  const struct timespec ts[2] = {{1234567890, 0}, {1234567890, 0}};
  struct stat st;
  char buf[256];
  int rc;
  if (strcmp(op, "link") == 0)
    rc = linkat(dfd, a, dfd, b, 0);
  else if (strcmp(op, "symlink") == 0)
    rc = symlinkat(a, dfd, b);
  else if (strcmp(op, "mkdir") == 0)
    rc = mkdirat(dfd, a, 0777);
  else if (strcmp(op, "rmdir") == 0)
    rc = unlinkat(dfd, a, AT_REMOVEDIR);
  else if (strcmp(op, "unlink") == 0)
    rc = unlinkat(dfd, a, 0);
  else if (strcmp(op, "rename") == 0)
    rc = renameat(dfd, a, dfd, b);
  else if (strcmp(op, "stat") == 0 || strcmp(op, "lstat") == 0)
    rc = fstatat(dfd, a, &st, op[0] == 'l' ? AT_SYMLINK_NOFOLLOW : 0);
  else if (strcmp(op, "utimes") == 0 || strcmp(op, "lutimes") == 0)
    rc = utimensat(dfd, a, ts, op[0] == 'l' ? AT_SYMLINK_NOFOLLOW : 0);
  else if (strcmp(op, "readlink") == 0)
    rc = readlinkat(dfd, a, buf, sizeof buf) < 0 ? -1 : 0;
  else if (strncmp(op, "open:", 5) == 0)
    return native_open(dfd, op + 5, a);
  else
    return -1;
  return rc == 0 ? 0 : errno;
}

/* ---- the guest side ---- */

/* Runs the guest with `root` as its fd 3 and every case as an argument; returns its
 * stdout (caller frees) or NULL. */
static char *run_guest(const char *root) {
  const char *argv[NCASES + 1];
  argv[0] = "wasi_fs_edge.wasm";
  for (size_t i = 0; i < NCASES; i++)
    argv[i + 1] = cases[i].op;
  zh_wasi_preopen pre[1] = {{root, -1, "/t", false}};
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.argv = argv;
  cfg.argc = NCASES + 1;
  cfg.preopens = pre;
  cfg.npreopens = 1;
  cfg.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  cfg.stdio[2].kind = ZH_WASI_STDIO_CAPTURE;
  zh_engine *engine = NULL;
  zh_module *module = NULL;
  zh_store *store = NULL;
  zh_wasi_ctx *ctx = NULL;
  zh_extern *imports = NULL;
  zh_instance *inst = NULL;
  char *out = NULL;
  zh_error *err = zh_engine_new(NULL, &engine);
  if (err == NULL && (module = zh_test_load_guest(engine, "wasi_fs_edge")) == NULL)
    err = zh_error_new(ZH_ERR_IO, "guest missing");
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
  if (err == NULL) {
    zh_store_set_timeout(store, 20ull * 1000000000ull);
    err = zh_func_call(store, zh_instance_func(inst, "_start"), NULL, 0, NULL, 0);
  }
  if (err != NULL && zh_error_status(err) != ZH_ERR_EXIT)
    fprintf(stderr, "wasi_fs_edge: %s\n", zh_error_message(err));
  else if (err == NULL || zh_error_exit_code(err) == 0) {
    size_t n = 0;
    const char *s = zh_wasi_stdout_captured(ctx, &n);
    out = malloc(n + 1);
    if (out != NULL) {
      memcpy(out, s, n);
      out[n] = 0;
    }
  }
  zh_error_free(err);
  if (store)
    zh_store_free(store);
  zh_wasi_free(ctx);
  if (module)
    zh_module_free(module);
  if (engine)
    zh_engine_free(engine);
  free(imports);
  return out;
}

int main(void) {
  char top[] = "/tmp/zh-wasi-edge-XXXXXX";
  if (mkdtemp(top) == NULL) {
    CHECK(!"mkdtemp");
    TEST_SUMMARY();
  }
  char native_root[600], guest_root[600];
  snprintf(native_root, sizeof native_root, "%s/native", top);
  snprintf(guest_root, sizeof guest_root, "%s/guest", top);
  CHECK(make_tree(native_root) && make_tree(guest_root));

  /* Linux first: every listed errno must be what this kernel answers. */
  int dfd = open(native_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(dfd >= 0);
  for (size_t i = 0; i < NCASES && dfd >= 0; i++) {
    int got = native_op(dfd, cases[i].op);
    if (got != cases[i].linux_errno)
      fprintf(stderr, "linux: %s: errno %d (%s), listed %d (%s)\n", cases[i].op, got, strerror(got),
              cases[i].linux_errno, strerror(cases[i].linux_errno));
    CHECK_EQ_INT(got, cases[i].linux_errno);
  }
  if (dfd >= 0)
    close(dfd);

  /* Then the guest: the same errno, as its WASI number. */
  char *out = run_guest(guest_root);
  CHECK(out != NULL);
  const char *line = out;
  for (size_t i = 0; i < NCASES && line != NULL; i++) {
    char want[400];
    snprintf(want, sizeof want, "%s = %d\n", cases[i].op, wasi_errno(cases[i].linux_errno));
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line + 1) : strlen(line);
    bool same = len == strlen(want) && memcmp(line, want, len) == 0;
    if (!same)
      fprintf(stderr, "guest: got \"%.*s\", want \"%.*s\"\n", (int)(len ? len - 1 : 0), line,
              (int)strlen(want) - 1, want);
    CHECK(same);
    line = eol ? eol + 1 : NULL;
  }
  free(out);

  /* The cases that succeeded (or wrongly succeeded) left the same entries behind. */
  static char native_list[8192], guest_list[8192];
  listing(native_root, "", native_list, sizeof native_list);
  listing(guest_root, "", guest_list, sizeof guest_list);
  if (strcmp(native_list, guest_list) != 0)
    fprintf(stderr, "trees differ:\nlinux: %s\nguest: %s\n", native_list, guest_list);
  CHECK(strcmp(native_list, guest_list) == 0);
  nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  TEST_SUMMARY();
}
