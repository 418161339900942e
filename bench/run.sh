#!/usr/bin/env bash
# Interpreter benchmarks: each guest in bench/ runs as wasm under `zerohop run` and as the
# same C compiled natively with gcc -O2. Runs alternate (native, wasm, native, ...) RUNS
# times each; the figure is the median wall time. The two must print the same checksum.
#
#   BUILD=build RUNS=5 bash bench/run.sh [NAME...]      (default: every build/bench/*.wasm)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bench/lib.sh

BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
zerohop=$BUILD/zerohop
[[ -x $zerohop ]] || die "$zerohop is missing (run make bench)"

if [[ $# -eq 0 ]]; then
  for w in "$BUILD"/bench/*.wasm; do
    if [[ -e $w ]]; then set -- "$@" "$(basename "$w" .wasm)"; fi
  done
fi
[[ $# -gt 0 ]] || die "no benchmarks in $BUILD/bench (run make bench)"

BENCH_TMP=$(mktemp -d)
trap 'rm -rf "$BENCH_TMP"' EXIT

ratios=()
for name in "$@"; do
  measure "$name" "$BUILD/bench/$name.native" "$BUILD/bench/$name.wasm" "$RUNS"
  ratio=$(awk -v w="$wasm_s" -v n="$native_s" 'BEGIN { printf "%.4f", w / n }')
  ratios+=("$ratio")
  awk -v name="$name" -v w="$wasm_s" -v n="$native_s" -v r="$ratio" \
    'BEGIN { printf "%s: wasm %.3fs native %.3fs slowdown %.1fx\n", name, w, n, r }'
done
# With BENCH_BASE (the original six), their geomean comes first and the whole set's, the
# widened one, next to it; without, one geomean over what ran.
names=("$@")
base=" ${BENCH_BASE:-} "
for i in "${!names[@]}"; do
  in_base=0
  [[ $base == *" ${names[$i]} "* ]] && in_base=1
  echo "${ratios[$i]} $in_base"
done | awk -v has_base="${BENCH_BASE:+1}" '
  { all += log($1); n++; if ($2) { b += log($1); nb++ } }
  END {
    if (has_base && nb > 0 && nb < n) {
      printf "bench: geomean slowdown %.1fx vs native (the %d original programs)\n", exp(b / nb), nb
      printf "bench: widened geomean slowdown %.1fx vs native (all %d programs)\n", exp(all / n), n
    } else
      printf "bench: geomean slowdown %.1fx vs native\n", exp(all / n)
  }'
