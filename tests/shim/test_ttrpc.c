/* ttrpc framing and message decoding (src/shim/ttrpc.c), then the Task service behind a real
 * ttrpc server on a unix socket (src/shim/ttrpc_server.c, task.c): Connect, State and Stats
 * of a task that does not exist, an unknown method, an undecodable request, a frame over the size
 * limit (answered, and the connection stays in step) and Shutdown. */
#include "shim/shim.h"

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb-c.h"

#include "testlib.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static bool has(const zh_error *err, const char *text) {
  return err && strstr(zh_error_message(err), text) != NULL;
}

static void test_header(void) {
  zh_ttrpc_header h = {0x01020304u, 0xa0b0c0d1u, ZH_TTRPC_RESPONSE, 7}, back;
  uint8_t b[ZH_TTRPC_HEADER_LEN];
  zh_ttrpc_header_encode(&h, b);
  static const uint8_t want[] = {1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd1, 2, 7};
  CHECK(memcmp(b, want, sizeof want) == 0);
  zh_ttrpc_header_decode(b, &back);
  CHECK(back.length == h.length && back.stream_id == h.stream_id && back.type == 2 &&
        back.flags == 7);
}

static void test_request_roundtrip(void) {
  uint8_t *f = NULL;
  size_t n = 0;
  const uint8_t payload[] = {0x0a, 0x02, 'i', 'd'};
  zh_error *err = zh_ttrpc_request_frame(5, "containerd.task.v2.Task", "State", payload,
                                         sizeof payload, &f, &n);
  CHECK(err == NULL);
  zh_ttrpc_header h;
  zh_ttrpc_header_decode(f, &h);
  CHECK_EQ_INT(h.length, n - ZH_TTRPC_HEADER_LEN);
  CHECK_EQ_INT(h.stream_id, 5);
  CHECK_EQ_INT(h.type, ZH_TTRPC_REQUEST);
  zh_ttrpc_request req;
  err = zh_ttrpc_request_decode(f + ZH_TTRPC_HEADER_LEN, h.length, &req);
  CHECK(err == NULL);
  CHECK(strcmp(req.service, "containerd.task.v2.Task") == 0);
  CHECK(strcmp(req.method, "State") == 0);
  CHECK(req.payload_len == sizeof payload && memcmp(req.payload, payload, sizeof payload) == 0);
  free(f);
}

static void test_request_malformed(void) {
  zh_ttrpc_request req;
  /* field 1, length 10, but only 3 bytes follow */
  static const uint8_t past_end[] = {0x0a, 0x0a, 'a', 'b', 'c'};
  zh_error *err = zh_ttrpc_request_decode(past_end, sizeof past_end, &req);
  CHECK(has(err, "length runs past the end at byte 0"));
  zh_error_free(err);
  /* a varint that never ends */
  static const uint8_t endless[] = {0x0a, 0x01, 'a', 0x20, 0xff, 0xff, 0xff};
  err = zh_ttrpc_request_decode(endless, sizeof endless, &req);
  CHECK(has(err, "truncated varint at byte 4"));
  zh_error_free(err);
  /* a group (wire type 3) */
  static const uint8_t group[] = {0x0b};
  err = zh_ttrpc_request_decode(group, sizeof group, &req);
  CHECK(has(err, "unsupported wire type at byte 0"));
  zh_error_free(err);
  /* service but no method */
  static const uint8_t no_method[] = {0x0a, 0x01, 's'};
  err = zh_ttrpc_request_decode(no_method, sizeof no_method, &req);
  CHECK(has(err, "no method"));
  zh_error_free(err);
  /* a NUL inside the method name */
  static const uint8_t nul[] = {0x0a, 0x01, 's', 0x12, 0x02, 'a', 0};
  err = zh_ttrpc_request_decode(nul, sizeof nul, &req);
  CHECK(has(err, "NUL byte in a string at byte 3"));
  zh_error_free(err);
  /* unknown fields (a fixed64 and a varint) are skipped */
  static const uint8_t unknown[] = {0x0a, 0x01, 's', 0x31, 1,    2,    3,    4,  5,
                                    6,    7,    8,   0x38, 0x05, 0x12, 0x01, 'm'};
  err = zh_ttrpc_request_decode(unknown, sizeof unknown, &req);
  CHECK(err == NULL && strcmp(req.method, "m") == 0);
  zh_error_free(err);
}

