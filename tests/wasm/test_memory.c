/* Linear memories (init, grow, limits, guard faults, pooling, copy-on-write images) and
 * the engine/store plumbing they sit on (type registry, value stack, owned objects,
 * interruption and the deadline watchdog). */
#include "testlib.h"
#include "wasm/error.h"
#include "wasm/memory.h"
#include "wasm/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE ((uint64_t)ZH_PAGE_SIZE)

/* ---- helpers ---- */

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i])
      return false;
  }
  return true;
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(i * 31u + seed + (i >> 12));
}

/* Virtual size of this process in KiB, from /proc/self/status. */
static long vm_size_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "VmSize: %ld kB", &kib) == 1)
      break;
  }
  fclose(f);
  return kib;
}

/* Probing for faults: the test installs its own SIGSEGV/SIGBUS handler. */
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed;

static void on_fault(int sig) {
  (void)sig;
  if (fault_armed)
    siglongjmp(fault_jmp, 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

static bool faults_on_read(const volatile uint8_t *p) {
  struct sigaction sa, old_segv, old_bus;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fault;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, &old_segv);
  sigaction(SIGBUS, &sa, &old_bus);
  bool faulted = true;
  if (sigsetjmp(fault_jmp, 1) == 0) {
    fault_armed = 1;
    (void)*p;
    faulted = false;
  }
  fault_armed = 0;
  sigaction(SIGSEGV, &old_segv, NULL);
  sigaction(SIGBUS, &old_bus, NULL);
  return faulted;
}

static zh_engine *new_engine(uint32_t max_pages) {
  zh_engine_config cfg = {.max_memory_pages = max_pages};
  zh_engine *e = NULL;
  zh_error *err = zh_engine_new(&cfg, &e);
  CHECK(err == NULL && e != NULL);
  zh_error_free(err);
  return e;
}

/* ---- memories ---- */

static void test_init_grow_limits(zh_engine *e) {
  zh_memory m;
  zh_error *err = zh_mem_init(e, &m, 1, 10);
  CHECK(err == NULL);
  CHECK(m.base != NULL && ((uintptr_t)m.base % 4096) == 0);
  CHECK_EQ_INT(m.size, PAGE);
  CHECK_EQ_INT(m.max_pages, 10);
  CHECK(all_zero(m.base, m.size));
  m.base[0] = 1;
  m.base[PAGE - 1] = 2;
  CHECK(faults_on_read(m.base + PAGE));

  uint8_t *base = m.base;
  CHECK_EQ_INT(zh_mem_grow(&m, 2), 1);
  CHECK(m.base == base); /* never moves */
  CHECK_EQ_INT(m.size, 3 * PAGE);
  CHECK(m.base[0] == 1 && m.base[PAGE - 1] == 2);
  CHECK(all_zero(m.base + PAGE, 2 * PAGE));
  CHECK(!faults_on_read(m.base + 3 * PAGE - 1));
  CHECK(faults_on_read(m.base + 3 * PAGE));
  CHECK_EQ_INT(zh_mem_grow(&m, 0), 3);

  CHECK_EQ_INT(zh_mem_grow(&m, 8), -1); /* 11 > 10 */
  CHECK_EQ_INT(m.size, 3 * PAGE);
  CHECK_EQ_INT(zh_mem_grow(&m, 7), 3); /* exactly the max */
  CHECK_EQ_INT(m.size, 10 * PAGE);
  CHECK_EQ_INT(zh_mem_grow(&m, 1), -1);
  CHECK_EQ_INT(zh_mem_grow(&m, UINT64_MAX), -1);
  m.base[10 * PAGE - 1] = 3;
  CHECK(m.base[0] == 1 && m.base[PAGE - 1] == 2);
  /* The whole reservation past the size is inaccessible: far accesses fault too. */
  CHECK(faults_on_read(m.base + 10 * PAGE));
  CHECK(faults_on_read(m.base + ((uint64_t)4 << 30)));
  CHECK(faults_on_read(m.base + ZH_MEM_RESERVE + ZH_MEM_GUARD - 1));
  zh_mem_release(&m);
  CHECK(m.base == NULL && m.region == NULL);
  zh_mem_release(&m); /* zeroed struct: no-op */

  /* Minimum above the maximum. */
  err = zh_mem_init(e, &m, 11, 10);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_RESOURCE);
  CHECK(strstr(zh_error_message(err), "11 pages") != NULL);
  CHECK(m.region == NULL);
  zh_error_free(err);

  /* Zero pages, then grow. */
  err = zh_mem_init(e, &m, 0, 65536);
  CHECK(err == NULL);
  CHECK_EQ_INT(m.size, 0);
  CHECK_EQ_INT(m.max_pages, 65536);
  CHECK(faults_on_read(m.base));
  CHECK_EQ_INT(zh_mem_grow(&m, 1), 0);
  m.base[5] = 5;
  CHECK(m.base[5] == 5);
  zh_mem_release(&m);

  /* A large memory is address space only until touched. */
  err = zh_mem_init(e, &m, 16384, 65536); /* 1 GiB */
  CHECK(err == NULL);
  m.base[((uint64_t)1 << 30) - 1] = 9;
  CHECK(m.base[((uint64_t)1 << 30) - 1] == 9);
  CHECK_EQ_INT(zh_mem_grow(&m, 65536 - 16384), 16384); /* to 4 GiB */
  CHECK_EQ_INT(m.size, (uint64_t)4 << 30);
  m.base[((uint64_t)4 << 30) - 1] = 7;
  CHECK(faults_on_read(m.base + ((uint64_t)4 << 30)));
  zh_mem_release(&m);

  /* The engine's page limit clamps the declared maximum. */
  zh_engine *small = new_engine(4);
  err = zh_mem_init(small, &m, 2, 100);
  CHECK(err == NULL);
  CHECK_EQ_INT(m.max_pages, 4);
  CHECK_EQ_INT(zh_mem_grow(&m, 3), -1);
  CHECK_EQ_INT(zh_mem_grow(&m, 2), 2);
  zh_mem_release(&m);
  err = zh_mem_init(small, &m, 5, 100);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_RESOURCE);
  zh_error_free(err);
  zh_engine_free(small);
}

