#!/bin/bash
# TAP: the host library's Cloud Hypervisor driver (host/hv-clh-vm.c) through
# tests/vm/vm_driver.c, against tests/vm/fake-clh.py: a stand-in VMM that
# serves the published REST API strictly, records every call, takes the
# tap fd of vm.add-net over SCM_RIGHTS and relays hybrid vsock to a real
# husk-agent running on the host (host mode), so Health.Check is real
# ttRPC.  Cloud Hypervisor itself is not packaged here and needs KVM: the
# case that would boot a real guest under it reports SKIP with the reason.
#   boot       vm_start (ping, create, info, add-net with a tap, boot,
#              info), the agent over hybrid vsock, Health.Check SERVING,
#              graceful stop (vm.shutdown, vmm.shutdown); the recorded
#              sequence against Kata's, the VmConfig checked field by field
#   image      an image instead of an initrd: virtio-pmem, root= on pmem
#   faults     the VMM exits at once, never answers, answers late; 400 on
#              vm.create, 500 on vm.boot and vm.add-net, a vm.info that is
#              not JSON, a hybrid vsock that refuses or answers garbage,
#              an agent that comes
#              up late, the VMM killed, a VMM that ignores vmm.shutdown
#   stand-in   it refuses what the real server refuses (so the passes
#              above mean something)
#   husk       husk check and husk env for [hypervisor.clh]
# After every case: no VMM left (by pid), no child left, run_dir empty.
set -u

