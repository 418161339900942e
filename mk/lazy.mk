# Large modules (issue 8, scope 3): lazy compilation and parallel validation.
#
#   make bench-startup-large [LARGE_RUNS=11]   `zerohop run` of 13, 30 and 75 MB modules that
#                                              return at once, lazy against ZH_EAGER=1, and
#                                              the first call of a large function
# The modules come from node_modules (scripts/deps.sh runs `npm ci`); a missing one is skipped.
LARGE_RUNS ?= 11

.PHONY: bench-startup-large

$(BUILD)/bench/first_call: bench/first_call.c tests/testutil.h $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

bench-startup-large: $(BUILD)/zerohop $(BUILD)/bench/first_call
	BUILD=$(BUILD) LARGE_RUNS=$(LARGE_RUNS) bash bench/startup_large.sh
