/* spin.toml v2 (src/host/manifest.c): a manifest with every field read into the struct,
 * Spin's documented examples, every error with its exact message (file:line:col and key),
 * loading from a file and a directory, and files expansion on a real directory tree. */
#include "host/manifest.h"
#include "testlib.h"
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Manifests live in tests/toml/manifests/, where fuzz_manifest takes them as seeds too.
 * Tests run from the repository's root. */
#define MANIFESTS "tests/toml/manifests/"

static char *read_manifest(const char *name) {
  char path[256];
  uint8_t *data;
  size_t len;
  snprintf(path, sizeof path, MANIFESTS "%s", name);
  return zh_test_read_file(path, &data, &len) ? (char *)data : NULL;
}

static zh_manifest *parse(const char *text, char **msg) {
  zh_manifest *m = NULL;
  zh_error *err = zh_manifest_parse(text, strlen(text), "spin.toml", "/app", &m);
  if (msg)
    *msg = err ? strdup(zh_error_message(err)) : NULL;
  zh_error_free(err);
  return m;
}

static void test_full(void) {
  char *msg = NULL, *full = read_manifest("full.toml");
  zh_manifest *m = full ? parse(full, &msg) : NULL;
  free(full);
  CHECK(m != NULL);
  if (!m) {
    fprintf(stderr, "full manifest: %s\n", msg);
    free(msg);
    return;
  }
  CHECK(strcmp(m->name, "full-app") == 0 && strcmp(m->version, "1.2.3") == 0);
  CHECK(strcmp(m->description, "Every field") == 0);
  CHECK(m->authors.len == 2 && strcmp(m->authors.items[1], "Bob") == 0);
  CHECK(strcmp(m->http_base, "/base") == 0);
  CHECK(strcmp(m->redis_address, "redis://127.0.0.1:{{ redis_port }}") == 0);
  CHECK(strcmp(m->base_dir, "/app") == 0);

  CHECK_EQ_INT(m->nvariables, 3);
  const zh_manifest_variable *v = zh_manifest_variable_find(m, "api_key");
  CHECK(v && v->required && v->secret && !v->default_value && v->line == 15 && v->col == 1);
  v = zh_manifest_variable_find(m, "greeting");
  CHECK(v && !v->required && !v->secret && strcmp(v->default_value, "hello") == 0);

  /* Two declared components and one inline, named as Spin names it. */
  CHECK_EQ_INT(m->ncomponents, 3);
  const zh_manifest_component *api = zh_manifest_component_find(m, "api");
  CHECK(api != NULL);
  if (api) {
    CHECK(strcmp(api->description, "The API") == 0);
    CHECK(api->source_kind == ZH_MANIFEST_SOURCE_PATH);
    CHECK(strcmp(api->source, "/app/target/api.wasm") == 0);
    CHECK_EQ_INT(api->nfiles, 2);
    CHECK(strcmp(api->files[0].source, "static/*.txt") == 0 && !api->files[0].destination);
    CHECK(strcmp(api->files[1].source, "assets") == 0 &&
          strcmp(api->files[1].destination, "/assets") == 0);
    CHECK(api->exclude_files.len == 1);
    CHECK_EQ_INT(api->nenvironment, 2);
    CHECK(strcmp(api->environment[0].key, "RUST_LOG") == 0 &&
          strcmp(api->environment[1].value, "test") == 0);
    CHECK(api->allowed_outbound_hosts.len == 2);
    CHECK(api->key_value_stores.len == 2 && strcmp(api->key_value_stores.items[1], "cache") == 0);
    CHECK(api->sqlite_databases.len == 1);
    CHECK_EQ_INT(api->nvariables, 2);
    CHECK(strcmp(api->variables[0].key, "message") == 0 &&
          strcmp(api->variables[0].value, "{{ greeting }}, world") == 0);
    CHECK(api->has_build && strcmp(api->build_command, "make api") == 0);
    CHECK(strcmp(api->build_workdir, "api") == 0 && api->build_watch.len == 1);
    CHECK(api->dependencies_inherit_configuration);
    CHECK_EQ_INT(api->ndependencies, 2);
    CHECK(strcmp(api->dependencies[0].name, "example:calc/add") == 0 &&
          strcmp(api->dependencies[0].path, "/app/deps/add.wasm") == 0);
    CHECK(strcmp(api->dependencies[1].version, "1.0.0") == 0);
    CHECK(!api->is_inline);
  }
  const zh_manifest_component *in = zh_manifest_component_find(m, "internal");
  CHECK(in && in->source_kind == ZH_MANIFEST_SOURCE_URL &&
        strcmp(in->source, "/opt/app/internal.wasm") == 0 && in->source_digest);
  CHECK(in && strcmp(in->build_command, "npm install && npm run build") == 0 &&
        in->build_commands.len == 2);
  const zh_manifest_component *cgi = zh_manifest_component_find(m, "http-trigger1-component");
  CHECK(cgi && cgi->is_inline && strcmp(cgi->source, "/app/cgi.wasm") == 0);

  CHECK_EQ_INT(m->nhttp, 4);
  if (m->nhttp == 4) {
    CHECK(strcmp(m->http[0].route, "/api/...") == 0 && strcmp(m->http[0].component, "api") == 0);
    CHECK(strcmp(m->http[0].id, "api-http-trigger") == 0 && !m->http[0].wagi);
    CHECK(m->http[1].is_private && !m->http[1].route);
    CHECK(m->http[2].wagi && strcmp(m->http[2].wagi_argv, "${SCRIPT_NAME} -v ${ARGS}") == 0 &&
          strcmp(m->http[2].wagi_entrypoint, "_start") == 0);
    CHECK(strcmp(m->http[2].component, "http-trigger1-component") == 0);
    CHECK(m->http[3].has_static_response && m->http[3].static_status == 418 &&
          !m->http[3].component && strcmp(m->http[3].static_body, "short and stout") == 0 &&
          m->http[3].nstatic_headers == 1 && strcmp(m->http[3].id, "teapot") == 0);
    CHECK(m->http[1].line == 22 && m->http[1].col == 11);
  }
  CHECK_EQ_INT(m->nredis, 2);
  if (m->nredis == 2) {
    CHECK(strcmp(m->redis[0].channel, "messages") == 0);
    CHECK(strcmp(m->redis[0].address, "redis://127.0.0.1:{{ redis_port }}") == 0);
    CHECK(strcmp(m->redis[1].address, "redis://localhost:6380") == 0);
    CHECK(strcmp(m->redis[1].component, "internal") == 0);
  }
  zh_manifest_free(m);
}

