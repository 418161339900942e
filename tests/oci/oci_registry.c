/* `zerohop registry push/pull` and `zerohop up --from` against Debian's docker-registry on
 * loopback: the example app (plus static files) pushed, read by skopeo with Spin's media
 * types, pulled back byte for byte, served from the registry; a blob corrupted in the
 * registry's storage refused with its digest named; a Basic-auth registry with and without a
 * Docker config file; bad references and an unreachable registry; an image layout tar
 * copied into the registry by skopeo. */
#include "ocitest.h"

#include <dirent.h>
#include <sys/stat.h>

static char tmpdir[] = "/tmp/zh-oci-registry-XXXXXX";

/* The example app with a static directory beside it, in tmpdir/app. */
static char *make_app(void) {
  char *dir = oci_fmt("%s/app", tmpdir);
  char *cmd = oci_fmt("mkdir -p %s/static/sub && cp examples/app/target/hello.wasm "
                      "examples/app/target/stats.wasm %s/ && printf 'alpha\\n' > %s/static/a.txt "
                      "&& head -c 70000 /dev/urandom > %s/static/sub/b.bin",
                      dir, dir, dir, dir);
  CHECK(system(cmd) == 0);
  free(cmd);
  static const char toml[] =
      "spin_manifest_version = 2\n[application]\nname = \"reg-test\"\nversion = \"1.2.3\"\n"
      "[variables]\ngreeting = { default = \"Hello\" }\nsecret_one = { required = true, "
      "secret = true }\n"
      "[[trigger.http]]\nroute = \"/hello/...\"\ncomponent = \"hello\"\n"
      "[[trigger.http]]\nroute = { private = true }\ncomponent = \"stats\"\n"
      "[component.hello]\nsource = \"hello.wasm\"\nkey_value_stores = [\"default\"]\n"
      "files = [\"static/**/*\"]\nallowed_outbound_hosts = [\"http://127.0.0.1:1\"]\n"
      "[component.hello.variables]\ngreeting = \"{{ greeting }}\"\n"
      "[component.hello.environment]\nMODE = \"test \\\"quoted\\\"\"\n"
      "[component.stats]\nsource = \"stats.wasm\"\nkey_value_stores = [\"default\"]\n";
  char *path = oci_fmt("%s/spin.toml", dir);
  CHECK(oci_write(path, toml, sizeof toml - 1));
  free(path);
  return dir;
}

static bool same_file(const char *a, const char *b) {
  uint8_t *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  bool ok = zh_test_read_file(a, &x, &nx) && zh_test_read_file(b, &y, &ny) && nx == ny &&
            memcmp(x, y, nx) == 0;
  if (!ok)
    fprintf(stderr, "differ: %s %s\n", a, b);
  free(x);
  free(y);
  return ok;
}

