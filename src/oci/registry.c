/* The OCI distribution API, as much as push and pull need: blob HEAD/GET, monolithic blob
 * upload (POST then PUT ?digest=), manifest PUT/GET. libcurl is the one src/wasip2/curl_dl.c
 * opens on first use; each request is an easy handle driven by the client's multi handle (the
 * table has no curl_easy_perform), blocking the calling thread, which is a CLI's. The multi
 * handle outlives the requests, so its connection pool keeps one connection for all of them.
 *
 * Auth: requests go out anonymous; a 401 with `WWW-Authenticate: Basic` is retried once with
 * the Docker config's credentials, one with `Bearer realm=...` fetches a token from the realm
 * (with those credentials when there are some) and retries once. Every error names the URL
 * and the HTTP status or curl's reason. Nothing the registry sends is trusted: digests of
 * everything fetched are recomputed, and bodies are capped. */
#include "oci/oci.h"
#include "wasip2/curl_dl.h"
#include "wasm/error.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_MANIFEST (4u << 20)
#define MAX_BLOB ((uint64_t)2 << 30)
#define MAX_HEADER 4096

struct zh_oci_client {
  char *base; /* "http://HOST/v2/REPO" */
  char *root; /* "http://HOST" */
  char *host; /* as in the reference, for credentials */
  char *repo;
  char *basic; /* base64 user:pass from the Docker config, or NULL */
  char *config_path;
  char *authorization; /* the header value that worked, or NULL */
  long timeout_s;
  CURLM *multi; /* kept across requests: its connection pool lets them share a connection */
};

typedef struct response {
  long status;
  zh_oci_buf body;
  uint64_t cap; /* body bytes accepted */
  bool too_big;
  char location[MAX_HEADER];
  char authenticate[MAX_HEADER];
  char content_digest[128];
} response;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  response *r = ud;
  size_t len = size * n;
  if (r->body.len + len > r->cap) {
    r->too_big = true;
    return 0; /* aborts the transfer */
  }
  zh_oci_buf_add(&r->body, p, len);
  return r->body.oom ? 0 : len;
}

/* Copies a header's value (trimmed) when the line is `name: value`. */
static void take_header(const char *line, size_t len, const char *name, char *out, size_t cap) {
  size_t n = strlen(name);
  if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
    return;
  const char *v = line + n + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t k = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
  memcpy(out, v, k);
  out[k] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  response *r = ud;
  size_t len = size * n;
  if (len > 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after a redirect) */
    r->location[0] = r->authenticate[0] = r->content_digest[0] = '\0';
    r->body.len = 0;
  }
  take_header(p, len, "Location", r->location, sizeof r->location);
  take_header(p, len, "WWW-Authenticate", r->authenticate, sizeof r->authenticate);
  take_header(p, len, "Docker-Content-Digest", r->content_digest, sizeof r->content_digest);
  return len;
}

typedef struct request {
  const char *method; /* GET, HEAD, POST, PUT */
  const char *url;
  const char *accept, *content_type;
  const void *body;
  size_t body_len;
  uint64_t max_body;
  const char *authorization; /* overrides the client's */
} request;

static zh_error *perform(zh_oci_client *c, const request *q, response *r) {
  const char *why = NULL;
  memset(r, 0, sizeof *r);
  if (!wp2_curl_load(&why))
    return zh_error_new(ZH_ERR_IO, "%s: libcurl is needed for registries: %s", q->url, why);
  r->cap = q->max_body;
  if (!c->multi)
    c->multi = curl_multi_init();
  CURL *h = curl_easy_init();
  CURLM *m = c->multi;
  struct curl_slist *hdrs = NULL;
  char line[MAX_HEADER + 64];
  /* The registry's own credentials go to the registry alone: an upload Location may name
   * another host, and a token realm gets only what q->authorization says. */
  size_t rootlen = strlen(c->root);
  bool own = !strncmp(q->url, c->root, rootlen) && q->url[rootlen] == '/';
  const char *auth = q->authorization ? q->authorization : own ? c->authorization : NULL;
  if (auth) {
    snprintf(line, sizeof line, "Authorization: %s", auth);
    hdrs = curl_slist_append(hdrs, line);
  }
  if (q->accept) {
    snprintf(line, sizeof line, "Accept: %s", q->accept);
    hdrs = curl_slist_append(hdrs, line);
  }
  snprintf(line, sizeof line, "Content-Type: %s",
           q->content_type ? q->content_type : "application/octet-stream");
  hdrs = curl_slist_append(hdrs, line);
  hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
  if (!h || !m || !hdrs) {
    if (h)
      curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    return zh_error_oom();
  }
  curl_easy_setopt(h, CURLOPT_URL, q->url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "zerohop");
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (!strcmp(q->method, "GET")) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L); /* blob storage may redirect */
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  } else if (!strcmp(q->method, "HEAD")) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : (const void *)"");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
  }
  CURLcode rc = CURLE_OK;
  curl_multi_add_handle(m, h);
  int running = 1;
  while (running) {
    if (curl_multi_perform(m, &running) != CURLM_OK)
      break;
    if (running)
      curl_multi_poll(m, NULL, 0, 1000, NULL);
  }
  CURLMsg *msg;
  int left = 0;
  while ((msg = curl_multi_info_read(m, &left)) != NULL)
    if (msg->msg == CURLMSG_DONE)
      rc = msg->data.result;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  curl_multi_remove_handle(m, h);
  curl_easy_cleanup(h);
  curl_slist_free_all(hdrs);
  if (r->too_big)
    return zh_error_new(ZH_ERR_RESOURCE, "%s %s: the response is larger than %llu bytes", q->method,
                        q->url, (unsigned long long)r->cap);
  if (r->body.oom)
    return zh_error_oom();
  if (rc != CURLE_OK)
    return zh_error_new(ZH_ERR_IO, "%s %s: %s", q->method, q->url, curl_easy_strerror(rc));
  return NULL;
}

