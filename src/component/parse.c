/* Component binary -> validated definitions (Binary.md, Explainer.md).
 *
 * One pass: each definition is decoded and validated at once, since every index space of
 * the component model grows one definition at a time and a definition may only refer to
 * what precedes it. A `scope` holds the index spaces of a component, a component type or an
 * instance type; outer aliases walk the scope chain. What instantiation needs (the
 * definitions in order, the compiled core modules, the nested components) is recorded in
 * cb_component; the types live in the component's arena.
 *
 * Errors: the first one wins and reads "FILE: component section N (NAME) at offset 0xOFF:
 * reason" with ZH_ERR_MALFORMED for the binary format and ZH_ERR_INVALID for validation.
 * Gated features (async, threads, values, maps, fixed-length lists, error-context, core GC
 * types) are refused as invalid, naming the feature.
 */
#include "component/cb_internal.h"

#include "wasm/error.h"
#include "wasm/module.h"
#include "wit/abi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pvec {
  const void **items;
  size_t len, cap;
} pvec;

typedef enum scope_kind { SC_COMPONENT, SC_COMPONENT_TYPE, SC_INSTANCE_TYPE } scope_kind;

typedef struct scope scope;
struct scope {
  scope *parent;
  scope_kind kind;
  cb_component *comp; /* SC_COMPONENT */
  pvec space[CB_NSORTS];
  pvec imports, exports; /* cb_named* */
  pvec visible_res;      /* resources introduced by imports and exports */
  pvec defined_res;      /* resources defined here (canon resource.new/rep need one) */
  pvec imported_res, exported_res;
  /* Names for external visibility: what imports named (usable by imports and exports) and
   * what exports named (usable by later exports only). */
  pvec named_imp, named_exp;
  int depth;
};

typedef struct parser {
  zh_cm_component *c;
  wit_arena *a;
  const char *file;
  zh_reader *r; /* current reader; offsets are file offsets */
  unsigned secid;
  zh_error *err;
  pvec subres; /* resources made by `(sub resource)` bounds */
  /* Effective sizes of value types (type_size), by address: open addressing. */
  const zh_wit_type **size_keys;
  uint32_t *size_vals;
  size_t size_cap, size_len;
} parser;

static const char *const kSectionNames[] = {
    "custom", "core module", "core instance", "core type", "component", "instance", "alias",
    "type",   "canon",       "start",         "import",    "export",    "value"};

static bool failv(parser *p, zh_status st, size_t off, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static bool failv(parser *p, zh_status st, size_t off, const char *fmt, va_list ap) {
  if (p->err)
    return false;
  char raw[600], msg[600 * 4];
  vsnprintf(raw, sizeof raw, fmt, ap);
  /* Names in the binary may hold any character: control characters are escaped so the
   * message stays one line. */
  size_t n = 0;
  for (const unsigned char *c = (const unsigned char *)raw; *c && n + 5 < sizeof msg; c++) {
    if (*c < 0x20 || *c == 0x7f)
      n += (size_t)snprintf(msg + n, sizeof msg - n, "\\x%02x", *c);
    else
      msg[n++] = (char)*c;
  }
  msg[n] = 0;
  if (p->secid < sizeof kSectionNames / sizeof kSectionNames[0] && p->secid != 99)
    p->err = zh_error_new(st, "%s: component section %u (%s) at offset 0x%zx: %s", p->file,
                          p->secid, kSectionNames[p->secid], off, msg);
  else
    p->err = zh_error_new(st, "%s: component at offset 0x%zx: %s", p->file, off, msg);
  return false;
}

static bool malformed(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool malformed(parser *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(p, ZH_ERR_MALFORMED, zh_reader_offset(p->r), fmt, ap);
  va_end(ap);
  return false;
}

static bool invalid_at(parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool invalid_at(parser *p, size_t off, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(p, ZH_ERR_INVALID, off, fmt, ap);
  va_end(ap);
  return false;
}

#define INVALID(p, off, ...) invalid_at(p, off, __VA_ARGS__)

static bool oom(parser *p) {
  if (!p->err)
    p->err = zh_error_new(ZH_ERR_RESOURCE, "%s: out of memory decoding the component", p->file);
  return false;
}

static bool rfail(parser *p) {
  return malformed(p, "%s", p->r->err ? p->r->err : "unexpected end");
}

static bool rd_u8(parser *p, uint8_t *v) {
  *v = 0;
  return zh_read_u8(p->r, v) || rfail(p);
}
static bool rd_u32(parser *p, uint32_t *v) {
  *v = 0;
  return zh_read_u32(p->r, v) || rfail(p);
}
static bool rd_count(parser *p, uint32_t *v) {
  *v = 0;
  return zh_read_count(p->r, v) || rfail(p);
}

static bool rd_name(parser *p, const char **out) {
  *out = NULL;
  const uint8_t *s;
  uint32_t n;
  if (!zh_read_name(p->r, &s, &n))
    return rfail(p);
  if (memchr(s, 0, n))
    return malformed(p, "name contains a NUL byte");
  char *d = wit_strndup(p->a, (const char *)s, n);
  if (!d)
    return oom(p);
  *out = d;
  return true;
}

static bool push(parser *p, pvec *v, const void *item) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 8;
    const void **n = wit_alloc(p->a, cap * sizeof *n);
    if (!n)
      return oom(p);
    if (v->len)
      memcpy(n, v->items, v->len * sizeof *n);
    v->items = n;
    v->cap = cap;
  }
  v->items[v->len++] = item;
  return true;
}

static bool pvec_has(const pvec *v, const void *x) {
  for (size_t i = 0; i < v->len; i++)
    if (v->items[i] == x)
      return true;
  return false;
}

/* Looks up index `idx` of sort `s`, with a message naming both when out of range. */
static const void *get(parser *p, scope *sc, cb_sort s, uint32_t idx, size_t off) {
  if (idx >= sc->space[s].len) {
    INVALID(p, off, "%s index %u out of bounds (%zu defined)", cb_sort_name(s), idx,
            sc->space[s].len);
    return NULL;
  }
  return sc->space[s].items[idx];
}

static bool add_def(parser *p, scope *sc, const cb_def *d) {
  if (!sc->comp)
    return true;
  cb_component *c = sc->comp;
  if (c->ndefs == c->defs_cap) {
    size_t cap = c->ndefs ? c->ndefs * 2 : 8;
    cb_def *n = wit_alloc(p->a, cap * sizeof *n);
    if (!n)
      return oom(p);
    if (c->ndefs)
      memcpy(n, c->defs, c->ndefs * sizeof *n);
    c->defs = n;
    c->defs_cap = cap;
  }
  c->defs[c->ndefs++] = *d;
  return true;
}

/* ---- core types ---- */

static bool rd_core_valtype(parser *p, zh_valtype *out) {
  uint8_t b;
  if (!zh_read_valtype(p->r, &b))
    return rfail(p);
  *out = (zh_valtype)b;
  return true;
}

static bool rd_core_functype_body(parser *p, cb_corefunc *f) {
  uint32_t n;
  if (!rd_count(p, &n))
    return false;
  f->nparams = n;
  f->params = n ? wit_alloc(p->a, n * sizeof *f->params) : NULL;
  if (n && !f->params)
    return oom(p);
  for (uint32_t i = 0; i < n; i++)
    if (!rd_core_valtype(p, &f->params[i]))
      return false;
  if (!rd_count(p, &n))
    return false;
  f->nresults = n;
  f->results = n ? wit_alloc(p->a, n * sizeof *f->results) : NULL;
  if (n && !f->results)
    return oom(p);
  for (uint32_t i = 0; i < n; i++)
    if (!rd_core_valtype(p, &f->results[i]))
      return false;
  return true;
}

static bool rd_limits(parser *p, zh_limits *l) {
  uint8_t flags;
  if (!rd_u8(p, &flags))
    return false;
  if (flags > 1)
    return INVALID(p, zh_reader_offset(p->r) - 1,
                   "limits flags 0x%x (shared or 64-bit memories are not supported)", flags);
  uint32_t v;
  if (!rd_u32(p, &v))
    return false;
  l->min = v;
  l->has_max = flags == 1;
  if (l->has_max) {
    if (!rd_u32(p, &v))
      return false;
    l->max = v;
  }
  return true;
}

/* core:importdesc, with function types from `types` (core type space of the scope). */
static bool rd_core_importdesc(parser *p, const pvec *types, cb_coreext *e) {
  uint8_t k;
  size_t off = zh_reader_offset(p->r);
  if (!rd_u8(p, &k))
    return false;
  memset(e, 0, sizeof *e);
  switch (k) {
  case 0x00: {
    uint32_t ti;
    if (!rd_u32(p, &ti))
      return false;
    if (ti >= types->len)
      return INVALID(p, off, "core type index %u out of bounds", ti);
    const cb_coretype *t = types->items[ti];
    if (t->is_module)
      return INVALID(p, off, "core type %u is not a function type", ti);
    e->kind = ZH_EXTERN_FUNC;
    e->func = &t->func;
    return true;
  }
  case 0x01: {
    uint8_t rt;
    if (!zh_read_reftype(p->r, &rt))
      return rfail(p);
    e->kind = ZH_EXTERN_TABLE;
    e->type = (zh_valtype)rt;
    return rd_limits(p, &e->limits);
  }
  case 0x02:
    e->kind = ZH_EXTERN_MEMORY;
    if (!rd_limits(p, &e->limits))
      return false;
    if (e->limits.min > 65536 || (e->limits.has_max && e->limits.max > 65536))
      return INVALID(p, off, "memory size must be at most 65536 pages (4GiB)");
    return true;
  case 0x03: {
    uint8_t m;
    e->kind = ZH_EXTERN_GLOBAL;
    if (!rd_core_valtype(p, &e->type) || !rd_u8(p, &m))
      return false;
    if (m > 1)
      return malformed(p, "malformed mutability");
    e->mut = m;
    return true;
  }
  case 0x04:
    return INVALID(p, off, "core tags are a gated feature (exceptions, not supported)");
  default:
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for core import kind", k);
  }
}

static bool rd_core_type(parser *p, scope *sc, pvec *types, bool in_moduletype, cb_coretype **out);

static bool rd_core_moduletype(parser *p, scope *sc, cb_coremod *m) {
  uint32_t n;
  if (!rd_count(p, &n))
    return false;
  pvec types = {0}, imports = {0}, exports = {0};
  for (uint32_t i = 0; i < n; i++) {
    uint8_t k;
    size_t off = zh_reader_offset(p->r);
    if (!rd_u8(p, &k))
      return false;
    switch (k) {
    case 0x00: { /* import */
      cb_corenamed *im = wit_alloc(p->a, sizeof *im);
      if (!im)
        return oom(p);
      if (!rd_name(p, &im->module) || !rd_name(p, &im->name) ||
          !rd_core_importdesc(p, &types, &im->ext))
        return false;
      for (size_t j = 0; j < imports.len; j++) {
        const cb_corenamed *o = imports.items[j];
        if (!strcmp(o->module, im->module) && !strcmp(o->name, im->name))
          return INVALID(p, off, "duplicate import name `%s:%s`", im->module, im->name);
      }
      if (!push(p, &imports, im))
        return false;
      break;
    }
    case 0x01: { /* type */
      cb_coretype *t;
      if (!rd_core_type(p, sc, &types, true, &t) || !push(p, &types, t))
        return false;
      break;
    }
    case 0x02: { /* alias: only outer type aliases */
      uint8_t s, tgt;
      uint32_t ct, idx;
      if (!rd_u8(p, &s))
        return false;
      if (s != 0x10) {
        p->r->p--;
        return malformed(p, "invalid leading byte (0x%x) for outer alias kind", s);
      }
      if (!rd_u8(p, &tgt))
        return false;
      if (tgt != 0x01) {
        p->r->p--;
        return malformed(p, "invalid leading byte (0x%x) for outer alias target", tgt);
      }
      if (!rd_u32(p, &ct) || !rd_u32(p, &idx))
        return false;
      const pvec *src = NULL;
      if (ct == 0) {
        src = &types;
      } else {
        scope *o = sc;
        for (uint32_t j = 1; j < ct && o; j++)
          o = o->parent;
        if (!o)
          return INVALID(p, off, "outer alias count %u too large", ct);
        src = &o->space[CB_CORE_TYPE];
      }
      if (idx >= src->len)
        return INVALID(p, off, "core type index %u out of bounds", idx);
      const cb_coretype *t = src->items[idx];
      if (t->is_module)
        return INVALID(p, off, "outer alias of a core module type in a module type");
      if (!push(p, &types, t))
        return false;
      break;
    }
    case 0x03: { /* export */
      cb_corenamed *ex = wit_alloc(p->a, sizeof *ex);
      if (!ex)
        return oom(p);
      if (!rd_name(p, &ex->name) || !rd_core_importdesc(p, &types, &ex->ext))
        return false;
      for (size_t j = 0; j < exports.len; j++)
        if (!strcmp(((const cb_corenamed *)exports.items[j])->name, ex->name))
          return INVALID(p, off, "duplicate export name `%s`", ex->name);
      if (!push(p, &exports, ex))
        return false;
      break;
    }
    default:
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for type definition", k);
    }
  }
  m->nimports = imports.len;
  m->imports = wit_alloc(p->a, (imports.len + 1) * sizeof *m->imports);
  m->nexports = exports.len;
  m->exports = wit_alloc(p->a, (exports.len + 1) * sizeof *m->exports);
  if (!m->imports || !m->exports)
    return oom(p);
  for (size_t j = 0; j < imports.len; j++)
    m->imports[j] = *(const cb_corenamed *)imports.items[j];
  for (size_t j = 0; j < exports.len; j++)
    m->exports[j] = *(const cb_corenamed *)exports.items[j];
  return true;
}

static bool rd_core_type(parser *p, scope *sc, pvec *types, bool in_moduletype, cb_coretype **out) {
  (void)types;
  uint8_t k;
  size_t off = zh_reader_offset(p->r);
  if (!rd_u8(p, &k))
    return false;
  cb_coretype *t = wit_alloc(p->a, sizeof *t);
  if (!t)
    return oom(p);
  *out = t;
  switch (k) {
  case 0x60:
    return rd_core_functype_body(p, &t->func);
  case 0x50:
    if (in_moduletype)
      return INVALID(p, off, "invalid leading byte (0x50): nested core module types");
    t->is_module = true;
    return rd_core_moduletype(p, sc, &t->mod);
  case 0x00:
  case 0x4f: {
    /* A `sub` without supertypes around a function type is just that function type (the
     * 0x00 prefix keeps 0x50 free for module types). Anything else is GC. */
    uint8_t b = 0x50;
    uint32_t nsuper = 1;
    if (k == 0x00 && !rd_u8(p, &b))
      return false;
    if (b == 0x50 && rd_u32(p, &nsuper) && nsuper == 0 && rd_u8(p, &b) && b == 0x60)
      return rd_core_functype_body(p, &t->func);
    if (p->err)
      return false;
    return INVALID(p, off, "core GC types are a gated feature (not supported)");
  }
  case 0x4e:
  case 0x5e:
  case 0x5f:
    return INVALID(p, off, "core GC types (0x%x) are a gated feature (not supported)", k);
  default:
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for core type", k);
  }
}

/* ---- value types ---- */

static size_t size_slot(const parser *p, const zh_wit_type *t) {
  size_t h = ((uintptr_t)t >> 4) * 0x9e3779b97f4a7c15ull;
  size_t i = h & (p->size_cap - 1);
  while (p->size_keys[i] && p->size_keys[i] != t)
    i = (i + 1) & (p->size_cap - 1);
  return i;
}

static bool size_put(parser *p, const zh_wit_type *t, uint32_t v) {
  if (2 * (p->size_len + 1) > p->size_cap) {
    size_t cap = p->size_cap ? p->size_cap * 2 : 256;
    const zh_wit_type **ok = p->size_keys;
    uint32_t *ov = p->size_vals;
    size_t ocap = p->size_cap;
    p->size_keys = wit_alloc(p->a, cap * sizeof(const zh_wit_type *));
    p->size_vals = wit_alloc(p->a, cap * sizeof(uint32_t));
    if (!p->size_keys || !p->size_vals)
      return oom(p);
    p->size_cap = cap;
    for (size_t i = 0; i < ocap; i++)
      if (ok[i]) {
        size_t j = size_slot(p, ok[i]);
        p->size_keys[j] = ok[i];
        p->size_vals[j] = ov[i];
      }
  }
  size_t i = size_slot(p, t);
  if (!p->size_keys[i])
    p->size_len++;
  p->size_keys[i] = t;
  p->size_vals[i] = v;
  return true;
}

/* A type's size as a tree (shared subtypes counted at each use), saturating just past
 * CB_MAX_TYPE_SIZE; memoised, so each node of the DAG is visited once. */
static uint32_t type_size(parser *p, const zh_wit_type *t, int depth) {
  if (!t)
    return 0;
  if (t->kind <= ZH_WIT_STRING && t == wit_prim(t->kind))
    return 1;
  if (p->size_cap) {
    size_t i = size_slot(p, t);
    if (p->size_keys[i])
      return p->size_vals[i];
  }
  if (depth > CB_MAX_DEPTH)
    return CB_MAX_TYPE_SIZE + 1;
  uint64_t n = 1;
  if (t->kind != ZH_WIT_OWN && t->kind != ZH_WIT_BORROW) {
    n += type_size(p, t->elem, depth + 1);
    n += type_size(p, t->err, depth + 1);
  }
  for (size_t i = 0; i < t->nfields; i++)
    n += type_size(p, t->fields[i].type, depth + 1);
  uint32_t v = n > CB_MAX_TYPE_SIZE ? CB_MAX_TYPE_SIZE + 1 : (uint32_t)n;
  size_put(p, t, v);
  return v;
}

static const zh_wit_type *prim_of(uint8_t b) {
  static const zh_wit_type_kind kinds[] = {
      [0x7f - 0x73] = ZH_WIT_BOOL, [0x7f - 0x7e] = ZH_WIT_S8,  [0x7f - 0x7d] = ZH_WIT_U8,
      [0x7f - 0x7c] = ZH_WIT_S16,  [0x7f - 0x7b] = ZH_WIT_U16, [0x7f - 0x7a] = ZH_WIT_S32,
      [0x7f - 0x79] = ZH_WIT_U32,  [0x7f - 0x78] = ZH_WIT_S64, [0x7f - 0x77] = ZH_WIT_U64,
      [0x7f - 0x76] = ZH_WIT_F32,  [0x7f - 0x75] = ZH_WIT_F64, [0x7f - 0x74] = ZH_WIT_CHAR,
      [0x7f - 0x7f] = ZH_WIT_BOOL};
  if (b < 0x73 || b > 0x7f)
    return NULL;
  if (b == 0x73)
    return wit_prim(ZH_WIT_STRING);
  return wit_prim(kinds[0x7f - b]);
}

static bool rd_valtype(parser *p, scope *sc, const zh_wit_type **out) {
  uint8_t b;
  size_t off = zh_reader_offset(p->r);
  if (!zh_peek_u8(p->r, &b))
    return rfail(p);
  const zh_wit_type *prim = prim_of(b);
  if (prim) {
    p->r->p++;
    *out = prim;
    return true;
  }
  if (b == 0x64)
    return INVALID(p, off, "error-context is an async type (not supported)");
  int64_t idx;
  if (!zh_read_s33(p->r, &idx))
    return rfail(p);
  if (idx < 0) {
    p->r->p = p->r->start + off;
    return malformed(p, "invalid leading byte (0x%x) for value type", b);
  }
  const cb_type *t = get(p, sc, CB_TYPE, (uint32_t)idx, off);
  if (!t)
    return false;
  if (idx > UINT32_MAX || t->kind != CB_T_VAL)
    return INVALID(p, off, "type index %u is not a defined value type", (uint32_t)idx);
  *out = t->val;
  return true;
}

static bool rd_label(parser *p, const char **out) {
  size_t off = zh_reader_offset(p->r);
  if (!rd_name(p, out))
    return false;
  if (!cb_label_valid(*out))
    return INVALID(p, off, "`%s` is not in kebab case", *out);
  return true;
}

static bool unique_labels(parser *p, const zh_wit_field *f, size_t n, size_t off,
                          const char *what) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++)
      if (cb_names_conflict(f[i].name, f[j].name))
        return INVALID(p, off, "%s name `%s` conflicts with previous name `%s`", what, f[i].name,
                       f[j].name);
  return true;
}