/* Runs the CLI; exit status, output in *p. */
static int cli(zh_test_proc *p, const char *const *args, const char *const *env) {
  const char *argv[32];
  size_t n = 0;
  argv[n++] = oci_cli();
  for (size_t i = 0; args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  if (!zh_test_spawn(argv, env, NULL, 0, 120000, p))
    return -1;
  return p->exited ? p->status : -1;
}

/* "Pushed with digest sha256:..." -> the digest */
static void pushed_digest(const zh_test_proc *p, char out[ZH_OCI_DIGEST_LEN]) {
  const char *d = p->out ? strstr(p->out, "sha256:") : NULL;
  snprintf(out, ZH_OCI_DIGEST_LEN, "%.71s", d ? d : "");
}

static void test_push_pull(const oci_registry *reg, const char *app) {
  char *ref = oci_fmt("127.0.0.1:%u/zh/app:v1", reg->port);
  zh_test_proc p;
  const char *push[] = {"registry", "push", "-f", app, ref, NULL};
  CHECK_EQ_INT(cli(&p, push, NULL), 0);
  char digest[ZH_OCI_DIGEST_LEN];
  pushed_digest(&p, digest);
  CHECK(zh_oci_digest_valid(digest));
  zh_test_proc_free(&p);
  /* pushing again sends no blob twice and gives the same manifest */
  CHECK_EQ_INT(cli(&p, push, NULL), 0);
  char again[ZH_OCI_DIGEST_LEN];
  pushed_digest(&p, again);
  CHECK(strcmp(again, digest) == 0);
  zh_test_proc_free(&p);

  /* skopeo sees Spin's media types, and the manifest it gets has our digest */
  char *dref = oci_fmt("docker://%s", ref);
  const char *sk[] = {"/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false", dref, NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, sk), 0);
  CHECK(p.out && strstr(p.out, "\"application/vnd.fermyon.spin.application.v1+config\""));
  CHECK(p.out && strstr(p.out, "\"application/vnd.wasm.content.layer.v1+wasm\""));
  CHECK(p.out && strstr(p.out, "\"application/vnd.wasm.content.layer.v1+data\""));
  char got[ZH_OCI_DIGEST_LEN];
  oci_digest(p.out ? p.out : "", p.nout, got);
  CHECK(strcmp(got, digest) == 0);
  zh_test_proc_free(&p);
  const char *skc[] = {"/usr/bin/skopeo",    "inspect", "--raw", "--config",
                       "--tls-verify=false", dref,      NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, skc), 0);
  CHECK(p.out && strstr(p.out, "\"spin_lock_version\": 1"));
  zh_test_proc_free(&p);
  free(dref);

  /* pull: byte-identical sources and files, into a fresh cache */
  char *out = oci_fmt("%s/pulled", tmpdir), *cache = oci_fmt("%s/cache", tmpdir);
  const char *pull[] = {"registry", "pull", ref, "-o", out, "--cache-dir", cache, NULL};
  CHECK_EQ_INT(cli(&p, pull, NULL), 0);
  zh_test_proc_free(&p);
  char *a = oci_fmt("%s/hello.wasm", out), *b = oci_fmt("%s/hello.wasm", app);
  CHECK(same_file(a, b));
  free(a), free(b);
  a = oci_fmt("%s/stats.wasm", out), b = oci_fmt("%s/stats.wasm", app);
  CHECK(same_file(a, b));
  free(a), free(b);
  a = oci_fmt("%s/files/hello/static/a.txt", out), b = oci_fmt("%s/static/a.txt", app);
  CHECK(same_file(a, b));
  free(a), free(b);
  a = oci_fmt("%s/files/hello/static/sub/b.bin", out), b = oci_fmt("%s/static/sub/b.bin", app);
  CHECK(same_file(a, b));
  free(a), free(b);
  /* the manifest is in the cache under its digest, like every blob */
  a = oci_fmt("%s/blobs/sha256/%s", cache, digest + 7);
  b = oci_fmt("%s/hello.wasm", app);
  uint8_t *hello = NULL;
  size_t hlen = 0;
  CHECK(zh_test_read_file(b, &hello, &hlen));
  char hd[ZH_OCI_DIGEST_LEN];
  oci_digest(hello, hlen, hd);
  free(hello);
  free(a);
  a = oci_fmt("%s/blobs/sha256/%s", cache, hd + 7);
  CHECK(same_file(a, b));
  free(a), free(b);
  /* the pulled spin.toml loads and keeps what the app said */
  a = oci_fmt("%s/spin.toml", out);
  uint8_t *toml = NULL;
  size_t tlen = 0;
  CHECK(zh_test_read_file(a, &toml, &tlen));
  CHECK(toml && strstr((char *)toml, "secret_one\" = { required = true, secret = true }"));
  CHECK(toml && strstr((char *)toml, "\"MODE\" = \"test \\\"quoted\\\"\""));
  CHECK(toml && strstr((char *)toml, "allowed_outbound_hosts = [\"http://127.0.0.1:1\"]"));
  free(toml);
  free(a);

  /* by digest too */
  char *dgref = oci_fmt("127.0.0.1:%u/zh/app@%s", reg->port, digest);
  char *out2 = oci_fmt("%s/pulled2", tmpdir);
  const char *pull2[] = {"registry", "pull", dgref, "-o", out2, "--cache-dir", cache, NULL};
  CHECK_EQ_INT(cli(&p, pull2, NULL), 0);
  zh_test_proc_free(&p);
  a = oci_fmt("%s/spin.toml", out), b = oci_fmt("%s/spin.toml", out2);
  CHECK(same_file(a, b));
  free(a), free(b);

  /* up --from: served from the registry through the cache */
  char *xdg = oci_fmt("XDG_CACHE_HOME=%s/xdg", tmpdir);
  const char *env[] = {xdg, "SPIN_VARIABLE_SECRET_ONE=s", "PATH=/usr/bin:/bin", NULL};
  const char *up[] = {"up", "--from", ref, "--listen", "127.0.0.1:0", NULL};
  zh_test_cli_server s;
  CHECK(
      zh_test_cli_start(&s, tmpdir, "up-from", up, env, "Serving http://127.0.0.1:", 30000, NULL));
  if (s.pid > 0) {
    zh_hc_response r;
    CHECK(zh_hc_get(s.port, "/hello/registry", &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "Hello, registry!"));
    zh_hc_response_free(&r);
    CHECK_EQ_INT(zh_test_cli_stop(&s), 0);
  } else {
    char *e = zh_test_cli_err(&s);
    fprintf(stderr, "up --from: %s\n", e);
    free(e);
  }
  a = oci_fmt("%s/xdg/zerohop/apps/%s/spin.toml", tmpdir, digest + 7);
  CHECK(access(a, F_OK) == 0);
  free(a);
  free(xdg);
  free(dgref);
  free(out2);
  free(out);
  free(cache);
  free(ref);
}

