/* Component binaries (zerohop/cm.h): bad input gives one line naming file, section, offset
 * and reason; a small component with a host import instantiates through the linker, calls
 * out to the host and back; missing and mistyped imports are unlinkable with both types; a
 * trap poisons its instance; semver-compatible interface versions satisfy imports.
 *
 * The components here are assembled byte by byte (as the reference suite's binary.wast
 * does), so each test controls exactly which section and byte is wrong. */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/cm.h"

#include <stdint.h>
#include <string.h>

/* ---- a tiny assembler: sections with their sizes ---- */

typedef struct buf {
  uint8_t b[4096];
  size_t n;
} buf;

static void put(buf *o, const void *p, size_t n) {
  memcpy(o->b + o->n, p, n);
  o->n += n;
}

static void uleb(buf *o, uint32_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    if (v)
      c |= 0x80;
    o->b[o->n++] = c;
  } while (v);
}

static void section(buf *o, uint8_t id, const buf *body) {
  o->b[o->n++] = id;
  uleb(o, (uint32_t)body->n);
  put(o, body->b, body->n);
}

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static const uint8_t kPreamble[] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};

/* Core module: (import "" "add" (func (param i32 i32) (result i32)))
 *              (func (export "run") (param i32) (result i32)
 *                local.get 0  i32.const 1  call 0)
 *              (func (export "boom") unreachable) */
