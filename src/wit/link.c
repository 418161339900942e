/* Guest-to-guest links (zerohop/link.h): the link-time type check with WIT-syntax messages,
 * the type-guided copy between two linear memories, and the adapter host function. */
#include "zerohop/link.h"

#include "wasm/error.h"
#include "wasm/module.h"
#include "wasm/runtime.h"
#include "wit/abi.h"
#include "zerohop/cm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "linear memory is little-endian; loads and stores here assume a little-endian host"
#endif

/* ---- WIT syntax of types, for messages ---- */

typedef struct sbuf {
  char *p;
  size_t cap, len;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
  if (b->len >= b->cap)
    return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (w > 0)
    b->len = b->len + (size_t)w < b->cap ? b->len + (size_t)w : b->cap - 1;
}

static void put_type(sbuf *b, const zh_wit_type *t, bool expand);

static void put_fields(sbuf *b, const zh_wit_type *t, bool typed) {
  for (size_t i = 0; i < t->nfields; i++) {
    put(b, "%s%s", i ? ", " : "", t->fields[i].name);
    if (typed && t->fields[i].type) {
      put(b, t->kind == ZH_WIT_VARIANT ? "(" : ": ");
      put_type(b, t->fields[i].type, false);
      if (t->kind == ZH_WIT_VARIANT)
        put(b, ")");
    }
  }
}

/* Named types print as their name; `expand` spells out the definition of a named type one
 * level deep, so that two different types of the same name can be told apart. */
static void put_type(sbuf *b, const zh_wit_type *t, bool expand) {
  if (!t) {
    put(b, "_");
    return;
  }
  if (t->name && !expand) {
    put(b, "%s", t->name);
    return;
  }
  if (t->kind == ZH_WIT_ALIAS) {
    put_type(b, t->elem, expand);
    return;
  }
  switch (t->kind) {
  case ZH_WIT_LIST:
  case ZH_WIT_OPTION:
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW:
  case ZH_WIT_FUTURE:
  case ZH_WIT_STREAM:
    put(b, "%s", zh_wit_type_kind_name(t->kind));
    if (t->elem) {
      put(b, "<");
      put_type(b, t->elem, false);
      put(b, ">");
    }
    return;
  case ZH_WIT_RESULT:
    put(b, "result");
    if (t->elem || t->err) {
      put(b, "<");
      put_type(b, t->elem, false);
      if (t->err) {
        put(b, ", ");
        put_type(b, t->err, false);
      }
      put(b, ">");
    }
    return;
  case ZH_WIT_TUPLE:
    put(b, "tuple<");
    for (size_t i = 0; i < t->nfields; i++) {
      put(b, "%s", i ? ", " : "");
      put_type(b, t->fields[i].type, false);
    }
    put(b, ">");
    return;
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_FLAGS:
    put(b, "%s %s { ", zh_wit_type_kind_name(t->kind), t->name ? t->name : "");
    put_fields(b, t, true);
    put(b, " }");
    return;
  default:
    put(b, "%s", zh_wit_type_kind_name(t->kind));
  }
}

static void put_func(sbuf *b, const zh_wit_func *f) {
  put(b, "func(");
  for (size_t i = 0; i < f->nparams; i++) {
    put(b, "%s%s: ", i ? ", " : "", f->params[i].name);
    put_type(b, f->params[i].type, false);
  }
  put(b, ")");
  if (f->result) {
    put(b, " -> ");
    put_type(b, f->result, false);
  }
}

/* ---- type equality ---- */

typedef struct mismatch {
  char where[160];
  const zh_wit_type *exp, *imp; /* the innermost pair that differs */
  const char *unsupported;      /* a kind the linker cannot carry */
  bool resources;               /* own/borrow can be carried (a zh_link_callee is known) */
} mismatch;

static bool differ(mismatch *m, const zh_wit_type *e, const zh_wit_type *i, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool differ(mismatch *m, const zh_wit_type *e, const zh_wit_type *i, const char *fmt, ...) {
  m->exp = e;
  m->imp = i;
  size_t l = strlen(m->where);
  if (fmt && l < sizeof m->where) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->where + l, sizeof m->where - l, fmt, ap);
    va_end(ap);
  }
  return false;
}

static bool type_eq(const zh_wit_type *e, const zh_wit_type *i, mismatch *m);

/* The same resource on both sides. A's import and B's export name one interface (the link
 * pairs them by qualified name), so a resource is identified by interface and name; two
 * WIT models of the same package then agree without sharing pointers. */
static bool res_same(const zh_wit_type *x, const zh_wit_type *y) {
  x = zh_abi_unalias(x);
  y = zh_abi_unalias(y);
  if (x == y)
    return true;
  if (x->kind != ZH_WIT_RESOURCE || y->kind != ZH_WIT_RESOURCE || !x->name || !y->name ||
      strcmp(x->name, y->name) != 0)
    return false;
  const char *qx = x->interface ? x->interface->qualified : NULL;
  const char *qy = y->interface ? y->interface->qualified : NULL;
  return qx && qy && strcmp(qx, qy) == 0;
}

static bool opt_eq(const zh_wit_type *e, const zh_wit_type *i, mismatch *m) {
  if (!e && !i)
    return true;
  if (!e || !i)
    return false;
  return type_eq(e, i, m);
}

/* Structural equality after aliases; names of fields, cases and flags are part of the type
 * (they are in the component model's type equality), the names of the types themselves
 * are not. */
static bool type_eq(const zh_wit_type *e0, const zh_wit_type *i0, mismatch *m) {
  const zh_wit_type *e = zh_abi_unalias(e0), *i = zh_abi_unalias(i0);
  if (e->kind != i->kind)
    return differ(m, e0, i0, NULL);
  switch (e->kind) {
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW:
    if (m->resources) {
      if (!res_same(e->elem, i->elem))
        return differ(m, e0, i0, NULL);
      return true;
    }
    m->unsupported = zh_wit_type_kind_name(e->kind);
    return differ(m, e0, i0, NULL);
  case ZH_WIT_RESOURCE:
  case ZH_WIT_FUTURE:
  case ZH_WIT_STREAM:
    m->unsupported = zh_wit_type_kind_name(e->kind);
    return differ(m, e0, i0, NULL);
  case ZH_WIT_LIST:
  case ZH_WIT_OPTION:
    if (!type_eq(e->elem, i->elem, m)) {
      if (!m->exp)
        return differ(m, e0, i0, NULL);
      return false;
    }
    return true;
  case ZH_WIT_RESULT:
    if (!opt_eq(e->elem, i->elem, m) || !opt_eq(e->err, i->err, m)) {
      if (!m->exp)
        return differ(m, e0, i0, NULL);
      return false;
    }
    return true;
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_FLAGS:
    if (e->nfields != i->nfields)
      return differ(m, e0, i0, NULL);
    for (size_t k = 0; k < e->nfields; k++) {
      const zh_wit_field *ef = &e->fields[k], *jf = &i->fields[k];
      if (ef->name && jf->name && strcmp(ef->name, jf->name) != 0)
        return differ(m, e0, i0, NULL);
      if ((ef->type == NULL) != (jf->type == NULL))
        return differ(m, e0, i0, NULL);
      if (ef->type && !type_eq(ef->type, jf->type, m)) {
        /* Name the field on the way out: innermost first, so prepend. */
        char tmp[sizeof m->where];
        snprintf(tmp, sizeof tmp, "%s %s of %s%s", e->kind == ZH_WIT_VARIANT ? "case" : "field",
                 ef->name ? ef->name : "#", e0->name ? e0->name : zh_wit_type_kind_name(e->kind),
                 m->where[0] ? ", " : "");
        size_t tl = strlen(tmp);
        size_t wl = strlen(m->where);
        if (tl + wl < sizeof m->where) {
          memmove(m->where + tl, m->where, wl + 1);
          memcpy(m->where, tmp, tl);
        }
        return false;
      }
    }
    return true;
  default:
    return true; /* primitives: equal kinds */
  }
}

