/* Canonical ABI: layout and flattening against CanonicalABI.md, round trips of every type
 * kind through hand-written guests (tests/guests/abi_types.c), host imports, resources, and
 * hostile guests (tests/guests/abi_hostile.c) that must trap only their own instance.
 * Needs `make guests`; the build directory comes from $ZH_BUILD (default "build"). */
#include "testlib.h"
#include "testutil.h"
#include "wit/abi.h"
#include "zerohop/component.h"

#include <stdint.h>

static zh_store *g_store;

/* A context over the test component's memory and cabi_realloc, handles in `table`. */
static zh_abi_cx guest_cx(zh_component *c, zh_abi_table *table, const char *what) {
  zh_instance *inst = zh_component_instance(c);
  return (zh_abi_cx){.store = g_store,
                     .mem = zh_instance_memory(inst, "memory"),
                     .realloc = zh_instance_func(inst, "cabi_realloc"),
                     .table = table,
                     .what = what};
}

/* ---- WIT ---- */

static char types_wit[8192];

static void make_wit(void) {
  char flags[1024] = "";
  for (int i = 0; i < 32; i++)
    snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "%sb%d", i ? ", " : "", i);
  const char *scal = "tuple<bool, s8, u8, s16, u16, s32, u32, s64, u64, f32, f64, char, color>";
  const char *deep = "option<option<result<option<shape>, list<string>>>>";
  snprintf(
      types_wit, sizeof types_wit,
      "package t:abi@1.0.0;\n"
      "interface res {\n"
      "  resource counter { constructor(start: u32); add: func(n: u32); get: func() -> u32; }\n"
      "  consume: func(c: counter) -> u32;\n"
      "}\n"
      "interface host { concat: func(a: string, b: string) -> string; }\n"
      "interface types {\n"
      "  use res.{counter};\n"
      "  type pad = tuple<u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, "
      "u64, u64, u64>;\n"
      "  record item { name: string, tags: list<string>, note: option<string>, weight: f64 }\n"
      "  variant shape { empty, circle(f32), rect(tuple<u32, u32>), label(string), big(u64) }\n"
      "  flags many { %s }\n"
      "  enum color { red, green, blue }\n"
      "  echo-items: func(x: list<item>, p: pad) -> list<item>;\n"
      "  echo-res: func(x: result<shape, shape>, p: pad) -> result<shape, shape>;\n"
      "  echo-string: func(x: string, p: pad) -> string;\n"
      "  echo-bytes: func(x: list<u8>, p: pad) -> list<u8>;\n"
      "  echo-flags: func(x: many, p: pad) -> tuple<many, u64>;\n"
      "  echo-deep: func(x: %s, p: pad) -> %s;\n"
      "  echo-scalars: func(x: %s, p: pad) -> %s;\n"
      "  add: func(a: u32, b: u32) -> u32;\n"
      "  sum-weights: func(x: list<item>) -> f64;\n"
      "  make-items: func(n: u32) -> list<item>;\n"
      "  flat-variant: func(x: shape) -> u64;\n"
      "  concat: func(a: string, b: string) -> string;\n"
      "  counter-sum: func(start: u32) -> u32;\n"
      "  make-counter: func(start: u32) -> counter;\n"
      "  read-borrowed: func(c: borrow<counter>) -> u32;\n"
      "  keep-borrowed: func(c: borrow<counter>) -> u32;\n"
      "  give-back: func(c: counter) -> u32;\n"
      "  use-dangling: func() -> u32;\n"
      "  double-drop: func() -> u32;\n"
      "  use-after-give: func() -> u32;\n"
      "}\n"
      "world guest { import res; import host; export types; }\n",
      flags, deep, deep, scal, scal);
}

static const char *bad_wit = "package t:bad@1.0.0;\n"
                             "interface host { log: func(s: string) -> u32; }\n"
                             "interface api {\n"
                             "  enum color { red, green, blue }\n"
                             "  set-realloc-mode: func(mode: u32);\n"
                             "  get-string: func(mode: u32) -> string;\n"
                             "  get-list: func(mode: u32) -> list<u64>;\n"
                             "  get-option: func() -> option<u32>;\n"
                             "  get-enum: func() -> color;\n"
                             "  get-bool: func() -> bool;\n"
                             "  get-char: func() -> char;\n"
                             "  take-string: func(s: string) -> u32;\n"
                             "  take-list: func(l: list<u64>) -> u32;\n"
                             "  call-bad-utf8: func() -> u32;\n"
                             "  call-oob: func() -> u32;\n"
                             "}\n"
                             "world bad { import host; export api; }\n";

/* ---- set-up ---- */

static zh_error *proc_exit(zh_caller *c, void *env, const zh_value *args, zh_value *res) {
  (void)c, (void)env, (void)res;
  return zh_error_exit(args[0].of.i32);
}

typedef struct world_ctx {
  zh_store *store;
  zh_func *exit_fn;
} world_ctx;

/* Counters live in a host array; rep is the index. */
typedef struct host_state {
  uint32_t value[64];
  bool live[64];
  uint32_t n, destroyed;
} host_state;

static zh_error *h_counter_new(zh_component *c, void *env, zh_val *a, size_t n, zh_val *r) {
  (void)c, (void)n;
  host_state *h = env;
  if (h->n >= 64)
    return zh_error_new(ZH_ERR_TRAP, "too many counters");
  h->value[h->n] = (uint32_t)a[0].of.u;
  h->live[h->n] = true;
  *r = zh_val_own(h->n++);
  return NULL;
}
static zh_error *h_counter_add(zh_component *c, void *env, zh_val *a, size_t n, zh_val *r) {
  (void)c, (void)n, (void)r;
  host_state *h = env;
  CHECK(a[0].kind == ZH_WIT_BORROW);
  h->value[a[0].of.res.rep] += (uint32_t)a[1].of.u;
  return NULL;
}
static zh_error *h_counter_get(zh_component *c, void *env, zh_val *a, size_t n, zh_val *r) {
  (void)c, (void)n;
  host_state *h = env;
  *r = zh_val_u32(h->value[a[0].of.res.rep]);
  return NULL;
}
static zh_error *h_consume(zh_component *c, void *env, zh_val *a, size_t n, zh_val *r) {
  (void)c, (void)n;
  host_state *h = env;
  CHECK(a[0].kind == ZH_WIT_OWN);
  uint64_t rep = a[0].of.res.rep;
  *r = zh_val_u32(h->value[rep] + 100);
  h->live[rep] = false; /* the host now owns it and destroys it */
  h->destroyed++;
  return NULL;
}
static void h_counter_dtor(void *env, uint64_t rep) {
  host_state *h = env;
  CHECK(h->live[rep]);
  h->live[rep] = false;
  h->destroyed++;
}
static zh_error *h_concat(zh_component *c, void *env, zh_val *a, size_t n, zh_val *r) {
  (void)c, (void)env, (void)n;
  size_t la = a[0].of.str.len, lb = a[1].of.str.len;
  char *buf = malloc(la + lb + 1);
  memcpy(buf, a[0].of.str.data, la);
  memcpy(buf + la, a[1].of.str.data, lb);
  zh_error *err = zh_val_string(r, buf, la + lb);
  free(buf);
  return err;
}
static zh_error *h_log(zh_component *c, void *env, zh_val *a, size_t n, zh_val *r) {
  (void)c, (void)env, (void)n;
  *r = zh_val_u32((uint32_t)a[0].of.str.len);
  return NULL;
}

