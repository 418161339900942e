/* Instantiation (WebAssembly 2.0 semantics, with multi-memory) and export lookup.
 *
 * An instance and everything it defines (functions, tables, memories, globals, segment
 * state) live in one block registered with the store before anything can fail, so a
 * failed instantiation leaks nothing and whatever it already wrote into imported tables
 * (references to its functions) stays valid until the store is freed. */
#include "wasm/compile.h"
#include "wasm/error.h"
#include "wasm/objects.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- describing types for link errors ---- */

typedef struct sbuf {
  char *p;
  size_t cap, len;
} sbuf;

static void sb_printf(sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *sb, const char *fmt, ...) {
  if (sb->len >= sb->cap)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  sb->len += (size_t)n;
  if (sb->len >= sb->cap)
    sb->len = sb->cap; /* truncated: stays NUL-terminated */
}

static void sb_functype(sbuf *sb, const uint8_t *types, uint32_t np, uint32_t nr) {
  sb_printf(sb, "func [");
  for (uint32_t i = 0; i < np; i++)
    sb_printf(sb, "%s%s", i ? " " : "", zh_valtype_name((zh_valtype)types[i]));
  sb_printf(sb, "] -> [");
  for (uint32_t i = 0; i < nr; i++)
    sb_printf(sb, "%s%s", i ? " " : "", zh_valtype_name((zh_valtype)types[np + i]));
  sb_printf(sb, "]");
}

static void sb_limits(sbuf *sb, uint64_t min, bool has_max, uint64_t max) {
  sb_printf(sb, "min %llu", (unsigned long long)min);
  if (has_max)
    sb_printf(sb, " max %llu", (unsigned long long)max);
}

static void sb_expected(sbuf *sb, const zh_module *m, const zh_import *im) {
  switch (im->kind) {
  case ZH_EXTERN_FUNC: {
    const zh_type *t = &m->types[im->desc.type_index];
    sb_functype(sb, t->types, t->nparams, t->nresults);
    break;
  }
  case ZH_EXTERN_TABLE:
    sb_printf(sb, "table %s ", zh_valtype_name((zh_valtype)im->desc.table.elem));
    sb_limits(sb, im->desc.table.limits.min, im->desc.table.limits.has_max,
              im->desc.table.limits.max);
    break;
  case ZH_EXTERN_MEMORY:
    sb_printf(sb, "memory ");
    sb_limits(sb, im->desc.memory.min, im->desc.memory.has_max, im->desc.memory.max);
    break;
  case ZH_EXTERN_GLOBAL:
    sb_printf(sb, "global %s%s", im->desc.global.mutable_ ? "mut " : "",
              zh_valtype_name((zh_valtype)im->desc.global.type));
    break;
  }
}

/* The actual extern as import matching sees it: current sizes, declared maxima. */
static void sb_actual(sbuf *sb, const zh_extern *ex) {
  switch (ex->kind) {
  case ZH_EXTERN_FUNC:
    sb_functype(sb, ex->of.func->types, ex->of.func->nparams, ex->of.func->nresults);
    return;
  case ZH_EXTERN_TABLE:
    sb_printf(sb, "table %s ", zh_valtype_name((zh_valtype)ex->of.table->elem));
    sb_limits(sb, ex->of.table->size, ex->of.table->has_max, ex->of.table->max);
    return;
  case ZH_EXTERN_MEMORY:
    sb_printf(sb, "memory ");
    sb_limits(sb, ex->of.memory->size / ZH_PAGE_SIZE, ex->of.memory->has_max,
              ex->of.memory->declared_max);
    return;
  case ZH_EXTERN_GLOBAL:
    sb_printf(sb, "global %s%s", ex->of.global->mutable_ ? "mut " : "",
              zh_valtype_name((zh_valtype)ex->of.global->type));
    return;
  }
  sb_printf(sb, "an extern of invalid kind %d", (int)ex->kind);
}

/* ---- import matching ---- */

static bool extern_is_null(const zh_extern *ex) {
  switch (ex->kind) {
  case ZH_EXTERN_FUNC:
    return ex->of.func == NULL;
  case ZH_EXTERN_TABLE:
    return ex->of.table == NULL;
  case ZH_EXTERN_MEMORY:
    return ex->of.memory == NULL;
  case ZH_EXTERN_GLOBAL:
    return ex->of.global == NULL;
  }
  return false; /* an invalid kind is reported as incompatible */
}

/* 2.0 limits subtyping: the actual minimum (current size) covers the expected one, and
 * when a maximum is expected the actual one exists and is no larger. */
