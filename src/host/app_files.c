/* A component's `files`: what the guest sees of the host's filesystem.
 *
 * A directory mapped with { source, destination } is preopened where it says. Files (from
 * globs, or single files mapped to a path) are copied into a staging directory under the
 * state dir, at their guest paths, and that directory is preopened as "/": copies, not
 * links, so nothing the guest can reach leads outside what the manifest names, and the
 * guest's view does not change if the project's files change while the app runs. */
#include "host/app_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct files_walk {
  zh_app *app;
  app_component *c;
  size_t ncopied;
} files_walk;

static zh_error *add_preopen(app_component *c, const char *host, const char *guest) {
  zh_wasi_preopen *p = realloc(c->pre, (c->npre + 1) * sizeof *p);
  if (!p)
    return zh_error_oom();
  c->pre = p;
  int fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return zh_error_new(ZH_ERR_IO, "component `%s`: files: %s: %s", c->id, host, strerror(errno));
  char *g = strdup(guest);
  if (!g) {
    close(fd);
    return zh_error_oom();
  }
  memset(&p[c->npre], 0, sizeof p[c->npre]); /* host_path NULL: the descriptor is it */
  p[c->npre].host_fd = fd;
  p[c->npre].guest_path = g;
  c->npre++;
  return NULL;
}

/* mkdir -p of every directory in `path` up to its last '/'. */
static zh_error *make_parents(const char *path) {
  char *p = strdup(path);
  if (!p)
    return zh_error_oom();
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      zh_error *err = zh_error_new(ZH_ERR_IO, "cannot create %s: %s", p, strerror(errno));
      free(p);
      return err;
    }
    *s = '/';
  }
  free(p);
  return NULL;
}

static zh_error *copy_file(const char *from, const char *to) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return zh_error_new(ZH_ERR_IO, "%s: %s", from, strerror(errno));
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  zh_error *err = NULL;
  if (out < 0) {
    err = zh_error_new(ZH_ERR_IO, "%s: %s", to, strerror(errno));
  } else {
    char buf[65536];
    ssize_t r;
    while (!err && (r = read(in, buf, sizeof buf)) > 0)
      for (ssize_t off = 0; !err && off < r;) {
        ssize_t w = write(out, buf + off, (size_t)(r - off));
        if (w <= 0)
          err = zh_error_new(ZH_ERR_IO, "%s: %s", to, strerror(errno));
        else
          off += w;
      }
    close(out);
  }
  close(in);
  return err;
}

static zh_error *rm_tree(const char *path);

static zh_error *each_file(void *ctx, const char *host, const char *guest) {
  files_walk *w = ctx;
  struct stat st;
  if (stat(host, &st) != 0)
    return zh_error_new(ZH_ERR_IO, "component `%s`: files: %s: %s", w->c->id, host,
                        strerror(errno));
  if (S_ISDIR(st.st_mode))
    return add_preopen(w->c, host, guest);
  if (!S_ISREG(st.st_mode))
    return NULL; /* sockets, devices: not files a guest is given */
  size_t n = strlen(w->c->files_dir) + strlen(guest) + 1;
  char *to = malloc(n);
  if (!to)
    return zh_error_oom();
  snprintf(to, n, "%s%s", w->c->files_dir, guest);
  zh_error *err = make_parents(to);
  if (!err)
    err = copy_file(host, to);
  free(to);
  w->ncopied++;
  return err ? zh_error_prefix(err, "component `%s`: files", w->c->id) : NULL;
}

zh_error *app_files_mount(zh_app *app, app_component *c) {
  if (c->m->nfiles == 0)
    return NULL;
  size_t n = strlen(app->state_dir) + strlen(c->id) + 16;
  c->files_dir = malloc(n);
  if (!c->files_dir)
    return zh_error_oom();
  snprintf(c->files_dir, n, "%s/files", app->state_dir);
  if (mkdir(c->files_dir, 0755) != 0 && errno != EEXIST)
    return zh_error_new(ZH_ERR_IO, "cannot create %s: %s", c->files_dir, strerror(errno));
  snprintf(c->files_dir, n, "%s/files/%s", app->state_dir, c->id);
  zh_error *err = rm_tree(c->files_dir); /* what an earlier run staged */
  if (!err && mkdir(c->files_dir, 0755) != 0)
    err = zh_error_new(ZH_ERR_IO, "cannot create %s: %s", c->files_dir, strerror(errno));
  files_walk w = {app, c, 0};
  if (!err)
    err = zh_manifest_expand_files(app->m, c->m, each_file, &w);
  if (!err)
    err = add_preopen(c, c->files_dir, "/");
  return err;
}

static zh_error *rm_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return NULL;
  if (S_ISDIR(st.st_mode)) {
    /* a small recursive walk: staging trees are shallow and ours */
    DIR *d = opendir(path);
    if (!d)
      return zh_error_new(ZH_ERR_IO, "%s: %s", path, strerror(errno));
    struct dirent *e;
    zh_error *err = NULL;
    while (!err && (e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      size_t n = strlen(path) + strlen(e->d_name) + 2;
      char *sub = malloc(n);
      if (!sub) {
        err = zh_error_oom();
        break;
      }
      snprintf(sub, n, "%s/%s", path, e->d_name);
      err = rm_tree(sub);
      free(sub);
    }
    closedir(d);
    if (!err && rmdir(path) != 0)
      err = zh_error_new(ZH_ERR_IO, "%s: %s", path, strerror(errno));
    return err;
  }
  if (unlink(path) != 0)
    return zh_error_new(ZH_ERR_IO, "%s: %s", path, strerror(errno));
  return NULL;
}

void app_files_free(app_component *c) {
  for (size_t i = 0; i < c->npre; i++) {
    if (c->pre[i].host_fd >= 0)
      close(c->pre[i].host_fd);
    free((char *)c->pre[i].guest_path);
  }
  free(c->pre);
  free(c->files_dir);
  c->pre = NULL;
  c->npre = 0;
}
