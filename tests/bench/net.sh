#!/bin/bash
# Pod network numbers, as a table, from one run: TCP throughput (iperf3,
# 5 s each way) from a client in the test's namespace to a pod and back,
# and ping's round trip, for a husk pod (tcfilter) against a runc pod on
# the same CNI bridge, with their ratios.  Everything runs inside a
# network namespace of the test's own, as in tests/e2e/cri-net.sh: a
# private containerd, bridge + host-local, pods through the CRI.  The pods'
# image is the e2e busybox one plus iperf3 and its libraries.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/cri-lib.sh"

NETNS=husk-bench-net-$$
NET=husk-bench-$$
SUBNET=10.97.0
CNI_BIN=/usr/lib/cni
NETDIR=
SECS=${BENCH_SECS:-5}

cri_handlers() {
	cat <<EOF
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
      runtime_type = "$RUNTIME"
EOF
}
containerd() { exec nsenter --net="/run/netns/$NETNS" containerd "$@"; }
in_net() { nsenter --net="/run/netns/$NETNS" "$@"; }

eval "lib_$(declare -f cleanup)"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	(exit "$rc")
	lib_cleanup
	set +e
	ip netns del "$NETNS" 2>/dev/null
	rm -f /var/lib/cni/results/"$NET"-* 2>/dev/null
	[ -n "$NETDIR" ] && rm -rf "$NETDIR"
	NETDIR=
}

# The image gets iperf3 and the libraries it loads.
eval "lib_$(declare -f make_rootfs)"
make_rootfs() {
	local lib
	lib_make_rootfs "$1"
	mkdir -p "$1/usr/bin"
	cp /usr/bin/iperf3 "$1/usr/bin/iperf3"
	for lib in $(ldd /usr/bin/iperf3 | grep -o '/[^ ]*'); do
		mkdir -p "$1$(dirname "$lib")"
		cp -L "$lib" "$1$lib"
	done
}

command -v iperf3 >/dev/null || skip_all "no iperf3"
for p in bridge host-local loopback; do
	[ -x "$CNI_BIN/$p" ] || skip_all "no $CNI_BIN/$p (containernetworking-plugins)"
done
cri_prereqs
NETDIR=$(mktemp -d /tmp/hbnet.XXXXXX)
ip netns add "$NETNS" && ip -n "$NETNS" link set lo up || exit 1
CNI_CONF=$NETDIR/net.d
mkdir -p "$CNI_CONF"
cat >"$CNI_CONF/10-husk-bench.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$NET",
  "plugins": [
    {
      "type": "bridge", "bridge": "hbench0", "isGateway": true,
      "ipam": {
        "type": "host-local", "dataDir": "$NETDIR/ipam",
        "ranges": [[{"subnet": "$SUBNET.0/24", "gateway": "$SUBNET.1"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
setup
# shellcheck disable=SC2034 # the lib's cleanup removes runc's state
RUNC_USED=1
cri_setup

# pod NAME HANDLER: a pod whose container runs iperf3 -s; sets POD IP.
pod() {
	POD=$(cri runp "$1" "$2" "$T/logs" net=pod 2>"$T/err") || {
		cat "$T/err" >&2
		exit 1
	}
	note_ids "$POD"
	IP=$(cri podip "$POD")
	# iperf3 mmaps a file it makes in TMPDIR: tmpfs, as /tmp is in a
	# real pod (the test image's /tmp is in its rootfs).
	cri start "$POD/$1" srv "$T/logs" "$IMG" env TMPDIR=/dev iperf3 -s >/dev/null 2>"$T/err" || {
		cat "$T/err" >&2
		exit 1
	}
	for _ in $(seq 60); do
		in_net busybox ping -c 1 -W 1 "$IP" >/dev/null 2>&1 && break
	done
}

# gbits IP [-R]: iperf3's received rate in Gbit/s (three tries: the
# server in a pod under TCG may not listen yet).
gbits() {
	local i
	for i in 1 2 3; do
		in_net timeout $((SECS + 30)) iperf3 -c "$1" -t "$SECS" ${2:+"$2"} -J >"$T/iperf.json" 2>"$T/iperf.err"
		python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$T/iperf.json" 2>/dev/null && return
		echo "# iperf3 -c $1 ${2:-} (try $i): $(grep -o '"error":.*' "$T/iperf.json") $(cat "$T/iperf.err")" >&2
		sleep 2
	done
	echo 0
}
# rtt IP: ping's average round trip in ms over 20 pings.
rtt() {
	in_net busybox ping -c 20 -q "$1" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p'
}

pod bench-runc runc
runc_pod=$POD runc_ip=$IP
pod bench-husk husk
husk_pod=$POD husk_ip=$IP

r_in=$(gbits "$runc_ip") r_out=$(gbits "$runc_ip" -R) r_rtt=$(rtt "$runc_ip")
h_in=$(gbits "$husk_ip") h_out=$(gbits "$husk_ip" -R) h_rtt=$(rtt "$husk_ip")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
accel=$([ -e /dev/kvm ] && echo "KVM if it works" || echo "TCG: no /dev/kvm")
printf '\nPod network, husk (tcfilter, %s) vs runc, same CNI bridge, %s s iperf3 runs\n' \
	"$accel" "$SECS"
printf '%-28s %12s %12s %10s\n' "" husk runc husk/runc
printf '%-28s %12s %12s %10s\n' "TCP client->pod (Gbit/s)" "$h_in" "$r_in" "$(ratio "$h_in" "$r_in")"
printf '%-28s %12s %12s %10s\n' "TCP pod->client (Gbit/s)" "$h_out" "$r_out" "$(ratio "$h_out" "$r_out")"
printf '%-28s %12s %12s %10s\n' "ping RTT avg (ms)" "$h_rtt" "$r_rtt" "$(ratio "$h_rtt" "$r_rtt")"

cri stopp "$husk_pod" >/dev/null 2>&1
cri rmp "$husk_pod" >/dev/null 2>&1
cri stopp "$runc_pod" >/dev/null 2>&1
cri rmp "$runc_pod" >/dev/null 2>&1
