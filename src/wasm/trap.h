/* Turning hardware faults in wasm code into wasm traps.
 *
 * Loads and stores do no bounds check (memory.h): an out-of-bounds access touches an
 * inaccessible page and raises SIGSEGV. zh_invoke opens a trap scope around the
 * interpreter; the signal handler, running on a per-thread alternate stack, checks that
 * the faulting address lies in the reserved region of one of the running instance's
 * memories and then jumps back to the scope. Any other fault is not ours: the handler
 * restores the default action and the process crashes as it would have without us. */
#ifndef ZH_WASM_TRAP_H
#define ZH_WASM_TRAP_H

#include "wasm/runtime.h"

#include <setjmp.h>
#include <signal.h>

typedef struct zh_trap_scope {
  sigjmp_buf env;
  struct zh_trap_scope *prev;
  zh_store *store;
  volatile sig_atomic_t in_host; /* a host function runs: its faults are not traps */
} zh_trap_scope;

/* Installs the process-wide handlers (once) and this thread's alternate signal stack.
 * Returns false if the host refuses (then no scope may be entered). */
bool zh_trap_prepare(void);
/* Pushes/pops the scope for the calling thread. Call sigsetjmp(scope->env, 0) in the
 * caller's frame right after zh_trap_enter. */
void zh_trap_enter(zh_trap_scope *scope, zh_store *store);
void zh_trap_leave(zh_trap_scope *scope);
/* The innermost scope of this thread, or NULL. */
zh_trap_scope *zh_trap_current(void);

#endif
