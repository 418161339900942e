/* WIT lexer: the whole file becomes an array of tokens up front, so the parser can look
 * ahead freely (it needs three tokens to tell `import a:b/c` from `import a: b`).
 *
 * Columns count code points, 1-based. The text must be UTF-8 without control characters
 * (other than tab, newline, carriage return) or bidirectional overrides, comments included:
 * such characters can make a document read differently from how it parses. */
#include "wit/wit_internal.h"

#include <stdio.h>
#include <string.h>

typedef struct lexer {
  wit_arena *a;
  const char *file;
  const unsigned char *s;
  size_t len, i;
  uint32_t line, col;
  zh_error *err;
} lexer;

static const struct {
  const char *text;
  wit_tok_kind kind;
} k_keywords[] = {
    {"as", TK_AS},
    {"async", TK_ASYNC},
    {"bool", TK_BOOL},
    {"borrow", TK_BORROW},
    {"char", TK_CHAR},
    {"constructor", TK_CONSTRUCTOR},
    {"enum", TK_ENUM},
    {"export", TK_EXPORT},
    {"f32", TK_F32},
    {"f64", TK_F64},
    {"flags", TK_FLAGS},
    {"from", TK_FROM},
    {"func", TK_FUNC},
    {"future", TK_FUTURE},
    {"import", TK_IMPORT},
    {"include", TK_INCLUDE},
    {"interface", TK_INTERFACE},
    {"list", TK_LIST},
    {"map", TK_MAP},
    {"option", TK_OPTION},
    {"own", TK_OWN},
    {"package", TK_PACKAGE},
    {"record", TK_RECORD},
    {"resource", TK_RESOURCE},
    {"result", TK_RESULT},
    {"s16", TK_S16},
    {"s32", TK_S32},
    {"s64", TK_S64},
    {"s8", TK_S8},
    {"static", TK_STATIC},
    {"stream", TK_STREAM},
    {"string", TK_STRING_KW},
    {"tuple", TK_TUPLE},
    {"type", TK_TYPE},
    {"u16", TK_U16},
    {"u32", TK_U32},
    {"u64", TK_U64},
    {"u8", TK_U8},
    {"use", TK_USE},
    {"variant", TK_VARIANT},
    {"with", TK_WITH},
    {"world", TK_WORLD},
    {"float32", TK_FLOAT32},
    {"float64", TK_FLOAT64},
};

const char *wit_tok_name(wit_tok_kind kind) {
  static const char *const punct[] = {
      [TK_EOF] = "end of file", [TK_ID] = "an identifier",
      [TK_INT] = "an integer",  [TK_VERSION] = "a version",
      [TK_STRING] = "a string", [TK_ARROW] = "`->`",
      [TK_COLONCOLON] = "`::`", [TK_COLON] = "`:`",
      [TK_SEMI] = "`;`",        [TK_COMMA] = "`,`",
      [TK_DOT] = "`.`",         [TK_LBRACE] = "`{`",
      [TK_RBRACE] = "`}`",      [TK_LPAREN] = "`(`",
      [TK_RPAREN] = "`)`",      [TK_LT] = "`<`",
      [TK_GT] = "`>`",          [TK_EQ] = "`=`",
      [TK_AT] = "`@`",          [TK_SLASH] = "`/`",
      [TK_STAR] = "`*`",        [TK_UNDERSCORE] = "`_`",
  };
  if (kind < TK_KW_FIRST)
    return punct[kind];
  for (size_t i = 0; i < sizeof k_keywords / sizeof k_keywords[0]; i++)
    if (k_keywords[i].kind == kind)
      return k_keywords[i].text; /* the parser quotes keywords itself */
  return "a token";
}

