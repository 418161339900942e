#!/usr/bin/env bash
# Start-up of large modules (docs/PERFORMANCE.md, 1f): a whole `zerohop run` of a module
# that returns at once, compiling each function on its first call (the default) against
# compiling every function at load (ZH_EAGER=1, the old behaviour), run alternately
# LARGE_RUNS times each; medians of wall time and of peak resident memory (/usr/bin/time).
#
#   sm13      SpiderMonkey as componentize-js ships it (starlingmonkey_embedding.debug.wasm,
#             13 MB), its wasi:cli/run pointed at a function that returns at once
#             (bench/return_at_once.mjs): loading, linking WASI 0.2, instantiating
#   yosys30   `yosys -V` from @yowasp/yosys (30.8 MB): prints its version, runs its C++
#             static constructors
#   llvm75    `clang --version` from @yowasp/clang (75.5 MB), the same
#
# Then build/bench/first_call: the first call of a large function (a generated 1 MB one,
# and the largest function of each module above, compiled alone).
#
#   BUILD=build LARGE_RUNS=11 bash bench/startup_large.sh [sm13 yosys30 llvm75]
# SM_SRC, YOSYS and LLVM name other copies of the three modules.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bench/lib.sh

BUILD=${BUILD:-build}
LARGE_RUNS=${LARGE_RUNS:-11}
zerohop=$BUILD/zerohop
[[ -x $zerohop ]] || die "$zerohop is missing (make bench-startup-large builds it)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package time)"

SM_SRC=${SM_SRC:-node_modules/@bytecodealliance/componentize-js/lib/starlingmonkey_embedding.debug.wasm}
SM13=$BUILD/bench/sm13_return.wasm
YOSYS=${YOSYS:-node_modules/@yowasp/yosys/gen/yosys.core.wasm}
LLVM=${LLVM:-node_modules/@yowasp/clang/gen/llvm.core.wasm}

BENCH_TMP=$(mktemp -d)
trap 'rm -rf "$BENCH_TMP"' EXIT

# Sets args to the command line of case $1, or returns 1 when its module is missing.
case_args() {
  case $1 in
  sm13)
    [[ -f $SM_SRC ]] || return 1
    if [[ ! -f $SM13 || $SM_SRC -nt $SM13 || bench/return_at_once.mjs -nt $SM13 ]]; then
      mkdir -p "$(dirname "$SM13")"
      node bench/return_at_once.mjs "$SM_SRC" "$SM13" || die "cannot make $SM13"
    fi
    args=("$SM13")
    module=$SM13
    ;;
  yosys30)
    [[ -f $YOSYS ]] || return 1
    args=("$YOSYS" -V)
    module=$YOSYS
    ;;
  llvm75)
    [[ -f $LLVM ]] || return 1
    args=("$LLVM" clang --version)
    module=$LLVM
    ;;
  *) die "unknown case $1 (sm13, yosys30, llvm75)" ;;
  esac
}

# one MODE OUT: one run of the current case, lazy or eager; prints "seconds kilobytes".
one() {
  local mode=$1 out=$2 start end status=0
  start=$EPOCHREALTIME
  if [[ $mode == eager ]]; then
    ZH_EAGER=1 /usr/bin/time -f %M -o "$out.rss" "$zerohop" run "${args[@]}" >"$out" 2>"$out.err" ||
      status=$?
  else
    /usr/bin/time -f %M -o "$out.rss" "$zerohop" run "${args[@]}" >"$out" 2>"$out.err" ||
      status=$?
  fi
  end=$EPOCHREALTIME
  if [[ $status -ne 0 ]]; then
    cat "$out.err" >&2
    die "$mode '$zerohop run ${args[*]}' exited with status $status"
  fi
  awk -v s="$start" -v e="$end" -v k="$(tail -n 1 "$out.rss")" 'BEGIN { printf "%.6f %d\n", e - s, k }'
}

cases=("$@")
[[ ${#cases[@]} -gt 0 ]] || cases=(sm13 yosys30 llvm75)
modules=()
for name in "${cases[@]}"; do
  if ! case_args "$name"; then
    echo "bench: startup-large $name: skipped, its module is not installed (npm ci)"
    continue
  fi
  modules+=("$module")
  lt=() lr=() et=() er=()
  for ((i = 1; i <= LARGE_RUNS; i++)); do
    read -r t k < <(one lazy "$BENCH_TMP/$name.lazy.$i.out")
    lt+=("$t") lr+=("$k")
    read -r t k < <(one eager "$BENCH_TMP/$name.eager.$i.out")
    et+=("$t") er+=("$k")
  done
  for f in "$BENCH_TMP/$name".*.out; do
    cmp -s "$BENCH_TMP/$name.lazy.1.out" "$f" || die "$name: $(basename "$f") differs from the first run"
  done
  size=$(stat -c %s "$module")
  awk -v n="$name" -v sz="$size" -v lt="$(median "${lt[@]}")" -v et="$(median "${et[@]}")" \
    -v lr="$(median "${lr[@]}")" -v er="$(median "${er[@]}")" -v runs="$LARGE_RUNS" 'BEGIN {
    mb = sz / 1e6
    lm = lr * 1024 / 1e6; em = er * 1024 / 1e6
    printf "bench: startup-large %s (%.1f MB) median %.1f ms (eager %.1f ms, %.2fx); peak RSS %.1f MB = %.2fx the module (eager %.1f MB = %.2fx); %d runs each\n",
      n, mb, lt * 1000, et * 1000, et / lt, lm, lm / mb, em, em / mb, runs }'
done

[[ -x $BUILD/bench/first_call ]] || die "$BUILD/bench/first_call is missing (make bench-startup-large)"
"$BUILD/bench/first_call" "$LARGE_RUNS" "${modules[@]}"
