/* Runtime objects: engine, store, instances, functions, memories, tables, globals.
 * Internal: the interpreter reaches into these directly. */
#ifndef ZH_WASM_RUNTIME_H
#define ZH_WASM_RUNTIME_H

#include "wasm/memory.h"
#include "wasm/module.h"
#include "zerohop/engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define ZH_PAGE_SIZE 65536u
#define ZH_MAX_PAGES 65536u

/* ---- engine ---- */

typedef struct zh_type_entry {
  uint32_t nparams, nresults;
  uint8_t *types;
} zh_type_entry;

#define ZH_TYPE_CHUNK0 64u
#define ZH_TYPE_NCHUNKS 26 /* 64 * (2^26 - 1) ids: the whole uint32 range */

struct zh_engine {
  zh_engine_config config; /* defaults filled in */
  pthread_mutex_t lock;    /* guards the type registry and the watchdog list */
  zh_type_entry *types;    /* canonical function types, index = id */
  uint32_t ntypes, cap_types;
  zh_mem_pool pool; /* reserved memory regions kept for reuse (own lock) */

  /* Deadline watchdog: one thread, started on first zh_store_set_timeout. */
  pthread_t watchdog;
  bool watchdog_running, watchdog_stop;
  pthread_cond_t watchdog_cond;
  struct zh_store *deadlines; /* stores with an armed deadline, linked by next_deadline */
  uint64_t watchdog_wake_ns;  /* when it next wakes unasked; UINT64_MAX: only if signalled */

  /* Type registry storage (engine.c). Entries never move, so zh_engine_type needs no
   * lock: chunk k holds ZH_TYPE_CHUNK0 << k entries and is never reallocated. `types`
   * above stays NULL. The hash maps a type to its id; used under `lock` only. */
  zh_type_entry *type_chunks[ZH_TYPE_NCHUNKS];
  uint32_t *type_hash; /* open addressing; UINT32_MAX = empty */
  uint32_t type_hash_cap;
  uint64_t snapshot_ids; /* last id given to a snapshot (under `lock`): keys block caches */
};

/* Interns a function type; returns its canonical id or UINT32_MAX on allocation failure. */
uint32_t zh_engine_intern_type(zh_engine *engine, const uint8_t *types, uint32_t nparams,
                               uint32_t nresults);
/* The canonical type for an id (stable for the engine's lifetime). */
const zh_type_entry *zh_engine_type(zh_engine *engine, uint32_t id);
/* Arms the watchdog to interrupt `store` at CLOCK_MONOTONIC time `deadline_ns`, or
 * disarms it (0). Starts the engine's watchdog thread on first use. */
void zh_engine_set_deadline(zh_engine *engine, struct zh_store *store, uint64_t deadline_ns);

/* ---- functions ---- */

struct zh_code; /* compile.h */

struct zh_func {
  uint32_t type_id; /* canonical id: call_indirect compares these */
  uint32_t nparams, nresults;
  const uint8_t *types; /* nparams + nresults value types */
  zh_instance *inst;    /* defining instance; NULL for host functions */
  struct zh_code *code; /* wasm functions: compiled body */
  zh_host_fn host;      /* host functions */
  void *env;
  uint32_t index;             /* function index within its module */
  const zh_valtype *valtypes; /* `types` widened, for zh_func_type (objects.c) */
  bool no_v128; /* set when no type is v128: slots = values, zh_invoke skips counting them
                 * (false, the default, is always safe) */
};

/* ---- memories, tables, globals ---- */

struct zh_table {
  uint8_t elem; /* ZH_FUNCREF or ZH_EXTERNREF */
  uint32_t size;
  uint32_t max; /* declared max, or UINT32_MAX */
  bool has_max; /* a max was declared (import matching: max may be UINT32_MAX) */
  void **elems; /* zh_func * or externref pointers; NULL is null */
};

struct zh_global {
  uint64_t value[2]; /* bits; refs store the pointer in value[0]; v128 uses both */
  uint8_t type;
  bool mutable_;
};

/* ---- instances ---- */

struct zh_instance {
  const zh_module *module;
  zh_store *store;
  zh_func **funcs;     /* whole function index space */
  zh_func *own_funcs;  /* storage for the module's own functions */
  zh_table **tables;   /* table index space */
  zh_memory *memory;   /* memories[0], or NULL: the interpreter's fast path */
  zh_global **globals; /* global index space */
  /* Segment state: elem items resolved to references at instantiation; a dropped
   * segment has length 0. */
  void ***elem_items;
  uint32_t *elem_len;
  uint32_t *data_len;   /* 0 once dropped */
  void *data;           /* embedder's, zh_instance_set_data; NULL in stamped copies */
  const char *name;     /* for backtraces (a component's core instance name), or NULL */
  zh_memory **memories; /* memory index space (module->nmems entries) */
};

