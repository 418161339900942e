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

#include "zerohop/engine.h"
#include "zerohop/val.h"
#include "zerohop/wit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zh_cm_component zh_cm_component;

/* Decodes and validates a component binary and compiles its core modules with `engine`
 * (which must outlive the component). `name` is used in messages (may be NULL). The bytes
 * are not kept. */
zh_error *zh_cm_component_new(zh_engine *engine, const uint8_t *bytes, size_t len, const char *name,
                              zh_cm_component **out);
void zh_cm_component_free(zh_cm_component *comp); /* accepts NULL */

/* ---- instances ---- */

typedef struct zh_cm_instance zh_cm_instance;
typedef struct zh_cm_func zh_cm_func;

/* Instantiates a component that has no imports in `store` (host imports come with the
 * linker). Core instances and host functions belong to the store, which must outlive the
 * instance; the component must outlive it too. A trap in a start function, a failed
 * instantiation of a core module or a missing import is an error (ZH_ERR_TRAP,
 * ZH_ERR_UNLINKABLE, ...) naming the component. */
zh_error *zh_cm_instantiate(const zh_cm_component *comp, zh_store *store, zh_cm_instance **out);
/* Frees the instance's handle tables and bookkeeping (not the store's objects). NULL ok. */
void zh_cm_instance_free(zh_cm_instance *inst);

/* An exported function: `iface` NULL for a top-level function export, else the name of an
 * exported instance and `func` the name of its function export. NULL if there is none. The
 * function lives as long as the instance. */
zh_cm_func *zh_cm_instance_func(zh_cm_instance *inst, const char *iface, const char *func);
/* Its type: parameters and result as zh_wit_type (owned by the component). */
const zh_wit_func *zh_cm_func_type(const zh_cm_func *func);
/* Calls it: `args` are borrowed; *result (an empty bool without a result type) is the
 * caller's to drop. Post-return runs before this returns. A trap (ZH_ERR_TRAP) poisons the
 * component instance that trapped: later calls into it fail. Calling into an instance that
 * is already running (reentrance) traps. */
zh_error *zh_cm_func_call(zh_cm_instance *inst, zh_cm_func *func, const zh_val *args, size_t nargs,
                          zh_val *result);

/* True if the 8 bytes at `bytes` start a component binary (rather than a core module). */
bool zh_cm_is_component(const uint8_t *bytes, size_t len);

#ifdef __cplusplus
}
#endif
#endif