static zh_wit_type *new_val(parser *p, zh_wit_type_kind k) {
  zh_wit_type *t = wit_alloc(p->a, sizeof *t);
  if (!t)
    oom(p);
  else
    t->kind = k;
  return t;
}

static bool rd_fields(parser *p, scope *sc, zh_wit_type *t, bool labels, bool types, bool opt_types,
                      const char *what) {
  uint32_t n;
  size_t off = zh_reader_offset(p->r);
  if (!rd_count(p, &n))
    return false;
  zh_wit_field *f = n ? wit_alloc(p->a, n * sizeof *f) : NULL;
  if (n && !f)
    return oom(p);
  for (uint32_t i = 0; i < n; i++) {
    if (labels && !rd_label(p, &f[i].name))
      return false;
    if (opt_types) {
      uint8_t has;
      if (!rd_u8(p, &has))
        return false;
      if (has > 1) {
        p->r->p--;
        return malformed(p, "invalid leading byte (0x%x) for optional value type", has);
      }
      if (has && !rd_valtype(p, sc, &f[i].type))
        return false;
      uint8_t z;
      if (!rd_u8(p, &z))
        return false;
      if (z != 0) {
        p->r->p--;
        return malformed(p, "invalid leading byte (0x%x) for zero byte required", z);
      }
    } else if (types && !rd_valtype(p, sc, &f[i].type)) {
      return false;
    }
  }
  t->nfields = n;
  t->fields = f;
  if (labels && !unique_labels(p, f, n, off, what))
    return false;
  return true;
}

static bool rd_opt_valtype(parser *p, scope *sc, const zh_wit_type **out) {
  uint8_t has;
  if (!rd_u8(p, &has))
    return false;
  if (has > 1) {
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for optional value type", has);
  }
  *out = NULL;
  return !has || rd_valtype(p, sc, out);
}

static bool handle_target(parser *p, scope *sc, uint32_t idx, size_t off, const zh_wit_type **out) {
  const cb_type *t = get(p, sc, CB_TYPE, idx, off);
  if (!t)
    return false;
  if (t->kind != CB_T_RESOURCE)
    return INVALID(p, off, "type index %u is not a resource type", idx);
  *out = t->val;
  return true;
}

/* defvaltype after its leading byte `b` (already consumed unless primitive). */
static bool rd_defvaltype(parser *p, scope *sc, uint8_t b, size_t off, const zh_wit_type **out) {
  const zh_wit_type *prim = prim_of(b);
  if (prim) {
    *out = prim;
    return true;
  }
  zh_wit_type *t;
  switch (b) {
  case 0x72:
    if (!(t = new_val(p, ZH_WIT_RECORD)) || !rd_fields(p, sc, t, true, true, false, "field"))
      return false;
    if (!t->nfields)
      return INVALID(p, off, "record type must have at least one field");
    break;
  case 0x71:
    if (!(t = new_val(p, ZH_WIT_VARIANT)) ||
        !rd_fields(p, sc, t, true, false, true, "variant case"))
      return false;
    if (!t->nfields)
      return INVALID(p, off, "variant type must have at least one case");
    break;
  case 0x70:
    if (!(t = new_val(p, ZH_WIT_LIST)) || !rd_valtype(p, sc, &t->elem))
      return false;
    break;
  case 0x6f:
    if (!(t = new_val(p, ZH_WIT_TUPLE)) || !rd_fields(p, sc, t, false, true, false, "tuple"))
      return false;
    if (!t->nfields)
      return INVALID(p, off, "tuple type must have at least one type");
    break;
  case 0x6e:
    if (!(t = new_val(p, ZH_WIT_FLAGS)) || !rd_fields(p, sc, t, true, false, false, "flag"))
      return false;
    if (!t->nfields)
      return INVALID(p, off, "flags must have at least one entry");
    if (t->nfields > CB_MAX_FLAGS)
      return INVALID(p, off, "cannot have more than %d flags", CB_MAX_FLAGS);
    break;
  case 0x6d:
    if (!(t = new_val(p, ZH_WIT_ENUM)) || !rd_fields(p, sc, t, true, false, false, "enum tag"))
      return false;
    if (!t->nfields)
      return INVALID(p, off, "enum type must have at least one variant");
    break;
  case 0x6b:
    if (!(t = new_val(p, ZH_WIT_OPTION)) || !rd_valtype(p, sc, &t->elem))
      return false;
    break;
  case 0x6a:
    if (!(t = new_val(p, ZH_WIT_RESULT)) || !rd_opt_valtype(p, sc, &t->elem) ||
        !rd_opt_valtype(p, sc, &t->err))
      return false;
    break;
  case 0x69:
  case 0x68: {
    uint32_t idx;
    size_t ioff = zh_reader_offset(p->r);
    if (!(t = new_val(p, b == 0x69 ? ZH_WIT_OWN : ZH_WIT_BORROW)) || !rd_u32(p, &idx) ||
        !handle_target(p, sc, idx, ioff, &t->elem))
      return false;
    break;
  }
  case 0x67:
    return INVALID(p, off, "fixed-length lists are a gated feature (not supported)");
  case 0x66:
  case 0x65:
    return INVALID(p, off, "%s is an async type: not valid at this time (not supported)",
                   b == 0x66 ? "stream" : "future");
  case 0x64:
    return INVALID(p, off, "error-context is an async type (not supported)");
  case 0x63:
    return INVALID(p, off, "map types are a gated feature (not supported)");
  default:
    p->r->p = p->r->start + off;
    return malformed(p, "invalid leading byte (0x%x) for component defined type", b);
  }
  if (type_size(p, t, 0) > CB_MAX_TYPE_SIZE)
    return INVALID(p, off, "effective type size exceeds the limit of %d", CB_MAX_TYPE_SIZE);
  *out = t;
  return true;
}

