/* Component types: equality of value types, subtyping of extern types, and substitution of
 * abstract resources by the types that instantiation supplies for them.
 *
 * Value and function types compare structurally (the stable model's subtyping on them is
 * equality); resource types compare by identity. Instance and component types use width
 * subtyping: an instance may export more than its expected type names, a component may
 * import less. Recursion is bounded by `depth` (CB_MAX_DEPTH): types are built bottom-up by
 * the parser, so they are trees no deeper than that cap. */
#include "component/cb_internal.h"

#include <stdio.h>
#include <string.h>

const zh_wit_type cb_error_type = {.kind = ZH_WIT_BOOL, .name = "<error>"};

/* Resources compare by identity: the shared walker's default. */
bool cb_val_eq(const zh_wit_type *a, const zh_wit_type *b) {
  return zh_wit_type_equal(a, b, NULL, NULL);
}

bool cb_func_eq(const zh_wit_func *a, const zh_wit_func *b) {
  if (a->nparams != b->nparams)
    return false;
  for (size_t i = 0; i < a->nparams; i++)
    if (strcmp(a->params[i].name, b->params[i].name) != 0 ||
        !cb_val_eq(a->params[i].type, b->params[i].type))
      return false;
  return cb_val_eq(a->result, b->result);
}

bool cb_val_has_borrow(const zh_wit_type *t, int depth) {
  t = zh_wit_type_unalias(t);
  if (!t || depth > CB_MAX_DEPTH)
    return false;
  switch (t->kind) {
  case ZH_WIT_BORROW:
    return true;
  case ZH_WIT_LIST:
  case ZH_WIT_OPTION:
  case ZH_WIT_FUTURE:
  case ZH_WIT_STREAM:
    return cb_val_has_borrow(t->elem, depth + 1);
  case ZH_WIT_RESULT:
    return cb_val_has_borrow(t->elem, depth + 1) || cb_val_has_borrow(t->err, depth + 1);
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
    for (size_t i = 0; i < t->nfields; i++)
      if (cb_val_has_borrow(t->fields[i].type, depth + 1))
        return true;
    return false;
  default:
    return false;
  }
}

/* ---- substitution ---- */

bool cb_subst_add(wit_arena *a, cb_subst *s, const zh_wit_type *from, const zh_wit_type *to) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    const zh_wit_type **f = wit_alloc(a, cap * sizeof(const zh_wit_type *));
    const zh_wit_type **t = wit_alloc(a, cap * sizeof(const zh_wit_type *));
    if (!f || !t)
      return false;
    if (s->n) {
      memcpy(f, s->from, s->n * sizeof(const zh_wit_type *));
      memcpy(t, s->to, s->n * sizeof(const zh_wit_type *));
    }
    s->from = f, s->to = t, s->cap = cap;
  }
  s->from[s->n] = from;
  s->to[s->n] = to;
  s->n++;
  return true;
}

static const zh_wit_type *subst_lookup(const cb_subst *s, const zh_wit_type *t) {
  for (size_t i = s->n; i-- > 0;)
    if (s->from[i] == t)
      return s->to[i];
  return NULL;
}

/* Copies t where it mentions a substituted resource; shares it otherwise. NULL on OOM. */
const zh_wit_type *cb_subst_val(wit_arena *a, const cb_subst *s, const zh_wit_type *t, int depth) {
  if (!t || !s || s->n == 0)
    return t;
  if (t->kind == ZH_WIT_ALIAS) {
    const zh_wit_type *m = subst_lookup(s, t); /* a named type bound by instantiation */
    if (m)
      return m;
    const zh_wit_type *u = cb_subst_val(a, s, t->elem, depth + 1);
    return u == t->elem ? t : u;
  }
  if (depth > CB_MAX_DEPTH)
    return t;
  if (t->kind == ZH_WIT_RESOURCE) {
    const zh_wit_type *r = subst_lookup(s, t);
    return r ? r : t;
  }
  zh_wit_type tmp = *t;
  bool changed = false;
  if (t->elem) {
    tmp.elem = cb_subst_val(a, s, t->elem, depth + 1);
    changed |= tmp.elem != t->elem;
  }
  if (t->err) {
    tmp.err = cb_subst_val(a, s, t->err, depth + 1);
    changed |= tmp.err != t->err;
  }
  zh_wit_field *fields = NULL;
  for (size_t i = 0; i < t->nfields; i++) {
    const zh_wit_type *ft = cb_subst_val(a, s, t->fields[i].type, depth + 1);
    if (ft != t->fields[i].type && !fields) {
      fields = wit_alloc(a, t->nfields * sizeof *fields);
      if (!fields)
        return NULL;
      memcpy(fields, t->fields, t->nfields * sizeof *fields);
    }
    if (fields)
      fields[i].type = ft;
  }
  if (fields) {
    tmp.fields = fields;
    changed = true;
  }
  if (!changed)
    return t;
  zh_wit_type *n = wit_alloc(a, sizeof *n);
  if (!n)
    return NULL;
  *n = tmp;
  return n;
}

