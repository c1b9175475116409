"""A minimal CRI client for tests/e2e/cri.sh (Debian's python3-grpcio).

usage: /usr/bin/python3 cri_client.py PROTO_DIR SOCKET COMMAND ARGS...

PROTO_DIR holds api_pb2.py and api_pb2_grpc.py, compiled from the CRI
api.proto (runtime.v1) by the caller.  Commands (output on stdout, errors
on stderr and a non-zero exit status):

  version                          the runtime name and version
  runp NAME HANDLER LOGDIR         run a host-network pod, print its id
  run POD_ID/POD_NAME NAME LOGDIR IMAGE CMD...
                                   create and start a container in the
                                   pod, wait until it exits, print
                                   "id=... exit_code=N reason=R log=PATH"
  stopp POD / rmp POD              StopPodSandbox / RemovePodSandbox
  pods                             the ids of all pod sandboxes
"""

import os
import sys
import time

import grpc

TIMEOUT = 60


def pod_config(pb, name, logdir):
    # A host-network pod needs an empty hostname (no UTS namespace).
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(
            name=name, uid="uid-" + name, namespace="husk-e2e", attempt=0),
        hostname="",
        log_directory=logdir,
        linux=pb.LinuxPodSandboxConfig(
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(
                    network=pb.NODE))),
    )


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
        name, handler, logdir = args
        r = rt.RunPodSandbox(pb.RunPodSandboxRequest(
            config=pod_config(pb, name, logdir), runtime_handler=handler),
            timeout=TIMEOUT)
        print(r.pod_sandbox_id)
    elif cmd == "run":
        pod, name, logdir, image = args[:4]
        # CreateContainer wants the pod's configuration again.
        podcfg = pod_config(pb, pod.split("/", 1)[1], logdir)
        pod = pod.split("/", 1)[0]
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=0),
            image=pb.ImageSpec(image=image),
            command=args[4:],
            log_path=name + ".log",
            mounts=mounts(pb),
            linux=pb.LinuxContainerConfig(
                security_context=pb.LinuxContainerSecurityContext(
                    namespace_options=pb.NamespaceOption(
                        network=pb.NODE))),
        )
        cid = rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod, config=cfg, sandbox_config=podcfg),
            timeout=TIMEOUT).container_id
        rt.StartContainer(pb.StartContainerRequest(container_id=cid),
                          timeout=TIMEOUT)
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
