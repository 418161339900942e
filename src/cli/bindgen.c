/* `zerohop bindgen c`: C guest bindings for a WIT world (docs/BINDGEN.md).
 *
 * The generated C types have exactly the canonical ABI's memory layout on wasm32 (a C struct
 * lays out like a record, {tag; union} like a variant, size_t like u32), so values move
 * between guest memory and C by pointer: strings and lists are passed to imports without a
 * copy, indirect parameters and results are C structs in place. Only the flat (register)
 * form needs code: lower_flat/lift_flat below walk a type and its core slots. The generated
 * .c checks the layout against zh_abi_size/zh_abi_align with _Static_assert. */
#include "cli.h"

#include "wit/abi.h"
#include "zerohop/wit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BINDGEN_USAGE "zerohop bindgen c --wit DIR --world NAME --out DIR"

void zh_cli_bindgen_help(FILE *out) {
  fprintf(out,
          "Usage: " BINDGEN_USAGE "\n"
          "\n"
          "Generates C bindings for a guest of WIT world NAME: OUT/NAME.h (types, the imported\n"
          "functions to call, the exported functions to implement) and OUT/NAME.c (the\n"
          "canonical ABI glue). Compile NAME.c with the guest, e.g.\n"
          "  clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor guest.c NAME.c\n"
          "Nothing beyond wasi-libc is needed. Names are NAME_IFACE_ITEM in snake_case;\n"
          "NAME.h documents who frees what (docs/BINDGEN.md has the details).\n"
          "\n"
          "Options (each may also be written --OPTION=VALUE):\n"
          "  --wit DIR     the WIT package: DIR/*.wit, dependencies in DIR/deps/\n"
          "  --world NAME  a world of that package\n"
          "  --out DIR     where to write the two files (created if missing)\n"
          "  -h, --help    show this help\n"
          "\n"
          "Exit status: 0 on success, 1 when the WIT does not load, the world is unknown or\n"
          "uses what C bindings do not support (futures, streams), or a file cannot be\n"
          "written; 2 for a usage error.\n");
}

/* ---- generator state ---- */

typedef struct gen {
  const zh_wit_world *world;
  char w[128], W[128]; /* the world's prefix, lower and upper case */
  FILE *h, *c;         /* memory streams; files are written only when everything succeeded */
  char **strs;         /* interned strings (names), freed at the end */
  size_t nstrs, capstrs;
  const char **done; /* C type names already emitted */
  size_t ndone, capdone;
  char err[512];
} gen;

static void fail(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(gen *g, const char *fmt, ...) {
  if (g->err[0])
    return; /* the first problem is the one to report */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g->err, sizeof g->err, fmt, ap);
  va_end(ap);
}

/* A formatted string that lives until the generator is freed. */
static const char *str(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *str(gen *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) {
    fail(g, "out of memory");
    return "";
  }
  if (g->nstrs == g->capstrs) {
    size_t cap = g->capstrs ? 2 * g->capstrs : 256;
    char **grown = realloc(g->strs, cap * sizeof *grown);
    if (!grown) {
      free(s);
      fail(g, "out of memory");
      return "";
    }
    g->strs = grown;
    g->capstrs = cap;
  }
  g->strs[g->nstrs++] = s;
  return s;
}

static bool mark_done(gen *g, const char *name) {
  for (size_t i = 0; i < g->ndone; i++)
    if (strcmp(g->done[i], name) == 0)
      return false;
  if (g->ndone == g->capdone) {
    size_t cap = g->capdone ? 2 * g->capdone : 64;
    const char **d = realloc(g->done, cap * sizeof *d);
    if (!d) {
      fail(g, "out of memory");
      return false;
    }
    g->done = d;
    g->capdone = cap;
  }
  g->done[g->ndone++] = name;
  return true;
}

static const char *const c_keywords[] = {
    "auto",     "break",   "case",   "char",     "const",    "continue", "default",  "do",
    "double",   "else",    "enum",   "extern",   "float",    "for",      "goto",     "if",
    "inline",   "int",     "long",   "register", "restrict", "return",   "short",    "signed",
    "sizeof",   "static",  "struct", "switch",   "typedef",  "union",    "unsigned", "void",
    "volatile", "while",   "bool",   "true",     "false",    "ptr",      "len",      "tag",
    "val",      "is_some", "is_err", "ok",       "err",      "errno",    "assert",   "NULL"};

/* kebab-case -> snake_case (or SNAKE_CASE); names that are C keywords, or the generated
 * struct members, get a trailing underscore when used as identifiers. */
static const char *snake(gen *g, const char *s, bool upper) {
  char buf[256];
  size_t n = 0;
  for (; *s && n + 2 < sizeof buf; s++) {
    char ch = *s;
    if (ch == '-')
      ch = '_';
    if (upper && ch >= 'a' && ch <= 'z')
      ch = (char)(ch - 'a' + 'A');
    else if (!upper && ch >= 'A' && ch <= 'Z')
      ch = (char)(ch - 'A' + 'a');
    buf[n++] = ch;
  }
  buf[n] = 0;
  return str(g, "%s", buf);
}

static const char *ident(gen *g, const char *s) {
  const char *id = snake(g, s, false);
  for (size_t i = 0; i < sizeof c_keywords / sizeof c_keywords[0]; i++)
    if (strcmp(id, c_keywords[i]) == 0)
      return str(g, "%s_", id);
  return id;
}

/* The world item through which an interface is reachable (for inline interfaces' names and
 * core module names). */
static const zh_wit_world_item *item_of(gen *g, const zh_wit_interface *in, bool *imported) {
  for (size_t i = 0; i < g->world->nimports; i++)
    if (g->world->imports[i].iface == in) {
      *imported = true;
      return &g->world->imports[i];
    }
  for (size_t i = 0; i < g->world->nexports; i++)
    if (g->world->exports[i].iface == in) {
      *imported = false;
      return &g->world->exports[i];
    }
  return NULL;
}

/* True when the world also holds a different interface of the same name (wasi:http/types and
 * wasi:filesystem/types): then C names carry the package too, or they would collide. */
static bool iface_name_shared(gen *g, const zh_wit_interface *in) {
  const zh_wit_world_item *lists[2] = {g->world->imports, g->world->exports};
  size_t counts[2] = {g->world->nimports, g->world->nexports};
  for (int l = 0; l < 2; l++)
    for (size_t i = 0; i < counts[l]; i++) {
      const zh_wit_interface *o = lists[l][i].iface;
      if (o && o != in && o->name && strcmp(o->name, in->name) == 0)
        return true;
    }
  return false;
}

static const char *iface_snake(gen *g, const zh_wit_interface *in) {
  if (in->name && in->package && iface_name_shared(g, in))
    return snake(g, str(g, "%s_%s", in->package->pkg, in->name), false);
  if (in->name)
    return snake(g, in->name, false);
  bool imp;
  const zh_wit_world_item *it = item_of(g, in, &imp);
  return snake(g, it ? it->name : "inline", false);
}

/* "<world>_<iface>" for interface types, "<world>" for world-level ones. */
static const char *owner_prefix(gen *g, const zh_wit_type *t) {
  return t->interface ? str(g, "%s_%s", g->w, iface_snake(g, t->interface)) : g->w;
}

static const zh_wit_type *unalias(const zh_wit_type *t) { return zh_abi_unalias(t); }

/* A name brought in by `use` is the defining interface's type, under its own C name. */
static const zh_wit_type *unuse(const zh_wit_type *t) {
  while (t && t->kind == ZH_WIT_ALIAS && t->from_use)
    t = t->elem;
  return t;
}

