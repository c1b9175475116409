#!/bin/sh
# Build the guest rootfs image: husk-agent as /sbin/init on ext4, laid out
# for an NVDIMM DAX root (/dev/pmem0p1) that also boots as a plain
# virtio-blk disk (/dev/vda1); see dax-layout.py for the layout.
#
#   mkimage.sh [--busybox] AGENT OUT
#
# Root-free and reproducible: mkfs.ext4 -d copies the tree (its scandir is
# sorted; LC_ALL=C makes that order the same everywhere), our mke2fs.conf
# replaces the host's, UUID and hash seed are fixed, E2FSPROGS_FAKE_TIME
# stamps the superblock, then debugfs adds the device nodes and sets every
# owner to 0:0 and every time to SOURCE_DATE_EPOCH (mkfs copies the host's
# owners and ctimes, which a user cannot choose).
# ROOTFS_FREE_MIB adds free space, ROOTFS_ALIGN_MIB (default 2; Kata uses
# 128) rounds the image size.  ROOTFS_JOURNAL=1 adds a 4 MiB journal, only
# so that Kata's root flags (data=ordered, which ext4 refuses without a
# journal) also mount it; a read-only root has no use for one.
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
# e2fsprogs reads a fake time of 0 as "no fake time": use 1 instead.
[ "$SOURCE_DATE_EPOCH" -gt 0 ] || SOURCE_DATE_EPOCH=1
uuid=${ROOTFS_UUID:-5f1e0c2a-7b3d-4c8e-9a06-1d2b3c4d5e6f}
free_mib=${ROOTFS_FREE_MIB:-0}
align_mib=${ROOTFS_ALIGN_MIB:-2}
journal=${ROOTFS_JOURNAL:-0}
export LC_ALL=C E2FSPROGS_FAKE_TIME="$SOURCE_DATE_EPOCH" \
	MKE2FS_CONFIG="$here/mke2fs.conf"
PATH=$PATH:/usr/sbin:/sbin

tmp=$(mktemp -d "${TMPDIR:-/tmp}/husk-image.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/tree
"$here/mktree.sh" "$agent" "$tree" --init-path /sbin/init $busybox

# Size: file data plus a quarter for metadata, 2 MiB of slack, and the
# free space asked for; inodes: every entry, the device nodes and spares.
kib=$(du -s -k --apparent-size "$tree" | cut -f1)
mib=$((kib * 5 / 4 / 1024 + 2 + free_mib))
jopt=
if [ "$journal" = 1 ]; then
	# mke2fs drops the journal, with only a message, below 8 MiB.
	jopt="-O has_journal -J size=4"
	mib=$((mib + 4))
	[ "$mib" -ge 9 ] || mib=9
fi
# The file system takes the rest of the aligned image (3 MiB of headers).
mib=$(((3 + mib + align_mib - 1) / align_mib * align_mib - 3))
inodes=$(($(find "$tree" | wc -l) + 64))
truncate -s "${mib}M" "$tmp/fs.img"
# shellcheck disable=SC2086 # $jopt is zero or more options
mkfs.ext4 -q -F -t ext4 -b 4096 -N "$inodes" -L husk-root -U "$uuid" $jopt \
	-E "hash_seed=$uuid,root_owner=0:0,lazy_itable_init=0,nodiscard" \
	-d "$tree" "$tmp/fs.img"

# Device nodes first, then owners and times of everything (sorted, so the
# same commands run in the same order on every machine).
{
	grep -v '^#' "$here/devices.txt" | while read -r path type major minor mode; do
		[ -n "$path" ] || continue
		printf 'cd "%s"\nmknod "%s" %s %s %s\n' \
			"$(dirname "$path")" "$(basename "$path")" "$type" "$major" "$minor"
		fmt=060000
		[ "$type" = c ] && fmt=020000
		printf 'cd /\nsif "%s" mode 0%o\n' "$path" $((fmt | 0$mode))
	done
	{
		echo /; echo /lost+found
		(cd "$tree" && find . -mindepth 1 | sed 's|^\.||')
		grep -v '^#' "$here/devices.txt" | cut -d' ' -f1 | grep .
	} | sort | while read -r path; do
		for f in uid gid; do printf 'sif "%s" %s 0\n' "$path" "$f"; done
		for f in atime mtime ctime crtime; do
			printf 'sif "%s" %s @%s\n' "$path" "$f" "$SOURCE_DATE_EPOCH"
		done
	done
} >"$tmp/fixup.debugfs"
debugfs -w -f "$tmp/fixup.debugfs" "$tmp/fs.img" >"$tmp/debugfs.log" 2>&1
# debugfs exits 0 whatever fails; anything beyond its echo and banner is wrong.
if grep -vE '^(debugfs: |debugfs [0-9.]+ \(|Allocated inode: [0-9]+$)' \
	"$tmp/debugfs.log" >&2; then
	echo "mkimage: debugfs fix-ups failed (see above)" >&2
	exit 1
fi
if [ "$journal" = 1 ] && ! dumpe2fs -h "$tmp/fs.img" 2>/dev/null | grep -q has_journal; then
	echo "mkimage: mke2fs made no journal" >&2
	exit 1
fi
e2fsck -fn "$tmp/fs.img" >"$tmp/fsck.log" 2>&1 || {
	cat "$tmp/fsck.log" >&2
	echo "mkimage: the file system does not check clean" >&2
	exit 1
}

/usr/bin/python3 "$here/dax-layout.py" "$tmp/fs.img" "$tmp/rootfs.img" "$align_mib"
mv "$tmp/rootfs.img" "$out"
