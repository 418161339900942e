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

# ---- core modules that carry their world (tests/cli/test_core_world.c) ----
#
# tests/cli/guests/core_world.c is a WASI 0.2 command as a core module: its bindings come from
# `zerohop bindgen c` on world core-command (tests/cli/guests/core_world.wit, which includes
# wasi:cli/imports), and tests/components/embed.mjs (`jco embed` through jco's API) leaves the
# world in its component-type section. core-greeter.wasm is the same program built with
# -DGREETER and embedding world core-greeter, which imports an interface no host implements.
CORE_WORLD_OBJ := $(COMP_OBJ)/core-world
CORE_WORLD_WIT := $(CORE_WORLD_OBJ)/wit
CORE_WORLD     := $(CORE_WORLD_OBJ)/core-world.wasm $(CORE_WORLD_OBJ)/core-greeter.wasm
CORE_WORLD_DEPS = $(foreach p,$(WASI_DEPS),$(JCO_WIT)/0.2.12/wasi-$(p)/package.wit)

$(CORE_WORLD_OBJ)/core_command.c: tests/cli/guests/core_world.wit $(NPM_STAMP)
	@$(MAKE) --no-print-directory BUILD=build build/zerohop
	@rm -rf $(CORE_WORLD_WIT) && mkdir -p $(CORE_WORLD_WIT)/deps
	cp $< $(CORE_WORLD_WIT)/world.wit
	for p in $(WASI_DEPS); do ln -sfn $(CURDIR)/$(JCO_WIT)/0.2.12/wasi-$$p $(CORE_WORLD_WIT)/deps/wasi-$$p; done
	build/zerohop bindgen c --wit $(CORE_WORLD_WIT) --world core-command --out $(CORE_WORLD_OBJ)

$(CORE_WORLD_OBJ)/core-world.core.wasm: tests/cli/guests/core_world.c $(CORE_WORLD_OBJ)/core_command.c
	$(WASM_CC) $(WASM_FLAGS) -mexec-model=reactor -I$(CORE_WORLD_OBJ) -o $@ $^

$(CORE_WORLD_OBJ)/core-greeter.core.wasm: tests/cli/guests/core_world.c $(CORE_WORLD_OBJ)/core_command.c
	$(WASM_CC) $(WASM_FLAGS) -DGREETER -mexec-model=reactor -I$(CORE_WORLD_OBJ) -o $@ $^

$(CORE_WORLD_OBJ)/core-world.wasm: $(CORE_WORLD_OBJ)/core-world.core.wasm \
                                   tests/cli/guests/core_world.wit tests/components/embed.mjs
	node tests/components/embed.mjs $< tests/cli/guests/core_world.wit core-command $@ \
	  $(CORE_WORLD_DEPS)

$(CORE_WORLD_OBJ)/core-greeter.wasm: $(CORE_WORLD_OBJ)/core-greeter.core.wasm \
                                     tests/cli/guests/core_world.wit tests/components/embed.mjs
	node tests/components/embed.mjs $< tests/cli/guests/core_world.wit core-greeter $@ \
	  $(CORE_WORLD_DEPS)

# The same module made a component by `jco new` (no adapter: it imports no preview1), so the
# test runs one program both ways, through zh_component and through the component runtime.
$(CORE_WORLD_OBJ)/core-world.component.wasm: $(CORE_WORLD_OBJ)/core-world.wasm $(NPM_STAMP)
	$(JCO) new $< -o $@

$(BUILD)/tests/cli/test_core_world: $(BUILD)/zerohop $(CORE_WORLD) \
                                    $(CORE_WORLD_OBJ)/core-world.component.wasm \
                                    $(COMP_OBJ)/c/exit.embedded.wasm
$(BUILD)/tests/wit/test_world_section: $(CORE_WORLD)
