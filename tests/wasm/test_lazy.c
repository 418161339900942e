/* Lazy compilation and parallel validation on a generated large module: errors deep in it
 * are reported at load exactly as sequential validation words them, whatever the number of
 * validating threads; bodies compile on first call only, once when several threads call
 * them first together; traps, stack exhaustion and template instances behave as with
 * eager compilation. */
#include "testlib.h"
#include "testutil.h"
#include "wasm/compile.h"
#include "wasm/module.h"
#include "zerohop/engine.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Functions in the generated module, and `i32.const 1; i32.add` pairs in each body. Together
 * about 1.3 MB of code: past the size where validation goes parallel by itself. */
#define NFUNCS 3000
#define ADDS 140

/* A u32 in exactly 5 bytes, so that a section's size can be written before its content. */
static void put_u32_5(zh_test_buf *o, uint32_t x) {
  for (int i = 0; i < 5; i++, x >>= 7)
    zh_test_put_byte(o, (uint8_t)((x & 0x7f) | (i < 4 ? 0x80 : 0)));
}

/* What to break in the generated module. */
typedef struct defects {
  uint32_t invalid_func;             /* its body adds an i64 to an i32; 0: none */
  uint32_t malformed_func;           /* its body holds the unknown opcode 0xff; 0: none */
  uint32_t invalid_at, malformed_at; /* out: file offsets of those instructions */
} defects;

/* Function i < NFUNCS-1 returns f(i+1)(x + ADDS); the last returns x + ADDS, so f0(x) is
 * x + ADDS * NFUNCS. Then: "div" (x) -> 100 / x, called through "call_div", so a
 * zero traps two frames deep; "down" (x) -> down(x + 1), which only ends by exhausting the
 * stack. Exports: f0, call_div, down. */
static zh_test_buf build(defects *d) {
  zh_test_buf mod = {0}, s = {0};
  zh_test_put(&mod, "\0asm\1\0\0\0", 8);
  zh_test_put_u32(&s, 1); /* types: (i32) -> i32 */
  zh_test_put(&s, "\x60\x01\x7f\x01\x7f", 5);
  zh_test_section(&mod, 1, &s);
  s.n = 0;
  uint32_t nall = NFUNCS + 3, f_div = NFUNCS, f_call_div = NFUNCS + 1, f_down = NFUNCS + 2;
  zh_test_put_u32(&s, nall);
  for (uint32_t i = 0; i < nall; i++)
    zh_test_put_byte(&s, 0);
  zh_test_section(&mod, 3, &s);
  s.n = 0;
  zh_test_put_u32(&s, 3);
  zh_test_put(&s,
              "\x02"
              "f0\x00\x00",
              5);
  zh_test_put(&s,
              "\x08"
              "call_div\x00",
              10);
  zh_test_put_u32(&s, f_call_div);
  zh_test_put(&s,
              "\x04"
              "down\x00",
              6);
  zh_test_put_u32(&s, f_down);
  zh_test_section(&mod, 7, &s);
  s.n = 0;

  /* The code section's size is written last, in 5 bytes, so that offsets are known. */
  zh_test_put_byte(&mod, 10);
  size_t size_at = mod.n;
  put_u32_5(&mod, 0);
  zh_test_put_u32(&mod, nall);
  zh_test_buf body = {0};
  for (uint32_t i = 0; i < nall; i++) {
    body.n = 0;
    zh_test_put_byte(&body, 0); /* no locals */
    uint32_t invalid = 0, malformed = 0;
    if (i < NFUNCS) {
      zh_test_put(&body, "\x20\x00", 2); /* local.get 0 */
      for (int k = 0; k < ADDS; k++) {
        if (d->invalid_func && i == d->invalid_func && k == ADDS / 2) {
          zh_test_put(&body, "\x42\x01", 2); /* i64.const 1 */
          invalid = (uint32_t)body.n;
          zh_test_put_byte(&body, 0x6a);         /* i32.add of an i64: invalid */
          zh_test_put(&body, "\x1a\x41\x01", 3); /* drop; i32.const 1 */
        } else if (d->malformed_func && i == d->malformed_func && k == ADDS / 2) {
          malformed = (uint32_t)body.n;
          zh_test_put(&body, "\xff\x41\x01", 3); /* no such opcode */
        } else {
          zh_test_put(&body, "\x41\x01", 2); /* i32.const 1 */
        }
        zh_test_put_byte(&body, 0x6a); /* i32.add */
      }
      if (i + 1 < NFUNCS) {
        zh_test_put_byte(&body, 0x10); /* call i+1 */
        zh_test_put_u32(&body, i + 1);
      }
    } else if (i == f_div) {
      zh_test_put(&body, "\x41\xe4\x00\x20\x00\x6d", 6); /* i32.const 100; local.get 0; i32.div_s */
    } else if (i == f_call_div) {
      zh_test_put(&body, "\x20\x00\x10", 3);
      zh_test_put_u32(&body, f_div);
    } else {
      zh_test_put(&body, "\x20\x00\x41\x01\x6a\x10",
                  6); /* local.get 0; i32.const 1; i32.add; call */
      zh_test_put_u32(&body, f_down);
    }
    zh_test_put_byte(&body, 0x0b);
    zh_test_put_u32(&mod, (uint32_t)body.n);
    if (invalid)
      d->invalid_at = (uint32_t)(mod.n + invalid);
    if (malformed)
      d->malformed_at = (uint32_t)(mod.n + malformed);
    zh_test_put(&mod, body.b, body.n);
  }
  uint32_t code_size = (uint32_t)(mod.n - size_at - 5);
  zh_test_buf fix = {0};
  put_u32_5(&fix, code_size);
  memcpy(mod.b + size_at, fix.b, 5);
  free(fix.b);
  free(body.b);
  free(s.b);
  return mod;
}