/* A fresh component of `m` bound to `world`, WIT imports from the host, WASI exit stubbed. */
static zh_component *bind_world(world_ctx *w, zh_module *m, const zh_wit_world *world,
                                host_state *hs) {
  zh_component *c = NULL;
  zh_error *err = zh_component_new(w->store, m, world, &c);
  size_t n = zh_module_import_count(m);
  zh_extern ext[16];
  memset(ext, 0, sizeof ext);
  for (size_t i = 0; i < n && i < 16; i++) {
    zh_import_info imp;
    zh_module_import(m, i, &imp);
    if (strcmp(imp.module, "wasi_snapshot_preview1") == 0) {
      ext[i].kind = ZH_EXTERN_FUNC;
      ext[i].of.func = w->exit_fn;
    }
  }
  if (!err && hs) {
    const char *res = "t:abi/res@1.0.0";
    if (!err)
      err = zh_component_define_import(c, res, "[constructor]counter", h_counter_new, hs);
    if (!err)
      err = zh_component_define_import(c, res, "[method]counter.add", h_counter_add, hs);
    if (!err)
      err = zh_component_define_import(c, res, "[method]counter.get", h_counter_get, hs);
    if (!err)
      err = zh_component_define_import(c, res, "consume", h_consume, hs);
    if (!err)
      err = zh_component_define_resource(c, res, "counter", h_counter_dtor, hs);
    if (!err)
      err = zh_component_define_import(c, "t:abi/host@1.0.0", "concat", h_concat, NULL);
  } else if (!err) {
    err = zh_component_define_import(c, "t:bad/host@1.0.0", "log", h_log, NULL);
  }
  if (!err)
    err = zh_component_instantiate(c, ext, n);
  if (err) {
    fprintf(stderr, "bind: %s\n", zh_error_message(err));
    zh_error_free(err);
    zh_component_free(c);
    return NULL;
  }
  return c;
}

/* ---- layout ---- */

static const zh_wit_type *type_of(const zh_wit_interface *in, const char *name) {
  for (size_t i = 0; i < in->ntypes; i++)
    if (strcmp(in->types[i]->name, name) == 0)
      return in->types[i];
  return NULL;
}

static const zh_wit_func *func_of(const zh_wit_interface *in, const char *name) {
  for (size_t i = 0; i < in->nfuncs; i++)
    if (strcmp(in->funcs[i]->name, name) == 0)
      return in->funcs[i];
  return NULL;
}

static void test_layout(const zh_wit_interface *types) {
  const zh_wit_type *item = type_of(types, "item"), *shape = type_of(types, "shape");
  const zh_wit_type *many = type_of(types, "many"), *color = type_of(types, "color");
  CHECK_EQ_INT(zh_abi_size(item), 40);
  CHECK_EQ_INT(zh_abi_align(item), 8);
  /* shape: u8 discriminant, payload at 8 (u64 case), largest payload 8 */
  CHECK_EQ_INT(zh_abi_size(shape), 16);
  CHECK_EQ_INT(zh_abi_align(shape), 8);
  CHECK_EQ_INT(zh_abi_payload_offset(shape), 8);
  CHECK_EQ_INT(zh_abi_size(many), 4); /* 32 flags: one i32 */
  CHECK_EQ_INT(zh_abi_align(many), 4);
  CHECK_EQ_INT(zh_abi_size(color), 1);
  zh_valtype flat[17];
  size_t n = 0;
  CHECK(zh_abi_flatten(shape, flat, 16, &n));
  CHECK_EQ_INT(n, 3);
  CHECK(flat[0] == ZH_I32 && flat[1] == ZH_I64 && flat[2] == ZH_I32);
  n = 0;
  CHECK(zh_abi_flatten(many, flat, 16, &n));
  CHECK_EQ_INT(n, 1);
  n = 0;
  CHECK(!zh_abi_flatten(type_of(types, "pad"), flat, 15, &n));

  zh_abi_sig sig;
  zh_abi_signature(func_of(types, "add"), false, &sig);
  CHECK(sig.nparams == 2 && sig.nresults == 1 && !sig.params_indirect);
  zh_abi_signature(func_of(types, "echo-items"), false, &sig);
  CHECK(sig.params_indirect && sig.results_indirect && sig.nparams == 1 && sig.nresults == 1);
  zh_abi_signature(func_of(types, "concat"), true, &sig); /* import side: return pointer */
  CHECK(sig.nparams == 5 && sig.nresults == 0 && sig.results_indirect);
  char name[128];
  CHECK(zh_abi_export_name("t:abi/types@1.0.0", func_of(types, "add"), name, sizeof name));
  CHECK(strcmp(name, "t:abi/types@1.0.0#add") == 0);
}

/* ---- round trips ---- */

static zh_val pad_val(void) {
  zh_val p;
  zh_val_tuple(&p, 16);
  for (int i = 0; i < 16; i++)
    zh_val_fields(&p)[i] = zh_val_u64((uint64_t)i);
  return p;
}

static const char *T = "t:abi/types@1.0.0";

/* Calls an echo-* export with x and checks the result equals x. */
static void echo(zh_component *c, const char *fn, zh_val *x) {
  zh_val args[2] = {*x, pad_val()}, r;
  zh_error *err = zh_component_call(c, T, fn, args, 2, &r);
  if (err)
    fprintf(stderr, "%s: %s\n", fn, zh_error_message(err));
  CHECK(err == NULL);
  bool same = !err && zh_val_equal(&r, x);
  if (!same)
    fprintf(stderr, "%s: value differs after the round trip\n", fn);
  CHECK(same);
  zh_error_free(err);
  zh_val_drop(&r);
  zh_val_drop(&args[1]);
  zh_val_drop(x);
}

static zh_val str(const char *s) {
  zh_val v;
  zh_val_string_cstr(&v, s);
  return v;
}

