/* Spin's locked app (spin_lock_version 1), the config of a Spin OCI artefact: built from a
 * spin.toml for push, and turned back into a spin.toml plus files for pull.
 *
 * Shape (Spin's LockedApp): metadata {name, version, description, authors, triggers},
 * variables {NAME: {default?, secret}}, triggers [{id, trigger_type, trigger_config}],
 * components [{id, metadata {allowed_outbound_hosts, key_value_stores, databases},
 * source {content_type, digest}, env, files [{digest, path}], config}]. Contents are named by
 * digest only; the artefact's layers carry the bytes.
 *
 * The way back trusts nothing in the JSON: ids must be kebab-case and file paths relative
 * without `..`, since both become paths under the destination directory; every string written
 * into the TOML is escaped. */
#include "host/manifest.h"
#include "oci/oci.h"
#include "wasm/error.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static json_t *strs(const zh_manifest_strs *s) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < s->len; i++)
    json_array_append_new(a, json_string(s->items[i]));
  return a;
}

static json_t *kvs(const zh_manifest_kv *kv, size_t n) {
  json_t *o = json_object();
  for (size_t i = 0; o && i < n; i++)
    json_object_set_new(o, kv[i].key, json_string(kv[i].value));
  return o;
}

static json_t *http_trigger(const zh_manifest_http_trigger *t, size_t i) {
  json_t *cfg = json_object();
  if (!cfg)
    return NULL;
  if (t->component)
    json_object_set_new(cfg, "component", json_string(t->component));
  if (t->is_private)
    json_object_set_new(cfg, "route", json_pack("{s:b}", "private", 1));
  else if (t->route)
    json_object_set_new(cfg, "route", json_string(t->route));
  if (t->wagi)
    json_object_set_new(cfg, "executor",
                        json_pack("{s:s, s:s, s:s}", "type", "wagi", "argv",
                                  t->wagi_argv ? t->wagi_argv : "${SCRIPT_NAME} ${ARGS}",
                                  "entrypoint",
                                  t->wagi_entrypoint ? t->wagi_entrypoint : "_start"));
  char id[512];
  snprintf(id, sizeof id, "%s", t->id ? t->id : "");
  if (!t->id)
    snprintf(id, sizeof id, "http-trigger%zu", i + 1);
  return json_pack("{s:s, s:s, s:o}", "id", id, "trigger_type", "http", "trigger_config", cfg);
}

static json_t *redis_trigger(const zh_manifest_redis_trigger *t, size_t i) {
  json_t *cfg = json_pack("{s:s, s:s}", "channel", t->channel, "component", t->component);
  if (cfg && t->address)
    json_object_set_new(cfg, "address", json_string(t->address));
  char id[512];
  snprintf(id, sizeof id, "%s", t->id ? t->id : "");
  if (!t->id)
    snprintf(id, sizeof id, "redis-trigger%zu", i + 1);
  return json_pack("{s:s, s:s, s:o}", "id", id, "trigger_type", "redis", "trigger_config", cfg);
}

