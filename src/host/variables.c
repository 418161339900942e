/* Application variables: the start-up resolver, Spin's `{{ }}` templates and
 * `fermyon:spin/variables@2.0.0`. variables.h has the design; this file trusts nothing of its
 * configuration (names and templates are checked here) and, after zh_host_vars_new, changes
 * nothing, so host calls read it from any thread without a lock. */
#include "host/variables.h"

#include "host/host_instance.h"
#include "host/spin_wit.h"
#include "wasm/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char *const env_prefixes[] = {"ZEROHOP_VARIABLE_", "SPIN_VARIABLE_"};

typedef struct app_var {
  char *name;
  char *value;
  bool secret;
  char *from; /* where the value came from, for the start-up summary */
} app_var;

/* One component's rendered variables, in manifest order. */
struct zh_host_vars_inst {
  char *id;
  char **names;
  char **values;
  size_t n;
};

struct zh_host_vars {
  app_var *vars;
  size_t nvars;
  struct zh_host_vars_inst *comps;
  size_t ncomps;
  struct zh_host_vars_inst none; /* for a component id the app does not know */
  zh_host_vars_log_fn log;
  void *log_env;
};

static void vlog(const zh_host_vars *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(const zh_host_vars *v, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (v->log)
    v->log(v->log_env, line);
  else
    fprintf(stderr, "%s\n", line);
}

/* ---- names ---- */

static const char *name_problem(const char *name) {
  if (!*name)
    return "must not be empty";
  for (const char *c = name; *c; c++)
    if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_'))
      return "may contain only lower-case letters, digits and underscores";
  if (!islower((unsigned char)name[0]))
    return "must start with a lower-case letter";
  if (name[strlen(name) - 1] == '_')
    return "must end with a lower-case letter or a digit";
  if (strstr(name, "__"))
    return "must not contain two underscores in a row";
  return NULL;
}

zh_error *zh_host_vars_check_name(const char *name) {
  const char *why = name_problem(name);
  return why ? zh_error_new(ZH_ERR_INVALID, "invalid variable name \"%s\": %s", name, why) : NULL;
}

/* ---- templates ---- */

zh_error *zh_host_vars_render(const char *tmpl, zh_host_vars_lookup_fn lookup, void *env,
                              char **out) {
  *out = NULL;
  size_t cap = strlen(tmpl) + 1, len = 0;
  char *buf = malloc(cap);
  if (!buf)
    return zh_error_oom();
  const char *p = tmpl;
  while (*p) {
    const char *open = strstr(p, "{{");
    const char *piece = p;
    size_t plen = open ? (size_t)(open - p) : strlen(p);
    const char *next = p + plen;
    if (plen == 0 && open) {
      const char *close = strstr(open + 2, "}}");
      if (!close) {
        free(buf);
        return zh_error_new(ZH_ERR_INVALID, "template \"%s\": unmatched '{{' at byte %zu", tmpl,
                            (size_t)(open - tmpl));
      }
      const char *a = open + 2, *b = close;
      while (a < b && isspace((unsigned char)*a))
        a++;
      while (b > a && isspace((unsigned char)b[-1]))
        b--;
      piece = lookup(env, a, (size_t)(b - a));
      if (!piece) {
        free(buf);
        return zh_error_new(ZH_ERR_INVALID,
                            "template \"%s\": unknown variable \"%.*s\" at byte %zu", tmpl,
                            (int)(b - a), a, (size_t)(open - tmpl));
      }
      plen = strlen(piece);
      next = close + 2;
    }
    if (len + plen + 1 > cap) {
      size_t ncap = (len + plen + 1) * 2;
      char *nb = realloc(buf, ncap);
      if (!nb) {
        free(buf);
        return zh_error_oom();
      }
      buf = nb, cap = ncap;
    }
    memcpy(buf + len, piece, plen);
    len += plen;
    p = next;
  }
  buf[len] = '\0';
  *out = buf;
  return NULL;
}

static const app_var *find_var(const zh_host_vars *v, const char *name, size_t len) {
  for (size_t i = 0; i < v->nvars; i++)
    if (strlen(v->vars[i].name) == len && memcmp(v->vars[i].name, name, len) == 0)
      return &v->vars[i];
  return NULL;
}

static const char *app_lookup(void *env, const char *name, size_t len) {
  const app_var *var = find_var(env, name, len);
  return var ? var->value : NULL;
}

zh_error *zh_host_vars_render_app(const zh_host_vars *vars, const char *tmpl, char **out) {
  return zh_host_vars_render(tmpl, app_lookup, (void *)vars, out);
}

const char *zh_host_vars_value(const zh_host_vars *vars, const char *name) {
  const app_var *var = find_var(vars, name, strlen(name));
  return var ? var->value : NULL;
}

/* ---- resolving ---- */

/* The environment's value of PREFIX + upper-cased name, or NULL. */
static const char *env_value(const char *const *env, size_t nenv, const char *prefix,
                             const char *name) {
  size_t plen = strlen(prefix), nlen = strlen(name);
  for (size_t i = 0; i < nenv; i++) {
    const char *kv = env[i];
    if (strncmp(kv, prefix, plen) != 0)
      continue;
    /* kv may be shorter than prefix + name: compare up to its NUL */
    size_t j = 0;
    while (j < nlen && kv[plen + j] && kv[plen + j] == toupper((unsigned char)name[j]))
      j++;
    if (j == nlen && kv[plen + nlen] == '=')
      return kv + plen + nlen + 1;
  }
  return NULL;
}

/* A runtime-config provider, ready to read: its prefix with the underscore, and a dotenv
 * file's lines as "KEY=VALUE" strings. */
typedef struct provider {
  const zh_host_vars_provider *cfg;
  char *prefix;
  char **dot;
  size_t ndot;
} provider;

static void providers_free(provider *p, size_t n) {
  for (size_t i = 0; p && i < n; i++) {
    free(p[i].prefix);
    for (size_t k = 0; k < p[i].ndot; k++)
      free(p[i].dot[k]);
    free(p[i].dot);
  }
  free(p);
}

/* Reads a dotenv file: KEY=VALUE lines (an `export ` before the key and quotes around the
 * value are dropped; blank lines and `#` comments skipped). Messages name the file only. */
static zh_error *read_dotenv(const char *path, char ***out, size_t *n) {
  FILE *f = fopen(path, "r");
  if (!f)
    return zh_error_new(ZH_ERR_IO, "variables: dotenv file %s: %s", path, strerror(errno));
  char *line = NULL;
  size_t cap = 0, lineno = 0;
  ssize_t len;
  zh_error *err = NULL;
  while (!err && (len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    char *k = line;
    while (*k == ' ' || *k == '\t')
      k++;
    if (!*k || *k == '#')
      continue;
    if (strncmp(k, "export ", 7) == 0)
      k += 7;
    char *eq = strchr(k, '=');
    if (!eq || eq == k) {
      err = zh_error_new(ZH_ERR_INVALID, "variables: dotenv file %s: line %zu: expected KEY=VALUE",
                         path, lineno);
      break;
    }
    char *v = eq + 1, *end = v + strlen(v);
    if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v)
      v++, end--;
    char **grown = realloc(*out, (*n + 1) * sizeof *grown);
    if (!grown) {
      err = zh_error_oom();
      break;
    }
    *out = grown;
    if (!((*out)[*n] = malloc((size_t)(eq - k) + 1 + (size_t)(end - v) + 1))) {
      err = zh_error_oom();
      break;
    }
    sprintf((*out)[*n], "%.*s=%.*s", (int)(eq - k), k, (int)(end - v), v);
    (*n)++;
  }
  free(line);
  fclose(f);
  return err;
}

static zh_error *providers_new(const zh_host_vars_config *c, provider **out) {
  *out = calloc(c->nproviders ? c->nproviders : 1, sizeof **out);
  if (!*out)
    return zh_error_oom();
  for (size_t i = 0; i < c->nproviders; i++) {
    provider *p = &(*out)[i];
    p->cfg = &c->providers[i];
    if (p->cfg->kind != ZH_HOST_VARS_ENV)
      continue;
    const char *pre = p->cfg->prefix ? p->cfg->prefix : "SPIN_VARIABLE";
    if (!(p->prefix = malloc(strlen(pre) + 2)))
      return zh_error_oom();
    sprintf(p->prefix, "%s%s", pre, *pre ? "_" : "");
    if (p->cfg->dotenv_path) {
      zh_error *err = read_dotenv(p->cfg->dotenv_path, &p->dot, &p->ndot);
      if (err)
        return err;
    }
  }
  return NULL;
}

static char *upper_dup(const char *prefix, const char *name) {
  size_t pl = strlen(prefix), nl = strlen(name);
  char *s = malloc(pl + nl + 1);
  if (!s)
    return NULL;
  for (size_t i = 0; i < pl; i++)
    s[i] = prefix[i];
  for (size_t i = 0; i <= nl; i++)
    s[pl + i] = (char)toupper((unsigned char)name[i]);
  return s;
}

/* The value of `name` from the providers, highest priority first (variables.h), with a
 * malloc'd description of where it came from; NULL if none has it. */
static const char *provide(const zh_host_vars_config *c, const char *const *env, size_t nenv,
                           const provider *ps, const char *name, char **from) {
  *from = NULL;
  for (size_t k = c->ncli; k-- > 0;)
    if (strcmp(c->cli[k].key, name) == 0) {
      *from = strdup("--variable");
      return c->cli[k].value;
    }
  const char *value = NULL, *where = "environment ";
  const char *prefix = NULL;
  for (size_t k = 0; k < 2 && !value; k++)
    if ((value = env_value(env, nenv, env_prefixes[k], name)))
      prefix = env_prefixes[k];
  for (size_t i = 0; ps && i < c->nproviders && !value; i++) {
    const provider *p = &ps[i];
    if (p->cfg->kind == ZH_HOST_VARS_STATIC) {
      for (size_t k = p->cfg->nvalues; k-- > 0 && !value;)
        if (strcmp(p->cfg->values[k].key, name) == 0)
          value = p->cfg->values[k].value;
      if (value) {
        *from = strdup("runtime config, static provider");
        return value;
      }
    } else if ((value = env_value(env, nenv, p->prefix, name))) {
      prefix = p->prefix;
    } else if ((value = env_value((const char *const *)p->dot, p->ndot, p->prefix, name))) {
      prefix = p->prefix;
      where = "dotenv ";
    }
  }
  if (!value)
    return NULL;
  char *var = upper_dup(prefix, name);
  if (var && (*from = malloc(strlen(where) + strlen(var) + 1)))
    sprintf(*from, "%s%s", where, var);
  free(var);
  return value;
}

/* Appends `"name"` to a malloc'd list of names for the missing-variables message. */
static zh_error *append_name(char **list, const char *name) {
  size_t old = *list ? strlen(*list) : 0, add = strlen(name) + 4;
  char *n = realloc(*list, old + add + 1);
  if (!n)
    return zh_error_oom();
  snprintf(n + old, add + 1, "%s\"%s\"", old ? ", " : "", name);
  *list = n;
  return NULL;
}

static zh_error *resolve_app_vars(zh_host_vars *v, const zh_host_vars_config *c,
                                  const char *const *env, size_t nenv, const provider *ps) {
  char *missing = NULL;
  const char *first_missing = NULL;
  size_t nmissing = 0;
  zh_error *err = NULL;
  v->vars = calloc(c->nvars ? c->nvars : 1, sizeof *v->vars);
  if (!v->vars)
    return zh_error_oom();
  for (size_t i = 0; i < c->nvars && !err; i++) {
    const zh_host_var_decl *d = &c->vars[i];
    app_var *var = &v->vars[v->nvars];
    if ((err = zh_host_vars_check_name(d->name)))
      break;
    if (find_var(v, d->name, strlen(d->name))) {
      err = zh_error_new(ZH_ERR_INVALID, "variable \"%s\" is declared twice", d->name);
      break;
    }
    if (d->required == (d->default_value != NULL)) {
      err = zh_error_new(ZH_ERR_INVALID,
                         "variable \"%s\": give it either a default or required = true", d->name);
      break;
    }
    char *from = NULL;
    const char *value = provide(c, env, nenv, ps, d->name, &from);
    if (!value && (value = d->default_value)) {
      free(from);
      from = strdup("default");
    }
    if (!value) {
      free(from);
      nmissing++;
      if (!first_missing)
        first_missing = d->name;
      err = append_name(&missing, d->name);
      continue;
    }
    var->name = strdup(d->name);
    var->value = strdup(value);
    var->secret = d->secret;
    var->from = from;
    if (!var->name || !var->value || !var->from) {
      free(var->name);
      free(var->value);
      free(var->from);
      err = zh_error_oom();
      break;
    }
    v->nvars++;
  }
  if (!err && nmissing == 1) {
    char upper[256];
    size_t j = 0;
    for (; first_missing[j] && j + 1 < sizeof upper; j++)
      upper[j] = (char)toupper((unsigned char)first_missing[j]);
    upper[j] = '\0';
    err = zh_error_new(ZH_ERR_INVALID,
                       "required variable %s has no value: set it with --variable %s=VALUE or "
                       "the environment variable SPIN_VARIABLE_%s",
                       missing, first_missing, upper);
  } else if (!err && nmissing) {
    err = zh_error_new(ZH_ERR_INVALID,
                       "required variables %s have no value: set each with --variable NAME=VALUE "
                       "or the environment variable SPIN_VARIABLE_NAME (upper-cased)",
                       missing);
  }
  free(missing);
  if (err)
    return err;
  for (size_t k = 0; k < c->ncli; k++)
    if (!find_var(v, c->cli[k].key, strlen(c->cli[k].key)))
      vlog(v, "warning: --variable %s: the app declares no variable of that name", c->cli[k].key);
  return NULL;
}

static zh_error *render_component(zh_host_vars *v, const zh_host_vars_component *c,
                                  struct zh_host_vars_inst *out) {
  out->id = strdup(c->id ? c->id : "");
  out->names = calloc(c->nvars ? c->nvars : 1, sizeof *out->names);
  out->values = calloc(c->nvars ? c->nvars : 1, sizeof *out->values);
  if (!out->id || !out->names || !out->values)
    return zh_error_oom();
  for (size_t i = 0; i < c->nvars; i++) {
    zh_error *err = zh_host_vars_check_name(c->vars[i].key);
    if (!err)
      err = zh_host_vars_render(c->vars[i].value, app_lookup, v, &out->values[i]);
    if (err)
      return zh_error_prefix(err, "component \"%s\": variable \"%s\"", out->id, c->vars[i].key);
    out->n++;
    if (!(out->names[i] = strdup(c->vars[i].key)))
      return zh_error_oom();
  }
  return NULL;
}

zh_error *zh_host_vars_new(const zh_host_vars_config *config, zh_host_vars **out) {
  *out = NULL;
  zh_host_vars *v = calloc(1, sizeof *v);
  if (!v)
    return zh_error_oom();
  v->log = config->log;
  v->log_env = config->log_env;
  v->none.id = strdup("");
  const char *const *env = config->env;
  size_t nenv = config->nenv;
  if (!env) {
    env = (const char *const *)environ;
    for (nenv = 0; env && env[nenv]; nenv++)
      ;
  }
  provider *ps = NULL;
  zh_error *err = v->none.id ? providers_new(config, &ps) : zh_error_oom();
  if (!err)
    err = resolve_app_vars(v, config, env, nenv, ps);
  providers_free(ps, config->nproviders);
  if (!err &&
      !(v->comps = calloc(config->ncomponents ? config->ncomponents : 1, sizeof *v->comps))) {
    zh_host_vars_free(v);
    return zh_error_oom();
  }
  for (size_t i = 0; i < config->ncomponents && !err; i++) {
    err = render_component(v, &config->components[i], &v->comps[i]);
    v->ncomps++;
  }
  if (err) {
    zh_host_vars_free(v);
    return err;
  }
  *out = v;
  return NULL;
}

static void free_inst(struct zh_host_vars_inst *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->names[i]);
    free(c->values[i]);
  }
  free(c->names);
  free(c->values);
  free(c->id);
}

