#!/usr/bin/env bash
# The README's main job: `zerohop up` on the example app (examples/app), a few requests to
# show what it serves, and then, on a terminal, serving on until Ctrl-C (without one, as in
# CI, it stops after the requests).
#
#   BUILD=build bash scripts/demo.sh        (make demo builds everything first)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
addr=${ZEROHOP_DEMO_ADDR:-127.0.0.1:3000}
out=$(mktemp)
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -f "$out"
}
trap cleanup EXIT

start() {
  "$BUILD/zerohop" up -f examples/app --listen "$1" >"$out" &
  pid=$!
  for _ in $(seq 1 600); do
    if grep -q '^Serving ' "$out"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then pid=; return 1; fi
    sleep 0.1
  done
  return 1
}
# Port 3000 may be taken on this machine: then any free port.
start "$addr" || start 127.0.0.1:0 || { echo "demo: zerohop up did not start" >&2; exit 1; }
sleep 0.3
cat "$out"
base=$(sed -n 's/^Serving \(http:[^ ]*\).*/\1/p' "$out" | head -1)

show() {
  echo
  echo "\$ curl $(printf '%q ' "$@")"
  curl -sS "$@"
}
show "$base/hello/world"
show -X PUT --data 'try zerohop up' "$base/notes/welcome"
show "$base/notes/welcome"
echo
show "$base/notes/"
show -i "$base/.well-known/spin/health"
echo
if [[ -t 0 && -t 1 ]]; then
  echo
  echo "Serving $base until Ctrl-C."
  wait "$pid" || true
  pid=
fi
