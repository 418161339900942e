/* libFuzzer harness for the TOML parser (src/toml): one input is one document. A document
 * that parses must give a tree that keeps the parser's promises: depth within
 * ZH_TOML_MAX_DEPTH, every position inside the input, every string and key valid UTF-8,
 * no key twice in a table. A document that does not parse must give one line
 * "fuzz.toml:LINE:COL: reason" with the position inside the input. The parse must not
 * depend on anything but the bytes: a second parse gives the same outcome.
 * Build and run: `make fuzz-toml` (docs/FUZZING.md). */
#include "toml/toml.h"

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
  }
  zh_error_free(err);
  zh_error_free(err2);
  zh_toml_free(root);
  zh_toml_free(again);
  return 0;
}