/* Spin's documentation examples (the manifest reference, "Writing Spin Applications", the
 * variables and Redis trigger pages) and a small app. */
static void test_spin_examples(void) {
  static const char *const examples[] = {"spin-reference.toml", "spin-hello-world.toml",
                                         "spin-kv-redis.toml", "hello.toml",
                                         "spin-redis-trigger.toml"};
  for (size_t i = 0; i < sizeof examples / sizeof *examples; i++) {
    char *msg = NULL, *text = read_manifest(examples[i]);
    zh_manifest *m = text ? parse(text, &msg) : NULL;
    free(text);
    CHECK(m != NULL);
    if (!m)
      fprintf(stderr, "example %s: %s\n", examples[i], msg ? msg : "cannot read");
    free(msg);
    if (i == 4 && m) {
      CHECK(m->nredis == 2 && strcmp(m->redis[0].address, "redis://localhost:6379") == 0 &&
            strcmp(m->redis[0].channel, "{{ channel }}") == 0 &&
            strcmp(m->redis[0].id, "my-application-redis-trigger") == 0 &&
            strcmp(m->redis[1].address, "redis://notifications.example.com:6379") == 0);
      /* The natural id is taken by the first trigger: Spin falls back to a counter. */
      CHECK(strcmp(m->redis[1].id, "redis-trigger1") == 0);
    }
    if (i == 2 && m) {
      CHECK(strcmp(m->redis[0].component, "redis-trigger1-component") == 0);
      CHECK(zh_manifest_component_find(m, "redis-trigger1-component") != NULL);
    }
    zh_manifest_free(m);
  }
}

/* One broken manifest and the exact message it must give. */
typedef struct bad_case {
  const char *text;
  const char *message;
} bad_case;