/* ---- function types ---- */

static bool rd_functype(parser *p, scope *sc, size_t off, zh_wit_func **out) {
  zh_wit_func *f = wit_alloc(p->a, sizeof *f);
  if (!f)
    return oom(p);
  f->name = "";
  f->abi_name = "";
  uint32_t n;
  if (!rd_count(p, &n))
    return false;
  zh_wit_field *ps = n ? wit_alloc(p->a, n * sizeof *ps) : NULL;
  if (n && !ps)
    return oom(p);
  for (uint32_t i = 0; i < n; i++)
    if (!rd_label(p, &ps[i].name) || !rd_valtype(p, sc, &ps[i].type))
      return false;
  f->nparams = n;
  f->params = ps;
  if (!unique_labels(p, ps, n, off, "function parameter"))
    return false;
  uint8_t k;
  if (!rd_u8(p, &k))
    return false;
  if (k == 0x00) {
    if (!rd_valtype(p, sc, &f->result))
      return false;
  } else if (k == 0x01) {
    uint8_t z;
    if (!rd_u8(p, &z))
      return false;
    if (z != 0) {
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for number of results", z);
    }
  } else {
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for component function results", k);
  }
  if (f->result && cb_val_has_borrow(f->result, 0))
    return INVALID(p, off, "function result cannot contain a `borrow` type");
  *out = f;
  return true;
}

/* ---- names and extern descriptors ---- */

static bool rd_externname(parser *p, const char **out) {
  uint8_t k;
  if (!rd_u8(p, &k))
    return false;
  if (k == 0x00 || k == 0x01)
    return rd_name(p, out);
  if (k != 0x02) {
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for component name", k);
  }
  size_t off = zh_reader_offset(p->r);
  if (!rd_name(p, out))
    return false;
  uint32_t n;
  if (!rd_count(p, &n))
    return false;
  bool seen[3] = {false, false, false};
  for (uint32_t i = 0; i < n; i++) {
    uint8_t a;
    const char *v;
    if (!rd_u8(p, &a))
      return false;
    if (a != 0x00 && a != 0x02) {
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for name option", a);
    }
    if (!rd_name(p, &v))
      return false;
    if (seen[a])
      return INVALID(p, off, "duplicate '%s' option in name",
                     a == 0 ? "implements" : "external-id");
    seen[a] = true;
  }
  if (n)
    return INVALID(p, off,
                   "name attributes (implements, external-id) are a gated feature (not "
                   "supported)");
  return true;
}

static void collect_res(const zh_wit_type *t, pvec *out, parser *p, int depth);

static const cb_type *freshen(parser *p, const cb_type *t, const cb_reslist *res);

static bool rd_externdesc(parser *p, scope *sc, cb_ext *e) {
  uint8_t k;
  size_t off = zh_reader_offset(p->r);
  if (!rd_u8(p, &k))
    return false;
  memset(e, 0, sizeof *e);
  uint32_t idx;
  switch (k) {
  case 0x00: {
    uint8_t m;
    if (!rd_u8(p, &m))
      return false;
    if (m != 0x11) {
      p->r->p -= 2;
      return malformed(p, "invalid leading byte (0x%x) for component external kind", m);
    }
    if (!rd_u32(p, &idx))
      return false;
    const cb_coretype *t = get(p, sc, CB_CORE_TYPE, idx, off);
    if (!t)
      return false;
    if (!t->is_module)
      return INVALID(p, off, "core type index %u is not a module type", idx);
    e->sort = CB_CORE_MODULE;
    e->module = &t->mod;
    return true;
  }
  case 0x01:
  case 0x04:
  case 0x05: {
    if (!rd_u32(p, &idx))
      return false;
    const cb_type *t = get(p, sc, CB_TYPE, idx, off);
    if (!t)
      return false;
    cb_tkind want = k == 0x01 ? CB_T_FUNC : k == 0x04 ? CB_T_COMPONENT : CB_T_INSTANCE;
    if (t->kind != want)
      return INVALID(p, off, "type index %u is not a %s type", idx,
                     k == 0x01   ? "function"
                     : k == 0x04 ? "component"
                                 : "instance");
    e->sort = k == 0x01 ? CB_FUNC : k == 0x04 ? CB_COMPONENT : CB_INSTANCE;
    /* Each instance an import or export declares has resources of its own. */
    e->type = k == 0x05 ? freshen(p, t, &t->exported_res) : t;
    return e->type != NULL;
  }
  case 0x02:
    return INVALID(p, off, "value imports and exports are a gated feature (not supported)");
  case 0x03: {
    uint8_t b;
    if (!rd_u8(p, &b))
      return false;
    e->sort = CB_TYPE;
    if (b == 0x00) {
      if (!rd_u32(p, &idx))
        return false;
      const cb_type *t = get(p, sc, CB_TYPE, idx, off);
      if (!t)
        return false;
      e->type = t;
      return true;
    }
    if (b == 0x01) {
      zh_wit_type *r = new_val(p, ZH_WIT_RESOURCE);
      cb_type *t = wit_alloc(p->a, sizeof *t);
      if (!r || !t)
        return oom(p);
      t->kind = CB_T_RESOURCE;
      t->val = r;
      e->type = t;
      return push(p, &p->subres, r);
    }
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for type bound", b);
  }
  default:
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for component external kind", k);
  }
}

/* Resources reachable from a value type. */
static void collect_res(const zh_wit_type *t, pvec *out, parser *p, int depth) {
  t = zh_wit_type_unalias(t);
  if (!t || depth > CB_MAX_DEPTH)
    return;
  if (t->kind == ZH_WIT_RESOURCE) {
    if (!pvec_has(out, t))
      push(p, out, t);
    return;
  }
  if (t->elem)
    collect_res(t->elem, out, p, depth + 1);
  if (t->err)
    collect_res(t->err, out, p, depth + 1);
  for (size_t i = 0; i < t->nfields; i++)
    collect_res(t->fields[i].type, out, p, depth + 1);
}

static void collect_ext_res(const cb_ext *e, pvec *out, parser *p, int depth);

static void collect_type_res(const cb_type *t, pvec *out, parser *p, int depth) {
  if (!t || depth > CB_MAX_DEPTH)
    return;
  switch (t->kind) {
  case CB_T_VAL:
  case CB_T_RESOURCE:
    collect_res(t->val, out, p, depth + 1);
    break;
  case CB_T_FUNC:
    for (size_t i = 0; i < t->func->nparams; i++)
      collect_res(t->func->params[i].type, out, p, depth + 1);
    collect_res(t->func->result, out, p, depth + 1);
    break;
  case CB_T_COMPONENT:
  case CB_T_INSTANCE:
    for (size_t i = 0; i < t->nimports; i++)
      collect_ext_res(&t->imports[i].ext, out, p, depth + 1);
    for (size_t i = 0; i < t->nexports; i++)
      collect_ext_res(&t->exports[i].ext, out, p, depth + 1);
    break;
  }
}

static void collect_ext_res(const cb_ext *e, pvec *out, parser *p, int depth) {
  if (e->type)
    collect_type_res(e->type, out, p, depth);
  if (e->val)
    collect_res(e->val, out, p, depth);
}

/* Resources that an instance/component type itself introduces (its exported resource types
 * and, for component types, its imported ones) are not free in it. */
static bool intro_res(const cb_type *t, const zh_wit_type *r) {
  r = zh_wit_type_unalias(r);
  if (!t || (t->kind != CB_T_COMPONENT && t->kind != CB_T_INSTANCE))
    return false;
  for (size_t i = 0; i < t->exported_res.n; i++)
    if (t->exported_res.items[i] == r)
      return true;
  for (size_t i = 0; i < t->imported_res.n; i++)
    if (t->imported_res.items[i] == r)
      return true;
  return false;
}

/* ---- the item an extern descriptor or sortidx adds to an index space ---- */

static const void *ext_item(const cb_ext *e) {
  switch (e->sort) {
  case CB_CORE_MODULE:
    return e->module;
  case CB_VALUE:
    return e->val;
  default:
    return e->type;
  }
}

/* Fresh copies of the resources an instance type (or a component's exports) introduces, so
 * each import or instantiation gets its own identities. */
static const cb_type *freshen(parser *p, const cb_type *t, const cb_reslist *res) {
  if (!res->n)
    return t;
  cb_subst s = {0};
  pvec fresh_named = {0};
  for (size_t i = 0; i < res->n; i++) {
    zh_wit_type *r = new_val(p, ZH_WIT_RESOURCE);
    if (!r)
      return NULL;
    r->name = res->items[i]->name;
    if (!push(p, &fresh_named, r))
      return NULL;
    if (!cb_subst_add(p->a, &s, res->items[i], r)) {
      oom(p);
      return NULL;
    }
  }
  /* A name (an alias node) whose type mentions a fresh resource gets a copy that is a name
   * too: bound in the substitution, every use of the name reaches the one copy, which joins
   * the names, so the copies stay visible (an exported variant with an own<r> payload). */
  size_t nres = fresh_named.len;
  for (size_t i = 0; i < t->named.n; i++) {
    const zh_wit_type *al = t->named.items[i];
    if (al->kind != ZH_WIT_ALIAS)
      continue;
    const zh_wit_type *u = cb_subst_val(p->a, &s, al->elem, 0);
    if (u == al->elem)
      continue;
    zh_wit_type *copy = u ? new_val(p, ZH_WIT_ALIAS) : NULL;
    if (!copy)
      return NULL;
    *copy = *al;
    copy->elem = u;
    if (!cb_subst_add(p->a, &s, al, copy) || !push(p, &fresh_named, copy)) {
      oom(p);
      return NULL;
    }
  }
  const cb_type *st = cb_subst_type(p->a, &s, t, 0);
  cb_type *nt = st ? wit_alloc(p->a, sizeof *nt) : NULL;
  const zh_wit_type **named =
      nt ? wit_alloc(p->a, (t->named.n + fresh_named.len + 1) * sizeof(const zh_wit_type *)) : NULL;
  if (!named) {
    oom(p);
    return NULL;
  }
  *nt = *st;
  if (t->named.n)
    memcpy(named, t->named.items, t->named.n * sizeof(const zh_wit_type *));
  for (size_t i = 0; i < fresh_named.len; i++)
    named[t->named.n + i] = fresh_named.items[i];
  nt->named.items = named;
  nt->named.n = t->named.n + fresh_named.len;
  const zh_wit_type **ex = wit_alloc(p->a, (nres + 1) * sizeof(const zh_wit_type *));
  if (!ex) {
    oom(p);
    return NULL;
  }
  for (size_t i = 0; i < nres; i++)
    ex[i] = fresh_named.items[i];
  nt->exported_res.items = ex;
  nt->exported_res.n = nres;
  return nt;
}

