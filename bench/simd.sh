#!/usr/bin/env bash
# The SIMD benchmark (bench/simd.c): the wasm built with -msimd128, the same source built
# without it (scalar wasm), and native gcc -O2, run in turn RUNS times each. Prints the
# median wall times and the ratios; fails if the three print different checksums.
#
#   BUILD=build RUNS=5 bash bench/simd.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bench/lib.sh

BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
zerohop=$BUILD/zerohop
simd=$BUILD/bench/simd.simd.wasm
scalar=$BUILD/bench/simd.scalar.wasm
native=$BUILD/bench/simd.native
for f in "$zerohop" "$simd" "$scalar" "$native"; do
  [[ -e $f ]] || die "$f is missing (run make bench-simd)"
done

BENCH_TMP=$(mktemp -d)
trap 'rm -rf "$BENCH_TMP"' EXIT

nt=() st=() ct=()
for ((i = 1; i <= RUNS; i++)); do
  nt+=("$(time_run "$BENCH_TMP/native.$i.out" "$native")")
  st+=("$(time_run "$BENCH_TMP/simd.$i.out" "$zerohop" run "$simd")")
  ct+=("$(time_run "$BENCH_TMP/scalar.$i.out" "$zerohop" run "$scalar")")
done
for f in "$BENCH_TMP"/*.out; do
  cmp -s "$BENCH_TMP/native.1.out" "$f" || die "checksum mismatch: $(basename "$f")"
done
n=$(median "${nt[@]}") s=$(median "${st[@]}") c=$(median "${ct[@]}")
awk -v n="$n" -v s="$s" -v c="$c" 'BEGIN {
  printf "simd: native %.3fs, wasm simd128 %.3fs, wasm scalar %.3fs\n", n, s, c
  printf "bench-simd: simd128 %.1fx vs native, scalar %.1fx vs native, simd128 %.2fx faster than scalar\n",
    s / n, c / n, c / s }'
