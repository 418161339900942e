# Multi-memory tests (tests/wasm/test_multimem.c): modules in the text format under
# tests/wasm/multimem/, assembled at build time with wabt's wat2wasm (Debian's wabt, in
# scripts/deps.sh). The invalid_*.wat modules skip wabt's own validation, so that the
# engine's errors are what the test sees. The components under multimem/components/ (canon
# options naming memory 1) are assembled by jco's text parser, from the npm toolchain.
MULTIMEM_WAT  := $(sort $(wildcard tests/wasm/multimem/*.wat))
MULTIMEM_WASM := $(MULTIMEM_WAT:tests/wasm/multimem/%.wat=$(BUILD)/wat/multimem/%.wasm)
MULTIMEM_CWAT := $(sort $(wildcard tests/wasm/multimem/components/*.wat))
MULTIMEM_WASM += $(MULTIMEM_CWAT:tests/wasm/multimem/%.wat=$(BUILD)/wat/multimem/%.wasm)

$(BUILD)/wat/multimem/components/%.wasm: tests/wasm/multimem/components/%.wat \
  node_modules/.package-lock.json
	@mkdir -p $(dir $@)
	node_modules/.bin/jco parse $< -o $@

$(BUILD)/wat/multimem/%.wasm: tests/wasm/multimem/%.wat
	@mkdir -p $(dir $@)
	wat2wasm --enable-multi-memory $(if $(filter invalid_%,$*),--no-check) -o $@ $<

$(BUILD)/tests/wasm/test_multimem: $(MULTIMEM_WASM)

# The interpreter benchmarks against another build of zerohop, alternating (bench/ab.sh):
#   make bench-ab AB_BASE=/path/to/base/build/zerohop [RUNS=7]
.PHONY: bench-ab
bench-ab: bench-build
	BASE=$(AB_BASE) BUILD=$(BUILD) bash bench/ab.sh $(BENCH_GUESTS)
