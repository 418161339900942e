/* fermyon:spin/sqlite@2.0.0 over libsqlite3: the app's databases and their connection pools,
 * the per-instance connections, and the statements a guest runs. sqlite.h has the design.
 *
 * Trust: statements and parameters come from the guest and go to SQLite only through
 * prepare/bind (never pasted into SQL); the canonical ABI has already checked the handle a
 * guest passes, so a rep that is not among the instance's connections can only be one the
 * instance dropped (answered invalid-connection). */
#include "host/sqlite.h"

#include "host/host_instance.h"
#include "host/spin_wit.h"
#include "wasip2/wasip2_internal.h"
#include "wasm/error.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SQLITE_IFACE "fermyon:spin/sqlite@2.0.0"
#define DEFAULT_DB_FILE "sqlite_db.db"
#define DEFAULT_BUSY_MS 5000u
#define DEFAULT_MAX_RESULT ((size_t)64 << 20)
/* Spin's table of connections per instance holds 256. */
#define MAX_CONNS_PER_INST 256
/* Idle connections kept per database: enough for every worker of a busy app to find one. */
#define MAX_IDLE 64
/* SQLite VM steps between checks of the store's interrupt flag. */
#define PROGRESS_STEPS 10000

/* The error variant's cases, in WIT order. */
enum { E_NO_SUCH_DATABASE, E_ACCESS_DENIED, E_INVALID_CONNECTION, E_DATABASE_FULL, E_IO };
/* The value variant's cases. */
enum { V_INTEGER, V_REAL, V_TEXT, V_BLOB, V_NULL };

/* One database: its location and its idle connections (owned; `lock` guards the pool). */
typedef struct sql_db {
  char *label;
  char *path;  /* a file, or a memdb URI for an in-memory database */
  bool memory; /* in memory: `anchor` keeps it alive between connections */
  bool dir_made;
  sqlite3 *anchor;
  pthread_mutex_t lock;
  sqlite3 *idle[MAX_IDLE];
  size_t nidle;
} sql_db;

struct zh_host_sqlite_dbs {
  sql_db *dbs;
  size_t n;
  unsigned busy_ms;
  size_t max_result;
};

/* A connection the guest holds: `rep` is its handle's representation. */
typedef struct sql_conn {
  uint64_t rep;
  sql_db *db;
  sqlite3 *h;
} sql_conn;

struct zh_host_sqlite_inst {
  zh_host_sqlite_dbs *dbs;
  const char *const *labels;
  size_t nlabels;
  sql_conn *conns; /* grown on demand: most instances never open one */
  size_t nconns, cap;
  uint64_t next_rep;
};

/* ---- app state ---- */

static char *path_join(const char *dir, const char *file) {
  if (!dir || file[0] == '/')
    return strdup(file);
  size_t n = strlen(dir) + strlen(file) + 2;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s", dir, file);
  return p;
}

static zh_error *db_init(zh_host_sqlite_dbs *d, sql_db *db, const char *label, const char *path,
                         const char *base_dir) {
  pthread_mutex_init(&db->lock, NULL);
  db->label = strdup(label);
  if (path) {
    db->path = path_join(base_dir, path);
  } else {
    /* memdb URIs whose name starts with '/' are shared by the process's connections; the
     * address of the app state keeps two apps apart. */
    char uri[256];
    snprintf(uri, sizeof uri, "file:/zerohop-%p-%zu?vfs=memdb", (void *)d, (size_t)(db - d->dbs));
    db->path = strdup(uri);
    db->memory = true;
  }
  if (!db->label || !db->path)
    return zh_error_oom();
  if (db->memory) {
    int rc = sqlite3_open_v2(db->path, &db->anchor,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK)
      return zh_error_new(ZH_ERR_IO, "sqlite database \"%s\": cannot make it in memory: %s", label,
                          db->anchor ? sqlite3_errmsg(db->anchor) : sqlite3_errstr(rc));
  }
  return NULL;
}

