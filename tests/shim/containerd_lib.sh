# Shared by tests/shim/k8s_test.sh and bench/k8s.sh (source it): a private containerd 1.6
# under a temp dir with the shim first on its PATH, and the helpers to make test images.
#
# Expects: root (the repository), shim (the shim binary), py (/usr/bin/python3), here
# (tests/shim). Sets: tmp (the temp dir, removed on exit), cpid (containerd's PID), C (the ctr
# command line for it), up (0 once containerd answers), cni_bridge and cni_subnet (the pods'
# network, below). Everything is stopped by PID on exit, and the bridge is deleted.

tmp=$(mktemp -d /tmp/zh-shim-k8s.XXXXXX)
cpid=
cleanup() {
  if [[ -n "$cpid" ]]; then
    # Tasks first (their shims are ours), then containerd by its PID.
    for ns in default k8s.io; do
      for t in $(ctr --address "$tmp/c.sock" -n $ns task ls -q 2>/dev/null); do
        ctr --address "$tmp/c.sock" -n $ns task kill -s SIGKILL "$t" >/dev/null 2>&1
        ctr --address "$tmp/c.sock" -n $ns task delete "$t" >/dev/null 2>&1
      done
    done
    kill "$cpid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$cpid" 2>/dev/null
  fi
  # The pods' bridge, made by the CNI bridge plugin on the first pod (ours by its name).
  [[ -n "${cni_bridge:-}" ]] && ip link show "$cni_bridge" >/dev/null 2>&1 &&
    ip link delete "$cni_bridge"
  # Whatever containerd left mounted under its private root.
  grep -o " $tmp/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Polls URL until it answers 200 (or LIMIT tenths of a second pass); prints the body.
wait_200() {
  local url=$1 limit=${2:-100}
  for _ in $(seq "$limit"); do
    if curl -sf --max-time 1 "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# ---- the pods' network (CRI): Debian's CNI plugins, linked into a bin dir of our own ----
# A bridge with a private /24 (host-local IPAM, its lease files under $tmp), the bridge being
# the gateway so the host reaches the pods by their IPs; no masquerading (no iptables rules to
# undo). The bridge and subnet names carry this shell's PID, so parallel runs do not meet.
cni_bridge=zhbr$(($$ % 100000))
cni_subnet=10.234.$(($$ % 250 + 1)).0/24
mkdir -p "$tmp/cni/bin" "$tmp/cni/conf" "$tmp/cni/ipam"
for p in bridge host-local loopback portmap; do
  [[ -x /usr/lib/cni/$p ]] && ln -s "/usr/lib/cni/$p" "$tmp/cni/bin/$p"
done
cat >"$tmp/cni/conf/10-zerohop-test.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "zerohop-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$cni_bridge",
      "isGateway": true,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "$tmp/cni/ipam",
        "ranges": [[{"subnet": "$cni_subnet"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "loopback"}
  ]
}
EOF

# ---- containerd ----
mkdir -p "$tmp/root" "$tmp/state" "$tmp/bin"
cat >"$tmp/config.toml" <<EOF
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$tmp/c.sock"
[ttrpc]
  address = "$tmp/c.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "zerohop.test/pause:1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.zerohop]
      runtime_type = "io.containerd.zerohop.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$tmp/cni/bin"
    conf_dir = "$tmp/cni/conf"
EOF
ln -s "$shim" "$tmp/bin/containerd-shim-zerohop-v2"
PATH=$tmp/bin:$PATH setsid containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
cpid=$!
C=(ctr --address "$tmp/c.sock")
up=1
for _ in $(seq 100); do
  if "${C[@]}" version >/dev/null 2>&1; then up=0; break; fi
  sleep 0.1
done
mkimage() { "$py" "$here/mkimage.py" "$@"; }
app_dir() { # DIR WASM [MANIFEST-TEXT]
  mkdir -p "$1"
  cp "$2" "$1/app.wasm"
  if [[ $# -ge 3 ]]; then printf '%s' "$3" >"$1/spin.toml"; else
    cat >"$1/spin.toml" <<'EOF'
spin_manifest_version = 2

[application]
name = "hello"
version = "1.0.0"

[[trigger.http]]
route = "/..."
component = "hello"

[component.hello]
source = "app.wasm"
EOF
  fi
}

# The images of the apps: `zerohop image build` when the CLI has it (branch oci; ZH_IMAGE_TOOL
# names another zerohop to use), else tests/shim/mkimage.py and plain_rootfs.sh, which write
# the same shapes. wasm_image TAR REF DIR; plain_image TAR REF DIR. plain_cmd PORT prints the
# command line (one word a line) that makes the plain image listen on 127.0.0.1:PORT.
image_tool=${ZH_IMAGE_TOOL:-$build/zerohop}
if "$image_tool" image build --help >/dev/null 2>&1; then image_build=1; else image_build=0; fi
wasm_image() {
  if [[ $image_build -eq 1 ]]; then
    "$image_tool" image build -f "$3" -o "$1" --name "$2" >/dev/null
  else
    mkimage "$1" "$2" wasip1/wasm "$3"
  fi
}
plain_image() {
  if [[ $image_build -eq 1 ]]; then
    "$image_tool" image build -f "$3" -o "$1" --name "$2" --plain >/dev/null
  else
    bash "$here/plain_rootfs.sh" "$build/zerohop" "$3" "$tmp/plain-rootfs" &&
      mkimage --entrypoint '["/zerohop","up","-f","/app"]' "$1" "$2" linux/amd64 "$tmp/plain-rootfs"
  fi
}
plain_cmd() {
  if [[ $image_build -eq 1 ]]; then
    return 0 # its entrypoint reads SPIN_HTTP_LISTEN_ADDR (given with --env)
  fi
  printf '%s\n' /zerohop up -f /app --listen "127.0.0.1:$1"
}
