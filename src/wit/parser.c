/* WIT parser: recursive descent over the token array into the syntax tree of wit_internal.h.
 * It checks syntax only (and versions, identifiers via the lexer); names are resolved later.
 * The first error ends the parse. Type nesting is bounded (WIT_MAX_TYPE_DEPTH); nothing
 * else recurses on input. */
#include "wit/wit_internal.h"

#include <stdio.h>
#include <string.h>

typedef struct parser {
  wit_arena *a;
  const char *file;
  const char *text;
  const wit_token *toks;
  size_t ntoks, i;
  zh_error *err;
} parser;

#define TRY(x)                                                                                     \
  do {                                                                                             \
    if (!(x))                                                                                      \
      return false;                                                                                \
  } while (0)

static const wit_token *peek_at(const parser *p, size_t ahead) {
  size_t j = p->i + ahead;
  return &p->toks[j < p->ntoks ? j : p->ntoks - 1];
}
static const wit_token *peek(const parser *p) { return peek_at(p, 0); }
static bool at(const parser *p, wit_tok_kind k) { return peek(p)->kind == k; }

static wit_pos pos_of(const parser *p, const wit_token *t) {
  wit_pos pos = {p->file, t->line, t->col};
  return pos;
}

static const wit_token *next(parser *p) {
  const wit_token *t = peek(p);
  if (t->kind != TK_EOF)
    p->i++;
  return t;
}

static void report_at(parser *p, const wit_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report_at(parser *p, const wit_token *t, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!p->err)
    p->err = wit_error(pos_of(p, t), "%s", msg);
}

/* Records the first error and yields false. A macro, so the result is visibly false at
 * every call site (the analyzer does not look into variadic functions). */
#define fail_at(p, t, ...) (report_at((p), (t), __VA_ARGS__), false)

static bool oom(parser *p) {
  if (!p->err)
    p->err = wit_oom();
  return false;
}

/* "`text`" of a token (cut at 40 bytes) or "end of file", into buf. */
static const char *found(const parser *p, const wit_token *t, char *buf, size_t n) {
  if (t->kind == TK_EOF)
    return "end of file";
  int len = t->len > 40 ? 40 : (int)t->len;
  snprintf(buf, n, "`%.*s%s`", len, p->text + t->off, t->len > 40 ? "..." : "");
  return buf;
}

static const char *expected_name(wit_tok_kind k, char *buf, size_t n) {
  if (k >= TK_KW_FIRST) {
    snprintf(buf, n, "`%s`", wit_tok_name(k));
    return buf;
  }
  return wit_tok_name(k);
}

static bool fail_expected(parser *p, const char *what) {
  char buf[64];
  return fail_at(p, peek(p), "expected %s, found %s", what, found(p, peek(p), buf, sizeof buf));
}

static bool eat(parser *p, wit_tok_kind k) {
  if (!at(p, k))
    return false;
  next(p);
  return true;
}

static bool expect(parser *p, wit_tok_kind k) {
  if (eat(p, k))
    return true;
  char buf[32];
  return fail_expected(p, expected_name(k, buf, sizeof buf));
}

static bool parse_id(parser *p, const char **name, wit_pos *pos) {
  const wit_token *t = peek(p);
  if (t->kind != TK_ID) {
    if (t->kind >= TK_KW_FIRST) {
      return fail_at(p, t,
                     "expected an identifier, found keyword `%s` (write `%%%s` to use it "
                     "as a name)",
                     wit_tok_name(t->kind), wit_tok_name(t->kind));
    }
    return fail_expected(p, "an identifier");
  }
  next(p);
  bool escaped = p->text[t->off] == '%';
  *name = wit_strndup(p->a, p->text + t->off + escaped, t->len - escaped);
  if (!*name)
    return oom(p);
  if (pos)
    *pos = pos_of(p, t);
  return true;
}

static bool parse_version(parser *p, const char **out) {
  const wit_token *t = peek(p);
  if (t->kind != TK_VERSION && t->kind != TK_INT)
    return fail_expected(p, "a version");
  next(p);
  if (!wit_semver_valid(p->text + t->off, t->len)) {
    char buf[64];
    return fail_at(p, t, "invalid version %s: expected semantic version MAJOR.MINOR.PATCH",
                   found(p, t, buf, sizeof buf));
  }
  *out = wit_strndup(p->a, p->text + t->off, t->len);
  return *out ? true : oom(p);
}

