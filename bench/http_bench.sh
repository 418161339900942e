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

tmp=$(mktemp -d /tmp/zh-bench-http.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # URL: waits up to 5 s for an answer
  for _ in $(seq 50); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench-http: nothing answers at $1" >&2
  exit 1
}

# nginx, from a config of our own in the temp dir: two workers (one per core), no logs.
nginx_port=$(free_port)
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type text/plain; return 200 "hello"; }
  }
}
CONF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/stderr" &
pids+=($!)

# Servers that print their port: NAME BINARY
start_printing_port() {
  "$2" >"$tmp/$1.port" 2>"$tmp/$1.err" &
  pids+=($!)
  for _ in $(seq 50); do
    [[ -s "$tmp/$1.port" ]] && break
    sleep 0.1
  done
  cat "$tmp/$1.port"
}
zh_port=$(start_printing_port zerohop "$BUILD/bench/http_hello")
mhd_port=$(start_printing_port mhd "$BUILD/bench/http_mhd_hello")

declare -A url=([nginx]="http://127.0.0.1:$nginx_port/" [zerohop]="http://127.0.0.1:$zh_port/"
                [libmicrohttpd]="http://127.0.0.1:$mhd_port/")
names=(nginx zerohop libmicrohttpd)
for n in "${names[@]}"; do
  wait_http "${url[$n]}"
  body=$(curl -fsS "${url[$n]}")
  [[ "$body" == hello ]] || { echo "bench-http: $n answered '$body'" >&2; exit 1; }
done

# wrk latency values ("512.00us", "1.20ms", "2.00s") in microseconds.
to_us() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000;
                         else if (v ~ /s$/) f = 1000000; else f = 1; printf "%.1f\n", n * f }'
}
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A rps p50 p99
echo "bench-http: wrk -t2 -c$CONNECTIONS -d${SECONDS_EACH}s --latency, $ROUNDS rounds, body \"hello\""
for round in $(seq "$ROUNDS"); do
  for n in "${names[@]}"; do
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "${url[$n]}")
    r=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    a=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    b=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    errs=$(awk '/Non-2xx|Socket errors/ { print }' <<<"$out")
    [[ -z "$errs" ]] || echo "bench-http: $n round $round: $errs"
    rps[$n]+="$r "
    p50[$n]+="$(to_us "$a") "
    p99[$n]+="$(to_us "$b") "
    printf '  round %d %-14s %10.0f req/s  p50 %8s  p99 %8s\n' "$round" "$n" "$r" "$a" "$b"
  done
done

# shellcheck disable=SC2086
nginx_rps=$(median ${rps[nginx]})
printf '%-14s %12s %10s %10s %8s\n' server "req/s" "p50 us" "p99 us" nginx
for n in "${names[@]}"; do
  # shellcheck disable=SC2086
  m=$(median ${rps[$n]}); l50=$(median ${p50[$n]}); l99=$(median ${p99[$n]})
  ratio=$(awk -v a="$m" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')
  printf '%-14s %12.0f %10.1f %10.1f %7sx\n' "$n" "$m" "$l50" "$l99" "$ratio"
done
zh=$(median ${rps[zerohop]})
echo "bench-http: zerohop $(awk -v a="$zh" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')x nginx"
