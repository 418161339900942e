/* Linear memories in reserved, pooled address-space regions; see memory.h.
 *
 * A region is ZH_MEM_RESERVE + ZH_MEM_GUARD bytes mapped PROT_NONE. A memory makes its
 * first `size` bytes read-write (anonymous, or a private copy-on-write mapping of a
 * template image) and grows with mprotect. Resetting a region is one
 * mmap(MAP_FIXED, PROT_NONE) over its dirty prefix: that discards the pages and any file
 * mapping at once, and leaves fresh zero pages for the next user. Regions are reset when
 * released (so pooled regions hold no memory) and checked again on reuse.
 *
 * With -DZH_BOUNDS_CHECKS the interpreter checks every access itself and the guard
 * region is not needed, but the layout is kept identical for simplicity. */
#include "wasm/memory.h"
#include "wasm/error.h"
#include "wasm/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

_Static_assert(sizeof(void *) == 8, "linear memories need a 64-bit address space");

#define REGION_BYTES (ZH_MEM_RESERVE + ZH_MEM_GUARD)
#define POOL_MAX_FREE 64

/* ---- pool ---- */

void zh_mem_pool_init(zh_mem_pool *pool) {
  pthread_mutex_init(&pool->lock, NULL);
  pool->free_list = NULL;
  pool->nfree = 0;
  pool->max_free = POOL_MAX_FREE;
  pool->pagemap_fd = -2;
}

static void region_destroy(zh_mem_region *r) {
  munmap(r->base, REGION_BYTES);
  free(r->priv);
  free(r);
}

void zh_mem_pool_destroy(zh_mem_pool *pool) {
  zh_mem_region *r = pool->free_list;
  while (r) {
    zh_mem_region *next = r->next;
    region_destroy(r);
    r = next;
  }
  pool->free_list = NULL;
  pool->nfree = 0;
  if (pool->pagemap_fd >= 0)
    close(pool->pagemap_fd);
  pthread_mutex_destroy(&pool->lock);
}

/* Back to a pristine PROT_NONE reservation; false if the kernel refused, after which
 * the region's layout is unknown and it must be unmapped. */
