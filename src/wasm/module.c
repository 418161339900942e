/* Module lifetime (decode, validate, compile) and the public read-only accessors. */
#include "wasm/module.h"
#include "wasm/compile.h"

#include <stdlib.h>
#include <string.h>

void zh_module_release(zh_module *m) {
  if (!m)
    return;
  for (uint32_t i = 0; i < m->ntypes; i++) {
    free(m->types[i].types);
    free(m->types[i].valtypes);
  }
  free(m->types);
  for (uint32_t i = 0; i < m->nimports; i++) {
    free(m->imports[i].module_cstr);
    free(m->imports[i].name_cstr);
  }
  free(m->imports);
  free(m->func_types);
  free(m->tables);
  free(m->mems);
  free(m->global_types);
  free(m->globals);
  for (uint32_t i = 0; i < m->nexports; i++)
    free(m->exports[i].name_cstr);
  free(m->exports);
  for (uint32_t i = 0; i < m->nelems; i++)
    free(m->elems[i].items);
  free(m->elems);
  free(m->datas);
  for (uint32_t i = 0; i < m->nbodies; i++)
    free(m->bodies[i].local_types);
  free(m->bodies);
  for (uint32_t i = 0; i < m->ncustoms; i++)
    free(m->customs[i].name_cstr);
  free(m->customs);
  if (m->func_names)
    for (uint32_t i = 0; i < m->nfuncs; i++)
      free(m->func_names[i]);
  free(m->func_names);
  free(m->declared_funcs);
  zh_compile_release(m);

  /* Keep what the caller set up; clear everything derived from it. */
  zh_engine *engine = m->engine;
  char *name = m->name;
  uint8_t *bytes = m->bytes;
  size_t len = m->len;
  bool borrowed = m->bytes_borrowed;
  memset(m, 0, sizeof *m);
  m->engine = engine;
  m->name = name;
  m->bytes = bytes;
  m->len = len;
  m->bytes_borrowed = borrowed;
}

void zh_module_free(zh_module *m) {
  if (!m)
    return;
  zh_module_release(m);
  if (!m->bytes_borrowed)
    free(m->bytes);
  free(m->name);
  free(m);
}

/* Decodes, validates and prepares the code of `bytes`, copied unless `view`. */
static zh_error *module_new(zh_engine *engine, const uint8_t *bytes, size_t len, const char *name,
                            bool view, zh_module **out) {
  if (out)
    *out = NULL;
  if (!engine || !out || (!bytes && len))
    return zh_error_new(ZH_ERR_USAGE, "zh_module_new: engine, bytes and out are required");
  zh_module *m = calloc(1, sizeof *m);
  if (!m)
    return zh_error_new(ZH_ERR_RESOURCE, "zh_module_new: out of memory");
  m->engine = engine;
  m->len = len;
  static const uint8_t none[1];
  if (view) {
    m->bytes = (uint8_t *)(bytes ? bytes : none); /* never written: see module.h */
    m->bytes_borrowed = true;
  } else {
    m->bytes = malloc(len ? len : 1);
    if (m->bytes && len)
      memcpy(m->bytes, bytes, len);
  }
  if (name)
    m->name = strdup(name);
  if (!m->bytes || (name && !m->name)) {
    zh_module_free(m);
    return zh_error_new(ZH_ERR_RESOURCE, "zh_module_new: out of memory");
  }
  zh_error *err = zh_decode(m);
  if (!err)
    err = zh_validate(m);
  if (!err)
    err = zh_compile_module(m);
  if (err) {
    zh_module_free(m);
    return err;
  }
  *out = m;
  return NULL;
}

zh_error *zh_module_new(zh_engine *engine, const uint8_t *bytes, size_t len, const char *name,
                        zh_module **out) {
  return module_new(engine, bytes, len, name, false, out);
}

zh_error *zh_module_new_view(zh_engine *engine, const uint8_t *bytes, size_t len, const char *name,
                             zh_module **out) {
  return module_new(engine, bytes, len, name, true, out);
}

/* ---- accessors ---- */

size_t zh_module_import_count(const zh_module *m) { return m ? m->nimports : 0; }

void zh_module_import(const zh_module *m, size_t i, zh_import_info *out) {
  memset(out, 0, sizeof *out);
  if (!m || i >= m->nimports)
    return;
  const zh_import *im = &m->imports[i];
  out->module = im->module_cstr;
  out->name = im->name_cstr;
  out->kind = im->kind;
  switch (im->kind) {
  case ZH_EXTERN_FUNC:
    if (im->desc.type_index < m->ntypes) {
      const zh_type *t = &m->types[im->desc.type_index];
      out->func.nparams = t->nparams;
      out->func.nresults = t->nresults;
      out->func.params = t->valtypes;
      out->func.results = t->valtypes + t->nparams;
    }
    break;
  case ZH_EXTERN_TABLE:
    out->elem = (zh_valtype)im->desc.table.elem;
    out->limits = im->desc.table.limits;
    break;
  case ZH_EXTERN_MEMORY:
    out->limits = im->desc.memory;
    break;
  case ZH_EXTERN_GLOBAL:
    out->global = (zh_valtype)im->desc.global.type;
    out->global_mutable = im->desc.global.mutable_;
    break;
  }
}

size_t zh_module_export_count(const zh_module *m) { return m ? m->nexports : 0; }

void zh_module_export(const zh_module *m, size_t i, zh_export_info *out) {
  memset(out, 0, sizeof *out);
  if (!m || i >= m->nexports)
    return;
  out->name = m->exports[i].name_cstr;
  out->kind = m->exports[i].kind;
  out->index = m->exports[i].index;
}

size_t zh_module_custom_count(const zh_module *m) { return m ? m->ncustoms : 0; }

void zh_module_custom(const zh_module *m, size_t i, const char **name, const uint8_t **data,
                      size_t *len) {
  const zh_custom *c = m && i < m->ncustoms ? &m->customs[i] : NULL;
  if (name)
    *name = c ? c->name_cstr : NULL;
  if (data)
    *data = c ? c->data : NULL;
  if (len)
    *len = c ? c->len : 0;
}

bool zh_module_custom_find(const zh_module *m, const char *name, const uint8_t **data,
                           size_t *len) {
  if (!m || !name)
    return false;
  size_t n = strlen(name);
  for (uint32_t i = 0; i < m->ncustoms; i++) {
    const zh_custom *c = &m->customs[i];
    /* Compare the raw name: custom section names may contain NUL bytes. */
    if (c->name.len == n && (n == 0 || memcmp(c->name.ptr, name, n) == 0)) {
      if (data)
        *data = c->data;
      if (len)
        *len = c->len;
      return true;
    }
  }
  return false;
}
