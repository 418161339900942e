/* libFuzzer harness: one input is one WebAssembly binary, taken through the whole public
 * API: decode + validate + compile (zh_module_new), instantiation against synthesised
 * imports (zh_instance_new, which also runs the start function), calls of the exported
 * functions with zero arguments, and, for some inputs, templates. Every run of guest
 * code has a 20 ms deadline armed, so runaway loops end in ZH_ERR_INTERRUPTED and the
 * interruption path is exercised constantly.
 *
 * The input's last byte XOR its length (mod 256) is the "flags" byte that picks how host
 * functions behave and whether the template path runs; see the FLAG_* constants.
 *
 * Build and run: `make fuzz-run FUZZ_SECONDS=600` (docs/FUZZING.md, tests/fuzz/README.md). */
#include "zerohop/engine.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEADLINE_NS (20u * 1000u * 1000u) /* per call and per instantiation */
#define MAX_CALLS 8                       /* exported functions called per instance */
#define MAX_TEMPLATE_CALLS 3              /* ... per template instance */

/* Flags byte. Bits 5-7 (>> FLAG_FIRST_SHIFT) say where in the export list the calls start,
 * in eighths of its length, so that mutations of that byte reach every export. */
#define FLAG_HOST_MASK 0x03u   /* host function behaviour, one of HOST_* */
#define FLAG_TEMPLATE 0x04u    /* also run the template path when the module allows it */
#define FLAG_REENTER 0x08u     /* host functions call back into their caller's exports */
#define FLAG_GROW_MEMORY 0x10u /* grow exported memories by one page, write their last byte */
#define FLAG_FIRST_SHIFT 5
#define MAX_REENTRY 2 /* nesting of host -> wasm calls made by host functions */

enum host_mode {
  HOST_ZEROS = 0,      /* return zeroed results */
  HOST_TRAP = 1,       /* every call fails with ZH_ERR_TRAP */
  HOST_TRAP_LATER = 2, /* the first two calls return zeros, later ones trap */
  HOST_INTERRUPT = 3,  /* return zeros after zh_store_interrupt() on the caller's store */
};

/* One per imported function. `results` points into the module's import info, which lives
 * as long as the module (longer than every store and template using it). */
typedef struct host_env {
  enum host_mode mode;
  bool reenter;
  uint32_t calls;
  uint32_t nresults;
  const zh_valtype *results;
} host_env;

static zh_engine *g_engine;

/* Outcome counts, printed at exit when ZH_FUZZ_STATS is set in the environment: a check
 * that the harness reaches what it is meant to (e.g. that deadlines do fire). */
#define NSTATUS (ZH_ERR_IO + 1)
static struct {
  unsigned long inputs, module[NSTATUS], instance[NSTATUS], call[NSTATUS], templates, host_calls;
  unsigned long simd_modules, v128_calls; /* compiled modules with a 0xfd opcode; v128 calls */
} g_stats;

static void count(unsigned long *by_status, const zh_error *err) {
  zh_status st = err ? zh_error_status(err) : ZH_OK;
  if ((unsigned)st < NSTATUS)
    by_status[st]++;
}

static void print_counts(const char *what, const unsigned long *by_status) {
  fprintf(stderr, "  %-9s", what);
  for (int i = 0; i < NSTATUS; i++)
    if (by_status[i])
      fprintf(stderr, " %s=%lu", zh_status_text((zh_status)i), by_status[i]);
  fprintf(stderr, "\n");
}

static void print_stats(void) {
  fprintf(stderr, "fuzz_module stats: %lu inputs, %lu templates instantiated, %lu host calls\n",
          g_stats.inputs, g_stats.templates, g_stats.host_calls);
  fprintf(stderr, "  simd      %lu compiled modules with 0xfd bytes, %lu calls with v128 types\n",
          g_stats.simd_modules, g_stats.v128_calls);
  print_counts("module", g_stats.module);
  print_counts("instance", g_stats.instance);
  print_counts("call", g_stats.call);
}

/* ---- fault-handler chaining ----
 *
 * The engine installs its own SIGSEGV/SIGBUS handler on the first call into wasm. For a
 * fault outside linear memory that handler resets the signal to SIG_DFL and returns, so a
 * genuine crash would kill the fuzzer silently: no sanitizer report and no crash file.
 * We wrap the engine's handler: when it returns (the fault is not a wasm trap), we put
 * back whatever was installed before the engine (the sanitizer's/libFuzzer's handler)
 * and return, so the faulting instruction runs again and is reported properly. */

static struct sigaction g_prev_segv, g_prev_bus;     /* before the engine */
static struct sigaction g_engine_segv, g_engine_bus; /* the engine's */

