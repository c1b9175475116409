#!/bin/bash
# Mount propagation of bind volumes, as Kubernetes uses it: with
# rootfsPropagation rshared (a Bidirectional volume) or rslave
# (HostToContainer), and with none set, containers with rshared and rslave
# volumes start; a mount made on the host side under such a volume after
# the start shows in the container; a mount made in the container under
# an rshared volume reaches the host side, under an rslave one it does
# not, and one on the container's own root never leaks.  "Host" is the
# agent's mount namespace (in a VM: the guest's view of the share), where
# the volume sources are shared mounts, as kubelet makes them.
# rootfsPropagation goes in through rootfs_prop_proxy.py (husk ctl has no
# option for it).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
"$PY" -c 'import google.protobuf, grpc_tools' 2>/dev/null ||
	skip_all "needs python3-protobuf and python3-grpc-tools for $PY"
command -v nsenter >/dev/null || skip_all "needs nsenter"
setup
HERE=$(dirname "$0")

"$PY" -m grpc_tools.protoc -Iprotos --python_out="$T" protos/agent.proto \
	protos/oci.proto protos/csi.proto protos/types.proto \
	protos/mem_agent.proto protos/ttrpc.proto protos/google/rpc/status.proto

host() { nsenter -t "$AGENT_REAL" -m -- "$@"; }

# create_prop PROPAGATION CREATE-ARGS...: husk ctl create through the proxy.
create_prop() {
	local prop=$1 psock=$T/proxy.sock ppid rc
	shift
	"$PY" "$HERE/rootfs_prop_proxy.py" "$T" "$psock" "$SOCK" "$prop" &
	ppid=$!
	for _ in $(seq 100); do
		[ -S "$psock" ] && break
		sleep 0.05
	done
	"$HUSK" ctl --addr "unix:$psock" create "$@"
	rc=$?
	wait "$ppid"
	return $rc
}

# cx ID EID [SPEC-OPTS] -- ARGS...: exec, print stdout, status to $T/status.
cx() {
	local id=$1 eid=$2
	shift 2
	ctl exec --id "$id" --exec-id "$eid" "$@" >/dev/null || return 1
	ctl read-stdout --id "$id" --exec-id "$eid"
	ctl wait --id "$id" --exec-id "$eid" >"$T/status"
}

ctl create-sandbox --hostname prop
VS=$T/vol-shared VL=$T/vol-slave
for v in "$VS" "$VL"; do
	mkdir -p "$v"
	host mount --bind "$v" "$v"
	host mount --make-shared "$v"
done
VOLS=(--mount "bind:$VS:/vs:rbind,rshared" --mount "bind:$VL:/vl:rbind,rslave")
# shellcheck disable=SC2054 # one --caps value
ADMIN=(--caps CAP_SYS_ADMIN,CAP_DAC_OVERRIDE)

# run_case ID ROOTFS-PROPAGATION: one container through every check.
run_case() {
	local id=$1 prop=$2 out what=${2:-unset}
	if [ -n "$prop" ]; then
		out=$(create_prop "$prop" --id "$id" --rootfs "$ROOTFS" "${ADMIN[@]}" \
			"${VOLS[@]}" -- sleep 1000 2>&1)
	else
		out=$(ctl create --id "$id" --rootfs "$ROOTFS" "${ADMIN[@]}" \
			"${VOLS[@]}" -- sleep 1000 2>&1)
	fi
	out=$out$(ctl start --id "$id" 2>&1)
	expect "rootfsPropagation $what: a container with rshared and rslave volumes starts" "" "$out"

	host mkdir -p "$VS/h-$id" "$VL/h-$id"
	host mount -t tmpfs "hs-$id" "$VS/h-$id"
	host mount -t tmpfs "hl-$id" "$VL/h-$id"
	host sh -c "echo from-host >$VS/h-$id/f; echo from-host >$VL/h-$id/f"
	expect "rootfsPropagation $what: a host mount under the rshared volume shows in the container" \
		from-host "$(cx "$id" e1 -- cat "/vs/h-$id/f" 2>&1)"
	expect "rootfsPropagation $what: a host mount under the rslave volume shows in the container" \
		from-host "$(cx "$id" e2 -- cat "/vl/h-$id/f" 2>&1)"

	out=$(cx "$id" e3 "${ADMIN[@]}" -- sh -c "
		mkdir -p /vs/c-$id /vl/c-$id /mnt/c-$id &&
		mount -t tmpfs cs /vs/c-$id && echo from-container >/vs/c-$id/f &&
		mount -t tmpfs cl /vl/c-$id && echo from-container >/vl/c-$id/f &&
		mount -t tmpfs cr /mnt/c-$id && echo from-container >/mnt/c-$id/f &&
		echo mounted" 2>&1)
	expect "rootfsPropagation $what: the container mounts under its volumes and root" mounted "$out"
	# What did not happen cannot leak: the checks below need the mounts.
	[ "$out" = mounted ] || not_ok "rootfsPropagation $what: propagation back to the host not checked"
	[ "$out" = mounted ] || return
	if [ "$prop" = rshared ] || [ "$prop" = shared ]; then
		expect "rootfsPropagation $what: the container's mount under the rshared volume reaches the host" \
			from-container "$(host cat "$VS/c-$id/f" 2>&1)"
	else
		# Under an rslave root the volume's mount is the host's slave.
		check "rootfsPropagation $what: the container's mount under the rshared volume stays in (the root is rslave)" \
			host test ! -e "$VS/c-$id/f"
	fi
	check "rootfsPropagation $what: the container's mount under the rslave volume does not reach the host" \
		host test ! -e "$VL/c-$id/f"
	check "rootfsPropagation $what: a mount on the container's root does not leak to the host" \
		host test ! -e "$ROOTFS/mnt/c-$id/f"

	ctl signal --id "$id" --signal SIGKILL >/dev/null 2>&1
	ctl wait --id "$id" >/dev/null 2>&1
	out=$(ctl remove --id "$id" 2>&1)
	expect "rootfsPropagation $what: RemoveContainer" "" "$out"
	host umount -l "$VS/c-$id" 2>/dev/null
}

run_case p1 rshared
run_case p2 rslave
run_case p3 ""
# Kubernetes' Bidirectional volume with a shared (not rshared) root.
run_case p4 shared

expect "the agent still answers" SERVING "$(ctl check 2>&1)"
ctl destroy-sandbox
