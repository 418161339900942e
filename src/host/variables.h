/* Application variables for the app host: `fermyon:spin/variables@2.0.0` and the resolver behind
 * it (wasi_config.h serves `wasi:config/store` over the same values).
 *
 * The idea: every provider that zerohop knows is static for the life of the app (the command
 * line, the environment at start, the manifest's defaults), so zh_host_vars_new resolves every
 * app variable and renders every component's `variables` templates once, at start. A required
 * variable that no provider sets, a bad name or a template naming an unknown variable fail
 * start-up there, with one message. Afterwards the state is read-only: host calls on any
 * thread only look values up, with no lock.
 *
 * Providers, highest priority first (Spin's order, with zerohop's own environment prefix):
 *   1. `--variable NAME=VALUE` (the last assignment of a name wins),
 *   2. the environment: ZEROHOP_VARIABLE_<NAME>, then SPIN_VARIABLE_<NAME> (NAME upper-cased),
 *   3. the runtime config's providers, in their order (static tables, other environment
 *      prefixes and their dotenv files),
 *   4. the `default` of the variable in the manifest's [variables].
 *
 * Templates are Spin's: `{{ name }}` (spaces inside the braces are trimmed) is replaced by the
 * app variable `name`; everything else is literal; a `{{` without a later `}}` is an error.
 * There is no escape for a literal `{{`.
 *
 * Secrets: no value ever appears in a message or a log line of this module, secret or not,
 * except in zh_host_vars_log_summary, which prints `<secret>` for variables marked secret.
 * Names and templates (which hold names, not values) may appear. */
#ifndef ZH_HOST_VARIABLES_H
#define ZH_HOST_VARIABLES_H

#include "zerohop/cm.h"
#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>

/* A variable of the manifest's [variables]: exactly one of `default_value` (may be "") and
 * `required` is set, as in Spin. */
typedef struct zh_host_var_decl {
  const char *name;
  const char *default_value; /* NULL: none */
  bool required;
  bool secret;
} zh_host_var_decl;

/* A name and a string: a `--variable` assignment, or a component variable and its template. */
typedef struct zh_host_var_pair {
  const char *key;
  const char *value;
} zh_host_var_pair;

/* A component's `variables` table: its own variable names and their `{{ }}` templates. */
typedef struct zh_host_vars_component {
  const char *id;
  const zh_host_var_pair *vars;
  size_t nvars;
} zh_host_vars_component;

/* A variables provider of the runtime config ([[variable_provider]] in Spin's): `static`
 * with its name = value table, or `env` with its prefix (NULL: "SPIN_VARIABLE"; joined to
 * the upper-cased name with `_`) and an optional dotenv file read at start for names the
 * environment lacks. */
typedef enum zh_host_vars_provider_kind {
  ZH_HOST_VARS_STATIC,
  ZH_HOST_VARS_ENV
} zh_host_vars_provider_kind;

typedef struct zh_host_vars_provider {
  zh_host_vars_provider_kind kind;
  const zh_host_var_pair *values; /* static */
  size_t nvalues;
  const char *prefix;      /* env */
  const char *dotenv_path; /* env; NULL: none */
} zh_host_vars_provider;

/* A log line (warnings, the start-up summary); NULL logs to stderr. */
typedef void (*zh_host_vars_log_fn)(void *env, const char *line);

typedef struct zh_host_vars_config {
  const zh_host_var_decl *vars; /* [variables] */
  size_t nvars;
  const zh_host_vars_component *components;
  size_t ncomponents;
  const zh_host_var_pair *cli; /* --variable, in command-line order */
  size_t ncli;
  const zh_host_vars_provider *providers; /* the runtime config's, in its order */
  size_t nproviders;
  /* The environment as "KEY=VALUE" strings; NULL reads the process's environment once, in
   * zh_host_vars_new. */
  const char *const *env;
  size_t nenv;
  zh_host_vars_log_fn log;
  void *log_env;
} zh_host_vars_config;

typedef struct zh_host_vars zh_host_vars;
struct zh_host_vars_inst; /* per component, below */

/* Resolves every app variable and renders every component's variables (see the top). Strings
 * are copied; the config may go afterwards. Errors (ZH_ERR_INVALID) name the variable, the
 * component and the cause, never a value; several missing required variables are named in one
 * message. */
zh_error *zh_host_vars_new(const zh_host_vars_config *config, zh_host_vars **out);
void zh_host_vars_free(zh_host_vars *vars); /* accepts NULL; after every instance using it */

/* Logs one line per app variable: its name, where its value came from and the value, or
 * `<secret>` for a secret one. */
void zh_host_vars_log_summary(const zh_host_vars *vars);

/* An app variable's resolved value (borrowed from `vars`), or NULL if there is no such
 * variable. */
const char *zh_host_vars_value(const zh_host_vars *vars, const char *name);

/* Splits a `--variable` argument "NAME=VALUE" into its parts (malloc'd; the caller frees
 * both). "NAME=@FILE" takes the value from FILE's contents. ZH_ERR_USAGE for a missing `=` or
 * an empty name; ZH_ERR_IO for an unreadable file (naming the file, not its contents). */
zh_error *zh_host_vars_parse_assignment(const char *arg, char **name, char **value);

/* Checks a variable name as Spin does: lower-case ASCII letters, digits and single
 * underscores, starting with a letter and not ending with an underscore. NULL if valid,
 * else ZH_ERR_INVALID with the name and the reason. */
zh_error *zh_host_vars_check_name(const char *name);

/* ---- templates ---- */

/* The value of the variable `name` (`len` bytes, not NUL-terminated), or NULL if unknown. */
typedef const char *(*zh_host_vars_lookup_fn)(void *env, const char *name, size_t len);

/* Renders `tmpl`, replacing each `{{ name }}` with lookup(env, name). *out is malloc'd. A
 * `{{` without `}}` or an unknown name is ZH_ERR_INVALID naming the template and the byte
 * offset of the expression (the message never holds a looked-up value). */
zh_error *zh_host_vars_render(const char *tmpl, zh_host_vars_lookup_fn lookup, void *env,
                              char **out);
/* zh_host_vars_render against the app variables of `vars` (e.g. for allowed_outbound_hosts). */
zh_error *zh_host_vars_render_app(const zh_host_vars *vars, const char *tmpl, char **out);

/* ---- per instance ---- */

/* The component's resolved variables, owned by `vars` and shared read-only by every instance
 * of the component: inst_new allocates nothing (an id the app does not know gets a table
 * without variables) and inst_free does nothing. Store it in zh_host_instance.vars. */
struct zh_host_vars_inst *zh_host_vars_inst(const zh_host_vars *vars, const char *component_id);

/* The component's variable `name` (borrowed), or NULL. `*count` / _at walk them in the
 * manifest's order. */
const char *zh_host_vars_inst_get(const struct zh_host_vars_inst *inst, const char *name);
size_t zh_host_vars_inst_count(const struct zh_host_vars_inst *inst);
void zh_host_vars_inst_at(const struct zh_host_vars_inst *inst, size_t i, const char **name,
                          const char **value);
/* The component's id, for messages. */
const char *zh_host_vars_inst_component(const struct zh_host_vars_inst *inst);

/* Defines `fermyon:spin/variables@2.0.0` `get` on a component linker. Its errors follow Spin:
 * invalid-name for a name that breaks the rules above, undefined for a name the component
 * does not define, other while a template initialises (no instance state yet). */
zh_error *zh_host_vars_define_linker(zh_cm_linker *linker);

#endif
