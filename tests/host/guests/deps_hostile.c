/* A hostile dependency (tests/host/test_deps.c) on deps_hostile.wit, which is deps_callee's
 * zerohop:deps/text: its results break the canonical ABI, and the host must trap naming the
 * function and the callee, never copy from outside its memory:
 *   shout    a string that is not UTF-8
 *   reverse  a list whose pointer lies past the end of its memory
 *   merge    a record whose tags list lies past the end of its memory
 *   count    a counter, as deps_callee's (1 on a fresh instance): the next request works
 *   the rest answer plainly */
#include "deps_hostile.h"

#include <stdlib.h>
#include <string.h>

#define OUTSIDE 0xffffff00u /* past any memory a test guest has */

static uint32_t counter;

void deps_hostile_text_shout(deps_hostile_string_t *s, deps_hostile_string_t *ret) {
  deps_hostile_string_free(s);
  static const uint8_t bad[] = {'o', 'k', 0xff, 0xfe};
  ret->ptr = malloc(sizeof bad);
  memcpy(ret->ptr, bad, sizeof bad);
  ret->len = sizeof bad;
}

void deps_hostile_text_reverse(deps_hostile_list_u8_t *b, deps_hostile_list_u8_t *ret) {
  deps_hostile_list_u8_free(b);
  ret->ptr = (uint8_t *)(uintptr_t)OUTSIDE;
  ret->len = 1024;
}

void deps_hostile_text_echo(deps_hostile_list_u8_t *b, deps_hostile_list_u8_t *ret) { *ret = *b; }

void deps_hostile_text_merge(deps_hostile_text_item_t *a, deps_hostile_text_item_t *b,
                             deps_hostile_text_item_t *ret) {
  deps_hostile_text_item_free(b);
  *ret = *a;
  ret->tags.ptr = (deps_hostile_string_t *)(uintptr_t)OUTSIDE;
  ret->tags.len = 2;
}

uint32_t deps_hostile_text_count(void) { return ++counter; }

void deps_hostile_text_kv_open(deps_hostile_string_t *label, deps_hostile_string_t *ret) {
  *ret = *label;
}

void deps_hostile_text_fetch(deps_hostile_string_t *authority, deps_hostile_string_t *ret) {
  *ret = *authority;
}

uint32_t deps_hostile_text_boom(void) { return 0; }
