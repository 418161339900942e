# Component templates (src/component/template.c).
#   make bench-cm-template   per-stamp time of c-http-hello and js-hello against full
#                            instantiation, in the same run (docs/PERFORMANCE.md)
# test_template reads the component-model suite's JSON: it links jansson, as the spec
# runners do (an explicit rule wins over the generic test rule). It stamps the real
# components of `make components` too, when they are there.
$(BUILD)/tests/component/test_template: tests/component/test_template.c $(BUILD)/libzerohop.a \
    tests/testlib.h tests/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a -ljansson $(LDLIBS_BASE)

.PHONY: bench-cm-template
$(BUILD)/bench/cm_template: bench/cm_template.c $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

bench-cm-template: $(BUILD)/bench/cm_template
	$(BUILD)/bench/cm_template $(BUILD)/components/c-http-hello.wasm $(BUILD)/components/js-hello.wasm
