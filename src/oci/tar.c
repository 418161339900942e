/* ustar archives: the writer for image layers and layouts, the reader for layers pulled back.
 *
 * Only what images need: regular files and directories, names in the 100-byte field or split
 * at a slash into the 155-byte prefix, numbers in octal. Entries carry mtime 0 and owner 0, so
 * an app packs to the same bytes (and digests) every time. The reader trusts nothing: every
 * header's checksum and size are checked against what is left of the input. */
#include "oci/oci.h"
#include "wasm/error.h"

#include <stdio.h>
#include <string.h>

#define BLOCK 512

/* Field bytes: ustar fields are not NUL-terminated when full. */
static void put(unsigned char *field, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    field[i] = (unsigned char)s[i];
}

static void octal(char *field, size_t width, uint64_t v) {
  /* width - 1 digits and a NUL, as ustar writers usually do */
  snprintf(field, width, "%0*llo", (int)(width - 1), (unsigned long long)v);
}

static zh_error *header(zh_oci_buf *tar, const char *name, uint64_t size, unsigned mode,
                        char type) {
  unsigned char h[BLOCK];
  memset(h, 0, sizeof h);
  size_t n = strlen(name);
  if (n <= 100) {
    put(h, name, n);
  } else {
    /* split at the last slash that leaves at most 100 bytes for the name */
    const char *split = NULL;
    for (const char *p = name; *p; p++)
      if (*p == '/' && (size_t)(p - name) <= 155 && n - (size_t)(p - name) - 1 <= 100)
        split = p;
    char shown[120];
    if (!split || split == name)
      return zh_error_new(ZH_ERR_RESOURCE, "tar: the name `%s` is too long for ustar",
                          zh_oci_clean(name, shown, sizeof shown));
    put(h + 345, name, (size_t)(split - name));
    put(h, split + 1, n - (size_t)(split - name) - 1);
  }
  octal((char *)h + 100, 8, mode & 07777);
  octal((char *)h + 108, 8, 0);
  octal((char *)h + 116, 8, 0);
  octal((char *)h + 124, 12, size);
  octal((char *)h + 136, 12, 0);
  h[156] = (unsigned char)type;
  put(h + 257, "ustar", 6); /* magic "ustar\0", version "00" */
  put(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < BLOCK; i++)
    sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
  h[155] = ' ';
  zh_oci_buf_add(tar, h, sizeof h);
  return NULL;
}

zh_error *zh_oci_tar_file(zh_oci_buf *tar, const char *name, const void *data, size_t len,
                          unsigned mode) {
  zh_error *err = header(tar, name, len, mode, '0');
  if (err)
    return err;
  zh_oci_buf_add(tar, data, len);
  zh_oci_buf_zeros(tar, (BLOCK - len % BLOCK) % BLOCK);
  return NULL;
}

zh_error *zh_oci_tar_dir(zh_oci_buf *tar, const char *name) {
  return header(tar, name, 0, 0755, '5');
}

void zh_oci_tar_end(zh_oci_buf *tar) { zh_oci_buf_zeros(tar, (size_t)2 * BLOCK); }

/* An octal field: digits, then spaces or NULs; false if anything else or it overflows. */
static bool read_octal(const unsigned char *f, size_t width, uint64_t *out) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < width && f[i] == ' ')
    i++;
  for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
    if (v > (UINT64_MAX >> 3))
      return false;
    v = v * 8 + (uint64_t)(f[i] - '0');
  }
  for (; i < width; i++)
    if (f[i] != ' ' && f[i] != '\0')
      return false;
  *out = v;
  return true;
}

static bool all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return false;
  return true;
}

zh_error *zh_oci_tar_each(const unsigned char *tar, size_t len, const char *what, zh_oci_tar_fn fn,
                          void *ctx) {
  size_t off = 0;
  while (off + BLOCK <= len) {
    const unsigned char *h = tar + off;
    if (all_zero(h, BLOCK))
      return NULL; /* the end marker */
    uint64_t size = 0, sum = 0, mode = 0;
    if (!read_octal(h + 124, 12, &size) || !read_octal(h + 148, 8, &sum) ||
        !read_octal(h + 100, 8, &mode))
      return zh_error_new(ZH_ERR_MALFORMED, "%s: tar header at byte %zu: bad number field", what,
                          off);
    unsigned got = 0;
    for (size_t i = 0; i < BLOCK; i++)
      got += (i >= 148 && i < 156) ? ' ' : h[i];
    if (got != sum)
      return zh_error_new(ZH_ERR_MALFORMED, "%s: tar header at byte %zu: bad checksum", what, off);
    uint64_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;
    if (size > len - off - BLOCK || padded > len - off - BLOCK)
      return zh_error_new(ZH_ERR_MALFORMED,
                          "%s: tar entry at byte %zu: its %llu bytes run past the end", what, off,
                          (unsigned long long)size);
    char name[100 + 155 + 2];
    size_t plen = strnlen((const char *)h + 345, 155), nlen = strnlen((const char *)h, 100);
    size_t k = 0;
    if (plen && memcmp(h + 257, "ustar", 5) == 0) {
      memcpy(name, h + 345, plen);
      k = plen;
      name[k++] = '/';
    }
    memcpy(name + k, h, nlen);
    name[k + nlen] = '\0';
    char type = (char)h[156], shown[120];
    if (type == '0' || type == '\0') {
      zh_error *err = fn(ctx, name, h + BLOCK, (size_t)size, (unsigned)mode);
      if (err) /* the callback's error, which never points into `name` */
        // cppcheck-suppress returnDanglingLifetime
        return err;
    } else if (type != '5') {
      return zh_error_new(ZH_ERR_MALFORMED,
                          "%s: tar entry `%s` at byte %zu: type '%c' (only files and directories)",
                          what, zh_oci_clean(name, shown, sizeof shown), off,
                          type >= 32 && type < 127 ? type : '?');
    }
    off += BLOCK + (size_t)padded;
  }
  if (off == len)
    return NULL;
  return zh_error_new(ZH_ERR_MALFORMED, "%s: tar truncated at byte %zu", what, off);
}
