/* Binary decoder: turns the bytes of a WebAssembly 2.0 module into a zh_module.
 *
 * Sections are decoded through a reader bounded by the section, so nothing inside a
 * section can read past it; the function bodies' instruction streams are left to the
 * validator. Errors are ZH_ERR_MALFORMED with the spec's reason text, except for constant
 * expressions that are well formed but not constant, which are ZH_ERR_INVALID. */
#include "wasm/module.h"
#include "wasm/opcodes.h"
#include "wasm/reader.h"
#include "wasm/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Declared locals per function. Far above what compilers emit, low enough that a hostile
 * body cannot make us allocate gigabytes of local slots. */
#define ZH_MAX_LOCALS 50000u

enum {
  SEC_CUSTOM,
  SEC_TYPE,
  SEC_IMPORT,
  SEC_FUNCTION,
  SEC_TABLE,
  SEC_MEMORY,
  SEC_GLOBAL,
  SEC_EXPORT,
  SEC_START,
  SEC_ELEMENT,
  SEC_CODE,
  SEC_DATA,
  SEC_DATACOUNT,
  SEC_COUNT
};

static const char *const section_names[SEC_COUNT] = {
    "section custom", "section type",   "section import",    "section function", "section table",
    "section memory", "section global", "section export",    "section start",    "section element",
    "section code",   "section data",   "section datacount",
};

/* Position of each section id in the required order (data count sits before code). */
static const uint8_t section_rank[SEC_COUNT] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};

typedef struct dec {
  zh_module *m;
  const char *where;  /* "header" or "section <name>", for the message */
  char where_buf[24]; /* storage for the name of an unknown section id */
  bool in_section;    /* running out of bytes now means the section or function ended */
  zh_status status;   /* of the first failure */
  const char *reason;
  size_t offset;
  uint32_t ncustom_cap;
  bool has_code, has_data; /* the section was present */
  size_t code_offset;      /* of the code section's count */
  const uint8_t *names;    /* payload of the "name" custom section, parsed at the end */
  uint32_t names_len;
} dec;

static bool fail_at(dec *d, zh_status status, size_t offset, const char *reason) {
  d->status = status;
  d->offset = offset;
  d->reason = reason;
  return false;
}

static bool malformed(dec *d, const zh_reader *r, const char *reason) {
  return fail_at(d, ZH_ERR_MALFORMED, zh_reader_offset(r), reason);
}

static bool oom(dec *d, const zh_reader *r) {
  return fail_at(d, ZH_ERR_RESOURCE, zh_reader_offset(r), "out of memory");
}

/* A zh_read_* failed: take its reason, worded as the spec does for a section's end. */
static bool read_failed(dec *d, const zh_reader *r) {
  const char *why = r->err ? r->err : ZH_READ_EOF_TEXT;
  if (d->in_section && strcmp(why, ZH_READ_EOF_TEXT) == 0)
    why = "unexpected end of section or function";
  return malformed(d, r, why);
}

#define TRY_READ(d, r, call)                                                                       \
  do {                                                                                             \
    if (!(call)) {                                                                                 \
      read_failed((d), (r));                                                                       \
      return false; /* spelled out for the static analyzer */                                      \
    }                                                                                              \
  } while (0)

static char *dup_name(const uint8_t *p, uint32_t len) {
  char *s = malloc((size_t)len + 1);
  if (s) {
    if (len)
      memcpy(s, p, len);
    s[len] = '\0';
  }
  return s;
}

/* calloc that treats n == 0 as success with no storage. */
static bool alloc_array(dec *d, const zh_reader *r, void **out, size_t n, size_t size) {
  *out = NULL;
  if (n == 0)
    return true;
  *out = calloc(n, size);
  return *out ? true : oom(d, r);
}

/* Grows an index-space array to `n` entries (imports first, then definitions). */
static bool grow_array(dec *d, const zh_reader *r, void **arr, size_t n, size_t size) {
  if (n == 0)
    return true;
  void *p = realloc(*arr, n * size);
  if (!p)
    return oom(d, r);
  *arr = p;
  return true;
}

/* Records a function referenced outside code, which makes ref.func on it valid in code.
 * Out-of-range indices are left for the validator to report. */
