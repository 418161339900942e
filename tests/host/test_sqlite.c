/* SQLite for the app host (src/host/sqlite.c) through real components: sql-c (C, `zerohop
 * bindgen c` + jco) and sql-js (componentize-js), both built by mk/sqlvars.mk from one world.
 * Every value kind both ways, the error cases, connections given back (and their transactions
 * rolled back) when an instance ends, concurrent writers on several threads, the request
 * deadline, `--sqlite` at start, and databases that persist: the files are reopened with the
 * sqlite3 API afterwards. */
#include "host/host_instance.h"
#include "host/sqlite.h"
#include "testlib.h"
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SQL_C "build/components/sqlvars/sql-c.wasm"
#define SQL_JS "build/components/sqlvars/sql-js.wasm"
#define RUNNER "zerohop:sql-guest/runner"

enum { E_NO_SUCH_DATABASE, E_ACCESS_DENIED, E_INVALID_CONNECTION, E_DATABASE_FULL, E_IO };
enum { V_INTEGER, V_REAL, V_TEXT, V_BLOB, V_NULL };

static zh_engine *engine;
static zh_cm_linker *linker;
static char scratch[64];

/* ---- values ---- */

static zh_val variant(uint32_t c, zh_val *payload) {
  zh_val v;
  zh_error *err = zh_val_variant(&v, c, payload);
  CHECK(err == NULL);
  zh_error_free(err);
  return v;
}
static zh_val vint(int64_t i) {
  zh_val p = zh_val_s64(i);
  return variant(V_INTEGER, &p);
}
static zh_val vreal(double d) {
  zh_val p = zh_val_f64(d);
  return variant(V_REAL, &p);
}
static zh_val vtext(const char *s, size_t n) {
  zh_val p;
  zh_error_free(zh_val_string(&p, s, n));
  return variant(V_TEXT, &p);
}
static zh_val vblob(const void *b, size_t n) {
  zh_val p;
  zh_error_free(zh_val_list_raw(&p, ZH_WIT_U8, n ? b : "", n));
  return variant(V_BLOB, &p);
}
static zh_val vnull(void) { return variant(V_NULL, NULL); }

/* A value of the query result as bytes: blobs come back as raw lists or item lists. */
static bool blob_is(zh_val *v, const void *want, size_t n) {
  if (zh_val_case(v) != V_BLOB)
    return false;
  zh_val *p = zh_val_payload(v);
  if (zh_val_list_len(p) != n)
    return false;
  const uint8_t *raw = zh_val_list_raw_data(p);
  for (size_t i = 0; i < n; i++)
    if ((raw ? raw[i] : (uint8_t)zh_val_list_items(p)[i].of.u) != ((const uint8_t *)want)[i])
      return false;
  return true;
}
static bool text_is(zh_val *v, const char *want, size_t n) {
  zh_val *p = zh_val_payload(v);
  return zh_val_case(v) == V_TEXT && p->of.str.len == n && memcmp(p->of.str.data, want, n) == 0;
}

/* ---- calls ---- */

/* runner.exec(db, sql, params): *res is the guest's result<query-result, error>. The params
 * are moved. */
static zh_error *exec(zh_test_instance *t, const char *db, const char *sql, zh_val *params,
                      size_t n, zh_val *res) {
  zh_val args[3];
  zh_cm_func *f = zh_cm_instance_func(t->inst, RUNNER, "exec");
  if (!f)
    return zh_error_new(ZH_ERR_USAGE, "no export %s#exec", RUNNER);
  zh_error_free(zh_val_string_cstr(&args[0], db));
  zh_error_free(zh_val_string_cstr(&args[1], sql));
  zh_error_free(zh_val_list(&args[2], n));
  for (size_t i = 0; i < n; i++)
    zh_val_list_items(&args[2])[i] = params[i];
  zh_error *err = zh_cm_func_call(t->inst, f, args, 3, res);
  for (int i = 0; i < 3; i++)
    zh_val_drop(&args[i]);
  return err;
}

