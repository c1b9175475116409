#!/bin/bash
# Boot benchmark (make bench-boot): one table from one run.
#
#   * boot to agent ready: host wall time from spawning QEMU until husk ctl
#     check answers SERVING over the virtio-serial socket, for the initrd
#     (microvm, PVH vmlinux) and the DAX image (q35 + nvdimm), median of
#     BENCH_BOOT_RUNS boots;
#   * the floor: the same kernel, machine and devices with a trivial static
#     init that powers off at once (spawn to QEMU exit), and Debian's
#     generic kernel with that init (downloaded once with apt-get download
#     into the cache, never installed);
#   * every q35 case boots the firmware husk boots q35 with ("husk env":
#     qboot where QEMU ships it, else QEMU's SeaBIOS; BENCH_FIRMWARE=PATH
#     or "" overrides), named in the table's title;
#   * sizes of vmlinux, bzImage, initrd and image; guest memory in use when
#     the agent is ready (MemTotal - MemFree, from its boot marker).
#
# Targets checked: initrd <= 1 MiB, bzImage <= 4 MiB, ready <= 1.15 x floor.
# Run from the repository root after make kernel initrd image.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

BUILD=${BUILD:-build}
IMAGES=${IMAGES:-images}
CACHE_DIR=${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/husk}
RUNS=${BENCH_BOOT_RUNS:-5}
QEMU=${QEMU:-qemu-system-x86_64}
HUSK=$BUILD/bin/husk
VMLINUX=$IMAGES/vmlinux-husk
BZIMAGE=$IMAGES/vmlinuz-husk
INITRD=$IMAGES/husk-initrd.img
IMAGE=$IMAGES/husk-rootfs.img
TRIVIAL_INIT=$BUILD/tests/boot/trivial-init
TRIVIAL_INITRD=$BUILD/tests/boot/trivial-initrd.img
LIMIT=60

