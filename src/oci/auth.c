/* Registry credentials from a Docker config file: `auths."HOST".auth`, the base64 of
 * user:password, kept encoded since that is what a Basic header carries. A missing file means
 * anonymous access; a file that is not JSON, or an auth that is not base64 of a pair with a
 * colon, is an error naming the file. Credential helpers (credsStore) are not run. */
#include "oci/oci.h"
#include "wasm/error.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

zh_error *zh_oci_docker_auth(const char *config_path, const char *host, char **userpass) {
  *userpass = NULL;
  json_error_t je;
  FILE *f = fopen(config_path, "rb");
  if (!f)
    return errno == ENOENT ? NULL : zh_error_new(ZH_ERR_IO, "%s: %s", config_path, strerror(errno));
  json_t *doc = json_loadf(f, 0, &je);
  fclose(f);
  if (!doc) {
    char shown[200];
    return zh_error_new(ZH_ERR_MALFORMED, "%s:%d:%d: %s", config_path, je.line, je.column,
                        zh_oci_clean(je.text, shown, sizeof shown));
  }
  zh_error *err = NULL;
  json_t *auths = json_object_get(doc, "auths");
  json_t *entry = json_object_get(auths, host);
  if (!entry) { /* also "http://HOST" and "https://HOST", as docker login may write them */
    char key[1024];
    snprintf(key, sizeof key, "https://%s", host);
    if (!(entry = json_object_get(auths, key))) {
      snprintf(key, sizeof key, "http://%s", host);
      entry = json_object_get(auths, key);
    }
  }
  const char *auth = json_string_value(json_object_get(entry, "auth"));
  if (auth) {
    size_t n = strlen(auth);
    unsigned char *plain = malloc(n / 4 * 3 + 4);
    int got = plain && n % 4 == 0 && n > 0
                  ? EVP_DecodeBlock(plain, (const unsigned char *)auth, (int)n)
                  : -1;
    bool valid = got > 0 && memchr(plain, ':', (size_t)got) != NULL;
    if (plain && !valid)
      err =
          zh_error_new(ZH_ERR_MALFORMED, "%s: auths.\"%s\".auth is not the base64 of user:password",
                       config_path, host);
    else if (!plain || !(*userpass = strdup(auth)))
      err = zh_error_oom();
    free(plain);
  }
  json_decref(doc);
  return err;
}