zh_error *zh_host_sqlite_dbs_new(const zh_host_sqlite_config *config, zh_host_sqlite_dbs **out) {
  *out = NULL;
  zh_host_sqlite_dbs *d = calloc(1, sizeof *d);
  if (!d)
    return zh_error_oom();
  d->busy_ms = config->busy_timeout_ms ? config->busy_timeout_ms : DEFAULT_BUSY_MS;
  d->max_result = config->max_result_bytes ? config->max_result_bytes : DEFAULT_MAX_RESULT;
  bool has_default = false;
  for (size_t i = 0; i < config->ndbs; i++)
    has_default |= strcmp(config->dbs[i].label, "default") == 0;
  if (!(d->dbs = calloc(config->ndbs + 1, sizeof *d->dbs))) {
    free(d);
    return zh_error_oom();
  }
  zh_error *err = NULL;
  for (size_t i = 0; i < config->ndbs && !err; i++) {
    for (size_t j = 0; j < i; j++)
      if (strcmp(config->dbs[j].label, config->dbs[i].label) == 0)
        err = zh_error_new(ZH_ERR_INVALID, "sqlite database \"%s\" is defined twice",
                           config->dbs[i].label);
    if (!err) {
      err = db_init(d, &d->dbs[d->n], config->dbs[i].label, config->dbs[i].path, config->base_dir);
      d->n++;
    }
  }
  if (!err && !has_default) {
    char *path = config->state_dir ? path_join(config->state_dir, DEFAULT_DB_FILE) : NULL;
    if (config->state_dir && !path)
      err = zh_error_oom();
    else
      err = db_init(d, &d->dbs[d->n], "default", path, NULL);
    d->n++;
    free(path);
  }
  if (err) {
    zh_host_sqlite_dbs_free(d);
    return err;
  }
  *out = d;
  return NULL;
}

void zh_host_sqlite_dbs_free(zh_host_sqlite_dbs *dbs) {
  if (!dbs)
    return;
  for (size_t i = 0; i < dbs->n; i++) {
    sql_db *db = &dbs->dbs[i];
    for (size_t k = 0; k < db->nidle; k++)
      sqlite3_close_v2(db->idle[k]);
    sqlite3_close_v2(db->anchor);
    pthread_mutex_destroy(&db->lock);
    free(db->label);
    free(db->path);
  }
  free(dbs->dbs);
  free(dbs);
}

static sql_db *find_db(const zh_host_sqlite_dbs *dbs, const char *label) {
  for (size_t i = 0; i < dbs->n; i++)
    if (strcmp(dbs->dbs[i].label, label) == 0)
      return &dbs->dbs[i];
  return NULL;
}

zh_error *zh_host_sqlite_check_labels(const zh_host_sqlite_dbs *dbs, const char *component_id,
                                      const char *const *labels, size_t nlabels) {
  for (size_t i = 0; i < nlabels; i++)
    if (!find_db(dbs, labels[i]))
      return zh_error_new(ZH_ERR_INVALID,
                          "component \"%s\" uses sqlite database \"%s\", which is not defined: "
                          "define it in the runtime config ([sqlite_database.%s])",
                          component_id, labels[i], labels[i]);
  return NULL;
}

/* mkdir -p of the directory holding `path`. */
static int make_parent_dirs(const char *path) {
  char *dir = strdup(path);
  if (!dir)
    return ENOMEM;
  char *slash = strrchr(dir, '/');
  int rc = 0;
  if (slash && slash != dir) {
    *slash = '\0';
    for (char *p = dir + 1; *p && !rc; p++)
      if (*p == '/') {
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
          rc = errno;
        *p = '/';
      }
    if (!rc && mkdir(dir, 0777) != 0 && errno != EEXIST)
      rc = errno;
  }
  free(dir);
  return rc;
}

/* SQL names files too: ATTACH (and VACUUM INTO, which attaches its target) would let a guest
 * read or write any file the host can, so no connection may attach a database; the schema
 * cannot be edited by hand (defensive mode); loading extensions stays off, as it starts. */