zh_error *zh_oci_locked_build(const zh_manifest *m, zh_oci_digest_fn digest_of,
                              zh_oci_files_fn files_of, void *ctx, char **out) {
  *out = NULL;
  json_t *meta = json_pack("{s:s, s:s}", "name", m->name ? m->name : "app", "version",
                           m->version ? m->version : "");
  if (meta && m->description)
    json_object_set_new(meta, "description", json_string(m->description));
  if (meta && m->authors.len)
    json_object_set_new(meta, "authors", strs(&m->authors));
  json_t *trig = json_object();
  if (trig)
    json_object_set_new(trig, "http",
                        json_pack("{s:s}", "base", m->http_base ? m->http_base : "/"));
  if (trig && m->redis_address)
    json_object_set_new(trig, "redis", json_pack("{s:s}", "address", m->redis_address));
  if (meta)
    json_object_set_new(meta, "triggers", trig);
  json_t *vars = json_object();
  for (size_t i = 0; vars && i < m->nvariables; i++) {
    const zh_manifest_variable *v = &m->variables[i];
    json_t *o = json_pack("{s:b}", "secret", v->secret);
    if (o && v->default_value)
      json_object_set_new(o, "default", json_string(v->default_value));
    json_object_set_new(vars, v->name, o);
  }
  json_t *triggers = json_array();
  for (size_t i = 0; triggers && i < m->nhttp; i++)
    json_array_append_new(triggers, http_trigger(&m->http[i], i));
  for (size_t i = 0; triggers && i < m->nredis; i++)
    json_array_append_new(triggers, redis_trigger(&m->redis[i], i));
  json_t *comps = json_array();
  zh_error *err = NULL;
  for (size_t i = 0; comps && !err && i < m->ncomponents; i++) {
    const zh_manifest_component *c = &m->components[i];
    /* copied: listing the files may add digests and move the table it points into */
    char digest[ZH_OCI_DIGEST_LEN] = "";
    const char *d = digest_of(ctx, c->source);
    if (d)
      snprintf(digest, sizeof digest, "%s", d);
    zh_oci_locked_file *files = NULL;
    size_t nfiles = 0;
    err = files_of(ctx, i, &files, &nfiles);
    if (err || !d) {
      err =
          err ? err : zh_error_new(ZH_ERR_IO, "component `%s`: no digest for %s", c->id, c->source);
      break;
    }
    json_t *fa = json_array();
    for (size_t k = 0; fa && k < nfiles; k++) {
      const char *fd = digest_of(ctx, files[k].host);
      if (!fd) {
        err = zh_error_new(ZH_ERR_IO, "component `%s`: no digest for %s", c->id, files[k].host);
        break;
      }
      json_array_append_new(fa, json_pack("{s:s, s:s}", "digest", fd, "path", files[k].guest));
    }
    json_t *cm = json_pack("{s:o, s:o, s:o}", "allowed_outbound_hosts",
                           strs(&c->allowed_outbound_hosts), "key_value_stores",
                           strs(&c->key_value_stores), "databases", strs(&c->sqlite_databases));
    json_t *comp = json_pack("{s:s, s:o, s:{s:s, s:s}, s:o, s:o, s:o}", "id", c->id, "metadata", cm,
                             "source", "content_type", "application/wasm", "digest", digest, "env",
                             kvs(c->environment, c->nenvironment), "files", fa, "config",
                             kvs(c->variables, c->nvariables));
    if (!comp)
      err = err ? err : zh_error_oom();
    json_array_append_new(comps, comp);
  }
  json_t *doc = json_pack("{s:i, s:o, s:o, s:o, s:o}", "spin_lock_version", 1, "metadata", meta,
                          "variables", vars, "triggers", triggers, "components", comps);
  if (!err && !doc)
    err = zh_error_oom();
  if (!err && !(*out = json_dumps(doc, JSON_INDENT(2))))
    err = zh_error_oom();
  json_decref(doc);
  return err;
}

/* ---- back to spin.toml ---- */

/* key = "value" and a newline. */
static void toml_kv(zh_oci_buf *b, const char *key, const char *value) {
  zh_oci_buf_printf(b, "%s = ", key);
  zh_oci_buf_quoted(b, value);
  zh_oci_buf_str(b, "\n");
}

static bool kebab(const char *s) {
  if (!*s || strlen(s) > 128)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
      return false;
  return s[0] != '-';
}

/* A relative path with no empty, `.` or `..` component. */
static bool safe_rel(const char *p) {
  if (!*p || *p == '/' || strlen(p) > 1024)
    return false;
  for (const char *s = p; *s;) {
    size_t n = strcspn(s, "/");
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
      return false;
    s += n;
    if (*s == '/')
      s++;
  }
  return true;
}

static void str_array(zh_oci_buf *b, const char *key, json_t *a) {
  if (!json_is_array(a) || json_array_size(a) == 0)
    return;
  zh_oci_buf_printf(b, "%s = [", key);
  for (size_t i = 0; i < json_array_size(a); i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (!s)
      continue;
    if (i)
      zh_oci_buf_str(b, ", ");
    zh_oci_buf_quoted(b, s);
  }
  zh_oci_buf_str(b, "]\n");
}

static void str_table(zh_oci_buf *b, json_t *o) {
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if (!json_is_string(v))
      continue;
    zh_oci_buf_quoted(b, k);
    zh_oci_buf_str(b, " = ");
    zh_oci_buf_quoted(b, json_string_value(v));
    zh_oci_buf_str(b, "\n");
  }
}

static zh_error *mkdirs(const char *path) {
  char *p = strdup(path);
  if (!p)
    return zh_error_oom();
  for (char *s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      zh_error *err = zh_error_new(ZH_ERR_IO, "%s: %s", p, strerror(errno));
      free(p);
      return err;
    }
    *s = '/';
  }
  free(p);
  return NULL;
}

