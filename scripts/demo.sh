#!/bin/bash
# make demo: run a container in its own VM through containerd, the way an
# operator would with ctr, and print what it says.  Uses a private
# containerd (own root, state and sockets under a temp dir), a busybox image
# built here, and the build tree's shim, kernel and initrd; everything is
# stopped and removed afterwards.  Shares its plumbing with tests/e2e.
. "$(dirname "$0")/../tests/e2e/lib.sh"

say() { printf '%s\n' "$*"; }

say "== starting a private containerd and importing a busybox image"
setup
note_ids husk-demo
say "== ctr run --rm --runtime $RUNTIME $IMG husk-demo sh -c '...'"
start=$(now_ms)
husk_run husk-demo sh -c '
	echo "hello from a container in a husk VM"
	echo "guest kernel: $(uname -r)"
	echo "container pid namespace: my pid is $$"
	grep -m1 "model name" /proc/cpuinfo' 2>"$T/err"
rc=$?
end=$(now_ms)
if [ "$rc" -ne 0 ]; then
	echo "demo: the container failed (exit $rc):" >&2
	cat "$T/err" >&2
	grep -E 'husk|shim' "$T/containerd.log" | tail -n 20 >&2
	exit 1
fi
say "== exit status $rc, $((end - start)) ms for boot + run + teardown (host kernel: $(uname -r))"
assert_clean "demo" husk-demo >/dev/null