for f in "$VMLINUX" "$BZIMAGE" "$INITRD" "$IMAGE" "$HUSK" "$TRIVIAL_INITRD"; do
	[ -f "$f" ] || { echo "bench-boot: $f missing (make kernel initrd image)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/husk-bench-boot.XXXXXX)
QEMU_PID=
cleanup() {
	[ -n "$QEMU_PID" ] && kill -KILL "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }

BASE=(-accel tcg -smp 1 -nodefaults -no-user-config -nographic -no-reboot)

# The same image with the trivial init, for the DAX floor.
rootfs-builder/mkimage.sh "$TRIVIAL_INIT" "$T/trivial-rootfs.img" >/dev/null 2>&1 ||
	{ echo "bench-boot: cannot build the trivial image" >&2; exit 1; }

# Devices of each machine (agent channel and 9p share, as a runtime boots).
# microvm ("mv"): the agent's virtio-serial on PCI (pcie=on), as husk runs
# it, the share on virtio-mmio.
dev_args() { # mv|pci SOCK
	local s=virtio-serial-pci p=virtio-9p-pci
	[ "$1" = mv ] && p=virtio-9p-device
	mkdir -p "$T/share"
	echo "-device $s -chardev socket,id=ch0,path=$2,server=on,wait=off" \
		"-device virtserialport,chardev=ch0,name=agent.channel.0" \
		"-fsdev local,id=fs0,path=$T/share,security_model=none" \
		"-device $p,fsdev=fs0,mount_tag=kataShared"
}
# husk's configurations of the three cases, to ask husk for the firmware
# of its q35 VMs and the kernel command line of each machine (under TCG).
husk_conf() { # FILE MACHINE initrd|image PATH
	{
		printf '[hypervisor.qemu]\npath = "%s"\nkernel = "%s"\naccel = "tcg"\n' \
			"$(command -v "$QEMU")" "$(realpath "$VMLINUX")"
		printf 'machine_type = "%s"\n%s = "%s"\nshared_fs = "none"\n' \
			"$2" "$3" "$(realpath "$4")"
		printf 'default_vcpus = 1\ndefault_maxvcpus = 1\n'
	} >"$1"
}
husk_conf "$T/husk.toml" q35 image "$IMAGE"
husk_conf "$T/husk-mv.toml" microvm initrd "$INITRD"
husk_conf "$T/husk-q35.toml" q35 initrd "$INITRD"
FIRMWARE=${BENCH_FIRMWARE-$(husk_firmware "$HUSK" "$T/husk.toml")}
MV_APPEND=$(husk_kernel_cmdline "$HUSK" "$T/husk-mv.toml")
Q35_APPEND=$(husk_kernel_cmdline "$HUSK" "$T/husk-q35.toml")
DAX_APPEND="$(husk_kernel_cmdline "$HUSK" "$T/husk.toml") init=/sbin/init"
if [ -z "$MV_APPEND" ] || [ -z "$Q35_APPEND" ]; then
	echo "bench-boot: husk env gave no kernel command line" >&2
	exit 1
fi
BIOS=()
[ -n "$FIRMWARE" ] && BIOS=(-bios "$FIRMWARE")
nvdimm_args() { # IMAGE
	echo "-M q35,nvdimm=on ${BIOS[*]} -m 256M,slots=2,maxmem=1G" \
		"-object memory-backend-file,id=mem0,share=on,mem-path=$1,size=$(stat -c %s "$1"),readonly=on" \
		"-device nvdimm,id=nv0,memdev=mem0,unarmed=on"
}

# ready NAME TRANSPORT APPEND QEMU-ARGS...: one boot to Check, then a clean
# power off; prints "SECONDS MEM_KIB" or nothing on failure.
ready() {
	local name=$1 tr=$2 app=$3 sock=$T/agent.sock start line mem el=
	shift 3
	rm -f "$sock"
	start=$(now)
	# shellcheck disable=SC2046 # dev_args prints an argument list
	"$QEMU" "${BASE[@]}" -serial "file:$T/$name.console" $(dev_args "$tr" "$sock") \
		"$@" -append "$app" >"$T/$name.qemu" 2>&1 </dev/null &
	QEMU_PID=$!
	for _ in $(seq 1000); do
		[ -S "$sock" ] && break
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.005
	done
	if timeout "$LIMIT" "$HUSK" ctl --addr "unix:$sock" check >/dev/null 2>&1; then
		el=$(since "$start")
		timeout 10 "$HUSK" ctl --addr "unix:$sock" destroy-sandbox >/dev/null 2>&1
	fi
	reap_pid "$QEMU_PID" 100
	QEMU_PID=
	line=$(tr -d '\r' <"$T/$name.console" | grep -ao 'husk-agent: serving on .*' | head -n 1)
	mem=$(echo "$line" | sed -n 's/.*mem used \([0-9]*\) KiB.*/\1/p')
	[ -n "$el" ] && echo "$el ${mem:-0}"
}

# floor NAME KERNEL TRANSPORT APPEND QEMU-ARGS...: spawn to exit, with the
# marker checked; prints SECONDS or nothing.
floor() {
	local name=$1 kernel=$2 tr=$3 app=$4 start el
	shift 4
	start=$(now)
	# shellcheck disable=SC2046
	timeout "$LIMIT" "$QEMU" "${BASE[@]}" -serial "file:$T/$name.console" \
		$(dev_args "$tr" "$T/floor.sock") "$@" -kernel "$kernel" \
		-append "$app" >"$T/$name.qemu" 2>&1 </dev/null
	el=$(since "$start")
	grep -aq HUSK-TRIVIAL-INIT "$T/$name.console" && echo "$el"
}

# sample CASE CMD...: one run of CMD; its first field goes to CASE's
# samples, its second (if any) to CASE.2; a run printing nothing counts
# as a failure of CASE.
sample() {
	local c=$1 out
	shift
	out=$("$@")
	if [ -z "$out" ]; then
		echo x >>"$T/$c.fail"
		return
	fi
	echo "${out%% *}" >>"$T/$c"
	[ "${out#* }" != "$out" ] && echo "${out#* }" >>"$T/$c.2"
}
med() { if [ -f "$T/$1" ]; then median <"$T/$1"; else echo n/a; fi; }
fails() { if [ -f "$T/$1.fail" ]; then wc -l <"$T/$1.fail"; else echo 0; fi; }

# Debian's generic kernel: the package is only downloaded and unpacked.
deb_kernel=
deb_why=
deb_dir=$CACHE_DIR/debian-kernel
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' 2>/dev/null |
	awk '{ print $1 }' | sort -V | tail -n 1)
if [ -z "$pkg" ]; then
	deb_why="no linux-image-6.1.0-*-amd64-unsigned in the apt lists"
else
	deb_kernel=$(find "$deb_dir/$pkg/boot" -name 'vmlinuz-*' 2>/dev/null | head -n 1)
	if [ -z "$deb_kernel" ]; then
		mkdir -p "$deb_dir/$pkg"
		if (cd "$deb_dir" && apt-get download -q "$pkg" >/dev/null 2>&1) &&
			dpkg-deb -x "$deb_dir/$pkg"_*.deb "$deb_dir/$pkg" 2>/dev/null; then
			rm -f "$deb_dir/$pkg"_*.deb
			rm -rf "${deb_dir:?}/$pkg/lib" "${deb_dir:?}/$pkg/usr"
			deb_kernel=$(find "$deb_dir/$pkg/boot" -name 'vmlinuz-*' | head -n 1)
		fi
		[ -n "$deb_kernel" ] || deb_why="apt-get download $pkg failed"
	fi
fi

echo "bench-boot: $RUNS rounds under TCG (KVM does not run guests here)" >&2
# Rounds, not one case after another: a busy host then slows every case
# of a round alike, and the ratios stay fair.
for _ in $(seq "$RUNS"); do
	sample initrd ready initrd mv "$MV_APPEND" -M microvm,x-option-roms=off,pcie=on -m 256M \
		-kernel "$VMLINUX" -initrd "$INITRD"
	sample floor-mv floor floor-microvm "$VMLINUX" mv "$MV_APPEND" \
		-M microvm,x-option-roms=off,pcie=on -m 256M -initrd "$TRIVIAL_INITRD"
	# shellcheck disable=SC2046
	sample dax ready dax pci "$DAX_APPEND" $(nvdimm_args "$IMAGE") -kernel "$VMLINUX"
	# shellcheck disable=SC2046
	sample floor-dax floor floor-dax "$VMLINUX" pci "$DAX_APPEND" \
		$(nvdimm_args "$T/trivial-rootfs.img")
	sample floor-q35 floor floor-q35 "$VMLINUX" pci "$Q35_APPEND" -M q35 "${BIOS[@]}" -m 256M \
		-initrd "$TRIVIAL_INITRD"
	[ -n "$deb_kernel" ] || continue
	sample deb-mv floor debian-microvm "$deb_kernel" mv "$MV_APPEND" \
		-M microvm,x-option-roms=off,pcie=on -m 256M -initrd "$TRIVIAL_INITRD"
	sample deb-q35 floor debian-q35 "$deb_kernel" pci "$Q35_APPEND" -M q35 "${BIOS[@]}" -m 256M \
		-initrd "$TRIVIAL_INITRD"
done
initrd_s=$(med initrd) initrd_mem=$(med initrd.2) initrd_fail=$(fails initrd)
dax_s=$(med dax) dax_mem=$(med dax.2) dax_fail=$(fails dax)
floor_mv=$(med floor-mv) floor_dax=$(med floor-dax) floor_q35=$(med floor-q35)
deb_mv=$(med deb-mv) deb_q35=$(med deb-q35)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() { # VALUE OP LIMIT
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { if (v == "n/a") { print "n/a"; exit }
		print ((op == "<=" ? v <= l : v >= l) ? "met" : "MISSED") }'
}

sz_vmlinux=$(stat -c %s "$VMLINUX")
sz_bz=$(stat -c %s "$BZIMAGE")
sz_initrd=$(stat -c %s "$INITRD")
sz_image=$(stat -c %s "$IMAGE")
blk_image=$(($(stat -c %b "$IMAGE") * $(stat -c %B "$IMAGE")))

r_initrd=$(ratio "$initrd_s" "$floor_mv")
r_dax=$(ratio "$dax_s" "$floor_dax")

echo
echo "## Boot (QEMU 7.2, TCG, 1 vCPU, 256 MiB; median of $RUNS; host wall seconds; q35 firmware: $(firmware_name "$FIRMWARE"))"
echo
echo "| case | machine | seconds | floor | ratio | target |"
echo "| --- | --- | --- | --- | --- | --- |"
printf "| initrd: QEMU start to Check SERVING | microvm, PVH vmlinux | %s | %s | %s | <= 1.15: %s |\n" \
	"$initrd_s" "$floor_mv" "$r_initrd" "$(verdict "$r_initrd" "<=" 1.15)"
printf "| DAX image: QEMU start to Check SERVING | q35 + nvdimm, PVH vmlinux | %s | %s | %s | <= 1.15: %s |\n" \
	"$dax_s" "$floor_dax" "$r_dax" "$(verdict "$r_dax" "<=" 1.15)"
printf "| floor: trivial init, power off | microvm | %s | | | |\n" "$floor_mv"
printf "| floor: trivial init, power off | q35 + nvdimm | %s | | | |\n" "$floor_dax"
printf "| floor: trivial init, power off | q35 | %s | | | |\n" "$floor_q35"
if [ -n "$deb_kernel" ]; then
	printf "| Debian %s, trivial init | microvm | %s | %s | %s | |\n" \
		"$(basename "$deb_kernel")" "$deb_mv" "$floor_mv" "$(ratio "$deb_mv" "$floor_mv")"
	printf "| Debian %s, trivial init | q35 | %s | %s | %s | |\n" \
		"$(basename "$deb_kernel")" "$deb_q35" "$floor_q35" "$(ratio "$deb_q35" "$floor_q35")"
else
	printf "| Debian generic kernel | | n/a | | | %s |\n" "$deb_why"
fi
[ "$initrd_fail$dax_fail" = 00 ] ||
	echo "(failed boots: initrd $initrd_fail, DAX $dax_fail; medians are of the rest)"
echo
echo "| artefact | bytes | | target |"
echo "| --- | --- | --- | --- |"
printf "| vmlinux (PVH ELF, stripped) | %d | %s | |\n" "$sz_vmlinux" "$(mib "$sz_vmlinux")"
printf "| bzImage (LZ4) | %d | %s | <= 4 MiB: %s |\n" "$sz_bz" "$(mib "$sz_bz")" \
	"$(verdict "$sz_bz" "<=" 4194304)"
printf "| initrd (newc cpio) | %d | %s | <= 1 MiB: %s |\n" "$sz_initrd" "$(mib "$sz_initrd")" \
	"$(verdict "$sz_initrd" "<=" 1048576)"
printf "| rootfs image (apparent / allocated) | %d / %d | %s | |\n" "$sz_image" "$blk_image" \
	"$(mib "$sz_image")"
echo
echo "| guest memory in use at agent ready (MemTotal - MemFree) | KiB |"
echo "| --- | --- |"
printf "| initrd, microvm | %s |\n" "$initrd_mem"
printf "| DAX image, q35 | %s |\n" "$dax_mem"