static void test_pool_reuse(zh_engine *e) {
  zh_memory m;
  CHECK(zh_mem_init(e, &m, 4, 100) == NULL);
  uint8_t *first = m.base;
  memset(m.base, 0xab, m.size);
  CHECK_EQ_INT(zh_mem_grow(&m, 2), 4);
  memset(m.base, 0xcd, m.size);
  zh_mem_release(&m);

  CHECK(zh_mem_init(e, &m, 2, 100) == NULL);
  CHECK(m.base == first); /* the pool hands back the region just released */
  CHECK(all_zero(m.base, m.size));
  CHECK(faults_on_read(m.base + 2 * PAGE)); /* old size not accessible any more */
  CHECK_EQ_INT(zh_mem_grow(&m, 6), 2);
  CHECK(all_zero(m.base, m.size)); /* including pages the last user dirtied */
  zh_mem_release(&m);

  /* More live memories than the pool keeps; all come back zeroed. */
  enum { N = 80 };
  static zh_memory ms[N];
  for (int i = 0; i < N; i++) {
    CHECK(zh_mem_init(e, &ms[i], 1, 1) == NULL);
    CHECK(all_zero(ms[i].base, PAGE));
    memset(ms[i].base, i + 1, PAGE);
  }
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < i; j++)
      CHECK(ms[i].base != ms[j].base);
    CHECK(ms[i].base[PAGE - 1] == (uint8_t)(i + 1));
  }
  for (int i = 0; i < N; i++)
    zh_mem_release(&ms[i]);
  pthread_mutex_lock(&e->pool.lock);
  CHECK(e->pool.nfree <= e->pool.max_free);
  CHECK_EQ_INT(e->pool.max_free, 64);
  pthread_mutex_unlock(&e->pool.lock);
  for (int i = 0; i < N; i++) {
    CHECK(zh_mem_init(e, &ms[i], 1, 1) == NULL);
    CHECK(all_zero(ms[i].base, PAGE));
  }
  for (int i = 0; i < N; i++)
    zh_mem_release(&ms[i]);
}