static void test_response_roundtrip(void) {
  uint8_t *f = NULL;
  size_t n = 0;
  zh_error *err = zh_ttrpc_response_frame(9, ZH_TTRPC_NOT_FOUND, "no such task", NULL, 0, &f, &n);
  CHECK(err == NULL);
  zh_ttrpc_response r;
  err = zh_ttrpc_response_decode(f + ZH_TTRPC_HEADER_LEN, n - ZH_TTRPC_HEADER_LEN, &r);
  CHECK(err == NULL && r.code == ZH_TTRPC_NOT_FOUND && strcmp(r.message, "no such task") == 0);
  free(f);
  const uint8_t payload[] = {1, 2, 3};
  err = zh_ttrpc_response_frame(11, 0, NULL, payload, sizeof payload, &f, &n);
  CHECK(err == NULL);
  err = zh_ttrpc_response_decode(f + ZH_TTRPC_HEADER_LEN, n - ZH_TTRPC_HEADER_LEN, &r);
  CHECK(err == NULL && r.code == 0 && r.payload_len == 3 && r.payload[2] == 3);
  free(f);
}

/* ---- the Task service over a real socket ---- */

typedef struct served {
  zh_shim shim;
  int listen_fd;
} served;

static void *serve_thread(void *arg) {
  served *s = arg;
  zh_ttrpc_server_run(s->shim.server);
  return NULL;
}

/* Sends one request and reads the response on fd. */
static bool call(int fd, uint32_t stream, const char *method, const uint8_t *payload, size_t len,
                 zh_ttrpc_response *r, uint8_t **data) {
  uint8_t *f = NULL;
  size_t n = 0;
  zh_error *err =
      zh_ttrpc_request_frame(stream, "containerd.task.v2.Task", method, payload, len, &f, &n);
  if (!err)
    err = zh_ttrpc_write_all(fd, f, n);
  free(f);
  zh_ttrpc_header h;
  if (!err)
    err = zh_ttrpc_read_frame(fd, &h, data);
  if (!err && (h.stream_id != stream || h.type != ZH_TTRPC_RESPONSE))
    err = zh_error_new(ZH_ERR_MALFORMED, "unexpected frame");
  if (!err)
    err = zh_ttrpc_response_decode(*data, h.length, r);
  bool ok = err == NULL;
  if (err)
    fprintf(stderr, "call %s: %s\n", method, zh_error_message(err));
  zh_error_free(err);
  return ok;
}

