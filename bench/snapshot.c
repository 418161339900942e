/* Group snapshot benchmark: what one per-request copy of a pre-initialised group costs.
 *
 * Each case builds a group of four linked instances in the shape of a component's core
 * instances: a shim that defines a table, a main module with a large initialised memory
 * and thousands of functions, an adapter that imports the main memory, and a fixup that
 * writes adapter functions into the shim's table. It snapshots the group, then times ITERS
 * cycles of zh_snapshot_instantiate into one long-lived store with zh_store_release_to
 * after each (as a server worker does), and, as the reference measured in the same run,
 * plain instantiation of the same group (zh_instance_new four times, which copies every
 * data segment).
 *
 * Cases: "synthetic" (a generated main module: 4000 functions, 8 MiB of data), and, when
 * a path is given, "starlingmonkey": componentize-js's StarlingMonkey core module as the
 * main module (its 81 imports stubbed by one host function), with 8 MiB written into its
 * memory before the snapshot, like a pre-initialised JS heap.
 *
 *   snapshot [ITERS [STARLINGMONKEY.wasm]]     (ITERS defaults to 2000)
 *
 * The last line is "snapshot: instantiate median X.X us" for the largest case. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wasm_bytes.h"
#include "zerohop/engine.h"

#define MAIN_FUNCS 4000u
#define DATA_BYTES (8u << 20)
#define ADAPTER_FUNCS 64u
#define REF_ITERS 50

static void die(const char *what) {
  fprintf(stderr, "snapshot: %s\n", what);
  exit(1);
}

/* (module (type (func (result i32))) (func (result i32) (i32.const k)) x MAIN_FUNCS
 *   (table (export "tab") MAIN_FUNCS funcref) (elem (i32.const 0) all functions)
 *   (memory (export "mem") pages) (data (i32.const 65536) DATA_BYTES of noise)
 *   (export "f0" (func 0)))  */
static buf build_main(void) {
  buf m = {0}, s = {0};
  put(&m, "\0asm\1\0\0\0", 8);
  uleb(&s, 1);
  put(&s, "\x60\x00\x01\x7f", 4);
  section(&m, 1, &s);
  uleb(&s, MAIN_FUNCS);
  for (uint32_t i = 0; i < MAIN_FUNCS; i++)
    uleb(&s, 0);
  section(&m, 3, &s);
  uleb(&s, 1); /* table: funcref, min = max = MAIN_FUNCS */
  byte(&s, 0x70);
  byte(&s, 0x01);
  uleb(&s, MAIN_FUNCS);
  uleb(&s, MAIN_FUNCS);
  section(&m, 4, &s);
  uleb(&s, 1);
  byte(&s, 0x00);
  uleb(&s, DATA_BYTES / 65536 + 2);
  section(&m, 5, &s);
  uleb(&s, 3);
  name(&s, "tab");
  byte(&s, 1);
  uleb(&s, 0);
  name(&s, "mem");
  byte(&s, 2);
  uleb(&s, 0);
  name(&s, "f0");
  byte(&s, 0);
  uleb(&s, 0);
  section(&m, 7, &s);
  uleb(&s, 1); /* elem: active, table 0, offset 0, every function */
  byte(&s, 0x00);
  put(&s, "\x41\x00\x0b", 3);
  uleb(&s, MAIN_FUNCS);
  for (uint32_t i = 0; i < MAIN_FUNCS; i++)
    uleb(&s, i);
  section(&m, 9, &s);
  uleb(&s, MAIN_FUNCS);
  for (uint32_t i = 0; i < MAIN_FUNCS; i++) {
    buf body = {0};
    byte(&body, 0x00); /* no locals */
    byte(&body, 0x41);
    uleb(&body, i & 0x3f); /* small: one-byte sleb */
    byte(&body, 0x0b);
    uleb(&s, body.len);
    put(&s, body.p, body.len);
    free(body.p);
  }
  section(&m, 10, &s);
  uleb(&s, 1);
  byte(&s, 0x00);
  put(&s, "\x41\x80\x80\x04\x0b", 5); /* i32.const 65536 */
  uleb(&s, DATA_BYTES);
  for (uint32_t i = 0; i < DATA_BYTES; i++)
    byte(&s, noise(i));
  section(&m, 11, &s);
  free(s.p);
  return m;
}