static zh_engine *engine_with(uint32_t threads, bool eager) {
  zh_engine_config cfg = {0};
  cfg.validate_threads = threads;
  cfg.eager_compile = eager;
  zh_engine *e = NULL;
  zh_error *err = zh_engine_new(&cfg, &e);
  CHECK(err == NULL);
  zh_error_free(err);
  return e;
}

/* Loads `mod` with 1, 2, 3 and 8 validating threads, lazily and eagerly: every load fails
 * with `status` and the message of the single-threaded one, which names `func` and the
 * offset `at`. */
static void check_load_error(const zh_test_buf *mod, zh_status status, uint32_t func, uint32_t at) {
  char want_func[32], want_off[32];
  snprintf(want_func, sizeof want_func, "function %u ", func);
  snprintf(want_off, sizeof want_off, "at offset 0x%x:", at);
  char *first = NULL;
  const uint32_t threads[] = {1, 2, 3, 8, 0};
  for (int eager = 0; eager < 2; eager++)
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
      zh_engine *e = engine_with(threads[t], eager);
      zh_module *m = NULL;
      zh_error *err = zh_module_new(e, mod->b, mod->n, "big.wasm", &m);
      CHECK(err != NULL && m == NULL);
      if (err && getenv("ZH_TEST_VERBOSE"))
        fprintf(stderr, "%s\n", zh_error_message(err));
      if (err) {
        const char *msg = zh_error_message(err);
        CHECK_EQ_INT(zh_error_status(err), status);
        CHECK(strstr(msg, want_func) != NULL);
        CHECK(strstr(msg, want_off) != NULL);
        if (!first)
          first = strdup(msg);
        else if (strcmp(first, msg) != 0) {
          fprintf(stderr, "threads %u eager %d: %s\n  expected: %s\n", threads[t], eager, msg,
                  first);
          CHECK(!"the same message whatever the threads");
        }
      }
      zh_error_free(err);
      zh_module_free(m);
      zh_engine_free(e);
    }
  free(first);
}