/* Gates and annotations: accepted, checked for form, and dropped. */
static bool parse_attrs(parser *p) {
  while (at(p, TK_AT)) {
    next(p);
    const wit_token *t = peek(p);
    const char *name;
    TRY(parse_id(p, &name, NULL));
    TRY(expect(p, TK_LPAREN));
    if (strcmp(name, "since") == 0 || strcmp(name, "deprecated") == 0) {
      const char *key, *ver;
      const wit_token *k = peek(p);
      TRY(parse_id(p, &key, NULL));
      if (strcmp(key, "version") != 0)
        return fail_at(p, k, "expected `version`, found `%s`", key);
      TRY(expect(p, TK_EQ));
      TRY(parse_version(p, &ver));
    } else if (strcmp(name, "unstable") == 0) {
      const char *key, *feature;
      const wit_token *k = peek(p);
      TRY(parse_id(p, &key, NULL));
      if (strcmp(key, "feature") != 0)
        return fail_at(p, k, "expected `feature`, found `%s`", key);
      TRY(expect(p, TK_EQ));
      TRY(parse_id(p, &feature, NULL));
    } else if (strcmp(name, "external-id") == 0) {
      TRY(expect(p, TK_STRING));
    } else {
      return fail_at(p, t, "unknown attribute `@%s`", name);
    }
    TRY(expect(p, TK_RPAREN));
  }
  return true;
}

static bool parse_pkgname(parser *p, ast_pkgname *out) {
  out->pos = pos_of(p, peek(p));
  TRY(parse_id(p, &out->ns, NULL));
  TRY(expect(p, TK_COLON));
  TRY(parse_id(p, &out->pkg, NULL));
  if (at(p, TK_COLON))
    return fail_at(p, peek(p), "nested namespaces are not supported");
  if (eat(p, TK_AT))
    TRY(parse_version(p, &out->version));
  return true;
}

static bool parse_path(parser *p, ast_path *out) {
  out->pos = pos_of(p, peek(p));
  const char *first;
  TRY(parse_id(p, &first, NULL));
  if (!eat(p, TK_COLON)) {
    out->name = first;
    return true;
  }
  out->ns = first;
  TRY(parse_id(p, &out->pkg, NULL));
  if (at(p, TK_COLON))
    return fail_at(p, peek(p), "nested namespaces are not supported");
  TRY(expect(p, TK_SLASH));
  TRY(parse_id(p, &out->name, NULL));
  if (at(p, TK_SLASH))
    return fail_at(p, peek(p), "nested packages are not supported");
  if (eat(p, TK_AT))
    TRY(parse_version(p, &out->version));
  return true;
}

/* ---- types ---- */

static bool parse_type(parser *p, int depth, ast_type **out);

static bool new_type(parser *p, ast_tkind kind, const wit_token *t, ast_type **out) {
  *out = wit_alloc(p->a, sizeof **out);
  if (!*out)
    return oom(p);
  (*out)->kind = kind;
  (*out)->pos = pos_of(p, t);
  return true;
}

static bool parse_angle1(parser *p, int depth, ast_type **elem) {
  TRY(expect(p, TK_LT));
  TRY(parse_type(p, depth + 1, elem));
  return expect(p, TK_GT);
}

static bool prim_of(wit_tok_kind k, zh_wit_type_kind *out) {
  switch (k) {
  case TK_BOOL:
    *out = ZH_WIT_BOOL;
    return true;
  case TK_S8:
    *out = ZH_WIT_S8;
    return true;
  case TK_S16:
    *out = ZH_WIT_S16;
    return true;
  case TK_S32:
    *out = ZH_WIT_S32;
    return true;
  case TK_S64:
    *out = ZH_WIT_S64;
    return true;
  case TK_U8:
    *out = ZH_WIT_U8;
    return true;
  case TK_U16:
    *out = ZH_WIT_U16;
    return true;
  case TK_U32:
    *out = ZH_WIT_U32;
    return true;
  case TK_U64:
    *out = ZH_WIT_U64;
    return true;
  case TK_F32:
  case TK_FLOAT32:
    *out = ZH_WIT_F32;
    return true;
  case TK_F64:
  case TK_FLOAT64:
    *out = ZH_WIT_F64;
    return true;
  case TK_CHAR:
    *out = ZH_WIT_CHAR;
    return true;
  case TK_STRING_KW:
    *out = ZH_WIT_STRING;
    return true;
  default:
    return false;
  }
}

