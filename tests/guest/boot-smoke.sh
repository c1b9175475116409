#!/bin/sh
# TAP: boot rootfs-builder's images under QEMU (TCG here; no KVM needed)
# with a stand-in init that prints its root mount and powers off, in every
# view the runtime uses:
#   initrd      microvm, PVH vmlinux, initramfs       root is rootfs
#   dax         pc + q35 with nvdimm, root=/dev/pmem0p1 rootflags=dax
#   virtio-blk  q35 (PCI) and microvm (MMIO), root=/dev/vda1
#   kata flags  Kata's exact root flags on a ROOTFS_JOURNAL=1 image
# No kernel is a failure: make check builds it (make kernel ->
# images/vmlinux-husk), so a missing one is a broken build, not a skip.
set -eu

top=$(pwd)
kernel=${HUSK_KERNEL:-${IMAGES:-images}/vmlinux-husk}
work=${BUILD:-build}/tests/guest-boot
export SOURCE_DATE_EPOCH=1700000000

if [ ! -f "$kernel" ]; then
	echo "not ok 1 - boot smoke: no kernel at $kernel (make kernel)"
	echo "1..1"
	exit 1
fi
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
kernel=$(cd "$(dirname "$kernel")" && pwd)/$(basename "$kernel")

n=0 failed=0
result() { # result OK DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

init=$work/testinit
musl-gcc -static -Os -o "$init" "$top/tests/guest/testinit.c"
"$top/rootfs-builder/mkinitrd.sh" "$init" "$work/initrd.img"
"$top/rootfs-builder/mkimage.sh" "$init" "$work/rootfs.img"
ROOTFS_JOURNAL=1 "$top/rootfs-builder/mkimage.sh" "$init" "$work/rootfs-journal.img"

# Under TCG the guest TSC runs at the host's rate; telling microvm skips
# the PIT calibration that hangs some boots (platform.md gotcha 1).
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
tsc=${khz:+tsc_early_khz=$khz}

# boot NAME EXPECTED-ROOT-LINE-REGEX QEMU-ARGS...: -append comes last.
boot() {
	name=$1 want=$2
	shift 2
	log=$work/$name.log
	start=$(date +%s.%N)
	timeout "${BOOT_TIMEOUT:-120}" qemu-system-x86_64 -accel tcg -no-reboot \
		-nodefaults -no-user-config -nographic -serial stdio -m 256M,slots=2,maxmem=1G \
		-kernel "$kernel" "$@" >"$log" 2>&1 </dev/null || true
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	# SeaBIOS (pc/q35) leaves its text on the line the marker starts.
	line=$(tr -d '\r' <"$log" | grep -ao 'HUSK-TESTINIT .*' | head -n 1)
	if echo "$line" | grep -Eq "$want"; then
		result 1 "$name: ${line#HUSK-TESTINIT } (${secs}s)"
	else
		result 0 "$name: want /$want/, got '${line:-no marker}'"
		tail -n 15 "$log" | sed 's/^/# /'
	fi
}

nvdimm() { # nvdimm IMAGE: the QEMU arguments of a read-only DAX image
	echo "-object memory-backend-file,id=mem0,share=on,mem-path=$1,size=$(stat -c %s "$1"),readonly=on -device nvdimm,id=nv0,memdev=mem0,unarmed=on"
}
blk() { # blk IMAGE DEVICE
	echo "-drive if=none,id=d0,file=$1,format=raw,readonly=on -device $2,drive=d0"
}
root="ro rootfstype=ext4 init=/sbin/init panic=-1"

boot initrd-microvm 'pid=1 root: rootfs / rootfs ' \
	-M microvm,x-option-roms=off -initrd "$work/initrd.img" \
	-append "console=ttyS0 quiet $tsc panic=-1"
# shellcheck disable=SC2046 # the helpers print argument lists
boot dax-pc 'root: /dev/root / ext4 ro,.*dax=always' \
	-M pc,nvdimm=on $(nvdimm "$work/rootfs.img") \
	-append "console=ttyS0 quiet root=/dev/pmem0p1 rootflags=dax $root"
# shellcheck disable=SC2046
boot dax-q35 'root: /dev/root / ext4 ro,.*dax=always' \
	-M q35,nvdimm=on $(nvdimm "$work/rootfs.img") \
	-append "console=ttyS0 quiet root=/dev/pmem0p1 rootflags=dax $root"
# shellcheck disable=SC2046
boot virtio-blk-q35 'root: /dev/root / ext4 ro,relatime 0 0' \
	-M q35 $(blk "$work/rootfs.img" virtio-blk-pci) \
	-append "console=ttyS0 quiet root=/dev/vda1 $root"
# shellcheck disable=SC2046
boot virtio-blk-microvm 'root: /dev/root / ext4 ro,relatime 0 0' \
	-M microvm,x-option-roms=off $(blk "$work/rootfs.img" virtio-blk-device) \
	-append "console=ttyS0 quiet $tsc root=/dev/vda1 $root"
# shellcheck disable=SC2046
boot kata-flags-dax 'root: /dev/root / ext4 ro,.*data=ordered,dax=always' \
	-M q35,nvdimm=on $(nvdimm "$work/rootfs-journal.img") \
	-append "console=ttyS0 quiet root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro $root"
# shellcheck disable=SC2046
boot kata-flags-virtio-blk 'root: /dev/root / ext4 ro,.*data=ordered' \
	-M q35 $(blk "$work/rootfs-journal.img" virtio-blk-pci) \
	-append "console=ttyS0 quiet root=/dev/vda1 rootflags=data=ordered,errors=remount-ro $root"

echo "1..$n"
[ "$failed" = 0 ]
