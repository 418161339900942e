/* Hostile guest for tests/wit/test_abi.c: world t:bad/bad, each export breaking the
 * canonical ABI in one way (selected by its argument or by set-realloc-mode). */
#include <stdint.h>
#include <stdlib.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define API "t:bad/api@1.0.0#"

static uint32_t realloc_mode;

EXPORT("cabi_realloc") void *cabi_realloc(void *old, size_t old_size, size_t align, size_t size) {
  (void)old_size;
  (void)align;
  if (realloc_mode == 1)
    return (void *)(uintptr_t)0xffffff00u; /* far past the end of memory */
  if (realloc_mode == 2)
    return (char *)realloc(old, size + 8) + 1; /* misaligned */
  return realloc(old, size);
}

EXPORT(API "set-realloc-mode") void set_realloc_mode(uint32_t m) { realloc_mode = m; }

static uint32_t ret[2];
static char text[] = "hello";
static const char bad_utf8[] = {'o', 'k', (char)0xc3, (char)0x28};
static uint64_t nums[4] = {1, 2, 3, 4};

EXPORT(API "get-string") uint32_t *get_string(uint32_t mode) {
  ret[0] = (uint32_t)(uintptr_t)text;
  ret[1] = 5;
  if (mode == 1)
    ret[0] = 0xfffffff0u; /* pointer out of bounds */
  if (mode == 2) {
    ret[0] = (uint32_t)(uintptr_t)bad_utf8;
    ret[1] = sizeof bad_utf8;
  }
  if (mode == 3)
    return (uint32_t *)(uintptr_t)0xfffffffcu; /* return area out of bounds */
  if (mode == 4)
    ret[1] = 0x7fffffff; /* length past the end */
  return ret;
}

EXPORT(API "get-list") uint32_t *get_list(uint32_t mode) {
  ret[0] = (uint32_t)(uintptr_t)nums;
  ret[1] = 4;
  if (mode == 1)
    ret[0] += 4; /* u64 elements at a 4-aligned address */
  if (mode == 2)
    ret[1] = 0x20000001; /* 8 * len wraps 32 bits */
  return ret;
}

EXPORT(API "get-option") uint32_t *get_option(void) {
  ret[0] = 7; /* option has cases 0 and 1 */
  ret[1] = 1;
  return ret;
}
EXPORT(API "get-enum") uint32_t get_enum(void) { return 5; }
EXPORT(API "get-bool") uint32_t get_bool(void) { return 2; }
EXPORT(API "get-char") uint32_t get_char(void) { return 0xd800; }
EXPORT(API "take-string") uint32_t take_string(char *p, size_t n) {
  (void)p;
  return (uint32_t)n;
}
EXPORT(API "take-list") uint32_t take_list(uint64_t *p, size_t n) {
  (void)p;
  return (uint32_t)n;
}

__attribute__((import_module("t:bad/host@1.0.0"), import_name("log"))) uint32_t
host_log(const char *p, size_t n);
EXPORT(API "call-bad-utf8") uint32_t call_bad_utf8(void) {
  return host_log(bad_utf8, sizeof bad_utf8);
}
EXPORT(API "call-oob") uint32_t call_oob(void) { return host_log((const char *)0x7ffffff0, 64); }

int main(void) { return 0; }
