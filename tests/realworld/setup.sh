# Sourced by tests/realworld/run.sh and bench/realworld.sh, from the repository root, with B
# set to the build directory. Names the two npm packages' modules and unpacks, once per
# package version, the files each keeps outside its wasm: Yosys's share/ tree (inside a
# JavaScript module) and Clang's /usr (headers, wasi-libc, compiler builtins).
YOSYS_GEN=node_modules/@yowasp/yosys/gen
LLVM_GEN=node_modules/@yowasp/clang/gen
YOSYS=$YOSYS_GEN/yosys.core.wasm
LLVM=$LLVM_GEN/llvm.core.wasm
OUT=$B/realworld
YOSYS_SHARE=$OUT/yosys-share/share
CLANG_USR=$OUT/clang-usr
# The compile step of `clang -O2 -c` as `clang -###` lists it (WASI cannot spawn the
# driver's subprocesses, so the test and the benchmark run each step themselves).
CC1=(clang -cc1 -triple wasm32-unknown-wasip1 -O2 -emit-obj -resource-dir /usr -isysroot /usr
  -internal-isystem /usr/include -internal-isystem /usr/include/wasm32-wasip1)
# The same for C++ (`clang++ -O2 -std=c++17 -c`), without exceptions.
CXX1=(clang++ -cc1 -triple wasm32-unknown-wasip1 -O2 -emit-obj -resource-dir /usr -isysroot /usr
  -internal-isystem /usr/include/wasm32-wasip1/c++/v1 -internal-isystem /usr/include/c++/v1
  -internal-isystem /usr/include -internal-isystem /usr/include/wasm32-wasip1 -std=c++17)
# The link step: wasi-libc's start file, the object, libc, compiler builtins.
LD=(wasm-ld -m wasm32 -L/usr/lib/wasm32-wasip1 /usr/lib/wasm32-wasip1/crt1-command.o
  /work/prog.o -lc /usr/lib/wasm32-unknown-wasip1/libclang_rt.builtins.a -o /work/prog.wasm)
MAC_SCRIPT='read_verilog /work/mac.v; synth -top mac -noabc;
    tee -q -o /work/mac.txt eval -set a 1234 -set b 5678 -set c 42 -show y;
    tee -q -a /work/mac.txt stat'

# Prints what is missing and returns 1, or unpacks what is not unpacked yet.
realworld_unpack() {
  local f
  for f in "$YOSYS" "$LLVM"; do
    if [[ ! -f $f ]]; then
      echo "$f is missing (npm ci)"
      return 1
    fi
  done
  mkdir -p "$OUT"
  if [[ ! -f $YOSYS_SHARE/techmap.v || $YOSYS_GEN/resources-yosys.js -nt $YOSYS_SHARE ]]; then
    rm -rf "$OUT/yosys-share"
    node tests/realworld/yosys_share.mjs "$YOSYS_GEN" "$OUT/yosys-share" || return 1
  fi
  if [[ ! -f $CLANG_USR/lib/wasm32-wasip1/crt1-command.o ||
    $LLVM_GEN/llvm-resources.tar -nt $CLANG_USR ]]; then
    rm -rf "$CLANG_USR" && mkdir -p "$CLANG_USR" &&
      tar -xf "$LLVM_GEN/llvm-resources.tar" -C "$CLANG_USR" || return 1
  fi
}
