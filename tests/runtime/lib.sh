# Shared by the husk-runtime tests (sourced, bash): the e2e helpers (husk
# configuration for the build tree's kernel and initrd, busybox rootfs,
# TAP), OCI bundles as runc's `spec` writes them, the runtime command with
# private roots, and the checks that nothing is left behind.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

RUNTIME=${HUSK_RUNTIME:-$TOP/$BUILD/bin/husk-runtime}

# make_bundle DIR TERMINAL ARGS_JSON [CGROUPS_PATH]: config.json over a
# busybox rootfs (shared by every bundle of the test: $T/rootfs).
make_bundle() {
	local d=$1 term=$2 args=$3 cg=
	[ -n "${4:-}" ] && cg="\"cgroupsPath\":\"$4\","
	[ -d "$T/rootfs" ] || make_rootfs "$T/rootfs"
	mkdir -p "$d"
	cat >"$d/config.json" <<JSON
{"ociVersion":"1.0.2",
 "process":{"terminal":$term,"user":{"uid":0,"gid":0},"args":$args,
  "env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],
  "cwd":"/","noNewPrivileges":true},
 "root":{"path":"$T/rootfs","readonly":false},
 "hostname":"runtime",
 "mounts":[
  {"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
  {"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}],
 "linux":{$cg"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]}}
JSON
}

# rt ARGS...: husk-runtime with this test's root, log and configuration.
rt() {
	HUSK_CONF_FILE="$T/husk.toml" HUSK_RUN_ROOT="$T/run" \
		HUSK_PROBE_CACHE="$T/probe" \
		"$RUNTIME" --root "$T/state" --log "$T/log.json" --log-format json "$@"
}
RT_CMD() { echo "env HUSK_CONF_FILE=$T/husk.toml HUSK_RUN_ROOT=$T/run HUSK_PROBE_CACHE=$T/probe $RUNTIME --root $T/state --log $T/log.json --log-format json"; }

# Monitors and hypervisors of this test still running.
LEFTOVER_PATTERN='husk-runtime|qemu-system|virtiofsd'

# Mounts under $T that a test's daemon keeps for itself (dockerd makes
# its data root a private mount), one path a line.
RT_MOUNTS_OWNED=
rt_leftover_mounts() {
	leftover_mounts | grep -vxF -e "${RT_MOUNTS_OWNED:-/nonexistent}"
}

# rt_assert_clean WHAT: no monitor, QEMU, mount, socket or state left.
rt_assert_clean() {
	local what=$1 left end
	end=$(($(now_ms) + ${CLEAN_WITHIN_MS:-5000}))
	while :; do
		left=$(leftover_processes)
		[ -n "$(ls -A "$T/state" 2>/dev/null)" ] &&
			left="$left state:$(ls -A "$T/state" | tr '\n' ' ')"
		[ -n "$(ls -A "$T/run" 2>/dev/null)" ] &&
			left="$left run:$(ls -A "$T/run" | tr '\n' ' ')"
		[ -n "$(rt_leftover_mounts)" ] && left="$left mounts:$(rt_leftover_mounts | tr '\n' ' ')"
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

rt_cleanup() {
	local p
	set +e
	# As the e2e lib's cleanup: nothing may cut it short.
	trap '' PIPE INT TERM HUP
	[ -z "$T" ] && return
	for p in $(test_pids); do kill -KILL "$p" 2>/dev/null; done
	leftover_mounts | sort -r | while read -r m; do umount -l "$m"; done
	if [ "$tap_failed" -gt 0 ]; then
		echo "# runtime log (last 20):"
		tail -n 20 "$T/log.json" 2>/dev/null | diag
		for p in "$T"/state/*/monitor.log "$T"/mon-logs/*; do
			[ -f "$p" ] && tail -n 20 "$p" | diag
		done
	fi
	rm -rf "$T"
	T=
}

rt_setup() {
	require_vm_assets "$RUNTIME"
	T=$(mktemp -d /tmp/hr.XXXXXX)
	trap rt_cleanup EXIT
	mkdir -p "$T/state" "$T/run"
	write_husk_config "$T/husk.toml"
}
