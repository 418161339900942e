/* The shim's parts (the event publisher, the ttrpc server) log through a callback that takes
 * one line: the server's own log (daemon.c's zh_shim_log_line), or nothing in a unit test. */
#ifndef ZH_SHIM_LOG_H
#define ZH_SHIM_LOG_H

typedef void (*zh_shim_log_fn)(void *env, const char *line);

/* Formats one line (cut at 511 bytes) and hands it to log; nothing when log is NULL. */
void zh_shim_logf(zh_shim_log_fn log, void *env, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
