/* Reading a configuration format out of a TOML tree: typed getters with positioned errors.
 *
 * spin.toml and the runtime config are both "a TOML document with a fixed set of fields";
 * these helpers do the checking both need. Each getter reads one field of a table, and on
 * a problem records one zh_error (status ZH_ERR_INVALID) "FILE:LINE:COL: message" in the
 * zh_toml_schema and returns false; the first error sticks. Wrong types point at the value,
 * unknown fields at the key, missing fields at the table (for a [header] table, its name).
 *
 * Strings are copied into a zh_toml_arena (one list of blocks, freed at once), so results
 * outlive the tree and error paths need no cleanup. Strings holding NUL are refused. */
#ifndef ZH_TOML_SCHEMA_H
#define ZH_TOML_SCHEMA_H

#include "toml/toml.h"

typedef struct zh_toml_arena {
  void *head;
} zh_toml_arena;

void *zh_toml_arena_alloc(zh_toml_arena *a, size_t size); /* zeroed; NULL when out of memory */
char *zh_toml_arena_strndup(zh_toml_arena *a, const char *s, size_t n);
char *zh_toml_arena_printf(zh_toml_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void zh_toml_arena_free(zh_toml_arena *a);

typedef struct zh_toml_kv {
  const char *key, *value;
} zh_toml_kv;

typedef struct zh_toml_strs {
  const char **items;
  size_t len;
} zh_toml_strs;

typedef struct zh_toml_schema {
  const char *file;
  zh_toml_arena *arena;
  zh_error *err; /* the first error, owned until taken */
} zh_toml_schema;

bool zh_toml_schema_fail(zh_toml_schema *s, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool zh_toml_schema_oom(zh_toml_schema *s);
/* "a string", "an integer", ..., "a table". */
const char *zh_toml_a_type(zh_toml_type type);
/* "`KEY` in WHERE must be WANT, found a TYPE", at the value. */
bool zh_toml_schema_wrong_type(zh_toml_schema *s, const zh_toml_entry *e, const char *where,
                               const char *want);
/* Refuses the first key of `t` that is not in the NULL-terminated `allowed`. */
bool zh_toml_schema_fields(zh_toml_schema *s, const zh_toml_value *t, const char *where,
                           const char *const *allowed);
/* "WHERE is missing the required field `KEY`", at the table. */
bool zh_toml_schema_missing(zh_toml_schema *s, const zh_toml_value *t, const char *where,
                            const char *key);

/* Field getters: an absent field leaves *out as it was (an error if `required`). */
bool zh_toml_schema_str(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                        const char *where, bool required, const char **out);
bool zh_toml_schema_bool(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                         const char *where, bool *out);
bool zh_toml_schema_table(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                          const char *where, const zh_toml_value **out);
/* An array of strings; `each` (may be NULL) checks every item (it is a string). */
typedef bool (*zh_toml_str_check)(zh_toml_schema *s, const zh_toml_value *item, const char *key,
                                  const char *where, void *ud);
bool zh_toml_schema_strs(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                         const char *where, zh_toml_str_check each, void *ud, zh_toml_strs *out);
/* A table whose values are all strings, in key order. */
bool zh_toml_schema_str_map(zh_toml_schema *s, const zh_toml_value *t, const char *key,
                            const char *where, zh_toml_kv **out, size_t *nout);

/* Reads a whole configuration file of at most `max` bytes into *text (malloc'd, NUL
 * appended) and gives its directory as an absolute path in *dir (malloc'd). ZH_ERR_IO
 * naming the path on failure. */
zh_error *zh_toml_read_file(const char *path, size_t max, char **text, size_t *len, char **dir);

#endif
