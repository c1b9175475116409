#!/bin/bash
# Things that go wrong: a missing kernel, a VM that does not boot, a guest
# without an agent, a guest that answers with garbage, a missing
# configuration, and QEMU killed under running tasks.  Each must fail (or
# end the tasks) with an error that says which, and leave nothing behind.
# The configuration of each case goes through ctr's --runtime-config-path
# (runtimeoptions.v1.Options{config_path} on Create).
. "$(dirname "$0")/lib.sh"

setup

note_ids f-kernel f-panic f-noagent f-garbage f-noconf f-qemu pod2 pm1 f-shim

# expect_fail DESCRIPTION ID CONFIG PATTERN: ctr run fails, its error
# matches PATTERN (extended regex), nothing is left.
expect_fail() {
	local d=$1 id=$2 conf=$3 pat=$4 out rc
	out=$(ctr run --rm --runtime "$RUNTIME" \
		--runtime-config-path "$conf" "$IMG" "$id" echo never 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && echo "$out" | grep -qE -- "$pat"; then
		ok "$d: fails and says so"
		echo "$out" | head -3 | diag
	else
		not_ok "$d: want an error matching '$pat' (rc $rc, got '$out')"
	fi
	ctr containers delete "$id" >/dev/null 2>&1
	assert_clean "$d" "$id"
}

write_husk_config "$T/nokernel.toml"
sed -i "s|^kernel = .*|kernel = \"$T/no-such-vmlinux\"|" "$T/nokernel.toml"
expect_fail "missing kernel" f-kernel "$T/nokernel.toml" "kernel.*no-such-vmlinux"

write_husk_config "$T/panic.toml" 'kernel_params = "rdinit=/no-such-init"'
expect_fail "VM that does not boot" f-panic "$T/panic.toml" \
	"(VM|hypervisor).*(exit|boot)"

mk_initrd "$T/noagent.img" 'mount -t devtmpfs dev /dev; sleep 1000'
DIAL_TIMEOUT=3 write_husk_config "$T/noagent.toml"
sed -i "s|^initrd = .*|initrd = \"$T/noagent.img\"|" "$T/noagent.toml"
t0=$(now_ms)
expect_fail "guest without an agent" f-noagent "$T/noagent.toml" \
	"agent.*(not|did not).*(ready|open|within)"
el=$(($(now_ms) - t0))
# Timed by the shim's own log, not around ctr: under load containerd, ctr
# and this script's own checks (assert_clean walks /proc) take seconds
# that are no part of the wait.  The shim gave up at most a few seconds
# after it started the VM (well below the 30 s default dial_timeout, so
# the 3 s given bounded it), and no sooner than 3 s after ctr run began
# (the agent got all its time; load only makes that later).
vm=$(shim_log_ms 'msg="VM started" sandbox=f-noagent ')
gave_up=$(shim_log_ms 'msg="sandbox f-noagent: agent not ready within 3 s')
if [ -z "$vm" ] || [ -z "$gave_up" ]; then
	not_ok "the agent wait is bounded: no \"VM started\" or \"agent not ready\" line from the shim"
	grep -F f-noagent "$T/containerd.log" | tail -5 | diag
else
	waited=$((gave_up - vm))
	check "the agent wait is bounded: the shim gave up $waited ms after starting the VM (dial_timeout 3 s)" \
		test "$waited" -lt 15000
	check "the agent had its 3 s: the shim gave up $((gave_up - t0)) ms after ctr run began" \
		test $((gave_up - t0)) -ge 3000
	echo "ctr run, ctr containers delete and assert_clean took $el ms" | diag
fi

# A guest that opens the agent port and writes random bytes into it.
mk_initrd "$T/garbage.img" 'mount -t devtmpfs dev /dev
mount -t sysfs sys /sys
for p in /sys/class/virtio-ports/*; do
	[ "$(cat $p/name)" = agent.channel.0 ] && port=/dev/${p##*/}
done
exec 3<>$port
while :; do head -c 65536 /dev/urandom >&3; sleep 1; done'
write_husk_config "$T/garbage.toml"
sed -i "s|^initrd = .*|initrd = \"$T/garbage.img\"|" "$T/garbage.toml"
expect_fail "guest that sends garbage" f-garbage "$T/garbage.toml" \
	"agent"
[ -z "$(leftover_processes)" ] && ok "the shim survived the garbage and exited" ||
	not_ok "processes left after garbage: $(leftover_processes)"

expect_fail "missing configuration file" f-noconf "$T/absent.toml" \
	"absent.toml"

# QEMU killed under a running task: the task exits, ctr gets a status.
husk_run f-qemu sleep 1000 >/dev/null 2>&1 &
bg=$!
wait_status f-qemu RUNNING
vm=$(ctr task ls | awk '$1 == "f-qemu" { print $2 }')
t0=$(now_ms)
kill -KILL "$vm"
wait "$bg"
rc=$?
el=$(($(now_ms) - t0))
expect "QEMU killed: the task exits with 255" 255 "$rc"
[ "$el" -lt 3000 ] && ok "QEMU killed: exit seen in $el ms" ||
	not_ok "QEMU killed: exit took $el ms"
CLEAN_WITHIN_MS=2000 assert_clean "QEMU killed" f-qemu

# The same with a pod of two: both tasks stop.
POD=(--annotation io.kubernetes.cri.sandbox-id=pod2)
ctr run -d --runtime "$RUNTIME" "${POD[@]}" \
	--annotation io.kubernetes.cri.container-type=sandbox \
	"$IMG" pod2 sleep 1000 >/dev/null 2>&1
ctr run -d --runtime "$RUNTIME" "${POD[@]}" \
	--annotation io.kubernetes.cri.container-type=container \
	"$IMG" pm1 sleep 1000 >/dev/null 2>&1
vm=$(ctr task ls | awk '$1 == "pod2" { print $2 }')
kill -KILL "$vm"
wait_status pod2 STOPPED && wait_status pm1 STOPPED
expect "QEMU killed: every task of the pod stops" "STOPPED STOPPED" \
	"$(task_status pod2) $(task_status pm1)"
ctr task delete pm1 >/dev/null 2>&1
ctr task delete pod2 >/dev/null 2>&1
ctr containers delete pm1 pod2 >/dev/null 2>&1
CLEAN_WITHIN_MS=2000 assert_clean "pod after QEMU killed" pod2 pm1

# The shim itself killed: its VM dies with it (parent-death signal), and
# containerd's "delete" cleans up the rest.
ctr run -d --runtime "$RUNTIME" "$IMG" f-shim sleep 1000 >/dev/null 2>&1
wait_status f-shim RUNNING
shim=$(cat "$T/state/io.containerd.runtime.v2.task/$NS/f-shim/shim.pid" 2>/dev/null)
kill -KILL "$shim"
# containerd runs "delete", publishes the exit (137) and drops the task.
for _ in $(seq 30); do
	[ -z "$(task_status f-shim)" ] && break
	sleep 0.1
done
expect "shim killed: containerd drops the task" "" "$(task_status f-shim)"
ctr containers delete f-shim >/dev/null 2>&1
CLEAN_WITHIN_MS=2000 assert_clean "shim killed" f-shim

finish
