/* `zerohop bindgen c`: generates bindings for tests/wit/bindgen/wit (world zh:bg/guest) with
 * the built CLI ($ZH_BUILD/zerohop, default build/), compiles them with the guest
 * tests/wit/bindgen/guest.c for wasm32-wasi under -Wall -Wextra -Werror, checks every core
 * import and export against the canonical ABI's names and signatures (zh_abi_signature,
 * zh_abi_export_name), then runs the guest through zh_component: the host calls each export
 * and the guest's `run` calls each import. Also the CLI's error paths. Needs clang. */
#include "testlib.h"
#include "wit/abi.h"
#include "zerohop/component.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *build_dir = "build";
static char tmp[64];
static const char *BG = "tests/wit/bindgen";
static const char *API = "zh:bg/api@1.0.0", *HOST = "zh:bg/host@1.0.0";

/* Runs a shell command; returns its exit status; stderr goes to tmp/err.txt. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  char full[2200];
  snprintf(full, sizeof full, "%s 2>%s/err.txt", cmd, tmp);
  int st = system(full);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if (buf)
    buf[n] = 0;
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* The CLI's stderr of the last run: exactly one line "zerohop: ..." containing `want`. */
static void check_err_line(const char *want) {
  char path[128];
  snprintf(path, sizeof path, "%s/err.txt", tmp);
  size_t n = 0;
  char *s = (char *)slurp(path, &n);
  bool ok = s && strncmp(s, "zerohop: ", 9) == 0 && strstr(s, want) && strchr(s, '\n') &&
            strchr(s, '\n') == s + n - 1;
  if (!ok)
    fprintf(stderr, "stderr was: %s (expected one line with '%s')\n", s ? s : "?", want);
  CHECK(ok);
  free(s);
}

static void test_errors(const char *cli) {
  const char *wit = "tests/wit/bindgen/wit";
  CHECK_EQ_INT(run("%s bindgen c --wit %s --world nope --out %s/x", cli, wit, tmp), 1);
  check_err_line("unknown world 'nope'");
  CHECK_EQ_INT(run("%s bindgen c --wit %s/bad --world w --out %s/x", cli, BG, tmp), 1);
  check_err_line("bad.wit:4:"); /* the parser's file:line:col */
  CHECK_EQ_INT(run("%s bindgen c --wit %s --world guest --out /dev/null/sub", cli, wit), 1);
  check_err_line("/dev/null/sub");
  CHECK_EQ_INT(run("%s bindgen c --wit %s --out %s/x", cli, wit, tmp), 2);
  check_err_line("missing --world");
  CHECK_EQ_INT(run("%s bindgen rust --wit %s --world guest --out %s/x", cli, wit, tmp), 2);
  check_err_line("unsupported language");
  CHECK_EQ_INT(run("%s bindgen c --wit %s --world guest --bogus --out %s/x", cli, wit, tmp), 2);
  check_err_line("unknown option");
  CHECK_EQ_INT(run("%s bindgen --help >/dev/null", cli), 0);
}

/* ---- core names and signatures ---- */

static bool same_sig(const zh_functype *ft, const zh_abi_sig *sig) {
  if (ft->nparams != sig->nparams || ft->nresults != sig->nresults)
    return false;
  for (uint32_t i = 0; i < sig->nparams; i++)
    if (ft->params[i] != sig->params[i])
      return false;
  for (uint32_t i = 0; i < sig->nresults; i++)
    if (ft->results[i] != sig->results[i])
      return false;
  return true;
}

static bool find_import(const zh_module *m, const char *mod, const char *name, zh_functype *ft) {
  for (size_t i = 0; i < zh_module_import_count(m); i++) {
    zh_import_info imp;
    zh_module_import(m, i, &imp);
    if (strcmp(imp.module, mod) == 0 && strcmp(imp.name, name) == 0 && imp.kind == ZH_EXTERN_FUNC) {
      *ft = imp.func;
      return true;
    }
  }
  return false;
}

static bool has_export(const zh_module *m, const char *name, zh_extern_kind kind) {
  for (size_t i = 0; i < zh_module_export_count(m); i++) {
    zh_export_info e;
    zh_module_export(m, i, &e);
    if (strcmp(e.name, name) == 0 && e.kind == kind)
      return true;
  }
  return false;
}

