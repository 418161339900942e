/* What a guest's SQLite query and variable read cost through the app host
 * (src/host/sqlite.c, variables.c), against the same work done directly, in the same run.
 *
 * A 1,000-row table `kv (k INTEGER PRIMARY KEY, v BLOB)` of 100-byte values in a file
 * database; the statement is a point read `SELECT v FROM kv WHERE k = ?`.
 *   - direct:   sqlite3 prepare, bind, step, finalize on one connection (the reference)
 *   - guest:    sql-c's runner.exec (open from the pool, execute, drop) on one instance
 *   - request:  a fresh instance stamped from the component's template, the same exec, the
 *               instance freed (what one request of `zerohop up` would do), and the stamp
 *               alone, without SQL, to tell them apart
 *   - variable: vars-c's get("message") against zh_host_vars_inst_get directly
 * Each case runs ROUNDS rounds of OPS operations; it prints the median of the rounds'
 * per-operation times and the ratios.
 *
 *   sqlvars SQL-C.wasm VARS-C.wasm     (OPS from $ZH_BENCH_OPS, default 2000) */
#include "host/host_instance.h"
#include "host/sqlite.h"
#include "host/variables.h"
#include "host/wasi_config.h"
#include "zerohop/cm.h"
#include "zerohop/wasip2.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 7
#define ROWS 1000

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return v[n / 2];
}

static zh_cm_component *load(zh_engine *engine, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
  size_t got = b ? fread(b, 1, (size_t)n, f) : 0;
  fclose(f);
  zh_cm_component *comp = NULL;
  zh_error *err = got == (size_t)n && b ? zh_cm_component_new(engine, b, got, path, &comp) : NULL;
  if (err) {
    fprintf(stderr, "sqlvars: %s\n", zh_error_message(err));
    zh_error_free(err);
  }
  free(b);
  return comp;
}

/* One instance in its own store, as the tests make them. */
typedef struct inst {
  zh_store *store;
  zh_wasip2_ctx *p2;
  zh_cm_instance *in;
} inst;

static zh_error *inst_new(zh_engine *engine, zh_cm_linker *l, const zh_cm_template *tpl,
                          const zh_cm_component *comp, zh_host_instance *hi, inst *out) {
  zh_error *err = NULL;
  *out = (inst){0};
  if (!(out->p2 = zh_wasip2_new(NULL, &err)))
    return err;
  if ((err = zh_store_new(engine, &out->store)))
    return err;
  zh_wasip2_set_store(out->p2, out->store);
  zh_wasip2_set_user(out->p2, hi);
  hi->p2 = out->p2;
  return tpl ? zh_cm_template_instantiate(tpl, out->store, out->p2, &out->in)
             : zh_cm_linker_instantiate(l, comp, out->store, out->p2, &out->in);
}

static void inst_free(inst *i) {
  zh_cm_instance_free(i->in);
  zh_wasip2_free(i->p2);
  zh_store_free(i->store);
}

static int setup_table(const char *path) {
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK)
    return -1;
  int rc = sqlite3_exec(db,
                        "PRAGMA journal_mode=WAL; CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB);"
                        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000)"
                        " INSERT INTO kv SELECT x, randomblob(100) FROM c",
                        NULL, NULL, NULL);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : -1;
}

static double direct_round(sqlite3 *db, int ops) {
  double t0 = now_ns();
  for (int i = 0; i < ops; i++) {
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT v FROM kv WHERE k = ?", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, i % ROWS + 1);
    while (sqlite3_step(st) == SQLITE_ROW)
      (void)sqlite3_column_blob(st, 0);
    sqlite3_finalize(st);
  }
  return (now_ns() - t0) / ops;
}

