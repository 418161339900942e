/* The reference point for choosing the HTTP server: libmicrohttpd (Debian) serving "hello" in
 * its thread-per-connection mode, the mode a blocking handler would need. Built only by
 * `make bench-http` when libmicrohttpd-dev is installed. Prints the bound port, then serves
 * until SIGTERM or SIGINT. */
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state) {
  (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
  static int first;
  if (*state == NULL) { /* MHD calls twice: headers first, then for the (empty) body */
    *state = &first;
    return MHD_YES;
  }
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(5, (void *)"hello", MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(resp, "Content-Type", "text/plain");
  enum MHD_Result r = MHD_queue_response(conn, 200, resp);
  MHD_destroy_response(resp);
  return r;
}

int main(void) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  struct MHD_Daemon *d =
      MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                       NULL, answer, NULL, MHD_OPTION_CONNECTION_LIMIT, 1024, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "http_mhd_hello: cannot start libmicrohttpd\n");
    return 1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  printf("%u\n", info ? info->port : 0);
  fflush(stdout);
  int sig;
  sigwait(&stop, &sig);
  MHD_stop_daemon(d);
  return 0;
}
