#!/usr/bin/python3
"""The shim as the kubelet drives it: containerd's CRI plugin over its gRPC API.

Generates a client from ../shared/reference/cri-api/api.proto (Debian's python3-grpc-tools)
into a temp dir, then: RunPodSandbox with runtime handler `zerohop` in a network of its own
(containerd runs the CNI bridge plugin: a netns, a veth on the test's bridge, an IP from its
subnet), PodSandboxStatus for the pod IP, CreateContainer of the Wasm image (it listens on
0.0.0.0:80, the default, inside the pod's namespace), StartContainer, an HTTP request to
POD-IP:80 from the host, ContainerStats (CPU and memory), StopContainer (SIGTERM: exit code 0), RemoveContainer,
StopPodSandbox and RemovePodSandbox, after which the netns and the pod's veth are gone.
Environment: CRI_SOCKET (containerd's socket), CRI_TMP (a scratch dir), CRI_BRIDGE and
CRI_SUBNET (the CNI network's bridge and subnet). Prints "cri: N passed, M failed".
"""
import ipaddress
import json
import os
import re
import sys
import time
import urllib.request

from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.normpath(os.path.join(HERE, "../../../shared/reference/cri-api"))

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   cri: " + name)
    else:
        failed += 1
        print("FAIL cri: " + name + (": " + str(detail) if detail else ""))


