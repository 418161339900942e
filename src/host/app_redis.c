/* The Redis trigger's glue: each message on a subscribed channel runs the component's
 * fermyon:spin/inbound-redis handler in a fresh instance, on the subscriber's thread (one
 * per address, so a channel's messages are handled in order). A failure is logged and the
 * trigger goes on with the next message. */
#include "host/app_internal.h"

#include <stdlib.h>

static void deliver(void *env, const char *component, const char *channel, const uint8_t *payload,
                    size_t len) {
  zh_app *app = env;
  app_component *c = app_find_component(app, component);
  if (!c)
    return;
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
    app_log(app, "redis channel `%s`: component `%s` failed: %s", channel, component,
            zh_error_message(err));
    zh_error_free(err);
  } else if (!guest_ok) {
    app_log(app, "redis channel `%s`: component `%s` answered an error", channel, component);
  }
}

static void trigger_log(void *env, const char *line) { app_log(env, "%s", line); }

zh_error *zh_app_start_triggers(zh_app *app) {
  const zh_manifest *m = app->m;
  if (m->nredis == 0 || app->trigger)
    return NULL;
  zh_host_redis_trigger_entry *e = calloc(m->nredis, sizeof *e);
  if (!e)
    return zh_error_oom();
  for (size_t i = 0; i < m->nredis; i++)
    e[i] = (zh_host_redis_trigger_entry){m->redis[i].component, m->redis[i].channel,
                                         m->redis[i].address};
  zh_host_redis_trigger_config cfg = {0};
  cfg.default_address = m->redis_address;
  cfg.triggers = e;
  cfg.ntriggers = m->nredis;
  cfg.deliver = deliver;
  cfg.deliver_env = app;
  cfg.log = trigger_log;
  cfg.log_env = app;
  zh_error *err = zh_host_redis_trigger_start(&cfg, &app->trigger);
  free(e);
  return err;
}

void zh_app_stop_triggers(zh_app *app) {
  zh_host_redis_trigger_stop(app->trigger);
  app->trigger = NULL;
}
