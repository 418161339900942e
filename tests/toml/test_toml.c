/* The TOML parser (src/toml) beyond what toml-test checks: positions of keys and values,
 * insertion order, exact error messages with line:col, hostile nesting, UTF-8, and the
 * redefinition rules around dotted keys, implicit tables and arrays of tables. */
#include "testlib.h"
#include "toml/toml.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static zh_toml_value *parse(const char *text, char **msg) {
  zh_toml_value *root = NULL;
  zh_error *err = zh_toml_parse(text, strlen(text), "t.toml", &root);
  if (msg)
    *msg = err ? strdup(zh_error_message(err)) : NULL;
  zh_error_free(err);
  return root;
}

static void test_positions_and_order(void) {
  char *msg;
  zh_toml_value *root = parse("# comment\n"
                              "title = \"x\"\n"
                              "[server]\n"
                              "  port = 8080\n"
                              "  host.name = 'h'\n"
                              "[[items]]\n"
                              "n = 1\n"
                              "[[items]]\n"
                              "n = 2 # two\n"
                              "z = 1\n"
                              "\"é\" = \"ü\"\n",
                              &msg);
  CHECK(root != NULL);
  if (!root) {
    fprintf(stderr, "%s\n", msg);
    free(msg);
    return;
  }
  const zh_toml_entry *e = zh_toml_entry_of(root, "title");
  CHECK(e && e->line == 2 && e->col == 1 && e->value->line == 2 && e->value->col == 9);
  const zh_toml_value *server = zh_toml_get(root, "server");
  CHECK(server && server->type == ZH_TOML_TABLE && server->line == 3 && server->col == 2);
  e = zh_toml_entry_of(server, "port");
  CHECK(e && e->line == 4 && e->col == 3 && e->value->u.integer == 8080);
  const zh_toml_value *host = zh_toml_get(server, "host");
  CHECK(host && host->line == 5 && host->col == 3);
  e = zh_toml_entry_of(host, "name");
  CHECK(e && e->line == 5 && e->col == 8 && e->value->col == 15);
  const zh_toml_value *items = zh_toml_get(root, "items");
  CHECK(items && items->type == ZH_TOML_ARRAY && items->u.arr.len == 2);
  if (items && items->u.arr.len == 2) {
    const zh_toml_value *second = items->u.arr.items[1];
    CHECK(second->line == 8 && second->col == 3);
    /* Insertion order, not sorted. */
    CHECK(second->u.tab.len == 3 && strcmp(second->u.tab.items[0].key, "n") == 0 &&
          strcmp(second->u.tab.items[1].key, "z") == 0);
    /* Columns count code points: "\"é\" = " puts the value at column 7. */
    e = &second->u.tab.items[2];
    CHECK(strcmp(e->key, "é") == 0 && e->value->col == 7 && e->value->line == 11);
  }
  /* Root keys in order of appearance. */
  CHECK(root->u.tab.len == 3 && strcmp(root->u.tab.items[0].key, "title") == 0 &&
        strcmp(root->u.tab.items[1].key, "server") == 0 &&
        strcmp(root->u.tab.items[2].key, "items") == 0);
  zh_toml_free(root);
}

static void test_values(void) {
  zh_toml_value *root = parse("a = 0x_1\n", NULL);
  CHECK(root == NULL);
  root = parse("hex = 0xDEAD_beef\noct = 0o755\nbin = 0b1010\nneg = -9_223_372_036_854_775_808\n"
               "f = 6.626e-34\ninf = -inf\nnan = nan\nd = 1979-05-27\nt = 07:32:00.999999\n"
               "odt = 1979-05-27 07:32:00-08:00\nldt = 1979-05-27T07:32:00\n"
               "s = \"\"\"\n  a \\\n   b\"\"\"\"\"\nl = '''\n'x' '''\nnul = \"\\u0000!\"\n",
               NULL);
  CHECK(root != NULL);
  if (!root)
    return;
  CHECK(zh_toml_get(root, "hex")->u.integer == 0xDEADBEEF);
  CHECK(zh_toml_get(root, "oct")->u.integer == 0755);
  CHECK(zh_toml_get(root, "bin")->u.integer == 10);
  CHECK(zh_toml_get(root, "neg")->u.integer == INT64_MIN);
  CHECK(zh_toml_get(root, "f")->u.flt == 6.626e-34);
  CHECK(isinf(zh_toml_get(root, "inf")->u.flt) && zh_toml_get(root, "inf")->u.flt < 0);
  CHECK(isnan(zh_toml_get(root, "nan")->u.flt));
  const zh_toml_value *v = zh_toml_get(root, "d");
  CHECK(v->type == ZH_TOML_DATE_LOCAL && v->u.dt.year == 1979 && v->u.dt.day == 27);
  v = zh_toml_get(root, "t");
  CHECK(v->type == ZH_TOML_TIME_LOCAL && v->u.dt.nanosecond == 999999000);
  v = zh_toml_get(root, "odt");
  CHECK(v->type == ZH_TOML_DATETIME && v->u.dt.offset_minutes == -480 && v->u.dt.hour == 7);
  CHECK(zh_toml_get(root, "ldt")->type == ZH_TOML_DATETIME_LOCAL);
  v = zh_toml_get(root, "s");
  CHECK(v && strcmp(v->u.str.ptr, "  a b\"\"") == 0);
  v = zh_toml_get(root, "l");
  CHECK(v && strcmp(v->u.str.ptr, "'x' ") == 0);
  v = zh_toml_get(root, "nul");
  CHECK(v && v->u.str.len == 2 && v->u.str.ptr[0] == 0 && v->u.str.ptr[1] == '!');
  zh_toml_free(root);
}

