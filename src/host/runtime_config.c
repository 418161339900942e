/* The runtime config file (runtime_config.h): Spin's tables plus zerohop's channels. Field
 * lists and typed reads come from src/toml/schema.h, as in the manifest. */
#include "host/runtime_config.h"
#include "wasm/error.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZH_RUNTIME_CONFIG_MAX_BYTES (4u << 20)

typedef struct ctx {
  zh_toml_schema s;
  zh_runtime_config *rc;
} ctx;

static const char *const ROOT_FIELDS[] = {
    "key_value_store", "sqlite_database", "config_provider", "variables_provider", "zerohop", NULL};
static const char *const KV_SPIN_FIELDS[] = {"type", "path", NULL};
static const char *const KV_REDIS_FIELDS[] = {"type", "url", NULL};
static const char *const SQLITE_FIELDS[] = {"type", "path", NULL};
static const char *const VAULT_FIELDS[] = {"type", "url", "token", "mount", "prefix", NULL};
static const char *const AZURE_FIELDS[] = {
    "type", "vault_url", "client_id", "client_secret", "tenant_id", "authority_host", NULL};
static const char *const ENV_FIELDS[] = {"type", "prefix", "dotenv_path", NULL};
static const char *const ZEROHOP_FIELDS[] = {"channels", "drain_timeout_ms", NULL};
static const char *const CHANNEL_FIELDS[] = {"transport", "queue",       "publish_timeout_ms",
                                             "retries",   "dead_letter", NULL};

static bool resolve(ctx *c, const char **path) {
  if (!*path || (*path)[0] == '/')
    return true;
  *path = zh_toml_arena_printf(&c->rc->arena, "%s/%s", c->rc->base_dir, *path);
  return *path || zh_toml_schema_oom(&c->s);
}

/* The `type` of a [TABLE.NAME] entry, which every entry needs. */
static bool entry_type(ctx *c, const zh_toml_value *t, const char *where, const char **type) {
  *type = NULL;
  return zh_toml_schema_str(&c->s, t, "type", where, true, type);
}

/* Each entry of a [TABLE.NAME] group: a table, with a non-empty name. */
static bool entry_table(ctx *c, const zh_toml_entry *e, const char *group, char **where) {
  *where = zh_toml_arena_printf(&c->rc->arena, "[%s.%s]", group, e->key);
  if (!*where)
    return zh_toml_schema_oom(&c->s);
  if (e->key_len == 0 || strlen(e->key) != e->key_len)
    return zh_toml_schema_fail(&c->s, e->line, e->col, "a [%s] name cannot be empty or hold NUL",
                               group);
  if (e->value->type != ZH_TOML_TABLE)
    return zh_toml_schema_wrong_type(&c->s, e, group, "a table");
  return true;
}

static bool unsupported(ctx *c, const zh_toml_value *t, const char *where, const char *type,
                        const char *supported) {
  const zh_toml_value *v = zh_toml_get(t, "type");
  return zh_toml_schema_fail(&c->s, v->line, v->col,
                             "%s: type \"%.60s\" is not supported by zerohop (supported: %s)",
                             where, type, supported);
}

static bool read_kv(ctx *c, const zh_toml_value *group) {
  zh_runtime_config *rc = c->rc;
  rc->kv_stores = zh_toml_arena_alloc(&rc->arena, group->u.tab.len * sizeof *rc->kv_stores);
  if (!rc->kv_stores)
    return zh_toml_schema_oom(&c->s);
  for (size_t i = 0; i < group->u.tab.len; i++) {
    const zh_toml_entry *e = &group->u.tab.items[i];
    zh_runtime_kv_store *kv = &rc->kv_stores[i];
    char *where;
    const char *type;
    if (!entry_table(c, e, "key_value_store", &where) || !entry_type(c, e->value, where, &type))
      return false;
    kv->name = zh_toml_arena_strndup(&rc->arena, e->key, e->key_len);
    kv->line = e->line;
    kv->col = e->col;
    if (!kv->name)
      return zh_toml_schema_oom(&c->s);
    if (strcmp(type, "spin") == 0) {
      kv->type = ZH_RUNTIME_STORE_SPIN;
      if (!zh_toml_schema_fields(&c->s, e->value, where, KV_SPIN_FIELDS) ||
          !zh_toml_schema_str(&c->s, e->value, "path", where, false, &kv->path) ||
          !resolve(c, &kv->path))
        return false;
    } else if (strcmp(type, "redis") == 0) {
      kv->type = ZH_RUNTIME_STORE_REDIS;
      if (!zh_toml_schema_fields(&c->s, e->value, where, KV_REDIS_FIELDS) ||
          !zh_toml_schema_str(&c->s, e->value, "url", where, true, &kv->url))
        return false;
      if (strncmp(kv->url, "redis://", 8) != 0 && strncmp(kv->url, "rediss://", 9) != 0) {
        const zh_toml_value *u = zh_toml_get(e->value, "url");
        return zh_toml_schema_fail(&c->s, u->line, u->col,
                                   "`url` in %s must be a redis:// or rediss:// URL", where);
      }
    } else {
      return unsupported(c, e->value, where, type, "spin, redis");
    }
    rc->nkv_stores = i + 1;
  }
  return true;
}

