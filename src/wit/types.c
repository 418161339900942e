/* Types and functions of one scope (an interface or a world).
 *
 * Names may be used before their definition, so a scope is resolved in passes: declare every
 * name (a shell type per definition), define the types, then the functions. A definition is
 * resolved when first referenced; meeting one that is still being resolved is a cycle (WIT
 * types cannot be recursive). Resources have no body, so handles to them never cycle. */
#include "wit/resolve.h"

#include <string.h>

/* Current WIT caps flags at 32; the canonical ABI's original layout (one i32 per 32 flags)
 * handles any number, and component-to-component contracts with wide permission sets use
 * it, so more are accepted, up to a bound that keeps a flags value small. */
#define MAX_FLAGS 1024

static const zh_wit_type k_prims[] = {
    [ZH_WIT_BOOL] = {.kind = ZH_WIT_BOOL},     [ZH_WIT_S8] = {.kind = ZH_WIT_S8},
    [ZH_WIT_S16] = {.kind = ZH_WIT_S16},       [ZH_WIT_S32] = {.kind = ZH_WIT_S32},
    [ZH_WIT_S64] = {.kind = ZH_WIT_S64},       [ZH_WIT_U8] = {.kind = ZH_WIT_U8},
    [ZH_WIT_U16] = {.kind = ZH_WIT_U16},       [ZH_WIT_U32] = {.kind = ZH_WIT_U32},
    [ZH_WIT_U64] = {.kind = ZH_WIT_U64},       [ZH_WIT_F32] = {.kind = ZH_WIT_F32},
    [ZH_WIT_F64] = {.kind = ZH_WIT_F64},       [ZH_WIT_CHAR] = {.kind = ZH_WIT_CHAR},
    [ZH_WIT_STRING] = {.kind = ZH_WIT_STRING},
};

const zh_wit_type *wit_prim(zh_wit_type_kind kind) {
  return kind <= ZH_WIT_STRING ? &k_prims[kind] : NULL;
}

bool vec_add_unique(resolver *r, wit_vec *v, void *item) {
  for (size_t i = 0; i < v->len; i++)
    if (v->items[i] == item)
      return true;
  return wit_vec_push(r->m, v, item) || room(r);
}

static zh_wit_type *new_type(resolver *r, zh_wit_type_kind kind) {
  zh_wit_type *t = wit_alloc(r->m, sizeof *t);
  if (t)
    t->kind = kind;
  else
    rreport_oom(r);
  return t;
}

static const char *kind_word(ast_dkind k) {
  switch (k) {
  case AD_ALIAS:
    return "type";
  case AD_RECORD:
    return "record";
  case AD_VARIANT:
    return "variant";
  case AD_ENUM:
    return "enum";
  case AD_FLAGS:
    return "flags";
  case AD_RESOURCE:
    return "resource";
  }
  return "type";
}

/* Adds a name to the scope; a second definition is an error at pos. */
static bool declare_name(resolver *r, scope *s, const char *name, wit_pos pos, void *value,
                         int tag) {
  const wit_map_entry *old;
  if (wit_map_add(r->ast, &s->names, name, value, tag, &old))
    return true;
  if (!old)
    return room(r);
  return rfail(r, pos, "`%s` is already defined in this %s", name,
               s->iface ? "interface" : "world");
}

static bool declare_use(resolver *r, scope *s, const ast_use *u) {
  zh_wit_interface *target;
  TRY(resolve_path_iface(r, s->pkg, s->body, &u->path, &target));
  TRY(vec_add_unique(r, &s->deps, target));
  for (size_t i = 0; i < u->nnames; i++) {
    const ast_use_name *n = &u->names[i];
    const zh_wit_type *found = zh_wit_interface_type(target, n->name);
    if (!found) {
      if (zh_wit_interface_func(target, n->name))
        return rfail(r, n->pos, "`%s` is a function, not a type", n->name);
      return rfail(r, n->pos, "type `%s` is not defined in interface `%s`", n->name,
                   target->name ? target->name : "(inline)");
    }
    zh_wit_type *t = new_type(r, ZH_WIT_ALIAS);
    tdef *d = wit_alloc(r->ast, sizeof *d);
    if (!t || !d)
      return room(r);
    t->name = wit_strdup(r->m, n->as ? n->as : n->name);
    if (!t->name)
      return room(r);
    t->interface = s->iface;
    t->world = s->world;
    t->elem = found;
    t->from_use = true;
    d->type = t;
    d->state = AS_DONE;
    TRY(declare_name(r, s, t->name, n->pos, d, NAME_TYPE));
    if (!wit_vec_push(r->m, &s->types, t))
      return room(r);
  }
  return true;
}

