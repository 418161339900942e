/* zerohop engine: load, validate, instantiate and run WebAssembly 2.0 modules.
 *
 * Object model
 *   zh_engine   shared, thread-safe: configuration, type registry, memory pool.
 *   zh_module   immutable decoded, validated and compiled module; thread-safe to share.
 *   zh_store    owns instances, functions, memories, tables and globals, and the
 *               execution stack. One thread uses a store at a time; different stores
 *               run on different threads concurrently. Freeing the store frees all
 *               objects created in it.
 *   zh_template a pre-initialised instance image (memory, globals, tables after the
 *               start function) from which fresh instances are created cheaply.
 *   zh_snapshot the same for a group of instances that link to each other (the core
 *               instances of a component): immutable, shared by threads.
 *
 * Errors are values: every fallible call returns a zh_error * (NULL on success) that
 * the caller owns and frees with zh_error_free(). The library never exits or aborts.
 */
#ifndef ZEROHOP_ENGINE_H
#define ZEROHOP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------------ */

typedef enum zh_status {
  ZH_OK = 0,
  ZH_ERR_MALFORMED,   /* not a well-formed binary: message names section and offset */
  ZH_ERR_INVALID,     /* fails validation: message names function and instruction offset */
  ZH_ERR_UNLINKABLE,  /* an import is missing or has the wrong type */
  ZH_ERR_TRAP,        /* execution trapped: zh_error_trap() gives the code */
  ZH_ERR_EXHAUSTION,  /* call stack exhausted */
  ZH_ERR_INTERRUPTED, /* stopped by zh_store_interrupt() or a deadline */
  ZH_ERR_RESOURCE,    /* host out of memory / address space, or a configured limit */
  ZH_ERR_EXIT,        /* the guest asked to exit (WASI proc_exit): zh_error_exit_code() */
  ZH_ERR_USAGE,       /* API misuse: wrong argument count or types, bad index */
  ZH_ERR_IO,          /* a host I/O operation failed */
} zh_status;

typedef enum zh_trap_code {
  ZH_TRAP_NONE = 0,
  ZH_TRAP_UNREACHABLE,
  ZH_TRAP_MEMORY_OOB,
  ZH_TRAP_TABLE_OOB,
  ZH_TRAP_INT_DIV_ZERO,
  ZH_TRAP_INT_OVERFLOW,
  ZH_TRAP_INVALID_CONVERSION,
  ZH_TRAP_INDIRECT_NULL,      /* call_indirect through a null element */
  ZH_TRAP_SIGNATURE_MISMATCH, /* call_indirect type mismatch */
  ZH_TRAP_UNDEFINED_ELEMENT,  /* call_indirect index past the table */
  ZH_TRAP_STACK_OVERFLOW,     /* reported with status ZH_ERR_EXHAUSTION */
  ZH_TRAP_INTERRUPTED,        /* reported with status ZH_ERR_INTERRUPTED */
  ZH_TRAP_HOST,               /* a host function failed */
} zh_trap_code;

typedef struct zh_error zh_error;

zh_status zh_error_status(const zh_error *err);
zh_trap_code zh_error_trap(const zh_error *err);
const char *zh_error_message(const zh_error *err);
int zh_error_exit_code(const zh_error *err); /* valid for ZH_ERR_EXIT */
void zh_error_free(zh_error *err);           /* accepts NULL */

/* Short fixed text of a trap code, as the spec tests word it ("integer divide by zero"). */
const char *zh_trap_text(zh_trap_code code);
const char *zh_status_text(zh_status status);

