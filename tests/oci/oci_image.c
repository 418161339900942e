/* `zerohop image build`: both images of the example app read back and checked against the
 * OCI image layout rules (every blob's name is its sha256, every descriptor's digest and size
 * match the blob, media types, platform, diff_ids), their layers compared byte for byte with
 * the app's files, then run: the Wasm image's root by this build's `zerohop up`, the plain
 * image's root by its own shipped binary under chroot(2). skopeo reads both archives. */
#include "ocitest.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

static char tmpdir[] = "/tmp/zh-oci-image-XXXXXX";

/* The layout's blob named by `digest`, checked: present, its name its digest, `size` bytes. */
static const oci_entry *blob(const oci_entries *layout, const char *digest, uint64_t size) {
  char name[128];
  snprintf(name, sizeof name, "blobs/sha256/%s", digest + 7);
  const oci_entry *e = oci_find(layout, name);
  CHECK(e != NULL);
  if (!e)
    return NULL;
  char got[ZH_OCI_DIGEST_LEN];
  oci_digest(e->data, e->len, got);
  CHECK(strcmp(got, digest) == 0);
  CHECK_EQ_INT(e->len, size);
  return e;
}

/* Checks a layout tar whose layer is gzipped (or, with !gzip, a plain tar); returns its single
 * layer's entries (to free) or false. */
static bool check_layout(const char *path, const char *os, const char *arch, bool gzip,
                         oci_entries *layer, zh_oci_config **config) {
  uint8_t *tar = NULL;
  size_t len = 0;
  CHECK(zh_test_read_file(path, &tar, &len));
  oci_entries layout;
  bool ok = tar && oci_untar(tar, len, &layout);
  CHECK(ok);
  free(tar);
  if (!ok)
    return false;
  const oci_entry *ol = oci_find(&layout, "oci-layout");
  CHECK(ol && strcmp((char *)ol->data, "{\"imageLayoutVersion\":\"1.0.0\"}") == 0);
  /* every blob is named after its digest */
  for (size_t i = 0; i < layout.n; i++) {
    if (strncmp(layout.items[i].name, "blobs/sha256/", 13) != 0)
      continue;
    char got[ZH_OCI_DIGEST_LEN];
    oci_digest(layout.items[i].data, layout.items[i].len, got);
    CHECK(strcmp(got + 7, layout.items[i].name + 13) == 0);
  }
  const oci_entry *ix = oci_find(&layout, "index.json");
  zh_oci_manifest *index = NULL, *man = NULL;
  zh_error *err = ix ? zh_oci_manifest_parse(ix->data, ix->len, "index.json", &index) : NULL;
  CHECK(ix && !err && index && index->is_index && index->nentries == 1);
  zh_error_free(err);
  ok = false;
  if (index && index->nentries == 1) {
    const zh_oci_descriptor *d = &index->entries[0];
    CHECK(strcmp(d->media_type, ZH_OCI_MT_MANIFEST) == 0);
    CHECK(d->platform_os && strcmp(d->platform_os, os) == 0);
    CHECK(d->platform_arch && strcmp(d->platform_arch, arch) == 0);
    const oci_entry *mb = blob(&layout, d->digest, d->size);
    err = mb ? zh_oci_manifest_parse(mb->data, mb->len, "manifest", &man) : NULL;
    CHECK(mb && !err && man && !man->is_index && man->nentries == 1);
    zh_error_free(err);
  }
  if (man && man->nentries == 1) {
    CHECK(strcmp(man->media_type, ZH_OCI_MT_MANIFEST) == 0);
    CHECK(strcmp(man->config.media_type, ZH_OCI_MT_CONFIG) == 0);
    CHECK(strcmp(man->entries[0].media_type, gzip ? ZH_OCI_MT_LAYER_GZIP : ZH_OCI_MT_LAYER) == 0);
    const oci_entry *cb = blob(&layout, man->config.digest, man->config.size);
    const oci_entry *lb = blob(&layout, man->entries[0].digest, man->entries[0].size);
    /* the layer's tar: the blob itself, or what it inflates to */
    unsigned char *tar = NULL;
    size_t tar_len = 0;
    bool have_tar = false;
    if (lb && gzip) {
      CHECK(lb->len > 2 && lb->data[0] == 0x1f && lb->data[1] == 0x8b);
      have_tar = oci_gunzip(lb->data, lb->len, &tar, &tar_len);
      CHECK(have_tar && tar_len > lb->len);
    } else if (lb) {
      tar = malloc(lb->len ? lb->len : 1);
      have_tar = tar != NULL;
      if (tar)
        memcpy(tar, lb->data, lb->len), tar_len = lb->len;
    }
    char tar_digest[ZH_OCI_DIGEST_LEN] = "";
    if (have_tar)
      oci_digest(tar, tar_len, tar_digest);
    err = cb ? zh_oci_config_parse(cb->data, cb->len, "config", config) : NULL;
    CHECK(cb && !err && *config);
    zh_error_free(err);
    if (*config) {
      CHECK(strcmp((*config)->os, os) == 0);
      CHECK(strcmp((*config)->architecture, arch) == 0);
      /* the diff_id is the tar's digest: the blob's own when uncompressed */
      CHECK((*config)->ndiff_ids == 1 && strcmp((*config)->diff_ids[0], tar_digest) == 0);
      CHECK(gzip != (strcmp((*config)->diff_ids[0], man->entries[0].digest) == 0));
    }
    ok = have_tar && oci_untar(tar, tar_len, layer);
    CHECK(ok);
    free(tar);
  }
  zh_oci_manifest_free(index);
  zh_oci_manifest_free(man);
  oci_entries_free(&layout);
  return ok;
}

