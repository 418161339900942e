/* Resets in place find the pages a copy wrote (zh_mem_reset_to_image): through pagemap,
 * or, for a store lent by a store pool whose last loan saw no page fault of its thread,
 * from the pages pagemap found before. Every copy stamped here must equal the image byte
 * for byte, whoever wrote what in the copy before it: the guest, the host through
 * zh_memory_data, or the kernel during a read(2) into the memory; on pages written before
 * and on pages never written until then; on one thread, and with loans on several
 * threads; and for a store whose loans alternate between two modules, so that a memory
 * sits out loans between its resets. The test also checks the kernel behaviour the skip rests on:
 * the first write to a page still mapped from the image is a page fault of the writing thread, a
 * write to a page it already copied is not. The module is written in WAT and built with wat2wasm.
 */
#include "testlib.h"
#include "testutil.h"
#include "wasm/store_pool.h"
#include "zerohop/engine.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Two wasm pages (32 pages of 4 KiB) with data at both ends and in the middle. WAT2 is
 * another module of the same shape with other data. */
static const char WAT2[] = "(module\n"
                           "  (memory (export \"mem\") 2)\n"
                           "  (data (i32.const 8) \"second module\")\n"
                           "  (data (i32.const 65536) \"middle\")\n"
                           "  (func (export \"poke\") (param i32 i32)\n"
                           "    (i32.store8 (local.get 0) (local.get 1))))\n";
static const char WAT[] = "(module\n"
                          "  (memory (export \"mem\") 2)\n"
                          "  (data (i32.const 0) \"first page\")\n"
                          "  (data (i32.const 20480) \"page five\")\n"
                          "  (data (i32.const 131068) \"end!\")\n"
                          "  (func (export \"poke\") (param i32 i32)\n"
                          "    (i32.store8 (local.get 0) (local.get 1))))\n";

#define MEM_BYTES 131072u
#define PAGE 4096u

static bool ok(zh_error *err) {
  if (!err)
    return true;
  fprintf(stderr, "  error: %s\n", zh_error_message(err));
  zh_error_free(err);
  return false;
}

static uint64_t my_faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

typedef struct fixture {
  zh_template *tpl, *tpl2;
  zh_store_pool *pool;
  uint8_t image[MEM_BYTES], image2[MEM_BYTES]; /* a fresh copy's memory, of each */
  bool second;                                 /* request() stamps tpl2 */
} fixture;

typedef enum how { BY_GUEST, BY_HOST, BY_KERNEL } how;

/* One request: a fresh copy, checked against the image, then written at `pages` (by the
 * guest, the host or the kernel) and released. Returns the number of failures. */
static int request(fixture *fx, const uint32_t *pages, size_t n, how by, uint8_t val) {
  int fails = 0;
  zh_pooled_store *ps = NULL;
  if (!ok(zh_store_pool_take(fx->pool, &ps)))
    return 1;
  zh_instance *inst = NULL;
  if (!ok(zh_template_instantiate(fx->second ? fx->tpl2 : fx->tpl, ps->store, &inst))) {
    zh_error_free(zh_store_pool_give(fx->pool, ps));
    return 1;
  }
  zh_memory *mem = zh_instance_memory(inst, "mem");
  uint8_t *d = mem ? zh_memory_data(mem) : NULL;
  if (!d || zh_memory_size(mem) != MEM_BYTES ||
      memcmp(d, fx->second ? fx->image2 : fx->image, MEM_BYTES) != 0)
    fails++;
  for (size_t i = 0; d && i < n; i++) {
    uint32_t at = pages[i] * PAGE + 123;
    if (by == BY_GUEST) {
      zh_value args[2] = {zh_i32((int32_t)at), zh_i32(val)};
      fails += !ok(zh_func_call(ps->store, zh_instance_func(inst, "poke"), args, 2, NULL, 0));
    } else if (by == BY_HOST) {
      d[at] = val;
    } else { /* read(2) from a pipe straight into the memory */
      int p[2];
      uint8_t b[8];
      memset(b, val, sizeof b);
      fails += pipe(p) != 0 || write(p[1], b, sizeof b) != (ssize_t)sizeof b ||
               read(p[0], d + at, sizeof b) != (ssize_t)sizeof b;
      close(p[0]);
      close(p[1]);
    }
  }
  fails += !ok(zh_store_pool_give(fx->pool, ps));
  return fails;
}

