/* The first call of a large function under lazy compilation (docs/PERFORMANCE.md, 1f).
 *
 * 1. A generated module whose one exported function has a large body (a long dependent
 *    chain of i32 arithmetic on locals, no loop, so running it costs little next to
 *    compiling it): load time lazy and eager, and the time of its first call (compile +
 *    run) and its second call (run only), medians of fresh modules.
 * 2. For each module named on the command line: its largest function bodies compiled on
 *    their own (what their first call adds), against a load of the whole module.
 *
 *   build/bench/first_call [ROUNDS] [MODULE.wasm...]
 */
#include "testutil.h"
#include "wasm/compile.h"
#include "wasm/module.h"
#include "zerohop/engine.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* (i32) -> i32 "big": `steps` rounds of local arithmetic over four locals, then their sum. */
static zh_test_buf big_module(uint32_t steps) {
  zh_test_buf body = {0}, m = {0}, s = {0};
  zh_test_put(&body, "\x01\x04\x7f", 3); /* four i32 locals */
  for (uint32_t i = 0; i < steps; i++) {
    uint8_t dst = (uint8_t)(1 + i % 4), src = (uint8_t)(1 + (i + 1) % 4);
    /* local[dst] = (local[src] ^ param) + (i & 127) */
    zh_test_put(
        &body, (uint8_t[]){0x20, src, 0x20, 0x00, 0x73, 0x41, (uint8_t)(i & 0x3f), 0x6a, 0x21, dst},
        10);
  }
  zh_test_put(&body, "\x20\x01\x20\x02\x6a\x20\x03\x6a\x20\x04\x6a\x0b", 12);
  zh_test_put(&m, "\0asm\1\0\0\0", 8);
  zh_test_put(&s, "\x01\x60\x01\x7f\x01\x7f", 6);
  zh_test_put_byte(&m, 1), zh_test_put_u32(&m, (uint32_t)s.n), zh_test_put(&m, s.b, s.n);
  zh_test_put(&m, "\x03\x02\x01\x00", 4);
  zh_test_put(&m,
              "\x07\x07\x01\x03"
              "big\x00\x00",
              9);
  s.n = 0;
  zh_test_put_u32(&s, 1);
  zh_test_put_u32(&s, (uint32_t)body.n);
  zh_test_put(&s, body.b, body.n);
  zh_test_put_byte(&m, 10), zh_test_put_u32(&m, (uint32_t)s.n), zh_test_put(&m, s.b, s.n);
  free(body.b);
  free(s.b);
  return m;
}

static zh_engine *engine(bool eager) {
  zh_engine_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.eager_compile = eager;
  zh_engine *e = NULL;
  zh_error *err = zh_engine_new(&cfg, &e);
  if (err) {
    fprintf(stderr, "first_call: %s\n", zh_error_message(err));
    exit(1);
  }
  return e;
}

static void die_on(zh_error *err, const char *what) {
  if (err) {
    fprintf(stderr, "first_call: %s: %s\n", what, zh_error_message(err));
    exit(1);
  }
}

