# shellcheck shell=bash
# Shared by the CRI end-to-end tests (sourced after lib.sh, bash): the CRI
# api.proto from Debian's containerd source package compiled for
# cri_client.py, the client itself, the pod's shim and VM processes, and a
# cleanup that stops and removes pods through CRI before lib.sh's.
#
# A test may redefine cri_handlers and set CNI_BIN / CNI_CONF before
# setup; it calls cri_prereqs before and cri_setup after lib.sh's setup.

# The lib's ctr() and shim_socket() use NS: CRI's namespace here.
# shellcheck disable=SC2034
NS=k8s.io
PY=/usr/bin/python3
PAUSE=localhost/pause:latest
CLIENT=$TOP/tests/e2e/cri_client.py
SRC_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/husk/src
PROTO_PATH=vendor/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto
# The runtimes table: husk by default; a test redefines this to add its
# own handlers (runc, a second husk configuration, ...).  Runs with $T set.
cri_handlers() {
	cat <<EOF
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
      runtime_type = "$RUNTIME"
EOF
}
# CNI directories; empty ones under $T when unset.
CNI_BIN=${CNI_BIN:-}
CNI_CONF=${CNI_CONF:-}

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

# The CRI plugin enabled with cri_handlers, husk the default handler, and
# the CNI directories (empty ones under $T unless the test names its
# own).  Replaces the lib's.
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
$(cri_handlers)
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN:-$T/cni/bin}"
    conf_dir = "${CNI_CONF:-$T/cni/net.d}"
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

# Prerequisites that are not the lib's; prints the containerd source
# tarball.  Call before setup.
cri_prereqs() {
	[ "$(id -u)" = 0 ] || skip_all "needs root"
	"$PY" -c 'import grpc, grpc_tools' 2>/dev/null ||
		skip_all "needs python3-grpcio and python3-grpc-tools for $PY"
	SRC=$(containerd_source) ||
		skip_all "cannot get Debian's containerd source (apt-get source --download-only containerd; deb-src enabled?)"
}

# After setup: the cleanup, the pause image and the compiled api.proto;
# then Version must answer.
cri_setup() {
	local top out
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
}
