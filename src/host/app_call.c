/* One call into a component: a store lent from the app's pool (wasm/store_pool.h), a fresh instance
 * stamped from the component's template into it, and the host state its imports use (WASI 0.2
 * context and variables at once; key-value, SQLite and Redis at the first host call that needs
 * them, which most calls never make). app_call_end undoes all of it and rolls the store back
 * to empty, so the next call, on any thread, starts clean.
 *
 * WAGI core modules (preview1) are instantiated from their compiled module with a preview1
 * context instead; the caller runs `_start` (or the executor's entrypoint). */
#include "host/app_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The key-value, SQLite and Redis state of `hi`, the host_instance of an app_call
 * (zh_host_instance_state calls it at the first host call that needs it). */
static zh_error *make_state(zh_host_instance *hi) {
  app_call *call = (app_call *)((char *)hi - offsetof(app_call, hi));
  zh_app *app = call->app;
  app_component *c = call->c;
  zh_error *err = zh_host_kv_inst_new(app->kv, c->m->key_value_stores.items,
                                      c->m->key_value_stores.len, &hi->kv);
  if (!err)
    err = zh_host_sqlite_inst_new(app->sql, c->m->sqlite_databases.items,
                                  c->m->sqlite_databases.len, &hi->sqlite);
  if (!err)
    err = zh_host_redis_inst_new(&app->redis, c->rules, c->id, &hi->redis);
  if (!err) {
    zh_host_redis_inst_set_owner(hi->redis, hi);
    zh_host_redis_inst_set_deadline(hi->redis, call->deadline_ns);
  }
  return err;
}

static void host_state(app_call *call) {
  app_component *c = call->c;
  call->hi.component_id = c->id;
  call->hi.vars = c->vars;
  call->hi.hops = call->app->hops;
  call->hi.make_state = make_state;
}

static zh_error *begin_module(app_call *call, const zh_wasip2_config *cfg) {
  zh_wasi_config wc;
  memset(&wc, 0, sizeof wc);
  wc.argv = cfg->argv;
  wc.argc = cfg->argc;
  wc.env = cfg->env;
  wc.envc = cfg->envc;
  wc.preopens = cfg->preopens;
  wc.npreopens = cfg->npreopens;
  memcpy(wc.stdio, cfg->stdio, sizeof wc.stdio);
  wc.capture_limit = cfg->capture_limit;
  zh_error *err = NULL;
  if ((call->wasi = zh_wasi_new(&wc, &err)) == NULL)
    return err;
  size_t n = zh_module_import_count(call->c->module);
  zh_extern *imports = calloc(n + 1, sizeof *imports);
  if (!imports)
    return zh_error_oom();
  err = zh_wasi_link(call->wasi, call->slot->store, call->c->module, imports);
  if (!err)
    zh_store_set_data(call->slot->store, call->wasi);
  if (!err && !call->c->core_world) {
    err = zh_instance_new(call->slot->store, call->c->module, imports, n, &call->core);
  } else if (!err) {
    /* bound to the world it carries: WASI 0.2 imports from the plan, preview1 ones above */
    const zh_wit_world *world = zh_cm_component_world(call->c->core_world);
    err = zh_component_new(call->slot->store, call->c->module, world, &call->bound);
    if (!err && (call->cx = zh_wasip2_new(cfg, &err)) != NULL) {
      zh_wasip2_set_store(call->cx, call->slot->store);
      err = zh_wasip2_define_plan(call->bound, call->cx, call->c->core_plan);
    }
    if (!err)
      err = zh_component_instantiate(call->bound, imports, n);
    zh_func *init =
        err ? NULL : zh_instance_func(zh_component_instance(call->bound), "_initialize");
    if (init) /* a reactor sets itself up before its exports are used */
      err = zh_func_call(call->slot->store, init, NULL, 0, NULL, 0);
  }
  free(imports);
  return err;
}

zh_error *app_call_begin(zh_app *app, app_component *c, const zh_wasip2_config *cfg,
                         uint64_t timeout_ns, app_call *call) {
  memset(call, 0, sizeof *call);
  call->app = app;
  call->c = c;
  zh_error *err = zh_store_pool_take(app->stores, &call->slot);
  if (err)
    return err;
  if (!timeout_ns)
    timeout_ns = app->opt.timeout_ns;
  call->deadline_ns = zh_hops_now_ns() + timeout_ns;
  zh_store_set_timeout(call->slot->store, timeout_ns);
  call->own_stdout = cfg != NULL;
  if (!cfg)
    cfg = &c->cfg;
  if (c->module)
    return begin_module(call, cfg);
  if ((call->cx = zh_wasip2_new(cfg, &err)) == NULL)
    return err;
  zh_wasip2_set_store(call->cx, call->slot->store);
  host_state(call);
  call->hi.p2 = call->cx;
  zh_wasip2_set_user(call->cx, &call->hi);
  return c->tpl ? zh_cm_template_instantiate(c->tpl, call->slot->store, call->cx, &call->inst)
                : zh_cm_linker_instantiate(c->linker ? c->linker : app->linker, c->comp,
                                           call->slot->store, call->cx, &call->inst);
}

/* Emits `data` line by line, each prefixed by the component id. */
static void log_lines(zh_app *app, app_component *c, const char *data, size_t len) {
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t n = nl ? (size_t)(nl - data) : len;
    app_log(app, "[%s] %.*s", c->id, (int)(n > 4000 ? 4000 : n), data);
    data += n + (nl ? 1 : 0);
    len -= n + (nl ? 1 : 0);
  }
}

void app_call_log_output(zh_app *app, app_component *c, int fd, const char *data, size_t len) {
  if (len == 0)
    return;
  int out = c->log_fd[fd == 2];
  if (out < 0) {
    log_lines(app, c, data, len);
    return;
  }
  pthread_mutex_lock(&app->log_lock); /* one call's output stays together */
  while (len > 0) {
    ssize_t w = write(out, data, len);
    if (w <= 0)
      break;
    data += w;
    len -= (size_t)w;
  }
  pthread_mutex_unlock(&app->log_lock);
}

void app_call_end(zh_app *app, app_call *call) {
  size_t len;
  const char *data;
  app_deps_call_end(app, call);
  zh_cm_instance_free(call->inst);
  zh_component_free(call->bound);
  if (call->cx) {
    /* WAGI takes stdout itself (the response): only stderr is the guest's log then */
    if (!call->own_stdout) {
      data = zh_wasip2_stdout_captured(call->cx, &len);
      app_call_log_output(app, call->c, 1, data, len);
    }
    data = zh_wasip2_stderr_captured(call->cx, &len);
    app_call_log_output(app, call->c, 2, data, len);
  }
  if (call->wasi && call->bound) { /* not WAGI: its stdout is a log too */
    data = zh_wasi_stdout_captured(call->wasi, &len);
    app_call_log_output(app, call->c, 1, data, len);
  }
  if (call->wasi) {
    data = zh_wasi_stderr_captured(call->wasi, &len);
    app_call_log_output(app, call->c, 2, data, len);
  }
  zh_host_kv_inst_free(call->hi.kv);
  zh_host_sqlite_inst_free(call->hi.sqlite);
  zh_host_redis_inst_free(call->hi.redis);
  zh_wasip2_free(call->cx); /* before the store's objects go: it may flush guest streams */
  zh_wasi_free(call->wasi);
  zh_error *err = call->slot ? zh_store_pool_give(app->stores, call->slot) : NULL;
  if (err) {
    app_log(app, "dropping a worker store: %s", zh_error_message(err));
    zh_error_free(err);
  }
  memset(call, 0, sizeof *call);
}