static bool read_sqlite(ctx *c, const zh_toml_value *group) {
  zh_runtime_config *rc = c->rc;
  rc->sqlite = zh_toml_arena_alloc(&rc->arena, group->u.tab.len * sizeof *rc->sqlite);
  if (!rc->sqlite)
    return zh_toml_schema_oom(&c->s);
  for (size_t i = 0; i < group->u.tab.len; i++) {
    const zh_toml_entry *e = &group->u.tab.items[i];
    zh_runtime_sqlite *db = &rc->sqlite[i];
    char *where;
    const char *type;
    if (!entry_table(c, e, "sqlite_database", &where) || !entry_type(c, e->value, where, &type))
      return false;
    if (strcmp(type, "spin") != 0)
      return unsupported(c, e->value, where, type, "spin");
    db->name = zh_toml_arena_strndup(&rc->arena, e->key, e->key_len);
    db->line = e->line;
    db->col = e->col;
    if (!db->name)
      return zh_toml_schema_oom(&c->s);
    if (!zh_toml_schema_fields(&c->s, e->value, where, SQLITE_FIELDS) ||
        !zh_toml_schema_str(&c->s, e->value, "path", where, false, &db->path) ||
        !resolve(c, &db->path))
      return false;
    rc->nsqlite = i + 1;
  }
  return true;
}

static bool read_provider(ctx *c, const zh_toml_value *t, const char *where,
                          zh_runtime_provider *p) {
  const char *type;
  zh_toml_schema *s = &c->s;
  p->line = t->line;
  p->col = t->col;
  if (!entry_type(c, t, where, &type))
    return false;
  if (strcmp(type, "vault") == 0) {
    p->type = ZH_RUNTIME_PROVIDER_VAULT;
    return zh_toml_schema_fields(s, t, where, VAULT_FIELDS) &&
           zh_toml_schema_str(s, t, "url", where, true, &p->url) &&
           zh_toml_schema_str(s, t, "token", where, true, &p->token) &&
           zh_toml_schema_str(s, t, "mount", where, true, &p->mount) &&
           zh_toml_schema_str(s, t, "prefix", where, false, &p->prefix);
  }
  if (strcmp(type, "azure_key_vault") == 0) {
    p->type = ZH_RUNTIME_PROVIDER_AZURE_KEY_VAULT;
    return zh_toml_schema_fields(s, t, where, AZURE_FIELDS) &&
           zh_toml_schema_str(s, t, "vault_url", where, true, &p->vault_url) &&
           zh_toml_schema_str(s, t, "client_id", where, false, &p->client_id) &&
           zh_toml_schema_str(s, t, "client_secret", where, false, &p->client_secret) &&
           zh_toml_schema_str(s, t, "tenant_id", where, false, &p->tenant_id) &&
           zh_toml_schema_str(s, t, "authority_host", where, false, &p->authority_host);
  }
  if (strcmp(type, "env") == 0) {
    p->type = ZH_RUNTIME_PROVIDER_ENV;
    return zh_toml_schema_fields(s, t, where, ENV_FIELDS) &&
           zh_toml_schema_str(s, t, "prefix", where, false, &p->prefix) &&
           zh_toml_schema_str(s, t, "dotenv_path", where, false, &p->dotenv_path) &&
           resolve(c, &p->dotenv_path);
  }
  return unsupported(c, t, where, type, "vault, azure_key_vault, env");
}

/* [[config_provider]] and [[variables_provider]] (or a single [variables_provider] table),
 * in file order. */
