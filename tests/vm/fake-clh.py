#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for cloud-hypervisor, for tests/vm/clh.sh (Cloud Hypervisor
is not packaged here and needs KVM).  It is started the way the driver
starts the real one:

    fake-clh.py --api-socket path=<sock> [-v...]

and serves the REST API on that unix socket as the published OpenAPI
document (cloud-hypervisor.yaml, reference/protocols.md section 5)
describes it, strictly: a wrong method, an unknown endpoint, a body where
none belongs, a missing Content-Length or Content-Type, JSON that is not
the schema (unknown or missing required fields, wrong types), or a call
out of order (vm.boot before vm.create, ...) gets the error status the
real server gives, with a JSON array of strings as the body.  vm.add-net
takes its tap fds over SCM_RIGHTS and checks that they are taps.

On vm.boot it "boots": it writes a line to the serial file, connects to
the virtio-fs socket (as the VMM's vhost-user side does) and listens on
the hybrid vsock socket, where "CONNECT <port>\\n" to port 1024 is relayed
to a real husk-agent on the host ($FAKE_CLH_AGENT, a unix socket) after
"OK <local port>\\n".

With $FAKE_CLH_AGENT_BIN (a husk-agent) it runs the "guest" itself
instead: on vm.boot it starts that agent in host mode in new mount and
pid namespaces (killed with the VM), its virtio-fs storage "kataShared"
bound to the directory the pod's virtiofsd exports (found from the
daemon's command line, through the socket's peer credentials), its
output on the serial file, its socket under $FAKE_CLH_TMP.

