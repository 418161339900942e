/* wasi:keyvalue@0.2.0-draft2 (kv.h): store (buckets), atomics (increment, CAS) and batch,
 * over the same labelled stores and permissions as Spin's key-value.
 *
 * list-keys pages through the keys in byte order; the cursor is the last key of the page,
 * so a page after a concurrent write may skip or repeat nothing that existed throughout.
 * A CAS handle remembers the value it saw at `new`; `swap` writes only if the store still
 * holds that value and otherwise hands the guest the same handle back, refreshed. */
#include "host/kv_internal.h"

#include <stdlib.h>
#include <string.h>

/* The cases of store's `error` and atomics' `cas-error`. */
enum { WASI_NO_SUCH_STORE = 0, WASI_ACCESS_DENIED, WASI_OTHER };
enum { CAS_STORE_ERROR = 0, CAS_FAILED };

static const kv_cases cases = {WASI_NO_SUCH_STORE, WASI_ACCESS_DENIED, WASI_OTHER, -1,
                               "too many open buckets"};

/* The bucket behind a borrow<bucket>, or NULL. */
static const kv_label *bucket_of(zh_cm_call *call, const zh_val *arg) {
  kv_handle *h = kv_handle_at(kv_inst_of(call), arg->of.res.rep, KV_BUCKET);
  return h ? h->store : NULL;
}

/* ---- store ---- */

static zh_error *wasi_open(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                           zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_open(call, &args[0], KV_BUCKET, &cases, result);
}

static zh_error *bucket_get(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                            zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_get(bucket_of(call, &args[0]), "bucket.get", args, &cases, result);
}

static zh_error *bucket_set(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                            zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_set(bucket_of(call, &args[0]), "bucket.set", args, &cases, result);
}

static zh_error *bucket_delete(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                               zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_delete(bucket_of(call, &args[0]), "bucket.delete", args, &cases, result);
}

static zh_error *bucket_exists(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                               zh_val *result) {
  (void)env, (void)nargs;
  return kv_answer_exists(bucket_of(call, &args[0]), "bucket.exists", args, &cases, result);
}

/* key-response { keys, cursor }: a full page has a cursor (its last key), a short one none. */
static zh_error *key_response(zh_val *out, zh_host_kv_keys *keys, size_t page) {
  zh_val list, cursor = zh_val_none();
  zh_error *err = zh_val_list(&list, keys->n);
  zh_val *items = err ? NULL : zh_val_list_items(&list);
  for (size_t i = 0; items && i < keys->n && !err; i++)
    err = zh_val_string_cstr(&items[i], keys->keys[i]);
  if (!err && keys->n == page && page) {
    zh_val last;
    err = zh_val_string_cstr(&last, keys->keys[keys->n - 1]);
    if (!err)
      err = zh_val_some(&cursor, &last);
  }
  zh_host_kv_keys_free(keys);
  if (!err)
    err = zh_val_record(out, 2);
  if (err) {
    zh_val_drop(&list);
    zh_val_drop(&cursor);
    return err;
  }
  zh_val_fields(out)[0] = list;
  zh_val_fields(out)[1] = cursor;
  return NULL;
}

static zh_error *bucket_list_keys(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                                  zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = bucket_of(call, &args[0]);
  if (!s)
    return kv_bad_handle("bucket.list-keys", args[0].of.res.rep);
  zh_error *err;
  const char *after = NULL;
  if (zh_val_case(&args[1]) == 1) {
    size_t len;
    after = kv_str(zh_val_payload(&args[1]), &len);
  }
  size_t page = kv_inst_of(call)->app->list_keys_page;
  zh_host_kv_keys keys;
  err = s->backend->ops->keys(s->backend, s->label, after, page, &keys);
  if (err)
    return kv_answer_backend(result, &cases, err);
  zh_val resp;
  err = key_response(&resp, &keys, page);
  return err ? err : kv_ok(result, &resp);
}

/* ---- atomics ---- */

static zh_error *atomics_increment(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                                   zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = bucket_of(call, &args[0]);
  if (!s)
    return kv_bad_handle("increment", args[0].of.res.rep);
  zh_error *err;
  size_t klen;
  const char *key = kv_str(&args[1], &klen);
  int64_t now = 0;
  err = s->backend->ops->increment(s->backend, s->label, key, klen, args[2].of.s, &now);
  if (err)
    return kv_answer_backend(result, &cases, err);
  zh_val v = zh_val_s64(now);
  return kv_ok(result, &v);
}