static bool read_providers(ctx *c, const zh_toml_value *root) {
  zh_runtime_config *rc = c->rc;
  size_t total = 0;
  static const char *const groups[] = {"config_provider", "variables_provider"};
  for (int g = 0; g < 2; g++) {
    const zh_toml_value *v = zh_toml_get(root, groups[g]);
    total += !v ? 0 : v->type == ZH_TOML_ARRAY ? v->u.arr.len : 1;
  }
  rc->providers = zh_toml_arena_alloc(&rc->arena, total * sizeof *rc->providers);
  if (!rc->providers)
    return zh_toml_schema_oom(&c->s);
  for (size_t i = 0; i < root->u.tab.len; i++) {
    const zh_toml_entry *e = &root->u.tab.items[i];
    if (strcmp(e->key, groups[0]) != 0 && strcmp(e->key, groups[1]) != 0)
      continue;
    const zh_toml_value *v = e->value;
    size_t n = v->type == ZH_TOML_ARRAY ? v->u.arr.len : 1;
    for (size_t j = 0; j < n; j++) {
      const zh_toml_value *t = v->type == ZH_TOML_ARRAY ? v->u.arr.items[j] : v;
      char *where = zh_toml_arena_printf(&rc->arena, "[[%s]] #%zu", e->key, j + 1);
      if (!where)
        return zh_toml_schema_oom(&c->s);
      if (t->type != ZH_TOML_TABLE)
        return zh_toml_schema_fail(&c->s, t->line, t->col, "`%s` must hold tables, found %s",
                                   e->key, zh_toml_a_type(t->type));
      if (!read_provider(c, t, where, &rc->providers[rc->nproviders]))
        return false;
      rc->nproviders++;
    }
  }
  return true;
}

/* An optional integer `key` of `t` within [min, max]; *out keeps its default when absent. */
static bool read_uint(ctx *c, const zh_toml_value *t, const char *key, const char *where,
                      uint32_t min, uint32_t max, uint32_t *out) {
  const zh_toml_value *v = zh_toml_get(t, key);
  if (!v)
    return true;
  if (v->type != ZH_TOML_INTEGER)
    return zh_toml_schema_fail(&c->s, v->line, v->col, "`%s` in %s must be an integer, found %s",
                               key, where, zh_toml_a_type(v->type));
  if (v->u.integer < (int64_t)min || v->u.integer > (int64_t)max)
    return zh_toml_schema_fail(&c->s, v->line, v->col, "`%s` in %s must be from %u to %u", key,
                               where, min, max);
  *out = (uint32_t)v->u.integer;
  return true;
}

/* The bus's knobs of one channel, and its dead-letter channel (never itself). */
static bool read_channel_knobs(ctx *c, const zh_toml_entry *e, const char *where,
                               zh_runtime_channel *ch) {
  zh_runtime_config *rc = c->rc;
  ch->queue = ZH_RUNTIME_CHANNEL_QUEUE;
  ch->publish_timeout_ms = ZH_RUNTIME_CHANNEL_PUBLISH_TIMEOUT_MS;
  ch->retries = ZH_RUNTIME_CHANNEL_RETRIES;
  if (!read_uint(c, e->value, "queue", where, 1, 1000000, &ch->queue) ||
      !read_uint(c, e->value, "publish_timeout_ms", where, 0, 3600000, &ch->publish_timeout_ms) ||
      !read_uint(c, e->value, "retries", where, 0, 100, &ch->retries) ||
      !zh_toml_schema_str(&c->s, e->value, "dead_letter", where, false, &ch->dead_letter))
    return false;
  if (ch->dead_letter && (!ch->dead_letter[0] || strcmp(ch->dead_letter, ch->name) == 0)) {
    const zh_toml_value *v = zh_toml_get(e->value, "dead_letter");
    return zh_toml_schema_fail(&c->s, v->line, v->col,
                               "`dead_letter` in %s must name another channel", where);
  }
  if (!ch->dead_letter &&
      !(ch->dead_letter = zh_toml_arena_printf(&rc->arena, "%s.dead-letter", ch->name)))
    return zh_toml_schema_oom(&c->s);
  return true;
}

static bool read_zerohop(ctx *c, const zh_toml_value *z) {
  zh_runtime_config *rc = c->rc;
  const zh_toml_value *chans;
  if (!zh_toml_schema_fields(&c->s, z, "[zerohop]", ZEROHOP_FIELDS) ||
      !read_uint(c, z, "drain_timeout_ms", "[zerohop]", 0, 3600000, &rc->drain_timeout_ms) ||
      !zh_toml_schema_table(&c->s, z, "channels", "[zerohop]", &chans))
    return false;
  if (!chans)
    return true;
  rc->channels = zh_toml_arena_alloc(&rc->arena, chans->u.tab.len * sizeof *rc->channels);
  if (!rc->channels)
    return zh_toml_schema_oom(&c->s);
  for (size_t i = 0; i < chans->u.tab.len; i++) {
    const zh_toml_entry *e = &chans->u.tab.items[i];
    zh_runtime_channel *ch = &rc->channels[i];
    char *where;
    const char *transport = NULL;
    if (!entry_table(c, e, "zerohop.channels", &where) ||
        !zh_toml_schema_fields(&c->s, e->value, where, CHANNEL_FIELDS) ||
        !zh_toml_schema_str(&c->s, e->value, "transport", where, true, &transport))
      return false;
    if (strcmp(transport, "local") == 0) {
      ch->transport = ZH_RUNTIME_TRANSPORT_LOCAL;
    } else if (strcmp(transport, "redis") == 0) {
      ch->transport = ZH_RUNTIME_TRANSPORT_REDIS;
    } else if (strcmp(transport, "both") == 0) {
      ch->transport = ZH_RUNTIME_TRANSPORT_BOTH;
    } else {
      const zh_toml_value *v = zh_toml_get(e->value, "transport");
      return zh_toml_schema_fail(&c->s, v->line, v->col,
                                 "`transport` in %s must be \"local\", \"redis\" or \"both\"",
                                 where);
    }
    ch->name = zh_toml_arena_strndup(&rc->arena, e->key, e->key_len);
    ch->line = e->line;
    ch->col = e->col;
    if (!ch->name)
      return zh_toml_schema_oom(&c->s);
    if (!read_channel_knobs(c, e, where, ch))
      return false;
    rc->nchannels = i + 1;
  }
  return true;
}

