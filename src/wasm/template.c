/* Templates: instantiate once, snapshot, then stamp out copies cheaply.
 *
 * The template keeps its instance (in a private store) as the snapshot of everything but
 * linear memory, which is frozen into a memfd image. A new instance is one malloc plus a
 * memcpy of the template's block, after which the pointers inside it are re-aimed at the
 * copy: its array pointers by re-carving the layout, and references to the template's
 * own functions (in tables, globals and passive element segments) by translating them
 * to the same function index in the new instance. Memory maps the image copy-on-write. */
#include "wasm/error.h"
#include "wasm/objects.h"

#include <stdlib.h>
#include <string.h>

struct zh_template {
  zh_engine *engine;
  const zh_module *module;
  zh_store *store;   /* private: owns the template instance */
  zh_inst_block *tb; /* the template instance, never run again */
  zh_inst_layout layout;
  bool has_memory;
  zh_mem_image image;
  uintptr_t own_lo, own_hi; /* address range of tb's own functions */
};

static const char *kind_name(zh_extern_kind k) {
  switch (k) {
  case ZH_EXTERN_FUNC:
    return "function";
  case ZH_EXTERN_TABLE:
    return "table";
  case ZH_EXTERN_MEMORY:
    return "memory";
  case ZH_EXTERN_GLOBAL:
    return "global";
  }
  return "extern";
}

void zh_template_free(zh_template *tpl) {
  if (!tpl)
    return;
  if (tpl->has_memory)
    zh_mem_image_release(&tpl->image);
  zh_store_free(tpl->store);
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
  /* Imported tables, memories or globals would be shared state a snapshot cannot copy. */
  for (uint32_t i = 0; i < module->nimports; i++) {
    const zh_import *im = &module->imports[i];
    if (im->kind != ZH_EXTERN_FUNC)
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "template: import \"%s\".\"%s\" is a %s; templates accept only "
                          "function imports",
                          im->module_cstr, im->name_cstr, kind_name(im->kind));
  }

  zh_template *tpl = calloc(1, sizeof *tpl);
  if (!tpl)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  tpl->engine = engine;
  tpl->module = module;
  zh_error *err = zh_store_new(engine, &tpl->store);
  if (err) {
    free(tpl);
    return err;
  }
  zh_instance *inst;
  /* The private store is out of the caller's reach: the engine's limit bounds the start. */
  if (engine->config.template_start_timeout_ns)
    zh_store_set_timeout(tpl->store, engine->config.template_start_timeout_ns);
  err = zh_instance_new(tpl->store, module, imports, nimports, &inst);
  zh_store_set_timeout(tpl->store, 0);
  if (err) {
    zh_template_free(tpl);
    return zh_error_prefix(err, "template");
  }
  tpl->tb = (zh_inst_block *)inst;
  if (!zh_inst_layout_compute(module, &tpl->layout)) { /* cannot fail: instantiation did it */
    zh_template_free(tpl);
    return zh_error_new(ZH_ERR_RESOURCE, "instance too large");
  }
  tpl->own_lo = (uintptr_t)inst->own_funcs;
  tpl->own_hi = (uintptr_t)(inst->own_funcs + tpl->layout.nown_funcs);

  if (tpl->tb->own_memory) {
    err = zh_mem_snapshot(tpl->tb->own_memory, &tpl->image);
    if (err) {
      zh_template_free(tpl);
      return zh_error_prefix(err, "template snapshot");
    }
    tpl->has_memory = true;
    /* The image holds the bytes now; the live region can go back to the pool (likely
     * to be reused by the first instance). A zeroed memory is safe to release again. */
    zh_mem_release(tpl->tb->own_memory);
    memset(tpl->tb->own_memory, 0, sizeof *tpl->tb->own_memory);
    inst->memory = NULL;
  }
  *out = tpl;
  return NULL;
}

/* A reference from the template's state, aimed at the new instance when it names one of
 * the template instance's own functions (same offset in the copied block). */
static inline void *remap(const zh_template *tpl, const zh_inst_block *b, void *p) {
  uintptr_t u = (uintptr_t)p;
  if (u >= tpl->own_lo && u < tpl->own_hi)
    return (char *)b->inst.own_funcs + (u - tpl->own_lo);
  return p;
}

zh_error *zh_template_instantiate(const zh_template *tpl, zh_store *store, zh_instance **out) {
  if (out)
    *out = NULL;
  if (!tpl || !store || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_template_instantiate: template, store and out are "
                                      "required");
  if (store->engine != tpl->engine)
    return zh_error_new(ZH_ERR_USAGE, "zh_template_instantiate: store uses another engine");
  const zh_module *m = tpl->module;
  const zh_inst_layout *l = &tpl->layout;
  const zh_inst_block *tb = tpl->tb;

  zh_inst_block *b = malloc(l->size);
  if (!b)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  memcpy(b, tb, l->size);
  /* Detach from the template's separately allocated parts before anything can fail, so
   * the release hook never frees what the template owns. */
  zh_inst_carve(b, m, l);
  for (uint32_t k = 0; k < l->nown_tables; k++) {
    b->own_tables[k].elems = NULL;
    b->own_tables[k].size = 0;
  }
  if (b->own_memory)
    memset(b->own_memory, 0, sizeof *b->own_memory);
  zh_instance *inst = &b->inst;
  inst->store = store;
  inst->memory = NULL;
  if (!zh_store_own(store, b, zh_inst_release))
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");

  /* Functions: imports stay as copied; own ones belong to the new instance. */
  for (uint32_t k = 0; k < l->nown_funcs; k++) {
    inst->own_funcs[k].inst = inst;
    inst->funcs[m->nfunc_imports + k] = &inst->own_funcs[k];
  }
  /* Tables (all own: templates import only functions). */
  for (uint32_t k = 0; k < l->nown_tables; k++) {
    const zh_table *src = &tb->own_tables[k];
    zh_table *t = &b->own_tables[k];
    inst->tables[k] = t;
    if (src->size) {
      t->elems = malloc((size_t)src->size * sizeof(void *));
      if (!t->elems)
        return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
      if (src->elem == ZH_FUNCREF) {
        for (uint32_t i = 0; i < src->size; i++)
          t->elems[i] = remap(tpl, b, src->elems[i]);
      } else {
        memcpy(t->elems, src->elems, (size_t)src->size * sizeof(void *));
      }
    }
    t->size = src->size;
  }
  /* Globals: values were copied with the block; funcrefs need translating. */
  for (uint32_t k = 0; k < l->nown_globals; k++) {
    zh_global *g = &b->own_globals[k];
    inst->globals[k] = g;
    if (g->type == ZH_FUNCREF)
      g->value[0] = (uint64_t)(uintptr_t)remap(tpl, b, (void *)(uintptr_t)g->value[0]);
  }
  /* Live (not dropped) funcref element segments. */
  for (uint32_t i = 0; i < m->nelems; i++) {
    if (m->elems[i].type != ZH_FUNCREF)
      continue;
    void **items = inst->elem_items[i];
    for (uint32_t k = 0; k < inst->elem_len[i]; k++)
      items[k] = remap(tpl, b, items[k]);
  }
  if (tpl->has_memory) {
    zh_error *err = zh_mem_init_from_image(store->engine, b->own_memory, &tpl->image);
    if (err)
      return err;
    b->own_memory->has_max = tpl->image.has_max;
    b->own_memory->declared_max = tpl->image.declared_max;
    inst->memory = b->own_memory;
  }
  *out = inst;
  return NULL;
}
