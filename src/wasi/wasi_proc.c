/* WASI process state: arguments, environment, clocks, randomness, scheduling. */
#include "wasi/wasi_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---- args / environ ---- */

zh_error *zh_wasi_strings_init(zh_wasi_strings *out, const char *const *strs, size_t n,
                               const char *what, bool need_eq) {
  memset(out, 0, sizeof *out);
  if (n > 0 && strs == NULL)
    return zh_error_new(ZH_ERR_USAGE, "wasi: %s: %zu strings but no array", what, n);
  /* The guest sees counts and sizes as u32: refuse anything it could not address. */
  if (n > UINT32_MAX / 4)
    return zh_error_new(ZH_ERR_USAGE, "wasi: too many %s", what);
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (strs[i] == NULL)
      return zh_error_new(ZH_ERR_USAGE, "wasi: %s[%zu] is NULL", what, i);
    if (need_eq && strchr(strs[i], '=') == NULL)
      return zh_error_new(ZH_ERR_USAGE, "wasi: %s entry \"%s\" is not KEY=VALUE", what, strs[i]);
    total += (uint64_t)strlen(strs[i]) + 1;
    if (total > UINT32_MAX)
      return zh_error_new(ZH_ERR_USAGE, "wasi: %s exceed 4 GiB", what);
  }
  out->offsets = malloc(n ? n * sizeof *out->offsets : 1);
  out->buf = malloc(total ? (size_t)total : 1);
  if (out->offsets == NULL || out->buf == NULL) {
    zh_wasi_strings_fini(out);
    return zh_error_new(ZH_ERR_RESOURCE, "wasi: out of memory copying %s", what);
  }
  uint32_t off = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(strs[i]) + 1;
    out->offsets[i] = off;
    memcpy(out->buf + off, strs[i], len);
    off += (uint32_t)len;
  }
  out->count = (uint32_t)n;
  out->bytes = off;
  return NULL;
}

void zh_wasi_strings_fini(zh_wasi_strings *s) {
  free(s->offsets);
  free(s->buf);
  memset(s, 0, sizeof *s);
}

uint16_t zh_wasi_strings_sizes_get(const zh_wasi_strings *s, const zh_wasi_mem *m,
                                   uint32_t count_ptr, uint32_t bytes_ptr) {
  if (!zh_wasi_span_ok(m, count_ptr, 4) || !zh_wasi_span_ok(m, bytes_ptr, 4))
    return ZH_WASI_EFAULT;
  zh_wasi_st32(m->data + count_ptr, s->count);
  zh_wasi_st32(m->data + bytes_ptr, s->bytes);
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_strings_get(const zh_wasi_strings *s, const zh_wasi_mem *m, uint32_t ptrs,
                             uint32_t buf) {
  /* Check both regions before writing anything, so a fault leaves memory untouched. */
  if (!zh_wasi_span_ok(m, ptrs, (uint64_t)s->count * 4) || !zh_wasi_span_ok(m, buf, s->bytes))
    return ZH_WASI_EFAULT;
  /* buf + offset < memory size <= 2^32, so every pointer fits the u32 slot. */
  for (uint32_t i = 0; i < s->count; i++)
    zh_wasi_st32(m->data + ptrs + (uint64_t)i * 4, buf + s->offsets[i]);
  if (s->bytes > 0)
    memmove(m->data + buf, s->buf, s->bytes);
  return ZH_WASI_ESUCCESS;
}

/* ---- clocks ---- */

static bool host_clock(uint32_t id, clockid_t *out) {
  switch (id) {
  case ZH_WASI_CLOCK_REALTIME:
    *out = CLOCK_REALTIME;
    return true;
  case ZH_WASI_CLOCK_MONOTONIC:
    *out = CLOCK_MONOTONIC;
    return true;
  case ZH_WASI_CLOCK_PROCESS_CPUTIME:
    *out = CLOCK_PROCESS_CPUTIME_ID;
    return true;
  case ZH_WASI_CLOCK_THREAD_CPUTIME:
    /* The guest runs on the calling host thread, so its CPU time is this thread's. */
    *out = CLOCK_THREAD_CPUTIME_ID;
    return true;
  default:
    return false;
  }
}

/* Nanoseconds in a u64 (good until year 2554); false when the value does not fit. */
static bool timespec_ns(const struct timespec *ts, uint64_t *out) {
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
    return false;
  uint64_t sec = (uint64_t)ts->tv_sec, nsec = (uint64_t)ts->tv_nsec;
  if (sec > (UINT64_MAX - nsec) / 1000000000u)
    return false;
  *out = sec * 1000000000u + nsec;
  return true;
}

uint16_t zh_wasi_clock_res_get(const zh_wasi_mem *m, uint32_t id, uint32_t res_ptr) {
  clockid_t clk;
  if (!host_clock(id, &clk))
    return ZH_WASI_EINVAL;
  if (!zh_wasi_span_ok(m, res_ptr, 8))
    return ZH_WASI_EFAULT;
  struct timespec ts;
  if (clock_getres(clk, &ts) != 0)
    return zh_wasi_errno_from_host(errno);
  uint64_t ns;
  if (!timespec_ns(&ts, &ns))
    return ZH_WASI_EOVERFLOW;
  zh_wasi_st64(m->data + res_ptr, ns);
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_clock_time_get(const zh_wasi_mem *m, uint32_t id, uint64_t precision,
                                uint32_t time_ptr) {
  (void)precision; /* a hint; the host clocks are already as precise as they get */
  clockid_t clk;
  if (!host_clock(id, &clk))
    return ZH_WASI_EINVAL;
  if (!zh_wasi_span_ok(m, time_ptr, 8))
    return ZH_WASI_EFAULT;
  struct timespec ts;
  if (clock_gettime(clk, &ts) != 0)
    return zh_wasi_errno_from_host(errno);
  uint64_t ns;
  if (!timespec_ns(&ts, &ns))
    return ZH_WASI_EOVERFLOW;
  zh_wasi_st64(m->data + time_ptr, ns);
  return ZH_WASI_ESUCCESS;
}

/* ---- random, scheduling ---- */

uint16_t zh_wasi_random_get(const zh_wasi_mem *m, uint32_t buf, uint32_t len) {
  if (!zh_wasi_span_ok(m, buf, len))
    return ZH_WASI_EFAULT;
  size_t done = 0;
  while (done < len) {
    /* getrandom returns at most 32 MiB per call and may be interrupted: loop. */
    ssize_t n = getrandom(m->data + buf + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return zh_wasi_errno_from_host(errno);
    }
    done += (size_t)n;
  }
  return ZH_WASI_ESUCCESS;
}

uint16_t zh_wasi_sched_yield(void) {
  sched_yield();
  return ZH_WASI_ESUCCESS;
}