static bool declare_func(dec *d, const zh_reader *r, uint32_t index) {
  zh_module *m = d->m;
  if (index >= m->nfuncs)
    return true;
  if (!m->declared_funcs &&
      !alloc_array(d, r, (void **)&m->declared_funcs, ((size_t)m->nfuncs + 7) / 8, 1))
    return false;
  m->declared_funcs[index / 8] |= (uint8_t)(1u << (index % 8));
  return true;
}

/* ---- types ---- */

static bool dec_limits(dec *d, zh_reader *r, zh_limits *l) {
  uint8_t flags;
  uint32_t v;
  TRY_READ(d, r, zh_peek_u8(r, &flags));
  /* The flags are a one-byte LEB128 in the reference grammar: only 0 and 1 exist. */
  if (flags & 0x80)
    return malformed(d, r, "integer representation too long");
  if (flags > 1)
    return malformed(d, r, "integer too large");
  r->p++;
  TRY_READ(d, r, zh_read_u32(r, &v));
  l->min = v;
  l->has_max = flags == 1;
  l->max = 0;
  if (l->has_max) {
    TRY_READ(d, r, zh_read_u32(r, &v));
    l->max = v;
  }
  return true;
}

static bool dec_tabletype(dec *d, zh_reader *r, zh_tabletype *t) {
  TRY_READ(d, r, zh_read_reftype(r, &t->elem));
  return dec_limits(d, r, &t->limits);
}

static bool dec_globaltype(dec *d, zh_reader *r, zh_globaltype *g) {
  uint8_t mut;
  TRY_READ(d, r, zh_read_valtype(r, &g->type));
  TRY_READ(d, r, zh_peek_u8(r, &mut));
  if (mut > 1)
    return malformed(d, r, "malformed mutability");
  r->p++;
  g->mutable_ = mut == 1;
  return true;
}

/* Reads a vector of value types in place; they are single bytes, so `*types` points at
 * them in the module's bytes. */
static bool dec_resulttype(dec *d, zh_reader *r, const uint8_t **types, uint32_t *n) {
  uint8_t t;
  TRY_READ(d, r, zh_read_count(r, n));
  *types = r->p;
  for (uint32_t i = 0; i < *n; i++)
    TRY_READ(d, r, zh_read_valtype(r, &t));
  return true;
}

static bool dec_type_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  if (!alloc_array(d, r, (void **)&m->types, n, sizeof *m->types))
    return false;
  m->ntypes = n;
  for (uint32_t i = 0; i < n; i++) {
    zh_type *t = &m->types[i];
    const uint8_t *params, *results;
    uint32_t np, nr;
    uint8_t form;
    TRY_READ(d, r, zh_read_type_byte(r, &form));
    if (form != 0x60)
      return malformed(d, r, "malformed function type");
    r->p++;
    if (!dec_resulttype(d, r, &params, &np) || !dec_resulttype(d, r, &results, &nr))
      return false;
    size_t nt = (size_t)np + nr;
    t->types = malloc(nt ? nt : 1);
    t->valtypes = malloc((nt ? nt : 1) * sizeof *t->valtypes);
    if (!t->types || !t->valtypes)
      return oom(d, r);
    if (np)
      memcpy(t->types, params, np);
    if (nr)
      memcpy(t->types + np, results, nr);
    for (size_t k = 0; k < nt; k++)
      t->valtypes[k] = (zh_valtype)t->types[k];
    t->nparams = np;
    t->nresults = nr;
    t->id = zh_engine_intern_type(m->engine, t->types, np, nr);
    if (t->id == UINT32_MAX)
      return oom(d, r);
  }
  return true;
}

/* ---- constant expressions ---- */

static bool opcode_exists(uint8_t op) {
  switch (op) {
#define ZH_CASE_(code, id, name, imm, sig) case code:
    ZH_OPCODES(ZH_CASE_)
#undef ZH_CASE_
    return true;
  default:
    return false;
  }
}

/* `op` at `offset` cannot start or continue a constant expression: an instruction that
 * exists is invalid there, anything else is not an instruction at all. */
