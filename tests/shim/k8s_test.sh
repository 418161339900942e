#!/usr/bin/env bash
# The shim against a real containerd (Debian's 1.6): a private containerd (root, state dir,
# config and sockets under a temp dir, native snapshotter) started here and stopped by PID,
# with build/containerd-shim-zerohop-v2 first on its PATH. Covers:
#
#   - `ctr run --runtime io.containerd.zerohop.v2` of a Wasm image (FROM scratch, spin.toml +
#     .wasm at /, platform wasip1/wasm) serving HTTP on a loopback port answered by curl;
#     `ctr task metrics` (the shim's Stats: memory, CPU, threads);
#     `ctr task kill` (SIGTERM: drains, status 0; SIGKILL: status 137); `ctr task delete`
#   - the plain image (the zerohop binary, its libraries and the app) under runc the same way
#   Images come from `zerohop image build` when the CLI has it, else from tests/shim/mkimage.py
#   and plain_rootfs.sh (containerd_lib.sh).
#   - faults: no spin.toml, a broken manifest, a component that traps at start: each a failed
#     task (status 1) with its reason in the task's output
#   - a shim killed with SIGKILL: containerd cleans up, no stale socket, the next run works
#   - the CRI path (tests/shim/cri_test.py over containerd's gRPC CRI API), the pod in its own
#     network namespace on a CNI bridge (containerd_lib.sh), answered at its pod IP
#
# Needs root (containerd mounts snapshots). Ends with "shim-k8s: N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${ZH_BUILD:-$root/build}" && pwd)
shim=$build/containerd-shim-zerohop-v2
comps=$root/build/components
py=/usr/bin/python3

passed=0
failed=0
check() { # NAME CONDITION-STATUS [DETAIL]
  if [[ $2 -eq 0 ]]; then
    passed=$((passed + 1))
    echo "ok   $1"
  else
    failed=$((failed + 1))
    echo "FAIL $1${3:+: $3}"
  fi
}
finish() {
  echo "shim-k8s: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit $?
}

for tool in containerd ctr runc curl "$py" "$shim"; do
  if ! command -v "$tool" >/dev/null; then
    check "prerequisite $tool" 1 "not installed or not built"
    finish
  fi
done
if [[ $(id -u) -ne 0 ]]; then
  check "running as root (containerd needs it)" 1
  finish
fi

. "$here/containerd_lib.sh"
check "containerd starts (pid $cpid)" $up "$(tail -5 "$tmp/containerd.log")"
[[ $up -eq 0 ]] || finish

app_dir "$tmp/img/hello" "$comps/c-http-hello.wasm"
app_dir "$tmp/img/trap" "$comps/c-http-trap-init.wasm"
app_dir "$tmp/img/broken" "$comps/c-http-hello.wasm" $'spin_manifest_version = 2\n[application]\nname = "broken\n'
app_dir "$tmp/img/needsvar" "$comps/c-http-hello.wasm" 'spin_manifest_version = 2
[application]
name = "needsvar"
[variables]
token = { required = true }
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "app.wasm"
'
mkdir -p "$tmp/img/nomanifest" "$tmp/img/pause"
echo "no manifest here" >"$tmp/img/nomanifest/README"
echo "pod sandbox placeholder" >"$tmp/img/pause/pause"
st=0
wasm_image "$tmp/hello.tar" zerohop.test/hello:1 "$tmp/img/hello" || st=1
wasm_image "$tmp/trap.tar" zerohop.test/trap:1 "$tmp/img/trap" || st=1
mkimage "$tmp/broken.tar" zerohop.test/broken:1 wasip1/wasm "$tmp/img/broken" || st=1
mkimage "$tmp/nomanifest.tar" zerohop.test/nomanifest:1 wasip1/wasm "$tmp/img/nomanifest" || st=1
mkimage "$tmp/needsvar.tar" zerohop.test/needsvar:1 wasip1/wasm "$tmp/img/needsvar" || st=1
mkimage "$tmp/pause.tar" zerohop.test/pause:1 linux/amd64 "$tmp/img/pause" || st=1
plain_image "$tmp/plain.tar" zerohop.test/plain:1 "$tmp/img/hello" || st=1
"${C[@]}" images import --snapshotter native "$tmp/plain.tar" >/dev/null || st=1
for i in hello trap broken nomanifest needsvar; do
  "${C[@]}" images import --all-platforms --snapshotter native "$tmp/$i.tar" >/dev/null || st=1
