#!/bin/bash
# TAP: a guest with 2 vCPUs from boot (microvm, initrd) under many short
# agent round trips, each from a new husk ctl client: exec, read-stdout
# until EOF, wait; every reply must arrive.  Before the agent channel's
# relay owned the port alone (init/channel.c), a request now and then sat
# unread in the guest until the host gave up: 3 runs in 5 of 100 rounds
# failed here under TCG; with 1 vCPU it was never seen.
# SMP_ROUNDS, SMP_VCPUS, SMP_AGENT_LOG (debug: the relay's log on the
# console) and SMP_KEEP (copy the console there) are for investigating.
. tests/boot/lib.sh
setup smp "$VMLINUX" "$INITRD"
ROUNDS=${SMP_ROUNDS:-150}
# shellcheck disable=SC2054 # the commas belong to -M's value
machine=(-M microvm,x-option-roms=off -m 256M -smp "${SMP_VCPUS:-2}"
	-kernel "$VMLINUX" -initrd "$INITRD")
vm_start smp mmio "$TSC agent.log=${SMP_AGENT_LOG:-info}" "${machine[@]}"
if ! vm_wait_ready; then
	not_ok "smp: agent ready: $VM_ERROR"
	console_tail 15 | diag
	finish
fi
ok "smp: Check answers SERVING ${READY_S}s after QEMU started ($ACCEL, ${SMP_VCPUS:-2} vCPUs)"
make_rootfs "$VM_DIR/share/c1/rootfs"
out=$(ctl create-sandbox --storage "$STORAGE" 2>&1 &&
	ctl create --id c1 --rootfs "$SHARED/c1/rootfs" -- /bin/sleep 1000 2>&1 &&
	ctl start --id c1 2>&1)
expect "smp: sandbox and container c1 up" "" "$out"

# t CTL-ARGS...: one call, bounded (a lost reply is a timeout).
t() { timeout -k 2 20 "$HUSK" ctl --addr "unix:$SOCK" "$@" 2>&1; }
fail=''
start=$(now)
for i in $(seq "$ROUNDS"); do
	step='exec'
	out=$(t exec --id c1 --exec-id "e$i" -- /bin/echo "hi $i") &&
		step='read-stdout' && out=$(t read-stdout --id c1 --exec-id "e$i") &&
		[ "$out" = "hi $i" ] &&
		step='wait' && out=$(t wait --id c1 --exec-id "e$i") &&
		[ "$out" = 0 ] && continue
	# A lost request also garbles the next client's calls: stop here.
	fail="round $i: $step: status $? '$(echo "$out" | tr '\n' ' ')'"
	break
done
if [ -z "$fail" ]; then
	ok "smp: $ROUNDS exec/read-stdout/wait rounds, every reply arrived ($(since "$start")s)"
else
	not_ok "smp: $ROUNDS exec/read-stdout/wait rounds: no reply in $fail"
	console_tail 20 | diag
fi
[ -n "${SMP_KEEP:-}" ] && cp "$VM_DIR/console.log" "$SMP_KEEP"
out=$(t destroy-sandbox)
expect "smp: DestroySandbox answers" "" "$out"
vm_wait_exit
rc=$?
expect "smp: the guest powers off, QEMU exits 0 (${EXIT_S}s)" 0 "$rc"
finish
