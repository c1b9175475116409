# Shared by tests/runtime/podman.sh and tests/bench/oci.sh (sourced after
# tests/runtime/lib.sh): podman on private roots (its own storage (vfs),
# run root, containers.conf and storage.conf, the cgroupfs manager, events
# in a file), every command inside a network namespace made for it (its
# bridge and firewall rules stay there), husk-runtime as its runtime
# (PM_RUNTIME picks another, e.g. runc), and a busybox image in docker
# save's format.  The namespace's holder is stopped by PID on exit; the
# cgroup parent and the CNI and netavark lease directories it made are
# removed.
PODMAN=${PODMAN:-/usr/bin/podman}
IMG=localhost/husk-busybox:latest
PM_RUNTIME=${PM_RUNTIME:-}

NSPID=
pmnet() { nsenter --net="/proc/$NSPID/ns/net" "$@"; }
# pm ARGS...: podman with this test's roots, in its namespace.
pm() {
	pmnet env CONTAINERS_CONF="$T/containers.conf" CONTAINERS_STORAGE_CONF="$T/storage.conf" \
		"$PODMAN" --root "$T/pstore" --runroot "$T/prun" \
		--storage-driver vfs --cgroup-manager cgroupfs \
		--events-backend file --tmpdir "$T/ptmp" \
		--runtime "${PM_RUNTIME:-$T/bin/husk-runtime}" "$@"
}
prun() { pm run --network none "$@"; }

# Podman's cgroupfs parent (conmon's cgroup and the containers'), made
# by this test unless it was there: removed when empty.
PODMAN_CG_EXISTED=$(ls -d /sys/fs/cgroup/*/libpod_parent 2>/dev/null)
# The CNI host-local IPAM keeps its leases in a host directory named after
# the network: this test's network, removed when the test made it.
CNI_IPAM=/var/lib/cni/networks/huskpm
CNI_IPAM_EXISTED=$(ls -d "$CNI_IPAM" 2>/dev/null)
CNI_VAR_EXISTED=$(ls -d /var/lib/cni 2>/dev/null)
# netavark's leases: a database in a fixed host directory.
NETAVARK_RUN=/run/containers/networks
NETAVARK_RUN_EXISTED=$(ls -d "$NETAVARK_RUN" 2>/dev/null)
CONTAINERS_RUN_EXISTED=$(ls -d /run/containers 2>/dev/null)

podman_cleanup() {
	set +e
	if [ -n "$NSPID" ]; then
		for c in $(pm ps -aq 2>/dev/null); do pm rm -f -t 0 "$c" >/dev/null 2>&1; done
		kill -KILL "$NSPID" 2>/dev/null
		wait "$NSPID" 2>/dev/null
	fi
	[ -z "$CNI_IPAM_EXISTED" ] && rm -rf "$CNI_IPAM"
	[ -z "$CNI_VAR_EXISTED" ] && rmdir /var/lib/cni/networks /var/lib/cni 2>/dev/null
	[ -z "$NETAVARK_RUN_EXISTED" ] && rm -rf "$NETAVARK_RUN"
	[ -z "$CONTAINERS_RUN_EXISTED" ] && rmdir /run/containers 2>/dev/null
	if [ -z "$PODMAN_CG_EXISTED" ]; then
		for d in /sys/fs/cgroup/*/libpod_parent; do
			[ -d "$d" ] || continue
			find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
			rmdir "$d" 2>/dev/null
		done
	fi
	rt_cleanup
}

# podman_setup: this test's root (rt_setup), the runtime wrapper, the
# configuration and the namespace; skips the test when Podman is missing.
podman_setup() {
rt_setup
trap podman_cleanup EXIT
[ -x "$PODMAN" ] || skip_all "no $PODMAN (apt-get install podman)"
command -v conmon >/dev/null || skip_all "no conmon"
command -v nsenter >/dev/null || skip_all "no nsenter"

unshare --net sh -c 'ip link set lo up && exec sleep 100000' &
NSPID=$!
for _ in $(seq 50); do
	[ "$(readlink /proc/$NSPID/ns/net)" != "$(readlink /proc/self/ns/net)" ] &&
		pmnet ip link show lo | grep -q UP && break
	sleep 0.1
done
mkdir -p "$T/bin" "$T/ptmp" "$T/cni"
cat >"$T/bin/husk-runtime" <<EOF
#!/bin/sh
export HUSK_CONF_FILE=$T/husk.toml HUSK_RUN_ROOT=$T/run HUSK_PROBE_CACHE=$T/probe
exec $RUNTIME --root $T/state "\$@"
EOF
chmod +x "$T/bin/husk-runtime"
cat >"$T/containers.conf" <<EOF
[containers]
netns = "none"
# Podman raises nofile and nproc for root; runc (the bench's baseline)
# may not set those here (EPERM): limits below ours, which any may set.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[network]
network_backend = "cni"
network_config_dir = "$T/cni"
default_network = "huskpm"
default_subnet = "10.218.0.0/24"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
runtime = "husk"
[engine.runtimes]
husk = ["$T/bin/husk-runtime"]
EOF
cat >"$T/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$T/pstore"
runroot = "$T/prun"
EOF
}

# build_podman_image: the busybox image, loaded (docker save's format).
build_podman_image() {
local w=$T/pimg diff cfg rc
make_rootfs "$w/rootfs"
mkdir -p "$w/out"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$w/rootfs" -cf "$w/layer.tar" .
diff=$(sha "$w/layer.tar")
mkdir -p "$w/out/$diff"
mv "$w/layer.tar" "$w/out/$diff/layer.tar"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff" >"$w/config.json"
cfg=$(sha "$w/config.json")
mv "$w/config.json" "$w/out/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg" "$IMG" "$diff" >"$w/out/manifest.json"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$w/out" -cf "$w/image.tar" .
pm load -i "$w/image.tar" >"$T/load.log" 2>&1
rc=$?
rm -rf "$w"
return $rc
}
