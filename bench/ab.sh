#!/usr/bin/env bash
# Two zerohop builds on the same interpreter benchmarks: for each guest, `BASE run` and
# `zerohop run` alternate RUNS times each; the figures are the median wall times and their
# ratio (this build / base), and the summary is the geometric mean of the ratios. Both must
# print the same output. For a change to the interpreter, with the base built from the commit
# before it (e.g. `git worktree add` or `git archive` into a scratch directory, then `make`).
#
#   BASE=/path/to/base/build/zerohop BUILD=build RUNS=7 bash bench/ab.sh [NAME...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bench/lib.sh

BUILD=${BUILD:-build}
RUNS=${RUNS:-7}
zerohop=$BUILD/zerohop
[[ -x $zerohop ]] || die "$zerohop is missing (run make bench-build)"
[[ -n ${BASE:-} && -x $BASE ]] || die "BASE must name the other build's zerohop binary"
[[ $# -gt 0 ]] || set -- fib sha256 crc32 nbody matmul mixed

BENCH_TMP=$(mktemp -d)
trap 'rm -rf "$BENCH_TMP"' EXIT

ratios=()
for name in "$@"; do
  wasm=$BUILD/bench/$name.wasm
  [[ -f $wasm ]] || die "$wasm is missing (run make bench-build)"
  bt=() nt=()
  for ((i = 1; i <= RUNS; i++)); do
    bt+=("$(time_run "$BENCH_TMP/$name.base.$i.out" "$BASE" run "$wasm")")
    nt+=("$(time_run "$BENCH_TMP/$name.new.$i.out" "$zerohop" run "$wasm")")
  done
  for f in "$BENCH_TMP/$name".*.out; do
    cmp -s "$BENCH_TMP/$name.base.1.out" "$f" || die "$name: $(basename "$f") differs from base"
  done
  b=$(median "${bt[@]}") n=$(median "${nt[@]}")
  ratio=$(awk -v n="$n" -v b="$b" 'BEGIN { printf "%.4f", n / b }')
  ratios+=("$ratio")
  awk -v name="$name" -v n="$n" -v b="$b" -v r="$ratio" \
    'BEGIN { printf "%s: base %.3fs this %.3fs ratio %.3f\n", name, b, n, r }'
done
printf '%s\n' "${ratios[@]}" | awk '{ s += log($1) } END {
  printf "bench-ab: geomean ratio %.3f (this build / base)\n", exp(s / NR) }'