static void synthetic(int rounds) {
  const uint32_t steps = 100000;
  zh_test_buf mod = big_module(steps);
  double *load_lazy = calloc((size_t)rounds, sizeof(double));
  double *load_eager = calloc((size_t)rounds, sizeof(double));
  double *first = calloc((size_t)rounds, sizeof(double));
  double *second = calloc((size_t)rounds, sizeof(double));
  double *eager_call = calloc((size_t)rounds, sizeof(double));
  if (!load_lazy || !load_eager || !first || !second || !eager_call) {
    fprintf(stderr, "first_call: out of memory\n");
    exit(1);
  }
  int32_t check = 0;
  for (int r = 0; r < rounds; r++) {
    for (int eager = 0; eager < 2; eager++) {
      zh_engine *e = engine(eager);
      zh_module *m = NULL;
      double t0 = now_ms();
      die_on(zh_module_new(e, mod.b, mod.n, "big", &m), "load");
      double t1 = now_ms();
      zh_store *s = NULL;
      zh_instance *inst = NULL;
      die_on(zh_store_new(e, &s), "store");
      die_on(zh_instance_new(s, m, NULL, 0, &inst), "instance");
      zh_func *f = zh_instance_func(inst, "big");
      zh_value a = zh_i32(r), res;
      double t2 = now_ms();
      die_on(zh_func_call(s, f, &a, 1, &res, 1), "first call");
      double t3 = now_ms();
      die_on(zh_func_call(s, f, &a, 1, &res, 1), "second call");
      double t4 = now_ms();
      if (r == 0 && eager == 0)
        check = res.of.i32;
      else if (r == 0 && res.of.i32 != check) {
        fprintf(stderr, "first_call: lazy and eager results differ\n");
        exit(1);
      }
      (eager ? load_eager : load_lazy)[r] = t1 - t0;
      if (eager) {
        eager_call[r] = t3 - t2;
      } else {
        first[r] = t3 - t2;
        second[r] = t4 - t3;
      }
      zh_store_free(s);
      zh_module_free(m);
      zh_engine_free(e);
    }
  }
  printf("bench: first-call one function of %zu KB (%u steps), %d rounds, medians:\n", mod.n / 1024,
         steps, rounds);
  printf("bench: first-call   load lazy %.2f ms, eager %.2f ms\n", median(load_lazy, rounds),
         median(load_eager, rounds));
  printf("bench: first-call   first call lazy %.2f ms (compile + run), second %.2f ms; first "
         "call eager %.2f ms\n",
         median(first, rounds), median(second, rounds), median(eager_call, rounds));
  free(load_lazy);
  free(load_eager);
  free(first);
  free(second);
  free(eager_call);
  free(mod.b);
}

static bool read_file(const char *path, uint8_t **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return false;
  bool ok = fseek(f, 0, SEEK_END) == 0;
  long n = ok ? ftell(f) : -1;
  ok = ok && n > 0 && fseek(f, 0, SEEK_SET) == 0;
  *data = ok ? malloc((size_t)n) : NULL;
  ok = *data && fread(*data, 1, (size_t)n, f) == (size_t)n;
  fclose(f);
  *len = ok ? (size_t)n : 0;
  return ok;
}

/* The largest bodies of a real module, each compiled alone, against loading it whole. */
static void real(const char *path, int rounds) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  if (!read_file(path, &bytes, &len)) {
    fprintf(stderr, "first_call: cannot read %s\n", path);
    exit(1);
  }
  double *load = calloc((size_t)rounds, sizeof(double));
  double *comp = calloc((size_t)rounds, sizeof(double));
  if (!load || !comp)
    exit(1);
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  uint32_t big = 0, nbodies = 0;
  size_t big_len = 0, code = 0;
  for (int r = 0; r < rounds; r++) {
    zh_engine *e = engine(false);
    zh_module *m = NULL;
    double t0 = now_ms();
    die_on(zh_module_new(e, bytes, len, path, &m), "load");
    load[r] = now_ms() - t0;
    if (r == 0)
      nbodies = m->nbodies;
    if (r == 0)
      for (uint32_t i = 0; i < m->nbodies; i++) {
        size_t n = (size_t)(m->bodies[i].end - m->bodies[i].code);
        code += n;
        if (n > big_len) {
          big_len = n;
          big = i;
        }
      }
    zh_error *err = NULL;
    double t1 = now_ms();
    if (!zh_code_compile(m->code[big], &err))
      die_on(err, "compile");
    comp[r] = now_ms() - t1;
    zh_module_free(m);
    zh_engine_free(e);
  }
  printf("bench: first-call %s: %u functions, %.1f MB of code, load (lazy) %.1f ms; its largest "
         "function (%zu KB) compiles in %.2f ms; medians of %d\n",
         base, nbodies, (double)code / 1e6, median(load, rounds), big_len / 1024,
         median(comp, rounds), rounds);
  free(load);
  free(comp);
  free(bytes);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 11;
  if (rounds < 1)
    rounds = 1;
  synthetic(rounds);
  for (int i = 2; i < argc; i++)
    real(argv[i], rounds);
  return 0;
}
