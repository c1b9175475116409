#!/bin/bash
# The shim under containerd's CRI plugin: a host-network pod with runtime
# handler "husk", two containers in it (echo, exit 3) whose exits the CRI
# plugin sees (it matches our /tasks/exit events), their log, one shim and
# one VM for the whole pod, and nothing left behind after the pod is
# stopped and removed.
#
# The CRI client is tests/e2e/cri_client.py on Debian's python3-grpcio; the
# CRI api.proto comes from Debian's containerd source package (cached under
# ${XDG_CACHE_HOME:-~/.cache}/husk/src) and is compiled here with
# grpc_tools.protoc.
. "$(dirname "$0")/lib.sh"

# The lib's ctr() and shim_socket() use NS: CRI's namespace here.
# shellcheck disable=SC2034
NS=k8s.io
PY=/usr/bin/python3
PAUSE=localhost/pause:latest
CLIENT=$TOP/tests/e2e/cri_client.py
SRC_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/husk/src
PROTO_PATH=vendor/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto

# The orig tarball of Debian's containerd source (the installed version),
# downloaded once into SRC_CACHE.
containerd_source() {
	local ver f
	ver=$(dpkg-query -W -f='${source:Upstream-Version}' containerd 2>/dev/null)
	[ -n "$ver" ] || return 1
	for f in "$SRC_CACHE/containerd_$ver.orig.tar."*; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	mkdir -p "$SRC_CACHE" || return 1
	(cd "$SRC_CACHE" && apt-get source --download-only containerd) \
		>"$SRC_CACHE/containerd-download.log" 2>&1 || return 1
	for f in "$SRC_CACHE/containerd_$ver.orig.tar."*; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# The CRI plugin enabled, with the husk runtime as the "husk" handler and
# no CNI configuration (host-network pods only).  Replaces the lib's.
containerd_config() {
	mkdir -p "$T/cni/bin" "$T/cni/net.d" "$T/logs"
	cat <<EOF
version = 2
root = "$T/root"
state = "$T/state"
[grpc]
  address = "$T/c.sock"
[ttrpc]
  address = "$T/c.sock.ttrpc"
[debug]
  level = "$1"
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "husk"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
      runtime_type = "$RUNTIME"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$T/cni/bin"
    conf_dir = "$T/cni/net.d"
EOF
}

cri() { "$PY" "$CLIENT" "$T/proto" "$T/c.sock" "$@"; }

# Long-lived shims (not a "start" or "delete" run) and hypervisors of this
# test, as "shim:PID" and "qemu:PID" words.
pod_processes() {
	local p cmd
	for p in $(test_pids); do
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
		case $cmd in
		*containerd-shim-husk-v2*' start '|*containerd-shim-husk-v2*' delete ') ;;
		*containerd-shim-husk-v2*) echo "shim:$p" ;;
		*qemu-system*) echo "qemu:$p" ;;
		esac
	done | sort | tr '\n' ' '
}

# Before the lib's cleanup: pods still there are stopped and removed
# through CRI (their VMs go down properly), and the shim sockets of all
# containers are noted for removal.
CGROUPS_BEFORE=$(ls -d /sys/fs/cgroup/*/k8s.io 2>/dev/null)
# shellcheck disable=SC2317 # called by the EXIT trap
cri_cleanup() {
	local rc=$? p
	set +e
	if [ -n "$T" ] && [ -n "$CTD_PID" ] && [ -f "$T/proto/api_pb2.py" ]; then
		for p in $(timeout 10 "$PY" "$CLIENT" "$T/proto" "$T/c.sock" pods 2>/dev/null); do
			timeout 20 "$PY" "$CLIENT" "$T/proto" "$T/c.sock" stopp "$p" >/dev/null 2>&1
			timeout 10 "$PY" "$CLIENT" "$T/proto" "$T/c.sock" rmp "$p" >/dev/null 2>&1
		done
	fi
	# shellcheck disable=SC2046
	[ -n "$T" ] && [ -n "$CTD_PID" ] && note_ids $(ctr containers ls -q 2>/dev/null)
	(exit "$rc")
	cleanup
	# The CRI plugin's parent cgroups, if this test made them.
	[ -z "$CGROUPS_BEFORE" ] && rmdir /sys/fs/cgroup/*/k8s.io 2>/dev/null
}

# Prerequisites that are not the lib's.
[ "$(id -u)" = 0 ] || skip_all "needs root"
"$PY" -c 'import grpc, grpc_tools' 2>/dev/null ||
	skip_all "needs python3-grpcio and python3-grpc-tools for $PY"
SRC=$(containerd_source) ||
	skip_all "cannot get Debian's containerd source (apt-get source --download-only containerd; deb-src enabled?)"

start=$(now_ms)
setup
trap cri_cleanup EXIT
# The pause image: the busybox layer with a command that sleeps.
build_image "$PAUSE" '"Entrypoint":["/bin/sleep"],"Cmd":["999999999"]'

