/* Converting between an HTTP request/response and fermyon:spin/inbound-http's records. The
 * record layouts are those of wit/spin/fermyon-spin.wit (http-types): request {method, uri,
 * headers, params, body}, response {status, headers, body}. */
#include "inbound_http.h"

#include <string.h>

/* http-types.method, in declaration order. */
static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};

static zh_error *string_pair(zh_val *out, const char *a, size_t alen, const char *b, size_t blen) {
  zh_error *err = zh_val_tuple(out, 2);
  if (!err)
    err = zh_val_string(&zh_val_fields(out)[0], a, alen);
  if (!err)
    err = zh_val_string(&zh_val_fields(out)[1], b, blen);
  return err;
}

zh_error *zh_host_spin_http_request(const char *method, const char *path_with_query,
                                    const zh_wasip2_header *headers, size_t nheaders,
                                    const uint8_t *body, size_t body_len, zh_val *out,
                                    bool *method_ok) {
  *out = zh_val_bool(false);
  uint32_t m = 0;
  while (m < sizeof methods / sizeof *methods && strcmp(methods[m], method) != 0)
    m++;
  *method_ok = m < sizeof methods / sizeof *methods;
  if (!*method_ok)
    return NULL;

  zh_error *err = zh_val_record(out, 5);
  zh_val *f = err ? NULL : zh_val_fields(out);
  if (!err) {
    f[0] = zh_val_enum(m);
    err = zh_val_string_cstr(&f[1], path_with_query);
  }
  if (!err)
    err = zh_val_list(&f[2], nheaders);
  for (size_t i = 0; !err && i < nheaders; i++)
    err = string_pair(&zh_val_list_items(&f[2])[i], headers[i].name, strlen(headers[i].name),
                      (const char *)headers[i].value, headers[i].value_len);
  if (!err)
    err = zh_val_list(&f[3], 0);
  zh_val bytes = zh_val_bool(false);
  if (!err)
    err = zh_val_list_raw(&bytes, ZH_WIT_U8, body_len ? body : (const uint8_t *)"", body_len);
  if (!err)
    err = zh_val_some(&f[4], &bytes);
  if (err) {
    zh_val_drop(&bytes);
    zh_val_drop(out);
  }
  return err;
}

zh_error *zh_host_spin_http_response(const zh_val *response, zh_host_spin_response *out) {
  memset(out, 0, sizeof *out);
  zh_val *f = zh_val_fields((zh_val *)response);
  if (!f || zh_val_field_count(response) != 3)
    return zh_error_new(ZH_ERR_INVALID, "inbound-http: the response is not a response record");
  uint64_t status = f[0].of.u;
  if (status < 100 || status > 600)
    return zh_error_new(ZH_ERR_INVALID,
                        "inbound-http: the component answered the malformed status %llu",
                        (unsigned long long)status);
  out->status = (uint16_t)status;
  if (zh_val_case(&f[1]) == 1) {
    zh_val *list = zh_val_payload(&f[1]);
    out->nheaders = zh_val_list_len(list);
    out->headers = zh_val_list_items(list);
  }
  if (zh_val_case(&f[2]) == 1) {
    zh_val *bytes = zh_val_payload(&f[2]);
    out->body_len = zh_val_list_len(bytes);
    out->body = zh_val_list_raw_data(bytes);
    if (!out->body)
      out->body = (const uint8_t *)"";
  }
  return NULL;
}
