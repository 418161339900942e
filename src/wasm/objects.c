/* The public object API: values, host functions, calls, memories, tables, globals. */
#include "wasm/objects.h"
#include "wasm/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- values ---- */

zh_value zh_f32(float v) {
  zh_value x = {ZH_F32, {0}};
  memcpy(&x.of.f32_bits, &v, sizeof v);
  return x;
}

zh_value zh_f64(double v) {
  zh_value x = {ZH_F64, {0}};
  memcpy(&x.of.f64_bits, &v, sizeof v);
  return x;
}

float zh_value_f32(const zh_value *v) {
  float f;
  memcpy(&f, &v->of.f32_bits, sizeof f);
  return f;
}

double zh_value_f64(const zh_value *v) {
  double d;
  memcpy(&d, &v->of.f64_bits, sizeof d);
  return d;
}

/* i32 and f32 are zero-extended; references are the pointer value. A slot holds only
 * 8 bytes, so a v128 carries its low half here (callers needing all 16 bytes use
 * zh_global's two words or the interpreter's own layout). */
uint64_t zh_value_to_slot(const zh_value *v) {
  switch (v->type) {
  case ZH_I32:
    return (uint32_t)v->of.i32;
  case ZH_I64:
    return (uint64_t)v->of.i64;
  case ZH_F32:
    return v->of.f32_bits;
  case ZH_F64:
    return v->of.f64_bits;
  case ZH_FUNCREF:
    return (uint64_t)(uintptr_t)v->of.funcref;
  case ZH_EXTERNREF:
    return (uint64_t)(uintptr_t)v->of.externref;
  case ZH_V128: {
    uint64_t lo;
    memcpy(&lo, v->of.v128, sizeof lo);
    return lo;
  }
  }
  return 0;
}

zh_value zh_slot_to_value(uint8_t type, uint64_t slot) {
  zh_value x;
  memset(&x, 0, sizeof x);
  x.type = (zh_valtype)type;
  switch (type) {
  case ZH_I32:
    x.of.i32 = (int32_t)(uint32_t)slot;
    break;
  case ZH_I64:
    x.of.i64 = (int64_t)slot;
    break;
  case ZH_F32:
    x.of.f32_bits = (uint32_t)slot;
    break;
  case ZH_F64:
    x.of.f64_bits = slot;
    break;
  case ZH_FUNCREF:
    x.of.funcref = (zh_func *)(uintptr_t)slot;
    break;
  case ZH_EXTERNREF:
    x.of.externref = (void *)(uintptr_t)slot;
    break;
  case ZH_V128:
    memcpy(x.of.v128, &slot, sizeof slot);
    break;
  }
  return x;
}

uint32_t zh_values_to_slots(const zh_value *v, uint32_t n, uint64_t *slots) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (v[i].type == ZH_V128) {
      memcpy(&slots[k], v[i].of.v128, 16);
      k += 2;
    } else {
      slots[k++] = zh_value_to_slot(&v[i]);
    }
  }
  return k;
}

uint32_t zh_slots_to_values(const uint8_t *types, uint32_t n, const uint64_t *slots, zh_value *v) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    v[i] = zh_slot_to_value(types[i], slots[k++]);
    if (types[i] == ZH_V128)
      memcpy(v[i].of.v128 + 8, &slots[k++], 8);
  }
  return k;
}

static void valtypes_widen(zh_valtype *dst, const uint8_t *src, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    dst[i] = (zh_valtype)src[i];
}

static bool valtype_ok(int t) {
  switch (t) {
  case ZH_I32:
  case ZH_I64:
  case ZH_F32:
  case ZH_F64:
  case ZH_V128:
  case ZH_FUNCREF:
  case ZH_EXTERNREF:
    return true;
  }
  return false;
}

const char *zh_valtype_name(zh_valtype t) {
  switch (t) {
  case ZH_I32:
    return "i32";
  case ZH_I64:
    return "i64";
  case ZH_F32:
    return "f32";
  case ZH_F64:
    return "f64";
  case ZH_V128:
    return "v128";
  case ZH_FUNCREF:
    return "funcref";
  case ZH_EXTERNREF:
    return "externref";
  }
  return "?";
}

static zh_error *oom(void) { return zh_error_new(ZH_ERR_RESOURCE, "out of memory"); }

/* ---- functions ---- */

/* A host function, its uint8_t types and their widened copy in one allocation. */
typedef struct host_func {
  zh_func func;
  zh_valtype valtypes[]; /* followed by the uint8_t codes */
} host_func;

