#!/usr/bin/env bash
# Real-world WASI programs that nobody here wrote, run with `zerohop run` and checked
# against output known in advance (issue 8). Both come from npm (package.json, installed
# into node_modules/ by `npm ci`):
#   - Yosys (@yowasp/yosys, 30 MB of wasm): prints its version; synthesises a 16x16
#     multiply-accumulate to gates, evaluates the netlist (1234 * 5678 + 42 = 7006694) and
#     prints its statistics; reports a syntax error with file and line.
#   - Clang and wasm-ld (@yowasp/clang, one 75 MB multi-call module): compile and link a C
#     program against the wasi-libc the package ships; that program then runs under zerohop
#     and prints values computed by hand; a compile error is reported with line:col.
#   - zerohop's own limits on them: --timeout ends a C++ compile (exit 124), --max-memory
#     below Yosys's initial memory refuses to start it (exit 1).
# yosys_mac.expected holds Yosys's statistics as Node.js's node:wasi runs the same command
# (bench/realworld.mjs); the eval line is arithmetic. Ends with "realworld: N passed, M failed".
# Usage: ZH_BUILD=build bash tests/realworld/run.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
B=${ZH_BUILD:-build}
ZH=$B/zerohop
HERE=tests/realworld
source "$HERE/setup.sh"
passed=0
failed=0

ok() {
  passed=$((passed + 1))
  echo "ok   $1"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL $1: $2"
}
finish() {
  echo "realworld: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}

[[ -f $ZH ]] || fail setup "$ZH is missing (make $ZH)"
why=$(realworld_unpack 2>&1) || fail setup "$why"
[[ $failed -eq 0 ]] || finish

scratch=$(mktemp -d "$OUT/run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cp "$HERE/mac.v" "$HERE/bad.v" "$HERE/prog.c" "$HERE/bad.c" "$scratch/"
mkdir -p "$scratch/tmp"

# run NAME WANT_STATUS ZEROHOP-ARGS...: runs zerohop with stdout and stderr kept in
# $scratch/NAME.out and .err; checks the exit status.
run() {
  local name=$1 want=$2
  shift 2
  "$ZH" run "$@" >"$scratch/$name.out" 2>"$scratch/$name.err"
  local status=$?
  if [[ $status -ne $want ]]; then
    fail "$name" "exit status $status, want $want; stderr: $(head -c 400 "$scratch/$name.err")"
    return 1
  fi
}

# same NAME FILE WANT_TEXT: FILE's content is exactly WANT_TEXT.
same() {
  local got
  got=$(cat "$2" 2>/dev/null)
  if [[ "$got" == "$3" ]]; then
    ok "$1"
  else
    fail "$1" "$(diff <(printf '%s\n' "$3") <(printf '%s\n' "$got") | head -20)"
  fi
}

# ---- Yosys ----
YDIRS=(--dir "$scratch::/work" --dir "$scratch/tmp::/tmp" --dir "$YOSYS_SHARE::/share")
run yosys_version 0 "$YOSYS" -V &&
  same yosys_version "$scratch/yosys_version.out" \
    "Yosys 0.55 (git sha1 60f126cd0, ccache clang 18.1.3 -O3 -flto -flto)"

run yosys_mac 0 "${YDIRS[@]}" "$YOSYS" -q -p "$MAC_SCRIPT" &&
  same yosys_mac "$scratch/mac.txt" "$(cat "$HERE/yosys_mac.expected")"

run yosys_error 1 "${YDIRS[@]}" "$YOSYS" -q -p 'read_verilog /work/bad.v' &&
  same yosys_error "$scratch/yosys_error.err" "/work/bad.v:2: ERROR: syntax error, unexpected ';'"

# ---- Clang and wasm-ld: the two steps of `clang -O2 prog.c` (setup.sh) ----
CDIRS=(--dir "$CLANG_USR::/usr" --dir "$scratch::/work")
run clang_compile 0 "${CDIRS[@]}" "$LLVM" "${CC1[@]}" -o /work/prog.o -x c /work/prog.c &&
  ok clang_compile
run wasm_ld 0 "${CDIRS[@]}" "$LLVM" "${LD[@]}" && ok wasm_ld
if [[ -f "$scratch/prog.wasm" ]]; then
  run clang_program 3 "$scratch/prog.wasm" first second &&
    same clang_program "$scratch/clang_program.out" "fib(30)=832040
sorted=1 3 7 19 42 88
strlen=7 pi=3.14159
argc=3 last=second"
else
  fail clang_program "no prog.wasm"
fi
run clang_error 1 "${CDIRS[@]}" "$LLVM" "${CC1[@]}" -o /work/bad.o -x c /work/bad.c &&
  same clang_error "$scratch/clang_error.err" "/work/bad.c:1:25: error: use of undeclared identifier 'undeclared'
    1 | int main(void) { return undeclared + 1; }
      |                         ^~~~~~~~~~
1 error generated."

# ---- the CLI's limits on a big module: a deadline ends Clang mid-compile, a memory cap
# below the module's own minimum refuses it at instantiation ----
cp bench/realworld.cc "$scratch/"
run clang_timeout 124 --timeout 300ms "${CDIRS[@]}" "$LLVM" "${CXX1[@]}" -o /work/cc.o \
  -x c++ /work/realworld.cc &&
  same clang_timeout <(head -n 1 "$scratch/clang_timeout.err") \
    "zerohop: $LLVM: interrupted: time limit of 300ms reached; wasm backtrace:"
run yosys_memory 1 --max-memory 8MiB "$YOSYS" -V &&
  same yosys_memory "$scratch/yosys_memory.err" \
    "zerohop: $YOSYS: memory of 210 pages exceeds the limit of 128 pages"

finish
