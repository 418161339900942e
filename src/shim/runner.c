/* The task: the Spin app of the container's root filesystem, run in-process as `zerohop up`
 * runs it, with containerd-shim-spin's environment:
 *
 *   /spin.toml                 the manifest (its components are found beside it)
 *   /runtime-config.toml       the runtime config, when present
 *   SPIN_HTTP_LISTEN_ADDR      where HTTP is served (default 0.0.0.0:80)
 *   SPIN_VARIABLE_<NAME>       application variables (the host reads them from the
 *                              environment, which is this container's alone: one shim each)
 *
 * The app is loaded at Create (zh_shim_task_prepare), so that Start only opens the listener:
 * the first request is answered as soon as the task starts. A load failure goes to the
 * container's stderr at once and the task, once started, exits with status 1: it is still a
 * task that starts and fails, as a process would.
 * A CRI pod sandbox (annotation io.kubernetes.cri.container-type=sandbox) without a manifest
 * holds the pod's place and waits to be killed. A stop signal arrives through a pipe: SIGTERM
 * and SIGINT drain (in-flight requests finish within the grace period, exit status 0),
 * anything else stops at once with status 128 + signal. An app that does not load writes its
 * one-line reason to the container's stderr and exits with status 1. */
#include "shim/shim.h"

#include "host/app.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STOP_GRACE_MS 10000u

/* Lines for the container's stderr (fd 2 is its FIFO after Create). */
static void task_log(void *env, const char *line) {
  (void)env;
  char buf[2200];
  int n = snprintf(buf, sizeof buf, "zerohop shim: %s\n", line);
  if (n > (int)sizeof buf - 1)
    n = (int)sizeof buf - 1, buf[n - 1] = '\n';
  ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
  (void)w; /* the container's stderr is all there is */
}

static void task_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void task_logf(const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  task_log(NULL, line);
}

/* Blocks until Kill sends a signal; returns it. */
static uint32_t wait_signal(zh_shim *s) {
  uint32_t sig = 0;
  for (;;) {
    ssize_t n = read(s->stop_pipe[0], &sig, sizeof sig);
    if (n == (ssize_t)sizeof sig)
      return sig;
    if (n < 0 && errno == EINTR)
      continue;
    return SIGKILL; /* the pipe broke: nothing can stop us more politely */
  }
}

static uint32_t status_for(uint32_t sig) { return sig == SIGTERM || sig == SIGINT ? 0 : 128 + sig; }

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* The container's variables go to this process's environment, where the host reads them. */
static void export_variables(const zh_shim_spec *spec) {
  for (size_t i = 0; i < spec->nenv; i++) {
    const char *e = spec->env[i], *eq = strchr(e, '=');
    if (!eq || (strncmp(e, "SPIN_VARIABLE_", 14) != 0 && strncmp(e, "ZEROHOP_VARIABLE_", 17) != 0))
      continue;
    char name[256];
    size_t n = (size_t)(eq - e);
    if (n >= sizeof name)
      continue;
    memcpy(name, e, n);
    name[n] = 0;
    setenv(name, eq + 1, 1);
  }
}

static uint32_t serve_app(zh_shim *s, zh_app *app, const char *listen) {
  zh_http_config hc;
  memset(&hc, 0, sizeof hc);
  hc.addr = listen;
  hc.handler = zh_app_handle_http;
  hc.env = app;
  zh_http_server *server = NULL;
  zh_error *err = zh_http_server_start(&hc, &server);
  if (!err)
    err = zh_app_start_triggers(app);
  if (err) {
    task_logf("%s", zh_error_message(err));
    zh_error_free(err);
    if (server) {
      zh_http_server_stop(server, 0);
      zh_http_server_free(server);
    }
    return 1;
  }
  char base[300];
  snprintf(base, sizeof base, "http://%s", zh_http_server_address(server));
  zh_app_print_routes(app, stdout, base);
  fflush(stdout);
  uint32_t sig = wait_signal(s);
  task_logf("signal %u: stopping", sig);
  zh_http_server_stop(server, status_for(sig) == 0 ? STOP_GRACE_MS : 0);
  zh_http_server_free(server);
  zh_app_stop_triggers(app);
  return status_for(sig);
}

