/* One formatted line to a zh_shim_log_fn (log.h). */
#include "shim/log.h"

#include <stdarg.h>
#include <stdio.h>

void zh_shim_logf(zh_shim_log_fn log, void *env, const char *fmt, ...) {
  if (!log)
    return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  log(env, line);
}