static int deny_attach(void *env, int action, const char *a, const char *b, const char *c,
                       const char *d) {
  (void)env, (void)a, (void)b, (void)c, (void)d;
  return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY : SQLITE_OK;
}

static void fence(sqlite3 *h) {
  sqlite3_limit(h, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_set_authorizer(h, deny_attach, NULL);
  sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
}

/* A connection to `db`: an idle one, or a new one. On failure *msg says why (malloc'd). */
static sqlite3 *db_acquire(zh_host_sqlite_dbs *dbs, sql_db *db, char **msg) {
  pthread_mutex_lock(&db->lock);
  sqlite3 *h = db->nidle ? db->idle[--db->nidle] : NULL;
  int dir_rc = 0;
  if (!h && !db->memory && !db->dir_made && (dir_rc = make_parent_dirs(db->path)) == 0)
    db->dir_made = true;
  pthread_mutex_unlock(&db->lock);
  if (h)
    return h;
  if (dir_rc) {
    *msg = sqlite3_mprintf("cannot make the directory of %s: %s", db->path, strerror(dir_rc));
    return NULL;
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
              (db->memory ? SQLITE_OPEN_URI : 0);
  int rc = sqlite3_open_v2(db->path, &h, flags, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(h, (int)dbs->busy_ms);
    fence(h);
    if (!db->memory)
      rc = sqlite3_exec(h, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    *msg = sqlite3_mprintf("cannot open %s: %s", db->memory ? "the in-memory database" : db->path,
                           h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
    sqlite3_close_v2(h);
    return NULL;
  }
  return h;
}

/* Gives a connection back: what the guest left (a transaction, a progress handler) goes first. */
static void db_release(sql_db *db, sqlite3 *h) {
  sqlite3_progress_handler(h, 0, NULL, NULL);
  if (!sqlite3_get_autocommit(h))
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_lock(&db->lock);
  bool kept = db->nidle < MAX_IDLE && sqlite3_get_autocommit(h);
  if (kept)
    db->idle[db->nidle++] = h;
  pthread_mutex_unlock(&db->lock);
  if (!kept)
    sqlite3_close_v2(h);
}

/* ---- --sqlite at start ---- */

static bool blank_sql(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != ';')
      return false;
  return true;
}

/* Runs every statement of `sql`; `what` names it in messages ("--sqlite @f.sql"). */
static zh_error *run_script(sqlite3 *h, const char *sql, const char *what, bool is_file) {
  const char *p = sql;
  while (*p) {
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ';')
      p++;
    if (!*p)
      break;
    int rc = sqlite3_prepare_v2(h, p, -1, &st, &tail);
    bool prepared = rc == SQLITE_OK;
    if (prepared && st) {
      while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
      if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
      size_t line = 1;
      for (const char *q = sql; q < p; q++)
        line += *q == '\n';
      /* SQLite sets the tail only for a statement it could prepare */
      size_t stlen = prepared && tail > p ? (size_t)(tail - p) : strcspn(p, ";");
      while (stlen && (p[stlen - 1] == ';' || p[stlen - 1] == ' ' || p[stlen - 1] == '\n'))
        stlen--;
      const char *dots = stlen > 60 ? "..." : "";
      zh_error *err =
          is_file ? zh_error_new(ZH_ERR_IO, "%s: line %zu: statement \"%.*s%s\": %s", what, line,
                                 (int)(stlen > 60 ? 60 : stlen), p, dots, sqlite3_errmsg(h))
                  : zh_error_new(ZH_ERR_IO, "%s: statement \"%.*s%s\": %s", what,
                                 (int)(stlen > 60 ? 60 : stlen), p, dots, sqlite3_errmsg(h));
      sqlite3_finalize(st);
      return err;
    }
    sqlite3_finalize(st);
    if (!tail || tail == p)
      break;
    p = tail;
  }
  return NULL;
}

static zh_error *read_text_file(const char *path, char **out) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return zh_error_new(ZH_ERR_IO, "--sqlite @%s: cannot open %s: %s", path, path, strerror(errno));
  char *buf = NULL;
  size_t len = 0, cap = 0;
  zh_error *err = NULL;
  for (;;) {
    if (len + 65536 + 1 > cap) {
      char *nb = realloc(buf, cap = (len + 65536 + 1) * 2);
      if (!nb) {
        free(buf);
        fclose(f);
        return zh_error_oom();
      }
      buf = nb;
    }
    size_t got = fread(buf + len, 1, 65536, f);
    len += got;
    if (got < 65536) {
      if (ferror(f))
        err = zh_error_new(ZH_ERR_IO, "--sqlite @%s: cannot read %s", path, path);
      break;
    }
  }
  fclose(f);
  if (err) {
    free(buf);
    return err;
  }
  buf[len] = '\0';
  *out = buf;
  return NULL;
}

zh_error *zh_host_sqlite_run_startup(zh_host_sqlite_dbs *dbs, const char *const *args, size_t n) {
  sql_db *db = find_db(dbs, "default");
  if (!db || n == 0)
    return NULL;
  char *msg = NULL;
  sqlite3 *h = db_acquire(dbs, db, &msg);
  if (!h) {
    zh_error *err = zh_error_new(ZH_ERR_IO, "--sqlite: database \"default\": %s", msg);
    sqlite3_free(msg);
    return err;
  }
  zh_error *err = NULL;
  for (size_t i = 0; i < n && !err; i++) {
    char what[512];
    if (args[i][0] == '@') {
      char *text;
      snprintf(what, sizeof what, "--sqlite %s", args[i]);
      if (!(err = read_text_file(args[i] + 1, &text)) && text)
        err = run_script(h, text, what, true);
      free(text);
    } else {
      snprintf(what, sizeof what, "--sqlite");
      err = blank_sql(args[i]) ? NULL : run_script(h, args[i], what, false);
    }
  }
  db_release(db, h);
  return err;
}

/* ---- per instance ---- */

zh_error *zh_host_sqlite_inst_new(zh_host_sqlite_dbs *dbs, const char *const *labels,
                                  size_t nlabels, struct zh_host_sqlite_inst **out) {
  *out = calloc(1, sizeof **out);
  if (!*out)
    return zh_error_oom();
  (*out)->dbs = dbs;
  (*out)->labels = labels;
  (*out)->nlabels = nlabels;
  return NULL;
}

void zh_host_sqlite_inst_free(struct zh_host_sqlite_inst *inst) {
  if (!inst)
    return;
  for (size_t i = 0; i < inst->nconns; i++)
    db_release(inst->conns[i].db, inst->conns[i].h);
  free(inst->conns);
  free(inst);
}

/* ---- the interface ---- */

static zh_error *sql_error(zh_val *result, uint32_t which, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* result::err(error::<which>), with io's message from fmt (NULL for the other cases). */
static zh_error *sql_error(zh_val *result, uint32_t which, const char *fmt, ...) {
  zh_val e, s, *payload = NULL;
  zh_error *err = NULL;
  if (fmt) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if ((err = zh_val_string_cstr(&s, msg)))
      return err;
    payload = &s;
  }
  if (!(err = zh_val_variant(&e, which, payload)))
    err = zh_val_err(result, &e);
  return err;
}

static struct zh_host_sqlite_inst *inst_of(const zh_cm_call *call) {
  zh_host_instance *hi = zh_host_instance_state(zh_host_instance_of(call));
  return hi ? hi->sqlite : NULL;
}

static bool declared(const struct zh_host_sqlite_inst *inst, const char *label) {
  for (size_t i = 0; i < inst->nlabels; i++)
    if (strcmp(inst->labels[i], label) == 0)
      return true;
  return false;
}

static const char *const not_ready = "sqlite is not available while the component initialises";

static zh_error *host_open(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                           zh_val *result) {
  (void)env, (void)nargs;
  const char *label = args[0].of.str.data;
  struct zh_host_sqlite_inst *inst = inst_of(call);
  if (!inst)
    return sql_error(result, E_IO, "%s", not_ready);
  if (strlen(label) != args[0].of.str.len || !declared(inst, label))
    return sql_error(result, E_ACCESS_DENIED, NULL);
  sql_db *db = find_db(inst->dbs, label);
  if (!db)
    return sql_error(result, E_NO_SUCH_DATABASE, NULL);
  if (inst->nconns == MAX_CONNS_PER_INST)
    return sql_error(result, E_IO, "too many connections opened (%d)", MAX_CONNS_PER_INST);
  if (inst->nconns == inst->cap) {
    size_t cap = inst->cap ? inst->cap * 2 : 4;
    sql_conn *c = realloc(inst->conns, cap * sizeof *c);
    if (!c)
      return zh_error_oom();
    inst->conns = c, inst->cap = cap;
  }
  char *msg = NULL;
  sqlite3 *h = db_acquire(inst->dbs, db, &msg);
  if (!h) {
    zh_error *err = sql_error(result, E_IO, "%s", msg ? msg : "out of memory");
    sqlite3_free(msg);
    return err;
  }
  uint64_t rep = ++inst->next_rep;
  inst->conns[inst->nconns++] = (sql_conn){rep, db, h};
  zh_val own = zh_val_own(rep);
  return zh_val_ok(result, &own);
}

static sql_conn *find_conn(struct zh_host_sqlite_inst *inst, uint64_t rep) {
  for (size_t i = 0; inst && i < inst->nconns; i++)
    if (inst->conns[i].rep == rep)
      return &inst->conns[i];
  return NULL;
}

static void conn_dtor(void *env, void *data, uint64_t rep) {
  (void)env;
  zh_host_instance *hi = data ? (zh_host_instance *)zh_wasip2_user(data) : NULL;
  struct zh_host_sqlite_inst *inst = hi ? hi->sqlite : NULL;
  sql_conn *c = find_conn(inst, rep);
  if (!c || !inst)
    return;
  db_release(c->db, c->h);
  *c = inst->conns[--inst->nconns];
}

static int progress_cb(void *store) { return zh_store_interrupt_pending(store) ? 1 : 0; }

static bool utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || i + len > n)
      return false;
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

