/* Link plans (zerohop/link.h, zh_link_plan_*): the one-copy adapter whose callee is found per
 * call. The caller's side is link_a's memory and cabi_realloc (tests/guests/link_a.c), the
 * callee link_b (tests/guests/link_b.c) in a store of its own, made by the resolve callback
 * on first use, as a component dependency's instance is. Checked: a byte-exact round trip
 * across the two stores, a hostile caller refused before the callee is even made, a callee
 * that breaks the ABI reported as the callee's fault, and a type mismatch refused by
 * zh_link_plan_new. Needs `make guests`; the build directory comes from $ZH_BUILD. */
#include "testlib.h"
#include "testutil.h"
#include "zerohop/link.h"

#include <stdint.h>

#define API "t:link/api@1.0.0"

static const char wit_text[] = "package t:link@1.0.0;\n"
                               "interface api {\n"
                               "  echo-bytes: func(b: list<u8>) -> list<u8>;\n"
                               "  echo-string: func(s: string) -> string;\n"
                               "  nop: func() -> u32;\n"
                               "}\n";

static zh_error *no_wasi(zh_caller *c, void *env, const zh_value *a, zh_value *r) {
  (void)c, (void)env, (void)a, (void)r;
  return zh_error_new(ZH_ERR_TRAP, "unexpected call");
}

/* Instantiates m in s with every import a stub that traps. */
static zh_instance *inst(zh_store *s, const zh_module *m) {
  size_t n = zh_module_import_count(m);
  zh_extern ext[64];
  memset(ext, 0, sizeof ext);
  for (size_t i = 0; i < n && i < 64; i++) {
    zh_import_info imp;
    zh_module_import(m, i, &imp);
    if (imp.kind == ZH_EXTERN_FUNC) {
      ext[i].kind = ZH_EXTERN_FUNC;
      ext[i].of.func = zh_func_new_host(s, &imp.func, no_wasi, NULL);
    }
  }
  zh_instance *i = NULL;
  zh_error *err = zh_instance_new(s, m, ext, n, &i);
  if (err) {
    fprintf(stderr, "instantiate: %s\n", zh_error_message(err));
    zh_error_free(err);
  }
  return i;
}

/* The callee, made on the first call as a dependency's instance is. */
typedef struct callee {
  zh_engine *engine;
  const zh_module *mb;
  zh_store *store;
  zh_instance *b;
  const char *export_name; /* which core export implements the function */
  int resolved;            /* how many times the adapter asked */
} callee;

static zh_error *resolve(void *env, zh_link_target *out) {
  callee *c = env;
  c->resolved++;
  if (!c->b) {
    zh_error *err = zh_store_new(c->engine, &c->store);
    if (err)
      return err;
    if (!(c->b = inst(c->store, c->mb)))
      return zh_error_new(ZH_ERR_TRAP, "cannot instantiate the callee");
  }
  char post[128];
  snprintf(post, sizeof post, "cabi_post_%s", c->export_name);
  *out = (zh_link_target){
      c->store, zh_instance_memory(c->b, "memory"),     zh_instance_func(c->b, "cabi_realloc"),
      NULL,     zh_instance_func(c->b, c->export_name), zh_instance_func(c->b, post)};
  return NULL;
}

/* n bytes in A's memory through its own cabi_realloc; the offset, or 0. */
static uint32_t a_alloc(zh_store *s, zh_instance *a, uint32_t n) {
  zh_value args[4] = {zh_i32(0), zh_i32(0), zh_i32(1), zh_i32((int32_t)n)}, r = zh_i32(0);
  zh_error *err = zh_func_call(s, zh_instance_func(a, "cabi_realloc"), args, 4, &r, 1);
  CHECK(err == NULL);
  zh_error_free(err);
  return (uint32_t)r.of.i32;
}

static void expect(zh_error *err, const char *part) {
  CHECK(err != NULL);
  bool found = err && strstr(zh_error_message(err), part) != NULL;
  if (!found)
    fprintf(stderr, "  want `%s`, got `%s`\n", part, err ? zh_error_message(err) : "(none)");
  CHECK(found);
  zh_error_free(err);
}

