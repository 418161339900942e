/* Caller A of tests/wit/test_link_bindgen.c, written against the bindings `zerohop bindgen c`
 * generates for world zh:lb/caller (tests/wit/linkbg/wit/). Its imports are linked to callee
 * B (callee.c) by zh_link_imports; `run` makes round trips through every import, checks each
 * result and returns one bit per case that came back right (RUN_ALL when all did). */
#include "caller.h"

#include <stdlib.h>
#include <string.h>

enum {
  BIT_ENTRIES = 1 << 0, /* list of records of strings and options */
  BIT_RESULT = 1 << 1,  /* result<payload, fault>, variant payloads on both sides */
  BIT_EMPTY = 1 << 2,   /* empty strings and lists */
  BIT_BIG = 1 << 3,     /* a 64 KiB string */
  BIT_WIDE = 1 << 4,    /* flags with 100 members */
  BIT_HUGE = 1 << 5,    /* flags with 1024 members */
  BIT_DEEP = 1 << 6,    /* list of deeply nested option/result/variant values */
  BIT_BUMP = 1 << 7,    /* the same nested values as a flat parameter and result */
  BIT_CALLS = 1 << 8,   /* every call reached the callee exactly once */
  RUN_ALL = (1 << 9) - 1,
};

static uint32_t ncalls; /* calls made through the imports, over every `run` */

static caller_string_t S(const char *s) {
  caller_string_t r;
  caller_string_set(&r, s);
  return r;
}

static bool str_is(const caller_string_t *s, const char *want) {
  return s->len == strlen(want) && (s->len == 0 || memcmp(s->ptr, want, s->len) == 0);
}

