#!/bin/bash
# ctr run with the husk runtime: output, exit codes, stdin, a terminal and
# a megabyte of output byte for byte, what a container wrote to a volume
# just before its exit, each container in its own VM, and nothing left
# behind after each.
. "$(dirname "$0")/lib.sh"

setup

note_ids t-echo t-exit t-stdin t-big t-tty t-last
FSOPS=${FSOPS:-$TOP/$BUILD/tests/boot/fsops}

out=$(husk_run t-echo echo hello 2>"$T/err")
rc=$?
expect "echo hello prints hello" "hello" "$out"
expect "echo hello exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag <"$T/err"
assert_clean "echo hello" t-echo

# The same guest: PID 1 made free page reporting (the balloon the host
# adds by default) report blocks from 32 KiB up, not the kernel's 2 MiB.
# The host gave it percpu_alloc=page: the second percpu chunk (made for
# the container's cgroups) vmallocs its memcg array, the guest's largest
# vmalloc'ed area, 74 pages with page units and 512 with embedded ones.
# Under TCG it gave the APIC timer's rate (kernel/patches/), which the
# kernel took instead of calibrating; a wrong rate would make timers fire
# early or late: sleep 2 by the guest's clock (the TSC). It also told the
# kernel to keep its LOCK prefixes (noreplace-smp, no UP patching at boot).
out=$(husk_run t-exit sh -c \
	'cat /sys/module/page_reporting/parameters/page_reporting_order
	grep -ow percpu_alloc=page /proc/cmdline
	sed -n "s/.* pages=\([0-9]*\) vmalloc.*/\1/p" /proc/vmallocinfo |
		sort -n | tail -n 1
	grep -ow "lapic_timer_khz=[0-9]*" /proc/cmdline || echo none
	dmesg | grep -c "APIC timer: 1000000 kHz from the command line"
	cut -d" " -f1 /proc/uptime; sleep 2; cut -d" " -f1 /proc/uptime
	grep -ow noreplace-smp /proc/cmdline || echo none
	exit 7' 2>"$T/err")
expect "sh -c 'exit 7' exits 7" 7 "$?"
expect "the guest's page_reporting_order is init's 3" 3 "$(sed -n 1p <<<"$out")"
expect "the guest's command line has percpu_alloc=page" percpu_alloc=page \
	"$(sed -n 2p <<<"$out")"
pages=$(sed -n 3p <<<"$out")
case $pages in
[0-9]*) check "the guest's largest vmalloc'ed area is under 1 MiB ($pages pages)" \
	[ "$pages" -lt 256 ] ;;
*) not_ok "the guest's largest vmalloc'ed area is under 1 MiB (got '$pages')" ;;
esac
if [ "${HUSK_E2E_ACCEL:-tcg}" = tcg ]; then
	expect "TCG: the guest's command line has lapic_timer_khz=1000000" \
		lapic_timer_khz=1000000 "$(sed -n 4p <<<"$out")"
	expect "TCG: the guest kernel took the APIC timer's rate from it" 1 \
		"$(sed -n 5p <<<"$out")"
	# centiseconds of guest uptime across the sleep
	cs=$(sed -n '6,7s/\.//p' <<<"$out" | sed 's/^0*//' | paste -sd' ')
	read -r cs0 cs1 <<<"$cs"
	if [ -n "${cs1:-}" ]; then
		check "TCG: sleep 2 in the guest takes 2-3.5 s by its clock ($((cs1 - cs0))0 ms)" \
			test $((cs1 - cs0)) -ge 200 -a $((cs1 - cs0)) -lt 350
	else
		not_ok "TCG: sleep 2 in the guest takes 2-3.5 s by its clock (got '$cs')"
	fi
	expect "TCG: the guest's command line has noreplace-smp" \
		noreplace-smp "$(sed -n 8p <<<"$out")"
fi

# ctr run always connects its stdin (a FIFO) to the task.
out=$(printf 'data\nmore data\n' | husk_run t-stdin cat 2>"$T/err")
expect "stdin round-trips through cat" "data
more data" "$out"

# 1 MiB of known bytes, compared with the same bytes made on the host.
want=$(yes 0123456789abcdef | head -c 1048576 | md5sum | cut -d' ' -f1)
husk_run t-big sh -c 'yes 0123456789abcdef | head -c 1048576' \
	>"$T/big" 2>"$T/err"
rc=$?
expect "1 MiB of output exits 0" 0 "$rc"
expect "1 MiB of output: size" 1048576 "$(stat -c %s "$T/big")"
expect "1 MiB of output: bytes" "$want" "$(md5sum <"$T/big" | cut -d' ' -f1)"

# What a container writes just before it exits is on the host once ctr
# run --rm returns: the shim kills the VM as soon as DestroySandbox is
# answered, and the agent syncs before it answers.  A shared mapping left
# dirty at exit, 4 MiB written without a sync, a last small write.
V=$T/vol
mkdir -p "$V"
if [ -x "$FSOPS" ]; then
	cp "$FSOPS" "$V/fsops"
	RUN_OPTS=(--mount "type=bind,src=$V,dst=/v,options=rbind:rw")
	sum=$(husk_run t-last sh -c '/v/fsops mmap-dirty /v/mapped by-a-mapping &&
		head -c 4194304 /dev/urandom >/v/random &&
		sha256sum /v/random | cut -d" " -f1 && echo last >/v/echoed' \
		2>"$T/err")
	expect "written just before exit: exits 0" 0 "$?"
	RUN_OPTS=()
	expect "written just before exit: a dirty shared mapping is on the host" \
		by-a-mapping "$(cat "$V/mapped" 2>&1)"
	expect "written just before exit: 4 MiB are on the host" "$sum" \
		"$(sha256sum <"$V/random" | cut -d' ' -f1)"
	expect "written just before exit: the last write is on the host" last \
		"$(cat "$V/echoed" 2>&1)"
else
	not_ok "$FSOPS is missing (make $FSOPS)"
fi

# A terminal: ctr -t needs one of its own, which script(1) provides.
out=$(script -qec "ctr -a $T/c.sock -n $NS run --fifo-dir $T/fifo -t --rm --runtime $RUNTIME $IMG t-tty sh -c 'tty; echo tty-ok'" /dev/null 2>&1 | tr -d '\r')
case $out in
*/dev/pts/*tty-ok*) ok "ctr run -t gets a terminal" ;;
*) not_ok "ctr run -t gets a terminal (got '$out')" ;;
esac

assert_clean "after all runs" t-echo t-exit t-stdin t-big t-tty t-last
finish
