#!/usr/bin/env bash
# `make bench-up-instr`: user-space instructions per request of `zerohop up` serving the C
# hello (c-http-hello.wasm) on a one-route app, counted by callgrind, which repeats to within
# about 1% on a shared machine where req/s does not. The server runs under
# `valgrind --tool=callgrind` with instrumentation off; after a warm-up of 500 requests it is
# switched on for N keep-alive requests (`ab -k -c4`), dumped and switched off, and the total
# is divided by N. The kernel's share (system calls, wake-ups) is not in the count: see
# docs/PERFORMANCE.md section 11 for the system calls per request.
# With ZEROHOP_REF set to another zerohop binary, it is counted the same way first.
#   BUILD (build)  N (4000)  ROUNDS (3)  ZEROHOP_REF ()
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
N=${N:-4000}
ROUNDS=${ROUNDS:-3}
ZEROHOP_REF=${ZEROHOP_REF:-}
for tool in valgrind callgrind_control callgrind_annotate ab python3; do
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

# count BIN: prints the instructions per request of one run.
count() {
  local bin=$1 port pid out="$tmp/callgrind.out"
  port=$(free_port)
  rm -f "$out" "$out".*
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "$bin" up -f "$tmp" --listen "127.0.0.1:$port" >"$tmp/up.out" 2>"$tmp/up.err" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 600); do
    grep -q '^Serving ' "$tmp/up.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^Serving ' "$tmp/up.out" || { cat "$tmp/up.err" >&2; exit 1; }
  ab -q -k -c4 -n 500 "http://127.0.0.1:$port/" >/dev/null
  callgrind_control -i on "$pid" >/dev/null 2>&1
  ab -q -k -c4 -n "$N" "http://127.0.0.1:$port/" >"$tmp/ab.txt"
  callgrind_control -d "$pid" >/dev/null 2>&1
  callgrind_control -i off "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  grep -q "^Failed requests: *0" "$tmp/ab.txt" || { cat "$tmp/ab.txt" >&2; exit 1; }
  callgrind_annotate "$out".1 2>/dev/null |
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
