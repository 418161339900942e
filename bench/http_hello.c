/* `make bench-http`: zerohop's HTTP server answering every request with "hello", the body
 * nginx serves in the same run. Prints the bound port on stdout, then serves until SIGTERM or
 * SIGINT. Usage: http_hello [ADDR] (default 127.0.0.1:0). */
#include "zerohop/http_server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void hello(zh_http_request *req, void *env) {
  (void)env;
  static const zh_http_header headers[] = {{"Content-Type", 12, "text/plain", 10}};
  zh_error *err = zh_http_response_start(req, 200, headers, 1);
  if (!err)
    err = zh_http_response_write(req, "hello", 5);
  if (!err)
    err = zh_http_response_finish(req, NULL, 0);
  zh_error_free(err);
}

int main(int argc, char **argv) {
  /* Blocked before any thread starts, so only sigwait below sees them. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  zh_http_config cfg = {.addr = argc > 1 ? argv[1] : "127.0.0.1:0", .handler = hello};
  zh_http_server *server;
  zh_error *err = zh_http_server_start(&cfg, &server);
  if (err) {
    fprintf(stderr, "http_hello: %s\n", zh_error_message(err));
    zh_error_free(err);
    return 1;
  }
  printf("%u\n", zh_http_server_port(server));
  fflush(stdout);
  int sig;
  sigwait(&stop, &sig);
  zh_http_server_free(server);
  return 0;
}