/* WAT text -> bytes, through wabt's wat2wasm. */
static buf wat2wasm(const char *wat) {
  char dir[] = "/tmp/zh-bench-snapXXXXXX";
  if (!mkdtemp(dir))
    die("mkdtemp failed");
  char src[64], bin[64], cmd[256];
  snprintf(src, sizeof src, "%s/m.wat", dir);
  snprintf(bin, sizeof bin, "%s/m.wasm", dir);
  FILE *f = fopen(src, "w");
  if (!f)
    die("cannot write a temporary file");
  fputs(wat, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "wat2wasm %s -o %s", src, bin);
  if (system(cmd) != 0)
    die("wat2wasm failed");
  buf out = {0};
  f = fopen(bin, "rb");
  uint8_t chunk[65536];
  size_t n;
  while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
    put(&out, chunk, n);
  if (f)
    fclose(f);
  unlink(src);
  unlink(bin);
  rmdir(dir);
  return out;
}

/* The adapter: imports the main memory, f0 and a host function; ADAPTER_FUNCS functions
 * that read memory. The fixup: writes them into the first table slots. */
static char *adapter_wat(void) {
  size_t cap = 64 * 1024;
  char *w = malloc(cap);
  if (!w)
    die("out of memory");
  int n = snprintf(w, cap,
                   "(module (import \"m\" \"mem\" (memory 1)) (import \"env\" \"h\" (func "
                   "(result i32)))\n");
  for (uint32_t i = 0; i < ADAPTER_FUNCS; i++)
    n += snprintf(w + n, cap - (size_t)n,
                  "(func (export \"a%u\") (result i32) (i32.add (i32.load (i32.const %u)) (call "
                  "0)))\n",
                  i, 65536 + 4 * i);
  snprintf(w + n, cap - (size_t)n, ")");
  return w;
}

static char *fixup_wat(void) {
  size_t cap = 64 * 1024;
  char *w = malloc(cap);
  if (!w)
    die("out of memory");
  int n = snprintf(w, cap, "(module (import \"s\" \"tab\" (table 1 funcref))\n");
  for (uint32_t i = 0; i < ADAPTER_FUNCS; i++)
    n +=
        snprintf(w + n, cap - (size_t)n, "(import \"a\" \"a%u\" (func $a%u (result i32)))\n", i, i);
  n += snprintf(w + n, cap - (size_t)n, "(elem (table 0) (i32.const 0) func");
  for (uint32_t i = 0; i < ADAPTER_FUNCS; i++)
    n += snprintf(w + n, cap - (size_t)n, " $a%u", i);
  snprintf(w + n, cap - (size_t)n, "))");
  return w;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  int i = (int)(p * (n - 1) + 0.5);
  return v[i];
}

static void check(zh_error *err, const char *what) {
  if (!err)
    return;
  fprintf(stderr, "snapshot: %s: %s\n", what, zh_error_message(err));
  exit(1);
}

static zh_error *stub(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller;
  (void)env;
  (void)args;
  (void)results; /* results come preset to zero of their types */
  return NULL;
}

typedef struct group_def {
  const char *label;
  const char *mem_name; /* main's memory export */
  zh_module *shim, *main, *adapter, *fixup;
  uint32_t extra_bytes; /* written into main's memory after instantiation */
} group_def;

static zh_func *host_for(zh_store *s, const zh_functype *ft) {
  zh_func *f = zh_func_new_host(s, ft, stub, NULL);
  if (!f)
    die("cannot create a host function");
  return f;
}