/* Validates a name against its scope and adds it; `import` chooses the list. */
static bool add_name(parser *p, scope *sc, const char *name, const cb_ext *e, bool import,
                     size_t off) {
  cb_name_info info;
  const char *why = cb_name_check(name, import, &info);
  if (why)
    return INVALID(p, off, "`%s` %s", name, why);
  pvec *v = import ? &sc->imports : &sc->exports;
  for (size_t i = 0; i < v->len; i++) {
    const cb_named *o = v->items[i];
    if (cb_names_conflict(name, o->name))
      return INVALID(p, off, "%s name `%s` conflicts with previous name `%s`",
                     import ? "import" : "export", name, o->name);
  }
  if (info.kind == CB_NAME_CONSTRUCTOR || info.kind == CB_NAME_METHOD ||
      info.kind == CB_NAME_STATIC) {
    if (e->sort != CB_FUNC)
      return INVALID(p, off, "`%s` is an annotated name but not a function", name);
    const cb_type *rt = NULL;
    for (size_t i = 0; i < v->len; i++) {
      const cb_named *o = v->items[i];
      if (!strcmp(o->name, info.resource) && o->ext.sort == CB_TYPE && o->ext.type &&
          o->ext.type->kind == CB_T_RESOURCE)
        rt = o->ext.type;
    }
    if (!rt)
      return INVALID(p, off, "resource `%s` of `%s` is not a preceding resource %s", info.resource,
                     name, import ? "import" : "export");
    const zh_wit_func *f = e->type->func;
    if (info.kind == CB_NAME_CONSTRUCTOR) {
      const zh_wit_type *res = zh_wit_type_unalias(f->result);
      const zh_wit_type *want = zh_wit_type_unalias(rt->val);
      bool ok = res && res->kind == ZH_WIT_OWN && zh_wit_type_unalias(res->elem) == want;
      if (res && res->kind == ZH_WIT_RESULT && res->elem) {
        const zh_wit_type *ok_t = zh_wit_type_unalias(res->elem);
        ok = ok_t->kind == ZH_WIT_OWN && zh_wit_type_unalias(ok_t->elem) == want;
      }
      if (!ok)
        return INVALID(p, off, "function `%s` should return `(own $T)`", name);
    } else if (info.kind == CB_NAME_METHOD) {
      const zh_wit_type *self = f->nparams ? zh_wit_type_unalias(f->params[0].type) : NULL;
      if (!self || strcmp(f->params[0].name, "self") != 0 || self->kind != ZH_WIT_BORROW ||
          self->elem != rt->val)
        return INVALID(p, off, "function `%s` should have a first parameter `self: borrow<%s>`",
                       name, info.resource);
    }
    for (size_t i = 0; i < v->len; i++) {
      const cb_named *o = v->items[i];
      cb_name_info oi;
      cb_name_check(o->name, import, &oi);
      if ((oi.kind == CB_NAME_METHOD || oi.kind == CB_NAME_STATIC) &&
          (info.kind == CB_NAME_METHOD || info.kind == CB_NAME_STATIC) &&
          !strcmp(oi.resource, info.resource) && !strcmp(oi.func, info.func))
        return INVALID(p, off, "name `%s` conflicts with previous name `%s`", name, o->name);
    }
  }
  cb_named *n = wit_alloc(p->a, sizeof *n);
  if (!n)
    return oom(p);
  n->name = name;
  n->ext = *e;
  return push(p, v, n);
}

/* External visibility (Explainer.md, "External visibility of types"): the type of an import
 * or export may mention a record, variant, enum, flags or resource type only through a name
 * that an import or export gave it. Such names are alias nodes (ZH_WIT_ALIAS) and resources
 * declared `(sub resource)`, kept per scope; an instance or component type brings its own. */
typedef struct name_chain {
  const void *const *items;
  size_t n;
  const struct name_chain *next;
} name_chain;

static bool chain_has(const name_chain *c, const void *t) {
  for (; c; c = c->next)
    for (size_t i = 0; i < c->n; i++)
      if (c->items[i] == t)
        return true;
  return false;
}

static bool named_ok(const name_chain *c, const zh_wit_type *t, int depth);

static bool named_children_ok(const name_chain *c, const zh_wit_type *t, int depth) {
  if (depth > CB_MAX_DEPTH)
    return true;
  if (t->elem && !named_ok(c, t->elem, depth + 1))
    return false;
  if (t->err && !named_ok(c, t->err, depth + 1))
    return false;
  for (size_t i = 0; i < t->nfields; i++)
    if (t->fields[i].type && !named_ok(c, t->fields[i].type, depth + 1))
      return false;
  return true;
}

static bool named_ok(const name_chain *c, const zh_wit_type *t, int depth) {
  if (!t || depth > CB_MAX_DEPTH)
    return true;
  if (chain_has(c, t))
    return true;
  if (t->kind == ZH_WIT_ALIAS)
    return named_ok(c, t->elem, depth + 1);
  switch (t->kind) {
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_FLAGS:
  case ZH_WIT_RESOURCE:
    return false;
  default:
    return named_children_ok(c, t, depth);
  }
}

static bool ext_named_ok(const name_chain *c, const cb_ext *e, int depth) {
  if (depth > CB_MAX_DEPTH)
    return true;
  if (e->sort == CB_VALUE)
    return named_ok(c, e->val, depth);
  const cb_type *t = e->type;
  if (!t)
    return true;
  switch (t->kind) {
  case CB_T_VAL:
  case CB_T_RESOURCE: {
    /* The type being named: its own definition is fine, what it mentions must be named. */
    const zh_wit_type *v = zh_wit_type_unalias(t->val);
    return !v || v->kind == ZH_WIT_RESOURCE || named_children_ok(c, v, depth);
  }
  case CB_T_FUNC:
    for (size_t i = 0; i < t->func->nparams; i++)
      if (!named_ok(c, t->func->params[i].type, depth + 1))
        return false;
    return named_ok(c, t->func->result, depth + 1);
  case CB_T_COMPONENT:
  case CB_T_INSTANCE: {
    name_chain inner = {(const void *const *)t->named.items, t->named.n, c};
    for (size_t i = 0; i < t->nimports; i++)
      if (!ext_named_ok(&inner, &t->imports[i].ext, depth + 1))
        return false;
    for (size_t i = 0; i < t->nexports; i++)
      if (!ext_named_ok(&inner, &t->exports[i].ext, depth + 1))
        return false;
    return true;
  }
  }
  return true;
}

/* A name for a type: an alias node that uses through the new index go through. */
static cb_type *name_type(parser *p, const cb_type *t, const char *name, pvec *named) {
  zh_wit_type *al = new_val(p, ZH_WIT_ALIAS);
  cb_type *nt = wit_alloc(p->a, sizeof *nt);
  if (!al || !nt) {
    oom(p);
    return NULL;
  }
  al->elem = t->val;
  al->name = name;
  *nt = *t;
  nt->val = al;
  return push(p, named, al) ? nt : NULL;
}

/* An imported or exported instance names the types it exports. */
static const cb_type *name_instance(parser *p, const cb_type *t, pvec *named, int depth) {
  cb_type *nt = wit_alloc(p->a, sizeof *nt);
  cb_named *ex = wit_alloc(p->a, (t->nexports + 1) * sizeof *ex);
  if (!nt || !ex) {
    oom(p);
    return NULL;
  }
  *nt = *t;
  /* The names the instance type gave inside (a variant's payload records, say) are exports
   * of the instance too: types that mention them stay nameable from outside. */
  for (size_t i = 0; i < t->named.n; i++)
    if (!push(p, named, t->named.items[i]))
      return NULL;
  for (size_t i = 0; i < t->nexports; i++) {
    ex[i] = t->exports[i];
    if (ex[i].ext.sort == CB_TYPE && ex[i].ext.type &&
        (ex[i].ext.type->kind == CB_T_VAL || ex[i].ext.type->kind == CB_T_RESOURCE)) {
      const cb_type *n = name_type(p, ex[i].ext.type, ex[i].name, named);
      if (!n)
        return NULL;
      ex[i].ext.type = n;
    }
    if (ex[i].ext.sort == CB_INSTANCE && ex[i].ext.type && depth < CB_MAX_DEPTH) {
      const cb_type *n = name_instance(p, ex[i].ext.type, named, depth + 1);
      if (!n)
        return NULL;
      ex[i].ext.type = n;
    }
    const zh_wit_type *v = ex[i].ext.type && ex[i].ext.sort == CB_TYPE
                               ? zh_wit_type_unalias(ex[i].ext.type->val)
                               : NULL;
    if (v && v->kind == ZH_WIT_RESOURCE && !push(p, named, v))
      return NULL;
  }
  nt->exports = ex;
  return nt;
}

/* Import or export declaration in any scope: adds to names, index spaces, resources. */
static bool declare(parser *p, scope *sc, const char *name, cb_ext *e, bool import, size_t off) {
  name_chain imp = {sc->named_imp.items, sc->named_imp.len, NULL};
  name_chain exp = {sc->named_exp.items, sc->named_exp.len, &imp};
  /* Instance types check visibility when they are used, component types at once. */
  if (sc->kind != SC_INSTANCE_TYPE && !ext_named_ok(import ? &imp : &exp, e, 0))
    return INVALID(p, off,
                   "%s not valid to be used as %s (`%s` mentions a type that has no "
                   "imported or exported name)",
                   e->sort == CB_FUNC       ? "func"
                   : e->sort == CB_TYPE     ? "type"
                   : e->sort == CB_INSTANCE ? "instance"
                                            : cb_sort_name(e->sort),
                   import ? "import" : "export", name);
  pvec *named = import ? &sc->named_imp : &sc->named_exp;
  if (e->sort == CB_TYPE && e->type &&
      (e->type->kind == CB_T_RESOURCE || e->type->kind == CB_T_VAL)) {
    zh_wit_type *r = (zh_wit_type *)zh_wit_type_unalias(e->type->val);
    if (e->type->kind == CB_T_RESOURCE) {
      bool fresh = !pvec_has(&sc->visible_res, r) &&
                   (pvec_has(&p->subres, r) || pvec_has(&sc->defined_res, r));
      if (!r->name)
        r->name = name;
      if (fresh && !push(p, import ? &sc->imported_res : &sc->exported_res, r))
        return false;
      if (fresh && e->type->val == r && !pvec_has(&sc->defined_res, r) && !push(p, named, r))
        return false; /* a `(sub resource)` declaration names its resource */
    }
    cb_type *nt = name_type(p, e->type, name, named);
    if (!nt)
      return false;
    e->type = nt;
  } else if (e->sort == CB_INSTANCE && e->type) {
    for (size_t i = 0; i < e->type->exported_res.n; i++) {
      const zh_wit_type *r = e->type->exported_res.items[i];
      if (!pvec_has(&sc->visible_res, r) &&
          !push(p, import ? &sc->imported_res : &sc->exported_res, r))
        return false;
    }
    const cb_type *nt = name_instance(p, e->type, named, 0);
    if (!nt)
      return false;
    e->type = nt;
  }
  if (!add_name(p, sc, name, e, import, off))
    return false;
  pvec res = {0};
  collect_ext_res(e, &res, p, 0);
  for (size_t i = 0; i < res.len; i++)
    if (!pvec_has(&sc->visible_res, res.items[i]) && !push(p, &sc->visible_res, res.items[i]))
      return false;
  return true;
}

/* ---- component and instance types ---- */

static bool rd_type(parser *p, scope *sc, const cb_type **out);
static bool rd_alias(parser *p, scope *sc, cb_def *def);

static bool scope_to_type(parser *p, scope *sc, cb_type *t) {
  t->nimports = sc->imports.len;
  t->nexports = sc->exports.len;
  t->imports = wit_alloc(p->a, (t->nimports + 1) * sizeof *t->imports);
  t->exports = wit_alloc(p->a, (t->nexports + 1) * sizeof *t->exports);
  t->imported_res.items = wit_alloc(p->a, (sc->imported_res.len + 1) * sizeof(void *));
  t->exported_res.items = wit_alloc(p->a, (sc->exported_res.len + 1) * sizeof(void *));
  if (!t->imports || !t->exports || !t->imported_res.items || !t->exported_res.items)
    return oom(p);
  for (size_t i = 0; i < t->nimports; i++)
    t->imports[i] = *(const cb_named *)sc->imports.items[i];
  for (size_t i = 0; i < t->nexports; i++)
    t->exports[i] = *(const cb_named *)sc->exports.items[i];
  t->imported_res.n = sc->imported_res.len;
  for (size_t i = 0; i < sc->imported_res.len; i++)
    t->imported_res.items[i] = sc->imported_res.items[i];
  t->exported_res.n = sc->exported_res.len;
  for (size_t i = 0; i < sc->exported_res.len; i++)
    t->exported_res.items[i] = sc->exported_res.items[i];
  size_t nn = sc->named_imp.len + sc->named_exp.len;
  t->named.items = wit_alloc(p->a, (nn + 1) * sizeof(void *));
  if (!t->named.items)
    return oom(p);
  for (size_t i = 0; i < sc->named_imp.len; i++)
    t->named.items[i] = sc->named_imp.items[i];
  for (size_t i = 0; i < sc->named_exp.len; i++)
    t->named.items[sc->named_imp.len + i] = sc->named_exp.items[i];
  t->named.n = nn;
  return true;
}

static bool rd_decls(parser *p, scope *outer, bool component, cb_type *t) {
  if (outer->depth >= CB_MAX_DEPTH)
    return malformed(p, "component or instance types nested deeper than %d", CB_MAX_DEPTH);
  scope sc = {.parent = outer,
              .kind = component ? SC_COMPONENT_TYPE : SC_INSTANCE_TYPE,
              .depth = outer->depth + 1};
  uint32_t n;
  if (!rd_count(p, &n))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t k;
    size_t off = zh_reader_offset(p->r);
    if (!rd_u8(p, &k))
      return false;
    switch (k) {
    case 0x00: {
      cb_coretype *ct;
      if (!rd_core_type(p, &sc, &sc.space[CB_CORE_TYPE], false, &ct) ||
          !push(p, &sc.space[CB_CORE_TYPE], ct))
        return false;
      break;
    }
    case 0x01: {
      const cb_type *ty;
      if (!rd_type(p, &sc, &ty))
        return false;
      if (ty->kind == CB_T_RESOURCE)
        return INVALID(p, off, "resources can only be defined within a concrete component");
      if (!push(p, &sc.space[CB_TYPE], ty))
        return false;
      break;
    }
    case 0x02: {
      cb_def d = {0};
      if (!rd_alias(p, &sc, &d))
        return false;
      break;
    }
    case 0x03:
    case 0x04: {
      if (k == 0x03 && !component) {
        p->r->p--;
        return malformed(p,
                         "invalid leading byte (0x3) for component or instance type declaration");
      }
      const char *name;
      cb_ext e;
      if (!rd_externname(p, &name) || !rd_externdesc(p, &sc, &e))
        return false;
      if (!declare(p, &sc, name, &e, k == 0x03, off) || !push(p, &sc.space[e.sort], ext_item(&e)))
        return false;
      break;
    }
    default:
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for component or instance type declaration",
                       k);
    }
  }
  t->kind = component ? CB_T_COMPONENT : CB_T_INSTANCE;
  return scope_to_type(p, &sc, t);
}

