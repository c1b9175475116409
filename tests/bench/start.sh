#!/bin/bash
# make bench-start: where a container's start goes, how starts scale, and
# where an idle pod's host memory goes.  Three tables from one run, under
# a private containerd (tests/e2e/lib.sh):
#
#   1. "ctr run --rm IMG ID true", interleaved rounds of: husk with the
#      initrd (microvm), husk with the DAX image (q35 + nvdimm), runc, and
#      the boot floors of bench-boot (the same kernel with a trivial init
#      that powers off at once, QEMU spawn to exit, microvm and q35 +
#      nvdimm).  Per-phase medians from the shim's "start timeline" log
#      line with each phase's share, the totals against runc, the floor.
#   2. 1, 5 and 10 pods ("ctr run -d ... sleep") started at once: time to
#      all running, per pod against one alone, host PSS per pod (QEMU +
#      virtiofsd + shim, smaps_rollup), failures.
#   3. The idle pods of the largest set: QEMU's PSS split by smaps (guest
#      RAM touched, TCG translation buffer, guest assets, binaries, heap
#      and the rest), virtiofsd, the shim; and the same pod without the
#      TCG buffer (what KVM would not have).
#
# BENCH_RUNS rounds (default 5), BENCH_PARALLEL the set sizes (default
# "1 5 10"), BENCH_SETTLE seconds before memory is read (default 5),
# BENCH_QEMU_KEYS extra configuration lines (see below).
# Run from the repository root, as root, after make kernel initrd image.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/start-lib.sh"

RUNS=${BENCH_RUNS:-5}
PAR=${BENCH_PARALLEL:-1 5 10}
SETTLE=${BENCH_SETTLE:-5}
IMAGE_FILE=${HUSK_IMAGE:-$TOP/$IMAGES/husk-rootfs.img}
TRIVIAL_INIT=$TOP/$BUILD/tests/boot/trivial-init
TRIVIAL_INITRD=$TOP/$BUILD/tests/boot/trivial-initrd.img
RUNC=io.containerd.runc.v2
LIMIT=120
# ctr with the lib's private socket, under a time limit.
tctr() { ctr_t "$LIMIT" "$@"; }

for f in "$IMAGE_FILE" "$TRIVIAL_INIT" "$TRIVIAL_INITRD"; do
	[ -f "$f" ] || { echo "bench-start: $f missing (make image $TRIVIAL_INITRD)" >&2; exit 1; }
done

setup
# shellcheck disable=SC2034 # the lib's cleanup reads it
RUNC_USED=1
# BENCH_QEMU_KEYS: extra "key = value" lines for [hypervisor.qemu], one a
# line, to compare settings (e.g. "tcg_tb_size = 0").
if [ -n "${BENCH_QEMU_KEYS:-}" ]; then
	mapfile -t keys <<<"$BENCH_QEMU_KEYS"
	write_husk_config "$T/husk.toml" "${keys[@]}"
fi
# The DAX image on q35: the same configuration with image instead of initrd.
awk -v img="$IMAGE_FILE" '/^(initrd|machine_type) = / { next } { print }
	$0 == "[hypervisor.qemu]" { print "image = \"" img "\""; print "machine_type = \"q35\"" }' \
	"$T/husk.toml" >"$T/husk-dax.toml"
accel=$(sed -n 's/^accel = "\(.*\)"/\1/p' "$T/husk.toml")
# The firmware husk boots the DAX pod with, which its floor boots too.
FIRMWARE=$(husk_firmware "$TOP/$BUILD/bin/husk" "$T/husk-dax.toml")

# ---- 1. sequential starts ---------------------------------------------

# run_case CASE ID: one "ctr run --rm ... true"; its wall ms go to
# $T/wall.CASE, a failure to $T/CASE.fail.
run_case() {
	local c=$1 id=$2 t0 rc
	local -a opt=(--runtime "$RUNTIME")
	case $c in
	dax) opt+=(--runtime-config-path "$T/husk-dax.toml") ;;
	runc) opt=(--runtime "$RUNC") ;;
	esac
	note_ids "$id"
	t0=$(now_ms)
	tctr run --rm "${opt[@]}" "$IMG" "$id" true >"$T/out" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		echo $(($(now_ms) - t0)) >>"$T/wall.$c"
	else
		echo "$id: exit $rc: $(head -c 300 "$T/out")" >>"$T/$c.fail"
	fi
}

