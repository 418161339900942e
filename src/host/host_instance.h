/* The app host's per-instance state: what every Spin host function finds through its call.
 *
 * Each component instance that the app host makes (one per request or message) has a
 * zh_wasip2_ctx as its data, for WASI 0.2, and that context's user pointer is this struct.
 * Every host interface module keeps its own per-instance part behind one opaque pointer, so
 * the modules stay independent: key-value, SQLite, variables and Redis each own their field
 * and free it in their own function. The component's configuration (declared stores,
 * databases, variables, outbound hosts) is the app's and outlives every instance. */
#ifndef ZH_HOST_HOST_INSTANCE_H
#define ZH_HOST_HOST_INSTANCE_H

#include "zerohop/cm.h"
#include "zerohop/wasip2.h"

struct zh_host_kv_inst;     /* kv.c: open key-value stores and buckets */
struct zh_host_sqlite_inst; /* sqlite.c: open connections */
struct zh_host_vars_inst;   /* variables.c: the component's resolved variables */
struct zh_host_redis_inst;  /* redis_out.c: outbound Redis connections */
struct zh_hops;             /* hops.c: the app's hop tracing, shared by every instance */
struct zh_hop_trace;        /* hops_trace.c: the request's trace when it is traced, or NULL */

typedef struct zh_host_instance {
  zh_wasip2_ctx *p2;
  const char *component_id; /* for log lines and errors */
  struct zh_host_kv_inst *kv;
  struct zh_host_sqlite_inst *sqlite;
  struct zh_host_vars_inst *vars;
  struct zh_host_redis_inst *redis;
  struct zh_hops *hops;
  struct zh_hop_trace *trace; /* borrowed from the request; nested calls copy it */
  /* kv, sqlite and redis are made at the first host call that needs one of them (most
   * instances never do): by make_state, once, through zh_host_instance_state. */
  zh_error *(*make_state)(struct zh_host_instance *hi);
  bool state_made;
} zh_host_instance;

/* `hi` with its key-value, SQLite and Redis state made; NULL when it could not be (out of
 * memory: the host function then answers its error case). */
static inline zh_host_instance *zh_host_instance_state(zh_host_instance *hi) {
  if (hi && !hi->state_made && hi->make_state) {
    hi->state_made = true; /* what it made, even in part, is freed with the instance */
    zh_error *err = hi->make_state(hi);
    if (err) {
      zh_error_free(err);
      return NULL;
    }
  }
  return hi;
}

/* The instance behind a host call (NULL while a template initialises). */
static inline zh_host_instance *zh_host_instance_of(const zh_cm_call *call) {
  zh_wasip2_ctx *p2 = (zh_wasip2_ctx *)zh_cm_call_data(call);
  return p2 ? (zh_host_instance *)zh_wasip2_user(p2) : NULL;
}

#endif
