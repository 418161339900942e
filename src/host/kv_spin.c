/* fermyon:spin/key-value@2.0.0 (kv.h): the `store` resource over the app's labelled stores.
 * Each function reads as parse, check, act, reply; a backend failure is the guest's
 * `other(message)`, never a trap. */
#include "host/kv_internal.h"

#include <stdlib.h>

/* The cases of the interface's `error` variant. */
enum { SPIN_TABLE_FULL = 0, SPIN_NO_SUCH_STORE, SPIN_ACCESS_DENIED, SPIN_OTHER };

static const kv_cases cases = {SPIN_NO_SUCH_STORE, SPIN_ACCESS_DENIED, SPIN_OTHER, SPIN_TABLE_FULL,
                               NULL};

/* The open store behind a method's `self`, or NULL. */
static const kv_label *self_store(zh_cm_call *call, const zh_val *args) {
  kv_handle *h = kv_handle_at(kv_inst_of(call), args[0].of.res.rep, KV_SPIN_STORE);
  return h ? h->store : NULL;
}

static zh_error *spin_open(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                           zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_open(call, &args[0], KV_SPIN_STORE, &cases, result);
}

static zh_error *spin_get(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_get(self_store(call, args), "store.get", args, &cases, result);
}

static zh_error *spin_set(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_set(self_store(call, args), "store.set", args, &cases, result);
}

static zh_error *spin_delete(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                             zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_delete(self_store(call, args), "store.delete", args, &cases, result);
}

static zh_error *spin_exists(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                             zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_exists(self_store(call, args), "store.exists", args, &cases, result);
}

/* list<string> of keys; consumes `keys`. */
static zh_error *key_list(zh_val *out, zh_host_kv_keys *keys) {
  zh_error *err = zh_val_list(out, keys->n);
  zh_val *items = err ? NULL : zh_val_list_items(out);
  for (size_t i = 0; items && i < keys->n && !err; i++)
    err = zh_val_string_cstr(&items[i], keys->keys[i]);
  zh_host_kv_keys_free(keys);
  if (err)
    zh_val_drop(out);
  return err;
}

static zh_error *spin_get_keys(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                               zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = self_store(call, args);
  if (!s)
    return kv_bad_handle("store.get-keys", args[0].of.res.rep);
  zh_error *err;
  zh_host_kv_keys keys;
  err = s->backend->ops->keys(s->backend, s->label, NULL, 0, &keys);
  if (err)
    return kv_answer_backend(result, &cases, err);
  zh_val list;
  err = key_list(&list, &keys);
  return err ? err : kv_ok(result, &list);
}

const kv_entry zh_host_kv_spin_entries[] = {
    {ZH_HOST_KV_SPIN, "[static]store.open", spin_open},
    {ZH_HOST_KV_SPIN, "[method]store.get", spin_get},
    {ZH_HOST_KV_SPIN, "[method]store.set", spin_set},
    {ZH_HOST_KV_SPIN, "[method]store.delete", spin_delete},
    {ZH_HOST_KV_SPIN, "[method]store.exists", spin_exists},
    {ZH_HOST_KV_SPIN, "[method]store.get-keys", spin_get_keys},
};
const size_t zh_host_kv_spin_nentries =
    sizeof zh_host_kv_spin_entries / sizeof zh_host_kv_spin_entries[0];