static bool region_reset(zh_mem_region *r) {
  r->tracked = false; /* the next image mapped here starts with no private page */
  r->npriv = 0;
  if (r->dirty == 0)
    return true;
  void *p = mmap(r->base, r->dirty, PROT_NONE,
                 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return false;
  r->dirty = 0;
  return true;
}

/* A reset region from the pool, or a new reservation; NULL with *err set on failure. */
static zh_mem_region *region_acquire(zh_engine *engine, zh_error **err) {
  zh_mem_pool *pool = &engine->pool;
  for (;;) {
    pthread_mutex_lock(&pool->lock);
    zh_mem_region *r = pool->free_list;
    if (r) {
      pool->free_list = r->next;
      pool->nfree--;
    }
    pthread_mutex_unlock(&pool->lock);
    if (!r)
      break;
    if (region_reset(r)) {
      r->next = NULL;
      return r;
    }
    region_destroy(r);
  }

  zh_mem_region *r = malloc(sizeof *r);
  if (!r) {
    *err = zh_error_oom();
    return NULL;
  }
  void *base =
      mmap(NULL, REGION_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    int e = errno;
    free(r);
    *err = zh_error_new(ZH_ERR_RESOURCE,
                        "cannot reserve %llu GiB of address space for linear memory: %s",
                        (unsigned long long)(ZH_MEM_RESERVE >> 30), strerror(e));
    return NULL;
  }
  memset(r, 0, sizeof *r);
  r->base = base;
  return r;
}

static void region_release(zh_engine *engine, zh_mem_region *r) {
  /* Reset now rather than on reuse, so pooled regions do not pin the old pages. */
  if (!region_reset(r)) {
    region_destroy(r);
    return;
  }
  zh_mem_pool *pool = &engine->pool;
  pthread_mutex_lock(&pool->lock);
  bool keep = pool->nfree < pool->max_free;
  if (keep) {
    r->next = pool->free_list;
    pool->free_list = r;
    pool->nfree++;
  }
  pthread_mutex_unlock(&pool->lock);
  if (!keep)
    region_destroy(r);
}

/* ---- memories ---- */

static uint64_t clamp_max(const zh_engine *engine, uint64_t max_pages) {
  uint64_t limit = engine->config.max_memory_pages;
  if (limit == 0 || limit > ZH_MAX_PAGES)
    limit = ZH_MAX_PAGES;
  return max_pages < limit ? max_pages : limit;
}

zh_error *zh_mem_init(zh_engine *engine, zh_memory *mem, uint64_t pages, uint64_t max_pages) {
  memset(mem, 0, sizeof *mem);
  max_pages = clamp_max(engine, max_pages);
  if (pages > max_pages) {
    return zh_error_new(ZH_ERR_RESOURCE,
                        "memory of %llu pages exceeds the limit of %llu pages (64 KiB each)",
                        (unsigned long long)pages, (unsigned long long)max_pages);
  }
  zh_error *err = NULL;
  zh_mem_region *r = region_acquire(engine, &err);
  if (!r)
    return err;
  uint64_t bytes = pages * ZH_PAGE_SIZE;
  if (bytes && mprotect(r->base, bytes, PROT_READ | PROT_WRITE) != 0) {
    int e = errno;
    r->dirty = bytes; /* may be partly applied */
    region_release(engine, r);
    return zh_error_new(ZH_ERR_RESOURCE, "cannot commit %llu bytes of linear memory: %s",
                        (unsigned long long)bytes, strerror(e));
  }
  r->dirty = bytes;
  mem->base = r->base;
  mem->size = bytes;
  mem->max_pages = max_pages;
  mem->engine = engine;
  mem->region = r;
  return NULL;
}

int64_t zh_mem_grow(zh_memory *mem, uint64_t delta) {
  uint64_t old = mem->size / ZH_PAGE_SIZE;
  if (delta == 0)
    return (int64_t)old;
  if (!mem->region || delta > mem->max_pages - old)
    return -1;
  uint64_t bytes = delta * ZH_PAGE_SIZE;
  /* Pages past the old size were never touched since the last reset: they read as zero. */
  if (mprotect(mem->base + mem->size, bytes, PROT_READ | PROT_WRITE) != 0) {
    /* A failed mprotect may have applied to part of the range: reset must cover it. */
    if (mem->region->dirty < mem->size + bytes)
      mem->region->dirty = mem->size + bytes;
    return -1;
  }
  mem->size += bytes;
  if (mem->region->dirty < mem->size)
    mem->region->dirty = mem->size;
  return (int64_t)old;
}

void zh_mem_release(zh_memory *mem) {
  if (!mem || !mem->region)
    return;
  zh_mem_region *r = mem->region;
  if (r->dirty < mem->size)
    r->dirty = mem->size;
  region_release(mem->engine, r);
  memset(mem, 0, sizeof *mem);
}

/* ---- template images ---- */

static bool all_zero(const uint8_t *p, size_t n) {
  return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static bool write_all(int fd, const uint8_t *p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, (off_t)off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return true;
}

zh_error *zh_mem_snapshot(const zh_memory *mem, zh_mem_image *out) {
  memset(out, 0, sizeof *out);
  out->fd = -1;
  out->max_pages = mem->max_pages;
  out->has_max = mem->has_max;
  out->declared_max = mem->declared_max;
  if (mem->size == 0)
    return NULL; /* nothing to map; no file needed */

  int fd = memfd_create("zerohop-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    return zh_error_new(ZH_ERR_RESOURCE, "cannot create memory image file: %s", strerror(errno));
  }
  const char *step = "size";
  if (ftruncate(fd, (off_t)mem->size) != 0)
    goto fail;
  /* Write only non-zero runs: the rest stays a hole, which costs nothing and reads as
   * zero. Heaps are usually mostly untouched. */
  step = "write";
  const uint64_t chunk = 4096;
  uint64_t run = 0;
  bool in_run = false;
  for (uint64_t off = 0; off < mem->size; off += chunk) {
    bool zero = all_zero(mem->base + off, chunk);
    if (!zero && !in_run) {
      run = off;
      in_run = true;
    } else if (zero && in_run) {
      if (!write_all(fd, mem->base + run, off - run, run))
        goto fail;
      in_run = false;
    }
  }
  if (in_run && !write_all(fd, mem->base + run, mem->size - run, run))
    goto fail;
  /* Sealed, the image can never change under the instances mapping it. */
  step = "seal";
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    goto fail;
  }
  /* Read-only view for resets in place (zh_mem_reset_to_image); a sealed file allows it. */
  step = "map";
  void *view = mmap(NULL, mem->size, PROT_READ, MAP_SHARED, fd, 0);
  if (view == MAP_FAILED)
    goto fail;
  out->fd = fd;
  out->size = mem->size;
  out->view = view;
  return NULL;

fail:;
  int e = errno;
  close(fd);
  return zh_error_new(ZH_ERR_RESOURCE, "cannot %s memory image file: %s", step, strerror(e));
}

zh_error *zh_mem_init_from_image(zh_engine *engine, zh_memory *mem, const zh_mem_image *img) {
  uint64_t pages = img->size / ZH_PAGE_SIZE;
  /* Start empty, then map the image over the front of the region: no copying. */
  zh_error *err = zh_mem_init(engine, mem, 0, img->max_pages);
  if (err)
    return err;
  if (pages > mem->max_pages) {
    uint64_t max = mem->max_pages;
    zh_mem_release(mem);
    return zh_error_new(ZH_ERR_RESOURCE,
                        "memory image of %llu pages exceeds the limit of %llu pages",
                        (unsigned long long)pages, (unsigned long long)max);
  }
  if (img->size) {
    mem->region->dirty = img->size; /* set first: a failed MAP_FIXED may leave debris */
    void *p =
        mmap(mem->base, img->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, img->fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      zh_mem_release(mem);
      return zh_error_new(ZH_ERR_RESOURCE, "cannot map memory image: %s", strerror(e));
    }
  }
  mem->size = img->size;
  mem->has_max = img->has_max;
  mem->declared_max = img->declared_max;
  return NULL;
}

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT ((uint64_t)1 << 63)
#define PM_SWAP ((uint64_t)1 << 62)
#define PM_FILE ((uint64_t)1 << 61) /* file page or shared anonymous: not a private copy */
#define PM_BATCH 512u               /* entries read per call */

/* Whether page `i` of a private file mapping may differ from the file: a private copy
 * (present, not a file page) or anything swapped. Conservative: only a page still
 * mapped from the file, or not mapped at all, counts as clean. */
static bool page_written(uint64_t e) {
  if (e & PM_SWAP)
    return true;
  return (e & PM_PRESENT) && !(e & PM_FILE);
}

static bool read_entries(int fd, const uint8_t *addr, size_t n, uint64_t *out) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  off_t off = (off_t)((uintptr_t)addr / page * sizeof(uint64_t));
  size_t want = n * sizeof(uint64_t);
  ssize_t got;
  do {
    got = pread(fd, out, want, off);
  } while (got < 0 && errno == EINTR);
  return got == (ssize_t)want;
}