/* Instantiates the group in `s`; host functions go to `hs`, which outlives it. */
static void instantiate_group(const group_def *g, zh_store *s, zh_store *hs, zh_instance *out[4]) {
  check(zh_instance_new(s, g->shim, NULL, 0, &out[0]), "instantiate shim");
  out++;
  size_t ni = zh_module_import_count(g->main);
  zh_extern *imps = calloc(ni ? ni : 1, sizeof *imps);
  if (!imps)
    die("out of memory");
  for (size_t i = 0; i < ni; i++) {
    zh_import_info info;
    zh_module_import(g->main, i, &info);
    if (info.kind != ZH_EXTERN_FUNC)
      die("main module imports something other than functions");
    imps[i].kind = ZH_EXTERN_FUNC;
    imps[i].of.func = host_for(hs, &info.func);
  }
  check(zh_instance_new(s, g->main, imps, ni, &out[0]), "instantiate main");
  free(imps);
  static const zh_valtype r[] = {ZH_I32};
  zh_functype ft = {0, 1, NULL, r};
  zh_extern ai[2];
  if (!zh_instance_export(out[0], g->mem_name, &ai[0]))
    die("main module exports no memory of that name");
  ai[1] = (zh_extern){ZH_EXTERN_FUNC, {.func = host_for(hs, &ft)}};
  check(zh_instance_new(s, g->adapter, ai, 2, &out[1]), "instantiate adapter");
  zh_extern fi[1 + ADAPTER_FUNCS];
  zh_instance_export(out[-1], "tab", &fi[0]);
  for (uint32_t i = 0; i < ADAPTER_FUNCS; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "a%u", i);
    fi[1 + i] = (zh_extern){ZH_EXTERN_FUNC, {.func = zh_instance_func(out[1], nm)}};
  }
  check(zh_instance_new(s, g->fixup, fi, 1 + ADAPTER_FUNCS, &out[2]), "instantiate fixup");
}

/* Returns the stamp median in microseconds. */
static double run_case(zh_engine *engine, const group_def *g, int iters) {
  zh_store *hs, *ss, *s;
  check(zh_store_new(engine, &hs), "store");
  check(zh_store_new(engine, &ss), "store");
  check(zh_store_new(engine, &s), "store");
  zh_instance *orig[4];
  instantiate_group(g, ss, hs, orig);
  zh_memory *mem = zh_instance_memory(orig[1], g->mem_name);
  if (g->extra_bytes) {
    if (!mem)
      die("main module exports no \"memory\"");
    uint32_t old;
    check(zh_memory_grow(mem, g->extra_bytes / 65536 + 1, &old), "grow main memory");
    uint8_t *base = zh_memory_data(mem) + (size_t)old * 65536;
    for (uint32_t i = 0; i < g->extra_bytes; i++)
      base[i] = noise(i);
  }
  double mem_mib = mem ? (double)zh_memory_size(mem) / (1 << 20) : 0;
  zh_snapshot *snap;
  double t0 = now_us();
  check(zh_snapshot_new(ss, orig, 4, &snap), "snapshot");
  double snap_ms = (now_us() - t0) / 1e3;

  double *stamp = malloc(sizeof(double) * (size_t)iters);
  double *cycle = malloc(sizeof(double) * (size_t)iters);
  double *plain = malloc(sizeof(double) * REF_ITERS);
  if (!stamp || !cycle || !plain)
    die("out of memory");
  for (int i = 0; i < iters; i++) {
    zh_mark m = zh_store_mark(s);
    zh_instance *c[4];
    double a = now_us();
    check(zh_snapshot_instantiate(snap, s, c), "stamp");
    double b = now_us();
    check(zh_store_release_to(s, m), "release");
    double e = now_us();
    stamp[i] = b - a;
    cycle[i] = e - a;
  }
  /* Cold: each copy into a new store, so no released block is there to reuse. */
  double *cold = malloc(sizeof(double) * REF_ITERS * 4);
  if (!cold)
    die("out of memory");
  for (int i = 0; i < REF_ITERS * 4; i++) {
    zh_store *cs;
    check(zh_store_new(engine, &cs), "store");
    zh_instance *c[4];
    double a = now_us();
    check(zh_snapshot_instantiate(snap, cs, c), "stamp");
    cold[i] = now_us() - a;
    zh_store_free(cs);
  }
  for (int i = 0; i < REF_ITERS; i++) {
    zh_mark m = zh_store_mark(s);
    zh_instance *c[4];
    double a = now_us();
    instantiate_group(g, s, s, c);
    check(zh_store_release_to(s, m), "release");
    plain[i] = now_us() - a;
  }
  double med = pct(stamp, iters, 0.5), p99 = pct(stamp, iters, 0.99);
  double cmed = pct(cycle, iters, 0.5), pmed = pct(plain, REF_ITERS, 0.5);
  printf("snapshot: %s: 4 instances (shim, main, adapter, fixup), %.1f MiB main memory; "
         "snapshot_new %.1f ms\n",
         g->label, mem_mib, snap_ms);
  printf("snapshot: %s: stamp median %.1f us, p99 %.1f us; stamp+release median %.1f us; "
         "plain instantiate median %.1f us (%.0fx the stamp)\n",
         g->label, med, p99, cmed, pmed, pmed / med);
  printf("snapshot: %s: cold stamp (fresh store each time) median %.1f us\n", g->label,
         pct(cold, REF_ITERS * 4, 0.5));
  free(cold);
  free(stamp);
  free(cycle);
  free(plain);
  zh_snapshot_free(snap);
  zh_store_free(s);
  zh_store_free(hs);
  return med;
}

