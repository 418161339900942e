/* The runtime config file (`zerohop up --runtime-config-file F`), in Spin's shape.
 *
 *   [key_value_store.NAME]   type = "spin" (optional path) | "redis" (url)
 *   [sqlite_database.NAME]   type = "spin" (optional path)
 *   [[config_provider]]      type = "vault" (url, token, mount, optional prefix)
 *                            | "azure_key_vault" (vault_url, client_id, client_secret,
 *                              tenant_id, optional authority_host) | "env" (optional
 *                              prefix, dotenv_path); [[variables_provider]] is the same
 *   [zerohop]                optional drain_timeout_ms (zerohop's own: how long a clean
 *                            shutdown waits for the event bus to deliver what is queued)
 *   [zerohop.channels."NAME"] transport = "local" | "redis" | "both", and for the event bus
 *                            (src/host/bus.h) optional queue, publish_timeout_ms, retries,
 *                            dead_letter
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

/* The bus's defaults, for a channel entry that leaves a knob out. */
#define ZH_RUNTIME_CHANNEL_QUEUE 1024u
#define ZH_RUNTIME_CHANNEL_PUBLISH_TIMEOUT_MS 1000u
#define ZH_RUNTIME_CHANNEL_RETRIES 2u
#define ZH_RUNTIME_DRAIN_TIMEOUT_MS 10000u

typedef struct zh_runtime_channel {
  const char *name;
  zh_runtime_transport transport;
  uint32_t queue;              /* events waiting per subscriber, 1..1000000 */
  uint32_t publish_timeout_ms; /* how long a publisher waits for room; 0: not at all */
  uint32_t retries;            /* attempts after a subscriber's first failure, 0..100 */
  const char *dead_letter;     /* where failed events go; default "NAME.dead-letter" */
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
  uint32_t drain_timeout_ms; /* [zerohop] drain_timeout_ms */
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
