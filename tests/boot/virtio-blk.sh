#!/bin/bash
# TAP: husk's kernel (the bzImage this time) + the rootfs image as a
# read-only virtio-blk disk, root /dev/vda1, on q35; the same life as
# tests/boot/initrd.sh.
. tests/boot/lib.sh
setup virtio-blk "$BZIMAGE" "$ROOTFS_IMG"
run_e2e virtio-blk pci "root=/dev/vda1 ro rootfstype=ext4 init=/sbin/init" \
	'^/dev/root / ext4 ro,relatime' \
	-M q35 -m 256M \
	-drive "if=none,id=d0,file=$ROOTFS_IMG,format=raw,readonly=on" \
	-device virtio-blk-pci,drive=d0 -kernel "$BZIMAGE"
finish