/* A parameter of a WWW-Authenticate challenge: key="value" (or unquoted), copied. */
static char *challenge_param(const char *h, const char *key) {
  size_t n = strlen(key);
  for (const char *p = h; (p = strcasestr(p, key)) != NULL; p += n) {
    if (p != h && p[-1] != ' ' && p[-1] != ',')
      continue;
    if (p[n] != '=')
      continue;
    const char *v = p + n + 1;
    size_t len;
    if (*v == '"') {
      v++;
      const char *end = strchr(v, '"');
      len = end ? (size_t)(end - v) : strlen(v);
    } else {
      len = strcspn(v, ", ");
    }
    return strndup(v, len);
  }
  return NULL;
}

static void url_escape(zh_oci_buf *b, const char *s) {
  for (; *s; s++) {
    if (isalnum((unsigned char)*s) || strchr("-_.~", *s))
      zh_oci_buf_add(b, s, 1);
    else
      zh_oci_buf_printf(b, "%%%02X", (unsigned char)*s);
  }
}

/* Bearer: GET realm?service=...&scope=... and keep the token. */
static zh_error *fetch_token(zh_oci_client *c, const char *challenge, bool push) {
  char *realm = challenge_param(challenge, "realm");
  char *service = challenge_param(challenge, "service");
  char *scope = challenge_param(challenge, "scope");
  zh_oci_buf url = {0};
  zh_error *err = NULL;
  if (!realm || strncmp(realm, "http", 4) != 0) {
    err = zh_error_new(ZH_ERR_IO, "%s: a Bearer challenge without a usable realm: %s", c->root,
                       zh_oci_clean(challenge, (char[200]){0}, 200));
    goto done;
  }
  zh_oci_buf_str(&url, realm);
  zh_oci_buf_str(&url, strchr(realm, '?') ? "&" : "?");
  if (service) {
    zh_oci_buf_str(&url, "service=");
    url_escape(&url, service);
    zh_oci_buf_str(&url, "&");
  }
  zh_oci_buf_str(&url, "scope=");
  if (scope) {
    url_escape(&url, scope);
  } else {
    char own[1024];
    snprintf(own, sizeof own, "repository:%s:%s", c->repo, push ? "pull,push" : "pull");
    url_escape(&url, own);
  }
  zh_oci_buf_zeros(&url, 1);
  if (url.oom) {
    err = zh_error_oom();
    goto done;
  }
  char basic[MAX_HEADER];
  if (c->basic)
    snprintf(basic, sizeof basic, "Basic %s", c->basic);
  request q = {"GET", (char *)url.data, "application/json",     NULL, NULL,
               0,     1u << 20,         c->basic ? basic : NULL};
  response r;
  err = perform(c, &q, &r);
  if (!err && r.status != 200)
    err = zh_error_new(ZH_ERR_IO, "GET %s: HTTP %ld from the token service", realm, r.status);
  if (!err) {
    json_t *doc = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
    json_t *tok = json_object_get(doc, "token");
    if (!json_is_string(tok))
      tok = json_object_get(doc, "access_token");
    if (!json_is_string(tok) || strlen(json_string_value(tok)) > MAX_HEADER - 16) {
      err = zh_error_new(ZH_ERR_IO, "GET %s: no token in the answer", realm);
    } else {
      free(c->authorization);
      size_t n = strlen(json_string_value(tok)) + 8;
      if ((c->authorization = malloc(n)) != NULL)
        snprintf(c->authorization, n, "Bearer %s", json_string_value(tok));
      else
        err = zh_error_oom();
    }
    json_decref(doc);
  }
  zh_oci_buf_free(&r.body);
done:
  zh_oci_buf_free(&url);
  free(realm);
  free(service);
  free(scope);
  return err;
}

