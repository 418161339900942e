/* Key-value for the app host (src/host/kv*, wasi_keyvalue.c) through real components: the C
 * guest (zerohop bindgen c + jco new) and the JS guest (componentize-js on Spin's WIT), both
 * in build/components (mk/kv.mk), each stamped from a template per "request" as `zerohop up`
 * will, through a linker with WASI 0.2 and the key-value interfaces.
 *
 * One script of commands and expected answers runs on both guests: both interfaces over the
 * same stores, access-denied and no-such-store, batch, list-keys pages, increment and CAS
 * (with a write in between). Then: the values are in the SQLite file (read back with SQLite
 * after the stores are closed) and survive reopening; the Redis label against a real
 * redis-server on a free loopback port (checked with redis-cli, then killed and restarted:
 * the guest gets an error value, then works again); handles the guest leaves open are
 * counted and freed; the store table fills up; four threads increment one counter. */
#include "host/host_instance.h"
#include "host/kv.h"
#include "host/kv_store.h"
#include "testlib.h"
#include "testutil.h"
#include "zerohop/cm.h"
#include "zerohop/wasip2.h"

#include <fnmatch.h>
#include <pthread.h>
#include <sqlite3.h>

static zh_engine *engine;

/* ---- a guest: its component and template ---- */

typedef struct guest {
  const char *name;
  zh_cm_component *comp;
  zh_cm_template *tpl;
} guest;

static bool guest_load(guest *g, const char *name) {
  g->name = name;
  char path[512];
  snprintf(path, sizeof path, "build/components/%s.wasm", name);
  uint8_t *bytes = NULL;
  size_t len = 0;
  if (!zh_test_read_file(path, &bytes, &len)) {
    fprintf(stderr, "%s missing: make %s\n", path, path);
    return false;
  }
  zh_cm_linker *linker = NULL;
  zh_error *err = zh_cm_component_new(engine, bytes, len, name, &g->comp);
  free(bytes);
  if (!err)
    err = zh_cm_linker_new(&linker);
  if (!err)
    err = zh_wasip2_define_linker(linker);
  if (!err)
    err = zh_host_kv_define_linker(linker);
  if (!err)
    err = zh_cm_template_new(linker, g->comp, &g->tpl);
  zh_cm_linker_free(linker);
  if (err)
    fprintf(stderr, "%s: %s\n", name, zh_error_message(err));
  zh_error_free(err);
  return g->tpl != NULL;
}

static void guest_free(guest *g) {
  zh_cm_template_free(g->tpl);
  zh_cm_component_free(g->comp);
}

/* ---- one instance, as one request has ---- */

typedef struct session {
  zh_store *store;
  zh_wasip2_ctx *p2;
  zh_host_instance host;
  zh_cm_instance *inst;
  zh_cm_func *run;
} session;

static bool session_open(session *s, const guest *g, zh_host_kv_stores *stores,
                         const char *const *labels, size_t nlabels) {
  memset(s, 0, sizeof *s);
  zh_error *err = zh_store_new(engine, &s->store);
  /* A guest's own complaints (a JS exception it did not catch) go to the test's stderr. */
  zh_wasip2_config p2c = {.stdio = {[2] = {.kind = ZH_WASI_STDIO_INHERIT}}};
  if (!err)
    s->p2 = zh_wasip2_new(&p2c, &err);
  if (!err)
    err = zh_host_kv_inst_new(stores, labels, nlabels, &s->host.kv);
  if (!err) {
    s->host.p2 = s->p2;
    s->host.component_id = g->name;
    zh_wasip2_set_user(s->p2, &s->host);
    zh_wasip2_set_store(s->p2, s->store);
    err = zh_cm_template_instantiate(g->tpl, s->store, s->p2, &s->inst);
  }
  if (!err && !(s->run = zh_cm_instance_func(s->inst, NULL, "run")))
    err = zh_error_new(ZH_ERR_USAGE, "%s exports no run", g->name);
  if (err)
    fprintf(stderr, "%s: %s\n", g->name, zh_error_message(err));
  zh_error_free(err);
  return s->run != NULL;
}

