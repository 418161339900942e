/* Templates: instantiate once, snapshot, then stamp out copies cheaply.
 *
 * A template is a one-instance snapshot (snapshot.c) whose instance the template makes
 * itself, in a private store, so the start function runs once. Its imports must be
 * functions: imported memories, tables or globals would be state the copies share. */
#include "wasm/error.h"
#include "wasm/objects.h"

#include <stdlib.h>

struct zh_template {
  zh_engine *engine;
  zh_snapshot *snap;
};

void zh_template_free(zh_template *tpl) {
  if (!tpl)
    return;
  zh_snapshot_free(tpl->snap);
  free(tpl);
}

zh_error *zh_template_new(zh_engine *engine, const zh_module *module, const zh_extern *imports,
                          size_t nimports, zh_template **out) {
  if (out)
    *out = NULL;
  if (!engine || !module || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_template_new: engine, module and out are required");
  if (module->engine != engine)
    return zh_error_new(ZH_ERR_USAGE, "zh_template_new: module belongs to another engine");
  for (uint32_t i = 0; i < module->nimports; i++) {
    const zh_import *im = &module->imports[i];
    if (im->kind != ZH_EXTERN_FUNC)
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "template: import \"%s\".\"%s\" is a %s; templates accept only "
                          "function imports",
                          im->module_cstr, im->name_cstr, zh_extern_kind_name(im->kind));
  }
  zh_store *store;
  zh_error *err = zh_store_new(engine, &store);
  if (err)
    return err;
  zh_instance *inst;
  /* The private store is out of the caller's reach: the engine's limit bounds the start. */
  if (engine->config.template_start_timeout_ns)
    zh_store_set_timeout(store, engine->config.template_start_timeout_ns);
  err = zh_instance_new(store, module, imports, nimports, &inst);
  zh_store_set_timeout(store, 0);
  if (err) {
    zh_store_free(store);
    return zh_error_prefix(err, "template");
  }
  zh_template *tpl = calloc(1, sizeof *tpl);
  if (!tpl) {
    zh_store_free(store);
    return zh_error_oom();
  }
  err = zh_snapshot_new(store, &inst, 1, &tpl->snap);
  if (err) {
    free(tpl);
    zh_store_free(store);
    return zh_error_prefix(err, "template");
  }
  tpl->engine = engine;
  *out = tpl;
  return NULL;
}

zh_error *zh_template_instantiate(const zh_template *tpl, zh_store *store, zh_instance **out) {
  if (out)
    *out = NULL;
  if (!tpl || !store || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_template_instantiate: template, store and out are "
                                      "required");
  if (store->engine != tpl->engine)
    return zh_error_new(ZH_ERR_USAGE, "zh_template_instantiate: store uses another engine");
  return zh_snapshot_instantiate(tpl->snap, store, out);
}
