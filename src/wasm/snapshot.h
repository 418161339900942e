/* Snapshot internals other parts of zerohop may use (the public API is in engine.h). */
#ifndef ZH_WASM_SNAPSHOT_H
#define ZH_WASM_SNAPSHOT_H

#include "zerohop/engine.h"

#include <stddef.h>
#include <stdint.h>

/* Where the copies (from zh_snapshot_instantiate) have `p`: a pointer into a member's
 * original block moves to the same offset in that member's copy, anything else stays as
 * it is. Returns that member and sets *offset (the copy's pointer is then
 * (char *)copies[member] + offset), or -1. The copies' exports are exactly the originals'
 * relocated, so a caller that knows an original export's address plans the copies' once,
 * with no lookup by name per copy. */
int64_t zh_snapshot_locate(const zh_snapshot *snap, const void *p, size_t *offset);

#endif
