#!/usr/bin/python3
# Drive husk-runtime the way containerd-shim-runc-v2 and conmon do: as a
# child subreaper, give create the container's stdio (pipes or files) or a
# --console-socket, write --pid-file, start, reap the pid from the pid
# file and take its exit status as the container's.  Optionally an exec
# (--detach --process F --pid-file P) while it runs, and a kill.
#
# The runtime command (with its global flags) is in $RT, shell-split.
# Prints key=value lines for the test to check.
import argparse
import array
import ctypes
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36


def rt(*args, **kw):
    cmd = shlex.split(os.environ["RT"]) + list(args)
    return subprocess.run(cmd, **kw)


def recv_fd(sock):
    fds = array.array("i")
    msg, anc, _, _ = sock.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return fds[0], msg


def console_listener(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    return srv


def reap(pid, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            p, st = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if p == pid:
            return os.waitstatus_to_exitcode(st) if hasattr(os, "waitstatus_to_exitcode") else st >> 8
        time.sleep(0.02)
    return "timeout"


def pump(fd, out_path):
    with open(out_path, "ab") as f:
        while True:
            try:
                b = os.read(fd, 65536)
            except OSError:
                break
            if not b:
                break
            f.write(b)
            f.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--id", required=True)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--stdin")
    ap.add_argument("--console", action="store_true")
    ap.add_argument("--winsize")
    ap.add_argument("--exec-args")
    ap.add_argument("--kill", help="signal sent after start (and a delay)")
    ap.add_argument("--force-delete", action="store_true")
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    d = a.dir
    out, err = os.path.join(d, "out"), os.path.join(d, "err")
    pidfile = os.path.join(d, "pid")
    args = ["create", "--bundle", a.bundle, "--pid-file", pidfile]
    master = None
    threads = []
    if a.console:
        sockpath = os.path.join(d, "console.sock")
        srv = console_listener(sockpath)
        args += ["--console-socket", sockpath]
        holder = {}

        def accept():
            c, _ = srv.accept()
            holder["fd"], _ = recv_fd(c)
            c.close()

        t = threading.Thread(target=accept)
        t.start()
        r = rt(*args, a.id, stdin=subprocess.DEVNULL,
               stdout=subprocess.DEVNULL, stderr=open(err, "wb"))
        t.join(5)
        master = holder.get("fd")
        srv.close()
    else:
        sin = open(a.stdin, "rb") if a.stdin else subprocess.DEVNULL
        r = rt(*args, a.id, stdin=sin, stdout=open(out, "wb"),
               stderr=open(err, "wb"))
    print("create=%d" % r.returncode)
    if r.returncode:
        return
    pid = int(open(pidfile).read())
    print("pid=%d" % pid)
    print("parent_is_us=%d" % (int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1]) == os.getpid()))
    st = json.loads(rt("state", a.id, capture_output=True).stdout)
    print("state_created=%s" % st["status"])
    if master is not None:
        if a.winsize:
            import fcntl
            import struct
            import termios
            rows, cols = map(int, a.winsize.split("x"))
            fcntl.ioctl(master, termios.TIOCSWINSZ,
                        struct.pack("HHHH", rows, cols, 0, 0))
        t = threading.Thread(target=pump, args=(master, out), daemon=True)
        t.start()
        threads.append(t)
    r = rt("start", a.id)
    print("start=%d" % r.returncode)
    st = json.loads(rt("state", a.id, capture_output=True).stdout)
    print("state_started=%s" % st["status"])
    if master is not None and a.stdin:
        os.write(master, open(a.stdin, "rb").read())
    if a.exec_args:
        proc = {"args": json.loads(a.exec_args), "cwd": "/",
                "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}}
        pf = os.path.join(d, "process.json")
        json.dump(proc, open(pf, "w"))
        epid = os.path.join(d, "exec.pid")
        eout = os.path.join(d, "exec.out")
        r = rt("exec", "--detach", "--process", pf, "--pid-file", epid,
               a.id, stdin=subprocess.DEVNULL, stdout=open(eout, "wb"),
               stderr=subprocess.STDOUT)
        print("exec=%d" % r.returncode)
        if r.returncode == 0:
            print("exec_exit=%s" % reap(int(open(epid).read()), a.timeout))
    if a.kill:
        time.sleep(1)
        r = rt("kill", a.id, a.kill)
        print("kill=%d" % r.returncode)
    if a.force_delete:
        r = rt("delete", "--force", a.id)
        print("delete_force=%d" % r.returncode)
        print("exit=%s" % reap(pid, 10))
        return
    print("exit=%s" % reap(pid, a.timeout))
    for t in threads:
        t.join(2)
    st = json.loads(rt("state", a.id, capture_output=True).stdout)
    print("state_exited=%s" % st["status"])
    r = rt("delete", a.id)
    print("delete=%d" % r.returncode)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
