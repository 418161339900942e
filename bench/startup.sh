#!/usr/bin/env bash
# Start-up: a whole `zerohop run` of the bundled hello example (read, validate, compile, link
# WASI, instantiate, run, exit) against the same C built natively, run alternately
# STARTUP_RUNS times each; medians of wall time. The native figure is the floor: a process start.
# Then the 13 MB SpiderMonkey module returning at once, when componentize-js is installed.
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

# The 13 MB SpiderMonkey module returning at once (bench/startup_large.sh has the rest: eager,
# peak memory, the 30 and 75 MB modules), when componentize-js is installed.
SM_SRC=node_modules/@bytecodealliance/componentize-js/lib/starlingmonkey_embedding.debug.wasm
SM13=$BUILD/bench/sm13_return.wasm
if [[ -f $SM_SRC ]] && command -v node >/dev/null; then
  if [[ ! -f $SM13 || $SM_SRC -nt $SM13 || bench/return_at_once.mjs -nt $SM13 ]]; then
    node bench/return_at_once.mjs "$SM_SRC" "$SM13" || die "cannot make $SM13"
  fi
  st=()
  for ((i = 1; i <= STARTUP_RUNS; i++)); do
    st+=("$(time_run "$BENCH_TMP/sm13.$i.out" "$zerohop" run "$SM13")")
  done
  awk -v t="$(median "${st[@]}")" -v n="$STARTUP_RUNS" 'BEGIN {
    printf "bench: startup 13 MB module (SpiderMonkey, returns at once) median %.1f ms, %d runs\n",
      t * 1000, n }'
else
  echo "bench: startup 13 MB module: skipped, componentize-js is not installed (npm ci)"
fi