/* perform, and once more after answering a 401's challenge. */
static zh_error *call(zh_oci_client *c, const request *q, response *r, bool push) {
  zh_error *err = perform(c, q, r);
  if (err || r->status != 401)
    return err;
  char challenge[MAX_HEADER];
  snprintf(challenge, sizeof challenge, "%s", r->authenticate);
  zh_oci_buf_free(&r->body);
  if (strncasecmp(challenge, "Bearer ", 7) == 0) {
    err = fetch_token(c, challenge, push);
  } else if (strncasecmp(challenge, "Basic", 5) == 0 && c->basic) {
    free(c->authorization);
    size_t n = strlen(c->basic) + 8;
    if ((c->authorization = malloc(n)) != NULL)
      snprintf(c->authorization, n, "Basic %s", c->basic);
    else
      err = zh_error_oom();
  } else {
    return zh_error_new(ZH_ERR_IO,
                        "%s %s: HTTP 401 unauthorized, and no credentials for %s in %s "
                        "(`auths.\"%s\".auth`)",
                        q->method, q->url, c->host, c->config_path, c->host);
  }
  if (!err)
    err = perform(c, q, r);
  if (!err && r->status == 401) {
    zh_oci_buf_free(&r->body);
    err = zh_error_new(ZH_ERR_IO, "%s %s: HTTP 401 unauthorized with the credentials for %s in %s",
                       q->method, q->url, c->host, c->config_path);
  }
  return err;
}

/* The registry's complaint as one line: HTTP status and the first error's code/message. */
static zh_error *http_error(const request *q, response *r) {
  char detail[300] = "";
  json_t *doc = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
  json_t *e0 = json_array_get(json_object_get(doc, "errors"), 0);
  const char *code = json_string_value(json_object_get(e0, "code"));
  const char *msg = json_string_value(json_object_get(e0, "message"));
  if (code || msg)
    snprintf(detail, sizeof detail, ": %s%s%s", code ? code : "", code && msg ? " " : "",
             msg ? msg : "");
  json_decref(doc);
  zh_oci_buf_free(&r->body);
  char shown[300];
  return zh_error_new(ZH_ERR_IO, "%s %s: HTTP %ld%s", q->method, q->url, r->status,
                      zh_oci_clean(detail, shown, sizeof shown));
}

static bool loopback(const char *host) {
  return !strncmp(host, "localhost", 9) || !strncmp(host, "127.", 4) || !strncmp(host, "[::1]", 5);
}

zh_error *zh_oci_client_new(const zh_oci_ref *ref, const zh_oci_client_options *opt,
                            zh_oci_client **out) {
  *out = NULL;
  zh_oci_client *c = calloc(1, sizeof *c);
  if (!c)
    return zh_error_oom();
  const char *scheme = (opt && opt->insecure) || loopback(ref->host) ? "http" : "https";
  c->timeout_s = opt && opt->timeout_s > 0 ? opt->timeout_s : 300;
  const char *dc = opt ? opt->docker_config : NULL;
  char path[4096];
  if (!dc) {
    const char *env = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
    if (env && *env)
      snprintf(path, sizeof path, "%s/config.json", env);
    else
      snprintf(path, sizeof path, "%s/.docker/config.json", home ? home : "");
    dc = path;
  }
  zh_error *err = NULL;
  if (asprintf(&c->root, "%s://%s", scheme, ref->host) < 0 ||
      asprintf(&c->base, "%s/v2/%s", c->root, ref->repo) < 0 || !(c->host = strdup(ref->host)) ||
      !(c->repo = strdup(ref->repo)) || !(c->config_path = strdup(dc)))
    err = zh_error_oom();
  if (!err)
    err = zh_oci_docker_auth(dc, ref->host, &c->basic);
  if (err) {
    zh_oci_client_free(c);
    return err;
  }
  *out = c;
  return NULL;
}

void zh_oci_client_free(zh_oci_client *c) {
  if (!c)
    return;
  if (c->multi)
    curl_multi_cleanup(c->multi); /* only set once libcurl was loaded */
  free(c->base);
  free(c->root);
  free(c->host);
  free(c->repo);
  free(c->basic);
  free(c->config_path);
  free(c->authorization);
  free(c);
}

zh_error *zh_oci_blob_exists(zh_oci_client *c, const char *digest, bool *exists) {
  char *url = NULL;
  if (asprintf(&url, "%s/blobs/%s", c->base, digest) < 0)
    return zh_error_oom();
  request q = {"HEAD", url, NULL, NULL, NULL, 0, 0, NULL};
  response r;
  zh_error *err = call(c, &q, &r, true);
  if (!err && r.status != 200 && r.status != 404)
    err = http_error(&q, &r);
  if (!err)
    *exists = r.status == 200;
  zh_oci_buf_free(&r.body);
  free(url);
  return err;
}

