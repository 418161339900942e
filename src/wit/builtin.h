/* WIT text built into the library (the WASI 0.2 and Spin interfaces zerohop hosts), parsed
 * on first use and kept, read-only, for the life of the process: every thread and every app
 * shares the one model. */
#ifndef ZH_WIT_BUILTIN_H
#define ZH_WIT_BUILTIN_H

#include "zerohop/wit.h"

#include <pthread.h>
#include <stdbool.h>

typedef struct zh_wit_builtin {
  const char *name; /* for messages: "wasip2 (built-in WIT)" */
  const char *text;
  pthread_mutex_t lock;
  bool parsed;
  zh_wit *wit;
  zh_error *err;
} zh_wit_builtin;

#define ZH_WIT_BUILTIN_INIT(name, text)                                                            \
  { (name), (text), PTHREAD_MUTEX_INITIALIZER, false, NULL, NULL }

/* The parsed model (*out), or a copy of the parse error (the caller frees it). */
zh_error *zh_wit_builtin_get(zh_wit_builtin *b, const zh_wit **out);

#endif
