/* Which HTTP handler a component is: the app host recognises a component by what it exports,
 * as Spin does, and calls it the matching way.
 *
 *   wasi:http/incoming-handler@0.2.x   what current Spin SDKs, componentize-js and
 *                                      `wasmtime serve` handlers export (any 0.2 release)
 *   fermyon:spin/inbound-http          older Spin SDKs (unversioned; inbound_http.c)
 *   wasi:cli/run@0.2.x                 a command component, run with CGI semantics (WAGI)
 *   a preview1 core module             the same (WAGI), through WASI preview1
 *
 * `wasi:http/handler@0.3` (WASI 0.3, async) is refused by name for now. */
#ifndef ZH_HOST_HANDLER_KIND_H
#define ZH_HOST_HANDLER_KIND_H

#include "zerohop/cm.h"
#include "zerohop/engine.h"

typedef enum zh_host_handler_kind {
  ZH_HOST_HANDLER_WASI_HTTP = 1, /* wasi:http/incoming-handler@0.2.x#handle */
  ZH_HOST_HANDLER_SPIN_HTTP,     /* fermyon:spin/inbound-http#handle-request */
  ZH_HOST_HANDLER_WAGI_COMPONENT,
  ZH_HOST_HANDLER_WAGI_MODULE,
} zh_host_handler_kind;

typedef struct zh_host_handler {
  zh_host_handler_kind kind;
  /* The export to call, for zh_cm_instance_func: the exported instance's full name (with
   * its version, as the component spells it) and the function. NULL for a core module. */
  const char *iface;
  const char *func;
} zh_host_handler;

/* The same for a core module that carries its world (`world`, from zh_cm_core_world): its
 * fermyon:spin/inbound-http export makes it an older Spin SDK's handler (kind
 * ZH_HOST_HANDLER_SPIN_HTTP, called through the core-module link API); otherwise, like a
 * plain core module, it runs as WAGI. */
zh_error *zh_host_handler_find_core(const zh_wit_world *world, bool wagi, const char *what,
                                    zh_host_handler *out);

/* Recognises the handler of component `comp` (NULL for a preview1 core module). With
 * `wagi` (the manifest's `executor = { type = "wagi" }`) only a wasi:cli/run component or a
 * core module is accepted. The error (ZH_ERR_UNLINKABLE) names `what` (e.g. "component
 * `api` (api.wasm)"), lists what the component exports, and says what zerohop accepts. */
zh_error *zh_host_handler_find(const zh_cm_component *comp, bool wagi, const char *what,
                               zh_host_handler *out);

/* The name of a kind, for logs and the start-up listing ("wasi-http", "spin-http", "wagi"). */
const char *zh_host_handler_kind_name(zh_host_handler_kind kind);

#endif
