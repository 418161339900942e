/* Writing into an app's store from the host side (not through a guest). */
#include "host/kv_seed.h"

#include "host/kv_internal.h"

#include <string.h>

zh_error *zh_host_kv_stores_set(zh_host_kv_stores *stores, const char *label, const char *key,
                                const uint8_t *value, size_t len) {
  for (size_t i = 0; i < stores->nlabels; i++) {
    const kv_label *l = &stores->labels[i];
    if (strcmp(l->label, label) == 0)
      return l->backend->ops->set(l->backend, l->label, key, strlen(key), value, len);
  }
  return zh_error_new(ZH_ERR_INVALID, "key-value store `%s` does not exist", label);
}
