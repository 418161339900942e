/* `zerohop registry push`: an app as a Spin OCI artefact. One wasm layer per distinct
 * component source, one data layer per distinct static file (both deduplicated by digest),
 * the locked app as the config, an OCI image manifest tying them together; blobs the registry
 * already has are not sent again. */
#include "host/manifest.h"
#include "oci/oci.h"
#include "wasm/error.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct pblob {
  char digest[ZH_OCI_DIGEST_LEN];
  const char *media_type;
  unsigned char *data;
  size_t len;
  char *title;
} pblob;

typedef struct hostfile {
  char *host;
  char digest[ZH_OCI_DIGEST_LEN];
} hostfile;

typedef struct pushctx {
  const zh_manifest *m;
  pblob *blobs;
  size_t nblobs;
  hostfile *hosts;
  size_t nhosts;
  zh_oci_locked_file *files; /* of the component being listed */
  size_t nfiles, capfiles;
  zh_error *err;
} pushctx;

/* Reads `host`, notes its digest and adds it as a layer unless one has those bytes. */
static zh_error *add_content(pushctx *p, const char *host, const char *media_type,
                             const char *title) {
  for (size_t i = 0; i < p->nhosts; i++)
    if (!strcmp(p->hosts[i].host, host))
      return NULL;
  zh_oci_buf file;
  zh_error *err = zh_oci_read_file(host, &file);
  unsigned char *data = file.data;
  size_t len = file.len;
  if (err)
    return err;
  hostfile *hs = realloc(p->hosts, (p->nhosts + 1) * sizeof *hs);
  if (!hs) {
    free(data);
    return zh_error_oom();
  }
  p->hosts = hs;
  hostfile *h = &p->hosts[p->nhosts];
  if (!(h->host = strdup(host)) || (err = zh_oci_digest(data, len, h->digest))) {
    free(h->host);
    free(data);
    return err ? err : zh_error_oom();
  }
  p->nhosts++;
  for (size_t i = 0; i < p->nblobs; i++)
    if (!strcmp(p->blobs[i].digest, h->digest)) {
      free(data);
      return NULL;
    }
  pblob *bs = realloc(p->blobs, (p->nblobs + 1) * sizeof *bs);
  if (!bs) {
    free(data);
    return zh_error_oom();
  }
  p->blobs = bs;
  pblob *b = &p->blobs[p->nblobs++];
  memcpy(b->digest, h->digest, ZH_OCI_DIGEST_LEN);
  b->media_type = media_type;
  b->data = data;
  b->len = len;
  b->title = title ? strdup(title) : NULL;
  return NULL;
}

static const char *digest_of(void *ctx, const char *host) {
  pushctx *p = ctx;
  for (size_t i = 0; i < p->nhosts; i++)
    if (!strcmp(p->hosts[i].host, host))
      return p->hosts[i].digest;
  return NULL;
}

/* One file of a component's `files` (zh_oci_walk). */
static zh_error *note_file(void *ctx, const char *host, const char *guest) {
  pushctx *p = ctx;
  if (p->nfiles == p->capfiles) {
    size_t cap = p->capfiles ? 2 * p->capfiles : 16;
    zh_oci_locked_file *f = realloc(p->files, cap * sizeof *f);
    if (!f)
      return zh_error_oom();
    p->files = f;
    p->capfiles = cap;
  }
  char *h = strdup(host), *g = strdup(guest[0] == '/' ? guest + 1 : guest);
  if (!h || !g) {
    free(h);
    free(g);
    return zh_error_oom();
  }
  p->files[p->nfiles].host = h;
  p->files[p->nfiles].guest = g;
  p->nfiles++;
  return add_content(p, host, ZH_OCI_MT_DATA_LAYER, g);
}

static void clear_files(pushctx *p) {
  for (size_t i = 0; i < p->nfiles; i++) {
    free((char *)p->files[i].host);
    free((char *)p->files[i].guest);
  }
  p->nfiles = 0;
}

/* A file, or every file under a directory, with guest paths below `guest`. */
static zh_error *on_file(void *ctx, const char *host, const char *guest) {
  return zh_oci_walk(host, guest, note_file, ctx);
}

