/* Loading a Spin app: everything that can fail does so here, before the first request, with
 * one line naming the file, the component or the variable.
 *
 * Order matters: variables first (component variables and allowed_outbound_hosts templates
 * need them), then the stores (components name them), then one linker with every host
 * interface, then each component (read, decode, validate, compile, recognise, template), and
 * last the triggers, which point at components. */
#include "host/app_internal.h"

#include "host/bus.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_NS 30000000000ull
#define DEFAULT_MAX_BODY (16u << 20)

void app_log(const zh_app *app, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  for (char *p = line; *p; p++)
    if ((unsigned char)*p < 0x20)
      *p = ' ';
  if (app->opt.log) {
    app->opt.log(app->opt.log_env, line);
  } else {
    size_t n = strlen(line);
    line[n < sizeof line - 1 ? n : sizeof line - 2] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n < sizeof line - 1 ? n + 1 : sizeof line - 1);
    (void)w;
  }
}

static void log_cb(void *env, const char *line) { app_log(env, "%s", line); }

static char *join_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* mkdir -p for one level below an existing parent (the state dir sits beside the manifest). */
static zh_error *make_dir(const char *path) {
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    return zh_error_new(ZH_ERR_IO, "cannot create the state directory %s: %s", path,
                        strerror(errno));
  return NULL;
}

/* ---- variables ---- */

static zh_error *load_variables(zh_app *app) {
  const zh_manifest *m = app->m;
  size_t nprov = app->rc ? app->rc->nproviders : 0, ncli = 0;
  zh_host_var_decl *decls = calloc(m->nvariables + 1, sizeof *decls);
  zh_host_vars_component *comps = calloc(m->ncomponents + 1, sizeof *comps);
  zh_host_var_pair *cli = calloc(app->opt.nvariables + 1, sizeof *cli);
  zh_host_var_pair **cvars = calloc(m->ncomponents + 1, sizeof(zh_host_var_pair *));
  zh_host_vars_provider *prov = calloc(nprov + 1, sizeof *prov);
  zh_error *err = NULL;
  if (!decls || !comps || !cli || !cvars || !prov) {
    err = zh_error_oom();
    goto done;
  }
  for (size_t i = 0; i < m->nvariables; i++)
    decls[i] = (zh_host_var_decl){m->variables[i].name, m->variables[i].default_value,
                                  m->variables[i].required, m->variables[i].secret};
  for (size_t i = 0; i < m->ncomponents; i++) {
    const zh_manifest_component *c = &m->components[i];
    zh_host_var_pair *pairs = calloc(c->nvariables + 1, sizeof *pairs);
    if (!pairs) {
      err = zh_error_oom();
      goto done;
    }
    cvars[i] = pairs;
    for (size_t k = 0; k < c->nvariables; k++)
      pairs[k] = (zh_host_var_pair){c->variables[k].key, c->variables[k].value};
    comps[i] = (zh_host_vars_component){c->id, pairs, c->nvariables};
  }
  /* The runtime config's providers: env ones (a prefix, a dotenv file); the secret stores
   * Spin can reach (Vault, Azure Key Vault) are network services zerohop does not call. */
  for (size_t i = 0; i < nprov; i++) {
    const zh_runtime_provider *rp = &app->rc->providers[i];
    if (rp->type != ZH_RUNTIME_PROVIDER_ENV) {
      err = zh_error_new(ZH_ERR_INVALID,
                         "%s:%u:%u: variables provider type `%s` is not supported by zerohop "
                         "(use `env`, --variable or SPIN_VARIABLE_*)",
                         app->rc->path, rp->line, rp->col,
                         rp->type == ZH_RUNTIME_PROVIDER_VAULT ? "vault" : "azure_key_vault");
      goto done;
    }
    prov[i] = (zh_host_vars_provider){ZH_HOST_VARS_ENV, NULL, 0, rp->prefix, rp->dotenv_path};
  }
  for (size_t i = 0; i < app->opt.nvariables; i++) {
    char *name, *value;
    if ((err = zh_host_vars_parse_assignment(app->opt.variables[i], &name, &value)) != NULL)
      goto done;
    cli[ncli++] = (zh_host_var_pair){name, value};
  }
  zh_host_vars_config vc;
  memset(&vc, 0, sizeof vc);
  vc.vars = decls;
  vc.nvars = m->nvariables;
  vc.components = comps;
  vc.ncomponents = m->ncomponents;
  vc.cli = cli;
  vc.ncli = ncli;
  vc.providers = prov;
  vc.nproviders = nprov;
  vc.log = log_cb;
  vc.log_env = app;
  err = zh_host_vars_new(&vc, &app->vars);
done:
  for (size_t i = 0; i < ncli; i++) {
    free((char *)cli[i].key);
    free((char *)cli[i].value);
  }
  for (size_t i = 0; cvars && i < m->ncomponents; i++)
    free(cvars[i]);
  free(cvars);
  free(prov);
  free(cli);
  free(comps);
  free(decls);
  return err;
}