/* exec that must succeed: the query-result record (in *res), or NULL after a failed CHECK. */
static zh_val *exec_ok(zh_test_instance *t, const char *db, const char *sql, zh_val *params,
                       size_t n, zh_val *res) {
  zh_error *err = exec(t, db, sql, params, n, res);
  if (err) {
    fprintf(stderr, "  exec %s: %s\n", sql, zh_error_message(err));
    zh_error_free(err);
    CHECK(false);
    return NULL;
  }
  if (zh_val_case(res) != 0) {
    zh_val *e = zh_val_payload(res);
    fprintf(stderr, "  exec %s: error case %u %s\n", sql, zh_val_case(e),
            zh_val_payload(e) ? zh_val_payload(e)->of.str.data : "");
    CHECK(false);
    zh_val_drop(res);
    return NULL;
  }
  return zh_val_payload(res);
}

/* exec that must fail with error case `c` (and for io, a message holding `msg`). */
static void exec_err(zh_test_instance *t, const char *db, const char *sql, zh_val *params, size_t n,
                     uint32_t c, const char *msg) {
  zh_val res;
  zh_error *err = exec(t, db, sql, params, n, &res);
  CHECK(err == NULL);
  if (err) {
    fprintf(stderr, "  exec %s: %s\n", sql, zh_error_message(err));
    zh_error_free(err);
    return;
  }
  zh_val *e = zh_val_case(&res) == 1 ? zh_val_payload(&res) : NULL;
  CHECK(e && zh_val_case(e) == c);
  if (e && msg) {
    zh_val *m = zh_val_payload(e);
    CHECK(m && strstr(m->of.str.data, msg) != NULL);
    if (m && !strstr(m->of.str.data, msg))
      fprintf(stderr, "  exec %s: io(%s), expected \"%s\"\n", sql, m->of.str.data, msg);
  }
  zh_val_drop(&res);
}

/* A string export with one string argument (selftest, two-connections). */
static void expect_string(zh_test_instance *t, const char *func, const char *arg,
                          const char *want) {
  zh_cm_func *f = zh_cm_instance_func(t->inst, RUNNER, func);
  CHECK(f != NULL);
  if (!f)
    return;
  zh_val a, res;
  zh_error_free(zh_val_string_cstr(&a, arg));
  zh_error *err = zh_cm_func_call(t->inst, f, &a, 1, &res);
  CHECK(err == NULL);
  if (!err) {
    CHECK(res.kind == ZH_WIT_STRING && strcmp(res.of.str.data, want) == 0);
    if (res.kind == ZH_WIT_STRING && strcmp(res.of.str.data, want) != 0)
      fprintf(stderr, "  %s(%s): %s\n", func, arg, res.of.str.data);
    zh_val_drop(&res);
  } else {
    fprintf(stderr, "  %s: %s\n", func, zh_error_message(err));
  }
  zh_error_free(err);
  zh_val_drop(&a);
}

/* A component instance with the host's per-instance SQLite state for `labels`. */
typedef struct sql_instance {
  zh_host_instance hi;
  zh_test_instance t;
  bool up;
} sql_instance;

static bool start(sql_instance *s, const zh_cm_component *comp, zh_host_sqlite_dbs *dbs,
                  const char *const *labels, size_t n) {
  *s = (sql_instance){.hi.component_id = "sql"};
  zh_error *err = zh_host_sqlite_inst_new(dbs, labels, n, &s->hi.sqlite);
  CHECK(err == NULL);
  zh_error_free(err);
  s->up = !err && zh_test_instance_start(engine, linker, comp, &s->hi, &s->t);
  s->hi.p2 = s->t.p2;
  CHECK(s->up);
  return s->up;
}

static void stop(sql_instance *s) {
  zh_test_instance_end(&s->t);
  zh_host_sqlite_inst_free(s->hi.sqlite);
  s->hi.sqlite = NULL;
}

/* ---- the checks, for each guest ---- */

static const char *const declared[] = {"default", "mem", "ghost"};

