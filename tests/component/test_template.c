/* Component templates (zh_cm_template_*): stamped instances behave like fully instantiated
 * ones, and each copy's state is its own.
 *
 * - The component-model suite's values/ and resources/ components: every argument-less
 *   assertion of the suite (results and traps) holds in stamped copies, round after round
 *   with rollback between, and in two copies alive at once (a trap in one, which poisons
 *   it, leaves the other working).
 * - Real components built by jco (build/components, see docs/COMPONENTS.md): c-args runs
 *   1000 times from one template with its own argv each time; 4 threads stamp at once;
 *   js-hello (componentize-js) answers HTTP requests from stamped copies.
 */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/cm.h"
#include "zerohop/wasip2.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static zh_engine *engine;

#define SUITE "../shared/testsuites/component-model/json"

/* ---- the suite's components ---- */

/* An argument-less invocation and what the suite expects of it. */
typedef struct expect {
  const char *field;
  bool trap;
  const char *type; /* of the single result, or NULL for none */
  const char *value;
} expect;

static bool int_type(const char *t) {
  static const char *const k[] = {"u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "bool"};
  for (size_t i = 0; i < sizeof k / sizeof *k; i++)
    if (!strcmp(t, k[i]))
      return true;
  return false;
}

static bool same(const zh_val *v, const expect *x) {
  if (!x->type)
    return true;
  if (!strcmp(x->type, "bool"))
    return v->of.b == !strcmp(x->value, "true");
  char buf[32];
  if (x->type[0] == 's')
    snprintf(buf, sizeof buf, "%lld", (long long)v->of.s);
  else
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v->of.u);
  return !strcmp(buf, x->value);
}

/* Runs the assertions on one copy; returns how many held. */
static int run_expects(zh_cm_instance *in, const expect *xs, size_t n, const char *file) {
  int ok = 0;
  for (size_t i = 0; i < n; i++) {
    zh_cm_func *f = zh_cm_instance_func(in, NULL, xs[i].field);
    zh_val res;
    zh_error *err = f ? zh_cm_func_call(in, f, NULL, 0, &res) : NULL;
    bool good = f && (xs[i].trap ? err != NULL : err == NULL && same(&res, &xs[i]));
    if (!good)
      fprintf(stderr, "%s: %s: %s\n", file, xs[i].field, err ? zh_error_message(err) : "wrong");
    ok += good;
    if (f && !err)
      zh_val_drop(&res);
    zh_error_free(err);
  }
  return ok;
}

/* Stamps `rounds` pairs of copies of `tpl` into `store` and checks the assertions on both. */
static void check_copies(const zh_cm_template *tpl, zh_store *store, const expect *xs, size_t n,
                         int rounds, const char *file) {
  int held = 0, want = 0;
  zh_mark mark = zh_store_mark(store);
  for (int r = 0; r < rounds; r++) {
    zh_cm_instance *a = NULL, *b = NULL;
    zh_error *err = zh_cm_template_instantiate(tpl, store, NULL, &a);
    if (!err)
      err = zh_cm_template_instantiate(tpl, store, NULL, &b);
    CHECK(err == NULL);
    zh_error_free(err);
    if (a && b) {
      held += run_expects(a, xs, n, file);
      held += run_expects(b, xs, n, file);
      want += 2 * (int)n;
    }
    zh_cm_instance_free(b);
    zh_cm_instance_free(a);
    err = zh_store_release_to(store, mark);
    CHECK(err == NULL);
    zh_error_free(err);
  }
  CHECK_EQ_INT(held, want);
}

static int suite_components, suite_assertions, suite_skipped;

/* One suite file: each component (or component_instance) with the argument-less assertions
 * that follow it. */
