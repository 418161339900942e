/* What the TOML parser's files share: the flags that enforce TOML's redefinition rules, and
 * the tree-building helpers (value.c). Not for users of the tree. */
#ifndef ZH_TOML_INTERNAL_H
#define ZH_TOML_INTERNAL_H

#include "toml/toml.h"

/* A table's history decides what may still be added to it (TOML 1.0, "Table"):
 * - IMPLICIT: made as the parent in a [x.y] header; one later [x] may still define it.
 * - DEFINED: the key of a [header] or an element of [[array]]; never defined again.
 * - DOTTED: made by a dotted key (x.y = 1); more dotted keys may add to it, a header not.
 * - FROZEN: an inline table or inside one; nothing may add to it afterwards.
 * An array made by a value literal is STATIC: [[header]] cannot append to it. */
enum {
  ZH_TOML_F_IMPLICIT = 1,
  ZH_TOML_F_DEFINED = 2,
  ZH_TOML_F_DOTTED = 4,
  ZH_TOML_F_FROZEN = 8,
  ZH_TOML_F_STATIC = 16,
};

/* A new value (zeroed apart from type, position and depth), or NULL when out of memory. */
zh_toml_value *zh_toml_value_new(zh_toml_type type, uint32_t line, uint32_t col, unsigned depth);
/* Appends to an array; false when out of memory (the item is then not owned by the array). */
bool zh_toml_array_push(zh_toml_value *array, zh_toml_value *item);
/* Adds a key that must not exist yet, taking `key` (malloc'd) and `value`; false when out
 * of memory (then nothing is taken). */
bool zh_toml_table_add(zh_toml_value *table, char *key, size_t key_len, uint32_t line, uint32_t col,
                       zh_toml_value *value);
/* The entry for a key given with its length, or NULL. */
zh_toml_entry *zh_toml_table_find(const zh_toml_value *table, const char *key, size_t key_len);

/* Copies `msg` into `out` (capacity `cap`, always NUL-terminated) with control characters
 * written as \xNN, so that a key or value quoted in an error keeps the message on one line. */
void zh_toml_escape_controls(const char *msg, char *out, size_t cap);

#endif
