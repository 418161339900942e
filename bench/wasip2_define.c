/* What binding a WASI 0.2 guest costs per instance: the guest of tests/wasip2/guest_http.c
 * (world zh:wp2test/http: wasi:cli imports, wasi:http types and outgoing-handler, about 220
 * functions), built by `make bench-wasip2`. Times, each as a median over ITERS fresh stores:
 *   - zh_wasip2_plan_new (resolve and type-check the world's WASI imports),
 *   - zh_wasip2_define_plan (register them with the component),
 *   - zh_wasip2_define_component (both),
 *   - zh_component_instantiate,
 * and, as the reference measured in the same run, zh_wasi_link of a preview1 module
 * (build/examples/hello.wasm) plus its zh_instance_new.
 *
 *   wasip2_define GUEST.wasm WIT_DIR HELLO.wasm [ITERS]
 *
 * The last line is "bench-wasip2: define_plan median X.X us (X.XXx preview1 link)". */
#include "zerohop/wasi.h"
#include "zerohop/wasip2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[n / 2];
}

static zh_module *load(zh_engine *e, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n);
  zh_module *m = NULL;
  if (b && fread(b, 1, (size_t)n, f) == (size_t)n) {
    zh_error *err = zh_module_new(e, b, (size_t)n, path, &m);
    if (err)
      fprintf(stderr, "%s\n", zh_error_message(err));
    zh_error_free(err);
  }
  fclose(f);
  free(b);
  return m;
}

static void die(zh_error *err) {
  if (err) {
    fprintf(stderr, "wasip2_define: %s\n", zh_error_message(err));
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: wasip2_define GUEST.wasm WIT_DIR HELLO.wasm [ITERS]\n");
    return 2;
  }
  int iters = argc > 4 ? atoi(argv[4]) : 2000;
  if (iters < 1)
    iters = 1;
  zh_engine *e;
  die(zh_engine_new(NULL, &e));
  zh_module *guest = load(e, argv[1]), *hello = load(e, argv[3]);
  zh_wit *wit;
  die(zh_wit_load_dir(argv[2], &wit));
  const zh_wit_world *world = zh_wit_find_world(zh_wit_root(wit), "http");
  if (!guest || !hello || !world) {
    fprintf(stderr, "wasip2_define: cannot load the guest, the world or hello.wasm\n");
    return 1;
  }
  double *plan = calloc((size_t)iters, sizeof(double)),
         *def = calloc((size_t)iters, sizeof(double)),
         *both = calloc((size_t)iters, sizeof(double)),
         *inst = calloc((size_t)iters, sizeof(double)),
         *ref = calloc((size_t)iters, sizeof(double));
  if (!plan || !def || !both || !inst || !ref)
    return 1;
  zh_wasip2_plan *p = NULL;
  for (int i = 0; i < iters; i++) {
    zh_wasip2_plan_free(p);
    double t0 = now_us();
    die(zh_wasip2_plan_new(world, &p));
    plan[i] = now_us() - t0;
  }
  for (int i = 0; i < iters; i++) {
    zh_store *s;
    zh_error *err = NULL;
    die(zh_store_new(e, &s));
    zh_wasip2_ctx *cx = zh_wasip2_new(NULL, &err);
    die(err);
    zh_component *c;
    die(zh_component_new(s, guest, world, &c));
    double t0 = now_us();
    die(zh_wasip2_define_plan(c, cx, p));
    double t1 = now_us();
    die(zh_component_instantiate(c, NULL, 0));
    double t2 = now_us();
    def[i] = t1 - t0;
    inst[i] = t2 - t1;
    zh_component_free(c);
    zh_wasip2_free(cx);
    zh_store_free(s);

    die(zh_store_new(e, &s));
    cx = zh_wasip2_new(NULL, &err);
    die(err);
    die(zh_component_new(s, guest, world, &c));
    t0 = now_us();
    die(zh_wasip2_define_component(c, cx));
    both[i] = now_us() - t0;
    zh_component_free(c);
    zh_wasip2_free(cx);
    zh_store_free(s);

    /* reference: a preview1 module linked and instantiated */
    die(zh_store_new(e, &s));
    zh_wasi_ctx *w = zh_wasi_new(NULL, &err);
    die(err);
    size_t n = zh_module_import_count(hello);
    zh_extern *imports = calloc(n ? n : 1, sizeof *imports);
    zh_instance *in;
    t0 = now_us();
    die(zh_wasi_link(w, s, hello, imports));
    die(zh_instance_new(s, hello, imports, n, &in));
    ref[i] = now_us() - t0;
    free(imports);
    zh_wasi_free(w);
    zh_store_free(s);
  }
  double mp = median(plan, iters), md = median(def, iters), mb = median(both, iters),
         mi = median(inst, iters), mr = median(ref, iters);
  printf("bench-wasip2: %d iterations, %zu-import world\n", iters, zh_module_import_count(guest));
  printf("  plan_new          median %8.1f us (once per world)\n", mp);
  printf("  define_plan       median %8.1f us\n", md);
  printf("  define_component  median %8.1f us (plan_new + define_plan)\n", mb);
  printf("  instantiate       median %8.1f us (zh_component_instantiate)\n", mi);
  printf("  preview1 link+new median %8.1f us (reference: hello.wasm, zh_wasi_link + instance)\n",
         mr);
  printf("bench-wasip2: define_plan median %.1f us (%.2fx preview1 link)\n", md, md / mr);
  zh_wasip2_plan_free(p);
  free(plan);
  free(def);
  free(both);
  free(inst);
  free(ref);
  zh_wit_free(wit);
  zh_module_free(guest);
  zh_module_free(hello);
  zh_engine_free(e);
  return 0;
}