def main():
    tmp = os.environ["CRI_TMP"]
    bridge = os.environ["CRI_BRIDGE"]
    subnet = ipaddress.ip_network(os.environ["CRI_SUBNET"])
    gen = os.path.join(tmp, "cri_gen")
    os.makedirs(gen, exist_ok=True)
    # Debian's protoc predates the debug_redact field option; it only affects logging.
    with open(os.path.join(PROTO_DIR, "api.proto")) as f:
        text = re.sub(r"\s*\[debug_redact\s*=\s*true\]", "", f.read())
    with open(os.path.join(gen, "api.proto"), "w") as f:
        f.write(text)
    rc = protoc.main(["protoc", "-I" + gen,
                      "-I" + os.path.join(os.path.dirname(protoc.__file__), "_proto"),
                      "--python_out=" + gen, "--grpc_python_out=" + gen,
                      os.path.join(gen, "api.proto")])
    check("client generated from api.proto", rc == 0, rc)
    if rc != 0:
        return
    sys.path.insert(0, gen)
    import grpc
    import api_pb2 as pb
    import api_pb2_grpc as pbg

    ch = grpc.insecure_channel("unix://" + os.environ["CRI_SOCKET"])
    rt = pbg.RuntimeServiceStub(ch)
    img = pbg.ImageServiceStub(ch)
    v = rt.Version(pb.VersionRequest(), timeout=10)
    check("Version answers", v.runtime_name == "containerd", v)

    # The CRI plugin learns of images imported with ctr through events: wait for both.
    for ref in ("zerohop.test/pause:1", "zerohop.test/hello:1"):
        found = False
        for _ in range(100):
            st = img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=ref)), timeout=10)
            if st.image.id:
                found = True
                break
            time.sleep(0.1)
        check("image %s known to CRI" % ref, found)

    logs = os.path.join(tmp, "pod-logs")
    os.makedirs(logs, exist_ok=True)
    sandbox_cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="hello-pod", uid="uid-hello-1", namespace="default"),
        hostname="hello-pod", log_directory=logs, linux=pb.LinuxPodSandboxConfig())
    t0 = time.time()
    try:
        sb = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=sandbox_cfg, runtime_handler="zerohop"),
                              timeout=60).pod_sandbox_id
    except grpc.RpcError as e:
        check("RunPodSandbox with runtime handler zerohop", False, e.details())
        return
    check("RunPodSandbox with runtime handler zerohop (%.0f ms)" % ((time.time() - t0) * 1000), bool(sb))
    st = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sb, verbose=True), timeout=10)
    check("the sandbox is ready", st.status.state == pb.SANDBOX_READY, st.status.state)
    pod_ip = st.status.network.ip
    in_subnet = False
    try:
        in_subnet = ipaddress.ip_address(pod_ip) in subnet
    except ValueError:
        pass
    check("PodSandboxStatus: the pod's own IP %s, from the CNI subnet %s" % (pod_ip, subnet),
          in_subnet, pod_ip)
    netns = json.loads(st.info.get("info", "{}")).get("runtimeSpec", {})
    netns = [n.get("path", "") for n in netns.get("linux", {}).get("namespaces", [])
             if n.get("type") == "network"]
    netns = netns[0] if netns else ""
    check("the sandbox has a network namespace of its own (%s)" % netns, os.path.exists(netns), netns)
    ports = bridge_ports(bridge)
    check("the pod's veth is on the test's bridge %s" % bridge, len(ports) == 1, ports)

    ctr_cfg = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name="hello"),
        image=pb.ImageSpec(image="zerohop.test/hello:1"),
        log_path="hello.log", linux=pb.LinuxContainerConfig())
    try:
        cid = rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sb, config=ctr_cfg,
                                                           sandbox_config=sandbox_cfg),
                                 timeout=60).container_id
        check("CreateContainer", bool(cid))
        rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
        check("StartContainer", True)
    except grpc.RpcError as e:
        check("CreateContainer and StartContainer", False, e.details())
        cid = None
    if cid:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen("http://%s:80/" % pod_ip, timeout=1) as r:
                    if r.status == 200:
                        body = r.read().decode()
                        break
            except OSError:
                time.sleep(0.1)
        check("HTTP 200 'hello from C' from the pod's container at http://%s:80/" % pod_ip,
              body == "hello from C\n", body)
        st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid, verbose=True), timeout=10)
        check("ContainerStatus: running", st.status.state == pb.CONTAINER_RUNNING, st.status.state)
        # The app's shim lives in the pod's namespace, not the host's (same inode).
        pid = json.loads(st.info.get("info", "{}")).get("pid", 0)
        check("the container's shim (pid %s) is in the pod's network namespace" % pid,
              pid and same_file("/proc/%d/ns/net" % pid, netns)
              and not same_file("/proc/%d/ns/net" % pid, "/proc/1/ns/net"), pid)
        # The kubelet's view of the shim's Stats (containerd decodes the cgroups v2 Metrics).
        cs = rt.ContainerStats(pb.ContainerStatsRequest(container_id=cid), timeout=10).stats
        cpu, mem = cs.cpu.usage_core_nano_seconds.value, cs.memory.working_set_bytes.value
        check("ContainerStats: CPU %d ns, working set %d bytes" % (cpu, mem),
              cpu > 0 and mem > 0 and cs.attributes.id == cid, cs)
        t0 = time.time()
        rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=10), timeout=60)
        st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid), timeout=10)
        check("StopContainer: exited with code 0 after SIGTERM (%.0f ms)" % ((time.time() - t0) * 1000),
              st.status.state == pb.CONTAINER_EXITED and st.status.exit_code == 0,
              (st.status.state, st.status.exit_code))
        log = os.path.join(logs, "hello.log")
        text = open(log).read() if os.path.exists(log) else ""
        check("the container's log holds the shim's output", "http://0.0.0.0:80" in text, text[-400:])
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
        left = rt.ListContainers(pb.ListContainersRequest(), timeout=10).containers
        check("RemoveContainer", all(c.id != cid for c in left))
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sb), timeout=60)
    st = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sb), timeout=10)
    check("StopPodSandbox", st.status.state == pb.SANDBOX_NOTREADY, st.status.state)
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sb), timeout=60)
    left = rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=10).items
    check("RemovePodSandbox", all(s.id != sb for s in left))
    check("the pod's network namespace is gone (%s)" % netns, netns and not os.path.exists(netns))
    ports = bridge_ports(bridge)
    check("the pod's veth is gone from the bridge", ports == [], ports)


def same_file(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def bridge_ports(bridge):
    """The interfaces attached to the bridge (sysfs)."""
    try:
        return sorted(os.listdir("/sys/class/net/%s/brif" % bridge))
    except OSError:
        return []


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # an unexpected failure is a failed check, not a traceback only
        check("no unexpected error", False, repr(e))
    print("cri: %d checks passed; %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
