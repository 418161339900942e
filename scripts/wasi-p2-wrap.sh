#!/usr/bin/env bash
# Wraps every program of the official WASI preview1 testsuite as a WASI 0.2 command component.
#
#   scripts/wasi-p2-wrap.sh SUITE_DIR OUT_DIR [JCO]
#
# For each SUITE_DIR/{c,assemblyscript}/NAME.wasm, `jco new NAME.wasm --wasi-command` (jco's
# preview1 command adapter) writes OUT_DIR/GROUP/NAME.wasm. The specification NAME.json, the
# group's manifest.json and its fixture directories (*.dir) are symlinked next to it, by
# absolute path, so a runner finds them where it finds them for the core modules and nothing
# is copied: a runner that lets programs write must copy the fixtures to a scratch directory
# first, as tests/wasi/run_testsuite.c does. A component newer than its program and than
# jco's adapter is kept, so a second run does nothing. Exits non-zero if any wrap failed.
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: wasi-p2-wrap.sh SUITE_DIR OUT_DIR [JCO]" >&2; exit 2; }
suite=$(realpath "$1")
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
jco=${3:-$root/node_modules/.bin/jco}
adapter=$root/node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.command.wasm
[[ -x "$jco" && -f "$adapter" ]] || {
  echo "wasi-p2-wrap: jco is not installed (node_modules); run scripts/deps.sh" >&2
  exit 1
}

wrapped=0 kept=0 failed=0
for group in c assemblyscript; do
  src=$suite/$group
  [[ -d "$src" ]] || { echo "wasi-p2-wrap: $src is missing" >&2; exit 1; }
  dst=$out/$group
  mkdir -p "$dst"
  for f in "$src"/*.json "$src"/*.dir; do
    [[ -e "$f" ]] && ln -sfn "$f" "$dst/$(basename "$f")"
  done
  for wasm in "$src"/*.wasm; do
    target=$dst/$(basename "$wasm")
    if [[ -f "$target" && "$target" -nt "$wasm" && "$target" -nt "$adapter" ]]; then
      kept=$((kept + 1))
      continue
    fi
    if "$jco" new "$wasm" --wasi-command -o "$target.tmp" >/dev/null 2>"$target.err"; then
      mv "$target.tmp" "$target"
      rm -f "$target.err"
      wrapped=$((wrapped + 1))
    else
      echo "wasi-p2-wrap: $wasm: $(head -c 2000 "$target.err")" >&2
      rm -f "$target.tmp"
      failed=$((failed + 1))
    fi
  done
done
echo "wasi-p2-wrap: $wrapped wrapped, $kept up to date, $failed failed, in $out"
[[ $failed -eq 0 ]]
