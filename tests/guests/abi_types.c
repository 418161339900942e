/* Guest for tests/wit/test_abi.c, written by hand against the canonical ABI (no bindgen):
 * world t:abi/guest. The echo-* exports take their value plus a 16 x u64 pad, which forces
 * the parameters into memory; the value sits at offset 0 of the parameter tuple, so handing
 * the same pointer back as the return area echoes it through guest memory. Other exports
 * read and build values through C structs, which must agree with the ABI's layout. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(mod, name) __attribute__((import_module(mod), import_name(name)))
#define TYPES "t:abi/types@1.0.0#"
#define RES "t:abi/res@1.0.0"

EXPORT("cabi_realloc") void *cabi_realloc(void *old, size_t old_size, size_t align, size_t size) {
  (void)old_size;
  (void)align; /* malloc aligns to 16 */
  return realloc(old, size);
}

/* ---- echoes through memory ---- */
EXPORT(TYPES "echo-items") void *echo_items(void *p) { return p; }
EXPORT(TYPES "echo-res") void *echo_res(void *p) { return p; }
EXPORT(TYPES "echo-string") void *echo_string(void *p) { return p; }
EXPORT(TYPES "echo-bytes") void *echo_bytes(void *p) { return p; }
EXPORT(TYPES "echo-flags") void *echo_flags(void *p) { return p; }
EXPORT(TYPES "echo-deep") void *echo_deep(void *p) { return p; }
EXPORT(TYPES "echo-scalars") void *echo_scalars(void *p) { return p; }

/* The parameter block came from cabi_realloc: post-return frees it. */
static int post_calls;
EXPORT("cabi_post_" TYPES "echo-string") void post_echo_string(void *p) {
  post_calls++;
  free(p);
}
EXPORT("post-calls") int32_t get_post_calls(void) { return post_calls; }

/* ---- flat fast path ---- */
EXPORT(TYPES "add") uint32_t add(uint32_t a, uint32_t b) { return a + b; }

/* ---- C structs with the canonical layout ---- */
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

EXPORT(TYPES "sum-weights") double sum_weights(item_t *items, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += items[i].weight + (double)items[i].tags.len + (items[i].note.is_some ? 1000 : 0);
  return s;
}

static str_t dup(const char *s) {
  str_t r = {malloc(strlen(s) + 1), strlen(s)};
  memcpy(r.ptr, s, r.len);
  return r;
}

EXPORT(TYPES "make-items") strlist_t *make_items(uint32_t n) {
  static struct {
    item_t *ptr;
    size_t len;
  } ret;
  ret.ptr = malloc(n * sizeof(item_t) + 1);
  ret.len = n;
  for (uint32_t i = 0; i < n; i++) {
    item_t *it = &ret.ptr[i];
    it->name = dup(i % 2 ? "odd" : "even");
    it->tags.len = i % 3;
    it->tags.ptr = malloc(sizeof(str_t) * 3);
    for (size_t k = 0; k < it->tags.len; k++)
      it->tags.ptr[k] = dup("tag");
    it->note.is_some = i % 2;
    if (it->note.is_some)
      it->note.val = dup("note");
    it->weight = i * 0.5;
  }
  return (strlist_t *)&ret;
}

/* shape flattens to [i32 disc, i64 (f32|u32|ptr|u64 joined), i32]. */
EXPORT(TYPES "flat-variant") uint64_t flat_variant(int32_t disc, int64_t a, int32_t b) {
  switch (disc) {
  case 0:
    return 0;
  case 1: {
    uint32_t bits = (uint32_t)a;
    float f;
    memcpy(&f, &bits, 4);
    return (uint64_t)(f * 10);
  }
  case 2:
    return (uint64_t)(uint32_t)a * (uint32_t)b;
  case 3:
    return (uint64_t)b * 1000 + (uint8_t)((char *)(uintptr_t)(uint32_t)a)[0];
  default:
    return (uint64_t)a;
  }
}

/* ---- calling the host ---- */
IMPORT("t:abi/host@1.0.0", "concat") void host_concat(char *, size_t, char *, size_t, str_t *);
EXPORT(TYPES "concat") str_t *concat(char *a, size_t al, char *b, size_t bl) {
  static str_t r;
  host_concat(a, al, b, bl, &r);
  return &r;
}

/* ---- resources ---- */
IMPORT(RES, "[constructor]counter") int32_t counter_new(uint32_t start);
IMPORT(RES, "[method]counter.add") void counter_add(int32_t self, uint32_t n);
IMPORT(RES, "[method]counter.get") uint32_t counter_get(int32_t self);
IMPORT(RES, "[resource-drop]counter") void counter_drop(int32_t h);
IMPORT(RES, "consume") uint32_t consume(int32_t h);

EXPORT(TYPES "counter-sum") uint32_t counter_sum(uint32_t start) {
  int32_t h = counter_new(start);
  counter_add(h, 5);
  uint32_t v = counter_get(h);
  counter_drop(h);
  return v;
}
EXPORT(TYPES "make-counter") int32_t make_counter(uint32_t start) {
  int32_t h = counter_new(start);
  counter_add(h, 1);
  return h;
}
EXPORT(TYPES "read-borrowed") uint32_t read_borrowed(int32_t c) {
  uint32_t v = counter_get(c);
  counter_drop(c); /* ends the borrow early, as generated bindings do */
  return v;
}
EXPORT(TYPES "keep-borrowed") uint32_t keep_borrowed(int32_t c) { return counter_get(c); }
EXPORT(TYPES "give-back") uint32_t give_back(int32_t c) { return consume(c); }
EXPORT(TYPES "use-dangling") uint32_t use_dangling(void) { return counter_get(999); }
EXPORT(TYPES "double-drop") uint32_t double_drop(void) {
  int32_t h = counter_new(1);
  counter_drop(h);
  counter_drop(h);
  return 0;
}
EXPORT(TYPES "use-after-give") uint32_t use_after_give(void) {
  int32_t h = counter_new(1);
  consume(h);
  return counter_get(h);
}

int main(void) { return 0; }
