#!/usr/bin/python3
# Run a command (docker run -it ..., podman run -it ...) on a pty of a given
# size, as a user's terminal would; once the output shows the first size,
# resize the pty (the CLI's SIGWINCH), and print everything it wrote.
#   tty.py ROWSxCOLS NEWROWSxNEWCOLS TIMEOUT -- CMD...
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


def set_size(fd, spec):
    rows, cols = map(int, spec.split("x"))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    first, second, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    set_size(fd, first)
    out = b""
    resized = False
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                b = os.read(fd, 4096)
            except OSError:
                break
            if not b:
                break
            out += b
        want = first.replace("x", " ").encode()
        if not resized and want in out:
            set_size(fd, second)
            resized = True
    if time.time() >= end:
        os.kill(pid, 9)
    try:
        _, st = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(st)
    except ChildProcessError:
        code = -1
    sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    sys.stdout.write("\nexit=%d\n" % code)


if __name__ == "__main__":
    main()