static void test_service(void) {
  char dir[] = "/tmp/zh-ttrpc-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[108];
  snprintf(path, sizeof path, "%s/s.sock", dir);
  served sv;
  memset(&sv, 0, sizeof sv);
  sv.shim.id = "t1";
  sv.shim.log_fd = -1;
  pthread_mutex_init(&sv.shim.mu, NULL);
  pthread_cond_init(&sv.shim.cv, NULL);
  sv.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  CHECK(bind(sv.listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  CHECK(listen(sv.listen_fd, 4) == 0);
  zh_error *err =
      zh_ttrpc_server_new(sv.listen_fd, zh_shim_task_method, &sv.shim, NULL, &sv.shim.server);
  CHECK(err == NULL);
  pthread_t t;
  pthread_create(&t, NULL, serve_thread, &sv);

  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  zh_ttrpc_response r;
  uint8_t *data = NULL;

  /* Connect: the shim's pid, which is also the task's. */
  Containerd__Task__V2__ConnectRequest cr = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  cr.id = "t1";
  uint8_t buf[256];
  size_t n = containerd__task__v2__connect_request__pack(&cr, buf);
  CHECK(call(fd, 1, "Connect", buf, n, &r, &data));
  CHECK_EQ_INT(r.code, 0);
  Containerd__Task__V2__ConnectResponse *resp =
      containerd__task__v2__connect_response__unpack(NULL, r.payload_len, r.payload);
  CHECK(resp && resp->shim_pid == (uint32_t)getpid() &&
        strcmp(resp->version, ZH_SHIM_VERSION) == 0);
  if (resp)
    containerd__task__v2__connect_response__free_unpacked(resp, NULL);
  free(data);

  /* State before Create: NOT_FOUND, as containerd expects of a task that is not there. */
  Containerd__Task__V2__StateRequest sr = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  sr.id = "t1";
  n = containerd__task__v2__state_request__pack(&sr, buf);
  CHECK(call(fd, 3, "State", buf, n, &r, &data));
  CHECK_EQ_INT(r.code, ZH_TTRPC_NOT_FOUND);
  CHECK(strstr(r.message, "no such task") != NULL);
  free(data);

  /* Stats before Create: NOT_FOUND too, not figures of a task that is not there. */
  Containerd__Task__V2__StatsRequest str = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
  str.id = "t1";
  n = containerd__task__v2__stats_request__pack(&str, buf);
  CHECK(call(fd, 15, "Stats", buf, n, &r, &data));
  CHECK_EQ_INT(r.code, ZH_TTRPC_NOT_FOUND);
  free(data);

  /* Pause is not ours to do. */
  CHECK(call(fd, 5, "Pause", buf, n, &r, &data));
  CHECK_EQ_INT(r.code, ZH_TTRPC_UNIMPLEMENTED);
  free(data);

  /* A Create whose payload is not a CreateTaskRequest. */
  static const uint8_t junk[] = {0x0a, 0x7f};
  CHECK(call(fd, 7, "Create", junk, sizeof junk, &r, &data));
  CHECK_EQ_INT(r.code, ZH_TTRPC_INVALID_ARGUMENT);
  free(data);

  /* A frame over 4 MiB: answered RESOURCE_EXHAUSTED, and the next request still works. */
  size_t big = ZH_TTRPC_MAX_DATA + 1;
  uint8_t *frame = calloc(1, ZH_TTRPC_HEADER_LEN + big);
  zh_ttrpc_header h = {(uint32_t)big, 9, ZH_TTRPC_REQUEST, 0};
  zh_ttrpc_header_encode(&h, frame);
  err = zh_ttrpc_write_all(fd, frame, ZH_TTRPC_HEADER_LEN + big);
  CHECK(err == NULL);
  free(frame);
  zh_ttrpc_header rh;
  err = zh_ttrpc_read_frame(fd, &rh, &data);
  CHECK(err == NULL && rh.stream_id == 9);
  if (!err) {
    err = zh_ttrpc_response_decode(data, rh.length, &r);
    CHECK(err == NULL && r.code == ZH_TTRPC_RESOURCE_EXHAUSTED);
  }
  zh_error_free(err);
  free(data);
  CHECK(call(fd, 11, "Connect", buf, 0, &r, &data));
  CHECK_EQ_INT(r.code, 0);
  free(data);

  /* Shutdown with no task: answered, then the server stops accepting. */
  CHECK(call(fd, 13, "Shutdown", NULL, 0, &r, &data));
  CHECK_EQ_INT(r.code, 0);
  free(data);
  pthread_join(t, NULL);
  close(fd);
  close(sv.listen_fd);
  zh_ttrpc_server_free(sv.shim.server);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  test_header();
  test_request_roundtrip();
  test_request_malformed();
  test_response_roundtrip();
  test_service();
  TEST_SUMMARY();
}
