/* zh_oci_buf: a growing byte buffer whose first allocation failure is sticky, so that
 * writers (tar entries, JSON documents) append freely and check once. */
#include "oci/oci.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(zh_oci_buf *b, size_t more) {
  if (b->oom)
    return false;
  if (more <= b->cap - b->len)
    return true;
  if (more > SIZE_MAX / 2 - b->len) { /* doubling below must not wrap */
    b->oom = true;
    return false;
  }
  size_t cap = b->cap ? b->cap : 4096;
  while (cap - b->len < more)
    cap *= 2;
  unsigned char *d = realloc(b->data, cap);
  if (!d) {
    b->oom = true;
    return false;
  }
  b->data = d;
  b->cap = cap;
  return true;
}

void zh_oci_buf_add(zh_oci_buf *b, const void *data, size_t len) {
  if (len == 0 || !reserve(b, len))
    return;
  memcpy(b->data + b->len, data, len);
  b->len += len;
}

void zh_oci_buf_zeros(zh_oci_buf *b, size_t len) {
  if (len == 0 || !reserve(b, len))
    return;
  memset(b->data + b->len, 0, len);
  b->len += len;
}

void zh_oci_buf_str(zh_oci_buf *b, const char *s) { zh_oci_buf_add(b, s, strlen(s)); }

void zh_oci_buf_quoted(zh_oci_buf *b, const char *s) {
  zh_oci_buf_str(b, "\"");
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      zh_oci_buf_printf(b, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f)
      zh_oci_buf_printf(b, "\\u%04x", ch);
    else
      zh_oci_buf_add(b, s, 1);
  }
  zh_oci_buf_str(b, "\"");
}

void zh_oci_buf_printf(zh_oci_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !reserve(b, (size_t)n + 1)) {
    b->oom = b->oom || n < 0;
    return;
  }
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void zh_oci_buf_free(zh_oci_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

const char *zh_oci_clean(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (; in && *in && n + 1 < cap; in++) {
    out[n] = *in;
    if ((unsigned char)*in < 0x20 || *in == 0x7f)
      out[n] = '?';
    n++;
  }
  out[n] = '\0';
  if (in && *in && cap > 4)
    memcpy(out + cap - 4, "...", 4);
  return out;
}