static bool declare_def(resolver *r, scope *s, const ast_typedef *def) {
  static const zh_wit_type_kind kinds[] = {
      [AD_ALIAS] = ZH_WIT_ALIAS, [AD_RECORD] = ZH_WIT_RECORD, [AD_VARIANT] = ZH_WIT_VARIANT,
      [AD_ENUM] = ZH_WIT_ENUM,   [AD_FLAGS] = ZH_WIT_FLAGS,   [AD_RESOURCE] = ZH_WIT_RESOURCE,
  };
  zh_wit_type *t = new_type(r, kinds[def->kind]);
  tdef *d = wit_alloc(r->ast, sizeof *d);
  if (!t || !d)
    return room(r);
  t->name = wit_strdup(r->m, def->name);
  if (!t->name)
    return room(r);
  t->interface = s->iface;
  t->world = s->world;
  d->type = t;
  d->def = def;
  TRY(declare_name(r, s, def->name, def->pos, d, NAME_TYPE));
  return wit_vec_push(r->m, &s->types, t) || room(r);
}

bool scope_declare(resolver *r, scope *s, const ast_item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const ast_item *it = &items[i];
    switch (it->kind) {
    case AI_USE:
      TRY(declare_use(r, s, &it->u.use));
      break;
    case AI_TYPE:
      TRY(declare_def(r, s, &it->u.def));
      break;
    case AI_FUNC:
      TRY(declare_name(r, s, it->u.func.name, it->u.func.pos, (void *)&it->u.func, NAME_FUNC));
      break;
    default:
      break;
    }
  }
  return true;
}

/* ---- type references ---- */

static bool define(resolver *r, scope *s, tdef *d);

static bool lookup_type(resolver *r, scope *s, const char *name, wit_pos pos,
                        const zh_wit_type **out) {
  const wit_map_entry *e = wit_map_get(&s->names, name);
  if (!e)
    return rfail(r, pos, "type `%s` is not defined", name);
  if (e->tag == NAME_FUNC)
    return rfail(r, pos, "`%s` is a function, not a type", name);
  tdef *d = e->value;
  if (d->state == AS_BUSY)
    return rfail(r, pos, "type `%s` refers to itself", name);
  if (d->state == AS_NEW)
    TRY(define(r, s, d));
  *out = d->type;
  return true;
}

static bool is_resource(const zh_wit_type *t) {
  t = zh_wit_type_unalias(t);
  return t && t->kind == ZH_WIT_RESOURCE;
}

/* A type expression. `alias_top`: the whole right-hand side of `type a = b;`, where a
 * resource name stays the resource itself rather than an owned handle. */
static bool ref(resolver *r, scope *s, const ast_type *at, bool alias_top,
                const zh_wit_type **out) {
  if (at->kind == AT_PRIM) {
    *out = wit_prim(at->prim);
    return true;
  }
  TRY(rdepth_enter(r, at->pos));
  bool ok = true;
  zh_wit_type *t = NULL;
  switch (at->kind) {
  case AT_PRIM:
    break;
  case AT_NAME: {
    const zh_wit_type *named;
    ok = lookup_type(r, s, at->name, at->pos, &named);
    if (ok && !alias_top && is_resource(named)) {
      ok = (t = new_type(r, ZH_WIT_OWN)) != NULL;
      if (ok)
        t->elem = named;
    } else if (ok) {
      *out = named;
    }
    break;
  }
  case AT_OWN:
  case AT_BORROW: {
    const zh_wit_type *named;
    ok = lookup_type(r, s, at->name, at->pos, &named);
    if (ok && !is_resource(named))
      ok = rfail(r, at->pos, "`%s` is not a resource: `%s` needs one", at->name,
                 at->kind == AT_OWN ? "own" : "borrow");
    if (ok && (t = new_type(r, at->kind == AT_OWN ? ZH_WIT_OWN : ZH_WIT_BORROW)))
      t->elem = named;
    ok = ok && t;
    break;
  }
  case AT_LIST:
  case AT_OPTION:
  case AT_FUTURE:
  case AT_STREAM: {
    zh_wit_type_kind k = at->kind == AT_LIST     ? ZH_WIT_LIST
                         : at->kind == AT_OPTION ? ZH_WIT_OPTION
                         : at->kind == AT_FUTURE ? ZH_WIT_FUTURE
                                                 : ZH_WIT_STREAM;
    ok = (t = new_type(r, k)) != NULL;
    if (ok && at->a)
      ok = ref(r, s, at->a, false, &t->elem);
    break;
  }
  case AT_RESULT:
    ok = (t = new_type(r, ZH_WIT_RESULT)) != NULL;
    if (ok && at->a)
      ok = ref(r, s, at->a, false, &t->elem);
    if (ok && at->b)
      ok = ref(r, s, at->b, false, &t->err);
    break;
  case AT_TUPLE: {
    ok = (t = new_type(r, ZH_WIT_TUPLE)) != NULL;
    zh_wit_field *f = ok ? wit_alloc(r->m, at->nelems * sizeof *f) : NULL;
    ok = ok && (f || room(r));
    for (size_t i = 0; ok && i < at->nelems; i++)
      ok = ref(r, s, at->elems[i], false, &f[i].type);
    if (ok) {
      t->fields = f;
      t->nfields = at->nelems;
    }
    break;
  }
  }
  rdepth_leave(r);
  if (ok && t)
    *out = t;
  return ok;
}