const zh_wit_func *cb_subst_func(wit_arena *a, const cb_subst *s, const zh_wit_func *f) {
  if (!s || s->n == 0)
    return f;
  zh_wit_func *n = wit_alloc(a, sizeof *n);
  zh_wit_field *p = f->nparams ? wit_alloc(a, f->nparams * sizeof *p) : NULL;
  if (!n || (f->nparams && !p))
    return NULL;
  *n = *f;
  for (size_t i = 0; i < f->nparams; i++) {
    p[i] = f->params[i];
    p[i].type = cb_subst_val(a, s, f->params[i].type, 0);
  }
  n->params = p;
  n->result = cb_subst_val(a, s, f->result, 0);
  return n;
}

static cb_named *subst_named(wit_arena *a, const cb_subst *s, const cb_named *v, size_t n,
                             int depth) {
  if (!n)
    return NULL;
  cb_named *out = wit_alloc(a, n * sizeof *out);
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    out[i].name = v[i].name;
    out[i].ext = cb_subst_ext(a, s, v[i].ext, depth + 1);
  }
  return out;
}

const cb_type *cb_subst_type(wit_arena *a, const cb_subst *s, const cb_type *t, int depth) {
  if (!t || !s || s->n == 0 || depth > CB_MAX_DEPTH)
    return t;
  cb_type *n = wit_alloc(a, sizeof *n);
  if (!n)
    return t;
  *n = *t;
  switch (t->kind) {
  case CB_T_VAL:
  case CB_T_RESOURCE:
    n->val = cb_subst_val(a, s, t->val, depth + 1);
    if (n->val && n->val->kind == ZH_WIT_RESOURCE)
      n->kind = CB_T_RESOURCE;
    break;
  case CB_T_FUNC:
    n->func = cb_subst_func(a, s, t->func);
    break;
  case CB_T_COMPONENT:
  case CB_T_INSTANCE:
    n->imports = subst_named(a, s, t->imports, t->nimports, depth);
    n->exports = subst_named(a, s, t->exports, t->nexports, depth);
    break;
  }
  return n;
}

cb_ext cb_subst_ext(wit_arena *a, const cb_subst *s, cb_ext e, int depth) {
  if (e.type)
    e.type = cb_subst_type(a, s, e.type, depth + 1);
  if (e.val)
    e.val = cb_subst_val(a, s, e.val, depth + 1);
  return e;
}

/* ---- subtyping ---- */

bool cb_coreext_sub(const cb_coreext *a, const cb_coreext *b) {
  if (a->kind != b->kind)
    return false;
  switch (a->kind) {
  case ZH_EXTERN_FUNC:
    if (a->func->nparams != b->func->nparams || a->func->nresults != b->func->nresults)
      return false;
    for (uint32_t i = 0; i < a->func->nparams; i++)
      if (a->func->params[i] != b->func->params[i])
        return false;
    for (uint32_t i = 0; i < a->func->nresults; i++)
      if (a->func->results[i] != b->func->results[i])
        return false;
    return true;
  case ZH_EXTERN_TABLE:
  case ZH_EXTERN_MEMORY:
    if (a->kind == ZH_EXTERN_TABLE && a->type != b->type)
      return false;
    if (a->limits.min < b->limits.min)
      return false;
    if (b->limits.has_max && (!a->limits.has_max || a->limits.max > b->limits.max))
      return false;
    return true;
  case ZH_EXTERN_GLOBAL:
    return a->type == b->type && a->mut == b->mut;
  }
  return false;
}