static void suite_file(const char *dir, const char *name, int rounds) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/%s", SUITE, dir, name);
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  CHECK(root != NULL);
  if (!root)
    return;
  json_t *cmds = json_object_get(root, "commands");
  const char *def_file = NULL;
  size_t nc = json_array_size(cmds);
  expect *xs = calloc(nc + 1, sizeof *xs);
  zh_store *store = NULL;
  zh_error *err = zh_store_new(engine, &store);
  CHECK(err == NULL);
  for (size_t i = 0; i < nc && store; i++) {
    json_t *c = json_array_get(cmds, i);
    const char *type = json_string_value(json_object_get(c, "type"));
    if (!strcmp(type, "component_definition")) {
      def_file = json_string_value(json_object_get(c, "filename"));
      continue;
    }
    if (strcmp(type, "component") != 0 && strcmp(type, "component_instance") != 0)
      continue;
    const char *file =
        !strcmp(type, "component") ? json_string_value(json_object_get(c, "filename")) : def_file;
    if (!file)
      continue;
    size_t n = 0;
    for (size_t j = i + 1; j < nc; j++) {
      json_t *a = json_array_get(cmds, j);
      const char *t = json_string_value(json_object_get(a, "type"));
      if (!strncmp(t, "component", 9))
        break;
      json_t *act = json_object_get(a, "action");
      bool trap = !strcmp(t, "assert_trap");
      if ((strcmp(t, "assert_return") != 0 && !trap) ||
          json_array_size(json_object_get(act, "args")))
        continue;
      json_t *exp = json_object_get(a, "expected");
      expect x = {json_string_value(json_object_get(act, "field")), trap, NULL, NULL};
      if (!trap && json_array_size(exp) == 1) {
        x.type = json_string_value(json_object_get(json_array_get(exp, 0), "type"));
        x.value = json_string_value(json_object_get(json_array_get(exp, 0), "value"));
        if (!x.type || !x.value || !int_type(x.type))
          continue;
      } else if (!trap && json_array_size(exp) > 1) {
        continue;
      }
      if (x.field)
        xs[n++] = x;
    }
    if (!n)
      continue;
    snprintf(path, sizeof path, "%s/%s/%s", SUITE, dir, file);
    uint8_t *bytes = NULL;
    size_t len = 0;
    zh_cm_component *comp = NULL;
    zh_cm_template *tpl = NULL;
    if (!zh_test_read_file(path, &bytes, &len) ||
        (err = zh_cm_component_new(engine, bytes, len, file, &comp)) != NULL ||
        (err = zh_cm_template_new(NULL, comp, &tpl)) != NULL) {
      /* Components the suite expects to instantiate with imports, or that the template
       * machinery refuses (ZH_ERR_USAGE), are instantiated fully elsewhere. */
      suite_skipped++;
      zh_error_free(err);
      err = NULL;
    } else {
      suite_components++;
      suite_assertions += (int)n;
      check_copies(tpl, store, xs, n, rounds, file);
    }
    zh_cm_template_free(tpl);
    zh_cm_component_free(comp);
    free(bytes);
  }
  zh_store_free(store);
  zh_error_free(err);
  free(xs);
  json_decref(root);
}

static void test_suite(void) {
  static const char *const files[][2] = {{"resources", "handle-table.json"},
                                         {"resources", "borrows.json"},
                                         {"resources", "multiple-resources.json"},
                                         {"values", "post-return.json"},
                                         {"values", "realloc.json"},
                                         {"values", "strings.json"},
                                         {"values", "numerics.json"},
                                         {"values", "variants.json"},
                                         {"values", "alignment.json"},
                                         {"values", "concat.json"},
                                         {"values", "transcode.json"}};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    suite_file(files[i][0], files[i][1], i == 0 ? 500 : 20); /* 500 pairs: 1000 copies */
  printf("template: %d suite components, %d assertions each round, %d skipped\n", suite_components,
         suite_assertions, suite_skipped);
  CHECK(suite_components >= 5);
}

/* ---- real components ---- */

