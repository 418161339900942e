/* `make bench-reset-probe`: what a reset in place pays to learn which pages a request
 * wrote (docs/PERFORMANCE.md section 11). A memory of N pages is mapped privately from a
 * memfd, as a template image is, with one page written (a private copy) and the
 * rest read; then, per call: pread of its N pagemap entries (what zh_mem_reset_to_image
 * reads when it must look), getrusage(RUSAGE_THREAD) (what the store pool reads at take
 * and give to skip that), getppid as the cost of a system call that does nothing, and the
 * memcpy of one 4 KiB page (what restoring a written page costs). Medians of ROUNDS rounds.
 *   bench/reset_probe [ROUNDS (7)] [CALLS (100000)] */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 31

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

enum probe { PAGEMAP, GETRUSAGE, NULL_CALL, PAGE_COPY, NPROBES };
static const char *const names[NPROBES] = {"pread of pagemap", "getrusage(RUSAGE_THREAD)",
                                           "getppid (a null system call)", "memcpy of a page"};

/* ns per call of probe `p` over `calls` calls. */
static double run(enum probe p, int pm, uint8_t *mem, size_t npages, uint64_t *entries,
                  uint8_t *page_src, long calls) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  off_t off = (off_t)((uintptr_t)mem / page * sizeof(uint64_t));
  struct rusage ru;
  uint64_t t0 = now_ns();
  for (long i = 0; i < calls; i++) {
    switch (p) {
    case PAGEMAP:
      if (pread(pm, entries, npages * sizeof *entries, off) != (ssize_t)(npages * 8))
        return -1;
      break;
    case GETRUSAGE:
      getrusage(RUSAGE_THREAD, &ru);
      break;
    case NULL_CALL:
      (void)getppid();
      break;
    default:
      memcpy(mem, page_src, page);
      __asm__ volatile("" ::"r"(mem) : "memory");
      break;
    }
  }
  return (double)(now_ns() - t0) / (double)calls;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 7;
  long calls = argc > 2 ? atol(argv[2]) : 100000;
  if (rounds < 1 || rounds > MAX_ROUNDS || calls < 1) {
    fprintf(stderr, "usage: reset_probe [ROUNDS 1..%d] [CALLS]\n", MAX_ROUNDS);
    return 2;
  }
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm < 0) {
    perror("reset_probe: /proc/self/pagemap");
    return 1;
  }
  static const size_t sizes[] = {32, 256, 2560}; /* 128 KiB (the C hello), 1 MiB, 10 MiB */
  uint8_t *page_src = calloc(1, page);
  if (!page_src)
    return 1;
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    size_t npages = sizes[s], bytes = npages * page;
    int fd = memfd_create("reset-probe", MFD_CLOEXEC);
    uint64_t *entries = malloc(npages * sizeof *entries);
    uint8_t *mem = MAP_FAILED;
    if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0 || !entries ||
        (mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
      perror("reset_probe: image");
      return 1;
    }
    for (size_t i = 0; i < bytes; i += page)
      (void)*(volatile uint8_t *)(mem + i);
    mem[0] = 1;
    printf("reset_probe: an image of %zu pages (%zu KiB), %ld calls, median of %d rounds\n", npages,
           bytes >> 10, calls, rounds);
    for (int p = 0; p < NPROBES; p++) {
      if (s > 0 && p != PAGEMAP)
        continue; /* only the pagemap read depends on the size */
      double v[MAX_ROUNDS];
      for (int r = 0; r < rounds; r++)
        v[r] = run((enum probe)p, pm, mem, npages, entries, page_src, calls);
      printf("  %-30s %8.0f ns\n", names[p], median(v, rounds));
    }
    munmap(mem, bytes);
    free(entries);
    close(fd);
  }
  free(page_src);
  close(pm);
  return 0;
}