/* ---- stores and databases ---- */

/* Whether anything reaches the `default` key-value store: a component that declares it, or
 * --key-value, which writes to it. */
static bool uses_default_store(const zh_app *app) {
  if (app->opt.nkey_values)
    return true;
  for (size_t i = 0; i < app->m->ncomponents; i++) {
    const zh_manifest_component *c = &app->m->components[i];
    for (size_t k = 0; k < c->key_value_stores.len; k++)
      if (strcmp(c->key_value_stores.items[k], "default") == 0)
        return true;
  }
  return false;
}

static zh_error *load_stores(zh_app *app) {
  const zh_runtime_config *rc = app->rc;
  size_t nkv = rc ? rc->nkv_stores : 0, nsql = rc ? rc->nsqlite : 0;
  zh_host_kv_store_config *kv = calloc(nkv + 1, sizeof *kv);
  zh_host_sqlite_db_config *db = calloc(nsql + 1, sizeof *db);
  if (!kv || !db) {
    free(kv);
    free(db);
    return zh_error_oom();
  }
  zh_error *err = NULL;
  for (size_t i = 0; i < nkv; i++) {
    const zh_runtime_kv_store *s = &rc->kv_stores[i];
    kv[i] = (zh_host_kv_store_config){
        s->name, s->type == ZH_RUNTIME_STORE_REDIS ? ZH_HOST_KV_REDIS : ZH_HOST_KV_SQLITE, s->path,
        s->url};
  }
  for (size_t i = 0; i < nsql; i++)
    db[i] = (zh_host_sqlite_db_config){rc->sqlite[i].name, rc->sqlite[i].path};
  {
    zh_host_kv_config kc;
    memset(&kc, 0, sizeof kc);
    kc.state_dir = app->state_dir;
    kc.stores = kv;
    kc.nstores = nkv;
    kc.no_default = !uses_default_store(app);
    err = zh_host_kv_stores_new(&kc, &app->kv);
  }
  if (!err) {
    zh_host_sqlite_config sc;
    memset(&sc, 0, sizeof sc);
    sc.state_dir = app->state_dir;
    sc.base_dir = rc ? rc->base_dir : NULL;
    sc.dbs = db;
    sc.ndbs = nsql;
    err = zh_host_sqlite_dbs_new(&sc, &app->sql);
  }
  for (size_t i = 0; !err && i < app->m->ncomponents; i++) {
    const zh_manifest_component *c = &app->m->components[i];
    err = zh_host_sqlite_check_labels(app->sql, c->id, c->sqlite_databases.items,
                                      c->sqlite_databases.len);
  }
  for (size_t i = 0; !err && i < app->opt.nkey_values; i++) {
    const char *kv = app->opt.key_values[i], *eq = strchr(kv, '=');
    char *key = eq ? strndup(kv, (size_t)(eq - kv)) : NULL;
    if (!key)
      err = zh_error_new(ZH_ERR_USAGE, "--key-value expects KEY=VALUE, got '%s'", kv);
    else
      err = zh_host_kv_stores_set(app->kv, "default", key, (const uint8_t *)eq + 1, strlen(eq + 1));
    free(key);
    if (err)
      err = zh_error_prefix(err, "--key-value");
  }
  if (!err && app->opt.nsqlite)
    err = zh_host_sqlite_run_startup(app->sql, app->opt.sqlite, app->opt.nsqlite);
  free(kv);
  free(db);
  return err;
}

