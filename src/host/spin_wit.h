/* The Spin WIT that the app host implements (wit/spin/, built in by mk/host.mk).
 *
 * Host interface modules take their function types from here when they define themselves on
 * a component linker, so a guest's import is checked against Spin's exact definitions. */
#ifndef ZH_HOST_SPIN_WIT_H
#define ZH_HOST_SPIN_WIT_H

#include "zerohop/engine.h"
#include "zerohop/wit.h"

/* The parsed hosted WIT, parsed on first use and kept for the process (thread-safe). */
zh_error *zh_host_wit(const zh_wit **out);
/* A hosted interface by its qualified name with the exact version it is hosted at
 * ("fermyon:spin/key-value@2.0.0", "fermyon:spin/inbound-http"), or NULL. */
const zh_wit_interface *zh_host_interface(const char *qualified);
/* A function of a hosted interface by its ABI name ("[method]store.get"), or NULL. */
const zh_wit_func *zh_host_func(const char *qualified, const char *func);

#endif
