# wrk rounds shared by bench/http_bench.sh and bench/serve.sh; sourced, not run.
#
# wrk_rounds LABEL WIDTH: runs `wrk -t2 -c$CONNECTIONS -d${SECONDS_EACH}s --latency` against
# ${url[NAME]} for each NAME of ${names[@]}, $ROUNDS times in turn (so the machine's noise
# falls on all alike), printing each run, and collects the figures in the associative arrays
# rps, p50 and p99 (space-separated, latencies in microseconds) that the caller declared.
# Afterwards wrk_table LABEL WIDTH prints the medians with the ratio to nginx (${rps[nginx]}).

# wrk latency values ("512.00us", "1.20ms", "2.00s") in microseconds.
to_us() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000;
                         else if (v ~ /s$/) f = 1000000; else f = 1; printf "%.1f\n", n * f }'
}

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The ratio of a req/s figure to nginx's median.
nginx_ratio() {
  # shellcheck disable=SC2086 # a list of numbers, split on purpose
  awk -v a="$1" -v b="$(median ${rps[nginx]})" 'BEGIN { printf "%.2f", a / b }'
}

wrk_rounds() {
  local label=$1 width=$2 round n out r a b errs
  for round in $(seq "$ROUNDS"); do
    for n in "${names[@]}"; do
      out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "${url[$n]}")
      r=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
      a=$(awk '$1 == "50%" { print $2 }' <<<"$out")
      b=$(awk '$1 == "99%" { print $2 }' <<<"$out")
      errs=$(awk '/Non-2xx|Socket errors/ { print }' <<<"$out")
      [[ -z "$errs" ]] || echo "$label: $n round $round: $errs"
      rps[$n]+="$r "
      p50[$n]+="$(to_us "$a") "
      p99[$n]+="$(to_us "$b") "
      printf "  round %d %-${width}s %10.0f req/s  p50 %8s  p99 %8s\n" "$round" "$n" "$r" "$a" "$b"
    done
  done
}

wrk_table() {
  local width=$1 n m l50 l99
  printf "%-${width}s %12s %10s %10s %8s\n" server "req/s" "p50 us" "p99 us" nginx
  for n in "${names[@]}"; do
    # shellcheck disable=SC2086 # lists of numbers, split on purpose
    {
      m=$(median ${rps[$n]})
      l50=$(median ${p50[$n]})
      l99=$(median ${p99[$n]})
    }
    printf "%-${width}s %12.0f %10.1f %10.1f %7sx\n" "$n" "$m" "$l50" "$l99" "$(nginx_ratio "$m")"
  done
}
