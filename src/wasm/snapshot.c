/* Snapshots of instance groups: freeze N linked instances once, stamp out copies cheaply.
 *
 * The snapshot keeps the original instances (in the store it took over) as the image of
 * everything but linear memory: each memory a member defines is frozen into a sealed memfd
 * image. A
 * copy of member k is one malloc plus a memcpy of its instance block. Every pointer that
 * the block or its tables hold into an original block (an imported memory, table or
 * global, a function of any member in `funcs`, in a table, a global or an element
 * segment) is then relocated: a pointer into original block j becomes the same offset in
 * copy j. Pointers outside every block (host functions, functions of instances outside
 * the group, externrefs) are kept. The members are validated once, when the snapshot is
 * made, so stamping trusts them.
 *
 * Most of a big module's block is its function structs (72 bytes each: 0.9 MB for 12,500
 * functions), which never change once made. So a released copy's block goes to a small
 * cache in its store, and the next copy of the same member in that store reuses it: its
 * functions are already right for that address, and only the rest is copied again. A
 * server worker that stamps and rolls back per request copies about a tenth as much. */
#include "wasm/snapshot.h"
#include "wasm/error.h"
#include "wasm/objects.h"

#include <stdlib.h>
#include <string.h>

/* For relocating a funcref table fast: which member each element points into. */
#define WHO_NONE 255u /* a null, host or outside function; also: groups past 254 members */

typedef struct snap_member {
  const zh_inst_block *tb; /* the original, never run again */
  zh_inst_layout layout;
  uint8_t **who; /* per own table: NULL, or one byte per element (member or WHO_NONE) */
  uint8_t *fwho; /* NULL, or one byte per imported function (member or WHO_NONE) */
  /* One image per memory the member defines (layout.nown_memories), in index order. */
  zh_mem_image *images;
} snap_member;

/* An original block's address range; the array is sorted by `lo` for lookups. */
typedef struct snap_range {
  uintptr_t lo, hi;
  uint32_t member;
} snap_range;

/* Released copies kept per store; a group's members are a few, so a few dozen suffice. */
#define BLOCK_CACHE_MAX 32u

struct zh_snapshot {
  zh_engine *engine;
  uint64_t id;     /* unique in the engine: keys the stores' block caches */
  zh_store *store; /* owns the originals */
  uint32_t n;
  snap_member *members;
  snap_range *ranges;
  uintptr_t lo, hi; /* hull of all ranges: most pointers are rejected by this test alone */
};

size_t zh_snapshot_count(const zh_snapshot *snap) { return snap ? snap->n : 0; }

/* Safe on images never made: a zeroed image holds no file. */
static void free_images(snap_member *mb) {
  if (!mb->images)
    return;
  for (uint32_t i = 0; i < mb->layout.nown_memories; i++)
    zh_mem_image_release(&mb->images[i]);
  free(mb->images);
  mb->images = NULL;
}

static void free_who(snap_member *mb) {
  free(mb->fwho);
  mb->fwho = NULL;
  if (!mb->who)
    return;
  for (uint32_t t = 0; t < mb->layout.nown_tables; t++)
    free(mb->who[t]);
  free(mb->who);
  mb->who = NULL;
}

void zh_snapshot_free(zh_snapshot *snap) {
  if (!snap)
    return;
  for (uint32_t k = 0; k < snap->n; k++) {
    free_images(&snap->members[k]);
    free_who(&snap->members[k]);
  }
  zh_store_free(snap->store);
  free(snap->members);
  free(snap->ranges);
  free(snap);
}

/* The member whose original block contains `p`, or -1. */
static int64_t member_at(const zh_snapshot *s, const void *p) {
  uintptr_t u = (uintptr_t)p;
  if (u < s->lo || u >= s->hi)
    return -1;
  uint32_t a = 0, b = s->n;
  while (a < b) {
    uint32_t m = a + (b - a) / 2;
    if (u < s->ranges[m].lo)
      b = m;
    else if (u >= s->ranges[m].hi)
      a = m + 1;
    else
      return s->ranges[m].member;
  }
  return -1;
}

