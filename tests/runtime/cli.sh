#!/bin/bash
# husk-runtime driven directly on OCI bundles, the way containerd-shim-
# runc-v2 and conmon drive runc (tests/runtime/caller.py is that caller: a
# child subreaper that reaps the --pid-file process): output and exit
# status, stdin byte-exact, a terminal over --console-socket, exec, kill,
# delete --force, a monitor that died, and bad input.  Each case ends
# with nothing left: no QEMU, monitor, mount, socket or state directory.
# Real VMs (QEMU, TCG here).  Run from the repository root, as root.
. "$(dirname "$0")/lib.sh"
rt_setup

# caller ID BUNDLE_ARGS...: run caller.py, its key=value lines in $T/ID.res
caller() {
	local id=$1
	shift
	mkdir -p "$T/$id"
	RT="$(RT_CMD)" python3 tests/runtime/caller.py --id "$id" --dir "$T/$id" "$@" \
		>"$T/$id.res" 2>"$T/$id.py.err"
}
res() { sed -n "s/^$2=//p" "$T/$1.res" | head -1; }

# expect_res ID KEY VALUE WHAT
expect_res() {
	local got
	got=$(res "$1" "$2")
	if [ "$got" = "$3" ]; then
		ok "$4"
	else
		not_ok "$4: $2 is \"$got\", want \"$3\""
		diag <"$T/$1.res"
		diag <"$T/$1.py.err"
	fi
}

# --- output, exit code, the pid file's process ------------------------
# The sleep keeps it running while the caller asks for its state.
make_bundle "$T/b-echo" false '["sh","-c","echo hello; echo oops >&2; sleep 2; exit 7"]'
caller echo --bundle "$T/b-echo"
expect_res echo create 0 "create succeeds"
expect_res echo parent_is_us 1 "the --pid-file process is the caller's descendant (reaped by it)"
expect_res echo state_created created "state after create: created"
expect_res echo state_started running "state after start: running"
expect_res echo exit 7 "the pid file's process exits with the container's status (7)"
check "stdout reaches the caller's pipe" [ "$(cat "$T/echo/out")" = hello ]
check "stderr reaches the caller's stderr" [ "$(cat "$T/echo/err")" = oops ]
expect_res echo state_exited stopped "state after exit: stopped"
expect_res echo delete 0 "delete of a stopped container"
rt_assert_clean "echo"

# --- what the container wrote just before its exit is on the host -------
# The init's exit ends the VM with DestroySandbox alone, no RemoveContainer
# first (as the shim ends a pod's last container): the agent removes the
# container and syncs before it answers, then QEMU is killed.  A shared
# mapping left dirty, 4 MiB without a sync, a last small write, into the
# rootfs (shared with the VM); checked once the --pid-file process is gone,
# before delete (its monitor.log says which way the container went).
FSOPS=${FSOPS:-$TOP/$BUILD/tests/boot/fsops}
if [ -x "$FSOPS" ]; then
	cp "$FSOPS" "$T/rootfs/fsops"
	cat >"$T/rootfs/write-last.sh" <<'EOF'
/fsops mmap-dirty /w-mapped by-a-mapping &&
	head -c 4194304 /dev/urandom >/w-random &&
	sha256sum /w-random | cut -d" " -f1 && echo last >/w-echoed