# The floor, as bench-boot measures it: spawn to exit of the same kernel
# with a trivial init (virtio-serial and a 9p share, as a runtime boots),
# on the kernel command line husk gives the pod's VM.
MV_APPEND=$(husk_kernel_cmdline "$TOP/$BUILD/bin/husk" "$T/husk.toml")
DAX_APPEND="$(husk_kernel_cmdline "$TOP/$BUILD/bin/husk" "$T/husk-dax.toml") init=/sbin/init"
[ -n "$MV_APPEND" ] || { echo "bench-start: husk env gave no kernel command line" >&2; exit 1; }
floor_case() {
	local c=$1 t0 s=virtio-serial-pci p=virtio-9p-pci
	local -a m
	# shellcheck disable=SC2054 # QEMU's option values have commas
	if [ "$c" = floor-mv ]; then
		# As husk runs microvm: the agent's serial on PCI.
		p=virtio-9p-device
		m=(-M microvm,x-option-roms=off,pcie=on -m 256M -initrd "$TRIVIAL_INITRD"
			-append "$MV_APPEND")
	else
		m=(-M q35,nvdimm=on -m 256M,slots=2,maxmem=1G
			${FIRMWARE:+-bios "$FIRMWARE"}
			-object "memory-backend-file,id=mem0,share=on,mem-path=$T/trivial.img,size=$(stat -c %s "$T/trivial.img"),readonly=on"
			-device nvdimm,id=nv0,memdev=mem0,unarmed=on
			-append "$DAX_APPEND")
	fi
	mkdir -p "$T/share"
	t0=$(now_ms)
	timeout "$LIMIT" "$QEMU" -accel tcg -smp 1 -nodefaults -no-user-config -nographic \
		-no-reboot -serial "file:$T/floor.console" -device "$s" \
		-chardev "socket,id=ch0,path=$T/floor.sock,server=on,wait=off" \
		-device virtserialport,chardev=ch0,name=agent.channel.0 \
		-fsdev "local,id=fs0,path=$T/share,security_model=none" \
		-device "$p,fsdev=fs0,mount_tag=kataShared" \
		-kernel "$KERNEL" "${m[@]}" >/dev/null 2>&1 </dev/null
	if grep -aq HUSK-TRIVIAL-INIT "$T/floor.console"; then
		echo $(($(now_ms) - t0)) >>"$T/wall.$c"
	else
		echo "floor $c: no marker" >>"$T/$c.fail"
	fi
	rm -f "$T/floor.console" "$T/floor.sock"
}
floor=1
[ "$accel" = tcg ] || floor= # the floor runs TCG only: compare like with like
rootfs-builder/mkimage.sh "$TRIVIAL_INIT" "$T/trivial.img" >/dev/null 2>&1 || floor=

echo "bench-start: $RUNS rounds of husk (initrd), husk (DAX), runc${floor:+, floors}" >&2
# One warm-up of each, not counted (image unpacked, page cache filled).
run_case warm w-init
run_case warm w-dax
run_case warm w-runc
for i in $(seq "$RUNS"); do
	run_case init "s-init-$i"
	run_case dax "s-dax-$i"
	run_case runc "s-runc-$i"
	if [ -n "$floor" ]; then
		floor_case floor-mv
		floor_case floor-dax
	fi
done

# The shim's timelines of the measured runs, per case: steps and totals.
timeline_collect "$T/containerd.log" "$T" init dax

med() { if [ -s "$T/$1" ]; then median <"$T/$1"; else echo n/a; fi; }
nfail() { if [ -f "$T/$1.fail" ]; then wc -l <"$T/$1.fail"; else echo 0; fi; }

w_init=$(med wall.init) w_dax=$(med wall.dax) w_runc=$(med wall.runc)
f_mv=$(med wall.floor-mv) f_dax=$(med wall.floor-dax)
echo
echo "## ctr run --rm IMG ID true: $RUNS interleaved rounds, medians in ms (QEMU ${accel^^}, 1 vCPU, 256 MiB; q35 firmware: $(firmware_name "$FIRMWARE"))"
echo
if phase_table "$T" init "initrd, microvm" "$w_init" dax "DAX image, q35" "$w_dax"; then
	echo
	echo "(Phase medians are taken one by one, so they need not add up to the"
	echo "total's median; a phase missing from every run is left out.)"
	echo