/* `p` aimed at the copies: a pointer into original block j moves to copy j. */
static inline void *reloc(const zh_snapshot *s, zh_instance *const *copies, const void *p) {
  int64_t j = member_at(s, p);
  if (j < 0)
    return (void *)(uintptr_t)p;
  return (char *)copies[j] + ((uintptr_t)p - (uintptr_t)s->members[j].tb);
}

int64_t zh_snapshot_locate(const zh_snapshot *snap, const void *p, size_t *offset) {
  int64_t j = member_at(snap, p);
  *offset = j < 0 ? 0 : (size_t)((uintptr_t)p - (uintptr_t)snap->members[j].tb);
  return j;
}

static int cmp_range(const void *a, const void *b) {
  const snap_range *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* ---- validation ---- */

/* The member that defines the imported object `p` of kind `kind`, -1 when none does. */
static int64_t definer(const zh_snapshot *s, zh_extern_kind kind, const void *p) {
  int64_t j = member_at(s, p);
  if (j < 0)
    return -1;
  const zh_inst_block *tb = s->members[j].tb;
  const zh_inst_layout *l = &s->members[j].layout;
  uintptr_t u = (uintptr_t)p;
  switch (kind) {
  case ZH_EXTERN_FUNC: {
    uintptr_t lo = (uintptr_t)tb->inst.own_funcs;
    return u >= lo && u < lo + l->nown_funcs * sizeof(zh_func) ? j : -1;
  }
  case ZH_EXTERN_TABLE: {
    uintptr_t lo = (uintptr_t)tb->own_tables;
    return u >= lo && u < lo + l->nown_tables * sizeof(zh_table) ? j : -1;
  }
  case ZH_EXTERN_MEMORY: {
    uintptr_t lo = (uintptr_t)tb->own_memories;
    return u >= lo && u < lo + l->nown_memories * sizeof(zh_memory) ? j : -1;
  }
  case ZH_EXTERN_GLOBAL: {
    uintptr_t lo = (uintptr_t)tb->own_globals;
    return u >= lo && u < lo + l->nown_globals * sizeof(zh_global) ? j : -1;
  }
  }
  return -1;
}

/* A wasm function of an instance outside the group but in the snapshot's store: that
 * store becomes the snapshot's, nothing may run there, and the instance's memory may be
 * a member's (released by the snapshot). */
static bool stranded(const zh_snapshot *s, const zh_func *f) {
  return f && f->inst && f->inst->store == s->members[0].tb->inst.store &&
         definer(s, ZH_EXTERN_FUNC, f) < 0;
}

static zh_error *stranded_error(uint32_t k, const char *where, uint32_t index) {
  return zh_error_new(ZH_ERR_UNLINKABLE,
                      "snapshot: instance %u's %s %u refers to a function of an instance "
                      "outside the group in the same store: add that instance to the group, "
                      "or make it in another store",
                      k, where, index);
}

/* Function references held by member k (tables, globals, live element segments) point
 * at members, host functions or instances of other stores. */
static zh_error *check_member_refs(const zh_snapshot *s, uint32_t k) {
  const zh_inst_block *tb = s->members[k].tb;
  const zh_module *m = tb->inst.module;
  for (uint32_t t = 0; t < tb->nown_tables; t++) {
    const zh_table *tab = &tb->own_tables[t];
    for (uint32_t i = 0; tab->elem == ZH_FUNCREF && i < tab->size; i++)
      if (stranded(s, tab->elems[i]))
        return stranded_error(k, "table", m->ntable_imports + t);
  }
  for (uint32_t g = 0; g < s->members[k].layout.nown_globals; g++)
    if (tb->own_globals[g].type == ZH_FUNCREF &&
        stranded(s, (const zh_func *)(uintptr_t)tb->own_globals[g].value[0]))
      return stranded_error(k, "global", m->nglobal_imports + g);
  for (uint32_t e = 0; e < m->nelems; e++)
    for (uint32_t i = 0; m->elems[e].type == ZH_FUNCREF && i < tb->inst.elem_len[e]; i++)
      if (stranded(s, tb->inst.elem_items[e][i]))
        return stranded_error(k, "element segment", e);
  return NULL;
}

/* Every import of member k comes from an earlier member, or is a function (or an
 * immutable global) from outside that all copies may share. */
static zh_error *check_member_imports(const zh_snapshot *s, uint32_t k) {
  const zh_instance *inst = &s->members[k].tb->inst;
  const zh_module *m = inst->module;
  uint32_t nf = 0, nt = 0, nm = 0, ng = 0;
  for (uint32_t i = 0; i < m->nimports; i++) {
    const zh_import *im = &m->imports[i];
    const void *obj = NULL;
    bool shareable = false;
    switch (im->kind) {
    case ZH_EXTERN_FUNC:
      obj = inst->funcs[nf++];
      shareable = !stranded(s, obj);
      break;
    case ZH_EXTERN_TABLE:
      obj = inst->tables[nt++];
      break;
    case ZH_EXTERN_MEMORY:
      obj = inst->memories[nm++];
      break;
    case ZH_EXTERN_GLOBAL:
      obj = inst->globals[ng];
      shareable = !inst->globals[ng]->mutable_;
      ng++;
      break;
    }
    int64_t j = definer(s, im->kind, obj);
    if (im->kind == ZH_EXTERN_FUNC && !shareable)
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "snapshot: instance %u imports function \"%s\".\"%s\" from an "
                          "instance outside the group in the same store: add that instance "
                          "to the group, or make it in another store",
                          k, im->module_cstr, im->name_cstr);
    if (j < 0 && !shareable)
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "snapshot: instance %u imports %s \"%s\".\"%s\" from outside the "
                          "group; its copies would share it",
                          k, zh_extern_kind_name(im->kind), im->module_cstr, im->name_cstr);
    if (j >= (int64_t)k)
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "snapshot: instance %u imports %s \"%s\".\"%s\" from instance %u of "
                          "the group, which is not before it (list the group in "
                          "instantiation order)",
                          k, zh_extern_kind_name(im->kind), im->module_cstr, im->name_cstr,
                          (uint32_t)j);
  }
  return NULL;
}