static bool rd_type(parser *p, scope *sc, const cb_type **out) {
  uint8_t b;
  size_t off = zh_reader_offset(p->r);
  if (!rd_u8(p, &b))
    return false;
  cb_type *t = wit_alloc(p->a, sizeof *t);
  if (!t)
    return oom(p);
  *out = t;
  switch (b) {
  case 0x40: {
    zh_wit_func *f = NULL;
    t->kind = CB_T_FUNC;
    if (!rd_functype(p, sc, off, &f))
      return false;
    t->func = f;
    return true;
  }
  case 0x43:
    return INVALID(p, off, "async function types are an async feature (not supported)");
  case 0x41:
  case 0x42:
    return rd_decls(p, sc, b == 0x41, t);
  case 0x3f: {
    uint8_t rep;
    if (!rd_u8(p, &rep))
      return false;
    if (rep != 0x7f) {
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for resource representation", rep);
    }
    if (sc->kind != SC_COMPONENT)
      return INVALID(p, off, "resources can only be defined within a concrete component");
    uint8_t has;
    if (!rd_u8(p, &has))
      return false;
    if (has > 1) {
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for optional destructor", has);
    }
    zh_wit_type *r = new_val(p, ZH_WIT_RESOURCE);
    if (!r)
      return false;
    t->kind = CB_T_RESOURCE;
    t->val = r;
    cb_def d = {.kind = CB_DEF_TYPE, .type = t};
    if (has) {
      uint32_t f;
      size_t foff = zh_reader_offset(p->r);
      if (!rd_u32(p, &f))
        return false;
      const cb_coreext *fe = get(p, sc, CB_CORE_FUNC, f, foff);
      if (!fe)
        return false;
      if (fe->func->nparams != 1 || fe->func->params[0] != ZH_I32 || fe->func->nresults != 0)
        return INVALID(p, foff, "wrong signature for a destructor: expected (func (param i32))");
      d.index = f + 1;
    }
    return add_def(p, sc, &d) && push(p, &sc->defined_res, r);
  }
  case 0x3e:
    return INVALID(p, off, "async resource destructors are an async feature (not supported)");
  default: {
    const zh_wit_type *v = NULL;
    if (!rd_defvaltype(p, sc, b, off, &v))
      return false;
    t->kind = CB_T_VAL;
    t->val = v;
    return true;
  }
  }
}

/* ---- aliases ---- */

static bool rd_sort(parser *p, cb_sort *out) {
  uint8_t b;
  if (!rd_u8(p, &b))
    return false;
  if (b == 0x00) {
    uint8_t c;
    if (!rd_u8(p, &c))
      return false;
    switch (c) {
    case 0x00:
      *out = CB_CORE_FUNC;
      return true;
    case 0x01:
      *out = CB_CORE_TABLE;
      return true;
    case 0x02:
      *out = CB_CORE_MEMORY;
      return true;
    case 0x03:
      *out = CB_CORE_GLOBAL;
      return true;
    case 0x04:
      return INVALID(p, zh_reader_offset(p->r) - 1,
                     "core tags are a gated feature (exceptions, not supported)");
    case 0x10:
      *out = CB_CORE_TYPE;
      return true;
    case 0x11:
      *out = CB_CORE_MODULE;
      return true;
    case 0x12:
      *out = CB_CORE_INSTANCE;
      return true;
    default:
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for core sort", c);
    }
  }
  if (b >= 0x01 && b <= 0x05) {
    static const cb_sort s[] = {CB_FUNC, CB_VALUE, CB_TYPE, CB_COMPONENT, CB_INSTANCE};
    *out = s[b - 1];
    if (*out == CB_VALUE)
      return INVALID(p, zh_reader_offset(p->r) - 1,
                     "values are a gated feature (value imports, not supported)");
    return true;
  }
  p->r->p--;
  return malformed(p, "invalid leading byte (0x%x) for component sort", b);
}

static bool core_sort_ok(cb_sort s) { return s <= CB_CORE_GLOBAL; }

static bool rd_alias(parser *p, scope *sc, cb_def *d) {
  size_t off = zh_reader_offset(p->r);
  cb_sort s = CB_CORE_FUNC;
  uint8_t tgt;
  if (!rd_sort(p, &s) || !rd_u8(p, &tgt))
    return false;
  d->sort = s;
  switch (tgt) {
  case 0x00: { /* export of a component instance */
    uint32_t i;
    const char *name;
    if (!rd_u32(p, &i) || !rd_name(p, &name))
      return false;
    if (s <= CB_CORE_INSTANCE && s != CB_CORE_MODULE)
      return INVALID(p, off, "cannot alias a %s from a component instance", cb_sort_name(s));
    const cb_type *it = get(p, sc, CB_INSTANCE, i, off);
    if (!it)
      return false;
    const cb_named *x = NULL;
    for (size_t j = 0; j < it->nexports; j++)
      if (!strcmp(it->exports[j].name, name))
        x = &it->exports[j];
    if (!x)
      return INVALID(p, off, "instance %u has no export named `%s`", i, name);
    if (x->ext.sort != s)
      return INVALID(p, off, "export `%s` of instance %u is a %s, not a %s", name, i,
                     cb_sort_name(x->ext.sort), cb_sort_name(s));
    if (sc->kind != SC_COMPONENT && s != CB_TYPE && s != CB_INSTANCE)
      return INVALID(p, off, "only type and instance aliases are allowed in type declarations");
    d->kind = CB_DEF_ALIAS_EXPORT;
    d->index = i;
    d->name = name;
    d->type = x->ext.type;
    if (s == CB_TYPE && x->ext.type && x->ext.type->kind == CB_T_RESOURCE &&
        !pvec_has(&sc->visible_res, zh_wit_type_unalias(x->ext.type->val)) &&
        !push(p, &sc->visible_res, zh_wit_type_unalias(x->ext.type->val)))
      return false;
    return push(p, &sc->space[s], ext_item(&x->ext)) && add_def(p, sc, d);
  }
  case 0x01: { /* export of a core instance */
    uint32_t i;
    const char *name;
    if (!rd_u32(p, &i) || !rd_name(p, &name))
      return false;
    if (!core_sort_ok(s))
      return INVALID(p, off, "cannot alias a %s from a core instance", cb_sort_name(s));
    if (sc->kind != SC_COMPONENT)
      return INVALID(p, off, "core export aliases are not allowed in type declarations");
    const cb_coremod *ci = get(p, sc, CB_CORE_INSTANCE, i, off);
    if (!ci)
      return false;
    const cb_corenamed *x = NULL;
    for (size_t j = 0; j < ci->nexports; j++)
      if (!strcmp(ci->exports[j].name, name))
        x = &ci->exports[j];
    if (!x)
      return INVALID(p, off, "core instance %u has no export named `%s`", i, name);
    if ((cb_sort)x->ext.kind != s)
      return INVALID(p, off, "export `%s` of core instance %u is not a %s", name, i,
                     cb_sort_name(s));
    d->kind = CB_DEF_ALIAS_CORE_EXPORT;
    d->index = i;
    d->name = name;
    return push(p, &sc->space[s], &x->ext) && add_def(p, sc, d);
  }
  case 0x02: { /* outer */
    uint32_t ct, idx;
    if (!rd_u32(p, &ct) || !rd_u32(p, &idx))
      return false;
    if (s != CB_TYPE && s != CB_CORE_TYPE && s != CB_CORE_MODULE && s != CB_COMPONENT)
      return INVALID(p, off,
                     "outer aliases of a %s are not allowed (only types, modules and "
                     "components)",
                     cb_sort_name(s));
    scope *o = sc;
    for (uint32_t j = 0; j < ct && o; j++)
      o = o->parent;
    if (!o)
      return INVALID(p, off, "invalid outer alias count of %u", ct);
    if (idx >= o->space[s].len)
      return INVALID(p, off, "%s index %u out of bounds in the outer scope", cb_sort_name(s), idx);
    const void *item = o->space[s].items[idx];
    bool crosses_component = false;
    for (scope *q = sc; q != o; q = q->parent)
      crosses_component |= q->kind == SC_COMPONENT;
    if (s == CB_TYPE && crosses_component) {
      /* Resources are generative: a nested component cannot name its parent's. */
      const cb_type *t = item;
      pvec res = {0};
      collect_type_res(t, &res, p, 0);
      for (size_t j = 0; j < res.len; j++)
        if (!intro_res(t, res.items[j]))
          return INVALID(p, off,
                         "refers to resources not defined in the current component "
                         "(outer aliases of resource types are not allowed)");
    }
    if ((s == CB_CORE_MODULE || s == CB_COMPONENT) && ct > 0) {
      /* Only through component boundaries, which the runtime can follow. */
      for (scope *q = sc; q != o; q = q->parent)
        if (q->kind != SC_COMPONENT)
          return INVALID(p, off, "outer alias of a %s out of a type declaration", cb_sort_name(s));
    }
    d->kind = CB_DEF_ALIAS_OUTER;
    d->count = ct;
    d->index = idx;
    return push(p, &sc->space[s], item) && add_def(p, sc, d);
  }
  default:
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for alias target", tgt);
  }
}

/* ---- canonical definitions ---- */

static bool rd_opts(parser *p, scope *sc, cb_opts *o, bool lift) {
  uint32_t n;
  if (!rd_count(p, &n))
    return false;
  bool has_enc = false;
  memset(o, 0, sizeof *o);
  for (uint32_t i = 0; i < n; i++) {
    uint8_t k;
    size_t off = zh_reader_offset(p->r);
    if (!rd_u8(p, &k))
      return false;
    switch (k) {
    case 0x00:
    case 0x01:
    case 0x02:
      if (has_enc)
        return INVALID(p, off, "canonical encoding option `%s` conflicts with another encoding",
                       k == 0   ? "utf8"
                       : k == 1 ? "utf16"
                                : "latin1-utf16");
      has_enc = true;
      o->enc = (cb_strenc)k;
      break;
    case 0x03: {
      if (o->has_memory)
        return INVALID(p, off, "`memory` is specified more than once");
      if (!rd_u32(p, &o->memory) || !get(p, sc, CB_CORE_MEMORY, o->memory, off))
        return false;
      o->has_memory = true;
      break;
    }
    case 0x04:
    case 0x05: {
      uint32_t f;
      if ((k == 4 && o->has_realloc) || (k == 5 && o->has_post_return))
        return INVALID(p, off, "canonical option `%s` is specified more than once",
                       k == 4 ? "realloc" : "post-return");
      if (!rd_u32(p, &f))
        return false;
      const cb_coreext *fe = get(p, sc, CB_CORE_FUNC, f, off);
      if (!fe)
        return false;
      if (k == 4) {
        static const zh_valtype want[4] = {ZH_I32, ZH_I32, ZH_I32, ZH_I32};
        if (fe->func->nparams != 4 || memcmp(fe->func->params, want, sizeof want) != 0 ||
            fe->func->nresults != 1 || fe->func->results[0] != ZH_I32)
          return INVALID(p, off,
                         "canonical option `realloc` uses a core function with an "
                         "incorrect signature");
        o->has_realloc = true;
        o->realloc = f;
      } else {
        if (!lift)
          return INVALID(p, off, "canonical option `post-return` cannot be used with lower");
        o->has_post_return = true;
        o->post_return = f;
      }
      break;
    }
    case 0x06:
    case 0x07:
      return INVALID(p, off, "canonical option `%s` is an async feature (not supported)",
                     k == 6 ? "async" : "callback");
    case 0x08:
    case 0x09:
      return INVALID(p, off, "canonical option `%s` is a gated feature (gc, not supported)",
                     k == 8 ? "core-type" : "gc");
    default:
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for canonical option", k);
    }
  }
  return true;
}

/* What the canonical ABI needs for a function: memory (strings, lists, or anything passed
 * through memory) and realloc (when the other side allocates). */