static bool not_constant(dec *d, zh_reader *r, uint8_t op, size_t offset) {
  bool exists;
  if (op == ZH_PREFIX_FC) {
    uint32_t sub;
    TRY_READ(d, r, zh_read_u32(r, &sub));
    exists = sub < ZH_FC_COUNT;
  } else {
    exists = op == ZH_PREFIX_SIMD || opcode_exists(op);
  }
  if (exists)
    return fail_at(d, ZH_ERR_INVALID, offset, "constant expression required");
  return fail_at(d, ZH_ERR_MALFORMED, offset, "illegal opcode");
}

static bool is_constant_op(uint8_t op) {
  return op == ZH_OPCODE_i32_const || op == ZH_OPCODE_i64_const || op == ZH_OPCODE_f32_const ||
         op == ZH_OPCODE_f64_const || op == ZH_OPCODE_ref_null || op == ZH_OPCODE_ref_func ||
         op == ZH_OPCODE_global_get || op == ZH_PREFIX_SIMD;
}

/* One constant instruction, then `end`. Types are checked by the validator. */
static bool dec_const_expr(dec *d, zh_reader *r, zh_const_expr *e) {
  size_t offset = zh_reader_offset(r);
  uint8_t op;
  memset(e, 0, sizeof *e);
  TRY_READ(d, r, zh_read_u8(r, &op));
  e->kind = ZH_CONST_VALUE;
  switch (op) {
  case ZH_OPCODE_i32_const: {
    int32_t v;
    TRY_READ(d, r, zh_read_s32(r, &v));
    e->type = ZH_I32;
    e->bits = (uint32_t)v;
    break;
  }
  case ZH_OPCODE_i64_const: {
    int64_t v;
    TRY_READ(d, r, zh_read_s64(r, &v));
    e->type = ZH_I64;
    e->bits = (uint64_t)v;
    break;
  }
  case ZH_OPCODE_f32_const: {
    uint32_t v;
    TRY_READ(d, r, zh_read_fixed32(r, &v));
    e->type = ZH_F32;
    e->bits = v;
    break;
  }
  case ZH_OPCODE_f64_const:
    TRY_READ(d, r, zh_read_fixed64(r, &e->bits));
    e->type = ZH_F64;
    break;
  case ZH_OPCODE_ref_null:
    e->kind = ZH_CONST_REF_NULL;
    TRY_READ(d, r, zh_read_reftype(r, &e->type));
    break;
  case ZH_OPCODE_ref_func:
    e->kind = ZH_CONST_REF_FUNC;
    e->type = ZH_FUNCREF;
    TRY_READ(d, r, zh_read_u32(r, &e->index));
    if (!declare_func(d, r, e->index))
      return false;
    break;
  case ZH_OPCODE_global_get:
    e->kind = ZH_CONST_GLOBAL_GET;
    TRY_READ(d, r, zh_read_u32(r, &e->index));
    break;
  case ZH_PREFIX_SIMD: {
    uint32_t sub;
    TRY_READ(d, r, zh_read_u32(r, &sub));
    if (sub != 12) /* v128.const */
      return fail_at(d, ZH_ERR_INVALID, offset, "constant expression required");
    TRY_READ(d, r, zh_read_fixed64(r, &e->bits));
    TRY_READ(d, r, zh_read_fixed64(r, &e->bits_hi));
    e->type = ZH_V128;
    break;
  }
  case ZH_OPCODE_end:
    return fail_at(d, ZH_ERR_INVALID, offset, "type mismatch"); /* yields nothing */
  default:
    return not_constant(d, r, op, offset);
  }
  offset = zh_reader_offset(r);
  TRY_READ(d, r, zh_read_u8(r, &op));
  if (op == ZH_OPCODE_end)
    return true;
  if (is_constant_op(op))
    return fail_at(d, ZH_ERR_INVALID, offset, "type mismatch");
  return not_constant(d, r, op, offset);
}

/* ---- imports and definitions ---- */