/* A bare resource name used as a type means own<R>. */
static bool is_bare_resource(const zh_wit_type *t) { return unalias(t)->kind == ZH_WIT_RESOURCE; }

static const zh_wit_type *handle_resource(const zh_wit_type *t) {
  return is_bare_resource(t) ? unalias(t) : unalias(unalias(t)->elem);
}

static bool is_own(const zh_wit_type *t) {
  return is_bare_resource(t) || unalias(t)->kind == ZH_WIT_OWN;
}

/* A resource of an interface the world exports: the guest implements it. */
static bool is_exported_resource(gen *g, const zh_wit_type *r) {
  bool imported = true;
  return r->interface && item_of(g, r->interface, &imported) && !imported;
}

/* borrow<R> of an exported resource: in the implementing guest it is the rep, R's struct. */
static bool is_rep_borrow(gen *g, const zh_wit_type *t) {
  t = unalias(t);
  return t->kind == ZH_WIT_BORROW && is_exported_resource(g, unalias(t->elem));
}

static const char *prim_name(zh_wit_type_kind k) {
  switch (k) {
  case ZH_WIT_BOOL:
    return "bool";
  case ZH_WIT_S8:
    return "int8_t";
  case ZH_WIT_S16:
    return "int16_t";
  case ZH_WIT_S32:
    return "int32_t";
  case ZH_WIT_S64:
    return "int64_t";
  case ZH_WIT_U8:
    return "uint8_t";
  case ZH_WIT_U16:
    return "uint16_t";
  case ZH_WIT_U32:
  case ZH_WIT_CHAR:
    return "uint32_t";
  case ZH_WIT_U64:
    return "uint64_t";
  case ZH_WIT_F32:
    return "float";
  case ZH_WIT_F64:
    return "double";
  default:
    return NULL;
  }
}

/* A name fragment for anonymous types: list<option<string>> -> "list_option_string". */
static const char *mangle(gen *g, const zh_wit_type *t) {
  if (!t)
    return "void";
  t = unuse(t);
  if (t->kind == ZH_WIT_OWN || t->kind == ZH_WIT_BORROW || is_bare_resource(t)) {
    const zh_wit_type *r = handle_resource(t);
    return str(g, "%s_%s_%s", is_own(t) ? "own" : "borrow",
               r->interface ? iface_snake(g, r->interface) : "world", snake(g, r->name, false));
  }
  if (t->name)
    return t->interface ? str(g, "%s_%s", iface_snake(g, t->interface), snake(g, t->name, false))
                        : snake(g, t->name, false);
  switch (t->kind) {
  case ZH_WIT_LIST:
    return str(g, "list_%s", mangle(g, t->elem));
  case ZH_WIT_OPTION:
    return str(g, "option_%s", mangle(g, t->elem));
  case ZH_WIT_RESULT:
    return str(g, "result_%s_%s", mangle(g, t->elem), mangle(g, t->err));
  case ZH_WIT_TUPLE: {
    const char *s = str(g, "tuple%zu", t->nfields);
    for (size_t i = 0; i < t->nfields; i++)
      s = str(g, "%s_%s", s, mangle(g, t->fields[i].type));
    return s;
  }
  default:
    return zh_wit_type_kind_name(t->kind);
  }
}

/* The C type of a WIT type. */
static const char *ctype(gen *g, const zh_wit_type *t) {
  t = unuse(t);
  if (t->kind == ZH_WIT_OWN || t->kind == ZH_WIT_BORROW || is_bare_resource(t)) {
    const zh_wit_type *r = handle_resource(t);
    if (!is_own(t) && is_exported_resource(g, r))
      return str(g, "%s_%s_t *", owner_prefix(g, r), snake(g, r->name, false));
    return str(g, "%s_%s_%s_t", owner_prefix(g, r), is_own(t) ? "own" : "borrow",
               snake(g, r->name, false));
  }
  if (t->name)
    return str(g, "%s_%s_t", owner_prefix(g, t), snake(g, t->name, false));
  const char *p = prim_name(t->kind);
  if (p)
    return p;
  if (t->kind == ZH_WIT_STRING)
    return str(g, "%s_string_t", g->w);
  return str(g, "%s_%s_t", g->w, mangle(g, t));
}

/* "X_t" -> "X_free". */
static const char *free_name(gen *g, const zh_wit_type *t) {
  const char *c = ctype(g, t);
  size_t n = strlen(c);
  return str(g, "%.*s_free", (int)(n - 2), c);
}

/* Whether a value of t holds heap memory (strings, lists) that a _free function releases.
 * Handles are not memory: dropping them is explicit (see the header's ownership notes). */
static bool owns(const zh_wit_type *t) {
  if (!t)
    return false;
  t = unalias(t);
  switch (t->kind) {
  case ZH_WIT_STRING:
  case ZH_WIT_LIST:
    return true;
  case ZH_WIT_OPTION:
    return owns(t->elem);
  case ZH_WIT_RESULT:
    return owns(t->elem) || owns(t->err);
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
    for (size_t i = 0; i < t->nfields; i++)
      if (owns(t->fields[i].type))
        return true;
    return false;
  default:
    return false;
  }
}

/* Passed and returned by value (everything else by pointer). */
static bool is_scalar(const zh_wit_type *t) {
  const zh_wit_type *u = unalias(t);
  if (prim_name(u->kind))
    return true;
  switch (u->kind) {
  case ZH_WIT_ENUM:
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW:
  case ZH_WIT_RESOURCE:
    return true;
  case ZH_WIT_FLAGS:
    return u->nfields <= 32;
  default:
    return false;
  }
}

static const char *tag_type(size_t ncases) {
  uint32_t d = zh_abi_disc_size(ncases);
  return d == 1 ? "uint8_t" : d == 2 ? "uint16_t" : "uint32_t";
}

static const char *flags_type(size_t n) {
  return n <= 8 ? "uint8_t" : n <= 16 ? "uint16_t" : "uint32_t";
}

/* ---- type definitions ---- */

static void emit_type(gen *g, const zh_wit_type *t);

static void emit_layout_check(gen *g, const char *cname, const zh_wit_type *t) {
  fprintf(g->c, "_Static_assert(sizeof(%s) == %u && _Alignof(%s) == %u, \"%s layout\");\n", cname,
          zh_abi_size(t), cname, zh_abi_align(t), cname);
}

static void emit_free_decl(gen *g, const zh_wit_type *t, const char *cname) {
  fprintf(g->h, "void %s(%s *ptr);\n", free_name(g, t), cname);
}

/* A resource the guest implements (CanonicalABI.md): the user defines struct PFX_R (the rep)
 * and PFX_R_destructor; handles come from the [resource-new]/[resource-rep]/[resource-drop]
 * built-ins of core module "[export]IFACE", and the glue exports "IFACE#[dtor]R". */