static zh_error *triggers_toml(zh_oci_buf *b, json_t *triggers, const char *what) {
  for (size_t i = 0; i < json_array_size(triggers); i++) {
    json_t *t = json_array_get(triggers, i);
    const char *type = json_string_value(json_object_get(t, "trigger_type"));
    json_t *cfg = json_object_get(t, "trigger_config");
    const char *comp = json_string_value(json_object_get(cfg, "component"));
    if (!type || !json_is_object(cfg))
      return zh_error_new(ZH_ERR_MALFORMED,
                          "%s: triggers[%zu] needs trigger_type and trigger_config", what, i);
    if (!comp || !kebab(comp))
      return zh_error_new(ZH_ERR_MALFORMED, "%s: triggers[%zu]: a component id is required", what,
                          i);
    if (!strcmp(type, "http")) {
      zh_oci_buf_str(b, "\n[[trigger.http]]\n");
      json_t *route = json_object_get(cfg, "route");
      if (json_is_string(route)) {
        toml_kv(b, "route", json_string_value(route));
      } else if (json_is_true(json_object_get(route, "private"))) {
        zh_oci_buf_str(b, "route = { private = true }\n");
      } else {
        return zh_error_new(ZH_ERR_MALFORMED, "%s: triggers[%zu]: no route", what, i);
      }
      json_t *ex = json_object_get(cfg, "executor");
      const char *ext = json_string_value(json_object_get(ex, "type"));
      if (ext && !strcmp(ext, "wagi")) {
        zh_oci_buf_str(b, "executor = { type = \"wagi\"");
        const char *argv = json_string_value(json_object_get(ex, "argv"));
        const char *entry = json_string_value(json_object_get(ex, "entrypoint"));
        if (argv) {
          zh_oci_buf_str(b, ", argv = ");
          zh_oci_buf_quoted(b, argv);
        }
        if (entry) {
          zh_oci_buf_str(b, ", entrypoint = ");
          zh_oci_buf_quoted(b, entry);
        }
        zh_oci_buf_str(b, " }\n");
      }
    } else if (!strcmp(type, "redis")) {
      const char *ch = json_string_value(json_object_get(cfg, "channel"));
      const char *addr = json_string_value(json_object_get(cfg, "address"));
      if (!ch)
        return zh_error_new(ZH_ERR_MALFORMED, "%s: triggers[%zu]: no channel", what, i);
      zh_oci_buf_str(b, "\n[[trigger.redis]]\n");
      toml_kv(b, "channel", ch);
      if (addr)
        toml_kv(b, "address", addr);
    } else {
      char shown[64];
      return zh_error_new(ZH_ERR_MALFORMED, "%s: triggers[%zu]: trigger type `%s` is not supported",
                          what, i, zh_oci_clean(type, shown, sizeof shown));
    }
    toml_kv(b, "component", comp);
  }
  return NULL;
}

static zh_error *component_toml(zh_oci_buf *b, json_t *c, size_t i, const char *what,
                                const char *dir, zh_oci_content_fn put, void *ctx) {
  const char *id = json_string_value(json_object_get(c, "id"));
  json_t *src = json_object_get(c, "source");
  const char *digest = json_string_value(json_object_get(src, "digest"));
  if (!id || !kebab(id))
    return zh_error_new(ZH_ERR_MALFORMED, "%s: components[%zu].id must be a component id", what, i);
  if (!digest || !zh_oci_digest_valid(digest))
    return zh_error_new(ZH_ERR_MALFORMED, "%s: component `%s`: source.digest is missing or bad",
                        what, id);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.wasm", dir, id);
  zh_error *err = put(ctx, digest, path);
  if (err)
    return err;
  zh_oci_buf_printf(b, "\n[component.%s]\nsource = \"%s.wasm\"\n", id, id);
  json_t *files = json_object_get(c, "files");
  for (size_t k = 0; k < json_array_size(files); k++) {
    json_t *f = json_array_get(files, k);
    const char *fd = json_string_value(json_object_get(f, "digest"));
    const char *fp = json_string_value(json_object_get(f, "path"));
    if (fp && fp[0] == '/')
      fp++;
    if (!fd || !zh_oci_digest_valid(fd) || !fp || !safe_rel(fp))
      return zh_error_new(ZH_ERR_MALFORMED,
                          "%s: component `%s`: files[%zu] needs a digest and a relative path "
                          "without `..`",
                          what, id, k);
    snprintf(path, sizeof path, "%s/files/%s/%s", dir, id, fp);
    if ((err = mkdirs(path)) || (err = put(ctx, fd, path)))
      return err;
  }
  if (json_array_size(files))
    zh_oci_buf_printf(b, "files = [{ source = \"files/%s\", destination = \"/\" }]\n", id);
  json_t *meta = json_object_get(c, "metadata");
  str_array(b, "allowed_outbound_hosts", json_object_get(meta, "allowed_outbound_hosts"));
  str_array(b, "key_value_stores", json_object_get(meta, "key_value_stores"));
  str_array(b, "sqlite_databases", json_object_get(meta, "databases"));
  json_t *env = json_object_get(c, "env");
  if (json_object_size(env)) {
    zh_oci_buf_printf(b, "[component.%s.environment]\n", id);
    str_table(b, env);
  }
  json_t *cfg = json_object_get(c, "config");
  if (json_object_size(cfg)) {
    zh_oci_buf_printf(b, "[component.%s.variables]\n", id);
    str_table(b, cfg);
  }
  return NULL;
}

