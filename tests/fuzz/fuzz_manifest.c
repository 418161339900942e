/* libFuzzer harness for the spin.toml loader (src/host/manifest.c) and the runtime config
 * (src/host/runtime_config.c): one input is one file, given to both. A manifest that loads
 * must keep the loader's promises: every trigger names a component that exists (or has a
 * static response), component ids are unique kebab-case, every source is an absolute path
 * under the base directory or from a file: URL, and a private route has no path. A file
 * that does not load gives one line "fuzz.toml:LINE:COL: reason". No file is read or
 * written: parse only, with base directory /app.
 * Build and run: `make fuzz-manifest` (docs/FUZZING.md). */
#include "host/manifest.h"
#include "host/runtime_config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(zh_error *err) {
  const char *msg = zh_error_message(err);
  unsigned line, col;
  if (strchr(msg, '\n') || sscanf(msg, "fuzz.toml:%u:%u: ", &line, &col) != 2 || line < 1 ||
      col < 1)
    abort();
}

static void check_manifest(const zh_manifest *m) {
  if (!m->name || !m->http_base)
    abort();
  for (size_t i = 0; i < m->ncomponents; i++) {
    const zh_manifest_component *c = &m->components[i];
    if (!c->id || !c->source || c->source[0] != '/')
      abort();
    if (c->source_kind == ZH_MANIFEST_SOURCE_PATH && strncmp(c->source, "/app/", 5) != 0 &&
        c->source[0] != '/')
      abort();
    for (size_t j = 0; j < i; j++)
      if (strcmp(m->components[j].id, c->id) == 0)
        abort();
  }
  for (size_t i = 0; i < m->nhttp; i++) {
    const zh_manifest_http_trigger *h = &m->http[i];
    if (h->is_private != (h->route == NULL) || (h->route && h->route[0] != '/'))
      abort();
    if (h->component ? !zh_manifest_component_find(m, h->component) : !h->has_static_response)
      abort();
  }
  for (size_t i = 0; i < m->nredis; i++)
    if (!m->redis[i].address || !zh_manifest_component_find(m, m->redis[i].component))
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  zh_manifest *m = NULL;
  zh_error *err = zh_manifest_parse((const char *)data, size, "fuzz.toml", "/app", &m);
  if (err) {
    if (m)
      abort();
    check_error(err);
  } else {
    check_manifest(m);
  }
  zh_error_free(err);
  zh_manifest_free(m);

  zh_runtime_config *rc = NULL;
  err = zh_runtime_config_parse((const char *)data, size, "fuzz.toml", "/app", &rc);
  if (err) {
    if (rc)
      abort();
    check_error(err);
  }
  zh_error_free(err);
  zh_runtime_config_free(rc);
  return 0;
}
