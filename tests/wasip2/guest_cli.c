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

/* Three timers at once: 600 ms, 5 ms, 10 s. The first poll must wake for the 5 ms one only;
 * then the 600 ms one. Reports the indices and whether the times are plausible (wide
 * margins: the machine is shared). */
static int32_t poll_timers(void) {
  uint64_t t0 = cli_monotonic_clock_now();
  cli_poll_own_pollable_t p[3] = {cli_monotonic_clock_subscribe_duration(600000000),
                                  cli_monotonic_clock_subscribe_duration(5000000),
                                  cli_monotonic_clock_subscribe_duration(10000000000ull)};
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
  put((t1 - t0) >= 5000000 && (t1 - t0) < 500000000 ? "yes" : "no");
  put(" second_ms_ok=");
  put((t2 - t0) >= 600000000 && (t2 - t0) < 5000000000ull ? "yes" : "no");
  put("\n");
  for (int i = 0; i < 3; i++)
    cli_poll_pollable_drop_own(p[i]);
  return 0;
}

/* poll on no pollables at all would never return: the host traps instead. */
static int32_t poll_empty(void) {
  cli_list_borrow_poll_pollable_t none = {NULL, 0};
  cli_list_u32_t ready;
  cli_poll_poll(&none, &ready);
  return 0;
}

/* skip and blocking-skip consume without returning bytes. */
static int32_t skip(void) {
  cli_streams_own_input_stream_t in = cli_stdin_get_stdin();
  cli_streams_borrow_input_stream_t b = cli_streams_borrow_input_stream(in);
  cli_result_u64_streams_stream_error_t r;
  cli_streams_method_input_stream_skip(b, 3, &r);
  put("skip=");
  put_u64(r.is_err ? 99 : r.val.ok);
  cli_streams_method_input_stream_blocking_skip(b, 100, &r);
  put(" blocking_skip=");
  put_u64(r.is_err ? 99 : r.val.ok);
  cli_streams_method_input_stream_skip(b, 1, &r);
  put(" then=");
  put(r.is_err && r.val.err.tag == CLI_STREAMS_STREAM_ERROR_CLOSED ? "closed" : "?");
  put("\n");
  cli_streams_input_stream_drop_own(in);
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

/* ---- filesystem ---- */

typedef cli_types_borrow_descriptor_t desc_t;
static cli_list_tuple2_own_types_descriptor_string_t preopens;

static desc_t preopen(const char *name) {
  for (size_t i = 0; i < preopens.len; i++)
    if (eq(&preopens.ptr[i].f1, name))
      return cli_types_borrow_descriptor(preopens.ptr[i].f0);
  return (desc_t){-1};
}

static void code(const char *what, bool is_err, uint8_t err) {
  put(what);
  put("=");
  if (is_err)
    put_u64(err);
  else
    put("ok");
  put("\n");
}

/* open-at; reports and drops the descriptor */
static void try_open(const char *what, desc_t d, bool follow, const char *path, uint8_t oflags,
                     uint8_t dflags) {
  cli_string_t p = str(path);
  cli_result_own_types_descriptor_types_error_code_t r;
  cli_types_method_descriptor_open_at(d, follow ? CLI_TYPES_PATH_FLAGS_SYMLINK_FOLLOW : 0, &p,
                                      oflags, dflags, &r);
  code(what, r.is_err, r.is_err ? r.val.err : 0);
  if (!r.is_err)
    cli_types_descriptor_drop_own(r.val.ok);
}

static cli_types_own_descriptor_t open_ok(desc_t d, const char *path, uint8_t oflags,
                                          uint8_t dflags) {
  cli_string_t p = str(path);
  cli_result_own_types_descriptor_types_error_code_t r;
  cli_types_method_descriptor_open_at(d, 0, &p, oflags, dflags, &r);
  return r.is_err ? (cli_types_own_descriptor_t){-1} : r.val.ok;
}

static void sort_names(cli_string_t *v, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0; j--) {
      size_t a = v[j - 1].len < v[j].len ? v[j - 1].len : v[j].len;
      int c = memcmp(v[j - 1].ptr, v[j].ptr, a);
      if (c < 0 || (c == 0 && v[j - 1].len <= v[j].len))
        break;
      cli_string_t t = v[j - 1];
      v[j - 1] = v[j];
      v[j] = t;
    }
}

