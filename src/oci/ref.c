/* Image references: HOST[:PORT]/REPO[:TAG][@sha256:HEX], checked against the distribution
 * spec's grammar closely enough that nothing odd reaches a URL: the repository is lowercase
 * alphanumerics with `.`, `_`, `-` separators and `/`, a tag at most 128 word characters. */
#include "oci/oci.h"
#include "wasm/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool host_like(const char *s, size_t n) {
  if (n == 9 && strncmp(s, "localhost", 9) == 0)
    return true;
  return memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL;
}

bool zh_oci_ref_looks_like(const char *text) {
  const char *slash = strchr(text, '/');
  return slash && slash != text && host_like(text, (size_t)(slash - text)) && text[0] != '.';
}

static bool host_ok(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr(".-:[]", *s))
      return false;
  return true;
}

static bool repo_ok(const char *s) {
  if (!*s)
    return false;
  char last = s[strlen(s) - 1];
  if (!((last >= 'a' && last <= 'z') || (last >= '0' && last <= '9')))
    return false; /* and the loop below requires an alphanumeric before each separator */
  char prev = '/';
  for (; *s; prev = *s, s++) {
    bool alnum = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9');
    if (alnum)
      continue;
    if (!strchr("._-/", *s) || !((prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9')))
      return false; /* separators only between alphanumerics */
  }
  return true;
}

static bool tag_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
      return false;
  return true;
}

zh_error *zh_oci_ref_parse(const char *raw, zh_oci_ref **out) {
  *out = NULL;
  char text[300]; /* the reference as messages show it */
  zh_oci_clean(raw, text, sizeof text);
  for (const char *p = raw; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f)
      return zh_error_new(ZH_ERR_USAGE, "`%s`: a reference has no spaces or control characters",
                          text);
  const char *slash = strchr(raw, '/');
  if (!slash || !host_like(raw, (size_t)(slash - raw)))
    return zh_error_new(ZH_ERR_USAGE,
                        "`%s`: a reference names its registry, e.g. 127.0.0.1:5000/app:1.0", text);
  zh_oci_ref *r = calloc(1, sizeof *r);
  char *rest = strdup(slash + 1);
  if (!r || !rest || !(r->host = strndup(raw, (size_t)(slash - raw)))) {
    free(rest);
    zh_oci_ref_free(r);
    return zh_error_oom();
  }
  zh_error *err = NULL;
  char *at = strchr(rest, '@');
  if (at) {
    *at = '\0';
    if (!zh_oci_digest_valid(at + 1))
      err = zh_error_new(ZH_ERR_USAGE,
                         "`%s`: the digest must be sha256: and 64 lowercase hex digits", text);
    else if (!(r->digest = strdup(at + 1)))
      err = zh_error_oom();
  }
  char *colon = strrchr(rest, ':');
  if (!err && colon && !strchr(colon, '/')) {
    *colon = '\0';
    if (!tag_ok(colon + 1))
      err = zh_error_new(ZH_ERR_USAGE, "`%s`: bad tag `%s`", text, colon + 1);
    else if (!(r->tag = strdup(colon + 1)))
      err = zh_error_oom();
  }
  if (!err && !r->tag && !r->digest && !(r->tag = strdup("latest")))
    err = zh_error_oom();
  if (!err && !host_ok(r->host))
    err = zh_error_new(ZH_ERR_USAGE, "`%s`: bad registry host `%s`", text, r->host);
  if (!err && !repo_ok(rest))
    err = zh_error_new(ZH_ERR_USAGE,
                       "`%s`: bad repository `%s` (lowercase letters, digits and . _ - / between "
                       "them)",
                       text, rest);
  if (!err) {
    r->repo = rest;
    rest = NULL;
  }
  free(rest);
  if (err) {
    zh_oci_ref_free(r);
    return err;
  }
  *out = r;
  return NULL;
}

void zh_oci_ref_free(zh_oci_ref *r) {
  if (!r)
    return;
  free(r->host);
  free(r->repo);
  free(r->tag);
  free(r->digest);
  free(r);
}