static bool parse_type(parser *p, int depth, ast_type **out) {
  const wit_token *t = peek(p);
  if (depth > WIT_MAX_TYPE_DEPTH)
    return fail_at(p, t, "types nest too deeply (more than %d levels)", WIT_MAX_TYPE_DEPTH);
  zh_wit_type_kind prim;
  if (prim_of(t->kind, &prim)) {
    next(p);
    TRY(new_type(p, AT_PRIM, t, out));
    (*out)->prim = prim;
    return true;
  }
  switch (t->kind) {
  case TK_ID:
    TRY(new_type(p, AT_NAME, t, out));
    return parse_id(p, &(*out)->name, NULL);
  case TK_LIST:
    next(p);
    TRY(new_type(p, AT_LIST, t, out));
    TRY(expect(p, TK_LT));
    TRY(parse_type(p, depth + 1, &(*out)->a));
    if (at(p, TK_COMMA))
      return fail_at(p, peek(p), "fixed-length lists are not supported");
    return expect(p, TK_GT);
  case TK_OPTION:
    next(p);
    TRY(new_type(p, AT_OPTION, t, out));
    return parse_angle1(p, depth, &(*out)->a);
  case TK_FUTURE:
  case TK_STREAM:
    next(p);
    TRY(new_type(p, t->kind == TK_FUTURE ? AT_FUTURE : AT_STREAM, t, out));
    return at(p, TK_LT) ? parse_angle1(p, depth, &(*out)->a) : true;
  case TK_RESULT:
    next(p);
    TRY(new_type(p, AT_RESULT, t, out));
    if (!eat(p, TK_LT))
      return true;
    if (eat(p, TK_UNDERSCORE)) {
      TRY(expect(p, TK_COMMA));
      TRY(parse_type(p, depth + 1, &(*out)->b));
    } else {
      TRY(parse_type(p, depth + 1, &(*out)->a));
      if (eat(p, TK_COMMA))
        TRY(parse_type(p, depth + 1, &(*out)->b));
    }
    return expect(p, TK_GT);
  case TK_TUPLE: {
    next(p);
    TRY(new_type(p, AT_TUPLE, t, out));
    TRY(expect(p, TK_LT));
    size_t cap = 0;
    do {
      if (at(p, TK_GT) && (*out)->nelems > 0)
        break; /* trailing comma */
      void *items = (*out)->elems;
      if (!wit_grow(p->a, &items, &cap, (*out)->nelems, sizeof(ast_type *)))
        return oom(p);
      (*out)->elems = items;
      TRY(parse_type(p, depth + 1, &(*out)->elems[(*out)->nelems]));
      (*out)->nelems++;
    } while (eat(p, TK_COMMA));
    return expect(p, TK_GT);
  }
  case TK_OWN:
  case TK_BORROW:
    next(p);
    TRY(new_type(p, t->kind == TK_OWN ? AT_OWN : AT_BORROW, t, out));
    TRY(expect(p, TK_LT));
    TRY(parse_id(p, &(*out)->name, NULL));
    return expect(p, TK_GT);
  case TK_MAP:
    return fail_at(p, t, "`map` types are not supported");
  default:
    return fail_expected(p, "a type");
  }
}

/* ---- functions ---- */

static bool parse_params(parser *p, ast_func *f) {
  TRY(expect(p, TK_LPAREN));
  size_t cap = 0;
  while (!at(p, TK_RPAREN)) {
    void *items = f->params;
    if (!wit_grow(p->a, &items, &cap, f->nparams, sizeof(ast_field)))
      return oom(p);
    f->params = items;
    ast_field *fld = &f->params[f->nparams++];
    TRY(parse_id(p, &fld->name, &fld->pos));
    TRY(expect(p, TK_COLON));
    TRY(parse_type(p, 1, &fld->type));
    if (!eat(p, TK_COMMA))
      break;
  }
  return expect(p, TK_RPAREN);
}

static bool parse_result(parser *p, ast_func *f) {
  if (eat(p, TK_ARROW))
    TRY(parse_type(p, 1, &f->result));
  return true;
}

/* `async? func (params) (-> T)?` */
static bool parse_functype(parser *p, ast_func *f) {
  f->is_async = eat(p, TK_ASYNC);
  TRY(expect(p, TK_FUNC));
  TRY(parse_params(p, f));
  return parse_result(p, f);
}

/* `name: func...;` with the name already read. */
static bool parse_func_rest(parser *p, ast_func *f) {
  TRY(expect(p, TK_COLON));
  TRY(parse_functype(p, f));
  return expect(p, TK_SEMI);
}

