/* Command-line quantities: durations ("100ms", "1.5s") and sizes ("64KiB", "10MiB"). */
#include "cli.h"

#include <string.h>

/* Parses "DIGITS[.DIGITS]" at *s and advances past it. Nine fraction digits are kept
 * (nanoseconds of a second); further digits are too small to matter and are dropped. */
static bool parse_decimal(const char **s, uint64_t *whole, uint64_t *frac, uint64_t *frac_den) {
  const char *p = *s;
  *whole = 0;
  *frac = 0;
  *frac_den = 1;
  if (*p < '0' || *p > '9')
    return false;
  for (; *p >= '0' && *p <= '9'; p++) {
    uint64_t d = (uint64_t)(*p - '0');
    if (*whole > (UINT64_MAX - d) / 10)
      return false;
    *whole = *whole * 10 + d;
  }
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9')
      return false;
    for (; *p >= '0' && *p <= '9'; p++) {
      if (*frac_den < 1000000000u) {
        *frac = *frac * 10 + (uint64_t)(*p - '0');
        *frac_den *= 10;
      }
    }
  }
  *s = p;
  return true;
}

/* (whole + frac / den) * unit, truncated; false on overflow. With unit = a * den + b,
 * frac * unit / den = frac * a + frac * b / den, and frac * b < den^2 <= 10^18 fits. */
static bool scale(uint64_t whole, uint64_t frac, uint64_t den, uint64_t unit, uint64_t *out) {
  if (whole > UINT64_MAX / unit)
    return false;
  uint64_t v = whole * unit, a = unit / den, b = unit % den;
  if (a != 0 && frac > UINT64_MAX / a)
    return false;
  uint64_t part = frac * a, rest = frac * b / den;
  if (part > UINT64_MAX - rest || part + rest > UINT64_MAX - v)
    return false;
  *out = v + part + rest;
  return true;
}

bool zh_cli_parse_duration(const char *s, uint64_t *ns) {
  static const struct {
    const char *suffix;
    uint64_t ns;
  } units[] = {
      {"ns", 1},           {"us", 1000},          {"ms", 1000000},   {"s", 1000000000u},
      {"m", 60000000000u}, {"h", 3600000000000u}, {"", 1000000000u}, /* a bare number is seconds, as
                                                                        for timeout(1) */
  };
  uint64_t whole, frac, den;
  if (!parse_decimal(&s, &whole, &frac, &den))
    return false;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(s, units[i].suffix) == 0)
      return scale(whole, frac, den, units[i].ns, ns);
  return false;
}

bool zh_cli_parse_size(const char *s, uint64_t *bytes) {
  static const struct {
    const char *suffix;
    uint64_t bytes;
  } units[] = {
      {"", 1},         {"B", 1},          {"K", 1u << 10}, {"KiB", 1u << 10},
      {"M", 1u << 20}, {"MiB", 1u << 20}, {"G", 1u << 30}, {"GiB", 1u << 30},
  };
  uint64_t whole, frac, den;
  if (!parse_decimal(&s, &whole, &frac, &den))
    return false;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(s, units[i].suffix) == 0)
      return scale(whole, frac, den, units[i].bytes, bytes);
  return false;
}