static zh_error *check_group(zh_store *store, zh_instance *const *insts, size_t n) {
  if (store->depth || store->host_depth)
    return zh_error_new(ZH_ERR_USAGE, "zh_snapshot_new: a call is running in the store");
  for (size_t k = 0; k < n; k++) {
    if (!insts[k])
      return zh_error_new(ZH_ERR_USAGE, "zh_snapshot_new: instance %zu is NULL", k);
    if (insts[k]->store != store)
      return zh_error_new(ZH_ERR_USAGE, "zh_snapshot_new: instance %zu belongs to another store",
                          k);
    for (size_t j = 0; j < k; j++)
      if (insts[j] == insts[k])
        return zh_error_new(ZH_ERR_USAGE, "zh_snapshot_new: instance %zu is listed twice", k);
  }
  return NULL;
}

/* Which member each element of the member's funcref tables points into. */
static bool describe_tables(const zh_snapshot *s, snap_member *mb) {
  if (mb->layout.nown_tables == 0)
    return true;
  mb->who = calloc(mb->layout.nown_tables, sizeof *mb->who);
  if (!mb->who)
    return false;
  for (uint32_t t = 0; t < mb->layout.nown_tables; t++) {
    const zh_table *tab = &mb->tb->own_tables[t];
    if (tab->elem != ZH_FUNCREF || tab->size == 0)
      continue;
    uint8_t *w = malloc(tab->size);
    if (!w)
      return false;
    for (uint32_t i = 0; i < tab->size; i++) {
      int64_t j = member_at(s, tab->elems[i]);
      w[i] = j < 0 ? WHO_NONE : (uint8_t)j;
    }
    mb->who[t] = w;
  }
  return true;
}

/* Which member each imported function points into: a stamp then moves them without
 * searching the ranges. */
