#!/usr/bin/env bash
# The example app under a long wrk run: `zerohop up` on examples/app (its C hello writes the
# key-value store on every request), `wrk -t2 -c64 -d${SOAK_SECONDS}s` against /hello/soak,
# the server's resident memory sampled every 5 s. Prints wrk's figures, the non-2xx and
# socket errors, and the RSS at the start, the middle and the end, and fails on any error.
#
#   BUILD=build SOAK_SECONDS=60 bash bench/soak.sh        (make bench-soak)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bench/http_lib.sh
BUILD=${BUILD:-build}
SOAK_SECONDS=${SOAK_SECONDS:-60}
http_bench_init soak

port=$(free_port)
"$BUILD/zerohop" up -f examples/app --listen "127.0.0.1:$port" --state-dir "$tmp/state" \
  >"$tmp/up.out" 2>"$tmp/up.err" &
pids+=($!)
up_pid=$!
wait_serving "$tmp/up.out" "$tmp/up.err" "soak: zerohop up"
url="http://127.0.0.1:$port/hello/soak"
curl -sf "$url" >/dev/null # the first request

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$up_pid/status"; }
rss_start=$(rss)
samples=("$rss_start")
wrk -t2 -c64 -d"${SOAK_SECONDS}s" --latency "$url" >"$tmp/wrk.out" &
wrk_pid=$!
while kill -0 "$wrk_pid" 2>/dev/null; do
  sleep 5
  samples+=("$(rss)")
done
wait "$wrk_pid"
rss_end=$(rss)
cat "$tmp/wrk.out"
non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' "$tmp/wrk.out")
sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$tmp/wrk.out")
requests=$(awk '/requests in/ { print $1 }' "$tmp/wrk.out")
mid=${samples[$(( ${#samples[@]} / 2 ))]}
visits=$(curl -sf "$url" | sed -n 's/.*(visit \([0-9]*\)).*/\1/p')
echo "soak: RSS KiB every 5 s: ${samples[*]} $rss_end"
echo "soak: ${SOAK_SECONDS}s, $requests requests, non-2xx ${non2xx:-0}, socket errors ${sockerr:-0}," \
     "RSS start ${rss_start} KiB, middle ${mid} KiB, end ${rss_end} KiB, counter $visits"
[[ ${non2xx:-0} -eq 0 && ${sockerr:-0} -eq 0 ]] || { echo "soak: errors" >&2; exit 1; }
