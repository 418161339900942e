/* The public entry points of zerohop/cm.h: component binaries in and out of existence. */
#include "component/cb_internal.h"

#include "wasm/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool zh_cm_is_component(const uint8_t *bytes, size_t len) {
  return bytes && len >= 8 && memcmp(bytes, "\0asm", 4) == 0 && bytes[6] == 1 && bytes[7] == 0;
}

/* Errors of loading are one line: control characters (from names in the binary, which may
 * hold any) are escaped, whichever decoder produced the message. */
static zh_error *one_line(zh_error *err) {
  const char *m = zh_error_message(err);
  bool clean = true;
  for (const unsigned char *c = (const unsigned char *)m; *c && clean; c++)
    clean = *c >= 0x20 && *c != 0x7f;
  if (clean)
    return err;
  size_t len = strlen(m);
  char *buf = malloc(len * 4 + 1);
  if (!buf)
    return err;
  size_t n = 0;
  for (const unsigned char *c = (const unsigned char *)m; *c; c++) {
    if (*c < 0x20 || *c == 0x7f)
      n += (size_t)snprintf(buf + n, 5, "\\x%02x", *c);
    else
      buf[n++] = (char)*c;
  }
  buf[n] = 0;
  zh_error *out = zh_error_new(zh_error_status(err), "%s", buf);
  free(buf);
  if (!out || out == zh_error_oom())
    return err;
  zh_error_free(err);
  return out;
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
  if (!err && !cb_make_world(c))
    err = zh_error_new(ZH_ERR_RESOURCE, "%s: out of memory describing the component", c->file);
  if (err) {
    zh_cm_component_free(c);
    return one_line(err);
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
