/* The Task service (containerd's runtime/v2/task/shim.proto) for the one task of this shim.
 * Each method reads as: unpack the request, check the state, act, pack the reply. The task
 * has no exec processes, no pty and no pause: those methods answer UNIMPLEMENTED. */
#include "shim/shim.h"

#include "github.com/containerd/containerd/api/events/task.pb-c.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct reply {
  uint8_t **payload;
  size_t *len;
  char *message;
  size_t cap;
} reply;

static int32_t fail(reply *r, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int32_t fail(reply *r, int32_t code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->message, r->cap, fmt, ap);
  va_end(ap);
  return code;
}

static int32_t pack(reply *r, const ProtobufCMessage *m) {
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf)
    return fail(r, ZH_TTRPC_RESOURCE_EXHAUSTED, "shim: out of memory");
  protobuf_c_message_pack(m, buf);
  *r->payload = buf;
  *r->len = n;
  return ZH_TTRPC_OK;
}

static void publish(zh_shim *s, const char *topic, const char *type, const ProtobufCMessage *m) {
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    zh_shim_log(s, "publish %s: out of memory", topic);
    return;
  }
  protobuf_c_message_pack(m, buf);
  zh_shim_events_publish(s->events, topic, type, buf, n);
  free(buf);
}

static Google__Protobuf__Timestamp stamp(const struct timespec *t) {
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = t->tv_sec;
  ts.nanos = (int32_t)t->tv_nsec;
  return ts;
}

/* Opens a stdio path containerd gives: a FIFO (or file://PATH, appended to). Never blocks:
 * a FIFO without a reader yet is opened read-write, and writes never wait for a slow reader
 * (output is dropped instead, so a guest cannot stall a request on a full pipe). */
static int open_stdio(const char *path) {
  if (!path || !*path)
    return -1;
  if (strncmp(path, "file://", 7) == 0)
    return open(path + 7, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (strstr(path, "://"))
    return -1; /* binary:// loggers are not supported */
  int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENXIO)
    fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  return fd;
}

static bool dup_str(char **dst, const char *src) {
  *dst = strdup(src ? src : "");
  return *dst != NULL;
}

/* The task's output ends with it, as a process's does when it exits: closing our ends of
 * the FIFOs gives the reader its end of file after the last line (the reason of a failure
 * included), instead of a cut when containerd tears the I/O down. */
static void close_stdio(void) {
  fflush(stdout);
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null < 0)
    return;
  dup2(null, STDOUT_FILENO);
  dup2(null, STDERR_FILENO);
  close(null);
}

void zh_shim_task_exited(zh_shim *s, uint32_t status) {
  close_stdio();
  pthread_mutex_lock(&s->mu);
  s->state = ZH_SHIM_STOPPED;
  s->exit_status = status;
  clock_gettime(CLOCK_REALTIME, &s->exited_at);
  Google__Protobuf__Timestamp ts = stamp(&s->exited_at);
  Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
  ev.container_id = (char *)s->id;
  ev.id = (char *)s->id;
  ev.pid = (uint32_t)getpid();
  ev.exit_status = status;
  ev.exited_at = &ts;
  publish(s, "/tasks/exit", "containerd.events.TaskExit", &ev.base);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  zh_shim_log(s, "task %s exited with status %u", s->id, status);
}

