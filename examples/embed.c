/* Embedding zerohop in a C program: load a module, give it a host function, instantiate,
 * call an export with typed values, read its memory, and handle a trap.
 *
 *   make build/examples/embed && build/examples/embed
 *
 * The module is the binary form of:
 *   (module
 *     (import "host" "log" (func $log (param i32)))
 *     (memory (export "memory") 1)
 *     (func (export "add") (param i32 i32) (result i32) (local i32)
 *       local.get 0 local.get 1 i32.add local.tee 2 call $log  ;; tell the host
 *       i32.const 0 local.get 2 i32.store                      ;; memory[0] = sum
 *       local.get 2)
 *     (func (export "div") (param i32 i32) (result i32)
 *       local.get 0 local.get 1 i32.div_s))
 */
#include "zerohop/engine.h"

#include <stdio.h>

static const uint8_t module_bytes[] =
    {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* magic, version */
        0x01, 0x0b, 0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, /* types */
        0x02, 0x0c, 0x01, 0x04, 'h',  'o',  's',  't',  0x03, 'l',  'o',  'g',  0x00,
        0x00,                                                                   /* import */
        0x03, 0x03, 0x02, 0x01, 0x01,                                           /* functions */
        0x05, 0x03, 0x01, 0x00, 0x01,                                           /* memory */
        0x07, 0x16, 0x03, 0x06, 'm',  'e',  'm',  'o',  'r',  'y',  0x02, 0x00, /* exports */
        0x03, 'a',  'd',  'd',  0x00, 0x01, 0x03, 'd',  'i',  'v',  0x00, 0x02, 0x0a,
        0x20, 0x02, /* code: add */
        0x16, 0x01, 0x01, 0x7f, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x22, 0x02, 0x10, 0x00,
        0x41, 0x00, 0x20, 0x02, 0x36, 0x02, 0x00, 0x20, 0x02, 0x0b, 0x07, 0x00, 0x20,
        0x00, 0x20, 0x01, 0x6d, 0x0b}; /* div */

/* A host function: sees its caller (store, instance, memory) and typed arguments. */
static zh_error *host_log(zh_caller *caller, void *env, const zh_value *args, zh_value *results) {
  (void)caller, (void)results;
  int *calls = env;
  (*calls)++;
  printf("host log: the guest computed %d\n", args[0].of.i32);
  return NULL; /* or an error: it ends the call, e.g. zh_error_new(ZH_ERR_TRAP, "...") */
}

static int fail(zh_error *err) {
  fprintf(stderr, "embed: %s\n", zh_error_message(err));
  zh_error_free(err);
  return 1;
}

int main(void) {
  zh_engine *engine;
  zh_module *module;
  zh_store *store;
  zh_instance *inst;
  zh_error *err;

  if ((err = zh_engine_new(NULL, &engine)))
    return fail(err);
  if ((err = zh_module_new(engine, module_bytes, sizeof module_bytes, "embed", &module)))
    return fail(err);
  if ((err = zh_store_new(engine, &store)))
    return fail(err);

  /* Imports are given in the module's import order. */
  int calls = 0;
  zh_valtype log_params[] = {ZH_I32};
  zh_functype log_type = {1, 0, log_params, NULL};
  zh_extern imports[1] = {
      {ZH_EXTERN_FUNC, {.func = zh_func_new_host(store, &log_type, host_log, &calls)}}};
  if ((err = zh_instance_new(store, module, imports, 1, &inst)))
    return fail(err);

  zh_value args[2] = {zh_i32(40), zh_i32(2)}, result;
  if ((err = zh_func_call(store, zh_instance_func(inst, "add"), args, 2, &result, 1)))
    return fail(err);
  uint32_t stored = 0;
  if ((err = zh_memory_read(zh_instance_memory(inst, "memory"), 0, &stored, 4)))
    return fail(err);
  printf("add(40, 2) = %d, memory[0] = %u, host calls = %d\n", result.of.i32, stored, calls);

  /* A trap is an error value; the instance stays usable afterwards. */
  zh_value zero[2] = {zh_i32(1), zh_i32(0)};
  err = zh_func_call(store, zh_instance_func(inst, "div"), zero, 2, &result, 1);
  printf("div(1, 0): %s, trap code %d: %s\n", zh_status_text(zh_error_status(err)),
         (int)zh_error_trap(err), zh_error_message(err));
  zh_error_free(err);

  zh_store_free(store); /* frees the instance and the host function */
  zh_module_free(module);
  zh_engine_free(engine);
  return stored == 42 && calls == 1 ? 0 : 1;
}
