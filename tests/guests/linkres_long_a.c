/* linkres_a.c against an interface with a very long name (linkres_long.h). */
#include "linkres_long.h"

#include "linkres_a.c"