static void check_import(const zh_module *m, const char *mod, const zh_wit_func *f) {
  zh_abi_sig sig;
  zh_abi_signature(f, true, &sig);
  zh_functype ft;
  bool found = find_import(m, mod, f->abi_name, &ft);
  if (!found || !same_sig(&ft, &sig))
    fprintf(stderr, "import %s#%s: %s\n", mod, f->abi_name, found ? "wrong type" : "missing");
  CHECK(found && same_sig(&ft, &sig));
}

static bool owns_memory(const zh_wit_type *t) {
  if (!t)
    return false;
  t = zh_abi_unalias(t);
  if (t->kind == ZH_WIT_STRING || t->kind == ZH_WIT_LIST)
    return true;
  if (owns_memory(t->elem) || owns_memory(t->err))
    return true;
  for (size_t i = 0; i < t->nfields; i++)
    if (owns_memory(t->fields[i].type))
      return true;
  return false;
}

/* Exports: the function with the canonical name and type, cabi_post_ when the result is in
 * memory that holds allocations. Instantiation (zh_component) rechecks the imports. */
static void check_export(const zh_module *m, const char *iface, const zh_wit_func *f) {
  char name[256], post[300];
  CHECK(zh_abi_export_name(iface, f, name, sizeof name));
  snprintf(post, sizeof post, "cabi_post_%s", name);
  zh_abi_sig sig;
  zh_abi_signature(f, false, &sig);
  /* The core type is checked after instantiation (check_export_type). */
  bool found = has_export(m, name, ZH_EXTERN_FUNC);
  if (!found)
    fprintf(stderr, "export %s missing\n", name);
  CHECK(found);
  bool want_post = sig.results_indirect && owns_memory(f->result);
  CHECK_EQ_INT(has_export(m, post, ZH_EXTERN_FUNC), want_post);
}

static void check_export_type(zh_instance *inst, const char *iface, const zh_wit_func *f) {
  char name[256];
  zh_abi_export_name(iface, f, name, sizeof name);
  zh_abi_sig sig;
  zh_abi_signature(f, false, &sig);
  zh_func *fn = zh_instance_func(inst, name);
  zh_functype ft;
  if (fn)
    zh_func_type(fn, &ft);
  if (!fn || !same_sig(&ft, &sig))
    fprintf(stderr, "export %s: wrong core type\n", name);
  CHECK(fn && same_sig(&ft, &sig));
}

/* Every WIT function of the world against the module; returns how many were checked. */
static size_t check_names(const zh_module *m, const zh_wit_world *w) {
  size_t n = 0, wit_imports = 0;
  for (size_t i = 0; i < w->nimports; i++) {
    const zh_wit_world_item *it = &w->imports[i];
    if (it->kind == ZH_WIT_ITEM_FUNC) {
      check_import(m, zh_abi_import_module(NULL), it->func);
      n++;
    } else if (it->kind == ZH_WIT_ITEM_INTERFACE) {
      for (size_t k = 0; k < it->iface->nfuncs; k++, n++)
        check_import(m, it->name, it->iface->funcs[k]);
    }
  }
  for (size_t i = 0; i < w->nexports; i++) {
    const zh_wit_world_item *it = &w->exports[i];
    if (it->kind == ZH_WIT_ITEM_FUNC)
      check_export(m, NULL, it->func), n++;
    else
      for (size_t k = 0; k < it->iface->nfuncs; k++, n++)
        check_export(m, it->name, it->iface->funcs[k]);
  }
  zh_functype ft;
  CHECK(find_import(m, HOST, "[resource-drop]counter", &ft));
  CHECK(ft.nparams == 1 && ft.params[0] == ZH_I32 && ft.nresults == 0);
  CHECK(has_export(m, "cabi_realloc", ZH_EXTERN_FUNC));
  CHECK(has_export(m, "memory", ZH_EXTERN_MEMORY));
  /* Nothing else is imported: WASI or the world's modules only. */
  for (size_t i = 0; i < zh_module_import_count(m); i++) {
    zh_import_info imp;
    zh_module_import(m, i, &imp);
    if (strcmp(imp.module, "wasi_snapshot_preview1") == 0)
      continue;
    wit_imports++;
    bool known = strcmp(imp.module, HOST) == 0 || strcmp(imp.module, "$root") == 0;
    if (!known)
      fprintf(stderr, "unexpected import %s#%s\n", imp.module, imp.name);
    CHECK(known);
  }
  CHECK_EQ_INT(wit_imports, 16); /* 14 host functions, [resource-drop], log-line */
  return n;
}