/* Every value kind, edge values included, through parameters and back. */
static void check_values(zh_test_instance *t) {
  zh_val res, *qr;
  qr = exec_ok(t, "default", "CREATE TABLE IF NOT EXISTS vals (k TEXT, v)", NULL, 0, &res);
  if (qr)
    CHECK(zh_val_list_len(&zh_val_fields(qr)[1]) == 0);
  zh_val_drop(&res);
  exec_ok(t, "default", "DELETE FROM vals", NULL, 0, &res);
  zh_val_drop(&res);
  static const uint8_t blob[] = {0, 0xff, 0x80, 'x', 0};
  struct {
    const char *k;
    zh_val v;
  } in[] = {
      {"min", vint(INT64_MIN)},
      {"max", vint(INT64_MAX)},
      {"zero", vint(0)},
      {"real", vreal(-1.5e308)},
      {"tiny", vreal(4.9e-324)},
      {"negzero", vreal(-0.0)},
      {"text", vtext("caf\xc3\xa9 \xf0\x9f\x98\x80", 10)},
      {"nul", vtext("a\0b", 3)},
      {"empty", vtext("", 0)},
      {"blob", vblob(blob, sizeof blob)},
      {"eblob", vblob(NULL, 0)},
      {"null", vnull()},
  };
  size_t n = sizeof in / sizeof in[0];
  for (size_t i = 0; i < n; i++) {
    zh_val p[2];
    p[0] = vtext(in[i].k, strlen(in[i].k));
    zh_error_free(zh_val_clone(&in[i].v, &p[1]));
    qr = exec_ok(t, "default", "INSERT INTO vals VALUES (?, ?)", p, 2, &res);
    zh_val_drop(&res);
  }
  qr = exec_ok(t, "default", "SELECT k AS key, v AS value, typeof(v) FROM vals ORDER BY rowid",
               NULL, 0, &res);
  if (qr) {
    zh_val *cols = &zh_val_fields(qr)[0], *rows = &zh_val_fields(qr)[1];
    CHECK(zh_val_list_len(cols) == 3);
    if (zh_val_list_len(cols) == 3) {
      CHECK(strcmp(zh_val_list_items(cols)[0].of.str.data, "key") == 0);
      CHECK(strcmp(zh_val_list_items(cols)[1].of.str.data, "value") == 0);
      CHECK(strcmp(zh_val_list_items(cols)[2].of.str.data, "typeof(v)") == 0);
    }
    CHECK_EQ_INT(zh_val_list_len(rows), n);
    for (size_t i = 0; i < n && i < zh_val_list_len(rows); i++) {
      zh_val *vals = &zh_val_fields(&zh_val_list_items(rows)[i])[0];
      CHECK(zh_val_list_len(vals) == 3);
      zh_val *got = &zh_val_list_items(vals)[1];
      bool same = zh_val_equal(got, &in[i].v);
      if (same && zh_val_case(got) == V_REAL) /* -0.0 keeps its sign bit */
        same = signbit(zh_val_payload(got)->of.f64) == signbit(zh_val_payload(&in[i].v)->of.f64);
      CHECK(same);
      if (!same)
        fprintf(stderr, "  value %s came back as case %u\n", in[i].k, zh_val_case(got));
    }
    if (n <= zh_val_list_len(rows)) { /* the storage classes SQLite saw */
      zh_val *r9 = &zh_val_fields(&zh_val_list_items(rows)[9])[0];
      zh_val *r10 = &zh_val_fields(&zh_val_list_items(rows)[10])[0];
      zh_val *r11 = &zh_val_fields(&zh_val_list_items(rows)[11])[0];
      CHECK(text_is(&zh_val_list_items(r9)[2], "blob", 4));
      CHECK(blob_is(&zh_val_list_items(r9)[1], blob, sizeof blob));
      CHECK(text_is(&zh_val_list_items(r10)[2], "blob", 4));
      CHECK(text_is(&zh_val_list_items(r11)[2], "null", 4));
    }
  }
  zh_val_drop(&res);
  for (size_t i = 0; i < n; i++)
    zh_val_drop(&in[i].v);
  /* values SQLite computes */
  qr = exec_ok(t, "default", "SELECT 1 + 1, 0.5 * 3, 'a' || 'b', x'00ff', NULL", NULL, 0, &res);
  if (qr) {
    zh_val *row = &zh_val_fields(&zh_val_list_items(&zh_val_fields(qr)[1])[0])[0];
    zh_val two = vint(2), real = vreal(1.5);
    CHECK(zh_val_equal(&zh_val_list_items(row)[0], &two));
    CHECK(zh_val_equal(&zh_val_list_items(row)[1], &real));
    CHECK(text_is(&zh_val_list_items(row)[2], "ab", 2));
    CHECK(blob_is(&zh_val_list_items(row)[3], "\0\xff", 2));
    CHECK(zh_val_case(&zh_val_list_items(row)[4]) == V_NULL);
    zh_val_drop(&two);
    zh_val_drop(&real);
  }
  zh_val_drop(&res);
}