static void chained_fault(int sig, siginfo_t *info, void *uctx) {
  const struct sigaction *eng = sig == SIGBUS ? &g_engine_bus : &g_engine_segv;
  if (eng->sa_flags & SA_SIGINFO)
    eng->sa_sigaction(sig, info, uctx); /* does not return for a wasm trap */
  sigaction(sig, sig == SIGBUS ? &g_prev_bus : &g_prev_segv, NULL);
}

/* A module with one exported function `f` that does nothing. */
static const uint8_t k_warmup_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* header */
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,             /* type 0: [] -> [] */
    0x03, 0x02, 0x01, 0x00,                         /* func 0: type 0 */
    0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00,       /* export "f" = func 0 */
    0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,             /* code: no locals, end */
};

/* Runs wasm once so that the engine installs its handlers, then wraps them. */
static void wrap_fault_handlers(void) {
  sigaction(SIGSEGV, NULL, &g_prev_segv);
  sigaction(SIGBUS, NULL, &g_prev_bus);

  zh_module *m = NULL;
  zh_store *s = NULL;
  zh_instance *inst = NULL;
  zh_error *err = zh_module_new(g_engine, k_warmup_wasm, sizeof k_warmup_wasm, "warmup", &m);
  if (!err)
    err = zh_store_new(g_engine, &s);
  if (!err)
    err = zh_instance_new(s, m, NULL, 0, &inst);
  if (!err) {
    zh_func *f = zh_instance_func(inst, "f");
    if (f)
      err = zh_func_call(s, f, NULL, 0, NULL, 0);
  }
  if (err) {
    fprintf(stderr, "fuzz_module: warm-up failed: %s\n", zh_error_message(err));
    abort();
  }
  zh_store_free(s);
  zh_module_free(m);

  sigaction(SIGSEGV, NULL, &g_engine_segv);
  sigaction(SIGBUS, NULL, &g_engine_bus);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = chained_fault;
  /* The same flags as the engine's: it leaves by siglongjmp on the alternate stack. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (g_engine_segv.sa_flags & SA_SIGINFO)
    sigaction(SIGSEGV, &sa, NULL);
  if (g_engine_bus.sa_flags & SA_SIGINFO)
    sigaction(SIGBUS, &sa, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  zh_engine_config cfg = {.max_memory_pages = 256,
                          .max_call_depth = 2000,
                          .stack_slots = 1u << 16,
                          .template_start_timeout_ns = 20u * 1000 * 1000,
                          /* every valid body through the compiler, called or not */
                          .eager_compile = true};
  zh_error *err = zh_engine_new(&cfg, &g_engine);
  if (err) {
    fprintf(stderr, "fuzz_module: zh_engine_new: %s\n", zh_error_message(err));
    abort();
  }
  if (getenv("ZH_FUZZ_STATS"))
    atexit(print_stats);
  return 0;
}

/* ---- imports ---- */

static zh_value zero_value(zh_valtype t) {
  zh_value v;
  memset(&v, 0, sizeof v);
  v.type = t;
  return v;
}

static zh_error *call_func(zh_store *store, zh_func *f, bool arm_deadline);
static int g_reentry; /* host -> wasm nesting now */

/* Calls one exported function of the calling instance (the calls-th, cyclically) from a
 * host function: wasm -> host -> wasm. No deadline of its own: the outer call's covers it,
 * and an interruption must end the nested call and then the outer one. */
static zh_error *reenter(zh_caller *caller, uint32_t calls) {
  zh_instance *inst = zh_caller_instance(caller);
  if (!inst || g_reentry >= MAX_REENTRY)
    return NULL;
  const zh_module *m = zh_instance_module(inst);
  size_t n = zh_module_export_count(m);
  for (size_t k = 0; k < n; k++) {
    zh_export_info info;
    zh_module_export(m, (calls + k) % n, &info);
    if (info.kind != ZH_EXTERN_FUNC)
      continue;
    zh_func *f = zh_instance_func(inst, info.name);
    if (!f)
      return NULL;
    g_reentry++;
    zh_error *err = call_func(zh_caller_store(caller), f, false);
    g_reentry--;
    return err;
  }
  return NULL;
}

