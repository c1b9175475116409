"""A minimal CRI client for tests/e2e/cri.sh (Debian's python3-grpcio).

usage: /usr/bin/python3 cri_client.py PROTO_DIR SOCKET COMMAND ARGS...

PROTO_DIR holds api_pb2.py and api_pb2_grpc.py, compiled from the CRI
api.proto (runtime.v1) by the caller.  Commands (output on stdout, errors
on stderr and a non-zero exit status):

  version                          the runtime name and version
  runp NAME HANDLER LOGDIR [OPT...]
                                   run a pod, print its id; without
                                   options a host-network pod.  OPTs:
                                   net=pod (the pod's own network
                                   namespace, set up by CNI),
                                   hostname=H, dns=IP, search=DOMAIN,
                                   dnsopt=OPTION, port=HOST:CONTAINER
                                   (TCP hostPort; repeatable), privileged=1.
                                   The config is kept in
                                   LOGDIR/NAME.podcfg for the commands below.
  run [-p] POD_ID/POD_NAME NAME LOGDIR IMAGE CMD...
                                   create and start a container in the
                                   pod, wait until it exits, print
                                   "id=... exit_code=N reason=R log=PATH";
                                   -p: a privileged container
  start [-p] POD_ID/POD_NAME NAME LOGDIR IMAGE CMD...
                                   create and start a container, print its
                                   id once it runs
  exec CID CMD...                  ExecSync: the command's stdout on
                                   stdout, its stderr on stderr, its exit
                                   code as ours
  podip POD                        the pod's IP from PodSandboxStatus
  podnetns POD                     the path of the pod's network namespace
  update CID MEMORY_BYTES [CPU_QUOTA CPU_PERIOD]
                                   UpdateContainerResources
  stop CID / rm CID                StopContainer / RemoveContainer
  stopp POD / rmp POD              StopPodSandbox / RemovePodSandbox
  pods                             the ids of all pod sandboxes

HUSK_CRI_MEMORY=BYTES and HUSK_CRI_CPUS=QUOTA/PERIOD give the containers
that run/start create those limits.
"""

import json
import os
import sys
import time

import grpc

TIMEOUT = 60


def pod_config(pb, name, logdir, opts=()):
    """The PodSandboxConfig for NAME and the runp options OPTS."""
    net = pb.NODE
    hostname = None
    servers, searches, dnsopts, ports = [], [], [], []
    privileged = False
    for o in opts:
        k, _, v = o.partition("=")
        if k == "net" and v in ("pod", "node"):
            net = pb.POD if v == "pod" else pb.NODE
        elif k == "hostname":
            hostname = v
        elif k == "dns":
            servers.append(v)
        elif k == "search":
            searches.append(v)
        elif k == "dnsopt":
            dnsopts.append(v)
        elif k == "port":
            host, _, cont = v.partition(":")
            ports.append(pb.PortMapping(protocol=pb.TCP,
                                        container_port=int(cont),
                                        host_port=int(host)))
        elif k == "privileged":
            privileged = v == "1"
        else:
            raise ValueError("unknown pod option " + o)
    # A host-network pod needs an empty hostname (no UTS namespace).
    if hostname is None:
        hostname = "" if net == pb.NODE else name
    cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(
            name=name, uid="uid-" + name, namespace="husk-e2e", attempt=0),
        hostname=hostname,
        log_directory=logdir,
        port_mappings=ports,
        linux=pb.LinuxPodSandboxConfig(
            security_context=pb.LinuxSandboxSecurityContext(
                privileged=privileged,
                namespace_options=pb.NamespaceOption(network=net))),
    )
    if servers or searches or dnsopts:
        cfg.dns_config.CopyFrom(pb.DNSConfig(
            servers=servers, searches=searches, options=dnsopts))
    return cfg


def podcfg_path(logdir, name):
    return os.path.join(logdir, name + ".podcfg")


def saved_pod_config(pb, name, logdir):
    """The config runp used for the pod NAME (CreateContainer wants it
    again), or the host-network default."""
    try:
        with open(podcfg_path(logdir, name), "rb") as f:
            return pb.PodSandboxConfig.FromString(f.read())
    except FileNotFoundError:
        return pod_config(pb, name, logdir)


def create_start(pb, rt, args):
    """create and start a container: [-p] POD/NAME NAME LOGDIR IMAGE CMD..."""
    privileged = False
    if args and args[0] == "-p":
        privileged = True
        args = args[1:]
    pod, name, logdir, image = args[:4]
    podcfg = saved_pod_config(pb, pod.split("/", 1)[1], logdir)
    pod = pod.split("/", 1)[0]
    cfg = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=0),
        image=pb.ImageSpec(image=image),
        command=args[4:],
        log_path=name + ".log",
        mounts=mounts(pb),
        linux=pb.LinuxContainerConfig(
            security_context=pb.LinuxContainerSecurityContext(
                privileged=privileged,
                namespace_options=podcfg.linux.security_context.
                namespace_options),
            resources=resources(pb)),
    )
    cid = rt.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod, config=cfg, sandbox_config=podcfg),
        timeout=TIMEOUT).container_id
    rt.StartContainer(pb.StartContainerRequest(container_id=cid),
                      timeout=TIMEOUT)
    return cid