static void check_errors(zh_test_instance *t) {
  zh_val p[1] = {vint(1)};
  exec_err(t, "other", "SELECT 1", NULL, 0, E_ACCESS_DENIED, NULL); /* exists, not declared */
  exec_err(t, "nowhere", "SELECT 1", NULL, 0, E_ACCESS_DENIED, NULL);
  exec_err(t, "ghost", "SELECT 1", NULL, 0, E_NO_SUCH_DATABASE, NULL); /* declared, undefined */
  exec_err(t, "default", "SELEKT 1", NULL, 0, E_IO, "syntax error");
  exec_err(t, "default", "SELECT * FROM no_such_table", NULL, 0, E_IO, "no such table");
  exec_err(t, "default", "SELECT ?, ?", p, 1, E_IO, "takes 2 parameters, 1 given");
  p[0] = vint(1);
  exec_err(t, "default", "SELECT 1", p, 1, E_IO, "takes 0 parameters, 1 given");
  exec_err(t, "default", "SELECT 1; SELECT 2", NULL, 0, E_IO, "more than one statement");
  zh_val res;
  zh_val *qr = exec_ok(t, "default", "SELECT 7; -- a comment\n  ", NULL, 0, &res);
  if (qr)
    CHECK(zh_val_list_len(&zh_val_fields(qr)[1]) == 1);
  zh_val_drop(&res);
  qr = exec_ok(t, "default", "  -- only a comment", NULL, 0, &res); /* no statement: no rows */
  if (qr)
    CHECK(zh_val_list_len(&zh_val_fields(qr)[0]) == 0 &&
          zh_val_list_len(&zh_val_fields(qr)[1]) == 0);
  zh_val_drop(&res);
  /* text that is not UTF-8 cannot be a string: an error, not a trap */
  exec_err(t, "default", "SELECT CAST(x'ff41' AS TEXT) AS bad", NULL, 0, E_IO,
           "column \"bad\": the text is not valid UTF-8");
  /* no statement reaches a file of its own choosing */
  char sql[200], path[120];
  struct stat st;
  snprintf(path, sizeof path, "%s/escape.db", scratch);
  snprintf(sql, sizeof sql, "ATTACH DATABASE '%s' AS evil", path);
  exec_err(t, "default", sql, NULL, 0, E_IO, "not authorized");
  snprintf(sql, sizeof sql, "VACUUM INTO '%s'", path);
  exec_err(t, "default", sql, NULL, 0, E_IO, NULL);
  exec_err(t, "default", "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')", NULL, 0, E_IO,
           "not authorized");
  CHECK(stat(path, &st) != 0);
  expect_string(t, "two-connections", "default", "ok");
  expect_string(t, "two-connections", "other", "open: access-denied");
}

