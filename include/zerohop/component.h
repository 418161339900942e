/* zerohop components: a core module instance bound to a WIT world through the canonical ABI
 * (wasm32 build target naming of wit-bindgen: exports "ns:pkg/iface@1.0.0#func", imports
 * from module "ns:pkg/iface@1.0.0" (or "$root" for world-level functions), "cabi_realloc",
 * "cabi_post_<export>", "memory", resources "[constructor]r", "[method]r.f",
 * "[static]r.f" and "[resource-drop]r").
 *
 * Flow: zh_component_new() -> zh_component_define_import()/_define_resource() for what the
 * guest imports -> zh_component_instantiate() -> zh_component_call() any number of times.
 *
 * Host-defined resources: the host picks a 64-bit representation (rep) per resource, e.g. a
 * pointer or an index. An own<R> the host passes to the guest becomes a handle in the
 * instance's table; when the guest drops it (or the component is freed) the resource's
 * destructor gets the rep. An own<R> the guest passes to the host leaves the table: the host
 * is then responsible for the rep. Borrows given to the guest last for one call.
 *
 * A guest that breaks the ABI (bad pointer or length, bad UTF-8, bad discriminant, bad char,
 * dangling handle, bad cabi_realloc result) traps: ZH_ERR_TRAP naming the function and the
 * problem. After any trap the component refuses further calls (the core instance must not
 * run again); the store, the host and other components are unaffected.
 */
#ifndef ZEROHOP_COMPONENT_H
#define ZEROHOP_COMPONENT_H

#include "zerohop/engine.h"
#include "zerohop/val.h"
#include "zerohop/wit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zh_component zh_component;

/* A host implementation of an imported WIT function. `args` are lifted from the guest and
 * owned by the adapter, which drops them after the callback returns (the callback may move
 * one out by copying it and setting the original to zh_val_bool(false)). If the function has
 * a result the callback sets *result, which the adapter lowers and then drops. An error
 * return traps the calling guest. */
typedef zh_error *(*zh_component_fn)(zh_component *comp, void *env, zh_val *args, size_t nargs,
                                     zh_val *result);

/* Destroys a host resource whose last own handle the guest dropped. */
typedef void (*zh_resource_dtor)(void *env, uint64_t rep);

/* Prepares a binding of `module` to `world` in `store`. `world` (and the zh_wit holding it)
 * and `module` must outlive the component. With `world` NULL, the world is the one the module
 * carries in its `component-type[:...]` custom section (wit-bindgen, `wit-component embed`;
 * zh_cm_core_world in zerohop/cm.h), kept by the component: an error names the module and
 * the section when it is missing or does not decode. */
zh_error *zh_component_new(zh_store *store, const zh_module *module, const zh_wit_world *world,
                           zh_component **out);
/* Frees the binding; live own handles of host resources are destroyed. The core instance
 * belongs to the store. Accepts NULL. */
void zh_component_free(zh_component *comp);

/* Implements an import of the world: `iface` is an imported interface's qualified name
 * ("ns:pkg/iface@1.0.0") or NULL for a world-level function; `func` is the function's name
 * or ABI name ("[method]r.get"). */
zh_error *zh_component_define_import(zh_component *comp, const char *iface, const char *func,
                                     zh_component_fn fn, void *env);
/* Sets the destructor of a resource type of an imported interface (`dtor` may be NULL). */
zh_error *zh_component_define_resource(zh_component *comp, const char *iface, const char *resource,
                                       zh_resource_dtor dtor, void *env);

/* Instantiates the module. Imports whose module is a WIT interface of the world (or "$root")
 * are provided by the component; any other import i must be given as imports[i] (module
 * import order, nimports == zh_module_import_count), e.g. WASI. `imports` may be NULL when
 * every import is WIT-derived. A missing implementation is ZH_ERR_UNLINKABLE. */
zh_error *zh_component_instantiate(zh_component *comp, const zh_extern *imports, size_t nimports);

/* Calls an exported function: `iface` is an exported interface's qualified name or NULL for
 * a world-level export. `args` are borrowed (the caller keeps and drops them). *result gets
 * the result, owned by the caller (an empty bool for functions without a result). */
zh_error *zh_component_call(zh_component *comp, const char *iface, const char *func,
                            const zh_val *args, size_t nargs, zh_val *result);

zh_instance *zh_component_instance(const zh_component *comp);     /* NULL before instantiation */
const zh_wit_world *zh_component_world(const zh_component *comp); /* as given to _new */
zh_store *zh_component_store(const zh_component *comp);           /* as given to _new */
/* True once the instance has trapped: every later call fails. */
bool zh_component_trapped(const zh_component *comp);
/* Live handles in the guest's resource table (for leak checks in tests and tools). */
size_t zh_component_handle_count(const zh_component *comp);

#ifdef __cplusplus
}
#endif
#endif
