# SQLite and variables for the app host (src/host/sqlite*, variables*, wasi_config*).
#
# tests/host/test_sqlite.c and test_variables.c are unit tests by wildcard; they drive the
# guests of tests/host/guests/{sql,vars}_guest.*, built here by the real toolchains:
#
#   build/components/sqlvars/sql-c.wasm    sql_guest.c: `zerohop bindgen c` + clang + embed.mjs + jco new
#   build/components/sqlvars/sql-js.wasm   sql_guest.js: componentize-js against the same world
#   build/components/sqlvars/vars-c.wasm   vars_guest.c, the same way
#   build/components/sqlvars/vars-js.wasm  vars_guest.js
#
# Each world's dependencies are Spin's WIT from wit/spin/. The outputs sit in a subdirectory of
# build/components, whose top level components_e2e compares with `jco wit` file by file.
LDLIBS_EXTRA += -lsqlite3

SQLVARS_COMP := $(COMP_DIR)/sqlvars
SQLVARS_OBJ  := $(COMP_OBJ)/sqlvars
SQLVARS_SPIN_WIT  := wit/spin/fermyon-spin@2.0.0.wit
SQLVARS_CONFIG_WIT := wit/spin/wasi-config@0.2.0-draft-2024-09-27.wit
SQLVARS_SQL_DEPS  := $(SQLVARS_SPIN_WIT)
SQLVARS_VARS_DEPS := $(SQLVARS_SPIN_WIT) $(SQLVARS_CONFIG_WIT)

# A world's WIT directory: world.wit and its dependencies under deps/ (for bindgen and
# componentize-js alike). $(1) guest name, $(2) dependency files.
define sqlvars_wit_dir
$(SQLVARS_OBJ)/$(1)/wit/world.wit: tests/host/guests/$(1).wit $(2)
	@rm -rf $(SQLVARS_OBJ)/$(1)/wit && mkdir -p $(SQLVARS_OBJ)/$(1)/wit/deps
	for f in $(2); do d=$$$$(basename $$$$f .wit); mkdir -p $(SQLVARS_OBJ)/$(1)/wit/deps/$$$$d && \
	  cp $$$$f $(SQLVARS_OBJ)/$(1)/wit/deps/$$$$d/ || exit 1; done
	cp $$< $$@
endef
$(eval $(call sqlvars_wit_dir,sql_guest,$(SQLVARS_SQL_DEPS)))
$(eval $(call sqlvars_wit_dir,vars_guest,$(SQLVARS_VARS_DEPS)))

# $(1) guest name, $(2) world, $(3) output name, $(4) dependency files.
define sqlvars_guests
$(SQLVARS_OBJ)/$(1)/$(1).c: $(SQLVARS_OBJ)/$(1)/wit/world.wit
	@$(MAKE) --no-print-directory BUILD=build build/zerohop
	build/zerohop bindgen c --wit $(SQLVARS_OBJ)/$(1)/wit --world $(2) --out $(SQLVARS_OBJ)/$(1)

$(SQLVARS_OBJ)/$(1)/core.wasm: tests/host/guests/$(1).c $(SQLVARS_OBJ)/$(1)/$(1).c
	$(WASM_CC) $(WASM_FLAGS) -mexec-model=reactor -I$(SQLVARS_OBJ)/$(1) -o $$@ $$^

$(SQLVARS_OBJ)/$(1)/embedded.wasm: $(SQLVARS_OBJ)/$(1)/core.wasm tests/host/guests/$(1).wit \
                                tests/components/embed.mjs $(NPM_STAMP)
	node tests/components/embed.mjs $$< tests/host/guests/$(1).wit $(2) $$@ $(4)

$(SQLVARS_COMP)/$(3)-c.wasm: $(SQLVARS_OBJ)/$(1)/embedded.wasm $(NPM_STAMP)
	@mkdir -p $$(dir $$@)
	$(JCO) new $$< -o $$@

$(SQLVARS_COMP)/$(3)-js.wasm: tests/host/guests/$(1).js $(SQLVARS_OBJ)/$(1)/wit/world.wit $(NPM_STAMP)
	@mkdir -p $$(dir $$@)
	$(CJS) $$< --wit $(SQLVARS_OBJ)/$(1)/wit --world-name $(2) -o $$@.tmp
	mv $$@.tmp $$@
endef
$(eval $(call sqlvars_guests,sql_guest,sql-guest,sql,$(SQLVARS_SQL_DEPS)))
$(eval $(call sqlvars_guests,vars_guest,vars-guest,vars,$(SQLVARS_VARS_DEPS)))

SQLVARS_SQL_WASM  := $(SQLVARS_COMP)/sql-c.wasm $(SQLVARS_COMP)/sql-js.wasm
SQLVARS_VARS_WASM := $(SQLVARS_COMP)/vars-c.wasm $(SQLVARS_COMP)/vars-js.wasm

$(BUILD)/tests/host/test_sqlite: $(SQLVARS_SQL_WASM)
$(BUILD)/tests/host/test_variables: $(SQLVARS_VARS_WASM)

.PHONY: sqlvars-components
sqlvars-components: $(SQLVARS_SQL_WASM) $(SQLVARS_VARS_WASM)
components: sqlvars-components

# ---- make bench-sqlvars (bench/sqlvars.c, docs/PERFORMANCE.md) ----
# A guest's point read and variable get through the host, against the same work done
# directly in the same run; and the read's share of a per-request instance.
.PHONY: bench-sqlvars
$(BUILD)/bench/sqlvars: bench/sqlvars.c $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

bench-sqlvars: $(BUILD)/bench/sqlvars $(SQLVARS_COMP)/sql-c.wasm $(SQLVARS_COMP)/vars-c.wasm
	$(BUILD)/bench/sqlvars $(SQLVARS_COMP)/sql-c.wasm $(SQLVARS_COMP)/vars-c.wasm