Every request is recorded in $FAKE_CLH_RECORD (one line each: method,
endpoint, then key=value notes; bodies in $FAKE_CLH_RECORD.N.json).
$FAKE_CLH_FAULT picks a misbehaviour: exit-early, never-answer,
slow-ping (2 s before the API comes up), create-400, boot-500,
info-bad-json, add-net-500, handshake-refuse (closes every CONNECT),
agent-late (closes CONNECTs for 2 s), handshake-garbage (answers
"OK port\n"), ignore-shutdown (vmm.shutdown
answers 204 and the process stays).
"""
import array
import ctypes
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

FAULT = os.environ.get("FAKE_CLH_FAULT", "")
RECORD = os.environ.get("FAKE_CLH_RECORD", "")
AGENT = os.environ.get("FAKE_CLH_AGENT", "")
AGENT_BIN = os.environ.get("FAKE_CLH_AGENT_BIN", "")
TMP = os.environ.get("FAKE_CLH_TMP", "/tmp")
VERSION = "v48.0-husk-stand-in"

lock = threading.Lock()
n_recorded = 0


def record(line, body=None):
    global n_recorded
    if not RECORD:
        return
    with lock:
        n_recorded += 1
        with open(RECORD, "a") as f:
            f.write(line + "\n")
        if body is not None:
            with open("%s.%d.json" % (RECORD, n_recorded), "w") as f:
                f.write(body)


def log(msg):
    sys.stderr.write("fake-clh: %s\n" % msg)
    sys.stderr.flush()


# ---- the published schemas (only what a container runtime may send) ----

INT, STR, BOOL = "integer", "string", "boolean"


def obj(props, required=()):
    return {"type": "object", "props": props, "required": set(required)}


def arr(items):
    return {"type": "array", "items": items}


PAYLOAD = obj({"firmware": STR, "kernel": STR, "cmdline": STR,
               "initramfs": STR, "igvm": STR, "host_data": STR})
TOPOLOGY = obj({"threads_per_core": INT, "cores_per_die": INT,
                "dies_per_package": INT, "packages": INT})
CPUS = obj({"boot_vcpus": INT, "max_vcpus": INT, "topology": TOPOLOGY,
            "kvm_hyperv": BOOL, "max_phys_bits": INT, "nested": BOOL},
           ["boot_vcpus", "max_vcpus"])
MEMORY = obj({"size": INT, "hotplug_size": INT, "hotplugged_size": INT,
              "mergeable": BOOL, "hotplug_method": STR, "shared": BOOL,
              "hugepages": BOOL, "hugepage_size": INT, "prefault": BOOL,
              "reserve": BOOL, "thp": BOOL}, ["size"])
DISK = obj({"path": STR, "readonly": BOOL, "direct": BOOL, "iommu": BOOL,
            "num_queues": INT, "queue_size": INT, "vhost_user": BOOL,
            "vhost_socket": STR, "pci_segment": INT, "id": STR,
            "serial": STR, "image_type": STR})
NET = obj({"tap": STR, "ip": STR, "mask": STR, "mac": STR, "host_mac": STR,
           "mtu": INT, "iommu": BOOL, "num_queues": INT, "queue_size": INT,
           "vhost_user": BOOL, "vhost_socket": STR, "vhost_mode": STR,
           "id": STR, "pci_segment": INT, "offload_tso": BOOL,
           "offload_ufo": BOOL, "offload_csum": BOOL})
RNG = obj({"src": STR, "iommu": BOOL, "id": STR}, ["src"])
FS = obj({"tag": STR, "socket": STR, "num_queues": INT, "queue_size": INT,
          "pci_segment": INT, "id": STR},
         ["tag", "socket", "num_queues", "queue_size"])
PMEM = obj({"file": STR, "size": INT, "iommu": BOOL, "discard_writes": BOOL,
            "pci_segment": INT, "id": STR}, ["file"])
MODES = ("Off", "Pty", "Tty", "File", "Socket", "Null")
SERIAL = obj({"file": STR, "socket": STR, "mode": STR}, ["mode"])
CONSOLE = obj({"file": STR, "socket": STR, "mode": STR, "iommu": BOOL,
               "id": STR}, ["mode"])
VSOCK = obj({"cid": INT, "socket": STR, "iommu": BOOL, "pci_segment": INT,
             "id": STR}, ["cid", "socket"])
PLATFORM = obj({"num_pci_segments": INT})
VMCONFIG = obj({"cpus": CPUS, "memory": MEMORY, "payload": PAYLOAD,
                "disks": arr(DISK), "net": arr(NET), "rng": RNG,
                "fs": arr(FS), "pmem": arr(PMEM), "serial": SERIAL,
                "console": CONSOLE, "vsock": VSOCK, "iommu": BOOL,
                "watchdog": BOOL, "pvpanic": BOOL, "platform": PLATFORM},
               ["payload"])


def check(schema, v, where):
    """None when @v matches @schema, else why not."""
    if schema == INT:
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif schema == STR:
        ok = isinstance(v, str)
    elif schema == BOOL:
        ok = isinstance(v, bool)
    elif schema["type"] == "array":
        if not isinstance(v, list):
            return "%s: expected an array" % where
        for i, item in enumerate(v):
            why = check(schema["items"], item, "%s[%d]" % (where, i))
            if why:
                return why
        return None
    else:
        if not isinstance(v, dict):
            return "%s: expected an object" % where
        for k in schema["required"]:
            if k not in v:
                return "%s: missing field `%s`" % (where, k)
        for k, item in v.items():
            if k not in schema["props"]:
                return "%s: unknown field `%s`" % (where, k)
            why = check(schema["props"][k], item, "%s.%s" % (where, k))
            if why:
                return why
        return None
    return None if ok else "%s: expected %s" % (where, schema)


def semantic(cfg):
    """What the VMM itself refuses in a schema-valid VmConfig."""
    p = cfg["payload"]
    if "kernel" not in p and "firmware" not in p:
        return "payload: no kernel or firmware"
    for k in ("kernel", "initramfs"):
        if k in p and not os.path.isfile(p[k]):
            return "payload.%s %s: No such file" % (k, p[k])
    c = cfg.get("cpus", {})
    if c and not 1 <= c["boot_vcpus"] <= c["max_vcpus"]:
        return "cpus: boot_vcpus must be 1..max_vcpus"
    m = cfg.get("memory", {})
    if cfg.get("fs") and not m.get("shared"):
        return "virtio-fs needs memory.shared = true (vhost-user)"
    v = cfg.get("vsock")
    if v and v["cid"] < 3:
        return "vsock.cid must be >= 3"
    for s in ("serial", "console"):
        if s in cfg and cfg[s]["mode"] not in MODES:
            return "%s.mode %s: unknown" % (s, cfg[s]["mode"])
        if s in cfg and cfg[s]["mode"] == "File" and "file" not in cfg[s]:
            return "%s: mode File needs a file" % s
    return None


# ---- the VM ----------------------------------------------------------------

class Vm:
    def __init__(self):
        self.config = None
        self.state = None  # None, "Created", "Running", "Shutdown"
        self.taps = []  # fds received with vm.add-net, kept open
        self.fs_conns = []
        self.vsock = None
        self.serial = None
        self.next_port = 1073741824
        self.agent = None  # the guest's agent (FAKE_CLH_AGENT_BIN)
        self.agent_sock = AGENT
        self.tmp = None


vm = Vm()


def tap_name(fd):
    """The tap a descriptor is attached to, or None (fdinfo's iff:)."""
    try:
        with open("/proc/self/fdinfo/%d" % fd) as f:
            for line in f:
                if line.startswith("iff:"):
                    return line.split()[1]
    except OSError:
        pass
    return None


def relay(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (b,):
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def hvsock_client(conn, t0):
    line = b""
    # Byte by byte, as the muxer reads, so no stream byte is taken.
    while not line.endswith(b"\n") and len(line) < 64:
        c = conn.recv(1)
        if not c:
            conn.close()
            return
        line += c
    text = line.decode("ascii", "replace")
    record("HVSOCK %s" % text.strip())
    if not text.upper().startswith("CONNECT "):
        conn.close()
        return
    try:
        port = int(text[8:].strip())
    except ValueError:
        conn.close()
        return
    if FAULT == "handshake-garbage":
        conn.sendall(b"OK port\n")
        conn.close()
        return
    late = FAULT == "agent-late" and time.time() - t0 < 2
    if FAULT == "handshake-refuse" or late or port != 1024 or \
            not vm.agent_sock:
        conn.close()  # nothing listens in the guest: RST, no OK
        return
    agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        agent.connect(vm.agent_sock)
    except OSError:
        conn.close()
        return
    with lock:
        vm.next_port += 1
        local = vm.next_port
    conn.sendall(b"OK %d\n" % local)
    threading.Thread(target=relay, args=(agent, conn), daemon=True).start()
    relay(conn, agent)


def hvsock_serve(path):
    t0 = time.time()
    while True:
        try:
            conn, _ = vm.vsock.accept()
        except OSError:
            return
        threading.Thread(target=hvsock_client, args=(conn, t0),
                         daemon=True).start()


def shared_dir_of(args):
    """The directory a virtiofsd command line exports, or None."""
    for i, a in enumerate(args):
        if a.startswith("--shared-dir="):
            return a[len("--shared-dir="):]
        if a == "--shared-dir" and i + 1 < len(args):
            return args[i + 1]
        for opt in a.split(","):
            if opt.startswith("source="):
                return opt[len("source="):]
    return None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().decode().split("\0")
    except OSError:
        return []


def exported_dir(conn):
    """The directory the virtiofsd at the other end of @conn exports.

    The peer is whoever listened: the shim, which made the socket and
    handed it to virtiofsd (--fd); the daemon is then its child (it may
    not have exec'd yet: wait a little)."""
    cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                           struct.calcsize("3i"))
    pid = struct.unpack("3i", cred)[0]
    args = cmdline(pid)
    end = time.time() + 5
    while shared_dir_of(args) is None and time.time() < end:
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        for k in kids:
            if "virtiofsd" in " ".join(cmdline(k)) and shared_dir_of(cmdline(k)):
                args = cmdline(k)
                break
        else:
            time.sleep(0.01)
    d = shared_dir_of(args)
    if d is not None:
        return d
    raise OSError("virtiofsd pid %d: no shared directory in %r" % (pid, args))


def die_with_parent():
    # PR_SET_PDEATHSIG: the "guest" goes when the VMM does.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def start_guest(out):
    """The agent as the guest: host mode, its own mount and pid ns."""
    vm.tmp = tempfile.mkdtemp(prefix="fake-clh.", dir=TMP)
    vm.agent_sock = os.path.join(vm.tmp, "agent.sock")
    argv = ["unshare", "--kill-child", "-mpf", "--propagation", "slave",
            "--mount-proc", "sh", "-c",
            'mount -t tmpfs tmpfs /run && exec "$0" "$@"', AGENT_BIN,
            "--listen", "unix:" + vm.agent_sock,
            "--state-dir", "/run/husk-agent"]
    if vm.fs_conns:
        argv += ["--virtio-fs", "kataShared=" + exported_dir(vm.fs_conns[0])]
    vm.agent = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=out, preexec_fn=die_with_parent)
    record("GUEST agent pid=%d" % vm.agent.pid)


