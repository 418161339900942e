/* The CGI response a WAGI guest writes on stdout (wagi.h), read the way Spin's
 * compose_response reads it.
 *
 * The head runs up to the first empty line: carriage returns are dropped there, so LF LF,
 * CRLF CRLF and any mix end it. Lines are "Name: value" (both trimmed); a line without a
 * colon is logged and skipped. A repeated name keeps its last value (Spin reads the head
 * into a map). Content-Type, Location and Status are what make it a response; an explicit
 * Status wins over Location's 302. The body is every byte after the empty line, untouched.
 */
#include "host/wagi.h"

#include "wasm/error.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char insufficient[] = "Exactly one of 'location' or 'content-type' must be specified";

void zh_wagi_response_free(zh_wagi_response *r) {
  if (r)
    zh_spin_headers_free(&r->headers);
}

static void logf_(zh_wagi_log_fn log, void *env, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(zh_wagi_log_fn log, void *env, const char *fmt, ...) {
  if (!log)
    return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  log(env, line);
}

/* Bytes of a UTF-8 White_Space character (what Rust's str::trim removes) at s, or 0. */
static size_t space_at(const unsigned char *in, size_t n) {
  unsigned char s[3] = {0}; /* zero past the end: no White_Space character has a 0 byte */
  memcpy(s, in, n < 3 ? n : 3);
  if (n >= 1 && (s[0] == ' ' || (s[0] >= 0x09 && s[0] <= 0x0d)))
    return 1;
  if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
    return 2;
  if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
    return 3;
  if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
      (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
    return 3;
  if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
    return 3;
  if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
    return 3;
  return 0;
}

/* Length of a White_Space character ending at s[n-1], or 0. */
static size_t space_before(const unsigned char *s, size_t n) {
  for (size_t k = 1; k <= 3 && k <= n; k++) {
    if (space_at(s + n - k, k) == k)
      return k;
  }
  return 0;
}

static void trim(const char **s, size_t *n) {
  const unsigned char *p = (const unsigned char *)*s;
  size_t len = *n, k;
  while (len > 0 && (k = space_at(p, len)) > 0) {
    p += k;
    len -= k;
  }
  while (len > 0 && (k = space_before(p, len)) > 0)
    len -= k;
  *s = (const char *)p;
  *n = len;
}

static bool utf8_valid(const unsigned char *s, size_t n, size_t *bad) {
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    size_t need = c < 0x80                 ? 1
                  : c >= 0xc2 && c <= 0xdf ? 2
                  : c >= 0xe0 && c <= 0xef ? 3
                  : c >= 0xf0 && c <= 0xf4 ? 4
                                           : 0;
    bool ok = need > 0 && i + need <= n;
    for (size_t k = 1; ok && k < need; k++) {
      unsigned char lo = 0x80, hi = 0xbf;
      if (k == 1 && c == 0xe0)
        lo = 0xa0;
      else if (k == 1 && c == 0xed)
        hi = 0x9f;
      else if (k == 1 && c == 0xf0)
        lo = 0x90;
      else if (k == 1 && c == 0xf4)
        hi = 0x8f;
      ok = s[i + k] >= lo && s[i + k] <= hi;
    }
    if (!ok) {
      *bad = i;
      return false;
    }
    i += need;
  }
  return true;
}

/* http::HeaderValue::from_str: no control bytes but tab, no DEL. */
static bool value_ok(const char *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return false;
  }
  return true;
}

/* http::HeaderName::from_lowercase: a non-empty token. */
static bool name_ok(const char *n, size_t len) {
  static const char tchar[] = "!#$%&'*+-.^_`|~";
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)n[i];
    if (!isdigit(c) && !(c >= 'a' && c <= 'z') && (c == '\0' || !strchr(tchar, c)))
      return false;
  }
  return true;
}

/* One parsed line of the head. */
typedef struct field {
  const char *name, *value;
  size_t name_len, value_len;
  size_t line;
} field;

/* Sets a response header (HeaderMap::insert: replaces, keeps the first place). */
static zh_error *set_header(zh_wagi_response *r, const char *name, size_t name_len,
                            const char *value, size_t value_len) {
  zh_spin_headers *h = &r->headers;
  for (size_t i = 0; i < h->count; i++) {
    if (h->items[i].name_len != name_len || memcmp(h->items[i].name, name, name_len) != 0)
      continue;
    return zh_spin_headers_set_value(h, i, value, value_len);
  }
  return zh_spin_headers_add(h, name, name_len, value, value_len, true);
}

/* "404 Not Found" -> 404; anything but three digits from 100 to 999 before the first space
 * is -1 (Spin answers 502 then). */
