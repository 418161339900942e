/* Key-value for the app host: `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue@0.2.0-draft2`
 * (store, atomics, batch) over the same labelled stores.
 *
 * Three layers, as every host module has (docs/HOST.md):
 *   - zh_host_kv_stores, the app's: each label with its backend (kv_store.h). `default` is
 *     the SQLite file <state_dir>/sqlite_key_value.db unless the runtime config maps it
 *     elsewhere; any other label exists only if the runtime config defines it. Shared by
 *     every instance and thread.
 *   - zh_host_kv_inst, one component instance's: the labels its `key_value_stores` declares
 *     and the stores, buckets and CAS handles its guest holds. Free it after the component
 *     instance (zh_cm_instance_free); it closes whatever the guest left open.
 *   - zh_host_kv_define_linker: the four interfaces' functions and resources.
 *
 * Guest-visible outcomes: a label not declared by the component is `access-denied` (even if
 * the app has no such store, as Spin answers), a declared label the app does not have is
 * `no-such-store`, a backend failure `other(message)`; more than ZH_HOST_KV_MAX_OPEN open
 * handles is Spin's `store-table-full` (wasi: `other`). The guest never traps for these. */
#ifndef ZH_HOST_KV_H
#define ZH_HOST_KV_H

#include "zerohop/cm.h"
#include "zerohop/engine.h"

#include <stddef.h>
#include <stdint.h>

#define ZH_HOST_KV_MAX_OPEN 256 /* handles per instance: stores, buckets and CAS operations */

typedef enum zh_host_kv_type {
  ZH_HOST_KV_SQLITE = 0, /* runtime config `type = "spin"` */
  ZH_HOST_KV_REDIS,      /* runtime config `type = "redis"` */
} zh_host_kv_type;

/* One `[key_value_store.LABEL]` of the runtime config. */
typedef struct zh_host_kv_store_config {
  const char *label;
  zh_host_kv_type type;
  const char *path; /* SQLite: the file (resolved by the caller); NULL: the default file */
  const char *url;  /* Redis: redis://[[user]:password@]host[:port][/db] */
} zh_host_kv_store_config;

typedef struct zh_host_kv_config {
  const char *state_dir; /* where the default file lives; created if missing */
  const zh_host_kv_store_config *stores;
  size_t nstores;
  size_t list_keys_page;     /* keys per wasi list-keys page; 0: 1000 */
  unsigned redis_timeout_ms; /* per Redis command; 0: 5000 */
  /* No implicit `default` store when `stores` names none: the app has no use for it, and
   * opening its file would lock it (kv_sqlite.c) for no reason, so that a second process of
   * a stateless app in the same directory could not start. */
  bool no_default;
} zh_host_kv_config;

typedef struct zh_host_kv_stores zh_host_kv_stores;
typedef struct zh_host_kv_inst zh_host_kv_inst;

/* Opens every SQLite file (Redis connects on first use). Strings are copied. An error names
 * the label and the file or URL: a duplicate label, a bad URL, a file that cannot be opened. */
zh_error *zh_host_kv_stores_new(const zh_host_kv_config *config, zh_host_kv_stores **out);
void zh_host_kv_stores_free(zh_host_kv_stores *stores); /* accepts NULL; after every inst */
/* Sets a value from the host (`zerohop up --key-value K=V` seeds `default` this way). An error
 * names the label when the app has no such store. */
zh_error *zh_host_kv_stores_set(zh_host_kv_stores *stores, const char *label, const char *key,
                                const uint8_t *value, size_t len);

/* `labels`: the component's `key_value_stores` (copied). `stores` must outlive the inst. */
zh_error *zh_host_kv_inst_new(zh_host_kv_stores *stores, const char *const *labels, size_t nlabels,
                              zh_host_kv_inst **out);
void zh_host_kv_inst_free(zh_host_kv_inst *inst); /* accepts NULL */
/* Handles the guest holds now (for tests and leak checks). */
size_t zh_host_kv_inst_open_count(const zh_host_kv_inst *inst);

/* Defines fermyon:spin/key-value@2.0.0 and wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2.
 * Instances find their zh_host_kv_inst through zh_host_instance_of(call)->kv. */
zh_error *zh_host_kv_define_linker(zh_cm_linker *linker);

#endif