EOF
	make_bundle "$T/b-last" false '["sh","/write-last.sh"]'
	rt create --bundle "$T/b-last" --pid-file "$T/last.pid" last \
		</dev/null >"$T/last.out" 2>"$T/last.err"
	expect "written before exit: create" 0 $?
	rt start last
	expect "written before exit: start" 0 $?
	mpid=$(cat "$T/last.pid" 2>/dev/null)
	for _ in $(seq 1200); do
		[ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null || break
		sleep 0.1
	done
	expect "written before exit: a dirty shared mapping is on the host" \
		by-a-mapping "$(cat "$T/rootfs/w-mapped" 2>&1)"
	expect "written before exit: 4 MiB are on the host" "$(cat "$T/last.out")" \
		"$(sha256sum <"$T/rootfs/w-random" | cut -d' ' -f1)"
	expect "written before exit: the last write is on the host" last \
		"$(cat "$T/rootfs/w-echoed" 2>&1)"
	check "the init's exit ends the VM with DestroySandbox alone (monitor.log)" \
		grep -q 'msg="container removed with its sandbox"' "$T/state/last/monitor.log"
	check "no RemoveContainer warning in monitor.log" \
		sh -c "! grep -q RemoveContainer '$T/state/last/monitor.log'"
	rt delete last
	expect "written before exit: delete" 0 $?
	rm -f "$T"/rootfs/w-* "$T/rootfs/fsops" "$T/rootfs/write-last.sh"
else
	not_ok "$FSOPS is missing (make $FSOPS)"
fi
rt_assert_clean "written before exit"

# --- stdin round trip, 1 MiB byte-exact --------------------------------
head -c 1048576 /dev/urandom >"$T/in.bin"
make_bundle "$T/b-cat" false '["cat"]'
caller cat --bundle "$T/b-cat" --stdin "$T/in.bin"
expect_res cat exit 0 "cat exits 0 after stdin's EOF"
if cmp -s "$T/in.bin" "$T/cat/out"; then
	ok "stdin round trip: 1 MiB byte-exact"
else
	not_ok "stdin round trip: $(stat -c %s "$T/cat/out" 2>/dev/null) bytes back, differ"
fi
rt_assert_clean "stdin"

# --- pids.max 1: the agent's namespace helper, born in the cgroup, counts
# there and cannot fork; the child then comes from outside, moved in.  The
# shell reads its cgroup's files with builtins only (it may not fork).
make_bundle "$T/b-pids" false '["true"]'
python3 - "$T/b-pids/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["sh", "-c", "read l </proc/self/cgroup; p=${l#0::}; "
                        "read m <\"/sys/fs/cgroup$p/pids.max\"; "
                        "read c <\"/sys/fs/cgroup$p/cgroup.procs\"; echo \"$m $c\""]
c["linux"]["resources"] = {"pids": {"limit": 1}}
c["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup2",
                    "source": "cgroup2", "options": ["nosuid", "noexec", "nodev", "ro"]})
json.dump(c, open(sys.argv[1], "w"))
PY
caller pids --bundle "$T/b-pids"
expect_res pids exit 0 "pids.max 1: the container runs"
expect "pids.max 1: its shell is the one process of its cgroup" "1 1" "$(cat "$T/pids/out" 2>/dev/null)"
rt_assert_clean "pids.max 1"

# --- a terminal over --console-socket -----------------------------------
printf 'typed\n' >"$T/tty.in"
make_bundle "$T/b-tty" true '["sh","-c","sleep 1; stty size; tty; read x; echo got:$x; exit 3"]'
caller tty --bundle "$T/b-tty" --console --winsize 30x100 --stdin "$T/tty.in"
expect_res tty exit 3 "terminal: exit status 3"
out=$(tr -d '\r' <"$T/tty/out" 2>/dev/null)
check "terminal: stty size sees the console's size (30 100)" grep -qx '30 100' <<<"$out"
check "terminal: the process has a pty" grep -q '^/dev/pts/' <<<"$out"
check "terminal: input typed on the master reaches the process" grep -qx 'got:typed' <<<"$out"
rt_assert_clean "terminal"

# --- exec while it runs, then kill ----------------------------------------
make_bundle "$T/b-sleep" false '["sleep","300"]'
caller exec --bundle "$T/b-sleep" --exec-args '["sh","-c","echo from-exec; exit 3"]' --kill KILL
expect_res exec exec 0 "exec --detach --process --pid-file succeeds"
expect_res exec exec_exit 3 "the exec's pid file process exits with its status (3)"
check "exec output reaches the exec's stdout" [ "$(cat "$T/exec/exec.out")" = from-exec ]
expect_res exec kill 0 "kill KILL"
expect_res exec exit 137 "killed: 128+9"
rt_assert_clean "exec and kill"

# --- delete --force of a running container --------------------------------
caller force --bundle "$T/b-sleep" --force-delete
expect_res force delete_force 0 "delete --force of a running container"
expect_res force exit 137 "its monitor exits with 137"
rt_assert_clean "delete --force"

