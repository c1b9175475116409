#!/bin/bash
# Process privileges and confinement: seccomp, capabilities, rlimits,
# no_new_privileges, oom_score_adj, user and groups, sysctls, hooks.
. "$(dirname "$0")/lib.sh"
setup
ctl create-sandbox --hostname pod3

CREATE_OPTS=(--seccomp-deny mkdir --seccomp-deny mkdirat)
expect "seccomp profile: mkdir fails with EPERM" "Operation not permitted" \
	"$(run s1 sh -c 'mkdir /tmp/x 2>&1 | sed "s/.*: //"')"
CREATE_OPTS=()
expect "without the profile mkdir works" ok "$(run s2 sh -c 'mkdir /tmp/x && echo ok')"

CREATE_OPTS=(--cap-drop CAP_CHOWN)
expect "dropped CAP_CHOWN: chown fails" fail \
	"$(run s3 sh -c 'touch /tmp/f; chown 1:1 /tmp/f 2>/dev/null && echo ok || echo fail')"
CREATE_OPTS=()
expect "with CAP_CHOWN chown works" ok \
	"$(run s4 sh -c 'touch /tmp/f; chown 1:1 /tmp/f && echo ok')"
CREATE_OPTS=(--caps CAP_KILL)
expect "capability sets applied (CapEff)" 0000000000000020 \
	"$(run s5 sh -c 'grep CapEff /proc/self/status | cut -f2')"

CREATE_OPTS=(--rlimit RLIMIT_NOFILE=123:456)
expect "rlimit NOFILE soft" 123 "$(run s6 sh -c 'ulimit -n')"
expect "rlimit NOFILE hard" 456 "$(run s7 sh -c 'ulimit -Hn')"
CREATE_OPTS=(--no-new-privs)
expect "no_new_privileges" 1 "$(run s8 sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')"
CREATE_OPTS=(--oom-score-adj 500)
expect "oom_score_adj" 500 "$(run s9 cat /proc/self/oom_score_adj)"
CREATE_OPTS=(--user 1000:1001 --groups 2000,2001)
expect "user, group and additional groups" "1000 1001 1001 2000 2001" \
	"$(run s10 sh -c 'echo $(id -u) $(id -g) $(id -G | tr " " "\n" | sort -n | tr "\n" " ")' | sed 's/ *$//')"
CREATE_OPTS=(--env FOO=bar --cwd /tmp)
expect "env and cwd" "bar /tmp" "$(run s11 sh -c 'echo $FOO $(pwd)')"
CREATE_OPTS=(--net --sysctl net.ipv4.ip_forward=1)
expect "sysctl in a new network namespace" 1 "$(run s12 cat /proc/sys/net/ipv4/ip_forward)"
CREATE_OPTS=(--pids-limit 20 --memory 67108864 --cgroupns)
expect "cgroup memory limit" 67108864 "$(run s13 sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max')"
out=$(run s14 sh -c 'for i in $(seq 40); do sleep 1 & done 2>&1 | grep -c "can.t fork"' 2>&1)
check "pids limit stops forks ($out)" test "${out:-0}" -gt 0

# hooks: prestart runs in the agent with the state on stdin
cat >"$T/hook.sh" <<HOOK
#!/bin/sh
cat >"$T/hook.out"
HOOK
chmod +x "$T/hook.sh"
CREATE_OPTS=(--hook-prestart "$T/hook.sh")
run s15 true >/dev/null
case $(cat "$T/hook.out" 2>/dev/null) in *'"id":"s15"'*'"status":"created"'*) ok "prestart hook got the state" ;;
*) not_ok "prestart hook: $(cat "$T/hook.out" 2>&1)" ;; esac
CREATE_OPTS=(--hook-prestart /bin/false)
err=$(ctl create --id s16 --rootfs "$ROOTFS" "${CREATE_OPTS[@]}" -- true 2>&1)
case $err in *hook*prestart*false*) ok "failing prestart hook fails create" ;; *) not_ok "hook: $err" ;; esac
check "nothing left of s16" test ! -e "$T/state/s16"
CREATE_OPTS=()
ctl destroy-sandbox
