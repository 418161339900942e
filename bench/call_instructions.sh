#!/usr/bin/env bash
# make bench-hops-call-instr: instructions per component-dependency call (bench/hops_call.sh's
# app: deps_caller's echo of 1 KiB to deps_callee), counted by callgrind, which repeats where
# the shared machine's timings do not. `zerohop up` runs under valgrind with instrumentation
# off; one warm-up request, then one `/loop?n=N` request counted and dumped, then one
# `/loop-timer?n=N` (the same loop, the two clock reads and the line of output, no call)
# counted and dumped. Per call = (loop - timer) / N, split by where the instructions are spent
# (self cost): the interpreter (`run`), the host adapter (src/wit/link.c, src/host/app_deps.c),
# the C library (memcpy, memset...), and the rest (entering the guest, hop recording...).
#   BUILD (build)  N (2000)  SIZE (1024)  ZEROHOP (BUILD/zerohop)  SHOW (0)  KEEP ()
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
N=${N:-2000}
SIZE=${SIZE:-1024}
ZEROHOP=${ZEROHOP:-$BUILD/zerohop}
COMP=$PWD/build/components/host
for tool in valgrind callgrind_control callgrind_annotate curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-hops-call-instr: $tool is not installed" >&2; exit 1; }
done
# shellcheck source=bench/http_lib.sh
source bench/http_lib.sh
http_bench_init bench-hops-call-instr

deps_app bench-hops-call-instr
head -c "$SIZE" /dev/zero | tr '\0' 'a' >"$tmp/payload"

port=$(free_port)
out="$tmp/cg.out"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
  "$ZEROHOP" up -f "$tmp/app" --listen "127.0.0.1:$port" >"$tmp/up.out" 2>"$tmp/up.err" &
pid=$!
pids+=("$pid")
wait_serving "$tmp/up.out" "$tmp/up.err" "bench-hops-call-instr: zerohop up"

request() { # PATH: one POST of the payload, checked for N lines
  curl -sf --data-binary @"$tmp/payload" "http://127.0.0.1:$port/x/$1?n=$N" >"$tmp/answer"
  [[ $(wc -l <"$tmp/answer") -eq $N ]] || { echo "bench-hops-call-instr: short answer to $1" >&2; exit 1; }
}
request loop
callgrind_control -i on "$pid" >/dev/null 2>&1
request loop
callgrind_control -d "$pid" >/dev/null 2>&1
request loop-timer
callgrind_control -d "$pid" >/dev/null 2>&1
callgrind_control -i off "$pid" >/dev/null 2>&1

# split FILE: "total interp adapter libc" of one dump, by each function's self cost.
split() {
  callgrind_annotate --auto=no --threshold=100 "$1" 2>/dev/null | awk '
    /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1; next }
    /^ *[0-9,]+ .*:/ {
      n = $1; gsub(",", "", n); $1 = ""
      if ($0 ~ /interp\.c:run('\''[0-9]+)? |runtime\.h:run /) interp += n
      else if ($0 ~ /src\/wit\/link\.c:|src\/host\/app_deps\.c:/) adapter += n
      else if ($0 ~ /libc[.-]|\?\?\?:(mem|__mem|str)/) libc += n
    }
    END { printf "%d %d %d %d\n", total, interp, adapter, libc }'
}
[[ -z ${KEEP:-} ]] || cp "$out.1" "$out.2" "$KEEP"/ # KEEP=DIR: the two profiles, for callgrind_annotate
read -r lt li la lc < <(split "$out.1")
read -r tt ti ta tc < <(split "$out.2")
echo "bench-hops-call-instr: $N calls of $SIZE bytes, instructions per call (loop less timer loop)"
awk -v n="$N" -v lt="$lt" -v li="$li" -v la="$la" -v lc="$lc" -v tt="$tt" -v ti="$ti" \
  -v ta="$ta" -v tc="$tc" 'BEGIN {
    t = (lt - tt) / n; i = (li - ti) / n; a = (la - ta) / n; c = (lc - tc) / n
    printf "  interpreter (run)       %8.0f\n", i
    printf "  adapter (link, deps)    %8.0f\n", a
    printf "  libc (memcpy...)        %8.0f\n", c
    printf "  rest                    %8.0f\n", t - i - a - c
    printf "call: %.0f instructions\n", t
  }'
# SHOW=K: the K functions whose self cost per call changed most between the two dumps.
if [[ -n ${SHOW:-} ]]; then
  for d in 1 2; do
    callgrind_annotate --auto=no --threshold=100 "$out.$d" 2>/dev/null |
      awk '/^ *[0-9,]+ .*:/ && !/PROGRAM TOTALS/ { n = $1; gsub(",", "", n); $1 = ""; sub(/^ *\([^)]*\) */, ""); sub(/ \[.*/, ""); print n "\t" $0 }' >"$tmp/fn.$d"
  done
  awk -F'\t' -v n="$N" 'NR == FNR { t[$2] += $1; next } { l[$2] += $1 }
    END { for (f in l) printf "%8.0f  %s\n", (l[f] - t[f]) / n, f; for (f in t) if (!(f in l)) printf "%8.0f  %s\n", -t[f] / n, f }' \
    "$tmp/fn.2" "$tmp/fn.1" | sort -rn | head -n "$SHOW"
fi