/* The component instance goes first: the host state outlives every handle drop. */
static void session_close(session *s) {
  zh_cm_instance_free(s->inst);
  zh_host_kv_inst_free(s->host.kv);
  zh_wasip2_free(s->p2);
  zh_store_free(s->store);
}

/* Runs a command given as one space-separated string; the answer is malloc'd (or NULL when
 * the call failed, which a guest must never make it do). */
static char *session_run(session *s, const char *line) {
  char copy[512];
  snprintf(copy, sizeof copy, "%s", line);
  const char *words[32];
  size_t n = 0;
  for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && n < 32;
       w = strtok_r(NULL, " ", &save))
    words[n++] = w;
  zh_val arg, res = zh_val_bool(false);
  zh_error *err = zh_val_list(&arg, n);
  for (size_t i = 0; !err && i < n; i++)
    err = zh_val_string_cstr(&zh_val_list_items(&arg)[i], words[i]);
  if (!err)
    err = zh_cm_func_call(s->inst, s->run, &arg, 1, &res);
  zh_val_drop(&arg);
  char *out = NULL;
  if (err)
    fprintf(stderr, "`%s`: %s\n", line, zh_error_message(err));
  else if (res.kind == ZH_WIT_STRING)
    out = strdup(res.of.str.data);
  zh_error_free(err);
  zh_val_drop(&res);
  return out;
}

/* Runs `line` in the session and compares with `want`, a shell pattern (`*` for any text). Every
 * command but a successful spin-leak drops what it opened: the instance's open handles stay as they
 * were. */
static void expect(session *s, const char *who, const char *line, const char *want) {
  size_t before = zh_host_kv_inst_open_count(s->host.kv);
  char *got = session_run(s, line);
  bool ok = got && fnmatch(want, got, 0) == 0;
  if (!ok)
    fprintf(stderr, "%s: `%s` answered `%s`, expected `%s`\n", who, line, got ? got : "(trap)",
            want);
  CHECK(ok);
  bool leaked = strncmp(line, "spin-leak", 9) == 0 && got && strcmp(got, "ok") == 0;
  CHECK_EQ_INT(zh_host_kv_inst_open_count(s->host.kv), before + (leaked ? 1 : 0));
  free(got);
}

typedef struct step {
  const char *line, *want;
} step;

/* In one instance per step, as requests would. */
static void run_script(const guest *g, zh_host_kv_stores *stores, const char *const *labels,
                       size_t nlabels, const step *steps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    session s;
    CHECK(session_open(&s, g, stores, labels, nlabels));
    if (s.run)
      expect(&s, g->name, steps[i].line, steps[i].want);
    session_close(&s);
  }
}

/* Both interfaces over the SQLite stores. `default` and `other` are declared, `nope` is
 * declared but the app has no such store, `secret` exists but is not declared. */
