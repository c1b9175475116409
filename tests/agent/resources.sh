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

# OOM: a small memory limit and a process that keeps allocating
"$HUSK" ctl --addr "unix:$SOCK" oom-event --timeout 30 >"$T/oom" 2>&1 &
oom_pid=$!
ctl create --id r2 --rootfs "$ROOTFS" --memory 16777216 -- sh -c 'head -c 200000000 /dev/zero | tail >/dev/null'
ctl start --id r2
st=$(ctl wait --id r2)
check "OOM-killed process reports 137 or 1 ($st)" test "$st" = 137 -o "$st" = 1 -o "$st" = 141
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
