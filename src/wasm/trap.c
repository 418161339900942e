/* Signal handling for memory traps; see trap.h. */
#include "wasm/trap.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* A fault handler can find its invocation only through thread-local state: the signal
 * arrives with nothing but a faulting address. These are the only two per-thread
 * variables in the engine; the handlers themselves are process-wide by nature. */
static _Thread_local zh_trap_scope *tl_scope;
static _Thread_local bool tl_altstack_ready;

#define ZH_ALTSTACK_SIZE ((size_t)64 * 1024)

static bool fault_is_ours(const zh_trap_scope *scope, uintptr_t addr) {
  if (!scope || scope->in_host || !scope->store)
    return false;
  const zh_instance *inst = scope->store->cur_inst;
  if (!inst || !inst->memory)
    return false;
  /* Any memory of the running instance: an access to memory k runs with k's base. */
  for (uint32_t i = 0; i < inst->module->nmems; i++) {
    const zh_memory *mem = inst->memories[i];
    uintptr_t lo = (uintptr_t)mem->base;
    if (lo && addr >= lo && addr - lo < ZH_MEM_RESERVE + ZH_MEM_GUARD)
      return true;
  }
  return false;
}

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;
static bool handlers_ok;
/* The handlers that were installed before ours (the embedder's, a sanitizer's): faults
 * that are not wasm traps go to them. Written once, under handlers_once. */
static struct sigaction prev_segv, prev_bus;

static void on_fault(int sig, siginfo_t *info, void *uctx) {
  zh_trap_scope *scope = tl_scope;
  if (fault_is_ours(scope, (uintptr_t)info->si_addr))
    siglongjmp(scope->env, 1);
  /* Not a wasm access: hand it to whoever handled it before us. */
  const struct sigaction *prev = sig == SIGBUS ? &prev_bus : &prev_segv;
  if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
    prev->sa_sigaction(sig, info, uctx);
    return;
  }
  if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
    prev->sa_handler(sig);
    return;
  }
  /* Default action: restore it; returning re-executes the access, which then kills. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
}

static void install_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  /* NODEFER: we leave the handler by siglongjmp without restoring the mask, so the
   * signal must not stay blocked afterwards. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  handlers_ok = sigaction(SIGSEGV, &sa, &prev_segv) == 0 && sigaction(SIGBUS, &sa, &prev_bus) == 0;
}

bool zh_trap_prepare(void) {
  pthread_once(&handlers_once, install_handlers);
  if (!handlers_ok)
    return false;
  if (!tl_altstack_ready) {
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) && cur.ss_size >= 16384) {
      tl_altstack_ready = true; /* the embedder already gave this thread one */
    } else {
      void *mem =
          mmap(NULL, ZH_ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mem == MAP_FAILED)
        return false;
      stack_t ss = {.ss_sp = mem, .ss_size = ZH_ALTSTACK_SIZE, .ss_flags = 0};
      if (sigaltstack(&ss, NULL) != 0) {
        munmap(mem, ZH_ALTSTACK_SIZE);
        return false;
      }
      /* The stack stays for the thread's life; threads that run wasm are long-lived. */
      tl_altstack_ready = true;
    }
  }
  return true;
}

void zh_trap_enter(zh_trap_scope *scope, zh_store *store) {
  scope->prev = tl_scope;
  scope->store = store;
  scope->in_host = 0;
  tl_scope = scope;
}

void zh_trap_leave(zh_trap_scope *scope) { tl_scope = scope->prev; }

zh_trap_scope *zh_trap_current(void) { return tl_scope; }
