/* Helpers of the OCI tests (tests/oci): archives read back into a list of entries, files
 * written, commands run, and the example app's paths. Header-only, for tests/oci alone. */
#ifndef ZH_OCITEST_H
#define ZH_OCITEST_H

#include "httpclient.h"
#include "oci/oci.h"
#include "testlib.h"
#include "testutil.h"

#include <stdarg.h>
#include <zlib.h>

typedef struct oci_entry {
  char *name;
  unsigned char *data;
  size_t len;
  unsigned mode;
} oci_entry;

typedef struct oci_entries {
  oci_entry *items;
  size_t n;
} oci_entries;

static inline zh_error *oci_collect(void *ctx, const char *name, const unsigned char *data,
                                    size_t len, unsigned mode) {
  oci_entries *e = ctx;
  oci_entry *items = realloc(e->items, (e->n + 1) * sizeof *items);
  if (!items)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  e->items = items;
  oci_entry *x = &e->items[e->n++];
  x->name = strdup(name);
  x->data = malloc(len + 1);
  x->len = len;
  x->mode = mode;
  if (x->data) {
    memcpy(x->data, data, len);
    x->data[len] = 0;
  }
  return NULL;
}

/* The entries of a tar in memory; false (reason on stderr) if it does not read. */
static inline bool oci_untar(const unsigned char *tar, size_t len, oci_entries *out) {
  memset(out, 0, sizeof *out);
  zh_error *err = zh_oci_tar_each(tar, len, "tar", oci_collect, out);
  if (err) {
    fprintf(stderr, "%s\n", zh_error_message(err));
    zh_error_free(err);
    return false;
  }
  return true;
}

/* The bytes of one gzip member (zlib's inflate checks its CRC and length); false, with the
 * reason on stderr, when it does not inflate or something follows it. *out is malloc'd. */
static inline bool oci_gunzip(const unsigned char *gz, size_t len, unsigned char **out,
                              size_t *out_len) {
  z_stream z;
  memset(&z, 0, sizeof z);
  *out = NULL;
  *out_len = 0;
  if (inflateInit2(&z, 15 + 16) != Z_OK)
    return false;
  size_t cap = len * 4 + 4096;
  unsigned char *buf = malloc(cap);
  z.next_in = (Bytef *)gz;
  z.avail_in = (uInt)len;
  int rc = Z_OK;
  while (buf && rc == Z_OK) {
    if (z.total_out == cap) {
      unsigned char *b = realloc(buf, cap * 2);
      if (!b)
        break;
      buf = b, cap *= 2;
    }
    z.next_out = buf + z.total_out;
    z.avail_out = (uInt)(cap - z.total_out);
    rc = inflate(&z, Z_NO_FLUSH);
  }
  bool ok = rc == Z_STREAM_END && z.avail_in == 0;
  if (!ok)
    fprintf(stderr, "gunzip: zlib status %d, %u bytes left over (%s)\n", rc, z.avail_in,
            z.msg ? z.msg : "");
  *out_len = z.total_out;
  inflateEnd(&z);
  if (!ok)
    free(buf), buf = NULL;
  *out = buf;
  return ok;
}

static inline const oci_entry *oci_find(const oci_entries *e, const char *name) {
  for (size_t i = 0; i < e->n; i++)
    if (strcmp(e->items[i].name, name) == 0)
      return &e->items[i];
  return NULL;
}

static inline void oci_entries_free(oci_entries *e) {
  for (size_t i = 0; i < e->n; i++) {
    free(e->items[i].name);
    free(e->items[i].data);
  }
  free(e->items);
  memset(e, 0, sizeof *e);
}

static inline bool oci_write(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return false;
  bool ok = fwrite(data, 1, len, f) == len;
  return (fclose(f) == 0) && ok;
}

/* Runs a command (argv NULL-terminated, argv[0] a path) with a time limit; its exit status,
 * or -1 when it did not run or exit. Output kept in *p (free with zh_test_proc_free). */
static inline int oci_run(zh_test_proc *p, long limit_ms, const char *const *argv) {
  if (!zh_test_spawn(argv, NULL, NULL, 0, limit_ms, p))
    return -1;
  if (!p->exited || p->status != 0)
    fprintf(stderr, "%s exited %d%s\nstdout: %s\nstderr: %s\n", argv[0], p->status,
            p->exited ? "" : " (signal)", p->out, p->err);
  return p->exited ? p->status : -1;
}

/* $ZH_BUILD/zerohop */
static inline const char *oci_cli(void) {
  static char path[512];
  snprintf(path, sizeof path, "%s/zerohop", zh_test_build_dir());
  return path;
}

/* sha256 of bytes as "sha256:..." */
static inline void oci_digest(const void *data, size_t len, char out[ZH_OCI_DIGEST_LEN]) {
  zh_error *err = zh_oci_digest(data, len, out);
  if (err) {
    out[0] = 0;
    zh_error_free(err);
  }
}

static inline char *oci_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *oci_fmt(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  return s;
}

/* ---- Debian's docker-registry on a loopback port ---- */

typedef struct oci_registry {
  pid_t pid;
  uint16_t port;
  char storage[512];
} oci_registry;

/* Starts `docker-registry serve` with its storage under dir/NAME and a free loopback port;
 * `auth_yaml` is the body of its `auth:` section (indented two spaces), or NULL for none.
 * True once /v2/ answers. */
static inline bool oci_registry_start(oci_registry *r, const char *dir, const char *name,
                                      const char *auth_yaml) {
  memset(r, 0, sizeof *r);
  r->port = zh_test_free_port();
  snprintf(r->storage, sizeof r->storage, "%s/%s-storage", dir, name);
  char *cfg = oci_fmt("%s/%s.yml", dir, name);
  char *auth = auth_yaml ? oci_fmt("auth:\n%s", auth_yaml) : strdup("");
  char *text = oci_fmt("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                       "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n"
                       "    enabled: true\n%shttp:\n  addr: 127.0.0.1:%u\n",
                       r->storage, auth, r->port);
  bool ok = cfg && text && oci_write(cfg, text, strlen(text));
  free(text);
  free(auth);
  char *logp = oci_fmt("%s/%s.log", dir, name);
  if (ok) {
    r->pid = fork();
    if (r->pid == 0) {
      int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      execl("/usr/bin/docker-registry", "docker-registry", "serve", cfg, (char *)NULL);
      _exit(127);
    }
  }
  free(cfg);
  free(logp);
  if (!ok || r->pid <= 0)
    return false;
  for (int i = 0; i < 250; i++) { /* up to 5 s */
    zh_hc_response resp;
    if (zh_hc_get(r->port, "/v2/", &resp)) {
      int st = resp.status;
      zh_hc_response_free(&resp);
      if (st == 200 || st == 401)
        return true;
    }
    usleep(20000);
  }
  return false;
}

static inline void oci_registry_stop(oci_registry *r) {
  if (r->pid > 0) {
    kill(r->pid, SIGTERM);
    zh_test_wait_exit(r->pid, 5000); /* SIGKILL after that */
  }
  r->pid = 0;
}

#endif
