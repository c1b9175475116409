#!/bin/bash
# TAP: the Debian packages (debian/, "make deb").
#
#  - Two package builds of the same tree are byte-identical.  Each runs the
#    whole "make deb" from its own fresh copy of the tree (so every object,
#    generated file, initrd and image is made anew), at build paths of
#    different lengths, with different umask, TZ, locale and HOME.  Shared
#    by both, as by any two builds on one machine: the Build-Depends, the
#    musl sysroot "make deps" built, and the guest kernel from the cache
#    (kernel/build.sh keys it by its inputs and fixes KBUILD_BUILD_*; a
#    second 6-minute kernel build is beyond this test's budget).
#  - lintian: no error and no warning that debian/*.lintian-overrides does
#    not explain.
#  - The files, dependencies and version the packages declare.
#  - Installed with dpkg -i (as root, only when no husk package or file is
#    there already): husk check and husk env from the installed paths, and
#    ctr run through a private containerd with nothing but the installed
#    shim, configuration and guest assets; dpkg --purge then leaves none
#    of the package's files behind.
#
# Run from the repository root.  Takes about two package builds (a few
# minutes) plus one VM boot under TCG.
set -u
BUILD=${BUILD:-build}
TOP=$(pwd)
W=$TOP/$BUILD/tests/deb
PKGS="husk husk-guest"
INSTALLED=
CACHE=${HUSK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/husk}

# The containerd launcher, image builder and TAP helpers of the e2e tests,
# pointed at the installed files.
export HUSK_E2E_SHIM=/usr/bin/containerd-shim-husk-v2
export HUSK_KERNEL=/usr/share/husk/vmlinux-husk
export HUSK_INITRD=/usr/share/husk/husk-initrd.img
. "$TOP/tests/e2e/lib.sh"

purge() {
	[ -n "$INSTALLED" ] || return 0
	dpkg --purge $PKGS >"$W/purge.log" 2>&1
	INSTALLED=
}
# lib.sh's cleanup stops containerd and what it started; then the
# packages go, even after a failure.
trap 'cleanup; purge' EXIT
trap 'exit 1' INT TERM HUP

rm -rf "$W"
mkdir -p "$W"

# --- build twice ----------------------------------------------------------

# build NAME WORKDIR UMASK TZ LOCALE: make deb into $W/NAME.
build() {
	local name=$1 work=$2 mask=$3 tz=$4 loc=$5 start=$SECONDS
	mkdir -p "$W/$name/home"
	if (umask "$mask" && env -u MAKEFLAGS -u MAKELEVEL TZ="$tz" LC_ALL="$loc" \
		HOME="$W/$name/home" HUSK_CACHE_DIR="$CACHE" \
		make --no-print-directory deb BUILD="$BUILD" \
		DEB_OUT="$W/$name" DEB_WORK="$work") >"$W/$name.log" 2>&1; then
		ok "make deb ($name: umask $mask, TZ $tz, $loc) in $((SECONDS - start)) s"
		return 0
	fi
	not_ok "make deb ($name) failed; last lines of $W/$name.log:"
	tail -n 30 "$W/$name.log" | diag
	return 1
}

built=0
build a "$W/a/w" 022 UTC C.UTF-8 &&
	build b "$W/b/a-much-longer-build-directory/w" 077 Asia/Kolkata C &&
	built=1