static const cb_corenamed *core_find(const cb_corenamed *v, size_t n, const char *module,
                                     const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].name, name) == 0 && (!module || strcmp(v[i].module, module) == 0))
      return &v[i];
  return NULL;
}

bool cb_coremod_sub(const cb_coremod *a, const cb_coremod *b, const char **why) {
  for (size_t i = 0; i < a->nimports; i++) {
    const cb_corenamed *bi =
        core_find(b->imports, b->nimports, a->imports[i].module, a->imports[i].name);
    if (!bi || !cb_coreext_sub(&bi->ext, &a->imports[i].ext)) {
      *why = "module import mismatch";
      return false;
    }
  }
  for (size_t i = 0; i < b->nexports; i++) {
    const cb_corenamed *ae = core_find(a->exports, a->nexports, NULL, b->exports[i].name);
    if (!ae || !cb_coreext_sub(&ae->ext, &b->exports[i].ext)) {
      *why = "module export mismatch";
      return false;
    }
  }
  return true;
}

static const cb_named *named_find(const cb_named *v, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].name, name) == 0)
      return &v[i];
  return NULL;
}

static bool type_sub(wit_arena *ar, const cb_type *a, const cb_type *b, const char **why,
                     int depth);

/* Instance/component subtyping. Resources that b's exports introduce are matched to a's as
 * the names line up, so later types that mention them compare correctly. */
static bool named_sub(wit_arena *ar, const cb_named *av, size_t an, const cb_named *bv, size_t bn,
                      const char *what, const char **why, int depth, cb_subst *s, bool subst_a) {
  for (size_t i = 0; i < bn; i++) {
    const cb_named *x = named_find(av, an, bv[i].name);
    if (!x) {
      *why = wit_format(ar, "missing %s named `%s`", what, bv[i].name);
      return false;
    }
    /* One side is rewritten into the other's resources as they are matched up. */
    cb_ext xe = subst_a ? cb_subst_ext(ar, s, x->ext, depth + 1) : x->ext;
    cb_ext be = subst_a ? bv[i].ext : cb_subst_ext(ar, s, bv[i].ext, depth + 1);
    if (be.sort == CB_TYPE && xe.sort == CB_TYPE && be.type && xe.type &&
        be.type->kind == CB_T_RESOURCE && xe.type->kind == CB_T_RESOURCE &&
        zh_wit_type_unalias(be.type->val) != zh_wit_type_unalias(xe.type->val)) {
      const zh_wit_type *from = zh_wit_type_unalias(subst_a ? xe.type->val : be.type->val);
      const zh_wit_type *to = zh_wit_type_unalias(subst_a ? be.type->val : xe.type->val);
      if (!cb_subst_add(ar, s, from, to))
        return false;
      continue;
    }
    if (!cb_ext_sub(ar, &xe, &be, why, depth + 1)) {
      *why = wit_format(ar, "type mismatch in %s `%s`: %s", what, bv[i].name,
                        *why ? *why : "types differ");
      return false;
    }
  }
  return true;
}

static bool type_sub(wit_arena *ar, const cb_type *a, const cb_type *b, const char **why,
                     int depth) {
  if (a == b)
    return true;
  if (depth > CB_MAX_DEPTH) {
    *why = "type nesting too deep";
    return false;
  }
  bool aval = a->kind == CB_T_VAL || a->kind == CB_T_RESOURCE;
  bool bval = b->kind == CB_T_VAL || b->kind == CB_T_RESOURCE;
  if (aval != bval || (!aval && a->kind != b->kind)) {
    *why = "expected a different kind of type";
    return false;
  }
  switch (a->kind) {
  case CB_T_VAL:
  case CB_T_RESOURCE:
    if (!cb_val_eq(a->val, b->val)) {
      *why = a->kind == CB_T_RESOURCE || b->kind == CB_T_RESOURCE
                 ? "resource types are not the same"
                 : "value types differ";
      return false;
    }
    return true;
  case CB_T_FUNC:
    if (!cb_func_eq(a->func, b->func)) {
      *why = "function types differ";
      return false;
    }
    return true;
  case CB_T_INSTANCE: {
    cb_subst s = {0};
    return named_sub(ar, a->exports, a->nexports, b->exports, b->nexports, "export", why, depth, &s,
                     false);
  }
  case CB_T_COMPONENT: {
    /* Contravariant imports: every import of a must be satisfiable by b's imports. */
    cb_subst s = {0};
    if (!named_sub(ar, b->imports, b->nimports, a->imports, a->nimports, "import", why, depth, &s,
                   true))
      return false;
    return named_sub(ar, a->exports, a->nexports, b->exports, b->nexports, "export", why, depth, &s,
                     false);
  }
  }
  return false;
}

