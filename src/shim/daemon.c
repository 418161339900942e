/* The shim's command line, as containerd's runtime v2 runs it:
 *
 *   containerd-shim-zerohop-v2 -namespace NS -address SOCK -publish-binary BIN -id ID start
 *       in the bundle directory: binds the task socket, forks the long-lived server (new
 *       session, stdio detached so containerd's read of our output ends), prints
 *       unix://SOCKET and exits 0. A live server for the same id is reused; a socket left by
 *       a dead one (SIGKILL leaves it) is removed first.
 *   ... -id ID -bundle DIR delete
 *       after the server died: unmounts the rootfs, removes the socket and prints a
 *       DeleteResponse (exit status 137, as a killed process) for containerd.
 *
 * The socket lives in /run/zerohop-shim/, named by a hash of (address, namespace, id), so
 * `start` and `delete` find the same one and two containerds never share one. */
#include "shim/shim.h"

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCKET_DIR "/run/zerohop-shim"

void zh_shim_log(zh_shim *s, const char *fmt, ...) {
  char line[1024];
  int n = snprintf(line, sizeof line, "zerohop shim %s: ", s->id ? s->id : "-");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = strlen(line);
  line[len++] = '\n';
  if (s->log_fd >= 0) {
    ssize_t w = write(s->log_fd, line, len);
    (void)w; /* the log is best effort: a full FIFO drops the line */
  }
}

void zh_shim_log_line(void *shim, const char *line) { zh_shim_log(shim, "%s", line); }

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
  return (h ^ 0xff) * 0x100000001b3ull; /* a separator, so ("ab","c") != ("a","bc") */
}

static void socket_path(const zh_shim *s, char *out, size_t cap) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, s->address ? s->address : "");
  h = fnv1a(h, s->ns ? s->ns : "");
  h = fnv1a(h, s->id ? s->id : "");
  snprintf(out, cap, SOCKET_DIR "/%016llx.sock", (unsigned long long)h);
}

static int usage(void) {
  fprintf(stderr, "usage: containerd-shim-zerohop-v2 -namespace NS -address ADDR "
                  "-publish-binary BIN -id ID [-bundle DIR] [-debug] start|delete\n");
  return 2;
}

/* 1: a live server answers there; 0: nothing (a stale file was removed); -1: error. */
static int probe_socket(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  int e = errno;
  close(fd);
  if (rc == 0)
    return 1;
  if (e == ENOENT)
    return 0;
  if (e == ECONNREFUSED) /* a file with no server: left by a killed shim */
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
  errno = e;
  return -1;
}

static int listen_on(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  chmod(path, 0600);
  return fd;
}

/* The server joins the network namespace the bundle's spec names while it is still one
 * thread, so that the whole process, main thread included, lives there. containerd's CRI
 * gives a pod's containers the sandbox task's /proc/PID/ns/net, which is the namespace of
 * that PID's main thread: the sandbox shim must be in the pod's network for its containers to
 * be. The shim's own sockets are paths in the file system, which a namespace does not hide.
 * A failure is only logged here: the runner tries again and says why on the task's stderr. */
