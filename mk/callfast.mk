# The component-dependency call, counted by instruction (docs/PERFORMANCE.md, section 12c):
#   make bench-hops-call-instr    instructions per call of bench/hops_call.sh's echo of 1 KiB,
#                                 split interpreter / adapter / libc / rest (callgrind)
.PHONY: bench-hops-call-instr
bench-hops-call-instr: all $(DEPS_GUEST_WASM)
	BUILD=$(BUILD) bash bench/call_instructions.sh

# test_const_addr also runs memory 1's form, from the multi-memory .wat (mk/multimem.mk's rule).
$(BUILD)/tests/wasm/test_const_addr: $(BUILD)/wat/multimem/const_addr.wasm
