#!/bin/sh
# Build the private static musl sysroot the guest agent links against:
# protobuf-c (runtime only) and libseccomp from Debian's source packages,
# compiled with musl-gcc into DIR/include and DIR/lib, plus a copy
# of the Linux UAPI headers (musl-gcc's include path has none).
#
#   sh scripts/musl-sysroot.sh DIR        (make: build/musl/sysroot)
#
# Works in DIR/../src, logs to DIR/../build.log, and creates DIR/.complete
# last, only on success.  Source packages are reused from
# ${XDG_CACHE_HOME:-$HOME/.cache}/husk/src when their checksums match.
# Netlink needs no library: the agent speaks plain rtnetlink (libmnl's source
# package cannot be downloaded from the archive this project uses).
set -eu

PKGS="protobuf-c libseccomp"

die() {
	echo "musl-sysroot: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $0 DIR"

# Rebuilding is only needed when this script changed since the last build.
if [ -f "$1/.complete" ] && [ -n "$(find "$1/.complete" -newer "$0")" ]; then
	exit 0
fi

for tool in musl-gcc apt-get dpkg-source make gperf sha256sum; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool not found; run 'make deps' (scripts/deps.sh)"
done

mkdir -p "$1"
DIR=$(cd "$1" && pwd)
TOP=$(dirname "$DIR")
WORK=$TOP/src
LOG=$TOP/build.log
if [ -n "${XDG_CACHE_HOME:-}" ]; then
	CACHE=$XDG_CACHE_HOME/husk/src
elif [ -n "${HOME:-}" ]; then
	CACHE=$HOME/.cache/husk/src
else
	CACHE=
fi
JOBS=${MUSL_SYSROOT_JOBS:-2}

# Start from nothing so a half-built sysroot never survives a failure.
rm -rf "$DIR" "$WORK"
mkdir -p "$DIR/include" "$DIR/lib" "$WORK"
: >"$LOG"

fail() {
	echo "musl-sysroot: $* failed; last lines of $LOG:" >&2
	tail -n 30 "$LOG" >&2
	exit 1
}

# run WHAT CMD...: run CMD with its output in the log.
run() {
	what=$1
	shift
	echo "+ $*" >>"$LOG"
	"$@" >>"$LOG" 2>&1 || fail "$what"
}

# UAPI headers for libseccomp and the agent itself.  Copies, not
# symlinks, so the sysroot does not change under a later linux-libc-dev.
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || multiarch=x86_64-linux-gnu
for d in /usr/include/linux /usr/include/asm-generic \
	"/usr/include/$multiarch/asm"; do
	[ -d "$d" ] || die "$d missing; install linux-libc-dev ('make deps')"
done
cp -R /usr/include/linux /usr/include/asm-generic "$DIR/include/"
cp -R "/usr/include/$multiarch/asm" "$DIR/include/asm"
[ -d /usr/include/mtd ] && cp -R /usr/include/mtd "$DIR/include/"

# Both configure scripts run test programs: the host triplet is the same, so
# musl-gcc's output runs here and no --host is needed.
CC=musl-gcc
CFLAGS="-Os -g0 -isystem $DIR/include -ffunction-sections -fdata-sections"
export CC CFLAGS

# sha256_ok FILE SHA256:HEX -> true when FILE exists and has that digest.
sha256_ok() {
	[ -f "$1" ] || return 1
	case $2 in
	SHA256:*) ;;
	*) return 0 ;; # dpkg-source checks the .dsc's own sums later
	esac
	[ "$(sha256sum <"$1" | cut -d' ' -f1)" = "${2#SHA256:}" ]
}

# fetch PKG: put PKG's .dsc and tarballs in $WORK/dl/PKG, from the cache
# when it has the exact files, else with apt-get.  Prints the .dsc path.
fetch() {
	pkg=$1
	dl=$WORK/dl/$pkg
	mkdir -p "$dl"
	uris=$(cd "$dl" && apt-get source --print-uris -qq "$pkg" 2>>"$LOG") ||
		uris=
	[ -n "$uris" ] ||
		die "no source package for $pkg; is deb-src enabled and 'apt-get update' run? ('make deps' does both)"
	echo "$uris" >>"$LOG"

	missing=0
	echo "$uris" | while read -r _ file _ sum; do
		if [ -n "$CACHE" ] && sha256_ok "$CACHE/$file" "$sum"; then
			cp "$CACHE/$file" "$dl/$file"
		fi
	done
	echo "$uris" | while read -r _ file _ sum; do
		sha256_ok "$dl/$file" "$sum" || exit 1
	done || missing=1

	if [ "$missing" = 1 ]; then
		echo "+ apt-get source --download-only $pkg" >>"$LOG"
		(cd "$dl" && apt-get source --download-only -qq "$pkg") \
			>>"$LOG" 2>&1 || return 1
		echo "$uris" | while read -r _ file _ sum; do
			sha256_ok "$dl/$file" "$sum" ||
				die "$pkg: $file does not match the archive's checksum"
		done
		if [ -n "$CACHE" ] && mkdir -p "$CACHE" 2>/dev/null; then
			echo "$uris" | while read -r _ file _ _; do
				if cp "$dl/$file" "$CACHE/$file.tmp" 2>/dev/null; then
					mv "$CACHE/$file.tmp" "$CACHE/$file"
				fi
			done
		fi
	fi
	echo "$uris" | while read -r _ file _ _; do
		case $file in
		*.dsc) echo "$dl/$file" ;;
		esac
	done
}

# unpack PKG DSC: extract with dpkg-source (applies debian/patches) into
# $WORK/PKG and print that directory.
unpack() {
	run "$1: dpkg-source -x" dpkg-source -x "$2" "$WORK/$1"
	echo "$WORK/$1"
}

# configure PKG ARGS...: configure for a static-only install into DIR.
configure() {
	name=$1
	shift
	run "$name: configure" ./configure --prefix="$DIR" --enable-static \
		--disable-shared "$@"
}

build_protobuf_c() {
	cd "$1"
	# Only the C runtime: protoc-c would need libprotoc and a C++ build.
	configure protobuf-c --disable-protoc
	run "protobuf-c: make" make -j"$JOBS"
	run "protobuf-c: make install" make install
}

build_libseccomp() {
	cd "$1"
	configure libseccomp --disable-python
	# src/ and include/ only: the tools and tests are not wanted.  The
	# syscall table is regenerated with gperf from the patched csv.
	run "libseccomp: make" make -j"$JOBS" -C src
	run "libseccomp: make install" make -C src install
	run "libseccomp: install headers" make -C include install
}

for pkg in $PKGS; do
	if ! dsc=$(fetch "$pkg"); then
		[ "$(id -u)" = 0 ] ||
			fail "$pkg: apt-get source (as root, 'apt-get update' may help)"
		# Stale package lists can name a version the mirror has dropped.
		run "apt-get update" apt-get update -qq
		dsc=$(fetch "$pkg") || fail "$pkg: apt-get source"
	fi
	[ -n "$dsc" ] || die "$pkg: no .dsc among the source files"
	src=$(unpack "$pkg" "$dsc")
	echo "musl-sysroot: building $(basename "$dsc" .dsc)"
	case $pkg in
	protobuf-c) build_protobuf_c "$src" ;;
	libseccomp) build_libseccomp "$src" ;;
	esac
	cd "$TOP"
done

# Nothing links through libtool, and the .la files name the scratch tree.
rm -f "$DIR"/lib/*.la
rm -rf "$WORK"
touch "$DIR/.complete"
