/* libFuzzer harness for the TOML parser (src/toml): one input is one document. A document
 * that parses must give a tree that keeps the parser's promises: depth within
 * ZH_TOML_MAX_DEPTH, every position inside the input, every string and key valid UTF-8,
 * no key twice in a table. A document that does not parse must give one line
 * "fuzz.toml:LINE:COL: reason" with the position inside the input. And a tree survives a
 * round trip: written back as TOML (every table inline, every string escaped) it parses
 * to an equal tree, so decoding and the checks agree on what each value is.
 * Build and run: `make fuzz-toml` (docs/FUZZING.md). */
#include "toml/toml.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t lines_in(const uint8_t *d, size_t n) {
  uint32_t lines = 1;
  for (size_t i = 0; i < n; i++)
    lines += d[i] == '\n';
  return lines;
}

static void check_utf8(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    size_t n = u[i] < 0x80 ? 1 : (u[i] & 0xE0) == 0xC0 ? 2 : (u[i] & 0xF0) == 0xE0 ? 3 : 4;
    if ((u[i] & 0xC0) == 0x80 || (u[i] >= 0xF8) || i + n > len)
      abort();
    for (size_t k = 1; k < n; k++)
      if ((u[i + k] & 0xC0) != 0x80)
        abort();
    i += n;
  }
}

static void walk(const zh_toml_value *v, uint32_t lines, unsigned depth) {
  if (v->depth != depth || depth > ZH_TOML_MAX_DEPTH || v->line < 1 || v->line > lines ||
      v->col < 1)
    abort();
  if (v->type == ZH_TOML_STRING)
    check_utf8(v->u.str.ptr, v->u.str.len);
  if (v->type == ZH_TOML_ARRAY)
    for (size_t i = 0; i < v->u.arr.len; i++)
      walk(v->u.arr.items[i], lines, depth + 1);
  if (v->type == ZH_TOML_TABLE) {
    for (size_t i = 0; i < v->u.tab.len; i++) {
      const zh_toml_entry *e = &v->u.tab.items[i];
      check_utf8(e->key, e->key_len);
      if (e->line < 1 || e->line > lines || e->col < 1)
        abort();
      for (size_t j = 0; j < i; j++)
        if (v->u.tab.items[j].key_len == e->key_len &&
            memcmp(v->u.tab.items[j].key, e->key, e->key_len) == 0)
          abort();
      walk(e->value, lines, depth + 1);
    }
  }
}

/* ---- writing a tree back as TOML ---- */

typedef struct out {
  char *p;
  size_t len, cap;
} out;

