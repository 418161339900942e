/* The dependency of the component-dependency tests (tests/host/test_deps.c): it implements
 * zerohop:deps/text on its own memory, and reaches key-value and outbound HTTP, so a test
 * sees both the values that crossed and the capabilities the host gave it:
 *   shout    ASCII letters upper-cased, "!" appended (other bytes kept as they are)
 *   reverse  the bytes in reverse order
 *   echo     the bytes as they came (what bench/hops_call.sh times)
 *   merge    names joined with "+", quantities added, tags concatenated
 *   count    a counter in its memory: 1 on a fresh instance, then 2, ...
 *   kv-open  "ok" or the error case of fermyon:spin/key-value's store.open
 *   fetch    GET http://AUTHORITY/ over wasi:http: "status N" or "error N" (error-code tag)
 *   boom     traps */
#include "deps_callee.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t counter;

static void set_bytes(deps_callee_string_t *ret, const void *data, size_t len) {
  ret->ptr = malloc(len ? len : 1);
  if (len)
    memcpy(ret->ptr, data, len);
  ret->len = len;
}

void deps_callee_text_shout(deps_callee_string_t *s, deps_callee_string_t *ret) {
  ret->ptr = malloc(s->len + 1);
  for (size_t i = 0; i < s->len; i++)
    ret->ptr[i] = s->ptr[i] >= 'a' && s->ptr[i] <= 'z' ? (uint8_t)(s->ptr[i] - 32) : s->ptr[i];
  ret->ptr[s->len] = '!';
  ret->len = s->len + 1;
  deps_callee_string_free(s);
}

void deps_callee_text_reverse(deps_callee_list_u8_t *b, deps_callee_list_u8_t *ret) {
  ret->ptr = malloc(b->len ? b->len : 1);
  for (size_t i = 0; i < b->len; i++)
    ret->ptr[i] = b->ptr[b->len - 1 - i];
  ret->len = b->len;
  deps_callee_list_u8_free(b);
}

void deps_callee_text_echo(deps_callee_list_u8_t *b, deps_callee_list_u8_t *ret) { *ret = *b; }

void deps_callee_text_merge(deps_callee_text_item_t *a, deps_callee_text_item_t *b,
                            deps_callee_text_item_t *ret) {
  size_t n = a->name.len + 1 + b->name.len;
  ret->name.ptr = malloc(n);
  memcpy(ret->name.ptr, a->name.ptr, a->name.len);
  ret->name.ptr[a->name.len] = '+';
  memcpy(ret->name.ptr + a->name.len + 1, b->name.ptr, b->name.len);
  ret->name.len = n;
  ret->qty = a->qty + b->qty;
  ret->tags.len = a->tags.len + b->tags.len;
  ret->tags.ptr = calloc(ret->tags.len + 1, sizeof *ret->tags.ptr);
  for (size_t i = 0; i < ret->tags.len; i++) {
    const deps_callee_string_t *t =
        i < a->tags.len ? &a->tags.ptr[i] : &b->tags.ptr[i - a->tags.len];
    set_bytes(&ret->tags.ptr[i], t->ptr, t->len);
  }
  deps_callee_text_item_free(a);
  deps_callee_text_item_free(b);
}

uint32_t deps_callee_text_count(void) { return ++counter; }

void deps_callee_text_kv_open(deps_callee_string_t *label, deps_callee_string_t *ret) {
  static const char *const names[] = {"store-table-full", "no-such-store", "access-denied",
                                      "other"};
  deps_callee_result_own_key_value_store_key_value_error_t r;
  deps_callee_key_value_static_store_open(label, &r);
  char text[256];
  if (!r.is_err) {
    snprintf(text, sizeof text, "ok");
    deps_callee_key_value_store_drop_own(r.val.ok);
  } else {
    snprintf(text, sizeof text, "%s", r.val.err.tag < 4 ? names[r.val.err.tag] : "?");
    deps_callee_key_value_error_free(&r.val.err);
  }
  set_bytes(ret, text, strlen(text));
  deps_callee_string_free(label);
}

void deps_callee_text_fetch(deps_callee_string_t *authority, deps_callee_string_t *ret) {
  char text[128];
  deps_callee_types_own_outgoing_request_t req =
      deps_callee_types_constructor_outgoing_request(deps_callee_types_constructor_fields());
  deps_callee_types_borrow_outgoing_request_t b = deps_callee_types_borrow_outgoing_request(req);
  deps_callee_result_void_void_t ok;
  deps_callee_option_types_scheme_t scheme = {true, {DEPS_CALLEE_TYPES_SCHEME_HTTP, {{0}}}};
  deps_callee_types_method_outgoing_request_set_scheme(b, &scheme, &ok);
  deps_callee_option_string_t auth = {true, *authority};
  deps_callee_types_method_outgoing_request_set_authority(b, &auth, &ok);
  deps_callee_option_string_t path = {true, {(uint8_t *)"/", 1}};
  deps_callee_types_method_outgoing_request_set_path_with_query(b, &path, &ok);
  deps_callee_option_own_types_request_options_t none = {false, {0}};
  deps_callee_result_own_types_future_incoming_response_types_error_code_t fut;
  deps_callee_outgoing_handler_handle(req, &none, &fut);
  if (fut.is_err) {
    snprintf(text, sizeof text, "error %u", fut.val.err.tag);
    deps_callee_types_error_code_free(&fut.val.err);
  } else {
    deps_callee_types_borrow_future_incoming_response_t f =
        deps_callee_types_borrow_future_incoming_response(fut.val.ok);
    deps_callee_poll_own_pollable_t p =
        deps_callee_types_method_future_incoming_response_subscribe(f);
    deps_callee_poll_method_pollable_block(deps_callee_poll_borrow_pollable(p));
    deps_callee_poll_pollable_drop_own(p);
    deps_callee_option_result_result_own_types_incoming_response_types_error_code_void_t got;
    deps_callee_types_method_future_incoming_response_get(f, &got);
    if (!got.is_some || got.val.is_err) {
      snprintf(text, sizeof text, "error ?");
    } else if (got.val.val.ok.is_err) {
      snprintf(text, sizeof text, "error %u", got.val.val.ok.val.err.tag);
    } else {
      deps_callee_types_own_incoming_response_t resp = got.val.val.ok.val.ok;
      snprintf(text, sizeof text, "status %u",
               deps_callee_types_method_incoming_response_status(
                   deps_callee_types_borrow_incoming_response(resp)));
      deps_callee_types_incoming_response_drop_own(resp);
      got.is_some = false; /* dropped above */
    }
    deps_callee_option_result_result_own_types_incoming_response_types_error_code_void_free(&got);
    deps_callee_types_future_incoming_response_drop_own(fut.val.ok);
  }
  set_bytes(ret, text, strlen(text));
  deps_callee_string_free(authority);
}

uint32_t deps_callee_text_boom(void) { __builtin_trap(); }
