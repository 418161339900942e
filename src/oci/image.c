/* `zerohop image build`: an app as an OCI image layout in a tar, written without a daemon.
 *
 * One layer, gzipped (application/vnd.oci.image.layer.v1.tar+gzip: the manifest gives the
 * compressed blob's digest, the config's diff_id the tar's), or with `uncompressed` a plain
 * tar (application/vnd.oci.image.layer.v1.tar, whose diff_id is its digest); a config, a
 * manifest and an index.json naming the image, in the layout that
 * `ctr images import` and skopeo's oci-archive: read. The wasm image is FROM scratch with the
 * packaged app at / and platform wasip1/wasm, the shape runwasi shims accept; the plain image
 * holds the zerohop executable at /usr/bin/zerohop with the shared objects it loads at their
 * own paths and the app under /app, and starts `zerohop up`. Tar entries have mtime 0 and the
 * config no creation time, so the same app gives the same digests. */
#include "oci/oci.h"
#include "wasm/error.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* zlib's default level: the plain image's 40 MB tar takes about a second, and level 9 saves
 * little more on shared objects. */
#define Z_LEVEL 6

typedef struct dirs {
  char **items;
  size_t n;
} dirs;

static bool seen_dir(dirs *d, const char *path, size_t len, bool *oom) {
  for (size_t i = 0; i < d->n; i++)
    if (strlen(d->items[i]) == len && strncmp(d->items[i], path, len) == 0)
      return true;
  char **items = realloc(d->items, (d->n + 1) * sizeof *items);
  char *s = strndup(path, len);
  if (!items || !s) {
    free(s);
    if (items)
      d->items = items;
    *oom = true;
    return true;
  }
  d->items = items;
  d->items[d->n++] = s;
  return false;
}

/* The parent directories of `path` that the layer has not had yet, then the file. */
static zh_error *layer_file(zh_oci_buf *tar, dirs *d, const char *path, const void *data,
                            size_t len, unsigned mode) {
  bool oom = false;
  for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
    if (seen_dir(d, path, (size_t)(p - path) + 1, &oom))
      continue;
    zh_error *err = zh_oci_tar_dir(tar, d->items[d->n - 1]);
    if (err)
      return err;
  }
  if (oom)
    return zh_error_oom();
  return zh_oci_tar_file(tar, path, data, len, mode);
}

static zh_error *host_into_layer(zh_oci_buf *tar, dirs *d, const char *host, const char *path) {
  zh_oci_buf b;
  struct stat st;
  unsigned mode = stat(host, &st) == 0 ? (unsigned)(st.st_mode & 0777) : 0644;
  zh_error *err = zh_oci_read_file(host, &b);
  if (!err)
    err = layer_file(tar, d, path, b.data ? (const void *)b.data : "", b.len, mode);
  zh_oci_buf_free(&b);
  return err;
}

static zh_error *build_layer(const zh_oci_app *app, const zh_oci_image_options *opt,
                             zh_oci_buf *tar) {
  dirs d = {0};
  const char *prefix = opt->kind == ZH_OCI_IMAGE_PLAIN ? "app/" : "";
  zh_error *err = NULL;
  if (opt->kind == ZH_OCI_IMAGE_PLAIN) {
    err = host_into_layer(tar, &d, opt->binary, "usr/bin/zerohop");
    for (size_t i = 0; !err && i < opt->nlibs; i++) {
      const char *lib = opt->libs[i];
      if (lib[0] != '/')
        err = zh_error_new(ZH_ERR_USAGE, "%s: a shared object's path must be absolute", lib);
      else
        err = host_into_layer(tar, &d, lib, lib + 1);
    }
    if (!err)
      err = zh_oci_tar_dir(tar, "tmp/");
  }
  char path[4096];
  snprintf(path, sizeof path, "%sspin.toml", prefix);
  if (!err)
    err = layer_file(tar, &d, path, app->manifest, app->manifest_len, 0644);
  for (size_t i = 0; !err && i < app->nfiles; i++) {
    const zh_oci_file *f = &app->files[i];
    if ((size_t)snprintf(path, sizeof path, "%s%s", prefix, f->path) >= sizeof path)
      err = zh_error_new(ZH_ERR_RESOURCE, "%s: path too long", f->path);
    else
      err = layer_file(tar, &d, path, f->data ? (const void *)f->data : "", f->len, f->mode);
  }
  if (!err && opt->runtime_config) {
    snprintf(path, sizeof path, "%sruntime-config.toml", prefix);
    err = host_into_layer(tar, &d, opt->runtime_config, path);
  }
  for (size_t i = 0; i < d.n; i++)
    free(d.items[i]);
  free(d.items);
  if (!err)
    zh_oci_tar_end(tar);
  if (!err && tar->oom)
    err = zh_error_oom();
  return err;
}