static void emit_exported_resource(gen *g, const zh_wit_type *r, const char *iface, const char *pfx,
                                   const char *rn, const char *own) {
  const char *rt = str(g, "%s_%s_t", pfx, rn), *fn = str(g, "%s_%s", pfx, rn);
  const char *imp = str(g, "__wasm_import_%s", fn);
  fprintf(g->h,
          "\n/* resource %s (exported): this guest implements it. Define struct %s, the rep\n"
          " * (%s), and implement the constructor (it returns a new rep), the methods (self\n"
          " * is the rep: borrow<%s> in exported functions is %s *) and\n"
          " * %s_destructor, which the host calls once the last own handle is dropped.\n"
          " * own<%s> values are handles: %s_new makes one for a rep, %s_rep gets a\n"
          " * handle's rep, %s_drop_own drops one this guest holds. */\n"
          "typedef struct %s %s;\n"
          "typedef struct %s {\n  int32_t __handle;\n} %s;\n"
          "%s %s_new(%s *rep);\n"
          "%s *%s_rep(%s handle);\n"
          "void %s_drop_own(%s handle);\n"
          "/* Implement it: free the rep. */\n"
          "void %s_destructor(%s *rep);\n",
          r->name, fn, rt, r->name, rt, fn, r->name, fn, fn, fn, fn, rt, own, own, own, fn, rt, rt,
          fn, own, fn, own, fn, rt);
  char dtor[512];
  snprintf(dtor, sizeof dtor, "%s#[dtor]%s", iface, r->name);
  fprintf(g->c,
          "\n__attribute__((__import_module__(\"[export]%s\"), "
          "__import_name__(\"[resource-new]%s\")))\n"
          "extern int32_t %s_new(int32_t);\n"
          "__attribute__((__import_module__(\"[export]%s\"), "
          "__import_name__(\"[resource-rep]%s\")))\n"
          "extern int32_t %s_rep(int32_t);\n"
          "__attribute__((__import_module__(\"[export]%s\"), "
          "__import_name__(\"[resource-drop]%s\")))\n"
          "extern void %s_drop(int32_t);\n"
          "%s %s_new(%s *rep) { return (%s){%s_new((int32_t)(uintptr_t)rep)}; }\n"
          "%s *%s_rep(%s handle) {\n"
          "  return (%s *)(uintptr_t)(uint32_t)%s_rep(handle.__handle);\n}\n"
          "void %s_drop_own(%s handle) { %s_drop(handle.__handle); }\n"
          "\n__attribute__((__export_name__(\"%s\")))\n"
          "void __wasm_export_%s_dtor(int32_t rep) {\n"
          "  %s_destructor((%s *)(uintptr_t)(uint32_t)rep);\n}\n",
          iface, r->name, imp, iface, r->name, imp, iface, r->name, imp, own, fn, rt, own, imp, rt,
          fn, own, rt, imp, fn, own, imp, dtor, fn, fn, rt);
}

/* The resource's handle types, and the drop function for imported resources. */
static void emit_resource(gen *g, const zh_wit_type *r) {
  const char *pfx = owner_prefix(g, r), *rn = snake(g, r->name, false);
  const char *own = str(g, "%s_own_%s_t", pfx, rn), *bor = str(g, "%s_borrow_%s_t", pfx, rn);
  if (!mark_done(g, own))
    return;
  bool imported = true;
  const zh_wit_world_item *it = r->interface ? item_of(g, r->interface, &imported) : NULL;
  if (r->interface && !it) {
    fail(g, "resource %s: its interface is neither imported nor exported by the world", r->name);
    return;
  }
  if (!imported) {
    emit_exported_resource(g, r, it->name, pfx, rn, own);
    return;
  }
  const char *module = it ? it->name : "$root";
  fprintf(g->h,
          "\n/* resource %s (imported): an own handle must be dropped exactly once, with\n"
          " * %s_%s_drop_own or by passing it to a function taking own<%s>. */\n"
          "typedef struct %s {\n  int32_t __handle;\n} %s;\n"
          "typedef struct %s {\n  int32_t __handle;\n} %s;\n"
          "void %s_%s_drop_own(%s handle);\n"
          "static inline %s %s_borrow_%s(%s handle) {\n"
          "  return (%s){handle.__handle};\n}\n",
          r->name, pfx, rn, r->name, own, own, bor, bor, pfx, rn, own, bor, pfx, rn, own, bor);
  fprintf(g->c,
          "\n__attribute__((__import_module__(\"%s\"), __import_name__(\"[resource-drop]%s\")))\n"
          "extern void __wasm_import_%s_%s_drop_own(int32_t);\n"
          "void %s_%s_drop_own(%s handle) { __wasm_import_%s_%s_drop_own(handle.__handle); }\n",
          module, r->name, pfx, rn, pfx, rn, own, pfx, rn);
}

static void emit_fields(gen *g, const zh_wit_type *t, bool tuple) {
  for (size_t i = 0; i < t->nfields; i++) {
    const char *name = tuple ? str(g, "f%zu", i) : ident(g, t->fields[i].name);
    fprintf(g->h, "  %s %s;\n", ctype(g, t->fields[i].type), name);
  }
}

/* The body of X_free for t (a defining type), freeing *ptr's members. */
static void emit_free_body(gen *g, const zh_wit_type *t) {
  switch (t->kind) {
  case ZH_WIT_LIST:
    if (owns(t->elem))
      fprintf(g->c, "  for (size_t i = 0; i < ptr->len; i++)\n    %s(&ptr->ptr[i]);\n",
              free_name(g, t->elem));
    fprintf(g->c, "  if (ptr->len)\n    free(ptr->ptr);\n  ptr->ptr = NULL;\n  ptr->len = 0;\n");
    break;
  case ZH_WIT_OPTION:
    fprintf(g->c, "  if (ptr->is_some)\n    %s(&ptr->val);\n  ptr->is_some = false;\n",
            free_name(g, t->elem));
    break;
  case ZH_WIT_RESULT:
    if (owns(t->elem))
      fprintf(g->c, "  if (!ptr->is_err)\n    %s(&ptr->val.ok);\n", free_name(g, t->elem));
    if (owns(t->err))
      fprintf(g->c, "  if (ptr->is_err)\n    %s(&ptr->val.err);\n", free_name(g, t->err));
    break;
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD:
    for (size_t i = 0; i < t->nfields; i++)
      if (owns(t->fields[i].type))
        fprintf(g->c, "  %s(&ptr->%s);\n", free_name(g, t->fields[i].type),
                t->kind == ZH_WIT_TUPLE ? str(g, "f%zu", i) : ident(g, t->fields[i].name));
    break;
  case ZH_WIT_VARIANT:
    fprintf(g->c, "  switch (ptr->tag) {\n");
    for (size_t i = 0; i < t->nfields; i++)
      if (owns(t->fields[i].type))
        fprintf(g->c, "  case %zu:\n    %s(&ptr->val.%s);\n    break;\n", i,
                free_name(g, t->fields[i].type), ident(g, t->fields[i].name));
    fprintf(g->c, "  default:\n    break;\n  }\n");
    break;
  default:
    break;
  }
}

