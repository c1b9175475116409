#!/bin/bash
# ctr run with the husk runtime: output, exit codes, stdin, a terminal and
# a megabyte of output byte for byte, each container in its own VM, and
# nothing left behind after each.
. "$(dirname "$0")/lib.sh"

setup

note_ids t-echo t-exit t-stdin t-big t-tty

out=$(husk_run t-echo echo hello 2>"$T/err")
rc=$?
expect "echo hello prints hello" "hello" "$out"
expect "echo hello exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag <"$T/err"
assert_clean "echo hello" t-echo

# The same guest: PID 1 made free page reporting (the balloon the host
# adds by default) report blocks from 32 KiB up, not the kernel's 2 MiB.
out=$(husk_run t-exit sh -c \
	'cat /sys/module/page_reporting/parameters/page_reporting_order; exit 7' \
	2>"$T/err")
expect "sh -c 'exit 7' exits 7" 7 "$?"
expect "the guest's page_reporting_order is init's 3" 3 "$out"

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

# A terminal: ctr -t needs one of its own, which script(1) provides.
out=$(script -qec "ctr -a $T/c.sock -n $NS run --fifo-dir $T/fifo -t --rm --runtime $RUNTIME $IMG t-tty sh -c 'tty; echo tty-ok'" /dev/null 2>&1 | tr -d '\r')
case $out in
*/dev/pts/*tty-ok*) ok "ctr run -t gets a terminal" ;;
*) not_ok "ctr run -t gets a terminal (got '$out')" ;;
esac

assert_clean "after all runs" t-echo t-exit t-stdin t-big t-tty
finish
