/* Instantiation benchmark. Builds, by hand-encoding the binary format, a module with one
 * memory of 17 pages whose data segment initialises 1 MiB, and an exported function that reads
 * a byte of it. Then times ITERS cycles of zh_store_new, zh_template_instantiate (the part
 * timed) and zh_store_free, and, as the reference, REF_ITERS plain zh_instance_new of the same
 * module, which must copy the segment each time.
 *
 *   instantiate [ITERS] (default 2000)
 *
 * The last line is "bench: instantiate median X.X us". */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasm_bytes.h"
#include "zerohop/engine.h"

#define DATA_SIZE (1u << 20) /* 1 MiB of initialised data */
#define DATA_OFFSET 4096u    /* where the segment lands in memory */
#define MEM_PAGES 17u        /* 16 pages of data and one more */
#define REF_ITERS 200

/* (module
 *   (type (func (param i32) (result i32)))
 *   (func (export "peek") (type 0) (i32.load8_u (local.get 0)))
 *   (memory (export "memory") 17)
 *   (data (i32.const 4096) "...1 MiB..."))  */
static buf build_module(void) {
  buf m = {0}, s = {0};
  put(&m, "\0asm\1\0\0\0", 8);

  /* type section: one func type (i32) -> (i32) */
  uleb(&s, 1);
  byte(&s, 0x60);
  uleb(&s, 1);
  byte(&s, ZH_I32);
  uleb(&s, 1);
  byte(&s, ZH_I32);
  section(&m, 1, &s);

  /* function section: func 0 has type 0 */
  uleb(&s, 1);
  uleb(&s, 0);
  section(&m, 3, &s);

  /* memory section: min 17 pages, no max */
  uleb(&s, 1);
  byte(&s, 0x00);
  uleb(&s, MEM_PAGES);
  section(&m, 5, &s);

  /* export section */
  uleb(&s, 2);
  uleb(&s, 4);
  put(&s, "peek", 4);
  byte(&s, ZH_EXTERN_FUNC);
  uleb(&s, 0);
  uleb(&s, 6);
  put(&s, "memory", 6);
  byte(&s, ZH_EXTERN_MEMORY);
  uleb(&s, 0);
  section(&m, 7, &s);

  /* code section */
  static const uint8_t body[] = {
      0x00,             /* no locals */
      0x20, 0x00,       /* local.get 0 */
      0x2d, 0x00, 0x00, /* i32.load8_u align=0 offset=0 */
      0x0b,             /* end */
  };
  uleb(&s, 1);
  uleb(&s, sizeof body);
  put(&s, body, sizeof body);
  section(&m, 10, &s);

  /* data section: one active segment for memory 0 */
  uleb(&s, 1);
  uleb(&s, 0);    /* flags 0: active, memory 0 */
  byte(&s, 0x41); /* i32.const DATA_OFFSET */
  sleb(&s, DATA_OFFSET);
  byte(&s, 0x0b);
  uleb(&s, DATA_SIZE);
  for (uint32_t i = 0; i < DATA_SIZE; i++)
    byte(&s, noise(i));
  section(&m, 11, &s);

  free(s.p);
  return m;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double percentile(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_double);
  return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

static void check(zh_error *err, const char *what) {
  if (err) {
    fprintf(stderr, "instantiate: %s: %s: %s\n", what, zh_status_text(zh_error_status(err)),
            zh_error_message(err));
    zh_error_free(err);
    exit(1);
  }
}

/* The instance must see the segment: a few bytes through the export and through memory. */
static void verify(zh_store *store, zh_instance *inst) {
  zh_func *peek = zh_instance_func(inst, "peek");
  zh_memory *mem = zh_instance_memory(inst, "memory");
  if (!peek || !mem || zh_memory_size(mem) != (size_t)MEM_PAGES * 65536) {
    fprintf(stderr, "instantiate: exports missing or memory of the wrong size\n");
    exit(1);
  }
  static const uint32_t probes[] = {0, 1, 4095, 65536, DATA_SIZE / 2, DATA_SIZE - 1};
  for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    uint32_t at = probes[i];
    zh_value arg = zh_i32((int32_t)(DATA_OFFSET + at)), res;
    check(zh_func_call(store, peek, &arg, 1, &res, 1), "call peek");
    if (res.of.i32 != noise(at) || zh_memory_data(mem)[DATA_OFFSET + at] != noise(at)) {
      fprintf(stderr, "instantiate: wrong byte at data offset %u\n", at);
      exit(1);
    }
  }
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
  if (iters < 1) {
    fprintf(stderr, "usage: instantiate [ITERS]\n");
    return 2;
  }
  buf wasm = build_module();

  zh_engine *engine;
  zh_module *module;
  zh_template *tpl;
  check(zh_engine_new(NULL, &engine), "engine");
  check(zh_module_new(engine, wasm.p, wasm.len, "instantiate-bench", &module), "module");
  free(wasm.p);
  check(zh_template_new(engine, module, NULL, 0, &tpl), "template");

  double *t = malloc(sizeof(double) * (size_t)(iters > REF_ITERS ? iters : REF_ITERS));
  if (!t) {
    fprintf(stderr, "instantiate: out of memory\n");
    return 1;
  }

  /* Reference: ordinary instantiation, which runs the data segment every time. */
  for (long i = 0; i < REF_ITERS; i++) {
    zh_store *store;
    zh_instance *inst;
    check(zh_store_new(engine, &store), "store");
    double t0 = now_us();
    check(zh_instance_new(store, module, NULL, 0, &inst), "instance_new");
    t[i] = now_us() - t0;
    if (i == 0)
      verify(store, inst);
    zh_store_free(store);
  }
  double ref_median = percentile(t, REF_ITERS, 0.5);

  for (long i = 0; i < iters; i++) {
    zh_store *store;
    zh_instance *inst;
    check(zh_store_new(engine, &store), "store");
    double t0 = now_us();
    check(zh_template_instantiate(tpl, store, &inst), "template_instantiate");
    t[i] = now_us() - t0;
    if (i == 0 || i == iters - 1)
      verify(store, inst);
    zh_store_free(store);
  }
  double median = percentile(t, (size_t)iters, 0.5);
  double p90 = percentile(t, (size_t)iters, 0.9);
  double p99 = percentile(t, (size_t)iters, 0.99);

  printf("instantiate: module with %u pages and a %u KiB data segment, %ld cycles\n", MEM_PAGES,
         DATA_SIZE / 1024, iters);
  printf("instantiate: zh_instance_new median %.1f us (reference, %d cycles)\n", ref_median,
         REF_ITERS);
  printf("instantiate: template p90 %.1f us, p99 %.1f us; %.0fx faster than zh_instance_new\n", p90,
         p99, median > 0 ? ref_median / median : 0.0);
  printf("bench: instantiate median %.1f us\n", median);

  free(t);
  zh_template_free(tpl);
  zh_module_free(module);
  zh_engine_free(engine);
  return 0;
}
