/* TOML 1.0 documents as a value tree that remembers where everything came from.
 *
 * zh_toml_parse reads a whole document into a tree of zh_toml_value. Every value and every
 * key keeps its 1-based line and column (columns count code points), so that a consumer such
 * as the spin.toml loader can point at the exact spot of a wrong field. Tables keep their
 * keys in insertion order.
 *
 * Trust: the input is untrusted. It is checked as UTF-8 first; nesting of arrays, inline
 * tables and dotted keys is capped at ZH_TOML_MAX_DEPTH so a hostile file cannot exhaust the
 * stack; every TOML 1.0 rule on redefinition is enforced. A failure is one zh_error with
 * status ZH_ERR_MALFORMED and the one-line message "FILE:LINE:COL: reason".
 *
 * Ownership: the caller owns the root returned by zh_toml_parse and frees it with
 * zh_toml_free, which frees the whole tree. Everything else returned here is borrowed from
 * the tree. Strings and keys are NUL-terminated for convenience, but may hold NUL bytes
 * ("\u0000" is legal TOML): use the length when it matters.
 *
 *   zh_toml_value *root;
 *   zh_error *err = zh_toml_parse(text, len, "spin.toml", &root);
 *   const zh_toml_value *v = zh_toml_get(root, "name");
 *   ...; zh_toml_free(root);
 */
#ifndef ZH_TOML_TOML_H
#define ZH_TOML_TOML_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deeper than any real configuration file, shallow enough for any thread's stack. */
#define ZH_TOML_MAX_DEPTH 128

typedef enum zh_toml_type {
  ZH_TOML_STRING,
  ZH_TOML_INTEGER,
  ZH_TOML_FLOAT,
  ZH_TOML_BOOL,
  ZH_TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
  ZH_TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
  ZH_TOML_DATE_LOCAL,     /* 1979-05-27 */
  ZH_TOML_TIME_LOCAL,     /* 07:32:00 */
  ZH_TOML_ARRAY,
  ZH_TOML_TABLE,
} zh_toml_type;

/* The parts of a date, time or date-time; the type says which parts are meaningful. */
typedef struct zh_toml_datetime {
  int year, month, day;
  int hour, minute, second;
  uint32_t nanosecond; /* fractional seconds, truncated to nanoseconds */
  int offset_minutes;  /* ZH_TOML_DATETIME only: east of UTC; Z is 0 */
  bool offset_unknown; /* -00:00 (RFC 3339's "offset unknown"), kept apart from Z */
} zh_toml_datetime;

typedef struct zh_toml_value zh_toml_value;

/* One key of a table and its value; line/col are those of the key itself. */
typedef struct zh_toml_entry {
  char *key;
  size_t key_len;
  uint32_t line, col;
  zh_toml_value *value;
} zh_toml_entry;

struct zh_toml_value {
  zh_toml_type type;
  uint32_t line, col; /* where the value starts; for a [table] its header's key */
  uint16_t depth;     /* nesting depth below the root table (0) */
  uint8_t flags;      /* parser bookkeeping (toml_internal.h) */
  union {
    struct {
      char *ptr;
      size_t len;
    } str;
    int64_t integer;
    double flt;
    bool boolean;
    zh_toml_datetime dt;
    struct {
      zh_toml_value **items;
      size_t len, cap;
    } arr;
    struct {
      zh_toml_entry *items;
      size_t len, cap;
    } tab;
  } u;
};

zh_error *zh_toml_parse(const char *text, size_t len, const char *filename, zh_toml_value **out);
void zh_toml_free(zh_toml_value *value); /* accepts NULL */

/* "string", "integer", "float", "boolean", "offset date-time", ..., "array", "table". */
const char *zh_toml_type_name(zh_toml_type type);

/* The value of `key` in a table, or NULL (also when `table` is NULL or not a table). */
const zh_toml_value *zh_toml_get(const zh_toml_value *table, const char *key);
/* The entry of `key` in a table (for its position), or NULL. */
const zh_toml_entry *zh_toml_entry_of(const zh_toml_value *table, const char *key);

/* Parses a TOML date, time or date-time in full (for tests that compare by value): returns
 * its type, or -1 if `text` is not exactly one of them. */
int zh_toml_datetime_parse(const char *text, size_t len, zh_toml_datetime *out);

#endif