static const step sqlite_script[] = {
    {"spin-open secret", "error:access-denied"},
    {"wasi-open secret", "error:access-denied"},
    {"spin-open undeclared", "error:access-denied"},
    {"spin-open nope", "error:no-such-store"},
    {"wasi-open nope", "error:no-such-store"},
    {"spin-open default", "ok"},
    {"spin-get default a", "none"},
    {"spin-set default a 1", "ok"},
    {"spin-get default a", "some:1"},
    {"wasi-get default a", "some:1"},
    {"wasi-set default b 2", "ok"},
    {"spin-exists default b", "true"},
    {"spin-exists default zz", "false"},
    {"wasi-exists default b", "true"},
    {"spin-keys default", "a,b"},
    {"spin-get other a", "none"},
    {"spin-set other a elsewhere", "ok"},
    {"spin-get default a", "some:1"},
    {"wasi-set-many default c 3 d 4 e 5", "ok"},
    {"wasi-get-many default a zz e", "a=some:1;zz=none;e=some:5"},
    {"wasi-list default", "pages=3 keys=a,b,c,d,e"},
    {"wasi-delete-many default c d", "ok"},
    {"wasi-exists default c", "false"},
    {"wasi-list default", "pages=2 keys=a,b,e"},
    {"wasi-incr default n 1", "1"},
    {"wasi-incr default n 2", "3"},
    {"spin-get default n", "some:3"},
    {"wasi-incr default a 1", "2"},
    {"spin-set default word hello", "ok"},
    {"wasi-incr default word 1", "error:other:*not an integer*"},
    {"spin-get default word", "some:hello"}, /* the failed increment changed nothing */
    {"wasi-cas default k v1", "current=none swap=ok"},
    {"wasi-cas default k v2", "current=some:v1 swap=ok"},
    {"wasi-cas-race default k v3 X", "current=some:v2 swap=cas-failed current=some:X second=ok"},
    {"spin-get default k", "some:v3"},
    {"spin-delete default k", "ok"},
    {"wasi-get default k", "none"},
    {"wasi-delete default word", "ok"},
    {"spin-delete default zz", "ok"},
    {"spin-keys default", "a,b,e,n"},
    {"spin-keys other", "a"},
};

static const char *const sqlite_labels[] = {"default", "other", "nope"};

