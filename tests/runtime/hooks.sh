#!/bin/bash
# husk-runtime runs the spec's host-side OCI hooks as runc does: prestart
# then createRuntime once the container's new network namespace exists
# (state JSON on stdin, status "creating", pid a process in that
# namespace), poststart after start, poststop on delete; args and env as
# given; a failing or overrunning prestart hook fails create with its
# output in the error and leaves nothing.  A prestart hook that configures
# the namespace (as Docker's libnetwork-setkey does) gets its interface
# and address carried into the VM.  Everything happens inside the
# container's own namespace: nothing reaches the host's network.  Real
# VMs (QEMU, TCG here).  Run from the repository root, as root.
. "$(dirname "$0")/lib.sh"
rt_setup
command -v nsenter >/dev/null || skip_all "no nsenter"
command -v ip >/dev/null || skip_all "no ip (iproute2)"

HK=$T/hk
mkdir -p "$HK"
# The recording hook: its stdin, arguments and environment, in order.
cat >"$T/rec-hook" <<'EOF'
#!/bin/bash
cat >"$2/$1.state"
echo "$1 env=${HOOK_ENV:-unset} runtime-env=${HUSK_CONF_FILE:+yes}" >"$2/$1.args"
echo "$1" >>"$2/order"
EOF
# The network hook: what libnetwork-setkey has dockerd do, in the
# namespace of the state's pid.
cat >"$T/net-hook" <<'EOF'
#!/bin/bash
pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
n="/usr/bin/nsenter --net=/proc/$pid/ns/net"
$n /usr/sbin/ip link add eth0 type veth peer name hkpeer0 &&
$n /usr/sbin/ip link set hkpeer0 up &&
$n /usr/sbin/ip addr add 10.213.7.2/24 dev eth0 &&
$n /usr/sbin/ip link set eth0 up &&
readlink /proc/$pid/ns/net >"$1/netns" && readlink /proc/self/ns/net >"$1/hook-netns"
EOF
chmod +x "$T/rec-hook" "$T/net-hook"

# with_hooks BUNDLE HOOKS_JSON: put HOOKS_JSON in the bundle's config.json.
with_hooks() {
	python3 - "$1/config.json" "$2" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["hooks"] = json.loads(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"))
EOF
}
rec() { echo "{\"path\":\"$T/rec-hook\",\"args\":[\"rec-hook\",\"$1\",\"$HK\"]${2:+,$2}}"; }

# --- every kind, in runc's order, with the state on stdin ------------------
make_bundle "$T/b-net" false '["sh","-c","ip -4 addr show eth0; echo done"]'
with_hooks "$T/b-net" "{
 \"prestart\":[$(rec prestart '"env":["HOOK_ENV=yes"]'),{\"path\":\"$T/net-hook\",\"args\":[\"net-hook\",\"$HK\"]}],
 \"createRuntime\":[$(rec createRuntime)],
 \"poststart\":[$(rec poststart)],
 \"poststop\":[$(rec poststop)]}"
rt create --bundle "$T/b-net" --pid-file "$T/net.pid" net </dev/null >"$T/net.out" 2>"$T/net.err"
expect "create with hooks" 0 $?
diag <"$T/net.err"
expect "prestart then createRuntime ran, in that order, at create" "prestart createRuntime" "$(cat "$HK/order" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
check "the state on stdin: id, status creating, bundle" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["id"] == "net" and s["status"] == "creating" and s["bundle"] == sys.argv[2], s
assert s["pid"] > 0 and s["ociVersion"], s' "$HK/prestart.state" "$T/b-net"
check "the state's pid is in a new network namespace (not the hook's)" \
	sh -c "[ -s '$HK/netns' ] && ! cmp -s '$HK/netns' '$HK/hook-netns'"
expect "a hook's env is exactly its spec env" "prestart env=yes runtime-env=" "$(cat "$HK/prestart.args" 2>/dev/null)"
expect "a hook without env gets the runtime's" "createRuntime env=unset runtime-env=yes" "$(cat "$HK/createRuntime.args" 2>/dev/null)"
rt start net >/dev/null 2>&1
expect "start" 0 $?
expect "poststart ran after start, status running" running "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$HK/poststart.state" 2>/dev/null)"
mpid=$(cat "$T/net.pid" 2>/dev/null)
for _ in $(seq 600); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
check "the interface the hook made, with its address, is in the VM" grep -q 'inet 10.213.7.2/24' "$T/net.out"
grep -q 'inet 10.213.7.2/24' "$T/net.out" || diag <"$T/net.out"
check "poststop not run before delete" [ ! -e "$HK/poststop.state" ]
rt delete net
expect "delete" 0 $?
expect "poststop ran at delete, status stopped" stopped "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$HK/poststop.state" 2>/dev/null)"
rt_assert_clean "hooks"
netns_pid_gone() { [ ! -e "/proc/$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$HK/prestart.state")" ]; }
check "the process that held the network namespace is gone" netns_pid_gone

# --- a failing prestart hook: create fails, its output in the error --------
rm -f "$HK"/*
cat >"$T/fail-hook" <<'EOF'
#!/bin/sh
echo "network said no" >&2
exit 3
EOF
chmod +x "$T/fail-hook"
make_bundle "$T/b-fail" false '["true"]'
with_hooks "$T/b-fail" "{\"prestart\":[{\"path\":\"$T/fail-hook\"}],\"poststop\":[$(rec poststop)]}"
rt create --bundle "$T/b-fail" --pid-file "$T/fail.pid" fail </dev/null >/dev/null 2>"$T/fail.err"
rc=$?
check "a failing prestart hook fails create" [ "$rc" -ne 0 ]
check "the error names the hook, its status and its stderr" \
	grep -q 'prestart hook 0.*fail-hook.*exit status 3.*network said no' "$T/fail.err"
diag <"$T/fail.err"
check "no pid file for the failed create" [ ! -e "$T/fail.pid" ]
check "poststop ran after the failed create (as runc)" [ -e "$HK/poststop.state" ]
rt_assert_clean "failing hook"

# --- a hook past its timeout is killed -------------------------------------
make_bundle "$T/b-slow" false '["true"]'
with_hooks "$T/b-slow" '{"prestart":[{"path":"/bin/sleep","args":["sleep","60"],"timeout":1}]}'
start=$(now_ms)
rt create --bundle "$T/b-slow" --pid-file "$T/slow.pid" slow </dev/null >/dev/null 2>"$T/slow.err"
rc=$?
took=$(($(now_ms) - start))
check "a hook past its timeout fails create" [ "$rc" -ne 0 ]
check "the error says the timeout" grep -q 'prestart hook 0 (/bin/sleep): ran past its timeout of 1 s' "$T/slow.err"
check "create gave up after the timeout, not the hook's 60 s (${took} ms)" [ "$took" -lt 30000 ]
rt_assert_clean "hook timeout"

# --- hooks that would run inside the container are refused -----------------
make_bundle "$T/b-cc" false '["true"]'
with_hooks "$T/b-cc" "{\"createContainer\":[{\"path\":\"/bin/true\"}]}"
rt create --bundle "$T/b-cc" --pid-file "$T/cc.pid" cc </dev/null >/dev/null 2>"$T/cc.err"
check "createContainer hooks: create fails clearly" grep -q 'createContainer hooks run in the container' "$T/cc.err"
rt_assert_clean "createContainer hook"

check "features lists the hooks it runs" sh -c "$(RT_CMD) features | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"hooks\"] == [\"prestart\", \"createRuntime\", \"poststart\", \"poststop\"]'"

echo "1..$tap_n"
[ "$tap_failed" = 0 ]
