#!/bin/bash
# containerd-shim-husk-v2 numbers, as a table, from one run: "ctr run --rm
# IMG id echo hello" with husk (a VM per run; TCG unless KVM really works)
# against runc (medians and their ratio), the shim's RSS and PSS and QEMU's
# RSS with one running container, and the time from vm_start to the agent
# being ready (CreateSandbox answered), from the shim's own log.  Uses the
# e2e harness: a private containerd, a busybox image built here.
. "$(dirname "$0")/../e2e/lib.sh"
RUNS=${BENCH_RUNS:-10}
WARMUP=${BENCH_WARMUP:-2}

setup

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# time_runs RUNTIME NAME N: wall ms of each "ctr run --rm ... echo hello"
time_runs() {
	local rt=$1 name=$2 n=$3 i t0 out
	for i in $(seq "$n"); do
		note_ids "b-$name-$i"
		t0=$(date +%s%N)
		out=$(ctr run --rm --runtime "$rt" "$IMG" "b-$name-$i" echo hello 2>&1)
		echo $((($(date +%s%N) - t0) / 1000000))
		[ "$out" = hello ] || echo "bench: $name run $i printed '$out'" >&2
	done
}

RUNC_USED=1
time_runs "$RUNTIME" husk "$WARMUP" >/dev/null
time_runs io.containerd.runc.v2 runc "$WARMUP" >/dev/null
husk_ms=$(time_runs "$RUNTIME" husk "$RUNS" | median)
runc_ms=$(time_runs io.containerd.runc.v2 runc "$RUNS" | median)
ratio=$(awk -v a="$husk_ms" -v b="$runc_ms" 'BEGIN { printf "%.1f", a / b }')

# One running container: memory of the shim and of QEMU.
note_ids b-mem
ctr run -d --runtime "$RUNTIME" "$IMG" b-mem sleep 1000 >/dev/null
sleep 1
shim_pid=$(cat "$T/state/io.containerd.runtime.v2.task/$NS/b-mem/shim.pid")
vm_pid=$(ctr task ls | awk '$1 == "b-mem" { print $2 }')
rollup() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/smaps_rollup"; }
shim_rss=$(rollup "$shim_pid" Rss)
shim_pss=$(rollup "$shim_pid" Pss)
shim_dirty=$(awk '$1 ~ /^(Private_Dirty|Shared_Dirty):$/ { s += $2 } END { print s }' "/proc/$shim_pid/smaps_rollup")
vm_rss=$(rollup "$vm_pid" Rss)
ctr task kill -s SIGKILL b-mem 2>/dev/null
for _ in $(seq 50); do
	ctr task ls | grep -q '^b-mem .*STOPPED' && break
	sleep 0.1
done
ctr task delete b-mem >/dev/null 2>&1
ctr containers delete b-mem

# "sandbox ready ... boot_ms=N": vm_start to CreateSandbox answered.
boot_ms=$(grep -o 'msg="sandbox ready".*' "$T/containerd.log" |
	sed -n 's/.*boot_ms=\([0-9]*\).*/\1/p' | median)
accel=$(grep -o 'msg="sandbox ready".*' "$T/containerd.log" | head -1 |
	sed -n 's/.*vm="qemu [a-z0-9]* \([a-z]*\) .*/\1/p')
shim_size=$(($(stat -c %s "$SHIM") / 1024))

printf '| %-58s | %-14s | %-10s |\n' "containerd-shim-husk-v2 ($RUNS runs, median)" "value" "target"
printf '| %-58s | %-14s | %-10s |\n' "----" "----" "----"
printf '| %-58s | %-14s | %-10s |\n' "ctr run --rm echo hello, husk (QEMU ${accel:-?})" "$husk_ms ms" ""
printf '| %-58s | %-14s | %-10s |\n' "ctr run --rm echo hello, runc" "$runc_ms ms" ""
printf '| %-58s | %-14s | %-10s |\n' "ratio husk / runc" "${ratio}x" ""
printf '| %-58s | %-14s | %-10s |\n' "VM start to agent ready (CreateSandbox done), median" "$boot_ms ms" ""
printf '| %-58s | %-14s | %-10s |\n' "shim RSS, one running container" "$shim_rss KiB" "<= 4 MiB"
printf '| %-58s | %-14s | %-10s |\n' "shim PSS, one running container" "$shim_pss KiB" "<= 4 MiB"
printf '| %-58s | %-14s | %-10s |\n' "shim dirty (private + shared) memory" "$shim_dirty KiB" ""
printf '| %-58s | %-14s | %-10s |\n' "QEMU RSS, one running container (256 MiB guest)" "$vm_rss KiB" ""
printf '| %-58s | %-14s | %-10s |\n' "shim binary size (not stripped)" "$shim_size KiB" ""
assert_clean "bench" b-mem >/dev/null
finish >/dev/null
