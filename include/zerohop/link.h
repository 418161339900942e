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
 * Not supported (rejected at link time with ZH_ERR_UNLINKABLE): resources (own/borrow),
 * futures, streams, async functions; string encodings other than UTF-8.
 */
#ifndef ZEROHOP_LINK_H
#define ZEROHOP_LINK_H

#include "zerohop/engine.h"
#include "zerohop/wit.h"

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

#ifdef __cplusplus
}
#endif
#endif
