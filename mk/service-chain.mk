# ---- local service chaining and self requests (src/host/app_chain.c, issue 10 scope 2) ----
#
# tests/host/test_chain.c runs `zerohop up` on apps of chain_caller (tests/host/guests, built
# by mk/host.mk's pattern rules: a wasi:http handler that forwards its request through
# wasi:http/outgoing-handler), echo_http, spin_v1, js-outbound (fetch) and the misbehaving
# c-http-hostile; tests/host/test_chain_hops.c loads such an app in process.
#
#   make bench-hops-chain   one chained request with a 1 KiB body, against the same request
#                           served directly, in the same run (bench/chain.sh,
#                           bench/chain_bench.c): prints
#                           `chain: median N us p99 N us` (docs/PERFORMANCE.md).
#   make bench-hops-chain-instr   the hop's instructions (callgrind): the whole chained
#                           request, the callee's side and its handler, for echo_http and
#                           the C hello as callees (bench/chain_instructions.sh;
#                           ZEROHOP_REF=path/to/zerohop counts another build first).
CHAIN_WASM := $(COMP_DIR)/host/chain_caller.wasm $(COMP_DIR)/host/echo_http.wasm \
              $(COMP_DIR)/c-http-hostile.wasm $(COMP_DIR)/host/spin_v1.wasm \
              $(COMP_DIR)/js-outbound.wasm

$(BUILD)/tests/host/test_chain: $(CHAIN_WASM) $(BUILD)/zerohop tests/httpclient.h

.PHONY: bench-hops-chain bench-hops-chain-instr
bench-hops-chain: $(BUILD)/zerohop $(BUILD)/bench/chain_bench $(CHAIN_WASM)
	BUILD=$(BUILD) bash bench/chain.sh

bench-hops-chain-instr: $(BUILD)/zerohop $(CHAIN_WASM) $(COMP_DIR)/c-http-hello.wasm
	BUILD=$(BUILD) ZEROHOP_REF=$(ZEROHOP_REF) bash bench/chain_instructions.sh

$(BUILD)/bench/chain_bench: bench/chain_bench.c tests/httpclient.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O2 -Itests -o $@ $<
$(BUILD)/tests/host/test_chain_hops: $(CHAIN_WASM) tests/httpclient.h
