/* What the shim reads from an OCI bundle: the runtime spec's environment and annotations
 * (config.json), and the container's root filesystem, which containerd hands over as a list
 * of mounts for the shim to make at BUNDLE/rootfs. */
#ifndef ZH_SHIM_BUNDLE_H
#define ZH_SHIM_BUNDLE_H

#include "zerohop/engine.h"

#include "github.com/containerd/containerd/api/types/mount.pb-c.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct zh_shim_spec {
  char **env; /* process.env, "KEY=VALUE" each; owned */
  size_t nenv;
  bool sandbox; /* annotation io.kubernetes.cri.container-type = sandbox */
  /* linux.namespaces' network entry with a path (a pod's namespace, or ctr --with-ns): the
   * app serves and connects from there. NULL: the shim's own. Owned. */
  char *netns;
} zh_shim_spec;

/* Reads BUNDLE/config.json. Errors name the file and, for JSON, line:column. */
zh_error *zh_shim_spec_read(const char *bundle, zh_shim_spec *out);
void zh_shim_spec_free(zh_shim_spec *spec);
/* The value of KEY in the spec's environment, or NULL. */
const char *zh_shim_spec_getenv(const zh_shim_spec *spec, const char *key);

/* Mounts each of mounts on rootfs in order (fstab-style options: the flag words become
 * mount flags, the rest the data string). On failure what was mounted is undone. */
zh_error *zh_shim_rootfs_mount(const char *rootfs, Containerd__Types__Mount *const *mounts,
                               size_t n);
/* Unmounts everything stacked on rootfs (nothing mounted is fine). */
zh_error *zh_shim_rootfs_unmount(const char *rootfs);

#endif
