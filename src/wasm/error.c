/* Error values. Every error is heap-allocated and owned by the caller, except the single
 * preallocated "out of memory" error, which is read-only and never freed: producing an
 * error must not itself fail. */
#include "wasm/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zh_error {
  zh_status status;
  zh_trap_code trap;
  int exit_code;
  char *message; /* heap, NUL-terminated; never NULL */
};

static const zh_error oom_error = {ZH_ERR_RESOURCE, ZH_TRAP_NONE, 0, "out of memory"};

zh_error *zh_error_oom(void) {
  /* Cast away const: every mutating path checks for this object first. */
  return (zh_error *)&oom_error;
}

static bool is_oom(const zh_error *err) { return err == &oom_error; }

/* vsnprintf into a fresh heap buffer; NULL if out of memory. */
static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vformat(const char *fmt, va_list ap) {
  char small[256];
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap2);
  va_end(ap2);
  if (n < 0) { /* encoding error: keep the raw format rather than nothing */
    fmt = "(unformattable message)";
    n = (int)strlen(fmt);
    memcpy(small, fmt, (size_t)n + 1);
  }
  char *out = malloc((size_t)n + 1);
  if (!out)
    return NULL;
  if ((size_t)n < sizeof small) {
    memcpy(out, small, (size_t)n + 1);
  } else {
    vsnprintf(out, (size_t)n + 1, fmt, ap);
  }
  return out;
}

static char *copy_text(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n + 1);
  if (out)
    memcpy(out, s, n + 1);
  return out;
}

/* a + b + c in a fresh heap buffer; NULL if out of memory. */
static char *concat3(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *out = malloc(n);
  if (out)
    snprintf(out, n, "%s%s%s", a, b, c);
  return out;
}

static zh_error *make(zh_status status, zh_trap_code trap, char *message) {
  if (!message)
    return zh_error_oom();
  zh_error *err = malloc(sizeof *err);
  if (!err) {
    free(message);
    return zh_error_oom();
  }
  err->status = status;
  err->trap = trap;
  err->exit_code = 0;
  err->message = message;
  return err;
}

/* The trap code implied by a status, so zh_error_trap() means something for errors
 * built by host functions with zh_error_new(ZH_ERR_TRAP, ...). */
static zh_trap_code trap_for_status(zh_status status) {
  switch (status) {
  case ZH_ERR_TRAP:
    return ZH_TRAP_HOST;
  case ZH_ERR_EXHAUSTION:
    return ZH_TRAP_STACK_OVERFLOW;
  case ZH_ERR_INTERRUPTED:
    return ZH_TRAP_INTERRUPTED;
  default:
    return ZH_TRAP_NONE;
  }
}

static zh_status status_for_trap(zh_trap_code code) {
  switch (code) {
  case ZH_TRAP_STACK_OVERFLOW:
    return ZH_ERR_EXHAUSTION;
  case ZH_TRAP_INTERRUPTED:
    return ZH_ERR_INTERRUPTED;
  default:
    return ZH_ERR_TRAP;
  }
}

zh_error *zh_error_vnew(zh_status status, const char *fmt, va_list ap) {
  char *msg = fmt ? vformat(fmt, ap) : copy_text(zh_status_text(status));
  return make(status, trap_for_status(status), msg);
}

zh_error *zh_error_new(zh_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  zh_error *err = zh_error_vnew(status, fmt, ap);
  va_end(ap);
  return err;
}

zh_error *zh_error_exit(int code) {
  char buf[64];
  snprintf(buf, sizeof buf, "exited with code %d", code);
  zh_error *err = make(ZH_ERR_EXIT, ZH_TRAP_NONE, copy_text(buf));
  if (is_oom(err))
    return err;
  err->exit_code = code;
  return err;
}

