#!/bin/bash
# VM growth numbers, as a table (make bench-resources): a q35 pod through
# containerd's CRI plugin (a container without limits first), then a
# container with a 512 MiB memory limit (one 512 MiB DIMM hot-added and
# taken by the guest) and one with a CPU quota of 2 (one vCPU hot-added
# and onlined by the agent).  The grow times are the shim's own ("VM
# grown ... ms=": QMP device_add to the guest's ACPI answer and the
# agent's OnlineCPUMem); the Create+Start times are the CRI client's, with
# a container without limits as the baseline.  QEMU's PSS before the
# grow, after it, and after the guest touched 400 MiB of the new memory.
# Medians of BENCH_RUNS pods (3).
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/cri-lib.sh"
RUNS=${BENCH_RUNS:-3}
MEMHOG=${MEMHOG:-$TOP/$BUILD/tests/e2e/memhog}
MIB=1048576

cri_prereqs
HUSK_E2E_MACHINE=q35
setup
write_husk_config "$T/husk.toml" "default_maxmemory = 2048" \
	"default_maxvcpus = 2"
cri_setup >/dev/null
mkdir -p "$T/vol"
cp "$MEMHOG" "$T/vol/memhog"
export HUSK_CRI_MOUNT="$T/vol:/v"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pss() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"; }
grown_ms() {
	grep -o 'msg="VM grown".*' "$T/containerd.log" | grep "container=$1" |
		sed -n 's/.*ms=\([0-9]*\).*/\1/p' | tail -1
}
# start_ms NAME ENV...: "MS ID", Create+Start wall time and the id.
start_ms() {
	local name=$1 t0 id
	shift
	t0=$(now_ms)
	id=$(env "$@" "$PY" "$CLIENT" "$T/proto" "$T/c.sock" start "$pod/$pname" \
		"$name" "$T/logs" "$IMG" sleep 100000 2>>"$T/err")
	echo "$(($(now_ms) - t0)) $id"
}

: >"$T/r"
for i in $(seq "$RUNS"); do
	pname=bench-rz-$i
	pod=$(cri runp "$pname" husk "$T/logs" 2>>"$T/err")
	note_ids "$pod"
	read -r base_ms base <<<"$(start_ms "b0-$i")"
	qemu=$(pod_processes | tr ' ' '\n' | sed -n 's/^qemu://p')
	pss0=$(pss "$qemu")
	read -r mem_start big <<<"$(start_ms "b1-$i" HUSK_CRI_MEMORY=$((512 * MIB)))"
	mem_ms=$(grown_ms "$big")
	pss1=$(pss "$qemu")
	cri exec "$big" /v/memhog 400 >/dev/null 2>>"$T/err"
	pss2=$(pss "$qemu")
	read -r cpu_start cpu <<<"$(start_ms "b2-$i" HUSK_CRI_CPUS=200000/100000)"
	cpu_ms=$(grown_ms "$cpu")
	ncpu=$(cri exec "$base" nproc 2>>"$T/err")
	mem=$(cri exec "$base" sh -c 'awk "/^MemTotal:/ { print int(\$2 / 1024) }" /proc/meminfo' 2>>"$T/err")
	echo "$base_ms $mem_start $mem_ms $cpu_start $cpu_ms $pss0 $pss1 $pss2 $ncpu $mem" >>"$T/r"
	note_ids "$base" "$big" "$cpu"
	cri stopp "$pod" >/dev/null 2>>"$T/err"
	cri rmp "$pod" >/dev/null 2>>"$T/err"
done
col() { awk -v c="$1" '{ print $c }' "$T/r" | median; }
row() { printf '| %-62s | %-12s |\n' "$1" "$2"; }
row "VM growth, q35 under $(grep -o 'vm="qemu [a-z0-9]* [a-z]*' "$T/containerd.log" | head -1 | awk '{ print $3 }') ($RUNS pods, median)" "value"
row "----" "----"
row "Create+Start, container without limits (baseline)" "$(col 1) ms"
row "Create+Start, 512 MiB limit (VM grows by a 512 MiB DIMM)" "$(col 2) ms"
row "grow by 512 MiB: device_add to guest ACPI answer + online" "$(col 3) ms"
row "Create+Start, CPU quota 2 (VM grows by one vCPU)" "$(col 4) ms"
row "grow by one vCPU: device_add to guest ACPI answer + online" "$(col 5) ms"
row "QEMU PSS before growing (256 MiB guest)" "$(col 6) KiB"
row "QEMU PSS after the 512 MiB DIMM, untouched" "$(col 7) KiB"
row "QEMU PSS after the guest touched 400 MiB of it" "$(col 8) KiB"
row "guest after both: online CPUs / MemTotal" "$(col 9) / $(col 10) MiB"
if [ -s "$T/err" ]; then
	echo "errors:"
	diag <"$T/err"
fi
assert_clean "bench" >/dev/null
finish >/dev/null