static void test_one_thread(fixture *fx) {
  static const uint32_t p0[] = {0}, p5[] = {0, 5}, p9[] = {9}, p12[] = {12, 31}, p20[] = {20};
  int fails = 0;
  for (int round = 0; round < 3; round++) {
    /* The same pages again and again: after the first time, no fault and no scan. */
    for (int i = 0; i < 20; i++)
      fails += request(fx, p0, 1, BY_GUEST, (uint8_t)(i + 1));
    fails += request(fx, p5, 2, BY_GUEST, 0x55); /* a page never written before */
    fails += request(fx, p0, 1, BY_GUEST, 0x66);
    fails += request(fx, p9, 1, BY_KERNEL, 0x99); /* the kernel copies into a new page */
    fails += request(fx, p0, 1, BY_HOST, 0x77);
    fails += request(fx, p12, 2, BY_HOST, 0x12); /* the host writes new pages */
    fails += request(fx, p20, 1, BY_GUEST, 0x20);
  }
  fails += request(fx, NULL, 0, BY_GUEST, 0); /* the last writes are undone too */
  CHECK_EQ_INT(fails, 0);
}

typedef struct turn {
  fixture *fx;
  const uint32_t *pages;
  size_t n;
  int fails;
} turn;

static void *take_turn(void *arg) {
  turn *t = arg;
  t->fails += request(t->fx, t->pages, t->n, BY_GUEST, 0x3c);
  t->fails += request(t->fx, t->pages, t->n, BY_GUEST, 0x3d);
  return NULL;
}

/* The store moves between threads, each writing pages the other may not have. */
static void test_threads(fixture *fx) {
  static const uint32_t a[] = {1, 2}, b[] = {2, 3, 30};
  int fails = 0;
  for (int i = 0; i < 6; i++) {
    turn t = {fx, i % 2 ? a : b, i % 2 ? 2u : 3u, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, take_turn, &t) != 0) {
      fails++;
      break;
    }
    pthread_join(th, NULL);
    fails += t.fails;
    fails += request(fx, a, 1, BY_GUEST, (uint8_t)i); /* and this thread in between */
  }
  fails += request(fx, NULL, 0, BY_GUEST, 0);
  CHECK_EQ_INT(fails, 0);
}

/* One store, two modules in turn (as a worker's store serves several components): each
 * memory is reset after loans of the other module in between, clean or not. */
static void test_alternating(fixture *fx) {
  static const uint32_t p0[] = {0}, p7[] = {7}, p16[] = {16}, p3[] = {3, 29};
  int fails = 0;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 6; i++) { /* the same pages each time: clean loans */
      fx->second = i % 2;
      fails += request(fx, fx->second ? p16 : p0, 1, BY_GUEST, (uint8_t)(i + 1));
    }
    fx->second = false;
    fails += request(fx, p7, 1, BY_GUEST, 0x71); /* a new page of the first */
    fx->second = true;
    fails += request(fx, p16, 1, BY_HOST, 0x72);
    fx->second = false;
    fails += request(fx, p0, 1, BY_GUEST, 0x73); /* page 7 must be undone here */
    fx->second = true;
    fails += request(fx, p3, 2, BY_KERNEL, 0x74); /* new pages of the second */
    fx->second = false;
    fails += request(fx, p0, 1, BY_HOST, 0x75);
    fx->second = true;
    fails += request(fx, NULL, 0, BY_GUEST, 0); /* pages 3 and 29 undone */
  }
  for (int i = 0; i < 2; i++) { /* the last writes of each are undone too */
    fx->second = i;
    fails += request(fx, NULL, 0, BY_GUEST, 0);
  }
  fx->second = false;
  CHECK_EQ_INT(fails, 0);
}

