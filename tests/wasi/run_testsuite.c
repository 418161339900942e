/* The official WASI preview1 testsuite (WebAssembly/wasi-testsuite) against the library.
 *
 *   wasi_suite DIR...   e.g. ../shared/testsuites/wasi/c ../shared/testsuites/wasi/assemblyscript
 *   wasi_suite --cli ZEROHOP [--skip LIST] DIR...
 *
 * With --cli, DIR holds the same programs wrapped as WASI 0.2 command components
 * (scripts/wasi-p2-wrap.sh) and each runs end to end as `ZEROHOP run` in a child process,
 * with --dir HOST::GUEST and --env flags; the one difference allowed is that a non-zero
 * expected exit code reads as 1 (jco's preview1 adapter turns every non-zero proc_exit into
 * 1), and the summary line reads "wasi-p2: ...". LIST (tests/wasi/p2-adapter-limits.txt)
 * names the programs that jco's adapter itself cannot run as specified, with the reason:
 * each counts as skipped while it fails, as passed once it passes.
 *
 * Every DIR/NAME.wasm is a test; DIR/NAME.json, when present, gives "args", "env",
 * "dirs" (preopened under their own names), "root" (a directory preopened as "/"),
 * "exit_code", "stdout" and "stderr" (compared only when given). The fixture directories
 * are copied to a scratch directory first, since the shared tree is read-only and tests
 * write (and leave *.cleanup files) there. Prints one line per failure, then
 * "wasi: N passed, M failed"; exits 1 when anything failed. */
#include "testutil.h"
#include "zerohop/engine.h"
#include "zerohop/wasi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEST_TIMEOUT_NS (10ull * 1000000000ull)

/* ---- scratch copies of the fixtures ---- */

static bool copy_file(const char *from, const char *to, mode_t mode) {
  uint8_t *data;
  size_t len;
  if (!zh_test_read_file(from, &data, &len))
    return false;
  int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode & 0777) | 0600);
  bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
  if (fd >= 0 && close(fd) != 0)
    ok = false;
  free(data);
  return ok;
}

/* Copies the tree at `from` to `to` (which must not exist); files and directories become
 * writable by us so the tests can modify them. Symlinks are recreated as they are. */
static bool copy_tree(const char *from, const char *to) {
  struct stat st;
  if (lstat(from, &st) != 0)
    return false;
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(from, target, sizeof target - 1);
    if (n < 0)
      return false;
    target[n] = 0;
    return symlink(target, to) == 0;
  }
  if (!S_ISDIR(st.st_mode))
    return copy_file(from, to, st.st_mode);
  if (mkdir(to, (st.st_mode & 0777) | 0700) != 0)
    return false;
  DIR *d = opendir(from);
  if (d == NULL)
    return false;
  bool ok = true;
  struct dirent *de;
  while (ok && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/%s", from, de->d_name);
    snprintf(b, sizeof b, "%s/%s", to, de->d_name);
    ok = copy_tree(a, b);
  }
  closedir(d);
  return ok;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_DP)
    return rmdir(path) == 0 ? 0 : -1;
  return unlink(path) == 0 ? 0 : -1;
}

