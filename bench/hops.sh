#!/usr/bin/env bash
# make bench-hops: what one hop between components costs, by kind, and what the hops cost an
# app. One run, one payload (a 1 KiB order):
#  1. median and p99 of one hop of each kind: a direct in-process component call, local
#     service chaining, the local bus (publish -> handled), a Redis pub/sub round trip, and an
#     HTTP call over loopback, each from its own micro-benchmark (make bench-hops-*);
#  2. the orders example (examples/orders) in its two variants, the same wasm (spin.toml:
#     zero-hop, a typed dependency and the local bus; spin-networked.toml: HTTP and Redis),
#     under the same wrk load: req/s, p50 and p99, ROUNDS rounds in turn, medians.
# The last line compares the in-process call with the Redis round trip, and the throughputs.
#   BUILD (build)  SECONDS_EACH (10)  ROUNDS (3)  CONNECTIONS (64)  HOPS (the micro-benchmarks'
#   output, already run: the make target passes it)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
SECONDS_EACH=${SECONDS_EACH:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
for tool in wrk redis-server redis-cli python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench-hops: $tool is not installed (scripts/deps.sh)" >&2; exit 1; }
done
# shellcheck source=bench/http_lib.sh
source bench/http_lib.sh
http_bench_init bench-hops

# ---- 1. one hop of each kind ----
printf "%-34s %12s %12s\n" "hop (1 KiB payload)" "median us" "p99 us"
declare -A hop50 hop99
while read -r kind med p99; do
  hop50[$kind]=$med
  hop99[$kind]=$p99
done < <(printf '%s\n' "${HOPS:-}" | awk '$1 ~ /^(call|chain|bus|redis|http):$/ {
  unit = $4; f = (unit == "ns") ? 0.001 : (unit == "ms" ? 1000 : 1)
  g = ($7 == "ns") ? 0.001 : ($7 == "ms" ? 1000 : 1)
  sub(":", "", $1); printf "%s %.3f %.3f\n", $1, $3 * f, $6 * g }')
declare -A hop_label=([call]="direct in-process component call" [chain]="local service chaining"
                      [bus]="local bus publish->handled" [redis]="Redis pub/sub round trip"
                      [http]="HTTP call over loopback")
for k in call chain bus redis http; do
  [[ -n "${hop50[$k]:-}" ]] || { echo "bench-hops: no '$k:' figure from the micro-benchmarks" >&2; exit 1; }
  printf "%-34s %12.2f %12.2f\n" "${hop_label[$k]}" "${hop50[$k]}" "${hop99[$k]}"
done

# ---- 2. the orders example, networked and zero-hop ----
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done

declare -A url up_pid
variant() { # NAME [OPTIONS...]
  local name=$1 port
  shift
  port=$(free_port)
  local manifest=examples/orders extra=()
  if [[ $name == networked ]]; then
    manifest=examples/orders/spin-networked.toml
    extra=(--variable "pricing_url=http://127.0.0.1:$port/pricing")
  fi
  "$BUILD/zerohop" up -f "$manifest" --listen "127.0.0.1:$port" --state-dir "$tmp/$name-state" \
    --runtime-config-file "examples/orders/runtime-config/$name.toml" \
    --variable "redis_address=redis://127.0.0.1:$redis_port" "${extra[@]}" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  up_pid[$name]=$!
  wait_serving "$tmp/$name.out" "$tmp/$name.err" "bench-hops: $name"
  url[$name]="http://127.0.0.1:$port/checkout"
}

orders_request
variant networked
variant zero-hop
for n in networked zero-hop; do
  body=$(curl -fsS --data-binary @"$tmp/order.txt" "${url[$n]}")
  [[ "$body" == '{"order":"B1","total":12113}' ]] || { echo "bench-hops: $n answered '$body'" >&2; exit 1; }
done

names=(networked zero-hop)
declare -A rps p50 p99
echo
echo "bench-hops: examples/orders, POST /checkout (1 KiB), wrk -t2 -c$CONNECTIONS -d${SECONDS_EACH}s --latency, $ROUNDS round(s)"
WRK_ARGS="-s $tmp/post.lua" wrk_rounds bench-hops 10
printf "%-10s %12s %10s %10s\n" variant "req/s" "p50 us" "p99 us"
for n in "${names[@]}"; do
  # shellcheck disable=SC2086 # lists of numbers, split on purpose
  printf "%-10s %12.0f %10.1f %10.1f\n" "$n" "$(median ${rps[$n]})" "$(median ${p50[$n]})" "$(median ${p99[$n]})"
done
# Both ledgers must have seen every order they answered (nothing lost on either path).
for n in "${names[@]}"; do
  base=${url[$n]%/checkout}
  last_r=""
  for _ in $(seq 200); do
    r=$(curl -fsS "$base/report")
    [[ $r == "$last_r" ]] && break
    last_r=$r
    sleep 0.1
  done
  echo "  $n ledger: $r"
done

# shellcheck disable=SC2086
echo "bench-hops: call $(awk -v a="${hop50[redis]}" -v b="${hop50[call]}" 'BEGIN { printf "%.1f", a / b }')x faster than redis; zero-hop $(awk -v a="$(median ${rps[zero-hop]})" -v b="$(median ${rps[networked]})" 'BEGIN { printf "%.1f", a / b }')x networked throughput"