# --- a monitor that died: stopped, delete cleans its VM ------------------
# Its bundle names a cgroup: the monitor and QEMU go there, and the
# directories go when the container does.
CG=/husk-rt-test-$$
make_bundle "$T/b-cg" false '["sleep","300"]' "$CG"
cg_dirs() { ls -d /sys/fs/cgroup/*"$CG" 2>/dev/null; }
rt create --bundle "$T/b-cg" --pid-file "$T/dead.pid" dead </dev/null >/dev/null 2>&1
mpid=$(cat "$T/dead.pid" 2>/dev/null)
if [ -n "$mpid" ]; then
	vpid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vm_pid"])' "$T/state/dead/state.json")
	procs=$(cat /sys/fs/cgroup/memory"$CG"/cgroup.procs 2>/dev/null | tr '\n' ' ')
	check "linux.cgroupsPath: the monitor is in it (memory: $procs)" grep -qw "$mpid" <<<"$procs"
	check "linux.cgroupsPath: QEMU ($vpid) is in it" grep -qw "$vpid" <<<"$procs"
	kill -KILL "$mpid"
	sleep 0.3
	st=$(rt state dead | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
	expect "a dead monitor's container is stopped" stopped "$st"
	rt delete dead
	expect "delete of a dead monitor's container" 0 $?
	sleep 0.3
	expect "delete removed the cgroups" "" "$(cg_dirs)"
else
	not_ok "create for the dead-monitor case failed"
fi
rt_assert_clean "dead monitor"
caller cg --bundle "$T/b-cg" --kill KILL
expect_res cg exit 137 "cgroupsPath: a container killed"
expect "the monitor removed its cgroups when it exited" "" "$(cg_dirs)"
rt_assert_clean "cgroupsPath"
rmdir $(cg_dirs) 2>/dev/null

# --- bad input: a clear error and nothing left ----------------------------
# bad WHAT PATTERN ARGS...: fails, stderr matches, the log has it as JSON.
bad() {
	local what=$1 pat=$2 rc
	shift 2
	rt "$@" </dev/null >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q -- "$pat" "$T/bad.err"; then
		ok "$what: fails with \"$pat\""
	else
		not_ok "$what: rc=$rc, stderr: $(cat "$T/bad.err")"
	fi
}
mkdir -p "$T/b-empty"
bad "bundle without config.json" "no config.json" create --bundle "$T/b-empty" --pid-file "$T/x.pid" nocfg
mkdir -p "$T/b-malformed"
echo '{"ociVersion": "1.0.2", "process": {' >"$T/b-malformed/config.json"
bad "malformed config.json" "config.json" create --bundle "$T/b-malformed" --pid-file "$T/x.pid" badcfg
check "the log file has the error as JSON" python3 -c '
import json, sys
last = [json.loads(l) for l in open(sys.argv[1])][-1]
assert last["level"] == "error" and "config.json" in last["msg"], last' "$T/log.json"
bad "unknown verb" 'unknown command "frobnicate"' frobnicate x
bad "unknown flag" "create: unknown flag --frobnicate" create --frobnicate x
bad "unknown global flag" "unknown flag --frobnicate" --frobnicate state x
bad "state of a missing container" "container missing does not exist" state missing
bad "--systemd-cgroup is refused" "systemd-cgroup is not supported" --systemd-cgroup create --bundle "$T/b-sleep" sd
check "no pid file written for a failed create" [ ! -e "$T/x.pid" ]
rt create --bundle "$T/b-sleep" --pid-file "$T/dup.pid" dup </dev/null >/dev/null 2>&1
expect "create dup" 0 $?
bad "an id that exists" "container with id dup already exists" create --bundle "$T/b-sleep" --pid-file "$T/dup2.pid" dup
st=$(rt state dup | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
expect "the first dup is untouched (created)" created "$st"
rt delete dup
expect "delete of a created container" 0 $?
rt delete --force never-existed
expect "delete --force of a missing container succeeds (as runc)" 0 $?
rt_assert_clean "bad input"

# --- features and --version -------------------------------------------------
check "features prints JSON with ociVersionMax" sh -c "$(RT_CMD) features | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"ociVersionMax\"]'"
check "--version names husk-runtime" sh -c "$(RT_CMD) --version | grep -q '^husk-runtime version'"

echo "1..$tap_n"
[ "$tap_failed" = 0 ]
