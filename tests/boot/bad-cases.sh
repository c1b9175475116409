#!/bin/bash
# TAP: boots that cannot work fail fast, say why, and leave no QEMU:
#   a missing initrd (QEMU refuses to start), a corrupt or truncated
#   initrd (the kernel panics; panic=-1 and -no-reboot end QEMU), and an
#   agent channel that never appears (the agent gives up after
#   husk.channel_timeout, says so on the console and powers off); and a
#   guest that hangs (panic=0 after the corrupt initrd): the host gives up
#   after its own timeout and kills QEMU.
. tests/boot/lib.sh
setup bad "$VMLINUX" "$INITRD"

# bad_boot NAME MAX-SECONDS ERROR-REGEX CONSOLE-REGEX INITRD [APPEND]
bad_boot() {
	local name=$1 max=$2 err_re=$3 con_re=$4 initrd=$5 append=${6:-} start el
	start=$(now)
	vm_start "$name" mmio "$TSC $append" -M microvm,x-option-roms=off -m 256M \
		-kernel "$VMLINUX" -initrd "$initrd"
	if vm_wait_ready; then
		not_ok "$name: the agent answered Check"
		vm_kill
		return
	fi
	el=$(since "$start")
	if echo "$VM_ERROR" | grep -Eq "$err_re" &&
		awk -v e="$el" -v m="$max" 'BEGIN { exit !(e < m) }'; then
		ok "$name: fails in ${el}s: $VM_ERROR"
	else
		not_ok "$name: want /$err_re/ within ${max}s, got '$VM_ERROR' after ${el}s"
	fi
	if console_tail 40 | grep -Eq "$con_re"; then
		ok "$name: says why: $(console_tail 40 | grep -Eo "$con_re.*" | head -n 1)"
	else
		not_ok "$name: no /$con_re/ on the console or from QEMU"
		console_tail 10 | diag
	fi
	if [ -z "$QEMU_PID" ] && ! pgrep -f "$VM_DIR" >/dev/null; then
		ok "$name: no QEMU left behind"
	else
		not_ok "$name: QEMU still running"
	fi
}

bad_boot missing-initrd 10 'QEMU exited with status 1' \
	'(error reading|could not load) initrd' "$T/no-such-initrd.img"

head -c 200000 /dev/urandom >"$T/junk.img"
bad_boot corrupt-initrd 30 'QEMU exited with status 0 .*before the agent answered Check' \
	'Kernel panic' "$T/junk.img"

head -c $(($(stat -c %s "$INITRD") / 2)) "$INITRD" >"$T/truncated.img"
bad_boot truncated-initrd 30 'QEMU exited with status 0 .*before the agent answered Check' \
	'Kernel panic|Initramfs unpacking failed' "$T/truncated.img"

VM_CHANNEL=not.the.agent.channel \
	bad_boot no-channel 20 'QEMU exited with status 0 .*before the agent answered Check' \
	'husk-agent: powering off at uptime [0-9.]+s: fatal: no agent channel after 3s' \
	"$INITRD" husk.channel_timeout=3
# The host's timeout must outlast the panic (about 3.6 s under TCG on a
# loaded machine), so the console shows why the guest hung.
READY_TIMEOUT=10 bad_boot hung-guest 20 'the agent did not answer Check within 10s' \
	'Kernel panic' "$T/junk.img" panic=0
finish
