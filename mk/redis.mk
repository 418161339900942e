# Outbound hosts, outbound Redis and the Redis trigger (src/host/outbound_hosts*, redis*).
#
# tests/host/test_outbound_hosts.c builds the wasi:http test guest (tests/wasip2/guest_http.c)
# with this build's `zerohop bindgen c`, so it needs the CLI.
$(BUILD)/tests/host/test_outbound_hosts: $(BUILD)/zerohop

# hiredis (Debian's libhiredis-dev) for outbound Redis and the Redis trigger.
LDLIBS_EXTRA += -lhiredis

# ---- the Redis test components (build/components, as mk/components.mk builds the others) ----
#
#   redis-c.wasm   tests/host/guests/redis_c/guest.c: bindings from `zerohop bindgen c` over
#                  world.wit (Spin's WIT from wit/spin, jco's WASI 0.2.12), Debian's clang,
#                  `jco new` without an adapter (the guest does no libc I/O)
#   redis-js.wasm  tests/host/guests/redis_js/guest.js: componentize-js against world.wit with
#                  the same Spin WIT and the WASI 0.2.10 packages of mk/components.mk
REDIS_SPIN_WIT := wit/spin/fermyon-spin.wit wit/spin/fermyon-spin@2.0.0.wit
REDIS_C_OBJ    := $(COMP_OBJ)/redis-c
REDIS_COMPS    := $(COMP_DIR)/redis-c.wasm $(COMP_DIR)/redis-js.wasm

$(REDIS_C_OBJ)/redis_c.c: tests/host/guests/redis_c/world.wit $(REDIS_SPIN_WIT) $(NPM_STAMP)
	@$(MAKE) --no-print-directory BUILD=build build/zerohop
	@rm -rf $(REDIS_C_OBJ)/wit && mkdir -p $(REDIS_C_OBJ)/wit/deps
	cp $< $(REDIS_C_OBJ)/wit/world.wit
	cp $(REDIS_SPIN_WIT) $(REDIS_C_OBJ)/wit/deps/
	for p in $(WASI_DEPS); do ln -sfn $(CURDIR)/$(JCO_WIT)/0.2.12/wasi-$$p $(REDIS_C_OBJ)/wit/deps/wasi-$$p; done
	build/zerohop bindgen c --wit $(REDIS_C_OBJ)/wit --world redis-c --out $(REDIS_C_OBJ)

$(REDIS_C_OBJ)/guest.core.wasm: tests/host/guests/redis_c/guest.c $(REDIS_C_OBJ)/redis_c.c
	$(WASM_CC) $(WASM_FLAGS) -mexec-model=reactor -Wall -Wextra -Werror -I$(REDIS_C_OBJ) -o $@ $^

$(REDIS_C_OBJ)/guest.embedded.wasm: $(REDIS_C_OBJ)/guest.core.wasm tests/host/guests/redis_c/world.wit \
                                    tests/components/embed.mjs
	node tests/components/embed.mjs $< tests/host/guests/redis_c/world.wit redis-c $@ \
	  $(REDIS_SPIN_WIT) $(foreach p,$(WASI_DEPS),$(JCO_WIT)/0.2.12/wasi-$(p)/package.wit)

$(COMP_DIR)/redis-c.wasm: $(REDIS_C_OBJ)/guest.embedded.wasm $(NPM_STAMP)
	$(JCO) new $< -o $@

$(BUILD)/tests/host/test_redis: $(REDIS_COMPS) $(COMP_DIR)/c-http-hello.wasm

REDIS_JS_WIT := $(COMP_OBJ)/redis-js/wit
# The WASI deps are made here as mk/components.mk makes its own (0.2.12 renamed to 0.2.10),
# not copied from $(JS_WIT): depending on that would rebuild every js-*.wasm.
$(REDIS_JS_WIT)/world.wit: tests/host/guests/redis_js/world.wit $(REDIS_SPIN_WIT) $(NPM_STAMP)
	@rm -rf $(REDIS_JS_WIT) && mkdir -p $(REDIS_JS_WIT)/deps
	for p in $(WASI_DEPS); do mkdir -p $(REDIS_JS_WIT)/deps/wasi-$$p && \
	  sed -e 's/@0\.2\.12\b/@0.2.10/g' -e '/@unstable(feature = network-error-code)/d' \
	    $(JCO_WIT)/0.2.12/wasi-$$p/package.wit > $(REDIS_JS_WIT)/deps/wasi-$$p/package.wit || exit 1; \
	done
	cp $(REDIS_SPIN_WIT) $(REDIS_JS_WIT)/deps/
	cp $< $@

$(COMP_DIR)/redis-js.wasm: tests/host/guests/redis_js/guest.js $(REDIS_JS_WIT)/world.wit $(NPM_STAMP)
	$(CJS) $< --wit $(REDIS_JS_WIT) --world-name redis-js -o $@.tmp
	mv $@.tmp $@

# Like every component in build/components, they get their `jco wit` text (components_e2e
# compares `zerohop component wit` with it on each .wasm there).
components: $(REDIS_COMPS:.wasm=.wit)
$(BUILD)/tests/host/test_redis: $(REDIS_COMPS:.wasm=.wit)
