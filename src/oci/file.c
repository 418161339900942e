/* Whole files in and out for the OCI code: read into a zh_oci_buf, and written to a temporary
 * name then renamed, so a reader (the content cache, a layout tar) never sees half a file. */
#include "oci/oci.h"
#include "wasm/error.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

zh_error *zh_oci_read_file(const char *path, zh_oci_buf *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f)
    return zh_error_new(ZH_ERR_IO, "%s: %s", path, strerror(errno));
  unsigned char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    zh_oci_buf_add(out, chunk, n);
  bool bad = ferror(f) != 0;
  fclose(f);
  if (bad || out->oom) {
    zh_oci_buf_free(out);
    return bad ? zh_error_new(ZH_ERR_IO, "%s: read error", path) : zh_error_oom();
  }
  return NULL;
}

zh_error *zh_oci_write_file(const char *path, const void *data, size_t len) {
  char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp%d", path, (int)getpid()) < 0)
    return zh_error_oom();
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    zh_error *err = zh_error_new(ZH_ERR_IO, "%s: %s", tmp, strerror(errno));
    free(tmp);
    return err;
  }
  bool ok = len == 0 || fwrite(data, 1, len, f) == len;
  ok = (fclose(f) == 0) && ok;
  zh_error *err = NULL;
  if (!ok || rename(tmp, path) != 0) {
    err = zh_error_new(ZH_ERR_IO, "%s: %s", path, strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return err;
}

static zh_error *walk(const char *host, const char *guest, int depth, zh_oci_walk_fn fn,
                      void *ctx) {
  struct stat st;
  if (stat(host, &st) != 0)
    return zh_error_new(ZH_ERR_IO, "%s: %s", host, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return fn(ctx, host, guest);
  if (depth > 64)
    return zh_error_new(ZH_ERR_INVALID, "%s: directories nested too deeply", host);
  DIR *d = opendir(host);
  if (!d)
    return zh_error_new(ZH_ERR_IO, "%s: %s", host, strerror(errno));
  zh_error *err = NULL;
  struct dirent *e;
  while (!err && (e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char *h = NULL, *g = NULL;
    size_t gl = strlen(guest);
    if (asprintf(&h, "%s/%s", host, e->d_name) < 0 ||
        asprintf(&g, "%s%s%s", guest, gl && guest[gl - 1] == '/' ? "" : "/", e->d_name) < 0)
      err = zh_error_oom();
    else
      err = walk(h, g, depth + 1, fn, ctx);
    free(h);
    free(g);
  }
  closedir(d);
  return err;
}

zh_error *zh_oci_walk(const char *host, const char *guest, zh_oci_walk_fn fn, void *ctx) {
  return walk(host, guest, 0, fn, ctx);
}
