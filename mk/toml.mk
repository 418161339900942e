# The TOML parser (src/toml) and the spin.toml manifest (src/host/manifest*).
#
# `make toml-test` runs toml-test's TOML 1.0 cases (../shared/testsuites/toml, the list
# files-toml-1.0.0) through tests/toml/suite_runner.c and writes
# "toml-test: N passed, M failed, K skipped" into $(BUILD)/toml-test.log; `make check` runs it.
TOML_SUITE ?= ../shared/testsuites/toml

.PHONY: toml-test
EXTRA_CHECKS += toml-test

$(BUILD)/toml_suite: tests/toml/suite_runner.c $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a -ljansson $(LDLIBS_BASE)

toml-test: $(BUILD)/toml_suite
	@rm -f $(BUILD)/toml-test.log
	@bash scripts/summarize.sh run $(BUILD)/toml-test.log $(BUILD)/toml_suite $(TOML_SUITE)

# `make fuzz-toml` / `make fuzz-manifest`: one libFuzzer harness for FUZZ_SECONDS, seeded
# read-only from the toml-test cases and the manifests in tests/toml/manifests (nothing is
# copied); the writable corpus is build-fuzz/corpus/NAME. See docs/FUZZING.md. The timeout is
# wall-clock time: 25 s rather than 5, because on the shared 2-core machine a niced job was
# once descheduled long enough for a 10 ms input to "time out".
.PHONY: fuzz-toml fuzz-manifest
fuzz-toml fuzz-manifest: fuzz-%:
	@$(MAKE) --no-print-directory fuzz-build FUZZ_BIN=$(FUZZ_BUILD)/fuzz_$*
	@mkdir -p $(FUZZ_BUILD)/corpus/fuzz_$*
	$(FUZZ_BUILD)/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=25 \
	  -rss_limit_mb=2048 -artifact_prefix=$(FUZZ_BUILD)/ -dict=tests/fuzz/toml.dict \
	  $(FUZZ_BUILD)/corpus/fuzz_$* $(TOML_SUITE)/valid $(TOML_SUITE)/invalid tests/toml/manifests
