#!/bin/bash
# 100 create/start/wait/remove cycles: the agent's fd count and mounts do
# not grow, no zombies are left, and every cgroup and state dir is gone.
. "$(dirname "$0")/lib.sh"
setup
N=${CYCLES:-100}
ctl create-sandbox --hostname cyc

count_fds() { ls "/proc/$AGENT_REAL/fd" | wc -l; }
# The agent's mounts: id, device, root and mount point (mountinfo fields
# 1, 3, 4, 5), which name one mount even if its id is reused later.
agent_mounts() { LC_ALL=C awk '{ print $1, $3, $4, $5 }' "/proc/$AGENT_REAL/mountinfo" | LC_ALL=C sort; }
# mount_changes SNAPSHOT: "new ..." for every mount the agent's namespace
# gained since SNAPSHOT, "gone ..." for every one it lost.  The namespace
# is a private copy of the host's, taken when the agent started, so it
# also holds whatever transient mounts the host had then (another test's
# netns or temporary directory).  Such a mount leaves without an unmount
# in the agent's namespace when its owner deletes the mount point (the
# kernel detaches mounts on a deleted dentry in every namespace); nothing
# in the agent's own namespace can delete a mount point it has there.  So
# a mount gone together with its mount point is no change of the agent's.
mount_changes() {
	local id dev root mp
	agent_mounts | LC_ALL=C comm -13 "$1" - | sed 's/^/new /'
	agent_mounts | LC_ALL=C comm -23 "$1" - | while read -r id dev root mp; do
		if [ -e "/proc/$AGENT_REAL/root$(printf '%b' "$mp")" ]; then
			echo "gone $id $dev $root $mp"
		else
			echo "# mount $id on $mp left with its mount point (not the agent's)" >&2
		fi
	done
}
zombies() { ps -o stat= --ppid "$AGENT_REAL" | grep -c '^Z'; }

# one warm-up cycle so lazily opened things are open
run w0 true >/dev/null
cgroup_probe
fds0=$(count_fds)
agent_mounts >"$T/mounts0"
failed=0
for i in $(seq "$N"); do
	out=$(run "cyc$i" echo "$i") || failed=$((failed + 1))
	[ "$out" = "$i" ] || failed=$((failed + 1))
	[ "$(cat "$T/status")" = 0 ] || failed=$((failed + 1))
done
expect "$N cycles of create/start/read/wait/remove" 0 "$failed"
expect "agent fd count unchanged" "$fds0" "$(count_fds)"
expect "agent mounts unchanged" "" "$(mount_changes "$T/mounts0" | tr '\n' ';')"
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
