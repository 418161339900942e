/* An app gathered for packaging: its components' .wasm files, its static files and its
 * spin.toml with each `source` rewritten to where the file lands in the package.
 *
 * Sources land at the top under their own file name (`target/hello.wasm` becomes
 * `hello.wasm`; a second source of the same name elsewhere gets its component id in front).
 * Static files keep their path relative to the manifest's directory, so the manifest's
 * `files` entries find them unchanged; a file outside that directory cannot be packaged and
 * is an error. The rewrite edits only the source strings' bytes, found through the TOML
 * parser's value positions, so comments and layout survive. */
#include "host/manifest.h"
#include "oci/oci.h"
#include "toml/toml.h"
#include "wasm/error.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct gather {
  zh_oci_app *app;
  const char *base; /* realpath of the manifest's directory */
  size_t cap;
} gather;

static zh_error *read_all(const char *path, unsigned char **data, size_t *len, unsigned *mode) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return zh_error_new(ZH_ERR_IO, "%s: %s", path, strerror(errno));
  struct stat st;
  zh_error *err = NULL;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    err = zh_error_new(ZH_ERR_IO, "%s: not a regular file", path);
  } else if (!(*data = malloc((size_t)st.st_size + 1))) {
    err = zh_error_oom();
  } else if (fread(*data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
    err = zh_error_new(ZH_ERR_IO, "%s: short read", path);
    free(*data);
    *data = NULL;
  } else {
    *len = (size_t)st.st_size;
    *mode = (st.st_mode & 0111) ? 0755 : 0644;
  }
  fclose(f);
  return err;
}

static zh_oci_file *find_path(const zh_oci_app *app, const char *path) {
  for (size_t i = 0; i < app->nfiles; i++)
    if (strcmp(app->files[i].path, path) == 0)
      return &app->files[i];
  return NULL;
}

/* Adds `host` at `path` unless that path is there already (two globs naming one file). */
static zh_error *add_file(gather *g, const char *host, const char *path, const char *component) {
  if (find_path(g->app, path))
    return NULL;
  if (g->app->nfiles == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 16;
    zh_oci_file *f = realloc(g->app->files, cap * sizeof *f);
    if (!f)
      return zh_error_oom();
    g->app->files = f;
    g->cap = cap;
  }
  zh_oci_file *f = &g->app->files[g->app->nfiles];
  memset(f, 0, sizeof *f);
  zh_error *err = read_all(host, &f->data, &f->len, &f->mode);
  if (err)
    return err;
  f->path = strdup(path);
  f->component = component ? strdup(component) : NULL;
  g->app->nfiles++;
  if (!f->path || (component && !f->component))
    return zh_error_oom();
  return NULL;
}

/* The path of `host` relative to the manifest's directory; NULL (with *err) outside it. */
static char *relative(const gather *g, const char *host, zh_error **err) {
  char real[PATH_MAX];
  if (!realpath(host, real)) {
    *err = zh_error_new(ZH_ERR_IO, "%s: %s", host, strerror(errno));
    return NULL;
  }
  size_t n = strlen(g->base);
  if (strncmp(real, g->base, n) != 0 || real[n] != '/') {
    *err = zh_error_new(ZH_ERR_INVALID,
                        "%s: outside the app's directory %s; an image holds only what is under it",
                        host, g->base);
    return NULL;
  }
  char *rel = strdup(real + n + 1);
  if (!rel)
    *err = zh_error_oom();
  return rel;
}

/* One file under a static directory: its path in the package is its path below the app. */
static zh_error *add_one(void *ctx, const char *host, const char *guest) {
  (void)guest;
  gather *g = ctx;
  zh_error *err = NULL;
  char *rel = relative(g, host, &err);
  if (!rel)
    return err;
  err = add_file(g, host, rel, NULL);
  free(rel);
  return err;
}

static zh_error *on_static(void *ctx, const char *host, const char *guest) {
  (void)guest;
  return zh_oci_walk(host, "", add_one, ctx);
}

/* The name a component's source gets at the top of the package. */
static char *source_name(const zh_oci_app *app, const zh_manifest_component *c) {
  const char *slash = strrchr(c->source, '/');
  const char *base = slash ? slash + 1 : c->source;
  if (!find_path(app, base))
    return strdup(base);
  size_t n = strlen(c->id) + strlen(base) + 2;
  char *s = malloc(n);
  if (s)
    snprintf(s, n, "%s-%s", c->id, base);
  return s;
}

