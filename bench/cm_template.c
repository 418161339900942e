/* Component template benchmark: what one per-request component instance costs.
 *
 * For each component given (linked to the WASI 0.2 host), it makes a template
 * (zh_cm_template_new), then times ITERS stamps (zh_cm_template_instantiate) into one
 * long-lived store with zh_cm_instance_free and zh_store_release_to after each, as a server
 * worker does; as the reference, measured in the same run, full instantiation of the same
 * component (zh_cm_linker_instantiate) into the same store, REF_ITERS times. It prints the
 * median and p99 of each and their ratio.
 *
 *   cm_template COMPONENT.wasm...        (ITERS from $ZH_BENCH_ITERS, default 2000)
 *
 * Per component the line reads
 *   "cm-template: NAME stamp median X.X us p99 X.X us | full median X.X us p99 X.X us | Nx" */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zerohop/cm.h"
#include "zerohop/wasip2.h"

#define REF_ITERS 50

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_double);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i];
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

static int fail(const char *name, zh_error *err) {
  printf("cm-template: %s skipped: %s\n", name, err ? zh_error_message(err) : "cannot read");
  zh_error_free(err);
  return 1;
}

static int bench(zh_engine *engine, const char *path, size_t iters) {
  const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  size_t len = 0;
  uint8_t *bytes = read_file(path, &len);
  if (!bytes)
    return fail(name, NULL);
  zh_cm_component *comp = NULL;
  zh_cm_linker *linker = NULL;
  zh_cm_template *tpl = NULL;
  zh_store *store = NULL;
  zh_error *err = zh_cm_component_new(engine, bytes, len, name, &comp);
  free(bytes);
  if (!err)
    err = zh_cm_linker_new(&linker);
  if (!err)
    err = zh_wasip2_define_linker(linker);
  double t0 = now_us();
  if (!err)
    err = zh_cm_template_new(linker, comp, &tpl);
  double tpl_us = now_us() - t0;
  if (!err)
    err = zh_store_new(engine, &store);
  double *stamp = calloc(iters, sizeof *stamp), *full = calloc(REF_ITERS, sizeof *full);
  if (!stamp || !full) {
    fprintf(stderr, "cm-template: out of memory\n");
    exit(1);
  }
  zh_mark mark = store ? zh_store_mark(store) : 0;
  /* Alternating blocks of both, so that a noisy neighbour hits them alike. */
  size_t ns = 0, nf = 0, block = iters / REF_ITERS ? iters / REF_ITERS : 1;
  while (!err && (ns < iters || nf < REF_ITERS)) {
    for (size_t k = 0; k < block && ns < iters && !err; k++) {
      zh_cm_instance *in = NULL;
      double a = now_us();
      err = zh_cm_template_instantiate(tpl, store, NULL, &in);
      stamp[ns++] = now_us() - a;
      zh_cm_instance_free(in);
      if (!err)
        err = zh_store_release_to(store, mark);
    }
    if (nf < REF_ITERS && !err) {
      zh_cm_instance *in = NULL;
      double a = now_us();
      err = zh_cm_linker_instantiate(linker, comp, store, NULL, &in);
      full[nf++] = now_us() - a;
      zh_cm_instance_free(in);
      if (!err)
        err = zh_store_release_to(store, mark);
    }
  }
  int rc = 0;
  if (err) {
    rc = fail(name, err);
  } else {
    double sm = pct(stamp, ns, 0.5), s99 = pct(stamp, ns, 0.99);
    double fm = pct(full, nf, 0.5), f99 = pct(full, nf, 0.99);
    printf("cm-template: %s template made in %.1f ms\n", name, tpl_us / 1e3);
    printf("cm-template: %s stamp median %.1f us p99 %.1f us | full median %.1f us p99 %.1f us | "
           "%.0fx\n",
           name, sm, s99, fm, f99, fm / sm);
  }
  free(stamp);
  free(full);
  zh_store_free(store);
  zh_cm_template_free(tpl);
  zh_cm_linker_free(linker);
  zh_cm_component_free(comp);
  return rc;
}

int main(int argc, char **argv) {
  const char *it = getenv("ZH_BENCH_ITERS");
  size_t iters = it && atol(it) > 0 ? (size_t)atol(it) : 2000;
  zh_engine *engine = NULL;
  zh_error *err = zh_engine_new(NULL, &engine);
  if (err)
    return fail("engine", err);
  int rc = 0;
  for (int i = 1; i < argc; i++)
    rc |= bench(engine, argv[i], iters);
  zh_engine_free(engine);
  return rc;
}
