/* zerohop component binaries: decode, validate, instantiate and call components (the
 * component model's binary format, layer 1, version 0x0d), the stable (WASI 0.2) model.
 *
 * (zh_component in component.h is different: a core module bound to a WIT world by its
 * export names. A zh_cm_component is a component binary.)
 *
 * Flow: zh_cm_component_new() decodes, validates and compiles every embedded core module
 * once; the result is immutable and can be instantiated any number of times.
 *
 * Errors are values. A malformed binary is ZH_ERR_MALFORMED, an invalid one ZH_ERR_INVALID;
 * both messages are one line naming the file, the section and the byte offset:
 *   "app.wasm: component section 7 (canon) at offset 0x1a3: unknown canon opcode 0x30"
 * Async built-ins and other gated features are refused as invalid, naming the feature.
 */
#ifndef ZEROHOP_CM_H
#define ZEROHOP_CM_H

#include "zerohop/component.h"
#include "zerohop/engine.h"
#include "zerohop/val.h"
#include "zerohop/wit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zh_cm_component zh_cm_component;
typedef struct zh_cm_instance zh_cm_instance;
typedef struct zh_cm_func zh_cm_func;

/* Decodes and validates a component binary and compiles its core modules with `engine`
 * (which must outlive the component). `name` is used in messages (may be NULL). The bytes
 * are not kept. */
zh_error *zh_cm_component_new(zh_engine *engine, const uint8_t *bytes, size_t len, const char *name,
                              zh_cm_component **out);
void zh_cm_component_free(zh_cm_component *comp); /* accepts NULL */

/* The component's imports and exports as WIT text, in the form `jco wit` prints
 * (`package root:component; world root { import ...; export ...; }`). *out is malloc'd and
 * the caller's to free. */
zh_error *zh_cm_component_wit(const zh_cm_component *comp, char **out);
/* The world that a core module carries in its `component-type[:...]` custom section (what
 * wit-bindgen and `wit-component embed` leave), as WIT text: `package ns:pkg@v; world w {
 * import ...; export ...; }`. An error (one line, naming `name`) if the module has no such
 * section or it does not decode. *out is malloc'd. */
zh_error *zh_cm_core_world_wit(zh_engine *engine, const uint8_t *bytes, size_t len,
                               const char *name, char **out);
/* The same world as a zh_wit_world, the model WIT text resolves to, for the core-module link
 * API (zh_component_new, which calls this itself when given no world, and zh_link_*): the
 * first `component-type[:...]` custom section of `module` is decoded into *out, and
 * zh_cm_component_world(*out) is the world it carries (named "ns:pkg/world@v", its imports
 * and exports as wit-bindgen declared them). Free *out after everything that uses the world.
 * Errors (one line, naming `name` and the section, with the offset when it does not decode):
 * no such section, a section that does not decode, or one that encodes no world. */
zh_error *zh_cm_core_world(zh_engine *engine, const zh_module *module, const char *name,
                           zh_cm_component **out);

/* ---- host imports: the linker ---- */

typedef struct zh_cm_linker zh_cm_linker;
typedef struct zh_cm_call zh_cm_call; /* what a host function sees of its caller */

/* A host implementation of an imported function. `args` are lifted from the guest and owned
 * by the adapter, which drops them after the callback returns (the callback may move one out
 * by copying it and setting the original to zh_val_bool(false)). If the function has a
 * result the callback sets *result, which the adapter lowers and then drops. An error return
 * traps the calling guest. Host resources travel as reps: returning zh_val_own(rep) gives
 * the guest a new handle of the host resource type; a borrow argument arrives as its rep. */
typedef zh_error *(*zh_cm_host_fn)(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                                   zh_val *result);

zh_error *zh_cm_linker_new(zh_cm_linker **out);
/* Frees the definitions. Instances made with the linker do not need it afterwards (host
 * function types still come from the caller's WIT model, which must outlive them). */
void zh_cm_linker_free(zh_cm_linker *linker);

/* Defines a function for an import: `iface` is an interface name with its version
 * ("wasi:io/streams@0.2.12") for a function of an imported instance, or NULL for a top-level
 * function import; `func` is the ABI name ("get", "[method]r.f"). `type` (typically from a
 * zh_wit model, which must outlive the linker and its instances) is checked against the
 * import at instantiation. Names are copied. */