static void emit_type(gen *g, const zh_wit_type *t) {
  t = unuse(t);
  if (!t || g->err[0])
    return;
  if (t->kind == ZH_WIT_OWN || t->kind == ZH_WIT_BORROW || is_bare_resource(t)) {
    emit_resource(g, handle_resource(t));
    return;
  }
  if (prim_name(t->kind) || t->kind == ZH_WIT_STRING)
    return; /* built in, or in the prelude */
  if (t->kind == ZH_WIT_FUTURE || t->kind == ZH_WIT_STREAM) {
    fail(g, "%s: futures and streams are not supported by the C bindings",
         t->name ? t->name : zh_wit_type_kind_name(t->kind));
    return;
  }
  const char *cname = ctype(g, t);
  /* Dependencies first: C needs complete member types. */
  if (t->kind == ZH_WIT_ALIAS) {
    emit_type(g, t->elem);
  } else {
    emit_type(g, t->elem);
    emit_type(g, t->err);
    for (size_t i = 0; i < t->nfields; i++)
      emit_type(g, t->fields[i].type);
  }
  if (g->err[0] || !mark_done(g, cname))
    return;
  const char *upper = t->name ? snake(g, cname, true) : NULL;
  size_t ulen = upper ? strlen(upper) - 2 : 0; /* without "_T" */
  fprintf(g->h, "\n");
  if (t->name)
    fprintf(g->h, "/* %s %s */\n", zh_wit_type_kind_name(t->kind), t->name);
  switch (t->kind) {
  case ZH_WIT_ALIAS:
    fprintf(g->h, "typedef %s %s;\n", ctype(g, t->elem), cname);
    if (owns(t))
      fprintf(g->c, "\nvoid %s(%s *ptr) { %s(ptr); }\n", free_name(g, t), cname,
              free_name(g, t->elem));
    break;
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    fprintf(g->h, "typedef struct %s {\n", cname);
    emit_fields(g, t, t->kind == ZH_WIT_TUPLE);
    fprintf(g->h, "} %s;\n", cname);
    break;
  case ZH_WIT_LIST:
    fprintf(g->h, "typedef struct %s {\n  %s *ptr;\n  size_t len;\n} %s;\n", cname,
            ctype(g, t->elem), cname);
    break;
  case ZH_WIT_OPTION:
    fprintf(g->h, "typedef struct %s {\n  bool is_some;\n  %s val;\n} %s;\n", cname,
            ctype(g, t->elem), cname);
    break;
  case ZH_WIT_RESULT:
    fprintf(g->h, "typedef struct %s {\n  bool is_err;\n", cname);
    if (t->elem || t->err) {
      fprintf(g->h, "  union {\n");
      if (t->elem)
        fprintf(g->h, "    %s ok;\n", ctype(g, t->elem));
      if (t->err)
        fprintf(g->h, "    %s err;\n", ctype(g, t->err));
      fprintf(g->h, "  } val;\n");
    }
    fprintf(g->h, "} %s;\n", cname);
    break;
  case ZH_WIT_VARIANT: {
    bool payload = false;
    for (size_t i = 0; i < t->nfields; i++)
      payload |= t->fields[i].type != NULL;
    for (size_t i = 0; i < t->nfields; i++)
      fprintf(g->h, "#define %.*s_%s %zu\n", (int)ulen, upper, snake(g, t->fields[i].name, true),
              i);
    fprintf(g->h, "typedef struct %s {\n  %s tag;\n", cname, tag_type(t->nfields));
    if (payload) {
      fprintf(g->h, "  union {\n");
      for (size_t i = 0; i < t->nfields; i++)
        if (t->fields[i].type)
          fprintf(g->h, "    %s %s;\n", ctype(g, t->fields[i].type), ident(g, t->fields[i].name));
      fprintf(g->h, "  } val;\n");
    }
    fprintf(g->h, "} %s;\n", cname);
    break;
  }
  case ZH_WIT_ENUM:
    fprintf(g->h, "typedef %s %s;\n", tag_type(t->nfields), cname);
    for (size_t i = 0; i < t->nfields; i++)
      fprintf(g->h, "#define %.*s_%s %zu\n", (int)ulen, upper, snake(g, t->fields[i].name, true),
              i);
    break;
  case ZH_WIT_FLAGS:
    if (t->nfields <= 32) {
      fprintf(g->h, "typedef %s %s;\n", flags_type(t->nfields), cname);
      for (size_t i = 0; i < t->nfields; i++)
        fprintf(g->h, "#define %.*s_%s ((%s)1 << %zu)\n", (int)ulen, upper,
                snake(g, t->fields[i].name, true), cname, i);
    } else {
      /* More than 32 flags: one bit per flag in 32-bit words, flag i in word i / 32. */
      const char *lower = str(g, "%.*s", (int)(strlen(cname) - 2), cname);
      fprintf(g->h, "typedef struct %s {\n  uint32_t bits[%u];\n} %s;\n", cname,
              zh_abi_flags_words(t->nfields), cname);
      for (size_t i = 0; i < t->nfields; i++)
        fprintf(g->h, "#define %.*s_%s %zu\n", (int)ulen, upper, snake(g, t->fields[i].name, true),
                i);
      fprintf(g->h,
              "static inline bool %s_has(const %s *f, unsigned flag) {\n"
              "  return (f->bits[flag / 32] >> (flag %% 32)) & 1;\n}\n"
              "static inline void %s_set(%s *f, unsigned flag, bool on) {\n"
              "  if (on)\n    f->bits[flag / 32] |= (uint32_t)1 << (flag %% 32);\n"
              "  else\n    f->bits[flag / 32] &= ~((uint32_t)1 << (flag %% 32));\n}\n",
              lower, cname, lower, cname);
    }
    break;
  default:
    fail(g, "%s: cannot generate C for a %s", t->name ? t->name : "type",
         zh_wit_type_kind_name(t->kind));
    return;
  }
  emit_layout_check(g, cname, t);
  if (owns(t)) {
    emit_free_decl(g, t, cname);
    if (t->kind != ZH_WIT_ALIAS) {
      fprintf(g->c, "\nvoid %s(%s *ptr) {\n", free_name(g, t), cname);
      emit_free_body(g, t);
      fprintf(g->c, "}\n");
    }
  }
}

/* ---- flat lowering and lifting ---- */

static const char *core_ctype(zh_valtype t) {
  switch (t) {
  case ZH_I64:
    return "int64_t";
  case ZH_F32:
    return "float";
  case ZH_F64:
    return "double";
  default:
    return "int32_t";
  }
}

/* Flat slot count of t, or SIZE_MAX past the limit. */
static size_t flat_count(const zh_wit_type *t) {
  zh_valtype tmp[ZH_ABI_MAX_FLAT_PARAMS + 1];
  size_t n = 0;
  return zh_abi_flatten(t, tmp, ZH_ABI_MAX_FLAT_PARAMS, &n) ? n : SIZE_MAX;
}

/* The flat slots one lowering or lifting walks: names "<prefix><i>" of the core types `st`. */
typedef struct slots {
  const char *prefix;
  const zh_valtype *st;
  size_t k;
} slots;

/* A value of core type `have` stored into a slot of type `want` (variant joining: i32 and
 * f32 share an i32, anything with i64 an i64; values are zero-extended, floats bit-cast). */
static const char *coerce_to(gen *g, zh_valtype want, zh_valtype have, const char *e) {
  if (want == have)
    return e;
  if (want == ZH_I64 && have == ZH_I32)
    return str(g, "(int64_t)(uint32_t)(%s)", e);
  if (want == ZH_I32 && have == ZH_F32)
    return str(g, "zh_f32_bits(%s)", e);
  if (want == ZH_I64 && have == ZH_F32)
    return str(g, "(int64_t)(uint32_t)zh_f32_bits(%s)", e);
  return str(g, "zh_f64_bits(%s)", e); /* i64 from f64 */
}

/* The inverse: a slot read back as the core type `want`. */
static const char *coerce_from(gen *g, zh_valtype have, zh_valtype want, const char *e) {
  if (want == have)
    return e;
  if (want == ZH_I32)
    return str(g, "(int32_t)(%s)", e);
  if (want == ZH_F32)
    return str(g, "zh_bits_f32((int32_t)(%s))", have == ZH_I64 ? str(g, "(uint32_t)(%s)", e) : e);
  return str(g, "zh_bits_f64(%s)", e);
}

static void put_slot(gen *g, FILE *o, int ind, slots *s, zh_valtype have, const char *e) {
  fprintf(o, "%*s%s%zu = %s;\n", ind, "", s->prefix, s->k, coerce_to(g, s->st[s->k], have, e));
  s->k++;
}

static const char *get_slot(gen *g, slots *s, zh_valtype want) {
  const char *e = str(g, "%s%zu", s->prefix, s->k);
  const char *r = coerce_from(g, s->st[s->k], want, e);
  s->k++;
  return r;
}

static zh_valtype leaf_core(zh_wit_type_kind k) {
  return k == ZH_WIT_S64 || k == ZH_WIT_U64 ? ZH_I64
         : k == ZH_WIT_F32                  ? ZH_F32
         : k == ZH_WIT_F64                  ? ZH_F64
                                            : ZH_I32;
}

