#!/usr/bin/env bash
# One in-process component call (component dependencies, src/host/app_deps.c) with a 1 KiB
# payload: `zerohop up` serves deps_caller linked to deps_callee; the caller calls
# zerohop:deps/text#echo(list<u8> of 1 KiB) -> the same 1 KiB, N times in one request, and
# times each call in the guest (the monotonic clock, through WASI). The first call of a
# request makes the dependency's instance and is reported apart. The reference, in the same
# run: the caller copying the 1 KiB in its own memory (/loop-local: malloc and memcpy), so the
# ratio is what crossing to the other component costs over a local copy.
# Rounds alternate call, reference and timer (the two clock reads of a sample with nothing
# between them); the percentiles are over every sample of every round. The `call:` line is
# the call's samples less the timer's median, so it is the hop alone; the raw figures follow.
#   BUILD (build)  CALLS (2000 per round)  ROUNDS (5)  SIZE (1024: the payload in bytes)
# Prints `call: median N ns p99 N ns`, then the reference and the first call.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
CALLS=${CALLS:-2000}
ROUNDS=${ROUNDS:-5}
SIZE=${SIZE:-1024}
COMP=$PWD/build/components/host
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-hops-call: $tool is not installed" >&2; exit 1; }
done
# shellcheck source=bench/http_lib.sh
source bench/http_lib.sh
http_bench_init bench-hops-call

deps_app bench-hops-call
port=$(free_port)
"$BUILD/zerohop" up -f "$tmp/app" --listen "127.0.0.1:$port" >"$tmp/up.out" 2>"$tmp/up.err" &
pids+=($!)
wait_serving "$tmp/up.out" "$tmp/up.err" "bench-hops-call: zerohop up"

head -c "$SIZE" /dev/zero | tr '\0' 'a' >"$tmp/payload"
: >"$tmp/call.ns"
: >"$tmp/local.ns"
: >"$tmp/first.ns"
: >"$tmp/timer.ns"
for _ in $(seq "$ROUNDS"); do
  curl -sf --data-binary @"$tmp/payload" "http://127.0.0.1:$port/x/loop?n=$CALLS" >"$tmp/round"
  [[ $(wc -l <"$tmp/round") -eq $CALLS ]] || { echo "bench-hops-call: short answer" >&2; exit 1; }
  head -n 1 "$tmp/round" >>"$tmp/first.ns"
  tail -n +2 "$tmp/round" >>"$tmp/call.ns"
  curl -sf --data-binary @"$tmp/payload" "http://127.0.0.1:$port/x/loop-local?n=$CALLS" |
    tail -n +2 >>"$tmp/local.ns"
  curl -sf --data-binary @"$tmp/payload" "http://127.0.0.1:$port/x/loop-timer?n=$CALLS" |
    tail -n +2 >>"$tmp/timer.ns"
done

pct() { # FILE P: the P-th percentile (nearest rank)
  sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print v[i] }'
}
call_med=$(pct "$tmp/call.ns" 50)
call_p99=$(pct "$tmp/call.ns" 99)
local_med=$(pct "$tmp/local.ns" 50)
local_p99=$(pct "$tmp/local.ns" 99)
first_med=$(pct "$tmp/first.ns" 50)
timer_med=$(pct "$tmp/timer.ns" 50)
echo "call: median $((call_med - timer_med)) ns p99 $((call_p99 - timer_med)) ns"
echo "as sampled, with the timer: median $call_med ns p99 $call_p99 ns (timer alone: median $timer_med ns)"
echo "reference (a $SIZE-byte copy in the caller): median $local_med ns p99 $local_p99 ns"
awk -v a="$call_med" -v b="$local_med" 'BEGIN { printf "call / reference (medians): %.1fx\n", a / (b > 0 ? b : 1) }'
echo "first call of a request (makes the instance): median $first_med ns over $ROUNDS requests"
echo "($(wc -l <"$tmp/call.ns") calls of $SIZE bytes in $ROUNDS requests)"
