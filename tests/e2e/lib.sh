# Shared by the end-to-end tests (sourced, bash): a private containerd
# (own root, state, sockets, no CRI plugin) that finds
# containerd-shim-husk-v2 on its PATH, a busybox image built here with
# tar/gzip/sha256sum and imported, a husk configuration that boots the
# build tree's kernel and initrd under QEMU, and TAP helpers.  On exit, also
# after a failure, everything the test started is stopped by PID, unmounted
# and removed, and the test checks that nothing of it is left.
#
# Run from the repository root.  HUSK_E2E_DEBUG=1 keeps debug logs.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

TOP=$(pwd)
BUILD=${BUILD:-build}
IMAGES=${IMAGES:-images}
SHIM=${HUSK_E2E_SHIM:-$TOP/$BUILD/bin/containerd-shim-husk-v2}
KERNEL=${HUSK_KERNEL:-$TOP/$IMAGES/vmlinux-husk}
INITRD=${HUSK_INITRD:-$TOP/$IMAGES/husk-initrd.img}
QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
IMG=localhost/busybox:latest
RUNTIME=io.containerd.husk.v2
NS=default

T=
CTD_PID=
RUN_EXISTED=
RUNC_USED=
now_ms() { date +%s%3N; }

# ctr on the test's containerd.  The verbs that make IO FIFOs make them
# under $T: the default, /run/containerd/fifo, is shared with the host's
# and other tests' ctr, whose FIFOs are not ours to remove.
ctr_argv() {
	CTR_ARGV=(-a "$T/c.sock" -n "$NS")
	case "$1 ${2:-}" in
	run\ *) CTR_ARGV+=(run --fifo-dir "$T/fifo" "${@:2}") ;;
	"task start" | "task exec" | "t start" | "t exec" | "tasks start" | "tasks exec")
		CTR_ARGV+=("$1" "$2" --fifo-dir "$T/fifo" "${@:3}") ;;
	*) CTR_ARGV+=("$@") ;;
	esac
}
ctr() {
	ctr_argv "$@"
	command ctr "${CTR_ARGV[@]}"
}

# husk_run ID ARGS...: ctr run --rm with the husk runtime (extra ctr
# options go in the RUN_OPTS array).
RUN_OPTS=()
husk_run() {
	local id=$1
	shift
	ctr run --rm --runtime "$RUNTIME" "${RUN_OPTS[@]}" "$IMG" "$id" "$@"
}

# shim_log_ms TEXT: the time (epoch ms, the shim's own clock) of the first
# line of containerd.log that contains TEXT, or nothing.
shim_log_ms() {
	local ts
	ts=$(grep -F -- "$1" "$T/containerd.log" | head -1 |
		sed -n 's/^time="\([^"]*\)".*/\1/p')
	[ -n "$ts" ] && date -d "$ts" +%s%3N
}

