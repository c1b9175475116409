#!/bin/bash
# Processes: exec into a running container, signals, kill-all, stdin
# through cat, a TTY session, pause/resume, stats that move with load.
. "$(dirname "$0")/lib.sh"
setup
ctl create-sandbox --hostname pod2

ctl create --id p1 --rootfs "$ROOTFS" -- sleep 1000
ctl start --id p1
expect "exec into a running container" "hello from exec" \
	"$(ctl exec --id p1 --exec-id e1 -- echo hello from exec && ctl read-stdout --id p1 --exec-id e1)"
expect "exec exit code" 0 "$(ctl wait --id p1 --exec-id e1)"
err=$(ctl wait --id p1 --exec-id e1 2>&1)
case $err in *NOT_FOUND*) ok "second wait: NOT_FOUND" ;; *) not_ok "second wait: $err" ;; esac
ctl exec --id p1 --exec-id e2 -- sh -c 'exit 7'
expect "exec exit code 7" 7 "$(ctl wait --id p1 --exec-id e2)"
expect "exec sees the container's pid namespace" 1 \
	"$(ctl exec --id p1 --exec-id e3 -- sh -c 'cat /proc/1/comm | grep -c sleep' && ctl read-stdout --id p1 --exec-id e3)"
ctl wait --id p1 --exec-id e3 >/dev/null
cgs=$(ctl exec --id p1 --exec-id e5 -- sh -c 'cat /proc/self/cgroup; echo --; cat /proc/1/cgroup' &&
	ctl read-stdout --id p1 --exec-id e5)
ctl wait --id p1 --exec-id e5 >/dev/null
check "exec is in the init's cgroups ($(echo ${cgs%%--*}))" \
	test -n "${cgs%%--*}" -a "$(echo ${cgs%%--*})" = "$(echo ${cgs#*--})"
err=$(ctl exec --id p1 --exec-id e4 -- /nonexistent 2>&1)
case $err in *NOT_FOUND*nonexistent*) ok "exec of a missing binary fails with NOT_FOUND" ;; *) not_ok "exec missing: $err" ;; esac

# signals: a trap sees USR1, TERM kills
ctl exec --id p1 --exec-id s1 -- sh -c 'trap "echo got USR1; exit 5" USR1; echo ready; while :; do sleep 0.1; done'
ctl read-stdout --id p1 --exec-id s1 --once >/dev/null
ctl signal --id p1 --exec-id s1 --signal USR1
expect "signal delivered to a handler" "got USR1" "$(ctl read-stdout --id p1 --exec-id s1)"
expect "handler's exit code" 5 "$(ctl wait --id p1 --exec-id s1)"
ctl exec --id p1 --exec-id s2 -- sleep 1000
ctl signal --id p1 --exec-id s2 --signal TERM
expect "SIGTERM gives 143" 143 "$(ctl wait --id p1 --exec-id s2)"

# kill-all: exec id "" with SIGKILL takes every process of the container
ctl exec --id p1 --exec-id k1 -- sleep 1000
ctl signal --id p1 --signal KILL
expect "kill-all: init killed" 137 "$(ctl wait --id p1)"
expect "kill-all: exec'd process killed" 137 "$(ctl wait --id p1 --exec-id k1)"
ctl remove --id p1

# stdin round trip through cat
ctl create --id p2 --rootfs "$ROOTFS" -- cat
ctl start --id p2
ctl write-stdin --id p2 --data "round trip
" >/dev/null
ctl close-stdin --id p2
expect "stdin round trip through cat" "round trip" "$(ctl read-stdout --id p2)"
expect "cat exits 0 at EOF" 0 "$(ctl wait --id p2)"
ctl remove --id p2

# big output is not lost when the process exits right after writing it
ctl create --id p3 --rootfs "$ROOTFS" -- sh -c 'head -c 3000000 /dev/zero | tr "\0" x'
ctl start --id p3
expect "3 MB written just before exit arrive whole" 3000000 "$(ctl read-stdout --id p3 | wc -c)"
ctl wait --id p3 >/dev/null
ctl remove --id p3

# TTY session
ctl create --id p4 --rootfs "$ROOTFS" --tty --rows 30 --cols 100 -- sh
ctl start --id p4
ctl resize --id p4 --rows 40 --cols 132
ctl write-stdin --id p4 --data 'stty size; tty; exit 4
' >/dev/null
out=$(ctl read-stdout --id p4 | tr -d '\r')
case $out in *"40 132"*) ok "tty: TtyWinResize applied" ;; *) not_ok "tty size: $out" ;; esac
case $out in *"/dev/pts/"*) ok "tty: process has a pty" ;; *) not_ok "tty: $out" ;; esac
expect "tty: exit code" 4 "$(ctl wait --id p4)"
err=$(ctl create --id p5 --rootfs "$ROOTFS" -- true && ctl resize --id p5 --rows 1 --cols 1 2>&1)
case $err in *UNAVAILABLE*tty*) ok "resize without tty: UNAVAILABLE" ;; *) not_ok "resize: $err" ;; esac
ctl remove --id p5
ctl remove --id p4

# pause/resume and stats
ctl create --id p6 --rootfs "$ROOTFS" -- sh -c 'while :; do :; done'
ctl start --id p6
sleep 0.3
u1=$(ctl stats --id p6 | awk '/cpu_total_usage/ {print $2}')
sleep 0.5
u2=$(ctl stats --id p6 | awk '/cpu_total_usage/ {print $2}')
check "stats: cpu usage moves under load ($u1 -> $u2)" test "${u2:-0}" -gt "${u1:-0}"
check "pause" ctl pause --id p6
sleep 0.2
u3=$(ctl stats --id p6 | awk '/cpu_total_usage/ {print $2}')
sleep 0.5
u4=$(ctl stats --id p6 | awk '/cpu_total_usage/ {print $2}')
expect "paused: cpu usage stands still" "$u3" "$u4"
err=$(ctl pause --id p6 2>&1)
case $err in *FAILED_PRECONDITION*) ok "pause twice: FAILED_PRECONDITION" ;; *) not_ok "pause twice: $err" ;; esac
check "resume" ctl resume --id p6
sleep 0.5
u5=$(ctl stats --id p6 | awk '/cpu_total_usage/ {print $2}')
check "resumed: cpu usage moves again" test "${u5:-0}" -gt "${u4:-0}"
check "remove a busy container" ctl remove --id p6
ctl destroy-sandbox