/* Reads one value straight from the SQLite file, after zerohop closed it. */
static char *file_value(const char *path, const char *store, const char *key) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  char *out = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2", -1,
                         &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, store, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
      out = strndup(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

static void test_sqlite(const guest *g) {
  char dir[] = "/tmp/zh-kv-XXXXXX", state[600], other[600], dbfile[700];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(state, sizeof state, "%s/.zerohop", dir); /* created by the stores */
  snprintf(other, sizeof other, "%s/other.db", dir);
  snprintf(dbfile, sizeof dbfile, "%s/sqlite_key_value.db", state);
  zh_host_kv_store_config cfg[] = {
      {.label = "other", .type = ZH_HOST_KV_SQLITE, .path = other},
      {.label = "secret", .type = ZH_HOST_KV_SQLITE},
  };
  zh_host_kv_config config = {.state_dir = state, .stores = cfg, .nstores = 2, .list_keys_page = 2};
  zh_host_kv_stores *stores = NULL;
  zh_error *err = zh_host_kv_stores_new(&config, &stores);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!stores)
    return;
  run_script(g, stores, sqlite_labels, 3, sqlite_script,
             sizeof sqlite_script / sizeof sqlite_script[0]);
  /* Negative deltas: only the C guest (componentize-js 0.22 cannot lower a negative s64). */
  static const step negative[] = {
      {"wasi-incr default m -5", "-5"},
      {"wasi-incr default m 12", "7"},
      {"wasi-incr default m -9223372036854775800", "-9223372036854775793"},
      {"wasi-incr default m -100", "error:other:*overflows*"},
      {"spin-get default m", "some:-9223372036854775793"},
      {"spin-delete default m", "ok"},
  };
  /* The C guest opens `default` in a constructor, run while its template initialises: no
   * instance exists then, and the guest gets an error value, not a crash. */
  static const step init[] = {
      {"init", "error:other:key-value is not available while the component initialises"},
  };
  if (strcmp(g->name, "kv-c") == 0) {
    run_script(g, stores, sqlite_labels, 3, negative, sizeof negative / sizeof negative[0]);
    run_script(g, stores, sqlite_labels, 3, init, 1);
  }
  zh_host_kv_stores_free(stores);

  /* In the files, in Spin's table, after the stores were closed. */
  char *v = file_value(dbfile, "default", "a");
  CHECK(v && strcmp(v, "2") == 0);
  free(v);
  v = file_value(dbfile, "default", "n");
  CHECK(v && strcmp(v, "3") == 0);
  free(v);
  v = file_value(other, "other", "a");
  CHECK(v && strcmp(v, "elsewhere") == 0);
  free(v);
  v = file_value(dbfile, "default", "k");
  CHECK(v == NULL);

  /* Reopened (a restart): the values are back, in a fresh instance, beside one the host set
   * (as `zerohop up --key-value` will). */
  CHECK((err = zh_host_kv_stores_new(&config, &stores)) == NULL);
  zh_error_free(err);
  if (stores) {
    CHECK((err = zh_host_kv_stores_set(stores, "default", "seeded", (const uint8_t *)"yes", 3)) ==
          NULL);
    zh_error_free(err);
    err = zh_host_kv_stores_set(stores, "absent", "k", (const uint8_t *)"v", 1);
    CHECK(err && strcmp(zh_error_message(err), "key-value: the app has no store `absent`") == 0);
    zh_error_free(err);
  }
  static const step after[] = {
      {"wasi-get default seeded", "some:yes"}, {"spin-get default a", "some:2"},
      {"wasi-get default n", "some:3"},        {"spin-get other a", "some:elsewhere"},
      {"spin-keys default", "a,b,e,n,seeded"},
  };
  if (stores)
    run_script(g, stores, sqlite_labels, 3, after, sizeof after / sizeof after[0]);
  zh_host_kv_stores_free(stores);

  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

/* ---- Redis ---- */

static char *redis_cli(uint16_t port, int db, const char *a, const char *b) {
  char p[8], n[8];
  snprintf(p, sizeof p, "%u", (unsigned)port);
  snprintf(n, sizeof n, "%d", db);
  const char *argv[] = {"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", p, "-n", n, a, b, NULL};
  zh_test_proc proc;
  if (!zh_test_spawn(argv, NULL, NULL, 0, 5000, &proc))
    return NULL;
  char *out = proc.out;
  proc.out = NULL;
  zh_test_proc_free(&proc);
  if (out) /* one line */
    out[strcspn(out, "\r\n")] = 0;
  return out;
}

static void test_redis(const guest *g, zh_test_redis *redis, int db) {
  char url[80];
  snprintf(url, sizeof url, "redis://127.0.0.1:%u/%d", (unsigned)redis->port, db);
  char dir[] = "/tmp/zh-kv-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  zh_host_kv_store_config cfg[] = {{.label = "cache", .type = ZH_HOST_KV_REDIS, .url = url}};
  zh_host_kv_config config = {
      .state_dir = dir, .stores = cfg, .nstores = 1, .list_keys_page = 2, .redis_timeout_ms = 2000};
  zh_host_kv_stores *stores = NULL;
  zh_error *err = zh_host_kv_stores_new(&config, &stores);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!stores)
    return;
  static const char *const labels[] = {"cache", "default"};
  static const step script[] = {
      {"spin-set cache r1 hello", "ok"},
      {"wasi-get cache r1", "some:hello"},
      {"spin-get default r1", "none"},
      {"wasi-exists cache r1", "true"},
      {"wasi-set-many cache r2 two r3 three", "ok"},
      {"wasi-get-many cache r2 r9 r3", "r2=some:two;r9=none;r3=some:three"},
      {"wasi-list cache", "pages=2 keys=r1,r2,r3"},
      {"wasi-incr cache cnt 7", "7"},
      {"wasi-incr cache cnt 3", "10"},
      {"spin-get cache cnt", "some:10"},
      {"wasi-incr cache r1 1", "error:other:*"},
      {"wasi-cas cache ck v1", "current=none swap=ok"},
      {"wasi-cas-race cache ck v2 X", "current=some:v1 swap=cas-failed current=some:X second=ok"},
      {"wasi-delete-many cache r2 r3", "ok"},
      {"spin-keys cache", "ck,cnt,r1"},
      {"spin-delete cache cnt", "ok"},
  };
  run_script(g, stores, labels, 2, script, sizeof script / sizeof script[0]);

  /* What Redis itself holds. */
  char *v = redis_cli(redis->port, db, "GET", "r1");
  CHECK(v && strcmp(v, "hello") == 0);
  free(v);
  v = redis_cli(redis->port, db, "GET", "ck");
  CHECK(v && strcmp(v, "v2") == 0);
  free(v);
  v = redis_cli(redis->port, db, "EXISTS", "cnt");
  CHECK(v && strcmp(v, "0") == 0);
  free(v);

  /* Redis goes away: an error value, not a trap; back again: the pool reconnects. */
  zh_test_redis_stop(redis);
  static const step down[] = {
      {"spin-get cache r1", "error:other:key-value store redis://127.0.0.1:*"},
      {"wasi-set cache r1 x", "error:other:*"},
      {"spin-set default still works", "ok"},
  };
  run_script(g, stores, labels, 2, down, sizeof down / sizeof down[0]);
  CHECK(zh_test_redis_start(redis));
  static const step back[] = {
      {"spin-get cache r1", "none"}, /* no persistence: a fresh server */
      {"spin-set cache r1 again", "ok"},
      {"wasi-get cache r1", "some:again"},
  };
  run_script(g, stores, labels, 2, back, sizeof back / sizeof back[0]);
  zh_host_kv_stores_free(stores);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

/* ---- handles ---- */

static void test_handles(const guest *g) {
  char dir[] = "/tmp/zh-kv-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  zh_host_kv_config config = {.state_dir = dir};
  zh_host_kv_stores *stores = NULL;
  zh_error *err = zh_host_kv_stores_new(&config, &stores);
  CHECK(err == NULL);
  zh_error_free(err);
  static const char *const labels[] = {"default"};
  session s;
  if (stores && session_open(&s, g, stores, labels, 1)) {
    /* Left open by the guest: counted, then freed with the instance (ASan checks). */
    for (int i = 0; i < ZH_HOST_KV_MAX_OPEN; i++)
      expect(&s, g->name, "spin-leak default", "ok");
    CHECK_EQ_INT(zh_host_kv_inst_open_count(s.host.kv), ZH_HOST_KV_MAX_OPEN);
    expect(&s, g->name, "spin-leak default", "error:store-table-full");
    expect(&s, g->name, "wasi-open default", "error:other:too many open buckets");
    session_close(&s);
  }
  zh_host_kv_stores_free(stores);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

/* ---- configuration errors ---- */

static void expect_config_error(const zh_host_kv_config *config, const char *want) {
  zh_host_kv_stores *stores = NULL;
  zh_error *err = zh_host_kv_stores_new(config, &stores);
  CHECK(err != NULL && stores == NULL);
  if (err && !strstr(zh_error_message(err), want))
    fprintf(stderr, "config error `%s` lacks `%s`\n", zh_error_message(err), want);
  CHECK(err && strstr(zh_error_message(err), want));
  zh_error_free(err);
  zh_host_kv_stores_free(stores);
}

static void test_config_errors(void) {
  zh_host_kv_store_config twice[] = {
      {.label = "x", .type = ZH_HOST_KV_SQLITE, .path = "/tmp/zh-kv-x.db"},
      {.label = "x", .type = ZH_HOST_KV_SQLITE, .path = "/tmp/zh-kv-x.db"}};
  zh_host_kv_config c = {.state_dir = "/tmp", .stores = twice, .nstores = 2};
  expect_config_error(&c, "key-value store `x` is defined twice");
  remove("/tmp/zh-kv-x.db");
  zh_host_kv_store_config bad_url[] = {{.label = "r", .type = ZH_HOST_KV_REDIS, .url = "http://h"}};
  c.stores = bad_url;
  c.nstores = 1;
  expect_config_error(
      &c, "key-value store `r`: key-value store http://h: the url must start with redis://");
  zh_host_kv_store_config bad_port[] = {
      {.label = "r", .type = ZH_HOST_KV_REDIS, .url = "redis://h:99999"}};
  c.stores = bad_port;
  expect_config_error(&c, "bad port");
  zh_host_kv_store_config no_dir[] = {
      {.label = "f", .type = ZH_HOST_KV_SQLITE, .path = "/nonexistent-zh-dir/kv.db"}};
  c.stores = no_dir;
  expect_config_error(&c, "/nonexistent-zh-dir/kv.db");
}

/* ---- threads: one counter, four writers ---- */

typedef struct worker {
  const guest *g;
  zh_host_kv_stores *stores;
  const char *line;
  int rounds, failed;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  static const char *const labels[] = {"default", "cache"};
  for (int i = 0; i < w->rounds; i++) {
    session s;
    char *got = NULL;
    if (session_open(&s, w->g, w->stores, labels, 2))
      got = session_run(&s, w->line);
    session_close(&s);
    if (!got || got[0] == 'e' || got[0] == 'b')
      w->failed++;
    free(got);
  }
  return NULL;
}

static void test_threads(const guest *g, const zh_test_redis *redis) {
  char dir[] = "/tmp/zh-kv-XXXXXX", url[64];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(url, sizeof url, "redis://127.0.0.1:%u/3", (unsigned)redis->port);
  zh_host_kv_store_config cfg[] = {{.label = "cache", .type = ZH_HOST_KV_REDIS, .url = url}};
  zh_host_kv_config config = {.state_dir = dir, .stores = cfg, .nstores = redis->pid ? 1 : 0};
  zh_host_kv_stores *stores = NULL;
  zh_error *err = zh_host_kv_stores_new(&config, &stores);
  CHECK(err == NULL);
  zh_error_free(err);
  const char *lines[] = {"wasi-incr default hits 1", "wasi-incr cache hits 1"};
  for (size_t l = 0; stores && l < (redis->pid ? 2u : 1u); l++) {
    enum { THREADS = 4, ROUNDS = 25 };
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
      w[i] = (worker){g, stores, lines[l], ROUNDS, 0};
      CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    }
    int failed = 0;
    for (int i = 0; i < THREADS; i++) {
      pthread_join(t[i], NULL);
      failed += w[i].failed;
    }
    CHECK_EQ_INT(failed, 0);
    static const char *const labels[] = {"default", "cache"};
    session s;
    if (session_open(&s, g, stores, labels, 2)) {
      char want[32];
      snprintf(want, sizeof want, "some:%d", THREADS * ROUNDS);
      expect(&s, g->name, l ? "wasi-get cache hits" : "wasi-get default hits", want);
    }
    session_close(&s);
  }
  zh_host_kv_stores_free(stores);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

/* ---- one process per SQLite file, and what survives it ---- */

/* A child process opens the store (taking the file), increments a counter and waits; the
 * parent cannot open the same file and is told why; the child is killed with SIGKILL (no
 * close, no checkpoint), and the parent then opens the file and finds the counter. */
static void test_sqlite_owner(void) {
  char dir[] = "/tmp/zh-kv-own-XXXXXX", path[600];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/kv.db", dir);
  int ready[2];
  CHECK(pipe(ready) == 0);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    zh_host_kv_backend *b = NULL;
    int64_t n = 0;
    bool ok = zh_host_kv_sqlite_open(path, &b) == NULL;
    for (int i = 0; ok && i < 3; i++)
      ok = b->ops->increment(b, "default", "n", 1, 1, &n) == NULL;
    char c = ok && n == 3 ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1)
      _exit(1);
    for (;;)
      pause(); /* killed here, the store still open */
  }
  close(ready[1]);
  char c = 0;
  CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
  close(ready[0]);
  zh_host_kv_backend *b = NULL;
  zh_error *err = zh_host_kv_sqlite_open(path, &b);
  CHECK(err != NULL && b == NULL);
  char want[900];
  snprintf(want, sizeof want,
           "key-value store %s: the file is in use by another process (is another `zerohop "
           "up` running with the same state directory? give each its own --state-dir)",
           path);
  CHECK(err && strcmp(zh_error_message(err), want) == 0);
  if (err && strcmp(zh_error_message(err), want) != 0)
    fprintf(stderr, "  got: %s\n", zh_error_message(err));
  zh_error_free(err);
  zh_host_kv_backend_close(b);
  kill(child, SIGKILL);
  int st = 0;
  CHECK(waitpid(child, &st, 0) == child && WIFSIGNALED(st));
  b = NULL;
  CHECK((err = zh_host_kv_sqlite_open(path, &b)) == NULL);
  zh_error_free(err);
  uint8_t *v = NULL;
  size_t vlen = 0;
  bool found = false;
  if (b)
    CHECK((err = b->ops->get(b, "default", "n", 1, &v, &vlen, &found)) == NULL);
  zh_error_free(err);
  CHECK(found && vlen == 1 && v[0] == '3');
  free(v);
  zh_host_kv_backend_close(b);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

/* Two labels on one file, its path spelled two ways: one connection serves both (a second
 * would find the file taken). */
static void test_sqlite_one_file_two_spellings(void) {
  char dir[] = "/tmp/zh-kv-two-XXXXXX", state[600], same[700];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(state, sizeof state, "%s/state", dir);
  snprintf(same, sizeof same, "%s/./sqlite_key_value.db", state);
  CHECK(mkdir(state, 0755) == 0);
  zh_host_kv_store_config cfg[] = {{.label = "other", .type = ZH_HOST_KV_SQLITE, .path = same}};
  zh_host_kv_config config = {.state_dir = state, .stores = cfg, .nstores = 1};
  zh_host_kv_stores *stores = NULL;
  zh_error *err = zh_host_kv_stores_new(&config, &stores);
  CHECK(err == NULL);
  if (err)
    fprintf(stderr, "  %s\n", zh_error_message(err));
  zh_error_free(err);
  if (stores) {
    CHECK((err = zh_host_kv_stores_set(stores, "default", "k", (const uint8_t *)"d", 1)) == NULL);
    zh_error_free(err);
    CHECK((err = zh_host_kv_stores_set(stores, "other", "k", (const uint8_t *)"o", 1)) == NULL);
    zh_error_free(err);
  }
  zh_host_kv_stores_free(stores);
  char *v = file_value(same, "default", "k");
  CHECK(v && strcmp(v, "d") == 0);
  free(v);
  v = file_value(same, "other", "k");
  CHECK(v && strcmp(v, "o") == 0);
  free(v);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

int main(void) {
  zh_error *err = zh_engine_new(NULL, &engine);
  CHECK(err == NULL);
  if (err)
    TEST_SUMMARY();
  test_config_errors();
  test_sqlite_owner();
  test_sqlite_one_file_two_spellings();

  zh_test_redis redis = {0};
  bool have_redis = zh_test_redis_start(&redis);
  CHECK(have_redis);

  guest c = {0}, js = {0};
  CHECK(guest_load(&c, "kv-c"));
  CHECK(guest_load(&js, "kv-js"));
  const guest *guests[] = {&c, &js};
  for (int i = 0; i < 2; i++) {
    if (!guests[i]->tpl)
      continue;
    test_sqlite(guests[i]);
    if (have_redis)
      test_redis(guests[i], &redis, 1 + i);
  }
  if (c.tpl) {
    test_handles(&c);
    test_threads(&c, &redis);
  }
  guest_free(&js);
  guest_free(&c);
  zh_test_redis_stop(&redis);
  zh_engine_free(engine);
  TEST_SUMMARY();
}
