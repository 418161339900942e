/* wasi:io/poll and the clocks (wasi:clocks/monotonic-clock, wall-clock): pollables are
 * timers, input streams and HTTP futures; `poll` waits for any of them.
 *
 * A wait never blocks longer than a 10 ms slice: between slices it checks the store, so an
 * interrupt or the store's deadline ends even a poll on a timer an hour away (with
 * ZH_ERR_INTERRUPTED, as preview1's poll_oneoff does). Descriptors of input streams are
 * waited on with poll(2); while outbound HTTP transfers are running, curl drives the wait
 * instead, so their futures progress. */
#include "wasip2/wasip2_internal.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLICE_MS 10

static void pollable_free(zh_wasip2_ctx *cx, wp2_obj *o) {
  (void)cx;
  free(o);
}

zh_error *wp2_pollable_new(zh_wasip2_ctx *cx, wp2_poll_kind kind, uint64_t target,
                           uint64_t deadline, zh_val *result) {
  wp2_pollable *p = calloc(1, sizeof *p);
  if (!p)
    return wp2_oom();
  p->base = (wp2_obj){WP2_POLLABLE, pollable_free};
  p->kind = kind;
  p->target = target;
  p->deadline = deadline;
  uint64_t rep = 0;
  zh_error *err = wp2_insert(cx, &p->base, &rep);
  if (!err)
    *result = zh_val_own(rep);
  return err;
}

static bool is_ready(zh_wasip2_ctx *cx, wp2_pollable *p) {
  switch (p->kind) {
  case WP2_P_READY:
    return true;
  case WP2_P_TIMER:
    return wp2_now_ns(CLOCK_MONOTONIC) >= p->deadline;
  case WP2_P_INPUT: {
    wp2_stream *s = (wp2_stream *)wp2_get(cx, p->target, WP2_INPUT);
    return !s || wp2_stream_ready(cx, s); /* a dropped stream will never block */
  }
  case WP2_P_FUTURE:
    return !p->ready || p->ready(cx, p->target);
  }
  return true;
}

zh_error *wp2_wait(zh_wasip2_ctx *cx, wp2_pollable **ps, size_t n, bool *which) {
  struct pollfd *fds = calloc(n ? n : 1, sizeof *fds);
  if (!fds)
    return wp2_oom();
  zh_error *err = NULL;
  for (;;) {
    bool any = false;
    uint64_t now = wp2_now_ns(CLOCK_MONOTONIC), wait = (uint64_t)SLICE_MS * 1000000u;
    nfds_t nfds = 0;
    for (size_t i = 0; i < n; i++) {
      which[i] = is_ready(cx, ps[i]);
      any |= which[i];
      if (ps[i]->kind == WP2_P_TIMER && ps[i]->deadline > now && ps[i]->deadline - now < wait)
        wait = ps[i]->deadline - now;
      if (ps[i]->kind == WP2_P_INPUT) {
        wp2_stream *s = (wp2_stream *)wp2_get(cx, ps[i]->target, WP2_INPUT);
        if (s && s->kind == WP2_S_FD && !s->positioned)
          fds[nfds++] = (struct pollfd){s->fd, POLLIN, 0};
      }
    }
    if (any)
      break;
    if (cx->store && zh_store_interrupt_pending(cx->store)) {
      err = zh_error_new(ZH_ERR_INTERRUPTED, "wasip2: poll interrupted (store deadline)");
      break;
    }
    int ms = (int)((wait + 999999u) / 1000000u);
    if (wp2_curl_active(cx))
      wp2_curl_step(cx, ms); /* curl waits on its sockets; our descriptors get the next turn */
    else
      poll(nfds ? fds : NULL, nfds, ms);
  }
  free(fds);
  return err;
}

zh_error *wp2_block_until(zh_wasip2_ctx *cx, bool (*ready)(zh_wasip2_ctx *, void *), void *arg) {
  while (!ready(cx, arg)) {
    if (cx->store && zh_store_interrupt_pending(cx->store))
      return zh_error_new(ZH_ERR_INTERRUPTED, "wasip2: blocking call interrupted (store deadline)");
    if (wp2_curl_active(cx))
      wp2_curl_step(cx, SLICE_MS);
    else {
      struct timespec ts = {0, 1000000}; /* 1 ms: input from pipes and HTTP bodies */
      nanosleep(&ts, NULL);
    }
  }
  return NULL;
}

/* ---- wasi:io/poll ---- */

static zh_error *pollable_arg(zh_wasip2_ctx *cx, zh_val *v, const char *what, wp2_pollable **out) {
  wp2_obj *o;
  zh_error *err = wp2_arg(cx, v, WP2_POLLABLE, what, &o);
  *out = (wp2_pollable *)o;
  return err;
}

