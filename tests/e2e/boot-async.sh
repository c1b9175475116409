#!/bin/bash
# The shim never blocks on a boot: while a pod's VM boots (containerd's
# Create waiting), the shim answers State, Wait and Shutdown at once, and
# a Kill or Delete stops the boot at once with Create answered by a clear
# error; an agent that never answers and QEMU exiting during the boot end
# the Create within the dial timeout.  Nothing is left behind after each.
# Then the start timeline: `ctr run --rm` logs one "start timeline" line
# with its phases in order.
#
# containerd lists a task only once Create returned, so the calls during
# the boot go straight to the shim's socket (shim_call).  The long boot is
# a guest whose init never starts the agent (mk_initrd).
. "$(dirname "$0")/lib.sh"

SHIM_CALL=${SHIM_CALL:-$TOP/$BUILD/host/tests/shim_call}

setup

if [ ! -x "$SHIM_CALL" ]; then
	not_ok "$SHIM_CALL is missing (make check builds it)"
	finish
fi

note_ids b-kill b-delete b-noagent b-qemu b-time

# Generous bounds: TCG on 2 shared cores.  A blocked shim would answer
# only after the boot, i.e. after DIAL (60 s) or never.
ANSWER_MS=3000
STOP_MS=15000
DIAL=60

mk_initrd "$T/hang.img" 'mount -t devtmpfs dev /dev; sleep 1000'
DIAL_TIMEOUT=$DIAL write_husk_config "$T/hang.toml"
sed -i "s|^initrd = .*|initrd = \"$T/hang.img\"|" "$T/hang.toml"

RUN_PID=
RUN_RC=
RUN_MS=
SOCK=