static void put(out *o, const char *s, size_t n) {
  if (o->len + n + 1 > o->cap) {
    while (o->len + n + 1 > o->cap)
      o->cap = o->cap ? o->cap * 2 : 256;
    o->p = realloc(o->p, o->cap);
    if (!o->p)
      abort();
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = 0;
}

static void putf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(out *o, const char *fmt, ...) {
  char b[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  put(o, b, (size_t)n);
}

static void put_string(out *o, const char *s, size_t len) {
  put(o, "\"", 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
      putf(o, "\\u%04X", c);
    else
      put(o, s + i, 1);
  }
  put(o, "\"", 1);
}

static void put_value(out *o, const zh_toml_value *v);

static void put_float(out *o, double d) {
  if (isnan(d)) {
    put(o, "nan", 3);
  } else if (isinf(d)) {
    put(o, d < 0 ? "-inf" : "inf", d < 0 ? 4 : 3);
  } else {
    char b[64];
    int n = snprintf(b, sizeof b, "%.17g", d);
    put(o, b, (size_t)n);
    if (!strpbrk(b, ".eEn"))
      put(o, ".0", 2);
  }
}

static void put_datetime(out *o, const zh_toml_value *v) {
  const zh_toml_datetime *d = &v->u.dt;
  if (v->type != ZH_TOML_TIME_LOCAL)
    putf(o, "%04d-%02d-%02d", d->year, d->month, d->day);
  if (v->type == ZH_TOML_DATE_LOCAL)
    return;
  if (v->type != ZH_TOML_TIME_LOCAL)
    put(o, "T", 1);
  putf(o, "%02d:%02d:%02d", d->hour, d->minute, d->second);
  if (d->nanosecond)
    putf(o, ".%09u", d->nanosecond);
  if (v->type == ZH_TOML_DATETIME) {
    int m = d->offset_minutes < 0 ? -d->offset_minutes : d->offset_minutes;
    if (d->offset_minutes == 0 && !d->offset_unknown)
      put(o, "Z", 1);
    else
      putf(o, "%c%02d:%02d", d->offset_minutes < 0 || d->offset_unknown ? '-' : '+', m / 60,
           m % 60);
  }
}

static void put_value(out *o, const zh_toml_value *v) {
  switch (v->type) {
  case ZH_TOML_STRING:
    put_string(o, v->u.str.ptr, v->u.str.len);
    break;
  case ZH_TOML_INTEGER:
    putf(o, "%lld", (long long)v->u.integer);
    break;
  case ZH_TOML_FLOAT:
    put_float(o, v->u.flt);
    break;
  case ZH_TOML_BOOL:
    put(o, v->u.boolean ? "true" : "false", v->u.boolean ? 4 : 5);
    break;
  case ZH_TOML_ARRAY:
    put(o, "[", 1);
    for (size_t i = 0; i < v->u.arr.len; i++) {
      if (i)
        put(o, ",", 1);
      put_value(o, v->u.arr.items[i]);
    }
    put(o, "]", 1);
    break;
  case ZH_TOML_TABLE:
    put(o, "{", 1);
    for (size_t i = 0; i < v->u.tab.len; i++) {
      if (i)
        put(o, ",", 1);
      put_string(o, v->u.tab.items[i].key, v->u.tab.items[i].key_len);
      put(o, "=", 1);
      put_value(o, v->u.tab.items[i].value);
    }
    put(o, "}", 1);
    break;
  default:
    put_datetime(o, v);
    break;
  }
}

static bool same(const zh_toml_value *a, const zh_toml_value *b) {
  if (a->type != b->type)
    return false;
  switch (a->type) {
  case ZH_TOML_STRING:
    return a->u.str.len == b->u.str.len && memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
  case ZH_TOML_INTEGER:
    return a->u.integer == b->u.integer;
  case ZH_TOML_FLOAT:
    return isnan(a->u.flt) ? isnan(b->u.flt)
                           : a->u.flt == b->u.flt && signbit(a->u.flt) == signbit(b->u.flt);
  case ZH_TOML_BOOL:
    return a->u.boolean == b->u.boolean;
  case ZH_TOML_ARRAY:
    if (a->u.arr.len != b->u.arr.len)
      return false;
    for (size_t i = 0; i < a->u.arr.len; i++)
      if (!same(a->u.arr.items[i], b->u.arr.items[i]))
        return false;
    return true;
  case ZH_TOML_TABLE:
    if (a->u.tab.len != b->u.tab.len)
      return false;
    for (size_t i = 0; i < a->u.tab.len; i++) {
      const zh_toml_entry *x = &a->u.tab.items[i], *y = &b->u.tab.items[i];
      if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0 ||
          !same(x->value, y->value))
        return false;
    }
    return true;
  default:
    return memcmp(&a->u.dt, &b->u.dt, sizeof a->u.dt) == 0;
  }
}

/* The root's entries as `"key" = value` lines; deeper tables inline. */
static void round_trip(const zh_toml_value *root) {
  out o = {0};
  put(&o, "", 0);
  for (size_t i = 0; i < root->u.tab.len; i++) {
    put_string(&o, root->u.tab.items[i].key, root->u.tab.items[i].key_len);
    put(&o, " = ", 3);
    put_value(&o, root->u.tab.items[i].value);
    put(&o, "\n", 1);
  }
  zh_toml_value *back = NULL;
  zh_error *err = zh_toml_parse(o.p, o.len, "round.toml", &back);
  if (err || !same(root, back)) {
    fprintf(stderr, "round trip failed: %s\n%s\n", err ? zh_error_message(err) : "differs", o.p);
    abort();
  }
  zh_toml_free(back);
  free(o.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint32_t lines = lines_in(data, size);
  zh_toml_value *root = NULL, *again = NULL;
  zh_error *err = zh_toml_parse((const char *)data, size, "fuzz.toml", &root);
  zh_error *err2 = zh_toml_parse((const char *)data, size, "fuzz.toml", &again);
  if (!err != !err2)
    abort();
  if (err) {
    const char *msg = zh_error_message(err);
    unsigned line = 0, col = 0;
    if (root || strchr(msg, '\n') || strcmp(msg, zh_error_message(err2)) != 0 ||
        (zh_error_status(err) == ZH_ERR_MALFORMED &&
         (sscanf(msg, "fuzz.toml:%u:%u: ", &line, &col) != 2 || line < 1 || line > lines ||
          col < 1)))
      abort();
  } else {
    if (!root || root->type != ZH_TOML_TABLE || root->u.tab.len != again->u.tab.len)
      abort();
    walk(root, lines, 0);
    round_trip(root);
  }
  zh_error_free(err);
  zh_error_free(err2);
  zh_toml_free(root);
  zh_toml_free(again);
  return 0;
}