top=$(pwd)
BUILD=${BUILD:-build}
driver=$BUILD/host/tests/vm_driver
husk=$BUILD/bin/husk
AGENT=${AGENT:-$BUILD/bin/husk-agent}
abs() { case $1 in /*) echo "$1" ;; *) echo "$top/$1" ;; esac; }
fake=$(abs tests/vm/fake-clh.py)
work=$(abs "$BUILD")/tests/clh
FSD=/usr/lib/qemu/virtiofsd

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
check() { # check COND-STATUS DESCRIPTION
	if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi
}
finish() { echo "1..$n"; [ "$failed" = 0 ]; exit; }

if [ -x /usr/bin/cloud-hypervisor ] && [ -w /dev/kvm ]; then
	not_ok "cloud-hypervisor and KVM are here: a real-guest case must be written"
else
	skip "a real guest under Cloud Hypervisor: $([ -x /usr/bin/cloud-hypervisor ] || echo "cloud-hypervisor is not installed (not packaged for Debian)")$([ -w /dev/kvm ] || echo ", no usable /dev/kvm")"
fi
for f in "$driver" "$husk" "$AGENT"; do
	[ -x "$f" ] || { not_ok "build $f first (make tests)"; finish; }
done
if [ "$(id -u)" != 0 ]; then
	skip "the driver against the stand-in: needs root (a tap, the agent in its own namespaces)"
	finish
fi
command -v python3 >/dev/null || { not_ok "python3 is needed for the stand-in VMM"; finish; }

rm -rf "$work"
mkdir -p "$work/shared" "$work/state"
export HUSK_PROBE_CACHE=$work/kvm-probe
TAP=hclh$$
AGENT_PID=
cleanup() {
	local real
	# unshare blocks SIGTERM while it waits: stop the agent itself.
	if [ -n "$AGENT_PID" ]; then
		real=$(pgrep -P "$AGENT_PID" | head -1)
		[ -n "$real" ] && kill "$real" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
	fi
	ip link del "$TAP" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# The guest's agent: husk-agent in host mode, in its own mount and pid
# namespaces, on a unix socket the stand-in relays hybrid vsock to.
unshare --kill-child -mpf --mount-proc "$AGENT" --listen "unix:$work/agent.sock" \
	--state-dir "$work/state" >"$work/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 100); do
	[ -S "$work/agent.sock" ] && break
	sleep 0.05
done
[ -S "$work/agent.sock" ] || { not_ok "host-mode agent did not start: $(cat "$work/agent.log")"; finish; }
ip tuntap add dev "$TAP" mode tap || { not_ok "cannot create tap $TAP"; finish; }

# Files the driver checks before it starts the VMM (the stand-in boots
# nothing: their contents do not matter).
printf 'kernel' >"$work/vmlinux"
printf 'initrd' >"$work/initrd"
printf 'image' >"$work/rootfs.img"

conf() { # conf NAME [KEY=VALUE lines for [hypervisor.clh]]
	local f=$work/$1.toml
	shift
	{
		echo "[hypervisor.clh]"
		echo "path = \"$fake\""
		echo "kernel = \"$work/vmlinux\""
		for kv in "$@"; do echo "$kv"; done
		echo "[agent.husk]"
		echo "dial_timeout = 60"
	} >"$f"
	echo "$f"
}

# run NAME CONFIG SCENARIO [TIMEOUT_MS] [FAULT]: the driver's output in $out,
# the stand-in's record in $rec.  The console goes to a file of ours.
run() {
	local name=$1 cfg=$2 scenario=$3 timeout=${4:-20000} fault=${5:-}
	run_dir=$work/run-$name
	rec=$work/$name.rec
	console=$work/$name.console
	rm -rf "$run_dir"
	mkdir -p "$run_dir"
	out=$(FAKE_CLH_FAULT=$fault FAKE_CLH_RECORD=$rec \
		FAKE_CLH_AGENT=$work/agent.sock VM_TAP=${NIC-$TAP} \
		"$driver" "$cfg" "$run_dir" "$work/shared" "$console" \
		"$scenario" "$timeout" 2>"$work/$name.stderr")
	rc=$?
	echo "$out" | sed 's/^/# /'
	pid=$(echo "$out" | sed -n 's/^pid=//p')
}
field() { echo "$out" | sed -n "s/^$1=//p"; }

# The VMM is gone, so is every child, and run_dir is empty.
clean() { # clean NAME
	local left
	# A failed vm_start prints no pid: the stand-in recorded its own.
	[ -z "$pid" ] && pid=$(sed -n 's/^PID //p' "$rec" 2>/dev/null)
	left=$(ls -A "$run_dir" 2>/dev/null)
	check "$([ "$(field children)" = 0 ] && { [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; } &&
		[ -z "$left" ] && echo 0)" \
		"$1: nothing left (VMM ${pid:-never started}, children $(field children), run_dir: ${left:-empty})"
}

# A JSON check on a recorded body: jsonq FILE PYTHON-EXPR (j is the body).
jsonq() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}
# The recorded body of the first call matching a line of the record.
body_of() { # body_of LINE
	local i
	i=$(grep -nx "$1" "$rec" | head -1 | cut -d: -f1)
	echo "$rec.$i.json"
}

# ---- boot -----------------------------------------------------------------
fs_cfg=$(conf boot "initrd = \"$work/initrd\"" "shared_fs = \"virtio-fs\"" \
	"virtio_fs_daemon = \"$FSD\"" "default_vcpus = 2" "default_memory = 512")
if [ ! -x "$FSD" ]; then
	not_ok "virtiofsd $FSD is needed (make deps: qemu-system-common)"
	finish
fi
run boot "$fs_cfg" health
check "$([ $rc = 0 ] && [ "$(field health)" = SERVING ] && echo 0)" \
	"boot: vm_start, the agent over hybrid vsock, Health.Check SERVING (rc=$rc $(field start_error)$(field connect_error)$(field health_error))"
check "$(field vm | grep -q '^cloud-hypervisor v48.0-husk-stand-in kvm 2 vCPU 512 MiB initrd hybrid-vsock virtio-fs$' && echo 0)" \
	"boot: vm_describe names the VMM's version (from vmm.ping) and the VM"
# Kata's StartVM: ping until up, create, info, add-net per NIC, boot, info;
# then our stop: vm.shutdown, vmm.shutdown (Kata sends only the latter).
seq=$(grep -v '^HVSOCK\|^TAP\|^EXEC\|^PID' "$rec" | uniq | tr '\n' ' ')
want="GET vmm.ping PUT vm.create GET vm.info PUT vm.add-net fds=1 PUT vm.boot GET vm.info PUT vm.shutdown PUT vmm.shutdown "
check "$([ "$seq" = "$want" ] && echo 0)" \
	"boot: the API calls are Kata's sequence, then vm.shutdown and vmm.shutdown (got: $seq)"
check "$(grep -qx "EXEC --api-socket path=$run_dir/clh-api.sock" "$rec" && echo 0)" \
	"boot: the VMM is started with --api-socket path=<run_dir>/clh-api.sock"
check "$(grep -qx "TAP $TAP mac=02:00:00:68:75:01" "$rec" && echo 0)" \
	"boot: vm.add-net carried the pod's tap over SCM_RIGHTS (the stand-in saw tap $TAP) with its MAC"
check "$(grep -qx 'HVSOCK CONNECT 1024' "$rec" && echo 0)" \
	"boot: the agent is dialled with CONNECT 1024 on the hybrid vsock socket"
create=$(body_of "PUT vm.create")
check "$(jsonq "$create" "j['payload']=={'kernel':'$work/vmlinux','initramfs':'$work/initrd','cmdline':j['payload']['cmdline']} and 'console=ttyS0' in j['payload']['cmdline']" && echo 0)" \
	"boot: VmConfig.payload: kernel, initramfs, a cmdline with the serial console"
check "$(jsonq "$create" "j['cpus']=={'boot_vcpus':2,'max_vcpus':2} and j['memory']=={'size':512<<20,'shared':True}" && echo 0)" \
	"boot: VmConfig cpus from default_vcpus, memory from default_memory, shared for virtio-fs"
check "$(jsonq "$create" "j['fs']==[{'tag':'kataShared','socket':'$run_dir/vhost-fs.sock','num_queues':1,'queue_size':1024}]" && echo 0)" \
	"boot: VmConfig.fs: tag kataShared on the pod's virtiofsd socket"
check "$(jsonq "$create" "j['vsock']=={'cid':3,'socket':'$run_dir/clh.sock'} and j['serial']=={'mode':'File','file':'/dev/fd/3'} and j['console']=={'mode':'Off'}" && echo 0)" \
	"boot: VmConfig.vsock CID 3 on <run_dir>/clh.sock; serial to the console fd, virtio-console off"
check "$(grep -q '^fake-clh: booting ' "$console" && echo 0)" \
	"boot: the VM's serial output reached the console the caller gave"
check "$(jsonq "$(body_of "PUT vm.add-net fds=1")" "j=={'id':'net0','mac':'02:00:00:68:75:01','num_queues':2,'queue_size':256}" && echo 0)" \
	"boot: NetConfig is id, mac and one queue pair per tap fd (no tap name: the fd is the tap)"
clean boot

# ---- image ------------------------------------------------------------------
img_cfg=$(conf image "image = \"$work/rootfs.img\"" "shared_fs = \"none\"")
NIC= run image "$img_cfg" health
create=$(body_of "PUT vm.create")
check "$([ $rc = 0 ] && jsonq "$create" "j['pmem']==[{'file':'$work/rootfs.img','discard_writes':True}] and 'initramfs' not in j['payload'] and 'root=/dev/pmem0p1' in j['payload']['cmdline'] and 'fs' not in j and j['memory']['shared']==False" && echo 0)" \
	"image: the rootfs image is virtio-pmem (writes discarded), root= on pmem0p1; no fs, memory not shared (rc=$rc $(field start_error))"
check "$(! grep -q 'vm.add-net' "$rec" && echo 0)" \
	"image: a pod without NICs makes no vm.add-net"
clean image

# ---- faults -------------------------------------------------------------------
fault() { # fault NAME SCENARIO FAULT TIMEOUT_MS
	run "$1" "$fs_cfg" "$2" "$4" "$3"
}

fault exit-early start exit-early 20000
err=$(field start_error)
check "$([ $rc = 0 ] && [ "$(field start_ms)" -lt 5000 ] &&
	echo "$err" | grep -q 'VM failed to start: cloud-hypervisor exited with status 1: .*injected early exit' && echo 0)" \
	"exit-early: fails at once ($(field start_ms) ms), with the exit status and the VMM's own message: $err"
clean exit-early

fault never-answer start never-answer 20000
err=$(field start_error)
check "$([ $rc = 0 ] && [ "$(field start_ms)" -ge 9000 ] && [ "$(field start_ms)" -lt 16000 ] &&
	echo "$err" | grep -q 'did not answer vmm.ping within 10 s' && echo 0)" \
	"never-answer: gives up after Kata's 10 s ($(field start_ms) ms) and says so: $err"
clean never-answer

fault slow-ping health slow-ping 20000
check "$([ $rc = 0 ] && [ "$(field health)" = SERVING ] && [ "$(field start_ms)" -ge 2000 ] && echo 0)" \
	"slow-ping: an API that comes up after 2 s is waited for ($(field start_ms) ms), then all works"
clean slow-ping

fault create-400 start create-400 20000
err=$(field start_error)
check "$([ $rc = 0 ] && echo "$err" | grep -q 'PUT vm.create: HTTP 400: \["Error from API","The VM could not be created","injected by FAKE_CLH_FAULT"\]' && echo 0)" \
	"create-400: the status and the VMM's error chain are quoted: $err"
clean create-400

fault boot-500 start boot-500 20000
err=$(field start_error)
check "$([ $rc = 0 ] && echo "$err" | grep -q 'PUT vm.boot: HTTP 500: .*The VM could not boot' && echo 0)" \
	"boot-500: quoted, and nothing runs after it: $err"
clean boot-500

fault add-net-500 start add-net-500 20000
err=$(field start_error)
check "$([ $rc = 0 ] && echo "$err" | grep -q 'PUT vm.add-net: HTTP 500: .*net device could not be added' && echo 0)" \
	"add-net-500: quoted: $err"
clean add-net-500

fault info-bad-json start info-bad-json 20000
err=$(field start_error)
check "$([ $rc = 0 ] && echo "$err" | grep -q 'GET vm.info: not a VmInfo' && echo 0)" \
	"info-bad-json: a vm.info body that is not a VmInfo is refused: $err"
clean info-bad-json

fault refuse connect handshake-refuse 3000
err=$(field connect_error)
check "$([ $rc = 0 ] && [ "$(field connect_ms)" -lt 6000 ] &&
	echo "$err" | grep -q 'agent did not answer on hybrid vsock port 1024 within 3000 ms (the VM is running): .*closed without OK' && echo 0)" \
	"handshake-refuse: the dial timeout holds ($(field connect_ms) ms) and the cause is named: $err"
check "$([ "$(grep -c '^HVSOCK CONNECT 1024$' "$rec")" -ge 3 ] && echo 0)" \
	"handshake-refuse: the driver redials while nothing listens ($(grep -c '^HVSOCK' "$rec") tries)"
clean refuse

fault garbage connect handshake-garbage 20000
err=$(field connect_error)
check "$([ $rc = 0 ] && [ "$(field connect_ms)" -lt 3000 ] &&
	echo "$err" | grep -q 'not a handshake answer: OK port' && echo 0)" \
	"handshake-garbage: an answer that is no \"OK <port>\" fails at once ($(field connect_ms) ms): $err"
clean garbage

fault agent-late health agent-late 20000
check "$([ $rc = 0 ] && [ "$(field health)" = SERVING ] && [ "$(field connect_ms)" -ge 1000 ] && echo 0)" \
	"agent-late: refused for 2 s, then the agent is reached ($(field connect_ms) ms)"
clean agent-late

fault kill kill "" 20000
err=$(field connect_after_kill)
check "$([ $rc = 0 ] && [ "$(field running)" = 0 ] &&
	echo "$err" | grep -q 'VM exited before the agent answered: cloud-hypervisor was killed by signal 9' && echo 0)" \
	"kill: a VMM killed is noticed (vm_running 0) and named: $err"
clean kill

fault ignore-shutdown health ignore-shutdown 20000
check "$([ $rc = 0 ] && [ "$(field stop_ms)" -ge 2500 ] && [ "$(field stop_ms)" -lt 10000 ] && echo 0)" \
	"ignore-shutdown: a VMM that stays after vmm.shutdown is killed after the bounded wait ($(field stop_ms) ms)"
clean ignore-shutdown

# ---- the stand-in's own strictness -----------------------------------------------
# What the driver never sends must be refused, or the passes above are empty.
sock=$work/strict.sock
FAKE_CLH_RECORD= "$fake" --api-socket "path=$sock" 2>"$work/strict.log" &
spid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
req() { # req METHOD ENDPOINT [BODY]: prints the status line's code
	python3 - "$sock" "$@" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
body = sys.argv[4].encode() if len(sys.argv) > 4 else b""
h = "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\n" % (sys.argv[2], sys.argv[3])
if body:
    h += "Content-Type: application/json\r\n"
h += "Content-Length: %d\r\n\r\n" % len(body)
s.sendall(h.encode() + body)
print(s.recv(4096).split(b" ")[1].decode())
EOF
}
good="{\"payload\":{\"kernel\":\"$work/vmlinux\"}}"
check "$([ "$(req PUT vm.boot)" = 404 ] && echo 0)" "stand-in: vm.boot before vm.create is 404"
check "$([ "$(req GET vm.create "$good")" = 400 ] && echo 0)" "stand-in: a wrong method is 400"
check "$([ "$(req PUT vm.frobnicate)" = 404 ] && echo 0)" "stand-in: an unknown endpoint is 404"
check "$([ "$(req PUT vm.create '{"payload":{"kernel":"/k"},"bogus":1}')" = 400 ] && echo 0)" "stand-in: an unknown field is 400"
check "$([ "$(req PUT vm.create '{"cpus":{"boot_vcpus":1,"max_vcpus":1}}')" = 400 ] && echo 0)" "stand-in: a missing required field (payload) is 400"
check "$([ "$(req PUT vm.create '{"payload":{"kernel":"/k"},"memory":{"size":"1G"}}')" = 400 ] && echo 0)" "stand-in: a wrong type is 400"
check "$([ "$(req PUT vm.create "{\"payload\":{\"kernel\":\"$work/vmlinux\"},\"fs\":[{\"tag\":\"t\",\"socket\":\"/s\",\"num_queues\":1,\"queue_size\":1024}]}")" = 500 ] && echo 0)" \
	"stand-in: virtio-fs without shared memory is refused as the VMM does"
check "$([ "$(req PUT vm.create '{"payload":')" = 400 ] && echo 0)" "stand-in: bad JSON is 400"
check "$([ "$(req PUT vm.add-net '{"mac":"02:00:00:00:00:01"}')" = 404 ] && echo 0)" "stand-in: vm.add-net before vm.create is 404"
check "$([ "$(req PUT vm.create "$good")" = 204 ] && [ "$(req PUT vm.add-net '{"mac":"02:00:00:00:00:01"}')" = 400 ] && echo 0)" \
	"stand-in: vm.add-net without a tap fd is 400"
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null

# ---- husk check / husk env -------------------------------------------------------
chk=$("$husk" check --config "$fs_cfg" 2>&1)
echo "$chk" | sed 's/^/# /'
check "$(echo "$chk" | grep -q "^ok    hypervisor    $fake (cloud-hypervisor v48.0-husk-stand-in)" &&
	echo "$chk" | grep -q '^ok    agent         hybrid vsock' && echo 0)" \
	"husk check: names the VMM and its version (--version) and the agent channel"
if [ -w /dev/kvm ]; then
	skip "husk check without KVM: this host has /dev/kvm"
else
	check "$(echo "$chk" | grep -q '^FAIL  kvm           Cloud Hypervisor needs KVM' && echo 0)" \
		"husk check: no KVM FAILs for Cloud Hypervisor (it has no TCG)"
fi
env_out=$("$husk" env --config "$fs_cfg" 2>&1)
check "$(echo "$env_out" | grep -q '^\[hypervisor.clh\]' && echo "$env_out" | grep -q '^driver = "clh"' &&
	echo "$env_out" | grep -q '^agent_channel = "hybrid-vsock"' && echo "$env_out" | grep -q '^vm_create = "{\\"payload\\"' && echo 0)" \
	"husk env: the effective driver, its channel and the VmConfig it sends"
ninep=$(conf ninep "initrd = \"$work/initrd\"" "shared_fs = \"virtio-9p\"")
chk=$("$husk" check --config "$ninep" 2>&1)
check "$([ $? = 1 ] && echo "$chk" | grep -q 'Cloud Hypervisor has no virtio-9p' && echo 0)" \
	"husk check: [hypervisor.clh] with virtio-9p is refused by name"

finish