/* ---- the rewrite ---- */

typedef struct edit {
  size_t start, end; /* the string token's bytes, quotes included */
  const char *with;  /* the new file name */
} edit;

/* Byte offset of 1-based (line, col), col counting code points. */
static bool offset_of(const char *text, size_t len, uint32_t line, uint32_t col, size_t *out) {
  size_t i = 0;
  for (uint32_t l = 1; l < line; l++) {
    const char *nl = memchr(text + i, '\n', len - i);
    if (!nl)
      return false;
    i = (size_t)(nl - text) + 1;
  }
  for (uint32_t c = 1; c < col; c++) {
    if (i >= len)
      return false;
    i++;
    while (i < len && ((unsigned char)text[i] & 0xC0) == 0x80)
      i++;
  }
  *out = i;
  return true;
}

/* The end of the single-line string token starting at `start`. */
static bool token_end(const char *text, size_t len, size_t start, size_t *end) {
  char q = text[start];
  if (q != '"' && q != '\'')
    return false;
  if (start + 2 < len && text[start + 1] == q && text[start + 2] == q)
    return false; /* multi-line strings: not rewritten */
  for (size_t i = start + 1; i < len && text[i] != '\n'; i++) {
    if (q == '"' && text[i] == '\\') {
      i++;
      continue;
    }
    if (text[i] == q) {
      *end = i + 1;
      return true;
    }
  }
  return false;
}

typedef struct rewrite {
  const zh_manifest *m;
  const char *text;
  size_t len;
  edit *edits;
  size_t nedits;
  char **names; /* per component, its name in the package */
  zh_error *err;
} rewrite;

/* A `source` string: find its component by the file it names and note the edit. */
static void note_source(rewrite *r, const zh_toml_value *v) {
  if (r->err || !v || v->type != ZH_TOML_STRING)
    return;
  char path[PATH_MAX], real[PATH_MAX];
  if (v->u.str.ptr[0] == '/')
    snprintf(path, sizeof path, "%s", v->u.str.ptr);
  else
    snprintf(path, sizeof path, "%s/%s", r->m->base_dir, v->u.str.ptr);
  if (!realpath(path, real))
    return; /* zh_oci_app_load already failed reading it */
  for (size_t i = 0; i < r->m->ncomponents; i++) {
    char creal[PATH_MAX];
    if (!realpath(r->m->components[i].source, creal) || strcmp(creal, real) != 0)
      continue;
    size_t start = 0, end = 0;
    if (!offset_of(r->text, r->len, v->line, v->col, &start) ||
        !token_end(r->text, r->len, start, &end)) {
      r->err = zh_error_new(ZH_ERR_INVALID, "%s:%u:%u: cannot rewrite this `source` string",
                            r->m->path, v->line, v->col);
      return;
    }
    r->edits[r->nedits++] = (edit){start, end, r->names[i]};
    return;
  }
}

static void note_component_table(rewrite *r, const zh_toml_value *comp) {
  const zh_toml_value *src = zh_toml_get(comp, "source");
  if (src && src->type == ZH_TOML_TABLE)
    r->err = r->err ? r->err
                    : zh_error_new(ZH_ERR_INVALID,
                                   "%s:%u:%u: a `source = { url, digest }` component cannot be "
                                   "packaged yet; download it and name the file",
                                   r->m->path, src->line, src->col);
  else
    note_source(r, src);
}