/* The layer's file at `name` has the bytes of the host file `host`. */
static void check_same(const oci_entries *layer, const char *name, const char *host) {
  const oci_entry *e = oci_find(layer, name);
  uint8_t *want = NULL;
  size_t wlen = 0;
  CHECK(zh_test_read_file(host, &want, &wlen));
  CHECK(e && want && e->len == wlen && memcmp(e->data, want, wlen) == 0);
  if (!e)
    fprintf(stderr, "missing in the layer: %s\n", name);
  free(want);
}

/* Writes the layer's files under root/. */
static bool unpack(const oci_entries *layer, const char *root) {
  for (size_t i = 0; i < layer->n; i++) {
    char *path = oci_fmt("%s/%s", root, layer->items[i].name);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
      *p = 0;
      mkdir(path, 0755);
      *p = '/';
    }
    bool ok = oci_write(path, layer->items[i].data, layer->items[i].len) &&
              chmod(path, layer->items[i].mode) == 0;
    free(path);
    if (!ok)
      return false;
  }
  return true;
}

static void get_hello(uint16_t port, const char *name) {
  zh_hc_response r;
  char path[128];
  snprintf(path, sizeof path, "/hello/%s", name);
  CHECK(zh_hc_get(port, path, &r));
  CHECK_EQ_INT(r.status, 200);
  char want[128];
  snprintf(want, sizeof want, "Hello, %s!", name);
  CHECK(r.body && strstr(r.body, want) != NULL);
  zh_hc_response_free(&r);
}

