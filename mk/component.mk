# Component binaries (src/component): the component-model reference suite.
#   make component-spec   runs ../shared/testsuites/component-model/json; ends with
#                         "component-spec: N passed, M failed, K skipped"
.PHONY: component-spec
# Cases listed in tests/component/spec-known-gaps.txt (none today) count as skipped while they
# fail to load, and are named in the output; a listed case that loads fails the run.
EXTRA_CHECKS += component-spec

COMPONENT_SPEC_DIR ?= ../shared/testsuites/component-model/json

$(BUILD)/component_spec_runner: tests/component/spec_runner.c $(BUILD)/libzerohop.a
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a -ljansson $(LDLIBS_BASE)

component-spec: $(BUILD)/component_spec_runner
	@rm -f $(BUILD)/component-spec.log
	@bash scripts/summarize.sh run $(BUILD)/component-spec.log $(BUILD)/component_spec_runner \
	  $(COMPONENT_SPEC_DIR)

# The component fuzzer with the component-model suite as seeds (fuzz-run seeds every harness
# with the core suite): make fuzz-component FUZZ_SECONDS=600
.PHONY: fuzz-component
fuzz-component:
	@$(MAKE) --no-print-directory fuzz-build FUZZ_BIN=$(FUZZ_BUILD)/fuzz_component
	@mkdir -p $(FUZZ_BUILD)/corpus/fuzz_component
	$(FUZZ_BUILD)/fuzz_component -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) \
	  -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus/fuzz_component $(COMPONENT_SPEC_DIR)