static bool limits_match(uint64_t min, bool has_max, uint64_t max, const zh_limits *want) {
  if (min < want->min)
    return false;
  if (want->has_max && (!has_max || max > want->max))
    return false;
  return true;
}

static bool import_matches(const zh_module *m, const zh_import *im, const zh_extern *ex) {
  if (ex->kind != im->kind)
    return false;
  switch (im->kind) {
  case ZH_EXTERN_FUNC:
    return ex->of.func->type_id == m->types[im->desc.type_index].id;
  case ZH_EXTERN_TABLE: {
    const zh_table *t = ex->of.table;
    return t->elem == im->desc.table.elem &&
           limits_match(t->size, t->has_max, t->max, &im->desc.table.limits);
  }
  case ZH_EXTERN_MEMORY: {
    const zh_memory *mem = ex->of.memory;
    return limits_match(mem->size / ZH_PAGE_SIZE, mem->has_max, mem->declared_max,
                        &im->desc.memory);
  }
  case ZH_EXTERN_GLOBAL:
    return ex->of.global->type == im->desc.global.type &&
           ex->of.global->mutable_ == im->desc.global.mutable_;
  }
  return false;
}

static zh_error *check_imports(const zh_module *m, const zh_extern *imports, size_t nimports) {
  if (nimports > 0 && !imports)
    return zh_error_new(ZH_ERR_USAGE, "zh_instance_new: %zu imports but no array", nimports);
  if (nimports > m->nimports)
    return zh_error_new(ZH_ERR_USAGE, "zh_instance_new: %zu imports given, module has %u", nimports,
                        m->nimports);
  char want[512], got[512];
  for (uint32_t i = 0; i < m->nimports; i++) {
    const zh_import *im = &m->imports[i];
    sbuf ws = {want, sizeof want, 0};
    want[0] = '\0';
    sb_expected(&ws, m, im);
    if (i >= nimports || extern_is_null(&imports[i]))
      return zh_error_new(ZH_ERR_UNLINKABLE, "unknown import \"%s\".\"%s\" (expected %s)",
                          im->module_cstr, im->name_cstr, want);
    if (!import_matches(m, im, &imports[i])) {
      sbuf gs = {got, sizeof got, 0};
      got[0] = '\0';
      sb_actual(&gs, &imports[i]);
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "incompatible import type for \"%s\".\"%s\": expected %s, got %s",
                          im->module_cstr, im->name_cstr, want, got);
    }
  }
  return NULL;
}

/* ---- the instance block ---- */

#define BLOCK_ALIGN 16u

/* Appends `n` items of `size` bytes to the layout; false on overflow. */
static bool reserve(size_t *cursor, size_t *offset, uint64_t n, size_t size) {
  uint64_t at = ((uint64_t)*cursor + BLOCK_ALIGN - 1) & ~(uint64_t)(BLOCK_ALIGN - 1);
  if (n > (UINT64_MAX / 4) / size)
    return false;
  uint64_t end = at + n * size;
  if (end > SIZE_MAX / 2)
    return false;
  *offset = (size_t)at;
  *cursor = (size_t)end;
  return true;
}

bool zh_inst_layout_compute(const zh_module *m, zh_inst_layout *l) {
  memset(l, 0, sizeof *l);
  l->nown_funcs = m->nfuncs - m->nfunc_imports;
  l->nown_tables = m->ntables - m->ntable_imports;
  l->nown_globals = m->nglobals - m->nglobal_imports;
  l->nown_memories = m->nmems - m->nmem_imports;
  uint64_t nstorage = 0;
  for (uint32_t i = 0; i < m->nelems; i++)
    nstorage += m->elems[i].count;
  if (nstorage > UINT32_MAX)
    return false;
  l->nelem_storage = (uint32_t)nstorage;

  size_t c = sizeof(zh_inst_block);
  bool ok = reserve(&c, &l->funcs, m->nfuncs, sizeof(zh_func *)) &&
            reserve(&c, &l->own_funcs, l->nown_funcs, sizeof(zh_func)) &&
            reserve(&c, &l->tables, m->ntables, sizeof(zh_table *)) &&
            reserve(&c, &l->own_tables, l->nown_tables, sizeof(zh_table)) &&
            reserve(&c, &l->memories, m->nmems, sizeof(zh_memory *)) &&
            reserve(&c, &l->own_memories, l->nown_memories, sizeof(zh_memory)) &&
            reserve(&c, &l->globals, m->nglobals, sizeof(zh_global *)) &&
            reserve(&c, &l->own_globals, l->nown_globals, sizeof(zh_global)) &&
            reserve(&c, &l->elem_items, m->nelems, sizeof(void **)) &&
            reserve(&c, &l->elem_storage, l->nelem_storage, sizeof(void *)) &&
            reserve(&c, &l->elem_len, m->nelems, sizeof(uint32_t)) &&
            reserve(&c, &l->data_len, m->ndatas, sizeof(uint32_t));
  l->size = c;
  return ok;
}

