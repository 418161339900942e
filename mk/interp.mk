# The interpreter's fusions for libc string loops (docs/PERFORMANCE.md §1, "Fusions for libc
# string loops"):
#   make bench-interp-instr ZEROHOP_REF=/path/to/reference/zerohop
#     callgrind instruction counts of `zerohop run` on the bench programs and on
#     bench/textscan.c (memchr, strlen, strcmp, strtol over text), against the reference.
.PHONY: bench-interp-instr

bench-interp-instr: all $(BENCH_WASM) $(BUILD)/bench/textscan.wasm
	BUILD=$(BUILD) ZEROHOP_REF=$(ZEROHOP_REF) bash bench/interp_instr.sh