zh_error *app_linker_new(zh_cm_linker **out) {
  zh_error *err = zh_cm_linker_new(out);
  if (!err)
    err = zh_wasip2_define_linker(*out);
  if (!err)
    err = zh_host_kv_define_linker(*out);
  if (!err)
    err = zh_host_sqlite_define_linker(*out);
  if (!err)
    err = zh_host_vars_define_linker(*out);
  if (!err)
    err = zh_host_wasi_config_define_linker(*out);
  if (!err)
    err = zh_host_redis_define_linker(*out);
  return err;
}

static zh_error *load_linker(zh_app *app) { return app_linker_new(&app->linker); }

/* ---- one component ---- */

zh_error *app_read_file(const char *path, uint8_t **data, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return zh_error_new(ZH_ERR_IO, "%s: %s", path, strerror(e));
  }
  *len = (size_t)st.st_size;
  *data = malloc(*len ? *len : 1);
  size_t got = 0;
  while (*data && got < *len) {
    ssize_t r = read(fd, *data + got, *len - got);
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  if (!*data || got != *len) {
    free(*data);
    *data = NULL;
    return zh_error_new(ZH_ERR_IO, "%s: cannot read it whole", path);
  }
  return NULL;
}

/* The component's outbound rules, its templates rendered with the app's variables. */
static zh_error *load_rules(zh_app *app, app_component *c) {
  const zh_manifest_strs *hosts = &c->m->allowed_outbound_hosts;
  char **rendered = calloc(hosts->len + 1, sizeof *rendered);
  zh_error *err = rendered ? NULL : zh_error_oom();
  for (size_t i = 0; !err && i < hosts->len; i++)
    err = zh_host_vars_render_app(app->vars, hosts->items[i], &rendered[i]);
  if (!err)
    err = zh_host_outbound_parse(c->id, (const char *const *)rendered, hosts->len, 0, log_cb, app,
                                 &c->rules);
  for (size_t i = 0; rendered && i < hosts->len; i++)
    free(rendered[i]);
  free(rendered);
  return err;
}

static zh_error *load_env(zh_app *app, app_component *c) {
  size_t n = c->m->nenvironment + app->opt.nenv;
  c->env = calloc(n + 1, sizeof *c->env);
  if (!c->env)
    return zh_error_oom();
  for (size_t i = 0; i < c->m->nenvironment; i++) {
    const zh_manifest_kv *kv = &c->m->environment[i];
    size_t len = strlen(kv->key) + strlen(kv->value) + 2;
    if (!(c->env[c->nenv] = malloc(len)))
      return zh_error_oom();
    snprintf(c->env[c->nenv++], len, "%s=%s", kv->key, kv->value);
  }
  for (size_t i = 0; i < app->opt.nenv; i++)
    if (!(c->env[c->nenv++] = strdup(app->opt.env[i])))
      return zh_error_oom();
  return NULL;
}

/* A `source = { url, digest }` component must have the bytes the digest names, as Spin
 * checks: sha256 (the only algorithm the manifest accepts), lowercase hex. */
zh_error *app_check_digest(const char *what, const char *path, const char *want,
                           const uint8_t *bytes, size_t len) {
  if (!want)
    return NULL;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
    return zh_error_new(ZH_ERR_RESOURCE, "%s: cannot compute a sha256 digest", what);
  char got[7 + 64 + 1] = "sha256:";
  for (unsigned i = 0; i < 32; i++)
    snprintf(got + 7 + 2 * (size_t)i, 3, "%02x", md[i]);
  if (strcasecmp(got, want) != 0)
    return zh_error_new(ZH_ERR_INVALID,
                        "%s: %s does not match its digest: the manifest says %s, "
                        "the file is %s",
                        what, path, want, got);
  return NULL;
}