void zh_inst_carve(zh_inst_block *b, const zh_module *m, const zh_inst_layout *l) {
  char *base = (char *)b;
  zh_instance *inst = &b->inst;
  inst->module = m;
  inst->funcs = (zh_func **)(void *)(base + l->funcs);
  inst->own_funcs = (zh_func *)(void *)(base + l->own_funcs);
  inst->tables = (zh_table **)(void *)(base + l->tables);
  inst->memories = (zh_memory **)(void *)(base + l->memories);
  inst->globals = (zh_global **)(void *)(base + l->globals);
  inst->elem_items = (void ***)(void *)(base + l->elem_items);
  inst->elem_len = (uint32_t *)(void *)(base + l->elem_len);
  inst->data_len = (uint32_t *)(void *)(base + l->data_len);
  b->nown_tables = l->nown_tables;
  b->own_tables = (zh_table *)(void *)(base + l->own_tables);
  b->nown_memories = l->nown_memories;
  b->own_memories = (zh_memory *)(void *)(base + l->own_memories);
  b->own_globals = (zh_global *)(void *)(base + l->own_globals);
  b->elem_storage = (void **)(void *)(base + l->elem_storage);
  /* Each segment's items are a slice of the shared storage. */
  size_t at = 0;
  for (uint32_t i = 0; i < m->nelems; i++) {
    inst->elem_items[i] = b->elem_storage + at;
    at += m->elems[i].count;
  }
}

void zh_inst_release_tables(zh_inst_block *b) {
  for (uint32_t i = 0; i < b->nown_tables; i++) {
    free(b->own_tables[i].elems);
    b->own_tables[i].elems = NULL;
  }
}

void zh_inst_release_parts(zh_inst_block *b) {
  zh_inst_release_tables(b);
  for (uint32_t i = 0; i < b->nown_memories; i++)
    zh_mem_release(&b->own_memories[i]);
}

void zh_inst_release(void *obj) {
  zh_inst_block *b = obj;
  if (!b)
    return;
  zh_inst_release_parts(b);
  free(b);
}

/* ---- constant expressions ---- */

static void eval_const(const zh_instance *inst, const zh_const_expr *e, uint64_t out[2]) {
  out[0] = out[1] = 0;
  switch (e->kind) {
  case ZH_CONST_VALUE:
    out[0] = e->bits;
    if (e->type == ZH_V128)
      out[1] = e->bits_hi;
    break;
  case ZH_CONST_GLOBAL_GET:
    out[0] = inst->globals[e->index]->value[0];
    out[1] = inst->globals[e->index]->value[1];
    break;
  case ZH_CONST_REF_NULL:
    break;
  case ZH_CONST_REF_FUNC:
    out[0] = (uint64_t)(uintptr_t)inst->funcs[e->index];
    break;
  }
}

static uint32_t eval_offset(const zh_instance *inst, const zh_const_expr *e) {
  uint64_t v[2];
  eval_const(inst, e, v);
  return (uint32_t)v[0]; /* i32 offsets are unsigned */
}

/* ---- instantiation steps ---- */

static zh_error *oom(void) { return zh_error_new(ZH_ERR_RESOURCE, "out of memory"); }

static zh_error *init_table(zh_table *t, const zh_tabletype *tt) {
  t->elem = tt->elem;
  t->has_max = tt->limits.has_max;
  t->max = tt->limits.has_max ? (uint32_t)tt->limits.max : UINT32_MAX;
  if (tt->limits.min > ZH_TABLE_MAX_ELEMS)
    return zh_error_new(ZH_ERR_RESOURCE, "table of %llu elements exceeds the limit of %u",
                        (unsigned long long)tt->limits.min, ZH_TABLE_MAX_ELEMS);
  if (tt->limits.min > 0) {
    t->elems = calloc((size_t)tt->limits.min, sizeof(void *));
    if (!t->elems)
      return oom();
  }
  t->size = (uint32_t)tt->limits.min;
  return NULL;
}

