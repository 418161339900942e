/* ttrpc, the RPC protocol containerd speaks to its shims, at the byte level.
 *
 * A connection carries frames. Each frame is a 10-byte header followed by `length` bytes:
 *
 *   offset 0  uint32 big-endian  length of the data after the header (at most 4 MiB)
 *   offset 4  uint32 big-endian  stream id (odd: opened by the client)
 *   offset 8  uint8              type: 1 request, 2 response, 3 data
 *   offset 9  uint8              flags (streaming only; unary calls send 0)
 *
 * A request's data is a protobuf message Request {1: string service, 2: string method,
 * 3: bytes payload, 4: int64 timeout_nano, 5: repeated KeyValue metadata}; the response on the
 * same stream id is Response {1: google.rpc.Status status, 2: bytes payload}, Status being
 * {1: int32 code, 2: string message}. Codes are gRPC's. Several requests may be in flight on
 * one connection; responses may come back in any order.
 *
 * The decoders trust nothing: every length is checked against what is left, and every error
 * names the field and the byte offset inside the frame's data. */
#ifndef ZH_SHIM_TTRPC_H
#define ZH_SHIM_TTRPC_H

#include "zerohop/engine.h"

#include <stddef.h>
#include <stdint.h>

#define ZH_TTRPC_HEADER_LEN 10u
#define ZH_TTRPC_MAX_DATA (4u << 20)

enum { ZH_TTRPC_REQUEST = 1, ZH_TTRPC_RESPONSE = 2, ZH_TTRPC_DATA = 3 };

/* gRPC status codes that the shim answers with. */
enum {
  ZH_TTRPC_OK = 0,
  ZH_TTRPC_UNKNOWN = 2,
  ZH_TTRPC_INVALID_ARGUMENT = 3,
  ZH_TTRPC_NOT_FOUND = 5,
  ZH_TTRPC_ALREADY_EXISTS = 6,
  ZH_TTRPC_RESOURCE_EXHAUSTED = 8,
  ZH_TTRPC_FAILED_PRECONDITION = 9,
  ZH_TTRPC_UNIMPLEMENTED = 12,
  ZH_TTRPC_INTERNAL = 13,
};

typedef struct zh_ttrpc_header {
  uint32_t length;
  uint32_t stream_id;
  uint8_t type;
  uint8_t flags;
} zh_ttrpc_header;

void zh_ttrpc_header_encode(const zh_ttrpc_header *h, uint8_t out[ZH_TTRPC_HEADER_LEN]);
/* Never fails: the caller checks length against ZH_TTRPC_MAX_DATA and the type (a too long
 * frame must still be skipped to keep the stream in step). */
void zh_ttrpc_header_decode(const uint8_t in[ZH_TTRPC_HEADER_LEN], zh_ttrpc_header *h);

/* A decoded request. service and method are copies (NUL-terminated); payload points into the
 * buffer given to the decoder and lives as long as it does. */
typedef struct zh_ttrpc_request {
  char service[128];
  char method[64];
  const uint8_t *payload;
  size_t payload_len;
  int64_t timeout_nano;
  size_t nmetadata;
} zh_ttrpc_request;

zh_error *zh_ttrpc_request_decode(const uint8_t *data, size_t len, zh_ttrpc_request *out);

/* A decoded response: message is a copy, truncated to fit; payload points into the buffer. */
typedef struct zh_ttrpc_response {
  int32_t code;
  char message[256];
  const uint8_t *payload;
  size_t payload_len;
} zh_ttrpc_response;

zh_error *zh_ttrpc_response_decode(const uint8_t *data, size_t len, zh_ttrpc_response *out);

/* Whole frames (header and data) in one malloc'd buffer, for one write(). message may be NULL.
 * Fails only when memory runs out or the data would pass ZH_TTRPC_MAX_DATA. */
zh_error *zh_ttrpc_response_frame(uint32_t stream_id, int32_t code, const char *message,
                                  const uint8_t *payload, size_t payload_len, uint8_t **out,
                                  size_t *out_len);
zh_error *zh_ttrpc_request_frame(uint32_t stream_id, const char *service, const char *method,
                                 const uint8_t *payload, size_t payload_len, uint8_t **out,
                                 size_t *out_len);

/* Reads one frame from a blocking fd. Returns NULL with *data malloc'd (NULL when the length
 * is 0) and the header filled; a frame longer than ZH_TTRPC_MAX_DATA is read and dropped and
 * reported as ZH_ERR_RESOURCE, with the header filled, so the caller may answer it and go on.
 * End of stream before a header is ZH_ERR_IO with the message "eof". */
zh_error *zh_ttrpc_read_frame(int fd, zh_ttrpc_header *h, uint8_t **data);
/* Writes all of buf (retrying short writes and EINTR). */
zh_error *zh_ttrpc_write_all(int fd, const uint8_t *buf, size_t len);

#endif