done
check "test images built and imported ($([[ $image_build -eq 1 ]] && echo "zerohop image build" || echo mkimage.py))" $st

RUN=("${C[@]}" run --snapshotter native --platform wasip1/wasm --runtime io.containerd.zerohop.v2
  --net-host)

# ---- ctr run of the Wasm image: HTTP, SIGTERM, delete ----
port=$(free_port)
"${RUN[@]}" -d --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$port" zerohop.test/hello:1 hello1 >"$tmp/run1.out" 2>&1
check "ctr run -d of the Wasm image" $? "$(cat "$tmp/run1.out")"
body=$(wait_200 "http://127.0.0.1:$port/")
[[ "$body" == "hello from C" ]]
check "curl gets 200 'hello from C' from the shim on 127.0.0.1:$port" $? "got '$body'"
"${C[@]}" task ls | grep -q "^hello1 .*RUNNING"
check "ctr task ls shows hello1 RUNNING" $?
# Stats: `ctr task metrics` decodes the cgroups v2 Metrics the shim sends; the shim's own
# /proc entry, read here at the same moment, bounds the memory figure.
metric() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }
spid=$("${C[@]}" task ls | awk '$1 == "hello1" {print $2}')
m1=$("${C[@]}" task metrics hello1 2>&1)
rss=$(awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$spid/status" 2>/dev/null)
mem=$(metric memory.usage "$m1")
[[ -n "$mem" && -n "$rss" && $mem -gt 0 && $((mem * 2)) -gt $rss && $mem -lt $((rss * 2)) ]]
check "ctr task metrics: memory.usage $mem bytes, the shim's RSS ($rss)" $? "$m1"
cpu1=$(metric cpu.usage_usec "$m1")
[[ -n "$cpu1" && $cpu1 -gt 0 ]]
check "ctr task metrics: cpu.usage_usec $cpu1 > 0 (the app's load)" $? "$m1"
pids=$(metric pids.current "$m1")
[[ -n "$pids" && $pids -ge 2 ]]
check "ctr task metrics: pids.current $pids (the server's threads and the task's)" $? "$m1"
urls=()
for _ in $(seq 200); do urls+=("http://127.0.0.1:$port/"); done
curl -sf --max-time 20 "${urls[@]}" >/dev/null
cpu2=$(metric cpu.usage_usec "$("${C[@]}" task metrics hello1 2>&1)")
[[ -n "$cpu2" && $cpu2 -gt $cpu1 ]]
check "ctr task metrics: cpu.usage_usec grows with 200 requests ($cpu1 -> $cpu2)" $?
sock=$(ls /run/zerohop-shim/*.sock 2>/dev/null | head -1)
"${C[@]}" task kill hello1
check "ctr task kill (SIGTERM)" $?
stopped=1
for _ in $(seq 50); do
  if "${C[@]}" task ls | grep -q "^hello1 .*STOPPED"; then stopped=0; break; fi
  sleep 0.1
done
check "the task stops after SIGTERM" $stopped
curl -s --max-time 1 "http://127.0.0.1:$port/" >/dev/null
[[ $? -ne 0 ]]
check "the port is closed after the stop" $?
# ctr 1.6's task delete reports a non-zero exit status as a warning ("exit code N").
out=$("${C[@]}" task delete hello1 2>&1)
st=$?
[[ $st -eq 0 ]] && ! grep -q "exit code" <<<"$out"
check "ctr task delete: exit status 0 after SIGTERM (drained)" $? "$out"
"${C[@]}" containers rm hello1 >/dev/null 2>&1
check "ctr containers rm" $?
gone=1
for _ in $(seq 30); do
  if [[ -z "$sock" || ! -e "$sock" ]]; then gone=0; break; fi
  sleep 0.1
done
check "the shim's socket is removed when it shuts down" $gone "$sock"
! grep -q " $tmp/state/.*hello1/rootfs " /proc/self/mounts
check "the rootfs is unmounted after delete" $?

# ---- a given network namespace (a pod's; here `ctr run --with-ns`): the app serves there ----
ns=zh-shim-test-$$
if ip netns add "$ns" 2>/dev/null && ip netns exec "$ns" ip link set lo up; then
  port=$(free_port)
  "${C[@]}" run --snapshotter native --platform wasip1/wasm --runtime io.containerd.zerohop.v2 \
    --with-ns "network:/var/run/netns/$ns" -d --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$port" \
    zerohop.test/hello:1 netns1 >"$tmp/netns.out" 2>&1
  check "ctr run -d --with-ns network:/var/run/netns/$ns of the Wasm image" $? "$(cat "$tmp/netns.out")"
  body=$(ip netns exec "$ns" bash -c "for i in \$(seq 100); do curl -sf --max-time 1 http://127.0.0.1:$port/ && exit 0; sleep 0.1; done; exit 1")
  [[ "$body" == "hello from C" ]]
  check "inside that namespace, curl gets 200 'hello from C' on 127.0.0.1:$port" $? "got '$body'"
  curl -s --max-time 1 "http://127.0.0.1:$port/" >/dev/null
  [[ $? -ne 0 ]]
  check "outside it, nothing answers on 127.0.0.1:$port" $?
  "${C[@]}" task kill netns1 >/dev/null 2>&1
  for _ in $(seq 50); do "${C[@]}" task ls | grep -q "^netns1 .*STOPPED" && break; sleep 0.1; done
  out=$("${C[@]}" task delete netns1 2>&1)
  [[ $? -eq 0 ]] && ! grep -q "exit code" <<<"$out"
  check "the namespaced task stops with status 0" $? "$out"
  "${C[@]}" containers rm netns1 >/dev/null 2>&1
  ip netns delete "$ns"
else
  check "ip netns add $ns (iproute2, as root)" 1
fi

# ---- SIGKILL through ctr: status 137 ----
port=$(free_port)
"${RUN[@]}" -d --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$port" zerohop.test/hello:1 hello2 >/dev/null 2>&1
wait_200 "http://127.0.0.1:$port/" >/dev/null
check "a second run serves" $?
"${C[@]}" task kill -s SIGKILL hello2
for _ in $(seq 50); do "${C[@]}" task ls | grep -q "^hello2 .*STOPPED" && break; sleep 0.1; done
out=$("${C[@]}" task delete hello2 2>&1)
grep -q "exit code 137" <<<"$out"
check "ctr task kill -s SIGKILL: exit status 137" $? "$out"
"${C[@]}" containers rm hello2 >/dev/null 2>&1

# ---- the plain image under runc, the same way ----
port=$(free_port)
mapfile -t cmd < <(plain_cmd "$port")
"${C[@]}" run -d --snapshotter native --net-host --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$port" \
  zerohop.test/plain:1 plain1 "${cmd[@]}" >"$tmp/plain.out" 2>&1
check "ctr run -d of the plain image under runc" $? "$(cat "$tmp/plain.out")"
body=$(wait_200 "http://127.0.0.1:$port/")
[[ "$body" == "hello from C" ]]
check "curl gets 200 'hello from C' from zerohop up under runc" $? "got '$body'"
"${C[@]}" task kill plain1
for _ in $(seq 100); do "${C[@]}" task ls | grep -q "^plain1 .*STOPPED" && break; sleep 0.1; done
out=$("${C[@]}" task delete plain1 2>&1)
st=$?
[[ $st -eq 0 ]] && ! grep -q "exit code" <<<"$out"
check "runc: SIGTERM stops zerohop up with status 0, task deleted" $? "$out"
"${C[@]}" containers rm plain1 >/dev/null 2>&1

# ---- faults: each a failed task (status 1) with its reason in the output ----
fault() { # NAME IMAGE PATTERN
  local out code
  out=$(timeout 60 "${RUN[@]}" --rm "$2" "fault-$1" 2>&1)
  code=$?
  [[ $code -eq 1 ]]
  check "fault $1: the task fails with status 1" $? "status $code: $out"
  grep -qE "$3" <<<"$out"
  check "fault $1: the reason is in the task's output" $? "$out"
}
fault no-manifest zerohop.test/nomanifest:1 "no /spin.toml in the container's root filesystem"
fault broken-manifest zerohop.test/broken:1 "spin.toml:[0-9]+:[0-9]+"
fault trap-at-start zerohop.test/trap:1 "unreachable|trap"

# ---- SPIN_VARIABLE_*: a required variable from the container's environment ----
fault missing-variable zerohop.test/needsvar:1 "token"
port=$(free_port)
"${RUN[@]}" -d --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$port" --env SPIN_VARIABLE_TOKEN=t0k3n \
  zerohop.test/needsvar:1 withvar >/dev/null 2>&1
wait_200 "http://127.0.0.1:$port/" >/dev/null
check "SPIN_VARIABLE_TOKEN from --env satisfies the required variable: it serves" $?
"${C[@]}" task kill -s SIGKILL withvar >/dev/null 2>&1
for _ in $(seq 50); do "${C[@]}" task ls | grep -q "^withvar .*STOPPED" && break; sleep 0.1; done
"${C[@]}" task delete withvar >/dev/null 2>&1
"${C[@]}" containers rm withvar >/dev/null 2>&1

# ---- a shim killed with SIGKILL ----
port=$(free_port)
before=$(ls /run/zerohop-shim/ 2>/dev/null)
"${RUN[@]}" -d --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$port" zerohop.test/hello:1 victim >/dev/null 2>&1
wait_200 "http://127.0.0.1:$port/" >/dev/null
check "the victim serves" $?
spid=$("${C[@]}" task ls | awk '$1 == "victim" {print $2}')
vsock=$(comm -13 <(echo "$before") <(ls /run/zerohop-shim/ 2>/dev/null) | head -1)
[[ -n "$vsock" ]]
check "the victim's socket is in /run/zerohop-shim ($vsock)" $?
vsock=/run/zerohop-shim/$vsock
kill -9 "$spid"
# containerd sees the connection drop, runs `shim delete` and forgets the task.
cleaned=1
for _ in $(seq 100); do
  if ! "${C[@]}" task ls | grep -q "^victim "; then cleaned=0; break; fi
  sleep 0.1
done
check "containerd cleans up after the killed shim (pid $spid)" $cleaned
reaped=1
for _ in $(seq 50); do
  if [[ ! -e /proc/$spid ]] || grep -q '^State:.*Z' "/proc/$spid/status" 2>/dev/null; then
    [[ -e /proc/$spid ]] || { reaped=0; break; }
  fi
  sleep 0.1
done
check "the killed shim is reaped (no zombie left)" $reaped "$(grep State /proc/$spid/status 2>/dev/null)"
"${C[@]}" task delete victim >/dev/null 2>&1
"${C[@]}" containers rm victim >/dev/null 2>&1
check "the dead shim's container can be removed" $?
# containerd runs `shim delete` (which removes it) in the background: give it a moment.
stale=1
for _ in $(seq 50); do [[ -e "$vsock" ]] || { stale=0; break; }; sleep 0.1; done
check "no stale socket is left ($vsock)" $stale "$(grep -v level=debug "$tmp/containerd.log" | tail -12)"
port=$(free_port)
"${RUN[@]}" -d --env "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:$port" zerohop.test/hello:1 victim >/dev/null 2>&1
wait_200 "http://127.0.0.1:$port/" >/dev/null
check "the next run with the same id serves" $?
"${C[@]}" task kill victim >/dev/null 2>&1
for _ in $(seq 50); do "${C[@]}" task ls | grep -q "^victim .*STOPPED" && break; sleep 0.1; done
"${C[@]}" task delete victim >/dev/null 2>&1
"${C[@]}" containers rm victim >/dev/null 2>&1

# ---- the CRI path ----
"${C[@]}" -n k8s.io images import --all-platforms --snapshotter native "$tmp/pause.tar" >/dev/null &&
  "${C[@]}" -n k8s.io images import --all-platforms --snapshotter native "$tmp/hello.tar" >/dev/null
check "images imported for CRI (k8s.io namespace)" $?
CRI_SOCKET=$tmp/c.sock CRI_TMP=$tmp CRI_BRIDGE=$cni_bridge CRI_SUBNET=$cni_subnet \
  "$py" "$here/cri_test.py"
st=$?
check "the CRI path with a pod network (cri_test.py)" $st
# The bridge outlives its pods (the CNI bridge plugin leaves it): the test deletes what it made.
if ip link show "$cni_bridge" >/dev/null 2>&1; then ip link delete "$cni_bridge"; fi
! ip link show "$cni_bridge" >/dev/null 2>&1
check "the test's bridge $cni_bridge is deleted" $?

finish