static void test_load_errors(void) {
  /* A type error near the end, where the last validating thread finds it. */
  defects d = {.invalid_func = NFUNCS - 7};
  zh_test_buf mod = build(&d);
  check_load_error(&mod, ZH_ERR_INVALID, d.invalid_func, d.invalid_at);
  free(mod.b);
  /* One early, where the first thread finds it. */
  d = (defects){.invalid_func = 5};
  mod = build(&d);
  check_load_error(&mod, ZH_ERR_INVALID, d.invalid_func, d.invalid_at);
  free(mod.b);
  /* A malformed body late wins over a type error early, as in the reference interpreter
   * (which decodes everything before validating): the threads that find the type error
   * first do not get to report it. */
  d = (defects){.invalid_func = 10, .malformed_func = NFUNCS - 3};
  mod = build(&d);
  check_load_error(&mod, ZH_ERR_MALFORMED, d.malformed_func, d.malformed_at);
  free(mod.b);
}

/* ---- running ---- */

typedef struct runner {
  const zh_module *m;
  zh_engine *e;
  int32_t arg;
  int32_t result;
  bool ok;
} runner;

static void *run_f0(void *arg) {
  runner *r = arg;
  zh_store *s = NULL;
  zh_instance *inst = NULL;
  r->ok = false;
  if (zh_store_new(r->e, &s))
    return NULL;
  zh_error *err = zh_instance_new(s, r->m, NULL, 0, &inst);
  if (!err) {
    zh_value a = zh_i32(r->arg), res;
    err = zh_func_call(s, zh_instance_func(inst, "f0"), &a, 1, &res, 1);
    if (!err) {
      r->result = res.of.i32;
      r->ok = true;
    }
  }
  zh_error_free(err);
  zh_store_free(s);
  return NULL;
}

static bool compiled(const zh_module *m, uint32_t func) {
  const zh_code *c = m->code[func - m->nfunc_imports];
  return atomic_load(&c->ops) != (const uint8_t *)&c->stub;
}

static uint32_t count_compiled(const zh_module *m) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->nbodies; i++)
    n += compiled(m, m->nfunc_imports + i);
  return n;
}

/* Eight threads, each with its own store and instance, make the first calls of the whole
 * chain together; all get the right sum and each body is compiled. */