#define HEAD "spin_manifest_version = 2\n[application]\nname = \"a\"\n"
#define TRIG "[[trigger.http]]\nroute = \"/\"\ncomponent = \"api\"\n"
#define COMP "[component.api]\nsource = \"a.wasm\"\n"

static const bad_case BAD[] = {
    {HEAD TRIG COMP "soruce = \"b.wasm\"\n",
     "spin.toml:9:1: unknown field `soruce` in [component.api]"},
    {"spin_manifest_version = 1\n", "spin.toml:1:25: spin_manifest_version 1 is not supported: "
                                    "zerohop reads version 2 manifests"},
    {"spin_manifest_version = \"1\"\nname = \"x\"\n",
     "spin.toml:1:25: spin_manifest_version 1 is not supported: zerohop reads version 2 "
     "manifests"},
    {"spin_manifest_version = 3\n", "spin.toml:1:25: `spin_manifest_version` must be 2"},
    {"[application]\nname = \"a\"\n",
     "spin.toml:1:1: the manifest has no `spin_manifest_version` (zerohop reads version 2)"},
    {"spin_manifest_version = 2\n[application]\nversion = \"1\"\n",
     "spin.toml:2:2: [application] is missing the required field `name`"},
    {"spin_manifest_version = 2\n[application]\nname = 5\n",
     "spin.toml:3:8: `name` in [application] must be a string, found an integer"},
    {"spin_manifest_version = 2\n[application]\nname = \"a\"\ncolour = \"red\"\n",
     "spin.toml:4:1: unknown field `colour` in [application]"},
    {HEAD "[application.trigger.http]\nbase = \"/\"\nroot = \"/\"\n",
     "spin.toml:6:1: unknown field `root` in [application.trigger.http]"},
    {HEAD TRIG "[component.api]\n", "spin.toml:7:12: [component.api] is missing the required "
                                    "field `source`"},
    {HEAD "[[trigger.http]]\nroute = \"/\"\ncomponent = \"nope\"\n" COMP,
     "spin.toml:6:13: [[trigger.http]] #1 names component `nope`, which is not defined"},
    {HEAD "[[trigger.http]]\ncomponent = \"api\"\n" COMP,
     "spin.toml:4:11: [[trigger.http]] #1 is missing the required field `route`"},
    {HEAD "[[trigger.http]]\nroute = \"/\"\ncomponent = \"api\"\nroutes = 1\n" COMP,
     "spin.toml:7:1: unknown field `routes` in [[trigger.http]] #1"},
    {HEAD "[[trigger.http]]\nroute = \"x\"\ncomponent = \"api\"\n" COMP,
     "spin.toml:5:9: `route` in [[trigger.http]] #1 must start with `/`"},
    {HEAD "[[trigger.http]]\nroute = { private = false }\ncomponent = \"api\"\n" COMP,
     "spin.toml:5:9: `route` in [[trigger.http]] #1 must be a path or { private = true }"},
    {HEAD
     "[[trigger.http]]\nroute = \"/\"\ncomponent = \"api\"\nexecutor = { type = \"cgi\" }\n" COMP,
     "spin.toml:7:21: unknown executor type `cgi` in [[trigger.http]] #1 (wagi or http)"},
    {HEAD "[[trigger.cron]]\ncron_expression = \"* * * * *\"\ncomponent = \"api\"\n" COMP,
     "spin.toml:4:11: trigger type `cron` is not supported (zerohop runs http and redis triggers)"},
    {HEAD "[[trigger.redis]]\naddress = \"redis://h\"\nchannel = \"{{ ch }}\"\ncomponent = "
          "\"api\"\n" COMP,
     "spin.toml:6:11: `channel` in [[trigger.redis]] #1 uses variable `ch`, which [variables] "
     "does not declare"},
    {HEAD "[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"api\"\n" COMP,
     "spin.toml:4:11: [[trigger.redis]] #1 has no `address`, and [application.trigger.redis] "
     "gives none"},
    {HEAD TRIG "[component.Api]\nsource = \"a.wasm\"\n",
     "spin.toml:7:12: component id `Api` is invalid: use lowercase kebab-case (a-z, 0-9, -)"},
    {HEAD TRIG "[component.my_api]\nsource = \"a.wasm\"\n",
     "spin.toml:7:12: component id `my_api` is invalid: use lowercase kebab-case (a-z, 0-9, -)"},
    {HEAD "[variables]\nx = { default = \"1\", required = true }\n",
     "spin.toml:5:1: variable `x` cannot be both required and have a default"},
    {HEAD "[variables]\nx = { secret = true }\n",
     "spin.toml:5:1: variable `x` needs a default or required = true"},
    {HEAD "[variables]\nx = { default = \"1\", hidden = true }\n",
     "spin.toml:5:22: unknown field `hidden` in variable `x`"},
    {HEAD "[variables]\nApiKey = { default = \"1\" }\n",
     "spin.toml:5:1: variable name `ApiKey` is invalid: use lowercase snake_case (a-z, 0-9, _)"},
    {HEAD TRIG COMP "variables = { k = \"{{ nope }}\" }\n",
     "spin.toml:9:19: `variables.k` in [component.api] uses variable `nope`, which [variables] "
     "does not declare"},
    {HEAD "[variables]\nv = { default = \"1\" }\n" TRIG COMP "variables = { k = \"{{ v \" }\n",
     "spin.toml:11:19: `variables.k` in [component.api]: unterminated `{{` in template \"{{ v \""},
    {HEAD "[variables]\nv = { default = \"1\" }\n" TRIG COMP "variables = { k = \"{{ V-1 }}\" }\n",
     "spin.toml:11:19: `variables.k` in [component.api]: `{{ V-1 }}` is not a variable reference "
     "(lowercase snake_case)"},
    {HEAD TRIG COMP "allowed_outbound_hosts = [\"https://{{ host }}\"]\n",
     "spin.toml:9:27: `allowed_outbound_hosts` in [component.api] uses variable `host`, which "
     "[variables] does not declare"},
    {HEAD TRIG COMP "key_value_stores = \"default\"\n",
     "spin.toml:9:20: `key_value_stores` in [component.api] must be an array of strings, found a "
     "string"},
    {HEAD TRIG COMP "key_value_stores = [1]\n",
     "spin.toml:9:21: `key_value_stores` in [component.api] must be an array of strings, found an "
     "integer"},
    {HEAD TRIG COMP "environment = { A = 1 }\n",
     "spin.toml:9:21: `environment.A` in [component.api] must be a string, found an integer"},
    {HEAD TRIG COMP "files = [{ source = \"a\" }]\n",
     "spin.toml:9:10: a `files` entry of [component.api] is missing the required field "
     "`destination`"},
    {HEAD TRIG COMP "files = [{ source = \"a\", destination = \"rel\" }]\n",
     "spin.toml:9:40: `destination` in a `files` entry of [component.api] must be an absolute "
     "path"},
    {HEAD TRIG COMP "files = [\"a/../../etc/*\"]\n",
     "spin.toml:9:10: `files` pattern \"a/../../etc/*\" in [component.api] must be relative to "
     "the manifest's directory, without `..`"},
    {HEAD TRIG COMP "files = [\"/etc/*\"]\n",
     "spin.toml:9:10: `files` pattern \"/etc/*\" in [component.api] must be relative to the "
     "manifest's directory, without `..`"},
    {HEAD TRIG COMP "[component.api.build]\ncmd = \"make\"\n",
     "spin.toml:10:1: unknown field `cmd` in the build of [component.api]"},
    {HEAD TRIG "[component.api]\nsource = { url = \"https://example.com/a.wasm\", digest = "
               "\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\" }\n",
     "spin.toml:8:18: `url` in `source` of [component.api]: only file: URLs are supported, found "
     "\"https://example.com/a.wasm\""},
    {HEAD TRIG "[component.api]\nsource = { url = \"file:///a.wasm\", digest = \"md5:00\" }\n",
     "spin.toml:8:45: `digest` in `source` of [component.api] must be \"sha256:\" and 64 "
     "lowercase hex digits"},
    {HEAD "[[trigger.http]]\nroute = \"/\"\ncomponent = { sauce = \"a.wasm\" }\n",
     "spin.toml:6:15: unknown field `sauce` in the inline component of [[trigger.http]] #1"},
    {HEAD "[[trigger.http]]\nroute = \"/\"\n",
     "spin.toml:4:11: [[trigger.http]] #1 is missing the required field `component`"},
    {HEAD "[[trigger.http]]\nroute = \"/\"\ncomponent = \"api\"\nstatic_response = { body = "
          "\"x\" }\n" COMP,
     "spin.toml:7:19: [[trigger.http]] #1 has both `component` and `static_response`"},
    {HEAD "[[trigger.http]]\nroute = \"/\"\nstatic_response = { status_code = 42 }\n",
     "spin.toml:6:35: `status_code` 42 is not an HTTP status"},
    {HEAD "[trigger]\nhttp = { route = \"/\" }\n",
     "spin.toml:5:1: `trigger.http` must be an array of tables ([[trigger.http]])"},
    {HEAD "[[trigger.http]]\nid = \"t\"\nroute = \"/\"\ncomponent = \"api\"\n[[trigger.http]]\nid "
          "= \"t\"\nroute = \"/b\"\ncomponent = \"api\"\n" COMP,
     "spin.toml:8:11: trigger id `t` is used twice"},
    {HEAD TRIG COMP "[component.api.dependencies]\nfoo = \"1.0\"\n",
     "spin.toml:10:1: dependency `foo` of [component.api] must be named "
     "\"namespace:package[/interface][@version]\""},
    {HEAD "name = \"b\"\n", "spin.toml:4:1: duplicate key `name` (first defined at 3:1)"},
    {HEAD "[component.api\n", "spin.toml:4:15: expected `]` to close the table header"},
    {HEAD "extra = 1\n", "spin.toml:4:1: unknown field `extra` in [application]"},
    {HEAD "\"new\\nline\" = 1\n", /* found by fuzz_manifest: a message must stay one line */
     "spin.toml:4:1: unknown field `new\\x0Aline` in [application]"},
    {"spin_manifest_version = 2\nfoo = 1\n[application]\nname = \"a\"\n",
     "spin.toml:2:1: unknown field `foo` in the manifest"},
};