static bool dec_import_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  if (n == 0)
    return true;
  /* The index spaces start with the imports (definitions are appended later); each gets
   * room for all n imports, as the split by kind is not known yet. */
  if (!alloc_array(d, r, (void **)&m->imports, n, sizeof *m->imports) ||
      !alloc_array(d, r, (void **)&m->func_types, n, sizeof *m->func_types) ||
      !alloc_array(d, r, (void **)&m->tables, n, sizeof *m->tables) ||
      !alloc_array(d, r, (void **)&m->mems, n, sizeof *m->mems) ||
      !alloc_array(d, r, (void **)&m->global_types, n, sizeof *m->global_types))
    return false;
  m->nimports = n;
  for (uint32_t i = 0; i < n; i++) {
    zh_import *im = &m->imports[i];
    uint8_t kind;
    TRY_READ(d, r, zh_read_name(r, &im->module.ptr, &im->module.len));
    TRY_READ(d, r, zh_read_name(r, &im->name.ptr, &im->name.len));
    im->module_cstr = dup_name(im->module.ptr, im->module.len);
    im->name_cstr = dup_name(im->name.ptr, im->name.len);
    if (!im->module_cstr || !im->name_cstr)
      return oom(d, r);
    TRY_READ(d, r, zh_peek_u8(r, &kind));
    if (kind > ZH_EXTERN_GLOBAL)
      return malformed(d, r, "malformed import kind");
    r->p++;
    im->kind = (zh_extern_kind)kind;
    switch (im->kind) {
    case ZH_EXTERN_FUNC:
      TRY_READ(d, r, zh_read_u32(r, &im->desc.type_index));
      m->func_types[m->nfunc_imports++] = im->desc.type_index;
      break;
    case ZH_EXTERN_TABLE:
      if (!dec_tabletype(d, r, &im->desc.table))
        return false;
      m->tables[m->ntable_imports++] = im->desc.table;
      break;
    case ZH_EXTERN_MEMORY:
      if (!dec_limits(d, r, &im->desc.memory))
        return false;
      m->mems[m->nmem_imports++] = im->desc.memory;
      break;
    case ZH_EXTERN_GLOBAL:
      if (!dec_globaltype(d, r, &im->desc.global))
        return false;
      m->global_types[m->nglobal_imports++] = im->desc.global;
      break;
    }
  }
  m->nfuncs = m->nfunc_imports;
  m->ntables = m->ntable_imports;
  m->nmems = m->nmem_imports;
  m->nglobals = m->nglobal_imports;
  return true;
}

static bool dec_function_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  /* Counts are bounded by the module size, which zh_decode keeps below 4 GiB. */
  if (!grow_array(d, r, (void **)&m->func_types, (size_t)m->nfuncs + n, sizeof *m->func_types))
    return false;
  for (uint32_t i = 0; i < n; i++)
    TRY_READ(d, r, zh_read_u32(r, &m->func_types[m->nfuncs + i]));
  m->nfuncs += n;
  return true;
}

static bool dec_table_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  if (!grow_array(d, r, (void **)&m->tables, (size_t)m->ntables + n, sizeof *m->tables))
    return false;
  for (uint32_t i = 0; i < n; i++)
    if (!dec_tabletype(d, r, &m->tables[m->ntables + i]))
      return false;
  m->ntables += n;
  return true;
}

static bool dec_memory_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  if (!grow_array(d, r, (void **)&m->mems, (size_t)m->nmems + n, sizeof *m->mems))
    return false;
  for (uint32_t i = 0; i < n; i++)
    if (!dec_limits(d, r, &m->mems[m->nmems + i]))
      return false;
  m->nmems += n;
  return true;
}

static bool dec_global_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  if (!grow_array(d, r, (void **)&m->global_types, (size_t)m->nglobals + n,
                  sizeof *m->global_types) ||
      !alloc_array(d, r, (void **)&m->globals, n, sizeof *m->globals))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    zh_global_def *g = &m->globals[i];
    if (!dec_globaltype(d, r, &g->type) || !dec_const_expr(d, r, &g->init))
      return false;
    m->global_types[m->nglobals + i] = g->type;
  }
  m->nglobals += n;
  return true;
}

static bool dec_export_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  if (!alloc_array(d, r, (void **)&m->exports, n, sizeof *m->exports))
    return false;
  m->nexports = n;
  for (uint32_t i = 0; i < n; i++) {
    zh_export *ex = &m->exports[i];
    uint8_t kind;
    TRY_READ(d, r, zh_read_name(r, &ex->name.ptr, &ex->name.len));
    if (!(ex->name_cstr = dup_name(ex->name.ptr, ex->name.len)))
      return oom(d, r);
    TRY_READ(d, r, zh_peek_u8(r, &kind));
    if (kind > ZH_EXTERN_GLOBAL)
      return malformed(d, r, "malformed export kind");
    r->p++;
    ex->kind = (zh_extern_kind)kind;
    TRY_READ(d, r, zh_read_u32(r, &ex->index));
    if (ex->kind == ZH_EXTERN_FUNC && !declare_func(d, r, ex->index))
      return false;
  }
  return true;
}