static void test_wasm_image(void) {
  char *out = oci_fmt("%s/app.oci.tar", tmpdir);
  zh_test_proc p;
  const char *argv[] = {oci_cli(), "image", "build", "-f", "examples/app", "-o", out, NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, argv), 0);
  CHECK(p.out && strstr(p.out, "wasm image zerohop.local/zerohop-example:0.1.0") != NULL);
  zh_test_proc_free(&p);
  oci_entries layer = {0};
  zh_oci_config *cfg = NULL;
  if (check_layout(out, "wasip1", "wasm", true, &layer, &cfg)) {
    check_same(&layer, "hello.wasm", "examples/app/target/hello.wasm");
    check_same(&layer, "notes.wasm", "examples/app/target/notes.wasm");
    check_same(&layer, "stats.wasm", "examples/app/target/stats.wasm");
    const oci_entry *toml = oci_find(&layer, "spin.toml");
    CHECK(toml && strstr((char *)toml->data, "source = \"hello.wasm\"") &&
          !strstr((char *)toml->data, "source = \"target/"));
    /* the root serves the app as the shim would find it */
    char *root = oci_fmt("%s/wasm-root", tmpdir);
    CHECK(mkdir(root, 0755) == 0 && unpack(&layer, root));
    zh_test_cli_server s;
    const char *up[] = {"up", "-f", root, "--listen", "127.0.0.1:0", NULL};
    CHECK(zh_test_cli_start(&s, tmpdir, "wasm-up", up, NULL, "Serving http://127.0.0.1:", 20000,
                            NULL));
    if (s.pid > 0) {
      get_hello(s.port, "wasm");
      CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
    }
    free(root);
  }
  oci_entries_free(&layer);
  /* --uncompressed: the same tar as a plain layer (its digest is the gzipped one's diff_id) */
  char *plain_tar = oci_fmt("%s/uncompressed.oci.tar", tmpdir);
  const char *argv4[] = {oci_cli(), "image",   "build",          "-f", "examples/app",
                         "-o",      plain_tar, "--uncompressed", NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, argv4), 0);
  CHECK(p.out && strstr(p.out, "(uncompressed, tar "));
  zh_test_proc_free(&p);
  zh_oci_config *ucfg = NULL;
  if (check_layout(plain_tar, "wasip1", "wasm", false, &layer, &ucfg)) {
    check_same(&layer, "hello.wasm", "examples/app/target/hello.wasm");
    CHECK(cfg && ucfg && strcmp(cfg->diff_ids[0], ucfg->diff_ids[0]) == 0);
  }
  oci_entries_free(&layer);
  zh_oci_config_free(ucfg);
  zh_oci_config_free(cfg);
  free(plain_tar);
  /* the same app packs to the same bytes */
  char *again = oci_fmt("%s/again.oci.tar", tmpdir);
  const char *argv2[] = {oci_cli(), "image", "build", "-f", "examples/app/spin.toml",
                         "-o",      again,   NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, argv2), 0);
  zh_test_proc_free(&p);
  uint8_t *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0;
  CHECK(zh_test_read_file(out, &a, &alen) && zh_test_read_file(again, &b, &blen));
  CHECK(a && b && alen == blen && memcmp(a, b, alen) == 0);
  free(a);
  free(b);
  /* --runtime-config-file ships the file beside spin.toml */
  char *rc = oci_fmt("%s/rc.toml", tmpdir), *withrc = oci_fmt("%s/rc.oci.tar", tmpdir);
  static const char rctext[] = "[key_value_store.default]\ntype = \"spin\"\n";
  CHECK(oci_write(rc, rctext, sizeof rctext - 1));
  const char *argv3[] = {
      oci_cli(), "image", "build", "-f", "examples/app", "-o", withrc, "--runtime-config-file",
      rc,        NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, argv3), 0);
  zh_test_proc_free(&p);
  oci_entries rlayer = {0};
  zh_oci_config *rcfg = NULL;
  if (check_layout(withrc, "wasip1", "wasm", true, &rlayer, &rcfg))
    check_same(&rlayer, "runtime-config.toml", rc);
  oci_entries_free(&rlayer);
  zh_oci_config_free(rcfg);
  free(rc);
  free(withrc);
  /* skopeo reads the archive: platform and the single layer */
  char *ref = oci_fmt("oci-archive:%s", out);
  const char *sk[] = {"/usr/bin/skopeo", "inspect", ref, NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, sk), 0);
  CHECK(p.out && strstr(p.out, "\"Architecture\": \"wasm\"") &&
        strstr(p.out, "\"Os\": \"wasip1\""));
  zh_test_proc_free(&p);
  free(ref);
  free(again);
  free(out);
}

