/* linkres_b.c exporting an interface with a very long name (linkres_long.h): its destructor
 * export "IFACE#[dtor]counter" is longer than 300 bytes. */
#include "linkres_long.h"

#include "linkres_b.c"