/* ---- type definitions ---- */

/* `{ a, b(T), ... }` or `{ a: T, ... }`: mode 0 names only, 1 optional payload, 2 `: T`. */
static bool parse_fields(parser *p, int mode, ast_typedef *d) {
  TRY(expect(p, TK_LBRACE));
  size_t cap = 0;
  while (!at(p, TK_RBRACE)) {
    void *items = d->fields;
    if (!wit_grow(p->a, &items, &cap, d->nfields, sizeof(ast_field)))
      return oom(p);
    d->fields = items;
    ast_field *f = &d->fields[d->nfields++];
    TRY(parse_attrs(p));
    TRY(parse_id(p, &f->name, &f->pos));
    if (mode == 2) {
      TRY(expect(p, TK_COLON));
      TRY(parse_type(p, 1, &f->type));
    } else if (mode == 1 && eat(p, TK_LPAREN)) {
      TRY(parse_type(p, 1, &f->type));
      TRY(expect(p, TK_RPAREN));
    }
    if (!eat(p, TK_COMMA))
      break;
  }
  return expect(p, TK_RBRACE);
}

static bool parse_resource_body(parser *p, ast_typedef *d) {
  size_t cap = 0;
  while (!eat(p, TK_RBRACE)) {
    TRY(parse_attrs(p));
    void *items = d->funcs;
    if (!wit_grow(p->a, &items, &cap, d->nfuncs, sizeof(ast_func)))
      return oom(p);
    d->funcs = items;
    ast_func *f = &d->funcs[d->nfuncs];
    memset(f, 0, sizeof *f);
    const wit_token *t = peek(p);
    if (t->kind == TK_CONSTRUCTOR) {
      next(p);
      f->pos = pos_of(p, t);
      f->name = "constructor";
      f->kind = ZH_WIT_FUNC_CONSTRUCTOR;
      TRY(parse_params(p, f));
      TRY(parse_result(p, f));
      TRY(expect(p, TK_SEMI));
    } else if (t->kind == TK_ID) {
      TRY(parse_id(p, &f->name, &f->pos));
      TRY(expect(p, TK_COLON));
      f->kind = eat(p, TK_STATIC) ? ZH_WIT_FUNC_STATIC : ZH_WIT_FUNC_METHOD;
      TRY(parse_functype(p, f));
      TRY(expect(p, TK_SEMI));
    } else {
      return fail_expected(p, "`constructor`, a method or `}`");
    }
    d->nfuncs++;
  }
  return true;
}

static bool parse_typedef(parser *p, ast_typedef *d) {
  const wit_token *t = next(p);
  d->pos = pos_of(p, t);
  switch (t->kind) {
  case TK_TYPE:
    d->kind = AD_ALIAS;
    TRY(parse_id(p, &d->name, &d->pos));
    TRY(expect(p, TK_EQ));
    TRY(parse_type(p, 1, &d->alias));
    return expect(p, TK_SEMI);
  case TK_RECORD:
    d->kind = AD_RECORD;
    TRY(parse_id(p, &d->name, &d->pos));
    return parse_fields(p, 2, d);
  case TK_VARIANT:
    d->kind = AD_VARIANT;
    TRY(parse_id(p, &d->name, &d->pos));
    return parse_fields(p, 1, d);
  case TK_ENUM:
    d->kind = AD_ENUM;
    TRY(parse_id(p, &d->name, &d->pos));
    return parse_fields(p, 0, d);
  case TK_FLAGS:
    d->kind = AD_FLAGS;
    TRY(parse_id(p, &d->name, &d->pos));
    return parse_fields(p, 0, d);
  case TK_RESOURCE:
    d->kind = AD_RESOURCE;
    TRY(parse_id(p, &d->name, &d->pos));
    if (eat(p, TK_SEMI))
      return true;
    if (!eat(p, TK_LBRACE))
      return fail_expected(p, "`;` or `{`");
    return parse_resource_body(p, d);
  default:
    return false; /* not reached: callers check the token */
  }
}