static bool dec_start_section(dec *d, zh_reader *r) {
  TRY_READ(d, r, zh_read_u32(r, &d->m->start));
  d->m->has_start = true;
  return true;
}

/* Element segments. The flags' bits: 0 = passive or declarative (no offset), 1 = explicit
 * table index (active) or declarative (with bit 0), 2 = items are expressions. */
static bool dec_elem(dec *d, zh_reader *r, zh_elem_segment *seg) {
  const uint8_t *at = r->p;
  uint32_t flags;
  TRY_READ(d, r, zh_read_u32(r, &flags));
  if (flags > 7) {
    r->p = at;
    return malformed(d, r, "malformed elements segment kind");
  }
  seg->mode = !(flags & 1) ? ZH_SEG_ACTIVE : (flags & 2) ? ZH_SEG_DECLARATIVE : ZH_SEG_PASSIVE;
  seg->type = ZH_FUNCREF;
  if (flags == 2 || flags == 6)
    TRY_READ(d, r, zh_read_u32(r, &seg->table));
  if (seg->mode == ZH_SEG_ACTIVE && !dec_const_expr(d, r, &seg->offset))
    return false;
  bool exprs = flags & 4;
  if (flags & 3) {
    if (exprs) {
      TRY_READ(d, r, zh_read_reftype(r, &seg->type));
    } else {
      uint8_t kind;
      TRY_READ(d, r, zh_peek_u8(r, &kind));
      if (kind != 0x00)
        return malformed(d, r, "malformed element kind");
      r->p++;
    }
  }
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  if (!alloc_array(d, r, (void **)&seg->items, n, sizeof *seg->items))
    return false;
  seg->count = n;
  for (uint32_t i = 0; i < n; i++) {
    zh_const_expr *e = &seg->items[i];
    if (exprs) {
      if (!dec_const_expr(d, r, e))
        return false;
      continue;
    }
    e->kind = ZH_CONST_REF_FUNC;
    e->type = ZH_FUNCREF;
    TRY_READ(d, r, zh_read_u32(r, &e->index));
    if (!declare_func(d, r, e->index))
      return false;
  }
  return true;
}

static bool dec_element_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  if (!alloc_array(d, r, (void **)&m->elems, n, sizeof *m->elems))
    return false;
  m->nelems = n;
  for (uint32_t i = 0; i < n; i++)
    if (!dec_elem(d, r, &m->elems[i]))
      return false;
  return true;
}

static bool dec_datacount_section(dec *d, zh_reader *r) {
  TRY_READ(d, r, zh_read_u32(r, &d->m->data_count));
  d->m->has_data_count = true;
  return true;
}

/* ---- code ---- */

static bool dec_body(dec *d, zh_reader *r, zh_func_body *body) {
  uint32_t ngroups, count;
  uint8_t type;
  TRY_READ(d, r, zh_read_count(r, &ngroups));
  /* First pass checks the declarations and sums them, so the allocation is exact. */
  const uint8_t *groups = r->p;
  uint32_t total = 0;
  for (uint32_t g = 0; g < ngroups; g++) {
    TRY_READ(d, r, zh_read_u32(r, &count));
    if (count > ZH_MAX_LOCALS - total)
      return malformed(d, r, "too many locals");
    total += count;
    TRY_READ(d, r, zh_read_valtype(r, &type));
  }
  if (!alloc_array(d, r, (void **)&body->local_types, total, 1))
    return false;
  body->nlocals = total;
  const uint8_t *code = r->p;
  r->p = groups;
  for (uint32_t g = 0, k = 0; g < ngroups; g++) {
    if (!zh_read_u32(r, &count) || !zh_read_valtype(r, &type))
      return read_failed(d, r);
    if (count)
      memset(body->local_types + k, type, count);
    k += count;
  }
  body->code = code;
  body->end = r->end;
  body->offset = (uint32_t)(code - r->start);
  r->p = r->end;
  if (body->end == code || body->end[-1] != ZH_OPCODE_end) {
    r->p = body->end > code ? body->end - 1 : code;
    return malformed(d, r, "END opcode expected");
  }
  return true;
}

