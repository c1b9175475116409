#!/bin/bash
# A long-running container driven through the rest of the task API: exec
# (output, exit code, stdin, terminal), pause and resume, ps and metrics,
# kill then wait, the events containerd receives, and a pod of two
# containers sharing one shim and one VM (the CRI annotations), with
# Shutdown ignored while the pod still has a container.
. "$(dirname "$0")/lib.sh"

setup

note_ids t-life t-kill pod1 m1 m2 t-oom

task_pid() { ctr task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
count_procs() { # PATTERN: test processes whose command line matches
	local p n=0
	for p in $(test_pids); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$1" && n=$((n + 1))
	done
	echo $n
}

ctr events >"$T/events" 2>&1 &
EVENTS_PID=$!

ctr run -d --runtime "$RUNTIME" "$IMG" t-life sleep 1000 >/dev/null 2>"$T/err"
expect "ctr run -d starts the task" RUNNING "$(task_status t-life)"
[ -s "$T/err" ] && diag <"$T/err"

out=$(ctr task exec --exec-id e1 t-life sh -c 'echo $((6 * 7))' 2>&1)
expect "exec prints its output" 42 "$out"
ctr task exec --exec-id e2 t-life sh -c 'exit 3' >/dev/null 2>&1
expect "exec reports its exit code" 3 "$?"
out=$(printf 'to exec\n' | ctr task exec --exec-id e3 t-life cat 2>&1)
expect "exec stdin round-trips" "to exec" "$out"
out=$(script -qec "ctr -a $T/c.sock -n $NS task exec --fifo-dir $T/fifo -t --exec-id e4 t-life sh -c 'tty; echo done'" /dev/null 2>&1 | tr -d '\r')
case $out in
*/dev/pts/*done*) ok "exec -t gets a terminal" ;;
*) not_ok "exec -t gets a terminal (got '$out')" ;;
esac

ctr task pause t-life
expect "pause" PAUSED "$(task_status t-life)"
ctr task resume t-life
expect "resume" RUNNING "$(task_status t-life)"
out=$(ctr task exec --exec-id e5 t-life echo after-resume 2>&1)
expect "exec after resume" after-resume "$out"

pid=$(task_pid t-life)
if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q qemu; then
	ok "the task pid is the VM's ($pid)"
else
	not_ok "the task pid is the VM's (got '$pid')"
fi
ctr task ps t-life 2>&1 | grep -qw "$pid" && ok "ps lists the VM process" ||
	not_ok "ps lists the VM process"
# The shim (QEMU's parent) watched the run directory for QMP's socket; the
# watch must be gone once QMP is connected: an inotify fd closed with a
# watch on it waits for the kernel to free it (up to 14 ms measured), and
# every teardown paid that.
shim=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
n_ino=0 live=0
for fd in /proc/"${shim:-none}"/fd/*; do
	[ "$(readlink "$fd" 2>/dev/null)" = anon_inode:inotify ] || continue
	n_ino=$((n_ino + 1))
	live=$((live + $(grep -c '^inotify wd:' "/proc/$shim/fdinfo/${fd##*/}")))
done
if [ -z "$shim" ]; then
	not_ok "the shim's inotify watches: no shim (QEMU pid '$pid')"
elif [ "$live" = 0 ]; then
	ok "no inotify watch left in the running shim ($n_ino inotify fd)"
else
	not_ok "the running shim still has $live inotify watch(es)"