static bool needs_mem(const zh_wit_type *t, int depth) {
  t = zh_wit_type_unalias(t);
  if (!t || depth > CB_MAX_DEPTH)
    return false;
  switch (t->kind) {
  case ZH_WIT_STRING:
  case ZH_WIT_LIST:
    return true;
  case ZH_WIT_OPTION:
    return needs_mem(t->elem, depth + 1);
  case ZH_WIT_RESULT:
    return needs_mem(t->elem, depth + 1) || needs_mem(t->err, depth + 1);
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
    for (size_t i = 0; i < t->nfields; i++)
      if (needs_mem(t->fields[i].type, depth + 1))
        return true;
    return false;
  default:
    return false;
  }
}

static bool sig_eq(const zh_valtype *a, size_t na, const zh_valtype *b, size_t nb) {
  if (na != nb)
    return false;
  for (size_t i = 0; i < na; i++)
    if (a[i] != b[i])
      return false;
  return true;
}

static const char *core_sig_text(parser *p, const zh_valtype *ps, size_t np, const zh_valtype *rs,
                                 size_t nr) {
  char buf[256];
  size_t len = 0;
  len += (size_t)snprintf(buf + len, sizeof buf - len, "[");
  for (size_t i = 0; i < np && len < sizeof buf - 16; i++)
    len +=
        (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "", zh_valtype_name(ps[i]));
  len += (size_t)snprintf(buf + len, sizeof buf - len, "] -> [");
  for (size_t i = 0; i < nr && len < sizeof buf - 16; i++)
    len +=
        (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "", zh_valtype_name(rs[i]));
  snprintf(buf + len, sizeof buf - len, "]");
  const char *s = wit_strdup(p->a, buf);
  return s ? s : "?";
}

static cb_coreext *new_corefunc(parser *p, const zh_valtype *ps, size_t np, const zh_valtype *rs,
                                size_t nr) {
  cb_coreext *e = wit_alloc(p->a, sizeof *e);
  cb_corefunc *f = wit_alloc(p->a, sizeof *f);
  zh_valtype *v = wit_alloc(p->a, (np + nr + 1) * sizeof *v);
  if (!e || !f || !v) {
    oom(p);
    return NULL;
  }
  memcpy(v, ps, np * sizeof *v);
  memcpy(v + np, rs, nr * sizeof *v);
  f->nparams = (uint32_t)np;
  f->params = v;
  f->nresults = (uint32_t)nr;
  f->results = v + np;
  e->kind = ZH_EXTERN_FUNC;
  e->func = f;
  return e;
}

static bool rd_canon(parser *p, scope *sc) {
  uint8_t k;
  size_t off = zh_reader_offset(p->r);
  if (!rd_u8(p, &k))
    return false;
  cb_def d = {.kind = CB_DEF_CANON};
  switch (k) {
  case 0x00: { /* lift */
    uint8_t s;
    uint32_t f, ti;
    if (!rd_u8(p, &s))
      return false;
    if (s != 0x00) {
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for canonical function lift", s);
    }
    if (!rd_u32(p, &f) || !rd_opts(p, sc, &d.opts, true) || !rd_u32(p, &ti))
      return false;
    const cb_coreext *fe = get(p, sc, CB_CORE_FUNC, f, off);
    const cb_type *ft = fe ? get(p, sc, CB_TYPE, ti, off) : NULL;
    if (!ft)
      return false;
    if (ft->kind != CB_T_FUNC)
      return INVALID(p, off, "type index %u is not a function type", ti);
    zh_abi_sig sig;
    zh_abi_signature(ft->func, false, &sig);
    if (!sig_eq(sig.params, sig.nparams, fe->func->params, fe->func->nparams) ||
        !sig_eq(sig.results, sig.nresults, fe->func->results, fe->func->nresults))
      return INVALID(p, off,
                     "lowered type mismatch: core function %u has type %s, the lifted "
                     "type needs %s",
                     f,
                     core_sig_text(p, fe->func->params, fe->func->nparams, fe->func->results,
                                   fe->func->nresults),
                     core_sig_text(p, sig.params, sig.nparams, sig.results, sig.nresults));
    bool mem = sig.params_indirect || sig.results_indirect;
    bool realloc = sig.params_indirect;
    for (size_t i = 0; i < ft->func->nparams; i++)
      if (needs_mem(ft->func->params[i].type, 0))
        mem = realloc = true;
    if (needs_mem(ft->func->result, 0))
      mem = true;
    if (mem && !d.opts.has_memory)
      return INVALID(p, off, "canonical option `memory` is required");
    if (realloc && !d.opts.has_realloc)
      return INVALID(p, off, "canonical option `realloc` is required");
    if (d.opts.has_post_return) {
      const cb_coreext *pr = get(p, sc, CB_CORE_FUNC, d.opts.post_return, off);
      if (!pr)
        return false;
      if (!sig_eq(pr->func->params, pr->func->nparams, sig.results, sig.nresults) ||
          pr->func->nresults != 0)
        return INVALID(p, off,
                       "canonical option `post-return` uses a core function with an "
                       "incorrect signature");
    }
    d.canon = CB_CANON_LIFT;
    d.index = f;
    d.type = ft;
    if (!add_def(p, sc, &d))
      return false;
    return push(p, &sc->space[CB_FUNC], ft);
  }
  case 0x01: { /* lower */
    uint8_t s;
    uint32_t f;
    if (!rd_u8(p, &s))
      return false;
    if (s != 0x00) {
      p->r->p--;
      return malformed(p, "invalid leading byte (0x%x) for canonical function lower", s);
    }
    if (!rd_u32(p, &f) || !rd_opts(p, sc, &d.opts, false))
      return false;
    const cb_type *ft = get(p, sc, CB_FUNC, f, off);
    if (!ft)
      return false;
    zh_abi_sig sig;
    zh_abi_signature(ft->func, true, &sig);
    bool mem = sig.params_indirect || sig.results_indirect;
    bool realloc = false;
    for (size_t i = 0; i < ft->func->nparams; i++)
      if (needs_mem(ft->func->params[i].type, 0))
        mem = true;
    if (needs_mem(ft->func->result, 0))
      mem = realloc = true;
    if (mem && !d.opts.has_memory)
      return INVALID(p, off, "canonical option `memory` is required");
    if (realloc && !d.opts.has_realloc)
      return INVALID(p, off, "canonical option `realloc` is required");
    d.canon = CB_CANON_LOWER;
    d.index = f;
    d.type = ft;
    cb_coreext *e = new_corefunc(p, sig.params, sig.nparams, sig.results, sig.nresults);
    return e && add_def(p, sc, &d) && push(p, &sc->space[CB_CORE_FUNC], e);
  }
  case 0x02:
  case 0x03:
  case 0x04: {
    uint32_t ti;
    if (!rd_u32(p, &ti))
      return false;
    const cb_type *rt = get(p, sc, CB_TYPE, ti, off);
    if (!rt)
      return false;
    if (rt->kind != CB_T_RESOURCE)
      return INVALID(p, off, "type index %u is not a resource type", ti);
    if (k != 0x03 && !pvec_has(&sc->defined_res, zh_wit_type_unalias(rt->val)))
      return INVALID(p, off, "resource.%s requires a resource type defined in this component",
                     k == 0x02 ? "new" : "rep");
    static const zh_valtype i32[1] = {ZH_I32};
    cb_coreext *e = new_corefunc(p, i32, 1, i32, k == 0x03 ? 0 : 1);
    d.canon = k == 0x02   ? CB_CANON_RESOURCE_NEW
              : k == 0x03 ? CB_CANON_RESOURCE_DROP
                          : CB_CANON_RESOURCE_REP;
    d.index = ti;
    d.type = rt;
    return e && add_def(p, sc, &d) && push(p, &sc->space[CB_CORE_FUNC], e);
  }
  default: {
    static const char *const names[] = {
        [0x05] = "task.cancel",
        [0x06] = "subtask.cancel",
        [0x07] = "resource.drop async",
        [0x08] = "backpressure.set",
        [0x09] = "task.return",
        [0x0a] = "context.get",
        [0x0b] = "context.set",
        [0x0c] = "thread.yield",
        [0x0d] = "subtask.drop",
        [0x0e] = "stream.new",
        [0x0f] = "stream.read",
        [0x10] = "stream.write",
        [0x11] = "stream.cancel-read",
        [0x12] = "stream.cancel-write",
        [0x13] = "stream.drop-readable",
        [0x14] = "stream.drop-writable",
        [0x15] = "future.new",
        [0x16] = "future.read",
        [0x17] = "future.write",
        [0x18] = "future.cancel-read",
        [0x19] = "future.cancel-write",
        [0x1a] = "future.drop-readable",
        [0x1b] = "future.drop-writable",
        [0x1c] = "error-context.new",
        [0x1d] = "error-context.debug-message",
        [0x1e] = "error-context.drop",
        [0x1f] = "waitable-set.new",
        [0x20] = "waitable-set.wait",
        [0x21] = "waitable-set.poll",
        [0x22] = "waitable-set.drop",
        [0x23] = "waitable.join",
        [0x24] = "backpressure.inc",
        [0x25] = "backpressure.dec",
        [0x26] = "thread.index",
        [0x27] = "thread.new-indirect",
        [0x28] = "thread.resume-later",
        [0x29] = "thread.suspend",
        [0x2a] = "thread.suspend-then-resume",
        [0x2b] = "thread.yield-then-resume",
        [0x2c] = "thread.suspend-then-promote",
        [0x2d] = "thread.yield-then-promote",
    };
    if (k < sizeof names / sizeof names[0] && names[k]) {
      if (k == 0x07)
        return INVALID(p, off, "canon resource.drop async is an async built-in (not supported)");
      return INVALID(p, off, "canon %s is an %s built-in (not supported)", names[k],
                     k >= 0x26 || k == 0x0c ? "threading" : "async");
    }
    p->r->p--;
    return malformed(p, "unknown canon opcode 0x%02x (invalid leading byte for canonical function)",
                     k);
  }
  }
}

/* ---- instances ---- */

static bool rd_core_instance(parser *p, scope *sc) {
  uint8_t k;
  size_t off = zh_reader_offset(p->r);
  if (!rd_u8(p, &k))
    return false;
  cb_def d = {0};
  cb_coremod *it = wit_alloc(p->a, sizeof *it);
  if (!it)
    return oom(p);
  if (k == 0x00) {
    uint32_t m, n;
    if (!rd_u32(p, &m) || !rd_count(p, &n))
      return false;
    const cb_coremod *mt = get(p, sc, CB_CORE_MODULE, m, off);
    if (!mt)
      return false;
    cb_arg *args = n ? wit_alloc(p->a, n * sizeof *args) : NULL;
    if (n && !args)
      return oom(p);
    for (uint32_t i = 0; i < n; i++) {
      uint8_t s;
      size_t aoff = zh_reader_offset(p->r);
      if (!rd_name(p, &args[i].name) || !rd_u8(p, &s))
        return false;
      if (s != 0x12) {
        p->r->p--;
        return malformed(p, "invalid leading byte (0x%x) for core instantiation argument kind", s);
      }
      if (!rd_u32(p, &args[i].item.idx) || !get(p, sc, CB_CORE_INSTANCE, args[i].item.idx, aoff))
        return false;
      args[i].item.sort = CB_CORE_INSTANCE;
      for (uint32_t j = 0; j < i; j++)
        if (!strcmp(args[j].name, args[i].name))
          return INVALID(p, aoff, "duplicate module instantiation argument named `%s`",
                         args[i].name);
    }
    for (size_t i = 0; i < mt->nimports; i++) {
      const cb_corenamed *im = &mt->imports[i];
      const cb_arg *a = NULL;
      for (uint32_t j = 0; j < n; j++)
        if (!strcmp(args[j].name, im->module))
          a = &args[j];
      if (!a)
        return INVALID(p, off, "missing module instantiation argument named `%s`", im->module);
      const cb_coremod *ai = sc->space[CB_CORE_INSTANCE].items[a->item.idx];
      const cb_corenamed *x = NULL;
      for (size_t j = 0; j < ai->nexports; j++)
        if (!strcmp(ai->exports[j].name, im->name))
          x = &ai->exports[j];
      if (!x)
        return INVALID(p, off,
                       "module instantiation argument `%s` does not export an item "
                       "named `%s`",
                       im->module, im->name);
      if (!cb_coreext_sub(&x->ext, &im->ext))
        return INVALID(p, off,
                       "type mismatch for export `%s` of module instantiation argument "
                       "`%s`",
                       im->name, im->module);
    }
    it->nexports = mt->nexports;
    it->exports = mt->exports;
    d.kind = CB_DEF_CORE_INSTANTIATE;
    d.index = m;
    d.nargs = n;
    d.args = args;
  } else if (k == 0x01) {
    uint32_t n;
    if (!rd_count(p, &n))
      return false;
    cb_arg *args = n ? wit_alloc(p->a, n * sizeof *args) : NULL;
    it->exports = wit_alloc(p->a, (n + 1) * sizeof *it->exports);
    if ((n && !args) || !it->exports)
      return oom(p);
    for (uint32_t i = 0; i < n; i++) {
      size_t aoff = zh_reader_offset(p->r);
      uint8_t s;
      if (!rd_name(p, &args[i].name) || !rd_u8(p, &s))
        return false;
      if (s > 0x03) {
        if (s == 0x04)
          return INVALID(p, aoff, "core tags are a gated feature (exceptions, not supported)");
        p->r->p--;
        return malformed(p, "invalid leading byte (0x%x) for core export kind", s);
      }
      args[i].item.sort = (cb_sort)s;
      if (!rd_u32(p, &args[i].item.idx))
        return false;
      const cb_coreext *e = get(p, sc, (cb_sort)s, args[i].item.idx, aoff);
      if (!e)
        return false;
      for (uint32_t j = 0; j < i; j++)
        if (!strcmp(args[j].name, args[i].name))
          return INVALID(p, aoff, "export name `%s` already defined", args[i].name);
      it->exports[i].name = args[i].name;
      it->exports[i].ext = *e;
    }
    it->nexports = n;
    d.kind = CB_DEF_CORE_INLINE;
    d.nargs = n;
    d.args = args;
  } else {
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for core instance", k);
  }
  return add_def(p, sc, &d) && push(p, &sc->space[CB_CORE_INSTANCE], it);
}

