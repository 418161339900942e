#!/usr/bin/env bash
# Start-up: a whole `zerohop run` of the bundled hello example (read, validate, compile, link
# WASI, instantiate, run, exit) against the same C built natively, run alternately
# STARTUP_RUNS times each; medians of wall time. The native figure is the floor: a process start.
#
#   BUILD=build STARTUP_RUNS=20 bash bench/startup.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bench/lib.sh

BUILD=${BUILD:-build}
STARTUP_RUNS=${STARTUP_RUNS:-20}
zerohop=$BUILD/zerohop
[[ -x $zerohop ]] || die "$zerohop is missing (run make bench)"

BENCH_TMP=$(mktemp -d)
trap 'rm -rf "$BENCH_TMP"' EXIT

measure hello "$BUILD/bench/hello.native" "$BUILD/examples/hello.wasm" "$STARTUP_RUNS"
awk -v w="$wasm_s" -v n="$native_s" 'BEGIN {
  printf "bench: startup hello median %.2f ms (native %.2f ms, +%.2f ms)\n",
    w * 1000, n * 1000, (w - n) * 1000 }'
