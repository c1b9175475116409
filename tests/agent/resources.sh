#!/bin/bash
# Resources: UpdateContainer changes limits, StatsContainer reports them,
# an OOM kill comes out of GetOOMEvent, and containers of a pod can share
# a pid namespace.
. "$(dirname "$0")/lib.sh"
setup
ctl create-sandbox --hostname res

ctl create --id r1 --rootfs "$ROOTFS" --pids-limit 50 --memory 100000000 -- sleep 1000
ctl start --id r1
st=$(ctl stats --id r1)
expect "stats: pids limit" "pids_limit 50" "$(echo "$st" | grep pids_limit)"
expect "stats: pids current" "pids_current 1" "$(echo "$st" | grep pids_current)"
check "UpdateContainer" ctl update --id r1 --pids-limit 77
expect "update applied" "pids_limit 77" "$(ctl stats --id r1 | grep pids_limit)"
err=$(ctl update --id r1 --cpuset nonsense 2>&1)
case $err in *INVALID_ARGUMENT*cpus*) ok "bad update: INVALID_ARGUMENT naming cpus" ;; *) not_ok "bad update: $err" ;; esac
ctl remove --id r1

# OOM: a 16 MiB limit and one process that fills a 200 MB buffer (dd
# with bs=200M; without the limit it exits 0).  It is the container's only
# process, so the OOM killer can pick no other; it dies of SIGKILL, which
# the agent reports as 128 + 9.  (Behind a shell, 137 would be the shell's
# report of its child, or the shell itself picked.)
"$HUSK" ctl --addr "unix:$SOCK" oom-event --timeout 30 >"$T/oom" 2>&1 &
oom_pid=$!
ctl create --id r2 --rootfs "$ROOTFS" --memory 16777216 -- \
	dd if=/dev/zero of=/dev/null bs=200M count=1
ctl start --id r2
expect "OOM-killed process: SIGKILL, reported as 137" 137 "$(ctl wait --id r2)"
wait "$oom_pid"
expect "GetOOMEvent names the container" r2 "$(cat "$T/oom")"
ctl remove --id r2

# shared pid namespace: the second container sees the first one's processes
ctl create --id r3 --rootfs "$ROOTFS" --sandbox-pidns -- sleep 1000
ctl start --id r3
ctl create --id r5 --rootfs "$ROOTFS" --sandbox-pidns -- sh -c 'ps -o comm | grep -c "^sleep"'
ctl start --id r5
expect "sandbox pid namespace shared" 1 "$(ctl read-stdout --id r5)"
ctl wait --id r5 >/dev/null
ctl remove --id r5
ctl remove --id r3
ctl destroy-sandbox
