#!/usr/bin/env bash
# Real-world programs (tests/realworld): each run under `zerohop run` against Node.js's
# node:wasi (V8, a JIT: bench/realworld.mjs) in the same run, alternately RW_RUNS times
# each; medians of wall time, the ratio zerohop / node, and from one more run of each under
# /usr/bin/time its CPU time (user + system: V8 compiles on background threads, zerohop uses
# one) and peak resident memory. Every run's output must match the first.
#
#   yosys_synth   Yosys synthesises and evaluates a 16x16 multiply-accumulate
#   clang_cc1     Clang compiles tests/realworld/prog.c at -O2 to a wasm object
#   wasm_ld       wasm-ld links that object with wasi-libc
#   clangxx_cc1   Clang compiles bench/realworld.cc (C++17: <iostream>, <map>, <vector>,
#                 <algorithm>) at -O2: mostly running compiler code, little start-up
#   start_llvm    `clang --version` from the 75 MB module: returns at once, so this is the
#                 cost of starting a big module (read, decode, validate, compile, instantiate)
#   start_yosys   `yosys -V` from the 30 MB module, the same
#
#   BUILD=build RW_RUNS=5 RW_RUNS_HEAVY=3 bash bench/realworld.sh
# (clangxx_cc1 takes about 20 s a run under zerohop, so it runs RW_RUNS_HEAVY times.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bench/lib.sh
B=${BUILD:-build}
source tests/realworld/setup.sh
RW_RUNS=${RW_RUNS:-5}
RW_RUNS_HEAVY=${RW_RUNS_HEAVY:-3}
zerohop=$B/zerohop
[[ -x $zerohop ]] || die "$zerohop is missing (make $zerohop)"
command -v node >/dev/null || die "node is missing"
why=$(realworld_unpack 2>&1) || die "$why"

BENCH_TMP=$(mktemp -d)
trap 'rm -rf "$BENCH_TMP"' EXIT
work=$BENCH_TMP/work
mkdir -p "$work/tmp"
cp tests/realworld/mac.v tests/realworld/prog.c bench/realworld.cc "$work/"
# wasm-ld needs the object before its own runs start.
"$zerohop" run --dir "$CLANG_USR::/usr" --dir "$work::/work" "$LLVM" "${CC1[@]}" \
  -o /work/prog.o -x c /work/prog.c || die "clang_cc1: cannot compile prog.c"

# The output a case leaves behind: its stdout and, when it writes one, its file.
snapshot() {
  local name=$1 out=$2
  case $name in
  yosys_synth) cat "$work/mac.txt" >>"$out" ;;
  clang_cc1) cksum <"$work/prog.o" >>"$out" ;;
  wasm_ld) cksum <"$work/prog.wasm" >>"$out" ;;
  clangxx_cc1) cksum <"$work/realworld.o" >>"$out" ;;
  esac
}

# case_args NAME: sets dirs (pre-opens as HOST::GUEST) and args (module and arguments).
case_args() {
  case $1 in
  yosys_synth)
    dirs=("$work::/work" "$work/tmp::/tmp" "$YOSYS_SHARE::/share")
    args=("$YOSYS" -q -p "$MAC_SCRIPT")
    ;;
  clang_cc1)
    dirs=("$CLANG_USR::/usr" "$work::/work")
    args=("$LLVM" "${CC1[@]}" -o /work/prog.o -x c /work/prog.c)
    ;;
  wasm_ld)
    dirs=("$CLANG_USR::/usr" "$work::/work")
    args=("$LLVM" "${LD[@]}")
    ;;
  clangxx_cc1)
    dirs=("$CLANG_USR::/usr" "$work::/work")
    args=("$LLVM" "${CXX1[@]}" -o /work/realworld.o -x c++ /work/realworld.cc)
    ;;
  start_llvm)
    dirs=()
    args=("$LLVM" clang --version)
    ;;
  start_yosys)
    dirs=()
    args=("$YOSYS" -V)
    ;;
  esac
}

# runner zerohop|node: the command prefix that runs a module with the pre-opens in $dirs.
runner() {
  local d
  cmd=()
  if [[ $1 == zerohop ]]; then
    cmd=("$zerohop" run)
    for d in ${dirs[@]+"${dirs[@]}"}; do cmd+=(--dir "$d"); done
  else
    cmd=(node --no-warnings bench/realworld.mjs)
    for d in ${dirs[@]+"${dirs[@]}"}; do cmd+=(--dir "$d"); done
  fi
}

# cpu_rss CMD...: "CPU-seconds peak-MiB" of one run.
cpu_rss() {
  /usr/bin/time -f '%U %S %M' -o "$BENCH_TMP/rss" "$@" >/dev/null 2>&1 || die "'$*' failed"
  awk '{ printf "%.2f %.0f\n", $1 + $2, $3 / 1024 }' "$BENCH_TMP/rss"
}

printf '%-12s %10s %10s %7s %8s %8s %7s %7s\n' case zerohop node ratio "zh cpu" "nd cpu" \
  "zh MiB" "nd MiB"
for name in yosys_synth clang_cc1 wasm_ld clangxx_cc1 start_llvm start_yosys; do
  case_args "$name"
  zt=() nt=() runs=$RW_RUNS
  [[ $name != clangxx_cc1 ]] || runs=$RW_RUNS_HEAVY
  for ((i = 1; i <= runs; i++)); do
    for side in zerohop node; do
      runner "$side"
      out=$BENCH_TMP/$name.$side.$i.out
      t=$(time_run "$out" "${cmd[@]}" "${args[@]}")
      snapshot "$name" "$out"
      if [[ $side == zerohop ]]; then zt+=("$t"); else nt+=("$t"); fi
    done
  done
  for f in "$BENCH_TMP/$name".*.out; do
    cmp -s "$BENCH_TMP/$name.zerohop.1.out" "$f" || die "$name: $(basename "$f") differs"
  done
  runner zerohop
  zcr=$(cpu_rss "${cmd[@]}" "${args[@]}")
  runner node
  ncr=$(cpu_rss "${cmd[@]}" "${args[@]}")
  read -r zc zr <<<"$zcr"
  read -r nc nr <<<"$ncr"
  z=$(median "${zt[@]}") n=$(median "${nt[@]}")
  [[ $name != start_llvm ]] || start_s=$z start_rss=$zr
  awk -v name="$name" -v z="$z" -v n="$n" -v zc="$zc" -v nc="$nc" -v zr="$zr" -v nr="$nr" 'BEGIN {
    printf "%-12s %9.3fs %9.3fs %6.2fx %7.2fs %7.2fs %7d %7d\n", name, z, n, z / n, zc, nc, zr, nr }'
done
for m in "$LLVM" "$YOSYS"; do
  awk -v m="$(basename "$m")" -v s="$(stat -c %s "$m")" 'BEGIN {
    printf "module %s: %.1f MiB\n", m, s / 1048576 }'
done
awk -v t="$start_s" -v r="$start_rss" -v s="$(stat -c %s "$LLVM")" 'BEGIN {
  printf "bench: realworld start-up of the largest module (%.1f MiB) median %.3f s, " \
    "peak RSS %d MiB (%.1fx the module)\n", s / 1048576, t, r, r * 1048576 / s }'
