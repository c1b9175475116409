#!/bin/bash
# build.sh [--config-only] OUTDIR
#
# Build husk's guest kernel from Debian's linux-source-6.1 tarball:
# kernel/patches/*.patch applied, tinyconfig + kernel/fragments/*.config,
# verified, then vmlinux (PVH, stripped) and bzImage. Writes
# OUTDIR/vmlinux-husk, OUTDIR/vmlinuz-husk and OUTDIR/config-husk.
#
# Results are cached under $HUSK_CACHE_DIR/kernel/<hash>/ (default
# ~/.cache/husk) keyed by everything that shapes the image: the source
# package and tarball, the patches, the fragments, this script and the
# toolchain. A hit only copies three files. --config-only stops after the
# verified .config (written to OUTDIR/config-husk) and caches nothing.
#
# Environment: HUSK_CACHE_DIR, HUSK_KERNEL_TARBALL, HUSK_KERNEL_JOBS.
set -eu

usage() { echo "usage: $0 [--config-only] OUTDIR" >&2; exit 2; }
config_only=0
if [ "${1:-}" = --config-only ]; then
	config_only=1
	shift
fi
[ $# -eq 1 ] || usage
outdir=$1

here=$(cd "$(dirname "$0")" && pwd)
pkg=linux-source-6.1
tarball=${HUSK_KERNEL_TARBALL:-/usr/src/$pkg.tar.xz}
jobs=${HUSK_KERNEL_JOBS:-$(nproc)}
cache=${HUSK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/husk}/kernel
# Merge order is the sorted file order; check-config.sh rejects two
# fragments that disagree, so the order never decides a value.
frags=("$here"/fragments/*.config)
# husk's own kernel changes, applied in sorted order with patch -p1.
shopt -s nullglob
patches=("$here"/patches/*.patch)
shopt -u nullglob
kmake=(make ARCH=x86_64)

say() { echo "kernel: $*"; }
die() { echo "kernel: error: $*" >&2; exit 1; }

[ -r "$tarball" ] || die "$tarball not found (apt-get install $pkg)"
[ -e "${frags[0]}" ] || die "no fragments in $here/fragments"

# Identity of the source: package version plus the tarball's size/mtime
# (hashing 130 MiB on every make would cost more than the whole cache hit),
# plus the patches, so a tree is only reused with the patches it has.
src_id="$pkg $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo unpackaged)
$(stat -c '%s %Y' "$tarball")
patches $(cd "$here" && for p in "${patches[@]}"; do
	sha256sum "patches/${p##*/}"
done | sha256sum | cut -c1-16)"
hash=$({
	echo "$src_id"
	gcc --version | head -n1
	ld --version | head -n1
	cd "$here" && sha256sum build.sh fragments/*.config "${patches[@]#"$here"/}"
} | sha256sum | cut -c1-16)

dir=$cache/$hash
src=$cache/src-$hash
log=$cache/build-$hash.log

install_outputs() {
	mkdir -p "$outdir"
	local pair from to
	for pair in vmlinux:vmlinux-husk bzImage:vmlinuz-husk config:config-husk; do
		from=$1/${pair%%:*} to=$outdir/${pair#*:}
		cp "$from" "$to.tmp"
		mv -f "$to.tmp" "$to"
	done
}

if [ "$config_only" = 0 ] && [ -f "$dir/complete" ]; then
	install_outputs "$dir"
	touch "$dir/complete" 2>/dev/null || true	# most recently used, for pruning
	say "cached build $hash -> $outdir/{vmlinux,vmlinuz,config}-husk"
	exit 0
fi

mkdir -p "$cache"
# One kernel build at a time per cache: they share disk and both cores.
exec 9>"$cache/.lock"
if ! flock -n 9; then
	say "waiting for another kernel build in $cache"
	flock 9
fi
if [ "$config_only" = 0 ] && [ -f "$dir/complete" ]; then
	install_outputs "$dir"
	say "cached build $hash (built meanwhile)"
	exit 0
fi

stage=start
start=$(date +%s)
: > "$log"
on_exit() {
	local rc=$?
	[ $rc -eq 0 ] && return
	[ "$stage" = verify ] && exit $rc	# check-config already said why
	echo "kernel: failed during $stage (rc $rc); last lines of $log:" >&2
	tail -n 40 "$log" | sed 's/^/    /' >&2
	exit $rc
}
trap on_exit EXIT

# The build tree. A tree left by a failed build of the same source is
# reused: kbuild then recompiles only what the config change touches.
if [ ! -f "$src/source-id" ]; then
	for old in "$cache"/src-*; do
		[ -d "$old" ] || continue
		if [ "$(cat "$old/source-id" 2>/dev/null)" = "$src_id" ] &&
			[ ! -d "$src" ]; then
			say "reusing build tree $(basename "$old")"
			mv "$old" "$src"
		else
			rm -rf "$old"
		fi
	done
fi
# source-id is written last, so a half-extracted tree is never trusted.
if [ ! -f "$src/source-id" ]; then
	stage=extract
	say "$hash: extracting $(basename "$tarball")"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xJf "$tarball" -C "$src" >>"$log" 2>&1
	stage="patch"
	for p in "${patches[@]}"; do
		say "$hash: applying patches/${p##*/}"
		echo "== patches/${p##*/}" >>"$log"
		patch -p1 --batch --forward -d "$src/$pkg" < "$p" >>"$log" 2>&1 ||
			die "patches/${p##*/} does not apply to $pkg"
	done
	echo "$src_id" > "$src/source-id"
fi
k=$src/$pkg

stage=configure
say "$hash: configuring (tinyconfig + ${#frags[@]} fragments)"
(
	cd "$k"
	"${kmake[@]}" tinyconfig
	scripts/kconfig/merge_config.sh -m .config "${frags[@]}"
	"${kmake[@]}" olddefconfig
) >>"$log" 2>&1

stage=verify
if ! "$here/check-config.sh" -s "$k" "${frags[@]}" "$k/.config" > "$cache/verify-$hash.txt"; then
	echo "kernel: requested options did not land in the config:" >&2
	sed 's/^/    /' "$cache/verify-$hash.txt" >&2
	exit 1
fi
say "$(tail -n1 "$cache/verify-$hash.txt" | sed 's/^check-config: //')"

if [ "$config_only" = 1 ]; then
	mkdir -p "$outdir"
	cp "$k/.config" "$outdir/config-husk"
	say "config written to $outdir/config-husk (--config-only)"
	exit 0
fi

stage=compile
say "$hash: compiling vmlinux bzImage with -j$jobs (log: $log)"
# Fixed build identity so two builds of the same inputs match.
export KBUILD_BUILD_USER=husk KBUILD_BUILD_HOST=husk
KBUILD_BUILD_TIMESTAMP="$(date -u -d "@$(stat -c %Y "$tarball")")"
export KBUILD_BUILD_TIMESTAMP
"${kmake[@]}" -C "$k" -j"$jobs" vmlinux bzImage >>"$log" 2>&1

stage=install
rm -rf "$dir"
mkdir -p "$dir"
# strip drops only the symbol tables; the PVH entry note is in an
# allocated note section and survives, so QEMU can still boot it.
strip -o "$dir/vmlinux" "$k/vmlinux"
cp "$k/arch/x86/boot/bzImage" "$dir/bzImage"
cp "$k/.config" "$dir/config"
cp "$cache/verify-$hash.txt" "$dir/verify.txt"
mv "$log" "$dir/build.log"
log=$dir/build.log
touch "$dir/complete"
install_outputs "$dir"

# Keep the two most recently used builds; the tree is not needed any more,
# nor are logs of earlier failed or --config-only runs.
rm -rf "$src" "$cache"/verify-*.txt "$cache"/build-*.log
# shellcheck disable=SC2012	# hash-named dirs: plain names, ls -t is fine
ls -1t "$cache"/*/complete 2>/dev/null | tail -n +3 | while read -r c; do
	rm -rf "$(dirname "$c")"
done

elapsed=$(($(date +%s) - start))
say "built $hash in $((elapsed / 60))m$((elapsed % 60))s: bzImage $(stat -c %s "$dir/bzImage") bytes, vmlinux $(stat -c %s "$dir/vmlinux") bytes"
