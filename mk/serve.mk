# ---- zerohop serve (src/cli/serve.c, tests/serve, bench/serve.sh) ----
#
#   make bench-serve   wrk -t2 -c64 -d10s --latency against `zerohop serve` with c-http-hello
#                      and js-hello, and nginx serving the same body, in the same run; prints
#                      req/s, p50, p99, the ratio to nginx, the per-request instantiation
#                      median and the JS component's load time (docs/PERFORMANCE.md).
#
# tests/serve/test_serve.c is a unit test by wildcard; it runs $(BUILD)/zerohop (so the
# sanitizer build tests its own CLI) on the components of `make components` and on
# c-http-hostile.wasm, the misbehaving handler built here from the same bindings.
.PHONY: bench-serve

SERVE_HOSTILE := $(COMP_DIR)/c-http-hostile.wasm

$(COMP_OBJ)/c-http/hostile.core.wasm: tests/components/c-http/hostile.c \
                                      $(COMP_OBJ)/c-http/http_hello.c
	$(WASM_CC) $(WASM_FLAGS) -mexec-model=reactor -I$(COMP_OBJ)/c-http -o $@ $^

$(COMP_OBJ)/c-http/hostile.embedded.wasm: $(COMP_OBJ)/c-http/hostile.core.wasm \
                                          tests/components/c-http/world.wit tests/components/embed.mjs
	node tests/components/embed.mjs $< tests/components/c-http/world.wit http-hello $@ \
	  $(foreach p,$(WASI_DEPS),$(JCO_WIT)/0.2.12/wasi-$(p)/package.wit)

$(SERVE_HOSTILE): $(COMP_OBJ)/c-http/hostile.embedded.wasm $(NPM_STAMP)
	$(JCO) new $< -o $@

$(BUILD)/tests/serve/test_serve: tests/httpclient.h $(BUILD)/zerohop $(COMP_WASM) $(SERVE_HOSTILE)

# Like every component in build/components, it gets its `jco wit` text (components_e2e compares
# `zerohop component wit` with it on each of them).
components: $(SERVE_HOSTILE:.wasm=.wit)

SERVE_BENCH_SECONDS ?= 10
bench-serve: build/zerohop $(COMP_DIR)/c-http-hello.wasm $(COMP_DIR)/js-hello.wasm
	SECONDS_EACH=$(SERVE_BENCH_SECONDS) bash bench/serve.sh