zh_error *zh_cm_linker_define_func(zh_cm_linker *linker, const char *iface, const char *func,
                                   const zh_wit_func *type, zh_cm_host_fn fn, void *env);
/* ---- core-level imports and exports, for adapters that copy memory to memory ---- */

/* The guest side of a call at the core level, as its canon lower or lift options name it:
 * the store its functions run in, its memory and cabi_realloc (NULL when the options give
 * none), and its may_leave flag, inverted (set while the host runs its cabi_realloc or
 * post-return, so an import called from them traps). */
typedef struct zh_cm_core_side {
  zh_store *store;
  zh_memory *memory;
  zh_func *realloc;
  bool *no_leave;
} zh_cm_core_side;

/* A core-level implementation of an imported function: the caller's flat core arguments
 * (its canon lower signature) in, its flat results out, no component values in between. It
 * is used only for UTF-8 callers; it may also decline a call (*declined = true, returning
 * NULL, nothing done), which then goes through the value-level function. An error traps
 * the caller. */
typedef zh_error *(*zh_cm_core_fn)(zh_cm_call *call, void *env, const zh_cm_core_side *caller,
                                   const zh_value *args, zh_value *results, bool *declined);

/* zh_cm_linker_define_func, with `core` (same env) preferred when the caller lowers the
 * import with UTF-8 strings; `fn` stays the fallback. */
zh_error *zh_cm_linker_define_func_core(zh_cm_linker *linker, const char *iface, const char *func,
                                        const zh_wit_func *type, zh_cm_host_fn fn,
                                        zh_cm_core_fn core, void *env);

/* zh_cm_linker_define_func for a callback that only reads its arguments (never moves one
 * out): the adapter may then lift the strings, lists of numbers and case payloads of a call
 * into per-call storage instead of the heap. */
zh_error *zh_cm_linker_define_func_reading(zh_cm_linker *linker, const char *iface,
                                           const char *func, const zh_wit_func *type,
                                           zh_cm_host_fn fn, void *env);

/* Destroys a host resource: `env` as given to zh_cm_linker_define_resource, `data` that of the
 * instance whose guest dropped the handle (zh_cm_call_data), `rep` the resource's. */
typedef void (*zh_cm_resource_dtor)(void *env, void *data, uint64_t rep);

/* Defines the resource type `resource` of interface `iface` (with version). Interfaces of
 * semver-compatible versions share it. When a guest drops its last own handle of it, `dtor`
 * (may be NULL) gets the rep. */
zh_error *zh_cm_linker_define_resource(zh_cm_linker *linker, const char *iface,
                                       const char *resource, zh_cm_resource_dtor dtor, void *env);

/* Instantiates `comp` in `store` with its imports taken from `linker` (NULL: none). An import
 * `ns:pkg/iface@W` is satisfied by definitions for `ns:pkg/iface@V` with V semver-compatible
 * to W (same major; for 0.x the same minor); the highest V wins. A missing or mismatched
 * import is ZH_ERR_UNLINKABLE naming the import and, for a mismatch, both types. `data` is
 * what zh_cm_call_data() returns to host functions. */
zh_error *zh_cm_linker_instantiate(zh_cm_linker *linker, const zh_cm_component *comp,
                                   zh_store *store, void *data, zh_cm_instance **out);
void *zh_cm_call_data(const zh_cm_call *call);
/* Room the adapter offers for the payload of the callback's result, or NULL: a callback may
 * make *result a case whose payload pointer is this value (which zh_val_ok would allocate).
 * The adapter drops what the value owns, never the value itself; it lives until the result
 * is lowered. Offered to the callbacks of a guest's imports only. */
zh_val *zh_cm_call_payload_slot(zh_cm_call *call);

/* ---- instances ---- */

/* Instantiates a component that has no imports in `store` (zh_cm_linker_instantiate with no
 * linker). Core instances and host functions belong to the store, which must outlive the
 * instance; the component must outlive it too. A trap in a start function, a failed
 * instantiation of a core module or a missing import is an error (ZH_ERR_TRAP,
 * ZH_ERR_UNLINKABLE, ...) naming the component. */
zh_error *zh_cm_instantiate(const zh_cm_component *comp, zh_store *store, zh_cm_instance **out);
/* Frees the instance's handle tables and bookkeeping (not the store's objects). NULL ok. */
void zh_cm_instance_free(zh_cm_instance *inst);