static zh_val make_item(const char *name, size_t ntags, const char *note, double w) {
  zh_val it;
  zh_val_record(&it, 4);
  zh_val *f = zh_val_fields(&it);
  f[0] = str(name);
  zh_val_list(&f[1], ntags);
  for (size_t i = 0; i < ntags; i++)
    zh_val_list_items(&f[1])[i] = str(i % 2 ? "" : "tag");
  if (note) {
    zh_val s = str(note);
    zh_val_some(&f[2], &s);
  } else {
    f[2] = zh_val_none();
  }
  f[3] = zh_val_f64(w);
  return it;
}

static zh_val shape(uint32_t which) {
  zh_val v, p;
  switch (which) {
  case 0:
    zh_val_variant(&v, 0, NULL);
    break;
  case 1:
    p = zh_val_f32(2.5f);
    zh_val_variant(&v, 1, &p);
    break;
  case 2:
    zh_val_tuple(&p, 2);
    zh_val_fields(&p)[0] = zh_val_u32(6);
    zh_val_fields(&p)[1] = zh_val_u32(7);
    zh_val_variant(&v, 2, &p);
    break;
  case 3:
    p = str("Label");
    zh_val_variant(&v, 3, &p);
    break;
  default:
    p = zh_val_u64(0x123456789abcdefull);
    zh_val_variant(&v, 4, &p);
    break;
  }
  return v;
}

static void test_round_trips(zh_component *c) {
  zh_error *err;
  /* list<item>: records of strings, lists and options; and the empty list */
  zh_val items;
  zh_val_list(&items, 3);
  zh_val_list_items(&items)[0] = make_item("first", 2, "a note", 1.5);
  zh_val_list_items(&items)[1] = make_item("", 0, NULL, -0.0);
  zh_val_list_items(&items)[2] =
      make_item("third \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 5, "", 1e300);
  echo(c, "echo-items", &items);
  zh_val_list(&items, 0);
  echo(c, "echo-items", &items);

  /* result with variant payloads, each case on both sides */
  for (uint32_t k = 0; k < 5; k++) {
    zh_val r, s = shape(k);
    (k % 2 ? zh_val_err : zh_val_ok)(&r, &s);
    echo(c, "echo-res", &r);
  }

  /* strings: empty, 64 KiB, U+0000 inside */
  zh_val s = str("");
  echo(c, "echo-string", &s);
  size_t big = 64 * 1024;
  char *buf = malloc(big);
  for (size_t i = 0; i < big; i++)
    buf[i] = (char)('a' + i % 26);
  zh_val_string(&s, buf, big);
  echo(c, "echo-string", &s);
  free(buf);
  zh_val_string(&s, "a\0b", 3);
  echo(c, "echo-string", &s);
  /* cabi_post_ ran once per echo-string call */
  zh_value post;
  zh_func *pc = zh_instance_func(zh_component_instance(c), "post-calls");
  CHECK(pc != NULL);
  err = zh_func_call(g_store, pc, NULL, 0, &post, 1);
  CHECK(!err && post.of.i32 == 3);
  zh_error_free(err);

  /* list<u8>: raw, empty and 64 KiB */
  uint8_t *bytes = malloc(big);
  for (size_t i = 0; i < big; i++)
    bytes[i] = (uint8_t)(i * 7);
  zh_val b;
  zh_val_list_raw(&b, ZH_WIT_U8, bytes, big);
  echo(c, "echo-bytes", &b);
  zh_val_list_raw(&b, ZH_WIT_U8, bytes, 0);
  echo(c, "echo-bytes", &b);
  free(bytes);

  /* flags of 32 members (the WIT maximum; more are tested in test_big_flags); the result
   * tuple picks up pad's first field, 0, after the flags */
  zh_val f, want, r;
  zh_val_flags(&f, 32);
  for (size_t i = 0; i < 32; i += 3)
    zh_val_flag_set(&f, i, true);
  zh_val_flag_set(&f, 31, true);
  zh_val fargs[2] = {f, pad_val()};
  err = zh_component_call(c, T, "echo-flags", fargs, 2, &r);
  zh_val_tuple(&want, 2);
  zh_val_fields(&want)[0] = f;
  zh_val_fields(&want)[1] = zh_val_u64(0);
  CHECK(!err && zh_val_equal(&r, &want));
  zh_error_free(err);
  zh_val_drop(&want); /* owns f now */
  zh_val_drop(&fargs[1]);
  zh_val_drop(&r);

  /* deep: option<option<result<option<shape>, list<string>>>> at each depth */
  for (int depth = 0; depth < 6; depth++) {
    zh_val v, in;
    if (depth == 5) { /* err side */
      zh_val l;
      zh_val_list(&l, 2);
      zh_val_list_items(&l)[0] = str("x");
      zh_val_list_items(&l)[1] = str("");
      zh_val_err(&in, &l);
    } else if (depth == 0) {
      in = shape(3);
      zh_val_some(&v, &in);
      in = v;
      zh_val_ok(&v, &in);
      in = v;
    } else if (depth == 1) {
      in = zh_val_none();
      zh_val_ok(&v, &in);
      in = v;
    } else {
      in = zh_val_none();
    }
    if (depth == 2) {
      v = in;
    } else if (depth == 3) {
      zh_val_some(&v, &in);
      in = v;
      v = in;
    } else {
      zh_val_some(&v, &in);
      in = v;
      if (depth != 4)
        zh_val_some(&v, &in);
      else
        v = in;
    }
    echo(c, "echo-deep", &v);
  }

  /* every scalar kind, with edge values */
  zh_val sc;
  zh_val_tuple(&sc, 13);
  zh_val *x = zh_val_fields(&sc);
  x[0] = zh_val_bool(true);
  x[1] = zh_val_s8(-128);
  x[2] = zh_val_u8(255);
  x[3] = zh_val_s16(-32768);
  x[4] = zh_val_u16(65535);
  x[5] = zh_val_s32(INT32_MIN);
  x[6] = zh_val_u32(UINT32_MAX);
  x[7] = zh_val_s64(INT64_MIN);
  x[8] = zh_val_u64(UINT64_MAX);
  x[9] = zh_val_f32(-1.25f);
  x[10] = zh_val_f64(3.5e-300);
  x[11] = zh_val_char(0x1f600);
  x[12] = zh_val_enum(2);
  echo(c, "echo-scalars", &sc);

  /* the flat fast path */
  zh_val args[2] = {zh_val_u32(40), zh_val_u32(2)};
  err = zh_component_call(c, T, "add", args, 2, &r);
  CHECK(!err && r.kind == ZH_WIT_U32 && r.of.u == 42);
  zh_error_free(err);

  /* guest reads list<item> through C structs */
  zh_val_list(&items, 2);
  zh_val_list_items(&items)[0] = make_item("a", 2, "n", 1.5);
  zh_val_list_items(&items)[1] = make_item("b", 1, NULL, 2.0);
  err = zh_component_call(c, T, "sum-weights", &items, 1, &r);
  CHECK(!err && r.kind == ZH_WIT_F64 && r.of.f64 == 1.5 + 2 + 1000 + 2.0 + 1);
  zh_error_free(err);
  zh_val_drop(&items);

  /* guest builds list<item> with C structs */
  zh_val n7 = zh_val_u32(7);
  err = zh_component_call(c, T, "make-items", &n7, 1, &r);
  CHECK(!err && zh_val_list_len(&r) == 7);
  if (!err && zh_val_list_len(&r) == 7) {
    zh_val want = make_item("odd", 0, "note", 1.5);
    zh_val_drop(&zh_val_fields(&want)[1]);
    zh_val_list(&zh_val_fields(&want)[1], 0);
    CHECK(zh_val_equal(&zh_val_list_items(&r)[3], &want)); /* i = 3: 3 % 3 tags = 0 */
    zh_val_drop(&want);
    zh_val *t5 = &zh_val_fields(&zh_val_list_items(&r)[5])[1];
    CHECK(zh_val_list_len(t5) == 2 && strcmp(zh_val_list_items(t5)[1].of.str.data, "tag") == 0);
  }
  zh_error_free(err);
  zh_val_drop(&r);

  /* flat variant with joined payload slots */
  uint64_t expect[5] = {0, 25, 42, 5 * 1000 + 'L', 0x123456789abcdefull};
  for (uint32_t k = 0; k < 5; k++) {
    zh_val sh = shape(k);
    err = zh_component_call(c, T, "flat-variant", &sh, 1, &r);
    CHECK(!err && r.of.u == expect[k]);
    zh_error_free(err);
    zh_val_drop(&sh);
  }

  /* host -> guest -> host import -> guest -> host */
  zh_val ab[2] = {str("zero"), str("hop")};
  err = zh_component_call(c, T, "concat", ab, 2, &r);
  CHECK(!err && r.kind == ZH_WIT_STRING && strcmp(r.of.str.data, "zerohop") == 0);
  zh_error_free(err);
  zh_val_drop(&r);
  zh_val_drop(&ab[0]);
  zh_val_drop(&ab[1]);
}

static void expect_trap(zh_component *c, zh_error *err, const char *needle) {
  CHECK(err != NULL);
  if (!err)
    return;
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_TRAP);
  bool found = strstr(zh_error_message(err), needle) != NULL;
  if (!found)
    fprintf(stderr, "expected \"%s\" in: %s\n", needle, zh_error_message(err));
  CHECK(found);
  CHECK(zh_component_trapped(c));
  zh_error_free(err);
}

