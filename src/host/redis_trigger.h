/* The Redis trigger: Spin's `[[trigger.redis]]`, and the call into a component's
 * `fermyon:spin/inbound-redis` handler.
 *
 * Triggers are grouped by address (a trigger's own `address`, else the application's
 * `[application.trigger.redis] address`); each address gets one subscriber thread with one
 * connection that SUBSCRIBEs to the channels of its group. Each message on a channel is
 * delivered once per trigger on that channel and address (two components on one channel both
 * get it), in arrival order, on the subscriber thread: the callback makes the fresh instance
 * and calls zh_host_inbound_redis_call, or hands the message to a worker.
 *
 * When Redis goes away the thread logs it and reconnects with exponential backoff (capped),
 * waiting in poll() on its stop pipe, so it never exits, never spins the CPU, and stops at
 * once on zh_host_redis_trigger_stop. Messages published while it is disconnected are lost,
 * as with any Redis pub/sub subscriber (and in Spin).
 *
 * Ownership: the trigger copies its configuration; it owns its threads, their connections
 * and the stop pipe, and stop joins and frees them all. */
#ifndef ZH_HOST_REDIS_TRIGGER_H
#define ZH_HOST_REDIS_TRIGGER_H

#include "host/redis_out.h"
#include "zerohop/cm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One `[[trigger.redis]]`. */
typedef struct zh_host_redis_trigger_entry {
  const char *component;
  const char *channel;
  const char *address; /* NULL or "": the application's default */
} zh_host_redis_trigger_entry;

/* Called for each message and each trigger it is for, on the address's subscriber thread. */
typedef void (*zh_host_redis_deliver_fn)(void *env, const char *component, const char *channel,
                                         const uint8_t *payload, size_t len);

typedef struct zh_host_redis_trigger_config {
  const char *default_address; /* [application.trigger.redis] address, or NULL */
  const zh_host_redis_trigger_entry *triggers;
  size_t ntriggers;
  zh_host_redis_deliver_fn deliver;
  void *deliver_env;
  zh_host_redis_log_fn log; /* NULL: stderr */
  void *log_env;
  unsigned backoff_min_ms; /* first wait before reconnecting; 0: 100 */
  unsigned backoff_max_ms; /* the cap of the doubling; 0: 5000 */
} zh_host_redis_trigger_config;

typedef struct zh_host_redis_trigger zh_host_redis_trigger;

/* Checks the triggers (each needs a channel and a `redis://host[:port][/db]` address: a
 * missing or bad one is ZH_ERR_INVALID naming the trigger's index and component) and starts
 * one subscriber thread per address. It returns without waiting for Redis: connecting is the
 * threads' job, with retries. */
zh_error *zh_host_redis_trigger_start(const zh_host_redis_trigger_config *config,
                                      zh_host_redis_trigger **out);
/* Stops every thread (within one connect timeout, 1 s), joins them and frees. NULL ok. */
void zh_host_redis_trigger_stop(zh_host_redis_trigger *trigger);

/* ---- introspection (for `zerohop up`'s start-up lines and for tests) ---- */

/* The addresses, one per subscriber thread, in the order of their first trigger. */
size_t zh_host_redis_trigger_address_count(const zh_host_redis_trigger *trigger);
const char *zh_host_redis_trigger_address(const zh_host_redis_trigger *trigger, size_t i);
/* How many times the i-th subscriber has (re)subscribed, and whether it is subscribed now. */
uint64_t zh_host_redis_trigger_subscriptions(const zh_host_redis_trigger *trigger, size_t i,
                                             bool *subscribed);
/* The CPU time the i-th subscriber thread has used, in nanoseconds (0 if unknown). */
uint64_t zh_host_redis_trigger_cpu_ns(const zh_host_redis_trigger *trigger, size_t i);

/* ---- the handler ---- */

/* Calls the unversioned `fermyon:spin/inbound-redis` `handle-message` of `inst` with the
 * payload. *guest_ok is false when the guest answered its `error` result. An error for a
 * component without that export (ZH_ERR_UNLINKABLE) or a trap. */
zh_error *zh_host_inbound_redis_call(zh_cm_instance *inst, const uint8_t *payload, size_t len,
                                     bool *guest_ok);

#endif
