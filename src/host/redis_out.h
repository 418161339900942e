/* Outbound Redis for Spin components: `fermyon:spin/redis@2.0.0` through hiredis.
 *
 * `connection.open(address)` takes `redis://[user[:password]@]host[:port][/db]` (port 6379 by
 * default) and is checked against the component's allowed_outbound_hosts as
 * `redis://host:port`: an address the rules do not allow answers `invalid-address`, as
 * Spin does, and is logged. `rediss://` (TLS) answers `other(...)`: Debian's hiredis has no
 * TLS. Every command and the connect are bounded by the configured timeout and by the
 * instance's deadline, so a dead or silent Redis costs a request at most that long.
 *
 * Replies map as in Spin: an error reply is `other(message)` (`type-error` for WRONGTYPE, and
 * for incr on a value that is not an integer); `execute` flattens arrays into its list of
 * results (nil, status, int64, binary); a set member or status that is not UTF-8 is
 * `type-error` rather than a trap.
 *
 * Ownership: each instance owns its connections (a redisContext each) and closes them when
 * the guest drops the handle or, at the latest, in zh_host_redis_inst_free. The config and
 * the rules are the app's, borrowed: they outlive every instance. One thread uses an
 * instance at a time (the one that runs its guest). */
#ifndef ZH_HOST_REDIS_OUT_H
#define ZH_HOST_REDIS_OUT_H

#include "host/outbound_hosts.h"
#include "zerohop/cm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Receives one log line (a denied or failed connection). */
typedef void (*zh_host_redis_log_fn)(void *env, const char *line);

struct zh_host_bus;
struct zh_hops;

/* The app-level settings, shared (read-only) by every instance. */
typedef struct zh_host_redis_config {
  unsigned timeout_ms;      /* connect and per-command limit; 0: 5000 */
  unsigned max_connections; /* open at once per instance; 0: 16 (then too-many-connections) */
  zh_host_redis_log_fn log; /* NULL: stderr */
  void *log_env;
  /* The event bus (bus.h), or NULL: `publish` on its local and both channels goes there.
   * With a local channel, a connection that fails to open still gives a handle (its
   * commands answer the connect error), so publishing locally needs no Redis at all. */
  struct zh_host_bus *bus;
  struct zh_hops *hops; /* PUBLISHes are recorded as ZH_HOP_REDIS; may be NULL */
} zh_host_redis_config;

typedef struct zh_host_redis_inst zh_host_redis_inst;

/* One instance's state: `config` and `rules` (the component's allowed_outbound_hosts) are
 * borrowed; `component` (copied) names the component in log lines. */
zh_error *zh_host_redis_inst_new(const zh_host_redis_config *config, const zh_host_outbound *rules,
                                 const char *component, zh_host_redis_inst **out);
/* Closes every connection the guest left open. Accepts NULL. */
void zh_host_redis_inst_free(zh_host_redis_inst *inst);
/* The request's deadline, CLOCK_MONOTONIC nanoseconds (0: none): no connect or command
 * waits past it (each then answers other("... deadline ...")). */
void zh_host_redis_inst_set_deadline(zh_host_redis_inst *inst, uint64_t deadline_ns);
/* The instance whose hop table and trace its commands are recorded in (ZH_HOP_REDIS: the
 * component to the server's host:port, or to "redis:CHANNEL" for a publish); borrowed, NULL
 * records nothing. */
struct zh_host_instance;
void zh_host_redis_inst_set_owner(zh_host_redis_inst *inst, const struct zh_host_instance *owner);

/* A Redis address: `redis://[user[:password]@]host[:port][/db]` or `rediss://...`. */
typedef struct zh_host_redis_address {
  char scheme[8]; /* "redis" or "rediss" */
  char host[256]; /* an IPv6 address without brackets */
  char user[128], pass[256];
  unsigned port, db; /* port 6379 when absent */
  bool has_pass, has_db;
} zh_host_redis_address;

/* Parses `n` bytes of `s`; false if malformed (or a part is too long). */
bool zh_host_redis_parse_address(const char *s, size_t n, zh_host_redis_address *a);

/* redisCommandArgv with SIGPIPE blocked on the calling thread (and the one it raised
 * consumed): a peer that reset the connection makes the command fail, never kills the host.
 * For this module and the trigger. */
struct redisContext;
struct redisReply;
struct redisReply *zh_host_redis_command_argv(struct redisContext *c, int argc, const char **argv,
                                              const size_t *lens);

/* Defines `fermyon:spin/redis@2.0.0` (the connection resource and its functions) on a
 * component linker. The functions find their instance through zh_host_instance_of(call);
 * without one (a template initialising) they answer other("..."). */
zh_error *zh_host_redis_define_linker(zh_cm_linker *linker);

#endif
