# zerohop build.
#
#   make demo        install dependencies, build, serve the example app (zerohop up)
#   make test        install dependencies, run every test plain and under ASan/UBSan
#   make             the library (build/libzerohop.a), the CLI (build/zerohop), the example
#   make check       unit tests + spec suite; ends with "check: N passed, M failed"
#   make spec        the official spec suite alone
#   make asan-check  `make check` under AddressSanitizer + UndefinedBehaviorSanitizer
#   make spec-bounds the spec suite built with explicit bounds checks (-DZH_BOUNDS_CHECKS)
#   make bench       interpreter benchmarks against native code, instantiation, start-up
#   make bench-interrupt  what the interrupt checks on branches and calls cost
#   make lint        clang-tidy + cppcheck over src/
#   make format      clang-format in place; `make format-check` only reports
#   make fuzz        builds and runs the libFuzzer harnesses in tests/fuzz/ (fuzz-build, fuzz-run)
#
# Sources are found by wildcard: a new .c file under src/<subsystem>/ joins the library, a
# new tests/<subsystem>/test_*.c becomes a unit test, a new tests/guests/*.c a wasm guest.
# A subsystem's own targets and libraries go in a fragment mk/<subsystem>.mk, included at
# the end of this file.

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2
SANITIZE ?=
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -fno-strict-aliasing \
               -Iinclude -Isrc $(OPT) $(SANITIZE) $(EXTRA_CFLAGS)
# Subsystems append the Debian libraries they need to LDLIBS_EXTRA in their mk/*.mk fragment.
LDLIBS_EXTRA :=
LDLIBS_BASE = $(LDLIBS_EXTRA) -lpthread -lm