static const char *sort_word(cb_sort s) { return cb_sort_name(s); }

bool cb_ext_sub(wit_arena *ar, const cb_ext *a, const cb_ext *b, const char **why, int depth) {
  *why = NULL;
  if (a->sort != b->sort) {
    *why = wit_format(ar, "expected %s, found %s", sort_word(b->sort), sort_word(a->sort));
    return false;
  }
  switch (a->sort) {
  case CB_CORE_MODULE:
    return cb_coremod_sub(a->module, b->module, why);
  case CB_VALUE:
    if (!cb_val_eq(a->val, b->val)) {
      *why = "value types differ";
      return false;
    }
    return true;
  default:
    if (!a->type || !b->type)
      return a->type == b->type;
    return type_sub(ar, a->type, b->type, why, depth);
  }
}

/* ---- text ---- */

static void val_text(wit_arena *a, const zh_wit_type *t, char *buf, size_t cap, size_t *len,
                     int depth) {
#define PUT(...)                                                                                   \
  do {                                                                                             \
    int k_ = snprintf(buf + *len, cap - *len, __VA_ARGS__);                                        \
    if (k_ > 0)                                                                                    \
      *len = *len + (size_t)k_ < cap ? *len + (size_t)k_ : cap - 1;                                \
  } while (0)
  t = zh_wit_type_unalias(t);
  if (!t) {
    PUT("_");
    return;
  }
  if (depth > 8) {
    PUT("...");
    return;
  }
  switch (t->kind) {
  case ZH_WIT_LIST:
  case ZH_WIT_OPTION:
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW:
    PUT("%s<", zh_wit_type_kind_name(t->kind));
    if (t->kind == ZH_WIT_OWN || t->kind == ZH_WIT_BORROW)
      PUT("%s", t->elem && t->elem->name ? t->elem->name : "resource");
    else
      val_text(a, t->elem, buf, cap, len, depth + 1);
    PUT(">");
    break;
  case ZH_WIT_RESULT:
    PUT("result<");
    val_text(a, t->elem, buf, cap, len, depth + 1);
    PUT(", ");
    val_text(a, t->err, buf, cap, len, depth + 1);
    PUT(">");
    break;
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_FLAGS:
    PUT("%s { ", zh_wit_type_kind_name(t->kind));
    for (size_t i = 0; i < t->nfields; i++) {
      if (t->fields[i].name)
        PUT("%s%s", t->fields[i].name, t->fields[i].type ? ": " : "");
      if (t->fields[i].type)
        val_text(a, t->fields[i].type, buf, cap, len, depth + 1);
      PUT(i + 1 < t->nfields ? ", " : " ");
    }
    PUT("}");
    break;
  case ZH_WIT_RESOURCE:
    PUT("resource %s", t->name ? t->name : "");
    break;
  default:
    PUT("%s", zh_wit_type_kind_name(t->kind));
  }
#undef PUT
}

const char *cb_val_text(wit_arena *a, const zh_wit_type *t) {
  char buf[512];
  size_t len = 0;
  buf[0] = 0;
  val_text(a, t, buf, sizeof buf, &len, 0);
  const char *s = wit_strdup(a, buf);
  return s ? s : "?";
}

const char *cb_sort_name(cb_sort s) {
  static const char *const names[CB_NSORTS] = {
      "core func",     "core table", "core memory", "core global", "core type", "core module",
      "core instance", "func",       "value",       "type",        "component", "instance"};
  return s < CB_NSORTS ? names[s] : "?";
}
