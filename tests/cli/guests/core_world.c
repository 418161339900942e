/* A WASI 0.2 command as a core module (world core-command in core_world.wit): no preview1 at
 * all, every import in the canonical ABI, its bindings from `zerohop bindgen c`, its world in
 * its component-type section. `zerohop run` runs it through that world
 * (tests/cli/test_core_world.c). wasi:cli/run#run:
 *   prints "argv:" and each argument, then the value of CORE_WORLD from the environment, the
 *   wall clock's seconds and whether two random u64s differ, on stdout; "to stderr" on stderr;
 *   with a first argument "exit N", exits with code N through exit-with-code;
 *   with "fail", returns err (exit status 1); with "trap", traps; with "reenter", asks for
 *   its arguments again while its cabi_realloc calls an import (wasi:clocks/wall-clock.now),
 *   which may_leave forbids: a trap; with "post-reenter", its post-return for run calls that
 *   import: a trap too; with "post-drop", its post-return drops its stdout handle
 *   (resource.drop, which may_leave forbids as well);
 *   built with -DGREETER (world core-greeter), "greet" calls zerohop:test-core/greeter.hello,
 *   which no host implements. */
#include "core_command.h"

#include <stdlib.h>
#include <string.h>

#ifdef GREETER
/* hello: func(name: string) -> string, in the canonical ABI: (ptr, len, retptr). */
__attribute__((import_module("zerohop:test-core/greeter"), import_name("hello"))) extern void
greeter_hello(const char *name, size_t len, void *ret);
#endif

static bool reenter;      /* the next cabi_realloc calls an import first */
static bool post_reenter; /* the post-return of run calls an import */
static int32_t post_drop; /* an output-stream handle the post-return of run drops, or 0 */

/* run's post-return (the canonical ABI calls it after lifting the result): the bindings
 * declare none, as run returns nothing to free. */
__attribute__((__export_name__("cabi_post_wasi:cli/run@0.2.12#run"))) void post_run(int32_t r) {
  (void)r;
  if (post_reenter) {
    core_command_wall_clock_datetime_t now;
    core_command_wall_clock_now(&now);
  }
  if (post_drop)
    core_command_streams_output_stream_drop_own(
        (core_command_streams_own_output_stream_t){post_drop});
}

/* The bindings' cabi_realloc is weak; this one can misbehave on request. */
__attribute__((__export_name__("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size,
                                                                    size_t align, size_t new_size) {
  if (reenter) {
    reenter = false;
    core_command_wall_clock_datetime_t now;
    core_command_wall_clock_now(&now);
  }
  (void)old_size;
  void *r = aligned_alloc(align < 8 ? 8 : align, new_size < 8 ? 8 : (new_size + 7) / 8 * 8);
  if (r == NULL)
    __builtin_trap();
  if (ptr != NULL) {
    memcpy(r, ptr, old_size < new_size ? old_size : new_size);
    free(ptr);
  }
  return r;
}

static void write_to(core_command_streams_own_output_stream_t s, const char *text, size_t len) {
  core_command_list_u8_t bytes = {(uint8_t *)text, len};
  core_command_result_void_streams_stream_error_t written;
  core_command_streams_method_output_stream_blocking_write_and_flush(
      core_command_streams_borrow_output_stream(s), &bytes, &written);
}

static void put(core_command_streams_own_output_stream_t s, const char *text) {
  write_to(s, text, strlen(text));
}

/* Decimal text of n (no stdio: it would import preview1). */
static const char *decimal(unsigned long long n, char buf[24]) {
  char *p = buf + 23;
  *p = 0;
  do
    *--p = (char)('0' + n % 10);
  while ((n /= 10) != 0);
  return p;
}

static bool arg_is(const core_command_list_string_t *args, size_t i, const char *want) {
  size_t n = strlen(want);
  return args->len > i && args->ptr[i].len == n && memcmp(args->ptr[i].ptr, want, n) == 0;
}

void core_command_run_run(core_command_result_void_void_t *ret) {
  ret->is_err = false;
  core_command_streams_own_output_stream_t out = core_command_stdout_get_stdout();
  core_command_streams_own_output_stream_t err = core_command_stderr_get_stderr();
  core_command_list_string_t args;
  core_command_environment_get_arguments(&args);
  put(out, "argv:");
  for (size_t i = 0; i < args.len; i++) {
    put(out, " ");
    write_to(out, (const char *)args.ptr[i].ptr, args.ptr[i].len);
  }
  put(out, "\n");

  core_command_list_tuple2_string_string_t env;
  core_command_environment_get_environment(&env);
  put(out, "CORE_WORLD=");
  for (size_t i = 0; i < env.len; i++)
    if (env.ptr[i].f0.len == 10 && memcmp(env.ptr[i].f0.ptr, "CORE_WORLD", 10) == 0)
      write_to(out, (const char *)env.ptr[i].f1.ptr, env.ptr[i].f1.len);
  put(out, "\n");

  core_command_wall_clock_datetime_t now;
  core_command_wall_clock_now(&now);
  char buf[24];
  put(out, "wall seconds ");
  put(out, decimal(now.seconds, buf));
  put(out, "\n");
  uint64_t a = core_command_random_get_random_u64(), b = core_command_random_get_random_u64();
  put(out, a != b ? "random differs\n" : "random repeats\n");
  put(err, "to stderr\n");

  if (arg_is(&args, 1, "exit") && args.len > 2) {
    char code[8] = {0};
    memcpy(code, args.ptr[2].ptr, args.ptr[2].len < 7 ? args.ptr[2].len : 7);
    core_command_exit_exit_with_code((uint8_t)atoi(code));
  }
  if (arg_is(&args, 1, "fail"))
    ret->is_err = true;
  if (arg_is(&args, 1, "trap"))
    __builtin_trap();
  post_reenter = arg_is(&args, 1, "post-reenter");
  bool keep_out = arg_is(&args, 1, "post-drop");
  if (arg_is(&args, 1, "reenter")) {
    reenter = true;
    core_command_list_string_t again;
    core_command_environment_get_arguments(&again);
    put(out, "not reached\n");
  }
#ifdef GREETER
  if (arg_is(&args, 1, "greet")) {
    uint32_t res[2];
    greeter_hello("zerohop", 7, res);
  }
#endif
  core_command_list_string_free(&args);
  core_command_list_tuple2_string_string_free(&env);
  if (keep_out)
    post_drop = out.__handle; /* for the post-return */
  else
    core_command_streams_output_stream_drop_own(out);
  core_command_streams_output_stream_drop_own(err);
}
