# zerohop build. `make` builds the library and the CLI (build/zerohop); `make check`
# runs every test; `make spec`, `make bench`, `make asan-check`, `make lint`, `make fuzz`.
# Sources are found by wildcard: a new .c file under src/<subsystem>/ joins the library.

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2
SANITIZE ?=
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -fno-strict-aliasing \
               -Iinclude -Isrc $(OPT) $(SANITIZE) $(EXTRA_CFLAGS)
LDLIBS_BASE := -lpthread -lm

WASM_CC    ?= clang
WASM_FLAGS ?= --target=wasm32-wasi --sysroot=/usr -O2

LIB_SRC  := $(sort $(wildcard src/wasm/*.c src/wasi/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/wasm/test_*.c tests/wasi/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%)
GUEST_SRC := $(sort $(wildcard tests/guests/*.c))
GUEST_WASM := $(GUEST_SRC:tests/guests/%.c=$(BUILD)/guests/%.wasm)
EXAMPLE_WASM := $(BUILD)/examples/hello.wasm

.PHONY: all check unit spec guests examples bench asan-check lint format fuzz clean deps

all: $(BUILD)/zerohop $(BUILD)/libzerohop.a examples

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -MMD -MP -c $< -o $@

$(BUILD)/libzerohop.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/zerohop: $(CLI_OBJ) $(BUILD)/libzerohop.a
	$(CC) $(CFLAGS_BASE) -o $@ $(CLI_OBJ) $(BUILD)/libzerohop.a $(LDLIBS_BASE)

# ---- tests ----
$(BUILD)/tests/%: tests/%.c $(BUILD)/libzerohop.a tests/testlib.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

$(BUILD)/spec_runner: tests/spec/runner.c $(BUILD)/libzerohop.a
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a -ljansson $(LDLIBS_BASE)

$(BUILD)/guests/%.wasm: tests/guests/%.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_FLAGS) -o $@ $<

$(BUILD)/examples/%.wasm: examples/%.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_FLAGS) -o $@ $<

examples: $(EXAMPLE_WASM)
guests: $(GUEST_WASM)

unit: $(UNIT_BIN) $(BUILD)/zerohop guests
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ZH_BUILD=$(BUILD) $$t; done

SPEC_DIR ?= ../shared/testsuites/wasm-spec/json
spec: $(BUILD)/spec_runner
	$(BUILD)/spec_runner $(SPEC_DIR)

check: all unit spec
	@echo "check: all test groups passed"

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan-check:
	$(MAKE) BUILD=build-asan OPT=-O1 SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" check

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

clean:
	rm -rf build build-asan build-fuzz