zh_error *zh_oci_blob_put(zh_oci_client *c, const char *digest, const void *data, size_t len) {
  char *url = NULL, *put = NULL;
  if (asprintf(&url, "%s/blobs/uploads/", c->base) < 0)
    return zh_error_oom();
  request q = {"POST", url, NULL, NULL, NULL, 0, 1u << 16, NULL};
  response r;
  zh_error *err = call(c, &q, &r, true);
  if (!err && r.status != 202)
    err = http_error(&q, &r);
  if (!err && !r.location[0])
    err = zh_error_new(ZH_ERR_IO, "POST %s: no Location for the upload", url);
  zh_oci_buf_free(&r.body);
  if (!err) {
    const char *sep = strchr(r.location, '?') ? "&" : "?";
    int n = r.location[0] == '/'
                ? asprintf(&put, "%s%s%sdigest=%s", c->root, r.location, sep, digest)
                : asprintf(&put, "%s%sdigest=%s", r.location, sep, digest);
    if (n < 0)
      err = zh_error_oom();
  }
  if (!err) {
    request p = {"PUT", put, NULL, "application/octet-stream", data, len, 1u << 16, NULL};
    err = call(c, &p, &r, true);
    if (!err && r.status != 201)
      err = http_error(&p, &r);
    zh_oci_buf_free(&r.body);
  }
  free(put);
  free(url);
  return err;
}

zh_error *zh_oci_blob_get(zh_oci_client *c, const char *digest, uint64_t size, zh_oci_buf *out) {
  char *url = NULL;
  if (asprintf(&url, "%s/blobs/%s", c->base, digest) < 0)
    return zh_error_oom();
  request q = {"GET", url, NULL, NULL, NULL, 0, size != UINT64_MAX ? size : MAX_BLOB, NULL};
  response r;
  zh_error *err = call(c, &q, &r, false);
  if (!err && r.status != 200)
    err = http_error(&q, &r);
  char got[ZH_OCI_DIGEST_LEN];
  if (!err)
    err = zh_oci_digest(r.body.data ? (const void *)r.body.data : "", r.body.len, got);
  if (!err && (strcmp(got, digest) != 0 || (size != UINT64_MAX && r.body.len != size)))
    err = zh_error_new(ZH_ERR_INVALID,
                       "blob %s from %s is corrupt: its content hashes to %s (%zu bytes, %llu "
                       "expected); refused",
                       digest, c->root, got, r.body.len, (unsigned long long)size);
  if (err) {
    zh_oci_buf_free(&r.body);
  } else {
    *out = r.body;
  }
  free(url);
  return err;
}

zh_error *zh_oci_manifest_put(zh_oci_client *c, const char *tag_or_digest, const char *media_type,
                              const void *data, size_t len) {
  char *url = NULL;
  if (asprintf(&url, "%s/manifests/%s", c->base, tag_or_digest) < 0)
    return zh_error_oom();
  request q = {"PUT", url, NULL, media_type, data, len, 1u << 16, NULL};
  response r;
  zh_error *err = call(c, &q, &r, true);
  if (!err && r.status != 201)
    err = http_error(&q, &r);
  zh_oci_buf_free(&r.body);
  free(url);
  return err;
}

zh_error *zh_oci_manifest_get(zh_oci_client *c, const char *tag_or_digest, zh_oci_buf *out,
                              char digest[ZH_OCI_DIGEST_LEN]) {
  char *url = NULL;
  if (asprintf(&url, "%s/manifests/%s", c->base, tag_or_digest) < 0)
    return zh_error_oom();
  request q = {
      "GET",        url,  ZH_OCI_MT_MANIFEST ", " ZH_OCI_MT_INDEX ", " ZH_OCI_MT_DOCKER_MANIFEST,
      NULL,         NULL, 0,
      MAX_MANIFEST, NULL};
  response r;
  zh_error *err = call(c, &q, &r, false);
  if (!err && r.status != 200)
    err = http_error(&q, &r);
  if (!err)
    err = zh_oci_digest(r.body.data ? (const void *)r.body.data : "", r.body.len, digest);
  if (!err && strncmp(tag_or_digest, "sha256:", 7) == 0 && strcmp(digest, tag_or_digest) != 0)
    err = zh_error_new(ZH_ERR_INVALID, "manifest %s from %s is corrupt: it hashes to %s; refused",
                       tag_or_digest, c->root, digest);
  if (err)
    zh_oci_buf_free(&r.body);
  else
    *out = r.body;
  free(url);
  return err;
}
