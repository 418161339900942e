/* A gzip member for an image layer (application/vnd.oci.image.layer.v1.tar+gzip), with zlib.
 *
 * deflate with a gzip wrapper (windowBits 15 + 16) writes a header with mtime 0, no name and
 * the OS byte of the build, so the same tar gives the same bytes, and so the same digest, on
 * every build with the same zlib and level. */
#include "oci/oci.h"
#include "wasm/error.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

#define GZIP_WINDOW (15 + 16)
#define CHUNK ((size_t)256 << 10)

zh_error *zh_oci_gzip(const unsigned char *data, size_t len, int level, zh_oci_buf *out) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, level, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return zh_error_oom();
  zh_error *err = NULL;
  const unsigned char *in = data;
  size_t left = len;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    /* zlib counts in uInt: a larger input goes in slices. */
    size_t take = left < UINT_MAX ? left : UINT_MAX;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)take;
    size_t before = out->len;
    zh_oci_buf_zeros(out, CHUNK);
    if (out->oom) {
      err = zh_error_oom();
      break;
    }
    z.next_out = out->data + before;
    z.avail_out = (uInt)CHUNK;
    rc = deflate(&z, take == left ? Z_FINISH : Z_NO_FLUSH);
    out->len = before + (CHUNK - z.avail_out);
    size_t used = take - z.avail_in;
    in += used;
    left -= used;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      err = zh_error_new(ZH_ERR_RESOURCE, "gzip: deflate failed (zlib status %d)", rc);
      break;
    }
  }
  deflateEnd(&z);
  return err;
}