fi
# Metrics come from the agent's StatsContainer through the shim as cgroup
# v1 Metrics, which ctr prints as a table "METRIC VALUE".  A running
# container has memory charged, has used CPU, and has exactly one process
# (sleep: every exec above has ended).
metric() { awk -v m="$1" '$1 == m { print $2 }' "$T/metrics"; }
in_range() { # VALUE MIN MAX
	[[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}
if ctr task metrics t-life >"$T/metrics" 2>&1; then
	diag <"$T/metrics"
	mem=$(metric memory.usage_in_bytes)
	check "metrics: memory usage $mem bytes, between 64 KiB and 1 GiB" \
		in_range "$mem" 65536 1073741824
	cpu=$(metric cpuacct.usage)
	check "metrics: CPU usage $cpu ns, above 0" in_range "$cpu" 1 1000000000000
	expect "metrics: one process (pids.current)" 1 "$(metric pids.current)"
else
	not_ok "metrics: $(head -3 "$T/metrics")"
fi

ctr task kill t-life
wait_status t-life STOPPED
expect "kill (SIGTERM) stops the task" STOPPED "$(task_status t-life)"
ctr task delete t-life >/dev/null 2>&1
ctr containers delete t-life
assert_clean "kill, delete" t-life

# ctr run in the background, killed from outside: it returns the status.
husk_run t-kill sleep 1000 >/dev/null 2>&1 &
bg=$!
wait_status t-kill RUNNING
ctr task kill -s SIGKILL t-kill
wait "$bg"
expect "kill then wait: 128 + SIGKILL" 137 "$?"
assert_clean "kill then wait" t-kill

# A pod: a sandbox and two containers, one shim, one VM.
POD=(--annotation io.kubernetes.cri.sandbox-id=pod1)
ctr run -d --runtime "$RUNTIME" "${POD[@]}" \
	--annotation io.kubernetes.cri.container-type=sandbox \
	"$IMG" pod1 sleep 1000 >/dev/null 2>"$T/err"
expect "pod sandbox runs" RUNNING "$(task_status pod1)"
out=$(ctr run --rm --runtime "$RUNTIME" "${POD[@]}" \
	--annotation io.kubernetes.cri.container-type=container \
	"$IMG" m1 echo in-the-pod 2>&1)
expect "a pod member runs in the pod's VM" in-the-pod "$out"
ctr run -d --runtime "$RUNTIME" "${POD[@]}" \
	--annotation io.kubernetes.cri.container-type=container \
	"$IMG" m2 sleep 1000 >/dev/null 2>&1
expect "second member runs" RUNNING "$(task_status m2)"
expect "one VM for the pod" 1 "$(count_procs qemu-system)"
expect "one shim for the pod" 1 "$(count_procs containerd-shim-husk-v2)"
expect "members report the pod's VM pid" "$(task_pid pod1)" "$(task_pid m2)"
# The pod's members share its IPC and UTS namespaces (the VM's own).
for ns in ipc uts; do
	a=$(ctr task exec --exec-id "$ns-1" pod1 readlink "/proc/self/ns/$ns" 2>&1)
	b=$(ctr task exec --exec-id "$ns-2" m2 readlink "/proc/self/ns/$ns" 2>&1)
	case $a in
	"$ns:["*) expect "pod members share one $ns namespace" "$a" "$b" ;;
	*) not_ok "pod members share one $ns namespace (readlink: $a)" ;;
	esac
done
ctr task kill -s SIGKILL m2
wait_status m2 STOPPED
ctr task delete m2 >/dev/null 2>&1
ctr containers delete m2
# containerd sent Shutdown after that Delete: the pod must still serve.
sleep 0.3
out=$(ctr task exec --exec-id p1 pod1 echo still-here 2>&1)
expect "Shutdown is ignored while the pod has a container" still-here "$out"
ctr task kill -s SIGKILL pod1
wait_status pod1 STOPPED
ctr task delete pod1 >/dev/null 2>&1
ctr containers delete pod1
assert_clean "pod" pod1 m1 m2

# A memory limit the guest enforces: the OOM kill shows as an event.
ctr run --rm --runtime "$RUNTIME" --memory-limit 33554432 "$IMG" t-oom \
	sh -c 'x=a; while :; do x="$x$x"; done' >/dev/null 2>&1
expect "out of memory: killed (137)" 137 "$?"
sleep 0.3

kill "$EVENTS_PID" 2>/dev/null
wait "$EVENTS_PID" 2>/dev/null
# ctr events: "<date> <time> +0000 UTC <namespace> <topic> {json}"
topics=$(awk '/t-life/ && $6 ~ /^\/tasks\// { print $6 }' "$T/events" | tr '\n' ' ')
want="/tasks/create /tasks/start /tasks/exec-added /tasks/exec-started /tasks/exit"
case $topics in
"$want"*) ok "events: create, start, exec-added, exec-started, exit in order" ;;
*) not_ok "events in order (got '$topics')" ;;
esac
grep -qE '/tasks/oom .*"container_id":"t-oom"' "$T/events" &&
	ok "event /tasks/oom for the container" || not_ok "event /tasks/oom"
for t in /tasks/paused /tasks/resumed /tasks/delete; do
	echo "$topics" | grep -qw "$t" && ok "event $t" || not_ok "event $t (got '$topics')"
done
exit_ev=$(grep -E '/tasks/exit .*"id":"t-life"' "$T/events")
case $exit_ev in
*'"container_id":"t-life"'*'"exit_status":137'*) ok "init exit event: id, container_id, exit_status" ;;
*) not_ok "init exit event (got '$exit_ev')" ;;
esac
grep -qE '/tasks/exit .*"id":"e2".*"exit_status":3' "$T/events" &&
	ok "exec exit event carries the exec id and status" ||
	not_ok "exec exit event: $(grep '"e2"' "$T/events" | head -2)"
last=$(awk '/t-life/ && $6 ~ /^\/tasks\// { print $6 }' "$T/events" | grep -E '/tasks/(exit|delete)' | tail -2 | tr '\n' ' ')
expect "delete comes after the init exit" "/tasks/exit /tasks/delete " "$last"

finish