static zh_error *bind_params(sqlite3_stmt *st, zh_val *params, zh_val *result, bool *failed) {
  size_t n = zh_val_list_len(params);
  int want = sqlite3_bind_parameter_count(st);
  *failed = true;
  if ((size_t)want != n)
    return sql_error(result, E_IO, "the statement takes %d parameter%s, %zu given", want,
                     want == 1 ? "" : "s", n);
  zh_val *items = zh_val_list_items(params);
  for (size_t i = 0; i < n; i++) {
    zh_val *p = zh_val_payload(&items[i]);
    int col = (int)i + 1, rc = SQLITE_OK;
    switch (zh_val_case(&items[i])) {
    case V_INTEGER:
      rc = sqlite3_bind_int64(st, col, p->of.s);
      break;
    case V_REAL:
      rc = sqlite3_bind_double(st, col, p->of.f64);
      break;
    case V_TEXT:
      rc = sqlite3_bind_text64(st, col, p->of.str.data, p->of.str.len, SQLITE_TRANSIENT,
                               SQLITE_UTF8);
      break;
    case V_BLOB: {
      size_t len = zh_val_list_len(p);
      const void *raw = zh_val_list_raw_data(p);
      uint8_t *copy = NULL;
      if (!raw && len) {
        if (!(copy = malloc(len)))
          return zh_error_oom();
        for (size_t k = 0; k < len; k++)
          copy[k] = (uint8_t)zh_val_list_items(p)[k].of.u;
        raw = copy;
      }
      rc = sqlite3_bind_blob64(st, col, len ? raw : "", len, SQLITE_TRANSIENT);
      free(copy);
      break;
    }
    default:
      rc = sqlite3_bind_null(st, col);
      break;
    }
    if (rc != SQLITE_OK)
      return sql_error(result, E_IO, "parameter %zu: %s", i + 1, sqlite3_errstr(rc));
  }
  *failed = false;
  return NULL;
}

