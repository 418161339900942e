/* SQLite for the app host: `fermyon:spin/sqlite@2.0.0` through Debian's libsqlite3.
 *
 * App state (zh_host_sqlite_dbs, one per app, shared by every thread): the databases by
 * label. `default` is <state_dir>/sqlite_db.db unless the runtime config maps it
 * (`[sqlite_database.NAME] type = "spin", path = ...`); any other label exists only when the
 * runtime config defines it. A database without a path is in memory, kept for the life of
 * the app and shared by its instances (Spin's in-memory database lasts one connection).
 *
 * Connections come from a pool per database, behind one mutex each: `open` takes an idle
 * connection or opens one, dropping the guest's handle (or freeing the instance) gives it
 * back, after rolling back any transaction the guest left open. Each connection is used by
 * one thread at a time (the one running its instance), so it is opened without SQLite's own
 * mutex. File databases use write-ahead logging, so readers and a writer on other threads do
 * not wait for each other, and every connection waits up to the busy timeout for a lock
 * before answering io("database is locked").
 *
 * Per instance (zh_host_sqlite_inst): the connections the guest holds and the labels its
 * component declares in `sqlite_databases`. `open` of an undeclared label is access-denied
 * (whether or not the app has it), of a declared label the app lacks no-such-database.
 *
 * `execute` runs exactly one statement with its parameters bound in order (integer, real,
 * text, blob, null) and answers the column names and every row. SQLite's errors are
 * io(message); a full disk is database-full; a statement followed by another is io(...) (run
 * them one at a time); a result larger than max_result_bytes is io(...). A statement still
 * running when the instance's store is interrupted (the request timeout) stops and the call
 * ends as the guest's own loop would, with ZH_ERR_INTERRUPTED. */
#ifndef ZH_HOST_SQLITE_H
#define ZH_HOST_SQLITE_H

#include "zerohop/cm.h"
#include "zerohop/engine.h"

#include <stddef.h>

/* A database of the runtime config: [sqlite_database.LABEL] type = "spin", path = PATH. */
typedef struct zh_host_sqlite_db_config {
  const char *label;
  const char *path; /* relative paths resolve against base_dir; NULL: in memory */
} zh_host_sqlite_db_config;

typedef struct zh_host_sqlite_config {
  const char *state_dir; /* `default` is <state_dir>/sqlite_db.db; NULL: `default` in memory */
  const char *base_dir;  /* the runtime config file's directory; NULL: the working directory */
  const zh_host_sqlite_db_config *dbs;
  size_t ndbs;
  unsigned busy_timeout_ms; /* 0: 5000 */
  size_t max_result_bytes;  /* 0: 64 MiB */
} zh_host_sqlite_config;

typedef struct zh_host_sqlite_dbs zh_host_sqlite_dbs;
struct zh_host_sqlite_inst; /* per instance, below */

/* Builds the app's databases (strings are copied). Files are opened on first use; their
 * directories are made then. ZH_ERR_INVALID for a label defined twice. */
zh_error *zh_host_sqlite_dbs_new(const zh_host_sqlite_config *config, zh_host_sqlite_dbs **out);
/* Closes every connection; after every instance made from it is freed. Accepts NULL. */
void zh_host_sqlite_dbs_free(zh_host_sqlite_dbs *dbs);

/* Spin's start-up check: every label a component declares must be a database of the app.
 * ZH_ERR_INVALID naming the component and the first undefined label. */
zh_error *zh_host_sqlite_check_labels(const zh_host_sqlite_dbs *dbs, const char *component_id,
                                      const char *const *labels, size_t nlabels);

/* `zerohop up --sqlite`: runs each argument on the `default` database before serving, in
 * order: "@FILE" runs every statement of FILE, anything else is SQL run as given. The first
 * failure stops it: ZH_ERR_IO naming the argument (the file and the line of the statement,
 * and the statement's start) and SQLite's message. */
zh_error *zh_host_sqlite_run_startup(zh_host_sqlite_dbs *dbs, const char *const *args, size_t n);

/* The per-instance state (zh_host_instance.sqlite): `labels` (the component's
 * sqlite_databases) are borrowed and must outlive it, as `dbs` must. */
zh_error *zh_host_sqlite_inst_new(zh_host_sqlite_dbs *dbs, const char *const *labels,
                                  size_t nlabels, struct zh_host_sqlite_inst **out);
/* Gives back every connection the guest left open. Accepts NULL. Call it after
 * zh_cm_instance_free of the instance: freeing the instance runs the connection resource's
 * destructor for each handle the guest still owns, and that destructor reads this state. */
void zh_host_sqlite_inst_free(struct zh_host_sqlite_inst *inst);

/* Defines `fermyon:spin/sqlite@2.0.0` (connection.open, connection.execute, the connection
 * resource) on a component linker. */
zh_error *zh_host_sqlite_define_linker(zh_cm_linker *linker);

#endif