/* Opens pagemap and checks, on a page of our own, that it tells a private copy from a
 * page of the file as page_written expects; -1 when it does not (or cannot be read). */
static int pagemap_probe(void) {
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  int mfd = memfd_create("zerohop-probe", MFD_CLOEXEC);
  uint8_t *p = MAP_FAILED;
  bool ok = mfd >= 0 && ftruncate(mfd, (off_t)page) == 0 &&
            (p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0)) != MAP_FAILED;
  uint64_t e = 0;
  if (ok) {
    volatile uint8_t *v = p;
    (void)v[0]; /* a read maps the file's page */
    ok = read_entries(fd, p, 1, &e) && !page_written(e) && (e & PM_PRESENT);
    v[0] = 1; /* a write makes a private copy */
    ok = ok && read_entries(fd, p, 1, &e) && page_written(e);
  }
  if (p != MAP_FAILED)
    munmap(p, page);
  if (mfd >= 0)
    close(mfd);
  if (!ok) {
    close(fd);
    return -1;
  }
  return fd;
}

static int pagemap_fd(zh_mem_pool *pool) {
  int fd = __atomic_load_n(&pool->pagemap_fd, __ATOMIC_ACQUIRE);
  if (fd != -2)
    return fd;
  pthread_mutex_lock(&pool->lock);
  if (pool->pagemap_fd == -2)
    __atomic_store_n(&pool->pagemap_fd, pagemap_probe(), __ATOMIC_RELEASE);
  fd = pool->pagemap_fd;
  pthread_mutex_unlock(&pool->lock);
  return fd;
}

