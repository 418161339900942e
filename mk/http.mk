# ---- the HTTP/1.1 server (src/http, tests/http, bench/http_*) ----
# src/http joins the library and tests/http/test_*.c the unit tests by wildcard; the server
# needs only libc and pthreads, so there is nothing to add to LDLIBS_EXTRA.
#
#   make bench-http   wrk -t2 -c64 -d10s against bench/http_hello.c (zerohop's server),
#                     nginx and libmicrohttpd serving "hello" in the same run; prints req/s,
#                     p50, p99 and the ratio to nginx (docs/PERFORMANCE.md, "HTTP server").
.PHONY: bench-http

# The tests that use the shared client rebuild when it changes (an explicit rule: a pattern
# rule without a recipe would not add the prerequisite).
HTTP_TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/http/test_*.c))
$(HTTP_TEST_BIN): tests/httpclient.h

$(BUILD)/bench/http_hello: bench/http_hello.c $(BUILD)/libzerohop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libzerohop.a $(LDLIBS_BASE)

# The library the brief preferred, measured as the alternative (docs/PERFORMANCE.md).
$(BUILD)/bench/http_mhd_hello: bench/http_mhd_hello.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< -lmicrohttpd -lpthread

HTTP_BENCH_SECONDS ?= 10
bench-http: $(BUILD)/bench/http_hello $(BUILD)/bench/http_mhd_hello
	BUILD=$(BUILD) SECONDS_EACH=$(HTTP_BENCH_SECONDS) bash bench/http_bench.sh
