/* `zerohop k8s scaffold`: the YAML loads into python3-kubernetes' typed models with no field
 * lost (tests/oci/k8s_models.py, Debian's /usr/bin/python3), and the wiring holds: the
 * runtimeClassName and the RuntimeClass's handler, ports and selectors, and with --redis the
 * runtime config and the variables naming the Redis Service that redis.yaml creates. The
 * runtime config is read back by zerohop's own parser. */
#include "host/runtime_config.h"
#include "ocitest.h"

#include <jansson.h>
#include <sys/stat.h>

static char tmpdir[] = "/tmp/zh-oci-k8s-XXXXXX";

/* The checker's JSON for `dir`; NULL if it did not run. */
static json_t *models(const char *dir) {
  zh_test_proc p;
  const char *argv[] = {"/usr/bin/python3", "tests/oci/k8s_models.py", dir, NULL};
  if (oci_run(&p, 60000, argv) != 0) {
    zh_test_proc_free(&p);
    return NULL;
  }
  json_t *doc = json_loads(p.out, 0, NULL);
  zh_test_proc_free(&p);
  return doc;
}

static size_t problems(json_t *doc) {
  json_t *pr = json_object_get(doc, "problems");
  for (size_t i = 0; i < json_array_size(pr); i++)
    fprintf(stderr, "k8s model: %s\n", json_string_value(json_array_get(pr, i)));
  return json_array_size(pr);
}

static json_t *find(json_t *doc, const char *kind, const char *name) {
  json_t *docs = json_object_get(doc, "docs");
  for (size_t i = 0; i < json_array_size(docs); i++) {
    json_t *d = json_object_get(json_array_get(docs, i), "doc");
    const char *k = json_string_value(json_object_get(d, "kind"));
    const char *n = json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));
    if (k && n && !strcmp(k, kind) && !strcmp(n, name))
      return d;
  }
  return NULL;
}

/* doc at a path of object keys and array indexes ("spec", "ports", "0", ...), NULL-ended */
static json_t *at(json_t *d, ...) {
  va_list ap;
  va_start(ap, d);
  for (const char *k; d && (k = va_arg(ap, const char *)) != NULL;)
    d = json_is_array(d) ? json_array_get(d, (size_t)atoi(k)) : json_object_get(d, k);
  va_end(ap);
  return d;
}

static bool str_is(json_t *v, const char *want) {
  bool ok = json_is_string(v) && !strcmp(json_string_value(v), want);
  if (!ok)
    fprintf(stderr, "want \"%s\", got %s\n", want, json_is_string(v) ? json_string_value(v) : "?");
  return ok;
}

static char *write_app(void) {
  char *dir = oci_fmt("%s/app", tmpdir);
  mkdir(dir, 0755);
  char *path = oci_fmt("%s/spin.toml", dir);
  static const char toml[] =
      "spin_manifest_version = 2\n[application]\nname = \"Mixed Demo\"\nversion = \"2.0.0\"\n"
      "[application.trigger.redis]\naddress = \"{{ redis_address }}\"\n"
      "[variables]\ngreeting = { default = \"Hi\" }\nredis_address = { required = true }\n"
      "redis_host = { default = \"localhost:6379\" }\n"
      "[[trigger.http]]\nroute = \"/hello/...\"\ncomponent = \"hello\"\n"
      "[[trigger.redis]]\nchannel = \"events\"\ncomponent = \"hello\"\n"
      "[component.hello]\nsource = \"hello.wasm\"\nkey_value_stores = [\"default\", \"cache\"]\n"
      "allowed_outbound_hosts = [\"redis://{{ redis_host }}\"]\n";
  CHECK(oci_write(path, toml, sizeof toml - 1));
  free(path);
  return dir;
}