static int32_t task_create(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  Containerd__Task__V2__CreateTaskRequest *req =
      containerd__task__v2__create_task_request__unpack(NULL, len, in);
  if (!req)
    return fail(r, ZH_TTRPC_INVALID_ARGUMENT, "Create: undecodable CreateTaskRequest");
  int32_t code = ZH_TTRPC_OK;
  pthread_mutex_lock(&s->mu);
  if (s->state != ZH_SHIM_NONE) {
    code = fail(r, ZH_TTRPC_ALREADY_EXISTS, "Create %s: the task already exists", req->id);
    goto done;
  }
  if (req->checkpoint && *req->checkpoint) {
    code = fail(r, ZH_TTRPC_UNIMPLEMENTED, "Create %s: checkpoints are not supported", req->id);
    goto done;
  }
  snprintf(s->bundle, sizeof s->bundle, "%s", req->bundle);
  zh_error *err = zh_shim_spec_read(req->bundle, &s->spec);
  snprintf(s->rootfs, sizeof s->rootfs, "%s/rootfs", req->bundle);
  if (!err && req->n_rootfs) {
    mkdir(s->rootfs, 0711);
    err = zh_shim_rootfs_mount(s->rootfs, req->rootfs, req->n_rootfs);
    s->mounted = err == NULL;
  }
  if (err) {
    code = fail(r, ZH_TTRPC_INVALID_ARGUMENT, "Create %s: %s", req->id, zh_error_message(err));
    zh_error_free(err);
    zh_shim_spec_free(&s->spec);
    goto done;
  }
  if (!dup_str(&s->stdin_path, req->stdin) || !dup_str(&s->stdout_path, req->stdout) ||
      !dup_str(&s->stderr_path, req->stderr)) {
    code = fail(r, ZH_TTRPC_RESOURCE_EXHAUSTED, "Create %s: out of memory", req->id);
    goto done;
  }
  s->terminal = req->terminal;
  /* The app's and the guests' output goes where the container's would: fds 1 and 2. */
  int out = open_stdio(req->stdout), errfd = open_stdio(req->stderr);
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  dup2(out >= 0 ? out : devnull, STDOUT_FILENO);
  dup2(errfd >= 0 ? errfd : devnull, STDERR_FILENO);
  if (out >= 0)
    close(out);
  if (errfd >= 0)
    close(errfd);
  if (devnull >= 0)
    close(devnull);
  zh_shim_task_prepare(s);
  s->state = ZH_SHIM_CREATED;

  Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
  io.stdin = req->stdin, io.stdout = req->stdout, io.stderr = req->stderr;
  io.terminal = req->terminal;
  Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
  ev.container_id = req->id;
  ev.bundle = req->bundle;
  ev.n_rootfs = req->n_rootfs;
  ev.rootfs = req->rootfs;
  ev.io = &io;
  ev.pid = (uint32_t)getpid();
  publish(s, "/tasks/create", "containerd.events.TaskCreate", &ev.base);
  Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
  resp.pid = (uint32_t)getpid();
  code = pack(r, &resp.base);
done:
  pthread_mutex_unlock(&s->mu);
  containerd__task__v2__create_task_request__free_unpacked(req, NULL);
  return code;
}

/* Requests naming an exec process: there are none. */
static bool is_exec(const char *exec_id) { return exec_id && *exec_id; }

