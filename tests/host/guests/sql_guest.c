/* A C guest of fermyon:spin/sqlite@2.0.0 (world sql_guest.wit; bindings from `zerohop bindgen
 * c`). tests/host/test_sqlite.c calls its exports: `exec` passes values through both ways,
 * `selftest` checks a round trip of every value kind itself. No libc I/O: the core module
 * imports only the interface, so `jco new` needs no adapter (hence no snprintf here). */
#include "sql_guest.h"

#include <stdlib.h>
#include <string.h>

typedef sql_guest_result_sqlite_query_result_sqlite_error_t exec_result;

/* msg = a + b (+ the first n bytes of c), cut to 300 bytes. */
static void say(char msg[300], const char *a, const char *b, const uint8_t *c, size_t n) {
  size_t len = 0;
  for (const char *p = a; *p && len < 299; p++)
    msg[len++] = *p;
  for (const char *p = b; p && *p && len < 299; p++)
    msg[len++] = *p;
  for (size_t i = 0; c && i < n && len < 299; i++)
    msg[len++] = (char)c[i];
  msg[len] = '\0';
}

static bool open_db(sql_guest_string_t *db, sql_guest_sqlite_own_connection_t *conn,
                    exec_result *ret) {
  sql_guest_result_own_sqlite_connection_sqlite_error_t opened;
  sql_guest_sqlite_static_connection_open(db, &opened);
  if (opened.is_err) {
    ret->is_err = true;
    ret->val.err = opened.val.err; /* moved */
    return false;
  }
  *conn = opened.val.ok;
  return true;
}

static void run(sql_guest_sqlite_own_connection_t conn, const char *sql,
                const sql_guest_list_sqlite_value_t *params, exec_result *ret) {
  sql_guest_string_t s;
  sql_guest_string_set(&s, sql);
  sql_guest_list_sqlite_value_t none = {NULL, 0};
  sql_guest_sqlite_method_connection_execute(sql_guest_sqlite_borrow_connection(conn), &s,
                                             params ? params : &none, ret);
}

void sql_guest_runner_exec(sql_guest_string_t *db, sql_guest_string_t *statement,
                           sql_guest_list_sqlite_value_t *params, exec_result *ret) {
  sql_guest_sqlite_own_connection_t conn;
  if (open_db(db, &conn, ret)) {
    sql_guest_sqlite_method_connection_execute(sql_guest_sqlite_borrow_connection(conn), statement,
                                               params, ret);
    sql_guest_sqlite_connection_drop_own(conn);
  }
  sql_guest_string_free(db);
  sql_guest_string_free(statement);
  sql_guest_list_sqlite_value_free(params);
}

void sql_guest_runner_exec_and_keep(sql_guest_string_t *db, sql_guest_string_t *statement,
                                    exec_result *ret) {
  sql_guest_sqlite_own_connection_t conn;
  sql_guest_list_sqlite_value_t none = {NULL, 0};
  if (open_db(db, &conn, ret))
    sql_guest_sqlite_method_connection_execute(sql_guest_sqlite_borrow_connection(conn), statement,
                                               &none, ret);
  /* conn is not dropped: the instance ends holding it */
  sql_guest_string_free(db);
  sql_guest_string_free(statement);
}

static void say_error(char msg[300], const char *what, const sql_guest_sqlite_error_t *e) {
  static const char *const names[] = {"no-such-database", "access-denied", "invalid-connection",
                                      "database-full", "io: "};
  if (e->tag == SQL_GUEST_SQLITE_ERROR_IO)
    say(msg, what, names[4], e->val.io.ptr, e->val.io.len);
  else
    say(msg, what, e->tag < 5 ? names[e->tag] : "?", NULL, 0);
}