void zh_shim_task_prepare(zh_shim *s) {
  char manifest[PATH_MAX + 16], runtime_config[PATH_MAX + 32], state_dir[PATH_MAX + 16];
  snprintf(manifest, sizeof manifest, "%s/spin.toml", s->rootfs);
  if (!exists(manifest)) {
    if (!s->spec.sandbox) {
      snprintf(s->load_error, sizeof s->load_error,
               "no /spin.toml in the container's root filesystem (%s): not a Spin app image",
               s->rootfs);
      task_logf("%s", s->load_error);
    }
    return;
  }
  snprintf(runtime_config, sizeof runtime_config, "%s/runtime-config.toml", s->rootfs);
  /* Default stores live in the bundle, which lives as long as the container. */
  snprintf(state_dir, sizeof state_dir, "%s/zerohop-state", s->bundle);
  export_variables(&s->spec);
  zh_app_options ao;
  memset(&ao, 0, sizeof ao);
  ao.manifest = manifest;
  ao.state_dir = state_dir;
  ao.runtime_config = exists(runtime_config) ? runtime_config : NULL;
  ao.log = task_log;
  zh_error *err = zh_engine_new(NULL, &s->engine);
  if (!err)
    err = zh_app_load(s->engine, &ao, &s->app);
  if (err) {
    snprintf(s->load_error, sizeof s->load_error, "%s", zh_error_message(err));
    zh_error_free(err);
    zh_shim_task_release(s);
  }
  /* Said now, not at Start: the reader of the FIFO has until the exit to take the line. */
  if (s->load_error[0])
    task_logf("%s", s->load_error);
}

void zh_shim_task_release(zh_shim *s) {
  zh_app_free(s->app);
  zh_engine_free(s->engine);
  s->app = NULL;
  s->engine = NULL;
}

/* Moves the calling thread into the spec's network namespace, if it names one. Only this
 * thread moves, and every thread it starts afterwards (the HTTP workers, the Redis trigger,
 * the bus) begins in the namespace of the thread that made it, so the whole app serves and
 * connects from the pod's network. False, with the reason on the task's stderr, on failure. */
static bool enter_netns(const zh_shim *s) {
  if (!s->spec.netns)
    return true;
  int fd = open(s->spec.netns, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    task_logf("network namespace %s: %s", s->spec.netns, strerror(errno));
    if (fd >= 0)
      close(fd);
    return false;
  }
  close(fd);
  return true;
}

static uint32_t run_task(zh_shim *s) {
  if (s->load_error[0])
    return 1;  /* the reason went to stderr at Create */
  if (!s->app) /* a pod sandbox: holds the pod's place until killed */
    return status_for(wait_signal(s));
  if (!enter_netns(s))
    return 1;
  const char *listen = zh_shim_spec_getenv(&s->spec, "SPIN_HTTP_LISTEN_ADDR");
  uint32_t status = serve_app(s, s->app, listen && *listen ? listen : "0.0.0.0:80");
  zh_shim_task_release(s);
  return status;
}

static void *runner(void *arg) {
  zh_shim *s = arg;
  uint32_t status = run_task(s);
  zh_shim_task_exited(s, status);
  return NULL;
}

zh_error *zh_shim_runner_start(zh_shim *s) {
  if (pipe2(s->stop_pipe, O_CLOEXEC) != 0)
    return zh_error_new(ZH_ERR_IO, "pipe: %s", strerror(errno));
  int rc = pthread_create(&s->runner, NULL, runner, s);
  if (rc != 0) {
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    return zh_error_new(ZH_ERR_RESOURCE, "no thread for the task: %s", strerror(rc));
  }
  s->runner_started = true;
  return NULL;
}

void zh_shim_runner_signal(zh_shim *s, uint32_t sig) {
  if (!s->runner_started)
    return;
  ssize_t n = write(s->stop_pipe[1], &sig, sizeof sig);
  (void)n; /* a full pipe already holds a stop signal */
}

void zh_shim_runner_join(zh_shim *s) {
  if (!s->runner_started)
    return;
  pthread_join(s->runner, NULL);
  s->runner_started = false;
  close(s->stop_pipe[0]);
  close(s->stop_pipe[1]);
}
