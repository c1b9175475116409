#!/bin/bash
# The shim with hypervisor "clh", end to end under a private containerd,
# against the stand-in VMM tests/vm/fake-clh.py (Cloud Hypervisor is not
# packaged here and needs KVM): its "guest" is husk-agent in host mode,
# started by the stand-in on vm.boot, reached over hybrid vsock, with the
# pod's virtio-fs share bound where the guest would mount it.  So the
# shim's whole path runs for real except the VM itself: create, start,
# stdio, exit codes, exec, kill, delete; the VMM killed under a running
# task; a VMM that never answers; a 4xx and a 5xx from the API; a hybrid
# vsock that never says OK.  Nothing may be left after each.
. "$(dirname "$0")/lib.sh"

FAKE=$TOP/tests/vm/fake-clh.py
AGENT=$TOP/$BUILD/bin/husk-agent
[ -x "$AGENT" ] || { echo "not ok 1 - $AGENT is missing (make)"; exit 1; }
command -v python3 >/dev/null || { echo "not ok 1 - python3 is needed for the stand-in VMM"; exit 1; }

# The stand-in boots nothing: setup() only checks that these exist.
ASSETS=$(mktemp -d /tmp/hclh-assets.XXXXXX)
printf kernel >"$ASSETS/vmlinux"
printf initrd >"$ASSETS/initrd"
KERNEL=$ASSETS/vmlinux
INITRD=$ASSETS/initrd
CG_BEFORE=$(ls -d /sys/fs/cgroup/*/default /sys/fs/cgroup/default 2>/dev/null)
setup
# The stand-in's guest is a process on this host: when it is killed with
# its VMM (the killed cases below), its containers' cgroups stay, where a
# real guest's would vanish with the VM.  Remove those of our ids.
clh_cleanup() {
	local d
	cleanup
	for d in /sys/fs/cgroup/*/default/c-* /sys/fs/cgroup/default/c-*; do
		case ${d##*/} in
		c-run|c-exit|c-exec|c-vmm|c-shim|c-never|c-400|c-500|c-refuse) rmdir "$d" 2>/dev/null ;;
		esac
	done
	for d in /sys/fs/cgroup/*/default /sys/fs/cgroup/default; do
		echo "$CG_BEFORE" | grep -qxF "$d" || rmdir "$d" 2>/dev/null
	done
	rm -rf "$ASSETS"
}
trap clh_cleanup EXIT

# The stand-in and the agents it starts are ours too.
LEFTOVER_PATTERN='containerd-shim|fake-clh|husk-agent|virtiofsd'

mkdir -p "$T/vms"
# clh_config NAME [FAULT]: a configuration whose "path" is a wrapper that
# starts the stand-in with FAULT; its calls are recorded in $T/NAME.rec.
clh_config() {
	local name=$1 fault=${2:-}
	cat >"$T/clh-$name" <<EOF
#!/bin/sh
FAKE_CLH_FAULT=$fault FAKE_CLH_AGENT_BIN=$AGENT FAKE_CLH_TMP=$T/vms \\
FAKE_CLH_RECORD=$T/$name.rec exec python3 $FAKE "\$@"
EOF
	chmod +x "$T/clh-$name"
	cat >"$T/$name.toml" <<EOF
[hypervisor.clh]
path = "$T/clh-$name"
kernel = "$KERNEL"
initrd = "$INITRD"
default_vcpus = 1
default_memory = 256
shared_fs = "virtio-fs"
[agent.husk]
dial_timeout = ${DIAL_TIMEOUT:-30}
EOF
	echo "$T/$name.toml"
}

note_ids c-run c-exit c-exec c-vmm c-shim c-never c-400 c-500 c-refuse

run_clh() { # run_clh CONFIG ID ARGS...
	local conf=$1
	shift
	ctr run --rm --runtime "$RUNTIME" --runtime-config-path "$conf" "$IMG" "$@"
}

# ---- the good path ---------------------------------------------------------
conf=$(clh_config good)
out=$(run_clh "$conf" c-run echo hello from clh 2>&1)
rc=$?
expect "ctr run: the container's output comes back through the stand-in's VM" \
	"0 hello from clh" "$rc $out"
seq=$(grep -E '^(GET|PUT) ' "$T/good.rec" | uniq | tr '\n' ' ')
expect "ctr run: the VMM got Kata's call sequence, then vm.shutdown and vmm.shutdown" \
	"GET vmm.ping PUT vm.create GET vm.info PUT vm.boot GET vm.info PUT vm.shutdown PUT vmm.shutdown " "$seq"
check "ctr run: the agent was dialled over hybrid vsock (CONNECT 1024)" \
	grep -qx 'HVSOCK CONNECT 1024' "$T/good.rec"
assert_clean "ctr run" c-run

out=$(run_clh "$conf" c-exit sh -c 'echo out; echo err >&2; exit 7' 2>&1)
rc=$?
expect "exit code and both streams" "7 err out" "$rc $(echo "$out" | sort | tr '\n' ' ' | sed 's/ $//')"
assert_clean "exit code" c-exit

ctr run -d --runtime "$RUNTIME" --runtime-config-path "$conf" "$IMG" c-exec sleep 1000 >/dev/null 2>&1
if wait_status c-exec RUNNING; then
	ok "run -d: the task runs"
	out=$(ctr task exec --exec-id e1 c-exec sh -c 'echo exec says hi; exit 3' 2>&1)
	rc=$?
	expect "exec: output and exit code" "3 exec says hi" "$rc $out"
	ctr task kill -s SIGKILL c-exec >/dev/null 2>&1
	wait_status c-exec STOPPED && ok "kill: the task stops" || not_ok "kill: the task did not stop ($(task_status c-exec))"
	ctr task delete c-exec >/dev/null 2>&1
	ctr containers delete c-exec >/dev/null 2>&1
	expect "delete: the task is gone" "" "$(task_status c-exec)"
else
	not_ok "run -d: the task does not run ($(task_status c-exec))"
	kill_tasks
fi
assert_clean "exec, kill, delete" c-exec

# ---- the VMM killed under a running task ---------------------------------------
run_clh "$conf" c-vmm sleep 1000 >/dev/null 2>&1 &
bg=$!
if wait_status c-vmm RUNNING; then
	vm=$(ctr task ls | awk '$1 == "c-vmm" { print $2 }')
	t0=$(now_ms)
	kill -KILL "$vm"
	wait "$bg"
	rc=$?
	el=$(($(now_ms) - t0))
	expect "VMM killed: the task exits with 255" 255 "$rc"
	[ "$el" -lt 3000 ] && ok "VMM killed: exit seen in $el ms" ||
		not_ok "VMM killed: exit took $el ms"
else
	not_ok "VMM killed: the task never ran ($(task_status c-vmm))"
	kill "$bg" 2>/dev/null
	wait "$bg"
fi
CLEAN_WITHIN_MS=3000 assert_clean "VMM killed" c-vmm

# ---- the shim killed: its VMM dies with it (parent-death signal), the
# stand-in's guest with the VMM, and containerd's "delete" cleans up the
# rest (the VMM's sockets included).
ctr run -d --runtime "$RUNTIME" --runtime-config-path "$conf" "$IMG" c-shim sleep 1000 >/dev/null 2>&1
if wait_status c-shim RUNNING; then
	shim=$(cat "$T/state/io.containerd.runtime.v2.task/$NS/c-shim/shim.pid" 2>/dev/null)
	kill -KILL "$shim"
	for _ in $(seq 50); do
		[ -z "$(task_status c-shim)" ] && break
		sleep 0.1
	done
	expect "shim killed: containerd drops the task" "" "$(task_status c-shim)"
else
	not_ok "shim killed: the task never ran ($(task_status c-shim))"
fi
ctr containers delete c-shim >/dev/null 2>&1
CLEAN_WITHIN_MS=3000 assert_clean "shim killed" c-shim

# ---- the VMM misbehaves: Create fails, says why, leaves nothing ----------------------
expect_fail() { # DESCRIPTION ID CONFIG PATTERN
	local d=$1 id=$2 conf=$3 pat=$4 out rc t0
	t0=$(now_ms)
	out=$(run_clh "$conf" "$id" echo never 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && echo "$out" | grep -qE -- "$pat"; then
		ok "$d: fails in $(($(now_ms) - t0)) ms and says so"
		echo "$out" | head -3 | diag
	else
		not_ok "$d: want an error matching '$pat' (rc $rc, got '$out')"
	fi
	ctr containers delete "$id" >/dev/null 2>&1
	assert_clean "$d" "$id"
}
expect_fail "a VMM that never answers the API" c-never "$(clh_config never never-answer)" \
	'did not answer vmm.ping within 10 s'
expect_fail "a 4xx from vm.create" c-400 "$(clh_config c400 create-400)" \
	'PUT vm.create: HTTP 400: \["Error from API","The VM could not be created"'
expect_fail "a 5xx from vm.boot" c-500 "$(clh_config c500 boot-500)" \
	'PUT vm.boot: HTTP 500: \["Error from API","The VM could not boot"'
DIAL_TIMEOUT=3 expect_fail "a hybrid vsock that never says OK" c-refuse \
	"$(DIAL_TIMEOUT=3 clh_config refuse handshake-refuse)" \
	'agent did not answer on hybrid vsock port 1024'

finish