/* Member access for case i of a variant-like value. */
static const char *case_member(gen *g, const zh_wit_type *u, size_t i, const char *e) {
  if (u->kind == ZH_WIT_OPTION)
    return str(g, "(%s).val", e);
  if (u->kind == ZH_WIT_RESULT)
    return str(g, "(%s).val.%s", e, i ? "err" : "ok");
  return str(g, "(%s).val.%s", e, ident(g, u->fields[i].name));
}

static const char *disc_member(const zh_wit_type *u) {
  return u->kind == ZH_WIT_OPTION ? "is_some" : u->kind == ZH_WIT_RESULT ? "is_err" : "tag";
}

/* Statements that store the C value `e` of type t into the slots. */
static void lower_flat(gen *g, FILE *o, int ind, const zh_wit_type *t, const char *e, slots *s) {
  const zh_wit_type *u = unalias(t);
  if (is_rep_borrow(g, u)) {
    put_slot(g, o, ind, s, ZH_I32, str(g, "(int32_t)(uintptr_t)(%s)", e));
    return;
  }
  if (u->kind == ZH_WIT_RESOURCE || u->kind == ZH_WIT_OWN || u->kind == ZH_WIT_BORROW) {
    put_slot(g, o, ind, s, ZH_I32, str(g, "(%s).__handle", e));
    return;
  }
  switch (u->kind) {
  case ZH_WIT_STRING:
  case ZH_WIT_LIST:
    put_slot(g, o, ind, s, ZH_I32, str(g, "(int32_t)(uintptr_t)(%s).ptr", e));
    put_slot(g, o, ind, s, ZH_I32, str(g, "(int32_t)(%s).len", e));
    return;
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    for (size_t i = 0; i < u->nfields; i++)
      lower_flat(g, o, ind, u->fields[i].type,
                 str(g, "(%s).%s", e,
                     u->kind == ZH_WIT_TUPLE ? str(g, "f%zu", i) : ident(g, u->fields[i].name)),
                 s);
    return;
  case ZH_WIT_ENUM:
    put_slot(g, o, ind, s, ZH_I32, str(g, "(int32_t)(%s)", e));
    return;
  case ZH_WIT_FLAGS:
    if (u->nfields <= 32) {
      if (u->nfields)
        put_slot(g, o, ind, s, ZH_I32, str(g, "(int32_t)(%s)", e));
    } else {
      for (uint32_t w = 0; w < zh_abi_flags_words(u->nfields); w++)
        put_slot(g, o, ind, s, ZH_I32, str(g, "(int32_t)(%s).bits[%u]", e, w));
    }
    return;
  case ZH_WIT_VARIANT:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT: {
    size_t total = flat_count(u), start = s->k;
    put_slot(g, o, ind, s, ZH_I32, str(g, "(int32_t)(%s).%s", e, disc_member(u)));
    size_t n = zh_abi_case_count(u);
    fprintf(o, "%*sswitch ((int)(%s).%s) {\n", ind, "", e, disc_member(u));
    for (size_t i = 0; i < n; i++) {
      const zh_wit_type *p = zh_abi_case_type(u, i);
      if (!p)
        continue;
      fprintf(o, "%*scase %zu: {\n", ind, "", i);
      slots sub = {s->prefix, s->st, start + 1}; /* every case's payload starts after the tag */
      lower_flat(g, o, ind + 2, p, case_member(g, u, i, e), &sub);
      fprintf(o, "%*s  break;\n%*s}\n", ind, "", ind, "");
    }
    fprintf(o, "%*sdefault:\n%*s  break;\n%*s}\n", ind, "", ind, "", ind, "");
    s->k = start + total;
    return;
  }
  default:
    break;
  }
  const char *core = core_ctype(leaf_core(u->kind));
  put_slot(g, o, ind, s, leaf_core(u->kind),
           u->kind == ZH_WIT_F32 || u->kind == ZH_WIT_F64 ? e : str(g, "(%s)(%s)", core, e));
}

/* Statements that set the C lvalue `e` of type t from the slots. */
static void lift_flat(gen *g, FILE *o, int ind, const zh_wit_type *t, const char *e, slots *s) {
  const zh_wit_type *u = unalias(t);
  if (is_rep_borrow(g, u)) {
    fprintf(o, "%*s%s = (%s)(uintptr_t)(uint32_t)(%s);\n", ind, "", e, ctype(g, u),
            get_slot(g, s, ZH_I32));
    return;
  }
  if (u->kind == ZH_WIT_RESOURCE || u->kind == ZH_WIT_OWN || u->kind == ZH_WIT_BORROW) {
    fprintf(o, "%*s(%s).__handle = %s;\n", ind, "", e, get_slot(g, s, ZH_I32));
    return;
  }
  switch (u->kind) {
  case ZH_WIT_STRING:
  case ZH_WIT_LIST: {
    const char *elem = u->kind == ZH_WIT_STRING ? "uint8_t" : ctype(g, u->elem);
    fprintf(o, "%*s(%s).ptr = (%s *)(uintptr_t)(uint32_t)(%s);\n", ind, "", e, elem,
            get_slot(g, s, ZH_I32));
    fprintf(o, "%*s(%s).len = (size_t)(uint32_t)(%s);\n", ind, "", e, get_slot(g, s, ZH_I32));
    return;
  }
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
    for (size_t i = 0; i < u->nfields; i++)
      lift_flat(g, o, ind, u->fields[i].type,
                str(g, "(%s).%s", e,
                    u->kind == ZH_WIT_TUPLE ? str(g, "f%zu", i) : ident(g, u->fields[i].name)),
                s);
    return;
  case ZH_WIT_ENUM:
    fprintf(o, "%*s%s = (%s)(%s);\n", ind, "", e, tag_type(u->nfields), get_slot(g, s, ZH_I32));
    return;
  case ZH_WIT_FLAGS:
    if (u->nfields <= 32) {
      if (u->nfields)
        fprintf(o, "%*s%s = (%s)(%s);\n", ind, "", e, flags_type(u->nfields),
                get_slot(g, s, ZH_I32));
    } else {
      for (uint32_t w = 0; w < zh_abi_flags_words(u->nfields); w++)
        fprintf(o, "%*s(%s).bits[%u] = (uint32_t)(%s);\n", ind, "", e, w, get_slot(g, s, ZH_I32));
    }
    return;
  case ZH_WIT_VARIANT:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT: {
    size_t total = flat_count(u), start = s->k;
    const char *d = disc_member(u);
    if (u->kind == ZH_WIT_VARIANT)
      fprintf(o, "%*s(%s).tag = (%s)(%s);\n", ind, "", e, tag_type(u->nfields),
              get_slot(g, s, ZH_I32));
    else
      fprintf(o, "%*s(%s).%s = (%s) != 0;\n", ind, "", e, d, get_slot(g, s, ZH_I32));
    fprintf(o, "%*sswitch ((int)(%s).%s) {\n", ind, "", e, d);
    for (size_t i = 0; i < zh_abi_case_count(u); i++) {
      const zh_wit_type *p = zh_abi_case_type(u, i);
      if (!p)
        continue;
      fprintf(o, "%*scase %zu: {\n", ind, "", i);
      slots sub = {s->prefix, s->st, start + 1};
      lift_flat(g, o, ind + 2, p, case_member(g, u, i, e), &sub);
      fprintf(o, "%*s  break;\n%*s}\n", ind, "", ind, "");
    }
    fprintf(o, "%*sdefault:\n%*s  break;\n%*s}\n", ind, "", ind, "", ind, "");
    s->k = start + total;
    return;
  }
  default:
    break;
  }
  zh_valtype core = leaf_core(u->kind);
  const char *v = get_slot(g, s, core);
  if (u->kind == ZH_WIT_BOOL)
    fprintf(o, "%*s%s = (%s) != 0;\n", ind, "", e, v);
  else
    fprintf(o, "%*s%s = (%s)(%s);\n", ind, "", e, prim_name(u->kind), v);
}