static void test_resources(zh_component *c, host_state *hs) {
  zh_val a = zh_val_u32(10), r;
  zh_error *err = zh_component_call(c, T, "counter-sum", &a, 1, &r);
  CHECK(!err && r.of.u == 15);
  zh_error_free(err);
  CHECK_EQ_INT(hs->destroyed, 1); /* the guest dropped its own handle */
  CHECK_EQ_INT(zh_component_handle_count(c), 0);

  /* own<counter> leaves the guest */
  err = zh_component_call(c, T, "make-counter", &a, 1, &r);
  CHECK(!err && r.kind == ZH_WIT_OWN && hs->value[r.of.res.rep] == 11);
  zh_error_free(err);
  CHECK_EQ_INT(zh_component_handle_count(c), 0);
  zh_val held = r;

  /* lent to the guest: dropped early by the guest, or ended by the adapter */
  zh_val bw = zh_val_borrow(held.of.res.rep);
  err = zh_component_call(c, T, "read-borrowed", &bw, 1, &r);
  CHECK(!err && r.of.u == 11);
  zh_error_free(err);
  err = zh_component_call(c, T, "keep-borrowed", &bw, 1, &r);
  CHECK(!err && r.of.u == 11);
  zh_error_free(err);
  CHECK_EQ_INT(zh_component_handle_count(c), 0);
  CHECK_EQ_INT(hs->destroyed, 1); /* borrows never destroy */

  /* passed back in, then handed to the host's consume */
  err = zh_component_call(c, T, "give-back", &held, 1, &r);
  CHECK(!err && r.of.u == 111);
  zh_error_free(err);
  CHECK_EQ_INT(hs->destroyed, 2);
  CHECK_EQ_INT(zh_component_handle_count(c), 0);
}

static void test_resource_traps(world_ctx *w, zh_module *m, const zh_wit_world *world,
                                host_state *hs) {
  static const char *fns[3] = {"use-dangling", "double-drop", "use-after-give"};
  for (int i = 0; i < 3; i++) {
    zh_component *c = bind_world(w, m, world, hs);
    if (!c) {
      CHECK(!"bind");
      continue;
    }
    zh_val r;
    expect_trap(c, zh_component_call(c, T, fns[i], NULL, 0, &r), "unknown resource handle");
    zh_val a = zh_val_u32(1);
    zh_error *err = zh_component_call(c, T, "add", &a, 1, &r);
    CHECK(err && zh_error_status(err) == ZH_ERR_TRAP); /* refuses to run again */
    zh_error_free(err);
    zh_component_free(c);
  }
}

/* ---- hostile guest ---- */

static const char *A = "t:bad/api@1.0.0";

static zh_error *call_bad(zh_component *c, const char *fn, zh_val *arg, zh_val *r) {
  return zh_component_call(c, A, fn, arg, arg ? 1 : 0, r);
}

