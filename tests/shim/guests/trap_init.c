/* Linked into the C wasi:http hello (tests/components/c-http/hello.c) to make a component
 * that traps while it initialises: the constructor runs in _initialize, when the host builds
 * the component's template at load, before any request. The shim must report it as a failed
 * task with the trap in the container's log. */
__attribute__((constructor)) static void trap_at_start(void) { __builtin_trap(); }