/* Finds the registry's data file of a blob: STORAGE/docker/registry/v2/blobs/sha256/XX/HEX/data */
static char *blob_data(const oci_registry *reg, const char *digest) {
  return oci_fmt("%s/docker/registry/v2/blobs/sha256/%.2s/%s/data", reg->storage, digest + 7,
                 digest + 7);
}

static void test_corrupt(const oci_registry *reg, const char *app) {
  /* a blob of its own, so the other tests' content stays intact */
  char *cmd = oci_fmt("printf 'corrupt me\\n' > %s/static/c.txt", app);
  CHECK(system(cmd) == 0);
  free(cmd);
  char *ref = oci_fmt("127.0.0.1:%u/zh/corrupt:v1", reg->port);
  zh_test_proc p;
  const char *push[] = {"registry", "push", "-f", app, ref, NULL};
  CHECK_EQ_INT(cli(&p, push, NULL), 0);
  zh_test_proc_free(&p);
  const char text[] = "corrupt me\n";
  char digest[ZH_OCI_DIGEST_LEN];
  oci_digest(text, sizeof text - 1, digest);
  char *data = blob_data(reg, digest);
  CHECK(access(data, F_OK) == 0);
  CHECK(oci_write(data, "CORRUPT ME\n", 11)); /* same size, other bytes */
  char *out = oci_fmt("%s/corrupt-out", tmpdir), *cache = oci_fmt("%s/corrupt-cache", tmpdir);
  const char *pull[] = {"registry", "pull", ref, "-o", out, "--cache-dir", cache, NULL};
  CHECK_EQ_INT(cli(&p, pull, NULL), 1);
  CHECK(p.err && strstr(p.err, digest) && strstr(p.err, "corrupt"));
  CHECK(p.err && strchr(p.err, '\n') == p.err + strlen(p.err) - 1); /* one line */
  zh_test_proc_free(&p);
  /* nothing corrupt was cached */
  char *cached = oci_fmt("%s/blobs/sha256/%s", cache, digest + 7);
  CHECK(access(cached, F_OK) != 0);
  free(cached);
  char *rm = oci_fmt("%s/static/c.txt", app);
  unlink(rm);
  free(rm);
  free(data);
  free(out);
  free(cache);
  free(ref);
}

/* A Docker config directory for an authenticating registry's tests. */
typedef struct docker_config {
  char *dir, *file, *env; /* tmpdir/NAME, its config.json, "DOCKER_CONFIG=dir"; owned */
} docker_config;

static void docker_config_free(docker_config *dc) { free(dc->dir), free(dc->file), free(dc->env); }

/* A push to an authenticating registry with no credentials (DOCKER_CONFIG names a directory
 * that does not exist): status 1 and `want` in the message. */
static void push_refused(const char *app, const char *ref, const char *want) {
  char *nodir = oci_fmt("DOCKER_CONFIG=%s/no-such-dir", tmpdir);
  const char *env_none[] = {nodir, NULL};
  zh_test_proc p;
  const char *push[] = {"registry", "push", "-f", app, ref, NULL};
  CHECK_EQ_INT(cli(&p, push, env_none), 1);
  CHECK(p.err && strstr(p.err, want));
  if (p.err && !strstr(p.err, want))
    fprintf(stderr, "push without credentials: %s", p.err);
  zh_test_proc_free(&p);
  free(nodir);
}

/* Writes tmpdir/NAME/config.json holding zh-user:zh-pass for 127.0.0.1:port, then pushes the
 * app to ref and pulls it back with it: both succeed and the component comes back byte for
 * byte. */