static void remove_tree(const char *path) {
  /* The guest may have left read-only directories: make them writable first. */
  chmod(path, 0700);
  nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

/* ---- one test ---- */

typedef struct spec {
  const char **argv, **env, **dirs;
  size_t argc, envc, ndirs;
  const char *root;
  int exit_code;
  const char *out, *err; /* NULL: not checked */
} spec;

static void spec_free(spec *s) {
  for (size_t i = 0; i < s->envc; i++)
    free((void *)s->env[i]);
  free(s->argv);
  free(s->env);
  free(s->dirs);
}

/* Fills `s` from the JSON (may be NULL: the defaults). Strings point into `j`. */
static bool spec_parse(json_t *j, const char *argv0, spec *s) {
  memset(s, 0, sizeof *s);
  json_t *args = j ? json_object_get(j, "args") : NULL;
  json_t *env = j ? json_object_get(j, "env") : NULL;
  json_t *dirs = j ? json_object_get(j, "dirs") : NULL;
  size_t na = json_is_array(args) ? json_array_size(args) : 0;
  s->argv = calloc(na + 1, sizeof *s->argv);
  s->env = calloc(json_is_object(env) ? json_object_size(env) + 1 : 1, sizeof *s->env);
  s->dirs = calloc(json_is_array(dirs) ? json_array_size(dirs) + 1 : 1, sizeof *s->dirs);
  if (s->argv == NULL || s->env == NULL || s->dirs == NULL)
    return false;
  s->argv[s->argc++] = argv0;
  for (size_t i = 0; i < na; i++) {
    const char *a = json_string_value(json_array_get(args, i));
    if (a == NULL)
      return false;
    s->argv[s->argc++] = a;
  }
  if (json_is_object(env)) {
    const char *key;
    json_t *val;
    json_object_foreach(env, key, val) {
      const char *v = json_string_value(val);
      if (v == NULL)
        return false;
      char *kv = malloc(strlen(key) + strlen(v) + 2);
      if (kv == NULL)
        return false;
      sprintf(kv, "%s=%s", key, v);
      s->env[s->envc++] = kv;
    }
  }
  for (size_t i = 0; json_is_array(dirs) && i < json_array_size(dirs); i++) {
    const char *d = json_string_value(json_array_get(dirs, i));
    if (d == NULL)
      return false;
    s->dirs[s->ndirs++] = d;
  }
  if (j != NULL) {
    s->root = json_string_value(json_object_get(j, "root"));
    json_t *code = json_object_get(j, "exit_code");
    s->exit_code = json_is_integer(code) ? (int)json_integer_value(code) : 0;
    s->out = json_string_value(json_object_get(j, "stdout"));
    s->err = json_string_value(json_object_get(j, "stderr"));
  }
  return true;
}

/* Copies every fixture directory next to the test into `scratch`. */
static bool copy_fixtures(const char *dir, const char *scratch) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return false;
  bool ok = true;
  struct dirent *de;
  while (ok && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char a[4096], b[4096];
    struct stat st;
    snprintf(a, sizeof a, "%s/%s", dir, de->d_name);
    if (stat(a, &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    snprintf(b, sizeof b, "%s/%s", scratch, de->d_name);
    /* scripts/wasi-p2-wrap.sh links the fixtures in: copy what the link points to. */
    char *real = realpath(a, NULL);
    ok = real != NULL && copy_tree(real, b);
    free(real);
  }
  closedir(d);
  return ok;
}

/* Runs the core module at `path` through the library with the preopens `pre`. */
static bool run_lib(const char *path, const spec *sp, const zh_wasi_preopen *pre, size_t npre,
                    char *why, size_t whylen) {
  const spec s = *sp;
  bool ok;
  zh_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.argv = s.argv;
  cfg.argc = s.argc;
  cfg.env = s.env;
  cfg.envc = s.envc;
  cfg.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  cfg.stdio[2].kind = ZH_WASI_STDIO_CAPTURE;
  cfg.preopens = pre;
  cfg.npreopens = npre;

  uint8_t *bytes = NULL;
  size_t len = 0;
  zh_engine *engine = NULL;
  zh_module *module = NULL;
  zh_store *store = NULL;
  zh_wasi_ctx *ctx = NULL;
  zh_extern *imports = NULL;
  zh_instance *inst = NULL;
  zh_error *err = NULL;
  int code = 0;
  ok = false;
  if (!zh_test_read_file(path, &bytes, &len)) {
    snprintf(why, whylen, "cannot read %.900s", path);
    goto done;
  }
  err = zh_engine_new(NULL, &engine);
  if (err == NULL)
    err = zh_module_new(engine, bytes, len, path, &module);
  if (err == NULL)
    ctx = zh_wasi_new(&cfg, &err);
  if (err == NULL)
    err = zh_store_new(engine, &store);
  if (err == NULL) {
    imports = calloc(zh_module_import_count(module) + 1, sizeof *imports);
    err = imports ? zh_wasi_link(ctx, store, module, imports)
                  : zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  }
  if (err == NULL)
    err = zh_instance_new(store, module, imports, zh_module_import_count(module), &inst);
  if (err != NULL) {
    snprintf(why, whylen, "setup: %s", zh_error_message(err));
    goto done;
  }
  zh_func *start = zh_instance_func(inst, "_start");
  if (start == NULL) {
    snprintf(why, whylen, "no _start export");
    goto done;
  }
  zh_store_set_timeout(store, TEST_TIMEOUT_NS);
  err = zh_func_call(store, start, NULL, 0, NULL, 0);
  if (err != NULL && zh_error_status(err) != ZH_ERR_EXIT) {
    snprintf(why, whylen, "%s: %.300s (stderr: %.300s)", zh_status_text(zh_error_status(err)),
             zh_error_message(err), zh_wasi_stderr_captured(ctx, NULL));
    goto done;
  }
  code = err ? zh_error_exit_code(err) : 0;
  size_t olen, elen;
  const char *out = zh_wasi_stdout_captured(ctx, &olen);
  const char *errs = zh_wasi_stderr_captured(ctx, &elen);
  if (code != s.exit_code)
    snprintf(why, whylen, "exit code %d, expected %d (stderr: %.200s)", code, s.exit_code, errs);
  else if (s.out != NULL && (olen != strlen(s.out) || memcmp(out, s.out, olen) != 0))
    snprintf(why, whylen, "stdout \"%.200s\", expected \"%.200s\"", out, s.out);
  else if (s.err != NULL && (elen != strlen(s.err) || memcmp(errs, s.err, elen) != 0))
    snprintf(why, whylen, "stderr \"%.200s\", expected \"%.200s\"", errs, s.err);
  else
    ok = true;
done:
  zh_error_free(err);
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

/* ---- the CLI end to end (--cli) ---- */

/* Runs the component at `path` as `cli run --timeout 10s [--env K=V]... [--dir H::G]... path
 * ARGS...` and compares its exit status, stdout and stderr with the specification. */
static bool run_cli(const char *cli, const char *path, const spec *s, char **hosts,
                    const zh_wasi_preopen *pre, size_t npre, char *why, size_t whylen) {
  size_t n = 0, cap = 7 + 2 * s->envc + 2 * npre + s->argc;
  const char **av = calloc(cap, sizeof *av);
  char **dirs = calloc(npre + 1, sizeof *dirs);
  bool ok = false;
  if (av == NULL || dirs == NULL) {
    snprintf(why, whylen, "out of memory");
    goto done;
  }
  av[n++] = cli;
  av[n++] = "run";
  av[n++] = "--timeout";
  av[n++] = "10s";
  for (size_t i = 0; i < s->envc; i++) {
    av[n++] = "--env";
    av[n++] = s->env[i];
  }
  for (size_t i = 0; i < npre; i++) {
    dirs[i] = malloc(strlen(hosts[i]) + strlen(pre[i].guest_path) + 3);
    if (dirs[i] == NULL) {
      snprintf(why, whylen, "out of memory");
      goto done;
    }
    sprintf(dirs[i], "%s::%s", hosts[i], pre[i].guest_path);
    av[n++] = "--dir";
    av[n++] = dirs[i];
  }
  av[n++] = path;
  for (size_t i = 1; i < s->argc; i++) /* argv[0] is the CLI's to choose */
    av[n++] = s->argv[i];
  av[n] = NULL;
  zh_test_proc p;
  if (!zh_test_spawn(av, NULL, NULL, 0, 60000, &p)) {
    snprintf(why, whylen, "cannot run %s", cli);
    goto done;
  }
  /* jco's preview1 adapter turns every non-zero proc_exit code into 1. */
  int want = s->exit_code != 0 ? 1 : 0;
  if (!p.exited)
    snprintf(why, whylen, "%s did not exit (killed after 60 s or by a signal)", cli);
  else if (p.status != want)
    snprintf(why, whylen, "exit status %d, expected %d (stderr: %.300s)", p.status, want, p.err);
  else if (s->out != NULL && (p.nout != strlen(s->out) || memcmp(p.out, s->out, p.nout) != 0))
    snprintf(why, whylen, "stdout \"%.200s\", expected \"%.200s\"", p.out, s->out);
  else if (s->err != NULL && (p.nerr != strlen(s->err) || memcmp(p.err, s->err, p.nerr) != 0))
    snprintf(why, whylen, "stderr \"%.200s\", expected \"%.200s\"", p.err, s->err);
  else
    ok = true;
  zh_test_proc_free(&p);
done:
  for (size_t i = 0; dirs && i < npre; i++)
    free(dirs[i]);
  free(dirs);
  free(av);
  return ok;
}

/* Runs DIR/NAME.wasm; on failure writes the reason to `why`. */
static bool run_test(const char *dir, const char *file, const char *cli, char *why, size_t whylen) {
  char path[4096], json_path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  snprintf(json_path, sizeof json_path, "%s/%.*s.json", dir, (int)(strlen(file) - 5), file);
  json_t *j = NULL;
  if (access(json_path, F_OK) == 0) {
    json_error_t jerr;
    j = json_load_file(json_path, 0, &jerr);
    if (j == NULL) {
      snprintf(why, whylen, "bad JSON %.600s: %.200s", json_path, jerr.text);
      return false;
    }
  }
  spec s;
  bool ok = spec_parse(j, file, &s);
  if (!ok) {
    snprintf(why, whylen, "bad specification %.900s", json_path);
    spec_free(&s);
    json_decref(j);
    return false;
  }
  char scratch[] = "/tmp/zh-wasi-suite-XXXXXX";
  if (mkdtemp(scratch) == NULL || !copy_fixtures(dir, scratch)) {
    snprintf(why, whylen, "cannot set up a scratch directory: %s", strerror(errno));
    spec_free(&s);
    json_decref(j);
    return false;
  }
  size_t npre = s.ndirs + (s.root ? 1 : 0);
  zh_wasi_preopen *pre = calloc(npre + 1, sizeof *pre);
  char **hosts = calloc(npre + 1, sizeof *hosts);
  for (size_t i = 0; pre && hosts && i < npre; i++) {
    const char *name = i < s.ndirs ? s.dirs[i] : s.root;
    hosts[i] = malloc(strlen(scratch) + strlen(name) + 2);
    if (hosts[i] != NULL)
      sprintf(hosts[i], "%s/%s", scratch, name);
    pre[i].host_path = hosts[i];
    pre[i].host_fd = -1;
    pre[i].guest_path = i < s.ndirs ? name : "/";
  }

  ok = false;
  if (pre == NULL || hosts == NULL)
    snprintf(why, whylen, "out of memory");
  else if (cli != NULL)
    ok = run_cli(cli, path, &s, hosts, pre, npre, why, whylen);
  else
    ok = run_lib(path, &s, pre, npre, why, whylen);
  for (size_t i = 0; hosts && i < npre; i++)
    free(hosts[i]);
  free(hosts);
  free(pre);
  remove_tree(scratch); /* the fixtures' copies and any *.cleanup artefacts in them */
  spec_free(&s);
  json_decref(j);
  return ok;
}

/* The reason LIST gives for DIR/NAME (matched by the last component of DIR and NAME), or
 * NULL. Points into a static buffer. */
static const char *skip_reason(const char *list, const char *dir, const char *name) {
  static char reason[512];
  if (list == NULL)
    return NULL;
  const char *group = strrchr(dir, '/');
  group = group ? group + 1 : dir;
  char key[1024];
  snprintf(key, sizeof key, "%s/%s\t", group, name);
  for (const char *line = list; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
    if (strncmp(line, key, strlen(key)) != 0)
      continue;
    const char *r = line + strlen(key);
    size_t n = strcspn(r, "\n");
    snprintf(reason, sizeof reason, "%.*s", (int)n, r);
    return reason;
  }
  return NULL;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  const char *cli = NULL;
  int first = 1;
  if (argc >= 3 && strcmp(argv[1], "--cli") == 0) {
    cli = argv[2];
    first = 3;
  }
  char *skips = NULL;
  if (argc >= first + 2 && strcmp(argv[first], "--skip") == 0) {
    size_t slen;
    if (!zh_test_read_file(argv[first + 1], (uint8_t **)&skips, &slen)) {
      fprintf(stderr, "cannot read %s\n", argv[first + 1]);
      return 2;
    }
    first += 2;
  }
  if (argc <= first) {
    fprintf(stderr, "usage: %s [--cli ZEROHOP] DIR...\n", argv[0]);
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0;
  for (int a = first; a < argc; a++) {
    DIR *d = opendir(argv[a]);
    if (d == NULL) {
      printf("%s: cannot open: %s\n", argv[a], strerror(errno));
      failed++;
      continue;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      size_t l = strlen(de->d_name);
      if (l <= 5 || strcmp(de->d_name + l - 5, ".wasm") != 0)
        continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        char **nn = realloc(names, cap * sizeof *nn);
        if (nn == NULL)
          break;
        names = nn;
      }
      names[n] = strdup(de->d_name);
      if (names[n] != NULL)
        n++;
    }
    closedir(d);
    if (n > 0)
      qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
      char why[1024] = "";
      if (run_test(argv[a], names[i], cli, why, sizeof why)) {
        passed++;
      } else if (skip_reason(skips, argv[a], names[i]) != NULL) {
        skipped++;
        printf("SKIP %s/%s: %s\n", argv[a], names[i], skip_reason(skips, argv[a], names[i]));
      } else {
        failed++;
        for (char *p = why; *p; p++) /* one line per failure */
          if (*p == '\n')
            *p = ' ';
        printf("FAIL %s/%s: %s\n", argv[a], names[i], why);
      }
      free(names[i]);
    }
    free(names);
  }
  if (skipped > 0)
    printf("%s: %d passed, %d failed, %d skipped\n", cli ? "wasi-p2" : "wasi", passed, failed,
           skipped);
  else
    printf("%s: %d passed, %d failed\n", cli ? "wasi-p2" : "wasi", passed, failed);
  free(skips);
  return failed > 0 ? 1 : 0;
}
