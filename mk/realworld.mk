# Real-world WASI programs (issue 8): Yosys and Clang/LLD from npm, pinned in package.json.
#   make realworld         run them under build/zerohop and check their output (a test group)
#   make bench-realworld   time them against Node.js's node:wasi; start-up of the largest module
# The packages live in node_modules/ (scripts/deps.sh runs `npm ci`); realworld-deps installs
# them when that has not happened yet.

EXTRA_CHECKS += realworld
.PHONY: realworld realworld-deps bench-realworld

realworld-deps:
	@if [ ! -f node_modules/@yowasp/yosys/gen/yosys.core.wasm ] || \
	    [ ! -f node_modules/@yowasp/clang/gen/llvm.core.wasm ]; then \
	  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
	  else npm install --no-audit --no-fund --no-save; fi; \
	fi

realworld: $(BUILD)/zerohop realworld-deps
	@rm -f $(BUILD)/realworld.log
	@ZH_BUILD=$(BUILD) bash scripts/summarize.sh run $(BUILD)/realworld.log \
	  bash tests/realworld/run.sh

bench-realworld: $(BUILD)/zerohop realworld-deps
	BUILD=$(BUILD) bash bench/realworld.sh
