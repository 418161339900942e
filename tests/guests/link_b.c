/* Callee guest (B) of tests/wit/test_link.c and bench/call.c, written by hand against the
 * canonical ABI: exports interface t:link/api@1.0.0 (world callee). Each function transforms
 * its input a little so that the caller (tests/guests/link_a.c) can tell that B really saw
 * the values. set_mode() makes B break the ABI in one way, for the hostile-callee tests. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define API "t:link/api@1.0.0#"

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
_Static_assert(sizeof(item_t) == 40, "item layout");
typedef struct {
  uint8_t tag; /* empty, circle(f32), label(string), big(u64), pair(tuple<string, u32>) */
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
_Static_assert(sizeof(shape_t) == 24, "shape layout");
typedef struct {
  uint8_t is_err;
  union {
    shape_t ok;
    str_t err;
  } u;
} res_t;
_Static_assert(sizeof(res_t) == 32, "result layout");

static int mode;  /* 0 behaves; see set_mode */
static int calls; /* WIT calls entered */
static int reallocs;

EXPORT("set_mode") void set_mode(int m) { mode = m; }
EXPORT("calls") int get_calls(void) { return calls; }
EXPORT("reallocs") int get_reallocs(void) { return reallocs; }

EXPORT("cabi_realloc") void *cabi_realloc(void *old, size_t old_size, size_t align, size_t size) {
  (void)old_size;
  (void)align; /* malloc aligns to 16 */
  reallocs++;
  if (mode == 1)
    return (void *)(uintptr_t)0xfffffff0u; /* out of bounds */
  return realloc(old, size ? size : 1);
}

static struct {
  void *ptr;
  size_t len;
} ret;

/* add: func(a: u32, b: s8, c: bool, d: char, e: f64) -> u64 */
EXPORT(API "add") uint64_t add(uint32_t a, int32_t b, int32_t c, uint32_t d, double e) {
  calls++;
  return (uint64_t)a + (uint64_t)(int64_t)b * 100 + (uint64_t)c * 10000 + (uint64_t)d * 1000000 +
         (uint64_t)(e * 2);
}

EXPORT(API "nop") uint32_t nop(void) { return 7; }

/* echo-string: func(s: string) -> string; upper-cases ASCII letters in place. */
EXPORT(API "echo-string") void *echo_string(char *p, size_t len) {
  calls++;
  for (size_t i = 0; i < len; i++)
    if (p[i] >= 'a' && p[i] <= 'z')
      p[i] = (char)(p[i] - 32);
  ret.ptr = p;
  ret.len = len;
  if (mode == 2 && len)
    p[0] = (char)0xc0; /* an overlong lead byte */
  if (mode == 3)
    ret.len = 0x7ffffff0;
  if (mode == 5)
    __builtin_trap();
  return &ret;
}
EXPORT("cabi_post_" API "echo-string") void post_echo_string(void *r) { free(((str_t *)r)->ptr); }

/* echo-bytes: func(b: list<u8>) -> list<u8>; the input buffer goes back as it is. */
EXPORT(API "echo-bytes") void *echo_bytes(uint8_t *p, size_t len) {
  ret.ptr = p;
  ret.len = len;
  return &ret;
}
EXPORT("cabi_post_" API "echo-bytes") void post_echo_bytes(void *r) { free(((str_t *)r)->ptr); }

/* echo-items: func(x: list<item>) -> list<item>; reversed, weights + 1. */
EXPORT(API "echo-items") void *echo_items(item_t *p, size_t n) {
  calls++;
  for (size_t i = 0; i < n / 2; i++) {
    item_t t = p[i];
    p[i] = p[n - 1 - i];
    p[n - 1 - i] = t;
  }
  for (size_t i = 0; i < n; i++)
    p[i].weight += 1;
  ret.ptr = p;
  ret.len = n;
  return &ret;
}
EXPORT("cabi_post_" API "echo-items") void post_echo_items(void *r) {
  item_t *p = (item_t *)((str_t *)r)->ptr;
  size_t n = ((str_t *)r)->len;
  for (size_t i = 0; i < n; i++) {
    free(p[i].name.ptr);
    for (size_t k = 0; k < p[i].tags.len; k++)
      free(p[i].tags.ptr[k].ptr);
    free(p[i].tags.ptr);
    if (p[i].note.is_some)
      free(p[i].note.val.ptr);
  }
  free(p);
}

/* echo-res: func(x: result<shape, string>) -> result<shape, string>, flat parameters
 * [i32 ok/err, i32 case | string ptr, i64 payload | string len, i32, i32]. ok(circle(r))
 * comes back as ok(circle(2r)); ok(pair(s, n)) as ok(pair(s, n + 1)); err(s) as
 * ok(label(s)); others as they are. */
static res_t res_ret;
EXPORT(API "echo-res") res_t *echo_res(int32_t is_err, int32_t a, int64_t b, int32_t c, int32_t d) {
  calls++;
  memset(&res_ret, 0, sizeof res_ret);
  if (is_err) {
    res_ret.u.ok.tag = 2;
    res_ret.u.ok.u.label.ptr = (char *)(uintptr_t)(uint32_t)a;
    res_ret.u.ok.u.label.len = (size_t)b;
    return &res_ret;
  }
  shape_t *s = &res_ret.u.ok;
  s->tag = (uint8_t)a;
  uint32_t lo = (uint32_t)b;
  switch (a) {
  case 1: {
    float f;
    memcpy(&f, &lo, 4);
    s->u.circle = f * 2;
    break;
  }
  case 2:
    s->u.label.ptr = (char *)(uintptr_t)lo;
    s->u.label.len = (size_t)(uint32_t)c;
    break;
  case 3:
    s->u.big = (uint64_t)b;
    break;
  case 4:
    s->u.pair.s.ptr = (char *)(uintptr_t)lo;
    s->u.pair.s.len = (size_t)(uint32_t)c;
    s->u.pair.n = (uint32_t)d + 1;
    break;
  }
  if (mode == 4)
    s->tag = 9;
  return &res_ret;
}

/* echo-flags: func(x: many) -> many, 40 flags: bits 0 and 39 flipped, and junk above bit 39. */
static uint32_t flags_ret[2];
EXPORT("t:link/flags@1.0.0#echo-flags") uint32_t *echo_flags(uint32_t lo, uint32_t hi) {
  calls++;
  flags_ret[0] = lo ^ 1;
  flags_ret[1] = (hi ^ 0x80) | 0xf0000000u;
  return flags_ret;
}

/* echo-deep: func(x: list<deep>) -> list<deep>: the same list back. */
EXPORT(API "echo-deep") void *echo_deep(void *p, size_t n) {
  calls++;
  ret.ptr = p;
  ret.len = n;
  return &ret;
}

/* total: func(a: item, b: item, c: item) -> f64 (24 flat values: parameters by pointer). */
EXPORT(API "total") double total(item_t *three) {
  calls++;
  double s = 0;
  for (int i = 0; i < 3; i++)
    s += three[i].weight + (double)three[i].name.len + (double)three[i].tags.len * 100;
  return s;
}

int main(void) { return 0; }
