/* toml-test over src/toml: every case that files-toml-1.0.0 lists in ../shared/testsuites/toml.
 *
 *   suite_runner SUITE_DIR [-v]
 *
 * A valid case must parse, and its tree must equal the expected JSON: tables are objects
 * (compared as sets of keys), arrays are arrays, and every other value is
 * {"type": T, "value": "text"}. Integers are compared as integers, floats as doubles (nan
 * equals nan, and the sign of zero and infinity counts), date-times by their parts after
 * parsing the expected text with the same rules. An invalid case must be refused with a
 * one-line "FILE:LINE:COL: reason". Prints "toml-test: N passed, M failed, K skipped". */
#include "toml/toml.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool verbose;

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  size_t r;
  while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      char *nb = realloc(b, cap *= 2);
      if (!nb)
        free(b);
      b = nb;
    }
  }
  fclose(f);
  if (b)
    *len = n;
  return b;
}

static const char *json_type_of(zh_toml_type t) {
  switch (t) {
  case ZH_TOML_STRING:
    return "string";
  case ZH_TOML_INTEGER:
    return "integer";
  case ZH_TOML_FLOAT:
    return "float";
  case ZH_TOML_BOOL:
    return "bool";
  case ZH_TOML_DATETIME:
    return "datetime";
  case ZH_TOML_DATETIME_LOCAL:
    return "datetime-local";
  case ZH_TOML_DATE_LOCAL:
    return "date-local";
  case ZH_TOML_TIME_LOCAL:
    return "time-local";
  default:
    return "?";
  }
}

/* jansson cannot hold NUL in object keys, which toml-test uses (valid/key/quoted-unicode).
 * The runner therefore reads the JSON with every \u0000 escape turned into U+F0000 (a
 * private-use character no case uses) and maps NUL bytes of parsed keys and strings to it
 * before comparing. */
#define NUL_STAND_IN "\xF3\xB0\x80\x80"

static char *map_nul(const char *s, size_t len, size_t *out_len) {
  char *o = malloc(len * 4 + 1);
  size_t n = 0;
  for (size_t i = 0; o && i < len; i++) {
    if (s[i] == 0) {
      memcpy(o + n, NUL_STAND_IN, 4);
      n += 4;
    } else {
      o[n++] = s[i];
    }
  }
  if (o)
    o[n] = 0;
  *out_len = n;
  return o;
}

static json_t *load_json(const char *path) {
  size_t len;
  char *text = slurp(path, &len);
  if (!text)
    return NULL;
  char *o = malloc(len * 2 + 1);
  size_t n = 0;
  for (size_t i = 0; o && i < len; i++) {
    if (text[i] == '\\' && i + 1 < len && text[i + 1] == '\\') {
      o[n++] = text[i++];
      o[n++] = text[i];
    } else if (len - i >= 6 && memcmp(text + i, "\\u0000", 6) == 0) {
      memcpy(o + n, "\\uDB80\\uDC00", 12);
      n += 12;
      i += 5;
    } else {
      o[n++] = text[i];
    }
  }
  json_error_t jerr;
  json_t *j = o ? json_loadb(o, n, JSON_DECODE_ANY, &jerr) : NULL;
  free(o);
  free(text);
  return j;
}

static bool same_double(double a, double b) {
  if (isnan(a) || isnan(b))
    return isnan(a) && isnan(b);
  return a == b && signbit(a) == signbit(b);
}

/* Why the values differ, or NULL when they are equal. */
static const char *compare(const zh_toml_value *v, json_t *j, char *why, size_t cap);

