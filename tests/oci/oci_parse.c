/* The OCI parsers on hand-made bad input: each refusal is one line naming the document and
 * the place (JSON path, line:col, byte offset), and each acceptance gives the fields back.
 * Manifests and indexes, image configs, ustar archives, references, the locked app (whose
 * paths become files: `..` and bad ids are refused before anything is written). */
#include "ocitest.h"

#include <sys/stat.h>

static char tmpdir[] = "/tmp/zh-oci-parse-XXXXXX";

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Parses `json` as a manifest; the error message (malloc'd) or NULL when it parsed. */
static char *manifest_error(const char *json) {
  zh_oci_manifest *m = NULL;
  zh_error *err = zh_oci_manifest_parse(json, strlen(json), "m.json", &m);
  zh_oci_manifest_free(m);
  if (!err)
    return NULL;
  char *msg = strdup(zh_error_message(err));
  CHECK(strchr(msg, '\n') == NULL);
  zh_error_free(err);
  return msg;
}

static void expect_manifest_error(const char *json, const char *want) {
  char *msg = manifest_error(json);
  CHECK(msg && strstr(msg, want));
  if (!msg || !strstr(msg, want))
    fprintf(stderr, "want `%s`, got `%s`\n", want, msg ? msg : "(parsed)");
  free(msg);
}

static void test_manifests(void) {
  const char *good = "{\"schemaVersion\":2,\"mediaType\":\"" ZH_OCI_MT_MANIFEST "\","
                     "\"config\":{\"mediaType\":\"" ZH_OCI_MT_SPIN_CONFIG
                     "\",\"digest\":\"sha256:" D64 "\",\"size\":10},"
                     "\"layers\":[{\"mediaType\":\"" ZH_OCI_MT_WASM_LAYER
                     "\",\"digest\":\"sha256:" D64 "\",\"size\":3,\"annotations\":"
                     "{\"org.opencontainers.image.title\":\"a.wasm\"}}]}";
  zh_oci_manifest *m = NULL;
  zh_error *err = zh_oci_manifest_parse(good, strlen(good), "m.json", &m);
  CHECK(!err && m && !m->is_index && m->nentries == 1);
  if (m) {
    CHECK(!strcmp(m->config.media_type, ZH_OCI_MT_SPIN_CONFIG) && m->config.size == 10);
    CHECK(!strcmp(m->entries[0].title, "a.wasm") && m->entries[0].size == 3);
  }
  zh_oci_manifest_free(m);
  zh_error_free(err);
  expect_manifest_error("{\"schemaVersion\":1,\"layers\":[]}", "m.json: schemaVersion must be 2");
  expect_manifest_error("{\"schemaVersion\":2,\n \"layers\": [}", "m.json:2:");
  expect_manifest_error("[1]", "m.json: not a JSON object");
  expect_manifest_error("{\"schemaVersion\":2}", "neither `manifests` nor `layers`");
  expect_manifest_error("{\"schemaVersion\":2,\"layers\":[],\"manifests\":[]}",
                        "both `manifests` and `layers`");
  expect_manifest_error("{\"schemaVersion\":2,\"layers\":[]}", "config is missing");
  expect_manifest_error(
      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:" D64
      "\",\"size\":1},\"layers\":[{\"mediaType\":\"x\",\"digest\":\"sha256:"
      "ABC\",\"size\":1}]}",
      "layers[0].digest `sha256:ABC` is not a sha256 digest");
  expect_manifest_error(
      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:" D64
      "\",\"size\":-1},\"layers\":[]}",
      "config.size must be a non-negative integer");
  expect_manifest_error("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:" D64
                        "\",\"size\":1}]}",
                        "manifests[0].mediaType is missing");
  expect_manifest_error("{\"schemaVersion\":2,\"schemaVersion\":2,\"layers\":[]}", "m.json:1:");
  /* a digest with a newline is shown cleaned: still one line */
  expect_manifest_error("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"a\\nb\","
                        "\"size\":1},\"layers\":[]}",
                        "`a?b`");
  /* larger than a registry would hold */
  size_t big = (4u << 20) + 1;
  char *huge = malloc(big);
  memset(huge, ' ', big);
  zh_oci_manifest *hm = NULL;
  err = zh_oci_manifest_parse(huge, big, "m.json", &hm);
  CHECK(err && strstr(zh_error_message(err), "more than the 4194304"));
  zh_error_free(err);
  free(huge);
}

static void test_config(void) {
  const char *ok = "{\"os\":\"wasip1\",\"architecture\":\"wasm\",\"rootfs\":{\"type\":\"layers\","
                   "\"diff_ids\":[\"sha256:" D64 "\"]},\"config\":{\"Entrypoint\":[\"/\"]}}";
  zh_oci_config *c = NULL;
  zh_error *err = zh_oci_config_parse(ok, strlen(ok), "c.json", &c);
  CHECK(!err && c && c->ndiff_ids == 1 && c->nentrypoint == 1 && !strcmp(c->os, "wasip1"));
  zh_oci_config_free(c);
  zh_error_free(err);
  const char *bad = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"diff_ids\":[7]}}";
  err = zh_oci_config_parse(bad, strlen(bad), "c.json", &c);
  CHECK(err && strstr(zh_error_message(err), "c.json: diff_ids[0] must be a string"));
  zh_error_free(err);
  const char *noos = "{\"architecture\":\"amd64\",\"rootfs\":{}}";
  err = zh_oci_config_parse(noos, strlen(noos), "c.json", &c);
  CHECK(err && strstr(zh_error_message(err), "c.json: os is missing"));
  zh_error_free(err);
}

static zh_error *count_entry(void *ctx, const char *name, const unsigned char *data, size_t len,
                             unsigned mode) {
  (void)name, (void)data, (void)mode;
  *(size_t *)ctx += len + 1;
  return NULL;
}

static void test_tar(void) {
  zh_oci_buf t = {0};
  CHECK(zh_oci_tar_dir(&t, "d/") == NULL);
  CHECK(zh_oci_tar_file(&t, "d/a.txt", "hello", 5, 0644) == NULL);
  char longname[200];
  memset(longname, 'x', sizeof longname);
  memcpy(longname + 120, "/", 1);
  longname[199] = '\0'; /* 120 bytes, '/', 78 bytes: needs the ustar prefix */
  CHECK(zh_oci_tar_file(&t, longname, "12", 2, 0755) == NULL);
  zh_oci_tar_end(&t);
  oci_entries e;
  CHECK(oci_untar(t.data, t.len, &e));
  CHECK(e.n == 2 && !strcmp(e.items[0].name, "d/a.txt") && e.items[0].len == 5 &&
        !strcmp(e.items[1].name, longname) && e.items[1].mode == 0755);
  oci_entries_free(&e);
  /* a name with no slash to split at is refused */
  char flat[160];
  memset(flat, 'y', sizeof flat - 1);
  flat[sizeof flat - 1] = '\0';
  zh_error *err = zh_oci_tar_file(&t, flat, "", 0, 0644);
  CHECK(err && strstr(zh_error_message(err), "too long for ustar"));
  zh_error_free(err);
  /* damaged: checksum, truncation */
  size_t n = 0;
  t.data[148] ^= 1;
  err = zh_oci_tar_each(t.data, t.len, "l.tar", count_entry, &n);
  CHECK(err && strstr(zh_error_message(err), "l.tar: tar header at byte 0: bad"));
  zh_error_free(err);
  t.data[148] ^= 1;
  err = zh_oci_tar_each(t.data, 512 + 512 + 100, "l.tar", count_entry, &n);
  CHECK(err && strstr(zh_error_message(err), "l.tar: tar entry at byte 512: its 5 bytes run past"));
  zh_error_free(err);
  err = zh_oci_tar_each(t.data, 512 + 3, "l.tar", count_entry, &n);
  CHECK(err && strstr(zh_error_message(err), "l.tar: tar truncated at byte 512"));
  zh_error_free(err);
  zh_oci_buf_free(&t);
}

static void test_refs(void) {
  zh_oci_ref *r = NULL;
  zh_error *err = zh_oci_ref_parse("127.0.0.1:5000/a/b-c:v1.2", &r);
  CHECK(!err && r && !strcmp(r->host, "127.0.0.1:5000") && !strcmp(r->repo, "a/b-c") &&
        !strcmp(r->tag, "v1.2") && !r->digest);
  zh_oci_ref_free(r);
  err = zh_oci_ref_parse("localhost/app@sha256:" D64, &r);
  CHECK(!err && r && !r->tag && r->digest && !strcmp(r->repo, "app"));
  zh_oci_ref_free(r);
  err = zh_oci_ref_parse("example.test/app", &r);
  CHECK(!err && r && !strcmp(r->tag, "latest"));
  zh_oci_ref_free(r);
  const char *bad[][2] = {{"app:v1", "names its registry"},
                          {"host.test/a//b", "bad repository"},
                          {"host.test/a-", "bad repository"},
                          {"host.test/a:", "bad tag"},
                          {"host.test/a b", "no spaces or control characters"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err = zh_oci_ref_parse(bad[i][0], &r);
    CHECK(err && strstr(zh_error_message(err), bad[i][1]));
    zh_error_free(err);
  }
  CHECK(zh_oci_ref_looks_like("127.0.0.1:5000/app"));
  CHECK(zh_oci_ref_looks_like("localhost/app:v1"));
  CHECK(!zh_oci_ref_looks_like("examples/app"));
  CHECK(!zh_oci_ref_looks_like("./dir/spin.toml"));
}

static int puts_seen;
static zh_error *put_nothing(void *ctx, const char *digest, const char *dest) {
  (void)ctx, (void)digest, (void)dest;
  puts_seen++;
  return NULL;
}

static char *locked_error(const char *json) {
  char *dir = oci_fmt("%s/locked", tmpdir);
  zh_error *err =
      zh_oci_locked_materialise(json, strlen(json), "locked.json", dir, put_nothing, NULL);
  free(dir);
  if (!err)
    return NULL;
  char *msg = strdup(zh_error_message(err));
  zh_error_free(err);
  return msg;
}

static void test_locked(void) {
  const char *ok =
      "{\"spin_lock_version\":1,\"metadata\":{\"name\":\"a\\\"b\"},"
      "\"triggers\":[{\"id\":\"t\",\"trigger_type\":\"http\",\"trigger_config\":"
      "{\"component\":\"c\",\"route\":\"/x\"}}],"
      "\"components\":[{\"id\":\"c\",\"source\":{\"content_type\":\"application/wasm\","
      "\"digest\":\"sha256:" D64 "\"},\"files\":[{\"digest\":\"sha256:" D64
      "\",\"path\":\"/s/f.txt\"}]}]}";
  puts_seen = 0;
  char *msg = locked_error(ok);
  CHECK(msg == NULL && puts_seen == 2);
  free(msg);
  char *toml = oci_fmt("%s/locked/spin.toml", tmpdir);
  uint8_t *text = NULL;
  size_t n = 0;
  CHECK(zh_test_read_file(toml, &text, &n));
  CHECK(text && strstr((char *)text, "name = \"a\\\"b\"") &&
        strstr((char *)text, "files = [{ source = \"files/c\", destination = \"/\" }]"));
  free(text);
  free(toml);
  struct {
    const char *json, *want;
  } bad[] = {
      {"{\"spin_lock_version\":7}", "locked.json: spin_lock_version must be 0 or 1"},
      {"{\"spin_lock_version\":1,\"components\":[{\"id\":\"../x\",\"source\":{\"digest\":"
       "\"sha256:" D64 "\"}}]}",
       "components[0].id must be a component id"},
      {"{\"spin_lock_version\":1,\"components\":[{\"id\":\"c\",\"source\":{\"digest\":\"sha256:" D64
       "\"},\"files\":[{\"digest\":\"sha256:" D64 "\",\"path\":\"a/../../etc/x\"}]}]}",
       "files[0] needs a digest and a relative path without `..`"},
      {"{\"spin_lock_version\":1,\"components\":[{\"id\":\"c\",\"source\":{}}]}",
       "component `c`: source.digest is missing or bad"},
      {"{\"spin_lock_version\":1,\"triggers\":[{\"trigger_type\":\"timer\",\"trigger_config\":"
       "{\"component\":\"c\"}}]}",
       "trigger type `timer` is not supported"},
      {"{\"spin_lock_version\":1,\n\"x\":}", "locked.json:2:"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    msg = locked_error(bad[i].json);
    CHECK(msg && strstr(msg, bad[i].want) && !strchr(msg, '\n'));
    if (!msg || !strstr(msg, bad[i].want))
      fprintf(stderr, "want `%s`, got `%s`\n", bad[i].want, msg ? msg : "(loaded)");
    free(msg);
  }
}

int main(void) {
  if (!mkdtemp(tmpdir))
    return 1;
  test_manifests();
  test_config();
  test_tar();
  test_refs();
  test_locked();
  char *rm = oci_fmt("rm -rf %s", tmpdir);
  if (system(rm) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  free(rm);
  TEST_SUMMARY();
}
