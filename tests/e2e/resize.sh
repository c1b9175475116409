#!/bin/bash
# A running pod's VM grown by hotplug (q35, host/pod-size.c), through
# containerd's CRI plugin in the usual order: the pause container boots the
# VM at its default size, then an app container with a 512 MiB limit
# grows it (the guest's MemTotal rises and 400 MiB can be touched), an
# UpdateContainerResources grows it again, a CPU quota of 2 adds a vCPU
# (under TCG: onlines one of the two more vCPUs QEMU has from the start,
# each with its own TCG thread, not thread=single; the third stays
# offline);
# a request above default_maxmemory is an error naming it that leaves the
# VM and the container's limit as they were; a guest that never takes
# the DIMM (no ACPI) fails the container's Create with a clear error while
# the VM keeps serving the pod's other container.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cri-lib.sh"

MEMHOG=${MEMHOG:-$TOP/$BUILD/tests/e2e/memhog}
if [ ! -x "$MEMHOG" ]; then
	echo "not ok 1 - $MEMHOG is missing (make $BUILD/tests/e2e/memhog)"
	exit 1
fi
MIB=1048576

cri_prereqs
HUSK_E2E_MACHINE=q35
setup
write_husk_config "$T/husk.toml" "default_maxmemory = 1280" \
	"default_maxvcpus = 3"
cri_setup
mkdir -p "$T/vol"
cp "$MEMHOG" "$T/vol/memhog"
export HUSK_CRI_MOUNT="$T/vol:/v"

# memtotal CID: the guest's MemTotal in MiB, seen from a container.
memtotal() {
	cri exec "$1" sh -c 'awk "/^MemTotal:/ { print int(\$2 / 1024) }" /proc/meminfo' 2>>"$T/err"
}
# in_range DESC LOW HIGH VALUE
in_range() {
	case $4 in
	'' | *[!0-9]*) not_ok "$1 (got '$4')" ;;
	*) if [ "$4" -ge "$2" ] && [ "$4" -le "$3" ]; then ok "$1 ($4)"; else
		not_ok "$1 (want $2..$3, got $4)"; fi ;;
	esac
}
field() { echo "$1" | sed -n "s/.*$2=\\([^ ]*\\).*/\\1/p"; }

pod=$(cri runp rz-pod husk "$T/logs" 2>"$T/err")
if [ -z "$pod" ]; then
	not_ok "RunPodSandbox (q35)"
	diag <"$T/err"
	finish
fi
ok "RunPodSandbox (q35)"
note_ids "$pod"

base=$(cri start "$pod/rz-pod" rz-base "$T/logs" "$IMG" sleep 100000 2>"$T/err")
[ -n "$base" ] && ok "a container without limits runs" ||
	{ not_ok "a container without limits runs"; diag <"$T/err"; finish; }
note_ids "$base"
m0=$(memtotal "$base")
in_range "before: the VM has default_memory (MemTotal MiB)" 200 256 "$m0"
expect "before: 1 online CPU" 1 "$(cri exec "$base" nproc 2>>"$T/err")"
expect "before: the guest's online CPUs" 0 \
	"$(cri exec "$base" cat /sys/devices/system/cpu/online 2>>"$T/err")"
if [ "${HUSK_E2E_ACCEL:-tcg}" = tcg ]; then
	q=$(pod_qemu_pid "$pod")
	argv=$(tr '\0' ' ' <"/proc/$q/cmdline" 2>/dev/null)
	case $argv in
	*thread=single*) not_ok "TCG: a thread per vCPU (got thread=single)" ;;
	*" -smp 3,maxcpus=3,"*) ok "TCG: all 3 vCPUs from the start, a TCG thread each" ;;
	*) not_ok "TCG: all 3 vCPUs from the start (QEMU: '$argv')" ;;
	esac
	expect "TCG: the other two present in the guest, offline" 0-2 \
		"$(cri exec "$base" cat /sys/devices/system/cpu/present 2>>"$T/err")"
fi

# 512 MiB limit: one DIMM of 512 MiB (whole 128 MiB blocks).  The
# container holds its 400 MiB (an exited container's task is deleted by
# the CRI plugin, and its limit stops counting).
t0=$(now_ms)
big=$(HUSK_CRI_MEMORY=$((512 * MIB)) cri start "$pod/rz-pod" rz-big "$T/logs" \
	"$IMG" /v/memhog 400 100000 2>"$T/err")
echo "# grew and started in $(($(now_ms) - t0)) ms"
[ -n "$big" ] && ok "512 MiB limit: the container runs" ||
	{ not_ok "512 MiB limit: the container runs"; diag <"$T/err"; }
