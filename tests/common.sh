# Shared by the test libraries (tests/agent/lib.sh, tests/boot/lib.sh,
# tests/e2e/lib.sh; sourced, bash): TAP output and the busybox rootfs the
# containers run from.  tests/run.sh counts the "ok"/"not ok" lines.

tap_n=0
tap_failed=0

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}
# check DESCRIPTION COMMAND...: ok if the command succeeds
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# expect DESCRIPTION WANT GOT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (want '$2', got '$3')"; fi
}
diag() { sed 's/^/# /'; }
# The whole test cannot run here: one skipped line, which the runner
# counts as skipped (a bare "1..0" would count as a test reporting nothing).
skip_all() {
	echo "ok 1 # SKIP $*"
	exit 0
}

# make_rootfs DIR: a busybox-static tree with an applet link for every
# command, root in passwd and group, and a sticky /tmp.
make_rootfs() {
	local d=$1 a
	mkdir -p "$d"/{bin,proc,sys,dev,tmp,etc,root,run}
	cp /bin/busybox "$d/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$d/etc/passwd"
	echo "root:x:0:" >"$d/etc/group"
	chmod 1777 "$d/tmp"
}
