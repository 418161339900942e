/* containerd-shim-zerohop-v2: one shim process per container, running a Spin app from the
 * container's root filesystem in-process with zerohop's host (src/host/app.h).
 *
 *   daemon.c   the command line: `start` (fork the server, print its socket address),
 *              `delete` (clean up after a task whose server is gone) and the server's loop
 *   task.c     the Task service methods (containerd's runtime/v2/task/shim.proto)
 *   runner.c   the task itself: load the app, serve HTTP until killed, drain, exit status
 *   stats.c    what Stats reports: the process's memory, CPU time and threads
 *   bundle.c   config.json and the rootfs mounts; events.c the task events; ttrpc*.c the wire;
 *              log.c one formatted line to the log callback events.c and ttrpc_server.c take
 *
 * The task's pid is the shim's own: the app is not a separate process. One mutex guards the
 * task's state; the condition variable wakes Wait when the task exits. */
#ifndef ZH_SHIM_SHIM_H
#define ZH_SHIM_SHIM_H

#include "shim/bundle.h"
#include "shim/events.h"
#include "shim/ttrpc_server.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define ZH_SHIM_VERSION "zerohop-shim 1"

typedef enum zh_shim_state {
  ZH_SHIM_NONE,    /* no Create yet */
  ZH_SHIM_CREATED, /* Create done, not started */
  ZH_SHIM_RUNNING,
  ZH_SHIM_STOPPED,
  ZH_SHIM_DELETED,
} zh_shim_state;

typedef struct zh_shim {
  /* From the command line; borrowed from argv. */
  const char *id, *ns, *address, *publish_binary;
  char bundle[PATH_MAX]; /* the working directory `start` was run in: the bundle */
  char socket_path[108];
  int log_fd; /* the shim's own log (BUNDLE/log, the FIFO containerd reads); owned */
  zh_shim_events *events;
  zh_ttrpc_server *server;

  pthread_mutex_t mu;
  pthread_cond_t cv; /* state changes: Wait sleeps on it */
  zh_shim_state state;
  char *stdin_path, *stdout_path, *stderr_path; /* owned */
  bool terminal;
  char rootfs[PATH_MAX];
  bool mounted;
  zh_shim_spec spec;
  uint32_t exit_status;
  struct timespec exited_at;
  /* The app, loaded at Create; or why it did not load (reported at Start). */
  zh_engine *engine;
  struct zh_app *app;
  char load_error[PATH_MAX + 256];

  /* The runner thread: Kill writes the signal number to stop_pipe[1]. */
  pthread_t runner;
  bool runner_started;
  int stop_pipe[2];
} zh_shim;

/* The Task service: answers one ttrpc request (a zh_ttrpc_method_fn, env: the shim). */
int32_t zh_shim_task_method(void *shim, const zh_ttrpc_request *req, uint8_t **payload,
                            size_t *payload_len, char *message, size_t message_cap);

/* Marks the task stopped with that status, publishes /tasks/exit and wakes Wait. Takes mu. */
void zh_shim_task_exited(zh_shim *shim, uint32_t status);

/* Loads the app of the rootfs (at Create; the caller holds mu), or records why not. */
void zh_shim_task_prepare(zh_shim *shim);
/* Frees the app and the engine, if loaded. */
void zh_shim_task_release(zh_shim *shim);

/* Starts the runner thread (state must be CREATED; the caller holds mu). */
zh_error *zh_shim_runner_start(zh_shim *shim);
/* Delivers a signal to the running task: SIGTERM and SIGINT drain, anything else stops now. */
void zh_shim_runner_signal(zh_shim *shim, uint32_t signal);
/* Joins the runner thread, if any (after the task stopped). */
void zh_shim_runner_join(zh_shim *shim);

/* The task's resource use as a packed io.containerd.cgroups.v2.Metrics (stats.c): *out is
 * malloc'd, the caller's to free. */
zh_error *zh_shim_stats_metrics(uint8_t **out, size_t *out_len);

/* A line to the shim's log (no newline needed). */
void zh_shim_log(zh_shim *shim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The shim's log callback form (env: the shim). */
void zh_shim_log_line(void *shim, const char *line);

/* Entry point of the binary: `start`, `delete`, or (internal) `serve`. */
int zh_shim_main(int argc, char **argv);

#endif
