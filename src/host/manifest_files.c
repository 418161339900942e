/* zh_manifest_expand_files: a component's `files` as (host path, guest path) pairs.
 *
 * Globs are relative to the manifest's directory. glob(3) has no `**`, so a pattern that
 * holds one is matched by walking the tree under its literal prefix with fnmatch(3), where
 * `**` also matches no directory at all. exclude_files patterns are fnmatch(3) patterns on
 * the same relative paths. Nothing here follows a path outside what the patterns name. */
#include "host/manifest.h"
#include "wasm/error.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct walk {
  const zh_manifest *m;
  const zh_manifest_component *comp;
  zh_manifest_file_fn fn;
  void *ctx;
  const char *pattern;
  char *loose; /* the pattern with every "**" + "/" removed */
} walk;

/* Matches with `*` crossing slashes as `**` needs; excludes use the same rule. */
static bool matches(const char *pattern, const char *loose, const char *rel) {
  return fnmatch(pattern, rel, 0) == 0 || (loose && fnmatch(loose, rel, 0) == 0);
}

static bool excluded(const zh_manifest_component *comp, const char *rel) {
  for (size_t i = 0; i < comp->exclude_files.len; i++)
    if (fnmatch(comp->exclude_files.items[i], rel, 0) == 0)
      return true;
  return false;
}

static zh_error *emit(walk *w, const char *rel) {
  if (excluded(w->comp, rel))
    return NULL;
  size_t nh = strlen(w->m->base_dir) + strlen(rel) + 2, ng = strlen(rel) + 2;
  char *host = malloc(nh), *guest = malloc(ng);
  zh_error *err = NULL;
  if (!host || !guest) {
    err = zh_error_oom();
  } else {
    snprintf(host, nh, "%s/%s", w->m->base_dir, rel);
    snprintf(guest, ng, "/%s", rel);
    err = w->fn(w->ctx, host, guest);
  }
  free(host);
  free(guest);
  return err;
}

/* Recursively visits regular files under base_dir/rel (depth-capped against loops). */
static zh_error *visit(walk *w, const char *rel, int depth) {
  if (depth > 64)
    return NULL;
  size_t n = strlen(w->m->base_dir) + strlen(rel) + 2;
  char *dir = malloc(n);
  if (!dir)
    return zh_error_oom();
  snprintf(dir, n, "%s/%s", w->m->base_dir, rel);
  DIR *d = opendir(dir);
  free(dir);
  if (!d)
    return NULL;
  zh_error *err = NULL;
  struct dirent *de;
  while (!err && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    size_t cn = strlen(rel) + strlen(de->d_name) + 2;
    char *child = malloc(cn);
    if (!child) {
      err = zh_error_oom();
      break;
    }
    snprintf(child, cn, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
    size_t hn = strlen(w->m->base_dir) + cn + 1;
    char *host = malloc(hn);
    struct stat st;
    if (!host) {
      err = zh_error_oom();
    } else {
      snprintf(host, hn, "%s/%s", w->m->base_dir, child);
      if (lstat(host, &st) == 0) {
        if (S_ISDIR(st.st_mode))
          err = visit(w, child, depth + 1);
        else if (S_ISREG(st.st_mode) && matches(w->pattern, w->loose, child))
          err = emit(w, child);
      }
    }
    free(host);
    free(child);
  }
  closedir(d);
  return err;
}

static zh_error *expand_glob(walk *w, const char *pattern) {
  if (strstr(pattern, "**")) {
    /* Walk from the directory part before the first wildcard. */
    size_t lit = strcspn(pattern, "*?[");
    while (lit > 0 && pattern[lit - 1] != '/')
      lit--;
    char *prefix = strndup(pattern, lit ? lit - 1 : 0);
    size_t pn = strlen(pattern);
    w->loose = malloc(pn + 1);
    if (!prefix || !w->loose) {
      free(prefix);
      free(w->loose);
      return zh_error_oom();
    }
    size_t o = 0;
    for (size_t i = 0; i < pn; i++) {
      if (strncmp(pattern + i, "**/", 3) == 0)
        i += 2;
      else
        w->loose[o++] = pattern[i];
    }
    w->loose[o] = 0;
    w->pattern = pattern;
    zh_error *err = visit(w, prefix, 0);
    free(prefix);
    free(w->loose);
    w->loose = NULL;
    return err;
  }
  size_t n = strlen(w->m->base_dir) + strlen(pattern) + 2;
  char *full = malloc(n);
  if (!full)
    return zh_error_oom();
  snprintf(full, n, "%s/%s", w->m->base_dir, pattern);
  glob_t g;
  int r = glob(full, 0, NULL, &g);
  free(full);
  if (r == GLOB_NOMATCH)
    return NULL;
  if (r != 0)
    return zh_error_new(ZH_ERR_IO, "%s: files pattern \"%s\" of component `%s`: glob failed",
                        w->m->path, pattern, w->comp->id);
  zh_error *err = NULL;
  size_t skip = strlen(w->m->base_dir) + 1;
  for (size_t i = 0; !err && i < g.gl_pathc; i++) {
    struct stat st;
    if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode) && strlen(g.gl_pathv[i]) > skip)
      err = emit(w, g.gl_pathv[i] + skip);
  }
  globfree(&g);
  return err;
}

zh_error *zh_manifest_expand_files(const zh_manifest *m, const zh_manifest_component *comp,
                                   zh_manifest_file_fn fn, void *ctx) {
  walk w = {.m = m, .comp = comp, .fn = fn, .ctx = ctx};
  for (size_t i = 0; i < comp->nfiles; i++) {
    const zh_manifest_file *f = &comp->files[i];
    zh_error *err;
    if (!f->destination) {
      err = expand_glob(&w, f->source);
    } else {
      size_t n = strlen(m->base_dir) + strlen(f->source) + 2;
      char *host = malloc(n);
      struct stat st;
      if (!host)
        return zh_error_oom();
      if (f->source[0] == '/')
        snprintf(host, n, "%s", f->source);
      else
        snprintf(host, n, "%s/%s", m->base_dir, f->source);
      if (stat(host, &st) != 0)
        err = zh_error_new(ZH_ERR_IO, "%s: component `%s` mounts \"%s\", which cannot be read: %s",
                           m->path, comp->id, f->source, strerror(errno));
      else
        err = fn(ctx, host, f->destination);
      free(host);
    }
    if (err)
      return err;
  }
  return NULL;
}