/* ---- functions ---- */

/* "<prefix>_<name>", "<prefix>_method_<r>_<name>", "<prefix>_constructor_<r>", ... */
static const char *func_cname(gen *g, const char *prefix, const zh_wit_func *f) {
  const char *r = f->resource ? snake(g, unalias(f->resource)->name, false) : "";
  switch (f->kind) {
  case ZH_WIT_FUNC_METHOD:
    return str(g, "%s_method_%s_%s", prefix, r, snake(g, f->name, false));
  case ZH_WIT_FUNC_STATIC:
    return str(g, "%s_static_%s_%s", prefix, r, snake(g, f->name, false));
  case ZH_WIT_FUNC_CONSTRUCTOR:
    return str(g, "%s_constructor_%s", prefix, r);
  default:
    return str(g, "%s_%s", prefix, snake(g, f->name, false));
  }
}

/* The C prototype: scalars by value, the rest by pointer; a compound result through `ret`. */
static const char *prototype(gen *g, const zh_wit_func *f, const char *cname, bool is_import) {
  const char *ret = f->result && is_scalar(f->result) ? ctype(g, f->result) : "void";
  if (!is_import && f->kind == ZH_WIT_FUNC_CONSTRUCTOR) { /* returns the new rep */
    const zh_wit_type *r = unalias(f->resource);
    ret = str(g, "%s_%s_t *", owner_prefix(g, r), snake(g, r->name, false));
  }
  const char *s = str(g, "%s%s%s(", ret, ret[strlen(ret) - 1] == '*' ? "" : " ", cname);
  bool any = false;
  for (size_t i = 0; i < f->nparams; i++, any = true) {
    const zh_wit_type *t = f->params[i].type;
    const char *name = ident(g, f->params[i].name);
    const char *ct = ctype(g, t);
    s = is_scalar(t) ? str(g, "%s%s%s%s%s", s, any ? ", " : "", ct,
                           ct[strlen(ct) - 1] == '*' ? "" : " ", name)
                     : str(g, "%s%s%s%s *%s", s, any ? ", " : "", is_import ? "const " : "",
                           ctype(g, t), name);
  }
  if (f->result && !is_scalar(f->result)) {
    s = str(g, "%s%s%s *ret", s, any ? ", " : "", ctype(g, f->result));
    any = true;
  }
  return str(g, "%s%s)", s, any ? "" : "void");
}

static const char *core_proto(gen *g, const zh_abi_sig *sig, const char *name, bool named) {
  const char *s = str(g, "%s %s(", sig->nresults ? core_ctype(sig->results[0]) : "void", name);
  for (uint32_t i = 0; i < sig->nparams; i++)
    s = named ? str(g, "%s%s%s zh_a%u", s, i ? ", " : "", core_ctype(sig->params[i]), i)
              : str(g, "%s%s%s", s, i ? ", " : "", core_ctype(sig->params[i]));
  return str(g, "%s%s)", s, sig->nparams ? "" : "void");
}

/* A struct of the parameters: the canonical layout of the parameter tuple in memory. */
static const char *params_struct(gen *g, const zh_wit_func *f) {
  const char *s = "struct {";
  for (size_t i = 0; i < f->nparams; i++)
    s = str(g, "%s %s p%zu;", s, ctype(g, f->params[i].type), i);
  return str(g, "%s }", s);
}

static void emit_func_types(gen *g, const zh_wit_func *f) {
  for (size_t i = 0; i < f->nparams; i++)
    emit_type(g, f->params[i].type);
  emit_type(g, f->result);
}

static void emit_import(gen *g, const char *module, const char *prefix, const zh_wit_func *f) {
  emit_func_types(g, f);
  if (g->err[0])
    return;
  const char *cname = func_cname(g, prefix, f);
  zh_abi_sig sig;
  zh_abi_signature(f, true, &sig);
  const char *proto = prototype(g, f, cname, true);
  fprintf(g->h, "\n/* import %s#%s%s */\n%s;\n", module, f->abi_name,
          f->result && owns(f->result) ? ": the caller owns the result (free it with its _free)"
                                       : "",
          proto);
  const char *core = str(g, "__wasm_import_%s", cname);
  fprintf(g->c,
          "\n__attribute__((__import_module__(\"%s\"), __import_name__(\"%s\")))\n"
          "extern %s;\n\n%s {\n",
          module, f->abi_name, core_proto(g, &sig, core, false), proto);
  /* Arguments: flat slots, or one struct in memory (the callee only reads it). */
  const char *args = "";
  if (sig.params_indirect) {
    fprintf(g->c, "  %s zh_p;\n", params_struct(g, f));
    for (size_t i = 0; i < f->nparams; i++)
      fprintf(g->c, "  zh_p.p%zu = %s%s;\n", i, is_scalar(f->params[i].type) ? "" : "*",
              ident(g, f->params[i].name));
    args = "(int32_t)(uintptr_t)&zh_p";
  } else {
    for (uint32_t i = 0; i < sig.nflat_params; i++) {
      fprintf(g->c, "  %s zh_p%u = 0;\n", core_ctype(sig.params[i]), i);
      args = str(g, "%s%szh_p%u", args, i ? ", " : "", i);
    }
    slots s = {"zh_p", sig.params, 0};
    for (size_t i = 0; i < f->nparams; i++) {
      const zh_wit_type *t = f->params[i].type;
      const char *name = ident(g, f->params[i].name);
      lower_flat(g, g->c, 2, t, is_scalar(t) ? name : str(g, "*%s", name), &s);
    }
  }
  if (!f->result) {
    fprintf(g->c, "  %s(%s);\n}\n", core, args);
    return;
  }
  if (sig.results_indirect) {
    /* The host writes the result straight into *ret: the C type has the canonical layout. */
    fprintf(g->c, "  %s(%s%s(int32_t)(uintptr_t)ret);\n}\n", core, args, args[0] ? ", " : "");
    return;
  }
  fprintf(g->c, "  %s zh_r0 = %s(%s);\n", core_ctype(sig.results[0]), core, args);
  slots s = {"zh_r", sig.results, 0};
  if (is_scalar(f->result)) {
    fprintf(g->c, "  %s zh_ret;\n", ctype(g, f->result));
    lift_flat(g, g->c, 2, f->result, "zh_ret", &s);
    fprintf(g->c, "  return zh_ret;\n}\n");
  } else {
    fprintf(g->c, "  memset(ret, 0, sizeof *ret);\n");
    lift_flat(g, g->c, 2, f->result, "*ret", &s);
    fprintf(g->c, "}\n");
  }
}

