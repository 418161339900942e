/* Entry points: a document from a string, or a package directory with its deps/.
 *
 * Files are read in name order so that results and the first error reported do not depend
 * on the order of directory entries. Syntax trees live in a scratch arena dropped once the
 * model (in the zh_wit's own arena) is built. */
#include "wit/wit_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct loader {
  wit_arena *a;
  wit_vec pkgs; /* wit_src_pkg* */
} loader;

static bool body_empty(const ast_body *b) {
  return b->ifaces.len == 0 && b->worlds.len == 0 && b->uses.len == 0;
}

static bool same_opt(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static zh_error *new_pkg(loader *l, wit_src_pkg **out) {
  *out = wit_alloc(l->a, sizeof **out);
  if (!*out || !wit_vec_push(l->a, &l->pkgs, *out))
    return wit_oom();
  return NULL;
}

/* The files of one package (the root directory, or one entry of deps/). Every `package
 * x:y { }` block becomes a package of its own. *out is NULL when the files hold nothing but
 * such blocks. `where` names the group in messages. */
static zh_error *add_group(loader *l, ast_file **files, size_t n, const char *where,
                           wit_src_pkg **out) {
  wit_src_pkg *pkg = wit_alloc(l->a, sizeof *pkg);
  if (!pkg)
    return wit_oom();
  const char *named_in = NULL;
  bool has_items = false;
  for (size_t i = 0; i < n; i++) {
    ast_body *b = &files[i]->root;
    has_items |= !body_empty(b);
    if (!wit_vec_push(l->a, &pkg->bodies, b))
      return wit_oom();
    if (b->has_name) {
      if (!named_in) {
        pkg->name = b->name;
        named_in = files[i]->name;
      } else if (strcmp(pkg->name.ns, b->name.ns) != 0 || strcmp(pkg->name.pkg, b->name.pkg) != 0 ||
                 !same_opt(pkg->name.version, b->name.version)) {
        return wit_error(b->name.pos, "package `%s:%s%s%s` does not match the one declared in %s",
                         b->name.ns, b->name.pkg, b->name.version ? "@" : "",
                         b->name.version ? b->name.version : "", named_in);
      }
    }
    for (size_t k = 0; k < files[i]->nested.len; k++) {
      ast_body *nb = files[i]->nested.items[k];
      wit_src_pkg *np;
      zh_error *err = new_pkg(l, &np);
      if (err)
        return err;
      np->name = nb->name;
      if (!wit_vec_push(l->a, &np->bodies, nb))
        return wit_oom();
    }
  }
  *out = NULL;
  if (!named_in) {
    if (has_items || l->pkgs.len == 0)
      return zh_error_new(ZH_ERR_INVALID, "%s: no `package` declaration", where);
    return NULL;
  }
  if (!wit_vec_push(l->a, &l->pkgs, pkg))
    return wit_oom();
  *out = pkg;
  return NULL;
}

/* Builds the zh_wit from the loader's packages; root NULL means the last package. */
static zh_error *finish(loader *l, wit_src_pkg *root, zh_wit **out) {
  if (!root) {
    if (l->pkgs.len == 0)
      return zh_error_new(ZH_ERR_INVALID, "no WIT package to load");
    root = l->pkgs.items[l->pkgs.len - 1];
  }
  zh_wit *wit = calloc(1, sizeof *wit);
  if (!wit)
    return wit_oom();
  zh_error *err = wit_resolve(wit, l->a, (wit_src_pkg **)l->pkgs.items, l->pkgs.len, root);
  if (err) {
    zh_wit_free(wit);
    return err;
  }
  *out = wit;
  return NULL;
}

zh_error *zh_wit_parse_string(const char *name, const char *text, zh_wit **out) {
  if (!out || !text)
    return zh_error_new(ZH_ERR_USAGE, "zh_wit_parse_string: NULL argument");
  *out = NULL;
  wit_arena a = {0};
  loader l = {&a, {0}};
  const char *fname = wit_strdup(&a, name ? name : "<string>");
  ast_file *f;
  wit_src_pkg *root = NULL;
  zh_error *err = fname ? wit_parse_file(&a, fname, text, strlen(text), &f) : wit_oom();
  if (!err)
    err = add_group(&l, &f, 1, fname, &root);
  if (!err)
    err = finish(&l, root, out);
  wit_arena_free(&a);
  return err;
}

/* ---- directories ---- */

static int cmp_names(const void *x, const void *y) {
  return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Sorted entry names of dir (without "." and hidden ones). */
static zh_error *list_dir(wit_arena *a, const char *dir, wit_vec *names) {
  DIR *d = opendir(dir);
  if (!d)
    return zh_error_new(ZH_ERR_IO, "%s: %s", dir, strerror(errno));
  struct dirent *ent;
  zh_error *err = NULL;
  while (!err && (ent = readdir(d)) != NULL) {
    if (ent->d_name[0] == '.')
      continue;
    char *n = wit_strdup(a, ent->d_name);
    if (!n || !wit_vec_push(a, names, n))
      err = wit_oom();
  }
  closedir(d);
  if (!err && names->len)
    qsort(names->items, names->len, sizeof *names->items, cmp_names);
  return err;
}

static bool ends_with_wit(const char *name) {
  size_t n = strlen(name);
  return n > 4 && strcmp(name + n - 4, ".wit") == 0;
}

static zh_error *read_file(wit_arena *a, const char *path, char **text, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return zh_error_new(ZH_ERR_IO, "%s: %s", path, strerror(errno));
  size_t cap = 0, n = 0;
  char *buf = NULL;
  zh_error *err = NULL;
  for (;;) {
    if (cap - n < 4096) {
      size_t ncap = cap ? cap * 2 : 65536;
      char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
      if (!nb) {
        err = wit_oom();
        break;
      }
      buf = nb;
      cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0) {
      if (ferror(fp))
        err = zh_error_new(ZH_ERR_IO, "%s: read error", path);
      break;
    }
  }
  fclose(fp);
  if (!err && !(*text = wit_strndup(a, buf, n)))
    err = wit_oom();
  free(buf);
  *len = n;
  return err;
}

static zh_error *parse_path(wit_arena *a, const char *path, ast_file **out) {
  char *text = NULL;
  size_t len = 0;
  zh_error *err = read_file(a, path, &text, &len);
  return err ? err : wit_parse_file(a, path, text, len, out);
}

/* Parses every *.wit file of dir (not recursively). */
static zh_error *parse_dir(wit_arena *a, const char *dir, ast_file ***files, size_t *n) {
  wit_vec names = {0}, parsed = {0};
  zh_error *err = list_dir(a, dir, &names);
  for (size_t i = 0; !err && i < names.len; i++) {
    const char *path = wit_format(a, "%s/%s", dir, (const char *)names.items[i]);
    struct stat st;
    if (!path) {
      err = wit_oom();
    } else if (ends_with_wit(names.items[i]) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      ast_file *f;
      err = parse_path(a, path, &f);
      if (!err && !wit_vec_push(a, &parsed, f))
        err = wit_oom();
    }
  }
  *files = (ast_file **)parsed.items;
  *n = parsed.len;
  return err;
}

static zh_error *load_deps(loader *l, const char *dir) {
  const char *deps = wit_format(l->a, "%s/deps", dir);
  if (!deps)
    return wit_oom();
  struct stat st;
  if (stat(deps, &st) != 0 || !S_ISDIR(st.st_mode))
    return NULL; /* no dependencies */
  wit_vec names = {0};
  zh_error *err = list_dir(l->a, deps, &names);
  for (size_t i = 0; !err && i < names.len; i++) {
    const char *path = wit_format(l->a, "%s/%s", deps, (const char *)names.items[i]);
    if (!path)
      return wit_oom();
    if (stat(path, &st) != 0)
      continue;
    ast_file **files = NULL, *one;
    size_t n = 0;
    if (S_ISDIR(st.st_mode)) {
      err = parse_dir(l->a, path, &files, &n);
    } else if (S_ISREG(st.st_mode) && ends_with_wit(names.items[i])) {
      err = parse_path(l->a, path, &one);
      files = &one;
      n = 1;
    }
    wit_src_pkg *pkg;
    if (!err && n)
      err = add_group(l, files, n, path, &pkg);
  }
  return err;
}

zh_error *zh_wit_load_dir(const char *dir, zh_wit **out) {
  if (!out || !dir)
    return zh_error_new(ZH_ERR_USAGE, "zh_wit_load_dir: NULL argument");
  *out = NULL;
  wit_arena a = {0};
  loader l = {&a, {0}};
  ast_file **files;
  size_t n;
  wit_src_pkg *root = NULL;
  zh_error *err = parse_dir(&a, dir, &files, &n);
  if (!err && n == 0)
    err = zh_error_new(ZH_ERR_INVALID, "%s: no .wit files", dir);
  if (!err)
    err = load_deps(&l, dir);
  if (!err)
    err = add_group(&l, files, n, dir, &root);
  if (!err)
    err = finish(&l, root, out);
  wit_arena_free(&a);
  return err;
}