/* ---- blobs and JSON ---- */

typedef struct blob {
  char digest[ZH_OCI_DIGEST_LEN];
  unsigned char *data; /* owned when `owned` */
  size_t len;
  bool owned;
} blob;

static json_t *descriptor(const char *media_type, const blob *b) {
  return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", b->digest, "size",
                   (json_int_t)b->len);
}

/* Serialises `doc` (and drops it) into a blob with its digest. */
static zh_error *json_blob(json_t *doc, blob *out) {
  if (!doc)
    return zh_error_oom();
  char *s = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  if (!s)
    return zh_error_oom();
  out->data = (unsigned char *)s;
  out->len = strlen(s);
  out->owned = true;
  return zh_oci_digest(out->data, out->len, out->digest);
}

static const char *host_arch(void) {
  struct utsname u;
  if (uname(&u) != 0)
    return "amd64";
  if (!strcmp(u.machine, "x86_64"))
    return "amd64";
  if (!strcmp(u.machine, "aarch64"))
    return "arm64";
  return "unknown";
}

static json_t *image_config(const zh_oci_image_options *opt, const char *diff_id) {
  bool plain = opt->kind == ZH_OCI_IMAGE_PLAIN;
  json_t *cfg = plain ? json_pack("{s:[s,s,s,s], s:[s,s], s:s, s:{s:{}}}", "Entrypoint",
                                  "/usr/bin/zerohop", "up", "-f", "/app", "Env", "PATH=/usr/bin",
                                  "SPIN_HTTP_LISTEN_ADDR=0.0.0.0:80", "WorkingDir", "/app",
                                  "ExposedPorts", "80/tcp")
                      : json_pack("{s:[s]}", "Entrypoint", "/");
  if (!cfg)
    return NULL;
  return json_pack("{s:s, s:s, s:o, s:{s:s, s:[s]}, s:[{s:s}]}", "architecture",
                   plain ? host_arch() : "wasm", "os", plain ? "linux" : "wasip1", "config", cfg,
                   "rootfs", "type", "layers", "diff_ids", diff_id, "history", "created_by",
                   plain ? "zerohop image build --plain" : "zerohop image build");
}

/* The tag of "name:tag" (after the last ':' that follows the last '/'), or "latest". */
static const char *tag_of(const char *name) {
  const char *slash = strrchr(name, '/');
  const char *colon = strrchr(slash ? slash : name, ':');
  return colon ? colon + 1 : "latest";
}

static zh_error *write_layout(const char *path, blob *blobs, size_t nblobs, const blob *index) {
  zh_oci_buf tar = {0};
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  zh_error *err = zh_oci_tar_file(&tar, "oci-layout", layout, sizeof layout - 1, 0644);
  if (!err)
    err = zh_oci_tar_file(&tar, "index.json", index->data, index->len, 0644);
  if (!err)
    err = zh_oci_tar_dir(&tar, "blobs/");
  if (!err)
    err = zh_oci_tar_dir(&tar, "blobs/sha256/");
  for (size_t i = 0; !err && i < nblobs; i++) {
    char name[100];
    snprintf(name, sizeof name, "blobs/sha256/%s", blobs[i].digest + 7);
    err = zh_oci_tar_file(&tar, name, blobs[i].data, blobs[i].len, 0644);
  }
  zh_oci_tar_end(&tar);
  if (!err && tar.oom)
    err = zh_error_oom();
  if (!err)
    err = zh_oci_write_file(path, tar.data, tar.len);
  zh_oci_buf_free(&tar);
  return err;
}

