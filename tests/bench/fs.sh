#!/bin/bash
# Shared-filesystem numbers from one run, as a table of ratios: inside a
# container, sequential write (dd, fsync at the end) and read of a 64 MiB
# file, then creating, stat-ing and removing 1,000 small files, all in the
# container's root filesystem: husk with virtio-fs, husk with 9p (each a
# VM whose rootfs is the host overlay shared over that transport), and
# runc on the overlayfs itself.  Times are taken inside the container
# (fsops now, CLOCK_MONOTONIC); under husk the guest's page cache is
# dropped before the read, so the read crosses the transport (the host's
# page cache stays warm, as it does for runc).  Uses the e2e harness.
. "$(dirname "$0")/../e2e/lib.sh"
FSOPS=${FSOPS:-$TOP/$BUILD/tests/boot/fsops}
[ -x "$FSOPS" ] || { echo "not ok 1 - $FSOPS is missing"; exit 1; }

setup
mkdir -p "$T/tools"
cp "$FSOPS" "$T/tools/fsops"
HUSK_E2E_SHARED_FS=virtio-9p write_husk_config "$T/9p.toml"

# The workload: prints "write N read N create N stat N remove N" (ms).
WORK='
now() { /t/fsops now; }
d=/bench; mkdir -p $d
t0=$(now); dd if=/dev/zero of=$d/big bs=1M count=64 conv=fsync 2>/dev/null; t1=$(now)
dropped=no; sync
[ "$DROP" = 1 ] && echo 3 >/proc/sys/vm/drop_caches && dropped=yes
t2=$(now); dd if=$d/big of=/dev/null bs=1M 2>/dev/null; t3=$(now)
mkdir $d/s
t4=$(now); i=0; while [ $i -lt 1000 ]; do : >$d/s/f$i; i=$((i + 1)); done; t5=$(now)
stat -c %s $d/s/* >/dev/null; t6=$(now)
rm -r $d/s; t7=$(now)
rm -f $d/big
ms() { echo $((($2 - $1) / 1000)); }
echo "write $(ms $t0 $t1) read $(ms $t2 $t3) create $(ms $t4 $t5) stat $(ms $t5 $t6) remove $(ms $t6 $t7) dropped $dropped"
'

# run_bench NAME DROP CTR-OPTIONS...: the workload's line.
run_bench() {
	local name=$1 drop=$2
	shift 2
	note_ids "bfs-$name"
	ctr run --rm "$@" --mount "type=bind,src=$T/tools,dst=/t,options=rbind:ro" \
		--env "DROP=$drop" "$IMG" "bfs-$name" sh -c "$WORK" 2>&1
}

RUNC_USED=1
vfs=$(run_bench vfs 1 --privileged --runtime "$RUNTIME")
p9=$(run_bench 9p 1 --privileged --runtime "$RUNTIME" --runtime-config-path "$T/9p.toml")
runc=$(run_bench runc 0 --runtime io.containerd.runc.v2)
accel=$(grep -o 'msg="sandbox ready".*' "$T/containerd.log" | head -1 |
	sed -n 's/.*vm="qemu [a-z0-9]* \([a-z]*\) .*/\1/p')

val() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
printf '| %-36s | %9s | %9s | %7s | %9s | %7s |\n' \
	"one run, ms (husk: QEMU ${accel:-?})" runc "virtio-fs" ratio 9p ratio
printf '| %-36s | %9s | %9s | %7s | %9s | %7s |\n' ---- ---- ---- ---- ---- ----
for op in write read create stat remove; do
	case $op in
	write) what="write 64 MiB (dd, fsync)" ;;
	read) what="read 64 MiB (dd)" ;;
	create) what="create 1,000 empty files" ;;
	stat) what="stat 1,000 files" ;;
	remove) what="remove 1,000 files (rm -r)" ;;
	esac
	r=$(val "$runc" $op) v=$(val "$vfs" $op) n=$(val "$p9" $op)
	printf '| %-36s | %9s | %9s | %7s | %9s | %7s |\n' "$what" "$r" "$v" \
		"$(ratio "$v" "$r")" "$n" "$(ratio "$n" "$r")"
done
echo "guest page cache dropped before the read: virtio-fs $(val "$vfs" dropped), 9p $(val "$p9" dropped) (runc: not dropped, host cache)"
for x in "runc:$runc" "virtio-fs:$vfs" "9p:$p9"; do
	case ${x#*:} in
	write*) ;;
	*) echo "bench: ${x%%:*} did not run: ${x#*:}" >&2 ;;
	esac
done
assert_clean "bench-fs" bfs-vfs bfs-9p bfs-runc >/dev/null
finish >/dev/null