debs() { (cd "$W/$1" && ls -1 ./*.deb 2>/dev/null | sed 's|^\./||'); }
if [ "$built" = 1 ]; then
	expect "both builds made the same .deb files" "$(debs a)" "$(debs b)"
	differ=
	for d in $(debs a); do
		cmp -s "$W/a/$d" "$W/b/$d" || differ="$differ $d"
	done
	if [ -z "$differ" ] && [ -n "$(debs a)" ]; then
		ok "the two builds are byte-identical: $(debs a | tr '\n' ' ')"
	else
		not_ok "the two builds differ:$differ"
		for d in $differ; do
			mkdir -p "$W/x/a" "$W/x/b"
			dpkg-deb -R "$W/a/$d" "$W/x/a/$d" && dpkg-deb -R "$W/b/$d" "$W/x/b/$d"
			(cd "$W/x" && diff -r "a/$d" "b/$d" | head -n 10 | diag)
		done
	fi
else
	not_ok "both builds made the same .deb files (no build)"
	not_ok "the two builds are byte-identical (no build)"
fi

version=$(dpkg-parsechangelog -SVersion)
deb() { echo "$W/a/${1}_${version}_amd64.deb"; }
expect "debian/changelog's version is lib/version.h's HUSK_VERSION" \
	"$(sed -n 's/^#define HUSK_VERSION "\(.*\)"$/\1/p' lib/version.h)" "$version"

# --- lintian --------------------------------------------------------------

changes=$W/a/husk_${version}_amd64.changes
if [ -f "$changes" ]; then
	lintian -I --pedantic "$changes" >"$W/lintian.log" 2>&1
	bad=$(grep -E '^[EW]: |unused-override|mismatched-override' "$W/lintian.log")
	if [ -z "$bad" ] && ! grep -q '^[EWIPX]: ' "$W/lintian.log"; then
		ok "lintian: nothing reported (all left is overridden with a reason)"
	elif [ -z "$bad" ]; then
		ok "lintian: no errors or warnings"
		grep -E '^[IPX]: ' "$W/lintian.log" | diag
	else
		not_ok "lintian reports errors or warnings"
		diag <"$W/lintian.log"
	fi
else
	not_ok "lintian (no .changes)"
fi

# --- what the packages declare ---------------------------------------------

# has_files PKG PATH...: the package holds each PATH.
has_files() {
	local p=$1 f miss=
	shift
	dpkg-deb -c "$(deb "$p")" 2>/dev/null | awk '{print $6}' | sed 's|^\./|/|' >"$W/$p.list"
	for f in "$@"; do grep -qxF "$f" "$W/$p.list" || miss="$miss $f"; done
	if [ -z "$miss" ]; then ok "$p holds $*"; else not_ok "$p lacks$miss"; fi
}
has_files husk /usr/bin/containerd-shim-husk-v2 /usr/bin/husk /usr/bin/husk-runtime \
	/usr/share/defaults/husk/configuration.toml /etc/husk/ \
	/usr/share/man/man1/husk.1.gz /usr/share/man/man8/containerd-shim-husk-v2.8.gz \
	/usr/share/man/man8/husk-runtime.8.gz \
	/usr/share/doc/husk/copyright \
	/usr/share/doc/husk/examples/containerd-config.toml \
	/usr/share/doc/husk/examples/runtimeclass.yaml \
	/usr/share/doc/husk/examples/docker-daemon.json \
	/usr/share/doc/husk/examples/podman-containers.conf
has_files husk-guest /usr/libexec/husk/husk-agent /usr/share/husk/vmlinux-husk \
	/usr/share/husk/vmlinuz-husk /usr/share/husk/husk-initrd.img \
	/usr/share/husk/husk-rootfs.img
# Host tools in one package, guest files in the other, nothing else.
check "husk holds no guest file, husk-guest no host tool" sh -c "
	! grep -Eq '^/usr/(share/husk|libexec)/.' '$W/husk.list' &&
	! grep -Eq '^/usr/bin/.|^/etc/.|/defaults/.' '$W/husk-guest.list'"
check "/etc/husk/ is an empty directory, no conffile" sh -c "
	! grep -q '^/etc/husk/.' '$W/husk.list' &&
	! dpkg-deb -I '$(deb husk)' conffiles >/dev/null 2>&1"
field() { dpkg-deb -f "$(deb "$1")" "$2" 2>/dev/null; }
dep=$(field husk Depends)
check "husk depends on qemu-system-x86, husk-guest (= $version) and its libraries" \
	sh -c "echo '$dep' | grep -q 'qemu-system-x86' &&
		echo '$dep' | grep -q 'husk-guest (= $version)' &&
		echo '$dep' | grep -q 'libjson-c'"
expect "husk recommends containerd" containerd "$(field husk Recommends)"
check "husk-guest is Built-Using linux, musl, protobuf-c and libseccomp" sh -c "
	f='$(field husk-guest Built-Using)'
	for s in linux musl protobuf-c libseccomp; do
		echo \"\$f\" | grep -Eq \"(^|, )\$s \\(= \" || exit 1
	done"
check "husk-guest carries the agent's debug symbols in husk-guest-dbgsym" \
	test -f "$W/a/husk-guest-dbgsym_${version}_amd64.deb"

# --- install, use, purge ---------------------------------------------------

skip_install() {
	local d
	for d in "dpkg -i" "husk check" "husk env" "man pages" "ctr run" \
		"qemu from the installed config" "nothing left" "dpkg --purge"; do
		ok "$d # SKIP $1"
	done
	echo "1..$tap_n"
	[ "$tap_failed" = 0 ]
	exit
}
[ "$(id -u)" = 0 ] || skip_install "dpkg -i needs root"
[ -f "$(deb husk)" ] && [ -f "$(deb husk-guest)" ] || skip_install "no packages built"
for p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv '^unknown\|not-installed'; then
		skip_install "package $p is already on this machine: not touching it"
	fi
done
# dpkg would silently take over (and purge) files of a "make install".
for f in $(cat "$W/husk.list" "$W/husk-guest.list" | grep -v '/$'); do
	[ -e "$f" ] && skip_install "$f exists outside any package: not touching it"
done
for f in /usr/share/husk /usr/libexec/husk /usr/share/defaults/husk /etc/husk; do
	[ -e "$f" ] && skip_install "$f exists already: not touching it"
done

INSTALLED=1
if dpkg -i "$(deb husk)" "$(deb husk-guest)" >"$W/install.log" 2>&1; then
	ok "dpkg -i husk husk-guest"
else
	not_ok "dpkg -i husk husk-guest"
	diag <"$W/install.log"
fi
dpkg -L $PKGS 2>/dev/null | sort -u >"$W/owned"

unset HUSK_CONF_FILE
if /usr/bin/husk check >"$W/check.out" 2>&1; then
	ok "husk check: this host can run husk from the installed files"
else
	not_ok "husk check"
	diag <"$W/check.out"
fi
/usr/bin/husk env >"$W/env.out" 2>&1
if grep -q '^#  */usr/share/defaults/husk/configuration.toml' "$W/env.out" &&
	grep -qx 'kernel = "/usr/share/husk/vmlinux-husk"' "$W/env.out" &&
	grep -qx 'initrd = "/usr/share/husk/husk-initrd.img"' "$W/env.out"; then
	ok "husk env reads /usr/share/defaults/husk/configuration.toml, kernel and initrd in /usr/share/husk"
else
	not_ok "husk env: not the installed configuration and assets"
	diag <"$W/env.out"
fi
check "man husk and man containerd-shim-husk-v2 find the installed pages" sh -c "
	man -w husk | grep -q '^/usr/share/man/man1/husk.1' &&
	man -w containerd-shim-husk-v2 | grep -q '^/usr/share/man/man8/'"

# containerd with the shim from /usr/bin and no HUSK_CONF_FILE: the shim
# must find its configuration and the guest assets where the package put
# them.  Replaces lib.sh's launcher, which points the shim at a test file.
start_containerd() {
	mkdir -p "$T/root" "$T/state" "$T/run"
	containerd_config info >"$T/config.toml"
	PATH=/usr/sbin:/usr/bin:/sbin:/bin HUSK_RUN_ROOT="$T/run" \
		HUSK_PROBE_CACHE="$T/probe" \
		containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
	CTD_PID=$!
	for _ in $(seq 100); do
		ctr version >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "# containerd did not start:"
	diag <"$T/containerd.log"
	return 1
}
setup
trap 'cleanup; purge' EXIT	# setup set its own
rm -f "$T/husk.toml"	# written by setup for lib.sh's launcher; unused here
note_ids t-deb t-deb-d

out=$(husk_run t-deb echo hello from the package 2>"$T/err")
rc=$?
expect "ctr run --runtime $RUNTIME with the installed files prints its output" \
	"hello from the package" "$out"
[ "$rc" = 0 ] || diag <"$T/err"

# The VM of a running task boots what the installed configuration names.
ctr run -d --runtime "$RUNTIME" "$IMG" t-deb-d sleep 60 >/dev/null 2>"$T/err"
qemu_cmd=
for _ in $(seq 50); do
	for p in $(pgrep -f "qemu-system-x86_64.*$T/" || true); do
		qemu_cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
	done
	[ -n "$qemu_cmd" ] && break
	sleep 0.2
done
case $qemu_cmd in
*" -kernel /usr/share/husk/vmlinux-husk "*"-initrd /usr/share/husk/husk-initrd.img "*)
	ok "the VM boots /usr/share/husk/vmlinux-husk and husk-initrd.img" ;;
*)
	not_ok "the VM boots /usr/share/husk/vmlinux-husk and husk-initrd.img"
	echo "qemu: ${qemu_cmd:-none found}" | diag ;;