/* One column of the current row as a `value`; *bytes grows by what it holds. */
static zh_error *column_value(sqlite3_stmt *st, int col, zh_val *out, size_t *bytes, bool *bad) {
  zh_val p;
  *bad = false;
  switch (sqlite3_column_type(st, col)) {
  case SQLITE_INTEGER:
    p = zh_val_s64(sqlite3_column_int64(st, col));
    return zh_val_variant(out, V_INTEGER, &p);
  case SQLITE_FLOAT:
    p = zh_val_f64(sqlite3_column_double(st, col));
    return zh_val_variant(out, V_REAL, &p);
  case SQLITE_TEXT: {
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (!s && n)
      return zh_error_oom();
    if (!utf8_valid(s, n)) {
      *bad = true;
      return NULL;
    }
    *bytes += n;
    zh_error *err = zh_val_string(&p, s ? (const char *)s : "", n);
    return err ? err : zh_val_variant(out, V_TEXT, &p);
  }
  case SQLITE_BLOB: {
    const void *b = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (!b && n)
      return zh_error_oom();
    *bytes += n;
    zh_error *err = zh_val_list_raw(&p, ZH_WIT_U8, n ? b : "", n);
    return err ? err : zh_val_variant(out, V_BLOB, &p);
  }
  default:
    return zh_val_variant(out, V_NULL, NULL);
  }
}

