/* libFuzzer harness for the WIT parser and resolver: one input is one WIT document, given
 * to zh_wit_parse_string. A document that resolves is walked whole (every type reachable
 * from interfaces, functions and worlds) and looked up through the public API, so that a
 * dangling or half-built model shows up under ASan. Seeds: tests/wit/valid, tests/wit/invalid.
 *
 * Build and run: `make fuzz-run FUZZ_SECONDS=600` (docs/WIT.md). */
#include "zerohop/wit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches a type and what it refers to. Named types are not entered (their own interface
 * lists them), which bounds the walk by the syntactic nesting. */
static size_t walk_type(const zh_wit_type *t, int depth) {
  if (!t)
    return 0;
  if (depth > 1000)
    abort(); /* the resolver bounds nesting well below this */
  size_t n = 1 + strlen(zh_wit_type_kind_name(t->kind));
  if (t->name && depth > 0)
    return n + strlen(t->name);
  if (zh_wit_type_unalias(t) == NULL)
    abort();
  n += walk_type(t->elem, depth + 1) + walk_type(t->err, depth + 1);
  for (size_t i = 0; i < t->nfields; i++) {
    if (t->fields[i].name && zh_wit_type_field(t, t->fields[i].name) == NULL)
      abort();
    n += walk_type(t->fields[i].type, depth + 1);
  }
  for (size_t i = 0; i < t->nfuncs; i++)
    n += strlen(t->funcs[i]->abi_name);
  return n;
}

static size_t walk_func(const zh_wit_func *f) {
  size_t n = strlen(f->name) + strlen(f->abi_name);
  for (size_t i = 0; i < f->nparams; i++)
    n += strlen(f->params[i].name) + walk_type(f->params[i].type, 1);
  return n + walk_type(f->result, 1);
}

static size_t walk_iface(const zh_wit_interface *iface) {
  size_t n = iface->name ? strlen(iface->name) : 0;
  for (size_t i = 0; i < iface->ntypes; i++) {
    n += walk_type(iface->types[i], 0);
    if (zh_wit_interface_type(iface, iface->types[i]->name) == NULL)
      abort();
  }
  for (size_t i = 0; i < iface->nfuncs; i++) {
    n += walk_func(iface->funcs[i]);
    if (zh_wit_interface_func(iface, iface->funcs[i]->abi_name) == NULL)
      abort();
  }
  for (size_t i = 0; i < iface->ndeps; i++)
    n += strlen(iface->deps[i]->qualified);
  return n;
}

static size_t walk_items(const zh_wit_world_item *items, size_t count) {
  size_t n = 0;
  for (size_t i = 0; i < count; i++) {
    n += strlen(items[i].name);
    switch (items[i].kind) {
    case ZH_WIT_ITEM_INTERFACE:
      n += walk_iface(items[i].iface);
      break;
    case ZH_WIT_ITEM_FUNC:
      n += walk_func(items[i].func);
      break;
    case ZH_WIT_ITEM_TYPE:
      n += walk_type(items[i].type, 0);
      break;
    }
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = 0; /* an embedded NUL ends the document early: that is fine */
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_parse_string("fuzz.wit", text, &wit);
  free(text);
  if (err) {
    if (zh_error_status(err) != ZH_ERR_INVALID && zh_error_status(err) != ZH_ERR_RESOURCE)
      abort();
    if (!zh_error_message(err) || wit)
      abort();
    zh_error_free(err);
    return 0;
  }
  volatile size_t sink = 0;
  for (size_t p = 0; p < zh_wit_package_count(wit); p++) {
    const zh_wit_package *pkg = zh_wit_package_at(wit, p);
    if (zh_wit_find_package(wit, pkg->name) != pkg)
      abort();
    for (size_t i = 0; i < pkg->ninterfaces; i++)
      sink += walk_iface(pkg->interfaces[i]);
    for (size_t i = 0; i < pkg->nworlds; i++) {
      const zh_wit_world *w = pkg->worlds[i];
      if (zh_wit_find_world(pkg, w->name) != w)
        abort();
      sink += walk_items(w->imports, w->nimports) + walk_items(w->exports, w->nexports);
    }
  }
  if (zh_wit_root(wit) == NULL)
    abort();
  (void)sink;
  zh_wit_free(wit);
  return 0;
}