typedef struct bad {
  const char *text, *message;
} bad;

static const bad BAD[] = {
    {"a = 1\na = 2\n", "t.toml:2:1: duplicate key `a` (first defined at 1:1)"},
    {"a = \n", "t.toml:1:5: expected a value, found the end of the line"},
    {"a = \"x\n", "t.toml:1:5: unterminated string"},
    {"a = \"\\q\"\n", "t.toml:1:6: invalid escape `\\q`"},
    {"a = \"\\uD800\"\n", "t.toml:1:6: \\uD800 is not a Unicode scalar value"},
    {"a = 01\n", "t.toml:1:5: leading zero in `01`"},
    {"a = 1__0\n", "t.toml:1:5: invalid number `1__0`"},
    {"a = 9223372036854775808\n", "t.toml:1:5: integer `9223372036854775808` does not fit in 64 "
                                  "bits"},
    {"a = 1979-02-30\n", "t.toml:1:5: invalid date or time `1979-02-30`"},
    {"a = tru\n", "t.toml:1:5: invalid value `tru`"},
    {"[a]\n[a]\n", "t.toml:2:2: table `a` is already defined at 1:2"},
    {"a.b = 1\n[a]\n", "t.toml:2:2: table `a` is already defined at 1:1"},
    {"[a.b]\nc = 1\n[a]\nb.d = 2\n",
     "t.toml:4:1: cannot add to table `b` with a dotted key: it is defined at 1:4"},
    {"a = {}\na.b = 1\n", "t.toml:2:1: cannot add to table `a` with a dotted key: it is defined at "
                          "1:5"},
    {"a = { b = 1 }\n[a.c]\n", "t.toml:2:2: key `a` is already defined as an inline table at 1:5"},
    {"a = [1]\n[[a]]\n", "t.toml:2:3: cannot define `a` as an array of tables: it is an array at "
                         "1:5"},
    {"[[a]]\n[a]\n", "t.toml:2:2: table `a` is already defined at 1:3"},
    {"a = 1 b = 2\n", "t.toml:1:7: expected a newline, found `b`"},
    {"a = { b = 1, }\n", "t.toml:1:14: trailing comma in an inline table"},
    {"a = { b = 1,\n c = 2 }\n", "t.toml:1:13: newline in an inline table"},
    {"a = [1, 2\n", "t.toml:1:5: unterminated array"},
    {"a = 1\r\n\rb = 2\n", "t.toml:2:1: carriage return not followed by a line feed"},
    {"a = \"\x01\"\n", "t.toml:1:6: control character U+0001 in a string"},
    {"# \x7f\n", "t.toml:1:3: control character U+007F in a comment"},
    {"a = \"\xc3\x28\"\n", "t.toml:1:6: invalid UTF-8"},
    {"a = \"\xed\xa0\x80\"\n", "t.toml:1:6: invalid UTF-8"},
    {"x = 1\n\xe2\x82\n", "t.toml:2:1: invalid UTF-8"},
    {"= 1\n", "t.toml:1:1: expected a key, found `=`"},
    {"a b = 1\n", "t.toml:1:3: expected `=` after a key"},
    {"[a\n", "t.toml:1:3: expected `]` to close the table header"},
    {"a = \"\"\"x\n", "t.toml:1:5: unterminated multi-line string"},
    {"'''a''' = 1\n", "t.toml:1:1: a key cannot be a multi-line string"},
    {"\"\\n\" = 1\n\"\\n\" = 2\n", "t.toml:2:1: duplicate key `\\x0A` (first defined at 1:1)"},
};

