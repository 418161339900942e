# The example app (examples/app, the README's main job): its components, built into
# examples/app/target/ where its spin.toml looks for them, as a Spin app's build does.
#
#   make example-app        all three components (what `zerohop build` runs, one by one)
#
# The C components' bindings come from `zerohop bindgen c` over examples/app/wit/c.wit, whose
# dependencies are zerohop's own wit/spin (Spin's definitions) and the WASI 0.2.12 WIT that
# jco ships; they use libc's stdio, so `jco new --wasi-reactor` adds the preview1 adapter.
# The JavaScript component is componentize-js's, against examples/app/wit/js.wit with the
# WASI packages at 0.2.10 (StarlingMonkey's version: mk/components.mk says why).
.PHONY: example-app example-app-hello example-app-notes example-app-stats

APP_DIR := examples/app
APP_OUT := $(APP_DIR)/target
APP_OBJ := build/example-app
APP_WASI := cli clocks filesystem http io random sockets
.PRECIOUS: $(APP_OBJ)/c/%.core.wasm $(APP_OBJ)/c/%.embedded.wasm

example-app: example-app-hello example-app-notes example-app-stats
example-app-hello: $(APP_OUT)/hello.wasm
example-app-notes: $(APP_OUT)/notes.wasm
example-app-stats: $(APP_OUT)/stats.wasm

$(APP_OBJ)/c/c_handler.c: $(APP_DIR)/wit/c.wit wit/spin/fermyon-spin@2.0.0.wit \
                          wit/spin/wasi-keyvalue@0.2.0-draft2.wit $(NPM_STAMP)
	@$(MAKE) --no-print-directory BUILD=build build/zerohop
	@rm -rf $(APP_OBJ)/c && mkdir -p $(APP_OBJ)/c/wit/deps
	cp $< $(APP_OBJ)/c/wit/world.wit
	for p in $(APP_WASI); do ln -sfn $(CURDIR)/$(JCO_WIT)/0.2.12/wasi-$$p $(APP_OBJ)/c/wit/deps/wasi-$$p; done
	ln -sfn $(CURDIR)/wit/spin/fermyon-spin@2.0.0.wit $(APP_OBJ)/c/wit/deps/fermyon-spin.wit
	ln -sfn $(CURDIR)/wit/spin/wasi-keyvalue@0.2.0-draft2.wit $(APP_OBJ)/c/wit/deps/wasi-keyvalue.wit
	build/zerohop bindgen c --wit $(APP_OBJ)/c/wit --world c-handler --out $(APP_OBJ)/c

$(APP_OBJ)/c/%.core.wasm: $(APP_DIR)/hello/%.c $(APP_DIR)/hello/respond.c $(APP_DIR)/hello/respond.h \
                          $(APP_OBJ)/c/c_handler.c
	$(WASM_CC) $(WASM_FLAGS) -Wall -Wextra -Werror -mexec-model=reactor -I$(APP_OBJ)/c \
	  -I$(APP_DIR)/hello -o $@ $< $(APP_DIR)/hello/respond.c $(APP_OBJ)/c/c_handler.c

$(APP_OBJ)/c/%.embedded.wasm: $(APP_OBJ)/c/%.core.wasm $(APP_DIR)/wit/c.wit tests/components/embed.mjs
	node tests/components/embed.mjs $< $(APP_DIR)/wit/c.wit c-handler $@ \
	  $(foreach p,$(APP_WASI),$(JCO_WIT)/0.2.12/wasi-$(p)/package.wit) \
	  wit/spin/fermyon-spin@2.0.0.wit wit/spin/wasi-keyvalue@0.2.0-draft2.wit

$(APP_OUT)/%.wasm: $(APP_OBJ)/c/%.embedded.wasm $(NPM_STAMP)
	@mkdir -p $(dir $@)
	$(JCO) new $< --wasi-reactor -o $@

$(APP_OBJ)/js/world.wit: $(APP_DIR)/wit/js.wit wit/spin/fermyon-spin@2.0.0.wit $(NPM_STAMP)
	@rm -rf $(APP_OBJ)/js && mkdir -p $(APP_OBJ)/js/deps/fermyon-spin
	for p in $(APP_WASI); do mkdir -p $(APP_OBJ)/js/deps/wasi-$$p && \
	  sed -e 's/@0\.2\.12\b/@0.2.10/g' -e '/@unstable(feature = network-error-code)/d' \
	    $(JCO_WIT)/0.2.12/wasi-$$p/package.wit > $(APP_OBJ)/js/deps/wasi-$$p/package.wit || exit 1; \
	done
	cp wit/spin/fermyon-spin@2.0.0.wit $(APP_OBJ)/js/deps/fermyon-spin/package.wit
	cp $< $@

$(APP_OUT)/notes.wasm: $(APP_DIR)/notes/notes.js $(APP_OBJ)/js/world.wit $(NPM_STAMP)
	@mkdir -p $(dir $@)
	$(CJS) $< --wit $(APP_OBJ)/js --world-name js-handler -o $@.tmp
	mv $@.tmp $@
