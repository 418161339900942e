#!/usr/bin/env bash
# `make bench-serve`: wrk -t2 -c64 --latency against `zerohop serve` with the C hello handler
# (build/components/c-http-hello.wasm) and the componentize-js hello handler (js-hello.wasm),
# and against nginx answering with the C handler's body, in the same run. Each server is
# measured ROUNDS times, in turn, so that noise on the shared machine falls on all alike.
# Prints the medians with the ratio to nginx, then the per-request instance creation time
# that the server reports at its stop, and the time to load (decode, validate, compile) the
# JS component.
# It also prints the CPU time each zerohop server used per request (user + system, median of
# the rounds), the steadier figure on a shared machine. With ZEROHOP_REF set to another
# zerohop binary (an older build, say), that one serves the C hello too, as c-hello-ref, in
# the same rounds: a before/after comparison in one run.
#   SECONDS_EACH (10)  ROUNDS (1)  CONNECTIONS (64)  ZEROHOP (build/zerohop)  ZEROHOP_REF ()
set -euo pipefail

SECONDS_EACH=${SECONDS_EACH:-10}
ROUNDS=${ROUNDS:-1}
CONNECTIONS=${CONNECTIONS:-64}
ZEROHOP=${ZEROHOP:-build/zerohop}
ZEROHOP_REF=${ZEROHOP_REF:-}
COMP=build/components
for tool in wrk nginx python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench-serve: $tool is not installed (scripts/deps.sh)" >&2; exit 1; }
done

# shellcheck source=bench/http_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/http_lib.sh"
http_bench_init bench-serve
start_nginx 'hello from C\n' # the C handler's body

# zerohop serve NAME COMPONENT [BINARY]: waits for the address line (a JS component loads
# in ~1 s).
declare -A url zh_pid cpu_pid cpu_us
start_serve() {
  "${3:-$ZEROHOP}" serve --addr 127.0.0.1:0 "$2" >"$tmp/$1.out" 2>"$tmp/$1.err" &
  zh_pid[$1]=$!
  cpu_pid[$1]=$!
  pids+=($!)
  for _ in $(seq 300); do
    grep -q '^serving http://' "$tmp/$1.out" 2>/dev/null && break
    sleep 0.1
  done
  url[$1]=$(sed -n 's#^serving \(http://.*/\)$#\1#p' "$tmp/$1.out")
  [[ -n "${url[$1]}" ]] || { echo "bench-serve: $1 did not start:" >&2; cat "$tmp/$1.err" >&2; exit 1; }
}
start_serve c-hello "$COMP/c-http-hello.wasm"
start_serve js-hello "$COMP/js-hello.wasm"
names=(nginx c-hello js-hello)
if [[ -n "$ZEROHOP_REF" ]]; then
  start_serve c-hello-ref "$COMP/c-http-hello.wasm" "$ZEROHOP_REF"
  names=(nginx c-hello c-hello-ref js-hello)
fi
url[nginx]="http://127.0.0.1:$nginx_port/"
for _ in $(seq 50); do curl -fsS -o /dev/null "${url[nginx]}" 2>/dev/null && break; sleep 0.1; done

declare -A want=([nginx]="hello from C" [c-hello]="hello from C" [c-hello-ref]="hello from C"
  [js-hello]="hello from componentize-js")
for n in "${names[@]}"; do
  body=$(curl -fsS "${url[$n]}")
  [[ "$body" == "${want[$n]}" ]] || { echo "bench-serve: $n answered '$body'" >&2; exit 1; }
done

declare -A rps p50 p99
echo "bench-serve: wrk -t2 -c$CONNECTIONS -d${SECONDS_EACH}s --latency, $ROUNDS round(s)"
wrk_rounds bench-serve 11
wrk_table 11
for n in "${names[@]}"; do
  # shellcheck disable=SC2086 # lists of numbers, split on purpose
  [[ -z "${cpu_us[$n]:-}" ]] || echo "bench-serve: $n CPU $(median ${cpu_us[$n]}) us per request"
done

# The servers print their instantiation medians when they stop.
for n in "${!zh_pid[@]}"; do
  kill -TERM "${zh_pid[$n]}"
  wait "${zh_pid[$n]}" || true
done
inst() { sed -n 's/.*instantiate median \([0-9.]*\) us.*/\1/p' "$tmp/$1.err"; }
load_ms=$(sed -n 's/.*loaded .* in \([0-9.]*\) ms.*/\1/p' "$tmp/js-hello.err")
# shellcheck disable=SC2086
echo "bench-serve: C hello $(nginx_ratio "$(median ${rps[c-hello]})")x nginx"
# shellcheck disable=SC2086
echo "bench-serve: JS hello $(nginx_ratio "$(median ${rps[js-hello]})")x nginx"
if [[ -n "$ZEROHOP_REF" ]]; then
  # shellcheck disable=SC2086
  echo "bench-serve: C hello (ZEROHOP_REF) $(nginx_ratio "$(median ${rps[c-hello-ref]})")x nginx"
fi
echo "bench-serve: instantiate median $(inst c-hello) us"
echo "bench-serve: JS instantiate median $(inst js-hello) us"
echo "bench-serve: JS component load (decode, validate, compile) $load_ms ms"
