#!/usr/bin/env bash
# `make bench-http`: wrk -t2 -c64 against zerohop's HTTP server (bench/http_hello.c), nginx
# and libmicrohttpd, each serving the 5-byte body "hello" on a loopback port, in the same
# run. Each server is measured ROUNDS times, in turn, so that noise from the shared machine
# falls on all of them alike; the medians are printed with the ratio to nginx.
#   BUILD (build)  SECONDS_EACH (10)  ROUNDS (3)  CONNECTIONS (64)
set -euo pipefail

BUILD=${BUILD:-build}
SECONDS_EACH=${SECONDS_EACH:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
for tool in wrk nginx python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench-http: $tool is not installed (scripts/deps.sh)" >&2; exit 1; }
done

# shellcheck source=bench/http_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/http_lib.sh"
http_bench_init bench-http

wait_http() { # URL: waits up to 5 s for an answer
  for _ in $(seq 50); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench-http: nothing answers at $1" >&2
  exit 1
}

start_nginx hello

# Servers that print their port: NAME BINARY; the port lands in $port. Not called through
# $(...): a subshell's pids+= would not reach the cleanup, leaving the server running.
start_printing_port() {
  "$2" >"$tmp/$1.port" 2>"$tmp/$1.err" &
  pids+=($!)
  for _ in $(seq 50); do
    [[ -s "$tmp/$1.port" ]] && break
    sleep 0.1
  done
  port=$(cat "$tmp/$1.port")
}
start_printing_port zerohop "$BUILD/bench/http_hello"
zh_port=$port
start_printing_port mhd "$BUILD/bench/http_mhd_hello"
mhd_port=$port

declare -A url=([nginx]="http://127.0.0.1:$nginx_port/" [zerohop]="http://127.0.0.1:$zh_port/"
                [libmicrohttpd]="http://127.0.0.1:$mhd_port/")
names=(nginx zerohop libmicrohttpd)
for n in "${names[@]}"; do
  wait_http "${url[$n]}"
  body=$(curl -fsS "${url[$n]}")
  [[ "$body" == hello ]] || { echo "bench-http: $n answered '$body'" >&2; exit 1; }
done

declare -A rps p50 p99
echo "bench-http: wrk -t2 -c$CONNECTIONS -d${SECONDS_EACH}s --latency, $ROUNDS rounds, body \"hello\""
wrk_rounds bench-http 14
wrk_table 14
# shellcheck disable=SC2086
echo "bench-http: zerohop $(nginx_ratio "$(median ${rps[zerohop]})")x nginx"