note_ids "$big"
for _ in $(seq 300); do
	grep -q 'touched 400 MiB' "$T/logs/rz-big.log" 2>/dev/null && break
	sleep 0.1
done
grep -q 'touched 400 MiB' "$T/logs/rz-big.log" 2>/dev/null &&
	ok "512 MiB limit: 400 MiB touched and held" ||
	not_ok "512 MiB limit: 400 MiB touched ($(cat "$T/logs/rz-big.log" 2>/dev/null))"
m1=$(memtotal "$base")
in_range "after: MemTotal rose by 512 MiB" $((m0 + 500)) $((m0 + 512)) "$m1"

# Update raises the first container's limit: 256 + 512 + 384 > 768.
if cri update "$base" $((384 * MIB)) 2>"$T/err"; then
	ok "UpdateContainerResources to 384 MiB"
else
	not_ok "UpdateContainerResources to 384 MiB"
	diag <"$T/err"
fi
m2=$(memtotal "$base")
in_range "Update grew the VM again (MemTotal MiB)" $((m1 + 370)) $((m1 + 384)) "$m2"

# Above default_maxmemory (1280): an error naming it, nothing changed.
out=$(cri update "$base" $((1024 * MIB)) 2>&1)
case $out in
*default_maxmemory*1280*) ok "Update above default_maxmemory: the error names it" ;;
*) not_ok "Update above default_maxmemory: error naming it (got '$out')" ;;
esac
expect "the VM kept its size" "$m2" "$(memtotal "$base")"

# A CPU quota of 2 adds a vCPU, onlined by the agent.
res=$(HUSK_CRI_CPUS=200000/100000 cri run "$pod/rz-pod" rz-cpu "$T/logs" \
	"$IMG" nproc 2>"$T/err")
note_ids "$(field "$res" id)"
expect "CPU quota 2: the container exits 0" 0 "$(field "$res" exit_code)"
[ "$(field "$res" exit_code)" = 0 ] || { echo "$res"; cat "$T/err"; } | diag
log=$(field "$res" log)
grep -q ' stdout F 2$' "$log" 2>/dev/null && ok "CPU quota 2: nproc says 2" ||
	not_ok "CPU quota 2: nproc says 2 ($(cat "$log" 2>/dev/null))"
expect "the first container sees 2 CPUs too" 2 "$(cri exec "$base" nproc 2>>"$T/err")"
expect "after: the guest's online CPUs (one added, one onlined)" 0-1 \
	"$(cri exec "$base" cat /sys/devices/system/cpu/online 2>>"$T/err")"

if cri stopp "$pod" 2>"$T/err" && cri rmp "$pod" 2>>"$T/err"; then
	ok "pod stopped and removed"
else
	not_ok "pod stopped and removed"
	diag <"$T/err"
fi
assert_clean "after the pod" "$pod"

# A guest that never takes the DIMM (no ACPI, so no hotplug events): the
# container's Create fails naming the cause, it never starts, and the VM
# keeps serving the pod's other container.
write_husk_config "$T/husk.toml" "default_maxmemory = 1280" \
	"default_maxvcpus = 2" 'kernel_params = "acpi=off"'
pod=$(cri runp rz-fault husk "$T/logs" 2>"$T/err")
note_ids "$pod"
base=$(cri start "$pod/rz-fault" rz-f0 "$T/logs" "$IMG" sleep 100000 2>>"$T/err")
note_ids "$base"
[ -n "$base" ] && ok "no-ACPI guest: a container without limits runs" ||
	{ not_ok "no-ACPI guest: a container without limits runs"; diag <"$T/err"; }
out=$(HUSK_CRI_MEMORY=$((512 * MIB)) cri start "$pod/rz-fault" rz-f1 "$T/logs" \
	"$IMG" /v/memhog 400 100000 2>&1)
case $out in
*"did not take dimm0 in time"*) ok "the grow fails: the guest did not take the DIMM in time" ;;
*) not_ok "the grow fails naming the DIMM the guest did not take (got '$out')" ;;
esac
[ -s "$T/logs/rz-f1.log" ] && not_ok "the container never ran ($(cat "$T/logs/rz-f1.log"))" ||
	ok "the container never ran (no log)"
expect "the VM still serves the other container" still-here \
	"$(cri exec "$base" echo still-here 2>&1)"
if cri stopp "$pod" 2>"$T/err" && cri rmp "$pod" 2>>"$T/err"; then
	ok "the faulty pod stopped and removed"
else
	not_ok "the faulty pod stopped and removed"
	diag <"$T/err"
fi
assert_clean "after the faulty pod" "$pod"
finish