static zh_error *load_binary(zh_app *app, app_component *c) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  zh_error *err = app_read_file(c->m->source, &bytes, &len);
  if (err)
    return zh_error_prefix(err, "component `%s`", c->id);
  char what[300];
  snprintf(what, sizeof what, "component `%s`", c->id);
  if ((err = app_check_digest(what, c->m->source, c->m->source_digest, bytes, len)) != NULL) {
    free(bytes);
    return err;
  }
  if (zh_cm_is_component(bytes, len))
    err = zh_cm_component_new(app->engine, bytes, len, c->m->source, &c->comp);
  else
    err = zh_module_new(app->engine, bytes, len, c->m->source, &c->module);
  free(bytes);
  /* A core module may carry its world; without one it is a plain preview1 program. */
  if (!err && c->module) {
    zh_error *no_world = zh_cm_core_world(app->engine, c->module, c->m->source, &c->core_world);
    if (no_world)
      zh_error_free(no_world);
    else
      err = zh_wasip2_plan_new(zh_cm_component_world(c->core_world), &c->core_plan);
  }
  return err ? zh_error_prefix(err, "component `%s`", c->id) : NULL;
}

/* A template of the component; one the template machinery cannot capture is instantiated
 * in full for every call, after one trial instantiation shows it links. */
static zh_error *load_template(zh_app *app, app_component *c) {
  if (!c->comp || c->m->ndependencies)
    return NULL; /* linked to its dependencies first (app_deps.c) */
  zh_error *err = zh_cm_template_new(app->linker, c->comp, &c->tpl);
  if (!err || zh_error_status(err) != ZH_ERR_USAGE)
    return err ? zh_error_prefix(err, "component `%s`", c->id) : NULL;
  app_log(app, "component `%s`: no template (%s): each call instantiates it in full", c->id,
          zh_error_message(err));
  zh_error_free(err);
  c->tpl = NULL;
  app_call call;
  err = app_call_begin(app, c, NULL, 0, &call);
  if (!err)
    app_call_end(app, &call);
  return err;
}

static zh_error *load_component(zh_app *app, app_component *c, const zh_manifest_component *m) {
  c->m = m;
  c->id = m->id;
  c->log_fd[0] = c->log_fd[1] = -1;
  zh_error *err = load_env(app, c);
  if (!err)
    err = load_rules(app, c);
  if (!err)
    err = app_files_mount(app, c);
  if (err)
    return err;
  c->vars = zh_host_vars_inst(app->vars, c->id);
  c->cfg.env = (const char *const *)c->env;
  c->cfg.envc = c->nenv;
  c->cfg.preopens = c->pre;
  c->cfg.npreopens = c->npre;
  c->cfg.stdio[0].kind = ZH_WASI_STDIO_NULL;
  c->cfg.stdio[1].kind = ZH_WASI_STDIO_CAPTURE;
  c->cfg.stdio[2].kind = ZH_WASI_STDIO_CAPTURE;
  c->cfg.capture_limit = APP_CAPTURE_LIMIT;
  c->cfg.http_allowed = zh_host_outbound_policy;
  c->cfg.http_allowed_env = c->rules;
  c->cfg.dispatch = &app->chain;
  c->cfg.log = log_cb;
  c->cfg.log_env = app;
  c->cfg.http_done = app_hops_http_done;
  if (app->opt.log_dir) {
    for (int k = 0; k < 2; k++) {
      char name[512];
      snprintf(name, sizeof name, "%s/%s_%s.txt", app->opt.log_dir, c->id, k ? "stderr" : "stdout");
      c->log_fd[k] = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (c->log_fd[k] < 0)
        return zh_error_new(ZH_ERR_IO, "--log-dir: %s: %s", name, strerror(errno));
    }
  }
  err = load_binary(app, c);
  if (!err)
    err = load_template(app, c);
  return err;
}

static zh_error *load_components(zh_app *app) {
  app_component *comps = calloc(app->m->ncomponents + 1, sizeof *comps);
  if (!comps)
    return zh_error_oom();
  app->comps = comps;
  zh_error *err = NULL;
  for (size_t i = 0; !err && i < app->m->ncomponents; i++) {
    app->ncomps++;
    err = load_component(app, &comps[i], &app->m->components[i]);
  }
  return err;
}

/* ---- triggers ---- */

