# Helpers for bench/run.sh and bench/startup.sh; sourced, not run. Expects BENCH_TMP (a
# scratch directory) and zerohop (the CLI's path) to be set.

die() {
  echo "bench: FAILED: $*" >&2
  exit 1
}

# Median of the numbers given as arguments.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# time_run OUTFILE CMD...: runs CMD with stdout to OUTFILE, prints the wall time in seconds.
# A non-zero exit is fatal: a benchmark that fails has no time.
time_run() {
  local out=$1 start end status=0
  shift
  start=$EPOCHREALTIME
  "$@" >"$out" 2>"$out.err" || status=$?
  end=$EPOCHREALTIME
  if [[ $status -ne 0 ]]; then
    cat "$out.err" >&2
    die "'$*' exited with status $status"
  fi
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f\n", e - s }'
}

# measure NAME NATIVE WASM RUNS: runs NATIVE and `zerohop run WASM` alternately RUNS times
# each, fails unless every run printed the same output, and sets native_s and wasm_s to the
# median wall times in seconds.
measure() {
  local name=$1 native=$2 wasm=$3 runs=$4 i f nt=() wt=()
  [[ -x $native && -f $wasm ]] || die "$name: $native or $wasm missing (run make bench)"
  for ((i = 1; i <= runs; i++)); do
    nt+=("$(time_run "$BENCH_TMP/$name.native.$i.out" "$native")")
    wt+=("$(time_run "$BENCH_TMP/$name.wasm.$i.out" "$zerohop" run "$wasm")")
  done
  for f in "$BENCH_TMP/$name".*.out; do
    if ! cmp -s "$BENCH_TMP/$name.native.1.out" "$f"; then
      echo "--- native output:" >&2
      cat "$BENCH_TMP/$name.native.1.out" >&2
      echo "--- $(basename "$f"):" >&2
      cat "$f" >&2
      die "$name: checksum mismatch between native and wasm runs"
    fi
  done
  # shellcheck disable=SC2034 # results for the scripts that source this file
  native_s=$(median "${nt[@]}") wasm_s=$(median "${wt[@]}")
}
