# Multi-memory tests (tests/wasm/test_multimem.c): modules in the text format under
# tests/wasm/multimem/, assembled at build time with wabt's wat2wasm (Debian's wabt, in
# scripts/deps.sh). The invalid_*.wat modules skip wabt's own validation, so that the
# engine's errors are what the test sees.
MULTIMEM_WAT  := $(sort $(wildcard tests/wasm/multimem/*.wat))
MULTIMEM_WASM := $(MULTIMEM_WAT:tests/wasm/multimem/%.wat=$(BUILD)/wat/multimem/%.wasm)

$(BUILD)/wat/multimem/%.wasm: tests/wasm/multimem/%.wat
	@mkdir -p $(dir $@)
	wat2wasm --enable-multi-memory $(if $(filter invalid_%,$*),--no-check) -o $@ $<

$(BUILD)/tests/wasm/test_multimem: $(MULTIMEM_WASM)
