#!/bin/sh
# Build the guest initramfs: husk-agent as /init in the minimal tree.
#
#   mkinitrd.sh [--busybox] AGENT OUT
#
# Reproducible and root-free: the archive is written by cpio-newc.py
# (sorted entries, owners 0:0, every mtime SOURCE_DATE_EPOCH), and left
# uncompressed by default (INITRD_COMPRESS=none): every kernel reads a
# plain cpio, and under TCG the guest kernel's gunzip of the agent cost
# about 3.5 million guest instructions (28 ms of virtual time with -icount
# shift=3; 5-25 ms of a real boot, by the host's load) to save 225 KiB of
# a file read once.
# INITRD_COMPRESS=gzip, zstd or lz4 compress it without names or times;
# the guest kernel has all three.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
busybox=
if [ "${1:-}" = --busybox ]; then
	busybox=--busybox
	shift
fi
[ $# -eq 2 ] || { echo "usage: $0 [--busybox] AGENT OUT" >&2; exit 2; }
agent=$1 out=$2

SOURCE_DATE_EPOCH=$("$here/epoch.sh")
compress=${INITRD_COMPRESS:-none}
case $compress in
gzip) zip="gzip -n -9" ;;
zstd) zip="zstd -q -19 -T1 --no-progress" ;;
lz4) zip="lz4 -q -l -12" ;;
none) zip="cat" ;;
*) echo "mkinitrd: INITRD_COMPRESS=$compress: use gzip, zstd, lz4 or none" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/husk-initrd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$here/mktree.sh" "$agent" "$tmp/tree" --init-path /init $busybox
/usr/bin/python3 "$here/cpio-newc.py" "$tmp/tree" "$here/devices.txt" \
	"$SOURCE_DATE_EPOCH" >"$tmp/initrd.cpio"
$zip <"$tmp/initrd.cpio" >"$tmp/initrd.img"
mv "$tmp/initrd.img" "$out"
