/* Guest: poll_oneoff clocks (relative and absolute) and stdin readiness, reading a pipe
 * on stdin, printf of floats, getenv, UTF-8 arguments, proc_raise, sched_yield. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

/* Not declared by every wasi-libc: imported directly. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise"))) int32_t
raw_proc_raise(int32_t sig);

static uint64_t now(void) {
  __wasi_timestamp_t t = 0;
  (void)!__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
  return t;
}

static int sleep_sub(uint64_t ns, int abs, __wasi_event_t *ev) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = 42;
  s.u.tag = __WASI_EVENTTYPE_CLOCK;
  s.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  s.u.u.clock.timeout = abs ? now() + ns : ns;
  s.u.u.clock.flags = abs ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
  __wasi_size_t n = 0;
  int r = __wasi_poll_oneoff(&s, ev, 1, &n);
  return r != 0 ? r : (int)n;
}

int main(int argc, char **argv) {
  __wasi_event_t ev;
  uint64_t t0 = now();
  int n = sleep_sub(50000000, 0, &ev);
  uint64_t dt = now() - t0;
  printf("sleep_rel=%d waited>=50ms=%d userdata=%llu type=%d err=%d\n", n, dt >= 50000000,
         (unsigned long long)ev.userdata, ev.type, ev.error);
  t0 = now();
  n = sleep_sub(20000000, 1, &ev);
  dt = now() - t0;
  printf("sleep_abs=%d waited>=20ms=%d\n", n, dt >= 20000000);
  t0 = now();
  nanosleep(&(struct timespec){0, 30000000}, NULL);
  printf("nanosleep>=30ms=%d\n", now() - t0 >= 30000000);

  /* stdin (a host pipe holding data) must poll readable before the clock fires */
  __wasi_subscription_t subs[2];
  memset(subs, 0, sizeof subs);
  subs[0].userdata = 1;
  subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
  subs[0].u.u.fd_read.file_descriptor = 0;
  subs[1].userdata = 2;
  subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[1].u.u.clock.timeout = 5000000000ull;
  __wasi_event_t evs[2];
  __wasi_size_t got = 0;
  int r = __wasi_poll_oneoff(subs, evs, 2, &got);
  printf("poll_stdin=%d events=%u userdata=%llu type=%d nbytes>0=%d\n", r, (unsigned)got,
         (unsigned long long)evs[0].userdata, evs[0].type, evs[0].fd_readwrite.nbytes > 0);
  __wasi_subscription_t badfd = subs[0];
  badfd.u.u.fd_read.file_descriptor = 99;
  r = __wasi_poll_oneoff(&badfd, evs, 1, &got);
  printf("poll_badfd=%d events=%u err=%d\n", r, (unsigned)got, evs[0].error);
  printf("poll_none=%d\n", __wasi_poll_oneoff(subs, evs, 0, &got));

  char buf[256];
  size_t len = fread(buf, 1, sizeof buf - 1, stdin);
  buf[len] = 0;
  printf("stdin=%zu [%s]\n", len, buf);

  printf("floats=%.3f %g %e %.1f\n", 3.14159, 0.5, 12345.678, -2.25);
  const char *home = getenv("HOME_DIR"), *missing = getenv("MISSING");
  printf("getenv=%s missing=%s\n", home ? home : "(null)", missing ? missing : "(null)");
  printf("argc=%d\n", argc);
  for (int i = 1; i < argc; i++)
    printf("argv[%d]=%s len=%zu\n", i, argv[i], strlen(argv[i]));
  printf("raise=%d\n", raw_proc_raise(15));
  printf("yield=%d\n", __wasi_sched_yield());
  return 0;
}
