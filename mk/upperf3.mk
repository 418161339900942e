# ---- make bench-reset-probe: what a reset in place pays to find the pages a request
# wrote (bench/reset_probe.c; docs/PERFORMANCE.md section 11) ----
#   make bench-reset-probe [ROUNDS=7] [CALLS=100000]
.PHONY: bench-reset-probe
$(BUILD)/bench/reset_probe: bench/reset_probe.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $<

bench-reset-probe: $(BUILD)/bench/reset_probe
	$(BUILD)/bench/reset_probe $(or $(ROUNDS),7) $(or $(CALLS),100000)
