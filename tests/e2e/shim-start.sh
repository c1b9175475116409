#!/bin/bash
# The shim's `start` action and its socket, without containerd or a VM:
# the address it prints is a 0600 socket its daemon serves; a second start
# of the same id is refused while that daemon answers; a socket left by a
# daemon killed with SIGKILL is replaced; SIGTERM ends the daemon and
# removes its socket.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/common.sh"
SHIM=$TOP/${BUILD:-build}/bin/containerd-shim-husk-v2

T=$(mktemp -d /tmp/husk-shim-start.XXXXXX)
NS=shim-start-$$
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "${SOCK:-}" ] && rm -f "$SOCK"
	rm -rf "$T"
}
trap cleanup EXIT

[ -x "$SHIM" ] || { not_ok "$SHIM is missing (make)"; echo "1..$tap_n"; exit 1; }
mkdir -p "$T/bundle"
echo '{"ociVersion":"1.0.2","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"}}' \
	>"$T/bundle/config.json"
start() { (cd "$T/bundle" && "$SHIM" -namespace "$NS" -id s1 -address "$T/ctd.sock" start); }

ADDR=$(start 2>"$T/err1")
SOCK=${ADDR#unix://}
PID1=$(cat "$T/bundle/shim.pid" 2>/dev/null)
[ -n "$PID1" ] && PIDS+=("$PID1")
check "start prints a unix address" test -n "$SOCK" -a "$ADDR" != "$SOCK"
expect "the socket is private" "srw-------" "$(stat -c %A "$SOCK" 2>/dev/null)"
check "its daemon runs" kill -0 "${PID1:-0}"

if start >/dev/null 2>"$T/err2"; then
	not_ok "a second start of a served id is refused"
else
	check "a second start of a served id is refused" \
		grep -q "a shim already serves $SOCK" "$T/err2"
fi
check "the first daemon keeps its socket" test -S "$SOCK"

kill -KILL "$PID1" 2>/dev/null
pid_gone "$PID1" 50
check "a daemon killed by SIGKILL leaves its socket" test -S "$SOCK"
ADDR2=$(start 2>"$T/err3")
PID2=$(cat "$T/bundle/shim.pid" 2>/dev/null)
[ -n "$PID2" ] && PIDS+=("$PID2")
expect "start replaces a stale socket" "$ADDR" "$ADDR2"
check "the new daemon runs" kill -0 "${PID2:-0}"
[ -s "$T/err3" ] && diag <"$T/err3"

kill -TERM "${PID2:-0}" 2>/dev/null
check "SIGTERM ends the daemon" pid_gone "${PID2:-0}" 100
check "and removes its socket" test ! -e "$SOCK"

echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
