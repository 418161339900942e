#!/usr/bin/env bash
# make bench-hops-chain: `zerohop up` on an app of chain_caller and echo_http (on a free
# loopback port), then bench/chain_bench.c's client against it: a 1 KiB POST straight to
# echo_http and the same through chain_caller -> http://echo.spin.internal, alternating on
# one keep-alive connection. Prints medians and p99s; the last line reads
# `chain: median N us p99 N us`, after the same for a call over loopback HTTP (`http: ...`):
# the caller then sends the request to echo's route through libcurl instead.
#   BUILD (build)  REQUESTS (2000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
REQUESTS=${REQUESTS:-2000}
COMP=$PWD/build/components
tmp=$(mktemp -d /tmp/zh-bench-chain-XXXXXX)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cat >"$tmp/spin.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench-chain"
[[trigger.http]]
route = "/caller/..."
component = "caller"
[[trigger.http]]
route = "/echo/..."
component = "echo"
[component.caller]
source = "$COMP/host/chain_caller.wasm"
allowed_outbound_hosts = ["http://echo.spin.internal", "http://127.0.0.1:*"]
[component.echo]
source = "$COMP/host/echo_http.wasm"
TOML
"$BUILD/zerohop" up -f "$tmp" --listen 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 300); do
  grep -q '^Serving ' "$tmp/out" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's|^Serving http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/out")
[[ -n $port ]] || { cat "$tmp/err" >&2; echo "bench-hops-chain: zerohop up did not start" >&2; exit 1; }
"$BUILD/bench/chain_bench" "$port" "$REQUESTS" "http://127.0.0.1:$port/echo/x"
