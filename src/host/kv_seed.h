/* `zerohop up --key-value KEY=VALUE`: values written into a store before the app serves. */
#ifndef ZH_HOST_KV_SEED_H
#define ZH_HOST_KV_SEED_H

#include "host/kv.h"

/* Sets `key` to `value` in the store `label` of the app. ZH_ERR_INVALID for a label the app
 * does not have; the backend's error (naming the store) otherwise. */
zh_error *zh_host_kv_stores_set(zh_host_kv_stores *stores, const char *label, const char *key,
                                const uint8_t *value, size_t len);

#endif