/* ---- the host side of the world ---- */

typedef struct host {
  uint32_t value[16];
  bool live[16];
  uint32_t n, destroyed, logs;
} host;

static zh_val sval(const char *s) {
  zh_val v;
  zh_val_string_cstr(&v, s);
  return v;
}

static bool is_str(const zh_val *v, const char *s) {
  return v->kind == ZH_WIT_STRING && v->of.str.len == strlen(s) &&
         memcmp(v->of.str.data, s, v->of.str.len) == 0;
}

#define HOST_FN(name)                                                                              \
  static zh_error *name(zh_component *c, void *env, zh_val *a, size_t n, zh_val *r)
#define UNUSED (void)c, (void)env, (void)n, (void)a, (void)r

HOST_FN(h_log) {
  UNUSED;
  host *h = env;
  h->logs += is_str(&a[0], "hello from the guest");
  return NULL;
}
HOST_FN(h_concat) {
  UNUSED;
  char buf[256];
  snprintf(buf, sizeof buf, "%s%s", a[0].of.str.data, a[1].of.str.data);
  *r = sval(buf);
  return NULL;
}
HOST_FN(h_describe) {
  UNUSED;
  zh_val *f = zh_val_fields(&a[0]), *home = zh_val_payload(&f[4]);
  zh_val *nick = zh_val_payload(&f[1]);
  char buf[256];
  snprintf(buf, sizeof buf, "%s/%s/%zu/%u/%d,%d", f[0].of.str.data, nick ? nick->of.str.data : "-",
           zh_val_list_len(&f[2]), (unsigned)f[3].of.u, home ? (int)zh_val_fields(home)[0].of.s : 0,
           home ? (int)zh_val_fields(home)[1].of.s : 0);
  *r = sval(buf);
  return NULL;
}
HOST_FN(h_pick) {
  UNUSED;
  zh_val *p = zh_val_payload(&a[0]), pay;
  switch (zh_val_case(&a[0])) {
  case 4: /* big */
    pay = zh_val_u64(p->of.u + 1);
    return zh_val_ok(r, &pay);
  case 3: { /* label */
    char buf[128];
    snprintf(buf, sizeof buf, "%s!", p->of.str.data);
    pay = sval(buf);
    return zh_val_err(r, &pay);
  }
  case 1:
    pay = zh_val_u64((uint64_t)(p->of.f32 * 10));
    return zh_val_ok(r, &pay);
  default:
    pay = zh_val_u64(0);
    return zh_val_ok(r, &pay);
  }
}
HOST_FN(h_echo_flags) {
  UNUSED;
  zh_val_tuple(r, 3);
  for (int i = 0; i < 3; i++) {
    zh_val_fields(r)[i] = a[i];
    a[i] = zh_val_bool(false); /* moved */
  }
  return NULL;
}
HOST_FN(h_prims) {
  UNUSED;
  double s = a[0].of.b;
  for (int i = 1; i <= 4; i++)
    s += i % 2 ? (double)a[i].of.s : (double)a[i].of.u;
  s += (double)a[5].of.s + (double)a[6].of.u + (double)a[7].of.s + (double)a[8].of.u;
  s += a[9].of.f32 + a[10].of.f64 + a[11].of.ch;
  *r = zh_val_f64(s);
  return NULL;
}
HOST_FN(h_wide) {
  UNUSED;
  uint32_t s = 0;
  for (int i = 0; i < 4; i++)
    s += (uint32_t)zh_val_fields(&a[i])[3].of.u;
  *r = zh_val_u32(s);
  return NULL;
}
HOST_FN(h_checksum) {
  UNUSED;
  size_t len = zh_val_list_len(&a[0]);
  const uint8_t *raw = zh_val_list_raw_data(&a[0]);
  uint32_t s = 0;
  for (size_t i = 0; i < len; i++)
    s += raw ? raw[i] : (uint32_t)zh_val_list_items(&a[0])[i].of.u;
  *r = zh_val_u32(s);
  return NULL;
}
static zh_val new_counter(host *h, uint32_t v) {
  h->value[h->n] = v;
  h->live[h->n] = true;
  return zh_val_own(h->n++);
}
HOST_FN(h_counter_new) {
  UNUSED;
  *r = new_counter(env, (uint32_t)a[0].of.u);
  return NULL;
}
HOST_FN(h_counter_make) {
  UNUSED;
  *r = new_counter(env, (uint32_t)a[0].of.u);
  return NULL;
}
HOST_FN(h_counter_add) {
  UNUSED;
  ((host *)env)->value[a[0].of.res.rep] += (uint32_t)a[1].of.u;
  return NULL;
}
HOST_FN(h_counter_get) {
  UNUSED;
  *r = zh_val_u32(((host *)env)->value[a[0].of.res.rep]);
  return NULL;
}
HOST_FN(h_consume) {
  UNUSED;
  host *h = env;
  CHECK(a[0].kind == ZH_WIT_OWN);
  *r = zh_val_u32(h->value[a[0].of.res.rep] + 100);
  h->live[a[0].of.res.rep] = false;
  h->destroyed++;
  return NULL;
}
static void counter_dtor(void *env, uint64_t rep) {
  host *h = env;
  CHECK(h->live[rep]);
  h->live[rep] = false;
  h->destroyed++;
}

