/* Helpers shared by the test programs: reading files, loading the wasm guests that
 * `make guests` builds into $ZH_BUILD/guests, and running the CLI as a child process.
 * Header-only, like testlib.h. */
#ifndef ZH_TESTUTIL_H
#define ZH_TESTUTIL_H

#include "zerohop/cm.h"
#include "zerohop/engine.h"
#include "zerohop/wasip2.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Reads a whole file (regular file or pipe) into *data, NUL-terminated for text use; the
 * caller frees it. False if the file cannot be read. */
static inline bool zh_test_read_file(const char *path, uint8_t **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return false;
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) { /* grow first, so the NUL always fits */
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0)
      break;
  }
  bool ok = buf && !ferror(f);
  fclose(f);
  if (!ok) {
    free(buf);
    return false;
  }
  buf[n] = 0;
  *data = buf;
  *len = n;
  return true;
}

/* WAT text -> a module named `name`, through wabt's wat2wasm in a temporary directory; NULL
 * (said on stderr) when wat2wasm or the engine refuses it. */
static inline zh_module *zh_test_wat_module(zh_engine *engine, const char *wat, const char *name) {
  char dir[] = "/tmp/zh-watXXXXXX";
  if (!mkdtemp(dir))
    return NULL;
  char src[64], bin[64], cmd[256];
  snprintf(src, sizeof src, "%s/m.wat", dir);
  snprintf(bin, sizeof bin, "%s/m.wasm", dir);
  zh_module *m = NULL;
  FILE *f = fopen(src, "w");
  uint8_t *bytes = NULL;
  size_t len = 0;
  if (f) {
    fputs(wat, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "wat2wasm %s -o %s", src, bin);
    if (system(cmd) == 0 && zh_test_read_file(bin, &bytes, &len) && len) {
      zh_error *err = zh_module_new(engine, bytes, len, name, &m);
      if (err) {
        fprintf(stderr, "%s: %s\n", name, zh_error_message(err));
        zh_error_free(err);
        m = NULL;
      }
    }
  }
  free(bytes);
  unlink(src);
  unlink(bin);
  rmdir(dir);
  if (!m)
    fprintf(stderr, "cannot build %s with wat2wasm\n", name);
  return m;
}

/* The build directory: $ZH_BUILD, or "build". */
static inline const char *zh_test_build_dir(void) {
  const char *b = getenv("ZH_BUILD");
  return b && *b ? b : "build";
}

/* Loads $ZH_BUILD/guests/NAME.wasm; NULL (with the reason on stderr) if it fails. */
static inline zh_module *zh_test_load_guest(zh_engine *engine, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/guests/%s.wasm", zh_test_build_dir(), name);
  uint8_t *bytes;
  size_t len;
  if (!zh_test_read_file(path, &bytes, &len)) {
    fprintf(stderr, "cannot read %s (run `make guests`)\n", path);
    return NULL;
  }
  zh_module *m = NULL;
  zh_error *err = zh_module_new(engine, bytes, len, path, &m);
  free(bytes);
  if (err) {
    fprintf(stderr, "%s\n", zh_error_message(err));
    zh_error_free(err);
  }
  return m;
}

/* ---- running a program (the CLI) as a child process ---- */

/* What a child did: its exit status (or signal), and all it wrote (malloc'd, NUL-ended). */
typedef struct zh_test_proc {
  bool ran;    /* spawned and reaped */
  bool exited; /* WIFEXITED */
  bool killed; /* killed by zh_test_spawn after the time limit */
  int status;  /* the exit status, or the signal number */
  char *out, *err;
  size_t nout, nerr;
} zh_test_proc;

static inline void zh_test_proc_free(zh_test_proc *p) {
  free(p->out);
  free(p->err);
  p->out = p->err = NULL;
}

/* Runs argv[0] with `argv` (NULL-terminated) and `envp` (NULL: this process's). Its stdin is
 * a pipe fed with `in` (`inlen` bytes, then closed), or /dev/null when `in` is NULL; stdout
 * and stderr go to temporary files read back into `p`. Killed after `limit_ms`. False (and
 * the reason on stderr) if it could not be run. */
