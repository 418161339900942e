# Component templates (src/component/template.c).
#   make bench-cm-template   per-stamp time of c-http-hello and js-hello against full
#                            instantiation, in the same run (docs/PERFORMANCE.md)
# test_template reads the component-model suite's JSON: it links jansson, as the spec
# runners do (an explicit rule wins over the generic test rule). It stamps the real
# components that mk/components.mk builds (order-only: built when missing).
$(BUILD)/tests/component/test_template: tests/component/test_template.c $(BUILD)/libzerohop.a \
    tests/testlib.h tests/testutil.h | build/components/c-args.wasm build/components/js-hello.wasm
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a -ljansson $(LDLIBS_BASE)

.PHONY: bench-cm-template
$(BUILD)/bench/cm_template: bench/cm_template.c $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

bench-cm-template: $(BUILD)/bench/cm_template
	$(BUILD)/bench/cm_template $(BUILD)/components/c-http-hello.wasm $(BUILD)/components/js-hello.wasm