static bool describe_imports(const zh_snapshot *s, snap_member *mb) {
  uint32_t n = mb->tb->inst.module->nfunc_imports;
  if (n == 0)
    return true;
  if (!(mb->fwho = malloc(n)))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    int64_t j = member_at(s, mb->tb->inst.funcs[i]);
    mb->fwho[i] = j < 0 ? WHO_NONE : (uint8_t)j;
  }
  return true;
}

/* Members, ranges and checks; no state of the originals changes. */
static zh_error *snapshot_describe(zh_snapshot *s, zh_instance *const *insts) {
  s->members = calloc(s->n, sizeof *s->members);
  s->ranges = calloc(s->n, sizeof *s->ranges);
  if (!s->members || !s->ranges)
    return zh_error_oom();
  s->lo = UINTPTR_MAX;
  for (uint32_t k = 0; k < s->n; k++) {
    snap_member *mb = &s->members[k];
    mb->tb = (const zh_inst_block *)insts[k];
    if (!zh_inst_layout_compute(insts[k]->module, &mb->layout)) /* instantiation did it */
      return zh_error_new(ZH_ERR_RESOURCE, "instance too large");
    uintptr_t lo = (uintptr_t)mb->tb;
    s->ranges[k] = (snap_range){lo, lo + mb->layout.size, k};
    if (lo < s->lo)
      s->lo = lo;
    if (lo + mb->layout.size > s->hi)
      s->hi = lo + mb->layout.size;
  }
  qsort(s->ranges, s->n, sizeof *s->ranges, cmp_range);
  for (uint32_t k = 0; k < s->n; k++) {
    zh_error *err = check_member_imports(s, k);
    if (!err)
      err = check_member_refs(s, k);
    if (err)
      return err;
  }
  if (s->n < WHO_NONE) {
    for (uint32_t k = 0; k < s->n; k++)
      if (!describe_tables(s, &s->members[k]) || !describe_imports(s, &s->members[k]))
        return zh_error_oom();
  }
  return NULL;
}

/* Freezes every memory each member defines; on failure the caller releases the images
 * made so far (free_images). */
static zh_error *snapshot_images(zh_snapshot *s) {
  for (uint32_t k = 0; k < s->n; k++) {
    snap_member *mb = &s->members[k];
    uint32_t n = mb->layout.nown_memories;
    if (n == 0)
      continue;
    mb->images = calloc(n, sizeof *mb->images);
    if (!mb->images)
      return zh_error_oom();
    for (uint32_t i = 0; i < n; i++) {
      zh_error *err = zh_mem_snapshot(&mb->tb->own_memories[i], &mb->images[i]);
      if (err)
        return zh_error_prefix(err, "snapshot of instance %u, memory %u", k,
                               mb->tb->inst.module->nmem_imports + i);
    }
  }
  return NULL;
}

zh_error *zh_snapshot_new(zh_store *store, zh_instance *const *insts, size_t n, zh_snapshot **out) {
  if (out)
    *out = NULL;
  if (!store || !insts || !out || n == 0)
    return zh_error_new(ZH_ERR_USAGE, "zh_snapshot_new: store, instances (at least one) and out "
                                      "are required");
  if (n > UINT32_MAX / 2)
    return zh_error_new(ZH_ERR_USAGE, "zh_snapshot_new: %zu instances", n);
  zh_error *err = check_group(store, insts, n);
  if (err)
    return err;
  zh_snapshot *s = calloc(1, sizeof *s);
  if (!s)
    return zh_error_oom();
  s->engine = store->engine;
  s->n = (uint32_t)n;
  pthread_mutex_lock(&s->engine->lock);
  s->id = ++s->engine->snapshot_ids;
  pthread_mutex_unlock(&s->engine->lock);
  err = snapshot_describe(s, insts);
  if (!err)
    err = snapshot_images(s);
  if (err) {
    for (uint32_t k = 0; k < s->n && s->members; k++) {
      free_images(&s->members[k]);
      free_who(&s->members[k]);
    }
    free(s->members);
    free(s->ranges);
    free(s);
    return err;
  }
  /* The images hold the bytes now; the live regions go back to the pool. The originals'
   * memory pointers keep their values, which relocation needs; a zeroed memory is safe to
   * release again when the store goes. */
  for (uint32_t k = 0; k < s->n; k++) {
    zh_inst_block *b = (zh_inst_block *)insts[k];
    for (uint32_t i = 0; i < b->nown_memories; i++)
      zh_mem_release(&b->own_memories[i]);
  }
  s->store = store;
  *out = s;
  return NULL;
}