/* Steps through every row into *rows (a growing array of row-result records). */
static zh_error *collect_rows(zh_host_sqlite_dbs *dbs, sqlite3_stmt *st, int ncol, zh_val **rows,
                              size_t *nrows, int *rc_out, char *why, size_t whylen) {
  size_t cap = 0, bytes = 0;
  int rc;
  *why = '\0';
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*nrows == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      zh_val *r = realloc(*rows, ncap * sizeof *r);
      if (!r)
        return zh_error_oom();
      *rows = r, cap = ncap;
    }
    zh_val *row = &(*rows)[*nrows];
    zh_error *err = zh_val_record(row, 1);
    if (err)
      return err;
    (*nrows)++;
    zh_val *values = &zh_val_fields(row)[0];
    if ((err = zh_val_list(values, (size_t)ncol)))
      return err;
    for (int c = 0; c < ncol; c++) {
      bool bad;
      if ((err = column_value(st, c, &zh_val_list_items(values)[c], &bytes, &bad)))
        return err;
      if (bad) {
        snprintf(why, whylen, "row %zu, column \"%s\": the text is not valid UTF-8", *nrows,
                 sqlite3_column_name(st, c));
        *rc_out = SQLITE_ROW;
        return NULL;
      }
    }
    bytes += 16 * (size_t)ncol + 16;
    if (bytes > dbs->max_result) {
      snprintf(why, whylen, "the result is larger than %zu bytes", dbs->max_result);
      *rc_out = SQLITE_ROW;
      return NULL;
    }
  }
  *rc_out = rc;
  return NULL;
}

/* record query-result { columns, rows }, taking the rows. */
static zh_error *query_result(sqlite3_stmt *st, int ncol, zh_val *rows, size_t nrows, zh_val *out) {
  zh_error *err = zh_val_record(out, 2);
  if (!err)
    err = zh_val_list(&zh_val_fields(out)[0], (size_t)ncol);
  for (int c = 0; c < ncol && !err; c++) {
    const char *name = sqlite3_column_name(st, c);
    err = zh_val_string_cstr(&zh_val_list_items(&zh_val_fields(out)[0])[c], name ? name : "");
  }
  if (!err)
    err = zh_val_list(&zh_val_fields(out)[1], nrows);
  if (err)
    return err;
  zh_val *items = zh_val_list_items(&zh_val_fields(out)[1]);
  for (size_t i = 0; i < nrows; i++) {
    items[i] = rows[i];
    rows[i] = zh_val_bool(false);
  }
  return NULL;
}

/* True if `sql` (len bytes) holds a statement, not just spaces and comments. */
static bool more_sql(sqlite3 *h, const char *sql, size_t len) {
  if (len == 0)
    return false;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(h, sql, (int)len, &st, NULL);
  sqlite3_finalize(st);
  return rc != SQLITE_OK || st != NULL;
}

