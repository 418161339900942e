/* Recognising a component's HTTP handler from its exported instances. Versions are matched
 * the way the component linker matches imports: any 0.2.x release of a WASI interface. */
#include "handler_kind.h"

#include <stdio.h>
#include <string.h>

/* True if `name` is `base` followed by "@0.2" and nothing or ".<more>" ("wasi:cli/run@0.2.3"). */
static bool is_wasi_02(const char *name, const char *base) {
  size_t n = strlen(base);
  if (strncmp(name, base, n) != 0 || strncmp(name + n, "@0.2", 4) != 0)
    return false;
  char next = name[n + 4];
  return next == '\0' || next == '.' || next == '-';
}

static bool has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Appends the component's exported names to buf, for the error message. */
static void list_exports(const zh_wit_world *world, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; world && i < world->nexports && used + 1 < size; i++) {
    int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", world->exports[i].name);
    if (n < 0)
      break;
    used += (size_t)n < size - used ? (size_t)n : size - used - 1;
  }
  if (!world || world->nexports == 0)
    snprintf(buf, size, "nothing");
}

zh_error *zh_host_handler_find(const zh_cm_component *comp, bool wagi, const char *what,
                               zh_host_handler *out) {
  memset(out, 0, sizeof *out);
  if (!comp) {
    out->kind = ZH_HOST_HANDLER_WAGI_MODULE;
    return NULL;
  }
  const zh_wit_world *world = zh_cm_component_world(comp);
  const char *http = NULL, *spin = NULL, *run = NULL, *p3 = NULL;
  for (size_t i = 0; world && i < world->nexports; i++) {
    const zh_wit_world_item *it = &world->exports[i];
    if (it->kind != ZH_WIT_ITEM_INTERFACE)
      continue;
    if (is_wasi_02(it->name, "wasi:http/incoming-handler"))
      http = it->name;
    else if (strcmp(it->name, "fermyon:spin/inbound-http") == 0)
      spin = it->name;
    else if (is_wasi_02(it->name, "wasi:cli/run"))
      run = it->name;
    else if (has_prefix(it->name, "wasi:http/handler@0.3"))
      p3 = it->name;
  }
  if (wagi) {
    if (run) {
      *out = (zh_host_handler){ZH_HOST_HANDLER_WAGI_COMPONENT, run, "run"};
      return NULL;
    }
  } else if (http) {
    *out = (zh_host_handler){ZH_HOST_HANDLER_WASI_HTTP, http, "handle"};
    return NULL;
  } else if (spin) {
    *out = (zh_host_handler){ZH_HOST_HANDLER_SPIN_HTTP, spin, "handle-request"};
    return NULL;
  } else if (run) {
    *out = (zh_host_handler){ZH_HOST_HANDLER_WAGI_COMPONENT, run, "run"};
    return NULL;
  }
  char exports[512];
  list_exports(world, exports, sizeof exports);
  if (p3 && !wagi)
    return zh_error_new(ZH_ERR_UNLINKABLE,
                        "%s: exports %s, a WASI 0.3 (async) handler, which zerohop does not "
                        "run yet; build it for wasi:http/incoming-handler@0.2.x",
                        what, p3);
  if (wagi)
    return zh_error_new(ZH_ERR_UNLINKABLE,
                        "%s: the wagi executor needs a wasi:cli/run@0.2.x component or a "
                        "preview1 core module, but it exports %s",
                        what, exports);
  return zh_error_new(ZH_ERR_UNLINKABLE,
                      "%s: exports no HTTP handler that zerohop knows (it exports %s); expected "
                      "wasi:http/incoming-handler@0.2.x, fermyon:spin/inbound-http, or "
                      "wasi:cli/run@0.2.x (run as WAGI)",
                      what, exports);
}

const char *zh_host_handler_kind_name(zh_host_handler_kind kind) {
  switch (kind) {
  case ZH_HOST_HANDLER_WASI_HTTP:
    return "wasi-http";
  case ZH_HOST_HANDLER_SPIN_HTTP:
    return "spin-http";
  case ZH_HOST_HANDLER_WAGI_COMPONENT:
  case ZH_HOST_HANDLER_WAGI_MODULE:
    return "wagi";
  }
  return "?";
}

zh_error *zh_host_handler_find_core(const zh_wit_world *world, bool wagi, const char *what,
                                    zh_host_handler *out) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; !wagi && world && i < world->nexports; i++)
    if (strcmp(world->exports[i].name, "fermyon:spin/inbound-http") == 0) {
      *out = (zh_host_handler){ZH_HOST_HANDLER_SPIN_HTTP, world->exports[i].name, "handle-request"};
      return NULL;
    }
  (void)what;
  out->kind = ZH_HOST_HANDLER_WAGI_MODULE;
  return NULL;
}