static zh_error *host_fn(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)args;
  host_env *h = env;
  h->calls++;
  g_stats.host_calls++;
  /* Touch the caller's view, as a real host function would. */
  zh_memory *mem = zh_caller_memory(caller);
  if (mem && zh_memory_size(mem) > 0) {
    uint8_t byte;
    zh_error_free(zh_memory_read(mem, 0, &byte, 1));
  }
  switch (h->mode) {
  case HOST_TRAP:
    return zh_error_new(ZH_ERR_TRAP, "fuzz: host trap");
  case HOST_TRAP_LATER:
    if (h->calls > 2)
      return zh_error_new(ZH_ERR_TRAP, "fuzz: host trap after %u calls", (unsigned)h->calls);
    break;
  case HOST_INTERRUPT:
    zh_store_interrupt(zh_caller_store(caller));
    break;
  case HOST_ZEROS:
    break;
  }
  if (h->reenter) {
    zh_error *err = reenter(caller, h->calls);
    if (err)
      return err; /* a nested trap or interruption ends the outer call too */
  }
  for (uint32_t i = 0; i < h->nresults; i++)
    results[i] = zero_value(h->results[i]);
  return NULL;
}

/* Builds one extern per import in `store`. Returns false when an import cannot be
 * provided (e.g. a memory above the engine's page limit); the module is then only
 * decoded. `envs` has one slot per import. */
static bool make_imports(zh_store *store, const zh_module *m, enum host_mode mode, bool reenter,
                         zh_extern *imports, host_env *envs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    zh_import_info info;
    zh_module_import(m, i, &info);
    imports[i].kind = info.kind;
    zh_error *err = NULL;
    switch (info.kind) {
    case ZH_EXTERN_FUNC:
      envs[i].mode = mode;
      envs[i].reenter = reenter;
      envs[i].calls = 0;
      envs[i].nresults = info.func.nresults;
      envs[i].results = info.func.results;
      imports[i].of.func = zh_func_new_host(store, &info.func, host_fn, &envs[i]);
      if (!imports[i].of.func)
        return false;
      break;
    case ZH_EXTERN_TABLE:
      err = zh_table_new(store, info.elem, &info.limits, &imports[i].of.table);
      break;
    case ZH_EXTERN_MEMORY:
      err = zh_memory_new(store, &info.limits, &imports[i].of.memory);
      break;
    case ZH_EXTERN_GLOBAL: {
      zh_value init = zero_value(info.global);
      err = zh_global_new(store, &init, info.global_mutable, &imports[i].of.global);
      break;
    }
    default:
      return false;
    }
    if (err) {
      zh_error_free(err);
      return false;
    }
  }
  return true;
}

/* ---- running exports ---- */

/* Calls `f` with zero arguments of the right types; returns the call's error. */
static zh_error *call_func(zh_store *store, zh_func *f, bool arm_deadline) {
  zh_functype ft;
  zh_func_type(f, &ft);
  size_t n = (size_t)ft.nparams + ft.nresults;
  zh_value *vals = calloc(n ? n : 1, sizeof *vals);
  if (!vals)
    return NULL;
  for (uint32_t i = 0; i < ft.nparams; i++)
    vals[i] = zero_value(ft.params[i]);
  for (uint32_t i = 0; i < ft.nparams + ft.nresults; i++)
    if ((i < ft.nparams ? ft.params[i] : ft.results[i - ft.nparams]) == ZH_V128) {
      g_stats.v128_calls++;
      break;
    }
  if (arm_deadline)
    zh_store_set_timeout(store, DEADLINE_NS);
  zh_error *err = zh_func_call(store, f, vals, ft.nparams, vals + ft.nparams, ft.nresults);
  if (arm_deadline)
    zh_store_set_timeout(store, 0);
  count(g_stats.call, err);
  if (err) {
    /* Exercise the accessors; the texts must be well-formed strings. */
    zh_status st = zh_error_status(err);
    if (!zh_error_message(err) || !zh_status_text(st))
      abort();
    if (st == ZH_ERR_TRAP && !zh_trap_text(zh_error_trap(err)))
      abort();
  }
  free(vals);
  return err;
}

/* Visits the exports in order, starting `first8` eighths of the way into the list and
 * wrapping around: calls up to `max_calls` functions and pokes at the other exports. */