/* `use path.{a, b as c};` */
static bool parse_use(parser *p, ast_use *u) {
  TRY(parse_path(p, &u->path));
  TRY(expect(p, TK_DOT));
  TRY(expect(p, TK_LBRACE));
  size_t cap = 0;
  do {
    if (at(p, TK_RBRACE) && u->nnames > 0)
      break;
    void *items = u->names;
    if (!wit_grow(p->a, &items, &cap, u->nnames, sizeof(ast_use_name)))
      return oom(p);
    u->names = items;
    ast_use_name *n = &u->names[u->nnames++];
    TRY(parse_id(p, &n->name, &n->pos));
    if (eat(p, TK_AS))
      TRY(parse_id(p, &n->as, &n->pos));
  } while (eat(p, TK_COMMA));
  TRY(expect(p, TK_RBRACE));
  return expect(p, TK_SEMI);
}

/* ---- interfaces and worlds ---- */

static bool parse_items(parser *p, bool world, ast_body *body, ast_item **items, size_t *n);

static bool is_typedef_start(wit_tok_kind k) {
  return k == TK_TYPE || k == TK_RECORD || k == TK_VARIANT || k == TK_ENUM || k == TK_FLAGS ||
         k == TK_RESOURCE;
}

/* Whether tokens from here read `a:b` with no space around `:`, then an identifier: a package
 * name (the spec lexes it as one token), not `name: type`. */
static bool at_package_path(const parser *p) {
  const wit_token *a = peek_at(p, 0), *c = peek_at(p, 1), *b = peek_at(p, 2);
  return a->kind == TK_ID && c->kind == TK_COLON && b->kind == TK_ID && a->off + a->len == c->off &&
         c->off + 1 == b->off;
}

static bool parse_extern(parser *p, ast_body *body, ast_extern *e) {
  e->pos = pos_of(p, peek(p));
  if (at(p, TK_ID) && peek_at(p, 1)->kind == TK_COLON && !at_package_path(p)) {
    TRY(parse_id(p, &e->name, &e->pos));
    next(p); /* ':' */
    const wit_token *t = peek(p);
    if (t->kind == TK_INTERFACE) {
      next(p);
      e->kind = AE_IFACE;
      e->iface = wit_alloc(p->a, sizeof *e->iface);
      if (!e->iface)
        return oom(p);
      e->iface->pos = pos_of(p, t);
      e->iface->body = body;
      TRY(expect(p, TK_LBRACE));
      return parse_items(p, false, body, &e->iface->items, &e->iface->nitems);
    }
    if (t->kind == TK_FUNC || t->kind == TK_ASYNC) {
      e->kind = AE_FUNC;
      e->func.pos = e->pos;
      e->func.name = e->name;
      TRY(parse_functype(p, &e->func));
      return expect(p, TK_SEMI);
    }
    if (t->kind != TK_ID)
      return fail_expected(p, "`func`, `interface` or an interface path");
  }
  e->kind = AE_PATH;
  TRY(parse_path(p, &e->path));
  return expect(p, TK_SEMI);
}

static bool parse_include(parser *p, ast_include *inc) {
  TRY(parse_path(p, &inc->path));
  if (!eat(p, TK_WITH))
    return expect(p, TK_SEMI);
  TRY(expect(p, TK_LBRACE));
  size_t cap = 0;
  do {
    if (at(p, TK_RBRACE) && inc->nwith > 0)
      break;
    void *items = inc->with;
    if (!wit_grow(p->a, &items, &cap, inc->nwith, sizeof(ast_rename)))
      return oom(p);
    inc->with = items;
    ast_rename *r = &inc->with[inc->nwith++];
    TRY(parse_id(p, &r->from, &r->pos));
    TRY(expect(p, TK_AS));
    TRY(parse_id(p, &r->to, NULL));
  } while (eat(p, TK_COMMA));
  TRY(expect(p, TK_RBRACE));
  eat(p, TK_SEMI); /* WIT.md shows it both with and without */
  return true;
}