/* Copies back the pages of [0, size) that differ from the image, and notes them in the
 * region (when it has room) for resets that can skip pagemap. Written pages stay private
 * copies, so the next request writes them without a fault, and nothing is unmapped: no
 * TLB shootdown on the other cores. */
static bool restore_written(int fd, zh_memory *mem, const zh_mem_image *img) {
  zh_mem_region *r = mem->region;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t npages = (size_t)(img->size / page);
  if (r->priv_cap < npages) {
    free(r->priv);
    r->priv = malloc(npages * sizeof *r->priv);
    r->priv_cap = r->priv ? (uint32_t)npages : 0;
  }
  r->npriv = 0;
  uint64_t e[PM_BATCH];
  for (size_t i = 0; i < npages; i += PM_BATCH) {
    size_t n = npages - i < PM_BATCH ? npages - i : PM_BATCH;
    if (!read_entries(fd, mem->base + i * page, n, e))
      return false;
    for (size_t k = 0; k < n; k++) {
      if (!page_written(e[k]))
        continue;
      memcpy(mem->base + (i + k) * page, img->view + (i + k) * page, page);
      if (r->priv_cap)
        r->priv[r->npriv++] = (uint32_t)(i + k);
    }
  }
  return true;
}

zh_error *zh_mem_reset_to_image(zh_memory *mem, const zh_mem_image *img, uint64_t loan,
                                uint64_t dirty_loan) {
  zh_mem_region *r = mem->region;
  if (!r || mem->size < img->size)
    return zh_error_new(ZH_ERR_USAGE, "memory reset: not a memory made from this image");
  /* Pages grown past the image: one mapping call discards and protects them again. */
  if (r->dirty > img->size) {
    void *p = mmap(r->base + img->size, r->dirty - img->size, PROT_NONE,
                   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      return zh_error_new(ZH_ERR_RESOURCE, "cannot reset grown memory: %s", strerror(errno));
    r->dirty = img->size;
  }
  /* Without pagemap: on a private file mapping MADV_DONTNEED drops the written (copied)
   * pages, and the next access reads the sealed image again. Unlike a new mapping it
   * takes the address-space lock only for reading. */
  int fd = img->size && img->view ? pagemap_fd(&mem->engine->pool) : -1;
  /* Last reset in an earlier loan, and no fault in any loan since (memory.h): the private
   * copies are the ones pagemap found then. */
  if (fd >= 0 && r->tracked && r->priv_cap && r->reset_loan && r->reset_loan < loan &&
      r->reset_loan > dirty_loan) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (uint32_t k = 0; k < r->npriv; k++)
      memcpy(mem->base + (size_t)r->priv[k] * page, img->view + (size_t)r->priv[k] * page, page);
  } else {
    r->tracked = false;
    if (img->size && !(fd >= 0 && restore_written(fd, mem, img))) {
      if (madvise(r->base, img->size, MADV_DONTNEED) != 0)
        return zh_error_new(ZH_ERR_RESOURCE, "cannot reset memory: %s", strerror(errno));
      fd = -1; /* which pages are private copies is not known now */
    }
  }
  r->tracked = fd >= 0 && r->priv_cap;
  r->reset_loan = loan;
  mem->size = img->size;
  mem->has_max = img->has_max;
  mem->declared_max = img->declared_max;
  return NULL;
}

void zh_mem_image_release(zh_mem_image *img) {
  /* Mappings keep their own reference to the file: live memories are unaffected. */
  if (img->size > 0 && img->fd >= 0)
    close(img->fd);
  if (img->view)
    munmap((void *)(uintptr_t)img->view, img->size);
  img->view = NULL;
  img->fd = -1;
  img->size = 0;
}