/* Reads the key into the CAS handle's snapshot. */
static zh_error *cas_refresh(kv_handle *h) {
  free(h->value);
  h->value = NULL;
  return h->store->backend->ops->get(h->store->backend, h->store->label, h->key, h->klen, &h->value,
                                     &h->vlen, &h->has_value);
}

static zh_error *cas_new(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  zh_host_kv_inst *in = kv_inst_of(call);
  const kv_label *s = bucket_of(call, &args[0]);
  if (!s)
    return kv_bad_handle("cas.new", args[0].of.res.rep);
  zh_error *err;
  size_t klen;
  const char *key = kv_str(&args[1], &klen);
  uint64_t rep;
  if (kv_open(in, s->label, strlen(s->label), KV_CAS, &rep) != KV_OPEN_OK)
    return kv_err(result, WASI_OTHER, "too many open buckets and CAS operations");
  kv_handle *h = kv_handle_at(in, rep, KV_CAS);
  if (!(h->key = malloc(klen + 1))) {
    kv_close(in, rep);
    return zh_error_new(ZH_ERR_RESOURCE, "key-value cas.new: out of memory");
  }
  memcpy(h->key, key, klen);
  h->key[klen] = 0;
  h->klen = klen;
  err = cas_refresh(h);
  if (err) {
    kv_close(in, rep);
    return kv_answer_backend(result, &cases, err);
  }
  zh_val own = zh_val_own(rep);
  return kv_ok(result, &own);
}

static zh_error *cas_current(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                             zh_val *result) {
  (void)env, (void)nargs;
  kv_handle *h = kv_handle_at(kv_inst_of(call), args[0].of.res.rep, KV_CAS);
  if (!h)
    return kv_bad_handle("cas.current", args[0].of.res.rep);
  zh_val opt;
  zh_error *err = kv_opt_bytes(&opt, h->has_value, h->value, h->vlen);
  return err ? err : kv_ok(result, &opt);
}

/* cas-error::store-error(other(msg)). */
static zh_error *cas_store_error(zh_val *result, zh_error *cause) {
  char *m = kv_message(cause);
  zh_val msg, inner, outer;
  zh_error *err = zh_val_string_cstr(&msg, m ? m : "key-value: out of memory");
  free(m);
  if (!err)
    err = zh_val_variant(&inner, WASI_OTHER, &msg);
  if (!err)
    err = zh_val_variant(&outer, CAS_STORE_ERROR, &inner);
  return err ? err : zh_val_err(result, &outer);
}

/* swap consumes the guest's handle: the rep is the host's from here on, closed on success
 * and on a store error, handed back refreshed when the value changed meanwhile. */
static zh_error *atomics_swap(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                              zh_val *result) {
  (void)env, (void)nargs;
  zh_host_kv_inst *in = kv_inst_of(call);
  uint64_t rep = args[0].of.res.rep;
  kv_handle *h = kv_handle_at(in, rep, KV_CAS);
  if (!h)
    return kv_bad_handle("swap", rep);
  size_t vlen;
  uint8_t *tmp;
  const uint8_t *value = kv_bytes(&args[1], &vlen, &tmp);
  if (!value)
    return zh_error_new(ZH_ERR_RESOURCE, "key-value swap: out of memory");
  const kv_label *s = h->store;
  bool swapped = false;
  zh_error *err = s->backend->ops->swap(s->backend, s->label, h->key, h->klen, h->has_value,
                                        h->value, h->vlen, value, vlen, &swapped);
  free(tmp);
  if (!err && !swapped)
    err = cas_refresh(h);
  if (err) {
    kv_close(in, rep);
    return cas_store_error(result, err);
  }
  if (swapped) {
    kv_close(in, rep);
    return kv_ok(result, NULL);
  }
  zh_val own = zh_val_own(rep), failed;
  err = zh_val_variant(&failed, CAS_FAILED, &own);
  return err ? err : zh_val_err(result, &failed);
}

/* ---- batch ---- */

