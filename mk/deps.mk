# Component dependencies (src/host/app_deps.c, tests/host/test_deps.c).
#
# The test components are built like mk/host.mk's (its pattern rules): tests/host/guests/
# NAME.c on NAME.wit, bindings from `zerohop bindgen c`, Debian's clang, embed.mjs and
# `jco new --wasi-reactor`, into build/components/host/NAME.wasm.
DEPS_GUESTS := deps_caller deps_callee deps_wrong deps_relay
DEPS_GUEST_WASM := $(DEPS_GUESTS:%=$(COMP_DIR)/host/%.wasm)

$(BUILD)/tests/host/test_deps: $(DEPS_GUEST_WASM) $(BUILD)/zerohop

# ---- one in-process call with a 1 KiB payload: median and p99 (docs/PERFORMANCE.md) ----
.PHONY: bench-hops-call
bench-hops-call: all $(DEPS_GUEST_WASM)
	BUILD=$(BUILD) bash bench/hops_call.sh
