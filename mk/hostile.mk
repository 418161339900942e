# ---- hostile components under `zerohop serve` (tests/serve/test_serve_hostile.c) ----
#
# c-http-hostile-abi.wasm is tests/serve/guests/hostile_abi.c: a wasi:http handler that forges
# and reuses handles, lies from its own cabi_realloc and calls out of it, built from the same
# `zerohop bindgen c` bindings as c-http-hello (mk/components.mk) and wrapped by `jco new`.
HOSTILE_ABI := $(COMP_DIR)/c-http-hostile-abi.wasm

$(COMP_OBJ)/c-http/hostile_abi.core.wasm: tests/serve/guests/hostile_abi.c \
                                          $(COMP_OBJ)/c-http/http_hello.c
	$(WASM_CC) $(WASM_FLAGS) -mexec-model=reactor -I$(COMP_OBJ)/c-http -o $@ $^

$(COMP_OBJ)/c-http/hostile_abi.embedded.wasm: $(COMP_OBJ)/c-http/hostile_abi.core.wasm \
                                              tests/components/c-http/world.wit \
                                              tests/components/embed.mjs
	node tests/components/embed.mjs $< tests/components/c-http/world.wit http-hello $@ \
	  $(foreach p,$(WASI_DEPS),$(JCO_WIT)/0.2.12/wasi-$(p)/package.wit)

$(HOSTILE_ABI): $(COMP_OBJ)/c-http/hostile_abi.embedded.wasm $(NPM_STAMP)
	$(JCO) new $< -o $@

$(BUILD)/tests/serve/test_serve_hostile: tests/httpclient.h $(BUILD)/zerohop $(HOSTILE_ABI) \
                                         $(COMP_DIR)/c-http-hello.wasm

# Like every component in build/components, it gets its `jco wit` text.
components: $(HOSTILE_ABI:.wasm=.wit)