void zh_host_vars_free(zh_host_vars *vars) {
  if (!vars)
    return;
  for (size_t i = 0; i < vars->nvars; i++) {
    free(vars->vars[i].name);
    free(vars->vars[i].value);
    free(vars->vars[i].from);
  }
  free(vars->vars);
  for (size_t i = 0; vars->comps && i < vars->ncomps; i++)
    free_inst(&vars->comps[i]);
  free(vars->comps);
  free_inst(&vars->none);
  free(vars);
}

void zh_host_vars_log_summary(const zh_host_vars *vars) {
  for (size_t i = 0; i < vars->nvars; i++) {
    const app_var *var = &vars->vars[i];
    if (var->secret)
      vlog(vars, "variable %s = <secret> (%s)", var->name, var->from);
    else
      vlog(vars, "variable %s = \"%s\" (%s)", var->name, var->value, var->from);
  }
}

zh_error *zh_host_vars_parse_assignment(const char *arg, char **name, char **value) {
  *name = *value = NULL;
  const char *eq = strchr(arg, '=');
  /* the argument is not echoed: a mistyped one may hold a secret */
  if (!eq)
    return zh_error_new(ZH_ERR_USAGE,
                        "--variable: expected NAME=VALUE, got an argument without '='");
  if (eq == arg)
    return zh_error_new(ZH_ERR_USAGE, "--variable: expected NAME=VALUE, got an empty name");
  if (!(*name = strndup(arg, (size_t)(eq - arg))))
    return zh_error_oom();
  if (eq[1] != '@') {
    if (!(*value = strdup(eq + 1)))
      return zh_error_oom();
    return NULL;
  }
  const char *path = eq + 2;
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t len = 0, cap = 0;
  zh_error *err = NULL;
  if (!f)
    err = zh_error_new(ZH_ERR_IO, "--variable %s=@%s: cannot open %s: %s", *name, path, path,
                       strerror(errno));
  while (f && !err) {
    if (len + 4096 + 1 > cap) {
      char *nb = realloc(buf, cap = (len + 4096 + 1) * 2);
      if (!nb) {
        err = zh_error_oom();
        break;
      }
      buf = nb;
    }
    size_t got = fread(buf + len, 1, 4096, f);
    len += got;
    if (got < 4096) {
      if (ferror(f))
        err = zh_error_new(ZH_ERR_IO, "--variable %s=@%s: cannot read %s", *name, path, path);
      break;
    }
  }
  if (f)
    fclose(f);
  if (err) {
    free(buf);
    free(*name);
    *name = NULL;
    return err;
  }
  if (!buf && !(buf = malloc(1))) {
    free(*name);
    *name = NULL;
    return zh_error_oom();
  }
  buf[len] = '\0';
  *value = buf;
  return NULL;
}