static void warn_duplicate(void *env, const char *route, size_t replaced, size_t effective) {
  zh_app *app = env;
  const zh_manifest_http_trigger *a = app->routes[replaced].t, *b = app->routes[effective].t;
  app_log(app,
          "warning: route %s is defined twice (components `%s` and `%s`); the later one "
          "serves it",
          route, a->component ? a->component : "static response",
          b->component ? b->component : "static response");
}

app_component *app_find_component(zh_app *app, const char *id) {
  for (size_t i = 0; id && i < app->ncomps; i++)
    if (strcmp(app->comps[i].id, id) == 0)
      return &app->comps[i];
  return NULL;
}

static zh_error *load_routes(zh_app *app) {
  const zh_manifest *m = app->m;
  app->routes = calloc(m->nhttp + 1, sizeof *app->routes);
  if (!app->routes)
    return zh_error_oom();
  zh_error *err = zh_router_new(m->http_base, warn_duplicate, app, &app->router);
  for (size_t i = 0; !err && i < m->nhttp; i++) {
    app_route *r = &app->routes[app->nroutes++];
    r->t = &m->http[i];
    r->comp = app_find_component(app, r->t->component);
    if (r->comp) {
      char what[300];
      snprintf(what, sizeof what, "component `%s` (%s)", r->comp->id, r->comp->m->source);
      err = r->comp->core_world
                ? zh_host_handler_find_core(zh_cm_component_world(r->comp->core_world), r->t->wagi,
                                            what, &r->handler)
                : zh_host_handler_find(r->comp->comp, r->t->wagi, what, &r->handler);
      if (!err && r->comp->core_world && r->handler.kind == ZH_HOST_HANDLER_SPIN_HTTP) {
        app_call call; /* one trial binding: a world the host cannot satisfy fails now */
        err = app_call_begin(app, r->comp, NULL, 0, &call);
        app_call_end(app, &call);
        if (err)
          err = zh_error_prefix(err, "%s", what);
      }
    }
    if (!err && !r->t->is_private && r->t->route)
      err = zh_router_add(app->router, r->t->route, i);
  }
  if (!err)
    err = zh_router_build(app->router);
  return err;
}

static zh_error *check_redis(zh_app *app) {
  for (size_t i = 0; i < app->m->nredis; i++) {
    app_component *c = app_find_component(app, app->m->redis[i].component);
    if (!c)
      continue; /* the manifest loader checked the id */
    const zh_wit_world *w = c->comp ? zh_cm_component_world(c->comp) : NULL;
    bool found = false;
    for (size_t k = 0; w && k < w->nexports; k++)
      found = found || strcmp(w->exports[k].name, "fermyon:spin/inbound-redis") == 0;
    if (!found)
      return zh_error_new(ZH_ERR_UNLINKABLE,
                          "component `%s` (%s) is on the Redis channel `%s` but does not export "
                          "fermyon:spin/inbound-redis",
                          c->id, c->m->source, app->m->redis[i].channel);
  }
  return NULL;
}

zh_error *zh_app_load(zh_engine *engine, const zh_app_options *options, zh_app **out) {
  *out = NULL;
  zh_app *app = calloc(1, sizeof *app);
  if (!app)
    return zh_error_oom();
  app->engine = engine;
  app->opt = *options;
  if (!app->opt.timeout_ns)
    app->opt.timeout_ns = DEFAULT_TIMEOUT_NS;
  if (!app->opt.max_body)
    app->opt.max_body = DEFAULT_MAX_BODY;
  app_chain_init(app);
  pthread_mutex_init(&app->log_lock, NULL);
  app->redis.log = log_cb;
  app->redis.log_env = app;
  zh_error *err = zh_hops_new(&app->hops);
  if (!err)
    err = zh_store_pool_new(engine, &app->stores);
  if (!err)
    err = zh_manifest_load(options->manifest, &app->m);
  if (!err && options->runtime_config)
    err = zh_runtime_config_load(options->runtime_config, &app->rc);
  if (!err) {
    app->state_dir =
        options->state_dir ? strdup(options->state_dir) : join_path(app->m->base_dir, ".zerohop");
    if (!app->state_dir) {
      zh_app_free(app);
      return zh_error_oom();
    }
    err = make_dir(app->state_dir);
  }
  if (!err)
    err = load_variables(app);
  if (!err)
    err = load_stores(app);
  if (!err)
    err = load_linker(app);
  if (!err)
    err = load_components(app);
  if (!err)
    err = app_deps_load(app);
  if (!err)
    err = load_routes(app);
  if (!err)
    err = check_redis(app);
  if (!err)
    err = app_bus_new(app);
  if (err) {
    zh_app_free(app);
    return err;
  }
  *out = app;
  return NULL;
}