void sql_guest_runner_two_connections(sql_guest_string_t *db, sql_guest_string_t *ret) {
  sql_guest_sqlite_own_connection_t a, b;
  exec_result r;
  char msg[300] = "ok";
  if (!open_db(db, &a, &r) || !open_db(db, &b, &r)) {
    say_error(msg, "open: ", &r.val.err);
  } else {
    run(a, "CREATE TABLE IF NOT EXISTS two (x INTEGER)", NULL, &r);
    if (r.is_err)
      say_error(msg, "create: ", &r.val.err);
    sql_guest_result_sqlite_query_result_sqlite_error_free(&r);
    sql_guest_sqlite_connection_drop_own(a);
    run(b, "INSERT INTO two VALUES (2)", NULL, &r);
    if (r.is_err)
      say_error(msg, "insert: ", &r.val.err);
    sql_guest_result_sqlite_query_result_sqlite_error_free(&r);
    sql_guest_sqlite_connection_drop_own(b);
  }
  sql_guest_string_dup(ret, msg);
  sql_guest_string_free(db);
}

/* Inserts one row holding every value kind through parameters and reads it back. */
void sql_guest_runner_selftest(sql_guest_string_t *db, sql_guest_string_t *ret) {
  static uint8_t blob[] = {0, 1, 2, 0xfe, 0xff};
  sql_guest_sqlite_value_t in[5] = {
      {.tag = SQL_GUEST_SQLITE_VALUE_INTEGER, .val.integer = -9007199254740993LL},
      {.tag = SQL_GUEST_SQLITE_VALUE_REAL, .val.real = 2.5e-300},
      {.tag = SQL_GUEST_SQLITE_VALUE_TEXT},
      {.tag = SQL_GUEST_SQLITE_VALUE_BLOB, .val.blob = {blob, sizeof blob}},
      {.tag = SQL_GUEST_SQLITE_VALUE_NULL},
  };
  sql_guest_string_set(&in[2].val.text, "h\xc3\xa9llo, \xe4\xb8\x96\xe7\x95\x8c");
  sql_guest_list_sqlite_value_t params = {in, 5};
  sql_guest_sqlite_own_connection_t conn;
  exec_result r;
  char msg[300] = "ok";
  if (!open_db(db, &conn, &r)) {
    say_error(msg, "open: ", &r.val.err);
    sql_guest_result_sqlite_query_result_sqlite_error_free(&r);
    goto out;
  }
  run(conn, "CREATE TABLE IF NOT EXISTS kinds (i, r, t, b, n)", NULL, &r);
  if (!r.is_err) {
    sql_guest_result_sqlite_query_result_sqlite_error_free(&r);
    run(conn, "INSERT INTO kinds VALUES (?, ?, ?, ?, ?)", &params, &r);
  }
  if (!r.is_err) {
    sql_guest_result_sqlite_query_result_sqlite_error_free(&r);
    run(conn, "SELECT i, r, t, b, n FROM kinds ORDER BY rowid DESC LIMIT 1", NULL, &r);
  }
  if (r.is_err) {
    say_error(msg, "execute: ", &r.val.err);
  } else if (r.val.ok.columns.len != 5 || r.val.ok.rows.len != 1 ||
             r.val.ok.rows.ptr[0].values.len != 5) {
    say(msg, "unexpected shape of the result", NULL, NULL, 0);
  } else {
    const sql_guest_sqlite_value_t *out = r.val.ok.rows.ptr[0].values.ptr;
    for (int k = 0; k < 5 && !strcmp(msg, "ok"); k++) {
      bool same = out[k].tag == in[k].tag;
      if (same && k == 0)
        same = out[k].val.integer == in[k].val.integer;
      if (same && k == 1)
        same = out[k].val.real == in[k].val.real;
      if (same && k == 2)
        same = out[k].val.text.len == in[k].val.text.len &&
               !memcmp(out[k].val.text.ptr, in[k].val.text.ptr, in[k].val.text.len);
      if (same && k == 3)
        same =
            out[k].val.blob.len == sizeof blob && !memcmp(out[k].val.blob.ptr, blob, sizeof blob);
      if (!same) {
        char col[2] = {(char)('0' + k), 0};
        say(msg, "a different value came back in column ", col, NULL, 0);
      }
    }
    const sql_guest_string_t *c = &r.val.ok.columns.ptr[2];
    if (!strcmp(msg, "ok") && (c->len != 1 || c->ptr[0] != 't'))
      say(msg, "column 2 is named ", NULL, c->ptr, c->len);
  }
  sql_guest_result_sqlite_query_result_sqlite_error_free(&r);
  sql_guest_sqlite_connection_drop_own(conn);
out:
  sql_guest_string_dup(ret, msg);
  sql_guest_string_free(db);
}