zh_error *zh_error_trap_new(zh_trap_code code, const char *fmt, ...) {
  const char *text = zh_trap_text(code);
  char *detail = NULL;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    detail = vformat(fmt, ap);
    va_end(ap);
    if (!detail)
      return zh_error_oom();
  }
  char *msg = detail && detail[0] ? concat3(text, ": ", detail) : copy_text(text);
  free(detail);
  return make(status_for_trap(code), code, msg);
}

zh_error *zh_error_prefix(zh_error *err, const char *fmt, ...) {
  if (!err || is_oom(err) || !fmt)
    return err;
  va_list ap;
  va_start(ap, fmt);
  char *ctx = vformat(fmt, ap);
  va_end(ap);
  if (!ctx)
    return err; /* losing context beats losing the error */
  size_t cl = strlen(ctx);
  const char *sep = ": ";
  if (cl == 0 || ctx[cl - 1] == ' ') {
    sep = "";
  } else if (ctx[cl - 1] == ':') {
    sep = " ";
  }
  char *msg = concat3(ctx, sep, err->message);
  if (msg) {
    free(err->message);
    err->message = msg;
  }
  free(ctx);
  return err;
}

zh_status zh_error_status(const zh_error *err) { return err ? err->status : ZH_OK; }

zh_trap_code zh_error_trap(const zh_error *err) { return err ? err->trap : ZH_TRAP_NONE; }

const char *zh_error_message(const zh_error *err) { return err ? err->message : ""; }

int zh_error_exit_code(const zh_error *err) { return err ? err->exit_code : 0; }

void zh_error_free(zh_error *err) {
  if (!err || is_oom(err))
    return;
  free(err->message);
  free(err);
}

const char *zh_trap_text(zh_trap_code code) {
  switch (code) {
  case ZH_TRAP_NONE:
    return "no trap";
  case ZH_TRAP_UNREACHABLE:
    return "unreachable";
  case ZH_TRAP_MEMORY_OOB:
    return "out of bounds memory access";
  case ZH_TRAP_TABLE_OOB:
    return "out of bounds table access";
  case ZH_TRAP_INT_DIV_ZERO:
    return "integer divide by zero";
  case ZH_TRAP_INT_OVERFLOW:
    return "integer overflow";
  case ZH_TRAP_INVALID_CONVERSION:
    return "invalid conversion to integer";
  case ZH_TRAP_INDIRECT_NULL:
    return "uninitialized element";
  case ZH_TRAP_SIGNATURE_MISMATCH:
    return "indirect call type mismatch";
  case ZH_TRAP_UNDEFINED_ELEMENT:
    return "undefined element";
  case ZH_TRAP_STACK_OVERFLOW:
    return "call stack exhausted";
  case ZH_TRAP_INTERRUPTED:
    return "interrupted";
  case ZH_TRAP_HOST:
    return "host function failed";
  }
  return "unknown trap";
}

const char *zh_status_text(zh_status status) {
  switch (status) {
  case ZH_OK:
    return "ok";
  case ZH_ERR_MALFORMED:
    return "malformed module";
  case ZH_ERR_INVALID:
    return "invalid module";
  case ZH_ERR_UNLINKABLE:
    return "unlinkable";
  case ZH_ERR_TRAP:
    return "trap";
  case ZH_ERR_EXHAUSTION:
    return "call stack exhausted";
  case ZH_ERR_INTERRUPTED:
    return "interrupted";
  case ZH_ERR_RESOURCE:
    return "resource exhausted";
  case ZH_ERR_EXIT:
    return "exit";
  case ZH_ERR_USAGE:
    return "usage error";
  case ZH_ERR_IO:
    return "I/O error";
  }
  return "unknown status";
}

const char *zh_error_outcome(const zh_error *err) {
  switch (zh_error_status(err)) {
  case ZH_ERR_INTERRUPTED:
    return "cut at the deadline";
  case ZH_ERR_TRAP:
    return "trapped";
  case ZH_ERR_EXIT:
    return "exited";
  default:
    return "failed";
  }
}