static void core_module(buf *m) {
  put(m, BYTES(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
  put(m, BYTES(0x01, 0x0f, 0x03, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f,
               0x60, 0x00, 0x00));
  put(m, BYTES(0x02, 0x08, 0x01, 0x00, 0x03, 'a', 'd', 'd', 0x00, 0x00));
  put(m, BYTES(0x03, 0x03, 0x02, 0x01, 0x02));
  put(m, BYTES(0x07, 0x0e, 0x02, 0x03, 'r', 'u', 'n', 0x00, 0x01, 0x04, 'b', 'o', 'o', 'm', 0x00,
               0x02));
  put(m, BYTES(0x0a, 0x0e, 0x02, 0x08, 0x00, 0x20, 0x00, 0x41, 0x01, 0x10, 0x00, 0x0b, 0x03, 0x00,
               0x00, 0x0b));
}

/* A component importing `import_name` (a function (a: u32, b: u32) -> u32, or an instance
 * exporting it as "add" when `iface`), lowering it into the core module above and exporting
 * "run": func(x: u32) -> u32 and "boom": func(). */
static void component(buf *c, const char *import_name, bool iface) {
  buf s = {0};
  put(c, kPreamble, sizeof kPreamble);
  buf m = {0};
  core_module(&m);
  section(c, 1, &m);
  /* types: 0 = func(a: u32, b: u32) -> u32, 1 = func(x: u32) -> u32, 2 = func(),
   * 3 = instance { export "add": func (type 0) } */
  put(&s, BYTES(0x04, 0x40, 0x02, 0x01, 'a', 0x79, 0x01, 'b', 0x79, 0x00, 0x79, 0x40, 0x01, 0x01,
                'x', 0x79, 0x00, 0x79, 0x40, 0x00, 0x01, 0x00));
  put(&s, BYTES(0x42, 0x02, 0x02, 0x03, 0x02, 0x01, 0x00));    /* alias outer 1 0 (type) */
  put(&s, BYTES(0x04, 0x00, 0x03, 'a', 'd', 'd', 0x01, 0x00)); /* export "add" (func 0) */
  section(c, 7, &s);
  s.n = 0;
  size_t len = strlen(import_name);
  put(&s, BYTES(0x01, 0x00));
  uleb(&s, (uint32_t)len);
  put(&s, import_name, len);
  if (iface)
    put(&s, BYTES(0x05, 0x03)); /* instance (type 3) */
  else
    put(&s, BYTES(0x01, 0x00)); /* func (type 0) */
  section(c, 10, &s);
  if (iface) { /* alias export $i "add" (func) */
    s.n = 0;
    put(&s, BYTES(0x01, 0x01, 0x00, 0x00, 0x03, 'a', 'd', 'd'));
    section(c, 6, &s);
  }
  s.n = 0;
  put(&s, BYTES(0x01, 0x01, 0x00, 0x00, 0x00)); /* lower func 0 -> core func 0 */
  section(c, 8, &s);
  s.n = 0;
  put(&s, BYTES(0x01, 0x01, 0x01, 0x03, 'a', 'd', 'd', 0x00, 0x00)); /* core instance 0 */
  section(c, 2, &s);
  s.n = 0;
  put(&s, BYTES(0x01, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00)); /* instantiate module 0 -> 1 */
  section(c, 2, &s);
  s.n = 0;
  put(&s, BYTES(0x02, 0x00, 0x00, 0x01, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x00, 0x01, 0x01, 0x04,
                'b', 'o', 'o', 'm'));
  section(c, 6, &s); /* core funcs 1 = run, 2 = boom */
  s.n = 0;
  put(&s, BYTES(0x02, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00, 0x02));
  section(c, 8, &s); /* func 1 = lift run (type 1), func 2 = lift boom (type 2) */
  s.n = 0;
  put(&s, BYTES(0x02, 0x00, 0x03, 'r', 'u', 'n', 0x01, 0x01, 0x00, 0x00, 0x04, 'b', 'o', 'o', 'm',
                0x01, 0x02, 0x00));
  section(c, 11, &s);
}

/* ---- bad input ---- */

static zh_engine *engine;

/* Loading must fail with `status` and one line containing each of the `parts`. */
static void expect_bad(const uint8_t *bytes, size_t len, zh_status status, const char *const *parts,
                       size_t nparts) {
  zh_cm_component *c = NULL;
  zh_error *err = zh_cm_component_new(engine, bytes, len, "app.wasm", &c);
  CHECK(err != NULL);
  CHECK(c == NULL);
  if (!err)
    return;
  const char *msg = zh_error_message(err);
  CHECK_EQ_INT(zh_error_status(err), status);
  CHECK(strchr(msg, '\n') == NULL);
  for (size_t i = 0; i < nparts; i++)
    if (!strstr(msg, parts[i])) {
      fprintf(stderr, "message \"%s\" lacks \"%s\"\n", msg, parts[i]);
      CHECK(false);
    }
  zh_error_free(err);
}

static void test_bad_input(void) {
  buf c = {0};
  component(&c, "add", false);
  /* Truncated at every length: an error naming the file, except where the cut falls between
   * two top-level sections (a shorter component that is still valid). Never a crash. */
  bool boundary[sizeof c.b] = {false};
  for (size_t p = 8; p < c.n;) {
    boundary[p] = true;
    size_t q = p + 1;
    uint32_t size = 0;
    for (unsigned shift = 0;; shift += 7) {
      size |= (uint32_t)(c.b[q] & 0x7f) << shift;
      if (!(c.b[q++] & 0x80))
        break;
    }
    p = q + size;
  }
  for (size_t n = 0; n < c.n; n++) {
    zh_cm_component *x = NULL;
    zh_error *err = zh_cm_component_new(engine, c.b, n, "app.wasm", &x);
    if (boundary[n])
      CHECK(err == NULL && x != NULL);
    else
      CHECK(err != NULL && strstr(zh_error_message(err), "app.wasm") != NULL);
    zh_error_free(err);
    zh_cm_component_free(x);
  }
  expect_bad(c.b, c.n - 3, ZH_ERR_MALFORMED,
             (const char *const[]){"app.wasm: component section 11 (export) at offset 0x",
                                   "out of bounds"},
             2);
  /* Wrong version. */
  buf v = c;
  v.b[4] = 0x0c;
  expect_bad(v.b, v.n, ZH_ERR_MALFORMED,
             (const char *const[]){"app.wasm", "offset 0x4", "unknown component version 0xc"}, 3);
  /* Bad index: the export names func 9. */
  buf s = {0}, b = {0};
  put(&b, kPreamble, sizeof kPreamble);
  put(&s, BYTES(0x01, 0x00, 0x01, 'f', 0x01, 0x09, 0x00));
  section(&b, 11, &s);
  expect_bad(b.b, b.n, ZH_ERR_INVALID,
             (const char *const[]){"component section 11 (export) at offset 0xb",
                                   "func index 9 out of bounds"},
             2);
  /* Bad type: own<string> */
  b.n = 0, s.n = 0;
  put(&b, kPreamble, sizeof kPreamble);
  put(&s, BYTES(0x02, 0x73, 0x69, 0x00));
  section(&b, 7, &s);
  expect_bad(b.b, b.n, ZH_ERR_INVALID,
             (const char *const[]){"component section 7 (type) at offset 0xd",
                                   "type index 0 is not a resource type"},
             2);
  /* An async built-in: canon task.return. */
  b.n = 0, s.n = 0;
  put(&b, kPreamble, sizeof kPreamble);
  put(&s, BYTES(0x01, 0x09, 0x01, 0x00, 0x00));
  section(&b, 8, &s);
  expect_bad(b.b, b.n, ZH_ERR_INVALID,
             (const char *const[]){"component section 8 (canon) at offset 0xb",
                                   "canon task.return is an async built-in (not supported)"},
             2);
  /* Unknown canon opcode. */
  b.n = 0, s.n = 0;
  put(&b, kPreamble, sizeof kPreamble);
  put(&s, BYTES(0x01, 0x3a));
  section(&b, 8, &s);
  expect_bad(b.b, b.n, ZH_ERR_MALFORMED,
             (const char *const[]){"section 8 (canon) at offset 0xb", "unknown canon opcode 0x3a"},
             2);
  /* A core module, not a component. */
  buf m = {0};
  core_module(&m);
  expect_bad(m.b, m.n, ZH_ERR_MALFORMED, (const char *const[]){"app.wasm", "core module"}, 2);
  CHECK(!zh_cm_is_component(m.b, m.n));
  CHECK(zh_cm_is_component(c.b, c.n));
}

/* ---- host imports ---- */

typedef struct host {
  int calls;
  void *seen_data;
  bool offered_slot; /* a guest's call offered room for the result's payload */
} host;

static zh_error *host_add(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  host *h = env;
  h->calls++;
  h->seen_data = zh_cm_call_data(call);
  h->offered_slot = zh_cm_call_payload_slot(call) != NULL;
  if (nargs != 2)
    return zh_error_new(ZH_ERR_TRAP, "wrong argument count");
  *result = zh_val_u32((uint32_t)(args[0].of.u * 100 + args[1].of.u));
  return NULL;
}

static const char kWit[] = "package t:host@0.2.12;\n"
                           "interface math { add: func(a: u32, b: u32) -> u32; }\n"
                           "world w {\n"
                           "  import add: func(a: u32, b: u32) -> u32;\n"
                           "  import wrong: func(a: u32) -> u32;\n"
                           "  import math;\n"
                           "}\n";

static const zh_wit_func *world_func(const zh_wit *wit, const char *name) {
  const zh_wit_world *w = zh_wit_find_world(zh_wit_root(wit), "w");
  const zh_wit_world_item *it = w ? zh_wit_world_import(w, name) : NULL;
  return it ? it->func : NULL;
}

static uint32_t call_run(zh_cm_instance *in, uint32_t x, zh_error **err) {
  zh_cm_func *f = zh_cm_instance_func(in, NULL, "run");
  zh_val arg = zh_val_u32(x), res;
  *err = f ? zh_cm_func_call(in, f, &arg, 1, &res) : zh_error_new(ZH_ERR_USAGE, "no run");
  uint32_t v = *err ? 0 : (uint32_t)res.of.u;
  if (!*err)
    zh_val_drop(&res);
  return v;
}

static void test_linker(void) {
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_parse_string("host.wit", kWit, &wit);
  CHECK(err == NULL);
  zh_error_free(err);
  if (!wit)
    return;
  const zh_wit_func *add = world_func(wit, "add"), *wrong = world_func(wit, "wrong");
  CHECK(add && wrong);
  zh_store *store;
  CHECK(zh_store_new(engine, &store) == NULL);

  buf c = {0};
  component(&c, "add", false);
  zh_cm_component *comp = NULL;
  err = zh_cm_component_new(engine, c.b, c.n, "adder.wasm", &comp);
  CHECK(err == NULL);
  if (err)
    fprintf(stderr, "%s\n", zh_error_message(err));
  zh_error_free(err);

  /* Missing import: unlinkable, naming it. */
  zh_cm_instance *in = NULL;
  err = zh_cm_instantiate(comp, store, &in);
  CHECK(err && zh_error_status(err) == ZH_ERR_UNLINKABLE &&
        strstr(zh_error_message(err), "missing import `add`"));
  zh_error_free(err);

  /* Wrong type: both types in the message. */
  host h = {0};
  zh_cm_linker *bad;
  CHECK(zh_cm_linker_new(&bad) == NULL);
  CHECK(zh_cm_linker_define_func(bad, NULL, "add", wrong, host_add, &h) == NULL);
  err = zh_cm_linker_instantiate(bad, comp, store, NULL, &in);
  CHECK(err && zh_error_status(err) == ZH_ERR_UNLINKABLE);
  CHECK(err && strstr(zh_error_message(err), "func(a: u32, b: u32) -> u32") &&
        strstr(zh_error_message(err), "func(a: u32) -> u32"));
  zh_error_free(err);
  zh_cm_linker_free(bad);

  /* The right type: run(7) calls the host with (7, 1). */
  zh_cm_linker *l;
  CHECK(zh_cm_linker_new(&l) == NULL);
  CHECK(zh_cm_linker_define_func(l, NULL, "add", add, host_add, &h) == NULL);
  int data = 0;
  err = zh_cm_linker_instantiate(l, comp, store, &data, &in);
  CHECK(err == NULL);
  zh_error_free(err);
  if (in) {
    CHECK_EQ_INT(call_run(in, 7, &err), 701);
    CHECK(err == NULL);
    zh_error_free(err);
    CHECK_EQ_INT(h.calls, 1);
    CHECK(h.seen_data == &data);
    CHECK(h.offered_slot);
    /* A trap poisons the instance: later calls fail, also into other functions. */
    zh_cm_func *boom = zh_cm_instance_func(in, NULL, "boom");
    zh_val res;
    CHECK(boom != NULL);
    err = boom ? zh_cm_func_call(in, boom, NULL, 0, &res) : NULL;
    CHECK(err && zh_error_status(err) == ZH_ERR_TRAP);
    zh_error_free(err);
    call_run(in, 1, &err);
    CHECK(err && strstr(zh_error_message(err), "trapped before"));
    zh_error_free(err);
    CHECK_EQ_INT(h.calls, 1);
    zh_cm_instance_free(in);
  }
  zh_cm_component_free(comp);

  /* An instance import, by interface name with a semver-compatible version. */
  const zh_wit_interface *math = zh_wit_find_interface(zh_wit_root(wit), "math");
  const zh_wit_func *madd = math ? zh_wit_interface_func(math, "add") : NULL;
  CHECK(madd != NULL);
  CHECK(zh_cm_linker_define_func(l, "t:host/math@0.2.12", "add", madd, host_add, &h) == NULL);
  c.n = 0;
  component(&c, "t:host/math@0.2.10", true);
  err = zh_cm_component_new(engine, c.b, c.n, "iface.wasm", &comp);
  CHECK(err == NULL);
  if (err)
    fprintf(stderr, "%s\n", zh_error_message(err));
  zh_error_free(err);
  /* Its imports and exports as WIT. */
  const zh_wit_world *w = comp ? zh_cm_component_world(comp) : NULL;
  CHECK(w && w->nimports == 1 && w->nexports == 2);
  if (w && w->nimports == 1 && w->nexports == 2) {
    const zh_wit_world_item *im = &w->imports[0];
    CHECK(im->kind == ZH_WIT_ITEM_INTERFACE && im->interface_name);
    CHECK(strcmp(im->name, "t:host/math@0.2.10") == 0);
    CHECK(im->iface && strcmp(im->iface->name, "math") == 0 && im->iface->nfuncs == 1 &&
          strcmp(im->iface->funcs[0]->name, "add") == 0 && im->iface->funcs[0]->nparams == 2);
    CHECK(w->exports[0].kind == ZH_WIT_ITEM_FUNC && strcmp(w->exports[0].name, "run") == 0);
    CHECK(w->exports[1].func && w->exports[1].func->result == NULL);
  }
  in = NULL;
  err = comp ? zh_cm_linker_instantiate(l, comp, store, NULL, &in) : NULL;
  CHECK(err == NULL);
  if (err)
    fprintf(stderr, "%s\n", zh_error_message(err));
  zh_error_free(err);
  if (in) {
    CHECK_EQ_INT(call_run(in, 3, &err), 301);
    zh_error_free(err);
    zh_cm_instance_free(in);
  }
  zh_cm_component_free(comp);
  /* 0.3.x is not compatible with 0.2.12: unlinkable, naming the import with its version. */
  c.n = 0;
  component(&c, "t:host/math@0.3.0", true);
  err = zh_cm_component_new(engine, c.b, c.n, "iface.wasm", &comp);
  CHECK(err == NULL);
  zh_error_free(err);
  in = NULL;
  err = comp ? zh_cm_linker_instantiate(l, comp, store, NULL, &in) : NULL;
  CHECK(err && zh_error_status(err) == ZH_ERR_UNLINKABLE &&
        strstr(zh_error_message(err), "t:host/math@0.3.0"));
  zh_error_free(err);
  zh_cm_instance_free(in);
  zh_cm_component_free(comp);

  zh_cm_linker_free(l);
  zh_store_free(store);
  zh_wit_free(wit);
}

/* The host's `add` calls back into the component while the component is on the stack:
 * the canonical ABI forbids re-entering an instance, so the inner call traps, and the trap
 * reaches the outer caller. */
typedef struct reenter {
  zh_cm_instance *inst;
  zh_error *inner;
} reenter;

static zh_error *host_reenter(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                              zh_val *result) {
  reenter *r = env;
  (void)call, (void)args, (void)nargs;
  zh_cm_func *run = zh_cm_instance_func(r->inst, NULL, "run");
  zh_val arg = zh_val_u32(1), res;
  r->inner = zh_cm_func_call(r->inst, run, &arg, 1, &res);
  if (!r->inner)
    zh_val_drop(&res);
  *result = zh_val_u32(0);
  return r->inner ? zh_error_new(ZH_ERR_TRAP, "inner call failed") : NULL;
}

static void test_reentrance(void) {
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_parse_string("host.wit", kWit, &wit);
  zh_error_free(err);
  const zh_wit_func *add = wit ? world_func(wit, "add") : NULL;
  CHECK(add != NULL);
  buf c = {0};
  component(&c, "add", false);
  zh_cm_component *comp = NULL;
  zh_store *store = NULL;
  zh_cm_linker *l = NULL;
  reenter r = {0};
  CHECK(zh_cm_component_new(engine, c.b, c.n, "reenter.wasm", &comp) == NULL);
  CHECK(zh_store_new(engine, &store) == NULL);
  CHECK(zh_cm_linker_new(&l) == NULL);
  CHECK(add && zh_cm_linker_define_func(l, NULL, "add", add, host_reenter, &r) == NULL);
  err = comp ? zh_cm_linker_instantiate(l, comp, store, NULL, &r.inst) : NULL;
  CHECK(err == NULL);
  zh_error_free(err);
  if (r.inst) {
    call_run(r.inst, 5, &err);
    CHECK(err && zh_error_status(err) == ZH_ERR_TRAP);
    zh_error_free(err);
    CHECK(r.inner && strstr(zh_error_message(r.inner), "cannot enter component instance"));
    zh_error_free(r.inner);
    zh_cm_instance_free(r.inst);
  }
  zh_cm_linker_free(l);
  zh_cm_component_free(comp);
  zh_store_free(store);
  zh_wit_free(wit);
}

/* ---- host resources ---- */

/* Imports instance `iface` { resource r; [constructor]r: func(v: u32) -> own<r>;
 * [method]r.get: func(self: borrow<r>) -> u32 } and exports run: func() -> u32, which makes
 * an r from 42, reads it through a borrow and drops it. */
static void resource_component(buf *c, const char *iface) {
  buf s = {0}, m = {0};
  put(c, kPreamble, sizeof kPreamble);
  put(&m, BYTES(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
  put(&m, BYTES(0x01, 0x0e, 0x03, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00,
                0x01, 0x7f));
  put(&m, BYTES(0x02, 0x18, 0x03, 0x00, 0x04, 'c', 't', 'o', 'r', 0x00, 0x00, 0x00, 0x03, 'g', 'e',
                't', 0x00, 0x00, 0x00, 0x04, 'd', 'r', 'o', 'p', 0x00, 0x01));
  put(&m, BYTES(0x03, 0x03, 0x02, 0x02, 0x00));
  put(&m, BYTES(0x07, 0x0e, 0x02, 0x03, 'r', 'u', 'n', 0x00, 0x03, 0x04, 'p', 'e', 'e', 'k', 0x00,
                0x04));
  put(&m, BYTES(0x0a, 0x19, 0x02, 0x12, 0x01, 0x01, 0x7f, 0x41, 0x2a, 0x10, 0x00, 0x21, 0x00, 0x20,
                0x00, 0x10, 0x01, 0x20, 0x00, 0x10, 0x02, 0x0b, 0x04, 0x00, 0x20, 0x00, 0x0b));
  section(c, 1, &m);
  put(&s, BYTES(0x02, 0x42, 0x07));
  put(&s, BYTES(0x04, 0x00, 0x01, 'r', 0x03, 0x01));             /* export "r" (sub resource) */
  put(&s, BYTES(0x01, 0x69, 0x00, 0x01, 0x68, 0x00));            /* own 0, borrow 0 */
  put(&s, BYTES(0x01, 0x40, 0x01, 0x01, 'v', 0x79, 0x00, 0x01)); /* func(v: u32) -> own */
  put(&s, BYTES(0x04, 0x00, 0x0e, '[', 'c', 'o', 'n', 's', 't', 'r', 'u', 'c', 't', 'o', 'r', ']',
                'r', 0x01, 0x03));
  put(&s, BYTES(0x01, 0x40, 0x01, 0x04, 's', 'e', 'l', 'f', 0x02, 0x00, 0x79));
  put(&s, BYTES(0x04, 0x00, 0x0d, '[', 'm', 'e', 't', 'h', 'o', 'd', ']', 'r', '.', 'g', 'e', 't',
                0x01, 0x04));
  put(&s, BYTES(0x40, 0x00, 0x00, 0x79)); /* type 1: func() -> u32 */
  section(c, 7, &s);
  s.n = 0;
  size_t len = strlen(iface);
  put(&s, BYTES(0x01, 0x00));
  uleb(&s, (uint32_t)len);
  put(&s, iface, len);
  put(&s, BYTES(0x05, 0x00));
  section(c, 10, &s);
  s.n = 0;
  put(&s, BYTES(0x03, 0x03, 0x00, 0x00, 0x01, 'r', 0x01, 0x00, 0x00, 0x0e, '[', 'c', 'o', 'n', 's',
                't', 'r', 'u', 'c', 't', 'o', 'r', ']', 'r', 0x01, 0x00, 0x00, 0x0d, '[', 'm', 'e',
                't', 'h', 'o', 'd', ']', 'r', '.', 'g', 'e', 't'));
  section(c, 6, &s); /* type 2 = r, func 0 = constructor, func 1 = get */
  s.n = 0;
  put(&s, BYTES(0x03, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x03, 0x02));
  section(c, 8, &s); /* core funcs 0 ctor, 1 get, 2 drop */
  s.n = 0;
  put(&s, BYTES(0x02, 0x01, 0x03, 0x04, 'c', 't', 'o', 'r', 0x00, 0x00, 0x03, 'g', 'e', 't', 0x00,
                0x01, 0x04, 'd', 'r', 'o', 'p', 0x00, 0x02, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00));
  section(c, 2, &s); /* core instance 0 (inline), 1 (the module) */
  s.n = 0;
  put(&s, BYTES(0x02, 0x00, 0x00, 0x01, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x00, 0x01, 0x01, 0x04,
                'p', 'e', 'e', 'k'));
  section(c, 6, &s); /* core func 3 = run, 4 = peek */
  s.n = 0;
  put(&s, BYTES(0x02, 0x68, 0x02, 0x40, 0x01, 0x01, 'r', 0x03, 0x00, 0x79));
  section(c, 7, &s); /* type 3 = borrow<r>, type 4 = func(r: borrow<r>) -> u32 */
  s.n = 0;
  put(&s, BYTES(0x02, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x04, 0x00, 0x04));
  section(c, 8, &s); /* func 2 = lift run, func 3 = lift peek (keeps the borrow) */
  s.n = 0;
  put(&s, BYTES(0x02, 0x00, 0x03, 'r', 'u', 'n', 0x01, 0x02, 0x00, 0x00, 0x04, 'p', 'e', 'e', 'k',
                0x01, 0x03, 0x00));
  section(c, 11, &s);
}

typedef struct res_host {
  int made, dropped;
  uint64_t last_dropped;
} res_host;

static zh_error *res_ctor(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)call, (void)nargs;
  ((res_host *)env)->made++;
  *result = zh_val_own(1000 + args[0].of.u);
  return NULL;
}

static zh_error *res_get(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)call, (void)env, (void)nargs;
  *result = zh_val_u32((uint32_t)args[0].of.res.rep);
  return NULL;
}

static void res_dtor(void *env, void *data, uint64_t rep) {
  (void)data;
  res_host *h = env;
  h->dropped++;
  h->last_dropped = rep;
}

static void test_host_resources(void) {
  static const char wit_text[] = "package t:host@0.2.3;\n"
                                 "interface res { resource r { constructor(v: u32);\n"
                                 "  get: func() -> u32; } }\n";
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_parse_string("res.wit", wit_text, &wit);
  CHECK(err == NULL);
  zh_error_free(err);
  const zh_wit_interface *in = wit ? zh_wit_find_interface(zh_wit_root(wit), "res") : NULL;
  const zh_wit_func *ctor = in ? zh_wit_interface_func(in, "[constructor]r") : NULL;
  const zh_wit_func *get = in ? zh_wit_interface_func(in, "[method]r.get") : NULL;
  CHECK(ctor && get);
  buf c = {0};
  resource_component(&c, "t:host/res@0.2.1");
  zh_cm_component *comp = NULL;
  err = zh_cm_component_new(engine, c.b, c.n, "res.wasm", &comp);
  CHECK(err == NULL);
  if (err)
    fprintf(stderr, "%s\n", zh_error_message(err));
  zh_error_free(err);
  res_host h = {0};
  zh_cm_linker *l = NULL;
  zh_store *store = NULL;
  zh_cm_instance *inst = NULL;
  CHECK(zh_cm_linker_new(&l) == NULL);
  CHECK(zh_store_new(engine, &store) == NULL);
  CHECK(zh_cm_linker_define_resource(l, "t:host/res@0.2.3", "r", res_dtor, &h) == NULL);
  CHECK(ctor && zh_cm_linker_define_func(l, "t:host/res@0.2.3", "[constructor]r", ctor, res_ctor,
                                         &h) == NULL);
  CHECK(get &&
        zh_cm_linker_define_func(l, "t:host/res@0.2.3", "[method]r.get", get, res_get, &h) == NULL);
  err = comp ? zh_cm_linker_instantiate(l, comp, store, NULL, &inst) : NULL;
  CHECK(err == NULL);
  if (err)
    fprintf(stderr, "%s\n", zh_error_message(err));
  zh_error_free(err);
  zh_cm_linker_free(l); /* the instance does not need the linker any more */
  l = NULL;
  if (inst) {
    zh_cm_func *run = zh_cm_instance_func(inst, NULL, "run");
    zh_val res;
    CHECK(run != NULL);
    err = run ? zh_cm_func_call(inst, run, NULL, 0, &res) : NULL;
    CHECK(err == NULL);
    if (err)
      fprintf(stderr, "%s\n", zh_error_message(err));
    else
      CHECK_EQ_INT(res.of.u, 1042);
    zh_error_free(err);
    CHECK_EQ_INT(h.made, 1);
    CHECK_EQ_INT(h.dropped, 1); /* the guest's drop of its own handle ran the host dtor */
    CHECK_EQ_INT(h.last_dropped, 1042);
    /* peek returns without dropping the borrow it was lent: a trap (CanonicalABI.md). */
    zh_cm_func *peek = zh_cm_instance_func(inst, NULL, "peek");
    zh_val b = zh_val_borrow(7);
    CHECK(peek != NULL);
    err = peek ? zh_cm_func_call(inst, peek, &b, 1, &res) : NULL;
    CHECK(err && zh_error_status(err) == ZH_ERR_TRAP &&
          strstr(zh_error_message(err), "borrow handles still remain"));
    zh_error_free(err);
    zh_cm_instance_free(inst);
  }
  zh_cm_linker_free(l);
  zh_store_free(store);
  zh_cm_component_free(comp);
  zh_wit_free(wit);
}

/* ---- hostile sizes ---- */

/* A component that instantiates its nested component twice, `depth` levels deep. */
static void doubling(buf *c, int depth) {
  put(c, kPreamble, sizeof kPreamble);
  if (depth == 0)
    return;
  buf child = {0}, s = {0};
  doubling(&child, depth - 1);
  section(c, 4, &child);
  put(&s, BYTES(0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00));
  section(c, 5, &s);
}

static void test_hostile_sizes(void) {
  /* 2^24 instances asked for by a few hundred bytes: refused, not attempted. */
  buf c = {0};
  doubling(&c, 24);
  zh_cm_component *comp = NULL;
  zh_store *store = NULL;
  zh_cm_instance *in = NULL;
  CHECK(zh_cm_component_new(engine, c.b, c.n, "double.wasm", &comp) == NULL);
  CHECK(zh_store_new(engine, &store) == NULL);
  zh_error *err = comp ? zh_cm_instantiate(comp, store, &in) : NULL;
  CHECK(err && zh_error_status(err) == ZH_ERR_RESOURCE &&
        strstr(zh_error_message(err), "instances in one instantiation"));
  zh_error_free(err);
  zh_cm_component_free(comp);
  zh_store_free(store);
  /* 2^120-node value type from 120 tuple types that each use the previous one twice. */
  buf t = {0}, b = {0};
  put(&t, BYTES(0x79, 0x79)); /* count (121) and type 0 = u32 */
  for (uint32_t i = 1; i <= 120; i++) {
    put(&t, BYTES(0x6f, 0x02));
    uleb(&t, i - 1);
    uleb(&t, i - 1);
  }
  put(&b, kPreamble, sizeof kPreamble);
  section(&b, 7, &t);
  expect_bad(b.b, b.n, ZH_ERR_INVALID,
             (const char *const[]){"component section 7 (type)", "effective type size exceeds"}, 2);
}

/* A component from the reference suite: strings through canon lift (values/strings.wast). */
static void test_suite_component(void) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  const char *path = "../shared/testsuites/component-model/json/linking/unit.0.wasm";
  CHECK(zh_test_read_file(path, &bytes, &len));
  if (!bytes)
    return;
  zh_cm_component *comp = NULL;
  zh_error *err = zh_cm_component_new(engine, bytes, len, path, &comp);
  free(bytes);
  CHECK(err == NULL);
  zh_error_free(err);
  zh_store *store;
  CHECK(zh_store_new(engine, &store) == NULL);
  /* Two instances of one component: separate core instances, separate counters. */
  zh_cm_instance *a = NULL, *b = NULL;
  CHECK(comp && zh_cm_instantiate(comp, store, &a) == NULL);
  CHECK(comp && zh_cm_instantiate(comp, store, &b) == NULL);
  if (a && b) {
    zh_cm_func *fa = zh_cm_instance_func(a, NULL, "bump-a");
    zh_cm_func *fb = zh_cm_instance_func(b, NULL, "bump-a");
    zh_val r;
    CHECK(fa && fb);
    for (uint32_t i = 1; fa && i <= 3; i++) {
      CHECK(zh_cm_func_call(a, fa, NULL, 0, &r) == NULL);
      CHECK_EQ_INT(r.of.u, i);
    }
    CHECK(fb && zh_cm_func_call(b, fb, NULL, 0, &r) == NULL);
    CHECK_EQ_INT(r.of.u, 1);
    CHECK(zh_cm_instance_func(a, NULL, "no-such") == NULL);
  }
  zh_cm_instance_free(a);
  zh_cm_instance_free(b);
  zh_cm_component_free(comp);
  zh_store_free(store);
}

int main(void) {
  CHECK(zh_engine_new(NULL, &engine) == NULL);
  test_bad_input();
  test_linker();
  test_reentrance();
  test_host_resources();
  test_hostile_sizes();
  test_suite_component();
  zh_engine_free(engine);
  TEST_SUMMARY();
}
