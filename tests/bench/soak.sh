#!/bin/bash
# make soak (not in make check): many start/stop cycles under one private
# containerd with the CRI plugin (tests/e2e/lib.sh, cri-lib.sh), then a
# table of what a user would look at:
#
#   * SOAK_RUNS "ctr run --rm IMG ID true" cycles (default 1000) and
#     SOAK_PODS CRI pod cycles, RunPodSandbox + StopPodSandbox +
#     RemovePodSandbox through tests/e2e/cri_client.py (default 100):
#     failures, p50 and p99 of the start time (ctr run's wall time;
#     RunPodSandbox's);
#   * growth from start to end of containerd's fds, threads and memory,
#     and of the host's open files (file-nr), mounts, tun/tap devices,
#     cgroups and processes; and of what this soak itself left (its
#     processes, mounts, run directories).  The host counts are of the
#     whole, shared machine: other work moves them too; the soak's own
#     counts are exact.
#
# Run from the repository root, as root.  SOAK_SETTLE seconds (default 3)
# pass before the end counts.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/cri-lib.sh"
. "$(dirname "$0")/start-lib.sh"

RUNS=${SOAK_RUNS:-1000}
PODS=${SOAK_PODS:-100}
SETTLE=${SOAK_SETTLE:-3}
LIMIT=120