def resources(pb):
    """The limits HUSK_CRI_MEMORY (bytes) and HUSK_CRI_CPUS (QUOTA/PERIOD)
    ask for, or None."""
    mem = int(os.environ.get("HUSK_CRI_MEMORY", "0"))
    quota, _, period = os.environ.get("HUSK_CRI_CPUS", "0/0").partition("/")
    if not mem and not int(quota):
        return None
    return pb.LinuxContainerResources(memory_limit_in_bytes=mem,
                                      cpu_quota=int(quota),
                                      cpu_period=int(period or 0))


def mounts(pb):
    """HUSK_CRI_MOUNT=HOST:CONTAINER: a hostPath volume with Kubernetes'
    default propagation (None: private; HostToContainer needs a host whose
    / is shared, which containerd checks and this machine's is not)."""
    spec = os.environ.get("HUSK_CRI_MOUNT")
    if not spec:
        return []
    host, ctr = spec.split(":", 1)
    return [pb.Mount(host_path=host, container_path=ctr,
                     propagation=pb.PROPAGATION_PRIVATE)]


def main(argv):
    sys.path.insert(0, argv[1])
    import api_pb2 as pb
    import api_pb2_grpc as pbg

    channel = grpc.insecure_channel("unix://" + argv[2])
    rt = pbg.RuntimeServiceStub(channel)
    cmd, args = argv[3], argv[4:]

    if cmd == "version":
        r = rt.Version(pb.VersionRequest(version="v1"), timeout=TIMEOUT)
        print(r.runtime_name, r.runtime_version, r.runtime_api_version)
    elif cmd == "runp":
        name, handler, logdir = args[:3]
        cfg = pod_config(pb, name, logdir, args[3:])
        with open(podcfg_path(logdir, name), "wb") as f:
            f.write(cfg.SerializeToString())
        r = rt.RunPodSandbox(pb.RunPodSandboxRequest(
            config=cfg, runtime_handler=handler), timeout=TIMEOUT)
        print(r.pod_sandbox_id)
    elif cmd == "start":
        cid = create_start(pb, rt, args)
        end = time.monotonic() + TIMEOUT
        while True:
            st = rt.ContainerStatus(pb.ContainerStatusRequest(
                container_id=cid), timeout=TIMEOUT).status
            if st.state == pb.CONTAINER_RUNNING:
                break
            if st.state == pb.CONTAINER_EXITED or time.monotonic() > end:
                print("container %s is %s (exit code %d), not running" %
                      (cid, pb.ContainerState.Name(st.state), st.exit_code),
                      file=sys.stderr)
                return 1
            time.sleep(0.05)
        print(cid)
    elif cmd == "exec":
        r = rt.ExecSync(pb.ExecSyncRequest(
            container_id=args[0], cmd=args[1:], timeout=TIMEOUT),
            timeout=TIMEOUT + 5)
        sys.stdout.buffer.write(r.stdout)
        sys.stderr.buffer.write(r.stderr)
        return r.exit_code
    elif cmd == "podip":
        st = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(
            pod_sandbox_id=args[0]), timeout=TIMEOUT).status
        print(st.network.ip)
    elif cmd == "podnetns":
        r = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(
            pod_sandbox_id=args[0], verbose=True), timeout=TIMEOUT)
        # containerd's verbose info: the sandbox's OCI spec names the
        # namespace CNI set up.
        spec = json.loads(r.info["info"])["runtimeSpec"]
        for ns in spec["linux"]["namespaces"]:
            if ns["type"] == "network":
                print(ns.get("path", ""))
    elif cmd == "update":
        res = pb.LinuxContainerResources(memory_limit_in_bytes=int(args[1]))
        if len(args) > 3:
            res.cpu_quota = int(args[2])
            res.cpu_period = int(args[3])
        rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
            container_id=args[0], linux=res), timeout=TIMEOUT)
    elif cmd == "stop":
        rt.StopContainer(pb.StopContainerRequest(
            container_id=args[0], timeout=10), timeout=TIMEOUT)
    elif cmd == "rm":
        rt.RemoveContainer(pb.RemoveContainerRequest(
            container_id=args[0]), timeout=TIMEOUT)
    elif cmd == "run":
        cid = create_start(pb, rt, args)
        end = time.monotonic() + TIMEOUT
        while True:
            st = rt.ContainerStatus(pb.ContainerStatusRequest(
                container_id=cid), timeout=TIMEOUT).status
            if st.state == pb.CONTAINER_EXITED:
                break
            if time.monotonic() > end:
                print("id=%s state=%s (never exited)" %
                      (cid, pb.ContainerState.Name(st.state)))
                return 1
            time.sleep(0.05)
        print("id=%s exit_code=%d reason=%s log=%s" %
              (cid, st.exit_code, st.reason, st.log_path))
    elif cmd == "stopp":
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=args[0]),
                          timeout=TIMEOUT)
    elif cmd == "rmp":
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(
            pod_sandbox_id=args[0]), timeout=TIMEOUT)
    elif cmd == "pods":
        for p in rt.ListPodSandbox(pb.ListPodSandboxRequest(),
                                   timeout=TIMEOUT).items:
            print(p.id)
    else:
        print("unknown command " + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except grpc.RpcError as e:
        print("%s: %s" % (e.code().name, e.details()), file=sys.stderr)
        sys.exit(1)