static inline bool zh_test_spawn(const char *const *argv, const char *const *envp, const char *in,
                                 size_t inlen, long limit_ms, zh_test_proc *p) {
  extern char **environ;
  memset(p, 0, sizeof *p);
  char outp[] = "/tmp/zh-test-out-XXXXXX", errp[] = "/tmp/zh-test-err-XXXXXX";
  int ofd = mkstemp(outp), efd = mkstemp(errp), pfd[2] = {-1, -1};
  if (ofd < 0 || efd < 0 || (in != NULL && pipe2(pfd, O_CLOEXEC) != 0)) {
    fprintf(stderr, "zh_test_spawn: %s\n", strerror(errno));
    goto done;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int fd0 = in != NULL ? pfd[0] : open("/dev/null", O_RDONLY);
    if (fd0 < 0 || dup2(fd0, 0) < 0 || dup2(ofd, 1) < 0 || dup2(efd, 2) < 0)
      _exit(127);
    execve(argv[0], (char *const *)argv, envp ? (char *const *)envp : environ);
    _exit(127);
  }
  if (pid < 0) {
    fprintf(stderr, "zh_test_spawn: fork: %s\n", strerror(errno));
    goto done;
  }
  if (pfd[0] >= 0) {
    close(pfd[0]);
    pfd[0] = -1;
    fcntl(pfd[1], F_SETFL, O_NONBLOCK);
  }
  struct timespec t0, t, nap = {0, 200000};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  size_t sent = 0;
  int ws = 0;
  for (;;) {
    /* Feed what the pipe takes; the child may stop reading at any time. */
    while (pfd[1] >= 0 && sent < inlen) {
      ssize_t w = write(pfd[1], in + sent, inlen - sent);
      if (w <= 0)
        break;
      sent += (size_t)w;
    }
    if (pfd[1] >= 0 && sent == inlen) {
      close(pfd[1]);
      pfd[1] = -1;
    }
    pid_t got = waitpid(pid, &ws, WNOHANG);
    if (got == pid)
      break;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (got < 0 ||
        (t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000L > limit_ms) {
      p->killed = true;
      kill(pid, SIGKILL);
      waitpid(pid, &ws, 0);
      break;
    }
    nanosleep(&nap, NULL);
  }
  p->ran = true;
  p->exited = WIFEXITED(ws);
  p->status = p->exited ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? WTERMSIG(ws) : -1;
  uint8_t *o = NULL, *e = NULL;
  if (zh_test_read_file(outp, &o, &p->nout))
    p->out = (char *)o;
  if (zh_test_read_file(errp, &e, &p->nerr))
    p->err = (char *)e;
done:
  for (int i = 0; i < 2; i++)
    if (pfd[i] >= 0)
      close(pfd[i]);
  if (ofd >= 0) {
    close(ofd);
    unlink(outp);
  }
  if (efd >= 0) {
    close(efd);
    unlink(errp);
  }
  if (p->ran && (p->out == NULL || p->err == NULL)) {
    fprintf(stderr, "zh_test_spawn: cannot read the output back\n");
    zh_test_proc_free(p);
    p->ran = false;
  }
  return p->ran;
}

/* ---- a real redis-server on a loopback port ---- */

/* A free TCP port on 127.0.0.1 (bound and released: another process could take it in the
 * meantime, which the caller sees as a failed start). 0 on failure. */
static inline uint16_t zh_test_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  uint16_t port = 0;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
    port = ntohs(sa.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

/* A listening TCP socket on 127.0.0.1 at a port the kernel picks, which goes to *port; -1
 * if any step fails. For the tests' own small servers. */
static inline int zh_test_listen_loopback(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/* True once something on 127.0.0.1:port answers PING with +PONG. */
static inline bool zh_test_redis_ping(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {1, 0};
  char buf[16] = {0};
  bool ok = false;
  if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
      connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && write(fd, "PING\r\n", 6) == 6 &&
      read(fd, buf, sizeof buf - 1) > 0)
    ok = strncmp(buf, "+PONG", 5) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

typedef struct zh_test_redis {
  pid_t pid; /* 0 when not running */
  uint16_t port;
} zh_test_redis;

/* Starts `redis-server` (Debian's) on 127.0.0.1:port, or on a free port when *r's port is 0,
 * with no persistence, and waits up to 5 s for it to answer. Restarting on the same port
 * (after zh_test_redis_stop) keeps r->port. False (and why on stderr) on failure. */
static inline bool zh_test_redis_start(zh_test_redis *r) {
  for (int attempt = 0; attempt < 3; attempt++) {
    bool fixed = r->port != 0;
    if (!fixed)
      r->port = zh_test_free_port();
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)r->port);
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, 1);
      dup2(null, 2);
      execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", (char *)NULL);
      _exit(127);
    }
    if (pid < 0)
      break;
    r->pid = pid;
    for (int i = 0; i < 500; i++) {
      if (zh_test_redis_ping(r->port))
        return true;
      if (waitpid(pid, NULL, WNOHANG) == pid)
        break; /* exited: port taken, or no redis-server */
      struct timespec nap = {0, 10000000};
      nanosleep(&nap, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    r->pid = 0;
    if (fixed)
      break;
    r->port = 0;
  }
  fprintf(stderr, "zh_test_redis_start: redis-server did not start\n");
  return false;
}

/* Stops it by PID (SIGTERM, then SIGKILL after 5 s) and reaps it. Keeps r->port. */
static inline void zh_test_redis_stop(zh_test_redis *r) {
  if (r->pid <= 0)
    return;
  kill(r->pid, SIGTERM);
  for (int i = 0; i < 500; i++) {
    if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
      r->pid = 0;
      return;
    }
    struct timespec nap = {0, 10000000};
    nanosleep(&nap, NULL);
  }
  kill(r->pid, SIGKILL);
  waitpid(r->pid, NULL, 0);
  r->pid = 0;
}

