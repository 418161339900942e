/* ttrpc frames and the Request/Response messages (ttrpc.h). The two messages are small and
 * fixed, so they are read and written here with a minimal protobuf wire codec instead of
 * generated code: varints, fixed 32/64-bit values and length-delimited fields, unknown fields
 * skipped as protobuf requires, groups refused. */
#include "shim/ttrpc.h"

#include "wasm/error.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void zh_ttrpc_header_encode(const zh_ttrpc_header *h, uint8_t out[ZH_TTRPC_HEADER_LEN]) {
  out[0] = (uint8_t)(h->length >> 24);
  out[1] = (uint8_t)(h->length >> 16);
  out[2] = (uint8_t)(h->length >> 8);
  out[3] = (uint8_t)h->length;
  out[4] = (uint8_t)(h->stream_id >> 24);
  out[5] = (uint8_t)(h->stream_id >> 16);
  out[6] = (uint8_t)(h->stream_id >> 8);
  out[7] = (uint8_t)h->stream_id;
  out[8] = h->type;
  out[9] = h->flags;
}

void zh_ttrpc_header_decode(const uint8_t in[ZH_TTRPC_HEADER_LEN], zh_ttrpc_header *h) {
  h->length = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
  h->stream_id = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
  h->type = in[8];
  h->flags = in[9];
}

/* ---- protobuf wire reading ---- */

typedef struct wire {
  const uint8_t *p;
  size_t len, pos;
  const char *msg; /* "request", "status": for the error text */
} wire;

static zh_error *bad(const wire *w, size_t at, const char *what) {
  return zh_error_new(ZH_ERR_MALFORMED, "ttrpc %s: %s at byte %zu", w->msg, what, at);
}

static zh_error *varint(wire *w, uint64_t *out) {
  uint64_t v = 0;
  *out = 0;
  size_t start = w->pos;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (w->pos >= w->len)
      return bad(w, start, "truncated varint");
    uint8_t b = w->p[w->pos++];
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return NULL;
    }
  }
  return bad(w, start, "varint longer than 10 bytes");
}

/* One field: its number, wire type, and for length-delimited fields the slice. */
typedef struct field {
  uint32_t number;
  unsigned type;
  uint64_t value;
  const uint8_t *data;
  size_t size;
  size_t at;
} field;

static zh_error *next_field(wire *w, field *f) {
  memset(f, 0, sizeof *f);
  f->at = w->pos;
  uint64_t key = 0;
  zh_error *err = varint(w, &key);
  if (err)
    return err;
  f->number = (uint32_t)(key >> 3);
  f->type = (unsigned)(key & 7);
  if (f->number == 0 || key >> 32)
    return bad(w, f->at, "bad field number");
  switch (f->type) {
  case 0:
    return varint(w, &f->value);
  case 1:
  case 5: {
    size_t n = f->type == 1 ? 8 : 4;
    if (w->len - w->pos < n)
      return bad(w, f->at, "truncated fixed-width field");
    f->value = 0;
    for (size_t i = 0; i < n; i++)
      f->value |= (uint64_t)w->p[w->pos + i] << (8 * i);
    w->pos += n;
    return NULL;
  }
  case 2:
    if ((err = varint(w, &f->value)))
      return err;
    if (f->value > w->len - w->pos)
      return bad(w, f->at, "length runs past the end");
    f->data = w->p + w->pos;
    f->size = (size_t)f->value;
    w->pos += f->size;
    return NULL;
  default:
    return bad(w, f->at, "unsupported wire type");
  }
}

static zh_error *copy_string(const wire *w, const field *f, char *out, size_t cap,
                             const char *name) {
  if (f->type != 2)
    return bad(w, f->at, name);
  if (f->size >= cap)
    return zh_error_new(ZH_ERR_MALFORMED, "ttrpc %s: %s longer than %zu bytes at byte %zu", w->msg,
                        name, cap - 1, f->at);
  if (memchr(f->data, 0, f->size))
    return bad(w, f->at, "NUL byte in a string");
  memcpy(out, f->data, f->size);
  out[f->size] = 0;
  return NULL;
}