static void test_errors(void) {
  for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
    char *msg;
    zh_toml_value *root = parse(BAD[i].text, &msg);
    bool ok = !root && msg && strcmp(msg, BAD[i].message) == 0;
    CHECK(ok);
    if (!ok)
      fprintf(stderr, "case %zu:\n  got:  %s\n  want: %s\n", i, msg ? msg : "(accepted)",
              BAD[i].message);
    zh_toml_free(root);
    free(msg);
  }
}

/* Hostile nesting: 100k of each opener must be refused cleanly, not overflow the stack. */
static void test_depth(void) {
  size_t n = 100000;
  const char *openers[] = {"[", "{a=", "a."};
  const char *prefixes[] = {"a = ", "a = ", ""};
  for (int k = 0; k < 3; k++) {
    size_t ol = strlen(openers[k]), pl = strlen(prefixes[k]);
    char *text = malloc(pl + n * ol + 8);
    memcpy(text, prefixes[k], pl);
    for (size_t i = 0; i < n; i++)
      memcpy(text + pl + i * ol, openers[k], ol);
    strcpy(text + pl + n * ol, k == 2 ? "b = 1" : "");
    zh_toml_value *root = NULL;
    zh_error *err = zh_toml_parse(text, strlen(text), "deep.toml", &root);
    CHECK(err && !root && zh_error_status(err) == ZH_ERR_MALFORMED);
    CHECK(err && (strstr(zh_error_message(err), "nesting deeper than 128 levels") ||
                  strstr(zh_error_message(err), "key has more than 128 parts")));
    zh_error_free(err);
    free(text);
  }
  /* 100k header parts too: [a.a.a....] */
  char *text = malloc(2 * n + 4);
  text[0] = '[';
  for (size_t i = 0; i < n; i++)
    memcpy(text + 1 + 2 * i, "a.", 2);
  strcpy(text + 2 * n, "]");
  zh_toml_value *root = NULL;
  zh_error *err = zh_toml_parse(text, strlen(text), "deep.toml", &root);
  CHECK(err && !root && strstr(zh_error_message(err), "key has more than 128 parts"));
  zh_error_free(err);
  free(text);

  /* Exactly at the limit still parses: 128 nested arrays under a root key (depth 128). */
  char ok[400];
  size_t o = 0;
  o += (size_t)sprintf(ok, "a = ");
  for (int i = 0; i < 128; i++)
    ok[o++] = '[';
  for (int i = 0; i < 128; i++)
    ok[o++] = ']';
  ok[o] = 0;
  root = parse(ok, NULL);
  CHECK(root != NULL);
  zh_toml_free(root);
  o = 4;
  for (int i = 0; i < 129; i++)
    ok[o++] = '[';
  for (int i = 0; i < 129; i++)
    ok[o++] = ']';
  ok[o] = 0;
  root = parse(ok, NULL);
  CHECK(root == NULL);
}

/* What TOML 1.0 allows around tables defined in pieces. */
static void test_allowed_redefinitions(void) {
  static const char *const ok[] = {
      "[a.b.c]\nx = 1\n[a]\ny = 2\n", /* implicit then defined */
      "[fruit]\napple.color = 'red'\napple.taste.sweet = true\n[fruit.apple.texture]\ns = 1\n",
      "[[a]]\nb.c = 1\n[[a]]\nb.c = 2\n", /* per element */
      "[[a.b]]\n[a]\nc = 1\n",            /* implicit parent */
      "a = { b.c = 1, b.d = 2 }\n",       /* dotted in inline */
      "\xef\xbb\xbf"
      "a = 1\n", /* byte order mark */
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    char *msg;
    zh_toml_value *root = parse(ok[i], &msg);
    CHECK(root != NULL);
    if (!root)
      fprintf(stderr, "allowed %zu: %s\n", i, msg);
    free(msg);
    zh_toml_free(root);
  }
}

int main(void) {
  test_positions_and_order();
  test_values();
  test_errors();
  test_depth();
  test_allowed_redefinitions();
  TEST_SUMMARY();
}