# The shim socket containerd and the shim agree on for ID.
shim_socket() {
	printf '/run/containerd/s/%s' \
		"$(printf %s "$T/c.sock/$NS/$1" | sha256sum | cut -d' ' -f1)"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# build_image [NAME [PROCESS]]: a busybox OCI image made with tar, gzip
# and sha256sum only, imported as NAME (default $IMG); PROCESS is the image
# config's command part in JSON (default "Cmd":["/bin/sh"]).
build_image() {
	local name=${1:-$IMG} process=${2:-'"Cmd":["/bin/sh"]'}
	local w=$T/img b diff layer cfg man
	make_rootfs "$w/rootfs"
	b=$w/oci/blobs/sha256
	mkdir -p "$b"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
		-C "$w/rootfs" -cf "$w/layer.tar" .
	diff=$(sha "$w/layer.tar")
	gzip -n -c "$w/layer.tar" >"$w/layer.tgz"
	layer=$(sha "$w/layer.tgz")
	mv "$w/layer.tgz" "$b/$layer"
	printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$process" "$diff" >"$w/config.json"
	cfg=$(sha "$w/config.json")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
		"$cfg" "$(stat -c %s "$w/config.json")" "$layer" \
		"$(stat -c %s "$b/$layer")" >"$w/manifest.json"
	man=$(sha "$w/manifest.json")
	mv "$w/config.json" "$b/$cfg"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"}}]}' \
		"$man" "$(stat -c %s "$w/manifest.json")" "$name" >"$w/oci/index.json"
	mv "$w/manifest.json" "$b/$man"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci/oci-layout"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
		-C "$w/oci" -cf "$w/image.tar" oci-layout index.json blobs
	ctr images import "$w/image.tar" >/dev/null
	rm -rf "$w"
}

# write_husk_config FILE [key=value lines for [hypervisor.qemu]]...
write_husk_config() {
	local f=$1
	shift
	{
		echo "[hypervisor.qemu]"
		echo "path = \"$QEMU\""
		echo "kernel = \"$KERNEL\""
		echo "initrd = \"$INITRD\""
		echo "machine_type = \"${HUSK_E2E_MACHINE:-microvm}\""
		echo "accel = \"${HUSK_E2E_ACCEL:-tcg}\""
		echo "default_vcpus = 1"
		echo "default_memory = 256"
		# virtio-fs unless a test asks for 9p (run-9p.sh); explicit,
		# so a host without virtiofsd fails instead of falling back.
		echo "shared_fs = \"${HUSK_E2E_SHARED_FS:-virtio-fs}\""
		for kv in "$@"; do echo "$kv"; done
		echo "[agent.husk]"
		echo "dial_timeout = ${DIAL_TIMEOUT:-30}"
		echo "[runtime]"
		if [ -n "${HUSK_E2E_DEBUG:-}" ]; then
			echo "enable_debug = true"
		else
			echo "enable_debug = false"
		fi
	} >"$f"
}

# mk_initrd OUT INIT-SCRIPT: a busybox initrd whose /init is the script
# (a guest without the agent: hung, dying or misbehaving on purpose).
mk_initrd() {
	local d=$T/initrd.$$ a
	rm -rf "$d"
	mkdir -p "$d"/{bin,dev,proc,sys}
	cp /bin/busybox "$d/bin/busybox"
	for a in sh mount sleep head cat echo ls; do ln -s busybox "$d/bin/$a"; done
	printf '#!/bin/sh\nexport PATH=/bin\n%s\n' "$2" >"$d/init"
	chmod 755 "$d/init"
	(cd "$d" && find . | cpio -o -H newc --quiet) >"$1"
	rm -rf "$d"
}

# containerd's configuration on stdout, for log level $1.  A test may
# define its own (tests/e2e/cri.sh enables the CRI plugin).
containerd_config() {
	cat <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$T/c.sock"
[ttrpc]
  address = "$T/c.sock.ttrpc"
[debug]
  level = "$1"
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
EOF
}

start_containerd() {
	local level=info
	[ -n "${HUSK_E2E_DEBUG:-}" ] && level=debug
	mkdir -p "$T/root" "$T/state" "$T/bin" "$T/run"
	ln -sf "$SHIM" "$T/bin/containerd-shim-husk-v2"
	containerd_config "$level" >"$T/config.toml"
	# Sanitizer reports of an ASan shim go to files: its log FIFO may
	# already be closed when LeakSanitizer runs at exit.
	PATH="$T/bin:$PATH" HUSK_CONF_FILE="$T/husk.toml" HUSK_RUN_ROOT="$T/run" \
		HUSK_PROBE_CACHE="$T/probe" \
		ASAN_OPTIONS="log_path=$T/asan" UBSAN_OPTIONS="log_path=$T/asan:print_stacktrace=1" \
		containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
	CTD_PID=$!
	for _ in $(seq 100); do
		ctr version >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "# containerd did not start:"
	diag <"$T/containerd.log"
	return 1
}

# Processes this test started and that may outlive containerd: shims and
# hypervisors name the test directory on their command line.
test_pids() {
	local p args
	for p in /proc/[0-9]*; do
		# Builtins only: a tr and a grep per process took 25 s a pass
		# at load 15, and assert_clean makes several passes.
		{ mapfile -d '' -t args <"$p/cmdline"; } 2>/dev/null || continue
		[[ "${args[*]}" == *"$T/"* ]] && echo "${p#/proc/}"
	done | grep -vx "$$"
}

# The QEMU of the pod whose sandbox id is ID (its -name), if it runs.
pod_qemu_pid() {
	local p args
	for p in $(test_pids); do
		{ mapfile -d '' -t args <"/proc/$p/cmdline"; } 2>/dev/null || continue
		if [[ " ${args[*]} " == *qemu-system*" -name sandbox-$1 "* ]]; then
			echo "$p"
			return
		fi
	done
}

# Shims, hypervisors and virtiofsd (monitor and sandboxed child: both
# name the shared directory under $T) of this test still running.
# Processes of this test that must be gone after a cleanup: the command
# lines LEFTOVER_PATTERN (an extended regex) matches.
LEFTOVER_PATTERN=${LEFTOVER_PATTERN:-'containerd-shim|qemu-system|virtiofsd'}
leftover_processes() {
	local p cmd out=
	for p in $(test_pids); do
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
		[[ $cmd =~ $LEFTOVER_PATTERN ]] && out="$out $p:$(echo "$cmd" | cut -c1-80)"
	done
	echo "$out"
}

leftover_mounts() {
	grep -F " $T/" /proc/self/mountinfo | awk '{print $5}'
}

# assert_clean ID...: after the tasks are gone nothing of them is left
# (within a couple of seconds): no shim or hypervisor process, no mount,
# no shim socket, nothing in the run directory.
assert_clean() {
	local what=$1 id left end
	shift
	end=$(($(now_ms) + ${CLEAN_WITHIN_MS:-3000}))
	while :; do
		left=$(leftover_processes)
		for id in "$@"; do
			[ -e "$(shim_socket "$id")" ] && left="$left socket:$id"
		done
		[ -n "$(ls -A "$T/run/$NS" 2>/dev/null)" ] &&
			left="$left rundir:$(ls -A "$T/run/$NS" | tr '\n' ' ')"
		[ -n "$(leftover_mounts)" ] && left="$left mounts:$(leftover_mounts | tr '\n' ' ')"
		[ -n "$(find "$T/run" -name '*.sock' 2>/dev/null)" ] &&
			left="$left sockets:$(find "$T/run" -name '*.sock' | tr '\n' ' ')"
		[ -z "$left" ] && break
		[ "$(now_ms)" -ge "$end" ] && break
		sleep 0.1
	done
	if [ -z "$left" ]; then
		ok "$what: nothing left behind"
	else
		not_ok "$what: left behind:$left"
	fi
}

# finish: sanitizer reports (when the shim is an ASan build) count as a
# failure; then the plan and the exit status.
finish() {
	sleep 0.2
	if grep -qE 'Sanitizer|runtime error:' "$T/containerd.log" ||
		ls "$T"/asan.* >/dev/null 2>&1; then
		not_ok "the shim has sanitizer reports"
		grep -E -A12 'Sanitizer|runtime error:' "$T/containerd.log" | head -60 | diag
		cat "$T"/asan.* 2>/dev/null | head -60 | diag
	fi
	echo "1..$tap_n"
	[ "$tap_failed" = 0 ]
	exit
}

# ctr_t SECONDS ARGS...: ctr bounded in time (timeout runs the binary,
# not the ctr function above, hence the explicit address and namespace).
ctr_t() {
	local t=$1
	shift
	ctr_argv "$@"
	timeout "$t" ctr "${CTR_ARGV[@]}"
}

# task_status ID: RUNNING, PAUSED, STOPPED, ... (empty when there is none).
task_status() { ctr task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }

# wait_status ID STATUS [SECONDS]: until the task has STATUS, bounded
# (default 60 s: a boot under TCG on a loaded 2-core machine has taken
# more than 10).
wait_status() {
	local i
	for ((i = 0; i < ${3:-60} * 10; i++)); do
		[ "$(task_status "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# Bounded: a hung shim must not hang the cleanup (containerd is stopped
# right after, by PID).
kill_tasks() {
	local id
	for id in $(ctr_t 10 task ls -q 2>/dev/null); do
		ctr_t 10 task kill -s SIGKILL "$id" >/dev/null 2>&1
	done
	sleep 0.2
	for id in $(ctr_t 10 task ls -q 2>/dev/null); do
		ctr_t 20 task delete -f "$id" >/dev/null 2>&1
	done
	for id in $(ctr_t 10 containers ls -q 2>/dev/null); do
		ctr_t 10 containers delete "$id" >/dev/null 2>&1
	done
}

cleanup() {
	local p rc=$? sock
	set +e
	# A closed stdout, or a second INT or TERM (whose trap exits), must
	# not cut the cleanup short: a shim and its socket were left so.
	trap '' PIPE INT TERM HUP
	[ -z "$T" ] && return
	if [ -n "$CTD_PID" ]; then
		kill_tasks
		kill -TERM "$CTD_PID" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$CTD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$CTD_PID" 2>/dev/null
		wait "$CTD_PID" 2>/dev/null
	fi
	for p in $(test_pids); do kill -KILL "$p" 2>/dev/null; done
	leftover_mounts | sort -r | while read -r m; do umount -l "$m"; done
	for sock in /run/containerd/s/*; do
		[ -S "$sock" ] || continue
		# Ours were made for an address under $T.
		grep -qF "$sock" "$T/sockets" 2>/dev/null && rm -f "$sock"
	done
	if [ -n "${RUNC_USED:-}" ]; then
		# runc's shim leaves its state dir and empty per-namespace cgroups.
		rm -rf "/run/containerd/runc/$NS"
		rmdir /run/containerd/runc /sys/fs/cgroup/*/"$NS" 2>/dev/null
	fi
	# The directories containerd made for this test, if they were not there.
	for p in /run/containerd/s /run/containerd/fifo /run/containerd; do
		echo "$RUN_EXISTED" | grep -qxF "$p" || rmdir "$p" 2>/dev/null
	done
	if [ "$tap_failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
		echo "# containerd log (shim lines, last 60):"
		grep -E 'shim|husk|level=(error|warning)' "$T/containerd.log" | tail -n 60 | diag
	fi
	rm -rf "$T"
	T=
}

# Remember the socket containerd will dial for ID, for cleanup.
note_ids() {
	local id
	for id in "$@"; do shim_socket "$id" >>"$T/sockets"; done
}

# require_vm_assets BINARY: root, busybox and QEMU, or the program is
# skipped; BINARY and the guest assets built, or it fails (a missing guest
# asset is a failure, never a skip).
require_vm_assets() {
	[ "$(id -u)" = 0 ] || skip_all "needs root"
	[ -x /bin/busybox ] || skip_all "needs busybox-static"
	[ -x "$QEMU" ] || skip_all "no $QEMU"
	local f
	for f in "$1" "$KERNEL" "$INITRD"; do
		if [ ! -f "$f" ]; then
			echo "not ok 1 - $f is missing (make; make kernel initrd)"
			exit 1
		fi
	done
}

setup() {
	command -v containerd >/dev/null || skip_all "no containerd"
	command -v ctr >/dev/null || skip_all "no ctr"
	require_vm_assets "$SHIM"
	RUN_EXISTED=$(ls -d /run/containerd /run/containerd/s /run/containerd/fifo 2>/dev/null)
	T=$(mktemp -d /tmp/he.XXXXXX)
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP PIPE
	write_husk_config "$T/husk.toml"
	start_containerd || exit 1
	build_image
}