WASM_CC    ?= clang
WASM_FLAGS ?= --target=wasm32-wasi --sysroot=/usr -O2

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/*/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%)
GUEST_SRC := $(sort $(wildcard tests/guests/*.c))
GUEST_WASM := $(GUEST_SRC:tests/guests/%.c=$(BUILD)/guests/%.wasm)
EXAMPLE_WASM := $(BUILD)/examples/hello.wasm

.PHONY: all check unit spec guests examples bench bench-build asan-check lint format \
        format-check fuzz clean deps demo test bench-interrupt spec-bounds

all: $(BUILD)/zerohop $(BUILD)/libzerohop.a examples

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -MMD -MP -c $< -o $@

$(BUILD)/libzerohop.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The CLI links dynamically: libcurl (WASI 0.2's outgoing HTTP) has no static build in Debian
# (its .a needs libssh2, libpsl, nghttp2, ... without their static archives). Linking
# statically saved about 0.4 ms of `zerohop run hello.wasm` (docs/PERFORMANCE.md, start-up).
CLI_LDFLAGS ?=
$(BUILD)/zerohop: $(CLI_OBJ) $(BUILD)/libzerohop.a
	$(CC) $(CFLAGS_BASE) $(CLI_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libzerohop.a $(LDLIBS_BASE)

$(BUILD)/examples/%.wasm: examples/%.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_FLAGS) -o $@ $<

# examples/embed.c is the embedding example: a native program linking the library.
$(BUILD)/examples/embed: examples/embed.c $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

examples: $(EXAMPLE_WASM) $(BUILD)/examples/embed

# ---- the two commands of the README ----

deps:
	@bash scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all example-app
	BUILD=$(BUILD) bash scripts/demo.sh

# Everything, plain and sanitized; the last line sums both: "check: N passed, M failed".
ASAN_BUILD := build-asan
BC_BUILD := build-bc
test: deps
	@rm -f $(BUILD)/unit.log $(BUILD)/spec.log $(ASAN_BUILD)/unit.log $(ASAN_BUILD)/spec.log \
	  $(BC_BUILD)/spec.log $(BUILD)/wasi.log $(ASAN_BUILD)/wasi.log
	@status=0; \
	$(MAKE) --no-print-directory check || status=1; \
	$(MAKE) --no-print-directory asan-check || status=1; \
	$(MAKE) --no-print-directory spec-bounds || status=1; \
	echo "== make test: all groups, plain, sanitized and with explicit bounds checks"; \
	bash scripts/summarize.sh total check $(BUILD)/unit.log $(BUILD)/spec.log \
	  $(ASAN_BUILD)/unit.log $(ASAN_BUILD)/spec.log $(BC_BUILD)/spec.log \
	  $(BUILD)/wasi.log $(ASAN_BUILD)/wasi.log $(EXTRA_CHECKS:%=$(BUILD)/%.log) \
	  $(EXTRA_CHECKS:%=$(ASAN_BUILD)/%.log) || status=1; \
	exit $$status

# The spec suite with explicit bounds checks compiled in instead of guard pages.
spec-bounds:
	@$(MAKE) --no-print-directory BUILD=$(BC_BUILD) EXTRA_CFLAGS=-DZH_BOUNDS_CHECKS spec

# ---- tests ----
$(BUILD)/tests/%: tests/%.c $(BUILD)/libzerohop.a tests/testlib.h tests/testutil.h tests/wit/guest_build.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

$(BUILD)/spec_runner: tests/spec/runner.c $(BUILD)/libzerohop.a
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a -ljansson $(LDLIBS_BASE)

$(BUILD)/guests/%.wasm: tests/guests/%.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_FLAGS) -o $@ $<

guests: $(GUEST_WASM)

# Builds what it can (-k), then runs every unit test even after one fails; a test that did
# not build, crashed or exited non-zero counts as a failure. Results go to $(BUILD)/unit.log.
unit:
	@mkdir -p $(BUILD) && : > $(BUILD)/unit.log
	@status=0; \
	$(MAKE) --no-print-directory -k $(UNIT_BIN) $(BUILD)/zerohop guests || status=1; \
	for t in $(UNIT_BIN); do \
	  echo "== $$t"; \
	  ZH_BUILD=$(BUILD) bash scripts/summarize.sh run $(BUILD)/unit.log $$t || status=1; \
	done; \
	exit $$status

SPEC_DIR ?= ../shared/testsuites/wasm-spec/json
spec: $(BUILD)/spec_runner
	@rm -f $(BUILD)/spec.log
	@bash scripts/summarize.sh run $(BUILD)/spec.log $(BUILD)/spec_runner $(SPEC_DIR)

# unit and spec both run even when one fails; a group that did not build counts as failed.
CHECK_LABEL ?= check
# Fragments add test groups to EXTRA_CHECKS: each name G is a make target that writes its
# "N passed, M failed" lines to $(BUILD)/G.log.
EXTRA_CHECKS :=
check:
	@rm -f $(BUILD)/unit.log $(BUILD)/spec.log $(BUILD)/wasi.log $(EXTRA_CHECKS:%=$(BUILD)/%.log)
	@status=0; \
	$(MAKE) --no-print-directory all || status=1; \
	$(MAKE) --no-print-directory unit || status=1; \
	$(MAKE) --no-print-directory spec || status=1; \
	$(MAKE) --no-print-directory wasi-suite || status=1; \
	for g in $(EXTRA_CHECKS); do $(MAKE) --no-print-directory $$g || status=1; done; \
	bash scripts/summarize.sh total $(CHECK_LABEL) $(BUILD)/unit.log $(BUILD)/spec.log \
	  $(BUILD)/wasi.log $(EXTRA_CHECKS:%=$(BUILD)/%.log) || status=1; \
	exit $$status

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan-check:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT=-O1 CHECK_LABEL=asan-check \
	  SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  check

# ---- benchmarks (docs/PERFORMANCE.md) ----
# Guest programs: compiled to wasm32-wasi and, as the reference, natively with gcc -O2.
BENCH_GUESTS := fib sha256 crc32 nbody matmul mixed
# The widened set: what the six above do not stress (switch-heavy state machines, pointer
# chasing, call_indirect, string copies and fills, 64-bit mixing, a mixed main loop).
BENCH_WIDE   := fsm chase indirect strings mix64 loopmix
NATIVE_CC    ?= gcc
NATIVE_FLAGS ?= -O2
BENCH_WASM   := $(BENCH_GUESTS:%=$(BUILD)/bench/%.wasm) $(BENCH_WIDE:%=$(BUILD)/bench/%.wasm)
BENCH_NATIVE := $(BENCH_GUESTS:%=$(BUILD)/bench/%.native) $(BENCH_WIDE:%=$(BUILD)/bench/%.native) \
                $(BUILD)/bench/hello.native
# Its copies and fills of run-time sizes become memory.copy and memory.fill.
$(BUILD)/bench/strings.wasm: WASM_FLAGS += -mbulk-memory

$(BUILD)/bench/%.wasm: bench/%.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_FLAGS) -o $@ $<

$(BUILD)/bench/%.native: bench/%.c
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_FLAGS) -o $@ $< -lm

$(BUILD)/bench/hello.native: examples/hello.c
	@mkdir -p $(dir $@)
	$(NATIVE_CC) $(NATIVE_FLAGS) -o $@ $<

$(BUILD)/bench/instantiate: bench/instantiate.c bench/wasm_bytes.h $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

bench-build: all $(BENCH_WASM) $(BENCH_NATIVE) $(BUILD)/bench/instantiate

bench: bench-build
	BUILD=$(BUILD) BENCH_BASE="$(BENCH_GUESTS)" bash bench/run.sh $(BENCH_GUESTS) $(BENCH_WIDE)
	BUILD=$(BUILD) bash bench/startup.sh
	$(BUILD)/bench/instantiate

# What the interrupt checks cost: the same benchmarks against a CLI built without them.
NOINT_BUILD := build-noint
bench-interrupt: bench-build
	@$(MAKE) --no-print-directory BUILD=$(NOINT_BUILD) EXTRA_CFLAGS=-DZH_NO_INTERRUPT_CHECKS \
	  $(NOINT_BUILD)/zerohop
	BUILD=$(BUILD) NOINT=$(NOINT_BUILD) bash bench/interrupt.sh $(BENCH_GUESTS)


# ---- lint and format ----
LINT_SRC   := $(LIB_SRC) $(CLI_SRC)
FORMAT_SRC := $(sort $(wildcard src/*/*.[ch] include/zerohop/*.h tests/*.h tests/*/*.c \
                                bench/*.c examples/*.c))

# Both tools run even when the first reports something; lint fails if either does.
# cppcheck cannot parse GNU labels-as-values (the interpreter's computed-goto dispatch), so it
# skips interp.c; clang-tidy still covers that file.
CPPCHECK_SUPPRESS := --suppress=syntaxError:src/wasm/interp.c
lint:
	@status=0; \
	echo "== clang-tidy"; \
	clang-tidy --quiet $(LINT_SRC) -- -std=c11 -D_GNU_SOURCE -Iinclude -Isrc \
	  -Wno-unknown-attributes || status=1; \
	echo "== cppcheck"; \
	cppcheck --quiet --std=c11 --enable=warning,performance,portability --error-exitcode=1 \
	  --inline-suppr $(CPPCHECK_SUPPRESS) -D_GNU_SOURCE -Iinclude -Isrc src/ || status=1; \
	exit $$status

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

# ---- fuzzing (tests/fuzz/README.md, docs/FUZZING.md) ----
# Each tests/fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput. fuzz-build compiles the library
# and the harnesses with FUZZ_CC under libFuzzer + ASan + UBSan into build-fuzz/; fuzz-run runs
# each harness for FUZZ_SECONDS, one job at a time, with a writable corpus in
# build-fuzz/corpus/NAME and the spec suite's files as read-only seeds. Crashes, leaks and
# hangs land in build-fuzz/ (crash-*, leak-*, timeout-*, oom-*).
FUZZ_BUILD   := build-fuzz
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?= -max_len=65536 -timeout=5 -rss_limit_mb=4096
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: fuzz-build fuzz-run

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libzerohop.a
	$(CC) $(CFLAGS_BASE) -Itests -fsanitize=fuzzer -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

fuzz-build:
	@if [ -z "$(FUZZ_BIN)" ]; then echo "fuzz: no harnesses (tests/fuzz/fuzz_*.c)"; exit 0; fi; \
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPT=-O1 \
	  SANITIZE="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_BIN)

fuzz-run: fuzz-build
	@set -e; for f in $(FUZZ_BIN); do \
	  name=$$(basename $$f); corpus=$(FUZZ_BUILD)/corpus/$$name; mkdir -p $$corpus; \
	  seeds=; if [ -d "$(SPEC_DIR)" ]; then seeds="$(SPEC_DIR)"; fi; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) -artifact_prefix=$(FUZZ_BUILD)/ \
	    $$corpus $$seeds; \
	done

fuzz: fuzz-run

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

clean:
	rm -rf build build-asan build-fuzz build-bc build-noint build-simd-portable

# ---- the official WASI preview1 testsuite (tests/wasi/run_testsuite.c) ----
# Runs every .wasm of the C and AssemblyScript suites against the library; fixtures are
# copied to a scratch directory first. Results go to $(BUILD)/wasi.log for the totals.
WASI_SUITE_DIR ?= ../shared/testsuites/wasi
.PHONY: wasi-suite

$(BUILD)/wasi_suite: tests/wasi/run_testsuite.c $(BUILD)/libzerohop.a tests/testutil.h
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a -ljansson $(LDLIBS_BASE)

wasi-suite: $(BUILD)/wasi_suite
	@rm -f $(BUILD)/wasi.log
	@bash scripts/summarize.sh run $(BUILD)/wasi.log $(BUILD)/wasi_suite \
	  $(WASI_SUITE_DIR)/c $(WASI_SUITE_DIR)/assemblyscript

# ---- component calls (bench/call.c, docs/PERFORMANCE.md "Component calls") ----
# Guest A -> guest B through the link adapter (0 B, 1 KiB, 64 KiB lists), host -> guest, and a
# loopback Redis PING as the reference when redis-server is installed.
.PHONY: bench-call
$(BUILD)/bench/call: bench/call.c $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

bench-call: $(BUILD)/bench/call $(BUILD)/guests/link_a.wasm $(BUILD)/guests/link_b.wasm
	$(BUILD)/bench/call $(BUILD)

# ---- subsystem fragments (targets, LDLIBS_EXTRA, extra test groups) ----
-include $(sort $(wildcard mk/*.mk))