static zh_error *link_check(const char *iface, const zh_wit_func *imp, const zh_wit_func *exp,
                            bool resources) {
  if (!imp || !exp)
    return zh_error_new(ZH_ERR_USAGE, "zh_link_check: no function type");
  mismatch m;
  memset(&m, 0, sizeof m);
  m.resources = resources;
  char head[96] = "";
  bool ok = imp->nparams == exp->nparams && (imp->result == NULL) == (exp->result == NULL);
  if (imp->is_async || exp->is_async) {
    ok = false;
    m.unsupported = "async function";
  }
  for (size_t k = 0; ok && k < imp->nparams; k++) {
    if (strcmp(imp->params[k].name, exp->params[k].name) != 0) {
      ok = false;
      snprintf(head, sizeof head, "parameter %zu is named %s in the export, %s in the import", k,
               exp->params[k].name, imp->params[k].name);
    } else if (!type_eq(exp->params[k].type, imp->params[k].type, &m)) {
      ok = false;
      snprintf(head, sizeof head, "parameter %s", exp->params[k].name);
    }
  }
  if (ok && exp->result && !type_eq(exp->result, imp->result, &m)) {
    ok = false;
    snprintf(head, sizeof head, "result");
  }
  if (ok)
    return NULL;
  char eb[512], ib[512], detail[1200] = "";
  sbuf be = {eb, sizeof eb, 0}, bi = {ib, sizeof ib, 0}, bd = {detail, sizeof detail, 0};
  eb[0] = ib[0] = 0;
  put_func(&be, exp);
  put_func(&bi, imp);
  if (m.unsupported) {
    put(&bd, " (%s: %s cannot be linked)", head[0] ? head : "function", m.unsupported);
  } else if (m.exp) {
    put(&bd, " (%s%s%s: ", head, m.where[0] ? ", " : "", m.where);
    put_type(&bd, m.exp, true);
    put(&bd, " vs ");
    put_type(&bd, m.imp, true);
    put(&bd, ")");
  } else if (head[0]) {
    put(&bd, " (%s)", head);
  }
  const char *fn = imp->abi_name ? imp->abi_name : imp->name;
  return zh_error_new(ZH_ERR_UNLINKABLE, "cannot link %s%s%s: export %s does not match import %s%s",
                      iface ? iface : "", iface ? "#" : "", fn, eb, ib, detail);
}

zh_error *zh_link_check(const char *iface, const zh_wit_func *imp, const zh_wit_func *exp) {
  return link_check(iface, imp, exp, false);
}

/* ---- the adapter ---- */

/* B's side of resource links: the handles of B's own resources (canonical ABI: the table of
 * the implementing instance), filled by B's [resource-new] and by own<R> lowered into B. */
struct zh_link_callee {
  zh_store *store;
  zh_instance *b; /* set by zh_link_callee_bind */
  zh_abi_table table;
  bool broken; /* B trapped or broke the ABI: no link may enter it again */
};

/* One caller instance's side: A's handles. A never implements the resources it gets from
 * B, so every entry is an own<R> whose rep is B's (lift_own/lower_own move only the rep). */
typedef struct link_res {
  zh_link_callee *cal;
  zh_abi_table table;
} link_res;

static void callee_release(void *p) {
  zh_link_callee *cal = p;
  zh_abi_table_free(&cal->table);
  free(cal);
}

static void res_release(void *p) {
  link_res *lr = p;
  zh_abi_table_free(&lr->table);
  free(lr);
}

/* The live handle i of table t, or NULL. */
static zh_abi_handle *handle_at(zh_abi_table *t, uint32_t i) {
  return i && i < t->len && t->h[i].rt ? &t->h[i] : NULL;
}

static void handle_free(zh_abi_table *t, uint32_t i) {
  t->h[i].rt = NULL;
  t->h[i].next_free = t->free_head;
  t->free_head = i;
}

static zh_error *handle_add(zh_abi_table *t, const char *what, const zh_wit_type *rt, uint64_t rep,
                            uint32_t *out) {
  zh_abi_cx cx;
  memset(&cx, 0, sizeof cx);
  cx.table = t;
  cx.what = what;
  return zh_abi_handle_new(&cx, rt, rep, true, out);
}

/* Runs B's "IFACE#[dtor]R" on rep, if B exports one (CanonicalABI.md: rt.dtor). A trap in it
 * is B's fault and fences B. */
static zh_error *run_dtor(zh_link_callee *cal, const zh_wit_type *rt, uint64_t rep,
                          const char *what) {
  rt = zh_abi_unalias(rt);
  /* The export name is as long as the qualified names make it: built on the heap, never cut
   * (a cut name would find no destructor and skip it silently). */
  const char *q = rt->interface && rt->interface->qualified ? rt->interface->qualified : "";
  char *name = NULL;
  if (asprintf(&name, "%s%s[dtor]%s", q, q[0] ? "#" : "", rt->name ? rt->name : "") < 0)
    return zh_error_oom();
  zh_func *d = cal->b ? zh_instance_func(cal->b, name) : NULL;
  if (!d) {
    free(name);
    return NULL;
  }
  zh_functype ft;
  zh_func_type(d, &ft);
  if (ft.nparams != 1 || ft.nresults != 0 || ft.params[0] != ZH_I32) {
    cal->broken = true;
    zh_error *err =
        zh_error_new(ZH_ERR_TRAP, "%s: the callee's %s has the wrong signature", what, name);
    free(name);
    return err;
  }
  free(name);
  uint64_t in[1] = {(uint32_t)rep}, out[1] = {0};
  zh_error *err = zh_invoke(cal->store, d, in, out);
  if (err) {
    cal->broken = true;
    return zh_error_prefix(err, "%s: in the callee's destructor", what);
  }
  return NULL;
}

/* A's handles lent to B during one call (lift_borrow's add_lender), returned at call end. */
typedef struct lends {
  uint32_t *idx;
  uint32_t n, cap;
} lends;

typedef struct link_fn {
  char *name; /* core export name of B's function; messages start with it */
  char *post; /* "cabi_post_" + name; both stored after the struct, whatever their length */
  const zh_wit_func *f; /* the export's type (equal to the import's) */
  zh_abi_sig isig, esig;
  zh_instance *b;
  zh_func *b_func, *b_realloc, *b_post;
  zh_memory *b_mem;
  bool params_ptrs; /* parameters hold pointers: validate before allocating in B */
  bool b_broken;    /* B trapped or broke the ABI: it must not run again */
  /* A's cabi_realloc, looked up once per calling instance */
  zh_instance *a_inst;
  zh_func *a_realloc;
  link_res *res; /* handles, when linked with a zh_link_callee; NULL otherwise */
} link_fn;

/* One direction of a copy: from `src` memory into `dst` memory. Two passes over the same
 * walker: validate (copy == false) touches nothing but src; copy allocates in dst. */
typedef struct side {
  zh_memory *mem;
  zh_func *realloc;
  const char *who; /* "caller" or "callee" */
  zh_store *store; /* where its functions run (one store for a static link) */
  bool *no_leave;  /* set while its cabi_realloc or post-return runs (may be NULL) */
} side;

typedef struct cp {
  link_fn *lf;
  side src, dst;
  bool copy;
  bool dst_fault;   /* the error came from dst (its cabi_realloc) rather than src's data */
  bool from_callee; /* src is B (results), else A (arguments) */
  lends *lent;      /* A's handles borrowed by this call */
  uint64_t bytes;   /* string and list contents copied (the copy pass) */
} cp;