def stop_guest():
    if vm.agent:
        vm.agent.kill()
        vm.agent.wait()
        vm.agent = None
    if vm.tmp:
        shutil.rmtree(vm.tmp, ignore_errors=True)
        vm.tmp = None


def boot():
    cfg = vm.config
    s = cfg.get("serial", {"mode": "Off"})
    if s["mode"] == "File":
        vm.serial = open(s["file"], "w")
        vm.serial.write("fake-clh: booting %s\n" % cfg["payload"]["kernel"])
        vm.serial.flush()
    for fs in cfg.get("fs", []):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(fs["socket"])  # vhost-user: the VMM is the client
        vm.fs_conns.append(c)
    if AGENT_BIN:
        start_guest(vm.serial or subprocess.DEVNULL)
    v = cfg.get("vsock")
    if v:
        vm.vsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        vm.vsock.bind(v["socket"])
        vm.vsock.listen(16)
        threading.Thread(target=hvsock_serve, args=(v["socket"],),
                         daemon=True).start()


# ---- HTTP ------------------------------------------------------------------

REASONS = {200: "OK", 204: "No Content", 400: "Bad Request",
           404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error"}


def respond(conn, status, body=None):
    head = "HTTP/1.1 %d %s\r\nServer: Cloud Hypervisor API\r\n" % (
        status, REASONS[status])
    data = b""
    if body is not None:
        data = body.encode() if isinstance(body, str) else body
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" \
            % len(data)
    conn.sendall(head.encode() + b"\r\n" + data)


def dumps(v):
    """JSON as serde_json writes it: no spaces."""
    return json.dumps(v, separators=(",", ":"))


def error(conn, status, *chain):
    respond(conn, status, dumps(list(chain)))


def read_request(conn):
    """(method, path, headers, body, fds) or None."""
    buf, fds = b"", []
    while b"\r\n\r\n" not in buf:
        if len(buf) > 16384:
            return None
        fdarr = array.array("i")
        msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(64 * 4))
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fdarr.frombytes(data[:len(data) - len(data) % 4])
                fds.extend(fdarr)
        if not msg:
            return None
        buf += msg
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] != "HTTP/1.1":
        return ("BAD", lines[0], {}, b"", fds)
    headers = {}
    for h in lines[1:]:
        k, sep, v = h.partition(":")
        if not sep:
            return ("BAD", lines[0], {}, b"", fds)
        headers[k.strip().lower()] = v.strip()
    if "transfer-encoding" in headers:
        return ("CHUNKED", parts[1], headers, b"", fds)
    n = int(headers.get("content-length", "0"))
    while len(body) < n:
        d = conn.recv(n - len(body))
        if not d:
            return None
        body += d
    return (parts[0], parts[1], headers, body, fds)


