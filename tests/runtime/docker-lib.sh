# Shared by tests/runtime/docker.sh and tests/bench/oci.sh (sourced after
# tests/runtime/lib.sh): a private dockerd (own data root, exec root, pid
# file, socket and containerd) inside a network namespace made for it, no
# bridge and no iptables; husk-runtime registered as "husk" in its
# daemon.json; a busybox image in docker save's format.  dockerd is
# stopped by PID on exit and the parent cgroup it needed is removed.
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}
IMG=husk-busybox:latest
DOCKERD_PID=
# No bridge and no iptables, unless the test wants Docker's default bridge
# network (DOCKER_BRIDGE=1): then docker0 and dockerd's iptables rules live
# in the namespace made for dockerd, never on the host.
if [ -n "${DOCKER_BRIDGE:-}" ]; then
	DOCKERD_NET_ARGS="--bip=10.217.0.1/24 --iptables=true --ip-masq=false"
else
	DOCKERD_NET_ARGS="--bridge=none --iptables=false --ip-masq=false"
fi
# dknet CMD...: CMD in dockerd's network namespace (where docker0 is).
dknet() { nsenter --net="/proc/$DOCKERD_PID/ns/net" "$@"; }
# Docker's cgroupsPath is /docker/<id>: the runtime makes the parent too.
DOCKER_CG_EXISTED=$(ls -d /sys/fs/cgroup/*/docker 2>/dev/null)

dk() { "$DOCKER_CLI" -H "unix://$T/docker.sock" "$@"; }
drun() { dk run --runtime husk --network none "$@"; }

docker_cleanup() {
	set +e
	if [ -n "$DOCKERD_PID" ]; then
		for c in $(dk ps -aq 2>/dev/null); do dk rm -f "$c" >/dev/null 2>&1; done
		kill -TERM "$DOCKERD_PID" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$DOCKERD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$DOCKERD_PID" 2>/dev/null
		wait "$DOCKERD_PID" 2>/dev/null
		if [ "$tap_failed" -gt 0 ]; then
			echo "# dockerd log (last 40):"
			grep -v 'level=debug' "$T/dockerd.log" | tail -n 40 | diag
		fi
	fi
	# Image layers dockerd left mounted (vfs has none, but be sure).
	[ -n "${HUSK_RT_TRACE:-}" ] && cp "$T/calls.log" /tmp/husk-rt-calls.log
	# Empty ones only (rmdir refuses a cgroup with processes or children).
	[ -z "$DOCKER_CG_EXISTED" ] && rmdir /sys/fs/cgroup/*/docker 2>/dev/null
	rt_cleanup
}

# A docker-archive (docker save's format) of a busybox image.
build_docker_image() {
	local w=$T/dimg diff cfg
	make_rootfs "$w/rootfs"
	mkdir -p "$w/out"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
		-C "$w/rootfs" -cf "$w/layer.tar" .
	diff=$(sha "$w/layer.tar")
	mkdir -p "$w/out/$diff"
	mv "$w/layer.tar" "$w/out/$diff/layer.tar"
	printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$diff" >"$w/config.json"
	cfg=$(sha "$w/config.json")
	mv "$w/config.json" "$w/out/$cfg.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
		"$cfg" "$IMG" "$diff" >"$w/out/manifest.json"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
		-C "$w/out" -cf "$w/image.tar" .
	dk load -i "$w/image.tar" >/dev/null
	local rc=$?
	rm -rf "$w"
	return $rc
}

# docker_setup: this test's root (rt_setup), the runtime wrapper, and a
# private dockerd in a network namespace of its own (its lo up); skips the test when
# Docker is not installed; fails when dockerd does not answer.
docker_setup() {
rt_setup
trap docker_cleanup EXIT
[ -x "$DOCKERD" ] || skip_all "no $DOCKERD (apt-get install docker.io)"
[ -x "$DOCKER_CLI" ] || skip_all "no $DOCKER_CLI"
command -v unshare >/dev/null || skip_all "no unshare"

# The runtime as dockerd's containerd runs it: with this test's husk
# configuration and run root.
mkdir -p "$T/bin"
cat >"$T/bin/husk-runtime" <<EOF
#!/bin/sh
export HUSK_CONF_FILE=$T/husk.toml HUSK_RUN_ROOT=$T/run HUSK_PROBE_CACHE=$T/probe
[ -n "\${HUSK_RT_TRACE:-}" ] || exec $RUNTIME "\$@"
echo "\$*" >>$T/calls.log
$RUNTIME "\$@"
rc=\$?
echo "rc=\$rc" >>$T/calls.log
exit \$rc
EOF
chmod +x "$T/bin/husk-runtime"
cat >"$T/daemon.json" <<EOF
{"runtimes": {"husk": {"path": "$T/bin/husk-runtime"}}}
EOF
HUSK_RT_TRACE=${HUSK_RT_TRACE:-} unshare --net sh -c 'ip link set lo up && exec "$@"' sh "$DOCKERD" --config-file "$T/daemon.json" \
	--data-root "$T/data" --exec-root "$T/exec" --pidfile "$T/docker.pid" \
	-H "unix://$T/docker.sock" $DOCKERD_NET_ARGS --ip6tables=false \
	--storage-driver vfs \
	>"$T/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 300); do
	dk version >/dev/null 2>&1 && break
	kill -0 "$DOCKERD_PID" 2>/dev/null || break
	sleep 0.1
done
dk version >/dev/null 2>&1
}