/* ---- per instance ---- */

struct zh_host_vars_inst *zh_host_vars_inst(const zh_host_vars *vars, const char *component_id) {
  for (size_t i = 0; i < vars->ncomps; i++)
    if (strcmp(vars->comps[i].id, component_id) == 0)
      return &vars->comps[i];
  return (struct zh_host_vars_inst *)&vars->none;
}

const char *zh_host_vars_inst_get(const struct zh_host_vars_inst *inst, const char *name) {
  for (size_t i = 0; inst && i < inst->n; i++)
    if (strcmp(inst->names[i], name) == 0)
      return inst->values[i];
  return NULL;
}

size_t zh_host_vars_inst_count(const struct zh_host_vars_inst *inst) { return inst ? inst->n : 0; }

void zh_host_vars_inst_at(const struct zh_host_vars_inst *inst, size_t i, const char **name,
                          const char **value) {
  *name = inst->names[i];
  *value = inst->values[i];
}

const char *zh_host_vars_inst_component(const struct zh_host_vars_inst *inst) {
  return inst ? inst->id : "";
}

/* ---- fermyon:spin/variables@2.0.0 ---- */

#define VARIABLES_IFACE "fermyon:spin/variables@2.0.0"

enum { VERR_INVALID_NAME, VERR_UNDEFINED, VERR_PROVIDER, VERR_OTHER };