static void test_images(zh_engine *e) {
  /* 1 MiB with a few all-zero pages, to exercise holes in the image file. */
  zh_memory a;
  CHECK(zh_mem_init(e, &a, 16, 32) == NULL);
  a.has_max = true;
  a.declared_max = 32;
  fill_pattern(a.base, a.size, 7);
  memset(a.base + 3 * PAGE, 0, PAGE);
  memset(a.base + 15 * PAGE + 4096, 0, PAGE - 4096);

  zh_mem_image img;
  zh_error *err = zh_mem_snapshot(&a, &img);
  CHECK(err == NULL);
  zh_error_free(err);
  CHECK(img.fd >= 0);
  CHECK_EQ_INT(img.size, 16 * PAGE);
  CHECK_EQ_INT(img.max_pages, 32);
  CHECK(img.has_max && img.declared_max == 32);

  /* Sealed: the file cannot be written or resized. */
  uint8_t byte = 1;
  CHECK(pwrite(img.fd, &byte, 1, 0) < 0);
  CHECK(ftruncate(img.fd, 0) != 0);

  zh_memory b, c;
  CHECK(zh_mem_init_from_image(e, &b, &img) == NULL);
  CHECK(zh_mem_init_from_image(e, &c, &img) == NULL);
  CHECK(b.base != a.base && c.base != b.base);
  CHECK_EQ_INT(b.size, a.size);
  CHECK_EQ_INT(b.max_pages, 32);
  CHECK(b.has_max && b.declared_max == 32);
  CHECK(memcmp(b.base, a.base, a.size) == 0);
  CHECK(memcmp(c.base, a.base, a.size) == 0);
  CHECK(faults_on_read(b.base + b.size));

  /* Copy-on-write: writes to one copy reach neither the image nor the other copies. */
  memset(b.base, 0x5a, b.size);
  CHECK(memcmp(c.base, a.base, a.size) == 0);
  CHECK(a.base[0] != 0x5a || a.base[1] != 0x5a);
  static uint8_t file[16 * 65536];
  CHECK_EQ_INT(pread(img.fd, file, sizeof file, 0), (long long)sizeof file);
  CHECK(memcmp(file, a.base, a.size) == 0);

  /* Growing past the image gives zero pages and keeps the copy. */
  CHECK_EQ_INT(zh_mem_grow(&c, 2), 16);
  CHECK(all_zero(c.base + 16 * PAGE, 2 * PAGE));
  CHECK(memcmp(c.base, a.base, a.size) == 0);
  c.base[17 * PAGE] = 1;
  CHECK_EQ_INT(zh_mem_grow(&c, 15), -1);

  /* A region that held an image mapping comes back from the pool as plain zeros. */
  uint8_t *bbase = b.base;
  zh_mem_release(&b);
  zh_memory d;
  CHECK(zh_mem_init(e, &d, 16, 16) == NULL);
  CHECK(d.base == bbase);
  CHECK(all_zero(d.base, d.size));
  zh_mem_release(&d);

  /* The image outlives nothing it does not need to: copies survive its release, and
   * the source memory can go first. */
  zh_mem_release(&a);
  zh_mem_image_release(&img);
  CHECK_EQ_INT(img.fd, -1);
  CHECK(memcmp(c.base, file, sizeof file) == 0);
  zh_mem_release(&c);

  /* Empty memories snapshot to an empty image without a file. */
  zh_memory z, z2;
  CHECK(zh_mem_init(e, &z, 0, 4) == NULL);
  CHECK(zh_mem_snapshot(&z, &img) == NULL);
  CHECK_EQ_INT(img.fd, -1);
  CHECK(zh_mem_init_from_image(e, &z2, &img) == NULL);
  CHECK_EQ_INT(z2.size, 0);
  CHECK_EQ_INT(zh_mem_grow(&z2, 1), 0);
  CHECK(all_zero(z2.base, PAGE));
  zh_mem_release(&z2);
  zh_mem_release(&z);
  zh_mem_image_release(&img);
  zh_mem_image zeroed;
  memset(&zeroed, 0, sizeof zeroed);
  zh_mem_image_release(&zeroed); /* must not close fd 0 */
  CHECK(fcntl(0, F_GETFD) != -1 || errno != EBADF);

  /* An image larger than another engine's limit is refused. */
  CHECK(zh_mem_init(e, &a, 8, 8) == NULL);
  CHECK(zh_mem_snapshot(&a, &img) == NULL);
  zh_mem_release(&a);
  zh_engine *small = new_engine(4);
  err = zh_mem_init_from_image(small, &b, &img);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_RESOURCE);
  CHECK(b.region == NULL);
  zh_error_free(err);
  zh_engine_free(small);
  zh_mem_image_release(&img);
}

