/* Command-line values: parsing --invoke arguments and printing results. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A decimal integer in [min, max]. strto(u)ll would also take leading spaces, an empty
 * string, or wrap "-1" to unsigned, so those edges are checked here. */
static bool parse_int(const char *s, int64_t min, uint64_t max, uint64_t *bits) {
  if (*s == 0 || isspace((unsigned char)*s))
    return false;
  char *end;
  errno = 0;
  if (*s == '-') {
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != 0 || v < min)
      return false;
    *bits = (uint64_t)v;
    return true;
  }
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != 0 || v > max)
    return false;
  *bits = (uint64_t)v;
  return true;
}

bool zh_cli_parse_value(zh_valtype t, const char *s, zh_value *out) {
  uint64_t bits;
  char *end;
  switch (t) {
  case ZH_I32:
    if (!parse_int(s, INT32_MIN, UINT32_MAX, &bits))
      return false;
    *out = zh_i32((int32_t)(uint32_t)bits);
    return true;
  case ZH_I64:
    if (!parse_int(s, INT64_MIN, UINT64_MAX, &bits))
      return false;
    *out = zh_i64((int64_t)bits);
    return true;
  case ZH_F32: {
    if (*s == 0 || isspace((unsigned char)*s))
      return false;
    float f = strtof(s, &end);
    if (*end != 0)
      return false;
    *out = zh_f32(f);
    return true;
  }
  case ZH_F64: {
    if (*s == 0 || isspace((unsigned char)*s))
      return false;
    double d = strtod(s, &end);
    if (*end != 0)
      return false;
    *out = zh_f64(d);
    return true;
  }
  default:
    return false; /* v128 and references have no command-line form */
  }
}

/* Shortest %g precision that reads back to the same bits. */
static void print_float(FILE *out, double d, bool single) {
  if (isnan(d)) {
    fputs(signbit(d) ? "-nan\n" : "nan\n", out);
    return;
  }
  if (isinf(d)) {
    fputs(d < 0 ? "-inf\n" : "inf\n", out);
    return;
  }
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    bool same = single ? strtof(buf, NULL) == (float)d : strtod(buf, NULL) == d;
    if (same)
      break;
  }
  fprintf(out, "%s\n", buf);
}

void zh_cli_print_value(FILE *out, const zh_value *v) {
  switch (v->type) {
  case ZH_I32:
    fprintf(out, "%" PRId32 "\n", v->of.i32);
    break;
  case ZH_I64:
    fprintf(out, "%" PRId64 "\n", v->of.i64);
    break;
  case ZH_F32:
    print_float(out, zh_value_f32(v), true);
    break;
  case ZH_F64:
    print_float(out, zh_value_f64(v), false);
    break;
  case ZH_V128:
    /* As one little-endian 128-bit number, most significant byte first. */
    fputs("0x", out);
    for (int i = 15; i >= 0; i--)
      fprintf(out, "%02x", v->of.v128[i]);
    fputc('\n', out);
    break;
  case ZH_FUNCREF:
    fputs(v->of.funcref ? "ref.func\n" : "ref.null func\n", out);
    break;
  case ZH_EXTERNREF:
    fputs(v->of.externref ? "ref.extern\n" : "ref.null extern\n", out);
    break;
  }
}
