#!/bin/bash
# Podman (Debian's 4.3, through conmon) with husk-runtime as its OCI
# runtime (--runtime PATH), on private roots: its own storage (vfs),
# run root, containers.conf and storage.conf, the cgroupfs manager, all in
# a network namespace the test makes (nothing touches the host's network).
# A busybox image built here is loaded; then run (output, exit code, -i
# stdin), exec, stop, rm, and run --rm leaving nothing behind, with
# --network none; and Podman's default bridge network with each backend
# (CNI, netavark; bridges and rules in that namespace): the container's
# address in the VM, busybox httpd fetched from it and through a
# published port (-p).  Run from the repository
# root, as root.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/podman-lib.sh"

podman_setup
build_podman_image
expect "podman load of a locally built busybox image" 0 $?

out=$(prun --rm "$IMG" echo hello 2>"$T/run.err")
expect "podman run --rm --runtime husk-runtime IMG echo hello" hello "$out"
[ "$out" = hello ] || diag <"$T/run.err"

prun --rm "$IMG" sh -c 'exit 7' 2>"$T/run.err"
expect "podman run: exit code 7 comes back" 7 $?

# -t: a terminal of the CLI's size, and a resize that reaches it.
TTY_SCRIPT='sleep 1; stty size; i=0; while [ $i -lt 60 ]; do sleep 0.25; s=$(stty size); if [ "$s" != "30 100" ]; then echo "now $s"; exit 4; fi; i=$((i+1)); done; exit 1'
out=$(python3 tests/runtime/pty_drive.py 30x100 40x120 90 -- nsenter --net="/proc/$NSPID/ns/net" env CONTAINERS_CONF="$T/containers.conf" \
	CONTAINERS_STORAGE_CONF="$T/storage.conf" "$PODMAN" --root "$T/pstore" --runroot "$T/prun" \
	--storage-driver vfs --cgroup-manager cgroupfs --events-backend file --tmpdir "$T/ptmp" \
	--runtime "$T/bin/husk-runtime" run --network none --rm -it "$IMG" sh -c "$TTY_SCRIPT")
check "podman run -it: stty size sees the terminal's size (30 100)" grep -qx '30 100' <<<"$out"
check "podman run -it: a resize of the terminal reaches the container (40 120)" grep -qx 'now 40 120' <<<"$out"
check "podman run -it: the exit code comes back through the terminal path (4)" grep -qx 'exit=4' <<<"$out"
grep -qx 'now 40 120' <<<"$out" || diag <<<"$out"

head -c 1048576 /dev/urandom >"$T/in.bin"
prun --rm -i "$IMG" cat <"$T/in.bin" >"$T/out.bin" 2>"$T/run.err"
if cmp -s "$T/in.bin" "$T/out.bin"; then
	ok "podman run -i: 1 MiB of stdin round-trips byte-exact"
else
	not_ok "podman run -i: $(stat -c %s "$T/out.bin") bytes back, differ"
	diag <"$T/run.err"
fi

prun -d --name c1 "$IMG" sleep 600 >/dev/null 2>"$T/run.err"
expect "podman run -d" running "$(pm inspect -f '{{.State.Status}}' c1 2>/dev/null)"
out=$(pm exec c1 sh -c 'echo from-exec' 2>&1)
expect "podman exec" from-exec "$out"
pm exec c1 sh -c 'exit 5' 2>/dev/null
expect "podman exec: exit code 5 comes back" 5 $?
out=$(python3 tests/runtime/pty_drive.py 30x100 40x120 90 -- nsenter --net="/proc/$NSPID/ns/net" env CONTAINERS_CONF="$T/containers.conf" \
	CONTAINERS_STORAGE_CONF="$T/storage.conf" "$PODMAN" --root "$T/pstore" --runroot "$T/prun" \
	--storage-driver vfs --cgroup-manager cgroupfs --events-backend file --tmpdir "$T/ptmp" \
	--runtime "$T/bin/husk-runtime" exec -it c1 sh -c "$TTY_SCRIPT")
