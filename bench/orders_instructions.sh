#!/usr/bin/env bash
# make bench-orders-instr: instructions per checkout of the orders example's zero-hop variant,
# counted by callgrind (a repeatable figure where the shared machine's timings are not).
# `zerohop up` runs under valgrind with instrumentation off; WARM checkouts of the 1 KiB order
# (bench/http_lib.sh's orders_request, one curl each), the ledger waited for through /report,
# then N checkouts counted, a pause for the bus to drain, and a dump. Each thread is counted
# apart and named by its entry point: the HTTP workers (checkout, its call to pricing,
# pricing), the bus worker (the ledger) and the listener (accepting each curl's connection).
#   BUILD (build)  MANIFEST (examples/orders)  RUNTIME_CONFIG (its zero-hop.toml)
#   WARM (20)  N (100)
# To compare with another version of the example, build its components with the same
# `zerohop` and point MANIFEST at its spin.toml (docs/PERFORMANCE.md, section 12).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
MANIFEST=${MANIFEST:-examples/orders}
RUNTIME_CONFIG=${RUNTIME_CONFIG:-examples/orders/runtime-config/zero-hop.toml}
WARM=${WARM:-20}
N=${N:-100}
for tool in valgrind callgrind_control callgrind_annotate curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-orders-instr: $tool is not installed" >&2; exit 1; }
done
# shellcheck source=bench/http_lib.sh
source bench/http_lib.sh
http_bench_init bench-orders-instr
orders_request

port=$(free_port)
out="$tmp/cg.out"
valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes --callgrind-out-file="$out" \
  "$BUILD/zerohop" up -f "$MANIFEST" --listen "127.0.0.1:$port" --state-dir "$tmp/state" \
  --runtime-config-file "$RUNTIME_CONFIG" >"$tmp/up.out" 2>"$tmp/up.err" &
pid=$!
pids+=("$pid")
wait_serving "$tmp/up.out" "$tmp/up.err" "bench-orders-instr: zerohop up"
checkouts() {
  for _ in $(seq "$1"); do
    body=$(curl -fsS --data-binary @"$tmp/order.txt" "http://127.0.0.1:$port/checkout")
    [[ $body == '{"order":"B1","total":12113}' ]] ||
      { echo "bench-orders-instr: checkout answered '$body'" >&2; exit 1; }
  done
}
ledger_at() {
  for _ in $(seq 300); do
    curl -fsS "http://127.0.0.1:$port/report" | grep -q "^orders=$1 " && return 0
    sleep 0.1
  done
  echo "bench-orders-instr: the ledger did not reach $1 orders" >&2
  exit 1
}
checkouts "$WARM"
ledger_at "$WARM"
callgrind_control -i on "$pid" >/dev/null 2>&1
checkouts "$N"
sleep 4 # the ledger's events, behind the answers
callgrind_control -d "$pid" >/dev/null 2>&1
callgrind_control -i off "$pid" >/dev/null 2>&1
ledger_at $((WARM + N))

declare -A per
for f in "$out".*; do
  total=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
  [[ ${total:-0} -gt 0 ]] || continue
  # the thread's entry point: the first of them in its inclusive profile
  entry=$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null | grep -m1 -E 'worker_main|listener_main' || true)
  case $entry in
  *http_server.c:worker_main*) role="HTTP workers (checkout, pricing)" ;;
  *http_server.c:listener_main*) role="listener (a connection per curl)" ;;
  *bus.c:worker_main*) role="bus worker (ledger)" ;;
  *) role=other ;;
  esac
  per[$role]=$((${per[$role]:-0} + total))
done
echo "bench-orders-instr: $MANIFEST with $RUNTIME_CONFIG, $N checkouts counted after $WARM"
all=0
for role in "HTTP workers (checkout, pricing)" "bus worker (ledger)" "listener (a connection per curl)" other; do
  [[ -n ${per[$role]:-} ]] || continue
  printf "%-36s %10d instructions per checkout\n" "$role" $((per[$role] / N))
  all=$((all + per[$role]))
done
printf "%-36s %10d instructions per checkout\n" "the whole process" $((all / N))
