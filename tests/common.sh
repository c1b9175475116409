# Shared by the test libraries (tests/agent/lib.sh, tests/boot/lib.sh,
# tests/e2e/lib.sh) and tests/bench/boot.sh (sourced, bash): TAP output,
# the busybox rootfs the containers run from, and stopping a process this
# test started.  tests/run.sh counts the "ok"/"not ok" lines.

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

# pid_gone PID [TENTHS]: wait up to TENTHS tenths of a second (50) for
# PID to exit; true if it did.
pid_gone() {
	local pid=$1
	for _ in $(seq "${2:-50}"); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null
}

# reap_pid PID [TENTHS]: give PID (a child of this shell) up to TENTHS
# tenths of a second to exit by itself, then KILL it; reap it either way.
reap_pid() {
	pid_gone "$1" "${2:-50}" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# stop_pid PID [TENTHS]: TERM, a bounded wait, KILL (reap_pid).
stop_pid() {
	if ! kill -TERM "$1" 2>/dev/null; then
		wait "$1" 2>/dev/null
		return 0
	fi
	reap_pid "$1" "${2:-50}"
}

# husk_env_vm HUSK CONFIG KEY: KEY's value in the [vm] section of
# "husk env" for CONFIG (what a VM of that configuration gets).
husk_env_vm() {
	"$1" env --config "$2" 2>/dev/null |
		sed -n "/^\[vm\]\$/,\$ s/^$3 = \"\(.*\)\"\$/\1/p"
}
# husk_firmware HUSK CONFIG: the firmware (-bios) husk boots CONFIG's VMs
# with (the configuration's own key comes first): a path, or nothing for
# QEMU's own.  The benchmarks' floors boot the same, so that they compare
# like with like.
husk_firmware() { husk_env_vm "$1" "$2" firmware; }
# husk_kernel_cmdline HUSK CONFIG: the kernel command line husk gives
# CONFIG's VMs.  The benchmarks' floors and boots use it too, so that what
# a parameter saves or costs (the TSC's rate, the timer checks it skips)
# counts on both sides of a comparison.
husk_kernel_cmdline() { husk_env_vm "$1" "$2" kernel_cmdline; }
# firmware_name FIRMWARE: how the benchmarks' titles name husk_firmware's
# answer.
firmware_name() {
	if [ -n "$1" ]; then basename "$1"; else echo "QEMU's default (SeaBIOS)"; fi
}