static zh_error *p_ready(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  wp2_pollable *p;
  zh_error *err = pollable_arg(cx, &args[0], "pollable.ready", &p);
  if (!err)
    *result = zh_val_bool(is_ready(cx, p));
  return err;
}

static zh_error *p_block(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  (void)result;
  wp2_pollable *p;
  zh_error *err = pollable_arg(cx, &args[0], "pollable.block", &p);
  bool which;
  return err ? err : wp2_wait(cx, &p, 1, &which);
}

static zh_error *p_poll(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  size_t count = zh_val_list_len(&args[0]);
  zh_val *items = zh_val_list_items(&args[0]);
  if (count == 0)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: poll on an empty list would never return");
  if (count > UINT32_MAX)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: poll on more than 2^32 pollables");
  wp2_pollable **ps = calloc(count, sizeof(wp2_pollable *));
  bool *which = calloc(count, sizeof *which);
  uint32_t *idx = malloc(count * sizeof *idx);
  if (!ps || !which || !idx) {
    free(ps);
    free(which);
    free(idx);
    return wp2_oom();
  }
  zh_error *err = NULL;
  for (size_t i = 0; i < count && !err; i++)
    err = pollable_arg(cx, &items[i], "poll", &ps[i]);
  if (!err)
    err = wp2_wait(cx, ps, count, which);
  size_t nready = 0;
  for (size_t i = 0; !err && i < count; i++)
    if (which[i])
      idx[nready++] = (uint32_t)i;
  if (!err)
    err = zh_val_list_raw(result, ZH_WIT_U32, idx, nready);
  free(idx);
  free(ps);
  free(which);
  return err;
}

/* ---- wasi:clocks ---- */

static zh_error *mono_now(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  *result = zh_val_u64(wp2_now_ns(CLOCK_MONOTONIC));
  return NULL;
}

static zh_error *clock_res(clockid_t id, zh_val *result) {
  struct timespec ts;
  clock_getres(id, &ts);
  *result = zh_val_u64((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
  return NULL;
}

static zh_error *mono_resolution(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  return clock_res(CLOCK_MONOTONIC, result);
}

static zh_error *mono_sub_instant(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  return wp2_pollable_new(cx, WP2_P_TIMER, 0, args[0].of.u, result);
}

static zh_error *mono_sub_duration(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)n;
  uint64_t now = wp2_now_ns(CLOCK_MONOTONIC), d = args[0].of.u;
  return wp2_pollable_new(cx, WP2_P_TIMER, 0, d > UINT64_MAX - now ? UINT64_MAX : now + d, result);
}

/* datetime: record { seconds: u64, nanoseconds: u32 } */
static zh_error *datetime(clockid_t id, bool res, zh_val *result) {
  struct timespec ts;
  if (res)
    clock_getres(id, &ts);
  else
    clock_gettime(id, &ts);
  zh_error *err = zh_val_record(result, 2);
  if (err)
    return err;
  zh_val_fields(result)[0] = zh_val_u64((uint64_t)ts.tv_sec);
  zh_val_fields(result)[1] = zh_val_u32((uint32_t)ts.tv_nsec);
  return NULL;
}

static zh_error *wall_now(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  return datetime(CLOCK_REALTIME, false, result);
}

static zh_error *wall_resolution(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  return datetime(CLOCK_REALTIME, true, result);
}

/* The guest's time zone is UTC: the host's is not the guest's business. */
static zh_error *tz_display(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  zh_error *err = zh_val_record(result, 3);
  if (err)
    return err;
  zh_val_fields(result)[0] = zh_val_s32(0);
  zh_val_fields(result)[2] = zh_val_bool(false);
  return zh_val_string_cstr(&zh_val_fields(result)[1], "UTC");
}

static zh_error *tz_utc_offset(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  *result = zh_val_s32(0);
  return NULL;
}

static const zh_wasip2_entry entries[] = {
    {"wasi:clocks/timezone", "display", tz_display},
    {"wasi:clocks/timezone", "utc-offset", tz_utc_offset},
    {"wasi:io/poll", "[method]pollable.ready", p_ready},
    {"wasi:io/poll", "[method]pollable.block", p_block},
    {"wasi:io/poll", "poll", p_poll},
    {"wasi:clocks/monotonic-clock", "now", mono_now},
    {"wasi:clocks/monotonic-clock", "resolution", mono_resolution},
    {"wasi:clocks/monotonic-clock", "subscribe-instant", mono_sub_instant},
    {"wasi:clocks/monotonic-clock", "subscribe-duration", mono_sub_duration},
    {"wasi:clocks/wall-clock", "now", wall_now},
    {"wasi:clocks/wall-clock", "resolution", wall_resolution},
};

const wp2_table wp2_clocks_table = {entries, sizeof entries / sizeof entries[0], NULL, 0};
