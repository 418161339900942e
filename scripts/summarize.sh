#!/usr/bin/env bash
# Test result bookkeeping for `make check` / `make test`.
#
#   summarize.sh run LOG CMD [ARGS...]
#       Runs CMD, showing its output and appending it to LOG. Each test program reports
#       itself with a line containing "N passed, M failed" (the spec runner adds
#       ", K skipped"). When CMD exits non-zero without reporting a failure (a crash, a
#       sanitizer report after its summary), a line "CMD: 0 passed, 1 failed (exit status S)"
#       is added so that the run counts as failed; a CMD that was not built counts the same.
#       Exits with CMD's status.
#
#   summarize.sh total LABEL LOG...
#       Sums the "N passed, M failed[, K skipped]" lines of the LOGs and prints
#       "LABEL: N passed, M failed" (", K skipped" when K > 0). A missing LOG means that
#       group never ran (it did not build) and counts as one failure. Exits non-zero when
#       anything failed or nothing ran.
set -euo pipefail

# Prints "passed failed skipped" summed over the report lines of the files given.
count() {
  awk '
    match($0, /(^|[^0-9])[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?/) {
      s = substr($0, RSTART, RLENGTH)
      sub(/^[^0-9]/, "", s)
      split(s, f, /[^0-9]+/)
      p += f[1]; x += f[2]; k += f[3]
    }
    END { printf "%d %d %d\n", p, x, k }
  ' "$@"
}

usage() {
  echo "usage: summarize.sh run LOG CMD [ARGS...] | summarize.sh total LABEL LOG..." >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
mode=$1
shift
case "$mode" in
run)
  [[ $# -ge 2 ]] || usage
  log=$1
  shift
  if ! command -v "$1" >/dev/null; then
    echo "$1: 0 passed, 1 failed (not built)" | tee -a "$log"
    exit 127
  fi
  out=$(mktemp)
  trap 'rm -f "$out"' EXIT
  set +e
  "$@" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  set -e
  read -r _ failed _ < <(count "$out")
  if [[ $status -ne 0 && $failed -eq 0 ]]; then
    echo "$1: 0 passed, 1 failed (exit status $status)" | tee -a "$out"
  fi
  mkdir -p "$(dirname "$log")"
  cat "$out" >>"$log"
  exit "$status"
  ;;
total)
  [[ $# -ge 2 ]] || usage
  label=$1
  shift
  present=()
  absent=0
  for log in "$@"; do
    if [[ -f "$log" ]]; then
      present+=("$log")
    else
      echo "summarize: $log is missing: that test group did not run" >&2
      absent=$((absent + 1))
    fi
  done
  passed=0 failed=0 skipped=0
  if [[ ${#present[@]} -gt 0 ]]; then
    read -r passed failed skipped < <(count "${present[@]}")
  fi
  failed=$((failed + absent))
  line="$label: $passed passed, $failed failed"
  if [[ $skipped -gt 0 ]]; then line+=", $skipped skipped"; fi
  echo "$line"
  if [[ $failed -gt 0 ]]; then exit 1; fi
  if [[ $passed -eq 0 ]]; then
    echo "summarize: no tests ran" >&2
    exit 1
  fi
  ;;
*) usage ;;
esac