static int32_t fs(void) {
  cli_preopens_get_directories(&preopens);
  put("preopens=");
  for (size_t i = 0; i < preopens.len; i++) {
    put_bytes(preopens.ptr[i].f1.ptr, preopens.ptr[i].f1.len);
    put(",");
  }
  put("\n");
  desc_t sb = preopen("/sandbox");
  /* create and write through a stream, then read back three ways */
  cli_types_own_descriptor_t f =
      open_ok(sb, "new.txt", CLI_TYPES_OPEN_FLAGS_CREATE,
              CLI_TYPES_DESCRIPTOR_FLAGS_READ | CLI_TYPES_DESCRIPTOR_FLAGS_WRITE);
  if (f.__handle < 0)
    return 1;
  desc_t fb = cli_types_borrow_descriptor(f);
  cli_result_own_streams_output_stream_types_error_code_t ws;
  cli_types_method_descriptor_write_via_stream(fb, 0, &ws);
  cli_streams_own_output_stream_t saved = out;
  out = ws.val.ok;
  put("hello fs");
  cli_streams_output_stream_drop_own(out);
  out = saved;
  cli_result_types_descriptor_stat_types_error_code_t st;
  cli_types_method_descriptor_stat(fb, &st);
  put("size=");
  put_u64(st.val.ok.size);
  put(" type=");
  put_u64(st.val.ok.type);
  put(" mtime=");
  put(st.val.ok.data_modification_timestamp.is_some ? "some" : "none");
  cli_result_tuple2_list_u8_bool_types_error_code_t rd;
  cli_types_method_descriptor_read(fb, 100, 6, &rd);
  put(" read@6=");
  put_bytes(rd.val.ok.f0.ptr, rd.val.ok.f0.len);
  put(rd.val.ok.f1 ? " eof" : " more");
  cli_result_tuple2_list_u8_bool_types_error_code_free(&rd);
  cli_list_u8_t more = {(uint8_t *)"!!", 2};
  cli_result_types_filesize_types_error_code_t wr;
  cli_types_method_descriptor_write(fb, &more, 8, &wr);
  cli_result_own_streams_input_stream_types_error_code_t rs;
  cli_types_method_descriptor_read_via_stream(fb, 0, &rs);
  cli_result_list_u8_streams_stream_error_t bytes;
  cli_streams_method_input_stream_blocking_read(cli_streams_borrow_input_stream(rs.val.ok), 100,
                                                &bytes);
  put(" stream=");
  put_bytes(bytes.val.ok.ptr, bytes.val.ok.len);
  put("\n");
  cli_result_list_u8_streams_stream_error_free(&bytes);
  cli_streams_input_stream_drop_own(rs.val.ok);
  cli_types_descriptor_drop_own(f);
  /* directories */
  cli_string_t d = str("d");
  cli_result_void_types_error_code_t v;
  cli_types_method_descriptor_create_directory_at(sb, &d, &v);
  code("mkdir", v.is_err, v.val.err);
  cli_types_method_descriptor_create_directory_at(sb, &d, &v);
  code("mkdir_again", v.is_err, v.val.err);
  cli_string_t from = str("new.txt"), to = str("d/moved.txt");
  cli_types_method_descriptor_rename_at(sb, &from, sb, &to, &v);
  code("rename", v.is_err, v.val.err);
  cli_result_types_descriptor_stat_types_error_code_t sa;
  cli_types_method_descriptor_stat_at(sb, 0, &to, &sa);
  put("stat_at_size=");
  put_u64(sa.is_err ? 999 : sa.val.ok.size);
  put("\n");
  try_open("missing", sb, false, "nope", 0, CLI_TYPES_DESCRIPTOR_FLAGS_READ);
  /* readdir, sorted */
  cli_result_own_types_directory_entry_stream_types_error_code_t ds;
  cli_types_method_descriptor_read_directory(sb, &ds);
  cli_string_t names[32];
  uint8_t types[32];
  size_t n = 0;
  for (;;) {
    cli_result_option_types_directory_entry_types_error_code_t e;
    cli_types_method_directory_entry_stream_read_directory_entry(
        cli_types_borrow_directory_entry_stream(ds.val.ok), &e);
    if (e.is_err || !e.val.ok.is_some || n == 32)
      break;
    names[n] = e.val.ok.val.name;
    types[n++] = e.val.ok.val.type;
  }
  cli_types_directory_entry_stream_drop_own(ds.val.ok);
  sort_names(names, n);
  put("readdir=");
  for (size_t i = 0; i < n; i++) {
    put_bytes(names[i].ptr, names[i].len);
    put(",");
    cli_string_free(&names[i]);
  }
  (void)types;
  put("\n");
  cli_types_method_descriptor_unlink_file_at(sb, &to, &v);
  code("unlink", v.is_err, v.val.err);
  cli_types_method_descriptor_remove_directory_at(sb, &d, &v);
  code("rmdir", v.is_err, v.val.err);
  cli_list_tuple2_own_types_descriptor_string_free(&preopens);
  return 0;
}

