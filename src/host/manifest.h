/* spin.toml, version 2: the application manifest loaded into plain C structs.
 *
 * zh_manifest_load reads a manifest (or DIR/spin.toml), checks it the way Spin does and
 * returns a zh_manifest. Every mistake is one error naming FILE:LINE:COL and the key:
 * TOML syntax (status ZH_ERR_MALFORMED, from src/toml), and, with status ZH_ERR_INVALID,
 * unknown fields, wrong types, missing required fields, bad ids (components: lowercase
 * kebab-case; variables: lowercase snake_case), a trigger naming a component that does not
 * exist, `{{ var }}` templates that are malformed or name an undeclared variable, and any
 * spin_manifest_version other than 2.
 *
 * Inline components (`component = { source = ... }` in a trigger) become ordinary components
 * with the id Spin gives them: "<trigger id>-component", where a trigger without an `id`
 * is "<type>-trigger<N>" (N counts that type's triggers without an id from 1) unless it
 * names a component, in which case it is "<component>-<type>-trigger".
 *
 * Paths: `source` paths (and file: URLs) are resolved against the manifest's directory;
 * `files`, `exclude_files` and `build.workdir` are kept as written (relative to base_dir),
 * and zh_manifest_expand_files expands them. The loader reads no component file.
 *
 * Ownership: the zh_manifest owns everything reachable from it (one arena) and
 * zh_manifest_free releases it all; pointers into it live as long as the manifest. */
#ifndef ZH_HOST_MANIFEST_H
#define ZH_HOST_MANIFEST_H

#include "toml/schema.h"
#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef zh_toml_kv zh_manifest_kv;
typedef zh_toml_strs zh_manifest_strs;

/* A `files` entry: a glob (destination NULL: the matches keep their relative path) or a
 * { source, destination } mapping of a file or directory. */
typedef struct zh_manifest_file {
  const char *source;
  const char *destination;
} zh_manifest_file;

typedef enum zh_manifest_source_kind {
  ZH_MANIFEST_SOURCE_PATH, /* source = "path.wasm" */
  ZH_MANIFEST_SOURCE_URL,  /* source = { url = "file:...", digest = "sha256:..." } */
} zh_manifest_source_kind;

/* One entry of [component.<id>.dependencies], kept as written for the composition work:
 * the name ("ns:pkg/iface@ver" or "ns:pkg"), and whichever fields the entry gave. */
typedef struct zh_manifest_dependency {
  const char *name;
  const char *version; /* "1.2.3", or the entry itself when it is a plain string */
  const char *path;    /* resolved against the manifest's directory */
  const char *url, *digest, *registry, *package, *export_, *component;
} zh_manifest_dependency;

typedef struct zh_manifest_component {
  const char *id;
  const char *description;
  zh_manifest_source_kind source_kind;
  const char *source;     /* absolute path of the .wasm (from the path or the file: URL) */
  const char *source_url; /* URL as written (ZH_MANIFEST_SOURCE_URL) */
  const char *source_digest;
  zh_manifest_file *files;
  size_t nfiles;
  zh_manifest_strs exclude_files;
  zh_manifest_kv *environment;
  size_t nenvironment;
  zh_manifest_strs allowed_outbound_hosts; /* may hold {{ var }} templates */
  zh_manifest_strs allowed_http_hosts;     /* Spin's deprecated form, kept as written */
  zh_manifest_strs key_value_stores;
  zh_manifest_strs sqlite_databases;
  zh_manifest_strs ai_models;
  zh_manifest_kv *variables; /* values are {{ var }} templates, checked */
  size_t nvariables;
  bool has_build;
  const char *build_command; /* commands joined with " && " when given as a list */
  zh_manifest_strs build_commands;
  const char *build_workdir;
  zh_manifest_strs build_watch;
  zh_manifest_dependency *dependencies;
  size_t ndependencies;
  bool dependencies_inherit_configuration;
  bool is_inline; /* defined inline in a trigger */
  uint32_t line, col;
} zh_manifest_component;

typedef struct zh_manifest_variable {
  const char *name;
  const char *default_value; /* NULL without a default */
  bool required, secret;
  uint32_t line, col;
} zh_manifest_variable;

typedef struct zh_manifest_http_trigger {
  const char *id;
  const char *route;           /* NULL when private */
  bool is_private;             /* route = { private = true } */
  const char *component;       /* component id, or NULL with a static response */
  bool wagi;                   /* executor = { type = "wagi" } */
  const char *wagi_argv;       /* default "${SCRIPT_NAME} ${ARGS}" */
  const char *wagi_entrypoint; /* default "_start" */
  bool has_static_response;
  int static_status; /* default 200 */
  zh_manifest_kv *static_headers;
  size_t nstatic_headers;
  const char *static_body; /* NULL for none */
  uint32_t line, col;
} zh_manifest_http_trigger;

typedef struct zh_manifest_redis_trigger {
  const char *id;
  const char *channel;
  const char *component;
  const char *address; /* its own, else [application.trigger.redis] address */
  uint32_t line, col;
} zh_manifest_redis_trigger;

typedef struct zh_manifest {
  const char *path;     /* the manifest file as opened */
  const char *base_dir; /* its directory, absolute */
  const char *name, *version, *description;
  zh_manifest_strs authors;
  const char *http_base;     /* [application.trigger.http] base, default "/" */
  const char *redis_address; /* [application.trigger.redis] address, or NULL */
  zh_manifest_variable *variables;
  size_t nvariables;
  zh_manifest_component *components; /* [component.*] in order, then the inline ones */
  size_t ncomponents;
  zh_manifest_http_trigger *http;
  size_t nhttp;
  zh_manifest_redis_trigger *redis;
  size_t nredis;
  zh_toml_arena arena;
} zh_manifest;

/* Loads `path`: a manifest file, or a directory holding spin.toml. */
zh_error *zh_manifest_load(const char *path, zh_manifest **out);
/* Parses manifest text; `filename` is used in messages, `base_dir` resolves paths (NULL:
 * the current directory). */
zh_error *zh_manifest_parse(const char *text, size_t len, const char *filename,
                            const char *base_dir, zh_manifest **out);
void zh_manifest_free(zh_manifest *m); /* accepts NULL */

const zh_manifest_component *zh_manifest_component_find(const zh_manifest *m, const char *id);
const zh_manifest_variable *zh_manifest_variable_find(const zh_manifest *m, const char *name);

/* Calls `fn` for each file a component mounts: `host` is the absolute path on the host and
 * `guest` the path inside the guest (absolute, "/..."). Globs are expanded with glob(3)
 * relative to base_dir and matched paths under exclude_files (also globs) are skipped;
 * directories of a { source, destination } entry are passed as one entry. A glob that
 * matches nothing is not an error; a mapped source that does not exist is (ZH_ERR_IO).
 * A non-NULL error from `fn` stops the walk and is returned. */
typedef zh_error *(*zh_manifest_file_fn)(void *ctx, const char *host, const char *guest);
zh_error *zh_manifest_expand_files(const zh_manifest *m, const zh_manifest_component *comp,
                                   zh_manifest_file_fn fn, void *ctx);

#endif
