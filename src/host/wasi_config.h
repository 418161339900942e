/* `wasi:config/store@0.2.0-draft-2024-09-27` for the app host: the same component variables
 * as `fermyon:spin/variables` (variables.h), as Spin serves them. `get` answers none for a
 * variable the component does not define and io(message) for an invalid name; `get-all`
 * lists every variable of the component in the manifest's order. */
#ifndef ZH_HOST_WASI_CONFIG_H
#define ZH_HOST_WASI_CONFIG_H

#include "zerohop/cm.h"
#include "zerohop/engine.h"

/* Defines `get` and `get-all` on a component linker. The per-instance state is the variables
 * module's (zh_host_instance.vars); while a template initialises there is none, and both
 * answer upstream(message). */
zh_error *zh_host_wasi_config_define_linker(zh_cm_linker *linker);

#endif
