/* libFuzzer target: the shim's ttrpc framing and message decoding (src/shim/ttrpc.c) and the
 * Task service's request decoding (src/shim/task.c).
 *
 * One input is what a client could write on the shim's socket: a byte stream of frames. It is
 * put in a pipe and read back frame by frame with zh_ttrpc_read_frame, as the server does,
 * until the stream ends or breaks. Each request frame is decoded; a decoded request must
 * survive a round trip (encode it again, decode it again: same service, method and payload),
 * and is then answered by the Task service itself, for every method that has no effect outside
 * the process (Create mounts and opens FIFOs, Shutdown stops a server: their payloads go
 * through the protobuf-c decoder only). Each frame's data is also decoded as a response. */
#include "shim/shim.h"

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb-c.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_request(const uint8_t *data, size_t len, zh_shim *shim) {
  zh_ttrpc_request req;
  zh_error *err = zh_ttrpc_request_decode(data, len, &req);
  if (err) {
    zh_error_free(err);
    return;
  }
  if (req.payload && (req.payload < data || req.payload + req.payload_len > data + len))
    abort(); /* the payload must lie inside the frame */
  uint8_t *f = NULL;
  size_t n = 0;
  err = zh_ttrpc_request_frame(1, req.service, req.method, req.payload, req.payload_len, &f, &n);
  if (err)
    abort(); /* what decoded must encode */
  zh_ttrpc_request again;
  err = zh_ttrpc_request_decode(f + ZH_TTRPC_HEADER_LEN, n - ZH_TTRPC_HEADER_LEN, &again);
  if (err || strcmp(again.service, req.service) || strcmp(again.method, req.method) ||
      again.payload_len != req.payload_len ||
      (req.payload_len && memcmp(again.payload, req.payload, req.payload_len)))
    abort();
  free(f);

  if (!strcmp(req.method, "Create")) {
    Containerd__Task__V2__CreateTaskRequest *m =
        containerd__task__v2__create_task_request__unpack(NULL, req.payload_len, req.payload);
    if (m)
      containerd__task__v2__create_task_request__free_unpacked(m, NULL);
    return;
  }
  if (!strcmp(req.method, "Shutdown"))
    return;
  uint8_t *payload = NULL;
  size_t plen = 0;
  char message[512];
  int32_t code = zh_shim_task_method(shim, &req, &payload, &plen, message, sizeof message);
  if (code == 0 && plen && !payload)
    abort();
  free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return 0;
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  size_t off = 0;
  while (off < size) {
    ssize_t w = write(p[1], data + off, size - off);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  close(p[1]);

  /* A shim with no task: every method must answer from that state. */
  zh_shim shim;
  memset(&shim, 0, sizeof shim);
  shim.id = "fuzz";
  shim.log_fd = -1;
  pthread_mutex_init(&shim.mu, NULL);
  pthread_cond_init(&shim.cv, NULL);

  for (int frames = 0; frames < 64; frames++) {
    zh_ttrpc_header h;
    uint8_t *frame = NULL;
    zh_error *err = zh_ttrpc_read_frame(p[0], &h, &frame);
    if (err) {
      bool go_on = zh_error_status(err) == ZH_ERR_RESOURCE; /* skipped, stream in step */
      zh_error_free(err);
      if (go_on)
        continue;
      break;
    }
    if (h.type == ZH_TTRPC_REQUEST)
      check_request(frame, h.length, &shim);
    zh_ttrpc_response r;
    zh_error_free(zh_ttrpc_response_decode(frame, h.length, &r));
    free(frame);
  }
  close(p[0]);
  zh_shim_spec_free(&shim.spec);
  pthread_mutex_destroy(&shim.mu);
  pthread_cond_destroy(&shim.cv);
  return 0;
}