static bool fail(lexer *lx, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail(lexer *lx, uint32_t line, uint32_t col, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  wit_pos pos = {lx->file, line, col};
  lx->err = wit_error(pos, "%s", msg);
  return false;
}

/* Decodes one UTF-8 scalar at s[i]; returns its length, 0 if malformed. */
static size_t utf8_decode(const unsigned char *s, size_t n, size_t i, uint32_t *cp) {
  unsigned char c = s[i];
  size_t len;
  uint32_t v, min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n - i < len)
    return 0;
  for (size_t k = 1; k < len; k++) {
    if ((s[i + k] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (s[i + k] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

static bool is_bidi(uint32_t cp) {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Advances over one character (any), checking it is allowed; false on error. */
static bool advance(lexer *lx) {
  uint32_t cp;
  size_t n = utf8_decode(lx->s, lx->len, lx->i, &cp);
  if (n == 0)
    return fail(lx, lx->line, lx->col, "invalid UTF-8");
  if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F ||
      (cp >= 0x80 && cp < 0xA0))
    return fail(lx, lx->line, lx->col, "control character U+%04X is not allowed", (unsigned)cp);
  if (is_bidi(cp))
    return fail(lx, lx->line, lx->col, "bidirectional override U+%04X is not allowed",
                (unsigned)cp);
  lx->i += n;
  if (cp == '\n') {
    lx->line++;
    lx->col = 1;
  } else {
    lx->col++;
  }
  return true;
}

static int peekc(const lexer *lx, size_t ahead) {
  return lx->i + ahead < lx->len ? lx->s[lx->i + ahead] : -1;
}

static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alnum(int c) { return is_alpha(c) || is_digit(c); }

/* Skips whitespace and comments (block comments nest). */
static bool skip_space(lexer *lx) {
  for (;;) {
    int c = peekc(lx, 0);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!advance(lx))
        return false;
    } else if (c == '/' && peekc(lx, 1) == '/') {
      while (lx->i < lx->len && peekc(lx, 0) != '\n')
        if (!advance(lx))
          return false;
    } else if (c == '/' && peekc(lx, 1) == '*') {
      uint32_t line = lx->line, col = lx->col;
      size_t depth = 0;
      do {
        if (lx->i >= lx->len)
          return fail(lx, line, col, "unterminated block comment");
        if (peekc(lx, 0) == '/' && peekc(lx, 1) == '*') {
          depth++;
          lx->i += 2, lx->col += 2;
        } else if (peekc(lx, 0) == '*' && peekc(lx, 1) == '/') {
          depth--;
          lx->i += 2, lx->col += 2;
        } else if (!advance(lx)) {
          return false;
        }
      } while (depth > 0);
    } else {
      return true;
    }
  }
}

/* Kebab-case: words of letters and digits separated by single '-', each word starting with
 * a letter and either all lowercase or all uppercase. */
static bool check_ident(lexer *lx, const wit_token *t, size_t start, size_t end) {
  const unsigned char *s = lx->s;
  size_t w = start;
  while (w <= end) {
    size_t e = w;
    while (e < end && s[e] != '-')
      e++;
    if (e == w)
      return fail(lx, t->line, t->col, "invalid identifier `%.*s`: empty word between `-`",
                  (int)(end - start), s + start);
    if (!is_alpha(s[w]))
      return fail(lx, t->line, t->col,
                  "invalid identifier `%.*s`: each word must start with a letter",
                  (int)(end - start), s + start);
    bool lower = false, upper = false;
    for (size_t k = w; k < e; k++) {
      lower |= s[k] >= 'a' && s[k] <= 'z';
      upper |= s[k] >= 'A' && s[k] <= 'Z';
    }
    if (lower && upper)
      return fail(lx, t->line, t->col,
                  "invalid identifier `%.*s`: a word must be all lowercase or all uppercase",
                  (int)(end - start), s + start);
    w = e + 1;
  }
  return true;
}

static bool lex_one(lexer *lx, wit_token *t) {
  if (!skip_space(lx))
    return false;
  t->off = (uint32_t)lx->i;
  t->line = lx->line;
  t->col = lx->col;
  if (lx->i >= lx->len) {
    t->kind = TK_EOF;
    t->len = 0;
    return true;
  }
  int c = peekc(lx, 0);
  size_t start = lx->i;
  if (is_alpha(c) || c == '%') {
    bool escaped = c == '%';
    if (escaped) {
      lx->i++, lx->col++;
      if (!is_alpha(peekc(lx, 0)))
        return fail(lx, t->line, t->col, "expected an identifier after `%%`");
    }
    size_t id0 = lx->i;
    while (is_alnum(peekc(lx, 0)) || peekc(lx, 0) == '-')
      lx->i++, lx->col++;
    t->len = (uint32_t)(lx->i - start);
    t->kind = TK_ID;
    if (!check_ident(lx, t, id0, lx->i))
      return false;
    if (!escaped) {
      for (size_t k = 0; k < sizeof k_keywords / sizeof k_keywords[0]; k++) {
        if (strlen(k_keywords[k].text) == t->len &&
            memcmp(k_keywords[k].text, lx->s + start, t->len) == 0) {
          t->kind = k_keywords[k].kind;
          break;
        }
      }
    }
    return true;
  }
  if (is_digit(c)) {
    while (is_digit(peekc(lx, 0)))
      lx->i++, lx->col++;
    t->kind = TK_INT;
    if (peekc(lx, 0) == '.' && is_digit(peekc(lx, 1))) {
      /* A version: take its characters; a '.' only when more of the version follows, so
       * that `@1.0.0.{a}` leaves `.{` to the parser. '-' not before '>' (`->`). */
      t->kind = TK_VERSION;
      for (;;) {
        int d = peekc(lx, 0);
        if (is_alnum(d) || d == '+' || (d == '-' && peekc(lx, 1) != '>') ||
            (d == '.' && (is_alnum(peekc(lx, 1)) || peekc(lx, 1) == '-')))
          lx->i++, lx->col++;
        else
          break;
      }
    }
    t->len = (uint32_t)(lx->i - start);
    return true;
  }
  if (c == '"') {
    if (!advance(lx))
      return false;
    for (;;) {
      int d = peekc(lx, 0);
      if (d < 0 || d == '\n')
        return fail(lx, t->line, t->col, "unterminated string");
      if (d == '\\' && peekc(lx, 1) >= 0 && peekc(lx, 1) != '\n' && !advance(lx))
        return false;
      if (!advance(lx))
        return false;
      if (d == '"')
        break;
    }
    t->kind = TK_STRING;
    t->len = (uint32_t)(lx->i - start);
    return true;
  }
  wit_tok_kind k;
  size_t n = 1;
  switch (c) {
  case '-':
    if (peekc(lx, 1) != '>')
      return fail(lx, t->line, t->col, "unexpected character `-`");
    k = TK_ARROW, n = 2;
    break;
  case ':':
    if (peekc(lx, 1) == ':')
      k = TK_COLONCOLON, n = 2;
    else
      k = TK_COLON;
    break;
  case ';':
    k = TK_SEMI;
    break;
  case ',':
    k = TK_COMMA;
    break;
  case '.':
    k = TK_DOT;
    break;
  case '{':
    k = TK_LBRACE;
    break;
  case '}':
    k = TK_RBRACE;
    break;
  case '(':
    k = TK_LPAREN;
    break;
  case ')':
    k = TK_RPAREN;
    break;
  case '<':
    k = TK_LT;
    break;
  case '>':
    k = TK_GT;
    break;
  case '=':
    k = TK_EQ;
    break;
  case '@':
    k = TK_AT;
    break;
  case '/':
    k = TK_SLASH;
    break;
  case '*':
    k = TK_STAR;
    break;
  case '_':
    k = TK_UNDERSCORE;
    break;
  default: {
    uint32_t cp;
    if (utf8_decode(lx->s, lx->len, lx->i, &cp) == 0)
      return fail(lx, t->line, t->col, "invalid UTF-8");
    if (cp >= 0x21 && cp < 0x7F)
      return fail(lx, t->line, t->col, "unexpected character `%c`", (char)cp);
    if (!advance(lx)) /* reports control characters and bidi overrides */
      return false;
    return fail(lx, t->line, t->col, "unexpected character U+%04X", (unsigned)cp);
  }
  }
  lx->i += n, lx->col += (uint32_t)n;
  t->kind = k;
  t->len = (uint32_t)n;
  return true;
}

zh_error *wit_lex(wit_arena *a, const char *file, const char *text, size_t len, wit_token **toks,
                  size_t *ntoks) {
  if (len > UINT32_MAX - 1)
    return zh_error_new(ZH_ERR_INVALID, "%s: file too large", file);
  lexer lx = {a, file, (const unsigned char *)text, len, 0, 1, 1, NULL};
  wit_token *out = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    void *items = out;
    if (!wit_grow(a, &items, &cap, n, sizeof *out))
      return wit_oom();
    out = items;
    wit_token *t = &out[n];
    if (!lex_one(&lx, t))
      return lx.err;
    n++;
    if (t->kind == TK_EOF)
      break;
  }
  *toks = out;
  *ntoks = n;
  return NULL;
}

/* Semantic versioning 2.0.0: MAJOR.MINOR.PATCH[-pre.release][+build.meta]. */
static bool numeric_part(const char *s, size_t n) {
  if (n == 0 || (n > 1 && s[0] == '0'))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_digit(s[i]))
      return false;
  return true;
}

static bool ident_parts(const char *s, size_t n, bool pre) {
  size_t w = 0;
  while (w <= n) {
    size_t e = w;
    while (e < n && s[e] != '.')
      e++;
    if (e == w)
      return false;
    bool all_digits = true;
    for (size_t k = w; k < e; k++) {
      if (!is_alnum(s[k]) && s[k] != '-')
        return false;
      all_digits &= is_digit(s[k]);
    }
    if (pre && all_digits && !numeric_part(s + w, e - w))
      return false;
    w = e + 1;
  }
  return true;
}

bool wit_semver_valid(const char *text, size_t len) {
  size_t core = 0;
  while (core < len && text[core] != '-' && text[core] != '+')
    core++;
  size_t w = 0;
  for (int part = 0; part < 3; part++) {
    size_t e = w;
    while (e < core && text[e] != '.')
      e++;
    if (!numeric_part(text + w, e - w) || (part < 2 && e >= core) || (part == 2 && e != core))
      return false;
    w = e + 1;
  }
  size_t i = core;
  if (i < len && text[i] == '-') {
    size_t e = i + 1;
    while (e < len && text[e] != '+')
      e++;
    if (!ident_parts(text + i + 1, e - i - 1, true))
      return false;
    i = e;
  }
  if (i < len && text[i] == '+' && !ident_parts(text + i + 1, len - i - 1, false))
    return false;
  return true;
}
