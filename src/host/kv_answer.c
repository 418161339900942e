/* The operations Spin's key-value and wasi:keyvalue share, once: open a labelled store, and
 * get, set, delete and exists on it. Each interface passes its own error cases (kv_cases);
 * args[0] is the store or bucket handle, args[1] the key, args[2] a value. */
#include "host/kv_internal.h"

#include <stdlib.h>

zh_error *kv_answer_backend(zh_val *result, const kv_cases *c, zh_error *err) {
  char *m = kv_message(err);
  zh_error *e = kv_err(result, c->other, m ? m : "key-value: out of memory");
  free(m);
  return e;
}

zh_error *kv_answer_open(zh_cm_call *call, const zh_val *label, kv_kind kind, const kv_cases *c,
                         zh_val *result) {
  zh_host_kv_inst *in = kv_inst_of(call);
  if (!in)
    return kv_err(result, c->other, "key-value is not available while the component initialises");
  size_t len;
  const char *name = kv_str(label, &len);
  uint64_t rep = 0;
  switch (kv_open(in, name, len, kind, &rep)) {
  case KV_OPEN_OK: {
    zh_val own = zh_val_own(rep);
    return kv_ok(result, &own);
  }
  case KV_OPEN_DENIED:
    return kv_err(result, c->access_denied, NULL);
  case KV_OPEN_NO_STORE:
    return kv_err(result, c->no_such_store, NULL);
  case KV_OPEN_FULL:
    break;
  }
  return c->table_full >= 0 ? kv_err(result, (uint32_t)c->table_full, NULL)
                            : kv_err(result, c->other, c->full_message);
}

zh_error *kv_answer_get(const kv_label *s, const char *func, const zh_val *args, const kv_cases *c,
                        zh_val *result) {
  if (!s)
    return kv_bad_handle(func, args[0].of.res.rep);
  size_t klen, vlen;
  const char *key = kv_str(&args[1], &klen);
  uint8_t *value;
  bool found;
  zh_error *err = s->backend->ops->get(s->backend, s->label, key, klen, &value, &vlen, &found);
  if (err)
    return kv_answer_backend(result, c, err);
  zh_val opt;
  err = kv_opt_bytes(&opt, found, value, vlen);
  free(value);
  return err ? err : kv_ok(result, &opt);
}

zh_error *kv_answer_set(const kv_label *s, const char *func, zh_val *args, const kv_cases *c,
                        zh_val *result) {
  if (!s)
    return kv_bad_handle(func, args[0].of.res.rep);
  size_t klen, vlen;
  const char *key = kv_str(&args[1], &klen);
  uint8_t *tmp;
  const uint8_t *value = kv_bytes(&args[2], &vlen, &tmp);
  if (!value)
    return zh_error_new(ZH_ERR_RESOURCE, "key-value %s: out of memory", func);
  zh_error *err = s->backend->ops->set(s->backend, s->label, key, klen, value, vlen);
  free(tmp);
  return err ? kv_answer_backend(result, c, err) : kv_ok(result, NULL);
}

zh_error *kv_answer_delete(const kv_label *s, const char *func, const zh_val *args,
                           const kv_cases *c, zh_val *result) {
  if (!s)
    return kv_bad_handle(func, args[0].of.res.rep);
  size_t klen;
  const char *key = kv_str(&args[1], &klen);
  zh_error *err = s->backend->ops->del(s->backend, s->label, key, klen);
  return err ? kv_answer_backend(result, c, err) : kv_ok(result, NULL);
}

zh_error *kv_answer_exists(const kv_label *s, const char *func, const zh_val *args,
                           const kv_cases *c, zh_val *result) {
  if (!s)
    return kv_bad_handle(func, args[0].of.res.rep);
  size_t klen;
  const char *key = kv_str(&args[1], &klen);
  bool found = false;
  zh_error *err = s->backend->ops->exists(s->backend, s->label, key, klen, &found);
  if (err)
    return kv_answer_backend(result, c, err);
  zh_val b = zh_val_bool(found);
  return kv_ok(result, &b);
}
