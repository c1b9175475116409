#!/bin/bash
# 100 create/start/wait/remove cycles: the agent's fd count and mounts do
# not grow, no zombies are left, and every cgroup and state dir is gone.
. "$(dirname "$0")/lib.sh"
setup
N=${CYCLES:-100}
ctl create-sandbox --hostname cyc

count_fds() { ls "/proc/$AGENT_REAL/fd" | wc -l; }
count_mounts() { wc -l <"/proc/$AGENT_REAL/mountinfo"; }
zombies() { ps -o stat= --ppid "$AGENT_REAL" | grep -c '^Z'; }

# one warm-up cycle so lazily opened things are open
run w0 true >/dev/null
cgroup_probe
fds0=$(count_fds)
mnt0=$(count_mounts)
failed=0
for i in $(seq "$N"); do
	out=$(run "cyc$i" echo "$i") || failed=$((failed + 1))
	[ "$out" = "$i" ] || failed=$((failed + 1))
	[ "$(cat "$T/status")" = 0 ] || failed=$((failed + 1))
done
expect "$N cycles of create/start/read/wait/remove" 0 "$failed"
expect "agent fd count unchanged" "$fds0" "$(count_fds)"
expect "agent mounts unchanged" "$mnt0" "$(count_mounts)"
expect "no zombies" 0 "$(zombies)"
left=$(ls "$T/state" | grep -c '^cyc')
expect "no container state left" 0 "$left"
left=0
for i in $(seq "$N"); do
	cgroups_exist "cyc$i"
	[ $? = 1 ] || left=$((left + 1))
done
expect "no cgroups left (in the hierarchies the agent uses)" 0 "$left"

# the same with exec and a tty each time
ctl create --id ex --rootfs "$ROOTFS" -- sleep 1000
ctl start --id ex
fds0=$(count_fds)
failed=0
for i in $(seq 20); do
	ctl exec --id ex --exec-id "e$i" --tty -- echo "$i" || failed=$((failed + 1))
	ctl read-stdout --id ex --exec-id "e$i" >/dev/null
	[ "$(ctl wait --id ex --exec-id "e$i")" = 0 ] || failed=$((failed + 1))
done
expect "20 exec cycles with a tty" 0 "$failed"
expect "agent fd count unchanged after execs" "$fds0" "$(count_fds)"
ctl remove --id ex
expect "no zombies after remove" 0 "$(zombies)"
ctl destroy-sandbox