static void push_pull_authed(const char *app, const char *ref, uint16_t port, const char *name,
                             docker_config *dc) {
  dc->dir = oci_fmt("%s/%s", tmpdir, name);
  mkdir(dc->dir, 0700);
  dc->file = oci_fmt("%s/config.json", dc->dir);
  dc->env = oci_fmt("DOCKER_CONFIG=%s", dc->dir);
  char *json = oci_fmt("{\"auths\": {\"127.0.0.1:%u\": {\"auth\": \"emgtdXNlcjp6aC1wYXNz\"}}}",
                       port); /* base64 of zh-user:zh-pass */
  CHECK(oci_write(dc->file, json, strlen(json)));
  free(json);
  const char *env[] = {dc->env, NULL};
  zh_test_proc p;
  const char *push[] = {"registry", "push", "-f", app, ref, NULL};
  CHECK_EQ_INT(cli(&p, push, env), 0);
  zh_test_proc_free(&p);
  char *out = oci_fmt("%s-out", dc->dir), *cache = oci_fmt("%s-cache", dc->dir);
  const char *pull[] = {"registry", "pull", ref, "-o", out, "--cache-dir", cache, NULL};
  CHECK_EQ_INT(cli(&p, pull, env), 0);
  zh_test_proc_free(&p);
  char *a = oci_fmt("%s/hello.wasm", out), *b = oci_fmt("%s/hello.wasm", app);
  CHECK(same_file(a, b));
  free(a), free(b), free(out), free(cache);
}

static void test_auth(const char *app) {
  char *htpasswd = oci_fmt("%s/htpasswd", tmpdir);
  char *cmd = oci_fmt("/usr/bin/htpasswd -Bbc %s zh-user zh-pass 2>/dev/null", htpasswd);
  CHECK(system(cmd) == 0);
  free(cmd);
  oci_registry reg;
  char *auth = oci_fmt("  htpasswd:\n    realm: zerohop-test\n    path: %s\n", htpasswd);
  CHECK(oci_registry_start(&reg, tmpdir, "auth", auth));
  free(auth);
  char *ref = oci_fmt("127.0.0.1:%u/zh/private:v1", reg.port);
  push_refused(app, ref, "HTTP 401 unauthorized, and no credentials for 127.0.0.1:");
  zh_test_proc p;
  /* a Docker config file with the right pair */
  docker_config dc;
  push_pull_authed(app, ref, reg.port, "docker", &dc);
  const char *env_ok[] = {dc.env, NULL};
  char *out = oci_fmt("%s/auth-out", tmpdir), *cache = oci_fmt("%s/auth-cache", tmpdir);
  const char *pull[] = {"registry", "pull", ref, "-o", out, "--cache-dir", cache, NULL};
  /* a wrong password */
  char *json = oci_fmt("{\"auths\": {\"127.0.0.1:%u\": {\"auth\": \"emgtdXNlcjp3cm9uZw==\"}}}",
                       reg.port); /* zh-user:wrong */
  CHECK(oci_write(dc.file, json, strlen(json)));
  CHECK_EQ_INT(cli(&p, pull, env_ok), 1);
  CHECK(p.err && strstr(p.err, "401 unauthorized with the credentials"));
  zh_test_proc_free(&p);
  /* a config that is not JSON is named */
  CHECK(oci_write(dc.file, "{nope", 5));
  CHECK_EQ_INT(cli(&p, pull, env_ok), 1);
  CHECK(p.err && strstr(p.err, "config.json:1:"));
  zh_test_proc_free(&p);
  oci_registry_stop(&reg);
  free(out), free(cache), free(json), free(ref);
  docker_config_free(&dc);
  free(htpasswd);
}