/* result::err(error::<case>(message)) */
static zh_error *var_error(zh_val *result, uint32_t which, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static zh_error *var_error(zh_val *result, uint32_t which, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  zh_val s, e;
  zh_error *err = zh_val_string_cstr(&s, msg);
  if (!err)
    err = zh_val_variant(&e, which, &s);
  if (!err)
    err = zh_val_err(result, &e);
  return err;
}

static zh_error *host_get(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  const char *name = args[0].of.str.data;
  if (strlen(name) != args[0].of.str.len)
    return var_error(result, VERR_INVALID_NAME, "invalid variable name: contains U+0000");
  const char *why = name_problem(name);
  if (why)
    return var_error(result, VERR_INVALID_NAME, "\"%s\": %s", name, why);
  zh_host_instance *hi = zh_host_instance_of(call);
  if (!hi || !hi->vars)
    return var_error(result, VERR_OTHER,
                     "variables are not available while the component "
                     "initialises");
  const char *value = zh_host_vars_inst_get(hi->vars, name);
  if (!value)
    return var_error(result, VERR_UNDEFINED, "no variable \"%s\" for component \"%s\"", name,
                     zh_host_vars_inst_component(hi->vars));
  zh_val s;
  zh_error *err = zh_val_string_cstr(&s, value);
  return err ? err : zh_val_ok(result, &s);
}

zh_error *zh_host_vars_define_linker(zh_cm_linker *linker) {
  const zh_wit_func *get = zh_host_func(VARIABLES_IFACE, "get");
  if (!get)
    return zh_error_new(ZH_ERR_USAGE, "%s: get is not in the built-in WIT", VARIABLES_IFACE);
  return zh_cm_linker_define_func(linker, VARIABLES_IFACE, "get", get, host_get, NULL);
}