static zh_cm_component *load_component(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/components/%s.wasm", zh_test_build_dir(), name);
  uint8_t *bytes = NULL;
  size_t len = 0;
  zh_cm_component *comp = NULL;
  if (!zh_test_read_file(path, &bytes, &len)) {
    fprintf(stderr, "%s missing: make components (see docs/COMPONENTS.md)\n", path);
    return NULL;
  }
  zh_error *err = zh_cm_component_new(engine, bytes, len, name, &comp);
  if (err)
    fprintf(stderr, "%s: %s\n", name, zh_error_message(err));
  zh_error_free(err);
  free(bytes);
  return comp;
}

static zh_cm_template *wasi_template(zh_cm_component *comp) {
  zh_cm_linker *linker = NULL;
  zh_cm_template *tpl = NULL;
  zh_error *err = zh_cm_linker_new(&linker);
  if (!err)
    err = zh_wasip2_define_linker(linker);
  if (!err)
    err = zh_cm_template_new(linker, comp, &tpl);
  if (err)
    fprintf(stderr, "template: %s\n", zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  zh_cm_linker_free(linker);
  return tpl;
}

/* Runs c-args from a copy with argv {"c-args", arg}; true if it printed that argument. */
static bool run_args(const zh_cm_template *tpl, zh_store *store, const char *arg) {
  const char *argv[] = {"c-args", arg};
  zh_wasip2_config c = {.argv = argv, .argc = 2};
  c.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  zh_error *err = NULL;
  zh_wasip2_ctx *cx = zh_wasip2_new(&c, &err);
  zh_cm_instance *in = NULL;
  zh_mark mark = zh_store_mark(store);
  if (!err)
    err = zh_cm_template_instantiate(tpl, store, cx, &in);
  zh_wasip2_set_store(cx, store);
  zh_cm_func *run = in ? zh_cm_instance_func(in, "wasi:cli/run@0.2.0", "run") : NULL;
  zh_val res = zh_val_bool(false);
  if (!err && run)
    err = zh_cm_func_call(in, run, NULL, 0, &res);
  bool ok = !err && run && res.of.var.disc == 0;
  if (err)
    fprintf(stderr, "c-args: %s\n", zh_error_message(err));
  char want[128];
  snprintf(want, sizeof want, "argc=2\nargv[0]=c-args\nargv[1]=%s\n", arg);
  size_t n = 0;
  const char *out = cx ? zh_wasip2_stdout_captured(cx, &n) : NULL;
  ok = ok && out && n == strlen(want) && !memcmp(out, want, n);
  zh_val_drop(&res);
  zh_error_free(err);
  zh_cm_instance_free(in);
  zh_wasip2_free(cx);
  err = zh_store_release_to(store, mark);
  ok = ok && !err;
  zh_error_free(err);
  return ok;
}

static void test_c_args(zh_cm_template *tpl) {
  zh_store *store = NULL;
  zh_error *err = zh_store_new(engine, &store);
  CHECK(err == NULL);
  zh_error_free(err);
  int ok = 0;
  for (int i = 0; i < 1000 && store; i++) {
    char arg[32];
    snprintf(arg, sizeof arg, "copy-%d", i);
    ok += run_args(tpl, store, arg);
  }
  CHECK_EQ_INT(ok, 1000);
  zh_store_free(store);
}

typedef struct worker {
  const zh_cm_template *tpl;
  int id, ok;
} worker;

static void *work(void *p) {
  worker *w = p;
  zh_store *store = NULL;
  zh_error *err = zh_store_new(engine, &store);
  zh_error_free(err);
  for (int i = 0; i < 100 && store; i++) {
    char arg[32];
    snprintf(arg, sizeof arg, "thread-%d-%d", w->id, i);
    w->ok += run_args(w->tpl, store, arg);
  }
  zh_store_free(store);
  return NULL;
}

static void test_threads(const zh_cm_template *tpl) {
  worker w[4];
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){tpl, i, 0};
    CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    CHECK_EQ_INT(w[i].ok, 100);
  }
}

/* ---- js-hello over the incoming handler ---- */

typedef struct resp {
  int status;
  char body[256];
  size_t len;
} resp;