static int32_t task_start(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  Containerd__Task__V2__StartRequest *req =
      containerd__task__v2__start_request__unpack(NULL, len, in);
  if (!req)
    return fail(r, ZH_TTRPC_INVALID_ARGUMENT, "Start: undecodable StartRequest");
  int32_t code;
  pthread_mutex_lock(&s->mu);
  if (is_exec(req->exec_id))
    code = fail(r, ZH_TTRPC_NOT_FOUND, "Start: no exec process %s", req->exec_id);
  else if (s->state != ZH_SHIM_CREATED)
    code = fail(r, ZH_TTRPC_FAILED_PRECONDITION, "Start %s: the task is not in the created state",
                req->id);
  else {
    /* The wall-clock start, to the shim's log: bench/k8s.sh measures the first 200 from it. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    zh_shim_log(s, "task %s starts at %lld.%09ld", s->id, (long long)now.tv_sec, now.tv_nsec);
    zh_error *err = zh_shim_runner_start(s);
    if (err) {
      code = fail(r, ZH_TTRPC_INTERNAL, "Start %s: %s", req->id, zh_error_message(err));
      zh_error_free(err);
    } else {
      s->state = ZH_SHIM_RUNNING;
      Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
      ev.container_id = req->id;
      ev.pid = (uint32_t)getpid();
      publish(s, "/tasks/start", "containerd.events.TaskStart", &ev.base);
      Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
      resp.pid = (uint32_t)getpid();
      code = pack(r, &resp.base);
    }
  }
  pthread_mutex_unlock(&s->mu);
  containerd__task__v2__start_request__free_unpacked(req, NULL);
  return code;
}

static Containerd__V1__Types__Status status_of(zh_shim_state st) {
  switch (st) {
  case ZH_SHIM_CREATED:
    return CONTAINERD__V1__TYPES__STATUS__CREATED;
  case ZH_SHIM_RUNNING:
    return CONTAINERD__V1__TYPES__STATUS__RUNNING;
  case ZH_SHIM_STOPPED:
  case ZH_SHIM_DELETED:
    return CONTAINERD__V1__TYPES__STATUS__STOPPED;
  default:
    return CONTAINERD__V1__TYPES__STATUS__UNKNOWN;
  }
}

static int32_t task_state(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  Containerd__Task__V2__StateRequest *req =
      containerd__task__v2__state_request__unpack(NULL, len, in);
  if (!req)
    return fail(r, ZH_TTRPC_INVALID_ARGUMENT, "State: undecodable StateRequest");
  int32_t code;
  pthread_mutex_lock(&s->mu);
  if (is_exec(req->exec_id))
    code = fail(r, ZH_TTRPC_NOT_FOUND, "State: no exec process %s", req->exec_id);
  else if (s->state == ZH_SHIM_NONE || s->state == ZH_SHIM_DELETED)
    code = fail(r, ZH_TTRPC_NOT_FOUND, "State %s: no such task", req->id);
  else {
    Google__Protobuf__Timestamp ts = stamp(&s->exited_at);
    Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
    resp.id = (char *)s->id;
    resp.bundle = s->bundle;
    resp.pid = (uint32_t)getpid();
    resp.status = status_of(s->state);
    resp.stdin = s->stdin_path;
    resp.stdout = s->stdout_path;
    resp.stderr = s->stderr_path;
    resp.terminal = s->terminal;
    resp.exit_status = s->exit_status;
    resp.exited_at = s->state == ZH_SHIM_STOPPED ? &ts : NULL;
    code = pack(r, &resp.base);
  }
  pthread_mutex_unlock(&s->mu);
  containerd__task__v2__state_request__free_unpacked(req, NULL);
  return code;
}

static int32_t task_wait(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  Containerd__Task__V2__WaitRequest *req =
      containerd__task__v2__wait_request__unpack(NULL, len, in);
  if (!req)
    return fail(r, ZH_TTRPC_INVALID_ARGUMENT, "Wait: undecodable WaitRequest");
  int32_t code;
  pthread_mutex_lock(&s->mu);
  if (is_exec(req->exec_id))
    code = fail(r, ZH_TTRPC_NOT_FOUND, "Wait: no exec process %s", req->exec_id);
  else if (s->state == ZH_SHIM_NONE)
    code = fail(r, ZH_TTRPC_NOT_FOUND, "Wait %s: no such task", req->id);
  else {
    while (s->state == ZH_SHIM_CREATED || s->state == ZH_SHIM_RUNNING)
      pthread_cond_wait(&s->cv, &s->mu);
    Google__Protobuf__Timestamp ts = stamp(&s->exited_at);
    Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
    resp.exit_status = s->exit_status;
    resp.exited_at = &ts;
    code = pack(r, &resp.base);
  }
  pthread_mutex_unlock(&s->mu);
  containerd__task__v2__wait_request__free_unpacked(req, NULL);
  return code;
}

static int32_t task_kill(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  Containerd__Task__V2__KillRequest *req =
      containerd__task__v2__kill_request__unpack(NULL, len, in);
  if (!req)
    return fail(r, ZH_TTRPC_INVALID_ARGUMENT, "Kill: undecodable KillRequest");
  int32_t code = ZH_TTRPC_OK;
  uint32_t sig = req->signal ? req->signal : SIGTERM;
  bool exited_now = false;
  pthread_mutex_lock(&s->mu);
  if (is_exec(req->exec_id))
    code = fail(r, ZH_TTRPC_NOT_FOUND, "Kill: no exec process %s", req->exec_id);
  else if (s->state == ZH_SHIM_RUNNING)
    zh_shim_runner_signal(s, sig);
  else if (s->state == ZH_SHIM_CREATED)
    exited_now = true; /* killed before it started: it ends as a process would */
  else
    code = fail(r, ZH_TTRPC_NOT_FOUND, "Kill %s: process already finished", req->id);
  pthread_mutex_unlock(&s->mu);
  if (exited_now)
    zh_shim_task_exited(s, 128 + sig);
  containerd__task__v2__kill_request__free_unpacked(req, NULL);
  if (code == ZH_TTRPC_OK) {
    Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
    code = pack(r, &e.base);
  }
  return code;
}

static int32_t task_delete(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  Containerd__Task__V2__DeleteRequest *req =
      containerd__task__v2__delete_request__unpack(NULL, len, in);
  if (!req)
    return fail(r, ZH_TTRPC_INVALID_ARGUMENT, "Delete: undecodable DeleteRequest");
  int32_t code;
  pthread_mutex_lock(&s->mu);
  if (is_exec(req->exec_id))
    code = fail(r, ZH_TTRPC_NOT_FOUND, "Delete: no exec process %s", req->exec_id);
  else if (s->state == ZH_SHIM_NONE || s->state == ZH_SHIM_DELETED)
    code = fail(r, ZH_TTRPC_NOT_FOUND, "Delete %s: no such task", req->id);
  else if (s->state == ZH_SHIM_RUNNING)
    code = fail(r, ZH_TTRPC_FAILED_PRECONDITION, "Delete %s: the task is running", req->id);
  else {
    if (s->state == ZH_SHIM_CREATED) { /* deleted without a start: nothing ran */
      s->exit_status = 0;
      clock_gettime(CLOCK_REALTIME, &s->exited_at);
    }
    pthread_mutex_unlock(&s->mu);
    zh_shim_runner_join(s);
    pthread_mutex_lock(&s->mu);
    zh_shim_task_release(s); /* loaded but never started */
    if (s->mounted) {
      zh_error *err = zh_shim_rootfs_unmount(s->rootfs);
      if (err)
        zh_shim_log(s, "Delete %s: %s", req->id, zh_error_message(err));
      zh_error_free(err);
      s->mounted = false;
    }
    s->state = ZH_SHIM_DELETED;
    Google__Protobuf__Timestamp ts = stamp(&s->exited_at);
    Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
    ev.container_id = (char *)s->id;
    ev.pid = (uint32_t)getpid();
    ev.exit_status = s->exit_status;
    ev.exited_at = &ts;
    publish(s, "/tasks/delete", "containerd.events.TaskDelete", &ev.base);
    Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
    resp.pid = (uint32_t)getpid();
    resp.exit_status = s->exit_status;
    resp.exited_at = &ts;
    code = pack(r, &resp.base);
  }
  pthread_mutex_unlock(&s->mu);
  containerd__task__v2__delete_request__free_unpacked(req, NULL);
  return code;
}

static int32_t task_pids(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  (void)in, (void)len;
  Containerd__V1__Types__ProcessInfo pi = CONTAINERD__V1__TYPES__PROCESS_INFO__INIT;
  pi.pid = (uint32_t)getpid();
  Containerd__V1__Types__ProcessInfo *list[] = {&pi};
  Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
  pthread_mutex_lock(&s->mu);
  bool live = s->state == ZH_SHIM_CREATED || s->state == ZH_SHIM_RUNNING;
  pthread_mutex_unlock(&s->mu);
  resp.n_processes = live ? 1 : 0;
  resp.processes = list;
  return pack(r, &resp.base);
}

static int32_t task_connect(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  (void)in, (void)len, (void)s;
  Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
  resp.shim_pid = (uint32_t)getpid();
  resp.task_pid = (uint32_t)getpid();
  resp.version = ZH_SHIM_VERSION;
  return pack(r, &resp.base);
}

/* The type URL containerd's typeurl resolves to its cgroups v2 Metrics (the proto's full name). */
#define METRICS_V2_TYPE "io.containerd.cgroups.v2.Metrics"

static int32_t task_stats(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  Containerd__Task__V2__StatsRequest *req =
      containerd__task__v2__stats_request__unpack(NULL, len, in);
  if (!req)
    return fail(r, ZH_TTRPC_INVALID_ARGUMENT, "Stats: undecodable StatsRequest");
  pthread_mutex_lock(&s->mu);
  bool known = s->state != ZH_SHIM_NONE && s->state != ZH_SHIM_DELETED;
  pthread_mutex_unlock(&s->mu);
  int32_t code;
  uint8_t *metrics = NULL;
  size_t metrics_len = 0;
  zh_error *err = NULL;
  if (!known)
    code = fail(r, ZH_TTRPC_NOT_FOUND, "Stats %s: no such task", req->id);
  else if ((err = zh_shim_stats_metrics(&metrics, &metrics_len)) != NULL)
    code = fail(r, ZH_TTRPC_RESOURCE_EXHAUSTED, "Stats %s: %s", req->id, zh_error_message(err));
  else {
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = METRICS_V2_TYPE;
    any.value.data = metrics;
    any.value.len = metrics_len;
    Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
    resp.stats = &any;
    code = pack(r, &resp.base);
  }
  zh_error_free(err);
  free(metrics);
  containerd__task__v2__stats_request__free_unpacked(req, NULL);
  return code;
}

static int32_t task_shutdown(zh_shim *s, const uint8_t *in, size_t len, reply *r) {
  (void)in, (void)len;
  pthread_mutex_lock(&s->mu);
  bool live = s->state == ZH_SHIM_CREATED || s->state == ZH_SHIM_RUNNING;
  pthread_mutex_unlock(&s->mu);
  /* containerd asks after Delete; a task still there keeps the shim. */
  if (!live)
    zh_ttrpc_server_stop(s->server);
  Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
  return pack(r, &e.base);
}

typedef int32_t (*method_fn)(zh_shim *, const uint8_t *, size_t, reply *);

static const struct {
  const char *name;
  method_fn fn;
} methods[] = {
    {"Create", task_create},     {"Start", task_start},     {"State", task_state},
    {"Wait", task_wait},         {"Kill", task_kill},       {"Delete", task_delete},
    {"Pids", task_pids},         {"Connect", task_connect}, {"Stats", task_stats},
    {"Shutdown", task_shutdown},
};

int32_t zh_shim_task_method(void *env, const zh_ttrpc_request *req, uint8_t **payload,
                            size_t *payload_len, char *message, size_t message_cap) {
  zh_shim *s = env;
  reply r = {payload, payload_len, message, message_cap};
  if (strcmp(req->service, "containerd.task.v2.Task") != 0)
    return fail(&r, ZH_TTRPC_UNIMPLEMENTED, "service %s is not served here", req->service);
  for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
    if (strcmp(req->method, methods[i].name) == 0)
      return methods[i].fn(s, req->payload, req->payload_len, &r);
  return fail(&r, ZH_TTRPC_UNIMPLEMENTED, "containerd.task.v2.Task/%s is not supported by %s",
              req->method, ZH_SHIM_VERSION);
}