/* ---- a component instance for the app host's interface tests (tests/host) ---- */

/* Decodes the component at `path`; NULL (with the reason on stderr) if it fails. */
static inline zh_cm_component *zh_test_load_component(zh_engine *engine, const char *path) {
  uint8_t *bytes;
  size_t len;
  if (!zh_test_read_file(path, &bytes, &len)) {
    fprintf(stderr, "cannot read %s (run `make components`)\n", path);
    return NULL;
  }
  zh_cm_component *comp = NULL;
  zh_error *err = zh_cm_component_new(engine, bytes, len, path, &comp);
  free(bytes);
  if (err) {
    fprintf(stderr, "%s\n", zh_error_message(err));
    zh_error_free(err);
  }
  return comp;
}

/* One instance as the app host makes it: its own store, a zh_wasip2_ctx as its data, and
 * `user` (the host's per-instance struct, or NULL) as the context's user pointer. */
typedef struct zh_test_instance {
  zh_store *store;
  zh_wasip2_ctx *p2;
  zh_cm_instance *inst;
} zh_test_instance;

static inline bool zh_test_instance_start(zh_engine *engine, zh_cm_linker *linker,
                                          const zh_cm_component *comp, void *user,
                                          zh_test_instance *t) {
  zh_error *err = NULL;
  *t = (zh_test_instance){0};
  if (!(t->p2 = zh_wasip2_new(NULL, &err)) || (err = zh_store_new(engine, &t->store)) != NULL) {
    fprintf(stderr, "zh_test_instance_start: %s\n", zh_error_message(err));
    zh_error_free(err);
    return false;
  }
  zh_wasip2_set_store(t->p2, t->store);
  zh_wasip2_set_user(t->p2, user);
  if ((err = zh_cm_linker_instantiate(linker, comp, t->store, t->p2, &t->inst)) != NULL) {
    fprintf(stderr, "zh_test_instance_start: %s\n", zh_error_message(err));
    zh_error_free(err);
    return false;
  }
  return true;
}

/* Frees the instance, then its context and store (the host's own state is the caller's). */
static inline void zh_test_instance_end(zh_test_instance *t) {
  zh_cm_instance_free(t->inst);
  zh_wasip2_free(t->p2);
  zh_store_free(t->store);
  *t = (zh_test_instance){0};
}

/* ---- `zerohop serve` as a child process (tests/serve) ---- */

static inline double zh_test_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* True once a connection to 127.0.0.1:port is accepted, polling every 20 ms for up to
 * limit_ms: for a server the test started (a registry, a token service, an app). */
static inline bool zh_test_wait_port(uint16_t port, double limit_ms) {
  double start = zh_test_now_ms();
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
      close(fd);
    if (ok)
      return true;
    if (zh_test_now_ms() - start > limit_ms)
      return false;
    usleep(20000);
  }
}

/* Waits for the process to exit (SIGKILL after limit_ms); its exit status, or -1. */
static inline int zh_test_wait_exit(pid_t pid, double limit_ms) {
  double start = zh_test_now_ms();
  int ws;
  for (;;) {
    pid_t got = waitpid(pid, &ws, WNOHANG);
    if (got == pid)
      return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    if (got < 0 && errno != EINTR)
      return -1;
    if (zh_test_now_ms() - start > limit_ms) {
      kill(pid, SIGKILL);
      waitpid(pid, &ws, 0);
      return -1;
    }
    struct timespec nap = {0, 2000000};
    nanosleep(&nap, NULL);
  }
}

