/* Caller guest (A) of tests/wit/test_link.c and bench/call.c: imports interface
 * t:link/api@1.0.0 (world caller) by hand against the canonical ABI. Each t_* export calls
 * B through the link and checks what comes back: 0 means every check passed, otherwise the
 * number of the first failed check. The bad_* exports break the ABI on purpose; bench_*
 * exports call in a loop for bench/call.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name) __attribute__((import_module("t:link/api@1.0.0"), import_name(name)))

typedef struct {
  char *ptr;
  size_t len;
} str_t;
typedef struct {
  str_t *ptr;
  size_t len;
} strlist_t;
typedef struct {
  uint8_t is_some;
  str_t val;
} optstr_t;
typedef struct {
  str_t name;
  strlist_t tags;
  optstr_t note;
  double weight;
} item_t;
typedef struct {
  item_t *ptr;
  size_t len;
} itemlist_t;
typedef struct {
  uint8_t tag;
  union {
    float circle;
    str_t label;
    uint64_t big;
    struct {
      str_t s;
      uint32_t n;
    } pair;
  } u;
} shape_t;
typedef struct {
  uint8_t is_err;
  union {
    shape_t ok;
    str_t err;
  } u;
} res_t;
/* deep = option<option<result<option<shape>, list<string>>>> */
typedef struct {
  uint8_t is_some;
  shape_t v;
} optshape_t;
typedef struct {
  uint8_t is_err;
  union {
    optshape_t ok;
    strlist_t err;
  } u;
} dres_t;
typedef struct {
  uint8_t is_some;
  dres_t v;
} opt1_t;
typedef struct {
  uint8_t is_some;
  opt1_t v;
} deep_t;
_Static_assert(sizeof(item_t) == 40 && sizeof(shape_t) == 24 && sizeof(res_t) == 32, "layout");
_Static_assert(sizeof(optshape_t) == 32 && sizeof(dres_t) == 40 && sizeof(deep_t) == 56,
               "deep layout");

IMPORT("add") uint64_t imp_add(uint32_t a, int32_t b, int32_t c, uint32_t d, double e);
IMPORT("echo-string") void imp_echo_string(const char *p, size_t len, str_t *ret);
IMPORT("echo-bytes") void imp_echo_bytes(const uint8_t *p, size_t len, str_t *ret);
IMPORT("echo-items") void imp_echo_items(const item_t *p, size_t n, itemlist_t *ret);
IMPORT("echo-res")
void imp_echo_res(int32_t is_err, int32_t a, int64_t b, int32_t c, int32_t d, res_t *ret);
/* Flags of more than 32 members: the WIT parser follows the current spec's cap of 32, so the
 * test builds this function's type by hand, in an interface of its own. */
__attribute__((import_module("t:link/flags@1.0.0"), import_name("echo-flags"))) void
imp_echo_flags(uint32_t lo, uint32_t hi, uint32_t *ret);
IMPORT("echo-deep") void imp_echo_deep(const deep_t *p, size_t n, str_t *ret);
IMPORT("total") double imp_total(const item_t *three);

static int mode;
EXPORT("set_mode") void set_mode(int m) { mode = m; }

EXPORT("cabi_realloc") void *cabi_realloc(void *old, size_t old_size, size_t align, size_t size) {
  (void)old_size;
  (void)align;
  if (mode == 1)
    return (void *)(uintptr_t)0xfffffff0u;
  return realloc(old, size ? size : 1);
}

static str_t S(const char *s) {
  str_t r = {(char *)s, strlen(s)};
  return r;
}
static int eq(str_t a, const char *b) { return a.len == strlen(b) && !memcmp(a.ptr, b, a.len); }

EXPORT("ping") int32_t ping(void) { return 42; }

EXPORT("t_scalars") int32_t t_scalars(void) {
  /* b = 0x1ff is s8 -1 once lifted; c = 7 is bool true, passed on as 1. */
  uint64_t r = imp_add(10, 0x1ff, 7, 'x', 2.5);
  if (r != 10 - 100 + 10000 + 120ull * 1000000 + 5)
    return 1;
  if (imp_add(0, 0, 0, 0x10ffff, 0) != 0x10ffffull * 1000000)
    return 2;
  return 0;
}