# CRI needs python3-grpcio and Debian's containerd source (cri_prereqs
# skips the program without them): asked in a subshell, so that the ctr
# cycles run anyway.
cri_ok=''
cri_why=''
if [ "$PODS" -gt 0 ]; then
	out=$(cri_prereqs 2>&1)
	case $out in "ok 1 # SKIP"*) cri_why=${out#ok 1 # SKIP } ;; *) cri_ok=1 ;; esac
fi
if [ -n "$cri_ok" ]; then
	cri_prereqs
	setup
	cri_setup >/dev/null
else
	setup
fi

tctr() { ctr_t "$LIMIT" "$@"; }

# snapshot NAME: the counts, one "key value" a line, into $T/snap.NAME.
snapshot() {
	{
		echo "ctd_fds $(ls "/proc/$CTD_PID/fd" 2>/dev/null | wc -l)"
		echo "ctd_threads $(ls "/proc/$CTD_PID/task" 2>/dev/null | wc -l)"
		echo "ctd_rss_kib $(awk '$1 == "VmRSS:" { print $2 }' "/proc/$CTD_PID/status")"
		echo "host_files $(awk '{ print $1 }' /proc/sys/fs/file-nr)"
		echo "host_mounts $(wc -l </proc/self/mountinfo)"
		echo "host_taps $(ip -o link show type tun 2>/dev/null | wc -l)"
		echo "host_cgroups $(find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | wc -l)"
		echo "host_procs $(ls -d /proc/[0-9]* 2>/dev/null | wc -l)"
		echo "own_procs $(test_pids | grep -vx "$CTD_PID" | wc -l)"
		echo "own_mounts $(leftover_mounts | wc -l)"
		echo "own_rundirs $(find "$T/run" -mindepth 2 -maxdepth 2 2>/dev/null | wc -l)"
	} >"$T/snap.$1"
}

# One warm-up each (not counted), then the counts at the start.
note_ids soak-warm
tctr run --rm --runtime "$RUNTIME" "$IMG" soak-warm true >/dev/null 2>&1
if [ -n "$cri_ok" ]; then
	p=$(timeout "$LIMIT" "$PY" "$CLIENT" "$T/proto" "$T/c.sock" runp soak-warm husk "$T/logs" 2>/dev/null)
	[ -n "$p" ] && { cri stopp "$p" >/dev/null 2>&1; cri rmp "$p" >/dev/null 2>&1; }
fi
sleep "$SETTLE"
snapshot start

echo "soak: $RUNS ctr run --rm cycles, ${cri_ok:+$PODS CRI pod cycles}" >&2
: >"$T/ms.run"
fails=0
for i in $(seq "$RUNS"); do
	note_ids "soak-$i"
	t0=$(now_ms)
	if tctr run --rm --runtime "$RUNTIME" "$IMG" "soak-$i" true >"$T/out" 2>&1; then
		echo $(($(now_ms) - t0)) >>"$T/ms.run"
	else
		fails=$((fails + 1))
		echo "soak-$i: $(head -c 200 "$T/out")" >>"$T/fail.run"
		# A task a timeout left behind must not count as growth.
		tctr task kill -s SIGKILL "soak-$i" >/dev/null 2>&1
		tctr task delete -f "soak-$i" >/dev/null 2>&1
		tctr containers delete "soak-$i" >/dev/null 2>&1
	fi
	[ $((i % 50)) = 0 ] && echo "soak: $i runs, $fails failed" >&2
done
run_fails=$fails

: >"$T/ms.pod"
pod_fails=0
if [ -n "$cri_ok" ]; then
	for i in $(seq "$PODS"); do
		t0=$(now_ms)
		p=$(timeout "$LIMIT" "$PY" "$CLIENT" "$T/proto" "$T/c.sock" runp "soak-pod-$i" husk "$T/logs" 2>"$T/err")
		if [ -n "$p" ]; then
			echo $(($(now_ms) - t0)) >>"$T/ms.pod"
			if ! timeout "$LIMIT" "$PY" "$CLIENT" "$T/proto" "$T/c.sock" stopp "$p" >/dev/null 2>>"$T/err" ||
				! timeout "$LIMIT" "$PY" "$CLIENT" "$T/proto" "$T/c.sock" rmp "$p" >/dev/null 2>>"$T/err"; then
				pod_fails=$((pod_fails + 1))
				echo "soak-pod-$i: stop/remove: $(head -c 200 "$T/err")" >>"$T/fail.pod"
			fi
		else
			pod_fails=$((pod_fails + 1))
			echo "soak-pod-$i: run: $(head -c 200 "$T/err")" >>"$T/fail.pod"
		fi
		[ $((i % 10)) = 0 ] && echo "soak: $i pods, $pod_fails failed" >&2
	done
fi
sleep "$SETTLE"
snapshot end

echo
echo "## Soak (QEMU $(sed -n 's/^accel = "\(.*\)"/\1/p' "$T/husk.toml" | tr a-z A-Z); machine shared with other work)"
echo
echo "| cycles | count | failures | p50 start | p99 start |"
echo "| --- | --- | --- | --- | --- |"
printf "| ctr run --rm IMG ID true (wall) | %d | %d | %s ms | %s ms |\n" "$RUNS" "$run_fails" \
	"$(pctl 50 <"$T/ms.run")" "$(pctl 99 <"$T/ms.run")"
if [ -n "$cri_ok" ]; then
	printf "| CRI RunPodSandbox + Stop + Remove (RunPodSandbox's time) | %d | %d | %s ms | %s ms |\n" \
		"$PODS" "$pod_fails" "$(pctl 50 <"$T/ms.pod")" "$(pctl 99 <"$T/ms.pod")"
elif [ "$PODS" -gt 0 ]; then
	printf "| CRI pod cycles | not run: %s | | | |\n" "$cri_why"
fi
echo
echo "| count | start | end | growth |"
echo "| --- | --- | --- | --- |"
while read -r k v; do
	e=$(awk -v k="$k" '$1 == k { print $2 }' "$T/snap.end")
	case $k in
	ctd_fds) d="containerd: open fds" ;;
	ctd_threads) d="containerd: threads" ;;
	ctd_rss_kib) d="containerd: RSS (KiB)" ;;
	host_files) d="host: open files (file-nr; shared machine)" ;;
	host_mounts) d="host: mounts (shared machine)" ;;
	host_taps) d="host: tun/tap devices (shared machine)" ;;
	host_cgroups) d="host: cgroups (shared machine)" ;;
	host_procs) d="host: processes (shared machine)" ;;
	own_procs) d="this soak: shims, QEMUs, virtiofsd left" ;;
	own_mounts) d="this soak: mounts left" ;;
	own_rundirs) d="this soak: pod run directories left" ;;
	*) d=$k ;;
	esac
	printf "| %s | %s | %s | %+d |\n" "$d" "$v" "$e" "$((e - v))"
done <"$T/snap.start"
for f in run pod; do
	[ -s "$T/fail.$f" ] && { echo; echo "failures ($f, first 10):"; head -n 10 "$T/fail.$f" | sed 's/^/  /'; }
done
kill_tasks
finish >/dev/null