static void test_hostile(world_ctx *w, zh_module *m, const zh_wit_world *world,
                         zh_component *good) {
  struct {
    const char *fn;
    int arg; /* -1: none */
    int realloc_mode;
    const char *needle;
  } cases[] = {
      {"get-string", 1, 0, "out of bounds"},
      {"get-string", 2, 0, "invalid UTF-8"},
      {"get-string", 3, 0, "out of bounds"},
      {"get-string", 4, 0, "out of bounds"},
      {"get-list", 1, 0, "not aligned"},
      {"get-list", 2, 0, "out of bounds"},
      {"get-option", -1, 0, "discriminant 7 out of range"},
      {"get-enum", -1, 0, "discriminant 5 out of range"},
      {"get-char", -1, 0, "invalid char U+D800"},
      {"take-string", -2, 1, "cabi_realloc result"},
      {"take-list", -3, 2, "not aligned"},
      {"call-bad-utf8", -1, 0, "invalid UTF-8"},
      {"call-oob", -1, 0, "out of bounds"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    zh_component *c = bind_world(w, m, world, NULL);
    if (!c) {
      CHECK(!"bind");
      continue;
    }
    zh_val r, arg;
    zh_error *err = NULL;
    if (cases[i].realloc_mode) {
      arg = zh_val_u32((uint32_t)cases[i].realloc_mode);
      err = call_bad(c, "set-realloc-mode", &arg, &r);
      CHECK(err == NULL);
      zh_error_free(err);
    }
    if (cases[i].arg >= 0) {
      arg = zh_val_u32((uint32_t)cases[i].arg);
    } else if (cases[i].arg == -2) {
      arg = str("some text");
    } else if (cases[i].arg == -3) {
      uint64_t nums[3] = {1, 2, 3};
      zh_val_list_raw(&arg, ZH_WIT_U64, nums, 3);
    }
    err = call_bad(c, cases[i].fn, cases[i].arg == -1 ? NULL : &arg, &r);
    if (cases[i].arg < -1)
      zh_val_drop(&arg);
    expect_trap(c, err, cases[i].needle);
    zh_val_drop(&r);
    zh_component_free(c);
    /* The other instance in the same store still works. */
    zh_val ab[2] = {zh_val_u32((uint32_t)i), zh_val_u32(1)};
    err = zh_component_call(good, T, "add", ab, 2, &r);
    CHECK(!err && r.of.u == i + 1);
    zh_error_free(err);
  }

  /* Lenient by the spec: bool lifts any nonzero value as true (convert_int_to_bool). */
  zh_component *c = bind_world(w, m, world, NULL);
  if (c) {
    zh_val r;
    zh_error *err = call_bad(c, "get-bool", NULL, &r);
    CHECK(!err && r.kind == ZH_WIT_BOOL && r.of.b);
    zh_error_free(err);
    zh_val arg = zh_val_u32(0);
    err = call_bad(c, "get-string", &arg, &r); /* mode 0 is well-behaved */
    CHECK(!err && strcmp(r.of.str.data, "hello") == 0);
    zh_val_drop(&r);
    zh_error_free(err);
    CHECK(!zh_component_trapped(c));
    zh_component_free(c);
  }
}

/* Flags past 32 members: the WIT front end caps them at 32 (current spec), but the ABI layer
 * keeps the older layout of one i32 per 32 flags. Stored into and loaded from guest memory,
 * and lowered to and lifted from flat values, with a hand-built type of 70 flags. */
static void test_big_flags(zh_component *c) {
  zh_wit_field fields[70];
  for (int i = 0; i < 70; i++)
    fields[i] = (zh_wit_field){"f", NULL};
  zh_wit_type t = {.kind = ZH_WIT_FLAGS, .nfields = 70, .fields = fields};
  CHECK_EQ_INT(zh_abi_size(&t), 12);
  CHECK_EQ_INT(zh_abi_align(&t), 4);
  zh_abi_table table = {0};
  zh_abi_cx cx = guest_cx(c, &table, "big flags");
  zh_val f, back;
  zh_val_flags(&f, 70);
  for (size_t i = 0; i < 70; i += 5)
    zh_val_flag_set(&f, i, true);
  zh_val_flag_set(&f, 69, true);
  uint32_t ptr = 0;
  CHECK(zh_abi_alloc(&cx, 4, 12, &ptr) == NULL);
  CHECK(zh_abi_store(&cx, &t, &f, ptr) == NULL);
  uint32_t w2;
  memcpy(&w2, zh_memory_data(cx.mem) + ptr + 8, 4);
  CHECK_EQ_INT(w2, (1u << 1) | (1u << 5)); /* flags 65 and 69 */
  CHECK(zh_abi_load(&cx, &t, ptr, &back) == NULL && zh_val_equal(&f, &back));
  zh_val_drop(&back);
  zh_value flat[3];
  size_t n = 0, k = 0;
  CHECK(zh_abi_lower_flat(&cx, &t, &f, flat, &n) == NULL && n == 3);
  CHECK(zh_abi_lift_flat(&cx, &t, flat, n, &k, &back) == NULL && zh_val_equal(&f, &back));
  zh_val_drop(&back);
  zh_val_drop(&f);
  zh_abi_table_free(&table);
}

/* The planned lift of a flat parameter (zh_abi_lift_planned, used by canon lower) must lift
 * exactly what zh_abi_lift_flat lifts, and fail with the same message: each case runs
 * through both, the handle table set up alike before each. */
typedef struct {
  zh_abi_cx *cx;
  const zh_wit_type *res; /* handles of this type are made before each lift */
  uint64_t rep;
} planned_env;

static void lift_both(planned_env *pe, const zh_wit_type *t, const zh_value *flat, size_t n,
                      bool want_ok, const char *what) {
  zh_abi_lift_plan plan;
  zh_abi_lift_plan_of(t, &plan);
  zh_val a, b;
  zh_error *ea, *eb;
  size_t ka = 0, kb = 0;
  uint32_t h;
  zh_abi_table_free(pe->cx->table);
  CHECK(zh_abi_handle_new(pe->cx, pe->res, pe->rep, true, &h) == NULL && h == 1);
  ea = zh_abi_lift_flat(pe->cx, t, flat, n, &ka, &a);
  zh_abi_table_free(pe->cx->table);
  CHECK(zh_abi_handle_new(pe->cx, pe->res, pe->rep, true, &h) == NULL && h == 1);
  eb = zh_abi_lift_planned(pe->cx, &plan, flat, n, &kb, &b);
  if (!(want_ok ? !ea && !eb : ea && eb))
    fprintf(stderr, "planned lift, %s: %s / %s\n", what, ea ? zh_error_message(ea) : "ok",
            eb ? zh_error_message(eb) : "ok");
  CHECK(want_ok ? !ea && !eb : ea && eb);
  if (!ea && !eb) {
    CHECK(zh_val_equal(&a, &b));
    CHECK_EQ_INT(ka, kb);
    zh_val_drop(&a);
    zh_val_drop(&b);
  }
  if (ea && eb) {
    CHECK(strcmp(zh_error_message(ea), zh_error_message(eb)) == 0);
    CHECK_EQ_INT(zh_error_status(ea), zh_error_status(eb));
  }
  zh_error_free(ea);
  zh_error_free(eb);
}

static void test_planned_lift(zh_component *c) {
  zh_abi_table table = {0};
  zh_abi_cx cx = guest_cx(c, &table, "planned");
  zh_wit_type res = {.kind = ZH_WIT_RESOURCE, .name = "r"},
              other = {.kind = ZH_WIT_RESOURCE, .name = "other"},
              own = {.kind = ZH_WIT_OWN, .elem = &res},
              borrow = {.kind = ZH_WIT_BORROW, .elem = &res},
              own_other = {.kind = ZH_WIT_OWN, .elem = &other},
              alias = {.kind = ZH_WIT_ALIAS, .elem = &own}, str = {.kind = ZH_WIT_STRING},
              u8 = {.kind = ZH_WIT_U8}, u32 = {.kind = ZH_WIT_U32},
              bytes = {.kind = ZH_WIT_LIST, .elem = &u8},
              words = {.kind = ZH_WIT_LIST, .elem = &u32},
              strs = {.kind = ZH_WIT_LIST, .elem = &str};
  planned_env pe = {&cx, &res, 77};
  uint32_t p = 0;
  CHECK(zh_abi_alloc(&cx, 4, 64, &p) == NULL);
  uint8_t *m = zh_memory_data(cx.mem);
  memcpy(m + p, "hello\xff world!", 13);
  uint32_t desc[2] = {p, 5}; /* a list<string> of one: "hello" */
  memcpy(m + p + 16, desc, 8);
  uint32_t size = (uint32_t)zh_memory_size(cx.mem);
  zh_value one[1] = {zh_i32(1)}, two[1] = {zh_i32(2)}, wide[1] = {zh_i64(1)};
  lift_both(&pe, &own, one, 1, true, "own");
  lift_both(&pe, &alias, one, 1, true, "own through an alias");
  lift_both(&pe, &borrow, one, 1, true, "borrow");
  lift_both(&pe, &own, wide, 1, true, "own from an i64 (coerced)");
  lift_both(&pe, &own, two, 1, false, "own of an unknown handle");
  lift_both(&pe, &own_other, one, 1, false, "own of another type");
  lift_both(&pe, &borrow, two, 1, false, "borrow of an unknown handle");
  lift_both(&pe, &own, one, 0, false, "own with no value");
  zh_value s_ok[2] = {zh_i32((int32_t)p), zh_i32(5)}, s_bad[2] = {zh_i32((int32_t)p), zh_i32(8)},
           s_out[2] = {zh_i32((int32_t)(size - 2)), zh_i32(5)};
  lift_both(&pe, &str, s_ok, 2, true, "string");
  lift_both(&pe, &str, s_bad, 2, false, "string with a bad byte");
  lift_both(&pe, &str, s_out, 2, false, "string past the memory");
  lift_both(&pe, &str, s_ok, 1, false, "string with one value");
  lift_both(&pe, &bytes, s_bad, 2, true, "list<u8>");
  lift_both(&pe, &bytes, s_out, 2, false, "list<u8> past the memory");
  zh_value w_ok[2] = {zh_i32((int32_t)p), zh_i32(3)},
           w_odd[2] = {zh_i32((int32_t)p + 1), zh_i32(2)}, w_empty[2] = {zh_i32(0), zh_i32(0)};
  lift_both(&pe, &words, w_ok, 2, true, "list<u32>");
  lift_both(&pe, &words, w_odd, 2, false, "list<u32> misaligned");
  lift_both(&pe, &words, w_empty, 2, true, "empty list<u32>");
  zh_value l_ok[2] = {zh_i32((int32_t)p + 16), zh_i32(1)};
  lift_both(&pe, &strs, l_ok, 2, true, "list<string> (not planned)");
  lift_both(&pe, &u32, one, 1, true, "u32 (not planned)");
  zh_wit_type opt = {.kind = ZH_WIT_OPTION, .elem = &own},
              opt_b = {.kind = ZH_WIT_OPTION, .elem = &borrow},
              res_own = {.kind = ZH_WIT_RESULT, .elem = &own},
              res_both = {.kind = ZH_WIT_RESULT, .elem = &own, .err = &borrow},
              res_str = {.kind = ZH_WIT_RESULT, .elem = &own, .err = &str};
  zh_value c_none[2] = {zh_i32(0), zh_i32(0)}, c_some[2] = {zh_i32(1), zh_i32(1)},
           c_bad[2] = {zh_i32(1), zh_i32(2)}, c_disc[2] = {zh_i32(2), zh_i32(1)},
           c_wide[2] = {zh_i64(1), zh_i64(1)}, c_ok[2] = {zh_i32(0), zh_i32(1)},
           c_err_str[3] = {zh_i32(1), zh_i32((int32_t)p), zh_i32(5)};
  lift_both(&pe, &opt, c_none, 2, true, "option<own> none");
  lift_both(&pe, &opt, c_some, 2, true, "option<own> some");
  lift_both(&pe, &opt_b, c_some, 2, true, "option<borrow> some");
  lift_both(&pe, &opt, c_wide, 2, true, "option<own> some from i64 values (coerced)");
  lift_both(&pe, &opt, c_bad, 2, false, "option<own> of an unknown handle");
  lift_both(&pe, &opt, c_disc, 2, false, "option<own> with discriminant 2");
  lift_both(&pe, &opt, c_some, 1, false, "option<own> with one value");
  lift_both(&pe, &res_own, c_ok, 2, true, "result<own> ok");
  lift_both(&pe, &res_own, c_some, 2, true, "result<own> err");
  lift_both(&pe, &res_both, c_some, 2, true, "result<own, borrow> err");
  lift_both(&pe, &res_str, c_err_str, 3, true, "result<own, string> err");
  lift_both(&pe, &res_str, c_ok, 3, true, "result<own, string> ok");
  zh_value c_err_bad[3] = {zh_i32(1), zh_i32((int32_t)p), zh_i32(8)},
           c_err_wide[3] = {zh_i32(1), zh_i64((int64_t)p), zh_i64(5)};
  lift_both(&pe, &res_str, c_err_bad, 3, false, "result<own, string> err with bad UTF-8");
  lift_both(&pe, &res_str, c_err_wide, 3, true, "result<own, string> err from i64 slots");
  lift_both(&pe, &res_str, c_err_str, 2, false, "result<own, string> err with two values");
  zh_abi_lift_plan plan;
  zh_abi_lift_plan_of(&res_both, &plan);
  CHECK_EQ_INT(plan.op, ZH_ABI_LIFT_CASE);
  zh_abi_lift_plan_of(&res_str, &plan);
  CHECK_EQ_INT(plan.op, ZH_ABI_LIFT_CASE);
  zh_abi_lift_plan_of(&strs, &plan);
  CHECK_EQ_INT(plan.op, ZH_ABI_LIFT_ANY);
  zh_abi_lift_plan_of(&alias, &plan);
  CHECK_EQ_INT(plan.op, ZH_ABI_LIFT_OWN);
  zh_abi_table_free(&table);
}

/* The planned store and flat lowering of a host call's result (zh_abi_store_planned,
 * zh_abi_lower_flat_planned) must write what zh_abi_store / zh_abi_lower_flat write (memory,
 * flat values, the handle made) and fail with the same message. */
static void store_both(zh_abi_cx *cx, const zh_wit_type *t, const zh_val *v, bool want_ok,
                       const char *what) {
  zh_abi_result_plan plan;
  zh_abi_result_plan_of(t, &plan);
  uint32_t pa = 0, pb = 0;
  CHECK(zh_abi_alloc(cx, 8, 32, &pa) == NULL && zh_abi_alloc(cx, 8, 32, &pb) == NULL);
  uint8_t *m = zh_memory_data(cx->mem);
  memset(m + pa, 0xee, 32);
  memset(m + pb, 0xee, 32);
  zh_abi_table_free(cx->table);
  zh_error *ea = zh_abi_store(cx, t, v, pa);
  zh_abi_table ta = *cx->table;
  memset(cx->table, 0, sizeof *cx->table);
  zh_error *eb = zh_abi_store_planned(cx, &plan, v, pb);
  if (!(want_ok ? !ea && !eb : ea && eb))
    fprintf(stderr, "planned store, %s: %s / %s\n", what, ea ? zh_error_message(ea) : "ok",
            eb ? zh_error_message(eb) : "ok");
  CHECK(want_ok ? !ea && !eb : ea && eb);
  m = zh_memory_data(cx->mem);
  if (!ea && !eb) {
    /* strings land at different guest addresses: compare all but their pointers */
    bool str_payload = plan.ct[1] && plan.ct[1]->kind == ZH_WIT_STRING;
    CHECK(memcmp(m + pa, m + pb, str_payload ? 4 : 32) == 0);
    CHECK_EQ_INT(ta.len, cx->table->len);
    for (uint32_t i = 1; i < ta.len && i < cx->table->len; i++)
      CHECK(ta.h[i].rt == cx->table->h[i].rt && ta.h[i].rep == cx->table->h[i].rep &&
            ta.h[i].own == cx->table->h[i].own);
  }
  if (ea && eb)
    CHECK(strcmp(zh_error_message(ea), zh_error_message(eb)) == 0);
  zh_abi_table_free(&ta);
  zh_error_free(ea);
  zh_error_free(eb);
  zh_value fa[2], fb[2];
  size_t na = 0, nb = 0;
  if (zh_abi_flat_count(t) > 2)
    return;
  zh_abi_table_free(cx->table);
  ea = zh_abi_lower_flat(cx, t, v, fa, &na);
  zh_abi_table_free(cx->table);
  eb = zh_abi_lower_flat_planned(cx, &plan, v, fb, &nb);
  CHECK(want_ok ? !ea && !eb : ea && eb);
  if (!ea && !eb && na == nb && t->kind == ZH_WIT_OWN)
    CHECK(fa[0].type == fb[0].type && fa[0].of.i32 == fb[0].of.i32);
  CHECK_EQ_INT(na, nb);
  if (ea && eb)
    CHECK(strcmp(zh_error_message(ea), zh_error_message(eb)) == 0);
  zh_error_free(ea);
  zh_error_free(eb);
}

static void test_planned_store(zh_component *c) {
  zh_abi_table table = {0};
  zh_abi_cx cx = guest_cx(c, &table, "planned");
  zh_wit_type res = {.kind = ZH_WIT_RESOURCE, .name = "r"},
              own = {.kind = ZH_WIT_OWN, .elem = &res}, str = {.kind = ZH_WIT_STRING},
              u32 = {.kind = ZH_WIT_U32}, r_own = {.kind = ZH_WIT_RESULT, .elem = &own},
              r_unit_str = {.kind = ZH_WIT_RESULT, .err = &str},
              o_own = {.kind = ZH_WIT_OPTION, .elem = &own},
              r_u32_own = {.kind = ZH_WIT_RESULT, .elem = &u32, .err = &own};
  zh_val h = zh_val_own(42), n = zh_val_u32(7), v;
  store_both(&cx, &own, &h, true, "own");
  store_both(&cx, &own, &n, false, "a u32 for an own");
  zh_val p = zh_val_own(42);
  CHECK(zh_val_ok(&v, &p) == NULL);
  store_both(&cx, &r_own, &v, true, "result<own> ok");
  store_both(&cx, &o_own, &v, false, "a result for an option");
  zh_val_drop(&v);
  CHECK(zh_val_err(&v, NULL) == NULL);
  store_both(&cx, &r_own, &v, true, "result<own> err");
  store_both(&cx, &r_unit_str, &v, false, "result<_, string> err without its string");
  zh_val_drop(&v);
  CHECK(zh_val_ok(&v, NULL) == NULL);
  store_both(&cx, &r_own, &v, false, "result<own> ok without its handle");
  store_both(&cx, &r_unit_str, &v, true, "result<_, string> ok");
  zh_val_drop(&v);
  p = zh_val_u32(3);
  CHECK(zh_val_ok(&v, &p) == NULL);
  store_both(&cx, &r_own, &v, false, "result<own> ok with a u32");
  store_both(&cx, &r_u32_own, &v, true, "result<u32, own> ok");
  zh_val_drop(&v);
  CHECK(zh_val_string(&p, "bad", 3) == NULL);
  CHECK(zh_val_err(&v, &p) == NULL);
  store_both(&cx, &r_unit_str, &v, true, "result<_, string> err");
  zh_val_drop(&v);
  p = zh_val_own(9);
  CHECK(zh_val_some(&v, &p) == NULL);
  store_both(&cx, &o_own, &v, true, "option<own> some");
  zh_val_drop(&v);
  v = zh_val_none();
  store_both(&cx, &o_own, &v, true, "option<own> none");
  zh_abi_table_free(&table);
}

/* Lifting with a per-call buffer (cx->lend_buf, as canon lower gives callees that only read
 * their arguments): the same values as without; strings, byte lists and payloads land in the
 * buffer while they fit and on the heap after; zh_abi_lent_drop frees exactly the heap ones
 * (the ASan build checks that nothing lent is freed and nothing else leaks). */
static void test_lent_lift(zh_component *c) {
  zh_instance *inst = zh_component_instance(c);
  zh_abi_table table = {0};
  _Alignas(8) uint8_t buf[128];
  zh_abi_cx plain = {.store = g_store,
                     .mem = zh_instance_memory(inst, "memory"),
                     .realloc = zh_instance_func(inst, "cabi_realloc"),
                     .table = &table,
                     .what = "lent"},
            cx = plain;
  cx.lend_buf = buf;
  cx.lend_cap = sizeof buf;
  zh_wit_type str = {.kind = ZH_WIT_STRING}, u8 = {.kind = ZH_WIT_U8},
              bytes = {.kind = ZH_WIT_LIST, .elem = &u8},
              strs = {.kind = ZH_WIT_LIST, .elem = &str},
              r_str = {.kind = ZH_WIT_RESULT, .elem = &str, .err = &u8};
  uint32_t p = 0;
  CHECK(zh_abi_alloc(&plain, 8, 128, &p) == NULL);
  uint8_t *m = zh_memory_data(plain.mem);
  memcpy(m + p, "content-typetext/plain and a longer string past the buffer", 58);
  uint32_t desc[4] = {p, 7, p + 12, 10}; /* list<string>: "content", "text/plain" */
  memcpy(m + p + 64, desc, 16);
  zh_value s1[2] = {zh_i32((int32_t)p), zh_i32(12)}, b1[2] = {zh_i32((int32_t)p + 12), zh_i32(10)},
           l1[2] = {zh_i32((int32_t)p + 64), zh_i32(2)},
           r1[3] = {zh_i32(0), zh_i32((int32_t)p), zh_i32(7)},
           big[2] = {zh_i32((int32_t)p), zh_i32(58)};
  struct {
    const zh_wit_type *t;
    const zh_value *flat;
    size_t n;
    bool lent; /* whether the top-level storage is expected in the buffer */
  } cases[] = {{&str, s1, 2, true},   {&bytes, b1, 2, true}, {&strs, l1, 2, false},
               {&r_str, r1, 3, true}, {&str, big, 2, false}, {&bytes, big, 2, false}};
  zh_val lent[6], heap[6];
  for (size_t i = 0; i < 6; i++) {
    zh_abi_lift_plan plan;
    zh_abi_lift_plan_of(cases[i].t, &plan);
    size_t k = 0, k2 = 0;
    CHECK(zh_abi_lift_planned(&cx, &plan, cases[i].flat, cases[i].n, &k, &lent[i]) == NULL);
    CHECK(zh_abi_lift_flat(&plain, cases[i].t, cases[i].flat, cases[i].n, &k2, &heap[i]) == NULL);
    CHECK(zh_val_equal(&lent[i], &heap[i]));
    const void *at = lent[i].kind == ZH_WIT_STRING ? (const void *)lent[i].of.str.data
                     : lent[i].kind == ZH_WIT_LIST
                         ? (lent[i].of.list.raw ? lent[i].of.list.raw : lent[i].of.list.items)
                         : (const void *)lent[i].of.var.payload;
    bool in = (uintptr_t)at >= (uintptr_t)buf && (uintptr_t)at < (uintptr_t)buf + sizeof buf;
    if (in != cases[i].lent)
      fprintf(stderr, "lent lift, case %zu: %s the buffer\n", i, in ? "in" : "not in");
    CHECK(in == cases[i].lent);
  }
  /* the list of strings: its item array on the heap, its strings lent while they fit */
  const zh_val *items = zh_val_list_items(&lent[2]);
  CHECK(items && (uintptr_t)items[0].of.str.data >= (uintptr_t)buf &&
        (uintptr_t)items[0].of.str.data < (uintptr_t)buf + sizeof buf);
  CHECK(cx.lend_len <= cx.lend_cap);
  for (size_t i = 0; i < 6; i++) {
    zh_abi_lent_drop(&cx, &lent[i]);
    CHECK(lent[i].kind == ZH_WIT_BOOL);
    zh_val_drop(&heap[i]);
  }
  zh_abi_table_free(&table);
}

/* ---- values ---- */

static void test_vals(void) {
  zh_val a, b;
  CHECK(zh_val_flags(&a, 100) == NULL);
  zh_val_flag_set(&a, 99, true);
  CHECK(zh_val_flag(&a, 99) && !zh_val_flag(&a, 98) && !zh_val_flag(&a, 100));
  CHECK(zh_val_clone(&a, &b) == NULL && zh_val_equal(&a, &b));
  zh_val_flag_set(&b, 0, true);
  CHECK(!zh_val_equal(&a, &b));
  zh_val_drop(&a);
  zh_val_drop(&b);
  /* raw and item lists of the same numbers are equal */
  int32_t nums[3] = {1, -2, 3};
  zh_val_list_raw(&a, ZH_WIT_S32, nums, 3);
  zh_val_list(&b, 3);
  for (int i = 0; i < 3; i++)
    zh_val_list_items(&b)[i] = zh_val_s32(nums[i]);
  CHECK(zh_val_equal(&a, &b));
  zh_val_drop(&a);
  zh_val_drop(&b);
  zh_error *err = zh_val_list_raw(&a, ZH_WIT_STRING, NULL, 0);
  CHECK(err && zh_error_status(err) == ZH_ERR_USAGE);
  zh_error_free(err);
}

int main(void) {
  make_wit();
  test_vals();
  zh_wit *wit = NULL, *badwit = NULL;
  zh_error *err = zh_wit_parse_string("abi.wit", types_wit, &wit);
  if (!err)
    err = zh_wit_parse_string("bad.wit", bad_wit, &badwit);
  if (err) {
    fprintf(stderr, "WIT: %s\n", zh_error_message(err));
    zh_error_free(err);
    CHECK(!"WIT parses");
    TEST_SUMMARY();
  }
  const zh_wit_package *pkg = zh_wit_root(wit);
  const zh_wit_world *world = zh_wit_find_world(pkg, "guest");
  const zh_wit_world *bworld = zh_wit_find_world(zh_wit_root(badwit), "bad");
  test_layout(zh_wit_find_interface(pkg, "types"));

  zh_engine *engine = NULL;
  world_ctx w = {0};
  CHECK(zh_engine_new(NULL, &engine) == NULL);
  CHECK(zh_store_new(engine, &w.store) == NULL);
  g_store = w.store;
  static const zh_valtype i32 = ZH_I32;
  zh_functype ft = {1, 0, &i32, NULL};
  w.exit_fn = zh_func_new_host(w.store, &ft, proc_exit, NULL);
  zh_module *m = zh_test_load_guest(engine, "abi_types"),
            *bad = zh_test_load_guest(engine, "abi_hostile");
  CHECK(m && bad);
  if (m && bad) {
    host_state hs = {0};
    zh_component *c = bind_world(&w, m, world, &hs);
    CHECK(c != NULL);
    if (c) {
      test_round_trips(c);
      test_resources(c, &hs);
      test_big_flags(c);
      test_planned_lift(c);
      test_planned_store(c);
      test_lent_lift(c);
      test_resource_traps(&w, m, world, &hs);
      test_hostile(&w, bad, bworld, c);
      zh_component_free(c);
    }
  }
  zh_module_free(m);
  zh_module_free(bad);
  zh_store_free(w.store);
  zh_engine_free(engine);
  zh_wit_free(wit);
  zh_wit_free(badwit);
  TEST_SUMMARY();
}