static void test_no_leaks(zh_engine *e) {
  /* Fill the pool first, so the baseline includes every region it may keep. */
  enum { N = 100 };
  static zh_memory ms[N];
  for (int i = 0; i < N; i++)
    CHECK(zh_mem_init(e, &ms[i], 1, 1) == NULL);
  for (int i = 0; i < N; i++)
    zh_mem_release(&ms[i]);

  zh_memory src;
  zh_mem_image img;
  CHECK(zh_mem_init(e, &src, 4, 4) == NULL);
  fill_pattern(src.base, src.size, 3);
  CHECK(zh_mem_snapshot(&src, &img) == NULL);
  zh_mem_release(&src);

  long before = vm_size_kib();
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < N; i++) {
      zh_error *err =
          (i & 1) ? zh_mem_init(e, &ms[i], 2, 8) : zh_mem_init_from_image(e, &ms[i], &img);
      CHECK(err == NULL);
      zh_error_free(err);
      ms[i].base[ms[i].size - 1] = 1;
      if (i % 3 == 0)
        zh_mem_grow(&ms[i], 1);
    }
    for (int i = 0; i < N; i++)
      zh_mem_release(&ms[i]);
  }
  for (int i = 0; i < 5000; i++) {
    zh_memory m;
    CHECK(zh_mem_init_from_image(e, &m, &img) == NULL);
    m.base[i % m.size] ^= 1;
    zh_mem_release(&m);
  }
  long after = vm_size_kib();
  printf("address space: %ld KiB before, %ld KiB after 7000 memory cycles\n", before, after);
  CHECK(before > 0 && after > 0);
  /* Allow malloc/ASan slack, far below the 8 GiB of even one leaked region. */
  CHECK(after - before < 64L * 1024);
  zh_mem_image_release(&img);
}

static void time_image_init(zh_engine *e) {
  zh_memory src;
  CHECK(zh_mem_init(e, &src, 16, 16) == NULL); /* 1 MiB */
  fill_pattern(src.base, src.size, 11);
  zh_mem_image img;
  double t0 = now_us();
  CHECK(zh_mem_snapshot(&src, &img) == NULL);
  double snap = now_us() - t0;

  enum { ITERS = 2000 };
  zh_memory m;
  double init = 0, rel = 0, touch = 0;
  for (int i = 0; i < ITERS + 100; i++) {
    double a = now_us();
    zh_error *err = zh_mem_init_from_image(e, &m, &img);
    double b = now_us();
    CHECK(err == NULL);
    zh_error_free(err);
    if (i == 0)
      CHECK(memcmp(m.base, src.base, src.size) == 0);
    m.base[4096] ^= 1; /* one copy-on-write fault */
    double c = now_us();
    zh_mem_release(&m);
    double d = now_us();
    if (i >= 100) { /* skip the warm-up */
      init += b - a;
      touch += c - b;
      rel += d - c;
    }
  }
  double t1 = now_us();
  uint8_t *copy = malloc(src.size);
  for (int i = 0; i < 100; i++) {
    memcpy(copy, src.base, src.size);
    copy[i] ^= 1;
  }
  double cp = (now_us() - t1) / 100;
  free(copy);
  printf("1 MiB image: snapshot %.1f us; init_from_image %.2f us/op, first write fault %.2f "
         "us, release %.2f us/op (memcpy of 1 MiB for comparison: %.1f us)\n",
         snap, init / ITERS, touch / ITERS, rel / ITERS, cp);
  zh_mem_release(&src);
  zh_mem_image_release(&img);
}

/* ---- engine ---- */

static void test_types(zh_engine *e) {
  const uint8_t t1[] = {ZH_I32, ZH_I32, ZH_I64};
  const uint8_t t2[] = {ZH_I32, ZH_I64, ZH_I32};
  uint32_t a = zh_engine_intern_type(e, t1, 2, 1);
  uint32_t b = zh_engine_intern_type(e, t2, 1, 2);
  uint32_t c = zh_engine_intern_type(e, t1, 2, 1);
  uint32_t v = zh_engine_intern_type(e, NULL, 0, 0);
  CHECK(a != UINT32_MAX && b != UINT32_MAX && v != UINT32_MAX);
  CHECK(a == c && a != b && v != a && v != b);
  CHECK_EQ_INT(zh_engine_intern_type(e, NULL, 0, 0), v);
  CHECK_EQ_INT(zh_engine_intern_type(e, t1, 3, 0), zh_engine_intern_type(e, t1, 3, 0));
  CHECK(zh_engine_intern_type(e, t1, 3, 0) != a); /* same bytes, different split */

  const zh_type_entry *ea = zh_engine_type(e, a);
  CHECK(ea && ea->nparams == 2 && ea->nresults == 1 && memcmp(ea->types, t1, 3) == 0);
  CHECK(zh_engine_type(e, 1000000) == NULL);
  CHECK(zh_engine_type(e, UINT32_MAX) == NULL);

  /* Thousands of types: ids stay dense and distinct, entries never move. */
  enum { NT = 20000 };
  static uint32_t ids[NT];
  for (uint32_t i = 0; i < NT; i++) {
    uint8_t ts[4] = {ZH_I32, (uint8_t)(i & 0xff), (uint8_t)(i >> 8), ZH_F64};
    ids[i] = zh_engine_intern_type(e, ts, 3, 1);
    CHECK(ids[i] != UINT32_MAX);
  }
  CHECK(zh_engine_type(e, a) == ea);
  for (uint32_t i = 0; i < NT; i++) {
    uint8_t ts[4] = {ZH_I32, (uint8_t)(i & 0xff), (uint8_t)(i >> 8), ZH_F64};
    const zh_type_entry *t = zh_engine_type(e, ids[i]);
    if (!t || t->nparams != 3 || t->nresults != 1 || memcmp(t->types, ts, 4) != 0) {
      CHECK(!"type entry mismatch");
      break;
    }
    if (zh_engine_intern_type(e, ts, 3, 1) != ids[i]) {
      CHECK(!"re-interning gave a new id");
      break;
    }
  }
}

