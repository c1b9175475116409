#!/bin/bash
# A container whose setup hangs says what it waits for.  Its
# createContainer hook (run by the container's child during the setup,
# before READY) blocks opening a FIFO nobody writes, so CreateContainer
# stays pending; after SETUP_SLOW_MS (15 s) the agent logs one warning
# naming the container, its namespace helper (exited by then), its child
# and the child's child, the hook, in openat(2) on the FIFO's path.  Then
# the test opens the FIFO: the create completes and the container runs,
# the report changed nothing.  A quick create logs no such warning.
#
# The agent's own loop blocked: a prestart hook runs in the agent, which
# waits for it; one that blocks on a FIFO holds the loop, so the
# watchdog thread logs, after LOOP_STALL_MS (15 s), the main thread, the
# agent's children (the hook in openat on the FIFO) and the D tasks.
. "$(dirname "$0")/lib.sh"
setup
ctl create-sandbox --hostname diag

# wait_warning COUNTER PID: until COUNTER (a function) counts a warning
# or the create PID has ended, bounded at 40 s.
wait_warning() {
	for _ in $(seq 400); do
		[ "$("$1")" -ge 1 ] && return
		kill -0 "$2" 2>/dev/null || return
		sleep 0.1
	done
}
slow_lines() { grep -c 'msg="container setup is slow"' "$T/agent.log"; }

expect "a quick create logs no slow-setup warning" "hi 0" \
	"$(run quick echo hi) $(slow_lines)"

# The hook runs in the container (after pivot_root): both live in its root.
mkfifo "$ROOTFS/gate"
cat >"$ROOTFS/hook.sh" <<'HOOK'
#!/bin/sh
cat >/dev/null
exec 3</gate
HOOK
chmod +x "$ROOTFS/hook.sh"
t0=$(date +%s)
ctl create --id slow --rootfs "$ROOTFS" --hook-create-container /hook.sh \
	--hook-timeout 60 -- echo released >"$T/create.out" 2>&1 &
create_pid=$!
wait_warning slow_lines "$create_pid"
line=$(grep 'msg="container setup is slow"' "$T/agent.log" | head -1)
waited=$(($(date +%s) - t0))
echo "# $line"
check "the warning came while the create was pending (after ${waited}s)" \
	kill -0 "$create_pid"
check "not before SETUP_SLOW_MS (${waited}s)" test "$waited" -ge 14
case $line in *level=warning*container=slow\ exec_id=slow\ pending_ms=*)
	ok "warning level and the container" ;;
*) not_ok "warning: $line" ;; esac
ms=$(echo "$line" | sed -n 's/.* pending_ms=\([0-9]*\) .*/\1/p')
check "how long it is pending: ${ms:-?} ms" test "${ms:-0}" -ge 15000
case $line in *'helper="'[0-9]*' exited"'*) ok "the helper: exited" ;;
*) not_ok "helper: $line" ;; esac
# The hook's waiter polls (1 ms sleeps): caught sleeping or running.
case $line in *'child="'[0-9]*'(husk-agent) '[RS]' '*) ok "the child, its state" ;;
*) not_ok "child: $line" ;; esac
case $line in *"child_children=\""[0-9]*"(hook.sh) S openat(257) /gate wchan="*)
	ok "the hook: in openat on the FIFO, path read from its memory" ;;
*) not_ok "hook: $line" ;; esac
case $line in *'d_tasks="'*) ok "the D-state tasks are listed" ;;
*) not_ok "d_tasks: $line" ;; esac

# Open the FIFO only while the hook waits on it (else this would block).
kill -0 "$create_pid" 2>/dev/null && timeout 30 sh -c ': >"$1"' - "$ROOTFS/gate"
wait "$create_pid"
expect "the create completes once the hook can go on" 0 "$?"
ctl start --id slow
expect "and the container runs" released "$(ctl read-stdout --id slow)"
ctl wait --id slow >/dev/null
ctl remove --id slow
expect "one warning for one slow setup" 1 "$(slow_lines)"

stall_lines() { grep -c 'msg="agent event loop is blocked"' "$T/agent.log"; }
expect "no loop-stall warning so far" 0 "$(stall_lines)"
mkfifo "$T/pgate"
cat >"$T/prestart.sh" <<HOOK
#!/bin/sh
cat >/dev/null
exec 3<"$T/pgate"
HOOK
chmod +x "$T/prestart.sh"
t0=$(date +%s)
ctl create --id stall --rootfs "$ROOTFS" --hook-prestart "$T/prestart.sh" \
	--hook-timeout 60 -- echo after-stall >"$T/create2.out" 2>&1 &
create_pid=$!
wait_warning stall_lines "$create_pid"
line=$(grep 'msg="agent event loop is blocked"' "$T/agent.log" | head -1)
waited=$(($(date +%s) - t0))
echo "# $line"
check "the loop-stall warning came while the loop was held (${waited}s)" \
	kill -0 "$create_pid"
ms=$(echo "$line" | sed -n 's/.* busy_ms=\([0-9]*\) .*/\1/p')
check "after LOOP_STALL_MS: busy ${ms:-?} ms" test "${ms:-0}" -ge 15000
case $line in *level=warning*'main="'[0-9]*'(husk-agent) '[RS]' '*)
	ok "the main thread: waiting for the hook" ;;
*) not_ok "main thread: $line" ;; esac
case $line in *'children="'*"(prestart.sh) S openat(257) $T/pgate wchan="*)
	ok "the agent's child: the hook in openat on the FIFO" ;;
*) not_ok "children: $line" ;; esac
kill -0 "$create_pid" 2>/dev/null && timeout 30 sh -c ': >"$1"' - "$T/pgate"
wait "$create_pid"
expect "the create completes once the hook goes on" 0 "$?"
expect "and the container runs" after-stall \
	"$(ctl start --id stall && ctl read-stdout --id stall)"
ctl wait --id stall >/dev/null
ctl remove --id stall
expect "one loop-stall warning for one stall" 1 "$(stall_lines)"
ctl destroy-sandbox
