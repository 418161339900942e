/* Linear memories in reserved virtual regions.
 *
 * On 64-bit Linux every memory reserves ZH_MEM_RESERVE bytes of address space up front
 * (PROT_NONE), of which only the first `size` bytes are readable and writable. An
 * access computes base + (uint32)addr + (uint32)offset, which is always below
 * 8 GiB + 16, so an out-of-bounds access lands on an inaccessible page and raises
 * SIGSEGV, which trap.c turns into a wasm trap. The base never moves, even on grow.
 *
 * Regions are pooled per engine; a released region is reset (its pages discarded) and
 * reused, so creating a memory costs an mprotect, not an mmap of 8 GiB. */
#ifndef ZH_WASM_MEMORY_H
#define ZH_WASM_MEMORY_H

#include "zerohop/engine.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZH_MEM_RESERVE ((uint64_t)8 << 30) /* 8 GiB: covers u32 addr + u32 offset */
#define ZH_MEM_GUARD ((uint64_t)64 << 10)  /* extra tail so 16-byte accesses fault too */

/* A pooled region, free for reuse. */
typedef struct zh_mem_region {
  struct zh_mem_region *next;
  uint8_t *base;
  uint64_t dirty; /* bytes that may hold data or mappings: must be reset before reuse */
  /* Resets in place (zh_mem_reset_to_image): the image's pages known to be private
   * copies (found by pagemap), valid while `tracked`, and the store-pool loan during which
   * the region was last reset (0: none). */
  uint32_t *priv;
  uint32_t npriv, priv_cap;
  bool tracked;
  uint64_t reset_loan;
} zh_mem_region;

typedef struct zh_mem_pool {
  pthread_mutex_t lock;
  zh_mem_region *free_list;
  uint32_t nfree;
  uint32_t max_free; /* regions kept; more are unmapped */
  /* /proc/self/pagemap, to find the pages a reset must restore (zh_mem_reset_to_image):
   * -2 not tried yet, -1 unusable here; set once under `lock`. */
  int pagemap_fd;
} zh_mem_pool;

struct zh_memory {
  uint8_t *base;      /* start of the reservation, stable */
  uint64_t size;      /* accessible bytes = pages * 64 KiB */
  uint64_t max_pages; /* min(declared max, engine limit) */
  bool has_max;       /* declared max present (affects import matching only) */
  uint64_t declared_max;
  zh_engine *engine;
  zh_mem_region *region; /* pool bookkeeping */
};

/* A frozen memory image for templates: a sealed memfd mapped copy-on-write. */
typedef struct zh_mem_image {
  int fd;              /* memfd holding `size` bytes */
  uint64_t size;       /* bytes of the snapshot (whole pages) */
  const uint8_t *view; /* the file mapped read-only, to restore pages from; NULL if none */
  uint64_t max_pages;
  bool has_max;
  uint64_t declared_max;
} zh_mem_image;

void zh_mem_pool_init(zh_mem_pool *pool);
void zh_mem_pool_destroy(zh_mem_pool *pool); /* unmaps pooled regions */

/* Creates a memory of `pages` pages with limit `max_pages` (already clamped by caller to
 * the engine limit). Fills `*mem`. ZH_ERR_RESOURCE if address space is exhausted. */
zh_error *zh_mem_init(zh_engine *engine, zh_memory *mem, uint64_t pages, uint64_t max_pages);
/* Grows by delta pages: returns old page count, or -1 if over max or the host refuses. */
int64_t zh_mem_grow(zh_memory *mem, uint64_t delta);
/* Returns the region to the engine pool (reset lazily). Safe on a zeroed struct. */
void zh_mem_release(zh_memory *mem);

/* Template support. */
zh_error *zh_mem_snapshot(const zh_memory *mem, zh_mem_image *out);
zh_error *zh_mem_init_from_image(zh_engine *engine, zh_memory *mem, const zh_mem_image *img);
/* Puts a memory made by zh_mem_init_from_image(img) back to the image's contents and
 * size, in place: the pages written since are copied back from the image, found through
 * /proc/self/pagemap (madvise(MADV_DONTNEED) where that is not readable).
 *
 * `loan` is the store-pool loan the store is in (0: none) and `dirty_loan` the last loan
 * of that store whose thread may have taken a page fault between take and give
 * (store_pool.c). When the memory was last reset in an earlier loan, after `dirty_loan`,
 * every loan since has been free of faults, so no page can have become a private copy (a
 * first write to a page mapped from the image is a fault of the writing thread, also when
 * the kernel writes it during a system call), and the pages pagemap found before are
 * restored without reading it again. A store whose loans alternate between templates
 * leaves a memory untouched for a loan or more; those loans count as long as they were
 * clean. On failure the caller releases the memory. */
zh_error *zh_mem_reset_to_image(zh_memory *mem, const zh_mem_image *img, uint64_t loan,
                                uint64_t dirty_loan);
void zh_mem_image_release(zh_mem_image *img);

#endif