static zh_error *batch_get_many(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                                zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = bucket_of(call, &args[0]);
  if (!s)
    return kv_bad_handle("get-many", args[0].of.res.rep);
  zh_error *err;
  size_t n = zh_val_list_len(&args[1]);
  zh_val *keys = zh_val_list_items(&args[1]), list;
  if ((err = zh_val_list(&list, n)))
    return err;
  zh_val *items = zh_val_list_items(&list);
  for (size_t i = 0; i < n && !err; i++) {
    size_t klen, vlen;
    const char *key = kv_str(&keys[i], &klen);
    uint8_t *value;
    bool found;
    zh_error *berr = s->backend->ops->get(s->backend, s->label, key, klen, &value, &vlen, &found);
    if (berr) {
      zh_val_drop(&list);
      return kv_answer_backend(result, &cases, berr);
    }
    zh_val k = zh_val_bool(false), opt = zh_val_bool(false);
    err = zh_val_tuple(&items[i], 2);
    if (!err)
      err = zh_val_string(&k, key, klen);
    if (!err) {
      zh_val_fields(&items[i])[0] = k;
      err = kv_opt_bytes(&opt, found, value, vlen);
      if (!err)
        zh_val_fields(&items[i])[1] = opt;
    }
    free(value);
  }
  if (err) {
    zh_val_drop(&list);
    return err;
  }
  return kv_ok(result, &list);
}

static zh_error *batch_set_many(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                                zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = bucket_of(call, &args[0]);
  if (!s)
    return kv_bad_handle("set-many", args[0].of.res.rep);
  zh_error *err;
  size_t n = zh_val_list_len(&args[1]);
  zh_val *pairs = zh_val_list_items(&args[1]);
  for (size_t i = 0; i < n; i++) {
    zh_val *f = zh_val_fields(&pairs[i]);
    size_t klen, vlen;
    const char *key = kv_str(&f[0], &klen);
    uint8_t *tmp;
    const uint8_t *value = kv_bytes(&f[1], &vlen, &tmp);
    if (!value)
      return zh_error_new(ZH_ERR_RESOURCE, "key-value set-many: out of memory");
    err = s->backend->ops->set(s->backend, s->label, key, klen, value, vlen);
    free(tmp);
    if (err)
      return kv_answer_backend(result, &cases, err); /* not atomic, as the interface says */
  }
  return kv_ok(result, NULL);
}

static zh_error *batch_delete_many(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                                   zh_val *result) {
  (void)env, (void)nargs;
  const kv_label *s = bucket_of(call, &args[0]);
  if (!s)
    return kv_bad_handle("delete-many", args[0].of.res.rep);
  zh_error *err;
  size_t n = zh_val_list_len(&args[1]);
  zh_val *keys = zh_val_list_items(&args[1]);
  for (size_t i = 0; i < n; i++) {
    size_t klen;
    const char *key = kv_str(&keys[i], &klen);
    if ((err = s->backend->ops->del(s->backend, s->label, key, klen)))
      return kv_answer_backend(result, &cases, err);
  }
  return kv_ok(result, NULL);
}

const kv_entry zh_host_kv_wasi_entries[] = {
    {ZH_HOST_KV_WASI_STORE, "open", wasi_open},
    {ZH_HOST_KV_WASI_STORE, "[method]bucket.get", bucket_get},
    {ZH_HOST_KV_WASI_STORE, "[method]bucket.set", bucket_set},
    {ZH_HOST_KV_WASI_STORE, "[method]bucket.delete", bucket_delete},
    {ZH_HOST_KV_WASI_STORE, "[method]bucket.exists", bucket_exists},
    {ZH_HOST_KV_WASI_STORE, "[method]bucket.list-keys", bucket_list_keys},
    {ZH_HOST_KV_WASI_ATOMICS, "[static]cas.new", cas_new},
    {ZH_HOST_KV_WASI_ATOMICS, "[method]cas.current", cas_current},
    {ZH_HOST_KV_WASI_ATOMICS, "increment", atomics_increment},
    {ZH_HOST_KV_WASI_ATOMICS, "swap", atomics_swap},
    {ZH_HOST_KV_WASI_BATCH, "get-many", batch_get_many},
    {ZH_HOST_KV_WASI_BATCH, "set-many", batch_set_many},
    {ZH_HOST_KV_WASI_BATCH, "delete-many", batch_delete_many},
};
const size_t zh_host_kv_wasi_nentries =
    sizeof zh_host_kv_wasi_entries / sizeof zh_host_kv_wasi_entries[0];
