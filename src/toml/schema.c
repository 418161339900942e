/* Typed, positioned field access over a TOML tree (schema.h), and the arena it copies into. */
#include "toml/schema.h"
#include "toml/toml_internal.h"
#include "wasm/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct arena_block {
  struct arena_block *next;
  max_align_t data[];
} arena_block;

void *zh_toml_arena_alloc(zh_toml_arena *a, size_t size) {
  if (size > SIZE_MAX - sizeof(arena_block) - 1)
    return NULL;
  arena_block *b = calloc(1, sizeof *b + (size ? size : 1));
  if (!b)
    return NULL;
  b->next = a->head;
  a->head = b;
  return b->data;
}

char *zh_toml_arena_strndup(zh_toml_arena *a, const char *s, size_t n) {
  char *d = n < SIZE_MAX ? zh_toml_arena_alloc(a, n + 1) : NULL;
  if (d)
    memcpy(d, s, n);
  return d;
}

char *zh_toml_arena_printf(zh_toml_arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  char *d = zh_toml_arena_alloc(a, (size_t)n + 1);
  if (!d)
    return NULL;
  va_start(ap, fmt);
  vsnprintf(d, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return d;
}

void zh_toml_arena_free(zh_toml_arena *a) {
  arena_block *b = a->head;
  while (b) {
    arena_block *n = b->next;
    free(b);
    b = n;
  }
  a->head = NULL;
}

bool zh_toml_schema_fail(zh_toml_schema *s, uint32_t line, uint32_t col, const char *fmt, ...) {
  if (s->err)
    return false;
  char msg[512], clean[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  zh_toml_escape_controls(msg, clean, sizeof clean);
  s->err = zh_error_new(ZH_ERR_INVALID, "%s:%u:%u: %s", s->file, line, col, clean);
  return false;
}

bool zh_toml_schema_oom(zh_toml_schema *s) {
  if (!s->err)
    s->err = zh_error_prefix(zh_error_oom(), "%s", s->file);
  return false;
}

const char *zh_toml_a_type(zh_toml_type t) {
  switch (t) {
  case ZH_TOML_STRING:
    return "a string";
  case ZH_TOML_INTEGER:
    return "an integer";
  case ZH_TOML_FLOAT:
    return "a float";
  case ZH_TOML_BOOL:
    return "a boolean";
  case ZH_TOML_ARRAY:
    return "an array";
  case ZH_TOML_TABLE:
    return "a table";
  default:
    return "a date or time";
  }
}

bool zh_toml_schema_wrong_type(zh_toml_schema *s, const zh_toml_entry *e, const char *where,
                               const char *want) {
  return zh_toml_schema_fail(s, e->value->line, e->value->col, "`%s` in %s must be %s, found %s",
                             e->key, where, want, zh_toml_a_type(e->value->type));
}

bool zh_toml_schema_fields(zh_toml_schema *s, const zh_toml_value *t, const char *where,
                           const char *const *allowed) {
  for (size_t i = 0; i < t->u.tab.len; i++) {
    const zh_toml_entry *e = &t->u.tab.items[i];
    bool known = false;
    for (const char *const *a = allowed; *a && !known; a++)
      known = strlen(*a) == e->key_len && memcmp(*a, e->key, e->key_len) == 0;
    if (!known)
      return zh_toml_schema_fail(s, e->line, e->col, "unknown field `%s` in %s", e->key, where);
  }
  return true;
}

bool zh_toml_schema_missing(zh_toml_schema *s, const zh_toml_value *t, const char *where,
                            const char *key) {
  return zh_toml_schema_fail(s, t->line, t->col, "%s is missing the required field `%s`", where,
                             key);
}

static bool has_nul(const zh_toml_value *v) { return strlen(v->u.str.ptr) != v->u.str.len; }

bool zh_toml_schema_str(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                        const char *where, bool required, const char **out) {
  const zh_toml_entry *e = zh_toml_entry_of(t, key);
  if (!e)
    return required ? zh_toml_schema_missing(s, t, where, key) : true;
  if (e->value->type != ZH_TOML_STRING)
    return zh_toml_schema_wrong_type(s, e, where, "a string");
  if (has_nul(e->value))
    return zh_toml_schema_fail(s, e->value->line, e->value->col, "`%s` in %s holds a NUL character",
                               key, where);
  *out = zh_toml_arena_strndup(s->arena, e->value->u.str.ptr, e->value->u.str.len);
  return *out || zh_toml_schema_oom(s);
}

bool zh_toml_schema_bool(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                         const char *where, bool *out) {
  const zh_toml_entry *e = zh_toml_entry_of(t, key);
  if (!e)
    return true;
  if (e->value->type != ZH_TOML_BOOL)
    return zh_toml_schema_wrong_type(s, e, where, "a boolean");
  *out = e->value->u.boolean;
  return true;
}

bool zh_toml_schema_table(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                          const char *where, const zh_toml_value **out) {
  const zh_toml_entry *e = zh_toml_entry_of(t, key);
  *out = NULL;
  if (!e)
    return true;
  if (e->value->type != ZH_TOML_TABLE)
    return zh_toml_schema_wrong_type(s, e, where, "a table");
  *out = e->value;
  return true;
}

bool zh_toml_schema_strs(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                         const char *where, zh_toml_str_check each, void *ud, zh_toml_strs *out) {
  const zh_toml_entry *e = zh_toml_entry_of(t, key);
  if (!e)
    return true;
  if (e->value->type != ZH_TOML_ARRAY)
    return zh_toml_schema_wrong_type(s, e, where, "an array of strings");
  size_t n = e->value->u.arr.len;
  const char **items = zh_toml_arena_alloc(s->arena, n * sizeof *items);
  if (!items)
    return zh_toml_schema_oom(s);
  for (size_t i = 0; i < n; i++) {
    const zh_toml_value *it = e->value->u.arr.items[i];
    if (it->type != ZH_TOML_STRING)
      return zh_toml_schema_fail(s, it->line, it->col,
                                 "`%s` in %s must be an array of strings, found %s", key, where,
                                 zh_toml_a_type(it->type));
    if (has_nul(it))
      return zh_toml_schema_fail(s, it->line, it->col, "`%s` in %s holds a NUL character", key,
                                 where);
    if (each && !each(s, it, key, where, ud))
      return false;
    if (!(items[i] = zh_toml_arena_strndup(s->arena, it->u.str.ptr, it->u.str.len)))
      return zh_toml_schema_oom(s);
  }
  out->items = items;
  out->len = n;
  return true;
}

bool zh_toml_schema_str_map(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                            const char *where, zh_toml_kv **out, size_t *nout) {
  const zh_toml_entry *e = zh_toml_entry_of(t, key);
  if (!e)
    return true;
  if (e->value->type != ZH_TOML_TABLE)
    return zh_toml_schema_wrong_type(s, e, where, "a table of strings");
  const zh_toml_value *m = e->value;
  zh_toml_kv *kvs = zh_toml_arena_alloc(s->arena, m->u.tab.len * sizeof *kvs);
  if (!kvs)
    return zh_toml_schema_oom(s);
  for (size_t i = 0; i < m->u.tab.len; i++) {
    const zh_toml_entry *kv = &m->u.tab.items[i];
    if (kv->value->type != ZH_TOML_STRING)
      return zh_toml_schema_fail(s, kv->value->line, kv->value->col,
                                 "`%s.%s` in %s must be a string, found %s", key, kv->key, where,
                                 zh_toml_a_type(kv->value->type));
    if (has_nul(kv->value) || strlen(kv->key) != kv->key_len)
      return zh_toml_schema_fail(s, kv->line, kv->col, "`%s` in %s holds a NUL character", key,
                                 where);
    kvs[i].key = zh_toml_arena_strndup(s->arena, kv->key, kv->key_len);
    kvs[i].value = zh_toml_arena_strndup(s->arena, kv->value->u.str.ptr, kv->value->u.str.len);
    if (!kvs[i].key || !kvs[i].value)
      return zh_toml_schema_oom(s);
  }
  *out = kvs;
  *nout = m->u.tab.len;
  return true;
}

zh_error *zh_toml_read_file(const char *path, size_t max, char **text, size_t *len, char **dir) {
  *text = NULL;
  *dir = NULL;
  struct stat st;
  zh_error *err = NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return zh_error_new(ZH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
    err = zh_error_new(ZH_ERR_IO, "%s: not a regular file of at most %zu bytes", path, max);
    goto done;
  }
  size_t size = (size_t)st.st_size;
  *text = malloc(size + 1);
  if (!*text) {
    err = zh_error_oom();
    goto done;
  }
  if (fread(*text, 1, size, f) != size) {
    err = zh_error_new(ZH_ERR_IO, "%s: read failed", path);
    goto done;
  }
  (*text)[size] = 0;
  *len = size;
  /* The directory, absolute, so that paths resolved against it survive a chdir. */
  const char *slash = strrchr(path, '/');
  char *d = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
  *dir = d ? realpath(d, NULL) : NULL;
  free(d);
  if (!*dir)
    err = zh_error_new(ZH_ERR_IO, "%s: cannot resolve its directory: %s", path, strerror(errno));
done:
  fclose(f);
  if (err) {
    free(*text);
    *text = NULL;
  }
  return err;
}
