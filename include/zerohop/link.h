/* zerohop linking: one guest instance (A) calls another (B) in-process through a WIT
 * function, with no host-side value representation in between.
 *
 * zh_link_func() checks at link time that B's exported WIT function type matches what A
 * imports (structural type equality: the component model has no value subtyping; names of
 * parameters, fields, cases and flags count), then returns a host function with A's core
 * import signature (canonical ABI "canon lower", wasm32 names of BuildTargets.md). At call
 * time the adapter copies the arguments from A's linear memory straight into memory that
 * B's cabi_realloc hands out, guided by the types: one bounds check and a memcpy for strings
 * and lists of plain numbers, element by element only where elements hold pointers or need
 * validation. It calls B's core export, copies the results back into A through A's
 * cabi_realloc (into A's return area when the results are indirect) and finally calls B's
 * cabi_post_<export>.
 *
 * Validation follows CanonicalABI.md: bounds and alignment of every pointer, UTF-8 of
 * strings, bool (any non-zero is true, passed on as 1), char ranges, discriminants, flags
 * (undefined bits are dropped). A side's data is validated completely before anything is
 * allocated in the other side, so a hostile A never runs code in B and a hostile B never
 * writes into A. Violations trap (ZH_ERR_TRAP) with a message naming the function
 * ("ns:pkg/iface@1.0.0#func: ...") and the side at fault ("caller"/"callee"). Once B traps
 * or breaks the ABI the link refuses further calls: B's instance must not run again.
 *
 * Resources defined by B (own/borrow of a resource of an interface B exports) link through a
 * zh_link_callee: it provides B's canonical built-ins "[resource-new]R", "[resource-rep]R"
 * and "[resource-drop]R" (core module "[export]IFACE") on a handle table of B's own, and
 * runs B's "IFACE#[dtor]R" export, if any, when an own handle is dropped. Following
 * CanonicalABI.md, A's handles hold B's reps: own<R> returned by B moves out of B's table
 * into A's (A gets a fresh index); borrow<R> from A reaches B as the rep itself (B implements
 * R), A's entry being lent for the call; own<R> from A moves into B's table as a new handle;
 * A's "[resource-drop]R" removes A's entry and runs B's destructor. Dangling, moved,
 * double-dropped or lent handles of A trap naming the function, B and its table untouched.
 *
 * Not supported (rejected at link time with ZH_ERR_UNLINKABLE): resources without a
 * zh_link_callee, resources that A defines, futures, streams, async functions; string
 * encodings other than UTF-8.
 */
#ifndef ZEROHOP_LINK_H
#define ZEROHOP_LINK_H

#include "zerohop/engine.h"
#include "zerohop/wit.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Checks that `export_type` can satisfy `import_type`. On mismatch: ZH_ERR_UNLINKABLE,
 * "cannot link IFACE#FUNC: export func(...) -> ... does not match import func(...) -> ...
 * (WHERE: EXPORTED-TYPE vs IMPORTED-TYPE)", types in WIT syntax. `iface` is the interface's
 * qualified name, or NULL for a world-level function. */
zh_error *zh_link_check(const char *iface, const zh_wit_func *import_type,
                        const zh_wit_func *export_type);

/* Type-checks (zh_link_check), finds B's core export "IFACE#FUNC" (or the function's name for
 * a world-level function), its "memory", "cabi_realloc" and "cabi_post_<export>", checks the
 * core signature, and creates a host function in `store` (B's store) for A to import. The
 * adapter lives as long as the store; `b` and both WIT models must outlive it. */
zh_error *zh_link_func(zh_store *store, zh_instance *b, const char *iface,
                       const zh_wit_func *import_type, const zh_wit_func *export_type,
                       zh_func **out);

/* In the three functions below a world may be NULL: it is then the one the module carries
 * in its `component-type[:...]` custom section (wit-bindgen, `jco embed`; zh_cm_core_world in
 * zerohop/cm.h), kept as long as the store. A module without one, or whose section does not
 * decode, is an error naming the module and the section. */

/* Links every import of module `a` that belongs to `a_world` (an imported interface, core
 * module "ns:pkg/iface@1.0.0", or a world-level function, core module "$root") to the export
 * of the same name of B (`b`, bound to `b_world`). imports[i] is set for each such import i
 * (module import order, nimports == zh_module_import_count(a)); other entries are left as
 * they are (WASI and the like). Any WIT import that B does not export, or exports with
 * another type, fails with ZH_ERR_UNLINKABLE before any host function is created.
 * *nlinked (may be NULL) gets the number of imports set. */