bool zh_app_has_http(const zh_app *app) { return app->nroutes > 0; }

const char *zh_app_name(const zh_app *app) { return app->m->name; }

void zh_app_print_routes(const zh_app *app, FILE *out, const char *base_url) {
  size_t n = zh_router_count(app->router);
  /* The server also answers /.well-known/spin/ for apps with no HTTP route (health checks) */
  fprintf(out, "Serving %s\n", base_url);
  if (n)
    fprintf(out, "Available Routes:\n");
  for (size_t i = 0; i < n; i++) {
    size_t target;
    const char *route = zh_router_route_at(app->router, i, &target);
    const app_route *r = &app->routes[target];
    const char *id = r->comp ? r->comp->id : "(static response)";
    /* Spin prints a wildcard route with its "..." */
    fprintf(out, "  %s: %s%s", id, base_url, route);
    if (r->comp)
      fprintf(out, " (%s)", zh_host_handler_kind_name(r->handler.kind));
    fputc('\n', out);
    if (r->comp && r->comp->m->description)
      fprintf(out, "    %s\n", r->comp->m->description);
  }
  for (size_t i = 0; i < app->nroutes; i++)
    if (app->routes[i].t->is_private && app->routes[i].comp)
      fprintf(out, "  %s: private (no route)\n", app->routes[i].comp->id);
  for (size_t i = 0; i < app->m->nredis; i++) {
    const zh_manifest_redis_trigger *t = &app->m->redis[i];
    const char *channel = app->redis_channels ? app->redis_channels[i] : t->channel;
    const char *address = app->redis_addresses && app->redis_addresses[i] ? app->redis_addresses[i]
                          : app->redis_default_address ? app->redis_default_address
                          : t->address                 ? t->address
                                                       : "(no address)";
    zh_host_bus_route route = zh_host_bus_route_of(app->bus, channel, strlen(channel));
    if (route == ZH_HOST_BUS_LOCAL)
      fprintf(out, "  %s: redis channel `%s` on the local bus\n", t->component, channel);
    else if (route == ZH_HOST_BUS_BOTH)
      fprintf(out, "  %s: redis channel `%s` on the local bus, mirrored at %s\n", t->component,
              channel, address);
    else
      fprintf(out, "  %s: redis channel `%s` at %s\n", t->component, channel, address);
  }
  fflush(out);
}

void zh_app_free(zh_app *app) {
  if (!app)
    return;
  zh_app_stop_triggers(app);
  zh_host_bus_free(app->bus);
  app_redis_free(app);
  zh_store_pool_free(app->stores);
  app_deps_free(app->deps); /* before the components its units borrow */
  for (size_t i = 0; i < app->ncomps; i++) {
    app_component *c = &app->comps[i];
    zh_cm_template_free(c->tpl);
    zh_cm_linker_free(c->linker);
    zh_cm_component_free(c->comp);
    zh_wasip2_plan_free(c->core_plan);
    zh_cm_component_free(c->core_world);
    zh_module_free(c->module);
    zh_host_outbound_free(c->rules);
    app_files_free(c);
    for (size_t k = 0; k < c->nenv; k++)
      free(c->env[k]);
    free(c->env);
    for (int k = 0; k < 2; k++)
      if (c->log_fd[k] >= 0)
        close(c->log_fd[k]);
  }
  free(app->comps);
  free(app->routes);
  zh_router_free(app->router);
  zh_cm_linker_free(app->linker);
  zh_host_sqlite_dbs_free(app->sql);
  zh_host_kv_stores_free(app->kv);
  zh_host_vars_free(app->vars);
  zh_runtime_config_free(app->rc);
  zh_manifest_free(app->m);
  zh_hops_free(app->hops);
  free(app->state_dir);
  pthread_mutex_destroy(&app->log_lock);
  free(app);
}
