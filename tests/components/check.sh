#!/usr/bin/env bash
# Checks that the test components are what we think they are: tests of our build, not of
# zerohop's runtime (the runtime's tests use these components later).
#
#   tests/components/check.sh COMP_DIR WASI_P2_DIR WASI_SUITE_DIR
#
# For every source under tests/components/ the component exists, starts with the component
# preamble (\0asm, version 0x0d, layer 1), and its `jco wit` text (COMP_DIR/NAME.wit) names the
# world it must have. The C commands also run under `jco run` (jco's own runtime, on node),
# which shows that the programs do what their tests will expect. Each wrapped WASI program
# exists once per program of the suite, with its specification beside it. Ends with
# "components-check: N passed, M failed".
set -uo pipefail

[[ $# -eq 3 ]] || { echo "usage: check.sh COMP_DIR WASI_P2_DIR WASI_SUITE_DIR" >&2; exit 2; }
comp=$1 p2=$2 suite=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
jco=$root/node_modules/.bin/jco
passed=0 failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

ok() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1: $2"; }
# check DESC COND_STATUS DETAIL
check() { if [[ $2 -eq 0 ]]; then ok "$1"; else fail "$1" "$3"; fi; }

is_component() { [[ -f "$1" && "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" == 0061736d0d000100 ]]; }

# component NAME WIT-LINE...: the file is a component and its world has each line.
component() {
  local name=$1 wasm=$comp/$1.wasm wit=$comp/$1.wit
  shift
  if ! is_component "$wasm"; then
    fail "$name.wasm is a component" "missing, or its first 8 bytes are not 00 61 73 6d 0d 00 01 00"
    return
  fi
  ok "$name.wasm is a component ($(stat -c %s "$wasm") bytes)"
  local line missing=()
  for line in "$@"; do grep -qxF "  $line" "$wit" 2>/dev/null || missing+=("$line"); done
  check "$name.wit names ${*}" ${#missing[@]} "not in $wit: ${missing[*]}"
}

# ---- what each component is ----
for src in "$root"/tests/components/c/*.c; do
  component "c-$(basename "$src" .c)" "export wasi:cli/run@0.2.12;" "import wasi:cli/stdout@0.2.12;"
done
component c-args "import wasi:cli/environment@0.2.12;"
component c-env "import wasi:cli/environment@0.2.12;"
component c-files "import wasi:filesystem/types@0.2.12;" "import wasi:filesystem/preopens@0.2.12;"
component c-clocks "import wasi:clocks/wall-clock@0.2.12;" "import wasi:clocks/monotonic-clock@0.2.12;"
component c-random "import wasi:random/random@0.2.12;"
component c-stdin "import wasi:cli/stdin@0.2.12;"
component c-exit "import wasi:cli/exit@0.2.12;"
for src in "$root"/tests/components/js/*.js; do
  component "js-$(basename "$src" .js)" "export wasi:http/incoming-handler@0.2.10;" \
    "import wasi:http/types@0.2.10;" "import wasi:http/outgoing-handler@0.2.10;"
done
component c-http-hello "export wasi:http/incoming-handler@0.2.12;" "import wasi:http/types@0.2.12;"
component spin-hello "export wasi:http/incoming-handler@0.2.3;" "import wasi:http/types@0.2.3;"

# ---- the C commands do what their tests will expect, under jco's runtime ----
# run NAME ARGS...: runs c-NAME.wasm under `jco run`; output in $out, status in $rc.
run() {
  local name=$1
  shift
  out=$("$jco" run --jco-import "$root/tests/components/jco-preopen.mjs" "$comp/c-$name.wasm" \
    "$@" <"${stdin:-/dev/null}" 2>&1)
  rc=$?
}
expect() { # DESC EXPECTED-RC GREP-PATTERN...
  local desc=$1 want=$2 pat
  shift 2
  if [[ $rc -ne $want ]]; then fail "$desc" "exit status $rc, expected $want; output: $out"; return; fi
  for pat in "$@"; do
    grep -qE -- "$pat" <<<"$out" || { fail "$desc" "no line matching '$pat' in: $out"; return; }
  done
  ok "$desc"
}

run args one "two words" && expect "c-args: argv reaches the guest" 0 '^argc=3$' \
  '^argv\[1\]=one$' '^argv\[2\]=two words$'
ZH_CHECK_VAR=value-1 run env ZH_CHECK_VAR
expect "c-env: the environment reaches the guest" 0 '^env ZH_CHECK_VAR=value-1$' \
  '^ZH_CHECK_VAR=value-1$'
mkdir -p "$scratch/data/sub" && printf 'fixture text' >"$scratch/data/input.txt"
ZH_PREOPEN_HOST=$scratch/data run files /data "written by check.sh"
expect "c-files: read, write, readdir in a preopen" 0 '^input: fixture text$' \
  '^output: written by check.sh$' '^entry input.txt$' '^entry output.txt$' '^entry sub$'
[[ "$(cat "$scratch/data/output.txt" 2>/dev/null)" == "written by check.sh" ]]
check "c-files: the write reached the host file" $? "$(cat "$scratch/data/output.txt" 2>&1)"
run clocks 30 && expect "c-clocks: wall and monotonic clocks, a 30 ms sleep" 0 '^wall [0-9]{10}$' \
  '^monotonic ok slept_ms=[0-9]+$'
run random && expect "c-random: two different 32-byte draws" 0 '^random [0-9a-f]{64}$'
head -c 300000 /dev/urandom >"$scratch/stdin.bin"
want=$(python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$scratch/stdin.bin")
stdin=$scratch/stdin.bin run stdin
expect "c-stdin: 300000 bytes of stdin, hashed" 0 "^stdin bytes=300000 fnv1a=$want\$"
run exit 7 && expect "c-exit: exit-with-code 7 keeps the code" 7 '^exit-with-code 7$'
run exit 0 && expect "c-exit: exit-with-code 0" 0 '^exit-with-code 0$'

# ---- the WASI testsuite, wrapped ----
for group in c assemblyscript; do
  n_src=0 n_ok=0 bad=()
  for prog in "$suite/$group"/*.wasm; do
    n_src=$((n_src + 1))
    name=$(basename "$prog" .wasm)
    if ! is_component "$p2/$group/$name.wasm"; then
      bad+=("$name.wasm")
    elif [[ -f "$suite/$group/$name.json" && ! -f "$p2/$group/$name.json" ]]; then
      bad+=("$name.json")
    else
      n_ok=$((n_ok + 1))
    fi
  done
  check "wasi-p2/$group: $n_ok of $n_src programs wrapped as components, specs beside them" \
    $((n_src == 0 || n_ok != n_src)) "missing or not components: ${bad[*]}"
done

echo "components-check: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
