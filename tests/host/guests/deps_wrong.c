/* A dependency whose zerohop:deps/text does not fit the caller's (deps_wrong.wit): it is
 * never called, only refused at load (tests/host/test_deps.c). */
#include "deps_wrong.h"

#include <stdlib.h>
#include <string.h>

static void set(deps_wrong_string_t *ret, const char *s) {
  ret->len = strlen(s);
  ret->ptr = malloc(ret->len + 1);
  memcpy(ret->ptr, s, ret->len + 1);
}

void deps_wrong_text_shout(deps_wrong_list_u8_t *s, deps_wrong_string_t *ret) {
  deps_wrong_list_u8_free(s);
  set(ret, "wrong");
}

void deps_wrong_text_reverse(deps_wrong_list_u8_t *b, deps_wrong_list_u8_t *ret) { *ret = *b; }

void deps_wrong_text_echo(deps_wrong_list_u8_t *b, deps_wrong_list_u8_t *ret) { *ret = *b; }

void deps_wrong_text_merge(deps_wrong_text_item_t *a, deps_wrong_text_item_t *b,
                           deps_wrong_text_item_t *ret) {
  deps_wrong_text_item_free(b);
  *ret = *a;
}

uint32_t deps_wrong_text_count(void) { return 0; }

void deps_wrong_text_kv_open(deps_wrong_string_t *label, deps_wrong_string_t *ret) {
  *ret = *label;
}

void deps_wrong_text_fetch(deps_wrong_string_t *authority, deps_wrong_string_t *ret) {
  *ret = *authority;
}

uint32_t deps_wrong_text_boom(void) { return 0; }
