/* `zerohop registry pull` and `zerohop up --from`: a Spin OCI artefact into the content cache,
 * then into a directory `zerohop up` runs.
 *
 * The cache holds blobs by digest (CACHE/blobs/sha256/HEX, written to a temporary name and
 * renamed, so a file there is whole) and materialised apps by manifest digest
 * (CACHE/apps/HEX/, complete once its spin.toml exists: that is written last). Every blob is
 * verified against its digest when fetched and again when read from the cache, so a corrupt
 * cache entry is fetched anew and a corrupt registry blob is refused with its digest named.
 * Contents reach the app directory as hard links to the cached blobs when the file system
 * allows (copies otherwise): a later edit of such a file changes the blob, which its next
 * read then finds corrupt and fetches again, under a new inode. */
#include "oci/oci.h"
#include "wasm/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct pullctx {
  zh_oci_client *client;
  const char *cache;
  const zh_oci_manifest *manifest;
  bool link; /* hard-link contents from the cache instead of copying them */
} pullctx;

char *zh_oci_cache_dir(void) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char *s = NULL;
  int n = xdg && *xdg ? asprintf(&s, "%s/zerohop", xdg)
                      : asprintf(&s, "%s/.cache/zerohop", home && *home ? home : "/tmp");
  return n < 0 ? NULL : s;
}

static zh_error *mkdir_p(const char *path) {
  char *p = path ? strdup(path) : NULL;
  if (!p)
    return zh_error_oom();
  zh_error *err = NULL;
  for (char *s = p + 1;; s++) {
    char saved = *s;
    if (saved != '/' && saved != '\0')
      continue;
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
      err = zh_error_new(ZH_ERR_IO, "%s: %s", p, strerror(errno));
    *s = saved;
    if (err || saved == '\0')
      break;
  }
  free(p);
  return err;
}

/* The blob's bytes: from the cache when there and intact, else from the registry (verified)
 * and then cached. */
static zh_error *blob(pullctx *p, const char *digest, uint64_t size, zh_oci_buf *out) {
  char *path = NULL;
  if (asprintf(&path, "%s/blobs/sha256/%s", p->cache, digest + 7) < 0)
    return zh_error_oom();
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (f) {
    unsigned char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
      zh_oci_buf_add(out, chunk, n);
    fclose(f);
    char got[ZH_OCI_DIGEST_LEN];
    if (!out->oom && !zh_oci_digest(out->data ? (void *)out->data : "", out->len, got) &&
        !strcmp(got, digest) && (size == UINT64_MAX || out->len == size)) {
      free(path);
      return NULL;
    }
    zh_oci_buf_free(out); /* damaged in the cache: fetch it again */
  }
  zh_error *err = zh_oci_blob_get(p->client, digest, size, out);
  if (!err)
    err = zh_oci_write_file(path, out->data ? (void *)out->data : "", out->len);
  if (err)
    zh_oci_buf_free(out);
  free(path);
  return err;
}

/* zh_oci_content_fn: a layer named by the locked app, written to `dest`. */
static zh_error *put(void *ctx, const char *digest, const char *dest) {
  pullctx *p = ctx;
  const zh_oci_descriptor *d = NULL;
  for (size_t i = 0; i < p->manifest->nentries && !d; i++)
    if (!strcmp(p->manifest->entries[i].digest, digest))
      d = &p->manifest->entries[i];
  if (!d)
    return zh_error_new(ZH_ERR_INVALID, "the locked app names %s, which is not a layer", digest);
  zh_oci_buf b;
  zh_error *err = blob(p, digest, d->size, &b);
  char *cached = NULL;
  if (!err && p->link && asprintf(&cached, "%s/blobs/sha256/%s", p->cache, digest + 7) >= 0 &&
      link(cached, dest) == 0) {
    free(cached);
    zh_oci_buf_free(&b);
    return NULL; /* blob() just verified the cached copy */
  }
  free(cached);
  if (!err)
    err = zh_oci_write_file(dest, b.data ? (void *)b.data : "", b.len);
  zh_oci_buf_free(&b);
  return err;
}

zh_error *zh_oci_pull(const zh_oci_ref *ref, const zh_oci_client_options *opt,
                      const char *cache_dir, const char *dir, char **app_dir) {
  *app_dir = NULL;
  pullctx p = {NULL, cache_dir, NULL, true};
  zh_oci_buf raw = {0}, cfg = {0};
  zh_oci_manifest *m = NULL;
  char digest[ZH_OCI_DIGEST_LEN];
  char *blobs = NULL, *target = NULL, *what = NULL;
  zh_error *err = zh_oci_client_new(ref, opt, &p.client);
  if (!err && asprintf(&blobs, "%s/blobs/sha256", cache_dir) < 0)
    err = zh_error_oom();
  if (!err)
    err = mkdir_p(blobs);
  if (!err)
    err = zh_oci_manifest_get(p.client, ref->digest ? ref->digest : ref->tag, &raw, digest);
  if (!err && asprintf(&what, "manifest %s", digest) < 0)
    err = zh_error_oom();
  if (!err)
    err = zh_oci_manifest_parse(raw.data, raw.len, what, &m);
  if (!err && m->is_index)
    err = zh_error_new(ZH_ERR_INVALID,
                       "%s/%s: an image index, not a Spin app (push one with `zerohop registry "
                       "push`)",
                       ref->host, ref->repo);
  if (!err && strcmp(m->config.media_type, ZH_OCI_MT_SPIN_CONFIG) != 0)
    err = zh_error_new(ZH_ERR_INVALID, "%s/%s: not a Spin app: its config is `%s`, not `%s`",
                       ref->host, ref->repo, m->config.media_type, ZH_OCI_MT_SPIN_CONFIG);
  p.manifest = m;
  if (!err)
    err = blob(&p, m->config.digest, m->config.size, &cfg);
  if (!err) {
    if (dir)
      target = strdup(dir);
    else if (asprintf(&target, "%s/apps/%s", cache_dir, digest + 7) < 0)
      target = NULL;
    if (!target)
      err = zh_error_oom();
  }
  if (!err)
    err = mkdir_p(target);
  if (!err) {
    char *toml = NULL;
    struct stat st;
    bool done = !dir && asprintf(&toml, "%s/spin.toml", target) >= 0 && stat(toml, &st) == 0;
    free(toml);
    free(what);
    what = NULL;
    if (!done && asprintf(&what, "config %s (the locked app)", m->config.digest) < 0)
      err = zh_error_oom();
    else if (!done)
      err = zh_oci_locked_materialise(cfg.data, cfg.len, what, target, put, &p);
  }
  if (!err) {
    *app_dir = target;
    target = NULL;
  }
  zh_oci_manifest_free(m);
  zh_oci_buf_free(&raw);
  zh_oci_buf_free(&cfg);
  zh_oci_client_free(p.client);
  free(blobs);
  free(target);
  free(what);
  return err;
}
