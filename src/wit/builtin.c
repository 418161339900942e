/* Parsing built-in WIT once. A mutex rather than pthread_once, so that one function serves
 * every built-in text; it is taken at load and link time, never per request. */
#include "wit/builtin.h"

zh_error *zh_wit_builtin_get(zh_wit_builtin *b, const zh_wit **out) {
  pthread_mutex_lock(&b->lock);
  if (!b->parsed) {
    b->err = zh_wit_parse_string(b->name, b->text, &b->wit);
    b->parsed = true;
  }
  pthread_mutex_unlock(&b->lock);
  *out = b->wit;
  if (b->err)
    return zh_error_new(zh_error_status(b->err), "%s", zh_error_message(b->err));
  return NULL;
}