zh_error *zh_ttrpc_request_decode(const uint8_t *data, size_t len, zh_ttrpc_request *out) {
  memset(out, 0, sizeof *out);
  wire w = {data, len, 0, "request"};
  zh_error *err = NULL;
  while (!err && w.pos < w.len) {
    field f = {0};
    if ((err = next_field(&w, &f)))
      break;
    switch (f.number) {
    case 1:
      err = copy_string(&w, &f, out->service, sizeof out->service, "service");
      break;
    case 2:
      err = copy_string(&w, &f, out->method, sizeof out->method, "method");
      break;
    case 3:
      if (f.type != 2)
        err = bad(&w, f.at, "payload is not length-delimited");
      out->payload = f.data, out->payload_len = f.size;
      break;
    case 4:
      if (f.type != 0)
        err = bad(&w, f.at, "timeout_nano is not a varint");
      out->timeout_nano = (int64_t)f.value;
      break;
    case 5:
      if (f.type != 2)
        err = bad(&w, f.at, "metadata is not length-delimited");
      out->nmetadata++;
      break;
    default:
      break; /* unknown fields are skipped */
    }
  }
  if (!err && (!out->service[0] || !out->method[0]))
    err = zh_error_new(ZH_ERR_MALFORMED, "ttrpc request: no %s",
                       out->service[0] ? "method" : "service");
  return err;
}

static zh_error *status_decode(const uint8_t *data, size_t len, size_t base,
                               zh_ttrpc_response *out) {
  wire w = {data, len, 0, "status"};
  while (w.pos < w.len) {
    field f = {0};
    zh_error *err = next_field(&w, &f);
    if (err)
      return zh_error_prefix(err, "at response byte %zu:", base);
    if (f.number == 1 && f.type == 0)
      out->code = (int32_t)f.value;
    else if (f.number == 2 && f.type == 2) {
      size_t n = f.size < sizeof out->message - 1 ? f.size : sizeof out->message - 1;
      if (n)
        memcpy(out->message, f.data, n);
      out->message[n] = 0;
    }
  }
  return NULL;
}

zh_error *zh_ttrpc_response_decode(const uint8_t *data, size_t len, zh_ttrpc_response *out) {
  memset(out, 0, sizeof *out);
  wire w = {data, len, 0, "response"};
  while (w.pos < w.len) {
    field f = {0};
    zh_error *err = next_field(&w, &f);
    if (err)
      return err;
    if (f.number == 1) {
      if (f.type != 2)
        return bad(&w, f.at, "status is not length-delimited");
      if ((err = status_decode(f.data, f.size, f.at, out)))
        return err;
    } else if (f.number == 2) {
      if (f.type != 2)
        return bad(&w, f.at, "payload is not length-delimited");
      out->payload = f.data, out->payload_len = f.size;
    }
  }
  return NULL;
}

/* ---- protobuf wire writing ---- */

static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80)
    v >>= 7, n++;
  return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

/* Size of a length-delimited field (key is always one byte here: field numbers < 16). */
static size_t bytes_len(size_t n) { return 1 + varint_len(n) + n; }

static uint8_t *put_bytes(uint8_t *p, uint32_t number, const void *data, size_t n) {
  *p++ = (uint8_t)(number << 3 | 2);
  p = put_varint(p, n);
  if (n)
    memcpy(p, data, n);
  return p + n;
}

static zh_error *frame_alloc(uint32_t stream_id, uint8_t type, size_t data_len, uint8_t **out,
                             size_t *out_len) {
  if (data_len > ZH_TTRPC_MAX_DATA)
    return zh_error_new(ZH_ERR_RESOURCE, "ttrpc stream %u: message of %zu bytes is over %u",
                        stream_id, data_len, ZH_TTRPC_MAX_DATA);
  uint8_t *buf = malloc(ZH_TTRPC_HEADER_LEN + data_len);
  if (!buf)
    return zh_error_oom();
  zh_ttrpc_header h = {(uint32_t)data_len, stream_id, type, 0};
  zh_ttrpc_header_encode(&h, buf);
  *out = buf;
  *out_len = ZH_TTRPC_HEADER_LEN + data_len;
  return NULL;
}