static bool rd_sortidx(parser *p, scope *sc, cb_sortidx *si, const void **item, size_t off) {
  if (!rd_sort(p, &si->sort) || !rd_u32(p, &si->idx))
    return false;
  *item = get(p, sc, si->sort, si->idx, off);
  return *item != NULL;
}

/* The extern descriptor of an item of the index space. */
static bool item_ext(parser *p, cb_sort s, const void *item, cb_ext *e, size_t off) {
  memset(e, 0, sizeof *e);
  e->sort = s;
  switch (s) {
  case CB_CORE_MODULE:
    e->module = item;
    return true;
  case CB_FUNC:
  case CB_TYPE:
  case CB_COMPONENT:
  case CB_INSTANCE:
    e->type = item;
    return true;
  case CB_VALUE:
    e->val = item;
    return true;
  default:
    return INVALID(p, off, "a %s cannot be exported or passed to a component", cb_sort_name(s));
  }
}

static bool rd_instance(parser *p, scope *sc) {
  uint8_t k;
  size_t off = zh_reader_offset(p->r);
  if (!rd_u8(p, &k))
    return false;
  cb_def d = {0};
  cb_type *it = wit_alloc(p->a, sizeof *it);
  if (!it)
    return oom(p);
  it->kind = CB_T_INSTANCE;
  uint32_t n;
  if (k == 0x00) {
    uint32_t ci;
    if (!rd_u32(p, &ci) || !rd_count(p, &n))
      return false;
    const cb_type *ct = get(p, sc, CB_COMPONENT, ci, off);
    if (!ct)
      return false;
    cb_arg *args = n ? wit_alloc(p->a, n * sizeof *args) : NULL;
    cb_ext *exts = n ? wit_alloc(p->a, n * sizeof *exts) : NULL;
    if (n && (!args || !exts))
      return oom(p);
    for (uint32_t i = 0; i < n; i++) {
      const void *item;
      size_t aoff = zh_reader_offset(p->r);
      if (!rd_name(p, &args[i].name) || !rd_sortidx(p, sc, &args[i].item, &item, aoff) ||
          !item_ext(p, args[i].item.sort, item, &exts[i], aoff))
        return false;
      args[i].type = exts[i].type;
      for (uint32_t j = 0; j < i; j++)
        if (!strcmp(args[j].name, args[i].name))
          return INVALID(p, aoff,
                         "instantiation argument `%s` conflicts with previous argument "
                         "`%s`",
                         args[i].name, args[j].name);
    }
    /* Check each import; substitute the resources it introduces by the argument's. */
    cb_subst s = {0};
    for (size_t i = 0; i < ct->nimports; i++) {
      const cb_named *im = &ct->imports[i];
      const cb_ext *ae = NULL;
      for (uint32_t j = 0; j < n; j++)
        if (!strcmp(args[j].name, im->name))
          ae = &exts[j];
      if (!ae)
        return INVALID(p, off, "missing import named `%s`", im->name);
      cb_ext want = cb_subst_ext(p->a, &s, im->ext, 0);
      if (want.sort == CB_TYPE && want.type && want.type->kind == CB_T_RESOURCE &&
          ae->sort == CB_TYPE && ae->type && ae->type->kind == CB_T_RESOURCE &&
          zh_wit_type_unalias(want.type->val) != zh_wit_type_unalias(ae->type->val)) {
        /* An abstract (sub resource) import takes whatever resource is given. */
        bool abstract = false;
        for (size_t j = 0; j < ct->imported_res.n; j++)
          abstract |= ct->imported_res.items[j] == zh_wit_type_unalias(im->ext.type->val);
        for (size_t j = 0; j < s.n; j++) /* an `eq` of an earlier import */
          abstract &= s.from[j] != zh_wit_type_unalias(im->ext.type->val);
        if (abstract) {
          if (!cb_subst_add(p->a, &s, zh_wit_type_unalias(im->ext.type->val),
                            zh_wit_type_unalias(ae->type->val)))
            return oom(p);
          continue;
        }
      }
      /* A type imported with an `eq` bound stands for the argument's type from now on. */
      if (want.sort == CB_TYPE && ae->sort == CB_TYPE && want.type && ae->type &&
          want.type->kind == CB_T_VAL && ae->type->kind == CB_T_VAL &&
          im->ext.type->val->kind == ZH_WIT_ALIAS) {
        const char *why;
        if (!cb_ext_sub(p->a, ae, &want, &why, 0))
          return INVALID(p, off, "type mismatch for component instantiation argument `%s`: %s",
                         im->name, why ? why : "types differ");
        if (!cb_subst_add(p->a, &s, im->ext.type->val, ae->type->val))
          return oom(p);
        continue;
      }
      /* Imported instances bring their own resources: map them to the argument's. */
      if (want.sort == CB_INSTANCE && ae->sort == CB_INSTANCE && want.type && ae->type) {
        for (size_t j = 0; j < want.type->nexports; j++) {
          const cb_named *we = &want.type->exports[j];
          if (we->ext.sort != CB_TYPE || !we->ext.type || we->ext.type->kind != CB_T_RESOURCE)
            continue;
          for (size_t q = 0; q < ae->type->nexports; q++) {
            const cb_named *xe = &ae->type->exports[q];
            if (!strcmp(xe->name, we->name) && xe->ext.sort == CB_TYPE && xe->ext.type &&
                xe->ext.type->kind == CB_T_RESOURCE &&
                zh_wit_type_unalias(xe->ext.type->val) != zh_wit_type_unalias(we->ext.type->val) &&
                !cb_subst_add(p->a, &s, zh_wit_type_unalias(we->ext.type->val),
                              zh_wit_type_unalias(xe->ext.type->val)))
              return oom(p);
          }
        }
        want = cb_subst_ext(p->a, &s, im->ext, 0);
      }
      const char *why;
      if (!cb_ext_sub(p->a, ae, &want, &why, 0))
        return INVALID(p, off, "type mismatch for component instantiation argument `%s`: %s",
                       im->name, why ? why : "types differ");
    }
    /* The instance's exports, with fresh resources for the ones the component exports. */
    cb_type tmp = *ct;
    tmp.kind = CB_T_INSTANCE;
    tmp.nimports = 0;
    tmp.imports = NULL;
    tmp.imported_res.n = 0;
    const cb_type *sub = cb_subst_type(p->a, &s, &tmp, 0);
    const cb_type *fresh = freshen(p, sub, &ct->exported_res);
    if (!fresh)
      return false;
    *it = *fresh;
    it->exported_res.n = 0;
    d.kind = CB_DEF_INSTANTIATE;
    d.type = it;
    d.index = ci;
    d.nargs = n;
    d.args = args;
  } else if (k == 0x01) {
    if (!rd_count(p, &n))
      return false;
    cb_arg *args = n ? wit_alloc(p->a, n * sizeof *args) : NULL;
    it->exports = wit_alloc(p->a, (n + 1) * sizeof *it->exports);
    if ((n && !args) || !it->exports)
      return oom(p);
    scope names = {0};
    for (uint32_t i = 0; i < n; i++) {
      const void *item;
      cb_ext e;
      size_t aoff = zh_reader_offset(p->r);
      if (!rd_externname(p, &args[i].name) || !rd_sortidx(p, sc, &args[i].item, &item, aoff) ||
          !item_ext(p, args[i].item.sort, item, &e, aoff))
        return false;
      /* A resource function in a bag must name its resource through this scope's names. */
      cb_name_info ni;
      name_chain imp = {sc->named_imp.items, sc->named_imp.len, NULL};
      name_chain exp = {sc->named_exp.items, sc->named_exp.len, &imp};
      if (!cb_name_check(args[i].name, false, &ni) &&
          (ni.kind == CB_NAME_CONSTRUCTOR || ni.kind == CB_NAME_METHOD ||
           ni.kind == CB_NAME_STATIC) &&
          e.sort == CB_FUNC && !ext_named_ok(&exp, &e, 0))
        return INVALID(p, aoff,
                       "`%s`: resource used in function does not have a name in this "
                       "context",
                       args[i].name);
      if (!add_name(p, &names, args[i].name, &e, false, aoff))
        return false;
      args[i].type = e.type;
      it->exports[i].name = args[i].name;
      it->exports[i].ext = e;
    }
    it->nexports = n;
    d.kind = CB_DEF_INLINE_INSTANCE;
    d.nargs = n;
    d.args = args;
  } else {
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for instance", k);
  }
  return add_def(p, sc, &d) && push(p, &sc->space[CB_INSTANCE], it);
}

/* ---- core modules ---- */

static cb_coreext module_ext(parser *p, const zh_module *m, zh_extern_kind kind, uint32_t idx) {
  cb_coreext e = {.kind = kind};
  switch (kind) {
  case ZH_EXTERN_FUNC: {
    const zh_type *t = &m->types[m->func_types[idx]];
    cb_corefunc *f = wit_alloc(p->a, sizeof *f);
    if (f) {
      f->nparams = t->nparams;
      f->nresults = t->nresults;
      f->params = t->valtypes;
      f->results = t->valtypes + t->nparams;
    } else {
      oom(p);
    }
    e.func = f;
    break;
  }
  case ZH_EXTERN_TABLE:
    e.type = m->tables[idx].elem;
    e.limits = m->tables[idx].limits;
    break;
  case ZH_EXTERN_MEMORY:
    e.limits = m->mems[idx];
    break;
  case ZH_EXTERN_GLOBAL:
    e.type = m->global_types[idx].type;
    e.mut = m->global_types[idx].mutable_;
    break;
  }
  return e;
}

static bool rd_core_module(parser *p, scope *sc, zh_reader *sec) {
  size_t off = zh_reader_offset(sec);
  zh_module *m;
  /* The module's name in messages: built in the arena, never cut short. */
  const char *name = wit_format(p->a, "%s: core module at offset 0x%zx", p->file, off);
  if (!name)
    return oom(p);
  zh_error *err = zh_module_new(p->c->engine, sec->p, zh_reader_remaining(sec), name, &m);
  sec->p = sec->end;
  if (err) {
    p->err = err;
    return false;
  }
  zh_cm_component *c = p->c;
  if (c->nmodules_all == c->modules_cap) {
    size_t cap = c->modules_cap ? c->modules_cap * 2 : 8;
    zh_module **n = realloc(c->modules_all, cap * sizeof(zh_module *));
    if (!n) {
      zh_module_free(m);
      return oom(p);
    }
    c->modules_all = n;
    c->modules_cap = cap;
  }
  c->modules_all[c->nmodules_all++] = m;
  cb_coremod *mt = wit_alloc(p->a, sizeof *mt);
  if (!mt)
    return oom(p);
  mt->nimports = m->nimports;
  mt->imports = wit_alloc(p->a, (m->nimports + 1) * sizeof *mt->imports);
  mt->nexports = m->nexports;
  mt->exports = wit_alloc(p->a, (m->nexports + 1) * sizeof *mt->exports);
  if (!mt->imports || !mt->exports)
    return oom(p);
  for (uint32_t i = 0; i < m->nimports; i++) {
    const zh_import *im = &m->imports[i];
    for (uint32_t j = 0; j < i; j++)
      if (!strcmp(m->imports[j].module_cstr, im->module_cstr) &&
          !strcmp(m->imports[j].name_cstr, im->name_cstr))
        return INVALID(p, off, "duplicate import name `%s:%s`", im->module_cstr, im->name_cstr);
    cb_corenamed *o = &mt->imports[i];
    o->module = im->module_cstr;
    o->name = im->name_cstr;
    o->ext.kind = im->kind;
    switch (im->kind) {
    case ZH_EXTERN_FUNC: {
      const zh_type *t = &m->types[im->desc.type_index];
      cb_corefunc *f = wit_alloc(p->a, sizeof *f);
      if (!f)
        return oom(p);
      f->nparams = t->nparams;
      f->nresults = t->nresults;
      f->params = t->valtypes;
      f->results = t->valtypes + t->nparams;
      o->ext.func = f;
      break;
    }
    case ZH_EXTERN_TABLE:
      o->ext.type = im->desc.table.elem;
      o->ext.limits = im->desc.table.limits;
      break;
    case ZH_EXTERN_MEMORY:
      o->ext.limits = im->desc.memory;
      break;
    case ZH_EXTERN_GLOBAL:
      o->ext.type = im->desc.global.type;
      o->ext.mut = im->desc.global.mutable_;
      break;
    }
  }
  for (uint32_t i = 0; i < m->nexports; i++) {
    mt->exports[i].name = m->exports[i].name_cstr;
    mt->exports[i].ext = module_ext(p, m, m->exports[i].kind, m->exports[i].index);
  }
  cb_component *cc = sc->comp;
  if (cc->nmodules == cc->modules_cap) {
    size_t cap = cc->nmodules ? cc->nmodules * 2 : 4;
    zh_module **n = wit_alloc(p->a, cap * sizeof(zh_module *));
    if (!n)
      return oom(p);
    if (cc->nmodules)
      memcpy(n, cc->modules, cc->nmodules * sizeof(zh_module *));
    cc->modules = n;
    cc->modules_cap = cap;
  }
  cb_def d = {.kind = CB_DEF_CORE_MODULE, .index = (uint32_t)cc->nmodules};
  cc->modules[cc->nmodules++] = m;
  return add_def(p, sc, &d) && push(p, &sc->space[CB_CORE_MODULE], mt);
}

