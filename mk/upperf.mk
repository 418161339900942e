# ---- `zerohop up` throughput: instructions per request (bench/up_instructions.sh) ----
# callgrind's count of the C hello's user-space instructions per request under `zerohop up`,
# the repeatable figure beside bench-http's req/s (docs/PERFORMANCE.md section 11).
#   make bench-up-instr [ZEROHOP_REF=/path/to/older/zerohop] [N=4000] [ROUNDS=3]
.PHONY: bench-up-instr
bench-up-instr: all $(COMP_DIR)/c-http-hello.wasm
	BUILD=$(BUILD) bash bench/up_instructions.sh