/* ---- stamping ---- */

/* The release hook of copies: the block waits in the store's cache (or is freed when the
 * cache is full) with its memories mapped and its tables' element arrays allocated, both
 * for the next copy of the member to reuse. */
static void copy_release(void *obj) {
  zh_inst_block *b = obj;
  zh_store *store = b->inst.store;
  if (store->nblock_cache >= BLOCK_CACHE_MAX) {
    zh_inst_release(b);
    return;
  }
  /* The memories stay mapped with the block: the next copy of this member resets them in
   * place (zh_mem_reset_to_image) instead of mapping the images anew and unmapping them. */
  b->cache_next = store->block_cache;
  store->block_cache = b;
  store->nblock_cache++;
}

/* A cached block of member k of this snapshot, or NULL. */
static zh_inst_block *cache_take(const zh_snapshot *s, uint32_t k, zh_store *store) {
  for (zh_inst_block **at = &store->block_cache; *at; at = &(*at)->cache_next) {
    zh_inst_block *b = *at;
    if (b->snap_id == s->id && b->snap_member == k) {
      *at = b->cache_next;
      store->nblock_cache--;
      return b;
    }
  }
  return NULL;
}

/* Copy of member k's block, registered with `store`, detached from the original's
 * separately allocated parts (table elements, memory regions); NULL when out of memory. A
 * block reused from the cache has its function structs and own `funcs` entries in place. */
static zh_inst_block *copy_block(const zh_snapshot *s, uint32_t k, zh_store *store) {
  const snap_member *mb = &s->members[k];
  const zh_inst_layout *l = &mb->layout;
  zh_inst_block *b = cache_take(s, k, store);
  bool fresh = b == NULL;
  /* A cached block's memories are still mapped: keep them across the copy of the template,
   * which would overwrite them (a few memories on the stack; more than that are rare and
   * are released instead when there is no room to keep them). */
  zh_memory kept_few[4], *kept = NULL;
  uint32_t nkept = b ? b->nown_memories : 0;
  if (nkept) {
    kept = nkept <= 4 ? kept_few : malloc(nkept * sizeof *kept);
    if (kept)
      memcpy(kept, b->own_memories, nkept * sizeof *kept);
    else
      for (uint32_t i = 0; i < nkept; i++)
        zh_mem_release(&b->own_memories[i]);
  }
  /* Its tables' element arrays too (each `size` entries, as a table's array always is); a
   * copy refills them. */
  struct {
    void **elems;
    uint32_t size;
  } tkept[4] = {{NULL, 0}};
  uint32_t ntkept = b ? b->nown_tables : 0;
  if (ntkept > 4) {
    zh_inst_release_tables(b);
    ntkept = 0;
  }
  for (uint32_t t = 0; t < ntkept; t++) {
    tkept[t].elems = b->own_tables[t].elems;
    tkept[t].size = b->own_tables[t].elems ? b->own_tables[t].size : 0;
  }
  if (b) {
    /* Everything but the function index space and the function structs, which the
     * layout puts between the header and the tables. */
    memcpy(b, mb->tb, l->funcs);
    memcpy((char *)b + l->tables, (const char *)mb->tb + l->tables, l->size - l->tables);
  } else {
    b = malloc(l->size);
    if (!b)
      return NULL;
    memcpy(b, mb->tb, l->size);
  }
  const zh_module *m = mb->tb->inst.module;
  zh_inst_carve(b, m, l);
  /* Function structs are set before the block can reach the cache (a failed stamp
   * releases it at once), so a cached block always has them right. */
  for (uint32_t i = 0; fresh && i < l->nown_funcs; i++) {
    b->inst.own_funcs[i].inst = &b->inst;
    b->inst.funcs[m->nfunc_imports + i] = &b->inst.own_funcs[i];
  }
  for (uint32_t t = 0; t < l->nown_tables; t++) { /* copy_tables sizes and fills them */
    b->own_tables[t].elems = t < ntkept ? tkept[t].elems : NULL;
    b->own_tables[t].size = t < ntkept ? tkept[t].size : 0;
  }
  if (b->nown_memories)
    memset(b->own_memories, 0, b->nown_memories * sizeof *b->own_memories);
  if (kept) { /* the mappings a cached block kept */
    memcpy(b->own_memories, kept, nkept * sizeof *kept);
    if (kept != kept_few)
      free(kept);
  }
  b->inst.store = store;
  b->inst.memory = NULL;
  b->inst.data = NULL;
  b->snap_id = s->id;
  b->snap_member = k;
  b->cache_next = NULL;
  if (!zh_store_own(store, b, copy_release))
    return NULL; /* released (to the cache) already */
  return b;
}

