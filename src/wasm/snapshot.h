/* Snapshot internals other parts of zerohop may use (the public API is in engine.h). */
#ifndef ZH_WASM_SNAPSHOT_H
#define ZH_WASM_SNAPSHOT_H

#include "zerohop/engine.h"

/* `p` as the copies `copies` (from zh_snapshot_instantiate) see it: a pointer into a
 * member's original block moves to the same offset in that member's copy, anything else
 * is unchanged. The copies' exports are exactly the originals' exports relocated, so a
 * caller that knows an original export's address gets the copy's without a name lookup. */
void *zh_snapshot_reloc(const zh_snapshot *snap, zh_instance *const *copies, const void *p);

#endif
