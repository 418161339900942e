/* Translation of validated function bodies into the interpreter's register code. */
#ifndef ZH_WASM_COMPILE_H
#define ZH_WASM_COMPILE_H

#include "wasm/module.h"

#include <stdint.h>

/* A compiled body. Slots are 8-byte cells addressed from the frame pointer: params
 * first, then declared locals, then the operand-stack temporaries. */
typedef struct zh_code {
  uint8_t *ops; /* threaded code: handler addresses followed by packed operands */
  size_t len;
  uint32_t func_index;
  uint32_t nparams;     /* slots holding params */
  uint32_t nresults;    /* slots results are returned in, from slot 0 */
  uint32_t nlocals;     /* params + declared locals; the declared ones are zeroed on entry */
  uint32_t frame_slots; /* total slots the frame needs, including call scratch */
} zh_code;

/* Compiles every body of a validated module into m->code. */
zh_error *zh_compile_module(zh_module *m);
void zh_code_free(zh_code *code);

#endif