# boot_start ID CONF: ctr run in the background, its Create waiting for
# the boot; returns once the shim answers State for ID (output of ctr in
# $T/ID.out, its pid in RUN_PID, the shim socket in SOCK).
boot_start() {
	local id=$1 conf=$2
	ctr run --rm --runtime "$RUNTIME" --runtime-config-path "$conf" \
		"$IMG" "$id" echo never >"$T/$id.out" 2>&1 &
	RUN_PID=$!
	SOCK=$(shim_socket "$id")
	for _ in $(seq 300); do
		"$SHIM_CALL" "$SOCK" state "$id" >/dev/null 2>&1 && return 0
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# booting ID: the VM runs and ctr's Create still waits.
booting() {
	local pid
	pid=$(cat "$T/run/$NS/$1/hypervisor.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -0 "$RUN_PID" 2>/dev/null
}

# state_during_boot ID: State answers quickly, says created, the boot
# goes on.
state_during_boot() {
	local id=$1 out ms
	out=$("$SHIM_CALL" "$SOCK" state "$id" 2>&1)
	ms=$(echo "$out" | sed -n 's/^ms=//p')
	if echo "$out" | grep -q '^status=created' && [ -n "$ms" ] &&
		[ "$ms" -lt "$ANSWER_MS" ] && booting "$id"; then
		ok "$id: State answers during the boot ($ms ms): created"
	else
		not_ok "$id: State during the boot: want created within $ANSWER_MS ms while booting, got '$(echo $out)'"
	fi
}

# wait_run ID: ctr run has returned within STOP_MS of now; its exit
# status in RUN_RC and the time it took in RUN_MS.
wait_run() {
	local t0 end rc timed_out=
	t0=$(now_ms)
	end=$((t0 + STOP_MS))
	while kill -0 "$RUN_PID" 2>/dev/null && [ "$(now_ms)" -lt "$end" ]; do
		sleep 0.05
	done
	RUN_MS=$(($(now_ms) - t0))
	if kill -0 "$RUN_PID" 2>/dev/null; then
		timed_out=1
		kill -KILL "$RUN_PID" 2>/dev/null
	fi
	wait "$RUN_PID" 2>/dev/null
	rc=$?
	RUN_RC=${timed_out:+timeout}
	RUN_RC=${RUN_RC:-$rc}
}

# expect_create_failed ID PATTERN: ctr run failed and said PATTERN.
expect_create_failed() {
	local id=$1 pat=$2
	if [ "$RUN_RC" != timeout ] && [ "$RUN_RC" -ne 0 ] &&
		grep -qE -- "$pat" "$T/$id.out"; then
		ok "$id: Create answered within $RUN_MS ms with a clear error"
		head -2 "$T/$id.out" | diag
	else
		not_ok "$id: Create: want a failure matching '$pat' within $STOP_MS ms (rc $RUN_RC after $RUN_MS ms: $(head -c 400 "$T/$id.out"))"
	fi
	ctr containers delete "$id" >/dev/null 2>&1
}

# ---- Kill during the boot (a Wait pending) -----------------------------
if boot_start b-kill "$T/hang.toml"; then
	state_during_boot b-kill
	"$SHIM_CALL" "$SOCK" wait b-kill >"$T/wait.out" 2>&1 &
	wait_pid=$!
	sleep 0.3
	kill -0 "$wait_pid" 2>/dev/null && ok "b-kill: Wait is pending during the boot" ||
		not_ok "b-kill: Wait answered before the task ended: $(cat "$T/wait.out")"
	out=$("$SHIM_CALL" "$SOCK" kill b-kill 9 2>&1)
	ms=$(echo "$out" | sed -n 's/^ms=//p')
	[ -n "$ms" ] && [ "$ms" -lt "$ANSWER_MS" ] &&
		ok "b-kill: Kill answered during the boot ($ms ms)" ||
		not_ok "b-kill: Kill during the boot: $(echo $out)"
	wait_run
	expect_create_failed b-kill "killed .*during the VM's boot"
	for _ in $(seq 50); do kill -0 "$wait_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$wait_pid" 2>/dev/null; then
		not_ok "b-kill: the pending Wait was never answered"
		kill -KILL "$wait_pid" 2>/dev/null
	else
		ok "b-kill: the pending Wait was answered ($(tr '\n' ' ' <"$T/wait.out"))"
	fi
	wait "$wait_pid" 2>/dev/null
else
	not_ok "b-kill: the shim never answered State ($(head -c 300 "$T/b-kill.out"))"
	wait_run
fi
CLEAN_WITHIN_MS=5000 assert_clean "Kill during the boot" b-kill

# ---- Delete during the boot ----------------------------------------------
if boot_start b-delete "$T/hang.toml"; then
	state_during_boot b-delete
	out=$("$SHIM_CALL" "$SOCK" delete b-delete 2>&1)
	ms=$(echo "$out" | sed -n 's/^ms=//p')
	[ -n "$ms" ] && [ "$ms" -lt "$ANSWER_MS" ] && echo "$out" | grep -q '^exit=' &&
		ok "b-delete: Delete answered during the boot ($ms ms)" ||
		not_ok "b-delete: Delete during the boot: $(echo $out)"
	wait_run
	expect_create_failed b-delete "deleted .*during the VM's boot"
else
	not_ok "b-delete: the shim never answered State ($(head -c 300 "$T/b-delete.out"))"
	wait_run
fi
CLEAN_WITHIN_MS=5000 assert_clean "Delete during the boot" b-delete

# ---- the agent never answers (Shutdown during the boot) ------------------
DIAL_TIMEOUT=5 write_husk_config "$T/noagent.toml"
sed -i "s|^initrd = .*|initrd = \"$T/hang.img\"|" "$T/noagent.toml"
t0=$(now_ms)
if boot_start b-noagent "$T/noagent.toml"; then
	state_during_boot b-noagent
	out=$("$SHIM_CALL" "$SOCK" shutdown 2>&1)
	ms=$(echo "$out" | sed -n 's/^ms=//p')
	if [ -n "$ms" ] && [ "$ms" -lt "$ANSWER_MS" ] &&
		"$SHIM_CALL" "$SOCK" state b-noagent >/dev/null 2>&1; then
		ok "b-noagent: Shutdown answered during the boot ($ms ms), the shim serves on"
	else
		not_ok "b-noagent: Shutdown during the boot: $(echo $out)"
	fi
	wait_run
	RUN_MS=$(($(now_ms) - t0))
	expect_create_failed b-noagent "agent not ready.*within 5 s"
	[ "$RUN_MS" -ge 4000 ] && ok "b-noagent: the boot lasted the dial timeout (5 s), not less" ||
		not_ok "b-noagent: failed after $RUN_MS ms, before the 5 s dial timeout"
else
	not_ok "b-noagent: the shim never answered State ($(head -c 300 "$T/b-noagent.out"))"
	wait_run
fi
CLEAN_WITHIN_MS=5000 assert_clean "agent never answering" b-noagent

# ---- QEMU exits during the boot ------------------------------------------
if boot_start b-qemu "$T/hang.toml"; then
	state_during_boot b-qemu
	qpid=$(cat "$T/run/$NS/b-qemu/hypervisor.pid" 2>/dev/null)
	# Ours: started by this test's shim for this test's sandbox.
	if [ -n "$qpid" ] && tr '\0' ' ' <"/proc/$qpid/cmdline" | grep -qF "$T/"; then
		kill -KILL "$qpid"
		wait_run
		expect_create_failed b-qemu "(hypervisor|VM|qemu).*(killed|exited)"
	else
		not_ok "b-qemu: no QEMU of this test at pid '$qpid'"
		wait_run
	fi
else
	not_ok "b-qemu: the shim never answered State ($(head -c 300 "$T/b-qemu.out"))"
	wait_run
fi
CLEAN_WITHIN_MS=5000 assert_clean "QEMU exiting during the boot" b-qemu

# ---- the start timeline --------------------------------------------------
PHASES="start create spawned console agent sandbox container started output exit teardown"
out=$(husk_run b-time echo timeline 2>&1)
expect "ctr run --rm echo" "timeline" "$out"
line=
for _ in $(seq 30); do
	line=$(grep -F 'msg="start timeline"' "$T/containerd.log" | grep -F "sandbox=b-time " | tail -1)
	[ -n "$line" ] && break
	sleep 0.1
done
phases=$(echo "$line" | sed -n 's/.* phases="\([^"]*\)".*/\1/p')
if [ -z "$phases" ]; then
	not_ok "start timeline: no line for b-time in containerd's log"
else
	names=$(echo "$phases" | tr ',' '\n' | cut -d= -f1 | tr '\n' ' ' | sed 's/ $//')
	expect "start timeline: every phase, in order" "$PHASES" "$names"
	prev=-1 bad=
	for v in $(echo "$phases" | tr ',' '\n' | cut -d= -f2); do
		case $v in '' | *[!0-9]*) bad="$bad $v" ;; esac
		[ -z "$bad" ] && [ "$v" -lt "$prev" ] && bad="$bad $prev>$v"
		prev=$v
	done
	[ -z "$bad" ] && ok "start timeline: times never decrease ($phases)" ||
		not_ok "start timeline: times out of order:$bad ($phases)"
	[ "$(grep -cF "sandbox=b-time " <<<"$(grep -F 'msg="start timeline"' "$T/containerd.log")")" = 1 ] &&
		ok "start timeline: one line per pod" ||
		not_ok "start timeline: more than one line for b-time"
fi
assert_clean "start timeline" b-time

finish