static zh_error *init_memory(zh_engine *engine, zh_memory *mem, const zh_limits *lim) {
  uint64_t limit = engine->config.max_memory_pages ? engine->config.max_memory_pages : ZH_MAX_PAGES;
  uint64_t max = lim->has_max ? lim->max : ZH_MAX_PAGES;
  if (max > limit)
    max = limit;
  if (lim->min > max)
    return zh_error_new(ZH_ERR_RESOURCE, "memory of %llu pages exceeds the limit of %llu pages",
                        (unsigned long long)lim->min, (unsigned long long)max);
  zh_error *err = zh_mem_init(engine, mem, lim->min, max);
  if (err)
    return err;
  mem->has_max = lim->has_max;
  mem->declared_max = lim->has_max ? lim->max : ZH_MAX_PAGES;
  return NULL;
}

/* Fills the own part of the function index space. */
static void init_funcs(zh_inst_block *b, const zh_inst_layout *l) {
  zh_instance *inst = &b->inst;
  const zh_module *m = inst->module;
  for (uint32_t k = 0; k < l->nown_funcs; k++) {
    uint32_t idx = m->nfunc_imports + k;
    uint32_t ti = m->func_types[idx];
    const zh_type *t = &m->types[ti];
    zh_func *f = &inst->own_funcs[k];
    f->type_id = t->id;
    f->nparams = t->nparams;
    f->nresults = t->nresults;
    f->types = t->types;
    f->valtypes = t->valtypes;
    f->no_v128 = !memchr(t->types, ZH_V128, t->nparams + t->nresults);
    f->inst = inst;
    f->code = m->code ? m->code[k] : NULL;
    f->index = idx;
    inst->funcs[idx] = f;
  }
}

/* Active element segments go into their tables one by one (a trap keeps the earlier
 * ones), then active and declarative segments are dropped. */
static zh_error *apply_elems(zh_instance *inst) {
  const zh_module *m = inst->module;
  for (uint32_t i = 0; i < m->nelems; i++) {
    const zh_elem_segment *seg = &m->elems[i];
    if (seg->mode == ZH_SEG_ACTIVE) {
      uint32_t off = eval_offset(inst, &seg->offset);
      zh_table *t = inst->tables[seg->table];
      uint32_t n = inst->elem_len[i];
      if ((uint64_t)off + n > t->size)
        return zh_error_trap_new(ZH_TRAP_TABLE_OOB,
                                 "element segment %u: %u elements at %u, table size %u", i, n, off,
                                 t->size);
      if (n)
        memcpy(t->elems + off, inst->elem_items[i], (size_t)n * sizeof(void *));
      inst->elem_len[i] = 0;
    } else if (seg->mode == ZH_SEG_DECLARATIVE) {
      inst->elem_len[i] = 0;
    }
  }
  return NULL;
}

static zh_error *apply_datas(zh_instance *inst) {
  const zh_module *m = inst->module;
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const zh_data_segment *seg = &m->datas[i];
    if (seg->mode != ZH_SEG_ACTIVE)
      continue;
    uint32_t off = eval_offset(inst, &seg->offset);
    zh_memory *mem = inst->memories[seg->memory]; /* validated: the index exists */
    uint64_t size = mem->size;
    if ((uint64_t)off + seg->len > size)
      return zh_error_trap_new(ZH_TRAP_MEMORY_OOB,
                               "data segment %u: %u bytes at %u, memory %u size %llu", i, seg->len,
                               off, seg->memory, (unsigned long long)size);
    if (seg->len)
      memcpy(mem->base + off, seg->bytes, seg->len);
    inst->data_len[i] = 0;
  }
  return NULL;
}

