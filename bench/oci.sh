#!/usr/bin/env bash
# `make bench-oci`: the sizes of the two images of the example app, and push/pull against
# Debian's docker-registry on loopback, alternating with skopeo moving the same bytes (the
# reference, measured in the same run). docs/PERFORMANCE.md, section 12, has the figures.
#
#   BUILD=build RUNS=5 bash bench/oci.sh
set -euo pipefail
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
zerohop=$BUILD/zerohop
BENCH_TMP=$(mktemp -d /tmp/zh-bench-oci-XXXXXX)
source "$(dirname "$0")/lib.sh"
reg_pid=
cleanup() {
  if [[ -n $reg_pid ]]; then kill "$reg_pid" 2>/dev/null || true; wait "$reg_pid" 2>/dev/null || true; fi
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

app=examples/app
[[ -f $app/target/notes.wasm ]] || die "the example app is not built (make example-app)"

echo "== image sizes (bytes): the archive and its layer as built (gzip), and with --uncompressed"
printf '%-6s %12s %12s %12s %12s\n' image tar layer.gz tar-uncomp layer.tar
for kind in wasm plain; do
  flag=$([[ $kind == plain ]] && echo --plain || true)
  sizes=()
  for comp in "" --uncompressed; do
    out="$BENCH_TMP/$kind$comp.tar"
    "$zerohop" image build $flag $comp -f $app -o "$out" >/dev/null
    mkdir -p "$BENCH_TMP/$kind$comp"
    tar -xf "$out" -C "$BENCH_TMP/$kind$comp"
    layer=$(ls -S "$BENCH_TMP/$kind$comp"/blobs/sha256/* | head -1) # the largest blob
    sizes+=("$(stat -c %s "$out")" "$(stat -c %s "$layer")")
  done
  printf '%-6s %12d %12d %12d %12d\n' "$kind" "${sizes[@]}"
done
wasm_total=0
for f in $app/target/*.wasm; do wasm_total=$((wasm_total + $(stat -c %s "$f"))); done
echo "components: $wasm_total bytes of .wasm; zerohop binary: $(stat -c %s "$zerohop") bytes"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$BENCH_TMP/reg.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $BENCH_TMP/storage
http:
  addr: 127.0.0.1:$port
YML
/usr/bin/docker-registry serve "$BENCH_TMP/reg.yml" >"$BENCH_TMP/reg.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done

echo "== push and pull against docker-registry on loopback ($RUNS runs each, alternating)"
push=() ref_push=() pull=() ref_pull=()
for ((i = 1; i <= RUNS; i++)); do
  # a fresh repository each time, so every blob is sent
  push+=("$(time_run "$BENCH_TMP/p$i" "$zerohop" registry push -f $app "127.0.0.1:$port/zh/push$i:v1")")
  ref_push+=("$(time_run "$BENCH_TMP/s$i" skopeo copy -q --dest-tls-verify=false \
    "oci-archive:$BENCH_TMP/wasm--uncompressed.tar" "docker://127.0.0.1:$port/zh/skopeo$i:v1")")
  pull+=("$(time_run "$BENCH_TMP/l$i" "$zerohop" registry pull "127.0.0.1:$port/zh/push$i:v1" \
    -o "$BENCH_TMP/pulled$i" --cache-dir "$BENCH_TMP/cache$i")")
  ref_pull+=("$(time_run "$BENCH_TMP/r$i" skopeo copy -q --src-tls-verify=false \
    "docker://127.0.0.1:$port/zh/skopeo$i:v1" "oci:$BENCH_TMP/oci$i:v1")")
done
report() {
  local name=$1 m r
  shift
  m=$(median "${@:1:RUNS}")
  r=$(median "${@:RUNS+1}")
  awk -v n="$name" -v m="$m" -v r="$r" 'BEGIN { printf "%-34s %8.1f ms   skopeo %8.1f ms   ratio %.2f\n", n, m * 1000, r * 1000, m / r }'
}
report "registry push (3 wasm layers)" "${push[@]}" "${ref_push[@]}"
report "registry pull (empty cache)" "${pull[@]}" "${ref_pull[@]}"
