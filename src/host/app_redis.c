/* The Redis trigger's glue: each message on a subscribed channel runs the component's
 * fermyon:spin/inbound-redis handler in a fresh instance. Channels of transport `redis` (and
 * those the runtime config does not name) are handled on the Redis subscriber's thread (one
 * per address, so a channel's messages are handled in order), as under Spin: a failure is
 * logged and the trigger goes on with the next message. Channels on the event bus (`local`,
 * `both`) are fed by bus.c's workers instead, with its queues, retries and dead letters;
 * the Redis trigger subscribes only to `both` ones among them, and hands what it receives
 * there to the bus. */
#include "host/app_internal.h"

#include "host/bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One message through a fresh instance: false, with why, on a trap, error or error result. */
static bool handle(void *env, const char *component, const char *channel, const uint8_t *payload,
                   size_t len, char *why, size_t whylen) {
  (void)channel;
  zh_app *app = env;
  app_component *c = app_find_component(app, component);
  if (!c) {
    snprintf(why, whylen, "no component `%s`", component);
    return false;
  }
  app_call call;
  bool guest_ok = true;
  zh_hop_trace *trace = app_hops_message_begin(app);
  uint64_t start_ns = zh_hops_now_ns();
  zh_error *err = app_call_begin(app, c, NULL, 0, &call);
  call.hi.trace = trace;
  if (!err)
    err = zh_host_inbound_redis_call(call.inst, payload, len, &guest_ok);
  app_call_end(app, &call);
  app_hops_message_end(app, trace, channel, component, start_ns, len, err || !guest_ok);
  if (err) {
    snprintf(why, whylen, "%s", zh_error_message(err));
    zh_error_free(err);
    return false;
  }
  if (!guest_ok)
    snprintf(why, whylen, "it answered an error");
  return guest_ok;
}

static void deliver(void *env, const char *component, const char *channel, const uint8_t *payload,
                    size_t len) {
  zh_app *app = env;
  if (zh_host_bus_route_of(app->bus, channel, strlen(channel)) != ZH_HOST_BUS_REDIS) {
    zh_host_bus_from_redis(app->bus, component, channel, payload, len);
    return;
  }
  char why[512];
  if (!handle(app, component, channel, payload, len, why, sizeof why))
    app_log(app, "redis channel `%s`: component `%s` failed: %s", channel, component, why);
}

static void trigger_log(void *env, const char *line) { app_log(env, "%s", line); }

/* Spin expands variables in a trigger's address and channel: render them once, at load. */
static zh_error *render_triggers(zh_app *app) {
  const zh_manifest *m = app->m;
  app->redis_channels = calloc(m->nredis + 1, sizeof *app->redis_channels);
  app->redis_addresses = calloc(m->nredis + 1, sizeof *app->redis_addresses);
  if (!app->redis_channels || !app->redis_addresses)
    return zh_error_oom();
  zh_error *err = NULL;
  for (size_t i = 0; !err && i < m->nredis; i++) {
    err = zh_host_vars_render_app(app->vars, m->redis[i].channel, &app->redis_channels[i]);
    if (!err && m->redis[i].address && m->redis[i].address[0])
      err = zh_host_vars_render_app(app->vars, m->redis[i].address, &app->redis_addresses[i]);
  }
  if (!err && m->redis_address)
    err = zh_host_vars_render_app(app->vars, m->redis_address, &app->redis_default_address);
  return err;
}

void app_redis_free(zh_app *app) {
  for (size_t i = 0; app->redis_channels && i < app->m->nredis; i++)
    free(app->redis_channels[i]);
  for (size_t i = 0; app->redis_addresses && i < app->m->nredis; i++)
    free(app->redis_addresses[i]);
  free(app->redis_channels);
  free(app->redis_addresses);
  free(app->redis_default_address);
  app->redis_channels = app->redis_addresses = NULL;
  app->redis_default_address = NULL;
}

zh_error *app_bus_new(zh_app *app) {
  const zh_manifest *m = app->m;
  zh_error *err = render_triggers(app);
  if (err)
    return err;
  zh_host_bus_trigger *t = calloc(m->nredis + 1, sizeof *t);
  if (!t)
    return zh_error_oom();
  for (size_t i = 0; i < m->nredis; i++)
    t[i] = (zh_host_bus_trigger){m->redis[i].component, app->redis_channels[i],
                                 app->redis_addresses[i] ? app->redis_addresses[i]
                                                         : app->redis_default_address};
  zh_host_bus_config cfg = {0};
  cfg.rc = app->rc;
  cfg.triggers = t;
  cfg.ntriggers = m->nredis;
  cfg.handle = handle;
  cfg.handle_env = app;
  cfg.log = trigger_log;
  cfg.log_env = app;
  cfg.hops = app->hops;
  err = zh_host_bus_new(&cfg, &app->bus);
  free(t);
  app->redis.bus = app->bus;
  app->redis.hops = app->hops;
  return err;
}

zh_error *zh_app_start_triggers(zh_app *app) {
  const zh_manifest *m = app->m;
  zh_error *err = zh_host_bus_start(app->bus);
  if (err || m->nredis == 0 || app->trigger)
    return err;
  zh_host_redis_trigger_entry *e = calloc(m->nredis, sizeof *e);
  if (!e)
    return zh_error_oom();
  size_t n = 0;
  for (size_t i = 0; i < m->nredis; i++) { /* local channels never touch Redis */
    const char *channel = app->redis_channels[i];
    if (zh_host_bus_route_of(app->bus, channel, strlen(channel)) != ZH_HOST_BUS_LOCAL)
      e[n++] =
          (zh_host_redis_trigger_entry){m->redis[i].component, channel, app->redis_addresses[i]};
  }
  zh_host_redis_trigger_config cfg = {0};
  cfg.default_address = app->redis_default_address;
  cfg.triggers = e;
  cfg.ntriggers = n;
  cfg.deliver = deliver;
  cfg.deliver_env = app;
  cfg.log = trigger_log;
  cfg.log_env = app;
  if (n)
    err = zh_host_redis_trigger_start(&cfg, &app->trigger);
  free(e);
  return err;
}

void zh_app_stop_triggers(zh_app *app) {
  zh_host_redis_trigger_stop(app->trigger);
  app->trigger = NULL;
  zh_host_bus_drain(app->bus); /* nothing new comes from Redis now: deliver what is queued */
}