static zh_error *host_execute(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                              zh_val *result) {
  (void)env, (void)nargs;
  zh_host_instance *hi = zh_host_instance_of(call);
  struct zh_host_sqlite_inst *inst = hi ? hi->sqlite : NULL;
  sql_conn *c = find_conn(inst, args[0].of.res.rep);
  if (!c)
    return sql_error(result, E_INVALID_CONNECTION, NULL);
  const char *sql = args[1].of.str.data;
  size_t sql_len = args[1].of.str.len;
  if (sql_len > (size_t)INT32_MAX)
    return sql_error(result, E_IO, "the statement is too long");
  /* the instance's store, whose interrupt (the request deadline) stops a long statement */
  zh_wasip2_ctx *cx = zh_cm_call_data(call);
  zh_store *store = cx ? cx->store : NULL;
  if (store)
    sqlite3_progress_handler(c->h, PROGRESS_STEPS, progress_cb, store);
  sqlite3_stmt *st = NULL;
  const char *tail = NULL;
  zh_val *rows = NULL;
  size_t nrows = 0;
  char why[256] = "";
  bool failed = false;
  int rc = sqlite3_prepare_v2(c->h, sql, (int)sql_len, &st, &tail);
  int ncol = st ? sqlite3_column_count(st) : 0;
  zh_error *err = NULL;
  if (rc == SQLITE_OK && tail && more_sql(c->h, tail, sql_len - (size_t)(tail - sql)))
    snprintf(why, sizeof why,
             "more than one statement (at byte %zu): execute runs one statement at a time",
             (size_t)(tail - sql));
  else if (rc == SQLITE_OK && st && !(err = bind_params(st, &args[2], result, &failed)) && !failed)
    err = collect_rows(inst->dbs, st, ncol, &rows, &nrows, &rc, why, sizeof why);
  if (!err && !failed && !why[0] && rc == SQLITE_DONE)
    rc = SQLITE_OK;
  if (err || failed) {
    /* err is a host failure; failed means bind_params already set the guest's error */
  } else if (why[0]) {
    err = sql_error(result, E_IO, "%s", why);
  } else if (rc == SQLITE_INTERRUPT && store && zh_store_interrupt_pending(store)) {
    err = zh_error_new(ZH_ERR_INTERRUPTED, "sqlite statement interrupted: the call's deadline "
                                           "passed");
  } else if (rc == SQLITE_FULL) {
    err = sql_error(result, E_DATABASE_FULL, NULL);
  } else if (rc != SQLITE_OK) {
    err = sql_error(result, E_IO, "%s", sqlite3_errmsg(c->h));
  } else {
    zh_val qr;
    if (!(err = query_result(st, ncol, rows, nrows, &qr)))
      err = zh_val_ok(result, &qr);
  }
  for (size_t i = 0; i < nrows; i++)
    zh_val_drop(&rows[i]);
  free(rows);
  sqlite3_finalize(st);
  sqlite3_progress_handler(c->h, 0, NULL, NULL);
  return err;
}

zh_error *zh_host_sqlite_define_linker(zh_cm_linker *linker) {
  static const struct {
    const char *name;
    zh_cm_host_fn fn;
  } funcs[] = {{"[static]connection.open", host_open},
               {"[method]connection.execute", host_execute}};
  zh_error *err = zh_cm_linker_define_resource(linker, SQLITE_IFACE, "connection", conn_dtor, NULL);
  for (size_t i = 0; i < sizeof funcs / sizeof funcs[0] && !err; i++) {
    const zh_wit_func *type = zh_host_func(SQLITE_IFACE, funcs[i].name);
    err = type ? zh_cm_linker_define_func(linker, SQLITE_IFACE, funcs[i].name, type, funcs[i].fn,
                                          NULL)
               : zh_error_new(ZH_ERR_USAGE, "%s: %s is not in the built-in WIT", SQLITE_IFACE,
                              funcs[i].name);
  }
  return err;
}
