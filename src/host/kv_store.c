/* What every key-value backend shares (kv_store.h): key lists and closing. */
#include "host/kv_store.h"

#include <stdlib.h>

void zh_host_kv_keys_free(zh_host_kv_keys *keys) {
  if (!keys)
    return;
  for (size_t i = 0; i < keys->n; i++)
    free(keys->keys[i]);
  free(keys->keys);
  keys->keys = NULL;
  keys->n = 0;
}

void zh_host_kv_backend_close(zh_host_kv_backend *b) {
  if (b)
    b->ops->close(b);
}
