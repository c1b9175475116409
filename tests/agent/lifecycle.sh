#!/bin/bash
# Agent lifecycle in host mode: health, sandbox, echo hello captured, exit
# codes, read-only rootfs, masked paths, a failed start leaving nothing.
. "$(dirname "$0")/lib.sh"
setup

expect "Health.Check answers SERVING" SERVING "$(ctl check)"
check "Version answers" ctl version
check "CreateSandbox with hostname" ctl create-sandbox --hostname pod1 --dns "nameserver 10.0.0.1"
expect "resolv.conf written" "nameserver 10.0.0.1" "$(cat "$T/state/sandbox/resolv.conf")"

expect "echo hello captured" hello "$(run c1 echo hello)"
expect "exit code 0" 0 "$(cat "$T/status")"
run c2 sh -c 'exit 3' >/dev/null
expect "exit code 3" 3 "$(cat "$T/status")"
CREATE_OPTS=(--no-pidns)
run c3 sh -c 'kill -9 $$' >/dev/null
expect "killed by SIGKILL gives 137" 137 "$(cat "$T/status")"
CREATE_OPTS=()
expect "hostname from the sandbox's UTS namespace" pod1 "$(run c4 hostname)"
expect "stderr kept apart" "" "$(run c5 sh -c 'echo err >&2')"
expect "pid 1 in its own pid namespace" 1 "$(run c7 sh -c 'echo $$')"

CREATE_OPTS=(--readonly)
expect "read-only rootfs" "ro" "$(run c8 sh -c 'touch /x 2>/dev/null && echo rw || echo ro')"
CREATE_OPTS=(--masked /etc/passwd --masked /proc/timer_list)
expect "masked file reads empty" "" "$(run c9 cat /etc/passwd)"
expect "masked /proc/timer_list" "0" "$(run c10 sh -c 'wc -c </proc/timer_list')"
CREATE_OPTS=()
expect "readonly /proc/sys" ro "$(run c11 sh -c 'echo 1 >/proc/sys/kernel/ns_last_pid 2>/dev/null && echo rw || echo ro')"

cgroup_probe

# A process that cannot start leaves nothing behind.
err=$(ctl create --id bad1 --rootfs "$ROOTFS" -- /no/such/binary 2>&1)
case $err in *NOT_FOUND*"/no/such/binary"*) ok "missing binary: NOT_FOUND naming it" ;;
*) not_ok "missing binary: got '$err'" ;; esac
check "failed create left no state dir" test ! -e "$T/state/bad1"
cgroups_exist bad1
expect "failed create left no cgroup in any hierarchy" 1 $?
err=$(ctl start --id bad1 2>&1)
case $err in *NOT_FOUND*) ok "failed container is gone" ;; *) not_ok "start bad1: $err" ;; esac

# Start of a created container that was never started, then removal.
ctl create --id c12 --rootfs "$ROOTFS" -- sleep 100
cgroups_exist c12
expect "created container has its cgroup in every hierarchy" 0 $?
# Its process is in it before the exec: the one pid of each cgroup.procs,
# still the agent's image (blocked until start).
inside=ok
for d in $(cgroup_dirs c12); do
	pids=$(tr '\n' ' ' <"$d/cgroup.procs" 2>/dev/null)
	set -- $pids
	[ $# = 1 ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = husk-agent ] ||
		inside="$d: '$pids'"
done
expect "created container's process is in its cgroup before its exec" ok "$inside"
check "remove a created (never started) container" ctl remove --id c12
cgroups_exist c12
expect "removed container left no cgroup in any hierarchy" 1 $?
ctl create --id c13 --rootfs "$ROOTFS" -- sleep 100
ctl start --id c13
check "remove a running container (kills it)" ctl remove --id c13
err=$(ctl create --id c14 --rootfs "$ROOTFS" -- true; ctl create --id c14 --rootfs "$ROOTFS" -- true 2>&1)
case $err in *ALREADY_EXISTS*) ok "duplicate id: ALREADY_EXISTS" ;; *) not_ok "duplicate: $err" ;; esac
ctl remove --id c14
err=$(ctl raw -- MemHotplugByProbe 2>&1)
case $err in *UNIMPLEMENTED*MemHotplugByProbe*) ok "unknown RPC: UNIMPLEMENTED with its name" ;; *) not_ok "raw: $err" ;; esac
check "DestroySandbox" ctl destroy-sandbox
check "sandbox state removed" test ! -e "$T/state/sandbox"
check "agent still serving" ctl check
