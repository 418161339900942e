/* A component's imports and exports as a WIT world (`zerohop component wit`).
 *
 * The text follows what `jco wit` prints for a component, so the two can be compared:
 * `package root:component;`, then `world root { ... }` with the imports in binary order, a
 * blank line, and the exports. An instance named by an interface name (`ns:pkg/iface@v`)
 * prints as `import ns:pkg/iface@v;`; any other instance prints inline with its functions,
 * a function as `import name: func(...) -> T;`, a type as `type name;` (a resource as
 * `resource name;`). Types inside signatures print by their name when they have one.
 *
 * A core module from wit-bindgen or `wit-component embed` carries its world in a
 * `component-type[:...]` custom section: a small component that exports, as a type, a
 * component type with one export named by the world's qualified name ("ns:pkg/world@v") whose
 * imports and exports are the world's. zh_cm_core_world_wit decodes it with the component
 * decoder and prints `package ns:pkg@v; world name { ... }`. */
#include "component/cb_internal.h"
#include "wasm/error.h"
#include "wasm/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_type(FILE *f, const zh_wit_type *t);

static const char *const prim_names[] = {
    [ZH_WIT_BOOL] = "bool",     [ZH_WIT_S8] = "s8",   [ZH_WIT_S16] = "s16", [ZH_WIT_S32] = "s32",
    [ZH_WIT_S64] = "s64",       [ZH_WIT_U8] = "u8",   [ZH_WIT_U16] = "u16", [ZH_WIT_U32] = "u32",
    [ZH_WIT_U64] = "u64",       [ZH_WIT_F32] = "f32", [ZH_WIT_F64] = "f64", [ZH_WIT_CHAR] = "char",
    [ZH_WIT_STRING] = "string",
};

/* `name<elem>`, or bare `name` without an element type. */
static void print_generic(FILE *f, const char *name, const zh_wit_type *elem) {
  fputs(name, f);
  if (elem == NULL)
    return;
  fputc('<', f);
  print_type(f, elem);
  fputc('>', f);
}

static void print_result(FILE *f, const zh_wit_type *t) {
  fputs("result", f);
  if (t->elem == NULL && t->err == NULL)
    return;
  fputc('<', f);
  if (t->elem != NULL)
    print_type(f, t->elem);
  else
    fputc('_', f);
  if (t->err != NULL) {
    fputs(", ", f);
    print_type(f, t->err);
  }
  fputc('>', f);
}

static void print_type(FILE *f, const zh_wit_type *t) {
  if (t == NULL) {
    fputc('_', f);
    return;
  }
  if (t->name != NULL && t->kind != ZH_WIT_OWN && t->kind != ZH_WIT_BORROW) {
    fputs(t->name, f);
    return;
  }
  switch (t->kind) {
  case ZH_WIT_LIST:
    print_generic(f, "list", t->elem);
    return;
  case ZH_WIT_OPTION:
    print_generic(f, "option", t->elem);
    return;
  case ZH_WIT_FUTURE:
    print_generic(f, "future", t->elem);
    return;
  case ZH_WIT_STREAM:
    print_generic(f, "stream", t->elem);
    return;
  case ZH_WIT_BORROW:
    print_generic(f, "borrow", t->elem);
    return;
  case ZH_WIT_OWN: /* own<R> is written R */
  case ZH_WIT_ALIAS:
    print_type(f, t->elem);
    return;
  case ZH_WIT_RESULT:
    print_result(f, t);
    return;
  case ZH_WIT_TUPLE:
    fputs("tuple<", f);
    for (size_t i = 0; i < t->nfields; i++) {
      if (i > 0)
        fputs(", ", f);
      print_type(f, t->fields[i].type);
    }
    fputc('>', f);
    return;
  default:
    if ((size_t)t->kind < sizeof prim_names / sizeof *prim_names && prim_names[t->kind])
      fputs(prim_names[t->kind], f);
    else /* an anonymous record, variant, enum, flags or resource cannot occur in a binary */
      fputs("_", f);
  }
}

static void print_func(FILE *f, const zh_wit_func *fn) {
  fputs("func(", f);
  for (size_t i = 0; i < fn->nparams; i++) {
    fprintf(f, "%s%s: ", i > 0 ? ", " : "", fn->params[i].name);
    print_type(f, fn->params[i].type);
  }
  fputc(')', f);
  if (fn->result != NULL) {
    fputs(" -> ", f);
    print_type(f, fn->result);
  }
}

/* An interface name has a namespace and a slash ("wasi:cli/run@0.2.3"); a plain name not. */
static bool is_interface_name(const char *name) {
  return strchr(name, ':') != NULL && strchr(name, '/') != NULL;
}

