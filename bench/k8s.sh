#!/usr/bin/env bash
# make bench-k8s: the shim against the plain image under runc, in the same run, on a private
# containerd 1.6 (tests/shim/containerd_lib.sh). For each runtime, ROUNDS times, alternating:
#
#   ctr container create; then time `ctr task start -d` (shim or runc shim spawned, Create,
#   Start) to the first HTTP 200, polled every 0.5 ms; and `ctr run -d` (snapshot, container,
#   task) to the first HTTP 200.
#   For the shim also the Start RPC to the first 200 (the shim logs the wall-clock time of
#   Start; the client notes the wall-clock time of the 200).
#   RSS after the first 200: the shim's (the app runs inside it), against zerohop up's plus
#   containerd-shim-runc-v2's (what one app costs under runc).
#
# Prints medians, the shim/runc ratios and both image sizes (docs/PERFORMANCE.md "12.").
# Needs root. ROUNDS (default 10).
set -uo pipefail

here=$(cd "$(dirname "$0")/../tests/shim" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${BUILD:-$root/build}" && pwd)
shim=$build/containerd-shim-zerohop-v2
comps=$root/build/components
py=/usr/bin/python3
rounds=${ROUNDS:-10}

[[ $(id -u) -eq 0 ]] || { echo "bench-k8s: needs root (containerd)" >&2; exit 1; }
. "$here/containerd_lib.sh"
[[ $up -eq 0 ]] || { echo "bench-k8s: containerd did not start" >&2; exit 1; }

app_dir "$tmp/img/hello" "$comps/c-http-hello.wasm"
wasm_image "$tmp/hello.tar" zerohop.test/hello:1 "$tmp/img/hello"
plain_image "$tmp/plain.tar" zerohop.test/plain:1 "$tmp/img/hello"
"${C[@]}" images import --all-platforms --snapshotter native "$tmp/hello.tar" >/dev/null
"${C[@]}" images import --snapshotter native "$tmp/plain.tar" >/dev/null

echo "== images (OCI layout tars, gzipped layers from zerohop image build, else uncompressed; $([[ $image_build -eq 1 ]] && echo "zerohop image build" || echo "tests/shim/mkimage.py"))"
echo "wasm image:  $(stat -c %s "$tmp/hello.tar") bytes"
echo "plain image: $(stat -c %s "$tmp/plain.tar") bytes"
if [[ $image_build -eq 1 ]]; then # the same images with the layer left a plain tar
  "$image_tool" image build -f "$tmp/img/hello" -o "$tmp/hello-u.tar" --uncompressed >/dev/null
  "$image_tool" image build -f "$tmp/img/hello" -o "$tmp/plain-u.tar" --uncompressed --plain >/dev/null
  echo "uncompressed (--uncompressed): wasm $(stat -c %s "$tmp/hello-u.tar") bytes, plain $(stat -c %s "$tmp/plain-u.tar") bytes"
fi

PLAIN_CMD="$(plain_cmd PORT | tr '\n' ' ')" CTR="${C[*]}" ROUNDS=$rounds CLOG="$tmp/containerd.log" "$py" - <<'EOF'
import os, shlex, socket, statistics, subprocess, time

ctr = shlex.split(os.environ["CTR"])
rounds = int(os.environ["ROUNDS"])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def first_200(port, proc, limit=20.0):
    """Polls until GET / answers 200; returns the time it did (perf_counter)."""
    req = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    end = time.perf_counter() + limit
    while time.perf_counter() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(req)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.perf_counter()
        except OSError:
            time.sleep(0.0005)
    raise RuntimeError("no 200 on port %d" % port)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def task_pid(cid):
    out = subprocess.run(ctr + ["task", "ls"], capture_output=True, text=True).stdout
    for line in out.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return int(f[1])
    return 0


def runc_shim_pid(pid):
    """containerd-shim-runc-v2 is the parent of the container's init."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    return 0


def stop(cid):
    subprocess.run(ctr + ["task", "kill", "-s", "SIGKILL", cid], capture_output=True)
    for _ in range(100):
        r = subprocess.run(ctr + ["task", "delete", cid], capture_output=True)
        if r.returncode == 0:
            break
        time.sleep(0.05)
    subprocess.run(ctr + ["containers", "rm", cid], capture_output=True)


def create_args(kind, cid, port):
    # No --platform (`ctr containers create` has none): the imported image's target is its
    # manifest, so ctr picks no platform for either image and both runs differ in runtime only.
    if kind == "shim":
        return (["--snapshotter", "native", "--runtime",
                 "io.containerd.zerohop.v2", "--net-host", "--env",
                 "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:%d" % port, "zerohop.test/hello:1", cid], [])
    cmd = [w.replace("PORT", str(port)) for w in os.environ["PLAIN_CMD"].split()]
    return (["--snapshotter", "native", "--net-host", "--env",
             "SPIN_HTTP_LISTEN_ADDR=127.0.0.1:%d" % port, "zerohop.test/plain:1", cid], cmd)


def start_stamp(cid):
    """The wall-clock time the shim logged when its Start RPC came ("task ID starts at T")."""
    needle = "task %s starts at " % cid
    for _ in range(200):
        with open(os.environ["CLOG"], errors="replace") as f:
            for line in f:
                i = line.find(needle)
                if i >= 0:
                    return float(line[i + len(needle):].split()[0])
        time.sleep(0.01)
    raise RuntimeError("no start stamp for " + cid)


res = {k: {"start": [], "run": [], "rss": [], "rpc": []} for k in ("shim", "runc")}
for i in range(rounds):
    for kind in ("shim", "runc") if i % 2 == 0 else ("runc", "shim"):
        # task start -> first 200
        port = free_port()
        cid = "b-%s-%d" % (kind, i)
        args, cmd = create_args(kind, cid, port)
        subprocess.run(ctr + ["containers", "create"] + args + cmd, check=True, capture_output=True)
        t0 = time.perf_counter()
        p = subprocess.Popen(ctr + ["task", "start", "-d", cid], stdout=subprocess.DEVNULL)
        t1 = first_200(port, p)
        wall = time.time()
        p.wait()
        res[kind]["start"].append((t1 - t0) * 1000)
        if kind == "shim":
            res[kind]["rpc"].append((wall - start_stamp(cid)) * 1000)
        pid = task_pid(cid)
        rss = rss_kib(pid)
        if kind == "runc":
            rss += rss_kib(runc_shim_pid(pid))
        res[kind]["rss"].append(rss)
        stop(cid)
        # ctr run -> first 200
        port = free_port()
        cid = "r-%s-%d" % (kind, i)
        args, cmd = create_args(kind, cid, port)
        t0 = time.perf_counter()
        p = subprocess.Popen(ctr + ["run", "-d"] + args + cmd, stdout=subprocess.DEVNULL)
        t1 = first_200(port, p)
        p.wait()
        res[kind]["run"].append((t1 - t0) * 1000)
        stop(cid)

med = {k: {m: statistics.median(v) for m, v in d.items() if v} for k, d in res.items()}
print("== %d rounds, medians (min-max)" % rounds)
for kind in ("shim", "runc"):
    d = res[kind]
    print("%-5s task start -> first 200: %7.1f ms (%.1f-%.1f)   ctr run -> first 200: %7.1f ms"
          " (%.1f-%.1f)   RSS: %6d KiB" % (kind, med[kind]["start"], min(d["start"]),
                                           max(d["start"]), med[kind]["run"], min(d["run"]),
                                           max(d["run"]), med[kind]["rss"]))
r = res["shim"]["rpc"]
print("shim  Start RPC -> first 200: %.1f ms median (%.1f-%.1f), target 50 ms" % (
    med["shim"]["rpc"], min(r), max(r)))
print("shim/runc: task start %.2fx, ctr run %.2fx, RSS %.2fx" % (
    med["shim"]["start"] / med["runc"]["start"], med["shim"]["run"] / med["runc"]["run"],
    med["shim"]["rss"] / med["runc"]["rss"]))
EOF
