/* fermyon:spin/key-value@2.0.0 (kv.h): the `store` resource over the app's labelled stores.
 * Each function reads as parse, check, act, reply; a backend failure is the guest's
 * `other(message)`, never a trap. */
#include "host/kv_internal.h"

#include <stdlib.h>

/* The cases of the interface's `error` variant. */
enum { SPIN_TABLE_FULL = 0, SPIN_NO_SUCH_STORE, SPIN_ACCESS_DENIED, SPIN_OTHER };

static zh_error *backend_err(zh_val *result, zh_error *err) {
  char *m = kv_message(err);
  zh_error *e = kv_err(result, SPIN_OTHER, m ? m : "key-value: out of memory");
  free(m);
  return e;
}

/* The open store behind a method's `self`, or NULL. */
static const kv_label *self_store(zh_cm_call *call, const zh_val *args) {
  kv_handle *h = kv_handle_at(kv_inst_of(call), args[0].of.res.rep, KV_SPIN_STORE);
  return h ? h->store : NULL;
}

static zh_error *spin_open(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                           zh_val *result) {
  (void)env, (void)nargs;
  zh_host_kv_inst *in = kv_inst_of(call);
  if (!in)
    return kv_err(result, SPIN_OTHER, "key-value is not available while the component initialises");
  size_t len;
  const char *label = kv_str(&args[0], &len);
  uint64_t rep = 0;
  switch (kv_open(in, label, len, KV_SPIN_STORE, &rep)) {
  case KV_OPEN_OK: {
    zh_val own = zh_val_own(rep);
    return kv_ok(result, &own);
  }
  case KV_OPEN_DENIED:
    return kv_err(result, SPIN_ACCESS_DENIED, NULL);
  case KV_OPEN_NO_STORE:
    return kv_err(result, SPIN_NO_SUCH_STORE, NULL);
  case KV_OPEN_FULL:
    break;
  }
  return kv_err(result, SPIN_TABLE_FULL, NULL);
}

static zh_error *spin_get(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = self_store(call, args);
  if (!s)
    return kv_bad_handle("store.get", args[0].of.res.rep);
  zh_error *err;
  size_t klen, vlen;
  const char *key = kv_str(&args[1], &klen);
  uint8_t *value;
  bool found;
  err = s->backend->ops->get(s->backend, s->label, key, klen, &value, &vlen, &found);
  if (err)
    return backend_err(result, err);
  zh_val opt;
  err = kv_opt_bytes(&opt, found, value, vlen);
  free(value);
  return err ? err : kv_ok(result, &opt);
}

static zh_error *spin_set(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = self_store(call, args);
  if (!s)
    return kv_bad_handle("store.set", args[0].of.res.rep);
  zh_error *err;
  size_t klen, vlen;
  const char *key = kv_str(&args[1], &klen);
  uint8_t *tmp;
  const uint8_t *value = kv_bytes(&args[2], &vlen, &tmp);
  if (!value)
    return zh_error_new(ZH_ERR_RESOURCE, "key-value store.set: out of memory");
  err = s->backend->ops->set(s->backend, s->label, key, klen, value, vlen);
  free(tmp);
  return err ? backend_err(result, err) : kv_ok(result, NULL);
}

static zh_error *spin_delete(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                             zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = self_store(call, args);
  if (!s)
    return kv_bad_handle("store.delete", args[0].of.res.rep);
  zh_error *err;
  size_t klen;
  const char *key = kv_str(&args[1], &klen);
  err = s->backend->ops->del(s->backend, s->label, key, klen);
  return err ? backend_err(result, err) : kv_ok(result, NULL);
}

static zh_error *spin_exists(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                             zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = self_store(call, args);
  if (!s)
    return kv_bad_handle("store.exists", args[0].of.res.rep);
  zh_error *err;
  size_t klen;
  const char *key = kv_str(&args[1], &klen);
  bool found = false;
  err = s->backend->ops->exists(s->backend, s->label, key, klen, &found);
  if (err)
    return backend_err(result, err);
  zh_val b = zh_val_bool(found);
  return kv_ok(result, &b);
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
    return backend_err(result, err);
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