/* Spawns `$ZH_BUILD/zerohop serve ARGS...` (NULL-terminated) with stdin on /dev/null, stdout
 * on a pipe (*out_fd) and stderr in the file err_path. -1 on failure. */
static inline pid_t zh_test_serve_spawn(const char *const *args, int *out_fd,
                                        const char *err_path) {
  char cli[256];
  snprintf(cli, sizeof cli, "%s/zerohop", zh_test_build_dir());
  const char *argv[32];
  size_t n = 0;
  argv[n++] = cli;
  argv[n++] = "serve";
  for (size_t i = 0; args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  extern char **environ;
  pid_t pid;
  int rc = posix_spawn(&pid, cli, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    return -1;
  }
  *out_fd = p[0];
  return pid;
}

/* A running `zerohop serve`: its PID, the port it chose and the file its stderr goes to. */
typedef struct zh_test_server {
  pid_t pid;
  uint16_t port;
  char err_path[256];
} zh_test_server;

/* Starts `zerohop serve --addr 127.0.0.1:0 OPTS... comp` with stderr in DIR/NAME.err and
 * reads the port from its first stdout line ("serving http://127.0.0.1:PORT"), waiting up to
 * limit_ms; false (and why on stderr) if it printed none. */
static inline bool zh_test_serve_start(zh_test_server *s, const char *dir, const char *name,
                                       const char *comp, const char *const *opts, double limit_ms) {
  const char *args[24];
  size_t n = 0;
  args[n++] = "--addr";
  args[n++] = "127.0.0.1:0";
  for (size_t i = 0; opts && opts[i] && n < 20; i++)
    args[n++] = opts[i];
  args[n++] = comp;
  args[n] = NULL;
  snprintf(s->err_path, sizeof s->err_path, "%s/%s.err", dir, name);
  int fd;
  s->port = 0;
  s->pid = zh_test_serve_spawn(args, &fd, s->err_path);
  if (s->pid < 0) {
    fprintf(stderr, "  cannot spawn zerohop serve\n");
    return false;
  }
  char line[256];
  size_t len = 0;
  double t0 = zh_test_now_ms();
  while (len < sizeof line - 1 && zh_test_now_ms() - t0 < limit_ms) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    ssize_t got = read(fd, line + len, 1);
    if (got <= 0)
      break;
    if (line[len] == '\n')
      break;
    len++;
  }
  line[len] = 0;
  close(fd); /* the server prints nothing else on stdout */
  const char *p = strstr(line, "serving http://127.0.0.1:");
  if (p)
    s->port = (uint16_t)atoi(p + strlen("serving http://127.0.0.1:"));
  if (s->port == 0) {
    fprintf(stderr, "  %s: no address printed (got '%s')\n", name, line);
    kill(s->pid, SIGKILL);
    zh_test_wait_exit(s->pid, 5000);
    return false;
  }
  return true;
}

/* SIGTERM, then its exit status (0 expected). */
static inline int zh_test_serve_stop(zh_test_server *s) {
  kill(s->pid, SIGTERM);
  return zh_test_wait_exit(s->pid, 20000);
}

/* The server's stderr so far (malloc'd, NUL-terminated; "" if none). */
static inline char *zh_test_serve_err(const zh_test_server *s) {
  uint8_t *data = NULL;
  size_t len = 0;
  if (!zh_test_read_file(s->err_path, &data, &len))
    return strdup("");
  return (char *)data;
}

/* ---- wasm binaries assembled by hand (tests/wasm, bench/first_call.c) ---- */

/* A growable byte buffer; out of memory aborts (a test's own allocation, not the engine's). */
typedef struct zh_test_buf {
  uint8_t *b;
  size_t n, cap;
} zh_test_buf;

static inline void zh_test_put(zh_test_buf *o, const void *p, size_t n) {
  if (o->n + n > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->n + n)
      cap *= 2;
    uint8_t *nb = realloc(o->b, cap);
    if (!nb)
      abort();
    o->b = nb;
    o->cap = cap;
  }
  if (n)
    memcpy(o->b + o->n, p, n);
  o->n += n;
}

static inline void zh_test_put_byte(zh_test_buf *o, uint8_t x) { zh_test_put(o, &x, 1); }

/* An unsigned LEB128. */
static inline void zh_test_put_u32(zh_test_buf *o, uint32_t x) {
  do {
    uint8_t b = x & 0x7f;
    x >>= 7;
    zh_test_put_byte(o, (uint8_t)(b | (x ? 0x80 : 0)));
  } while (x);
}

