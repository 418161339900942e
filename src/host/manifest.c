/* spin.toml v2 into zh_manifest (manifest.h): the schema, checked field by field.
 *
 * Each TOML table of the manifest has a list of the fields it may hold (the *_FIELDS arrays
 * below); anything else is refused before any field is read, so a typo is reported as an
 * unknown field rather than as a missing one. Fields are then read with typed getters that
 * report a wrong type at the value's position. Cross references (trigger -> component,
 * template -> variable) are checked last, once every table is known. The first error
 * stops the load. All strings and arrays are allocated from one arena owned by the
 * manifest, so error paths free everything with zh_manifest_free. */
#include "host/manifest.h"
#include "wasm/error.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the loading context: src/toml/schema.h does the typed reading ---- */

typedef struct ctx {
  zh_toml_schema s;
  zh_manifest *m;
} ctx;

#define fail(c, ...) zh_toml_schema_fail(&(c)->s, __VA_ARGS__)
#define arena_alloc(m, n) zh_toml_arena_alloc(&(m)->arena, (n))
#define arena_strndup(m, str, n) zh_toml_arena_strndup(&(m)->arena, (str), (n))
#define arena_printf(m, ...) zh_toml_arena_printf(&(m)->arena, __VA_ARGS__)

static bool oom(ctx *c) { return zh_toml_schema_oom(&c->s); }

static bool wrong_type(ctx *c, const zh_toml_entry *e, const char *where, const char *want) {
  return zh_toml_schema_wrong_type(&c->s, e, where, want);
}

static bool check_fields(ctx *c, const zh_toml_value *t, const char *where,
                         const char *const *allowed) {
  return zh_toml_schema_fields(&c->s, t, where, allowed);
}

static bool missing(ctx *c, const zh_toml_value *t, const char *where, const char *key) {
  return zh_toml_schema_missing(&c->s, t, where, key);
}

static bool get_str(ctx *c, const zh_toml_value *t, const char *key, const char *where,
                    bool required, const char **out) {
  return zh_toml_schema_str(&c->s, t, key, where, required, out);
}

static bool get_bool(ctx *c, const zh_toml_value *t, const char *key, const char *where,
                     bool *out) {
  return zh_toml_schema_bool(&c->s, t, key, where, out);
}

static bool get_table(ctx *c, const zh_toml_value *t, const char *key, const char *where,
                      const zh_toml_value **out) {
  return zh_toml_schema_table(&c->s, t, key, where, out);
}

static bool get_strs(ctx *c, const zh_toml_value *t, const char *key, const char *where,
                     zh_toml_str_check each, zh_manifest_strs *out) {
  return zh_toml_schema_strs(&c->s, t, key, where, each, c, out);
}

static bool get_str_map(ctx *c, const zh_toml_value *t, const char *key, const char *where,
                        zh_manifest_kv **out, size_t *nout) {
  return zh_toml_schema_str_map(&c->s, t, key, where, out, nout);
}

void zh_manifest_free(zh_manifest *m) {
  if (!m)
    return;
  zh_toml_arena_free(&m->arena);
  free(m);
}

/* ---- names and templates ---- */

/* Spin's component ids: lowercase kebab-case (words of a-z and 0-9, starting with a letter,
 * joined by single hyphens). */
static bool is_kebab(const char *s, size_t n) {
  if (n == 0 || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '-')
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '-') {
      if (s[i + 1] == '-')
        return false;
    } else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) {
      return false;
    }
  }
  return true;
}

/* Spin's variable names: lowercase snake_case. */
static bool is_snake(const char *s, size_t n) {
  if (n == 0 || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '_')
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '_') {
      if (s[i + 1] == '_')
        return false;
    } else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) {
      return false;
    }
  }
  return true;
}

/* Checks a `{{ var }}` template string: every `{{` closes with `}}` around one variable
 * name that [variables] declares. */
static bool check_template(ctx *c, const zh_toml_value *v, const char *key, const char *where);

static bool template_item(zh_toml_schema *s, const zh_toml_value *v, const char *key,
                          const char *where, void *ud) {
  (void)s;
  return check_template(ud, v, key, where);
}

static bool label_item(zh_toml_schema *s, const zh_toml_value *v, const char *key,
                       const char *where, void *ud) {
  (void)ud;
  if (v->u.str.len == 0)
    return zh_toml_schema_fail(s, v->line, v->col, "`%s` in %s: a label cannot be empty", key,
                               where);
  return true;
}