static zh_module *load(zh_engine *engine, const uint8_t *p, size_t len, const char *nm) {
  zh_module *m;
  check(zh_module_new(engine, p, len, nm, &m), nm);
  return m;
}

static zh_module *load_wat(zh_engine *engine, char *wat, const char *nm) {
  buf b = wat2wasm(wat);
  free(wat);
  zh_module *m = load(engine, b.p, b.len, nm);
  free(b.p);
  return m;
}

static zh_module *load_file(zh_engine *engine, const char *path, double *ms) {
  FILE *f = fopen(path, "rb");
  if (!f)
    die("cannot open the StarlingMonkey module");
  buf b = {0};
  uint8_t chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    put(&b, chunk, n);
  fclose(f);
  double t0 = now_us();
  zh_module *m = load(engine, b.p, b.len, path);
  *ms = (now_us() - t0) / 1e3;
  printf("snapshot: starlingmonkey: %s, %.1f MB\n", path, (double)b.len / 1e6);
  free(b.p);
  return m;
}

static double store_cost(zh_engine *engine) {
  enum { N = 1000 };
  static double t[N];
  for (int i = 0; i < N; i++) {
    zh_store *s;
    double a = now_us();
    check(zh_store_new(engine, &s), "store");
    zh_store_free(s);
    t[i] = now_us() - a;
  }
  return pct(t, N, 0.5);
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 2000;
  if (iters < 1)
    iters = 1;
  const char *sm_path = argc > 2 && argv[2][0] ? argv[2] : NULL;
  zh_engine *engine;
  check(zh_engine_new(NULL, &engine), "engine");
  buf mb = build_main();
  group_def syn = {"synthetic", "mem", NULL, load(engine, mb.p, mb.len, "main"), NULL, NULL, 0};
  free(mb.p);
  syn.shim = load_wat(engine, strdup("(module (table (export \"tab\") 64 funcref))"), "shim");
  syn.adapter = load_wat(engine, adapter_wat(), "adapter");
  syn.fixup = load_wat(engine, fixup_wat(), "fixup");
  double last = run_case(engine, &syn, iters);
  zh_module *sm = NULL;
  if (sm_path) {
    double ms;
    sm = load_file(engine, sm_path, &ms);
    printf("snapshot: starlingmonkey: load (decode, validate, compile) %.1f ms\n", ms);
    group_def g = {"starlingmonkey", "memory", syn.shim, sm, syn.adapter, syn.fixup, DATA_BYTES};
    last = run_case(engine, &g, iters);
  }
  printf("snapshot: zh_store_new + zh_store_free median %.1f us\n", store_cost(engine));
  printf("snapshot: instantiate median %.1f us\n", last);
  zh_module_free(sm);
  zh_module_free(syn.shim);
  zh_module_free(syn.main);
  zh_module_free(syn.adapter);
  zh_module_free(syn.fixup);
  zh_engine_free(engine);
  return 0;
}
