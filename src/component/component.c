/* The public entry points of zerohop/cm.h: component binaries in and out of existence. */
#include "component/cb_internal.h"

#include "wasm/error.h"

#include <stdlib.h>
#include <string.h>

bool zh_cm_is_component(const uint8_t *bytes, size_t len) {
  return bytes && len >= 8 && memcmp(bytes, "\0asm", 4) == 0 && bytes[6] == 1 && bytes[7] == 0;
}

zh_error *zh_cm_component_new(zh_engine *engine, const uint8_t *bytes, size_t len, const char *name,
                              zh_cm_component **out) {
  *out = NULL;
  zh_cm_component *c = calloc(1, sizeof *c);
  if (!c)
    return zh_error_oom();
  c->engine = engine;
  c->file = wit_strdup(&c->arena, name ? name : "component");
  if (!c->file) {
    free(c);
    return zh_error_oom();
  }
  zh_error *err = cb_parse(c, bytes, len);
  if (err) {
    zh_cm_component_free(c);
    return err;
  }
  *out = c;
  return NULL;
}

void zh_cm_component_free(zh_cm_component *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->nmodules_all; i++)
    zh_module_free(c->modules_all[i]);
  free(c->modules_all);
  wit_arena_free(&c->arena);
  free(c);
}