zh_func *zh_func_new_host(zh_store *store, const zh_functype *type, zh_host_fn fn, void *env) {
  if (!store || !type || !fn)
    return NULL;
  uint64_t n = (uint64_t)type->nparams + type->nresults;
  if (n > 1000000 || (type->nparams && !type->params) || (type->nresults && !type->results))
    return NULL;
  for (uint32_t i = 0; i < type->nparams; i++)
    if (!valtype_ok(type->params[i]))
      return NULL;
  for (uint32_t i = 0; i < type->nresults; i++)
    if (!valtype_ok(type->results[i]))
      return NULL;
  host_func *h = calloc(1, sizeof *h + (size_t)n * (sizeof(zh_valtype) + 1));
  if (!h)
    return NULL;
  uint8_t *codes = (uint8_t *)(h->valtypes + n);
  for (uint32_t i = 0; i < type->nparams; i++)
    codes[i] = (uint8_t)type->params[i];
  for (uint32_t i = 0; i < type->nresults; i++)
    codes[type->nparams + i] = (uint8_t)type->results[i];
  valtypes_widen(h->valtypes, codes, (uint32_t)n);
  uint32_t id = zh_engine_intern_type(store->engine, codes, type->nparams, type->nresults);
  if (id == UINT32_MAX) {
    free(h);
    return NULL;
  }
  h->func.type_id = id;
  h->func.nparams = type->nparams;
  h->func.nresults = type->nresults;
  h->func.types = codes;
  h->func.valtypes = h->valtypes;
  h->func.no_v128 = !memchr(codes, ZH_V128, n);
  h->func.host = fn;
  h->func.env = env;
  if (!zh_store_own(store, h, free))
    return NULL;
  return &h->func;
}

void zh_func_type(const zh_func *func, zh_functype *out) {
  out->nparams = func->nparams;
  out->nresults = func->nresults;
  out->params = func->valtypes;
  out->results = func->valtypes ? func->valtypes + func->nparams : NULL;
}

#define CALL_INLINE_SLOTS 16

zh_error *zh_func_call(zh_store *store, zh_func *func, const zh_value *args, size_t nargs,
                       zh_value *results, size_t nresults) {
  if (!store || !func)
    return zh_error_new(ZH_ERR_USAGE, "zh_func_call: no store or function");
  if (func->inst && func->inst->store != store)
    return zh_error_new(ZH_ERR_USAGE, "zh_func_call: function belongs to another store");
  if (nargs != func->nparams)
    return zh_error_new(ZH_ERR_USAGE, "zh_func_call: function takes %u arguments, got %zu",
                        func->nparams, nargs);
  if (nresults != func->nresults)
    return zh_error_new(ZH_ERR_USAGE, "zh_func_call: function returns %u results, room for %zu",
                        func->nresults, nresults);
  if ((nargs && !args) || (nresults && !results))
    return zh_error_new(ZH_ERR_USAGE, "zh_func_call: missing argument or result array");
  for (size_t i = 0; i < nargs; i++) {
    if ((int)args[i].type != func->types[i])
      return zh_error_new(ZH_ERR_USAGE, "zh_func_call: argument %zu is %s, expected %s", i,
                          zh_valtype_name((zh_valtype)args[i].type),
                          zh_valtype_name((zh_valtype)func->types[i]));
  }
  uint64_t inline_slots[CALL_INLINE_SLOTS];
  uint64_t *slots = inline_slots;
  size_t nin = zh_slots_of(func->types, (uint32_t)nargs);
  size_t nslots = nin + zh_slots_of(func->types + nargs, (uint32_t)nresults);
  if (nslots > CALL_INLINE_SLOTS) {
    slots = malloc(nslots * sizeof *slots);
    if (!slots)
      return oom();
  }
  uint64_t *in = slots, *res = slots + nin;
  zh_values_to_slots(args, (uint32_t)nargs, in);
  memset(res, 0, (nslots - nin) * sizeof *res);
  zh_error *err = zh_invoke(store, func, in, res);
  if (!err)
    zh_slots_to_values(func->types + nargs, (uint32_t)nresults, res, results);
  if (slots != inline_slots)
    free(slots);
  return err;
}

zh_store *zh_caller_store(zh_caller *caller) { return caller ? caller->store : NULL; }

zh_instance *zh_caller_instance(zh_caller *caller) { return caller ? caller->inst : NULL; }

zh_memory *zh_caller_memory(zh_caller *caller) {
  return caller && caller->inst ? caller->inst->memory : NULL;
}

/* ---- memories ---- */