/* Everything after the block is registered; on error the store still owns it. */
static zh_error *build(zh_store *store, zh_inst_block *b, const zh_inst_layout *l,
                       const zh_extern *imports) {
  zh_instance *inst = &b->inst;
  const zh_module *m = inst->module;

  /* Imports, in import order, take the first index of each space. */
  uint32_t nf = 0, nt = 0, nm = 0, ng = 0;
  for (uint32_t i = 0; i < m->nimports; i++) {
    switch (imports[i].kind) {
    case ZH_EXTERN_FUNC:
      inst->funcs[nf++] = imports[i].of.func;
      break;
    case ZH_EXTERN_TABLE:
      inst->tables[nt++] = imports[i].of.table;
      break;
    case ZH_EXTERN_MEMORY:
      inst->memories[nm++] = imports[i].of.memory;
      break;
    case ZH_EXTERN_GLOBAL:
      inst->globals[ng++] = imports[i].of.global;
      break;
    }
  }
  init_funcs(b, l);

  for (uint32_t k = 0; k < l->nown_tables; k++) {
    zh_table *t = &b->own_tables[k];
    inst->tables[m->ntable_imports + k] = t;
    zh_error *err = init_table(t, &m->tables[m->ntable_imports + k]);
    if (err)
      return err;
  }
  for (uint32_t k = 0; k < b->nown_memories; k++) {
    zh_error *err = init_memory(store->engine, &b->own_memories[k], &m->mems[m->nmem_imports + k]);
    if (err)
      return err;
    inst->memories[m->nmem_imports + k] = &b->own_memories[k];
  }
  inst->memory = m->nmems ? inst->memories[0] : NULL;
  for (uint32_t k = 0; k < l->nown_globals; k++) {
    const zh_global_def *def = &m->globals[k];
    zh_global *g = &b->own_globals[k];
    g->type = def->type.type;
    g->mutable_ = def->type.mutable_;
    eval_const(inst, &def->init, g->value);
    inst->globals[m->nglobal_imports + k] = g;
  }
  for (uint32_t i = 0; i < m->nelems; i++) {
    const zh_elem_segment *seg = &m->elems[i];
    for (uint32_t k = 0; k < seg->count; k++) {
      uint64_t v[2];
      eval_const(inst, &seg->items[k], v);
      inst->elem_items[i][k] = (void *)(uintptr_t)v[0];
    }
    inst->elem_len[i] = seg->count;
  }
  for (uint32_t i = 0; i < m->ndatas; i++)
    inst->data_len[i] = m->datas[i].len;

  zh_error *err = apply_elems(inst);
  if (!err)
    err = apply_datas(inst);
  if (!err && m->has_start)
    err = zh_invoke(store, inst->funcs[m->start], NULL, NULL);
  return err;
}

zh_error *zh_instance_new(zh_store *store, const zh_module *module, const zh_extern *imports,
                          size_t nimports, zh_instance **out) {
  if (out)
    *out = NULL;
  if (!store || !module || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_instance_new: store, module and out are required");
  if (store->engine != module->engine)
    return zh_error_new(ZH_ERR_USAGE, "zh_instance_new: module and store use different engines");
  zh_error *err = check_imports(module, imports, nimports);
  if (err)
    return err;

  zh_inst_layout l;
  if (!zh_inst_layout_compute(module, &l))
    return zh_error_new(ZH_ERR_RESOURCE, "instance too large");
  zh_inst_block *b = calloc(1, l.size);
  if (!b)
    return oom();
  zh_inst_carve(b, module, &l);
  b->inst.store = store;
  /* Registered first: from here on every failure leaves the block to the store. */
  if (!zh_store_own(store, b, zh_inst_release))
    return oom();
  err = build(store, b, &l, imports);
  if (err)
    return err;
  *out = &b->inst;
  return NULL;
}

/* ---- exports ---- */

bool zh_instance_export(const zh_instance *inst, const char *name, zh_extern *out) {
  return name && zh_instance_export_n(inst, name, strlen(name), out);
}

bool zh_instance_export_n(const zh_instance *inst, const char *name, size_t len, zh_extern *out) {
  if (!inst || !name)
    return false;
  const zh_module *m = inst->module;
  for (uint32_t i = 0; i < m->nexports; i++) {
    const zh_export *e = &m->exports[i];
    if (e->name.len != len || memcmp(e->name.ptr, name, len) != 0)
      continue;
    zh_extern x;
    x.kind = e->kind;
    switch (e->kind) {
    case ZH_EXTERN_FUNC:
      x.of.func = inst->funcs[e->index];
      break;
    case ZH_EXTERN_TABLE:
      x.of.table = inst->tables[e->index];
      break;
    case ZH_EXTERN_MEMORY:
      x.of.memory = inst->memories[e->index];
      break;
    case ZH_EXTERN_GLOBAL:
      x.of.global = inst->globals[e->index];
      break;
    default:
      return false;
    }
    if (out)
      *out = x;
    return true;
  }
  return false;
}

zh_func *zh_instance_func(const zh_instance *inst, const char *name) {
  zh_extern x;
  if (!zh_instance_export(inst, name, &x) || x.kind != ZH_EXTERN_FUNC)
    return NULL;
  return x.of.func;
}

zh_memory *zh_instance_memory(const zh_instance *inst, const char *name) {
  zh_extern x;
  if (!zh_instance_export(inst, name, &x) || x.kind != ZH_EXTERN_MEMORY)
    return NULL;
  return x.of.memory;
}

const zh_module *zh_instance_module(const zh_instance *inst) { return inst ? inst->module : NULL; }

void zh_instance_set_data(zh_instance *inst, void *data) {
  if (inst)
    inst->data = data;
}

void *zh_instance_data(const zh_instance *inst) { return inst ? inst->data : NULL; }
