# Group snapshots (src/wasm/snapshot.c): the per-request instantiation benchmark.
#
#   make bench-snapshot [SNAPSHOT_ITERS=2000] [CJS_CORE=path/to/starlingmonkey_embedding.wasm]
#
# CJS_CORE defaults to componentize-js's StarlingMonkey core module when the npm package is
# installed in node_modules; without it only the synthetic group runs.
SNAPSHOT_ITERS ?= 2000
CJS_CORE ?= $(wildcard node_modules/@bytecodealliance/componentize-js/lib/starlingmonkey_embedding.wasm)

.PHONY: bench-snapshot

$(BUILD)/bench/snapshot: bench/snapshot.c bench/wasm_bytes.h $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

bench-snapshot: $(BUILD)/bench/snapshot
	$(BUILD)/bench/snapshot $(SNAPSHOT_ITERS) "$(CJS_CORE)"