else
	echo "The shim's log has no \"start timeline\" line: the timeline is missing"
	echo "(a shim without it), so only the totals are shown."
	echo
fi
echo "| ctr run --rm ... true | median ms | / runc | boot floor | - floor |"
echo "| --- | --- | --- | --- | --- |"
printf "| husk, initrd, microvm | %s | %s | %s | %s |\n" "$w_init" "$(ratio "$w_init" "$w_runc")" \
	"${f_mv}" "$(minus "$w_init" "$f_mv")"
printf "| husk, DAX image, q35 + nvdimm | %s | %s | %s | %s |\n" "$w_dax" "$(ratio "$w_dax" "$w_runc")" \
	"${f_dax}" "$(minus "$w_dax" "$f_dax")"
printf "| runc | %s | 1.00 | | |\n" "$w_runc"
echo
echo "(Boot floor: bench-boot's figure, the same kernel and machine with a trivial"
echo "init that powers off at once, QEMU spawn to exit, measured in the same rounds;"
echo "the floors boot the pods' kernel command lines and the q35 floor the DAX"
echo "pod's firmware.)"
for c in init dax runc floor-mv floor-dax; do
	[ -f "$T/$c.fail" ] && { echo "failures of $c: $(nfail "$c")"; sed 's/^/  /' "$T/$c.fail"; }
done

# ---- 2. pods at once --------------------------------------------------

# procs_snapshot: "PID CMDLINE" of this test's processes into $T/procs,
# once per measurement (pod_pids reads it: scanning /proc per pod is slow
# on a loaded machine).
procs_snapshot() {
	local p
	for p in $(test_pids); do
		echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done >"$T/procs"
}

# pod_pids ID: the pod's shim, QEMU and virtiofsd processes (from the
# last procs_snapshot).
pod_pids() {
	local id=$1 p cmd
	while read -r p cmd; do
		cmd=${cmd% }
		case $cmd in
		*containerd-shim-husk-v2*" -id $id") ;;
		*qemu-system*"-name sandbox-$id "*) ;;
		*virtiofsd*"/$id/shared"*) ;;
		*) continue ;;
		esac
		echo "$p"
	done <"$T/procs"
}
qemu_pid() {
	local p
	for p in $(pod_pids "$1"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q qemu-system && echo "$p"
	done
}

echo
echo "## Pods started at once (ctr run -d ... sleep), QEMU ${accel^^}"
echo
echo "| pods | time to all running | per pod | per pod / one alone | host PSS per pod (QEMU + virtiofsd + shim) | failures |"
echo "| --- | --- | --- | --- | --- | --- |"
one_alone=
last_ids=
for n in $PAR; do
	ids=
	for k in $(seq "$n"); do ids="$ids p$n-$k"; done
	# shellcheck disable=SC2086
	note_ids $ids
	t0=$(now_ms)
	pids=
	for id in $ids; do
		(tctr run -d --runtime "$RUNTIME" "$IMG" "$id" sleep 100000 \
			>"$T/par.$id" 2>&1; echo $? >"$T/par.$id.rc") &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086
	wait $pids
	el=$(($(now_ms) - t0))
	fails=0
	for id in $ids; do
		if [ "$(cat "$T/par.$id.rc")" != 0 ] ||
			! ctr task ls | awk -v id="$id" '$1 == id && $3 == "RUNNING" { f = 1 } END { exit !f }'; then
			fails=$((fails + 1))
			echo "pod $id: $(head -c 300 "$T/par.$id")" >>"$T/par.fail"
		fi
	done
	sleep "$SETTLE"
	procs_snapshot
	tot=0 up=0
	for id in $ids; do
		s=0
		for p in $(pod_pids "$id"); do s=$((s + $(pss_kib "$p"))); done
		[ "$s" -gt 0 ] && { tot=$((tot + s)); up=$((up + 1)); }
	done
	per_pss=$([ "$up" -gt 0 ] && echo $((tot / up)) || echo n/a)
	per=$(awk -v e="$el" -v n="$n" 'BEGIN { printf "%.0f", e / n }')
	[ -z "$one_alone" ] && one_alone=$per
	printf "| %d | %d ms | %s ms | %s | %s MiB | %d |\n" "$n" "$el" "$per" \
		"$(ratio "$per" "$one_alone")" "$(kib_mib "$per_pss")" "$fails"
	# The largest set stays up for the breakdown.
	if [ "$n" = "${PAR##* }" ]; then
		last_ids=$ids
	else
		kill_tasks
	fi
done
[ -f "$T/par.fail" ] && sed 's/^/  /' "$T/par.fail"

# ---- 3. memory breakdown ----------------------------------------------

# breakdown ID...: the pods' mean PSS in KiB as "n ram tcg assets
# binaries rest qemu virtiofsd shim" (n = pods measured).
breakdown() {
	local id q p cmd a b c d e f
	local n=0 r=0 tc=0 as=0 bi=0 ot=0 qt=0 fs=0 sh=0
	for id in "$@"; do
		q=$(qemu_pid "$id")
		[ -n "$q" ] || continue
		# shellcheck disable=SC2086
		read -r a b c d e f <<<"$(smaps_split "$q" $assets)"
		[ -n "$f" ] || continue
		n=$((n + 1)) r=$((r + a)) tc=$((tc + b)) as=$((as + c))
		bi=$((bi + d)) ot=$((ot + e)) qt=$((qt + f))
		for p in $(pod_pids "$id"); do
			cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
			case $cmd in
			*virtiofsd*) fs=$((fs + $(pss_kib "$p"))) ;;
			*containerd-shim*) sh=$((sh + $(pss_kib "$p"))) ;;
			esac
		done
	done
	[ "$n" = 0 ] && { echo 0; return; }
	echo "$n $((r / n)) $((tc / n)) $((as / n)) $((bi / n)) $((ot / n)) $((qt / n)) $((fs / n)) $((sh / n))"
}

