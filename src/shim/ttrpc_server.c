/* The ttrpc server (ttrpc_server.h). */
#include "shim/ttrpc_server.h"

#include "wasm/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct zh_ttrpc_server {
  int listen_fd;
  zh_ttrpc_method_fn method;
  void *env;
  zh_ttrpc_log_fn log;
  atomic_bool stopping;
};

typedef struct conn {
  zh_ttrpc_server *server;
  int fd;                /* owned; closed when refs drops to 0 */
  pthread_mutex_t write; /* one frame at a time */
  atomic_int refs;
} conn;

typedef struct call {
  conn *c;
  zh_ttrpc_header h;
  uint8_t *data; /* owned */
} call;

static void conn_unref(conn *c) {
  if (atomic_fetch_sub(&c->refs, 1) != 1)
    return;
  close(c->fd);
  pthread_mutex_destroy(&c->write);
  free(c);
}

static void reply(conn *c, uint32_t stream, int32_t code, const char *message,
                  const uint8_t *payload, size_t len) {
  uint8_t *frame = NULL;
  size_t flen = 0;
  zh_error *err = zh_ttrpc_response_frame(stream, code, message, payload, len, &frame, &flen);
  if (!err) {
    pthread_mutex_lock(&c->write);
    err = zh_ttrpc_write_all(c->fd, frame, flen);
    pthread_mutex_unlock(&c->write);
  }
  if (err)
    zh_shim_logf(c->server->log, c->server->env, "stream %u: %s", stream, zh_error_message(err));
  zh_error_free(err);
  free(frame);
}

static void *call_thread(void *arg) {
  call *k = arg;
  zh_ttrpc_server *s = k->c->server;
  zh_ttrpc_request req;
  zh_error *err = zh_ttrpc_request_decode(k->data, k->h.length, &req);
  if (err) {
    zh_shim_logf(s->log, s->env, "stream %u: %s", k->h.stream_id, zh_error_message(err));
    reply(k->c, k->h.stream_id, ZH_TTRPC_INVALID_ARGUMENT, zh_error_message(err), NULL, 0);
    zh_error_free(err);
  } else {
    uint8_t *payload = NULL;
    size_t len = 0;
    char message[512] = "";
    int32_t code = s->method(s->env, &req, &payload, &len, message, sizeof message);
    reply(k->c, k->h.stream_id, code, code ? message : NULL, code ? NULL : payload, len);
    free(payload);
  }
  if (atomic_load(&s->stopping))
    shutdown(s->listen_fd, SHUT_RDWR); /* wakes accept() in run */
  conn_unref(k->c);
  free(k->data);
  free(k);
  return NULL;
}

static void *conn_thread(void *arg) {
  conn *c = arg;
  zh_ttrpc_server *s = c->server;
  for (;;) {
    zh_ttrpc_header h;
    uint8_t *data = NULL;
    zh_error *err = zh_ttrpc_read_frame(c->fd, &h, &data);
    if (err && zh_error_status(err) == ZH_ERR_RESOURCE) {
      reply(c, h.stream_id, ZH_TTRPC_RESOURCE_EXHAUSTED, zh_error_message(err), NULL, 0);
      zh_error_free(err);
      continue;
    }
    if (err) {
      if (strcmp(zh_error_message(err), "eof") != 0)
        zh_shim_logf(s->log, s->env, "%s", zh_error_message(err));
      zh_error_free(err);
      break;
    }
    if (h.type != ZH_TTRPC_REQUEST) {
      /* Data frames belong to streaming calls, which the Task service has none of. */
      zh_shim_logf(s->log, s->env, "stream %u: frame type %u ignored", h.stream_id, h.type);
      free(data);
      continue;
    }
    call *k = malloc(sizeof *k);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (k) {
      k->c = c, k->h = h, k->data = data;
      atomic_fetch_add(&c->refs, 1);
    }
    if (!k || pthread_create(&t, &attr, call_thread, k) != 0) {
      if (k)
        atomic_fetch_sub(&c->refs, 1);
      reply(c, h.stream_id, ZH_TTRPC_RESOURCE_EXHAUSTED, "shim: no thread for the request", NULL,
            0);
      free(data);
      free(k);
    }
    pthread_attr_destroy(&attr);
  }
  conn_unref(c);
  return NULL;
}

zh_error *zh_ttrpc_server_new(int listen_fd, zh_ttrpc_method_fn method, void *env,
                              zh_ttrpc_log_fn log, zh_ttrpc_server **out) {
  zh_ttrpc_server *s = calloc(1, sizeof *s);
  if (!s)
    return zh_error_oom();
  s->listen_fd = listen_fd;
  s->method = method;
  s->env = env;
  s->log = log;
  atomic_init(&s->stopping, false);
  *out = s;
  return NULL;
}

void zh_ttrpc_server_run(zh_ttrpc_server *s) {
  while (!atomic_load(&s->stopping)) {
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (!atomic_load(&s->stopping))
        zh_shim_logf(s->log, s->env, "accept: %s", strerror(errno));
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
        usleep(10000);
        continue;
      }
      break;
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->server = s;
    c->fd = fd;
    pthread_mutex_init(&c->write, NULL);
    atomic_init(&c->refs, 1);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, conn_thread, c) != 0) {
      zh_shim_logf(s->log, s->env, "no thread for a connection");
      conn_unref(c);
    }
    pthread_attr_destroy(&attr);
  }
}

void zh_ttrpc_server_stop(zh_ttrpc_server *s) { atomic_store(&s->stopping, true); }

void zh_ttrpc_server_free(zh_ttrpc_server *s) { free(s); }