static bool str_eq(const caller_string_t *a, const caller_string_t *b) {
  return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static bool opt_str_eq(const caller_option_string_t *a, const caller_option_string_t *b) {
  return a->is_some == b->is_some && (!a->is_some || str_eq(&a->val, &b->val));
}

static bool tags_eq(const caller_list_string_t *a, const caller_list_string_t *b) {
  if (a->len != b->len)
    return false;
  for (size_t i = 0; i < a->len; i++)
    if (!str_eq(&a->ptr[i], &b->ptr[i]))
      return false;
  return true;
}

/* Entries equal, the counts of `b` being those of `a` plus `delta`. */
static bool entries_eq(const caller_list_store_entry_t *a, const caller_list_store_entry_t *b,
                       uint32_t delta) {
  if (a->len != b->len)
    return false;
  for (size_t i = 0; i < a->len; i++) {
    const caller_store_entry_t *x = &a->ptr[i], *y = &b->ptr[i];
    if (!str_eq(&x->key, &y->key) || !tags_eq(&x->tags, &y->tags) ||
        !opt_str_eq(&x->note, &y->note) || x->count.is_some != y->count.is_some ||
        (x->count.is_some && x->count.val + delta != y->count.val))
      return false;
  }
  return true;
}

/* ---- records of strings and options ---- */

static bool t_entries(void) {
  caller_string_t t0[2] = {S("x"), S("yz")}, t2[1] = {S("t")};
  caller_store_entry_t in[3] = {
      {S("alpha"), {t0, 2}, {true, S("n0")}, {true, 7}},
      {S(""), {NULL, 0}, {false, {NULL, 0}}, {false, 0}},
      {S("\xce\xb3-\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87"), {t2, 1}, {true, S("")}, {true, 0xffffffffu}},
  };
  caller_list_store_entry_t xs = {in, 3}, r;
  caller_store_put(&xs, &r);
  ncalls++;
  bool ok = r.len == 3;
  if (ok) {
    caller_string_t w0[2] = {S("t"), in[2].key}, w1[1] = {S("")},
                    w2[3] = {S("x"), S("yz"), S("alpha")};
    caller_store_entry_t want[3] = {
        {in[2].key, {w0, 2}, {false, {NULL, 0}}, {true, 0}},
        {S(""), {w1, 1}, {true, S("none")}, {false, 0}},
        {S("alpha"), {w2, 3}, {false, {NULL, 0}}, {true, 8}},
    };
    caller_list_store_entry_t w = {want, 3};
    ok = entries_eq(&w, &r, 0);
  }
  caller_list_store_entry_free(&r);
  return ok && r.len == 0;
}

/* ---- results with variant payloads ---- */

static bool payload_eq(const caller_store_payload_t *a, const caller_store_payload_t *b,
                       int64_t delta) {
  if (a->tag != b->tag)
    return false;
  switch (a->tag) {
  case CALLER_STORE_PAYLOAD_NONE:
    return true;
  case CALLER_STORE_PAYLOAD_NUM:
    return a->val.num + delta == b->val.num;
  case CALLER_STORE_PAYLOAD_TEXT:
    return str_eq(&a->val.text, &b->val.text);
  case CALLER_STORE_PAYLOAD_PAIR:
    return str_eq(&a->val.pair.f0, &b->val.pair.f0) &&
           a->val.pair.f1 + (uint32_t)delta == b->val.pair.f1;
  case CALLER_STORE_PAYLOAD_ITEMS:
    return entries_eq(&a->val.items, &b->val.items, (uint32_t)delta);
  default:
    return false;
  }
}

/* query(k, p): ok(p bumped) for "ok", err(missing(k)), err(bad(p)), or err(code(len k)). */
static bool query_ok(const char *k, const caller_store_payload_t *p) {
  caller_string_t key = S(k);
  caller_result_store_payload_store_fault_t r;
  caller_store_query(&key, p, &r);
  ncalls++;
  bool ok;
  if (strcmp(k, "ok") == 0) {
    ok = !r.is_err && payload_eq(p, &r.val.ok, 1);
  } else if (strcmp(k, "missing") == 0) {
    ok = r.is_err && r.val.err.tag == CALLER_STORE_FAULT_MISSING &&
         str_is(&r.val.err.val.missing, k);
  } else if (strcmp(k, "bad") == 0) {
    ok =
        r.is_err && r.val.err.tag == CALLER_STORE_FAULT_BAD && payload_eq(p, &r.val.err.val.bad, 0);
  } else {
    ok = r.is_err && r.val.err.tag == CALLER_STORE_FAULT_CODE && r.val.err.val.code == strlen(k);
  }
  caller_result_store_payload_store_fault_free(&r);
  return ok;
}

static bool t_result(void) {
  caller_string_t tags[1] = {S("tag")};
  caller_store_entry_t items[2] = {
      {S("k1"), {tags, 1}, {true, S("note")}, {true, 1}},
      {S("k2"), {NULL, 0}, {false, {NULL, 0}}, {false, 0}},
  };
  caller_store_payload_t p[6] = {
      {.tag = CALLER_STORE_PAYLOAD_NONE},
      {.tag = CALLER_STORE_PAYLOAD_NUM, .val.num = -5},
      {.tag = CALLER_STORE_PAYLOAD_NUM, .val.num = INT64_MAX - 1},
      {.tag = CALLER_STORE_PAYLOAD_TEXT, .val.text = S("boom \xe2\x82\xac")},
      {.tag = CALLER_STORE_PAYLOAD_PAIR, .val.pair = {S("p"), 41}},
      {.tag = CALLER_STORE_PAYLOAD_ITEMS, .val.items = {items, 2}},
  };
  bool ok = true;
  for (int i = 0; i < 6; i++) {
    ok &= query_ok("ok", &p[i]);
    ok &= query_ok("bad", &p[i]);
  }
  ok &= query_ok("missing", &p[1]);
  ok &= query_ok("missing", &p[5]);
  ok &= query_ok("zzzz", &p[3]);
  return ok;
}

/* ---- empty strings and lists ---- */

static bool t_empty(void) {
  bool ok = true;
  caller_string_t e = S(""), rs;
  caller_store_echo_str(&e, &rs);
  ncalls++;
  ok &= rs.len == 0;
  caller_string_free(&rs);

  caller_list_string_t none = {NULL, 0}, rl;
  caller_store_echo_list(&none, &rl);
  ncalls++;
  ok &= rl.len == 0;
  caller_list_string_free(&rl);

  caller_string_t three[3] = {S(""), S(""), S("a")};
  caller_list_string_t l3 = {three, 3};
  caller_store_echo_list(&l3, &rl);
  ncalls++;
  ok &= tags_eq(&l3, &rl);
  caller_list_string_free(&rl);

  caller_list_store_entry_t xs = {NULL, 0}, rx;
  caller_store_put(&xs, &rx);
  ncalls++;
  ok &= rx.len == 0;
  caller_list_store_entry_free(&rx);

  caller_store_payload_t p = {.tag = CALLER_STORE_PAYLOAD_TEXT, .val.text = S("")};
  ok &= query_ok("", &p);
  ok &= query_ok("ok", &p);
  p.tag = CALLER_STORE_PAYLOAD_ITEMS;
  p.val.items = xs;
  ok &= query_ok("ok", &p);

  caller_list_store_deep_t d = {NULL, 0}, rd;
  caller_store_echo_deep(&d, &rd);
  ncalls++;
  ok &= rd.len == 0;
  caller_list_store_deep_free(&rd);
  return ok;
}

/* ---- a 64 KiB string ---- */

#define BIG_UNIT "aZ9 \xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9exyz" /* 16 bytes of UTF-8 */
#define BIG_FLIP "Az9 \xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9eXYZ"

static bool t_big(void) {
  enum { N = 65536 };
  uint8_t *buf = malloc(N);
  if (!buf)
    return false;
  for (size_t i = 0; i < N; i += 16)
    memcpy(buf + i, BIG_UNIT, 16);
  caller_string_t s = {buf, N}, r;
  caller_store_echo_str(&s, &r);
  ncalls++;
  bool ok = r.len == N && memcmp(buf, BIG_UNIT, 16) == 0; /* the argument is left alone */
  for (size_t i = 0; ok && i < N; i += 16)
    ok = memcmp(r.ptr + i, BIG_FLIP, 16) == 0;
  caller_string_free(&r);
  free(buf);
  return ok;
}

/* ---- flags with more than 32 members ---- */

static bool t_wide(void) {
  static const unsigned on[] = {0, 31, 32, 63, 64, 98, 99};
  caller_store_wide_t f, r;
  memset(&f, 0, sizeof f);
  memset(&r, 0xa5, sizeof r);
  for (size_t i = 0; i < sizeof on / sizeof *on; i++)
    caller_store_wide_set(&f, on[i], true);
  caller_store_flip_wide(&f, &r);
  ncalls++;
  bool ok = (r.bits[3] >> 4) == 0; /* bits past the last flag are not set */
  for (unsigned i = 0; i < 100; i++)
    ok &= caller_store_wide_has(&r, i) != caller_store_wide_has(&f, i);
  return ok;
}

static bool t_huge(void) {
  static const unsigned on[] = {0, 1, 31, 32, 511, 512, 777, 1000, 1022, 1023};
  caller_store_huge_t f, r;
  memset(&f, 0, sizeof f);
  memset(&r, 0xa5, sizeof r);
  for (size_t i = 0; i < sizeof on / sizeof *on; i++)
    caller_store_huge_set(&f, on[i], true);
  caller_store_flip_huge(&f, &r);
  ncalls++;
  bool ok = true;
  for (unsigned i = 0; i < 1024; i++)
    ok &= caller_store_huge_has(&r, i) != caller_store_huge_has(&f, i);
  return ok;
}

/* ---- deep nesting: option<result<option<node>, list<option<string>>>> ---- */

static bool leaf_eq(const caller_store_leaf_t *a, const caller_store_leaf_t *b, uint32_t delta) {
  if (a->tag != b->tag)
    return false;
  if (a->tag == CALLER_STORE_LEAF_NUM)
    return a->val.num + delta == b->val.num;
  return str_eq(&a->val.text, &b->val.text);
}

static bool node_eq(const caller_store_node_t *a, const caller_store_node_t *b, uint32_t delta) {
  if (a->tag != b->tag)
    return false;
  switch (a->tag) {
  case CALLER_STORE_NODE_LEAF:
    return leaf_eq(&a->val.leaf, &b->val.leaf, delta);
  case CALLER_STORE_NODE_OPT:
    return a->val.opt.is_some == b->val.opt.is_some &&
           (!a->val.opt.is_some || leaf_eq(&a->val.opt.val, &b->val.opt.val, delta));
  case CALLER_STORE_NODE_RES:
    if (a->val.res.is_err != b->val.res.is_err)
      return false;
    return a->val.res.is_err ? str_eq(&a->val.res.val.err, &b->val.res.val.err)
                             : leaf_eq(&a->val.res.val.ok, &b->val.res.val.ok, delta);
  case CALLER_STORE_NODE_MANY:
    if (a->val.many.len != b->val.many.len)
      return false;
    for (size_t i = 0; i < a->val.many.len; i++)
      if (!leaf_eq(&a->val.many.ptr[i], &b->val.many.ptr[i], delta))
        return false;
    return true;
  default:
    return false;
  }
}

static bool deep_eq(const caller_store_deep_t *a, const caller_store_deep_t *b, uint32_t delta) {
  if (a->is_some != b->is_some)
    return false;
  if (!a->is_some)
    return true;
  if (a->val.is_err != b->val.is_err)
    return false;
  if (a->val.is_err) {
    const caller_list_option_string_t *x = &a->val.val.err, *y = &b->val.val.err;
    if (x->len != y->len)
      return false;
    for (size_t i = 0; i < x->len; i++)
      if (!opt_str_eq(&x->ptr[i], &y->ptr[i]))
        return false;
    return true;
  }
  const caller_option_store_node_t *x = &a->val.val.ok, *y = &b->val.val.ok;
  return x->is_some == y->is_some && (!x->is_some || node_eq(&x->val, &y->val, delta));
}

enum { NDEEP = 13 };

/* Every path through the nesting; `strs` and `leaves` hold what the values point to. */
static void make_deep(caller_store_deep_t d[NDEEP], caller_option_string_t strs[3],
                      caller_store_leaf_t leaves[3]) {
  memset(d, 0, NDEEP * sizeof *d);
  strs[0] = (caller_option_string_t){false, {NULL, 0}};
  strs[1] = (caller_option_string_t){true, S("")};
  strs[2] = (caller_option_string_t){true, S("s")};
  leaves[0] = (caller_store_leaf_t){CALLER_STORE_LEAF_NUM, {.num = 1}};
  leaves[1] = (caller_store_leaf_t){CALLER_STORE_LEAF_TEXT, {.text = S("m")}};
  leaves[2] = (caller_store_leaf_t){CALLER_STORE_LEAF_NUM, {.num = 0xfffffffe}};
  /* d[0]: none */
  for (int i = 1; i < NDEEP; i++)
    d[i].is_some = true;
  d[1].val.is_err = true; /* err([]) */
  d[2].val.is_err = true;
  d[2].val.val.err = (caller_list_option_string_t){strs, 3};
  /* d[3]: ok(none) */
  for (int i = 4; i < NDEEP; i++)
    d[i].val.val.ok.is_some = true;
  caller_store_node_t *n[NDEEP];
  for (int i = 4; i < NDEEP; i++)
    n[i] = &d[i].val.val.ok.val;
  n[4]->tag = CALLER_STORE_NODE_LEAF;
  n[4]->val.leaf = leaves[0];
  n[5]->tag = CALLER_STORE_NODE_LEAF;
  n[5]->val.leaf = leaves[1];
  n[6]->tag = CALLER_STORE_NODE_OPT; /* opt(none) */
  n[7]->tag = CALLER_STORE_NODE_OPT;
  n[7]->val.opt = (caller_option_store_leaf_t){true, leaves[1]};
  n[8]->tag = CALLER_STORE_NODE_RES;
  n[8]->val.res.val.ok = leaves[2];
  n[9]->tag = CALLER_STORE_NODE_RES;
  n[9]->val.res.is_err = true;
  n[9]->val.res.val.err = S("e");
  n[10]->tag = CALLER_STORE_NODE_MANY;
  n[10]->val.many = (caller_list_store_leaf_t){leaves, 3};
  n[11]->tag = CALLER_STORE_NODE_MANY; /* many([]) */
  n[12]->tag = CALLER_STORE_NODE_OPT;
  n[12]->val.opt = (caller_option_store_leaf_t){true, leaves[0]};
}

static bool t_deep(void) {
  caller_store_deep_t d[NDEEP];
  caller_option_string_t strs[3];
  caller_store_leaf_t leaves[3];
  make_deep(d, strs, leaves);
  caller_list_store_deep_t xs = {d, NDEEP}, r;
  caller_store_echo_deep(&xs, &r);
  ncalls++;
  bool ok = r.len == NDEEP;
  for (size_t i = 0; ok && i < NDEEP; i++)
    ok = deep_eq(&d[i], &r.ptr[i], 0);
  caller_list_store_deep_free(&r);
  return ok;
}

static bool t_bump(void) {
  caller_store_deep_t d[NDEEP];
  caller_option_string_t strs[3];
  caller_store_leaf_t leaves[3];
  make_deep(d, strs, leaves);
  bool ok = true;
  for (int i = 0; i < NDEEP; i++) {
    caller_store_deep_t r;
    caller_store_bump_deep(&d[i], &r);
    ncalls++;
    ok &= deep_eq(&d[i], &r, 1);
    caller_store_deep_free(&r);
  }
  return ok;
}

uint32_t caller_run(void) {
  uint32_t bits = 0;
  bits |= t_entries() ? BIT_ENTRIES : 0;
  bits |= t_result() ? BIT_RESULT : 0;
  bits |= t_empty() ? BIT_EMPTY : 0;
  bits |= t_big() ? BIT_BIG : 0;
  bits |= t_wide() ? BIT_WIDE : 0;
  bits |= t_huge() ? BIT_HUGE : 0;
  bits |= t_deep() ? BIT_DEEP : 0;
  bits |= t_bump() ? BIT_BUMP : 0;
  bits |= caller_store_calls() == ncalls ? BIT_CALLS : 0;
  return bits;
}
