/* The runtime config file (src/host/runtime_config.c): Spin's documented shapes, zerohop's
 * channels, and each error with its exact message. */
#include "host/runtime_config.h"
#include "testlib.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static zh_runtime_config *parse(const char *text, char **msg) {
  zh_runtime_config *rc = NULL;
  zh_error *err = zh_runtime_config_parse(text, strlen(text), "rc.toml", "/etc/app", &rc);
  *msg = err ? strdup(zh_error_message(err)) : NULL;
  zh_error_free(err);
  return rc;
}

static void test_full(void) {
  char *msg = NULL;
  uint8_t *full;
  size_t len;
  zh_runtime_config *rc = NULL;
  /* Also a seed of fuzz_manifest; tests run from the repository's root. */
  if (zh_test_read_file("tests/toml/manifests/runtime-config.toml", &full, &len)) {
    rc = parse((char *)full, &msg);
    free(full);
  }
  CHECK(rc != NULL);
  if (!rc) {
    fprintf(stderr, "full: %s\n", msg);
    free(msg);
    return;
  }
  CHECK_EQ_INT(rc->nkv_stores, 3);
  const zh_runtime_kv_store *kv = zh_runtime_config_kv_store(rc, "default");
  CHECK(kv && kv->type == ZH_RUNTIME_STORE_SPIN && strcmp(kv->path, "/etc/app/.spin/kv.db") == 0);
  kv = zh_runtime_config_kv_store(rc, "cache");
  CHECK(kv && kv->type == ZH_RUNTIME_STORE_REDIS && strcmp(kv->url, "redis://127.0.0.1:6379") == 0);
  kv = zh_runtime_config_kv_store(rc, "plain");
  CHECK(kv && kv->type == ZH_RUNTIME_STORE_SPIN && kv->path == NULL);
  CHECK(zh_runtime_config_kv_store(rc, "nope") == NULL);
  const zh_runtime_sqlite *db = zh_runtime_config_sqlite(rc, "default");
  CHECK(db && strcmp(db->path, "/var/lib/app/db.sqlite") == 0);
  CHECK_EQ_INT(rc->nproviders, 3);
  if (rc->nproviders == 3) {
    CHECK(rc->providers[0].type == ZH_RUNTIME_PROVIDER_VAULT &&
          strcmp(rc->providers[0].mount, "secret") == 0 && !rc->providers[0].prefix);
    CHECK(rc->providers[1].type == ZH_RUNTIME_PROVIDER_AZURE_KEY_VAULT &&
          strcmp(rc->providers[1].authority_host, "AzurePublicCloud") == 0);
    CHECK(rc->providers[2].type == ZH_RUNTIME_PROVIDER_ENV &&
          strcmp(rc->providers[2].dotenv_path, "/etc/app/.env") == 0);
  }
  const zh_runtime_channel *ch = zh_runtime_config_channel(rc, "orders");
  CHECK(ch && ch->transport == ZH_RUNTIME_TRANSPORT_BOTH && ch->line == 35);
  /* the bus's defaults */
  CHECK(ch && ch->queue == ZH_RUNTIME_CHANNEL_QUEUE && ch->retries == ZH_RUNTIME_CHANNEL_RETRIES &&
        ch->publish_timeout_ms == ZH_RUNTIME_CHANNEL_PUBLISH_TIMEOUT_MS &&
        strcmp(ch->dead_letter, "orders.dead-letter") == 0);
  CHECK_EQ_INT(rc->drain_timeout_ms, ZH_RUNTIME_DRAIN_TIMEOUT_MS);
  ch = zh_runtime_config_channel(rc, "audit.log");
  CHECK(ch && ch->transport == ZH_RUNTIME_TRANSPORT_LOCAL);
  zh_runtime_config_free(rc);

  rc = parse("[zerohop]\ndrain_timeout_ms = 250\n"
             "[zerohop.channels.jobs]\ntransport = \"local\"\nqueue = 8\n"
             "publish_timeout_ms = 0\nretries = 5\ndead_letter = \"jobs.failed\"\n",
             &msg);
  ch = zh_runtime_config_channel(rc, "jobs");
  CHECK(rc && rc->drain_timeout_ms == 250);
  CHECK(ch && ch->queue == 8 && ch->publish_timeout_ms == 0 && ch->retries == 5 &&
        strcmp(ch->dead_letter, "jobs.failed") == 0);
  free(msg);
  zh_runtime_config_free(rc);

  rc = parse("", &msg);
  CHECK(rc && rc->nkv_stores == 0 && rc->nproviders == 0);
  zh_runtime_config_free(rc);
}

typedef struct bad_case {
  const char *text, *message;
} bad_case;

