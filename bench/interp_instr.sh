#!/usr/bin/env bash
# make bench-interp-instr: instructions (callgrind's Ir, repeatable on a shared machine) of
# `zerohop run` on the bench programs and the string-parsing one (bench/textscan.c), for
# this build against a reference zerohop built elsewhere (e.g. main), in the same run.
# Sizes are small so that callgrind finishes in minutes; each count includes loading and
# compiling the module, which is the same work in both builds.
#   BUILD (build)  ZEROHOP_REF (required: the reference binary)  PROGRAMS (all below)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
: "${ZEROHOP_REF:?set ZEROHOP_REF to the reference zerohop binary}"
command -v valgrind >/dev/null || { echo "bench-interp-instr: valgrind is not installed" >&2; exit 1; }
declare -A args=([fib]=27 [sha256]=4 [crc32]=1 [nbody]=20000 [matmul]=1 [mixed]=1 [fsm]=1
                 [chase]=1 [indirect]=1 [strings]=10 [mix64]=2 [loopmix]=1 [textscan]=100)
PROGRAMS=${PROGRAMS:-"textscan fib sha256 crc32 nbody matmul mixed fsm chase indirect strings mix64 loopmix"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

instructions() { # BINARY PROGRAM -> Ir of the whole run
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$1" run "$BUILD/bench/$2.wasm" \
    "${args[$2]}" >"$tmp/stdout" 2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; exit 1; }
  awk '/^summary:/ { print $2 }' "$tmp/cg.out"
}

printf "%-10s %8s %16s %16s %8s\n" program arg reference this change
for p in $PROGRAMS; do
  ref=$(instructions "$ZEROHOP_REF" "$p")
  cp "$tmp/stdout" "$tmp/ref.stdout"
  new=$(instructions "$BUILD/zerohop" "$p")
  cmp -s "$tmp/stdout" "$tmp/ref.stdout" || { echo "bench-interp-instr: $p prints differently" >&2; exit 1; }
  awk -v p="$p" -v a="${args[$p]}" -v r="$ref" -v n="$new" \
    'BEGIN { printf "%-10s %8s %16d %16d %+7.1f%%\n", p, a, r, n, 100 * (n - r) / r }'
done