static void join_spec_netns(zh_shim *s) {
  zh_shim_spec spec;
  zh_error *err = zh_shim_spec_read(s->bundle, &spec);
  if (err) { /* Create reports it */
    zh_error_free(err);
    return;
  }
  if (spec.netns) {
    int fd = open(spec.netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
      zh_shim_log(s, "network namespace %s: %s", spec.netns, strerror(errno));
    if (fd >= 0)
      close(fd);
  }
  zh_shim_spec_free(&spec);
}

static int serve(zh_shim *s, int listen_fd) {
  signal(SIGPIPE, SIG_IGN);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  zh_error *err =
      zh_shim_events_new(s->publish_binary, s->address, s->ns, zh_shim_log_line, s, &s->events);
  if (!err)
    err = zh_ttrpc_server_new(listen_fd, zh_shim_task_method, s, zh_shim_log_line, &s->server);
  if (err) {
    zh_shim_log(s, "%s", zh_error_message(err));
    zh_error_free(err);
    unlink(s->socket_path);
    return 1;
  }
  zh_shim_log(s, "serving on %s (pid %d)", s->socket_path, (int)getpid());
  zh_ttrpc_server_run(s->server);
  zh_shim_log(s, "shutting down");
  unlink(s->socket_path);
  close(listen_fd);
  zh_shim_events_free(s->events); /* the exit event goes out before we do */
  zh_ttrpc_server_free(s->server);
  return 0;
}

static int cmd_start(zh_shim *s) {
  if (!getcwd(s->bundle, sizeof s->bundle)) {
    fprintf(stderr, "shim start: getcwd: %s\n", strerror(errno));
    return 1;
  }
  mkdir(SOCKET_DIR, 0711);
  socket_path(s, s->socket_path, sizeof s->socket_path);
  int live = probe_socket(s->socket_path);
  if (live == 1) { /* already served: containerd may ask twice */
    printf("unix://%s", s->socket_path);
    return 0;
  }
  int fd = live < 0 ? -1 : listen_on(s->socket_path);
  if (fd < 0) {
    fprintf(stderr, "shim start: socket %s: %s\n", s->socket_path, strerror(errno));
    return 1;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "shim start: fork: %s\n", strerror(errno));
    unlink(s->socket_path);
    return 1;
  }
  if (pid > 0) {
    close(fd);
    printf("unix://%s", s->socket_path);
    return 0;
  }
  /* The server: its own session, and none of the pipes containerd reads `start` through. */
  setsid();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  dup2(null, STDIN_FILENO);
  dup2(null, STDOUT_FILENO);
  dup2(null, STDERR_FILENO);
  if (null > STDERR_FILENO)
    close(null);
  /* containerd reads BUNDLE/log (a FIFO it created) into its own log. */
  s->log_fd = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  join_spec_netns(s);
  _exit(serve(s, fd));
}

static int cmd_delete(zh_shim *s, const char *bundle) {
  snprintf(s->bundle, sizeof s->bundle, "%s", bundle);
  if (!s->bundle[0] && !getcwd(s->bundle, sizeof s->bundle))
    return 1;
  /* A server still answering owns its task and its mounts: leave them to it. containerd runs
   * us when the server's connection dropped, and a killed process may close that before its
   * listening socket: give a dying server a second to be gone. */
  socket_path(s, s->socket_path, sizeof s->socket_path);
  int live = probe_socket(s->socket_path);
  for (int i = 0; i < 20 && live == 1; i++) {
    usleep(50000);
    live = probe_socket(s->socket_path);
  }
  if (live != 1) {
    char rootfs[PATH_MAX + 8];
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", s->bundle);
    zh_error *err = zh_shim_rootfs_unmount(rootfs);
    if (err)
      fprintf(stderr, "shim delete: %s\n", zh_error_message(err));
    zh_error_free(err);
    unlink(s->socket_path); /* left by a server that was killed */
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = now.tv_sec;
  ts.nanos = (int32_t)now.tv_nsec;
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  resp.exit_status = 128 + SIGKILL;
  resp.exited_at = &ts;
  uint8_t buf[64];
  size_t n = containerd__task__v2__delete_response__pack(&resp, buf);
  return fwrite(buf, 1, n, stdout) == n ? 0 : 1;
}

int zh_shim_main(int argc, char **argv) {
  zh_shim s;
  memset(&s, 0, sizeof s);
  s.log_fd = -1;
  s.ns = "default";
  const char *bundle = "", *cmd = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *name = a[0] == '-' ? a + (a[1] == '-' ? 2 : 1) : NULL;
    if (!name) {
      if (cmd)
        return usage();
      cmd = a;
      continue;
    }
    if (!strcmp(name, "debug") || !strcmp(name, "v"))
      continue;
    if (i + 1 >= argc)
      return usage();
    const char *v = argv[++i];
    if (!strcmp(name, "namespace"))
      s.ns = v;
    else if (!strcmp(name, "address"))
      s.address = v;
    else if (!strcmp(name, "publish-binary"))
      s.publish_binary = v;
    else if (!strcmp(name, "id"))
      s.id = v;
    else if (!strcmp(name, "bundle"))
      bundle = v;
    /* other flags of newer containerds take a value and do not concern us */
  }
  if (!cmd || !s.id)
    return usage();
  if (!strcmp(cmd, "start"))
    return cmd_start(&s);
  if (!strcmp(cmd, "delete"))
    return cmd_delete(&s, bundle);
  return usage();
}
