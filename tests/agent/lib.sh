# Shared by the agent integration tests (sourced).  Each test builds a
# busybox-static rootfs, runs husk-agent in host mode inside private mount
# and pid namespaces on a temporary socket and state directory, drives it
# with husk ctl, prints TAP, and always stops the agent and cleans up.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

BUILD=${BUILD:-build}
AGENT=${AGENT:-$BUILD/bin/husk-agent}
[ -x "$AGENT" ] || AGENT=$BUILD/san/bin/husk-agent
HUSK=${HUSK:-$BUILD/bin/husk}
T=
AGENT_PID=
AGENT_REAL=

ctl() { "$HUSK" ctl --addr "unix:$SOCK" "$@"; }

start_agent() {
	SOCK=$T/agent.sock
	unshare --kill-child -mpf --mount-proc "$AGENT" --listen "unix:$SOCK" \
		--state-dir "$T/state" --log-level debug 2>>"$T/agent.log" &
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

cleanup() {
	local was_running=$AGENT_PID
	stop_agent
	# LeakSanitizer reports, and fails the exit status, as the agent exits.
	[ -n "$was_running" ] && expect "agent exits 0 on SIGTERM" 0 "$AGENT_STATUS"
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
	[ -x "$AGENT" ] || skip_all "no agent binary ($AGENT)"
	[ -x "$HUSK" ] || skip_all "no husk binary ($HUSK)"
	T=$(mktemp -d /tmp/husk-agent-test.XXXXXX)
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