/* A guest's run against the app's databases: one instance after another. */
static void guest_checks(const char *path, zh_host_sqlite_dbs *dbs, const char *tag) {
  zh_cm_component *comp = zh_test_load_component(engine, path);
  CHECK(comp != NULL);
  if (!comp)
    return;
  sql_instance s;
  if (start(&s, comp, dbs, declared, 3)) {
    expect_string(&s.t, "selftest", "default", "ok");
    expect_string(&s.t, "selftest", "mem", "ok");
    check_values(&s.t);
    check_errors(&s.t);
    /* a row that must persist, named after the guest */
    zh_val res, p[1] = {vtext(tag, strlen(tag))};
    exec_ok(&s.t, "default", "CREATE TABLE IF NOT EXISTS persisted (who TEXT)", NULL, 0, &res);
    zh_val_drop(&res);
    exec_ok(&s.t, "default", "INSERT INTO persisted VALUES (?)", p, 1, &res);
    zh_val_drop(&res);
    p[0] = vtext(tag, strlen(tag));
    exec_ok(&s.t, "mem", "CREATE TABLE IF NOT EXISTS m (who TEXT)", NULL, 0, &res);
    zh_val_drop(&res);
    exec_ok(&s.t, "mem", "INSERT INTO m VALUES (?)", p, 1, &res);
    zh_val_drop(&res);
    stop(&s);
  }

  /* A later instance sees the in-memory database as the first left it. */
  if (start(&s, comp, dbs, declared, 3)) {
    zh_val res, p[1] = {vtext(tag, strlen(tag))};
    zh_val *qr = exec_ok(&s.t, "mem", "SELECT count(*) FROM m WHERE who = ?", p, 1, &res);
    if (qr) {
      zh_val *row = &zh_val_fields(&zh_val_list_items(&zh_val_fields(qr)[1])[0])[0];
      zh_val one = vint(1);
      CHECK(zh_val_equal(&zh_val_list_items(row)[0], &one));
      zh_val_drop(&one);
    }
    zh_val_drop(&res);
    stop(&s);
  }

  /* An instance that ends inside a transaction, holding its connection: the host takes the
   * connection back and rolls the transaction back, so the write lock is free again. */
  if (start(&s, comp, dbs, declared, 3)) {
    zh_cm_func *keep = zh_cm_instance_func(s.t.inst, RUNNER, "exec-and-keep");
    zh_val a[2], res;
    zh_error_free(zh_val_string_cstr(&a[0], "default"));
    zh_error_free(zh_val_string_cstr(&a[1], "BEGIN IMMEDIATE"));
    zh_error *err = keep ? zh_cm_func_call(s.t.inst, keep, a, 2, &res) : NULL;
    CHECK(keep && err == NULL && zh_val_case(&res) == 0);
    if (keep && !err)
      zh_val_drop(&res);
    zh_error_free(err);
    zh_val_drop(&a[0]);
    zh_val_drop(&a[1]);
    stop(&s);
  }
  if (start(&s, comp, dbs, declared, 3)) {
    zh_val res, p[1] = {vtext("after", 5)};
    exec_ok(&s.t, "default", "INSERT INTO persisted VALUES (?)", p, 1, &res);
    zh_val_drop(&res);
    stop(&s);
  }

  /* No host state (as while a template initialises): an error value, not a trap. */
  zh_test_instance t;
  if (zh_test_instance_start(engine, linker, comp, NULL, &t)) {
    exec_err(&t, "default", "SELECT 1", NULL, 0, E_IO, "initialises");
    zh_test_instance_end(&t);
  }
  zh_cm_component_free(comp);
}

/* ---- concurrency ---- */

typedef struct writer {
  const zh_cm_component *comp;
  zh_host_sqlite_dbs *dbs;
  int id, ok;
} writer;

#define WRITERS 4
#define WRITES 40

static void *writer_main(void *arg) {
  writer *w = arg;
  for (int i = 0; i < WRITES; i++) {
    sql_instance s; /* a fresh instance per "request", as zerohop up makes them */
    if (!start(&s, w->comp, w->dbs, declared, 3))
      break;
    zh_val res, p[2] = {vint(w->id), vint(i)};
    zh_error *err = exec(&s.t, "default", "INSERT INTO busy VALUES (?, ?)", p, 2, &res);
    if (!err && zh_val_case(&res) == 0)
      w->ok++;
    else if (!err)
      fprintf(stderr, "  writer %d: %s\n", w->id,
              zh_val_payload(zh_val_payload(&res))
                  ? zh_val_payload(zh_val_payload(&res))->of.str.data
                  : "error");
    if (!err)
      zh_val_drop(&res);
    zh_error_free(err);
    stop(&s);
  }
  return NULL;
}

static void test_concurrent_writers(zh_host_sqlite_dbs *dbs) {
  zh_cm_component *comp = zh_test_load_component(engine, SQL_C);
  if (!comp)
    return;
  sql_instance s;
  if (start(&s, comp, dbs, declared, 3)) {
    zh_val res;
    exec_ok(&s.t, "default", "CREATE TABLE busy (w INTEGER, i INTEGER)", NULL, 0, &res);
    zh_val_drop(&res);
    stop(&s);
  }
  pthread_t th[WRITERS];
  writer w[WRITERS];
  for (int i = 0; i < WRITERS; i++) {
    w[i] = (writer){comp, dbs, i, 0};
    CHECK(pthread_create(&th[i], NULL, writer_main, &w[i]) == 0);
  }
  int total = 0;
  for (int i = 0; i < WRITERS; i++) {
    pthread_join(th[i], NULL);
    total += w[i].ok;
  }
  CHECK_EQ_INT(total, WRITERS * WRITES);
  if (start(&s, comp, dbs, declared, 3)) {
    zh_val res;
    zh_val *qr =
        exec_ok(&s.t, "default", "SELECT count(DISTINCT w * 1000 + i) FROM busy", NULL, 0, &res);
    if (qr) {
      zh_val want = vint(WRITERS * WRITES);
      zh_val *row = &zh_val_fields(&zh_val_list_items(&zh_val_fields(qr)[1])[0])[0];
      CHECK(zh_val_equal(&zh_val_list_items(row)[0], &want));
      zh_val_drop(&want);
    }
    zh_val_drop(&res);
    stop(&s);
  }
  zh_cm_component_free(comp);
}

