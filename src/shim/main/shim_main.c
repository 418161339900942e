/* containerd-shim-zerohop-v2: containerd's runtime io.containerd.zerohop.v2 (src/shim/shim.h).
 * Kept out of the library (a main() there would be linked into other programs). */
#include "shim/shim.h"

int main(int argc, char **argv) { return zh_shim_main(argc, argv); }