static int parse_status(const char *v, size_t n) {
  const char *sp = memchr(v, ' ', n);
  size_t len = sp ? (size_t)(sp - v) : n;
  if (len != 3 || v[0] < '1' || v[0] > '9' || !isdigit((unsigned char)v[1]) ||
      !isdigit((unsigned char)v[2]))
    return -1;
  return (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
}

/* The head's lines into fields, one per distinct name (the last value), in first order. */
static zh_error *split_head(const char *comp, const char *head, size_t len, zh_wagi_log_fn log,
                            void *log_env, field **out, size_t *nout) {
  const char *s = head;
  size_t n = len;
  trim(&s, &n);
  field *fields = NULL;
  size_t count = 0;
  size_t line = 1;
  for (const char *end = s + n; s <= end; line++) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *stop = nl ? nl : end;
    const char *colon = memchr(s, ':', (size_t)(stop - s));
    if (!colon) {
      logf_(log, log_env, "WAGI component \"%s\": corrupt header line %zu: %.*s", comp, line,
            (int)(stop - s > 80 ? 80 : stop - s), s);
    } else {
      field f = {s, colon + 1, (size_t)(colon - s), (size_t)(stop - colon - 1), line};
      trim(&f.name, &f.name_len);
      trim(&f.value, &f.value_len);
      size_t k = 0;
      while (k < count &&
             !(fields[k].name_len == f.name_len && memcmp(fields[k].name, f.name, f.name_len) == 0))
        k++;
      if (k == count) {
        field *grown = realloc(fields, (count + 1) * sizeof *grown);
        if (!grown) {
          free(fields);
          return zh_error_oom();
        }
        fields = grown;
        count++;
      }
      fields[k] = f;
    }
    if (!nl)
      break;
    s = nl + 1;
  }
  *out = fields;
  *nout = count;
  return NULL;
}

/* One field of the head: Status sets the code, the rest become response headers. */
static zh_error *apply_field(const char *comp, const field *f, const char *lower,
                             zh_wagi_log_fn log, void *log_env, zh_wagi_response *r,
                             bool *sufficient, int *status, bool *location) {
  size_t ln = f->name_len;
  if (strcmp(lower, "status") == 0) {
    *sufficient = true;
    *status = parse_status(f->value, f->value_len);
    if (*status < 0) {
      logf_(log, log_env, "WAGI component \"%s\": line %zu: bad Status \"%.*s\": answering 502",
            comp, f->line, (int)(f->value_len > 80 ? 80 : f->value_len), f->value);
      *status = 502;
    }
    return NULL;
  }
  if (!name_ok(lower, ln)) {
    logf_(log, log_env, "WAGI component \"%s\": line %zu: invalid header name \"%.*s\"", comp,
          f->line, (int)(ln > 80 ? 80 : ln), f->name);
    return NULL;
  }
  if (!value_ok(f->value, f->value_len))
    return zh_error_new(ZH_ERR_MALFORMED,
                        "WAGI component \"%s\": CGI response line %zu: the value of \"%s\" is "
                        "not a valid HTTP field value",
                        comp, f->line, lower);
  bool is_loc = strcmp(lower, "location") == 0;
  *sufficient = *sufficient || is_loc || strcmp(lower, "content-type") == 0;
  *location = *location || is_loc;
  return set_header(r, lower, ln, f->value, f->value_len);
}

static zh_error *apply_fields(const char *comp, const field *fields, size_t count,
                              zh_wagi_log_fn log, void *log_env, zh_wagi_response *r,
                              bool *sufficient) {
  int status = 0;
  bool location = false;
  for (size_t i = 0; i < count; i++) {
    const field *f = &fields[i];
    size_t ln = f->name_len;
    char *lower = malloc(ln + 1);
    if (!lower)
      return zh_error_oom();
    for (size_t k = 0; k < ln; k++)
      lower[k] = (char)tolower((unsigned char)f->name[k]);
    lower[ln] = '\0';
    zh_error *err = apply_field(comp, f, lower, log, log_env, r, sufficient, &status, &location);
    free(lower);
    if (err)
      return err;
  }
  r->status = status ? status : location ? 302 : 200;
  return NULL;
}
zh_error *zh_wagi_parse_response(const char *comp, const uint8_t *bytes, size_t len,
                                 zh_wagi_log_fn log, void *log_env, zh_wagi_response *out) {
  *out = (zh_wagi_response){0};
  if (len == 0)
    return zh_error_new(ZH_ERR_MALFORMED,
                        "The \"%s\" component is configured to use the WAGI executor but did not "
                        "write to stdout. Check the `executor` in spin.toml.",
                        comp);
  /* The head without its carriage returns, up to and with the first LF of the empty line. */
  char *head = malloc(len);
  if (!head)
    return zh_error_oom();
  size_t hlen = 0, body_at = len;
  unsigned char last = 0;
  bool split = false;
  for (size_t i = 0; i < len && !split; i++) {
    if (bytes[i] == '\r')
      continue;
    if (bytes[i] == '\n' && last == '\n') {
      body_at = i + 1;
      split = true;
      continue;
    }
    last = bytes[i];
    head[hlen++] = (char)bytes[i];
  }
  if (!split) /* no empty line: Spin's head is empty then, which is no response */
    hlen = 0;
  size_t bad = 0;
  if (!utf8_valid((const unsigned char *)head, hlen, &bad)) {
    free(head);
    return zh_error_new(ZH_ERR_MALFORMED,
                        "WAGI component \"%s\": the CGI response head is not UTF-8 (byte %zu)",
                        comp, bad);
  }
  field *fields = NULL;
  size_t count = 0;
  zh_error *err = split_head(comp, head, hlen, log, log_env, &fields, &count);
  bool sufficient = false;
  if (!err)
    err = apply_fields(comp, fields, count, log, log_env, out, &sufficient);
  free(fields);
  free(head);
  if (err) {
    zh_wagi_response_free(out);
    return err;
  }
  if (!sufficient) {
    logf_(log, log_env, "WAGI component \"%s\": %s", comp, insufficient);
    zh_spin_headers_free(&out->headers);
    out->status = 500;
    out->body = insufficient;
    out->body_len = sizeof insufficient - 1;
    return NULL;
  }
  out->body = (const char *)bytes + body_at;
  out->body_len = len - body_at;
  return NULL;
}