static void test_bad_refs(const oci_registry *reg) {
  zh_test_proc p;
  struct {
    const char *ref, *want;
  } cases[] = {
      {"app:v1", "names its registry"},       {"127.0.0.1:5000/App:v1", "bad repository"},
      {"127.0.0.1:5000/app:-bad", "bad tag"}, {"127.0.0.1:5000/app@sha256:abc", "sha256: and 64"},
      {"127.0.0.1:1/app:v1", "127.0.0.1:1"}, /* nothing listens on port 1 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *pull[] = {"registry", "pull", cases[i].ref, "-o", tmpdir, NULL};
    CHECK_EQ_INT(cli(&p, pull, NULL), 1);
    CHECK(p.err && strstr(p.err, cases[i].want));
    if (p.err && !strstr(p.err, cases[i].want))
      fprintf(stderr, "%s: %s", cases[i].ref, p.err);
    zh_test_proc_free(&p);
  }
  /* a tag the registry does not have */
  char *ref = oci_fmt("127.0.0.1:%u/zh/app:nope", reg->port);
  const char *pull[] = {"registry", "pull", ref, "-o", tmpdir, NULL};
  CHECK_EQ_INT(cli(&p, pull, NULL), 1);
  CHECK(p.err && strstr(p.err, "HTTP 404") && strstr(p.err, "MANIFEST_UNKNOWN"));
  zh_test_proc_free(&p);
  free(ref);
  const char *nosub[] = {"registry", "fetch", NULL};
  CHECK_EQ_INT(cli(&p, nosub, NULL), 2);
  zh_test_proc_free(&p);
}

/* An image layout tar goes into the registry with skopeo, and comes back as wasip1/wasm. */
static void test_skopeo_copy(const oci_registry *reg) {
  char *tar = oci_fmt("%s/image.oci.tar", tmpdir);
  zh_test_proc p;
  const char *build[] = {"image", "build", "-f", "examples/app", "-o", tar, NULL};
  CHECK_EQ_INT(cli(&p, build, NULL), 0);
  zh_test_proc_free(&p);
  char *src = oci_fmt("oci-archive:%s", tar);
  char *dst = oci_fmt("docker://127.0.0.1:%u/zh/image:wasm", reg->port);
  const char *copy[] = {"/usr/bin/skopeo", "copy", "--dest-tls-verify=false", src, dst, NULL};
  CHECK_EQ_INT(oci_run(&p, 120000, copy), 0);
  zh_test_proc_free(&p);
  const char *sk[] = {"/usr/bin/skopeo", "inspect", "--tls-verify=false", dst, NULL};
  CHECK_EQ_INT(oci_run(&p, 60000, sk), 0);
  CHECK(p.out && strstr(p.out, "\"Os\": \"wasip1\"") &&
        strstr(p.out, "\"Architecture\": \"wasm\""));
  zh_test_proc_free(&p);
  free(src);
  free(dst);
  free(tar);
}

/* The Bearer flow: docker-registry in token mode, trusting the certificate of a token service
 * (tests/oci/token_server.py) that wants Basic credentials and signs RS256 JWTs. */
static void test_token(const char *app) {
  char *key = oci_fmt("%s/token.key", tmpdir), *cert = oci_fmt("%s/token.crt", tmpdir);
  char *cmd = oci_fmt("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
                      "-subj /CN=zerohop-token 2>/dev/null",
                      key, cert);
  CHECK(system(cmd) == 0);
  free(cmd);
  uint16_t tport = zh_test_free_port();
  char port[16];
  snprintf(port, sizeof port, "%u", tport);
  pid_t tok = fork();
  if (tok == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    execl("/usr/bin/python3", "python3", "tests/oci/token_server.py", port, key, cert,
          "zerohop-issuer", "zh-user:zh-pass", (char *)NULL);
    _exit(127);
  }
  CHECK(zh_test_wait_port(tport, 5000));
  char *auth = oci_fmt("  token:\n    realm: http://127.0.0.1:%u/token\n    service: zerohop-test\n"
                       "    issuer: zerohop-issuer\n    rootcertbundle: %s\n",
                       tport, cert);
  oci_registry reg;
  CHECK(oci_registry_start(&reg, tmpdir, "token", auth));
  free(auth);
  char *ref = oci_fmt("127.0.0.1:%u/zh/tokened:v1", reg.port);
  push_refused(app, ref, "HTTP 401 from the token service");
  docker_config dc;
  push_pull_authed(app, ref, reg.port, "docker-token", &dc);
  oci_registry_stop(&reg);
  if (tok > 0) {
    kill(tok, SIGTERM);
    zh_test_wait_exit(tok, 5000);
  }
  docker_config_free(&dc);
  free(ref);
  free(key), free(cert);
}

int main(void) {
  if (!mkdtemp(tmpdir))
    return 1;
  oci_registry reg;
  bool up = oci_registry_start(&reg, tmpdir, "plain", NULL);
  CHECK(up);
  if (up) {
    char *app = make_app();
    test_push_pull(&reg, app);
    test_corrupt(&reg, app);
    test_bad_refs(&reg);
    test_skopeo_copy(&reg);
    test_auth(app);
    test_token(app);
    free(app);
  }
  oci_registry_stop(&reg);
  char *rm = oci_fmt("rm -rf %s", tmpdir);
  if (system(rm) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  free(rm);
  TEST_SUMMARY();
}