# endpoint -> (method, body schema or None)
ENDPOINTS = {
    "vmm.ping": ("GET", None), "vmm.shutdown": ("PUT", None),
    "vm.create": ("PUT", VMCONFIG), "vm.boot": ("PUT", None),
    "vm.shutdown": ("PUT", None), "vm.delete": ("PUT", None),
    "vm.info": ("GET", None), "vm.add-net": ("PUT", NET),
}


def handle(conn):
    req = read_request(conn)
    if req is None:
        return
    method, path, headers, body, fds = req
    if method in ("BAD", "CHUNKED"):
        record("%s %s" % (method, path))
        return error(conn, 400, "Bad request: %s" % method.lower())
    ep = path[len("/api/v1/"):] if path.startswith("/api/v1/") else None
    notes = ""
    if fds:
        notes += " fds=%d" % len(fds)
    record("%s %s%s" % (method, ep or path, notes),
           body.decode("utf-8", "replace") if body else None)
    if ep not in ENDPOINTS:
        return error(conn, 404, "Unknown endpoint %s" % path)
    want, schema = ENDPOINTS[ep]
    if method != want:
        return error(conn, 400, "Invalid HTTP method %s for %s" % (method, ep))
    if schema is None and body:
        return error(conn, 400, "%s takes no body" % ep)
    cfg = None
    if schema is not None:
        if "content-length" not in headers:
            return error(conn, 400, "missing Content-Length")
        if headers.get("content-type") != "application/json":
            return error(conn, 400, "Content-Type is not application/json")
        try:
            cfg = json.loads(body)
        except ValueError as e:
            return error(conn, 400, "Error from API", "invalid JSON: %s" % e)
        why = check(schema, cfg, ep)
        if why:
            return error(conn, 400, "Error from API", why)
    if fds and ep != "vm.add-net":
        return error(conn, 400, "unexpected file descriptors for %s" % ep)
    dispatch(conn, ep, cfg, fds)


