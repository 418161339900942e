/* The runtime config file (`zerohop up --runtime-config-file F`), in Spin's shape.
 *
 *   [key_value_store.NAME]   type = "spin" (optional path) | "redis" (url)
 *   [sqlite_database.NAME]   type = "spin" (optional path)
 *   [[config_provider]]      type = "vault" (url, token, mount, optional prefix)
 *                            | "azure_key_vault" (vault_url, client_id, client_secret,
 *                              tenant_id, optional authority_host) | "env" (optional
 *                              prefix, dotenv_path); [[variables_provider]] is the same
 *   [zerohop.channels."NAME"] transport = "local" | "redis" | "both" (zerohop's own: the
 *                            event bus of the next issue; parsed and checked only)
 *
 * Errors follow the manifest's rules (FILE:LINE:COL, the key; ZH_ERR_MALFORMED for TOML
 * syntax, ZH_ERR_INVALID for the schema). Relative paths are resolved against the file's
 * directory. Store kinds Spin has but zerohop does not host (azure_cosmos, aws_dynamo,
 * libsql, ...) are refused with a message saying so. Ownership: as zh_manifest. */
#ifndef ZH_HOST_RUNTIME_CONFIG_H
#define ZH_HOST_RUNTIME_CONFIG_H

#include "toml/schema.h"
#include "zerohop/engine.h"

typedef enum zh_runtime_store_type {
  ZH_RUNTIME_STORE_SPIN,  /* SQLite file; path NULL means the default in the state dir */
  ZH_RUNTIME_STORE_REDIS, /* url */
} zh_runtime_store_type;

typedef struct zh_runtime_kv_store {
  const char *name;
  zh_runtime_store_type type;
  const char *path; /* spin: absolute, or NULL for the default */
  const char *url;  /* redis */
  uint32_t line, col;
} zh_runtime_kv_store;

typedef struct zh_runtime_sqlite {
  const char *name;
  const char *path; /* absolute, or NULL for the default */
  uint32_t line, col;
} zh_runtime_sqlite;

typedef enum zh_runtime_provider_type {
  ZH_RUNTIME_PROVIDER_ENV,
  ZH_RUNTIME_PROVIDER_VAULT,
  ZH_RUNTIME_PROVIDER_AZURE_KEY_VAULT,
} zh_runtime_provider_type;

typedef struct zh_runtime_provider {
  zh_runtime_provider_type type;
  const char *url, *token, *mount, *prefix;                      /* vault (prefix: env too) */
  const char *vault_url, *client_id, *client_secret, *tenant_id; /* azure_key_vault */
  const char *authority_host;
  const char *dotenv_path; /* env, absolute */
  uint32_t line, col;
} zh_runtime_provider;

typedef enum zh_runtime_transport {
  ZH_RUNTIME_TRANSPORT_LOCAL,
  ZH_RUNTIME_TRANSPORT_REDIS,
  ZH_RUNTIME_TRANSPORT_BOTH,
} zh_runtime_transport;

typedef struct zh_runtime_channel {
  const char *name;
  zh_runtime_transport transport;
  uint32_t line, col;
} zh_runtime_channel;

typedef struct zh_runtime_config {
  const char *path, *base_dir;
  zh_runtime_kv_store *kv_stores;
  size_t nkv_stores;
  zh_runtime_sqlite *sqlite;
  size_t nsqlite;
  zh_runtime_provider *providers; /* in file order: the first has priority */
  size_t nproviders;
  zh_runtime_channel *channels;
  size_t nchannels;
  zh_toml_arena arena;
} zh_runtime_config;

zh_error *zh_runtime_config_load(const char *path, zh_runtime_config **out);
zh_error *zh_runtime_config_parse(const char *text, size_t len, const char *filename,
                                  const char *base_dir, zh_runtime_config **out);
void zh_runtime_config_free(zh_runtime_config *rc); /* accepts NULL */

const zh_runtime_kv_store *zh_runtime_config_kv_store(const zh_runtime_config *rc,
                                                      const char *name);
const zh_runtime_sqlite *zh_runtime_config_sqlite(const zh_runtime_config *rc, const char *name);
const zh_runtime_channel *zh_runtime_config_channel(const zh_runtime_config *rc, const char *name);

#endif
