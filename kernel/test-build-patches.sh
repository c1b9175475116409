#!/bin/bash
# TAP tests for build.sh's kernel/patches/ handling, on a copy of build.sh
# next to hand-made patches and a stand-in source tarball whose Makefile
# only writes a .config: --config-only, so no kernel is compiled.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"

# The stand-in source: tinyconfig/olddefconfig and merge_config.sh just
# concatenate, which is all build.sh's configure stage needs.
k=linux-source-6.1
mkdir -p "$k/scripts/kconfig" "$k/lib"
printf 'tinyconfig:\n\techo "# tiny" > .config\nolddefconfig:\n\t@:\n' > "$k/Makefile"
# shellcheck disable=SC2016	# the script's own $1/$@
printf '#!/bin/sh\nshift; out=$1; shift; cat "$@" >> "$out"\n' \
	> "$k/scripts/kconfig/merge_config.sh"
chmod +x "$k/scripts/kconfig/merge_config.sh"
printf 'one\ntwo\nthree\n' > "$k/lib/hello.txt"
tar -cJf src.tar.xz "$k"
cp -r "$k" pristine

mkdir -p kdir/fragments kdir/patches
cp "$here/build.sh" "$here/check-config.sh" kdir/
echo CONFIG_A=y > kdir/fragments/a.config
# mkpatch NAME OLD NEW: a -p1 patch turning line OLD of lib/hello.txt into NEW.
mkpatch() {
	rm -rf a b
	mkdir -p a/lib b/lib
	cp pristine/lib/hello.txt a/lib/
	sed "s/^$2\$/$3/" a/lib/hello.txt > b/lib/hello.txt
	diff -u a/lib/hello.txt b/lib/hello.txt > "kdir/patches/$1" || true
}

export HUSK_KERNEL_TARBALL=$tmp/src.tar.xz HUSK_CACHE_DIR=$tmp/cache
build() { kdir/build.sh --config-only "$tmp/outdir"; }
tree() { echo "$HUSK_CACHE_DIR"/kernel/src-*/"$k"; }
has() { [ "$(cat "$(tree)/lib/hello.txt")" = "$1" ]; }
differs() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ]; }
not_in_out() { ! grep -q "$1" out; }
no_source_id() { ! ls "$HUSK_CACHE_DIR"/kernel/src-*/source-id 2>/dev/null; }
hash_of() { sed -n 's/^kernel: \([0-9a-f]*\): configuring.*/\1/p' out; }

echo "1..12"
t "no patches: builds" 0 'config written' build
h0=$(hash_of)

mkpatch 0001-two.patch two TWO
mkpatch 0002-three.patch three THREE
t "patches are applied" 0 'applying patches/0001-two.patch' build
check "... in sorted order" [ "$(grep -o 'patches/000[12]' out | tr '\n' ' ')" = \
	"patches/0001 patches/0002 " ]
check "both patches are in the tree" has $'one\nTWO\nTHREE'
h1=$(hash_of)
check "patches change the cache hash" differs "$h0" "$h1"
check "the tree's source-id names the patches" \
	grep -qE '^patches [0-9a-f]{16}$' "$(tree)"/../source-id

t "same patches: the tree is reused, not extracted again" 0 'config written' build
check "... and not patched twice" not_in_out applying

mkpatch 0002-three.patch three 3
t "a changed patch: a fresh tree, not the old one" 0 \
	'extracting src.tar.xz' build
check "... with the new patch" has $'one\nTWO\n3'

# Its context is not in the file.
printf -- '--- a/lib/hello.txt\n+++ b/lib/hello.txt\n@@ -1,3 +1,3 @@\n one\n-zwei\n+ZWEI\n three\n' \
	> kdir/patches/0003-bad.patch
t "a patch that does not apply is an error naming it" 1 \
	'kernel: error: patches/0003-bad.patch does not apply to linux-source-6.1' build
check "... and leaves no tree to trust" no_source_id

tap_done