/* The escape attempts of tests/guests/wasi_fs_escape.c, through WASI 0.2. */
static int32_t fs_escape(void) {
  cli_preopens_get_directories(&preopens);
  desc_t sb = preopen("/sandbox"), other = preopen("/other"), ro = preopen("/ro");
  uint8_t C = CLI_TYPES_OPEN_FLAGS_CREATE, R = CLI_TYPES_DESCRIPTOR_FLAGS_READ,
          W = CLI_TYPES_DESCRIPTOR_FLAGS_WRITE;
  try_open("dotdot_create", sb, false, "../x", C, R | W);
  try_open("nested_dotdot", sb, false, "a/../../x", C, R | W);
  try_open("dotdot_sentinel", sb, false, "../sentinel", 0, R);
  try_open("absolute", sb, true, "/etc/passwd", 0, R);
  try_open("proc_self_cwd", sb, true, "/proc/self/cwd/sentinel", 0, R);
  cli_string_t p = str("..");
  cli_result_types_descriptor_stat_types_error_code_t st;
  cli_types_method_descriptor_stat_at(sb, 0, &p, &st);
  code("stat_dotdot", st.is_err, st.val.err);
  cli_result_void_types_error_code_t v;
  p = str("../d");
  cli_types_method_descriptor_create_directory_at(sb, &p, &v);
  code("mkdir_dotdot", v.is_err, v.val.err);
  p = str("../sentinel");
  cli_types_method_descriptor_unlink_file_at(sb, &p, &v);
  code("unlink_dotdot", v.is_err, v.val.err);
  try_open("abs_symlink", sb, true, "abs", 0, R);
  try_open("abs_symlink_dir", sb, false, "abs/x", 0, R);
  try_open("chain_out", sb, true, "chain1", 0, R);
  try_open("chain_out_create", sb, true, "chain1", C, R | W);
  try_open("loop", sb, true, "loop", 0, R);
  cli_string_t t = str("/etc"), l = str("newlink");
  cli_types_method_descriptor_symlink_at(sb, &t, &l, &v);
  code("make_abs_symlink", v.is_err, v.val.err);
  t = str("../..");
  l = str("uplink");
  cli_types_method_descriptor_symlink_at(sb, &t, &l, &v);
  code("make_up_symlink", v.is_err, v.val.err);
  try_open("follow_up_symlink", sb, true, "uplink/sentinel", 0, R);
  cli_string_t f = str("f"), up = str("../f"), st2 = str("stolen"), sen = str("../sentinel");
  cli_types_method_descriptor_rename_at(sb, &f, sb, &up, &v);
  code("rename_out", v.is_err, v.val.err);
  cli_types_method_descriptor_rename_at(sb, &sen, sb, &st2, &v);
  code("rename_in", v.is_err, v.val.err);
  cli_types_method_descriptor_rename_at(sb, &f, other, &f, &v);
  code("rename_across", v.is_err, v.val.err);
  cli_string_t lnk = str("../lnk");
  cli_types_method_descriptor_link_at(sb, 0, &f, sb, &lnk, &v);
  code("link_out", v.is_err, v.val.err);
  try_open("inside_dotdot", sb, false, "a/../f", 0, R);
  try_open("inside_link", sb, true, "inner/../f", 0, R);
  cli_types_own_descriptor_t a = open_ok(sb, "a", CLI_TYPES_OPEN_FLAGS_DIRECTORY, R);
  try_open("a_dotdot", cli_types_borrow_descriptor(a), false, "../f", 0, R);
  cli_types_descriptor_drop_own(a);
  try_open("ro_create", ro, false, "new", C, R | W);
  try_open("ro_write", ro, false, "file", 0, R | W);
  cli_types_own_descriptor_t rf = open_ok(ro, "file", 0, R);
  cli_result_own_streams_output_stream_types_error_code_t ws;
  cli_types_method_descriptor_write_via_stream(cli_types_borrow_descriptor(rf), 0, &ws);
  code("ro_write_stream", ws.is_err, ws.val.err);
  cli_types_descriptor_drop_own(rf);
  p = str("d");
  cli_types_method_descriptor_create_directory_at(ro, &p, &v);
  code("ro_mkdir", v.is_err, v.val.err);
  p = str("file");
  cli_types_method_descriptor_unlink_file_at(ro, &p, &v);
  code("ro_unlink", v.is_err, v.val.err);
  cli_list_tuple2_own_types_descriptor_string_free(&preopens);
  return 0;
}