/* ---- limits: the deadline, the result size, a full database ---- */

static void test_limits(void) {
  zh_host_sqlite_config cfg = {.max_result_bytes = 1 << 20};
  zh_host_sqlite_dbs *dbs = NULL;
  zh_error *err = zh_host_sqlite_dbs_new(&cfg, &dbs); /* `default` in memory */
  CHECK(err == NULL);
  zh_cm_component *comp = zh_test_load_component(engine, SQL_C);
  sql_instance s;
  if (!err && comp && start(&s, comp, dbs, declared, 3)) {
    exec_err(&s.t, "default",
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) "
             "SELECT x, randomblob(100) FROM c",
             NULL, 0, E_IO, "larger than 1048576 bytes");
    /* a runaway statement ends with the call's deadline, like a guest's own loop */
    zh_store_set_timeout(s.t.store, 300 * 1000000ull);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    zh_val res;
    err = exec(&s.t, "default",
               "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT count(*) FROM c",
               NULL, 0, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(err != NULL && zh_error_status(err) == ZH_ERR_INTERRUPTED);
    CHECK(secs < 10);
    if (!err)
      zh_val_drop(&res);
    zh_error_free(err);
    err = NULL;
    stop(&s);
  }
  /* database-full: a page limit on the connection, which the pool hands out again */
  if (!err && comp && start(&s, comp, dbs, declared, 3)) {
    zh_val res;
    exec_ok(&s.t, "default", "CREATE TABLE big (b BLOB)", NULL, 0, &res);
    zh_val_drop(&res);
    exec_ok(&s.t, "default", "PRAGMA max_page_count = 8", NULL, 0, &res);
    zh_val_drop(&res);
    exec_err(&s.t, "default", "INSERT INTO big VALUES (randomblob(100000))", NULL, 0,
             E_DATABASE_FULL, NULL);
    stop(&s);
  }
  zh_cm_component_free(comp);
  zh_host_sqlite_dbs_free(dbs);
  zh_error_free(err);
}

/* A writer waits up to the busy timeout for another instance's transaction, then answers
 * io("database is locked"); once that instance ends, the write goes through. */
static void test_busy_timeout(void) {
  char dir[128];
  snprintf(dir, sizeof dir, "%s/busy", scratch);
  zh_host_sqlite_config cfg = {.state_dir = dir, .busy_timeout_ms = 200};
  zh_host_sqlite_dbs *dbs = NULL;
  zh_error *err = zh_host_sqlite_dbs_new(&cfg, &dbs);
  CHECK(err == NULL);
  zh_cm_component *comp = zh_test_load_component(engine, SQL_C);
  sql_instance holder, writer;
  if (!err && comp && start(&holder, comp, dbs, declared, 3)) {
    zh_val res;
    exec_ok(&holder.t, "default", "CREATE TABLE t (x)", NULL, 0, &res);
    zh_val_drop(&res);
    zh_cm_func *keep = zh_cm_instance_func(holder.t.inst, RUNNER, "exec-and-keep");
    zh_val a[2];
    zh_error_free(zh_val_string_cstr(&a[0], "default"));
    zh_error_free(zh_val_string_cstr(&a[1], "BEGIN IMMEDIATE"));
    zh_error *e = keep ? zh_cm_func_call(holder.t.inst, keep, a, 2, &res) : NULL;
    CHECK(keep && e == NULL && zh_val_case(&res) == 0);
    if (keep && !e)
      zh_val_drop(&res);
    zh_error_free(e);
    zh_val_drop(&a[0]);
    zh_val_drop(&a[1]);
    if (start(&writer, comp, dbs, declared, 3)) {
      struct timespec t0, t1;
      clock_gettime(CLOCK_MONOTONIC, &t0);
      exec_err(&writer.t, "default", "INSERT INTO t VALUES (1)", NULL, 0, E_IO,
               "database is locked");
      clock_gettime(CLOCK_MONOTONIC, &t1);
      double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
      CHECK(ms >= 150 && ms < 5000); /* it waited about the busy timeout */
      /* readers are not blocked by the writer's lock (write-ahead log) */
      zh_val *qr = exec_ok(&writer.t, "default", "SELECT count(*) FROM t", NULL, 0, &res);
      CHECK(qr != NULL);
      if (qr)
        zh_val_drop(&res);
      stop(&holder); /* its transaction is rolled back, the lock freed */
      exec_ok(&writer.t, "default", "INSERT INTO t VALUES (2)", NULL, 0, &res);
      zh_val_drop(&res);
      stop(&writer);
    }
  }
  zh_cm_component_free(comp);
  zh_host_sqlite_dbs_free(dbs);
  zh_error_free(err);
}