zh_error *zh_ttrpc_response_frame(uint32_t stream_id, int32_t code, const char *message,
                                  const uint8_t *payload, size_t payload_len, uint8_t **out,
                                  size_t *out_len) {
  size_t mlen = message ? strlen(message) : 0;
  /* int32 codes are sign-extended to 64 bits on the wire, as protobuf does. */
  uint64_t wire_code = (uint64_t)(int64_t)code;
  size_t status_len = (code ? 1 + varint_len(wire_code) : 0) + (mlen ? bytes_len(mlen) : 0);
  if (payload_len > ZH_TTRPC_MAX_DATA || mlen > ZH_TTRPC_MAX_DATA)
    return zh_error_new(ZH_ERR_RESOURCE, "ttrpc stream %u: response too large", stream_id);
  size_t data_len = bytes_len(status_len) + (payload_len ? bytes_len(payload_len) : 0);
  zh_error *err = frame_alloc(stream_id, ZH_TTRPC_RESPONSE, data_len, out, out_len);
  if (err)
    return err;
  uint8_t *p = *out + ZH_TTRPC_HEADER_LEN;
  *p++ = 1 << 3 | 2;
  p = put_varint(p, status_len);
  if (code) {
    *p++ = 1 << 3;
    p = put_varint(p, wire_code);
  }
  if (mlen)
    p = put_bytes(p, 2, message, mlen);
  if (payload_len)
    put_bytes(p, 2, payload, payload_len);
  return NULL;
}

zh_error *zh_ttrpc_request_frame(uint32_t stream_id, const char *service, const char *method,
                                 const uint8_t *payload, size_t payload_len, uint8_t **out,
                                 size_t *out_len) {
  size_t slen = strlen(service), mlen = strlen(method);
  if (payload_len > ZH_TTRPC_MAX_DATA || slen + mlen > ZH_TTRPC_MAX_DATA)
    return zh_error_new(ZH_ERR_RESOURCE, "ttrpc stream %u: request too large", stream_id);
  size_t data_len = bytes_len(slen) + bytes_len(mlen) + bytes_len(payload_len);
  zh_error *err = frame_alloc(stream_id, ZH_TTRPC_REQUEST, data_len, out, out_len);
  if (err)
    return err;
  uint8_t *p = *out + ZH_TTRPC_HEADER_LEN;
  p = put_bytes(p, 1, service, slen);
  p = put_bytes(p, 2, method, mlen);
  put_bytes(p, 3, payload, payload_len);
  return NULL;
}

/* ---- fd I/O ---- */

/* 1: filled, 0: end of stream before the first byte, -1: error (errno) or short stream. */
static int read_full(int fd, uint8_t *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0) {
      if (got == 0)
        return 0;
      errno = EPIPE;
      return -1;
    }
    got += (size_t)n;
  }
  return 1;
}

zh_error *zh_ttrpc_read_frame(int fd, zh_ttrpc_header *h, uint8_t **data) {
  *data = NULL;
  uint8_t hb[ZH_TTRPC_HEADER_LEN];
  int r = read_full(fd, hb, sizeof hb);
  if (r == 0)
    return zh_error_new(ZH_ERR_IO, "eof");
  if (r < 0)
    return zh_error_new(ZH_ERR_IO, "ttrpc: reading a header: %s", strerror(errno));
  zh_ttrpc_header_decode(hb, h);
  if (h->length > ZH_TTRPC_MAX_DATA) {
    /* Drain it in pieces so the next header is read from the right place. */
    uint8_t sink[4096];
    for (uint32_t left = h->length; left;) {
      size_t n = left < sizeof sink ? left : sizeof sink;
      if (read_full(fd, sink, n) != 1)
        return zh_error_new(ZH_ERR_IO, "ttrpc stream %u: connection lost in a %u-byte frame",
                            h->stream_id, h->length);
      left -= (uint32_t)n;
    }
    return zh_error_new(ZH_ERR_RESOURCE, "ttrpc stream %u: frame of %u bytes is over %u",
                        h->stream_id, h->length, ZH_TTRPC_MAX_DATA);
  }
  if (h->length == 0)
    return NULL;
  uint8_t *buf = malloc(h->length);
  if (!buf)
    return zh_error_oom();
  if (read_full(fd, buf, h->length) != 1) {
    free(buf);
    return zh_error_new(ZH_ERR_IO, "ttrpc stream %u: connection lost in a %u-byte frame",
                        h->stream_id, h->length);
  }
  *data = buf;
  return NULL;
}

zh_error *zh_ttrpc_write_all(int fd, const uint8_t *buf, size_t len) {
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return zh_error_new(ZH_ERR_IO, "ttrpc: write: %s", strerror(errno));
    buf += n;
    len -= (size_t)n;
  }
  return NULL;
}