static void test_redis(const char *app) {
  char *out = oci_fmt("%s/redis", tmpdir);
  zh_test_proc p;
  const char *argv[] = {oci_cli(), "k8s",     "scaffold", "-f",
                        app,       "--redis", "--image",  "127.0.0.1:5000/zh/mixed:v2",
                        "-o",      out,       NULL};
  CHECK_EQ_INT(oci_run(&p, 30000, argv), 0);
  zh_test_proc_free(&p);
  json_t *doc = models(out);
  CHECK(doc != NULL);
  CHECK_EQ_INT(problems(doc), 0);
  CHECK_EQ_INT(json_array_size(json_object_get(doc, "docs")), 7);
  json_t *rc = find(doc, "RuntimeClass", "zerohop");
  CHECK(str_is(at(rc, "handler", NULL), "zerohop"));
  json_t *dep = find(doc, "Deployment", "mixed-demo");
  CHECK(str_is(at(dep, "spec", "template", "spec", "runtimeClassName", NULL), "zerohop"));
  json_t *c0 = at(dep, "spec", "template", "spec", "containers", "0", NULL);
  CHECK(str_is(at(c0, "image", NULL), "127.0.0.1:5000/zh/mixed:v2"));
  CHECK_EQ_INT(json_integer_value(at(c0, "ports", "0", "containerPort", NULL)), 80);
  CHECK(str_is(at(c0, "env", "0", "value", NULL), "0.0.0.0:80"));
  CHECK(str_is(at(c0, "volumeMounts", "0", "mountPath", NULL), "/runtime-config.toml"));
  json_t *svc = find(doc, "Service", "mixed-demo");
  CHECK_EQ_INT(json_integer_value(at(svc, "spec", "ports", "0", "port", NULL)), 80);
  CHECK_EQ_INT(json_integer_value(at(svc, "spec", "ports", "0", "targetPort", NULL)), 80);
  CHECK(json_equal(at(svc, "spec", "selector", NULL),
                   at(dep, "spec", "template", "metadata", "labels", NULL)));
  /* Redis: the Service the app's config names exists, and selects the Redis pods */
  json_t *rsvc = find(doc, "Service", "mixed-demo-redis");
  json_t *rdep = find(doc, "Deployment", "mixed-demo-redis");
  CHECK(rsvc && rdep);
  CHECK_EQ_INT(json_integer_value(at(rsvc, "spec", "ports", "0", "port", NULL)), 6379);
  CHECK_EQ_INT(json_integer_value(at(rdep, "spec", "template", "spec", "containers", "0", "ports",
                                     "0", "containerPort", NULL)),
               6379);
  CHECK(json_equal(at(rsvc, "spec", "selector", NULL),
                   at(rdep, "spec", "template", "metadata", "labels", NULL)));
  json_t *cm = find(doc, "ConfigMap", "mixed-demo-runtime-config");
  const char *text = json_string_value(at(cm, "data", "runtime-config.toml", NULL));
  CHECK(text != NULL);
  zh_runtime_config *cfg = NULL;
  zh_error *err =
      text ? zh_runtime_config_parse(text, strlen(text), "runtime-config.toml", "/", &cfg) : NULL;
  CHECK(err == NULL && cfg != NULL);
  if (err)
    fprintf(stderr, "%s\n", zh_error_message(err));
  zh_error_free(err);
  CHECK(cfg && cfg->nkv_stores == 2);
  for (size_t i = 0; cfg && i < cfg->nkv_stores; i++) {
    CHECK(cfg->kv_stores[i].type == ZH_RUNTIME_STORE_REDIS);
    CHECK(cfg->kv_stores[i].url && !strcmp(cfg->kv_stores[i].url, "redis://mixed-demo-redis:6379"));
  }
  zh_runtime_config_free(cfg);
  json_t *sec = find(doc, "Secret", "mixed-demo-variables");
  CHECK(str_is(at(sec, "stringData", "SPIN_VARIABLE_REDIS_ADDRESS", NULL),
               "redis://mixed-demo-redis:6379"));
  CHECK(str_is(at(sec, "stringData", "SPIN_VARIABLE_REDIS_HOST", NULL), "mixed-demo-redis:6379"));
  CHECK(str_is(at(sec, "stringData", "SPIN_VARIABLE_GREETING", NULL), "Hi"));
  CHECK(str_is(at(dep, "spec", "template", "spec", "containers", "0", "envFrom", "0", "secretRef",
                  "name", NULL),
               "mixed-demo-variables"));
  json_decref(doc);
  char *snippet = oci_fmt("%s/containerd-config.toml", out);
  uint8_t *s = NULL;
  size_t n = 0;
  CHECK(zh_test_read_file(snippet, &s, &n));
  CHECK(s && strstr((char *)s, "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes."
                               "zerohop]\n  runtime_type = \"io.containerd.zerohop.v2\""));
  free(s);
  free(snippet);
  char *readme = oci_fmt("%s/README.md", out);
  CHECK(access(readme, F_OK) == 0);
  free(readme);
  free(out);
}