/* An exported function: `iface` NULL for a top-level function export, else the name of an
 * exported instance and `func` the name of its function export. NULL if there is none. An
 * `iface` with a version also finds an instance exported under a semver-compatible version
 * ("wasi:cli/run@0.2.0" finds "wasi:cli/run@0.2.3"; the highest wins). The function lives as
 * long as the instance. */
zh_cm_func *zh_cm_instance_func(zh_cm_instance *inst, const char *iface, const char *func);
/* The top-level function exports, in export order: count, and the i-th with its name. */
size_t zh_cm_instance_func_count(const zh_cm_instance *inst);
zh_cm_func *zh_cm_instance_func_at(zh_cm_instance *inst, size_t i, const char **name);
/* Its type: parameters and result as zh_wit_type (owned by the component). */
const zh_wit_func *zh_cm_func_type(const zh_cm_func *func);
/* Calls it: `args` are borrowed; *result (an empty bool without a result type) is the
 * caller's to drop. Post-return runs before this returns. A trap (ZH_ERR_TRAP) poisons the
 * component instance that trapped: later calls into it fail. Calling into an instance that
 * is already running (reentrance) traps. */
zh_error *zh_cm_func_call(zh_cm_instance *inst, zh_cm_func *func, const zh_val *args, size_t nargs,
                          zh_val *result);

/* Enters an exported (lifted) function for a core-level call that the embedder performs
 * itself (a memory-to-memory adapter): checks the instance may be entered (not poisoned by
 * an earlier trap, not already running) and marks it running; *side and the core function
 * and post-return (NULL if none) are the lift's. *utf8 is false when the lift uses another
 * string encoding. Each successful enter needs one zh_cm_func_leave, `fault` true when the
 * instance trapped or broke the ABI: it is then poisoned, as zh_cm_func_call would. */
zh_error *zh_cm_func_enter(zh_cm_instance *inst, zh_cm_func *func, zh_cm_core_side *side,
                           zh_func **core, zh_func **post_return, bool *utf8);
void zh_cm_func_leave(zh_cm_func *func, bool fault);

/* ---- templates: cheap instances ---- */

/* A component instantiated once and snapshotted, for stamping out instances cheaply (one
 * per request). The template is immutable: threads may stamp it concurrently, each into its
 * own store. */
typedef struct zh_cm_template zh_cm_template;

/* Instantiates `comp` with `linker` (NULL: no imports) in a private store of the component's
 * engine, running start functions and core initialisers once (host functions called then see
 * zh_cm_call_data NULL), and snapshots all its core instances as one group. Host functions
 * stay shared: they find their per-instance state through zh_cm_call_data. The linker may be
 * freed afterwards; `comp` must outlive the template. ZH_ERR_USAGE for a component the
 * template machinery cannot copy faithfully (a lifted function or destructor that is not a
 * core instance's own export, a host resource handle left by initialisation): instantiate
 * it fully instead. */
zh_error *zh_cm_template_new(zh_cm_linker *linker, const zh_cm_component *comp,
                             zh_cm_template **out);
/* A fresh instance in `store` whose core state equals the snapshot's (memories
 * copy-on-write, tables and globals copied), with `data` for its host calls, its own handle
 * tables (starting as the template's: guest handles left by initialisation) and reentrance
 * flags. Resource types are the template's: every copy shares their
 * identity, but handles are per copy. Free with zh_cm_instance_free before releasing the
 * store's objects (zh_store_release_to). */
zh_error *zh_cm_template_instantiate(const zh_cm_template *tpl, zh_store *store, void *data,
                                     zh_cm_instance **out);
void zh_cm_template_free(zh_cm_template *tpl); /* accepts NULL; after its copies */

/* The component's imports and exports as a WIT world (owned by the component): function
 * imports/exports are world functions, instance ones interfaces (`interface_name` when named
 * `ns:pkg/iface@version`, with their functions and types), type ones world types. What
 * `zerohop component wit` prints. */
const zh_wit_world *zh_cm_component_world(const zh_cm_component *comp);

/* True if the 8 bytes at `bytes` start a component binary (rather than a core module). */
bool zh_cm_is_component(const uint8_t *bytes, size_t len);

#ifdef __cplusplus
}
#endif
#endif
