#!/usr/bin/env bash
# `make bench-hops-chain-instr`: user-space instructions of one local service chaining hop,
# counted by callgrind (repeatable to about 1% where timings on a shared machine are not).
# `zerohop up` serves chain_caller, echo_http and the C hello; chain_caller forwards a 1 KiB
# POST to http://CALLEE.spin.internal/x (bench/chain_bench.c's request). Per request, for
# each callee:
#   request    the whole chained request (the worker threads: HTTP, the caller, the hop)
#   callee     the callee's side of the hop (app_chain.c chain_run: its store, instance,
#              headers, request and the handler's run), and of that
#   handler    the callee's handler call alone (the guest and its host calls)
# and the same request straight to echo_http (`direct`) for scale. The server runs under
# `valgrind --tool=callgrind --instr-atstart=no`; after 50 warm-up requests counting is on
# for N requests, then dumped. With ZEROHOP_REF set to another zerohop binary, it is
# counted the same way first.
#   BUILD (build)  N (300)  ZEROHOP_REF ()
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
N=${N:-300}
ZEROHOP_REF=${ZEROHOP_REF:-}
for tool in valgrind callgrind_control callgrind_annotate python3; do
  command -v "$tool" >/dev/null || { echo "bench-hops-chain-instr: $tool is not installed" >&2; exit 1; }
done
# shellcheck source=bench/http_lib.sh
source bench/http_lib.sh
http_bench_init bench-hops-chain-instr
COMP=$PWD/build/components
cat >"$tmp/spin.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench-chain-instr"
[[trigger.http]]
route = "/caller/..."
component = "caller"
[[trigger.http]]
route = "/echo/..."
component = "echo"
[[trigger.http]]
route = "/hello/..."
component = "hello"
[component.caller]
source = "$COMP/host/chain_caller.wasm"
allowed_outbound_hosts = ["http://*.spin.internal"]
[component.echo]
source = "$COMP/host/echo_http.wasm"
[component.hello]
source = "$COMP/c-http-hello.wasm"
TOML

# requests PORT N KIND: N keep-alive POSTs of 1 KiB, chained to KIND (echo, hello) or
# straight to echo (direct), each checked for 200.
requests() {
  python3 - "$1" "$2" "$3" <<'PY'
import http.client, sys
port, n, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
body = bytes((i * 7 + 3) & 0xff for i in range(1024))
for _ in range(n):
    if kind == "direct":
        c.request("POST", "/echo/x", body)
    else:
        c.request("POST", "/caller/x", body, {"x-chain-url": f"http://{kind}.spin.internal/x"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"bench-hops-chain-instr: {kind}: status {r.status}")
PY
}

# count BIN KIND: prints "request callee handler" instructions per request.
count() {
  callgrind_up "$1" 50 "$N" "$2"
  callgrind_annotate --inclusive=yes --threshold=100 "$tmp/callgrind.out.1" 2>/dev/null | awk -v n="$N" '
    function num(s) { gsub(",", "", s); return s + 0 }
    /[ \/]src\/http\/http_server.c:worker_main / && !w { w = num($1) }
    /[ \/]src\/host\/app_chain.c:chain_run / && !c { c = num($1) }
    /[ \/]src\/component\/instance.c:zh_cm_func_call.2 / && !h { h = num($1) }
    END { printf "%.0f %.0f %.0f\n", w / n, c / n, h / n }'
}

names=()
[[ -z "$ZEROHOP_REF" ]] || names+=(ref)
names+=(current)
printf "%-8s %-8s %12s %12s %12s\n" build kind request callee handler
for kind in hello echo direct; do
  for n in "${names[@]}"; do
    bin="$BUILD/zerohop"
    [[ "$n" == ref ]] && bin=$ZEROHOP_REF
    read -r req callee handler < <(count "$bin" "$kind")
    [[ $kind == direct ]] && callee=- handler=-
    printf "%-8s %-8s %12s %12s %12s\n" "$n" "$kind" "$req" "$callee" "$handler"
  done
done
