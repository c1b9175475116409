#!/bin/bash
# smoke-boot.sh [IMAGES]
#
# Boot the guest kernel under QEMU (TCG) with a throwaway static /init that
# prints a marker and powers off, on each machine type husk uses:
#   1. microvm (ACPI) with the uncompressed vmlinux through PVH
#   2. q35 with the bzImage
#   3. microvm with acpi=off (no poweroff there: triple-fault reboot)
# Each case must print the marker and make QEMU exit 0 on its own. Prints
# TAP with the median host wall time of SMOKE_RUNS boots (default 1).
#
# Environment: SMOKE_RUNS, SMOKE_TIMEOUT (seconds per boot, default 60),
# QEMU (default qemu-system-x86_64).
set -eu

images=${1:-images}
runs=${SMOKE_RUNS:-1}
limit=${SMOKE_TIMEOUT:-60}
qemu=${QEMU:-qemu-system-x86_64}
vmlinux=$images/vmlinux-husk
bzimage=$images/vmlinuz-husk

echo "1..3"
for f in "$vmlinux" "$bzimage"; do
	if [ ! -r "$f" ]; then
		for i in 1 2 3; do echo "ok $i - # SKIP $f missing (make kernel)"; done
		exit 0
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# /init: say we got here, then leave the way the cmdline asks. Unknown
# key=value kernel parameters reach init as environment variables.
cat > "$tmp/init.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	static const char msg[] = "HUSK-SMOKE-INIT reached\n";
	const char *how = getenv("husk_smoke");

	if (write(1, msg, sizeof(msg) - 1) < 0)
		return 1;
	reboot(how && !strcmp(how, "reboot") ? RB_AUTOBOOT : RB_POWER_OFF);
	for (;;)
		pause();	/* PID 1 must not exit */
}
EOF
cc=musl-gcc
command -v "$cc" >/dev/null || cc=gcc
"$cc" -static -Os -o "$tmp/init" "$tmp/init.c"

# newc archive made as root from a staging tree: the kernel opens
# /dev/console for init's stdio, so the node has to be in the archive.
mkdir -p "$tmp/root/dev"
install -m 0755 "$tmp/init" "$tmp/root/init"
mknod -m 0600 "$tmp/root/dev/console" c 5 1
(cd "$tmp/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$tmp/initrd.cpio"
# One decompressor per case, so all three built-in ones get exercised.
gzip -n -9 -c "$tmp/initrd.cpio" > "$tmp/initrd.gz"
lz4 -l -q -c "$tmp/initrd.cpio" > "$tmp/initrd.lz4"	# -l: the legacy frame the kernel reads
zstd -q -c "$tmp/initrd.cpio" > "$tmp/initrd.zst"

# Under TCG the guest TSC runs at the host's rate. microvm has neither HPET
# nor PM timer to calibrate against, and without this hint 5-20 % of boots
# hang after "Unable to calibrate against PIT".
tsc_khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
base=(-accel tcg -m 256M -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot)
# panic=-1 + -no-reboot turns a panic into a quick exit; the console check
# below tells it apart from a clean shutdown.
cmdline="console=ttyS0 quiet panic=-1"

# boot NAME EXPECT QEMU-ARGS...: run the boot SMOKE_RUNS times; sets
# "result" to the median wall time, or returns 1 with the log in $tmp/NAME.log.
boot() {
	local name=$1 expect=$2 i t0 t1 rc times=()
	shift 2
	for ((i = 0; i < runs; i++)); do
		t0=$EPOCHREALTIME
		rc=0
		timeout -k 5 "$limit" "$qemu" "${base[@]}" "$@" \
			< /dev/null > "$tmp/$name.log" 2>&1 || rc=$?
		t1=$EPOCHREALTIME
		if [ $rc -ne 0 ]; then
			why="qemu exit status $rc$([ $rc -eq 124 ] && echo " (timeout ${limit}s)")"
			return 1
		fi
		if ! grep -q 'HUSK-SMOKE-INIT reached' "$tmp/$name.log"; then
			why="init marker not printed"
			return 1
		fi
		if ! grep -q "$expect" "$tmp/$name.log" || grep -q 'Kernel panic' "$tmp/$name.log"; then
			why="no clean shutdown (\"$expect\" expected)"
			return 1
		fi
		times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
	done
	result=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
}

n=0 failed=0
check() {
	local desc=$1
	shift
	n=$((n + 1))
	if boot "$@"; then
		echo "ok $n - $desc: ${result}s (median of $runs)"
	else
		echo "not ok $n - $desc: $why"
		failed=$((failed + 1))
		tail -n 25 "$tmp/$1.log" | sed 's/^/# /'
	fi
}

check "microvm boot (PVH vmlinux, ACPI poweroff)" microvm "reboot: Power down" \
	-M microvm,x-option-roms=off -kernel "$vmlinux" -initrd "$tmp/initrd.gz" \
	-append "$cmdline tsc_early_khz=$tsc_khz"
check "q35 boot (bzImage, ACPI poweroff)" q35 "reboot: Power down" \
	-M q35 -kernel "$bzimage" -initrd "$tmp/initrd.lz4" -append "$cmdline"
# No ACPI means no poweroff: reboot by triple fault, which -no-reboot turns
# into an exit (the BIOS reboot path would just boot the kernel again).
check "microvm acpi=off boot (PVH vmlinux, triple-fault reboot)" microvm-noacpi "reboot: Restarting system" \
	-M microvm,x-option-roms=off,acpi=off -kernel "$vmlinux" -initrd "$tmp/initrd.zst" \
	-append "$cmdline reboot=t tsc_early_khz=$tsc_khz husk_smoke=reboot"
[ "$failed" -eq 0 ]