static zh_error *files_of(void *ctx, size_t component, zh_oci_locked_file **files, size_t *n) {
  pushctx *p = ctx;
  clear_files(p);
  zh_error *err = zh_manifest_expand_files(p->m, &p->m->components[component], on_file, p);
  *files = p->files;
  *n = p->nfiles;
  return err;
}

static json_t *blob_descriptor(const char *media_type, const char *digest, size_t len,
                               const char *title) {
  json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
                        (json_int_t)len);
  if (d && title)
    json_object_set_new(d, "annotations",
                        json_pack("{s:s}", "org.opencontainers.image.title", title));
  return d;
}

static zh_error *upload(zh_oci_client *c, const char *digest, const void *data, size_t len) {
  bool have = false;
  zh_error *err = zh_oci_blob_exists(c, digest, &have);
  if (!err && !have)
    err = zh_oci_blob_put(c, digest, data, len);
  return err;
}

zh_error *zh_oci_push(const char *manifest_path, const zh_oci_ref *ref,
                      const zh_oci_client_options *opt, char digest[ZH_OCI_DIGEST_LEN]) {
  zh_manifest *m = NULL;
  zh_error *err = zh_manifest_load(manifest_path, &m);
  if (err)
    return err;
  pushctx p = {.m = m};
  char *locked = NULL, *man = NULL;
  zh_oci_client *client = NULL;
  for (size_t i = 0; !err && i < m->ncomponents; i++) {
    const zh_manifest_component *c = &m->components[i];
    if (c->source_kind != ZH_MANIFEST_SOURCE_PATH)
      err = zh_error_new(ZH_ERR_INVALID,
                         "component `%s`: a `source = { url, digest }` component cannot be pushed "
                         "yet",
                         c->id);
    else {
      const char *slash = strrchr(c->source, '/');
      err = zh_error_prefix(
          add_content(&p, c->source, ZH_OCI_MT_WASM_LAYER, slash ? slash + 1 : c->source),
          "component `%s`", c->id);
    }
  }
  if (!err)
    err = zh_oci_locked_build(m, digest_of, files_of, &p, &locked);
  char cdigest[ZH_OCI_DIGEST_LEN];
  if (!err)
    err = zh_oci_digest(locked, strlen(locked), cdigest);
  if (!err) {
    json_t *layers = json_array();
    for (size_t i = 0; layers && i < p.nblobs; i++)
      json_array_append_new(layers, blob_descriptor(p.blobs[i].media_type, p.blobs[i].digest,
                                                    p.blobs[i].len, p.blobs[i].title));
    json_t *doc = json_pack(
        "{s:i, s:s, s:o, s:o, s:{s:s, s:s}}", "schemaVersion", 2, "mediaType", ZH_OCI_MT_MANIFEST,
        "config", blob_descriptor(ZH_OCI_MT_SPIN_CONFIG, cdigest, strlen(locked), NULL), "layers",
        layers, "annotations", "org.opencontainers.image.title", m->name ? m->name : "app",
        "org.opencontainers.image.version", m->version ? m->version : "");
    man = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!man)
      err = zh_error_oom();
  }
  if (!err)
    err = zh_oci_digest(man, strlen(man), digest);
  if (!err)
    err = zh_oci_client_new(ref, opt, &client);
  for (size_t i = 0; !err && i < p.nblobs; i++)
    err = upload(client, p.blobs[i].digest, p.blobs[i].data, p.blobs[i].len);
  if (!err)
    err = upload(client, cdigest, locked, strlen(locked));
  if (!err)
    err = zh_oci_manifest_put(client, ref->tag ? ref->tag : ref->digest, ZH_OCI_MT_MANIFEST, man,
                              strlen(man));
  if (!err && ref->digest && strcmp(ref->digest, digest) != 0)
    err = zh_error_new(ZH_ERR_INVALID, "pushed manifest %s, but the reference names %s", digest,
                       ref->digest);
  zh_oci_client_free(client);
  clear_files(&p);
  free(p.files);
  for (size_t i = 0; i < p.nblobs; i++) {
    free(p.blobs[i].data);
    free(p.blobs[i].title);
  }
  free(p.blobs);
  for (size_t i = 0; i < p.nhosts; i++)
    free(p.hosts[i].host);
  free(p.hosts);
  free(locked);
  free(man);
  zh_manifest_free(m);
  return err;
}
