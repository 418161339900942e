/* A dependency with a dependency of its own (deps_relay.wit): its zerohop:deps/text forwards
 * each call to zerohop:deps/inner, so a test sees two levels of linking at once:
 *   shout    "relay " + inner's answer
 *   count    inner's count + 100 times its own (1 + 100 = 101 on fresh instances of both)
 *   others   inner's answer as it is */
#include "deps_relay.h"

#include <stdlib.h>
#include <string.h>

static uint32_t counter;

void deps_relay_text_shout(deps_relay_string_t *s, deps_relay_string_t *ret) {
  deps_relay_string_t got;
  deps_relay_inner_shout(s, &got);
  ret->len = 6 + got.len;
  ret->ptr = malloc(ret->len);
  memcpy(ret->ptr, "relay ", 6);
  memcpy(ret->ptr + 6, got.ptr, got.len);
  deps_relay_string_free(&got);
  deps_relay_string_free(s);
}

void deps_relay_text_reverse(deps_relay_list_u8_t *b, deps_relay_list_u8_t *ret) {
  deps_relay_inner_reverse(b, ret);
  deps_relay_list_u8_free(b);
}

void deps_relay_text_echo(deps_relay_list_u8_t *b, deps_relay_list_u8_t *ret) {
  deps_relay_inner_echo(b, ret);
  deps_relay_list_u8_free(b);
}

void deps_relay_text_merge(deps_relay_text_item_t *a, deps_relay_text_item_t *b,
                           deps_relay_text_item_t *ret) {
  deps_relay_inner_item_t ia = {a->name, a->qty, a->tags}, ib = {b->name, b->qty, b->tags}, got;
  deps_relay_inner_merge(&ia, &ib, &got);
  ret->name = got.name;
  ret->qty = got.qty;
  ret->tags = got.tags;
  deps_relay_text_item_free(a);
  deps_relay_text_item_free(b);
}

uint32_t deps_relay_text_count(void) { return deps_relay_inner_count() + 100 * ++counter; }

void deps_relay_text_kv_open(deps_relay_string_t *label, deps_relay_string_t *ret) {
  deps_relay_inner_kv_open(label, ret);
  deps_relay_string_free(label);
}

void deps_relay_text_fetch(deps_relay_string_t *authority, deps_relay_string_t *ret) {
  deps_relay_inner_fetch(authority, ret);
  deps_relay_string_free(authority);
}

uint32_t deps_relay_text_boom(void) { return deps_relay_inner_boom(); }
