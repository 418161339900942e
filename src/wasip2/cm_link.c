/* The WASI 0.2 host on a component linker (zerohop/cm.h): every function of the hosted WIT
 * that the table implements, and every resource type with its destructor, defined once per
 * linker. A call finds its instance's zh_wasip2_ctx as the instance's data
 * (zh_cm_call_data), so one linker serves any number of instances, each with its own ctx.
 * Definitions carry the hosted 0.2.12 versions; the linker's semver matching lets imports of
 * any 0.2.x reach them. */
#include "wasip2/wasip2_internal.h"
#include "zerohop/cm.h"

#include <string.h>

static zh_error *call_entry(zh_cm_call *call, void *env, zh_val *args, size_t nargs,
                            zh_val *result) {
  const zh_wasip2_entry *e = env;
  zh_wasip2_ctx *cx = zh_cm_call_data(call);
  if (!cx)
    return zh_error_new(ZH_ERR_TRAP, "%s#%s: the instance has no WASI 0.2 context", e->iface,
                        e->name);
  cx->ret_slot = zh_cm_call_payload_slot(call);
  zh_error *err = e->fn(cx, args, nargs, result);
  cx->ret_slot = NULL;
  return err;
}

static void call_dtor(void *env, void *data, uint64_t rep) {
  const zh_wasip2_resource *r = env;
  if (data)
    r->dtor((zh_wasip2_ctx *)data, rep);
}

/* One hosted interface: its implemented functions and its resources. */
static zh_error *define_iface(zh_cm_linker *l, const zh_wit_interface *in) {
  zh_error *err = NULL;
  for (size_t f = 0; f < in->nfuncs && !err; f++) {
    const zh_wit_func *fn = in->funcs[f];
    const zh_wasip2_entry *e = zh_wasip2_lookup(in->qualified, fn->abi_name);
    if (e) /* an unimplemented function stays undefined: importing it fails to link */
      /* the WASI 0.2 functions copy what they keep of their arguments */
      err = zh_cm_linker_define_func_reading(l, in->qualified, fn->abi_name, fn, call_entry,
                                             (void *)e);
  }
  for (size_t t = 0; t < in->ntypes && !err; t++) {
    const zh_wit_type *ty = in->types[t];
    if (ty->kind != ZH_WIT_RESOURCE)
      continue; /* `use`d resources belong to their own interface */
    const zh_wasip2_resource *r = zh_wasip2_lookup_resource(in->qualified, ty->name);
    err = zh_cm_linker_define_resource(l, in->qualified, ty->name, r ? call_dtor : NULL, (void *)r);
  }
  return err;
}

zh_error *zh_wasip2_define_linker(zh_cm_linker *linker) {
  const zh_wit *wit;
  zh_error *err = zh_wasip2_wit(&wit);
  for (size_t p = 0; !err && p < zh_wit_package_count(wit); p++) {
    const zh_wit_package *pkg = zh_wit_package_at(wit, p);
    if (strcmp(pkg->ns, "wasi") != 0)
      continue;
    for (size_t i = 0; i < pkg->ninterfaces && !err; i++)
      err = define_iface(linker, pkg->interfaces[i]);
  }
  return err;
}