mkdir -p "$T/proto"
top=$(tar -tf "$SRC" 2>/dev/null | head -1 | cut -d/ -f1)
if ! tar -xOf "$SRC" "$top/$PROTO_PATH" 2>/dev/null |
	grep -v gogoproto >"$T/proto/api.proto" ||
	! [ -s "$T/proto/api.proto" ]; then
	skip_all "no $PROTO_PATH in $SRC"
fi
if ! (cd "$T/proto" && "$PY" -m grpc_tools.protoc -I. --python_out=. \
	--grpc_python_out=. api.proto) 2>"$T/err"; then
	not_ok "compile the CRI api.proto"
	diag <"$T/err"
	finish
fi

out=$(cri version 2>&1)
case $out in
containerd\ *\ v1) ok "CRI Version answers ($out)" ;;
*) not_ok "CRI Version answers (got '$out')"; finish ;;
esac

pod=$(cri runp husk-pod husk "$T/logs" 2>"$T/err")
if [ -z "$pod" ]; then
	not_ok "RunPodSandbox with handler husk"
	diag <"$T/err"
	finish
fi
ok "RunPodSandbox with handler husk"
note_ids "$pod"
procs=$(pod_processes)
case $procs in
"qemu:"[0-9]*" shim:"[0-9]*" ") ok "the pod has one shim and one VM" ;;
*) not_ok "the pod has one shim and one VM (got '$procs')" ;;
esac

# c-echo: exit 0, reason Completed (the CRI plugin saw our TaskExit), log.
res=$(cri run "$pod/husk-pod" c-echo "$T/logs" "$IMG" echo hello-cri 2>"$T/err")
echo "$res" | diag
[ -s "$T/err" ] && diag <"$T/err"
expect "echo container exits 0" 0 "$(echo "$res" | sed -n 's/.*exit_code=\([0-9]*\).*/\1/p')"
expect "echo container's reason" Completed "$(echo "$res" | sed -n 's/.*reason=\([^ ]*\).*/\1/p')"
log=$(echo "$res" | sed -n 's/.*log=//p')
if [ -f "$log" ] && grep -q ' stdout F hello-cri$' "$log"; then
	ok "the container log has 'stdout F hello-cri'"
else
	not_ok "the container log has 'stdout F hello-cri' ($log: $(cat "$log" 2>/dev/null))"
fi

res=$(cri run "$pod/husk-pod" c-exit "$T/logs" "$IMG" sh -c 'exit 3' 2>"$T/err")
echo "$res" | diag
[ -s "$T/err" ] && diag <"$T/err"
expect "sh -c 'exit 3' container exits 3" 3 "$(echo "$res" | sed -n 's/.*exit_code=\([0-9]*\).*/\1/p')"
expect "exit 3 container's reason" Error "$(echo "$res" | sed -n 's/.*reason=\([^ ]*\).*/\1/p')"

# A hostPath volume (Kubernetes' default propagation), shared over virtio-fs: the container
# reads the host's file and writes one the host reads.
mkdir -p "$T/hostpath"
echo from-host >"$T/hostpath/in"
res=$(HUSK_CRI_MOUNT="$T/hostpath:/data" cri run "$pod/husk-pod" c-vol "$T/logs" \
	"$IMG" sh -c 'cat /data/in && echo from-cri >/data/out' 2>"$T/err")
echo "$res" | diag
[ -s "$T/err" ] && diag <"$T/err"
expect "hostPath volume container exits 0" 0 "$(echo "$res" | sed -n 's/.*exit_code=\([0-9]*\).*/\1/p')"
log=$(echo "$res" | sed -n 's/.*log=//p')
grep -q ' stdout F from-host$' "$log" 2>/dev/null &&
	ok "hostPath volume: the container read the host's file" ||
	not_ok "hostPath volume: the container read the host's file ($(cat "$log" 2>/dev/null))"
expect "hostPath volume: the host reads the container's file" from-cri \
	"$(cat "$T/hostpath/out" 2>&1)"

expect "all containers ran on the pod's shim and VM" "$procs" "$(pod_processes)"

if cri stopp "$pod" 2>"$T/err"; then ok "StopPodSandbox"; else not_ok "StopPodSandbox"; diag <"$T/err"; fi
if cri rmp "$pod" 2>"$T/err"; then ok "RemovePodSandbox"; else not_ok "RemovePodSandbox"; diag <"$T/err"; fi
expect "no pods left" "" "$(cri pods 2>&1)"
expect "no containers left in containerd" "" "$(ctr containers ls -q 2>&1)"
expect "no tasks left in containerd" "" "$(ctr tasks ls -q 2>&1)"
assert_clean "after the pod" "$pod"
expect "no cgroup of the pod" "" "$(find /sys/fs/cgroup -maxdepth 4 -name "*$pod*" 2>/dev/null)"
echo "# $(($(now_ms) - start)) ms"
finish
