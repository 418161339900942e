/* OCI artefacts for zerohop apps: image layouts (`zerohop image build`), Spin's registry
 * format (`zerohop registry push/pull`, `zerohop up --from`) and their parsers.
 *
 * Pieces, one file each: buf.c (a growing byte buffer with a sticky out-of-memory flag),
 * digest.c (sha256 digests as "sha256:<hex>"), tar.c (a ustar writer and reader), gzip.c
 * (a layer's tar compressed), app.c (an
 * app's files gathered for packaging, its spin.toml rewritten to where they land),
 * image.c (the image layout tar), parse.c (manifests, indexes and configs read back and
 * checked: the untrusted side), ref.c (image references), locked.c (Spin's locked app),
 * registry.c (the distribution API over libcurl), auth.c (Docker config and tokens),
 * pull.c/push.c and cache.c (the content store keyed by digest).
 *
 * Ownership: every struct here owns what it points to and has a _free that accepts NULL. */
#ifndef ZH_OCI_H
#define ZH_OCI_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- media types (OCI image spec; Spin's artefact types) ---- */
#define ZH_OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define ZH_OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define ZH_OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define ZH_OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define ZH_OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define ZH_OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ZH_OCI_MT_SPIN_CONFIG "application/vnd.fermyon.spin.application.v1+config"
#define ZH_OCI_MT_WASM_LAYER "application/vnd.wasm.content.layer.v1+wasm"
#define ZH_OCI_MT_DATA_LAYER "application/vnd.wasm.content.layer.v1+data"

/* ---- buf.c ---- */

/* A growing buffer. Appends never fail loudly: the first allocation failure sets `oom`, later
 * appends do nothing, and the owner checks once at the end. Growing may move `data`. */
typedef struct zh_oci_buf {
  unsigned char *data;
  size_t len, cap;
  bool oom;
} zh_oci_buf;

void zh_oci_buf_add(zh_oci_buf *b, const void *data, size_t len);
void zh_oci_buf_zeros(zh_oci_buf *b, size_t len);
void zh_oci_buf_str(zh_oci_buf *b, const char *s);
/* `s` in double quotes, `"` and `\` escaped with a backslash and control characters as
 * \uXXXX: a string both YAML (double-quoted style) and TOML (basic string) read back as is. */
