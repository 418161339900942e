# Key-value for the app host (src/host/kv*, src/host/wasi_keyvalue.c, docs/HOST.md):
# Debian's SQLite for the default store and hiredis for stores the runtime config maps to Redis.
LDLIBS_EXTRA += -lsqlite3 -lhiredis

# ---- the test guests (tests/host/guests/kv_*) ----
#
#   build/components/kv-c.wasm   kv_guest.c on kv_world.wit: bindings from `zerohop bindgen c`,
#                                Debian's clang, `jco new` (no WASI: the guest does no libc I/O)
#   build/components/kv-js.wasm  kv_guest.js by componentize-js on the same world (plus the
#                                WASI its runtime imports)
#
# The imported packages are wit/spin's files, linked in as deps, so the guests import exactly
# what the host defines.
KV_OBJ := $(COMP_OBJ)/kv
KV_SPIN_WIT := wit/spin/fermyon-spin@2.0.0.wit wit/spin/wasi-keyvalue@0.2.0-draft2.wit
KV_COMPONENTS := $(COMP_DIR)/kv-c.wasm $(COMP_DIR)/kv-js.wasm

$(KV_OBJ)/kv_guest.c: tests/host/guests/kv_world.wit $(KV_SPIN_WIT)
	@$(MAKE) --no-print-directory BUILD=build build/zerohop
	@rm -rf $(KV_OBJ)/wit && mkdir -p $(KV_OBJ)/wit/deps
	cp $< $(KV_OBJ)/wit/world.wit
	for f in $(KV_SPIN_WIT); do ln -sfn $(CURDIR)/$$f $(KV_OBJ)/wit/deps/; done
	build/zerohop bindgen c --wit $(KV_OBJ)/wit --world kv-guest --out $(KV_OBJ)

$(KV_OBJ)/kv_guest.h: $(KV_OBJ)/kv_guest.c

$(KV_OBJ)/guest.core.wasm: tests/host/guests/kv_guest.c $(KV_OBJ)/kv_guest.c $(KV_OBJ)/kv_guest.h
	$(WASM_CC) $(WASM_FLAGS) -mexec-model=reactor -I$(KV_OBJ) -o $@ tests/host/guests/kv_guest.c \
	  $(KV_OBJ)/kv_guest.c

$(KV_OBJ)/guest.embedded.wasm: $(KV_OBJ)/guest.core.wasm tests/host/guests/kv_world.wit \
                               tests/components/embed.mjs $(KV_SPIN_WIT) $(NPM_STAMP)
	node tests/components/embed.mjs $< tests/host/guests/kv_world.wit kv-guest $@ $(KV_SPIN_WIT)

$(COMP_DIR)/kv-c.wasm: $(KV_OBJ)/guest.embedded.wasm $(NPM_STAMP)
	$(JCO) new $< -o $@

# Like every component in build/components, each gets its `jco wit` text beside it
# (tests/cli/components_e2e.c compares `zerohop component wit` with it).
components: $(KV_COMPONENTS) $(KV_COMPONENTS:.wasm=.wit)
$(BUILD)/tests/host/test_kv: $(KV_COMPONENTS) $(KV_COMPONENTS:.wasm=.wit)

$(KV_OBJ)/js-wit/world.wit: tests/host/guests/kv_world.wit $(KV_SPIN_WIT)
	@rm -rf $(KV_OBJ)/js-wit && mkdir -p $(KV_OBJ)/js-wit/deps
	for f in $(KV_SPIN_WIT); do ln -sfn $(CURDIR)/$$f $(KV_OBJ)/js-wit/deps/; done
	cp $< $@

$(COMP_DIR)/kv-js.wasm: tests/host/guests/kv_guest.js $(KV_OBJ)/js-wit/world.wit $(NPM_STAMP)
	$(CJS) $< --wit $(KV_OBJ)/js-wit --world-name kv-guest -o $@.tmp
	mv $@.tmp $@

# ---- make bench-kv: what a key-value read and write adds to a request (bench/kv.c) ----
.PHONY: bench-kv
$(BUILD)/bench/kv: bench/kv.c $(BUILD)/libzerohop.a tests/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

bench-kv: $(BUILD)/bench/kv $(COMP_DIR)/kv-c.wasm
	$(BUILD)/bench/kv