EXPORT("t_strings") int32_t t_strings(void) {
  str_t r;
  imp_echo_string("", 0, &r);
  if (r.len != 0)
    return 1;
  free(r.ptr);
  imp_echo_string("hello, wörld", strlen("hello, wörld"), &r);
  if (!eq(r, "HELLO, WöRLD"))
    return 2;
  free(r.ptr);
  size_t n = 64 * 1024;
  char *big = malloc(n);
  for (size_t i = 0; i < n; i++)
    big[i] = (char)('a' + i % 26);
  imp_echo_string(big, n, &r);
  if (r.len != n || r.ptr == big)
    return 3;
  for (size_t i = 0; i < n; i++)
    if (r.ptr[i] != (char)('A' + i % 26))
      return 4;
  if (big[0] != 'a') /* the callee changed its copy, not ours */
    return 5;
  free(r.ptr);
  free(big);
  return 0;
}

EXPORT("t_bytes") int32_t t_bytes(void) {
  uint8_t buf[1000];
  for (int i = 0; i < 1000; i++)
    buf[i] = (uint8_t)(i * 7);
  str_t r;
  imp_echo_bytes(buf, sizeof buf, &r);
  if (r.len != sizeof buf || memcmp(r.ptr, buf, sizeof buf) != 0)
    return 1;
  free(r.ptr);
  imp_echo_bytes(buf, 0, &r);
  if (r.len != 0)
    return 2;
  free(r.ptr);
  return 0;
}

EXPORT("t_items") int32_t t_items(void) {
  str_t tags0[2] = {S("red"), S("")};
  item_t in[3] = {
      {S("first"), {tags0, 2}, {1, S("note one")}, 1.5},
      {S(""), {NULL, 0}, {0, {NULL, 0}}, -2},
      {S("third ünïcode"), {tags0 + 1, 1}, {1, S("")}, 1e10},
  };
  itemlist_t r;
  imp_echo_items(in, 3, &r);
  if (r.len != 3)
    return 1;
  for (int i = 0; i < 3; i++) {
    const item_t *o = &r.ptr[i], *e = &in[2 - i];
    if (o->name.len != e->name.len || memcmp(o->name.ptr, e->name.ptr, e->name.len))
      return 10 + i;
    if (o->tags.len != e->tags.len)
      return 20 + i;
    for (size_t k = 0; k < e->tags.len; k++)
      if (o->tags.ptr[k].len != e->tags.ptr[k].len ||
          memcmp(o->tags.ptr[k].ptr, e->tags.ptr[k].ptr, e->tags.ptr[k].len))
        return 30 + i;
    if (o->note.is_some != e->note.is_some ||
        (e->note.is_some && (o->note.val.len != e->note.val.len ||
                             memcmp(o->note.val.ptr, e->note.val.ptr, e->note.val.len))))
      return 40 + i;
    if (o->weight != e->weight + 1)
      return 50 + i;
  }
  double t = imp_total(in); /* three items: parameters go by pointer */
  if (t != (1.5 + 5 + 200) + (-2 + 0 + 0) + (1e10 + strlen("third ünïcode") + 100))
    return 60;
  return 0;
}

static int32_t f32_bits(float f) {
  int32_t b;
  memcpy(&b, &f, 4);
  return b;
}

EXPORT("t_result") int32_t t_result(void) {
  res_t r;
  imp_echo_res(0, 1, (uint32_t)f32_bits(1.25f), 0, 0, &r); /* ok(circle(1.25)) */
  if (r.is_err || r.u.ok.tag != 1 || r.u.ok.u.circle != 2.5f)
    return 1;
  const char *s = "pair-string";
  imp_echo_res(0, 4, (int64_t)(uintptr_t)s, (int32_t)strlen(s), 41, &r); /* ok(pair(s, 41)) */
  if (r.is_err || r.u.ok.tag != 4 || !eq(r.u.ok.u.pair.s, s) || r.u.ok.u.pair.n != 42)
    return 2;
  free(r.u.ok.u.pair.s.ptr);
  imp_echo_res(0, 3, (int64_t)0x123456789abcdefll, 0, 0, &r); /* ok(big(..)) */
  if (r.is_err || r.u.ok.tag != 3 || r.u.ok.u.big != 0x123456789abcdefull)
    return 3;
  const char *e = "an error";
  imp_echo_res(1, (int32_t)(uintptr_t)e, (int64_t)strlen(e), 0, 0, &r); /* err(s) */
  if (r.is_err || r.u.ok.tag != 2 || !eq(r.u.ok.u.label, e))
    return 4;
  free(r.u.ok.u.label.ptr);
  imp_echo_res(0, 0, 0, 0, 0, &r); /* ok(empty) */
  if (r.is_err || r.u.ok.tag != 0)
    return 5;
  return 0;
}