static void emit_export(gen *g, const char *iface, const char *prefix, const zh_wit_func *f) {
  emit_func_types(g, f);
  if (f->resource && !g->err[0])
    emit_type(g, f->resource);
  if (g->err[0])
    return;
  const char *cname = func_cname(g, prefix, f);
  zh_abi_sig sig;
  zh_abi_signature(f, false, &sig);
  char ename[512];
  if (!zh_abi_export_name(iface, f, ename, sizeof ename)) {
    fail(g, "%s: export name too long", f->name);
    return;
  }
  const char *proto = prototype(g, f, cname, false);
  fprintf(g->h,
          "\n/* export %s: implement it. Arguments are the callee's (release them with their\n"
          " * _free functions)%s. */\n%s;\n",
          ename,
          f->result && owns(f->result)
              ? "; the glue frees the result after the host copied it, so build it from\n"
                " * malloc'd memory"
              : "",
          proto);
  const char *core = str(g, "__wasm_export_%s", cname);
  fprintf(g->c, "\n__attribute__((__export_name__(\"%s\")))\n%s {\n", ename,
          core_proto(g, &sig, core, true));
  for (size_t i = 0; i < f->nparams; i++) {
    const zh_wit_type *t = f->params[i].type;
    fprintf(g->c, "  %s zh_x%zu;\n", ctype(g, t), i);
    if (!is_scalar(t))
      fprintf(g->c, "  memset(&zh_x%zu, 0, sizeof zh_x%zu);\n", i, i);
  }
  if (sig.params_indirect) {
    /* The host allocated the parameter block with cabi_realloc; it is ours to free. */
    fprintf(g->c, "  %s *zh_p = (void *)(uintptr_t)zh_a0;\n", params_struct(g, f));
    for (size_t i = 0; i < f->nparams; i++)
      fprintf(g->c, "  zh_x%zu = zh_p->p%zu;\n", i, i);
    fprintf(g->c, "  free(zh_p);\n");
  } else {
    slots s = {"zh_a", sig.params, 0};
    for (size_t i = 0; i < f->nparams; i++)
      lift_flat(g, g->c, 2, f->params[i].type, str(g, "zh_x%zu", i), &s);
  }
  const char *call = str(g, "%s(", cname);
  for (size_t i = 0; i < f->nparams; i++)
    call = str(g, "%s%s%szh_x%zu", call, i ? ", " : "", is_scalar(f->params[i].type) ? "" : "&", i);
  const char *sep = f->nparams ? ", " : "";
  if (!f->result) {
    fprintf(g->c, "  %s);\n}\n", call);
    return;
  }
  if (sig.results_indirect) {
    /* A static return area: valid until the next call, which the host does not make before
     * it has read the result and called the post-return function. */
    fprintf(g->c,
            "  static %s zh_ret;\n  %s%s&zh_ret);\n  return (int32_t)(uintptr_t)&zh_ret;\n}\n",
            ctype(g, f->result), call, sep);
    if (owns(f->result)) {
      fprintf(g->c,
              "\n__attribute__((__export_name__(\"cabi_post_%s\")))\n"
              "void __wasm_export_post_%s(int32_t ret) {\n  %s((%s *)(uintptr_t)ret);\n}\n",
              ename, cname, free_name(g, f->result), ctype(g, f->result));
    }
    return;
  }
  fprintf(g->c, "  %s zh_r0 = 0;\n", core_ctype(sig.results[0]));
  if (f->kind == ZH_WIT_FUNC_CONSTRUCTOR) { /* a handle for the rep the user made */
    const zh_wit_type *r = unalias(f->resource);
    fprintf(g->c, "  %s zh_ret = %s_%s_new(%s));\n", ctype(g, f->result), owner_prefix(g, r),
            snake(g, r->name, false), call);
  } else if (is_scalar(f->result)) {
    fprintf(g->c, "  %s zh_ret = %s);\n", ctype(g, f->result), call);
  } else {
    fprintf(g->c, "  %s zh_ret;\n  memset(&zh_ret, 0, sizeof zh_ret);\n  %s%s&zh_ret);\n",
            ctype(g, f->result), call, sep);
  }
  slots s = {"zh_r", sig.results, 0};
  lower_flat(g, g->c, 2, f->result, "zh_ret", &s);
  fprintf(g->c, "  return zh_r0;\n}\n");
}

/* ---- the files ---- */

static void emit_prelude(gen *g) {
  fprintf(g->h,
          "/* Generated by `zerohop bindgen c` for WIT world %s. Do not edit.\n"
          " *\n"
          " * Ownership (docs/BINDGEN.md):\n"
          " *  - Calling an import: arguments stay the caller's (strings and lists are passed\n"
          " *    by pointer, without a copy). A result is the caller's: release it with the\n"
          " *    type's _free function.\n"
          " *  - Implementing an export: arguments are the callee's, allocated with malloc;\n"
          " *    release them with _free (or keep them). Results must be built from malloc'd\n"
          " *    memory (or be freeable by the type's _free): the glue frees them once the host\n"
          " *    has copied them (cabi_post_*).\n"
          " *  - X_free releases the memory a value of X holds (strings, lists, nested) and\n"
          " *    leaves the value empty. Buffers of length 0 are not freed (the host passes\n"
          " *    them without allocating). It does not drop resource handles, which are dropped\n"
          " *    explicitly (_drop_own) or given away by passing them as own<R>.\n"
          " *  - Every value of the type layouts is the canonical ABI's layout for wasm32.\n"
          " */\n"
          "#ifndef %s_H\n#define %s_H\n\n"
          "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
          "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
          "/* UTF-8 bytes, not NUL-terminated. */\n"
          "typedef struct %s_string_t {\n  uint8_t *ptr;\n  size_t len;\n} %s_string_t;\n"
          "/* Points *ret at s without copying (for passing to imports). */\n"
          "void %s_string_set(%s_string_t *ret, const char *s);\n"
          "/* Copies s into malloc'd memory (for results of exports). */\n"
          "void %s_string_dup(%s_string_t *ret, const char *s);\n"
          "void %s_string_free(%s_string_t *ptr);\n",
          g->world->name, g->W, g->W, g->w, g->w, g->w, g->w, g->w, g->w, g->w, g->w);
  fprintf(g->c,
          "/* Generated by `zerohop bindgen c` for WIT world %s. Do not edit. */\n"
          "#include \"%s.h\"\n\n#include <stdlib.h>\n#include <string.h>\n\n"
          "/* Core values of joined variant slots are bit-cast, as the canonical ABI does. */\n"
          "__attribute__((unused)) static inline int32_t zh_f32_bits(float f) {\n"
          "  int32_t i;\n  memcpy(&i, &f, sizeof i);\n  return i;\n}\n"
          "__attribute__((unused)) static inline float zh_bits_f32(int32_t i) {\n"
          "  float f;\n  memcpy(&f, &i, sizeof f);\n  return f;\n}\n"
          "__attribute__((unused)) static inline int64_t zh_f64_bits(double f) {\n"
          "  int64_t i;\n  memcpy(&i, &f, sizeof i);\n  return i;\n}\n"
          "__attribute__((unused)) static inline double zh_bits_f64(int64_t i) {\n"
          "  double f;\n  memcpy(&f, &i, sizeof f);\n  return f;\n}\n\n"
          "/* The host allocates argument memory here. Never NULL: out of memory aborts (the\n"
          " * canonical ABI has no way to report it). Weak, so that two bindings can link. */\n"
          "__attribute__((__weak__, __export_name__(\"cabi_realloc\")))\n"
          "void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {\n"
          "  if (new_size == 0)\n    new_size = 1; /* keeps every pointer freeable */\n"
          "  void *r;\n"
          "  if (align <= _Alignof(max_align_t)) {\n"
          "    r = realloc(ptr, new_size);\n"
          "  } else {\n"
          "    r = aligned_alloc(align, (new_size + align - 1) / align * align);\n"
          "    if (r && ptr) {\n"
          "      memcpy(r, ptr, old_size < new_size ? old_size : new_size);\n"
          "      free(ptr);\n"
          "    }\n"
          "  }\n"
          "  if (!r)\n    abort();\n"
          "  return r;\n}\n\n"
          "void %s_string_set(%s_string_t *ret, const char *s) {\n"
          "  ret->ptr = (uint8_t *)s;\n  ret->len = strlen(s);\n}\n\n"
          "void %s_string_dup(%s_string_t *ret, const char *s) {\n"
          "  ret->len = strlen(s);\n  ret->ptr = malloc(ret->len + 1);\n"
          "  if (!ret->ptr)\n    abort();\n  memcpy(ret->ptr, s, ret->len + 1);\n}\n\n"
          "/* Empty buffers are never freed: the host need not allocate them. */\n"
          "void %s_string_free(%s_string_t *ptr) {\n"
          "  if (ptr->len)\n    free(ptr->ptr);\n  ptr->ptr = NULL;\n  ptr->len = 0;\n}\n"
          "_Static_assert(sizeof(%s_string_t) == 8 && _Alignof(%s_string_t) == 4, \"string\");\n",
          g->world->name, g->w, g->w, g->w, g->w, g->w, g->w, g->w, g->w, g->w);
}