/* ---- --sqlite at start ---- */

static void test_startup(zh_host_sqlite_dbs *dbs) {
  char file[128], bad[128];
  snprintf(file, sizeof file, "%s/setup.sql", scratch);
  snprintf(bad, sizeof bad, "%s/bad.sql", scratch);
  FILE *f = fopen(file, "w");
  if (f) {
    fputs("-- a migration\nCREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body "
          "TEXT);\n\nINSERT INTO notes (body) VALUES ('semi;colon');\n"
          "/* block */ INSERT INTO notes (body) VALUES ('two')\n",
          f);
    fclose(f);
  }
  f = fopen(bad, "w");
  if (f) {
    fputs("CREATE TABLE IF NOT EXISTS ok1 (x);\nINSERT INTO ok1 VALUES (1);\n"
          "INSERT INTO nowhere VALUES (2);\nINSERT INTO ok1 VALUES (3);\n",
          f);
    fclose(f);
  }
  char at_file[140], at_bad[140], at_missing[140];
  snprintf(at_file, sizeof at_file, "@%s", file);
  snprintf(at_bad, sizeof at_bad, "@%s", bad);
  snprintf(at_missing, sizeof at_missing, "@%s/missing.sql", scratch);
  const char *good[] = {"CREATE TABLE IF NOT EXISTS inline_t (x)", at_file,
                        "INSERT INTO inline_t VALUES (42)", "  ", "SELECT 1; SELECT 2;"};
  zh_error *err = zh_host_sqlite_run_startup(dbs, good, 5);
  CHECK(err == NULL);
  if (err)
    fprintf(stderr, "  startup: %s\n", zh_error_message(err));
  zh_error_free(err);

  const char *b1[] = {at_bad};
  err = zh_host_sqlite_run_startup(dbs, b1, 1);
  CHECK(err != NULL);
  if (err) {
    const char *m = zh_error_message(err);
    CHECK(strstr(m, bad) != NULL && strstr(m, "line 3") != NULL);
    CHECK(strstr(m, "INSERT INTO nowhere VALUES (2)") != NULL && strstr(m, "no such table"));
  }
  zh_error_free(err);
  const char *b2[] = {at_missing};
  err = zh_host_sqlite_run_startup(dbs, b2, 1);
  CHECK(err != NULL && strstr(zh_error_message(err), "missing.sql") != NULL);
  zh_error_free(err);
  const char *b3[] = {"CREATE TABLE inline_t (x)"};
  err = zh_host_sqlite_run_startup(dbs, b3, 1);
  CHECK(err != NULL && strstr(zh_error_message(err), "--sqlite") != NULL &&
        strstr(zh_error_message(err), "CREATE TABLE inline_t (x)") != NULL &&
        strstr(zh_error_message(err), "already exists") != NULL);
  zh_error_free(err);
}

/* ---- set-up, configuration errors, persistence ---- */

