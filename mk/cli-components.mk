# `zerohop run` / `zerohop component wit` on real components, end to end
# (tests/cli/components_e2e.c); this fragment sorts before components.mk, hence the literal
# paths. Not a unit test: it needs the jco-built components, so this
# group builds them first. Also assembles the bad components of tests/components/bad/*.wat
# with `jco parse` (the text parser only: it does not validate, so invalid binaries come out).
.PHONY: cli-components
EXTRA_CHECKS += cli-components

BAD_WAT  := $(wildcard tests/components/bad/*.wat)
BAD_WASM := $(BAD_WAT:tests/components/bad/%.wat=build/components/bad/%.wasm)

build/components/bad/%.wasm: tests/components/bad/%.wat node_modules/.package-lock.json
	@mkdir -p $(dir $@)
	$(JCO) parse $< -o $@

cli-components: $(BUILD)/tests/cli/components_e2e $(BUILD)/zerohop
	@rm -f $(BUILD)/cli-components.log
	@status=0; $(MAKE) --no-print-directory components $(BAD_WASM) || status=1; \
	ZH_BUILD=$(BUILD) bash scripts/summarize.sh run $(BUILD)/cli-components.log \
	  $(BUILD)/tests/cli/components_e2e || status=1; \
	exit $$status