typedef struct {
  zh_engine *e;
  uint32_t ids[500];
} intern_job;

static void *intern_thread(void *arg) {
  intern_job *job = arg;
  for (uint32_t i = 0; i < 500; i++) {
    uint8_t ts[3] = {ZH_F32, (uint8_t)i, (uint8_t)(i >> 8)};
    job->ids[i] = zh_engine_intern_type(job->e, ts, 1, 2);
    const zh_type_entry *t = zh_engine_type(job->e, job->ids[i]); /* lock-free read */
    if (!t || memcmp(t->types, ts, 3) != 0)
      job->ids[i] = UINT32_MAX;
  }
  return NULL;
}

static void test_types_threads(void) {
  zh_engine *e = new_engine(0);
  enum { T = 4 };
  static intern_job jobs[T];
  pthread_t th[T];
  for (int t = 0; t < T; t++) {
    jobs[t].e = e;
    pthread_create(&th[t], NULL, intern_thread, &jobs[t]);
  }
  for (int t = 0; t < T; t++)
    pthread_join(th[t], NULL);
  int bad = 0;
  for (int t = 0; t < T; t++) {
    for (int i = 0; i < 500; i++) {
      bad += jobs[t].ids[i] == UINT32_MAX || jobs[t].ids[i] != jobs[0].ids[i];
    }
  }
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(e->ntypes, 500);
  zh_engine_free(e);
}

static void test_engine_config(void) {
  zh_engine *e = NULL;
  CHECK(zh_engine_new(NULL, &e) == NULL);
  CHECK_EQ_INT(e->config.max_memory_pages, 65536);
  CHECK_EQ_INT(e->config.max_call_depth, 20000);
  CHECK_EQ_INT(e->config.stack_slots, 1u << 20);
  zh_engine_free(e);
  zh_engine_config cfg = {.max_memory_pages = 100, .max_call_depth = 50, .stack_slots = 4096};
  CHECK(zh_engine_new(&cfg, &e) == NULL);
  CHECK_EQ_INT(e->config.max_memory_pages, 100);
  CHECK_EQ_INT(e->config.max_call_depth, 50);
  CHECK_EQ_INT(e->config.stack_slots, 4096);
  zh_engine_free(e);
  zh_error *err = zh_engine_new(NULL, NULL);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_USAGE);
  zh_error_free(err);
  zh_engine_free(NULL);
}

/* ---- stores ---- */

static int owned_objs[3], release_log[8], release_n;
static void log_release(void *obj) {
  release_log[release_n++] = (int)((int *)obj - owned_objs) + 1;
}