static bool dec_code_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  d->code_offset = zh_reader_offset(r);
  TRY_READ(d, r, zh_read_count(r, &n)); /* checked against the functions at the end */
  if (!alloc_array(d, r, (void **)&m->bodies, n, sizeof *m->bodies))
    return false;
  m->nbodies = n;
  d->has_code = true;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t size;
    zh_reader body;
    TRY_READ(d, r, zh_read_u32(r, &size));
    TRY_READ(d, r, zh_reader_sub(r, size, &body));
    if (!dec_body(d, &body, &m->bodies[i]))
      return false;
  }
  return true;
}

/* ---- data ---- */

static bool dec_data_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  uint32_t n;
  TRY_READ(d, r, zh_read_count(r, &n));
  if (m->has_data_count && n != m->data_count)
    return malformed(d, r, "data count and data section have inconsistent lengths");
  if (!alloc_array(d, r, (void **)&m->datas, n, sizeof *m->datas))
    return false;
  m->ndatas = n;
  d->has_data = true;
  for (uint32_t i = 0; i < n; i++) {
    zh_data_segment *seg = &m->datas[i];
    const uint8_t *at = r->p;
    uint32_t flags;
    TRY_READ(d, r, zh_read_u32(r, &flags));
    if (flags > 2) {
      r->p = at;
      return malformed(d, r, "malformed data segment kind");
    }
    seg->mode = flags == 1 ? ZH_SEG_PASSIVE : ZH_SEG_ACTIVE;
    if (flags == 2)
      TRY_READ(d, r, zh_read_u32(r, &seg->memory));
    if (seg->mode == ZH_SEG_ACTIVE && !dec_const_expr(d, r, &seg->offset))
      return false;
    TRY_READ(d, r, zh_read_u32(r, &seg->len));
    TRY_READ(d, r, zh_read_bytes(r, seg->len, &seg->bytes));
  }
  return true;
}

/* ---- custom sections ---- */

static bool dec_custom_section(dec *d, zh_reader *r) {
  zh_module *m = d->m;
  if (m->ncustoms == d->ncustom_cap) {
    uint32_t cap = d->ncustom_cap ? d->ncustom_cap * 2 : 4;
    if (!grow_array(d, r, (void **)&m->customs, cap, sizeof *m->customs))
      return false;
    d->ncustom_cap = cap;
  }
  zh_custom *c = &m->customs[m->ncustoms];
  memset(c, 0, sizeof *c);
  TRY_READ(d, r, zh_read_name(r, &c->name.ptr, &c->name.len));
  c->data = r->p;
  c->len = (uint32_t)zh_reader_remaining(r);
  r->p = r->end;
  if (!(c->name_cstr = dup_name(c->name.ptr, c->name.len)))
    return oom(d, r);
  m->ncustoms++;
  if (!d->names && c->name.len == 4 && memcmp(c->name.ptr, "name", 4) == 0) {
    d->names = c->data;
    d->names_len = c->len;
  }
  return true;
}

/* The "name" section's function names. It is only a debugging aid, so any problem in it
 * (or running out of memory) just ends the parse with whatever names were read. */
static void parse_function_names(dec *d) {
  zh_module *m = d->m;
  zh_reader r;
  if (!d->names || m->nfuncs == 0)
    return;
  zh_reader_init(&r, d->names, d->names_len);
  while (!zh_reader_eof(&r)) {
    uint8_t id;
    uint32_t size, n;
    zh_reader sub;
    if (!zh_read_u8(&r, &id) || !zh_read_u32(&r, &size) || !zh_reader_sub(&r, size, &sub))
      return;
    if (id != 1)
      continue; /* 1: function names; module and local names are not kept */
    if (!zh_read_count(&sub, &n))
      return;
    if (!m->func_names && !(m->func_names = calloc(m->nfuncs, sizeof *m->func_names)))
      return;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t index, len;
      const uint8_t *name;
      if (!zh_read_u32(&sub, &index) || !zh_read_name(&sub, &name, &len))
        return;
      if (index < m->nfuncs && !m->func_names[index])
        m->func_names[index] = dup_name(name, len);
    }
  }
}

