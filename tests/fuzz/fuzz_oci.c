/* libFuzzer harness for the OCI parsers (src/oci): one input goes to the manifest/index
 * parser, the image config parser, the locked-app reader that `registry pull` runs on a
 * registry's config blob, the ustar reader and the image reference parser. Checks:
 *
 * - an error is one line; a parse error names the document (`fuzz.json`);
 * - a parsed manifest has a media type, a canonical sha256 digest and a size on every
 *   descriptor, a config exactly when it is not an index, and at most 4096 entries;
 * - the locked-app reader only ever asks for content by a canonical digest, at a path inside
 *   its directory (no `..` component), and writes nothing outside it;
 * - every tar entry lies inside the input;
 * - a parsed reference has a host, a repository of the allowed characters, and a tag or a
 *   canonical digest.
 * Build and run: `make fuzz-oci` (docs/FUZZING.md). */
#include "oci/oci.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(zh_error *err, const char *prefix) {
  const char *msg = zh_error_message(err);
  if (strchr(msg, '\n') || (prefix && strncmp(msg, prefix, strlen(prefix)) != 0))
    abort();
  zh_error_free(err);
}

static void check_descriptor(const zh_oci_descriptor *d) {
  if (!d->media_type || !d->digest || !zh_oci_digest_valid(d->digest))
    abort();
  if ((d->platform_os == NULL) != (d->platform_arch == NULL))
    abort();
}

static char dir[64];

static zh_error *put(void *ctx, const char *digest, const char *dest) {
  (void)ctx;
  size_t n = strlen(dir);
  if (!zh_oci_digest_valid(digest) || strncmp(dest, dir, n) != 0 || dest[n] != '/' ||
      strstr(dest + n, "/../") || strstr(dest + n, "/./") || strstr(dest + n, "//"))
    abort();
  const char *last = strrchr(dest, '/');
  if (!strcmp(last, "/..") || !strcmp(last, "/."))
    abort();
  return NULL; /* nothing written: the reader goes on as if the content were there */
}

typedef struct span {
  const uint8_t *lo, *hi;
} span;

static zh_error *entry(void *ctx, const char *name, const unsigned char *bytes, size_t len,
                       unsigned mode) {
  const span *s = ctx;
  (void)mode;
  if (strlen(name) > 256 || bytes < s->lo || bytes > s->hi || len > (size_t)(s->hi - bytes))
    abort();
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  zh_oci_manifest *m = NULL;
  zh_error *err = zh_oci_manifest_parse(data, size, "fuzz.json", &m);
  if (err) {
    one_line(err, "fuzz.json");
  } else {
    if (m->nentries > 4096 || (m->is_index && m->config.digest) ||
        (!m->is_index && !m->config.digest))
      abort();
    if (!m->is_index)
      check_descriptor(&m->config);
    for (size_t i = 0; i < m->nentries; i++)
      check_descriptor(&m->entries[i]);
    zh_oci_manifest_free(m);
  }
  zh_oci_config *c = NULL;
  err = zh_oci_config_parse(data, size, "fuzz.json", &c);
  if (err) {
    one_line(err, "fuzz.json");
  } else {
    if (!c->os || !c->architecture)
      abort();
    for (size_t i = 0; i < c->ndiff_ids; i++)
      if (!zh_oci_digest_valid(c->diff_ids[i]))
        abort();
    zh_oci_config_free(c);
  }
  if (!dir[0])
    snprintf(dir, sizeof dir, "/tmp/zh-fuzz-oci-%d", (int)getpid());
  err = zh_oci_locked_materialise(data, size, "fuzz.json", dir, put, NULL);
  if (err)
    one_line(err, NULL);
  span s = {data, data + size};
  err = zh_oci_tar_each(data, size, "fuzz.tar", entry, &s);
  if (err)
    one_line(err, "fuzz.tar");
  if (size < 512) {
    char text[512];
    memcpy(text, data, size);
    text[size] = '\0';
    zh_oci_ref *r = NULL;
    err = zh_oci_ref_parse(text, &r);
    if (err) {
      one_line(err, NULL);
    } else {
      if (!r->host[0] || !r->repo[0] || (!r->tag && !r->digest) ||
          (r->digest && !zh_oci_digest_valid(r->digest)) ||
          strspn(r->repo, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != strlen(r->repo))
        abort();
      zh_oci_ref_free(r);
    }
  }
  return 0;
}
