#!/usr/bin/env bash
# Cost of interruption: every taken branch and every call checks the store's interrupt flag.
# Runs each benchmark under the normal CLI and under one built with -DZH_NO_INTERRUPT_CHECKS,
# alternately RUNS times each, and prints the median time of both and their ratio.
#
#   BUILD=build NOINT=build-noint RUNS=3 bash bench/interrupt.sh [NAME...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bench/lib.sh

BUILD=${BUILD:-build}
NOINT=${NOINT:-build-noint}
RUNS=${RUNS:-3}
zerohop=$BUILD/zerohop
[[ -x $zerohop && -x $NOINT/zerohop ]] || die "$zerohop or $NOINT/zerohop missing (make bench)"
[[ $# -gt 0 ]] || set -- fib sha256 crc32 nbody matmul mixed

BENCH_TMP=$(mktemp -d)
trap 'rm -rf "$BENCH_TMP"' EXIT

ratios=()
for name in "$@"; do
  # measure() compares a command against `zerohop run`: the command is the unchecked build.
  unchecked=$BENCH_TMP/$name.unchecked
  printf '#!/bin/sh\nexec %q run %q\n' "$NOINT/zerohop" "$BUILD/bench/$name.wasm" >"$unchecked"
  chmod +x "$unchecked"
  measure "$name" "$unchecked" "$BUILD/bench/$name.wasm" "$RUNS"
  ratio=$(awk -v w="$wasm_s" -v n="$native_s" 'BEGIN { printf "%.4f", w / n }')
  ratios+=("$ratio")
  awk -v name="$name" -v w="$wasm_s" -v n="$native_s" -v r="$ratio" \
    'BEGIN { printf "%s: checked %.3fs unchecked %.3fs ratio %.3f\n", name, w, n, r }'
done
printf '%s\n' "${ratios[@]}" | awk '{ s += log($1) } END {
  printf "bench: interrupt checks cost %+.1f%% (geomean of checked/unchecked)\n",
    (exp(s / NR) - 1) * 100 }'
