/* The TOML 1.0 parser: one pass over the text, building the tree as it goes.
 *
 * The input is validated as UTF-8 before anything else, so the scanner below only has to
 * look at ASCII structure. A cursor tracks line and column (in code points) as it moves, so
 * every value and key gets its position for free. Recursion happens only for arrays and
 * inline tables and is capped by ZH_TOML_MAX_DEPTH, which also bounds every table's depth
 * (dotted keys and header keys count), so freeing the tree is bounded too. The first error
 * wins and stops the parse; its message is "FILE:LINE:COL: reason". */
#include "toml/toml_internal.h"
#include "wasm/error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
  const char *s;
  size_t len, pos;
  uint32_t line, col;
  const char *file;
  zh_error *err;
  zh_toml_value *root, *cur; /* cur: the table that key/values go into */
} parser;

/* One part of a dotted key, with its position. */
typedef struct key_part {
  char *ptr;
  size_t len;
  uint32_t line, col;
} key_part;

/* A key's parts live on the heap: a key per nesting level on the stack would be too big. */
typedef struct key {
  key_part *parts;
  int n, cap;
} key;

static bool fail_at(parser *p, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool fail_at(parser *p, uint32_t line, uint32_t col, const char *fmt, ...) {
  if (p->err)
    return false;
  char msg[256], clean[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  zh_toml_escape_controls(msg, clean, sizeof clean);
  p->err = zh_error_new(ZH_ERR_MALFORMED, "%s:%u:%u: %s", p->file, line, col, clean);
  return false;
}

#define fail(p, ...) fail_at((p), (p)->line, (p)->col, __VA_ARGS__)

static bool oom(parser *p) {
  if (!p->err)
    p->err = zh_error_prefix(zh_error_oom(), "%s", p->file);
  return false;
}

/* ---- the cursor ---- */

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int peek_at(const parser *p, size_t k) {
  return p->pos + k < p->len ? (unsigned char)p->s[p->pos + k] : -1;
}

static void adv(parser *p) {
  unsigned char c = (unsigned char)p->s[p->pos++];
  if (c == '\n') {
    p->line++;
    p->col = 1;
  } else if ((c & 0xC0) != 0x80) {
    p->col++;
  }
}

static void advn(parser *p, size_t n) {
  while (n--)
    adv(p);
}

static bool at_newline(const parser *p) {
  return peek(p) == '\n' || (peek(p) == '\r' && peek_at(p, 1) == '\n');
}

/* Consumes "\n" or "\r\n" if there; a lone CR is an error. */
static bool newline(parser *p) {
  if (peek(p) == '\r') {
    if (peek_at(p, 1) != '\n')
      return fail(p, "carriage return not followed by a line feed");
    adv(p);
  }
  if (peek(p) != '\n')
    return false;
  adv(p);
  return true;
}

static void skip_ws(parser *p) {
  while (peek(p) == ' ' || peek(p) == '\t')
    adv(p);
}

/* TOML forbids control characters other than tab outside multi-line strings' newlines. */
static bool is_control(int c) { return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f; }

/* A comment runs to the end of the line; its characters are checked like a string's. */
static bool comment(parser *p) {
  if (peek(p) != '#')
    return true;
  adv(p);
  while (peek(p) >= 0 && !at_newline(p)) {
    if (is_control(peek(p))) {
      if (peek(p) == '\r')
        return fail(p, "carriage return not followed by a line feed");
      return fail(p, "control character U+%04X in a comment", (unsigned)peek(p));
    }
    adv(p);
  }
  return true;
}

/* Whitespace, newlines and comments, as allowed between array elements. */
static bool skip_ws_nl(parser *p) {
  for (;;) {
    skip_ws(p);
    if (peek(p) == '#') {
      if (!comment(p))
        return false;
    } else if (peek(p) == '\r' || peek(p) == '\n') {
      if (!newline(p))
        return false;
    } else {
      return true;
    }
  }
}

/* After a key/value or header: optional whitespace and comment, then a newline or EOF. */
static bool end_of_line(parser *p) {
  skip_ws(p);
  if (!comment(p))
    return false;
  if (peek(p) < 0)
    return true;
  if (!newline(p))
    return p->err ? false : fail(p, "expected a newline, found `%c`", peek(p));
  return true;
}

/* ---- growing byte buffers for strings ---- */

typedef struct buf {
  char *ptr;
  size_t len, cap;
} buf;

static bool buf_put(buf *b, const char *s, size_t n) {
  if (!b->ptr || b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 32;
    while (ncap < b->len + n + 1)
      ncap *= 2;
    char *q = realloc(b->ptr, ncap);
    if (!q)
      return false;
    b->ptr = q;
    b->cap = ncap;
  }
  memcpy(b->ptr + b->len, s, n);
  b->len += n;
  b->ptr[b->len] = 0;
  return true;
}

static bool buf_utf8(buf *b, uint32_t cp) {
  char o[4];
  size_t n;
  if (cp < 0x80) {
    o[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return buf_put(b, o, n);
}

/* ---- strings ---- */

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* An escape after the backslash (already consumed). */
static bool escape(parser *p, buf *b) {
  uint32_t line = p->line, col = p->col - 1;
  int c = peek(p);
  const char *simple = NULL;
  switch (c) {
  case 'b':
    simple = "\b";
    break;
  case 't':
    simple = "\t";
    break;
  case 'n':
    simple = "\n";
    break;
  case 'f':
    simple = "\f";
    break;
  case 'r':
    simple = "\r";
    break;
  case '"':
    simple = "\"";
    break;
  case '\\':
    simple = "\\";
    break;
  case 'u':
  case 'U': {
    int n = c == 'u' ? 4 : 8;
    uint32_t cp = 0;
    adv(p);
    for (int i = 0; i < n; i++) {
      int h = hexval(peek(p));
      if (h < 0)
        return fail_at(p, line, col, "\\%c escape needs %d hexadecimal digits", c, n);
      cp = cp << 4 | (uint32_t)h;
      adv(p);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return fail_at(p, line, col, "\\%c%0*X is not a Unicode scalar value", c, n, cp);
    return buf_utf8(b, cp) || oom(p);
  }
  default:
    if (c < 0)
      return fail(p, "unterminated string");
    if (c >= 0x20 && c < 0x7f)
      return fail_at(p, line, col, "invalid escape `\\%c`", c);
    return fail_at(p, line, col, "invalid escape");
  }
  adv(p);
  return buf_put(b, simple, 1) || oom(p);
}

/* Copies ordinary characters up to the next one that needs attention. */
static bool plain_run(parser *p, buf *b, char stop) {
  size_t start = p->pos;
  while (peek(p) >= 0) {
    int c = peek(p);
    if (c == stop || c == '\\' || is_control(c))
      break;
    adv(p);
  }
  return buf_put(b, p->s + start, p->pos - start) || oom(p);
}

/* A single-line string; `basic` selects "..." (escapes) over '...'. The opening quote is
 * consumed by the caller. */
static bool string_line(parser *p, buf *b, bool basic, uint32_t line, uint32_t col) {
  char q = basic ? '"' : '\'';
  for (;;) {
    if (!plain_run(p, b, q))
      return false;
    int c = peek(p);
    if (c == q) {
      adv(p);
      return true;
    }
    if (c < 0 || c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
      return fail_at(p, line, col, "unterminated string");
    if (basic && c == '\\') {
      adv(p);
      if (!escape(p, b))
        return false;
      continue;
    }
    if (c == '\\') { /* literal strings keep backslashes */
      adv(p);
      if (!buf_put(b, "\\", 1))
        return oom(p);
      continue;
    }
    return fail(p, "control character U+%04X in a string", (unsigned)c);
  }
}

/* A multi-line string after its opening triple quote. A newline right after the opening
 * is dropped; in basic ones a backslash at the end of a line drops the following
 * whitespace and newlines. Up to two quotes may stand right before the closing three. */
static bool string_multi(parser *p, buf *b, bool basic, uint32_t line, uint32_t col) {
  char q = basic ? '"' : '\'';
  if (at_newline(p))
    newline(p);
  for (;;) {
    if (!plain_run(p, b, q))
      return false;
    int c = peek(p);
    if (c < 0)
      return fail_at(p, line, col, "unterminated multi-line string");
    if (c == q) {
      size_t n = 0;
      while (peek_at(p, n) == q)
        n++;
      if (n < 3) {
        advn(p, n);
        if (!buf_put(b, p->s + p->pos - n, n))
          return oom(p);
        continue;
      }
      if (n > 5)
        return fail(p, "too many quotes at the end of a multi-line string");
      if (!buf_put(b, p->s + p->pos, n - 3))
        return oom(p);
      advn(p, n);
      return true;
    }
    if (c == '\r' || c == '\n') {
      size_t start = p->pos;
      if (!newline(p))
        return p->err ? false : fail(p, "carriage return not followed by a line feed");
      if (!buf_put(b, p->s + start, p->pos - start))
        return oom(p);
      continue;
    }
    if (c == '\\' && basic) {
      adv(p);
      /* A line-ending backslash: whitespace, then a newline, then trim. */
      size_t save = p->pos;
      uint32_t sl = p->line, sc = p->col;
      skip_ws(p);
      if (at_newline(p)) {
        while (peek(p) == ' ' || peek(p) == '\t' || at_newline(p))
          if (!newline(p))
            adv(p);
        continue;
      }
      p->pos = save;
      p->line = sl;
      p->col = sc;
      if (!escape(p, b))
        return false;
      continue;
    }
    if (c == '\\') {
      adv(p);
      if (!buf_put(b, "\\", 1))
        return oom(p);
      continue;
    }
    return fail(p, "control character U+%04X in a string", (unsigned)c);
  }
}

/* Any string form at the cursor, into a fresh buffer. `keyish` forbids the multi-line
 * forms (keys cannot use them). */
static bool string(parser *p, buf *b, bool keyish) {
  uint32_t line = p->line, col = p->col;
  bool basic = peek(p) == '"';
  char q = basic ? '"' : '\'';
  if (peek_at(p, 1) == q && peek_at(p, 2) == q) {
    if (keyish)
      return fail(p, "a key cannot be a multi-line string");
    advn(p, 3);
    return string_multi(p, b, basic, line, col);
  }
  adv(p);
  return string_line(p, b, basic, line, col);
}

/* ---- keys ---- */

static bool is_bare(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

static void key_free(key *k) {
  for (int i = 0; i < k->n; i++)
    free(k->parts[i].ptr);
  free(k->parts);
  k->parts = NULL;
  k->n = k->cap = 0;
}

/* A dotted key: simple keys joined by dots, with whitespace around the dots allowed. */
static bool parse_key(parser *p, key *k) {
  *k = (key){0};
  for (;;) {
    if (k->n == ZH_TOML_MAX_DEPTH)
      return fail(p, "key has more than %d parts", ZH_TOML_MAX_DEPTH);
    if (k->n == k->cap) {
      int ncap = k->cap ? k->cap * 2 : 4;
      key_part *np = realloc(k->parts, (size_t)ncap * sizeof *np);
      if (!np)
        return oom(p);
      k->parts = np;
      k->cap = ncap;
    }
    key_part *kp = &k->parts[k->n];
    kp->line = p->line;
    kp->col = p->col;
    buf b = {0};
    int c = peek(p);
    if (c == '"' || c == '\'') {
      if (!string(p, &b, true)) {
        free(b.ptr);
        return false;
      }
      if (!b.ptr && !buf_put(&b, "", 0))
        return oom(p);
    } else if (is_bare(c)) {
      size_t start = p->pos;
      while (is_bare(peek(p)))
        adv(p);
      if (!buf_put(&b, p->s + start, p->pos - start))
        return oom(p);
    } else if (c < 0 || at_newline(p)) {
      return fail(p, "expected a key, found the end of the line");
    } else if (c >= 0x20 && c < 0x7f) {
      return fail(p, "expected a key, found `%c`", c);
    } else {
      return fail(p, "expected a key");
    }
    kp->ptr = b.ptr;
    kp->len = b.len;
    k->n++;
    skip_ws(p);
    if (peek(p) != '.')
      return true;
    adv(p);
    skip_ws(p);
  }
}

/* The key as written for messages: parts joined by dots, shortened if long. */
static const char *key_text(const key *k, int upto, char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  for (int i = 0; i < upto && n + 1 < cap; i++) {
    /* A part handed to the tree is NULL here; errors never name one, but be safe. */
    const char *part = k->parts[i].ptr ? k->parts[i].ptr : "?";
    int w = snprintf(out + n, cap - n, "%s%.*s", i ? "." : "", (int)strnlen(part, 64), part);
    if (w < 0)
      break;
    n += (size_t)w;
  }
  return out;
}

/* ---- numbers and dates ---- */

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* Digits of `base` with single underscores only between digits, into out (NUL-terminated,
 * underscores removed). */
static bool digit_run(const char *s, size_t len, size_t *i, int base, char *out, size_t *o,
                      size_t cap) {
  size_t start = *i;
  bool prev_digit = false;
  while (*i < len) {
    int c = (unsigned char)s[*i];
    int v = hexval(c);
    if (c == '_') {
      if (!prev_digit)
        return false;
      prev_digit = false;
    } else if (v >= 0 && v < base) {
      if (*o + 1 >= cap)
        return false;
      out[(*o)++] = (char)c;
      prev_digit = true;
    } else {
      break;
    }
    (*i)++;
  }
  out[*o] = 0;
  return *i > start && prev_digit;
}

static bool number(parser *p, uint32_t line, uint32_t col, const char *s, size_t len,
                   zh_toml_value *v) {
  char buf[512];
  size_t i = 0, o = 0;
  if (len >= sizeof buf / 2)
    return fail_at(p, line, col, "number too long");
  bool neg = false, sign = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    sign = true;
    i++;
  }
  if (len - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
    v->type = ZH_TOML_FLOAT;
    v->u.flt = s[i] == 'i' ? (neg ? -INFINITY : INFINITY) : (neg ? -NAN : NAN);
    return true;
  }
  if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
    int base = s[i + 1] == 'x' ? 16 : s[i + 1] == 'o' ? 8 : 2;
    if (sign)
      return fail_at(p, line, col, "a %s integer cannot have a sign",
                     base == 16  ? "hexadecimal"
                     : base == 8 ? "octal"
                                 : "binary");
    i += 2;
    if (!digit_run(s, len, &i, base, buf, &o, sizeof buf) || i != len)
      return fail_at(p, line, col, "invalid number `%.*s`", (int)len, s);
    errno = 0;
    unsigned long long u = strtoull(buf, NULL, base);
    if (errno || u > INT64_MAX)
      return fail_at(p, line, col, "integer `%.*s` does not fit in 64 bits", (int)len, s);
    v->type = ZH_TOML_INTEGER;
    v->u.integer = (int64_t)u;
    return true;
  }
  if (i >= len || !is_digit(s[i]))
    return fail_at(p, line, col, "invalid value `%.*s`", (int)len, s);
  if (neg)
    buf[o++] = '-';
  size_t int_start = i;
  if (!digit_run(s, len, &i, 10, buf, &o, sizeof buf))
    return fail_at(p, line, col, "invalid number `%.*s`", (int)len, s);
  if (s[int_start] == '0' && i - int_start > 1)
    return fail_at(p, line, col, "leading zero in `%.*s`", (int)len, s);
  bool is_float = false;
  if (i < len && s[i] == '.') {
    is_float = true;
    buf[o++] = s[i++];
    if (!digit_run(s, len, &i, 10, buf, &o, sizeof buf))
      return fail_at(p, line, col, "invalid number `%.*s`: a digit must follow the decimal point",
                     (int)len, s);
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    is_float = true;
    buf[o++] = s[i++];
    if (i < len && (s[i] == '+' || s[i] == '-'))
      buf[o++] = s[i++];
    if (!digit_run(s, len, &i, 10, buf, &o, sizeof buf))
      return fail_at(p, line, col, "invalid number `%.*s`: the exponent needs digits", (int)len, s);
  }
  if (i != len)
    return fail_at(p, line, col, "invalid value `%.*s`", (int)len, s);
  errno = 0;
  if (is_float) {
    v->type = ZH_TOML_FLOAT;
    v->u.flt = strtod(buf, NULL);
    if (errno == ERANGE && isinf(v->u.flt))
      return fail_at(p, line, col, "float `%.*s` is out of range", (int)len, s);
    return true;
  }
  long long n = strtoll(buf, NULL, 10);
  if (errno)
    return fail_at(p, line, col, "integer `%.*s` does not fit in 64 bits", (int)len, s);
  v->type = ZH_TOML_INTEGER;
  v->u.integer = n;
  return true;
}

static bool is_token(int c) { return is_bare(c) || c == '+' || c == '.' || c == ':'; }

/* A number, boolean or date/time: an unquoted token. A date followed by a space and a
 * time is one date-time. */
static bool scalar(parser *p, zh_toml_value *v) {
  size_t start = p->pos;
  uint32_t line = p->line, col = p->col;
  while (is_token(peek(p)))
    adv(p);
  if (p->pos - start == 10 && peek(p) == ' ' && is_digit(peek_at(p, 1)) &&
      is_digit(peek_at(p, 2)) && peek_at(p, 3) == ':' && p->s[start + 4] == '-') {
    adv(p);
    while (is_token(peek(p)))
      adv(p);
  }
  const char *s = p->s + start;
  size_t len = p->pos - start;
  if (len == 0) {
    int c = peek(p);
    if (c < 0 || at_newline(p))
      return fail(p, "expected a value, found the end of the line");
    if (c >= 0x20 && c < 0x7f)
      return fail(p, "expected a value, found `%c`", c);
    return fail(p, "expected a value");
  }
  if ((len == 4 && memcmp(s, "true", 4) == 0) || (len == 5 && memcmp(s, "false", 5) == 0)) {
    v->type = ZH_TOML_BOOL;
    v->u.boolean = len == 4;
    return true;
  }
  bool dateish = (len >= 5 && is_digit(s[0]) && s[4] == '-' && is_digit(s[3])) ||
                 (len >= 3 && is_digit(s[0]) && s[2] == ':');
  if (dateish) {
    zh_toml_datetime dt;
    int type = zh_toml_datetime_parse(s, len, &dt);
    if (type < 0)
      return fail_at(p, line, col, "invalid date or time `%.*s`", (int)(len > 64 ? 64 : len), s);
    v->type = (zh_toml_type)type;
    v->u.dt = dt;
    return true;
  }
  return number(p, line, col, s, len, v);
}

/* ---- values ---- */

static bool insert(parser *p, zh_toml_value *table, key *k, zh_toml_value *v, bool in_inline);
static zh_toml_value *value(parser *p, unsigned depth);

/* "an array", "a string", ... for messages. */
static const char *a_type(zh_toml_type t) {
  switch (t) {
  case ZH_TOML_ARRAY:
    return "an array";
  case ZH_TOML_INTEGER:
    return "an integer";
  case ZH_TOML_DATETIME:
    return "an offset date-time";
  case ZH_TOML_TABLE:
    return "an inline table";
  case ZH_TOML_STRING:
    return "a string";
  case ZH_TOML_FLOAT:
    return "a float";
  case ZH_TOML_BOOL:
    return "a boolean";
  case ZH_TOML_DATETIME_LOCAL:
    return "a local date-time";
  case ZH_TOML_DATE_LOCAL:
    return "a local date";
  case ZH_TOML_TIME_LOCAL:
    return "a local time";
  }
  return "a value";
}

static bool too_deep(parser *p, unsigned depth) {
  if (depth <= ZH_TOML_MAX_DEPTH)
    return false;
  return fail(p, "nesting deeper than %d levels", ZH_TOML_MAX_DEPTH), true;
}

static bool array(parser *p, zh_toml_value *arr) {
  adv(p); /* [ */
  arr->flags = ZH_TOML_F_STATIC;
  for (;;) {
    if (!skip_ws_nl(p))
      return false;
    if (peek(p) == ']') {
      adv(p);
      return true;
    }
    zh_toml_value *item = value(p, arr->depth + 1u);
    if (!item)
      return false;
    if (!zh_toml_array_push(arr, item)) {
      zh_toml_free(item);
      return oom(p);
    }
    if (!skip_ws_nl(p))
      return false;
    if (peek(p) == ',') {
      adv(p);
      continue;
    }
    if (peek(p) == ']') {
      adv(p);
      return true;
    }
    if (peek(p) < 0)
      return fail_at(p, arr->line, arr->col, "unterminated array");
    return fail(p, "expected `,` or `]` in an array");
  }
}

/* Marks every table inside an inline table as closed for good. */
static void freeze(zh_toml_value *t) {
  t->flags |= ZH_TOML_F_FROZEN;
  for (size_t i = 0; i < t->u.tab.len; i++) {
    zh_toml_value *c = t->u.tab.items[i].value;
    if (c->type == ZH_TOML_TABLE && !(c->flags & ZH_TOML_F_FROZEN))
      freeze(c);
  }
}

/* { k = v, ... } on one line, no trailing comma (TOML 1.0). */
static bool inline_table(parser *p, zh_toml_value *t) {
  adv(p); /* { */
  skip_ws(p);
  if (peek(p) == '}') {
    adv(p);
    freeze(t);
    return true;
  }
  key k;
  for (;;) {
    skip_ws(p);
    if (peek(p) == '}')
      return fail(p, "trailing comma in an inline table");
    if (at_newline(p))
      return fail(p, "newline in an inline table");
    if (!parse_key(p, &k)) {
      key_free(&k);
      return false;
    }
    if (peek(p) != '=') {
      key_free(&k);
      return fail(p, "expected `=` after a key");
    }
    adv(p);
    skip_ws(p);
    if (too_deep(p, t->depth + (unsigned)k.n)) {
      key_free(&k);
      return false;
    }
    zh_toml_value *v = value(p, t->depth + (unsigned)k.n);
    bool ok = v && insert(p, t, &k, v, true);
    key_free(&k);
    if (!ok)
      return false;
    skip_ws(p);
    if (peek(p) == ',') {
      adv(p);
      continue;
    }
    if (peek(p) == '}') {
      adv(p);
      freeze(t);
      return true;
    }
    if (at_newline(p))
      return fail(p, "newline in an inline table");
    if (peek(p) < 0)
      return fail_at(p, t->line, t->col, "unterminated inline table");
    return fail(p, "expected `,` or `}` in an inline table");
  }
}

/* A value at the cursor, to be placed at `depth`. NULL on error (p->err set). */
static zh_toml_value *value(parser *p, unsigned depth) {
  if (too_deep(p, depth))
    return NULL;
  int c = peek(p);
  zh_toml_type type = c == '"' || c == '\'' ? ZH_TOML_STRING
                      : c == '['            ? ZH_TOML_ARRAY
                      : c == '{'            ? ZH_TOML_TABLE
                                            : ZH_TOML_BOOL;
  zh_toml_value *v = zh_toml_value_new(type, p->line, p->col, depth);
  if (!v)
    return oom(p), NULL;
  bool ok;
  if (type == ZH_TOML_STRING) {
    buf b = {0};
    ok = string(p, &b, false);
    if (ok && !b.ptr)
      ok = buf_put(&b, "", 0) || oom(p);
    v->u.str.ptr = b.ptr;
    v->u.str.len = b.len;
  } else if (type == ZH_TOML_ARRAY) {
    ok = array(p, v);
  } else if (type == ZH_TOML_TABLE) {
    ok = inline_table(p, v);
  } else {
    ok = scalar(p, v);
  }
  if (!ok) {
    zh_toml_free(v);
    return NULL;
  }
  return v;
}

/* ---- placing keys ---- */

/* Takes ownership of the key's last part and of v in every case. */
static bool insert(parser *p, zh_toml_value *table, key *k, zh_toml_value *v, bool in_inline) {
  char name[160];
  if (k->n < 1) { /* parse_key never returns an empty key */
    zh_toml_free(v);
    return fail(p, "empty key");
  }
  zh_toml_value *t = table;
  for (int i = 0; i < k->n - 1; i++) {
    key_part *kp = &k->parts[i];
    zh_toml_entry *e = zh_toml_table_find(t, kp->ptr, kp->len);
    if (!e) {
      zh_toml_value *nt = zh_toml_value_new(ZH_TOML_TABLE, kp->line, kp->col, t->depth + 1u);
      if (!nt || !zh_toml_table_add(t, kp->ptr, kp->len, kp->line, kp->col, nt)) {
        free(nt);
        zh_toml_free(v);
        return oom(p);
      }
      nt->flags = ZH_TOML_F_DOTTED;
      kp->ptr = NULL; /* now owned by the table */
      t = nt;
      continue;
    }
    zh_toml_value *c = e->value;
    if (c->type != ZH_TOML_TABLE || !(c->flags & ZH_TOML_F_DOTTED) ||
        ((c->flags & ZH_TOML_F_FROZEN) && !in_inline)) {
      zh_toml_free(v);
      if (c->type != ZH_TOML_TABLE)
        return fail_at(p, kp->line, kp->col, "key `%s` is already defined as %s at %u:%u",
                       key_text(k, i + 1, name, sizeof name), a_type(c->type), c->line, c->col);
      return fail_at(p, kp->line, kp->col,
                     "cannot add to table `%s` with a dotted key: it is defined at %u:%u",
                     key_text(k, i + 1, name, sizeof name), c->line, c->col);
    }
    t = c;
  }
  key_part *last = &k->parts[k->n - 1];
  zh_toml_entry *e = zh_toml_table_find(t, last->ptr, last->len);
  if (e) {
    zh_toml_free(v);
    return fail_at(p, last->line, last->col, "duplicate key `%s` (first defined at %u:%u)",
                   key_text(k, k->n, name, sizeof name), e->line, e->col);
  }
  if (!zh_toml_table_add(t, last->ptr, last->len, last->line, last->col, v)) {
    zh_toml_free(v);
    return oom(p);
  }
  last->ptr = NULL;
  return true;
}

static bool keyval(parser *p) {
  key k;
  bool ok = false;
  if (!parse_key(p, &k))
    goto done;
  if (peek(p) != '=') {
    if (at_newline(p) || peek(p) < 0)
      fail(p, "expected `=` after key, found the end of the line");
    else
      fail(p, "expected `=` after a key");
    goto done;
  }
  adv(p);
  skip_ws(p);
  unsigned depth = p->cur->depth + (unsigned)k.n;
  if (too_deep(p, depth))
    goto done;
  zh_toml_value *v = value(p, depth);
  if (!v)
    goto done;
  ok = insert(p, p->cur, &k, v, false);
done:
  key_free(&k);
  return ok;
}

/* [a.b.c] or [[a.b.c]]: walk to the parent, creating implicit tables, then define. */
static bool header(parser *p) {
  bool aot = peek_at(p, 1) == '[';
  advn(p, aot ? 2 : 1);
  skip_ws(p);
  key k;
  bool ok = false;
  char name[160];
  if (!parse_key(p, &k))
    goto done;
  if (peek(p) != ']' || (aot && peek_at(p, 1) != ']')) {
    fail(p, aot ? "expected `]]` to close the array-of-tables header"
                : "expected `]` to close the table header");
    goto done;
  }
  advn(p, aot ? 2 : 1);
  zh_toml_value *t = p->root;
  for (int i = 0; i < k.n; i++) {
    key_part *kp = &k.parts[i];
    bool last = i == k.n - 1;
    zh_toml_entry *e = zh_toml_table_find(t, kp->ptr, kp->len);
    if (t->depth + 2u > ZH_TOML_MAX_DEPTH) {
      too_deep(p, t->depth + 2u);
      goto done;
    }
    zh_toml_value *c = e ? e->value : NULL;
    if (!c) {
      zh_toml_value *nv = zh_toml_value_new(last && aot ? ZH_TOML_ARRAY : ZH_TOML_TABLE, kp->line,
                                            kp->col, t->depth + 1u);
      if (!nv || !zh_toml_table_add(t, kp->ptr, kp->len, kp->line, kp->col, nv)) {
        free(nv);
        oom(p);
        goto done;
      }
      kp->ptr = NULL;
      if (!last) {
        nv->flags = ZH_TOML_F_IMPLICIT;
        t = nv;
        continue;
      }
      if (!aot) {
        nv->flags = ZH_TOML_F_DEFINED;
        p->cur = nv;
        break;
      }
      c = nv; /* a new array of tables: its first element follows */
    }
    if (last && aot) {
      if (c->type != ZH_TOML_ARRAY || (c->flags & ZH_TOML_F_STATIC)) {
        fail_at(p, kp->line, kp->col, "cannot define `%s` as an array of tables: it is %s at %u:%u",
                key_text(&k, k.n, name, sizeof name),
                c->type == ZH_TOML_ARRAY ? "an array" : "already defined", c->line, c->col);
        goto done;
      }
      zh_toml_value *el = zh_toml_value_new(ZH_TOML_TABLE, kp->line, kp->col, c->depth + 1u);
      if (!el || !zh_toml_array_push(c, el)) {
        free(el);
        oom(p);
        goto done;
      }
      el->flags = ZH_TOML_F_DEFINED;
      p->cur = el;
      break;
    }
    if (last) {
      if (c->type != ZH_TOML_TABLE || c->flags != ZH_TOML_F_IMPLICIT) {
        fail_at(p, kp->line, kp->col, "table `%s` is already defined at %u:%u",
                key_text(&k, k.n, name, sizeof name), c->line, c->col);
        goto done;
      }
      c->flags = ZH_TOML_F_DEFINED;
      c->line = kp->line;
      c->col = kp->col;
      p->cur = c;
      break;
    }
    if (c->type == ZH_TOML_ARRAY && !(c->flags & ZH_TOML_F_STATIC) && c->u.arr.len) {
      t = c->u.arr.items[c->u.arr.len - 1];
    } else if (c->type == ZH_TOML_TABLE && !(c->flags & ZH_TOML_F_FROZEN)) {
      t = c;
    } else {
      fail_at(p, kp->line, kp->col, "key `%s` is already defined as %s at %u:%u",
              key_text(&k, i + 1, name, sizeof name), a_type(c->type), c->line, c->col);
      goto done;
    }
  }
  ok = true;
done:
  key_free(&k);
  return ok;
}

/* ---- the document ---- */

/* Checks UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF); reports the first bad
 * byte's position. */
static bool check_utf8(parser *p) {
  const unsigned char *s = (const unsigned char *)p->s;
  size_t i = 0;
  uint32_t line = 1, col = 1;
  while (i < p->len) {
    unsigned c = s[i];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
      if (c == '\n') {
        line++;
        col = 0;
      }
      i++;
      col++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return fail_at(p, line, col, "invalid UTF-8");
    }
    if (p->len - i < n)
      return fail_at(p, line, col, "invalid UTF-8");
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return fail_at(p, line, col, "invalid UTF-8");
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return fail_at(p, line, col, "invalid UTF-8");
    i += n;
    col++;
  }
  return true;
}

static bool document(parser *p) {
  if (!check_utf8(p))
    return false;
  if (p->len >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0)
    p->pos = 3; /* a byte order mark is allowed and ignored; columns still count it */
  for (;;) {
    skip_ws(p);
    int c = peek(p);
    if (c < 0)
      return true;
    if (c == '#' || c == '\r' || c == '\n') {
      if (!end_of_line(p))
        return false;
      continue;
    }
    if (c == '[') {
      if (!header(p))
        return false;
    } else if (!keyval(p)) {
      return false;
    }
    if (!end_of_line(p))
      return false;
  }
}

zh_error *zh_toml_parse(const char *text, size_t len, const char *filename, zh_toml_value **out) {
  *out = NULL;
  parser p = {.s = text, .len = len, .line = 1, .col = 1, .file = filename ? filename : "<toml>"};
  p.root = zh_toml_value_new(ZH_TOML_TABLE, 1, 1, 0);
  if (!p.root)
    return zh_error_oom();
  p.root->flags = ZH_TOML_F_DEFINED;
  p.cur = p.root;
  if (!document(&p)) {
    zh_toml_free(p.root);
    return p.err ? p.err : zh_error_new(ZH_ERR_MALFORMED, "%s: parse failed", p.file);
  }
  *out = p.root;
  return NULL;
}