static zh_error *wasi_stub(zh_caller *c, void *env, const zh_value *a, zh_value *r) {
  (void)c, (void)env, (void)a, (void)r;
  return zh_error_new(ZH_ERR_TRAP, "WASI is not provided in this test");
}

static zh_component *bind(zh_store *store, zh_module *m, const zh_wit_world *w, host *h) {
  zh_component *c = NULL;
  zh_error *err = zh_component_new(store, m, w, &c);
  struct {
    const char *iface, *name;
    zh_component_fn fn;
  } defs[] = {
      {HOST, "log", h_log},
      {NULL, "log-line", h_log},
      {HOST, "concat", h_concat},
      {HOST, "describe", h_describe},
      {HOST, "pick", h_pick},
      {HOST, "echo-flags", h_echo_flags},
      {HOST, "prims", h_prims},
      {HOST, "wide", h_wide},
      {HOST, "checksum", h_checksum},
      {HOST, "[constructor]counter", h_counter_new},
      {HOST, "[static]counter.make", h_counter_make},
      {HOST, "[method]counter.add", h_counter_add},
      {HOST, "[method]counter.get", h_counter_get},
      {HOST, "consume", h_consume},
      {HOST, "peek", h_counter_get},
  };
  for (size_t i = 0; i < sizeof defs / sizeof defs[0] && !err; i++)
    err = zh_component_define_import(c, defs[i].iface, defs[i].name, defs[i].fn, h);
  if (!err)
    err = zh_component_define_resource(c, HOST, "counter", counter_dtor, h);
  size_t n = zh_module_import_count(m);
  zh_extern *ext = calloc(n + 1, sizeof *ext);
  for (size_t i = 0; i < n; i++) {
    zh_import_info imp;
    zh_module_import(m, i, &imp);
    if (strcmp(imp.module, "wasi_snapshot_preview1") == 0) {
      ext[i].kind = ZH_EXTERN_FUNC;
      ext[i].of.func = zh_func_new_host(store, &imp.func, wasi_stub, NULL);
    }
  }
  if (!err)
    err = zh_component_instantiate(c, ext, n);
  free(ext);
  zh_func *init = err ? NULL : zh_instance_func(zh_component_instance(c), "_initialize");
  if (init) /* a reactor runs its constructors first */
    err = zh_func_call(store, init, NULL, 0, NULL, 0);
  if (err) {
    fprintf(stderr, "bind: %s\n", zh_error_message(err));
    zh_error_free(err);
    zh_component_free(c);
    return NULL;
  }
  return c;
}

/* Calls an export; *r is the result (dropped by the caller). */
static bool call(zh_component *c, const char *iface, const char *fn, zh_val *args, size_t n,
                 zh_val *r) {
  zh_error *err = zh_component_call(c, iface, fn, args, n, r);
  if (err)
    fprintf(stderr, "%s: %s\n", fn, zh_error_message(err));
  zh_error_free(err);
  for (size_t i = 0; i < n; i++)
    zh_val_drop(&args[i]);
  return err == NULL;
}