static bool check_template(ctx *c, const zh_toml_value *v, const char *key, const char *where) {
  const char *s = v->u.str.ptr;
  const char *p = s;
  while ((p = strstr(p, "{{")) != NULL) {
    const char *end = strstr(p + 2, "}}");
    if (!end)
      return fail(c, v->line, v->col, "`%s` in %s: unterminated `{{` in template \"%.80s\"", key,
                  where, s);
    const char *a = p + 2, *b = end;
    while (a < b && (*a == ' ' || *a == '\t'))
      a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
      b--;
    if (!is_snake(a, (size_t)(b - a)))
      return fail(c, v->line, v->col,
                  "`%s` in %s: `{{%.*s}}` is not a variable reference (lowercase snake_case)", key,
                  where, (int)(end - p - 2 > 64 ? 64 : end - p - 2), p + 2);
    bool declared = false;
    for (size_t i = 0; i < c->m->nvariables && !declared; i++)
      declared = strlen(c->m->variables[i].name) == (size_t)(b - a) &&
                 memcmp(c->m->variables[i].name, a, (size_t)(b - a)) == 0;
    if (!declared)
      return fail(c, v->line, v->col,
                  "`%s` in %s uses variable `%.*s`, which [variables] does not declare", key, where,
                  (int)(b - a), a);
    p = end + 2;
  }
  return true;
}

/* ---- paths ---- */