static int by_start(const void *a, const void *b) {
  const edit *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

static zh_error *rewrite_manifest(zh_oci_app *app, const zh_manifest *m, const char *text,
                                  size_t len, char **names) {
  zh_toml_value *root = NULL;
  zh_error *err = zh_toml_parse(text, len, m->path, &root);
  if (err)
    return err;
  rewrite r = {m, text, len, calloc(m->ncomponents + 1, sizeof(edit)), 0, names, NULL};
  if (!r.edits) {
    zh_toml_free(root);
    return zh_error_oom();
  }
  const zh_toml_value *comps = zh_toml_get(root, "component");
  for (size_t i = 0; comps && comps->type == ZH_TOML_TABLE && i < comps->u.tab.len; i++)
    if (r.nedits < m->ncomponents)
      note_component_table(&r, comps->u.tab.items[i].value);
  const zh_toml_value *trig = zh_toml_get(root, "trigger");
  for (size_t t = 0; trig && trig->type == ZH_TOML_TABLE && t < trig->u.tab.len; t++) {
    const zh_toml_value *arr = trig->u.tab.items[t].value;
    for (size_t k = 0; arr->type == ZH_TOML_ARRAY && k < arr->u.arr.len; k++) {
      const zh_toml_value *inl = zh_toml_get(arr->u.arr.items[k], "component");
      if (inl && inl->type == ZH_TOML_TABLE && r.nedits < m->ncomponents)
        note_component_table(&r, inl);
    }
  }
  zh_toml_free(root);
  if (r.err) {
    free(r.edits);
    return r.err;
  }
  qsort(r.edits, r.nedits, sizeof *r.edits, by_start);
  zh_oci_buf out = {0};
  size_t at = 0;
  for (size_t i = 0; i < r.nedits; i++) {
    zh_oci_buf_add(&out, text + at, r.edits[i].start - at);
    zh_oci_buf_printf(&out, "\"%s\"", r.edits[i].with); /* file names need no escape: checked */
    at = r.edits[i].end;
  }
  zh_oci_buf_add(&out, text + at, len - at);
  zh_oci_buf_zeros(&out, 1);
  free(r.edits);
  if (out.oom) {
    zh_oci_buf_free(&out);
    return zh_error_oom();
  }
  app->manifest = (char *)out.data;
  app->manifest_len = out.len - 1;
  return NULL;
}

static bool plain_name(const char *s) {
  for (; *s; s++)
    if (*s == '"' || *s == '\\' || (unsigned char)*s < 32)
      return false;
  return true;
}

zh_error *zh_oci_app_load(const char *manifest_path, zh_oci_app **out) {
  *out = NULL;
  zh_manifest *m = NULL;
  zh_error *err = zh_manifest_load(manifest_path, &m);
  if (err)
    return err;
  zh_oci_app *app = calloc(1, sizeof *app);
  char **names = calloc(m->ncomponents + 1, sizeof *names);
  char base[PATH_MAX];
  unsigned char *text = NULL;
  size_t tlen = 0;
  unsigned mode = 0;
  if (!app || !names) {
    err = zh_error_oom();
    goto done;
  }
  if (!realpath(m->base_dir, base)) {
    err = zh_error_new(ZH_ERR_IO, "%s: %s", m->base_dir, strerror(errno));
    goto done;
  }
  app->name = strdup(m->name ? m->name : "app");
  app->version = strdup(m->version ? m->version : "latest");
  if (!app->name || !app->version) {
    err = zh_error_oom();
    goto done;
  }
  gather g = {app, base, 0};
  for (size_t i = 0; !err && i < m->ncomponents; i++) {
    const zh_manifest_component *c = &m->components[i];
    if (c->source_kind != ZH_MANIFEST_SOURCE_PATH) {
      err = zh_error_new(ZH_ERR_INVALID,
                         "%s:%u:%u: component `%s`: a `source = { url, digest }` component cannot "
                         "be packaged yet; download it and name the file",
                         m->path, c->line, c->col, c->id);
      break;
    }
    if (!(names[i] = source_name(app, c)))
      err = zh_error_oom();
    else if (!plain_name(names[i]))
      err = zh_error_new(ZH_ERR_INVALID, "component `%s`: the file name `%s` cannot be packaged",
                         c->id, names[i]);
    else
      err = zh_error_prefix(add_file(&g, c->source, names[i], c->id), "component `%s`", c->id);
  }
  for (size_t i = 0; !err && i < m->ncomponents; i++)
    err = zh_error_prefix(zh_manifest_expand_files(m, &m->components[i], on_static, &g),
                          "component `%s`: files", m->components[i].id);
  if (!err)
    err = read_all(m->path, &text, &tlen, &mode);
  if (!err)
    err = rewrite_manifest(app, m, (const char *)text, tlen, names);
done:
  for (size_t i = 0; names && i < m->ncomponents; i++)
    free(names[i]);
  free(names);
  free(text);
  zh_manifest_free(m);
  if (err) {
    zh_oci_app_free(app);
    return err;
  }
  *out = app;
  return NULL;
}

void zh_oci_app_free(zh_oci_app *app) {
  if (!app)
    return;
  for (size_t i = 0; i < app->nfiles; i++) {
    free(app->files[i].path);
    free(app->files[i].data);
    free(app->files[i].component);
  }
  free(app->files);
  free(app->manifest);
  free(app->name);
  free(app->version);
  free(app);
}