/* ---- stores ---- */

/* One activation record of the interpreter, kept beside the value stack: where to
 * resume the caller, and what the callee is (for backtraces). */
typedef struct zh_frame {
  const uint8_t *ret_pc;      /* NULL: return to the host */
  uint64_t *fp;               /* caller's frame */
  zh_instance *inst;          /* caller's instance */
  const struct zh_code *code; /* callee */
} zh_frame;

/* Every object a store owns is on this list and freed with it. */
typedef struct zh_owned {
  struct zh_owned *next;
  void (*release)(void *obj);
  void *obj;
} zh_owned;

/* Interrupt flag bits: an explicit request stays until a call ends; a deadline's is
 * withdrawn when a new deadline is armed, so one that expired between calls is not
 * charged to the next call. */
#define ZH_INTERRUPT_REQUEST 1u
#define ZH_INTERRUPT_DEADLINE 2u

struct zh_store {
  zh_engine *engine;
  void *data;
  atomic_uint interrupt; /* nonzero: stop at the next back-edge or call (ZH_INTERRUPT_*) */
  uint64_t *stack;       /* value slots */
  uint64_t *stack_end;
  zh_frame *frames;
  uint32_t max_depth;
  uint32_t depth;        /* wasm frames live across nested host re-entries */
  uint32_t host_depth;   /* nested host->wasm entries */
  uint64_t *host_sp;     /* while a host function runs: first free slot above wasm frames */
  zh_instance *cur_inst; /* instance executing now: the fault handler checks its memory */
  uint32_t cur_depth;    /* innermost wasm frame now: backtraces of guard-page traps */
  zh_owned *owned;
  /* Nodes of released objects, for the next zh_store_own: a store rolled back per request
   * registers the same few objects again each time. */
  zh_owned *spare_owned;
  /* Blocks of released snapshot copies, kept for the next copy of the same snapshot
   * member (snapshot.c): their function structs are still valid at that address. */
  struct zh_inst_block *block_cache;
  uint32_t nblock_cache;
  /* Loans from a store pool (store_pool.c), numbered from 1: the current one (0 when not
   * lent), and the last one that ended with a page fault of the borrowing thread, or whose
   * faults were not counted (0: none). zh_mem_reset_to_image skips pagemap for a memory
   * reset in a loan after it. */
  uint64_t loan, dirty_loan;
  uint64_t nowned; /* length of `owned`: zh_store_mark tokens count from the oldest */
  /* deadline watchdog */
  uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = none */
  struct zh_store *next_deadline;
};

/* What a host function gets as its zh_caller. */
struct zh_caller {
  zh_store *store;
  zh_instance *inst; /* NULL when the host called the host function directly */
};

/* Registers `obj` to be released with the store; returns false on allocation failure
 * (the object is then released at once). */
bool zh_store_own(zh_store *store, void *obj, void (*release)(void *));
/* Releases owned objects newest first until `keep` remain (zh_store_release_to without
 * its checks: for undoing a half-built object nobody can reference yet). */
void zh_store_truncate(zh_store *store, uint64_t keep);

/* Runs `func` with args/results as raw 8-byte slots, a v128 in two (interp.c). Handles traps,
 * signals, stack exhaustion and interruption; the store must not be in use by another thread. */
zh_error *zh_invoke(zh_store *store, zh_func *func, const uint64_t *args, uint64_t *results);

/* Slots that n values of these types take: a v128 takes two, anything else one. */
static inline uint32_t zh_slots_of(const uint8_t *types, uint32_t n) {
  uint32_t k = n;
  for (uint32_t i = 0; i < n; i++)
    k += types[i] == ZH_V128;
  return k;
}

/* Converts between typed values and slots (a v128's low half; see zh_values_to_slots). */
uint64_t zh_value_to_slot(const zh_value *v);
zh_value zh_slot_to_value(uint8_t type, uint64_t slot);
/* The same for n values laid out as a call's slots, v128s in two slots each (objects.c).
 * Both return the number of slots. */
uint32_t zh_values_to_slots(const zh_value *v, uint32_t n, uint64_t *slots);
uint32_t zh_slots_to_values(const uint8_t *types, uint32_t n, const uint64_t *slots, zh_value *v);

#endif