zh_error *zh_link_imports(zh_store *store, const zh_module *a, const zh_wit_world *a_world,
                          zh_instance *b, const zh_wit_world *b_world, zh_extern *imports,
                          size_t nimports, size_t *nlinked);

/* B's side of resource links; owned by the store. */
typedef struct zh_link_callee zh_link_callee;

/* Sets imports[i] for every import of B's module `b` from a module "[export]IFACE" (IFACE an
 * interface `b_world` exports): the resource built-ins. Anything else there, or a wrong core
 * signature, fails with ZH_ERR_UNLINKABLE before any import is set. Then instantiate B and
 * call zh_link_callee_bind. */
zh_error *zh_link_callee_new(zh_store *store, const zh_module *b, const zh_wit_world *b_world,
                             zh_extern *imports, size_t nimports, zh_link_callee **out);
zh_error *zh_link_callee_bind(zh_link_callee *callee, zh_instance *b);
/* B trapped or broke the ABI: every link to it refuses calls (a "fence"). */
bool zh_link_callee_broken(const zh_link_callee *callee);
/* Live handles in B's own table (resources B created and still holds, or received). */
size_t zh_link_callee_handles(const zh_link_callee *callee);

/* zh_link_imports to the bound callee, with resources: own/borrow of B's resources pass,
 * and A's "[resource-drop]R" imports are linked too. Each call gives the new A instance a
 * fresh handle table; several A instances may link to one B. */
zh_error *zh_link_imports_callee(zh_store *store, const zh_module *a, const zh_wit_world *a_world,
                                 zh_link_callee *callee, const zh_wit_world *b_world,
                                 zh_extern *imports, size_t nimports, size_t *nlinked);

/* ---- plans: a link whose callee is found per call ----
 *
 * zh_link_func binds B when A is linked. A plan is the same adapter without B: the types, flat
 * layouts and the export's name are computed once (zh_link_plan_new, which type-checks like
 * zh_link_check); each zh_link_plan_call gets A's side from its caller and B from `resolve`,
 * which runs only after all of A's arguments are validated (so a hostile A makes no B at
 * all) and may make B then (lazily, in a store of its own). B's core function, cabi_realloc
 * and post-return are checked against the plan's canonical signatures on every call; a wrong
 * one is the callee's fault. Every guarantee above holds, the fence included: the plan keeps
 * no state, so the embedder keeps B's (stats->callee_fault: B trapped or broke the ABI in
 * this call, and must not run again). Resources are not supported (ZH_ERR_UNLINKABLE from
 * zh_link_plan_new). */
typedef struct zh_link_plan zh_link_plan;

/* One side of a call: the store its functions run in, its memory and cabi_realloc (NULL
 * when it has none), and an optional flag set while its cabi_realloc or post-return runs
 * (the component model's may_leave, inverted). */
typedef struct zh_link_caller {
  zh_store *store;
  zh_memory *memory;
  zh_func *realloc;
  bool *no_leave;
} zh_link_caller;

typedef struct zh_link_target {
  zh_store *store;
  zh_memory *memory;
  zh_func *realloc;
  bool *no_leave;
  zh_func *func; /* the core function that implements the export */
  zh_func *post; /* its post-return, or NULL */
} zh_link_target;

/* Fills *out with B for this call, or fails (the call then fails with that error). */
typedef zh_error *(*zh_link_resolve)(void *env, zh_link_target *out);

typedef struct zh_link_stats {
  uint64_t bytes;    /* string and list contents and in-memory parameters/results copied */
  bool callee_fault; /* B trapped or broke the ABI */
} zh_link_stats;

zh_error *zh_link_plan_new(const char *iface, const zh_wit_func *import_type,
                           const zh_wit_func *export_type, zh_link_plan **out);
void zh_link_plan_free(zh_link_plan *plan); /* accepts NULL */
/* "IFACE#FUNC": the name messages start with. */
const char *zh_link_plan_name(const zh_link_plan *plan);
/* One call: `args` are A's flat core arguments (A's import signature), `results` its flat
 * results. Thread-safe: the plan is only read. `stats` may be NULL. */
zh_error *zh_link_plan_call(const zh_link_plan *plan, const zh_link_caller *caller,
                            zh_link_resolve resolve, void *env, const zh_value *args,
                            zh_value *results, zh_link_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