static zh_val person(const char *name, const char *nick, uint8_t age, bool home) {
  zh_val p, opt, s;
  zh_val_record(&p, 5);
  zh_val *f = zh_val_fields(&p);
  f[0] = sval(name);
  if (nick) {
    s = sval(nick);
    zh_val_some(&f[1], &s);
  } else {
    f[1] = zh_val_none();
  }
  zh_val_list(&f[2], 2);
  zh_val_list_items(&f[2])[0] = sval("t1");
  zh_val_list_items(&f[2])[1] = sval("");
  f[3] = zh_val_u8(age);
  if (home) {
    zh_val_record(&opt, 2);
    zh_val_fields(&opt)[0] = zh_val_s32(-1);
    zh_val_fields(&opt)[1] = zh_val_s32(9);
    zh_val_some(&f[4], &opt);
  } else {
    f[4] = zh_val_none();
  }
  return p;
}

static zh_val shape(uint32_t which, zh_val payload) {
  zh_val v;
  zh_val_variant(&v, which, which == 0 ? NULL : &payload);
  return v;
}

static void round_trip(zh_component *c, host *h) {
  zh_val a[12], r;
  CHECK(call(c, NULL, "version", a, 0, &r) && is_str(&r, "bindgen-1"));
  zh_val_drop(&r);

  a[0] = person("ann", "annie", 40, true);
  if (call(c, API, "greet", a, 1, &r)) {
    zh_val *f = zh_val_fields(&r);
    CHECK(is_str(&f[0], "hi ann") && is_str(zh_val_payload(&f[1]), "annie"));
    CHECK(zh_val_list_len(&f[2]) == 3 && is_str(&zh_val_list_items(&f[2])[2], "greeted"));
    CHECK(f[3].of.u == 41);
    zh_val *home = zh_val_payload(&f[4]);
    CHECK(home && zh_val_fields(home)[0].of.s == 9 && zh_val_fields(home)[1].of.s == -1);
  } else {
    CHECK(!"greet");
  }
  zh_val_drop(&r);
  a[0] = person("", NULL, 0, false);
  CHECK(call(c, API, "greet", a, 1, &r) && is_str(&zh_val_fields(&r)[0], "hi ") &&
        zh_val_case(&zh_val_fields(&r)[4]) == 0);
  zh_val_drop(&r);

  /* area: every case through a flat variant parameter (i32 tag, joined i64 and i32 slots) */
  a[0] = shape(1, zh_val_f32(2.0f));
  CHECK(call(c, API, "area", a, 1, &r) && zh_val_case(&r) == 0 && zh_val_payload(&r)->of.f64 == 4);
  zh_val_drop(&r);
  zh_val t;
  zh_val_tuple(&t, 2);
  zh_val_fields(&t)[0] = zh_val_u32(6);
  zh_val_fields(&t)[1] = zh_val_u32(7);
  a[0] = shape(2, t);
  CHECK(call(c, API, "area", a, 1, &r) && zh_val_payload(&r)->of.f64 == 42);
  zh_val_drop(&r);
  a[0] = shape(3, sval("lab"));
  CHECK(call(c, API, "area", a, 1, &r) && zh_val_case(&r) == 1 &&
        is_str(zh_val_payload(&r), "lab"));
  zh_val_drop(&r);
  a[0] = shape(4, zh_val_u64(1ull << 50));
  CHECK(call(c, API, "area", a, 1, &r) && zh_val_payload(&r)->of.f64 == (double)(1ull << 50));
  zh_val_drop(&r);
  zh_val some = zh_val_f64(-1.25);
  zh_val_some(&t, &some);
  a[0] = shape(5, t);
  CHECK(call(c, API, "area", a, 1, &r) && zh_val_payload(&r)->of.f64 == -1.25);
  zh_val_drop(&r);
  a[0] = shape(5, zh_val_none());
  CHECK(call(c, API, "area", a, 1, &r) && is_str(zh_val_payload(&r), "maybe not"));
  zh_val_drop(&r);
  a[0] = shape(0, zh_val_none());
  CHECK(call(c, API, "area", a, 1, &r) && is_str(zh_val_payload(&r), "empty"));
  zh_val_drop(&r);

  zh_val_flags(&a[0], 32);
  zh_val_flag_set(&a[0], 0, true);
  zh_val_flag_set(&a[0], 31, true);
  zh_val_flags(&a[1], 3);
  zh_val_flag_set(&a[1], 1, true);
  a[2] = zh_val_enum(2);
  if (call(c, API, "flip", a, 3, &r)) {
    zh_val *f = zh_val_fields(&r);
    CHECK(!zh_val_flag(&f[0], 0) && zh_val_flag(&f[0], 1) && !zh_val_flag(&f[0], 31));
    CHECK(zh_val_flag(&f[1], 0) && !zh_val_flag(&f[1], 1) && zh_val_flag(&f[1], 2));
    CHECK(zh_val_case(&f[2]) == 0);
  } else {
    CHECK(!"flip");
  }
  zh_val_drop(&r);

  /* flags with 40 members: two i32 words in the canonical layout */
  zh_val_flags(&a[0], 40);
  zh_val_flag_set(&a[0], 0, true);
  zh_val_flag_set(&a[0], 33, true);
  zh_val_flag_set(&a[0], 39, true);
  if (call(c, API, "flip-perms", a, 1, &r)) {
    CHECK(!zh_val_flag(&r, 0) && zh_val_flag(&r, 1) && zh_val_flag(&r, 31));
    CHECK(zh_val_flag(&r, 32) && !zh_val_flag(&r, 33) && zh_val_flag(&r, 38));
    CHECK(!zh_val_flag(&r, 39));
  } else {
    CHECK(!"flip-perms");
  }
  zh_val_drop(&r);

  zh_val_list(&a[0], 3);
  zh_val_list_items(&a[0])[0] = zh_val_s64(1);
  zh_val_list_items(&a[0])[1] = zh_val_s64(-2);
  zh_val_list_items(&a[0])[2] = zh_val_s64(3000000000000);
  CHECK(call(c, API, "sum", a, 1, &r) && r.of.s == 2999999999999);
  zh_val_drop(&r);

  some = zh_val_u32(21);
  zh_val_some(&a[0], &some);
  CHECK(call(c, API, "maybe", a, 1, &r) && zh_val_case(&r) == 1 && zh_val_payload(&r)->of.u == 42);
  zh_val_drop(&r);
  a[0] = zh_val_none();
  CHECK(call(c, API, "maybe", a, 1, &r) && zh_val_case(&r) == 0);
  zh_val_drop(&r);

  /* classify: a variant result in the return area, each case */
  static const float xs[] = {-1, 0, 2.5f, 0.5f, 7, 1000};
  static const uint32_t cases[] = {0, 3, 5, 1, 2, 4};
  for (int i = 0; i < 6; i++) {
    a[0] = zh_val_f32(xs[i]);
    bool ok = call(c, API, "classify", a, 1, &r) && zh_val_case(&r) == cases[i];
    zh_val *p = ok ? zh_val_payload(&r) : NULL;
    if (ok && cases[i] == 3)
      ok = is_str(p, "zero");
    if (ok && cases[i] == 5)
      ok = zh_val_payload(p)->of.f64 == 2.5;
    if (ok && cases[i] == 1)
      ok = p->of.f32 == 0.5f;
    if (ok && cases[i] == 2)
      ok = zh_val_fields(p)[0].of.u == 7 && zh_val_fields(p)[1].of.u == 14;
    if (ok && cases[i] == 4)
      ok = p->of.u == 1000ull << 20;
    CHECK(ok);
    zh_val_drop(&r);
  }

  a[0] = zh_val_bool(true), a[1] = zh_val_s8(-128), a[2] = zh_val_u8(254);
  a[3] = zh_val_s16(-300), a[4] = zh_val_u16(65534), a[5] = zh_val_s32(INT32_MIN + 1);
  a[6] = zh_val_u32(4000000000u), a[7] = zh_val_s64(INT64_MIN + 1), a[8] = zh_val_u64(1ull << 63);
  a[9] = zh_val_f32(1.5f), a[10] = zh_val_f64(-3.25), a[11] = zh_val_char(0x1F600);
  if (call(c, API, "prims", a, 12, &r)) {
    zh_val *f = zh_val_fields(&r);
    CHECK(!f[0].of.b && f[1].of.s == 127 && f[2].of.u == 255 && f[3].of.s == -301);
    CHECK(f[4].of.u == 65535 && f[5].of.s == INT32_MIN && f[6].of.u == 4000000001u);
    CHECK(f[7].of.s == INT64_MIN && f[8].of.u == (1ull << 63) + 1 && f[9].of.f32 == 3.0f);
    CHECK(f[10].of.f64 == -6.5 && f[11].of.ch == 0x1F601);
  } else {
    CHECK(!"prims");
  }
  zh_val_drop(&r);

  const char *names[4] = {"a", "bb", "", "dddd"};
  for (int i = 0; i < 4; i++)
    a[i] = person(names[i], i % 2 ? "n" : NULL, (uint8_t)i, i % 2);
  bool ok = call(c, API, "wide", a, 4, &r) && zh_val_list_len(&r) == 4;
  for (int i = 0; ok && i < 4; i++)
    ok = is_str(&zh_val_list_items(&r)[i], names[i]);
  CHECK(ok);
  zh_val_drop(&r);

  a[0] = zh_val_bool(true);
  CHECK(call(c, API, "check", a, 1, &r) && r.kind == ZH_WIT_RESULT && zh_val_case(&r) == 0);
  zh_val_drop(&r);
  a[0] = zh_val_bool(false);
  CHECK(call(c, API, "check", a, 1, &r) && zh_val_case(&r) == 1);
  zh_val_drop(&r);

  /* run: the guest calls every import; one bit per import result it found right */
  CHECK(call(c, API, "run", a, 0, &r));
  CHECK_EQ_INT(r.of.u, 0x1fff);
  zh_val_drop(&r);
  CHECK_EQ_INT(h->logs, 2);
  CHECK_EQ_INT(h->n, 2);
  CHECK_EQ_INT(h->destroyed, 2); /* one consumed, one dropped by the guest */
  CHECK_EQ_INT(zh_component_handle_count(c), 0);
  CHECK(!zh_component_trapped(c));
}

