/* wasi:config/store over the component variables (wasi_config.h). The error cases follow
 * Spin's mapping from its variables interface: an undefined name is not an error but none,
 * an invalid name is io(...), since the interface has no better case. */
#include "host/wasi_config.h"

#include "host/host_instance.h"
#include "host/spin_wit.h"
#include "host/variables.h"
#include "wasm/error.h"

#include <string.h>

#define CONFIG_IFACE "wasi:config/store@0.2.0-draft-2024-09-27"

enum { CERR_UPSTREAM, CERR_IO };

/* result::err(error::<which>(msg)) */
static zh_error *config_error(zh_val *result, uint32_t which, const char *msg) {
  zh_val s, e;
  zh_error *err = zh_val_string_cstr(&s, msg);
  if (!err)
    err = zh_val_variant(&e, which, &s);
  if (!err)
    err = zh_val_err(result, &e);
  return err;
}

static const char *const not_ready = "configuration is not available while the component "
                                     "initialises";

static zh_error *host_get(zh_cm_call *call, void *env, zh_val *args, size_t nargs, zh_val *result) {
  (void)env, (void)nargs;
  const char *key = args[0].of.str.data;
  zh_error *bad = strlen(key) == args[0].of.str.len
                      ? zh_host_vars_check_name(key)
                      : zh_error_new(ZH_ERR_INVALID, "invalid variable name: contains U+0000");
  if (bad) {
    zh_error *err = config_error(result, CERR_IO, zh_error_message(bad));
    zh_error_free(bad);
    return err;
  }
  zh_host_instance *hi = zh_host_instance_of(call);
  if (!hi || !hi->vars)
    return config_error(result, CERR_UPSTREAM, not_ready);
  const char *value = zh_host_vars_inst_get(hi->vars, key);
  zh_val opt = zh_val_none(), s;
  zh_error *err = NULL;
  if (value && !(err = zh_val_string_cstr(&s, value)))
    err = zh_val_some(&opt, &s);
  return err ? err : zh_val_ok(result, &opt);
}

static zh_error *host_get_all(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                              zh_val *result) {
  (void)env, (void)args, (void)nargs;
  zh_host_instance *hi = zh_host_instance_of(call);
  if (!hi || !hi->vars)
    return config_error(result, CERR_UPSTREAM, not_ready);
  size_t n = zh_host_vars_inst_count(hi->vars);
  zh_val list;
  zh_error *err = zh_val_list(&list, n);
  for (size_t i = 0; i < n && !err; i++) {
    const char *name, *value;
    zh_host_vars_inst_at(hi->vars, i, &name, &value);
    zh_val *pair = &zh_val_list_items(&list)[i];
    if ((err = zh_val_tuple(pair, 2)))
      break;
    if (!(err = zh_val_string_cstr(&zh_val_fields(pair)[0], name)))
      err = zh_val_string_cstr(&zh_val_fields(pair)[1], value);
  }
  if (err) {
    zh_val_drop(&list);
    return err;
  }
  return zh_val_ok(result, &list);
}

zh_error *zh_host_wasi_config_define_linker(zh_cm_linker *linker) {
  static const struct {
    const char *name;
    zh_cm_host_fn fn;
  } funcs[] = {{"get", host_get}, {"get-all", host_get_all}};
  for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
    const zh_wit_func *type = zh_host_func(CONFIG_IFACE, funcs[i].name);
    if (!type)
      return zh_error_new(ZH_ERR_USAGE, "%s: %s is not in the built-in WIT", CONFIG_IFACE,
                          funcs[i].name);
    zh_error *err =
        zh_cm_linker_define_func(linker, CONFIG_IFACE, funcs[i].name, type, funcs[i].fn, NULL);
    if (err)
      return err;
  }
  return NULL;
}
