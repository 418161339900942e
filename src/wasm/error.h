/* Internal error constructors (the public ones are in zerohop/engine.h). */
#ifndef ZH_WASM_ERROR_H
#define ZH_WASM_ERROR_H

#include "zerohop/engine.h"

#include <stdarg.h>

/* A trap. Status is ZH_ERR_TRAP, except ZH_ERR_EXHAUSTION for ZH_TRAP_STACK_OVERFLOW and
 * ZH_ERR_INTERRUPTED for ZH_TRAP_INTERRUPTED. The message is the trap's spec text
 * (zh_trap_text), followed by ": detail" when `fmt` is non-NULL and formats non-empty. */
zh_error *zh_error_trap_new(zh_trap_code code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends context to err's message and returns err (NULL stays NULL). The context and
 * the old message are joined with ": ", unless the context already ends in a space
 * (then nothing is inserted) or a colon (then a space is). If memory runs out the
 * message is left as it was. */
zh_error *zh_error_prefix(zh_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* zh_error_new with a va_list. */
zh_error *zh_error_vnew(zh_status status, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The preallocated "out of memory" error (ZH_ERR_RESOURCE) returned when an error
 * cannot be allocated. zh_error_free ignores it; zh_error_prefix leaves it unchanged. */
zh_error *zh_error_oom(void) __attribute__((returns_nonnull));

/* How a guest call ended, for one-line logs of hosts: "cut at the deadline", "trapped",
 * "exited" or "failed". */
const char *zh_error_outcome(const zh_error *err);

#endif