/* runner.exec("default", the read, [integer(k)]) */
static zh_error *guest_exec(inst *in, zh_cm_func *f, zh_val *args, int k) {
  zh_val *p = zh_val_payload(&zh_val_list_items(&args[2])[0]);
  p->of.s = k;
  zh_val res;
  zh_error *err = zh_cm_func_call(in->in, f, args, 3, &res);
  if (!err && zh_val_case(&res) != 0)
    err = zh_error_new(ZH_ERR_USAGE, "exec answered an error");
  if (!err)
    zh_val_drop(&res);
  return err;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: sqlvars SQL-C.wasm VARS-C.wasm\n");
    return 2;
  }
  int ops = getenv("ZH_BENCH_OPS") ? atoi(getenv("ZH_BENCH_OPS")) : 2000;
  char dir[] = "/tmp/zh-bench-sqlvars-XXXXXX", path[128];
  if (!mkdtemp(dir))
    return 1;
  snprintf(path, sizeof path, "%s/sqlite_db.db", dir);
  if (setup_table(path) != 0)
    return 1;

  zh_engine *engine = NULL;
  zh_cm_linker *l = NULL;
  zh_host_sqlite_dbs *dbs = NULL;
  zh_host_vars *vars = NULL;
  zh_host_sqlite_config sc = {.state_dir = dir};
  zh_host_var_decl decl = {"who", "world", false, false};
  zh_host_var_pair cv = {"message", "hello, {{ who }}"};
  zh_host_vars_component vc = {"bench", &cv, 1};
  zh_host_vars_config vcfg = {.vars = &decl, .nvars = 1, .components = &vc, .ncomponents = 1};
  zh_error *err = zh_engine_new(NULL, &engine);
  if (!err)
    err = zh_cm_linker_new(&l);
  if (!err)
    err = zh_wasip2_define_linker(l);
  if (!err)
    err = zh_host_sqlite_define_linker(l);
  if (!err)
    err = zh_host_vars_define_linker(l);
  if (!err)
    err = zh_host_wasi_config_define_linker(l);
  if (!err)
    err = zh_host_sqlite_dbs_new(&sc, &dbs);
  if (!err)
    err = zh_host_vars_new(&vcfg, &vars);
  zh_cm_component *sql = err ? NULL : load(engine, argv[1]);
  zh_cm_component *var = err ? NULL : load(engine, argv[2]);
  zh_cm_template *tpl = NULL;
  if (!err && sql)
    err = zh_cm_template_new(l, sql, &tpl);
  if (err || !sql || !var) {
    fprintf(stderr, "sqlvars: set-up: %s\n", err ? zh_error_message(err) : "cannot load");
    return 1;
  }

  const char *labels[] = {"default"};
  zh_host_instance hi = {.component_id = "bench", .vars = zh_host_vars_inst(vars, "bench")};
  zh_host_sqlite_inst_new(dbs, labels, 1, &hi.sqlite);
  inst one;
  if ((err = inst_new(engine, l, NULL, sql, &hi, &one))) {
    fprintf(stderr, "sqlvars: %s\n", zh_error_message(err));
    return 1;
  }
  zh_cm_func *exec = zh_cm_instance_func(one.in, "zerohop:sql-guest/runner", "exec");
  zh_val args[3], param;
  zh_val_string_cstr(&args[0], "default");
  zh_val_string_cstr(&args[1], "SELECT v FROM kv WHERE k = ?");
  zh_val_list(&args[2], 1);
  zh_val s64 = zh_val_s64(1);
  zh_val_variant(&param, 0, &s64);
  zh_val_list_items(&args[2])[0] = param;

  sqlite3 *db;
  sqlite3_open(path, &db);
  double direct[ROUNDS], guest[ROUNDS], request[ROUNDS], stamp[ROUNDS];
  for (int r = 0; r < ROUNDS && !err; r++) {
    direct[r] = direct_round(db, ops);

    double t0 = now_ns();
    for (int i = 0; i < ops && !err; i++)
      err = guest_exec(&one, exec, args, i % ROWS + 1);
    guest[r] = (now_ns() - t0) / ops;

    t0 = now_ns();
    for (int i = 0; i < ops / 4 && !err; i++) {
      zh_host_instance rhi = hi;
      inst ri;
      zh_host_sqlite_inst_new(dbs, labels, 1, &rhi.sqlite);
      if (!(err = inst_new(engine, l, tpl, sql, &rhi, &ri)))
        err = guest_exec(&ri, zh_cm_instance_func(ri.in, "zerohop:sql-guest/runner", "exec"), args,
                         i % ROWS + 1);
      inst_free(&ri);
      zh_host_sqlite_inst_free(rhi.sqlite);
    }
    request[r] = (now_ns() - t0) / (ops / 4);

    t0 = now_ns();
    for (int i = 0; i < ops / 4 && !err; i++) {
      zh_host_instance rhi = hi;
      inst ri;
      err = inst_new(engine, l, tpl, sql, &rhi, &ri);
      inst_free(&ri);
    }
    stamp[r] = (now_ns() - t0) / (ops / 4);
  }
  sqlite3_close(db);

  /* variables: the guest's get against the lookup itself */
  inst vi;
  double vguest[ROUNDS], vdirect[ROUNDS];
  if (!err && !(err = inst_new(engine, l, NULL, var, &hi, &vi))) {
    zh_cm_func *get = zh_cm_instance_func(vi.in, "zerohop:vars-guest/spin-vars", "get");
    zh_val name;
    zh_val_string_cstr(&name, "message");
    for (int r = 0; r < ROUNDS && !err; r++) {
      double t0 = now_ns();
      for (int i = 0; i < ops && !err; i++) {
        zh_val res;
        if (!(err = zh_cm_func_call(vi.in, get, &name, 1, &res)))
          zh_val_drop(&res);
      }
      vguest[r] = (now_ns() - t0) / ops;
      t0 = now_ns();
      size_t sink = 0;
      for (int i = 0; i < ops; i++)
        sink += strlen(zh_host_vars_inst_get(hi.vars, i & 1 ? "message" : "message"));
      vdirect[r] = (now_ns() - t0) / ops + (double)(sink == 0);
    }
    zh_val_drop(&name);
    inst_free(&vi);
  }
  if (err) {
    fprintf(stderr, "sqlvars: %s\n", zh_error_message(err));
    return 1;
  }
  double d = median(direct, ROUNDS), g = median(guest, ROUNDS), q = median(request, ROUNDS),
         st = median(stamp, ROUNDS), vg = median(vguest, ROUNDS), vd = median(vdirect, ROUNDS);
  printf("sqlvars: %d ops x %d rounds, medians per operation\n", ops, ROUNDS);
  printf("sqlvars: point read direct sqlite3 %.2f us\n", d / 1e3);
  printf("sqlvars: point read from a guest (open, execute, drop) %.2f us (%.2fx direct)\n", g / 1e3,
         g / d);
  printf("sqlvars: per request: stamp + read + free %.2f us, stamp + free alone %.2f us (the read "
         "adds %.2f us)\n",
         q / 1e3, st / 1e3, (q - st) / 1e3);
  printf("sqlvars: variable get from a guest %.3f us, the host lookup %.3f us\n", vg / 1e3,
         vd / 1e3);

  for (int i = 0; i < 3; i++)
    zh_val_drop(&args[i]);
  inst_free(&one);
  zh_host_sqlite_inst_free(hi.sqlite);
  zh_cm_template_free(tpl);
  zh_cm_component_free(sql);
  zh_cm_component_free(var);
  zh_host_sqlite_dbs_free(dbs);
  zh_host_vars_free(vars);
  zh_cm_linker_free(l);
  zh_engine_free(engine);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
