#!/bin/sh
# TAP: rootfs-builder's initrd and rootfs image are reproducible and hold
# what the guest needs.  Builds each twice (different temp dirs, umasks and
# file times, same SOURCE_DATE_EPOCH) around a stand-in init compiled here,
# so it needs neither husk-agent nor root.  Run from the repository root.
set -eu

top=$(pwd)
work=${BUILD:-build}/tests/guest
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
export SOURCE_DATE_EPOCH=1700000000
PATH=$PATH:/usr/sbin:/sbin

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
check() { # check DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@" >>"$work/log" 2>&1; then result 1 "$desc"; else result 0 "$desc"; fi
}

init=$work/testinit
musl-gcc -static -Os -o "$init" "$top/tests/guest/testinit.c"

# build KIND OUTDIR [--busybox]: one initrd or image, from a fresh TMPDIR.
build() {
	mkdir -p "$2/tmp"
	case $1 in
	initrd) TMPDIR=$2/tmp "$top/rootfs-builder/mkinitrd.sh" ${3:+"$3"} "$init" "$2/initrd.img" ;;
	image) TMPDIR=$2/tmp "$top/rootfs-builder/mkimage.sh" ${3:+"$3"} "$init" "$2/rootfs.img" ;;
	esac
}

ok=1
build initrd "$work/a" && build image "$work/a" || ok=0
touch "$init"	# a newer mtime and ctime must not matter
(umask 077 && build initrd "$work/b" && build image "$work/b") || ok=0
result $ok "initrd and image build twice"

check "initrd: two builds are byte-identical" cmp "$work/a/initrd.img" "$work/b/initrd.img"
size=$(stat -c %s "$work/a/initrd.img")
ok=0
[ "$size" -le 1048576 ] && ok=1
result $ok "initrd: $size bytes <= 1 MiB"

list=$work/initrd.list
check "initrd: GNU cpio reads the archive" sh -c "
	{ gzip -t '$work/a/initrd.img' 2>/dev/null && gzip -dc '$work/a/initrd.img' ||
	  cat '$work/a/initrd.img'; } | cpio -it --quiet >/dev/null"
/usr/bin/python3 "$top/tests/guest/inspect-initrd.py" "$work/a/initrd.img" >"$list" || true
check "initrd: /init is a regular file, 0755, owned by 0:0" \
	grep -Eq "^init f 0755 0 0 [0-9]+ 0:0 $(stat -c %s "$init")\$" "$list"
check "initrd: /dev/console is char device 5:1, 0600" \
	grep -Eq '^dev/console c 0600 0 0 [0-9]+ 5:1 ' "$list"
check "initrd: /dev/null is char device 1:3" grep -Eq '^dev/null c 0666 0 0 [0-9]+ 1:3 ' "$list"
check "initrd: every entry is owned by 0:0" sh -c "! awk '\$4 != 0 || \$5 != 0' '$list' | grep -q ."
check "initrd: every mtime is SOURCE_DATE_EPOCH" \
	sh -c "! awk '\$6 != $SOURCE_DATE_EPOCH' '$list' | grep -q ."
check "initrd: entries are sorted, each directory before its contents" \
	sh -c "cut -d' ' -f1 '$list' | tr / '\001' | LC_ALL=C sort -c"

check "image: two builds are byte-identical" cmp "$work/a/rootfs.img" "$work/b/rootfs.img"
facts=$work/image.facts
/usr/bin/python3 "$top/tests/guest/inspect-image.py" "$work/a/rootfs.img" >"$facts"
has() { grep -Eq "(^| )$1( |\$)" "$facts"; }
check "image: NVDIMM_PFN_INFO at 4 KiB" has 'pfn_signature=NVDIMM_PFN_INFO'
check "image: info block checksum (fletcher64) is valid" has 'pfn_checksum_ok=1'
check "image: dataoff 2 MiB, align 2 MiB, mode ram, no parent uuid" sh -c "
	grep -q 'pfn_dataoff=2097152 pfn_align=2097152' '$facts' &&
	grep -q 'pfn_mode=1 ' '$facts' && grep -q 'pfn_parent_uuid_zero=1' '$facts'"