/* Items up to and including the closing `}`. */
static bool parse_items(parser *p, bool world, ast_body *body, ast_item **items, size_t *n) {
  size_t cap = 0;
  while (!eat(p, TK_RBRACE)) {
    TRY(parse_attrs(p));
    void *grown = *items;
    if (!wit_grow(p->a, &grown, &cap, *n, sizeof(ast_item)))
      return oom(p);
    *items = grown;
    ast_item *it = &(*items)[*n];
    memset(it, 0, sizeof *it);
    const wit_token *t = peek(p);
    if (t->kind == TK_USE) {
      next(p);
      it->kind = AI_USE;
      TRY(parse_use(p, &it->u.use));
    } else if (is_typedef_start(t->kind)) {
      it->kind = AI_TYPE;
      TRY(parse_typedef(p, &it->u.def));
    } else if (!world && t->kind == TK_ID) {
      it->kind = AI_FUNC;
      TRY(parse_id(p, &it->u.func.name, &it->u.func.pos));
      TRY(parse_func_rest(p, &it->u.func));
    } else if (world && (t->kind == TK_IMPORT || t->kind == TK_EXPORT)) {
      next(p);
      it->kind = t->kind == TK_IMPORT ? AI_IMPORT : AI_EXPORT;
      TRY(parse_extern(p, body, &it->u.ext));
    } else if (world && t->kind == TK_INCLUDE) {
      next(p);
      it->kind = AI_INCLUDE;
      TRY(parse_include(p, &it->u.inc));
    } else {
      return fail_expected(p, world ? "`import`, `export`, `include`, `use`, a type or `}`"
                                    : "a function, `use`, a type or `}`");
    }
    (*n)++;
  }
  return true;
}

/* Items of a file or a `package x:y { }` block, up to end of file or `}`. */
static bool parse_body(parser *p, ast_file *file, ast_body *body) {
  for (;;) {
    TRY(parse_attrs(p));
    const wit_token *t = peek(p);
    if (t->kind == TK_EOF && !body->nested)
      return true;
    if (t->kind == TK_RBRACE && body->nested) {
      next(p);
      return true;
    }
    if (t->kind == TK_PACKAGE && !body->nested) {
      next(p);
      ast_pkgname name;
      memset(&name, 0, sizeof name);
      TRY(parse_pkgname(p, &name));
      if (eat(p, TK_LBRACE)) {
        ast_body *nb = wit_alloc(p->a, sizeof *nb);
        if (!nb || !wit_vec_push(p->a, &file->nested, nb))
          return oom(p);
        nb->has_name = true;
        nb->nested = true;
        nb->name = name;
        TRY(parse_body(p, file, nb));
        continue;
      }
      if (body->has_name)
        return fail_at(p, t, "duplicate `package` declaration");
      if (body->ifaces.len || body->worlds.len || body->uses.len || file->nested.len)
        return fail_at(p, t, "the `package` declaration must come first");
      TRY(expect(p, TK_SEMI));
      body->has_name = true;
      body->name = name;
      continue;
    }
    if (t->kind == TK_INTERFACE || t->kind == TK_WORLD) {
      next(p);
      bool world = t->kind == TK_WORLD;
      const char *name;
      wit_pos pos;
      TRY(parse_id(p, &name, &pos));
      TRY(expect(p, TK_LBRACE));
      if (world) {
        ast_world *w = wit_alloc(p->a, sizeof *w);
        if (!w || !wit_vec_push(p->a, &body->worlds, w))
          return oom(p);
        w->pos = pos, w->name = name, w->body = body;
        TRY(parse_items(p, true, body, &w->items, &w->nitems));
      } else {
        ast_iface *i = wit_alloc(p->a, sizeof *i);
        if (!i || !wit_vec_push(p->a, &body->ifaces, i))
          return oom(p);
        i->pos = pos, i->name = name, i->body = body;
        TRY(parse_items(p, false, body, &i->items, &i->nitems));
      }
      continue;
    }
    if (t->kind == TK_USE) {
      next(p);
      ast_top_use *u = wit_alloc(p->a, sizeof *u);
      if (!u || !wit_vec_push(p->a, &body->uses, u))
        return oom(p);
      TRY(parse_path(p, &u->path));
      u->as = u->path.name;
      u->as_pos = u->path.pos;
      if (eat(p, TK_AS))
        TRY(parse_id(p, &u->as, &u->as_pos));
      TRY(expect(p, TK_SEMI));
      continue;
    }
    return fail_expected(p, body->nested ? "`interface`, `world`, `use` or `}`"
                                         : "`package`, `interface`, `world` or `use`");
  }
}

zh_error *wit_parse_file(wit_arena *a, const char *name, const char *text, size_t len,
                         ast_file **out) {
  parser p = {a, name, text, NULL, 0, 0, NULL};
  wit_token *toks;
  zh_error *err = wit_lex(a, name, text, len, &toks, &p.ntoks);
  if (err)
    return err;
  p.toks = toks;
  ast_file *f = wit_alloc(a, sizeof *f);
  if (!f)
    return wit_oom();
  f->name = name;
  if (!parse_body(&p, f, &f->root))
    return p.err ? p.err : wit_oom();
  *out = f;
  return NULL;
}