def dispatch(conn, ep, cfg, fds):
    if ep == "vmm.ping":
        return respond(conn, 200, dumps(
            {"build_version": VERSION, "version": VERSION,
             "pid": os.getpid(), "features": ["kvm"]}))
    if ep == "vmm.shutdown":
        respond(conn, 204)
        conn.close()
        if FAULT == "ignore-shutdown":
            return
        log("vmm.shutdown: exiting")
        stop_guest()
        os._exit(0)
    if ep == "vm.create":
        if FAULT == "create-400":
            return error(conn, 400, "Error from API",
                         "The VM could not be created",
                         "injected by FAKE_CLH_FAULT")
        if vm.state is not None:
            return error(conn, 500, "Error from API",
                         "The VM could not be created",
                         "VM is already created")
        why = semantic(cfg)
        if why:
            return error(conn, 500, "Error from API",
                         "The VM could not be created", why)
        vm.config, vm.state = cfg, "Created"
        return respond(conn, 204)
    if ep == "vm.info":
        if vm.state is None:
            return error(conn, 404, "Error from API", "VM is not created")
        if FAULT == "info-bad-json":
            return respond(conn, 200, '{"config": {"payload": ')
        return respond(conn, 200, dumps(
            {"config": vm.config, "state": vm.state,
             "memory_actual_size": vm.config.get("memory", {}).get("size", 0)}))
    if ep == "vm.add-net":
        if vm.state is None:
            return error(conn, 404, "Error from API", "VM is not created")
        if FAULT == "add-net-500":
            return error(conn, 500, "Error from API",
                         "The net device could not be added")
        nq = cfg.get("num_queues", 2)
        if len(fds) != nq // 2:
            return error(conn, 400, "Error from API",
                         "%d fds for num_queues %d" % (len(fds), nq))
        names = [tap_name(fd) for fd in fds]
        if None in names:
            return error(conn, 400, "Error from API",
                         "a descriptor is not a tap")
        record("TAP %s mac=%s" % (",".join(names), cfg.get("mac", "")))
        vm.taps.extend(fds)
        return respond(conn, 204)
    if ep == "vm.boot":
        if vm.state is None:
            return error(conn, 404, "Error from API", "VM is not created")
        if vm.state == "Running":
            return error(conn, 500, "Error from API", "VM is already booted")
        if FAULT == "boot-500":
            return error(conn, 500, "Error from API",
                         "The VM could not boot",
                         "injected by FAKE_CLH_FAULT")
        boot()
        vm.state = "Running"
        return respond(conn, 204)
    if ep == "vm.shutdown":
        if vm.state is None:
            return error(conn, 404, "Error from API", "VM is not created")
        if vm.state != "Running":
            return error(conn, 405, "Error from API", "VM is not booted")
        vm.state = "Shutdown"
        stop_guest()
        return respond(conn, 204)
    if ep == "vm.delete":
        vm.state = None
        return respond(conn, 204)


def main():
    args = sys.argv[1:]
    sock = None
    while args:
        a = args.pop(0)
        if a == "--api-socket" and args and args[0].startswith("path="):
            sock = args.pop(0)[5:]
        elif a == "--version" and not args:
            print("cloud-hypervisor %s" % VERSION)
            sys.exit(0)
        elif a in ("-v", "-vv", "-vvv"):
            pass
        else:
            log("unknown argument %r" % a)
            sys.exit(1)
    if not sock:
        log("--api-socket path=... is required")
        sys.exit(1)
    record("EXEC --api-socket path=%s" % sock)
    record("PID %d" % os.getpid())
    if FAULT == "exit-early":
        log("Error booting VM: injected early exit")
        sys.exit(1)
    if FAULT == "slow-ping":
        time.sleep(2)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock)
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        if FAULT == "never-answer":
            threading.Thread(target=lambda c: (c.recv(65536),
                                               time.sleep(3600)),
                             args=(conn,), daemon=True).start()
            continue
        try:
            handle(conn)
        except (OSError, ValueError) as e:
            log("request: %s" % e)
        conn.close()


main()
