#!/usr/bin/env bash
# Installs every Debian package that zerohop's build, tests, lint, fuzzing and benchmarks need.
# Idempotent: when all of them are already installed it does nothing (no apt-get at all), so a
# repeat run takes a few milliseconds. Runs as root, or through sudo otherwise.
set -euo pipefail

packages=(
  build-essential gcc make                      # the C toolchain
  clang clang-14 lld lld-14                     # wasm32 guests, fuzzing, sanitizers
  wasi-libc libclang-rt-dev-wasm32              # the wasm32-wasi sysroot and its builtins
  libclang-rt-14-dev                            # -fsanitize=fuzzer,address runtimes
  libjansson-dev                                # the spec runner reads wast2json output
  wabt                                          # wat2wasm, wasm-objdump for tests and debugging
  hyperfine valgrind                            # benchmarks and profiling
  clang-tidy cppcheck clang-format              # make lint, make format
  python3                                       # helper scripts
  redis-server                                  # host-side services used by later tests
  libcurl4-openssl-dev                          # wasi:http outgoing-handler (src/wasip2)
)

# One dpkg-query for all of them; a package dpkg has never heard of is simply not listed.
declare -A installed=()
while read -r name status; do
  if [[ "$status" == "install ok installed" ]]; then installed[$name]=1; fi
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)

missing=()
for pkg in "${packages[@]}"; do
  if [[ -z "${installed[$pkg]:-}" ]]; then missing+=("$pkg"); fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "deps.sh: missing packages (${missing[*]}) and not root, and sudo is not available" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"