static const bad_case BAD[] = {
    {"[key_value_store.default]\ntype = \"azure_cosmos\"\n",
     "rc.toml:2:8: [key_value_store.default]: type \"azure_cosmos\" is not supported by zerohop "
     "(supported: spin, redis)"},
    {"[key_value_store.default]\npath = \"x\"\n",
     "rc.toml:1:18: [key_value_store.default] is missing the required field `type`"},
    {"[key_value_store.default]\ntype = \"spin\"\nurl = \"redis://x\"\n",
     "rc.toml:3:1: unknown field `url` in [key_value_store.default]"},
    {"[key_value_store.cache]\ntype = \"redis\"\n",
     "rc.toml:1:18: [key_value_store.cache] is missing the required field `url`"},
    {"[key_value_store.cache]\ntype = \"redis\"\nurl = \"http://x\"\n",
     "rc.toml:3:7: `url` in [key_value_store.cache] must be a redis:// or rediss:// URL"},
    {"[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://x\"\n",
     "rc.toml:2:8: [sqlite_database.default]: type \"libsql\" is not supported by zerohop "
     "(supported: spin)"},
    {"[[config_provider]]\ntype = \"vault\"\nurl = \"http://v\"\ntoken = \"t\"\n",
     "rc.toml:1:3: [[config_provider]] #1 is missing the required field `mount`"},
    {"[[config_provider]]\ntype = \"consul\"\n",
     "rc.toml:2:8: [[config_provider]] #1: type \"consul\" is not supported by zerohop "
     "(supported: vault, azure_key_vault, env)"},
    {"[zerohop.channels.\"orders\"]\ntransport = \"kafka\"\n",
     "rc.toml:2:13: `transport` in [zerohop.channels.orders] must be \"local\", \"redis\" or "
     "\"both\""},
    {"[zerohop.channels.orders]\n", "rc.toml:1:19: [zerohop.channels.orders] is missing the "
                                    "required field `transport`"},
    {"[zerohop]\nbus = 1\n", "rc.toml:2:1: unknown field `bus` in [zerohop]"},
    {"[zerohop.channels.a]\ntransport = \"local\"\nqueue = 0\n",
     "rc.toml:3:9: `queue` in [zerohop.channels.a] must be from 1 to 1000000"},
    {"[zerohop.channels.a]\ntransport = \"local\"\nqueue = \"big\"\n",
     "rc.toml:3:9: `queue` in [zerohop.channels.a] must be an integer, found a string"},
    {"[zerohop.channels.a]\ntransport = \"local\"\nretries = 101\n",
     "rc.toml:3:11: `retries` in [zerohop.channels.a] must be from 0 to 100"},
    {"[zerohop.channels.a]\ntransport = \"local\"\npublish_timeout_ms = -1\n",
     "rc.toml:3:22: `publish_timeout_ms` in [zerohop.channels.a] must be from 0 to 3600000"},
    {"[zerohop.channels.a]\ntransport = \"both\"\ndead_letter = \"a\"\n",
     "rc.toml:3:15: `dead_letter` in [zerohop.channels.a] must name another channel"},
    {"[zerohop.channels.a]\ntransport = \"local\"\nretry = 1\n",
     "rc.toml:3:1: unknown field `retry` in [zerohop.channels.a]"},
    {"[zerohop]\ndrain_timeout_ms = 1.5\n",
     "rc.toml:2:20: `drain_timeout_ms` in [zerohop] must be an integer, found a float"},
    {"[llm_compute]\ntype = \"spin\"\n", "rc.toml:1:2: unknown field `llm_compute` in the "
                                         "runtime config"},
    {"key_value_store = 3\n",
     "rc.toml:1:19: `key_value_store` in the runtime config must be a table, found an integer"},
    {"[key_value_store]\ndefault = \"spin\"\n",
     "rc.toml:2:11: `default` in key_value_store must be a table, found a string"},
    {"[key_value_store.default\n", "rc.toml:1:25: expected `]` to close the table header"},
};

static void test_errors(void) {
  for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
    char *msg;
    zh_runtime_config *rc = parse(BAD[i].text, &msg);
    bool ok = !rc && msg && strcmp(msg, BAD[i].message) == 0;
    CHECK(ok);
    if (!ok)
      fprintf(stderr, "case %zu:\n  got:  %s\n  want: %s\n", i, msg ? msg : "(accepted)",
              BAD[i].message);
    zh_runtime_config_free(rc);
    free(msg);
  }
}

static void test_load(void) {
  char dir[] = "/tmp/zh-rc-XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(!"mkdtemp");
    return;
  }
  char path[256], want[300];
  snprintf(path, sizeof path, "%s/runtime-config.toml", dir);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs("[key_value_store.default]\ntype = \"spin\"\npath = \"data/kv.db\"\n", f);
    fclose(f);
  }
  zh_runtime_config *rc = NULL;
  zh_error *err = zh_runtime_config_load(path, &rc);
  CHECK(!err && rc);
  snprintf(want, sizeof want, "%s/data/kv.db", dir);
  CHECK(rc && rc->nkv_stores == 1 && strcmp(rc->kv_stores[0].path, want) == 0);
  zh_runtime_config_free(rc);
  zh_error_free(err);
  err = zh_runtime_config_load("/nonexistent/rc.toml", &rc);
  CHECK(err && zh_error_status(err) == ZH_ERR_IO && !rc &&
        strstr(zh_error_message(err), "/nonexistent/rc.toml"));
  zh_error_free(err);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  test_full();
  test_errors();
  test_load();
  TEST_SUMMARY();
}
