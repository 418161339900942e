#!/usr/bin/env bash
# `make bench-up-instr`: user-space instructions per request of `zerohop up` serving the C
# hello (c-http-hello.wasm) on a one-route app, counted by callgrind, which repeats to within
# about 1% on a shared machine where req/s does not. The server runs under
# `valgrind --tool=callgrind` with instrumentation off; after a warm-up of 500 requests it is
# switched on for N keep-alive requests (four connections from a Python client), dumped and
# switched off, and the total is divided by N. The kernel's share (system calls, wake-ups) is
# not in the count: docs/PERFORMANCE.md section 11 has the system calls per request.
# With ZEROHOP_REF set to another zerohop binary, it is counted the same way first.
#   BUILD (build)  N (4000)  ROUNDS (3)  ZEROHOP_REF ()
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
N=${N:-4000}
ROUNDS=${ROUNDS:-3}
ZEROHOP_REF=${ZEROHOP_REF:-}
for tool in valgrind callgrind_control callgrind_annotate python3; do
  command -v "$tool" >/dev/null || { echo "bench-up-instr: $tool is not installed" >&2; exit 1; }
done
# shellcheck source=bench/http_lib.sh
source bench/http_lib.sh
http_bench_init bench-up-instr
cat >"$tmp/spin.toml" <<TOML
spin_manifest_version = 2
[application]
name = "c-hello"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "$PWD/build/components/c-http-hello.wasm"
TOML

# requests PORT N: N keep-alive GETs over four connections, each checked for 200 and the
# C hello's body; exits non-zero on the first that is not.
requests() {
  python3 - "$1" "$2" <<'PY'
import http.client, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
bad = []
def run(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(k):
        c.request("GET", "/")
        r = c.getresponse()
        body = r.read()
        if r.status != 200 or body != b"hello from C\n":
            bad.append((r.status, body))
            return
ts = [threading.Thread(target=run, args=(n // 4 + (i < n % 4),)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
sys.exit(f"bench-up-instr: unexpected answer {bad[0]}" if bad else 0)
PY
}

# count BIN: prints the instructions per request of one run.
count() {
  callgrind_up "$1" 500 "$N"
  callgrind_annotate "$tmp/callgrind.out.1" 2>/dev/null |
    awk -v n="$N" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "%.0f\n", $1 / n }'
}

declare -A per
names=()
[[ -z "$ZEROHOP_REF" ]] || names+=(ref)
names+=(current)
for round in $(seq "$ROUNDS"); do
  for n in "${names[@]}"; do
    bin="$BUILD/zerohop"
    [[ "$n" == ref ]] && bin=$ZEROHOP_REF
    c=$(count "$bin")
    per[$n]+="$c "
    echo "  round $round $n: $c instructions per request"
  done
done
for n in "${names[@]}"; do
  # shellcheck disable=SC2086 # a list of numbers, split on purpose
  m=$(median ${per[$n]})
  echo "bench-up-instr: $n C hello $m instructions per request (median of $ROUNDS)"
done
