# SIMD (v128) benchmark: bench/simd.c built three ways, timed against each other in one run
# by bench/simd.sh (docs/PERFORMANCE.md, "SIMD").
.PHONY: bench-simd

$(BUILD)/bench/simd.simd.wasm: bench/simd.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_FLAGS) -msimd128 -o $@ $<

$(BUILD)/bench/simd.scalar.wasm: bench/simd.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_FLAGS) -o $@ $<

bench-simd: $(BUILD)/zerohop $(BUILD)/bench/simd.simd.wasm $(BUILD)/bench/simd.scalar.wasm \
            $(BUILD)/bench/simd.native
	BUILD=$(BUILD) bash bench/simd.sh

# The spec suite against the portable SIMD semantics (simd.h without SSE2 intrinsics).
SIMD_PORTABLE_BUILD := build-simd-portable
.PHONY: spec-simd-portable
spec-simd-portable:
	@$(MAKE) --no-print-directory BUILD=$(SIMD_PORTABLE_BUILD) EXTRA_CFLAGS=-DZH_SIMD_PORTABLE spec

# `make bench` runs the SIMD program too (before the scalar set, as a prerequisite).
bench: bench-simd
