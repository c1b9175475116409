"""A one-connection ttRPC proxy for tests/agent/propagation.sh (Debian's
python3-protobuf): relays husk ctl's frames to the agent and sets
oci.linux.rootfsPropagation on the CreateContainer it carries, which husk
ctl has no option for.

usage: /usr/bin/python3 rootfs_prop_proxy.py PY_DIR LISTEN AGENT PROPAGATION

PY_DIR holds agent_pb2.py and ttrpc_pb2.py compiled from protos/.  Serves
one client connection, then exits.
"""
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, sys.argv[1])
import agent_pb2  # noqa: E402
import ttrpc_pb2  # noqa: E402

HDR = struct.Struct(">IIBB")  # length, stream id, type, flags
TYPE_REQUEST = 1


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def frames(s):
    while True:
        hdr = read_exact(s, HDR.size)
        if hdr is None:
            return
        length, sid, typ, flags = HDR.unpack(hdr)
        body = read_exact(s, length)
        if body is None:
            return
        yield sid, typ, flags, body


def rewrite(body, propagation):
    req = ttrpc_pb2.Request()
    req.ParseFromString(body)
    if req.method != "CreateContainer":
        return body
    cc = agent_pb2.CreateContainerRequest()
    cc.ParseFromString(req.payload)
    cc.OCI.Linux.RootfsPropagation = propagation
    req.payload = cc.SerializeToString()
    return req.SerializeToString()


def client_to_agent(client, agent, propagation):
    for sid, typ, flags, body in frames(client):
        if typ == TYPE_REQUEST:
            body = rewrite(body, propagation)
        agent.sendall(HDR.pack(len(body), sid, typ, flags) + body)
    agent.shutdown(socket.SHUT_WR)


def main():
    _, _, listen, agent_path, propagation = sys.argv
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(listen)
    srv.listen(1)
    srv.settimeout(30)
    client, _ = srv.accept()
    srv.close()
    os.unlink(listen)
    agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    agent.connect(agent_path)
    t = threading.Thread(target=client_to_agent,
                         args=(client, agent, propagation), daemon=True)
    t.start()
    while True:
        data = agent.recv(65536)
        if not data:
            break
        client.sendall(data)
    client.close()


if __name__ == "__main__":
    main()