/* Section `id` with its size, then `content`. */
static inline void zh_test_section(zh_test_buf *o, uint8_t id, const zh_test_buf *content) {
  zh_test_put_byte(o, id);
  zh_test_put_u32(o, (uint32_t)content->n);
  zh_test_put(o, content->b, content->n);
}

/* ---- an app for `zerohop up` ---- */

/* Writes DIR/NAME/spin.toml with `text`, every "@C@" in it replaced by `comp_dir` (where the
 * test components are), and puts DIR/NAME in `out`. Best effort: a write that fails shows as
 * an app that does not load. */
static inline void zh_test_write_app(const char *dir, const char *name, const char *text,
                                     const char *comp_dir, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", dir, name);
  mkdir(out, 0755);
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/spin.toml", out);
  FILE *f = fopen(path, "w");
  if (!f)
    return;
  for (const char *p = text; *p; p++) {
    if (strncmp(p, "@C@", 3) == 0) {
      fputs(comp_dir, f);
      p += 2;
    } else {
      fputc(*p, f);
    }
  }
  fclose(f);
}

/* ---- a zerohop server command (`up`, `serve`) as a child process ---- */

/* A running server: its PID, the port it printed, what it printed on stdout at start, and
 * the file its stderr goes to. */
typedef struct zh_test_cli_server {
  pid_t pid;
  uint16_t port;
  char out[8192]; /* stdout up to a quiet moment after the address line */
  char err_path[256];
} zh_test_cli_server;

/* Spawns `$ZH_BUILD/zerohop ARGV...` (NULL-terminated; ARGV[0] the subcommand) with `env`
 * (NULL: this process's), stdin on /dev/null and stderr in the file DIR/NAME.err, then reads
 * stdout until a line holds `marker` followed by a port ("Serving http://127.0.0.1:"), and
 * on until stdout is quiet for 200 ms. False (the process reaped, its stdout in s->out) when
 * no such line comes within limit_ms or the process exits: a start that fails is a test's
 * case too, so the exit status goes to *exit_status when not NULL. */
static inline bool zh_test_cli_start(zh_test_cli_server *s, const char *dir, const char *name,
                                     const char *const *argv, const char *const *env,
                                     const char *marker, double limit_ms, int *exit_status) {
  char cli[256];
  snprintf(cli, sizeof cli, "%s/zerohop", zh_test_build_dir());
  const char *args[64];
  size_t n = 0;
  args[n++] = cli;
  for (size_t i = 0; argv[i] && n < 63; i++)
    args[n++] = argv[i];
  args[n] = NULL;
  memset(s, 0, sizeof *s);
  snprintf(s->err_path, sizeof s->err_path, "%s/%s.err", dir, name);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, s->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  extern char **environ;
  int rc =
      posix_spawn(&s->pid, cli, &fa, NULL, (char *const *)args, env ? (char *const *)env : environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    return false;
  }
  size_t len = 0;
  double t0 = zh_test_now_ms(), seen = 0;
  while (len < sizeof s->out - 1) {
    double now = zh_test_now_ms();
    if ((!seen && now - t0 > limit_ms) || (seen && now - seen > 200))
      break;
    struct pollfd pfd = {p[0], POLLIN, 0};
    if (poll(&pfd, 1, 50) <= 0)
      continue;
    ssize_t got = read(p[0], s->out + len, sizeof s->out - 1 - len);
    if (got <= 0)
      break; /* the process exited */
    len += (size_t)got;
    s->out[len] = '\0';
    const char *m = strstr(s->out, marker);
    if (!seen && m && strchr(m, '\n')) {
      s->port = (uint16_t)atoi(m + strlen(marker));
      seen = zh_test_now_ms();
    }
  }
  close(p[0]);
  if (s->port == 0) {
    kill(s->pid, SIGTERM);
    int st = zh_test_wait_exit(s->pid, 10000);
    if (exit_status)
      *exit_status = st;
    s->pid = 0;
    return false;
  }
  return true;
}

/* SIGTERM, then its exit status (0 expected); -1 if it had to be killed. */
static inline int zh_test_cli_stop(zh_test_cli_server *s) {
  if (s->pid <= 0)
    return -1;
  kill(s->pid, SIGTERM);
  int st = zh_test_wait_exit(s->pid, 20000);
  s->pid = 0;
  return st;
}

/* What the server wrote on stderr so far (malloc'd, NUL-terminated; "" if nothing). */
static inline char *zh_test_cli_err(const zh_test_cli_server *s) {
  uint8_t *data = NULL;
  size_t len = 0;
  if (!zh_test_read_file(s->err_path, &data, &len))
    return strdup("");
  return (char *)data;
}

#endif