static void test_errors(void) {
  for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
    char *msg = NULL;
    zh_manifest *m = parse(BAD[i].text, &msg);
    bool ok = !m && msg && strcmp(msg, BAD[i].message) == 0;
    CHECK(ok);
    if (!ok)
      fprintf(stderr, "case %zu:\n  got:  %s\n  want: %s\n", i, msg ? msg : "(accepted)",
              BAD[i].message);
    zh_manifest_free(m);
    free(msg);
  }
}

/* The error's status: syntax is MALFORMED, schema INVALID. */
static void test_statuses(void) {
  zh_manifest *m;
  zh_error *err = zh_manifest_parse("a = ", 4, "x.toml", "/", &m);
  CHECK(err && zh_error_status(err) == ZH_ERR_MALFORMED && !m);
  zh_error_free(err);
  err = zh_manifest_parse("spin_manifest_version = 2\n", 26, "x.toml", "/", &m);
  CHECK(err && zh_error_status(err) == ZH_ERR_INVALID && !m);
  zh_error_free(err);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

typedef struct seen {
  char list[2048];
} seen;

static zh_error *collect(void *ctx, const char *host, const char *guest) {
  seen *s = ctx;
  const char *tail = strrchr(host, '/');
  size_t n = strlen(s->list);
  snprintf(s->list + n, sizeof s->list - n, "%s=%s;", guest, tail ? tail + 1 : host);
  return NULL;
}

static zh_error *stop_at_first(void *ctx, const char *host, const char *guest) {
  (void)host;
  (void)guest;
  ++*(int *)ctx;
  return zh_error_new(ZH_ERR_USAGE, "stop");
}

static void test_load_and_files(void) {
  char dir[] = "/tmp/zh-manifest-XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(!"mkdtemp");
    return;
  }
  char path[512], sub[512];
  snprintf(path, sizeof path, "%s/spin.toml", dir);
  write_file(path, HEAD TRIG COMP
             "files = [\"static/*.txt\", \"tree/**/*.md\", { source = \"assets\", destination = "
             "\"/data\" }]\nexclude_files = [\"static/secret.txt\"]\n");
  const char *dirs[] = {"static", "assets", "tree", "tree/a", "tree/a/b"};
  for (size_t i = 0; i < 5; i++) {
    snprintf(sub, sizeof sub, "%s/%s", dir, dirs[i]);
    mkdir(sub, 0755);
  }
  const char *files[] = {"static/a.txt", "static/b.txt",     "static/secret.txt", "static/c.bin",
                         "tree/top.md",  "tree/a/b/deep.md", "tree/a/x.txt"};
  for (size_t i = 0; i < 7; i++) {
    snprintf(sub, sizeof sub, "%s/%s", dir, files[i]);
    write_file(sub, "x");
  }

  /* A directory loads its spin.toml; paths resolve against it. */
  zh_manifest *m = NULL;
  zh_error *err = zh_manifest_load(dir, &m);
  CHECK(err == NULL && m != NULL);
  if (m) {
    char want[600];
    snprintf(want, sizeof want, "%s/a.wasm", dir);
    CHECK(strcmp(m->components[0].source, want) == 0);
    seen s = {{0}};
    err = zh_manifest_expand_files(m, &m->components[0], collect, &s);
    CHECK(err == NULL);
    CHECK(strstr(s.list, "/static/a.txt=a.txt;") != NULL);
    CHECK(strstr(s.list, "/static/b.txt=b.txt;") != NULL);
    CHECK(strstr(s.list, "secret") == NULL);
    CHECK(strstr(s.list, "c.bin") == NULL);
    CHECK(strstr(s.list, "/tree/top.md=top.md;") != NULL);
    CHECK(strstr(s.list, "/tree/a/b/deep.md=deep.md;") != NULL);
    CHECK(strstr(s.list, "x.txt") == NULL);
    CHECK(strstr(s.list, "/data=assets;") != NULL);
    zh_manifest_free(m);
  }
  zh_error_free(err);

  /* The file itself loads too; errors name the path as given. */
  err = zh_manifest_load(path, &m);
  CHECK(err == NULL && m);
  zh_manifest_free(m);
  zh_error_free(err);
  snprintf(sub, sizeof sub, "%s/bad.toml", dir);
  write_file(sub, HEAD "\n[component.x\n");
  err = zh_manifest_load(sub, &m);
  char want[600];
  snprintf(want, sizeof want, "%s:5:13: expected `]` to close the table header", sub);
  CHECK(err && !m && strcmp(zh_error_message(err), want) == 0);
  zh_error_free(err);

  /* An error from the callback stops the walk and comes back as it is. */
  err = zh_manifest_load(dir, &m);
  if (m) {
    int calls = 0;
    zh_error *e2 = zh_manifest_expand_files(m, &m->components[0], stop_at_first, &calls);
    CHECK(e2 && zh_error_status(e2) == ZH_ERR_USAGE && calls == 1);
    zh_error_free(e2);
    zh_manifest_free(m);
  }
  zh_error_free(err);

  /* A mapped source that does not exist is an I/O error naming it. */
  snprintf(sub, sizeof sub, "%s/missing.toml", dir);
  write_file(sub, HEAD TRIG COMP "files = [{ source = \"nowhere\", destination = \"/n\" }]\n");
  err = zh_manifest_load(sub, &m);
  CHECK(err == NULL && m);
  if (m) {
    seen s = {{0}};
    zh_error *e2 = zh_manifest_expand_files(m, &m->components[0], collect, &s);
    CHECK(e2 && zh_error_status(e2) == ZH_ERR_IO && strstr(zh_error_message(e2), "\"nowhere\""));
    zh_error_free(e2);
    zh_manifest_free(m);
  }
  zh_error_free(err);

  err = zh_manifest_load("/nonexistent/zh/spin.toml", &m);
  CHECK(err && zh_error_status(err) == ZH_ERR_IO && !m);
  zh_error_free(err);

  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

int main(void) {
  test_full();
  test_spin_examples();
  test_errors();
  test_statuses();
  test_load_and_files();
  TEST_SUMMARY();
}
