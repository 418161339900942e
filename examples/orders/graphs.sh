#!/usr/bin/env bash
# Draws the README's two pictures of the orders example: each variant runs under
# `zerohop up --admin` (spin-networked.toml or spin.toml, with its runtime config), takes
# ORDERS orders, and `zerohop graph --trace` draws its wiring with the hops measured in that
# run (docs/orders-networked.svg, docs/orders-zero-hop.svg).
# A redis-server of its own runs on a free loopback port for the networked variant.
#   BUILD (build)  ORDERS (50)  make example-orders first (`make orders-graphs` does)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}
ORDERS=${ORDERS:-50}
tmp=$(mktemp -d /tmp/zh-orders-graphs-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done

for variant in networked zero-hop; do
  port=$(free_port)
  admin=$(free_port)
  manifest=examples/orders
  extra=()
  if [[ $variant == networked ]]; then
    manifest=examples/orders/spin-networked.toml
    extra=(--variable "pricing_url=http://127.0.0.1:$port/pricing")
  fi
  "$BUILD/zerohop" up -f "$manifest" --listen "127.0.0.1:$port" --admin "127.0.0.1:$admin" \
    --state-dir "$tmp/$variant-state" \
    --runtime-config-file "examples/orders/runtime-config/$variant.toml" \
    --variable "redis_address=redis://127.0.0.1:$redis_port" "${extra[@]}" \
    >"$tmp/$variant.out" 2>"$tmp/$variant.err" &
  pid=$!
  pids+=($pid)
  for _ in $(seq 300); do grep -q '^Serving ' "$tmp/$variant.out" 2>/dev/null && break; sleep 0.1; done
  for i in $(seq "$ORDERS"); do
    printf 'order G%d\nitem apple %d 250\nitem pear 1 1200\n' "$i" $((i % 4 + 1)) |
      curl -fsS -o /dev/null --data-binary @- "http://127.0.0.1:$port/checkout"
  done
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/report" | grep -q "^orders=$ORDERS " && break
    sleep 0.1
  done
  curl -fsS -o "$tmp/$variant.metrics" "http://127.0.0.1:$admin/metrics"
  "$BUILD/zerohop" graph -f "$manifest" \
    --runtime-config-file "examples/orders/runtime-config/$variant.toml" \
    --trace "$tmp/$variant.metrics" -o "docs/orders-$variant.svg"
  [[ -z ${PNG:-} ]] || "$BUILD/zerohop" graph -f "$manifest" \
    --runtime-config-file "examples/orders/runtime-config/$variant.toml" \
    --trace "$tmp/$variant.metrics" -o "$PNG-$variant.png"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "orders-graphs: wrote docs/orders-$variant.svg"
done
