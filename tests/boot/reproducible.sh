#!/bin/bash
# TAP: the guest assets "make initrd image" ships are reproducible with the
# real agent in them: two builds from husk-agent with the same
# SOURCE_DATE_EPOCH (different temp dirs, umasks and file times) are
# byte-identical, and the agent binary carries nothing of the build
# machine (no build path, no build id) that would differ between two
# checkouts.  tests/guest/reproducible.sh covers the builders themselves.
set -u
BUILD=${BUILD:-build}
AGENT=$BUILD/bin/husk-agent-stripped
n=0 failed=0
result() { # OK DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 1 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
if [ ! -f "$AGENT" ]; then
	echo "not ok 1 - $AGENT is missing (make)"
	exit 1
fi
T=$(mktemp -d /tmp/husk-repro.XXXXXX)
trap 'rm -rf "$T"' EXIT
export SOURCE_DATE_EPOCH=1700000000

build() { # DIR UMASK: both assets into DIR
	mkdir -p "$1/tmp"
	cp "$AGENT" "$1/agent"
	touch -d "@$((SOURCE_DATE_EPOCH + RANDOM))" "$1/agent"
	(umask "$2" && export TMPDIR=$1/tmp &&
		rootfs-builder/mkinitrd.sh "$1/agent" "$1/initrd.img" &&
		rootfs-builder/mkimage.sh "$1/agent" "$1/rootfs.img") >"$1/log" 2>&1
}
if build "$T/a" 022 && build "$T/b" 077; then
	result 1 "two builds, umask 022 and 077, different temp dirs and times"
else
	result 0 "the builds failed: $(tail -n 3 "$T"/*/log)"
fi
for f in initrd.img rootfs.img; do
	if cmp -s "$T/a/$f" "$T/b/$f"; then
		result 1 "$f: identical ($(sha256sum <"$T/a/$f" | cut -c1-16))"
	else
		result 0 "$f: the two builds differ"
	fi
done
top=$(pwd)
if strings "$AGENT" | grep -qF "$top"; then
	result 0 "husk-agent contains the build path $top"
else
	result 1 "husk-agent: no build path in the binary"
fi
if readelf -n "$AGENT" 2>/dev/null | grep -q 'Build ID'; then
	result 0 "husk-agent has a build id"
else
	result 1 "husk-agent: no build id note"
fi
echo "1..$n"
[ "$failed" = 0 ]