check "podman exec -it: stty size sees the terminal's size (30 100)" grep -qx '30 100' <<<"$out"
check "podman exec -it: a resize of the terminal reaches the exec (40 120)" grep -qx 'now 40 120' <<<"$out"
grep -qx 'now 40 120' <<<"$out" || diag <<<"$out"
pm stop -t 2 c1 >/dev/null 2>&1
expect "podman stop (KILL after 2 s)" 0 $?
expect "podman stop: the container exited" exited "$(pm inspect -f '{{.State.Status}}' c1 2>/dev/null)"
pm rm c1 >/dev/null 2>&1
expect "podman rm" 0 $?
# --- Podman's default network, with each backend ------------------------
# Debian 12's podman comes with CNI's plugins; netavark is its other
# backend (make deps installs it).  The same network, one after the other.
mkdir -p "$T/www"
echo "served-by-husk-$$" >"$T/www/index.html"
# net_case BACKEND BRIDGE
net_case() {
	local be=$1 br=$2 ip out fetched gw links
	pmb() { pm --network-backend "$be" --network-config-dir "$T/net-$be" "$@"; }
	mkdir -p "$T/net-$be"
	pmb run -d --network bridge --name web -p 18081:80 -v "$T/www:/www:ro" "$IMG" \
		httpd -f -p 80 -h /www >/dev/null 2>"$T/run.err"
	expect "$be: podman run -d --network bridge -p 18081:80 busybox httpd" running \
		"$(pmb inspect -f '{{.State.Status}}' web 2>/dev/null)"
	diag <"$T/run.err"
	ip=$(pmb inspect -f '{{.NetworkSettings.IPAddress}}' web 2>/dev/null)
	check "$be: Podman gave the container an address on its network ($ip)" grep -q '^10\.218\.0\.' <<<"$ip"
	out=$(pmb exec web ip -4 addr show eth0 2>&1)
	check "$be: the VM's eth0 has Podman's address" grep -q "inet $ip/24" <<<"$out"
	grep -q "inet $ip/24" <<<"$out" || diag <<<"$out"
	fetched=
	for _ in $(seq 60); do
		fetched=$(pmnet wget -q -T 5 -O- "http://$ip:80/index.html" 2>/dev/null) && break
		sleep 1
	done
	expect "$be: the page is fetched from the container's address" "served-by-husk-$$" "$fetched"
	gw=$(pmnet ip -4 -o addr show dev "$br" | awk '{sub("/.*", "", $4); print $4; exit}')
	fetched=$(pmnet wget -q -T 5 -O- "http://$gw:18081/index.html" 2>/dev/null)
	expect "$be: podman run -p: the page is fetched through the published port ($gw:18081)" \
		"served-by-husk-$$" "$fetched"
	pmb rm -f -t 0 web >/dev/null 2>&1
	expect "$be: podman rm -f of the networked container" 0 $?
	for _ in $(seq 100); do
		links=$(pmnet ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -vx -e lo -e "$br")
		[ -z "$links" ] && break
		sleep 0.1
	done
	expect "$be: no veth or tap left in the test's namespace" "" "$(echo $links)"
	# The next backend makes its own bridge on the same subnet.
	pmnet ip link del "$br" 2>/dev/null
}
net_case cni cni-podman0
expect "cni: the address went back to the IPAM" "" "$(ls "$CNI_IPAM" 2>/dev/null | grep '^10\.')"
if [ -x /usr/lib/podman/netavark ]; then
	net_case netavark podman0
else
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP netavark: /usr/lib/podman/netavark is not installed (make deps)"
fi

check "no container left in podman" [ -z "$(pm ps -aq)" ]
rt_assert_clean "podman"

echo "1..$tap_n"
[ "$tap_failed" = 0 ]