zh_error *zh_oci_image_write(const zh_oci_app *app, const zh_oci_image_options *opt,
                             const char *path, zh_oci_image_info *info) {
  if (opt->kind == ZH_OCI_IMAGE_PLAIN && !opt->binary)
    return zh_error_new(ZH_ERR_USAGE, "a plain image needs the zerohop executable");
  zh_oci_buf layer_tar = {0}, layer_gz = {0};
  blob blobs[3]; /* layer, config, manifest */
  blob index = {0};
  memset(blobs, 0, sizeof blobs);
  char diff_id[ZH_OCI_DIGEST_LEN];
  zh_error *err = build_layer(app, opt, &layer_tar);
  if (!err)
    err = zh_oci_digest(layer_tar.data, layer_tar.len, diff_id);
  if (!err && !opt->uncompressed)
    err = zh_oci_gzip(layer_tar.data, layer_tar.len, Z_LEVEL, &layer_gz);
  if (!err) {
    const zh_oci_buf *stored = opt->uncompressed ? &layer_tar : &layer_gz;
    blobs[0].data = stored->data;
    blobs[0].len = stored->len;
    err = zh_oci_digest(blobs[0].data, blobs[0].len, blobs[0].digest);
  }
  if (!err)
    err = json_blob(image_config(opt, diff_id), &blobs[1]);
  if (!err) {
    json_t *layers = json_pack(
        "[o]", descriptor(opt->uncompressed ? ZH_OCI_MT_LAYER : ZH_OCI_MT_LAYER_GZIP, &blobs[0]));
    json_t *m =
        layers ? json_pack("{s:i, s:s, s:o, s:o, s:{s:s, s:s}}", "schemaVersion", 2, "mediaType",
                           ZH_OCI_MT_MANIFEST, "config", descriptor(ZH_OCI_MT_CONFIG, &blobs[1]),
                           "layers", layers, "annotations", "org.opencontainers.image.title",
                           app->name, "org.opencontainers.image.version", app->version)
               : NULL;
    err = json_blob(m, &blobs[2]);
  }
  if (!err) {
    bool plain = opt->kind == ZH_OCI_IMAGE_PLAIN;
    json_t *d = descriptor(ZH_OCI_MT_MANIFEST, &blobs[2]);
    if (d) {
      json_object_set_new(d, "platform",
                          json_pack("{s:s, s:s}", "architecture", plain ? host_arch() : "wasm",
                                    "os", plain ? "linux" : "wasip1"));
      json_object_set_new(d, "annotations",
                          json_pack("{s:s, s:s}", "io.containerd.image.name", opt->name,
                                    "org.opencontainers.image.ref.name", tag_of(opt->name)));
    }
    err = json_blob(json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2, "mediaType", ZH_OCI_MT_INDEX,
                              "manifests", d),
                    &index);
  }
  if (!err)
    err = write_layout(path, blobs, 3, &index);
  if (!err && info) {
    memcpy(info->manifest_digest, blobs[2].digest, ZH_OCI_DIGEST_LEN);
    info->layer_size = blobs[0].len;
    info->layer_tar_size = layer_tar.len;
    info->total_size = blobs[0].len + blobs[1].len + blobs[2].len + index.len;
  }
  zh_oci_buf_free(&layer_tar);
  zh_oci_buf_free(&layer_gz);
  for (size_t i = 1; i < 3; i++)
    free(blobs[i].data);
  free(index.data);
  return err;
}
