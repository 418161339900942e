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
