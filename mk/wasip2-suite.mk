# The official WASI testsuite as WASI 0.2 command components (issue 7, "WASI 0.2 through the
# official suite"): `make wasi-p2` wraps every program with jco's preview1 command adapter
# (scripts/wasi-p2-wrap.sh, into build/wasi-p2/) and runs each through `$(BUILD)/zerohop run`
# with tests/wasi/run_testsuite.c's --cli mode, against the same JSON specifications. The one
# difference allowed: a non-zero expected exit code reads as 1 (the adapter makes it so).
# tests/wasi/p2-adapter-limits.txt lists what jco's adapter itself cannot run (skipped).
# Prints "wasi-p2: N passed, M failed, K skipped" into $(BUILD)/wasi-p2.log.
.PHONY: wasi-p2
EXTRA_CHECKS += wasi-p2

wasi-p2: $(BUILD)/wasi_suite $(BUILD)/zerohop
	@rm -f $(BUILD)/wasi-p2.log
	@$(MAKE) --no-print-directory wasi-p2-wrap
	@bash scripts/summarize.sh run $(BUILD)/wasi-p2.log $(BUILD)/wasi_suite \
	  --cli $(BUILD)/zerohop --skip tests/wasi/p2-adapter-limits.txt build/wasi-p2/c build/wasi-p2/assemblyscript