int main(void) {
  const char *b = getenv("ZH_BUILD");
  if (b && *b)
    build_dir = b;
  snprintf(tmp, sizeof tmp, "/tmp/zh_bindgen_XXXXXX");
  if (!mkdtemp(tmp)) {
    CHECK(!"mkdtemp");
    TEST_SUMMARY();
  }
  char cli[512];
  snprintf(cli, sizeof cli, "%s/zerohop", build_dir);
  test_errors(cli);

  CHECK_EQ_INT(run("%s bindgen c --wit %s/wit --world guest --out %s/gen", cli, BG, tmp), 0);
  int cc = run("clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -std=c11 "
               "-Wall -Wextra -Werror -I%s/gen -o %s/guest.wasm %s/gen/guest.c %s/guest.c",
               tmp, tmp, tmp, BG);
  if (cc != 0)
    run("cat %s/err.txt >&2", tmp);
  CHECK_EQ_INT(cc, 0);

  char path[128];
  snprintf(path, sizeof path, "%s/guest.wasm", tmp);
  size_t len = 0;
  uint8_t *bytes = slurp(path, &len);
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_load_dir("tests/wit/bindgen/wit", &wit);
  CHECK(bytes && !err);
  zh_error_free(err);
  zh_engine *engine = NULL;
  zh_store *store = NULL;
  zh_module *m = NULL;
  CHECK(zh_engine_new(NULL, &engine) == NULL && zh_store_new(engine, &store) == NULL);
  if (bytes && wit && (err = zh_module_new(engine, bytes, len, path, &m)) != NULL) {
    fprintf(stderr, "%s\n", zh_error_message(err));
    zh_error_free(err);
  }
  if (m && wit) {
    const zh_wit_world *w = zh_wit_find_world(zh_wit_root(wit), "guest");
    size_t nfuncs = check_names(m, w);
    CHECK_EQ_INT(nfuncs, 27); /* 14 + 1 imported, 11 + 1 exported */
    host h = {0};
    zh_component *c = bind(store, m, w, &h);
    CHECK(c != NULL);
    if (c) {
      for (size_t i = 0; i < w->nexports; i++) {
        const zh_wit_world_item *it = &w->exports[i];
        if (it->kind == ZH_WIT_ITEM_FUNC)
          check_export_type(zh_component_instance(c), NULL, it->func);
        else
          for (size_t k = 0; k < it->iface->nfuncs; k++)
            check_export_type(zh_component_instance(c), it->name, it->iface->funcs[k]);
      }
      round_trip(c, &h);
      zh_component_free(c);
    }
  }
  zh_module_free(m);
  zh_store_free(store);
  zh_engine_free(engine);
  zh_wit_free(wit);
  free(bytes);
  run("rm -rf %s", tmp);
  TEST_SUMMARY();
}