static void test_plain(const char *app) {
  char *out = oci_fmt("%s/plain", tmpdir);
  zh_test_proc p;
  const char *argv[] = {oci_cli(), "k8s", "scaffold", "-f", app, "--plain", "-o", out, NULL};
  CHECK_EQ_INT(oci_run(&p, 30000, argv), 0);
  zh_test_proc_free(&p);
  json_t *doc = models(out);
  CHECK(doc != NULL);
  CHECK_EQ_INT(problems(doc), 0);
  CHECK(find(doc, "RuntimeClass", "zerohop") == NULL);
  json_t *dep = find(doc, "Deployment", "mixed-demo");
  CHECK(dep && at(dep, "spec", "template", "spec", "runtimeClassName", NULL) == NULL);
  CHECK(str_is(at(dep, "spec", "template", "spec", "containers", "0", "image", NULL),
               "zerohop.local/mixed-demo:2.0.0"));
  CHECK(str_is(at(dep, "spec", "template", "spec", "containers", "0", "args", "1", NULL),
               "/etc/zerohop/runtime-config.toml"));
  CHECK(find(doc, "Service", "mixed-demo-redis") == NULL);
  json_decref(doc);
  free(out);
}

/* The checker itself catches a misspelt field. */
static void test_checker(void) {
  char *dir = oci_fmt("%s/bad", tmpdir);
  mkdir(dir, 0755);
  char *path = oci_fmt("%s/x.yaml", dir);
  static const char y[] = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n"
                          "  selector: {matchLabels: {a: b}}\n  template:\n    spec:\n"
                          "      runtimeClasName: zerohop\n      containers: []\n";
  CHECK(oci_write(path, y, sizeof y - 1));
  json_t *doc = models(dir);
  json_t *pr = json_object_get(doc, "problems");
  CHECK(json_array_size(pr) == 1 &&
        strstr(json_string_value(json_array_get(pr, 0)), "runtimeClasName: unknown field"));
  json_decref(doc);
  free(path);
  free(dir);
}

static void test_errors(void) {
  zh_test_proc p;
  char *dir = oci_fmt("%s/broken", tmpdir);
  mkdir(dir, 0755);
  char *path = oci_fmt("%s/spin.toml", dir);
  CHECK(oci_write(path, "spin_manifest_version = 2\n[application\n", 40));
  char *out = oci_fmt("%s/broken-out", tmpdir);
  const char *argv[] = {oci_cli(), "k8s", "scaffold", "-f", dir, "-o", out, NULL};
  CHECK(zh_test_spawn(argv, NULL, NULL, 0, 10000, &p));
  CHECK(p.exited && p.status == 1 && strstr(p.err, "spin.toml:2:"));
  zh_test_proc_free(&p);
  const char *noout[] = {oci_cli(), "k8s", "scaffold", "-f", dir, NULL};
  CHECK(zh_test_spawn(noout, NULL, NULL, 0, 10000, &p));
  CHECK(p.exited && p.status == 2 && strstr(p.err, "-o DIR is required"));
  zh_test_proc_free(&p);
  free(out);
  free(path);
  free(dir);
}

int main(void) {
  if (!mkdtemp(tmpdir))
    return 1;
  char *app = write_app();
  test_redis(app);
  test_plain(app);
  test_checker();
  test_errors();
  free(app);
  char *rm = oci_fmt("rm -rf %s", tmpdir);
  if (system(rm) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  free(rm);
  TEST_SUMMARY();
}