/* Copies `n` funcref elements, moving each by its member's displacement (none for
 * WHO_NONE): a table of thousands is one pass without lookups. */
static void reloc_elems(void **dst, void *const *src, const uint8_t *who, uint32_t n,
                        const uintptr_t *delta) {
  for (uint32_t i = 0; i < n; i++)
    dst[i] = (void *)((uintptr_t)src[i] + delta[who[i]]);
}

static zh_error *copy_tables(const zh_snapshot *s, uint32_t k, zh_instance *const *copies,
                             const uintptr_t *delta) {
  const snap_member *mb = &s->members[k];
  const zh_inst_block *tb = mb->tb;
  zh_inst_block *b = (zh_inst_block *)copies[k];
  const zh_module *m = tb->inst.module;
  for (uint32_t i = 0; i < m->ntable_imports; i++)
    b->inst.tables[i] = reloc(s, copies, tb->inst.tables[i]);
  for (uint32_t t = 0; t < b->nown_tables; t++) {
    const zh_table *src = &tb->own_tables[t];
    zh_table *dst = &b->own_tables[t];
    b->inst.tables[m->ntable_imports + t] = dst;
    if (!src->size) { /* an empty table has no array */
      free(dst->elems);
      dst->elems = NULL;
    } else if (!dst->elems || dst->size != src->size) { /* not a cached array */
      void **e = realloc(dst->elems, (size_t)src->size * sizeof(void *));
      if (!e)
        return zh_error_oom(); /* dst->elems goes with the block */
      dst->elems = e;
    }
    if (src->size) {
      if (mb->who && mb->who[t]) {
        reloc_elems(dst->elems, src->elems, mb->who[t], src->size, delta);
      } else if (src->elem == ZH_FUNCREF) {
        for (uint32_t i = 0; i < src->size; i++)
          dst->elems[i] = reloc(s, copies, src->elems[i]);
      } else {
        memcpy(dst->elems, src->elems, (size_t)src->size * sizeof(void *));
      }
    }
    dst->size = src->size;
  }
  return NULL;
}

/* Everything of copy k but its own functions, tables and memory. */
static void relocate_refs(const zh_snapshot *s, uint32_t k, zh_instance *const *copies,
                          const uintptr_t *delta) {
  const zh_inst_block *tb = s->members[k].tb;
  zh_inst_block *b = (zh_inst_block *)copies[k];
  zh_instance *inst = &b->inst;
  const zh_module *m = tb->inst.module;
  const zh_inst_layout *l = &s->members[k].layout;
  const uint8_t *fwho = s->members[k].fwho; /* NULL: search the ranges */
  for (uint32_t i = 0; i < m->nfunc_imports; i++)
    inst->funcs[i] = fwho ? (zh_func *)((uintptr_t)tb->inst.funcs[i] + delta[fwho[i]])
                          : reloc(s, copies, tb->inst.funcs[i]);
  for (uint32_t i = 0; i < m->nglobal_imports; i++)
    inst->globals[i] = reloc(s, copies, tb->inst.globals[i]);
  for (uint32_t i = 0; i < l->nown_globals; i++) {
    zh_global *g = &b->own_globals[i];
    inst->globals[m->nglobal_imports + i] = g;
    if (g->type == ZH_FUNCREF)
      g->value[0] = (uint64_t)(uintptr_t)reloc(s, copies, (void *)(uintptr_t)g->value[0]);
  }
  for (uint32_t i = 0; i < m->nelems; i++) {
    if (m->elems[i].type != ZH_FUNCREF)
      continue;
    void **items = inst->elem_items[i];
    for (uint32_t e = 0; e < inst->elem_len[i]; e++)
      items[e] = reloc(s, copies, items[e]);
  }
}