static void memory_release(void *obj) {
  zh_memory *mem = obj;
  zh_mem_release(mem);
  free(mem);
}

zh_error *zh_memory_new(zh_store *store, const zh_limits *limits, zh_memory **out) {
  if (out)
    *out = NULL;
  if (!store || !limits || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_memory_new: store, limits and out are required");
  if (limits->min > ZH_MAX_PAGES || (limits->has_max && limits->max > ZH_MAX_PAGES))
    return zh_error_new(ZH_ERR_USAGE, "zh_memory_new: limits above %u pages", ZH_MAX_PAGES);
  if (limits->has_max && limits->max < limits->min)
    return zh_error_new(ZH_ERR_USAGE, "zh_memory_new: max %llu below min %llu",
                        (unsigned long long)limits->max, (unsigned long long)limits->min);
  zh_engine *engine = store->engine;
  uint64_t cap = engine->config.max_memory_pages ? engine->config.max_memory_pages : ZH_MAX_PAGES;
  uint64_t max = limits->has_max ? limits->max : ZH_MAX_PAGES;
  if (max > cap)
    max = cap;
  if (limits->min > max)
    return zh_error_new(ZH_ERR_RESOURCE, "memory of %llu pages exceeds the limit of %llu pages",
                        (unsigned long long)limits->min, (unsigned long long)max);
  zh_memory *mem = calloc(1, sizeof *mem);
  if (!mem)
    return oom();
  zh_error *err = zh_mem_init(engine, mem, limits->min, max);
  if (err) {
    free(mem);
    return err;
  }
  mem->has_max = limits->has_max;
  mem->declared_max = limits->has_max ? limits->max : ZH_MAX_PAGES;
  if (!zh_store_own(store, mem, memory_release))
    return oom();
  *out = mem;
  return NULL;
}

uint8_t *zh_memory_data(const zh_memory *mem) { return mem->base; }

size_t zh_memory_size(const zh_memory *mem) { return (size_t)mem->size; }

zh_error *zh_memory_grow(zh_memory *mem, uint32_t delta, uint32_t *old_pages) {
  uint64_t before = mem->size / ZH_PAGE_SIZE;
  int64_t r = zh_mem_grow(mem, delta);
  if (r < 0)
    return zh_error_new(ZH_ERR_RESOURCE, "memory.grow by %u pages failed (size %llu, max %llu)",
                        delta, (unsigned long long)before, (unsigned long long)mem->max_pages);
  if (old_pages)
    *old_pages = (uint32_t)r;
  return NULL;
}

static bool in_bounds(const zh_memory *mem, uint64_t offset, size_t len) {
  return offset <= mem->size && len <= mem->size - offset;
}

zh_error *zh_memory_read(const zh_memory *mem, uint64_t offset, void *dst, size_t len) {
  if (!in_bounds(mem, offset, len))
    return zh_error_trap_new(ZH_TRAP_MEMORY_OOB, "read of %zu bytes at %llu, memory size %llu", len,
                             (unsigned long long)offset, (unsigned long long)mem->size);
  if (len)
    memcpy(dst, mem->base + offset, len);
  return NULL;
}

zh_error *zh_memory_write(zh_memory *mem, uint64_t offset, const void *src, size_t len) {
  if (!in_bounds(mem, offset, len))
    return zh_error_trap_new(ZH_TRAP_MEMORY_OOB, "write of %zu bytes at %llu, memory size %llu",
                             len, (unsigned long long)offset, (unsigned long long)mem->size);
  if (len)
    memcpy(mem->base + offset, src, len);
  return NULL;
}

/* ---- tables ---- */

static void table_release(void *obj) {
  zh_table *t = obj;
  free(t->elems);
  free(t);
}

zh_error *zh_table_new(zh_store *store, zh_valtype elem, const zh_limits *limits, zh_table **out) {
  if (out)
    *out = NULL;
  if (!store || !limits || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_table_new: store, limits and out are required");
  if (elem != ZH_FUNCREF && elem != ZH_EXTERNREF)
    return zh_error_new(ZH_ERR_USAGE, "zh_table_new: element type must be funcref or externref");
  if (limits->min > UINT32_MAX || (limits->has_max && limits->max > UINT32_MAX))
    return zh_error_new(ZH_ERR_USAGE, "zh_table_new: limits above 2^32-1 elements");
  if (limits->has_max && limits->max < limits->min)
    return zh_error_new(ZH_ERR_USAGE, "zh_table_new: max %llu below min %llu",
                        (unsigned long long)limits->max, (unsigned long long)limits->min);
  if (limits->min > ZH_TABLE_MAX_ELEMS)
    return zh_error_new(ZH_ERR_RESOURCE, "table of %llu elements exceeds the limit of %u",
                        (unsigned long long)limits->min, ZH_TABLE_MAX_ELEMS);
  zh_table *t = calloc(1, sizeof *t);
  if (!t)
    return oom();
  if (limits->min > 0) {
    t->elems = calloc((size_t)limits->min, sizeof(void *));
    if (!t->elems) {
      free(t);
      return oom();
    }
  }
  t->elem = (uint8_t)elem;
  t->size = (uint32_t)limits->min;
  t->has_max = limits->has_max;
  t->max = limits->has_max ? (uint32_t)limits->max : UINT32_MAX;
  if (!zh_store_own(store, t, table_release))
    return oom();
  *out = t;
  return NULL;
}

uint32_t zh_table_size(const zh_table *table) { return table->size; }

zh_error *zh_table_get(const zh_table *table, uint32_t index, zh_value *out) {
  if (index >= table->size)
    return zh_error_trap_new(ZH_TRAP_TABLE_OOB, "get at %u, table size %u", index, table->size);
  zh_value x;
  memset(&x, 0, sizeof x);
  x.type = (zh_valtype)table->elem;
  if (table->elem == ZH_FUNCREF) {
    x.of.funcref = table->elems[index];
  } else {
    x.of.externref = table->elems[index];
  }
  *out = x;
  return NULL;
}

zh_error *zh_table_set(zh_table *table, uint32_t index, const zh_value *value) {
  if ((int)value->type != table->elem)
    return zh_error_new(ZH_ERR_USAGE, "zh_table_set: value is %s, table holds %s",
                        zh_valtype_name((zh_valtype)value->type),
                        zh_valtype_name((zh_valtype)table->elem));
  if (index >= table->size)
    return zh_error_trap_new(ZH_TRAP_TABLE_OOB, "set at %u, table size %u", index, table->size);
  table->elems[index] = table->elem == ZH_FUNCREF ? (void *)value->of.funcref : value->of.externref;
  return NULL;
}

int64_t zh_table_grow(zh_table *table, uint32_t delta, void *init) {
  uint32_t old = table->size;
  if (delta == 0)
    return old;
  uint64_t size = (uint64_t)old + delta;
  if (size > table->max || size > ZH_TABLE_MAX_ELEMS)
    return -1;
  void **elems = realloc(table->elems, (size_t)size * sizeof(void *));
  if (!elems)
    return -1;
  for (uint64_t i = old; i < size; i++)
    elems[i] = init;
  table->elems = elems;
  table->size = (uint32_t)size;
  return old;
}

/* ---- globals ---- */

zh_error *zh_global_new(zh_store *store, const zh_value *init, bool mutable_, zh_global **out) {
  if (out)
    *out = NULL;
  if (!store || !init || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_global_new: store, init and out are required");
  if (!valtype_ok(init->type))
    return zh_error_new(ZH_ERR_USAGE, "zh_global_new: invalid value type %d", (int)init->type);
  zh_global *g = calloc(1, sizeof *g);
  if (!g)
    return oom();
  g->type = (uint8_t)init->type;
  g->mutable_ = mutable_;
  if (init->type == ZH_V128) {
    memcpy(g->value, init->of.v128, sizeof g->value);
  } else {
    g->value[0] = zh_value_to_slot(init);
  }
  if (!zh_store_own(store, g, free))
    return oom();
  *out = g;
  return NULL;
}

zh_value zh_global_get(const zh_global *global) {
  zh_value x = zh_slot_to_value(global->type, global->value[0]);
  if (global->type == ZH_V128)
    memcpy(x.of.v128, global->value, sizeof x.of.v128);
  return x;
}

zh_error *zh_global_set(zh_global *global, const zh_value *value) {
  if (!global->mutable_)
    return zh_error_new(ZH_ERR_USAGE, "zh_global_set: global is immutable");
  if ((int)value->type != global->type)
    return zh_error_new(ZH_ERR_USAGE, "zh_global_set: value is %s, global holds %s",
                        zh_valtype_name((zh_valtype)value->type),
                        zh_valtype_name((zh_valtype)global->type));
  if (value->type == ZH_V128) {
    memcpy(global->value, value->of.v128, sizeof global->value);
  } else {
    global->value[0] = zh_value_to_slot(value);
    global->value[1] = 0;
  }
  return NULL;
}

const char *zh_extern_kind_name(zh_extern_kind k) {
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
