/* Command component: exits with the code in argv[1] (0-255, default 42) through
 * wasi:cli/exit#exit-with-code, the only way a component keeps a code other than 0 or 1: the
 * preview1 adapter turns every non-zero proc_exit into exit(err), which reads as 1.
 *
 * The import is declared by hand with its canonical-ABI core signature (one u8 parameter,
 * passed as i32). The preview1 adapter's world does not cover it, so the core module carries
 * its own world (exit.wit, a world importing wasi:cli/exit), embedded by
 * tests/components/embed.mjs before `jco new` wraps the module. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((import_module("wasi:cli/exit@0.2.12"), import_name("exit-with-code"))) extern void
exit_with_code(int32_t status_code);

int main(int argc, char **argv) {
  int code = argc > 1 ? atoi(argv[1]) : 42;
  printf("exit-with-code %d\n", code);
  fflush(stdout);
  exit_with_code(code & 0xff);
  return 0; /* not reached: exit-with-code does not return */
}