static void test_store_basics(void) {
  zh_engine_config cfg = {.max_call_depth = 100, .stack_slots = 1000};
  zh_engine *e = NULL;
  CHECK(zh_engine_new(&cfg, &e) == NULL);
  zh_store *s = NULL;
  CHECK(zh_store_new(e, &s) == NULL);
  CHECK(s && s->engine == e);
  CHECK_EQ_INT(s->stack_end - s->stack, 1000);
  CHECK_EQ_INT(s->max_depth, 100);
  CHECK(s->frames != NULL);
  s->stack[0] = 1;
  s->stack[999] = 2;
  s->frames[99].fp = s->stack;
  /* One guard page past the (page-rounded) stack. */
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  CHECK(faults_on_read((uint8_t *)s->stack + ((size_t)1000 * 8 + pg - 1) / pg * pg));
  CHECK(zh_store_data(s) == NULL);
  int ctx;
  zh_store_set_data(s, &ctx);
  CHECK(zh_store_data(s) == &ctx);

  release_n = 0;
  for (int i = 1; i <= 3; i++)
    CHECK(zh_store_own(s, &owned_objs[i - 1], log_release));
  CHECK_EQ_INT(atomic_load(&s->interrupt), 0);
  zh_store_interrupt(s);
  CHECK_EQ_INT(atomic_load(&s->interrupt), 1);
  zh_store_free(s);
  CHECK_EQ_INT(release_n, 3);
  CHECK(release_log[0] == 3 && release_log[1] == 2 && release_log[2] == 1);

  /* Defaults: a 8 MiB stack is reserved, not committed. */
  zh_engine *d = new_engine(0);
  CHECK(zh_store_new(d, &s) == NULL);
  CHECK_EQ_INT(s->stack_end - s->stack, 1 << 20);
  CHECK_EQ_INT(s->max_depth, 20000);
  zh_store_free(s);
  zh_store_free(NULL);
  zh_error *err = zh_store_new(d, NULL);
  CHECK_EQ_INT(zh_error_status(err), ZH_ERR_USAGE);
  zh_error_free(err);
  zh_engine_free(d);
  zh_engine_free(e);
}

static void test_deadlines(void) {
  zh_engine *e = new_engine(0);
  zh_store *s1, *s2, *s3, *s4;
  CHECK(zh_store_new(e, &s1) == NULL);
  CHECK(zh_store_new(e, &s2) == NULL);
  CHECK(zh_store_new(e, &s3) == NULL);
  CHECK(zh_store_new(e, &s4) == NULL);

  zh_store_set_timeout(s1, 200 * 1000000ull); /* far: armed first, fires last */
  zh_store_set_timeout(s2, 20 * 1000000ull);  /* nearer: must wake the sleeping watchdog */
  zh_store_set_timeout(s3, 20 * 1000000ull);
  zh_store_set_timeout(s3, 0); /* disarmed */
  zh_store_set_timeout(s4, 20 * 1000000ull);
  CHECK(e->watchdog_running);
  sleep_ms(100);
  CHECK_EQ_INT(atomic_load(&s2->interrupt), ZH_INTERRUPT_DEADLINE);
  CHECK_EQ_INT(atomic_load(&s4->interrupt), ZH_INTERRUPT_DEADLINE);
  CHECK_EQ_INT(atomic_load(&s3->interrupt), 0);
  CHECK_EQ_INT(atomic_load(&s1->interrupt), 0);
  pthread_mutex_lock(&e->lock);
  CHECK(e->deadlines == s1 && s1->next_deadline == NULL); /* fired ones are unlinked */
  CHECK_EQ_INT(s2->deadline_ns, 0);
  pthread_mutex_unlock(&e->lock);
  sleep_ms(200);
  CHECK_EQ_INT(atomic_load(&s1->interrupt), ZH_INTERRUPT_DEADLINE);

  /* Re-arming replaces the old deadline; freeing an armed store unlinks it. */
  atomic_store(&s2->interrupt, 0);
  zh_store_set_timeout(s2, 10 * 1000000ull);
  zh_store_set_timeout(s2, 10000 * 1000000ull);
  zh_store_set_timeout(s3, 10000 * 1000000ull);
  sleep_ms(50);
  CHECK_EQ_INT(atomic_load(&s2->interrupt), 0);
  zh_store_free(s3);
  pthread_mutex_lock(&e->lock);
  CHECK(e->deadlines == s2 && s2->next_deadline == NULL);
  pthread_mutex_unlock(&e->lock);
  zh_store_free(s1);
  zh_store_free(s2); /* still armed */
  zh_store_free(s4);
  zh_engine_free(e); /* joins the watchdog */

  /* An engine whose watchdog never started frees cleanly too. */
  zh_engine_free(new_engine(0));
}

int main(void) {
  zh_engine *e = new_engine(0);
  test_init_grow_limits(e);
  test_pool_reuse(e);
  test_images(e);
  test_no_leaks(e);
  time_image_init(e);
  test_types(e);
  zh_engine_free(e);
  test_types_threads();
  test_engine_config();
  test_store_basics();
  test_deadlines();
  TEST_SUMMARY();
}
