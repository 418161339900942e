#!/usr/bin/env bash
# The app host's part of `make bench-http`: wrk -t2 -c64 against `zerohop up` serving a C
# hello component (c-http-hello.wasm: "hello from C\n", 13 bytes) and a componentize-js one
# (js-hello.wasm), and the example app's /hello route, which reads a variable and increments
# a key-value counter on every request; nginx serves the same 13-byte body in the same run.
# Each is measured ROUNDS times, in turn; the medians are printed with the ratio to nginx.
# Last, the resident memory of an idle `zerohop up` on the example app.
# Each `zerohop up` also gets the CPU time it used per request (user + system, from /proc),
# the steadier figure on a shared machine. With ZEROHOP_REF set to another zerohop binary
# (an older build), the C hello app runs under it too, as up-c-hello-ref, in the same rounds.
#   BUILD (build)  SECONDS_EACH (10)  ROUNDS (3)  CONNECTIONS (64)  ZEROHOP_REF ()
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
SECONDS_EACH=${SECONDS_EACH:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
ZEROHOP_REF=${ZEROHOP_REF:-}
COMP=$PWD/build/components
for tool in wrk nginx python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench-http: $tool is not installed (scripts/deps.sh)" >&2; exit 1; }
done
# shellcheck source=bench/http_lib.sh
source bench/http_lib.sh
http_bench_init bench-up

# up NAME DIR [OPTIONS...]: starts `zerohop up` (or $bin when set) on a free port; its URL
# lands in url[NAME] and its PID in up_pid[NAME] and cpu_pid[NAME]. Not called through
# $(...), so the cleanup sees the PID.
declare -A url up_pid cpu_pid cpu_us
up() {
  local name=$1 dir=$2 port
  shift 2
  port=$(free_port)
  "${bin:-$BUILD/zerohop}" up -f "$dir" --listen "127.0.0.1:$port" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  up_pid[$name]=$!
  cpu_pid[$name]=$!
  wait_serving "$tmp/$name.out" "$tmp/$name.err" "bench-http: $name"
  url[$name]="http://127.0.0.1:$port/"
}

app() { # NAME COMPONENT: a one-route app in $tmp/NAME
  mkdir -p "$tmp/$1"
  cat >"$tmp/$1/spin.toml" <<TOML
spin_manifest_version = 2
[application]
name = "$1"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "$2"
TOML
}

start_nginx "hello from C
"
url[nginx]="http://127.0.0.1:$nginx_port/"
app c-hello "$COMP/c-http-hello.wasm"
app js-hello "$COMP/js-hello.wasm"
up up-c-hello "$tmp/c-hello"
up up-js-hello "$tmp/js-hello"
up up-kv examples/app --state-dir "$tmp/kv-state"
url[up-kv]+="hello/bench"
names=(nginx up-c-hello up-js-hello up-kv)
if [[ -n "$ZEROHOP_REF" ]]; then
  bin=$ZEROHOP_REF up up-c-hello-ref "$tmp/c-hello"
  names+=(up-c-hello-ref)
fi
for _ in $(seq 50); do curl -fsS -o /dev/null "${url[nginx]}" 2>/dev/null && break; sleep 0.1; done

declare -A want=([nginx]="hello from C" [up-c-hello]="hello from C" [up-c-hello-ref]="hello from C"
                 [up-js-hello]="hello from componentize-js" [up-kv]="Hello, bench! (visit 1)")
for n in "${names[@]}"; do
  body=$(curl -fsS "${url[$n]}")
  [[ "$body" == "${want[$n]}" ]] || { echo "bench-http: $n answered '$body'" >&2; exit 1; }
done

declare -A rps p50 p99
echo "bench-http: zerohop up, wrk -t2 -c$CONNECTIONS -d${SECONDS_EACH}s --latency, $ROUNDS round(s)"
wrk_rounds bench-http 14
wrk_table 14
for n in "${names[@]}"; do
  # shellcheck disable=SC2086 # a list of numbers, split on purpose
  [[ -z "${cpu_us[$n]:-}" ]] || echo "bench-http: $n CPU $(median ${cpu_us[$n]}) us per request"
done
visits=$(curl -fsS "${url[up-kv]}" | sed -n 's/.*(visit \([0-9]*\)).*/\1/p')

# Idle: a fresh `zerohop up` on the example app, a few requests, then quiet for 2 s.
up idle examples/app --state-dir "$tmp/idle-state"
curl -fsS -o /dev/null "${url[idle]}hello/idle"
curl -fsS -o /dev/null "${url[idle]}notes/"
sleep 2
idle_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/${up_pid[idle]}/status")

# shellcheck disable=SC2086
echo "bench-http: key-value read+write per request $(median ${rps[up-kv]} | awk '{ printf "%.0f", $1 }') req/s ($(nginx_ratio "$(median ${rps[up-kv]})")x nginx; counter at $visits)"
echo "bench-http: idle RSS of zerohop up on the example app $(awk -v k="$idle_kib" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
# shellcheck disable=SC2086
echo "bench-http: JS hello $(nginx_ratio "$(median ${rps[up-js-hello]})")x nginx"
if [[ -n "$ZEROHOP_REF" ]]; then
  # shellcheck disable=SC2086
  echo "bench-http: C hello (ZEROHOP_REF) $(nginx_ratio "$(median ${rps[up-c-hello-ref]})")x nginx"
fi
# shellcheck disable=SC2086
echo "bench-http: C hello $(nginx_ratio "$(median ${rps[up-c-hello]})")x nginx"