EXPORT("t_flags") int32_t t_flags(void) {
  uint32_t r[2];
  /* Bits past flag 39 are not part of the type: the callee must not see them, nor we. */
  imp_echo_flags(0x80000002u, 0xffff0001u, r);
  if (r[0] != 0x80000003u || r[1] != 0x81)
    return 1;
  return 0;
}

EXPORT("t_deep") int32_t t_deep(void) {
  static str_t errs[2];
  errs[0] = S("e1");
  errs[1] = S("second error");
  deep_t in[5];
  memset(in, 0, sizeof in);
  /* none; some(none); some(some(ok(none))); some(some(ok(some(label)))); some(some(err)) */
  in[1].is_some = 1;
  in[2].is_some = 1, in[2].v.is_some = 1;
  in[3].is_some = 1, in[3].v.is_some = 1, in[3].v.v.u.ok.is_some = 1;
  in[3].v.v.u.ok.v.tag = 2, in[3].v.v.u.ok.v.u.label = S("deep label");
  in[4].is_some = 1, in[4].v.is_some = 1, in[4].v.v.is_err = 1;
  in[4].v.v.u.err.ptr = errs, in[4].v.v.u.err.len = 2;
  str_t r;
  imp_echo_deep(in, 5, &r);
  deep_t *o = (deep_t *)r.ptr;
  if (r.len != 5)
    return 1;
  if (o[0].is_some || !o[1].is_some || o[1].v.is_some)
    return 2;
  if (!o[2].v.is_some || o[2].v.v.is_err || o[2].v.v.u.ok.is_some)
    return 3;
  if (!o[3].v.v.u.ok.is_some || o[3].v.v.u.ok.v.tag != 2 ||
      !eq(o[3].v.v.u.ok.v.u.label, "deep label"))
    return 4;
  if (!o[4].v.v.is_err || o[4].v.v.u.err.len != 2 || !eq(o[4].v.v.u.err.ptr[0], "e1") ||
      !eq(o[4].v.v.u.err.ptr[1], "second error"))
    return 5;
  return 0;
}

/* ---- hostile callers: each must trap in the adapter before B runs ---- */

EXPORT("bad_oob") void bad_oob(void) {
  str_t r;
  imp_echo_string((const char *)(uintptr_t)0xffffff00u, 0x1000, &r);
}
EXPORT("bad_utf8") void bad_utf8(void) {
  str_t r;
  imp_echo_string("ok\xed\xa0\x80", 5, &r); /* an encoded surrogate */
}
EXPORT("bad_disc_flat") void bad_disc_flat(void) {
  res_t r;
  imp_echo_res(0, 7, 0, 0, 0, &r); /* shape has 5 cases */
}
EXPORT("bad_disc_mem") void bad_disc_mem(void) {
  item_t in[2] = {{S("a"), {NULL, 0}, {0, {NULL, 0}}, 1}, {S("b"), {NULL, 0}, {2, S("x")}, 2}};
  itemlist_t r;
  imp_echo_items(in, 2, &r); /* option tag 2 in the second item */
}
EXPORT("bad_char") void bad_char(void) { imp_add(0, 0, 0, 0xd800, 0); }
EXPORT("bad_align") void bad_align(void) {
  static item_t in[2];
  itemlist_t r;
  imp_echo_items((const item_t *)((char *)in + 2), 1, &r);
}
EXPORT("bad_retptr") void bad_retptr(void) {
  imp_echo_string("x", 1, (str_t *)(uintptr_t)0xfffffff8u);
}
EXPORT("bad_nested_oob") void bad_nested_oob(void) {
  str_t tags[1] = {{(char *)(uintptr_t)0x7ffffff0u, 100}};
  item_t in[1] = {{S("a"), {tags, 1}, {0, {NULL, 0}}, 1}};
  itemlist_t r;
  imp_echo_items(in, 1, &r);
}

/* ---- benchmarks ---- */

static uint8_t bench_buf[64 * 1024];
/* n calls of echo-bytes with `size` bytes; returns the bytes that came back. */
EXPORT("bench_bytes") uint32_t bench_bytes(uint32_t n, uint32_t size) {
  uint32_t got = 0;
  for (uint32_t i = 0; i < n; i++) {
    str_t r;
    imp_echo_bytes(bench_buf, size, &r);
    got += (uint32_t)r.len;
    free(r.ptr);
  }
  return got;
}

int main(void) { return 0; }
