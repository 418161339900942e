# Outbound hosts, outbound Redis and the Redis trigger (src/host/outbound_hosts*, redis*).
#
# tests/host/test_outbound_hosts.c builds the wasi:http test guest (tests/wasip2/guest_http.c)
# with this build's `zerohop bindgen c`, so it needs the CLI.
$(BUILD)/tests/host/test_outbound_hosts: $(BUILD)/zerohop