esac
ctr task kill -s SIGKILL t-deb-d >/dev/null 2>&1
for _ in $(seq 50); do
	ctr task ls -q 2>/dev/null | grep -qx t-deb-d || break
	ctr task delete t-deb-d >/dev/null 2>&1 && break
	sleep 0.2
done
ctr containers delete t-deb-d >/dev/null 2>&1
assert_clean "ctr run with the installed files" t-deb t-deb-d

cleanup
if dpkg --purge $PKGS >"$W/purge.log" 2>&1; then
	INSTALLED=
	ok "dpkg --purge husk husk-guest"
else
	not_ok "dpkg --purge husk husk-guest"
	diag <"$W/purge.log"
fi
# Every path dpkg listed is gone, but for directories other packages own.
left=
while read -r f; do
	[ "$f" = /. ] && continue
	[ -e "$f" ] || [ -L "$f" ] || continue
	[ -d "$f" ] && dpkg -S "$f" >/dev/null 2>&1 && continue
	left="$left $f"
done <"$W/owned"
if [ -z "$left" ] && [ -s "$W/owned" ]; then
	ok "after the purge nothing of the packages is left ($(wc -l <"$W/owned") paths checked)"
else
	not_ok "left after the purge:$left"
fi

echo "1..$tap_n"
if [ "$tap_failed" = 0 ]; then
	rm -rf "$W"
	exit 0
fi
echo "# kept for inspection: $W"
exit 1