void zh_oci_buf_quoted(zh_oci_buf *b, const char *s);
void zh_oci_buf_printf(zh_oci_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zh_oci_buf_free(zh_oci_buf *b);

/* `in` made fit for a one-line message: control characters become '?', and it is cut to
 * cap - 1 bytes (with "..." when cut). Returns out. */
const char *zh_oci_clean(const char *in, char *out, size_t cap);

/* ---- file.c ---- */

/* A whole file into `out` (which it initialises); errors name the path. */
zh_error *zh_oci_read_file(const char *path, zh_oci_buf *out);
/* Writes `path` through a temporary file renamed over it. */
zh_error *zh_oci_write_file(const char *path, const void *data, size_t len);
/* `host`, a file or a directory, file by file (directories at most 64 deep): fn gets each
 * regular file's host path and its guest path, `guest` with the path below `host` appended. */
typedef zh_error *(*zh_oci_walk_fn)(void *ctx, const char *host, const char *guest);
zh_error *zh_oci_walk(const char *host, const char *guest, zh_oci_walk_fn fn, void *ctx);

/* ---- digest.c ---- */

/* "sha256:" + 64 lowercase hex digits + NUL. */
#define ZH_OCI_DIGEST_LEN 72
zh_error *zh_oci_digest(const void *data, size_t len, char out[ZH_OCI_DIGEST_LEN]);
/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool zh_oci_digest_valid(const char *digest);

/* ---- gzip.c ---- */

/* Appends `data` compressed as one gzip member (zlib `level`, 0-9 or -1 for its default) to
 * `out`. The same input and level give the same bytes. */
zh_error *zh_oci_gzip(const unsigned char *data, size_t len, int level, zh_oci_buf *out);

/* ---- tar.c ---- */

/* Appends one ustar entry (a regular file, or a directory when data is NULL and the name ends
 * in '/'); mtime 0, uid/gid 0, so the same input gives the same bytes. Names longer than
 * ustar holds (100, or 155 + 100 split at a slash) are an error. */
zh_error *zh_oci_tar_file(zh_oci_buf *tar, const char *name, const void *data, size_t len,
                          unsigned mode);
zh_error *zh_oci_tar_dir(zh_oci_buf *tar, const char *name);
/* Ends the archive (two zero blocks). */
void zh_oci_tar_end(zh_oci_buf *tar);

/* Calls fn for each regular file of a ustar archive, with its name and bytes (pointing into
 * the archive). Directories are skipped; other entry types and malformed headers are an
 * error naming the byte offset. `what` names the archive in messages. */
typedef zh_error *(*zh_oci_tar_fn)(void *ctx, const char *name, const unsigned char *data,
                                   size_t len, unsigned mode);
zh_error *zh_oci_tar_each(const unsigned char *tar, size_t len, const char *what, zh_oci_tar_fn fn,
                          void *ctx);

/* ---- app.c ---- */

/* One file of a packaged app: where it lands (relative, no leading '/') and its bytes. */
typedef struct zh_oci_file {
  char *path;
  unsigned char *data;
  size_t len;
  unsigned mode;
  char *component; /* the component whose source it is, or NULL for a static file */
} zh_oci_file;

/* An app ready to package: spin.toml rewritten so that each component's `source` is the
 * file's name at the top (`hello.wasm`), the sources, and the static files at the paths
 * relative to the manifest's directory (where the unchanged `files` entries find them). */
typedef struct zh_oci_app {
  char *name, *version; /* [application] */
  char *manifest;       /* the rewritten spin.toml */
  size_t manifest_len;
  zh_oci_file *files;
  size_t nfiles;
} zh_oci_app;

/* Reads the app of `manifest_path` (a spin.toml or a directory holding one). Errors name the
 * manifest (FILE:LINE:COL), the component or the file. */
zh_error *zh_oci_app_load(const char *manifest_path, zh_oci_app **out);
void zh_oci_app_free(zh_oci_app *app);

/* ---- image.c ---- */

typedef enum zh_oci_image_kind {
  ZH_OCI_IMAGE_WASM,  /* FROM scratch: spin.toml and the app at /, platform wasip1/wasm */
  ZH_OCI_IMAGE_PLAIN, /* the zerohop binary, the shared objects it needs and the app in /app */
} zh_oci_image_kind;

typedef struct zh_oci_image_options {
  zh_oci_image_kind kind;
  const char *name;        /* the image name for index.json: "zerohop.local/APP:VERSION" */
  const char *binary;      /* ZH_OCI_IMAGE_PLAIN: the zerohop executable to ship */
  const char *const *libs; /* ZH_OCI_IMAGE_PLAIN: shared objects (absolute paths) to ship */
  size_t nlibs;
  const char *runtime_config; /* a runtime-config.toml to ship at /, or NULL */
  bool uncompressed;          /* a plain tar layer instead of tar+gzip */
} zh_oci_image_options;

/* What was written: the manifest's digest and the total of the blobs. */
typedef struct zh_oci_image_info {
  char manifest_digest[ZH_OCI_DIGEST_LEN];
  uint64_t layer_size, total_size; /* the layer's blob as stored (compressed or not) */
  uint64_t layer_tar_size;         /* the layer's tar before compression */
} zh_oci_image_info;

/* Writes an OCI image layout as a tar to `path` (via a temporary file, renamed at the end). */
zh_error *zh_oci_image_write(const zh_oci_app *app, const zh_oci_image_options *opt,
                             const char *path, zh_oci_image_info *info);

/* ---- parse.c: the untrusted side ---- */

typedef struct zh_oci_descriptor {
  char *media_type;
  char *digest;
  uint64_t size;
  char *title; /* annotation org.opencontainers.image.title, or NULL */
  char *platform_os, *platform_arch;
} zh_oci_descriptor;

/* An image manifest or an index: `config` is set only for a manifest, `entries` are the
 * layers of a manifest or the manifests of an index. */
typedef struct zh_oci_manifest {
  bool is_index;
  char *media_type; /* as the document says, or NULL when it has none */
  zh_oci_descriptor config;
  zh_oci_descriptor *entries;
  size_t nentries;
} zh_oci_manifest;

/* Parses and checks a manifest or index: JSON, schemaVersion 2, every descriptor with a
 * media type, a valid sha256 digest and a size. Errors name `what` and the JSON path. */
zh_error *zh_oci_manifest_parse(const void *json, size_t len, const char *what,
                                zh_oci_manifest **out);
void zh_oci_manifest_free(zh_oci_manifest *m);

/* An image config's platform and rootfs. */
typedef struct zh_oci_config {
  char *os, *architecture;
  char **diff_ids;
  size_t ndiff_ids;
  char **entrypoint, **env;
  size_t nentrypoint, nenv;
} zh_oci_config;
zh_error *zh_oci_config_parse(const void *json, size_t len, const char *what, zh_oci_config **out);
void zh_oci_config_free(zh_oci_config *c);

/* ---- ref.c ---- */

/* An image reference HOST[:PORT]/REPO[:TAG][@sha256:DIGEST]. The registry host is required
 * (its first component has a '.' or a ':', or is `localhost`): zerohop has no default
 * registry. Without tag or digest the tag is `latest`. */
typedef struct zh_oci_ref {
  char *host; /* "127.0.0.1:5000" */
  char *repo; /* "apps/hello" */
  char *tag;  /* NULL when a digest is given without a tag */
  char *digest;
} zh_oci_ref;
zh_error *zh_oci_ref_parse(const char *text, zh_oci_ref **out);
void zh_oci_ref_free(zh_oci_ref *r);
/* True when `text` reads as a registry reference rather than a path (for `up --from`). */
bool zh_oci_ref_looks_like(const char *text);

/* ---- locked.c: Spin's locked app ---- */

/* The locked app JSON (spin_lock_version 1) of a manifest, with the digests of the component
 * sources and static files as their content. `digest_of(ctx, host_path)` gives a file's
 * digest (it was read once, for its layer). */
typedef struct zh_manifest zh_manifest;
typedef const char *(*zh_oci_digest_fn)(void *ctx, const char *host_path);
typedef struct zh_oci_locked_file {
  const char *host, *guest; /* guest without the leading '/' */
} zh_oci_locked_file;
typedef zh_error *(*zh_oci_files_fn)(void *ctx, size_t component, zh_oci_locked_file **files,
                                     size_t *n);
zh_error *zh_oci_locked_build(const zh_manifest *m, zh_oci_digest_fn digest_of,
                              zh_oci_files_fn files_of, void *ctx, char **json);

/* Writes DIR/spin.toml for a locked app whose contents are already in DIR: each component's
 * source as DIR/ID.wasm and its files under DIR/files/ID/. `what` names the document. */
typedef zh_error *(*zh_oci_content_fn)(void *ctx, const char *digest, const char *dest);
zh_error *zh_oci_locked_materialise(const void *json, size_t len, const char *what, const char *dir,
                                    zh_oci_content_fn put, void *ctx);

/* ---- registry.c, auth.c: the distribution API ---- */

typedef struct zh_oci_client zh_oci_client;
typedef struct zh_oci_client_options {
  bool insecure;             /* plain HTTP to any host (loopback hosts get HTTP anyway) */
  const char *docker_config; /* the config.json to read credentials from; NULL: $DOCKER_CONFIG
                                /config.json, else ~/.docker/config.json */
  long timeout_s;            /* each request's limit; 0: 300 */
} zh_oci_client_options;

zh_error *zh_oci_client_new(const zh_oci_ref *ref, const zh_oci_client_options *opt,
                            zh_oci_client **out);
void zh_oci_client_free(zh_oci_client *c);

/* True if the registry has the blob (HEAD). */
zh_error *zh_oci_blob_exists(zh_oci_client *c, const char *digest, bool *exists);
/* Uploads a blob in one request (POST, then PUT ?digest=). */
zh_error *zh_oci_blob_put(zh_oci_client *c, const char *digest, const void *data, size_t len);
/* Downloads a blob; its digest and size (when size != UINT64_MAX) are verified, and a
 * mismatch names the digest. */
zh_error *zh_oci_blob_get(zh_oci_client *c, const char *digest, uint64_t size, zh_oci_buf *out);
/* PUT a manifest under `tag_or_digest`. */
zh_error *zh_oci_manifest_put(zh_oci_client *c, const char *tag_or_digest, const char *media_type,
                              const void *data, size_t len);
/* GET a manifest; its digest is computed (and checked when the reference has one). */
zh_error *zh_oci_manifest_get(zh_oci_client *c, const char *tag_or_digest, zh_oci_buf *out,
                              char digest[ZH_OCI_DIGEST_LEN]);

/* Credentials for `host` from a Docker config file (`auths.HOST.auth`, base64 user:pass);
 * *userpass is NULL when there are none. */
zh_error *zh_oci_docker_auth(const char *config_path, const char *host, char **userpass);

/* ---- push.c, pull.c, cache.c ---- */

/* Pushes the app of `manifest_path` to `ref` in Spin's format; *digest gets the manifest's. */
zh_error *zh_oci_push(const char *manifest_path, const zh_oci_ref *ref,
                      const zh_oci_client_options *opt, char digest[ZH_OCI_DIGEST_LEN]);

/* Pulls `ref` into the content cache `cache_dir` (blobs/sha256/HEX, each verified) and
 * materialises the app in `dir` (NULL: cache_dir/apps/MANIFEST-HEX). *app_dir gets the
 * directory holding spin.toml (malloc'd). */
zh_error *zh_oci_pull(const zh_oci_ref *ref, const zh_oci_client_options *opt,
                      const char *cache_dir, const char *dir, char **app_dir);

/* ---- k8s.c ---- */

typedef struct zh_oci_k8s_options {
  const char *image; /* NULL: zerohop.local/APP:VERSION */
  bool plain;        /* the runc image: no RuntimeClass, no runtimeClassName */
  bool redis;        /* a Redis Deployment and Service, wired into the app's config */
} zh_oci_k8s_options;
/* Writes the manifests for the app of `manifest_path` into `dir` (created if missing). */
zh_error *zh_oci_k8s_scaffold(const char *manifest_path, const zh_oci_k8s_options *opt,
                              const char *dir);

/* The cache directory: $XDG_CACHE_HOME/zerohop, else $HOME/.cache/zerohop (malloc'd). */
char *zh_oci_cache_dir(void);

#endif