static int64_t count_rows(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t n = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static void test_config_errors(zh_host_sqlite_dbs *dbs) {
  zh_host_sqlite_db_config twice[] = {{"a", NULL}, {"a", "x.db"}};
  zh_host_sqlite_config cfg = {.dbs = twice, .ndbs = 2};
  zh_host_sqlite_dbs *d = (zh_host_sqlite_dbs *)&cfg;
  zh_error *err = zh_host_sqlite_dbs_new(&cfg, &d);
  CHECK(err != NULL && d == NULL && strstr(zh_error_message(err), "\"a\" is defined twice"));
  zh_error_free(err);
  const char *labels[] = {"default", "mem", "typo"};
  err = zh_host_sqlite_check_labels(dbs, "web", labels, 3);
  CHECK(err != NULL && strstr(zh_error_message(err), "component \"web\"") &&
        strstr(zh_error_message(err), "\"typo\""));
  zh_error_free(err);
  err = zh_host_sqlite_check_labels(dbs, "web", labels, 2);
  CHECK(err == NULL);
  zh_error_free(err);
}

int main(void) {
  snprintf(scratch, sizeof scratch, "/tmp/zh-sqlite-XXXXXX");
  CHECK(mkdtemp(scratch) != NULL);
  char state[128], base[128];
  snprintf(state, sizeof state, "%s/state/nested", scratch); /* made on first use */
  snprintf(base, sizeof base, "%s/conf", scratch);
  zh_error *err = zh_engine_new(NULL, &engine);
  if (!err)
    err = zh_cm_linker_new(&linker);
  if (!err)
    err = zh_wasip2_define_linker(linker);
  if (!err)
    err = zh_host_sqlite_define_linker(linker);
  CHECK(err == NULL);
  zh_host_sqlite_db_config rc[] = {{"other", "db/other.db"}, {"mem", NULL}};
  zh_host_sqlite_config cfg = {.state_dir = state, .base_dir = base, .dbs = rc, .ndbs = 2};
  zh_host_sqlite_dbs *dbs = NULL;
  if (!err)
    err = zh_host_sqlite_dbs_new(&cfg, &dbs);
  CHECK(err == NULL);
  if (err) {
    fprintf(stderr, "set-up: %s\n", zh_error_message(err));
    zh_error_free(err);
    TEST_SUMMARY();
  }
  test_config_errors(dbs);
  guest_checks(SQL_C, dbs, "c");
  guest_checks(SQL_JS, dbs, "js");
  test_concurrent_writers(dbs);
  test_startup(dbs);

  /* `other`, declared by another component, lives where the runtime config put it */
  zh_cm_component *comp = zh_test_load_component(engine, SQL_C);
  const char *only_other[] = {"other"};
  sql_instance s;
  if (comp && start(&s, comp, dbs, only_other, 1)) {
    expect_string(&s.t, "selftest", "other", "ok");
    exec_err(&s.t, "default", "SELECT 1", NULL, 0, E_ACCESS_DENIED, NULL);
    stop(&s);
  }
  zh_cm_component_free(comp);
  zh_host_sqlite_dbs_free(dbs);
  test_limits();
  test_busy_timeout();

  /* Persistence: the files, reopened with the sqlite3 API after the app closed them. */
  char def[160], other[160];
  snprintf(def, sizeof def, "%s/sqlite_db.db", state);
  snprintf(other, sizeof other, "%s/db/other.db", base);
  CHECK_EQ_INT(count_rows(def, "SELECT count(*) FROM persisted WHERE who IN ('c', 'js')"), 2);
  CHECK_EQ_INT(count_rows(def, "SELECT count(*) FROM persisted WHERE who = 'after'"), 2);
  CHECK_EQ_INT(count_rows(def, "SELECT count(*) FROM busy"), WRITERS * WRITES);
  CHECK_EQ_INT(count_rows(def, "SELECT count(*) FROM notes WHERE body IN ('semi;colon', 'two')"),
               2);
  CHECK_EQ_INT(count_rows(def, "SELECT x FROM inline_t"), 42);
  CHECK_EQ_INT(count_rows(def, "SELECT count(*) FROM ok1"), 1); /* stopped at the bad line */
  CHECK_EQ_INT(count_rows(other, "SELECT count(*) FROM kinds"), 1);
  CHECK_EQ_INT(count_rows(def, "SELECT count(*) FROM sqlite_master WHERE name = 'm'"), 0);

  zh_cm_linker_free(linker);
  zh_engine_free(engine);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
  CHECK(system(cmd) == 0);
  TEST_SUMMARY();
}