static const char *compare_scalar(const zh_toml_value *v, json_t *j, char *why, size_t cap) {
  json_t *jt = json_object_get(j, "type"), *jv = json_object_get(j, "value");
  if (!json_is_object(j) || json_object_size(j) != 2 || !json_is_string(jt) || !json_is_string(jv))
    return snprintf(why, cap, "got a %s, expected something else", json_type_of(v->type)), why;
  const char *type = json_string_value(jt), *text = json_string_value(jv);
  size_t tlen = json_string_length(jv);
  if (strcmp(type, json_type_of(v->type)) != 0)
    return snprintf(why, cap, "type %s, expected %s", json_type_of(v->type), type), why;
  bool same = false;
  switch (v->type) {
  case ZH_TOML_STRING: {
    size_t n;
    char *m = map_nul(v->u.str.ptr, v->u.str.len, &n);
    same = m && n == tlen && memcmp(m, text, tlen) == 0;
    free(m);
    break;
  }
  case ZH_TOML_INTEGER:
    same = v->u.integer == strtoll(text, NULL, 10);
    break;
  case ZH_TOML_FLOAT: {
    double want = strtod(text, NULL);
    if (strcmp(text, "nan") == 0 || strcmp(text, "-nan") == 0 || strcmp(text, "+nan") == 0)
      want = NAN;
    same = same_double(v->u.flt, want);
    break;
  }
  case ZH_TOML_BOOL:
    same = strcmp(text, v->u.boolean ? "true" : "false") == 0;
    break;
  default: {
    zh_toml_datetime dt;
    int t = zh_toml_datetime_parse(text, tlen, &dt);
    const zh_toml_datetime *g = &v->u.dt;
    same = t == (int)v->type && dt.year == g->year && dt.month == g->month && dt.day == g->day &&
           dt.hour == g->hour && dt.minute == g->minute && dt.second == g->second &&
           dt.nanosecond == g->nanosecond && dt.offset_minutes == g->offset_minutes;
    break;
  }
  }
  if (!same)
    return snprintf(why, cap, "%s value differs from `%s`", type, text), why;
  return NULL;
}

static const char *compare(const zh_toml_value *v, json_t *j, char *why, size_t cap) {
  if (v->type == ZH_TOML_TABLE) {
    if (!json_is_object(j) || json_object_size(j) != v->u.tab.len)
      return snprintf(why, cap, "table at %u:%u: key count differs", v->line, v->col), why;
    for (size_t i = 0; i < v->u.tab.len; i++) {
      const zh_toml_entry *e = &v->u.tab.items[i];
      size_t kn;
      char *k = map_nul(e->key, e->key_len, &kn);
      json_t *c = k ? json_object_getn(j, k, kn) : NULL;
      free(k);
      if (!c)
        return snprintf(why, cap, "unexpected key `%s`", e->key), why;
      if (compare(e->value, c, why, cap))
        return why;
    }
    return NULL;
  }
  if (v->type == ZH_TOML_ARRAY) {
    if (!json_is_array(j) || json_array_size(j) != v->u.arr.len)
      return snprintf(why, cap, "array at %u:%u: length differs", v->line, v->col), why;
    for (size_t i = 0; i < v->u.arr.len; i++)
      if (compare(v->u.arr.items[i], json_array_get(j, i), why, cap))
        return why;
    return NULL;
  }
  return compare_scalar(v, j, why, cap);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SUITE_DIR [-v]\n", argv[0]);
    return 2;
  }
  verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
  const char *dir = argv[1];
  char path[4096];
  snprintf(path, sizeof path, "%s/files-toml-1.0.0", dir);
  FILE *list = fopen(path, "r");
  if (!list) {
    fprintf(stderr, "toml-test: cannot open %s\n", path);
    printf("toml-test: 0 passed, 1 failed, 0 skipped\n");
    return 1;
  }
  int passed = 0, failed = 0, skipped = 0;
  char line[1024];
  while (fgets(line, sizeof line, list)) {
    line[strcspn(line, "\r\n")] = 0;
    size_t n = strlen(line);
    if (n < 5 || strcmp(line + n - 5, ".toml") != 0)
      continue;
    bool valid = strncmp(line, "valid/", 6) == 0;
    snprintf(path, sizeof path, "%s/%s", dir, line);
    size_t len;
    char *text = slurp(path, &len);
    if (!text) {
      fprintf(stderr, "FAIL %s: cannot read\n", line);
      failed++;
      continue;
    }
    zh_toml_value *root = NULL;
    zh_error *err = zh_toml_parse(text, len, line, &root);
    char why[512];
    const char *bad = NULL;
    if (valid) {
      if (err) {
        bad = zh_error_message(err);
      } else {
        snprintf(path, sizeof path, "%s/%.*s.json", dir, (int)(n - 5), line);
        json_t *want = load_json(path);
        if (!want)
          bad = "cannot read the expected JSON";
        else
          bad = compare(root, want, why, sizeof why);
        json_decref(want);
      }
    } else if (!err) {
      bad = "accepted an invalid document";
    } else {
      const char *msg = zh_error_message(err);
      if (strchr(msg, '\n') || strncmp(msg, line, n) != 0 || msg[n] != ':')
        bad = "error is not one line starting with the file name";
      else if (verbose)
        printf("ok   %s\n", msg);
    }
    if (bad) {
      fprintf(stderr, "FAIL %s: %s\n", line, bad);
      failed++;
    } else {
      passed++;
    }
    zh_error_free(err);
    zh_toml_free(root);
    free(text);
  }
  fclose(list);
  printf("toml-test: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}
