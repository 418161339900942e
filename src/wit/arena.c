/* Arena allocation, growable arrays, case-insensitive name maps and error values for WIT.
 * One arena holds a whole phase (syntax trees, or the finished model), so no object of the
 * model needs its own free and a failed load frees everything with one call. */
#include "wit/wit_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE 16384
#define ALIGN 16

struct wit_arena_block {
  wit_arena_block *next;
  size_t used, size;
  _Alignas(ALIGN) unsigned char data[];
};

void *wit_alloc(wit_arena *a, size_t size) {
  size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  if (size == 0)
    size = ALIGN;
  wit_arena_block *b = a->head;
  if (!b || b->size - b->used < size) {
    size_t cap = size > BLOCK_SIZE ? size : BLOCK_SIZE;
    if (cap > SIZE_MAX - sizeof *b)
      return NULL;
    b = malloc(sizeof *b + cap);
    if (!b)
      return NULL;
    b->size = cap;
    b->used = 0;
    /* A block bigger than the standard size goes second, so the head keeps its free room. */
    if (a->head && cap > BLOCK_SIZE) {
      b->next = a->head->next;
      a->head->next = b;
    } else {
      b->next = a->head;
      a->head = b;
    }
  }
  void *p = b->data + b->used;
  b->used += size;
  memset(p, 0, size);
  return p;
}

void wit_arena_free(wit_arena *a) {
  wit_arena_block *b = a->head;
  while (b) {
    wit_arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
}

char *wit_strndup(wit_arena *a, const char *s, size_t n) {
  char *p = wit_alloc(a, n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

char *wit_strdup(wit_arena *a, const char *s) { return wit_strndup(a, s, strlen(s)); }

char *wit_format(wit_arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  char *p = wit_alloc(a, (size_t)n + 1);
  if (!p)
    return NULL;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

bool wit_grow(wit_arena *a, void **items, size_t *cap, size_t len, size_t elem) {
  if (len < *cap)
    return true;
  size_t ncap = *cap ? *cap * 2 : 4;
  if (ncap > SIZE_MAX / elem)
    return false;
  void *p = wit_alloc(a, ncap * elem);
  if (!p)
    return false;
  if (len)
    memcpy(p, *items, len * elem);
  *items = p;
  *cap = ncap;
  return true;
}

bool wit_vec_push(wit_arena *a, wit_vec *v, void *item) {
  void *items = v->items;
  if (!wit_grow(a, &items, &v->cap, v->len, sizeof(void *)))
    return false;
  v->items = items;
  v->items[v->len++] = item;
  return true;
}

/* ---- maps: open addressing, FNV-1a over the lowercased name ---- */

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) {
    h ^= (unsigned char)tolower((unsigned char)*s);
    h *= 1099511628211ull;
  }
  return h;
}

static bool same_ci(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
      return false;
  return *a == *b;
}

static const wit_map_entry *find_slot(const wit_map *m, const char *name) {
  if (!m->cap)
    return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
    const wit_map_entry *e = &m->slots[i];
    if (!e->name || same_ci(e->name, name))
      return e;
  }
}

static bool rehash(wit_arena *a, wit_map *m) {
  size_t ncap = m->cap ? m->cap * 2 : 16;
  wit_map_entry *slots = wit_alloc(a, ncap * sizeof *slots);
  if (!slots)
    return false;
  wit_map old = *m;
  m->slots = slots;
  m->cap = ncap;
  for (size_t i = 0; i < old.cap; i++) {
    if (old.slots[i].name) {
      wit_map_entry *e = (wit_map_entry *)find_slot(m, old.slots[i].name);
      *e = old.slots[i];
    }
  }
  return true;
}

bool wit_map_add(wit_arena *a, wit_map *m, const char *name, void *value, int tag,
                 const wit_map_entry **existing) {
  *existing = NULL;
  if ((m->len + 1) * 2 > m->cap && !rehash(a, m))
    return false;
  wit_map_entry *e = (wit_map_entry *)find_slot(m, name);
  if (e->name) {
    *existing = e;
    return false;
  }
  e->name = name;
  e->value = value;
  e->tag = tag;
  m->len++;
  return true;
}

const wit_map_entry *wit_map_get(const wit_map *m, const char *name) {
  const wit_map_entry *e = find_slot(m, name);
  return e && e->name && strcmp(e->name, name) == 0 ? e : NULL;
}

/* ---- errors ---- */

zh_error *wit_error(wit_pos pos, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return zh_error_new(ZH_ERR_INVALID, "%s:%u:%u: %s", pos.file ? pos.file : "<wit>",
                      (unsigned)pos.line, (unsigned)pos.col, msg);
}

zh_error *wit_oom(void) { return zh_error_new(ZH_ERR_RESOURCE, "out of memory"); }
