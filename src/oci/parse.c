/* OCI manifests, indexes and image configs read back: the untrusted side of push, pull and
 * the image tests. Everything a registry or an archive hands over passes here before any of
 * its digests or sizes is used.
 *
 * Checks: at most ZH_OCI_MAX_DOC bytes (registries refuse larger manifests too), well-formed
 * JSON (jansson reports line and column), schemaVersion 2, and each descriptor with a string
 * mediaType, a sha256 digest in canonical form and a non-negative integer size. Errors name the
 * document (`what`) and the JSON path ("layers[2].digest"). */
#include "oci/oci.h"
#include "wasm/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define ZH_OCI_MAX_DOC (4u << 20)
#define ZH_OCI_MAX_ENTRIES 4096 /* layers or manifests: far past any app */

static zh_error *load(const void *data, size_t len, const char *what, json_t **out) {
  if (len > ZH_OCI_MAX_DOC)
    return zh_error_new(ZH_ERR_MALFORMED, "%s: %zu bytes, more than the %u a document may have",
                        what, len, ZH_OCI_MAX_DOC);
  json_error_t je;
  json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    char shown[200];
    return zh_error_new(ZH_ERR_MALFORMED, "%s:%d:%d: %s", what, je.line, je.column,
                        zh_oci_clean(je.text, shown, sizeof shown));
  }
  if (!json_is_object(root)) {
    json_decref(root);
    return zh_error_new(ZH_ERR_MALFORMED, "%s: not a JSON object", what);
  }
  *out = root;
  return NULL;
}

/* A string member, copied; NULL without error when absent and optional. */
static zh_error *str(json_t *obj, const char *key, bool required, const char *what,
                     const char *path, char **out) {
  json_t *v = json_object_get(obj, key);
  if (!v) {
    if (required)
      return zh_error_new(ZH_ERR_MALFORMED, "%s: %s%s%s is missing", what, path, *path ? "." : "",
                          key);
    return NULL;
  }
  if (!json_is_string(v))
    return zh_error_new(ZH_ERR_MALFORMED, "%s: %s%s%s must be a string", what, path,
                        *path ? "." : "", key);
  if (!(*out = strdup(json_string_value(v))))
    return zh_error_oom();
  return NULL;
}

static void descriptor_free(zh_oci_descriptor *d) {
  free(d->media_type);
  free(d->digest);
  free(d->title);
  free(d->platform_os);
  free(d->platform_arch);
}

static zh_error *descriptor(json_t *v, const char *what, const char *path, zh_oci_descriptor *d) {
  if (!json_is_object(v))
    return zh_error_new(ZH_ERR_MALFORMED, "%s: %s must be an object", what, path);
  zh_error *err = str(v, "mediaType", true, what, path, &d->media_type);
  if (!err)
    err = str(v, "digest", true, what, path, &d->digest);
  if (!err && !zh_oci_digest_valid(d->digest)) {
    char shown[90];
    err = zh_error_new(ZH_ERR_MALFORMED, "%s: %s.digest `%s` is not a sha256 digest", what, path,
                       zh_oci_clean(d->digest, shown, sizeof shown));
  }
  json_t *size = json_object_get(v, "size");
  if (!err && (!json_is_integer(size) || json_integer_value(size) < 0))
    err = zh_error_new(ZH_ERR_MALFORMED, "%s: %s.size must be a non-negative integer", what, path);
  if (!err)
    d->size = (uint64_t)json_integer_value(size);
  json_t *ann = json_object_get(v, "annotations");
  if (!err && ann) {
    if (!json_is_object(ann))
      err = zh_error_new(ZH_ERR_MALFORMED, "%s: %s.annotations must be an object", what, path);
    else
      err = str(ann, "org.opencontainers.image.title", false, what, path, &d->title);
  }
  json_t *plat = json_object_get(v, "platform");
  if (!err && plat) {
    if (!json_is_object(plat))
      err = zh_error_new(ZH_ERR_MALFORMED, "%s: %s.platform must be an object", what, path);
    if (!err)
      err = str(plat, "os", true, what, path, &d->platform_os);
    if (!err)
      err = str(plat, "architecture", true, what, path, &d->platform_arch);
  }
  return err;
}