static void emit_iface_types(gen *g, const zh_wit_interface *in) {
  for (size_t i = 0; i < in->ntypes; i++) {
    const zh_wit_type *t = in->types[i];
    /* `use`d names are the defining interface's types; resources only via their handles. */
    if (t->kind == ZH_WIT_ALIAS && t->from_use)
      continue;
    emit_type(g, t);
  }
}

static void generate(gen *g) {
  emit_prelude(g);
  const zh_wit_world *w = g->world;
  for (size_t i = 0; i < w->nimports && !g->err[0]; i++) {
    const zh_wit_world_item *it = &w->imports[i];
    if (it->kind == ZH_WIT_ITEM_TYPE) {
      emit_type(g, it->type);
    } else if (it->kind == ZH_WIT_ITEM_FUNC) {
      emit_import(g, zh_abi_import_module(NULL), g->w, it->func);
    } else {
      const char *prefix = str(g, "%s_%s", g->w, iface_snake(g, it->iface));
      emit_iface_types(g, it->iface);
      for (size_t k = 0; k < it->iface->nfuncs && !g->err[0]; k++)
        emit_import(g, it->name, prefix, it->iface->funcs[k]);
    }
  }
  for (size_t i = 0; i < w->nexports && !g->err[0]; i++) {
    const zh_wit_world_item *it = &w->exports[i];
    if (it->kind == ZH_WIT_ITEM_FUNC) {
      emit_export(g, NULL, g->w, it->func);
    } else if (it->kind == ZH_WIT_ITEM_INTERFACE) {
      const char *prefix = str(g, "%s_%s", g->w, iface_snake(g, it->iface));
      emit_iface_types(g, it->iface);
      for (size_t k = 0; k < it->iface->nfuncs && !g->err[0]; k++)
        emit_export(g, it->name, prefix, it->iface->funcs[k]);
    }
  }
  fprintf(g->h, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

static bool write_file(const char *dir, const char *name, const char *data, size_t len, char *err,
                       size_t errcap) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  bool ok = f && fwrite(data, 1, len, f) == len;
  int saved = errno;
  if (f && fclose(f) != 0 && ok) { /* a failed flush is a failed write; close only once */
    ok = false;
    saved = errno;
  }
  if (!ok)
    snprintf(err, errcap, "cannot write %s: %s", path, strerror(saved));
  return ok;
}

/* ---- the command ---- */

static int usage_error(const char *problem) {
  return zh_cli_usage_error("bindgen", BINDGEN_USAGE, problem);
}

/* --NAME VALUE or --NAME=VALUE; advances *i past what it used. */
static bool option(int argc, char **argv, int *i, const char *name, const char **val) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0)
    return false;
  if (argv[*i][n] == '=') {
    *val = argv[*i] + n + 1;
    return true;
  }
  if (argv[*i][n] != 0)
    return false;
  *val = *i + 1 < argc ? argv[++*i] : NULL;
  return true;
}

int zh_cli_bindgen_main(int argc, char **argv) {
  const char *lang = NULL, *wit_dir = NULL, *world_name = NULL, *out = NULL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      zh_cli_bindgen_help(stdout);
      return ZH_CLI_OK;
    }
    const char **slot = option(argc, argv, &i, "--wit", &v)     ? &wit_dir
                        : option(argc, argv, &i, "--world", &v) ? &world_name
                        : option(argc, argv, &i, "--out", &v)   ? &out
                                                                : NULL;
    if (slot) {
      if (!v || !*v) {
        char msg[64];
        snprintf(msg, sizeof msg, "option %.20s needs a value", a);
        return usage_error(msg);
      }
      *slot = v;
    } else if (a[0] == '-') {
      char msg[128];
      snprintf(msg, sizeof msg, "unknown option '%.64s'", a);
      return usage_error(msg);
    } else if (!lang) {
      lang = a;
    } else {
      char msg[128];
      snprintf(msg, sizeof msg, "unexpected argument '%.64s'", a);
      return usage_error(msg);
    }
  }
  if (!lang)
    return usage_error("missing the target language");
  if (strcmp(lang, "c") != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "unsupported language '%.64s' (only 'c')", lang);
    return usage_error(msg);
  }
  if (!wit_dir || !world_name || !out)
    return usage_error(!wit_dir      ? "missing --wit"
                       : !world_name ? "missing --world"
                                     : "missing --out");

  zh_wit *wit = NULL;
  zh_error *err = zh_wit_load_dir(wit_dir, &wit);
  if (err) {
    zh_cli_error("%s", zh_error_message(err));
    zh_error_free(err);
    return ZH_CLI_FAIL;
  }
  const zh_wit_package *root = zh_wit_root(wit);
  const zh_wit_world *world = zh_wit_find_world(root, world_name);
  if (!world) {
    char names[256] = "";
    for (size_t i = 0; i < root->nworlds; i++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
               root->worlds[i]->name);
    zh_cli_error("unknown world '%s' in package %s (worlds: %s)", world_name, root->name,
                 names[0] ? names : "none");
    zh_wit_free(wit);
    return ZH_CLI_FAIL;
  }

  gen g = {.world = world};
  snprintf(g.w, sizeof g.w, "%s", world->name);
  for (char *p = g.w; *p; p++)
    if (*p == '-')
      *p = '_';
  static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (size_t i = 0; i < sizeof g.W; i++) {
    g.W[i] = g.w[i];
    if (g.w[i] >= 'a' && g.w[i] <= 'z')
      g.W[i] = upper[g.w[i] - 'a'];
  }
  char *hbuf = NULL, *cbuf = NULL;
  size_t hlen = 0, clen = 0;
  g.h = open_memstream(&hbuf, &hlen);
  g.c = open_memstream(&cbuf, &clen);
  if (!g.h || !g.c)
    fail(&g, "out of memory");
  else
    generate(&g);
  if (g.h)
    fclose(g.h);
  if (g.c)
    fclose(g.c);
  int status = ZH_CLI_OK;
  char werr[4200] = "";
  if (g.err[0]) {
    zh_cli_error("bindgen %s: %s", world->name, g.err);
    status = ZH_CLI_FAIL;
  } else {
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
      snprintf(werr, sizeof werr, "cannot create %s: %s", out, strerror(errno));
    } else {
      char name[160];
      snprintf(name, sizeof name, "%s.h", g.w);
      if (write_file(out, name, hbuf, hlen, werr, sizeof werr)) {
        snprintf(name, sizeof name, "%s.c", g.w);
        write_file(out, name, cbuf, clen, werr, sizeof werr);
      }
    }
    if (werr[0]) {
      zh_cli_error("%s", werr);
      status = ZH_CLI_FAIL;
    }
  }
  free(hbuf);
  free(cbuf);
  for (size_t i = 0; i < g.nstrs; i++)
    free(g.strs[i]);
  free(g.strs);
  free(g.done);
  zh_wit_free(wit);
  return status;
}