/* Fields, cases or flags: names unique (case-insensitively), at least one. */
static bool define_fields(resolver *r, scope *s, const ast_typedef *def, zh_wit_type *t) {
  if (def->nfields == 0)
    return rfail(r, def->pos, "%s `%s` must have at least one %s", kind_word(def->kind), def->name,
                 def->kind == AD_RECORD  ? "field"
                 : def->kind == AD_FLAGS ? "flag"
                                         : "case");
  if (def->kind == AD_FLAGS && def->nfields > MAX_FLAGS)
    return rfail(r, def->pos, "flags `%s` has %zu flags, more than %d", def->name, def->nfields,
                 MAX_FLAGS);
  zh_wit_field *f = wit_alloc(r->m, def->nfields * sizeof *f);
  if (!f)
    return room(r);
  wit_map seen = {0};
  for (size_t i = 0; i < def->nfields; i++) {
    const ast_field *af = &def->fields[i];
    const wit_map_entry *old;
    if (!wit_map_add(r->ast, &seen, af->name, NULL, 0, &old)) {
      if (!old)
        return room(r);
      return rfail(r, af->pos, "duplicate %s `%s` in %s `%s`",
                   def->kind == AD_RECORD  ? "field"
                   : def->kind == AD_FLAGS ? "flag"
                                           : "case",
                   af->name, kind_word(def->kind), def->name);
    }
    f[i].name = wit_strdup(r->m, af->name);
    if (!f[i].name)
      return room(r);
    if (af->type)
      TRY(ref(r, s, af->type, false, &f[i].type));
  }
  t->fields = f;
  t->nfields = def->nfields;
  return true;
}

static bool define(resolver *r, scope *s, tdef *d) {
  if (d->state == AS_DONE)
    return true;
  d->state = AS_BUSY;
  const ast_typedef *def = d->def;
  TRY(rdepth_enter(r, def->pos));
  bool ok = true;
  switch (def->kind) {
  case AD_ALIAS:
    ok = ref(r, s, def->alias, true, &d->type->elem);
    break;
  case AD_RECORD:
  case AD_VARIANT:
  case AD_ENUM:
  case AD_FLAGS:
    ok = define_fields(r, s, def, d->type);
    break;
  case AD_RESOURCE:
    break; /* functions come in scope_funcs, once every type is known */
  }
  rdepth_leave(r);
  d->state = AS_DONE;
  return ok;
}

bool scope_define(resolver *r, scope *s, const ast_item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (items[i].kind != AI_TYPE)
      continue;
    const wit_map_entry *e = wit_map_get(&s->names, items[i].u.def.name);
    TRY(define(r, s, e->value));
  }
  return true;
}

/* ---- functions ---- */

/* Whether a result type holds a borrowed handle (named types are not entered: records and
 * variants holding borrows are rejected where they are used as results by wit-bindgen, but
 * the spec leaves that open). */
static const zh_wit_type *find_borrow(const zh_wit_type *t, int depth) {
  if (!t || t->name || depth > WIT_MAX_TYPE_DEPTH + 1)
    return NULL;
  if (t->kind == ZH_WIT_BORROW)
    return t;
  const zh_wit_type *b = find_borrow(t->elem, depth + 1);
  if (!b)
    b = find_borrow(t->err, depth + 1);
  for (size_t i = 0; !b && i < t->nfields; i++)
    b = find_borrow(t->fields[i].type, depth + 1);
  return b;
}

