/* The in-process event bus: Redis pub/sub channels that stay inside the process.
 *
 * Components publish with the outbound Redis `publish` they already use, and subscribe with
 * `[[trigger.redis]]`; the runtime config alone says where a channel's events go
 * (`[zerohop.channels."NAME"] transport`), so the same spin.toml and binaries run under Spin:
 *
 *   redis  (and every channel without an entry) as under Spin; the bus is not involved;
 *   local  the event is queued for each subscriber of the channel in the app and handled
 *          there; nothing touches Redis (the publishing connection may even have failed);
 *   both   queued locally as `local`, and PUBLISHed to Redis for the outside world. The
 *          app's Redis trigger still subscribes to the channel, so external publishers reach
 *          the app's subscribers (through the same queues); the copy of the app's own
 *          mirrored event that comes back from Redis is recognised by its content and
 *          dropped, so each subscriber handles a local publish once.
 *
 * Guarantees, per channel (knobs in the runtime config, defaults in runtime_config.h):
 *   - each subscriber has a bounded queue (`queue` events). A publish waits while any
 *     subscriber's queue is full, up to `publish_timeout_ms` and the publishing request's
 *     deadline, then fails: the guest's `publish` answers an error. Nothing is dropped.
 *   - one worker thread per subscriber handles its events one at a time in publish order, so
 *     each subscriber sees a channel's events in order (subscribers do not wait for each
 *     other).
 *   - a subscriber that traps or answers an error is called again, `retries` more times; then
 *     the event is logged and goes to the channel's `dead_letter` channel: queued there if
 *     that channel is on the bus, PUBLISHed to Redis if it has a Redis transport or
 *     subscribers, otherwise only logged. A dead letter is never dead-lettered again.
 *   - zh_host_bus_drain (a clean shutdown, after the HTTP server and the Redis trigger have
 *     stopped) waits until every queue is empty and every worker idle, up to the drain
 *     timeout; from then on publishing fails, and whatever is left is logged, not silently
 *     lost.
 *
 * Every handled event is a ZH_HOP_BUS hop (publisher -> subscriber, time from publish to
 * handled, payload bytes); what the bus sends to Redis is a ZH_HOP_REDIS hop.
 *
 * Ownership: the bus copies its configuration and every event's payload; it owns its worker
 * threads and the events queued. The handle callback and the hops are borrowed and must
 * outlive zh_host_bus_free. All functions are thread-safe. */
#ifndef ZH_HOST_BUS_H
#define ZH_HOST_BUS_H

#include "host/redis_out.h"
#include "host/runtime_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zh_hops;

typedef struct zh_host_bus zh_host_bus;

/* Handles one event in a fresh instance of `component`: false, with the reason in `why`, if
 * the guest trapped, failed or answered its error result. Called on a worker thread. */
typedef bool (*zh_host_bus_handle_fn)(void *env, const char *component, const char *channel,
                                      const uint8_t *payload, size_t len, char *why, size_t whylen);

/* One `[[trigger.redis]]`: who subscribes to what, and at which Redis address (its own or
 * the application's; NULL if none). */
typedef struct zh_host_bus_trigger {
  const char *component;
  const char *channel;
  const char *address;
} zh_host_bus_trigger;

typedef struct zh_host_bus_config {
  const zh_runtime_config *rc; /* the channels and the drain timeout; copied */
  const zh_host_bus_trigger *triggers;
  size_t ntriggers;
  zh_host_bus_handle_fn handle;
  void *handle_env;
  zh_host_redis_log_fn log; /* NULL: stderr */
  void *log_env;
  struct zh_hops *hops; /* may be NULL */
} zh_host_bus_config;

typedef enum zh_host_bus_route {
  ZH_HOST_BUS_REDIS, /* not the bus's: Redis as under Spin */
  ZH_HOST_BUS_LOCAL,
  ZH_HOST_BUS_BOTH,
} zh_host_bus_route;

/* Builds the bus, or sets *out to NULL when no channel of the runtime config is `local` or
 * `both` (then every publish goes to Redis, as under Spin). No thread starts yet. */
zh_error *zh_host_bus_new(const zh_host_bus_config *config, zh_host_bus **out);
/* Starts one worker per subscriber. Events published before are kept and handled then. */
zh_error *zh_host_bus_start(zh_host_bus *bus);
/* Waits for every queue to empty (bounded by the drain timeout), then refuses publishing and
 * stops the workers. Logs what could not be delivered. Safe on a bus never started. */
void zh_host_bus_drain(zh_host_bus *bus);
/* Drains (if not done), then frees. Accepts NULL. */
void zh_host_bus_free(zh_host_bus *bus);

/* The route of a channel; ZH_HOST_BUS_REDIS for a NULL bus. */
zh_host_bus_route zh_host_bus_route_of(const zh_host_bus *bus, const char *channel, size_t len);
/* True if some channel is `local`: outbound Redis then keeps a connection that failed to
 * open, so that a component can still publish to local channels with no Redis at all. */
bool zh_host_bus_has_local(const zh_host_bus *bus);

/* Sends the event to Redis for a `both` channel: true when done; else false and why. Called
 * by zh_host_bus_publish without the bus's lock, after room was reserved. */
typedef bool (*zh_host_bus_mirror_fn)(void *env, char *why, size_t whylen);

/* Publishes `payload` on a `local` or `both` channel from component `publisher`: waits for
 * room (up to the channel's publish timeout and `deadline_ns`, CLOCK_MONOTONIC, 0: none),
 * calls `mirror` if not NULL, and queues the event for every subscriber. False, with the
 * reason in `why`, if the bus is closed, a queue stayed full or the mirror failed; nothing
 * was queued then. */
bool zh_host_bus_publish(zh_host_bus *bus, const char *publisher, const char *channel, size_t chlen,
                         const uint8_t *payload, size_t len, uint64_t deadline_ns,
                         zh_host_bus_mirror_fn mirror, void *mirror_env, char *why, size_t whylen);

/* Before mirroring to the Redis at host:port: the subscribers whose trigger listens there
 * will see the event come back; remember it so that zh_host_bus_from_redis drops that copy.
 * Returns whether anything was remembered. _cancel undoes it (the PUBLISH failed or reached
 * nobody). */
bool zh_host_bus_expect_echo(zh_host_bus *bus, const char *channel, size_t chlen, const char *host,
                             unsigned port, const uint8_t *payload, size_t len);
void zh_host_bus_cancel_echo(zh_host_bus *bus, const char *channel, size_t chlen, const char *host,
                             unsigned port, const uint8_t *payload, size_t len);

/* A message the Redis trigger received on a `both` channel for `component`: dropped if it
 * is the echo of the app's own mirrored event, else queued for that subscriber like a
 * local event (waiting for room up to the publish timeout; then it is dead-lettered). */
void zh_host_bus_from_redis(zh_host_bus *bus, const char *component, const char *channel,
                            const uint8_t *payload, size_t len);

#endif