static bool read_config(ctx *c, const zh_toml_value *root) {
  const zh_toml_value *kv, *sql, *z;
  return zh_toml_schema_fields(&c->s, root, "the runtime config", ROOT_FIELDS) &&
         zh_toml_schema_table(&c->s, root, "key_value_store", "the runtime config", &kv) &&
         (!kv || read_kv(c, kv)) &&
         zh_toml_schema_table(&c->s, root, "sqlite_database", "the runtime config", &sql) &&
         (!sql || read_sqlite(c, sql)) && read_providers(c, root) &&
         zh_toml_schema_table(&c->s, root, "zerohop", "the runtime config", &z) &&
         (!z || read_zerohop(c, z));
}

zh_error *zh_runtime_config_parse(const char *text, size_t len, const char *filename,
                                  const char *base_dir, zh_runtime_config **out) {
  *out = NULL;
  zh_runtime_config *rc = calloc(1, sizeof *rc);
  if (!rc)
    return zh_error_oom();
  const char *file = filename ? filename : "runtime-config.toml";
  char cwd[PATH_MAX];
  if (!base_dir)
    base_dir = getcwd(cwd, sizeof cwd) ? cwd : ".";
  rc->path = zh_toml_arena_strndup(&rc->arena, file, strlen(file));
  rc->base_dir = zh_toml_arena_strndup(&rc->arena, base_dir, strlen(base_dir));
  if (!rc->path || !rc->base_dir) {
    zh_runtime_config_free(rc);
    return zh_error_oom();
  }
  zh_toml_value *root;
  zh_error *err = zh_toml_parse(text, len, file, &root);
  if (err) {
    zh_runtime_config_free(rc);
    return err;
  }
  rc->drain_timeout_ms = ZH_RUNTIME_DRAIN_TIMEOUT_MS;
  ctx c = {.s = {.file = file, .arena = &rc->arena}, .rc = rc};
  bool ok = read_config(&c, root);
  zh_toml_free(root);
  if (!ok) {
    zh_runtime_config_free(rc);
    return c.s.err ? c.s.err : zh_error_new(ZH_ERR_INVALID, "%s: invalid runtime config", file);
  }
  *out = rc;
  return NULL;
}

zh_error *zh_runtime_config_load(const char *path, zh_runtime_config **out) {
  *out = NULL;
  char *text, *dir;
  size_t len = 0;
  zh_error *err = zh_toml_read_file(path, ZH_RUNTIME_CONFIG_MAX_BYTES, &text, &len, &dir);
  if (!err)
    err = zh_runtime_config_parse(text, len, path, dir, out);
  free(text);
  free(dir);
  return err;
}

void zh_runtime_config_free(zh_runtime_config *rc) {
  if (!rc)
    return;
  zh_toml_arena_free(&rc->arena);
  free(rc);
}

const zh_runtime_kv_store *zh_runtime_config_kv_store(const zh_runtime_config *rc,
                                                      const char *name) {
  for (size_t i = 0; rc && i < rc->nkv_stores; i++)
    if (strcmp(rc->kv_stores[i].name, name) == 0)
      return &rc->kv_stores[i];
  return NULL;
}

const zh_runtime_sqlite *zh_runtime_config_sqlite(const zh_runtime_config *rc, const char *name) {
  for (size_t i = 0; rc && i < rc->nsqlite; i++)
    if (strcmp(rc->sqlite[i].name, name) == 0)
      return &rc->sqlite[i];
  return NULL;
}

const zh_runtime_channel *zh_runtime_config_channel(const zh_runtime_config *rc, const char *name) {
  for (size_t i = 0; rc && i < rc->nchannels; i++)
    if (strcmp(rc->channels[i].name, name) == 0)
      return &rc->channels[i];
  return NULL;
}