/* ---- module ---- */

static bool dec_section(dec *d, uint8_t id, zh_reader *r) {
  switch (id) {
  case SEC_CUSTOM:
    return dec_custom_section(d, r);
  case SEC_TYPE:
    return dec_type_section(d, r);
  case SEC_IMPORT:
    return dec_import_section(d, r);
  case SEC_FUNCTION:
    return dec_function_section(d, r);
  case SEC_TABLE:
    return dec_table_section(d, r);
  case SEC_MEMORY:
    return dec_memory_section(d, r);
  case SEC_GLOBAL:
    return dec_global_section(d, r);
  case SEC_EXPORT:
    return dec_export_section(d, r);
  case SEC_START:
    return dec_start_section(d, r);
  case SEC_ELEMENT:
    return dec_element_section(d, r);
  case SEC_CODE:
    return dec_code_section(d, r);
  case SEC_DATA:
    return dec_data_section(d, r);
  case SEC_DATACOUNT:
    return dec_datacount_section(d, r);
  default:
    return malformed(d, r, "malformed section id");
  }
}

static bool dec_module(dec *d) {
  zh_module *m = d->m;
  zh_reader r;
  const uint8_t *b;
  zh_reader_init(&r, m->bytes, m->len);
  d->where = "header";
  if (m->len > UINT32_MAX)
    return fail_at(d, ZH_ERR_RESOURCE, 0, "module larger than 4 GiB");
  TRY_READ(d, &r, zh_read_bytes(&r, 4, &b));
  if (memcmp(b, "\0asm", 4) != 0)
    return fail_at(d, ZH_ERR_MALFORMED, 0, "magic header not detected");
  TRY_READ(d, &r, zh_read_bytes(&r, 4, &b));
  if (memcmp(b, "\1\0\0\0", 4) != 0)
    return fail_at(d, ZH_ERR_MALFORMED, 4, "unknown binary version");

  unsigned last_rank = 0;
  while (!zh_reader_eof(&r)) {
    uint8_t id = *r.p;
    uint32_t size;
    zh_reader s;
    d->in_section = false;
    if (id >= SEC_COUNT) {
      snprintf(d->where_buf, sizeof d->where_buf, "section 0x%02x", id);
      d->where = d->where_buf;
      return malformed(d, &r, "malformed section id");
    }
    d->where = section_names[id];
    if (id != SEC_CUSTOM) {
      if (section_rank[id] <= last_rank)
        return malformed(d, &r, "unexpected content after last section");
      last_rank = section_rank[id];
    }
    r.p++;
    TRY_READ(d, &r, zh_read_u32(&r, &size));
    TRY_READ(d, &r, zh_reader_sub(&r, size, &s));
    d->in_section = true;
    if (!dec_section(d, id, &s))
      return false;
    if (!zh_reader_eof(&s))
      return malformed(d, &s, "section size mismatch");
  }

  /* Checked last, as the reference interpreter does, so that a misplaced section is
   * reported as such rather than as a count disagreement. */
  r.p = r.end;
  if (m->nbodies != m->nfuncs - m->nfunc_imports) {
    d->where = section_names[SEC_CODE];
    size_t offset = d->has_code ? d->code_offset : m->len;
    return fail_at(d, ZH_ERR_MALFORMED, offset,
                   "function and code section have inconsistent lengths");
  }
  if (m->has_data_count && !d->has_data && m->data_count != 0) {
    d->where = section_names[SEC_DATA];
    return malformed(d, &r, "data count and data section have inconsistent lengths");
  }
  /* The validator may index this for any function; an all-zero map if nothing is declared. */
  if (m->nfuncs && !m->declared_funcs &&
      !alloc_array(d, &r, (void **)&m->declared_funcs, ((size_t)m->nfuncs + 7) / 8, 1))
    return false;
  parse_function_names(d);
  return true;
}

zh_error *zh_decode(zh_module *m) {
  dec d;
  memset(&d, 0, sizeof d);
  d.m = m;
  if (dec_module(&d))
    return NULL;
  return zh_error_new(d.status, "%s: %s at offset 0x%zx: %s", m->name ? m->name : "module", d.where,
                      d.offset, d.reason);
}