/* Builds an error; for host functions. printf-style message. */
zh_error *zh_error_new(zh_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
zh_error *zh_error_exit(int code); /* ZH_ERR_EXIT with that code */

/* ---- values ------------------------------------------------------------------ */

/* Value types use their binary encodings. */
typedef enum zh_valtype {
  ZH_I32 = 0x7f,
  ZH_I64 = 0x7e,
  ZH_F32 = 0x7d,
  ZH_F64 = 0x7c,
  ZH_V128 = 0x7b,
  ZH_FUNCREF = 0x70,
  ZH_EXTERNREF = 0x6f,
} zh_valtype;

typedef struct zh_func zh_func;
typedef struct zh_memory zh_memory;
typedef struct zh_table zh_table;
typedef struct zh_global zh_global;

typedef struct zh_value {
  zh_valtype type;
  union {
    int32_t i32;
    int64_t i64;
    uint32_t f32_bits; /* floats travel as bit patterns so NaN payloads survive */
    uint64_t f64_bits;
    zh_func *funcref; /* NULL is ref.null func */
    void *externref;  /* NULL is ref.null extern */
    uint8_t v128[16]; /* lane i of an iNxM vector at byte i*N/8, little endian */
  } of;
} zh_value;

static inline zh_value zh_i32(int32_t v) {
  zh_value x = {ZH_I32, {0}};
  x.of.i32 = v;
  return x;
}
static inline zh_value zh_i64(int64_t v) {
  zh_value x = {ZH_I64, {0}};
  x.of.i64 = v;
  return x;
}
/* "i32", "funcref", ...; "?" for a value that is not a zh_valtype. */
const char *zh_valtype_name(zh_valtype type);

zh_value zh_f32(float v);
zh_value zh_f64(double v);
float zh_value_f32(const zh_value *v);
double zh_value_f64(const zh_value *v);

/* A function type: params then results. */
typedef struct zh_functype {
  uint32_t nparams;
  uint32_t nresults;
  const zh_valtype *params;
  const zh_valtype *results;
} zh_functype;

typedef struct zh_limits {
  uint64_t min;
  uint64_t max;
  bool has_max;
} zh_limits;

typedef enum zh_extern_kind {
  ZH_EXTERN_FUNC = 0,
  ZH_EXTERN_TABLE = 1,
  ZH_EXTERN_MEMORY = 2,
  ZH_EXTERN_GLOBAL = 3,
} zh_extern_kind;

typedef struct zh_extern {
  zh_extern_kind kind;
  union {
    zh_func *func;
    zh_table *table;
    zh_memory *memory;
    zh_global *global;
  } of;
} zh_extern;

/* ---- engine ------------------------------------------------------------------ */

typedef struct zh_engine zh_engine;

typedef struct zh_engine_config {
  uint32_t max_memory_pages; /* per memory, 64 KiB pages; 0 means 65536 (4 GiB) */
  uint32_t max_call_depth;   /* wasm frames per store; 0 means 20000 */
  uint32_t stack_slots;      /* 8-byte value slots per store stack; 0 means 1 Mi */
  /* Deadline for the start function that zh_template_new runs in its private store (no
   * other deadline can reach it): ZH_ERR_INTERRUPTED past it. 0 means none. */
  uint64_t template_start_timeout_ns;
  /* WebAssembly 2.0's one memory per module: a second memory and the memory-index forms
   * of the memory instructions are refused, as the 2.0 spec suite expects. false (the
   * default) accepts multi-memory (Wasm 3.0): any number of memories, imported or not. */
  bool single_memory;
  /* Compile every function body at load, as before lazy compilation. false (the default)
   * compiles each body on its first call; validation happens at load either way. The
   * environment variable ZH_EAGER=1 sets it for every engine. */
  bool eager_compile;
  /* Threads that validate function bodies at load. 0: one per core (at most 8) for modules
   * with 1 MiB of code or more, else one; 1: one; N: N (at most 8) whatever the size. */
  uint32_t validate_threads;
} zh_engine_config;

zh_error *zh_engine_new(const zh_engine_config *config, zh_engine **out); /* config may be NULL */
void zh_engine_free(zh_engine *engine);

/* ---- modules ------------------------------------------------------------------ */

typedef struct zh_module zh_module;

/* Decodes, validates and compiles. The bytes are copied; the caller keeps its buffer.
 * `name` (may be NULL) is used in error messages, e.g. the file name. */
zh_error *zh_module_new(zh_engine *engine, const uint8_t *bytes, size_t len, const char *name,
                        zh_module **out);
/* The same without the copy: the module reads `bytes` in place (code bodies are compiled
 * from them on first call), so they must stay unchanged and alive until zh_module_free. For
 * a mapped file, whose pages the kernel then shares with the page cache. */
zh_error *zh_module_new_view(zh_engine *engine, const uint8_t *bytes, size_t len, const char *name,
                             zh_module **out);
void zh_module_free(zh_module *module);

typedef struct zh_import_info {
  const char *module; /* NUL-terminated copies owned by the module */
  const char *name;
  zh_extern_kind kind;
  zh_functype func;    /* ZH_EXTERN_FUNC */
  zh_valtype elem;     /* ZH_EXTERN_TABLE: element type */
  zh_limits limits;    /* ZH_EXTERN_TABLE, ZH_EXTERN_MEMORY */
  zh_valtype global;   /* ZH_EXTERN_GLOBAL: value type */
  bool global_mutable; /* ZH_EXTERN_GLOBAL */
} zh_import_info;

typedef struct zh_export_info {
  const char *name;
  zh_extern_kind kind;
  uint32_t index;
} zh_export_info;

size_t zh_module_import_count(const zh_module *module);
void zh_module_import(const zh_module *module, size_t i, zh_import_info *out);
size_t zh_module_export_count(const zh_module *module);
void zh_module_export(const zh_module *module, size_t i, zh_export_info *out);

/* Custom sections in file order; data points into the module and lives as long as it. */
size_t zh_module_custom_count(const zh_module *module);
void zh_module_custom(const zh_module *module, size_t i, const char **name, const uint8_t **data,
                      size_t *len);
/* First custom section of that name, or false. */
bool zh_module_custom_find(const zh_module *module, const char *name, const uint8_t **data,
                           size_t *len);

/* ---- stores and instances --------------------------------------------------------- */

typedef struct zh_store zh_store;
typedef struct zh_instance zh_instance;

zh_error *zh_store_new(zh_engine *engine, zh_store **out);
void zh_store_free(zh_store *store);
void zh_store_set_data(zh_store *store, void *data); /* embedder's context, e.g. WASI state */
void *zh_store_data(const zh_store *store);

/* Thread-safe and async-signal-safe: the running (or next) call in this store stops at
 * the next loop back-edge or call with ZH_ERR_INTERRUPTED. Cleared when a call returns. */
void zh_store_interrupt(zh_store *store);
/* Arms a deadline: calls running after `nanoseconds` from now are interrupted.
 * 0 disarms. Uses one watchdog thread per engine. */
void zh_store_set_timeout(zh_store *store, uint64_t nanoseconds);
/* True when an interrupt or an expired deadline is pending: host functions that block (a
 * sleep, a wait for input) poll it to give up early with ZH_ERR_INTERRUPTED. */
bool zh_store_interrupt_pending(const zh_store *store);

/* Mark and rollback, for a long-lived store (one per worker thread) that makes objects per
 * request: zh_store_release_to frees every object created after the mark, newest first,
 * leaving older ones alive. The caller makes sure no older object still refers to a
 * released one (a funcref stored into an older table, say). ZH_ERR_USAGE while a call
 * runs in the store, or for a mark newer than the store's current state. */
typedef uint64_t zh_mark;
zh_mark zh_store_mark(const zh_store *store);
zh_error *zh_store_release_to(zh_store *store, zh_mark mark);

/* `imports` are in the module's import order (zh_module_import). */
zh_error *zh_instance_new(zh_store *store, const zh_module *module, const zh_extern *imports,
                          size_t nimports, zh_instance **out);
bool zh_instance_export(const zh_instance *inst, const char *name, zh_extern *out);
/* The same for names given with a length: wasm names may contain U+0000. */
bool zh_instance_export_n(const zh_instance *inst, const char *name, size_t len, zh_extern *out);
zh_func *zh_instance_func(const zh_instance *inst, const char *name);     /* or NULL */
zh_memory *zh_instance_memory(const zh_instance *inst, const char *name); /* or NULL */
const zh_module *zh_instance_module(const zh_instance *inst);
/* The embedder's pointer for this instance (NULL until set; NULL in stamped copies): a
 * host function finds it through zh_caller_instance. */
void zh_instance_set_data(zh_instance *inst, void *data);
void *zh_instance_data(const zh_instance *inst);

/* ---- functions ------------------------------------------------------------------ */

/* What a host function sees of its caller. */
typedef struct zh_caller zh_caller;
zh_store *zh_caller_store(zh_caller *caller);
zh_instance *zh_caller_instance(zh_caller *caller); /* NULL when called from the host */
zh_memory *zh_caller_memory(zh_caller *caller);     /* the calling instance's memory 0, or NULL */

/* A host function: read `args`, write `results` (types preset per the functype).
 * Return NULL, or an error that ends the whole call (a trap, or ZH_ERR_EXIT). */
typedef zh_error *(*zh_host_fn)(zh_caller *caller, void *env, const zh_value *args,
                                zh_value *results);

zh_func *zh_func_new_host(zh_store *store, const zh_functype *type, zh_host_fn fn, void *env);
void zh_func_type(const zh_func *func, zh_functype *out);

/* Calls with typed values; counts and types are checked (ZH_ERR_USAGE). */
zh_error *zh_func_call(zh_store *store, zh_func *func, const zh_value *args, size_t nargs,
                       zh_value *results, size_t nresults);

/* ---- memories, tables, globals ------------------------------------------------------ */

zh_error *zh_memory_new(zh_store *store, const zh_limits *limits, zh_memory **out);
uint8_t *zh_memory_data(const zh_memory *mem); /* stable: memories never move */
size_t zh_memory_size(const zh_memory *mem);   /* bytes */
/* Grows by `delta` pages; *old_pages gets the previous size. */
zh_error *zh_memory_grow(zh_memory *mem, uint32_t delta, uint32_t *old_pages);
/* Bounds-checked copies between host and linear memory (ZH_ERR_TRAP MEMORY_OOB). */
zh_error *zh_memory_read(const zh_memory *mem, uint64_t offset, void *dst, size_t len);
zh_error *zh_memory_write(zh_memory *mem, uint64_t offset, const void *src, size_t len);

zh_error *zh_table_new(zh_store *store, zh_valtype elem, const zh_limits *limits, zh_table **out);
uint32_t zh_table_size(const zh_table *table);
zh_error *zh_table_get(const zh_table *table, uint32_t index, zh_value *out);
zh_error *zh_table_set(zh_table *table, uint32_t index, const zh_value *value);

zh_error *zh_global_new(zh_store *store, const zh_value *init, bool mutable_, zh_global **out);
zh_value zh_global_get(const zh_global *global);
zh_error *zh_global_set(zh_global *global, const zh_value *value);

/* ---- templates ------------------------------------------------------------------ */

typedef struct zh_template zh_template;

/* Instantiates `module` once (running its start function) and snapshots it. Imports
 * must be functions (host functions, or functions of instances that outlive the
 * template); memories, tables and globals must be the module's own. */
zh_error *zh_template_new(zh_engine *engine, const zh_module *module, const zh_extern *imports,
                          size_t nimports, zh_template **out);
/* A fresh instance in `store` whose state equals the snapshot; memory is copy-on-write. */
zh_error *zh_template_instantiate(const zh_template *tpl, zh_store *store, zh_instance **out);
void zh_template_free(zh_template *tpl);

/* ---- snapshots of instance groups ------------------------------------------------- */

typedef struct zh_snapshot zh_snapshot;

/* Snapshots `n` instances of `store`, listed in instantiation order: instance k may import
 * memories, tables, globals and functions exported by instances before it in the list,
 * host functions, and functions of instances outside the group in other stores (those
 * stay shared by all copies, mutable state included, and must outlive the snapshot). Tables,
 * globals and element segments may hold references to any member's functions (a later member
 * filling an earlier one's table). Any other import of a memory, table or global is refused
 * (ZH_ERR_UNLINKABLE): it would be state the copies share.
 * On success the snapshot owns `store` and frees it; nothing else may use it afterwards.
 * On failure the caller keeps the store, unchanged. The snapshot is immutable: threads
 * may instantiate it concurrently, each into its own store. */
zh_error *zh_snapshot_new(zh_store *store, zh_instance *const *insts, size_t n, zh_snapshot **out);
/* Creates copies of the group's `n` instances in `store` (out[k] copies insts[k]); every
 * reference between members is aimed at the copies. Memories map the snapshot's images
 * copy-on-write; tables and globals are copied. On failure nothing is left in `store`.
 * When copies are released (zh_store_release_to), the store keeps up to 32 of their
 * instance blocks for the next copies of the same snapshot, which then skip re-making
 * their function structs; zh_store_free frees them. */
zh_error *zh_snapshot_instantiate(const zh_snapshot *snap, zh_store *store, zh_instance **out);
size_t zh_snapshot_count(const zh_snapshot *snap);
void zh_snapshot_free(zh_snapshot *snap);

#ifdef __cplusplus
}
#endif
#endif
