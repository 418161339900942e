/* What kv.c (state), kv_spin.c and wasi_keyvalue.c (host functions) share.
 *
 * A guest's handle (a Spin store, a wasi bucket, a CAS operation) is a slot of its
 * instance's table; the rep the guest's handle carries is the slot index + 1, so a rep names
 * its instance's slot and nothing else. The canonical ABI already checks that a guest only
 * passes handles of the right resource type that it holds; the kind check here guards the
 * host's own bookkeeping. */
#ifndef ZH_HOST_KV_INTERNAL_H
#define ZH_HOST_KV_INTERNAL_H

#include "host/host_instance.h"
#include "host/kv.h"
#include "host/kv_store.h"
#include "zerohop/val.h"

#include <stdbool.h>
#include <stdint.h>

#define ZH_HOST_KV_SPIN "fermyon:spin/key-value@2.0.0"
#define ZH_HOST_KV_WASI_STORE "wasi:keyvalue/store@0.2.0-draft2"
#define ZH_HOST_KV_WASI_ATOMICS "wasi:keyvalue/atomics@0.2.0-draft2"
#define ZH_HOST_KV_WASI_BATCH "wasi:keyvalue/batch@0.2.0-draft2"

typedef struct kv_label {
  char *label;
  zh_host_kv_backend *backend; /* shared between labels on one file; owned by the stores */
} kv_label;

struct zh_host_kv_stores {
  kv_label *labels;
  size_t nlabels;
  zh_host_kv_backend **backends; /* owned, each once */
  size_t nbackends;
  size_t list_keys_page;
};

typedef enum kv_kind { KV_FREE = 0, KV_SPIN_STORE, KV_BUCKET, KV_CAS } kv_kind;

typedef struct kv_handle {
  kv_kind kind;
  const kv_label *store;
  /* KV_CAS only: the key and the value it saw (has_value false: the key was absent) */
  char *key;
  size_t klen;
  uint8_t *value;
  size_t vlen;
  bool has_value;
} kv_handle;

struct zh_host_kv_inst {
  zh_host_kv_stores *app;
  char **allowed; /* the component's key_value_stores */
  size_t nallowed;
  kv_handle *slots;
  size_t nslots, open;
};

/* The open outcomes, in the order both interfaces' error variants list them. */
typedef enum kv_open_result {
  KV_OPEN_OK,
  KV_OPEN_DENIED,
  KV_OPEN_NO_STORE,
  KV_OPEN_FULL
} kv_open_result;

/* The calling instance's key-value state, or NULL (template initialisation, no kv). */
zh_host_kv_inst *kv_inst_of(const zh_cm_call *call);
/* Checks the label and takes a slot of `kind`; *rep on KV_OPEN_OK. */
kv_open_result kv_open(zh_host_kv_inst *in, const char *label, size_t len, kv_kind kind,
                       uint64_t *rep);
/* The slot behind a rep of `kind`, or NULL. */
kv_handle *kv_handle_at(zh_host_kv_inst *in, uint64_t rep, kv_kind kind);
void kv_close(zh_host_kv_inst *in, uint64_t rep);
/* A trap for a rep that names no handle of its kind (a host bookkeeping error). */
zh_error *kv_bad_handle(const char *func, uint64_t rep);

/* ---- values ---- */

/* A string argument's bytes. */
static inline const char *kv_str(const zh_val *v, size_t *len) {
  *len = v->of.str.len;
  return v->of.str.data ? v->of.str.data : "";
}
/* A list<u8> argument as contiguous bytes: borrowed from a raw list, or copied into *tmp
 * (the caller frees it) from an item list. NULL when out of memory. */
const uint8_t *kv_bytes(zh_val *v, size_t *len, uint8_t **tmp);
/* ok(payload) / err(variant case [with a string payload]) into *result. */
zh_error *kv_ok(zh_val *result, zh_val *payload);
zh_error *kv_err(zh_val *result, uint32_t error_case, const char *other);
/* option<list<u8>> from a lookup. */
zh_error *kv_opt_bytes(zh_val *out, bool found, const uint8_t *data, size_t len);
/* An error message for `other(...)`, taking the error. Returns a malloc'd string or NULL. */
char *kv_message(zh_error *err);

/* ---- what both interfaces do (kv_answer.c) ----
 * Spin's `store` and wasi:keyvalue's `bucket` differ only in their error variants: `cases`
 * names the interface's. A backend failure becomes other(message), never a trap. */
typedef struct kv_cases {
  uint32_t no_such_store, access_denied, other;
  int32_t table_full; /* its own case, or -1: other(full_message) */
  const char *full_message;
} kv_cases;

zh_error *kv_answer_backend(zh_val *result, const kv_cases *c, zh_error *err);
/* open(label): a handle of `kind`, or the interface's error. */
zh_error *kv_answer_open(zh_cm_call *call, const zh_val *label, kv_kind kind, const kv_cases *c,
                         zh_val *result);
/* get, set, delete and exists on an open store (`func` names it in a trap for a bad handle;
 * `s` NULL means the handle was bad). */
zh_error *kv_answer_get(const kv_label *s, const char *func, const zh_val *args, const kv_cases *c,
                        zh_val *result);
zh_error *kv_answer_set(const kv_label *s, const char *func, zh_val *args, const kv_cases *c,
                        zh_val *result);
zh_error *kv_answer_delete(const kv_label *s, const char *func, const zh_val *args,
                           const kv_cases *c, zh_val *result);
zh_error *kv_answer_exists(const kv_label *s, const char *func, const zh_val *args,
                           const kv_cases *c, zh_val *result);

/* The host functions of each file, by interface and ABI name. */
typedef struct kv_entry {
  const char *iface;
  const char *name;
  zh_cm_host_fn fn;
} kv_entry;
extern const kv_entry zh_host_kv_spin_entries[];
extern const size_t zh_host_kv_spin_nentries;
extern const kv_entry zh_host_kv_wasi_entries[];
extern const size_t zh_host_kv_wasi_nentries;

#endif
