/* Callee B of tests/wit/test_link_bindgen.c, written against the bindings `zerohop bindgen c`
 * generates for world zh:lb/callee (tests/wit/linkbg/wit/). Each export transforms its
 * arguments as the WIT comments say; the caller (caller.c) checks the results. Built with
 * -DLINKBG_RENAMED against a copy of the WIT where entry.note is called entry.comment. */
#include "callee.h"

#include <stdlib.h>
#include <string.h>

#ifdef LINKBG_RENAMED
#define NOTE comment
#else
#define NOTE note
#endif

static uint32_t ncalls;

static void dup_bytes(callee_string_t *ret, const uint8_t *p, size_t n) {
  ret->ptr = n ? malloc(n) : NULL;
  if (n)
    memcpy(ret->ptr, p, n);
  ret->len = n;
}

/* Entries reversed; each gets its key appended to its tags, count + 1, note toggled (none
 * becomes "none", some becomes none). The argument is moved into the result. */
void callee_store_put(callee_list_store_entry_t *xs, callee_list_store_entry_t *ret) {
  ncalls++;
  ret->len = xs->len;
  ret->ptr = xs->len ? malloc(xs->len * sizeof *ret->ptr) : NULL;
  for (size_t i = 0; i < xs->len; i++) {
    callee_store_entry_t e = xs->ptr[xs->len - 1 - i];
    e.tags.ptr = realloc(e.tags.ptr, (e.tags.len + 1) * sizeof *e.tags.ptr);
    dup_bytes(&e.tags.ptr[e.tags.len++], e.key.ptr, e.key.len);
    if (e.count.is_some)
      e.count.val++;
    if (e.NOTE.is_some) {
      callee_option_string_free(&e.NOTE);
      e.NOTE.is_some = false;
    } else {
      e.NOTE.is_some = true;
      callee_string_dup(&e.NOTE.val, "none");
    }
    ret->ptr[i] = e;
  }
  if (xs->len)
    free(xs->ptr);
  xs->ptr = NULL;
  xs->len = 0;
}

static void bump_payload(callee_store_payload_t *p) {
  switch (p->tag) {
  case CALLEE_STORE_PAYLOAD_NUM:
    p->val.num++;
    break;
  case CALLEE_STORE_PAYLOAD_PAIR:
    p->val.pair.f1++;
    break;
  case CALLEE_STORE_PAYLOAD_ITEMS:
    for (size_t i = 0; i < p->val.items.len; i++)
      if (p->val.items.ptr[i].count.is_some)
        p->val.items.ptr[i].count.val++;
    break;
  default:
    break;
  }
}

static bool is(const callee_string_t *s, const char *want) {
  return s->len == strlen(want) && memcmp(s->ptr, want, s->len) == 0;
}

void callee_store_query(callee_string_t *k, callee_store_payload_t *p,
                        callee_result_store_payload_store_fault_t *ret) {
  ncalls++;
  if (is(k, "ok")) {
    ret->is_err = false;
    ret->val.ok = *p;
    bump_payload(&ret->val.ok);
  } else if (is(k, "missing")) {
    ret->is_err = true;
    ret->val.err.tag = CALLEE_STORE_FAULT_MISSING;
    ret->val.err.val.missing = *k;
    k->ptr = NULL;
    k->len = 0;
    callee_store_payload_free(p);
  } else if (is(k, "bad")) {
    ret->is_err = true;
    ret->val.err.tag = CALLEE_STORE_FAULT_BAD;
    ret->val.err.val.bad = *p;
  } else {
    ret->is_err = true;
    ret->val.err.tag = CALLEE_STORE_FAULT_CODE;
    ret->val.err.val.code = (uint16_t)k->len;
    callee_store_payload_free(p);
  }
  callee_string_free(k);
}

void callee_store_echo_str(callee_string_t *s, callee_string_t *ret) {
  ncalls++;
  for (size_t i = 0; i < s->len; i++) {
    uint8_t c = s->ptr[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      s->ptr[i] = c ^ 0x20;
  }
  *ret = *s; /* moved */
}

void callee_store_echo_list(callee_list_string_t *xs, callee_list_string_t *ret) {
  ncalls++;
  *ret = *xs;
}

void callee_store_flip_wide(callee_store_wide_t *f, callee_store_wide_t *ret) {
  ncalls++;
  for (unsigned i = 0; i < 100; i++)
    callee_store_wide_set(ret, i, !callee_store_wide_has(f, i));
}

void callee_store_flip_huge(callee_store_huge_t *f, callee_store_huge_t *ret) {
  ncalls++;
  for (unsigned i = 0; i < 1024; i++)
    callee_store_huge_set(ret, i, !callee_store_huge_has(f, i));
}

void callee_store_echo_deep(callee_list_store_deep_t *xs, callee_list_store_deep_t *ret) {
  ncalls++;
  *ret = *xs;
}

static void bump_leaf(callee_store_leaf_t *l) {
  if (l->tag == CALLEE_STORE_LEAF_NUM)
    l->val.num++;
}

void callee_store_bump_deep(callee_store_deep_t *d, callee_store_deep_t *ret) {
  ncalls++;
  *ret = *d;
  if (!ret->is_some || ret->val.is_err || !ret->val.val.ok.is_some)
    return;
  callee_store_node_t *n = &ret->val.val.ok.val;
  switch (n->tag) {
  case CALLEE_STORE_NODE_LEAF:
    bump_leaf(&n->val.leaf);
    break;
  case CALLEE_STORE_NODE_OPT:
    if (n->val.opt.is_some)
      bump_leaf(&n->val.opt.val);
    break;
  case CALLEE_STORE_NODE_RES:
    if (!n->val.res.is_err)
      bump_leaf(&n->val.res.val.ok);
    break;
  default:
    for (size_t i = 0; i < n->val.many.len; i++)
      bump_leaf(&n->val.many.ptr[i]);
    break;
  }
}

uint32_t callee_store_calls(void) { return ncalls; }
