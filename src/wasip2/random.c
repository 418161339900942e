/* wasi:random: random, insecure and insecure-seed, all from getrandom(2). The insecure seed
 * is drawn once per context, as the interface asks it to stay the same for an instance, at
 * its first call: most guests never ask, and a context is made per request. */
#include "wasip2/wasip2_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MAX_RANDOM (64u << 20) /* a larger request is a guest asking the host to exhaust */

static zh_error *fill(void *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t r = getrandom((uint8_t *)buf + off, len - off, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return zh_error_new(ZH_ERR_IO, "wasip2: getrandom: %s", strerror(errno));
    off += (size_t)r;
  }
  return NULL;
}

static zh_error *bytes(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)n;
  uint64_t len = args[0].of.u;
  if (len > MAX_RANDOM)
    return zh_error_new(ZH_ERR_TRAP, "wasip2: get-random-bytes of %llu bytes (at most %u)",
                        (unsigned long long)len, MAX_RANDOM);
  uint8_t *buf = malloc(len ? (size_t)len : 1);
  if (!buf)
    return wp2_oom();
  zh_error *err = fill(buf, (size_t)len);
  if (!err)
    err = wp2_bytes(result, buf, (size_t)len);
  free(buf);
  return err;
}

static zh_error *u64(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)cx, (void)args, (void)n;
  uint64_t v;
  zh_error *err = fill(&v, sizeof v);
  if (!err)
    *result = zh_val_u64(v);
  return err;
}

static zh_error *seed(zh_wasip2_ctx *cx, zh_val *args, size_t n, zh_val *result) {
  (void)args, (void)n;
  if (!cx->seeded) {
    zh_error *err = fill(cx->seed, sizeof cx->seed);
    if (err)
      return err;
    cx->seeded = true;
  }
  zh_val a = zh_val_u64(cx->seed[0]), b = zh_val_u64(cx->seed[1]);
  return wp2_tuple2(result, &a, &b);
}

static const zh_wasip2_entry entries[] = {
    {"wasi:random/random", "get-random-bytes", bytes},
    {"wasi:random/random", "get-random-u64", u64},
    {"wasi:random/insecure", "get-insecure-random-bytes", bytes},
    {"wasi:random/insecure", "get-insecure-random-u64", u64},
    {"wasi:random/insecure-seed", "insecure-seed", seed},
};

const wp2_table wp2_random_table = {entries, sizeof entries / sizeof entries[0], NULL, 0};
