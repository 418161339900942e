/* A guest of world zh:wp2test/cli (tests/wasip2/wit): `run(which)` exercises one part of the
 * WASI 0.2 host through the bindings `zerohop bindgen c` generates, and reports what it saw on
 * stdout as text the test compares. No libc I/O: every byte goes through wasi:cli/stdout. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static cli_streams_own_output_stream_t out;

static cli_string_t str(const char *s) { return (cli_string_t){(uint8_t *)s, strlen(s)}; }

static void put_bytes(const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    size_t k = n < 4096 ? n : 4096;
    cli_list_u8_t l = {(uint8_t *)b, k};
    cli_result_void_streams_stream_error_t r;
    cli_streams_method_output_stream_blocking_write_and_flush(cli_streams_borrow_output_stream(out),
                                                              &l, &r);
    b += k;
    n -= k;
  }
}

static void put(const char *s) { put_bytes(s, strlen(s)); }

static void put_u64(uint64_t v) {
  char buf[24];
  int i = 23;
  buf[i] = 0;
  do
    buf[--i] = (char)('0' + v % 10);
  while (v /= 10);
  put(buf + i);
}

static bool eq(const cli_string_t *s, const char *lit) {
  return s->len == strlen(lit) && memcmp(s->ptr, lit, s->len) == 0;
}

static int32_t args_env(void) {
  cli_list_string_t args;
  cli_environment_get_arguments(&args);
  for (size_t i = 0; i < args.len; i++) {
    put_bytes(args.ptr[i].ptr, args.ptr[i].len);
    put("|");
  }
  cli_list_string_free(&args);
  put("\n");
  cli_list_tuple2_string_string_t env;
  cli_environment_get_environment(&env);
  for (size_t i = 0; i < env.len; i++) {
    put_bytes(env.ptr[i].f0.ptr, env.ptr[i].f0.len);
    put("=");
    put_bytes(env.ptr[i].f1.ptr, env.ptr[i].f1.len);
    put("|");
  }
  cli_list_tuple2_string_string_free(&env);
  put("\n");
  cli_option_string_t cwd;
  cli_environment_initial_cwd(&cwd);
  if (cwd.is_some) {
    put_bytes(cwd.val.ptr, cwd.val.len);
    cli_option_string_free(&cwd);
  } else {
    put("(none)");
  }
  put("\n");
  return 0;
}

static int32_t stderr_bytes(void) {
  cli_streams_own_output_stream_t err = cli_stderr_get_stderr();
  cli_list_u8_t l = {(uint8_t *)"to stderr\n", 10};
  cli_result_void_streams_stream_error_t r;
  cli_streams_method_output_stream_blocking_write_and_flush(cli_streams_borrow_output_stream(err),
                                                            &l, &r);
  cli_streams_output_stream_drop_own(err);
  return r.is_err ? 1 : 0;
}

/* Echoes stdin to stdout with blocking reads; returns the byte count. Then the stream must
 * answer `closed` (tag 1). */
static int32_t stdin_echo(void) {
  cli_streams_own_input_stream_t in = cli_stdin_get_stdin();
  int32_t total = 0;
  for (;;) {
    cli_result_list_u8_streams_stream_error_t r;
    cli_streams_method_input_stream_blocking_read(cli_streams_borrow_input_stream(in), 7, &r);
    if (r.is_err) {
      if (r.val.err.tag != CLI_STREAMS_STREAM_ERROR_CLOSED)
        total = -1;
      break;
    }
    put_bytes(r.val.ok.ptr, r.val.ok.len);
    total += (int32_t)r.val.ok.len;
    cli_result_list_u8_streams_stream_error_free(&r);
  }
  cli_result_list_u8_streams_stream_error_t again;
  cli_streams_method_input_stream_read(cli_streams_borrow_input_stream(in), 1, &again);
  if (!again.is_err || again.val.err.tag != CLI_STREAMS_STREAM_ERROR_CLOSED)
    total = -2;
  cli_streams_input_stream_drop_own(in);
  return total;
}

