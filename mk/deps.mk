# Component dependencies (src/host/app_deps.c, tests/host/test_deps.c).
#
# The test components are built like mk/host.mk's (its pattern rules): tests/host/guests/
# NAME.c on NAME.wit, bindings from `zerohop bindgen c`, Debian's clang, embed.mjs and
# `jco new --wasi-reactor`, into build/components/host/NAME.wasm.
DEPS_GUESTS := deps_caller deps_callee deps_wrong deps_relay deps_hostile
DEPS_GUEST_WASM := $(DEPS_GUESTS:%=$(COMP_DIR)/host/%.wasm)

$(BUILD)/tests/host/test_deps: $(DEPS_GUEST_WASM) $(BUILD)/zerohop

# ---- one in-process call with a 1 KiB payload: median and p99 (docs/PERFORMANCE.md) ----
.PHONY: bench-hops-call
bench-hops-call: all $(DEPS_GUEST_WASM)
	BUILD=$(BUILD) bash bench/hops_call.sh

# deps_callee.js: the same interface in JavaScript, by componentize-js, against a world that
# only exports deps_callee.wit's `text` (taken from that file, so there is one definition).
DEPS_JS_WIT := $(COMP_OBJ)/deps-js/wit
$(DEPS_JS_WIT)/world.wit: tests/host/guests/deps_callee.wit mk/deps.mk
	@mkdir -p $(dir $@)
	{ echo 'package zerohop:deps@1.0.0;'; sed -n '/^interface text {/,/^}/p' $<; \
	  printf 'world deps-js {\n  export text;\n}\n'; } > $@.tmp && mv $@.tmp $@

$(COMP_DIR)/host/deps_js.wasm: tests/host/guests/deps_callee.js $(DEPS_JS_WIT)/world.wit $(NPM_STAMP)
	@mkdir -p $(dir $@)
	$(CJS) $< --wit $(DEPS_JS_WIT) --world-name deps-js -o $@.tmp
	mv $@.tmp $@

$(BUILD)/tests/host/test_deps: $(COMP_DIR)/host/deps_js.wasm

# deps_hostile with its string-carrying lifts switched to latin1+utf16 (a byte per lift, by
# tests/host/latin1_lifts.py): the one-copy adapter takes UTF-8 only, so test_deps sees its
# calls go through the value path instead.
$(COMP_DIR)/host/deps_hostile_latin1.wasm: $(COMP_DIR)/host/deps_hostile.wasm tests/host/latin1_lifts.py
	python3 tests/host/latin1_lifts.py $< $@.tmp
	mv $@.tmp $@

$(BUILD)/tests/host/test_deps: $(COMP_DIR)/host/deps_hostile_latin1.wasm