static const char *resolve(ctx *c, const char *path) {
  const char *r = path[0] == '/' ? arena_strndup(c->m, path, strlen(path))
                                 : arena_printf(c->m, "%s/%s", c->m->base_dir, path);
  if (!r)
    oom(c);
  return r;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* The path of a file: URL (file:///abs, file:/abs, file:rel or file://localhost/abs),
 * percent-decoded. NULL if it is not one. */
static char *file_url_path(ctx *c, const char *url) {
  if (strncmp(url, "file:", 5) != 0)
    return NULL;
  const char *p = url + 5;
  if (strncmp(p, "//", 2) == 0) {
    p += 2;
    if (strncmp(p, "localhost/", 10) == 0)
      p += 9;
    else if (*p != '/')
      return NULL;
  }
  size_t n = strlen(p);
  char *out = arena_alloc(c->m, n + 1), *o = out;
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    int h1 = i + 2 < n && p[i] == '%' ? hexval(p[i + 1]) : -1;
    int h2 = h1 >= 0 ? hexval(p[i + 2]) : -1;
    if (h2 >= 0) {
      *o++ = (char)(h1 * 16 + h2);
      i += 2;
    } else {
      *o++ = p[i];
    }
  }
  *o = 0;
  return out[0] ? out : NULL;
}

/* ---- sections ---- */

static const char *const ROOT_FIELDS[] = {
    "spin_manifest_version", "application", "variables", "trigger", "component", NULL};
static const char *const APP_FIELDS[] = {"name",    "version", "description",
                                         "authors", "trigger", NULL};
static const char *const APP_TRIGGER_FIELDS[] = {"http", "redis", NULL};
static const char *const APP_HTTP_FIELDS[] = {"base", NULL};
static const char *const APP_REDIS_FIELDS[] = {"address", NULL};
static const char *const VARIABLE_FIELDS[] = {"default", "required", "secret", NULL};
static const char *const COMPONENT_FIELDS[] = {"source",
                                               "description",
                                               "files",
                                               "exclude_files",
                                               "environment",
                                               "allowed_outbound_hosts",
                                               "allowed_http_hosts",
                                               "key_value_stores",
                                               "sqlite_databases",
                                               "ai_models",
                                               "variables",
                                               "build",
                                               "dependencies",
                                               "dependencies_inherit_configuration",
                                               NULL};
static const char *const SOURCE_FIELDS[] = {"url", "digest", NULL};
static const char *const FILE_FIELDS[] = {"source", "destination", NULL};
static const char *const BUILD_FIELDS[] = {"command", "workdir", "watch", NULL};
static const char *const DEPENDENCY_FIELDS[] = {
    "version", "path", "url", "digest", "registry", "package", "export", "component", NULL};
static const char *const HTTP_FIELDS[] = {"id",       "route",           "component",
                                          "executor", "static_response", NULL};
static const char *const REDIS_FIELDS[] = {"id", "channel", "component", "address", NULL};
static const char *const ROUTE_FIELDS[] = {"private", NULL};
static const char *const EXECUTOR_FIELDS[] = {"type", "argv", "entrypoint", NULL};
static const char *const STATIC_FIELDS[] = {"status_code", "headers", "body", NULL};

static bool read_application(ctx *c, const zh_toml_value *root) {
  const zh_toml_entry *e = zh_toml_entry_of(root, "application");
  if (!e)
    return fail(c, 1, 1, "the manifest has no [application] table");
  if (e->value->type != ZH_TOML_TABLE)
    return wrong_type(c, e, "the manifest", "a table");
  const zh_toml_value *app = e->value, *trig = NULL, *t = NULL;
  zh_manifest *m = c->m;
  if (!check_fields(c, app, "[application]", APP_FIELDS) ||
      !get_str(c, app, "name", "[application]", true, &m->name) ||
      !get_str(c, app, "version", "[application]", false, &m->version) ||
      !get_str(c, app, "description", "[application]", false, &m->description) ||
      !get_strs(c, app, "authors", "[application]", NULL, &m->authors) ||
      !get_table(c, app, "trigger", "[application]", &trig))
    return false;
  m->http_base = "/";
  if (!trig)
    return true;
  if (!check_fields(c, trig, "[application.trigger]", APP_TRIGGER_FIELDS) ||
      !get_table(c, trig, "http", "[application.trigger]", &t))
    return false;
  if (t && (!check_fields(c, t, "[application.trigger.http]", APP_HTTP_FIELDS) ||
            !get_str(c, t, "base", "[application.trigger.http]", false, &m->http_base)))
    return false;
  if (!get_table(c, trig, "redis", "[application.trigger]", &t))
    return false;
  if (t && (!check_fields(c, t, "[application.trigger.redis]", APP_REDIS_FIELDS) ||
            !get_str(c, t, "address", "[application.trigger.redis]", false, &m->redis_address)))
    return false;
  return true;
}

static bool read_variables(ctx *c, const zh_toml_value *root) {
  const zh_toml_value *vars;
  if (!get_table(c, root, "variables", "the manifest", &vars) || !vars)
    return !c->s.err;
  zh_manifest *m = c->m;
  m->variables = arena_alloc(m, vars->u.tab.len * sizeof *m->variables);
  if (!m->variables)
    return oom(c);
  for (size_t i = 0; i < vars->u.tab.len; i++) {
    const zh_toml_entry *e = &vars->u.tab.items[i];
    if (!is_snake(e->key, e->key_len))
      return fail(c, e->line, e->col,
                  "variable name `%s` is invalid: use lowercase snake_case (a-z, 0-9, _)", e->key);
    char *where = arena_printf(m, "variable `%s`", e->key);
    if (!where)
      return oom(c);
    if (e->value->type != ZH_TOML_TABLE)
      return wrong_type(c, e, "[variables]", "a table such as { default = \"...\" }");
    zh_manifest_variable *v = &m->variables[i];
    v->name = arena_strndup(m, e->key, e->key_len);
    v->line = e->line;
    v->col = e->col;
    if (!v->name)
      return oom(c);
    if (!check_fields(c, e->value, where, VARIABLE_FIELDS) ||
        !get_str(c, e->value, "default", where, false, &v->default_value) ||
        !get_bool(c, e->value, "required", where, &v->required) ||
        !get_bool(c, e->value, "secret", where, &v->secret))
      return false;
    if (v->required && v->default_value)
      return fail(c, e->line, e->col, "variable `%s` cannot be both required and have a default",
                  e->key);
    if (!v->required && !v->default_value)
      return fail(c, e->line, e->col, "variable `%s` needs a default or required = true", e->key);
    m->nvariables = i + 1;
  }
  return true;
}

static bool read_source(ctx *c, const zh_toml_value *t, const char *where,
                        zh_manifest_component *comp) {
  const zh_toml_entry *e = zh_toml_entry_of(t, "source");
  if (!e)
    return missing(c, t, where, "source");
  const zh_toml_value *v = e->value;
  if (v->type == ZH_TOML_STRING) {
    const char *s = NULL;
    if (!get_str(c, t, "source", where, true, &s))
      return false;
    if (!*s)
      return fail(c, v->line, v->col, "`source` in %s is empty", where);
    comp->source_kind = ZH_MANIFEST_SOURCE_PATH;
    return (comp->source = resolve(c, s)) != NULL;
  }
  if (v->type != ZH_TOML_TABLE)
    return wrong_type(c, e, where, "a path or a table { url, digest }");
  char *w = arena_printf(c->m, "`source` of %s", where);
  if (!w)
    return oom(c);
  if (!check_fields(c, v, w, SOURCE_FIELDS) || !get_str(c, v, "url", w, true, &comp->source_url) ||
      !get_str(c, v, "digest", w, true, &comp->source_digest))
    return false;
  const zh_toml_entry *u = zh_toml_entry_of(v, "url");
  char *path = file_url_path(c, comp->source_url);
  if (c->s.err)
    return false;
  if (!path)
    return fail(c, u->value->line, u->value->col,
                "`url` in %s: only file: URLs are supported, found \"%.100s\"", w,
                comp->source_url);
  if (strncmp(comp->source_digest, "sha256:", 7) != 0 || strlen(comp->source_digest) != 7 + 64 ||
      strspn(comp->source_digest + 7, "0123456789abcdef") != 64) {
    const zh_toml_entry *d = zh_toml_entry_of(v, "digest");
    return fail(c, d->value->line, d->value->col,
                "`digest` in %s must be \"sha256:\" and 64 lowercase hex digits", w);
  }
  comp->source_kind = ZH_MANIFEST_SOURCE_URL;
  return (comp->source = resolve(c, path)) != NULL;
}

/* Whether a path has a ".." component. */
static bool has_dotdot(const char *p) {
  for (const char *q = p; (q = strstr(q, "..")) != NULL; q += 2)
    if ((q == p || q[-1] == '/') && (q[2] == 0 || q[2] == '/'))
      return true;
  return false;
}

static bool read_files(ctx *c, const zh_toml_value *t, const char *where,
                       zh_manifest_component *comp) {
  const zh_toml_entry *e = zh_toml_entry_of(t, "files");
  if (!e)
    return true;
  if (e->value->type != ZH_TOML_ARRAY)
    return wrong_type(c, e, where, "an array");
  size_t n = e->value->u.arr.len;
  comp->files = arena_alloc(c->m, n * sizeof *comp->files);
  if (!comp->files)
    return oom(c);
  for (size_t i = 0; i < n; i++) {
    const zh_toml_value *it = e->value->u.arr.items[i];
    zh_manifest_file *f = &comp->files[i];
    if (it->type == ZH_TOML_STRING) {
      if (strlen(it->u.str.ptr) != it->u.str.len || it->u.str.len == 0)
        return fail(c, it->line, it->col, "`files` in %s: an empty or NUL-holding pattern", where);
      /* Matches are mounted at their path relative to the manifest, so they must be under
       * it: the pattern is relative and never climbs. */
      if (it->u.str.ptr[0] == '/' || has_dotdot(it->u.str.ptr))
        return fail(c, it->line, it->col,
                    "`files` pattern \"%.80s\" in %s must be relative to the manifest's "
                    "directory, without `..`",
                    it->u.str.ptr, where);
      if (!(f->source = arena_strndup(c->m, it->u.str.ptr, it->u.str.len)))
        return oom(c);
      continue;
    }
    if (it->type != ZH_TOML_TABLE)
      return fail(c, it->line, it->col,
                  "`files` in %s must hold globs or { source, destination } tables, found %s",
                  where, zh_toml_a_type(it->type));
    char *w = arena_printf(c->m, "a `files` entry of %s", where);
    if (!w)
      return oom(c);
    if (!check_fields(c, it, w, FILE_FIELDS) || !get_str(c, it, "source", w, true, &f->source) ||
        !get_str(c, it, "destination", w, true, &f->destination))
      return false;
    if (f->destination[0] != '/') {
      const zh_toml_value *d = zh_toml_get(it, "destination");
      return fail(c, d->line, d->col, "`destination` in %s must be an absolute path", w);
    }
  }
  comp->nfiles = n;
  return true;
}

static bool read_build(ctx *c, const zh_toml_value *t, const char *where,
                       zh_manifest_component *comp) {
  const zh_toml_value *b;
  if (!get_table(c, t, "build", where, &b) || !b)
    return !c->s.err;
  char *w = arena_printf(c->m, "the build of %s", where);
  if (!w)
    return oom(c);
  comp->has_build = true;
  if (!check_fields(c, b, w, BUILD_FIELDS) ||
      !get_str(c, b, "workdir", w, false, &comp->build_workdir) ||
      !get_strs(c, b, "watch", w, NULL, &comp->build_watch))
    return false;
  const zh_toml_entry *e = zh_toml_entry_of(b, "command");
  if (!e)
    return missing(c, b, w, "command");
  if (e->value->type == ZH_TOML_STRING) {
    if (!get_str(c, b, "command", w, true, &comp->build_command))
      return false;
    comp->build_commands.items = &comp->build_command;
    comp->build_commands.len = 1;
    return true;
  }
  if (e->value->type != ZH_TOML_ARRAY)
    return wrong_type(c, e, w, "a string or an array of strings");
  if (!get_strs(c, b, "command", w, NULL, &comp->build_commands))
    return false;
  size_t len = 1;
  for (size_t i = 0; i < comp->build_commands.len; i++)
    len += strlen(comp->build_commands.items[i]) + 4;
  char *joined = arena_alloc(c->m, len);
  if (!joined)
    return oom(c);
  for (size_t i = 0; i < comp->build_commands.len; i++) {
    if (i)
      strcat(joined, " && ");
    strcat(joined, comp->build_commands.items[i]);
  }
  comp->build_command = joined;
  return true;
}

static bool read_dependencies(ctx *c, const zh_toml_value *t, const char *where,
                              zh_manifest_component *comp) {
  const zh_toml_value *deps;
  if (!get_table(c, t, "dependencies", where, &deps) || !deps)
    return !c->s.err;
  comp->dependencies = arena_alloc(c->m, deps->u.tab.len * sizeof *comp->dependencies);
  if (!comp->dependencies)
    return oom(c);
  for (size_t i = 0; i < deps->u.tab.len; i++) {
    const zh_toml_entry *e = &deps->u.tab.items[i];
    zh_manifest_dependency *d = &comp->dependencies[i];
    if (!strchr(e->key, ':') || strlen(e->key) != e->key_len)
      return fail(c, e->line, e->col,
                  "dependency `%s` of %s must be named \"namespace:package[/interface][@version]\"",
                  e->key, where);
    if (!(d->name = arena_strndup(c->m, e->key, e->key_len)))
      return oom(c);
    if (e->value->type == ZH_TOML_STRING) {
      if (!(d->version = arena_strndup(c->m, e->value->u.str.ptr, e->value->u.str.len)))
        return oom(c);
      continue;
    }
    if (e->value->type != ZH_TOML_TABLE)
      return wrong_type(c, e, where, "a version string or a table");
    char *w = arena_printf(c->m, "dependency `%s` of %s", e->key, where);
    const zh_toml_value *v = e->value;
    if (!w)
      return oom(c);
    if (!check_fields(c, v, w, DEPENDENCY_FIELDS) ||
        !get_str(c, v, "version", w, false, &d->version) ||
        !get_str(c, v, "path", w, false, &d->path) || !get_str(c, v, "url", w, false, &d->url) ||
        !get_str(c, v, "digest", w, false, &d->digest) ||
        !get_str(c, v, "registry", w, false, &d->registry) ||
        !get_str(c, v, "package", w, false, &d->package) ||
        !get_str(c, v, "export", w, false, &d->export_) ||
        !get_str(c, v, "component", w, false, &d->component))
      return false;
    if (d->path && !(d->path = resolve(c, d->path)))
      return false;
    if (!d->version && !d->path && !d->url && !d->component)
      return fail(c, e->line, e->col, "%s needs a version, path, url or component", w);
  }
  comp->ndependencies = deps->u.tab.len;
  return true;
}

static bool read_component(ctx *c, const zh_toml_value *t, const char *where,
                           zh_manifest_component *comp) {
  comp->line = t->line;
  comp->col = t->col;
  if (!check_fields(c, t, where, COMPONENT_FIELDS) || !read_source(c, t, where, comp) ||
      !get_str(c, t, "description", where, false, &comp->description) ||
      !read_files(c, t, where, comp) ||
      !get_strs(c, t, "exclude_files", where, NULL, &comp->exclude_files) ||
      !get_str_map(c, t, "environment", where, &comp->environment, &comp->nenvironment) ||
      !get_strs(c, t, "allowed_outbound_hosts", where, template_item,
                &comp->allowed_outbound_hosts) ||
      !get_strs(c, t, "allowed_http_hosts", where, NULL, &comp->allowed_http_hosts) ||
      !get_strs(c, t, "key_value_stores", where, label_item, &comp->key_value_stores) ||
      !get_strs(c, t, "sqlite_databases", where, label_item, &comp->sqlite_databases) ||
      !get_strs(c, t, "ai_models", where, NULL, &comp->ai_models) ||
      !get_str_map(c, t, "variables", where, &comp->variables, &comp->nvariables) ||
      !read_build(c, t, where, comp) || !read_dependencies(c, t, where, comp) ||
      !get_bool(c, t, "dependencies_inherit_configuration", where,
                &comp->dependencies_inherit_configuration))
    return false;
  /* Component variables: snake_case names and checked templates. */
  const zh_toml_value *vars = zh_toml_get(t, "variables");
  for (size_t i = 0; vars && i < vars->u.tab.len; i++) {
    const zh_toml_entry *e = &vars->u.tab.items[i];
    if (!is_snake(e->key, e->key_len))
      return fail(c, e->line, e->col,
                  "variable name `%s` in %s is invalid: use lowercase snake_case", e->key, where);
    char *key = arena_printf(c->m, "variables.%s", e->key);
    if (!key)
      return oom(c);
    if (!check_template(c, e->value, key, where))
      return false;
  }
  return true;
}

/* ---- triggers ---- */

/* How many components the triggers define inline, to size the component array. */
static size_t count_inline(const zh_toml_value *triggers) {
  size_t n = 0;
  for (size_t i = 0; triggers && i < triggers->u.tab.len; i++) {
    const zh_toml_value *list = triggers->u.tab.items[i].value;
    if (list->type != ZH_TOML_ARRAY)
      continue;
    for (size_t j = 0; j < list->u.arr.len; j++)
      n += zh_toml_get(list->u.arr.items[j], "component") &&
           zh_toml_get(list->u.arr.items[j], "component")->type == ZH_TOML_TABLE;
  }
  return n;
}

/* The trigger's component: an id (checked later) or an inline table, made a component. */
static bool trigger_component(ctx *c, const zh_toml_value *t, const char *where,
                              const char *trigger_id, bool required, const char **out) {
  const zh_toml_entry *e = zh_toml_entry_of(t, "component");
  if (!e)
    return required ? missing(c, t, where, "component") : true;
  if (e->value->type == ZH_TOML_STRING)
    return get_str(c, t, "component", where, true, out);
  if (e->value->type != ZH_TOML_TABLE)
    return wrong_type(c, e, where, "a component id or an inline component table");
  zh_manifest *m = c->m;
  char *id = arena_printf(m, "%s-component", trigger_id);
  if (!id)
    return oom(c);
  if (zh_manifest_component_find(m, id) || !is_kebab(id, strlen(id))) {
    for (int n = 1;; n++) {
      if (!(id = arena_printf(m, "inline-component%d", n)))
        return oom(c);
      if (!zh_manifest_component_find(m, id))
        break;
    }
  }
  zh_manifest_component *comp = &m->components[m->ncomponents];
  char *w = arena_printf(m, "the inline component of %s", where);
  if (!w)
    return oom(c);
  comp->id = id;
  comp->is_inline = true;
  if (!read_component(c, e->value, w, comp))
    return false;
  m->ncomponents++;
  *out = id;
  return true;
}

/* Whether a trigger id is taken: written as some trigger's `id`, or already given. */
static bool id_taken(const ctx *c, const zh_toml_value *triggers, const char *id) {
  for (size_t i = 0; i < triggers->u.tab.len; i++) {
    const zh_toml_value *list = triggers->u.tab.items[i].value;
    for (size_t j = 0; list->type == ZH_TOML_ARRAY && j < list->u.arr.len; j++) {
      const zh_toml_value *v = zh_toml_get(list->u.arr.items[j], "id");
      if (v && v->type == ZH_TOML_STRING && strcmp(v->u.str.ptr, id) == 0)
        return true;
    }
  }
  const zh_manifest *m = c->m;
  for (size_t i = 0; i < m->nhttp; i++)
    if (strcmp(m->http[i].id, id) == 0)
      return true;
  for (size_t i = 0; i < m->nredis; i++)
    if (strcmp(m->redis[i].id, id) == 0)
      return true;
  return false;
}

/* A trigger's id: its own, or the one Spin generates: "<component>-<type>-trigger" when it
 * names a component and that is free, else the first free "<type>-trigger<N>". */
static bool trigger_id(ctx *c, const zh_toml_value *t, const zh_toml_value *triggers,
                       const char *type, const char *where, int *counter, const char **out) {
  if (!get_str(c, t, "id", where, false, out))
    return false;
  if (*out)
    return true;
  const zh_toml_value *comp = zh_toml_get(t, "component");
  if (comp && comp->type == ZH_TOML_STRING) {
    if (!(*out = arena_printf(c->m, "%s-%s-trigger", comp->u.str.ptr, type)))
      return oom(c);
    if (!id_taken(c, triggers, *out))
      return true;
  }
  do {
    if (!(*out = arena_printf(c->m, "%s-trigger%d", type, ++*counter)))
      return oom(c);
  } while (id_taken(c, triggers, *out));
  return true;
}

static bool read_http(ctx *c, const zh_toml_value *t, const zh_toml_value *triggers,
                      const char *where, int *counter, zh_manifest_http_trigger *h) {
  h->line = t->line;
  h->col = t->col;
  if (!check_fields(c, t, where, HTTP_FIELDS) ||
      !trigger_id(c, t, triggers, "http", where, counter, &h->id))
    return false;
  const zh_toml_entry *r = zh_toml_entry_of(t, "route");
  if (!r)
    return missing(c, t, where, "route");
  if (r->value->type == ZH_TOML_TABLE) {
    if (!check_fields(c, r->value, "`route`", ROUTE_FIELDS) ||
        !get_bool(c, r->value, "private", "`route`", &h->is_private))
      return false;
    if (!h->is_private)
      return fail(c, r->value->line, r->value->col,
                  "`route` in %s must be a path or { private = true }", where);
  } else if (r->value->type == ZH_TOML_STRING) {
    if (!get_str(c, t, "route", where, true, &h->route))
      return false;
    if (h->route[0] != '/')
      return fail(c, r->value->line, r->value->col, "`route` in %s must start with `/`", where);
  } else {
    return wrong_type(c, r, where, "a path or { private = true }");
  }
  const zh_toml_value *sr;
  if (!get_table(c, t, "static_response", where, &sr))
    return false;
  if (!trigger_component(c, t, where, h->id, !sr, &h->component))
    return false;
  if (sr) {
    if (h->component)
      return fail(c, sr->line, sr->col, "%s has both `component` and `static_response`", where);
    const char *sw = "`static_response`";
    h->has_static_response = true;
    h->static_status = 200;
    const zh_toml_entry *st = zh_toml_entry_of(sr, "status_code");
    if (!check_fields(c, sr, sw, STATIC_FIELDS) ||
        !get_str_map(c, sr, "headers", sw, &h->static_headers, &h->nstatic_headers) ||
        !get_str(c, sr, "body", sw, false, &h->static_body))
      return false;
    if (st) {
      if (st->value->type != ZH_TOML_INTEGER)
        return wrong_type(c, st, sw, "an integer");
      if (st->value->u.integer < 100 || st->value->u.integer > 999)
        return fail(c, st->value->line, st->value->col, "`status_code` %lld is not an HTTP status",
                    (long long)st->value->u.integer);
      h->static_status = (int)st->value->u.integer;
    }
  }
  const zh_toml_value *ex;
  if (!get_table(c, t, "executor", where, &ex))
    return false;
  if (ex) {
    const char *type = NULL;
    if (!check_fields(c, ex, "`executor`", EXECUTOR_FIELDS) ||
        !get_str(c, ex, "type", "`executor`", true, &type))
      return false;
    if (strcmp(type, "wagi") == 0) {
      h->wagi = true;
      h->wagi_argv = "${SCRIPT_NAME} ${ARGS}";
      h->wagi_entrypoint = "_start";
      if (!get_str(c, ex, "argv", "`executor`", false, &h->wagi_argv) ||
          !get_str(c, ex, "entrypoint", "`executor`", false, &h->wagi_entrypoint))
        return false;
    } else if (strcmp(type, "http") == 0 || strcmp(type, "spin") == 0) {
      if (zh_toml_get(ex, "argv") || zh_toml_get(ex, "entrypoint")) {
        const zh_toml_entry *x = zh_toml_entry_of(ex, "argv") ? zh_toml_entry_of(ex, "argv")
                                                              : zh_toml_entry_of(ex, "entrypoint");
        return fail(c, x->line, x->col, "`%s` applies only to the wagi executor", x->key);
      }
    } else {
      const zh_toml_value *tv = zh_toml_get(ex, "type");
      return fail(c, tv->line, tv->col, "unknown executor type `%.40s` in %s (wagi or http)", type,
                  where);
    }
  }
  return true;
}

static bool read_redis(ctx *c, const zh_toml_value *t, const zh_toml_value *triggers,
                       const char *where, int *counter, zh_manifest_redis_trigger *r) {
  r->line = t->line;
  r->col = t->col;
  if (!check_fields(c, t, where, REDIS_FIELDS) ||
      !trigger_id(c, t, triggers, "redis", where, counter, &r->id) ||
      !get_str(c, t, "channel", where, true, &r->channel) ||
      !get_str(c, t, "address", where, false, &r->address) ||
      !trigger_component(c, t, where, r->id, true, &r->component))
    return false;
  /* Spin expands variables in the address and the channel. */
  const zh_toml_entry *a = zh_toml_entry_of(t, "address");
  if (a && !check_template(c, a->value, "address", where))
    return false;
  if (!check_template(c, zh_toml_get(t, "channel"), "channel", where))
    return false;
  if (!r->address)
    r->address = c->m->redis_address;
  if (!r->address)
    return fail(c, t->line, t->col,
                "%s has no `address`, and [application.trigger.redis] gives none", where);
  return true;
}

static bool read_triggers(ctx *c, const zh_toml_value *triggers) {
  zh_manifest *m = c->m;
  for (size_t i = 0; triggers && i < triggers->u.tab.len; i++) {
    const zh_toml_entry *e = &triggers->u.tab.items[i];
    bool http = strcmp(e->key, "http") == 0, redis = strcmp(e->key, "redis") == 0;
    if (!http && !redis)
      return fail(c, e->line, e->col,
                  "trigger type `%s` is not supported (zerohop runs http and redis triggers)",
                  e->key);
    if (e->value->type != ZH_TOML_ARRAY)
      return fail(c, e->line, e->col, "`trigger.%s` must be an array of tables ([[trigger.%s]])",
                  e->key, e->key);
    const zh_toml_value *list = e->value;
    size_t n = list->u.arr.len;
    void *arr = arena_alloc(m, n * (http ? sizeof *m->http : sizeof *m->redis));
    if (!arr)
      return oom(c);
    if (http)
      m->http = arr;
    else
      m->redis = arr;
    int counter = 0;
    for (size_t j = 0; j < n; j++) {
      const zh_toml_value *t = list->u.arr.items[j];
      char *where = arena_printf(m, "[[trigger.%s]] #%zu", e->key, j + 1);
      if (!where)
        return oom(c);
      if (t->type != ZH_TOML_TABLE)
        return fail(c, t->line, t->col, "`trigger.%s` must hold tables, found %s", e->key,
                    zh_toml_a_type(t->type));
      if (http ? !read_http(c, t, triggers, where, &counter, &m->http[j])
               : !read_redis(c, t, triggers, where, &counter, &m->redis[j]))
        return false;
      if (http)
        m->nhttp = j + 1;
      else
        m->nredis = j + 1;
    }
  }
  return true;
}

/* Every trigger's component must exist; trigger ids must be unique. */
static bool check_references(ctx *c, const zh_toml_value *triggers) {
  zh_manifest *m = c->m;
  for (int kind = 0; kind < 2; kind++) {
    size_t n = kind ? m->nredis : m->nhttp;
    const zh_toml_value *list = zh_toml_get(triggers, kind ? "redis" : "http");
    for (size_t j = 0; j < n; j++) {
      const char *comp = kind ? m->redis[j].component : m->http[j].component;
      const char *id = kind ? m->redis[j].id : m->http[j].id;
      const zh_toml_value *t = list->u.arr.items[j];
      if (comp && !zh_manifest_component_find(m, comp)) {
        const zh_toml_value *v = zh_toml_get(t, "component");
        return fail(c, v->line, v->col,
                    "[[trigger.%s]] #%zu names component `%.80s`, which is not defined",
                    kind ? "redis" : "http", j + 1, comp);
      }
      for (int k2 = 0; k2 <= kind; k2++) {
        size_t n2 = k2 == kind ? j : m->nhttp;
        for (size_t i = 0; i < n2; i++)
          if (strcmp(k2 ? m->redis[i].id : m->http[i].id, id) == 0)
            return fail(c, t->line, t->col, "trigger id `%.80s` is used twice", id);
      }
    }
  }
  return true;
}

static bool read_version(ctx *c, const zh_toml_value *root) {
  const zh_toml_entry *e = zh_toml_entry_of(root, "spin_manifest_version");
  if (!e)
    return fail(c, 1, 1, "the manifest has no `spin_manifest_version` (zerohop reads version 2)");
  const zh_toml_value *v = e->value;
  bool one = (v->type == ZH_TOML_INTEGER && v->u.integer == 1) ||
             (v->type == ZH_TOML_STRING && strcmp(v->u.str.ptr, "1") == 0);
  if (one)
    return fail(c, v->line, v->col,
                "spin_manifest_version 1 is not supported: zerohop reads version 2 manifests");
  if (v->type != ZH_TOML_INTEGER || v->u.integer != 2)
    return fail(c, v->line, v->col, "`spin_manifest_version` must be 2");
  return true;
}

static bool read_manifest(ctx *c, const zh_toml_value *root) {
  zh_manifest *m = c->m;
  const zh_toml_value *comps = NULL, *triggers = NULL;
  if (!read_version(c, root) || !check_fields(c, root, "the manifest", ROOT_FIELDS) ||
      !read_application(c, root) || !read_variables(c, root) ||
      !get_table(c, root, "component", "the manifest", &comps) ||
      !get_table(c, root, "trigger", "the manifest", &triggers))
    return false;
  size_t ncomp = (comps ? comps->u.tab.len : 0) + count_inline(triggers);
  m->components = arena_alloc(m, ncomp * sizeof *m->components);
  if (!m->components)
    return oom(c);
  for (size_t i = 0; comps && i < comps->u.tab.len; i++) {
    const zh_toml_entry *e = &comps->u.tab.items[i];
    if (!is_kebab(e->key, e->key_len))
      return fail(c, e->line, e->col,
                  "component id `%.80s` is invalid: use lowercase kebab-case (a-z, 0-9, -)",
                  e->key);
    if (e->value->type != ZH_TOML_TABLE)
      return wrong_type(c, e, "[component]", "a table");
    zh_manifest_component *comp = &m->components[m->ncomponents];
    char *where = arena_printf(m, "[component.%s]", e->key);
    if (!where || !(comp->id = arena_strndup(m, e->key, e->key_len)))
      return oom(c);
    if (!read_component(c, e->value, where, comp))
      return false;
    m->ncomponents++;
  }
  if (!read_triggers(c, triggers) || !check_references(c, triggers))
    return false;
  if (m->redis_address) {
    const zh_toml_value *a =
        zh_toml_get(zh_toml_get(zh_toml_get(root, "application"), "trigger"), "redis");
    if (!check_template(c, zh_toml_get(a, "address"), "address", "[application.trigger.redis]"))
      return false;
  }
  return true;
}

zh_error *zh_manifest_parse(const char *text, size_t len, const char *filename,
                            const char *base_dir, zh_manifest **out) {
  *out = NULL;
  zh_manifest *m = calloc(1, sizeof *m);
  if (!m)
    return zh_error_oom();
  ctx c = {.s = {.file = filename ? filename : "spin.toml", .arena = &m->arena}, .m = m};
  char cwd[PATH_MAX];
  if (!base_dir)
    base_dir = getcwd(cwd, sizeof cwd) ? cwd : ".";
  m->path = arena_strndup(m, c.s.file, strlen(c.s.file));
  m->base_dir = arena_strndup(m, base_dir, strlen(base_dir));
  if (!m->path || !m->base_dir) {
    zh_manifest_free(m);
    return zh_error_oom();
  }
  zh_toml_value *root;
  zh_error *err = zh_toml_parse(text, len, c.s.file, &root);
  if (err) {
    zh_manifest_free(m);
    return err;
  }
  bool ok = read_manifest(&c, root);
  zh_toml_free(root);
  if (!ok) {
    zh_manifest_free(m);
    return c.s.err ? c.s.err : zh_error_new(ZH_ERR_INVALID, "%s: invalid manifest", c.s.file);
  }
  *out = m;
  return NULL;
}

/* Manifests are small; one larger than this is a mistake or an attack. */
#define ZH_MANIFEST_MAX_BYTES (16u << 20)

zh_error *zh_manifest_load(const char *path, zh_manifest **out) {
  *out = NULL;
  struct stat st;
  char *file = NULL;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    size_t n = strlen(path) + sizeof "/spin.toml";
    if ((file = malloc(n)) != NULL)
      snprintf(file, n, "%s/spin.toml", path);
  } else {
    file = strdup(path);
  }
  if (!file)
    return zh_error_oom();
  char *text, *dir;
  size_t len = 0;
  zh_error *err = zh_toml_read_file(file, ZH_MANIFEST_MAX_BYTES, &text, &len, &dir);
  if (!err)
    err = zh_manifest_parse(text, len, file, dir, out);
  free(text);
  free(dir);
  free(file);
  return err;
}

const zh_manifest_component *zh_manifest_component_find(const zh_manifest *m, const char *id) {
  for (size_t i = 0; m && i < m->ncomponents; i++)
    if (m->components[i].id && strcmp(m->components[i].id, id) == 0)
      return &m->components[i];
  return NULL;
}

const zh_manifest_variable *zh_manifest_variable_find(const zh_manifest *m, const char *name) {
  for (size_t i = 0; m && i < m->nvariables; i++)
    if (strcmp(m->variables[i].name, name) == 0)
      return &m->variables[i];
  return NULL;
}