/* check-write budget, write within it, flush, write-zeroes, splice from stdin. */
static int32_t streams(void) {
  cli_streams_borrow_output_stream_t o = cli_streams_borrow_output_stream(out);
  cli_result_u64_streams_stream_error_t cw;
  cli_streams_method_output_stream_check_write(o, &cw);
  if (cw.is_err || cw.val.ok < 5)
    return 1;
  put("budget=");
  put_u64(cw.val.ok);
  put("\n");
  cli_streams_method_output_stream_check_write(o, &cw);
  cli_list_u8_t l = {(uint8_t *)"hello", 5};
  cli_result_void_streams_stream_error_t r;
  cli_streams_method_output_stream_write(o, &l, &r);
  if (r.is_err)
    return 2;
  cli_streams_method_output_stream_flush(o, &r);
  if (r.is_err)
    return 3;
  cli_streams_method_output_stream_check_write(o, &cw);
  cli_streams_method_output_stream_write_zeroes(o, 2, &r);
  if (r.is_err)
    return 4;
  cli_streams_method_output_stream_blocking_flush(o, &r);
  cli_poll_own_pollable_t p = cli_streams_method_output_stream_subscribe(o);
  if (!cli_poll_method_pollable_ready(cli_poll_borrow_pollable(p)))
    return 5;
  cli_poll_pollable_drop_own(p);
  cli_streams_own_input_stream_t in = cli_stdin_get_stdin();
  uint64_t spliced = 0;
  for (;;) {
    cli_result_u64_streams_stream_error_t s;
    cli_streams_method_output_stream_blocking_splice(o, cli_streams_borrow_input_stream(in), 3, &s);
    if (s.is_err) {
      if (s.val.err.tag != CLI_STREAMS_STREAM_ERROR_CLOSED)
        return 6;
      break;
    }
    spliced += s.val.ok;
  }
  cli_streams_input_stream_drop_own(in);
  put("\nspliced=");
  put_u64(spliced);
  put("\n");
  return 0;
}

/* A write past what check-write allowed: the host traps the guest. */
static int32_t overwrite(void) {
  cli_streams_borrow_output_stream_t o = cli_streams_borrow_output_stream(out);
  cli_result_u64_streams_stream_error_t cw;
  cli_streams_method_output_stream_check_write(o, &cw);
  size_t n = (size_t)cw.val.ok + 1;
  uint8_t *buf = calloc(1, n);
  cli_list_u8_t l = {buf, n};
  cli_result_void_streams_stream_error_t r;
  cli_streams_method_output_stream_write(o, &l, &r);
  free(buf);
  return 0;
}

static int32_t big_blocking_write(void) {
  static uint8_t buf[5000];
  cli_list_u8_t l = {buf, sizeof buf};
  cli_result_void_streams_stream_error_t r;
  cli_streams_method_output_stream_blocking_write_and_flush(cli_streams_borrow_output_stream(out),
                                                            &l, &r);
  return 0;
}

/* Three timers at once: 200 ms, 5 ms, 2 s. The first poll must wake for the 5 ms one only;
 * then the 200 ms one. Reports the indices and the elapsed milliseconds. */
static int32_t poll_timers(void) {
  uint64_t t0 = cli_monotonic_clock_now();
  cli_poll_own_pollable_t p[3] = {cli_monotonic_clock_subscribe_duration(200000000),
                                  cli_monotonic_clock_subscribe_duration(5000000),
                                  cli_monotonic_clock_subscribe_duration(2000000000)};
  cli_poll_borrow_pollable_t b[3];
  for (int i = 0; i < 3; i++)
    b[i] = cli_poll_borrow_pollable(p[i]);
  cli_list_borrow_poll_pollable_t list = {b, 3};
  cli_list_u32_t ready;
  cli_poll_poll(&list, &ready);
  put("first=");
  for (size_t i = 0; i < ready.len; i++)
    put_u64(ready.ptr[i]);
  cli_list_u32_free(&ready);
  uint64_t t1 = cli_monotonic_clock_now();
  cli_list_borrow_poll_pollable_t two = {b, 1};
  cli_poll_poll(&two, &ready);
  uint64_t t2 = cli_monotonic_clock_now();
  put(" second=");
  for (size_t i = 0; i < ready.len; i++)
    put_u64(ready.ptr[i]);
  cli_list_u32_free(&ready);
  put(" ready2=");
  put(cli_poll_method_pollable_ready(b[2]) ? "yes" : "no");
  put(" first_ms_ok=");
  put((t1 - t0) >= 5000000 && (t1 - t0) < 150000000 ? "yes" : "no");
  put(" second_ms_ok=");
  put((t2 - t0) >= 200000000 && (t2 - t0) < 1500000000 ? "yes" : "no");
  put("\n");
  for (int i = 0; i < 3; i++)
    cli_poll_pollable_drop_own(p[i]);
  return 0;
}

/* A poll on a timer an hour away: only the store's deadline can end it. */
static int32_t poll_forever(void) {
  cli_poll_own_pollable_t p = cli_monotonic_clock_subscribe_duration(3600ull * 1000000000ull);
  cli_poll_method_pollable_block(cli_poll_borrow_pollable(p));
  return 0;
}

