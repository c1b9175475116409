#!/bin/bash
# TAP: husk's kernel + the rootfs image on a read-only QEMU nvdimm, root
# /dev/pmem0p1 mounted with DAX (checked inside the guest), on q35; the
# same life as tests/boot/initrd.sh.
. tests/boot/lib.sh
setup dax "$VMLINUX" "$ROOTFS_IMG"
size=$(stat -c %s "$ROOTFS_IMG")
run_e2e dax pci \
	"root=/dev/pmem0p1 rootflags=dax ro rootfstype=ext4 init=/sbin/init" \
	'^/dev/root / ext4 ro,.*dax=always' \
	-M q35,nvdimm=on -m 256M,slots=2,maxmem=1G \
	-object "memory-backend-file,id=mem0,share=on,mem-path=$ROOTFS_IMG,size=$size,readonly=on" \
	-device nvdimm,id=nv0,memdev=mem0,unarmed=on -kernel "$VMLINUX"
finish
