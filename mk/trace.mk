# Hop tracing, the admin endpoint, the wiring print and `zerohop graph` (src/host/hops*.c,
# admin.c, wiring*.c, src/cli/graph.c).

# ---- tests/host/test_hops_up.c: zerohop up and zerohop graph end to end ----
# Its components: hop_pub (tests/host/guests/hop_pub.c, built by mk/host.mk's pattern rules),
# the Redis guest (mk/redis.mk) and the JS outbound-HTTP guest (mk/components.mk).
$(BUILD)/tests/host/test_hops_up: $(COMP_DIR)/host/hop_pub.wasm $(COMP_DIR)/redis-c.wasm \
                                  $(COMP_DIR)/js-outbound.wasm $(BUILD)/zerohop

# ---- make graph APP=DIR [RC=FILE] [TRACE=SCRAPE] [OUT=docs/NAME.svg] ----
# Draws an app's wiring into docs/ (for the README's pictures).
APP ?= examples/app
OUT ?= docs/$(notdir $(abspath $(APP))).svg
.PHONY: graph
graph: $(BUILD)/zerohop
	$(BUILD)/zerohop graph -f $(APP) $(if $(RC),--runtime-config-file $(RC)) \
	  $(if $(TRACE),--trace $(TRACE)) -o $(OUT)
	@echo "graph: wrote $(OUT)"

# ---- make bench-hop-record: what recording one hop costs (bench/hop_record.c) ----
.PHONY: bench-hop-record
$(BUILD)/bench/hop_record: bench/hop_record.c $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

bench-hop-record: $(BUILD)/bench/hop_record
	$(BUILD)/bench/hop_record