/* What the skip rests on, on this kernel: a first write to a page mapped from the image
 * faults in the writing thread (also when the kernel writes it), a second does not. */
static void test_fault_counts(fixture *fx) {
  zh_pooled_store *ps = NULL;
  zh_instance *inst = NULL;
  CHECK(ok(zh_store_pool_take(fx->pool, &ps)));
  if (!ps)
    return;
  CHECK(ok(zh_template_instantiate(fx->tpl, ps->store, &inst)));
  if (!inst) {
    zh_error_free(zh_store_pool_give(fx->pool, ps));
    return;
  }
  uint8_t *d = zh_memory_data(zh_instance_memory(inst, "mem"));
  volatile uint8_t *v = d;
  uint64_t f0 = my_faults();
  v[26 * PAGE] = 1; /* never written in any copy */
  uint64_t f1 = my_faults();
  v[26 * PAGE + 1] = 2;
  uint64_t f2 = my_faults();
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "xy", 2) == 2);
  uint64_t f3 = my_faults();
  CHECK(read(p[0], d + 27 * PAGE, 2) == 2);
  uint64_t f4 = my_faults();
  close(p[0]);
  close(p[1]);
  CHECK(f1 > f0);
  CHECK(f2 == f1);
  CHECK(f4 > f3);
  CHECK(ok(zh_store_pool_give(fx->pool, ps)));
  CHECK_EQ_INT(request(fx, NULL, 0, BY_GUEST, 0), 0);
}

int main(void) {
  zh_engine *engine = NULL;
  if (!ok(zh_engine_new(NULL, &engine)))
    return 1;
  static fixture fx;
  zh_module *m = zh_test_wat_module(engine, WAT, "reset.wat");
  zh_module *m2 = zh_test_wat_module(engine, WAT2, "reset2.wat");
  CHECK(m != NULL && m2 != NULL);
  zh_store *first = NULL;
  if (m && m2 && ok(zh_template_new(engine, m, NULL, 0, &fx.tpl)) &&
      ok(zh_template_new(engine, m2, NULL, 0, &fx.tpl2)) && ok(zh_store_new(engine, &first)) &&
      ok(zh_store_pool_new(engine, &fx.pool))) {
    zh_instance *inst = NULL, *inst2 = NULL;
    CHECK(ok(zh_template_instantiate(fx.tpl, first, &inst)));
    CHECK(ok(zh_template_instantiate(fx.tpl2, first, &inst2)));
    zh_memory *mem = inst ? zh_instance_memory(inst, "mem") : NULL;
    zh_memory *mem2 = inst2 ? zh_instance_memory(inst2, "mem") : NULL;
    CHECK(mem && zh_memory_size(mem) == MEM_BYTES);
    CHECK(mem2 && zh_memory_size(mem2) == MEM_BYTES);
    if (mem && mem2) {
      memcpy(fx.image, zh_memory_data(mem), MEM_BYTES);
      memcpy(fx.image2, zh_memory_data(mem2), MEM_BYTES);
      CHECK(memcmp(fx.image, "first page", 10) == 0);
      CHECK(memcmp(fx.image + 20480, "page five", 9) == 0);
      CHECK(memcmp(fx.image + MEM_BYTES - 4, "end!", 4) == 0);
      CHECK(memcmp(fx.image2 + 8, "second module", 13) == 0);
      test_one_thread(&fx);
      test_threads(&fx);
      test_alternating(&fx);
      test_fault_counts(&fx);
    }
  }
  zh_store_free(first);
  zh_store_pool_free(fx.pool);
  zh_template_free(fx.tpl);
  zh_template_free(fx.tpl2);
  zh_module_free(m);
  zh_module_free(m2);
  zh_engine_free(engine);
  TEST_SUMMARY();
}
