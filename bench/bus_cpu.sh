#!/usr/bin/env bash
# make bench-bus-cpu: what the orders example's zero-hop variant costs in CPU, per request for
# the whole process and per event for its ledger (the bus worker thread `zh-bus:ledger`),
# for one or more zerohop binaries measured in turn, so that a change is compared with a
# reference in the same minutes (the machine is shared: req/s follows the share of the cores
# a server gets, CPU per request much less so).
#
#   bash bench/bus_cpu.sh [ZEROHOP...]      (default: $BUILD/zerohop)
#   BUILD (build)  SECONDS_EACH (10)  ROUNDS (3)  CONNECTIONS (64)
#
# Each binary serves examples/orders with runtime-config/zero-hop.toml on a free loopback
# port (state in a fresh directory), gets a 2-second warm-up, then `wrk -t2 -cN -dS` with the
# 1 KiB order of bench-hops. CPU is utime + stime from /proc/PID/stat and
# /proc/PID/task/TID/stat, read before the load and after the ledger has handled every
# event (GET /report stops changing), divided by wrk's requests and by the events handled.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
SECONDS_EACH=${SECONDS_EACH:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
for tool in wrk redis-server redis-cli python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench-bus-cpu: $tool is not installed (scripts/deps.sh)" >&2; exit 1; }
done
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=("$BUILD/zerohop")
# shellcheck source=bench/http_lib.sh
source bench/http_lib.sh
http_bench_init bench-bus-cpu

# The zero-hop variant never publishes to Redis, but the manifest names an address: give it
# a real one, as bench-hops does.
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done

orders_request

# The ledger's count once it stops changing (every queued event handled).
settled_orders() {
  local last="" r
  for _ in $(seq 300); do
    r=$(curl -fsS "$1/report")
    [[ $r == "$last" ]] && break
    last=$r
    sleep 0.1
  done
  sed -n 's/.*orders=\([0-9]*\).*/\1/p' <<<"$r"
}

# utime + stime of the process's bus worker for `ledger`, in clock ticks.
ledger_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    if [[ $(cat "$t/comm") == zh-bus:ledger ]]; then
      cpu_ticks "$1/task/${t##*/}"
      return
    fi
  done
  echo 0
}

declare -A cpu ledger
hz=$(getconf CLK_TCK)
run_one() { # BINARY ROUND
  local bin=$1 port pid base o0 o1 c0 c1 l0 l1 out reqs
  port=$(free_port)
  rm -rf "$tmp/state" "$tmp/up.out" "$tmp/up.err" # the last run's "Serving" must not count
  "$bin" up -f examples/orders --listen "127.0.0.1:$port" --state-dir "$tmp/state" \
    --runtime-config-file examples/orders/runtime-config/zero-hop.toml \
    --variable "redis_address=redis://127.0.0.1:$redis_port" >"$tmp/up.out" 2>"$tmp/up.err" &
  pid=$!
  pids+=("$pid")
  wait_serving "$tmp/up.out" "$tmp/up.err" "bench-bus-cpu: $bin"
  base="http://127.0.0.1:$port"
  wrk -t2 -c"$CONNECTIONS" -d2s -s "$tmp/post.lua" "$base/checkout" >/dev/null
  o0=$(settled_orders "$base")
  c0=$(cpu_ticks "$pid")
  l0=$(ledger_ticks "$pid")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s "$tmp/post.lua" "$base/checkout")
  o1=$(settled_orders "$base")
  c1=$(cpu_ticks "$pid")
  l1=$(ledger_ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pids=("${pids[@]:0:${#pids[@]}-1}") # stopped: not the cleanup's any more
  reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
  local per_req per_ev
  per_req=$(awk -v t="$((c1 - c0))" -v hz="$hz" -v r="$reqs" 'BEGIN { printf "%.1f", t * 1e6 / hz / r }')
  per_ev=$(awk -v t="$((l1 - l0))" -v hz="$hz" -v r="$((o1 - o0))" 'BEGIN { printf "%.1f", (r > 0 ? t * 1e6 / hz / r : 0) }')
  cpu[$bin]+="$per_req "
  ledger[$bin]+="$per_ev "
  printf "  round %d %-40s %8s req/s  p99 %9s  %7s us CPU/request  %6s us ledger/event  (%d events, load %s)\n" \
    "$2" "$bin" "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
    "$per_req" "$per_ev" "$((o1 - o0))" "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "bench-bus-cpu: examples/orders zero-hop, POST /checkout (1 KiB), wrk -t2 -c$CONNECTIONS -d${SECONDS_EACH}s, $ROUNDS round(s)"
for round in $(seq "$ROUNDS"); do
  for b in "${bins[@]}"; do run_one "$b" "$round"; done
done
for b in "${bins[@]}"; do
  # shellcheck disable=SC2086 # lists of numbers, split on purpose
  echo "bench-bus-cpu: $b: median $(median ${cpu[$b]}) us CPU per request, $(median ${ledger[$b]}) us per ledger event"
done