isize=$(stat -c %s "$work/a/rootfs.img")
check "image: npfns covers the data area, size 2 MiB aligned" has \
	"pfn_npfns=$(((isize - 2097152) / 4096))"
check "image: size is a multiple of 2 MiB" test $((isize % 2097152)) = 0
parts=$(sed -n 's/.*mbr1_parts=\([^ ]*\).*/\1/p' "$facts")
check "image: MBR #1 has one Linux partition at 3 MiB" sh -c "
	grep -q 'mbr1_sig=55aa' '$facts' && echo '$parts' | grep -Eqx '0x83@3145728\+[0-9]+'"
check "image: MBR #2 at 2 MiB has the same partition at 1 MiB" sh -c "
	grep -q 'mbr2_sig=55aa' '$facts' &&
	grep -q 'mbr2_parts=0x83@1048576+${parts#*+}\$' '$facts'"
part=$work/a/part.img
plen=${parts#*+}
dd if="$work/a/rootfs.img" of="$part" bs=1M skip=3 count=$((plen / 1048576)) status=none
check "image: the partition is ext4 that checks clean" e2fsck -fn "$part"
stat_init=$(debugfs -R 'stat /sbin/init' "$part" 2>/dev/null || true)
ok=0
echo "$stat_init" | grep -q 'Type: regular *Mode: *0755' &&
	echo "$stat_init" | grep -Eq 'User: +0 +Group: +0 ' &&
	echo "$stat_init" | grep -q "Size: $(stat -c %s "$init")\$" && ok=1
result $ok "image: /sbin/init is the agent, regular, 0755, 0:0"
ok=0
debugfs -R 'stat /dev/console' "$part" 2>/dev/null | grep -q 'Type: character special *Mode: *0600' &&
	debugfs -R 'stat /dev/console' "$part" 2>/dev/null | grep -q 'Device major/minor number: 05:01' && ok=1
result $ok "image: /dev/console is char device 5:1"
ok=0
ts=$(printf '%x' "$SOURCE_DATE_EPOCH")
debugfs -R 'stat /etc/passwd' "$part" 2>/dev/null >"$work/passwd.stat"
[ "$(grep -c "time: 0x$ts:00000000" "$work/passwd.stat")" = 4 ] && ok=1
result $ok "image: a/m/c/crtime are SOURCE_DATE_EPOCH"
ok=0
dumpe2fs -h "$part" 2>/dev/null | grep -q '^Filesystem features:.*metadata_csum' &&
	! dumpe2fs -h "$part" 2>/dev/null | grep -q 'has_journal' &&
	dumpe2fs -h "$part" 2>/dev/null | grep -q '^Block size: *4096' && ok=1
result $ok "image: 4 KiB blocks (DAX), no journal"

# The debug console variant: busybox and its applets, still reproducible.
ok=1
build initrd "$work/c" --busybox && build image "$work/c" --busybox || ok=0
(umask 077 && build initrd "$work/d" --busybox && build image "$work/d" --busybox) || ok=0
result $ok "--busybox: initrd and image build twice"
check "--busybox: initrd and image are byte-identical" sh -c "
	cmp '$work/c/initrd.img' '$work/d/initrd.img' && cmp '$work/c/rootfs.img' '$work/d/rootfs.img'"
/usr/bin/python3 "$top/tests/guest/inspect-initrd.py" "$work/c/initrd.img" >"$list" || true
check "--busybox: initrd has /bin/busybox, /bin/sh and /init" sh -c "
	grep -Eq '^bin/busybox f 0755 ' '$list' && grep -Eq '^bin/sh l 0777 ' '$list' &&
	grep -Eq '^init f 0755 ' '$list'"
echo "# --busybox initrd: $(stat -c %s "$work/c/initrd.img") bytes"
dd if="$work/c/rootfs.img" of="$part" bs=1M skip=3 status=none
ok=0
debugfs -R 'stat /bin/busybox' "$part" 2>/dev/null | grep -q 'Type: regular' &&
	debugfs -R 'stat /sbin/init' "$part" 2>/dev/null | grep -q "Size: $(stat -c %s "$init")\$" && ok=1
result $ok "--busybox: image has /bin/busybox and keeps the agent as /sbin/init"

echo "1..$n"
[ "$failed" = 0 ] || { echo "# log: $work/log"; exit 1; }
