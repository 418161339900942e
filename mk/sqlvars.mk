# SQLite and variables for the app host (src/host/sqlite*, variables*, wasi_config*).
#
# tests/host/test_sqlite.c and test_variables.c are unit tests by wildcard; they drive the
# guests of tests/host/guests/{sql,vars}_guest.*, built here by the real toolchains:
#
#   build/components/host/sql-c.wasm    sql_guest.c: `zerohop bindgen c` + clang + embed.mjs + jco new
#   build/components/host/sql-js.wasm   sql_guest.js: componentize-js against the same world
#   build/components/host/vars-c.wasm   vars_guest.c, the same way
#   build/components/host/vars-js.wasm  vars_guest.js
#
# Each world's dependencies are Spin's WIT from wit/spin/. The outputs sit in a subdirectory of
# build/components, whose top level components_e2e compares with `jco wit` file by file.
LDLIBS_EXTRA += -lsqlite3

HOST_COMP := $(COMP_DIR)/host
HOST_OBJ  := $(COMP_OBJ)/host
SPIN_PKG  := wit/spin/fermyon-spin@2.0.0.wit
CONFIG_PKG := wit/spin/wasi-config@0.2.0-draft-2024-09-27.wit
SQL_DEPS  := $(SPIN_PKG)
VARS_DEPS := $(SPIN_PKG) $(CONFIG_PKG)

# A world's WIT directory: world.wit and its dependencies under deps/ (for bindgen and
# componentize-js alike). $(1) guest name, $(2) dependency files.
define host_wit_dir
$(HOST_OBJ)/$(1)/wit/world.wit: tests/host/guests/$(1).wit $(2)
	@rm -rf $(HOST_OBJ)/$(1)/wit && mkdir -p $(HOST_OBJ)/$(1)/wit/deps
	for f in $(2); do d=$$$$(basename $$$$f .wit); mkdir -p $(HOST_OBJ)/$(1)/wit/deps/$$$$d && \
	  cp $$$$f $(HOST_OBJ)/$(1)/wit/deps/$$$$d/ || exit 1; done
	cp $$< $$@
endef
$(eval $(call host_wit_dir,sql_guest,$(SQL_DEPS)))
$(eval $(call host_wit_dir,vars_guest,$(VARS_DEPS)))

# $(1) guest name, $(2) world, $(3) output name, $(4) dependency files.
define host_c_guest
$(HOST_OBJ)/$(1)/$(1).c: $(HOST_OBJ)/$(1)/wit/world.wit
	@$(MAKE) --no-print-directory BUILD=build build/zerohop
	build/zerohop bindgen c --wit $(HOST_OBJ)/$(1)/wit --world $(2) --out $(HOST_OBJ)/$(1)

$(HOST_OBJ)/$(1)/core.wasm: tests/host/guests/$(1).c $(HOST_OBJ)/$(1)/$(1).c
	$(WASM_CC) $(WASM_FLAGS) -mexec-model=reactor -I$(HOST_OBJ)/$(1) -o $$@ $$^

$(HOST_OBJ)/$(1)/embedded.wasm: $(HOST_OBJ)/$(1)/core.wasm tests/host/guests/$(1).wit \
                                tests/components/embed.mjs $(NPM_STAMP)
	node tests/components/embed.mjs $$< tests/host/guests/$(1).wit $(2) $$@ $(4)

$(HOST_COMP)/$(3)-c.wasm: $(HOST_OBJ)/$(1)/embedded.wasm $(NPM_STAMP)
	@mkdir -p $$(dir $$@)
	$(JCO) new $$< -o $$@

$(HOST_COMP)/$(3)-js.wasm: tests/host/guests/$(1).js $(HOST_OBJ)/$(1)/wit/world.wit $(NPM_STAMP)
	@mkdir -p $$(dir $$@)
	$(CJS) $$< --wit $(HOST_OBJ)/$(1)/wit --world-name $(2) -o $$@.tmp
	mv $$@.tmp $$@
endef
$(eval $(call host_c_guest,sql_guest,sql-guest,sql,$(SQL_DEPS)))
$(eval $(call host_c_guest,vars_guest,vars-guest,vars,$(VARS_DEPS)))

SQL_COMPONENTS  := $(HOST_COMP)/sql-c.wasm $(HOST_COMP)/sql-js.wasm
VARS_COMPONENTS := $(HOST_COMP)/vars-c.wasm $(HOST_COMP)/vars-js.wasm

$(BUILD)/tests/host/test_sqlite: $(SQL_COMPONENTS)
$(BUILD)/tests/host/test_variables: $(VARS_COMPONENTS)

.PHONY: host-sqlvars-components
host-sqlvars-components: $(SQL_COMPONENTS) $(VARS_COMPONENTS)
components: host-sqlvars-components
