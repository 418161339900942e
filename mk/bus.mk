# The in-process event bus (src/host/bus*.c): its end-to-end test and its benchmark.
#
# tests/host/test_bus.c runs `zerohop up` with tests/host/guests/bus_guest.c, built by
# mk/host.mk's pattern rules (bindings from `zerohop bindgen c`, Debian's clang, `jco new
# --wasi-reactor`) into build/components/host/bus_guest.wasm.
# (spelled out: this fragment is read before mk/components.mk defines COMP_DIR)
BUS_GUEST := build/components/host/bus_guest.wasm

$(BUILD)/tests/host/test_bus: $(BUS_GUEST) $(BUILD)/zerohop
components: $(BUS_GUEST)

# ---- make bench-hops-bus: local bus publish->handled against a Redis pub/sub round trip ----
BUS_BENCH := $(BUILD)/bench/bus_bench
$(BUS_BENCH): bench/bus_bench.c $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

.PHONY: bench-hops-bus
bench-hops-bus: $(BUS_BENCH)
	$(BUS_BENCH)

# ---- make bench-bus-cpu: the zero-hop orders example's CPU per request and per ledger event ----
# ZEROHOP_REF=path/to/another/zerohop measures it too, round by round with this build's.
.PHONY: bench-bus-cpu
bench-bus-cpu: $(BUILD)/zerohop example-orders
	BUILD=$(BUILD) bash bench/bus_cpu.sh $(ZEROHOP_REF) $(BUILD)/zerohop