static void test_plain_image(void) {
  char *out = oci_fmt("%s/plain.oci.tar", tmpdir);
  zh_test_proc p;
  const char *argv[] = {oci_cli(), "image",
                        "build",   "--plain",
                        "-f",      "examples/app",
                        "-o",      out,
                        "--name",  "example.test/zh/plain:v1",
                        NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, argv), 0);
  zh_test_proc_free(&p);
  oci_entries layer = {0};
  zh_oci_config *cfg = NULL;
  if (check_layout(out, "linux", "amd64", true, &layer, &cfg)) {
    check_same(&layer, "usr/bin/zerohop", oci_cli());
    check_same(&layer, "app/hello.wasm", "examples/app/target/hello.wasm");
    CHECK(oci_find(&layer, "lib64/ld-linux-x86-64.so.2") != NULL);
    CHECK(oci_find(&layer, "app/spin.toml") != NULL);
    CHECK(cfg && cfg->nentrypoint == 4 && strcmp(cfg->entrypoint[0], "/usr/bin/zerohop") == 0 &&
          strcmp(cfg->entrypoint[1], "up") == 0);
    bool env = false;
    for (size_t i = 0; cfg && i < cfg->nenv; i++)
      env = env || strcmp(cfg->env[i], "SPIN_HTTP_LISTEN_ADDR=0.0.0.0:80") == 0;
    CHECK(env);
    /* The root runs with nothing from the host: its own binary, loader and libraries. */
    char *root = oci_fmt("%s/plain-root", tmpdir);
    CHECK(mkdir(root, 0755) == 0 && unpack(&layer, root));
    uint16_t port = zh_test_free_port();
    char addr[64];
    snprintf(addr, sizeof addr, "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:%u", port);
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open("/dev/null", O_RDWR);
      dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
      /* An ASan build reads its options and threads from /proc: give the bare root one, in
       * a mount namespace of this child's own so that it goes away with it. */
      char *proc = oci_fmt("%s/proc", root);
      if (proc && mkdir(proc, 0555) == 0 && unshare(CLONE_NEWNS) == 0 &&
          mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
        mount("proc", proc, "proc", 0, NULL);
      if (chroot(root) != 0 || chdir("/app") != 0)
        _exit(126);
      char *const args[] = {"/usr/bin/zerohop", "up", "-f", "/app", NULL};
      char *const envp[] = {addr, NULL};
      execve(args[0], args, envp);
      _exit(127);
    }
    bool up = zh_test_wait_port(port, 4000);
    CHECK(up);
    if (up)
      get_hello(port, "plain");
    kill(pid, SIGTERM);
    CHECK_EQ_INT(zh_test_wait_exit(pid, 20000), 0);
    free(root);
  }
  oci_entries_free(&layer);
  zh_oci_config_free(cfg);
  char *ref = oci_fmt("oci-archive:%s", out);
  const char *sk[] = {"/usr/bin/skopeo", "inspect", "--config", ref, NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, sk), 0);
  CHECK(p.out && strstr(p.out, "\"/usr/bin/zerohop\""));
  zh_test_proc_free(&p);
  free(ref);
  free(out);
}

static void test_errors(void) {
  zh_test_proc p;
  const char *no_out[] = {oci_cli(), "image", "build", "-f", "examples/app", NULL};
  CHECK(zh_test_spawn(no_out, NULL, NULL, 0, 10000, &p));
  CHECK(p.exited && p.status == 2 && strstr(p.err, "-o FILE.tar is required"));
  zh_test_proc_free(&p);
  char *bad = oci_fmt("%s/bad", tmpdir), *toml = oci_fmt("%s/bad/spin.toml", tmpdir);
  mkdir(bad, 0755);
  const char text[] = "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
                      "[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n"
                      "[component.c]\nsource = \"missing.wasm\"\n";
  CHECK(oci_write(toml, text, sizeof text - 1));
  char *out = oci_fmt("%s/bad.tar", tmpdir);
  const char *missing[] = {oci_cli(), "image", "build", "-f", bad, "-o", out, NULL};
  CHECK(zh_test_spawn(missing, NULL, NULL, 0, 10000, &p));
  CHECK(p.exited && p.status == 1 && strstr(p.err, "component `c`") &&
        strstr(p.err, "missing.wasm"));
  CHECK(access(out, F_OK) != 0);
  zh_test_proc_free(&p);
  free(bad);
  free(toml);
  free(out);
}

int main(void) {
  if (!mkdtemp(tmpdir))
    return 1;
  test_wasm_image();
  test_plain_image();
  test_errors();
  char *rm = oci_fmt("rm -rf %s", tmpdir);
  if (system(rm) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  free(rm);
  TEST_SUMMARY();
}
