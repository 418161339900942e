/* sha256 content digests in the OCI form "sha256:<64 lowercase hex digits>" (libcrypto). */
#include "oci/oci.h"
#include "wasm/error.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

zh_error *zh_oci_digest(const void *data, size_t len, char out[ZH_OCI_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
    return zh_error_new(ZH_ERR_RESOURCE, "cannot compute a sha256 digest");
  memcpy(out, "sha256:", 7);
  static const char hex[] = "0123456789abcdef";
  for (unsigned i = 0; i < 32; i++) {
    out[7 + 2 * i] = hex[md[i] >> 4];
    out[8 + 2 * i] = hex[md[i] & 15];
  }
  out[71] = '\0';
  return NULL;
}

bool zh_oci_digest_valid(const char *digest) {
  if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
    return false;
  for (size_t i = 7; i < 71; i++)
    if (!((digest[i] >= '0' && digest[i] <= '9') || (digest[i] >= 'a' && digest[i] <= 'f')))
      return false;
  return true;
}