assets="$KERNEL $INITRD $IMAGE_FILE"
# One DAX pod beside them: its guest reads its root from the shared image.
note_ids p-dax
tctr run -d --runtime "$RUNTIME" --runtime-config-path "$T/husk-dax.toml" \
	"$IMG" p-dax sleep 100000 >"$T/par.p-dax" 2>&1 || echo "DAX pod: $(head -c 300 "$T/par.p-dax")"
sleep "$SETTLE"
procs_snapshot
# shellcheck disable=SC2086
read -r n r tc as bi ot qt fs sh <<<"$(breakdown $last_ids)"
read -r dn dr dtc das dbi dot dqt dfs dsh <<<"$(breakdown p-dax)"
echo
echo "## Host memory of an idle pod (PSS; \"sleep\" running; QEMU ${accel^^})"
echo
if [ "$n" = 0 ]; then
	echo "no idle pod to measure"
else
	all=$((qt + fs + sh))
	dall=$([ "$dn" = 1 ] && echo $((dqt + dfs + dsh)) || echo n/a)
	echo "| where | initrd, microvm (mean of $n) | share | DAX image, q35 (one, beside them) | share |"
	echo "| --- | --- | --- | --- | --- |"
	row() {
		printf "| %s | %s | %s | %s | %s |\n" "$1" "$(kib_mib "$2") MiB" "$(share "$2" "$all")" \
			"$(kib_mib "$3") MiB" "$(share "$3" "$dall")"
	}
	row "QEMU: guest RAM touched" "$r" "$dr"
	row "QEMU: TCG translation buffer" "$tc" "$dtc"
	row "QEMU: guest assets mapped (kernel, initrd, image; shared page cache)" "$as" "$das"
	row "QEMU: executable and libraries (shared)" "$bi" "$dbi"
	row "QEMU: heap, arenas, stacks, TCG TLBs, the rest" "$ot" "$dot"
	row "QEMU total" "$qt" "$dqt"
	row "virtiofsd (both processes)" "$fs" "$dfs"
	row "containerd-shim-husk-v2" "$sh" "$dsh"
	row "pod total" "$all" "$dall"
	row "pod total less the TCG buffer (KVM estimate)" "$((all - tc))" \
		"$([ "$dn" = 1 ] && echo $((dall - dtc)) || echo n/a)"
	echo
	echo "(Shared pages are divided among the processes mapping them, so the"
	echo "binaries and assets rows shrink as pods are added. KVM estimate: the"
	echo "same pod less the TCG buffer; TCG's softmmu TLBs in the heap row would"
	echo "go too, so it is an upper bound.)"
fi
kill_tasks
# shellcheck disable=SC2086
assert_clean "bench-start" $last_ids p-dax >/dev/null
finish >/dev/null