zh_error *zh_oci_locked_materialise(const void *data, size_t len, const char *what, const char *dir,
                                    zh_oci_content_fn put, void *ctx) {
  json_error_t je;
  json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
  if (!doc) {
    char shown[200];
    return zh_error_new(ZH_ERR_MALFORMED, "%s:%d:%d: %s", what, je.line, je.column,
                        zh_oci_clean(je.text, shown, sizeof shown));
  }
  zh_oci_buf b = {0};
  zh_error *err = NULL;
  json_t *ver = json_object_get(doc, "spin_lock_version");
  if (!json_is_integer(ver) || json_integer_value(ver) < 0 || json_integer_value(ver) > 1)
    err = zh_error_new(ZH_ERR_MALFORMED, "%s: spin_lock_version must be 0 or 1", what);
  json_t *meta = json_object_get(doc, "metadata");
  const char *name = json_string_value(json_object_get(meta, "name"));
  const char *version = json_string_value(json_object_get(meta, "version"));
  const char *desc = json_string_value(json_object_get(meta, "description"));
  zh_oci_buf_str(&b, "# written by `zerohop registry pull` from a Spin locked app\n"
                     "spin_manifest_version = 2\n\n[application]\n");
  toml_kv(&b, "name", name ? name : "app");
  if (version && *version)
    toml_kv(&b, "version", version);
  if (desc)
    toml_kv(&b, "description", desc);
  str_array(&b, "authors", json_object_get(meta, "authors"));
  json_t *trig = json_object_get(meta, "triggers");
  const char *base = json_string_value(json_object_get(json_object_get(trig, "http"), "base"));
  const char *raddr = json_string_value(json_object_get(json_object_get(trig, "redis"), "address"));
  if (base && strcmp(base, "/") != 0) {
    zh_oci_buf_str(&b, "[application.trigger.http]\n");
    toml_kv(&b, "base", base);
  }
  if (raddr) {
    zh_oci_buf_str(&b, "[application.trigger.redis]\n");
    toml_kv(&b, "address", raddr);
  }
  json_t *vars = json_object_get(doc, "variables");
  if (!err && json_object_size(vars)) {
    zh_oci_buf_str(&b, "\n[variables]\n");
    const char *k;
    json_t *v;
    json_object_foreach(vars, k, v) {
      const char *def = json_string_value(json_object_get(v, "default"));
      bool secret = json_is_true(json_object_get(v, "secret"));
      zh_oci_buf_quoted(&b, k);
      zh_oci_buf_str(&b, " = { ");
      if (def) {
        zh_oci_buf_str(&b, "default = ");
        zh_oci_buf_quoted(&b, def);
      } else {
        zh_oci_buf_str(&b, "required = true");
      }
      zh_oci_buf_str(&b, secret ? ", secret = true }\n" : " }\n");
    }
  }
  if (!err) {
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/x", dir);
    err = mkdirs(probe);
  }
  if (!err)
    err = triggers_toml(&b, json_object_get(doc, "triggers"), what);
  json_t *comps = json_object_get(doc, "components");
  for (size_t i = 0; !err && i < json_array_size(comps); i++)
    err = component_toml(&b, json_array_get(comps, i), i, what, dir, put, ctx);
  json_decref(doc);
  if (!err && b.oom)
    err = zh_error_oom();
  if (!err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/spin.toml", dir);
    FILE *f = fopen(path, "wb");
    if (!f) {
      err = zh_error_new(ZH_ERR_IO, "%s: %s", path, strerror(errno));
    } else {
      bool ok = fwrite(b.data, 1, b.len, f) == b.len;
      if ((fclose(f) != 0) || !ok)
        err = zh_error_new(ZH_ERR_IO, "%s: write failed", path);
    }
  }
  zh_oci_buf_free(&b);
  return err;
}