/* Imported memories are an earlier member's (relocated); own ones are mapped from their
 * images. */
static zh_error *attach_memories(const zh_snapshot *s, uint32_t k, zh_instance *const *copies) {
  const snap_member *mb = &s->members[k];
  zh_inst_block *b = (zh_inst_block *)copies[k];
  const zh_module *m = mb->tb->inst.module;
  for (uint32_t i = 0; i < m->nmem_imports; i++)
    b->inst.memories[i] = reloc(s, copies, mb->tb->inst.memories[i]);
  for (uint32_t i = 0; i < b->nown_memories; i++) {
    zh_memory *mem = &b->own_memories[i];
    zh_error *err = NULL;
    if (mem->region) { /* kept by a cached block: reset in place */
      const zh_store *st = b->inst.store;
      err = zh_mem_reset_to_image(mem, &mb->images[i], st->loan, st->dirty_loan);
      if (err) {
        zh_error_free(err); /* fall back to a new mapping */
        err = NULL;
        zh_mem_release(mem);
      }
    }
    if (!mem->region)
      err = zh_mem_init_from_image(s->engine, mem, &mb->images[i]);
    if (err)
      return err;
    b->inst.memories[m->nmem_imports + i] = &b->own_memories[i];
  }
  b->inst.memory = m->nmems ? b->inst.memories[0] : NULL;
  return NULL;
}

zh_error *zh_snapshot_instantiate(const zh_snapshot *snap, zh_store *store, zh_instance **out) {
  if (!snap || !store || !out)
    return zh_error_new(ZH_ERR_USAGE, "zh_snapshot_instantiate: snapshot, store and out are "
                                      "required");
  for (uint32_t k = 0; k < snap->n; k++)
    out[k] = NULL;
  if (store->engine != snap->engine)
    return zh_error_new(ZH_ERR_USAGE, "zh_snapshot_instantiate: store uses another engine");
  if (store == snap->store)
    return zh_error_new(ZH_ERR_USAGE, "zh_snapshot_instantiate: the snapshot owns that store");
  zh_mark mark = zh_store_mark(store);
  /* All blocks first: relocation needs every copy's address. `out` holds them. */
  /* by member; unsigned wrap-around does the sign. Only the members' entries and WHO_NONE's
   * are ever read: the whole array zeroed would cost more than the rest of a small stamp. */
  uintptr_t delta[WHO_NONE + 1];
  delta[WHO_NONE] = 0;
  bool blocks = true;
  for (uint32_t k = 0; k < snap->n && blocks; k++) {
    zh_inst_block *b = copy_block(snap, k, store);
    blocks = b != NULL;
    if (b)
      out[k] = &b->inst;
    if (b && k < WHO_NONE)
      delta[k] = (uintptr_t)b - (uintptr_t)snap->members[k].tb;
  }
  zh_error *err = blocks ? NULL : zh_error_oom();
  for (uint32_t k = 0; blocks && k < snap->n && !err; k++) {
    relocate_refs(snap, k, out, delta);
    err = copy_tables(snap, k, out, delta);
    if (!err)
      err = attach_memories(snap, k, out);
  }
  if (err) {
    zh_store_truncate(store, mark); /* nothing can reference the copies yet */
    for (uint32_t k = 0; k < snap->n; k++)
      out[k] = NULL;
    return zh_error_prefix(err, "snapshot instantiate");
  }
  return NULL;
}