/* ---- the component ---- */

static bool rd_component(parser *p, scope *parent, zh_reader *r, cb_component **out,
                         cb_type **type);

static bool rd_nested(parser *p, scope *sc, zh_reader *sec) {
  cb_component *child = NULL;
  cb_type *t = NULL;
  zh_reader *saved = p->r;
  unsigned saved_sec = p->secid;
  bool ok = rd_component(p, sc, sec, &child, &t);
  p->r = saved;
  p->secid = saved_sec;
  if (!ok || !child)
    return false;
  cb_component *cc = sc->comp;
  if (cc->nchildren == cc->children_cap) {
    size_t cap = cc->nchildren ? cc->nchildren * 2 : 4;
    cb_component **n = wit_alloc(p->a, cap * sizeof(cb_component *));
    if (!n)
      return oom(p);
    if (cc->nchildren)
      memcpy(n, cc->children, cc->nchildren * sizeof(cb_component *));
    cc->children = n;
    cc->children_cap = cap;
  }
  cb_def d = {.kind = CB_DEF_COMPONENT, .index = (uint32_t)cc->nchildren};
  cc->children[cc->nchildren++] = child;
  child->parent = cc;
  return add_def(p, sc, &d) && push(p, &sc->space[CB_COMPONENT], t);
}

static bool rd_import(parser *p, scope *sc) {
  size_t off = zh_reader_offset(p->r);
  const char *name;
  cb_ext e;
  if (!rd_externname(p, &name) || !rd_externdesc(p, sc, &e))
    return false;
  if (!declare(p, sc, name, &e, true, off))
    return false;
  cb_def d = {.kind = CB_DEF_IMPORT, .sort = e.sort, .name = name, .type = e.type, .offset = off};
  return add_def(p, sc, &d) && push(p, &sc->space[e.sort], ext_item(&e));
}

static bool rd_export(parser *p, scope *sc) {
  size_t off = zh_reader_offset(p->r);
  const char *name;
  cb_sortidx si;
  const void *item;
  cb_ext e;
  if (!rd_externname(p, &name) || !rd_sortidx(p, sc, &si, &item, off) ||
      !item_ext(p, si.sort, item, &e, off))
    return false;
  uint8_t has;
  if (!rd_u8(p, &has))
    return false;
  if (has > 1) {
    p->r->p--;
    return malformed(p, "invalid leading byte (0x%x) for optional export type", has);
  }
  if (has) {
    cb_ext asc;
    if (!rd_externdesc(p, sc, &asc))
      return false;
    const char *why = NULL;
    /* A (sub resource) ascription makes the export a new abstract resource outside. */
    bool abstract = asc.sort == CB_TYPE && asc.type && asc.type->kind == CB_T_RESOURCE && e.type &&
                    e.type->kind == CB_T_RESOURCE;
    if (!abstract && !cb_ext_sub(p->a, &e, &asc, &why, 0))
      return INVALID(p, off, "type mismatch in export `%s`: ascribed type does not match: %s", name,
                     why ? why : "types differ");
    e = asc;
  }
  if (!declare(p, sc, name, &e, false, off))
    return false;
  cb_def d = {.kind = CB_DEF_EXPORT, .sort = si.sort, .index = si.idx, .name = name};
  if (si.sort == CB_TYPE)
    d.type = item;
  return add_def(p, sc, &d) && push(p, &sc->space[si.sort], ext_item(&e));
}

static bool rd_start(parser *p, scope *sc) {
  size_t off = zh_reader_offset(p->r);
  uint32_t f, n, nres;
  if (!rd_u32(p, &f) || !rd_count(p, &n))
    return false;
  if (n)
    return INVALID(p, off, "start function arguments are values, a gated feature (not supported)");
  if (!rd_u32(p, &nres))
    return false;
  const cb_type *ft = get(p, sc, CB_FUNC, f, off);
  if (!ft)
    return false;
  if (ft->func->nparams != 0)
    return INVALID(p, off, "start function takes %zu arguments, 0 given", ft->func->nparams);
  if (nres != (ft->func->result ? 1u : 0u))
    return INVALID(p, off, "start function results (%u) do not match its type", nres);
  if (nres)
    return INVALID(p, off, "start function results are values, a gated feature (not supported)");
  cb_def d = {.kind = CB_DEF_START, .index = f};
  return add_def(p, sc, &d);
}

/* The most core instances whose names are kept: more only means unnamed frames. */
#define MAX_NAMED_CORE_INSTANCES 4096u

/* A name map of core instances (sort 0x00 0x12) from the component-name section. */
static void rd_core_inst_names(cb_component *c, wit_arena *a, zh_reader *sub) {
  uint32_t count;
  if (!zh_read_u32(sub, &count))
    return;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t idx, n;
    const uint8_t *s;
    if (!zh_read_u32(sub, &idx) || !zh_read_name(sub, &s, &n))
      return;
    if (idx >= MAX_NAMED_CORE_INSTANCES)
      continue;
    if (c->core_inst_names == NULL) {
      c->core_inst_names = wit_alloc(a, MAX_NAMED_CORE_INSTANCES * sizeof *c->core_inst_names);
      if (c->core_inst_names == NULL)
        return;
      c->ncore_inst_names = MAX_NAMED_CORE_INSTANCES;
    }
    c->core_inst_names[idx] = wit_strndup(a, (const char *)s, n);
  }
}

/* The component-name custom section: the component's name and its core instances' names are
 * kept; the section is not required to be valid, so anything odd is ignored. */
static void rd_names(cb_component *c, wit_arena *a, zh_reader sec) {
  uint8_t id;
  uint32_t size;
  while (zh_read_u8(&sec, &id) && zh_read_u32(&sec, &size) && size <= zh_reader_remaining(&sec)) {
    zh_reader sub = sec;
    sub.end = sec.p + size;
    sec.p += size;
    const uint8_t *s;
    uint32_t n;
    uint8_t sort, core_sort;
    if (id == 0 && zh_read_name(&sub, &s, &n))
      c->name = wit_strndup(a, (const char *)s, n);
    else if (id == 1 && zh_read_u8(&sub, &sort) && sort == 0 && zh_read_u8(&sub, &core_sort) &&
             core_sort == 0x12)
      rd_core_inst_names(c, a, &sub);
  }
}

static bool rd_section(parser *p, scope *sc, uint8_t id, zh_reader *sec) {
  uint32_t n;
  if (id == 0) {
    const char *name;
    if (!rd_name(p, &name))
      return false;
    if (name && strcmp(name, "component-name") == 0)
      rd_names(sc->comp, p->a, *sec);
    sec->p = sec->end;
    return true;
  }
  if (id == 1)
    return rd_core_module(p, sc, sec);
  if (id == 4)
    return rd_nested(p, sc, sec);
  if (id == 9)
    return rd_start(p, sc);
  if (id == 12)
    return INVALID(p, zh_reader_offset(sec), "value sections are a gated feature (not supported)");
  if (!rd_count(p, &n))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    bool ok;
    switch (id) {
    case 2:
      ok = rd_core_instance(p, sc);
      break;
    case 3: {
      cb_coretype *t;
      ok = rd_core_type(p, sc, &sc->space[CB_CORE_TYPE], false, &t) &&
           push(p, &sc->space[CB_CORE_TYPE], t);
      break;
    }
    case 5:
      ok = rd_instance(p, sc);
      break;
    case 6: {
      cb_def d = {0};
      ok = rd_alias(p, sc, &d);
      break;
    }
    case 7: {
      const cb_type *t;
      ok = rd_type(p, sc, &t) && push(p, &sc->space[CB_TYPE], t);
      break;
    }
    case 8:
      ok = rd_canon(p, sc);
      break;
    case 10:
      ok = rd_import(p, sc);
      break;
    case 11:
      ok = rd_export(p, sc);
      break;
    default:
      ok = false;
    }
    if (!ok)
      return false;
  }
  return true;
}

static bool rd_preamble(parser *p) {
  const uint8_t *b;
  if (!zh_read_bytes(p->r, 4, &b))
    return malformed(p, "unexpected end-of-file reading the magic number");
  if (memcmp(b, "\0asm", 4) != 0) {
    p->r->p -= 4;
    return malformed(p, "magic header not detected");
  }
  if (!zh_read_bytes(p->r, 4, &b))
    return malformed(p, "unexpected end-of-file reading the version");
  if (b[2] == 0 && b[3] == 0) {
    p->r->p -= 4;
    return malformed(p, "a core module, not a component (layer 0)");
  }
  if (b[2] != 1 || b[3] != 0) {
    p->r->p -= 2;
    return malformed(p, "unknown binary layer 0x%x", b[2] | b[3] << 8);
  }
  if (b[0] != 0x0d || b[1] != 0) {
    p->r->p -= 4;
    return malformed(p, "unknown component version 0x%x (expected 0xd)", b[0] | b[1] << 8);
  }
  return true;
}

static bool rd_component(parser *p, scope *parent, zh_reader *r, cb_component **out,
                         cb_type **type) {
  if (parent && parent->depth >= CB_MAX_DEPTH)
    return malformed(p, "components nested deeper than %d", CB_MAX_DEPTH);
  cb_component *c = wit_alloc(p->a, sizeof *c);
  cb_type *t = wit_alloc(p->a, sizeof *t);
  if (!c || !t)
    return oom(p);
  scope sc = {
      .parent = parent, .kind = SC_COMPONENT, .comp = c, .depth = parent ? parent->depth + 1 : 0};
  p->r = r;
  p->secid = 99;
  if (!rd_preamble(p))
    return false;
  while (!zh_reader_eof(r)) {
    uint8_t id;
    uint32_t size;
    p->secid = 99;
    if (!rd_u8(p, &id))
      return false;
    if (id > 12) {
      r->p--;
      return malformed(p, "invalid section id %u", id);
    }
    p->secid = id;
    if (!rd_u32(p, &size))
      return false;
    zh_reader sec;
    if (!zh_reader_sub(r, size, &sec))
      return malformed(p, "section size %u out of bounds (unexpected end-of-file)", size);
    p->r = &sec;
    bool ok = rd_section(p, &sc, id, &sec);
    p->r = r;
    if (!ok)
      return false;
    if (!zh_reader_eof(&sec)) {
      p->r = &sec;
      malformed(p, "section size mismatch: %zu unexpected bytes at the end",
                zh_reader_remaining(&sec));
      p->r = r;
      return false;
    }
  }
  p->secid = 99;
  if (!scope_to_type(p, &sc, t))
    return false;
  t->kind = CB_T_COMPONENT;
  c->type = t;
  *out = c;
  *type = t;
  return true;
}

zh_error *cb_parse(zh_cm_component *c, const uint8_t *bytes, size_t len) {
  parser p = {.c = c, .a = &c->arena, .file = c->file, .secid = 99};
  zh_reader r;
  zh_reader_init(&r, bytes, len);
  cb_type *t;
  if (!rd_component(&p, NULL, &r, &c->root, &t) && !p.err)
    oom(&p);
  return p.err;
}