static zh_error *io_read(void *req, void *buf, size_t cap, size_t *got, bool *eof) {
  (void)req, (void)buf, (void)cap;
  *got = 0;
  *eof = true;
  return NULL;
}

static zh_error *io_start(void *req, int status, const zh_wasip2_header *h, size_t n) {
  (void)h, (void)n;
  ((resp *)req)->status = status;
  return NULL;
}

static zh_error *io_write(void *req, const void *data, size_t len) {
  resp *r = req;
  size_t k = len < sizeof r->body - 1 - r->len ? len : sizeof r->body - 1 - r->len;
  memcpy(r->body + r->len, data, k);
  r->len += k;
  return NULL;
}

static zh_error *io_finish(void *req, const zh_wasip2_header *t, size_t n) {
  (void)req, (void)t, (void)n;
  return NULL;
}

static void test_js_hello(void) {
  zh_cm_component *comp = load_component("js-hello");
  if (!comp) { /* the name rule that lets wasi:http components load comes with another branch */
    printf("template: js-hello SKIPPED: not built, or it does not load in this tree\n");
    return;
  }
  zh_cm_template *tpl = comp ? wasi_template(comp) : NULL;
  zh_store *store = NULL;
  zh_error *err = zh_store_new(engine, &store);
  zh_error_free(err);
  static const zh_wasip2_http_io io = {io_read, io_start, io_write, io_finish};
  int ok = 0, rounds = 100;
  char first[256] = "";
  for (int i = 0; i < rounds && tpl && store; i++) {
    zh_mark mark = zh_store_mark(store);
    zh_wasip2_ctx *cx = zh_wasip2_new(NULL, &err);
    zh_cm_instance *in = NULL;
    if (!err)
      err = zh_cm_template_instantiate(tpl, store, cx, &in);
    zh_wasip2_set_store(cx, store);
    resp r = {0};
    zh_wasip2_request rq = {"GET", "/", "http", "localhost", NULL, 0};
    uint64_t req = 0, outp = 0;
    if (!err)
      err = zh_wasip2_incoming(cx, &rq, &io, &r, &req, &outp);
    zh_cm_func *h =
        in ? zh_cm_instance_func(in, "wasi:http/incoming-handler@0.2.0", "handle") : NULL;
    zh_val args[2] = {zh_val_own(req), zh_val_own(outp)}, res = zh_val_bool(false);
    if (!err && h)
      err = zh_cm_func_call(in, h, args, 2, &res);
    int status = 0;
    bool set = cx && zh_wasip2_response_status(cx, &status);
    if (err)
      fprintf(stderr, "js-hello: %s\n", zh_error_message(err));
    if (i == 0)
      snprintf(first, sizeof first, "%s", r.body);
    /* Every copy answers as the first did: 200 with the same non-empty body. */
    ok +=
        !err && h && set && status == 200 && r.status == 200 && r.len > 0 && !strcmp(first, r.body);
    zh_val_drop(&res);
    zh_error_free(err);
    err = NULL;
    zh_cm_instance_free(in);
    zh_wasip2_free(cx);
    err = zh_store_release_to(store, mark);
    CHECK(err == NULL);
    zh_error_free(err);
    err = NULL;
  }
  CHECK_EQ_INT(ok, rounds);
  zh_store_free(store);
  zh_cm_template_free(tpl);
  zh_cm_component_free(comp);
}

int main(void) {
  zh_error *err = zh_engine_new(NULL, &engine);
  CHECK(err == NULL);
  if (err)
    TEST_SUMMARY();
  test_suite();
  zh_cm_component *args = load_component("c-args");
  if (!args) /* `make components` builds them with the pinned npm toolchains */
    printf("template: c-args SKIPPED: not built\n");
  zh_cm_template *tpl = args ? wasi_template(args) : NULL;
  if (tpl) {
    test_c_args(tpl);
    test_threads(tpl);
  }
  zh_cm_template_free(tpl);
  zh_cm_component_free(args);
  test_js_hello();
  zh_engine_free(engine);
  TEST_SUMMARY();
}