int main(void) {
  zh_engine *engine = NULL;
  CHECK(zh_engine_new(NULL, &engine) == NULL);
  zh_module *ma = zh_test_load_guest(engine, "link_a");
  zh_module *mb = zh_test_load_guest(engine, "link_b");
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_parse_string("plan.wit", wit_text, &wit);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK(ma && mb && wit);
  if (!ma || !mb || !wit) {
    zh_wit_free(wit);
    zh_module_free(ma);
    zh_module_free(mb);
    zh_engine_free(engine);
    TEST_SUMMARY();
  }
  const zh_wit_interface *api = zh_wit_find_interface(zh_wit_root(wit), "api");
  const zh_wit_func *bytes_f = zh_wit_interface_func(api, "echo-bytes");
  const zh_wit_func *string_f = zh_wit_interface_func(api, "echo-string");

  /* a mismatch is refused when the plan is made, in zh_link_check's words */
  zh_link_plan *plan = NULL;
  expect(zh_link_plan_new(API, bytes_f, string_f, &plan), "cannot link " API "#echo-bytes");
  CHECK(plan == NULL);

  CHECK(zh_link_plan_new(API, bytes_f, bytes_f, &plan) == NULL);
  CHECK(plan && strcmp(zh_link_plan_name(plan), API "#echo-bytes") == 0);
  zh_store *sa = NULL;
  CHECK(zh_store_new(engine, &sa) == NULL);
  zh_instance *a = inst(sa, ma);
  CHECK(a != NULL);
  callee cal = {engine, mb, NULL, NULL, API "#echo-bytes", 0};
  if (plan && a) {
    bool no_leave = false;
    zh_link_caller side = {sa, zh_instance_memory(a, "memory"), zh_instance_func(a, "cabi_realloc"),
                           &no_leave};
    /* every byte value, 3000 of them, across and back, byte-exact */
    enum { N = 3000 };
    uint32_t in = a_alloc(sa, a, N), ret = a_alloc(sa, a, 8);
    uint8_t *am = zh_memory_data(side.memory);
    for (uint32_t i = 0; i < N; i++)
      am[in + i] = (uint8_t)(i * 31 + (i >> 8));
    zh_value args[3] = {zh_i32((int32_t)in), zh_i32(N), zh_i32((int32_t)ret)};
    zh_link_stats st = {0, true};
    err = zh_link_plan_call(plan, &side, resolve, &cal, args, NULL, &st);
    CHECK(err == NULL);
    zh_error_free(err);
    CHECK_EQ_INT(cal.resolved, 1);
    CHECK(!st.callee_fault);
    CHECK_EQ_INT((int)st.bytes, 2 * N); /* in and back out */
    am = zh_memory_data(side.memory);
    uint32_t out_ptr, out_len;
    memcpy(&out_ptr, am + ret, 4);
    memcpy(&out_len, am + ret + 4, 4);
    CHECK_EQ_INT((int)out_len, N);
    CHECK(out_ptr != in); /* a copy of A's own, from A's cabi_realloc */
    bool same = out_len == N;
    for (uint32_t i = 0; same && i < N; i++)
      same = am[out_ptr + i] == (uint8_t)(i * 31 + (i >> 8));
    CHECK(same);
    CHECK(!no_leave); /* set only while A's cabi_realloc ran */

    /* a hostile caller: a list past the end of its memory traps naming the caller, and the
     * callee is not even asked for */
    callee fresh = {engine, mb, NULL, NULL, API "#echo-bytes", 0};
    zh_value bad[3] = {zh_i32((int32_t)0xfffff000), zh_i32(0x2000), zh_i32((int32_t)ret)};
    expect(zh_link_plan_call(plan, &side, resolve, &fresh, bad, NULL, &st),
           API "#echo-bytes: list from the caller at 0xfffff000");
    CHECK_EQ_INT(fresh.resolved, 0);
    CHECK(fresh.b == NULL);
    CHECK(!st.callee_fault);

    /* a callee whose core function does not have the canonical signature: its fault */
    cal.export_name = API "#nop";
    expect(zh_link_plan_call(plan, &side, resolve, &cal, args, NULL, &st),
           "the callee's core function has the wrong signature");
    CHECK(st.callee_fault);

    /* a callee that returns a string past the end of its memory (link_b mode 3) */
    zh_link_plan *sp = NULL;
    CHECK(zh_link_plan_new(API, string_f, string_f, &sp) == NULL);
    cal.export_name = API "#echo-string";
    zh_value mode = zh_i32(3);
    err = zh_func_call(cal.store, zh_instance_func(cal.b, "set_mode"), &mode, 1, NULL, 0);
    CHECK(err == NULL);
    zh_error_free(err);
    memcpy(am + in, "hello", 5);
    zh_value sargs[3] = {zh_i32((int32_t)in), zh_i32(5), zh_i32((int32_t)ret)};
    expect(zh_link_plan_call(sp, &side, resolve, &cal, sargs, NULL, &st),
           API "#echo-string: string from the callee at");
    CHECK(st.callee_fault);
    zh_link_plan_free(sp);
    zh_store_free(fresh.store);
  }
  zh_link_plan_free(plan);
  zh_store_free(cal.store);
  zh_store_free(sa);
  zh_wit_free(wit);
  zh_module_free(ma);
  zh_module_free(mb);
  zh_engine_free(engine);
  TEST_SUMMARY();
}
