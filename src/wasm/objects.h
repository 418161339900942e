/* Internal helpers for runtime objects (objects.c) and the instance block layout shared
 * by instantiation (instance.c) and templates (template.c). */
#ifndef ZH_WASM_OBJECTS_H
#define ZH_WASM_OBJECTS_H

#include "wasm/runtime.h"

#include <stddef.h>
#include <stdint.h>

/* Tables larger than this are refused (creation: ZH_ERR_RESOURCE; table.grow: -1) so a
 * hostile module cannot make the host allocate tens of gigabytes of element slots. */
#define ZH_TABLE_MAX_ELEMS 10000000u

/* Grows `table` by `delta` elements set to `init`; returns the old size, or -1 when the
 * result would exceed the table's max or ZH_TABLE_MAX_ELEMS, or allocation fails (the
 * table is then unchanged). This is table.grow for the interpreter. */
int64_t zh_table_grow(zh_table *table, uint32_t delta, void *init);

/* ---- instance block (instance.c, template.c) ----
 *
 * An instance and everything it defines live in one allocation: the zh_inst_block
 * header (whose first member is the zh_instance) followed by the arrays described by a
 * zh_inst_layout. Only table element arrays (they grow) and the linear memory regions are
 * separate. The block is registered with the store as one owned object. */

typedef struct zh_inst_layout {
  size_t size; /* bytes of the whole block */
  /* Byte offsets from the block start. */
  size_t funcs, own_funcs, tables, own_tables, memories, own_memories, globals, own_globals;
  size_t elem_items, elem_storage, elem_len, data_len;
  uint32_t nown_funcs, nown_tables, nown_memories, nown_globals;
  uint32_t nelem_storage; /* sum of all element segment lengths */
} zh_inst_layout;

typedef struct zh_inst_block {
  zh_instance inst; /* first: a zh_instance * is also the block pointer */
  uint32_t nown_tables;
  zh_table *own_tables; /* nown_tables structs inside the block */
  uint32_t nown_memories;
  zh_memory *own_memories; /* nown_memories structs inside the block */
  zh_global *own_globals;  /* inside the block */
  void **elem_storage;     /* backing store for inst.elem_items */
  /* Copies of snapshot members: which one (id 0: not a copy), and the store's cache link. */
  uint64_t snap_id;
  uint32_t snap_member;
  struct zh_inst_block *cache_next;
} zh_inst_block;

/* "function", "table", "memory" or "global", for messages. */
const char *zh_extern_kind_name(zh_extern_kind k);

/* Computes the block layout for `module`. Fails (false) only on size overflow. */
bool zh_inst_layout_compute(const zh_module *module, zh_inst_layout *l);
/* Points the block's arrays at their places per `l` (contents untouched). */
void zh_inst_carve(zh_inst_block *b, const zh_module *module, const zh_inst_layout *l);
/* The store release hook for instance blocks: frees table elements, the memory regions
 * and the block. Safe on a block that was only partially initialised (zeroed parts). */
void zh_inst_release(void *obj);
/* The same without freeing the block itself. */
void zh_inst_release_parts(zh_inst_block *b);
/* Only the tables' elements: a cached copy keeps its memories mapped (snapshot.c). */
void zh_inst_release_tables(zh_inst_block *b);

#endif