static void run_exports(zh_store *store, const zh_module *m, zh_instance *inst, int max_calls,
                        bool grow, unsigned first8) {
  size_t n = zh_module_export_count(m);
  size_t first = n * first8 / 8;
  int calls = 0;
  for (size_t k = 0; k < n; k++) {
    size_t i = (first + k) % n;
    zh_export_info info;
    zh_module_export(m, i, &info);
    zh_extern ext;
    if (!zh_instance_export(inst, info.name, &ext))
      continue;
    switch (ext.kind) {
    case ZH_EXTERN_FUNC:
      if (calls < max_calls) {
        calls++;
        zh_error_free(call_func(store, ext.of.func, true));
      }
      break;
    case ZH_EXTERN_MEMORY: {
      zh_memory *mem = ext.of.memory;
      if (grow)
        zh_error_free(zh_memory_grow(mem, 1, NULL));
      uint8_t b = 0;
      size_t size = zh_memory_size(mem);
      /* At the last byte, then one past it (a bounds error, not a fault). */
      zh_error_free(zh_memory_read(mem, size ? size - 1 : 0, &b, size ? 1 : 0));
      zh_error_free(zh_memory_read(mem, size, &b, 1));
      if (grow)
        zh_error_free(zh_memory_write(mem, size ? size - 1 : 0, &b, size ? 1 : 0));
      break;
    }
    case ZH_EXTERN_TABLE: {
      zh_value v = zero_value(ZH_FUNCREF);
      uint32_t size = zh_table_size(ext.of.table);
      zh_error *err = zh_table_get(ext.of.table, size ? size - 1 : 0, &v);
      if (!err && grow)
        err = zh_table_set(ext.of.table, size - 1, &v); /* write back what was there */
      zh_error_free(err);
      break;
    }
    case ZH_EXTERN_GLOBAL: {
      zh_value v = zh_global_get(ext.of.global);
      if (grow)
        zh_error_free(zh_global_set(ext.of.global, &v)); /* a usage error when immutable */
      break;
    }
    }
  }
}

/* ---- templates ---- */

/* zh_template_new instantiates in a private store; the engine's template_start_timeout_ns
 * (20 ms here) bounds a start function that loops. */
static void run_template(zh_store *store, const zh_module *m, const zh_extern *imports,
                         size_t nimports, unsigned first8) {
  zh_template *tpl = NULL;
  zh_error *err = zh_template_new(g_engine, m, imports, nimports, &tpl);
  if (err) {
    zh_error_free(err);
    return;
  }
  zh_instance *a = NULL, *b = NULL;
  err = zh_template_instantiate(tpl, store, &a);
  if (!err)
    err = zh_template_instantiate(tpl, store, &b);
  if (!err) {
    g_stats.templates++;
    run_exports(store, m, b, MAX_TEMPLATE_CALLS, false, first8);
  }
  zh_error_free(err);
  zh_template_free(tpl);
}

/* ---- the entry point ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool wrapped;
  if (!wrapped) {
    wrapped = true;
    wrap_fault_handlers();
  }
  if (size == 0)
    return 0;
  uint8_t flags = (uint8_t)(data[size - 1] ^ (uint8_t)size);

  zh_module *m = NULL;
  g_stats.inputs++;
  zh_error *err = zh_module_new(g_engine, data, size, "fuzz", &m);
  count(g_stats.module, err);
  if (err) {
    zh_error_free(err);
    return 0;
  }
  if (memchr(data, 0xfd, size)) /* a rough count: the SIMD prefix, or just the byte */
    g_stats.simd_modules++;
  /* Module introspection. */
  for (size_t i = 0; i < zh_module_custom_count(m); i++) {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    zh_module_custom(m, i, &name, &bytes, &len);
  }

  zh_store *store = NULL;
  err = zh_store_new(g_engine, &store);
  if (err) {
    zh_error_free(err);
    zh_module_free(m);
    return 0;
  }
  size_t nimports = zh_module_import_count(m);
  zh_extern *imports = calloc(nimports ? nimports : 1, sizeof *imports);
  host_env *envs = calloc(nimports ? nimports : 1, sizeof *envs);
  bool all_funcs = true;
  if (imports && envs &&
      make_imports(store, m, (enum host_mode)(flags & FLAG_HOST_MASK), (flags & FLAG_REENTER) != 0,
                   imports, envs, nimports)) {
    zh_instance *inst = NULL;
    zh_store_set_timeout(store, DEADLINE_NS); /* the start function runs here */
    err = zh_instance_new(store, m, imports, nimports, &inst);
    zh_store_set_timeout(store, 0);
    count(g_stats.instance, err);
    if (!err)
      run_exports(store, m, inst, MAX_CALLS, (flags & FLAG_GROW_MEMORY) != 0,
                  flags >> FLAG_FIRST_SHIFT);
    zh_error_free(err);

    for (size_t i = 0; i < nimports; i++)
      if (imports[i].kind != ZH_EXTERN_FUNC)
        all_funcs = false;
    if ((flags & FLAG_TEMPLATE) && all_funcs)
      run_template(store, m, imports, nimports, flags >> FLAG_FIRST_SHIFT);
  }
  zh_store_free(store); /* before the host environments its functions point at */
  free(envs);
  free(imports);
  zh_module_free(m);
  return 0;
}