static int32_t clocks(void) {
  uint64_t a = cli_monotonic_clock_now(), b = cli_monotonic_clock_now();
  cli_wall_clock_datetime_t w, res;
  cli_wall_clock_now(&w);
  cli_wall_clock_resolution(&res);
  put("mono_ok=");
  put(b >= a && cli_monotonic_clock_resolution() > 0 ? "yes" : "no");
  put(" wall_s=");
  put_u64(w.seconds);
  put(" wall_ns_ok=");
  put(w.nanoseconds < 1000000000u && (res.seconds || res.nanoseconds) ? "yes" : "no");
  uint64_t t = cli_monotonic_clock_now();
  cli_poll_own_pollable_t p = cli_monotonic_clock_subscribe_instant(t + 20000000);
  cli_poll_method_pollable_block(cli_poll_borrow_pollable(p));
  cli_poll_pollable_drop_own(p);
  put(" instant_ok=");
  put(cli_monotonic_clock_now() >= t + 20000000 ? "yes" : "no");
  put("\n");
  return 0;
}

static int32_t randoms(void) {
  cli_list_u8_t r1, r2;
  cli_random_get_random_bytes(32, &r1);
  cli_insecure_get_insecure_random_bytes(16, &r2);
  int nonzero = 0;
  for (size_t i = 0; i < r1.len; i++)
    nonzero += r1.ptr[i] != 0;
  cli_tuple2_u64_u64_t s1, s2;
  cli_insecure_seed_insecure_seed(&s1);
  cli_insecure_seed_insecure_seed(&s2);
  put("len=");
  put_u64(r1.len);
  put(" ilen=");
  put_u64(r2.len);
  put(" nonzero_ok=");
  put(nonzero > 16 ? "yes" : "no");
  put(" u64_differ=");
  put(cli_random_get_random_u64() != cli_random_get_random_u64() ? "yes" : "no");
  put(" seed_same=");
  put(s1.f0 == s2.f0 && s1.f1 == s2.f1 ? "yes" : "no");
  put("\n");
  cli_list_u8_free(&r1);
  cli_list_u8_free(&r2);
  return 0;
}

/* Sockets: create-tcp-socket, create-udp-socket and a name lookup of "localhost". */
static int32_t sockets(void) {
  cli_network_own_network_t net = cli_instance_network_instance_network();
  cli_result_own_tcp_tcp_socket_network_error_code_t t;
  cli_tcp_create_socket_create_tcp_socket(CLI_NETWORK_IP_ADDRESS_FAMILY_IPV4, &t);
  put("tcp=");
  put_u64(t.is_err ? t.val.err : 99);
  cli_result_own_udp_udp_socket_network_error_code_t u;
  cli_udp_create_socket_create_udp_socket(CLI_NETWORK_IP_ADDRESS_FAMILY_IPV4, &u);
  put(" udp=");
  put_u64(u.is_err ? u.val.err : 99);
  cli_string_t host = str("localhost");
  cli_result_own_ip_name_lookup_resolve_address_stream_network_error_code_t r;
  cli_ip_name_lookup_resolve_addresses(cli_network_borrow_network(net), &host, &r);
  put(" lookup=");
  if (r.is_err) {
    put_u64(r.val.err);
  } else {
    cli_result_option_network_ip_address_network_error_code_t a;
    cli_ip_name_lookup_method_resolve_address_stream_resolve_next_address(
        cli_ip_name_lookup_borrow_resolve_address_stream(r.val.ok), &a);
    if (!a.is_err && a.val.ok.is_some && a.val.ok.val.tag == CLI_NETWORK_IP_ADDRESS_IPV4) {
      cli_network_ipv4_address_t *v4 = &a.val.ok.val.val.ipv4;
      put_u64(v4->f0);
      put(".");
      put_u64(v4->f3);
    } else if (!a.is_err && a.val.ok.is_some) {
      put("v6");
    } else {
      put("none");
    }
    cli_ip_name_lookup_resolve_address_stream_drop_own(r.val.ok);
  }
  put("\n");
  cli_network_network_drop_own(net);
  return 0;
}

int32_t cli_run(cli_string_t *which) {
  out = cli_stdout_get_stdout();
  int32_t rc = -100;
  if (eq(which, "args"))
    rc = args_env();
  else if (eq(which, "stderr"))
    rc = stderr_bytes();
  else if (eq(which, "stdin"))
    rc = stdin_echo();
  else if (eq(which, "exit"))
    cli_exit_exit_with_code(42);
  else if (eq(which, "exit-err")) {
    cli_result_void_void_t st = {true};
    cli_exit_exit(&st);
  } else if (eq(which, "streams"))
    rc = streams();
  else if (eq(which, "overwrite"))
    rc = overwrite();
  else if (eq(which, "big-blocking-write"))
    rc = big_blocking_write();
  else if (eq(which, "poll"))
    rc = poll_timers();
  else if (eq(which, "poll-forever"))
    rc = poll_forever();
  else if (eq(which, "clocks"))
    rc = clocks();
  else if (eq(which, "random"))
    rc = randoms();
  else if (eq(which, "sockets"))
    rc = sockets();
  cli_streams_output_stream_drop_own(out);
  cli_string_free(which);
  return rc;
}
