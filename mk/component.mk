# Component binaries (src/component): the component-model reference suite.
#   make component-spec   runs ../shared/testsuites/component-model/json; ends with
#                         "component-spec: N passed, M failed, K skipped"
.PHONY: component-spec

COMPONENT_SPEC_DIR ?= ../shared/testsuites/component-model/json

$(BUILD)/component_spec_runner: tests/component/spec_runner.c $(BUILD)/libzerohop.a
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a -ljansson $(LDLIBS_BASE)

component-spec: $(BUILD)/component_spec_runner
	@rm -f $(BUILD)/component-spec.log
	@bash scripts/summarize.sh run $(BUILD)/component-spec.log $(BUILD)/component_spec_runner \
	  $(COMPONENT_SPEC_DIR)