static void print_item(FILE *f, const char *dir, const cb_named *n) {
  const cb_ext *e = &n->ext;
  switch (e->sort) {
  case CB_INSTANCE:
    if (is_interface_name(n->name)) {
      fprintf(f, "  %s %s;\n", dir, n->name);
      return;
    }
    fprintf(f, "  %s %s: interface {\n", dir, n->name);
    for (size_t i = 0; e->type != NULL && i < e->type->nexports; i++) {
      const cb_named *m = &e->type->exports[i];
      if (m->ext.sort == CB_FUNC && m->ext.type != NULL && m->ext.type->func != NULL) {
        fprintf(f, "    %s: ", m->name);
        print_func(f, m->ext.type->func);
        fputs(";\n", f);
      } else if (m->ext.sort == CB_TYPE) {
        bool res = m->ext.type != NULL && m->ext.type->kind == CB_T_RESOURCE;
        fprintf(f, "    %s %s;\n", res ? "resource" : "type", m->name);
      }
    }
    fputs("  }\n", f);
    return;
  case CB_FUNC:
    fprintf(f, "  %s %s: ", dir, n->name);
    if (e->type != NULL && e->type->func != NULL)
      print_func(f, e->type->func);
    fputs(";\n", f);
    return;
  case CB_TYPE: {
    bool res = e->type != NULL && e->type->kind == CB_T_RESOURCE;
    fprintf(f, "  %s %s;\n", res ? "resource" : "type", n->name);
    return;
  }
  default: /* core modules, values and components have no WIT form */
    fprintf(f, "  /* %s %s: a %s */\n", dir, n->name, cb_sort_name(e->sort));
  }
}

/* Prints the world `t` (a component type) as `package P@V; world W { ... }` (V may be ""). */
static void print_world(FILE *f, const char *pkg, int pkg_len, const char *ver, const char *world,
                        int world_len, const cb_type *t) {
  fprintf(f, "package %.*s%s;\n\nworld %.*s {\n", pkg_len, pkg, ver, world_len, world);
  for (size_t i = 0; i < t->nimports; i++)
    print_item(f, "import", &t->imports[i]);
  if (t->nimports > 0 && t->nexports > 0)
    fputc('\n', f);
  for (size_t i = 0; i < t->nexports; i++)
    print_item(f, "export", &t->exports[i]);
  fputs("}\n\n", f);
}

/* Closes the memstream and hands out its text, or fails with out of memory. */
static zh_error *finish(FILE *f, char **text, char **out) {
  bool failed = ferror(f) != 0;
  if (fclose(f) != 0 || failed) {
    free(*text);
    return zh_error_oom();
  }
  *out = *text;
  return NULL;
}

zh_error *zh_cm_component_wit(const zh_cm_component *comp, char **out) {
  *out = NULL;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (f == NULL)
    return zh_error_oom();
  /* jco's form for a component: the root world of a root package */
  print_world(f, "root:component", 14, "", "root", 4, comp->root->type);
  return finish(f, &text, out);
}

/* Finds the first `component-type` or `component-type:*` custom section of a core module. */
static bool find_component_type(const uint8_t *bytes, size_t len, const uint8_t **payload,
                                size_t *plen, char *sname, size_t scap) {
  zh_reader r;
  zh_reader_init(&r, bytes, len);
  const uint8_t *head;
  if (!zh_read_bytes(&r, 8, &head))
    return false;
  uint8_t id;
  uint32_t size;
  while (zh_read_u8(&r, &id) && zh_read_u32(&r, &size)) {
    zh_reader sec;
    if (!zh_reader_sub(&r, size, &sec))
      return false;
    const uint8_t *name;
    uint32_t n;
    if (id == 0 && zh_read_name(&sec, &name, &n) &&
        ((n == 14 && memcmp(name, "component-type", 14) == 0) ||
         (n > 15 && memcmp(name, "component-type:", 15) == 0))) {
      snprintf(sname, scap, "%.*s", (int)n, (const char *)name);
      *payload = sec.p;
      *plen = zh_reader_remaining(&sec);
      return true;
    }
  }
  return false;
}

zh_error *zh_cm_core_world_wit(zh_engine *engine, const uint8_t *bytes, size_t len,
                               const char *name, char **out) {
  *out = NULL;
  const uint8_t *payload;
  size_t plen;
  char sname[128];
  if (!find_component_type(bytes, len, &payload, &plen, sname, sizeof sname))
    return zh_error_new(ZH_ERR_INVALID,
                        "%s: a core module without a component-type custom section (no world)",
                        name ? name : "module");
  zh_cm_component *comp = NULL;
  const cb_named *w = NULL;
  zh_error *err = cb_decode_world_section(engine, payload, plen, name, sname, &comp, &w);
  if (err)
    return err;
  /* "ns:pkg/world@v" -> package "ns:pkg@v", world "world" */
  const char *slash = strchr(w->name, '/'), *at = strchr(slash, '@');
  int wlen = at ? (int)(at - slash - 1) : (int)strlen(slash + 1);
  char *text = NULL;
  size_t tlen = 0;
  FILE *f = open_memstream(&text, &tlen);
  if (!f) {
    zh_cm_component_free(comp);
    return zh_error_oom();
  }
  print_world(f, w->name, (int)(slash - w->name), at ? at : "", slash + 1, wlen, w->ext.type);
  err = finish(f, &text, out);
  zh_cm_component_free(comp);
  return err;
}
