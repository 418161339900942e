/* The OCI bundle: config.json and the root filesystem mounts (bundle.h). */
#include "shim/bundle.h"

#include "wasm/error.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

zh_error *zh_shim_spec_read(const char *bundle, zh_shim_spec *out) {
  memset(out, 0, sizeof *out);
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root)
    return zh_error_new(ZH_ERR_MALFORMED, "%s:%d:%d: %s", path, je.line, je.column, je.text);
  zh_error *err = NULL;
  json_t *env = json_object_get(json_object_get(root, "process"), "env");
  size_t nenv = json_is_array(env) ? json_array_size(env) : 0;
  char **list = nenv ? calloc(nenv, sizeof *list) : NULL;
  if (nenv && !list)
    err = zh_error_oom();
  out->env = list;
  for (size_t i = 0; list && !err && i < nenv; i++) {
    const char *s = json_string_value(json_array_get(env, i));
    if (!s)
      continue;
    if (!(list[out->nenv] = strdup(s)))
      err = zh_error_oom();
    else
      out->nenv++;
  }
  json_t *nss = json_object_get(json_object_get(root, "linux"), "namespaces");
  for (size_t i = 0; !err && json_is_array(nss) && i < json_array_size(nss); i++) {
    json_t *ns = json_array_get(nss, i);
    const char *type = json_string_value(json_object_get(ns, "type"));
    const char *nspath = json_string_value(json_object_get(ns, "path"));
    if (type && strcmp(type, "network") == 0 && nspath && nspath[0]) {
      free(out->netns);
      if (!(out->netns = strdup(nspath)))
        err = zh_error_oom();
    }
  }
  json_t *ann = json_object_get(root, "annotations");
  const char *kind = json_string_value(json_object_get(ann, "io.kubernetes.cri.container-type"));
  out->sandbox = kind && strcmp(kind, "sandbox") == 0;
  json_decref(root);
  if (err)
    zh_shim_spec_free(out);
  return err;
}

void zh_shim_spec_free(zh_shim_spec *spec) {
  for (size_t i = 0; i < spec->nenv; i++)
    free(spec->env[i]);
  free(spec->env);
  free(spec->netns);
  memset(spec, 0, sizeof *spec);
}

const char *zh_shim_spec_getenv(const zh_shim_spec *spec, const char *key) {
  size_t klen = strlen(key);
  const char *found = NULL;
  /* The last one wins, as in a process environment built from the list in order. */
  for (size_t i = 0; i < spec->nenv; i++)
    if (strncmp(spec->env[i], key, klen) == 0 && spec->env[i][klen] == '=')
      found = spec->env[i] + klen + 1;
  return found;
}

typedef struct flag_word {
  const char *word;
  unsigned long set, clear;
} flag_word;

static const flag_word flag_words[] = {
    {"ro", MS_RDONLY, 0},         {"rw", 0, MS_RDONLY},
    {"bind", MS_BIND, 0},         {"rbind", MS_BIND | MS_REC, 0},
    {"nosuid", MS_NOSUID, 0},     {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},       {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},     {"exec", 0, MS_NOEXEC},
    {"relatime", MS_RELATIME, 0}, {"noatime", MS_NOATIME, 0},
    {"private", MS_PRIVATE, 0},   {"rprivate", MS_PRIVATE | MS_REC, 0},
    {"defaults", 0, 0},
};

static zh_error *mount_one(const char *rootfs, const Containerd__Types__Mount *m) {
  unsigned long flags = 0;
  char data[8192] = "";
  size_t dlen = 0;
  for (size_t i = 0; i < m->n_options; i++) {
    const char *o = m->options[i];
    const flag_word *fw = NULL;
    for (size_t k = 0; k < sizeof flag_words / sizeof *flag_words; k++)
      if (strcmp(o, flag_words[k].word) == 0)
        fw = &flag_words[k];
    if (fw) {
      flags = (flags | fw->set) & ~fw->clear;
      continue;
    }
    size_t olen = strlen(o);
    if (dlen + olen + 2 > sizeof data)
      return zh_error_new(ZH_ERR_RESOURCE, "mount %s on %s: options longer than %zu bytes",
                          m->source, rootfs, sizeof data);
    if (dlen)
      data[dlen++] = ',';
    memcpy(data + dlen, o, olen + 1);
    dlen += olen;
  }
  const char *type = m->type && *m->type && strcmp(m->type, "bind") != 0 ? m->type : NULL;
  /* Propagation words are not for the first mount call, MS_REC only goes with a bind, and a
   * bind ignores MS_RDONLY (applied by the remount below). */
  unsigned long first = flags & ~(MS_PRIVATE | (flags & MS_BIND ? MS_RDONLY : MS_REC));
  if (mount(m->source, rootfs, type, first, dlen ? data : NULL) != 0)
    return zh_error_new(ZH_ERR_IO, "mount %s (%s) on %s: %s", m->source, type ? type : "bind",
                        rootfs, strerror(errno));
  /* A bind mount takes no flags but MS_REC at first: read-only needs a remount. */
  if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
      mount(NULL, rootfs, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0) {
    int e = errno;
    umount2(rootfs, MNT_DETACH);
    return zh_error_new(ZH_ERR_IO, "remount %s read-only: %s", rootfs, strerror(e));
  }
  return NULL;
}

zh_error *zh_shim_rootfs_mount(const char *rootfs, Containerd__Types__Mount *const *mounts,
                               size_t n) {
  for (size_t i = 0; i < n; i++) {
    zh_error *err = mount_one(rootfs, mounts[i]);
    if (err) {
      zh_error_free(zh_shim_rootfs_unmount(rootfs));
      return err;
    }
  }
  return NULL;
}

zh_error *zh_shim_rootfs_unmount(const char *rootfs) {
  for (int i = 0; i < 64; i++) {
    if (umount2(rootfs, MNT_DETACH) != 0) {
      if (errno == EINVAL || errno == ENOENT)
        return NULL; /* not (or no longer) a mount point */
      return zh_error_new(ZH_ERR_IO, "unmount %s: %s", rootfs, strerror(errno));
    }
  }
  return zh_error_new(ZH_ERR_IO, "unmount %s: still mounted after 64 unmounts", rootfs);
}
