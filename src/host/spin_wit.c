/* The built-in Spin WIT (src/wit/builtin.c parses it once per process). */
#include "spin_wit.h"

#include "wit/builtin.h"

#include <string.h>

extern const char zh_host_wit_text[];

static zh_wit_builtin hosted = ZH_WIT_BUILTIN_INIT("spin host (built-in WIT)", zh_host_wit_text);

zh_error *zh_host_wit(const zh_wit **out) { return zh_wit_builtin_get(&hosted, out); }

const zh_wit_interface *zh_host_interface(const char *qualified) {
  const zh_wit *wit;
  zh_error *err = zh_host_wit(&wit);
  if (err) {
    zh_error_free(err);
    return NULL;
  }
  for (size_t p = 0; p < zh_wit_package_count(wit); p++) {
    const zh_wit_package *pkg = zh_wit_package_at(wit, p);
    for (size_t i = 0; i < pkg->ninterfaces; i++)
      if (pkg->interfaces[i]->qualified && strcmp(pkg->interfaces[i]->qualified, qualified) == 0)
        return pkg->interfaces[i];
  }
  return NULL;
}

const zh_wit_func *zh_host_func(const char *qualified, const char *func) {
  const zh_wit_interface *iface = zh_host_interface(qualified);
  if (!iface)
    return NULL;
  for (size_t i = 0; i < iface->nfuncs; i++)
    if (strcmp(iface->funcs[i]->abi_name, func) == 0)
      return iface->funcs[i];
  return NULL;
}
