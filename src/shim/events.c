/* The task event publisher (events.h). */
#include "shim/events.h"

#include "wasm/error.h"

#include "google/protobuf/any.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct event {
  struct event *next;
  char *topic;
  uint8_t *any; /* the encoded google.protobuf.Any */
  size_t len;
} event;

struct zh_shim_events {
  char *binary, *address, *ns;
  zh_shim_log_fn log;
  void *log_env;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  event *head, *tail;
  bool closing;
  pthread_t thread;
};

/* Runs the publish binary with the event on its stdin; returns its exit status or -1. */
static int send_one(zh_shim_events *ev, const event *e) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0)
    return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  /* Not the container's FIFOs (fds 1 and 2 after Create): its output is not ours to add to,
   * and a publisher holding them would delay the reader's end of file. */
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  char *argv[] = {ev->binary, "--address",   ev->address, "publish", "--topic",
                  e->topic,   "--namespace", ev->ns,      NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, ev->binary, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  if (rc != 0) {
    close(in[1]);
    errno = rc;
    return -1;
  }
  size_t off = 0;
  while (off < e->len) {
    ssize_t n = write(in[1], e->any + off, e->len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  close(in[1]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void *publisher(void *arg) {
  zh_shim_events *ev = arg;
  pthread_mutex_lock(&ev->mu);
  for (;;) {
    while (!ev->head && !ev->closing)
      pthread_cond_wait(&ev->cv, &ev->mu);
    event *e = ev->head;
    if (!e)
      break; /* closing and drained */
    ev->head = e->next;
    if (!ev->head)
      ev->tail = NULL;
    pthread_mutex_unlock(&ev->mu);
    int st = send_one(ev, e);
    if (st != 0)
      zh_shim_logf(ev->log, ev->log_env, "publish %s: %s", e->topic,
                   st < 0 ? strerror(errno) : "the publish binary failed");
    free(e->topic);
    free(e->any);
    free(e);
    pthread_mutex_lock(&ev->mu);
  }
  pthread_mutex_unlock(&ev->mu);
  return NULL;
}

zh_error *zh_shim_events_new(const char *binary, const char *address, const char *ns,
                             zh_shim_log_fn log, void *log_env, zh_shim_events **out) {
  zh_shim_events *ev = calloc(1, sizeof *ev);
  if (!ev)
    return zh_error_oom();
  ev->log = log;
  ev->log_env = log_env;
  if (binary && *binary) {
    ev->binary = strdup(binary);
    ev->address = strdup(address ? address : "");
    ev->ns = strdup(ns ? ns : "default");
    if (!ev->binary || !ev->address || !ev->ns) {
      zh_shim_events_free(ev);
      return zh_error_oom();
    }
  }
  pthread_mutex_init(&ev->mu, NULL);
  pthread_cond_init(&ev->cv, NULL);
  if (ev->binary && pthread_create(&ev->thread, NULL, publisher, ev) != 0) {
    free(ev->binary);
    ev->binary = NULL;
    zh_shim_logf(ev->log, ev->log_env, "no thread for the event publisher: events are dropped");
  }
  *out = ev;
  return NULL;
}

void zh_shim_events_publish(zh_shim_events *ev, const char *topic, const char *type_url,
                            const uint8_t *value, size_t len) {
  if (!ev || !ev->binary)
    return;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = (char *)type_url;
  any.value.data = (uint8_t *)value;
  any.value.len = len;
  event *e = calloc(1, sizeof *e);
  if (e) {
    e->len = google__protobuf__any__get_packed_size(&any);
    e->any = malloc(e->len ? e->len : 1);
    e->topic = strdup(topic);
  }
  if (!e || !e->any || !e->topic) {
    zh_shim_logf(ev->log, ev->log_env, "publish %s: out of memory", topic);
    if (e)
      free(e->any), free(e->topic);
    free(e);
    return;
  }
  google__protobuf__any__pack(&any, e->any);
  pthread_mutex_lock(&ev->mu);
  if (ev->tail)
    ev->tail->next = e;
  else
    ev->head = e;
  ev->tail = e;
  pthread_cond_signal(&ev->cv);
  pthread_mutex_unlock(&ev->mu);
}

void zh_shim_events_free(zh_shim_events *ev) {
  if (!ev)
    return;
  if (ev->binary) {
    pthread_mutex_lock(&ev->mu);
    ev->closing = true;
    pthread_cond_signal(&ev->cv);
    pthread_mutex_unlock(&ev->mu);
    pthread_join(ev->thread, NULL);
  }
  pthread_mutex_destroy(&ev->mu);
  pthread_cond_destroy(&ev->cv);
  free(ev->binary);
  free(ev->address);
  free(ev->ns);
  free(ev);
}
