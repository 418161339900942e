/* The TOML value tree: construction, lookup and freeing. Tables are arrays of entries in
 * insertion order; lookup is a linear scan, which is fine for configuration files (the
 * parser caps nothing here, so a hostile file with many keys in one table costs O(n^2)
 * comparisons of short strings, still well under a second for megabytes of keys). */
#include "toml/toml_internal.h"

#include <stdlib.h>
#include <string.h>

zh_toml_value *zh_toml_value_new(zh_toml_type type, uint32_t line, uint32_t col, unsigned depth) {
  zh_toml_value *v = calloc(1, sizeof *v);
  if (v) {
    v->type = type;
    v->line = line;
    v->col = col;
    v->depth = (uint16_t)depth;
  }
  return v;
}

/* Grows a vector of `size`-byte items to hold one more; false when out of memory. */
static bool grow(void **items, size_t len, size_t *cap, size_t size) {
  if (len < *cap)
    return true;
  size_t ncap = *cap ? *cap * 2 : 4;
  if (ncap > SIZE_MAX / size)
    return false;
  void *n = realloc(*items, ncap * size);
  if (!n)
    return false;
  *items = n;
  *cap = ncap;
  return true;
}

bool zh_toml_array_push(zh_toml_value *array, zh_toml_value *item) {
  void *items = array->u.arr.items;
  if (!grow(&items, array->u.arr.len, &array->u.arr.cap, sizeof(zh_toml_value *)))
    return false;
  array->u.arr.items = items;
  array->u.arr.items[array->u.arr.len++] = item;
  return true;
}

bool zh_toml_table_add(zh_toml_value *table, char *key, size_t key_len, uint32_t line, uint32_t col,
                       zh_toml_value *value) {
  void *items = table->u.tab.items;
  if (!grow(&items, table->u.tab.len, &table->u.tab.cap, sizeof(zh_toml_entry)))
    return false;
  table->u.tab.items = items;
  table->u.tab.items[table->u.tab.len++] = (zh_toml_entry){key, key_len, line, col, value};
  return true;
}

zh_toml_entry *zh_toml_table_find(const zh_toml_value *table, const char *key, size_t key_len) {
  if (!table || table->type != ZH_TOML_TABLE)
    return NULL;
  for (size_t i = 0; i < table->u.tab.len; i++) {
    zh_toml_entry *e = &table->u.tab.items[i];
    if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
      return e;
  }
  return NULL;
}

const zh_toml_entry *zh_toml_entry_of(const zh_toml_value *table, const char *key) {
  return zh_toml_table_find(table, key, strlen(key));
}

const zh_toml_value *zh_toml_get(const zh_toml_value *table, const char *key) {
  const zh_toml_entry *e = zh_toml_entry_of(table, key);
  return e ? e->value : NULL;
}

/* Recursion is bounded: the parser never builds a tree deeper than ZH_TOML_MAX_DEPTH. */
void zh_toml_free(zh_toml_value *value) {
  if (!value)
    return;
  switch (value->type) {
  case ZH_TOML_STRING:
    free(value->u.str.ptr);
    break;
  case ZH_TOML_ARRAY:
    for (size_t i = 0; i < value->u.arr.len; i++)
      zh_toml_free(value->u.arr.items[i]);
    free(value->u.arr.items);
    break;
  case ZH_TOML_TABLE:
    for (size_t i = 0; i < value->u.tab.len; i++) {
      free(value->u.tab.items[i].key);
      zh_toml_free(value->u.tab.items[i].value);
    }
    free(value->u.tab.items);
    break;
  default:
    break;
  }
  free(value);
}

void zh_toml_escape_controls(const char *msg, char *out, size_t cap) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)msg; *p && o + 5 < cap; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      static const char hex[] = "0123456789ABCDEF";
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[*p >> 4];
      out[o++] = hex[*p & 15];
    } else {
      out[o++] = (char)*p;
    }
  }
  out[o] = 0;
}

const char *zh_toml_type_name(zh_toml_type type) {
  switch (type) {
  case ZH_TOML_STRING:
    return "string";
  case ZH_TOML_INTEGER:
    return "integer";
  case ZH_TOML_FLOAT:
    return "float";
  case ZH_TOML_BOOL:
    return "boolean";
  case ZH_TOML_DATETIME:
    return "offset date-time";
  case ZH_TOML_DATETIME_LOCAL:
    return "local date-time";
  case ZH_TOML_DATE_LOCAL:
    return "local date";
  case ZH_TOML_TIME_LOCAL:
    return "local time";
  case ZH_TOML_ARRAY:
    return "array";
  case ZH_TOML_TABLE:
    return "table";
  }
  return "value";
}