bool scope_func(resolver *r, scope *s, const ast_func *f, const zh_wit_type *resource,
                zh_wit_func **out) {
  *out = NULL;
  if (f->kind != ZH_WIT_FUNC_FREESTANDING && !resource)
    return rfail(r, f->pos, "`%s` must be declared inside a resource", f->name);
  zh_wit_func *fn = wit_alloc(r->m, sizeof *fn);
  if (!fn)
    return room(r);
  fn->kind = f->kind;
  fn->is_async = f->is_async;
  fn->resource = resource;
  fn->name = wit_strdup(r->m, f->name);
  switch (f->kind) {
  case ZH_WIT_FUNC_FREESTANDING:
    fn->abi_name = fn->name;
    break;
  case ZH_WIT_FUNC_METHOD:
    fn->abi_name = wit_format(r->m, "[method]%s.%s", resource->name, f->name);
    break;
  case ZH_WIT_FUNC_STATIC:
    fn->abi_name = wit_format(r->m, "[static]%s.%s", resource->name, f->name);
    break;
  case ZH_WIT_FUNC_CONSTRUCTOR:
    fn->abi_name = wit_format(r->m, "[constructor]%s", resource->name);
    break;
  }
  if (!fn->name || !fn->abi_name)
    return room(r);

  bool self = f->kind == ZH_WIT_FUNC_METHOD;
  size_t np = f->nparams + self;
  zh_wit_field *params = wit_alloc(r->m, (np ? np : 1) * sizeof *params);
  if (!params)
    return room(r);
  wit_map seen = {0};
  const wit_map_entry *old;
  if (self) {
    zh_wit_type *b = new_type(r, ZH_WIT_BORROW);
    if (!b || !wit_map_add(r->ast, &seen, "self", NULL, 0, &old))
      return room(r);
    b->elem = resource;
    params[0].name = "self";
    params[0].type = b;
  }
  for (size_t i = 0; i < f->nparams; i++) {
    const ast_field *af = &f->params[i];
    if (!wit_map_add(r->ast, &seen, af->name, NULL, 0, &old)) {
      if (!old)
        return room(r);
      return rfail(r, af->pos, "duplicate parameter `%s` of function `%s`", af->name, f->name);
    }
    params[i + self].name = wit_strdup(r->m, af->name);
    if (!params[i + self].name)
      return room(r);
    TRY(ref(r, s, af->type, false, &params[i + self].type));
  }
  fn->params = params;
  fn->nparams = np;

  if (f->result)
    TRY(ref(r, s, f->result, false, &fn->result));
  if (f->kind == ZH_WIT_FUNC_CONSTRUCTOR) {
    if (f->result) {
      const zh_wit_type *t = fn->result, *ok = t->kind == ZH_WIT_RESULT ? t->elem : NULL;
      if (!ok || ok->kind != ZH_WIT_OWN || zh_wit_type_unalias(ok->elem) != resource)
        return rfail(r, f->result->pos,
                     "a constructor of `%s` must return nothing or `result<%s, E>`", resource->name,
                     resource->name);
    } else {
      zh_wit_type *own = new_type(r, ZH_WIT_OWN);
      if (!own)
        return false;
      own->elem = resource;
      fn->result = own;
    }
  }
  if (f->result && find_borrow(fn->result, 0))
    return rfail(r, f->result->pos, "function results cannot hold `borrow` handles");
  *out = fn;
  return true;
}

static bool resource_funcs(resolver *r, scope *s, const ast_typedef *def) {
  const wit_map_entry *e = wit_map_get(&s->names, def->name);
  zh_wit_type *res = ((tdef *)e->value)->type;
  const zh_wit_func **funcs =
      wit_alloc(r->m, (def->nfuncs ? def->nfuncs : 1) * sizeof(const zh_wit_func *));
  if (!funcs)
    return room(r);
  wit_map seen = {0};
  bool ctor = false;
  for (size_t i = 0; i < def->nfuncs; i++) {
    const ast_func *f = &def->funcs[i];
    if (f->kind == ZH_WIT_FUNC_CONSTRUCTOR) {
      if (ctor)
        return rfail(r, f->pos, "resource `%s` has more than one constructor", def->name);
      ctor = true;
    } else {
      const wit_map_entry *old;
      if (!wit_map_add(r->ast, &seen, f->name, NULL, 0, &old)) {
        if (!old)
          return room(r);
        return rfail(r, f->pos, "`%s` is already defined in resource `%s`", f->name, def->name);
      }
    }
    zh_wit_func *fn;
    TRY(scope_func(r, s, f, res, &fn));
    funcs[i] = fn;
    if (!wit_vec_push(r->m, &s->funcs, fn))
      return room(r);
  }
  res->funcs = (const zh_wit_func *const *)funcs;
  res->nfuncs = def->nfuncs;
  return true;
}

bool scope_funcs(resolver *r, scope *s, const ast_item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const ast_item *it = &items[i];
    if (it->kind == AI_TYPE && it->u.def.kind == AD_RESOURCE) {
      TRY(resource_funcs(r, s, &it->u.def));
    } else if (it->kind == AI_FUNC) {
      zh_wit_func *fn;
      TRY(scope_func(r, s, &it->u.func, NULL, &fn));
      if (!wit_vec_push(r->m, &s->funcs, fn))
        return room(r);
    }
  }
  return true;
}