zh_error *zh_oci_manifest_parse(const void *data, size_t len, const char *what,
                                zh_oci_manifest **out) {
  *out = NULL;
  json_t *root = NULL;
  zh_error *err = load(data, len, what, &root);
  if (err)
    return err;
  zh_oci_manifest *m = calloc(1, sizeof *m);
  if (!m) {
    json_decref(root);
    return zh_error_oom();
  }
  json_t *sv = json_object_get(root, "schemaVersion");
  if (!json_is_integer(sv) || json_integer_value(sv) != 2)
    err = zh_error_new(ZH_ERR_MALFORMED, "%s: schemaVersion must be 2", what);
  if (!err)
    err = str(root, "mediaType", false, what, "", &m->media_type);
  json_t *list = NULL;
  if (!err) {
    json_t *manifests = json_object_get(root, "manifests"),
           *layers = json_object_get(root, "layers");
    m->is_index = manifests != NULL;
    if (manifests && layers)
      err = zh_error_new(ZH_ERR_MALFORMED, "%s: both `manifests` and `layers`", what);
    else if (!manifests && !layers)
      err = zh_error_new(ZH_ERR_MALFORMED, "%s: neither `manifests` nor `layers`", what);
    list = manifests ? manifests : layers;
  }
  const char *lname = m->is_index ? "manifests" : "layers";
  if (!err && !json_is_array(list))
    err = zh_error_new(ZH_ERR_MALFORMED, "%s: %s must be an array", what, lname);
  if (!err && json_array_size(list) > ZH_OCI_MAX_ENTRIES)
    err = zh_error_new(ZH_ERR_MALFORMED, "%s: %zu %s, more than %d", what, json_array_size(list),
                       lname, ZH_OCI_MAX_ENTRIES);
  if (!err && !m->is_index) {
    json_t *cfg = json_object_get(root, "config");
    if (!cfg)
      err = zh_error_new(ZH_ERR_MALFORMED, "%s: config is missing", what);
    else
      err = descriptor(cfg, what, "config", &m->config);
  }
  if (!err && !(m->entries = calloc(json_array_size(list) + 1, sizeof *m->entries)))
    err = zh_error_oom();
  for (size_t i = 0; !err && m->entries && i < json_array_size(list); i++) {
    char path[64];
    snprintf(path, sizeof path, "%s[%zu]", lname, i);
    m->nentries = i + 1;
    err = descriptor(json_array_get(list, i), what, path, &m->entries[i]);
  }
  json_decref(root);
  if (err) {
    zh_oci_manifest_free(m);
    return err;
  }
  *out = m;
  return NULL;
}

void zh_oci_manifest_free(zh_oci_manifest *m) {
  if (!m)
    return;
  free(m->media_type);
  descriptor_free(&m->config);
  for (size_t i = 0; i < m->nentries; i++)
    descriptor_free(&m->entries[i]);
  free(m->entries);
  free(m);
}

/* An array of strings, copied; absent is empty. */
static zh_error *strings(json_t *obj, const char *key, const char *what, char ***out, size_t *n) {
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v))
    return NULL;
  if (!json_is_array(v) || json_array_size(v) > ZH_OCI_MAX_ENTRIES)
    return zh_error_new(ZH_ERR_MALFORMED, "%s: %s must be an array of strings", what, key);
  if (json_array_size(v) == 0)
    return NULL;
  if (!(*out = calloc(json_array_size(v), sizeof **out)))
    return zh_error_oom();
  for (size_t i = 0; i < json_array_size(v); i++) {
    json_t *s = json_array_get(v, i);
    if (!json_is_string(s))
      return zh_error_new(ZH_ERR_MALFORMED, "%s: %s[%zu] must be a string", what, key, i);
    if (!((*out)[i] = strdup(json_string_value(s))))
      return zh_error_oom();
    *n = i + 1;
  }
  return NULL;
}

zh_error *zh_oci_config_parse(const void *data, size_t len, const char *what, zh_oci_config **out) {
  *out = NULL;
  json_t *root = NULL;
  zh_error *err = load(data, len, what, &root);
  if (err)
    return err;
  zh_oci_config *c = calloc(1, sizeof *c);
  if (!c) {
    json_decref(root);
    return zh_error_oom();
  }
  err = str(root, "os", true, what, "", &c->os);
  if (!err)
    err = str(root, "architecture", true, what, "", &c->architecture);
  json_t *rootfs = json_object_get(root, "rootfs");
  if (!err && !json_is_object(rootfs))
    err = zh_error_new(ZH_ERR_MALFORMED, "%s: rootfs must be an object", what);
  if (!err)
    err = strings(rootfs, "diff_ids", what, &c->diff_ids, &c->ndiff_ids);
  for (size_t i = 0; !err && i < c->ndiff_ids; i++)
    if (!zh_oci_digest_valid(c->diff_ids[i]))
      err = zh_error_new(ZH_ERR_MALFORMED, "%s: rootfs.diff_ids[%zu] is not a sha256 digest", what,
                         i);
  json_t *cfg = json_object_get(root, "config");
  if (!err && cfg && !json_is_object(cfg))
    err = zh_error_new(ZH_ERR_MALFORMED, "%s: config must be an object", what);
  if (!err && cfg)
    err = strings(cfg, "Entrypoint", what, &c->entrypoint, &c->nentrypoint);
  if (!err && cfg)
    err = strings(cfg, "Env", what, &c->env, &c->nenv);
  json_decref(root);
  if (err) {
    zh_oci_config_free(c);
    return err;
  }
  *out = c;
  return NULL;
}

static void free_strings(char **s, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(s[i]);
  free(s);
}

void zh_oci_config_free(zh_oci_config *c) {
  if (!c)
    return;
  free(c->os);
  free(c->architecture);
  free_strings(c->diff_ids, c->ndiff_ids);
  free_strings(c->entrypoint, c->nentrypoint);
  free_strings(c->env, c->nenv);
  free(c);
}