/* "tcp PORT": a TCP client to 127.0.0.1:PORT that sends a line and prints what comes back. */
static int32_t tcp(const cli_string_t *which) {
  unsigned port = 0;
  for (size_t i = 4; i < which->len; i++)
    port = port * 10 + (unsigned)(which->ptr[i] - '0');
  cli_network_own_network_t net = cli_instance_network_instance_network();
  cli_result_own_tcp_tcp_socket_network_error_code_t t;
  cli_tcp_create_socket_create_tcp_socket(CLI_NETWORK_IP_ADDRESS_FAMILY_IPV4, &t);
  if (t.is_err) {
    put("create=");
    put_u64(t.val.err);
    put("\n");
    cli_network_network_drop_own(net);
    return 0;
  }
  cli_tcp_borrow_tcp_socket_t s = cli_tcp_borrow_tcp_socket(t.val.ok);
  cli_network_ip_socket_address_t addr = {.tag = CLI_NETWORK_IP_SOCKET_ADDRESS_IPV4};
  addr.val.ipv4.port = (uint16_t)port;
  addr.val.ipv4.address = (cli_network_ipv4_address_t){127, 0, 0, 1};
  cli_result_void_network_error_code_t c;
  cli_tcp_method_tcp_socket_start_connect(s, cli_network_borrow_network(net), &addr, &c);
  if (c.is_err) {
    put("connect=");
    put_u64(c.val.err);
  } else {
    cli_poll_own_pollable_t p = cli_tcp_method_tcp_socket_subscribe(s);
    cli_poll_method_pollable_block(cli_poll_borrow_pollable(p));
    cli_poll_pollable_drop_own(p);
    cli_result_tuple2_own_streams_input_stream_own_streams_output_stream_network_error_code_t f;
    cli_tcp_method_tcp_socket_finish_connect(s, &f);
    if (f.is_err) {
      put("finish=");
      put_u64(f.val.err);
    } else {
      cli_result_network_ip_socket_address_network_error_code_t ra;
      cli_tcp_method_tcp_socket_remote_address(s, &ra);
      put("connect=ok remote_port_ok=");
      put(!ra.is_err && ra.val.ok.val.ipv4.port == port ? "yes" : "no");
      cli_streams_own_output_stream_t saved = out;
      out = f.val.ok.f1;
      put("hello\n");
      out = saved;
      put(" echo=");
      for (;;) {
        cli_result_list_u8_streams_stream_error_t r;
        cli_streams_method_input_stream_blocking_read(cli_streams_borrow_input_stream(f.val.ok.f0),
                                                      64, &r);
        if (r.is_err)
          break;
        put_bytes(r.val.ok.ptr, r.val.ok.len);
        cli_result_list_u8_streams_stream_error_free(&r);
      }
      cli_streams_input_stream_drop_own(f.val.ok.f0);
      cli_streams_output_stream_drop_own(f.val.ok.f1);
    }
  }
  put("\n");
  cli_tcp_tcp_socket_drop_own(t.val.ok);
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
  else if (eq(which, "poll-empty"))
    rc = poll_empty();
  else if (eq(which, "skip"))
    rc = skip();
  else if (eq(which, "poll-forever"))
    rc = poll_forever();
  else if (eq(which, "clocks"))
    rc = clocks();
  else if (eq(which, "random"))
    rc = randoms();
  else if (eq(which, "sockets"))
    rc = sockets();
  else if (which->len > 4 && memcmp(which->ptr, "tcp ", 4) == 0)
    rc = tcp(which);
  else if (eq(which, "fs"))
    rc = fs();
  else if (eq(which, "fs-escape"))
    rc = fs_escape();
  cli_streams_output_stream_drop_own(out);
  cli_string_free(which);
  return rc;
}
