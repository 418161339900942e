# OCI artefacts (src/oci): `zerohop image build`, `zerohop registry push/pull`, `zerohop up
# --from`, `zerohop k8s scaffold`. JSON with Debian's jansson; libcurl is the one
# src/wasip2/curl_dl.c opens on first use, so the CLI does not link it.
LDLIBS_EXTRA += -ljansson
# gzipped image layers (src/oci/gzip.c): Debian's zlib1g-dev.
LDLIBS_EXTRA += -lz

# ---- tests (tests/oci): one group, `oci`, in `make check` and in `make test-k8s` ----
# The programs are tests/oci/oci_*.c (not test_*.c: they need the example app, skopeo and the
# registry, so they run as their own group rather than among the unit tests).
OCI_TESTS := $(patsubst tests/oci/%.c,$(BUILD)/tests/oci/%,$(sort $(wildcard tests/oci/oci_*.c)))
EXTRA_CHECKS += oci
K8S_CHECKS += oci
.PHONY: oci

$(BUILD)/tests/oci/%: tests/oci/%.c tests/oci/ocitest.h tests/httpclient.h tests/oci/k8s_models.py \
                      tests/oci/token_server.py $(BUILD)/libzerohop.a \
                      tests/testlib.h tests/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -Itests -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

oci: $(OCI_TESTS) $(BUILD)/zerohop example-app
	@rm -f $(BUILD)/oci.log
	@status=0; for t in $(OCI_TESTS); do \
	  ZH_BUILD=$(BUILD) bash scripts/summarize.sh run $(BUILD)/oci.log $$t || status=1; \
	done; exit $$status

# `make fuzz-oci`: tests/fuzz/fuzz_oci.c (manifest, index, config, locked app, tar, reference)
# for FUZZ_SECONDS, seeded read-only from tests/fuzz/oci (real artefacts of the example app)
# with the keys of tests/fuzz/oci.dict; writable corpus build-fuzz/corpus/fuzz_oci.
.PHONY: fuzz-oci
fuzz-oci:
	@$(MAKE) --no-print-directory fuzz-build FUZZ_BIN=$(FUZZ_BUILD)/fuzz_oci
	@mkdir -p $(FUZZ_BUILD)/corpus/fuzz_oci
	$(FUZZ_BUILD)/fuzz_oci -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=25 \
	  -rss_limit_mb=2048 -artifact_prefix=$(FUZZ_BUILD)/ -dict=tests/fuzz/oci.dict \
	  $(FUZZ_BUILD)/corpus/fuzz_oci tests/fuzz/oci

# `make bench-oci`: image sizes and push/pull times against skopeo (bench/oci.sh,
# docs/PERFORMANCE.md section 12).
.PHONY: bench-oci
bench-oci: $(BUILD)/zerohop example-app
	BUILD=$(BUILD) bash bench/oci.sh
