/* Translation of validated function bodies into the interpreter's register code. */
#ifndef ZH_WASM_COMPILE_H
#define ZH_WASM_COMPILE_H

#include "wasm/module.h"

#include <stdatomic.h>
#include <stdint.h>

/* A function body's code object. Slots are 8-byte cells addressed from the frame pointer:
 * params first, then declared locals, then the operand-stack temporaries.
 *
 * Code objects exist for every body from load on (calls embed their addresses), but a body
 * is compiled on its first call unless the engine is configured eager: until then `ops`
 * points at `stub`, one `lazy` instruction that compiles the body (zh_code_compile) and
 * enters it. Compilation writes `len` and `frame_slots`, then publishes `ops` with release
 * order. A caller therefore loads `ops` (acquire) before `frame_slots`: a compiled `ops`
 * guarantees the final `frame_slots`; under the stub, `frame_slots` may still be the stub's
 * (nlocals + 1, enough to zero the locals) and the `lazy` instruction checks the real one.
 * The other fields never change. */
typedef struct zh_code {
  _Atomic(const uint8_t *) ops; /* threaded code: handler addresses followed by operands */
  size_t len;
  uint32_t func_index;
  uint32_t nparams;               /* slots holding params */
  uint32_t nresults;              /* slots results are returned in, from slot 0 */
  uint32_t nlocals;               /* params + declared locals; the declared ones are zeroed */
  _Atomic uint32_t frame_slots;   /* total slots the frame needs, including call scratch */
  const void *stub;               /* the `lazy` handler's address: the code before compiling */
  const struct zh_module *module; /* whose body this is */
} zh_code;

/* Creates the code objects of a validated module's bodies in m->code, and compiles them
 * all now if the engine is eager (zh_engine_config.eager_compile). */
zh_error *zh_compile_module(zh_module *m);

/* The compiled code of `code`, compiling it first if no thread has yet; threads that call
 * it together for one body wait for a single compilation. NULL with *err set (out of
 * memory) if it cannot be compiled. */
const uint8_t *zh_code_compile(zh_code *code, zh_error **err);

/* Frees the code objects and their compiled code (module.c). */
void zh_compile_release(zh_module *m);

#endif