static zh_error *trap(const cp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static zh_error *trap(const cp *c, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return zh_error_new(ZH_ERR_TRAP, "%s: %s", c->lf->name, msg);
}

static inline uint32_t ld32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline void st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* zh_func_call without its per-call checks and conversions: B's functions were checked
 * against the canonical signatures at link time, A's cabi_realloc when it was looked up, and
 * all of them belong to the store (link time / the caller's instance). Only numbers pass. */
static zh_error *invoke(zh_store *s, zh_func *f, const zh_value *args, zh_value *res) {
  /* Not zeroed: zh_invoke reads the np arguments written below and writes the nr results
   * read after it (four of these per dependency call made zeroing a visible cost). */
  uint64_t in[ZH_ABI_MAX_FLAT_PARAMS + 1], out[ZH_ABI_MAX_FLAT_RESULTS + 1];
  uint32_t np = f->nparams, nr = f->nresults;
  if (np > ZH_ABI_MAX_FLAT_PARAMS + 1 || nr > ZH_ABI_MAX_FLAT_RESULTS || (nr && !res))
    return zh_error_new(ZH_ERR_USAGE, "link: unexpected core signature");
  for (uint32_t i = 0; i < np; i++)
    in[i] = args[i].type == ZH_I32 || args[i].type == ZH_F32 ? (uint32_t)args[i].of.i32
                                                             : (uint64_t)args[i].of.i64;
  zh_error *err = zh_invoke(s, f, in, out);
  if (err || !res)
    return err;
  for (uint32_t i = 0; i < nr; i++) {
    zh_valtype t = (zh_valtype)f->types[np + i];
    res[i].type = t;
    if (t == ZH_I32 || t == ZH_F32)
      res[i].of.i32 = (int32_t)(uint32_t)out[i];
    else
      res[i].of.i64 = (int64_t)out[i];
  }
  return NULL;
}

/* Why [ptr, ptr + len) fails range(): kept out of line, so that the check itself stays small
 * enough to inline (every copy checks each pointer it follows). */
static __attribute__((noinline, cold)) zh_error *range_error(const cp *c, const side *s,
                                                             const char *what, uint64_t ptr,
                                                             uint64_t len, uint32_t align) {
  if (!s->mem)
    return trap(c, "%s needs the %s's memory, but it exports none", what, s->who);
  if (ptr & (align - 1))
    return trap(c, "%s from the %s at 0x%llx is not aligned to %u", what, s->who,
                (unsigned long long)ptr, align);
  uint64_t size = zh_memory_size(s->mem);
  if (ptr > size || len > size - ptr)
    return trap(c,
                "%s from the %s at 0x%llx, %llu bytes, is out of bounds of its memory (%llu "
                "bytes)",
                what, s->who, (unsigned long long)ptr, (unsigned long long)len,
                (unsigned long long)size);
  return trap(c, "%s from the %s at 0x%llx: bad range", what, s->who, (unsigned long long)ptr);
}

/* [ptr, ptr + len) inside s's memory and ptr aligned: NULL, else the trap that says why. */
static inline zh_error *range(const cp *c, const side *s, const char *what, uint64_t ptr,
                              uint64_t len, uint32_t align) {
  if (s->mem && !(ptr & (align - 1))) {
    uint64_t size = zh_memory_size(s->mem);
    if (ptr <= size && len <= size - ptr)
      return NULL;
  }
  return range_error(c, s, what, ptr, len, align);
}

/* cabi_realloc(0, 0, align, size) in dst; the result is checked like any pointer. */
static zh_error *alloc(cp *c, uint32_t align, uint32_t size, uint32_t *out) {
  side *d = &c->dst;
  c->dst_fault = true;
  if (!d->realloc)
    return trap(c, "cannot allocate %u bytes: the %s exports no cabi_realloc", size, d->who);
  zh_value args[4] = {zh_i32(0), zh_i32(0), zh_i32((int32_t)align), zh_i32((int32_t)size)};
  zh_value res = zh_i32(0);
  if (d->no_leave)
    *d->no_leave = true;
  zh_error *err = invoke(d->store, d->realloc, args, &res);
  if (d->no_leave)
    *d->no_leave = false;
  if (err)
    return zh_error_prefix(err, "%s: %s's cabi_realloc", c->lf->name, d->who);
  *out = (uint32_t)res.of.i32;
  err = range(c, d, "cabi_realloc result", *out, size, align);
  if (!err)
    c->dst_fault = false;
  return err;
}

/* Validates UTF-8 (RFC 3629: no overlongs, surrogates or code points past U+10FFFF); on
 * failure *bad is the offset of the first bad sequence. Eight ASCII bytes at a time. */
static bool utf8_ok(const uint8_t *s, size_t n, size_t *bad) {
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!(w & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    uint8_t b = s[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    size_t k;
    uint32_t cp, min;
    if ((b & 0xe0) == 0xc0)
      k = 1, cp = b & 0x1f, min = 0x80;
    else if ((b & 0xf0) == 0xe0)
      k = 2, cp = b & 0x0f, min = 0x800;
    else if ((b & 0xf8) == 0xf0)
      k = 3, cp = b & 0x07, min = 0x10000;
    else
      goto fail;
    if (n - i <= k)
      goto fail;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80)
        goto fail;
      cp = cp << 6 | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      goto fail;
    i += k + 1;
  }
  return true;
fail:
  *bad = i;
  return false;
}

static uint32_t align_to(uint32_t x, uint32_t a) { return (x + a - 1) & ~(a - 1); }

/* Plain data: its bytes can be copied as they are (no pointers, nothing to validate). */
static bool plain(const zh_wit_type *t) {
  t = zh_abi_unalias(t);
  switch (zh_abi_despecialize(t)) {
  case ZH_WIT_S8:
  case ZH_WIT_U8:
  case ZH_WIT_S16:
  case ZH_WIT_U16:
  case ZH_WIT_S32:
  case ZH_WIT_U32:
  case ZH_WIT_S64:
  case ZH_WIT_U64:
  case ZH_WIT_F32:
  case ZH_WIT_F64:
    return true;
  case ZH_WIT_RECORD:
    for (size_t i = 0; i < t->nfields; i++)
      if (!plain(t->fields[i].type))
        return false;
    return true;
  default:
    return false;
  }
}

/* Holds a string or list somewhere: flat copies then allocate in the destination. */
static bool has_ptrs(const zh_wit_type *t) {
  t = zh_abi_unalias(t);
  switch (zh_abi_despecialize(t)) {
  case ZH_WIT_STRING:
  case ZH_WIT_LIST:
    return true;
  case ZH_WIT_RECORD:
    for (size_t i = 0; i < t->nfields; i++)
      if (has_ptrs(t->fields[i].type))
        return true;
    return false;
  case ZH_WIT_VARIANT:
    for (size_t i = 0, n = zh_abi_case_count(t); i < n; i++)
      if (zh_abi_case_type(t, i) && has_ptrs(zh_abi_case_type(t, i)))
        return true;
    return false;
  default:
    return false;
  }
}

/* A handle of type t (own or borrow) read from src, converted for dst (CanonicalABI.md).
 * A -> B, own: lift_own removes A's entry, lower_own adds an own handle to B's table.
 * A -> B, borrow: lift_borrow lends A's entry for the call; lower_borrow into the
 * implementing instance passes the rep itself. B -> A, own: B's entry moves to A's table.
 * The validation pass only checks. */
static zh_error *xfer(cp *c, const zh_wit_type *t, uint32_t h, uint32_t *out) {
  link_res *lr = c->lf->res;
  const zh_wit_type *rt = zh_abi_unalias(t->elem);
  bool own = t->kind == ZH_WIT_OWN;
  const char *rn = rt->name ? rt->name : "resource";
  if (!lr)
    return trap(c, "resource handle without a resource link");
  if (!own && c->from_callee)
    return trap(c, "borrow<%s> from the callee in a result", rn);
  zh_abi_table *st = c->from_callee ? &lr->cal->table : &lr->table;
  zh_abi_handle *e = handle_at(st, h);
  if (!e)
    return trap(c, "unknown %s handle %u from the %s (dangling, moved or never created)", rn, h,
                c->src.who);
  if (!res_same(e->rt, rt))
    return trap(c, "handle %u from the %s is not a %s", h, c->src.who, rn);
  if (own && !e->own)
    return trap(c, "handle %u from the %s is a borrow, not an own<%s>", h, c->src.who, rn);
  if (own && e->lends)
    return trap(c, "handle %u from the %s is lent out and cannot be moved", h, c->src.who);
  if (!c->copy)
    return NULL;
  if (!own) {
    lends *l = c->lent;
    if (l->n == l->cap) {
      uint32_t cap = l->cap ? l->cap * 2 : 8;
      uint32_t *p = realloc(l->idx, cap * sizeof *p);
      if (!p)
        return zh_error_new(ZH_ERR_RESOURCE, "%s: out of memory", c->lf->name);
      l->idx = p;
      l->cap = cap;
    }
    l->idx[l->n++] = h;
    e->lends++;
    *out = (uint32_t)e->rep;
    return NULL;
  }
  const zh_wit_type *ert = e->rt;
  uint64_t rep = e->rep;
  handle_free(st, h);
  return handle_add(c->from_callee ? &lr->table : &lr->cal->table, c->lf->name, ert, rep, out);
}

/* Holds an own or borrow handle (only a borrow if `borrow`) somewhere, in a list too. */
static bool has_handles_of(const zh_wit_type *t, bool borrow) {
  t = zh_abi_unalias(t);
  switch (zh_abi_despecialize(t)) {
  case ZH_WIT_OWN:
    return !borrow;
  case ZH_WIT_BORROW:
    return true;
  case ZH_WIT_LIST:
    return has_handles_of(t->elem, borrow);
  case ZH_WIT_RECORD:
    for (size_t i = 0; i < t->nfields; i++)
      if (has_handles_of(t->fields[i].type, borrow))
        return true;
    return false;
  case ZH_WIT_VARIANT:
    for (size_t i = 0, n = zh_abi_case_count(t); i < n; i++)
      if (zh_abi_case_type(t, i) && has_handles_of(zh_abi_case_type(t, i), borrow))
        return true;
    return false;
  default:
    return false;
  }
}

static bool has_handles(const zh_wit_type *t) { return has_handles_of(t, false); }

static zh_error *copy_mem(cp *c, const zh_wit_type *t, uint32_t s, uint32_t d);

/* A string or list whose (ptr, len) was read from src: checked, then (copy pass) allocated
 * in dst and copied; *dptr gets the new pointer. */
static zh_error *copy_seq(cp *c, const zh_wit_type *t, uint32_t ptr, uint32_t len, uint32_t *dptr) {
  zh_error *err;
  if (t->kind == ZH_WIT_STRING) {
    if (len > ZH_ABI_MAX_STRING_BYTES)
      return trap(c, "string from the %s of %u bytes exceeds the limit", c->src.who, len);
    if ((err = range(c, &c->src, "string", ptr, len, 1)))
      return err;
    const uint8_t *sp = zh_memory_data(c->src.mem) + ptr;
    if (!c->copy) {
      size_t bad;
      if (!utf8_ok(sp, len, &bad))
        return trap(c, "invalid UTF-8 in string from the %s at 0x%x, byte %zu", c->src.who, ptr,
                    bad);
      return NULL;
    }
    if ((err = alloc(c, 1, len, dptr)))
      return err;
    memcpy(zh_memory_data(c->dst.mem) + *dptr, sp, len);
    c->bytes += len;
    return NULL;
  }
  const zh_wit_type *et = t->elem;
  uint32_t esz = zh_abi_size(et), eal = zh_abi_align(et);
  uint64_t bytes = (uint64_t)len * esz;
  if (bytes > UINT32_MAX)
    return trap(c, "list from the %s of %u elements is too large", c->src.who, len);
  if ((err = range(c, &c->src, "list", ptr, bytes, eal)))
    return err;
  bool pl = plain(et);
  if (!c->copy) {
    if (pl)
      return NULL;
    for (uint32_t i = 0; i < len; i++)
      if ((err = copy_mem(c, et, ptr + i * esz, 0)))
        return err;
    return NULL;
  }
  if ((err = alloc(c, eal, (uint32_t)bytes, dptr)))
    return err;
  if (pl) {
    c->bytes += bytes;
    memcpy(zh_memory_data(c->dst.mem) + *dptr, zh_memory_data(c->src.mem) + ptr, bytes);
    return NULL;
  }
  for (uint32_t i = 0; i < len; i++)
    if ((err = copy_mem(c, et, ptr + i * esz, *dptr + i * esz)))
      return err;
  return NULL;
}

static zh_error *bad_char(cp *c, uint32_t ch) {
  return trap(c, "invalid char 0x%x from the %s", ch, c->src.who);
}
static zh_error *bad_disc(cp *c, const zh_wit_type *t, uint32_t disc, size_t n) {
  return trap(c, "invalid discriminant %u of %s from the %s (%zu cases)", disc,
              t->name ? t->name : zh_wit_type_kind_name(t->kind), c->src.who, n);
}
static bool char_ok(uint32_t ch) { return ch < 0x110000 && !(ch >= 0xd800 && ch <= 0xdfff); }

/* The value of type t at src offset s (whose enclosing region is checked) to dst offset d
 * (allocated and checked). The dst pointer is fetched afresh after each allocation: memories
 * never move, but a store may have grown them. */
static zh_error *copy_mem(cp *c, const zh_wit_type *t, uint32_t s, uint32_t d) {
  t = zh_abi_unalias(t);
  const uint8_t *sp = zh_memory_data(c->src.mem) + s;
  zh_error *err;
  if (c->copy)
    c->bytes += (uint32_t)zh_val_scalar_size(zh_abi_despecialize(t));
  switch (zh_abi_despecialize(t)) {
  case ZH_WIT_BOOL:
    if (c->copy)
      zh_memory_data(c->dst.mem)[d] = sp[0] != 0;
    return NULL;
  case ZH_WIT_CHAR: {
    uint32_t ch = ld32(sp);
    if (!char_ok(ch))
      return bad_char(c, ch);
    if (c->copy)
      st32(zh_memory_data(c->dst.mem) + d, ch);
    return NULL;
  }
  case ZH_WIT_STRING:
  case ZH_WIT_LIST: {
    uint32_t ptr = ld32(sp), len = ld32(sp + 4), np = 0;
    if ((err = copy_seq(c, t, ptr, len, &np)))
      return err;
    if (c->copy) {
      uint8_t *dp = zh_memory_data(c->dst.mem) + d;
      st32(dp, np);
      st32(dp + 4, len);
    }
    return NULL;
  }
  case ZH_WIT_RECORD: {
    uint32_t off = 0;
    for (size_t i = 0; i < t->nfields; i++) {
      const zh_wit_type *ft = t->fields[i].type;
      off = align_to(off, zh_abi_align(ft));
      if ((err = copy_mem(c, ft, s + off, d + off)))
        return err;
      off += zh_abi_size(ft);
    }
    return NULL;
  }
  case ZH_WIT_VARIANT: {
    size_t n = zh_abi_case_count(t);
    uint32_t ds = zh_abi_disc_size(n), disc = 0;
    memcpy(&disc, sp, ds);
    if (disc >= n)
      return bad_disc(c, t, disc, n);
    if (c->copy)
      memcpy(zh_memory_data(c->dst.mem) + d, &disc, ds);
    const zh_wit_type *ct = zh_abi_case_type(t, disc);
    if (!ct)
      return NULL;
    uint32_t po = zh_abi_payload_offset(t);
    return copy_mem(c, ct, s + po, d + po);
  }
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW: {
    uint32_t h = 0;
    if ((err = xfer(c, t, ld32(sp), &h)))
      return err;
    if (c->copy)
      st32(zh_memory_data(c->dst.mem) + d, h);
    return NULL;
  }
  case ZH_WIT_FLAGS: {
    uint32_t size = zh_abi_size(t);
    if (!c->copy || size == 0)
      return NULL;
    uint8_t *dp = zh_memory_data(c->dst.mem) + d;
    memcpy(dp, sp, size);
    /* Bits past the last flag do not exist in the type: drop them. */
    uint32_t rem = (uint32_t)(t->nfields % 32);
    if (rem) {
      uint32_t last = 0, lsize = size < 4 ? size : 4;
      memcpy(&last, dp + size - lsize, lsize);
      last &= (1u << rem) - 1;
      memcpy(dp + size - lsize, &last, lsize);
    }
    return NULL;
  }
  default: /* numbers */
    if (c->copy)
      memcpy(zh_memory_data(c->dst.mem) + d, sp, zh_abi_size(t));
    return NULL;
  }
}

/* Reinterprets a flat value of the joined type `have` as the case's type `want`
 * (CanonicalABI.md lift_flat_variant) or back (lower_flat_variant). */
static zh_value coerce(zh_value v, zh_valtype want) {
  if (v.type == want)
    return v;
  zh_value r = {want, {0}};
  uint64_t bits = v.type == ZH_I64 || v.type == ZH_F64 ? (uint64_t)v.of.i64 : (uint32_t)v.of.i32;
  if (want == ZH_I64 || want == ZH_F64)
    r.of.i64 = (int64_t)bits;
  else
    r.of.i32 = (int32_t)(uint32_t)bits;
  return r;
}

/* Flat values in[*i..] of type t from src to out[*o..] for dst. */
static zh_error *copy_flat(cp *c, const zh_wit_type *t, const zh_value *in, size_t *i,
                           zh_value *out, size_t *o) {
  t = zh_abi_unalias(t);
  zh_value v = in[*i];
  zh_error *err;
  if (c->copy)
    c->bytes += (uint32_t)zh_val_scalar_size(zh_abi_despecialize(t));
  switch (zh_abi_despecialize(t)) {
  case ZH_WIT_BOOL:
    (*i)++;
    out[(*o)++] = zh_i32(v.of.i32 != 0);
    return NULL;
  case ZH_WIT_S8:
    (*i)++;
    out[(*o)++] = zh_i32((int8_t)v.of.i32);
    return NULL;
  case ZH_WIT_U8:
    (*i)++;
    out[(*o)++] = zh_i32(v.of.i32 & 0xff);
    return NULL;
  case ZH_WIT_S16:
    (*i)++;
    out[(*o)++] = zh_i32((int16_t)v.of.i32);
    return NULL;
  case ZH_WIT_U16:
    (*i)++;
    out[(*o)++] = zh_i32(v.of.i32 & 0xffff);
    return NULL;
  case ZH_WIT_CHAR:
    (*i)++;
    if (!char_ok((uint32_t)v.of.i32))
      return bad_char(c, (uint32_t)v.of.i32);
    out[(*o)++] = v;
    return NULL;
  case ZH_WIT_STRING:
  case ZH_WIT_LIST: {
    uint32_t ptr = (uint32_t)in[*i].of.i32, len = (uint32_t)in[*i + 1].of.i32, np = 0;
    *i += 2;
    if ((err = copy_seq(c, t, ptr, len, &np)))
      return err;
    out[(*o)++] = zh_i32((int32_t)np);
    out[(*o)++] = zh_i32((int32_t)len);
    return NULL;
  }
  case ZH_WIT_RECORD:
    for (size_t k = 0; k < t->nfields; k++)
      if ((err = copy_flat(c, t->fields[k].type, in, i, out, o)))
        return err;
    return NULL;
  case ZH_WIT_VARIANT: {
    size_t n = zh_abi_case_count(t);
    uint32_t disc = (uint32_t)v.of.i32;
    if (disc >= n)
      return bad_disc(c, t, disc, n);
    zh_valtype joined[ZH_ABI_MAX_FLAT_PARAMS + 1], ct[ZH_ABI_MAX_FLAT_PARAMS + 1];
    size_t nj = 0, nc = 0;
    zh_abi_flatten(t, joined, ZH_ABI_MAX_FLAT_PARAMS + 1, &nj);
    out[(*o)++] = zh_i32((int32_t)disc);
    (*i)++;
    size_t base_i = *i, base_o = *o;
    const zh_wit_type *cty = zh_abi_case_type(t, disc);
    if (cty) {
      zh_abi_flatten(cty, ct, ZH_ABI_MAX_FLAT_PARAMS + 1, &nc);
      zh_value cin[ZH_ABI_MAX_FLAT_PARAMS + 1], cout[ZH_ABI_MAX_FLAT_PARAMS + 1];
      memset(cin, 0, sizeof cin);
      for (size_t k = 0; k < nc; k++)
        cin[k] = coerce(in[base_i + k], ct[k]);
      size_t ci = 0, co = 0;
      if ((err = copy_flat(c, cty, cin, &ci, cout, &co)))
        return err;
      for (size_t k = 0; k < co; k++)
        out[base_o + k] = coerce(cout[k], joined[k + 1]);
    }
    /* Unused payload slots are zero, as lower_flat_variant pads them. */
    for (size_t k = nc; k + 1 < nj; k++) {
      zh_value z = {joined[k + 1], {0}};
      out[base_o + k] = z;
    }
    *i = base_i + (nj - 1);
    *o = base_o + (nj - 1);
    return NULL;
  }
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW: {
    uint32_t h = 0;
    (*i)++;
    if ((err = xfer(c, t, (uint32_t)v.of.i32, &h)))
      return err;
    out[(*o)++] = zh_i32((int32_t)h);
    return NULL;
  }
  case ZH_WIT_FLAGS: {
    uint32_t words = zh_abi_flags_words(t->nfields);
    for (uint32_t k = 0; k < words; k++) {
      uint32_t w = (uint32_t)in[(*i)++].of.i32, rem = (uint32_t)(t->nfields - 32 * (size_t)k);
      if (rem < 32)
        w &= (1u << rem) - 1;
      out[(*o)++] = zh_i32((int32_t)w);
    }
    return NULL;
  }
  default: /* 32/64-bit numbers pass as they are */
    (*i)++;
    out[(*o)++] = v;
    return NULL;
  }
}

/* The parameters as a tuple in memory (indirect parameters). */
static zh_error *copy_params_mem(cp *c, const zh_wit_func *f, uint32_t s, uint32_t d) {
  uint32_t off = 0;
  for (size_t k = 0; k < f->nparams; k++) {
    const zh_wit_type *pt = f->params[k].type;
    off = align_to(off, zh_abi_align(pt));
    zh_error *err = copy_mem(c, pt, s + off, d + off);
    if (err)
      return err;
    off += zh_abi_size(pt);
  }
  return NULL;
}

static void params_layout(const zh_wit_func *f, uint32_t *size, uint32_t *align) {
  uint32_t off = 0, al = 1;
  for (size_t k = 0; k < f->nparams; k++) {
    uint32_t a = zh_abi_align(f->params[k].type);
    al = a > al ? a : al;
    off = align_to(off, a) + zh_abi_size(f->params[k].type);
  }
  *size = align_to(off, al);
  *align = al;
}

/* Marks B unusable when the failure is B's, and returns err. */
static zh_error *callee_fault(link_fn *lf, zh_error *err) {
  lf->b_broken = true;
  if (lf->res)
    lf->res->cal->broken = true;
  return err;
}

/* These read the core types straight from the function (f->types, one byte each): a
 * dependency call checks its callee's functions on every call (zh_link_plan_call). */
static bool realloc_sig(const zh_func *f) {
  static const uint8_t want[5] = {ZH_I32, ZH_I32, ZH_I32, ZH_I32, ZH_I32};
  return f->nparams == 4 && f->nresults == 1 && memcmp(f->types, want, sizeof want) == 0;
}

static bool post_sig(const zh_func *f, const zh_abi_sig *sig) {
  if (f->nparams != sig->nresults || f->nresults != 0)
    return false;
  for (uint32_t i = 0; i < f->nparams; i++)
    if (f->types[i] != sig->results[i])
      return false;
  return true;
}

/* Finds B for one call, after A's arguments are validated: a static link knows it already
 * (NULL), a plan asks its embedder (zh_link_plan_call). */
typedef zh_error *(*find_callee)(void *env, link_fn *lf, side *b);

static zh_error *run_link(link_fn *lf, side a, side b, find_callee find, void *find_env,
                          lends *lent, const zh_value *args, zh_value *results, uint64_t *bytes) {
  const zh_wit_func *f = lf->f;
  if (lf->b_broken || (lf->res && lf->res->cal->broken))
    return zh_error_new(ZH_ERR_TRAP, "%s: the callee trapped earlier and cannot be entered",
                        lf->name);
  cp c = {lf, a, b, false, false, false, lent, 0};
  zh_error *err, *caller_err = NULL;

  /* Arguments: A -> B. Validate all of A's data first when copying allocates in B. */
  zh_value bargs[ZH_ABI_MAX_FLAT_PARAMS + 1] = {{0}}; /* every slot B's signature reads is set */
  uint32_t size = 0, al = 1, sp = 0, dp = 0;
  if (!lf->isig.params_indirect) {
    size_t i = 0, o = 0;
    if (lf->params_ptrs)
      for (size_t k = 0; k < f->nparams; k++)
        if ((err = copy_flat(&c, f->params[k].type, args, &i, bargs, &o)))
          return err;
  } else {
    sp = (uint32_t)args[0].of.i32;
    params_layout(f, &size, &al);
    if ((err = range(&c, &c.src, "parameters", sp, size, al)) ||
        (err = copy_params_mem(&c, f, sp, 0)))
      return err;
  }
  if (find) {
    if ((err = find(find_env, lf, &b)))
      return err;
    c.dst = b;
    if (lf->b_broken)
      return zh_error_new(ZH_ERR_TRAP, "%s: the callee trapped earlier and cannot be entered",
                          lf->name);
  }
  c.copy = true;
  if (!lf->isig.params_indirect) {
    size_t i = 0, o = 0;
    for (size_t k = 0; k < f->nparams; k++)
      if ((err = copy_flat(&c, f->params[k].type, args, &i, bargs, &o)))
        return c.dst_fault ? callee_fault(lf, err) : err;
  } else {
    if ((err = alloc(&c, al, size, &dp)))
      return callee_fault(lf, err);
    if ((err = copy_params_mem(&c, f, sp, dp)))
      return c.dst_fault ? callee_fault(lf, err) : err;
    bargs[0] = zh_i32((int32_t)dp);
  }

  zh_value bres[ZH_ABI_MAX_FLAT_RESULTS] = {zh_i32(0)};
  err = invoke(b.store, lf->b_func, bargs, bres);
  if (err)
    return callee_fault(lf, zh_error_prefix(err, "%s: in the callee", lf->name));

  /* Results: B -> A. */
  if (f->result) {
    cp r = {lf, b, a, false, false, true, lent, 0};
    if (!lf->esig.results_indirect) {
      size_t i = 0, o = 0;
      r.copy = true; /* scalars only: nothing to allocate, checks happen as it goes */
      if ((err = copy_flat(&r, f->result, bres, &i, results, &o)))
        return callee_fault(lf, err);
    } else {
      uint32_t bp = (uint32_t)bres[0].of.i32, ap = (uint32_t)args[lf->isig.nparams - 1].of.i32;
      uint32_t rsize = zh_abi_size(f->result), ral = zh_abi_align(f->result);
      if ((err = range(&r, &r.src, "result", bp, rsize, ral)) ||
          (err = copy_mem(&r, f->result, bp, 0)))
        return callee_fault(lf, err);
      /* Faults of A from here on still let B's post-return free B's side. */
      r.copy = true;
      r.dst_fault = true; /* a bad return area is A's */
      err = range(&r, &r.dst, "return area", ap, rsize, ral);
      if (!err) {
        r.dst_fault = false;
        err = copy_mem(&r, f->result, bp, ap);
      }
      if (err && !r.dst_fault)
        return callee_fault(lf, err);
      caller_err = err;
    }
    c.bytes += r.bytes;
  }

  if (lf->b_post) {
    if (b.no_leave)
      *b.no_leave = true;
    err = invoke(b.store, lf->b_post, bres, NULL);
    if (b.no_leave)
      *b.no_leave = false;
    if (err) {
      zh_error_free(caller_err);
      return callee_fault(lf, zh_error_prefix(err, "%s: in the callee's post-return", lf->name));
    }
  }
  if (bytes)
    *bytes = c.bytes;
  return caller_err;
}

static zh_error *adapter_call(zh_caller *caller, link_fn *lf, lends *lent, const zh_value *args,
                              zh_value *results) {
  zh_store *store = zh_caller_store(caller);
  zh_instance *ai = zh_caller_instance(caller);
  if (ai != lf->a_inst) {
    lf->a_inst = ai;
    lf->a_realloc = ai ? zh_instance_func(ai, "cabi_realloc") : NULL;
    if (lf->a_realloc && !realloc_sig(lf->a_realloc))
      lf->a_realloc = NULL; /* treated as missing: allocating in A then traps */
  }
  side a = {zh_caller_memory(caller), lf->a_realloc, "caller", store, NULL};
  side b = {lf->b_mem, lf->b_realloc, "callee", store, NULL};
  return run_link(lf, a, b, NULL, NULL, lent, args, results, NULL);
}

static zh_error *adapter(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  link_fn *lf = env;
  lends lent = {NULL, 0, 0};
  zh_error *err = adapter_call(caller, lf, &lent, args, results);
  /* The call is over (or failed): the borrows of A's handles end (CanonicalABI.md: the
   * subtask's lenders). A handle leaves A's table only through A itself, which cannot run
   * during the call, so every lent entry is still there. */
  for (uint32_t k = 0; k < lent.n; k++) {
    zh_abi_handle *h = handle_at(&lf->res->table, lent.idx[k]);
    if (h && h->lends)
      h->lends--;
  }
  free(lent.idx);
  return err;
}

/* ---- link time ---- */

static bool sig_eq(const zh_abi_sig *s, const zh_functype *t) {
  if (t->nparams != s->nparams || t->nresults != s->nresults)
    return false;
  for (uint32_t i = 0; i < s->nparams; i++)
    if (t->params[i] != s->params[i])
      return false;
  for (uint32_t i = 0; i < s->nresults; i++)
    if (t->results[i] != s->results[i])
      return false;
  return true;
}

static zh_error *link_func(zh_store *store, zh_instance *b, const char *iface,
                           const zh_wit_func *import_type, const zh_wit_func *export_type,
                           link_res *res, zh_func **out) {
  if (out)
    *out = NULL;
  if (!store || !b || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_link_func: store, callee instance and out are required");
  zh_error *err = link_check(iface, import_type, export_type, res != NULL);
  if (err)
    return err;
  /* WIT forbids borrow<R> in results; a model built by hand might still carry one. */
  if (export_type->result && has_handles_of(export_type->result, true))
    return zh_error_new(ZH_ERR_UNLINKABLE, "cannot link %s%s%s: borrow in a result",
                        iface ? iface : "", iface ? "#" : "",
                        export_type->abi_name ? export_type->abi_name : export_type->name);
  static const char post_prefix[] = "cabi_post_";
  size_t nl = zh_abi_export_name_len(iface, export_type);
  link_fn *lf = calloc(1, sizeof *lf + (nl + 1) + (sizeof post_prefix - 1 + nl + 1));
  if (!lf)
    return zh_error_new(ZH_ERR_RESOURCE, "zh_link_func: out of memory");
  lf->name = (char *)(lf + 1);
  lf->post = lf->name + nl + 1;
  zh_abi_export_name(iface, export_type, lf->name, nl + 1);
  memcpy(lf->post, post_prefix, sizeof post_prefix - 1);
  memcpy(lf->post + sizeof post_prefix - 1, lf->name, nl + 1);
  lf->f = export_type;
  lf->b = b;
  lf->res = res;
  zh_abi_signature(import_type, true, &lf->isig);
  zh_abi_signature(export_type, false, &lf->esig);
  lf->b_func = zh_instance_func(b, lf->name);
  lf->b_realloc = zh_instance_func(b, "cabi_realloc");
  lf->b_post = zh_instance_func(b, lf->post);
  lf->b_mem = zh_instance_memory(b, "memory");
  /* Handles are validated first like pointers: all of A's are checked before any moves out
   * of its table. They need no memory of B's, though. */
  bool ptrs = false;
  for (size_t k = 0; k < export_type->nparams; k++) {
    ptrs |= has_ptrs(export_type->params[k].type);
    lf->params_ptrs |= has_handles(export_type->params[k].type);
  }
  lf->params_ptrs |= ptrs;
  bool need_mem = ptrs || lf->esig.params_indirect || lf->esig.results_indirect;
  zh_functype ft;
  if (!lf->b_func)
    err = zh_error_new(ZH_ERR_UNLINKABLE, "cannot link %s: the callee exports no such function",
                       lf->name);
  else if (zh_func_type(lf->b_func, &ft), !sig_eq(&lf->esig, &ft))
    err = zh_error_new(ZH_ERR_UNLINKABLE,
                       "cannot link %s: the callee's core function has the wrong signature "
                       "(%u params, %u results; the canonical ABI wants %u, %u)",
                       lf->name, ft.nparams, ft.nresults, lf->esig.nparams, lf->esig.nresults);
  else if (b->store != store)
    err =
        zh_error_new(ZH_ERR_USAGE, "cannot link %s: the callee belongs to another store", lf->name);
  else if (lf->b_realloc && !realloc_sig(lf->b_realloc))
    err = zh_error_new(ZH_ERR_UNLINKABLE,
                       "cannot link %s: the callee's cabi_realloc has the "
                       "wrong signature",
                       lf->name);
  else if (lf->b_post && !post_sig(lf->b_post, &lf->esig))
    err = zh_error_new(ZH_ERR_UNLINKABLE, "cannot link %s: the callee's %s has the wrong signature",
                       lf->name, lf->post);
  else if (need_mem && !lf->b_mem)
    err = zh_error_new(ZH_ERR_UNLINKABLE, "cannot link %s: the callee exports no memory", lf->name);
  else if ((ptrs || lf->esig.params_indirect) && !lf->b_realloc)
    err = zh_error_new(ZH_ERR_UNLINKABLE, "cannot link %s: the callee exports no cabi_realloc",
                       lf->name);
  if (err) {
    free(lf);
    return err;
  }
  zh_functype host = {lf->isig.nparams, lf->isig.nresults, lf->isig.params, lf->isig.results};
  zh_func *fn = zh_func_new_host(store, &host, adapter, lf);
  if (!fn) {
    free(lf);
    return zh_error_new(ZH_ERR_RESOURCE, "zh_link_func: cannot create the host function");
  }
  if (!zh_store_own(store, lf, free)) /* frees lf at once on failure */
    return zh_error_new(ZH_ERR_RESOURCE, "zh_link_func: out of memory");
  *out = fn;
  return NULL;
}

zh_error *zh_link_func(zh_store *store, zh_instance *b, const char *iface,
                       const zh_wit_func *import_type, const zh_wit_func *export_type,
                       zh_func **out) {
  return link_func(store, b, iface, import_type, export_type, NULL, out);
}

/* ---- plans: the callee found per call ---- */

struct zh_link_plan {
  link_fn lf; /* everything but B; each call works on a copy, so the plan stays immutable */
};

zh_error *zh_link_plan_new(const char *iface, const zh_wit_func *import_type,
                           const zh_wit_func *export_type, zh_link_plan **out) {
  *out = NULL;
  zh_error *err = link_check(iface, import_type, export_type, false);
  if (err)
    return err;
  size_t nl = zh_abi_export_name_len(iface, export_type);
  zh_link_plan *p = calloc(1, sizeof *p + nl + 1);
  if (!p)
    return zh_error_oom();
  link_fn *lf = &p->lf;
  lf->name = (char *)(p + 1);
  zh_abi_export_name(iface, export_type, lf->name, nl + 1);
  lf->f = export_type;
  zh_abi_signature(import_type, true, &lf->isig);
  zh_abi_signature(export_type, false, &lf->esig);
  for (size_t k = 0; k < export_type->nparams; k++)
    lf->params_ptrs |= has_ptrs(export_type->params[k].type);
  *out = p;
  return NULL;
}

void zh_link_plan_free(zh_link_plan *plan) { free(plan); }

const char *zh_link_plan_name(const zh_link_plan *plan) { return plan->lf.name; }

typedef struct plan_find {
  zh_link_resolve resolve;
  void *env;
  zh_link_target t;
} plan_find;

/* The embedder's target, checked against the plan as zh_link_func checks B at link time. */
static zh_error *plan_callee(void *env, link_fn *lf, side *b) {
  plan_find *pf = env;
  zh_link_target *t = &pf->t;
  memset(t, 0, sizeof *t);
  zh_error *err = pf->resolve(pf->env, t);
  if (err)
    return err;
  bool ptrs = lf->params_ptrs;
  bool need_mem = ptrs || lf->esig.params_indirect || lf->esig.results_indirect;
  zh_functype ft;
  if (!t->func || !t->store)
    return zh_error_new(ZH_ERR_USAGE, "%s: the callee's function or store is missing", lf->name);
  zh_func_type(t->func, &ft);
  if (!sig_eq(&lf->esig, &ft))
    err = zh_error_new(ZH_ERR_TRAP,
                       "%s: the callee's core function has the wrong signature (%u params, %u "
                       "results; the canonical ABI wants %u, %u)",
                       lf->name, ft.nparams, ft.nresults, lf->esig.nparams, lf->esig.nresults);
  else if (t->realloc && !realloc_sig(t->realloc))
    err = zh_error_new(ZH_ERR_TRAP, "%s: the callee's cabi_realloc has the wrong signature",
                       lf->name);
  else if (t->post && !post_sig(t->post, &lf->esig))
    err =
        zh_error_new(ZH_ERR_TRAP, "%s: the callee's post-return has the wrong signature", lf->name);
  else if (need_mem && !t->memory)
    err = zh_error_new(ZH_ERR_TRAP, "%s: the callee has no memory", lf->name);
  else if ((ptrs || lf->esig.params_indirect) && !t->realloc)
    err = zh_error_new(ZH_ERR_TRAP, "%s: the callee has no cabi_realloc", lf->name);
  if (err)
    return callee_fault(lf, err);
  lf->b_func = t->func;
  lf->b_realloc = t->realloc;
  lf->b_post = t->post;
  lf->b_mem = t->memory;
  *b = (side){t->memory, t->realloc, "callee", t->store, t->no_leave};
  return NULL;
}

zh_error *zh_link_plan_call(const zh_link_plan *plan, const zh_link_caller *caller,
                            zh_link_resolve resolve, void *env, const zh_value *args,
                            zh_value *results, zh_link_stats *stats) {
  link_fn lf = plan->lf;
  plan_find pf = {resolve, env, {0}};
  side a = {caller->memory, caller->realloc, "caller", caller->store, caller->no_leave};
  if (a.realloc && !realloc_sig(a.realloc))
    a.realloc = NULL; /* treated as missing: allocating in A then traps */
  side b = {NULL, NULL, "callee", NULL, NULL};
  uint64_t bytes = 0;
  zh_error *err = run_link(&lf, a, b, plan_callee, &pf, NULL, args, results, &bytes);
  if (stats) {
    stats->bytes = bytes;
    stats->callee_fault = lf.b_broken;
  }
  return err;
}

/* ---- resource built-ins ---- */

enum { OP_NEW, OP_REP, OP_DROP };

/* One [resource-new]/[resource-rep]/[resource-drop] import: B's (on its own resources, in
 * module "[export]IFACE") or A's drop (res set). */
typedef struct builtin {
  char *what; /* "IFACE#[resource-drop]R", for messages; stored after the struct */
  int op;
  const zh_wit_type *rt; /* B's resource type */
  zh_link_callee *cal;
  link_res *res; /* A's drop only */
} builtin;

static zh_error *builtin_trap(const builtin *bi, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static zh_error *builtin_trap(const builtin *bi, const char *fmt, ...) {
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return zh_error_new(ZH_ERR_TRAP, "%s: %s", bi->what, msg);
}

static zh_error *builtin_call(zh_caller *caller, void *env, const zh_value *args,
                              zh_value *results) {
  (void)caller;
  builtin *bi = env;
  zh_abi_table *t = bi->res ? &bi->res->table : &bi->cal->table;
  uint32_t i = (uint32_t)args[0].of.i32;
  if (bi->op == OP_NEW) {
    uint32_t h = 0;
    zh_error *err = handle_add(t, bi->what, bi->rt, (uint32_t)args[0].of.i32, &h);
    results[0] = zh_i32((int32_t)h);
    return err;
  }
  zh_abi_handle *e = handle_at(t, i);
  if (!e)
    return builtin_trap(bi, "unknown resource handle %u (dangling, dropped or never created)", i);
  if (!res_same(e->rt, bi->rt))
    return builtin_trap(bi, "resource handle %u is not a %s", i, bi->rt->name);
  if (bi->op == OP_REP) {
    results[0] = zh_i32((int32_t)(uint32_t)e->rep);
    return NULL;
  }
  if (e->lends)
    return builtin_trap(bi, "resource handle %u is dropped while it is lent out", i);
  zh_abi_handle h = *e;
  handle_free(t, i);
  if (!h.own)
    return NULL;
  /* A's drop runs B's code: not once B is fenced. B's own drop runs inside B. */
  if (bi->res && bi->cal->broken)
    return builtin_trap(bi, "the callee trapped earlier and cannot be entered");
  return run_dtor(bi->cal, h.rt, h.rep, bi->what);
}

/* The resource R of "[resource-drop]R" etc. in interface `in`, or NULL. */
static const zh_wit_type *builtin_res(const zh_wit_interface *in, const char *name, int *op) {
  static const char *const pre[] = {"[resource-new]", "[resource-rep]", "[resource-drop]"};
  for (int k = 0; k < 3; k++) {
    size_t l = strlen(pre[k]);
    if (strncmp(name, pre[k], l) == 0) {
      *op = k;
      const zh_wit_type *rt = in ? zh_wit_interface_type(in, name + l) : NULL;
      rt = rt ? zh_abi_unalias(rt) : NULL;
      return rt && rt->kind == ZH_WIT_RESOURCE ? rt : NULL;
    }
  }
  return NULL;
}

static zh_error *builtin_new(zh_store *store, zh_link_callee *cal, link_res *res, int op,
                             const zh_wit_type *rt, const char *iface, const zh_import_info *imp,
                             zh_func **out) {
  zh_valtype i32 = ZH_I32;
  zh_functype want = {1, op == OP_DROP ? 0u : 1u, &i32, &i32};
  if (imp->kind != ZH_EXTERN_FUNC || imp->func.nparams != want.nparams ||
      imp->func.nresults != want.nresults || imp->func.params[0] != ZH_I32 ||
      (want.nresults && imp->func.results[0] != ZH_I32))
    return zh_error_new(ZH_ERR_UNLINKABLE, "cannot link %s#%s: wrong core signature", iface,
                        imp->name);
  if (!out)
    return NULL;
  size_t wl = strlen(iface) + 1 + strlen(imp->name);
  builtin *bi = calloc(1, sizeof *bi + wl + 1);
  if (!bi)
    return zh_error_new(ZH_ERR_RESOURCE, "link: out of memory");
  bi->what = (char *)(bi + 1);
  snprintf(bi->what, wl + 1, "%s#%s", iface, imp->name);
  bi->op = op;
  bi->rt = rt;
  bi->cal = cal;
  bi->res = res;
  zh_func *fn = zh_func_new_host(store, &want, builtin_call, bi);
  if (!fn) {
    free(bi);
    return zh_error_new(ZH_ERR_RESOURCE, "link: cannot create the host function");
  }
  if (!zh_store_own(store, bi, free))
    return zh_error_new(ZH_ERR_RESOURCE, "link: out of memory");
  *out = fn;
  return NULL;
}

static const zh_wit_interface *world_export_iface(const zh_wit_world *w, const char *q) {
  for (size_t k = 0; k < w->nexports; k++)
    if (w->exports[k].kind == ZH_WIT_ITEM_INTERFACE && w->exports[k].iface->qualified &&
        strcmp(w->exports[k].iface->qualified, q) == 0)
      return w->exports[k].iface;
  return NULL;
}

static void world_release(void *holder) { zh_cm_component_free(holder); }

/* No world given: the one module `m` carries in its component-type section (zh_cm_core_world),
 * kept as long as the store, which the adapters pointing into it live in. */
static zh_error *carried_world(zh_store *store, const zh_module *m, const zh_wit_world **w) {
  if (*w || !store || !m)
    return NULL; /* given, or link_imports reports the missing argument */
  zh_cm_component *holder = NULL;
  zh_error *err = zh_cm_core_world(m->engine, m, m->name, &holder);
  if (err)
    return err;
  if (!zh_store_own(store, holder, world_release))
    return zh_error_oom();
  *w = zh_cm_component_world(holder);
  return NULL;
}

zh_error *zh_link_callee_new(zh_store *store, const zh_module *b, const zh_wit_world *b_world,
                             zh_extern *imports, size_t nimports, zh_link_callee **out) {
  if (out)
    *out = NULL;
  zh_error *werr = carried_world(store, b, &b_world);
  if (werr)
    return werr;
  if (!store || !b || !b_world || !out || (nimports && !imports))
    return zh_error_new(ZH_ERR_USAGE, "zh_link_callee_new: missing argument");
  size_t n = zh_module_import_count(b);
  if (nimports != n)
    return zh_error_new(ZH_ERR_USAGE, "zh_link_callee_new: the module has %zu imports, got %zu", n,
                        nimports);
  static const char ex[] = "[export]";
  zh_link_callee *cal = calloc(1, sizeof *cal);
  if (!cal)
    return zh_error_new(ZH_ERR_RESOURCE, "zh_link_callee_new: out of memory");
  cal->store = store;
  if (!zh_store_own(store, cal, callee_release))
    return zh_error_new(ZH_ERR_RESOURCE, "zh_link_callee_new: out of memory");
  /* Pass 0 checks every import, pass 1 creates: nothing is set unless all are good. */
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < n; i++) {
      zh_import_info imp;
      zh_module_import(b, i, &imp);
      if (strncmp(imp.module, ex, sizeof ex - 1) != 0)
        continue;
      const char *q = imp.module + sizeof ex - 1;
      int op = -1;
      const zh_wit_type *rt = builtin_res(world_export_iface(b_world, q), imp.name, &op);
      if (!rt)
        return zh_error_new(ZH_ERR_UNLINKABLE,
                            "cannot link %s#%s: the callee's world exports no such resource "
                            "built-in",
                            imp.module, imp.name);
      zh_error *err =
          builtin_new(store, cal, NULL, op, rt, q, &imp, pass ? &imports[i].of.func : NULL);
      if (err)
        return err;
      if (pass)
        imports[i].kind = ZH_EXTERN_FUNC;
    }
  }
  *out = cal;
  return NULL;
}

zh_error *zh_link_callee_bind(zh_link_callee *cal, zh_instance *b) {
  if (!cal || !b)
    return zh_error_new(ZH_ERR_USAGE, "zh_link_callee_bind: missing argument");
  if (b->store != cal->store)
    return zh_error_new(ZH_ERR_USAGE, "zh_link_callee_bind: the instance belongs to another store");
  cal->b = b;
  return NULL;
}

bool zh_link_callee_broken(const zh_link_callee *cal) { return cal && cal->broken; }

size_t zh_link_callee_handles(const zh_link_callee *cal) {
  size_t k = 0;
  for (uint32_t i = 1; cal && i < cal->table.len; i++)
    k += cal->table.h[i].rt != NULL;
  return k;
}

/* The WIT function behind A's core import (module, name) in world w, or NULL if the import
 * is not a WIT one. *iface gets the qualified interface name or NULL (world level). */
static const zh_wit_func *world_import_func(const zh_wit_world *w, const char *module,
                                            const char *name, const char **iface, bool *is_wit) {
  *is_wit = false;
  *iface = NULL;
  for (size_t k = 0; k < w->nimports; k++) {
    const zh_wit_world_item *it = &w->imports[k];
    if (it->kind == ZH_WIT_ITEM_INTERFACE && it->iface->qualified &&
        strcmp(it->iface->qualified, module) == 0) {
      *is_wit = true;
      *iface = it->iface->qualified;
      return zh_wit_interface_func(it->iface, name);
    }
    if (it->kind == ZH_WIT_ITEM_FUNC && strcmp(module, "$root") == 0) {
      *is_wit = true;
      const char *an = it->func->abi_name ? it->func->abi_name : it->func->name;
      if (strcmp(an, name) == 0)
        return it->func;
    }
  }
  return NULL;
}

static const zh_wit_func *world_export_func(const zh_wit_world *w, const char *iface,
                                            const char *name) {
  for (size_t k = 0; k < w->nexports; k++) {
    const zh_wit_world_item *it = &w->exports[k];
    if (iface && it->kind == ZH_WIT_ITEM_INTERFACE && it->iface->qualified &&
        strcmp(it->iface->qualified, iface) == 0)
      return zh_wit_interface_func(it->iface, name);
    if (!iface && it->kind == ZH_WIT_ITEM_FUNC) {
      const char *an = it->func->abi_name ? it->func->abi_name : it->func->name;
      if (strcmp(an, name) == 0)
        return it->func;
    }
  }
  return NULL;
}

static const zh_wit_interface *world_import_iface(const zh_wit_world *w, const char *q) {
  for (size_t k = 0; k < w->nimports; k++)
    if (w->imports[k].kind == ZH_WIT_ITEM_INTERFACE && w->imports[k].iface->qualified &&
        strcmp(w->imports[k].iface->qualified, q) == 0)
      return w->imports[k].iface;
  return NULL;
}

/* A's "[resource-drop]R" of an imported interface: checked (out NULL) or created. */
static zh_error *link_drop(zh_store *store, const zh_wit_world *a_world,
                           const zh_wit_world *b_world, zh_link_callee *cal, link_res *res,
                           const char *iface, const zh_import_info *imp, zh_func **out) {
  int op = -1;
  const zh_wit_type *art = builtin_res(world_import_iface(a_world, iface), imp->name, &op);
  const zh_wit_type *brt = builtin_res(world_export_iface(b_world, iface), imp->name, &op);
  if (!art || !brt || op != OP_DROP || !res_same(art, brt))
    return zh_error_new(ZH_ERR_UNLINKABLE, "cannot link %s#%s: %s", iface, imp->name,
                        op != OP_DROP ? "only [resource-drop] can be imported for a resource of "
                                        "another instance"
                                      : "no such resource on both sides");
  return builtin_new(store, cal, res, OP_DROP, brt, iface, imp, out);
}

static zh_error *link_imports(zh_store *store, const zh_module *a, const zh_wit_world *a_world,
                              zh_instance *b, const zh_wit_world *b_world, zh_link_callee *cal,
                              zh_extern *imports, size_t nimports, size_t *nlinked) {
  if (nlinked)
    *nlinked = 0;
  if (!store || !a || !a_world || !b || !b_world || (nimports && !imports))
    return zh_error_new(ZH_ERR_USAGE, "zh_link_imports: missing argument");
  link_res *res = NULL;
  size_t n = zh_module_import_count(a);
  if (nimports != n)
    return zh_error_new(ZH_ERR_USAGE,
                        "zh_link_imports: the module has %zu imports, got room "
                        "for %zu",
                        n, nimports);
  if (cal && (cal->b != b || cal->store != store))
    return zh_error_new(ZH_ERR_USAGE,
                        "zh_link_imports_callee: bind the callee first, in the same store");
  /* Check every WIT import before creating anything. */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1 && cal) {
      /* A's handle table, shared by every function of this link and A's drops. */
      res = calloc(1, sizeof *res);
      if (!res)
        return zh_error_new(ZH_ERR_RESOURCE, "zh_link_imports: out of memory");
      res->cal = cal;
      if (!zh_store_own(store, res, res_release))
        return zh_error_new(ZH_ERR_RESOURCE, "zh_link_imports: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
      zh_import_info imp;
      zh_module_import(a, i, &imp);
      const char *iface;
      bool is_wit;
      const zh_wit_func *want = world_import_func(a_world, imp.module, imp.name, &iface, &is_wit);
      if (!is_wit)
        continue;
      if (!want && cal && iface && imp.name[0] == '[') {
        zh_func *fn = NULL;
        zh_error *err =
            link_drop(store, a_world, b_world, cal, res, iface, &imp, pass ? &fn : NULL);
        if (err)
          return err;
        if (pass) {
          imports[i].kind = ZH_EXTERN_FUNC;
          imports[i].of.func = fn;
          if (nlinked)
            (*nlinked)++;
        }
        continue;
      }
      if (!want)
        return zh_error_new(ZH_ERR_UNLINKABLE,
                            "cannot link %s#%s: the caller's world has no "
                            "such function",
                            imp.module, imp.name);
      const zh_wit_func *have = world_export_func(b_world, iface, imp.name);
      if (!have)
        return zh_error_new(ZH_ERR_UNLINKABLE, "cannot link %s%s%s: the callee does not export it",
                            iface ? iface : "", iface ? "#" : "", imp.name);
      zh_error *err;
      if (pass == 0) {
        zh_abi_sig sig;
        if ((err = link_check(iface, want, have, cal != NULL)))
          return err;
        zh_abi_signature(want, true, &sig);
        if (imp.kind != ZH_EXTERN_FUNC || !sig_eq(&sig, &imp.func))
          return zh_error_new(ZH_ERR_UNLINKABLE,
                              "cannot link %s%s%s: the caller's core import has the wrong "
                              "signature for the canonical ABI",
                              iface ? iface : "", iface ? "#" : "", imp.name);
        continue;
      }
      zh_func *fn;
      if ((err = link_func(store, b, iface, want, have, res, &fn)))
        return err;
      imports[i].kind = ZH_EXTERN_FUNC;
      imports[i].of.func = fn;
      if (nlinked)
        (*nlinked)++;
    }
  }
  return NULL;
}

zh_error *zh_link_imports(zh_store *store, const zh_module *a, const zh_wit_world *a_world,
                          zh_instance *b, const zh_wit_world *b_world, zh_extern *imports,
                          size_t nimports, size_t *nlinked) {
  if (nlinked)
    *nlinked = 0;
  zh_error *err = carried_world(store, a, &a_world);
  if (!err)
    err = carried_world(store, b ? b->module : NULL, &b_world);
  if (err)
    return err;
  return link_imports(store, a, a_world, b, b_world, NULL, imports, nimports, nlinked);
}

zh_error *zh_link_imports_callee(zh_store *store, const zh_module *a, const zh_wit_world *a_world,
                                 zh_link_callee *callee, const zh_wit_world *b_world,
                                 zh_extern *imports, size_t nimports, size_t *nlinked) {
  if (!callee)
    return zh_error_new(ZH_ERR_USAGE, "zh_link_imports_callee: no callee");
  if (nlinked)
    *nlinked = 0;
  zh_error *err = carried_world(store, a, &a_world);
  if (!err)
    err = carried_world(store, callee->b ? callee->b->module : NULL, &b_world);
  if (err)
    return err;
  return link_imports(store, a, a_world, callee->b, b_world, callee, imports, nimports, nlinked);
}
