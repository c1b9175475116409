# Shared by the agent integration tests (sourced).  Each test builds a
# busybox-static rootfs, runs husk-agent in host mode inside private mount
# and pid namespaces on a temporary socket and state directory, drives it
# with husk ctl, prints TAP, and always stops the agent and cleans up.
# Container cgroups go under a cgroup parent of this run's own (named after
# the temporary directory), so runs from two checkouts at once do not meet
# in the host's hierarchies.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

BUILD=${BUILD:-build}
AGENT=${AGENT:-$BUILD/bin/husk-agent}
[ -x "$AGENT" ] || AGENT=$BUILD/san/bin/husk-agent
HUSK=${HUSK:-$BUILD/bin/husk}
T=
CG_PARENT=
AGENT_PID=
AGENT_REAL=

ctl() { "$HUSK" ctl --addr "unix:$SOCK" "$@"; }

start_agent() {
	SOCK=$T/agent.sock
	unshare --kill-child -mpf --mount-proc "$AGENT" --listen "unix:$SOCK" \
		--state-dir "$T/state" --cgroup-parent "$CG_PARENT" \
		--log-level debug 2>>"$T/agent.log" &
	AGENT_PID=$!
	for _ in $(seq 200); do
		[ -S "$SOCK" ] && break
		sleep 0.05
	done
	AGENT_REAL=$(pgrep -P "$AGENT_PID" | head -1)
	ctl check >/dev/null
}

# SIGTERM, a bounded wait, SIGKILL.  AGENT_STATUS: the agent's exit status
# as unshare passes it on (128+N for a signal), "killed" if it had to be.
AGENT_STATUS=
stop_agent() {
	[ -n "$AGENT_PID" ] || return 0
	[ -n "$AGENT_REAL" ] && kill -TERM "$AGENT_REAL" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -KILL "$AGENT_PID" 2>/dev/null; then
		wait "$AGENT_PID" 2>/dev/null
		AGENT_STATUS=killed
	else
		wait "$AGENT_PID" 2>/dev/null
		AGENT_STATUS=$?
	fi
	AGENT_PID=
}

# The agent's log can carry sanitizer reports only if ASan/UBSan are built
# in (their runtime's symbols are then in the binary).
agent_sanitized() {
	grep -qa -e __asan_init -e __ubsan_handle "$AGENT"
}

# This run's cgroup parent in every hierarchy the host has mounted.
run_cgroup_dirs() {
	local m
	[ -n "$CG_PARENT" ] || return 0
	awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts |
		while read -r m; do
			[ -d "$m$CG_PARENT" ] && echo "$m$CG_PARENT"
		done
}

cleanup() {
	local was_running=$AGENT_PID d left
	# A second INT or TERM must not leave the agent running.
	trap '' INT TERM HUP
	stop_agent
	# LeakSanitizer reports, and fails the exit status, as the agent exits.
	[ -n "$was_running" ] && expect "agent exits 0 on SIGTERM" 0 "$AGENT_STATUS"
	# The agent removes the parents it created once they are empty.
	left=$(run_cgroup_dirs)
	[ -n "$was_running" ] &&
		expect "no cgroup left under $CG_PARENT" "" "$(echo $left)"
	for d in $left; do
		for _ in $(seq 20); do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$d" ] || break
			sleep 0.1
		done
	done
	if [ -n "$T" ] && [ -f "$T/agent.log" ]; then
		if grep -qE 'Sanitizer|runtime error' "$T/agent.log"; then
			not_ok "agent log has sanitizer reports"
			grep -A30 -E 'Sanitizer|runtime error' "$T/agent.log" | sed 's/^/# /'
		elif agent_sanitized; then
			ok "no sanitizer reports in the agent's log"
		fi
	fi
	if [ -n "$T" ] && [ -f "$T/agent.log" ]; then
		echo "# agent log (last lines):"
		tail -n 15 "$T/agent.log" | sed 's/^/# /'
	fi
	[ -n "$T" ] && rm -rf "$T"
}

setup() {
	[ "$(id -u)" = 0 ] || skip_all "needs root"
	[ -x /bin/busybox ] || skip_all "needs busybox-static"
	# make check builds both: one missing is a failure, not a skip.
	local b
	for b in "$AGENT" "$HUSK"; do
		if [ ! -x "$b" ]; then
			echo "not ok 1 - $b is missing (make)"
			exit 1
		fi
	done
	echo "# agent under test: $AGENT"
	T=$(mktemp -d /tmp/husk-agent-test.XXXXXX)
	CG_PARENT=/${T##*/}
	trap cleanup EXIT
	trap 'exit 1' INT TERM
	make_rootfs "$T/rootfs"
	ROOTFS=$T/rootfs
	start_agent
}

# run ID ARGS...: create+start a container, print its stdout, then wait;
# the exit status goes to $T/status.
run() {
	local id=$1
	shift
	ctl create --id "$id" --rootfs "$ROOTFS" "${CREATE_OPTS[@]}" -- "$@" || return 1
	ctl start --id "$id" || { ctl remove --id "$id"; return 1; }
	ctl read-stdout --id "$id"
	ctl wait --id "$id" >"$T/status"
	ctl remove --id "$id"
}
CREATE_OPTS=()

# The hierarchies the agent really puts a container in (cgroup2, or the v1
# controllers beside a cgroup2 that has none of them): what a probe
# container reads in /proc/self/cgroup (no cgroup namespace: host paths),
# lines "N:controllers:$CG_PARENT/cgprobe", into CG_HIER (one controller
# list a line, empty for cgroup2).  Prints one TAP line: none found is a
# failure.
CG_HIER=
cgroup_probe() {
	CG_HIER=$(run cgprobe cat /proc/self/cgroup |
		sed -n "s|^[0-9]*:\([^:]*\):${CG_PARENT//./\\.}/cgprobe\$|\1|p")
	check "a container's cgroups found: $(cgroup_dirs '*' | tr '\n' ' ')" \
		test -n "$CG_HIER"
}
hier_mount() { # hier_mount CONTROLLERS ("" for cgroup2)
	awk -v want="$1" '
	want == "" && $3 == "cgroup2" { print $2; exit }
	want != "" && $3 == "cgroup" {
		n = split(want, w, ",")
		ok = 1
		for (i = 1; i <= n; i++)
			if (("," $4 ",") !~ ("," w[i] ",")) ok = 0
		if (ok) { print $2; exit }
	}' /proc/self/mounts
}
cgroup_dirs() { # cgroup_dirs ID: the agent's cgroup of ID in each hierarchy
	local h
	[ -n "$CG_HIER" ] || return 0
	while IFS= read -r h; do
		echo "$(hier_mount "$h")$CG_PARENT/$1"
	done <<<"$CG_HIER"
}
cgroups_exist() { # cgroups_exist ID: 0 if all exist, 1 if none, 2 if some
	local d have=0 miss=0
	for d in $(cgroup_dirs "$1"); do
		if [ -d "$d" ]; then have=1; else miss=1; fi
	done
	[ "$miss" = 0 ] && [ "$have" = 1 ] && return 0
	[ "$have" = 0 ] && return 1
	return 2
}