static void test_concurrent_first_calls(zh_engine *e, const zh_module *m) {
  enum { N = 8 };
  runner r[N];
  pthread_t t[N];
  CHECK_EQ_INT(count_compiled(m), 0);
  for (int i = 0; i < N; i++) {
    r[i] = (runner){.m = m, .e = e, .arg = i * 1000};
    CHECK(pthread_create(&t[i], NULL, run_f0, &r[i]) == 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    CHECK(r[i].ok);
    CHECK_EQ_INT(r[i].result, i * 1000 + ADDS * NFUNCS);
  }
  CHECK_EQ_INT(count_compiled(m), NFUNCS); /* the chain, and nothing else */
  CHECK(!compiled(m, NFUNCS));
}

/* A trap in a body compiled on that call, with the backtrace through both new bodies. */
static void test_trap(zh_engine *e, const zh_module *m) {
  zh_store *s = NULL;
  zh_instance *inst = NULL;
  CHECK(zh_store_new(e, &s) == NULL);
  CHECK(zh_instance_new(s, m, NULL, 0, &inst) == NULL);
  if (!inst) {
    zh_store_free(s);
    return;
  }
  zh_func *f = zh_instance_func(inst, "call_div");
  zh_value a = zh_i32(0), res;
  zh_error *err = zh_func_call(s, f, &a, 1, &res, 1);
  CHECK(err && zh_error_status(err) == ZH_ERR_TRAP);
  CHECK(err && zh_error_trap(err) == ZH_TRAP_INT_DIV_ZERO);
  char frame0[64], frame1[64];
  snprintf(frame0, sizeof frame0, "#0 wasm function %u", NFUNCS);
  snprintf(frame1, sizeof frame1, "#1 wasm function %u", NFUNCS + 1);
  CHECK(err && strstr(zh_error_message(err), frame0) != NULL);
  CHECK(err && strstr(zh_error_message(err), frame1) != NULL);
  zh_error_free(err);
  /* Compiled now, and the same code answers the next call. */
  CHECK(compiled(m, NFUNCS) && compiled(m, NFUNCS + 1));
  a = zh_i32(7);
  err = zh_func_call(s, f, &a, 1, &res, 1);
  CHECK(err == NULL && res.of.i32 == 100 / 7);
  zh_error_free(err);
  /* Endless recursion through a body compiled on its first call still ends as exhaustion. */
  a = zh_i32(0);
  err = zh_func_call(s, zh_instance_func(inst, "down"), &a, 1, &res, 1);
  CHECK(err && zh_error_status(err) == ZH_ERR_EXHAUSTION);
  zh_error_free(err);
  zh_store_free(s);
}

/* An instance from a template runs the module's code objects: what was compiled stays, and
 * what it calls first is compiled once, for every later instance too. */
static void test_template(zh_engine *e, const zh_module *m) {
  zh_template *tpl = NULL;
  CHECK(zh_template_new(e, m, NULL, 0, &tpl) == NULL);
  if (!tpl)
    return;
  const zh_code *c0 = m->code[0];
  const uint8_t *ops0 = atomic_load(&c0->ops);
  for (int round = 0; round < 2; round++) {
    zh_store *s = NULL;
    zh_instance *inst = NULL;
    CHECK(zh_store_new(e, &s) == NULL);
    CHECK(zh_template_instantiate(tpl, s, &inst) == NULL);
    if (inst) {
      zh_value a = zh_i32(5), res;
      zh_error *err = zh_func_call(s, zh_instance_func(inst, "f0"), &a, 1, &res, 1);
      CHECK(err == NULL && res.of.i32 == 5 + ADDS * NFUNCS);
      zh_error_free(err);
    }
    CHECK(atomic_load(&c0->ops) == ops0); /* not compiled again */
    zh_store_free(s);
  }
  zh_template_free(tpl);
}

static void test_running(bool eager) {
  defects none = {0};
  zh_test_buf mod = build(&none);
  zh_engine *e = engine_with(0, eager);
  zh_module *m = NULL;
  zh_error *err = zh_module_new(e, mod.b, mod.n, "big.wasm", &m);
  CHECK(err == NULL);
  zh_error_free(err);
  if (m) {
    CHECK_EQ_INT(count_compiled(m), eager ? NFUNCS + 3 : 0);
    if (eager) {
      runner r = {.m = m, .e = e, .arg = 3};
      run_f0(&r);
      CHECK(r.ok && r.result == 3 + ADDS * NFUNCS);
    } else {
      test_concurrent_first_calls(e, m);
    }
    test_trap(e, m);
    test_template(e, m);
  }
  zh_module_free(m);
  zh_engine_free(e);
  free(mod.b);
}

/* A module over the caller's bytes: it runs from them, and freeing it leaves them alone (ASan
 * would see a double free otherwise). */
static void test_view(void) {
  defects none = {0};
  zh_test_buf mod = build(&none);
  zh_engine *e = engine_with(0, false);
  zh_module *m = NULL;
  zh_error *err = zh_module_new_view(e, mod.b, mod.n, "big.wasm", &m);
  CHECK(err == NULL && m != NULL);
  zh_error_free(err);
  if (m) {
    CHECK(m->bytes == mod.b);
    runner r = {.m = m, .e = e, .arg = 1};
    run_f0(&r);
    CHECK(r.ok && r.result == 1 + ADDS * NFUNCS);
  }
  zh_module_free(m);
  zh_engine_free(e);
  free(mod.b);
}

int main(void) {
  /* The engines here choose lazy or eager themselves; ZH_EAGER=1 would make them all eager. */
  unsetenv("ZH_EAGER");
  test_view();
  test_load_errors();
  test_running(false);
  test_running(true);
  TEST_SUMMARY();
}
